/*
 * ll314_tricks.c - what an unmodified libfuse 3.14 (Debian 12) can be made to
 * do with its public API only: a tiny flat-directory passthrough filesystem
 * (regular files directly in the backing folder, no subfolders) that uses
 *
 *   1. kernel passthrough (--passthrough): libfuse 3.14 cannot ask for
 *      FUSE_PASSTHROUGH (fuse_conn_info.want is 32 bits, do_init() only ever
 *      sends flags2 = 0 and leaves max_stack_depth 0). A custom I/O layer
 *      (fuse_session_custom_io(), public since 3.13) sees every reply before
 *      it reaches /dev/fuse, so it adds the flag and max_stack_depth to the
 *      INIT reply. OPEN/CREATE are answered with fuse_reply_buf() and a
 *      hand-made fuse_open_out that carries FOPEN_PASSTHROUGH + backing_id,
 *      because fuse_reply_open() has no field for it.
 *
 *   2. serving an already initialised connection (--resume, under
 *      supervisor): libfuse 3.14 answers every request with EIO until it has
 *      seen INIT, and the kernel sends INIT once per connection. The custom
 *      I/O layer therefore hands libfuse a copy of the original INIT request
 *      (saved by the first instance) as its first read, swallows libfuse's
 *      reply to it, and then writes FUSE_NOTIFY_RESEND to the device itself
 *      (libfuse 3.14 has no call for that notification).
 *
 * Node ids are inode numbers; after a restart an unknown id is found again by
 * scanning the (flat) backing folder. A real filesystem would persist a map
 * (see rawfs.c).
 *
 * Usage (same command line shape as rawfs, so supervisor.c can run it):
 *   ll314_tricks [--passthrough] [--writeback] BACKING MOUNTPOINT
 *   ll314_tricks [--passthrough] [--writeback] [--resume] --state DIR --fd N --root-fd M
 *   --crash-on-write N: test only, SIGKILL after receiving the N-th WRITE (not with --resume)
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include "proto740.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

static int rootfd = -1, devfd = -1;
static bool opt_passthrough, opt_writeback, opt_resume;
static unsigned long opt_crash_on_write; /* test: die after reading the N-th WRITE (first instance) */
static const char *opt_state;
static unsigned long writes_seen; /* WRITE requests that reached us */
static unsigned long resent_seen; /* requests carrying FUSE_UNIQUE_RESEND */

/* ---------- the custom I/O layer ---------- */

static uint64_t init_unique;          /* unique of the INIT request (real or synthetic) */
static bool synthetic_pending, resend_pending;
static char saved_init[sizeof(struct fuse_in_header) + sizeof(struct fuse_init_in)];
#define SYNTHETIC_UNIQUE 1            /* the kernel's uniques are even: no clash */

static ssize_t io_read(int fd, void *buf, size_t len, void *ud)
{
	(void)ud;
	if (synthetic_pending) { /* --resume: libfuse must see an INIT first */
		synthetic_pending = false;
		memcpy(buf, saved_init, sizeof(saved_init));
		struct fuse_in_header *h = buf;
		h->unique = init_unique = SYNTHETIC_UNIQUE;
		return sizeof(saved_init);
	}
	if (resend_pending) {
		resend_pending = false;
		struct fuse_out_header nh = { .len = sizeof(nh), .error = P_FUSE_NOTIFY_RESEND };
		if (write(fd, &nh, sizeof(nh)) < 0)
			perror("ll314_tricks: FUSE_NOTIFY_RESEND");
		else
			fprintf(stderr, "ll314_tricks: resumed, sent FUSE_NOTIFY_RESEND\n");
	}
	ssize_t r = read(fd, buf, len);
	if (r >= (ssize_t)sizeof(saved_init)) {
		struct fuse_in_header *h = buf;
		if (h->unique & P_FUSE_UNIQUE_RESEND)
			fprintf(stderr, "ll314_tricks: got resent request #%lu (opcode %u)\n", ++resent_seen, h->opcode);
		if (h->opcode == FUSE_INIT) {
			init_unique = h->unique;
			memcpy(saved_init, buf, sizeof(saved_init));
			if (opt_state) { /* for the instances that will have to resume */
				char p[4096];
				snprintf(p, sizeof(p), "%s/init_in", opt_state);
				FILE *f = fopen(p, "w");
				if (f) {
					fwrite(saved_init, sizeof(saved_init), 1, f);
					fclose(f);
				}
			}
		}
	}
	return r;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *ud)
{
	(void)ud;
	struct fuse_out_header *oh = iov[0].iov_base;
	size_t total = 0;
	for (int i = 0; i < count; i++)
		total += iov[i].iov_len;
	if (init_unique && oh->unique == init_unique) {
		if (init_unique == SYNTHETIC_UNIQUE) { /* the kernel must not see this */
			init_unique = 0;
			resend_pending = true;
			return total;
		}
		init_unique = 0;
		if (opt_passthrough && count >= 2 && iov[1].iov_len >= 40) {
			/* libfuse 3.14 built the reply; add what it cannot express. */
			static struct fuse_init_out io;
			memcpy(&io, iov[1].iov_base, sizeof(io) < iov[1].iov_len ? sizeof(io) : iov[1].iov_len);
			if (io.flags & FUSE_INIT_EXT) {
				io.flags2 |= P_FUSE_PASSTHROUGH_BIT2;
				INIT_OUT_MAX_STACK_DEPTH(&io) = 1;
				iov[1].iov_base = &io;
				fprintf(stderr, "ll314_tricks: INIT reply patched: flags2=0x%x max_stack_depth=1\n",
					io.flags2);
			}
		}
	}
	return writev(fd, iov, count);
}

/* ---------- nodes (flat folder) ---------- */

struct node { uint64_t ino; char *name; int fd; int backing_id, bref; struct node *next; };
static struct node *nodes;

static struct node *node_by_ino(uint64_t ino)
{
	for (struct node *n = nodes; n; n = n->next)
		if (n->ino == ino)
			return n;
	/* unknown id, e.g. after a restart: find it again in the folder */
	DIR *d = fdopendir(openat(rootfd, ".", O_RDONLY | O_DIRECTORY));
	struct dirent *de;
	struct node *n = NULL;
	while (d && (de = readdir(d)))
		if (de->d_ino == ino) {
			n = calloc(1, sizeof(*n));
			n->ino = ino;
			n->name = strdup(de->d_name);
			n->fd = -1;
			n->next = nodes;
			nodes = n;
			break;
		}
	if (d)
		closedir(d);
	return n;
}

static struct node *node_by_name(const char *name, uint64_t ino)
{
	struct node *n;
	for (n = nodes; n; n = n->next)
		if (n->ino == ino) {
			free(n->name);
			n->name = strdup(name);
			return n;
		}
	n = calloc(1, sizeof(*n));
	n->ino = ino;
	n->name = strdup(name);
	n->fd = -1;
	n->next = nodes;
	nodes = n;
	return n;
}

/* One read-write descriptor per file, shared by all its handles, reopened on
 * demand (after a restart the kernel's fh values mean nothing to us). */
static int node_fd(struct node *n)
{
	if (n->fd < 0)
		n->fd = openat(rootfd, n->name, O_RDWR | O_CLOEXEC);
	return n->fd;
}

static int stat_node(fuse_ino_t ino, struct stat *st)
{
	if (ino == FUSE_ROOT_ID)
		return fstat(rootfd, st);
	struct node *n = node_by_ino(ino);
	if (!n)
		return errno = ESTALE, -1;
	return fstatat(rootfd, n->name, st, AT_SYMLINK_NOFOLLOW);
}

/* ---------- operations ---------- */

static void op_init(void *ud, struct fuse_conn_info *conn)
{
	(void)ud;
	if (opt_writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void entry_for(fuse_req_t req, const char *name)
{
	struct fuse_entry_param e = { .attr_timeout = 1, .entry_timeout = 1 };
	if (fstatat(rootfd, name, &e.attr, AT_SYMLINK_NOFOLLOW) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	e.ino = e.attr.st_ino;
	node_by_name(name, e.ino);
	fuse_reply_entry(req, &e);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (parent != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	entry_for(req, name);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct stat st;
	if (stat_node(ino, &st) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_attr(req, &st, 1);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *a, int valid,
		       struct fuse_file_info *fi)
{
	(void)fi;
	struct node *n = node_by_ino(ino);
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((valid & FUSE_SET_ATTR_SIZE) && ftruncate(node_fd(n), a->st_size) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if (valid & FUSE_SET_ATTR_MODE)
		fchmodat(rootfd, n->name, a->st_mode, 0);
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec t[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
		if (valid & FUSE_SET_ATTR_ATIME)
			t[0] = (valid & FUSE_SET_ATTR_ATIME_NOW) ? (struct timespec){ 0, UTIME_NOW } : a->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME)
			t[1] = (valid & FUSE_SET_ATTR_MTIME_NOW) ? (struct timespec){ 0, UTIME_NOW } : a->st_mtim;
		utimensat(rootfd, n->name, t, AT_SYMLINK_NOFOLLOW);
	}
	op_getattr(req, ino, NULL);
}

/* Answer OPEN (or the open half of CREATE) by hand, with passthrough if asked. */
static int fill_open_out(struct node *n, struct fuse_open_out *oo)
{
	memset(oo, 0, sizeof(*oo));
	oo->fh = n->ino;
	if (node_fd(n) < 0)
		return errno;
	if (opt_passthrough) {
		if (n->backing_id <= 0) {
			struct p_backing_map map = { .fd = n->fd };
			int id = ioctl(devfd, P_FUSE_DEV_IOC_BACKING_OPEN, &map);
			if (id < 0)
				return errno;
			n->backing_id = id;
		}
		n->bref++;
		oo->open_flags |= P_FOPEN_PASSTHROUGH;
		OPEN_OUT_BACKING_ID(oo) = n->backing_id;
	}
	return 0;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = node_by_ino(ino);
	struct fuse_open_out oo;
	int err = n ? fill_open_out(n, &oo) : ESTALE;
	if (!err && (fi->flags & O_TRUNC) && ftruncate(n->fd, 0) < 0)
		err = errno;
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, (const char *)&oo, sizeof(oo));
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	(void)parent;
	int fd = openat(rootfd, name, ((fi->flags | O_CREAT) & ~(O_APPEND | O_ACCMODE)) | O_RDWR | O_CLOEXEC, mode);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	struct { struct fuse_entry_out e; struct fuse_open_out o; } eo;
	memset(&eo, 0, sizeof(eo));
	struct stat st;
	fstat(fd, &st);
	struct node *n = node_by_name(name, st.st_ino);
	if (n->fd < 0)
		n->fd = fd;
	else
		close(fd);
	/* what fuse_reply_entry() would fill, by hand */
	eo.e.nodeid = st.st_ino;
	eo.e.entry_valid = eo.e.attr_valid = 1;
	eo.e.attr.ino = st.st_ino;
	eo.e.attr.size = st.st_size;
	eo.e.attr.blocks = st.st_blocks;
	eo.e.attr.mode = st.st_mode;
	eo.e.attr.nlink = st.st_nlink;
	eo.e.attr.uid = st.st_uid;
	eo.e.attr.gid = st.st_gid;
	eo.e.attr.blksize = st.st_blksize;
	eo.e.attr.atime = st.st_atim.tv_sec;
	eo.e.attr.mtime = st.st_mtim.tv_sec;
	eo.e.attr.ctime = st.st_ctim.tv_sec;
	int err = fill_open_out(n, &eo.o);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, (const char *)&eo, sizeof(eo));
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	struct node *n = node_by_ino(ino);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	if (!n || node_fd(n) < 0) {
		fuse_reply_err(req, n ? errno : ESTALE);
		return;
	}
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = n->fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)fi;
	if (++writes_seen == opt_crash_on_write && !opt_resume) {
		fprintf(stderr, "ll314_tricks: --crash-on-write: dying with WRITE #%lu unanswered\n", writes_seen);
		kill(getpid(), SIGKILL);
	}
	struct node *n = node_by_ino(ino);
	ssize_t w = (n && node_fd(n) >= 0) ? pwrite(n->fd, data, size, off) : -1;
	if (w < 0)
		fuse_reply_err(req, n ? errno : ESTALE);
	else
		fuse_reply_write(req, w);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct node *n = node_by_ino(ino);
	if (n && n->backing_id > 0 && --n->bref <= 0) {
		uint32_t id = n->backing_id;
		ioctl(devfd, P_FUSE_DEV_IOC_BACKING_CLOSE, &id);
		n->backing_id = 0;
	}
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)fi;
	struct node *n = node_by_ino(ino);
	int r = (n && node_fd(n) >= 0) ? (datasync ? fdatasync(n->fd) : fsync(n->fd)) : -1;
	fuse_reply_err(req, r < 0 ? (n ? errno : ESTALE) : 0);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino; (void)fi;
	fuse_reply_err(req, 0);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	fuse_reply_err(req, unlinkat(rootfd, name, 0) < 0 ? errno : 0);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino; (void)fi;
	char *buf = calloc(1, size);
	size_t used = 0;
	DIR *d = fdopendir(openat(rootfd, ".", O_RDONLY | O_DIRECTORY));
	struct dirent *de;
	long i = 0;
	while (d && (de = readdir(d))) {
		if (i++ < off)
			continue;
		struct stat st = { .st_ino = de->d_ino, .st_mode = de->d_type << 12 };
		size_t l = fuse_add_direntry(req, buf + used, size - used, de->d_name, &st, i);
		if (l > size - used)
			break;
		used += l;
	}
	if (d)
		closedir(d);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct statvfs sv;
	if (fstatvfs(rootfd, &sv) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init, .lookup = op_lookup, .getattr = op_getattr, .setattr = op_setattr,
	.open = op_open, .create = op_create, .read = op_read, .write = op_write,
	.flush = op_flush, .release = op_release, .fsync = op_fsync, .unlink = op_unlink,
	.readdir = op_readdir, .statfs = op_statfs,
};

int main(int argc, char **argv)
{
	const char *mnt = NULL;
	int i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--passthrough")) opt_passthrough = true;
		else if (!strcmp(argv[i], "--writeback")) opt_writeback = true;
		else if (!strcmp(argv[i], "--resume")) opt_resume = true;
		else if (!strcmp(argv[i], "--crash-on-write") && i + 1 < argc) opt_crash_on_write = atol(argv[++i]);
		else if (!strcmp(argv[i], "--state") && i + 1 < argc) opt_state = argv[++i];
		else if (!strcmp(argv[i], "--fd") && i + 1 < argc) devfd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--root-fd") && i + 1 < argc) rootfd = atoi(argv[++i]);
		else { fprintf(stderr, "ll314_tricks: unknown option %s\n", argv[i]); return 2; }
	}
	if (devfd < 0) {
		if (argc - i != 2)
			return fprintf(stderr, "usage: see the comment at the top\n"), 2;
		rootfd = open(argv[i], O_PATH | O_DIRECTORY);
		mnt = argv[i + 1];
	}
	{	/* rootfd is O_PATH; the *at() calls used here want a real directory fd */
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", rootfd);
		rootfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (opt_resume) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/init_in", opt_state ? opt_state : ".");
		FILE *f = fopen(p, "r");
		if (!f || fread(saved_init, sizeof(saved_init), 1, f) != 1)
			return fprintf(stderr, "ll314_tricks: --resume needs %s\n", p), 1;
		fclose(f);
		synthetic_pending = true;
	}

	char *fargv[] = { argv[0], NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, fargv);
	struct fuse_session *se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se)
		return 1;
	if (mnt) {
		if (fuse_session_mount(se, mnt) != 0)
			return 1;
		devfd = fuse_session_fd(se);
	}
	struct fuse_custom_io io = { .read = io_read, .writev = io_writev };
	if (fuse_session_custom_io(se, &io, devfd) != 0)
		return 1;
	fuse_set_signal_handlers(se);
	int ret = fuse_session_loop(se);
	fuse_remove_signal_handlers(se);
	fprintf(stderr, "ll314_tricks: WRITE requests seen: %lu\n", writes_seen);
	if (mnt)
		fuse_session_unmount(se);
	fuse_session_destroy(se); /* closes our copy of the descriptor only */
	return ret ? 1 : 0;
}
