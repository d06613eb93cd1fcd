/* QMP server (see qmp.h): listening socket, per-client incremental JSON parsing
 * with json-c, request validation and dispatch with QEMU's error texts, buffered
 * non-blocking output, and a mutex-protected event queue drained on the main thread. */
#include "vmm/qmp/qmp.h"
#include "vmm/evloop.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define QMP_READ_CHUNK 65536
#define QMP_NAME_MAX 128

struct qmp_command {
	char *name;
	qmp_command_fn fn;
	void *opaque;
};

struct qmp_client {
	struct qmp_server *srv;
	struct qmp_client *next;
	int fd;
	bool negotiated;
	/* Stop reading, close once the output is flushed (EOF, oversized input). */
	bool closing;
	/* Close now; set when the socket failed or the output overflowed. */
	bool dead;
	bool want_out;          /* EPOLLOUT is armed */
	bool skip_line;         /* after a syntax error: drop input up to the next newline */
	struct json_tokener *tok;
	size_t pending;         /* bytes fed into the request being parsed */
	char *out;
	size_t out_len, out_off, out_cap;
};

struct qmp_event {
	struct qmp_event *next;
	char *line;             /* serialized, with "\r\n" */
	size_t len;
};

struct qmp_server {
	struct evloop *loop;
	int listen_fd;
	char *path;
	int major, minor, micro;
	struct qmp_command *cmds;
	size_t ncmds, cmds_cap;
	struct qmp_client *clients;
	unsigned nclients;
	/* Event queue: filled by any thread, drained by the main thread. */
	pthread_mutex_t ev_lock;
	struct qmp_event *ev_head, *ev_tail;
	unsigned ev_count;
	unsigned long ev_dropped;
	int ev_fd;
};

static const char *const builtin_names[] = { "qmp_capabilities", "query-commands", "query-version" };

/* A handler's chosen class for the error it returns (see qmp_set_error_class). */
static _Thread_local const char *handler_error_class;

const char *qmp_error_class(enum err_code code)
{
	return code == ERR_NOT_FOUND ? "CommandNotFound" : "GenericError";
}

void qmp_set_error_class(const char *cls)
{
	handler_error_class = cls;
}

/* ---- argument helpers ---- */

int qmp_args_check(struct json_object *args, const char *const *allowed)
{
	if (!args)
		return 0;
	json_object_object_foreach(args, key, val) {
		bool ok = false;

		(void)val;
		for (const char *const *a = allowed; a && *a; a++)
			if (!strcmp(key, *a))
				ok = true;
		if (!ok)
			return err_set(ERR_INVALID, "Parameter '%s' is unexpected", key);
	}
	return 0;
}

static int qmp_arg_lookup(struct json_object *args, const char *name, int required,
			  enum json_type type, const char *type_name, struct json_object **out)
{
	struct json_object *v = NULL;

	*out = NULL;
	if (!args || !json_object_object_get_ex(args, name, &v)) {
		if (required)
			return err_set(ERR_INVALID, "Parameter '%s' is missing", name);
		return 0;
	}
	if (!json_object_is_type(v, type))
		return err_set(ERR_INVALID, "Invalid parameter type for '%s', expected: %s", name,
			       type_name);
	*out = v;
	return 0;
}

int qmp_arg_string(struct json_object *args, const char *name, int required, const char **out)
{
	struct json_object *v;

	if (qmp_arg_lookup(args, name, required, json_type_string, "string", &v) < 0)
		return -1;
	if (v) {
		/* An embedded NUL would make the C string differ from what was sent. */
		if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
			return err_set(ERR_INVALID, "Parameter '%s' contains a NUL character", name);
		*out = json_object_get_string(v);
	}
	return 0;
}

int qmp_arg_int(struct json_object *args, const char *name, int required, long long *out)
{
	struct json_object *v;

	if (qmp_arg_lookup(args, name, required, json_type_int, "integer", &v) < 0)
		return -1;
	if (v) {
		/* json-c saturates big numbers silently; a value above INT64_MAX still
		 * shows through the unsigned view. */
		if (json_object_get_int64(v) == INT64_MAX && json_object_get_uint64(v) > INT64_MAX)
			return err_set(ERR_INVALID, "Parameter '%s' is out of range", name);
		*out = json_object_get_int64(v);
	}
	return 0;
}

int qmp_arg_uint(struct json_object *args, const char *name, int required, unsigned long long *out)
{
	struct json_object *v;

	if (qmp_arg_lookup(args, name, required, json_type_int, "integer", &v) < 0)
		return -1;
	if (v) {
		if (json_object_get_int64(v) < 0)
			return err_set(ERR_INVALID, "Parameter '%s' expects a value of 0 or more", name);
		*out = json_object_get_uint64(v);
	}
	return 0;
}

int qmp_arg_bool(struct json_object *args, const char *name, int required, int *out)
{
	struct json_object *v;

	if (qmp_arg_lookup(args, name, required, json_type_boolean, "boolean", &v) < 0)
		return -1;
	if (v)
		*out = json_object_get_boolean(v);
	return 0;
}

/* ---- output ---- */

/* Decode one UTF-8 sequence strictly (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF). Returns its length, or 0 if p does not start one. */
static size_t utf8_decode(const unsigned char *p, size_t len, uint32_t *cp)
{
	unsigned char c = p[0];
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		*cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		*cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		*cp = c & 0x07;
	} else {
		return 0;
	}
	if (len <= n)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (p[k] & 0x3f);
	}
	if ((n == 2 && *cp < 0x800) || (n == 3 && (*cp < 0x10000 || *cp > 0x10ffff)) ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n + 1;
}

static void put_u_escape(char *out, uint32_t unit)
{
	static const char hex[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'u';
	for (int k = 0; k < 4; k++)
		out[2 + k] = hex[(unit >> (12 - 4 * k)) & 0xf];
}

/* Copy JSON text as ASCII (the QMP spec: the server's output is ASCII): non-ASCII
 * characters, which json-c leaves raw inside strings, become \uXXXX escapes (with
 * surrogate pairs above U+FFFF); a byte that is not valid UTF-8 becomes \ufffd.
 * With out NULL only counts. Returns the output length. */
static size_t json_to_ascii(const unsigned char *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(in + i, len - i, &cp);

		if (n == 1) {
			if (out)
				out[o] = (char)cp;
			o++;
			i++;
			continue;
		}
		if (!n) {
			cp = 0xfffd;
			n = 1;
		}
		if (cp > 0xffff) {
			if (out) {
				put_u_escape(out + o, 0xd800 + ((cp - 0x10000) >> 10));
				put_u_escape(out + o + 6, 0xdc00 + ((cp - 0x10000) & 0x3ff));
			}
			o += 12;
		} else {
			if (out)
				put_u_escape(out + o, cp);
			o += 6;
		}
		i += n;
	}
	return o;
}

/* One QMP message: ASCII JSON on one line ending in CRLF (QEMU's line ending).
 * Malloc'd; NULL if out of memory. */
static char *qmp_serialize(struct json_object *obj, size_t *out_len)
{
	size_t len, alen;
	const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	char *line;

	if (!s)
		return NULL;
	alen = json_to_ascii((const unsigned char *)s, len, NULL);
	line = malloc(alen + 3);
	if (!line)
		return NULL;
	json_to_ascii((const unsigned char *)s, len, line);
	memcpy(line + alen, "\r\n", 3);
	*out_len = alen + 2;
	return line;
}

static void client_update_watch(struct qmp_client *c)
{
	bool want = c->out_len > c->out_off;
	uint32_t ev = (c->closing ? 0 : EPOLLIN) | (want ? EPOLLOUT : 0);

	if (c->dead)
		return;
	if (evloop_modify(c->srv->loop, c->fd, ev) < 0) {
		log_warn("qmp: client fd %d: %s", c->fd, err_message());
		c->dead = true;
		return;
	}
	c->want_out = want;
}

/* Write what the socket takes now; the rest waits for EPOLLOUT. */
static void client_flush(struct qmp_client *c)
{
	while (!c->dead && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = true;
			break;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
}

static void client_queue(struct qmp_client *c, const char *data, size_t len)
{
	size_t queued = c->out_len - c->out_off;

	if (c->dead)
		return;
	if (queued + len > QMP_MAX_OUTPUT) {
		/* A client that does not read must not make the VMM hoard memory. */
		log_warn("qmp: client fd %d does not read its output (%zu bytes queued); dropping it",
			 c->fd, queued);
		c->dead = true;
		return;
	}
	if (c->out_off && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, queued);
		c->out_len = queued;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = MAX(c->out_cap * 2, c->out_len + len);
		char *p = realloc(c->out, cap);

		if (!p) {
			log_error("qmp: out of memory queueing output for client fd %d", c->fd);
			c->dead = true;
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	client_flush(c);
	if (!c->dead && (c->out_len > c->out_off) != c->want_out)
		client_update_watch(c);
}

/* Send one JSON message followed by CRLF (QEMU's line ending); consumes obj. */
static void client_send(struct qmp_client *c, struct json_object *obj)
{
	size_t len;
	char *line = qmp_serialize(obj, &len);

	if (line)
		client_queue(c, line, len);
	else
		c->dead = true;
	free(line);
	json_object_put(obj);
}

static struct json_object *qmp_error_reply(const char *cls, const char *desc, bool has_id,
					   struct json_object *id)
{
	struct json_object *reply = json_object_new_object();
	struct json_object *err = json_object_new_object();

	json_object_object_add(err, "class", json_object_new_string(cls));
	json_object_object_add(err, "desc", json_object_new_string(desc));
	json_object_object_add(reply, "error", err);
	if (has_id)
		json_object_object_add(reply, "id", json_object_get(id));
	return reply;
}

static void client_send_error(struct qmp_client *c, const char *cls, const char *desc,
			      bool has_id, struct json_object *id)
{
	client_send(c, qmp_error_reply(cls, desc, has_id, id));
}

/* ---- built-in commands ---- */

static struct json_object *qmp_version_object(struct qmp_server *s)
{
	struct json_object *v = json_object_new_object();
	struct json_object *q = json_object_new_object();

	json_object_object_add(q, "micro", json_object_new_int(s->micro));
	json_object_object_add(q, "minor", json_object_new_int(s->minor));
	json_object_object_add(q, "major", json_object_new_int(s->major));
	json_object_object_add(v, "qemu", q);
	json_object_object_add(v, "package", json_object_new_string(""));
	return v;
}

static int builtin_query_version(struct qmp_server *s, struct json_object *args,
				 struct json_object **ret)
{
	if (qmp_args_check(args, NULL) < 0)
		return -1;
	*ret = qmp_version_object(s);
	return 0;
}

static int builtin_query_commands(struct qmp_server *s, struct json_object *args,
				  struct json_object **ret)
{
	struct json_object *list;

	if (qmp_args_check(args, NULL) < 0)
		return -1;
	list = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(builtin_names) + s->ncmds; i++) {
		const char *name = i < ARRAY_SIZE(builtin_names) ?
			builtin_names[i] : s->cmds[i - ARRAY_SIZE(builtin_names)].name;
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_array_add(list, o);
	}
	*ret = list;
	return 0;
}

/* We offer no capabilities (no out-of-band execution): "oob" is a known capability
 * that is not available here, anything else is not a capability at all. */
static int builtin_qmp_capabilities(struct qmp_client *c, struct json_object *args)
{
	static const char *const allowed[] = { "enable", NULL };
	struct json_object *enable = NULL;

	if (c->negotiated) {
		qmp_set_error_class("CommandNotFound");
		return err_set(ERR_INVALID,
			       "Capabilities negotiation is already complete, command ignored");
	}
	if (qmp_args_check(args, allowed) < 0)
		return -1;
	if (json_object_object_get_ex(args, "enable", &enable)) {
		if (!json_object_is_type(enable, json_type_array))
			return err_set(ERR_INVALID,
				       "Invalid parameter type for 'enable', expected: array");
		for (size_t i = 0; i < json_object_array_length(enable); i++) {
			struct json_object *cap = json_object_array_get_idx(enable, i);
			const char *name;

			if (!json_object_is_type(cap, json_type_string))
				return err_set(ERR_INVALID,
					       "Invalid parameter type for 'enable[%zu]', expected: string", i);
			name = json_object_get_string(cap);
			if (!strcmp(name, "oob"))
				return err_set(ERR_INVALID, "Capability 'oob' not available");
			return err_set(ERR_INVALID, "Parameter 'enable[%zu]' does not accept value '%.200s'",
				       i, name);
		}
	}
	c->negotiated = true;
	return 0;
}

/* ---- dispatch ---- */

/* Strict UTF-8: json-c's own check lets overlong forms and UTF-16 surrogates
 * through, which QEMU refuses and which could smuggle characters past string
 * comparisons. */
static bool utf8_valid(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);

		if (!n)
			return false;
		i += n;
	}
	return true;
}

/* Refuse what json-c accepts but QMP does not: NaN and Infinity (json-c would echo
 * them back as invalid JSON) and invalid UTF-8 in strings and member names. */
static const char *json_check_values(struct json_object *o, int depth)
{
	if (depth > QMP_MAX_DEPTH + 1)
		return "JSON parse error, nesting too deep";
	switch (json_object_get_type(o)) {
	case json_type_double:
		return isfinite(json_object_get_double(o)) ? NULL : "JSON parse error, invalid number";
	case json_type_string:
		return utf8_valid((const unsigned char *)json_object_get_string(o),
				  (size_t)json_object_get_string_len(o)) ?
			NULL : "JSON parse error, invalid UTF-8 sequence in string";
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			const char *bad = json_check_values(json_object_array_get_idx(o, i), depth + 1);

			if (bad)
				return bad;
		}
		return NULL;
	case json_type_object: {
		json_object_object_foreach(o, k, v) {
			const char *bad;

			if (!utf8_valid((const unsigned char *)k, strlen(k)))
				return "JSON parse error, invalid UTF-8 sequence in string";
			bad = json_check_values(v, depth + 1);
			if (bad)
				return bad;
		}
		return NULL;
	}
	default:
		return NULL;
	}
}

static struct qmp_command *qmp_find_command(struct qmp_server *s, const char *name)
{
	for (size_t i = 0; i < s->ncmds; i++)
		if (!strcmp(s->cmds[i].name, name))
			return &s->cmds[i];
	return NULL;
}

/* Check the request's shape in QEMU's order and with its texts; -1 with the
 * description in err_message(). */
static int qmp_check_request(struct json_object *req, const char **command, struct json_object **args)
{
	bool has_exec = false;

	*args = NULL;
	if (!json_object_is_type(req, json_type_object))
		return err_set(ERR_INVALID, "QMP input must be a JSON object");
	json_object_object_foreach(req, key, val) {
		if (!strcmp(key, "execute")) {
			if (!json_object_is_type(val, json_type_string))
				return err_set(ERR_INVALID, "QMP input member 'execute' must be a string");
			*command = json_object_get_string(val);
			/* "query-version\u0000x" must not run query-version. */
			if (strlen(*command) != (size_t)json_object_get_string_len(val))
				*command = "";
			has_exec = true;
		} else if (!strcmp(key, "arguments")) {
			if (!json_object_is_type(val, json_type_object))
				return err_set(ERR_INVALID, "QMP input member 'arguments' must be an object");
			*args = val;
		} else if (strcmp(key, "id")) {
			return err_set(ERR_INVALID, "QMP input member '%.200s' is unexpected", key);
		}
	}
	if (!has_exec)
		return err_set(ERR_INVALID, "QMP input lacks member 'execute'");
	return 0;
}

static void client_dispatch(struct qmp_client *c, struct json_object *req)
{
	struct qmp_server *s = c->srv;
	struct json_object *id = NULL, *args = NULL, *ret = NULL, *empty = NULL;
	struct qmp_command *cmd;
	const char *command = NULL;
	bool has_id = false;
	const char *bad;
	int rc;

	/* Any JSON value is a valid id, null included: echo it as sent. */
	if (json_object_is_type(req, json_type_object))
		has_id = json_object_object_get_ex(req, "id", &id);
	bad = json_check_values(req, 0);
	if (bad) {
		client_send_error(c, "GenericError", bad, false, NULL);
		return;
	}
	if (qmp_check_request(req, &command, &args) < 0) {
		client_send_error(c, "GenericError", err_message(), has_id, id);
		return;
	}
	if (!args)
		args = empty = json_object_new_object();

	err_clear();
	handler_error_class = NULL;
	if (!strcmp(command, "qmp_capabilities")) {
		rc = builtin_qmp_capabilities(c, args);
	} else if (!c->negotiated) {
		rc = err_set(ERR_NOT_FOUND, "Expecting capabilities negotiation with 'qmp_capabilities'");
	} else if (!strcmp(command, "query-version")) {
		rc = builtin_query_version(s, args, &ret);
	} else if (!strcmp(command, "query-commands")) {
		rc = builtin_query_commands(s, args, &ret);
	} else if ((cmd = qmp_find_command(s, command))) {
		rc = cmd->fn(cmd->opaque, args, &ret);
		if (rc < 0 && err_code() == ERR_OK)
			err_set(ERR_INTERNAL, "command %s failed without a reason", command);
	} else {
		rc = err_set(ERR_NOT_FOUND, "The command %.200s has not been found", command);
	}

	if (rc < 0) {
		const char *cls = handler_error_class ? handler_error_class : qmp_error_class(err_code());

		json_object_put(ret);
		client_send_error(c, cls, err_message(), has_id, id);
	} else {
		struct json_object *reply = json_object_new_object();

		json_object_object_add(reply, "return", ret ? ret : json_object_new_object());
		if (has_id)
			json_object_object_add(reply, "id", json_object_get(id));
		client_send(c, reply);
	}
	handler_error_class = NULL;
	json_object_put(empty);
}

/* ---- input ---- */

/* After a syntax error, resynchronise at the next newline (possibly in a later
 * read): clients send one request per line, so the request after a bad line is
 * kept, and the tail of a bad request is not parsed as a new one. */
static size_t skip_to_line_end(struct qmp_client *c, const char *buf, size_t off, size_t len)
{
	const char *nl = memchr(buf + off, '\n', len - off);

	c->skip_line = !nl;
	return nl ? (size_t)(nl - buf) + 1 : len;
}

static void client_feed(struct qmp_client *c, const char *buf, size_t len)
{
	size_t off = 0;

	if (c->skip_line)
		off = skip_to_line_end(c, buf, 0, len);
	while (off < len && !c->dead && !c->closing) {
		struct json_object *req = json_tokener_parse_ex(c->tok, buf + off, (int)(len - off));
		enum json_tokener_error jerr = json_tokener_get_error(c->tok);
		size_t end = json_tokener_get_parse_end(c->tok);

		if (end > len - off)
			end = len - off;
		/* Count the request's bytes whether or not it is complete yet: the limit
		 * must hold for one that ends in the chunk that crosses it. */
		c->pending += jerr == json_tokener_continue ? len - off : end;
		if (c->pending > QMP_MAX_INPUT) {
			char desc[96];

			json_object_put(req);
			snprintf(desc, sizeof(desc), "JSON parse error, request exceeds %u bytes",
				 QMP_MAX_INPUT);
			client_send_error(c, "GenericError", desc, false, NULL);
			c->closing = true;
			return;
		}
		if (jerr == json_tokener_continue)
			return;
		if (jerr != json_tokener_success) {
			char desc[128];

			json_object_put(req);
			snprintf(desc, sizeof(desc), "JSON parse error, %s", json_tokener_error_desc(jerr));
			client_send_error(c, "GenericError", desc, false, NULL);
			json_tokener_reset(c->tok);
			c->pending = 0;
			off = skip_to_line_end(c, buf, off + end, len);
			continue;
		}
		c->pending = 0;
		off += end;
		/* A JSON null parses to NULL: still a request, answered as a non-object. */
		client_dispatch(c, req);
		json_object_put(req);
		/* A zero-length parse of a complete object cannot happen; guard anyway. */
		if (!end)
			break;
	}
}

static void client_free(struct qmp_client *c)
{
	struct qmp_server *s = c->srv;

	for (struct qmp_client **pp = &s->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			s->nclients--;
			break;
		}
	}
	evloop_remove(s->loop, c->fd);
	close(c->fd);
	json_tokener_free(c->tok);
	free(c->out);
	free(c);
}

/* Drop a client that died or finished closing; true if it is gone. */
static bool client_reap(struct qmp_client *c)
{
	if (c->dead || (c->closing && c->out_len == c->out_off)) {
		client_free(c);
		return true;
	}
	if (c->closing || (c->out_len > c->out_off) != c->want_out)
		client_update_watch(c);
	if (c->dead) {
		client_free(c);
		return true;
	}
	return false;
}

static void client_read(struct qmp_client *c)
{
	char buf[QMP_READ_CHUNK];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			c->dead = true;
		return;
	}
	if (n == 0) {
		/* The client closed its side: still deliver what is queued for it. */
		c->closing = true;
		return;
	}
	client_feed(c, buf, (size_t)n);
}

static void client_event(void *opaque, uint32_t events)
{
	struct qmp_client *c = opaque;

	if (events & EPOLLOUT)
		client_flush(c);
	/* HUP/ERR are not trusted on their own: recv() and send() tell EOF and errors,
	 * and a stale event for a reused fd number then does no harm. */
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing)
		client_read(c);
	else if (events & (EPOLLHUP | EPOLLERR))
		client_flush(c);
	client_reap(c);
}

int qmp_server_add_client_fd(struct qmp_server *s, int fd)
{
	struct qmp_client *c;
	struct json_object *greeting, *qmp;
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		err_set_errno(ERR_IO, errno, "qmp: cannot make client fd %d non-blocking", fd);
		close(fd);
		return -1;
	}
	if (s->nclients >= QMP_MAX_CLIENTS) {
		close(fd);
		return err_set(ERR_BUSY, "qmp: too many clients (%u)", s->nclients);
	}
	c = calloc(1, sizeof(*c));
	if (c)
		c->tok = json_tokener_new_ex(QMP_MAX_DEPTH);
	if (!c || !c->tok) {
		free(c);
		close(fd);
		return err_set(ERR_NOMEM, "qmp: out of memory for a client");
	}
	/* No tokener flags: JSON_TOKENER_STRICT refuses a second object right after the
	 * first ("{...}{...}"), which QMP allows; JSON_TOKENER_VALIDATE_UTF8 (json-c
	 * 0.16) refuses a character split between two reads. Strings are checked for
	 * strict UTF-8 after parsing instead (json_check_values), and the leniencies
	 * left (comments, single quotes, trailing commas) are harmless. */
	c->srv = s;
	c->fd = fd;
	if (evloop_add(s->loop, fd, EPOLLIN, client_event, c) < 0) {
		json_tokener_free(c->tok);
		free(c);
		close(fd);
		return err_prefix("qmp: client");
	}
	c->next = s->clients;
	s->clients = c;
	s->nclients++;

	greeting = json_object_new_object();
	qmp = json_object_new_object();
	json_object_object_add(qmp, "version", qmp_version_object(s));
	json_object_object_add(qmp, "capabilities", json_object_new_array());
	json_object_object_add(greeting, "QMP", qmp);
	client_send(c, greeting);
	if (client_reap(c))
		return err_set(ERR_IO, "qmp: client fd %d went away before the greeting", fd);
	return 0;
}

static void listener_event(void *opaque, uint32_t events)
{
	struct qmp_server *s = opaque;
	int fd;

	(void)events;
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_warn("qmp: accept on %s: %s", s->path, strerror(errno));
		return;
	}
	if (qmp_server_add_client_fd(s, fd) < 0)
		log_warn("%s", err_message());
}

/* ---- events ---- */

static void events_drain(void *opaque, uint32_t events)
{
	struct qmp_server *s = opaque;
	struct qmp_event *list;
	uint64_t v;
	unsigned long dropped;

	(void)events;
	if (read(s->ev_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("qmp: event fd: %s", strerror(errno));
	pthread_mutex_lock(&s->ev_lock);
	list = s->ev_head;
	s->ev_head = s->ev_tail = NULL;
	s->ev_count = 0;
	dropped = s->ev_dropped;
	s->ev_dropped = 0;
	pthread_mutex_unlock(&s->ev_lock);

	if (dropped)
		log_warn("qmp: %lu events dropped: the main loop fell behind", dropped);
	while (list) {
		struct qmp_event *e = list;

		for (struct qmp_client *c = s->clients; c; c = c->next)
			if (c->negotiated && !c->closing)
				client_queue(c, e->line, e->len);
		list = e->next;
		free(e->line);
		free(e);
	}
	for (struct qmp_client *c = s->clients, *next; c; c = next) {
		next = c->next;
		client_reap(c);
	}
}

void qmp_emit_event(struct qmp_server *s, const char *name, struct json_object *data)
{
	struct json_object *obj, *ts;
	struct qmp_event *e;
	struct timespec now;
	uint64_t one = 1;

	if (!s || !name) {
		json_object_put(data);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	obj = json_object_new_object();
	json_object_object_add(obj, "event", json_object_new_string(name));
	if (data)
		json_object_object_add(obj, "data", data);
	ts = json_object_new_object();
	json_object_object_add(ts, "seconds", json_object_new_int64(now.tv_sec));
	json_object_object_add(ts, "microseconds", json_object_new_int64(now.tv_nsec / 1000));
	json_object_object_add(obj, "timestamp", ts);

	/* Serialize here so the main thread never touches the caller's json objects
	 * (json-c reference counts are not atomic). */
	e = calloc(1, sizeof(*e));
	if (e)
		e->line = qmp_serialize(obj, &e->len);
	json_object_put(obj);
	if (!e || !e->line) {
		log_error("qmp: out of memory for event %s", name);
		free(e);
		return;
	}

	pthread_mutex_lock(&s->ev_lock);
	if (s->ev_count >= QMP_MAX_PENDING_EVENTS) {
		s->ev_dropped++;
		pthread_mutex_unlock(&s->ev_lock);
		free(e->line);
		free(e);
		return;
	}
	if (s->ev_tail)
		s->ev_tail->next = e;
	else
		s->ev_head = e;
	s->ev_tail = e;
	s->ev_count++;
	pthread_mutex_unlock(&s->ev_lock);
	/* The event fd is watched by the loop: writing it both wakes the loop and
	 * tells it which callback drains the queue. */
	if (write(s->ev_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("qmp: cannot signal event %s: %s", name, strerror(errno));
}

/* ---- server ---- */

static bool socket_is_live(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return live;
}

static int qmp_listen(struct qmp_server *s, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof(addr.sun_path))
		return err_set(ERR_INVALID, "qmp: socket path %s is longer than %zu bytes", path,
			       sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(ERR_EXISTS, "qmp: %s exists and is not a socket; refusing to replace it",
				       path);
		if (socket_is_live(&addr))
			return err_set(ERR_BUSY, "qmp: socket %s is in use by another process", path);
		if (unlink(path) < 0)
			return err_set_errno(ERR_IO, errno, "qmp: cannot remove stale socket %s", path);
	} else if (errno != ENOENT) {
		return err_set_errno(ERR_IO, errno, "qmp: cannot inspect %s", path);
	}
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return err_set_errno(ERR_IO, errno, "qmp: cannot create socket for %s", path);
	/* Linux creates the socket file with the socket inode's mode (minus umask), so
	 * the file is never visible with wider permissions than 0600. */
	if (fchmod(s->listen_fd, 0600) < 0 ||
	    bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return err_set_errno(ERR_IO, errno, "qmp: cannot bind %s", path);
	s->path = strdup(path);
	if (!s->path) {
		unlink(path);
		return err_set(ERR_NOMEM, "out of memory");
	}
	if (chmod(path, 0600) < 0 || listen(s->listen_fd, 16) < 0)
		return err_set_errno(ERR_IO, errno, "qmp: cannot listen on %s", path);
	if (evloop_add(s->loop, s->listen_fd, EPOLLIN, listener_event, s) < 0)
		return err_prefix("qmp: %s", path);
	return 0;
}

struct qmp_server *qmp_server_new(struct evloop *loop, const char *socket_path, int qemu_major,
				  int qemu_minor, int qemu_micro)
{
	struct qmp_server *s = calloc(1, sizeof(*s));

	if (!s) {
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	s->loop = loop;
	s->listen_fd = -1;
	s->major = qemu_major;
	s->minor = qemu_minor;
	s->micro = qemu_micro;
	pthread_mutex_init(&s->ev_lock, NULL);
	s->ev_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->ev_fd < 0) {
		err_set_errno(ERR_INTERNAL, errno, "qmp: cannot create event fd");
		goto fail;
	}
	if (evloop_add(loop, s->ev_fd, EPOLLIN, events_drain, s) < 0) {
		err_prefix("qmp: event fd");
		close(s->ev_fd);
		s->ev_fd = -1;
		goto fail;
	}
	if (socket_path && qmp_listen(s, socket_path) < 0)
		goto fail;
	return s;
fail:
	qmp_server_free(s);
	return NULL;
}

void qmp_server_free(struct qmp_server *s)
{
	struct qmp_event *e;

	if (!s)
		return;
	/* Deliver what is already queued (a SHUTDOWN emitted just before the VMM
	 * leaves its loop) as far as the sockets take it without waiting. */
	if (s->ev_fd >= 0)
		events_drain(s, 0);
	for (struct qmp_client *c = s->clients; c; c = c->next)
		client_flush(c);
	while (s->clients)
		client_free(s->clients);
	if (s->listen_fd >= 0) {
		evloop_remove(s->loop, s->listen_fd);
		close(s->listen_fd);
	}
	if (s->path)
		unlink(s->path);
	if (s->ev_fd >= 0) {
		evloop_remove(s->loop, s->ev_fd);
		close(s->ev_fd);
	}
	for (e = s->ev_head; e;) {
		struct qmp_event *next = e->next;

		free(e->line);
		free(e);
		e = next;
	}
	for (size_t i = 0; i < s->ncmds; i++)
		free(s->cmds[i].name);
	free(s->cmds);
	free(s->path);
	pthread_mutex_destroy(&s->ev_lock);
	free(s);
}

int qmp_register_command(struct qmp_server *s, const char *name, qmp_command_fn fn, void *opaque)
{
	size_t len = name ? strlen(name) : 0;

	if (!len || len > QMP_NAME_MAX || !fn)
		return err_set(ERR_INVALID, "qmp: invalid command registration '%s'", name ? name : "(null)");
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return err_set(ERR_INVALID, "qmp: command name '%s' has a character other than [A-Za-z0-9_-]",
				       name);
	}
	for (size_t i = 0; i < ARRAY_SIZE(builtin_names); i++)
		if (!strcmp(builtin_names[i], name))
			return err_set(ERR_EXISTS, "qmp: command %s is built into the server", name);
	if (qmp_find_command(s, name))
		return err_set(ERR_EXISTS, "qmp: command %s is already registered", name);
	if (s->ncmds == s->cmds_cap) {
		size_t cap = s->cmds_cap ? s->cmds_cap * 2 : 16;
		struct qmp_command *p = realloc(s->cmds, cap * sizeof(*p));

		if (!p)
			return err_set(ERR_NOMEM, "out of memory");
		s->cmds = p;
		s->cmds_cap = cap;
	}
	s->cmds[s->ncmds].name = strdup(name);
	if (!s->cmds[s->ncmds].name)
		return err_set(ERR_NOMEM, "out of memory");
	s->cmds[s->ncmds].fn = fn;
	s->cmds[s->ncmds].opaque = opaque;
	s->ncmds++;
	return 0;
}

unsigned qmp_server_client_count(const struct qmp_server *s)
{
	return s->nclients;
}

int qmp_feed_for_test(struct qmp_server *s, const void *data, size_t len)
{
	struct qmp_client *c = s->clients;

	if (!c || c->dead || c->closing)
		return -1;
	while (len) {
		size_t n = MIN(len, (size_t)QMP_READ_CHUNK);

		client_feed(c, data, n);
		if (client_reap(c) || c->closing)
			return -1;
		data = (const char *)data + n;
		len -= n;
	}
	return 0;
}
