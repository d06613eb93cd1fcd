/* The serial console of each running domain: vireod keeps the one connection
 * the VMM's console socket allows, a 64 KiB scrollback, and relays it to
 * WebSocket clients: many readers, one writer. A second writer is refused unless
 * it forces, which disconnects the first (virsh console --force). */
#include <string.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <libsoup/soup.h>

#include "common/error.h"
#include "common/log.h"
#include "daemon/daemon.h"

#define CONS_SCROLLBACK (64u * 1024)
#define CONS_MAX_INPUT (64u * 1024)

struct cons {
	GSocket *sock;
	GSource *watch;
	GByteArray *scrollback;
	GPtrArray *clients;                 /* SoupWebsocketConnection *, writer included */
	SoupWebsocketConnection *writer;
	char *name;
};

static void cons_drop_client(struct cons *c, SoupWebsocketConnection *ws)
{
	g_signal_handlers_disconnect_matched(ws, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, c);
	if (c->writer == ws)
		c->writer = NULL;
	if (g_ptr_array_remove(c->clients, ws))
		g_object_unref(ws);
}

static void cons_close_all(struct cons *c, gushort code, const char *why)
{
	while (c->clients->len) {
		SoupWebsocketConnection *ws = g_object_ref(c->clients->pdata[0]);
		cons_drop_client(c, ws);
		if (soup_websocket_connection_get_state(ws) == SOUP_WEBSOCKET_STATE_OPEN)
			soup_websocket_connection_close(ws, code, why);
		g_object_unref(ws);
	}
}

static gboolean cons_readable(GSocket *sock, GIOCondition cond, gpointer data)
{
	struct vdom *d = data;
	struct cons *c = d->console;
	char buf[4096];
	gssize n;

	(void)cond;
	GError *gerr = NULL;

	n = g_socket_receive_with_blocking(sock, buf, sizeof(buf), FALSE, NULL, &gerr);
	if (n < 0 && g_error_matches(gerr, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
		g_error_free(gerr);
		return G_SOURCE_CONTINUE;
	}
	if (gerr)
		g_error_free(gerr);
	if (n <= 0) {
		/* EOF or error: the VMM is going away; the QMP side decides the state. */
		c->watch = NULL;
		return G_SOURCE_REMOVE;
	}
	g_byte_array_append(c->scrollback, (guint8 *)buf, (guint)n);
	if (c->scrollback->len > CONS_SCROLLBACK)
		g_byte_array_remove_range(c->scrollback, 0, c->scrollback->len - CONS_SCROLLBACK);
	for (guint i = 0; i < c->clients->len; i++) {
		SoupWebsocketConnection *ws = c->clients->pdata[i];
		if (soup_websocket_connection_get_state(ws) == SOUP_WEBSOCKET_STATE_OPEN)
			soup_websocket_connection_send_binary(ws, buf, (gsize)n);
	}
	return G_SOURCE_CONTINUE;
}

void cons_attach(struct vdom *d)
{
	struct cons *c;
	GSocketAddress *addr;
	GError *gerr = NULL;

	if (d->console)
		return;
	c = g_new0(struct cons, 1);
	c->scrollback = g_byte_array_new();
	c->clients = g_ptr_array_new();
	c->name = g_strdup(vdom_def(d)->name);
	d->console = c;
	c->sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &gerr);
	addr = g_unix_socket_address_new(d->console_path);
	if (!c->sock || !g_socket_connect(c->sock, addr, NULL, &gerr)) {
		log_warn("domain %s: no console (%s): %s", c->name, d->console_path, gerr->message);
		g_error_free(gerr);
		g_clear_object(&c->sock);
		g_object_unref(addr);
		return;
	}
	g_object_unref(addr);
	/* No socket timeout: with one, the watch fires after a quiet spell and the
	 * next read fails with TIMED_OUT, which looked like the VMM hanging up. */
	c->watch = g_socket_create_source(c->sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
	g_source_set_callback(c->watch, G_SOURCE_FUNC(cons_readable), d, NULL);
	g_source_attach(c->watch, NULL);
	g_source_unref(c->watch);
}

void cons_detach(struct vdom *d)
{
	struct cons *c = d->console;

	if (!c)
		return;
	cons_close_all(c, SOUP_WEBSOCKET_CLOSE_NORMAL, "domain stopped");
	if (c->watch)
		g_source_destroy(c->watch);
	if (c->sock) {
		g_socket_close(c->sock, NULL);
		g_object_unref(c->sock);
	}
	g_byte_array_unref(c->scrollback);
	g_ptr_array_free(c->clients, TRUE);
	g_free(c->name);
	g_free(c);
	d->console = NULL;
}

int cons_check_open(struct vdom *d, bool write, bool force)
{
	if (!d->live)
		return err_set(ERR_BUSY, "domain '%s' is not running", vdom_def(d)->name);
	if (!d->console || !d->console->sock)
		return err_set(ERR_UNSUPPORTED, "domain '%s' has no console", vdom_def(d)->name);
	if (write && !force && d->console->writer)
		return err_set(ERR_BUSY, "Active console session exists for domain '%s'", vdom_def(d)->name);
	return 0;
}

static void cons_ws_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
	struct cons *c = data;
	gsize len;
	const char *buf = g_bytes_get_data(message, &len);

	(void)type;
	if (ws != c->writer || !c->sock || !len)
		return;   /* readers' input is ignored */
	/* The VMM reads its console input as the guest's UART drains it: wait a
	 * little for room, never block the daemon for long. */
	while (len) {
		GError *gerr = NULL;
		gssize n = g_socket_send_with_blocking(c->sock, buf, len, FALSE, NULL, &gerr);
		if (n < 0 && g_error_matches(gerr, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) &&
		    g_socket_condition_timed_wait(c->sock, G_IO_OUT, G_USEC_PER_SEC, NULL, NULL)) {
			g_error_free(gerr);
			continue;
		}
		if (n <= 0) {
			log_warn("domain %s: %zu bytes of console input lost", c->name, len);
			if (gerr)
				g_error_free(gerr);
			return;
		}
		buf += n;
		len -= (gsize)n;
	}
}

static void cons_ws_closed(SoupWebsocketConnection *ws, gpointer data)
{
	cons_drop_client(data, ws);
}

void cons_add_client(struct vdom *d, SoupWebsocketConnection *ws, bool write, bool force)
{
	struct cons *c = d->console;

	if (cons_check_open(d, write, force) < 0) {
		/* The state changed between the check and the upgrade. */
		soup_websocket_connection_close(ws, 4409, err_message());
		return;
	}
	if (write && c->writer) {
		SoupWebsocketConnection *old = g_object_ref(c->writer);
		cons_drop_client(c, old);
		soup_websocket_connection_close(old, 4409, "console taken over by a forced session");
		g_object_unref(old);
	}
	soup_websocket_connection_set_max_incoming_payload_size(ws, CONS_MAX_INPUT);
	g_ptr_array_add(c->clients, g_object_ref(ws));
	if (write)
		c->writer = ws;
	g_signal_connect(ws, "message", G_CALLBACK(cons_ws_message), c);
	g_signal_connect(ws, "closed", G_CALLBACK(cons_ws_closed), c);
	if (c->scrollback->len)
		soup_websocket_connection_send_binary(ws, c->scrollback->data, c->scrollback->len);
}
