#ifndef RECSYNC_CSYSSHIMS_H
#define RECSYNC_CSYSSHIMS_H
#include <stdint.h>
#include <sys/types.h>
#include <sys/xattr.h>
/* Linux-only flags and calls that Swift's Glibc module hides behind _GNU_SOURCE. */
extern const int recsync_O_PATH;
extern const int recsync_O_NOFOLLOW;
extern const int recsync_O_DIRECTORY;
extern const int recsync_O_DIRECT;
extern const int recsync_AT_EMPTY_PATH;
extern const int recsync_AT_SYMLINK_NOFOLLOW;
extern const int recsync_RENAME_NOREPLACE;
extern const int recsync_RENAME_EXCHANGE;
extern const long recsync_UTIME_NOW;
extern const short recsync_POSIX_SPAWN_SETSID;
extern const long recsync_UTIME_OMIT;
int recsync_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
/* Birth time via statx; returns 0 and fills sec/nsec, or -1 with errno set (ENODATA when the
   filesystem does not record it). */
int recsync_birth_time(int dirfd, const char *path, int flags, int64_t *sec, uint32_t *nsec);
int recsync_errno(void);
/* The user id of the process at the other end of a Unix socket (SO_PEERCRED). */
int recsync_peer_uid(int fd, uid_t *uid);
/* accept4(fd, NULL, NULL, SOCK_CLOEXEC): a connection no child process inherits. */
int recsync_accept_cloexec(int fd);
/* Caps the number of malloc arenas (mallopt M_ARENA_MAX). */
int recsync_limit_malloc_arenas(int count);
/* A non-blocking rtnetlink socket subscribed to link, address and route changes (IPv4 and IPv6);
   returns the descriptor, or -1 with errno set. */
int recsync_netlink_route_socket(void);
/* Sets the calling thread's umask to 0 and returns the one it had (restore it with umask()),
   without touching the other threads' (the thread's fs state is unshared once); (mode_t)-1 and no
   change when the thread cannot have its own. A passthrough applies exactly the mode the kernel
   sent: the caller's umask is already applied. */
mode_t recsync_thread_umask_zero(void);
/* fallocate(2) and copy_file_range(2) at explicit offsets (the descriptors' own offsets unchanged). */
int recsync_fallocate(int fd, int mode, int64_t offset, int64_t length);
int64_t recsync_copy_file_range(int fd_in, int64_t offset_in, int fd_out, int64_t offset_out, size_t length, unsigned int flags);
extern const int recsync_FALLOC_FL_KEEP_SIZE;
/* openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: `path` (relative) is opened inside
   `dirfd` without following any symbolic link on the way, or fails (ELOOP, EXDEV). On kernels
   without openat2, a walk one component at a time with O_NOFOLLOW does the same. */
struct stat;
int recsync_open_beneath(int dirfd, const char *path, int flags, unsigned int mode);
/* lstat of `path` inside `dirfd`, following no symbolic link on the way. */
int recsync_stat_beneath(int dirfd, const char *path, struct stat *st);
/* Whether any process has the file open for writing, `fd` being open read-only: 1 yes, 0 no,
   -1 with errno set when it cannot be told (leases refused: not the owner without CAP_LEASE,
   leases disabled, a filesystem without them). Asked by taking a read lease (F_SETLEASE F_RDLCK),
   which the kernel refuses while the file has a writer, and giving it back at once; SIGIO, which
   a lease break sends, is ignored from the first call unless the process handles it. */
int recsync_open_for_writing_elsewhere(int fd);
/* Whether the FUSE request this thread read last asks the filesystem to clear the set-user-ID
   and set-group-ID bits (FUSE_HANDLE_KILLPRIV_V2: a write, truncate or O_TRUNC open by a caller
   without CAP_FSETID). libfuse 3.14 reads and handles a request on the same thread and passes
   none of these flags on, so the custom I/O hook notes them here. */
void recsync_set_request_kills_setid(int value);
int recsync_request_kills_setid(void);
/* Raises the calling thread's nice value (alone: on Linux it is per thread) by `increment`, so
   that it yields the CPU to the rest of the process and to other programs. 0 or -1 with errno. */
int recsync_lower_thread_priority(int increment);
/* Names the calling thread (the kernel keeps 15 bytes): 0 or an errno value. */
int recsync_set_thread_name(const char *name);
#endif
