/* virtio-console with multiport: the control queues that announce ports to
 * the guest (PORT_ADD, CONSOLE_PORT, PORT_NAME, PORT_OPEN), port output
 * written to each port's chardev, chardev input copied into the port's
 * receive buffers (held back by the chardev while the guest has none). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "vmm/devices/chardev.h"
#include "vmm/devices/virtio/console.h"
#include "vmm/devices/virtio/queue.h"

#define VCON_QUEUE_SIZE 128
#define VCON_CONFIG_SIZE 12   /* cols, rows, max_nr_ports, emerg_wr */
#define VCON_CTL_HDR 8
#define VCON_CTL_MAX 64       /* control messages queued while the guest has no buffer */
#define VCON_CIVQ 2           /* control receiveq (device -> driver) */
#define VCON_COVQ 3           /* control transmitq (driver -> device) */

struct vcon;

struct vcon_port {
	struct vcon *c;
	unsigned id;
	bool present;           /* announced with PORT_ADD */
	bool console;           /* hvc: CONSOLE_PORT */
	char *name;
	struct chardev *cd;
	bool ready, guest_open;
};

struct vcon_ctl {
	uint8_t buf[VCON_CTL_HDR + VCON_NAME_MAX];
	size_t len;
};

struct vcon {
	struct virtio_device_ops ops;   /* per device: num_queues depends on the ports */
	struct virtio_pci *vp;
	unsigned nports;
	struct vcon_port ports[VCON_MAX_CHANNELS + 1];

	pthread_mutex_t lock;   /* everything below; taken before any vq->lock */
	bool active, multiport;
	struct vq *vqs[VIRTIO_MAX_QUEUES];   /* learnt from kicks after activation */
	struct vcon_ctl ctl[VCON_CTL_MAX];
	unsigned ctl_head, ctl_count;
};

static unsigned rxq_of(unsigned port)
{
	return port ? 2 + 2 * port : 0;
}

/* ---- options ---- */

void vcon_channel_free(struct vcon_channel *ch)
{
	free(ch->name);
	free(ch->path);
	ch->name = ch->path = NULL;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > VCON_NAME_MAX)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '/')
			return false;
	return true;
}

int vcon_parse_channel(const char *spec, struct vcon_channel *ch)
{
	char *copy, *save = NULL;
	int rc = 0;

	memset(ch, 0, sizeof(*ch));
	copy = strdup(spec);
	if (!copy)
		return err_set(ERR_NOMEM, "--channel: out of memory");
	for (char *kv = strtok_r(copy, ",", &save); kv && !rc; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '='), **dst;

		if (!eq) {
			rc = err_set(ERR_INVALID, "--channel: '%s' is not key=value", kv);
			break;
		}
		*eq++ = '\0';
		if (!strcmp(kv, "name")) {
			dst = &ch->name;
			if (!name_ok(eq)) {
				rc = err_set(ERR_INVALID, "--channel: name='%s' is not 1 to %d printable characters "
					     "without spaces or '/'", eq, VCON_NAME_MAX);
				break;
			}
		} else if (!strcmp(kv, "path")) {
			dst = &ch->path;
			if (!*eq) {
				rc = err_set(ERR_INVALID, "--channel: path= is empty");
				break;
			}
		} else {
			rc = err_set(ERR_INVALID, "--channel: unknown key '%s'", kv);
			break;
		}
		free(*dst);
		if (!(*dst = strdup(eq)))
			rc = err_set(ERR_NOMEM, "--channel: out of memory");
	}
	free(copy);
	if (!rc && !ch->name)
		rc = err_set(ERR_INVALID, "--channel: name= is missing");
	if (!rc && !ch->path)
		rc = err_set(ERR_INVALID, "--channel: path= is missing");
	return rc;
}

/* ---- control messages to the guest ---- */

/* Move queued control messages into the control receiveq. c->lock held. */
static void ctl_flush(struct vcon *c)
{
	struct vq *vq = c->vqs[VCON_CIVQ];
	struct vq_elem e = { 0 };
	bool pushed = false;

	if (!vq || !c->active)
		return;
	pthread_mutex_lock(&vq->lock);
	while (c->ctl_count) {
		struct vcon_ctl *m = &c->ctl[c->ctl_head];
		int r = vq_pop(vq, &e);
		size_t n;

		if (r < 0) {
			virtio_pci_set_needs_reset(c->vp, err_message());
			break;
		}
		if (!r)
			break;
		n = vq_iov_from_buf(e.iov + e.out_num, e.in_num, 0, m->buf, m->len);
		vq_push(vq, e.head, (uint32_t)n);
		pushed = true;
		c->ctl_head = (c->ctl_head + 1) % VCON_CTL_MAX;
		c->ctl_count--;
	}
	if (pushed)
		virtio_pci_queue_signal(c->vp, vq);
	pthread_mutex_unlock(&vq->lock);
	vq_elem_free(&e);
}

static void ctl_send(struct vcon *c, uint32_t id, uint16_t event, uint16_t value, const char *name)
{
	struct vcon_ctl *m;
	size_t nlen = name ? strnlen(name, VCON_NAME_MAX) : 0;

	if (c->ctl_count == VCON_CTL_MAX) {
		log_warn("virtio-console: control queue full, event %u for port %u dropped", event, id);
		return;
	}
	m = &c->ctl[(c->ctl_head + c->ctl_count++) % VCON_CTL_MAX];
	memcpy(m->buf, &id, 4);
	memcpy(m->buf + 4, &event, 2);
	memcpy(m->buf + 6, &value, 2);
	if (nlen)
		memcpy(m->buf + VCON_CTL_HDR, name, nlen);   /* the driver takes the rest of the buffer */
	m->len = VCON_CTL_HDR + nlen;
	ctl_flush(c);
}

/* A control message from the driver. c->lock held. */
static void ctl_handle(struct vcon *c, uint32_t id, uint16_t event, uint16_t value)
{
	struct vcon_port *p = id < c->nports && c->ports[id].present ? &c->ports[id] : NULL;

	switch (event) {
	case VIRTIO_CONSOLE_DEVICE_READY:
		if (value != 1) {
			log_warn("virtio-console: the driver failed to set up the device");
			return;
		}
		for (unsigned i = 0; i < c->nports; i++)
			if (c->ports[i].present)
				ctl_send(c, i, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
		return;
	case VIRTIO_CONSOLE_PORT_READY:
		if (!p) {
			log_warn("virtio-console: PORT_READY for unknown port %u", id);
			return;
		}
		if (value != 1) {
			log_warn("virtio-console: the driver failed to add port %u", id);
			return;
		}
		p->ready = true;
		if (p->console) {
			/* Linux opens a console port itself right after; take it as
			 * open now so typed input reaches hvc0 with any driver. */
			p->guest_open = true;
			ctl_send(c, id, VIRTIO_CONSOLE_CONSOLE_PORT, 1, NULL);
		}
		if (p->name)
			ctl_send(c, id, VIRTIO_CONSOLE_PORT_NAME, 1, p->name);
		/* The host side counts as connected: output with no client on a
		 * socket is discarded by the chardev, as QEMU's does without one. */
		ctl_send(c, id, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
		return;
	case VIRTIO_CONSOLE_PORT_OPEN:
		if (!p) {
			log_warn("virtio-console: PORT_OPEN for unknown port %u", id);
			return;
		}
		p->guest_open = value != 0;
		if (p->guest_open)
			chardev_accept_input(p->cd, true);
		return;
	default:
		return;   /* RESIZE and the rest have nothing for the device to do */
	}
}

/* ---- data ---- */

/* chardev input for a port (main thread): copy into the guest's receive
 * buffers; what does not fit stays in the chardev until the next rx kick. */
static size_t port_input(void *opaque, const uint8_t *buf, size_t len)
{
	struct vcon_port *p = opaque;
	struct vcon *c = p->c;
	struct vq_elem e = { 0 };
	size_t done = 0;
	struct vq *vq;

	pthread_mutex_lock(&c->lock);
	vq = c->vqs[rxq_of(p->id)];
	if (!c->active || !vq || !p->guest_open) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	pthread_mutex_lock(&vq->lock);
	while (done < len) {
		int r = vq_pop(vq, &e);
		size_t n;

		if (r < 0) {
			virtio_pci_set_needs_reset(c->vp, err_message());
			break;
		}
		if (!r) {
			if (vq_pending(vq))
				continue;
			break;
		}
		n = vq_iov_from_buf(e.iov + e.out_num, e.in_num, 0, buf + done, len - done);
		vq_push(vq, e.head, (uint32_t)n);
		done += n;
	}
	if (done)
		virtio_pci_queue_signal(c->vp, vq);
	pthread_mutex_unlock(&vq->lock);
	pthread_mutex_unlock(&c->lock);
	vq_elem_free(&e);
	return done;
}

static void port_output(struct vcon *c, struct vcon_port *p, struct vq *vq)
{
	struct vq_elem e = { 0 };
	int r;

	pthread_mutex_lock(&vq->lock);
	while ((r = vq_pop(vq, &e)) == 1) {
		for (unsigned i = 0; i < e.out_num; i++)
			if (p && p->cd && e.iov[i].iov_len)
				chardev_write(p->cd, e.iov[i].iov_base, e.iov[i].iov_len);
		vq_push(vq, e.head, 0);
	}
	if (r < 0)
		virtio_pci_set_needs_reset(c->vp, err_message());
	else
		virtio_pci_queue_signal(c->vp, vq);
	pthread_mutex_unlock(&vq->lock);
	vq_elem_free(&e);
}

static void control_output(struct vcon *c, struct vq *vq)
{
	struct vq_elem e = { 0 };
	int r;

	pthread_mutex_lock(&vq->lock);
	while ((r = vq_pop(vq, &e)) == 1) {
		uint8_t m[VCON_CTL_HDR];
		uint32_t id;
		uint16_t event, value;
		size_t n = vq_iov_to_buf(e.iov, e.out_num, 0, m, sizeof(m));

		vq_push(vq, e.head, 0);
		if (n < sizeof(m)) {
			log_warn("virtio-console: control message of %zu bytes ignored", n);
			continue;
		}
		memcpy(&id, m, 4);
		memcpy(&event, m + 4, 2);
		memcpy(&value, m + 6, 2);
		ctl_handle(c, id, event, value);
	}
	if (r < 0)
		virtio_pci_set_needs_reset(c->vp, err_message());
	else
		virtio_pci_queue_signal(c->vp, vq);
	pthread_mutex_unlock(&vq->lock);
	vq_elem_free(&e);
}

static void vcon_notify(void *opaque, struct vq *vq)
{
	struct vcon *c = opaque;
	unsigned q = vq->index, port = q < 2 ? 0 : q / 2 - 1;
	struct vcon_port *p = port < c->nports && c->ports[port].present ? &c->ports[port] : NULL;

	if (q >= VIRTIO_MAX_QUEUES)
		return;
	pthread_mutex_lock(&c->lock);
	c->vqs[q] = vq;
	if (q == VCON_CIVQ) {
		ctl_flush(c);
	} else if (q == VCON_COVQ) {
		control_output(c, vq);
	} else if (q % 2 == 1) {
		pthread_mutex_unlock(&c->lock);
		port_output(c, p, vq);
		return;
	}
	pthread_mutex_unlock(&c->lock);
	if (p && q % 2 == 0 && q != VCON_CIVQ)
		chardev_accept_input(p->cd, true);   /* fresh receive buffers */
}

/* ---- transport ops ---- */

static uint64_t vcon_features(void *opaque)
{
	(void)opaque;
	return VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT);
}

static void vcon_config_read(void *opaque, uint32_t offset, uint8_t *data, uint32_t len)
{
	struct vcon *c = opaque;
	uint8_t cfg[VCON_CONFIG_SIZE] = { 0 };
	uint32_t max = c->nports;

	memcpy(cfg + 4, &max, 4);   /* cols and rows 0: no F_SIZE */
	memcpy(data, cfg + offset, len);
}

static void vcon_config_write(void *opaque, uint32_t offset, const uint8_t *data, uint32_t len)
{
	/* emerg_wr: F_EMERG_WRITE is not offered, so the driver may not use it. */
	(void)opaque, (void)offset, (void)data, (void)len;
}

static int vcon_activate(void *opaque, uint64_t features)
{
	struct vcon *c = opaque;

	pthread_mutex_lock(&c->lock);
	c->active = true;
	c->multiport = features & VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT);
	if (!c->multiport) {
		/* A single-port driver: port 0 is its console, open from the start. */
		c->ports[0].ready = c->ports[0].guest_open = true;
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void vcon_reset(void *opaque)
{
	struct vcon *c = opaque;

	pthread_mutex_lock(&c->lock);
	c->active = false;
	memset(c->vqs, 0, sizeof(c->vqs));
	c->ctl_head = c->ctl_count = 0;
	for (unsigned i = 0; i < c->nports; i++)
		c->ports[i].ready = c->ports[i].guest_open = false;
	pthread_mutex_unlock(&c->lock);
}

struct vcon *vcon_create(const struct vcon_opts *o)
{
	struct vcon *c;
	struct virtio_pci_opts po = { .gm = o->gm, .host = o->host, .iothread = o->iothread };

	if (o->nchannels > VCON_MAX_CHANNELS) {
		err_set(ERR_INVALID, "virtio-console: %u channels, at most %d", o->nchannels, VCON_MAX_CHANNELS);
		return NULL;
	}
	for (unsigned i = 0; i < o->nchannels; i++)
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(o->channels[i].name, o->channels[j].name)) {
				err_set(ERR_INVALID, "virtio-console: two channels named '%s'", o->channels[i].name);
				return NULL;
			}
	c = calloc(1, sizeof(*c));
	if (!c) {
		err_set(ERR_NOMEM, "virtio-console: out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->nports = 1 + o->nchannels;
	for (unsigned i = 0; i < c->nports; i++) {
		c->ports[i].c = c;
		c->ports[i].id = i;
	}
	if (o->console_spec) {
		c->ports[0].present = c->ports[0].console = true;
		c->ports[0].cd = chardev_open(o->console_spec, o->loop);
		if (!c->ports[0].cd) {
			err_prefix("virtio-console port 0");
			goto fail;
		}
		chardev_set_input(c->ports[0].cd, port_input, &c->ports[0]);
	}
	for (unsigned i = 0; i < o->nchannels; i++) {
		struct vcon_port *p = &c->ports[i + 1];
		char spec[4096];

		if ((size_t)snprintf(spec, sizeof(spec), "unix:%s", o->channels[i].path) >= sizeof(spec)) {
			err_set(ERR_INVALID, "virtio-console channel '%s': socket path too long", o->channels[i].name);
			goto fail;
		}
		p->present = true;
		p->name = strdup(o->channels[i].name);
		p->cd = p->name ? chardev_open(spec, o->loop) : NULL;
		if (!p->cd) {
			err_prefix("virtio-console channel '%s'", o->channels[i].name);
			goto fail;
		}
		chardev_set_input(p->cd, port_input, p);
	}
	c->ops = (struct virtio_device_ops){
		.name = "virtio-console",
		.device_id = VIRTIO_ID_CONSOLE,
		.class_code = 0x078000,
		.num_queues = (uint16_t)(2 * (c->nports + 1)),
		.queue_max_size = VCON_QUEUE_SIZE,
		.features = vcon_features,
		.config_size = VCON_CONFIG_SIZE,
		.config_read = vcon_config_read,
		.config_write = vcon_config_write,
		.activate = vcon_activate,
		.queue_notify = vcon_notify,
		.reset = vcon_reset,
	};
	po.ops = &c->ops;
	po.opaque = c;
	c->vp = virtio_pci_create(&po);
	if (!c->vp)
		goto fail;
	return c;
fail:
	vcon_destroy(c);
	return NULL;
}

struct virtio_pci *vcon_transport(struct vcon *c)
{
	return c->vp;
}

bool vcon_guest_open(struct vcon *c, unsigned port)
{
	bool r;

	pthread_mutex_lock(&c->lock);
	r = port < c->nports && c->ports[port].guest_open;
	pthread_mutex_unlock(&c->lock);
	return r;
}

bool vcon_port_ready(struct vcon *c, unsigned port)
{
	bool r;

	pthread_mutex_lock(&c->lock);
	r = port < c->nports && c->ports[port].ready;
	pthread_mutex_unlock(&c->lock);
	return r;
}

void vcon_destroy(struct vcon *c)
{
	if (!c)
		return;
	if (c->vp)
		virtio_pci_destroy(c->vp);
	for (unsigned i = 0; i < c->nports; i++) {
		if (c->ports[i].cd)
			chardev_close(c->ports[i].cd);
		free(c->ports[i].name);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}
