/* MC146818 RTC/CMOS model (see rtc.h). The clock is never stored as counting
 * registers: each read derives the fields from host time + offset in the
 * current format; freezing (SET, divider reset) snapshots them into CMOS bytes
 * the guest can edit, and unfreezing turns those bytes back into an offset. */
#include "vmm/devices/rtc.h"
#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
/* UIP rises 244 us before each update (32.768 kHz time base); the update
 * itself is instantaneous here, so UIP falls exactly at the second. */
#define RTC_UIP_WINDOW_NS 244000LL
#define RTC_DV_MASK 0x70
#define RTC_DV_RESET 0x60     /* DV = 110 or 111 holds the divider in reset */
#define RTC_DONT_CARE 0xc0    /* alarm bytes >= 0xc0 match any value */
#define SECONDS_PER_DAY 86400
#define RTC_MIN_SECONDS (-6000000000LL)   /* about 1780 */
#define RTC_MAX_SECONDS 9000000000LL      /* about 2255 */

struct rtc {
	pthread_mutex_t lock;
	struct bus *pio;
	struct irq_pin irq;
	uint8_t cmos[RTC_CMOS_SIZE];
	uint8_t index;
	bool nmi_disabled;
	int64_t offset_ns;        /* guest time = host UTC + offset */
	int64_t flags_checked_s;  /* guest second up to which UF/AF were computed */
	bool irq_level;
	struct evloop *loop;
	int timer_fd;             /* -1 until rtc_start_timer */
	bool timer_armed;
	uint64_t (*now_ns)(void *ctx);
	void *now_ctx;
};

static uint64_t rtc_host_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static int64_t rtc_guest_ns(const struct rtc *rtc)
{
	return (int64_t)rtc->now_ns(rtc->now_ctx) + rtc->offset_ns;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b) != 0 && ((a < 0) != (b < 0)));
}

static bool rtc_frozen(const struct rtc *rtc)
{
	return (rtc->cmos[RTC_REG_B] & RTC_B_SET) ||
	       (rtc->cmos[RTC_REG_A] & RTC_DV_RESET) == RTC_DV_RESET;
}

static bool rtc_bcd(const struct rtc *rtc)
{
	return !(rtc->cmos[RTC_REG_B] & RTC_B_DM_BINARY);
}

static uint8_t rtc_encode(const struct rtc *rtc, unsigned v)
{
	return rtc_bcd(rtc) ? (uint8_t)(((v / 10) % 10) << 4 | (v % 10)) : (uint8_t)v;
}

/* -1 for a byte that is not a valid number in the current format. */
static int rtc_decode(const struct rtc *rtc, uint8_t v)
{
	if (!rtc_bcd(rtc))
		return v;
	if ((v & 0x0f) > 9 || (v >> 4) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_encode_hours(const struct rtc *rtc, unsigned h)
{
	if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
		return rtc_encode(rtc, h);
	return rtc_encode(rtc, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0);
}

static int rtc_decode_hours(const struct rtc *rtc, uint8_t v)
{
	int h;

	if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
		return rtc_decode(rtc, v);
	h = rtc_decode(rtc, v & 0x7f);
	if (h < 1 || h > 12)
		return -1;
	return h % 12 + ((v & 0x80) ? 12 : 0);
}

/* Fill the time registers (0-9 except alarms, and the century) for `secs`. */
static void rtc_fill_time(struct rtc *rtc, uint8_t *regs, int64_t secs)
{
	time_t t = (time_t)secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	regs[RTC_SECONDS] = rtc_encode(rtc, (unsigned)tm.tm_sec);
	regs[RTC_MINUTES] = rtc_encode(rtc, (unsigned)tm.tm_min);
	regs[RTC_HOURS] = rtc_encode_hours(rtc, (unsigned)tm.tm_hour);
	regs[RTC_DAY_OF_WEEK] = rtc_encode(rtc, (unsigned)tm.tm_wday + 1);
	regs[RTC_DAY_OF_MONTH] = rtc_encode(rtc, (unsigned)tm.tm_mday);
	regs[RTC_MONTH] = rtc_encode(rtc, (unsigned)tm.tm_mon + 1);
	regs[RTC_YEAR] = rtc_encode(rtc, (unsigned)(tm.tm_year + 1900) % 100);
	regs[RTC_CENTURY] = rtc_encode(rtc, (unsigned)(tm.tm_year + 1900) / 100);
}

/* Seconds since the epoch from the CMOS time bytes; -1 if they are invalid. */
static int rtc_parse_time(const struct rtc *rtc, const uint8_t *regs, int64_t *secs)
{
	int sec = rtc_decode(rtc, regs[RTC_SECONDS]), min = rtc_decode(rtc, regs[RTC_MINUTES]);
	int hour = rtc_decode_hours(rtc, regs[RTC_HOURS]), mday = rtc_decode(rtc, regs[RTC_DAY_OF_MONTH]);
	int mon = rtc_decode(rtc, regs[RTC_MONTH]), year = rtc_decode(rtc, regs[RTC_YEAR]);
	int century = rtc_decode(rtc, regs[RTC_CENTURY]);
	struct tm tm = { 0 };
	time_t t;

	if (sec < 0 || sec > 59 || min < 0 || min > 59 || hour < 0 || hour > 23 || mday < 1 ||
	    mday > 31 || mon < 1 || mon > 12 || year < 0 || year > 99)
		return -1;
	/* A guest that never wrote the century gets the 20th/21st by the
	 * usual pivot (what Linux assumes without an ACPI century field). */
	if (century < 19 || century > 99)
		century = year < 70 ? 20 : 19;
	tm.tm_sec = sec;
	tm.tm_min = min;
	tm.tm_hour = hour;
	tm.tm_mday = mday;
	tm.tm_mon = mon - 1;
	tm.tm_year = century * 100 + year - 1900;
	t = timegm(&tm);
	*secs = (int64_t)t;
	return 0;
}

static bool rtc_is_time_reg(unsigned index)
{
	return index <= RTC_YEAR && index != RTC_SECONDS_ALARM && index != RTC_MINUTES_ALARM &&
	       index != RTC_HOURS_ALARM;
}

/* Guest wrote the time (by unfreezing or by a direct write): the new second
 * starts now, or keeps the running fraction for a direct write. */
static void rtc_commit_time(struct rtc *rtc, const uint8_t *regs, bool keep_fraction)
{
	int64_t host = (int64_t)rtc->now_ns(rtc->now_ctx), secs, frac = 0;

	/* The offset is kept in int64 nanoseconds: dates outside about
	 * 1780-2255 cannot be represented and are refused like invalid ones. */
	if (rtc_parse_time(rtc, regs, &secs) < 0 || secs < RTC_MIN_SECONDS || secs > RTC_MAX_SECONDS) {
		log_debug("rtc: guest wrote an invalid or unrepresentable date/time, keeping the clock");
		return;
	}
	if (keep_fraction) {
		int64_t g = host + rtc->offset_ns;

		frac = g - floor_div(g, NS_PER_S) * NS_PER_S;
	}
	rtc->offset_ns = secs * NS_PER_S + frac - host;
	rtc->flags_checked_s = secs;
}

/* Alarm byte matches value v (binary) or is "don't care". */
static bool rtc_alarm_field_matches(const struct rtc *rtc, uint8_t alarm, int v, bool hours)
{
	if (alarm >= RTC_DONT_CARE)
		return true;
	return (hours ? rtc_decode_hours(rtc, alarm) : rtc_decode(rtc, alarm)) == v;
}

/* Set UF (an update happened) and AF (the alarm time passed) for the guest
 * seconds elapsed since the last check, then recompute IRQF and the pin. */
static void rtc_update_flags(struct rtc *rtc)
{
	uint8_t *c = &rtc->cmos[RTC_REG_C];

	if (!rtc_frozen(rtc)) {
		int64_t now_s = floor_div(rtc_guest_ns(rtc), NS_PER_S);

		if (now_s > rtc->flags_checked_s) {
			int64_t from = rtc->flags_checked_s + 1;

			*c |= RTC_C_UF;
			if (now_s - from >= SECONDS_PER_DAY)
				from = now_s - SECONDS_PER_DAY + 1;   /* every time of day came by */
			for (int64_t t = from; t <= now_s && !(*c & RTC_C_AF); t++) {
				int64_t tod = t - floor_div(t, SECONDS_PER_DAY) * SECONDS_PER_DAY;

				if (rtc_alarm_field_matches(rtc, rtc->cmos[RTC_SECONDS_ALARM], (int)(tod % 60), false) &&
				    rtc_alarm_field_matches(rtc, rtc->cmos[RTC_MINUTES_ALARM], (int)(tod / 60 % 60), false) &&
				    rtc_alarm_field_matches(rtc, rtc->cmos[RTC_HOURS_ALARM], (int)(tod / 3600), true))
					*c |= RTC_C_AF;
			}
			rtc->flags_checked_s = now_s;
		}
	}
	if (((*c & RTC_C_UF) && (rtc->cmos[RTC_REG_B] & RTC_B_UIE)) ||
	    ((*c & RTC_C_AF) && (rtc->cmos[RTC_REG_B] & RTC_B_AIE)))
		*c |= RTC_C_IRQF;
	if (!!(*c & RTC_C_IRQF) != rtc->irq_level) {
		rtc->irq_level = *c & RTC_C_IRQF;
		irq_pin_set(&rtc->irq, rtc->irq_level);
	}
}

/* Arm the timer for just after the next guest second while UIE or AIE is on
 * (timerfd_settime is thread-safe, so vCPU threads may call this). */
static void rtc_update_timer(struct rtc *rtc)
{
	bool want = rtc->cmos[RTC_REG_B] & (RTC_B_UIE | RTC_B_AIE);
	struct itimerspec its = { 0 };

	if (rtc->timer_fd < 0 || want == rtc->timer_armed)
		return;
	if (want) {
		int64_t g = rtc_guest_ns(rtc);
		int64_t to_next = NS_PER_S - (g - floor_div(g, NS_PER_S) * NS_PER_S) + 100000;

		its.it_value.tv_sec = (time_t)(to_next / NS_PER_S);
		its.it_value.tv_nsec = (long)(to_next % NS_PER_S);
		its.it_interval.tv_sec = 1;
	}
	if (timerfd_settime(rtc->timer_fd, 0, &its, NULL) == 0)
		rtc->timer_armed = want;
}

static uint8_t rtc_read(struct rtc *rtc, unsigned index)
{
	uint8_t v, regs[RTC_CMOS_SIZE];

	if (rtc_is_time_reg(index) || index == RTC_CENTURY) {
		if (rtc_frozen(rtc))
			return rtc->cmos[index];
		rtc_fill_time(rtc, regs, floor_div(rtc_guest_ns(rtc), NS_PER_S));
		return regs[index];
	}
	switch (index) {
	case RTC_REG_A: {
		int64_t g = rtc_guest_ns(rtc), frac = g - floor_div(g, NS_PER_S) * NS_PER_S;

		v = rtc->cmos[RTC_REG_A] & ~RTC_A_UIP;
		if (!rtc_frozen(rtc) && frac >= NS_PER_S - RTC_UIP_WINDOW_NS)
			v |= RTC_A_UIP;
		return v;
	}
	case RTC_REG_C:
		rtc_update_flags(rtc);
		v = rtc->cmos[RTC_REG_C];
		/* Reading C acknowledges every flag and the interrupt. */
		rtc->cmos[RTC_REG_C] = 0;
		rtc_update_flags(rtc);
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		return rtc->cmos[index];
	}
}

static void rtc_write(struct rtc *rtc, unsigned index, uint8_t val)
{
	bool was_frozen = rtc_frozen(rtc);

	if (rtc_is_time_reg(index) || index == RTC_CENTURY) {
		if (was_frozen) {
			rtc->cmos[index] = val;
		} else {
			uint8_t regs[RTC_CMOS_SIZE];

			rtc_fill_time(rtc, regs, floor_div(rtc_guest_ns(rtc), NS_PER_S));
			regs[index] = val;
			rtc_commit_time(rtc, regs, true);
		}
		return;
	}
	switch (index) {
	case RTC_REG_A:
		rtc->cmos[RTC_REG_A] = val & ~RTC_A_UIP;   /* UIP is read-only */
		break;
	case RTC_REG_B:
		/* Setting SET also clears UIE (MC146818 data sheet). */
		if (val & RTC_B_SET)
			val &= ~RTC_B_UIE;
		rtc->cmos[RTC_REG_B] = val;
		rtc_update_timer(rtc);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		return;   /* read-only */
	default:
		rtc->cmos[index] = val;
		return;
	}
	if (!was_frozen && rtc_frozen(rtc)) {
		/* Freeze: the current time becomes editable bytes, in the
		 * format register B now selects. */
		rtc_fill_time(rtc, rtc->cmos, floor_div(rtc_guest_ns(rtc), NS_PER_S));
	} else if (was_frozen && !rtc_frozen(rtc)) {
		rtc_commit_time(rtc, rtc->cmos, false);
	}
	rtc_update_flags(rtc);
}

void rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct rtc *rtc = opaque;

	pthread_mutex_lock(&rtc->lock);
	/* A word access to 0x70 is index then data, as two byte cycles. */
	for (uint32_t i = 0; i < len && i < 8; i++) {
		uint64_t port = offset + i;

		if (port == 0) {
			if (is_write) {
				rtc->index = data[i] & 0x7f;
				rtc->nmi_disabled = data[i] & 0x80;
			} else {
				data[i] = 0xff;   /* the index register is write-only */
			}
		} else if (port == 1) {
			if (is_write)
				rtc_write(rtc, rtc->index, data[i]);
			else
				data[i] = rtc_read(rtc, rtc->index);
		} else if (!is_write) {
			data[i] = 0xff;
		}
	}
	pthread_mutex_unlock(&rtc->lock);
}

struct rtc *rtc_create(struct bus *pio, struct irq_pin irq)
{
	struct rtc *rtc = calloc(1, sizeof(*rtc));

	if (!rtc) {
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->pio = pio;
	rtc->irq = irq;
	rtc->now_ns = rtc_host_now;
	rtc->timer_fd = -1;
	/* As firmware leaves it: 32.768 kHz base, 1024 Hz rate, 24 h BCD. */
	rtc->cmos[RTC_REG_A] = 0x26;
	rtc->cmos[RTC_REG_B] = RTC_B_24H;
	rtc->cmos[RTC_REG_D] = RTC_D_VRT;
	rtc->flags_checked_s = floor_div(rtc_guest_ns(rtc), NS_PER_S);
	if (bus_register(pio, RTC_PORT, 2, rtc_io, rtc, "rtc") < 0) {
		err_prefix("rtc");
		pthread_mutex_destroy(&rtc->lock);
		free(rtc);
		return NULL;
	}
	return rtc;
}

void rtc_reset(struct rtc *rtc)
{
	pthread_mutex_lock(&rtc->lock);
	rtc->cmos[RTC_REG_B] &= (uint8_t)~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | 0x08 /* SQWE */);
	rtc->cmos[RTC_REG_C] = 0;
	rtc_update_timer(rtc);
	rtc->flags_checked_s = floor_div(rtc_guest_ns(rtc), NS_PER_S);
	rtc_update_flags(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

void rtc_destroy(struct rtc *rtc)
{
	if (!rtc)
		return;
	bus_unregister(rtc->pio, RTC_PORT);
	if (rtc->timer_fd >= 0) {
		evloop_remove(rtc->loop, rtc->timer_fd);
		close(rtc->timer_fd);
	}
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}

static void rtc_timer_event(void *opaque, uint32_t events)
{
	struct rtc *rtc = opaque;
	uint64_t expirations;

	(void)events;
	if (read(rtc->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_debug("rtc: timerfd read: %s", strerror(errno));
	rtc_tick(rtc);
}

int rtc_start_timer(struct rtc *rtc, struct evloop *loop)
{
	int fd;

	if (rtc->timer_fd >= 0)
		return err_set(ERR_EXISTS, "rtc: timer already started");
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return err_set_errno(ERR_INTERNAL, errno, "rtc: timerfd_create");
	if (evloop_add(loop, fd, EPOLLIN, rtc_timer_event, rtc) < 0) {
		close(fd);
		return err_prefix("rtc timer");
	}
	pthread_mutex_lock(&rtc->lock);
	rtc->loop = loop;
	rtc->timer_fd = fd;
	rtc_update_timer(rtc);
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

void rtc_set_clock(struct rtc *rtc, uint64_t (*now_ns)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&rtc->lock);
	rtc->now_ns = now_ns ? now_ns : rtc_host_now;
	rtc->now_ctx = ctx;
	rtc->flags_checked_s = floor_div(rtc_guest_ns(rtc), NS_PER_S);
	pthread_mutex_unlock(&rtc->lock);
}

int rtc_cmos_set(struct rtc *rtc, unsigned index, uint8_t value)
{
	if (index < 0x0e || index >= RTC_CMOS_SIZE)
		return err_set(ERR_INVALID, "rtc: CMOS byte 0x%x is not NVRAM (0x0e-0x7f)", index);
	pthread_mutex_lock(&rtc->lock);
	rtc->cmos[index] = value;
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

void rtc_set_memory(struct rtc *rtc, uint64_t ram_below_4g, uint64_t ram_above_4g)
{
	uint64_t ext_kb = ram_below_4g > (1 << 20) ? (ram_below_4g - (1 << 20)) / 1024 : 0;
	uint64_t above16 = ram_below_4g > (16 << 20) ? (ram_below_4g - (16 << 20)) / 65536 : 0;
	uint64_t high = ram_above_4g / 65536;

	ext_kb = ext_kb > 0xfc00 ? 0xfc00 : ext_kb;     /* 63 MiB, the classic cap */
	above16 = above16 > 0xffff ? 0xffff : above16;
	high = high > 0xffffff ? 0xffffff : high;
	pthread_mutex_lock(&rtc->lock);
	rtc->cmos[0x15] = 640 & 0xff;                   /* base memory: 640 KiB */
	rtc->cmos[0x16] = 640 >> 8;
	rtc->cmos[0x17] = rtc->cmos[0x30] = (uint8_t)ext_kb;
	rtc->cmos[0x18] = rtc->cmos[0x31] = (uint8_t)(ext_kb >> 8);
	rtc->cmos[0x34] = (uint8_t)above16;
	rtc->cmos[0x35] = (uint8_t)(above16 >> 8);
	rtc->cmos[0x5b] = (uint8_t)high;
	rtc->cmos[0x5c] = (uint8_t)(high >> 8);
	rtc->cmos[0x5d] = (uint8_t)(high >> 16);
	pthread_mutex_unlock(&rtc->lock);
}

void rtc_set_nr_cpus(struct rtc *rtc, unsigned n)
{
	pthread_mutex_lock(&rtc->lock);
	rtc->cmos[0x5f] = (uint8_t)(n ? n - 1 : 0);
	pthread_mutex_unlock(&rtc->lock);
}

void rtc_tick(struct rtc *rtc)
{
	pthread_mutex_lock(&rtc->lock);
	if (rtc->cmos[RTC_REG_B] & (RTC_B_UIE | RTC_B_AIE))
		rtc_update_flags(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

bool rtc_nmi_disabled(struct rtc *rtc)
{
	bool v;

	pthread_mutex_lock(&rtc->lock);
	v = rtc->nmi_disabled;
	pthread_mutex_unlock(&rtc->lock);
	return v;
}
