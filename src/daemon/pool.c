/* Directory storage pools and their volumes. Configs live in the atomic store
 * (STATE/storage/NAME.xml), autostart markers beside them, active markers under
 * RUN/storage so a vireod restart keeps pools active. A pool's directory is the
 * truth about its volumes: every query reads it, so files added by hand show up. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* util.h before GLib: both define MIN/MAX, GLib's #undef wins quietly */
#include "common/util.h"
#include "block/block.h"
#include "common/error.h"
#include "common/log.h"
#include "daemon/pool.h"

#include <gio/gio.h>   /* GTask: clones run in a worker thread */

static GHashTable *vpools;     /* name -> struct vpool * (owned) */
static char *pools_dir, *pools_autostart_dir, *pools_run_dir;

static void vpool_free(gpointer data)
{
	struct vpool *p = data;

	pool_def_free(p->def);
	g_free(p);
}

static char *config_path(const char *name)
{
	return g_strdup_printf("%s/%s.xml", pools_dir, name);
}

static char *autostart_path(const char *name)
{
	return g_strdup_printf("%s/%s", pools_autostart_dir, name);
}

static char *active_path(const char *name)
{
	return g_strdup_printf("%s/%s", pools_run_dir, name);
}

static int touch_marker(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return err_set_errno(ERR_IO, errno, "cannot create %s", path);
	close(fd);
	return 0;
}

static int vpool_save(struct vpool *p)
{
	autofree char *xml = pool_def_format(p->def, POOL_FORMAT_INACTIVE);
	g_autofree char *path = config_path(p->def->name);

	if (!xml)
		return -1;
	return store_write_file(path, xml, strlen(xml), 0600);
}

/* The target directory, checked to be a directory (not a symlink to one). */
static int check_target_dir(const struct vpool *p)
{
	struct stat st;

	if (lstat(p->def->target_path, &st) < 0)
		return err_set_errno(ERR_NOT_FOUND, errno, "cannot open directory '%s' of pool '%s'",
				     p->def->target_path, p->def->name);
	if (!S_ISDIR(st.st_mode))
		return err_set(ERR_INVALID, "pool '%s': target '%s' is not a directory", p->def->name,
			       p->def->target_path);
	return 0;
}

int vpool_load(struct vd *vd)
{
	DIR *dir;
	struct dirent *e;

	vpools = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, vpool_free);
	pools_dir = g_strdup_printf("%s/storage", vd->paths.state_dir);
	pools_autostart_dir = g_strdup_printf("%s/autostart", pools_dir);
	pools_run_dir = g_strdup_printf("%s/storage", vd->paths.run_dir);
	if (store_mkdir_p(pools_dir, 0700) < 0 || store_mkdir_p(pools_autostart_dir, 0700) < 0 ||
	    store_mkdir_p(pools_run_dir, 0700) < 0)
		return -1;
	dir = opendir(pools_dir);
	if (!dir)
		return err_set_errno(ERR_IO, errno, "cannot read %s", pools_dir);
	while ((e = readdir(dir))) {
		size_t n = strlen(e->d_name);
		g_autofree char *path = NULL, *mark = NULL, *auto_mark = NULL;
		struct pool_def *def;
		struct vpool *p;

		if (n <= 4 || strcmp(e->d_name + n - 4, ".xml"))
			continue;
		path = g_strdup_printf("%s/%s", pools_dir, e->d_name);
		def = pool_def_parse_file(path, POOL_PARSE_VALIDATE);
		if (!def) {
			/* never deleted: kept aside for the admin */
			log_error("pool config %s cannot be read: %s", path, err_message());
			store_quarantine(path);
			continue;
		}
		if (g_hash_table_contains(vpools, def->name)) {
			log_error("pool config %s repeats the name '%s'; skipped", path, def->name);
			pool_def_free(def);
			continue;
		}
		p = g_new0(struct vpool, 1);
		p->def = def;
		mark = active_path(def->name);
		auto_mark = autostart_path(def->name);
		p->autostart = access(auto_mark, F_OK) == 0;
		p->active = access(mark, F_OK) == 0 && check_target_dir(p) == 0;
		g_hash_table_insert(vpools, g_strdup(def->name), p);
		if (!p->active && p->autostart && vpool_start(p) < 0)
			log_error("autostart of pool %s failed: %s", def->name, err_message());
	}
	closedir(dir);
	return 0;
}

void vpool_free_all(void)
{
	if (vpools)
		g_hash_table_destroy(vpools);
	vpools = NULL;
	g_free(pools_dir);
	g_free(pools_autostart_dir);
	g_free(pools_run_dir);
	pools_dir = pools_autostart_dir = pools_run_dir = NULL;
}

struct vpool *vpool_lookup(const char *key)
{
	struct vpool *p = vpools ? g_hash_table_lookup(vpools, key) : NULL;
	uint8_t uuid[POOL_UUID_LEN];
	GHashTableIter it;
	gpointer v;

	if (p)
		return p;
	if (vpools && dom_uuid_parse(key, uuid) == 0) {
		g_hash_table_iter_init(&it, vpools);
		while (g_hash_table_iter_next(&it, NULL, &v))
			if (!memcmp(((struct vpool *)v)->def->uuid, uuid, POOL_UUID_LEN))
				return v;
	}
	err_set(ERR_NOT_FOUND, "no storage pool with matching name '%s'", key);
	return NULL;
}

static gint cmp_pool_names(gconstpointer a, gconstpointer b)
{
	return strcmp((*(struct vpool *const *)a)->def->name, (*(struct vpool *const *)b)->def->name);
}

GPtrArray *vpool_list(void)
{
	GPtrArray *all = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;

	if (vpools) {
		g_hash_table_iter_init(&it, vpools);
		while (g_hash_table_iter_next(&it, NULL, &v))
			g_ptr_array_add(all, v);
	}
	g_ptr_array_sort(all, cmp_pool_names);
	return all;
}

struct vpool *vpool_define(const char *xml, size_t len, bool *created)
{
	struct pool_def *def = pool_def_parse(xml, len, POOL_PARSE_VALIDATE);
	struct vpool *p, *old;
	GHashTableIter it;
	gpointer v;

	*created = false;
	if (!def)
		return NULL;
	if (!vpools) {
		err_set(ERR_INTERNAL, "storage pools are not loaded");
		goto fail;
	}
	g_hash_table_iter_init(&it, vpools);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct vpool *o = v;
		bool same_name = !strcmp(o->def->name, def->name);
		bool same_uuid = !memcmp(o->def->uuid, def->uuid, POOL_UUID_LEN);
		char uuid[DOM_UUID_STRLEN + 1];
		if (same_uuid != same_name) {
			dom_uuid_format(o->def->uuid, uuid);
			err_set(ERR_EXISTS, "pool '%s' already exists with uuid %s", o->def->name, uuid);
			goto fail;
		}
		if (!same_name && !strcmp(o->def->target_path, def->target_path)) {
			err_set(ERR_EXISTS, "storage pool '%s' already uses target path '%s'", o->def->name,
				def->target_path);
			goto fail;
		}
	}
	old = g_hash_table_lookup(vpools, def->name);
	if (old && old->active && strcmp(old->def->target_path, def->target_path)) {
		err_set(ERR_BUSY, "pool '%s' is active: its target path cannot change", def->name);
		goto fail;
	}
	p = old ? old : g_new0(struct vpool, 1);
	if (old) {
		struct pool_def *prev = old->def;
		old->def = def;
		if (vpool_save(old) < 0) {
			old->def = prev;
			goto fail;
		}
		pool_def_free(prev);
		return old;
	}
	p->def = def;
	if (vpool_save(p) < 0) {
		g_free(p);
		goto fail;
	}
	g_hash_table_insert(vpools, g_strdup(def->name), p);
	*created = true;
	return p;
fail:
	pool_def_free(def);
	return NULL;
}

int vpool_undefine(struct vpool *p)
{
	g_autofree char *path = config_path(p->def->name), *mark = autostart_path(p->def->name);

	if (p->active)
		return err_set(ERR_BUSY, "storage pool '%s' is still active: pool-destroy it first",
			       p->def->name);
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set_errno(ERR_IO, errno, "cannot remove %s", path);
	unlink(mark);
	g_hash_table_remove(vpools, p->def->name);
	return 0;
}

int vpool_build(struct vpool *p)
{
	const struct pool_perms *pp = &p->def->perms;
	mode_t mode = pp->has_mode ? pp->mode : 0711;   /* libvirt's default for a dir pool */
	struct stat st;

	if (p->active)
		return err_set(ERR_BUSY, "storage pool '%s' is already active", p->def->name);
	if (mkdir(p->def->target_path, mode) < 0) {
		if (errno != EEXIST)
			return err_set_errno(ERR_IO, errno, "cannot create directory '%s'", p->def->target_path);
		if (lstat(p->def->target_path, &st) < 0 || !S_ISDIR(st.st_mode))
			return err_set(ERR_INVALID, "pool '%s': '%s' exists and is not a directory",
				       p->def->name, p->def->target_path);
	}
	if (chmod(p->def->target_path, mode) < 0)
		return err_set_errno(ERR_IO, errno, "cannot chmod '%s'", p->def->target_path);
	if ((pp->has_owner || pp->has_group) &&
	    chown(p->def->target_path, pp->has_owner ? pp->owner : (uid_t)-1,
		  pp->has_group ? pp->group : (gid_t)-1) < 0)
		return err_set_errno(ERR_IO, errno, "cannot chown '%s'", p->def->target_path);
	return 0;
}

int vpool_start(struct vpool *p)
{
	g_autofree char *mark = active_path(p->def->name);

	if (p->active)
		return err_set(ERR_BUSY, "storage pool '%s' is already active", p->def->name);
	if (check_target_dir(p) < 0 || touch_marker(mark) < 0)
		return -1;
	p->active = true;
	return 0;
}

static int require_active(const struct vpool *p)
{
	if (!p->active)
		return err_set(ERR_BUSY, "storage pool '%s' is not active", p->def->name);
	return 0;
}

int vpool_refresh(struct vpool *p)
{
	if (require_active(p) < 0)
		return -1;
	/* volumes are read from the directory on every query: only the directory can fail */
	return check_target_dir(p);
}

int vpool_destroy(struct vpool *p)
{
	g_autofree char *mark = active_path(p->def->name);

	if (require_active(p) < 0)
		return -1;
	unlink(mark);
	p->active = false;
	return 0;
}

int vpool_set_autostart(struct vpool *p, bool on)
{
	g_autofree char *mark = autostart_path(p->def->name);

	if (on) {
		if (touch_marker(mark) < 0)
			return -1;
	} else if (unlink(mark) < 0 && errno != ENOENT) {
		return err_set_errno(ERR_IO, errno, "cannot remove %s", mark);
	}
	p->autostart = on;
	return 0;
}

static void pool_fill_sizes(struct vpool *p)
{
	struct statvfs vfs;

	p->def->capacity = p->def->allocation = p->def->available = 0;
	if (!p->active || statvfs(p->def->target_path, &vfs) < 0)
		return;
	p->def->capacity = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	p->def->allocation = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
	p->def->available = (uint64_t)vfs.f_bavail * vfs.f_frsize;
}

json_object *vpool_info_json(struct vpool *p)
{
	json_object *o = json_object_new_object();
	char uuid[DOM_UUID_STRLEN + 1];

	pool_fill_sizes(p);
	dom_uuid_format(p->def->uuid, uuid);
	json_object_object_add(o, "name", json_object_new_string(p->def->name));
	json_object_object_add(o, "uuid", json_object_new_string(uuid));
	json_object_object_add(o, "type", json_object_new_string("dir"));
	json_object_object_add(o, "state", json_object_new_string(p->active ? "running" : "inactive"));
	json_object_object_add(o, "active", json_object_new_boolean(p->active));
	json_object_object_add(o, "persistent", json_object_new_boolean(true));
	json_object_object_add(o, "autostart", json_object_new_boolean(p->autostart));
	json_object_object_add(o, "path", json_object_new_string(p->def->target_path));
	json_object_object_add(o, "capacity", json_object_new_uint64(p->def->capacity));
	json_object_object_add(o, "allocation", json_object_new_uint64(p->def->allocation));
	json_object_object_add(o, "available", json_object_new_uint64(p->def->available));
	return o;
}

char *vpool_format_xml(struct vpool *p, bool inactive)
{
	pool_fill_sizes(p);
	return pool_def_format(p->def, inactive ? POOL_FORMAT_INACTIVE : 0);
}

/* ---- volumes ---- */

static int check_vol_name(const struct vpool *p, const char *name)
{
	if (!vol_name_is_valid(name))
		return err_set(ERR_INVALID, "volume name '%s' is invalid: 1 to %d letters, digits, '_', "
			       "'.', '+' or '-', not starting with '.'", name, VOL_NAME_MAX);
	(void)p;
	return 0;
}

char *vvol_path(struct vpool *p, const char *name)
{
	char *path;
	struct stat st;

	if (require_active(p) < 0 || check_vol_name(p, name) < 0)
		return NULL;
	path = g_strdup_printf("%s/%s", p->def->target_path, name);
	/* lstat: a symlink in the pool directory could point anywhere; it is no volume */
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(ERR_NOT_FOUND, "no storage vol with matching name '%s' in pool '%s'", name,
			p->def->name);
		g_free(path);
		return NULL;
	}
	return path;
}

/* Describe one volume file through the block layer (metadata only, backing not opened). */
static struct vol_def *vol_describe(struct vpool *p, const char *name, const char *path)
{
	struct blk_open_opts oo = { .read_only = true, .no_backing = true };
	struct blk_info info;
	struct vol_def *def = g_new0(struct vol_def, 1);
	struct stat st;
	struct blk *b;

	(void)p;
	def->name = strdup(name);
	def->path = strdup(path);
	def->format = VOL_FORMAT_RAW;
	if (lstat(path, &st) == 0) {
		def->perms.has_mode = def->perms.has_owner = def->perms.has_group = true;
		def->perms.mode = st.st_mode & 07777;
		def->perms.owner = st.st_uid;
		def->perms.group = st.st_gid;
	}
	b = blk_open(path, &oo);
	if (!b || blk_get_info(b, &info) < 0) {
		/* a file the block layer refuses is still listed, as raw bytes */
		err_clear();
		def->capacity = def->physical = (uint64_t)st.st_size;
		def->allocation = (uint64_t)st.st_blocks * 512;
		if (b)
			blk_close(b);
		return def;
	}
	def->capacity = info.virtual_size;
	def->allocation = info.actual_size;
	def->physical = info.file_size;
	def->format = !strcmp(info.format, "qcow2") ? VOL_FORMAT_QCOW2 : VOL_FORMAT_RAW;
	if (info.backing_file) {
		def->has_backing = true;
		def->backing_path = strdup(info.backing_file);
		def->backing_format = info.backing_format && !strcmp(info.backing_format, "qcow2") ?
			VOL_FORMAT_QCOW2 : VOL_FORMAT_RAW;
	}
	blk_close(b);
	return def;
}

static json_object *vol_json(const struct vol_def *d)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "path", json_object_new_string(d->path));
	json_object_object_add(o, "type", json_object_new_string("file"));
	json_object_object_add(o, "format", json_object_new_string(vol_format_name(d->format)));
	json_object_object_add(o, "capacity", json_object_new_uint64(d->capacity));
	json_object_object_add(o, "allocation", json_object_new_uint64(d->allocation));
	json_object_object_add(o, "physical", json_object_new_uint64(d->physical));
	if (d->has_backing) {
		json_object_object_add(o, "backing_path", json_object_new_string(d->backing_path));
		json_object_object_add(o, "backing_format",
				       json_object_new_string(vol_format_name(d->backing_format)));
	}
	return o;
}

static gint cmp_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

json_object *vvol_list_json(struct vpool *p)
{
	GPtrArray *names;
	json_object *arr;
	struct dirent *e;
	DIR *dir;

	if (require_active(p) < 0)
		return NULL;
	dir = opendir(p->def->target_path);
	if (!dir) {
		err_set_errno(ERR_IO, errno, "cannot read directory '%s' of pool '%s'", p->def->target_path,
			      p->def->name);
		return NULL;
	}
	names = g_ptr_array_new_with_free_func(g_free);
	while ((e = readdir(dir))) {
		/* only regular files with volume names: symlinks and sockets are not volumes */
		if (!vol_name_is_valid(e->d_name) || (e->d_type != DT_REG && e->d_type != DT_UNKNOWN))
			continue;
		g_ptr_array_add(names, g_strdup(e->d_name));
	}
	closedir(dir);
	g_ptr_array_sort(names, cmp_strings);
	arr = json_object_new_array();
	for (guint i = 0; i < names->len; i++) {
		g_autofree char *path = g_strdup_printf("%s/%s", p->def->target_path, (char *)names->pdata[i]);
		struct stat st;
		struct vol_def *d;
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		d = vol_describe(p, names->pdata[i], path);
		json_object_array_add(arr, vol_json(d));
		vol_def_free(d);
	}
	g_ptr_array_free(names, TRUE);
	return arr;
}

static struct vol_def *vol_describe_by_name(struct vpool *p, const char *name)
{
	g_autofree char *path = vvol_path(p, name);

	return path ? vol_describe(p, name, path) : NULL;
}

json_object *vvol_info_json(struct vpool *p, const char *name)
{
	struct vol_def *d = vol_describe_by_name(p, name);
	json_object *o = d ? vol_json(d) : NULL;

	vol_def_free(d);
	return o;
}

char *vvol_format_xml(struct vpool *p, const char *name)
{
	struct vol_def *d = vol_describe_by_name(p, name);
	char *xml = d ? vol_def_format(d, 0) : NULL;

	vol_def_free(d);
	return xml;
}

/* Reserve the name: a new empty file (O_EXCL), so two creates cannot share it. */
static char *reserve_volume(struct vpool *p, const char *name, const struct pool_perms *perms)
{
	g_autofree char *path = NULL;
	int fd;

	if (require_active(p) < 0 || check_vol_name(p, name) < 0)
		return NULL;
	path = g_strdup_printf("%s/%s", p->def->target_path, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  perms && perms->has_mode ? perms->mode : 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			err_set(ERR_EXISTS, "storage volume '%s' exists already in pool '%s'", name, p->def->name);
		else
			err_set_errno(ERR_IO, errno, "cannot create volume file '%s'", path);
		return NULL;
	}
	if (perms && (perms->has_owner || perms->has_group) &&
	    fchown(fd, perms->has_owner ? perms->owner : (uid_t)-1,
		   perms->has_group ? perms->group : (gid_t)-1) < 0) {
		err_set_errno(ERR_IO, errno, "cannot chown '%s'", path);
		close(fd);
		unlink(path);
		return NULL;
	}
	close(fd);
	return g_steal_pointer(&path);
}

/* A backing store given as a volume name of this pool or an absolute path; the
 * overlay records an absolute path, as libvirt does. */
static char *backing_path_of(struct vpool *p, const char *backing)
{
	if (backing[0] != '/')
		return vvol_path(p, backing);
	if (access(backing, R_OK) < 0) {
		err_set_errno(ERR_NOT_FOUND, errno, "backing store '%s' cannot be read", backing);
		return NULL;
	}
	return g_strdup(backing);
}

json_object *vvol_create(struct vpool *p, struct vol_def *def, bool prealloc_metadata)
{
	struct blk_create_opts co = { 0 };
	g_autofree char *path = NULL, *backing = NULL;
	uint64_t size = def->capacity;

	if (require_active(p) < 0 || vol_def_validate(def) < 0)
		return NULL;
	if (def->has_backing) {
		struct blk_open_opts oo = { .read_only = true, .no_backing = true,
					    .format = vol_format_name(def->backing_format) };
		struct blk *b;
		backing = backing_path_of(p, def->backing_path);
		if (!backing)
			return NULL;
		/* the backing file must open in the format named, and fixes the default size */
		b = blk_open(backing, &oo);
		if (!b) {
			err_prefix("backing store of volume '%s'", def->name);
			return NULL;
		}
		if (!size)
			size = blk_size(b);
		blk_close(b);
		co.backing_file = backing;
		co.backing_format = vol_format_name(def->backing_format);
	}
	if (def->format == VOL_FORMAT_QCOW2 && prealloc_metadata)
		co.prealloc = BLK_PREALLOC_METADATA;
	else if (def->format == VOL_FORMAT_RAW && def->has_allocation && def->allocation >= size && size)
		co.prealloc = BLK_PREALLOC_FALLOC;   /* thick, as libvirt does when allocation = capacity */
	path = reserve_volume(p, def->name, &def->perms);
	if (!path)
		return NULL;
	if (blk_create(path, vol_format_name(def->format), size, &co) < 0) {
		err_prefix("cannot create volume '%s'", def->name);
		unlink(path);
		return NULL;
	}
	return vvol_info_json(p, def->name);
}

int vvol_delete(struct vpool *p, const char *name)
{
	g_autofree char *path = vvol_path(p, name);

	if (!path)
		return -1;
	if (unlink(path) < 0)
		return err_set_errno(ERR_IO, errno, "cannot delete volume '%s'", path);
	return 0;
}

int vvol_resize(struct vpool *p, const char *name, uint64_t size, unsigned int flags)
{
	g_autofree char *path = vvol_path(p, name);
	struct blk_open_opts oo = { .no_backing = true };
	struct blk *b;
	uint64_t cur;
	int rc;

	if (!path)
		return -1;
	b = blk_open(path, &oo);
	if (!b)
		return -1;
	cur = blk_size(b);
	if (flags & VVOL_RESIZE_DELTA) {
		if (size > UINT64_MAX - cur) {
			blk_close(b);
			return err_set(ERR_INVALID, "volume '%s': size overflows", name);
		}
		size += cur;
	}
	if (size < cur && !(flags & VVOL_RESIZE_SHRINK)) {
		blk_close(b);
		return err_set(ERR_INVALID, "volume '%s': cannot shrink from %llu to %llu bytes without "
			       "--shrink", name, (unsigned long long)cur, (unsigned long long)size);
	}
	rc = blk_truncate(b, size, (flags & VVOL_RESIZE_SHRINK) != 0);
	if (blk_close(b) < 0)
		rc = -1;
	if (rc < 0)
		err_prefix("cannot resize volume '%s'", name);
	return rc;
}

/* Copy what the source reads back, skipping ranges that read as zeros so that
 * a thin volume gives a thin clone. The clone has no backing file. */
static int copy_data(struct blk *src, struct blk *dst)
{
	uint64_t size = blk_size(src), off = 0;
	const size_t bufsize = 1u << 20;
	g_autofree uint8_t *buf = g_malloc(bufsize);

	while (off < size) {
		struct blk_extent ext;
		if (blk_map(src, off, size - off, &ext) < 0)
			return -1;
		if (ext.length == 0)
			return err_set(ERR_INTERNAL, "block map made no progress at %llu", (unsigned long long)off);
		if ((ext.flags & BLK_EXT_DATA) && !(ext.flags & BLK_EXT_ZERO)) {
			for (uint64_t done = 0; done < ext.length;) {
				size_t n = (size_t)MIN((uint64_t)bufsize, ext.length - done);
				if (blk_pread(src, buf, n, off + done) < 0 || blk_pwrite(dst, buf, n, off + done) < 0)
					return -1;
				done += n;
			}
		}
		off += ext.length;
	}
	return blk_flush(dst);
}

/* A clone runs in a worker thread (the block layer is thread-safe) so that
 * vireod keeps serving while gigabytes are copied; the main loop finishes it. */
struct vvol_clone_job {
	char *pool, *new_name, *dst_path;
	struct blk *src, *dst;
	int rc;
	enum err_code code;
	char error[ERR_MSG_MAX];
	vvol_done_fn done;
	void *opaque;
};

static void clone_worker(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	struct vvol_clone_job *j = data;

	(void)task;
	(void)source;
	(void)cancel;
	j->rc = copy_data(j->src, j->dst);
	if (blk_close(j->dst) < 0)
		j->rc = -1;
	j->dst = NULL;
	if (j->rc < 0) {
		j->code = err_code();
		g_strlcpy(j->error, err_message(), sizeof(j->error));
	}
}

static void clone_job_free(struct vvol_clone_job *j)
{
	if (j->src)
		blk_close(j->src);
	if (j->dst)
		blk_close(j->dst);
	g_free(j->pool);
	g_free(j->new_name);
	g_free(j->dst_path);
	g_free(j);
}

static void clone_finished(GObject *source, GAsyncResult *res, gpointer data)
{
	struct vvol_clone_job *j = data;
	json_object *o = NULL;
	struct vpool *p;

	(void)source;
	(void)res;
	if (j->rc < 0) {
		unlink(j->dst_path);
		err_set(j->code, "cannot clone to volume '%s': %s", j->new_name, j->error);
	} else if ((p = vpool_lookup(j->pool))) {
		/* the pool may have been destroyed meanwhile: then the error says so */
		o = vvol_info_json(p, j->new_name);
	}
	j->done(o, j->opaque);
	clone_job_free(j);
}

int vvol_clone_async(struct vpool *p, const char *name, const char *new_name, vvol_done_fn done, void *opaque)
{
	g_autofree char *src_path = vvol_path(p, name);
	struct blk_open_opts so = { .read_only = true }, dopts = { 0 };
	struct vvol_clone_job *j;
	GTask *task;

	if (!src_path)
		return -1;
	j = g_new0(struct vvol_clone_job, 1);
	j->pool = g_strdup(p->def->name);
	j->new_name = g_strdup(new_name);
	j->done = done;
	j->opaque = opaque;
	j->src = blk_open(src_path, &so);
	if (!j->src || !(j->dst_path = reserve_volume(p, new_name, NULL))) {
		clone_job_free(j);
		return -1;
	}
	dopts.format = blk_format(j->src);
	if (blk_create(j->dst_path, blk_format(j->src), blk_size(j->src), NULL) < 0 ||
	    !(j->dst = blk_open(j->dst_path, &dopts))) {
		err_prefix("cannot clone volume '%s' to '%s'", name, new_name);
		unlink(j->dst_path);
		clone_job_free(j);
		return -1;
	}
	task = g_task_new(NULL, NULL, clone_finished, j);
	g_task_set_task_data(task, j, NULL);
	g_task_run_in_thread(task, clone_worker);
	g_object_unref(task);
	return 0;
}

/* Is `file` (absolute, or relative to the pool directory as qcow2 reads it) inside the pool? */
static bool inside_pool(const struct vpool *p, const char *file)
{
	g_autofree char *abs = file[0] == '/' ? g_strdup(file) : g_strdup_printf("%s/%s", p->def->target_path, file);
	g_autofree char *real = realpath(abs, NULL), *dir = realpath(p->def->target_path, NULL);
	size_t n = dir ? strlen(dir) : 0;

	return real && dir && !strncmp(real, dir, n) && real[n] == '/';
}

int vpool_resolve_disk(const char *pool, const char *volume, const char *declared, char **path,
		       const char **format)
{
	struct blk_open_opts oo = { .read_only = true, .no_backing = true, .format = "qcow2" };
	struct vpool *p = vpool_lookup(pool);
	struct blk_info info;
	const char *fmt = NULL;
	struct blk *b;
	char *vp;
	int rc = 0;

	if (!p)
		return -1;
	vp = vvol_path(p, volume);
	if (!vp)
		return -1;
	if (declared) {
		*path = vp;
		*format = declared;
		return 0;
	}
	if (blk_probe_format(vp, &fmt) < 0) {
		g_free(vp);
		return -1;
	}
	if (!strcmp(fmt, "qcow2")) {
		b = blk_open(vp, &oo);
		if (!b || blk_get_info(b, &info) < 0)
			rc = -1;
		else if (info.backing_file && !inside_pool(p, info.backing_file))
			rc = err_set(ERR_PERMISSION, "volume '%s' of pool '%s' reads as qcow2 with backing file '%s' "
				     "outside the pool: give the disk <driver type='qcow2'/> to use it as such",
				     volume, pool, info.backing_file);
		if (b)
			blk_close(b);
	}
	if (rc < 0) {
		g_free(vp);
		return -1;
	}
	*path = vp;
	*format = fmt;
	return 0;
}
