/*
 * proto740.h - the few parts of FUSE protocol 7.40+ that Debian 12's
 * <linux/fuse.h> (protocol 7.38, linux-libc-dev 6.1) does not have yet.
 *
 * Values are from the kernel's documented userspace ABI
 * (include/uapi/linux/fuse.h, protocol changelog entry 7.40):
 *   - fuse_init_out gains max_stack_depth (the first word after flags2, which
 *     7.38 calls unused[0]);
 *   - fuse_open_out gains backing_id (7.38 calls it padding);
 *   - new INIT flags above bit 31 travel in flags2 (bit N -> flags2 bit N-32),
 *     and only when both sides set FUSE_INIT_EXT.
 */
#ifndef PROTO740_H
#define PROTO740_H

#include <linux/fuse.h>
#include <sys/ioctl.h>
#include <stdint.h>

/* INIT flags2 bits (64-bit flag value >> 32). */
#define P_FUSE_PASSTHROUGH_BIT2   (1u << (37 - 32)) /* FUSE_PASSTHROUGH, 7.40 */
#define P_FUSE_HAS_RESEND_BIT2    (1u << (39 - 32)) /* FUSE_HAS_RESEND, 7.40 (kernel -> server only) */

/* fuse_open_out.open_flags bit: route read/write/mmap to the backing file. */
#define P_FOPEN_PASSTHROUGH       (1u << 7)

/* Notification code: move every request the server read but did not answer
 * back to the pending queue (unique gets bit 63 set). 7.40. */
#define P_FUSE_NOTIFY_RESEND      7
#define P_FUSE_UNIQUE_RESEND      (1ULL << 63)

/* ioctl on the /dev/fuse descriptor: register an open file, get a backing id. */
struct p_backing_map {
	int32_t  fd;
	uint32_t flags;   /* must be 0 */
	uint64_t padding; /* must be 0 */
};
#define P_FUSE_DEV_IOC_MAGIC          229
#define P_FUSE_DEV_IOC_BACKING_OPEN   _IOW(P_FUSE_DEV_IOC_MAGIC, 1, struct p_backing_map)
#define P_FUSE_DEV_IOC_BACKING_CLOSE  _IOW(P_FUSE_DEV_IOC_MAGIC, 2, uint32_t)

/* Field accessors on the 7.38 structs. */
#define INIT_OUT_MAX_STACK_DEPTH(o)   ((o)->unused[0])
#define OPEN_OUT_BACKING_ID(o)        ((o)->padding)

#endif
