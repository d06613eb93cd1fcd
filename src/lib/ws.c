/* A minimal WebSocket client (RFC 6455) for libvireo's streams over the unix
 * socket: the upgrade handshake, masked frames out, unmasked frames in, ping
 * answered, close honoured, messages bounded. Used by the console and events. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "lib/http.h"
#include "lib/ws.h"

#define WS_MAX_MESSAGE (1u << 20)

struct ws {
	int fd;
	uint8_t *buf;       /* received, not yet parsed */
	size_t len, cap;
	bool closed;
	char close_reason[128];
};

/* Make room for `more` bytes after len; -1 with the error set. */
static int ws_grow(struct ws *w, size_t more, size_t limit)
{
	uint8_t *nb;
	size_t cap = w->cap ? w->cap : 8192;

	if (w->cap - w->len >= more)
		return 0;
	while (cap - w->len < more)
		cap *= 2;
	if (cap > limit)
		return err_set(ERR_CORRUPT, "WebSocket data over %zu bytes", limit);
	nb = realloc(w->buf, cap + 1);
	if (!nb)
		return err_set(ERR_NOMEM, "out of memory");
	w->buf = nb;
	w->cap = cap;
	return 0;
}

static void base64(const uint8_t *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = 0;
}

static int ws_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_set_errno(ERR_IO, errno, "WebSocket send");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int ws_send_frame(struct ws *w, int opcode, const void *data, size_t len)
{
	uint8_t head[14], mask[4];
	size_t h = 0;
	uint8_t *frame;
	int rc;

	if (getrandom(mask, sizeof(mask), 0) != sizeof(mask))
		return err_set_errno(ERR_INTERNAL, errno, "getrandom");
	head[h++] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		head[h++] = (uint8_t)(0x80 | len);
	} else if (len <= 0xffff) {
		head[h++] = 0x80 | 126;
		head[h++] = (uint8_t)(len >> 8);
		head[h++] = (uint8_t)len;
	} else {
		head[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			head[h++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	memcpy(head + h, mask, 4);
	h += 4;
	frame = malloc(h + len);
	if (!frame)
		return err_set(ERR_NOMEM, "out of memory");
	memcpy(frame, head, h);
	for (size_t i = 0; i < len; i++)
		frame[h + i] = ((const uint8_t *)data)[i] ^ mask[i & 3];
	rc = ws_write_all(w->fd, frame, h + len);
	free(frame);
	return rc;
}

struct ws *ws_open(const char *sock, const char *path, int *http_status, char **error_body)
{
	uint8_t key[16];
	char key64[32], req[1024], *hdr_end;
	struct ws *w;
	int fd, n;

	*http_status = 0;
	*error_body = NULL;
	if (getrandom(key, sizeof(key), 0) != sizeof(key)) {
		err_set_errno(ERR_INTERNAL, errno, "getrandom");
		return NULL;
	}
	base64(key, sizeof(key), key64);
	n = snprintf(req, sizeof(req),
		"GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, key64);
	if (n >= (int)sizeof(req)) {
		err_set(ERR_INVALID, "path too long");
		return NULL;
	}
	fd = http_connect(sock);
	if (fd < 0)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	w->fd = fd;
	if (ws_write_all(fd, (uint8_t *)req, (size_t)n) < 0)
		goto fail;
	/* Read the answer head; frames may follow it in the same read. */
	for (;;) {
		ssize_t got;
		if (ws_grow(w, 4096, 1 << 20) < 0)
			goto fail;
		got = recv(fd, w->buf + w->len, w->cap - w->len, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			err_set(ERR_IO, "%s closed during the WebSocket upgrade", sock);
			goto fail;
		}
		w->len += (size_t)got;
		w->buf[w->len] = 0;
		if ((hdr_end = strstr((char *)w->buf, "\r\n\r\n")))
			break;
	}
	*http_status = atoi((char *)w->buf + 9);
	if (*http_status != 101) {
		/* An error answer: hand its JSON body to the caller. */
		char *body = hdr_end + 4;
		char *cl = strcasestr((char *)w->buf, "\r\nContent-Length:");
		size_t want = cl && cl < hdr_end ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
		while (want <= 65536 && (size_t)((char *)w->buf + w->len - body) < want) {
			size_t off = (size_t)(body - (char *)w->buf);
			if (ws_grow(w, 4096, 1 << 20) < 0)
				break;
			ssize_t got = recv(fd, w->buf + w->len, w->cap - w->len, 0);
			if (got <= 0)
				break;
			w->len += (size_t)got;
			w->buf[w->len] = 0;
			body = (char *)w->buf + off;
		}
		*error_body = strdup(body);
		err_set(ERR_INVALID, "WebSocket upgrade refused with HTTP %d", *http_status);
		goto fail;
	}
	size_t used = (size_t)(hdr_end + 4 - (char *)w->buf);
	memmove(w->buf, w->buf + used, w->len - used);
	w->len -= used;
	return w;
fail:
	ws_close(w);
	return NULL;
}

int ws_fd(const struct ws *w)
{
	return w->fd;
}

bool ws_pending(const struct ws *w)
{
	return w->len > 0;
}

int ws_send(struct ws *w, bool binary, const void *data, size_t len)
{
	if (w->closed)
		return err_set(ERR_IO, "WebSocket is closed");
	return ws_send_frame(w, binary ? 2 : 1, data, len);
}

/* Parse one whole frame from the buffer if there is one: 1 = frame, 0 = need more. */
static int ws_parse(struct ws *w, int *opcode, bool *fin, uint8_t **payload, size_t *plen, size_t *used)
{
	size_t h = 2;
	uint64_t len;

	if (w->len < 2)
		return 0;
	*fin = w->buf[0] & 0x80;
	*opcode = w->buf[0] & 0x0f;
	if (w->buf[1] & 0x80)
		return err_set(ERR_CORRUPT, "server sent a masked frame");
	len = w->buf[1] & 0x7f;
	if (len == 126) {
		if (w->len < 4)
			return 0;
		len = (uint64_t)w->buf[2] << 8 | w->buf[3];
		h = 4;
	} else if (len == 127) {
		if (w->len < 10)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | w->buf[2 + i];
		h = 10;
	}
	if (len > WS_MAX_MESSAGE)
		return err_set(ERR_CORRUPT, "WebSocket frame of %llu bytes is over the limit",
			(unsigned long long)len);
	if (w->len < h + len)
		return 0;
	*payload = w->buf + h;
	*plen = (size_t)len;
	*used = h + (size_t)len;
	return 1;
}

ssize_t ws_recv(struct ws *w, uint8_t **out, bool *binary)
{
	uint8_t *msg = NULL;
	size_t mlen = 0;

	*out = NULL;
	for (;;) {
		int opcode = 0, r;
		bool fin = false;
		uint8_t *payload = NULL;
		size_t plen = 0, used = 0;

		if (w->closed)
			return 0;
		r = ws_parse(w, &opcode, &fin, &payload, &plen, &used);
		if (r < 0) {
			free(msg);
			return -1;
		}
		if (r == 0) {
			ssize_t got;
			if (ws_grow(w, 65536, 4 * WS_MAX_MESSAGE) < 0) {
				free(msg);
				return -1;
			}
			got = recv(w->fd, w->buf + w->len, w->cap - w->len, 0);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				w->closed = true;
				free(msg);
				return 0;
			}
			w->len += (size_t)got;
			continue;
		}
		if (opcode == 8) {
			if (plen > 2)
				snprintf(w->close_reason, sizeof(w->close_reason), "%.*s", (int)plen - 2, payload + 2);
			ws_send_frame(w, 8, payload, plen < 2 ? plen : 2);
			w->closed = true;
			free(msg);
			return 0;
		}
		if (opcode == 9) {
			uint8_t copy[125];
			size_t n = MIN(plen, sizeof(copy));
			memcpy(copy, payload, n);
			memmove(w->buf, w->buf + used, w->len - used);
			w->len -= used;
			ws_send_frame(w, 10, copy, n);
			continue;
		}
		if (opcode == 1 || opcode == 2 || opcode == 0) {
			uint8_t *nm;
			if (opcode)
				*binary = opcode == 2;
			if (mlen + plen > WS_MAX_MESSAGE || !(nm = realloc(msg, mlen + plen + 1))) {
				free(msg);
				err_set(ERR_CORRUPT, "WebSocket message over the limit");
				return -1;
			}
			msg = nm;
			memcpy(msg + mlen, payload, plen);
			mlen += plen;
			msg[mlen] = 0;
		}
		memmove(w->buf, w->buf + used, w->len - used);
		w->len -= used;
		if ((opcode == 1 || opcode == 2 || opcode == 0) && fin) {
			*out = msg;
			return (ssize_t)mlen;
		}
	}
}

const char *ws_close_reason(const struct ws *w)
{
	return w->close_reason;
}

void ws_close(struct ws *w)
{
	if (!w)
		return;
	if (!w->closed && w->fd >= 0)
		ws_send_frame(w, 8, "\x03\xe8", 2);
	if (w->fd >= 0)
		close(w->fd);
	free(w->buf);
	free(w);
}
