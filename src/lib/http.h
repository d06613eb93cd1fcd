/* libvireo's HTTP/1.1 client over a unix socket (http.c). */
#ifndef VIREO_LIB_HTTP_H
#define VIREO_LIB_HTTP_H

#include <stddef.h>

struct http_answer {
	int status;
	char *body;        /* NUL-terminated; free() it */
	size_t body_len;
};

int http_connect(const char *sock);
/* Wait (bounded) for poll events on fd. */
int http_wait(int fd, short events, const char *sock);
/* Send all of data (bounded waits). */
int http_send_all(int fd, const char *data, size_t len, const char *sock);
/* Read one answer (status, Content-Length body) from a connected socket. */
int http_read_answer(int fd, const char *sock, struct http_answer *ans);
/* One request and its answer. -1 with err_set on transport failure; any HTTP
 * status (also 4xx/5xx) is a success here. */
int http_request(const char *sock, const char *method, const char *path, const char *content_type,
		 const char *body, size_t body_len, struct http_answer *ans);

#endif
