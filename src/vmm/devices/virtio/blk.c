/* virtio-blk: parses each chain into header, payload and status, checks the
 * sector range and the request against what the config space advertises,
 * and runs it: reads and writes of raw images through io_uring (aio=io_uring,
 * where the kernel has it), everything else through the block layer on a
 * small worker pool. Completions are pushed as they finish; the interrupt is
 * raised only at the end of a batch (and when EVENT_IDX allows). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "vmm/devices/virtio/blk.h"

#if __has_include(<liburing.h>)
#include <liburing.h>
#define VBLK_HAVE_URING 1
#endif

#define SECTOR 512u

struct vblk {
	struct virtio_pci *vp;
	struct blk *img;
	struct throttle *throttle;   /* always present; unlimited unless configured */
	bool throttled;              /* limits in force: requests wait in the pool, not io_uring */
	char *id, *path, *format;
	char serial[VIRTIO_BLK_ID_BYTES];
	bool readonly;
	enum blk_cache cache;
	uint64_t sectors;
	uint64_t features;          /* negotiated */

	/* Worker pool: a FIFO of parsed requests. */
	pthread_mutex_t lock;
	pthread_cond_t work, idle;
	struct vblk_req *head, *tail;
	unsigned queued, inflight;  /* queued: waiting; inflight: popped, not yet pushed */
	/* Requests in flight whose completion looks at the queue again (vblk_take):
	 * those on io_uring, and those in the pool when an I/O thread takes the
	 * pool's calls back (virtio_pci_queue_resched). Under `lock`. */
	unsigned looking;
	bool iothread;
	bool stop;
	pthread_t *threads;
	unsigned nthreads;

	struct vblk_stats st;       /* updated with atomics */
	struct vq *vq;              /* the request queue, once the driver kicked it */

	pthread_mutex_t free_lock;  /* recycled requests */
	struct vblk_req *free_reqs;
	unsigned nfree;

#ifdef VBLK_HAVE_URING
	/* Reads and writes of raw images: the block layer serialises calls on an
	 * image, io_uring lets many run at once. Submitted under `lock`, reaped
	 * by one thread. */
	bool uring;
	struct io_uring ring;
	int ufd;
	bool udirect;
	unsigned unsubmitted;        /* SQEs prepared, not yet submitted (under `lock`) */
	pthread_mutex_t cq_lock;     /* one consumer of completions at a time */
	pthread_t reaper;            /* without an I/O thread */
	bool reaper_started;
#endif
};

/* ---- options ---- */

void vblk_opts_free(struct vblk_opts *o)
{
	free(o->group);
	o->group = NULL;
	free(o->path);
	free(o->serial);
	free(o->format);
	free(o->id);
	memset(o, 0, sizeof(*o));
}

static int parse_onoff(const char *key, const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no")) {
		*out = false;
		return 0;
	}
	return err_set(ERR_INVALID, "disk: %s=%s: expected on or off", key, v);
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : err_set(ERR_NOMEM, "disk: out of memory");
}

static int apply_opt(struct vblk_opts *o, const char *key, const char *v)
{
	if (!strcmp(key, "path") || !strcmp(key, "file"))
		return *v ? set_str(&o->path, v) : err_set(ERR_INVALID, "disk: path= is empty");
	if (!strcmp(key, "readonly"))
		return parse_onoff(key, v, &o->readonly);
	if (!strcmp(key, "serial")) {
		if (strlen(v) > VIRTIO_BLK_ID_BYTES)
			return err_set(ERR_INVALID, "disk: serial=%s: longer than %d bytes", v,
				       VIRTIO_BLK_ID_BYTES);
		return set_str(&o->serial, v);
	}
	if (!strcmp(key, "cache")) {
		if (!strcmp(v, "none"))
			o->cache = BLK_CACHE_NONE;
		else if (!strcmp(v, "writeback"))
			o->cache = BLK_CACHE_WRITEBACK;
		else
			return err_set(ERR_INVALID, "disk: cache=%s: expected none or writeback", v);
		return 0;
	}
	if (!strcmp(key, "aio")) {
		if (!strcmp(v, "threads"))
			o->aio = VBLK_AIO_THREADS;
		else if (!strcmp(v, "io_uring"))
			o->aio = VBLK_AIO_IO_URING;
		else
			return err_set(ERR_INVALID, "disk: aio=%s: expected io_uring or threads", v);
		return 0;
	}
	if (!strcmp(key, "format")) {
		if (strcmp(v, "raw") && strcmp(v, "qcow2"))
			return err_set(ERR_INVALID, "disk: format=%s: expected raw or qcow2", v);
		return set_str(&o->format, v);
	}
	if (!strcmp(key, "id"))
		return *v ? set_str(&o->id, v) : err_set(ERR_INVALID, "disk: id= is empty");
	if (!strcmp(key, "group"))
		return *v ? set_str(&o->group, v) : err_set(ERR_INVALID, "disk: group= is empty");
	/* I/O limits, with QEMU's -drive names (iops_total is also accepted). */
	if (!strncmp(key, "bps", 3) || !strncmp(key, "iops", 4))
		return throttle_config_set(&o->throttle, !strcmp(key, "iops_total") ? "iops" :
					   !strcmp(key, "bps_total") ? "bps" : key, v) < 0 ?
			err_prefix("disk") : 0;
	return err_set(ERR_INVALID, "disk: unknown key '%s' (path, readonly, serial, cache, aio, format, id, "
		       "group, bps*, iops*)", key);
}

int vblk_parse_opts(const char *spec, struct vblk_opts *o)
{
	size_t n = strlen(spec);
	autofree char *item = malloc(n + 1);
	bool first = true;

	memset(o, 0, sizeof(*o));
	o->cache = BLK_CACHE_WRITEBACK;
	o->aio = VBLK_AIO_THREADS;
	o->workers = 2;
	throttle_config_init(&o->throttle);
	if (!item)
		return err_set(ERR_NOMEM, "disk: out of memory");
	for (size_t i = 0; i <= n;) {
		size_t len = 0;
		char *eq;

		/* One item up to an unpaired comma; ",," stands for ','. */
		while (i < n && !(spec[i] == ',' && spec[i + 1] != ',')) {
			if (spec[i] == ',')
				i++;
			item[len++] = spec[i++];
		}
		item[len] = 0;
		i++;
		eq = strchr(item, '=');
		if (!len)
			continue;   /* empty item: a stray comma */
		if (!eq && first) {
			if (set_str(&o->path, item) < 0)
				return -1;
		} else if (!eq) {
			return err_set(ERR_INVALID, "disk: '%s' is not key=value", item);
		} else {
			*eq = 0;
			if (apply_opt(o, item, eq + 1) < 0)
				return -1;
		}
		first = false;
	}
	if (!o->path)
		return err_set(ERR_INVALID, "disk: path= is missing");
	if (throttle_config_validate(&o->throttle) < 0)
		return err_prefix("disk");
	return 0;
}

/* ---- requests ---- */

int vblk_parse_request(struct vblk_req *r)
{
	struct vq_elem *e = &r->elem;
	uint8_t hdr[16];
	struct iovec *last;
	unsigned first, count;
	size_t skip;

	if (e->out_len < sizeof(hdr) || e->in_len < 1)
		return err_set(ERR_GUEST, "virtio-blk: chain %u lacks a header or status byte", e->head);
	vq_iov_to_buf(e->iov, e->out_num, 0, hdr, sizeof(hdr));
	memcpy(&r->type, hdr, 4);
	memcpy(&r->sector, hdr + 8, 8);
	r->type = le32toh(r->type);
	r->sector = le64toh(r->sector);
	last = &e->iov[e->out_num + e->in_num - 1];
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	r->result = VIRTIO_BLK_S_OK;
	r->used_len = 1;
	/* Payload: after the header in the readable part for requests that
	 * carry data to the device, else the writable part before the status. */
	if (r->data_cap < e->out_num + e->in_num) {
		free(r->data);
		r->data_cap = 0;
		r->data = calloc(e->out_num + e->in_num, sizeof(*r->data));
		if (!r->data)
			return err_set(ERR_NOMEM, "virtio-blk: out of memory");
		r->data_cap = e->out_num + e->in_num;
	}
	r->ndata = 0;
	if (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_GET_ID) {
		first = e->out_num;
		count = e->in_num;
		skip = 0;
		r->data_len = e->in_len - 1;
	} else {
		first = 0;
		count = e->out_num;
		skip = sizeof(hdr);
		r->data_len = e->out_len - sizeof(hdr);
	}
	for (unsigned i = first; i < first + count; i++) {
		struct iovec v = e->iov[i];

		if (skip >= v.iov_len) {
			skip -= v.iov_len;
			continue;
		}
		v.iov_base = (uint8_t *)v.iov_base + skip;
		v.iov_len -= skip;
		skip = 0;
		/* The status byte is not payload. */
		if (i == e->out_num + e->in_num - 1 && first == e->out_num)
			v.iov_len--;
		if (v.iov_len)
			r->data[r->ndata++] = v;
	}
	return 0;
}

static bool range_ok(struct vblk *b, uint64_t sector, uint64_t nsect)
{
	return sector <= b->sectors && nsect <= b->sectors - sector;
}

static void add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

/* A read or write the device can run: whole sectors inside the disk, and no
 * write to a read-only disk. */
static bool rw_valid(struct vblk *b, struct vblk_req *r, bool write)
{
	if (r->data_len % SECTOR || !range_ok(b, r->sector, r->data_len / SECTOR) ||
	    (write && b->readonly)) {
		add(&b->st.invalid_ops, 1);
		return false;
	}
	return true;
}

static void rw_account(struct vblk *b, struct vblk_req *r, bool write, uint64_t t0)
{
	if (write) {
		uint64_t end = r->sector * SECTOR + r->data_len, cur;

		add(&b->st.wr_bytes, r->data_len);
		add(&b->st.wr_ops, 1);
		add(&b->st.wr_ns, clock_ns() - t0);
		cur = __atomic_load_n(&b->st.wr_highest_offset, __ATOMIC_RELAXED);
		while (end > cur && !__atomic_compare_exchange_n(&b->st.wr_highest_offset, &cur, end, false,
								  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
	} else {
		add(&b->st.rd_bytes, r->data_len);
		add(&b->st.rd_ops, 1);
		add(&b->st.rd_ns, clock_ns() - t0);
		r->used_len += (uint32_t)r->data_len;
	}
}

static uint8_t do_rw(struct vblk *b, struct vblk_req *r, bool write)
{
	uint64_t t0 = clock_ns();
	int ret;

	if (!rw_valid(b, r, write))
		return VIRTIO_BLK_S_IOERR;
	if (r->data_len == 0)
		return VIRTIO_BLK_S_OK;
	throttle_wait(b->throttle, write, r->data_len);
	if (write)
		ret = blk_pwritev(b->img, r->data, (int)r->ndata, r->sector * SECTOR);
	else
		ret = blk_preadv(b->img, r->data, (int)r->ndata, r->sector * SECTOR);
	if (ret < 0) {
		log_warn("virtio-blk %s: %s at sector %llu: %s", b->id, write ? "write" : "read",
			 (unsigned long long)r->sector, err_message());
		add(write ? &b->st.failed_wr : &b->st.failed_rd, 1);
		return VIRTIO_BLK_S_IOERR;
	}
	rw_account(b, r, write, t0);
	return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: one segment {le64 sector, le32 num, le32 flags}. */
static uint8_t do_discard(struct vblk *b, struct vblk_req *r, bool zeroes)
{
	uint64_t t0 = clock_ns();
	uint8_t seg[16];
	uint64_t sector;
	uint32_t num, flags;
	int ret;

	if (!(b->features & VIRTIO_BIT(zeroes ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD)))
		return VIRTIO_BLK_S_UNSUPP;
	/* We advertise one segment per request. */
	if (r->data_len != sizeof(seg)) {
		add(&b->st.invalid_ops, 1);
		return VIRTIO_BLK_S_UNSUPP;
	}
	vq_iov_to_buf(r->data, r->ndata, 0, seg, sizeof(seg));
	memcpy(&sector, seg, 8);
	memcpy(&num, seg + 8, 4);
	memcpy(&flags, seg + 12, 4);
	sector = le64toh(sector);
	num = le32toh(num);
	flags = le32toh(flags);
	/* Flag bit 0 is "unmap", meaningful for WRITE_ZEROES only. */
	if (flags & ~(zeroes ? 1u : 0u))
		return VIRTIO_BLK_S_UNSUPP;
	if (b->readonly || num > VBLK_MAX_DISCARD_SECTORS || !range_ok(b, sector, num)) {
		add(&b->st.invalid_ops, 1);
		return VIRTIO_BLK_S_IOERR;
	}
	if (num == 0)
		return VIRTIO_BLK_S_OK;
	if (zeroes)
		ret = blk_write_zeroes(b->img, sector * SECTOR, (uint64_t)num * SECTOR,
				       (flags & 1) ? BLK_ZERO_MAY_UNMAP : 0);
	else
		ret = blk_discard(b->img, sector * SECTOR, (uint64_t)num * SECTOR);
	if (ret < 0) {
		log_warn("virtio-blk %s: %s at sector %llu: %s", b->id, zeroes ? "write-zeroes" : "discard",
			 (unsigned long long)sector, err_message());
		add(&b->st.failed_wr, 1);
		return VIRTIO_BLK_S_IOERR;
	}
	if (zeroes) {
		add(&b->st.zero_ops, 1);
	} else {
		add(&b->st.unmap_ops, 1);
		add(&b->st.unmap_bytes, (uint64_t)num * SECTOR);
		add(&b->st.unmap_ns, clock_ns() - t0);
	}
	return VIRTIO_BLK_S_OK;
}

void vblk_execute(struct vblk *b, struct vblk_req *r)
{
	uint64_t t0;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		r->result = do_rw(b, r, false);
		break;
	case VIRTIO_BLK_T_OUT:
		r->result = do_rw(b, r, true);
		break;
	case VIRTIO_BLK_T_FLUSH:
		t0 = clock_ns();
		if (b->readonly || blk_flush(b->img) == 0) {
			r->result = VIRTIO_BLK_S_OK;
		} else {
			log_warn("virtio-blk %s: flush: %s", b->id, err_message());
			add(&b->st.failed_flush, 1);
			r->result = VIRTIO_BLK_S_IOERR;
		}
		add(&b->st.flush_ops, 1);
		add(&b->st.flush_ns, clock_ns() - t0);
		break;
	case VIRTIO_BLK_T_GET_ID: {
		size_t n = MIN(r->data_len, (uint64_t)VIRTIO_BLK_ID_BYTES);

		vq_iov_from_buf(r->data, r->ndata, 0, b->serial, n);
		r->used_len += (uint32_t)n;
		r->result = VIRTIO_BLK_S_OK;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
		r->result = do_discard(b, r, false);
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		r->result = do_discard(b, r, true);
		break;
	default:
		r->result = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	/* The status byte goes last: the driver reads it as "done". */
	__atomic_store_n(r->status, r->result, __ATOMIC_RELEASE);
}

static void req_free(struct vblk_req *r)
{
	vq_elem_free(&r->elem);
	free(r->data);
	free(r);
}

/* Requests are recycled with their segment arrays: a 128 KiB request has
 * ~34 segments, and allocating them anew grew two arrays per request. */
static struct vblk_req *req_get(struct vblk *b)
{
	struct vblk_req *r;

	pthread_mutex_lock(&b->free_lock);
	r = b->free_reqs;
	if (r) {
		b->free_reqs = r->next;
		b->nfree--;
	}
	pthread_mutex_unlock(&b->free_lock);
	if (!r)
		return calloc(1, sizeof(*r));
	r->elem.out_num = r->elem.in_num = 0;
	r->elem.out_len = r->elem.in_len = 0;
	r->ndata = 0;
	r->next = NULL;
	return r;
}

static void req_put(struct vblk *b, struct vblk_req *r)
{
	pthread_mutex_lock(&b->free_lock);
	if (b->nfree < VBLK_QUEUE_SIZE) {
		r->next = b->free_reqs;
		b->free_reqs = r;
		b->nfree++;
		r = NULL;
	}
	pthread_mutex_unlock(&b->free_lock);
	if (r)
		req_free(r);
}

/* b->looking: changed under b->lock, read without it. */
static void looking_add(struct vblk *b, int d)
{
	__atomic_store_n(&b->looking, b->looking + (unsigned)d, __ATOMIC_RELEASE);
}

static bool looking(struct vblk *b)
{
	return __atomic_load_n(&b->looking, __ATOMIC_ACQUIRE) > 0;
}

/* Push a finished request; raise the interrupt only if no request is still
 * queued. Deciding under vq->lock, after the push, means the pusher of the
 * last queued request always sees an empty queue, so no completion is left
 * without an interrupt. */
static void complete(struct vblk *b, struct vq *vq, struct vblk_req *r, const bool *last_hint)
{
	pthread_mutex_lock(&vq->lock);
	if (vq->started) {
		bool last = last_hint ? *last_hint : __atomic_load_n(&b->queued, __ATOMIC_ACQUIRE) == 0;

		vq_push(vq, r->elem.head, r->used_len);
		if (last && virtio_pci_queue_signal(b->vp, vq))
			add(&b->st.interrupts, 1);
	}
	pthread_mutex_unlock(&vq->lock);
	req_put(b, r);
}

static void *worker_main(void *arg)
{
	struct vblk *b = arg;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		struct vblk_req *r;
		struct vq *vq;

		while (!b->head && !b->stop)
			pthread_cond_wait(&b->work, &b->lock);
		if (!b->head)
			break;
		r = b->head;
		b->head = r->next;
		if (!b->head)
			b->tail = NULL;
		__atomic_store_n(&b->queued, b->queued - 1, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&b->lock);

		vblk_execute(b, r);
		vq = r->vq;
		complete(b, vq, r, NULL);
		pthread_mutex_lock(&b->lock);
		if (b->iothread)
			looking_add(b, -1);
		if (--b->inflight == 0)
			pthread_cond_broadcast(&b->idle);
		/* The driver may have added requests without kicking: have the
		 * I/O thread take them, and ask for kicks once nothing is left. */
		if (b->iothread && (b->looking == 0 || vq_pending(vq)))
			virtio_pci_queue_resched(b->vp, vq);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* Hand a request to the pool; b->lock held. */
static void pool_enqueue_locked(struct vblk *b, struct vblk_req *r)
{
	if (b->iothread)
		looking_add(b, 1);
	r->next = NULL;
	if (b->tail)
		b->tail->next = r;
	else
		b->head = r;
	b->tail = r;
	__atomic_store_n(&b->queued, b->queued + 1, __ATOMIC_RELEASE);
	pthread_cond_signal(&b->work);
}

#ifdef VBLK_HAVE_URING
/* Complete what the ring has finished: status, push, and one interrupt per
 * batch of completions that were ready together. Any thread: cq_lock
 * serialises the consumers (the I/O thread, a reset waiting for requests,
 * the reaper thread). false once the reaper's stop NOP was seen. */
static bool uring_reap(struct vblk *b)
{
	struct io_uring_cqe *cqe;
	bool go_on = true;

	pthread_mutex_lock(&b->cq_lock);
	while (io_uring_peek_cqe(&b->ring, &cqe) == 0) {
		struct vblk_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		bool write, last;

		io_uring_cqe_seen(&b->ring, cqe);
		if (!r) {
			go_on = false;
			continue;
		}
		write = r->type == VIRTIO_BLK_T_OUT;
		if (res == -EINVAL && b->udirect) {
			/* O_DIRECT refused this buffer's alignment: the block
			 * layer's path copes with any alignment. */
			pthread_mutex_lock(&b->lock);
			looking_add(b, -1);
			pool_enqueue_locked(b, r);
			pthread_mutex_unlock(&b->lock);
			continue;
		}
		if (res >= 0 && (uint64_t)res == r->data_len) {
			rw_account(b, r, write, r->start_ns);
			r->result = VIRTIO_BLK_S_OK;
		} else {
			log_warn("virtio-blk %s: %s at sector %llu: %s", b->id, write ? "write" : "read",
				 (unsigned long long)r->sector, res < 0 ? strerror(-res) : "short transfer");
			add(write ? &b->st.failed_wr : &b->st.failed_rd, 1);
			r->result = VIRTIO_BLK_S_IOERR;
		}
		__atomic_store_n(r->status, r->result, __ATOMIC_RELEASE);
		last = io_uring_cq_ready(&b->ring) == 0;
		complete(b, r->vq, r, &last);
		pthread_mutex_lock(&b->lock);
		looking_add(b, -1);
		if (--b->inflight == 0)
			pthread_cond_broadcast(&b->idle);
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&b->cq_lock);
	return go_on;
}

static bool vblk_poll(struct vblk *b);

/* The ring has completions: on the transport's I/O thread, which thus takes
 * kicks and completions alike (no thread hand-off per batch). */
static void uring_cq_event(void *opaque)
{
	vblk_poll(opaque);
}

/* Without an I/O thread (tests): a thread of its own waits for completions.
 * A NOP with no request stops it. */
static void *reaper_main(void *arg)
{
	struct vblk *b = arg;

	for (;;) {
		struct io_uring_cqe *cqe;
		int ret = io_uring_wait_cqe(&b->ring, &cqe);   /* waits, does not consume */

		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			log_error("virtio-blk %s: io_uring_wait_cqe: %s", b->id, strerror(-ret));
			return NULL;
		}
		if (!vblk_poll(b))
			return NULL;
	}
}

/* Hand the SQEs prepared so far to the kernel; b->lock held. Once taken, an
 * SQE stays in the ring whatever io_uring_submit says, so its request must not
 * also go to the pool: retry transient failures and otherwise leave it for
 * the next submission. */
static void uring_flush_locked(struct vblk *b)
{
	int ret;

	if (!b->unsubmitted)
		return;
	do
		ret = io_uring_submit(&b->ring);
	while (ret == -EINTR || ret == -EAGAIN || ret == -EBUSY);
	if (ret < 0)
		log_warn("virtio-blk %s: io_uring_submit: %s", b->id, strerror(-ret));
	b->unsubmitted = 0;
}

/* Prepare a valid, non-empty read or write on the ring; b->lock held. It
 * reaches the kernel at the next uring_flush_locked (one system call for all
 * the requests of a kick). false when the ring has no free entry (the caller
 * uses the pool). */
static bool uring_queue_locked(struct vblk *b, struct vblk_req *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (!sqe) {
		uring_flush_locked(b);
		sqe = io_uring_get_sqe(&b->ring);
		if (!sqe)
			return false;
	}
	if (r->type == VIRTIO_BLK_T_OUT)
		io_uring_prep_writev(sqe, b->ufd, r->data, r->ndata, r->sector * SECTOR);
	else
		io_uring_prep_readv(sqe, b->ufd, r->data, r->ndata, r->sector * SECTOR);
	io_uring_sqe_set_data(sqe, r);
	r->start_ns = clock_ns();
	b->unsubmitted++;
	looking_add(b, 1);
	return true;
}

static void uring_setup(struct vblk *b, const struct vblk_opts *o, bool iothread)
{
	int flags = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC, ret;

	if (strcmp(blk_format(b->img), "raw")) {
		log_info("virtio-blk %s: aio=io_uring serves raw images; %s goes through the thread pool",
			 b->id, blk_format(b->img));
		return;
	}
	b->udirect = o->cache == BLK_CACHE_NONE;
	b->ufd = open(b->path, flags | (b->udirect ? O_DIRECT : 0));
	if (b->ufd < 0 && b->udirect) {
		/* e.g. tmpfs: no O_DIRECT, as the block layer also falls back. */
		b->udirect = false;
		b->ufd = open(b->path, flags);
	}
	if (b->ufd < 0) {
		log_warn("virtio-blk %s: aio=io_uring: cannot open '%s': %s; using the thread pool", b->id,
			 b->path, strerror(errno));
		return;
	}
	ret = io_uring_queue_init(VBLK_QUEUE_SIZE, &b->ring, 0);
	if (ret < 0) {
		log_info("virtio-blk %s: io_uring unavailable (%s); using the thread pool", b->id,
			 strerror(-ret));
		close(b->ufd);
		b->ufd = -1;
		return;
	}
	if (iothread) {
		/* The ring's own fd polls readable while completions wait, as
		 * QEMU watches it: no eventfd to signal and read per batch. */
		if (virtio_pci_watch_fd(b->vp, b->ring.ring_fd, uring_cq_event, b) < 0) {
			log_warn("virtio-blk %s: cannot watch io_uring completions on the I/O thread; "
				 "using the thread pool", b->id);
			goto fail;
		}
	} else {
		ret = pthread_create(&b->reaper, NULL, reaper_main, b);
		if (ret) {
			log_warn("virtio-blk %s: cannot start the io_uring reaper: %s; using the thread pool",
				 b->id, strerror(ret));
			goto fail;
		}
		pthread_setname_np(b->reaper, "virtio-blk-uring");
		b->reaper_started = true;
	}
	b->uring = true;
	return;
fail:
	io_uring_queue_exit(&b->ring);
	close(b->ufd);
	b->ufd = -1;
}

static void uring_teardown(struct vblk *b)
{
	struct io_uring_sqe *sqe = NULL;

	if (!b->uring)
		return;
	if (b->reaper_started) {
		/* A NOP without a request tells the reaper to stop. After a
		 * submission the ring has room for it. */
		pthread_mutex_lock(&b->lock);
		uring_flush_locked(b);
		sqe = io_uring_get_sqe(&b->ring);
		if (sqe) {
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data(sqe, NULL);
			b->unsubmitted++;
			uring_flush_locked(b);
		}
		pthread_mutex_unlock(&b->lock);
		if (sqe)
			pthread_join(b->reaper, NULL);
		else
			log_error("virtio-blk %s: cannot stop the io_uring reaper", b->id);
	}
	/* With the I/O thread, the transport (destroyed first) has stopped it. */
	io_uring_queue_exit(&b->ring);
	close(b->ufd);
	b->uring = false;
}
#endif

/* Take every available chain, parse it, start it (io_uring or the pool).
 * On an empty ring it asks the driver for a kick only when no request is in
 * flight that will look again once complete: while one is, the driver adds
 * requests without kicking. At QD32 that spares the guest most kicks, each
 * an exit. */
static void vblk_take(struct vblk *b, struct vq *vq)
{
	for (;;) {
		struct vblk_req *r = req_get(b);
		bool quiet;
		int ret;

		if (!r) {
			log_error("virtio-blk %s: out of memory", b->id);
			break;
		}
		pthread_mutex_lock(&vq->lock);
		quiet = looking(b);
		ret = vq_pop_flags(vq, &r->elem, quiet ? VQ_POP_NO_KICK : 0);
		/* The last request may have completed between the test and the
		 * pop: then nothing would look again, so ask for the kick. */
		if (ret == 0 && quiet && !looking(b))
			ret = vq_pop(vq, &r->elem);
		pthread_mutex_unlock(&vq->lock);
		if (ret == 1 && vblk_parse_request(r) < 0)
			ret = -1;
		if (ret <= 0) {
			if (ret < 0)
				virtio_pci_set_needs_reset(b->vp, err_message());
			req_put(b, r);
			break;
		}
		r->vq = vq;
#ifdef VBLK_HAVE_URING
		if (b->uring && (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) &&
		    r->data_len && r->ndata <= IOV_MAX && !__atomic_load_n(&b->throttled, __ATOMIC_ACQUIRE)) {
			bool queued;

			if (!rw_valid(b, r, r->type == VIRTIO_BLK_T_OUT)) {
				bool last = vq_pending(vq) == 0;

				r->result = VIRTIO_BLK_S_IOERR;
				__atomic_store_n(r->status, r->result, __ATOMIC_RELEASE);
				complete(b, vq, r, &last);
				continue;
			}
			pthread_mutex_lock(&b->lock);
			b->inflight++;
			queued = uring_queue_locked(b, r);
			if (!queued)
				pool_enqueue_locked(b, r);
			pthread_mutex_unlock(&b->lock);
			continue;
		}
#endif
		if (b->nthreads == 0) {
			/* Inline mode: one request at a time, interrupt per kick. */
			bool last = vq_pending(vq) == 0;

			vblk_execute(b, r);
			complete(b, vq, r, &last);
			continue;
		}
		pthread_mutex_lock(&b->lock);
		b->inflight++;
		pool_enqueue_locked(b, r);
		pthread_mutex_unlock(&b->lock);
	}
#ifdef VBLK_HAVE_URING
	if (b->uring) {
		pthread_mutex_lock(&b->lock);
		uring_flush_locked(b);
		pthread_mutex_unlock(&b->lock);
	}
#endif
}

#ifdef VBLK_HAVE_URING
/* Completions are ready (or may be): finish them with one interrupt, then
 * take what the driver added meanwhile without kicking. false once the
 * reaper's stop NOP was seen. */
static bool vblk_poll(struct vblk *b)
{
	struct vq *vq = __atomic_load_n(&b->vq, __ATOMIC_ACQUIRE);
	bool go_on = uring_reap(b);

	if (go_on && vq)
		vblk_take(b, vq);
	return go_on;
}
#endif

/* Called on the I/O thread (or the vCPU in tests) when the driver kicks. */
static void vblk_notify(void *opaque, struct vq *vq)
{
	struct vblk *b = opaque;

	__atomic_store_n(&b->vq, vq, __ATOMIC_RELEASE);
	vblk_take(b, vq);
#ifdef VBLK_HAVE_URING
	/* Reads from the page cache complete inside the submission: finish
	 * them now, with one interrupt, rather than on the next wake-up. */
	if (b->uring)
		vblk_poll(b);
#endif
}

static void vblk_reset(void *opaque)
{
	struct vblk *b = opaque;

	/* The transport has stopped kicks; wait for what the pool holds so
	 * nothing writes guest memory or the used ring after reset. */
	pthread_mutex_lock(&b->lock);
	while (b->inflight) {
#ifdef VBLK_HAVE_URING
		/* The I/O thread that reaps the ring may itself be waiting for
		 * this reset to finish (a kick): reap here meanwhile. */
		if (b->uring) {
			struct timespec until;

			pthread_mutex_unlock(&b->lock);
			uring_reap(b);
			pthread_mutex_lock(&b->lock);
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 2000000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			if (b->inflight)
				pthread_cond_timedwait(&b->idle, &b->lock, &until);
			continue;
		}
#endif
		pthread_cond_wait(&b->idle, &b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	b->features = 0;
}

static int vblk_activate(void *opaque, uint64_t features)
{
	struct vblk *b = opaque;

	b->features = features;
	return 0;
}

static uint64_t vblk_features(void *opaque)
{
	struct vblk *b = opaque;
	uint64_t f = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		     VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);

	if (b->readonly)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	else
		f |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	return f;
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void vblk_config_read(void *opaque, uint32_t off, uint8_t *data, uint32_t len)
{
	struct vblk *b = opaque;
	uint8_t cfg[VBLK_CONFIG_SIZE] = { 0 };
	uint64_t cap = htole64(b->sectors);

	memcpy(cfg, &cap, 8);
	put32(cfg + 12, VBLK_SEG_MAX);
	put32(cfg + 20, SECTOR);                          /* blk_size */
	if (!b->readonly) {
		put32(cfg + 36, VBLK_MAX_DISCARD_SECTORS);
		put32(cfg + 40, 1);                       /* max_discard_seg */
		put32(cfg + 44, VBLK_DISCARD_ALIGNMENT);
		put32(cfg + 48, VBLK_MAX_DISCARD_SECTORS);/* max_write_zeroes_sectors */
		put32(cfg + 52, 1);
		cfg[56] = 1;                              /* write_zeroes_may_unmap */
	}
	if (off < sizeof(cfg))
		memcpy(data, cfg + off, MIN((size_t)len, sizeof(cfg) - off));
}

static const struct virtio_device_ops vblk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.class_code = 0x010000,
	.num_queues = 1,
	.queue_max_size = VBLK_QUEUE_SIZE,
	.features = vblk_features,
	.config_size = VBLK_CONFIG_SIZE,
	.config_read = vblk_config_read,
	.activate = vblk_activate,
	.queue_notify = vblk_notify,
	.reset = vblk_reset,
};

struct vblk *vblk_create(const struct vblk_opts *o, const struct guest_mem *gm,
			 const struct virtio_host_ops *host, bool iothread)
{
	struct blk_open_opts bo = { .format = o->format, .read_only = o->readonly, .cache = o->cache };
	struct virtio_pci_opts po = { .ops = &vblk_ops, .gm = gm, .host = host, .iothread = iothread };
	struct vblk *b = calloc(1, sizeof(*b));

	if (!b) {
		err_set(ERR_NOMEM, "virtio-blk: out of memory");
		return NULL;
	}
	pthread_mutex_init(&b->lock, NULL);
	pthread_mutex_init(&b->free_lock, NULL);
#ifdef VBLK_HAVE_URING
	pthread_mutex_init(&b->cq_lock, NULL);
#endif
	pthread_cond_init(&b->work, NULL);
	pthread_cond_init(&b->idle, NULL);
	b->readonly = o->readonly;
	b->cache = o->cache;
	b->iothread = iothread;
	b->id = strdup(o->id ? o->id : "virtio-blk");
	b->path = strdup(o->path ? o->path : "");
	b->format = o->format ? strdup(o->format) : NULL;
	if (o->serial)
		memcpy(b->serial, o->serial, MIN(strlen(o->serial), sizeof(b->serial)));
	if (!b->id || !b->path) {
		err_set(ERR_NOMEM, "virtio-blk: out of memory");
		goto fail;
	}
	b->throttle = throttle_get(o->group, &o->throttle);
	if (!b->throttle) {
		err_prefix("virtio-blk %s: I/O limits", b->id);
		goto fail;
	}
	b->throttled = throttle_config_enabled(&o->throttle) || o->group;
	b->img = blk_open(b->path, &bo);
	if (!b->img) {
		err_prefix("virtio-blk %s", b->id);
		goto fail;
	}
	b->sectors = blk_size(b->img) / SECTOR;
	po.opaque = b;
	b->vp = virtio_pci_create(&po);
	if (!b->vp)
		goto fail;
	b->threads = calloc(o->workers ? o->workers : 1, sizeof(*b->threads));
	if (!b->threads) {
		err_set(ERR_NOMEM, "virtio-blk: out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < o->workers; i++) {
		int r = pthread_create(&b->threads[i], NULL, worker_main, b);

		if (r) {
			err_set_errno(ERR_INTERNAL, r, "virtio-blk %s: cannot start worker", b->id);
			goto fail;
		}
		pthread_setname_np(b->threads[i], "virtio-blk");
		b->nthreads++;
	}
#ifdef VBLK_HAVE_URING
	b->ufd = -1;
	/* The ring needs the pool for what it cannot do (and as its fallback). */
	if (o->aio == VBLK_AIO_IO_URING && b->nthreads)
		uring_setup(b, o, iothread);
#else
	if (o->aio == VBLK_AIO_IO_URING)
		log_info("virtio-blk %s: built without liburing; aio=io_uring uses the thread pool", b->id);
#endif
	return b;
fail:
	vblk_destroy(b);
	return NULL;
}

struct virtio_pci *vblk_transport(struct vblk *b)
{
	return b->vp;
}

bool vblk_io_uring_active(struct vblk *b)
{
#ifdef VBLK_HAVE_URING
	return b->uring;
#else
	(void)b;
	return false;
#endif
}

const char *vblk_id(struct vblk *b)
{
	return b->id;
}

void vblk_destroy(struct vblk *b)
{
	if (!b)
		return;
	/* Transport first: its reset waits for the pool and the ring to drain. */
	virtio_pci_destroy(b->vp);
#ifdef VBLK_HAVE_URING
	uring_teardown(b);
#endif
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	if (b->throttle)
		throttle_put(b->throttle);
	b->throttle = NULL;
	pthread_cond_broadcast(&b->work);
	pthread_mutex_unlock(&b->lock);
	for (unsigned i = 0; i < b->nthreads; i++)
		pthread_join(b->threads[i], NULL);
	while (b->head) {
		struct vblk_req *r = b->head;

		b->head = r->next;
		req_free(r);
	}
	while (b->free_reqs) {
		struct vblk_req *r = b->free_reqs;

		b->free_reqs = r->next;
		req_free(r);
	}
	pthread_mutex_destroy(&b->free_lock);
	if (b->img && blk_close(b->img) < 0)
		log_warn("virtio-blk %s: closing: %s", b->id, err_message());
	free(b->threads);
	free(b->id);
	free(b->path);
	free(b->format);
	pthread_cond_destroy(&b->work);
	pthread_cond_destroy(&b->idle);
	pthread_mutex_destroy(&b->lock);
#ifdef VBLK_HAVE_URING
	pthread_mutex_destroy(&b->cq_lock);
#endif
	free(b);
}

void vblk_get_stats(struct vblk *b, struct vblk_stats *st)
{
	uint64_t *dst = (uint64_t *)st;
	const uint64_t *src = (const uint64_t *)&b->st;

	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* ---- QMP ---- */

static void jadd(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

int vblk_set_throttle(struct vblk *b, const struct throttle_config *cfg)
{
	if (throttle_config_validate(cfg) < 0 || throttle_set_config(b->throttle, cfg) < 0)
		return err_prefix("virtio-blk %s", b->id);
	__atomic_store_n(&b->throttled, throttle_config_enabled(cfg) || b->throttled, __ATOMIC_RELEASE);
	return 0;
}

int vblk_set_throttle_group(struct vblk *b, const char *group, const struct throttle_config *cfg)
{
	if (throttle_set_group(b->throttle, group, cfg) < 0)
		return err_prefix("virtio-blk %s", b->id);
	/* Requests must now charge the group, even while its limits are zero. */
	__atomic_store_n(&b->throttled, true, __ATOMIC_RELEASE);
	return vblk_set_throttle(b, cfg);
}

/* The limits in force, as query-block shows them: the six averages always,
 * the bursts, burst lengths, iops_size and group when throttling is on. */
static void vblk_query_throttle(struct vblk *b, struct json_object *ins)
{
	struct throttle_field f[THROTTLE_FIELDS];
	struct throttle_config cfg;
	unsigned n;
	bool on;

	throttle_get_config(b->throttle, &cfg);
	on = throttle_config_enabled(&cfg);
	n = throttle_config_fields(&cfg, f, THROTTLE_FIELDS);
	for (unsigned i = 0; i < n; i++)
		if (i < 6 || on)
			jadd(ins, f[i].name, json_object_new_int64((int64_t)f[i].value));
	if (on && throttle_group_name(b->throttle))
		jadd(ins, "group", json_object_new_string(throttle_group_name(b->throttle)));
}

struct json_object *vblk_query_block(struct vblk *const *devs, unsigned n)
{
	struct json_object *list = json_object_new_array();

	for (unsigned i = 0; i < n; i++) {
		struct vblk *b = devs[i];
		struct json_object *e = json_object_new_object(), *ins = json_object_new_object(),
				   *img = json_object_new_object(), *cache = json_object_new_object();
		struct blk_info info;

		memset(&info, 0, sizeof(info));
		blk_get_info(b->img, &info);
		jadd(e, "device", json_object_new_string(b->id));
		jadd(e, "qdev", json_object_new_string(b->id));
		jadd(e, "locked", json_object_new_boolean(false));
		jadd(e, "removable", json_object_new_boolean(false));
		jadd(e, "type", json_object_new_string("unknown"));
		jadd(ins, "file", json_object_new_string(b->path));
		jadd(ins, "node-name", json_object_new_string(b->id));
		jadd(ins, "ro", json_object_new_boolean(b->readonly));
		jadd(ins, "drv", json_object_new_string(blk_format(b->img)));
		jadd(ins, "encrypted", json_object_new_boolean(false));
		jadd(ins, "detect_zeroes", json_object_new_string("off"));
		jadd(ins, "backing_file_depth", json_object_new_int(blk_backing(b->img) ? 1 : 0));
		jadd(ins, "write_threshold", json_object_new_int(0));
		vblk_query_throttle(b, ins);
		jadd(cache, "writeback", json_object_new_boolean(true));
		jadd(cache, "direct", json_object_new_boolean(b->cache == BLK_CACHE_NONE));
		jadd(cache, "no-flush", json_object_new_boolean(false));
		jadd(ins, "cache", cache);
		jadd(img, "filename", json_object_new_string(b->path));
		jadd(img, "format", json_object_new_string(blk_format(b->img)));
		jadd(img, "virtual-size", json_object_new_int64((int64_t)blk_size(b->img)));
		jadd(img, "actual-size", json_object_new_int64((int64_t)info.actual_size));
		jadd(img, "dirty-flag", json_object_new_boolean(info.dirty));
		if (info.cluster_size)
			jadd(img, "cluster-size", json_object_new_int64(info.cluster_size));
		if (info.backing_file)
			jadd(img, "backing-filename", json_object_new_string(info.backing_file));
		jadd(ins, "image", img);
		jadd(e, "inserted", ins);
		json_object_array_add(list, e);
	}
	return list;
}

struct json_object *vblk_query_blockstats(struct vblk *const *devs, unsigned n)
{
	struct json_object *list = json_object_new_array();

	for (unsigned i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object(), *s = json_object_new_object();
		struct vblk_stats st;
		static const char *const zero_keys[] = { "rd_merged", "wr_merged", "invalid_rd_operations",
							 "invalid_wr_operations", "invalid_flush_operations",
							 "invalid_unmap_operations", "failed_unmap_operations" };

		vblk_get_stats(devs[i], &st);
		jadd(e, "device", json_object_new_string(devs[i]->id));
		jadd(e, "qdev", json_object_new_string(devs[i]->id));
		jadd(e, "node-name", json_object_new_string(devs[i]->id));
#define S(k, v) jadd(s, k, json_object_new_int64((int64_t)(v)))
		S("rd_bytes", st.rd_bytes);
		S("wr_bytes", st.wr_bytes);
		S("unmap_bytes", st.unmap_bytes);
		S("rd_operations", st.rd_ops);
		S("wr_operations", st.wr_ops);
		S("flush_operations", st.flush_ops);
		S("unmap_operations", st.unmap_ops);
		S("rd_total_time_ns", st.rd_ns);
		S("wr_total_time_ns", st.wr_ns);
		S("flush_total_time_ns", st.flush_ns);
		S("unmap_total_time_ns", st.unmap_ns);
		S("wr_highest_offset", st.wr_highest_offset);
		S("failed_rd_operations", st.failed_rd);
		S("failed_wr_operations", st.failed_wr);
		S("failed_flush_operations", st.failed_flush);
#undef S
		for (size_t k = 0; k < ARRAY_SIZE(zero_keys); k++)
			jadd(s, zero_keys[k], json_object_new_int(0));
		jadd(s, "account_invalid", json_object_new_boolean(true));
		jadd(s, "account_failed", json_object_new_boolean(true));
		jadd(s, "timed_stats", json_object_new_array());
		jadd(e, "stats", s);
		json_object_array_add(list, e);
	}
	return list;
}
