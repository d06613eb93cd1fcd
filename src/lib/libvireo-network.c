/* libvireo's virtual network calls: one REST request each under /v1/networks
 * (docs/api.yaml). A handle keeps the figures of the answer that made it
 * (active, autostart, bridge), as the pool handles do. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "common/util.h"
#include "lib/libvireo-internal.h"

struct vireo_network {
	vireo_conn *conn;
	char *name, *bridge, *forward;
	char uuid[37];
	int active, autostart, persistent;
};

static void no_memory(void)
{
	vireo_set_error(VIREO_ERR_NO_MEMORY, 0, "no-memory", "out of memory");
}

static vireo_network *net_from_json(vireo_conn *c, json_object *o)
{
	const char *name = vireo_jstr(o, "name"), *uuid = vireo_jstr(o, "uuid");
	const char *bridge = vireo_jstr(o, "bridge"), *forward = vireo_jstr(o, "forward");
	vireo_network *n;

	if (!name || !uuid) {
		vireo_set_error(VIREO_ERR_PROTOCOL, 200, "protocol", "network answer without name or uuid");
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(name)) || !(n->bridge = strdup(bridge ? bridge : "")) ||
	    !(n->forward = strdup(forward ? forward : "none"))) {
		vireo_network_free(n);
		no_memory();
		return NULL;
	}
	n->conn = c;
	snprintf(n->uuid, sizeof(n->uuid), "%s", uuid);
	n->active = json_object_get_boolean(json_object_object_get(o, "active"));
	n->autostart = json_object_get_boolean(json_object_object_get(o, "autostart"));
	n->persistent = json_object_get_boolean(json_object_object_get(o, "persistent"));
	return n;
}

/* Refresh a handle from a fresh answer about it (o is consumed). */
static int net_update(vireo_network *net, json_object *o)
{
	vireo_network *n;

	if (!o)
		return -1;
	n = net_from_json(net->conn, o);
	json_object_put(o);
	if (!n)
		return -1;
	net->active = n->active;
	net->autostart = n->autostart;
	net->persistent = n->persistent;
	vireo_network_free(n);
	return 0;
}

static char *net_url(const char *name, const char *suffix)
{
	autofree char *enc = vireo_seg_encode(name);
	char *s;

	if (!enc || asprintf(&s, "/v1/networks/%s%s", enc, suffix) < 0) {
		no_memory();
		return NULL;
	}
	return s;
}

/* GET a JSON array; NULL with the public error set on anything else. */
static json_object *get_array(vireo_conn *conn, const char *url, const char *what)
{
	json_object *arr = vireo_call_json(conn, "GET", url, NULL, NULL, 0);
	char msg[64];

	if (arr && !json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		snprintf(msg, sizeof(msg), "%s is not an array", what);
		vireo_set_error(VIREO_ERR_PROTOCOL, 200, "protocol", msg);
		return NULL;
	}
	return arr;
}

void vireo_network_free(vireo_network *net)
{
	if (!net)
		return;
	free(net->name);
	free(net->bridge);
	free(net->forward);
	free(net);
}

static void *net_make(vireo_conn *conn, json_object *o, void *opaque)
{
	(void)opaque;
	return net_from_json(conn, o);
}

static void net_free_any(void *p)
{
	vireo_network_free(p);
}

int vireo_conn_list_networks(vireo_conn *conn, vireo_network ***nets, unsigned int flags)
{
	bool active = flags & VIREO_LIST_ACTIVE, inactive = flags & VIREO_LIST_INACTIVE;
	const char *path = active && !inactive ? "/v1/networks?state=active" :
			   inactive && !active ? "/v1/networks?state=inactive" : "/v1/networks";

	return vireo_list_handles(conn, path, "network list", net_make, net_free_any, NULL, (void ***)nets);
}

vireo_network *vireo_network_lookup_by_name(vireo_conn *conn, const char *name)
{
	autofree char *url = name ? net_url(name, "") : NULL;
	json_object *o;
	vireo_network *n;

	if (!url)
		return NULL;
	o = vireo_call_json(conn, "GET", url, NULL, NULL, 0);
	if (!o)
		return NULL;
	n = net_from_json(conn, o);
	json_object_put(o);
	return n;
}

vireo_network *vireo_network_define_xml(vireo_conn *conn, const char *xml, unsigned int flags)
{
	json_object *o;
	vireo_network *n;

	(void)flags;
	if (!xml) {
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "no XML document");
		return NULL;
	}
	o = vireo_call_json(conn, "POST", "/v1/networks", "application/xml", xml, strlen(xml));
	if (!o)
		return NULL;
	n = net_from_json(conn, o);
	json_object_put(o);
	return n;
}

int vireo_network_undefine(vireo_network *net, unsigned int flags)
{
	autofree char *url = net ? net_url(net->name, "") : NULL;
	struct http_answer ans;

	(void)flags;
	if (!url || vireo_call(net->conn, "DELETE", url, NULL, NULL, 0, &ans) < 0)
		return -1;
	free(ans.body);
	net->persistent = 0;
	return 0;
}

static int net_action(vireo_network *net, const char *action)
{
	char suffix[32];
	autofree char *url = NULL;

	if (!net) {
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "no network");
		return -1;
	}
	snprintf(suffix, sizeof(suffix), "/actions/%s", action);
	url = net_url(net->name, suffix);
	if (!url)
		return -1;
	return net_update(net, vireo_call_json(net->conn, "POST", url, NULL, NULL, 0));
}

int vireo_network_create(vireo_network *net, unsigned int flags)
{
	(void)flags;
	return net_action(net, "start");
}

int vireo_network_destroy(vireo_network *net, unsigned int flags)
{
	(void)flags;
	return net_action(net, "destroy");
}

int vireo_network_set_autostart(vireo_network *net, int autostart, unsigned int flags)
{
	autofree char *url = net ? net_url(net->name, "/autostart") : NULL;
	const char *body = autostart ? "{\"autostart\":true}" : "{\"autostart\":false}";

	(void)flags;
	if (!url)
		return -1;
	return net_update(net, vireo_call_json(net->conn, "PUT", url, "application/json", body, strlen(body)));
}

int vireo_network_get_autostart(const vireo_network *net, int *autostart)
{
	*autostart = net->autostart;
	return 0;
}

int vireo_network_is_active(const vireo_network *net)
{
	return net->active;
}

int vireo_network_is_persistent(const vireo_network *net)
{
	return net->persistent;
}

const char *vireo_network_get_name(const vireo_network *net)
{
	return net->name;
}

const char *vireo_network_get_uuid_string(const vireo_network *net)
{
	return net->uuid;
}

const char *vireo_network_get_bridge_name(const vireo_network *net)
{
	return net->bridge;
}

const char *vireo_network_get_forward_mode(const vireo_network *net)
{
	return net->forward;
}

char *vireo_network_get_xml_desc(vireo_network *net, unsigned int flags)
{
	autofree char *url = net ? net_url(net->name, (flags & VIREO_XML_INACTIVE) ? "/xml?inactive=true" : "/xml")
				 : NULL;
	struct http_answer ans;

	if (!url || vireo_call(net->conn, "GET", url, NULL, NULL, 0, &ans) < 0)
		return NULL;
	return ans.body;
}

static void copy_field(char *dst, size_t size, json_object *o, const char *key)
{
	const char *v = vireo_jstr(o, key);

	snprintf(dst, size, "%s", v ? v : "");
}

int vireo_network_get_dhcp_leases(vireo_network *net, const char *mac, vireo_network_lease **leases,
				  unsigned int flags)
{
	autofree char *enc = mac ? vireo_seg_encode(mac) : NULL;
	autofree char *suffix = NULL, *url = NULL;
	json_object *arr;
	vireo_network_lease *out;
	size_t n;

	(void)flags;
	if (!net || (mac && !enc) || asprintf(&suffix, "/leases%s%s", mac ? "?mac=" : "", mac ? enc : "") < 0) {
		no_memory();
		return -1;
	}
	url = net_url(net->name, suffix);
	if (!url)
		return -1;
	arr = get_array(net->conn, url, "lease list");
	if (!arr)
		return -1;
	n = json_object_array_length(arr);
	out = calloc(n + 1, sizeof(*out));
	if (!out) {
		json_object_put(arr);
		no_memory();
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		out[i].expiry_time = vireo_jint(o, "expiry", 0);
		out[i].prefix = (unsigned int)vireo_jint(o, "prefix", 0);
		copy_field(out[i].iface, sizeof(out[i].iface), o, "interface");
		copy_field(out[i].mac, sizeof(out[i].mac), o, "mac");
		copy_field(out[i].ipaddr, sizeof(out[i].ipaddr), o, "ip");
		copy_field(out[i].hostname, sizeof(out[i].hostname), o, "hostname");
		copy_field(out[i].clientid, sizeof(out[i].clientid), o, "clientid");
	}
	json_object_put(arr);
	*leases = out;
	return (int)n;
}
