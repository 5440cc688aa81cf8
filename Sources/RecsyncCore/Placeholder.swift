// RecsyncCore
