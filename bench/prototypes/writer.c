/*
 * writer.c - writes a reproducible byte pattern in fixed-size blocks and
 * reports every error, the longest stall, and (with --verify) whether a file
 * holds exactly that pattern. Used by the crash test.
 *
 *   writer PATH BLOCKS BLOCKSIZE [--fsync] [--pause S]
 *                                            write, sleep S seconds with the file
 *                                            still open (dirty pages stay in the
 *                                            mount's page cache), then fsync if asked
 *   writer --verify PATH BLOCKS BLOCKSIZE    check the content
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Block i: 8-byte words of a simple mix of (i, word index). */
static void fill(uint64_t *b, size_t words, uint64_t i)
{
	for (size_t w = 0; w < words; w++) {
		uint64_t x = i * 0x9E3779B97F4A7C15ULL + w;
		x ^= x >> 31;
		x *= 0xBF58476D1CE4E5B9ULL;
		b[w] = x ^ (x >> 29);
	}
}

int main(int argc, char **argv)
{
	int verify = argc > 1 && !strcmp(argv[1], "--verify");
	int a = verify ? 2 : 1;
	if (argc - a < 3) {
		fprintf(stderr, "usage: writer [--verify] PATH BLOCKS BLOCKSIZE [--fsync]\n");
		return 2;
	}
	const char *path = argv[a];
	long blocks = atol(argv[a + 1]);
	size_t bs = atol(argv[a + 2]);
	int do_fsync = 0, pause_s = 0;
	for (int k = a + 3; k < argc; k++) {
		if (!strcmp(argv[k], "--fsync"))
			do_fsync = 1;
		else if (!strcmp(argv[k], "--pause") && k + 1 < argc)
			pause_s = atoi(argv[++k]);
	}
	uint64_t *want = malloc(bs), *got = malloc(bs);

	if (verify) {
		int fd = open(path, O_RDONLY);
		if (fd < 0) { perror("open"); return 1; }
		long bad = 0;
		for (long i = 0; i < blocks; i++) {
			fill(want, bs / 8, i);
			ssize_t r = pread(fd, got, bs, (off_t)i * bs);
			if (r != (ssize_t)bs || memcmp(want, got, bs)) {
				if (!bad)
					fprintf(stderr, "verify: first bad block %ld (read %zd)\n", i, r);
				bad++;
			}
		}
		off_t end = lseek(fd, 0, SEEK_END);
		printf("verify: %ld blocks, %ld bad, file size %lld (expected %lld)\n", blocks, bad,
		       (long long)end, (long long)blocks * bs);
		return bad || end != (off_t)(blocks * bs);
	}

	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) { perror("open"); return 1; }
	double t0 = now(), last = t0, max_stall = 0;
	long errors = 0;
	for (long i = 0; i < blocks; i++) {
		fill(want, bs / 8, i);
		ssize_t w = write(fd, want, bs);
		double t = now();
		if (t - last > max_stall)
			max_stall = t - last;
		last = t;
		if (w != (ssize_t)bs && errors++ < 3)
			fprintf(stderr, "writer: block %ld: write returned %zd: %s\n", i, w, strerror(errno));
	}
	double tw = now();
	if (pause_s) {
		printf("writer: all writes returned, pausing %d s before %s\n", pause_s,
		       do_fsync ? "fsync" : "close");
		fflush(stdout);
		sleep(pause_s);
		tw = now();
	}
	int fr = do_fsync ? fsync(fd) : 0;
	if (fr < 0) { fprintf(stderr, "writer: fsync: %s\n", strerror(errno)); errors++; }
	double tf = now();
	if (close(fd) < 0) { fprintf(stderr, "writer: close: %s\n", strerror(errno)); errors++; }
	printf("writer: %ld x %zu B, %ld errors, writes %.2f s, fsync %.2f s, longest single write %.2f s\n",
	       blocks, bs, errors, tw - t0, tf - tw, max_stall);
	return errors != 0;
}
