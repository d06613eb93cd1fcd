/* Safe libxml2 parsing with limits, strict attribute/child checks and unit
 * scaling, plus the output buffer used to format configs (see xml_util.h).
 * Every message names the element and its line so users can find the fault. */
#include "conf/xml_util.h"
#include "common/error.h"
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

/* Never fetch anything from outside the document: not files, not URLs. */
static xmlParserInputPtr xmlu_refuse_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

/* libxml2 wants its global state set up once before threads parse in
 * parallel; the loader is process-wide too. */
static void xmlu_init_once(void)
{
	xmlInitParser();
	xmlSetExternalEntityLoader(xmlu_refuse_loader);
}

static long line_of_offset(const char *xml, const char *at)
{
	long line = 1;

	for (const char *p = xml; p < at; p++)
		if (*p == '\n')
			line++;
	return line;
}

static int check_depth(const xmlNode *node, int depth)
{
	if (depth > XMLU_MAX_DEPTH)
		return err_set(ERR_INVALID, "line %ld: <%s>: elements nested deeper than %d levels",
			       xmlu_line(node), (const char *)node->name, XMLU_MAX_DEPTH);
	for (const xmlNode *c = node->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && check_depth(c, depth + 1) < 0)
			return -1;
	return 0;
}

xmlDocPtr xmlu_parse(const char *xml, size_t len, const char *root_name)
{
	static const char *const forbidden[] = { "<!DOCTYPE", "<!ENTITY" };
	static pthread_once_t init_once = PTHREAD_ONCE_INIT;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	xmlNodePtr root;

	if (!xml || len == 0)
		return err_set(ERR_INVALID, "XML document is empty"), NULL;
	if (len > XMLU_MAX_INPUT)
		return err_set(ERR_INVALID, "XML document is too large (%zu bytes, limit %d)", len,
			       XMLU_MAX_INPUT), NULL;
	/* Only UTF-8 (forced below): a UTF-16 or EBCDIC document would slip past
	 * the byte scan for declarations that follows. */
	if (memchr(xml, '\0', len))
		return err_set(ERR_INVALID, "line %ld: XML document contains a NUL byte (only UTF-8 is accepted)",
			       line_of_offset(xml, memchr(xml, '\0', len))), NULL;
	/* Entity declarations are how billion-laughs and external-entity attacks
	 * start; configs never need them, so refuse before libxml2 sees them. */
	for (size_t i = 0; i < ARRAY_SIZE(forbidden); i++) {
		const char *at = memmem(xml, len, forbidden[i], strlen(forbidden[i]));

		if (at)
			return err_set(ERR_INVALID, "line %ld: %s declarations are not allowed",
				       line_of_offset(xml, at), forbidden[i] + 2), NULL;
	}
	pthread_once(&init_once, xmlu_init_once);
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return err_set(ERR_NOMEM, "cannot allocate an XML parser"), NULL;
	if (len > (size_t)INT32_MAX) /* unreachable with the cap, kept for the cast */
		len = INT32_MAX;
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, "UTF-8",
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
				XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[256] = "unknown error";

		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		err_set(ERR_INVALID, "line %d: XML syntax error: %s", e ? e->line : 0, msg);
		xmlFreeParserCtxt(ctxt);
		return NULL;
	}
	xmlFreeParserCtxt(ctxt);
	if (doc->intSubset || doc->extSubset) {
		xmlFreeDoc(doc);
		return err_set(ERR_INVALID, "DOCTYPE declarations are not allowed"), NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || root->ns || (root_name && strcmp((const char *)root->name, root_name) != 0)) {
		err_set(ERR_INVALID, "line %ld: root element is <%s>, expected <%s>",
			root ? xmlu_line(root) : 0L, root ? (const char *)root->name : "none",
			root_name ? root_name : "an element without namespace");
		xmlFreeDoc(doc);
		return NULL;
	}
	if (check_depth(root, 1) < 0) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

void *xmlu_parse_file(const char *path, xmlu_parse_fn parse, unsigned int flags)
{
	uint8_t *data = NULL;
	size_t len = 0;
	void *def;

	if (read_file_all(path, XMLU_MAX_INPUT, &data, &len) < 0)
		return NULL;
	def = parse((const char *)data, len, flags);
	free(data);
	if (!def)
		err_prefix("%s", path);
	return def;
}

long xmlu_line(const xmlNode *node)
{
	return node ? xmlGetLineNo(node) : 0;
}

const char *xmlu_enum_name(const char *const *table, size_t count, int v)
{
	return v >= 0 && (size_t)v + 1 < count && table[v] ? table[v] : "invalid";
}

bool xmlu_is(const xmlNode *node, const char *name)
{
	return node->type == XML_ELEMENT_NODE && !node->ns &&
	       strcmp((const char *)node->name, name) == 0;
}

int xmlu_check_attrs(const xmlNode *node, const char *const *allowed)
{
	for (const xmlAttr *a = node->properties; a; a = a->next) {
		bool ok = false;

		for (size_t i = 0; allowed && allowed[i] && !a->ns; i++)
			if (strcmp((const char *)a->name, allowed[i]) == 0)
				ok = true;
		if (!ok)
			return err_set(ERR_INVALID, "line %ld: <%s>: unknown attribute '%s%s%s'",
				       xmlu_line(node), (const char *)node->name,
				       a->ns && a->ns->prefix ? (const char *)a->ns->prefix : "",
				       a->ns && a->ns->prefix ? ":" : "", (const char *)a->name);
	}
	return 0;
}

static bool is_blank(const xmlChar *s)
{
	for (; s && *s; s++)
		if (!isspace(*s))
			return false;
	return true;
}

/* Quote the stray text (trimmed, at most 40 bytes) so users can find it. */
static int err_unexpected_text(const xmlNode *parent, const xmlNode *text)
{
	const char *p = text->content ? (const char *)text->content : "";
	size_t n;

	while (isspace((unsigned char)*p))
		p++;
	for (n = 0; p[n] && p[n] != '\n' && n < 40; n++)
		;
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	return err_set(ERR_INVALID, "line %ld: <%s>: unexpected text '%.*s'", xmlu_line(parent),
		       (const char *)parent->name, (int)n, p);
}

int xmlu_check_no_text(const xmlNode *node)
{
	for (const xmlNode *c = node->children; c; c = c->next) {
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
		    !is_blank(c->content))
			return err_unexpected_text(node, c);
		if (c->type == XML_ENTITY_REF_NODE)
			return err_set(ERR_INVALID, "line %ld: <%s>: entity references are not allowed",
				       xmlu_line(node), (const char *)node->name);
		if (c->type == XML_ELEMENT_NODE && c->ns)
			return xmlu_err_unknown_child(c);
	}
	return 0;
}

int xmlu_check_empty(const xmlNode *node)
{
	for (const xmlNode *c = node->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			return xmlu_err_unknown_child(c);
		if (c->type != XML_COMMENT_NODE && c->type != XML_PI_NODE && !is_blank(c->content))
			return err_unexpected_text(node, c);
	}
	return 0;
}

int xmlu_err_unknown_child(const xmlNode *child)
{
	return err_set(ERR_INVALID, "line %ld: <%s>: unknown element <%s%s%s>", xmlu_line(child),
		       child->parent ? (const char *)child->parent->name : "?",
		       child->ns && child->ns->prefix ? (const char *)child->ns->prefix : "",
		       child->ns && child->ns->prefix ? ":" : "", (const char *)child->name);
}

int xmlu_err_duplicate(const xmlNode *child)
{
	return err_set(ERR_INVALID, "line %ld: <%s>: element <%s> may appear only once",
		       xmlu_line(child), child->parent ? (const char *)child->parent->name : "?",
		       (const char *)child->name);
}

int xmlu_parse_children(xmlNode *parent, const struct xmlu_child *table, size_t n, void *ctx,
			unsigned int flags)
{
	uint64_t seen = 0;

	if (n > 64)
		return err_set(ERR_INTERNAL, "child table of <%s> is too large", (const char *)parent->name);
	if (xmlu_check_no_text(parent) < 0)
		return -1;
	for (xmlNode *c = parent->children; c; c = c->next) {
		size_t i;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		for (i = 0; i < n; i++)
			if (xmlu_is(c, table[i].name))
				break;
		if (i == n)
			return xmlu_err_unknown_child(c);
		if (!table[i].repeatable && (seen & (1ULL << i)))
			return xmlu_err_duplicate(c);
		seen |= 1ULL << i;
		if (table[i].fn(c, ctx, flags) < 0)
			return -1;
	}
	return 0;
}

int xmlu_attr(const xmlNode *node, const char *name, bool required, char **out)
{
	xmlChar *v = xmlGetNoNsProp(node, (const xmlChar *)name);
	char *copy;

	if (!v) {
		if (required)
			return err_set(ERR_INVALID, "line %ld: <%s>: missing attribute '%s'",
				       xmlu_line(node), (const char *)node->name, name);
		*out = NULL;
		return 0;
	}
	copy = strdup((const char *)v);
	xmlFree(v);
	if (!copy)
		return err_set(ERR_NOMEM, "out of memory");
	*out = copy;
	return 0;
}

int xmlu_text(const xmlNode *node, char **out)
{
	xmlChar *v;
	char *copy;

	for (const xmlNode *c = node->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			return xmlu_err_unknown_child(c);
		if (c->type == XML_ENTITY_REF_NODE)
			return err_set(ERR_INVALID, "line %ld: <%s>: entity references are not allowed",
				       xmlu_line(node), (const char *)node->name);
	}
	v = xmlNodeGetContent(node);
	copy = strdup(v ? (const char *)v : "");
	xmlFree(v);
	if (!copy)
		return err_set(ERR_NOMEM, "out of memory");
	*out = copy;
	return 0;
}

static int enum_lookup(const xmlNode *node, const char *what, const char *value,
		       const char *const *table, int *out)
{
	char allowed[256] = "";
	size_t used = 0;

	for (int i = 0; table[i]; i++) {
		if (table[i][0] && strcmp(table[i], value) == 0) {
			*out = i;
			return 0;
		}
	}
	for (int i = 0; table[i]; i++) {
		int n;

		if (!table[i][0])
			continue; /* "" marks an index that users may not name */
		n = snprintf(allowed + used, sizeof(allowed) - used, "%s'%s'", used ? ", " : "", table[i]);
		if (n < 0 || (size_t)n >= sizeof(allowed) - used)
			break;
		used += (size_t)n;
	}
	return err_set(ERR_INVALID, "line %ld: <%s>: %s '%s' is not supported (expected %s)",
		       xmlu_line(node), (const char *)node->name, what, value, allowed);
}

int xmlu_attr_enum(const xmlNode *node, const char *name, const char *const *table,
		   bool required, int *out)
{
	char *v = NULL;
	int rc;

	if (xmlu_attr(node, name, required, &v) < 0)
		return -1;
	if (!v)
		return 0;
	rc = enum_lookup(node, name, v, table, out);
	free(v);
	return rc;
}

static void trim(char *s)
{
	size_t n = strlen(s), start = 0;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (s[start] && isspace((unsigned char)s[start]))
		start++;
	memmove(s, s + start, n - start + 1);
}

int xmlu_text_trimmed(const xmlNode *node, char **out)
{
	if (xmlu_text(node, out) < 0)
		return -1;
	trim(*out);
	return 0;
}

int xmlu_text_enum(const xmlNode *node, const char *const *table, int *out)
{
	char *v = NULL;
	int rc;

	if (xmlu_text(node, &v) < 0)
		return -1;
	trim(v);
	rc = enum_lookup(node, "value", v, table, out);
	free(v);
	return rc;
}

static int parse_number(const xmlNode *node, const char *what, const char *text, bool allow_hex,
			uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int base = 10;
	const char *p = text;

	if (allow_hex && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!(base == 16 ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p)))
		return err_set(ERR_INVALID, "line %ld: <%s>: %s '%s' is not a number",
			       xmlu_line(node), (const char *)node->name, what, text);
	errno = 0;
	v = strtoull(p, &end, base);
	if (errno || *end)
		return err_set(ERR_INVALID, "line %ld: <%s>: %s '%s' is not a number",
			       xmlu_line(node), (const char *)node->name, what, text);
	if (v < min || v > max)
		return err_set(ERR_INVALID, "line %ld: <%s>: %s %s is out of range [%llu, %llu]",
			       xmlu_line(node), (const char *)node->name, what, text,
			       (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int xmlu_attr_uint(const xmlNode *node, const char *name, bool required, bool allow_hex,
		   uint64_t min, uint64_t max, uint64_t *out, bool *present)
{
	char *v = NULL;
	char what[80];
	int rc;

	if (present)
		*present = false;
	if (xmlu_attr(node, name, required, &v) < 0)
		return -1;
	if (!v)
		return 0;
	snprintf(what, sizeof(what), "attribute '%s'", name);
	rc = parse_number(node, what, v, allow_hex, min, max, out);
	free(v);
	if (rc == 0 && present)
		*present = true;
	return rc;
}

int xmlu_text_uint(const xmlNode *node, uint64_t min, uint64_t max, uint64_t *out)
{
	char *v = NULL;
	int rc;

	if (xmlu_text(node, &v) < 0)
		return -1;
	trim(v);
	rc = parse_number(node, "value", v, false, min, max, out);
	free(v);
	return rc;
}

int xmlu_attr_onoff(const xmlNode *node, const char *name, bool yesno, bool required, int *out)
{
	static const char *const onoff[] = { "", "on", "off", NULL };
	static const char *const yn[] = { "", "yes", "no", NULL };

	return xmlu_attr_enum(node, name, yesno ? yn : onoff, required, out);
}

int xmlu_scale(const char *number, const char *unit, uint64_t default_scale,
	       uint64_t max_bytes, uint64_t *bytes)
{
	static const char powers[] = "kmgtpe";
	unsigned long long v;
	uint64_t scale = default_scale;
	char *end;

	if (!number || !isdigit((unsigned char)*number))
		return err_set(ERR_INVALID, "'%s' is not a number", number ? number : "");
	errno = 0;
	v = strtoull(number, &end, 10);
	if (errno || *end)
		return err_set(ERR_INVALID, "'%s' is not a number", number);
	if (unit && *unit) {
		if (!strcasecmp(unit, "b") || !strcasecmp(unit, "bytes")) {
			scale = 1;
		} else {
			const char *p = strchr(powers, tolower((unsigned char)unit[0]));
			uint64_t base;

			if (!p || !*p)
				goto bad_unit;
			/* "k"/"KiB" are binary, "KB" decimal: libvirt's reading of units */
			if (unit[1] == '\0' || !strcasecmp(unit + 1, "ib"))
				base = 1024;
			else if (!strcasecmp(unit + 1, "b"))
				base = 1000;
			else
				goto bad_unit;
			scale = 1;
			for (const char *q = powers; q <= p; q++)
				scale *= base;
		}
	}
	if (scale && v > max_bytes / scale)
		return err_set(ERR_INVALID, "%s %s is too large (limit %llu bytes)", number,
			       unit && *unit ? unit : "", (unsigned long long)max_bytes);
	*bytes = v * scale;
	return 0;
bad_unit:
	return err_set(ERR_INVALID, "unknown unit '%s' (expected b, bytes, KB, k, KiB, MB, M, MiB, "
		       "GB, G, GiB, TB, T, TiB, PB, P, PiB, EB, E or EiB)", unit);
}

int xmlu_text_kib(const xmlNode *node, uint64_t *kib)
{
	char *unit = NULL, *text = NULL;
	uint64_t bytes;
	int rc = -1;

	if (xmlu_attr(node, "unit", false, &unit) < 0 || xmlu_text(node, &text) < 0)
		goto out;
	trim(text);
	/* keep room for rounding up to whole KiB */
	if (xmlu_scale(text, unit, 1024, UINT64_MAX - 1023, &bytes) < 0) {
		err_prefix("line %ld: <%s>", xmlu_line(node), (const char *)node->name);
		goto out;
	}
	*kib = bytes / 1024 + (bytes % 1024 ? 1 : 0);
	rc = 0;
out:
	free(unit);
	free(text);
	return rc;
}

/* ---- output buffer ---- */

static void buf_reserve(struct xmlu_buf *b, size_t more)
{
	size_t want;
	char *n;

	if (b->failed)
		return;
	if (b->len + more + 1 <= b->cap)
		return;
	want = b->cap ? b->cap : 1024;
	while (want < b->len + more + 1)
		want *= 2;
	n = realloc(b->data, want);
	if (!n) {
		b->failed = true;
		return;
	}
	b->data = n;
	b->cap = want;
}

void xmlu_buf_printf(struct xmlu_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	buf_reserve(b, (size_t)n);
	if (b->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void xmlu_buf_escape(struct xmlu_buf *b, const char *text)
{
	for (const char *p = text; *p; p++) {
		switch (*p) {
		case '&': xmlu_buf_printf(b, "&amp;"); break;
		case '<': xmlu_buf_printf(b, "&lt;"); break;
		case '>': xmlu_buf_printf(b, "&gt;"); break;
		case '\'': xmlu_buf_printf(b, "&apos;"); break;
		case '"': xmlu_buf_printf(b, "&quot;"); break;
		default:
			buf_reserve(b, 1);
			if (!b->failed) {
				b->data[b->len++] = *p;
				b->data[b->len] = '\0';
			}
		}
	}
}

void xmlu_buf_start(struct xmlu_buf *b, const char *name)
{
	xmlu_buf_printf(b, "%*s<%s", b->indent * 2, "", name);
}

void xmlu_buf_attr(struct xmlu_buf *b, const char *name, const char *value)
{
	if (!value)
		return;
	xmlu_buf_printf(b, " %s='", name);
	xmlu_buf_escape(b, value);
	xmlu_buf_printf(b, "'");
}

void xmlu_buf_attr_u(struct xmlu_buf *b, const char *name, uint64_t value)
{
	xmlu_buf_printf(b, " %s='%llu'", name, (unsigned long long)value);
}

void xmlu_buf_end_empty(struct xmlu_buf *b)
{
	xmlu_buf_printf(b, "/>\n");
}

void xmlu_buf_end_open(struct xmlu_buf *b)
{
	xmlu_buf_printf(b, ">\n");
	b->indent++;
}

void xmlu_buf_close(struct xmlu_buf *b, const char *name)
{
	b->indent--;
	xmlu_buf_printf(b, "%*s</%s>\n", b->indent * 2, "", name);
}

void xmlu_buf_text_elem(struct xmlu_buf *b, const char *name, const char *text)
{
	if (!text)
		return;
	xmlu_buf_printf(b, "%*s<%s>", b->indent * 2, "", name);
	xmlu_buf_escape(b, text);
	xmlu_buf_printf(b, "</%s>\n", name);
}

void xmlu_buf_uint_elem(struct xmlu_buf *b, const char *name, uint64_t value)
{
	xmlu_buf_printf(b, "%*s<%s>%llu</%s>\n", b->indent * 2, "", name,
			(unsigned long long)value, name);
}

char *xmlu_buf_finish(struct xmlu_buf *b)
{
	char *out;

	if (b->failed || !b->data) {
		free(b->data);
		*b = (struct xmlu_buf){ 0 };
		err_set(ERR_NOMEM, "out of memory while formatting XML");
		return NULL;
	}
	out = b->data;
	*b = (struct xmlu_buf){ 0 };
	return out;
}
