/* QMP client on a GSocket (json-c for the messages): the greeting and
 * qmp_capabilities at connect, synchronous commands with a time bound, and
 * asynchronous events delivered from the main loop. Events that arrive while a
 * command waits are queued and delivered from an idle callback, so a handler
 * never runs inside a command's caller. */
#include <string.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "common/error.h"
#include "common/log.h"
#include "daemon/daemon.h"

#define QMPC_MAX_LINE (4u << 20)
#define QMPC_CMD_TIMEOUT_US (10 * G_USEC_PER_SEC)

struct qmpc {
	GSocket *sock;
	char *path;
	GString *buf;
	GSource *watch;
	guint idle_id;
	GQueue events;          /* json_object * of pending events */
	bool closed, close_reported;
	qmpc_event_fn on_event;
	qmpc_closed_fn on_closed;
	void *opaque;
};

static gboolean qmpc_dispatch(gpointer data);

static void qmpc_schedule(struct qmpc *q)
{
	if (!q->idle_id && (q->events.length || (q->closed && !q->close_reported)))
		q->idle_id = g_idle_add(qmpc_dispatch, q);
}

/* Read what is there (non-blocking). Returns bytes read, 0 on EOF, -1 if nothing. */
static gssize qmpc_fill(struct qmpc *q)
{
	char chunk[8192];
	GError *gerr = NULL;
	gssize n = g_socket_receive(q->sock, chunk, sizeof(chunk), NULL, &gerr);

	if (n < 0) {
		bool again = g_error_matches(gerr, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
		if (!again)
			log_warn("qmp %s: %s", q->path, gerr->message);
		g_error_free(gerr);
		if (!again) {
			q->closed = true;
			return 0;
		}
		return -1;
	}
	if (n == 0) {
		q->closed = true;
		return 0;
	}
	g_string_append_len(q->buf, chunk, n);
	if (q->buf->len > QMPC_MAX_LINE) {
		log_error("qmp %s: message over %u bytes, dropping the connection", q->path, QMPC_MAX_LINE);
		q->closed = true;
		return 0;
	}
	return n;
}

/* Take one complete line off the buffer and parse it; NULL if none yet. */
static json_object *qmpc_next_message(struct qmpc *q)
{
	for (;;) {
		char *nl = memchr(q->buf->str, '\n', q->buf->len);
		json_object *obj;
		size_t n;

		if (!nl)
			return NULL;
		n = (size_t)(nl - q->buf->str);
		q->buf->str[n] = 0;
		obj = json_tokener_parse(q->buf->str);
		g_string_erase(q->buf, 0, (gssize)n + 1);
		if (obj && json_object_is_type(obj, json_type_object))
			return obj;
		if (obj)
			json_object_put(obj);
		log_warn("qmp %s: ignoring a line that is not a JSON object", q->path);
	}
}

/* Queue an event; returns true if msg was one (and was consumed). */
static bool qmpc_take_event(struct qmpc *q, json_object *msg)
{
	json_object *ev;

	if (!json_object_object_get_ex(msg, "event", &ev))
		return false;
	g_queue_push_tail(&q->events, msg);
	return true;
}

static gboolean qmpc_readable(GSocket *sock, GIOCondition cond, gpointer data)
{
	struct qmpc *q = data;
	json_object *msg;

	(void)sock;
	(void)cond;
	while (!q->closed && qmpc_fill(q) > 0)
		;
	while ((msg = qmpc_next_message(q))) {
		if (!qmpc_take_event(q, msg))
			json_object_put(msg);   /* a late reply to a timed-out command */
	}
	qmpc_schedule(q);
	if (q->closed) {
		q->watch = NULL;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean qmpc_dispatch(gpointer data)
{
	struct qmpc *q = data;
	json_object *msg;

	q->idle_id = 0;
	while ((msg = g_queue_pop_head(&q->events))) {
		json_object *ev = NULL, *d = NULL;
		json_object_object_get_ex(msg, "event", &ev);
		json_object_object_get_ex(msg, "data", &d);
		if (q->on_event)
			q->on_event(q->opaque, json_object_get_string(ev), d);
		json_object_put(msg);
	}
	if (q->closed && !q->close_reported) {
		q->close_reported = true;
		/* Last: the handler may free q. */
		if (q->on_closed)
			q->on_closed(q->opaque);
	}
	return G_SOURCE_REMOVE;
}

/* Wait for the next non-event message within the deadline. */
static json_object *qmpc_wait_reply(struct qmpc *q, gint64 deadline)
{
	for (;;) {
		json_object *msg;
		while ((msg = qmpc_next_message(q))) {
			if (!qmpc_take_event(q, msg))
				return msg;
		}
		if (q->closed) {
			err_set(ERR_IO, "QMP socket %s closed", q->path);
			return NULL;
		}
		gint64 left = deadline - g_get_monotonic_time();
		if (left <= 0) {
			err_set(ERR_BUSY, "QMP socket %s: no answer in time", q->path);
			return NULL;
		}
		if (g_socket_condition_timed_wait(q->sock, G_IO_IN, left, NULL, NULL))
			qmpc_fill(q);
	}
}

static int qmpc_send(struct qmpc *q, json_object *msg)
{
	const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	GString *line = g_string_new(text);
	gsize off = 0;
	gint64 deadline = g_get_monotonic_time() + QMPC_CMD_TIMEOUT_US;
	int rc = 0;

	g_string_append_c(line, '\n');
	while (off < line->len) {
		GError *gerr = NULL;
		gssize n = g_socket_send(q->sock, line->str + off, line->len - off, NULL, &gerr);
		if (n < 0) {
			if (g_error_matches(gerr, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) &&
			    g_get_monotonic_time() < deadline) {
				g_error_free(gerr);
				g_socket_condition_timed_wait(q->sock, G_IO_OUT, 100000, NULL, NULL);
				continue;
			}
			rc = err_set(ERR_IO, "QMP socket %s: send: %s", q->path, gerr->message);
			g_error_free(gerr);
			q->closed = true;
			qmpc_schedule(q);
			break;
		}
		off += (gsize)n;
	}
	g_string_free(line, TRUE);
	return rc;
}

json_object *qmpc_command(struct qmpc *q, const char *cmd, json_object *args)
{
	json_object *msg = json_object_new_object(), *reply, *ret, *e;
	gint64 deadline = g_get_monotonic_time() + QMPC_CMD_TIMEOUT_US;

	json_object_object_add(msg, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(msg, "arguments", args);
	if (q->closed) {
		json_object_put(msg);
		err_set(ERR_IO, "QMP socket %s is closed", q->path);
		return NULL;
	}
	if (qmpc_send(q, msg) < 0) {
		json_object_put(msg);
		return NULL;
	}
	json_object_put(msg);
	reply = qmpc_wait_reply(q, deadline);
	qmpc_schedule(q);
	if (!reply)
		return NULL;
	if (json_object_object_get_ex(reply, "return", &ret)) {
		json_object_get(ret);
		json_object_put(reply);
		return ret;
	}
	if (json_object_object_get_ex(reply, "error", &e)) {
		json_object *cls = NULL, *desc = NULL;
		json_object_object_get_ex(e, "class", &cls);
		json_object_object_get_ex(e, "desc", &desc);
		err_set(ERR_INVALID, "QMP %s: %s: %s", cmd,
			cls ? json_object_get_string(cls) : "Error",
			desc ? json_object_get_string(desc) : "no description");
	} else {
		err_set(ERR_INTERNAL, "QMP %s: answer without return or error", cmd);
	}
	json_object_put(reply);
	return NULL;
}

struct qmpc *qmpc_connect(const char *path, int timeout_ms)
{
	struct qmpc *q = g_new0(struct qmpc, 1);
	GSocketAddress *addr = g_unix_socket_address_new(path);
	GError *gerr = NULL;
	json_object *greet, *ret;
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	q->path = g_strdup(path);
	q->buf = g_string_new(NULL);
	g_queue_init(&q->events);
	q->sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &gerr);
	if (!q->sock || !g_socket_connect(q->sock, addr, NULL, &gerr)) {
		err_set(ERR_IO, "cannot connect to QMP socket %s: %s", path, gerr->message);
		g_error_free(gerr);
		g_object_unref(addr);
		qmpc_free(q);
		return NULL;
	}
	g_object_unref(addr);
	g_socket_set_blocking(q->sock, FALSE);
	greet = qmpc_wait_reply(q, deadline);
	if (!greet || !json_object_object_get_ex(greet, "QMP", NULL)) {
		if (greet)
			err_set(ERR_INVALID, "QMP socket %s: no greeting", path);
		json_object_put(greet);
		qmpc_free(q);
		return NULL;
	}
	json_object_put(greet);
	ret = qmpc_command(q, "qmp_capabilities", NULL);
	if (!ret) {
		err_prefix("QMP socket %s", path);
		qmpc_free(q);
		return NULL;
	}
	json_object_put(ret);
	q->watch = g_socket_create_source(q->sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
	g_source_set_callback(q->watch, G_SOURCE_FUNC(qmpc_readable), q, NULL);
	g_source_attach(q->watch, NULL);
	g_source_unref(q->watch);
	return q;
}

void qmpc_set_handlers(struct qmpc *q, qmpc_event_fn on_event, qmpc_closed_fn on_closed, void *opaque)
{
	q->on_event = on_event;
	q->on_closed = on_closed;
	q->opaque = opaque;
	qmpc_schedule(q);
}

void qmpc_free(struct qmpc *q)
{
	json_object *msg;

	if (!q)
		return;
	if (q->watch)
		g_source_destroy(q->watch);
	if (q->idle_id)
		g_source_remove(q->idle_id);
	while ((msg = g_queue_pop_head(&q->events)))
		json_object_put(msg);
	if (q->sock) {
		g_socket_close(q->sock, NULL);
		g_object_unref(q->sock);
	}
	g_string_free(q->buf, TRUE);
	g_free(q->path);
	g_free(q);
}
