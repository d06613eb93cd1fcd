/* vireod's shared state: the paths under --root, the domain table and the
 * prototypes of the daemon's modules (store_, qmpc_, vdom_, host_, api_).
 * Everything runs on the one GLib main loop thread; nothing here is locked. */
#ifndef VIREO_DAEMON_DAEMON_H
#define VIREO_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>
#include <json-c/json.h>

#include "conf/domain_conf.h"

#define VD_VERSION "0.1.0"
#define VD_MAX_REQUEST (1u << 20)   /* request bodies above 1 MiB are refused (413) */

struct vd_paths {
	char *root;            /* "" for the real system */
	char *state_dir;       /* ROOT/var/lib/vireo (0700) */
	char *domains_dir;     /* persistent configs NAME.xml */
	char *autostart_dir;   /* NAME links/markers */
	char *run_dir;         /* ROOT/run/vireo: sockets */
	char *run_domains_dir; /* NAME.status, NAME.qmp, NAME.console, NAME.pid */
	char *log_dir;         /* ROOT/var/log/vireo: NAME.log (VMM stdout/stderr) */
	char *sock_rw, *sock_ro;
};

struct vd {
	struct vd_paths paths;
	char *vmm_path;
	GHashTable *domains;   /* name -> struct vdom * (owned) */
	int next_id;
	GMainLoop *loop;
	void (*event_cb)(struct vd *vd, const char *name, const char *event, const char *detail);
};

/* libvirt's state numbers, so clients can map them one to one. */
enum vdom_state {
	VDOM_NOSTATE = 0, VDOM_RUNNING = 1, VDOM_PAUSED = 3, VDOM_SHUTOFF = 5, VDOM_CRASHED = 6,
};

struct qmpc;
struct cons;
struct vdom_op;

struct vdom {
	struct vd *vd;
	struct dom_def *def;       /* persistent config; NULL for a transient domain */
	struct dom_def *live;      /* the running copy; NULL when shut off */
	bool autostart;
	enum vdom_state state;
	const char *reason;        /* libvirt's reason word: booted, user, shutdown, destroyed, crashed, ... */
	int id;                    /* -1 when not running */
	pid_t pid;
	unsigned long long start_time;  /* /proc/PID/stat field 22: guards against pid reuse */
	char *qmp_path, *console_path, *pid_path, *status_path, *log_path;
	struct qmpc *qmp;
	struct cons *console;      /* console relay while running */
	/* What the VMM said before its QMP socket closed. */
	bool shutdown_seen, shutdown_guest;
	char shutdown_reason[32];
	bool destroying;
	/* STOP/RESUME events caused by our own stop/cont, already applied. */
	unsigned int expect_stop, expect_resume;
	unsigned int restarts;     /* on_crash/on_poweroff restarts, bounded per minute */
	int64_t restart_window;
	struct vdom_op *op;        /* a start or destroy in flight (other actions are refused) */
	guint exit_watch_id;       /* polling for the VMM's exit */
	int64_t exit_deadline;
	bool exit_killed;
};

/* The end of an action that runs on the main loop: rc 0, or -1 with the error
 * recorded. Never called before the action's function has returned; the
 * domain may be gone by then (a transient one that stopped). */
typedef void (*vdom_done_fn)(void *opaque, int rc);
typedef void (*vdom_stats_fn)(void *opaque, json_object *stats);

/* store.c: atomic files, and JSON from a buffer that need not end in NUL. */
json_object *store_parse_json(const char *data, size_t len);
int store_write_file(const char *path, const char *data, size_t len, mode_t mode);
int store_mkdir_p(const char *path, mode_t mode);
/* Move a file that could not be read aside as PATH.corrupt-EPOCH; never deletes. */
int store_quarantine(const char *path);

/* qmpc.c: QMP client on a GSocket, all on the main loop (nothing waits). */
typedef void (*qmpc_event_fn)(void *opaque, const char *event, json_object *data);
typedef void (*qmpc_closed_fn)(void *opaque);
/* ok false: the error record says why; the callback may qmpc_free(q). */
typedef void (*qmpc_ready_fn)(void *opaque, struct qmpc *q, bool ok);
/* ret is the "return" value (borrowed), or NULL with the error recorded (the
 * QMP error class and desc, a time-out, or the connection closing). */
typedef void (*qmpc_reply_fn)(void *opaque, json_object *ret);
/* Connect now (NULL + error if nobody listens); the greeting and
 * qmp_capabilities follow on the loop, then on_ready, within timeout_ms. */
struct qmpc *qmpc_open(const char *path, int timeout_ms, qmpc_ready_fn on_ready, void *opaque);
void qmpc_set_handlers(struct qmpc *q, qmpc_event_fn on_event, qmpc_closed_fn on_closed, void *opaque);
/* Send a command (queued until the connection is ready); cb (may be NULL)
 * runs exactly once, from the loop or from qmpc_free. args is consumed. */
int qmpc_call(struct qmpc *q, const char *cmd, json_object *args, qmpc_reply_fn cb, void *opaque);
bool qmpc_is_ready(const struct qmpc *q);
/* Safe inside any of q's callbacks; pending calls get an error first. */
void qmpc_free(struct qmpc *q);

/* domain.c: objects, lifecycle, VMM supervision, reconcile at start. */
int vd_init_paths(struct vd *vd, const char *root);
int vd_load(struct vd *vd);        /* configs + re-adopt running VMMs + autostart */
struct vdom *vdom_lookup(struct vd *vd, const char *name_or_uuid);
struct vdom *vdom_define(struct vd *vd, const char *xml, size_t len, bool *created);
int vdom_undefine(struct vdom *d);
/* Actions: -1 with the error recorded if refused at once (done is not called),
 * else 0 and done (may be NULL: failures are logged) runs once when it ends. */
int vdom_start(struct vdom *d, vdom_done_fn done, void *opaque);
int vdom_shutdown(struct vdom *d, vdom_done_fn done, void *opaque);
int vdom_destroy(struct vdom *d, vdom_done_fn done, void *opaque);
int vdom_reboot(struct vdom *d, vdom_done_fn done, void *opaque);
int vdom_suspend(struct vdom *d, vdom_done_fn done, void *opaque);
int vdom_resume(struct vdom *d, vdom_done_fn done, void *opaque);
int vdom_set_autostart(struct vdom *d, bool on);
/* The host socket of a running domain's <channel> whose target name is port; NULL if none. */
const char *vdom_channel_path(struct vdom *d, const char *port);
const char *vdom_state_name(enum vdom_state s);
const struct dom_def *vdom_def(const struct vdom *d);  /* live if running, else persistent */
json_object *vdom_info_json(struct vdom *d);
/* The domain's counters; cb gets them (owned) once the VMM has answered, which
 * may be before vdom_stats returns when there is nothing to ask. */
void vdom_stats(struct vdom *d, vdom_stats_fn cb, void *opaque);
void vd_free(struct vd *vd);

/* agent.c: one guest agent command over a channel socket, on the main loop.
 * reply is the agent's answer object (borrowed: {"return":...} or {"error":...}),
 * or NULL with the error recorded (no answer in time, socket closed, ...). */
typedef void (*agent_done_fn)(void *opaque, json_object *reply);
/* command: a JSON object with "execute" (len bytes, need not end in NUL).
 * -1 + error at once (done not called), else done runs once, later. */
int agent_command(const char *path, const char *command, size_t len, int timeout_ms,
		  agent_done_fn done, void *opaque);

/* console.c: the serial console relay (WebSocket clients). */
typedef struct _SoupWebsocketConnection SoupWebsocketConnection;
void cons_attach(struct vdom *d);
void cons_detach(struct vdom *d);
/* Could a client open the console now (as writer, forcing)? -1 + err if not. */
int cons_check_open(struct vdom *d, bool write, bool force);
void cons_add_client(struct vdom *d, SoupWebsocketConnection *ws, bool write, bool force);

/* host.c */
json_object *host_info_json(void);
unsigned long long host_proc_start_time(pid_t pid);   /* 0: no such process (or zombie) */
bool host_proc_cpu_ns(pid_t pid, uint64_t *ns);

/* api.c: REST on the two unix sockets. */
int api_start(struct vd *vd);
void api_stop(void);
/* Broadcast a lifecycle event to /v1/events clients (vd->event_cb). */
void api_event(struct vd *vd, const char *name, const char *event, const char *detail);

#endif
