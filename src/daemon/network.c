/* Virtual networks in vireod (virsh net-*): persistent configs in the atomic
 * store, start (bridge, address, nftables table, dnsmasq) and destroy, the
 * `default` network defined on first start as libvirt's, re-adoption of running
 * networks when vireod starts again (nothing is torn down), autostart, DHCP
 * leases, and the taps of domain interfaces. Prefix: vnet_. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "common/util.h"   /* before GLib: both define MIN/MAX */
#include <glib.h>

#include "common/error.h"
#include "common/log.h"
#include "conf/domain_conf.h"
#include "daemon/daemon.h"
#include "daemon/network.h"

/* Where everything of the networks lives, under vireod's --root. */
static struct {
	char *cfg_dir;        /* STATE/networks: NAME.xml */
	char *autostart_dir;  /* STATE/networks/autostart: NAME markers */
	char *lease_dir;      /* STATE/dnsmasq: NAME.leases */
	char *run_dir;        /* RUN/networks: NAME.xml (live), NAME.conf, NAME.pid */
	bool real_system;     /* no --root: the default network autostarts */
} vnet_paths;

/* name -> struct vnet * (owned); one vireod, one table, as the pools' */
static GHashTable *vnet_table;

static char *cfg_path(const char *name)
{
	return g_strdup_printf("%s/%s.xml", vnet_paths.cfg_dir, name);
}

static char *autostart_path(const char *name)
{
	return g_strdup_printf("%s/%s", vnet_paths.autostart_dir, name);
}

static char *status_path(const char *name)
{
	return g_strdup_printf("%s/%s.xml", vnet_paths.run_dir, name);
}

static void vnet_free(gpointer p)
{
	struct vnet *n = p;

	netconf_def_free(n->def);
	netconf_def_free(n->live);
	g_free(n);
}

static const struct netconf_def *vnet_def(const struct vnet *n)
{
	return n->live ? n->live : n->def;
}

struct vnet *vnet_lookup(const char *key)
{
	GHashTableIter it;
	gpointer v;
	uint8_t uuid[DOM_UUID_LEN];
	struct vnet *n = g_hash_table_lookup(vnet_table, key);

	if (n)
		return n;
	if (dom_uuid_parse(key, uuid) == 0) {
		g_hash_table_iter_init(&it, vnet_table);
		while (g_hash_table_iter_next(&it, NULL, &v))
			if (!memcmp(vnet_def(v)->uuid, uuid, DOM_UUID_LEN))
				return v;
	}
	err_clear();
	err_set(ERR_NOT_FOUND, "network '%s' not found", key);
	return NULL;
}

/* ---- choosing names that nobody uses ---- */

static bool bridge_taken(const char *bridge, const struct vnet *except)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, vnet_table);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const struct netconf_def *d = vnet_def(v);

		if (v != except && d->bridge && !strcmp(d->bridge, bridge) && d->forward != NETCONF_FWD_BRIDGE)
			return true;
	}
	return false;
}

/* libvirt names bridges virbrN; vireo's own are vireobrN, so both stacks can
 * share a host. The default network takes virbr0 when that is free. */
static char *pick_bridge(const char *net_name)
{
	if (!strcmp(net_name, "default") && !vnl_link_exists("virbr0") && !bridge_taken("virbr0", NULL))
		return g_strdup("virbr0");
	for (int i = 0; i < 1000; i++) {
		char *b = g_strdup_printf("vireobr%d", i);

		if (!vnl_link_exists(b) && !bridge_taken(b, NULL))
			return b;
		g_free(b);
	}
	err_set(ERR_BUSY, "no free bridge name vireobr0..vireobr999");
	return NULL;
}

/* ---- define / undefine ---- */

static int vnet_save(const struct netconf_def *def)
{
	autofree char *text = netconf_format_xml(def, 0), *path = cfg_path(def->name);

	return text ? store_write_file(path, text, strlen(text), 0600) : -1;
}

static void vnet_emit(struct vd *vd, const char *name, const char *event, const char *detail)
{
	log_info("network %s: %s (%s)", name, event, detail);
	(void)vd;
}

struct vnet *vnet_define(struct vd *vd, const char *xml, size_t len, bool *created)
{
	struct netconf_def *def = netconf_parse_xml(xml, len, NETCONF_PARSE_VALIDATE);
	struct vnet *n, *other;
	GHashTableIter it;
	gpointer v;
	char uuid[DOM_UUID_STRLEN + 1];

	if (!def)
		return NULL;
	n = g_hash_table_lookup(vnet_table, def->name);
	if (n && memcmp(vnet_def(n)->uuid, def->uuid, DOM_UUID_LEN)) {
		dom_uuid_format(vnet_def(n)->uuid, uuid);
		err_set(ERR_EXISTS, "network '%s' already exists with uuid %s", def->name, uuid);
		goto fail;
	}
	g_hash_table_iter_init(&it, vnet_table);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		other = v;
		if (other == n)
			continue;
		if (!memcmp(vnet_def(other)->uuid, def->uuid, DOM_UUID_LEN)) {
			dom_uuid_format(def->uuid, uuid);
			err_set(ERR_EXISTS, "network '%s' already has uuid %s", vnet_def(other)->name, uuid);
			goto fail;
		}
	}
	if (def->bridge && def->forward != NETCONF_FWD_BRIDGE && bridge_taken(def->bridge, n)) {
		err_set(ERR_EXISTS, "bridge %s is already used by another network", def->bridge);
		goto fail;
	}
	/* As libvirt: a vireo-managed bridge gets a name and a fixed MAC at define,
	 * so they stay the same from one start to the next; STP on, delay 0. */
	if (def->forward != NETCONF_FWD_BRIDGE) {
		if (!def->bridge) {
			if (n && n->def->bridge)
				def->bridge = g_strdup(n->def->bridge);
			else if (!(def->bridge = pick_bridge(def->name)))
				goto fail;
		}
		/* libvirt's defaults, written out as its dumpxml does */
		if (!def->stp)
			def->stp = DOM_TRISTATE_ON;
		if (!def->has_delay) {
			def->has_delay = true;
			def->delay = 0;
		}
		if (!def->has_mac) {
			if (n && n->def->has_mac)
				memcpy(def->mac, n->def->mac, DOM_MAC_LEN);
			else if (dom_mac_generate(def->mac) < 0)
				goto fail;
			def->has_mac = true;
		}
	}
	if (vnet_save(def) < 0)   /* the file first: a failed write keeps the old definition */
		goto fail;
	*created = !n;
	if (n) {
		netconf_def_free(n->def);
		n->def = def;
	} else {
		n = g_new0(struct vnet, 1);
		n->vd = vd;
		n->def = def;
		g_hash_table_insert(vnet_table, g_strdup(def->name), n);
	}
	vnet_emit(vd, def->name, "defined", *created ? "added" : "updated");
	return n;
fail:
	netconf_def_free(def);
	return NULL;
}

int vnet_undefine(struct vnet *n)
{
	struct vd *vd = n->vd;
	autofree char *path = cfg_path(n->def->name), *apath = autostart_path(n->def->name);
	char name[NETCONF_NAME_MAX + 1];

	/* libvirt keeps a running network as transient; vireo asks for net-destroy
	 * first, so no running bridge is ever without its config */
	if (n->live)
		return err_set(ERR_BUSY, "network '%s' is active: net-destroy it first", n->def->name);
	g_strlcpy(name, n->def->name, sizeof(name));
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set_errno(ERR_IO, errno, "cannot remove %s", path);
	unlink(apath);
	g_hash_table_remove(vnet_table, name);
	vnet_emit(vd, name, "undefined", "removed");
	return 0;
}

int vnet_set_autostart(struct vnet *n, bool on)
{
	autofree char *path = autostart_path(n->def->name);

	if (on) {
		if (store_write_file(path, "", 0, 0600) < 0)
			return -1;
	} else if (unlink(path) < 0 && errno != ENOENT) {
		return err_set_errno(ERR_IO, errno, "cannot remove %s", path);
	}
	n->autostart = on;
	return 0;
}

/* ---- start / destroy ---- */

/* Undo whatever part of a start happened; each step is harmless when its
 * object is absent. */
static void vnet_teardown(const struct netconf_def *def)
{
	autofree char *st = status_path(def->name);

	if (def->forward != NETCONF_FWD_BRIDGE) {
		vdns_stop(def->name, vnet_paths.run_dir);
		if (vnft_exists(def->name) && vnft_remove(def->name) < 0)
			log_warn("%s", err_message());
		if (def->bridge && vnl_is_bridge(def->bridge) && vnl_link_delete(def->bridge) < 0)
			log_warn("network %s: %s", def->name, err_message());
	}
	unlink(st);
}

static int write_status(const struct netconf_def *live)
{
	autofree char *text = netconf_format_xml(live, 0), *path = status_path(live->name);

	return text ? store_write_file(path, text, strlen(text), 0600) : -1;
}

static int enable_ip_forward(void)
{
	static const char path[] = "/proc/sys/net/ipv4/ip_forward";
	g_autofree char *now = NULL;

	FILE *f;

	if (g_file_get_contents(path, &now, NULL, NULL) && now[0] == '1')
		return 0;
	/* a plain write: /proc takes no temporary file and rename */
	f = fopen(path, "we");
	if (f) {
		bool ok = fputs("1\n", f) >= 0;

		if (fclose(f) == 0 && ok)
			return 0;
	}
	return err_set_errno(ERR_IO, errno, "cannot enable IPv4 forwarding (%s)", path);
}

static int vnet_bring_up(struct vnet *n, struct netconf_def *live)
{
	char what[160];
	int rc;

	if (live->forward == NETCONF_FWD_BRIDGE) {
		if (!vnl_is_bridge(live->bridge))
			return err_set(ERR_NOT_FOUND, "network '%s': host bridge %s does not exist (forward "
				       "mode 'bridge' uses a bridge made outside vireo)", live->name, live->bridge);
		return 0;
	}
	if (vnl_link_exists(live->bridge))
		return err_set(ERR_EXISTS, "network '%s': a link named %s already exists on the host",
			       live->name, live->bridge);
	if (live->has_ip) {
		rc = vnl_route_overlap(netconf_network_addr(live), live->prefix, NULL, what, sizeof(what));
		if (rc < 0)
			return -1;
		if (rc > 0)
			return err_set(ERR_INVALID, "network '%s': %s: pick another <ip> address", live->name, what);
	}
	if (vnl_bridge_create(live->bridge, live->has_mac ? live->mac : NULL, live->mtu,
			      live->stp != DOM_TRISTATE_OFF, (unsigned int)live->delay) < 0)
		return err_prefix("network '%s'", live->name);
	if ((live->has_ip && vnl_addr_add(live->bridge, live->ip, live->prefix) < 0) ||
	    vnl_link_up(live->bridge) < 0)
		goto fail;
	if ((live->forward == NETCONF_FWD_NAT || live->forward == NETCONF_FWD_ROUTE) && enable_ip_forward() < 0)
		goto fail;
	if (live->forward != NETCONF_FWD_OPEN && vnft_apply(live) < 0)
		goto fail;
	if (live->has_ip && vdns_start(live, vnet_paths.run_dir, vnet_paths.lease_dir, &n->dnsmasq_pid) < 0)
		goto fail;
	return 0;
fail:
	err_prefix("network '%s'", live->name);
	{
		/* keep the first error through the teardown's own messages */
		char saved[ERR_MSG_MAX];
		enum err_code code = err_code();

		g_strlcpy(saved, err_message(), sizeof(saved));
		vnet_teardown(live);
		err_set(code, "%s", saved);
	}
	return -1;
}

/* Running domains keep their taps through a net-destroy (the VMM holds them):
 * a new start of the network puts them back on its bridge. */
static void vnet_replug(struct vnet *n)
{
	GHashTableIter it;
	gpointer v;

	if (!n->vd->domains)
		return;   /* autostart at vireod's start: domains are loaded after networks */
	g_hash_table_iter_init(&it, n->vd->domains);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const struct dom_def *live = ((struct vdom *)v)->live;

		for (size_t i = 0; live && i < live->nnets; i++) {
			const struct dom_net *net = &live->nets[i];

			if (net->type != DOM_NET_NETWORK || !net->source || strcmp(net->source, n->live->name) ||
			    !net->target_dev || !vnl_link_exists(net->target_dev))
				continue;
			if (vnl_enslave(net->target_dev, n->live->bridge) < 0)
				log_warn("network %s: domain %s: %s", n->live->name, live->name, err_message());
			else
				log_info("network %s: tap %s of domain %s back on %s", n->live->name,
					 net->target_dev, live->name, n->live->bridge);
		}
	}
}

int vnet_start(struct vnet *n)
{
	struct netconf_def *live;

	if (n->live)
		return err_set(ERR_BUSY, "network '%s' is already active", n->def->name);
	live = netconf_def_copy(n->def);
	if (!live)
		return -1;
	if (vnet_bring_up(n, live) < 0) {
		netconf_def_free(live);
		return -1;
	}
	n->live = live;
	if (write_status(live) < 0)
		log_error("network %s: %s (a vireod restart will not re-adopt it)", live->name, err_message());
	if (live->forward != NETCONF_FWD_BRIDGE)
		vnet_replug(n);
	vnet_emit(n->vd, live->name, "started", "booted");
	return 0;
}

int vnet_destroy(struct vnet *n)
{
	if (!n->live)
		return err_set(ERR_BUSY, "network '%s' is not active", n->def->name);
	vnet_teardown(n->live);
	n->dnsmasq_pid = 0;
	netconf_def_free(n->live);
	n->live = NULL;
	vnet_emit(n->vd, n->def->name, "stopped", "destroyed");
	return 0;
}

/* ---- queries ---- */

json_object *vnet_info_json(struct vnet *n)
{
	const struct netconf_def *d = vnet_def(n);
	json_object *o = json_object_new_object();
	char uuid[DOM_UUID_STRLEN + 1];

	dom_uuid_format(d->uuid, uuid);
	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "uuid", json_object_new_string(uuid));
	json_object_object_add(o, "active", json_object_new_boolean(n->live != NULL));
	json_object_object_add(o, "persistent", json_object_new_boolean(true));
	json_object_object_add(o, "autostart", json_object_new_boolean(n->autostart));
	json_object_object_add(o, "forward", json_object_new_string(netconf_forward_name(d->forward)));
	if (d->bridge)
		json_object_object_add(o, "bridge", json_object_new_string(d->bridge));
	if (d->has_ip) {
		char ip[16];

		netconf_ipv4_format(d->ip, ip);
		json_object_object_add(o, "ip", json_object_new_string(ip));
		json_object_object_add(o, "prefix", json_object_new_int((int)d->prefix));
	}
	if (n->dnsmasq_pid)
		json_object_object_add(o, "dnsmasq_pid", json_object_new_int(n->dnsmasq_pid));
	return o;
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
	return strcmp(vnet_def(*(struct vnet *const *)a)->name, vnet_def(*(struct vnet *const *)b)->name);
}

json_object *vnet_list_json(const char *filter)
{
	json_object *arr = json_object_new_array();
	GPtrArray *all = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, vnet_table);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		bool active = ((struct vnet *)v)->live != NULL;

		if (filter && ((!strcmp(filter, "active") && !active) || (!strcmp(filter, "inactive") && active)))
			continue;
		g_ptr_array_add(all, v);
	}
	g_ptr_array_sort(all, cmp_names);
	for (guint i = 0; i < all->len; i++)
		json_object_array_add(arr, vnet_info_json(all->pdata[i]));
	g_ptr_array_free(all, TRUE);
	return arr;
}

char *vnet_xml(struct vnet *n, bool inactive)
{
	return netconf_format_xml(inactive || !n->live ? n->def : n->live, 0);
}

/* dnsmasq's lease file: "EXPIRY MAC IP HOSTNAME CLIENTID" per line. */
json_object *vnet_leases_json(struct vnet *n, const char *mac)
{
	const struct netconf_def *d = vnet_def(n);
	autofree char *path = vdns_lease_path(d->name, vnet_paths.lease_dir);
	g_autofree char *text = NULL;
	json_object *arr = json_object_new_array();
	char **lines;

	if (!n->live || !g_file_get_contents(path, &text, NULL, NULL))
		return arr;
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		char **f = g_strsplit_set(g_strstrip(*l), " \t", -1);

		if (g_strv_length(f) >= 4 && (!mac || !g_ascii_strcasecmp(mac, f[1]))) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "expiry", json_object_new_int64(g_ascii_strtoll(f[0], NULL, 10)));
			json_object_object_add(o, "mac", json_object_new_string(f[1]));
			json_object_object_add(o, "ip", json_object_new_string(f[2]));
			json_object_object_add(o, "prefix", json_object_new_int((int)d->prefix));
			json_object_object_add(o, "hostname", json_object_new_string(strcmp(f[3], "*") ? f[3] : ""));
			json_object_object_add(o, "clientid",
					       json_object_new_string(f[4] && strcmp(f[4], "*") ? f[4] : ""));
			json_object_object_add(o, "interface", json_object_new_string(d->bridge ? d->bridge : ""));
			json_object_array_add(arr, o);
		}
		g_strfreev(f);
	}
	g_strfreev(lines);
	return arr;
}

/* ---- domain interfaces ---- */

int vnet_iface_connect(const struct dom_def *def, struct dom_net *net)
{
	const char *bridge = NULL;
	char name[IFNAMSIZ];
	int fd;

	if (net->type == DOM_NET_NETWORK) {
		struct vnet *n = net->source ? g_hash_table_lookup(vnet_table, net->source) : NULL;

		if (!n)
			return err_set(ERR_NOT_FOUND, "domain '%s': interface network '%s' does not exist",
				       def->name, net->source ? net->source : "");
		if (!n->live)
			return err_set(ERR_INVALID, "domain '%s': interface network '%s' is not active "
				       "(net-start it)", def->name, net->source);
		bridge = n->live->bridge;
	} else if (net->type == DOM_NET_BRIDGE) {
		bridge = net->source;
		if (!bridge || !vnl_is_bridge(bridge))
			return err_set(ERR_NOT_FOUND, "domain '%s': interface bridge '%s' is not a bridge on "
				       "the host", def->name, bridge ? bridge : "");
	} else {
		return err_set(ERR_INTERNAL, "vnet_iface_connect: not a network or bridge interface");
	}
	/* a vnet* name in the config was a runtime name: let the kernel pick again */
	fd = vnl_tap_attach(net->target_dev && strncmp(net->target_dev, "vnet", 4) ? net->target_dev : NULL,
			    net->mac, bridge, name);
	if (fd < 0)
		return err_prefix("domain '%s'", def->name);
	g_free(net->target_dev);
	net->target_dev = g_strdup(name);
	return fd;
}

/* ---- start-up ---- */

static const char default_xml[] =
	"<network>\n"
	"  <name>default</name>\n"
	"  <forward mode='nat'/>\n"
	"  <ip address='192.168.122.1' netmask='255.255.255.0'>\n"
	"    <dhcp>\n"
	"      <range start='192.168.122.2' end='192.168.122.254'/>\n"
	"    </dhcp>\n"
	"  </ip>\n"
	"</network>\n";

/* libvirt installs `default` once; deleting it later is the user's choice, so
 * a marker file remembers that it was made. */
static void vnet_make_default(struct vd *vd)
{
	autofree char *marker = g_strdup_printf("%s/.default-defined", vnet_paths.cfg_dir);
	struct vnet *n;
	bool created;

	if (access(marker, F_OK) == 0)
		return;
	if (!g_hash_table_lookup(vnet_table, "default")) {
		n = vnet_define(vd, default_xml, strlen(default_xml), &created);
		if (!n) {
			log_error("cannot define the default network: %s", err_message());
			return;
		}
		/* a daemon under --root is a test's: it must not touch the host's
		 * networking until told to */
		if (vnet_paths.real_system && vnet_set_autostart(n, true) < 0)
			log_error("default network: %s", err_message());
	}
	if (store_write_file(marker, "", 0, 0600) < 0)
		log_error("%s", err_message());
}

/* A network that was running when vireod stopped: adopt what is still there
 * (bridge, dnsmasq, nft table) and redo only what is missing. */
static void vnet_readopt(struct vnet *n)
{
	autofree char *st = status_path(n->def->name);
	struct netconf_def *live;

	if (access(st, F_OK) < 0)
		return;
	live = netconf_parse_file(st, 0);
	if (!live) {
		log_error("network %s: status file unreadable (%s); moved aside", n->def->name, err_message());
		store_quarantine(st);
		return;
	}
	if (!vnl_is_bridge(live->bridge)) {
		log_info("network %s: bridge %s is gone; the network is inactive", live->name, live->bridge);
		vnet_teardown(live);
		netconf_def_free(live);
		return;
	}
	if (live->forward != NETCONF_FWD_BRIDGE) {
		if (live->forward != NETCONF_FWD_OPEN && !vnft_exists(live->name) && vnft_apply(live) < 0)
			log_error("network %s: %s", live->name, err_message());
		if (live->has_ip) {
			n->dnsmasq_pid = vdns_running(live->name, vnet_paths.run_dir);
			if (!n->dnsmasq_pid &&
			    vdns_start(live, vnet_paths.run_dir, vnet_paths.lease_dir, &n->dnsmasq_pid) < 0)
				log_error("network %s: %s", live->name, err_message());
		}
	}
	n->live = live;
	log_info("network %s: re-adopted (bridge %s, dnsmasq %d)", live->name, live->bridge, (int)n->dnsmasq_pid);
}

int vnet_load(struct vd *vd)
{
	DIR *dir;
	struct dirent *e;
	GPtrArray *autos;

	vnet_table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, vnet_free);
	vnet_paths.cfg_dir = g_strdup_printf("%s/networks", vd->paths.state_dir);
	vnet_paths.autostart_dir = g_strdup_printf("%s/autostart", vnet_paths.cfg_dir);
	vnet_paths.lease_dir = g_strdup_printf("%s/dnsmasq", vd->paths.state_dir);
	vnet_paths.run_dir = g_strdup_printf("%s/networks", vd->paths.run_dir);
	vnet_paths.real_system = !vd->paths.root[0];
	if (store_mkdir_p(vnet_paths.cfg_dir, 0700) < 0 || store_mkdir_p(vnet_paths.autostart_dir, 0700) < 0 ||
	    store_mkdir_p(vnet_paths.lease_dir, 0755) < 0 || store_mkdir_p(vnet_paths.run_dir, 0755) < 0) {
		log_error("networks: %s", err_message());
		return -1;
	}
	dir = opendir(vnet_paths.cfg_dir);
	while (dir && (e = readdir(dir))) {
		size_t l = strlen(e->d_name);
		autofree char *path = NULL, *apath = NULL;
		struct netconf_def *def;
		struct vnet *n;

		if (l < 5 || strcmp(e->d_name + l - 4, ".xml"))
			continue;
		path = g_strdup_printf("%s/%s", vnet_paths.cfg_dir, e->d_name);
		def = netconf_parse_file(path, NETCONF_PARSE_VALIDATE);
		if (!def) {
			log_error("%s; moved aside", err_message());
			store_quarantine(path);
			continue;
		}
		if (g_hash_table_lookup(vnet_table, def->name) || strlen(def->name) != l - 4 ||
		    strncmp(def->name, e->d_name, l - 4)) {
			log_error("%s: holds network '%s' (name and file differ or taken); ignored", path, def->name);
			netconf_def_free(def);
			continue;
		}
		n = g_new0(struct vnet, 1);
		n->vd = vd;
		n->def = def;
		apath = autostart_path(def->name);
		n->autostart = access(apath, F_OK) == 0;
		g_hash_table_insert(vnet_table, g_strdup(def->name), n);
		vnet_readopt(n);
	}
	if (dir)
		closedir(dir);
	vnet_make_default(vd);
	autos = g_ptr_array_new();
	{
		GHashTableIter it;
		gpointer v;

		g_hash_table_iter_init(&it, vnet_table);
		while (g_hash_table_iter_next(&it, NULL, &v))
			if (((struct vnet *)v)->autostart && !((struct vnet *)v)->live)
				g_ptr_array_add(autos, v);
	}
	for (guint i = 0; i < autos->len; i++) {
		struct vnet *n = autos->pdata[i];

		if (vnet_start(n) < 0)
			log_error("autostart of network %s failed: %s", n->def->name, err_message());
	}
	g_ptr_array_free(autos, TRUE);
	return 0;
}

void vnet_free_all(void)
{
	if (vnet_table)
		g_hash_table_destroy(vnet_table);
	vnet_table = NULL;
	g_free(vnet_paths.cfg_dir);
	g_free(vnet_paths.autostart_dir);
	g_free(vnet_paths.lease_dir);
	g_free(vnet_paths.run_dir);
	memset(&vnet_paths, 0, sizeof(vnet_paths));
}
