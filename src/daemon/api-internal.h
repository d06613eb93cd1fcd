/* What the REST route handlers outside api.c share with it: the request being
 * served and the reply helpers. Handlers for one object kind live in their own
 * file (api-pool.c) and are listed in api.c's route table. */
#ifndef VIREO_DAEMON_API_INTERNAL_H
#define VIREO_DAEMON_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>
#include <json-c/json.h>
#include <libsoup/soup.h>

#include "daemon/daemon.h"

struct api_req {
	struct vd *vd;
	SoupServerMessage *msg;
	const char *method;
	GHashTable *query;
	const char *body;
	size_t body_len;
	char *parts[6];
	int nparts;
	bool read_only;
	bool websocket;   /* an Upgrade: websocket request; handlers leave the status unset to accept */
};

/* Reply with JSON (o is consumed), an error object, or the error recorded by err_set. */
void api_reply_json(struct api_req *r, unsigned int status, json_object *o);
void api_reply_error(struct api_req *r, unsigned int status, const char *code, const char *message);
void api_reply_err(struct api_req *r);
bool api_query_true(struct api_req *r, const char *key);
/* The {"autostart": bool} body of an autostart route; replies 400 and returns -1 when bad. */
int api_body_autostart(struct api_req *r, bool *on);

/* api-pool.c: storage pool and volume routes. */
void apipool_list(struct api_req *r);
void apipool_define(struct api_req *r);
void apipool_get(struct api_req *r);
void apipool_undefine(struct api_req *r);
void apipool_xml(struct api_req *r);
void apipool_autostart(struct api_req *r);
void apipool_action(struct api_req *r);
void apipool_vol_list(struct api_req *r);
void apipool_vol_create(struct api_req *r);
void apipool_vol_get(struct api_req *r);
void apipool_vol_delete(struct api_req *r);
void apipool_vol_xml(struct api_req *r);
void apipool_vol_resize(struct api_req *r);
void apipool_vol_clone(struct api_req *r);
void apipool_vol_download(struct api_req *r);
void apipool_vol_upload(struct api_req *r);
/* api-network.c: virtual network routes. */
void apinet_list(struct api_req *r);
void apinet_define(struct api_req *r);
void apinet_get(struct api_req *r);
void apinet_undefine(struct api_req *r);
void apinet_xml(struct api_req *r);
void apinet_autostart(struct api_req *r);
void apinet_action(struct api_req *r);
void apinet_leases(struct api_req *r);
/* Called when a request's headers are in: a volume upload on the read-write
 * socket takes its body as a stream into the volume file (no 1 MiB limit, no
 * buffering). True when it took the message. */
bool apipool_got_headers(SoupServerMessage *msg, bool read_only);

#endif
