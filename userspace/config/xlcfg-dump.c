/*
 * xlcfg-dump: reads an xl.cfg like `xenkvm create` would and prints the
 * result canonically, one field per line, or the "file:line: message" error.
 * Warnings come first, as "warning: file:line: ...".  Used by the golden
 * tests in tests/xlcfg/ and handy when a config does not do what you meant.
 *
 *   xlcfg-dump [--tree] FILE [key=value...]
 *   --tree   print the syntax tree (key = value) instead of the domain config
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/domain_config.h"
#include "xenkvm/xlcfg.h"

static void put_str(const char *s)
{
	struct xlcfg_value v = { .type = XLCFG_STRING, .str = (char *)s };

	if (!s) {
		fputs("(none)", stdout);
		return;
	}
	xlcfg_dump_value(&v, stdout);
}

static void print_warning(const char *msg)
{
	printf("warning: %s\n", msg);
}

static void dump_config(const struct domain_config *c)
{
	printf("path = ");
	put_str(c->path);
	printf("\nname = ");
	put_str(c->name);
	printf("\nuuid = ");
	if (c->has_uuid) {
		for (int i = 0; i < 16; i++)
			printf("%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", c->uuid[i]);
	} else {
		fputs("(none)", stdout);
	}
	printf("\ntype = %s\n", c->type == DOMAIN_TYPE_HVM ? "hvm" : c->type == DOMAIN_TYPE_PVH ? "pvh" : "pv");
	printf("memory = %llu\nmaxmem = %llu\n", (unsigned long long)c->memory_mib,
	       (unsigned long long)c->maxmem_mib);
	printf("vcpus = %u\nmaxvcpus = %u\n", c->vcpus, c->maxvcpus);
	printf("kernel = ");
	put_str(c->kernel);
	printf("\nramdisk = ");
	put_str(c->ramdisk);
	printf("\ncmdline = ");
	put_str(c->cmdline);
	printf("\non_poweroff = %s\non_reboot = %s\non_crash = %s\n",
	       domain_action_name(c->on_poweroff), domain_action_name(c->on_reboot),
	       domain_action_name(c->on_crash));
	printf("serial = ");
	put_str(c->serial);
	printf("\nxen_platform_pci = %d\nxen_version = 0x%x\n", c->xen_platform, c->xen_version);
	if (!c->kernel) {
		/* only for firmware boot, so direct-boot configs read as before */
		printf("firmware = seabios\nboot = ");
		put_str(c->boot ? c->boot : "cd");
		printf("\nbios_path_override = ");
		put_str(c->bios_path);
		putchar('\n');
	}
	for (size_t i = 0; i < c->nr_disks; i++) {
		const struct disk_spec *d = &c->disks[i];

		printf("disk[%zu] = target=", i);
		put_str(d->target);
		printf(" vdev=");
		put_str(d->vdev);
		printf(" format=");
		put_str(d->format);
		printf(" access=%s cdrom=%d direct_io=%d backendtype=", d->readonly ? "ro" : "rw",
		       d->cdrom, d->direct_io);
		put_str(d->backendtype);
		printf(" script=");
		put_str(d->script);
		putchar('\n');
	}
	for (size_t i = 0; i < c->nr_vifs; i++) {
		const struct vif_spec *v = &c->vifs[i];

		printf("vif[%zu] = mac=", i);
		if (v->has_mac)
			printf("%02x:%02x:%02x:%02x:%02x:%02x", v->mac[0], v->mac[1], v->mac[2],
			       v->mac[3], v->mac[4], v->mac[5]);
		else
			fputs("(auto)", stdout);
		printf(" backend=%s bridge=", v->backend == VIF_BACKEND_TAP ? "tap" : "user");
		put_str(v->bridge);
		printf(" vifname=");
		put_str(v->ifname);
		printf(" model=");
		put_str(v->model);
		printf(" script=");
		put_str(v->script);
		printf(" ip=");
		put_str(v->ip);
		putchar('\n');
		for (size_t j = 0; j < v->nr_hostfwd; j++) {
			const struct vif_hostfwd *f = &v->hostfwd[j];

			printf("vif[%zu].hostfwd[%zu] = %s %s:%u -> %s:%u\n", i, j, f->udp ? "udp" : "tcp",
			       f->host_addr ? f->host_addr : "(any)", f->host_port,
			       f->guest_addr ? f->guest_addr : "(guest)", f->guest_port);
		}
	}
}

static int dump_tree(const char *path)
{
	struct xlcfg x;
	char err[512], *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f = fopen(path, "rb");
	int rc = 1;

	if (!f) {
		perror(path);
		return 1;
	}
	for (;;) {
		if (len == cap) {
			char *n = realloc(buf, cap ? cap * 2 : 4096);

			if (!n)
				goto out;
			buf = n;
			cap = cap ? cap * 2 : 4096;
		}
		size_t r = fread(buf + len, 1, cap - len, f);

		if (!r)
			break;
		len += r;
	}
	xlcfg_init(&x);
	if (xlcfg_parse(&x, path, 1, buf, len, err, sizeof(err))) {
		printf("%s\n", err);
	} else {
		xlcfg_dump(&x, stdout);
		rc = 0;
	}
	xlcfg_free(&x);
out:
	free(buf);
	fclose(f);
	return rc;
}

int main(int argc, char **argv)
{
	struct domain_config cfg;
	struct config_error err;
	int a = 1;

	if (argc > 1 && !strcmp(argv[1], "--tree")) {
		if (argc != 3) {
			fprintf(stderr, "usage: %s --tree FILE\n", argv[0]);
			return 2;
		}
		return dump_tree(argv[2]);
	}
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: %s [--tree] FILE [key=value...]\n", argv[0]);
		return 2;
	}
	a = 2;
	if (domain_config_load(argv[1], argv + a, (size_t)(argc - a), &cfg, &err, print_warning)) {
		printf("%s\n", err.msg);
		return 1;
	}
	dump_config(&cfg);
	domain_config_free(&cfg);
	return 0;
}
