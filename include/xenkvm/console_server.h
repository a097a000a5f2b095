/*
 * A detached domain's serial console on a unix socket (xenkvmd
 * --console=PATH).  The serial device reads and writes two pipes; the
 * server relays them to at most one client at a time (the newest
 * connection wins and the previous one is closed), replays the last
 * CONSOLE_REPLAY_MAX bytes of output to a client when it connects, and
 * drains the guest's output when nobody is attached so the guest never
 * waits for a reader.  Bytes are passed through unchanged in both
 * directions; the client handles its terminal and its detach key.
 */
#ifndef XENKVM_CONSOLE_SERVER_H
#define XENKVM_CONSOLE_SERVER_H

#include <stddef.h>

#define CONSOLE_REPLAY_MAX 16384

struct event_loop;
struct console_server;

/* Binds `path` (replacing a stale socket; mode 0600) and serves it from loop. */
int console_server_start(struct event_loop *loop, const char *path, struct console_server **srv_r);
/*
 * The fds for struct machine_config: the guest's input comes from *in_fd_r
 * (blocking, read by the serial-in thread), its output goes to *out_fd_r
 * (non-blocking: when the relay falls 64 KiB behind, output is dropped
 * rather than stalling a vCPU).  The server owns both.
 */
void console_server_fds(const struct console_server *srv, int *in_fd_r, int *out_fd_r);
/*
 * Closes the client, the pipes and unlinks the socket.  Call after the
 * machine is destroyed (the serial device must be done with the fds) and
 * after event_loop_stop() or from the loop's thread.
 */
void console_server_free(struct console_server *srv);
/* For tests: is a client attached, and bytes of guest output dropped. */
int console_server_attached(const struct console_server *srv);
size_t console_server_dropped(const struct console_server *srv);

#endif
