/* vireo-qmp: a minimal QMP client for tests and benchmarks (the lab has no python).
 * Connects, negotiates, then runs one command or waits for one event, printing the
 * server's JSON on one line. Exit: 0 return/event, 1 error reply, 2 connection, 3 timeout. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

enum { EXIT_RETURN = 0, EXIT_ERROR = 1, EXIT_CONN = 2, EXIT_TIMEOUT = 3, EXIT_USAGE = 64 };

struct conn {
	int fd;
	struct json_tokener *tok;
	char buf[65536];
	size_t len, off;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: vireo-qmp [--retry S] [--timeout S] SOCKET CMD [JSON-ARGS]\n"
		"       vireo-qmp [--retry S] [--timeout S] SOCKET --wait-event NAME\n"
		"exit: 0 return (or event seen), 1 error reply, 2 connection failure, 3 timeout\n");
}

static double now_s(void)
{
	return (double)clock_ns() / 1e9;
}

static int conn_open(const char *path, double retry_s)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	double deadline = now_s() + retry_s;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "vireo-qmp: socket path %s is too long\n", path);
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			fprintf(stderr, "vireo-qmp: socket: %s\n", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		close(fd);
		/* The VMM creates its socket shortly after it starts: --retry waits for it. */
		if (now_s() >= deadline) {
			fprintf(stderr, "vireo-qmp: cannot connect to %s: %s\n", path, strerror(errno));
			return -1;
		}
		usleep(20000);
	}
}

/* Next JSON message from the server, or NULL (message on stderr) on EOF, a syntax
 * error or when the deadline passes (*timed_out then set). */
static struct json_object *conn_recv(struct conn *c, double deadline, bool *timed_out)
{
	*timed_out = false;
	for (;;) {
		while (c->off < c->len) {
			struct json_object *o = json_tokener_parse_ex(c->tok, c->buf + c->off,
								      (int)(c->len - c->off));
			enum json_tokener_error e = json_tokener_get_error(c->tok);

			if (e == json_tokener_continue) {
				c->off = c->len;
				break;
			}
			if (e != json_tokener_success) {
				fprintf(stderr, "vireo-qmp: bad JSON from server: %s\n",
					json_tokener_error_desc(e));
				return NULL;
			}
			c->off += json_tokener_get_parse_end(c->tok);
			if (o)
				return o;
		}
		c->off = c->len = 0;

		double left = deadline - now_s();
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int r;

		if (left <= 0) {
			*timed_out = true;
			return NULL;
		}
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			continue;
		ssize_t n = read(c->fd, c->buf, sizeof(c->buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "vireo-qmp: server closed the connection\n");
			return NULL;
		}
		c->len = (size_t)n;
	}
}

static int conn_send(struct conn *c, struct json_object *msg)
{
	size_t len;
	const char *s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN, &len);

	while (len) {
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "vireo-qmp: send: %s\n", strerror(errno));
			return -1;
		}
		s += n;
		len -= (size_t)n;
	}
	return send(c->fd, "\n", 1, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static void print_line(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
}

/* Send execute(+arguments) and wait for its reply; events that arrive first are
 * skipped. Returns the reply, or NULL on connection failure or timeout. */
static struct json_object *conn_call(struct conn *c, const char *cmd, struct json_object *args,
				     double deadline, bool *timed_out)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	if (conn_send(c, req) < 0) {
		json_object_put(req);
		return NULL;
	}
	json_object_put(req);
	for (;;) {
		struct json_object *o = conn_recv(c, deadline, timed_out);

		if (!o)
			return NULL;
		if (json_object_object_get_ex(o, "return", NULL) ||
		    json_object_object_get_ex(o, "error", NULL))
			return o;
		json_object_put(o);     /* an event before our reply */
	}
}

int main(int argc, char **argv)
{
	double retry = 0, timeout = 30;
	const char *path, *cmd, *wait_event = NULL;
	struct json_object *args = NULL, *o;
	struct conn c = { .fd = -1 };
	bool timed_out;
	double deadline;
	int i = 1, rc;

	for (; i < argc && !strncmp(argv[i], "--", 2) && i + 1 < argc; i += 2) {
		char *end;
		double v = strtod(argv[i + 1], &end);

		if (*end || v < 0) {
			usage();
			return EXIT_USAGE;
		}
		if (!strcmp(argv[i], "--retry"))
			retry = v;
		else if (!strcmp(argv[i], "--timeout"))
			timeout = v;
		else
			break;
	}
	if (argc - i < 2) {
		usage();
		return EXIT_USAGE;
	}
	path = argv[i++];
	cmd = argv[i++];
	if (!strcmp(cmd, "--wait-event")) {
		if (i >= argc) {
			usage();
			return EXIT_USAGE;
		}
		wait_event = argv[i++];
		cmd = NULL;
	} else if (i < argc) {
		args = json_tokener_parse(argv[i++]);
		if (!args || !json_object_is_type(args, json_type_object)) {
			fprintf(stderr, "vireo-qmp: JSON-ARGS must be a JSON object: %s\n", argv[i - 1]);
			json_object_put(args);
			return EXIT_USAGE;
		}
	}
	/* Options may also follow the positional arguments. */
	for (; i + 1 < argc; i += 2) {
		char *end;
		double v = strtod(argv[i + 1], &end);

		if (*end || v < 0)
			break;
		if (!strcmp(argv[i], "--timeout"))
			timeout = v;
		else if (!strcmp(argv[i], "--retry"))
			retry = v;
		else
			break;
	}
	if (i < argc) {
		usage();
		json_object_put(args);
		return EXIT_USAGE;
	}

	c.fd = conn_open(path, retry);
	c.tok = json_tokener_new();
	if (c.fd < 0 || !c.tok) {
		rc = EXIT_CONN;
		goto out;
	}
	deadline = now_s() + timeout;
	o = conn_recv(&c, deadline, &timed_out);
	if (!o || !json_object_object_get_ex(o, "QMP", NULL)) {
		fprintf(stderr, "vireo-qmp: no QMP greeting from %s\n", path);
		json_object_put(o);
		rc = timed_out ? EXIT_TIMEOUT : EXIT_CONN;
		goto out;
	}
	json_object_put(o);
	o = conn_call(&c, "qmp_capabilities", NULL, deadline, &timed_out);
	if (!o || !json_object_object_get_ex(o, "return", NULL)) {
		if (o)
			print_line(o);
		fprintf(stderr, "vireo-qmp: capabilities negotiation failed\n");
		json_object_put(o);
		rc = !o ? (timed_out ? EXIT_TIMEOUT : EXIT_CONN) : EXIT_ERROR;
		goto out;
	}
	json_object_put(o);

	if (cmd) {
		o = conn_call(&c, cmd, args, deadline, &timed_out);
		if (!o) {
			rc = timed_out ? EXIT_TIMEOUT : EXIT_CONN;
			goto out;
		}
		print_line(o);
		rc = json_object_object_get_ex(o, "return", NULL) ? EXIT_RETURN : EXIT_ERROR;
		json_object_put(o);
		goto out;
	}
	for (;;) {
		struct json_object *name;

		o = conn_recv(&c, deadline, &timed_out);
		if (!o) {
			if (timed_out)
				fprintf(stderr, "vireo-qmp: no %s event within %g s\n", wait_event, timeout);
			rc = timed_out ? EXIT_TIMEOUT : EXIT_CONN;
			goto out;
		}
		if (json_object_object_get_ex(o, "event", &name) &&
		    !strcmp(json_object_get_string(name), wait_event)) {
			print_line(o);
			json_object_put(o);
			rc = EXIT_RETURN;
			goto out;
		}
		json_object_put(o);
	}
out:
	if (c.fd >= 0)
		close(c.fd);
	if (c.tok)
		json_tokener_free(c.tok);
	json_object_put(args);
	return rc;
}
