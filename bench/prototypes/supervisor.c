/*
 * supervisor.c - keeps a FUSE connection alive across crashes of the server.
 *
 * The supervisor opens /dev/fuse, mounts with fd=N (mount(2), so it must run
 * as root) and keeps that descriptor for the mount's whole life. The server
 * (rawfs) inherits the descriptor and serves it. While the supervisor holds
 * the descriptor the kernel does not release the /dev/fuse file when the
 * server dies, so the connection is not aborted: programs using the mount
 * wait instead of getting ENOTCONN. The supervisor then starts a new server
 * with --resume on the same descriptor; that one skips INIT (a connection is
 * initialised once), reloads the node-id map and sends FUSE_NOTIFY_RESEND so
 * the requests the dead server had read but not answered are delivered again.
 *
 * Usage: supervisor [--restart-delay-ms N] BACKING MOUNTPOINT STATEDIR SERVER [server options]
 *   SERVER is started as: SERVER [options] [--resume] --state STATEDIR --fd N --root-fd M
 * The supervisor exits when the server exits normally (after unmount).
 * SIGINT/SIGTERM: lazy unmount, the server then sees ENODEV and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *mnt;
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
	umount2(mnt, MNT_DETACH);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int delay_ms = 0, a = 1;
	if (argc > 2 && !strcmp(argv[1], "--restart-delay-ms")) {
		delay_ms = atoi(argv[2]);
		a = 3;
	}
	if (argc - a < 4) {
		fprintf(stderr, "usage: supervisor [--restart-delay-ms N] BACKING MOUNTPOINT STATEDIR SERVER [options]\n");
		return 2;
	}
	const char *backing = argv[a], *state = argv[a + 2];
	mnt = argv[a + 1];
	char **srv = &argv[a + 3];
	int nsrv = argc - a - 3;

	/* Both descriptors are inherited by every server instance (no O_CLOEXEC). */
	int rootfd = open(backing, O_PATH | O_DIRECTORY);
	int devfd = open("/dev/fuse", O_RDWR);
	if (rootfd < 0 || devfd < 0) {
		perror("supervisor: open");
		return 1;
	}
	char opts[256];
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions", devfd);
	if (mount("rawfs", mnt, "fuse.rawfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		perror("supervisor: mount");
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	char fdstr[16], rootstr[16];
	snprintf(fdstr, sizeof(fdstr), "%d", devfd);
	snprintf(rootstr, sizeof(rootstr), "%d", rootfd);
	int generation = 0;
	for (;;) {
		char *args[nsrv + 10];
		int k = 0;
		for (int i = 0; i < nsrv; i++)
			args[k++] = srv[i];
		if (generation > 0)
			args[k++] = "--resume";
		args[k++] = "--state";
		args[k++] = (char *)state;
		args[k++] = "--fd";
		args[k++] = fdstr;
		args[k++] = "--root-fd";
		args[k++] = rootstr;
		args[k] = NULL;

		double started = now();
		pid_t pid = fork();
		if (pid == 0) {
			execv(args[0], args);
			perror("supervisor: exec");
			_exit(127);
		}
		fprintf(stderr, "supervisor: server #%d pid %d%s\n", generation, pid,
			generation ? " (--resume)" : "");
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || stopping)) {
			fprintf(stderr, "supervisor: server exited (%d), done\n", WEXITSTATUS(status));
			break;
		}
		if (stopping)
			break;
		fprintf(stderr, "supervisor: server #%d died (%s %d) after %.2f s; restarting\n",
			generation, WIFSIGNALED(status) ? "signal" : "exit",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), now() - started);
		if (delay_ms)
			usleep(delay_ms * 1000);
		generation++;
	}
	umount2(mnt, MNT_DETACH); /* no-op if already unmounted */
	close(devfd);
	return 0;
}
