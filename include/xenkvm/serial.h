/*
 * 8250/16550A UART (COM1): the guest's serial console.  Output goes to a
 * host fd as it is written; input comes from a host fd through a reader
 * thread into a 16-byte receive FIFO, raising the UART's ISA interrupt.
 */
#ifndef XENKVM_SERIAL_H
#define XENKVM_SERIAL_H

#include <stdint.h>

#include "xenkvm/state_stream.h"

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ  4

struct vm;
struct serial;

/* in_fd < 0: no input.  Registers the ports on the VM's PIO bus. */
int serial_create(struct vm *vm, uint16_t base, unsigned int irq, int in_fd, int out_fd,
		  struct serial **serial_r);
#define SERIAL_ESCAPE_CHAR 0x1d   /* Ctrl-], as telnet and xl console use */

/* Input of SERIAL_ESCAPE_CHAR calls `escape` instead of reaching the guest.
 * Set before serial_start(). */
void serial_set_escape(struct serial *s, void (*escape)(void *opaque), void *opaque);
/* Starts the input thread (if any). */
int serial_start(struct serial *s);
void serial_destroy(struct serial *s);

/* For tests and the console escape: feed host bytes as if typed. 0 or -EAGAIN (FIFO full). */
int serial_receive(struct serial *s, uint8_t byte);

/* The state stream (docs/SAVE-FORMAT.md, vm-serial): the registers and
 * the receive FIFO.  Load into a UART created from the same config before
 * the vCPUs run; the interrupt line is raised again if it was. */
#define SERIAL_STATE_ID      (STATE_ID_VMM_BASE + 6)
#define SERIAL_STATE_VERSION 1u
void serial_state_save(struct serial *s, struct state_writer *w);
void serial_state_handler(struct serial *s, struct state_handler *h);

/* The register model without a VM, for unit tests. */
struct serial *serial_new_detached(int out_fd, void (*set_irq)(void *opaque, int level), void *opaque);
void serial_io(void *opaque, uint64_t offset, void *data, unsigned int len, int is_write);

#endif
