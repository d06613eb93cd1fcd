/* QMP server of vireo-vmm: the QEMU Machine Protocol over a unix socket, on the
 * main-thread event loop. The server owns the wire format, capability negotiation
 * and the built-in commands; the VMM registers its own commands and emits events. */
#ifndef VIREO_VMM_QMP_H
#define VIREO_VMM_QMP_H

#include <stddef.h>

#include "common/error.h"

struct evloop;
struct json_object;
struct qmp_server;

/* Limits that keep one client from exhausting the VMM (see qmp.c). */
#define QMP_MAX_INPUT (1u << 20)        /* bytes of one pending (incomplete) request */
#define QMP_MAX_OUTPUT (4u << 20)       /* bytes queued for one client before it is dropped */
#define QMP_MAX_DEPTH 64                /* JSON nesting depth of one request */
#define QMP_MAX_CLIENTS 64
#define QMP_MAX_PENDING_EVENTS 4096     /* events queued between two main-loop rounds */

/* Handler: args is the "arguments" object (never NULL: an empty object if absent).
 * On success set *ret (a new json_object, or NULL for {}) and return 0; on failure
 * return -1 with err_set(): the server answers
 * {"error": {"class": <qmp_error_class(err_code())>, "desc": err_message()}}.
 * Handlers run on the main thread, one at a time; they must not free the server. */
typedef int (*qmp_command_fn)(void *opaque, struct json_object *args, struct json_object **ret);

/* Listen on socket_path (mode 0600). A stale socket file there is replaced; a live
 * one (someone accepts on it) is refused with ERR_BUSY, a non-socket with ERR_EXISTS.
 * socket_path may be NULL: no listener, clients come from qmp_server_add_client_fd().
 * Main thread only. NULL with the error set on failure. */
struct qmp_server *qmp_server_new(struct evloop *loop, const char *socket_path, int qemu_major,
				  int qemu_minor, int qemu_micro);
/* Sends the events still queued and what the sockets take of pending output
 * (without waiting), closes every client, unlinks the socket. Main thread only,
 * after every thread that may call qmp_emit_event() has stopped. NULL is a no-op. */
void qmp_server_free(struct qmp_server *s);

/* Add a command; names are QMP names ("query-status", "system_reset"). -1 with
 * ERR_EXISTS if taken (built-ins included), ERR_INVALID if the name is malformed. */
int qmp_register_command(struct qmp_server *s, const char *name, qmp_command_fn fn, void *opaque);

/* Send {"event": name, "data": data, "timestamp": ...} to every client that has
 * completed negotiation. Callable from any thread: the event is stamped
 * (CLOCK_REALTIME) and serialized here, queued, and sent by the main thread on its
 * next loop round. Takes ownership of data (may be NULL: no "data" member). */
void qmp_emit_event(struct qmp_server *s, const char *name, struct json_object *data);

/* Serve an already connected stream socket (e.g. one end of a socketpair, or an fd
 * passed by a parent). The server owns fd from here on, even on failure. */
int qmp_server_add_client_fd(struct qmp_server *s, int fd);
/* Number of connected clients (for tests and `info`-style queries). */
unsigned qmp_server_client_count(const struct qmp_server *s);

/* QMP error class for an error code: ERR_NOT_FOUND → "CommandNotFound", the rest
 * → "GenericError". */
const char *qmp_error_class(enum err_code code);
/* Let a failing handler pick another class ("DeviceNotFound", "DeviceNotActive",
 * "KVMMissingCap"...) for the error it is about to return; cls must be a string
 * literal or otherwise outlive the call. Applies to the current command only. */
void qmp_set_error_class(const char *cls);

/* Argument helpers for handlers, with QEMU's messages:
 * qmp_args_check: "Parameter 'x' is unexpected" for a member not in allowed (NULL-ended).
 * qmp_arg_*: "Parameter 'x' is missing" when required and absent (when optional and
 * absent they return 0 and leave *out untouched), "Invalid parameter type for 'x',
 * expected: string|integer|boolean" on a wrong type. -1 with ERR_INVALID set. */
int qmp_args_check(struct json_object *args, const char *const *allowed);
int qmp_arg_string(struct json_object *args, const char *name, int required, const char **out);
int qmp_arg_int(struct json_object *args, const char *name, int required, long long *out);
/* Unsigned: a negative value is refused; above UINT64_MAX saturates (json-c). */
int qmp_arg_uint(struct json_object *args, const char *name, int required, unsigned long long *out);
int qmp_arg_bool(struct json_object *args, const char *name, int required, int *out);

/* Fuzzing/test entry: feed bytes as if the most recently added client had sent
 * them (its replies go to its socket). -1 if there is no client or it was dropped. */
int qmp_feed_for_test(struct qmp_server *s, const void *data, size_t len);

#endif
