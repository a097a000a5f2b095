/* Register-level tests of the emulated PC devices, without a VM. */
#include <CUnit/Basic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_run.h"
#include "fake_vm.h"
#include "xenkvm/acpi.h"
#include "xenkvm/acpi_pm.h"
#include "xenkvm/pci.h"
#include "xenkvm/rtc.h"
#include "xenkvm/serial.h"

/* ---- 16550A ------------------------------------------------------------ */
static int irq_level, irq_edges;

static void serial_irq(void *opaque, int level)
{
	(void)opaque;
	if (level && !irq_level)
		irq_edges++;
	irq_level = level;
}

static uint8_t rd(struct serial *s, unsigned int reg)
{
	uint8_t v = 0;

	serial_io(s, reg, &v, 1, 0);
	return v;
}

static void wr(struct serial *s, unsigned int reg, uint8_t v)
{
	serial_io(s, reg, &v, 1, 1);
}

static void test_serial_output_and_thre(void)
{
	int p[2];
	char buf[8] = { 0 };
	struct serial *s;

	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	s = serial_new_detached(p[1], serial_irq, NULL);
	irq_level = irq_edges = 0;
	wr(s, 4, 0x08);                           /* MCR: OUT2 gates the IRQ */
	wr(s, 0, 'h');
	wr(s, 0, 'i');
	CU_ASSERT_EQUAL(read(p[0], buf, sizeof(buf)), 2);
	CU_ASSERT_STRING_EQUAL(buf, "hi");
	CU_ASSERT_EQUAL(rd(s, 5) & 0x60, 0x60);   /* THRE | TEMT */
	CU_ASSERT_EQUAL(irq_level, 0);            /* THRI not enabled yet */
	wr(s, 1, 0x02);                           /* IER.THRI with an empty THR: raised at once */
	CU_ASSERT_EQUAL(irq_level, 1);
	CU_ASSERT_EQUAL(rd(s, 2) & 0x0f, 0x02);   /* IIR says THRE, and reading acks it */
	CU_ASSERT_EQUAL(irq_level, 0);
	CU_ASSERT_EQUAL(rd(s, 2) & 0x0f, 0x01);   /* no interrupt pending */
	wr(s, 0, 'x');                            /* the next transmit re-arms it */
	CU_ASSERT_EQUAL(irq_level, 1);
	wr(s, 4, 0x00);                           /* OUT2 low: line drops */
	CU_ASSERT_EQUAL(irq_level, 0);
	serial_destroy(s);
	close(p[0]);
	close(p[1]);
}

static void test_serial_loopback_probe(void)
{
	struct serial *s = serial_new_detached(-1, serial_irq, NULL);

	/* What Linux's 8250 autoconfig checks before it believes in a UART. */
	wr(s, 4, 0x10 | 0x0a);                    /* LOOP | OUT2 | RTS */
	CU_ASSERT_EQUAL(rd(s, 6) & 0xf0, 0x90);   /* DCD | CTS */
	wr(s, 0, 0x5a);                           /* loopback: THR -> RBR */
	CU_ASSERT(rd(s, 5) & 0x01);
	CU_ASSERT_EQUAL(rd(s, 0), 0x5a);
	wr(s, 7, 0xa5);
	CU_ASSERT_EQUAL(rd(s, 7), 0xa5);          /* scratch */
	wr(s, 3, 0x80);                           /* DLAB */
	wr(s, 0, 0x01);
	wr(s, 1, 0x00);
	CU_ASSERT_EQUAL(rd(s, 0), 0x01);
	wr(s, 3, 0x03);
	wr(s, 2, 0x01);                           /* FIFO on: IIR bits 7:6 say 16550A */
	CU_ASSERT_EQUAL(rd(s, 2) & 0xc0, 0xc0);
	serial_destroy(s);
}

static void test_serial_receive(void)
{
	struct serial *s = serial_new_detached(-1, serial_irq, NULL);
	int accepted = 0;

	irq_level = 0;
	wr(s, 4, 0x08);
	wr(s, 1, 0x01);                           /* IER.RDI */
	for (int i = 0; i < 20; i++)
		if (serial_receive(s, (uint8_t)('a' + i)) == 0)
			accepted++;
	CU_ASSERT_EQUAL(accepted, 16);            /* FIFO depth; the rest is refused, not lost silently */
	CU_ASSERT_EQUAL(irq_level, 1);
	CU_ASSERT_EQUAL(rd(s, 2) & 0x0f, 0x04);
	for (int i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(rd(s, 0), 'a' + i);
	CU_ASSERT_EQUAL(rd(s, 5) & 0x01, 0);
	CU_ASSERT_EQUAL(irq_level, 0);
	serial_destroy(s);
}

/* Loads `w`'s stream with one device's handler: 0 or -errno. */
static int device_load(struct state_writer *w, const struct state_handler *h, char *msg, size_t size)
{
	struct state_reader *r;
	const uint8_t *p;
	size_t len;
	int rc;

	state_writer_finish(w);
	p = state_writer_mem(w, &len);
	r = state_reader_new_mem(p, len);
	rc = state_reader_header(r);
	if (!rc)
		rc = state_load(r, h, 1);
	snprintf(msg, size, "%s", state_reader_error(r));
	state_reader_free(r);
	return rc;
}

static int serial_load(struct state_writer *w, struct serial *s, char *msg, size_t size)
{
	struct state_handler h;

	serial_state_handler(s, &h);
	return device_load(w, &h, msg, size);
}

/* The registers, the divisor and the FIFO survive a save and load, and a
 * pending interrupt is raised again on the fresh UART. */
static void test_serial_state(void)
{
	struct serial *a = serial_new_detached(-1, serial_irq, NULL), *b;
	struct state_writer *w = state_writer_new_mem("t");
	char msg[256];

	wr(a, 3, 0x80);                           /* DLAB: divisor 0x0c01 */
	wr(a, 0, 0x01);
	wr(a, 1, 0x0c);
	wr(a, 3, 0x1b);                           /* 8E1... */
	wr(a, 4, 0x0b);                           /* DTR RTS OUT2 */
	wr(a, 7, 0x5a);
	wr(a, 1, 0x01);                           /* IER.RDI */
	serial_receive(a, 'x');
	serial_receive(a, 'y');
	serial_state_save(a, w);
	serial_destroy(a);

	irq_level = 0;
	b = serial_new_detached(-1, serial_irq, NULL);
	CU_ASSERT_EQUAL(serial_load(w, b, msg, sizeof(msg)), 0);
	state_writer_free(w);
	CU_ASSERT_EQUAL(irq_level, 1);
	CU_ASSERT_EQUAL(rd(b, 3), 0x1b);
	CU_ASSERT_EQUAL(rd(b, 4), 0x0b);
	CU_ASSERT_EQUAL(rd(b, 7), 0x5a);
	CU_ASSERT_EQUAL(rd(b, 1), 0x01);
	CU_ASSERT_EQUAL(rd(b, 0), 'x');
	CU_ASSERT_EQUAL(rd(b, 0), 'y');
	CU_ASSERT_EQUAL(irq_level, 0);
	wr(b, 3, 0x9b);
	CU_ASSERT_EQUAL(rd(b, 0), 0x01);
	CU_ASSERT_EQUAL(rd(b, 1), 0x0c);

	/* a FIFO longer than the UART's is refused, the UART untouched */
	w = state_writer_new_mem("t");
	state_section_begin(w, SERIAL_STATE_ID, 1);
	for (int i = 0; i < 8; i++)
		state_put_u8(w, 0);
	state_put_u8(w, 17);
	for (int i = 0; i < 17; i++)
		state_put_u8(w, 'z');
	state_section_end(w);
	CU_ASSERT_NOT_EQUAL(serial_load(w, b, msg, sizeof(msg)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "out of range"));
	CU_ASSERT_EQUAL(rd(b, 7), 0x5a);
	state_writer_free(w);
	serial_destroy(b);
}

/* ---- RTC --------------------------------------------------------------- */
static time_t fixed_now(void)
{
	return 1795526645;   /* 2026-11-24 13:24:05 UTC, a Tuesday */
}

static uint8_t cmos(struct rtc *r, uint8_t idx)
{
	uint8_t v;

	rtc_io(r, 0, &idx, 1, 1);
	rtc_io(r, 1, &v, 1, 0);
	return v;
}

static void test_rtc(void)
{
	struct rtc *r = rtc_new_detached(fixed_now);
	uint8_t v;

	CU_ASSERT_EQUAL(cmos(r, 0x00), 0x05);     /* BCD */
	CU_ASSERT_EQUAL(cmos(r, 0x02), 0x24);
	CU_ASSERT_EQUAL(cmos(r, 0x04), 0x13);
	CU_ASSERT_EQUAL(cmos(r, 0x06), 0x03);     /* Tuesday = 3 */
	CU_ASSERT_EQUAL(cmos(r, 0x07), 0x24);
	CU_ASSERT_EQUAL(cmos(r, 0x08), 0x11);
	CU_ASSERT_EQUAL(cmos(r, 0x09), 0x26);
	CU_ASSERT_EQUAL(cmos(r, 0x32), 0x20);
	CU_ASSERT_EQUAL(cmos(r, 0x0a) & 0x80, 0); /* never update-in-progress */
	CU_ASSERT_EQUAL(cmos(r, 0x0d), 0x80);
	CU_ASSERT_EQUAL(cmos(r, 0x80 | 0x00), 0x05);  /* bit 7 of the index is the NMI mask */
	v = 0x0b;
	rtc_io(r, 0, &v, 1, 1);
	v = 0x04;                                 /* binary, 12-hour */
	rtc_io(r, 1, &v, 1, 1);
	CU_ASSERT_EQUAL(cmos(r, 0x02), 24);
	CU_ASSERT_EQUAL(cmos(r, 0x04), 0x80 | 1); /* 1 PM */
	v = 0x40;                                 /* CMOS RAM keeps what is written */
	cmos(r, 0x40);
	rtc_io(r, 1, &v, 1, 1);
	CU_ASSERT_EQUAL(cmos(r, 0x40), 0x40);
	rtc_destroy(r);
}

/* CMOS bytes and the selected index survive; the time is the host's. */
static void test_rtc_state(void)
{
	struct rtc *a = rtc_new_detached(fixed_now), *b = rtc_new_detached(fixed_now);
	struct state_writer *w = state_writer_new_mem("t");
	struct state_handler h;
	char msg[256];
	uint8_t v = 0x5c;

	cmos(a, 0x41);
	rtc_io(a, 1, &v, 1, 1);
	v = 0x04;                                 /* binary mode */
	cmos(a, 0x0b);
	rtc_io(a, 1, &v, 1, 1);
	cmos(a, 0x42);                            /* the index the guest left */
	rtc_state_save(a, w);
	rtc_state_handler(b, &h);
	CU_ASSERT_EQUAL(device_load(w, &h, msg, sizeof(msg)), 0);
	state_writer_free(w);
	rtc_io(b, 1, &v, 1, 0);
	CU_ASSERT_EQUAL(v, 0);                    /* reads 0x42 without selecting it */
	CU_ASSERT_EQUAL(cmos(b, 0x41), 0x5c);
	CU_ASSERT_EQUAL(cmos(b, 0x02), 24);       /* binary after the load */
	/* an index past the CMOS is refused */
	w = state_writer_new_mem("t");
	state_section_begin(w, RTC_STATE_ID, 1);
	state_put_u8(w, 0x80);
	for (int i = 0; i < 128; i++)
		state_put_u8(w, 0);
	state_section_end(w);
	CU_ASSERT_NOT_EQUAL(device_load(w, &h, msg, sizeof(msg)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "CMOS index"));
	state_writer_free(w);
	rtc_destroy(a);
	rtc_destroy(b);
}

/* ---- ACPI PM and reset ports --------------------------------------------- */
static int pm_events[2];
static uint64_t pm_ns;

static void pm_event(void *opaque, enum acpi_pm_event ev)
{
	(void)opaque;
	pm_events[ev]++;
}

static uint64_t pm_now(void)
{
	return pm_ns;
}

static void pm_out(struct acpi_pm *pm, uint16_t port, uint32_t v, unsigned int len)
{
	acpi_pm_io(pm, port, &v, len, 1);
}

static uint32_t pm_in(struct acpi_pm *pm, uint16_t port, unsigned int len)
{
	uint32_t v = 0;

	acpi_pm_io(pm, port, &v, len, 0);
	return v;
}

static int sci_level = -1;
static unsigned int sci_changes;

static void pm_sci(void *opaque, bool level)
{
	(void)opaque;
	sci_level = level;
	sci_changes++;
}

/* The fixed power button: status, enable, a level SCI, write-one-to-clear. */
static void test_acpi_power_button(void)
{
	struct acpi_pm *pm = acpi_pm_new_detached(pm_event, NULL, pm_now);

	acpi_pm_set_sci_fn(pm, pm_sci);
	memset(pm_events, 0, sizeof(pm_events));
	sci_level = -1;
	sci_changes = 0;
	/* pressed while the OS has not enabled it: latched, no interrupt */
	acpi_pm_power_button(pm);
	CU_ASSERT(pm_in(pm, ACPI_PM1A_EVT_PORT, 2) & ACPI_PM1_STS_PWRBTN);
	CU_ASSERT_EQUAL(sci_changes, 0);
	/* enabling it raises the SCI for the latched press */
	pm_out(pm, ACPI_PM1A_EVT_PORT + 2, ACPI_PM1_EN_PWRBTN, 2);
	CU_ASSERT_EQUAL(sci_level, 1);
	/* writing zeros clears nothing; writing the bit clears it and the SCI */
	pm_out(pm, ACPI_PM1A_EVT_PORT, 0, 2);
	CU_ASSERT_EQUAL(sci_level, 1);
	pm_out(pm, ACPI_PM1A_EVT_PORT, ACPI_PM1_STS_PWRBTN, 2);
	CU_ASSERT_EQUAL(sci_level, 0);
	CU_ASSERT_FALSE(pm_in(pm, ACPI_PM1A_EVT_PORT, 2) & ACPI_PM1_STS_PWRBTN);
	/* an enabled press interrupts at once, once */
	acpi_pm_power_button(pm);
	acpi_pm_power_button(pm);
	CU_ASSERT_EQUAL(sci_level, 1);
	CU_ASSERT_EQUAL(sci_changes, 3);
	/* a dword write clears status and rewrites enable together */
	pm_out(pm, ACPI_PM1A_EVT_PORT, ACPI_PM1_STS_PWRBTN | (ACPI_PM1_EN_PWRBTN << 16), 4);
	CU_ASSERT_EQUAL(sci_level, 0);
	CU_ASSERT_EQUAL(pm_in(pm, ACPI_PM1A_EVT_PORT + 2, 2), ACPI_PM1_EN_PWRBTN);
	/* disabling hides a pending press from the SCI */
	acpi_pm_power_button(pm);
	pm_out(pm, ACPI_PM1A_EVT_PORT + 2, 0, 2);
	CU_ASSERT_EQUAL(sci_level, 0);
	CU_ASSERT_EQUAL(pm_events[ACPI_PM_POWEROFF] + pm_events[ACPI_PM_RESET], 0);
	acpi_pm_destroy(pm);
}

/* PM1 registers survive; a pending enabled press raises the SCI again. */
static void test_acpi_pm_state(void)
{
	struct acpi_pm *a = acpi_pm_new_detached(pm_event, NULL, pm_now);
	struct acpi_pm *b = acpi_pm_new_detached(pm_event, NULL, pm_now);
	struct state_writer *w = state_writer_new_mem("t");
	struct state_handler h;
	char msg[256];

	acpi_pm_set_sci_fn(b, pm_sci);
	sci_level = -1;
	pm_out(a, ACPI_PM1A_EVT_PORT + 2, ACPI_PM1_EN_PWRBTN, 2);
	acpi_pm_power_button(a);
	pm_out(a, 0x92, 0x02, 1);
	acpi_pm_state_save(a, w);
	acpi_pm_state_handler(b, &h);
	CU_ASSERT_EQUAL(device_load(w, &h, msg, sizeof(msg)), 0);
	state_writer_free(w);
	CU_ASSERT_EQUAL(sci_level, 1);
	CU_ASSERT(pm_in(b, ACPI_PM1A_EVT_PORT, 2) & ACPI_PM1_STS_PWRBTN);
	CU_ASSERT_EQUAL(pm_in(b, ACPI_PM1A_EVT_PORT + 2, 2), ACPI_PM1_EN_PWRBTN);
	CU_ASSERT_EQUAL(pm_in(b, 0x92, 1), 0x02);
	/* a sleep in progress is refused */
	w = state_writer_new_mem("t");
	state_section_begin(w, ACPI_PM_STATE_ID, 1);
	state_put_u16(w, 0);
	state_put_u16(w, 0);
	state_put_u16(w, ACPI_PM1_CNT_SLP_EN);
	state_put_u8(w, 0);
	state_section_end(w);
	CU_ASSERT_NOT_EQUAL(device_load(w, &h, msg, sizeof(msg)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "SLP_EN"));
	state_writer_free(w);
	acpi_pm_destroy(a);
	acpi_pm_destroy(b);
}

static void test_acpi_pm(void)
{
	struct acpi_pm *pm = acpi_pm_new_detached(pm_event, NULL, pm_now);

	memset(pm_events, 0, sizeof(pm_events));
	CU_ASSERT(pm_in(pm, ACPI_PM1A_CNT_PORT, 2) & ACPI_PM1_CNT_SCI_EN);
	/* S1 request (SLP_TYP 1) is not offered: nothing happens */
	pm_out(pm, ACPI_PM1A_CNT_PORT, (1u << 10) | ACPI_PM1_CNT_SLP_EN, 2);
	CU_ASSERT_EQUAL(pm_events[ACPI_PM_POWEROFF], 0);
	/* SLP_TYP = S5 without SLP_EN: nothing either */
	pm_out(pm, ACPI_PM1A_CNT_PORT, ACPI_S5_SLP_TYP << 10, 2);
	CU_ASSERT_EQUAL(pm_events[ACPI_PM_POWEROFF], 0);
	pm_out(pm, ACPI_PM1A_CNT_PORT, (ACPI_S5_SLP_TYP << 10) | ACPI_PM1_CNT_SLP_EN, 2);
	CU_ASSERT_EQUAL(pm_events[ACPI_PM_POWEROFF], 1);

	pm_out(pm, ACPI_RESET_PORT, ACPI_RESET_VALUE, 1);
	CU_ASSERT_EQUAL(pm_events[ACPI_PM_RESET], 1);
	pm_out(pm, ACPI_RESET_PORT, 0x02, 1);     /* no reset bit */
	pm_out(pm, 0x64, 0xd1, 1);                /* other i8042 commands */
	CU_ASSERT_EQUAL(pm_events[ACPI_PM_RESET], 1);
	pm_out(pm, 0x64, 0xfe, 1);
	CU_ASSERT_EQUAL(pm_events[ACPI_PM_RESET], 2);
	pm_out(pm, 0x92, 0x01, 1);
	CU_ASSERT_EQUAL(pm_events[ACPI_PM_RESET], 3);

	pm_out(pm, ACPI_PM1A_EVT_PORT + 2, ACPI_PM1_EN_PWRBTN, 2);
	CU_ASSERT_EQUAL(pm_in(pm, ACPI_PM1A_EVT_PORT + 2, 2), ACPI_PM1_EN_PWRBTN);

	pm_ns = 1000000000ull;                    /* 1 s = 3579545 ticks */
	CU_ASSERT_EQUAL(pm_in(pm, ACPI_PM_TMR_PORT, 4), 3579545u & ACPI_PM_TMR_MASK);
	pm_ns = 10ull * 1000000000ull;            /* wraps at 24 bits */
	CU_ASSERT_EQUAL(pm_in(pm, ACPI_PM_TMR_PORT, 4), (35795450u) & ACPI_PM_TMR_MASK);
	acpi_pm_destroy(pm);
}

/* ---- PCI configuration mechanism #1 ---------------------------------------- */
static uint32_t cfg_read(struct pci_bus *bus, unsigned int slot, unsigned int off, unsigned int len)
{
	uint32_t addr = 0x80000000u | (slot << 11) | (off & 0xfc), v = 0;

	pci_config_io(bus, 0xcf8, &addr, 4, true);
	pci_config_io(bus, 0xcfc + (off & 3), &v, len, false);
	return v;
}

static void cfg_write(struct pci_bus *bus, unsigned int slot, unsigned int off, uint32_t v, unsigned int len)
{
	uint32_t addr = 0x80000000u | (slot << 11) | (off & 0xfc);

	pci_config_io(bus, 0xcf8, &addr, 4, true);
	pci_config_io(bus, 0xcfc + (off & 3), &v, len, true);
}

static void test_pci(void)
{
	struct pci_bus *bus = pci_bus_new_detached();
	struct pci_device dev = {
		.name = "t", .vendor_id = 0x5853, .device_id = 0x0001, .class_code = 0xff8000,
		.irq_pin = 1,
		.bars = { [0] = { .size = 0x100, .io = true }, [1] = { .size = 0x1000000, .prefetchable = true } },
	};
	uint32_t addr = 0;

	CU_ASSERT_EQUAL(cfg_read(bus, 0, 0, 4), 0x12378086u);     /* host bridge */
	CU_ASSERT_EQUAL(cfg_read(bus, 0, 0x0b, 1), 0x06);
	CU_ASSERT_EQUAL(cfg_read(bus, 5, 0, 4), 0xffffffffu);     /* empty slot */
	pci_config_io(bus, 0xcf8, &addr, 4, false);
	CU_ASSERT_EQUAL(addr, 0x80000000u | (5 << 11));

	CU_ASSERT_EQUAL_FATAL(pci_register(bus, &dev), 0);
	CU_ASSERT_EQUAL(dev.slot, 1);
	CU_ASSERT_EQUAL((int)dev.gsi, acpi_pci_intx_gsi(1, 0));
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0, 4), 0x00015853u);
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0x3d, 1), 1);
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0x3c, 1), dev.gsi);
	/* firmware-style assignment: naturally aligned, flags in the low bits */
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0x10, 4), PCI_IO_WINDOW_BASE | 1);
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0x14, 4) & 0xf, 8);
	CU_ASSERT_EQUAL((cfg_read(bus, 1, 0x14, 4) & ~0xfu) % 0x1000000, 0);
	CU_ASSERT(cfg_read(bus, 1, 0x04, 2) & 0x3);
	/* BAR sizing */
	cfg_write(bus, 1, 0x14, 0xffffffffu, 4);
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0x14, 4), 0xff000008u);
	cfg_write(bus, 1, 0x10, 0xffffffffu, 4);
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0x10, 4), 0xffffff01u);
	/* relocation keeps only address bits the size allows */
	cfg_write(bus, 1, 0x14, 0xd0000123u, 4);
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0x14, 4), 0xd0000008u);
	CU_ASSERT_EQUAL(dev.bars[1].addr, 0xd0000000u);
	/* read-only fields stay */
	cfg_write(bus, 1, 0x00, 0, 4);
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0, 4), 0x00015853u);
	cfg_write(bus, 1, 0x3c, 11, 1);
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0x3c, 1), 11);
	/* a config access off the end of the function reads all-ones, never overflows */
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0xfe, 4) , 0xffffffffu);

	struct pci_device bad = { .name = "bad", .bars = { [0] = { .size = 0x300, .io = true } } };
	CU_ASSERT_EQUAL(pci_register(bus, &bad), -EINVAL);
	pci_bus_destroy(bus);
}

/* A slot with two functions: function 0 says so, function 1 answers, a
 * taken slot/function is refused, and the next free slot skips the slot. */
static void test_pci_multifunction(void)
{
	struct pci_bus *bus = pci_bus_new_detached();
	struct pci_device f0 = { .name = "f0", .vendor_id = 0x8086, .device_id = 0x7000 };
	struct pci_device f1 = { .name = "f1", .vendor_id = 0x8086, .device_id = 0x7010,
				 .dev_regs_writable = true };
	struct pci_device other = { .name = "o", .vendor_id = 0x1234, .device_id = 0x1 };
	struct pci_device dup = { .name = "d" };
	uint32_t addr = 0x80000000u | (1 << 11) | (1 << 8) | 0x40, v = 0xabcd;

	CU_ASSERT_EQUAL_FATAL(pci_register_at(bus, &f1, 1, 1), 0);
	CU_ASSERT_EQUAL_FATAL(pci_register_at(bus, &f0, 1, 0), 0);
	CU_ASSERT_EQUAL(pci_register_at(bus, &dup, 1, 1), -EBUSY);
	CU_ASSERT_EQUAL(pci_register_at(bus, &dup, 1, 8), -EINVAL);
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0x0e, 1), 0x80);
	pci_config_io(bus, 0xcf8, &addr, 4, true);
	v = 0;
	pci_config_io(bus, 0xcfc, &v, 4, false);
	CU_ASSERT_EQUAL(v, 0x0000u);
	v = 0xabcd;
	pci_config_io(bus, 0xcfc, &v, 2, true);   /* device registers take writes */
	v = 0;
	pci_config_io(bus, 0xcfc, &v, 2, false);
	CU_ASSERT_EQUAL(v, 0xabcdu);
	addr = 0x80000000u | (1 << 11) | (1 << 8);
	pci_config_io(bus, 0xcf8, &addr, 4, true);
	pci_config_io(bus, 0xcfc, &v, 4, false);
	CU_ASSERT_EQUAL(v, 0x70108086u);
	addr = 0x80000000u | (1 << 11) | (2 << 8);
	pci_config_io(bus, 0xcf8, &addr, 4, true);
	pci_config_io(bus, 0xcfc, &v, 4, false);
	CU_ASSERT_EQUAL(v, 0xffffffffu);
	/* Device registers of a device without dev_regs_writable stay read-only. */
	cfg_write(bus, 1, 0x60, 0x12, 1);
	CU_ASSERT_EQUAL(cfg_read(bus, 1, 0x60, 1), 0);
	CU_ASSERT_EQUAL(pci_register(bus, &other), 0);
	CU_ASSERT_EQUAL(other.slot, 2);
	pci_bus_destroy(bus);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("devices", NULL, NULL);
	CU_add_test(s, "serial_output_and_thre", test_serial_output_and_thre);
	CU_add_test(s, "serial_loopback_probe", test_serial_loopback_probe);
	CU_add_test(s, "serial_receive", test_serial_receive);
	CU_add_test(s, "serial_state", test_serial_state);
	CU_add_test(s, "rtc_state", test_rtc_state);
	CU_add_test(s, "acpi_pm_state", test_acpi_pm_state);
	CU_add_test(s, "rtc", test_rtc);
	CU_add_test(s, "acpi_pm", test_acpi_pm);
	CU_add_test(s, "acpi power button", test_acpi_power_button);
	CU_add_test(s, "pci", test_pci);
	CU_add_test(s, "pci multi-function", test_pci_multifunction);
	return cunit_run(CU_BRM_NORMAL);
}
