/*
 * Unit tests for xl.cfg keys (domain_config.c) and the disk and vif specs
 * (disk_spec.c, vif_spec.c): every key, every error message, xl's defaults.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_run.h"
#include "xenkvm/domain_config.h"

static struct domain_config cfg;
static struct config_error err;
static char warnings[4096];

static void collect_warning(const char *msg)
{
	size_t n = strlen(warnings);

	snprintf(warnings + n, sizeof(warnings) - n, "%s\n", msg);
}

#define BASE "name = \"g\"\nkernel = \"/k\"\n"

static int parse_with(const char *text, char *const *ov, size_t nr)
{
	warnings[0] = 0;
	domain_config_free(&cfg);
	return domain_config_parse("t.cfg", text, strlen(text), ov, nr, &cfg, &err, collect_warning);
}

static int parse(const char *text)
{
	return parse_with(text, NULL, 0);
}

#define REJECTS(text, expect) do {                               \
	CU_ASSERT_EQUAL(parse(text), -1);                        \
	CU_ASSERT_STRING_EQUAL(err.msg, expect);                 \
	CU_ASSERT_PTR_NULL(cfg.name);  /* nothing left behind */ \
} while (0)

static void test_defaults(void)
{
	CU_ASSERT_EQUAL_FATAL(parse(BASE), 0);
	CU_ASSERT_STRING_EQUAL(cfg.path, "t.cfg");
	CU_ASSERT_STRING_EQUAL(cfg.name, "g");
	CU_ASSERT_STRING_EQUAL(cfg.kernel, "/k");
	CU_ASSERT_FALSE(cfg.has_uuid);
	CU_ASSERT_EQUAL(cfg.type, DOMAIN_TYPE_HVM);
	CU_ASSERT_EQUAL(cfg.memory_mib, 128);
	CU_ASSERT_EQUAL(cfg.maxmem_mib, 128);
	CU_ASSERT_EQUAL(cfg.vcpus, 1);
	CU_ASSERT_EQUAL(cfg.maxvcpus, 1);
	CU_ASSERT_PTR_NULL(cfg.ramdisk);
	CU_ASSERT_PTR_NULL(cfg.cmdline);
	CU_ASSERT_PTR_NULL(cfg.serial);
	CU_ASSERT_EQUAL(cfg.nr_disks, 0);
	CU_ASSERT_EQUAL(cfg.nr_vifs, 0);
	CU_ASSERT_EQUAL(cfg.on_poweroff, ACTION_DESTROY);
	CU_ASSERT_EQUAL(cfg.on_reboot, ACTION_RESTART);
	CU_ASSERT_EQUAL(cfg.on_crash, ACTION_DESTROY);
	CU_ASSERT_TRUE(cfg.xen_platform);
	CU_ASSERT_EQUAL(cfg.xen_version, 0x40011);
	CU_ASSERT_STRING_EQUAL(warnings, "");
}

static void test_keys(void)
{
	CU_ASSERT_EQUAL_FATAL(parse(
		"name = 'web-1.example_x'\n"
		"uuid = '5a1d2c3e-0000-4000-8000-00163E0000FF'\n"
		"type = 'hvm'\n"
		"memory = 2048\nmaxmem = 4096\nvcpus = 4\nmaxvcpus = 8\n"
		"kernel = '/boot/vmlinuz'\nramdisk = '/boot/initrd'\n"
		"cmdline = 'console=hvc0'\n"
		"on_poweroff = 'restart'\non_reboot = 'rename-restart'\non_crash = 'preserve'\n"
		"serial = 'file:/tmp/s.log'\n"
		"xen_platform_pci = 0\nxen_version = '4.13'\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.name, "web-1.example_x");
	CU_ASSERT_TRUE(cfg.has_uuid);
	CU_ASSERT_EQUAL(cfg.uuid[0], 0x5a);
	CU_ASSERT_EQUAL(cfg.uuid[3], 0x3e);
	CU_ASSERT_EQUAL(cfg.uuid[15], 0xff);
	CU_ASSERT_EQUAL(cfg.memory_mib, 2048);
	CU_ASSERT_EQUAL(cfg.maxmem_mib, 4096);
	CU_ASSERT_EQUAL(cfg.vcpus, 4);
	CU_ASSERT_EQUAL(cfg.maxvcpus, 8);
	CU_ASSERT_STRING_EQUAL(cfg.ramdisk, "/boot/initrd");
	CU_ASSERT_STRING_EQUAL(cfg.cmdline, "console=hvc0");
	CU_ASSERT_EQUAL(cfg.on_poweroff, ACTION_RESTART);
	CU_ASSERT_EQUAL(cfg.on_reboot, ACTION_RENAME_RESTART);
	CU_ASSERT_EQUAL(cfg.on_crash, ACTION_PRESERVE);
	CU_ASSERT_STRING_EQUAL(cfg.serial, "file:/tmp/s.log");
	CU_ASSERT_FALSE(cfg.xen_platform);
	CU_ASSERT_EQUAL(cfg.xen_version, 0x4000d);

	CU_ASSERT_EQUAL(parse(BASE "builder = 'hvm'\n"), 0);
	CU_ASSERT_EQUAL(cfg.type, DOMAIN_TYPE_HVM);
	CU_ASSERT_FALSE(cfg.type_unset);
	CU_ASSERT_EQUAL(parse(BASE "type = 'hvm'\nbuilder = 'hvm'\n"), 0);
	CU_ASSERT_EQUAL(parse(BASE "memory = 0x400\nvcpus = '3'\n"), 0);
	CU_ASSERT_EQUAL(cfg.memory_mib, 1024);
	CU_ASSERT_EQUAL(cfg.vcpus, 3);
	CU_ASSERT_EQUAL(parse(BASE "memory = 16\nmaxmem = 1048576\nvcpus = 128\n"), 0);
	CU_ASSERT_EQUAL(parse(BASE "memory = 0100\n"), 0);       /* octal, as strtol(,,0) */
	CU_ASSERT_EQUAL(cfg.memory_mib, 64);
	CU_ASSERT_EQUAL(parse(BASE "ramdisk = ''\n"), 0);
	CU_ASSERT_PTR_NULL(cfg.ramdisk);
	CU_ASSERT_EQUAL(parse(BASE "serial = [ 'stdio' ]\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.serial, "stdio");
	CU_ASSERT_EQUAL(parse(BASE "serial = [ ]\n"), 0);
	CU_ASSERT_PTR_NULL(cfg.serial);
	CU_ASSERT_EQUAL(parse(BASE "serial = 'none'\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.serial, "none");
	CU_ASSERT_EQUAL(parse(BASE "on_crash = 'coredump-destroy'\non_reboot = 'soft-reset'\n"
			      "on_poweroff = 'coredump-restart'\n"), 0);
	CU_ASSERT_EQUAL(cfg.on_crash, ACTION_COREDUMP_DESTROY);
	CU_ASSERT_EQUAL(cfg.on_reboot, ACTION_SOFT_RESET);
	CU_ASSERT_EQUAL(cfg.on_poweroff, ACTION_COREDUMP_RESTART);
	CU_ASSERT_EQUAL(parse(BASE "xen_version = '3.0'\n"), 0);
	CU_ASSERT_EQUAL(cfg.xen_version, 0x30000);
	CU_ASSERT_STRING_EQUAL(domain_action_name(ACTION_RENAME_RESTART), "rename-restart");
	CU_ASSERT_STRING_EQUAL(domain_action_name((enum domain_action)99), "?");
}

static void test_cmdline(void)
{
	CU_ASSERT_EQUAL(parse(BASE "root = '/dev/xvda1'\nextra = 'quiet'\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.cmdline, "root=/dev/xvda1 quiet");
	CU_ASSERT_EQUAL(parse(BASE "root = '/dev/xvda1'\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.cmdline, "root=/dev/xvda1");
	CU_ASSERT_EQUAL(parse(BASE "extra = 'quiet'\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.cmdline, "quiet");
	CU_ASSERT_EQUAL(parse(BASE "extra = 'a'\nextra += ' b'\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.cmdline, "a b");
	CU_ASSERT_EQUAL(parse(BASE "extra = 'quiet'\ncmdline = 'single'\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.cmdline, "single");
	CU_ASSERT_STRING_EQUAL(warnings, "t.cfg:4: ignoring root= and extra= in favour of cmdline=\n");
	REJECTS(BASE "root = [ 'x' ]\n", "t.cfg:3: root must be a single value, not a list");
}

/* No kernel=: firmware boot, as Xen's xlexample.hvm. */
static void test_firmware_boot(void)
{
	CU_ASSERT_EQUAL_FATAL(parse("name = 'g'\ntype = 'hvm'\ndisk = [ '/i.img,raw,xvda,rw' ]\n"), 0);
	CU_ASSERT_PTR_NULL(cfg.kernel);
	CU_ASSERT_PTR_NULL(cfg.boot);      /* the firmware's default, "cd" */
	CU_ASSERT_STRING_EQUAL(warnings, "");
	CU_ASSERT_EQUAL_FATAL(parse("name = 'g'\nfirmware = 'seabios'\nbios = 'seabios'\nboot = 'dcn'\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.boot, "dcn");
	CU_ASSERT_STRING_EQUAL(warnings, "");
	CU_ASSERT_EQUAL_FATAL(parse("name = 'g'\nfirmware = 'bios'\n"), 0);
	CU_ASSERT_PTR_NULL(cfg.bios_path);
	CU_ASSERT_EQUAL_FATAL(parse("name = 'g'\nbios_path_override = '/srv/bios.bin'\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.bios_path, "/srv/bios.bin");
	REJECTS("name = 'g'\nbios_path_override = ''\n", "t.cfg:2: bios_path_override must not be empty");
	/* kernel= keeps direct boot; boot= is then the firmware's business only */
	CU_ASSERT_EQUAL_FATAL(parse(BASE "boot = 'c'\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.kernel, "/k");
}

static void test_firmware_override(void)
{
	CU_ASSERT_EQUAL(parse("name = 'g'\nfirmware_override = '/fw.elf'\n"), 0);
	CU_ASSERT_STRING_EQUAL(cfg.firmware_override, "/fw.elf");
	CU_ASSERT_PTR_NULL(cfg.kernel);
	CU_ASSERT_STRING_EQUAL(warnings, "");
	REJECTS("name = 'g'\nfirmware_override = ''\n", "t.cfg:2: firmware_override must not be empty");
	REJECTS(BASE "firmware_override = '/fw.elf'\n",
		"t.cfg: kernel and firmware_override are exclusive: the firmware_override ELF is what boots");
	REJECTS("name = 'g'\ntype = 'pvh'\nfirmware_override = '/fw.elf'\n",
		"t.cfg: firmware_override is for type=\"hvm\" (a PVH domain boots its kernel)");
}

static void test_type(void)
{
	CU_ASSERT_EQUAL(parse(BASE), 0);
	CU_ASSERT_EQUAL(cfg.type, DOMAIN_TYPE_HVM);
	CU_ASSERT_TRUE(cfg.type_unset);   /* xl: PV; create warns */
	CU_ASSERT_EQUAL(parse(BASE "type = 'pvh'\n"), 0);
	CU_ASSERT_EQUAL(cfg.type, DOMAIN_TYPE_PVH);
	CU_ASSERT_EQUAL(parse(BASE "type = 'hvm'\n"), 0);
	CU_ASSERT_EQUAL(cfg.type, DOMAIN_TYPE_HVM);
	CU_ASSERT_FALSE(cfg.type_unset);
	CU_ASSERT_EQUAL(parse(BASE "builder = 'hvm'\n"), 0);
	CU_ASSERT_EQUAL(cfg.type, DOMAIN_TYPE_HVM);
	CU_ASSERT_FALSE(cfg.type_unset);
}

static void test_warnings(void)
{
	CU_ASSERT_EQUAL(parse(BASE "vnc = 1\nfrobnicate = 'x'\non_watchdog = 'destroy'\n"), 0);
	CU_ASSERT_STRING_EQUAL(warnings,
			       "t.cfg:3: unsupported key 'vnc' ignored\n"
			       "t.cfg:4: unknown key 'frobnicate' ignored\n"
			       "t.cfg:5: unsupported key 'on_watchdog' ignored\n");
}

static void test_errors(void)
{
	REJECTS("kernel = '/k'\n", "t.cfg: name is required");
	REJECTS("name = 'g'\nfirmware = 'ovmf'\n", "t.cfg:2: firmware=\"ovmf\" is not supported yet (only seabios)");
	REJECTS("name = 'g'\nfirmware = 'uefi'\n", "t.cfg:2: firmware=\"uefi\" is not supported yet (only seabios)");
	REJECTS(BASE "bios = 'ovmf'\n", "t.cfg:3: bios=\"ovmf\" is not supported yet (only seabios)");
	REJECTS(BASE "bios = 'rombios'\n", "t.cfg:3: bios=\"rombios\" is not supported (use seabios)");
	REJECTS(BASE "bios = 'bios'\n", "t.cfg:3: invalid bios 'bios' (expected seabios)");
	REJECTS(BASE "firmware = 'pvgrub64'\n", "t.cfg:3: invalid firmware 'pvgrub64' (expected seabios)");
	REJECTS(BASE "boot = 'cc'\n",
		"t.cfg:3: invalid boot 'cc' (letters c = disk, d = CD-ROM, n = network, a = floppy, each once)");
	REJECTS(BASE "boot = 'x'\n",
		"t.cfg:3: invalid boot 'x' (letters c = disk, d = CD-ROM, n = network, a = floppy, each once)");
	REJECTS(BASE "boot = ''\n",
		"t.cfg:3: invalid boot '' (letters c = disk, d = CD-ROM, n = network, a = floppy, each once)");
	REJECTS(BASE "boot = ['c']\n", "t.cfg:3: boot must be a single value, not a list");
	REJECTS(BASE "type = 'pv'\n", "t.cfg:3: type=pv is not supported (hvm and pvh are)");
	REJECTS(BASE "type = 'h'\n", "t.cfg:3: invalid type 'h' (hvm and pvh are supported)");
	REJECTS(BASE "type = 'pvh'\nbuilder = 'hvm'\n", "t.cfg:4: builder=hvm contradicts type=\"pvh\"");
	REJECTS("name = 'g'\ntype = 'pvh'\n", "t.cfg: kernel is required for type=\"pvh\" (a PVH domain has no firmware)");
	REJECTS(BASE "type = 'pvh'\nxen_platform_pci = 0\n",
		"t.cfg: type=\"pvh\" needs xen_platform_pci=1: a PVH domain has no emulated devices, only Xen's");
	REJECTS(BASE "builder = 'generic'\n", "t.cfg:3: builder=generic (pv) is not supported (only hvm)");
	REJECTS(BASE "builder = 'xen'\n", "t.cfg:3: invalid builder 'xen' (only hvm is supported)");
	REJECTS(BASE "memory = 15\n", "t.cfg:3: memory must be between 16 and 1048576 MiB (got 15)");
	REJECTS(BASE "memory = 1048577\n", "t.cfg:3: memory must be between 16 and 1048576 MiB (got 1048577)");
	REJECTS(BASE "memory = 99999999999999999999999\n", "t.cfg:3: memory is too large");
	REJECTS(BASE "memory = '512M'\n", "t.cfg:3: memory must be a number (got '512M')");
	REJECTS(BASE "memory = ' 512'\n", "t.cfg:3: memory must be a number (got ' 512')");
	REJECTS(BASE "memory = ''\n", "t.cfg:3: memory must be a number (got '')");
	REJECTS(BASE "memory = 08\n", "t.cfg:3: memory must be a number (got '08')");
	REJECTS(BASE "memory = 0x\n", "t.cfg:3: memory must be a number (got '0x')");
	REJECTS(BASE "memory = [ 512 ]\n", "t.cfg:3: memory must be a single value, not a list");
	REJECTS(BASE "memory = 256\nmemory += 1\n", "t.cfg:4: can't use += with a number for memory");
	REJECTS(BASE "maxmem = 8\n", "t.cfg:3: maxmem must be between 16 and 1048576 MiB (got 8)");
	REJECTS(BASE "memory = 512\nmaxmem = 256\n", "t.cfg:4: maxmem (256) must not be less than memory (512)");
	REJECTS(BASE "maxmem = 64\n", "t.cfg:3: maxmem (64) must not be less than memory (128)");
	REJECTS(BASE "vcpus = 0\n", "t.cfg:3: vcpus must be between 1 and 128 (got 0)");
	REJECTS(BASE "vcpus = 129\n", "t.cfg:3: vcpus must be between 1 and 128 (got 129)");
	REJECTS(BASE "maxvcpus = 200\n", "t.cfg:3: maxvcpus must be between 1 and 128 (got 200)");
	REJECTS(BASE "vcpus = 4\nmaxvcpus = 2\n", "t.cfg:4: maxvcpus (2) must not be less than vcpus (4)");
	REJECTS("name = ''\nkernel = '/k'\n", "t.cfg:1: name must not be empty");
	REJECTS("name = 'a/b'\nkernel = '/k'\n",
		"t.cfg:1: name 'a/b' has invalid characters (allowed: letters, digits, '_', '-', '.')");
	REJECTS("name = '123'\nkernel = '/k'\n", "t.cfg:1: name '123' must not be all digits");
	REJECTS("name = '-x'\nkernel = '/k'\n", "t.cfg:1: name '-x' must start with a letter, digit or '_'");
	REJECTS("name = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'\nkernel = '/k'\n",
		"t.cfg:1: name is longer than 64 characters");
	REJECTS("name = 'g'\nkernel = ''\n", "t.cfg:2: kernel must not be empty");
	REJECTS("name = 'g'\nkernel = ['/k']\n", "t.cfg:2: kernel must be a single value, not a list");
	REJECTS(BASE "uuid = 'nope'\n",
		"t.cfg:3: invalid uuid 'nope' (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
	REJECTS(BASE "uuid = '5a1d2c3e00000-4000-8000-00163e0000ff'\n",
		"t.cfg:3: invalid uuid '5a1d2c3e00000-4000-8000-00163e0000ff' (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
	REJECTS(BASE "uuid = '5a1d2c3e-0000-4000-8000-00163e0000fg'\n",
		"t.cfg:3: invalid uuid '5a1d2c3e-0000-4000-8000-00163e0000fg' (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
	REJECTS(BASE "on_poweroff = 'halt'\n",
		"t.cfg:3: invalid on_poweroff action 'halt' (destroy, restart, preserve, rename-restart, "
		"coredump-destroy, coredump-restart or soft-reset)");
	REJECTS(BASE "on_crash = ['destroy']\n", "t.cfg:3: on_crash must be a single value, not a list");
	REJECTS(BASE "serial = 'vc'\n", "t.cfg:3: serial 'vc' is not supported (pty, stdio, none or file:PATH)");
	REJECTS(BASE "serial = 'file:'\n", "t.cfg:3: serial 'file:' is not supported (pty, stdio, none or file:PATH)");
	REJECTS(BASE "serial = [ 'pty',\n 'pty' ]\n", "t.cfg:4: only one serial port is supported");
	REJECTS(BASE "serial = [ [ 'pty' ] ]\n", "t.cfg:3: serial entries must be strings, not lists");
	REJECTS(BASE "xen_platform_pci = 2\n", "t.cfg:3: xen_platform_pci must be 0 or 1 (got 2)");
	REJECTS(BASE "xen_platform_pci = 'yes'\n", "t.cfg:3: xen_platform_pci must be a number (got 'yes')");
	REJECTS(BASE "xen_version = '2.0'\n",
		"t.cfg:3: invalid xen_version '2.0' (expected \"MAJOR.MINOR\" with MAJOR >= 3, e.g. \"4.17\")");
	REJECTS(BASE "xen_version = '4.17.1'\n",
		"t.cfg:3: invalid xen_version '4.17.1' (expected \"MAJOR.MINOR\" with MAJOR >= 3, e.g. \"4.17\")");
	REJECTS(BASE "xen_version = '4.70000'\n",
		"t.cfg:3: invalid xen_version '4.70000' (expected \"MAJOR.MINOR\" with MAJOR >= 3, e.g. \"4.17\")");
	REJECTS(BASE "disk = 'x'\n", "t.cfg:3: disk must be a list, e.g. disk = [ '...' ]");
	REJECTS(BASE "vif = 'x'\n", "t.cfg:3: vif must be a list, e.g. vif = [ '...' ]");
	REJECTS(BASE "disk = [ '/a,,xvda',\n  [ '/b,,xvdb' ] ]\n", "t.cfg:4: disk entries must be strings, not lists");
	REJECTS(BASE "vif = [ [ ] ]\n", "t.cfg:3: vif entries must be strings, not lists");
	REJECTS(BASE "disk = [ '/a,,xvda',\n '/b,,xvda' ]\n", "t.cfg:4: vdev 'xvda' is used by two disks");
	REJECTS(BASE "disk = [ '/a,,xvda',\n '/b,,xvdz,bogus' ]\n",
		"t.cfg:4: disk '/b,,xvdz,bogus': unknown access 'bogus' (ro, r, rw or w)");
	REJECTS(BASE "vif = [ 'mac=00:16:3e:00:00:01', 'mac=00:16:3E:00:00:01' ]\n",
		"t.cfg:3: two vifs have the same mac");
	REJECTS(BASE "vif = [ 'model=e1000,colour=blue' ]\n", "t.cfg:3: vif 'model=e1000,colour=blue': unrecognized option 'colour'");
	REJECTS(BASE "a = 'x' b\n", "t.cfg:3: expected end of line after the value of 'a', found 'b'");
}

static void test_lists(void)
{
	CU_ASSERT_EQUAL_FATAL(parse(BASE "disk = [ '/a.img,,xvda', 'vdev=xvdb,access=ro,target=/b,c' ]\n"
				    "vif = [ 'mac=00:16:3e:00:00:01,rate=1Mb/s', 'bridge=br0' ]\n"), 0);
	CU_ASSERT_EQUAL(cfg.nr_disks, 2);
	CU_ASSERT_STRING_EQUAL(cfg.disks[1].target, "/b,c");
	CU_ASSERT_TRUE(cfg.disks[1].readonly);
	CU_ASSERT_EQUAL(cfg.nr_vifs, 2);
	CU_ASSERT_TRUE(cfg.vifs[0].has_mac);
	CU_ASSERT_EQUAL(cfg.vifs[1].backend, VIF_BACKEND_TAP);
	CU_ASSERT_STRING_EQUAL(warnings,
			       "t.cfg:4: vif 'mac=00:16:3e:00:00:01,rate=1Mb/s': option 'rate' is not supported; ignored\n");
	CU_ASSERT_EQUAL(parse(BASE "disk = [ ]\nvif = []\n"), 0);
	CU_ASSERT_EQUAL(cfg.nr_disks, 0);
	CU_ASSERT_PTR_NULL(cfg.disks);
}

static void test_overrides(void)
{
	char *ov[] = { "memory=512", "extra+=' b'", "disk+=['/b,,xvdb']", "vcpus=2; name='other'" };
	char *bad[] = { "vcpus=2", "memory=" };
	char *bad2[] = { "memory='x'" };

	CU_ASSERT_EQUAL_FATAL(parse_with(BASE "memory = 256\nextra = 'a'\ndisk = ['/a,,xvda']\n", ov, 4), 0);
	CU_ASSERT_EQUAL(cfg.memory_mib, 512);
	CU_ASSERT_STRING_EQUAL(cfg.cmdline, "a b");
	CU_ASSERT_EQUAL(cfg.nr_disks, 2);
	CU_ASSERT_EQUAL(cfg.vcpus, 2);
	CU_ASSERT_STRING_EQUAL(cfg.name, "other");
	CU_ASSERT_EQUAL(parse_with(BASE, bad, 2), -1);
	CU_ASSERT_STRING_EQUAL(err.msg, "<command line>:2: missing value for 'memory'");
	CU_ASSERT_EQUAL(parse_with(BASE, bad2, 1), -1);
	CU_ASSERT_STRING_EQUAL(err.msg, "<command line>:1: memory must be a number (got 'x')");
	/* the file's syntax errors come first */
	CU_ASSERT_EQUAL(parse_with("name = \n", ov, 1), -1);
	CU_ASSERT_STRING_EQUAL(err.msg, "t.cfg:1: missing value for 'name'");
}

static void test_load(void)
{
	char path[] = "/tmp/test_domain_config.XXXXXX";
	const char *text = BASE "memory = 300\n";
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	domain_config_free(&cfg);
	CU_ASSERT_EQUAL(domain_config_load(path, NULL, 0, &cfg, &err, collect_warning), 0);
	CU_ASSERT_STRING_EQUAL(cfg.path, path);
	CU_ASSERT_EQUAL(cfg.memory_mib, 300);
	domain_config_free(&cfg);
	unlink(path);

	CU_ASSERT_EQUAL(domain_config_load("/nonexistent/x.cfg", NULL, 0, &cfg, &err, NULL), -1);
	CU_ASSERT_STRING_EQUAL(err.msg, "/nonexistent/x.cfg: No such file or directory");
	CU_ASSERT_EQUAL(domain_config_load("/tmp", NULL, 0, &cfg, &err, NULL), -1);
	CU_ASSERT_STRING_EQUAL(err.msg, "/tmp: not a regular file");
	CU_ASSERT_PTR_NULL(cfg.name);
}

/* --- disk specs -------------------------------------------------------------------- */

struct disk_case {
	const char *spec;
	const char *target, *vdev, *format;   /* target "-" = NULL */
	bool ro, cdrom;
};

static void test_disk_ok(void)
{
	static const struct disk_case cases[] = {
		{ "/dev/vg/guest-volume,,hda", "/dev/vg/guest-volume", "hda", "raw", false, false },
		{ "/dev/vg/guest-volume,raw,hda,rw", "/dev/vg/guest-volume", "hda", "raw", false, false },
		{ "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume", "/dev/vg/guest-volume", "hda", "raw", false, false },
		{ "raw:/dev/vg/guest-volume,hda,w", "/dev/vg/guest-volume", "hda", "raw", false, false },
		{ "/root/image.iso,,hdc,cdrom", "/root/image.iso", "hdc", "raw", true, true },
		{ "/root/image.iso,,hdc,,cdrom", "/root/image.iso", "hdc", "raw", true, true },
		{ "/root/image.iso,raw,hdc,devtype=cdrom", "/root/image.iso", "hdc", "raw", true, true },
		{ "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso", "/root/image.iso", "hdc", "raw", true, true },
		{ "raw:/root/image.iso,hdc:cdrom,ro", "/root/image.iso", "hdc", "raw", true, true },
		{ ",hdc:cdrom,r", "-", "hdc", "empty", true, true },
		{ "vdev=hdc,devtype=cdrom", "-", "hdc", "empty", true, true },
		{ "phy:/dev/sdb,xvdb,r", "/dev/sdb", "xvdb", "raw", true, false },
		{ "tap:aio:/x.img,xvda,w", "/x.img", "xvda", "raw", false, false },
		{ "tap2:tapdisk:aio:/x.img,xvda,w", "/x.img", "xvda", "raw", false, false },
		{ "qcow2:/x.q,xvda,w", "/x.q", "xvda", "qcow2", false, false },
		{ "/x.q,qcow,xvda", "/x.q", "xvda", "qcow", false, false },
		{ "/x.q,qed,xvda", "/x.q", "xvda", "qed", false, false },
		{ "/x:y,,xvda", "/x:y", "xvda", "raw", false, false },
		{ "/x,,xvda,ro,access=rw", "/x", "xvda", "raw", false, false },
		{ "/x,,xvda,devtype=disk", "/x", "xvda", "raw", false, false },
		{ "vdev=xvda,target=/a,b,", "/a,b", "xvda", "raw", false, false },  /* one trailing ',' dropped */
		{ ",,xvda,,target=/late", "/late", "xvda", "raw", false, false },   /* an empty target may be replaced */
		{ "/x,,d0p1", "/x", "d0p1", "raw", false, false },
		{ "/x,,sdaa", "/x", "sdaa", "raw", false, false },
		{ "/x,,xvda1", "/x", "xvda1", "raw", false, false },
		{ "/x,,xvda,trusted,untrusted,discard,no-discard,grant_usage=1", "/x", "xvda", "raw", false, false },
		{ "/x,,xvda,backend=0", "/x", "xvda", "raw", false, false },
		{ "/x,,xvda,specification=xen", "/x", "xvda", "raw", false, false },
		{ "/x ,,xvda", "/x ", "xvda", "raw", false, false },  /* xl keeps trailing blanks */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct disk_case *c = &cases[i];
		struct disk_spec d;
		int rc = disk_spec_parse(c->spec, &d, &err);

		CU_ASSERT_EQUAL(rc, 0);
		if (rc) {
			fprintf(stderr, "disk case %zu '%s': %s\n", i, c->spec, err.msg);
			continue;
		}
		if (!strcmp(c->target, "-")) {
			CU_ASSERT_PTR_NULL(d.target);
		} else {
			CU_ASSERT_STRING_EQUAL(d.target, c->target);
		}
		CU_ASSERT_STRING_EQUAL(d.vdev, c->vdev);
		CU_ASSERT_STRING_EQUAL(d.format, c->format);
		CU_ASSERT_EQUAL(d.readonly, c->ro);
		CU_ASSERT_EQUAL(d.cdrom, c->cdrom);
		disk_spec_free(&d);
	}
}

static void test_disk_fields(void)
{
	struct disk_spec d;

	CU_ASSERT_EQUAL_FATAL(disk_spec_parse("/x,,xvda,direct-io-safe,backendtype=qdisk,script=block-foo", &d, &err), 0);
	CU_ASSERT_TRUE(d.direct_io);
	CU_ASSERT_STRING_EQUAL(d.backendtype, "qdisk");
	CU_ASSERT_STRING_EQUAL(d.script, "block-foo");
	disk_spec_free(&d);
	CU_ASSERT_EQUAL_FATAL(disk_spec_parse("iscsi:iqn.x:y,xvda,w", &d, &err), 0);
	CU_ASSERT_STRING_EQUAL(d.target, "iqn.x:y");
	CU_ASSERT_STRING_EQUAL(d.script, "block-iscsi");
	disk_spec_free(&d);
	CU_ASSERT_PTR_NULL(d.vdev);                 /* free leaves it reset */
}

static void test_disk_ide_position(void)
{
	static const struct { const char *spec; int pos; } cases[] = {
		{ "/x,,xvda", 0 }, { "/x,,hda", 0 }, { "/x,,sda", 0 }, { "/x,,xvdb", 1 },
		{ "/x,,hdc:cdrom,r", 2 }, { "/x,,sdd", 3 }, { "/x,,xvde", -1 }, { "/x,,xvda1", -1 },
		{ "/x,,xvdaa", -1 }, { "/x,,d0p1", -1 }, { "/x,,hdz", -1 },
	};
	struct disk_spec d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(disk_spec_parse(cases[i].spec, &d, &err), 0);
		CU_ASSERT_EQUAL(disk_spec_ide_position(&d), cases[i].pos);
		disk_spec_free(&d);
	}
}

static void test_disk_errors(void)
{
	static const char *const cases[][2] = {
		{ "/dev/sda,hda,w", "disk '/dev/sda,hda,w': unknown format 'hda' (raw, qcow, qcow2, vhd, qed or empty)" },
		{ "/x,raw,xvda,rw,extra", "disk '/x,raw,xvda,rw,extra': too many positional parameters at 'extra'" },
		{ "xvda", "disk 'xvda': no vdev specified" },
		{ "vdev=xvda", "disk 'vdev=xvda': no target specified (only a cdrom may be empty)" },
		{ ",,xvda", "disk ',,xvda': no target specified (only a cdrom may be empty)" },
		{ "foo=bar,/x,,xvda", "disk 'foo=bar,/x,,xvda': unknown parameter 'foo'" },
		{ "/a=b,,xvda", "disk '/a=b,,xvda': unknown parameter '/a'" },
		{ "format=qcow2,format=raw,/x,,xvda", "disk 'format=qcow2,format=raw,/x,,xvda': format specified twice" },
		{ "/x,,xvda,vdev=xvdb", "disk '/x,,xvda,vdev=xvdb': vdev specified twice" },
		{ "/x,,xvda,devtype=floppy", "disk '/x,,xvda,devtype=floppy': unknown devtype 'floppy' (cdrom or disk)" },
		{ "/x,,xvda,access=rx", "disk '/x,,xvda,access=rx': unknown access 'rx' (ro, r, rw or w)" },
		{ "/x,vmdk,xvda", "disk '/x,vmdk,xvda': unknown format 'vmdk' (raw, qcow, qcow2, vhd, qed or empty)" },
		{ "foo:/x,xvda,w", "disk 'foo:/x,xvda,w': unknown deprecated prefix 'foo:'" },
		{ ",hdc:floppy,r", "disk ',hdc:floppy,r': unknown device type 'floppy' after ':' (cdrom or disk)" },
		{ "/x,,vda", "disk '/x,,vda': invalid vdev 'vda' (xvdX, hdX, sdX or dN)" },
		{ "/x,,xvd", "disk '/x,,xvd': invalid vdev 'xvd' (xvdX, hdX, sdX or dN)" },
		{ "/x,,xvda,backendtype=nbd", "disk '/x,,xvda,backendtype=nbd': unknown backendtype 'nbd' (phy, qdisk, standalone or tap)" },
		{ "/x,,xvda,backend=drv", "disk '/x,,xvda,backend=drv': backend=drv: driver domains are not supported" },
		{ "/x,,xvda,specification=virtio", "disk '/x,,xvda,specification=virtio': specification=virtio is not supported (only xen)" },
		{ "/x,,xvda,colo", "disk '/x,,xvda,colo': colo: COLO is not supported" },
		{ "/x,,xvda,colo-host=h", "disk '/x,,xvda,colo-host=h': colo-host: COLO is not supported" },
		{ "/x,,xvda,grant_usage=2", "disk '/x,,xvda,grant_usage=2': unknown grant_usage '2' (0 or 1)" },
		{ "/x,empty,xvda", "disk '/x,empty,xvda': format 'empty' is only for cdroms" },
		{ "", "disk '': no vdev specified" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct disk_spec d;

		CU_ASSERT_EQUAL(disk_spec_parse(cases[i][0], &d, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.msg, cases[i][1]);
		if (strcmp(err.msg, cases[i][1]))
			fprintf(stderr, "disk error case %zu: got '%s'\n", i, err.msg);
		CU_ASSERT_PTR_NULL(d.target);       /* freed on failure */
		CU_ASSERT_PTR_NULL(d.vdev);
	}
}

/* --- vif specs ------------------------------------------------------------------- */

static void test_vif_ok(void)
{
	struct vif_spec v;

	CU_ASSERT_EQUAL_FATAL(vif_spec_parse("", &v, &err), 0);
	CU_ASSERT_FALSE(v.has_mac);
	CU_ASSERT_EQUAL(v.backend, VIF_BACKEND_USER);
	CU_ASSERT_EQUAL(v.nr_hostfwd, 0);
	vif_spec_free(&v);

	CU_ASSERT_EQUAL_FATAL(vif_spec_parse(" mac=00:16:3E:74:3d:76 , model=e1000,,vifname=g0,script=s,ip=10.0.0.2 ",
					     &v, &err), 0);
	CU_ASSERT_TRUE(v.has_mac);
	CU_ASSERT_EQUAL(v.mac[0], 0x00);
	CU_ASSERT_EQUAL(v.mac[2], 0x3e);
	CU_ASSERT_EQUAL(v.mac[5], 0x76);
	CU_ASSERT_STRING_EQUAL(v.model, "e1000");
	CU_ASSERT_STRING_EQUAL(v.ifname, "g0");
	CU_ASSERT_STRING_EQUAL(v.script, "s");
	CU_ASSERT_STRING_EQUAL(v.ip, "10.0.0.2");
	vif_spec_free(&v);

	CU_ASSERT_EQUAL_FATAL(vif_spec_parse("bridge=xenbr0", &v, &err), 0);
	CU_ASSERT_EQUAL(v.backend, VIF_BACKEND_TAP);
	CU_ASSERT_STRING_EQUAL(v.bridge, "xenbr0");
	vif_spec_free(&v);
	CU_ASSERT_EQUAL_FATAL(vif_spec_parse("backend=tap,bridge=br1,type=vif", &v, &err), 0);
	CU_ASSERT_EQUAL(v.backend, VIF_BACKEND_TAP);
	vif_spec_free(&v);
	CU_ASSERT_EQUAL_FATAL(vif_spec_parse("backend=tap", &v, &err), 0);
	CU_ASSERT_EQUAL(v.backend, VIF_BACKEND_TAP);
	CU_ASSERT_PTR_NULL(v.bridge);
	vif_spec_free(&v);
	CU_ASSERT_EQUAL_FATAL(vif_spec_parse("mac=2:0:0:0:0:1,backend=Domain-0,trusted", &v, &err), 0);
	CU_ASSERT_EQUAL(v.mac[0], 2);
	CU_ASSERT_EQUAL(v.backend, VIF_BACKEND_USER);
	vif_spec_free(&v);

	CU_ASSERT_EQUAL_FATAL(vif_spec_parse("hostfwd=tcp::2222-:22;udp:127.0.0.1:5353-10.0.2.15:53;;::80-:8080",
					     &v, &err), 0);
	CU_ASSERT_EQUAL_FATAL(v.nr_hostfwd, 3);
	CU_ASSERT_FALSE(v.hostfwd[0].udp);
	CU_ASSERT_PTR_NULL(v.hostfwd[0].host_addr);
	CU_ASSERT_EQUAL(v.hostfwd[0].host_port, 2222);
	CU_ASSERT_PTR_NULL(v.hostfwd[0].guest_addr);
	CU_ASSERT_EQUAL(v.hostfwd[0].guest_port, 22);
	CU_ASSERT_TRUE(v.hostfwd[1].udp);
	CU_ASSERT_STRING_EQUAL(v.hostfwd[1].host_addr, "127.0.0.1");
	CU_ASSERT_EQUAL(v.hostfwd[1].host_port, 5353);
	CU_ASSERT_STRING_EQUAL(v.hostfwd[1].guest_addr, "10.0.2.15");
	CU_ASSERT_EQUAL(v.hostfwd[1].guest_port, 53);
	CU_ASSERT_EQUAL(v.hostfwd[2].host_port, 80);
	CU_ASSERT_EQUAL(v.hostfwd[2].guest_port, 8080);
	vif_spec_free(&v);
	CU_ASSERT_EQUAL(v.nr_hostfwd, 0);
	CU_ASSERT_PTR_NULL(v.hostfwd);

	/* the same host port for tcp and udp is two different forwards */
	CU_ASSERT_EQUAL(vif_spec_parse("hostfwd=tcp::53-:53;udp::53-:53", &v, &err), 0);
	vif_spec_free(&v);
}

static void test_vif_errors(void)
{
	static const char *const cases[][2] = {
		{ "mac=00:16:3e:zz:00:01", "vif 'mac=00:16:3e:zz:00:01': invalid mac '00:16:3e:zz:00:01' (six hex bytes separated by ':')" },
		{ "mac=00:16:3e:00:00", "vif 'mac=00:16:3e:00:00': invalid mac '00:16:3e:00:00' (six hex bytes separated by ':')" },
		{ "mac=00:16:3e:00:00:01:02", "vif 'mac=00:16:3e:00:00:01:02': invalid mac '00:16:3e:00:00:01:02' (six hex bytes separated by ':')" },
		{ "mac=001:16:3e:00:00:01", "vif 'mac=001:16:3e:00:00:01': invalid mac '001:16:3e:00:00:01' (six hex bytes separated by ':')" },
		{ "mac=01:16:3e:00:00:01", "vif 'mac=01:16:3e:00:00:01': mac 01:16:3e:00:00:01 is a multicast address" },
		{ "bogus", "vif 'bogus': unrecognized option 'bogus'" },
		{ "colour=red", "vif 'colour=red': unrecognized option 'colour'" },
		{ "type=e1000", "vif 'type=e1000': invalid type 'e1000' (vif or ioemu)" },
		{ "bridge=", "vif 'bridge=': empty bridge name" },
		{ "backend=drvdom", "vif 'backend=drvdom': backend=drvdom is not supported (user or tap; driver domains are not supported)" },
		{ "backend=user,bridge=br0", "vif 'backend=user,bridge=br0': bridge= needs backend=tap" },
		{ "bridge=br0,hostfwd=tcp::22-:22", "vif 'bridge=br0,hostfwd=tcp::22-:22': hostfwd= needs backend=user" },
		{ "backend=tap,hostfwd=tcp::22-:22", "vif 'backend=tap,hostfwd=tcp::22-:22': hostfwd= needs backend=user" },
		{ "hostfwd=tcp::2222:22", "vif 'hostfwd=tcp::2222:22': invalid hostfwd rule 'tcp::2222:22' (expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport)" },
		{ "hostfwd=sctp::1-:1", "vif 'hostfwd=sctp::1-:1': invalid hostfwd rule 'sctp::1-:1' (expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport)" },
		{ "hostfwd=tcp::0-:22", "vif 'hostfwd=tcp::0-:22': invalid hostfwd rule 'tcp::0-:22' (expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport)" },
		{ "hostfwd=tcp::65536-:22", "vif 'hostfwd=tcp::65536-:22': invalid hostfwd rule 'tcp::65536-:22' (expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport)" },
		{ "hostfwd=tcp:localhost:22-:22", "vif 'hostfwd=tcp:localhost:22-:22': invalid hostfwd rule 'tcp:localhost:22-:22' (expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport)" },
		{ "hostfwd=tcp::22-10.0.2.300:22", "vif 'hostfwd=tcp::22-10.0.2.300:22': invalid hostfwd rule 'tcp::22-10.0.2.300:22' (expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport)" },
		{ "hostfwd=tcp::22-:", "vif 'hostfwd=tcp::22-:': invalid hostfwd rule 'tcp::22-:' (expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport)" },
		{ "hostfwd=tcp::22-:22;::22-:23", "vif 'hostfwd=tcp::22-:22;::22-:23': hostfwd: host tcp port 22 forwarded twice" },
		{ "colo_checkpoint_host=x", "vif 'colo_checkpoint_host=x': colo_checkpoint_host: COLO is not supported" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vif_spec v;

		CU_ASSERT_EQUAL(vif_spec_parse(cases[i][0], &v, &err), -1);
		CU_ASSERT_STRING_EQUAL(err.msg, cases[i][1]);
		if (strcmp(err.msg, cases[i][1]))
			fprintf(stderr, "vif error case %zu: got '%s'\n", i, err.msg);
		CU_ASSERT_PTR_NULL(v.hostfwd);
		CU_ASSERT_PTR_NULL(v.bridge);
	}
}

static void test_vif_limits(void)
{
	char spec[64 * 24 + 16];
	struct vif_spec v;
	size_t n = 0;

	n += (size_t)snprintf(spec + n, sizeof(spec) - n, "hostfwd=");
	for (int i = 1; i <= 65; i++)
		n += (size_t)snprintf(spec + n, sizeof(spec) - n, "tcp::%d-:22;", 1000 + i);
	CU_ASSERT_FATAL(n < sizeof(spec));
	CU_ASSERT_EQUAL(vif_spec_parse(spec, &v, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "more than 64 hostfwd rules"));
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("domain_config", NULL, NULL);
	CU_add_test(s, "defaults", test_defaults);
	CU_add_test(s, "keys", test_keys);
	CU_add_test(s, "cmdline", test_cmdline);
	CU_add_test(s, "type", test_type);
	CU_add_test(s, "firmware_override", test_firmware_override);
	CU_add_test(s, "warnings", test_warnings);
	CU_add_test(s, "firmware boot", test_firmware_boot);
	CU_add_test(s, "errors", test_errors);
	CU_add_test(s, "lists", test_lists);
	CU_add_test(s, "overrides", test_overrides);
	CU_add_test(s, "load", test_load);
	CU_add_test(s, "disk_ok", test_disk_ok);
	CU_add_test(s, "disk_fields", test_disk_fields);
	CU_add_test(s, "disk_errors", test_disk_errors);
	CU_add_test(s, "disk_ide_position", test_disk_ide_position);
	CU_add_test(s, "vif_ok", test_vif_ok);
	CU_add_test(s, "vif_errors", test_vif_errors);
	CU_add_test(s, "vif_limits", test_vif_limits);
	int failed = cunit_run(CU_BRM_NORMAL);
	domain_config_free(&cfg);
	return failed;
}
