#define _GNU_SOURCE
#include "CSysShims.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <spawn.h>
#include <malloc.h>
#include <string.h>
#include <signal.h>
#include <pthread.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/resource.h>

const int recsync_O_PATH = O_PATH;
const int recsync_O_NOFOLLOW = O_NOFOLLOW;
const int recsync_O_DIRECTORY = O_DIRECTORY;
const int recsync_O_DIRECT = O_DIRECT;
const int recsync_AT_EMPTY_PATH = AT_EMPTY_PATH;
const int recsync_AT_SYMLINK_NOFOLLOW = AT_SYMLINK_NOFOLLOW;
const int recsync_RENAME_NOREPLACE = RENAME_NOREPLACE;
const int recsync_RENAME_EXCHANGE = RENAME_EXCHANGE;
const long recsync_UTIME_NOW = UTIME_NOW;
const short recsync_POSIX_SPAWN_SETSID = POSIX_SPAWN_SETSID;
const long recsync_UTIME_OMIT = UTIME_OMIT;
const int recsync_FALLOC_FL_KEEP_SIZE = FALLOC_FL_KEEP_SIZE;

int recsync_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

int recsync_birth_time(int dirfd, const char *path, int flags, int64_t *sec, uint32_t *nsec) {
    struct statx stx;
    if (statx(dirfd, path, flags, STATX_BTIME, &stx) != 0) return -1;
    if (!(stx.stx_mask & STATX_BTIME)) { errno = ENODATA; return -1; }
    *sec = stx.stx_btime.tv_sec;
    *nsec = stx.stx_btime.tv_nsec;
    return 0;
}

int recsync_errno(void) { return errno; }

int recsync_peer_uid(int fd, uid_t *uid) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *uid = credentials.uid;
    return 0;
}

int recsync_limit_malloc_arenas(int count) {
    return mallopt(M_ARENA_MAX, count);
}

int recsync_netlink_route_socket(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0) return -1;
    struct sockaddr_nl addr;
    memset(&addr, 0, sizeof addr);
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

mode_t recsync_thread_umask_zero(void) {
    static __thread int own;
    /* This thread gets its own umask (and cwd) once, so the rest of the process keeps its own. */
    if (!own && unshare(CLONE_FS) == 0) own = 1;
    if (!own) return (mode_t)-1;
    return umask(0);
}

int recsync_fallocate(int fd, int mode, int64_t offset, int64_t length) {
    return fallocate(fd, mode, (off_t)offset, (off_t)length);
}

int64_t recsync_copy_file_range(int fd_in, int64_t offset_in, int fd_out, int64_t offset_out, size_t length, unsigned int flags) {
    loff_t in = offset_in, out = offset_out;
    return copy_file_range(fd_in, &in, fd_out, &out, length, flags);
}

int recsync_open_beneath(int dirfd, const char *path, int flags, unsigned int mode) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS) return (int)fd;
    /* Kernels before 5.6: walk one component at a time, never following a link. */
    char copy[4096];
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof copy || path[0] == '/') { errno = length == 0 ? ENOENT : EXDEV; return -1; }
    memcpy(copy, path, length + 1);
    int current = dirfd;
    char *component = copy;
    for (;;) {
        char *slash = strchr(component, '/');
        if (slash) *slash = '\0';
        if (strcmp(component, "..") == 0) { if (current != dirfd) close(current); errno = EXDEV; return -1; }
        int next = slash ? openat(current, component, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                         : openat(current, component, flags | O_NOFOLLOW | O_CLOEXEC, mode);
        int saved = errno;
        if (current != dirfd) close(current);
        if (next < 0) { errno = saved; return -1; }
        if (!slash) return next;
        current = next;
        component = slash + 1;
        while (*component == '/') component++;
        if (*component == '\0') return current;
    }
}

int recsync_stat_beneath(int dirfd, const char *path, struct stat *st) {
    if (path[0] == '\0' || strcmp(path, ".") == 0) return fstatat(dirfd, "", st, AT_EMPTY_PATH);
    int fd = recsync_open_beneath(dirfd, path, O_PATH | O_NOFOLLOW, 0);
    if (fd < 0) return -1;
    int result = fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}

int recsync_accept_cloexec(int fd) {
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}

static void recsync_ignore_sigio(void) {
    struct sigaction current;
    if (sigaction(SIGIO, NULL, &current) == 0 && current.sa_handler == SIG_DFL) {
        signal(SIGIO, SIG_IGN);
    }
}

int recsync_open_for_writing_elsewhere(int fd) {
    /* A lease is broken with SIGIO, whose default action ends the process; an opener that
       meets our lease in the microseconds it exists must not take recsync down. */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, recsync_ignore_sigio);
    if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
        /* Given back at once: a writer's open waits for as long as it is held. */
        if (fcntl(fd, F_SETLEASE, F_UNLCK) != 0) fcntl(fd, F_SETLEASE, F_UNLCK);
        return 0;
    }
    if (errno == EAGAIN || errno == EBUSY) return 1;
    return -1;
}

static _Thread_local int recsync_request_kill_setid;

void recsync_set_request_kills_setid(int value) { recsync_request_kill_setid = value; }

int recsync_request_kills_setid(void) { return recsync_request_kill_setid; }

int recsync_lower_thread_priority(int increment) {
    pid_t tid = (pid_t)syscall(SYS_gettid);
    errno = 0;
    int current = getpriority(PRIO_PROCESS, (id_t)tid);
    if (current == -1 && errno != 0) return -1;
    int wanted = current + increment > 19 ? 19 : current + increment;
    return setpriority(PRIO_PROCESS, (id_t)tid, wanted);
}

int recsync_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}
