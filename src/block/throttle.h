/* I/O throttling with QEMU's semantics: leaky buckets for bytes and operations
 * per second (total, read, write), each with an optional burst rate (_max) held
 * for _max_length seconds, iops_size to count large requests as several
 * operations, and named groups whose members share one set of buckets.
 * Standalone: the caller asks throttle_delay() before a request and calls
 * throttle_account() when it issues it. Thread-safe. */
#ifndef VIREO_BLOCK_THROTTLE_H
#define VIREO_BLOCK_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

enum throttle_kind {
	THROTTLE_BPS_TOTAL, THROTTLE_BPS_READ, THROTTLE_BPS_WRITE,
	THROTTLE_OPS_TOTAL, THROTTLE_OPS_READ, THROTTLE_OPS_WRITE,
	THROTTLE_KINDS
};

struct throttle_limit {
	uint64_t avg;        /* units per second, 0 = unlimited */
	uint64_t max;        /* burst rate, 0 = none */
	uint64_t max_length; /* seconds the burst rate may last (>= 1 when max is set) */
};

struct throttle_config {
	struct throttle_limit l[THROTTLE_KINDS];
	uint64_t iops_size;  /* bytes counted as one operation, 0 = every request is one */
};

/* No limits, burst lengths of 1 s: what QEMU starts from. */
void throttle_config_init(struct throttle_config *cfg);
/* Checks QEMU's rules: total excludes read/write of the same kind, max >= avg, ... */
int throttle_config_validate(const struct throttle_config *cfg);
/* Set one limit from a key as QEMU (-drive bps, iops_rd_max, iops_size, ...),
 * block_set_io_throttle or libvirt (<iotune> total_iops_sec, ...) names it.
 * Returns 0, or -1 with the error naming the key (unknown key or bad number). */
int throttle_config_set(struct throttle_config *cfg, const char *key, const char *value);
bool throttle_config_enabled(const struct throttle_config *cfg);
/* QMP / -drive name of each limit, e.g. "bps_rd", "iops_wr_max_length". */
const char *throttle_kind_name(enum throttle_kind k);

/* The limits as QMP's query-block prints them ("bps", "bps_rd", ...,
 * "bps_max", ..., "bps_max_length", ..., "iops_size"): fills up to max
 * name/value pairs in QEMU's order and returns how many there are (19). */
struct throttle_field {
	char name[24];
	uint64_t value;
};
#define THROTTLE_FIELDS (THROTTLE_KINDS * 3 + 1)
unsigned throttle_config_fields(const struct throttle_config *cfg, struct throttle_field *out, unsigned max);

struct throttle;

/* One disk's throttle: charges a private set of buckets (group NULL or "") or
 * the named group's, created on first use with cfg (later members join with the
 * group's config). Each call returns a new handle; put it when the disk goes. */
struct throttle *throttle_get(const char *group, const struct throttle_config *cfg);
void throttle_put(struct throttle *t);
/* "" for a private throttle. Valid until the handle changes group. */
const char *throttle_group_name(const struct throttle *t);
/* Move the disk to another group live (block_set_io_throttle group=), as QEMU
 * does: the named group is joined, or created with cfg; NULL or "" gives the
 * disk private buckets with cfg. Staying in the same group keeps its state.
 * Requests being charged concurrently finish against the old group. */
int throttle_set_group(struct throttle *t, const char *group, const struct throttle_config *cfg);
/* Change the limits of t's group live (block_set_io_throttle): every member
 * sees them; bucket levels restart at 0. */
int throttle_set_config(struct throttle *t, const struct throttle_config *cfg);
void throttle_get_config(struct throttle *t, struct throttle_config *cfg);

/* Nanoseconds to wait before a request may start (0 = go now); now_ns from a
 * monotonic clock (clock_ns()). */
uint64_t throttle_delay(struct throttle *t, bool is_write, uint64_t now_ns);
/* Charge a request that is being issued. */
void throttle_account(struct throttle *t, bool is_write, uint64_t bytes, uint64_t now_ns);
/* Block the calling thread until allowed, then account (for simple I/O threads). */
void throttle_wait(struct throttle *t, bool is_write, uint64_t bytes);

#endif
