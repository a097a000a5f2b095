#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "xenkvm/clock.h"
#include "xenkvm/log.h"

static int log_domid = -1;
static enum log_level log_level = LOG_INFO;
static unsigned int log_trace_mask;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t log_t0_ns;
static log_sink_fn *log_sink;

static const struct { const char *name; enum log_trace bit; } trace_names[] = {
	{ "hcall", TRACE_HCALL }, { "evtchn", TRACE_EVTCHN }, { "xs", TRACE_XS },
	{ "io", TRACE_IO }, { "blk", TRACE_BLK }, { "net", TRACE_NET }, { "exit", TRACE_EXIT },
};

void log_set_domid(int domid) { log_domid = domid; }
void log_set_sink(log_sink_fn *fn) { __atomic_store_n(&log_sink, fn, __ATOMIC_RELEASE); }
void log_set_level(enum log_level level)
{
	log_level = level;
	if (level == LOG_DEBUG && !log_t0_ns)
		pr_debug("debug log: times are seconds since this line");
}
enum log_level log_get_level(void) { return log_level; }
bool log_tracing(enum log_trace cat) { return (log_trace_mask & cat) != 0; }

int log_set_trace(const char *spec)
{
	unsigned int mask = log_trace_mask;
	const char *p = spec;

	while (*p) {
		bool on = true;
		size_t len, i;

		if (*p == '+' || *p == '-')
			on = *p++ == '+';
		len = strcspn(p, ",");
		for (i = 0; i < sizeof(trace_names) / sizeof(trace_names[0]); i++)
			if (strlen(trace_names[i].name) == len && !strncmp(p, trace_names[i].name, len))
				break;
		if (i == sizeof(trace_names) / sizeof(trace_names[0])) {
			if (len == 3 && !strncmp(p, "all", 3))
				mask = on ? ~0u : 0;
			else
				return -EINVAL;
		} else if (on) {
			mask |= trace_names[i].bit;
		} else {
			mask &= ~trace_names[i].bit;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	log_trace_mask = mask;
	if (mask)
		log_level = LOG_DEBUG;
	return 0;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const tags[] = { "error", "warning", "info", "debug" };
	char buf[1024];
	log_sink_fn *sink;
	int n, msg_off = -1;
	bool cut;

	if (level > log_level)
		return;
	if (level == LOG_DEBUG) {
		/* Debug lines carry time since start: boot phases show up without a profiler. */
		uint64_t now = clock_mono_ns();

		if (!log_t0_ns)
			log_t0_ns = now;
		n = snprintf(buf, sizeof(buf), "[%8.3f] ", (now - log_t0_ns) / 1e9);
	} else {
		n = 0;
	}
	if (log_domid >= 0)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "xenkvm d%d: %s: ", log_domid, tags[level]);
	else
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "xenkvm: %s: ", tags[level]);
	msg_off = n;
	cut = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap) >= (int)sizeof(buf) - n;
	n = (int)strlen(buf);
	/* Every line ends in a newline, a cut one too (marked), so a long
	 * guest string cannot run into the next line. */
	if (cut) {
		memcpy(buf + n - 4, "...\n", 4);
	} else if (buf[n - 1] != '\n') {
		buf[n++] = '\n';
		buf[n] = 0;
	}
	/* One write per line so vCPU threads' messages do not interleave. */
	pthread_mutex_lock(&log_lock);
	fputs(buf, stderr);
	fflush(stderr);
	sink = __atomic_load_n(&log_sink, __ATOMIC_ACQUIRE);
	if (sink && msg_off >= 0 && msg_off < (int)sizeof(buf))
		sink(level, buf + msg_off);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned int burst, unsigned int interval_ms)
{
	uint64_t now = clock_mono_ms();
	unsigned int missed = 0;
	bool ok;

	pthread_mutex_lock(&log_lock);
	if (now - rl->window_start_ms >= interval_ms) {
		missed = rl->missed;
		rl->window_start_ms = now;
		rl->printed = 0;
		rl->missed = 0;
	}
	ok = rl->printed < burst;
	if (ok)
		rl->printed++;
	else
		rl->missed++;
	pthread_mutex_unlock(&log_lock);
	if (missed)
		log_msg(LOG_WARN, "%u similar messages suppressed", missed);
	return ok;
}
