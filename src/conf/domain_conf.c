/* Domain XML core: the <domain> element and everything outside <devices>
 * (identity, memory, vCPUs, NUMA, os, features, cpu, clock, lifecycle),
 * validation, formatting, and uuid/mac/cpuset helpers. Devices live in
 * domain_devices.c. */
#include "conf/domain_conf.h"
#include "conf/domain_devices.h"
#include "conf/xml_util.h"
#include "common/error.h"
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static const char *const virt_types[] = { "kvm", "qemu", NULL };
static const char *const off_actions[] = { "destroy", "restart", "preserve", "rename-restart", NULL };
static const char *const crash_actions[] = {
	"destroy", "restart", "preserve", "rename-restart", "coredump-destroy", "coredump-restart", NULL
};
static const char *const placements[] = { "static", "auto", NULL };
static const char *const boot_devs[] = { "hd", "cdrom", "network", "fd", NULL };
static const char *const cpu_modes[] = { "", "host-passthrough", "host-model", "maximum", NULL };
static const char *const clock_offsets[] = { "utc", "localtime", NULL };
static const char *const timer_names[] = { "rtc", "pit", "hpet", "kvmclock", "hypervclock", "tsc", NULL };
static const char *const tickpolicies[] = { "", "delay", "catchup", "merge", "discard", NULL };
static const char *const numa_modes[] = { "strict", "preferred", "interleave", "restrictive", NULL };
static const char *const hyperv_modes[] = { "custom", "passthrough", NULL };
static const char *const hv_names[] = {
	"relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "stimer", "reset",
	"frequencies", "reenlightenment", "tlbflush", "ipi", "evmcs", NULL
};
static const char *const onoff_names[] = { "", "on", "off", NULL };

const char *dom_action_name(enum dom_action action)
{
	return (unsigned)action < ARRAY_SIZE(crash_actions) - 1 ? crash_actions[action] : "?";
}

/* ---- uuid, mac, bitmap ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void dom_uuid_format(const uint8_t u[DOM_UUID_LEN], char out[DOM_UUID_STRLEN + 1])
{
	snprintf(out, DOM_UUID_STRLEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

int dom_uuid_parse(const char *text, uint8_t uuid[DOM_UUID_LEN])
{
	size_t len = text ? strlen(text) : 0, n = 0;
	bool dashed = len == DOM_UUID_STRLEN;

	if (len != DOM_UUID_STRLEN && len != 2 * DOM_UUID_LEN)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (text[i] != '-')
				goto bad;
			continue;
		}
		hi = hexval((unsigned char)text[i]);
		lo = i + 1 < len ? hexval((unsigned char)text[i + 1]) : -1;
		if (hi < 0 || lo < 0 || n >= DOM_UUID_LEN)
			goto bad;
		uuid[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	if (n != DOM_UUID_LEN)
		goto bad;
	return 0;
bad:
	return err_set(ERR_INVALID, "'%s' is not a UUID", text ? text : "");
}

static int random_bytes(uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set_errno(ERR_INTERNAL, errno, "getrandom");
		done += (size_t)n;
	}
	return 0;
}

int dom_uuid_generate(uint8_t uuid[DOM_UUID_LEN])
{
	if (random_bytes(uuid, DOM_UUID_LEN) < 0)
		return -1;
	uuid[6] = (uuid[6] & 0x0f) | 0x40; /* version 4 */
	uuid[8] = (uuid[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	return 0;
}

void dom_mac_format(const uint8_t m[DOM_MAC_LEN], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

int dom_mac_parse(const char *text, uint8_t mac[DOM_MAC_LEN])
{
	if (!text || strlen(text) != 17)
		goto bad;
	for (size_t i = 0; i < DOM_MAC_LEN; i++) {
		int hi = hexval((unsigned char)text[3 * i]), lo = hexval((unsigned char)text[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < DOM_MAC_LEN - 1 && text[3 * i + 2] != ':'))
			goto bad;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
bad:
	return err_set(ERR_INVALID, "'%s' is not a MAC address (expected xx:xx:xx:xx:xx:xx)",
		       text ? text : "");
}

int dom_mac_generate(uint8_t mac[DOM_MAC_LEN])
{
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	return random_bytes(mac + 3, 3);
}

bool dom_bitmap_test(const struct dom_bitmap *map, unsigned int bit)
{
	return bit < DOM_MAX_HOST_NODES && (map->bits[bit / 64] >> (bit % 64)) & 1;
}

bool dom_bitmap_empty(const struct dom_bitmap *map)
{
	for (size_t i = 0; i < ARRAY_SIZE(map->bits); i++)
		if (map->bits[i])
			return false;
	return true;
}

static void bitmap_set(struct dom_bitmap *map, unsigned int bit, bool on)
{
	if (on)
		map->bits[bit / 64] |= 1ULL << (bit % 64);
	else
		map->bits[bit / 64] &= ~(1ULL << (bit % 64));
}

static int bitmap_number(const char **p, unsigned int max, unsigned int *out)
{
	unsigned long v = 0;

	if (!isdigit((unsigned char)**p))
		return -1;
	while (isdigit((unsigned char)**p)) {
		v = v * 10 + (unsigned long)(**p - '0');
		if (v >= max)
			return -1;
		(*p)++;
	}
	*out = (unsigned int)v;
	return 0;
}

int dom_bitmap_parse(const char *text, unsigned int max, struct dom_bitmap *out)
{
	const char *p = text;

	if (max > DOM_MAX_HOST_NODES)
		max = DOM_MAX_HOST_NODES;
	memset(out, 0, sizeof(*out));
	if (!text || !*text)
		goto bad;
	for (;;) {
		bool neg = *p == '^';
		unsigned int lo, hi;

		if (neg)
			p++;
		if (bitmap_number(&p, max, &lo) < 0)
			goto bad;
		hi = lo;
		if (*p == '-' && !neg) {
			p++;
			if (bitmap_number(&p, max, &hi) < 0 || hi < lo)
				goto bad;
		}
		for (unsigned int i = lo; i <= hi; i++)
			bitmap_set(out, i, !neg);
		if (*p == '\0')
			break;
		if (*p++ != ',')
			goto bad;
	}
	return 0;
bad:
	return err_set(ERR_INVALID, "'%s' is not a valid set of numbers below %u (e.g. '0-3,^2,6')",
		       text ? text : "", max);
}

char *dom_bitmap_format(const struct dom_bitmap *map)
{
	struct xmlu_buf b = { 0 };
	unsigned int i = 0;
	bool first = true;

	while (i < DOM_MAX_HOST_NODES) {
		unsigned int j;

		if (!dom_bitmap_test(map, i)) {
			i++;
			continue;
		}
		for (j = i; j + 1 < DOM_MAX_HOST_NODES && dom_bitmap_test(map, j + 1); j++)
			;
		if (j == i)
			xmlu_buf_printf(&b, "%s%u", first ? "" : ",", i);
		else
			xmlu_buf_printf(&b, "%s%u-%u", first ? "" : ",", i, j);
		first = false;
		i = j + 1;
	}
	if (first)
		xmlu_buf_printf(&b, "%s", "");
	return xmlu_buf_finish(&b);
}

/* ---- parsing ---- */

#define DEF(ctx) ((struct dom_def *)(ctx))

/* Like libvirt, an empty element is the same as an absent one. */
static int parse_text_field(xmlNode *node, char **field)
{
	if (xmlu_check_attrs(node, NULL) < 0)
		return -1;
	free(*field);
	*field = NULL;
	if (xmlu_text(node, field) < 0)
		return -1;
	if (!**field) {
		free(*field);
		*field = NULL;
	}
	return 0;
}

static int p_name(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return parse_text_field(n, &DEF(ctx)->name);
}

static int p_title(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	if (parse_text_field(n, &DEF(ctx)->title) < 0)
		return -1;
	if (DEF(ctx)->title && strchr(DEF(ctx)->title, '\n'))
		return err_set(ERR_INVALID, "line %ld: <title>: must not contain a newline", xmlu_line(n));
	return 0;
}

static int p_description(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return parse_text_field(n, &DEF(ctx)->description);
}

static int p_uuid(xmlNode *n, void *ctx, unsigned int flags)
{
	autofree char *text = NULL;
	char *s, *e;

	(void)flags;
	if (xmlu_check_attrs(n, NULL) < 0 || xmlu_text(n, &text) < 0)
		return -1;
	for (s = text; isspace((unsigned char)*s); s++)
		;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	*e = '\0';
	if (dom_uuid_parse(s, DEF(ctx)->uuid) < 0)
		return err_prefix("line %ld: <uuid>", xmlu_line(n));
	return 0;
}

static int p_memory(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "unit", NULL };

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0)
		return -1;
	return xmlu_text_kib(n, xmlu_is(n, "memory") ? &DEF(ctx)->memory_kib
						     : &DEF(ctx)->current_memory_kib);
}

static int p_vcpu(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "placement", "current", NULL };
	struct dom_def *def = ctx;
	uint64_t max = 0, cur = 0;
	bool has_cur;
	int placement = DOM_PLACEMENT_STATIC;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 ||
	    xmlu_attr_enum(n, "placement", placements, false, &placement) < 0 ||
	    xmlu_attr_uint(n, "current", false, false, 1, DOM_MAX_VCPUS, &cur, &has_cur) < 0 ||
	    xmlu_text_uint(n, 1, DOM_MAX_VCPUS, &max) < 0)
		return -1;
	def->vcpus_max = (unsigned int)max;
	def->vcpus_current = has_cur ? (unsigned int)cur : 0;
	def->vcpu_placement = placement;
	return 0;
}

static int p_numatune_memory(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "mode", "placement", "nodeset", NULL };
	struct dom_def *def = ctx;
	autofree char *nodeset = NULL;
	int mode = DOM_NUMA_STRICT, placement = -1;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_enum(n, "mode", numa_modes, false, &mode) < 0 ||
	    xmlu_attr_enum(n, "placement", placements, false, &placement) < 0 ||
	    xmlu_attr(n, "nodeset", false, &nodeset) < 0)
		return -1;
	if (nodeset) {
		if (dom_bitmap_parse(nodeset, DOM_MAX_HOST_NODES, &def->numatune_nodeset) < 0)
			return err_prefix("line %ld: <memory>: nodeset", xmlu_line(n));
		if (dom_bitmap_empty(&def->numatune_nodeset))
			return err_set(ERR_INVALID, "line %ld: <memory>: nodeset '%s' is empty",
				       xmlu_line(n), nodeset);
		def->numatune_has_nodeset = true;
	}
	/* libvirt: placement defaults to static with a nodeset, auto without */
	if (placement < 0)
		placement = nodeset ? DOM_PLACEMENT_STATIC : DOM_PLACEMENT_AUTO;
	if (placement == DOM_PLACEMENT_AUTO && nodeset)
		return err_set(ERR_INVALID, "line %ld: <memory>: nodeset cannot be used with placement 'auto'",
			       xmlu_line(n));
	if (placement == DOM_PLACEMENT_STATIC && !nodeset)
		return err_set(ERR_INVALID, "line %ld: <memory>: placement 'static' needs a nodeset",
			       xmlu_line(n));
	def->numatune_mode = mode;
	def->numatune_placement = placement;
	def->has_numatune = true;
	return 0;
}

static int p_numatune(xmlNode *n, void *ctx, unsigned int flags)
{
	static const struct xmlu_child kids[] = { { "memory", p_numatune_memory, false } };

	if (xmlu_check_attrs(n, NULL) < 0 ||
	    xmlu_parse_children(n, kids, ARRAY_SIZE(kids), ctx, flags) < 0)
		return -1;
	if (!DEF(ctx)->has_numatune)
		return err_set(ERR_INVALID, "line %ld: <numatune>: missing <memory>", xmlu_line(n));
	return 0;
}

static int p_os_type(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "arch", "machine", NULL };
	static const char *const types[] = { "hvm", NULL };
	static const char *const arches[] = { "x86_64", NULL };
	struct dom_def *def = ctx;
	int type, arch = 0;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_text_enum(n, types, &type) < 0 ||
	    xmlu_attr_enum(n, "arch", arches, false, &arch) < 0 ||
	    xmlu_attr(n, "machine", false, &def->os.machine) < 0)
		return -1;
	if (def->os.machine) {
		for (const char *p = def->os.machine; *p; p++)
			if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
				return err_set(ERR_INVALID, "line %ld: <type>: machine '%s' has invalid characters",
					       xmlu_line(n), def->os.machine);
		if (!*def->os.machine)
			return err_set(ERR_INVALID, "line %ld: <type>: machine is empty", xmlu_line(n));
	}
	return 0;
}

static int p_os_kernel(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return parse_text_field(n, &DEF(ctx)->os.kernel);
}

static int p_os_initrd(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return parse_text_field(n, &DEF(ctx)->os.initrd);
}

static int p_os_cmdline(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return parse_text_field(n, &DEF(ctx)->os.cmdline);
}

static int p_os_boot(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "dev", NULL };
	struct dom_def *def = ctx;
	int dev;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_enum(n, "dev", boot_devs, true, &dev) < 0)
		return -1;
	if (def->os.nboot >= DOM_MAX_BOOT)
		return err_set(ERR_INVALID, "line %ld: <boot>: at most %d boot devices", xmlu_line(n),
			       DOM_MAX_BOOT);
	def->os.boot[def->os.nboot++] = dev;
	return 0;
}

static int p_os(xmlNode *n, void *ctx, unsigned int flags)
{
	static const struct xmlu_child kids[] = {
		{ "type", p_os_type, false }, { "kernel", p_os_kernel, false },
		{ "initrd", p_os_initrd, false }, { "cmdline", p_os_cmdline, false },
		{ "boot", p_os_boot, true },
	};
	bool has_type = false;

	if (xmlu_check_attrs(n, NULL) < 0 ||
	    xmlu_parse_children(n, kids, ARRAY_SIZE(kids), ctx, flags) < 0)
		return -1;
	for (xmlNode *c = n->children; c; c = c->next)
		if (xmlu_is(c, "type"))
			has_type = true;
	if (!has_type)
		return err_set(ERR_INVALID, "line %ld: <os>: missing <type>", xmlu_line(n));
	return 0;
}

static int p_empty_flag(xmlNode *n, bool *flag)
{
	if (xmlu_check_attrs(n, NULL) < 0 || xmlu_check_empty(n) < 0)
		return -1;
	*flag = true;
	return 0;
}

static int p_acpi(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return p_empty_flag(n, &DEF(ctx)->features.acpi);
}

static int p_apic(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	return p_empty_flag(n, &DEF(ctx)->features.apic);
}

static int p_hyperv_feature(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const plain[] = { "state", NULL };
	static const char *const spin[] = { "state", "retries", NULL };
	struct dom_def *def = ctx;
	int which = -1, state = 0;

	(void)flags;
	for (int i = 0; hv_names[i]; i++)
		if (xmlu_is(n, hv_names[i]))
			which = i;
	if (which < 0)
		return xmlu_err_unknown_child(n);
	if (xmlu_check_attrs(n, which == DOM_HV_SPINLOCKS ? spin : plain) < 0 ||
	    xmlu_attr_onoff(n, "state", false, true, &state) < 0)
		return -1;
	def->features.hv[which] = state;
	if (which == DOM_HV_SPINLOCKS) {
		uint64_t retries = 0;
		bool has;

		/* libvirt: fewer than 4095 retries is refused by Windows */
		if (xmlu_attr_uint(n, "retries", false, false, 4095, UINT32_MAX, &retries, &has) < 0)
			return -1;
		if (state == DOM_TRISTATE_ON && !has)
			return err_set(ERR_INVALID, "line %ld: <spinlocks>: missing attribute 'retries'",
				       xmlu_line(n));
		def->features.hv_spinlock_retries = (unsigned int)retries;
	}
	if (which == DOM_HV_STIMER) {
		if (xmlu_check_no_text(n) < 0)
			return -1;
		for (xmlNode *c = n->children; c; c = c->next) {
			int direct = 0;

			if (c->type != XML_ELEMENT_NODE)
				continue;
			if (!xmlu_is(c, "direct"))
				return xmlu_err_unknown_child(c);
			if (def->features.hv_stimer_direct)
				return xmlu_err_duplicate(c);
			if (xmlu_check_attrs(c, plain) < 0 || xmlu_check_empty(c) < 0 ||
			    xmlu_attr_onoff(c, "state", false, true, &direct) < 0)
				return -1;
			def->features.hv_stimer_direct = direct;
		}
	} else if (xmlu_check_empty(n) < 0) {
		return -1;
	}
	return 0;
}

static int p_hyperv(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "mode", NULL };
	struct xmlu_child kids[DOM_HV_LAST];
	struct dom_def *def = ctx;
	int mode = DOM_HYPERV_CUSTOM;

	for (int i = 0; i < DOM_HV_LAST; i++)
		kids[i] = (struct xmlu_child){ hv_names[i], p_hyperv_feature, false };
	if (xmlu_check_attrs(n, attrs) < 0 ||
	    xmlu_attr_enum(n, "mode", hyperv_modes, false, &mode) < 0)
		return -1;
	def->features.hyperv = true;
	def->features.hyperv_mode = mode;
	if (mode == DOM_HYPERV_PASSTHROUGH)
		return xmlu_check_empty(n);
	return xmlu_parse_children(n, kids, ARRAY_SIZE(kids), ctx, flags);
}

static int p_features(xmlNode *n, void *ctx, unsigned int flags)
{
	static const struct xmlu_child kids[] = {
		{ "acpi", p_acpi, false }, { "apic", p_apic, false }, { "hyperv", p_hyperv, false },
	};

	return xmlu_check_attrs(n, NULL) < 0 ? -1
					     : xmlu_parse_children(n, kids, ARRAY_SIZE(kids), ctx, flags);
}

static int p_topology(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "sockets", "dies", "cores", "threads", NULL };
	struct dom_def *def = ctx;
	uint64_t s = 0, d = 0, c = 0, t = 0;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_uint(n, "sockets", true, false, 1, DOM_MAX_VCPUS, &s, NULL) < 0 ||
	    xmlu_attr_uint(n, "dies", false, false, 1, DOM_MAX_VCPUS, &d, NULL) < 0 ||
	    xmlu_attr_uint(n, "cores", true, false, 1, DOM_MAX_VCPUS, &c, NULL) < 0 ||
	    xmlu_attr_uint(n, "threads", true, false, 1, DOM_MAX_VCPUS, &t, NULL) < 0)
		return -1;
	def->cpu.has_topology = true;
	def->cpu.sockets = (unsigned int)s;
	def->cpu.dies = d ? (unsigned int)d : 1; /* libvirt fills in and prints dies='1' */
	def->cpu.cores = (unsigned int)c;
	def->cpu.threads = (unsigned int)t;
	return 0;
}

static int p_numa_cell(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "id", "cpus", "memory", "unit", NULL };
	struct dom_def *def = ctx;
	struct dom_numa_cell *cell, *grown;
	autofree char *cpus = NULL, *mem = NULL, *unit = NULL;
	uint64_t id = def->cpu.ncells, bytes;

	(void)flags;
	if (def->cpu.ncells >= DOM_MAX_NUMA_CELLS)
		return err_set(ERR_INVALID, "line %ld: <cell>: at most %d NUMA cells", xmlu_line(n),
			       DOM_MAX_NUMA_CELLS);
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_uint(n, "id", false, false, 0, DOM_MAX_NUMA_CELLS - 1, &id, NULL) < 0 ||
	    xmlu_attr(n, "cpus", true, &cpus) < 0 || xmlu_attr(n, "memory", true, &mem) < 0 ||
	    xmlu_attr(n, "unit", false, &unit) < 0)
		return -1;
	if (id != def->cpu.ncells)
		return err_set(ERR_INVALID, "line %ld: <cell>: id %llu out of order (expected %zu)",
			       xmlu_line(n), (unsigned long long)id, def->cpu.ncells);
	grown = realloc(def->cpu.cells, (def->cpu.ncells + 1) * sizeof(*grown));
	if (!grown)
		return err_set(ERR_NOMEM, "out of memory");
	def->cpu.cells = grown;
	cell = &grown[def->cpu.ncells];
	memset(cell, 0, sizeof(*cell));
	cell->id = (unsigned int)id;
	if (dom_bitmap_parse(cpus, DOM_MAX_VCPUS, &cell->cpus) < 0)
		return err_prefix("line %ld: <cell>: cpus", xmlu_line(n));
	if (xmlu_scale(mem, unit, 1024, UINT64_MAX - 1023, &bytes) < 0)
		return err_prefix("line %ld: <cell>: memory", xmlu_line(n));
	cell->memory_kib = bytes / 1024 + (bytes % 1024 ? 1 : 0);
	def->cpu.ncells++;
	return 0;
}

static int p_numa(xmlNode *n, void *ctx, unsigned int flags)
{
	static const struct xmlu_child kids[] = { { "cell", p_numa_cell, true } };

	if (xmlu_check_attrs(n, NULL) < 0 ||
	    xmlu_parse_children(n, kids, ARRAY_SIZE(kids), ctx, flags) < 0)
		return -1;
	if (!DEF(ctx)->cpu.ncells)
		return err_set(ERR_INVALID, "line %ld: <numa>: needs at least one <cell>", xmlu_line(n));
	return 0;
}

static int p_cpu(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "mode", NULL };
	static const struct xmlu_child kids[] = {
		{ "topology", p_topology, false }, { "numa", p_numa, false },
	};
	struct dom_def *def = ctx;
	int mode = DOM_CPU_DEFAULT;

	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_attr_enum(n, "mode", cpu_modes, false, &mode) < 0)
		return -1;
	def->cpu.present = true;
	def->cpu.mode = mode;
	return xmlu_parse_children(n, kids, ARRAY_SIZE(kids), ctx, flags);
}

static int p_timer(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "name", "present", "tickpolicy", NULL };
	struct dom_def *def = ctx;
	struct dom_timer *t;
	int name, present = 0, tick = DOM_TICK_NONE;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_enum(n, "name", timer_names, true, &name) < 0 ||
	    xmlu_attr_onoff(n, "present", true, false, &present) < 0 ||
	    xmlu_attr_enum(n, "tickpolicy", tickpolicies, false, &tick) < 0)
		return -1;
	t = &def->clock.timers[name];
	if (t->present_set)
		return err_set(ERR_INVALID, "line %ld: <timer>: timer '%s' given twice", xmlu_line(n),
			       timer_names[name]);
	if (tick != DOM_TICK_NONE && (name == DOM_TIMER_KVMCLOCK || name == DOM_TIMER_HYPERVCLOCK))
		return err_set(ERR_INVALID, "line %ld: <timer>: timer '%s' takes no tickpolicy",
			       xmlu_line(n), timer_names[name]);
	t->present_set = true;
	t->present = present;
	t->tickpolicy = tick;
	if (def->clock.ntimers < DOM_TIMER_LAST) /* always: duplicates are refused above */
		def->clock.order[def->clock.ntimers++] = name;
	return 0;
}

static int p_clock(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "offset", NULL };
	static const struct xmlu_child kids[] = { { "timer", p_timer, true } };
	struct dom_def *def = ctx;
	int offset = DOM_CLOCK_UTC;

	if (xmlu_check_attrs(n, attrs) < 0 ||
	    xmlu_attr_enum(n, "offset", clock_offsets, false, &offset) < 0)
		return -1;
	def->clock.present = true;
	def->clock.offset = offset;
	return xmlu_parse_children(n, kids, ARRAY_SIZE(kids), ctx, flags);
}

static int p_lifecycle(xmlNode *n, void *ctx, unsigned int flags)
{
	struct dom_def *def = ctx;
	bool crash = xmlu_is(n, "on_crash");
	int action;

	(void)flags;
	if (xmlu_check_attrs(n, NULL) < 0 ||
	    xmlu_text_enum(n, crash ? crash_actions : off_actions, &action) < 0)
		return -1;
	if (crash)
		def->on_crash = action;
	else if (xmlu_is(n, "on_reboot"))
		def->on_reboot = action;
	else
		def->on_poweroff = action;
	return 0;
}

static int parse_domain(xmlNode *root, struct dom_def *def, unsigned int flags)
{
	static const char *const attrs[] = { "type", "id", NULL };
	static const struct xmlu_child kids[] = {
		{ "name", p_name, false }, { "uuid", p_uuid, false }, { "title", p_title, false },
		{ "description", p_description, false }, { "memory", p_memory, false },
		{ "currentMemory", p_memory, false }, { "vcpu", p_vcpu, false },
		{ "numatune", p_numatune, false }, { "os", p_os, false },
		{ "features", p_features, false }, { "cpu", p_cpu, false }, { "clock", p_clock, false },
		{ "on_poweroff", p_lifecycle, false }, { "on_reboot", p_lifecycle, false },
		{ "on_crash", p_lifecycle, false }, { "devices", dom_devices_parse, false },
	};
	int type;
	uint64_t id = 0;
	bool has_id, has_uuid = false, has_os = false;

	if (xmlu_check_attrs(root, attrs) < 0 || xmlu_attr_enum(root, "type", virt_types, true, &type) < 0 ||
	    xmlu_attr_uint(root, "id", false, false, 0, INT32_MAX, &id, &has_id) < 0)
		return -1;
	def->virt_type = type;
	/* like libvirt, a define ignores the runtime id; status files keep it */
	def->id = (has_id && (flags & DOM_PARSE_STATUS)) ? (int)id : -1;
	if (xmlu_parse_children(root, kids, ARRAY_SIZE(kids), def, flags) < 0)
		return -1;
	for (xmlNode *c = root->children; c; c = c->next) {
		has_uuid |= xmlu_is(c, "uuid");
		has_os |= xmlu_is(c, "os");
	}
	if (!def->name)
		return err_set(ERR_INVALID, "line %ld: <domain>: missing <name>", xmlu_line(root));
	if (!def->memory_kib)
		return err_set(ERR_INVALID, "line %ld: <domain>: missing <memory> (or it is 0)",
			       xmlu_line(root));
	if (!def->vcpus_max)
		def->vcpus_max = 1; /* libvirt's default */
	if (!def->vcpus_current)
		def->vcpus_current = def->vcpus_max;
	if (!def->current_memory_kib)
		def->current_memory_kib = def->memory_kib;
	if (!has_os)
		return err_set(ERR_INVALID, "line %ld: <domain>: missing <os>", xmlu_line(root));
	if (!has_uuid && dom_uuid_generate(def->uuid) < 0)
		return -1;
	/* libvirt boots from the first disk when nothing else is said (even with
	 * a <kernel>: the boot order then matters only to firmware) */
	if (def->os.nboot == 0)
		def->os.boot[def->os.nboot++] = DOM_BOOT_HD;
	return dom_devices_post_parse(def);
}

struct dom_def *dom_parse_xml(const char *xml, size_t len, unsigned int flags)
{
	xmlDocPtr doc = xmlu_parse(xml, len, "domain");
	struct dom_def *def;
	int rc;

	if (!doc)
		return NULL;
	def = calloc(1, sizeof(*def));
	if (!def) {
		xmlFreeDoc(doc);
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	def->on_poweroff = DOM_ACTION_DESTROY;
	def->on_reboot = DOM_ACTION_RESTART;
	def->on_crash = DOM_ACTION_DESTROY;
	rc = parse_domain(xmlDocGetRootElement(doc), def, flags);
	xmlFreeDoc(doc);
	if (rc == 0 && (flags & DOM_PARSE_VALIDATE))
		rc = dom_validate(def);
	if (rc < 0) {
		dom_def_free(def);
		return NULL;
	}
	return def;
}

struct dom_def *dom_parse_file(const char *path, unsigned int flags)
{
	uint8_t *data = NULL;
	size_t len = 0;
	struct dom_def *def;

	if (read_file_all(path, XMLU_MAX_INPUT, &data, &len) < 0)
		return NULL;
	def = dom_parse_xml((const char *)data, len, flags);
	free(data);
	if (!def)
		err_prefix("%s", path);
	return def;
}

struct dom_disk *dom_disk_by_target(const struct dom_def *def, const char *target_dev)
{
	for (size_t i = 0; i < def->ndisks; i++)
		if (def->disks[i].target_dev && target_dev && !strcmp(def->disks[i].target_dev, target_dev))
			return &def->disks[i];
	return NULL;
}

struct dom_net *dom_net_by_mac(const struct dom_def *def, const uint8_t mac[DOM_MAC_LEN])
{
	for (size_t i = 0; i < def->nnets; i++)
		if (!memcmp(def->nets[i].mac, mac, DOM_MAC_LEN))
			return &def->nets[i];
	return NULL;
}

/* ---- validation ---- */

bool dom_path_ok(const char *path)
{
	if (!path || path[0] != '/')
		return false;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static bool name_is_valid(const char *name)
{
	size_t len = strlen(name);

	/* the name becomes a file name and a socket path: be strict */
	if (len == 0 || len > DOM_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._+-", *p))
			return false;
	return true;
}

static unsigned int bitmap_count(const struct dom_bitmap *m)
{
	unsigned int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(m->bits); i++)
		n += (unsigned int)__builtin_popcountll(m->bits[i]);
	return n;
}

static int validate_cpu(const struct dom_def *def)
{
	uint64_t mem = 0;
	struct dom_bitmap all = { 0 };
	unsigned int ncpus = 0;

	if (def->cpu.has_topology) {
		uint64_t total = (uint64_t)def->cpu.sockets * (def->cpu.dies ? def->cpu.dies : 1) *
				 def->cpu.cores * def->cpu.threads;

		if (total != def->vcpus_max)
			return err_set(ERR_INVALID, "cpu topology gives %llu vCPUs (sockets x dies x cores x "
				       "threads) but <vcpu> is %u", (unsigned long long)total, def->vcpus_max);
	}
	for (size_t i = 0; i < def->cpu.ncells; i++) {
		const struct dom_numa_cell *c = &def->cpu.cells[i];

		for (size_t w = 0; w < ARRAY_SIZE(all.bits); w++) {
			if (all.bits[w] & c->cpus.bits[w])
				return err_set(ERR_INVALID, "NUMA cell %u shares vCPUs with an earlier cell", c->id);
			all.bits[w] |= c->cpus.bits[w];
		}
		if (c->memory_kib == 0)
			return err_set(ERR_INVALID, "NUMA cell %u has no memory", c->id);
		mem += c->memory_kib;
	}
	if (def->cpu.ncells) {
		ncpus = bitmap_count(&all);
		for (unsigned int i = def->vcpus_max; i < DOM_MAX_VCPUS; i++)
			if (dom_bitmap_test(&all, i))
				return err_set(ERR_INVALID, "NUMA cells name vCPU %u but <vcpu> is %u", i,
					       def->vcpus_max);
		if (ncpus != def->vcpus_max)
			return err_set(ERR_INVALID, "NUMA cells cover %u of %u vCPUs", ncpus, def->vcpus_max);
		if (mem != def->memory_kib)
			return err_set(ERR_INVALID, "NUMA cells hold %llu KiB but <memory> is %llu KiB",
				       (unsigned long long)mem, (unsigned long long)def->memory_kib);
	}
	return 0;
}

int dom_validate(const struct dom_def *def)
{
	if (!def->name || !name_is_valid(def->name))
		return err_set(ERR_INVALID, "domain name '%s' is invalid: use 1-%d letters, digits, "
			       "'.', '_', '+' or '-', starting with a letter or digit",
			       def->name ? def->name : "", DOM_NAME_MAX);
	if (def->memory_kib == 0)
		return err_set(ERR_INVALID, "domain '%s': memory must be greater than 0", def->name);
	if (def->current_memory_kib > def->memory_kib)
		return err_set(ERR_INVALID, "domain '%s': currentMemory %llu KiB exceeds memory %llu KiB",
			       def->name, (unsigned long long)def->current_memory_kib,
			       (unsigned long long)def->memory_kib);
	if (def->vcpus_max == 0 || def->vcpus_max > DOM_MAX_VCPUS)
		return err_set(ERR_INVALID, "domain '%s': vcpu count %u out of range [1, %d]", def->name,
			       def->vcpus_max, DOM_MAX_VCPUS);
	if (def->vcpus_current == 0 || def->vcpus_current > def->vcpus_max)
		return err_set(ERR_INVALID, "domain '%s': current vcpus %u must be between 1 and %u",
			       def->name, def->vcpus_current, def->vcpus_max);
	if ((def->os.initrd || def->os.cmdline) && !def->os.kernel)
		return err_set(ERR_INVALID, "domain '%s': <initrd>/<cmdline> need a <kernel>", def->name);
	if ((def->os.kernel && !dom_path_ok(def->os.kernel)) ||
	    (def->os.initrd && !dom_path_ok(def->os.initrd)))
		return err_set(ERR_INVALID, "domain '%s': <kernel> and <initrd> must be absolute paths "
			       "without control characters", def->name);
	if (validate_cpu(def) < 0 || dom_devices_validate(def) < 0)
		return err_prefix("domain '%s'", def->name);
	return 0;
}

/* ---- formatting ---- */

static void format_memory(struct xmlu_buf *b, const char *name, uint64_t kib)
{
	xmlu_buf_printf(b, "%*s<%s unit='KiB'>%llu</%s>\n", b->indent * 2, "", name,
			(unsigned long long)kib, name);
}

static void format_features(struct xmlu_buf *b, const struct dom_def *def)
{
	bool any_hv = false;

	if (!def->features.acpi && !def->features.apic && !def->features.hyperv)
		return;
	xmlu_buf_start(b, "features");
	xmlu_buf_end_open(b);
	if (def->features.acpi) {
		xmlu_buf_start(b, "acpi");
		xmlu_buf_end_empty(b);
	}
	if (def->features.apic) {
		xmlu_buf_start(b, "apic");
		xmlu_buf_end_empty(b);
	}
	if (def->features.hyperv) {
		xmlu_buf_start(b, "hyperv");
		xmlu_buf_attr(b, "mode", XMLU_NAME(hyperv_modes, def->features.hyperv_mode));
		for (int i = 0; i < DOM_HV_LAST; i++)
			any_hv |= def->features.hv[i] != DOM_TRISTATE_ABSENT;
		if (def->features.hyperv_mode == DOM_HYPERV_PASSTHROUGH || !any_hv) {
			xmlu_buf_end_empty(b);
		} else {
			xmlu_buf_end_open(b);
			for (int i = 0; i < DOM_HV_LAST; i++) {
				if (def->features.hv[i] == DOM_TRISTATE_ABSENT)
					continue;
				xmlu_buf_start(b, XMLU_NAME(hv_names, i));
				xmlu_buf_attr(b, "state", XMLU_NAME(onoff_names, def->features.hv[i]));
				if (i == DOM_HV_SPINLOCKS && def->features.hv_spinlock_retries)
					xmlu_buf_attr_u(b, "retries", def->features.hv_spinlock_retries);
				if (i == DOM_HV_STIMER && def->features.hv_stimer_direct) {
					xmlu_buf_end_open(b);
					xmlu_buf_start(b, "direct");
					xmlu_buf_attr(b, "state", XMLU_NAME(onoff_names, def->features.hv_stimer_direct));
					xmlu_buf_end_empty(b);
					xmlu_buf_close(b, "stimer");
				} else {
					xmlu_buf_end_empty(b);
				}
			}
			xmlu_buf_close(b, "hyperv");
		}
	}
	xmlu_buf_close(b, "features");
}

static void format_cpu(struct xmlu_buf *b, const struct dom_def *def)
{
	if (!def->cpu.present)
		return;
	xmlu_buf_start(b, "cpu");
	if (def->cpu.mode != DOM_CPU_DEFAULT)
		xmlu_buf_attr(b, "mode", XMLU_NAME(cpu_modes, def->cpu.mode));
	if (!def->cpu.has_topology && !def->cpu.ncells) {
		xmlu_buf_end_empty(b);
		return;
	}
	xmlu_buf_end_open(b);
	if (def->cpu.has_topology) {
		xmlu_buf_start(b, "topology");
		xmlu_buf_attr_u(b, "sockets", def->cpu.sockets);
		xmlu_buf_attr_u(b, "dies", def->cpu.dies ? def->cpu.dies : 1);
		xmlu_buf_attr_u(b, "cores", def->cpu.cores);
		xmlu_buf_attr_u(b, "threads", def->cpu.threads);
		xmlu_buf_end_empty(b);
	}
	if (def->cpu.ncells) {
		xmlu_buf_start(b, "numa");
		xmlu_buf_end_open(b);
		for (size_t i = 0; i < def->cpu.ncells; i++) {
			char *cpus = dom_bitmap_format(&def->cpu.cells[i].cpus);

			xmlu_buf_start(b, "cell");
			xmlu_buf_attr_u(b, "id", def->cpu.cells[i].id);
			if (!cpus)
				b->failed = true;
			else
				xmlu_buf_attr(b, "cpus", cpus);
			xmlu_buf_attr_u(b, "memory", def->cpu.cells[i].memory_kib);
			xmlu_buf_attr(b, "unit", "KiB");
			xmlu_buf_end_empty(b);
			free(cpus);
		}
		xmlu_buf_close(b, "numa");
	}
	xmlu_buf_close(b, "cpu");
}

static void format_clock(struct xmlu_buf *b, const struct dom_def *def)
{
	bool any = false, printed[DOM_TIMER_LAST] = { false };

	/* like libvirt, always printed: an absent <clock> means offset='utc' */
	xmlu_buf_start(b, "clock");
	xmlu_buf_attr(b, "offset", XMLU_NAME(clock_offsets, def->clock.offset));
	for (int i = 0; i < DOM_TIMER_LAST; i++)
		any |= def->clock.timers[i].present_set;
	if (!any) {
		xmlu_buf_end_empty(b);
		return;
	}
	xmlu_buf_end_open(b);
	for (size_t k = 0; k < def->clock.ntimers + DOM_TIMER_LAST; k++) {
		bool listed = false;
		int i;
		const struct dom_timer *t;

		if (k < def->clock.ntimers) {
			i = (int)def->clock.order[k];
			if (i < 0 || i >= DOM_TIMER_LAST || printed[i])
				continue;
		} else {
			i = (int)(k - def->clock.ntimers);
			listed = printed[i];
		}
		t = &def->clock.timers[i];
		if (!t->present_set || listed)
			continue;
		printed[i] = true;
		xmlu_buf_start(b, "timer");
		xmlu_buf_attr(b, "name", XMLU_NAME(timer_names, i));
		if (t->present != DOM_TRISTATE_ABSENT)
			xmlu_buf_attr(b, "present", t->present == DOM_TRISTATE_ON ? "yes" : "no");
		if (t->tickpolicy != DOM_TICK_NONE)
			xmlu_buf_attr(b, "tickpolicy", XMLU_NAME(tickpolicies, t->tickpolicy));
		xmlu_buf_end_empty(b);
	}
	xmlu_buf_close(b, "clock");
}

static void format_os(struct xmlu_buf *b, const struct dom_def *def)
{
	xmlu_buf_start(b, "os");
	xmlu_buf_end_open(b);
	xmlu_buf_start(b, "type");
	xmlu_buf_attr(b, "arch", "x86_64");
	xmlu_buf_attr(b, "machine", def->os.machine);
	xmlu_buf_printf(b, ">hvm</type>\n");
	xmlu_buf_text_elem(b, "kernel", def->os.kernel);
	xmlu_buf_text_elem(b, "initrd", def->os.initrd);
	xmlu_buf_text_elem(b, "cmdline", def->os.cmdline);
	for (size_t i = 0; i < def->os.nboot && i < DOM_MAX_BOOT; i++) {
		xmlu_buf_start(b, "boot");
		xmlu_buf_attr(b, "dev", XMLU_NAME(boot_devs, def->os.boot[i]));
		xmlu_buf_end_empty(b);
	}
	xmlu_buf_close(b, "os");
}

char *dom_format_xml(const struct dom_def *def, unsigned int flags)
{
	struct xmlu_buf b = { 0 };
	char uuid[DOM_UUID_STRLEN + 1];

	xmlu_buf_start(&b, "domain");
	xmlu_buf_attr(&b, "type", XMLU_NAME(virt_types, def->virt_type));
	if (def->id >= 0 && !(flags & DOM_FORMAT_INACTIVE))
		xmlu_buf_attr_u(&b, "id", (unsigned int)def->id);
	xmlu_buf_end_open(&b);
	xmlu_buf_text_elem(&b, "name", def->name);
	dom_uuid_format(def->uuid, uuid);
	xmlu_buf_text_elem(&b, "uuid", uuid);
	xmlu_buf_text_elem(&b, "title", def->title);
	xmlu_buf_text_elem(&b, "description", def->description);
	format_memory(&b, "memory", def->memory_kib);
	format_memory(&b, "currentMemory", def->current_memory_kib);
	xmlu_buf_start(&b, "vcpu");
	xmlu_buf_attr(&b, "placement", XMLU_NAME(placements, def->vcpu_placement));
	if (def->vcpus_current != def->vcpus_max)
		xmlu_buf_attr_u(&b, "current", def->vcpus_current);
	xmlu_buf_printf(&b, ">%u</vcpu>\n", def->vcpus_max);
	if (def->has_numatune) {
		xmlu_buf_start(&b, "numatune");
		xmlu_buf_end_open(&b);
		xmlu_buf_start(&b, "memory");
		xmlu_buf_attr(&b, "mode", XMLU_NAME(numa_modes, def->numatune_mode));
		if (def->numatune_placement == DOM_PLACEMENT_AUTO) {
			xmlu_buf_attr(&b, "placement", "auto");
		} else if (def->numatune_has_nodeset) {
			char *set = dom_bitmap_format(&def->numatune_nodeset);

			if (!set)
				b.failed = true;
			else
				xmlu_buf_attr(&b, "nodeset", set);
			free(set);
		}
		xmlu_buf_end_empty(&b);
		xmlu_buf_close(&b, "numatune");
	}
	format_os(&b, def);
	format_features(&b, def);
	format_cpu(&b, def);
	format_clock(&b, def);
	xmlu_buf_text_elem(&b, "on_poweroff", dom_action_name(def->on_poweroff));
	xmlu_buf_text_elem(&b, "on_reboot", dom_action_name(def->on_reboot));
	xmlu_buf_text_elem(&b, "on_crash", dom_action_name(def->on_crash));
	dom_devices_format(&b, def, flags);
	xmlu_buf_close(&b, "domain");
	return xmlu_buf_finish(&b);
}

/* ---- lifetime ---- */

void dom_def_free(struct dom_def *def)
{
	if (!def)
		return;
	free(def->name);
	free(def->title);
	free(def->description);
	free(def->os.machine);
	free(def->os.kernel);
	free(def->os.initrd);
	free(def->os.cmdline);
	free(def->cpu.cells);
	dom_devices_free(def);
	free(def);
}

struct dom_def *dom_def_copy(const struct dom_def *def)
{
	autofree char *xml = dom_format_xml(def, DOM_FORMAT_SECURE);

	if (!xml)
		return NULL;
	return dom_parse_xml(xml, strlen(xml), DOM_PARSE_STATUS);
}
