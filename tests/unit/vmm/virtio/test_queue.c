/* Unit tests of the split virtqueue walker on fake guest memory: well-formed
 * direct and indirect chains, the used ring, EVENT_IDX, and a suite of
 * malicious rings that must each be refused (queue broken, error set) without
 * a sanitizer report or a touch outside guest RAM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/error.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/devices/virtio/virtio.h"
#include "ring.h"

#define FEAT_ALL (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | \
		  VIRTIO_BIT(VIRTIO_F_EVENT_IDX))

struct fx {
	struct ring r;
	struct vq vq;
	struct vq_elem e;
};

static int setup_features(void **state, uint64_t features)
{
	struct fx *f = calloc(1, sizeof(*f));

	ring_init(&f->r, 16);
	vq_init(&f->vq, 0, 256);
	ring_program(&f->r, &f->vq);
	assert_int_equal(vq_start(&f->vq, &f->r.gm, features), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_features(state, FEAT_ALL);
}

static int setup_plain(void **state)
{
	return setup_features(state, VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vq_elem_free(&f->e);
	vq_destroy(&f->vq);
	ring_free(&f->r);
	free(f);
	return 0;
}

/* The chain must be refused: -1, queue broken, error names the virtqueue. */
static void assert_malformed(struct fx *f, const char *what)
{
	assert_int_equal(vq_pop(&f->vq, &f->e), -1);
	assert_true(f->vq.broken);
	assert_int_equal(err_code(), ERR_GUEST);
	assert_non_null(strstr(err_message(), what));
	/* Broken stays broken: nothing more is taken until reset. */
	assert_int_equal(vq_pop(&f->vq, &f->e), -1);
	assert_int_equal(vq_pending(&f->vq), 0);
}

static void test_vq_pop_empty_ring_returns_zero(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vq_pop(&f->vq, &f->e), 0);
	assert_false(f->vq.broken);
}

static void test_vq_pop_returns_readable_then_writable_segments(void **state)
{
	struct fx *f = *state;

	memcpy(f->r.ram + RING_DATA, "hello", 5);
	ring_desc(&f->r, 3, RING_DATA, 5, VRING_DESC_F_NEXT, 7);
	ring_desc(&f->r, 7, RING_DATA + 0x100, 100, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	ring_desc(&f->r, 1, RING_DATA + 0x200, 1, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, 3);
	assert_int_equal(vq_pending(&f->vq), 1);
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(f->e.head, 3);
	assert_int_equal(f->e.out_num, 1);
	assert_int_equal(f->e.in_num, 2);
	assert_int_equal(f->e.out_len, 5);
	assert_int_equal(f->e.in_len, 101);
	assert_ptr_equal(f->e.iov[0].iov_base, f->r.ram + RING_DATA);
	assert_memory_equal(f->e.iov[0].iov_base, "hello", 5);
	assert_ptr_equal(f->e.iov[1].iov_base, f->r.ram + RING_DATA + 0x100);
	assert_int_equal(f->e.iov[2].iov_len, 1);
	assert_int_equal(vq_pop(&f->vq, &f->e), 0);
}

static void test_vq_pop_follows_indirect_table(void **state)
{
	struct fx *f = *state;
	uint64_t table = RING_DATA + 0x1000;

	ring_ind_desc(&f->r, table, 0, RING_DATA, 16, VRING_DESC_F_NEXT, 2);
	ring_ind_desc(&f->r, table, 2, RING_DATA + 0x40, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	ring_ind_desc(&f->r, table, 1, RING_DATA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	ring_desc(&f->r, 5, table, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	ring_publish(&f->r, 5);
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(f->e.head, 5);
	assert_int_equal(f->e.out_num, 1);
	assert_int_equal(f->e.in_num, 2);
	assert_int_equal(f->e.out_len, 16);
	assert_int_equal(f->e.in_len, 513);
}

static void test_vq_push_publishes_used_entry_and_index(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;

	ring_desc(&f->r, 2, RING_DATA, 64, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, 2);
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(vq_push(&f->vq, f->e.head, 64), 0);
	assert_int_equal(ring_used_idx(&f->r), 1);
	ring_used_elem(&f->r, 0, &id, &len);
	assert_int_equal(id, 2);
	assert_int_equal(len, 64);
	assert_int_equal(vq_push(&f->vq, 16, 0), -1);   /* head out of range: refused */
	assert_int_equal(ring_used_idx(&f->r), 1);
}

static void test_vq_ring_wraps_past_size_and_index_overflow(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA, 8, VRING_DESC_F_WRITE, 0);
	for (unsigned i = 0; i < 70000; i++) {
		ring_publish(&f->r, 0);
		assert_int_equal(vq_pop(&f->vq, &f->e), 1);
		assert_int_equal(vq_push(&f->vq, 0, 8), 0);
	}
	assert_int_equal(ring_used_idx(&f->r), (uint16_t)70000);
	assert_false(f->vq.broken);
}

static void test_vq_event_idx_publishes_avail_event_and_suppresses_interrupts(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA, 8, VRING_DESC_F_WRITE, 0);
	for (int i = 0; i < 3; i++)
		ring_publish(&f->r, 0);
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	/* Not moved while the device drains: no kicks wanted meanwhile. */
	assert_int_equal(ring_avail_event(&f->r), 0);
	/* Driver wants an interrupt only once used index passes 2. */
	ring_set_used_event(&f->r, 2);
	assert_int_equal(vq_push(&f->vq, 0, 8), 0);
	assert_true(vq_need_signal(&f->vq));      /* first signal always goes */
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(vq_push(&f->vq, 0, 8), 0);
	assert_false(vq_need_signal(&f->vq));     /* used 2: event 2 not yet crossed */
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(vq_push(&f->vq, 0, 8), 0);
	assert_true(vq_need_signal(&f->vq));      /* used 3 crosses event 2 */
	assert_int_equal(vq_pop(&f->vq, &f->e), 0);
	assert_int_equal(ring_avail_event(&f->r), 3);
}

/* The driver's side of VIRTIO_F_EVENT_IDX (section 2.7.10): kick when the
 * buffers added, old..new, reach avail_event. */
static bool driver_kicks(const struct ring *r, uint16_t old, uint16_t new)
{
	uint16_t event = ring_avail_event(r);

	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

/* A device with requests in flight looks at the ring again by itself: an
 * empty ring then leaves avail_event behind, so the driver does not kick. */
static void test_vq_pop_no_kick_leaves_avail_event_behind(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA, 8, VRING_DESC_F_WRITE, 0);
	assert_int_equal(vq_pop(&f->vq, &f->e), 0);
	assert_int_equal(ring_avail_event(&f->r), 0);
	ring_publish(&f->r, 0);
	assert_true(driver_kicks(&f->r, 0, 1));
	assert_int_equal(vq_pop_flags(&f->vq, &f->e, VQ_POP_NO_KICK), 1);
	assert_int_equal(vq_pop_flags(&f->vq, &f->e, VQ_POP_NO_KICK), 0);
	assert_int_equal(ring_avail_event(&f->r), 0);
	/* The driver adds two without kicking; the device still finds them. */
	ring_publish(&f->r, 0);
	assert_false(driver_kicks(&f->r, 1, 2));
	ring_publish(&f->r, 0);
	assert_false(driver_kicks(&f->r, 2, 3));
	assert_int_equal(vq_pop_flags(&f->vq, &f->e, VQ_POP_NO_KICK), 1);
	assert_int_equal(vq_pop_flags(&f->vq, &f->e, VQ_POP_NO_KICK), 1);
	/* Idle again: a plain pop asks for the next kick. */
	assert_int_equal(vq_pop(&f->vq, &f->e), 0);
	assert_int_equal(ring_avail_event(&f->r), 3);
	ring_publish(&f->r, 0);
	assert_true(driver_kicks(&f->r, 3, 4));
}

static void test_vq_event_idx_no_kicks_while_draining_one_when_empty(void **state)
{
	struct fx *f = *state;
	uint16_t idx = 0;
	unsigned kicks = 0, taken = 0;

	ring_desc(&f->r, 0, RING_DATA, 8, VRING_DESC_F_WRITE, 0);
	/* The ring was found empty once: the first buffer is kicked. */
	assert_int_equal(vq_pop(&f->vq, &f->e), 0);
	for (int round = 0; round < 10; round++) {
		/* The driver adds two buffers per round while the device takes one. */
		for (int i = 0; i < 2; i++) {
			ring_publish(&f->r, 0);
			kicks += driver_kicks(&f->r, idx, (uint16_t)(idx + 1));
			idx++;
		}
		assert_int_equal(vq_pop(&f->vq, &f->e), 1);
		assert_int_equal(vq_push(&f->vq, 0, 8), 0);
		taken++;
	}
	assert_int_equal(kicks, 1);
	/* The device drains the rest and finds the ring empty: asks for a kick. */
	while (vq_pop(&f->vq, &f->e) == 1) {
		assert_int_equal(vq_push(&f->vq, 0, 8), 0);
		taken++;
	}
	assert_int_equal(taken, 20);
	assert_int_equal(ring_avail_event(&f->r), 20);
	ring_publish(&f->r, 0);
	assert_true(driver_kicks(&f->r, idx, (uint16_t)(idx + 1)));
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
}

static void test_vq_no_interrupt_flag_suppresses_signal_without_event_idx(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA, 8, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, 0);
	assert_int_equal(vq_pop(&f->vq, &f->e), 1);
	assert_int_equal(vq_push(&f->vq, 0, 8), 0);
	ring_set_avail_flags(&f->r, VRING_AVAIL_F_NO_INTERRUPT);
	assert_false(vq_need_signal(&f->vq));
	ring_set_avail_flags(&f->r, 0);
	assert_true(vq_need_signal(&f->vq));
}

/* ---- malicious rings ---- */

static void test_vq_refuses_descriptor_loop(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA, 8, VRING_DESC_F_NEXT, 1);
	ring_desc(&f->r, 1, RING_DATA, 8, VRING_DESC_F_NEXT, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "loop");
}

static void test_vq_refuses_self_loop_of_writable_descriptor(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 4, RING_DATA, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 4);
	ring_publish(&f->r, 4);
	assert_malformed(f, "loop");
}

static void test_vq_refuses_head_index_out_of_range(void **state)
{
	struct fx *f = *state;

	ring_publish(&f->r, 16);
	assert_malformed(f, "out of range");
}

static void test_vq_refuses_next_index_out_of_range(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA, 8, VRING_DESC_F_NEXT, 0xffff);
	ring_publish(&f->r, 0);
	assert_malformed(f, "out of range");
}

static void test_vq_refuses_avail_index_far_ahead(void **state)
{
	struct fx *f = *state;

	ring_set_avail_idx(&f->r, 17);
	assert_malformed(f, "ahead");
}

static void test_vq_refuses_nested_indirect(void **state)
{
	struct fx *f = *state;
	uint64_t table = RING_DATA + 0x1000;

	ring_ind_desc(&f->r, table, 0, table, 16, VRING_DESC_F_INDIRECT, 0);
	ring_desc(&f->r, 0, table, 16, VRING_DESC_F_INDIRECT, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "nested indirect");
}

static void test_vq_refuses_indirect_loop(void **state)
{
	struct fx *f = *state;
	uint64_t table = RING_DATA + 0x1000;

	ring_ind_desc(&f->r, table, 0, RING_DATA, 8, VRING_DESC_F_NEXT, 1);
	ring_ind_desc(&f->r, table, 1, RING_DATA, 8, VRING_DESC_F_NEXT, 0);
	ring_desc(&f->r, 0, table, 32, VRING_DESC_F_INDIRECT, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "loop");
}

static void test_vq_refuses_indirect_next_past_table(void **state)
{
	struct fx *f = *state;
	uint64_t table = RING_DATA + 0x1000;

	ring_ind_desc(&f->r, table, 0, RING_DATA, 8, VRING_DESC_F_NEXT, 2);
	ring_desc(&f->r, 0, table, 32, VRING_DESC_F_INDIRECT, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "out of range");
}

static void test_vq_refuses_indirect_table_of_odd_length(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA + 0x1000, 24, VRING_DESC_F_INDIRECT, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "indirect table length");
}

static void test_vq_refuses_huge_indirect_table(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA, 0xfffffff0u, VRING_DESC_F_INDIRECT, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "indirect table length");
}

static void test_vq_refuses_indirect_with_next(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA + 0x1000, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	ring_publish(&f->r, 0);
	assert_malformed(f, "NEXT");
}

static void test_vq_refuses_zero_length_descriptor(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA, 0, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "zero-length");
}

static void test_vq_refuses_huge_length(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA, 0xffffffffu, 0, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "outside guest RAM");
}

static void test_vq_refuses_buffer_straddling_end_of_ram(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_RAM_SIZE - 8, 16, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "outside guest RAM");
}

static void test_vq_refuses_address_wrapping_64_bits(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, UINT64_MAX - 3, 16, 0, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "outside guest RAM");
}

static void test_vq_refuses_indirect_table_straddling_end_of_ram(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "outside guest RAM");
}

static void test_vq_refuses_chain_longer_than_4gib(void **state)
{
	struct fx *f = *state;
	uint64_t table = RING_DATA + 0x1000;
	const uint32_t seg = 4u << 20;

	/* 1024 entries naming the same 4 MiB: each valid, 4 GiB in total. */
	for (uint16_t i = 0; i < 1024; i++)
		ring_ind_desc(&f->r, table, i, RING_RAM_SIZE - seg, seg,
			      i < 1023 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	ring_desc(&f->r, 0, table, 1024 * 16, VRING_DESC_F_INDIRECT, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "longer than 4 GiB");
}

static void test_vq_refuses_readable_after_writable(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	ring_desc(&f->r, 1, RING_DATA, 8, 0, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "readable descriptor after a writable");
}

static void test_vq_refuses_unknown_descriptor_flags(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, RING_DATA, 8, 0x80, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "unknown descriptor flags");
}

static void test_vq_refuses_indirect_without_feature(void **state)
{
	struct fx *f = *state;

	ring_ind_desc(&f->r, RING_DATA + 0x1000, 0, RING_DATA, 8, 0, 0);
	ring_desc(&f->r, 0, RING_DATA + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	ring_publish(&f->r, 0);
	assert_malformed(f, "VIRTIO_F_INDIRECT_DESC");
}

static void test_vq_reset_clears_broken_state(void **state)
{
	struct fx *f = *state;

	ring_publish(&f->r, 99);
	assert_int_equal(vq_pop(&f->vq, &f->e), -1);
	vq_reset(&f->vq);
	assert_false(f->vq.broken);
	assert_false(f->vq.started);
	assert_int_equal(vq_pop(&f->vq, &f->e), 0);
}

/* ---- vq_start checks ---- */

static void test_vq_start_refuses_rings_outside_ram_or_misaligned(void **state)
{
	struct fx *f = *state;

	vq_reset(&f->vq);
	ring_program(&f->r, &f->vq);
	f->vq.used_gpa = RING_RAM_SIZE - 8;
	assert_int_equal(vq_start(&f->vq, &f->r.gm, FEAT_ALL), -1);
	assert_non_null(strstr(err_message(), "used ring outside guest RAM"));
	f->vq.used_gpa = RING_USED;
	f->vq.desc_gpa = RING_DESC + 8;
	assert_int_equal(vq_start(&f->vq, &f->r.gm, FEAT_ALL), -1);
	assert_non_null(strstr(err_message(), "misaligned"));
	f->vq.desc_gpa = UINT64_MAX & ~15ULL;
	assert_int_equal(vq_start(&f->vq, &f->r.gm, FEAT_ALL), -1);
	f->vq.desc_gpa = RING_DESC;
	f->vq.size = 24;
	assert_int_equal(vq_start(&f->vq, &f->r.gm, FEAT_ALL), -1);
	assert_non_null(strstr(err_message(), "power of two"));
	f->vq.size = 512;   /* above max_size 256 */
	assert_int_equal(vq_start(&f->vq, &f->r.gm, FEAT_ALL), -1);
	f->vq.size = 0;
	assert_int_equal(vq_start(&f->vq, &f->r.gm, FEAT_ALL), -1);
	assert_false(f->vq.started);
}

static void test_vq_iov_copies_across_segments_with_skip(void **state)
{
	uint8_t a[3] = { 1, 2, 3 }, b[4] = { 4, 5, 6, 7 }, out[8] = { 0 };
	struct iovec iov[2] = { { a, 3 }, { b, 4 } };

	(void)state;
	assert_int_equal(vq_iov_to_buf(iov, 2, 2, out, 8), 5);
	assert_memory_equal(out, ((uint8_t[]){ 3, 4, 5, 6, 7 }), 5);
	assert_int_equal(vq_iov_from_buf(iov, 2, 1, ((uint8_t[]){ 9, 9, 9 }), 3), 3);
	assert_memory_equal(a, ((uint8_t[]){ 1, 9, 9 }), 3);
	assert_int_equal(b[0], 9);
	assert_int_equal(vq_iov_to_buf(iov, 2, 100, out, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vq_pop_empty_ring_returns_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_pop_returns_readable_then_writable_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_pop_follows_indirect_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_push_publishes_used_entry_and_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_ring_wraps_past_size_and_index_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_event_idx_publishes_avail_event_and_suppresses_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_pop_no_kick_leaves_avail_event_behind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_event_idx_no_kicks_while_draining_one_when_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_no_interrupt_flag_suppresses_signal_without_event_idx, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_descriptor_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_self_loop_of_writable_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_head_index_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_next_index_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_avail_index_far_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_nested_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_indirect_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_indirect_next_past_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_indirect_table_of_odd_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_huge_indirect_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_indirect_with_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_zero_length_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_huge_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_buffer_straddling_end_of_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_address_wrapping_64_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_indirect_table_straddling_end_of_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_chain_longer_than_4gib, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_readable_after_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_unknown_descriptor_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_refuses_indirect_without_feature, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_vq_reset_clears_broken_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_start_refuses_rings_outside_ram_or_misaligned, setup, teardown),
		cmocka_unit_test(test_vq_iov_copies_across_segments_with_skip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
