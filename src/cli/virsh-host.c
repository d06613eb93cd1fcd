/* The vireo CLI's host and connection commands: nodeinfo, version, uri. */
#include <stdio.h>
#include <stdlib.h>
#include <json-c/json.h>

#include "cli/virsh-cmd.h"

static int cmd_nodeinfo(struct vsh *vsh, struct vsh_args *a)
{
	vireo_node_info info;

	if (vsh_check_unused(a, "nodeinfo") < 0 || !vsh_conn(vsh))
		return -1;
	if (vsh->json) {
		char *text = vireo_node_get_info_json(vsh->conn, 0);
		if (!text) {
			vsh_error("failed to get node information");
			return -1;
		}
		json_object *o = json_tokener_parse(text);
		printf("%s\n", o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY) : text);
		json_object_put(o);
		free(text);
		return 0;
	}
	if (vireo_node_get_info(vsh->conn, &info, 0) < 0) {
		vsh_error("failed to get node information");
		return -1;
	}
	printf("%-20s %s\n", "CPU model:", info.model);
	printf("%-20s %u\n", "CPU(s):", info.cpus);
	printf("%-20s %u MHz\n", "CPU frequency:", info.mhz);
	printf("%-20s %u\n", "CPU socket(s):", info.sockets);
	printf("%-20s %u\n", "Core(s) per socket:", info.cores);
	printf("%-20s %u\n", "Thread(s) per core:", info.threads);
	printf("%-20s %u\n", "NUMA cell(s):", info.nodes);
	printf("%-20s %llu KiB\n", "Memory size:", (unsigned long long)info.memory_kib);
	printf("\n");
	return 0;
}

static int cmd_version(struct vsh *vsh, struct vsh_args *a)
{
	unsigned long v = vireo_get_lib_version();
	char lib[32];
	char *daemon;

	if (vsh_check_unused(a, "version") < 0 || !vsh_conn(vsh))
		return -1;
	snprintf(lib, sizeof(lib), "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
	daemon = vireo_conn_get_version(vsh->conn, 0);
	if (!daemon) {
		vsh_error("failed to get the daemon version");
		return -1;
	}
	if (vsh->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "library", json_object_new_string(lib));
		json_object_object_add(o, "daemon", json_object_new_string(daemon));
		json_object_object_add(o, "hypervisor", json_object_new_string("vireo-vmm"));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	} else {
		printf("Compiled against library: libvireo %d.%d.%d\n", VIREO_VERSION_MAJOR,
			VIREO_VERSION_MINOR, VIREO_VERSION_MICRO);
		printf("Using library: libvireo %s\n", lib);
		printf("Using API: vireo %s\n", daemon);
		printf("Running hypervisor: vireo-vmm %s\n\n", daemon);
	}
	free(daemon);
	return 0;
}

static int cmd_uri(struct vsh *vsh, struct vsh_args *a)
{
	if (vsh_check_unused(a, "uri") < 0 || !vsh_conn(vsh))
		return -1;
	printf("vireo:///system?socket=%s\n\n", vireo_conn_get_socket(vsh->conn));
	return 0;
}

const struct vsh_cmd vsh_host_cmds[] = {
	{ "nodeinfo", cmd_nodeinfo, "nodeinfo [--json]", "node information" },
	{ "version", cmd_version, "version [--json]", "show version" },
	{ "uri", cmd_uri, "uri", "print the hypervisor canonical URI" },
	{ NULL, NULL, NULL, NULL },
};
