/* virtio-console (virtio 1.2 section 5.3) with F_MULTIPORT: port 0 may be the
 * guest's console (hvc0) on a chardev; named ports (virtserialport, e.g.
 * org.qemu.guest_agent.0) are listening unix sockets on the host. */
#ifndef VIREO_VMM_DEVICES_VIRTIO_CONSOLE_H
#define VIREO_VMM_DEVICES_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/devices/virtio/virtio.h"
#include "vmm/evloop.h"

#define VIRTIO_ID_CONSOLE 3

#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1

/* Control messages {le32 id, le16 event, le16 value} (section 5.3.6.2). */
#define VIRTIO_CONSOLE_DEVICE_READY 0
#define VIRTIO_CONSOLE_PORT_ADD 1
#define VIRTIO_CONSOLE_PORT_REMOVE 2
#define VIRTIO_CONSOLE_PORT_READY 3
#define VIRTIO_CONSOLE_CONSOLE_PORT 4
#define VIRTIO_CONSOLE_RESIZE 5
#define VIRTIO_CONSOLE_PORT_OPEN 6
#define VIRTIO_CONSOLE_PORT_NAME 7

/* Ports: port 0 plus named ones; queues 2 per port plus 2 control queues
 * must fit VIRTIO_MAX_QUEUES. */
#define VCON_MAX_CHANNELS (VIRTIO_MAX_QUEUES / 2 - 2)
#define VCON_NAME_MAX 127

struct vcon_channel {
	char *name;     /* the port's name in the guest (/sys/class/virtio-ports/vportNpM/name) */
	char *path;     /* the listening unix socket on the host */
};

/* "name=NAME,path=PATH". -1 with ERR_INVALID naming the bad key. Free with
 * vcon_channel_free (also after a failure). */
int vcon_parse_channel(const char *spec, struct vcon_channel *ch);
void vcon_channel_free(struct vcon_channel *ch);

struct vcon_opts {
	const struct guest_mem *gm;
	const struct virtio_host_ops *host;   /* NULL in tests */
	bool iothread;
	struct evloop *loop;                  /* the main loop: chardev input arrives there */
	const char *console_spec;             /* chardev spec of port 0 (hvc0), NULL: no console port */
	const struct vcon_channel *channels;  /* ports 1..n, in order */
	unsigned nchannels;                   /* <= VCON_MAX_CHANNELS */
};

struct vcon;

/* Opens the chardevs (named ports listen on their sockets). NULL with the
 * error set. Register virtio_pci_device(vcon_transport(c)). Main thread. */
struct vcon *vcon_create(const struct vcon_opts *o);
struct virtio_pci *vcon_transport(struct vcon *c);
/* Whether the guest has port `port` open (its last PORT_OPEN said so). */
bool vcon_guest_open(struct vcon *c, unsigned port);
/* Whether the driver made port `port` ready (PORT_READY 1). */
bool vcon_port_ready(struct vcon *c, unsigned port);
/* Unregister the PCI device first. Main thread. */
void vcon_destroy(struct vcon *c);

#endif
