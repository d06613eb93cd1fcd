/* Unit tests of virtio-console with multiport: --channel parsing, the
 * control handshake (DEVICE_READY -> PORT_ADD, PORT_READY -> CONSOLE_PORT /
 * PORT_NAME / PORT_OPEN), bytes crossing a named port and the console port
 * both ways through their unix sockets, held input, hostile control messages. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "vmm/devices/virtio/console.h"
#include "vmm/evloop.h"
#include "driver.h"
#include "fakehost.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define MP VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT)
#define QSIZE 64
#define NQ 6                               /* port 0, control, port 1 */
#define QBASE(q) (0x10000u * ((q) + 1))    /* desc; avail +0x1000; used +0x2000 */
#define BUF(q, i) (0x100000u + 0x20000u * (q) + 0x400u * (i))
#define AGENT "org.qemu.guest_agent.0"

/* ---- parsing ---- */

static void test_vcon_parse_channel_reads_name_and_path(void **state)
{
	struct vcon_channel ch;

	(void)state;
	assert_int_equal(vcon_parse_channel("name=" AGENT ",path=/run/qga.sock", &ch), 0);
	assert_string_equal(ch.name, AGENT);
	assert_string_equal(ch.path, "/run/qga.sock");
	vcon_channel_free(&ch);
}

static void test_vcon_parse_channel_errors_name_the_bad_key(void **state)
{
	struct vcon_channel ch;
	static const struct { const char *spec, *needle; } bad[] = {
		{ "name=a,path=/x,colour=red", "unknown key 'colour'" },
		{ "path=/x", "name= is missing" },
		{ "name=a", "path= is missing" },
		{ "name=a b,path=/x", "name='a b'" },
		{ "name=a/b,path=/x", "name='a/b'" },
		{ "name=,path=/x", "name=''" },
		{ "name=a,path=", "path= is empty" },
		{ "name", "'name' is not key=value" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(vcon_parse_channel(bad[i].spec, &ch), -1);
		assert_int_equal(err_code(), ERR_INVALID);
		if (!strstr(err_message(), bad[i].needle))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].spec, err_message(), bad[i].needle);
		vcon_channel_free(&ch);
	}
}

/* ---- the device ---- */

struct fx {
	struct drv d;
	uint8_t *ram;
	struct guest_mem gm;
	struct fake_host h;
	struct virtio_host_ops ops;
	struct evloop *loop;
	struct vcon *c;
	char csock[64], asock[64];
	uint16_t avail[NQ], next[NQ], seen[NQ];
};

static void q_desc(struct fx *f, unsigned q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags)
{
	uint8_t *d = f->ram + QBASE(q) + 16u * i;
	uint16_t next = 0;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void q_publish(struct fx *f, unsigned q, uint16_t head)
{
	uint8_t *a = f->ram + QBASE(q) + 0x1000;

	memcpy(a + 4 + 2u * (f->avail[q] % QSIZE), &head, 2);
	f->avail[q]++;
	__atomic_store_n((uint16_t *)(a + 2), f->avail[q], __ATOMIC_RELEASE);
}

static uint16_t q_used_idx(struct fx *f, unsigned q)
{
	return __atomic_load_n((uint16_t *)(f->ram + QBASE(q) + 0x2000 + 2), __ATOMIC_ACQUIRE);
}

static void q_used(struct fx *f, unsigned q, uint16_t i, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = f->ram + QBASE(q) + 0x2000 + 4 + 8u * (i % QSIZE);

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

/* Post `n` writable buffers of `len` bytes on receive queue q and kick. */
static void post_in(struct fx *f, unsigned q, unsigned n, uint32_t len)
{
	for (unsigned k = 0; k < n; k++) {
		uint16_t i = (uint16_t)(f->next[q]++ % QSIZE);

		q_desc(f, q, i, BUF(q, i), len, VRING_DESC_F_WRITE);
		q_publish(f, q, i);
	}
	drv_kick(&f->d, (uint16_t)q);
}

/* Send `len` bytes from the driver on transmit queue q and kick. */
static void send_out(struct fx *f, unsigned q, const void *data, uint32_t len)
{
	uint16_t i = (uint16_t)(f->next[q]++ % QSIZE);

	memcpy(f->ram + BUF(q, i), data, len);
	q_desc(f, q, i, BUF(q, i), len, 0);
	q_publish(f, q, i);
	drv_kick(&f->d, (uint16_t)q);
}

static void send_ctl(struct fx *f, uint32_t id, uint16_t event, uint16_t value)
{
	uint8_t m[8];

	memcpy(m, &id, 4);
	memcpy(m + 4, &event, 2);
	memcpy(m + 6, &value, 2);
	send_out(f, 3, m, 8);
}

/* The next control message the device put in the control receiveq; false if none. */
static bool next_ctl(struct fx *f, uint32_t *id, uint16_t *event, uint16_t *value, char *name, size_t cap)
{
	uint32_t head, len;
	const uint8_t *b;

	if (f->seen[2] == q_used_idx(f, 2))
		return false;
	q_used(f, 2, f->seen[2]++, &head, &len);
	assert_true(len >= 8 && len < 0x400);
	b = f->ram + BUF(2, head);
	memcpy(id, b, 4);
	memcpy(event, b + 4, 2);
	memcpy(value, b + 6, 2);
	if (name) {
		size_t n = MIN(len - 8, cap - 1);

		memcpy(name, b + 8, n);
		name[n] = '\0';
	}
	return true;
}

static void expect_ctl(struct fx *f, uint32_t id, uint16_t event, uint16_t value)
{
	uint32_t gid;
	uint16_t gev, gval;

	if (!next_ctl(f, &gid, &gev, &gval, NULL, 0))
		fail_msg("no control message; wanted event %u for port %u", event, id);
	if (gid != id || gev != event || gval != value)
		fail_msg("control message {%u, %u, %u}, wanted {%u, %u, %u}", gid, gev, gval, id, event, value);
}

static void fx_queue(struct fx *f, uint16_t q)
{
	struct drv *d = &f->d;

	drv_wr(d, d->common + DRV_Q_SELECT, 2, q);
	drv_wr(d, d->common + DRV_Q_SIZE, 2, QSIZE);
	drv_wr(d, d->common + DRV_Q_MSIX, 2, 1);
	drv_wr(d, d->common + DRV_Q_DESC, 8, QBASE(q));
	drv_wr(d, d->common + DRV_Q_DRIVER, 8, QBASE(q) + 0x1000);
	drv_wr(d, d->common + DRV_Q_DEVICE, 8, QBASE(q) + 0x2000);
	drv_wr(d, d->common + DRV_Q_ENABLE, 2, 1);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vcon_channel ch = { .name = AGENT, .path = f->asock };
	struct vcon_opts o = { 0 };
	char cspec[80];

	snprintf(f->csock, sizeof(f->csock), "/tmp/vcon-%d-c.sock", (int)getpid());
	snprintf(f->asock, sizeof(f->asock), "/tmp/vcon-%d-a.sock", (int)getpid());
	snprintf(cspec, sizeof(cspec), "unix:%s", f->csock);
	unlink(f->csock);
	unlink(f->asock);
	f->ram = calloc(1, 8u << 20);
	assert_int_equal(gm_init_fake(&f->gm, 0, f->ram, 8u << 20), 0);
	f->ops = fake_host_ops(&f->h);
	f->loop = evloop_new();
	assert_non_null(f->loop);
	o = (struct vcon_opts){ .gm = &f->gm, .host = &f->ops, .iothread = false, .loop = f->loop,
				.console_spec = cspec, .channels = &ch, .nchannels = 1 };
	f->c = vcon_create(&o);
	assert_non_null(f->c);
	drv_bus_init(&f->d);
	assert_int_equal(pci_register_device(f->d.pci, virtio_pci_device(vcon_transport(f->c)), 5), 5);
	assert_int_equal(drv_attach(&f->d, 5), 5);
	assert_true(drv_device_features(&f->d) & MP);
	assert_true(drv_negotiate(&f->d, V1 | MP));
	drv_msix_vector(&f->d, 0, 0xfee00000, 0x30);
	drv_msix_vector(&f->d, 1, 0xfee00000, 0x31);
	drv_wr(&f->d, f->d.common + DRV_MSIX_CONFIG, 2, 0);
	assert_int_equal(drv_rd(&f->d, f->d.common + DRV_NUM_QUEUES, 2), NQ);
	for (uint16_t q = 0; q < NQ; q++)
		fx_queue(f, q);
	drv_driver_ok(&f->d);
	assert_int_equal(drv_status(&f->d) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pci_unregister_device(f->d.pci, virtio_pci_device(vcon_transport(f->c)));
	vcon_destroy(f->c);
	evloop_free(f->loop);
	drv_bus_destroy(&f->d);
	unlink(f->csock);
	unlink(f->asock);
	free(f->ram);
	free(f);
	return 0;
}

/* The guest side of the handshake as Linux's virtio_console does it. */
static void handshake(struct fx *f)
{
	post_in(f, 2, 16, 0x400);
	send_ctl(f, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_ctl(f, 0, VIRTIO_CONSOLE_PORT_ADD, 0);
	expect_ctl(f, 1, VIRTIO_CONSOLE_PORT_ADD, 0);
	send_ctl(f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	send_ctl(f, 1, VIRTIO_CONSOLE_PORT_READY, 1);
}

static int connect_to(const char *path, struct evloop *loop)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	for (int i = 0; i < 5; i++)
		evloop_run_once(loop, 20);   /* the chardev accepts the client */
	return fd;
}

static ssize_t read_wait(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	if (poll(&p, 1, ms) != 1)
		return -1;
	return read(fd, buf, len);
}

static void test_vcon_handshake_adds_ports_names_agent_and_marks_console(void **state)
{
	struct fx *f = *state;
	uint32_t id;
	uint16_t ev, val;
	char name[64];

	handshake(f);
	expect_ctl(f, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
	expect_ctl(f, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	assert_true(next_ctl(f, &id, &ev, &val, name, sizeof(name)));
	assert_int_equal(id, 1);
	assert_int_equal(ev, VIRTIO_CONSOLE_PORT_NAME);
	assert_string_equal(name, AGENT);
	expect_ctl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	assert_false(next_ctl(f, &id, &ev, &val, NULL, 0));
	assert_true(vcon_port_ready(f->c, 0));
	assert_true(vcon_port_ready(f->c, 1));
	assert_false(vcon_guest_open(f->c, 1));
	send_ctl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	assert_true(vcon_guest_open(f->c, 1));
	/* max_nr_ports in config space */
	assert_int_equal(drv_rd(&f->d, f->d.device + 4, 4), 2);
}

static void test_vcon_control_messages_wait_for_guest_buffers(void **state)
{
	struct fx *f = *state;
	uint32_t id;
	uint16_t ev, val;

	send_ctl(f, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);   /* no control receive buffer yet */
	assert_false(next_ctl(f, &id, &ev, &val, NULL, 0));
	post_in(f, 2, 1, 0x400);
	expect_ctl(f, 0, VIRTIO_CONSOLE_PORT_ADD, 0);
	assert_false(next_ctl(f, &id, &ev, &val, NULL, 0));
	post_in(f, 2, 1, 0x400);
	expect_ctl(f, 1, VIRTIO_CONSOLE_PORT_ADD, 0);
}

static void test_vcon_named_port_carries_bytes_both_ways(void **state)
{
	struct fx *f = *state;
	int cl = connect_to(f->asock, f->loop);
	static const char out[] = "{\"execute\":\"guest-ping\"}\n", in[] = "{\"return\": {}}\n";
	char got[128];
	uint32_t id, len;

	handshake(f);
	/* Guest -> host: port 1 transmitq is queue 5. */
	send_out(f, 5, out, sizeof(out) - 1);
	assert_int_equal(q_used_idx(f, 5), 1);
	assert_int_equal(read_wait(cl, got, sizeof(got), 1000), (ssize_t)sizeof(out) - 1);
	assert_memory_equal(got, out, sizeof(out) - 1);
	/* Host -> guest: held until the guest opens the port and has buffers. */
	post_in(f, 4, 4, 0x400);
	assert_int_equal(write(cl, in, sizeof(in) - 1), (ssize_t)sizeof(in) - 1);
	for (int i = 0; i < 5; i++)
		evloop_run_once(f->loop, 10);
	assert_int_equal(q_used_idx(f, 4), 0);
	send_ctl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	for (int i = 0; i < 10 && q_used_idx(f, 4) == 0; i++)
		evloop_run_once(f->loop, 10);
	assert_int_equal(q_used_idx(f, 4), 1);
	q_used(f, 4, 0, &id, &len);
	assert_int_equal(len, sizeof(in) - 1);
	assert_memory_equal(f->ram + BUF(4, id), in, sizeof(in) - 1);
	close(cl);
}

static void test_vcon_input_beyond_guest_buffers_is_held_not_lost(void **state)
{
	struct fx *f = *state;
	int cl = connect_to(f->asock, f->loop);
	uint8_t data[600], got[600];
	uint32_t id, len;
	size_t off = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	handshake(f);
	send_ctl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	post_in(f, 4, 1, 256);
	assert_int_equal(write(cl, data, sizeof(data)), (ssize_t)sizeof(data));
	for (int i = 0; i < 10 && q_used_idx(f, 4) < 1; i++)
		evloop_run_once(f->loop, 10);
	assert_int_equal(q_used_idx(f, 4), 1);
	post_in(f, 4, 2, 256);   /* the rx kick resumes the chardev */
	for (int i = 0; i < 20 && q_used_idx(f, 4) < 3; i++)
		evloop_run_once(f->loop, 10);
	assert_int_equal(q_used_idx(f, 4), 3);
	for (uint16_t u = 0; u < 3; u++) {
		q_used(f, 4, u, &id, &len);
		memcpy(got + off, f->ram + BUF(4, id), len);
		off += len;
	}
	assert_int_equal(off, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	close(cl);
}

static void test_vcon_console_port_output_reaches_its_socket(void **state)
{
	struct fx *f = *state;
	int cl = connect_to(f->csock, f->loop);
	char got[64];

	handshake(f);
	send_out(f, 1, "login: ", 7);
	assert_int_equal(read_wait(cl, got, sizeof(got), 1000), 7);
	assert_memory_equal(got, "login: ", 7);
	post_in(f, 0, 2, 64);
	assert_int_equal(write(cl, "root\n", 5), 5);
	for (int i = 0; i < 10 && q_used_idx(f, 0) == 0; i++)
		evloop_run_once(f->loop, 10);
	assert_int_equal(q_used_idx(f, 0), 1);   /* a console port counts as open from PORT_READY */
	assert_memory_equal(f->ram + BUF(0, 0), "root\n", 5);
	close(cl);
}

static void test_vcon_hostile_control_messages_are_ignored(void **state)
{
	struct fx *f = *state;
	uint32_t id;
	uint16_t ev, val;

	post_in(f, 2, 4, 0x400);
	send_ctl(f, 7, VIRTIO_CONSOLE_PORT_READY, 1);      /* no such port */
	send_ctl(f, 0xffffffffu, VIRTIO_CONSOLE_PORT_OPEN, 1);
	send_ctl(f, 1, 0x7777, 1);                         /* unknown event */
	send_out(f, 3, "\x01\x00", 2);                     /* short message */
	send_ctl(f, 0, VIRTIO_CONSOLE_DEVICE_READY, 0);    /* the driver failed */
	assert_false(next_ctl(f, &id, &ev, &val, NULL, 0));
	assert_int_equal(q_used_idx(f, 3), 5);
	assert_false(vcon_port_ready(f->c, 1));
	assert_int_equal(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void test_vcon_create_refuses_duplicate_names_and_too_many_channels(void **state)
{
	struct vcon_channel ch[VCON_MAX_CHANNELS + 1];
	struct vcon_opts o = { .channels = ch };
	struct guest_mem gm = { 0 };

	(void)state;
	o.gm = &gm;
	for (unsigned i = 0; i < ARRAY_SIZE(ch); i++)
		ch[i] = (struct vcon_channel){ .name = "same", .path = "/nonexistent/x" };
	o.nchannels = 2;
	assert_null(vcon_create(&o));
	assert_non_null(strstr(err_message(), "two channels named 'same'"));
	o.nchannels = VCON_MAX_CHANNELS + 1;
	assert_null(vcon_create(&o));
	assert_non_null(strstr(err_message(), "at most"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcon_parse_channel_reads_name_and_path),
		cmocka_unit_test(test_vcon_parse_channel_errors_name_the_bad_key),
		cmocka_unit_test_setup_teardown(test_vcon_handshake_adds_ports_names_agent_and_marks_console, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vcon_control_messages_wait_for_guest_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vcon_named_port_carries_bytes_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vcon_input_beyond_guest_buffers_is_held_not_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vcon_console_port_output_reaches_its_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vcon_hostile_control_messages_are_ignored, setup, teardown),
		cmocka_unit_test(test_vcon_create_refuses_duplicate_names_and_too_many_channels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
