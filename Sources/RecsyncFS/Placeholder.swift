// RecsyncFS
