/*
 * XenStore access for the backends living in xenkvmd (blkback, netback),
 * which use the store as domain 0: `dir/key` paths, values read into
 * fixed buffers (a value that does not fit, or holds a NUL, is -EINVAL:
 * frontends write these nodes, so they are guest input).
 */
#ifndef XENKVM_XENBUS_BACKEND_H
#define XENKVM_XENBUS_BACKEND_H

#include <stddef.h>

struct xs_client;

int xenbus_be_write(struct xs_client *xs, const char *dir, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* NUL-terminated into buf; -ENOENT when absent. */
int xenbus_be_read(struct xs_client *xs, const char *dir, const char *key, char *buf, size_t size);
/* Strict unsigned decimal (no sign, no spaces, no trailing bytes); -ENOENT when absent. */
int xenbus_be_read_uint(struct xs_client *xs, const char *dir, const char *key, unsigned long *v_r);

#endif
