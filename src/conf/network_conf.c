/* libvirt's <network> XML: strict parse through the xmlu_ helpers, validation of
 * addresses, DHCP ranges and static hosts, and formatting in libvirt's order
 * (name, uuid, forward, bridge, mtu, mac, domain, ip) so virt-xml-validate
 * accepts what net-dumpxml prints. */
#include "conf/network_conf.h"
#include "conf/xml_util.h"
#include "common/error.h"
#include "common/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

static const char *const forward_names[] = { "", "nat", "route", "open", "bridge", NULL };

const char *netconf_forward_name(enum netconf_forward mode)
{
	return mode == NETCONF_FWD_ISOLATED ? "none" : XMLU_NAME(forward_names, mode);
}

int netconf_ipv4_parse(const char *text, uint32_t *out)
{
	struct in_addr a;

	if (!text || inet_pton(AF_INET, text, &a) != 1)
		return err_set(ERR_INVALID, "'%s' is not an IPv4 address", text ? text : "");
	*out = ntohl(a.s_addr);
	return 0;
}

void netconf_ipv4_format(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

uint32_t netconf_prefix_mask(unsigned int prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

uint32_t netconf_network_addr(const struct netconf_def *def)
{
	return def->ip & netconf_prefix_mask(def->prefix);
}

uint32_t netconf_broadcast_addr(const struct netconf_def *def)
{
	return netconf_network_addr(def) | ~netconf_prefix_mask(def->prefix);
}

bool netconf_ifname_ok(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	/* what the kernel's dev_valid_name() accepts, minus odd characters that
	 * break option strings and file names */
	if (len == 0 || len > NETCONF_IFNAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	return true;
}

bool netconf_name_ok(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	/* the name becomes a file name and part of an nftables table name */
	if (len == 0 || len > NETCONF_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	return true;
}

/* ---- parsing ---- */

#define DEF(ctx) ((struct netconf_def *)(ctx))

/* Room for one more element (arrays grow one by one: they are small). */
static bool grow_array(void **arr, size_t elem, size_t count)
{
	void *n = realloc(*arr, elem * count);

	if (!n)
		return false;
	*arr = n;
	return true;
}

static int attr_ipv4(const xmlNode *n, const char *name, bool required, bool *present, uint32_t *out)
{
	autofree char *v = NULL;

	if (present)
		*present = false;
	if (xmlu_attr(n, name, required, &v) < 0)
		return -1;
	if (!v)
		return 0;
	if (netconf_ipv4_parse(v, out) < 0)
		return err_prefix("line %ld: <%s>: attribute '%s'", xmlu_line(n), (const char *)n->name, name);
	if (present)
		*present = true;
	return 0;
}

static int attr_mac(const xmlNode *n, const char *name, bool required, bool *present, uint8_t mac[DOM_MAC_LEN])
{
	autofree char *v = NULL;

	*present = false;
	if (xmlu_attr(n, name, required, &v) < 0)
		return -1;
	if (!v)
		return 0;
	if (dom_mac_parse(v, mac) < 0)
		return err_set(ERR_INVALID, "line %ld: <%s>: '%s' is not a MAC address", xmlu_line(n),
			       (const char *)n->name, v);
	if (mac[0] & 1)
		return err_set(ERR_INVALID, "line %ld: <%s>: '%s' is a multicast MAC address", xmlu_line(n),
			       (const char *)n->name, v);
	*present = true;
	return 0;
}

static int p_name(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	if (xmlu_check_attrs(n, NULL) < 0)
		return -1;
	return xmlu_text_trimmed(n, &DEF(ctx)->name);
}

static int p_uuid(xmlNode *n, void *ctx, unsigned int flags)
{
	autofree char *text = NULL;

	(void)flags;
	if (xmlu_check_attrs(n, NULL) < 0 || xmlu_text_trimmed(n, &text) < 0)
		return -1;
	if (dom_uuid_parse(text, DEF(ctx)->uuid) < 0)
		return err_set(ERR_INVALID, "line %ld: <uuid>: '%s' is not a UUID", xmlu_line(n), text);
	return 0;
}

static int p_forward(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "mode", "dev", NULL };
	/* libvirt has no mode='none'; vireo reads it as "isolated", as virsh users write */
	static const char *const modes[] = { "none", "nat", "route", "open", "bridge", NULL };
	struct netconf_def *def = ctx;
	int mode = NETCONF_FWD_NAT;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_enum(n, "mode", modes, false, &mode) < 0 ||
	    xmlu_attr(n, "dev", false, &def->forward_dev) < 0)
		return -1;
	def->forward = (enum netconf_forward)mode;
	if (def->forward_dev && !netconf_ifname_ok(def->forward_dev))
		return err_set(ERR_INVALID, "line %ld: <forward>: dev '%s' is not a valid interface name",
			       xmlu_line(n), def->forward_dev);
	return 0;
}

static int p_bridge(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "name", "stp", "delay", NULL };
	struct netconf_def *def = ctx;
	int stp = DOM_TRISTATE_ABSENT;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr(n, "name", false, &def->bridge) < 0 ||
	    xmlu_attr_onoff(n, "stp", false, false, &stp) < 0 ||
	    xmlu_attr_uint(n, "delay", false, false, 0, 600, &def->delay, &def->has_delay) < 0)
		return -1;
	def->stp = (enum dom_tristate)stp;
	if (def->bridge && !netconf_ifname_ok(def->bridge))
		return err_set(ERR_INVALID, "line %ld: <bridge>: name '%s' is not a valid interface name "
			       "(1-%d of A-Z a-z 0-9 . _ -)", xmlu_line(n), def->bridge, NETCONF_IFNAME_MAX);
	return 0;
}

static int p_mtu(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "size", NULL };
	uint64_t v = 0;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_uint(n, "size", true, false, 68, 65535, &v, NULL) < 0)
		return -1;
	DEF(ctx)->mtu = (unsigned int)v;
	return 0;
}

static int p_mac(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "address", NULL };

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0)
		return -1;
	return attr_mac(n, "address", true, &DEF(ctx)->has_mac, DEF(ctx)->mac);
}

static int p_domain(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "name", NULL };
	struct netconf_def *def = ctx;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr(n, "name", true, &def->domain) < 0)
		return -1;
	for (const char *p = def->domain; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-_", *p))
			return err_set(ERR_INVALID, "line %ld: <domain>: name '%s' is not a DNS name",
				       xmlu_line(n), def->domain);
	if (!def->domain[0] || strlen(def->domain) > 253)
		return err_set(ERR_INVALID, "line %ld: <domain>: name must be 1-253 characters", xmlu_line(n));
	return 0;
}

static int p_range(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "start", "end", NULL };
	struct netconf_def *def = ctx;
	struct netconf_range r;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    attr_ipv4(n, "start", true, NULL, &r.start) < 0 || attr_ipv4(n, "end", true, NULL, &r.end) < 0)
		return -1;
	if (def->nranges >= NETCONF_MAX_RANGES)
		return err_set(ERR_INVALID, "line %ld: <dhcp>: more than %d ranges", xmlu_line(n),
			       NETCONF_MAX_RANGES);
	if (!grow_array((void **)&def->ranges, sizeof(*def->ranges), def->nranges + 1))
		return err_set(ERR_NOMEM, "out of memory");
	def->ranges[def->nranges++] = r;
	return 0;
}

static int p_host(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "mac", "name", "ip", NULL };
	struct netconf_def *def = ctx;
	struct netconf_host h = { 0 };

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0)
		return -1;
	if (def->nhosts >= NETCONF_MAX_HOSTS)
		return err_set(ERR_INVALID, "line %ld: <dhcp>: more than %d hosts", xmlu_line(n),
			       NETCONF_MAX_HOSTS);
	if (attr_mac(n, "mac", false, &h.has_mac, h.mac) < 0 || attr_ipv4(n, "ip", true, NULL, &h.ip) < 0 ||
	    xmlu_attr(n, "name", false, &h.name) < 0)
		return -1;
	if (!h.has_mac && !h.name)
		return err_set(ERR_INVALID, "line %ld: <host>: needs a 'mac' or a 'name' attribute", xmlu_line(n));
	if (h.name) {
		bool ok = h.name[0] && strlen(h.name) <= 63 && isalnum((unsigned char)h.name[0]);

		for (const char *p = h.name; ok && *p; p++)
			ok = isalnum((unsigned char)*p) || *p == '-' || *p == '.';
		if (!ok) {
			err_set(ERR_INVALID, "line %ld: <host>: name '%s' is not a host name (1-63 of "
				"A-Z a-z 0-9 - .)", xmlu_line(n), h.name);
			free(h.name);
			return -1;
		}
	}
	if (!grow_array((void **)&def->hosts, sizeof(*def->hosts), def->nhosts + 1)) {
		free(h.name);
		return err_set(ERR_NOMEM, "out of memory");
	}
	def->hosts[def->nhosts++] = h;
	return 0;
}

static int p_dhcp(xmlNode *n, void *ctx, unsigned int flags)
{
	static const struct xmlu_child children[] = {
		{ "range", p_range, true },
		{ "host", p_host, true },
	};

	if (xmlu_check_attrs(n, NULL) < 0)
		return -1;
	DEF(ctx)->has_dhcp = true;
	return xmlu_parse_children(n, children, ARRAY_SIZE(children), ctx, flags);
}

static int p_ip(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "address", "netmask", "prefix", "family", NULL };
	static const char *const families[] = { "ipv4", "ipv6", NULL };
	static const struct xmlu_child children[] = { { "dhcp", p_dhcp, false } };
	struct netconf_def *def = ctx;
	int family = 0;
	bool has_mask = false, has_prefix = false;
	uint32_t mask = 0;
	uint64_t prefix = 24;

	if (def->has_ip)
		return err_set(ERR_INVALID, "line %ld: <network>: only one <ip> element is supported",
			       xmlu_line(n));
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_attr_enum(n, "family", families, false, &family) < 0)
		return -1;
	if (family == 1)
		return err_set(ERR_INVALID, "line %ld: <ip>: family 'ipv6' is not supported (IPv4 only)",
			       xmlu_line(n));
	if (attr_ipv4(n, "address", true, NULL, &def->ip) < 0 ||
	    attr_ipv4(n, "netmask", false, &has_mask, &mask) < 0 ||
	    xmlu_attr_uint(n, "prefix", false, false, 0, 32, &prefix, &has_prefix) < 0)
		return -1;
	if (has_mask && has_prefix)
		return err_set(ERR_INVALID, "line %ld: <ip>: give either 'netmask' or 'prefix', not both",
			       xmlu_line(n));
	if (has_mask) {
		unsigned int bits = (unsigned int)__builtin_popcount(mask);

		if (netconf_prefix_mask(bits) != mask)
			return err_set(ERR_INVALID, "line %ld: <ip>: netmask '%u.%u.%u.%u' is not contiguous",
				       xmlu_line(n), mask >> 24, (mask >> 16) & 0xff, (mask >> 8) & 0xff, mask & 0xff);
		prefix = bits;
	} else if (!has_prefix) {
		return err_set(ERR_INVALID, "line %ld: <ip>: missing 'netmask' or 'prefix'", xmlu_line(n));
	}
	def->prefix = (unsigned int)prefix;
	def->netmask_form = has_mask;
	def->has_ip = true;
	return xmlu_parse_children(n, children, ARRAY_SIZE(children), ctx, flags);
}

struct netconf_def *netconf_parse_xml(const char *xml, size_t len, unsigned int flags)
{
	static const struct xmlu_child children[] = {
		{ "name", p_name, false }, { "uuid", p_uuid, false }, { "forward", p_forward, false },
		{ "bridge", p_bridge, false }, { "mtu", p_mtu, false }, { "mac", p_mac, false },
		{ "domain", p_domain, false }, { "ip", p_ip, true },
	};
	xmlDocPtr doc = xmlu_parse(xml, len, "network");
	struct netconf_def *def;
	xmlNode *root;
	int rc = -1;

	if (!doc)
		return NULL;
	def = calloc(1, sizeof(*def));
	if (!def) {
		xmlFreeDoc(doc);
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (xmlu_check_attrs(root, NULL) < 0 ||
	    xmlu_parse_children(root, children, ARRAY_SIZE(children), def, flags) < 0)
		goto out;
	if (!def->name || !def->name[0]) {
		err_set(ERR_INVALID, "line %ld: <network>: missing <name>", xmlu_line(root));
		goto out;
	}
	{
		static const uint8_t zero[DOM_UUID_LEN];

		if (!memcmp(def->uuid, zero, DOM_UUID_LEN) && dom_uuid_generate(def->uuid) < 0)
			goto out;
	}
	rc = 0;
	if (flags & NETCONF_PARSE_VALIDATE)
		rc = netconf_validate(def);
out:
	xmlFreeDoc(doc);
	if (rc < 0) {
		netconf_def_free(def);
		return NULL;
	}
	return def;
}

static void *netconf_parse_any(const char *xml, size_t len, unsigned int flags)
{
	return netconf_parse_xml(xml, len, flags);
}

struct netconf_def *netconf_parse_file(const char *path, unsigned int flags)
{
	return xmlu_parse_file(path, netconf_parse_any, flags);
}

/* ---- validation ---- */

static int err_addr(const char *what, uint32_t ip, const char *problem, const struct netconf_def *def)
{
	char a[16], net[16];

	netconf_ipv4_format(ip, a);
	netconf_ipv4_format(netconf_network_addr(def), net);
	return err_set(ERR_INVALID, "network '%s': %s %s %s (subnet %s/%u)", def->name, what, a, problem,
		       net, def->prefix);
}

/* A usable host address of the subnet: inside it, neither its network nor
 * its broadcast address (a /31 or /32 has no such addresses to spare). */
static bool host_addr_ok(const struct netconf_def *def, uint32_t ip)
{
	uint32_t mask = netconf_prefix_mask(def->prefix);

	if ((ip & mask) != netconf_network_addr(def))
		return false;
	return def->prefix >= 31 || (ip != netconf_network_addr(def) && ip != netconf_broadcast_addr(def));
}

static int validate_dhcp(const struct netconf_def *def)
{
	for (size_t i = 0; i < def->nranges; i++) {
		const struct netconf_range *r = &def->ranges[i];
		char s[16], e[16];

		if (!host_addr_ok(def, r->start))
			return err_addr("DHCP range start", r->start, "is not a host address of the subnet", def);
		if (!host_addr_ok(def, r->end))
			return err_addr("DHCP range end", r->end, "is not a host address of the subnet", def);
		netconf_ipv4_format(r->start, s);
		netconf_ipv4_format(r->end, e);
		if (r->start > r->end)
			return err_set(ERR_INVALID, "network '%s': DHCP range %s - %s: start is after end",
				       def->name, s, e);
		if (def->ip >= r->start && def->ip <= r->end)
			return err_set(ERR_INVALID, "network '%s': DHCP range %s - %s contains the network's "
				       "own address", def->name, s, e);
		for (size_t j = 0; j < i; j++) {
			if (r->start <= def->ranges[j].end && def->ranges[j].start <= r->end)
				return err_set(ERR_INVALID, "network '%s': DHCP range %s - %s overlaps an "
					       "earlier range", def->name, s, e);
		}
	}
	for (size_t i = 0; i < def->nhosts; i++) {
		const struct netconf_host *h = &def->hosts[i];

		if (!host_addr_ok(def, h->ip))
			return err_addr("DHCP host", h->ip, "is not a host address of the subnet", def);
		if (h->ip == def->ip)
			return err_addr("DHCP host", h->ip, "is the network's own address", def);
		for (size_t j = 0; j < i; j++) {
			const struct netconf_host *o = &def->hosts[j];
			char mac[18];

			if (o->ip == h->ip)
				return err_addr("DHCP host", h->ip, "is given to two hosts", def);
			if (h->has_mac && o->has_mac && !memcmp(h->mac, o->mac, DOM_MAC_LEN)) {
				dom_mac_format(h->mac, mac);
				return err_set(ERR_INVALID, "network '%s': DHCP host MAC %s appears twice",
					       def->name, mac);
			}
			if (h->name && o->name && !strcasecmp(h->name, o->name))
				return err_set(ERR_INVALID, "network '%s': DHCP host name '%s' appears twice",
					       def->name, h->name);
		}
	}
	return 0;
}

int netconf_validate(const struct netconf_def *def)
{
	if (!netconf_name_ok(def->name))
		return err_set(ERR_INVALID, "network name '%s' is invalid: 1-%d characters of A-Z a-z 0-9 "
			       ". _ -, starting with a letter or digit", def->name ? def->name : "",
			       NETCONF_NAME_MAX);
	if (def->bridge && !netconf_ifname_ok(def->bridge))
		return err_set(ERR_INVALID, "network '%s': bridge name '%s' is not a valid interface name",
			       def->name, def->bridge);
	if (def->has_mac && (def->mac[0] & 1))
		return err_set(ERR_INVALID, "network '%s': the bridge MAC must be unicast", def->name);
	if (def->forward_dev && def->forward != NETCONF_FWD_NAT && def->forward != NETCONF_FWD_ROUTE)
		return err_set(ERR_INVALID, "network '%s': <forward dev> is only for mode 'nat' or 'route'",
			       def->name);
	if (def->forward == NETCONF_FWD_BRIDGE) {
		/* the network only names a host bridge that someone else manages */
		if (!def->bridge)
			return err_set(ERR_INVALID, "network '%s': forward mode 'bridge' needs <bridge name=''/> "
				       "(an existing host bridge)", def->name);
		if (def->has_ip || def->has_mac || def->domain || def->mtu || def->stp || def->has_delay)
			return err_set(ERR_INVALID, "network '%s': forward mode 'bridge' takes no <ip>, <mac>, "
				       "<domain>, <mtu> or bridge stp/delay (the host bridge is not vireo's)",
				       def->name);
		return 0;
	}
	if ((def->forward == NETCONF_FWD_NAT || def->forward == NETCONF_FWD_ROUTE) && !def->has_ip)
		return err_set(ERR_INVALID, "network '%s': forward mode '%s' needs an <ip> address",
			       def->name, netconf_forward_name(def->forward));
	if (!def->has_ip) {
		if (def->has_dhcp)
			return err_set(ERR_INVALID, "network '%s': <dhcp> needs an <ip>", def->name);
		return 0;
	}
	if (def->prefix < 8 || def->prefix > 30)
		return err_set(ERR_INVALID, "network '%s': prefix /%u is not supported (8 to 30)",
			       def->name, def->prefix);
	if (!host_addr_ok(def, def->ip))
		return err_addr("address", def->ip, "is the network or broadcast address of its subnet", def);
	{
		uint32_t first = def->ip >> 24;

		if (first == 0 || first == 127 || first >= 224)
			return err_addr("address", def->ip, "is not a unicast address", def);
	}
	return validate_dhcp(def);
}

/* ---- formatting ---- */

/* <elem attr='value'/> on its own line. */
static void fmt_empty(struct xmlu_buf *b, const char *elem, const char *attr, const char *value)
{
	xmlu_buf_start(b, elem);
	xmlu_buf_attr(b, attr, value);
	xmlu_buf_end_empty(b);
}

char *netconf_format_xml(const struct netconf_def *def, unsigned int flags)
{
	struct xmlu_buf b = { 0 };
	char uuid[DOM_UUID_STRLEN + 1], a[16], mac[18];

	(void)flags;
	xmlu_buf_printf(&b, "<network>\n");
	b.indent = 1;
	xmlu_buf_text_elem(&b, "name", def->name);
	dom_uuid_format(def->uuid, uuid);
	xmlu_buf_text_elem(&b, "uuid", uuid);
	if (def->forward != NETCONF_FWD_ISOLATED) {
		xmlu_buf_start(&b, "forward");
		xmlu_buf_attr(&b, "mode", XMLU_NAME(forward_names, def->forward));
		xmlu_buf_attr(&b, "dev", def->forward_dev);
		xmlu_buf_end_empty(&b);
	}
	if (def->bridge || def->stp || def->has_delay) {
		xmlu_buf_start(&b, "bridge");
		xmlu_buf_attr(&b, "name", def->bridge);
		if (def->stp)
			xmlu_buf_attr(&b, "stp", def->stp == DOM_TRISTATE_ON ? "on" : "off");
		if (def->has_delay)
			xmlu_buf_attr_u(&b, "delay", def->delay);
		xmlu_buf_end_empty(&b);
	}
	if (def->mtu) {
		char size[16];

		snprintf(size, sizeof(size), "%u", def->mtu);
		fmt_empty(&b, "mtu", "size", size);
	}
	if (def->has_mac) {
		dom_mac_format(def->mac, mac);
		fmt_empty(&b, "mac", "address", mac);
	}
	if (def->domain)
		fmt_empty(&b, "domain", "name", def->domain);
	if (def->has_ip) {
		netconf_ipv4_format(def->ip, a);
		xmlu_buf_start(&b, "ip");
		xmlu_buf_attr(&b, "address", a);
		if (def->netmask_form) {
			char m[16];

			netconf_ipv4_format(netconf_prefix_mask(def->prefix), m);
			xmlu_buf_attr(&b, "netmask", m);
		} else {
			xmlu_buf_attr_u(&b, "prefix", def->prefix);
		}
		if (!def->has_dhcp) {
			xmlu_buf_end_empty(&b);
		} else {
			xmlu_buf_end_open(&b);
			if (!def->nranges && !def->nhosts) {
				fmt_empty(&b, "dhcp", "", NULL);
			} else {
				xmlu_buf_start(&b, "dhcp");
				xmlu_buf_end_open(&b);
				for (size_t i = 0; i < def->nranges; i++) {
					char e[16];

					netconf_ipv4_format(def->ranges[i].start, a);
					netconf_ipv4_format(def->ranges[i].end, e);
					xmlu_buf_start(&b, "range");
					xmlu_buf_attr(&b, "start", a);
					xmlu_buf_attr(&b, "end", e);
					xmlu_buf_end_empty(&b);
				}
				for (size_t i = 0; i < def->nhosts; i++) {
					const struct netconf_host *h = &def->hosts[i];

					xmlu_buf_start(&b, "host");
					if (h->has_mac) {
						dom_mac_format(h->mac, mac);
						xmlu_buf_attr(&b, "mac", mac);
					}
					xmlu_buf_attr(&b, "name", h->name);
					netconf_ipv4_format(h->ip, a);
					xmlu_buf_attr(&b, "ip", a);
					xmlu_buf_end_empty(&b);
				}
				xmlu_buf_close(&b, "dhcp");
			}
			xmlu_buf_close(&b, "ip");
		}
	}
	b.indent = 0;
	xmlu_buf_printf(&b, "</network>\n");
	return xmlu_buf_finish(&b);
}

struct netconf_def *netconf_def_copy(const struct netconf_def *def)
{
	autofree char *xml = netconf_format_xml(def, 0);

	return xml ? netconf_parse_xml(xml, strlen(xml), 0) : NULL;
}

void netconf_def_free(struct netconf_def *def)
{
	if (!def)
		return;
	free(def->name);
	free(def->forward_dev);
	free(def->bridge);
	free(def->domain);
	free(def->ranges);
	for (size_t i = 0; i < def->nhosts; i++)
		free(def->hosts[i].name);
	free(def->hosts);
	free(def);
}
