/* libvireo's entry points: URI → socket, one REST request per call (see
 * docs/api.yaml), JSON answers read with json-c. Internal failures are recorded
 * with err_set and turned into the public vireo_error at the entry point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "common/error.h"
#include "common/util.h"
#include "lib/http.h"
#include "lib/ws.h"
#include "lib/libvireo-internal.h"
#include "vireo/vireo.h"

#define VIREO_SYSTEM_SOCKET "/run/vireo/vireo.sock"
#define VIREO_SYSTEM_SOCKET_RO "/run/vireo/vireo-ro.sock"


struct vireo_domain {
	vireo_conn *conn;
	char *name;
	char uuid[37];
	int id;
	int persistent;
	int autostart;
	int state;               /* as of the last answer about this domain */
	char reason[32];
};

static _Thread_local vireo_error last_error;

const vireo_error *vireo_get_last_error(void)
{
	return &last_error;
}

void vireo_reset_last_error(void)
{
	memset(&last_error, 0, sizeof(last_error));
}

void vireo_set_error(vireo_error_code code, int http, const char *name, const char *msg)
{
	last_error.code = code;
	last_error.http_status = http;
	snprintf(last_error.code_name, sizeof(last_error.code_name), "%s", name);
	snprintf(last_error.message, sizeof(last_error.message), "%s", msg);
}

/* The transport's err_set record, as the public error. */
void vireo_set_error_from_err(void)
{
	enum err_code c = err_code();
	vireo_error_code v = VIREO_ERR_INTERNAL;

	if (c == ERR_IO)
		v = VIREO_ERR_NO_CONNECT;
	else if (c == ERR_INVALID)
		v = VIREO_ERR_INVALID_ARG;
	else if (c == ERR_NOMEM)
		v = VIREO_ERR_NO_MEMORY;
	else if (c == ERR_CORRUPT || c == ERR_UNSUPPORTED)
		v = VIREO_ERR_PROTOCOL;
	vireo_set_error(v, 0, err_code_name(c), err_message());
}

static vireo_error_code code_from_name(const char *name, int status)
{
	static const struct { const char *name; vireo_error_code code; } map[] = {
		{ "not-found", VIREO_ERR_NO_DOMAIN }, { "read-only", VIREO_ERR_READ_ONLY },
		{ "exists", VIREO_ERR_EXISTS }, { "busy", VIREO_ERR_OPERATION_INVALID },
		{ "invalid-argument", VIREO_ERR_INVALID_ARG }, { "corrupt", VIREO_ERR_INVALID_ARG },
		{ "unsupported", VIREO_ERR_UNSUPPORTED }, { "no-memory", VIREO_ERR_NO_MEMORY },
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (name && !strcmp(name, map[i].name))
			return map[i].code;
	return status == 403 ? VIREO_ERR_READ_ONLY : VIREO_ERR_INTERNAL;
}

/* Percent-encode one path segment (names are restricted, but lookups take any text). */
char *vireo_seg_encode(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			snprintf(o, 4, "%%%02X", c);
			o += 3;
		}
	}
	*o = 0;
	return out;
}

void vireo_set_error_from_answer(int status, const char *body)
{
	json_object *o = body ? json_tokener_parse(body) : NULL, *e, *code, *msg;

	if (o && json_object_object_get_ex(o, "error", &e) &&
	    json_object_object_get_ex(e, "code", &code) &&
	    json_object_object_get_ex(e, "message", &msg)) {
		vireo_set_error(code_from_name(json_object_get_string(code), status), status,
			json_object_get_string(code), json_object_get_string(msg));
	} else {
		char m[128];
		snprintf(m, sizeof(m), "daemon answered HTTP %d without an error object", status);
		vireo_set_error(code_from_name(NULL, status), status, "protocol", m);
	}
	json_object_put(o);
}

/* One call: -1 with the public error set on a transport failure or a status
 * of 400 and above; otherwise the answer (caller frees body). */
int vireo_call(vireo_conn *c, const char *method, const char *path, const char *ctype,
		const char *body, size_t body_len, struct http_answer *ans)
{
	vireo_reset_last_error();
	if (!c) {
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "no connection");
		return -1;
	}
	if (http_request(c->socket, method, path, ctype, body, body_len, ans) < 0) {
		vireo_set_error_from_err();
		return -1;
	}
	if (ans->status >= 400) {
		vireo_set_error_from_answer(ans->status, ans->body);
		free(ans->body);
		ans->body = NULL;
		return -1;
	}
	return 0;
}

json_object *vireo_call_json(vireo_conn *c, const char *method, const char *path,
			      const char *ctype, const char *body, size_t body_len)
{
	struct http_answer ans;
	json_object *o;

	if (vireo_call(c, method, path, ctype, body, body_len, &ans) < 0)
		return NULL;
	o = json_tokener_parse(ans.body);
	free(ans.body);
	if (!o)
		vireo_set_error(VIREO_ERR_PROTOCOL, ans.status, "protocol", "daemon answer is not JSON");
	return o;
}

const char *vireo_jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

int64_t vireo_jint(json_object *o, const char *key, int64_t dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : dflt;
}

/* ---- connections ---- */

static char *socket_from_env(unsigned int flags)
{
	const char *root = getenv("VIREO_ROOT");
	const char *file = (flags & VIREO_CONNECT_RO) ? "vireo-ro.sock" : "vireo.sock";
	char *s;

	if (root && root[0]) {
		if (asprintf(&s, "%s/run/vireo/%s", root, file) < 0)
			return NULL;
		return s;
	}
	return strdup((flags & VIREO_CONNECT_RO) ? VIREO_SYSTEM_SOCKET_RO : VIREO_SYSTEM_SOCKET);
}

vireo_conn *vireo_connect(const char *uri, unsigned int flags)
{
	vireo_conn *c;
	const char *q;
	char *sock = NULL;

	vireo_reset_last_error();
	if (!uri || !uri[0])
		uri = getenv("VIREO_DEFAULT_URI");
	if (uri && uri[0]) {
		if (strncmp(uri, "vireo:///system", 15) || (uri[15] && uri[15] != '?')) {
			char m[300];
			snprintf(m, sizeof(m), "unsupported URI '%.200s' (expected vireo:///system[?socket=PATH])", uri);
			vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", m);
			return NULL;
		}
		q = uri[15] == '?' ? uri + 16 : NULL;
		while (q && *q) {
			const char *amp = strchr(q, '&');
			size_t n = amp ? (size_t)(amp - q) : strlen(q);
			if (n > 7 && !strncmp(q, "socket=", 7)) {
				free(sock);
				sock = strndup(q + 7, n - 7);
			} else {
				char m[300];
				snprintf(m, sizeof(m), "unknown URI parameter '%.*s'", (int)MIN(n, 200), q);
				vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", m);
				free(sock);
				return NULL;
			}
			q = amp ? amp + 1 : NULL;
		}
	}
	if (!sock)
		sock = socket_from_env(flags);
	c = calloc(1, sizeof(*c));
	if (!c || !sock) {
		free(c);
		free(sock);
		vireo_set_error(VIREO_ERR_NO_MEMORY, 0, "no-memory", "out of memory");
		return NULL;
	}
	c->socket = sock;
	c->flags = flags;
	return c;
}

int vireo_conn_close(vireo_conn *conn)
{
	if (!conn)
		return -1;
	free(conn->socket);
	free(conn);
	return 0;
}

const char *vireo_conn_get_socket(const vireo_conn *conn)
{
	return conn ? conn->socket : NULL;
}

int vireo_conn_is_read_only(const vireo_conn *conn)
{
	return conn && (conn->flags & VIREO_CONNECT_RO) ? 1 : 0;
}

unsigned long vireo_get_lib_version(void)
{
	return VIREO_VERSION_MAJOR * 1000000ul + VIREO_VERSION_MINOR * 1000ul + VIREO_VERSION_MICRO;
}

char *vireo_conn_get_version(vireo_conn *conn, unsigned int flags)
{
	json_object *o;
	char *v = NULL;

	(void)flags;
	o = vireo_call_json(conn, "GET", "/v1/version", NULL, NULL, 0);
	if (o && vireo_jstr(o, "version"))
		v = strdup(vireo_jstr(o, "version"));
	else if (o)
		vireo_set_error(VIREO_ERR_PROTOCOL, 200, "protocol", "version answer without version");
	json_object_put(o);
	return v;
}

char *vireo_node_get_info_json(vireo_conn *conn, unsigned int flags)
{
	struct http_answer ans;

	(void)flags;
	if (vireo_call(conn, "GET", "/v1/host", NULL, NULL, 0, &ans) < 0)
		return NULL;
	return ans.body;
}

int vireo_node_get_info(vireo_conn *conn, vireo_node_info *info, unsigned int flags)
{
	json_object *o;

	(void)flags;
	o = vireo_call_json(conn, "GET", "/v1/host", NULL, NULL, 0);
	if (!o)
		return -1;
	memset(info, 0, sizeof(*info));
	snprintf(info->model, sizeof(info->model), "%s", vireo_jstr(o, "cpu_model") ? vireo_jstr(o, "cpu_model") : "");
	info->memory_kib = (uint64_t)vireo_jint(o, "memory_kib", 0);
	info->cpus = (unsigned int)vireo_jint(o, "cpus", 0);
	info->mhz = (unsigned int)vireo_jint(o, "mhz", 0);
	info->nodes = (unsigned int)vireo_jint(o, "numa_cells", 1);
	info->sockets = (unsigned int)vireo_jint(o, "sockets", 1);
	info->cores = (unsigned int)vireo_jint(o, "cores_per_socket", 1);
	info->threads = (unsigned int)vireo_jint(o, "threads_per_core", 1);
	json_object_put(o);
	return 0;
}

/* ---- domains ---- */

static vireo_domain *dom_from_json(vireo_conn *c, json_object *o)
{
	vireo_domain *d;
	const char *name = vireo_jstr(o, "name"), *uuid = vireo_jstr(o, "uuid");

	if (!name || !uuid) {
		vireo_set_error(VIREO_ERR_PROTOCOL, 200, "protocol", "domain answer without name or uuid");
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->name = strdup(name))) {
		free(d);
		vireo_set_error(VIREO_ERR_NO_MEMORY, 0, "no-memory", "out of memory");
		return NULL;
	}
	d->conn = c;
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
	d->id = (int)vireo_jint(o, "id", -1);
	d->persistent = json_object_get_boolean(json_object_object_get(o, "persistent"));
	d->autostart = json_object_get_boolean(json_object_object_get(o, "autostart"));
	d->state = (int)vireo_jint(o, "state_code", VIREO_DOMAIN_NOSTATE);
	snprintf(d->reason, sizeof(d->reason), "%s", vireo_jstr(o, "reason") ? vireo_jstr(o, "reason") : "unknown");
	return d;
}

void vireo_domain_free(vireo_domain *dom)
{
	if (!dom)
		return;
	free(dom->name);
	free(dom);
}

static char *dom_path(const char *key, const char *suffix)
{
	autofree char *enc = vireo_seg_encode(key);
	char *p;

	if (!enc || asprintf(&p, "/v1/domains/%s%s", enc, suffix ? suffix : "") < 0)
		return NULL;
	return p;
}

static vireo_domain *lookup(vireo_conn *conn, const char *key)
{
	autofree char *path = NULL;
	json_object *o;
	vireo_domain *d;

	if (!key || !key[0]) {
		vireo_reset_last_error();
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "empty domain name");
		return NULL;
	}
	path = dom_path(key, NULL);
	o = vireo_call_json(conn, "GET", path, NULL, NULL, 0);
	if (!o)
		return NULL;
	d = dom_from_json(conn, o);
	json_object_put(o);
	return d;
}

vireo_domain *vireo_domain_lookup_by_name(vireo_conn *conn, const char *name)
{
	return lookup(conn, name);
}

vireo_domain *vireo_domain_lookup_by_uuid_string(vireo_conn *conn, const char *uuid)
{
	return lookup(conn, uuid);
}

int vireo_conn_list_domains(vireo_conn *conn, vireo_domain ***domains, unsigned int flags)
{
	const char *path = "/v1/domains";
	json_object *o;
	size_t n;
	vireo_domain **out;

	if ((flags & VIREO_LIST_ACTIVE) && !(flags & VIREO_LIST_INACTIVE))
		path = "/v1/domains?state=active";
	else if ((flags & VIREO_LIST_INACTIVE) && !(flags & VIREO_LIST_ACTIVE))
		path = "/v1/domains?state=inactive";
	o = vireo_call_json(conn, "GET", path, NULL, NULL, 0);
	if (!o)
		return -1;
	if (!json_object_is_type(o, json_type_array)) {
		json_object_put(o);
		vireo_set_error(VIREO_ERR_PROTOCOL, 200, "protocol", "domain list is not an array");
		return -1;
	}
	n = json_object_array_length(o);
	out = calloc(n + 1, sizeof(*out));
	if (!out) {
		json_object_put(o);
		vireo_set_error(VIREO_ERR_NO_MEMORY, 0, "no-memory", "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		out[i] = dom_from_json(conn, json_object_array_get_idx(o, i));
		if (!out[i]) {
			for (size_t k = 0; k < i; k++)
				vireo_domain_free(out[k]);
			free(out);
			json_object_put(o);
			return -1;
		}
	}
	json_object_put(o);
	*domains = out;
	return (int)n;
}

vireo_domain *vireo_domain_define_xml(vireo_conn *conn, const char *xml, unsigned int flags)
{
	json_object *o;
	vireo_domain *d;

	(void)flags;
	if (!xml) {
		vireo_reset_last_error();
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "no XML document");
		return NULL;
	}
	o = vireo_call_json(conn, "POST", "/v1/domains", "application/xml", xml, strlen(xml));
	if (!o)
		return NULL;
	d = dom_from_json(conn, o);
	json_object_put(o);
	return d;
}

/* Refresh the handle's id/persistence from an info answer. */
static void dom_update(vireo_domain *dom, json_object *o)
{
	dom->id = (int)vireo_jint(o, "id", -1);
	dom->persistent = json_object_get_boolean(json_object_object_get(o, "persistent"));
	dom->autostart = json_object_get_boolean(json_object_object_get(o, "autostart"));
	dom->state = (int)vireo_jint(o, "state_code", VIREO_DOMAIN_NOSTATE);
	snprintf(dom->reason, sizeof(dom->reason), "%s", vireo_jstr(o, "reason") ? vireo_jstr(o, "reason") : "unknown");
}

static int dom_action(vireo_domain *dom, const char *action)
{
	autofree char *path = NULL;
	json_object *o;

	if (!dom) {
		vireo_reset_last_error();
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "no domain");
		return -1;
	}
	path = dom_path(dom->name, NULL);
	if (path) {
		free(path);
		if (asprintf(&path, "/v1/domains/%s/actions/%s", dom->uuid, action) < 0)
			path = NULL;
	}
	o = vireo_call_json(dom->conn, "POST", path, NULL, NULL, 0);
	if (!o)
		return -1;
	dom_update(dom, o);
	json_object_put(o);
	return 0;
}

int vireo_domain_create(vireo_domain *dom, unsigned int flags)
{
	(void)flags;
	return dom_action(dom, "start");
}

int vireo_domain_shutdown(vireo_domain *dom, unsigned int flags)
{
	(void)flags;
	return dom_action(dom, "shutdown");
}

int vireo_domain_destroy(vireo_domain *dom, unsigned int flags)
{
	(void)flags;
	return dom_action(dom, "destroy");
}

int vireo_domain_reboot(vireo_domain *dom, unsigned int flags)
{
	(void)flags;
	return dom_action(dom, "reboot");
}

int vireo_domain_suspend(vireo_domain *dom, unsigned int flags)
{
	(void)flags;
	return dom_action(dom, "suspend");
}

int vireo_domain_resume(vireo_domain *dom, unsigned int flags)
{
	(void)flags;
	return dom_action(dom, "resume");
}

int vireo_domain_undefine(vireo_domain *dom, unsigned int flags)
{
	autofree char *path = NULL;
	struct http_answer ans;

	(void)flags;
	if (!dom)
		return -1;
	path = dom_path(dom->uuid, NULL);
	if (vireo_call(dom->conn, "DELETE", path, NULL, NULL, 0, &ans) < 0)
		return -1;
	free(ans.body);
	dom->persistent = 0;
	return 0;
}

int vireo_domain_set_autostart(vireo_domain *dom, int autostart, unsigned int flags)
{
	autofree char *path = NULL;
	const char *body = autostart ? "{\"autostart\":true}" : "{\"autostart\":false}";
	json_object *o;

	(void)flags;
	if (!dom)
		return -1;
	path = dom_path(dom->uuid, "/autostart");
	o = vireo_call_json(dom->conn, "PUT", path, "application/json", body, strlen(body));
	if (!o)
		return -1;
	dom_update(dom, o);
	json_object_put(o);
	return 0;
}

static json_object *dom_info_json(vireo_domain *dom)
{
	autofree char *path = NULL;
	json_object *o;

	if (!dom) {
		vireo_reset_last_error();
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "no domain");
		return NULL;
	}
	path = dom_path(dom->uuid, NULL);
	o = vireo_call_json(dom->conn, "GET", path, NULL, NULL, 0);
	if (o)
		dom_update(dom, o);
	return o;
}

int vireo_domain_get_autostart(vireo_domain *dom, int *autostart)
{
	json_object *o = dom_info_json(dom);

	if (!o)
		return -1;
	*autostart = dom->autostart;
	json_object_put(o);
	return 0;
}

int vireo_domain_get_info(vireo_domain *dom, vireo_domain_info *info, unsigned int flags)
{
	json_object *o = dom_info_json(dom);

	(void)flags;
	if (!o)
		return -1;
	memset(info, 0, sizeof(*info));
	info->state = (vireo_domain_state)vireo_jint(o, "state_code", 0);
	snprintf(info->reason, sizeof(info->reason), "%s", vireo_jstr(o, "reason") ? vireo_jstr(o, "reason") : "unknown");
	info->max_mem_kib = (uint64_t)vireo_jint(o, "max_memory_kib", 0);
	info->memory_kib = (uint64_t)vireo_jint(o, "memory_kib", 0);
	info->nr_vcpus = (unsigned int)vireo_jint(o, "vcpus", 0);
	info->cpu_time_ns = (uint64_t)vireo_jint(o, "cpu_time_ns", 0);
	json_object_put(o);
	return 0;
}

int vireo_domain_get_state(vireo_domain *dom, int *state, char reason[32], unsigned int flags)
{
	vireo_domain_info info;

	if (dom && (flags & VIREO_STATE_CACHED)) {
		*state = dom->state;
		if (reason)
			snprintf(reason, 32, "%s", dom->reason);
		return 0;
	}
	if (vireo_domain_get_info(dom, &info, flags) < 0)
		return -1;
	*state = (int)info.state;
	if (reason)
		snprintf(reason, 32, "%s", info.reason);
	return 0;
}

char *vireo_domain_get_xml_desc(vireo_domain *dom, unsigned int flags)
{
	autofree char *path = NULL;
	struct http_answer ans;

	if (!dom)
		return NULL;
	path = dom_path(dom->uuid, (flags & VIREO_XML_INACTIVE) ? "/xml?inactive=true" : "/xml");
	if (vireo_call(dom->conn, "GET", path, NULL, NULL, 0, &ans) < 0)
		return NULL;
	return ans.body;
}

char *vireo_domain_get_stats_json(vireo_domain *dom, unsigned int flags)
{
	autofree char *path = NULL;
	struct http_answer ans;

	(void)flags;
	if (!dom)
		return NULL;
	path = dom_path(dom->uuid, "/stats");
	if (vireo_call(dom->conn, "GET", path, NULL, NULL, 0, &ans) < 0)
		return NULL;
	return ans.body;
}

char *vireo_domain_qemu_agent_command(vireo_domain *dom, const char *cmd, int timeout, unsigned int flags)
{
	autofree char *path = NULL;
	struct http_answer ans;
	char suffix[40] = "/agent";

	vireo_reset_last_error();
	if (!dom || !cmd || flags || timeout < 0) {
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument",
				!dom ? "no domain" : !cmd ? "no agent command" : flags ? "unknown flags" :
				"timeout must be 0 (default) or a number of seconds");
		return NULL;
	}
	if (timeout > 0)
		snprintf(suffix, sizeof(suffix), "/agent?timeout=%d", timeout);
	path = dom_path(dom->uuid, suffix);
	if (!path)
		return NULL;
	if (vireo_call(dom->conn, "POST", path, "application/json", cmd, strlen(cmd), &ans) < 0)
		return NULL;
	return ans.body;
}

const char *vireo_domain_get_name(const vireo_domain *dom)
{
	return dom ? dom->name : NULL;
}

const char *vireo_domain_get_uuid_string(const vireo_domain *dom)
{
	return dom ? dom->uuid : NULL;
}

int vireo_domain_get_id(const vireo_domain *dom)
{
	return dom ? dom->id : -1;
}

int vireo_domain_is_persistent(const vireo_domain *dom)
{
	return dom ? dom->persistent : -1;
}

const char *vireo_domain_state_name(int state)
{
	switch (state) {
	case VIREO_DOMAIN_RUNNING: return "running";
	case VIREO_DOMAIN_PAUSED: return "paused";
	case VIREO_DOMAIN_SHUTOFF: return "shut off";
	case VIREO_DOMAIN_CRASHED: return "crashed";
	default: return "no state";
	}
}

/* ---- streams ---- */

struct vireo_stream {
	struct ws *ws;
	vireo_conn *conn;
};

static vireo_stream *stream_open(vireo_conn *conn, const char *path)
{
	vireo_stream *st;
	int status;
	char *body = NULL;
	struct ws *w;

	vireo_reset_last_error();
	w = ws_open(conn->socket, path, &status, &body);
	if (!w) {
		json_object *o = body ? json_tokener_parse(body) : NULL, *e, *code, *msg;
		if (o && json_object_object_get_ex(o, "error", &e) &&
		    json_object_object_get_ex(e, "code", &code) &&
		    json_object_object_get_ex(e, "message", &msg))
			vireo_set_error(code_from_name(json_object_get_string(code), status), status,
				json_object_get_string(code), json_object_get_string(msg));
		else
			vireo_set_error_from_err();
		json_object_put(o);
		free(body);
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		ws_close(w);
		vireo_set_error(VIREO_ERR_NO_MEMORY, 0, "no-memory", "out of memory");
		return NULL;
	}
	st->ws = w;
	st->conn = conn;
	return st;
}

vireo_stream *vireo_domain_open_console(vireo_domain *dom, unsigned int flags)
{
	char path[128];

	if (!dom) {
		vireo_reset_last_error();
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "no domain");
		return NULL;
	}
	snprintf(path, sizeof(path), "/v1/domains/%s/console?mode=%s%s", dom->uuid,
		(flags & VIREO_CONSOLE_READ_ONLY) ? "read" : "write",
		(flags & VIREO_CONSOLE_FORCE) ? "&force=1" : "");
	return stream_open(dom->conn, path);
}

vireo_stream *vireo_conn_open_events(vireo_conn *conn, unsigned int flags)
{
	(void)flags;
	if (!conn) {
		vireo_reset_last_error();
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "no connection");
		return NULL;
	}
	return stream_open(conn, "/v1/events");
}

int vireo_stream_get_fd(const vireo_stream *st)
{
	return st ? ws_fd(st->ws) : -1;
}

int vireo_stream_has_pending(const vireo_stream *st)
{
	return st && ws_pending(st->ws);
}

long vireo_stream_recv(vireo_stream *st, char **data, unsigned int flags)
{
	uint8_t *msg = NULL;
	bool binary = false;
	ssize_t n;

	(void)flags;
	vireo_reset_last_error();
	*data = NULL;
	n = ws_recv(st->ws, &msg, &binary);
	if (n < 0) {
		vireo_set_error_from_err();
		return -1;
	}
	if (n == 0 && !msg) {
		vireo_set_error(VIREO_ERR_OK, 0, "closed", ws_close_reason(st->ws));
		return 0;
	}
	*data = (char *)msg;
	return (long)n;
}

int vireo_stream_send(vireo_stream *st, const void *data, size_t len, unsigned int flags)
{
	(void)flags;
	vireo_reset_last_error();
	if (ws_send(st->ws, true, data, len) < 0) {
		vireo_set_error_from_err();
		return -1;
	}
	return 0;
}

void vireo_stream_free(vireo_stream *st)
{
	if (!st)
		return;
	ws_close(st->ws);
	free(st);
}

int vireo_conn_event_loop(vireo_conn *conn, vireo_event_callback cb, void *opaque, unsigned int flags)
{
	vireo_stream *st = vireo_conn_open_events(conn, flags);
	int rc = -1;

	if (!st)
		return -1;
	for (;;) {
		char *msg;
		long n = vireo_stream_recv(st, &msg, 0);
		json_object *o;
		if (n <= 0)
			break;
		o = json_tokener_parse(msg);
		free(msg);
		if (!o)
			continue;
		int stop = cb(conn, vireo_jstr(o, "domain"), vireo_jstr(o, "event"), vireo_jstr(o, "detail"), opaque);
		json_object_put(o);
		if (stop) {
			rc = 0;
			break;
		}
	}
	vireo_stream_free(st);
	return rc;
}
