/* vireod: the management daemon. Options, the state under --root, re-adoption
 * of running VMMs, the REST API, and the GLib main loop. Stopping vireod leaves
 * every VMM running; the next vireod re-adopts them. */
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib-unix.h>

#include "common/error.h"
#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/pool.h"
#include "daemon/network.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vireod [OPTION]...\n"
		"Manage vireo virtual machines behind a REST API on unix sockets.\n\n"
		"      --root DIR       keep every path (state, run, sockets, logs) under DIR\n"
		"      --vmm PATH       VMM binary (default: vireo-vmm next to vireod)\n"
		"      --log-level L    error, warn, info or debug (default: VIREO_LOG_LEVEL, else warn);\n"
		"                       to the journal with priorities when stderr is the journal\n"
		"  -v, --verbose        log info messages (same as --log-level info)\n"
		"  -h, --help           show this help\n"
		"  -V, --version        show the version\n");
}

static char *default_vmm(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	/* Installed side by side (or sbin/ and bin/), or in the build tree. */
	const char *tries[] = { "%s/vireo-vmm", "%s/../bin/vireo-vmm", "%s/../vmm/main/vireo-vmm" };

	if (n > 0) {
		exe[n] = 0;
		char *dir = dirname(exe);
		for (size_t i = 0; i < G_N_ELEMENTS(tries); i++) {
			char *p = g_strdup_printf(tries[i], dir);
			if (access(p, X_OK) == 0)
				return p;
			g_free(p);
		}
	}
	return g_strdup("/usr/bin/vireo-vmm");
}

static gboolean on_signal(gpointer data)
{
	struct vd *vd = data;

	log_info("signal: stopping vireod; VMMs keep running");
	g_main_loop_quit(vd->loop);
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "vmm", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct vd vd = { 0 };
	const char *root = NULL;
	enum log_level level;
	int c;

	log_init("vireod", NULL);
	while ((c = getopt_long(argc, argv, "vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'm': vd.vmm_path = g_strdup(optarg); break;
		case 'v': if (log_get_level() < LOG_INFO) log_set_level(LOG_INFO); break;
		case 'l':
			if (log_parse_level(optarg, &level) < 0) {
				fprintf(stderr, "vireod: --log-level '%s': use error, warn, info or debug\n", optarg);
				return 2;
			}
			log_set_level(level);
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("vireod %s\n", VD_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (root && root[0] != '/') {
		fprintf(stderr, "vireod: --root must be an absolute path\n");
		return 2;
	}
	if (!vd.vmm_path)
		vd.vmm_path = default_vmm();
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	if (vd_init_paths(&vd, root) < 0) {
		log_error("%s", err_message());
		return 1;
	}
	vd.loop = g_main_loop_new(NULL, FALSE);
	/* pools first: autostarted domains may use their volumes */
	if (vpool_load(&vd) < 0)
		log_error("storage pools: %s", err_message());
	/* networks before domains too: autostarted domains plug into their bridges */
	vnet_load(&vd);
	vd_load(&vd);
	if (api_start(&vd) < 0) {
		log_error("%s", err_message());
		return 1;
	}
	log_info("listening on %s and %s; VMM %s", vd.paths.sock_rw, vd.paths.sock_ro, vd.vmm_path);
	g_unix_signal_add(SIGTERM, on_signal, &vd);
	g_unix_signal_add(SIGINT, on_signal, &vd);
	g_main_loop_run(vd.loop);
	api_stop();
	unlink(vd.paths.sock_rw);
	unlink(vd.paths.sock_ro);
	vd_free(&vd);
	vpool_free_all();
	vnet_free_all();
	g_main_loop_unref(vd.loop);
	return 0;
}
