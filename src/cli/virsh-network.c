/* The vireo CLI's virtual network commands, in virsh's shape: net-define,
 * net-undefine, net-start, net-destroy, net-autostart, net-dumpxml, net-list,
 * net-info, net-dhcp-leases (same names, flags, messages and table layout). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "cli/virsh-cmd.h"

#define VSH_NET_MAX_XML (1u << 20)

static void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* The whole of FILE ("-": standard input), at most 1 MiB. */
static char *read_xml(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *buf;
	size_t len;

	if (!f) {
		fprintf(stderr, "error: Failed to open file '%s': %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(VSH_NET_MAX_XML + 2);
	if (!buf) {
		if (f != stdin)
			fclose(f);
		return NULL;
	}
	len = fread(buf, 1, VSH_NET_MAX_XML + 1, f);
	if (f != stdin)
		fclose(f);
	if (len > VSH_NET_MAX_XML) {
		fprintf(stderr, "error: file '%s' is over 1 MiB\n", path);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* The network named by --network NAME or the first positional argument. */
static vireo_network *vsh_network(struct vsh *vsh, struct vsh_args *a, const char *cmd)
{
	const char *name = vsh_value(a, "network");
	vireo_network *n;

	if (!name) {
		fprintf(stderr, "error: command '%s' requires <network> option\n", cmd);
		return NULL;
	}
	if (!vsh_conn(vsh))
		return NULL;
	n = vireo_network_lookup_by_name(vsh->conn, name);
	if (!n)
		vsh_error("failed to get network '%s'", name);
	return n;
}

static int cmd_net_define(struct vsh *vsh, struct vsh_args *a)
{
	const char *file;
	char *xml;
	vireo_network *n;

	vsh_flag(a, "--validate");   /* vireod always validates */
	file = vsh_value(a, "file");
	if (!file) {
		fprintf(stderr, "error: command 'net-define' requires <file> option\n");
		return -1;
	}
	if (vsh_check_unused(a, "net-define") < 0 || !vsh_conn(vsh))
		return -1;
	xml = read_xml(file);
	if (!xml)
		return -1;
	n = vireo_network_define_xml(vsh->conn, xml, 0);
	free(xml);
	if (!n) {
		vsh_error("Failed to define network from %s", file);
		return -1;
	}
	printf("Network %s defined from %s\n\n", vireo_network_get_name(n), file);
	vireo_network_free(n);
	return 0;
}

/* net-undefine, net-start, net-destroy: one call on one network. */
static int net_simple(struct vsh *vsh, struct vsh_args *a, const char *cmd,
		      int (*fn)(vireo_network *, unsigned int), const char *done, const char *failed)
{
	vireo_network *n = vsh_network(vsh, a, cmd);
	int rc;

	if (!n)
		return -1;
	if (vsh_check_unused(a, cmd) < 0) {
		vireo_network_free(n);
		return -1;
	}
	rc = fn(n, 0);
	if (rc < 0)
		vsh_error(failed, vireo_network_get_name(n));
	else
		printf(done, vireo_network_get_name(n));
	vireo_network_free(n);
	return rc;
}

static int cmd_net_undefine(struct vsh *vsh, struct vsh_args *a)
{
	return net_simple(vsh, a, "net-undefine", vireo_network_undefine, "Network %s has been undefined\n\n",
			  "Failed to undefine network %s");
}

static int cmd_net_start(struct vsh *vsh, struct vsh_args *a)
{
	return net_simple(vsh, a, "net-start", vireo_network_create, "Network %s started\n\n",
			  "Failed to start network %s");
}

static int cmd_net_destroy(struct vsh *vsh, struct vsh_args *a)
{
	return net_simple(vsh, a, "net-destroy", vireo_network_destroy, "Network %s destroyed\n\n",
			  "Failed to destroy network %s");
}

static int cmd_net_autostart(struct vsh *vsh, struct vsh_args *a)
{
	bool disable = vsh_flag(a, "--disable");
	vireo_network *n = vsh_network(vsh, a, "net-autostart");
	int rc;

	if (!n)
		return -1;
	if (vsh_check_unused(a, "net-autostart") < 0) {
		vireo_network_free(n);
		return -1;
	}
	rc = vireo_network_set_autostart(n, !disable, 0);
	if (rc < 0)
		vsh_error(disable ? "failed to unmark network %s as autostarted" :
				    "failed to mark network %s as autostarted", vireo_network_get_name(n));
	else
		printf(disable ? "Network %s unmarked as autostarted\n\n" : "Network %s marked as autostarted\n\n",
		       vireo_network_get_name(n));
	vireo_network_free(n);
	return rc;
}

static int cmd_net_dumpxml(struct vsh *vsh, struct vsh_args *a)
{
	bool inactive = vsh_flag(a, "--inactive");
	vireo_network *n = vsh_network(vsh, a, "net-dumpxml");
	char *xml;

	if (!n)
		return -1;
	if (vsh_check_unused(a, "net-dumpxml") < 0) {
		vireo_network_free(n);
		return -1;
	}
	xml = vireo_network_get_xml_desc(n, inactive ? VIREO_XML_INACTIVE : 0);
	vireo_network_free(n);
	if (!xml) {
		vsh_error("failed to get the XML of the network");
		return -1;
	}
	fputs(xml, stdout);
	free(xml);
	return 0;
}

static int cmd_net_info(struct vsh *vsh, struct vsh_args *a)
{
	vireo_network *n = vsh_network(vsh, a, "net-info");
	int autostart = 0;

	if (!n)
		return -1;
	if (vsh_check_unused(a, "net-info") < 0) {
		vireo_network_free(n);
		return -1;
	}
	vireo_network_get_autostart(n, &autostart);
	if (vsh->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(vireo_network_get_name(n)));
		json_object_object_add(o, "uuid", json_object_new_string(vireo_network_get_uuid_string(n)));
		json_object_object_add(o, "active", json_object_new_boolean(vireo_network_is_active(n)));
		json_object_object_add(o, "persistent", json_object_new_boolean(vireo_network_is_persistent(n)));
		json_object_object_add(o, "autostart", json_object_new_boolean(autostart));
		json_object_object_add(o, "bridge", json_object_new_string(vireo_network_get_bridge_name(n)));
		json_object_object_add(o, "forward", json_object_new_string(vireo_network_get_forward_mode(n)));
		print_json(o);
	} else {
		printf("%-15s %s\n", "Name:", vireo_network_get_name(n));
		printf("%-15s %s\n", "UUID:", vireo_network_get_uuid_string(n));
		printf("%-15s %s\n", "Active:", vireo_network_is_active(n) ? "yes" : "no");
		printf("%-15s %s\n", "Persistent:", vireo_network_is_persistent(n) ? "yes" : "no");
		printf("%-15s %s\n", "Autostart:", autostart ? "yes" : "no");
		printf("%-15s %s\n\n", "Bridge:", vireo_network_get_bridge_name(n));
	}
	vireo_network_free(n);
	return 0;
}

static int imax(int a, int b)
{
	return a > b ? a : b;
}

static int cmd_net_list(struct vsh *vsh, struct vsh_args *a)
{
	bool all = vsh_flag(a, "--all"), inactive = vsh_flag(a, "--inactive"), names = vsh_flag(a, "--name");
	bool uuids = vsh_flag(a, "--uuid");
	unsigned int flags = all ? 0 : inactive ? VIREO_LIST_INACTIVE : VIREO_LIST_ACTIVE;
	vireo_network **nets = NULL;
	int n;

	if (vsh_check_unused(a, "net-list") < 0 || !vsh_conn(vsh))
		return -1;
	n = vireo_conn_list_networks(vsh->conn, &nets, flags);
	if (n < 0) {
		vsh_error("Failed to list networks");
		return -1;
	}
	if (vsh->json) {
		json_object *arr = json_object_new_array();

		for (int i = 0; i < n; i++) {
			json_object *o = json_object_new_object();
			int as = 0;

			vireo_network_get_autostart(nets[i], &as);
			json_object_object_add(o, "name", json_object_new_string(vireo_network_get_name(nets[i])));
			json_object_object_add(o, "uuid", json_object_new_string(vireo_network_get_uuid_string(nets[i])));
			json_object_object_add(o, "active", json_object_new_boolean(vireo_network_is_active(nets[i])));
			json_object_object_add(o, "autostart", json_object_new_boolean(as));
			json_object_object_add(o, "persistent", json_object_new_boolean(vireo_network_is_persistent(nets[i])));
			json_object_array_add(arr, o);
		}
		print_json(arr);
	} else if (names || uuids) {
		for (int i = 0; i < n; i++)
			printf("%s\n", uuids ? vireo_network_get_uuid_string(nets[i]) : vireo_network_get_name(nets[i]));
		printf("\n");
	} else {
		/* virsh's table: columns as wide as their widest cell, three spaces apart */
		int wname = 4, wstate = 5, wauto = 9, wpers = 10;

		for (int i = 0; i < n; i++) {
			wname = imax(wname, (int)strlen(vireo_network_get_name(nets[i])));
			wstate = imax(wstate, vireo_network_is_active(nets[i]) ? 6 : 8);
		}
		printf(" %-*s   %-*s   %-*s   %s\n", wname, "Name", wstate, "State", wauto, "Autostart", "Persistent");
		for (int i = 0; i < wname + wstate + wauto + wpers + 12; i++)
			putchar('-');
		putchar('\n');
		for (int i = 0; i < n; i++) {
			int as = 0;

			vireo_network_get_autostart(nets[i], &as);
			printf(" %-*s   %-*s   %-*s   %s\n", wname, vireo_network_get_name(nets[i]), wstate,
			       vireo_network_is_active(nets[i]) ? "active" : "inactive", wauto, as ? "yes" : "no",
			       vireo_network_is_persistent(nets[i]) ? "yes" : "no");
		}
		printf("\n");
	}
	for (int i = 0; i < n; i++)
		vireo_network_free(nets[i]);
	free(nets);
	return 0;
}

static int cmd_net_dhcp_leases(struct vsh *vsh, struct vsh_args *a)
{
	const char *mac = vsh_option(a, "mac");
	vireo_network *net = vsh_network(vsh, a, "net-dhcp-leases");
	vireo_network_lease *leases = NULL;
	int n;

	if (!net)
		return -1;
	if (vsh_check_unused(a, "net-dhcp-leases") < 0) {
		vireo_network_free(net);
		return -1;
	}
	n = vireo_network_get_dhcp_leases(net, mac, &leases, 0);
	if (n < 0) {
		vsh_error("Failed to get leases info for %s", vireo_network_get_name(net));
		vireo_network_free(net);
		return -1;
	}
	if (vsh->json) {
		json_object *arr = json_object_new_array();

		for (int i = 0; i < n; i++) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "expiry", json_object_new_int64(leases[i].expiry_time));
			json_object_object_add(o, "mac", json_object_new_string(leases[i].mac));
			json_object_object_add(o, "ip", json_object_new_string(leases[i].ipaddr));
			json_object_object_add(o, "prefix", json_object_new_int((int)leases[i].prefix));
			json_object_object_add(o, "hostname", json_object_new_string(leases[i].hostname));
			json_object_object_add(o, "clientid", json_object_new_string(leases[i].clientid));
			json_object_array_add(arr, o);
		}
		print_json(arr);
	} else {
		char (*when)[32] = calloc((size_t)n + 1, sizeof(*when));
		char (*addr)[24] = calloc((size_t)n + 1, sizeof(*addr));
		int wexp = 11, wmac = 11, wproto = 8, wip = 10, whost = 8, wclient = 17;

		for (int i = 0; when && addr && i < n; i++) {
			time_t t = (time_t)leases[i].expiry_time;
			struct tm tm;

			strftime(when[i], sizeof(when[i]), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
			snprintf(addr[i], sizeof(addr[i]), "%s/%u", leases[i].ipaddr, leases[i].prefix);
			wexp = imax(wexp, (int)strlen(when[i]));
			wmac = imax(wmac, (int)strlen(leases[i].mac));
			wip = imax(wip, (int)strlen(addr[i]));
			whost = imax(whost, (int)strlen(leases[i].hostname[0] ? leases[i].hostname : "-"));
			wclient = imax(wclient, (int)strlen(leases[i].clientid[0] ? leases[i].clientid : "-"));
		}
		printf(" %-*s   %-*s   %-*s   %-*s   %-*s   %s\n", wexp, "Expiry Time", wmac, "MAC address", wproto,
		       "Protocol", wip, "IP address", whost, "Hostname", "Client ID or DUID");
		for (int i = 0; i < wexp + wmac + wproto + wip + whost + wclient + 18; i++)
			putchar('-');
		putchar('\n');
		for (int i = 0; when && addr && i < n; i++)
			printf(" %-*s   %-*s   %-*s   %-*s   %-*s   %s\n", wexp, when[i], wmac, leases[i].mac, wproto,
			       "ipv4", wip, addr[i], whost, leases[i].hostname[0] ? leases[i].hostname : "-",
			       leases[i].clientid[0] ? leases[i].clientid : "-");
		printf("\n");
		free(when);
		free(addr);
	}
	free(leases);
	vireo_network_free(net);
	return 0;
}

const struct vsh_cmd vsh_network_cmds[] = {
	{ "net-define", cmd_net_define, "net-define <file> [--validate]", "define an inactive persistent virtual network from an XML file" },
	{ "net-undefine", cmd_net_undefine, "net-undefine <network>", "undefine a persistent network" },
	{ "net-start", cmd_net_start, "net-start <network>", "start a (previously defined) inactive network" },
	{ "net-destroy", cmd_net_destroy, "net-destroy <network>", "destroy (stop) a network" },
	{ "net-autostart", cmd_net_autostart, "net-autostart <network> [--disable]", "autostart a network" },
	{ "net-dumpxml", cmd_net_dumpxml, "net-dumpxml <network> [--inactive]", "network information in XML" },
	{ "net-list", cmd_net_list, "net-list [--all] [--inactive] [--name] [--uuid] [--json]", "list networks" },
	{ "net-info", cmd_net_info, "net-info <network> [--json]", "network information" },
	{ "net-dhcp-leases", cmd_net_dhcp_leases, "net-dhcp-leases <network> [--mac MAC] [--json]", "print lease info for a given network" },
	{ NULL, NULL, NULL, NULL },
};
