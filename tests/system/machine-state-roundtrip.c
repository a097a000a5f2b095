/*
 * machine-state-roundtrip: a whole machine (kvm/machine.c, no Xen) saved
 * and loaded with machine_state_save()/machine_state_handlers().
 *
 * The test guest (tests/guest tg64.bzImage with tgcount=1) prints
 * "XENKVM-TG count N" lines on COM1 for ever.  Mid-run the machine is
 * paused, saved to memory and destroyed; a fresh machine built from the
 * same config (which loads the kernel again) loads the stream and runs
 * on.  The two consoles' output, joined, must hold one "start" line and
 * every count from 1 on exactly once, in order (a line cut by the save is
 * finished by the restored guest).
 *
 * usage: machine-state-roundtrip TG64_BZIMAGE [COUNT]   (default 200 lines
 * before the save and again after it).  exit 0 all checks passed, 1 not,
 * 2 usage or the machine could not be built.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenkvm/log.h"
#include "xenkvm/machine.h"
#include "xenkvm/state_stream.h"
#include "xenkvm/vm.h"
#include "xenkvm/vm_state.h"

static int passed, failed;
#define CHECK(cond, ...) do { if (cond) { passed++; printf("  ok   "); } \
		else { failed++; printf("  FAIL "); } printf(__VA_ARGS__); putchar('\n'); } while (0)

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char out[1 << 22];
static size_t out_len;

static void *drain(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		pthread_mutex_lock(&out_lock);
		if (out_len + (size_t)n < sizeof(out)) {
			memcpy(out + out_len, buf, (size_t)n);
			out_len += (size_t)n;
			out[out_len] = '\0';
		}
		pthread_mutex_unlock(&out_lock);
	}
	return NULL;
}

/* The highest "count N" seen so far. */
static unsigned long last_count(void)
{
	unsigned long last = 0;
	const char *p;

	pthread_mutex_lock(&out_lock);
	for (p = out; (p = strstr(p, "XENKVM-TG count ")); p++) {
		unsigned long n = strtoul(p + 16, NULL, 10);

		if (strchr(p, '\n') && n > last)
			last = n;
	}
	pthread_mutex_unlock(&out_lock);
	return last;
}

static bool wait_count(unsigned long target)
{
	for (int t = 0; t < 12000; t++) {
		if (last_count() >= target)
			return true;
		usleep(10000);
	}
	return false;
}

static void *run_thread(void *arg)
{
	machine_run(arg);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long count = argc > 2 ? strtoul(argv[2], NULL, 10) : 200, at_save, n, want, bad = 0;
	struct machine_config cfg = {
		.memory_mib = 64, .vcpus = 2, .cmdline = "tgcount=1", .console_in_fd = -1,
	};
	struct state_handler h[MACHINE_STATE_NR_HANDLERS];
	struct vm_state_load ctx;
	struct machine *m = calloc(1, sizeof(*m));
	struct state_writer *w;
	struct state_reader *r;
	pthread_t tr, tm;
	const uint8_t *s;
	size_t len;
	char why[256] = "";
	const char *p;
	int fds[2], rc, starts = 0;

	if (argc < 2 || !count || !m) {
		fprintf(stderr, "usage: machine-state-roundtrip TG64_BZIMAGE [COUNT]\n");
		return 2;
	}
	log_set_level(LOG_WARN);
	cfg.kernel = argv[1];
	if (pipe(fds))
		return 2;
	cfg.console_out_fd = fds[1];
	pthread_create(&tr, NULL, drain, (void *)(intptr_t)fds[0]);

	if (machine_create(m, &cfg)) {
		fprintf(stderr, "machine-state-roundtrip: cannot build the machine\n");
		return 2;
	}
	CHECK(machine_state_unsupported(m, why, sizeof(why)) == 0, "the machine can be saved%s%s",
	      why[0] ? ": " : "", why);
	pthread_create(&tm, NULL, run_thread, m);
	CHECK(wait_count(count), "the guest counted to %lu", count);
	CHECK(vm_pause_sync(&m->vm) == 0, "every vCPU parked");
	w = state_writer_new_mem("roundtrip");
	rc = machine_state_save(m, w);
	if (!rc)
		rc = state_writer_finish(w);
	CHECK(rc == 0, "saved the paused machine%s%s", rc ? ": " : "", rc ? state_writer_error(w) : "");
	at_save = last_count();
	vm_request_stop(&m->vm, VM_EXIT_KILLED, "saved");
	pthread_join(tm, NULL);
	machine_destroy(m);
	usleep(100000);
	CHECK(last_count() == at_save, "nothing printed after the pause (last count %lu)", at_save);
	if (rc)
		return 1;

	if (machine_create(m, &cfg)) {
		fprintf(stderr, "machine-state-roundtrip: cannot build the second machine\n");
		return 2;
	}
	s = state_writer_mem(w, &len);
	printf("  (stream: %zu bytes for %llu MiB of RAM)\n", len, (unsigned long long)cfg.memory_mib);
	r = state_reader_new_mem(s, len);
	machine_state_handlers(m, &ctx, h);
	rc = state_reader_header(r);
	if (!rc)
		rc = state_load(r, h, MACHINE_STATE_NR_HANDLERS);
	if (rc)
		snprintf(why, sizeof(why), "%s", state_reader_error(r));
	else
		rc = vm_state_load_finish(&ctx, why, sizeof(why));
	CHECK(rc == 0, "the fresh machine loaded the stream%s%s", rc ? ": " : "", rc ? why : "");
	state_reader_free(r);
	if (rc)
		return 1;
	pthread_create(&tm, NULL, run_thread, m);
	CHECK(wait_count(at_save + count), "the restored guest counted on to %lu", at_save + count);
	vm_request_stop(&m->vm, VM_EXIT_KILLED, "done");
	pthread_join(tm, NULL);
	machine_destroy(m);
	close(fds[1]);
	pthread_join(tr, NULL);

	/* Every line: one start, then count 1, 2, ... with nothing else. */
	want = 1;
	for (p = out; *p; ) {
		const char *e = strchr(p, '\n');

		if (!e)
			break;
		if (!strncmp(p, "XENKVM-TG start", 15))
			starts++;
		else if (!strncmp(p, "XENKVM-TG count ", 16) && (n = strtoul(p + 16, NULL, 10)) == want)
			want++;
		else if (!bad++)
			printf("  first bad line (wanted count %lu): %.*s\n", want, (int)(e - p), p);
		p = e + 1;
	}
	CHECK(starts == 1, "the guest started once (%d start lines: a restore is no reboot)", starts);
	CHECK(!bad && want > at_save + count,
	      "counts 1..%lu each once, in order, across the restore at %lu (%lu bad lines)", want - 1,
	      at_save, bad);
	state_writer_free(w);
	free(m);
	printf("machine-state-roundtrip: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
