/* virtio-net on a tap: tx chains are written to the tap as they come (the
 * guest's 12-byte header is the tap's vnet header), rx frames are read and
 * spread over one or more guest buffers; both on the transport's I/O thread,
 * so the device takes one host CPU next to the vCPU, not two. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "vmm/devices/virtio/net.h"
#include "vmm/devices/virtio/queue.h"

#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_QUEUE_SIZE 256
/* Guest buffers one mergeable frame may take before we give up on it: a
 * 64 KiB frame in the smallest buffers Linux posts (~1.5 KiB) needs ~45. */
#define VNET_MAX_HELD 128
#define VNET_CONFIG_SIZE 10   /* mac[6], status, max_virtqueue_pairs */

struct vnet {
	struct virtio_pci *vp;
	int fd;                 /* tap or, without a vnet header, a frame socket */
	bool vnet_hdr;          /* the fd speaks the 12-byte header (offloads possible) */
	uint8_t mac[6];
	uint64_t offered;
	unsigned tap_offloads;

	pthread_mutex_t lock;   /* active, rxvq, the pending frame, held buffers */
	bool active, mrg;
	struct vq *rxvq;        /* learnt from the first rx kick after activation */
	bool backend_gone;      /* the fd hung up or failed: stop watching it (n->lock) */
	bool backend_on;        /* the I/O thread watches the fd (n->lock) */

	uint8_t *pkt;           /* pending rx frame with its header, pkt_len bytes */
	size_t pkt_len, pkt_off;
	struct vq_elem held[VNET_MAX_HELD];
	uint32_t held_len[VNET_MAX_HELD];
	unsigned nheld;

	struct iovec *txiov;    /* tx segments after the header is skipped */
	unsigned txiov_cap;
	uint8_t zero_hdr[VNET_HDR_LEN];

	struct vnet_stats st;
};

/* ---- options ---- */

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return (mac[0] & 1) ? -1 : 0;   /* a multicast address cannot be a NIC's */
}

void vnet_opts_free(struct vnet_opts *o)
{
	free(o->tap);
	o->tap = NULL;
}

int vnet_parse_opts(const char *spec, struct vnet_opts *o)
{
	char *copy, *save = NULL;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	copy = strdup(spec);
	if (!copy)
		return err_set(ERR_NOMEM, "--net: out of memory");
	for (char *kv = strtok_r(copy, ",", &save); kv && !rc; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		uint64_t v;

		if (!eq) {
			rc = err_set(ERR_INVALID, "--net: '%s' is not key=value", kv);
			break;
		}
		*eq++ = '\0';
		if (!strcmp(kv, "tap")) {
			if (!*eq || strlen(eq) >= IFNAMSIZ)
				rc = err_set(ERR_INVALID, "--net: tap='%s' is not an interface name of 1 to %d characters",
					     eq, IFNAMSIZ - 1);
			else if (!(o->tap = strdup(eq)))
				rc = err_set(ERR_NOMEM, "--net: out of memory");
		} else if (!strcmp(kv, "fd")) {
			if (parse_uint(eq, 0, 65535, &v) < 0)
				rc = err_set(ERR_INVALID, "--net: fd=%s is not a file descriptor number", eq);
			else
				o->fd = (int)v;
		} else if (!strcmp(kv, "mac")) {
			if (parse_mac(eq, o->mac) < 0)
				rc = err_set(ERR_INVALID, "--net: mac=%s is not a unicast address like 52:54:00:12:34:56", eq);
			o->has_mac = true;
		} else {
			rc = err_set(ERR_INVALID, "--net: unknown key '%s'", kv);
		}
	}
	free(copy);
	if (!rc && !o->tap && o->fd < 0)
		rc = err_set(ERR_INVALID, "--net: tap=NAME or fd=N is missing");
	if (!rc && o->tap && o->fd >= 0)
		rc = err_set(ERR_INVALID, "--net: give tap= or fd=, not both");
	return rc;
}

/* ---- backend ---- */

static int tap_open(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return err_set_errno(ERR_IO, errno, "tap %s: cannot open /dev/net/tun", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		return err_set_errno(ERR_IO, e, "tap %s: TUNSETIFF", name);
	}
	return fd;
}

/* Whether fd is a tap with IFF_VNET_HDR; sets the header size we use. */
static int backend_probe(struct vnet *n)
{
	struct ifreq ifr = { 0 };
	int hs = VNET_HDR_LEN, fl = fcntl(n->fd, F_GETFL);

	if (fl < 0 || fcntl(n->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return err_set_errno(ERR_IO, errno, "virtio-net: fd %d", n->fd);
	n->vnet_hdr = false;
	if (ioctl(n->fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_VNET_HDR))
		return 0;   /* a socket or a tap without headers: bare frames */
	if (ioctl(n->fd, TUNSETVNETHDRSZ, &hs) < 0)
		return err_set_errno(ERR_IO, errno, "virtio-net: TUNSETVNETHDRSZ on %s", ifr.ifr_name);
	n->vnet_hdr = true;
	return 0;
}

static unsigned offloads_for(uint64_t f)
{
	unsigned t = 0;

	if (!(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;   /* segmentation offloads need checksum offload */
	t |= TUN_F_CSUM;
	if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))
		t |= TUN_F_TSO4;
	if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6))
		t |= TUN_F_TSO6;
	if ((f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN)) && (t & (TUN_F_TSO4 | TUN_F_TSO6)))
		t |= TUN_F_TSO_ECN;
	if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO))
		t |= TUN_F_UFO;
	return t;
}

/* ---- rx ---- */

static void rx_drop_held(struct vnet *n, struct vq *vq)
{
	/* Buffers already taken go back empty; the driver counts them as errors. */
	for (unsigned i = 0; i < n->nheld; i++)
		vq_push(vq, n->held[i].head, 0);
	n->nheld = 0;
	n->pkt_len = n->pkt_off = 0;
	n->st.rx_dropped++;
}

/* Put the pending frame into guest buffers. 1: delivered or dropped; 0: the
 * guest has no buffer (keep it, wait for a kick); -1: broken ring. n->lock
 * and vq->lock held. */
static int rx_deliver(struct vnet *n, struct vq *vq)
{
	while (n->pkt_off < n->pkt_len) {
		struct vq_elem *e;
		size_t room, copy;
		int r;

		if (n->nheld == VNET_MAX_HELD) {
			log_warn("virtio-net: rx frame of %zu bytes needs more than %u buffers: dropped",
				 n->pkt_len, VNET_MAX_HELD);
			rx_drop_held(n, vq);
			return 1;
		}
		e = &n->held[n->nheld];
		r = vq_pop(vq, e);
		if (r <= 0)
			return r;
		n->nheld++;
		room = e->in_len;
		if (e->out_num || (n->nheld == 1 && room < VNET_HDR_LEN) || (!n->mrg && room < n->pkt_len)) {
			/* Read-only segments in an rx chain, or a first buffer too
			 * small for the header or (without MRG_RXBUF) for the frame. */
			rx_drop_held(n, vq);
			return 1;
		}
		copy = MIN(room, n->pkt_len - n->pkt_off);
		vq_iov_from_buf(e->iov, e->in_num, 0, n->pkt + n->pkt_off, copy);
		n->held_len[n->nheld - 1] = (uint32_t)copy;
		n->pkt_off += copy;
	}
	{
		uint16_t nb = (uint16_t)n->nheld;

		/* num_buffers, at offset 10 of the header in the first buffer. */
		vq_iov_from_buf(n->held[0].iov, n->held[0].in_num, 10, &nb, sizeof(nb));
	}
	for (unsigned i = 0; i < n->nheld; i++)
		vq_push(vq, n->held[i].head, n->held_len[i]);
	n->st.rx_packets++;
	n->st.rx_bytes += n->pkt_len - VNET_HDR_LEN;
	n->nheld = 0;
	n->pkt_len = n->pkt_off = 0;
	return 1;
}

/* Read one frame from the backend into n->pkt. 1: got one; 0: nothing. */
static int rx_read(struct vnet *n)
{
	ssize_t r;

	if (n->vnet_hdr) {
		r = read(n->fd, n->pkt, VNET_HDR_LEN + VNET_MAX_FRAME);
	} else {
		memset(n->pkt, 0, VNET_HDR_LEN);
		r = read(n->fd, n->pkt + VNET_HDR_LEN, VNET_MAX_FRAME);
		if (r == 0) {
			/* End of file: a stream or seqpacket peer closed (a tap never reads 0). */
			if (!n->backend_gone)
				log_warn("virtio-net: backend fd %d closed: no more rx", n->fd);
			n->backend_gone = true;
			return 0;
		}
		if (r > 0)
			r += VNET_HDR_LEN;
	}
	if (r < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			/* Watching an fd in error would spin the I/O thread. */
			log_warn("virtio-net: read from backend fd %d: %s; no more rx", n->fd, strerror(errno));
			n->backend_gone = true;
		}
		return 0;
	}
	if ((size_t)r <= VNET_HDR_LEN)
		return 0;   /* empty (a closed socket peer reads as 0) */
	memset(n->pkt + 10, 0, 2);
	n->pkt_len = (size_t)r;
	n->pkt_off = 0;
	return 1;
}

/* Frames moved per turn of the I/O thread, so that a long burst holds back
 * neither tx kicks nor the guest (interrupted after each turn, it drains and
 * refills the ring while we go on); the backend stays readable, we come back. */
#define VNET_RX_BUDGET 32
/* Frames written per turn: each may take the host's whole network stack
 * (a tap write delivers it), so rx waits no longer than this many. */
#define VNET_TX_BUDGET 16

/* Move frames while the guest has buffers; returns whether to wait for the
 * backend to be readable (false: wait for a kick instead). n->lock held. */
static bool rx_run(struct vnet *n)
{
	struct vq *vq = __atomic_load_n(&n->rxvq, __ATOMIC_ACQUIRE);
	unsigned delivered = 0;
	bool want_tap = false;

	if (!n->active || !vq)
		return false;
	pthread_mutex_lock(&vq->lock);
	for (;;) {
		int r;

		if (!n->pkt_len && !rx_read(n)) {
			want_tap = true;
			break;
		}
		r = rx_deliver(n, vq);
		if (r < 0) {
			virtio_pci_set_needs_reset(n->vp, err_message());
			n->nheld = 0;
			n->pkt_len = n->pkt_off = 0;
			n->active = false;
			break;
		}
		if (r == 0) {
			/* vq_pop published avail_event; a buffer added since is seen now. */
			if (vq_pending(vq))
				continue;
			break;
		}
		if (++delivered == VNET_RX_BUDGET) {
			want_tap = true;
			break;
		}
	}
	if (delivered || n->nheld)
		virtio_pci_queue_signal(n->vp, vq);
	pthread_mutex_unlock(&vq->lock);
	return want_tap;
}

/* Move what can be moved, then watch the backend only while frames are what
 * we wait for (while we wait for buffers, an rx kick brings us back). On the
 * I/O thread, or on the vCPU when DRIVER_OK serves buffers posted before. */
static void rx_serve(struct vnet *n)
{
	bool want;

	pthread_mutex_lock(&n->lock);
	want = rx_run(n) && !n->backend_gone;
	if (want != n->backend_on) {
		if (virtio_pci_watch_enable(n->vp, n->fd, want) == 0)
			n->backend_on = want;
		else
			log_warn("virtio-net: %s", err_message());
	}
	pthread_mutex_unlock(&n->lock);
}

static void rx_backend_ready(void *opaque)
{
	rx_serve(opaque);
}

/* ---- tx ---- */

static void tx_one(struct vnet *n, struct vq_elem *e)
{
	const struct iovec *iov = e->iov;
	unsigned cnt = e->out_num;
	ssize_t w;

	if (e->out_len <= VNET_HDR_LEN || e->out_len > VNET_HDR_LEN + VNET_MAX_FRAME) {
		n->st.tx_dropped++;
		return;
	}
	if (!n->vnet_hdr) {
		/* Skip the header: the backend takes bare frames. */
		size_t skip = VNET_HDR_LEN;
		unsigned j = 0;

		if (n->txiov_cap < cnt) {
			struct iovec *t = realloc(n->txiov, cnt * sizeof(*t));

			if (!t) {
				n->st.tx_dropped++;
				return;
			}
			n->txiov = t;
			n->txiov_cap = cnt;
		}
		for (unsigned i = 0; i < cnt; i++) {
			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			n->txiov[j].iov_base = (uint8_t *)iov[i].iov_base + skip;
			n->txiov[j++].iov_len = iov[i].iov_len - skip;
			skip = 0;
		}
		iov = n->txiov;
		cnt = j;
	}
	for (int tries = 0;; tries++) {
		w = writev(n->fd, iov, (int)cnt);
		if (w >= 0 || (errno != EAGAIN && errno != EINTR) || tries == 20)
			break;
		poll(&(struct pollfd){ n->fd, POLLOUT, 0 }, 1, 5);
	}
	if (w < 0) {
		n->st.tx_dropped++;
		return;
	}
	n->st.tx_packets++;
	n->st.tx_bytes += e->out_len - VNET_HDR_LEN;
}

static void vnet_notify(void *opaque, struct vq *vq)
{
	struct vnet *n = opaque;
	struct vq_elem e = { 0 };
	int r = 0;

	if (vq->index == VNET_RXQ) {
		__atomic_store_n(&n->rxvq, vq, __ATOMIC_RELEASE);
		rx_serve(n);
		return;
	}
	pthread_mutex_lock(&vq->lock);
	for (unsigned sent = 0;; sent++) {
		if (sent == VNET_TX_BUDGET) {
			/* The rest on the next turn, after rx (the guest's ACKs). */
			virtio_pci_queue_resched(n->vp, vq);
			break;
		}
		r = vq_pop(vq, &e);
		if (r != 1)
			break;
		tx_one(n, &e);
		vq_push(vq, e.head, 0);
	}
	if (r < 0)
		virtio_pci_set_needs_reset(n->vp, err_message());
	else
		virtio_pci_queue_signal(n->vp, vq);
	pthread_mutex_unlock(&vq->lock);
	vq_elem_free(&e);
}

/* ---- transport ops ---- */

static uint64_t vnet_features(void *opaque)
{
	return ((struct vnet *)opaque)->offered;
}

static void vnet_config_read(void *opaque, uint32_t offset, uint8_t *data, uint32_t len)
{
	struct vnet *n = opaque;
	uint8_t cfg[VNET_CONFIG_SIZE] = { 0 };

	memcpy(cfg, n->mac, 6);
	cfg[6] = VIRTIO_NET_S_LINK_UP;
	cfg[8] = 1;   /* max_virtqueue_pairs */
	memcpy(data, cfg + offset, len);   /* the transport checked offset+len */
}

static void vnet_config_write(void *opaque, uint32_t offset, const uint8_t *data, uint32_t len)
{
	/* The MAC is writable only with legacy drivers or without F_MAC; we
	 * offer F_MAC and no legacy interface, so writes are ignored. */
	(void)opaque, (void)offset, (void)data, (void)len;
}

static int vnet_activate(void *opaque, uint64_t features)
{
	struct vnet *n = opaque;
	unsigned t = n->vnet_hdr ? offloads_for(features) : 0;

	if (n->vnet_hdr && ioctl(n->fd, TUNSETOFFLOAD, t) < 0) {
		/* Kernels that dropped UFO refuse it: the guest just never gets UFO frames. */
		t &= ~(unsigned)TUN_F_UFO;
		if (ioctl(n->fd, TUNSETOFFLOAD, t) < 0)
			return err_set_errno(ERR_IO, errno, "virtio-net: TUNSETOFFLOAD 0x%x", t);
	}
	pthread_mutex_lock(&n->lock);
	n->tap_offloads = t;
	n->mrg = features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	n->active = true;
	pthread_mutex_unlock(&n->lock);
	/* The transport kicks queues that already hold buffers next. */
	return 0;
}

static void vnet_reset(void *opaque)
{
	struct vnet *n = opaque;

	/* Once we hold the lock rx is outside the ring; buffers it held
	 * belong to the ring being reset and are forgotten, not pushed. */
	pthread_mutex_lock(&n->lock);
	n->active = false;
	__atomic_store_n(&n->rxvq, NULL, __ATOMIC_RELEASE);
	if (n->pkt_len)
		n->st.rx_dropped++;
	n->nheld = 0;
	n->pkt_len = n->pkt_off = 0;
	pthread_mutex_unlock(&n->lock);
}

static const struct virtio_device_ops vnet_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.class_code = 0x020000,
	.num_queues = 2,
	.queue_max_size = VNET_QUEUE_SIZE,
	.features = vnet_features,
	.config_size = VNET_CONFIG_SIZE,
	.config_read = vnet_config_read,
	.config_write = vnet_config_write,
	.activate = vnet_activate,
	.queue_notify = vnet_notify,
	.reset = vnet_reset,
};

struct vnet *vnet_create(const struct vnet_opts *o, const struct guest_mem *gm,
			 const struct virtio_host_ops *host)
{
	struct vnet *n = calloc(1, sizeof(*n));
	struct virtio_pci_opts po = { .ops = &vnet_ops, .gm = gm, .host = host, .iothread = true };

	if (!n || !(n->pkt = malloc(VNET_HDR_LEN + VNET_MAX_FRAME))) {
		free(n);
		err_set(ERR_NOMEM, "virtio-net: out of memory");
		return NULL;
	}
	pthread_mutex_init(&n->lock, NULL);
	n->fd = o->tap ? tap_open(o->tap) : o->fd;
	if (n->fd < 0 || backend_probe(n) < 0)
		goto fail;
	if (o->has_mac) {
		memcpy(n->mac, o->mac, 6);
	} else {
		/* QEMU's locally administered prefix, random tail. */
		n->mac[0] = 0x52, n->mac[1] = 0x54, n->mac[2] = 0x00;
		if (getrandom(n->mac + 3, 3, 0) != 3)
			n->mac[5] = 0x56;
	}
	n->offered = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
		     VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (n->vnet_hdr)
		n->offered |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
			      VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
			      VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) |
			      VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
			      VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO);
	po.opaque = n;
	n->vp = virtio_pci_create(&po);
	if (!n->vp || virtio_pci_watch_fd(n->vp, n->fd, rx_backend_ready, n) < 0)
		goto fail;
	n->backend_on = true;
	return n;
fail:
	vnet_destroy(n);
	return NULL;
}

struct virtio_pci *vnet_transport(struct vnet *n)
{
	return n->vp;
}

bool vnet_has_offloads(struct vnet *n)
{
	return n->vnet_hdr;
}

unsigned vnet_tap_offloads(struct vnet *n)
{
	return n->tap_offloads;
}

void vnet_get_stats(struct vnet *n, struct vnet_stats *s)
{
	pthread_mutex_lock(&n->lock);
	*s = n->st;
	pthread_mutex_unlock(&n->lock);
}

void vnet_destroy(struct vnet *n)
{
	if (!n)
		return;
	if (n->vp)
		virtio_pci_destroy(n->vp);
	for (unsigned i = 0; i < VNET_MAX_HELD; i++)
		vq_elem_free(&n->held[i]);
	if (n->fd >= 0)
		close(n->fd);
	pthread_mutex_destroy(&n->lock);
	free(n->txiov);
	free(n->pkt);
	free(n);
}
