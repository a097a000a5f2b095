#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/rtc.h"
#include "xenkvm/vm.h"

#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS   0x04
#define RTC_WDAY    0x06
#define RTC_MDAY    0x07
#define RTC_MONTH   0x08
#define RTC_YEAR    0x09
#define RTC_REG_A   0x0a
#define RTC_REG_B   0x0b
#define RTC_REG_C   0x0c
#define RTC_REG_D   0x0d
#define RTC_CENTURY 0x32   /* where the ACPI FADT's century field points on PCs */

#define REG_B_24H   0x02
#define REG_B_DM_BIN 0x04
#define REG_D_VRT   0x80

struct rtc {
	pthread_mutex_t lock;
	time_t (*now)(void);
	uint8_t index;
	uint8_t cmos[128];
};

static uint8_t rtc_encode(const struct rtc *r, unsigned int v)
{
	if (r->cmos[RTC_REG_B] & REG_B_DM_BIN)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t rtc_read(struct rtc *r, uint8_t reg)
{
	time_t t = r->now();
	struct tm tm;
	unsigned int hour;

	gmtime_r(&t, &tm);
	switch (reg) {
	case RTC_SECONDS: return rtc_encode(r, (unsigned int)tm.tm_sec);
	case RTC_MINUTES: return rtc_encode(r, (unsigned int)tm.tm_min);
	case RTC_HOURS:
		hour = (unsigned int)tm.tm_hour;
		if (r->cmos[RTC_REG_B] & REG_B_24H)
			return rtc_encode(r, hour);
		/* 12-hour mode: 1..12 with bit 7 for PM. */
		return (uint8_t)(rtc_encode(r, hour % 12 ? hour % 12 : 12) | (hour >= 12 ? 0x80 : 0));
	case RTC_WDAY:    return rtc_encode(r, (unsigned int)tm.tm_wday + 1);
	case RTC_MDAY:    return rtc_encode(r, (unsigned int)tm.tm_mday);
	case RTC_MONTH:   return rtc_encode(r, (unsigned int)tm.tm_mon + 1);
	case RTC_YEAR:    return rtc_encode(r, (unsigned int)(tm.tm_year % 100));
	case RTC_CENTURY: return rtc_encode(r, (unsigned int)((tm.tm_year + 1900) / 100));
	case RTC_REG_A:   return r->cmos[RTC_REG_A] & 0x7f;   /* never "update in progress" */
	case RTC_REG_C:   return 0;                           /* no interrupt flags */
	case RTC_REG_D:   return REG_D_VRT;                   /* battery good */
	default:          return r->cmos[reg & 0x7f];
	}
}

void rtc_io(void *opaque, uint64_t offset, void *data, unsigned int len, int is_write)
{
	struct rtc *r = opaque;
	uint8_t *p = data;

	if (len != 1) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (offset == 0) {
		if (is_write)
			r->index = *p & 0x7f;   /* bit 7 is the NMI mask */
		else
			*p = 0xff;
	} else if (is_write) {
		if (r->index == RTC_REG_B)
			r->cmos[RTC_REG_B] = *p & (REG_B_24H | REG_B_DM_BIN);
		else if (r->index > RTC_REG_D)
			r->cmos[r->index] = *p;
		/* writes to the time registers are ignored: host time is authoritative */
	} else {
		*p = rtc_read(r, r->index);
	}
	pthread_mutex_unlock(&r->lock);
}

static void rtc_pio(void *opaque, uint64_t offset, void *data, unsigned int len, bool is_write)
{
	rtc_io(opaque, offset, data, len, is_write);
}

static time_t rtc_host_now(void)
{
	return time(NULL);
}

struct rtc *rtc_new_detached(time_t (*now)(void))
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->now = now;
	r->cmos[RTC_REG_A] = 0x26;          /* 32.768 kHz divider, 1024 Hz rate */
	r->cmos[RTC_REG_B] = REG_B_24H;     /* BCD, 24-hour: what PC firmware sets */
	return r;
}

void rtc_set_cmos(struct rtc *r, uint8_t index, uint8_t value)
{
	pthread_mutex_lock(&r->lock);
	r->cmos[index & 0x7f] = value;
	pthread_mutex_unlock(&r->lock);
}

int rtc_create(struct vm *vm, struct rtc **rtc_r)
{
	struct rtc *r = rtc_new_detached(rtc_host_now);
	int rc;

	if (!r)
		return -ENOMEM;
	rc = io_bus_register(&vm->pio, 0x70, 2, rtc_pio, r, "rtc");
	if (rc) {
		free(r);
		return rc;
	}
	*rtc_r = r;
	return 0;
}

void rtc_destroy(struct rtc *rtc)
{
	free(rtc);
}

/* ---- the state stream ---------------------------------------------------- */

void rtc_state_save(struct rtc *r, struct state_writer *w)
{
	pthread_mutex_lock(&r->lock);
	state_section_begin(w, RTC_STATE_ID, RTC_STATE_VERSION);
	state_put_u8(w, r->index);
	state_put_bytes(w, r->cmos, sizeof(r->cmos));
	pthread_mutex_unlock(&r->lock);
	state_section_end(w);
}

static int rtc_state_load(void *opaque, struct state_section *s)
{
	struct rtc *r = opaque;
	uint8_t index, cmos[sizeof(r->cmos)];

	state_get_u8(s, &index);
	state_get_bytes(s, cmos, sizeof(cmos));
	if (!state_section_failed(s) && index >= sizeof(cmos))
		state_section_fail(s, EINVAL, "CMOS index %u (at most %zu)", index, sizeof(cmos) - 1);
	if (state_section_failed(s))
		return -EBADMSG;
	pthread_mutex_lock(&r->lock);
	r->index = index;
	memcpy(r->cmos, cmos, sizeof(cmos));
	pthread_mutex_unlock(&r->lock);
	return 0;
}

void rtc_state_handler(struct rtc *r, struct state_handler *h)
{
	*h = (struct state_handler){ RTC_STATE_ID, RTC_STATE_VERSION, "vm-rtc", true, rtc_state_load, r };
}
