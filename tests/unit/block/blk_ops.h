/* The deterministic random operations the storage suite's crash tests run
 * (blk-tool's crash writer and verifier, blk-powercut's recorder): mostly writes
 * of 512 B - 256 KiB with a pattern derived from the seed, some zeroing and
 * cluster-aligned discards (so that a raw model can show them as zeros). */
#ifndef VIREO_TESTS_BLK_OPS_H
#define VIREO_TESTS_BLK_OPS_H

#include <stdint.h>
#include <string.h>

#include "block/block.h"
#include "common/util.h"

enum op_kind { OP_WRITE, OP_ZERO, OP_DISCARD };
struct op {
	enum op_kind kind;
	uint64_t off, len;
	uint64_t seed;
};

static inline uint64_t ops_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Operation n of the run with this seed on an image of size bytes. */
static inline struct op ops_gen(uint64_t seed, uint64_t n, uint64_t size, uint64_t cluster)
{
	uint64_t r = ops_mix(seed * 1000003u + n + 1), r2 = ops_mix(r);
	struct op o = { .seed = r2 };
	unsigned kind = r % 20;

	o.len = (1 + (r2 % 512)) * 512;
	if (r2 % 7 == 0)
		o.len = 512 * (1 + (r2 >> 20) % 8);
	o.off = ((r >> 16) % (size / 512)) * 512;
	if (kind < 16) {
		o.kind = OP_WRITE;
	} else if (kind < 18) {
		o.kind = OP_ZERO;
	} else {
		o.kind = OP_DISCARD;
		o.off = ALIGN_DOWN(o.off, cluster);
		o.len = ALIGN_UP(o.len, cluster);
	}
	if (o.off + o.len > size)
		o.len = size - o.off;
	return o;
}

/* Buffer large enough for any operation's data. */
static inline size_t ops_buf_size(uint64_t cluster)
{
	return (size_t)(ALIGN_UP(512ull * 520, cluster) + cluster);
}

/* The data a write operation puts down. */
static inline void ops_fill(uint8_t *buf, const struct op *o)
{
	for (uint64_t i = 0; i < o->len; i += 8) {
		uint64_t v = ops_mix(o->seed + (o->off + i) / 8);
		memcpy(buf + i, &v, MIN(8, o->len - i));
	}
}

/* Run one operation through the block layer (buf: ops_buf_size bytes). */
static inline int ops_apply(struct blk *b, const struct op *o, uint8_t *buf)
{
	switch (o->kind) {
	case OP_WRITE:
		ops_fill(buf, o);
		return blk_pwrite(b, buf, o->len, o->off);
	case OP_ZERO:
		return blk_write_zeroes(b, o->off, o->len, (o->seed & 1) ? BLK_ZERO_MAY_UNMAP : 0);
	default:
		return blk_discard(b, o->off, o->len);
	}
}

#endif
