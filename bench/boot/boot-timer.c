/*
 * boot-timer: runs a VMM command and timestamps, from the moment it is
 * started, the first appearance of MARKER in its console output and its
 * exit.  One long-lived process does all the timing, because spawning a
 * process per line costs ~100 ms inside the nested host.
 *
 * usage: boot-timer MARKER CMD [ARG...]
 * prints: marker_s=<seconds|-1> exit_s=<seconds> status=<exit status>
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *marker;
	size_t mlen, keep = 0;
	char buf[8192 + 256];
	double t0, t_marker = -1;
	int p[2], status;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: boot-timer MARKER CMD [ARG...]\n");
		return 2;
	}
	marker = argv[1];
	mlen = strlen(marker);
	if (!mlen || mlen > 255 || pipe(p) < 0)
		return 2;
	t0 = now();
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], buf + keep, sizeof(buf) - keep - 1);

		if (n <= 0)
			break;
		if (getenv("BOOT_TIMER_ECHO"))
			fwrite(buf + keep, 1, (size_t)n, stderr);
		buf[keep + (size_t)n] = 0;
		if (t_marker < 0 && memmem(buf, keep + (size_t)n, marker, mlen))
			t_marker = now() - t0;
		/* Keep a tail so a marker split across reads is still found. */
		keep += (size_t)n;
		if (keep >= mlen) {
			memmove(buf, buf + keep - (mlen - 1), mlen - 1);
			keep = mlen - 1;
		}
	}
	waitpid(pid, &status, 0);
	printf("marker_s=%.3f exit_s=%.3f status=%d\n", t_marker, now() - t0,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
