/* The REST API of docs/api.yaml on two unix sockets (libsoup-3): the read-write
 * socket (root + group vireo, 0660) and the read-only one (0666) that serves
 * queries only and answers 403 to every other method. Routes are a table. */
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <libsoup/soup.h>

#include "common/error.h"
#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/api-internal.h"


static SoupServer *api_servers[2];
static struct vd *api_vd;
static GPtrArray *api_event_clients;   /* SoupWebsocketConnection * on /v1/events */

void api_reply_json(struct api_req *r, unsigned int status, json_object *o)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	soup_server_message_set_status(r->msg, status, NULL);
	soup_server_message_set_response(r->msg, "application/json", SOUP_MEMORY_COPY, text, strlen(text));
	json_object_put(o);
}

void api_reply_error(struct api_req *r, unsigned int status, const char *code, const char *message)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(message));
	json_object_object_add(o, "error", e);
	api_reply_json(r, status, o);
}

/* The error recorded by the failing call, with a fitting HTTP status. */
void api_reply_err(struct api_req *r)
{
	enum err_code c = err_code();
	unsigned int status;

	switch (c) {
	case ERR_INVALID: case ERR_CORRUPT: status = 400; break;
	case ERR_NOT_FOUND: status = 404; break;
	case ERR_EXISTS: case ERR_BUSY: status = 409; break;
	case ERR_PERMISSION: status = 403; break;
	case ERR_UNSUPPORTED: status = 501; break;
	default: status = 500; break;
	}
	api_reply_error(r, status, err_code_name(c), err_message()[0] ? err_message() : "unknown error");
}

bool api_query_true(struct api_req *r, const char *key)
{
	const char *v = r->query ? g_hash_table_lookup(r->query, key) : NULL;

	return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"));
}

int api_body_autostart(struct api_req *r, bool *on)
{
	json_object *o = r->body_len ? store_parse_json(r->body, r->body_len) : NULL;
	json_object *v;
	int rc = -1;

	if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, "autostart", &v) &&
	    json_object_is_type(v, json_type_boolean)) {
		*on = json_object_get_boolean(v);
		rc = 0;
	} else {
		api_reply_error(r, 400, "invalid-argument", "body must be {\"autostart\": true|false}");
	}
	json_object_put(o);
	return rc;
}

static struct vdom *api_domain(struct api_req *r)
{
	struct vdom *d = vdom_lookup(r->vd, r->parts[2]);

	if (!d)
		api_reply_err(r);
	return d;
}

/* ---- handlers ---- */

static void h_version(struct api_req *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_string(VD_VERSION));
	json_object_object_add(o, "api", json_object_new_int(1));
	json_object_object_add(o, "hypervisor", json_object_new_string("vireo-vmm"));
	api_reply_json(r, 200, o);
}

static void h_host(struct api_req *r)
{
	api_reply_json(r, 200, host_info_json());
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
	const struct vdom *x = *(struct vdom *const *)a, *y = *(struct vdom *const *)b;

	return strcmp(vdom_def(x)->name, vdom_def(y)->name);
}

static void h_list(struct api_req *r)
{
	const char *filter = r->query ? g_hash_table_lookup(r->query, "state") : NULL;
	json_object *arr = json_object_new_array();
	GPtrArray *all = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;

	if (filter && strcmp(filter, "active") && strcmp(filter, "inactive") && strcmp(filter, "all")) {
		g_ptr_array_free(all, TRUE);
		json_object_put(arr);
		api_reply_error(r, 400, "invalid-argument", "state must be active, inactive or all");
		return;
	}
	g_hash_table_iter_init(&it, r->vd->domains);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct vdom *d = v;
		bool active = d->state == VDOM_RUNNING || d->state == VDOM_PAUSED;
		if (filter && !strcmp(filter, "active") && !active)
			continue;
		if (filter && !strcmp(filter, "inactive") && active)
			continue;
		g_ptr_array_add(all, d);
	}
	g_ptr_array_sort(all, cmp_names);
	for (guint i = 0; i < all->len; i++)
		json_object_array_add(arr, vdom_info_json(all->pdata[i]));
	g_ptr_array_free(all, TRUE);
	api_reply_json(r, 200, arr);
}

static void h_define(struct api_req *r)
{
	bool created = false;
	struct vdom *d;

	if (!r->body_len) {
		api_reply_error(r, 400, "invalid-argument", "request body must be a domain XML document");
		return;
	}
	d = vdom_define(r->vd, r->body, r->body_len, &created);
	if (!d) {
		api_reply_err(r);
		return;
	}
	api_reply_json(r, created ? 201 : 200, vdom_info_json(d));
}

static void h_get(struct api_req *r)
{
	struct vdom *d = api_domain(r);

	if (d)
		api_reply_json(r, 200, vdom_info_json(d));
}

static void h_undefine(struct api_req *r)
{
	struct vdom *d = api_domain(r);

	if (!d)
		return;
	if (vdom_undefine(d) < 0)
		api_reply_err(r);
	else
		soup_server_message_set_status(r->msg, 204, NULL);
}

static void h_xml(struct api_req *r)
{
	struct vdom *d = api_domain(r);
	const struct dom_def *def;
	char *xml;

	if (!d)
		return;
	def = api_query_true(r, "inactive") && d->def ? d->def : vdom_def(d);
	xml = dom_format_xml(def, def == d->live ? 0 : DOM_FORMAT_INACTIVE);
	if (!xml) {
		api_reply_err(r);
		return;
	}
	soup_server_message_set_status(r->msg, 200, NULL);
	soup_server_message_set_response(r->msg, "application/xml", SOUP_MEMORY_TAKE, xml, strlen(xml));
}

/* A request answered when its action ends, from the main loop: the message is
 * paused meanwhile so vireod serves everyone else. */
struct api_pending {
	SoupServerMessage *msg;
	struct vd *vd;
	char name[DOM_NAME_MAX + 1];
	bool paused, answered, gone;
};

static void api_pending_disconnected(SoupServerMessage *msg, gpointer data)
{
	(void)msg;
	((struct api_pending *)data)->gone = true;
}

static struct api_pending *api_pending_new(struct api_req *r, const char *name)
{
	struct api_pending *p = g_new0(struct api_pending, 1);

	p->msg = g_object_ref(r->msg);
	p->vd = r->vd;
	g_strlcpy(p->name, name, sizeof(p->name));
	g_signal_connect(p->msg, "disconnected", G_CALLBACK(api_pending_disconnected), p);
	return p;
}

static void api_pending_free(struct api_pending *p)
{
	g_signal_handlers_disconnect_by_data(p->msg, p);
	g_object_unref(p->msg);
	g_free(p);
}

/* After the action was started: wait for its answer unless it is already in. */
static void api_pending_wait(struct api_pending *p)
{
	if (p->answered) {
		api_pending_free(p);
		return;
	}
	p->paused = true;
	/* A status now keeps libsoup from taking the request for a failed WebSocket
	 * handshake (the "/" WebSocket handler runs when none is set); the real
	 * one replaces it before the message goes out. */
	soup_server_message_set_status(p->msg, SOUP_STATUS_ACCEPTED, NULL);
	soup_server_message_pause(p->msg);
}

/* The reply is set (or the client is gone): send it. */
static void api_pending_done(struct api_pending *p)
{
	p->answered = true;
	if (!p->paused)
		return;   /* answered inside the handler: api_pending_wait frees it */
	if (!p->gone)
		soup_server_message_unpause(p->msg);
	api_pending_free(p);
}

static void api_stats_done(void *opaque, json_object *stats)
{
	struct api_pending *p = opaque;
	struct api_req r = { .vd = p->vd, .msg = p->msg };

	if (p->gone)
		json_object_put(stats);
	else
		api_reply_json(&r, 200, stats);
	api_pending_done(p);
}

static void h_stats(struct api_req *r)
{
	struct vdom *d = api_domain(r);
	struct api_pending *p;

	if (!d)
		return;
	p = api_pending_new(r, vdom_def(d)->name);
	vdom_stats(d, api_stats_done, p);
	api_pending_wait(p);
}

static void h_autostart(struct api_req *r)
{
	struct vdom *d = api_domain(r);
	bool on;

	if (!d || api_body_autostart(r, &on) < 0)
		return;
	if (vdom_set_autostart(d, on) < 0)
		api_reply_err(r);
	else
		api_reply_json(r, 200, vdom_info_json(d));
}

static const struct {
	const char *name;
	int (*fn)(struct vdom *d, vdom_done_fn done, void *opaque);
} api_actions[] = {
	{ "start", vdom_start }, { "shutdown", vdom_shutdown }, { "destroy", vdom_destroy },
	{ "reboot", vdom_reboot }, { "suspend", vdom_suspend }, { "resume", vdom_resume },
};

static void api_action_done(void *opaque, int rc)
{
	struct api_pending *p = opaque;
	struct api_req r = { .vd = p->vd, .msg = p->msg };
	struct vdom *d;

	if (p->gone) {
		/* The client left; the action happened all the same. */
	} else if (rc < 0) {
		api_reply_err(&r);
	} else if ((d = g_hash_table_lookup(p->vd->domains, p->name))) {
		api_reply_json(&r, 200, vdom_info_json(d));
	} else {
		/* A transient domain is gone after destroy. */
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(p->name));
		json_object_object_add(o, "state", json_object_new_string("shut off"));
		json_object_object_add(o, "state_code", json_object_new_int(VDOM_SHUTOFF));
		api_reply_json(&r, 200, o);
	}
	api_pending_done(p);
}

static void h_action(struct api_req *r)
{
	struct vdom *d = api_domain(r);
	struct api_pending *p;

	if (!d)
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(api_actions); i++) {
		if (strcmp(api_actions[i].name, r->parts[4]))
			continue;
		p = api_pending_new(r, vdom_def(d)->name);
		if (api_actions[i].fn(d, api_action_done, p) < 0) {
			api_pending_free(p);
			api_reply_err(r);
			return;
		}
		api_pending_wait(p);
		return;
	}
	api_reply_error(r, 404, "not-found", "no such action");
}

static void api_agent_done(void *opaque, json_object *reply)
{
	struct api_pending *p = opaque;
	struct api_req r = { .vd = p->vd, .msg = p->msg };
	json_object *e, *cls = NULL, *desc = NULL;

	if (p->gone) {
		/* nobody to tell */
	} else if (!reply) {
		api_reply_err(&r);
	} else if (json_object_object_get_ex(reply, "error", &e)) {
		char *m;
		json_object_object_get_ex(e, "class", &cls);
		json_object_object_get_ex(e, "desc", &desc);
		m = g_strdup_printf("guest agent of domain '%s': %s: %s", p->name,
				    cls ? json_object_get_string(cls) : "Error",
				    desc ? json_object_get_string(desc) : "no description");
		api_reply_error(&r, 400, "agent-error", m);
		g_free(m);
	} else {
		api_reply_json(&r, 200, json_object_get(reply));
	}
	api_pending_done(p);
}

/* POST /v1/domains/NAME/agent?timeout=SECONDS with the command as the body:
 * virsh qemu-agent-command through the domain's org.qemu.guest_agent.0 channel. */
static void h_agent(struct api_req *r)
{
	struct vdom *d = api_domain(r);
	const char *t = r->query ? g_hash_table_lookup(r->query, "timeout") : NULL;
	const char *path;
	struct api_pending *p;
	guint64 timeout = 5;

	if (!d)
		return;
	if (t && (!g_ascii_string_to_unsigned(t, 10, 1, 50, &timeout, NULL))) {
		api_reply_error(r, 400, "invalid-argument", "timeout must be 1 to 50 seconds");
		return;
	}
	if (!r->body_len) {
		api_reply_error(r, 400, "invalid-argument", "the body must be the agent command, a JSON object");
		return;
	}
	if (d->state != VDOM_RUNNING || !d->live) {
		err_set(ERR_BUSY, "domain '%s' is not running", vdom_def(d)->name);
		api_reply_err(r);
		return;
	}
	path = vdom_channel_path(d, "org.qemu.guest_agent.0");
	if (!path) {
		err_set(ERR_INVALID, "domain '%s' has no guest agent channel (<channel type='unix'> with "
			"<target type='virtio' name='org.qemu.guest_agent.0'/>)", vdom_def(d)->name);
		api_reply_err(r);
		return;
	}
	p = api_pending_new(r, vdom_def(d)->name);
	if (agent_command(path, r->body, r->body_len, (int)timeout * 1000, api_agent_done, p) < 0) {
		api_pending_free(p);
		api_reply_err(r);
		return;
	}
	api_pending_wait(p);
}

static void h_events(struct api_req *r)
{
	if (!r->websocket)
		api_reply_error(r, 400, "invalid-argument", "/v1/events is a WebSocket: send Upgrade: websocket");
}

static void h_console(struct api_req *r)
{
	struct vdom *d;
	const char *mode = r->query ? g_hash_table_lookup(r->query, "mode") : NULL;

	if (!r->websocket) {
		api_reply_error(r, 400, "invalid-argument", "the console is a WebSocket: send Upgrade: websocket");
		return;
	}
	/* As libvirt: a read-only connection gets no console, not even to watch. */
	if (r->read_only) {
		api_reply_error(r, 403, "read-only", "the console is not available on the read-only socket");
		return;
	}
	if (mode && strcmp(mode, "read") && strcmp(mode, "write")) {
		api_reply_error(r, 400, "invalid-argument", "mode must be read or write");
		return;
	}
	d = api_domain(r);
	if (d && cons_check_open(d, !mode || !strcmp(mode, "write"), api_query_true(r, "force")) < 0)
		api_reply_err(r);
}

/* Route table: path pattern (segments, "*" = any one) and method. */
static const struct api_route {
	const char *method;
	int nparts;
	const char *pattern[6];
	void (*handler)(struct api_req *r);
} api_routes[] = {
	{ "GET", 2, { "v1", "version" }, h_version },
	{ "GET", 2, { "v1", "host" }, h_host },
	{ "GET", 2, { "v1", "domains" }, h_list },
	{ "POST", 2, { "v1", "domains" }, h_define },
	{ "GET", 3, { "v1", "domains", "*" }, h_get },
	{ "DELETE", 3, { "v1", "domains", "*" }, h_undefine },
	{ "GET", 4, { "v1", "domains", "*", "xml" }, h_xml },
	{ "GET", 4, { "v1", "domains", "*", "stats" }, h_stats },
	{ "PUT", 4, { "v1", "domains", "*", "autostart" }, h_autostart },
	{ "POST", 5, { "v1", "domains", "*", "actions", "*" }, h_action },
	{ "POST", 4, { "v1", "domains", "*", "agent" }, h_agent },
	{ "GET", 2, { "v1", "events" }, h_events },
	{ "GET", 4, { "v1", "domains", "*", "console" }, h_console },
	{ "GET", 2, { "v1", "pools" }, apipool_list },
	{ "POST", 2, { "v1", "pools" }, apipool_define },
	{ "GET", 3, { "v1", "pools", "*" }, apipool_get },
	{ "DELETE", 3, { "v1", "pools", "*" }, apipool_undefine },
	{ "GET", 4, { "v1", "pools", "*", "xml" }, apipool_xml },
	{ "PUT", 4, { "v1", "pools", "*", "autostart" }, apipool_autostart },
	{ "POST", 5, { "v1", "pools", "*", "actions", "*" }, apipool_action },
	{ "GET", 4, { "v1", "pools", "*", "volumes" }, apipool_vol_list },
	{ "POST", 4, { "v1", "pools", "*", "volumes" }, apipool_vol_create },
	{ "GET", 5, { "v1", "pools", "*", "volumes", "*" }, apipool_vol_get },
	{ "DELETE", 5, { "v1", "pools", "*", "volumes", "*" }, apipool_vol_delete },
	{ "GET", 6, { "v1", "pools", "*", "volumes", "*", "xml" }, apipool_vol_xml },
	{ "POST", 6, { "v1", "pools", "*", "volumes", "*", "resize" }, apipool_vol_resize },
	{ "POST", 6, { "v1", "pools", "*", "volumes", "*", "clone" }, apipool_vol_clone },
	{ "GET", 6, { "v1", "pools", "*", "volumes", "*", "data" }, apipool_vol_download },
	{ "PUT", 6, { "v1", "pools", "*", "volumes", "*", "data" }, apipool_vol_upload },
	{ "GET", 2, { "v1", "networks" }, apinet_list },
	{ "POST", 2, { "v1", "networks" }, apinet_define },
	{ "GET", 3, { "v1", "networks", "*" }, apinet_get },
	{ "DELETE", 3, { "v1", "networks", "*" }, apinet_undefine },
	{ "GET", 4, { "v1", "networks", "*", "xml" }, apinet_xml },
	{ "PUT", 4, { "v1", "networks", "*", "autostart" }, apinet_autostart },
	{ "POST", 5, { "v1", "networks", "*", "actions", "*" }, apinet_action },
	{ "GET", 4, { "v1", "networks", "*", "leases" }, apinet_leases },
};

static void api_dispatch(struct api_req *r)
{
	bool path_known = false;

	for (size_t i = 0; i < G_N_ELEMENTS(api_routes); i++) {
		const struct api_route *rt = &api_routes[i];
		bool match = rt->nparts == r->nparts;
		for (int k = 0; match && k < rt->nparts; k++)
			match = !strcmp(rt->pattern[k], "*") || !strcmp(rt->pattern[k], r->parts[k]);
		if (!match)
			continue;
		path_known = true;
		if (strcmp(rt->method, r->method))
			continue;
		err_clear();
		rt->handler(r);
		return;
	}
	if (path_known)
		api_reply_error(r, 405, "method-not-allowed", "method not allowed on this path");
	else
		api_reply_error(r, 404, "not-found", "no such API path");
}

static void api_handler(SoupServer *server, SoupServerMessage *msg, const char *path,
			GHashTable *query, gpointer data)
{
	bool read_only = GPOINTER_TO_INT(data);
	struct api_req r = { .vd = api_vd, .msg = msg, .query = query, .read_only = read_only };
	const char *upgrade = soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Upgrade");
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	GBytes *bytes = NULL;
	char **segs;

	(void)server;
	r.method = soup_server_message_get_method(msg);
	r.websocket = upgrade && !g_ascii_strcasecmp(upgrade, "websocket");
	if (soup_server_message_get_status(msg) == 413)
		return;
	/* Queries only on the read-only socket, whatever the path. */
	if (read_only && strcmp(r.method, "GET") && strcmp(r.method, "HEAD")) {
		api_reply_error(&r, 403, "read-only", "this socket is read-only: queries only");
		return;
	}
	if (body && body->length > VD_MAX_REQUEST) {
		api_reply_error(&r, 413, "too-large", "request body over 1 MiB");
		return;
	}
	if (body && body->length) {
		bytes = soup_message_body_flatten(body);
		r.body = g_bytes_get_data(bytes, &r.body_len);
	}
	segs = g_strsplit(path + (path[0] == '/'), "/", 7);
	for (r.nparts = 0; segs[r.nparts] && r.nparts < 6; r.nparts++)
		r.parts[r.nparts] = segs[r.nparts];
	if (segs[r.nparts] || (r.nparts > 0 && !r.parts[r.nparts - 1][0]) || r.nparts == 0)
		api_reply_error(&r, 404, "not-found", "no such API path");
	else
		api_dispatch(&r);
	g_strfreev(segs);
	if (bytes)
		g_bytes_unref(bytes);
}

/* Refuse a declared oversized body before libsoup reads it. */
static void api_got_headers(SoupServerMessage *msg, gpointer data)
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
	goffset len = soup_message_headers_get_content_length(h);

	/* a volume upload streams its body into the volume file instead */
	if (apipool_got_headers(msg, GPOINTER_TO_INT(data)))
		return;
	if (len > (goffset)VD_MAX_REQUEST ||
	    soup_message_headers_get_encoding(h) == SOUP_ENCODING_CHUNKED) {
		const char *m = "{\"error\":{\"code\":\"too-large\",\"message\":\"request body over 1 MiB or chunked\"}}";
		soup_server_message_set_status(msg, 413, NULL);
		soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_STATIC, m, strlen(m));
		soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection", "close");
	}
}

static void api_request_started(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
	(void)server;
	g_signal_connect(msg, "got-headers", G_CALLBACK(api_got_headers), data);
}

static void api_event_closed(SoupWebsocketConnection *ws, gpointer data)
{
	(void)data;
	if (g_ptr_array_remove(api_event_clients, ws))
		g_object_unref(ws);
}

/* The upgrade went through: the route handler accepted it (left no status). */
static void api_websocket(SoupServer *server, SoupServerMessage *msg, const char *path,
			  SoupWebsocketConnection *ws, gpointer data)
{
	GUri *uri = soup_server_message_get_uri(msg);
	const char *q = g_uri_get_query(uri);
	GHashTable *query = q ? soup_form_decode(q) : NULL;
	char **segs = g_strsplit(path + (path[0] == '/'), "/", 6);
	struct vdom *d;

	(void)server;
	(void)data;
	if (g_strv_length(segs) == 2 && !strcmp(segs[1], "events")) {
		soup_websocket_connection_set_max_incoming_payload_size(ws, 4096);
		g_ptr_array_add(api_event_clients, g_object_ref(ws));
		g_signal_connect(ws, "closed", G_CALLBACK(api_event_closed), NULL);
	} else if (g_strv_length(segs) == 4 && (d = vdom_lookup(api_vd, segs[2]))) {
		const char *mode = query ? g_hash_table_lookup(query, "mode") : NULL;
		const char *force = query ? g_hash_table_lookup(query, "force") : NULL;
		cons_add_client(d, ws, !mode || !strcmp(mode, "write"),
			force && (!strcmp(force, "1") || !strcmp(force, "true") || !strcmp(force, "yes")));
	} else {
		soup_websocket_connection_close(ws, 4404, "gone");
	}
	g_strfreev(segs);
	if (query)
		g_hash_table_destroy(query);
}

void api_event(struct vd *vd, const char *name, const char *event, const char *detail)
{
	json_object *o;
	const char *text;

	(void)vd;
	if (!api_event_clients || !api_event_clients->len)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "domain", json_object_new_string(name));
	json_object_object_add(o, "event", json_object_new_string(event));
	json_object_object_add(o, "detail", json_object_new_string(detail));
	json_object_object_add(o, "timestamp_us", json_object_new_int64(g_get_real_time()));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	for (guint i = 0; i < api_event_clients->len; i++) {
		SoupWebsocketConnection *ws = api_event_clients->pdata[i];
		if (soup_websocket_connection_get_state(ws) == SOUP_WEBSOCKET_STATE_OPEN)
			soup_websocket_connection_send_text(ws, text);
	}
	json_object_put(o);
}

static int api_listen(SoupServer *server, const char *path, mode_t mode, bool group_vireo)
{
	GError *gerr = NULL;
	GSocket *sock;
	GSocketAddress *addr;
	struct group *gr;

	unlink(path);
	sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &gerr);
	if (!sock)
		goto fail;
	addr = g_unix_socket_address_new(path);
	if (!g_socket_bind(sock, addr, TRUE, &gerr)) {
		g_object_unref(addr);
		goto fail;
	}
	g_object_unref(addr);
	if (chmod(path, mode) < 0)
		log_warn("chmod %s: %s", path, strerror(errno));
	/* Group vireo may use the read-write socket; without that group, root only. */
	if (group_vireo && (gr = getgrnam("vireo")) && chown(path, 0, gr->gr_gid) < 0)
		log_warn("chown %s to group vireo: %s", path, strerror(errno));
	if (!g_socket_listen(sock, &gerr) || !soup_server_listen_socket(server, sock, 0, &gerr))
		goto fail;
	g_object_unref(sock);
	return 0;
fail:
	err_set(ERR_IO, "cannot listen on %s: %s", path, gerr ? gerr->message : "unknown");
	if (gerr)
		g_error_free(gerr);
	if (sock)
		g_object_unref(sock);
	return -1;
}

int api_start(struct vd *vd)
{
	api_vd = vd;
	api_event_clients = g_ptr_array_new();
	vd->event_cb = api_event;
	for (int ro = 0; ro < 2; ro++) {
		SoupServer *s = soup_server_new("server-header", "vireod/" VD_VERSION, NULL);
		api_servers[ro] = s;
		soup_server_add_handler(s, "/", api_handler, GINT_TO_POINTER(ro), NULL);
		soup_server_add_websocket_handler(s, "/", NULL, NULL, api_websocket, GINT_TO_POINTER(ro), NULL);
		g_signal_connect(s, "request-started", G_CALLBACK(api_request_started), GINT_TO_POINTER(ro));
		if (api_listen(s, ro ? vd->paths.sock_ro : vd->paths.sock_rw, ro ? 0666 : 0660, !ro) < 0)
			return -1;
	}
	return 0;
}

void api_stop(void)
{
	if (api_event_clients) {
		while (api_event_clients->len) {
			SoupWebsocketConnection *ws = api_event_clients->pdata[0];
			g_ptr_array_remove_index(api_event_clients, 0);
			g_signal_handlers_disconnect_by_func(ws, api_event_closed, NULL);
			g_object_unref(ws);
		}
		g_ptr_array_free(api_event_clients, TRUE);
		api_event_clients = NULL;
	}
	for (int i = 0; i < 2; i++) {
		if (api_servers[i]) {
			soup_server_disconnect(api_servers[i]);
			g_object_unref(api_servers[i]);
			api_servers[i] = NULL;
		}
	}
}
