/*
 * blkload: a tiny block-device load generator for inside the guest (busybox
 * has no fio).  Built static on the host and handed to the guest on a
 * second, read-only disk.  O_DIRECT, queue depth 1, one aligned buffer.
 *
 *   blkload DEVICE MODE BLOCK_BYTES SECONDS
 *   MODE: seqread seqwrite randread randwrite
 * Prints "MODE BLOCK MB_PER_S IOPS OPS" on one line.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t size, blocks, ops = 0, x = 88172645463325252ull;
	unsigned long bs;
	double secs, t0, t;
	bool write, rnd;
	void *buf;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: blkload DEVICE seqread|seqwrite|randread|randwrite BS SECONDS\n");
		return 2;
	}
	write = strstr(argv[2], "write") != NULL;
	rnd = strncmp(argv[2], "rand", 4) == 0;
	bs = strtoul(argv[3], NULL, 0);
	secs = atof(argv[4]);
	if (bs < 512 || bs % 512 || bs > (64u << 20) || secs <= 0)
		return 2;
	fd = open(argv[1], (write ? O_RDWR : O_RDONLY) | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0) {
		perror(argv[1]);
		return 1;
	}
	blocks = size / bs;
	if (!blocks || posix_memalign(&buf, 4096, bs))
		return 1;
	memset(buf, 0x5a, bs);
	t0 = now();
	do {
		uint64_t blk;
		ssize_t n;

		if (rnd) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			blk = x % blocks;
		} else {
			blk = ops % blocks;
		}
		n = write ? pwrite(fd, buf, bs, (off_t)(blk * bs)) : pread(fd, buf, bs, (off_t)(blk * bs));
		if (n != (ssize_t)bs) {
			perror("io");
			return 1;
		}
		ops++;
		t = now();
	} while (t - t0 < secs);
	if (write && fdatasync(fd) < 0)
		perror("fdatasync");
	t = now() - t0;
	printf("%s %lu %.1f %.0f %llu\n", argv[2], bs, (double)ops * bs / t / 1e6, (double)ops / t,
	       (unsigned long long)ops);
	return 0;
}
