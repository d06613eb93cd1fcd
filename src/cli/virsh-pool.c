/* The vireo CLI's storage commands: pool-* and vol-* with virsh's names, flags,
 * messages and table layout; vol-upload/vol-download stream through libvireo
 * with a progress bar when stderr is a terminal. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "cli/virsh-cmd.h"

/* ---- helpers ---- */

/* --json output (consumes o). */
static void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* virsh's error for a failed storage call: the context line, then the cause
 * with the prefix virsh uses for missing pools and volumes. */
static void pool_error(const char *fmt, ...)
{
	const vireo_error *e = vireo_get_last_error();
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (e->code == VIREO_ERR_NO_DOMAIN && strstr(e->message, "storage vol"))
		fprintf(stderr, "error: Storage volume not found: %s\n", e->message);
	else if (e->code == VIREO_ERR_NO_DOMAIN)
		fprintf(stderr, "error: Storage pool not found: %s\n", e->message);
	else
		vsh_error(NULL);
}

static vireo_pool *get_pool(struct vsh *vsh, struct vsh_args *a)
{
	const char *name = vsh_value(a, "pool");
	vireo_pool *p;

	if (!name) {
		fprintf(stderr, "error: command requires a pool (--pool NAME)\n");
		return NULL;
	}
	if (!vsh_conn(vsh))
		return NULL;
	p = vireo_pool_lookup_by_name(vsh->conn, name);
	if (!p)
		pool_error("failed to get pool '%s'", name);
	return p;
}

/* A volume named by --vol (or the first positional) in --pool; a path
 * names the pool whose directory holds it, as virsh's lookup by path does. */
static vireo_vol *get_vol(struct vsh *vsh, struct vsh_args *a, vireo_pool **pool_out)
{
	/* --pool first: a positional pool name must not be taken for the volume */
	const char *pool_name = vsh_option(a, "pool");
	const char *name = vsh_value(a, "vol");
	vireo_pool *pool = NULL;
	vireo_vol *v;
	char *slash;

	if (!name) {
		fprintf(stderr, "error: command requires a volume (--vol NAME)\n");
		return NULL;
	}
	if (!vsh_conn(vsh))
		return NULL;
	if (pool_name) {
		pool = vireo_pool_lookup_by_name(vsh->conn, pool_name);
		if (!pool) {
			pool_error("failed to get pool '%s'", pool_name);
			return NULL;
		}
	} else if (name[0] == '/' && (slash = strrchr(name, '/'))) {
		vireo_pool **all = NULL;
		int n = vireo_conn_list_pools(vsh->conn, &all, 0);
		for (int i = 0; i < n; i++) {
			const char *dir = vireo_pool_get_target_path(all[i]);
			if (!pool && strlen(dir) == (size_t)(slash - name) && !strncmp(dir, name, strlen(dir)))
				pool = all[i];
			else
				vireo_pool_free(all[i]);
		}
		free(all);
		if (pool)
			name = slash + 1;
	}
	if (!pool) {
		fprintf(stderr, "error: failed to get vol '%s'\nerror: Storage volume not found: no storage vol "
			"with matching path '%s' (give --pool)\n", name, name);
		return NULL;
	}
	v = vireo_vol_lookup_by_name(pool, name);
	if (!v) {
		pool_error("failed to get vol '%s'", name);
		vireo_pool_free(pool);
		return NULL;
	}
	if (pool_out)
		*pool_out = pool;
	else
		vireo_pool_free(pool);
	return v;
}

/* virsh's vshPrettyCapacity: two decimals in the largest binary unit below the value. */
static void pretty(uint64_t bytes, char *out, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, "%.2f %s", v, units[u]);
}

/* A table as virsh's vshTable prints it: a leading space, columns padded to
 * their widest cell and 3 spaces apart (the last unpadded), a dashed rule. */
struct table {
	int ncols, nrows;
	char **cells;    /* nrows * ncols, row 0 the header */
};

static void table_add(struct table *t, const char *const *row)
{
	t->cells = realloc(t->cells, (size_t)(t->nrows + 1) * (size_t)t->ncols * sizeof(char *));
	if (!t->cells) {
		perror("vireo");
		exit(1);
	}
	for (int c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = strdup(row[c] ? row[c] : "");
	t->nrows++;
}

static void table_print_free(struct table *t)
{
	size_t width[16] = { 0 }, total = 1;

	for (int r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols; c++)
			if (strlen(t->cells[r * t->ncols + c]) > width[c])
				width[c] = strlen(t->cells[r * t->ncols + c]);
	for (int c = 0; c < t->ncols; c++)
		total += width[c] + (c ? 3 : 0);
	for (int r = 0; r < t->nrows; r++) {
		putchar(' ');
		for (int c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			if (c + 1 < t->ncols)
				printf("%-*s   ", (int)width[c], s);
			else
				printf("%s\n", s);
		}
		if (r == 0) {
			for (size_t i = 0; i < total + 1; i++)
				putchar('-');
			putchar('\n');
		}
	}
	putchar('\n');
	for (int i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* virsh's scaled integers: b, k/KiB (1024), KB (1000), M/MiB, MB, G/GiB, GB, T/TiB, TB, P, E. */
static int scaled(const char *text, uint64_t *out)
{
	static const struct { const char *suffix; uint64_t scale; } units[] = {
		{ "", 1 }, { "b", 1 }, { "B", 1 }, { "bytes", 1 },
		{ "k", 1ull << 10 }, { "K", 1ull << 10 }, { "KiB", 1ull << 10 }, { "KB", 1000 },
		{ "m", 1ull << 20 }, { "M", 1ull << 20 }, { "MiB", 1ull << 20 }, { "MB", 1000000 },
		{ "g", 1ull << 30 }, { "G", 1ull << 30 }, { "GiB", 1ull << 30 }, { "GB", 1000000000 },
		{ "t", 1ull << 40 }, { "T", 1ull << 40 }, { "TiB", 1ull << 40 }, { "TB", 1000000000000ull },
		{ "p", 1ull << 50 }, { "P", 1ull << 50 }, { "PiB", 1ull << 50 },
		{ "e", 1ull << 60 }, { "E", 1ull << 60 }, { "EiB", 1ull << 60 },
	};
	char *end;
	unsigned long long v;

	errno = 0;
	if (!text || text[0] < '0' || text[0] > '9')
		return -1;
	v = strtoull(text, &end, 10);
	if (errno)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		if (v > UINT64_MAX / units[i].scale)
			return -1;
		*out = v * units[i].scale;
		return 0;
	}
	return -1;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "error: Failed to open file '%s': %s\n", path, strerror(errno));
		return NULL;
	}
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if (cap > (4u << 20)) {
				fprintf(stderr, "error: file '%s' is over 4 MiB\n", path);
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = realloc(buf, cap + 1);
			if (!buf) {
				fclose(f);
				return NULL;
			}
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = 0;
	return buf;
}

/* ---- pools ---- */

static int cmd_pool_define_as(struct vsh *vsh, struct vsh_args *a)
{
	const char *name = vsh_value(a, "name"), *type = vsh_value(a, "type");
	const char *target = vsh_option(a, "target");
	bool print = vsh_flag(a, "--print-xml");
	vireo_pool *p;
	char *xml;

	if (!target)
		target = vsh_value(a, "target");
	if (!name || !type) {
		fprintf(stderr, "error: command 'pool-define-as' requires <name> and <type>\n");
		return -1;
	}
	if (vsh_check_unused(a, "pool-define-as") < 0)
		return -1;
	if (strcmp(type, "dir")) {
		fprintf(stderr, "error: pool type '%s' is not supported (only dir)\n", type);
		return -1;
	}
	if (!target) {
		fprintf(stderr, "error: a dir pool needs --target PATH\n");
		return -1;
	}
	if (strchr(name, '<') || strchr(name, '&') || strchr(target, '<') || strchr(target, '&')) {
		fprintf(stderr, "error: name and target must not contain '<' or '&'\n");
		return -1;
	}
	if (asprintf(&xml, "<pool type='dir'>\n  <name>%s</name>\n  <target>\n    <path>%s</path>\n"
		     "  </target>\n</pool>\n", name, target) < 0)
		return -1;
	if (print) {
		printf("%s\n", xml);
		free(xml);
		return 0;
	}
	if (!vsh_conn(vsh)) {
		free(xml);
		return -1;
	}
	p = vireo_pool_define_xml(vsh->conn, xml, 0);
	free(xml);
	if (!p) {
		pool_error("Failed to define pool %s", name);
		return -1;
	}
	printf("Pool %s defined\n\n", vireo_pool_get_name(p));
	vireo_pool_free(p);
	return 0;
}

static int cmd_pool_define(struct vsh *vsh, struct vsh_args *a)
{
	const char *file = vsh_value(a, "file");
	vireo_pool *p;
	char *xml;

	if (!file) {
		fprintf(stderr, "error: command 'pool-define' requires <file> option\n");
		return -1;
	}
	if (vsh_check_unused(a, "pool-define") < 0 || !(xml = read_file(file)))
		return -1;
	if (!vsh_conn(vsh)) {
		free(xml);
		return -1;
	}
	p = vireo_pool_define_xml(vsh->conn, xml, 0);
	free(xml);
	if (!p) {
		pool_error("Failed to define pool from %s", file);
		return -1;
	}
	printf("Pool %s defined from %s\n\n", vireo_pool_get_name(p), file);
	vireo_pool_free(p);
	return 0;
}

/* build, start, refresh, destroy, undefine: one call and virsh's message. */
static int pool_simple(struct vsh *vsh, struct vsh_args *a, const char *cmd,
		       int (*fn)(vireo_pool *, unsigned int), const char *fail, const char *done)
{
	vireo_pool *p;
	int rc;

	if (!(p = get_pool(vsh, a)))
		return -1;
	if (vsh_check_unused(a, cmd) < 0) {
		vireo_pool_free(p);
		return -1;
	}
	rc = fn(p, 0);
	if (rc < 0)
		pool_error(fail, vireo_pool_get_name(p));
	else
		printf(done, vireo_pool_get_name(p));
	vireo_pool_free(p);
	return rc;
}

static int cmd_pool_build(struct vsh *vsh, struct vsh_args *a)
{
	vsh_flag(a, "--no-overwrite");
	return pool_simple(vsh, a, "pool-build", vireo_pool_build, "Failed to build pool %s", "Pool %s built\n\n");
}

static int cmd_pool_start(struct vsh *vsh, struct vsh_args *a)
{
	return pool_simple(vsh, a, "pool-start", vireo_pool_create, "Failed to start pool %s",
			   "Pool %s started\n\n");
}

static int cmd_pool_refresh(struct vsh *vsh, struct vsh_args *a)
{
	return pool_simple(vsh, a, "pool-refresh", vireo_pool_refresh, "Failed to refresh pool %s",
			   "Pool %s refreshed\n\n");
}

static int cmd_pool_destroy(struct vsh *vsh, struct vsh_args *a)
{
	return pool_simple(vsh, a, "pool-destroy", vireo_pool_destroy, "Failed to destroy pool %s",
			   "Pool %s destroyed\n\n");
}

static int cmd_pool_undefine(struct vsh *vsh, struct vsh_args *a)
{
	return pool_simple(vsh, a, "pool-undefine", vireo_pool_undefine, "Failed to undefine pool %s",
			   "Pool %s has been undefined\n\n");
}

static int cmd_pool_autostart(struct vsh *vsh, struct vsh_args *a)
{
	bool disable = vsh_flag(a, "--disable");
	vireo_pool *p = get_pool(vsh, a);
	int rc;

	if (!p)
		return -1;
	if (vsh_check_unused(a, "pool-autostart") < 0) {
		vireo_pool_free(p);
		return -1;
	}
	rc = vireo_pool_set_autostart(p, !disable, 0);
	if (rc < 0)
		pool_error(disable ? "failed to unmark pool %s as autostarted" :
			   "failed to mark pool %s as autostarted", vireo_pool_get_name(p));
	else
		printf(disable ? "Pool %s unmarked as autostarted\n\n" : "Pool %s marked as autostarted\n\n",
		       vireo_pool_get_name(p));
	vireo_pool_free(p);
	return rc;
}

/* --bytes: pool-info prints bare numbers, vol-info adds " bytes" (as virsh). */
static void size_field(const char *label, uint64_t v, bool bytes, const char *unit)
{
	char buf[32];

	if (bytes) {
		printf("%-15s %" PRIu64 "%s\n", label, v, unit);
	} else {
		pretty(v, buf, sizeof(buf));
		printf("%-15s %s\n", label, buf);
	}
}

static int cmd_pool_info(struct vsh *vsh, struct vsh_args *a)
{
	bool bytes = vsh_flag(a, "--bytes");
	vireo_pool *p = get_pool(vsh, a);
	vireo_pool_info info;
	int autostart = 0;

	if (!p)
		return -1;
	if (vsh_check_unused(a, "pool-info") < 0 || vireo_pool_get_info(p, &info, VIREO_STATE_CACHED) < 0) {
		vireo_pool_free(p);
		return -1;
	}
	vireo_pool_get_autostart(p, &autostart);
	if (vsh->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(vireo_pool_get_name(p)));
		json_object_object_add(o, "uuid", json_object_new_string(vireo_pool_get_uuid_string(p)));
		json_object_object_add(o, "state", json_object_new_string(info.state ? "running" : "inactive"));
		json_object_object_add(o, "autostart", json_object_new_boolean(autostart));
		json_object_object_add(o, "capacity", json_object_new_uint64(info.capacity));
		json_object_object_add(o, "allocation", json_object_new_uint64(info.allocation));
		json_object_object_add(o, "available", json_object_new_uint64(info.available));
		print_json(o);
		vireo_pool_free(p);
		return 0;
	}
	printf("%-15s %s\n", "Name:", vireo_pool_get_name(p));
	printf("%-15s %s\n", "UUID:", vireo_pool_get_uuid_string(p));
	printf("%-15s %s\n", "State:", info.state == VIREO_POOL_RUNNING ? "running" : "inactive");
	printf("%-15s %s\n", "Persistent:", "yes");
	printf("%-15s %s\n", "Autostart:", autostart ? "yes" : "no");
	if (info.state == VIREO_POOL_RUNNING) {
		size_field("Capacity:", info.capacity, bytes, "");
		size_field("Allocation:", info.allocation, bytes, "");
		size_field("Available:", info.available, bytes, "");
	}
	printf("\n");
	vireo_pool_free(p);
	return 0;
}

static int cmd_pool_list(struct vsh *vsh, struct vsh_args *a)
{
	bool all = vsh_flag(a, "--all"), inactive = vsh_flag(a, "--inactive");
	bool details = vsh_flag(a, "--details"), names = vsh_flag(a, "--name"), uuids = vsh_flag(a, "--uuid");
	bool autostart = vsh_flag(a, "--autostart"), no_autostart = vsh_flag(a, "--no-autostart");
	unsigned int flags = all ? 0 : inactive ? VIREO_LIST_INACTIVE : VIREO_LIST_ACTIVE;
	vireo_pool **pools = NULL;
	struct table t = { .ncols = details ? 7 : 3 };
	json_object *arr = NULL;
	int n;

	vsh_flag(a, "--persistent");
	if (vsh_check_unused(a, "pool-list") < 0 || !vsh_conn(vsh))
		return -1;
	n = vireo_conn_list_pools(vsh->conn, &pools, flags);
	if (n < 0) {
		pool_error("Failed to list pools");
		return -1;
	}
	if (vsh->json)
		arr = json_object_new_array();
	else if (!names && !uuids) {
		static const char *const head[] = { "Name", "State", "Autostart", "Persistent", "Capacity",
						    "Allocation", "Available" };
		table_add(&t, head);
	}
	for (int i = 0; i < n; i++) {
		vireo_pool_info info;
		int as = 0;
		char cap[32] = "-", alloc[32] = "-", avail[32] = "-";
		vireo_pool_get_autostart(pools[i], &as);
		vireo_pool_get_info(pools[i], &info, VIREO_STATE_CACHED);
		if ((autostart && !as) || (no_autostart && as))
			continue;
		if (arr) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string(vireo_pool_get_name(pools[i])));
			json_object_object_add(o, "uuid", json_object_new_string(vireo_pool_get_uuid_string(pools[i])));
			json_object_object_add(o, "state", json_object_new_string(info.state ? "running" : "inactive"));
			json_object_object_add(o, "autostart", json_object_new_boolean(as));
			json_object_object_add(o, "capacity", json_object_new_uint64(info.capacity));
			json_object_object_add(o, "allocation", json_object_new_uint64(info.allocation));
			json_object_object_add(o, "available", json_object_new_uint64(info.available));
			json_object_array_add(arr, o);
		} else if (names) {
			printf("%-20s\n", vireo_pool_get_name(pools[i]));
		} else if (uuids) {
			printf("%s\n", vireo_pool_get_uuid_string(pools[i]));
		} else {
			const char *row[7] = { vireo_pool_get_name(pools[i]), NULL, as ? "yes" : "no", "yes",
					       cap, alloc, avail };
			if (details && info.state == VIREO_POOL_RUNNING) {
				pretty(info.capacity, cap, sizeof(cap));
				pretty(info.allocation, alloc, sizeof(alloc));
				pretty(info.available, avail, sizeof(avail));
			}
			row[1] = info.state == VIREO_POOL_RUNNING ? (details ? "running" : "active") : "inactive";
			if (!details)
				row[2] = as ? "yes" : "no";
			table_add(&t, row);
		}
	}
	for (int i = 0; i < n; i++)
		vireo_pool_free(pools[i]);
	free(pools);
	if (arr) {
		print_json(arr);
	} else if (names || uuids) {
		printf("\n");
	} else {
		table_print_free(&t);
	}
	return 0;
}

static int cmd_pool_dumpxml(struct vsh *vsh, struct vsh_args *a)
{
	bool inactive = vsh_flag(a, "--inactive");
	vireo_pool *p = get_pool(vsh, a);
	char *xml;

	if (!p)
		return -1;
	if (vsh_check_unused(a, "pool-dumpxml") < 0) {
		vireo_pool_free(p);
		return -1;
	}
	xml = vireo_pool_get_xml_desc(p, inactive ? VIREO_XML_INACTIVE : 0);
	if (!xml)
		pool_error("failed to get the XML of pool %s", vireo_pool_get_name(p));
	else
		printf("%s\n", xml);
	vireo_pool_free(p);
	free(xml);
	return xml ? 0 : -1;
}

/* ---- volumes ---- */

static int cmd_vol_create_as(struct vsh *vsh, struct vsh_args *a)
{
	const char *format = vsh_option(a, "format"), *backing = vsh_option(a, "backing-vol");
	const char *backing_format = vsh_option(a, "backing-vol-format");
	const char *allocation = vsh_option(a, "allocation");
	bool prealloc = vsh_flag(a, "--prealloc-metadata"), print = vsh_flag(a, "--print-xml");
	const char *pool_name = vsh_value(a, "pool"), *name = vsh_value(a, "name");
	const char *capacity = vsh_value(a, "capacity");
	uint64_t cap, alloc = 0;
	vireo_pool *p = NULL;
	vireo_vol *v;
	char *xml;
	int rc = -1;

	if (!pool_name || !name || !capacity) {
		fprintf(stderr, "error: command 'vol-create-as' requires <pool> <name> <capacity>\n");
		return -1;
	}
	if (vsh_check_unused(a, "vol-create-as") < 0)
		return -1;
	if (scaled(capacity, &cap) < 0) {
		fprintf(stderr, "error: Malformed size %s\n", capacity);
		return -1;
	}
	if (allocation && scaled(allocation, &alloc) < 0) {
		fprintf(stderr, "error: Malformed size %s\n", allocation);
		return -1;
	}
	if (strchr(name, '<') || strchr(name, '&') || (backing && (strchr(backing, '<') || strchr(backing, '&'))) ||
	    (format && strchr(format, '\'')) || (backing_format && strchr(backing_format, '\''))) {
		fprintf(stderr, "error: names must not contain '<', '&' or quotes\n");
		return -1;
	}
	{
		char alloc_elem[80] = "", fmt_elem[80] = "", back_elem[4200] = "";
		if (allocation)
			snprintf(alloc_elem, sizeof(alloc_elem), "  <allocation>%" PRIu64 "</allocation>\n", alloc);
		if (format)
			snprintf(fmt_elem, sizeof(fmt_elem), "    <format type='%s'/>\n", format);
		if (backing)
			snprintf(back_elem, sizeof(back_elem), "  <backingStore>\n    <path>%s</path>\n"
				 "    <format type='%s'/>\n  </backingStore>\n", backing,
				 backing_format ? backing_format : "raw");
		if (asprintf(&xml, "<volume>\n  <name>%s</name>\n  <capacity>%" PRIu64 "</capacity>\n%s"
			     "  <target>\n%s  </target>\n%s</volume>\n", name, cap, alloc_elem, fmt_elem,
			     back_elem) < 0)
			return -1;
	}
	if (print) {
		printf("%s\n", xml);
		free(xml);
		return 0;
	}
	if (!vsh_conn(vsh) || !(p = vireo_pool_lookup_by_name(vsh->conn, pool_name))) {
		if (vsh->conn)
			pool_error("failed to get pool '%s'", pool_name);
		free(xml);
		return -1;
	}
	v = vireo_vol_create_xml(p, xml, prealloc ? VIREO_VOL_CREATE_PREALLOC_METADATA : 0);
	if (!v) {
		pool_error("Failed to create vol %s", name);
	} else {
		printf("Vol %s created\n\n", vireo_vol_get_name(v));
		vireo_vol_free(v);
		rc = 0;
	}
	vireo_pool_free(p);
	free(xml);
	return rc;
}

static int cmd_vol_create(struct vsh *vsh, struct vsh_args *a)
{
	bool prealloc = vsh_flag(a, "--prealloc-metadata");
	vireo_pool *p = get_pool(vsh, a);
	const char *file = p ? vsh_value(a, "file") : NULL;
	vireo_vol *v;
	char *xml;

	if (!p)
		return -1;
	if (!file || vsh_check_unused(a, "vol-create") < 0 || !(xml = read_file(file))) {
		if (!file)
			fprintf(stderr, "error: command 'vol-create' requires <file> option\n");
		vireo_pool_free(p);
		return -1;
	}
	v = vireo_vol_create_xml(p, xml, prealloc ? VIREO_VOL_CREATE_PREALLOC_METADATA : 0);
	free(xml);
	vireo_pool_free(p);
	if (!v) {
		pool_error("Failed to create vol from %s", file);
		return -1;
	}
	printf("Vol %s created from %s\n\n", vireo_vol_get_name(v), file);
	vireo_vol_free(v);
	return 0;
}

static int cmd_vol_delete(struct vsh *vsh, struct vsh_args *a)
{
	vireo_vol *v = get_vol(vsh, a, NULL);
	int rc;

	if (!v)
		return -1;
	if (vsh_check_unused(a, "vol-delete") < 0) {
		vireo_vol_free(v);
		return -1;
	}
	rc = vireo_vol_delete(v, 0);
	if (rc < 0)
		pool_error("Failed to delete vol %s", vireo_vol_get_name(v));
	else
		printf("Vol %s deleted\n\n", vireo_vol_get_name(v));
	vireo_vol_free(v);
	return rc;
}

static int cmd_vol_resize(struct vsh *vsh, struct vsh_args *a)
{
	bool delta = vsh_flag(a, "--delta"), shrink = vsh_flag(a, "--shrink");
	vireo_vol *v = get_vol(vsh, a, NULL);
	const char *capacity = v ? vsh_value(a, "capacity") : NULL;
	uint64_t size;
	int rc;

	if (!v)
		return -1;
	if (!capacity || vsh_check_unused(a, "vol-resize") < 0) {
		if (!capacity)
			fprintf(stderr, "error: command 'vol-resize' requires <capacity> option\n");
		vireo_vol_free(v);
		return -1;
	}
	/* virsh takes "-SIZE" with --shrink as a delta downwards */
	if (capacity[0] == '-' && scaled(capacity + 1, &size) == 0) {
		vireo_vol_info info;
		if (vireo_vol_get_info(v, &info, VIREO_STATE_CACHED) < 0 || size > info.capacity) {
			fprintf(stderr, "error: Malformed size %s\n", capacity);
			vireo_vol_free(v);
			return -1;
		}
		size = info.capacity - size;
		delta = false;
	} else if (scaled(capacity, &size) < 0) {
		fprintf(stderr, "error: Malformed size %s\n", capacity);
		vireo_vol_free(v);
		return -1;
	}
	rc = vireo_vol_resize(v, size, (delta ? VIREO_VOL_RESIZE_DELTA : 0) | (shrink ? VIREO_VOL_RESIZE_SHRINK : 0));
	if (rc < 0)
		pool_error("Failed to change size of volume '%s' to %s", vireo_vol_get_name(v), capacity);
	else
		printf("Size of volume '%s' successfully changed to %s\n\n", vireo_vol_get_name(v), capacity);
	vireo_vol_free(v);
	return rc;
}

static int cmd_vol_info(struct vsh *vsh, struct vsh_args *a)
{
	bool bytes = vsh_flag(a, "--bytes"), physical = vsh_flag(a, "--physical");
	vireo_vol *v = get_vol(vsh, a, NULL);
	vireo_vol_info info;

	if (!v)
		return -1;
	if (vsh_check_unused(a, "vol-info") < 0 || vireo_vol_get_info(v, &info, VIREO_STATE_CACHED) < 0) {
		vireo_vol_free(v);
		return -1;
	}
	if (vsh->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(vireo_vol_get_name(v)));
		json_object_object_add(o, "path", json_object_new_string(vireo_vol_get_path(v)));
		json_object_object_add(o, "format", json_object_new_string(info.format));
		json_object_object_add(o, "capacity", json_object_new_uint64(info.capacity));
		json_object_object_add(o, "allocation", json_object_new_uint64(info.allocation));
		json_object_object_add(o, "physical", json_object_new_uint64(info.physical));
		print_json(o);
	} else {
		printf("%-15s %s\n", "Name:", vireo_vol_get_name(v));
		printf("%-15s %s\n", "Type:", "file");
		size_field("Capacity:", info.capacity, bytes, " bytes");
		size_field(physical ? "Physical:" : "Allocation:", physical ? info.physical : info.allocation, bytes,
			   " bytes");
		printf("\n");
	}
	vireo_vol_free(v);
	return 0;
}

static int cmd_vol_list(struct vsh *vsh, struct vsh_args *a)
{
	bool details = vsh_flag(a, "--details");
	vireo_pool *p = get_pool(vsh, a);
	struct table t = { .ncols = details ? 5 : 2 };
	static const char *const head[] = { "Name", "Path", "Type", "Capacity", "Allocation" };
	json_object *arr = NULL;
	vireo_vol **vols = NULL;
	int n;

	if (!p)
		return -1;
	if (vsh_check_unused(a, "vol-list") < 0) {
		vireo_pool_free(p);
		return -1;
	}
	n = vireo_pool_list_volumes(p, &vols, 0);
	if (n < 0) {
		pool_error("Failed to list volumes");
		vireo_pool_free(p);
		return -1;
	}
	if (vsh->json)
		arr = json_object_new_array();
	else {
		table_add(&t, head);
	}
	for (int i = 0; i < n; i++) {
		vireo_vol_info info;
		char cap[32], alloc[32];
		vireo_vol_get_info(vols[i], &info, VIREO_STATE_CACHED);
		if (arr) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string(vireo_vol_get_name(vols[i])));
			json_object_object_add(o, "path", json_object_new_string(vireo_vol_get_path(vols[i])));
			json_object_object_add(o, "format", json_object_new_string(info.format));
			json_object_object_add(o, "capacity", json_object_new_uint64(info.capacity));
			json_object_object_add(o, "allocation", json_object_new_uint64(info.allocation));
			json_object_array_add(arr, o);
		} else {
			const char *row[5] = { vireo_vol_get_name(vols[i]), vireo_vol_get_path(vols[i]), "file",
					       cap, alloc };
			pretty(info.capacity, cap, sizeof(cap));
			pretty(info.allocation, alloc, sizeof(alloc));
			table_add(&t, row);
		}
		vireo_vol_free(vols[i]);
	}
	free(vols);
	vireo_pool_free(p);
	if (arr) {
		print_json(arr);
	} else {
		table_print_free(&t);
	}
	return 0;
}

static int cmd_vol_dumpxml(struct vsh *vsh, struct vsh_args *a)
{
	vireo_vol *v = get_vol(vsh, a, NULL);
	char *xml;

	if (!v)
		return -1;
	if (vsh_check_unused(a, "vol-dumpxml") < 0) {
		vireo_vol_free(v);
		return -1;
	}
	xml = vireo_vol_get_xml_desc(v, 0);
	if (!xml)
		pool_error("failed to get the XML of vol %s", vireo_vol_get_name(v));
	else
		printf("%s\n", xml);
	vireo_vol_free(v);
	free(xml);
	return xml ? 0 : -1;
}

static int cmd_vol_clone(struct vsh *vsh, struct vsh_args *a)
{
	vireo_vol *v = get_vol(vsh, a, NULL), *n;
	const char *new_name = v ? vsh_value(a, "newname") : NULL;

	if (!v)
		return -1;
	vsh_flag(a, "--prealloc-metadata");
	if (!new_name || vsh_check_unused(a, "vol-clone") < 0) {
		if (!new_name)
			fprintf(stderr, "error: command 'vol-clone' requires <newname> option\n");
		vireo_vol_free(v);
		return -1;
	}
	n = vireo_vol_clone(v, new_name, 0);
	if (!n)
		pool_error("Failed to clone vol from %s", vireo_vol_get_name(v));
	else
		printf("Vol %s cloned from %s\n\n", vireo_vol_get_name(n), vireo_vol_get_name(v));
	vireo_vol_free(v);
	vireo_vol_free(n);
	return n ? 0 : -1;
}

static int cmd_vol_path(struct vsh *vsh, struct vsh_args *a)
{
	vireo_vol *v = get_vol(vsh, a, NULL);

	if (!v)
		return -1;
	if (vsh_check_unused(a, "vol-path") < 0) {
		vireo_vol_free(v);
		return -1;
	}
	printf("%s\n\n", vireo_vol_get_path(v));
	vireo_vol_free(v);
	return 0;
}

/* A one-line bar on stderr, redrawn at most every whole percent. */
static int progress_bar(uint64_t done, uint64_t total, void *opaque)
{
	int *last = opaque;
	int pct = total ? (int)(done * 100 / total) : 100;
	char bar[41];

	if (pct == *last)
		return 0;
	*last = pct;
	memset(bar, ' ', 40);
	memset(bar, '=', (size_t)(pct * 40 / 100));
	bar[40] = 0;
	fprintf(stderr, "\r[%s] %3d%%", bar, pct);
	if (done >= total)
		fputc('\n', stderr);
	return 0;
}

static int vol_transfer(struct vsh *vsh, struct vsh_args *a, bool upload)
{
	const char *cmd = upload ? "vol-upload" : "vol-download";
	const char *offset_s = vsh_option(a, "offset"), *length_s = vsh_option(a, "length");
	vireo_vol *v = get_vol(vsh, a, NULL);
	const char *file = v ? vsh_value(a, "file") : NULL;
	uint64_t offset = 0, length = 0;
	int fd, rc, last = -1;
	struct stat st;

	vsh_flag(a, "--sparse");
	if (!v)
		return -1;
	if (!file || vsh_check_unused(a, cmd) < 0 || (offset_s && scaled(offset_s, &offset) < 0) ||
	    (length_s && scaled(length_s, &length) < 0)) {
		if (!file)
			fprintf(stderr, "error: command '%s' requires <file> option\n", cmd);
		else if ((offset_s && scaled(offset_s, &offset) < 0) || (length_s && scaled(length_s, &length) < 0))
			fprintf(stderr, "error: Unable to parse integer parameter\n");
		vireo_vol_free(v);
		return -1;
	}
	fd = upload ? open(file, O_RDONLY | O_CLOEXEC) : open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		fprintf(stderr, "error: cannot open file %s: %s\n", file, strerror(errno));
		vireo_vol_free(v);
		return -1;
	}
	if (upload && !length_s) {
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			fprintf(stderr, "error: %s is not a regular file: give --length\n", file);
			close(fd);
			vireo_vol_free(v);
			return -1;
		}
		length = (uint64_t)st.st_size;
	}
	vireo_progress_fn bar = isatty(STDERR_FILENO) && !vsh->quiet ? progress_bar : NULL;
	if (upload)
		rc = vireo_vol_upload(v, fd, offset, length, bar, &last, 0);
	else
		rc = vireo_vol_download(v, fd, offset, length, bar, &last, 0);
	if (close(fd) < 0 && rc == 0) {
		fprintf(stderr, "error: cannot write %s: %s\n", file, strerror(errno));
		rc = -1;
	} else if (rc < 0) {
		if (bar && last >= 0)
			fputc('\n', stderr);
		pool_error(upload ? "cannot upload to volume %s" : "cannot download from volume %s",
			   vireo_vol_get_name(v));
	}
	vireo_vol_free(v);
	return rc;
}

static int cmd_vol_upload(struct vsh *vsh, struct vsh_args *a)
{
	return vol_transfer(vsh, a, true);
}

static int cmd_vol_download(struct vsh *vsh, struct vsh_args *a)
{
	return vol_transfer(vsh, a, false);
}

const struct vsh_cmd vsh_pool_cmds[] = {
	{ "pool-define-as", cmd_pool_define_as, "pool-define-as <name> dir --target <path> [--print-xml]",
	  "define a pool from a set of args" },
	{ "pool-define", cmd_pool_define, "pool-define <file>", "define an inactive persistent storage pool from an XML file" },
	{ "pool-build", cmd_pool_build, "pool-build <pool>", "build a pool" },
	{ "pool-start", cmd_pool_start, "pool-start <pool>", "start a (previously defined) inactive pool" },
	{ "pool-refresh", cmd_pool_refresh, "pool-refresh <pool>", "refresh a pool" },
	{ "pool-destroy", cmd_pool_destroy, "pool-destroy <pool>", "destroy (stop) a pool" },
	{ "pool-undefine", cmd_pool_undefine, "pool-undefine <pool>", "undefine an inactive pool" },
	{ "pool-autostart", cmd_pool_autostart, "pool-autostart <pool> [--disable]", "autostart a pool" },
	{ "pool-info", cmd_pool_info, "pool-info <pool> [--bytes] [--json]", "storage pool information" },
	{ "pool-list", cmd_pool_list, "pool-list [--inactive] [--all] [--details] [--name] [--uuid] [--autostart] "
	  "[--no-autostart] [--json]", "list pools" },
	{ "pool-dumpxml", cmd_pool_dumpxml, "pool-dumpxml <pool> [--inactive]", "pool information in XML" },
	{ "vol-create-as", cmd_vol_create_as, "vol-create-as <pool> <name> <capacity> [--allocation <size>] "
	  "[--format raw|qcow2] [--backing-vol <vol>] [--backing-vol-format <fmt>] [--prealloc-metadata] "
	  "[--print-xml]", "create a volume from a set of args" },
	{ "vol-create", cmd_vol_create, "vol-create <pool> <file> [--prealloc-metadata]", "create a vol from an XML file" },
	{ "vol-delete", cmd_vol_delete, "vol-delete <vol> [--pool <pool>]", "delete a vol" },
	{ "vol-resize", cmd_vol_resize, "vol-resize <vol> <capacity> [--pool <pool>] [--delta] [--shrink]",
	  "resize a vol" },
	{ "vol-info", cmd_vol_info, "vol-info <vol> [--pool <pool>] [--bytes] [--physical] [--json]",
	  "storage vol information" },
	{ "vol-list", cmd_vol_list, "vol-list <pool> [--details] [--json]", "list vols" },
	{ "vol-dumpxml", cmd_vol_dumpxml, "vol-dumpxml <vol> [--pool <pool>]", "vol information in XML" },
	{ "vol-clone", cmd_vol_clone, "vol-clone <vol> <newname> [--pool <pool>]", "clone a volume." },
	{ "vol-path", cmd_vol_path, "vol-path <vol> [--pool <pool>]", "returns the volume path for a given volume name" },
	{ "vol-upload", cmd_vol_upload, "vol-upload <vol> <file> [--pool <pool>] [--offset <n>] [--length <n>]",
	  "upload file contents to a volume" },
	{ "vol-download", cmd_vol_download, "vol-download <vol> <file> [--pool <pool>] [--offset <n>] [--length <n>]",
	  "download volume contents to a file" },
	{ NULL, NULL, NULL, NULL },
};
