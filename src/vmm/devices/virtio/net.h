/* virtio-net (virtio 1.2 section 5.1) on a Linux tap: one rx and one tx
 * queue, the 12-byte virtio 1.x net header shared with the tap (IFF_VNET_HDR),
 * checksum/TSO/UFO offloads passed through, mergeable rx buffers. */
#ifndef VIREO_VMM_DEVICES_VIRTIO_NET_H
#define VIREO_VMM_DEVICES_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/devices/virtio/virtio.h"

#define VIRTIO_ID_NET 1

/* Feature bits (section 5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

#define VIRTIO_NET_S_LINK_UP 1
/* struct virtio_net_hdr with num_buffers: always 12 bytes with VERSION_1. */
#define VNET_HDR_LEN 12u
/* Largest frame we carry: a 64 KiB GSO packet plus its Ethernet header. */
#define VNET_MAX_FRAME (65536u + 14u + 4u)

struct vnet_opts {
	char *tap;          /* tap=NAME: open (or create) this tap */
	int fd;             /* fd=N: a tap (or, in tests, a socket) the caller opened; -1 if none */
	uint8_t mac[6];
	bool has_mac;
};

/* "tap=NAME[,mac=52:54:00:12:34:56]" or "fd=N[,mac=...]". -1 with ERR_INVALID
 * naming the bad key. Free with vnet_opts_free (also after a failure). */
int vnet_parse_opts(const char *spec, struct vnet_opts *o);
void vnet_opts_free(struct vnet_opts *o);

struct vnet_stats {
	uint64_t rx_packets, rx_bytes, rx_dropped;
	uint64_t tx_packets, tx_bytes, tx_dropped;
};

struct vnet;

/* Opens the tap (or takes o->fd; a non-tap fd carries bare Ethernet frames,
 * the header being added/stripped by the device: no offloads then). The
 * transport's I/O thread serves both queues and the backend. NULL with the
 * error set. Register virtio_pci_device(vnet_transport(n)). */
struct vnet *vnet_create(const struct vnet_opts *o, const struct guest_mem *gm,
			 const struct virtio_host_ops *host);
struct virtio_pci *vnet_transport(struct vnet *n);
/* Whether the backend is a tap with a vnet header (offloads offered). */
bool vnet_has_offloads(struct vnet *n);
/* The TUN_F_* flags last given to TUNSETOFFLOAD (0 for a non-tap backend). */
unsigned vnet_tap_offloads(struct vnet *n);
void vnet_get_stats(struct vnet *n, struct vnet_stats *s);
/* Unregister the PCI device first. Closes the backend fd. */
void vnet_destroy(struct vnet *n);

#endif
