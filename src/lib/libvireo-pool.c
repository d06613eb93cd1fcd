/* libvireo's storage pool and volume calls: one REST request each under
 * /v1/pools (docs/api.yaml); handles keep the figures of the answer that made
 * them, so listing with details costs one request. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "common/util.h"
#include "lib/libvireo-internal.h"

struct vireo_pool {
	vireo_conn *conn;
	char *name, *path;
	char uuid[37];
	int active, autostart;
	uint64_t capacity, allocation, available;
};

struct vireo_vol {
	vireo_conn *conn;
	char *pool, *name, *path;
	vireo_vol_info info;
};

static void no_memory(void)
{
	vireo_set_error(VIREO_ERR_NO_MEMORY, 0, "no-memory", "out of memory");
}

static vireo_pool *pool_from_json(vireo_conn *c, json_object *o)
{
	const char *name = vireo_jstr(o, "name"), *uuid = vireo_jstr(o, "uuid"), *path = vireo_jstr(o, "path");
	vireo_pool *p;

	if (!name || !uuid || !path) {
		vireo_set_error(VIREO_ERR_PROTOCOL, 200, "protocol", "pool answer without name, uuid or path");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(name)) || !(p->path = strdup(path))) {
		if (p)
			free(p->name);
		free(p);
		no_memory();
		return NULL;
	}
	p->conn = c;
	snprintf(p->uuid, sizeof(p->uuid), "%s", uuid);
	p->active = json_object_get_boolean(json_object_object_get(o, "active"));
	p->autostart = json_object_get_boolean(json_object_object_get(o, "autostart"));
	p->capacity = (uint64_t)vireo_jint(o, "capacity", 0);
	p->allocation = (uint64_t)vireo_jint(o, "allocation", 0);
	p->available = (uint64_t)vireo_jint(o, "available", 0);
	return p;
}

/* Update a handle from a fresh answer about the same pool (o is consumed). */
static int pool_update(vireo_pool *p, json_object *o)
{
	vireo_pool *n;

	if (!o)
		return -1;
	n = pool_from_json(p->conn, o);
	json_object_put(o);
	if (!n)
		return -1;
	p->active = n->active;
	p->autostart = n->autostart;
	p->capacity = n->capacity;
	p->allocation = n->allocation;
	p->available = n->available;
	vireo_pool_free(n);
	return 0;
}

/* "/v1/pools/NAME" + suffix, the name percent-encoded. */
static char *pool_url(const char *name, const char *suffix)
{
	autofree char *enc = vireo_seg_encode(name);
	char *s;

	if (!enc || asprintf(&s, "/v1/pools/%s%s", enc, suffix) < 0) {
		no_memory();
		return NULL;
	}
	return s;
}

static char *vol_url(const vireo_vol *v, const char *suffix)
{
	autofree char *p = vireo_seg_encode(v->pool), *n = vireo_seg_encode(v->name);
	char *s;

	if (!p || !n || asprintf(&s, "/v1/pools/%s/volumes/%s%s", p, n, suffix) < 0) {
		no_memory();
		return NULL;
	}
	return s;
}

void vireo_pool_free(vireo_pool *pool)
{
	if (!pool)
		return;
	free(pool->name);
	free(pool->path);
	free(pool);
}

static void *pool_make(vireo_conn *conn, json_object *o, void *opaque)
{
	(void)opaque;
	return pool_from_json(conn, o);
}

static void pool_free_any(void *p)
{
	vireo_pool_free(p);
}

int vireo_conn_list_pools(vireo_conn *conn, vireo_pool ***pools, unsigned int flags)
{
	bool active = flags & VIREO_LIST_ACTIVE, inactive = flags & VIREO_LIST_INACTIVE;
	const char *path = active && !inactive ? "/v1/pools?state=active" :
			   inactive && !active ? "/v1/pools?state=inactive" : "/v1/pools";

	return vireo_list_handles(conn, path, "pool list", pool_make, pool_free_any, NULL, (void ***)pools);
}

vireo_pool *vireo_pool_lookup_by_name(vireo_conn *conn, const char *name)
{
	autofree char *url = name ? pool_url(name, "") : NULL;
	json_object *o;
	vireo_pool *p;

	if (!url)
		return NULL;
	o = vireo_call_json(conn, "GET", url, NULL, NULL, 0);
	if (!o)
		return NULL;
	p = pool_from_json(conn, o);
	json_object_put(o);
	return p;
}

vireo_pool *vireo_pool_define_xml(vireo_conn *conn, const char *xml, unsigned int flags)
{
	json_object *o;
	vireo_pool *p;

	(void)flags;
	if (!xml) {
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "no XML document");
		return NULL;
	}
	o = vireo_call_json(conn, "POST", "/v1/pools", "application/xml", xml, strlen(xml));
	if (!o)
		return NULL;
	p = pool_from_json(conn, o);
	json_object_put(o);
	return p;
}

int vireo_pool_undefine(vireo_pool *pool, unsigned int flags)
{
	autofree char *url = pool ? pool_url(pool->name, "") : NULL;
	struct http_answer ans;

	(void)flags;
	if (!url || vireo_call(pool->conn, "DELETE", url, NULL, NULL, 0, &ans) < 0)
		return -1;
	free(ans.body);
	return 0;
}

static int pool_action(vireo_pool *pool, const char *action)
{
	char suffix[32];
	autofree char *url = NULL;

	snprintf(suffix, sizeof(suffix), "/actions/%s", action);
	url = pool ? pool_url(pool->name, suffix) : NULL;
	if (!url)
		return -1;
	return pool_update(pool, vireo_call_json(pool->conn, "POST", url, NULL, NULL, 0));
}

int vireo_pool_build(vireo_pool *pool, unsigned int flags)
{
	(void)flags;
	return pool_action(pool, "build");
}

int vireo_pool_create(vireo_pool *pool, unsigned int flags)
{
	(void)flags;
	return pool_action(pool, "start");
}

int vireo_pool_refresh(vireo_pool *pool, unsigned int flags)
{
	(void)flags;
	return pool_action(pool, "refresh");
}

int vireo_pool_destroy(vireo_pool *pool, unsigned int flags)
{
	(void)flags;
	return pool_action(pool, "destroy");
}

int vireo_pool_set_autostart(vireo_pool *pool, int autostart, unsigned int flags)
{
	autofree char *url = pool ? pool_url(pool->name, "/autostart") : NULL;
	const char *body = autostart ? "{\"autostart\":true}" : "{\"autostart\":false}";

	(void)flags;
	if (!url)
		return -1;
	return pool_update(pool, vireo_call_json(pool->conn, "PUT", url, "application/json", body,
						 strlen(body)));
}

int vireo_pool_get_autostart(const vireo_pool *pool, int *autostart)
{
	if (!pool)
		return -1;
	*autostart = pool->autostart;
	return 0;
}

int vireo_pool_is_active(const vireo_pool *pool)
{
	return pool ? pool->active : -1;
}

int vireo_pool_get_info(vireo_pool *pool, vireo_pool_info *info, unsigned int flags)
{
	if (!pool)
		return -1;
	if (!(flags & VIREO_STATE_CACHED)) {
		autofree char *url = pool_url(pool->name, "");
		if (!url || pool_update(pool, vireo_call_json(pool->conn, "GET", url, NULL, NULL, 0)) < 0)
			return -1;
	}
	info->state = pool->active ? VIREO_POOL_RUNNING : VIREO_POOL_INACTIVE;
	info->capacity = pool->capacity;
	info->allocation = pool->allocation;
	info->available = pool->available;
	return 0;
}

/* The body of a GET (XML documents), or NULL with the error set. */
static char *get_text(vireo_conn *conn, const char *url)
{
	struct http_answer ans;

	if (!url || vireo_call(conn, "GET", url, NULL, NULL, 0, &ans) < 0)
		return NULL;
	return ans.body;
}

char *vireo_pool_get_xml_desc(vireo_pool *pool, unsigned int flags)
{
	autofree char *url = pool ? pool_url(pool->name, (flags & VIREO_XML_INACTIVE) ? "/xml?inactive=1" : "/xml") : NULL;

	return get_text(pool ? pool->conn : NULL, url);
}

const char *vireo_pool_get_name(const vireo_pool *pool)
{
	return pool ? pool->name : NULL;
}

const char *vireo_pool_get_uuid_string(const vireo_pool *pool)
{
	return pool ? pool->uuid : NULL;
}

const char *vireo_pool_get_target_path(const vireo_pool *pool)
{
	return pool ? pool->path : NULL;
}

/* ---- volumes ---- */

static int vol_fill(vireo_vol *v, json_object *o)
{
	const char *name = vireo_jstr(o, "name"), *path = vireo_jstr(o, "path");

	if (!name || !path) {
		vireo_set_error(VIREO_ERR_PROTOCOL, 200, "protocol", "volume answer without name or path");
		return -1;
	}
	free(v->name);
	free(v->path);
	v->name = strdup(name);
	v->path = strdup(path);
	if (!v->name || !v->path) {
		no_memory();
		return -1;
	}
	memset(&v->info, 0, sizeof(v->info));
	v->info.capacity = (uint64_t)vireo_jint(o, "capacity", 0);
	v->info.allocation = (uint64_t)vireo_jint(o, "allocation", 0);
	v->info.physical = (uint64_t)vireo_jint(o, "physical", 0);
	snprintf(v->info.format, sizeof(v->info.format), "%s", vireo_jstr(o, "format") ? vireo_jstr(o, "format") : "raw");
	if (vireo_jstr(o, "backing_path")) {
		snprintf(v->info.backing_path, sizeof(v->info.backing_path), "%s", vireo_jstr(o, "backing_path"));
		snprintf(v->info.backing_format, sizeof(v->info.backing_format), "%s",
			 vireo_jstr(o, "backing_format") ? vireo_jstr(o, "backing_format") : "raw");
	}
	return 0;
}

static vireo_vol *vol_from_json(vireo_conn *c, const char *pool, json_object *o)
{
	vireo_vol *v = calloc(1, sizeof(*v));

	if (!v || !(v->pool = strdup(pool))) {
		free(v);
		no_memory();
		return NULL;
	}
	v->conn = c;
	if (vol_fill(v, o) < 0) {
		vireo_vol_free(v);
		return NULL;
	}
	return v;
}

void vireo_vol_free(vireo_vol *vol)
{
	if (!vol)
		return;
	free(vol->pool);
	free(vol->name);
	free(vol->path);
	free(vol);
}

static void *vol_make(vireo_conn *conn, json_object *o, void *pool_name)
{
	return vol_from_json(conn, pool_name, o);
}

static void vol_free_any(void *v)
{
	vireo_vol_free(v);
}

int vireo_pool_list_volumes(vireo_pool *pool, vireo_vol ***vols, unsigned int flags)
{
	autofree char *url = pool ? pool_url(pool->name, "/volumes") : NULL;

	(void)flags;
	if (!url)
		return -1;
	return vireo_list_handles(pool->conn, url, "volume list", vol_make, vol_free_any, pool->name,
				  (void ***)vols);
}

vireo_vol *vireo_vol_lookup_by_name(vireo_pool *pool, const char *name)
{
	vireo_vol probe = { .conn = pool ? pool->conn : NULL, .pool = pool ? pool->name : NULL,
			    .name = (char *)name };
	autofree char *url = pool && name ? vol_url(&probe, "") : NULL;
	json_object *o;
	vireo_vol *v;

	if (!url)
		return NULL;
	o = vireo_call_json(pool->conn, "GET", url, NULL, NULL, 0);
	if (!o)
		return NULL;
	v = vol_from_json(pool->conn, pool->name, o);
	json_object_put(o);
	return v;
}

vireo_vol *vireo_vol_create_xml(vireo_pool *pool, const char *xml, unsigned int flags)
{
	autofree char *url = NULL;
	json_object *o;
	vireo_vol *v;

	if (!pool || !xml) {
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "no pool or no XML document");
		return NULL;
	}
	url = pool_url(pool->name, (flags & VIREO_VOL_CREATE_PREALLOC_METADATA) ?
		       "/volumes?prealloc_metadata=1" : "/volumes");
	if (!url || !(o = vireo_call_json(pool->conn, "POST", url, "application/xml", xml, strlen(xml))))
		return NULL;
	v = vol_from_json(pool->conn, pool->name, o);
	json_object_put(o);
	return v;
}

vireo_vol *vireo_vol_clone(vireo_vol *vol, const char *new_name, unsigned int flags)
{
	autofree char *url = vol ? vol_url(vol, "/clone") : NULL;
	json_object *body, *o;
	const char *text;
	vireo_vol *v;

	(void)flags;
	if (!url || !new_name)
		return NULL;
	body = json_object_new_object();
	json_object_object_add(body, "name", json_object_new_string(new_name));
	text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	o = vireo_call_json(vol->conn, "POST", url, "application/json", text, strlen(text));
	json_object_put(body);
	if (!o)
		return NULL;
	v = vol_from_json(vol->conn, vol->pool, o);
	json_object_put(o);
	return v;
}

int vireo_vol_delete(vireo_vol *vol, unsigned int flags)
{
	autofree char *url = vol ? vol_url(vol, "") : NULL;
	struct http_answer ans;

	(void)flags;
	if (!url || vireo_call(vol->conn, "DELETE", url, NULL, NULL, 0, &ans) < 0)
		return -1;
	free(ans.body);
	return 0;
}

int vireo_vol_resize(vireo_vol *vol, uint64_t capacity, unsigned int flags)
{
	autofree char *url = vol ? vol_url(vol, "/resize") : NULL;
	char body[128];
	json_object *o;
	int rc;

	if (!url)
		return -1;
	snprintf(body, sizeof(body), "{\"capacity\":%llu,\"delta\":%s,\"shrink\":%s}",
		 (unsigned long long)capacity, (flags & VIREO_VOL_RESIZE_DELTA) ? "true" : "false",
		 (flags & VIREO_VOL_RESIZE_SHRINK) ? "true" : "false");
	o = vireo_call_json(vol->conn, "POST", url, "application/json", body, strlen(body));
	if (!o)
		return -1;
	rc = vol_fill(vol, o);
	json_object_put(o);
	return rc;
}

int vireo_vol_get_info(vireo_vol *vol, vireo_vol_info *info, unsigned int flags)
{
	if (!vol)
		return -1;
	if (!(flags & VIREO_STATE_CACHED)) {
		autofree char *url = vol_url(vol, "");
		json_object *o = url ? vireo_call_json(vol->conn, "GET", url, NULL, NULL, 0) : NULL;
		int rc = o ? vol_fill(vol, o) : -1;
		json_object_put(o);
		if (rc < 0)
			return -1;
	}
	*info = vol->info;
	return 0;
}

char *vireo_vol_get_xml_desc(vireo_vol *vol, unsigned int flags)
{
	autofree char *url = vol ? vol_url(vol, "/xml") : NULL;

	(void)flags;
	return get_text(vol ? vol->conn : NULL, url);
}

const char *vireo_vol_get_name(const vireo_vol *vol)
{
	return vol ? vol->name : NULL;
}

const char *vireo_vol_get_path(const vireo_vol *vol)
{
	return vol ? vol->path : NULL;
}

const char *vireo_vol_get_pool_name(const vireo_vol *vol)
{
	return vol ? vol->pool : NULL;
}

static char *data_url(vireo_vol *vol, uint64_t offset, uint64_t length)
{
	char suffix[96];

	snprintf(suffix, sizeof(suffix), "/data?offset=%llu&length=%llu", (unsigned long long)offset,
		 (unsigned long long)length);
	return vol_url(vol, suffix);
}

int vireo_vol_upload(vireo_vol *vol, int fd, uint64_t offset, uint64_t length,
		     vireo_progress_fn progress, void *opaque, unsigned int flags)
{
	autofree char *url = NULL;
	struct http_answer ans;
	json_object *o;
	int rc;

	(void)flags;
	vireo_reset_last_error();
	if (!vol || fd < 0) {
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "no volume or no file");
		return -1;
	}
	url = data_url(vol, offset, length);
	if (!url || vireo_http_upload(vol->conn, url, fd, length, progress, opaque, &ans) < 0)
		return -1;
	o = json_tokener_parse(ans.body);
	free(ans.body);
	rc = o ? vol_fill(vol, o) : 0;
	json_object_put(o);
	return rc;
}

int vireo_vol_download(vireo_vol *vol, int fd, uint64_t offset, uint64_t length,
		       vireo_progress_fn progress, void *opaque, unsigned int flags)
{
	autofree char *url = NULL;

	(void)flags;
	vireo_reset_last_error();
	if (!vol || fd < 0) {
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "no volume or no file");
		return -1;
	}
	url = data_url(vol, offset, length);
	if (!url)
		return -1;
	return vireo_http_download(vol->conn, url, fd, progress, opaque);
}
