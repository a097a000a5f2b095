/*
 * The KVM probe as the CLI uses it: `info` reports it and `create` warns when
 * the host cannot run guests at a useful speed.  The verdict is cached in the
 * run directory for as long as the same /dev/kvm of the same boot exists (a
 * module reload makes a new device node), so creating many domains probes
 * once; the cache is only an optimisation and anything odd in it is ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "xenkvm/kvm_probe.h"
#include "xenkvm/rundir.h"

#define PROBE_CACHE "kvm-probe"

/* What identifies the KVM the verdict was for. */
static int probe_key(char *buf, size_t len)
{
	char boot[64] = "";
	struct stat st;
	FILE *f;

	f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return -errno;
	if (!fgets(boot, sizeof(boot), f))
		boot[0] = 0;
	fclose(f);
	boot[strcspn(boot, "\n")] = 0;
	if (!boot[0] || stat("/dev/kvm", &st) < 0)
		return -ENOENT;
	snprintf(buf, len, "%s %llx %lld.%09ld", boot, (unsigned long long)st.st_rdev,
		 (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	return 0;
}

static bool probe_cache_read(const char *path, const char *key, struct kvm_probe *p)
{
	char line[512];
	int hw, emu, msr, vcpus;
	unsigned int xen;
	bool ok = false;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return false;
	}
	if (!fgets(line, sizeof(line), f))
		goto out;
	line[strcspn(line, "\n")] = 0;
	if (strcmp(line, key))
		goto out;
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "hw=%d emulated=%d xen=%x msr=%d vcpus=%d", &hw, &emu, &xen, &msr, &vcpus) != 5)
		goto out;
	if (!fgets(line, sizeof(line), f))
		goto out;
	memset(p, 0, sizeof(*p));
	p->opened = p->ran = true;
	p->hw_speed = hw == 1;
	p->emulated = emu == 1;
	p->xen_caps = xen;
	p->user_msr = msr == 1;
	p->max_vcpus = vcpus;
	line[strcspn(line, "\n")] = 0;
	line[sizeof(p->verdict) - 1] = 0;
	memcpy(p->verdict, line, strlen(line) + 1);
	ok = true;
out:
	fclose(f);
	return ok;
}

static void probe_cache_write(const char *path, const char *key, const struct kvm_probe *p)
{
	char tmp[4200];
	FILE *f;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= sizeof(tmp))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return;
	}
	fprintf(f, "%s\nhw=%d emulated=%d xen=%x msr=%d vcpus=%d\n%s\n", key, p->hw_speed,
		p->emulated, p->xen_caps, p->user_msr, p->max_vcpus, p->verdict);
	if (fclose(f) || rename(tmp, path))
		unlink(tmp);
}

void cli_kvm_probe(const struct rundir *rd, struct kvm_probe *p)
{
	char key[160], path[4096];
	bool cache = rd && !probe_key(key, sizeof(key)) &&
		     (size_t)snprintf(path, sizeof(path), "%s/%s", rd->base, PROBE_CACHE) < sizeof(path);

	if (cache && probe_cache_read(path, key, p))
		return;
	kvm_probe_run(p);
	/* Only a verdict from a guest that ran is worth keeping. */
	if (cache && p->ran)
		probe_cache_write(path, key, p);
}

void cli_kvm_warn_slow(const struct kvm_probe *p, FILE *f)
{
	if (!p->opened || p->hw_speed)
		return;
	fprintf(f, "xenkvm create: warning: this host's KVM cannot run guests at a useful speed "
		   "(%s).\n", p->verdict);
	if (p->emulated)
		fprintf(f, "xenkvm create: warning: its guest code is emulated, so a Linux guest "
			   "takes hours to boot.  Run xenkvm where KVM has hardware virtualisation "
			   "(VT-x or AMD-V passed through to this machine); to try it here, "
			   "tests/nested/l1-run starts a nested KVM host (see README).\n");
}
