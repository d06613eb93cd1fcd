/* Safe libxml2 parsing and small helpers shared by vireo's XML configs (domain,
 * later network and pool): bounded documents with no DTD, entities or network,
 * strict attribute/child checks that name the offender and its line, units, and
 * an output buffer that writes libvirt-style indented XML. Prefix: xmlu_. */
#ifndef VIREO_CONF_XML_UTIL_H
#define VIREO_CONF_XML_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

/* Hard limits on what we accept from users: the largest config we need is a
 * few KiB, so anything near these is an attack or a mistake. */
#define XMLU_MAX_INPUT (1024 * 1024)
#define XMLU_MAX_DEPTH 16

/* Parse a document. NULL (error set, with a line number when libxml2 gives one)
 * on oversize input, a DOCTYPE/entity declaration, bad syntax, excessive depth,
 * or a root element other than `root_name` (NULL: any element without a
 * namespace; the caller checks its name). Free with xmlFreeDoc. */
xmlDocPtr xmlu_parse(const char *xml, size_t len, const char *root_name);

/* Read a config file (at most XMLU_MAX_INPUT bytes) and hand it to `parse`;
 * errors are prefixed with the path. */
typedef void *(*xmlu_parse_fn)(const char *xml, size_t len, unsigned int flags);
void *xmlu_parse_file(const char *path, xmlu_parse_fn parse, unsigned int flags);

/* Line of a node for messages (0 when unknown). */
long xmlu_line(const xmlNode *node);

/* Reject any attribute of `node` not in the NULL-terminated `allowed` list and
 * any namespaced attribute: "line N: <elem>: unknown attribute 'x'". */
int xmlu_check_attrs(const xmlNode *node, const char *const *allowed);

/* Reject child elements of `node` (element-only content): any element with a
 * namespace, and any non-blank text. Unknown names are checked by the caller. */
int xmlu_check_no_text(const xmlNode *node);
/* Reject any child element or text (for empty elements such as <acpi/>). */
int xmlu_check_empty(const xmlNode *node);

/* Error for an unknown child element: "line N: <parent>: unknown element <x>". */
int xmlu_err_unknown_child(const xmlNode *child);
/* Error for a second occurrence of a once-only element. */
int xmlu_err_duplicate(const xmlNode *child);

/* Attribute value as a malloc'd string (NULL when absent, *out untouched on error). */
int xmlu_attr(const xmlNode *node, const char *name, bool required, char **out);
/* Element text content (malloc'd; "" when empty). Fails if children are elements. */
int xmlu_text(const xmlNode *node, char **out);
/* The same without leading and trailing white space. */
int xmlu_text_trimmed(const xmlNode *node, char **out);

/* Map an attribute value onto an index in a NULL-terminated table. Absent:
 * returns 0 and leaves *out (so callers preset the default), or fails when
 * `required`. A value not in the table: error listing the allowed values. */
int xmlu_attr_enum(const xmlNode *node, const char *name, const char *const *table,
		   bool required, int *out);
/* Same for an element's text content (required). */
int xmlu_text_enum(const xmlNode *node, const char *const *table, int *out);

/* Unsigned decimal (or 0x hex when `allow_hex`) attribute in [min, max]. Absent:
 * returns 0 and leaves *out, or fails when `required`. Sets *present if given. */
int xmlu_attr_uint(const xmlNode *node, const char *name, bool required, bool allow_hex,
		   uint64_t min, uint64_t max, uint64_t *out, bool *present);
/* Unsigned decimal element text in [min, max]. */
int xmlu_text_uint(const xmlNode *node, uint64_t min, uint64_t max, uint64_t *out);
/* "on"/"off" or "yes"/"no" attributes into a tristate: 0 absent, 1 on, 2 off. */
int xmlu_attr_onoff(const xmlNode *node, const char *name, bool yesno, bool required, int *out);

/* libvirt's scaled units: b/bytes, KB (1000), k/KiB (1024), MB, M/MiB, GB,
 * G/GiB, TB, T/TiB, PB, P/PiB, EB, E/EiB. NULL/empty unit means `default_scale`.
 * Result in bytes, must not exceed `max_bytes`. */
int xmlu_scale(const char *number, const char *unit, uint64_t default_scale,
	       uint64_t max_bytes, uint64_t *bytes);
/* Element text scaled by its 'unit' attribute, rounded up to KiB like libvirt. */
int xmlu_text_kib(const xmlNode *node, uint64_t *kib);

/* Dispatch the child elements of `parent` through a table; an element not in
 * the table, a namespaced one, non-blank text, or a second occurrence of a
 * non-repeatable element is an error naming it and its line. `ctx` is passed
 * through. Table size is limited to 64 entries. */
typedef int (*xmlu_child_fn)(xmlNode *node, void *ctx, unsigned int flags);
struct xmlu_child {
	const char *name;
	xmlu_child_fn fn;
	bool repeatable;
};
int xmlu_parse_children(xmlNode *parent, const struct xmlu_child *table, size_t n, void *ctx,
			unsigned int flags);

/* Name of enum value `v` in a NULL-terminated table, or "invalid" when out of
 * range: formatting a def built in code must never read past a table. */
const char *xmlu_enum_name(const char *const *table, size_t count, int v);
#define XMLU_NAME(table, v) xmlu_enum_name((table), sizeof(table) / sizeof((table)[0]), (int)(v))

/* True when the element's name is `name` and it has no namespace. */
bool xmlu_is(const xmlNode *node, const char *name);

/* Output buffer: remembers an allocation failure and reports it at the end. */
struct xmlu_buf {
	char *data;
	size_t len, cap;
	int indent;
	bool failed;
};

void xmlu_buf_printf(struct xmlu_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append text escaped for XML content or a single-quoted attribute. */
void xmlu_buf_escape(struct xmlu_buf *b, const char *text);
/* "<indent><name" — follow with xmlu_buf_attr calls then _end_empty or _end_open. */
void xmlu_buf_start(struct xmlu_buf *b, const char *name);
void xmlu_buf_attr(struct xmlu_buf *b, const char *name, const char *value);
void xmlu_buf_attr_u(struct xmlu_buf *b, const char *name, uint64_t value);
void xmlu_buf_end_empty(struct xmlu_buf *b);  /* "/>\n" */
void xmlu_buf_end_open(struct xmlu_buf *b);   /* ">\n", indent++ */
void xmlu_buf_close(struct xmlu_buf *b, const char *name); /* indent--, "</name>\n" */
/* "<name>escaped text</name>\n" on its own line; nothing when text is NULL. */
void xmlu_buf_text_elem(struct xmlu_buf *b, const char *name, const char *text);
void xmlu_buf_uint_elem(struct xmlu_buf *b, const char *name, uint64_t value);
/* Hand over the text (caller frees) or NULL with ERR_NOMEM. */
char *xmlu_buf_finish(struct xmlu_buf *b);

#endif
