/* libvireo: the public C API of vireo (libvirt's role). A connection speaks
 * vireod's REST API (docs/api.yaml) over its unix socket; every call that may
 * grow takes `unsigned int flags` (pass 0); errors go through one error object. */
#ifndef VIREO_VIREO_H
#define VIREO_VIREO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIREO_VERSION_MAJOR 0
#define VIREO_VERSION_MINOR 1
#define VIREO_VERSION_MICRO 0

typedef struct vireo_conn vireo_conn;
typedef struct vireo_domain vireo_domain;

/* ---- errors ---- */

typedef enum {
	VIREO_ERR_OK = 0,
	VIREO_ERR_INTERNAL,        /* the daemon or the library failed */
	VIREO_ERR_INVALID_ARG,     /* a bad argument, XML document or URI */
	VIREO_ERR_NO_CONNECT,      /* the daemon's socket cannot be reached */
	VIREO_ERR_NO_DOMAIN,       /* no domain with that name or uuid */
	VIREO_ERR_EXISTS,          /* name or uuid already taken */
	VIREO_ERR_OPERATION_INVALID, /* not in this state (start a running domain...) */
	VIREO_ERR_READ_ONLY,       /* a mutation on a read-only connection */
	VIREO_ERR_UNSUPPORTED,     /* valid, but not implemented here */
	VIREO_ERR_PROTOCOL,        /* an answer the library does not understand */
	VIREO_ERR_NO_MEMORY,
} vireo_error_code;

typedef struct {
	vireo_error_code code;
	int http_status;           /* 0 if no answer came */
	char code_name[32];        /* the daemon's code word: "not-found", "read-only" ... */
	char message[1024];
} vireo_error;

/* The last error of the calling thread; never NULL (code VIREO_ERR_OK if none). */
const vireo_error *vireo_get_last_error(void);
void vireo_reset_last_error(void);

/* ---- connections ---- */

enum {
	VIREO_CONNECT_RO = 1u << 0,   /* use the read-only socket: queries only */
};

/* uri: "vireo:///system", "vireo:///system?socket=PATH", or NULL for
 * $VIREO_DEFAULT_URI, else $VIREO_ROOT (a vireod --root DIR), else the system
 * daemon. Nothing is sent until the first call; NULL on a bad URI. */
vireo_conn *vireo_connect(const char *uri, unsigned int flags);
int vireo_conn_close(vireo_conn *conn);
/* The socket path this connection uses. */
const char *vireo_conn_get_socket(const vireo_conn *conn);
int vireo_conn_is_read_only(const vireo_conn *conn);
/* The daemon's version ("0.1.0"); free() the string. */
char *vireo_conn_get_version(vireo_conn *conn, unsigned int flags);
/* The library's version as major*1000000 + minor*1000 + micro. */
unsigned long vireo_get_lib_version(void);

typedef struct {
	char model[32];             /* "x86_64" */
	uint64_t memory_kib;
	unsigned int cpus;
	unsigned int mhz;
	unsigned int nodes;         /* NUMA cells */
	unsigned int sockets;
	unsigned int cores;         /* per socket */
	unsigned int threads;       /* per core */
} vireo_node_info;

int vireo_node_get_info(vireo_conn *conn, vireo_node_info *info, unsigned int flags);
/* The daemon's host report as JSON text (KSM, KVM...); free() it. */
char *vireo_node_get_info_json(vireo_conn *conn, unsigned int flags);

/* ---- domains ---- */

/* libvirt's state numbers. */
typedef enum {
	VIREO_DOMAIN_NOSTATE = 0,
	VIREO_DOMAIN_RUNNING = 1,
	VIREO_DOMAIN_PAUSED = 3,
	VIREO_DOMAIN_SHUTOFF = 5,
	VIREO_DOMAIN_CRASHED = 6,
} vireo_domain_state;

enum {
	VIREO_LIST_ACTIVE = 1u << 0,
	VIREO_LIST_INACTIVE = 1u << 1,   /* neither or both: all */
};

enum {
	VIREO_XML_INACTIVE = 1u << 0,    /* the persistent config, not the running copy */
};

typedef struct {
	vireo_domain_state state;
	char reason[32];            /* "booted", "user", "shutdown", "destroyed", "unknown" ... */
	uint64_t max_mem_kib;
	uint64_t memory_kib;
	unsigned int nr_vcpus;
	uint64_t cpu_time_ns;
} vireo_domain_info;

/* Fills *domains with a NULL-terminated array (free each with vireo_domain_free
 * and the array with free()); returns the count or -1. */
int vireo_conn_list_domains(vireo_conn *conn, vireo_domain ***domains, unsigned int flags);
vireo_domain *vireo_domain_lookup_by_name(vireo_conn *conn, const char *name);
vireo_domain *vireo_domain_lookup_by_uuid_string(vireo_conn *conn, const char *uuid);
/* Define or redefine a persistent domain from libvirt-style XML. */
vireo_domain *vireo_domain_define_xml(vireo_conn *conn, const char *xml, unsigned int flags);
int vireo_domain_undefine(vireo_domain *dom, unsigned int flags);
int vireo_domain_create(vireo_domain *dom, unsigned int flags);      /* start */
int vireo_domain_shutdown(vireo_domain *dom, unsigned int flags);    /* ACPI power button */
int vireo_domain_destroy(vireo_domain *dom, unsigned int flags);     /* stop at once */
int vireo_domain_reboot(vireo_domain *dom, unsigned int flags);
int vireo_domain_suspend(vireo_domain *dom, unsigned int flags);
int vireo_domain_resume(vireo_domain *dom, unsigned int flags);
int vireo_domain_set_autostart(vireo_domain *dom, int autostart, unsigned int flags);
/* Returns 0/1 into *autostart. */
int vireo_domain_get_autostart(vireo_domain *dom, int *autostart);
int vireo_domain_get_info(vireo_domain *dom, vireo_domain_info *info, unsigned int flags);
enum {
	VIREO_STATE_CACHED = 1u << 0,   /* the state when the handle was listed/looked up: no round trip */
};
int vireo_domain_get_state(vireo_domain *dom, int *state, char reason[32], unsigned int flags);
/* Domain XML (VIREO_XML_INACTIVE); free() it. */
char *vireo_domain_get_xml_desc(vireo_domain *dom, unsigned int flags);
/* Statistics as JSON text (cpu, memory, vcpu, block, net); free() it. */
char *vireo_domain_get_stats_json(vireo_domain *dom, unsigned int flags);
/* Run a QEMU guest agent command (cmd: a JSON object with "execute") through
 * the running domain's org.qemu.guest_agent.0 channel, waiting at most timeout
 * seconds (0: the daemon's default, 5 s; at most 50); as virDomainQemuAgentCommand. The
 * agent's answer ({"return": ...}) as JSON text, free() it; NULL with the
 * error set, an agent error included. flags: none yet, pass 0. */
char *vireo_domain_qemu_agent_command(vireo_domain *dom, const char *cmd, int timeout, unsigned int flags);
const char *vireo_domain_get_name(const vireo_domain *dom);
const char *vireo_domain_get_uuid_string(const vireo_domain *dom);
/* Id when the domain was looked up or last updated; -1 when shut off. */
int vireo_domain_get_id(const vireo_domain *dom);
int vireo_domain_is_persistent(const vireo_domain *dom);
void vireo_domain_free(vireo_domain *dom);

/* ---- streams: the serial console and lifecycle events (WebSockets) ---- */

typedef struct vireo_stream vireo_stream;

enum {
	VIREO_CONSOLE_FORCE = 1u << 0,      /* take the console from another writer */
	VIREO_CONSOLE_READ_ONLY = 1u << 1,  /* watch only; any number of readers */
};

/* The domain's serial console: bytes both ways. Refused on a read-only
 * connection, and while another session writes unless VIREO_CONSOLE_FORCE. */
vireo_stream *vireo_domain_open_console(vireo_domain *dom, unsigned int flags);
/* Lifecycle events of every domain, one JSON text per message:
 * {"domain": "...", "event": "started|stopped|crashed|...", "detail": "...", "timestamp_us": N}. */
vireo_stream *vireo_conn_open_events(vireo_conn *conn, unsigned int flags);
/* A descriptor to poll() for input; check vireo_stream_has_pending() first, as
 * data may already be buffered. */
int vireo_stream_get_fd(const vireo_stream *st);
int vireo_stream_has_pending(const vireo_stream *st);
/* Block for the next message: its length with *data malloc'd (NUL-terminated),
 * 0 when the stream closed (the daemon's reason in the last error), -1 on error. */
long vireo_stream_recv(vireo_stream *st, char **data, unsigned int flags);
int vireo_stream_send(vireo_stream *st, const void *data, size_t len, unsigned int flags);
void vireo_stream_free(vireo_stream *st);

/* Calls cb for each lifecycle event until cb returns non-zero (then 0) or the
 * stream ends (-1). */
typedef int (*vireo_event_callback)(vireo_conn *conn, const char *domain, const char *event,
				    const char *detail, void *opaque);
int vireo_conn_event_loop(vireo_conn *conn, vireo_event_callback cb, void *opaque, unsigned int flags);

/* ---- storage pools and volumes (directory pools of raw/qcow2 files) ---- */

typedef struct vireo_pool vireo_pool;
typedef struct vireo_vol vireo_vol;

/* libvirt's pool state numbers. */
typedef enum {
	VIREO_POOL_INACTIVE = 0,
	VIREO_POOL_RUNNING = 2,
} vireo_pool_state;

typedef struct {
	vireo_pool_state state;
	uint64_t capacity;          /* bytes of the filesystem holding the pool */
	uint64_t allocation;        /* bytes used on it */
	uint64_t available;         /* bytes free for the pool's owner */
} vireo_pool_info;

/* Pools sorted by name (VIREO_LIST_ACTIVE / VIREO_LIST_INACTIVE as for domains):
 * a NULL-terminated array in *pools (vireo_pool_free each, free() the array); the count or -1. */
int vireo_conn_list_pools(vireo_conn *conn, vireo_pool ***pools, unsigned int flags);
vireo_pool *vireo_pool_lookup_by_name(vireo_conn *conn, const char *name_or_uuid);
/* Define or redefine a persistent pool from libvirt's pool XML (type='dir'). */
vireo_pool *vireo_pool_define_xml(vireo_conn *conn, const char *xml, unsigned int flags);
int vireo_pool_undefine(vireo_pool *pool, unsigned int flags);
int vireo_pool_build(vireo_pool *pool, unsigned int flags);    /* mkdir the target */
int vireo_pool_create(vireo_pool *pool, unsigned int flags);   /* start */
int vireo_pool_refresh(vireo_pool *pool, unsigned int flags);
int vireo_pool_destroy(vireo_pool *pool, unsigned int flags);  /* stop; files stay */
int vireo_pool_set_autostart(vireo_pool *pool, int autostart, unsigned int flags);
/* As of the last answer about this pool (no round trip). */
int vireo_pool_get_autostart(const vireo_pool *pool, int *autostart);
int vireo_pool_is_active(const vireo_pool *pool);
/* VIREO_STATE_CACHED: the figures of the list or lookup that made the handle. */
int vireo_pool_get_info(vireo_pool *pool, vireo_pool_info *info, unsigned int flags);
char *vireo_pool_get_xml_desc(vireo_pool *pool, unsigned int flags);   /* VIREO_XML_INACTIVE; free() it */
const char *vireo_pool_get_name(const vireo_pool *pool);
const char *vireo_pool_get_uuid_string(const vireo_pool *pool);
const char *vireo_pool_get_target_path(const vireo_pool *pool);
void vireo_pool_free(vireo_pool *pool);

typedef struct {
	int type;                   /* 0: file (libvirt's VIR_STORAGE_VOL_FILE) */
	uint64_t capacity;          /* virtual size in bytes */
	uint64_t allocation;        /* bytes allocated on the host: below capacity when thin */
	uint64_t physical;          /* host file length */
	char format[16];            /* "raw" or "qcow2" */
	char backing_path[4096];    /* "" without a backing store */
	char backing_format[16];
} vireo_vol_info;

/* Volumes of an active pool, sorted by name (same array rules as pools). */
int vireo_pool_list_volumes(vireo_pool *pool, vireo_vol ***vols, unsigned int flags);
vireo_vol *vireo_vol_lookup_by_name(vireo_pool *pool, const char *name);
enum {
	VIREO_VOL_CREATE_PREALLOC_METADATA = 1u << 0,   /* qcow2 metadata preallocated */
};
/* Create from libvirt's volume XML (name, capacity, allocation, target format, backingStore). */
vireo_vol *vireo_vol_create_xml(vireo_pool *pool, const char *xml, unsigned int flags);
/* A full copy (no backing file; ranges that read as zeros stay unallocated). */
vireo_vol *vireo_vol_clone(vireo_vol *vol, const char *new_name, unsigned int flags);
int vireo_vol_delete(vireo_vol *vol, unsigned int flags);
enum {
	VIREO_VOL_RESIZE_DELTA = 1u << 0,    /* capacity is added to the current size */
	VIREO_VOL_RESIZE_SHRINK = 1u << 1,   /* allow a smaller size (data past it is lost) */
};
int vireo_vol_resize(vireo_vol *vol, uint64_t capacity, unsigned int flags);
/* VIREO_STATE_CACHED: the figures of the list or lookup that made the handle. */
int vireo_vol_get_info(vireo_vol *vol, vireo_vol_info *info, unsigned int flags);
char *vireo_vol_get_xml_desc(vireo_vol *vol, unsigned int flags);  /* free() it */
const char *vireo_vol_get_name(const vireo_vol *vol);
const char *vireo_vol_get_path(const vireo_vol *vol);
const char *vireo_vol_get_pool_name(const vireo_vol *vol);
void vireo_vol_free(vireo_vol *vol);

/* Volume data streamed over the API, a chunk at a time: upload writes `length`
 * bytes read from fd at the volume file's `offset`; download writes the file's
 * bytes from `offset` (`length` 0: to the end) to fd. progress (may be NULL) is
 * called as bytes pass; a non-zero return aborts. */
typedef int (*vireo_progress_fn)(uint64_t done, uint64_t total, void *opaque);
int vireo_vol_upload(vireo_vol *vol, int fd, uint64_t offset, uint64_t length,
		     vireo_progress_fn progress, void *opaque, unsigned int flags);
int vireo_vol_download(vireo_vol *vol, int fd, uint64_t offset, uint64_t length,
		       vireo_progress_fn progress, void *opaque, unsigned int flags);

/* ---- virtual networks (bridges with DHCP/DNS from dnsmasq, NAT by nftables) ---- */

typedef struct vireo_network vireo_network;

typedef struct {
	char iface[16];             /* the network's bridge */
	int64_t expiry_time;        /* seconds since the epoch */
	char mac[18];
	char ipaddr[16];            /* IPv4 */
	unsigned int prefix;
	char hostname[64];          /* "" when the client sent none */
	char clientid[128];         /* "" when none */
} vireo_network_lease;

/* Networks sorted by name (VIREO_LIST_ACTIVE / VIREO_LIST_INACTIVE as for
 * domains): a NULL-terminated array in *nets (vireo_network_free each, free()
 * the array); the count or -1. */
int vireo_conn_list_networks(vireo_conn *conn, vireo_network ***nets, unsigned int flags);
vireo_network *vireo_network_lookup_by_name(vireo_conn *conn, const char *name_or_uuid);
/* Define or redefine a persistent network from libvirt's network XML. */
vireo_network *vireo_network_define_xml(vireo_conn *conn, const char *xml, unsigned int flags);
int vireo_network_undefine(vireo_network *net, unsigned int flags);   /* inactive networks only */
int vireo_network_create(vireo_network *net, unsigned int flags);     /* start */
int vireo_network_destroy(vireo_network *net, unsigned int flags);    /* stop */
int vireo_network_set_autostart(vireo_network *net, int autostart, unsigned int flags);
/* As of the last answer about this network (no round trip). */
int vireo_network_get_autostart(const vireo_network *net, int *autostart);
int vireo_network_is_active(const vireo_network *net);
int vireo_network_is_persistent(const vireo_network *net);
const char *vireo_network_get_name(const vireo_network *net);
const char *vireo_network_get_uuid_string(const vireo_network *net);
const char *vireo_network_get_bridge_name(const vireo_network *net);
/* "nat", "route", "open", "bridge" or "none" (isolated). */
const char *vireo_network_get_forward_mode(const vireo_network *net);
char *vireo_network_get_xml_desc(vireo_network *net, unsigned int flags);  /* VIREO_XML_INACTIVE; free() it */
/* The DHCP leases of an active network (only `mac`'s when not NULL): an array
 * in *leases (free() it); the count or -1. */
int vireo_network_get_dhcp_leases(vireo_network *net, const char *mac, vireo_network_lease **leases,
				  unsigned int flags);
void vireo_network_free(vireo_network *net);

/* State and reason words as virsh prints them. */
const char *vireo_domain_state_name(int state);

#ifdef __cplusplus
}
#endif

#endif
