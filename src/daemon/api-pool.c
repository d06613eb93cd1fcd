/* REST routes for storage pools and volumes (docs/api.yaml, /v1/pools...), and
 * the streamed volume data: an upload is written to the volume file chunk by
 * chunk as libsoup reads it, a download is read chunk by chunk as libsoup sends
 * it, so neither holds more than one chunk of a volume in memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"   /* before GLib: both define MIN/MAX */
#include "common/error.h"
#include "common/log.h"
#include "daemon/api-internal.h"
#include "daemon/pool.h"

#define APIPOOL_CHUNK (256u * 1024)

static struct vpool *api_pool(struct api_req *r)
{
	struct vpool *p = vpool_lookup(r->parts[2]);

	if (!p)
		api_reply_err(r);
	return p;
}

static const char *query(struct api_req *r, const char *key)
{
	return r->query ? g_hash_table_lookup(r->query, key) : NULL;
}

static json_object *body_json(struct api_req *r)
{
	json_object *o = r->body_len ? store_parse_json(r->body, r->body_len) : NULL;

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		api_reply_error(r, 400, "invalid-argument", "request body must be a JSON object");
		return NULL;
	}
	return o;
}

static void reply_xml(struct api_req *r, char *xml)
{
	if (!xml) {
		api_reply_err(r);
		return;
	}
	soup_server_message_set_status(r->msg, 200, NULL);
	soup_server_message_set_response(r->msg, "application/xml", SOUP_MEMORY_TAKE, xml, strlen(xml));
}

static void reply_json_or_err(struct api_req *r, unsigned int status, json_object *o)
{
	if (o)
		api_reply_json(r, status, o);
	else
		api_reply_err(r);
}

/* ---- pools ---- */

void apipool_list(struct api_req *r)
{
	const char *filter = query(r, "state");
	json_object *arr;
	GPtrArray *all;

	if (filter && strcmp(filter, "active") && strcmp(filter, "inactive") && strcmp(filter, "all")) {
		api_reply_error(r, 400, "invalid-argument", "state must be active, inactive or all");
		return;
	}
	all = vpool_list();
	arr = json_object_new_array();
	for (guint i = 0; i < all->len; i++) {
		struct vpool *p = all->pdata[i];
		if (filter && !strcmp(filter, "active") && !p->active)
			continue;
		if (filter && !strcmp(filter, "inactive") && p->active)
			continue;
		json_object_array_add(arr, vpool_info_json(p));
	}
	g_ptr_array_free(all, TRUE);
	api_reply_json(r, 200, arr);
}

void apipool_define(struct api_req *r)
{
	bool created = false;
	struct vpool *p;

	if (!r->body_len) {
		api_reply_error(r, 400, "invalid-argument", "request body must be a pool XML document");
		return;
	}
	p = vpool_define(r->body, r->body_len, &created);
	reply_json_or_err(r, created ? 201 : 200, p ? vpool_info_json(p) : NULL);
}

void apipool_get(struct api_req *r)
{
	struct vpool *p = api_pool(r);

	if (p)
		api_reply_json(r, 200, vpool_info_json(p));
}

void apipool_undefine(struct api_req *r)
{
	struct vpool *p = api_pool(r);

	if (!p)
		return;
	if (vpool_undefine(p) < 0)
		api_reply_err(r);
	else
		soup_server_message_set_status(r->msg, 204, NULL);
}

void apipool_xml(struct api_req *r)
{
	struct vpool *p = api_pool(r);

	if (p)
		reply_xml(r, vpool_format_xml(p, api_query_true(r, "inactive")));
}

void apipool_autostart(struct api_req *r)
{
	struct vpool *p = api_pool(r);
	bool on;

	if (!p || api_body_autostart(r, &on) < 0)
		return;
	if (vpool_set_autostart(p, on) < 0)
		api_reply_err(r);
	else
		api_reply_json(r, 200, vpool_info_json(p));
}

void apipool_action(struct api_req *r)
{
	static const struct {
		const char *name;
		int (*fn)(struct vpool *p);
	} actions[] = {
		{ "build", vpool_build }, { "start", vpool_start },
		{ "refresh", vpool_refresh }, { "destroy", vpool_destroy },
	};
	struct vpool *p = api_pool(r);

	if (!p)
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(actions); i++) {
		if (strcmp(actions[i].name, r->parts[4]))
			continue;
		if (actions[i].fn(p) < 0)
			api_reply_err(r);
		else
			api_reply_json(r, 200, vpool_info_json(p));
		return;
	}
	api_reply_error(r, 404, "not-found", "no such pool action (build, start, refresh, destroy)");
}

/* ---- volumes ---- */

void apipool_vol_list(struct api_req *r)
{
	struct vpool *p = api_pool(r);

	if (p)
		reply_json_or_err(r, 200, vvol_list_json(p));
}

void apipool_vol_create(struct api_req *r)
{
	struct vpool *p = api_pool(r);
	struct vol_def *def;

	if (!p)
		return;
	if (!r->body_len) {
		api_reply_error(r, 400, "invalid-argument", "request body must be a volume XML document");
		return;
	}
	def = vol_def_parse(r->body, r->body_len, POOL_PARSE_VALIDATE);
	if (!def) {
		api_reply_err(r);
		return;
	}
	reply_json_or_err(r, 201, vvol_create(p, def, api_query_true(r, "prealloc_metadata")));
	vol_def_free(def);
}

void apipool_vol_get(struct api_req *r)
{
	struct vpool *p = api_pool(r);

	if (p)
		reply_json_or_err(r, 200, vvol_info_json(p, r->parts[4]));
}

void apipool_vol_delete(struct api_req *r)
{
	struct vpool *p = api_pool(r);

	if (!p)
		return;
	if (vvol_delete(p, r->parts[4]) < 0)
		api_reply_err(r);
	else
		soup_server_message_set_status(r->msg, 204, NULL);
}

void apipool_vol_xml(struct api_req *r)
{
	struct vpool *p = api_pool(r);

	if (p)
		reply_xml(r, vvol_format_xml(p, r->parts[4]));
}

void apipool_vol_resize(struct api_req *r)
{
	struct vpool *p = api_pool(r);
	json_object *o, *v;
	unsigned int flags = 0;
	uint64_t size;

	if (!p || !(o = body_json(r)))
		return;
	if (!json_object_object_get_ex(o, "capacity", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0) {
		json_object_put(o);
		api_reply_error(r, 400, "invalid-argument", "body must be {\"capacity\": BYTES, \"delta\": bool, "
				"\"shrink\": bool}");
		return;
	}
	size = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "delta", &v) && json_object_get_boolean(v))
		flags |= VVOL_RESIZE_DELTA;
	if (json_object_object_get_ex(o, "shrink", &v) && json_object_get_boolean(v))
		flags |= VVOL_RESIZE_SHRINK;
	json_object_put(o);
	if (vvol_resize(p, r->parts[4], size, flags) < 0)
		api_reply_err(r);
	else
		reply_json_or_err(r, 200, vvol_info_json(p, r->parts[4]));
}

/* A request answered later, from the main loop: paused meanwhile. */
struct later {
	SoupServerMessage *msg;
	bool gone;        /* the client went away: nothing to answer */
};

static void later_disconnected(SoupServerMessage *msg, gpointer data)
{
	(void)msg;
	((struct later *)data)->gone = true;
}

static void clone_done(json_object *info, void *opaque)
{
	struct later *l = opaque;
	struct api_req r = { .msg = l->msg };

	if (l->gone) {
		json_object_put(info);
	} else {
		reply_json_or_err(&r, 201, info);
		soup_server_message_unpause(l->msg);
	}
	g_signal_handlers_disconnect_by_data(l->msg, l);
	g_object_unref(l->msg);
	g_free(l);
}

void apipool_vol_clone(struct api_req *r)
{
	struct vpool *p = api_pool(r);
	struct later *l;
	json_object *o, *v;

	if (!p || !(o = body_json(r)))
		return;
	if (!json_object_object_get_ex(o, "name", &v) || !json_object_is_type(v, json_type_string)) {
		json_object_put(o);
		api_reply_error(r, 400, "invalid-argument", "body must be {\"name\": NEW_VOLUME_NAME}");
		return;
	}
	l = g_new0(struct later, 1);
	l->msg = g_object_ref(r->msg);
	g_signal_connect(l->msg, "disconnected", G_CALLBACK(later_disconnected), l);
	if (vvol_clone_async(p, r->parts[4], json_object_get_string(v), clone_done, l) < 0) {
		api_reply_err(r);
		g_signal_handlers_disconnect_by_data(l->msg, l);
		g_object_unref(l->msg);
		g_free(l);
	} else {
		/* a status now keeps libsoup's "/" WebSocket handler from answering it as a
		 * failed handshake; clone_done sets the real one */
		soup_server_message_set_status(r->msg, SOUP_STATUS_ACCEPTED, NULL);
		soup_server_message_pause(r->msg);
	}
	json_object_put(o);
}

/* offset and length query parameters (decimal bytes); length 0 = to the end. */
static int range_params(GHashTable *q, uint64_t *offset, uint64_t *length)
{
	const char *o = q ? g_hash_table_lookup(q, "offset") : NULL;
	const char *l = q ? g_hash_table_lookup(q, "length") : NULL;

	*offset = *length = 0;
	if (o && parse_uint(o, 0, INT64_MAX, offset) < 0)
		return err_set(ERR_INVALID, "offset '%s' is not a byte count", o);
	if (l && parse_uint(l, 0, INT64_MAX, length) < 0)
		return err_set(ERR_INVALID, "length '%s' is not a byte count", l);
	return 0;
}

/* ---- download ---- */

struct download {
	int fd;
	uint64_t pos, end;
	SoupMessageBody *body;
};

static void download_free(gpointer data)
{
	struct download *d = data;

	close(d->fd);
	g_free(d);
}

/* Append the next chunk, or complete the body; there is always data queued
 * while the transfer runs, so libsoup never waits on us. */
static void download_next(struct download *d)
{
	size_t want = (size_t)MIN((uint64_t)APIPOOL_CHUNK, d->end - d->pos);
	char *buf;
	ssize_t n;

	if (want == 0) {
		soup_message_body_complete(d->body);
		return;
	}
	buf = g_malloc(want);
	do
		n = pread(d->fd, buf, want, (off_t)d->pos);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		/* the headers promised a length: the client sees a short body and fails */
		log_error("volume download: read at %llu: %s", (unsigned long long)d->pos,
			  n < 0 ? strerror(errno) : "unexpected end of file");
		g_free(buf);
		soup_message_body_complete(d->body);
		return;
	}
	d->pos += (uint64_t)n;
	soup_message_body_append(d->body, SOUP_MEMORY_TAKE, buf, (gsize)n);
}

static void download_wrote_chunk(SoupServerMessage *msg, guint size, gpointer data)
{
	(void)size;
	(void)msg;
	download_next(data);
}

void apipool_vol_download(struct api_req *r)
{
	struct vpool *p = api_pool(r);
	g_autofree char *path = NULL;
	struct download *d;
	uint64_t offset, length;
	struct stat st;
	int fd;

	if (!p)
		return;
	path = vvol_path(p, r->parts[4]);
	if (!path || range_params(r->query, &offset, &length) < 0) {
		api_reply_err(r);
		return;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err_set_errno(ERR_IO, errno, "cannot open volume '%s'", path);
		if (fd >= 0)
			close(fd);
		api_reply_err(r);
		return;
	}
	if (offset > (uint64_t)st.st_size) {
		close(fd);
		api_reply_error(r, 400, "invalid-argument", "offset is beyond the end of the volume");
		return;
	}
	if (!length || length > (uint64_t)st.st_size - offset)
		length = (uint64_t)st.st_size - offset;
	d = g_new0(struct download, 1);
	d->fd = fd;
	d->pos = offset;
	d->end = offset + length;
	d->body = soup_server_message_get_response_body(r->msg);
	soup_message_body_set_accumulate(d->body, FALSE);
	soup_message_headers_set_content_type(soup_server_message_get_response_headers(r->msg),
					      "application/octet-stream", NULL);
	soup_message_headers_set_content_length(soup_server_message_get_response_headers(r->msg),
						(goffset)length);
	soup_server_message_set_status(r->msg, 200, NULL);
	g_object_set_data_full(G_OBJECT(r->msg), "vireo-download", d, download_free);
	g_signal_connect(r->msg, "wrote-chunk", G_CALLBACK(download_wrote_chunk), d);
	download_next(d);
}

/* ---- upload ---- */

struct upload {
	int fd;
	uint64_t offset, limit, written;
	bool failed;
	char error_code[32];
	char error[ERR_MSG_MAX];
	enum err_code code;
};

static void upload_free(gpointer data)
{
	struct upload *u = data;

	if (u->fd >= 0)
		close(u->fd);
	g_free(u);
}

static void upload_fail(struct upload *u)
{
	u->failed = true;
	u->code = err_code();
	g_strlcpy(u->error, err_message(), sizeof(u->error));
}

static void upload_got_chunk(SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
	struct upload *u = data;
	gsize len;
	const char *buf = g_bytes_get_data(chunk, &len);

	(void)msg;
	if (u->failed)
		return;   /* the rest of the body is read and dropped; the handler reports */
	if (u->limit && len > u->limit - u->written) {
		err_set(ERR_INVALID, "upload body is longer than the length asked for (%llu bytes)",
			(unsigned long long)u->limit);
		upload_fail(u);
		return;
	}
	while (len) {
		ssize_t n = pwrite(u->fd, buf, len, (off_t)(u->offset + u->written));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_set_errno(ERR_IO, errno, "cannot write the volume at %llu",
				      (unsigned long long)(u->offset + u->written));
			upload_fail(u);
			return;
		}
		buf += n;
		len -= (size_t)n;
		u->written += (uint64_t)n;
	}
}

bool apipool_got_headers(SoupServerMessage *msg, bool read_only)
{
	GUri *uri = soup_server_message_get_uri(msg);
	const char *path = g_uri_get_path(uri), *q = g_uri_get_query(uri);
	g_auto(GStrv) segs = NULL;
	g_autofree char *vol_path = NULL;
	GHashTable *params = NULL;
	struct upload *u;
	struct vpool *p;

	if (read_only || strcmp(soup_server_message_get_method(msg), "PUT"))
		return false;
	segs = g_strsplit(path + (path[0] == '/'), "/", 8);
	if (g_strv_length(segs) != 6 || strcmp(segs[0], "v1") || strcmp(segs[1], "pools") ||
	    strcmp(segs[3], "volumes") || strcmp(segs[5], "data"))
		return false;
	u = g_new0(struct upload, 1);
	u->fd = -1;
	g_object_set_data_full(G_OBJECT(msg), "vireo-upload", u, upload_free);
	soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
	err_clear();
	params = q ? soup_form_decode(q) : NULL;
	if (range_params(params, &u->offset, &u->limit) < 0) {
		upload_fail(u);
		goto out;
	}
	p = vpool_lookup(segs[2]);
	vol_path = p ? vvol_path(p, segs[4]) : NULL;
	if (!vol_path) {
		upload_fail(u);
		goto out;
	}
	u->fd = open(vol_path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (u->fd < 0) {
		err_set_errno(ERR_IO, errno, "cannot open volume '%s'", vol_path);
		upload_fail(u);
		goto out;
	}
	g_signal_connect(msg, "got-chunk", G_CALLBACK(upload_got_chunk), u);
out:
	if (params)
		g_hash_table_destroy(params);
	return true;
}

void apipool_vol_upload(struct api_req *r)
{
	struct upload *u = g_object_get_data(G_OBJECT(r->msg), "vireo-upload");
	struct vpool *p;

	if (!u) {
		api_reply_error(r, 400, "invalid-argument", "volume upload was not set up");
		return;
	}
	if (!u->failed && u->limit && u->written != u->limit) {
		err_set(ERR_INVALID, "upload body has %llu bytes, the length asked for is %llu",
			(unsigned long long)u->written, (unsigned long long)u->limit);
		upload_fail(u);
	}
	if (!u->failed && fdatasync(u->fd) < 0) {
		err_set_errno(ERR_IO, errno, "cannot sync volume '%s'", r->parts[4]);
		upload_fail(u);
	}
	if (u->failed) {
		err_set(u->code, "%s", u->error);
		api_reply_err(r);
		return;
	}
	p = api_pool(r);
	if (p)
		reply_json_or_err(r, 200, vvol_info_json(p, r->parts[4]));
}
