/* Command-line options of vireo-vmm: parsing and --help. Kept apart from
 * main() so unit tests can check every error message. */
#include "vmm/main/options.h"
#include "common/error.h"
#include "common/util.h"
#include "vmm/devices/virtio/blk.h"
#include "vmm/devices/virtio/net.h"
#include "vmm/devices/virtio/console.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>



static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vireo-vmm [OPTION]...\n"
		"Run one virtual machine on /dev/kvm.\n\n"
		"  -k, --kernel FILE        Linux bzImage (or uncompressed vmlinux ELF) to boot\n"
		"      --kernel-entry MODE  auto (default): PVH entry of the kernel unpacked on the host (cached)\n"
		"                           when it has one and is XZ, gzip or zstd, else the 64-bit boot\n"
		"                           protocol; pvh (also for LZ4); linux64 (the kernel decompresses itself)\n"
		"      --kernel-cache DIR   where unpacked kernels are kept, keyed by the bzImage's content\n"
		"                           (default $XDG_CACHE_HOME/vireo/kernels or ~/.cache/vireo/kernels;\n"
		"                           none: unpack at every boot)\n"
		"  -i, --initrd FILE        initial ramdisk\n"
		"  -a, --cmdline TEXT       kernel command line\n"
		"  -m, --memory SIZE        guest RAM, with K, M, G suffix (default 256M; bare number = MiB)\n"
		"  -c, --cpus N             vCPUs (default 1, at most %d)\n"
		"  -s, --serial SPEC        COM1 backend: stdio (default), file:PATH, unix:PATH, none\n"
		"  -q, --qmp unix:PATH      QMP control socket\n"
		"  -n, --name NAME          guest name (process title, QMP)\n"
		"  -p, --pidfile FILE       write the VMM's pid to FILE\n"
		"  -d, --disk SPEC          virtio-blk disk (repeatable): path=FILE[,format=raw|qcow2][,readonly=on|off]\n"
		"                           [,serial=S][,cache=none|writeback|writethrough|unsafe][,aio=io_uring|threads]\n"
		"                           [,id=NAME]\n"
		"      --rng                virtio-rng device fed from getrandom()\n"
		"      --net SPEC           virtio-net (repeatable, at most %d): tap=NAME or fd=N (an open tap)\n"
		"                           [,mac=52:54:00:12:34:56]\n"
		"      --console SPEC       virtio-console port 0 as the guest's hvc0: stdio, file:PATH, unix:PATH\n"
		"      --channel SPEC       virtio-console named port (repeatable, at most %d):\n"
		"                           name=NAME,path=SOCKET (listening unix socket, e.g. org.qemu.guest_agent.0)\n"
		"      --no-reboot          exit instead of resetting when the guest reboots\n"
		"      --markers FILE       log guest writes to debug port 0x80 (0x40 kernel, 0x41 userspace),\n"
		"                           one line each: \"debug-port: 0x41 at 123.456 ms\" since VMM start\n"
		"      --payload FILE       run a flat binary instead of a kernel (tests)\n"
		"      --payload-mode MODE  real (16-bit at 0x10000, default) or long (64-bit at 1 MiB)\n"
		"  -h, --help               show this help\n"
		"  -V, --version            show the version\n\n"
		"Exit status: 0 guest powered off or quit, 1 host error, 2 bad usage,\n"
		"3 guest crashed (triple fault with --no-reboot, KVM internal error), 4 payload halted.\n",
		VM_MAX_CPUS, VM_MAX_NETS, VCON_MAX_CHANNELS);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vireo-vmm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'vireo-vmm --help' for more information.\n", stderr);
	return VM_EXIT_USAGE;
}

enum { OPT_NO_REBOOT = 0x100, OPT_KERNEL_ENTRY, OPT_KERNEL_CACHE, OPT_PAYLOAD, OPT_PAYLOAD_MODE, OPT_MARKERS, OPT_RNG, OPT_NET, OPT_CONSOLE, OPT_CHANNEL };

int vmm_parse_args(int argc, char **argv, struct vm_config *cfg)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "kernel-entry", required_argument, NULL, OPT_KERNEL_ENTRY },
		{ "kernel-cache", required_argument, NULL, OPT_KERNEL_CACHE },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'a' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "serial", required_argument, NULL, 's' },
		{ "qmp", required_argument, NULL, 'q' },
		{ "name", required_argument, NULL, 'n' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
		{ "markers", required_argument, NULL, OPT_MARKERS },
		{ "disk", required_argument, NULL, 'd' },
		{ "rng", no_argument, NULL, OPT_RNG },
		{ "net", required_argument, NULL, OPT_NET },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "channel", required_argument, NULL, OPT_CHANNEL },
		{ "payload", required_argument, NULL, OPT_PAYLOAD },
		{ "payload-mode", required_argument, NULL, OPT_PAYLOAD_MODE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->memory = 256ULL << 20;
	cfg->cpus = 1;
	cfg->serial_spec = "stdio";
	cfg->name = "vireo";
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":k:i:a:m:c:s:q:n:p:d:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'a': cfg->cmdline = optarg; break;
		case 'm':
			if (parse_size(optarg, 1ULL << 20, &v) < 0)
				return usage_error("--memory: %s", err_message());
			if (v < (16ULL << 20) || (v & 0xfffff))
				return usage_error("--memory: %s is not a whole number of MiB of at least 16M", optarg);
			if (v > (1ULL << 40))
				return usage_error("--memory: %s is more than the 1T vireo supports", optarg);
			cfg->memory = v;
			break;
		case 'c':
			if (parse_uint(optarg, 1, VM_MAX_CPUS, &v) < 0)
				return usage_error("--cpus: %s", err_message());
			cfg->cpus = (unsigned)v;
			break;
		case 's':
			if (strcmp(optarg, "stdio") && strcmp(optarg, "none") && strncmp(optarg, "file:", 5) &&
			    strncmp(optarg, "unix:", 5))
				return usage_error("--serial: '%s' is not stdio, file:PATH, unix:PATH or none", optarg);
			if ((!strncmp(optarg, "file:", 5) || !strncmp(optarg, "unix:", 5)) && !optarg[5])
				return usage_error("--serial: '%s' names no path", optarg);
			cfg->serial_spec = optarg;
			break;
		case 'q':
			if (strncmp(optarg, "unix:", 5) || !optarg[5])
				return usage_error("--qmp: '%s' is not unix:PATH", optarg);
			cfg->qmp_path = optarg + 5;
			break;
		case 'n':
			if (!*optarg || strlen(optarg) > 64)
				return usage_error("--name: the name must have 1 to 64 characters");
			cfg->name = optarg;
			break;
		case 'p': cfg->pidfile = optarg; break;
		case OPT_KERNEL_ENTRY:
			if (!strcmp(optarg, "auto"))
				cfg->kernel_entry = VM_KERNEL_ENTRY_AUTO;
			else if (!strcmp(optarg, "pvh"))
				cfg->kernel_entry = VM_KERNEL_ENTRY_PVH;
			else if (!strcmp(optarg, "linux64"))
				cfg->kernel_entry = VM_KERNEL_ENTRY_LINUX64;
			else
				return usage_error("--kernel-entry: '%s' is not auto, pvh or linux64", optarg);
			break;
		case OPT_KERNEL_CACHE:
			if (strcmp(optarg, "none") && *optarg != '/')
				return usage_error("--kernel-cache: '%s' is not an absolute directory or none", optarg);
			cfg->kernel_cache = optarg;
			break;
		case OPT_NO_REBOOT: cfg->no_reboot = true; break;
		case OPT_MARKERS: cfg->markers_path = optarg; break;
		case OPT_RNG: cfg->rng = true; break;
		case OPT_NET: {
			struct vnet_opts no;
			int rc = vnet_parse_opts(optarg, &no);

			vnet_opts_free(&no);
			if (rc < 0)
				return usage_error("%s", err_message());
			if (cfg->nnets == VM_MAX_NETS)
				return usage_error("--net: at most %d network devices", VM_MAX_NETS);
			cfg->nets[cfg->nnets++] = optarg;
			break;
		}
		case OPT_CONSOLE:
			if (strcmp(optarg, "stdio") && strcmp(optarg, "none") && strncmp(optarg, "file:", 5) &&
			    strncmp(optarg, "unix:", 5))
				return usage_error("--console: '%s' is not stdio, file:PATH, unix:PATH or none", optarg);
			if ((!strncmp(optarg, "file:", 5) || !strncmp(optarg, "unix:", 5)) && !optarg[5])
				return usage_error("--console: '%s' names no path", optarg);
			cfg->virtconsole = optarg;
			break;
		case OPT_CHANNEL: {
			struct vcon_channel ch;
			int rc = vcon_parse_channel(optarg, &ch);

			vcon_channel_free(&ch);
			if (rc < 0)
				return usage_error("%s", err_message());
			if (cfg->nchannels == VCON_MAX_CHANNELS || cfg->nchannels == VM_MAX_CHANNELS)
				return usage_error("--channel: at most %d channels", VCON_MAX_CHANNELS);
			cfg->channels[cfg->nchannels++] = optarg;
			break;
		}
		case 'd': {
			struct vblk_opts o;
			int rc = vblk_parse_opts(optarg, &o);

			vblk_opts_free(&o);
			if (rc < 0)
				return usage_error("--disk: %s", err_message());
			if (cfg->ndisks == VM_MAX_DISKS)
				return usage_error("--disk: at most %d disks", VM_MAX_DISKS);
			cfg->disks[cfg->ndisks++] = optarg;
			break;
		}
		case OPT_PAYLOAD: cfg->payload = optarg; break;
		case OPT_PAYLOAD_MODE:
			if (!strcmp(optarg, "long"))
				cfg->payload_long_mode = true;
			else if (strcmp(optarg, "real"))
				return usage_error("--payload-mode: '%s' is not real or long", optarg);
			break;
		case 'h':
			usage(stdout);
			return -1;
		case 'V':
			printf("vireo-vmm %s\n", VMM_VERSION);
			return -1;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!cfg->kernel && !cfg->payload)
		return usage_error("nothing to run: give --kernel FILE (or --payload FILE)");
	if (cfg->kernel && cfg->payload)
		return usage_error("--kernel and --payload exclude each other");
	if ((cfg->initrd || cfg->cmdline) && !cfg->kernel)
		return usage_error("--initrd and --cmdline need --kernel");
	return 0;
}

