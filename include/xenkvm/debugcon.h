/*
 * The firmware's debug output ports: 0x402, QEMU's debugcon, where SeaBIOS
 * logs when it runs on QEMU/KVM (it reads 0xe9 back there to know the port
 * is present), and 0xe9, where it logs when it runs on Xen.  Complete lines
 * go to xenkvmd's log (debug level, "firmware: ...") and to the caller's
 * callback, which is how xenkvmd notices "No bootable device".
 */
#ifndef XENKVM_DEBUGCON_H
#define XENKVM_DEBUGCON_H

#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/io_bus.h"

#define DEBUGCON_QEMU_PORT  0x402
#define DEBUGCON_XEN_PORT   0xe9
#define DEBUGCON_READBACK   0xe9
#define DEBUGCON_LINE_MAX   160

typedef void debugcon_line_fn(void *opaque, const char *line);

struct debugcon;

/* `fn` (may be NULL) sees each line without its end-of-line characters;
 * longer lines come in DEBUGCON_LINE_MAX-byte pieces. */
struct debugcon *debugcon_new(debugcon_line_fn *fn, void *opaque);
void debugcon_free(struct debugcon *d);
/* An io_handler_fn for either port. */
void debugcon_io(void *opaque, uint64_t offset, void *data, unsigned int len, bool is_write);
/* Claims both ports.  0 or -errno. */
int debugcon_attach(struct debugcon *d, struct io_bus *pio);

#endif
