/* vireod's storage: directory pools (persistent configs, autostart, active state)
 * and their volumes through the block layer (pool.c), and the REST handlers and
 * streamed volume upload/download (api-pool.c). Prefixes vpool_, vvol_, apipool_. */
#ifndef VIREO_DAEMON_POOL_H
#define VIREO_DAEMON_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "conf/pool_conf.h"
#include "daemon/daemon.h"

struct vpool {
	struct pool_def *def;
	bool active;
	bool autostart;
};

/* Load configs, active markers (a restart keeps pools active) and start autostart pools. */
int vpool_load(struct vd *vd);
void vpool_free_all(void);

struct vpool *vpool_lookup(const char *name_or_uuid);
/* All pools sorted by name; free the array (not the pools) with g_ptr_array_free. */
GPtrArray *vpool_list(void);
struct vpool *vpool_define(const char *xml, size_t len, bool *created);
int vpool_undefine(struct vpool *p);
int vpool_build(struct vpool *p);
int vpool_start(struct vpool *p);
int vpool_refresh(struct vpool *p);
int vpool_destroy(struct vpool *p);
int vpool_set_autostart(struct vpool *p, bool on);
json_object *vpool_info_json(struct vpool *p);
char *vpool_format_xml(struct vpool *p, bool inactive);

/* Volumes: the pool must be active; names are checked with vol_name_is_valid. */
json_object *vvol_list_json(struct vpool *p);
json_object *vvol_info_json(struct vpool *p, const char *name);
char *vvol_format_xml(struct vpool *p, const char *name);
/* Create from a parsed def (vol-create, vol-create-as); prealloc_metadata for qcow2. */
json_object *vvol_create(struct vpool *p, struct vol_def *def, bool prealloc_metadata);
int vvol_delete(struct vpool *p, const char *name);
#define VVOL_RESIZE_DELTA 1u
#define VVOL_RESIZE_SHRINK 2u
int vvol_resize(struct vpool *p, const char *name, uint64_t size, unsigned int flags);
/* Copy volume `name` to a new volume (full, thin, no backing file) in a worker
 * thread; done(info, opaque) runs later on the main loop, with NULL and the error
 * set on failure. -1 (error set, done never called) if it cannot start. */
typedef void (*vvol_done_fn)(json_object *info, void *opaque);
int vvol_clone_async(struct vpool *p, const char *name, const char *new_name, vvol_done_fn done, void *opaque);
/* The volume's path (g_free) after checking pool, name and that it is a regular file. */
char *vvol_path(struct vpool *p, const char *name);

/* <disk type='volume'>: the path and format of pool/volume for the VMM (path g_free'd).
 * `declared` is the disk's <driver type> (NULL: none). Without it the format is probed,
 * and a probed qcow2 whose backing file lies outside the pool is refused: a raw volume's
 * guest could have written that header to read any host file. */
int vpool_resolve_disk(const char *pool, const char *volume, const char *declared, char **path,
		       const char **format);

#endif
