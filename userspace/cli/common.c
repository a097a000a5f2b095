/* Helpers every verb uses: messages, the run directory, control requests. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	const struct cli_verb *v = cli_verb_find(verb);
	va_list ap;

	fprintf(stderr, "xenkvm %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (v)
		fprintf(stderr, "Usage: xenkvm %s\n", v->usage);
	return CLI_USAGE;
}

int cli_fail(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xenkvm %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_FAIL;
}

bool cli_want_help(const char *verb, int argc, char **argv, int *rc_r)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			cli_print_help(cli_verb_find(verb));
			*rc_r = CLI_OK;
			return true;
		}
	}
	return false;
}

int cli_rundir_open(const char *verb, struct rundir *rd)
{
	char base[sizeof(rd->base)];
	int rc = rundir_default_base(base, sizeof(base));

	rd->why[0] = 0;
	if (!rc)
		rc = rundir_open(base, rd);
	if (rc) {
		if (rd->why[0])
			fprintf(stderr, "xenkvm %s: refusing the run directory %s: %s\n", verb, base,
				rd->why);
		else
			fprintf(stderr, "xenkvm %s: run directory %s: %s%s\n", verb, base,
				strerror(-rc),
				rc == -EACCES ? " (run as root, or set XDG_RUNTIME_DIR)" : "");
		return rc;
	}
	return 0;
}

int cli_find_domain(const char *verb, struct rundir *rd, const char *arg, struct rundir_entry *e)
{
	int rc = rundir_find(rd, arg, e);

	if (rc == -ENOENT)
		fprintf(stderr, "%s is an invalid domain identifier (no such domain)\n", arg);
	else if (rc)
		fprintf(stderr, "xenkvm %s: cannot read the run directory %s: %s\n", verb, rd->base,
			strerror(-rc));
	return rc;
}

static const char *transport_hint(int rc)
{
	switch (rc) {
	case -ENOENT:
	case -ECONNREFUSED:
		return "the daemon is not listening (still starting, or stopping)";
	case -ETIMEDOUT:
		return "the daemon did not answer in time";
	case -ECONNRESET:
		return "the daemon closed the connection";
	default:
		return strerror(-rc);
	}
}

int cli_control(const char *verb, const struct rundir *rd, const struct rundir_entry *e,
		enum control_op op, const char *arg, int timeout_ms, struct control_reply *rep)
{
	struct control_request req = { .version = CONTROL_PROTOCOL_VERSION, .op = op };

	if (arg)
		snprintf(req.arg, sizeof(req.arg), "%s", arg);
	/* shutdown's argument is its reason, carried in its own field */
	if (op == CONTROL_OP_SHUTDOWN && arg && !strcmp(arg, "reboot"))
		req.reason = CONTROL_SHUTDOWN_REBOOT;
	return cli_control_req(verb, rd, e, &req, timeout_ms, rep);
}

int cli_control_req(const char *verb, const struct rundir *rd, const struct rundir_entry *e,
		    const struct control_request *req, int timeout_ms, struct control_reply *rep)
{
	char path[sizeof(rd->base) + 32], err[CONTROL_TEXT_MAX];
	int rc;

	memset(rep, 0, sizeof(*rep));
	rc = rundir_path(rd, e->domid, "control.sock", path, sizeof(path));
	if (rc)
		return rc;
	rc = control_call(path, req, timeout_ms, rep, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "xenkvm %s: domain %s (id %d): %s%s%s\n", verb, e->name, e->domid,
			transport_hint(rc), err[0] ? ": " : "", err);
		return rc;
	}
	if (rep->error) {
		fprintf(stderr, "xenkvm %s: domain %s (id %d): %s\n", verb, e->name, e->domid,
			rep->message);
		rc = rep->error;
		control_reply_free(rep);
	}
	return rc;
}

int cli_wait_gone(const struct rundir *rd, int domid, int timeout_ms)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int waited = 0;

	while (rundir_alive(rd, domid)) {
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
		waited += 50;
	}
	return 0;
}

void cli_print_tail(const char *path, unsigned int lines)
{
	FILE *f = fopen(path, "r");
	char **ring, *line = NULL;
	size_t cap = 0, n = 0;
	unsigned int i;

	if (!f) {
		fprintf(stderr, "  (no log at %s: %s)\n", path, strerror(errno));
		return;
	}
	ring = calloc(lines, sizeof(*ring));
	if (!ring) {
		fclose(f);
		return;
	}
	while (getline(&line, &cap, f) >= 0) {
		free(ring[n % lines]);
		ring[n % lines] = strdup(line);
		n++;
	}
	for (i = 0; i < lines && i < n; i++) {
		const char *l = ring[(n > lines ? n - lines + i : i) % lines];

		if (l)
			fprintf(stderr, "  | %s%s", l, l[0] && l[strlen(l) - 1] == '\n' ? "" : "\n");
	}
	if (!n)
		fprintf(stderr, "  (the log %s is empty)\n", path);
	for (i = 0; i < lines; i++)
		free(ring[i]);
	free(ring);
	free(line);
	fclose(f);
}

int cli_daemon_path(char *buf, size_t len)
{
	const char *env = getenv("XENKVM_DAEMON");
	char self[PATH_MAX];
	ssize_t n;

	if (env && env[0]) {
		if ((size_t)snprintf(buf, len, "%s", env) >= len)
			return -ENAMETOOLONG;
		return 0;
	}
	/* xenkvmd is installed next to us. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		if ((size_t)snprintf(buf, len, "%s/xenkvmd", dirname(self)) < len && !access(buf, X_OK))
			return 0;
	}
	if ((size_t)snprintf(buf, len, "xenkvmd") >= len)
		return -ENAMETOOLONG;
	return 0;
}
