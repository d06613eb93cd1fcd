/* Streamed request and answer bodies for libvireo's volume upload/download: the
 * body goes from a file descriptor to the socket (or back) a chunk at a time,
 * so a volume of any size passes through a fixed buffer. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "lib/libvireo-internal.h"

#define STREAM_CHUNK (256u * 1024)
#define STREAM_MAX_HEADER 16384   /* of an answer */
#define STREAM_MAX_HEAD 1024      /* of our request */

/* Connect and send a request head; *buf gets a chunk buffer. The socket, or -1
 * with the public error set. */
static int stream_start(vireo_conn *c, const char *head, int n, char **buf)
{
	int sock;

	if (n < 0 || n >= STREAM_MAX_HEAD) {
		vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", "request path too long");
		return -1;
	}
	*buf = malloc(STREAM_CHUNK + 1);
	if (!*buf) {
		vireo_set_error(VIREO_ERR_NO_MEMORY, 0, "no-memory", "out of memory");
		return -1;
	}
	sock = http_connect(c->socket);
	if (sock < 0 || http_send_all(sock, head, (size_t)n, c->socket) < 0) {
		vireo_set_error_from_err();
		if (sock >= 0)
			close(sock);
		return -1;
	}
	return sock;
}

int vireo_http_upload(vireo_conn *c, const char *path, int fd, uint64_t length,
		      vireo_progress_cb progress, void *opaque, struct http_answer *ans)
{
	autoclose int sock = -1;
	autofree char *buf = NULL;
	char head[STREAM_MAX_HEAD];
	uint64_t done = 0;

	sock = stream_start(c, head, snprintf(head, sizeof(head),
		"PUT %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: libvireo\r\n"
		"Content-Type: application/octet-stream\r\nContent-Length: %llu\r\n\r\n", path,
		(unsigned long long)length), &buf);
	if (sock < 0)
		return -1;
	while (done < length) {
		size_t want = (size_t)MIN((uint64_t)STREAM_CHUNK, length - done);
		ssize_t got = read(fd, buf, want);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			char m[160];
			snprintf(m, sizeof(m), "the file ended after %llu of %llu bytes%s%s",
				 (unsigned long long)done, (unsigned long long)length,
				 got < 0 ? ": " : "", got < 0 ? strerror(errno) : "");
			vireo_set_error(VIREO_ERR_INVALID_ARG, 0, "invalid-argument", m);
			return -1;
		}
		/* the daemon may answer early (an error) and close: stop sending then */
		if (http_send_all(sock, buf, (size_t)got, c->socket) < 0) {
			if (http_read_answer(sock, c->socket, ans) == 0 && ans->status >= 400) {
				vireo_set_error_from_answer(ans->status, ans->body);
				free(ans->body);
				ans->body = NULL;
				return -1;
			}
			vireo_set_error_from_err();
			return -1;
		}
		done += (uint64_t)got;
		if (progress && progress(done, length, opaque)) {
			vireo_set_error(VIREO_ERR_INTERNAL, 0, "aborted", "upload aborted");
			return -1;
		}
	}
	if (http_read_answer(sock, c->socket, ans) < 0) {
		vireo_set_error_from_err();
		return -1;
	}
	if (ans->status >= 400) {
		vireo_set_error_from_answer(ans->status, ans->body);
		free(ans->body);
		ans->body = NULL;
		return -1;
	}
	return 0;
}

static ssize_t recv_some(int sock, char *buf, size_t len, const char *name)
{
	for (;;) {
		ssize_t got;
		if (http_wait(sock, POLLIN, name) < 0)
			return -1;
		got = recv(sock, buf, len, MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got < 0)
			return err_set_errno(ERR_IO, errno, "cannot read from %s", name);
		return got;
	}
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			char m[160];
			snprintf(m, sizeof(m), "cannot write the downloaded data: %s", strerror(errno));
			vireo_set_error(VIREO_ERR_INTERNAL, 0, "io", m);
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int vireo_http_download(vireo_conn *c, const char *path, int fd, vireo_progress_cb progress, void *opaque)
{
	autoclose int sock = -1;
	autofree char *buf = NULL;
	char head[STREAM_MAX_HEAD], *hdr_end = NULL;
	size_t have = 0, off;
	long long clen = -1;
	uint64_t done = 0;
	int status;

	sock = stream_start(c, head, snprintf(head, sizeof(head),
		"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: libvireo\r\n\r\n",
		path), &buf);
	if (sock < 0)
		return -1;
	/* the header, then what came with it */
	while (!hdr_end) {
		ssize_t got;
		if (have >= STREAM_MAX_HEADER) {
			vireo_set_error(VIREO_ERR_PROTOCOL, 0, "protocol", "answer header over 16 KiB");
			return -1;
		}
		got = recv_some(sock, buf + have, STREAM_CHUNK - have, c->socket);
		if (got <= 0) {
			if (got == 0)
				err_set(ERR_CORRUPT, "the daemon closed the connection before answering");
			vireo_set_error_from_err();
			return -1;
		}
		have += (size_t)got;
		buf[have] = 0;
		hdr_end = strstr(buf, "\r\n\r\n");
	}
	if (have < 12 || strncmp(buf, "HTTP/1.", 7)) {
		vireo_set_error(VIREO_ERR_PROTOCOL, 0, "protocol", "answer is not HTTP");
		return -1;
	}
	status = atoi(buf + 9);
	for (char *p = strstr(buf, "\r\n"); p && p < hdr_end; p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, "Content-Length:", 15))
			clen = strtoll(p + 17, NULL, 10);
	off = (size_t)(hdr_end + 4 - buf);
	if (status >= 400) {
		/* error bodies are small JSON: read what remains of it */
		while (clen >= 0 && have - off < (size_t)clen && have < STREAM_CHUNK) {
			ssize_t got = recv_some(sock, buf + have, STREAM_CHUNK - have, c->socket);
			if (got <= 0)
				break;
			have += (size_t)got;
		}
		buf[have] = 0;
		vireo_set_error_from_answer(status, buf + off);
		return -1;
	}
	if (clen < 0) {
		vireo_set_error(VIREO_ERR_PROTOCOL, status, "protocol", "download answer without Content-Length");
		return -1;
	}
	for (;;) {
		size_t chunk = MIN(have - off, (size_t)((uint64_t)clen - done));
		ssize_t got;
		if (chunk && write_all(fd, buf + off, chunk) < 0)
			return -1;
		done += chunk;
		if (progress && chunk && progress(done, (uint64_t)clen, opaque)) {
			vireo_set_error(VIREO_ERR_INTERNAL, 0, "aborted", "download aborted");
			return -1;
		}
		if (done == (uint64_t)clen)
			return 0;
		off = 0;
		got = recv_some(sock, buf, STREAM_CHUNK, c->socket);
		if (got < 0) {
			vireo_set_error_from_err();
			return -1;
		}
		if (got == 0) {
			char m[160];
			snprintf(m, sizeof(m), "the download ended after %llu of %lld bytes",
				 (unsigned long long)done, clen);
			vireo_set_error(VIREO_ERR_PROTOCOL, status, "protocol", m);
			return -1;
		}
		have = (size_t)got;
	}
}
