#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/acpi.h"
#include "xenkvm/acpi_pm.h"
#include "xenkvm/clock.h"
#include "xenkvm/vm.h"

#define KBD_CMD_RESET    0xfe
#define PORT92_RESET     0x01
#define RESET_CF9_RST    0x04   /* "reset CPU" bit of the 0xCF9 reset control register */

struct acpi_pm {
	pthread_mutex_t lock;
	void (*event)(void *opaque, enum acpi_pm_event ev);
	void *opaque;
	uint64_t (*now_ns)(void);
	void (*set_sci)(void *opaque, bool level);
	bool sci;                     /* the level last driven */
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint8_t port92;
};

/* SCI is level-triggered: high while an enabled event's status bit is set
 * (the power button is the only event we raise).  Lock held. */
static void sci_update(struct acpi_pm *pm)
{
	bool level = pm->pm1_sts & pm->pm1_en & ACPI_PM1_STS_PWRBTN;

	if (level == pm->sci)
		return;
	pm->sci = level;
	if (pm->set_sci)
		pm->set_sci(pm->opaque, level);
}

static uint32_t acpi_pm_timer(struct acpi_pm *pm)
{
	uint64_t ns = pm->now_ns();

	/* ticks = ns * f / 1e9, split to avoid overflow for ~160 years of uptime */
	return (uint32_t)(((ns / 1000000000ull) * ACPI_PM_TMR_HZ +
			   (ns % 1000000000ull) * ACPI_PM_TMR_HZ / 1000000000ull) & ACPI_PM_TMR_MASK);
}

static uint64_t get(const void *data, unsigned int len)
{
	uint64_t v = 0;

	memcpy(&v, data, len > 8 ? 8 : len);
	return v;
}

static void put(void *data, unsigned int len, uint64_t v)
{
	memcpy(data, &v, len > 8 ? 8 : len);
}

void acpi_pm_io(void *opaque, uint64_t port, void *data, unsigned int len, int is_write)
{
	struct acpi_pm *pm = opaque;
	uint64_t v = is_write ? get(data, len) : 0;
	int ev = -1;

	pthread_mutex_lock(&pm->lock);
	switch (port) {
	case ACPI_PM1A_EVT_PORT:       /* PM1_STS: write-one-to-clear */
		if (is_write) {
			pm->pm1_sts &= (uint16_t)~v;
			if (len >= 4)
				pm->pm1_en = (uint16_t)(v >> 16);
			sci_update(pm);
		} else {
			v = pm->pm1_sts | ((uint64_t)pm->pm1_en << 16);
		}
		break;
	case ACPI_PM1A_EVT_PORT + 2:   /* PM1_EN */
		if (is_write) {
			pm->pm1_en = (uint16_t)v;
			sci_update(pm);
		} else {
			v = pm->pm1_en;
		}
		break;
	case ACPI_PM1A_CNT_PORT:
		if (is_write) {
			pm->pm1_cnt = (uint16_t)((v & ~ACPI_PM1_CNT_SLP_EN) | ACPI_PM1_CNT_SCI_EN);
			if (acpi_pm1_cnt_is_s5((uint16_t)v))
				ev = ACPI_PM_POWEROFF;
			/* other sleep states are not offered (no _S1.._S4 in the DSDT) */
		} else {
			/* SCI_EN reads as set: ACPI mode is on from the start, no SMI handshake */
			v = pm->pm1_cnt | ACPI_PM1_CNT_SCI_EN;
		}
		break;
	case ACPI_SLEEP_CTL_PORT:      /* hw_reduced: write-only */
		if (is_write && acpi_sleep_ctl_is_s5((uint8_t)v))
			ev = ACPI_PM_POWEROFF;
		v = 0;
		break;
	case ACPI_SLEEP_STS_PORT:      /* no wake events: nothing ever sets WAK_STS */
		v = 0;
		break;
	case ACPI_PM_TMR_PORT:
		if (!is_write)
			v = acpi_pm_timer(pm);
		break;
	case ACPI_RESET_PORT:
		/* The FADT says ACPI_RESET_VALUE; any write with the reset bit counts, as on chipsets. */
		if (is_write && len == 1 && (v & RESET_CF9_RST))
			ev = ACPI_PM_RESET;
		break;
	case 0x64:                     /* i8042 command: 0xFE pulses the reset line */
		if (is_write && (v & 0xff) == KBD_CMD_RESET)
			ev = ACPI_PM_RESET;
		else if (!is_write)
			v = 0;                 /* no data, input buffer empty */
		break;
	case 0x92:                     /* "system control port A": bit 0 is a fast reset */
		if (is_write) {
			if ((v & PORT92_RESET) && !(pm->port92 & PORT92_RESET))
				ev = ACPI_PM_RESET;
			pm->port92 = (uint8_t)v & ~PORT92_RESET;
		} else {
			v = pm->port92;
		}
		break;
	default:
		if (!is_write)
			v = ~0ull;
		break;
	}
	pthread_mutex_unlock(&pm->lock);
	if (!is_write)
		put(data, len, v);
	if (ev >= 0)
		pm->event(pm->opaque, (enum acpi_pm_event)ev);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts |= ACPI_PM1_STS_PWRBTN;
	sci_update(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_set_sci_fn(struct acpi_pm *pm, void (*set_sci)(void *opaque, bool level))
{
	pm->set_sci = set_sci;
}

struct acpi_pm *acpi_pm_new_detached(void (*event)(void *opaque, enum acpi_pm_event ev), void *opaque,
				     uint64_t (*now_ns)(void))
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pthread_mutex_init(&pm->lock, NULL);
	pm->event = event;
	pm->opaque = opaque;
	pm->now_ns = now_ns ? now_ns : clock_mono_ns;
	pm->pm1_cnt = ACPI_PM1_CNT_SCI_EN;
	return pm;
}

static void acpi_pm_vm_sci(void *opaque, bool level)
{
	vm_set_irq(opaque, ACPI_SCI_IRQ, level);
}

static void acpi_pm_vm_event(void *opaque, enum acpi_pm_event ev)
{
	struct vm *vm = opaque;

	if (ev == ACPI_PM_POWEROFF)
		vm_request_stop(vm, VM_EXIT_POWEROFF, "guest powered off (ACPI S5)");
	else
		vm_request_stop(vm, VM_EXIT_REBOOT, "guest requested a reset");
}

/* The bus hands us offsets from each range's base; the model wants ports. */
#define ACPI_PM_RANGE(name, base)                                                      \
	static void name(void *opaque, uint64_t off, void *data, unsigned int len, bool w) \
	{                                                                              \
		acpi_pm_io(opaque, (base) + off, data, len, w);                        \
	}
ACPI_PM_RANGE(acpi_pm_evt_io, ACPI_PM1A_EVT_PORT)
ACPI_PM_RANGE(acpi_pm_cnt_io, ACPI_PM1A_CNT_PORT)
ACPI_PM_RANGE(acpi_pm_tmr_io, ACPI_PM_TMR_PORT)
ACPI_PM_RANGE(acpi_pm_rst_io, ACPI_RESET_PORT)
ACPI_PM_RANGE(acpi_pm_kbd_io, 0x64)
ACPI_PM_RANGE(acpi_pm_p92_io, 0x92)
ACPI_PM_RANGE(acpi_pm_sleep_io, ACPI_SLEEP_CTL_PORT)

int acpi_pm_create(struct vm *vm, struct acpi_pm **pm_r)
{
	struct acpi_pm *pm = acpi_pm_new_detached(acpi_pm_vm_event, vm, NULL);
	int rc;

	if (!pm)
		return -ENOMEM;
	acpi_pm_set_sci_fn(pm, acpi_pm_vm_sci);
	rc = io_bus_register(&vm->pio, ACPI_PM1A_EVT_PORT, 4, acpi_pm_evt_io, pm, "pm1a_evt");
	if (!rc)
		rc = io_bus_register(&vm->pio, ACPI_PM1A_CNT_PORT, 2, acpi_pm_cnt_io, pm, "pm1a_cnt");
	if (!rc)
		rc = io_bus_register(&vm->pio, ACPI_PM_TMR_PORT, 4, acpi_pm_tmr_io, pm, "pm_tmr");
	/* 0xCF9 sits between PCI's 0xCF8 and 0xCFC: the PCI bus registers only
	 * those two, and a dword access is matched by its first port. */
	if (!rc)
		rc = io_bus_register(&vm->pio, ACPI_RESET_PORT, 1, acpi_pm_rst_io, pm, "reset");
	if (!rc)
		rc = io_bus_register(&vm->pio, 0x64, 1, acpi_pm_kbd_io, pm, "i8042");
	if (!rc)
		rc = io_bus_register(&vm->pio, 0x92, 1, acpi_pm_p92_io, pm, "port92");
	if (rc) {
		free(pm);   /* the VM is torn down on this error; its buses go with it */
		return rc;
	}
	*pm_r = pm;
	return 0;
}

int acpi_pm_create_hw_reduced(struct vm *vm, struct acpi_pm **pm_r)
{
	struct acpi_pm *pm = acpi_pm_new_detached(acpi_pm_vm_event, vm, NULL);
	int rc;

	if (!pm)
		return -ENOMEM;
	rc = io_bus_register(&vm->pio, ACPI_SLEEP_CTL_PORT, 2, acpi_pm_sleep_io, pm, "acpi_sleep");
	if (rc) {
		free(pm);
		return rc;
	}
	*pm_r = pm;
	return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	free(pm);
}

/* ---- the state stream ---------------------------------------------------- */

void acpi_pm_state_save(struct acpi_pm *pm, struct state_writer *w)
{
	pthread_mutex_lock(&pm->lock);
	state_section_begin(w, ACPI_PM_STATE_ID, ACPI_PM_STATE_VERSION);
	state_put_u16(w, pm->pm1_sts);
	state_put_u16(w, pm->pm1_en);
	state_put_u16(w, pm->pm1_cnt);
	state_put_u8(w, pm->port92);
	pthread_mutex_unlock(&pm->lock);
	state_section_end(w);
}

static int acpi_pm_state_load(void *opaque, struct state_section *s)
{
	struct acpi_pm *pm = opaque;
	uint16_t sts, en, cnt;
	uint8_t p92;

	state_get_u16(s, &sts);
	state_get_u16(s, &en);
	state_get_u16(s, &cnt);
	state_get_u8(s, &p92);
	if (!state_section_failed(s) && (cnt & ACPI_PM1_CNT_SLP_EN))
		state_section_fail(s, EINVAL, "PM1 control %#x has SLP_EN set (a sleep in progress)", cnt);
	if (state_section_failed(s))
		return -EBADMSG;
	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts = sts;
	pm->pm1_en = en;
	pm->pm1_cnt = cnt;
	pm->port92 = p92;
	sci_update(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

void acpi_pm_state_handler(struct acpi_pm *pm, struct state_handler *h)
{
	*h = (struct state_handler){ ACPI_PM_STATE_ID, ACPI_PM_STATE_VERSION, "vm-acpi-pm", true,
				     acpi_pm_state_load, pm };
}
