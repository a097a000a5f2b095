/*
 * blkback backing store: a raw image file or block device driven through
 * io_uring.  Completions are signalled on an eventfd the event loop
 * watches; the ring code turns each CQE into a blkif response.
 *
 * Before queueing, a transfer is tried on the I/O thread when that cannot
 * block it: always on a memory-backed file system (tmpfs), else with
 * RWF_NOWAIT for page-cache hits.  A request io_uring would punt to one of
 * its workers (it does for every buffered transfer a file system cannot do
 * without blocking, e.g. any on tmpfs) costs two thread wake-ups more than
 * the copy itself: several times a 4 KiB copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blkback.h"
#include "xenkvm/log.h"

/* Image formats we can recognise but not serve: refusing them keeps a
 * guest from seeing (and rewriting) another format's metadata as data. */
static const char *blk_io_foreign_format(int fd, uint64_t size)
{
	uint8_t head[512], tail[512];
	ssize_t n;

	n = pread(fd, head, sizeof(head), 0);
	if (n >= 4 && memcmp(head, "QFI\xfb", 4) == 0)
		return "qcow2";
	if (n >= 8 && memcmp(head, "conectix", 8) == 0)
		return "vhd";
	if (n >= 4 && memcmp(head, "KDMV", 4) == 0)
		return "vmdk";
	if (n >= 68 && memcmp(head + 64, "\x7f\x10\xda\xbe", 4) == 0)
		return "vdi";
	if (n >= 8 && memcmp(head, "vhdxfile", 8) == 0)
		return "vhdx";
	/* A fixed VHD is raw data plus a 512-byte footer. */
	if (size >= 1024 && pread(fd, tail, sizeof(tail), (off_t)(size - 512)) == 512 &&
	    memcmp(tail, "conectix", 8) == 0)
		return "vhd";
	return NULL;
}

static int blk_io_size(struct blk_io *io, const char *path)
{
	struct stat st;

	if (fstat(io->fd, &st) < 0)
		return -errno;
	io->logical_block = BLK_SECTOR;
	io->physical_block = 4096;
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes;
		int lbs = 0, pbs = 0;

		if (ioctl(io->fd, BLKGETSIZE64, &bytes) < 0)
			return -errno;
		io->size = bytes;
		io->is_bdev = true;
		if (ioctl(io->fd, BLKSSZGET, &lbs) == 0 && lbs >= 512 && lbs <= 4096)
			io->logical_block = (unsigned int)lbs;
		if (ioctl(io->fd, BLKPBSZGET, &pbs) == 0 && pbs >= 512 && pbs <= 65536)
			io->physical_block = (unsigned int)pbs;
	} else if (S_ISREG(st.st_mode)) {
		io->size = (uint64_t)st.st_size;
	} else {
		pr_err("blkback: %s is neither a regular file nor a block device", path);
		return -EINVAL;
	}
	/* Discard punches holes; block devices turn that into a discard. */
	io->can_discard = !io->readonly;
	return 0;
}

static void blk_io_inline_setup(struct blk_io *io)
{
	struct statfs sf;

	io->memory_backed = false;
	io->nowait_rd = io->nowait_wr = !io->direct;
	if (io->direct || fstatfs(io->fd, &sf) < 0)
		return;
	io->memory_backed = sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC;
}

ssize_t blk_io_try_rw(struct blk_io *io, bool write, const struct iovec *iov, unsigned int cnt,
		      uint64_t off)
{
	bool *nowait = write ? &io->nowait_wr : &io->nowait_rd;
	int flags = io->memory_backed ? 0 : RWF_NOWAIT;
	ssize_t n;

	if (!io->memory_backed && !*nowait)
		return -EAGAIN;
	if (cnt > IOV_MAX)
		cnt = IOV_MAX;   /* a short transfer: the caller goes on from there */
	do
		n = write ? pwritev2(io->fd, iov, (int)cnt, (off_t)off, flags)
			  : preadv2(io->fd, iov, (int)cnt, (off_t)off, flags);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	if (io->memory_backed)
		return -errno;
	/* Not supported for this file (or this direction): stop trying.  Any
	 * other error is left for io_uring to report. */
	if (errno == EOPNOTSUPP)
		*nowait = false;
	return -EAGAIN;
}

int blk_io_try_fsync(struct blk_io *io)
{
	if (!io->memory_backed)
		return -EAGAIN;
	return fdatasync(io->fd) < 0 ? -errno : 0;
}

int blk_io_try_discard(struct blk_io *io, uint64_t off, uint64_t len)
{
	if (!io->memory_backed)
		return -EAGAIN;
	if (fallocate(io->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return -errno;
	return 0;
}

int blk_io_open(struct blk_io *io, const char *path, const char *format, bool readonly,
		bool direct, unsigned int depth)
{
	struct io_uring_params up = { 0 };
	const char *foreign;
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int rc;

	memset(io, 0, sizeof(*io));
	io->fd = -1;
	io->efd = -1;
	io->readonly = readonly;
	if (!path || !*path) {
		pr_err("blkback: disk has no target (empty cdrom drives are not supported)");
		return -EINVAL;
	}
	if (format && *format && strcmp(format, "raw") != 0) {
		pr_err("blkback: %s: format=%s is not supported (only raw); convert it with "
		       "'qemu-img convert -O raw'", path, format);
		return -ENOTSUP;
	}
	io->fd = open(path, flags | (direct ? O_DIRECT : 0));
	if (io->fd < 0 && direct && errno == EINVAL) {
		/* tmpfs and a few others have no O_DIRECT: buffered still works. */
		pr_warn("blkback: %s: O_DIRECT not supported here, using the page cache", path);
		direct = false;
		io->fd = open(path, flags);
	}
	if (io->fd < 0) {
		rc = -errno;
		pr_err("blkback: cannot open %s: %s", path, strerror(-rc));
		goto out;
	}
	io->direct = direct;
	blk_io_inline_setup(io);
	rc = blk_io_size(io, path);
	if (rc)
		goto out;
	foreign = blk_io_foreign_format(io->fd, io->size);
	if (foreign) {
		pr_err("blkback: %s is a %s image; only raw images are supported (convert it "
		       "with 'qemu-img convert -O raw')", path, foreign);
		rc = -ENOTSUP;
		goto out;
	}
	io->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io->efd < 0) {
		rc = -errno;
		goto out;
	}
	rc = io_uring_queue_init_params(depth, &io->uring, &up);
	if (rc) {
		pr_err("blkback: io_uring setup: %s", strerror(-rc));
		goto out;
	}
	io->uring_ok = true;
	rc = io_uring_register_eventfd(&io->uring, io->efd);
	if (rc) {
		pr_err("blkback: io_uring eventfd: %s", strerror(-rc));
		goto out;
	}
	return 0;
out:
	blk_io_close(io);
	return rc;
}

static void blk_io_ignore(void *opaque, void *tag, int res)
{
	(void)opaque;
	(void)tag;
	(void)res;
}

void blk_io_close(struct blk_io *io)
{
	/* The kernel may still be writing into guest memory: wait it out. */
	while (io->uring_ok && io->inflight)
		if (blk_io_wait_one(io, blk_io_ignore, NULL))
			break;
	if (io->uring_ok)
		io_uring_queue_exit(&io->uring);
	io->uring_ok = false;
	if (io->efd >= 0)
		close(io->efd);
	if (io->fd >= 0)
		close(io->fd);
	io->efd = io->fd = -1;
}

struct io_uring_sqe *blk_io_sqe(struct blk_io *io)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->uring);

	if (!sqe) {
		blk_io_submit(io);
		sqe = io_uring_get_sqe(&io->uring);
	}
	if (sqe)
		io->inflight++;
	return sqe;
}

void blk_io_submit(struct blk_io *io)
{
	int rc;

	do
		rc = io_uring_submit(&io->uring);
	while (rc == -EINTR || rc == -EAGAIN);
	if (rc < 0)
		pr_err_rl("blkback: io_uring_submit: %s", strerror(-rc));
}

unsigned int blk_io_reap(struct blk_io *io, blk_io_done_fn *fn, void *opaque)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	while (io_uring_peek_cqe(&io->uring, &cqe) == 0) {
		void *tag = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&io->uring, cqe);
		if (io->inflight)
			io->inflight--;
		fn(opaque, tag, res);
		n++;
	}
	return n;
}

int blk_io_wait_one(struct blk_io *io, blk_io_done_fn *fn, void *opaque)
{
	struct io_uring_cqe *cqe;
	int rc;

	do
		rc = io_uring_wait_cqe(&io->uring, &cqe);
	while (rc == -EINTR);
	if (rc)
		return rc;
	blk_io_reap(io, fn, opaque);
	return 0;
}

void blk_io_ack(struct blk_io *io)
{
	uint64_t v;

	if (read(io->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_err_rl("blkback: eventfd read: %s", strerror(errno));
}
