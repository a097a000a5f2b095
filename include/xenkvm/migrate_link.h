/*
 * The migration handshake (docs/SAVE-FORMAT.md, "Migration"): after the
 * state stream, the receiver answers with one line, and the sender with
 * one more, so that the guest never runs on both hosts and never on none
 * while the sender can still resume it:
 *
 *   sender   -> receiver   the state stream, up to its end section
 *   receiver -> sender     "XENKVM-MIGRATE-READY\n"  (the domain is loaded,
 *                           paused, ready to run)  or
 *                          "XENKVM-MIGRATE-ERROR <reason>\n"
 *   sender   -> receiver   "GO\n" or "GO PAUSED\n"  (the sender has given the
 *                           domain up; PAUSED: it was paused there, so it
 *                           stays paused here)
 *
 * Lines are at most MIGRATE_LINE_MAX bytes, newline included; they are
 * read a byte at a time so nothing after the line is consumed.  Used by
 * xenkvmd (sender) and `xenkvm migrate-receive`.
 */
#ifndef XENKVM_MIGRATE_LINK_H
#define XENKVM_MIGRATE_LINK_H

#include <stdbool.h>
#include <stddef.h>

#define MIGRATE_READY       "XENKVM-MIGRATE-READY"
#define MIGRATE_ERROR       "XENKVM-MIGRATE-ERROR"
#define MIGRATE_GO          "GO"
#define MIGRATE_GO_PAUSED   "GO PAUSED"
#define MIGRATE_LINE_MAX    512

/* One line without its newline into buf (NUL-terminated).  Its length,
 * or -ETIMEDOUT (timeout_ms < 0: none), -ECONNRESET (EOF first),
 * -EMSGSIZE (no newline within MIGRATE_LINE_MAX), -EPROTO (a NUL or a
 * control byte in it), -errno. */
int migrate_read_line(int fd, char *buf, size_t size, int timeout_ms);
/* Writes `line` and a newline, all of it.  0 or -errno. */
int migrate_write_line(int fd, const char *line);
/* "XENKVM-MIGRATE-ERROR reason" with the reason cut to fit and made
 * printable.  0 or -errno. */
int migrate_write_error(int fd, const char *reason);

/*
 * The sender waits for the receiver's answer.  0 on READY; else -errno
 * and why says it for the user: the receiver's own reason, "closed the
 * connection before confirming", "did not confirm within N s", or what
 * else came.
 */
int migrate_await_ready(int fd, int timeout_ms, char *why, size_t size);
/* The receiver waits for GO (*paused_r false) or GO PAUSED (true).  0, or
 * -errno with why. */
int migrate_await_go(int fd, int timeout_ms, bool *paused_r, char *why, size_t size);

#endif
