/* XenStore helpers for domain-0 backends (see include/xenkvm/xenbus_backend.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/xenbus_backend.h"
#include "xenkvm/xenstore.h"

int xenbus_be_write(struct xs_client *xs, const char *dir, const char *key, const char *fmt, ...)
{
	char path[192], val[256];
	va_list ap;
	int n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key) >= sizeof(path))
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(val))
		return -EINVAL;
	return xs_store_write(xs, 0, path, val, (size_t)n);
}

int xenbus_be_read(struct xs_client *xs, const char *dir, const char *key, char *buf, size_t size)
{
	struct xs_buf b = { 0 };
	char path[192];
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key) >= sizeof(path))
		return -ENAMETOOLONG;
	rc = xs_store_read(xs, 0, path, &b);
	if (!rc) {
		if (b.len >= size || memchr(b.data, '\0', b.len)) {
			rc = -EINVAL;
		} else {
			memcpy(buf, b.data, b.len);
			buf[b.len] = '\0';
		}
	}
	xs_buf_free(&b);
	return rc;
}

int xenbus_be_read_uint(struct xs_client *xs, const char *dir, const char *key, unsigned long *v_r)
{
	char buf[32], *end;
	int rc = xenbus_be_read(xs, dir, key, buf, sizeof(buf));

	if (rc)
		return rc;
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	*v_r = strtoul(buf, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}
