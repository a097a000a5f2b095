/* Logging: one place for the "d<domid>:" prefix, levels and rate limiting. */
#ifndef XENKVM_LOG_H
#define XENKVM_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Trace categories, switched on at run time (--trace=+hcall,+xs,...). */
enum log_trace {
	TRACE_HCALL  = 1u << 0,
	TRACE_EVTCHN = 1u << 1,
	TRACE_XS     = 1u << 2,
	TRACE_IO     = 1u << 3,
	TRACE_BLK    = 1u << 4,
	TRACE_NET    = 1u << 5,
	TRACE_EXIT   = 1u << 6,
};

void log_set_domid(int domid);
void log_set_level(enum log_level level);
/* Parses "+hcall,+xs,-io" style lists; returns 0 or -EINVAL naming nothing. */
int log_set_trace(const char *spec);
bool log_tracing(enum log_trace cat);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);
/* A second destination for every line that is printed (the journal,
 * lib/journal.c): `msg` is the message without the "xenkvm dN: level: "
 * prefix.  Called under the log's lock, so it must not log.  NULL: none. */
typedef void log_sink_fn(enum log_level level, const char *msg);
void log_set_sink(log_sink_fn *fn);

/* Per call site: a guest that floods an error path costs us at most
 * `burst` lines per `interval_ms`; the next line after the window says how
 * many were dropped.  Lines above the log level are not counted. */
struct log_ratelimit {
	uint64_t window_start_ms;
	unsigned int printed;
	unsigned int missed;
};
bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned int burst, unsigned int interval_ms);

#define LOG_RL_BURST       10
#define LOG_RL_INTERVAL_MS 5000

#define pr_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) do { if (log_get_level() >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define pr_trace(cat, ...) do { if (log_tracing(cat)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

/* For anything a guest can trigger. */
#define pr_ratelimited_burst(level, burst, ...) do {                     \
	static struct log_ratelimit rl_;                                 \
	if (log_get_level() >= (level) &&                                \
	    log_ratelimit_ok(&rl_, (burst), LOG_RL_INTERVAL_MS))         \
		log_msg(level, __VA_ARGS__);                              \
} while (0)
#define pr_ratelimited(level, ...) pr_ratelimited_burst(level, LOG_RL_BURST, __VA_ARGS__)
#define pr_err_rl(...)   pr_ratelimited(LOG_ERR, __VA_ARGS__)
#define pr_warn_rl(...)  pr_ratelimited(LOG_WARN, __VA_ARGS__)
#define pr_info_rl(...)  pr_ratelimited(LOG_INFO, __VA_ARGS__)
#define pr_debug_rl(...) pr_ratelimited(LOG_DEBUG, __VA_ARGS__)

#endif
