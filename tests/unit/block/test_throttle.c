/* Unit tests of src/block/throttle.c: leaky buckets driven by a simulated
 * clock, bursts, iops_size, groups and the configuration rules. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "block/throttle.h"
#include "common/error.h"
#include "common/util.h"

#define SEC 1000000000ull

/* Issue n requests back to back on a simulated clock starting at *now;
 * returns the simulated seconds they took. */
static double run_requests(struct throttle *t, uint64_t *now, unsigned n, bool write, uint64_t bytes)
{
	uint64_t start = *now;

	for (unsigned i = 0; i < n; i++) {
		*now += throttle_delay(t, write, *now);
		assert_int_equal(throttle_delay(t, write, *now), 0);
		throttle_account(t, write, bytes, *now);
	}
	return (double)(*now - start) / SEC;
}

static void test_throttle_unlimited_never_waits(void **state)
{
	struct throttle *t = throttle_get(NULL, NULL);
	uint64_t now = SEC;

	(void)state;
	assert_non_null(t);
	assert_true(run_requests(t, &now, 10000, true, 1 << 20) == 0.0);
	throttle_put(t);
}

static void test_throttle_iops_limit_paces_requests_to_the_average(void **state)
{
	struct throttle_config c = { 0 };
	uint64_t now = SEC;

	(void)state;
	c.l[THROTTLE_OPS_TOTAL].avg = 200;
	struct throttle *t = throttle_get(NULL, &c);
	assert_non_null(t);
	/* 2000 requests at 200/s: about 10 s (a tenth of a second of slack up front). */
	double secs = run_requests(t, &now, 2000, false, 4096);
	assert_true(secs > 9.8 && secs < 10.1);
	throttle_put(t);
}

static void test_throttle_bps_limit_applies_per_direction(void **state)
{
	struct throttle_config c = { 0 };
	uint64_t now = SEC;

	(void)state;
	c.l[THROTTLE_BPS_WRITE].avg = 1 << 20;
	struct throttle *t = throttle_get(NULL, &c);
	/* reads are not limited */
	assert_true(run_requests(t, &now, 100, false, 1 << 20) == 0.0);
	/* 20 MiB of writes at 1 MiB/s: about 20 s */
	double secs = run_requests(t, &now, 20, true, 1 << 20);
	assert_true(secs > 18.5 && secs < 20.5);
	throttle_put(t);
}

static void test_throttle_burst_allows_max_rate_for_max_length_then_average(void **state)
{
	struct throttle_config c = { 0 };
	uint64_t now = SEC;

	(void)state;
	c.l[THROTTLE_OPS_TOTAL].avg = 100;
	c.l[THROTTLE_OPS_TOTAL].max = 1000;
	c.l[THROTTLE_OPS_TOTAL].max_length = 5;
	struct throttle *t = throttle_get(NULL, &c);
	assert_non_null(t);
	/* The burst bucket holds max * max_length = 5000 ops; burst level paces at 1000/s. */
	double burst = run_requests(t, &now, 4000, false, 512);
	assert_true(burst > 3.5 && burst < 4.6);
	/* Once the bucket is full, the average rules: 1000 more ops take ~10 s. */
	run_requests(t, &now, 1500, false, 512);
	double steady = run_requests(t, &now, 1000, false, 512);
	assert_true(steady > 9.5 && steady < 10.5);
	throttle_put(t);
}

static void test_throttle_iops_size_counts_large_requests_as_several(void **state)
{
	struct throttle_config c = { 0 };
	uint64_t now = SEC;

	(void)state;
	c.l[THROTTLE_OPS_TOTAL].avg = 100;
	c.iops_size = 4096;
	struct throttle *t = throttle_get(NULL, &c);
	/* 64 KiB requests count as 16 operations: 100 of them take ~16 s. */
	double secs = run_requests(t, &now, 100, false, 65536);
	assert_true(secs > 15.5 && secs < 16.5);
	throttle_put(t);
}

static void test_throttle_group_members_share_one_budget(void **state)
{
	struct throttle_config c = { 0 };
	uint64_t now = SEC;

	(void)state;
	c.l[THROTTLE_OPS_TOTAL].avg = 100;
	struct throttle *a = throttle_get("g1", &c), *b = throttle_get("g1", NULL);
	struct throttle *other = throttle_get("g2", &c);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(other);
	assert_string_equal(throttle_group_name(a), "g1");
	assert_string_equal(throttle_group_name(b), "g1");
	assert_string_equal(throttle_group_name(other), "g2");
	/* Two disks alternating: 1000 requests in total still take ~10 s. */
	uint64_t start = now;
	for (int i = 0; i < 1000; i++) {
		struct throttle *t = (i & 1) ? a : b;
		now += throttle_delay(t, false, now);
		throttle_account(t, false, 512, now);
	}
	double secs = (double)(now - start) / SEC;
	assert_true(secs > 9.7 && secs < 10.1);
	/* an unrelated group is unaffected */
	assert_int_equal(throttle_delay(other, false, now), 0);
	throttle_put(a);
	throttle_put(b);
	throttle_put(other);
}

/* block_set_io_throttle group=: a disk moved into a busy group waits on that
 * group's buckets at once, and no longer charges the group it left. */
static void test_throttle_moving_a_disk_between_groups_moves_its_budget(void **state)
{
	struct throttle_config c = { 0 };
	uint64_t now = SEC;

	(void)state;
	c.l[THROTTLE_OPS_TOTAL].avg = 100;
	struct throttle *a = throttle_get("m1", &c), *d = throttle_get("m2", &c);
	assert_non_null(a);
	assert_non_null(d);
	/* fill m1's bucket through a: 500 requests at once */
	for (int i = 0; i < 500; i++)
		throttle_account(a, true, 512, now);
	assert_true(throttle_delay(a, true, now) > 3 * SEC);
	assert_int_equal(throttle_delay(d, true, now), 0);
	/* d joins m1: it now waits as long as a does */
	assert_int_equal(throttle_set_group(d, "m1", NULL), 0);
	assert_string_equal(throttle_group_name(d), "m1");
	assert_int_equal(throttle_delay(d, true, now), throttle_delay(a, true, now));
	/* joining keeps the group's limits (the caller then sets new ones) */
	struct throttle_config got;
	throttle_get_config(d, &got);
	assert_int_equal(got.l[THROTTLE_OPS_TOTAL].avg, 100);
	/* d leaves for a new group made with its own limits: free to go again,
	 * and its requests no longer slow a */
	struct throttle_config fast = { 0 };
	fast.l[THROTTLE_OPS_TOTAL].avg = 1000000;
	assert_int_equal(throttle_set_group(d, "m3", &fast), 0);
	assert_string_equal(throttle_group_name(d), "m3");
	assert_int_equal(throttle_delay(d, true, now), 0);
	uint64_t before = throttle_delay(a, true, now);
	for (int i = 0; i < 1000; i++)
		throttle_account(d, true, 512, now);
	assert_int_equal(throttle_delay(a, true, now), before);
	throttle_get_config(d, &got);
	assert_int_equal(got.l[THROTTLE_OPS_TOTAL].avg, 1000000);
	/* back to private buckets */
	assert_int_equal(throttle_set_group(d, NULL, &c), 0);
	assert_string_equal(throttle_group_name(d), "");
	/* an invalid config is refused and leaves the disk where it was */
	struct throttle_config bad = { 0 };
	bad.l[THROTTLE_OPS_TOTAL].avg = 10;
	bad.l[THROTTLE_OPS_READ].avg = 10;
	assert_int_equal(throttle_set_group(d, "m1", &bad), -1);
	assert_string_equal(throttle_group_name(d), "");
	throttle_put(a);
	throttle_put(d);
	/* m1 went away with its last member: a new m1 starts empty */
	struct throttle *e = throttle_get("m1", &c);
	assert_int_equal(throttle_delay(e, true, now), 0);
	throttle_put(e);
}

/* New limits set through one member apply to every member of its group. */
static void test_throttle_group_limits_set_through_one_member_apply_to_all(void **state)
{
	struct throttle_config c = { 0 }, got;

	(void)state;
	c.l[THROTTLE_BPS_TOTAL].avg = 1 << 20;
	struct throttle *a = throttle_get("s1", &c), *b = throttle_get("s1", NULL);
	c.l[THROTTLE_BPS_TOTAL].avg = 5 << 20;
	assert_int_equal(throttle_set_config(b, &c), 0);
	throttle_get_config(a, &got);
	assert_int_equal(got.l[THROTTLE_BPS_TOTAL].avg, 5 << 20);
	throttle_put(a);
	throttle_put(b);
}

/* Requests charged from I/O threads while the control thread moves the disk
 * back and forth between groups: no crash, no sanitizer report. */
struct mover_arg {
	struct throttle *t;
	bool stop;
};

static void *charge_loop(void *p)
{
	struct mover_arg *m = p;

	while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
		(void)throttle_delay(m->t, false, clock_ns());
		throttle_account(m->t, false, 4096, clock_ns());
	}
	return NULL;
}

static void test_throttle_group_moves_race_safely_with_requests(void **state)
{
	struct throttle_config c = { 0 };
	pthread_t th[2];

	(void)state;
	c.l[THROTTLE_OPS_TOTAL].avg = 1000000;
	struct mover_arg m = { .t = throttle_get(NULL, &c) };
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, charge_loop, &m), 0);
	for (int i = 0; i < 2000; i++) {
		const char *g = (i % 3 == 0) ? "r1" : (i % 3 == 1) ? "r2" : NULL;
		assert_int_equal(throttle_set_group(m.t, g, &c), 0);
	}
	__atomic_store_n(&m.stop, true, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	throttle_put(m.t);
}

static void test_throttle_live_change_takes_effect_at_once(void **state)
{
	struct throttle_config c = { 0 };
	uint64_t now = SEC;

	(void)state;
	c.l[THROTTLE_OPS_TOTAL].avg = 10;
	struct throttle *t = throttle_get(NULL, &c);
	run_requests(t, &now, 50, false, 512);
	c.l[THROTTLE_OPS_TOTAL].avg = 1000;
	assert_int_equal(throttle_set_config(t, &c), 0);
	double secs = run_requests(t, &now, 1000, false, 512);
	assert_true(secs > 0.85 && secs < 1.05);
	struct throttle_config got;
	throttle_get_config(t, &got);
	assert_int_equal(got.l[THROTTLE_OPS_TOTAL].avg, 1000);
	throttle_put(t);
}

static void test_throttle_config_rejects_total_with_read_or_write(void **state)
{
	struct throttle_config c = { 0 };

	(void)state;
	c.l[THROTTLE_BPS_TOTAL].avg = 100;
	c.l[THROTTLE_BPS_READ].avg = 100;
	for (int i = 0; i < THROTTLE_KINDS; i++)
		c.l[i].max_length = 1;
	assert_int_equal(throttle_config_validate(&c), -1);
	assert_non_null(strstr(err_message(), "bps"));
	assert_null(throttle_get(NULL, &c));
	c.l[THROTTLE_BPS_READ].avg = 0;
	assert_int_equal(throttle_config_validate(&c), 0);
	c.l[THROTTLE_BPS_TOTAL].max = 50;   /* max below avg */
	assert_int_equal(throttle_config_validate(&c), -1);
	c.l[THROTTLE_BPS_TOTAL].max = 0;
	c.l[THROTTLE_BPS_TOTAL].max_length = 3;   /* length without max */
	assert_int_equal(throttle_config_validate(&c), -1);
}

static void test_throttle_config_set_accepts_qemu_and_libvirt_names(void **state)
{
	struct throttle_config c = { 0 };

	(void)state;
	assert_int_equal(throttle_config_set(&c, "iops_total", "200"), 0);
	assert_int_equal(c.l[THROTTLE_OPS_TOTAL].avg, 200);
	assert_int_equal(throttle_config_set(&c, "bps_rd", "1000"), 0);
	assert_int_equal(c.l[THROTTLE_BPS_READ].avg, 1000);
	assert_int_equal(throttle_config_set(&c, "write_iops_sec_max", "300"), 0);
	assert_int_equal(c.l[THROTTLE_OPS_WRITE].max, 300);
	assert_int_equal(throttle_config_set(&c, "iops_wr_max_length", "7"), 0);
	assert_int_equal(c.l[THROTTLE_OPS_WRITE].max_length, 7);
	assert_int_equal(throttle_config_set(&c, "size_iops_sec", "4096"), 0);
	assert_int_equal(c.iops_size, 4096);
	assert_int_equal(throttle_config_set(&c, "iops_sideways", "1"), -1);
	assert_non_null(strstr(err_message(), "iops_sideways"));
	assert_int_equal(throttle_config_set(&c, "bps", "lots"), -1);
	assert_non_null(strstr(err_message(), "bps"));
}

static void test_throttle_fields_list_the_limits_by_qmp_name(void **state)
{
	struct throttle_config c = { 0 };
	struct throttle_field f[THROTTLE_FIELDS];

	(void)state;
	assert_int_equal(throttle_config_set(&c, "iops_total", "200"), 0);
	assert_int_equal(throttle_config_set(&c, "iops_total_max", "400"), 0);
	assert_int_equal(throttle_config_set(&c, "bps_write", "1048576"), 0);
	assert_int_equal(throttle_config_fields(&c, f, THROTTLE_FIELDS), THROTTLE_FIELDS);
	assert_string_equal(f[0].name, "bps");
	assert_string_equal(f[3].name, "iops");
	assert_int_equal(f[3].value, 200);
	assert_string_equal(f[2].name, "bps_wr");
	assert_int_equal(f[2].value, 1048576);
	assert_string_equal(f[9].name, "iops_max");
	assert_int_equal(f[9].value, 400);
	assert_string_equal(f[17].name, "iops_wr_max_length");
	assert_int_equal(f[17].value, 1);
	assert_string_equal(f[18].name, "iops_size");
	/* a short array is filled as far as it goes; the count stays the full one */
	assert_int_equal(throttle_config_fields(&c, f, 2), THROTTLE_FIELDS);
}

/* Real time: 420 requests at iops_total=200 start 20 at once (a tenth of a
 * second's worth) and the other 400 over 2 s; the rate must be within 10%. */
static void test_throttle_wait_paces_real_requests_within_ten_percent(void **state)
{
	struct throttle_config c = { 0 };

	(void)state;
	c.l[THROTTLE_OPS_TOTAL].avg = 200;
	struct throttle *t = throttle_get(NULL, &c);
	uint64_t t0 = clock_ns();
	for (int i = 0; i < 420; i++)
		throttle_wait(t, i & 1, 4096);
	double secs = (double)(clock_ns() - t0) / SEC, rate = 400 / secs;
	assert_true(rate > 180 && rate < 220);
	throttle_put(t);
}

static void test_throttle_live_change_applies_within_a_second_in_real_time(void **state)
{
	struct throttle_config c = { 0 };

	(void)state;
	c.l[THROTTLE_OPS_TOTAL].avg = 20;
	struct throttle *t = throttle_get(NULL, &c);
	for (int i = 0; i < 6; i++)
		throttle_wait(t, false, 512);
	c.l[THROTTLE_OPS_TOTAL].avg = 2000;
	assert_int_equal(throttle_set_config(t, &c), 0);
	uint64_t t0 = clock_ns();
	for (int i = 0; i < 400; i++)
		throttle_wait(t, false, 512);
	/* 400 requests at the new limit take ~0.2 s, not the 20 s of the old one */
	assert_true((double)(clock_ns() - t0) / SEC < 0.5);
	throttle_put(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_throttle_unlimited_never_waits),
		cmocka_unit_test(test_throttle_iops_limit_paces_requests_to_the_average),
		cmocka_unit_test(test_throttle_bps_limit_applies_per_direction),
		cmocka_unit_test(test_throttle_burst_allows_max_rate_for_max_length_then_average),
		cmocka_unit_test(test_throttle_iops_size_counts_large_requests_as_several),
		cmocka_unit_test(test_throttle_group_members_share_one_budget),
		cmocka_unit_test(test_throttle_moving_a_disk_between_groups_moves_its_budget),
		cmocka_unit_test(test_throttle_group_limits_set_through_one_member_apply_to_all),
		cmocka_unit_test(test_throttle_group_moves_race_safely_with_requests),
		cmocka_unit_test(test_throttle_live_change_takes_effect_at_once),
		cmocka_unit_test(test_throttle_config_rejects_total_with_read_or_write),
		cmocka_unit_test(test_throttle_config_set_accepts_qemu_and_libvirt_names),
		cmocka_unit_test(test_throttle_fields_list_the_limits_by_qmp_name),
		cmocka_unit_test(test_throttle_wait_paces_real_requests_within_ten_percent),
		cmocka_unit_test(test_throttle_live_change_applies_within_a_second_in_real_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
