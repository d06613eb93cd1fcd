/* What libvireo's entry-point files share with libvireo.c: the connection, the
 * one-request call helpers and the public error setters. Not installed. */
#ifndef VIREO_LIB_LIBVIREO_INTERNAL_H
#define VIREO_LIB_LIBVIREO_INTERNAL_H

#include <stdint.h>
#include <json-c/json.h>

#include "lib/http.h"
#include "vireo/vireo.h"

/* libvireo.map exports vireo_*: these stay inside the library. */
#pragma GCC visibility push(hidden)

struct vireo_conn {
	char *socket;
	unsigned int flags;
};

void vireo_set_error(vireo_error_code code, int http, const char *name, const char *msg);
/* The transport's err_set record, as the public error. */
void vireo_set_error_from_err(void);
/* The daemon's {"error": {...}} answer (status >= 400) as the public error. */
void vireo_set_error_from_answer(int status, const char *body);
/* One call: -1 with the public error set on a transport failure or a status of
 * 400 and above; otherwise the answer (caller frees body). */
int vireo_call(vireo_conn *c, const char *method, const char *path, const char *ctype,
	       const char *body, size_t body_len, struct http_answer *ans);
json_object *vireo_call_json(vireo_conn *c, const char *method, const char *path,
			     const char *ctype, const char *body, size_t body_len);
const char *vireo_jstr(json_object *o, const char *key);
int64_t vireo_jint(json_object *o, const char *key, int64_t dflt);
/* Percent-encode one path segment (malloc'd, NULL on no memory). */
char *vireo_seg_encode(const char *s);

/* handle-list.c: GET url (a JSON array) and make a handle of each element with
 * make(conn, element, opaque); *out is NULL-terminated. The count, or -1 with the
 * public error set (nothing is left allocated then). `what` names the list in errors. */
typedef void *(*vireo_handle_from_json)(vireo_conn *conn, json_object *o, void *opaque);
int vireo_list_handles(vireo_conn *conn, const char *url, const char *what, vireo_handle_from_json make,
		       void (*free_one)(void *), void *opaque, void ***out);

/* http-stream.c: a request whose body is read from fd, or whose answer's body
 * is written to fd, a chunk at a time, with progress reports. */
typedef int (*vireo_progress_cb)(uint64_t done, uint64_t total, void *opaque);
int vireo_http_upload(vireo_conn *c, const char *path, int fd, uint64_t length,
		      vireo_progress_cb progress, void *opaque, struct http_answer *ans);
int vireo_http_download(vireo_conn *c, const char *path, int fd,
			vireo_progress_cb progress, void *opaque);

#pragma GCC visibility pop

#endif
