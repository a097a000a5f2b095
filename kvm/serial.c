#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenkvm/log.h"
#include "xenkvm/serial.h"
#include "xenkvm/state_stream.h"
#include "xenkvm/vm.h"
#include "xenkvm/thread_role.h"

/* Register offsets and bits, from the 16550A data sheet. */
#define UART_RBR_THR 0
#define UART_IER     1
#define UART_IIR_FCR 2
#define UART_LCR     3
#define UART_MCR     4
#define UART_LSR     5
#define UART_MSR     6
#define UART_SCR     7

#define IER_RDI   0x01
#define IER_THRI  0x02
#define IIR_NO_INT 0x01
#define IIR_THRI  0x02
#define IIR_RDI   0x04
#define IIR_FIFO  0xc0
#define FCR_FIFO_EN 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB  0x80
#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT1  0x04
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80

#define RX_FIFO 16

struct serial {
	pthread_mutex_t lock;
	pthread_cond_t rx_space;
	struct vm *vm;
	unsigned int irq;
	int in_fd, out_fd;
	pthread_t reader;
	bool reader_started;
	bool stop;
	void (*set_irq)(void *opaque, int level);
	void *irq_opaque;
	void (*escape)(void *opaque);
	void *escape_opaque;

	uint8_t ier, iir_thri_pending, fcr, lcr, mcr, scr, dll, dlm;
	uint64_t transmitted;
	uint8_t rx[RX_FIFO];
	unsigned int rx_head, rx_count;
	int irq_level;
};

static void serial_vm_set_irq(void *opaque, int level)
{
	struct serial *s = opaque;

	vm_set_irq(s->vm, s->irq, level);
}

/* Called with the lock held after any state change. */
static void serial_update_irq(struct serial *s)
{
	bool pending = ((s->ier & IER_RDI) && s->rx_count) ||
		       ((s->ier & IER_THRI) && s->iir_thri_pending);
	/* OUT2 gates the interrupt line on PC serial ports. */
	int level = pending && (s->mcr & MCR_OUT2);

	if (level != s->irq_level) {
		s->irq_level = level;
		s->set_irq(s->irq_opaque, level);
	}
}

static uint8_t serial_iir(struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_FIFO_EN) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->iir_thri_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

static void serial_push_rx(struct serial *s, uint8_t b)
{
	if (s->rx_count == RX_FIFO)
		return;  /* overrun: dropped, as the hardware would */
	s->rx[(s->rx_head + s->rx_count) % RX_FIFO] = b;
	s->rx_count++;
}

static void serial_transmit(struct serial *s, uint8_t b)
{
	if (s->mcr & MCR_LOOP) {
		serial_push_rx(s, b);
		return;
	}
	if (!s->transmitted++)
		pr_debug("serial: first byte from the guest");
	if (s->out_fd >= 0) {
		/* Console output is best effort: a closed terminal must not stop the guest. */
		while (write(s->out_fd, &b, 1) < 0 && errno == EINTR)
			;
	}
}

static uint8_t serial_read_reg(struct serial *s, unsigned int reg)
{
	uint8_t v = 0;

	switch (reg) {
	case UART_RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % RX_FIFO;
			s->rx_count--;
			pthread_cond_signal(&s->rx_space);
		}
		return v;
	case UART_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR_FCR:
		v = serial_iir(s);
		/* Reading IIR while it reports THRE acknowledges that interrupt. */
		if ((v & 0x0f) == IIR_THRI)
			s->iir_thri_pending = 0;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		/* We transmit instantly, so the transmitter is always empty. */
		return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
	case UART_MSR:
		if (s->mcr & MCR_LOOP)
			/* Loopback wires the modem outputs back to the inputs: 8250 probing checks this. */
			return (uint8_t)(((s->mcr & MCR_RTS) ? MSR_CTS : 0) | ((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
					 ((s->mcr & MCR_OUT1) ? MSR_RI : 0) | ((s->mcr & MCR_OUT2) ? MSR_DCD : 0));
		return MSR_DCD | MSR_DSR | MSR_CTS;
	case UART_SCR:
		return s->scr;
	}
	return 0xff;
}

static void serial_write_reg(struct serial *s, unsigned int reg, uint8_t v)
{
	switch (reg) {
	case UART_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return;
		}
		serial_transmit(s, v);
		s->iir_thri_pending = 1;
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return;
		}
		/* Enabling THRI with an empty transmitter raises it at once. */
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->iir_thri_pending = 1;
		s->ier = v & 0x0f;
		break;
	case UART_IIR_FCR:
		if (v & FCR_CLEAR_RX) {
			s->rx_count = 0;
			pthread_cond_signal(&s->rx_space);
		}
		s->fcr = v & (FCR_FIFO_EN | 0xc0);
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		break;
	}
}

void serial_io(void *opaque, uint64_t offset, void *data, unsigned int len, int is_write)
{
	struct serial *s = opaque;
	uint8_t *p = data;

	/* Wider accesses act on consecutive registers, as on the ISA bus. */
	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < len; i++) {
		unsigned int reg = (unsigned int)(offset + i) & 7;

		if (is_write)
			serial_write_reg(s, reg, p[i]);
		else
			p[i] = serial_read_reg(s, reg);
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_pio(void *opaque, uint64_t offset, void *data, unsigned int len, bool is_write)
{
	serial_io(opaque, offset, data, len, is_write);
}

int serial_receive(struct serial *s, uint8_t byte)
{
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (s->rx_count == RX_FIFO) {
		rc = -EAGAIN;
	} else {
		serial_push_rx(s, byte);
		serial_update_irq(s);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void *serial_reader(void *arg)
{
	struct serial *s = arg;
	uint8_t buf[64];

	pthread_setname_np(pthread_self(), "serial-in");
	thread_role_enter(THREAD_SERIAL_IN);
	for (;;) {
		ssize_t n = read(s->in_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;   /* EOF: the guest simply gets no more input */
		for (ssize_t i = 0; i < n; i++) {
			if (s->escape && buf[i] == SERIAL_ESCAPE_CHAR) {
				s->escape(s->escape_opaque);
				return NULL;
			}
			pthread_mutex_lock(&s->lock);
			/* Typing faster than the guest reads waits here, instead of overrunning. */
			while (s->rx_count == RX_FIFO && !s->stop)
				pthread_cond_wait(&s->rx_space, &s->lock);
			if (s->stop) {
				pthread_mutex_unlock(&s->lock);
				return NULL;
			}
			serial_push_rx(s, buf[i]);
			serial_update_irq(s);
			pthread_mutex_unlock(&s->lock);
		}
	}
	return NULL;
}

static struct serial *serial_alloc(int in_fd, int out_fd)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->rx_space, NULL);
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->dll = 12;   /* 9600 baud, what firmware leaves behind */
	s->lcr = 0x03;
	return s;
}

struct serial *serial_new_detached(int out_fd, void (*set_irq)(void *opaque, int level), void *opaque)
{
	struct serial *s = serial_alloc(-1, out_fd);

	if (s) {
		s->set_irq = set_irq;
		s->irq_opaque = opaque;
	}
	return s;
}

int serial_create(struct vm *vm, uint16_t base, unsigned int irq, int in_fd, int out_fd,
		  struct serial **serial_r)
{
	struct serial *s = serial_alloc(in_fd, out_fd);
	int rc;

	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->irq = irq;
	s->set_irq = serial_vm_set_irq;
	s->irq_opaque = s;
	rc = io_bus_register(&vm->pio, base, 8, serial_pio, s, "serial");
	if (rc) {
		free(s);
		return rc;
	}
	*serial_r = s;
	return 0;
}

void serial_set_escape(struct serial *s, void (*escape)(void *opaque), void *opaque)
{
	s->escape = escape;
	s->escape_opaque = opaque;
}

int serial_start(struct serial *s)
{
	int rc;

	if (s->in_fd < 0)
		return 0;
	rc = pthread_create(&s->reader, NULL, serial_reader, s);
	if (rc)
		return -rc;
	s->reader_started = true;
	return 0;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	if (s->reader_started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_broadcast(&s->rx_space);
		pthread_mutex_unlock(&s->lock);
		/* The reader may sit in read() on a terminal: cancel is the only way out. */
		pthread_cancel(s->reader);
		pthread_join(s->reader, NULL);
	}
	free(s);
}

/* ---- the state stream ---------------------------------------------------- */

void serial_state_save(struct serial *s, struct state_writer *w)
{
	pthread_mutex_lock(&s->lock);
	state_section_begin(w, SERIAL_STATE_ID, SERIAL_STATE_VERSION);
	state_put_u8(w, s->ier);
	state_put_u8(w, s->iir_thri_pending);
	state_put_u8(w, s->fcr);
	state_put_u8(w, s->lcr);
	state_put_u8(w, s->mcr);
	state_put_u8(w, s->scr);
	state_put_u8(w, s->dll);
	state_put_u8(w, s->dlm);
	state_put_u8(w, (uint8_t)s->rx_count);
	for (unsigned int i = 0; i < s->rx_count; i++)
		state_put_u8(w, s->rx[(s->rx_head + i) % RX_FIFO]);
	pthread_mutex_unlock(&s->lock);
	state_section_end(w);
}

static int serial_state_load(void *opaque, struct state_section *sec)
{
	struct serial *s = opaque;
	uint8_t ier, thri, fcr, lcr, mcr, scr, dll, dlm, n, rx[RX_FIFO];

	state_get_u8(sec, &ier);
	state_get_u8(sec, &thri);
	state_get_u8(sec, &fcr);
	state_get_u8(sec, &lcr);
	state_get_u8(sec, &mcr);
	state_get_u8(sec, &scr);
	state_get_u8(sec, &dll);
	state_get_u8(sec, &dlm);
	state_get_u8(sec, &n);
	if (!state_section_failed(sec) && (n > RX_FIFO || thri > 1 || ier & 0xf0))
		state_section_fail(sec, EINVAL, "UART state out of range (FIFO %u, THRI %u, IER %#x)", n,
				   thri, ier);
	if (!state_section_failed(sec))
		state_get_bytes(sec, rx, n);
	if (state_section_failed(sec))
		return -EBADMSG;
	pthread_mutex_lock(&s->lock);
	s->ier = ier;
	s->iir_thri_pending = thri;
	s->fcr = fcr;
	s->lcr = lcr;
	s->mcr = mcr;
	s->scr = scr;
	s->dll = dll;
	s->dlm = dlm;
	memcpy(s->rx, rx, n);
	s->rx_head = 0;
	s->rx_count = n;
	/* the line as the saved UART drove it; the fresh one has it low */
	s->irq_level = 0;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void serial_state_handler(struct serial *s, struct state_handler *h)
{
	*h = (struct state_handler){ SERIAL_STATE_ID, SERIAL_STATE_VERSION, "vm-serial", true,
				     serial_state_load, s };
}
