/* libFuzzer target of the QMP server: each input is fed, in pieces whose sizes come
 * from the input itself, to one client of a real server (no socket file) so that
 * the tokenizer, request checks, dispatch and output buffering all see it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "vmm/evloop.h"
#include "vmm/qmp/qmp.h"

static struct evloop *loop;
static struct qmp_server *srv;

static int cmd_echo(void *opaque, struct json_object *args, struct json_object **ret)
{
	(void)opaque;
	*ret = NULL;
	/* Exercise the argument helpers the VMM's handlers use. */
	const char *s;
	long long n;
	int b;
	static const char *const allowed[] = { "s", "n", "b", NULL };

	if (qmp_args_check(args, allowed) < 0 || qmp_arg_string(args, "s", 0, &s) < 0 ||
	    qmp_arg_int(args, "n", 0, &n) < 0 || qmp_arg_bool(args, "b", 0, &b) < 0)
		return -1;
	return 0;
}

static void drain(int fd)
{
	char buf[65536];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];

	if (!loop) {
		log_set_level(LOG_ERROR);
		loop = evloop_new();
		srv = qmp_server_new(loop, NULL, 7, 2, 0);
		if (!loop || !srv || qmp_register_command(srv, "echo", cmd_echo, NULL) < 0)
			__builtin_trap();
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (qmp_server_add_client_fd(srv, sv[0]) < 0) {
		close(sv[1]);
		return 0;
	}
	/* The first byte picks whether the client negotiates first. */
	if (size && (data[0] & 1)) {
		static const char neg[] = "{\"execute\":\"qmp_capabilities\"}\n";

		qmp_feed_for_test(srv, neg, sizeof(neg) - 1);
	}
	if (size) {
		data++;
		size--;
	}
	/* Split points from the data: 0x1e (record separator) ends a piece. */
	while (size) {
		const uint8_t *sep = memchr(data, 0x1e, size);
		size_t n = sep ? (size_t)(sep - data) + 1 : size;

		drain(sv[1]);
		if (qmp_feed_for_test(srv, data, n) < 0)
			break;
		data += n;
		size -= n;
	}
	qmp_emit_event(srv, "FUZZ", NULL);
	evloop_run_once(loop, 0);
	drain(sv[1]);
	close(sv[1]);
	/* Let the server see the hang-up and free the client. */
	for (int i = 0; i < 4 && qmp_server_client_count(srv); i++)
		evloop_run_once(loop, 0);
	return 0;
}
