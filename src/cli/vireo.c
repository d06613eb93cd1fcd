/* vireo: the command-line client (virsh's role) on libvireo: virsh's command
 * names, flags, output layout and exit codes (0 ok, 1 error), -c URI, -r for
 * the read-only socket, --json on query commands. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/virsh-cmd.h"

bool vsh_flag(struct vsh_args *a, const char *flag)
{
	for (int i = 0; i < a->argc; i++) {
		if (!a->used[i] && !strcmp(a->argv[i], flag)) {
			a->used[i] = true;
			return true;
		}
	}
	return false;
}

const char *vsh_option(struct vsh_args *a, const char *name)
{
	char opt[64];
	size_t n;

	snprintf(opt, sizeof(opt), "--%s", name);
	n = strlen(opt);
	for (int i = 0; i < a->argc; i++) {
		if (a->used[i])
			continue;
		if (!strcmp(a->argv[i], opt) && i + 1 < a->argc) {
			a->used[i] = a->used[i + 1] = true;
			return a->argv[i + 1];
		}
		if (!strncmp(a->argv[i], opt, n) && a->argv[i][n] == '=') {
			a->used[i] = true;
			return a->argv[i] + n + 1;
		}
	}
	return NULL;
}

const char *vsh_value(struct vsh_args *a, const char *name)
{
	char opt[64];

	snprintf(opt, sizeof(opt), "--%s", name);
	for (int i = 0; i < a->argc; i++) {
		size_t n = strlen(opt);
		if (a->used[i])
			continue;
		if (!strcmp(a->argv[i], opt) && i + 1 < a->argc) {
			a->used[i] = a->used[i + 1] = true;
			return a->argv[i + 1];
		}
		if (!strncmp(a->argv[i], opt, n) && a->argv[i][n] == '=') {
			a->used[i] = true;
			return a->argv[i] + n + 1;
		}
	}
	for (int i = 0; i < a->argc; i++) {
		if (!a->used[i] && (a->argv[i][0] != '-' || !strcmp(a->argv[i], "-"))) {
			a->used[i] = true;
			return a->argv[i];
		}
	}
	return NULL;
}

int vsh_check_unused(struct vsh_args *a, const char *cmd)
{
	for (int i = 0; i < a->argc; i++) {
		if (!a->used[i]) {
			if (a->argv[i][0] == '-')
				fprintf(stderr, "error: command '%s' doesn't support option %s\n", cmd, a->argv[i]);
			else
				fprintf(stderr, "error: unexpected data '%s'\n", a->argv[i]);
			return -1;
		}
	}
	return 0;
}

void vsh_error(const char *fmt, ...)
{
	const vireo_error *e = vireo_get_last_error();
	va_list ap;

	if (fmt) {
		fputs("error: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	if (e->code != VIREO_ERR_OK) {
		const char *what;
		switch (e->code) {
		case VIREO_ERR_NO_DOMAIN: what = "Domain not found: "; break;
		case VIREO_ERR_READ_ONLY: what = "operation forbidden: "; break;
		case VIREO_ERR_OPERATION_INVALID: what = "Requested operation is not valid: "; break;
		case VIREO_ERR_INVALID_ARG: what = "invalid argument: "; break;
		case VIREO_ERR_EXISTS: what = "operation failed: "; break;
		case VIREO_ERR_NO_CONNECT: what = ""; break;
		case VIREO_ERR_UNSUPPORTED: what = "this function is not supported: "; break;
		default: what = "internal error: "; break;
		}
		fprintf(stderr, "error: %s%s\n", what, e->message);
	}
}

vireo_conn *vsh_conn(struct vsh *vsh)
{
	if (vsh->conn)
		return vsh->conn;
	vsh->conn = vireo_connect(vsh->uri, vsh->readonly ? VIREO_CONNECT_RO : 0);
	if (!vsh->conn)
		vsh_error("failed to connect to the hypervisor");
	return vsh->conn;
}

vireo_domain *vsh_domain(struct vsh *vsh, struct vsh_args *a)
{
	const char *name = vsh_value(a, "domain");
	vireo_domain *d;

	if (!name) {
		fprintf(stderr, "error: command requires a domain (--domain NAME)\n");
		return NULL;
	}
	if (!vsh_conn(vsh))
		return NULL;
	d = vireo_domain_lookup_by_name(vsh->conn, name);
	if (!d) {
		if (vireo_get_last_error()->code == VIREO_ERR_NO_CONNECT)
			vsh_error("failed to connect to the hypervisor");
		else
			vsh_error("failed to get domain '%s'", name);
	}
	return d;
}

static const struct vsh_cmd *const cmd_groups[] = { vsh_domain_cmds, vsh_console_cmds, vsh_host_cmds,
	vsh_pool_cmds, vsh_network_cmds };

static const struct vsh_cmd *find_cmd(const char *name)
{
	for (size_t g = 0; g < sizeof(cmd_groups) / sizeof(cmd_groups[0]); g++)
		for (const struct vsh_cmd *c = cmd_groups[g]; c->name; c++)
			if (!strcmp(c->name, name))
				return c;
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out,
		"\nvireo [options]... <command> [args...]\n\n"
		"  options:\n"
		"    -c | --connect=URI      hypervisor connection URI (vireo:///system[?socket=PATH])\n"
		"    -r | --readonly         connect readonly\n"
		"    -q | --quiet            quiet mode\n"
		"    -h | --help             this help\n"
		"    -v | --version          program version\n\n"
		"  commands (vireo help COMMAND for more):\n");
	for (size_t g = 0; g < sizeof(cmd_groups) / sizeof(cmd_groups[0]); g++)
		for (const struct vsh_cmd *c = cmd_groups[g]; c->name; c++)
			fprintf(out, "    %-14s %s\n", c->name, c->help);
	fprintf(out, "\n  Query commands take --json for output meant for scripts.\n"
		"  The URI defaults to $VIREO_DEFAULT_URI, else the daemon of $VIREO_ROOT, else vireo:///system.\n\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "readonly", no_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ 0 },
	};
	struct vsh vsh = { 0 };
	struct vsh_args args = { 0 };
	const struct vsh_cmd *cmd;
	int c, rc;

	/* '+': stop at the command name, its options are its own. */
	while ((c = getopt_long(argc, argv, "+c:rqhv", opts, NULL)) != -1) {
		switch (c) {
		case 'c': vsh.uri = optarg; break;
		case 'r': vsh.readonly = true; break;
		case 'q': vsh.quiet = true; break;
		case 'h': usage(stdout); return 0;
		case 'v': printf("%d.%d.%d\n", VIREO_VERSION_MAJOR, VIREO_VERSION_MINOR, VIREO_VERSION_MICRO); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[optind], "help")) {
		if (optind + 1 < argc && (cmd = find_cmd(argv[optind + 1]))) {
			printf("  NAME\n    %s - %s\n\n  SYNOPSIS\n    %s\n\n", cmd->name, cmd->help, cmd->synopsis);
			return 0;
		}
		usage(stdout);
		return 0;
	}
	cmd = find_cmd(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "error: unknown command: '%s'\n", argv[optind]);
		return 1;
	}
	args.argc = argc - optind - 1;
	args.argv = argv + optind + 1;
	if (args.argc > 64) {
		fprintf(stderr, "error: too many arguments\n");
		return 1;
	}
	vsh.json = vsh_flag(&args, "--json");
	rc = cmd->run(&vsh, &args);
	if (vsh.conn)
		vireo_conn_close(vsh.conn);
	return rc == 0 ? 0 : 1;
}
