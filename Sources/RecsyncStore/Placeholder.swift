import CSQLite3
func _probe() { _ = sqlite3_libversion(); _ = recsync_sqlite_transient }
