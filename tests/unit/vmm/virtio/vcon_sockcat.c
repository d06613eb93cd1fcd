/* vcon-sockcat: the host end of a virtio-console port for e2e checks, where
 * L1 has no socat: connect to a unix socket, send a text, read until an
 * expected text arrives, print what was read. Exit 0 found, 1 not.
 * --after TEXT: send only once TEXT has been read (the guest is listening). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	long deadline, timeout_s = 30, retry_s = 30;
	static char got[1 << 16];
	size_t len = 0;
	const char *send_text, *want, *after = NULL;
	int fd = -1, i = 1;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--timeout"))
			timeout_s = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--retry"))
			retry_s = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--after"))
			after = argv[i + 1];
		else
			break;
	}
	if (argc - i != 3) {
		fprintf(stderr, "usage: vcon-sockcat [--retry S] [--timeout S] [--after TEXT] SOCKET SEND WANT\n"
				"  SEND may use \\n; WANT is a plain substring\n");
		return 2;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[i]);
	send_text = argv[i + 1];
	want = argv[i + 2];
	deadline = now_ms() + retry_s * 1000;
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		if (fd >= 0)
			close(fd);
		if (now_ms() > deadline) {
			fprintf(stderr, "vcon-sockcat: cannot connect to %s: %s\n", a.sun_path, strerror(errno));
			return 1;
		}
		usleep(100 * 1000);
	}
	deadline = now_ms() + timeout_s * 1000;
	while (after && len + 1 < sizeof(got)) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left = deadline - now_ms();
		ssize_t n;

		got[len] = '\0';
		if (strstr(got, after))
			break;
		if (left <= 0 || poll(&p, 1, (int)left) != 1 || (n = read(fd, got + len, sizeof(got) - 1 - len)) <= 0) {
			fwrite(got, 1, len, stdout);
			fprintf(stderr, "\nvcon-sockcat: '%s' never came\n", after);
			return 1;
		}
		len += (size_t)n;
	}
	for (const char *s = send_text; *s; s++) {
		char c = *s;

		if (c == '\\' && s[1] == 'n')
			c = '\n', s++;
		if (write(fd, &c, 1) != 1) {
			fprintf(stderr, "vcon-sockcat: write: %s\n", strerror(errno));
			return 1;
		}
	}
	deadline = now_ms() + timeout_s * 1000;
	while (len + 1 < sizeof(got)) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left = deadline - now_ms();
		ssize_t n;

		got[len] = '\0';
		if (*want && strstr(got, want))
			break;
		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			break;
		n = read(fd, got + len, sizeof(got) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	got[len] = '\0';
	fwrite(got, 1, len, stdout);
	putchar('\n');
	close(fd);
	return !*want || strstr(got, want) ? 0 : 1;
}
