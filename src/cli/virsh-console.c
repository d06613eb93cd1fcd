/* The vireo CLI's streams: `console` (the domain's serial console over the
 * daemon's WebSocket, raw terminal, ^] to leave, --force to take over) and
 * `event` (lifecycle events as virsh prints them). */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "cli/virsh-cmd.h"

#define ESCAPE_CHAR 0x1d   /* ^] */

int vsh_run_console(struct vsh *vsh, vireo_domain *d, bool force, bool readonly)
{
	unsigned int flags = (force ? VIREO_CONSOLE_FORCE : 0) | (readonly ? VIREO_CONSOLE_READ_ONLY : 0);
	vireo_stream *st = vireo_domain_open_console(d, flags);
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO), stdin_open = true;
	int rc = 0;

	(void)vsh;
	if (!st) {
		vsh_error("cannot open the console of domain '%s'", vireo_domain_get_name(d));
		return -1;
	}
	printf("Connected to domain '%s'\nEscape character is ^] (Ctrl + ])\n", vireo_domain_get_name(d));
	fflush(stdout);
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	} else {
		tty = false;
	}
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = vireo_stream_get_fd(st), .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		if (!vireo_stream_has_pending(st) && poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		if (vireo_stream_has_pending(st) || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			char *data;
			long n = vireo_stream_recv(st, &data, 0);
			if (n < 0) {
				rc = -1;
				break;
			}
			if (n == 0 && !data) {
				const char *why = vireo_get_last_error()->message;
				/* Another session forced its way in, or the domain stopped. */
				if (why[0] && strcmp(why, "domain stopped")) {
					fprintf(stderr, "\r\nerror: console closed: %s\r\n", why);
					rc = -1;
				}
				break;
			}
			if (fwrite(data, 1, (size_t)n, stdout) != (size_t)n)
				rc = -1;
			fflush(stdout);
			free(data);
			if (rc < 0)
				break;
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			char buf[1024];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				stdin_open = false;   /* keep showing output until ^] or the end */
				continue;
			}
			char *esc = memchr(buf, ESCAPE_CHAR, (size_t)n);
			size_t len = esc ? (size_t)(esc - buf) : (size_t)n;
			if (len && !readonly && vireo_stream_send(st, buf, len, 0) < 0) {
				rc = -1;
				break;
			}
			if (esc)
				break;
		}
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	printf("\n");
	vireo_stream_free(st);
	return rc;
}

static int cmd_console(struct vsh *vsh, struct vsh_args *a)
{
	bool force = vsh_flag(a, "--force"), readonly = vsh_flag(a, "--read-only");
	vireo_domain *d;
	int rc;

	vsh_flag(a, "--safe");
	d = vsh_domain(vsh, a);
	if (!d)
		return -1;
	if (vsh_check_unused(a, "console") < 0) {
		vireo_domain_free(d);
		return -1;
	}
	rc = vsh_run_console(vsh, d, force, readonly);
	vireo_domain_free(d);
	return rc;
}

/* "started"/"booted" -> "Started Booted", as virsh event prints. */
static void capitalized(const char *s, char *out, size_t size)
{
	snprintf(out, size, "%s", s ? s : "");
	if (out[0])
		out[0] = (char)toupper((unsigned char)out[0]);
	for (char *p = out; *p; p++)
		if (*p == ' ')
			*p = '_';
}

static int cmd_event(struct vsh *vsh, struct vsh_args *a)
{
	bool loop = vsh_flag(a, "--loop");
	const char *timeout = NULL, *only = NULL, *v;
	vireo_stream *st;
	time_t deadline = 0;
	int count = 0, rc = 0;

	vsh_flag(a, "--all");
	vsh_flag(a, "--timestamp");
	timeout = vsh_option(a, "timeout");
	if ((v = vsh_option(a, "event")) && strcmp(v, "lifecycle")) {
		fprintf(stderr, "error: unknown event type '%s' (vireo has 'lifecycle')\n", v);
		return -1;
	}
	only = vsh_value(a, "domain");
	if (vsh_check_unused(a, "event") < 0 || !vsh_conn(vsh))
		return -1;
	if (timeout) {
		char *end;
		long t = strtol(timeout, &end, 10);
		if (*end || t <= 0) {
			fprintf(stderr, "error: invalid timeout '%s'\n", timeout);
			return -1;
		}
		deadline = time(NULL) + t;
	}
	st = vireo_conn_open_events(vsh->conn, 0);
	if (!st) {
		vsh_error("cannot listen for events");
		return -1;
	}
	for (;;) {
		struct pollfd p = { .fd = vireo_stream_get_fd(st), .events = POLLIN };
		int wait_ms = deadline ? (int)(deadline - time(NULL)) * 1000 : -1;
		if (deadline && wait_ms <= 0)
			break;
		if (!vireo_stream_has_pending(st) && poll(&p, 1, wait_ms) <= 0)
			continue;
		char *msg;
		long n = vireo_stream_recv(st, &msg, 0);
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		json_object *o = json_tokener_parse(msg), *dom = NULL, *ev = NULL, *det = NULL;
		free(msg);
		if (!o)
			continue;
		json_object_object_get_ex(o, "domain", &dom);
		json_object_object_get_ex(o, "event", &ev);
		json_object_object_get_ex(o, "detail", &det);
		if (!only || (dom && !strcmp(json_object_get_string(dom), only))) {
			char e[64], dt[64];
			capitalized(json_object_get_string(ev), e, sizeof(e));
			capitalized(json_object_get_string(det), dt, sizeof(dt));
			if (vsh->json)
				printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			else
				printf("event 'lifecycle' for domain '%s': %s %s\n",
					dom ? json_object_get_string(dom) : "?", e, dt);
			fflush(stdout);
			count++;
		}
		json_object_put(o);
		if (count && !loop)
			break;
	}
	vireo_stream_free(st);
	printf("events received: %d\n\n", count);
	return rc;
}

const struct vsh_cmd vsh_console_cmds[] = {
	{ "console", cmd_console, "console <domain> [--force] [--read-only]", "connect to the guest console" },
	{ "event", cmd_event, "event [<domain>] [--event lifecycle] [--loop] [--timeout N] [--json]",
	  "Domain Events" },
	{ NULL, NULL, NULL, NULL },
};
