/* QMP client on a non-blocking GSocket (json-c for the messages), driven only by
 * the GLib main loop: the greeting and qmp_capabilities after connect, commands
 * answered through callbacks with a time bound, and events delivered from an
 * idle callback in the order they came. Nothing here ever waits. */
#include <string.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "common/error.h"
#include "common/log.h"
#include "daemon/daemon.h"

#define QMPC_MAX_LINE (4u << 20)
#define QMPC_CMD_TIMEOUT_MS 10000

enum qmpc_phase { QMPC_GREETING, QMPC_CAPS, QMPC_READY };

struct qmpc_call {
	struct qmpc *q;
	char *cmd;
	json_object *msg;       /* still to send (queued before the connection was ready) */
	unsigned long id;
	guint timer_id;
	qmpc_reply_fn cb;       /* NULL once it timed out: the late answer is dropped */
	void *opaque;
};

struct qmpc {
	GSocket *sock;
	char *path;
	GString *buf;
	GSource *watch;
	guint idle_id, ready_timer_id;
	enum qmpc_phase phase;
	GQueue events;          /* json_object * of pending events */
	GQueue calls;           /* struct qmpc_call *, in the order sent */
	unsigned long next_id;
	bool closed, close_reported;
	/* Inside a callback: qmpc_free only marks the client and the dispatcher frees it. */
	int depth;
	bool dead;
	qmpc_ready_fn on_ready;
	void *ready_opaque;
	qmpc_event_fn on_event;
	qmpc_closed_fn on_closed;
	void *opaque;
};

static void qmpc_destroy(struct qmpc *q);

static gboolean qmpc_dispatch(gpointer data);

static void qmpc_schedule(struct qmpc *q)
{
	if (!q->dead && !q->idle_id && q->phase == QMPC_READY &&
	    (q->events.length || (q->closed && !q->close_reported)))
		q->idle_id = g_idle_add(qmpc_dispatch, q);
}

static void qmpc_enter(struct qmpc *q)
{
	q->depth++;
}

/* Leave a callback section; returns false if q was freed meanwhile (and now is). */
static bool qmpc_leave(struct qmpc *q)
{
	if (--q->depth == 0 && q->dead) {
		qmpc_destroy(q);
		return false;
	}
	return !q->dead;
}

static void qmpc_call_free(struct qmpc_call *c)
{
	if (c->timer_id)
		g_source_remove(c->timer_id);
	json_object_put(c->msg);
	g_free(c->cmd);
	g_free(c);
}

/* Answer a call with an error (in the error record, for the callback). */
static void qmpc_call_fail(struct qmpc_call *c, enum err_code code, const char *why)
{
	qmpc_reply_fn cb = c->cb;
	void *opaque = c->opaque;

	c->cb = NULL;
	if (!cb)
		return;
	err_set(code, "QMP socket %s: %s: %s", c->q->path, c->cmd, why);
	cb(opaque, NULL);
	err_clear();
}

/* The connection is gone: every call still waiting gets an error, once. The
 * caller holds q (depth) so a callback's qmpc_free cannot free it under us. */
static void qmpc_fail_all(struct qmpc *q, const char *why)
{
	struct qmpc_call *c;

	while ((c = g_queue_pop_head(&q->calls))) {
		qmpc_call_fail(c, ERR_IO, why);
		qmpc_call_free(c);
	}
}

static void qmpc_ready_done(struct qmpc *q, bool ok)
{
	qmpc_ready_fn cb = q->on_ready;

	q->on_ready = NULL;
	if (q->ready_timer_id) {
		g_source_remove(q->ready_timer_id);
		q->ready_timer_id = 0;
	}
	if (cb)
		cb(q->ready_opaque, q, ok);
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

static int qmpc_send(struct qmpc *q, json_object *msg)
{
	const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	GString *line = g_string_new(text);
	GError *gerr = NULL;
	gssize n;
	int rc = 0;

	g_string_append_c(line, '\n');
	/* Commands are small and the socket buffer is empty between them: a short
	 * or refused write means the VMM does not read its QMP socket at all. */
	n = g_socket_send(q->sock, line->str, line->len, NULL, &gerr);
	if (n != (gssize)line->len) {
		rc = err_set(ERR_IO, "QMP socket %s: send: %s", q->path, gerr ? gerr->message : "short write");
		if (gerr)
			g_error_free(gerr);
		q->closed = true;
	}
	g_string_free(line, TRUE);
	return rc;
}

static gboolean qmpc_call_timeout(gpointer data)
{
	struct qmpc_call *c = data;
	struct qmpc *q = c->q;

	c->timer_id = 0;
	qmpc_enter(q);
	qmpc_call_fail(c, ERR_BUSY, "no answer in time");
	/* Stays queued without a callback if it was sent, so its late answer is
	 * not taken for the next command's. */
	if (c->msg) {
		g_queue_remove(&q->calls, c);
		qmpc_call_free(c);
	}
	qmpc_leave(q);
	return G_SOURCE_REMOVE;
}

static void qmpc_flush_queued(struct qmpc *q)
{
	for (GList *l = q->calls.head; l && !q->closed; l = l->next) {
		struct qmpc_call *c = l->data;
		if (c->msg) {
			qmpc_send(q, c->msg);
			json_object_put(c->msg);
			c->msg = NULL;
		}
	}
}

/* The call a reply answers: by id when the VMM echoes it, else the oldest. */
static struct qmpc_call *qmpc_match(struct qmpc *q, json_object *reply)
{
	json_object *id;

	if (json_object_object_get_ex(reply, "id", &id) && json_object_is_type(id, json_type_int)) {
		uint64_t want = json_object_get_uint64(id);
		for (GList *l = q->calls.head; l; l = l->next) {
			struct qmpc_call *c = l->data;
			if (!c->msg && c->id == want) {
				g_queue_delete_link(&q->calls, l);
				return c;
			}
		}
		return NULL;
	}
	if (q->calls.head && !((struct qmpc_call *)q->calls.head->data)->msg)
		return g_queue_pop_head(&q->calls);
	return NULL;
}

static void qmpc_handle_reply(struct qmpc *q, json_object *reply)
{
	struct qmpc_call *c = qmpc_match(q, reply);
	json_object *ret, *e;

	if (!c) {
		log_debug("qmp %s: dropping an answer nobody waits for", q->path);
		return;
	}
	if (c->cb) {
		qmpc_reply_fn cb = c->cb;
		c->cb = NULL;
		if (json_object_object_get_ex(reply, "return", &ret)) {
			cb(c->opaque, ret);
		} else {
			if (json_object_object_get_ex(reply, "error", &e)) {
				json_object *cls = NULL, *desc = NULL;
				json_object_object_get_ex(e, "class", &cls);
				json_object_object_get_ex(e, "desc", &desc);
				err_set(ERR_INVALID, "QMP %s: %s: %s", c->cmd,
					cls ? json_object_get_string(cls) : "Error",
					desc ? json_object_get_string(desc) : "no description");
			} else {
				err_set(ERR_INTERNAL, "QMP %s: answer without return or error", c->cmd);
			}
			cb(c->opaque, NULL);
			err_clear();
		}
	}
	qmpc_call_free(c);
}

static void qmpc_caps_done(void *opaque, json_object *ret)
{
	struct qmpc *q = opaque;

	if (!ret) {
		err_prefix("QMP socket %s", q->path);
		log_debug("%s", err_message());
		qmpc_ready_done(q, false);
		return;
	}
	q->phase = QMPC_READY;
	qmpc_flush_queued(q);
	qmpc_ready_done(q, true);
	qmpc_schedule(q);
}

static void qmpc_handle_message(struct qmpc *q, json_object *msg)
{
	if (q->phase == QMPC_GREETING) {
		if (!json_object_object_get_ex(msg, "QMP", NULL)) {
			err_set(ERR_INVALID, "QMP socket %s: no greeting", q->path);
			json_object_put(msg);
			qmpc_ready_done(q, false);
			return;
		}
		json_object_put(msg);
		q->phase = QMPC_CAPS;
		/* Ahead of anything queued by callers. */
		struct qmpc_call *c = g_new0(struct qmpc_call, 1);
		json_object *m = json_object_new_object();
		c->q = q;
		c->cmd = g_strdup("qmp_capabilities");
		c->cb = qmpc_caps_done;
		c->opaque = q;
		json_object_object_add(m, "execute", json_object_new_string(c->cmd));
		g_queue_push_head(&q->calls, c);
		qmpc_send(q, m);
		json_object_put(m);
		return;
	}
	if (json_object_object_get_ex(msg, "event", NULL)) {
		g_queue_push_tail(&q->events, msg);
		return;
	}
	qmpc_handle_reply(q, msg);
	json_object_put(msg);
}

static gboolean qmpc_readable(GSocket *sock, GIOCondition cond, gpointer data)
{
	struct qmpc *q = data;
	json_object *msg;

	(void)sock;
	(void)cond;
	qmpc_enter(q);
	while (!q->closed && qmpc_fill(q) > 0)
		;
	while (!q->dead && (msg = qmpc_next_message(q)))
		qmpc_handle_message(q, msg);
	if (!q->dead && q->closed) {
		q->watch = NULL;
		if (q->phase != QMPC_READY) {
			err_set(ERR_IO, "QMP socket %s closed before it was ready", q->path);
			qmpc_ready_done(q, false);
		}
		if (!q->dead)
			qmpc_fail_all(q, "socket closed");
	}
	if (!q->dead)
		qmpc_schedule(q);
	bool closed = q->closed;
	if (!qmpc_leave(q) || closed)
		return G_SOURCE_REMOVE;
	return G_SOURCE_CONTINUE;
}

static gboolean qmpc_dispatch(gpointer data)
{
	struct qmpc *q = data;
	json_object *msg;

	q->idle_id = 0;
	qmpc_enter(q);
	while (!q->dead && (msg = g_queue_pop_head(&q->events))) {
		json_object *ev = NULL, *d = NULL;
		json_object_object_get_ex(msg, "event", &ev);
		json_object_object_get_ex(msg, "data", &d);
		if (q->on_event)
			q->on_event(q->opaque, json_object_get_string(ev), d);
		json_object_put(msg);
	}
	if (!q->dead && q->closed && !q->close_reported) {
		q->close_reported = true;
		qmpc_fail_all(q, "socket closed");
		if (!q->dead && q->on_closed)
			q->on_closed(q->opaque);
	}
	qmpc_leave(q);
	return G_SOURCE_REMOVE;
}

static gboolean qmpc_ready_timeout(gpointer data)
{
	struct qmpc *q = data;

	q->ready_timer_id = 0;
	qmpc_enter(q);
	err_set(ERR_BUSY, "QMP socket %s: no greeting in time", q->path);
	qmpc_ready_done(q, false);
	qmpc_leave(q);
	return G_SOURCE_REMOVE;
}

int qmpc_call(struct qmpc *q, const char *cmd, json_object *args, qmpc_reply_fn cb, void *opaque)
{
	struct qmpc_call *c;
	json_object *msg;

	if (q->closed || q->dead) {
		json_object_put(args);
		return err_set(ERR_IO, "QMP socket %s is closed", q->path);
	}
	c = g_new0(struct qmpc_call, 1);
	msg = json_object_new_object();
	c->q = q;
	c->cmd = g_strdup(cmd);
	c->cb = cb;
	c->opaque = opaque;
	c->id = ++q->next_id;
	json_object_object_add(msg, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(msg, "arguments", args);
	json_object_object_add(msg, "id", json_object_new_uint64(c->id));
	if (q->phase == QMPC_READY) {
		if (qmpc_send(q, msg) < 0) {
			json_object_put(msg);
			g_free(c->cmd);
			g_free(c);
			/* A VMM that does not read QMP is as good as gone: report the close
			 * (from the loop: other callers' callbacks never run inside this call). */
			qmpc_schedule(q);
			return -1;
		}
		json_object_put(msg);
	} else {
		c->msg = msg;   /* sent once qmp_capabilities is answered */
	}
	c->timer_id = g_timeout_add(QMPC_CMD_TIMEOUT_MS, qmpc_call_timeout, c);
	g_queue_push_tail(&q->calls, c);
	return 0;
}

bool qmpc_is_ready(const struct qmpc *q)
{
	return q && q->phase == QMPC_READY && !q->closed;
}

struct qmpc *qmpc_open(const char *path, int timeout_ms, qmpc_ready_fn on_ready, void *opaque)
{
	struct qmpc *q = g_new0(struct qmpc, 1);
	GSocketAddress *addr = g_unix_socket_address_new(path);
	GError *gerr = NULL;

	q->path = g_strdup(path);
	q->buf = g_string_new(NULL);
	g_queue_init(&q->events);
	g_queue_init(&q->calls);
	q->on_ready = on_ready;
	q->ready_opaque = opaque;
	q->sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &gerr);
	/* Non-blocking before connect: a listener with a full backlog fails at once
	 * (the caller tries again) rather than stalling the main loop. */
	if (q->sock)
		g_socket_set_blocking(q->sock, FALSE);
	if (!q->sock || !g_socket_connect(q->sock, addr, NULL, &gerr)) {
		err_set(ERR_IO, "cannot connect to QMP socket %s: %s", path, gerr->message);
		g_error_free(gerr);
		g_object_unref(addr);
		qmpc_destroy(q);
		return NULL;
	}
	g_object_unref(addr);
	q->watch = g_socket_create_source(q->sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
	g_source_set_callback(q->watch, G_SOURCE_FUNC(qmpc_readable), q, NULL);
	g_source_attach(q->watch, NULL);
	g_source_unref(q->watch);
	q->ready_timer_id = g_timeout_add((guint)timeout_ms, qmpc_ready_timeout, q);
	return q;
}

void qmpc_set_handlers(struct qmpc *q, qmpc_event_fn on_event, qmpc_closed_fn on_closed, void *opaque)
{
	q->on_event = on_event;
	q->on_closed = on_closed;
	q->opaque = opaque;
	qmpc_schedule(q);
}

static void qmpc_destroy(struct qmpc *q)
{
	json_object *msg;

	if (q->watch)
		g_source_destroy(q->watch);
	if (q->idle_id)
		g_source_remove(q->idle_id);
	if (q->ready_timer_id)
		g_source_remove(q->ready_timer_id);
	struct qmpc_call *c;

	while ((msg = g_queue_pop_head(&q->events)))
		json_object_put(msg);
	while ((c = g_queue_pop_head(&q->calls)))
		qmpc_call_free(c);
	if (q->sock) {
		g_socket_close(q->sock, NULL);
		g_object_unref(q->sock);
	}
	g_string_free(q->buf, TRUE);
	g_free(q->path);
	g_free(q);
}

void qmpc_free(struct qmpc *q)
{
	if (!q || q->dead)
		return;
	/* No handler of q's runs after this; waiting callers hear of it now. */
	q->on_event = NULL;
	q->on_closed = NULL;
	q->on_ready = NULL;
	q->dead = true;
	if (q->watch) {
		g_source_destroy(q->watch);
		q->watch = NULL;
	}
	q->depth++;
	qmpc_fail_all(q, "connection closed by vireod");
	if (--q->depth == 0)
		qmpc_destroy(q);
}
