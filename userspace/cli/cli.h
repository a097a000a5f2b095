/*
 * The xenkvm CLI's internals: verbs (one function each, in the table in
 * userspace/xenkvm.c) and the helpers they share.  Exit codes follow xl:
 * 0 success, 1 failure, 2 bad usage.
 */
#ifndef XENKVM_CLI_H
#define XENKVM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "xenkvm/control.h"
#include "xenkvm/rundir.h"

#define CLI_OK    0
#define CLI_FAIL  1
#define CLI_USAGE 2

/* The account root's domains run as by default when it exists (create.c). */
#define CLI_DEFAULT_USER "xenkvm"

struct cli_verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;     /* after "xenkvm " */
	const char *summary;   /* one line, for `xenkvm help` */
	const char *help;      /* options and details, for `xenkvm help VERB` */
};

const struct cli_verb *cli_verb_find(const char *name);

/* Prints "xenkvm VERB: message" and the verb's usage; returns CLI_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "xenkvm VERB: message"; returns CLI_FAIL. */
int cli_fail(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Handles -h/--help as the only argument: prints help, sets *rc_r; true if handled. */
bool cli_want_help(const char *verb, int argc, char **argv, int *rc_r);
void cli_print_help(const struct cli_verb *v);

/* Opens the run directory ($XDG_RUNTIME_DIR/xenkvm or /run/xenkvm). */
int cli_rundir_open(const char *verb, struct rundir *rd);
/* Resolves DOMAIN (name or domid) among live domains; prints xl's message on failure. */
int cli_find_domain(const char *verb, struct rundir *rd, const char *arg, struct rundir_entry *e);
/* One control request to a domain; prints a message and returns -errno on any failure. */
int cli_control(const char *verb, const struct rundir *rd, const struct rundir_entry *e,
		enum control_op op, const char *arg, int timeout_ms, struct control_reply *rep);
/* The same with a request built by the caller (ops with more than a string). */
int cli_control_req(const char *verb, const struct rundir *rd, const struct rundir_entry *e,
		    const struct control_request *req, int timeout_ms, struct control_reply *rep);
/* Waits until the domain's daemon is gone; 0, or -ETIMEDOUT (timeout_ms < 0: forever). */
int cli_wait_gone(const struct rundir *rd, int domid, int timeout_ms);
/* Prints the last `lines` lines of a file, indented, to stderr. */
void cli_print_tail(const char *path, unsigned int lines);
/* The xenkvmd next to this binary, or $XENKVM_DAEMON. */
int cli_daemon_path(char *buf, size_t len);

/* Verbs */
int cli_create(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_destroy(int argc, char **argv);
int cli_shutdown(int argc, char **argv);
int cli_reboot(int argc, char **argv);
int cli_pause(int argc, char **argv);
int cli_mem_set(int argc, char **argv);
int cli_sysrq(int argc, char **argv);
int cli_trigger(int argc, char **argv);
int cli_save(int argc, char **argv);
int cli_restore(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_migrate_receive(int argc, char **argv);
int cli_unpause(int argc, char **argv);
int cli_vcpu_list(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_block_attach(int argc, char **argv);
int cli_block_detach(int argc, char **argv);
int cli_block_list(int argc, char **argv);
int cli_network_attach(int argc, char **argv);
int cli_network_detach(int argc, char **argv);
int cli_network_list(int argc, char **argv);
int cli_console(int argc, char **argv);
int cli_xenstore_ls(int argc, char **argv);
int cli_xenstore_read(int argc, char **argv);
int cli_xenstore_write(int argc, char **argv);
int cli_xenstore_rm(int argc, char **argv);
int cli_xenstore_watch(int argc, char **argv);

/*
 * xenkvm migrate-receive's restore (create.c): a daemon started with
 * --restore on a pipe, paused.  The caller read the stream's header and
 * config section (cs) through a reader that copies what it reads to the
 * pipe; once the daemon runs, relay(ctx) feeds it the rest and closes the
 * pipe (0, or -1 if the stream broke: the daemon then refuses it).
 * CLI_OK when the domain is loaded and paused (entry names it), else
 * CLI_FAIL (printed; why holds the daemon's own reason if it gave one).
 */
struct config_state;
struct cli_stream_restore {
	const struct config_state *cs;
	int daemon_fd;           /* the pipe's read end: closed once the daemon has it */
	int (*relay)(void *ctx);
	void *ctx;
	bool verbose;
	const char *user;        /* -u, as for create; NULL: its default */
	struct rundir_entry entry;
	char why[512];
};
int cli_restore_stream(struct cli_stream_restore *s);

/* The console client, shared by `console` and `create -c`. */
int cli_console_attach(const char *verb, const struct rundir *rd, const struct rundir_entry *e,
		       bool pv);

/* The KVM probe (kvm/kvm_probe.c), cached in the run directory `rd` (may be
 * NULL: no cache), and create's warning when the host is too slow for guests. */
struct kvm_probe;
void cli_kvm_probe(const struct rundir *rd, struct kvm_probe *p);
void cli_kvm_warn_slow(const struct kvm_probe *p, FILE *f);

#endif
