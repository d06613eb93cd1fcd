/* REST routes for virtual networks (docs/api.yaml, /v1/networks...): list,
 * define, info, undefine, XML, autostart, start/destroy and DHCP leases, all
 * thin wrappers over network.c. */
#include <string.h>

#include "common/error.h"
#include "daemon/api-internal.h"
#include "daemon/network.h"

static struct vnet *api_net(struct api_req *r)
{
	struct vnet *n = vnet_lookup(r->parts[2]);

	if (!n)
		api_reply_err(r);
	return n;
}

void apinet_list(struct api_req *r)
{
	const char *filter = r->query ? g_hash_table_lookup(r->query, "state") : NULL;

	if (filter && strcmp(filter, "active") && strcmp(filter, "inactive") && strcmp(filter, "all")) {
		api_reply_error(r, 400, "invalid-argument", "state must be active, inactive or all");
		return;
	}
	api_reply_json(r, 200, vnet_list_json(filter && strcmp(filter, "all") ? filter : NULL));
}

void apinet_define(struct api_req *r)
{
	bool created = false;
	struct vnet *n;

	if (!r->body_len) {
		api_reply_error(r, 400, "invalid-argument", "request body must be a network XML document");
		return;
	}
	n = vnet_define(r->vd, r->body, r->body_len, &created);
	if (!n)
		api_reply_err(r);
	else
		api_reply_json(r, created ? 201 : 200, vnet_info_json(n));
}

void apinet_get(struct api_req *r)
{
	struct vnet *n = api_net(r);

	if (n)
		api_reply_json(r, 200, vnet_info_json(n));
}

void apinet_undefine(struct api_req *r)
{
	struct vnet *n = api_net(r);

	if (!n)
		return;
	if (vnet_undefine(n) < 0)
		api_reply_err(r);
	else
		soup_server_message_set_status(r->msg, 204, NULL);
}

void apinet_xml(struct api_req *r)
{
	struct vnet *n = api_net(r);
	char *xml;

	if (!n)
		return;
	xml = vnet_xml(n, api_query_true(r, "inactive"));
	if (!xml) {
		api_reply_err(r);
		return;
	}
	soup_server_message_set_status(r->msg, 200, NULL);
	soup_server_message_set_response(r->msg, "application/xml", SOUP_MEMORY_TAKE, xml, strlen(xml));
}

void apinet_autostart(struct api_req *r)
{
	struct vnet *n = api_net(r);
	bool on;

	if (!n || api_body_autostart(r, &on) < 0)
		return;
	if (vnet_set_autostart(n, on) < 0)
		api_reply_err(r);
	else
		api_reply_json(r, 200, vnet_info_json(n));
}

void apinet_action(struct api_req *r)
{
	struct vnet *n = api_net(r);
	int rc;

	if (!n)
		return;
	if (!strcmp(r->parts[4], "start")) {
		rc = vnet_start(n);
	} else if (!strcmp(r->parts[4], "destroy")) {
		rc = vnet_destroy(n);
	} else {
		api_reply_error(r, 404, "not-found", "no such action (start, destroy)");
		return;
	}
	if (rc < 0)
		api_reply_err(r);
	else
		api_reply_json(r, 200, vnet_info_json(n));
}

void apinet_leases(struct api_req *r)
{
	struct vnet *n = api_net(r);
	const char *mac = r->query ? g_hash_table_lookup(r->query, "mac") : NULL;

	if (n)
		api_reply_json(r, 200, vnet_leases_json(n, mac));
}
