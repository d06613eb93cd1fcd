/* Boot-progress debug port (port 0x80, as Cloud Hypervisor's boot markers): the
 * guest writes one byte, the VMM timestamps it against its start time. Values
 * 0x40 = kernel started and 0x41 = userspace started are the convention;
 * others are recorded only if asked for, because Linux also writes port 0x80
 * as an I/O delay (outb_p) with arbitrary values: see below.
 *
 * Log line, one write(2) per recorded value, exactly:
 *     "debug-port: 0x%02x at %llu.%03u ms\n"
 * e.g. "debug-port: 0x41 at 123.456 ms" (milliseconds since start_ns, three
 * decimals = microseconds). Parse it with sscanf("debug-port: 0x%x at %lf ms").
 *
 * I/O delay: the Debian 6.1 cloud kernel has CONFIG_IO_DELAY_0X80=y, so
 * outb_p/inb_p write port 0x80 unless the delay is a no-op. With
 * CONFIG_KVM_GUEST=y it is a no-op when CPUID 0x40000001 advertises
 * KVM_FEATURE_NOP_IO_DELAY (KVM_GET_SUPPORTED_CPUID does), or with io_delay=none
 * on the command line. Unrecorded writes cost one atomic increment.
 *
 * Reads return 0xff (nothing drives the bus). */
#ifndef VIREO_VMM_DEVICES_DEBUGPORT_H
#define VIREO_VMM_DEVICES_DEBUGPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"

#define DEBUGPORT_PORT 0x80
#define DEBUGPORT_KERNEL_START 0x40
#define DEBUGPORT_USERSPACE_START 0x41
#define DEBUGPORT_MAX_EVENTS 256   /* the first 256 recorded writes are kept */

struct debugport_event {
	uint8_t value;
	uint64_t ns;       /* nanoseconds since start_ns */
};

struct debugport;

/* Registers one port on `pio`. start_ns is the VMM start (clock_ns()); log_fd
 * (or -1) receives the log lines. Records 0x40 and 0x41 until told otherwise.
 * NULL with the error set if the port is taken. */
struct debugport *debugport_create(struct bus *pio, uint16_t port, uint64_t start_ns, int log_fd);
void debugport_destroy(struct debugport *dp);

/* Choose which values are recorded and logged. */
void debugport_record_value(struct debugport *dp, uint8_t value, bool on);
void debugport_record_all(struct debugport *dp, bool on);

/* Copy up to max recorded events (oldest first); returns how many. */
size_t debugport_events(struct debugport *dp, struct debugport_event *out, size_t max);
/* Time of the first write of `value` since start, or -1 if not seen/recorded. */
int64_t debugport_first_ns(struct debugport *dp, uint8_t value);
/* All writes, recorded or not, and recorded ones that did not fit the list. */
uint64_t debugport_writes(struct debugport *dp);
uint64_t debugport_overflow(struct debugport *dp);

/* Bus handler, exposed for tests and fuzzers. */
void debugport_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
