/* A stand-in for vireo-vmm in the daemon's tests (this host cannot run a Linux
 * guest): it takes vireo-vmm's options, serves QMP on the given socket with the
 * same commands and events, echoes its serial console, and lets a test act as the
 * guest: SIGUSR1 powers off, SIGUSR2 reboots, x-crash dies leaving its pidfile.
 * "fake.qmp_delay_ms=N" in the kernel command line makes it open QMP N ms late
 * (a slow VMM start, per domain). A --channel named org.qemu.guest_agent.0 is
 * served by a fake guest agent: guest-sync(-delimited), guest-ping, guest-info,
 * guest-network-get-interfaces (lo, eth0, dummy0), guest-get-host-name, -osinfo,
 * -timezone; an error for guest-get-users (disabled) and anything else; no answer
 * at all to guest-fake-hang; before each sync answer a stale answer, as an
 * earlier client may have left. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

static const char *qmp_path, *serial_path, *pidfile, *name = "fake";
static int qmp_listen_fd = -1, qmp_fd = -1, ser_listen_fd = -1, ser_fd = -1;
static bool no_reboot, paused, powerdown_pending;
static int cpus = 1;
static volatile sig_atomic_t sig_poweroff, sig_reboot, sig_term;
static char inbuf[65536];
static size_t inlen;
static const char *agent_path;
static int agent_listen_fd = -1, agent_fd = -1;
static char agent_buf[8192];
static size_t agent_len;

static int listen_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "fake-vmm: socket path too long: %s\n", path);
		exit(1);
	}
	strcpy(a.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
		fprintf(stderr, "fake-vmm: cannot listen on %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static void send_json(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	if (qmp_fd >= 0) {
		if (write(qmp_fd, s, strlen(s)) < 0 || write(qmp_fd, "\r\n", 2) < 0) {
			close(qmp_fd);
			qmp_fd = -1;
		}
	}
	json_object_put(o);
}

static void emit(const char *event, json_object *data)
{
	json_object *o = json_object_new_object(), *ts = json_object_new_object();
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	json_object_object_add(ts, "seconds", json_object_new_int64(t.tv_sec));
	json_object_object_add(ts, "microseconds", json_object_new_int64(t.tv_nsec / 1000));
	json_object_object_add(o, "event", json_object_new_string(event));
	if (data)
		json_object_object_add(o, "data", data);
	json_object_object_add(o, "timestamp", ts);
	send_json(o);
}

static json_object *shutdown_data(bool guest, const char *reason)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "guest", json_object_new_boolean(guest));
	json_object_object_add(d, "reason", json_object_new_string(reason));
	return d;
}

static void clean_exit(int code)
{
	if (pidfile)
		unlink(pidfile);
	if (qmp_path)
		unlink(qmp_path);
	if (serial_path)
		unlink(serial_path);
	if (agent_path)
		unlink(agent_path);
	exit(code);
}

static void reply(json_object *ret)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "return", ret ? ret : json_object_new_object());
	send_json(o);
}

static void reply_error(const char *cls, const char *desc)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();

	json_object_object_add(e, "class", json_object_new_string(cls));
	json_object_object_add(e, "desc", json_object_new_string(desc));
	json_object_object_add(o, "error", e);
	send_json(o);
}

static void handle_command(json_object *msg)
{
	json_object *ex;
	const char *cmd;

	if (!json_object_object_get_ex(msg, "execute", &ex)) {
		reply_error("GenericError", "Missing 'execute'");
		return;
	}
	cmd = json_object_get_string(ex);
	if (!strcmp(cmd, "qmp_capabilities")) {
		reply(NULL);
	} else if (!strcmp(cmd, "query-status")) {
		json_object *r = json_object_new_object();
		json_object_object_add(r, "status", json_object_new_string(paused ? "paused" : "running"));
		json_object_object_add(r, "running", json_object_new_boolean(!paused));
		json_object_object_add(r, "singlestep", json_object_new_boolean(false));
		reply(r);
	} else if (!strcmp(cmd, "stop")) {
		reply(NULL);
		if (!paused) {
			paused = true;
			emit("STOP", NULL);
		}
	} else if (!strcmp(cmd, "cont")) {
		reply(NULL);
		if (paused) {
			paused = false;
			emit("RESUME", NULL);
		}
	} else if (!strcmp(cmd, "system_powerdown")) {
		reply(NULL);
		emit("POWERDOWN", NULL);
		/* The "guest" honours the power button unless told to ignore it. */
		if (!getenv("FAKE_VMM_IGNORE_POWERDOWN"))
			powerdown_pending = true;
	} else if (!strcmp(cmd, "system_reset")) {
		reply(NULL);
		emit("RESET", shutdown_data(false, "host-qmp-system-reset"));
	} else if (!strcmp(cmd, "quit")) {
		reply(NULL);
		emit("SHUTDOWN", shutdown_data(false, "host-qmp-quit"));
		clean_exit(0);
	} else if (!strcmp(cmd, "query-name")) {
		json_object *r = json_object_new_object();
		json_object_object_add(r, "name", json_object_new_string(name));
		reply(r);
	} else if (!strcmp(cmd, "query-version")) {
		json_object *r = json_object_new_object(), *q = json_object_new_object();
		json_object_object_add(q, "major", json_object_new_int(0));
		json_object_object_add(q, "minor", json_object_new_int(1));
		json_object_object_add(q, "micro", json_object_new_int(0));
		json_object_object_add(r, "qemu", q);
		json_object_object_add(r, "package", json_object_new_string("fake-vmm"));
		reply(r);
	} else if (!strcmp(cmd, "query-cpus-fast")) {
		json_object *arr = json_object_new_array();
		for (int i = 0; i < cpus; i++) {
			json_object *c = json_object_new_object();
			json_object_object_add(c, "cpu-index", json_object_new_int(i));
			json_object_object_add(c, "thread-id", json_object_new_int(getpid()));
			json_object_array_add(arr, c);
		}
		reply(arr);
	} else if (!strcmp(cmd, "x-crash")) {
		/* Die as a crashing VMM does: no SHUTDOWN, pidfile left behind. */
		_exit(3);
	} else {
		reply_error("CommandNotFound", "The command is not found");
	}
}

static void agent_write(const char *s)
{
	if (agent_fd >= 0 && write(agent_fd, s, strlen(s)) < 0) {
		close(agent_fd);
		agent_fd = -1;
	}
}

static void agent_command(json_object *msg)
{
	json_object *ex, *args, *id;
	const char *cmd = json_object_object_get_ex(msg, "execute", &ex) ? json_object_get_string(ex) : "";
	char line[256];

	if (!strcmp(cmd, "guest-sync") || !strcmp(cmd, "guest-sync-delimited")) {
		long long v = json_object_object_get_ex(msg, "arguments", &args) &&
			json_object_object_get_ex(args, "id", &id) ? json_object_get_int64(id) : 0;
		agent_write("{\"return\": 7}\n");   /* stale, from "an earlier client" */
		if (!strcmp(cmd, "guest-sync-delimited"))
			agent_write("\xff");
		snprintf(line, sizeof(line), "{\"return\": %lld}\n", v);
		agent_write(line);
	} else if (!strcmp(cmd, "guest-ping")) {
		agent_write("{\"return\": {}}\n");
	} else if (!strcmp(cmd, "guest-info")) {
		agent_write("{\"return\": {\"version\": \"fake\", \"supported_commands\": []}}\n");
	} else if (!strcmp(cmd, "guest-network-get-interfaces")) {
		agent_write("{\"return\": [{\"name\": \"lo\", \"hardware-address\": \"00:00:00:00:00:00\", "
			    "\"ip-addresses\": [{\"ip-address-type\": \"ipv4\", \"ip-address\": \"127.0.0.1\", \"prefix\": 8}, "
			    "{\"ip-address-type\": \"ipv6\", \"ip-address\": \"::1\", \"prefix\": 128}]}, "
			    "{\"name\": \"eth0\", \"hardware-address\": \"52:54:00:12:34:56\", \"ip-addresses\": "
			    "[{\"ip-address-type\": \"ipv4\", \"ip-address\": \"192.168.122.50\", \"prefix\": 24}]}, "
			    "{\"name\": \"dummy0\", \"hardware-address\": \"52:54:00:00:00:01\"}]}\n");
	} else if (!strcmp(cmd, "guest-get-host-name")) {
		agent_write("{\"return\": {\"host-name\": \"fakehost\"}}\n");
	} else if (!strcmp(cmd, "guest-get-osinfo")) {
		agent_write("{\"return\": {\"id\": \"fakeos\", \"name\": \"Fake OS\", \"kernel-release\": \"6.1.0\", "
			    "\"machine\": \"x86_64\"}}\n");
	} else if (!strcmp(cmd, "guest-get-timezone")) {
		agent_write("{\"return\": {\"zone\": \"UTC\", \"offset\": 0}}\n");
	} else if (!strcmp(cmd, "guest-get-users")) {
		/* as a guest whose agent has it disabled: guestinfo leaves the group out */
		agent_write("{\"error\": {\"class\": \"GenericError\", \"desc\": \"command disabled\"}}\n");
	} else if (!strcmp(cmd, "guest-fake-hang")) {
		/* no answer */
	} else {
		agent_write("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no such command\"}}\n");
	}
}

/* Lines in from the agent socket (0xFF bytes reset the parser, as qemu-ga's). */
static void agent_input(void)
{
	ssize_t got = read(agent_fd, agent_buf + agent_len, sizeof(agent_buf) - 1 - agent_len);
	char *nl;

	if (got <= 0) {
		close(agent_fd);
		agent_fd = -1;
		agent_len = 0;
		return;
	}
	agent_len += (size_t)got;
	while (agent_fd >= 0 && (nl = memchr(agent_buf, '\n', agent_len))) {
		size_t used = (size_t)(nl - agent_buf) + 1, start = 0;
		*nl = 0;
		for (size_t i = 0; i < used - 1; i++)
			if ((unsigned char)agent_buf[i] == 0xff)
				start = i + 1;
		json_object *m = json_tokener_parse(agent_buf + start);
		if (m)
			agent_command(m);
		json_object_put(m);
		memmove(agent_buf, nl + 1, agent_len - used);
		agent_len -= used;
	}
	if (agent_len == sizeof(agent_buf) - 1)
		agent_len = 0;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		sig_poweroff = 1;
	else if (sig == SIGUSR2)
		sig_reboot = 1;
	else
		sig_term = 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' }, { "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'a' }, { "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' }, { "serial", required_argument, NULL, 's' },
		{ "qmp", required_argument, NULL, 'q' }, { "name", required_argument, NULL, 'n' },
		{ "pidfile", required_argument, NULL, 'p' }, { "no-reboot", no_argument, NULL, 'R' },
		{ "markers", required_argument, NULL, 'M' }, { "disk", required_argument, NULL, 'd' },
		{ "rng", no_argument, NULL, 'g' }, { "net", required_argument, NULL, 'N' },
		{ "channel", required_argument, NULL, 'C' }, { 0 },
	};
	const char *kernel = NULL, *cmdline = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	int c;

	while ((c = getopt_long(argc, argv, "k:i:a:m:c:s:q:n:p:d:", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kernel = optarg; break;
		case 'c': cpus = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		case 's': if (!strncmp(optarg, "unix:", 5)) serial_path = optarg + 5; break;
		case 'q':
			if (strncmp(optarg, "unix:", 5)) {
				fprintf(stderr, "fake-vmm: --qmp must be unix:PATH\n");
				return 2;
			}
			qmp_path = optarg + 5;
			break;
		case 'n': name = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'R': no_reboot = true; break;
		case 'd':
			/* As vireo-vmm: a disk whose file cannot be opened stops the start. */
			if (strncmp(optarg, "path=", 5) || access(strndupa(optarg + 5, strcspn(optarg + 5, ",")), R_OK)) {
				fprintf(stderr, "fake-vmm: --disk %s: cannot open the file\n", optarg);
				return 1;
			}
			break;
		case 'a': cmdline = optarg; break;
		case 'C':
			/* name=NAME,path=PATH, as vireo-vmm takes it */
			if (strncmp(optarg, "name=", 5) || !strstr(optarg, ",path=")) {
				fprintf(stderr, "fake-vmm: --channel %s: want name=NAME,path=PATH\n", optarg);
				return 2;
			}
			if (!strncmp(optarg + 5, "org.qemu.guest_agent.0,", 23))
				agent_path = strstr(optarg, ",path=") + 6;
			break;
		case 'i': case 'm': case 'M': case 'g': case 'N': break;
		default: return 2;
		}
	}
	if (!kernel || access(kernel, R_OK) < 0) {
		fprintf(stderr, "fake-vmm: kernel %s: %s\n", kernel ? kernel : "(none)",
			kernel ? strerror(errno) : "missing --kernel");
		return 1;
	}
	if (getenv("FAKE_VMM_FAIL_START")) {
		fprintf(stderr, "fake-vmm: failing at start as asked\n");
		return 1;
	}
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	if (serial_path)
		ser_listen_fd = listen_unix(serial_path);
	const char *delay = cmdline ? strstr(cmdline, "fake.qmp_delay_ms=") : NULL;
	if (delay) {
		long ms = atol(delay + strlen("fake.qmp_delay_ms="));
		struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !sig_term)
			;
	}
	if (qmp_path)
		qmp_listen_fd = listen_unix(qmp_path);
	if (agent_path)
		agent_listen_fd = listen_unix(agent_path);
	fprintf(stderr, "fake-vmm: %s running (%d vCPUs)\n", name, cpus);
	for (;;) {
		struct pollfd p[4];
		int n = 0, r;

		if (sig_term) {
			emit("SHUTDOWN", shutdown_data(false, "host-signal"));
			clean_exit(0);
		}
		if (sig_poweroff || powerdown_pending) {
			emit("SHUTDOWN", shutdown_data(true, "guest-shutdown"));
			clean_exit(0);
		}
		if (sig_reboot) {
			sig_reboot = 0;
			if (no_reboot) {
				emit("SHUTDOWN", shutdown_data(true, "guest-reset"));
				clean_exit(0);
			}
			emit("RESET", shutdown_data(true, "guest-reset"));
		}
		p[n++] = (struct pollfd){ .fd = qmp_fd >= 0 ? qmp_fd : qmp_listen_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = ser_fd >= 0 ? ser_fd : ser_listen_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = agent_fd >= 0 ? agent_fd : agent_listen_fd, .events = POLLIN };
		r = poll(p, (nfds_t)n, 200);
		if (r < 0 && errno != EINTR)
			clean_exit(1);
		if (r <= 0)
			continue;
		if (p[0].fd >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (qmp_fd < 0) {
				qmp_fd = accept4(qmp_listen_fd, NULL, NULL, SOCK_CLOEXEC);
				inlen = 0;
				if (qmp_fd >= 0) {
					json_object *g = json_object_new_object(), *q = json_object_new_object();
					json_object *v = json_object_new_object(), *qe = json_object_new_object();
					json_object_object_add(qe, "major", json_object_new_int(0));
					json_object_object_add(qe, "minor", json_object_new_int(1));
					json_object_object_add(qe, "micro", json_object_new_int(0));
					json_object_object_add(v, "qemu", qe);
					json_object_object_add(v, "package", json_object_new_string("fake-vmm"));
					json_object_object_add(q, "version", v);
					json_object_object_add(q, "capabilities", json_object_new_array());
					json_object_object_add(g, "QMP", q);
					send_json(g);
				}
			} else {
				ssize_t got = read(qmp_fd, inbuf + inlen, sizeof(inbuf) - 1 - inlen);
				if (got <= 0) {
					close(qmp_fd);
					qmp_fd = -1;
					continue;
				}
				inlen += (size_t)got;
				char *nl;
				while (qmp_fd >= 0 && (nl = memchr(inbuf, '\n', inlen))) {
					*nl = 0;
					json_object *m = json_tokener_parse(inbuf);
					size_t used = (size_t)(nl - inbuf) + 1;
					memmove(inbuf, nl + 1, inlen - used);
					inlen -= used;
					if (m)
						handle_command(m);
					else
						reply_error("GenericError", "JSON parse error");
					json_object_put(m);
				}
				if (inlen == sizeof(inbuf) - 1)
					inlen = 0;
			}
		}
		if (p[2].fd >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (agent_fd < 0)
				agent_fd = accept4(agent_listen_fd, NULL, NULL, SOCK_CLOEXEC);
			else
				agent_input();
		}
		if (p[1].fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (ser_fd < 0) {
				ser_fd = accept4(ser_listen_fd, NULL, NULL, SOCK_CLOEXEC);
				if (ser_fd >= 0) {
					char banner[128];
					int len = snprintf(banner, sizeof(banner), "fake-vmm %s console\r\n", name);
					if (write(ser_fd, banner, (size_t)len) < 0) {
						close(ser_fd);
						ser_fd = -1;
					}
				}
			} else {
				char b[512];
				ssize_t got = read(ser_fd, b, sizeof(b));
				if (got <= 0 || write(ser_fd, b, (size_t)got) < 0) {
					close(ser_fd);
					ser_fd = -1;
				}
			}
		}
	}
}
