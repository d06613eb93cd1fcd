/* Unit tests of virtio-net: --net option parsing, and the device through the
 * PCI transport with a SOCK_SEQPACKET socketpair as its backend (tx frames, rx
 * frames into mergeable and single buffers, waiting for buffers, drops,
 * config space) and, when /dev/net/tun is usable, a real tap's offloads. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "vmm/devices/virtio/net.h"
#include "driver.h"
#include "fakehost.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define MRG VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF)
#define QSIZE 64
/* Two split rings in the fake RAM: rx (queue 0) and tx (queue 1). */
#define RXBASE 0x10000u
#define TXBASE 0x20000u
#define BUF(i) (0x100000u + 0x10000u * (i))

/* ---- option parsing ---- */

static void test_vnet_parse_opts_reads_tap_fd_and_mac(void **state)
{
	struct vnet_opts o;

	(void)state;
	assert_int_equal(vnet_parse_opts("tap=tap7,mac=52:54:00:ab:cd:ef", &o), 0);
	assert_string_equal(o.tap, "tap7");
	assert_int_equal(o.fd, -1);
	assert_true(o.has_mac);
	assert_memory_equal(o.mac, ((uint8_t[]){ 0x52, 0x54, 0, 0xab, 0xcd, 0xef }), 6);
	vnet_opts_free(&o);
	assert_int_equal(vnet_parse_opts("fd=9", &o), 0);
	assert_null(o.tap);
	assert_int_equal(o.fd, 9);
	assert_false(o.has_mac);
	vnet_opts_free(&o);
}

static void test_vnet_parse_opts_errors_name_the_bad_key(void **state)
{
	struct vnet_opts o;
	static const struct { const char *spec, *needle; } bad[] = {
		{ "tap=t0,colour=red", "unknown key 'colour'" },
		{ "tap=t0,mac=01:00:5e:00:00:01", "mac=01:00:5e" },
		{ "tap=t0,mac=52:54:00:12:34", "mac=" },
		{ "tap=t0,mac=52:54:00:12:34:56:78", "mac=" },
		{ "fd=-1", "fd=-1" },
		{ "fd=x", "fd=x" },
		{ "tap=", "tap=''" },
		{ "tap=abcdefghijklmnopq", "interface name" },
		{ "mac=52:54:00:12:34:56", "tap=NAME or fd=N is missing" },
		{ "tap=t0,fd=3", "not both" },
		{ "tap", "'tap' is not key=value" },
		{ "", "is missing" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(vnet_parse_opts(bad[i].spec, &o), -1);
		assert_int_equal(err_code(), ERR_INVALID);
		if (!strstr(err_message(), bad[i].needle))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].spec, err_message(), bad[i].needle);
		vnet_opts_free(&o);
	}
}

/* ---- the device on a socketpair ---- */

struct tring {
	uint32_t base;          /* desc at base, avail at base+0x1000, used at base+0x2000 */
	uint16_t avail_idx, next_desc;
};

struct fx {
	struct drv d;
	uint8_t *ram;
	struct guest_mem gm;
	struct fake_host h;
	struct virtio_host_ops ops;
	struct vnet *n;
	int peer;               /* the other end of the backend socketpair */
	struct tring rx, tx;
	uint64_t features;
};

static void tr_desc(struct fx *f, struct tring *t, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	uint8_t *d = f->ram + t->base + 16u * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void tr_publish(struct fx *f, struct tring *t, uint16_t head)
{
	uint8_t *a = f->ram + t->base + 0x1000;

	memcpy(a + 4 + 2u * (t->avail_idx % QSIZE), &head, 2);
	t->avail_idx++;
	__atomic_store_n((uint16_t *)(a + 2), t->avail_idx, __ATOMIC_RELEASE);
}

static uint16_t tr_used_idx(struct fx *f, struct tring *t)
{
	return __atomic_load_n((uint16_t *)(f->ram + t->base + 0x2000 + 2), __ATOMIC_ACQUIRE);
}

static void tr_used(struct fx *f, struct tring *t, uint16_t i, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = f->ram + t->base + 0x2000 + 4 + 8u * (i % QSIZE);

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

/* Wait (the rx thread is asynchronous) until the used index reaches `want`. */
static bool tr_wait_used(struct fx *f, struct tring *t, uint16_t want, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (tr_used_idx(f, t) == want)
			return true;
		usleep(1000);
	}
	return tr_used_idx(f, t) == want;
}

static void fx_queue(struct fx *f, uint16_t q, uint32_t base, uint16_t vec)
{
	struct drv *d = &f->d;

	drv_wr(d, d->common + DRV_Q_SELECT, 2, q);
	drv_wr(d, d->common + DRV_Q_SIZE, 2, QSIZE);
	drv_wr(d, d->common + DRV_Q_MSIX, 2, vec);
	drv_wr(d, d->common + DRV_Q_DESC, 8, base);
	drv_wr(d, d->common + DRV_Q_DRIVER, 8, base + 0x1000);
	drv_wr(d, d->common + DRV_Q_DEVICE, 8, base + 0x2000);
	drv_wr(d, d->common + DRV_Q_ENABLE, 2, 1);
}

static int fx_setup(void **state, uint64_t features)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vnet_opts o;
	int sv[2];

	f->ram = calloc(1, 8u << 20);
	assert_int_equal(gm_init_fake(&f->gm, 0, f->ram, 8u << 20), 0);
	f->ops = fake_host_ops(&f->h);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	f->peer = sv[1];
	assert_int_equal(vnet_parse_opts("fd=0,mac=52:54:00:00:00:07", &o), 0);
	o.fd = sv[0];
	f->n = vnet_create(&o, &f->gm, &f->ops);
	vnet_opts_free(&o);
	assert_non_null(f->n);
	f->rx.base = RXBASE;
	f->tx.base = TXBASE;
	f->features = features;
	drv_bus_init(&f->d);
	assert_int_equal(pci_register_device(f->d.pci, virtio_pci_device(vnet_transport(f->n)), 3), 3);
	assert_int_equal(drv_attach(&f->d, 3), 5);
	assert_true(drv_negotiate(&f->d, V1 | features));
	drv_msix_vector(&f->d, 0, 0xfee00000, 0x30);
	drv_msix_vector(&f->d, 1, 0xfee00000, 0x31);
	drv_msix_vector(&f->d, 2, 0xfee00000, 0x32);
	drv_wr(&f->d, f->d.common + DRV_MSIX_CONFIG, 2, 0);
	fx_queue(f, 0, RXBASE, 1);
	fx_queue(f, 1, TXBASE, 2);
	drv_driver_ok(&f->d);
	assert_int_equal(drv_status(&f->d) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
	*state = f;
	return 0;
}

static int setup_mrg(void **state)
{
	return fx_setup(state, MRG | VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS));
}

static int setup_plain(void **state)
{
	return fx_setup(state, VIRTIO_BIT(VIRTIO_NET_F_MAC));
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pci_unregister_device(f->d.pci, virtio_pci_device(vnet_transport(f->n)));
	vnet_destroy(f->n);
	drv_bus_destroy(&f->d);
	close(f->peer);
	free(f->ram);
	free(f);
	return 0;
}

static void fill_frame(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 13 + (i >> 8));
}

/* Post `count` writable rx buffers of `len` bytes each (one descriptor each). */
static void post_rx(struct fx *f, unsigned first, unsigned count, uint32_t len)
{
	for (unsigned i = first; i < first + count; i++) {
		tr_desc(f, &f->rx, (uint16_t)i, BUF(i), len, VRING_DESC_F_WRITE, 0);
		tr_publish(f, &f->rx, (uint16_t)i);
	}
	drv_kick(&f->d, 0);
}

static uint64_t all_irqs(struct fx *f, int ms)
{
	uint64_t n = 0;

	for (uint32_t g = 24; g < 24 + f->h.next_gsi; g++)
		n += fake_irqs(&f->h, g, ms);
	return n;
}

static void test_vnet_tx_writes_frame_without_header_to_backend(void **state)
{
	struct fx *f = *state;
	uint8_t got[2048];
	uint32_t id, len;
	struct vnet_stats st;

	/* Header and first bytes in one descriptor, the rest in another. */
	memset(f->ram + BUF(0), 0, VNET_HDR_LEN);
	fill_frame(f->ram + BUF(0) + VNET_HDR_LEN, 100, 1);
	fill_frame(f->ram + BUF(1), 900, 2);
	tr_desc(f, &f->tx, 0, BUF(0), VNET_HDR_LEN + 100, VRING_DESC_F_NEXT, 1);
	tr_desc(f, &f->tx, 1, BUF(1), 900, 0, 0);
	tr_publish(f, &f->tx, 0);
	drv_kick(&f->d, 1);   /* served on the I/O thread */
	assert_true(tr_wait_used(f, &f->tx, 1, 2000));
	assert_int_equal(recv(f->peer, got, sizeof(got), MSG_DONTWAIT), 1000);
	assert_memory_equal(got, f->ram + BUF(0) + VNET_HDR_LEN, 100);
	assert_memory_equal(got + 100, f->ram + BUF(1), 900);
	assert_int_equal(tr_used_idx(f, &f->tx), 1);
	tr_used(f, &f->tx, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	assert_true(all_irqs(f, 0) >= 1);
	vnet_get_stats(f->n, &st);
	assert_int_equal(st.tx_packets, 1);
	assert_int_equal(st.tx_bytes, 1000);
}

static void test_vnet_tx_drops_header_only_and_oversized_chains(void **state)
{
	struct fx *f = *state;
	uint8_t got[16];
	struct vnet_stats st;

	tr_desc(f, &f->tx, 0, BUF(0), VNET_HDR_LEN, 0, 0);
	tr_publish(f, &f->tx, 0);
	tr_desc(f, &f->tx, 1, BUF(1), VNET_HDR_LEN + VNET_MAX_FRAME + 1, 0, 0);
	tr_publish(f, &f->tx, 1);
	drv_kick(&f->d, 1);
	assert_true(tr_wait_used(f, &f->tx, 2, 2000));   /* both returned to the driver */
	assert_int_equal(recv(f->peer, got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	vnet_get_stats(f->n, &st);
	assert_int_equal(st.tx_dropped, 2);
	assert_int_equal(st.tx_packets, 0);
	assert_int_equal(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void test_vnet_rx_spreads_frame_over_mergeable_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t frame[3000];
	uint16_t nb;
	uint32_t id, len, total = 0;

	post_rx(f, 0, 5, 1024);
	fill_frame(frame, sizeof(frame), 9);
	assert_int_equal(send(f->peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	assert_true(tr_wait_used(f, &f->rx, 3, 2000));
	memcpy(&nb, f->ram + BUF(0) + 10, 2);
	assert_int_equal(nb, 3);
	for (uint16_t i = 0; i < 3; i++) {
		tr_used(f, &f->rx, i, &id, &len);
		assert_int_equal(id, i);
		assert_int_equal(len, i < 2 ? 1024 : 3012 - 2048);
		total += len;
	}
	assert_int_equal(total, 3012);
	/* The header is zero apart from num_buffers: a socket has no offloads. */
	assert_memory_equal(f->ram + BUF(0), ((uint8_t[10]){ 0 }), 10);
	assert_memory_equal(f->ram + BUF(0) + VNET_HDR_LEN, frame, 1024 - VNET_HDR_LEN);
	assert_memory_equal(f->ram + BUF(1), frame + 1012, 1024);
	assert_memory_equal(f->ram + BUF(2), frame + 2036, 3000 - 2036);
	assert_true(all_irqs(f, 1000) >= 1);
}

static void test_vnet_rx_accepts_later_mergeable_buffers_smaller_than_header(void **state)
{
	struct fx *f = *state;
	uint8_t frame[100];
	uint16_t nb;
	uint32_t id, len;

	fill_frame(frame, sizeof(frame), 8);
	post_rx(f, 0, 1, 100);
	post_rx(f, 1, 1, 8);    /* only the first buffer must hold the header */
	post_rx(f, 2, 1, 100);
	assert_int_equal(send(f->peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	assert_true(tr_wait_used(f, &f->rx, 3, 2000));
	memcpy(&nb, f->ram + BUF(0) + 10, 2);
	assert_int_equal(nb, 3);
	tr_used(f, &f->rx, 1, &id, &len);
	assert_int_equal(len, 8);
	tr_used(f, &f->rx, 2, &id, &len);
	assert_int_equal(len, 112 - 108);
	assert_memory_equal(f->ram + BUF(1), frame + 88, 8);
	assert_memory_equal(f->ram + BUF(2), frame + 96, 4);
}

static void test_vnet_rx_keeps_frame_until_guest_posts_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t frame[1500];
	uint32_t id, len;
	struct vnet_stats st;

	fill_frame(frame, sizeof(frame), 4);
	assert_int_equal(send(f->peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	/* Only part of the buffers it needs: the frame waits, partly placed. */
	post_rx(f, 0, 1, 1000);
	usleep(50 * 1000);
	assert_int_equal(tr_used_idx(f, &f->rx), 0);
	post_rx(f, 1, 1, 1000);
	assert_true(tr_wait_used(f, &f->rx, 2, 2000));
	tr_used(f, &f->rx, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, 1512 - 1000);
	assert_memory_equal(f->ram + BUF(1), frame + 988, 512);
	vnet_get_stats(f->n, &st);
	assert_int_equal(st.rx_packets, 1);
	assert_int_equal(st.rx_bytes, 1500);
	assert_int_equal(st.rx_dropped, 0);
}

/* More frames than one turn of the I/O thread moves (VNET_RX_BUDGET): the
 * rest follow on later turns, and a tx kick in between is served. */
static void test_vnet_rx_burst_beyond_one_turn_is_delivered_whole(void **state)
{
	struct fx *f = *state;
	uint8_t frame[200], got[256];
	uint32_t id, len;

	for (unsigned i = 0; i < QSIZE; i++) {
		fill_frame(frame, sizeof(frame), (uint8_t)i);
		assert_int_equal(send(f->peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	}
	memset(f->ram + BUF(0), 0, VNET_HDR_LEN);
	fill_frame(f->ram + BUF(0) + VNET_HDR_LEN, 60, 7);
	tr_desc(f, &f->tx, 0, BUF(0), VNET_HDR_LEN + 60, 0, 0);
	tr_publish(f, &f->tx, 0);
	post_rx(f, 1, QSIZE - 1, 1024);
	drv_kick(&f->d, 1);
	assert_true(tr_wait_used(f, &f->rx, QSIZE - 1, 2000));
	assert_true(tr_wait_used(f, &f->tx, 1, 2000));
	assert_int_equal(recv(f->peer, got, sizeof(got), MSG_DONTWAIT), 60);
	tr_used(f, &f->rx, QSIZE - 2, &id, &len);
	assert_int_equal(id, QSIZE - 1);
	assert_int_equal(len, VNET_HDR_LEN + sizeof(frame));
	fill_frame(frame, sizeof(frame), QSIZE - 2);
	assert_memory_equal(f->ram + BUF(QSIZE - 1) + VNET_HDR_LEN, frame, sizeof(frame));
	/* The last frame waits for a buffer, then comes. */
	post_rx(f, 0, 1, 1024);
	assert_true(tr_wait_used(f, &f->rx, QSIZE, 2000));
}

static void test_vnet_rx_without_mrg_drops_frame_too_big_for_one_buffer(void **state)
{
	struct fx *f = *state;
	uint8_t big[2000], small[60];
	uint16_t nb;
	uint32_t id, len;
	struct vnet_stats st;

	fill_frame(big, sizeof(big), 5);
	fill_frame(small, sizeof(small), 6);
	assert_int_equal(send(f->peer, big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_int_equal(send(f->peer, small, sizeof(small), 0), (ssize_t)sizeof(small));
	post_rx(f, 0, 2, 1536);
	assert_true(tr_wait_used(f, &f->rx, 2, 2000));
	tr_used(f, &f->rx, 0, &id, &len);
	assert_int_equal(len, 0);          /* the big frame: buffer returned empty */
	tr_used(f, &f->rx, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, VNET_HDR_LEN + 60);
	memcpy(&nb, f->ram + BUF(1) + 10, 2);
	assert_int_equal(nb, 1);
	assert_memory_equal(f->ram + BUF(1) + VNET_HDR_LEN, small, 60);
	vnet_get_stats(f->n, &st);
	assert_int_equal(st.rx_dropped, 1);
	assert_int_equal(st.rx_packets, 1);
}

static void test_vnet_rx_read_only_buffer_is_refused_not_written(void **state)
{
	struct fx *f = *state;
	uint8_t frame[100];
	uint32_t id, len;

	memset(f->ram + BUF(0), 0xaa, 256);
	tr_desc(f, &f->rx, 0, BUF(0), 256, 0, 0);   /* no WRITE flag */
	tr_publish(f, &f->rx, 0);
	post_rx(f, 1, 1, 256);
	fill_frame(frame, sizeof(frame), 7);
	assert_int_equal(send(f->peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	assert_int_equal(send(f->peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	assert_true(tr_wait_used(f, &f->rx, 2, 2000));
	tr_used(f, &f->rx, 0, &id, &len);
	assert_int_equal(len, 0);
	for (unsigned i = 0; i < 256; i++)
		assert_int_equal(f->ram[BUF(0) + i], 0xaa);
	tr_used(f, &f->rx, 1, &id, &len);
	assert_int_equal(len, VNET_HDR_LEN + 100);
}

static void test_vnet_config_has_mac_link_up_and_no_offloads_on_socket(void **state)
{
	struct fx *f = *state;
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 7 };
	uint64_t feats = drv_device_features(&f->d);

	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(drv_rd(&f->d, f->d.device + i, 1), mac[i]);
	assert_int_equal(drv_rd(&f->d, f->d.device + 6, 2), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(drv_rd(&f->d, f->d.device + 8, 2), 1);
	assert_true(feats & MRG);
	assert_true(feats & VIRTIO_BIT(VIRTIO_NET_F_MAC));
	assert_false(feats & VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	assert_false(feats & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
	assert_false(vnet_has_offloads(f->n));
	assert_int_equal(vnet_tap_offloads(f->n), 0);
}

static void test_vnet_reset_then_renegotiate_delivers_again(void **state)
{
	struct fx *f = *state;
	uint8_t frame[200];

	fill_frame(frame, sizeof(frame), 3);
	assert_int_equal(send(f->peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	post_rx(f, 0, 1, 100);   /* too small: the frame is half placed and held */
	usleep(20 * 1000);
	drv_wr(&f->d, f->d.common + DRV_STATUS, 1, 0);
	assert_int_equal(drv_status(&f->d), 0);
	memset(f->ram + RXBASE, 0, 0x3000);
	memset(f->ram + TXBASE, 0, 0x3000);
	f->rx.avail_idx = f->tx.avail_idx = 0;
	assert_true(drv_negotiate(&f->d, V1 | f->features));
	fx_queue(f, 0, RXBASE, 1);
	fx_queue(f, 1, TXBASE, 2);
	drv_driver_ok(&f->d);
	post_rx(f, 0, 1, 1024);
	assert_int_equal(send(f->peer, frame, 50, 0), 50);
	assert_true(tr_wait_used(f, &f->rx, 1, 2000));
	assert_memory_equal(f->ram + BUF(0) + VNET_HDR_LEN, frame, 50);
}

static double cpu_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_vnet_backend_hangup_does_not_spin_the_io_thread(void **state)
{
	struct fx *f = *state;
	double before;

	post_rx(f, 0, 4, 1024);
	usleep(20 * 1000);
	close(f->peer);
	f->peer = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);   /* for teardown */
	before = cpu_seconds();
	usleep(300 * 1000);
	/* A spinning poll loop would burn ~0.3 s of CPU here. */
	assert_true(cpu_seconds() - before < 0.1);
	assert_int_equal(tr_used_idx(f, &f->rx), 0);
}

/* ---- a real tap ---- */

static void test_vnet_tap_offers_offloads_and_sets_them_from_guest_features(void **state)
{
	struct vnet_opts o;
	struct vnet *n;
	struct drv d;
	struct fake_host h;
	struct virtio_host_ops ops = fake_host_ops(&h);
	uint8_t *ram = calloc(1, 1u << 20);
	struct guest_mem gm;
	char name[32];
	uint64_t feats, want;

	(void)state;
	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		free(ram);
		skip();
	}
	snprintf(name, sizeof(name), "vnt%d", (int)getpid() % 100000);
	gm_init_fake(&gm, 0, ram, 1u << 20);
	assert_int_equal(vnet_parse_opts("tap=x", &o), 0);
	free(o.tap);
	o.tap = strdup(name);
	n = vnet_create(&o, &gm, &ops);
	vnet_opts_free(&o);
	if (!n) {
		/* No CAP_NET_ADMIN (containers): nothing to test here. */
		free(ram);
		skip();
	}
	assert_true(vnet_has_offloads(n));
	drv_bus_init(&d);
	assert_int_equal(pci_register_device(d.pci, virtio_pci_device(vnet_transport(n)), 3), 3);
	drv_attach(&d, 3);
	feats = drv_device_features(&d);
	want = VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
	       VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
	       VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | MRG;
	assert_int_equal(feats & want, want);
	assert_true(drv_negotiate(&d, V1 | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
					  VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | MRG));
	drv_driver_ok(&d);
	assert_int_equal(vnet_tap_offloads(n), TUN_F_CSUM | TUN_F_TSO4);
	pci_unregister_device(d.pci, virtio_pci_device(vnet_transport(n)));
	vnet_destroy(n);
	drv_bus_destroy(&d);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vnet_parse_opts_reads_tap_fd_and_mac),
		cmocka_unit_test(test_vnet_parse_opts_errors_name_the_bad_key),
		cmocka_unit_test_setup_teardown(test_vnet_tx_writes_frame_without_header_to_backend, setup_mrg, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_tx_drops_header_only_and_oversized_chains, setup_mrg, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_rx_spreads_frame_over_mergeable_buffers, setup_mrg, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_rx_accepts_later_mergeable_buffers_smaller_than_header, setup_mrg,
						teardown),
		cmocka_unit_test_setup_teardown(test_vnet_rx_keeps_frame_until_guest_posts_buffers, setup_mrg, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_rx_burst_beyond_one_turn_is_delivered_whole, setup_mrg, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_rx_without_mrg_drops_frame_too_big_for_one_buffer, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_vnet_rx_read_only_buffer_is_refused_not_written, setup_mrg, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_config_has_mac_link_up_and_no_offloads_on_socket, setup_mrg,
						teardown),
		cmocka_unit_test_setup_teardown(test_vnet_reset_then_renegotiate_delivers_again, setup_mrg, teardown),
		cmocka_unit_test_setup_teardown(test_vnet_backend_hangup_does_not_spin_the_io_thread, setup_mrg, teardown),
		cmocka_unit_test(test_vnet_tap_offers_offloads_and_sets_them_from_guest_features),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
