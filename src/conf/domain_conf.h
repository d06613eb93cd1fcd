/* A faithful subset of libvirt's domain XML as C structs: parse (strict: unknown
 * elements and attributes are errors naming their line), semantic validation,
 * and formatting in libvirt's element order. Prefix: dom_. Sizes are in KiB. */
#ifndef VIREO_CONF_DOMAIN_CONF_H
#define VIREO_CONF_DOMAIN_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOM_UUID_LEN 16
#define DOM_UUID_STRLEN 36
#define DOM_MAC_LEN 6
#define DOM_NAME_MAX 64
#define DOM_MAX_VCPUS 512
#define DOM_MAX_HOST_NODES 1024
#define DOM_MAX_DEVICES 256     /* per device kind: bounds hostile documents */
#define DOM_MAX_BOOT 4
#define DOM_MAX_NUMA_CELLS 64

/* Parse flags. */
enum {
	DOM_PARSE_VALIDATE = 1u << 0, /* run dom_validate before returning */
	DOM_PARSE_STATUS = 1u << 1,   /* keep runtime fields (id, pty paths): daemon status files */
};

/* Format flags. */
enum {
	DOM_FORMAT_SECURE = 1u << 0,   /* include secrets (none in this subset yet; kept for the API) */
	DOM_FORMAT_INACTIVE = 1u << 1, /* the persistent config: drop runtime fields */
};

/* Unset/on/off for optional switches; unset is not printed. */
enum dom_tristate { DOM_TRISTATE_ABSENT = 0, DOM_TRISTATE_ON, DOM_TRISTATE_OFF };

enum dom_virt_type { DOM_VIRT_KVM, DOM_VIRT_QEMU };
enum dom_action {
	DOM_ACTION_DESTROY, DOM_ACTION_RESTART, DOM_ACTION_PRESERVE, DOM_ACTION_RENAME_RESTART,
	DOM_ACTION_COREDUMP_DESTROY, DOM_ACTION_COREDUMP_RESTART,
};
enum dom_placement { DOM_PLACEMENT_STATIC, DOM_PLACEMENT_AUTO };
enum dom_boot_dev { DOM_BOOT_HD, DOM_BOOT_CDROM, DOM_BOOT_NETWORK, DOM_BOOT_FD };
enum dom_cpu_mode { DOM_CPU_DEFAULT, DOM_CPU_HOST_PASSTHROUGH, DOM_CPU_HOST_MODEL, DOM_CPU_MAXIMUM };
enum dom_clock_offset { DOM_CLOCK_UTC, DOM_CLOCK_LOCALTIME };
enum dom_timer_name {
	DOM_TIMER_RTC, DOM_TIMER_PIT, DOM_TIMER_HPET, DOM_TIMER_KVMCLOCK, DOM_TIMER_HYPERVCLOCK,
	DOM_TIMER_TSC, DOM_TIMER_LAST
};
enum dom_tickpolicy { DOM_TICK_NONE, DOM_TICK_DELAY, DOM_TICK_CATCHUP, DOM_TICK_MERGE, DOM_TICK_DISCARD };
enum dom_numa_mode { DOM_NUMA_STRICT, DOM_NUMA_PREFERRED, DOM_NUMA_INTERLEAVE, DOM_NUMA_RESTRICTIVE };

/* Hyper-V enlightenments, in libvirt's order. */
enum dom_hyperv_feature {
	DOM_HV_RELAXED, DOM_HV_VAPIC, DOM_HV_SPINLOCKS, DOM_HV_VPINDEX, DOM_HV_RUNTIME,
	DOM_HV_SYNIC, DOM_HV_STIMER, DOM_HV_RESET, DOM_HV_FREQUENCIES, DOM_HV_REENLIGHTENMENT,
	DOM_HV_TLBFLUSH, DOM_HV_IPI, DOM_HV_EVMCS, DOM_HV_LAST
};
enum dom_hyperv_mode { DOM_HYPERV_CUSTOM, DOM_HYPERV_PASSTHROUGH };

/* A set of CPU or host-node numbers, as in cpus='0-3,6'. */
struct dom_bitmap {
	uint64_t bits[DOM_MAX_HOST_NODES / 64];
};

enum dom_disk_type { DOM_DISK_FILE, DOM_DISK_VOLUME };
enum dom_disk_format { DOM_DISK_FORMAT_DEFAULT, DOM_DISK_FORMAT_RAW, DOM_DISK_FORMAT_QCOW2 };
enum dom_disk_cache {
	DOM_CACHE_DEFAULT, DOM_CACHE_NONE, DOM_CACHE_WRITETHROUGH, DOM_CACHE_WRITEBACK,
	DOM_CACHE_DIRECTSYNC, DOM_CACHE_UNSAFE
};
enum dom_disk_io { DOM_IO_DEFAULT, DOM_IO_THREADS, DOM_IO_NATIVE, DOM_IO_URING };
enum dom_disk_discard { DOM_DISCARD_DEFAULT, DOM_DISCARD_UNMAP, DOM_DISCARD_IGNORE };

/* libvirt's <iotune>; 0 means unlimited/unset, as in libvirt and QEMU. */
struct dom_iotune {
	uint64_t total_bytes_sec, read_bytes_sec, write_bytes_sec;
	uint64_t total_iops_sec, read_iops_sec, write_iops_sec;
	uint64_t total_bytes_sec_max, read_bytes_sec_max, write_bytes_sec_max;
	uint64_t total_iops_sec_max, read_iops_sec_max, write_iops_sec_max;
	uint64_t size_iops_sec;
	char *group_name;
	uint64_t total_bytes_sec_max_length, read_bytes_sec_max_length, write_bytes_sec_max_length;
	uint64_t total_iops_sec_max_length, read_iops_sec_max_length, write_iops_sec_max_length;
};

struct dom_disk {
	enum dom_disk_type type;
	enum dom_disk_format format;     /* driver type */
	enum dom_disk_cache cache;
	enum dom_disk_io io;
	enum dom_disk_discard discard;
	char *path;                      /* type file: source file (may be NULL: empty) */
	char *pool, *volume;             /* type volume */
	char *target_dev;                /* "vda" */
	bool readonly;
	char *serial;
	bool has_iotune;
	struct dom_iotune iotune;
};

enum dom_net_type { DOM_NET_NETWORK, DOM_NET_BRIDGE, DOM_NET_ETHERNET };

struct dom_net {
	enum dom_net_type type;
	uint8_t mac[DOM_MAC_LEN];
	char *source;        /* network name or bridge name; NULL for ethernet */
	char *target_dev;    /* tap name; NULL lets the daemon choose */
	bool model_virtio;   /* <model type='virtio'/> given */
};

/* serial and console: type pty only */
struct dom_chardev {
	unsigned int port;
	bool console_virtio;  /* console target type virtio (else serial) */
	char *pty_path;       /* runtime: /dev/pts/N, with DOM_PARSE_STATUS / active format */
};

enum dom_channel_mode { DOM_CHANNEL_BIND, DOM_CHANNEL_CONNECT };

struct dom_channel {
	enum dom_channel_mode mode;
	char *path;           /* may be NULL: the daemon picks one */
	char *name;           /* target name, e.g. org.qemu.guest_agent.0 */
};

struct dom_rng {
	char *backend;        /* /dev/urandom, /dev/random or /dev/hwrng */
};

enum dom_balloon_model { DOM_BALLOON_VIRTIO, DOM_BALLOON_NONE };

struct dom_balloon {
	bool present;
	enum dom_balloon_model model;
	enum dom_tristate autodeflate;
	enum dom_tristate free_page_reporting;
	unsigned int stats_period;   /* seconds, 0 = no stats polling */
};

struct dom_hostdev {
	bool managed;
	uint16_t domain;
	uint8_t bus, slot, function;
};

struct dom_numa_cell {
	unsigned int id;
	struct dom_bitmap cpus;
	uint64_t memory_kib;
};

struct dom_timer {
	bool present_set;        /* the timer is named in the XML */
	enum dom_tristate present;  /* present='yes|no' (ON = yes) */
	enum dom_tickpolicy tickpolicy;
};

struct dom_def {
	enum dom_virt_type virt_type;
	int id;                          /* runtime domain id, -1 when not running */
	char *name;
	uint8_t uuid[DOM_UUID_LEN];
	char *title, *description;
	uint64_t memory_kib;
	uint64_t current_memory_kib;     /* == memory_kib when not given */
	unsigned int vcpus_max, vcpus_current;
	enum dom_placement vcpu_placement;

	bool has_numatune;
	enum dom_numa_mode numatune_mode;
	enum dom_placement numatune_placement;
	bool numatune_has_nodeset;
	struct dom_bitmap numatune_nodeset;

	struct {
		char *machine;           /* NULL: the VMM's own; arch is always x86_64 */
		char *kernel, *initrd, *cmdline;
		enum dom_boot_dev boot[DOM_MAX_BOOT];
		size_t nboot;
	} os;

	struct {
		bool acpi, apic;
		bool hyperv;
		enum dom_hyperv_mode hyperv_mode;
		enum dom_tristate hv[DOM_HV_LAST];
		unsigned int hv_spinlock_retries;   /* 0: not given */
		enum dom_tristate hv_stimer_direct;
	} features;

	struct {
		bool present;
		enum dom_cpu_mode mode;
		bool has_topology;
		unsigned int sockets, dies, cores, threads;   /* dies defaults to 1 */
		struct dom_numa_cell *cells;
		size_t ncells;
	} cpu;

	struct {
		bool present;
		enum dom_clock_offset offset;
		struct dom_timer timers[DOM_TIMER_LAST];   /* indexed by name */
		/* document order, which libvirt keeps when printing; timers set in
		 * code and missing here are printed after these */
		enum dom_timer_name order[DOM_TIMER_LAST];
		size_t ntimers;
	} clock;

	enum dom_action on_poweroff, on_reboot, on_crash;

	struct dom_disk *disks;
	size_t ndisks;
	struct dom_net *nets;
	size_t nnets;
	struct dom_chardev *serials;
	size_t nserials;
	struct dom_chardev *consoles;
	size_t nconsoles;
	struct dom_channel *channels;
	size_t nchannels;
	struct dom_rng *rngs;
	size_t nrngs;
	struct dom_hostdev *hostdevs;
	size_t nhostdevs;
	struct dom_balloon balloon;
};

/* Parse a domain document of `len` bytes. Fills in what libvirt fills in when
 * absent: a random v4 uuid, interface MACs with the 52:54:00 prefix,
 * currentMemory = memory, current vcpus = max, boot from hd, and libvirt's
 * disk order and console/serial pairing (see README.md). NULL with err_set(ERR_INVALID,
 * "line N: <element>: problem") on any unknown/unsupported element, attribute
 * or value. Flags: DOM_PARSE_*. */
struct dom_def *dom_parse_xml(const char *xml, size_t len, unsigned int flags);

/* Read and parse a file (at most XMLU_MAX_INPUT bytes); errors are prefixed
 * with the path. */
struct dom_def *dom_parse_file(const char *path, unsigned int flags);

/* Semantic checks the grammar cannot express: name characters and length,
 * current <= max vcpus, currentMemory <= memory, unique disk/interface targets,
 * unicast MACs, topology matching vcpus, NUMA cells covering vcpus and memory,
 * iotune combinations. Uniqueness of name/uuid across domains is the daemon's. */
int dom_validate(const struct dom_def *def);

/* Format as libvirt would (element order, 2-space indentation, single-quoted
 * attributes). Caller frees. NULL with ERR_NOMEM. Flags: DOM_FORMAT_*. */
char *dom_format_xml(const struct dom_def *def, unsigned int flags);

/* Deep copy (through format+parse, so the copy is exactly what a redefine gives). */
struct dom_def *dom_def_copy(const struct dom_def *def);
void dom_def_free(struct dom_def *def);

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (buffer of DOM_UUID_STRLEN + 1). */
void dom_uuid_format(const uint8_t uuid[DOM_UUID_LEN], char out[DOM_UUID_STRLEN + 1]);
/* Accepts the dashed form or 32 hex digits (libvirt also allows this). */
int dom_uuid_parse(const char *text, uint8_t uuid[DOM_UUID_LEN]);
int dom_uuid_generate(uint8_t uuid[DOM_UUID_LEN]);

/* "52:54:00:xx:xx:xx" format/parse (buffer of 18). */
void dom_mac_format(const uint8_t mac[DOM_MAC_LEN], char out[18]);
int dom_mac_parse(const char *text, uint8_t mac[DOM_MAC_LEN]);
/* Random MAC with libvirt's (QEMU's) 52:54:00 prefix. */
int dom_mac_generate(uint8_t mac[DOM_MAC_LEN]);

/* cpuset syntax "0-3,^2,6" into a bitmap limited to `max` bits; formatted back
 * as sorted ranges ("0-1,3,6"). */
int dom_bitmap_parse(const char *text, unsigned int max, struct dom_bitmap *out);
char *dom_bitmap_format(const struct dom_bitmap *map);
bool dom_bitmap_test(const struct dom_bitmap *map, unsigned int bit);
bool dom_bitmap_empty(const struct dom_bitmap *map);

/* Lookups the daemon needs for per-device commands (blkdeviotune, domiflist);
 * NULL when absent (no error set). */
struct dom_disk *dom_disk_by_target(const struct dom_def *def, const char *target_dev);
struct dom_net *dom_net_by_mac(const struct dom_def *def, const uint8_t mac[DOM_MAC_LEN]);

/* virsh attach-device: parse one device element (<disk>, <interface>,
 * <serial>, <console>, <channel>, <hostdev>, <memballoon>, <rng>), add it with
 * the same fill-ins as a define, and re-validate the whole def. On error the
 * def is unchanged. */
int dom_device_attach_xml(struct dom_def *def, const char *xml, size_t len, unsigned int flags);
/* virsh detach-device: remove the device the XML names — a disk by target dev,
 * an interface by <mac address> (required), a hostdev by PCI address, a channel
 * by target name, an rng by backend. ERR_NOT_FOUND when nothing matches,
 * ERR_UNSUPPORTED for serial, console and memballoon. */
int dom_device_detach_xml(struct dom_def *def, const char *xml, size_t len, unsigned int flags);

/* The <iotune> limits one by one (for the daemon's VMM options): the i-th
 * element's name and value; NULL once i runs past the last. group_name is not
 * among them. */
const char *dom_iotune_field(const struct dom_iotune *t, size_t i, uint64_t *value);

/* Names of enum values as written in the XML (for messages and the daemon). */
const char *dom_action_name(enum dom_action action);
const char *dom_disk_format_name(enum dom_disk_format format);

#endif
