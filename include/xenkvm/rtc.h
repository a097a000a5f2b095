/*
 * MC146818 CMOS real-time clock at ports 0x70/0x71: the guest reads the
 * wall-clock time from it at boot.  Time comes from the host clock (UTC);
 * alarms and periodic interrupts are not offered.
 */
#ifndef XENKVM_RTC_H
#define XENKVM_RTC_H

#include <stdint.h>
#include <time.h>

#include "xenkvm/state_stream.h"

struct vm;
struct rtc;

int rtc_create(struct vm *vm, struct rtc **rtc_r);
void rtc_destroy(struct rtc *rtc);
/* Sets a CMOS byte the firmware reads (memory size, CPU count); index < 128. */
void rtc_set_cmos(struct rtc *rtc, uint8_t index, uint8_t value);

/* The state stream (vm-rtc): the register index and the CMOS bytes.  The
 * time is not carried: it is the host's clock, before and after. */
#define RTC_STATE_ID      (STATE_ID_VMM_BASE + 7)
#define RTC_STATE_VERSION 1u
void rtc_state_save(struct rtc *rtc, struct state_writer *w);
void rtc_state_handler(struct rtc *rtc, struct state_handler *h);

/* Register model for unit tests: `now` supplies the time. */
struct rtc *rtc_new_detached(time_t (*now)(void));
void rtc_io(void *opaque, uint64_t offset, void *data, unsigned int len, int is_write);

#endif
