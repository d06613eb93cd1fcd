/* Debug/boot-marker port (see debugport.h): a lock-free filter in front of a
 * bounded, mutex-protected event list and a one-line log per recorded write. */
#include "vmm/devices/debugport.h"
#include "common/error.h"
#include "common/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct debugport {
	struct bus *pio;
	uint16_t port;
	uint64_t start_ns;
	int log_fd;
	atomic_bool record[256];
	atomic_uint_least64_t writes;

	pthread_mutex_t lock;
	struct debugport_event events[DEBUGPORT_MAX_EVENTS];
	size_t nevents;
	uint64_t overflow;
	int64_t first_ns[256];
};

static void debugport_record(struct debugport *dp, uint8_t value)
{
	uint64_t now = clock_ns();
	uint64_t ns = now > dp->start_ns ? now - dp->start_ns : 0;
	char line[64];
	int n;

	pthread_mutex_lock(&dp->lock);
	if (dp->nevents < DEBUGPORT_MAX_EVENTS)
		dp->events[dp->nevents++] = (struct debugport_event){ value, ns };
	else
		dp->overflow++;
	if (dp->first_ns[value] < 0)
		dp->first_ns[value] = (int64_t)ns;
	pthread_mutex_unlock(&dp->lock);
	if (dp->log_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "debug-port: 0x%02x at %llu.%03u ms\n", value,
		     (unsigned long long)(ns / 1000000), (unsigned)(ns / 1000 % 1000));
	/* One write per line so lines from several vCPUs never interleave. */
	if (n > 0 && write(dp->log_fd, line, (size_t)n) < 0)
		return;
}

void debugport_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct debugport *dp = opaque;

	if (!is_write) {
		for (uint32_t i = 0; i < len && i < 8; i++)
			data[i] = 0xff;
		return;
	}
	/* Only the byte at the port itself counts; wider writes spill over. */
	if (offset != 0 || len == 0)
		return;
	atomic_fetch_add_explicit(&dp->writes, 1, memory_order_relaxed);
	if (atomic_load_explicit(&dp->record[data[0]], memory_order_relaxed))
		debugport_record(dp, data[0]);
}

struct debugport *debugport_create(struct bus *pio, uint16_t port, uint64_t start_ns, int log_fd)
{
	struct debugport *dp = calloc(1, sizeof(*dp));

	if (!dp) {
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&dp->lock, NULL);
	dp->pio = pio;
	dp->port = port;
	dp->start_ns = start_ns;
	dp->log_fd = log_fd;
	for (unsigned i = 0; i < 256; i++) {
		atomic_init(&dp->record[i], false);
		dp->first_ns[i] = -1;
	}
	atomic_init(&dp->writes, 0);
	atomic_store(&dp->record[DEBUGPORT_KERNEL_START], true);
	atomic_store(&dp->record[DEBUGPORT_USERSPACE_START], true);
	if (bus_register(pio, port, 1, debugport_io, dp, "debug-port") < 0) {
		err_prefix("debug port 0x%x", port);
		pthread_mutex_destroy(&dp->lock);
		free(dp);
		return NULL;
	}
	return dp;
}

void debugport_destroy(struct debugport *dp)
{
	if (!dp)
		return;
	bus_unregister(dp->pio, dp->port);
	pthread_mutex_destroy(&dp->lock);
	free(dp);
}

void debugport_record_value(struct debugport *dp, uint8_t value, bool on)
{
	atomic_store(&dp->record[value], on);
}

void debugport_record_all(struct debugport *dp, bool on)
{
	for (unsigned i = 0; i < 256; i++)
		atomic_store(&dp->record[i], on);
}

size_t debugport_events(struct debugport *dp, struct debugport_event *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&dp->lock);
	n = MIN(max, dp->nevents);
	for (size_t i = 0; i < n; i++)
		out[i] = dp->events[i];
	pthread_mutex_unlock(&dp->lock);
	return n;
}

int64_t debugport_first_ns(struct debugport *dp, uint8_t value)
{
	int64_t v;

	pthread_mutex_lock(&dp->lock);
	v = dp->first_ns[value];
	pthread_mutex_unlock(&dp->lock);
	return v;
}

uint64_t debugport_writes(struct debugport *dp)
{
	return atomic_load(&dp->writes);
}

uint64_t debugport_overflow(struct debugport *dp)
{
	uint64_t v;

	pthread_mutex_lock(&dp->lock);
	v = dp->overflow;
	pthread_mutex_unlock(&dp->lock);
	return v;
}
