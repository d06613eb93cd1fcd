/* The host side of the QEMU guest agent protocol on a domain's agent channel
 * socket: connect, guest-sync-delimited with a random id (stale answers of an
 * earlier client are skipped), then one command and its answer, all on the
 * main loop within the caller's time bound. One conversation per socket. */
#include <string.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "common/error.h"
#include "common/log.h"
#include "daemon/daemon.h"

#define AGENT_MAX_ANSWER (4u << 20)   /* guest-file-read answers can be large; never unbounded */

struct agent_conv {
	char *path;
	GSocket *sock;
	GSource *watch;
	guint timer_id;
	GString *in;
	char *command;          /* the caller's command, one line */
	int64_t sync_id;
	bool synced;
	agent_done_fn done;
	void *opaque;
};

static GHashTable *agent_busy;   /* socket path -> struct agent_conv * */

static void agent_conv_free(struct agent_conv *a)
{
	if (a->watch) {
		g_source_destroy(a->watch);
		g_source_unref(a->watch);
	}
	if (a->timer_id)
		g_source_remove(a->timer_id);
	if (a->sock) {
		g_socket_close(a->sock, NULL);
		g_object_unref(a->sock);
	}
	g_hash_table_remove(agent_busy, a->path);
	g_string_free(a->in, TRUE);
	g_free(a->command);
	g_free(a->path);
	g_free(a);
}

/* End the conversation: reply (borrowed) or NULL with the error recorded. */
static void agent_finish(struct agent_conv *a, json_object *reply)
{
	agent_done_fn done = a->done;
	void *opaque = a->opaque;

	if (!reply) {
		/* The error outlives freeing a (which may log nothing, but be safe). */
		char msg[ERR_MSG_MAX];
		enum err_code code = err_code();
		g_strlcpy(msg, err_message(), sizeof(msg));
		agent_conv_free(a);
		err_set(code, "%s", msg);
		done(opaque, NULL);
		err_clear();
		return;
	}
	agent_conv_free(a);
	done(opaque, reply);
}

static int agent_send(struct agent_conv *a, const char *text, size_t len)
{
	GError *gerr = NULL;
	gssize n = g_socket_send(a->sock, text, len, NULL, &gerr);

	/* A few hundred bytes into an idle socket: short means the channel is stuck. */
	if (n != (gssize)len) {
		err_set(ERR_IO, "guest agent channel %s: send: %s", a->path, gerr ? gerr->message : "short write");
		if (gerr)
			g_error_free(gerr);
		return -1;
	}
	return 0;
}

/* One complete JSON line, 0xFF delimiters dropped; NULL when none is in yet. */
static json_object *agent_next_message(struct agent_conv *a)
{
	for (;;) {
		char *nl = memchr(a->in->str, '\n', a->in->len);
		GString *line;
		json_object *o;

		if (!nl)
			return NULL;
		line = g_string_new_len(a->in->str, nl - a->in->str);
		g_string_erase(a->in, 0, nl - a->in->str + 1);
		for (gsize i = 0; i < line->len; )
			if ((unsigned char)line->str[i] == 0xff)
				g_string_erase(line, (gssize)i, 1);
			else
				i++;
		o = line->len ? json_tokener_parse(line->str) : NULL;
		g_string_free(line, TRUE);
		if (o && json_object_is_type(o, json_type_object))
			return o;
		json_object_put(o);
	}
}

/* Handle what has come in; true if the conversation ended (a is freed). */
static bool agent_handle(struct agent_conv *a)
{
	json_object *msg, *v;

	while ((msg = agent_next_message(a))) {
		if (!a->synced) {
			/* Only our id ends the sync: anything else is left over from before. */
			if (json_object_object_get_ex(msg, "return", &v) && json_object_is_type(v, json_type_int) &&
			    json_object_get_int64(v) == a->sync_id) {
				a->synced = true;
				if (agent_send(a, a->command, strlen(a->command)) < 0) {
					json_object_put(msg);
					agent_finish(a, NULL);
					return true;
				}
			}
			json_object_put(msg);
			continue;
		}
		agent_finish(a, msg);
		json_object_put(msg);
		return true;
	}
	return false;
}

static gboolean agent_readable(GSocket *sock, GIOCondition cond, gpointer data)
{
	struct agent_conv *a = data;
	char chunk[8192];
	GError *gerr = NULL;
	gssize n;

	(void)sock;
	(void)cond;
	for (;;) {
		n = g_socket_receive(a->sock, chunk, sizeof(chunk), NULL, &gerr);
		if (n < 0 && g_error_matches(gerr, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
			g_error_free(gerr);
			return agent_handle(a) ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
		}
		if (n <= 0) {
			if (agent_handle(a))
				return G_SOURCE_REMOVE;
			err_set(ERR_IO, "guest agent channel %s closed%s%s before the answer", a->path,
				gerr ? ": " : "", gerr ? gerr->message : "");
			if (gerr)
				g_error_free(gerr);
			agent_finish(a, NULL);
			return G_SOURCE_REMOVE;
		}
		g_string_append_len(a->in, chunk, n);
		if (a->in->len > AGENT_MAX_ANSWER) {
			err_set(ERR_GUEST, "guest agent on %s: answer over %u bytes", a->path, AGENT_MAX_ANSWER);
			agent_finish(a, NULL);
			return G_SOURCE_REMOVE;
		}
	}
}

static gboolean agent_timeout(gpointer data)
{
	struct agent_conv *a = data;

	a->timer_id = 0;
	err_set(ERR_BUSY, "guest agent on %s did not answer %s in time", a->path,
		a->synced ? "the command" : "guest-sync (is it running in the guest?)");
	agent_finish(a, NULL);
	return G_SOURCE_REMOVE;
}

int agent_command(const char *path, const char *command, size_t len, int timeout_ms,
		  agent_done_fn done, void *opaque)
{
	json_object *cmd = store_parse_json(command, len), *ex, *sync, *args;
	GSocketAddress *addr;
	GError *gerr = NULL;
	struct agent_conv *a;
	char *text;

	if (!cmd || !json_object_is_type(cmd, json_type_object) ||
	    !json_object_object_get_ex(cmd, "execute", &ex) || !json_object_is_type(ex, json_type_string)) {
		json_object_put(cmd);
		return err_set(ERR_INVALID, "the agent command must be a JSON object with an \"execute\" string");
	}
	if (!agent_busy)
		agent_busy = g_hash_table_new(g_str_hash, g_str_equal);
	if (g_hash_table_contains(agent_busy, path)) {
		json_object_put(cmd);
		return err_set(ERR_BUSY, "the guest agent on %s is busy with another command", path);
	}
	a = g_new0(struct agent_conv, 1);
	a->path = g_strdup(path);
	a->in = g_string_new(NULL);
	a->done = done;
	a->opaque = opaque;
	a->command = g_strdup_printf("%s\n", json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN));
	json_object_put(cmd);
	g_hash_table_insert(agent_busy, a->path, a);
	a->sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &gerr);
	if (a->sock)
		g_socket_set_blocking(a->sock, FALSE);
	addr = g_unix_socket_address_new(path);
	if (!a->sock || !g_socket_connect(a->sock, addr, NULL, &gerr)) {
		err_set(ERR_IO, "cannot connect to the guest agent channel %s: %s", path, gerr->message);
		g_error_free(gerr);
		g_object_unref(addr);
		agent_conv_free(a);
		return -1;
	}
	g_object_unref(addr);
	/* 0xFF resets the agent's JSON parser after a client that left mid-line;
	 * the random id tells our sync answer from stale ones. */
	a->sync_id = g_random_int_range(1, G_MAXINT32);
	sync = json_object_new_object();
	args = json_object_new_object();
	json_object_object_add(args, "id", json_object_new_int64(a->sync_id));
	json_object_object_add(sync, "execute", json_object_new_string("guest-sync-delimited"));
	json_object_object_add(sync, "arguments", args);
	text = g_strdup_printf("\xff%s\n", json_object_to_json_string_ext(sync, JSON_C_TO_STRING_PLAIN));
	json_object_put(sync);
	if (agent_send(a, text, strlen(text)) < 0) {
		g_free(text);
		agent_conv_free(a);
		return -1;
	}
	g_free(text);
	a->watch = g_socket_create_source(a->sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
	g_source_set_callback(a->watch, G_SOURCE_FUNC(agent_readable), a, NULL);
	g_source_attach(a->watch, NULL);
	a->timer_id = g_timeout_add((guint)timeout_ms, agent_timeout, a);
	return 0;
}
