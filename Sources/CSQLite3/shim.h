#ifndef RECSYNC_CSQLITE3_SHIM_H
#define RECSYNC_CSQLITE3_SHIM_H
#include <sqlite3.h>
/* SQLITE_TRANSIENT is a cast macro Swift cannot import. */
static const sqlite3_destructor_type recsync_sqlite_transient = SQLITE_TRANSIENT;
#endif
