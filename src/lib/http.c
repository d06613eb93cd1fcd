/* A small HTTP/1.1 client over a unix socket for libvireo: one request per
 * connection (Connection: close), bounded answers, a time limit on every wait.
 * Plain POSIX so that libvireo does not pull GLib into its users. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "lib/http.h"

#define HTTP_MAX_ANSWER (64u << 20)
#define HTTP_TIMEOUT_MS 60000

int http_wait(int fd, short events, const char *sock)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, HTTP_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return err_set(ERR_BUSY, "no answer from %s in %d s", sock, HTTP_TIMEOUT_MS / 1000);
	if (r < 0)
		return err_set_errno(ERR_IO, errno, "poll on %s", sock);
	return 0;
}

int http_send_all(int fd, const char *data, size_t len, const char *sock)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (http_wait(fd, POLLOUT, sock) < 0)
				return -1;
			continue;
		}
		if (n < 0)
			return err_set_errno(ERR_IO, errno, "cannot send to %s", sock);
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int http_connect(const char *sock)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(sock) >= sizeof(a.sun_path))
		return err_set(ERR_INVALID, "socket path '%s' is too long", sock);
	strcpy(a.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set_errno(ERR_IO, errno, "socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		return err_set_errno(ERR_IO, e, "Failed to connect socket to '%s'", sock);
	}
	return fd;
}

int http_request(const char *sock, const char *method, const char *path, const char *content_type,
		 const char *body, size_t body_len, struct http_answer *ans)
{
	autoclose int fd = -1;
	char head[1024];
	int n;

	memset(ans, 0, sizeof(*ans));
	n = snprintf(head, sizeof(head),
		"%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: libvireo\r\n"
		"%s%s%sContent-Length: %zu\r\n\r\n", method, path,
		content_type ? "Content-Type: " : "", content_type ? content_type : "",
		content_type ? "\r\n" : "", body_len);
	if (n < 0 || n >= (int)sizeof(head))
		return err_set(ERR_INVALID, "request path too long: %.100s", path);
	fd = http_connect(sock);
	if (fd < 0)
		return -1;
	if (http_send_all(fd, head, (size_t)n, sock) < 0 ||
	    (body_len && http_send_all(fd, body, body_len, sock) < 0))
		return -1;
	return http_read_answer(fd, sock, ans);
}

int http_read_answer(int fd, const char *sock, struct http_answer *ans)
{
	char *buf = NULL, *hdr_end, *p;
	size_t len = 0, cap = 0;
	long long clen = -1;

	memset(ans, 0, sizeof(*ans));
	for (;;) {
		ssize_t got;
		if (cap - len < 65536) {
			if (cap >= HTTP_MAX_ANSWER) {
				free(buf);
				return err_set(ERR_CORRUPT, "answer from %s over %u bytes", sock, HTTP_MAX_ANSWER);
			}
			cap = cap ? cap * 2 : 65536 + 1;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return err_set(ERR_NOMEM, "out of memory reading an answer");
			}
			buf = nb;
		}
		if (http_wait(fd, POLLIN, sock) < 0) {
			free(buf);
			return -1;
		}
		got = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got < 0) {
			int e = errno;
			free(buf);
			return err_set_errno(ERR_IO, e, "cannot read from %s", sock);
		}
		if (got == 0)
			break;
		len += (size_t)got;
		buf[len] = 0;
		/* Stop as soon as the whole body is in, whether or not the peer closes. */
		hdr_end = strstr(buf, "\r\n\r\n");
		if (hdr_end && clen < 0) {
			for (p = strstr(buf, "\r\n"); p && p < hdr_end; p = strstr(p + 2, "\r\n"))
				if (!strncasecmp(p + 2, "Content-Length:", 15))
					clen = strtoll(p + 17, NULL, 10);
		}
		if (hdr_end && clen >= 0 && len >= (size_t)(hdr_end + 4 - buf) + (size_t)clen)
			break;
	}
	if (!buf || len < 12 || strncmp(buf, "HTTP/1.", 7)) {
		free(buf);
		return err_set(ERR_CORRUPT, "answer from %s is not HTTP", sock);
	}
	buf[len] = 0;
	ans->status = atoi(buf + 9);
	hdr_end = strstr(buf, "\r\n\r\n");
	if (!hdr_end || ans->status < 100) {
		free(buf);
		return err_set(ERR_CORRUPT, "answer from %s has no header end or status", sock);
	}
	for (p = strstr(buf, "\r\n"); p && p < hdr_end; p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, "Transfer-Encoding:", 18) && strstr(p, "chunked") &&
		    strstr(p, "chunked") < hdr_end) {
			free(buf);
			return err_set(ERR_UNSUPPORTED, "chunked answers from %s are not supported", sock);
		}
	}
	size_t off = (size_t)(hdr_end + 4 - buf);
	size_t blen = len - off;
	if (clen >= 0 && (size_t)clen < blen)
		blen = (size_t)clen;
	ans->body = malloc(blen + 1);
	if (!ans->body) {
		free(buf);
		return err_set(ERR_NOMEM, "out of memory");
	}
	memcpy(ans->body, buf + off, blen);
	ans->body[blen] = 0;
	ans->body_len = blen;
	free(buf);
	return 0;
}
