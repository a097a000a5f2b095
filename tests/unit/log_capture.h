/* Captures what lib/log.c writes to stderr, so a test can count lines. */
#ifndef XENKVM_TESTS_LOG_CAPTURE_H
#define XENKVM_TESTS_LOG_CAPTURE_H
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct log_capture {
	FILE *f;
	int saved_fd;
};

/* 0, or -1 if stderr could not be redirected. */
static inline int log_capture_begin(struct log_capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	c->saved_fd = dup(STDERR_FILENO);
	if (!c->f || c->saved_fd < 0 || dup2(fileno(c->f), STDERR_FILENO) < 0)
		return -1;
	return 0;
}

/* Restores stderr; returns the captured text (malloc'd, NUL-terminated). */
static inline char *log_capture_end(struct log_capture *c)
{
	char *text;
	long len;

	fflush(stderr);
	dup2(c->saved_fd, STDERR_FILENO);
	close(c->saved_fd);
	len = ftell(c->f);
	text = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
	rewind(c->f);
	if (text && len > 0 && fread(text, 1, (size_t)len, c->f) != (size_t)len)
		text[0] = 0;
	fclose(c->f);
	return text;
}

static inline unsigned int log_count_lines(const char *text)
{
	unsigned int n = 0;

	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}
#endif
