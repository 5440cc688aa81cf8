/*
 * rawfs.c - a minimal passthrough FUSE server that speaks the kernel protocol
 * on /dev/fuse directly (no libfuse). Prototype for two experiments:
 *
 *   A. kernel FUSE passthrough (protocol 7.40, Linux 6.9+): --passthrough
 *      negotiates FUSE_PASSTHROUGH in INIT flags2, registers each opened
 *      backing file with FUSE_DEV_IOC_BACKING_OPEN and answers OPEN/CREATE
 *      with FOPEN_PASSTHROUGH + backing_id, so read/write never reach us.
 *
 *   B. crash-safe restart under a supervisor: --resume serves a connection
 *      that an earlier (dead) instance already initialised: no INIT, node ids
 *      resolved from a persisted map, and FUSE_NOTIFY_RESEND asks the kernel
 *      to hand back the requests the dead instance had read but not answered.
 *
 * Node ids are the backing inode numbers (the root is 1). Every node id given
 * to the kernel is appended to <state>/nodes with its file handle
 * (name_to_handle_at), so a restarted server can reopen it with
 * open_by_handle_at. File handles (fh) given to the kernel encode the node id
 * and the open mode, so a restarted server can reopen files lazily too.
 *
 * Single-threaded on purpose: small, and enough for sequential dd.
 *
 * Usage:
 *   rawfs [options] BACKING MOUNTPOINT      mount and serve (standalone)
 *   rawfs [options] --fd N --root-fd M      serve a descriptor another process mounted
 * Options:
 *   --passthrough        kernel passthrough for regular files (A)
 *   --writeback          kernel writeback cache (B)
 *   --state DIR          where the node map and INIT parameters live (default: none)
 *   --resume             skip INIT (connection already initialised), load state, send RESEND
 *   --no-resend-if FILE  with --resume: do not send FUSE_NOTIFY_RESEND while FILE
 *                        exists (experiment: shows what happens without it)
 *   --crash-on-write N   SIGKILL ourselves after reading the N-th WRITE, before
 *                        answering (first instance only, not with --resume)
 *   --stats              print per-opcode request counts to stderr at exit
 *
 * Build: see Makefile. Run as root (mount(2), open_by_handle_at, BACKING_OPEN).
 */
#define _GNU_SOURCE
#include "proto740.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_WRITE   (1024 * 1024)
#define BUF_SIZE    (MAX_WRITE + 4096)
#define HASH_SIZE   4096
#define TIMEOUT_S   1   /* entry/attr cache timeout, as passthrough_ll's default */

static int devfd = -1, rootfd = -1;
static int mountfd = -1; /* non-O_PATH descriptor of the root: open_by_handle_at's mount_fd */
static bool opt_passthrough, opt_writeback, opt_resume, opt_stats;
static long opt_crash_on_write;
static const char *opt_state, *opt_no_resend_if;
static const char *mountpoint; /* set only in standalone mode */
static unsigned long op_count[64];
static long writes_seen;

/* ---------- nodes: node id -> O_PATH descriptor ---------- */

struct node {
	uint64_t id;
	int pathfd;            /* O_PATH descriptor of the backing object */
	uint64_t nlookup;      /* kernel's reference count (lookups - forgets) */
	int backing_id;        /* passthrough: registered backing file, 0 if none */
	int backing_fd;
	int backing_refs;      /* open handles using backing_id */
	struct node *next;
};
static struct node *nodes[HASH_SIZE];

/* persisted map entry: node id -> file handle (loaded on --resume) */
struct saved {
	uint64_t id;
	struct file_handle *fh;
	struct saved *next;
};
static struct saved *saved[HASH_SIZE];
static FILE *state_nodes;

static struct node *node_find(uint64_t id)
{
	for (struct node *n = nodes[id % HASH_SIZE]; n; n = n->next)
		if (n->id == id)
			return n;
	return NULL;
}

static struct node *node_add(uint64_t id, int pathfd)
{
	struct node *n = calloc(1, sizeof(*n));
	n->id = id;
	n->pathfd = pathfd;
	n->backing_fd = -1;
	n->next = nodes[id % HASH_SIZE];
	nodes[id % HASH_SIZE] = n;
	return n;
}

static void node_drop(struct node *n)
{
	struct node **p = &nodes[n->id % HASH_SIZE];
	while (*p != n)
		p = &(*p)->next;
	*p = n->next;
	close(n->pathfd);
	free(n);
}

/* Remember node id -> file handle, so that a later instance can resolve ids
 * the kernel still holds. Appended on first sight; write() is enough for a
 * daemon crash (the data is in the page cache), fsync would be needed for a
 * machine crash, which kills the FUSE connection anyway. */
static void persist_node(uint64_t id, int dirfd, const char *name)
{
	if (!state_nodes)
		return;
	struct { struct file_handle h; unsigned char b[MAX_HANDLE_SZ]; } fh;
	int mount_id;
	fh.h.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(dirfd, name, &fh.h, &mount_id, 0) < 0) {
		perror("name_to_handle_at");
		return;
	}
	fwrite(&id, sizeof(id), 1, state_nodes);
	fwrite(&fh.h, sizeof(fh.h) + fh.h.handle_bytes, 1, state_nodes);
	fflush(state_nodes);
}

static void load_saved_nodes(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	uint64_t id;
	struct file_handle h;
	int count = 0;
	while (fread(&id, sizeof(id), 1, f) == 1 && fread(&h, sizeof(h), 1, f) == 1) {
		struct saved *s = malloc(sizeof(*s));
		s->fh = malloc(sizeof(h) + h.handle_bytes);
		*s->fh = h;
		if (fread(s->fh->f_handle, h.handle_bytes, 1, f) != 1)
			break;
		s->id = id;
		s->next = saved[id % HASH_SIZE];
		saved[id % HASH_SIZE] = s;
		count++;
	}
	fclose(f);
	fprintf(stderr, "rawfs: loaded %d saved node ids\n", count);
}

/* Node for an id the kernel sent us. After a restart the table is empty, so
 * ids the kernel still holds are reopened from the persisted handles. */
static struct node *node_get(uint64_t id)
{
	struct node *n = node_find(id);
	if (n)
		return n;
	for (struct saved *s = saved[id % HASH_SIZE]; s; s = s->next) {
		if (s->id != id)
			continue;
		int fd = open_by_handle_at(mountfd, s->fh, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			static int warned;
			if (!warned++)
				perror("rawfs: open_by_handle_at");
			return NULL;
		}
		n = node_add(id, fd);
		n->nlookup = 1; /* unknown: the kernel holds at least one */
		return n;
	}
	return NULL;
}

/* ---------- open files: fh -> descriptor ---------- */

/* fh = node id << 4 | mode bits, so a restarted server can reopen it. */
#define FH_DIR     0x8
#define FH_APPEND  0x4
struct ofile {
	uint64_t fh;
	int fd;
	int refs;
	DIR *dir;
	struct ofile *next;
};
static struct ofile *ofiles[HASH_SIZE];

static struct ofile *ofile_find(uint64_t fh)
{
	for (struct ofile *o = ofiles[fh % HASH_SIZE]; o; o = o->next)
		if (o->fh == fh)
			return o;
	return NULL;
}

static void proc_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

static int reopen_flags(uint64_t fh)
{
	int fl = (fh & 3) | O_CLOEXEC;
	if (fh & FH_APPEND)
		fl |= O_APPEND;
	return fl;
}

/* Descriptor for a handle; reopened from the node if we do not have it
 * (first use after a restart). */
static struct ofile *ofile_get(uint64_t fh)
{
	struct ofile *o = ofile_find(fh);
	if (o)
		return o;
	struct node *n = node_get(fh >> 4);
	if (!n)
		return NULL;
	char p[64];
	proc_path(p, sizeof(p), n->pathfd);
	o = calloc(1, sizeof(*o));
	o->fh = fh;
	if (fh & FH_DIR) {
		o->fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (o->fd >= 0)
			o->dir = fdopendir(o->fd);
	} else {
		o->fd = open(p, reopen_flags(fh));
	}
	if (o->fd < 0) {
		free(o);
		return NULL;
	}
	o->next = ofiles[fh % HASH_SIZE];
	ofiles[fh % HASH_SIZE] = o;
	return o;
}

static void ofile_put(uint64_t fh)
{
	struct ofile **p = &ofiles[fh % HASH_SIZE];
	while (*p && (*p)->fh != fh)
		p = &(*p)->next;
	struct ofile *o = *p;
	if (!o || --o->refs > 0)
		return;
	*p = o->next;
	if (o->dir)
		closedir(o->dir);
	else
		close(o->fd);
	free(o);
}

/* ---------- replies ---------- */

static void reply(const struct fuse_in_header *in, int err, const void *a, size_t alen,
		  const void *b, size_t blen)
{
	struct fuse_out_header out = {
		.len = sizeof(out) + (err ? 0 : alen + blen),
		.error = err ? -err : 0,
		.unique = in->unique, /* keeps bit 63 of a resent request */
	};
	struct iovec iov[3] = {
		{ &out, sizeof(out) }, { (void *)a, alen }, { (void *)b, blen },
	};
	int cnt = err ? 1 : (blen ? 3 : (alen ? 2 : 1));
	if (writev(devfd, iov, cnt) < 0 && errno != ENOENT)
		perror("rawfs: reply");
}
#define reply_err(in, e) reply(in, e, NULL, 0, NULL, 0)

static void fill_attr(struct fuse_attr *a, const struct stat *st, uint64_t id)
{
	memset(a, 0, sizeof(*a));
	a->ino = id == FUSE_ROOT_ID ? FUSE_ROOT_ID : st->st_ino;
	a->size = st->st_size;
	a->blocks = st->st_blocks;
	a->atime = st->st_atim.tv_sec;
	a->atimensec = st->st_atim.tv_nsec;
	a->mtime = st->st_mtim.tv_sec;
	a->mtimensec = st->st_mtim.tv_nsec;
	a->ctime = st->st_ctim.tv_sec;
	a->ctimensec = st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = st->st_rdev;
	a->blksize = st->st_blksize;
}

/* Look up name in dir, make/refresh its node, fill the entry. */
static int do_lookup_entry(struct node *dir, const char *name, struct fuse_entry_out *e)
{
	struct stat st;
	if (fstatat(dir->pathfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno;
	uint64_t id = st.st_ino;
	struct stat rst;
	fstat(rootfd, &rst);
	if (st.st_ino == rst.st_ino && st.st_dev == rst.st_dev)
		id = FUSE_ROOT_ID;
	struct node *n = node_get(id);
	if (!n) {
		int fd = openat(dir->pathfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return errno;
		n = node_add(id, fd);
		persist_node(id, dir->pathfd, name);
	}
	n->nlookup++;
	memset(e, 0, sizeof(*e));
	e->nodeid = id;
	e->entry_valid = e->attr_valid = TIMEOUT_S;
	fill_attr(&e->attr, &st, id);
	return 0;
}

/* Passthrough: register (once per inode) the backing file, return its id. */
static int backing_get(struct node *n, int flags)
{
	if (n->backing_id > 0) {
		n->backing_refs++;
		return n->backing_id;
	}
	char p[64];
	proc_path(p, sizeof(p), n->pathfd);
	/* One backing file per inode serves every open of it, so open it
	 * read-write; O_APPEND etc. are applied per request by the kernel. */
	int fd = open(p, O_RDWR | O_CLOEXEC | (flags & O_DIRECT));
	if (fd < 0)
		fd = open(p, (flags & O_ACCMODE) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct p_backing_map map = { .fd = fd };
	int id = ioctl(devfd, P_FUSE_DEV_IOC_BACKING_OPEN, &map);
	if (id < 0) {
		int e = errno;
		fprintf(stderr, "rawfs: FUSE_DEV_IOC_BACKING_OPEN: %s\n", strerror(e));
		close(fd);
		return -e;
	}
	n->backing_id = id;
	n->backing_fd = fd;
	n->backing_refs = 1;
	return id;
}

static void backing_put(struct node *n)
{
	if (!n || n->backing_id <= 0 || --n->backing_refs > 0)
		return;
	uint32_t id = n->backing_id;
	if (ioctl(devfd, P_FUSE_DEV_IOC_BACKING_CLOSE, &id) < 0)
		perror("rawfs: FUSE_DEV_IOC_BACKING_CLOSE");
	close(n->backing_fd);
	n->backing_id = 0;
	n->backing_fd = -1;
}

/* Shared tail of OPEN and CREATE: descriptor + fh + open_out. */
static int open_common(struct node *n, int flags, int fd, struct fuse_open_out *oo)
{
	memset(oo, 0, sizeof(*oo));
	if (opt_writeback && (flags & O_ACCMODE) == O_WRONLY)
		flags = (flags & ~O_ACCMODE) | O_RDWR; /* kernel may read to fill pages */
	if (opt_writeback)
		flags &= ~O_APPEND; /* the kernel handles append with writeback */
	uint64_t fh = n->id << 4 | (flags & O_ACCMODE) | ((flags & O_APPEND) ? FH_APPEND : 0);
	struct ofile *o = ofile_find(fh);
	if (o) { /* another open of the same file and mode shares the descriptor */
		o->refs++;
		if (fd >= 0)
			close(fd);
		if ((flags & O_TRUNC) && ftruncate(o->fd, 0) < 0)
			return errno;
	} else {
		if (fd < 0) {
			char p[64];
			proc_path(p, sizeof(p), n->pathfd);
			fd = open(p, (flags & ~(O_CREAT | O_EXCL | O_NOCTTY)) | O_CLOEXEC);
			if (fd < 0)
				return errno;
		}
		o = calloc(1, sizeof(*o));
		o->fh = fh;
		o->fd = fd;
		o->refs = 1;
		o->next = ofiles[fh % HASH_SIZE];
		ofiles[fh % HASH_SIZE] = o;
	}
	oo->fh = fh;
	if (opt_passthrough) {
		int id = backing_get(n, flags);
		if (id > 0) {
			oo->open_flags |= P_FOPEN_PASSTHROUGH;
			OPEN_OUT_BACKING_ID(oo) = id;
		}
	}
	return 0;
}

/* ---------- request handlers ---------- */

static void handle(struct fuse_in_header *in, void *arg)
{
	struct node *n = in->opcode == FUSE_INIT ? NULL : node_get(in->nodeid);
	if (in->opcode < 64)
		op_count[in->opcode]++;

	switch (in->opcode) {
	case FUSE_INIT: {
		struct fuse_init_in *ii = arg;
		struct fuse_init_out io = {0};
		io.major = FUSE_KERNEL_VERSION;
		io.minor = 40;
		io.max_readahead = ii->max_readahead;
		io.flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_MAX_PAGES |
			   FUSE_PARALLEL_DIROPS | FUSE_ATOMIC_O_TRUNC;
		if (opt_writeback)
			io.flags |= FUSE_WRITEBACK_CACHE;
		if (ii->flags & FUSE_INIT_EXT) {
			io.flags |= FUSE_INIT_EXT;
			if (opt_passthrough) {
				if (!(ii->flags2 & P_FUSE_PASSTHROUGH_BIT2))
					fprintf(stderr, "rawfs: kernel does not offer FUSE_PASSTHROUGH\n");
				io.flags2 |= P_FUSE_PASSTHROUGH_BIT2;
				/* 1 = backing files must not be on a stacked fs */
				INIT_OUT_MAX_STACK_DEPTH(&io) = 1;
			}
		}
		io.max_write = MAX_WRITE;
		io.max_pages = MAX_WRITE / 4096;
		io.time_gran = 1;
		fprintf(stderr, "rawfs: INIT kernel %u.%u flags=0x%08x flags2=0x%08x%s -> flags=0x%08x flags2=0x%08x\n",
			ii->major, ii->minor, ii->flags, ii->flags2,
			(ii->flags2 & P_FUSE_HAS_RESEND_BIT2) ? " (HAS_RESEND)" : "",
			io.flags, io.flags2);
		if (opt_state) { /* what a restarted instance needs to know */
			char p[4096];
			snprintf(p, sizeof(p), "%s/init", opt_state);
			FILE *f = fopen(p, "w");
			if (f) {
				fprintf(f, "%u %u %u\n", io.minor, io.flags, io.flags2);
				fclose(f);
			}
		}
		reply(in, 0, &io, sizeof(io), NULL, 0);
		return;
	}
	case FUSE_DESTROY:
		reply_err(in, 0);
		return;
	case FUSE_FORGET: {
		struct fuse_forget_in *f = arg;
		if (n && n->id != FUSE_ROOT_ID && (n->nlookup -= f->nlookup) <= 0 && n->backing_id <= 0)
			node_drop(n);
		return; /* no reply */
	}
	case FUSE_BATCH_FORGET: {
		struct fuse_batch_forget_in *b = arg;
		struct fuse_forget_one *one = (void *)(b + 1);
		for (uint32_t i = 0; i < b->count; i++) {
			struct node *m = node_find(one[i].nodeid);
			if (m && m->id != FUSE_ROOT_ID && (m->nlookup -= one[i].nlookup) <= 0 &&
			    m->backing_id <= 0)
				node_drop(m);
		}
		return;
	}
	case FUSE_INTERRUPT:
		return; /* requests are answered quickly anyway */
	}

	if (!n) {
		reply_err(in, ESTALE);
		return;
	}

	switch (in->opcode) {
	case FUSE_LOOKUP: {
		struct fuse_entry_out e;
		int err = do_lookup_entry(n, arg, &e);
		reply(in, err, &e, sizeof(e), NULL, 0);
		break;
	}
	case FUSE_GETATTR: {
		struct fuse_getattr_in *g = arg;
		struct stat st;
		struct ofile *o = (g->getattr_flags & FUSE_GETATTR_FH) ? ofile_find(g->fh) : NULL;
		int r = o ? fstat(o->fd, &st) : fstatat(n->pathfd, "", &st, AT_EMPTY_PATH);
		if (r < 0) {
			reply_err(in, errno);
			break;
		}
		struct fuse_attr_out ao = { .attr_valid = TIMEOUT_S };
		fill_attr(&ao.attr, &st, n->id);
		reply(in, 0, &ao, sizeof(ao), NULL, 0);
		break;
	}
	case FUSE_SETATTR: {
		struct fuse_setattr_in *s = arg;
		char p[64];
		proc_path(p, sizeof(p), n->pathfd);
		int err = 0;
		if ((s->valid & FATTR_MODE) && chmod(p, s->mode) < 0)
			err = errno;
		if (!err && (s->valid & (FATTR_UID | FATTR_GID)) &&
		    fchownat(n->pathfd, "", (s->valid & FATTR_UID) ? s->uid : (uid_t)-1,
			     (s->valid & FATTR_GID) ? s->gid : (gid_t)-1, AT_EMPTY_PATH) < 0)
			err = errno;
		if (!err && (s->valid & FATTR_SIZE)) {
			struct ofile *o = (s->valid & FATTR_FH) ? ofile_get(s->fh) : NULL;
			if (o ? ftruncate(o->fd, s->size) < 0 : truncate(p, s->size) < 0)
				err = errno;
		}
		if (!err && (s->valid & (FATTR_ATIME | FATTR_MTIME))) {
			struct timespec t[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
			if (s->valid & FATTR_ATIME)
				t[0] = (s->valid & FATTR_ATIME_NOW) ? (struct timespec){ 0, UTIME_NOW }
					: (struct timespec){ s->atime, s->atimensec };
			if (s->valid & FATTR_MTIME)
				t[1] = (s->valid & FATTR_MTIME_NOW) ? (struct timespec){ 0, UTIME_NOW }
					: (struct timespec){ s->mtime, s->mtimensec };
			if (utimensat(AT_FDCWD, p, t, 0) < 0)
				err = errno;
		}
		struct stat st;
		if (!err && fstatat(n->pathfd, "", &st, AT_EMPTY_PATH) < 0)
			err = errno;
		struct fuse_attr_out ao = { .attr_valid = TIMEOUT_S };
		if (!err)
			fill_attr(&ao.attr, &st, n->id);
		reply(in, err, &ao, sizeof(ao), NULL, 0);
		break;
	}
	case FUSE_OPEN: {
		struct fuse_open_in *oi = arg;
		struct fuse_open_out oo;
		int err = open_common(n, oi->flags, -1, &oo);
		reply(in, err, &oo, sizeof(oo), NULL, 0);
		break;
	}
	case FUSE_CREATE: {
		struct fuse_create_in *ci = arg;
		const char *name = (const char *)(ci + 1);
		int flags = ci->flags;
		if (opt_writeback) { /* same adjustments as open_common() */
			if ((flags & O_ACCMODE) == O_WRONLY)
				flags = (flags & ~O_ACCMODE) | O_RDWR;
			flags &= ~O_APPEND;
		}
		int fd = openat(n->pathfd, name, (flags | O_CREAT | O_CLOEXEC) & ~O_NOCTTY,
				ci->mode & ~ci->umask);
		if (fd < 0) {
			reply_err(in, errno);
			break;
		}
		struct { struct fuse_entry_out e; struct fuse_open_out o; } eo;
		int err = do_lookup_entry(n, name, &eo.e);
		if (!err)
			err = open_common(node_find(eo.e.nodeid), ci->flags, fd, &eo.o);
		else
			close(fd);
		reply(in, err, &eo, sizeof(eo), NULL, 0);
		break;
	}
	case FUSE_READ: {
		struct fuse_read_in *ri = arg;
		struct ofile *o = ofile_get(ri->fh);
		static char rbuf[MAX_WRITE];
		size_t sz = ri->size > MAX_WRITE ? MAX_WRITE : ri->size;
		ssize_t r = o ? pread(o->fd, rbuf, sz, ri->offset) : -1;
		if (!o)
			errno = EBADF;
		if (r < 0)
			reply_err(in, errno);
		else
			reply(in, 0, rbuf, r, NULL, 0);
		break;
	}
	case FUSE_WRITE: {
		struct fuse_write_in *wi = arg;
		if (opt_crash_on_write && ++writes_seen == opt_crash_on_write) {
			fprintf(stderr, "rawfs: --crash-on-write: read WRITE #%ld (unique %llu), dying unanswered\n",
				writes_seen, (unsigned long long)in->unique);
			kill(getpid(), SIGKILL);
		}
		struct ofile *o = ofile_get(wi->fh);
		ssize_t w = -1;
		if (!o)
			errno = EBADF;
		else if (wi->fh & FH_APPEND)
			w = write(o->fd, wi + 1, wi->size);
		else
			w = pwrite(o->fd, wi + 1, wi->size, wi->offset);
		if (w < 0) {
			reply_err(in, errno);
			break;
		}
		struct fuse_write_out wo = { .size = w };
		reply(in, 0, &wo, sizeof(wo), NULL, 0);
		break;
	}
	case FUSE_FLUSH:
		reply_err(in, 0);
		break;
	case FUSE_RELEASE: {
		struct fuse_release_in *ri = arg;
		ofile_put(ri->fh);
		if (opt_passthrough)
			backing_put(n);
		reply_err(in, 0);
		break;
	}
	case FUSE_FSYNC: {
		struct fuse_fsync_in *fi = arg;
		struct ofile *o = ofile_get(fi->fh);
		int r = !o ? (errno = EBADF, -1)
			   : (fi->fsync_flags & 1) ? fdatasync(o->fd) : fsync(o->fd);
		reply_err(in, r < 0 ? errno : 0);
		break;
	}
	case FUSE_STATFS: {
		struct statvfs sv;
		if (fstatvfs(rootfd, &sv) < 0) {
			reply_err(in, errno);
			break;
		}
		struct fuse_statfs_out so = { .st = {
			.blocks = sv.f_blocks, .bfree = sv.f_bfree, .bavail = sv.f_bavail,
			.files = sv.f_files, .ffree = sv.f_ffree, .bsize = sv.f_bsize,
			.namelen = sv.f_namemax, .frsize = sv.f_frsize } };
		reply(in, 0, &so, sizeof(so), NULL, 0);
		break;
	}
	case FUSE_OPENDIR: {
		uint64_t fh = n->id << 4 | FH_DIR;
		struct ofile *o = ofile_find(fh);
		if (o) /* one DIR stream per directory is enough for a prototype */
			o->refs++;
		else if ((o = ofile_get(fh)))
			o->refs = 1;
		struct fuse_open_out oo = { .fh = fh };
		reply(in, o ? 0 : errno, &oo, sizeof(oo), NULL, 0);
		break;
	}
	case FUSE_READDIR: {
		struct fuse_read_in *ri = arg;
		struct ofile *o = ofile_get(ri->fh);
		if (!o || !o->dir) {
			reply_err(in, EBADF);
			break;
		}
		static char dbuf[65536];
		size_t size = ri->size > sizeof(dbuf) ? sizeof(dbuf) : ri->size, used = 0;
		seekdir(o->dir, ri->offset);
		for (;;) {
			long pos = telldir(o->dir);
			struct dirent *de = readdir(o->dir);
			if (!de)
				break;
			size_t nl = strlen(de->d_name);
			size_t rec = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + nl);
			if (used + rec > size) {
				seekdir(o->dir, pos);
				break;
			}
			struct fuse_dirent *fd = (void *)(dbuf + used);
			fd->ino = de->d_ino;
			fd->off = telldir(o->dir);
			fd->namelen = nl;
			fd->type = de->d_type;
			memcpy(fd->name, de->d_name, nl);
			memset(fd->name + nl, 0, rec - FUSE_NAME_OFFSET - nl);
			used += rec;
		}
		reply(in, 0, dbuf, used, NULL, 0);
		break;
	}
	case FUSE_RELEASEDIR: {
		struct fuse_release_in *ri = arg;
		ofile_put(ri->fh);
		reply_err(in, 0);
		break;
	}
	case FUSE_MKDIR: {
		struct fuse_mkdir_in *mi = arg;
		const char *name = (const char *)(mi + 1);
		struct fuse_entry_out e;
		int err = mkdirat(n->pathfd, name, mi->mode & ~mi->umask) < 0 ? errno : 0;
		if (!err)
			err = do_lookup_entry(n, name, &e);
		reply(in, err, &e, sizeof(e), NULL, 0);
		break;
	}
	case FUSE_UNLINK:
	case FUSE_RMDIR:
		reply_err(in, unlinkat(n->pathfd, arg, in->opcode == FUSE_RMDIR ? AT_REMOVEDIR : 0) < 0
				      ? errno : 0);
		break;
	default:
		reply_err(in, ENOSYS); /* the kernel remembers ENOSYS for most opcodes */
		break;
	}
}

/* ---------- main ---------- */

static void print_stats(void)
{
	static const struct { int op; const char *name; } names[] = {
		{ FUSE_LOOKUP, "LOOKUP" }, { FUSE_GETATTR, "GETATTR" }, { FUSE_SETATTR, "SETATTR" },
		{ FUSE_OPEN, "OPEN" }, { FUSE_CREATE, "CREATE" }, { FUSE_READ, "READ" },
		{ FUSE_WRITE, "WRITE" }, { FUSE_FLUSH, "FLUSH" }, { FUSE_RELEASE, "RELEASE" },
		{ FUSE_FSYNC, "FSYNC" }, { FUSE_FORGET, "FORGET" }, { FUSE_STATFS, "STATFS" },
		{ FUSE_OPENDIR, "OPENDIR" }, { FUSE_READDIR, "READDIR" }, { FUSE_UNLINK, "UNLINK" },
		{ FUSE_GETXATTR, "GETXATTR" }, { FUSE_ACCESS, "ACCESS" }, { FUSE_LSEEK, "LSEEK" },
	};
	fprintf(stderr, "rawfs: requests:");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (op_count[names[i].op])
			fprintf(stderr, " %s=%lu", names[i].name, op_count[names[i].op]);
	fprintf(stderr, "\n");
}

static void on_signal(int sig)
{
	(void)sig;
	if (mountpoint)
		umount2(mountpoint, MNT_DETACH); /* read() then fails with ENODEV */
}

int main(int argc, char **argv)
{
	const char *backing = NULL;
	int i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--passthrough")) opt_passthrough = true;
		else if (!strcmp(argv[i], "--writeback")) opt_writeback = true;
		else if (!strcmp(argv[i], "--resume")) opt_resume = true;
		else if (!strcmp(argv[i], "--no-resend-if") && i + 1 < argc) opt_no_resend_if = argv[++i];
		else if (!strcmp(argv[i], "--stats")) opt_stats = true;
		else if (!strcmp(argv[i], "--state") && i + 1 < argc) opt_state = argv[++i];
		else if (!strcmp(argv[i], "--fd") && i + 1 < argc) devfd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--root-fd") && i + 1 < argc) rootfd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--crash-on-write") && i + 1 < argc) opt_crash_on_write = atol(argv[++i]);
		else { fprintf(stderr, "rawfs: unknown option %s\n", argv[i]); return 2; }
	}
	if (devfd < 0) {
		if (argc - i != 2) {
			fprintf(stderr, "usage: rawfs [options] BACKING MOUNTPOINT | rawfs [options] --fd N --root-fd M\n");
			return 2;
		}
		backing = argv[i];
		mountpoint = argv[i + 1];
		rootfd = open(backing, O_PATH | O_DIRECTORY | O_CLOEXEC);
		devfd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
		if (rootfd < 0 || devfd < 0) {
			perror("rawfs: open");
			return 1;
		}
		char opts[256];
		snprintf(opts, sizeof(opts),
			 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions", devfd);
		if (mount("rawfs", mountpoint, "fuse.rawfs", MS_NOSUID | MS_NODEV, opts) < 0) {
			perror("rawfs: mount");
			return 1;
		}
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
	if (rootfd < 0) {
		fprintf(stderr, "rawfs: --fd needs --root-fd\n");
		return 2;
	}
	node_add(FUSE_ROOT_ID, dup(rootfd))->nlookup = 1;
	{	/* open_by_handle_at() does not accept an O_PATH mount_fd (EBADF) */
		char p[64];
		proc_path(p, sizeof(p), rootfd);
		mountfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}

	if (opt_state) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/nodes", opt_state);
		if (opt_resume)
			load_saved_nodes(p);
		state_nodes = fopen(p, opt_resume ? "a" : "w");
		if (opt_resume) { /* negotiated settings of the connection we join */
			snprintf(p, sizeof(p), "%s/init", opt_state);
			FILE *f = fopen(p, "r");
			unsigned minor, flags, flags2;
			if (f && fscanf(f, "%u %u %u", &minor, &flags, &flags2) == 3) {
				opt_writeback = flags & FUSE_WRITEBACK_CACHE;
				opt_passthrough = flags2 & P_FUSE_PASSTHROUGH_BIT2;
			}
			if (f)
				fclose(f);
		}
	}

	if (opt_resume)
		opt_crash_on_write = 0;
	if (opt_resume && opt_no_resend_if && access(opt_no_resend_if, F_OK) == 0)
		fprintf(stderr, "rawfs: resumed, NOT sending FUSE_NOTIFY_RESEND (%s exists)\n", opt_no_resend_if);
	else if (opt_resume) {
		/* Unsolicited notification: unique 0, error = notification code. */
		struct fuse_out_header nh = { .len = sizeof(nh), .error = P_FUSE_NOTIFY_RESEND, .unique = 0 };
		if (write(devfd, &nh, sizeof(nh)) < 0)
			perror("rawfs: FUSE_NOTIFY_RESEND");
		else
			fprintf(stderr, "rawfs: resumed, sent FUSE_NOTIFY_RESEND\n");
	}

	char *buf = malloc(BUF_SIZE);
	long resent = 0;
	for (;;) {
		ssize_t r = read(devfd, buf, BUF_SIZE);
		if (r < 0) {
			if (errno == EINTR || errno == ENOENT || errno == EAGAIN)
				continue;
			if (errno != ENODEV)
				perror("rawfs: read /dev/fuse");
			break; /* ENODEV: unmounted */
		}
		struct fuse_in_header *in = (void *)buf;
		if ((size_t)r < sizeof(*in) || in->len != (size_t)r)
			continue;
		if (in->unique & P_FUSE_UNIQUE_RESEND)
			resent++;
		/* extensions (total_extlen) would follow the arguments; none negotiated */
		handle(in, buf + sizeof(*in));
		if (in->opcode == FUSE_DESTROY)
			break;
	}
	if (resent)
		fprintf(stderr, "rawfs: handled %ld resent requests\n", resent);
	if (opt_stats)
		print_stats();
	return 0;
}
