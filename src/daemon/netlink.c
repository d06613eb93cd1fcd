/* Host links for vireod's virtual networks through rtnetlink (libnl-3): bridges
 * with their address, MTU and STP, taps for domain interfaces (created on
 * /dev/net/tun so the VMM gets the fd), enslaving, and the host route table
 * read to refuse a subnet that is already routed elsewhere. Prefix: vnl_. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>

#include "common/error.h"
#include "common/util.h"
#include "conf/network_conf.h"
#include "daemon/network.h"

static struct nl_sock *vnl_open(void)
{
	struct nl_sock *s = nl_socket_alloc();
	int rc;

	if (!s) {
		err_set(ERR_NOMEM, "cannot allocate a netlink socket");
		return NULL;
	}
	rc = nl_connect(s, NETLINK_ROUTE);
	if (rc < 0) {
		err_set(ERR_IO, "cannot open rtnetlink: %s", nl_geterror(rc));
		nl_socket_free(s);
		return NULL;
	}
	return s;
}

static void vnl_closep(struct nl_sock **s)
{
	if (*s)
		nl_socket_free(*s);
}
#define autoclose_nl __attribute__((cleanup(vnl_closep)))

bool vnl_link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

bool vnl_is_bridge(const char *name)
{
	autoclose_nl struct nl_sock *s = vnl_open();
	struct rtnl_link *link = NULL;
	bool is = false;

	if (!s) {
		err_clear();
		return false;
	}
	if (rtnl_link_get_kernel(s, 0, name, &link) == 0) {
		is = rtnl_link_get_type(link) && !strcmp(rtnl_link_get_type(link), "bridge");
		rtnl_link_put(link);
	}
	return is;
}

int vnl_bridge_create(const char *name, const uint8_t *mac, unsigned int mtu, bool stp, unsigned int delay_s)
{
	autoclose_nl struct nl_sock *s = vnl_open();
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_msg *msg;
	struct nlattr *info, *data;
	int rc;

	if (!s)
		return -1;
	msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	if (!msg)
		return err_set(ERR_NOMEM, "out of memory");
	/* One message carries the bridge's options: the kernel reads the forward
	 * delay before STP is switched on, so any delay (0 too) is accepted. */
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name) < 0 ||
	    (mtu && nla_put_u32(msg, IFLA_MTU, mtu) < 0) ||
	    (mac && nla_put(msg, IFLA_ADDRESS, 6, mac) < 0) ||
	    !(info = nla_nest_start(msg, IFLA_LINKINFO)) ||
	    nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0 ||
	    !(data = nla_nest_start(msg, IFLA_INFO_DATA)) ||
	    nla_put_u32(msg, IFLA_BR_FORWARD_DELAY, delay_s * 100) < 0 ||
	    nla_put_u32(msg, IFLA_BR_STP_STATE, stp ? 1 : 0) < 0) {
		nlmsg_free(msg);
		return err_set(ERR_INTERNAL, "bridge %s: netlink message too large", name);
	}
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	rc = nl_send_sync(s, msg);   /* frees msg */
	if (rc < 0)
		return err_set(rc == -NLE_EXIST ? ERR_EXISTS : ERR_IO, "cannot create bridge %s: %s", name,
			       nl_geterror(rc));
	return 0;
}

int vnl_link_delete(const char *name)
{
	autoclose_nl struct nl_sock *s = vnl_open();
	struct rtnl_link *link;
	int rc;

	if (!s)
		return -1;
	link = rtnl_link_alloc();
	if (!link)
		return err_set(ERR_NOMEM, "out of memory");
	rtnl_link_set_name(link, name);
	rc = rtnl_link_delete(s, link);
	rtnl_link_put(link);
	if (rc < 0 && rc != -NLE_NODEV && rc != -NLE_OBJ_NOTFOUND)
		return err_set(ERR_IO, "cannot delete link %s: %s", name, nl_geterror(rc));
	return 0;
}

/* Flags up, and optionally a MAC and MTU, on an existing link. */
static int vnl_link_set(struct nl_sock *s, const char *name, const uint8_t *mac, unsigned int mtu, int master)
{
	struct rtnl_link *link = NULL, *change;
	int rc;

	rc = rtnl_link_get_kernel(s, 0, name, &link);
	if (rc < 0)
		return err_set(ERR_NOT_FOUND, "link %s: %s", name, nl_geterror(rc));
	change = rtnl_link_alloc();
	if (!change) {
		rtnl_link_put(link);
		return err_set(ERR_NOMEM, "out of memory");
	}
	if (mac) {
		struct nl_addr *a = nl_addr_build(AF_LLC, mac, 6);

		if (a) {
			rtnl_link_set_addr(change, a);
			nl_addr_put(a);
		}
	}
	if (mtu)
		rtnl_link_set_mtu(change, mtu);
	if (master > 0)
		rtnl_link_set_master(change, master);
	rtnl_link_set_flags(change, IFF_UP);
	rc = rtnl_link_change(s, link, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(link);
	if (rc < 0)
		return err_set(ERR_IO, "cannot set up link %s: %s", name, nl_geterror(rc));
	return 0;
}

int vnl_link_up(const char *name)
{
	autoclose_nl struct nl_sock *s = vnl_open();

	return s ? vnl_link_set(s, name, NULL, 0, 0) : -1;
}

int vnl_enslave(const char *name, const char *bridge)
{
	autoclose_nl struct nl_sock *s = vnl_open();
	int master = (int)if_nametoindex(bridge);

	if (!s)
		return -1;
	if (!master)
		return err_set(ERR_NOT_FOUND, "bridge %s does not exist on the host", bridge);
	return vnl_link_set(s, name, NULL, 0, master);
}

int vnl_addr_add(const char *name, uint32_t ip, unsigned int prefix)
{
	autoclose_nl struct nl_sock *s = vnl_open();
	struct rtnl_addr *addr;
	struct nl_addr *local, *bcast;
	uint32_t be = htonl(ip), bbe = htonl(ip | ~netconf_prefix_mask(prefix));
	int idx = (int)if_nametoindex(name), rc;

	if (!s)
		return -1;
	if (!idx)
		return err_set_errno(ERR_NOT_FOUND, errno, "link %s", name);
	addr = rtnl_addr_alloc();
	local = nl_addr_build(AF_INET, &be, 4);
	bcast = nl_addr_build(AF_INET, &bbe, 4);
	if (!addr || !local || !bcast) {
		rc = -NLE_NOMEM;
		goto out;
	}
	nl_addr_set_prefixlen(local, (int)prefix);
	rtnl_addr_set_ifindex(addr, idx);
	rtnl_addr_set_local(addr, local);
	rtnl_addr_set_broadcast(addr, bcast);
	rc = rtnl_addr_add(s, addr, 0);
	if (rc == -NLE_EXIST)
		rc = 0;   /* re-adopting a bridge that already has it */
out:
	if (local)
		nl_addr_put(local);
	if (bcast)
		nl_addr_put(bcast);
	if (addr)
		rtnl_addr_put(addr);
	if (rc < 0)
		return err_set(ERR_IO, "cannot add address to %s: %s", name, nl_geterror(rc));
	return 0;
}

unsigned int vnl_link_mtu(const char *name)
{
	autoclose_nl struct nl_sock *s = vnl_open();
	struct rtnl_link *link = NULL;
	unsigned int mtu = 0;

	if (!s) {
		err_clear();
		return 0;
	}
	if (rtnl_link_get_kernel(s, 0, name, &link) == 0) {
		mtu = rtnl_link_get_mtu(link);
		rtnl_link_put(link);
	}
	return mtu;
}

int vnl_tap_attach(const char *want, const uint8_t guest_mac[6], const char *bridge,
		   char name_out[IFNAMSIZ])
{
	autoclose_nl struct nl_sock *s = NULL;
	struct ifreq ifr = { 0 };
	uint8_t mac[6];
	int fd, master;

	master = (int)if_nametoindex(bridge);
	if (!master)
		return err_set(ERR_NOT_FOUND, "bridge %s does not exist on the host", bridge);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_set_errno(ERR_IO, errno, "cannot open /dev/net/tun");
	/* vireo-vmm uses the virtio-net header on the tap (offloads) */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", want ? want : "vnet%d");
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		return err_set_errno(e == EBUSY ? ERR_BUSY : ERR_IO, e, "cannot create tap %s",
				     want ? want : "vnet%d");
	}
	snprintf(name_out, IFNAMSIZ, "%s", ifr.ifr_name);
	/* The tap's own MAC starts with 0xfe, as libvirt's, so the bridge never
	 * takes a guest's MAC as its own. */
	memcpy(mac, guest_mac, 6);
	mac[0] = 0xfe;
	s = vnl_open();
	if (!s || vnl_link_set(s, name_out, mac, vnl_link_mtu(bridge), master) < 0) {
		err_prefix("tap %s on bridge %s", name_out, bridge);
		close(fd);   /* a tap that is not persistent goes with its last fd */
		return -1;
	}
	return fd;
}

int vnl_route_overlap(uint32_t net, unsigned int prefix, const char *own_bridge, char *what, size_t size)
{
	autoclose_nl struct nl_sock *s = vnl_open();
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int own = own_bridge ? (int)if_nametoindex(own_bridge) : 0, found = 0, rc;

	if (!s)
		return -1;
	rc = rtnl_route_alloc_cache(s, AF_INET, 0, &cache);
	if (rc < 0)
		return err_set(ERR_IO, "cannot read the host's routes: %s", nl_geterror(rc));
	for (o = nl_cache_get_first(cache); o && !found; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);
		struct rtnl_nexthop *nh;
		unsigned int plen, common;
		uint32_t d = 0;
		int ifindex = 0;
		char dev[IFNAMSIZ] = "?", a[16], b[16];

		if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_type(r) != RTN_UNICAST || !dst)
			continue;
		plen = (unsigned int)nl_addr_get_prefixlen(dst);
		if (plen == 0 || nl_addr_get_len(dst) != 4)
			continue;   /* the default route overlaps everything: libvirt ignores it too */
		memcpy(&d, nl_addr_get_binary_addr(dst), 4);
		d = ntohl(d);
		common = plen < prefix ? plen : prefix;
		if ((d & netconf_prefix_mask(common)) != (net & netconf_prefix_mask(common)))
			continue;
		nh = rtnl_route_nexthop_n(r, 0);
		if (nh)
			ifindex = rtnl_route_nh_get_ifindex(nh);
		if (own && ifindex == own)
			continue;
		if (ifindex)
			if_indextoname((unsigned int)ifindex, dev);
		netconf_ipv4_format(d, a);
		netconf_ipv4_format(net, b);
		snprintf(what, size, "%s/%u overlaps the host route %s/%u dev %s", b, prefix, a, plen, dev);
		found = 1;
	}
	nl_cache_free(cache);
	return found;
}
