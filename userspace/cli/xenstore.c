/*
 * xenkvm xenstore-*: a small XenStore client speaking the wire protocol
 * (xen/io/xs_wire.h) to the domain's xenstore.sock, as dom0.  Relative
 * paths are made absolute under the domain's home, /local/domain/<domid>,
 * because that is what a user of a per-domain store means by them.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "cli.h"

#define XS_TIMEOUT_MS 10000
#define XS_LS_MAX_DEPTH 64

struct xs_conn {
	int fd;
	uint32_t next_id;
	int domid;
};

struct xs_msg {
	struct xsd_sockmsg hdr;
	char body[XENSTORE_PAYLOAD_MAX + 1];   /* NUL-terminated for convenience */
};

static int xs_errno(const char *name)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (!strcmp(xsd_errors[i].errstring, name))
			return -xsd_errors[i].errnum;
	return -EIO;
}

static int xs_open(const char *verb, const struct rundir *rd, const struct rundir_entry *e, struct xs_conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	c->fd = -1;
	c->next_id = 1;
	c->domid = e->domid;
	if (rundir_path(rd, e->domid, "xenstore.sock", sa.sun_path, sizeof(sa.sun_path)))
		return cli_fail(verb, "run directory path too long");
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		cli_fail(verb, "domain %s (id %d): cannot connect to its XenStore at %s: %s", e->name,
			 e->domid, sa.sun_path, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return CLI_FAIL;
	}
	return 0;
}

static int io_full(int fd, void *buf, size_t len, bool out, int timeout_ms)
{
	char *p = buf;

	while (len) {
		struct pollfd pf = { .fd = fd, .events = out ? POLLOUT : POLLIN };
		ssize_t n;
		int r = poll(&pf, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends type with the parts concatenated (each as given; callers add NULs). */
static int xs_send(struct xs_conn *c, uint32_t type, const char *payload, size_t len, uint32_t *id_r)
{
	struct xsd_sockmsg hdr = { .type = type, .req_id = c->next_id++, .tx_id = 0, .len = (uint32_t)len };
	int rc;

	if (len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	rc = io_full(c->fd, &hdr, sizeof(hdr), true, XS_TIMEOUT_MS);
	if (!rc && len)
		rc = io_full(c->fd, (void *)payload, len, true, XS_TIMEOUT_MS);
	*id_r = hdr.req_id;
	return rc;
}

static int xs_recv(struct xs_conn *c, struct xs_msg *m, int timeout_ms)
{
	int rc = io_full(c->fd, &m->hdr, sizeof(m->hdr), false, timeout_ms);

	if (rc)
		return rc;
	if (m->hdr.len > XENSTORE_PAYLOAD_MAX)
		return -EPROTO;
	rc = io_full(c->fd, m->body, m->hdr.len, false, XS_TIMEOUT_MS);
	m->body[m->hdr.len] = 0;
	return rc;
}

/* One request; watch events that arrive meanwhile are dropped. */
static int xs_call(struct xs_conn *c, uint32_t type, const char *payload, size_t len, struct xs_msg *m)
{
	uint32_t id;
	int rc = xs_send(c, type, payload, len, &id);

	while (!rc) {
		rc = xs_recv(c, m, XS_TIMEOUT_MS);
		if (rc)
			break;
		if (m->hdr.type == XS_WATCH_EVENT)
			continue;
		if (m->hdr.req_id != id)
			return -EPROTO;
		if (m->hdr.type == XS_ERROR)
			return xs_errno(m->body);
		if (m->hdr.type != type)
			return -EPROTO;
		return 0;
	}
	return rc;
}

/* Absolute path for `p`; -ENAMETOOLONG. */
static int xs_abs(const struct xs_conn *c, const char *p, char *out, size_t size)
{
	int n = p[0] == '/' || p[0] == '@' ? snprintf(out, size, "%s", p)
					   : snprintf(out, size, "/local/domain/%d/%s", c->domid, p);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* path + NUL [+ value without NUL] into buf; returns the length or -E2BIG. */
static long build(char *buf, size_t size, const char *path, const char *value, bool value_nul)
{
	size_t pl = strlen(path) + 1, vl = value ? strlen(value) + (value_nul ? 1 : 0) : 0;

	if (pl + vl > size)
		return -E2BIG;
	memcpy(buf, path, pl);
	if (value)
		memcpy(buf + pl, value, vl);
	return (long)(pl + vl);
}

/* Common front: parse DOMAIN, find it, connect.  *first_r: index after DOMAIN. */
static int xs_front(const char *verb, int argc, char **argv, int first, int min_after,
		    struct rundir *rd, struct xs_conn *c)
{
	struct rundir_entry e;

	c->fd = -1;
	if (argc - first < 1 + min_after)
		return cli_usage_error(verb, "'xenkvm %s' requires at least %d argument%s", verb,
				       1 + min_after, min_after ? "s" : "");
	if (argv[first][0] == '-')
		return cli_usage_error(verb, "unknown option '%s'", argv[first]);
	if (cli_rundir_open(verb, rd))
		return CLI_FAIL;
	if (cli_find_domain(verb, rd, argv[first], &e))
		return CLI_FAIL;
	return xs_open(verb, rd, &e, c) ? CLI_FAIL : 0;
}

static void xs_close(struct xs_conn *c, struct rundir *rd)
{
	if (c->fd >= 0)
		close(c->fd);
	rundir_close(rd);
}

/* xenstore-read and xenstore-rm: one request per PATH argument, stopping at
 * the first that fails; `print` writes each reply's value on its own line. */
static int xs_each_path(const char *verb, enum xsd_sockmsg_type op, const char *failed,
			bool print, int argc, char **argv)
{
	struct rundir rd = { .lock_fd = -1 };
	struct xs_conn c;
	struct xs_msg *m = malloc(sizeof(*m));
	char path[XENSTORE_ABS_PATH_MAX + 1], buf[XENSTORE_PAYLOAD_MAX];
	int rc;

	c.fd = -1;
	if (!m)
		return CLI_FAIL;
	if (cli_want_help(verb, argc, argv, &rc) || (rc = xs_front(verb, argc, argv, 1, 1, &rd, &c)))
		goto out;
	for (int i = 2; i < argc; i++) {
		long len;

		if (xs_abs(&c, argv[i], path, sizeof(path)) || (len = build(buf, sizeof(buf), path, NULL, false)) < 0 ||
		    xs_call(&c, op, buf, (size_t)len, m)) {
			fprintf(stderr, "%s: %s %s\n", verb, failed, argv[i]);
			rc = CLI_FAIL;
			break;
		}
		if (print) {
			fwrite(m->body, 1, m->hdr.len, stdout);
			putchar('\n');
		}
	}
out:
	xs_close(&c, &rd);
	free(m);
	return rc;
}

int cli_xenstore_read(int argc, char **argv)
{
	return xs_each_path("xenstore-read", XS_READ, "couldn't read path", true, argc, argv);
}

int cli_xenstore_write(int argc, char **argv)
{
	struct rundir rd = { .lock_fd = -1 };
	struct xs_conn c;
	struct xs_msg *m = malloc(sizeof(*m));
	char path[XENSTORE_ABS_PATH_MAX + 1], buf[XENSTORE_PAYLOAD_MAX];
	int rc;

	c.fd = -1;
	if (!m)
		return CLI_FAIL;
	if (cli_want_help("xenstore-write", argc, argv, &rc))
		goto out;
	if (argc >= 3 && (argc - 2) % 2) {
		rc = cli_usage_error("xenstore-write", "PATH and VALUE come in pairs");
		goto out;
	}
	if ((rc = xs_front("xenstore-write", argc, argv, 1, 2, &rd, &c)))
		goto out;
	for (int i = 2; i + 1 < argc; i += 2) {
		long len;

		if (xs_abs(&c, argv[i], path, sizeof(path)) ||
		    (len = build(buf, sizeof(buf), path, argv[i + 1], false)) < 0 ||
		    xs_call(&c, XS_WRITE, buf, (size_t)len, m)) {
			fprintf(stderr, "xenstore-write: could not write path %s\n", argv[i]);
			rc = CLI_FAIL;
			break;
		}
	}
out:
	xs_close(&c, &rd);
	free(m);
	return rc;
}

int cli_xenstore_rm(int argc, char **argv)
{
	return xs_each_path("xenstore-rm", XS_RM, "could not remove path", false, argc, argv);
}

/* xenstore-ls's escaping: printable ASCII as is, the rest as \t \n \r \\ or \ooo. */
static void print_value(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch == '\\')
			fputs("\\\\", stdout);
		else if (ch == '\t')
			fputs("\\t", stdout);
		else if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\r')
			fputs("\\r", stdout);
		else if (ch < ' ' || ch > '~')
			printf("\\%03o", ch);
		else
			putchar(ch);
	}
}

static int ls_tree(struct xs_conn *c, struct xs_msg *m, const char *path, unsigned int depth, bool full)
{
	char buf[XENSTORE_PAYLOAD_MAX], child[XENSTORE_ABS_PATH_MAX + 1], *names, *p;
	size_t nlen;
	long len;
	int rc;

	if (depth > XS_LS_MAX_DEPTH)
		return -ELOOP;
	len = build(buf, sizeof(buf), path, NULL, false);
	if (len < 0)
		return (int)len;
	rc = xs_call(c, XS_DIRECTORY, buf, (size_t)len, m);
	if (rc)
		return rc;
	/* The listing is consumed while m is reused below: keep a copy. */
	nlen = m->hdr.len;
	names = malloc(nlen + 1);
	if (!names)
		return -ENOMEM;
	memcpy(names, m->body, nlen);
	names[nlen] = 0;
	for (p = names; p < names + nlen; p += strlen(p) + 1) {
		if (!*p)
			continue;
		if ((size_t)snprintf(child, sizeof(child), "%s%s%s", path, strcmp(path, "/") ? "/" : "", p) >=
		    sizeof(child))
			continue;
		len = build(buf, sizeof(buf), child, NULL, false);
		rc = len < 0 ? (int)len : xs_call(c, XS_READ, buf, (size_t)len, m);
		if (full)
			printf("%s = \"", child);
		else
			printf("%*s%s = \"", (int)depth, "", p);
		if (!rc)
			print_value(m->body, m->hdr.len);
		printf("\"\n");
		rc = ls_tree(c, m, child, depth + 1, full);
		if (rc && rc != -ENOENT && rc != -EACCES)
			break;
		rc = 0;
	}
	free(names);
	return rc;
}

int cli_xenstore_ls(int argc, char **argv)
{
	struct rundir rd = { .lock_fd = -1 };
	struct xs_conn c;
	struct xs_msg *m = malloc(sizeof(*m));
	char path[XENSTORE_ABS_PATH_MAX + 1];
	bool full = false;
	int rc, first = 1, err;

	c.fd = -1;
	if (!m)
		return CLI_FAIL;
	if (cli_want_help("xenstore-ls", argc, argv, &rc))
		goto out;
	if (argc > 1 && !strcmp(argv[1], "-f")) {
		full = true;
		first = 2;
	}
	if (argc - first > 2) {
		rc = cli_usage_error("xenstore-ls", "too many arguments");
		goto out;
	}
	if ((rc = xs_front("xenstore-ls", argc, argv, first, 0, &rd, &c)))
		goto out;
	if (xs_abs(&c, first + 1 < argc ? argv[first + 1] : "", path, sizeof(path))) {
		rc = cli_fail("xenstore-ls", "path too long");
		goto out;
	}
	/* The default "" became "/local/domain/N/": drop the trailing slash. */
	if (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = 0;
	err = ls_tree(&c, m, path, 0, full);
	if (err) {
		fprintf(stderr, "xenstore-ls: could not list %s: %s\n", path, strerror(-err));
		rc = CLI_FAIL;
	}
out:
	xs_close(&c, &rd);
	free(m);
	return rc;
}

int cli_xenstore_watch(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rundir rd = { .lock_fd = -1 };
	struct xs_conn c;
	struct xs_msg *m = malloc(sizeof(*m));
	char path[XENSTORE_ABS_PATH_MAX + 1], buf[XENSTORE_PAYLOAD_MAX];
	long count = -1, seen = 0, len;
	uint32_t id;
	char *end;
	int rc, opt;

	c.fd = -1;
	if (!m)
		return CLI_FAIL;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+n:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end || count < 1) {
				rc = cli_usage_error("xenstore-watch", "-n wants a positive count, not '%s'", optarg);
				goto out;
			}
			break;
		case 'h':
			cli_print_help(cli_verb_find("xenstore-watch"));
			rc = CLI_OK;
			goto out;
		default:
			rc = cli_usage_error("xenstore-watch", "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (argc - optind != 2) {
		rc = cli_usage_error("xenstore-watch", "DOMAIN and one PATH are required");
		goto out;
	}
	if ((rc = xs_front("xenstore-watch", argc, argv, optind, 1, &rd, &c)))
		goto out;
	if (xs_abs(&c, argv[optind + 1], path, sizeof(path)) ||
	    (len = build(buf, sizeof(buf), path, "xenkvm-watch", true)) < 0 ||
	    xs_send(&c, XS_WATCH, buf, (size_t)len, &id)) {
		rc = cli_fail("xenstore-watch", "could not watch %s", argv[optind + 1]);
		goto out;
	}
	/* Events may arrive before the WATCH reply; either order is fine. */
	while (count < 0 || seen < count) {
		int err = xs_recv(&c, m, -1);

		if (err) {
			rc = err == -ECONNRESET ? CLI_OK : cli_fail("xenstore-watch", "%s", strerror(-err));
			goto out;
		}
		if (m->hdr.type == XS_ERROR) {
			rc = cli_fail("xenstore-watch", "could not watch %s: %s", path, m->body);
			goto out;
		}
		if (m->hdr.type != XS_WATCH_EVENT)
			continue;
		printf("%s\n", m->body);   /* the path; the token follows its NUL */
		fflush(stdout);
		seen++;
	}
	rc = CLI_OK;
out:
	xs_close(&c, &rd);
	free(m);
	return rc;
}
