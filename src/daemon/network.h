/* vireod's virtual networks: network objects (vnet_), their host links through
 * rtnetlink (vnl_), one dnsmasq each (vdns_) and an nftables table each (vnft_).
 * Everything runs on the main loop thread, like the domain code. */
#ifndef VIREO_DAEMON_NETWORK_H
#define VIREO_DAEMON_NETWORK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "conf/network_conf.h"

struct vd;
struct dom_def;
struct dom_net;

struct vnet {
	struct vd *vd;
	struct netconf_def *def;     /* persistent config */
	struct netconf_def *live;    /* running copy; NULL when inactive */
	bool autostart;
	pid_t dnsmasq_pid;           /* 0: none */
};

/* network.c */
int vnet_load(struct vd *vd);   /* configs, the default network, re-adoption, autostart */
void vnet_free_all(void);
struct vnet *vnet_lookup(const char *name_or_uuid);
struct vnet *vnet_define(struct vd *vd, const char *xml, size_t len, bool *created);
int vnet_undefine(struct vnet *n);
int vnet_start(struct vnet *n);
int vnet_destroy(struct vnet *n);
int vnet_set_autostart(struct vnet *n, bool on);
json_object *vnet_info_json(struct vnet *n);
json_object *vnet_list_json(const char *filter);   /* NULL/all, active, inactive */
json_object *vnet_leases_json(struct vnet *n, const char *mac);   /* mac may be NULL */
char *vnet_xml(struct vnet *n, bool inactive);
/* A domain interface of type network or bridge: a new tap on the right bridge,
 * its name put in n->target_dev; returns the tap fd (close-on-exec) or -1. */
int vnet_iface_connect(const struct dom_def *def, struct dom_net *net);

/* netlink.c */
bool vnl_link_exists(const char *name);
bool vnl_is_bridge(const char *name);
int vnl_bridge_create(const char *name, const uint8_t *mac, unsigned int mtu, bool stp, unsigned int delay_s);
int vnl_link_delete(const char *name);
int vnl_link_up(const char *name);
int vnl_addr_add(const char *name, uint32_t ip, unsigned int prefix);
/* Put an existing link on a bridge and set it up. */
int vnl_enslave(const char *name, const char *bridge);
unsigned int vnl_link_mtu(const char *name);   /* 0: unknown */
/* Create a tap (name `want`, or vnet%d), give it the guest MAC with 0xfe in
 * front, the bridge's MTU, enslave it and set it up. Returns the fd. */
int vnl_tap_attach(const char *want, const uint8_t guest_mac[6], const char *bridge, char name_out[IFNAMSIZ]);
/* 1 (and a description) when a host route other than the default route and
 * those through own_bridge overlaps net/prefix; 0 when none; -1 on error. */
int vnl_route_overlap(uint32_t net, unsigned int prefix, const char *own_bridge, char *what, size_t size);

/* dnsmasq.c: files of network NAME under `dir` (NAME.conf, NAME.pid, NAME.leases). */
int vdns_start(const struct netconf_def *def, const char *run_dir, const char *lease_dir, pid_t *pid);
/* The pid of our dnsmasq for this network if it runs (pid file + its command
 * line naming our config), else 0. */
pid_t vdns_running(const char *name, const char *run_dir);
void vdns_stop(const char *name, const char *run_dir);
char *vdns_lease_path(const char *name, const char *lease_dir);

/* nft.c: table ip vireo_NAME. */
int vnft_apply(const struct netconf_def *def);
int vnft_remove(const char *name);
bool vnft_exists(const char *name);

#endif
