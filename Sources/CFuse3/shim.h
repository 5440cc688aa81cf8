#ifndef RECSYNC_CFUSE3_SHIM_H
#define RECSYNC_CFUSE3_SHIM_H
/* The low-level, inode-based libfuse3 API. 312 makes fuse_session_loop_mt and the
   loop-config functions plain (non-macro) functions that Swift can call. */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
/* The kernel's side of the protocol, for the replies libfuse 3.14 cannot build itself
   (kernel passthrough: see RecsyncFUSE/FusePassthrough.swift). */
#include <linux/fuse.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

/* Protocol 7.40 (Linux 6.9), newer than Debian 12's headers: register an open file with the
   FUSE connection and get the id an OPEN reply names it by; give the id back. */
struct recsync_fuse_backing_map {
    int32_t fd;
    uint32_t flags;
    uint64_t padding;
};
static inline int recsync_fuse_backing_open(int devfd, int fd) {
    struct recsync_fuse_backing_map map = { .fd = fd, .flags = 0, .padding = 0 };
    return ioctl(devfd, _IOW(229, 1, struct recsync_fuse_backing_map), &map);
}
static inline int recsync_fuse_backing_close(int devfd, uint32_t backing_id) {
    return ioctl(devfd, _IOW(229, 2, uint32_t), &backing_id);
}
#endif
