/* libvirt's virtual network XML (<network>) as a C struct: strict parse (unknown
 * elements and attributes are errors naming their line), address/range
 * validation, and formatting in libvirt's element order. Prefix: netconf_.
 * IPv4 only; addresses are kept in host byte order. */
#ifndef VIREO_CONF_NETWORK_CONF_H
#define VIREO_CONF_NETWORK_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/domain_conf.h"

#define NETCONF_NAME_MAX 64
#define NETCONF_IFNAME_MAX 15      /* IFNAMSIZ - 1 */
#define NETCONF_MAX_RANGES 64
#define NETCONF_MAX_HOSTS 1024     /* bounds hostile documents */

enum {
	NETCONF_PARSE_VALIDATE = 1u << 0, /* run netconf_validate before returning */
};

/* Absent <forward> is an isolated network (guests and host only); libvirt's
 * <forward> without a mode means nat. */
enum netconf_forward {
	NETCONF_FWD_ISOLATED = 0, NETCONF_FWD_NAT, NETCONF_FWD_ROUTE, NETCONF_FWD_OPEN,
	NETCONF_FWD_BRIDGE,
};

struct netconf_range {
	uint32_t start, end;
};

struct netconf_host {
	bool has_mac;
	uint8_t mac[DOM_MAC_LEN];
	char *name;        /* may be NULL when a MAC is given */
	uint32_t ip;
};

struct netconf_def {
	char *name;
	uint8_t uuid[DOM_UUID_LEN];
	enum netconf_forward forward;
	char *forward_dev;            /* nat/route: only out through this host device */
	char *bridge;                 /* NULL: the daemon picks a free name at define */
	enum dom_tristate stp;        /* absent means on, as libvirt */
	bool has_delay;
	uint64_t delay;
	bool has_mac;
	uint8_t mac[DOM_MAC_LEN];
	unsigned int mtu;             /* 0: not given */
	char *domain;                 /* DNS domain of the network */

	bool has_ip;
	uint32_t ip;                  /* the host's address on the bridge */
	unsigned int prefix;
	bool netmask_form;            /* given as netmask='' (kept when formatting) */
	bool has_dhcp;
	struct netconf_range *ranges;
	size_t nranges;
	struct netconf_host *hosts;
	size_t nhosts;
};

/* Parse a <network> document. NULL with err_set(ERR_INVALID, "line N:
 * <element>: problem") on anything unknown or malformed. Fills in a random
 * uuid when absent (the bridge name and MAC are the daemon's to choose). */
struct netconf_def *netconf_parse_xml(const char *xml, size_t len, unsigned int flags);
struct netconf_def *netconf_parse_file(const char *path, unsigned int flags);

/* Semantic checks: name characters, the address is a host address of its
 * subnet, ranges inside the subnet with start <= end and not overlapping each
 * other or the host's address, hosts inside the subnet and outside every range
 * owner's conflict (unique MAC, IP and name), what each forward mode allows. */
int netconf_validate(const struct netconf_def *def);

/* libvirt's element order and indentation. Caller frees; NULL with ERR_NOMEM. */
char *netconf_format_xml(const struct netconf_def *def, unsigned int flags);
struct netconf_def *netconf_def_copy(const struct netconf_def *def);
void netconf_def_free(struct netconf_def *def);

/* Helpers shared with the daemon. */
const char *netconf_forward_name(enum netconf_forward mode);
int netconf_ipv4_parse(const char *text, uint32_t *out);   /* dotted quad only */
void netconf_ipv4_format(uint32_t ip, char out[16]);
uint32_t netconf_prefix_mask(unsigned int prefix);
/* Network address and broadcast of the def's subnet (has_ip must be set). */
uint32_t netconf_network_addr(const struct netconf_def *def);
uint32_t netconf_broadcast_addr(const struct netconf_def *def);
bool netconf_ifname_ok(const char *name);
bool netconf_name_ok(const char *name);

#endif
