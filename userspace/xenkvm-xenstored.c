/*
 * xenkvm-xenstored: the xenkvm XenStore served on a unix socket, standing
 * alone.  For tests and benchmarks with Debian's real libxenstore clients
 * (XENSTORED_PATH=<socket> xenstore-ls ...); the daemon embeds the same
 * store and serves guests' rings too.
 *
 *   xenkvm-xenstored --socket PATH [--domain DOMID[:NAME]]... [--quota NAME=VALUE]...
 *                    [--trace] [--pidfile FILE]
 *
 * Runs until SIGTERM/SIGINT; exits 0 after freeing everything and
 * checking that no node leaked.  Out of descriptors, it stops polling the
 * listener for a moment rather than spin (xs_socket_server_poll);
 * --quota refuses values that would remove a bound.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenkvm/log.h"
#include "xenkvm/xenstore.h"
#include "xenkvm/xs_socket.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: xenkvm-xenstored --socket PATH [--domain DOMID[:NAME]]... "
			"[--quota NAME=VALUE]... [--trace] [--pidfile FILE]\n");
}

static int add_domain(struct xs_store *s, const char *spec)
{
	struct xs_domain_info info = { 0 };
	char name[64], uuid[40];
	char *end;
	unsigned long domid = strtoul(spec, &end, 10);

	if (end == spec || (*end && *end != ':') || !domid || domid >= XS_DOMID_MAX)
		return -EINVAL;
	snprintf(name, sizeof(name), "%s", *end ? end + 1 : "guest");
	snprintf(uuid, sizeof(uuid), "00000000-0000-0000-0000-%012lu", domid);
	info.domid = (unsigned int)domid;
	info.name = name;
	info.uuid = uuid;
	info.max_memkb = info.target_memkb = 512 * 1024;
	info.vcpus = 1;
	info.hvm = true;
	return xs_domain_populate(s, &info);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "domain", required_argument, NULL, 'd' },
		{ "quota", required_argument, NULL, 'q' },
		{ "trace", no_argument, NULL, 't' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct xs_socket_server *srv = NULL;
	struct xs_store *s = NULL;
	const char *path = NULL, *pidfile = NULL;
	char **domains = calloc((size_t)argc, sizeof(char *));
	unsigned int nr_domains = 0, i;
	struct xs_quota q;
	struct sigaction sa;
	int rc = 1, opt;

	xs_quota_default(&q);
	if (!domains)
		return 1;
	while ((opt = getopt_long(argc, argv, "s:d:q:tp:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': path = optarg; break;
		case 'd': domains[nr_domains++] = optarg; break;
		case 'q':
			if (xs_quota_set(&q, optarg)) {
				fprintf(stderr, "xenkvm-xenstored: bad quota '%s' (NAME=N, N > 0)\n",
					optarg);
				goto out;
			}
			break;
		case 't': log_set_trace("+xs"); break;
		case 'p': pidfile = optarg; break;
		default: usage(); goto out;
		}
	}
	if (!path || optind != argc) {
		usage();
		goto out;
	}
	s = xs_store_new(&q);
	if (!s || xs_domain_populate_dom0(s)) {
		pr_err("cannot create the store");
		goto out;
	}
	for (i = 0; i < nr_domains; i++) {
		if (add_domain(s, domains[i])) {
			pr_err("bad --domain '%s'", domains[i]);
			goto out;
		}
	}
	rc = xs_socket_server_new(s, path, 0, &srv);
	if (rc) {
		pr_err("cannot listen on %s: %s", path, strerror(-rc));
		rc = 1;
		goto out;
	}
	rc = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (f) {
			fprintf(f, "%ld\n", (long)getpid());
			fclose(f);
		}
	}
	while (!stop) {
		int prc = xs_socket_server_poll(srv, 500);

		if (prc) {
			pr_err("poll: %s", strerror(-prc));
			goto out;
		}
	}
	rc = 0;
out:
	xs_socket_server_free(srv);
	xs_store_free(s);
	free(domains);
	if (!rc && xs_node_count()) {
		pr_err("%ld nodes leaked", xs_node_count());
		rc = 1;
	}
	return rc;
}
