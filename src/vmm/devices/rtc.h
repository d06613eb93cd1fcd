/* MC146818 CMOS real-time clock and NVRAM at ports 0x70 (index, bit 7 = NMI
 * disable) and 0x71 (data). Time runs from host UTC plus an offset that guest
 * writes set; register B selects BCD/binary and 12/24 h; register A's UIP bit
 * is set during the last 244 us of each second, as on the real part, so
 * Linux's mc146818 read loop completes at once. The century is at 0x32.
 *
 * Interrupts (IRQ 8, edge on the IOAPIC): update-ended and alarm flags are
 * computed whenever register C is read or rtc_tick() runs; the IRQ pin is
 * driven high while C's IRQF is set and lowered when C is read. Periodic
 * interrupts (PIE) are not implemented: PF never sets. Linux's rtc_cmos needs
 * none of them to probe and read the time.
 *
 * Firmware bytes (QEMU/SeaBIOS layout): rtc_set_memory() fills 0x15/0x16
 * (base KiB), 0x17/0x18 and 0x30/0x31 (KiB above 1 MiB, capped), 0x34/0x35
 * (64 KiB units above 16 MiB below 4 GiB), 0x5b-0x5d (64 KiB units above 4 GiB);
 * rtc_set_nr_cpus() fills 0x5f (CPUs - 1). */
#ifndef VIREO_VMM_DEVICES_RTC_H
#define VIREO_VMM_DEVICES_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/evloop.h"
#include "vmm/irq.h"

#define RTC_PORT 0x70
#define RTC_GSI 8
#define RTC_CMOS_SIZE 128

/* Register indexes. */
#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32

#define RTC_A_UIP 0x80
#define RTC_B_SET 0x80
#define RTC_B_PIE 0x40
#define RTC_B_AIE 0x20
#define RTC_B_UIE 0x10
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H 0x02
#define RTC_C_IRQF 0x80
#define RTC_C_PF 0x40
#define RTC_C_AF 0x20
#define RTC_C_UF 0x10
#define RTC_D_VRT 0x80

struct rtc;

/* Registers ports 0x70-0x71 on `pio`; `irq` is GSI 8 (its set may be NULL).
 * NULL with the error set if the ports are taken. */
struct rtc *rtc_create(struct bus *pio, struct irq_pin irq);
/* The RESET pin (machine reset): interrupt enables and flags clear; the time,
 * its format and the NVRAM survive, as they are battery-backed. */
void rtc_reset(struct rtc *rtc);
void rtc_destroy(struct rtc *rtc);

/* Firmware-visible memory size bytes (see above). */
void rtc_set_memory(struct rtc *rtc, uint64_t ram_below_4g, uint64_t ram_above_4g);
void rtc_set_nr_cpus(struct rtc *rtc, unsigned n);
/* Any NVRAM byte 0x0e-0x7f (time/status registers are refused: -1). */
int rtc_cmos_set(struct rtc *rtc, unsigned index, uint8_t value);

/* Let the RTC raise its update-ended/alarm interrupts on time by itself: a
 * timerfd on `loop` (main thread) fires just after each guest second while
 * the guest has UIE or AIE set, and is disarmed otherwise. Linux's rtc core
 * implements alarms and update events (hwclock, rtcwake) with AIE, so call
 * this unless the guest never uses /dev/rtc. -1 with the error set. */
int rtc_start_timer(struct rtc *rtc, struct evloop *loop);
/* Raise update-ended/alarm interrupts that came due (what the timer calls);
 * cheap when nothing is enabled. */
void rtc_tick(struct rtc *rtc);
/* Last value written to 0x70 bit 7 (the guest's NMI mask), for the integrator. */
bool rtc_nmi_disabled(struct rtc *rtc);

/* Tests: replace the host clock (UTC nanoseconds since the epoch). */
void rtc_set_clock(struct rtc *rtc, uint64_t (*now_ns)(void *ctx), void *ctx);

/* Bus handler, exposed for tests and fuzzers. */
void rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
