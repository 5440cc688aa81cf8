#ifndef RECSYNC_CFUSE3_SHIM_H
#define RECSYNC_CFUSE3_SHIM_H
/* The low-level, inode-based libfuse3 API. 312 makes fuse_session_loop_mt and the
   loop-config functions plain (non-macro) functions that Swift can call. */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#endif
