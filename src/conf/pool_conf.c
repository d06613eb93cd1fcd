/* Storage pool (type='dir') and volume XML: the subset of libvirt's storagepool
 * and storagevol schemas that vireod's directory pools use. Anything else,
 * element or attribute, is refused naming it and its line. */
#include "conf/pool_conf.h"
#include "conf/domain_conf.h"
#include "conf/domain_devices.h"
#include "conf/xml_util.h"
#include "common/error.h"
#include "common/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const vol_formats[] = { "raw", "qcow2", NULL };
/* The largest volume we create: qcow2's own limit is far above; this keeps
 * arithmetic on sizes (capacity + metadata) clear of overflow. */
#define VOL_MAX_BYTES (1ull << 60)

bool pool_name_is_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > POOL_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._+-", *p))
			return false;
	return true;
}

bool vol_name_is_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > VOL_NAME_MAX || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._+-", *p))
			return false;
	return true;
}

int vol_format_parse(const char *text, enum vol_format *out)
{
	for (int i = 0; vol_formats[i]; i++) {
		if (text && !strcmp(text, vol_formats[i])) {
			*out = (enum vol_format)i;
			return 0;
		}
	}
	return err_set(ERR_INVALID, "volume format '%s' is not supported (raw or qcow2)", text ? text : "");
}

const char *vol_format_name(enum vol_format f)
{
	return XMLU_NAME(vol_formats, f);
}

/* ---- shared pieces ---- */

static int text_field(xmlNode *n, char **field)
{
	char *s = NULL;

	if (xmlu_check_attrs(n, NULL) < 0 || xmlu_text(n, &s) < 0)
		return -1;
	free(*field);
	*field = s[0] ? s : NULL;
	if (!s[0])
		free(s);
	return 0;
}

struct perms_ctx {
	struct pool_perms *perms;
};

static int p_perm_mode(xmlNode *n, void *ctx, unsigned int flags)
{
	struct pool_perms *p = ((struct perms_ctx *)ctx)->perms;
	autofree char *s = NULL;
	char *end;
	unsigned long v;

	(void)flags;
	if (xmlu_check_attrs(n, NULL) < 0 || xmlu_text(n, &s) < 0)
		return -1;
	v = strtoul(s, &end, 8);
	if (!s[0] || *end || strspn(s, "01234567") != strlen(s) || v > 07777)
		return err_set(ERR_INVALID, "line %ld: <mode>: '%s' is not an octal mode (0 to 7777)",
			       xmlu_line(n), s);
	p->mode = (unsigned int)v;
	p->has_mode = true;
	return 0;
}

static int p_perm_id(xmlNode *n, void *ctx, unsigned int flags)
{
	struct pool_perms *p = ((struct perms_ctx *)ctx)->perms;
	bool owner = xmlu_is(n, "owner");
	autofree char *s = NULL;
	uint64_t v;

	(void)flags;
	if (xmlu_check_attrs(n, NULL) < 0 || xmlu_text(n, &s) < 0)
		return -1;
	/* -1 means "whoever creates it", as in libvirt: same as absent */
	if (!strcmp(s, "-1"))
		return 0;
	if (parse_uint(s, 0, UINT32_MAX - 1, &v) < 0)
		return err_set(ERR_INVALID, "line %ld: <%s>: '%s' is not a uid/gid number", xmlu_line(n),
			       owner ? "owner" : "group", s);
	if (owner) {
		p->owner = (uint32_t)v;
		p->has_owner = true;
	} else {
		p->group = (uint32_t)v;
		p->has_group = true;
	}
	return 0;
}

static int parse_perms(xmlNode *n, struct pool_perms *perms, unsigned int flags)
{
	static const struct xmlu_child kids[] = {
		{ "mode", p_perm_mode, false }, { "owner", p_perm_id, false }, { "group", p_perm_id, false },
	};
	struct perms_ctx c = { perms };

	if (xmlu_check_attrs(n, NULL) < 0)
		return -1;
	return xmlu_parse_children(n, kids, ARRAY_SIZE(kids), &c, flags);
}

static void format_perms(struct xmlu_buf *b, const struct pool_perms *p)
{
	if (!p->has_mode && !p->has_owner && !p->has_group)
		return;
	xmlu_buf_start(b, "permissions");
	xmlu_buf_end_open(b);
	if (p->has_mode)
		xmlu_buf_printf(b, "%*s<mode>0%o</mode>\n", b->indent * 2, "", p->mode);
	if (p->has_owner)
		xmlu_buf_uint_elem(b, "owner", p->owner);
	if (p->has_group)
		xmlu_buf_uint_elem(b, "group", p->group);
	xmlu_buf_close(b, "permissions");
}

/* <capacity unit='...'>N</capacity>: bytes when no unit, as libvirt's storage XML. */
static int parse_size_elem(xmlNode *n, uint64_t *bytes)
{
	static const char *const attrs[] = { "unit", NULL };
	autofree char *unit = NULL, *text = NULL;

	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_attr(n, "unit", false, &unit) < 0 ||
	    xmlu_text(n, &text) < 0)
		return -1;
	if (xmlu_scale(text, unit, 1, VOL_MAX_BYTES, bytes) < 0)
		return err_prefix("line %ld: <%s>", xmlu_line(n), (const char *)n->name);
	return 0;
}

static void format_size_elem(struct xmlu_buf *b, const char *name, uint64_t bytes)
{
	xmlu_buf_printf(b, "%*s<%s unit='bytes'>%llu</%s>\n", b->indent * 2, "", name,
			(unsigned long long)bytes, name);
}

static int parse_uuid_elem(xmlNode *n, uint8_t uuid[POOL_UUID_LEN])
{
	autofree char *text = NULL;
	char *s, *e;

	if (xmlu_check_attrs(n, NULL) < 0 || xmlu_text(n, &text) < 0)
		return -1;
	for (s = text; isspace((unsigned char)*s); s++)
		;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	*e = '\0';
	if (dom_uuid_parse(s, uuid) < 0)
		return err_prefix("line %ld: <uuid>", xmlu_line(n));
	return 0;
}

static int ignore_output_size(xmlNode *n, void *ctx, unsigned int flags)
{
	uint64_t dummy;

	(void)ctx;
	(void)flags;
	/* capacity/allocation/available of a pool are measured, never configured */
	return parse_size_elem(n, &dummy);
}

/* ---- pool ---- */

#define POOL(ctx) ((struct pool_def *)(ctx))

static int p_pool_name(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return text_field(n, &POOL(ctx)->name);
}

static int p_pool_uuid(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return parse_uuid_elem(n, POOL(ctx)->uuid);
}

static int p_pool_source(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)ctx;
	(void)flags;
	/* a dir pool has no source: libvirt prints an empty <source> */
	if (xmlu_check_attrs(n, NULL) < 0)
		return -1;
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return err_set(ERR_INVALID, "line %ld: <source>: unknown element <%s> (a dir pool has "
				       "no source)", xmlu_line(c), (const char *)c->name);
	return xmlu_check_no_text(n);
}

static int p_pool_target_path(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return text_field(n, &POOL(ctx)->target_path);
}

static int p_pool_target_perms(xmlNode *n, void *ctx, unsigned int flags)
{
	return parse_perms(n, &POOL(ctx)->perms, flags);
}

static int p_pool_target(xmlNode *n, void *ctx, unsigned int flags)
{
	static const struct xmlu_child kids[] = {
		{ "path", p_pool_target_path, false }, { "permissions", p_pool_target_perms, false },
	};

	if (xmlu_check_attrs(n, NULL) < 0)
		return -1;
	return xmlu_parse_children(n, kids, ARRAY_SIZE(kids), ctx, flags);
}

static int parse_pool(xmlNode *root, struct pool_def *def, unsigned int flags)
{
	static const char *const attrs[] = { "type", NULL };
	static const char *const pool_types[] = { "dir", NULL };
	static const struct xmlu_child kids[] = {
		{ "name", p_pool_name, false }, { "uuid", p_pool_uuid, false },
		{ "capacity", ignore_output_size, false }, { "allocation", ignore_output_size, false },
		{ "available", ignore_output_size, false }, { "source", p_pool_source, false },
		{ "target", p_pool_target, false },
	};
	int type = 0;
	bool has_uuid = false;

	if (xmlu_check_attrs(root, attrs) < 0 || xmlu_attr_enum(root, "type", pool_types, true, &type) < 0)
		return -1;
	if (xmlu_parse_children(root, kids, ARRAY_SIZE(kids), def, flags) < 0)
		return -1;
	for (xmlNode *c = root->children; c; c = c->next)
		has_uuid |= xmlu_is(c, "uuid");
	if (!def->name)
		return err_set(ERR_INVALID, "line %ld: <pool>: missing <name>", xmlu_line(root));
	if (!def->target_path)
		return err_set(ERR_INVALID, "line %ld: <pool>: missing <target><path>", xmlu_line(root));
	if (!has_uuid && dom_uuid_generate(def->uuid) < 0)
		return -1;
	return 0;
}

/* How one document kind is read: pool and volume share the driver below. */
struct doc_kind {
	const char *root;
	size_t size;
	int (*parse)(xmlNode *root, void *def, unsigned int flags);
	int (*validate)(const void *def);
	void (*free)(void *def);
};

static void *parse_doc(const struct doc_kind *k, const char *xml, size_t len, unsigned int flags)
{
	xmlDocPtr doc = xmlu_parse(xml, len, k->root);
	void *def;
	int rc;

	if (!doc)
		return NULL;
	def = calloc(1, k->size);
	if (!def) {
		xmlFreeDoc(doc);
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	rc = k->parse(xmlDocGetRootElement(doc), def, flags);
	xmlFreeDoc(doc);
	if (rc == 0 && (flags & POOL_PARSE_VALIDATE))
		rc = k->validate(def);
	if (rc < 0) {
		k->free(def);
		return NULL;
	}
	return def;
}

static int pool_parse_root(xmlNode *root, void *def, unsigned int flags)
{
	return parse_pool(root, def, flags);
}

static int pool_validate_any(const void *def)
{
	return pool_def_validate(def);
}

static void pool_free_any(void *def)
{
	pool_def_free(def);
}

static const struct doc_kind pool_kind = {
	"pool", sizeof(struct pool_def), pool_parse_root, pool_validate_any, pool_free_any,
};

struct pool_def *pool_def_parse(const char *xml, size_t len, unsigned int flags)
{
	return parse_doc(&pool_kind, xml, len, flags);
}

static void *pool_parse_any(const char *xml, size_t len, unsigned int flags)
{
	return pool_def_parse(xml, len, flags);
}

struct pool_def *pool_def_parse_file(const char *path, unsigned int flags)
{
	return xmlu_parse_file(path, pool_parse_any, flags);
}

/* An absolute, normalised path: no "." or ".." segment, no "//", no control character. */
static bool path_is_clean(const char *path)
{
	if (!dom_path_ok(path) || strstr(path, "//"))
		return false;
	for (const char *p = path; (p = strchr(p, '/')); p++) {
		if (!strncmp(p, "/./", 3) || !strcmp(p, "/.") || !strncmp(p, "/../", 4) || !strcmp(p, "/.."))
			return false;
	}
	return true;
}

int pool_def_validate(const struct pool_def *def)
{
	if (!pool_name_is_valid(def->name))
		return err_set(ERR_INVALID, "pool name '%s' is invalid: 1 to %d letters, digits, '_', '.', "
			       "'+' or '-', starting with a letter or digit", def->name ? def->name : "",
			       POOL_NAME_MAX);
	if (!def->target_path || !path_is_clean(def->target_path) || strlen(def->target_path) > 3000)
		return err_set(ERR_INVALID, "pool '%s': target path '%s' must be an absolute path without "
			       "'.', '..' or '//' segments", def->name, def->target_path ? def->target_path : "");
	if (!strcmp(def->target_path, "/"))
		return err_set(ERR_INVALID, "pool '%s': target path '/' is refused", def->name);
	return 0;
}

char *pool_def_format(const struct pool_def *def, unsigned int flags)
{
	struct xmlu_buf b = { 0 };
	char uuid[DOM_UUID_STRLEN + 1];

	xmlu_buf_start(&b, "pool");
	xmlu_buf_attr(&b, "type", "dir");
	xmlu_buf_end_open(&b);
	xmlu_buf_text_elem(&b, "name", def->name);
	dom_uuid_format(def->uuid, uuid);
	xmlu_buf_text_elem(&b, "uuid", uuid);
	if (!(flags & POOL_FORMAT_INACTIVE)) {
		format_size_elem(&b, "capacity", def->capacity);
		format_size_elem(&b, "allocation", def->allocation);
		format_size_elem(&b, "available", def->available);
	}
	xmlu_buf_start(&b, "source");
	xmlu_buf_end_open(&b);
	xmlu_buf_close(&b, "source");
	xmlu_buf_start(&b, "target");
	xmlu_buf_end_open(&b);
	xmlu_buf_text_elem(&b, "path", def->target_path);
	format_perms(&b, &def->perms);
	xmlu_buf_close(&b, "target");
	xmlu_buf_close(&b, "pool");
	return xmlu_buf_finish(&b);
}

void pool_def_free(struct pool_def *def)
{
	if (!def)
		return;
	free(def->name);
	free(def->target_path);
	free(def);
}

/* ---- volume ---- */

#define VOL(ctx) ((struct vol_def *)(ctx))

static int p_vol_name(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return text_field(n, &VOL(ctx)->name);
}

static int p_vol_key(xmlNode *n, void *ctx, unsigned int flags)
{
	autofree char *key = NULL;

	(void)ctx;
	(void)flags;
	/* the key is the volume's path: output only, dropped on input as libvirt does */
	return text_field(n, &key);
}

static int p_vol_size(xmlNode *n, void *ctx, unsigned int flags)
{
	uint64_t bytes;

	(void)flags;
	if (parse_size_elem(n, &bytes) < 0)
		return -1;
	if (xmlu_is(n, "capacity")) {
		VOL(ctx)->capacity = bytes;
	} else if (xmlu_is(n, "allocation")) {
		VOL(ctx)->allocation = bytes;
		VOL(ctx)->has_allocation = true;
	}
	/* physical: output only */
	return 0;
}

static int p_format(xmlNode *n, enum vol_format *out)
{
	static const char *const attrs[] = { "type", NULL };
	int f = 0;

	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_enum(n, "type", vol_formats, true, &f) < 0)
		return -1;
	*out = (enum vol_format)f;
	return 0;
}

static int p_vol_target_format(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return p_format(n, &VOL(ctx)->format);
}

static int p_vol_target_path(xmlNode *n, void *ctx, unsigned int flags)
{
	autofree char *path = NULL;

	(void)ctx;
	(void)flags;
	/* a volume lives in its pool's directory under its name: the path is output only */
	return text_field(n, &path);
}

static int p_vol_target_perms(xmlNode *n, void *ctx, unsigned int flags)
{
	return parse_perms(n, &VOL(ctx)->perms, flags);
}

static int p_vol_target(xmlNode *n, void *ctx, unsigned int flags)
{
	static const struct xmlu_child kids[] = {
		{ "path", p_vol_target_path, false }, { "format", p_vol_target_format, false },
		{ "permissions", p_vol_target_perms, false },
	};

	if (xmlu_check_attrs(n, NULL) < 0)
		return -1;
	return xmlu_parse_children(n, kids, ARRAY_SIZE(kids), ctx, flags);
}

static int p_backing_path(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return text_field(n, &VOL(ctx)->backing_path);
}

static int p_backing_format(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return p_format(n, &VOL(ctx)->backing_format);
}

static int p_backing_perms(xmlNode *n, void *ctx, unsigned int flags)
{
	struct pool_perms ignored = { 0 };

	(void)ctx;
	/* the backing file's permissions are its own volume's business */
	return parse_perms(n, &ignored, flags);
}

static int p_vol_backing(xmlNode *n, void *ctx, unsigned int flags)
{
	static const struct xmlu_child kids[] = {
		{ "path", p_backing_path, false }, { "format", p_backing_format, false },
		{ "permissions", p_backing_perms, false },
	};

	if (xmlu_check_attrs(n, NULL) < 0)
		return -1;
	VOL(ctx)->has_backing = true;
	VOL(ctx)->backing_format = VOL_FORMAT_RAW;
	if (xmlu_parse_children(n, kids, ARRAY_SIZE(kids), ctx, flags) < 0)
		return -1;
	if (!VOL(ctx)->backing_path)
		return err_set(ERR_INVALID, "line %ld: <backingStore>: missing <path>", xmlu_line(n));
	return 0;
}

static int parse_vol(xmlNode *root, struct vol_def *def, unsigned int flags)
{
	static const char *const attrs[] = { "type", NULL };
	static const char *const vol_types[] = { "file", NULL };
	static const struct xmlu_child kids[] = {
		{ "name", p_vol_name, false }, { "key", p_vol_key, false },
		{ "capacity", p_vol_size, false }, { "allocation", p_vol_size, false },
		{ "physical", p_vol_size, false }, { "target", p_vol_target, false },
		{ "backingStore", p_vol_backing, false },
	};
	bool has_capacity = false;
	int type = 0;

	if (xmlu_check_attrs(root, attrs) < 0 || xmlu_attr_enum(root, "type", vol_types, false, &type) < 0)
		return -1;
	def->format = VOL_FORMAT_RAW;   /* libvirt's default for a dir pool */
	if (xmlu_parse_children(root, kids, ARRAY_SIZE(kids), def, flags) < 0)
		return -1;
	for (xmlNode *c = root->children; c; c = c->next)
		has_capacity |= xmlu_is(c, "capacity");
	if (!def->name)
		return err_set(ERR_INVALID, "line %ld: <volume>: missing <name>", xmlu_line(root));
	if (!has_capacity && !def->has_backing)
		return err_set(ERR_INVALID, "line %ld: <volume>: missing <capacity>", xmlu_line(root));
	return 0;
}

static int vol_parse_root(xmlNode *root, void *def, unsigned int flags)
{
	return parse_vol(root, def, flags);
}

static int vol_validate_any(const void *def)
{
	return vol_def_validate(def);
}

static void vol_free_any(void *def)
{
	vol_def_free(def);
}

static const struct doc_kind vol_kind = {
	"volume", sizeof(struct vol_def), vol_parse_root, vol_validate_any, vol_free_any,
};

struct vol_def *vol_def_parse(const char *xml, size_t len, unsigned int flags)
{
	return parse_doc(&vol_kind, xml, len, flags);
}

int vol_def_validate(const struct vol_def *def)
{
	if (!vol_name_is_valid(def->name))
		return err_set(ERR_INVALID, "volume name '%s' is invalid: 1 to %d letters, digits, '_', '.', "
			       "'+' or '-', not starting with '.'", def->name ? def->name : "", VOL_NAME_MAX);
	if (def->has_backing) {
		if (def->format != VOL_FORMAT_QCOW2)
			return err_set(ERR_INVALID, "volume '%s': a backing store needs format qcow2, not %s",
				       def->name, vol_format_name(def->format));
		/* a name of the same pool, or an absolute path */
		if (!vol_name_is_valid(def->backing_path) && !path_is_clean(def->backing_path))
			return err_set(ERR_INVALID, "volume '%s': backing store '%s' is neither a volume name "
				       "nor a clean absolute path", def->name, def->backing_path);
	} else if (def->capacity == 0 && def->format == VOL_FORMAT_QCOW2) {
		return err_set(ERR_INVALID, "volume '%s': capacity must be above 0 for qcow2", def->name);
	}
	if (def->has_allocation && def->allocation > def->capacity && def->capacity)
		return err_set(ERR_INVALID, "volume '%s': allocation %llu exceeds capacity %llu", def->name,
			       (unsigned long long)def->allocation, (unsigned long long)def->capacity);
	return 0;
}

char *vol_def_format(const struct vol_def *def, unsigned int flags)
{
	struct xmlu_buf b = { 0 };

	(void)flags;
	xmlu_buf_start(&b, "volume");
	xmlu_buf_attr(&b, "type", "file");
	xmlu_buf_end_open(&b);
	xmlu_buf_text_elem(&b, "name", def->name);
	xmlu_buf_text_elem(&b, "key", def->path);
	format_size_elem(&b, "capacity", def->capacity);
	format_size_elem(&b, "allocation", def->allocation);
	if (def->path)
		format_size_elem(&b, "physical", def->physical);
	xmlu_buf_start(&b, "target");
	xmlu_buf_end_open(&b);
	xmlu_buf_text_elem(&b, "path", def->path);
	xmlu_buf_start(&b, "format");
	xmlu_buf_attr(&b, "type", vol_format_name(def->format));
	xmlu_buf_end_empty(&b);
	format_perms(&b, &def->perms);
	xmlu_buf_close(&b, "target");
	if (def->has_backing) {
		xmlu_buf_start(&b, "backingStore");
		xmlu_buf_end_open(&b);
		xmlu_buf_text_elem(&b, "path", def->backing_path);
		xmlu_buf_start(&b, "format");
		xmlu_buf_attr(&b, "type", vol_format_name(def->backing_format));
		xmlu_buf_end_empty(&b);
		xmlu_buf_close(&b, "backingStore");
	}
	xmlu_buf_close(&b, "volume");
	return xmlu_buf_finish(&b);
}

void vol_def_free(struct vol_def *def)
{
	if (!def)
		return;
	free(def->name);
	free(def->path);
	free(def->backing_path);
	free(def);
}
