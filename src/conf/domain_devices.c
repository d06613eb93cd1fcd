/* Domain XML devices: disk, interface, serial, console, channel, hostdev,
 * memballoon and rng — parse (strict), validate, format in libvirt's device
 * order, free. The domain core (domain_conf.c) calls in through domain_devices.h. */
#include "conf/domain_devices.h"
#include "common/error.h"
#include "common/util.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const disk_types[] = { "file", "volume", NULL };
static const char *const disk_devices[] = { "disk", NULL };
static const char *const driver_names[] = { "qemu", NULL };
static const char *const disk_formats[] = { "", "raw", "qcow2", NULL };
static const char *const disk_caches[] = {
	"default", "none", "writethrough", "writeback", "directsync", "unsafe", NULL
};
/* libvirt takes cache='default' (and drops it) but refuses io/discard 'default' */
static const char *const disk_ios[] = { "", "threads", "native", "io_uring", NULL };
static const char *const disk_discards[] = { "", "unmap", "ignore", NULL };
static const char *const virtio_only[] = { "virtio", NULL };
static const char *const net_types[] = { "network", "bridge", "ethernet", NULL };
static const char *const pty_only[] = { "pty", NULL };
enum { CONSOLE_TARGET_SERIAL, CONSOLE_TARGET_VIRTIO };
/* a serial port without <target port>: numbered after parsing, like libvirt */
#define PORT_AUTO UINT32_MAX
static const char *const console_targets[] = { "serial", "virtio", NULL };
static const char *const unix_only[] = { "unix", NULL };
static const char *const channel_modes[] = { "bind", "connect", NULL };
static const char *const rng_backends[] = { "random", NULL };
static const char *const rng_sources[] = { "/dev/urandom", "/dev/random", "/dev/hwrng", NULL };
static const char *const balloon_models[] = { "virtio", "none", NULL };
static const char *const hostdev_modes[] = { "subsystem", NULL };
static const char *const hostdev_types[] = { "pci", NULL };
static const char *const onoff_names[] = { "", "on", "off", NULL };

const char *dom_disk_format_name(enum dom_disk_format format)
{
	return (unsigned)format < ARRAY_SIZE(disk_formats) - 1 ? disk_formats[format] : "?";
}

#define DEF(ctx) ((struct dom_def *)(ctx))

/* Append a zeroed element to a device array, bounded by DOM_MAX_DEVICES. */
static void *grow(xmlNode *n, void **array, size_t *count, size_t size)
{
	char *p;

	if (*count >= DOM_MAX_DEVICES) {
		err_set(ERR_INVALID, "line %ld: <%s>: more than %d devices of this kind", xmlu_line(n),
			(const char *)n->name, DOM_MAX_DEVICES);
		return NULL;
	}
	p = realloc(*array, (*count + 1) * size);
	if (!p) {
		err_set(ERR_NOMEM, "out of memory");
		return NULL;
	}
	*array = p;
	memset(p + *count * size, 0, size);
	return p + (*count)++ * size;
}

static int text_matches(const char *s, const char *extra)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return 0;
	return 1;
}

/* ---- disk ---- */

static int p_disk_driver(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "name", "type", "cache", "io", "discard", NULL };
	struct dom_disk *d = ctx;
	int name = 0, format = 0, cache = 0, io = 0, discard = 0;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_enum(n, "name", driver_names, false, &name) < 0 ||
	    xmlu_attr_enum(n, "type", disk_formats, false, &format) < 0 ||
	    xmlu_attr_enum(n, "cache", disk_caches, false, &cache) < 0 ||
	    xmlu_attr_enum(n, "io", disk_ios, false, &io) < 0 ||
	    xmlu_attr_enum(n, "discard", disk_discards, false, &discard) < 0)
		return -1;
	d->format = format;
	d->cache = cache;
	d->io = io;
	d->discard = discard;
	return 0;
}

static int p_disk_source(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const file_attrs[] = { "file", NULL };
	static const char *const vol_attrs[] = { "pool", "volume", NULL };
	struct dom_disk *d = ctx;

	(void)flags;
	if (xmlu_check_empty(n) < 0)
		return -1;
	if (d->type == DOM_DISK_FILE)
		return xmlu_check_attrs(n, file_attrs) < 0 ? -1 : xmlu_attr(n, "file", false, &d->path);
	if (xmlu_check_attrs(n, vol_attrs) < 0 || xmlu_attr(n, "pool", true, &d->pool) < 0 ||
	    xmlu_attr(n, "volume", true, &d->volume) < 0)
		return -1;
	return 0;
}

static int p_disk_target(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "dev", "bus", NULL };
	struct dom_disk *d = ctx;
	int bus = 0;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr(n, "dev", true, &d->target_dev) < 0 ||
	    xmlu_attr_enum(n, "bus", virtio_only, false, &bus) < 0)
		return -1;
	if (strncmp(d->target_dev, "vd", 2) != 0 || !d->target_dev[2] || strlen(d->target_dev) > 8)
		return err_set(ERR_INVALID, "line %ld: <target>: disk dev '%s' is not a virtio name (vda, vdb, ...)",
			       xmlu_line(n), d->target_dev);
	for (const char *p = d->target_dev + 2; *p; p++)
		if (!islower((unsigned char)*p))
			return err_set(ERR_INVALID, "line %ld: <target>: disk dev '%s' is not a virtio name (vda, vdb, ...)",
				       xmlu_line(n), d->target_dev);
	return 0;
}

static int p_disk_readonly(xmlNode *n, void *ctx, unsigned int flags)
{
	(void)flags;
	if (xmlu_check_attrs(n, NULL) < 0 || xmlu_check_empty(n) < 0)
		return -1;
	((struct dom_disk *)ctx)->readonly = true;
	return 0;
}

static int p_disk_serial(xmlNode *n, void *ctx, unsigned int flags)
{
	struct dom_disk *d = ctx;

	(void)flags;
	if (xmlu_check_attrs(n, NULL) < 0 || xmlu_text(n, &d->serial) < 0)
		return -1;
	/* libvirt's pattern; the guest sees at most 20 bytes (virtio-blk ID) */
	if (!text_matches(d->serial, "_ .+-") || strlen(d->serial) > 20)
		return err_set(ERR_INVALID, "line %ld: <serial>: '%s' must be 1-20 letters, digits, "
			       "' ', '_', '.', '+' or '-'", xmlu_line(n), d->serial);
	return 0;
}

#define IOTUNE_FIELD(f) { #f, offsetof(struct dom_iotune, f) }
static const struct {
	const char *name;
	size_t offset;
} iotune_fields[] = {
	IOTUNE_FIELD(total_bytes_sec), IOTUNE_FIELD(read_bytes_sec), IOTUNE_FIELD(write_bytes_sec),
	IOTUNE_FIELD(total_iops_sec), IOTUNE_FIELD(read_iops_sec), IOTUNE_FIELD(write_iops_sec),
	IOTUNE_FIELD(total_bytes_sec_max), IOTUNE_FIELD(read_bytes_sec_max),
	IOTUNE_FIELD(write_bytes_sec_max), IOTUNE_FIELD(total_iops_sec_max),
	IOTUNE_FIELD(read_iops_sec_max), IOTUNE_FIELD(write_iops_sec_max),
	IOTUNE_FIELD(size_iops_sec),
	IOTUNE_FIELD(total_bytes_sec_max_length), IOTUNE_FIELD(read_bytes_sec_max_length),
	IOTUNE_FIELD(write_bytes_sec_max_length), IOTUNE_FIELD(total_iops_sec_max_length),
	IOTUNE_FIELD(read_iops_sec_max_length), IOTUNE_FIELD(write_iops_sec_max_length),
};

static uint64_t *iotune_slot(struct dom_iotune *t, size_t i)
{
	return (uint64_t *)((char *)t + iotune_fields[i].offset);
}

const char *dom_iotune_field(const struct dom_iotune *t, size_t i, uint64_t *value)
{
	if (i >= ARRAY_SIZE(iotune_fields))
		return NULL;
	*value = *(const uint64_t *)((const char *)t + iotune_fields[i].offset);
	return iotune_fields[i].name;
}

static int p_iotune_value(xmlNode *n, void *ctx, unsigned int flags)
{
	struct dom_iotune *t = ctx;

	(void)flags;
	if (xmlu_check_attrs(n, NULL) < 0)
		return -1;
	if (xmlu_is(n, "group_name")) {
		if (xmlu_text(n, &t->group_name) < 0)
			return -1;
		if (!text_matches(t->group_name, "_.-"))
			return err_set(ERR_INVALID, "line %ld: <group_name>: '%s' must be letters, digits, "
				       "'_', '.' or '-'", xmlu_line(n), t->group_name);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(iotune_fields); i++)
		if (xmlu_is(n, iotune_fields[i].name))
			/* QEMU caps throttle values at 1e15 */
			return xmlu_text_uint(n, 0, 1000000000000000ULL, iotune_slot(t, i));
	return xmlu_err_unknown_child(n);
}

static int p_disk_iotune(xmlNode *n, void *ctx, unsigned int flags)
{
	struct xmlu_child kids[ARRAY_SIZE(iotune_fields) + 1];
	struct dom_disk *d = ctx;

	for (size_t i = 0; i < ARRAY_SIZE(iotune_fields); i++)
		kids[i] = (struct xmlu_child){ iotune_fields[i].name, p_iotune_value, false };
	kids[ARRAY_SIZE(iotune_fields)] = (struct xmlu_child){ "group_name", p_iotune_value, false };
	if (xmlu_check_attrs(n, NULL) < 0 ||
	    xmlu_parse_children(n, kids, ARRAY_SIZE(kids), &d->iotune, flags) < 0)
		return -1;
	d->has_iotune = true;
	return 0;
}

static int p_disk(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "type", "device", NULL };
	static const struct xmlu_child kids[] = {
		{ "driver", p_disk_driver, false }, { "source", p_disk_source, false },
		{ "target", p_disk_target, false }, { "iotune", p_disk_iotune, false },
		{ "readonly", p_disk_readonly, false }, { "serial", p_disk_serial, false },
	};
	struct dom_def *def = ctx;
	struct dom_disk *d;
	int type, device = 0;

	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_attr_enum(n, "type", disk_types, true, &type) < 0 ||
	    xmlu_attr_enum(n, "device", disk_devices, false, &device) < 0)
		return -1;
	d = grow(n, (void **)&def->disks, &def->ndisks, sizeof(*d));
	if (!d)
		return -1;
	d->type = type;
	if (xmlu_parse_children(n, kids, ARRAY_SIZE(kids), d, flags) < 0)
		return -1;
	if (!d->target_dev)
		return err_set(ERR_INVALID, "line %ld: <disk>: missing <target>", xmlu_line(n));
	if (d->type == DOM_DISK_VOLUME && !d->pool)
		return err_set(ERR_INVALID, "line %ld: <disk>: type 'volume' needs <source pool volume>",
			       xmlu_line(n));
	return 0;
}

/* ---- interface ---- */

static int p_net_mac(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "address", NULL };
	autofree char *addr = NULL;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr(n, "address", true, &addr) < 0)
		return -1;
	if (dom_mac_parse(addr, ((struct dom_net *)ctx)->mac) < 0)
		return err_prefix("line %ld: <mac>", xmlu_line(n));
	return 0;
}

static int p_net_source(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const net_attrs[] = { "network", NULL };
	static const char *const br_attrs[] = { "bridge", NULL };
	struct dom_net *net = ctx;

	(void)flags;
	if (xmlu_check_empty(n) < 0)
		return -1;
	switch (net->type) {
	case DOM_NET_NETWORK:
		return xmlu_check_attrs(n, net_attrs) < 0 ? -1 : xmlu_attr(n, "network", true, &net->source);
	case DOM_NET_BRIDGE:
		return xmlu_check_attrs(n, br_attrs) < 0 ? -1 : xmlu_attr(n, "bridge", true, &net->source);
	default:
		return err_set(ERR_INVALID, "line %ld: <source>: an 'ethernet' interface has no source "
			       "(use <target dev>)", xmlu_line(n));
	}
}

static int p_net_target(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "dev", NULL };
	struct dom_net *net = ctx;

	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr(n, "dev", true, &net->target_dev) < 0)
		return -1;
	/* like libvirt, names the daemon generates are not part of a definition */
	if (!(flags & DOM_PARSE_STATUS) && strncmp(net->target_dev, "vnet", 4) == 0) {
		free(net->target_dev);
		net->target_dev = NULL;
	}
	return 0;
}

static int p_net_model(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "type", NULL };
	int model;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_enum(n, "type", virtio_only, true, &model) < 0)
		return -1;
	((struct dom_net *)ctx)->model_virtio = true;
	return 0;
}

static int p_interface(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "type", NULL };
	static const struct xmlu_child kids[] = {
		{ "mac", p_net_mac, false }, { "source", p_net_source, false },
		{ "target", p_net_target, false }, { "model", p_net_model, false },
	};
	struct dom_def *def = ctx;
	struct dom_net *net;
	int type;
	bool has_mac = false;

	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_attr_enum(n, "type", net_types, true, &type) < 0)
		return -1;
	net = grow(n, (void **)&def->nets, &def->nnets, sizeof(*net));
	if (!net)
		return -1;
	net->type = type;
	if (xmlu_parse_children(n, kids, ARRAY_SIZE(kids), net, flags) < 0)
		return -1;
	for (xmlNode *c = n->children; c; c = c->next)
		has_mac |= xmlu_is(c, "mac");
	if (!has_mac && dom_mac_generate(net->mac) < 0)
		return -1;
	if (net->type != DOM_NET_ETHERNET && !net->source)
		return err_set(ERR_INVALID, "line %ld: <interface>: type '%s' needs <source %s='...'/>",
			       xmlu_line(n), net_types[type], net_types[type]);
	return 0;
}

/* ---- serial, console, channel ---- */

static int p_chr_source(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "path", NULL };
	struct dom_chardev *chr = ctx;

	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr(n, "path", false, &chr->pty_path) < 0)
		return -1;
	/* the pty path is runtime state: only status files carry it over */
	if (!(flags & DOM_PARSE_STATUS)) {
		free(chr->pty_path);
		chr->pty_path = NULL;
	}
	if (chr->pty_path && !dom_path_ok(chr->pty_path))
		return err_set(ERR_INVALID, "line %ld: <source>: path '%s' is not an absolute path "
			       "without control characters", xmlu_line(n), chr->pty_path);
	return 0;
}

static int p_chr_target(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const serial_attrs[] = { "port", NULL };
	static const char *const console_attrs[] = { "type", "port", NULL };
	struct dom_chardev *chr = ctx;
	bool console = xmlu_is(n->parent, "console"), has_port;
	uint64_t port = 0;
	int type = 0;

	(void)flags;
	if (xmlu_check_attrs(n, console ? console_attrs : serial_attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    /* four ISA serial ports; virtio consoles are renumbered after parsing */
	    xmlu_attr_uint(n, "port", false, false, 0, console ? DOM_MAX_DEVICES - 1 : 3, &port,
			   &has_port) < 0 ||
	    (console && xmlu_attr_enum(n, "type", console_targets, false, &type) < 0))
		return -1;
	chr->port = has_port || console ? (unsigned int)port : PORT_AUTO;
	chr->console_virtio = type == CONSOLE_TARGET_VIRTIO;
	return 0;
}

static int p_chardev(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "type", NULL };
	static const struct xmlu_child kids[] = {
		{ "source", p_chr_source, false }, { "target", p_chr_target, false },
	};
	struct dom_def *def = ctx;
	struct dom_chardev *chr;
	int type;

	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_attr_enum(n, "type", pty_only, true, &type) < 0)
		return -1;
	if (xmlu_is(n, "serial"))
		chr = grow(n, (void **)&def->serials, &def->nserials, sizeof(*chr));
	else
		chr = grow(n, (void **)&def->consoles, &def->nconsoles, sizeof(*chr));
	if (!chr)
		return -1;
	chr->port = xmlu_is(n, "serial") ? PORT_AUTO : 0; /* until a <target port> says */
	return xmlu_parse_children(n, kids, ARRAY_SIZE(kids), chr, flags);
}

static int p_channel_source(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "mode", "path", NULL };
	struct dom_channel *ch = ctx;
	int mode = DOM_CHANNEL_BIND;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_enum(n, "mode", channel_modes, false, &mode) < 0 ||
	    xmlu_attr(n, "path", false, &ch->path) < 0)
		return -1;
	ch->mode = mode;
	if (ch->path && !dom_path_ok(ch->path))
		return err_set(ERR_INVALID, "line %ld: <source>: path '%s' is not an absolute path "
			       "without control characters", xmlu_line(n), ch->path);
	return 0;
}

static int p_channel_target(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "type", "name", NULL };
	struct dom_channel *ch = ctx;
	int type;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_enum(n, "type", virtio_only, true, &type) < 0 ||
	    xmlu_attr(n, "name", true, &ch->name) < 0)
		return -1;
	if (!text_matches(ch->name, "._-") || strlen(ch->name) > 127)
		return err_set(ERR_INVALID, "line %ld: <target>: channel name '%s' must be letters, digits, "
			       "'.', '_' or '-'", xmlu_line(n), ch->name);
	return 0;
}

static int p_channel(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "type", NULL };
	static const struct xmlu_child kids[] = {
		{ "source", p_channel_source, false }, { "target", p_channel_target, false },
	};
	struct dom_def *def = ctx;
	struct dom_channel *ch;
	int type;

	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_attr_enum(n, "type", unix_only, true, &type) < 0)
		return -1;
	ch = grow(n, (void **)&def->channels, &def->nchannels, sizeof(*ch));
	if (!ch || xmlu_parse_children(n, kids, ARRAY_SIZE(kids), ch, flags) < 0)
		return -1;
	if (!ch->name)
		return err_set(ERR_INVALID, "line %ld: <channel>: missing <target type='virtio' name='...'/>",
			       xmlu_line(n));
	return 0;
}

/* ---- rng, memballoon, hostdev ---- */

static int p_rng_backend(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "model", NULL };
	struct dom_rng *rng = ctx;
	int model, src;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_attr_enum(n, "model", rng_backends, true, &model) < 0 ||
	    xmlu_text_enum(n, rng_sources, &src) < 0)
		return -1;
	rng->backend = strdup(rng_sources[src]);
	return rng->backend ? 0 : err_set(ERR_NOMEM, "out of memory");
}

static int p_rng(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "model", NULL };
	static const struct xmlu_child kids[] = { { "backend", p_rng_backend, false } };
	struct dom_def *def = ctx;
	struct dom_rng *rng;
	int model;

	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_attr_enum(n, "model", virtio_only, true, &model) < 0)
		return -1;
	rng = grow(n, (void **)&def->rngs, &def->nrngs, sizeof(*rng));
	if (!rng || xmlu_parse_children(n, kids, ARRAY_SIZE(kids), rng, flags) < 0)
		return -1;
	if (!rng->backend)
		return err_set(ERR_INVALID, "line %ld: <rng>: missing <backend model='random'>", xmlu_line(n));
	return 0;
}

static int p_balloon_stats(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "period", NULL };
	uint64_t period = 0;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_uint(n, "period", true, false, 0, 86400, &period, NULL) < 0)
		return -1;
	((struct dom_balloon *)ctx)->stats_period = (unsigned int)period;
	return 0;
}

static int p_memballoon(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "model", "autodeflate", "freePageReporting", NULL };
	static const struct xmlu_child kids[] = { { "stats", p_balloon_stats, false } };
	struct dom_balloon *b = &DEF(ctx)->balloon;
	int model, deflate = 0, reporting = 0;

	if (xmlu_check_attrs(n, attrs) < 0 ||
	    xmlu_attr_enum(n, "model", balloon_models, true, &model) < 0 ||
	    xmlu_attr_onoff(n, "autodeflate", false, false, &deflate) < 0 ||
	    xmlu_attr_onoff(n, "freePageReporting", false, false, &reporting) < 0)
		return -1;
	b->present = true;
	b->model = model;
	b->autodeflate = deflate;
	b->free_page_reporting = reporting;
	if (xmlu_parse_children(n, kids, ARRAY_SIZE(kids), b, flags) < 0)
		return -1;
	if (model == DOM_BALLOON_NONE && (deflate || reporting || b->stats_period))
		return err_set(ERR_INVALID, "line %ld: <memballoon>: model 'none' takes no options",
			       xmlu_line(n));
	return 0;
}

static int p_hostdev_address(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "domain", "bus", "slot", "function", NULL };
	struct dom_hostdev *h = ctx;
	uint64_t dom = 0, bus, slot, fn;

	(void)flags;
	if (xmlu_check_attrs(n, attrs) < 0 || xmlu_check_empty(n) < 0 ||
	    xmlu_attr_uint(n, "domain", false, true, 0, 0xffff, &dom, NULL) < 0 ||
	    xmlu_attr_uint(n, "bus", true, true, 0, 0xff, &bus, NULL) < 0 ||
	    xmlu_attr_uint(n, "slot", true, true, 0, 0x1f, &slot, NULL) < 0 ||
	    xmlu_attr_uint(n, "function", true, true, 0, 7, &fn, NULL) < 0)
		return -1;
	h->domain = (uint16_t)dom;
	h->bus = (uint8_t)bus;
	h->slot = (uint8_t)slot;
	h->function = (uint8_t)fn;
	return 0;
}

static int p_hostdev_source(xmlNode *n, void *ctx, unsigned int flags)
{
	static const struct xmlu_child kids[] = { { "address", p_hostdev_address, false } };
	bool has = false;

	if (xmlu_check_attrs(n, NULL) < 0 || xmlu_parse_children(n, kids, ARRAY_SIZE(kids), ctx, flags) < 0)
		return -1;
	for (xmlNode *c = n->children; c; c = c->next)
		has |= xmlu_is(c, "address");
	if (!has)
		return err_set(ERR_INVALID, "line %ld: <source>: missing <address>", xmlu_line(n));
	return 0;
}

static int p_hostdev(xmlNode *n, void *ctx, unsigned int flags)
{
	static const char *const attrs[] = { "mode", "type", "managed", NULL };
	static const struct xmlu_child kids[] = { { "source", p_hostdev_source, false } };
	struct dom_def *def = ctx;
	struct dom_hostdev *h;
	int mode, type, managed = 0;
	bool has_source = false;

	if (xmlu_check_attrs(n, attrs) < 0 ||
	    xmlu_attr_enum(n, "mode", hostdev_modes, true, &mode) < 0 ||
	    xmlu_attr_enum(n, "type", hostdev_types, true, &type) < 0 ||
	    xmlu_attr_onoff(n, "managed", true, false, &managed) < 0)
		return -1;
	h = grow(n, (void **)&def->hostdevs, &def->nhostdevs, sizeof(*h));
	if (!h || xmlu_parse_children(n, kids, ARRAY_SIZE(kids), h, flags) < 0)
		return -1;
	for (xmlNode *c = n->children; c; c = c->next)
		has_source |= xmlu_is(c, "source");
	if (!has_source)
		return err_set(ERR_INVALID, "line %ld: <hostdev>: missing <source>", xmlu_line(n));
	h->managed = managed == DOM_TRISTATE_ON;
	return 0;
}

static const struct xmlu_child device_kinds[] = {
	{ "disk", p_disk, true }, { "interface", p_interface, true },
	{ "serial", p_chardev, true }, { "console", p_chardev, true },
	{ "channel", p_channel, true }, { "hostdev", p_hostdev, true },
	{ "memballoon", p_memballoon, false }, { "rng", p_rng, true },
};

int dom_devices_parse(xmlNode *devices, void *def, unsigned int flags)
{
	if (xmlu_check_attrs(devices, NULL) < 0)
		return -1;
	return xmlu_parse_children(devices, device_kinds, ARRAY_SIZE(device_kinds), def, flags);
}

/* libvirt's console compatibility: the first console, when of type serial,
 * is the first serial port seen through another door. So a serial console
 * without a serial port creates the port, the console takes the first port's
 * number, and a serial port without such a console gets one in front. */
static int console_compat(struct dom_def *def)
{
	struct dom_chardev *c;

	if (def->nconsoles && !def->consoles[0].console_virtio) {
		if (def->nserials) {
			def->consoles[0].port = def->serials[0].port;
			return 0;
		}
		c = realloc(def->serials, sizeof(*c));
		if (!c)
			return err_set(ERR_NOMEM, "out of memory");
		def->serials = c;
		memset(c, 0, sizeof(*c));
		/* the new port is numbered like any unnumbered one (the first: 0)
		 * and the console follows it, as libvirt does */
		c->port = 0;
		def->consoles[0].port = 0;
		if (def->consoles[0].pty_path && !(c->pty_path = strdup(def->consoles[0].pty_path)))
			return err_set(ERR_NOMEM, "out of memory");
		def->nserials = 1;
		return 0;
	}
	if (!def->nserials)
		return 0;
	if (def->nconsoles >= DOM_MAX_DEVICES)
		return err_set(ERR_INVALID, "more than %d consoles", DOM_MAX_DEVICES);
	c = realloc(def->consoles, (def->nconsoles + 1) * sizeof(*c));
	if (!c)
		return err_set(ERR_NOMEM, "out of memory");
	def->consoles = c;
	memmove(c + 1, c, def->nconsoles * sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->port = def->serials[0].port;
	if (def->serials[0].pty_path && !(c->pty_path = strdup(def->serials[0].pty_path))) {
		/* keep the array consistent for dom_def_free */
		def->nconsoles++;
		return err_set(ERR_NOMEM, "out of memory");
	}
	def->nconsoles++;
	return 0;
}

/* vda = 0, vdz = 25, vdaa = 26: libvirt's disk index (names are checked
 * to be vd + 1..6 lowercase letters, so this cannot overflow). */
static long disk_index(const char *target)
{
	long idx = -1;

	for (const char *p = target + 2; *p; p++)
		idx = (idx + 1) * 26 + (*p - 'a');
	return idx;
}

static int cmp_disk(const void *a, const void *b)
{
	long ia = disk_index(((const struct dom_disk *)a)->target_dev);
	long ib = disk_index(((const struct dom_disk *)b)->target_dev);

	return ia < ib ? -1 : ia > ib;
}

/* A serial port without a number gets one more than the highest number in
 * use, in document order (libvirt's rule: [auto, 2, auto] gives 3, 2, 4);
 * vireo's VMM has four ISA ports, so numbers above 3 are refused. */
static int number_serials(struct dom_def *def)
{
	for (size_t i = 0; i < def->nserials; i++) {
		long highest = -1;

		if (def->serials[i].port != PORT_AUTO)
			continue;
		for (size_t j = 0; j < def->nserials; j++)
			if (def->serials[j].port != PORT_AUTO && (long)def->serials[j].port > highest)
				highest = def->serials[j].port;
		if (highest + 1 > 3)
			return err_set(ERR_INVALID, "serial %zu would get port %ld: only ports 0-3 exist "
				       "(give <target port>)", i, highest + 1);
		def->serials[i].port = (unsigned int)(highest + 1);
	}
	return 0;
}

int dom_devices_post_parse(struct dom_def *def)
{
	if (number_serials(def) < 0)
		return -1;
	/* Disks ordered by target. libvirt does this too, except that on a first
	 * define it groups disks by whether their bus attribute was written (its
	 * insertion runs before the bus is filled in), so that a mix of written
	 * and omitted buses can come out unsorted and move on the next define;
	 * vireo sorts every time, which is what libvirt gives from then on. */
	if (def->ndisks > 1)
		qsort(def->disks, def->ndisks, sizeof(*def->disks), cmp_disk);
	if (console_compat(def) < 0)
		return -1;
	/* libvirt numbers virtio consoles by their place in the list, whatever
	 * port was written (it renumbers its own output on a redefine; doing it
	 * after the compat console keeps define -> dumpxml -> define stable) */
	for (size_t i = 0; i < def->nconsoles; i++)
		if (def->consoles[i].console_virtio)
			def->consoles[i].port = (unsigned int)i;
	return 0;
}

/* ---- validation ---- */

static int validate_iotune(const struct dom_disk *d)
{
	const struct dom_iotune *t = &d->iotune;
	/* groups of (total, read, write) starting at these field indexes */
	static const size_t triples[] = { 0, 3, 6, 9, 13, 16 };
	struct dom_iotune copy = *t;

	for (size_t g = 0; g < ARRAY_SIZE(triples); g++) {
		size_t i = triples[g];

		if (*iotune_slot(&copy, i) && (*iotune_slot(&copy, i + 1) || *iotune_slot(&copy, i + 2)))
			return err_set(ERR_INVALID, "disk '%s': iotune %s cannot be combined with %s or %s",
				       d->target_dev, iotune_fields[i].name, iotune_fields[i + 1].name,
				       iotune_fields[i + 2].name);
	}
	/* as QEMU: a burst needs its base rate, a burst length needs its burst */
	for (size_t i = 0; i < 6; i++) {
		if (*iotune_slot(&copy, 6 + i) && !*iotune_slot(&copy, i))
			return err_set(ERR_INVALID, "disk '%s': iotune %s needs %s", d->target_dev,
				       iotune_fields[6 + i].name, iotune_fields[i].name);
		if (*iotune_slot(&copy, 13 + i) && !*iotune_slot(&copy, 6 + i))
			return err_set(ERR_INVALID, "disk '%s': iotune %s needs %s", d->target_dev,
				       iotune_fields[13 + i].name, iotune_fields[6 + i].name);
		if (*iotune_slot(&copy, 6 + i) && *iotune_slot(&copy, 6 + i) < *iotune_slot(&copy, i))
			return err_set(ERR_INVALID, "disk '%s': iotune %s is below %s", d->target_dev,
				       iotune_fields[6 + i].name, iotune_fields[i].name);
	}
	return 0;
}

static int tap_name_ok(const char *name)
{
	return strlen(name) <= 15 && text_matches(name, "_.-");
}

int dom_devices_validate(const struct dom_def *def)
{
	static const uint8_t zero[DOM_MAC_LEN];

	for (size_t i = 0; i < def->ndisks; i++) {
		const struct dom_disk *d = &def->disks[i];

		if (!d->target_dev)
			return err_set(ERR_INVALID, "disk %zu has no target dev", i);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(d->target_dev, def->disks[j].target_dev))
				return err_set(ERR_INVALID, "disk target '%s' is used twice", d->target_dev);
		if (d->type == DOM_DISK_FILE && d->path && !dom_path_ok(d->path))
			return err_set(ERR_INVALID, "disk '%s': source file '%s' is not an absolute path "
				       "without control characters", d->target_dev, d->path);
		if (d->type == DOM_DISK_FILE && !d->path)
			return err_set(ERR_INVALID, "disk '%s' has no <source file>", d->target_dev);
		/* pool and volume become file names inside the pool's directory */
		if (d->type == DOM_DISK_VOLUME &&
		    (!text_matches(d->pool, "_.+-") || !text_matches(d->volume, "_.+-") ||
		     d->volume[0] == '.'))
			return err_set(ERR_INVALID, "disk '%s': pool '%s' / volume '%s' must be letters, "
				       "digits, '_', '.', '+' or '-'", d->target_dev, d->pool, d->volume);
		if (d->has_iotune && validate_iotune(d) < 0)
			return -1;
	}
	for (size_t i = 0; i < def->nnets; i++) {
		const struct dom_net *n = &def->nets[i];
		char mac[18];

		dom_mac_format(n->mac, mac);
		if (n->mac[0] & 1)
			return err_set(ERR_INVALID, "interface MAC %s is a multicast address", mac);
		if (!memcmp(n->mac, zero, DOM_MAC_LEN))
			return err_set(ERR_INVALID, "interface MAC %s is all zeros", mac);
		for (size_t j = 0; j < i; j++) {
			if (!memcmp(n->mac, def->nets[j].mac, DOM_MAC_LEN))
				return err_set(ERR_INVALID, "interface MAC %s is used twice", mac);
			if (n->target_dev && def->nets[j].target_dev &&
			    !strcmp(n->target_dev, def->nets[j].target_dev))
				return err_set(ERR_INVALID, "interface target '%s' is used twice", n->target_dev);
		}
		if (n->target_dev && !tap_name_ok(n->target_dev))
			return err_set(ERR_INVALID, "interface target '%s' is not a valid tap name (1-15 "
				       "letters, digits, '_', '.', '-')", n->target_dev);
		/* sources name files (networks) and host interfaces (bridges) */
		if (n->source && !text_matches(n->source, n->type == DOM_NET_BRIDGE ? "_.-" : "_.+-"))
			return err_set(ERR_INVALID, "interface source '%s' has invalid characters", n->source);
		if (n->type == DOM_NET_BRIDGE && strlen(n->source) > 15)
			return err_set(ERR_INVALID, "interface bridge name '%s' is longer than 15 characters",
				       n->source);
	}
	for (size_t i = 0; i < def->nserials; i++)
		for (size_t j = 0; j < i; j++)
			if (def->serials[i].port == def->serials[j].port)
				return err_set(ERR_INVALID, "serial port %u is used twice", def->serials[i].port);
	for (size_t i = 0; i < def->nchannels; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(def->channels[i].name, def->channels[j].name))
				return err_set(ERR_INVALID, "channel name '%s' is used twice",
					       def->channels[i].name);
	for (size_t i = 0; i < def->nhostdevs; i++) {
		const struct dom_hostdev *a = &def->hostdevs[i];

		for (size_t j = 0; j < i; j++) {
			const struct dom_hostdev *b = &def->hostdevs[j];

			if (a->domain == b->domain && a->bus == b->bus && a->slot == b->slot &&
			    a->function == b->function)
				return err_set(ERR_INVALID, "host PCI device %04x:%02x:%02x.%x is assigned twice",
					       a->domain, a->bus, a->slot, a->function);
		}
	}
	return 0;
}

/* ---- formatting ---- */

static void format_disk(struct xmlu_buf *b, const struct dom_disk *d)
{
	xmlu_buf_start(b, "disk");
	xmlu_buf_attr(b, "type", XMLU_NAME(disk_types, d->type));
	xmlu_buf_attr(b, "device", "disk");
	xmlu_buf_end_open(b);
	if (d->format || d->cache || d->io || d->discard) {
		xmlu_buf_start(b, "driver");
		xmlu_buf_attr(b, "name", "qemu");
		if (d->format)
			xmlu_buf_attr(b, "type", XMLU_NAME(disk_formats, d->format));
		if (d->cache)
			xmlu_buf_attr(b, "cache", XMLU_NAME(disk_caches, d->cache));
		if (d->io)
			xmlu_buf_attr(b, "io", XMLU_NAME(disk_ios, d->io));
		if (d->discard)
			xmlu_buf_attr(b, "discard", XMLU_NAME(disk_discards, d->discard));
		xmlu_buf_end_empty(b);
	}
	if (d->type == DOM_DISK_FILE && d->path) {
		xmlu_buf_start(b, "source");
		xmlu_buf_attr(b, "file", d->path);
		xmlu_buf_end_empty(b);
	} else if (d->type == DOM_DISK_VOLUME) {
		xmlu_buf_start(b, "source");
		xmlu_buf_attr(b, "pool", d->pool);
		xmlu_buf_attr(b, "volume", d->volume);
		xmlu_buf_end_empty(b);
	}
	xmlu_buf_start(b, "target");
	xmlu_buf_attr(b, "dev", d->target_dev);
	xmlu_buf_attr(b, "bus", "virtio");
	xmlu_buf_end_empty(b);
	if (d->has_iotune) {
		xmlu_buf_start(b, "iotune");
		xmlu_buf_end_open(b);
		/* libvirt's order: rates, bursts, size, group, lengths */
		for (size_t i = 0; i < ARRAY_SIZE(iotune_fields); i++) {
			uint64_t v = *iotune_slot((struct dom_iotune *)&d->iotune, i);

			if (v)
				xmlu_buf_uint_elem(b, iotune_fields[i].name, v);
			if (i == 12)
				xmlu_buf_text_elem(b, "group_name", d->iotune.group_name);
		}
		xmlu_buf_close(b, "iotune");
	}
	if (d->readonly) {
		xmlu_buf_start(b, "readonly");
		xmlu_buf_end_empty(b);
	}
	xmlu_buf_text_elem(b, "serial", d->serial);
	xmlu_buf_close(b, "disk");
}

static void format_net(struct xmlu_buf *b, const struct dom_net *n, unsigned int flags)
{
	char mac[18];

	xmlu_buf_start(b, "interface");
	xmlu_buf_attr(b, "type", XMLU_NAME(net_types, n->type));
	xmlu_buf_end_open(b);
	dom_mac_format(n->mac, mac);
	xmlu_buf_start(b, "mac");
	xmlu_buf_attr(b, "address", mac);
	xmlu_buf_end_empty(b);
	if (n->source) {
		xmlu_buf_start(b, "source");
		xmlu_buf_attr(b, n->type == DOM_NET_NETWORK ? "network" : "bridge", n->source);
		xmlu_buf_end_empty(b);
	}
	if (n->target_dev && !((flags & DOM_FORMAT_INACTIVE) && !strncmp(n->target_dev, "vnet", 4))) {
		xmlu_buf_start(b, "target");
		xmlu_buf_attr(b, "dev", n->target_dev);
		xmlu_buf_end_empty(b);
	}
	if (n->model_virtio) {
		xmlu_buf_start(b, "model");
		xmlu_buf_attr(b, "type", "virtio");
		xmlu_buf_end_empty(b);
	}
	xmlu_buf_close(b, "interface");
}

static void format_chardev(struct xmlu_buf *b, const char *elem, const struct dom_chardev *c,
			   unsigned int flags)
{
	xmlu_buf_start(b, elem);
	xmlu_buf_attr(b, "type", "pty");
	xmlu_buf_end_open(b);
	if (c->pty_path && !(flags & DOM_FORMAT_INACTIVE)) {
		xmlu_buf_start(b, "source");
		xmlu_buf_attr(b, "path", c->pty_path);
		xmlu_buf_end_empty(b);
	}
	xmlu_buf_start(b, "target");
	if (!strcmp(elem, "console"))
		xmlu_buf_attr(b, "type", c->console_virtio ? "virtio" : "serial");
	xmlu_buf_attr_u(b, "port", c->port);
	xmlu_buf_end_empty(b);
	xmlu_buf_close(b, elem);
}

void dom_devices_format(struct xmlu_buf *b, const struct dom_def *def, unsigned int flags)
{
	xmlu_buf_start(b, "devices");
	xmlu_buf_end_open(b);
	for (size_t i = 0; i < def->ndisks; i++)
		format_disk(b, &def->disks[i]);
	for (size_t i = 0; i < def->nnets; i++)
		format_net(b, &def->nets[i], flags);
	for (size_t i = 0; i < def->nserials; i++)
		format_chardev(b, "serial", &def->serials[i], flags);
	for (size_t i = 0; i < def->nconsoles; i++)
		format_chardev(b, "console", &def->consoles[i], flags);
	for (size_t i = 0; i < def->nchannels; i++) {
		const struct dom_channel *c = &def->channels[i];

		xmlu_buf_start(b, "channel");
		xmlu_buf_attr(b, "type", "unix");
		xmlu_buf_end_open(b);
		/* like libvirt, a bind source without a path (the daemon picks one) is not printed */
		if (c->path || c->mode != DOM_CHANNEL_BIND) {
			xmlu_buf_start(b, "source");
			xmlu_buf_attr(b, "mode", XMLU_NAME(channel_modes, c->mode));
			xmlu_buf_attr(b, "path", c->path);
			xmlu_buf_end_empty(b);
		}
		xmlu_buf_start(b, "target");
		xmlu_buf_attr(b, "type", "virtio");
		xmlu_buf_attr(b, "name", c->name);
		xmlu_buf_end_empty(b);
		xmlu_buf_close(b, "channel");
	}
	for (size_t i = 0; i < def->nhostdevs; i++) {
		const struct dom_hostdev *h = &def->hostdevs[i];

		xmlu_buf_start(b, "hostdev");
		xmlu_buf_attr(b, "mode", "subsystem");
		xmlu_buf_attr(b, "type", "pci");
		xmlu_buf_attr(b, "managed", h->managed ? "yes" : "no");
		xmlu_buf_end_open(b);
		xmlu_buf_start(b, "source");
		xmlu_buf_end_open(b);
		xmlu_buf_printf(b, "%*s<address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>\n",
				b->indent * 2, "", h->domain, h->bus, h->slot, h->function);
		xmlu_buf_close(b, "source");
		xmlu_buf_close(b, "hostdev");
	}
	if (def->balloon.present) {
		const struct dom_balloon *m = &def->balloon;

		xmlu_buf_start(b, "memballoon");
		xmlu_buf_attr(b, "model", XMLU_NAME(balloon_models, m->model));
		if (m->autodeflate)
			xmlu_buf_attr(b, "autodeflate", XMLU_NAME(onoff_names, m->autodeflate));
		if (m->free_page_reporting)
			xmlu_buf_attr(b, "freePageReporting", XMLU_NAME(onoff_names, m->free_page_reporting));
		if (m->stats_period) {
			xmlu_buf_end_open(b);
			xmlu_buf_start(b, "stats");
			xmlu_buf_attr_u(b, "period", m->stats_period);
			xmlu_buf_end_empty(b);
			xmlu_buf_close(b, "memballoon");
		} else {
			xmlu_buf_end_empty(b);
		}
	}
	for (size_t i = 0; i < def->nrngs; i++) {
		xmlu_buf_start(b, "rng");
		xmlu_buf_attr(b, "model", "virtio");
		xmlu_buf_end_open(b);
		xmlu_buf_start(b, "backend");
		xmlu_buf_attr(b, "model", "random");
		xmlu_buf_printf(b, ">");
		xmlu_buf_escape(b, def->rngs[i].backend ? def->rngs[i].backend : "/dev/urandom");
		xmlu_buf_printf(b, "</backend>\n");
		xmlu_buf_close(b, "rng");
	}
	xmlu_buf_close(b, "devices");
}

static void disk_clear(struct dom_disk *d)
{
	free(d->path);
	free(d->pool);
	free(d->volume);
	free(d->target_dev);
	free(d->serial);
	free(d->iotune.group_name);
}

static void net_clear(struct dom_net *n)
{
	free(n->source);
	free(n->target_dev);
}

static void channel_clear(struct dom_channel *c)
{
	free(c->path);
	free(c->name);
}

void dom_devices_free(struct dom_def *def)
{
	for (size_t i = 0; i < def->ndisks; i++)
		disk_clear(&def->disks[i]);
	free(def->disks);
	for (size_t i = 0; i < def->nnets; i++)
		net_clear(&def->nets[i]);
	free(def->nets);
	for (size_t i = 0; i < def->nserials; i++)
		free(def->serials[i].pty_path);
	free(def->serials);
	for (size_t i = 0; i < def->nconsoles; i++)
		free(def->consoles[i].pty_path);
	free(def->consoles);
	for (size_t i = 0; i < def->nchannels; i++)
		channel_clear(&def->channels[i]);
	free(def->channels);
	for (size_t i = 0; i < def->nrngs; i++)
		free(def->rngs[i].backend);
	free(def->rngs);
	free(def->hostdevs);
}

/* ---- attach-device / detach-device ---- */

static const struct xmlu_child *device_kind(const xmlNode *root)
{
	for (size_t i = 0; i < ARRAY_SIZE(device_kinds); i++)
		if (xmlu_is(root, device_kinds[i].name))
			return &device_kinds[i];
	err_set(ERR_INVALID, "line %ld: <%s> is not a device vireo knows (expected <disk>, <interface>, "
		"<serial>, <console>, <channel>, <hostdev>, <memballoon> or <rng>)",
		xmlu_line(root), (const char *)root->name);
	return NULL;
}

int dom_device_attach_xml(struct dom_def *def, const char *xml, size_t len, unsigned int flags)
{
	xmlDocPtr doc = xmlu_parse(xml, len, NULL);
	const struct xmlu_child *kind;
	struct dom_def *copy = NULL, swap;
	xmlNode *root;
	int rc = -1;

	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (!(kind = device_kind(root)))
		goto out;
	if (xmlu_is(root, "memballoon") && def->balloon.present) {
		err_set(ERR_EXISTS, "domain '%s' already has a <memballoon>", def->name);
		goto out;
	}
	/* work on a copy so that a refused device leaves def untouched */
	if (!(copy = dom_def_copy(def)))
		goto out;
	if (kind->fn(root, copy, flags) < 0 || dom_devices_post_parse(copy) < 0 || dom_validate(copy) < 0)
		goto out;
	swap = *def;
	*def = *copy;
	*copy = swap;
	rc = 0;
out:
	dom_def_free(copy);
	xmlFreeDoc(doc);
	return rc;
}

#define REMOVE_AT(array, count, i) \
	(memmove(&(array)[i], &(array)[(i) + 1], ((count) - (i) - 1) * sizeof(*(array))), (count)--)

static int detach_match(struct dom_def *def, const struct dom_def *want, const xmlNode *root)
{
	bool has_mac = false;

	if (want->ndisks) {
		for (size_t i = 0; i < def->ndisks; i++) {
			if (!strcmp(def->disks[i].target_dev, want->disks[0].target_dev)) {
				disk_clear(&def->disks[i]);
				REMOVE_AT(def->disks, def->ndisks, i);
				return 0;
			}
		}
		return err_set(ERR_NOT_FOUND, "domain '%s' has no disk with target '%s'", def->name,
			       want->disks[0].target_dev);
	}
	if (want->nnets) {
		char mac[18];

		for (const xmlNode *c = root->children; c; c = c->next)
			has_mac |= xmlu_is(c, "mac");
		if (!has_mac)
			return err_set(ERR_INVALID, "to detach an <interface>, give its <mac address>");
		for (size_t i = 0; i < def->nnets; i++) {
			if (!memcmp(def->nets[i].mac, want->nets[0].mac, DOM_MAC_LEN)) {
				net_clear(&def->nets[i]);
				REMOVE_AT(def->nets, def->nnets, i);
				return 0;
			}
		}
		dom_mac_format(want->nets[0].mac, mac);
		return err_set(ERR_NOT_FOUND, "domain '%s' has no interface with MAC %s", def->name, mac);
	}
	if (want->nhostdevs) {
		const struct dom_hostdev *w = &want->hostdevs[0];

		for (size_t i = 0; i < def->nhostdevs; i++) {
			const struct dom_hostdev *h = &def->hostdevs[i];

			if (h->domain == w->domain && h->bus == w->bus && h->slot == w->slot &&
			    h->function == w->function) {
				REMOVE_AT(def->hostdevs, def->nhostdevs, i);
				return 0;
			}
		}
		return err_set(ERR_NOT_FOUND, "domain '%s' has no host device %04x:%02x:%02x.%x", def->name,
			       w->domain, w->bus, w->slot, w->function);
	}
	if (want->nchannels) {
		for (size_t i = 0; i < def->nchannels; i++) {
			if (!strcmp(def->channels[i].name, want->channels[0].name)) {
				channel_clear(&def->channels[i]);
				REMOVE_AT(def->channels, def->nchannels, i);
				return 0;
			}
		}
		return err_set(ERR_NOT_FOUND, "domain '%s' has no channel '%s'", def->name,
			       want->channels[0].name);
	}
	if (want->nrngs) {
		for (size_t i = 0; i < def->nrngs; i++) {
			if (!strcmp(def->rngs[i].backend, want->rngs[0].backend)) {
				free(def->rngs[i].backend);
				REMOVE_AT(def->rngs, def->nrngs, i);
				return 0;
			}
		}
		return err_set(ERR_NOT_FOUND, "domain '%s' has no rng with backend '%s'", def->name,
			       want->rngs[0].backend);
	}
	return err_set(ERR_UNSUPPORTED, "detaching <%s> is not supported", (const char *)root->name);
}

int dom_device_detach_xml(struct dom_def *def, const char *xml, size_t len, unsigned int flags)
{
	xmlDocPtr doc = xmlu_parse(xml, len, NULL);
	const struct xmlu_child *kind;
	struct dom_def *want = NULL;
	xmlNode *root;
	int rc = -1;

	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (!(kind = device_kind(root)))
		goto out;
	if (!(want = calloc(1, sizeof(*want)))) {
		err_set(ERR_NOMEM, "out of memory");
		goto out;
	}
	if (kind->fn(root, want, flags) < 0)
		goto out;
	rc = detach_match(def, want, root);
out:
	dom_def_free(want);
	xmlFreeDoc(doc);
	return rc;
}
