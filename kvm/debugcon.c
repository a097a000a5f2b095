#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/debugcon.h"
#include "xenkvm/log.h"

struct debugcon {
	pthread_mutex_t lock;
	debugcon_line_fn *fn;
	void *opaque;
	char line[DEBUGCON_LINE_MAX + 1];
	size_t len;
};

struct debugcon *debugcon_new(debugcon_line_fn *fn, void *opaque)
{
	struct debugcon *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	d->fn = fn;
	d->opaque = opaque;
	return d;
}

void debugcon_free(struct debugcon *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static void debugcon_flush(struct debugcon *d)
{
	d->line[d->len] = 0;
	d->len = 0;
	/* A whole SeaBIOS boot is a few hundred lines; a guest looping on the
	 * port gets no more than that per window. */
	pr_ratelimited_burst(LOG_DEBUG, 500, "firmware: %s", d->line);
	if (d->fn)
		d->fn(d->opaque, d->line);
}

void debugcon_io(void *opaque, uint64_t offset, void *data, unsigned int len, bool is_write)
{
	struct debugcon *d = opaque;
	const uint8_t *p = data;

	if (!is_write) {
		memset(data, 0, len);
		*(uint8_t *)data = DEBUGCON_READBACK;
		return;
	}
	pthread_mutex_lock(&d->lock);
	for (unsigned int i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (c == '\n') {
			debugcon_flush(d);
			continue;
		}
		if (c == '\r' || c == 0)
			continue;
		/* Control bytes would garble the log; show them as '?'. */
		d->line[d->len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
		if (d->len == DEBUGCON_LINE_MAX)
			debugcon_flush(d);
	}
	pthread_mutex_unlock(&d->lock);
}

int debugcon_attach(struct debugcon *d, struct io_bus *pio)
{
	int rc = io_bus_register(pio, DEBUGCON_QEMU_PORT, 1, debugcon_io, d, "debugcon");

	if (!rc)
		rc = io_bus_register(pio, DEBUGCON_XEN_PORT, 1, debugcon_io, d, "debugcon-xen");
	return rc;
}
