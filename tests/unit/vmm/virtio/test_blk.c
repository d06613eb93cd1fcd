/* Unit tests of virtio-blk: --disk option parsing, request parsing, and the
 * device through the PCI transport on a raw temp file (read, write, flush,
 * get-id, discard, write-zeroes, read-only, range checks, config space,
 * statistics, QMP JSON, the worker pool and its interrupt batching). */
#include <fcntl.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/util.h"
#include "vmm/devices/virtio/blk.h"
#include "driver.h"
#include "fakehost.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define DISK_SIZE (4u << 20)
#define HDR(slot) (0x20000u + 16u * (slot))
#define STATUS(slot) (0x30000u + (slot))
#define DATA(slot) (0x100000u + 0x10000u * (slot))

/* ---- option parsing ---- */

static void test_vblk_parse_opts_reads_every_key(void **state)
{
	struct vblk_opts o;

	(void)state;
	assert_int_equal(vblk_parse_opts("path=/d/a.img,readonly=on,serial=SN1,cache=none,aio=io_uring,"
					 "format=qcow2,id=disk0", &o), 0);
	assert_string_equal(o.path, "/d/a.img");
	assert_true(o.readonly);
	assert_string_equal(o.serial, "SN1");
	assert_int_equal(o.cache, BLK_CACHE_NONE);
	assert_int_equal(o.aio, VBLK_AIO_IO_URING);
	assert_string_equal(o.format, "qcow2");
	assert_string_equal(o.id, "disk0");
	vblk_opts_free(&o);
}

static void test_vblk_parse_opts_defaults_bare_path_and_escaped_comma(void **state)
{
	struct vblk_opts o;

	(void)state;
	assert_int_equal(vblk_parse_opts("a,,b.img,readonly=off", &o), 0);
	assert_string_equal(o.path, "a,b.img");
	assert_false(o.readonly);
	assert_int_equal(o.cache, BLK_CACHE_WRITEBACK);
	assert_int_equal(o.aio, VBLK_AIO_THREADS);
	assert_null(o.serial);
	assert_null(o.format);
	assert_int_equal(o.workers, 2);
	vblk_opts_free(&o);
}

static void test_vblk_parse_opts_reads_io_limits_and_group(void **state)
{
	struct vblk_opts o;

	(void)state;
	assert_int_equal(vblk_parse_opts("path=/x,iops_total=200,bps_rd=1048576,iops_rd_max=400,group=g1", &o), -1);
	assert_non_null(strstr(err_message(), "iops"));
	vblk_opts_free(&o);
	assert_int_equal(vblk_parse_opts("path=/x,iops_total=200,bps_rd=1048576,group=g1", &o), 0);
	assert_int_equal(o.throttle.l[THROTTLE_OPS_TOTAL].avg, 200);
	assert_int_equal(o.throttle.l[THROTTLE_BPS_READ].avg, 1048576);
	assert_string_equal(o.group, "g1");
	vblk_opts_free(&o);
	/* total and read/write of the same kind exclude each other, as in QEMU */
	assert_int_equal(vblk_parse_opts("path=/x,iops=10,iops_wr=5", &o), -1);
	assert_non_null(strstr(err_message(), "iops"));
	vblk_opts_free(&o);
	assert_int_equal(vblk_parse_opts("path=/x,iops=lots", &o), -1);
	assert_non_null(strstr(err_message(), "iops"));
	vblk_opts_free(&o);
}

static void test_vblk_parse_opts_errors_name_the_bad_key(void **state)
{
	struct vblk_opts o;
	static const struct { const char *spec, *needle; } bad[] = {
		{ "path=x,colour=red", "unknown key 'colour'" },
		{ "path=x,readonly=maybe", "readonly=maybe" },
		{ "path=x,cache=directsync", "cache=directsync" },
		{ "path=x,aio=native", "aio=native" },
		{ "path=x,format=vmdk", "format=vmdk" },
		{ "path=x,serial=123456789012345678901", "serial=" },
		{ "readonly=on", "path= is missing" },
		{ "path=x,oops", "'oops' is not key=value" },
		{ "path=", "path= is empty" },
		{ "", "path= is missing" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(vblk_parse_opts(bad[i].spec, &o), -1);
		assert_int_equal(err_code(), ERR_INVALID);
		if (!strstr(err_message(), bad[i].needle))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].spec, err_message(), bad[i].needle);
		vblk_opts_free(&o);
	}
}

/* ---- request parsing ---- */

static void test_vblk_parse_request_splits_header_payload_and_status(void **state)
{
	uint8_t hdr[16] = { 0 }, data[1024], st[1];
	struct vblk_req r = { 0 };
	struct iovec iov[3] = { { hdr, 16 }, { data, 1024 }, { st, 1 } };

	(void)state;
	hdr[0] = VIRTIO_BLK_T_IN;
	hdr[8] = 7;
	r.elem = (struct vq_elem){ .head = 0, .out_num = 1, .in_num = 2, .out_len = 16, .in_len = 1025,
				   .iov = iov };
	assert_int_equal(vblk_parse_request(&r), 0);
	assert_int_equal(r.type, VIRTIO_BLK_T_IN);
	assert_int_equal(r.sector, 7);
	assert_int_equal(r.ndata, 1);
	assert_int_equal(r.data_len, 1024);
	assert_ptr_equal(r.data[0].iov_base, data);
	assert_ptr_equal(r.status, st);
	free(r.data);
}

static void test_vblk_parse_request_handles_header_and_data_in_one_segment(void **state)
{
	uint8_t buf[16 + 512], inbuf[4];
	struct vblk_req r = { 0 };
	struct iovec iov[2] = { { buf, sizeof(buf) }, { inbuf, 4 } };

	(void)state;
	memset(buf, 0, 16);
	buf[0] = VIRTIO_BLK_T_OUT;
	r.elem = (struct vq_elem){ .out_num = 1, .in_num = 1, .out_len = sizeof(buf), .in_len = 4, .iov = iov };
	assert_int_equal(vblk_parse_request(&r), 0);
	assert_int_equal(r.type, VIRTIO_BLK_T_OUT);
	assert_int_equal(r.data_len, 512);
	assert_ptr_equal(r.data[0].iov_base, buf + 16);
	assert_int_equal(r.data[0].iov_len, 512);
	assert_ptr_equal(r.status, inbuf + 3);   /* the last writable byte */
	free(r.data);
}

static void test_vblk_parse_request_header_split_across_segments(void **state)
{
	uint8_t a[10] = { VIRTIO_BLK_T_IN }, b[6] = { 0, 0, 0x34, 0x12 }, in[513];
	struct vblk_req r = { 0 };
	struct iovec iov[3] = { { a, 10 }, { b, 6 }, { in, 513 } };

	(void)state;
	r.elem = (struct vq_elem){ .out_num = 2, .in_num = 1, .out_len = 16, .in_len = 513, .iov = iov };
	assert_int_equal(vblk_parse_request(&r), 0);
	assert_int_equal(r.sector, 0x123400000000ULL);
	assert_int_equal(r.data_len, 512);
	assert_int_equal(r.data[0].iov_len, 512);   /* status byte trimmed off the same segment */
	assert_ptr_equal(r.status, in + 512);
	free(r.data);
}

static void test_vblk_parse_request_refuses_chain_without_status_or_header(void **state)
{
	uint8_t hdr[16] = { 0 }, small[8];
	struct vblk_req r = { 0 };
	struct iovec iov[2] = { { hdr, 16 }, { small, 8 } };

	(void)state;
	r.elem = (struct vq_elem){ .out_num = 2, .in_num = 0, .out_len = 24, .iov = iov };
	assert_int_equal(vblk_parse_request(&r), -1);
	assert_non_null(strstr(err_message(), "status byte"));
	iov[0].iov_len = 8;
	r.elem = (struct vq_elem){ .out_num = 1, .in_num = 1, .out_len = 8, .in_len = 8, .iov = iov };
	assert_int_equal(vblk_parse_request(&r), -1);
	free(r.data);
}

/* ---- the device ---- */

struct fx {
	struct drv d;
	struct ring r;
	struct fake_host h;
	struct virtio_host_ops ops;
	struct vblk *b;
	char path[64];
	int fd;
	uint16_t next_desc;
};

static int fx_setup_full(void **state, bool readonly, unsigned workers, uint64_t features,
			 enum vblk_aio aio, bool iothread)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vblk_opts o;
	uint8_t *pattern = malloc(DISK_SIZE);

	strcpy(f->path, "/tmp/vireo-vblk-XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	for (uint32_t i = 0; i < DISK_SIZE; i++)
		pattern[i] = (uint8_t)(i * 7 + (i >> 9));
	assert_int_equal(pwrite(f->fd, pattern, DISK_SIZE, 0), DISK_SIZE);
	free(pattern);
	ring_init(&f->r, 256);
	f->ops = fake_host_ops(&f->h);
	assert_int_equal(vblk_parse_opts(f->path, &o), 0);
	o.readonly = readonly;
	o.workers = workers;
	o.aio = aio;
	o.serial = strdup("VIREO-SERIAL-1");
	o.format = strdup("raw");
	o.id = strdup("disk0");
	f->b = vblk_create(&o, &f->r.gm, &f->ops, iothread);
	vblk_opts_free(&o);
	assert_non_null(f->b);
	drv_bus_init(&f->d);
	assert_int_equal(pci_register_device(f->d.pci, virtio_pci_device(vblk_transport(f->b)), 4), 4);
	assert_int_equal(drv_attach(&f->d, 4), 5);
	assert_true(drv_negotiate(&f->d, V1 | features));
	drv_msix_vector(&f->d, 0, 0xfee00000, 0x30);
	drv_msix_vector(&f->d, 1, 0xfee00000, 0x31);
	drv_wr(&f->d, f->d.common + DRV_MSIX_CONFIG, 2, 0);
	drv_queue(&f->d, &f->r, 0, 1);
	drv_driver_ok(&f->d);
	assert_int_equal(drv_status(&f->d) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
	*state = f;
	return 0;
}

static int fx_setup_aio(void **state, bool readonly, unsigned workers, uint64_t features,
			enum vblk_aio aio)
{
	return fx_setup_full(state, readonly, workers, features, aio, false);
}

static int fx_setup(void **state, bool readonly, unsigned workers, uint64_t features)
{
	return fx_setup_aio(state, readonly, workers, features, VBLK_AIO_THREADS);
}

#define BLK_FEATS (VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | \
		   VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | \
		   VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE))

static int setup(void **state)
{
	return fx_setup(state, false, 0, BLK_FEATS);
}

static int setup_ro(void **state)
{
	return fx_setup(state, true, 0, VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_RO));
}

static int setup_pool(void **state)
{
	return fx_setup(state, false, 2, BLK_FEATS);
}

static int setup_uring(void **state)
{
	return fx_setup_aio(state, false, 2, BLK_FEATS, VBLK_AIO_IO_URING);
}

/* As in the VMM: kicks and io_uring completions both on the transport's I/O thread. */
static int setup_uring_iothread(void **state)
{
	return fx_setup_full(state, false, 2, BLK_FEATS, VBLK_AIO_IO_URING, true);
}

static int setup_uring_event_idx(void **state)
{
	return fx_setup_aio(state, false, 2, BLK_FEATS | VIRTIO_BIT(VIRTIO_F_EVENT_IDX), VBLK_AIO_IO_URING);
}

static int setup_uring_iothread_event_idx(void **state)
{
	return fx_setup_full(state, false, 2, BLK_FEATS | VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
			     VBLK_AIO_IO_URING, true);
}

static int setup_pool_iothread_event_idx(void **state)
{
	return fx_setup_full(state, false, 2, BLK_FEATS | VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
			     VBLK_AIO_THREADS, true);
}

static int setup_uring_ro(void **state)
{
	return fx_setup_aio(state, true, 2, VIRTIO_BIT(VIRTIO_BLK_F_RO), VBLK_AIO_IO_URING);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pci_unregister_device(f->d.pci, virtio_pci_device(vblk_transport(f->b)));
	vblk_destroy(f->b);
	drv_bus_destroy(&f->d);
	ring_free(&f->r);
	close(f->fd);
	unlink(f->path);
	free(f);
	return 0;
}

/* Queue a request in `slot`: header, optional payload (readable for writes,
 * writable for reads), status. Returns nothing; kick separately. */
static void submit(struct fx *f, unsigned slot, uint32_t type, uint64_t sector, uint32_t len,
		   bool payload_writable)
{
	uint16_t d = (uint16_t)(3 * slot);
	uint8_t *h = f->r.ram + HDR(slot);

	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	f->r.ram[STATUS(slot)] = 0xee;
	if (len) {
		ring_desc(&f->r, d, HDR(slot), 16, VRING_DESC_F_NEXT, (uint16_t)(d + 1));
		ring_desc(&f->r, (uint16_t)(d + 1), DATA(slot), len,
			  VRING_DESC_F_NEXT | (payload_writable ? VRING_DESC_F_WRITE : 0), (uint16_t)(d + 2));
	} else {
		ring_desc(&f->r, d, HDR(slot), 16, VRING_DESC_F_NEXT, (uint16_t)(d + 2));
	}
	ring_desc(&f->r, (uint16_t)(d + 2), STATUS(slot), 1, VRING_DESC_F_WRITE, 0);
	ring_publish(&f->r, d);
}

static uint8_t run(struct fx *f, unsigned slot, uint32_t type, uint64_t sector, uint32_t len, bool wr)
{
	submit(f, slot, type, sector, len, wr);
	drv_kick(&f->d, 0);
	return f->r.ram[STATUS(slot)];
}

static void file_read(struct fx *f, void *buf, size_t len, off_t off)
{
	assert_int_equal(pread(f->fd, buf, len, off), (ssize_t)len);
}

static void test_vblk_read_returns_file_bytes_and_used_length(void **state)
{
	struct fx *f = *state;
	uint8_t want[4096];
	uint32_t id, len;

	assert_int_equal(run(f, 0, VIRTIO_BLK_T_IN, 8, 4096, true), VIRTIO_BLK_S_OK);
	file_read(f, want, sizeof(want), 8 * 512);
	assert_memory_equal(f->r.ram + DATA(0), want, sizeof(want));
	ring_used_elem(&f->r, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 4097);
	assert_int_equal(fake_irqs(&f->h, 25, 0), 1);
}

static void test_vblk_write_lands_in_the_file(void **state)
{
	struct fx *f = *state;
	uint8_t got[1024];

	memset(f->r.ram + DATA(1), 0x5a, 1024);
	assert_int_equal(run(f, 1, VIRTIO_BLK_T_OUT, 100, 1024, false), VIRTIO_BLK_S_OK);
	file_read(f, got, sizeof(got), 100 * 512);
	assert_memory_equal(got, f->r.ram + DATA(1), 1024);
}

static void test_vblk_read_only_disk_refuses_writes_and_advertises_ro(void **state)
{
	struct fx *f = *state;
	uint8_t before[512], after[512];
	uint64_t df = drv_device_features(&f->d);

	assert_true(df & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_false(df & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	file_read(f, before, 512, 0);
	memset(f->r.ram + DATA(0), 0xaa, 512);
	assert_int_equal(run(f, 0, VIRTIO_BLK_T_OUT, 0, 512, false), VIRTIO_BLK_S_IOERR);
	file_read(f, after, 512, 0);
	assert_memory_equal(before, after, 512);
	assert_int_equal(run(f, 1, VIRTIO_BLK_T_IN, 0, 512, true), VIRTIO_BLK_S_OK);
}

static void test_vblk_refuses_out_of_range_and_unaligned_requests(void **state)
{
	struct fx *f = *state;
	struct vblk_stats st;

	assert_int_equal(run(f, 0, VIRTIO_BLK_T_IN, DISK_SIZE / 512, 512, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, 1, VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, 1024, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, 2, VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 5, 512, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, 3, VIRTIO_BLK_T_IN, 0, 100, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(run(f, 4, VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(run(f, 5, 99, 0, 0, false), VIRTIO_BLK_S_UNSUPP);
	vblk_get_stats(f->b, &st);
	assert_int_equal(st.invalid_ops, 4);
	assert_int_equal(st.rd_ops, 1);
}

static void test_vblk_flush_and_get_id(void **state)
{
	struct fx *f = *state;
	struct vblk_stats st;
	uint32_t id, len;

	assert_int_equal(run(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
	assert_int_equal(run(f, 1, VIRTIO_BLK_T_GET_ID, 0, 20, true), VIRTIO_BLK_S_OK);
	assert_memory_equal(f->r.ram + DATA(1), "VIREO-SERIAL-1\0\0\0\0\0\0", 20);
	ring_used_elem(&f->r, 1, &id, &len);
	assert_int_equal(len, 21);
	vblk_get_stats(f->b, &st);
	assert_int_equal(st.flush_ops, 1);
}

static void put_seg(struct fx *f, unsigned slot, uint64_t sector, uint32_t num, uint32_t flags)
{
	uint8_t *p = f->r.ram + DATA(slot);

	memcpy(p, &sector, 8);
	memcpy(p + 8, &num, 4);
	memcpy(p + 12, &flags, 4);
}

static void test_vblk_discard_punches_hole_in_host_file(void **state)
{
	struct fx *f = *state;
	struct stat a, b;
	uint8_t got[4096], zero[4096] = { 0 };

	fsync(f->fd);
	assert_int_equal(fstat(f->fd, &a), 0);
	put_seg(f, 0, 2048, 2048, 0);   /* 1 MiB at 1 MiB */
	assert_int_equal(run(f, 0, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_OK);
	assert_int_equal(fstat(f->fd, &b), 0);
	assert_true(b.st_blocks < a.st_blocks);
	assert_int_equal(b.st_size, DISK_SIZE);
	file_read(f, got, sizeof(got), 1 << 20);
	assert_memory_equal(got, zero, sizeof(got));
	/* Two segments (we advertise one), unknown flags: refused. */
	assert_int_equal(run(f, 1, VIRTIO_BLK_T_DISCARD, 0, 32, false), VIRTIO_BLK_S_UNSUPP);
	put_seg(f, 2, 0, 8, 1);
	assert_int_equal(run(f, 2, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_UNSUPP);
	put_seg(f, 3, DISK_SIZE / 512 - 4, 8, 0);
	assert_int_equal(run(f, 3, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_IOERR);
}

static void test_vblk_write_zeroes_zeroes_range(void **state)
{
	struct fx *f = *state;
	uint8_t got[8192], zero[8192] = { 0 }, edge[1];

	put_seg(f, 0, 16, 16, 1);
	assert_int_equal(run(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), VIRTIO_BLK_S_OK);
	file_read(f, got, sizeof(got), 16 * 512);
	assert_memory_equal(got, zero, sizeof(got));
	file_read(f, edge, 1, 32 * 512);
	assert_int_equal(edge[0], (uint8_t)(32 * 512 * 7 + 32));   /* next sector untouched */
}

static void test_vblk_chain_without_status_sets_needs_reset(void **state)
{
	struct fx *f = *state;

	ring_desc(&f->r, 0, HDR(0), 16, 0, 0);   /* header only: nowhere to put a status */
	ring_publish(&f->r, 0);
	drv_kick(&f->d, 0);
	assert_true(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(ring_used_idx(&f->r), 0);
}

static void test_vblk_config_space_advertises_capacity_and_limits(void **state)
{
	struct fx *f = *state;
	uint32_t dev = f->d.device;

	assert_int_equal(drv_rd(&f->d, dev + 0, 8), DISK_SIZE / 512);
	assert_int_equal(drv_rd(&f->d, dev + 12, 4), VBLK_SEG_MAX);
	assert_int_equal(drv_rd(&f->d, dev + 20, 4), 512);
	assert_int_equal(drv_rd(&f->d, dev + 36, 4), VBLK_MAX_DISCARD_SECTORS);
	assert_int_equal(drv_rd(&f->d, dev + 40, 4), 1);
	assert_int_equal(drv_rd(&f->d, dev + 56, 1), 1);
	assert_int_equal(drv_rd(&f->d, dev + 58, 2), 0);
	assert_int_equal(drv_rd(&f->d, dev + 60, 4), 0);    /* past config_size */
	assert_int_equal(drv_cfg_read(&f->d, PCI_DEVICE_ID, 2), 0x1042);
}

static void test_vblk_query_block_and_blockstats_use_qemu_names(void **state)
{
	struct fx *f = *state;
	struct json_object *j, *s, *v;

	assert_int_equal(run(f, 0, VIRTIO_BLK_T_IN, 0, 4096, true), VIRTIO_BLK_S_OK);
	memset(f->r.ram + DATA(1), 1, 512);
	assert_int_equal(run(f, 1, VIRTIO_BLK_T_OUT, 0, 512, false), VIRTIO_BLK_S_OK);
	j = vblk_query_blockstats(&f->b, 1);
	s = json_object_object_get(json_object_array_get_idx(j, 0), "stats");
	assert_true(json_object_object_get_ex(s, "rd_bytes", &v));
	assert_int_equal(json_object_get_int64(v), 4096);
	assert_true(json_object_object_get_ex(s, "wr_operations", &v));
	assert_int_equal(json_object_get_int64(v), 1);
	assert_true(json_object_object_get_ex(s, "wr_highest_offset", &v));
	assert_int_equal(json_object_get_int64(v), 512);
	assert_true(json_object_object_get_ex(s, "flush_total_time_ns", &v));
	assert_true(json_object_object_get_ex(s, "rd_total_time_ns", &v));
	json_object_put(j);
	j = vblk_query_block(&f->b, 1);
	v = json_object_array_get_idx(j, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(v, "device")), "disk0");
	v = json_object_object_get(v, "inserted");
	assert_string_equal(json_object_get_string(json_object_object_get(v, "drv")), "raw");
	assert_false(json_object_get_boolean(json_object_object_get(v, "ro")));
	v = json_object_object_get(v, "image");
	assert_int_equal(json_object_get_int64(json_object_object_get(v, "virtual-size")), DISK_SIZE);
	json_object_put(j);
}

static void test_vblk_worker_pool_completes_burst_with_few_interrupts(void **state)
{
	struct fx *f = *state;
	const unsigned n = 64;
	struct vblk_stats st;
	uint64_t irqs = 0;

	/* 64 reads of 64 KiB each, made available at once, one kick. */
	for (unsigned i = 0; i < n; i++)
		submit(f, i, VIRTIO_BLK_T_IN, (uint64_t)i * 128 % (DISK_SIZE / 512 - 128), 0x10000, true);
	drv_kick(&f->d, 0);
	for (int t = 0; t < 500 && ring_used_idx(&f->r) != n; t++)
		irqs += fake_irqs(&f->h, 25, 10);
	assert_int_equal(ring_used_idx(&f->r), n);
	irqs += fake_irqs(&f->h, 25, 50);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(f->r.ram[STATUS(i)], VIRTIO_BLK_S_OK);
	/* Reset waits for the pool and leaves nothing in flight: after it the
	 * statistics are final (a worker counts its interrupt after the push). */
	drv_wr(&f->d, f->d.common + DRV_STATUS, 1, 0);
	assert_int_equal(drv_status(&f->d), 0);
	vblk_get_stats(f->b, &st);
	assert_int_equal(st.rd_ops, n);
	assert_true(st.interrupts >= 1 && st.interrupts <= n);
	assert_true(irqs >= 1);
	print_message("64 requests completed with %llu interrupts\n", (unsigned long long)st.interrupts);
}

/* Wait until the used ring holds n entries (pool and ring complete off-thread). */
static void wait_used(struct fx *f, uint16_t n)
{
	for (int t = 0; t < 500 && ring_used_idx(&f->r) != n; t++)
		fake_irqs(&f->h, 25, 10);
	assert_int_equal(ring_used_idx(&f->r), n);
}

static void test_vblk_io_uring_writes_then_reads_back_many_requests(void **state)
{
	struct fx *f = *state;
	const unsigned n = 32;
	struct vblk_stats st;
	uint8_t got[4096];

	if (!vblk_io_uring_active(f->b))
		skip();   /* a kernel without io_uring: the pool serves (covered above) */
	for (unsigned i = 0; i < n; i++) {
		memset(f->r.ram + DATA(i), (int)(0x10 + i), 4096);
		submit(f, i, VIRTIO_BLK_T_OUT, 8 * (uint64_t)i * 3, 4096, false);
	}
	drv_kick(&f->d, 0);
	wait_used(f, (uint16_t)n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(f->r.ram[STATUS(i)], VIRTIO_BLK_S_OK);
		file_read(f, got, sizeof(got), 8 * 512 * (off_t)i * 3);
		assert_memory_equal(got, f->r.ram + DATA(i), sizeof(got));
	}
	/* Read them back into cleared buffers, plus a flush through the pool. */
	for (unsigned i = 0; i < n; i++) {
		memset(f->r.ram + DATA(i), 0, 4096);
		submit(f, i, VIRTIO_BLK_T_IN, 8 * (uint64_t)i * 3, 4096, true);
	}
	submit(f, n, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	drv_kick(&f->d, 0);
	wait_used(f, (uint16_t)(2 * n + 1));
	for (unsigned i = 0; i < n; i++) {
		uint8_t want[4096];

		memset(want, (int)(0x10 + i), sizeof(want));
		assert_int_equal(f->r.ram[STATUS(i)], VIRTIO_BLK_S_OK);
		assert_memory_equal(f->r.ram + DATA(i), want, sizeof(want));
	}
	assert_int_equal(f->r.ram[STATUS(n)], VIRTIO_BLK_S_OK);
	drv_wr(&f->d, f->d.common + DRV_STATUS, 1, 0);   /* drain: statistics final */
	vblk_get_stats(f->b, &st);
	assert_int_equal(st.wr_ops, n);
	assert_int_equal(st.rd_ops, n);
	assert_int_equal(st.rd_bytes, n * 4096);
	assert_int_equal(st.flush_ops, 1);
	print_message("io_uring: %u requests, %llu interrupts\n", 2 * n + 1, (unsigned long long)st.interrupts);
}

/* A reset right after a kick, with requests on the ring, returns (the I/O
 * thread that reaps completions may be the one waiting for the reset) and
 * leaves nothing in flight: every request taken was completed first. */
static void test_vblk_io_uring_reset_with_requests_in_flight(void **state)
{
	struct fx *f = *state;
	const unsigned n = 48;
	struct vblk_stats st;

	if (!vblk_io_uring_active(f->b))
		skip();
	for (int round = 0; round < 20; round++) {
		for (unsigned i = 0; i < n; i++)
			submit(f, i, i % 2 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, 8 * (uint64_t)i, 4096, i % 2 == 0);
		drv_kick(&f->d, 0);
		drv_wr(&f->d, f->d.common + DRV_STATUS, 1, 0);
		assert_int_equal(drv_status(&f->d), 0);
		/* The driver sets the device up again for the next round. */
		assert_true(drv_negotiate(&f->d, V1 | BLK_FEATS));
		memset(f->r.ram, 0, HDR(0));   /* fresh rings, same guest memory */
		f->r.avail_idx = 0;
		drv_msix_vector(&f->d, 0, 0xfee00000, 0x30);
		drv_queue(&f->d, &f->r, 0, 1);
		drv_driver_ok(&f->d);
		assert_int_equal(drv_status(&f->d) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
	}
	vblk_get_stats(f->b, &st);
	assert_true(st.rd_ops + st.wr_ops <= 20 * n);
}

/* A driver that kicks only as EVENT_IDX says (section 2.7.10), as Linux
 * does, streaming writes with up to 32 outstanding, now and then idle.
 * While writes are in flight the device leaves avail_event behind and looks
 * at the ring after completions: no request may be left waiting for a kick
 * that never comes, and the kicks stay fewer than the requests. */
static void stream_event_idx_writes(struct fx *f, const char *what)
{
	const unsigned total = 3000, depth = 32;
	unsigned kicks = 0;
	struct vblk_stats st;

	for (unsigned i = 0; i < total; i++) {
		unsigned slot = i % depth;
		uint16_t old = f->r.avail_idx, event;

		/* Reuse a slot only once its request is back. Every 100th
		 * waits for all and pauses: the device idles in between, and
		 * must have asked for the kick that the next one gives. */
		unsigned room = i % 100 ? depth : 1;

		for (int t = 0; t < 100000 && (uint16_t)(i - ring_used_idx(&f->r)) >= room; t++)
			usleep(50);   /* the driver leaves used_event behind: few interrupts */
		assert_true((uint16_t)(i - ring_used_idx(&f->r)) < room);
		if (room == 1)
			usleep(2000);
		memset(f->r.ram + DATA(slot), (int)i, 4096);
		submit(f, slot, VIRTIO_BLK_T_OUT, 8 * (uint64_t)(i % 500), 4096, false);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		event = ring_avail_event(&f->r);
		if ((uint16_t)(f->r.avail_idx - event - 1) < (uint16_t)(f->r.avail_idx - old)) {
			drv_kick(&f->d, 0);
			kicks++;
		}
	}
	wait_used(f, (uint16_t)total);
	vblk_get_stats(f->b, &st);
	assert_int_equal(st.wr_ops, total);
	print_message("%s, EVENT_IDX: %u writes, %u kicks, %llu interrupts\n", what, total, kicks,
		      (unsigned long long)st.interrupts);
	assert_true(kicks < total);
}

static void test_vblk_io_uring_event_idx_driver_never_stranded(void **state)
{
	struct fx *f = *state;

	if (!vblk_io_uring_active(f->b))
		skip();
	stream_event_idx_writes(f, "io_uring");
}

/* The same with the pool, whose completions the I/O thread takes back. */
static void test_vblk_pool_event_idx_driver_never_stranded(void **state)
{
	stream_event_idx_writes(*state, "pool");
}

static void test_vblk_io_uring_refuses_bad_requests_like_the_pool(void **state)
{
	struct fx *f = *state;

	if (!vblk_io_uring_active(f->b))
		skip();
	submit(f, 0, VIRTIO_BLK_T_IN, DISK_SIZE / 512, 512, true);
	submit(f, 1, VIRTIO_BLK_T_IN, 0, 100, true);
	submit(f, 2, VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, 512, true);
	drv_kick(&f->d, 0);
	wait_used(f, 3);
	assert_int_equal(f->r.ram[STATUS(0)], VIRTIO_BLK_S_IOERR);
	assert_int_equal(f->r.ram[STATUS(1)], VIRTIO_BLK_S_IOERR);
	assert_int_equal(f->r.ram[STATUS(2)], VIRTIO_BLK_S_OK);
}

static void test_vblk_io_uring_read_only_disk_refuses_writes(void **state)
{
	struct fx *f = *state;
	uint8_t before[512], after[512];

	if (!vblk_io_uring_active(f->b))
		skip();
	file_read(f, before, 512, 0);
	memset(f->r.ram + DATA(0), 0xaa, 512);
	submit(f, 0, VIRTIO_BLK_T_OUT, 0, 512, false);
	drv_kick(&f->d, 0);
	wait_used(f, 1);
	assert_int_equal(f->r.ram[STATUS(0)], VIRTIO_BLK_S_IOERR);
	file_read(f, after, 512, 0);
	assert_memory_equal(before, after, 512);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vblk_parse_opts_reads_every_key),
		cmocka_unit_test(test_vblk_parse_opts_defaults_bare_path_and_escaped_comma),
		cmocka_unit_test(test_vblk_parse_opts_reads_io_limits_and_group),
		cmocka_unit_test(test_vblk_parse_opts_errors_name_the_bad_key),
		cmocka_unit_test(test_vblk_parse_request_splits_header_payload_and_status),
		cmocka_unit_test(test_vblk_parse_request_handles_header_and_data_in_one_segment),
		cmocka_unit_test(test_vblk_parse_request_header_split_across_segments),
		cmocka_unit_test(test_vblk_parse_request_refuses_chain_without_status_or_header),
		cmocka_unit_test_setup_teardown(test_vblk_read_returns_file_bytes_and_used_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_write_lands_in_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_read_only_disk_refuses_writes_and_advertises_ro, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_refuses_out_of_range_and_unaligned_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_flush_and_get_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_discard_punches_hole_in_host_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_write_zeroes_zeroes_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_chain_without_status_sets_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_config_space_advertises_capacity_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_query_block_and_blockstats_use_qemu_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_worker_pool_completes_burst_with_few_interrupts, setup_pool, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_io_uring_writes_then_reads_back_many_requests, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_io_uring_refuses_bad_requests_like_the_pool, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_io_uring_writes_then_reads_back_many_requests,
						setup_uring_iothread, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_io_uring_reset_with_requests_in_flight, setup_uring_iothread,
						teardown),
		cmocka_unit_test_setup_teardown(test_vblk_io_uring_reset_with_requests_in_flight, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_io_uring_read_only_disk_refuses_writes, setup_uring_ro, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_io_uring_event_idx_driver_never_stranded,
						setup_uring_event_idx, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_io_uring_event_idx_driver_never_stranded,
						setup_uring_iothread_event_idx, teardown),
		cmocka_unit_test_setup_teardown(test_vblk_pool_event_idx_driver_never_stranded,
						setup_pool_iothread_event_idx, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
