/* The vireo CLI's command table and helpers shared by vireo.c and the
 * virsh-*.c command files (one file per group, as virsh's). */
#ifndef VIREO_CLI_VIRSH_CMD_H
#define VIREO_CLI_VIRSH_CMD_H

#include <stdbool.h>
#include "vireo/vireo.h"

struct vsh {
	const char *uri;
	bool readonly, json, quiet;
	vireo_conn *conn;
};

/* A command's arguments: flags (--all) and values (--domain X, or positional). */
struct vsh_args {
	int argc;
	char **argv;
	bool used[64];
};

struct vsh_cmd {
	const char *name;
	int (*run)(struct vsh *vsh, struct vsh_args *args);
	const char *synopsis;
	const char *help;
};

extern const struct vsh_cmd vsh_domain_cmds[];
extern const struct vsh_cmd vsh_host_cmds[];
extern const struct vsh_cmd vsh_console_cmds[];
extern const struct vsh_cmd vsh_pool_cmds[];
extern const struct vsh_cmd vsh_network_cmds[];

/* Attach to a domain's console until ^] or its end (virsh-console.c). */
int vsh_run_console(struct vsh *vsh, vireo_domain *d, bool force, bool readonly);

/* Flag present (--all)? */
bool vsh_flag(struct vsh_args *a, const char *flag);
/* Value of --name VALUE (or --name=VALUE) only; NULL if absent. */
const char *vsh_option(struct vsh_args *a, const char *name);
/* Value of --name VALUE, else the next unused positional; NULL if none. */
const char *vsh_value(struct vsh_args *a, const char *name);
/* Anything not consumed is an error (prints it, returns -1). */
int vsh_check_unused(struct vsh_args *a, const char *cmd);
vireo_conn *vsh_conn(struct vsh *vsh);
/* Print the library's last error as virsh does: "error: <context>" then the message. */
void vsh_error(const char *context_fmt, ...) __attribute__((format(printf, 1, 2)));
vireo_domain *vsh_domain(struct vsh *vsh, struct vsh_args *a);

#endif
