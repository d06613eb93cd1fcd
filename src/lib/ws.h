/* libvireo's WebSocket client (ws.c). */
#ifndef VIREO_LIB_WS_H
#define VIREO_LIB_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ws;

/* Upgrade GET path on the unix socket. On a refusal, NULL with *http_status and
 * *error_body (the daemon's JSON error; free it) set. */
struct ws *ws_open(const char *sock, const char *path, int *http_status, char **error_body);
int ws_fd(const struct ws *w);
/* Bytes already buffered (poll() would not show them). */
bool ws_pending(const struct ws *w);
int ws_send(struct ws *w, bool binary, const void *data, size_t len);
/* Next whole message (malloc'd, NUL-terminated) in *out; 0 when closed, -1 on error. Blocks. */
ssize_t ws_recv(struct ws *w, uint8_t **out, bool *binary);
const char *ws_close_reason(const struct ws *w);
void ws_close(struct ws *w);

#endif
