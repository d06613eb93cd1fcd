/* The nftables table of a virtual network, `table ip vireo_NAME`, owned by
 * vireod: forwarding between the bridge and the outside (nat and route modes),
 * masquerading for nat, and drops for an isolated network. Written with the
 * nft CLI in one transaction, so a re-apply replaces it without a gap.
 * Prefix: vnft_. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "common/util.h"   /* before GLib: both define MIN/MAX */
#include <glib.h>
#include <gio/gio.h>

#include "common/error.h"
#include "daemon/network.h"

static char *vnft_binary(void)
{
	char *p = g_find_program_in_path("nft");

	if (!p && access("/usr/sbin/nft", X_OK) == 0)
		p = g_strdup("/usr/sbin/nft");
	return p;
}

/* Run nft with `script` on its standard input (nft -f -): no file to leave
 * behind, and nothing outside vireod's --root. */
static int vnft_run(const char *script)
{
	autofree char *bin = vnft_binary();
	g_autofree char *err_text = NULL;
	GError *gerr = NULL;
	GSubprocess *p;
	bool ok;

	if (!bin)
		return err_set(ERR_UNSUPPORTED, "nft is not installed (Debian package nftables)");
	p = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
			     G_SUBPROCESS_FLAGS_STDERR_PIPE, &gerr, bin, "-f", "-", NULL);
	if (!p || !g_subprocess_communicate_utf8(p, script, NULL, NULL, &err_text, &gerr)) {
		err_set(ERR_IO, "cannot run %s: %s", bin, gerr ? gerr->message : "unknown error");
		g_clear_error(&gerr);
		if (p)
			g_object_unref(p);
		return -1;
	}
	ok = g_subprocess_get_successful(p);
	g_object_unref(p);
	if (!ok) {
		g_strstrip(err_text);
		return err_set(ERR_IO, "nft failed: %s", err_text && *err_text ? err_text : "no message");
	}
	return 0;
}

int vnft_apply(const struct netconf_def *def)
{
	GString *s = g_string_new(NULL);
	const char *br = def->bridge;
	char net[16];
	int rc;

	netconf_ipv4_format(def->has_ip ? netconf_network_addr(def) : 0, net);
	/* "add then delete" makes the delete succeed whether or not the table
	 * existed; the new table follows in the same transaction */
	g_string_append_printf(s, "table ip vireo_%s {}\ndelete table ip vireo_%s\n"
			       "table ip vireo_%s {\n", def->name, def->name, def->name);
	g_string_append(s, "  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
	g_string_append_printf(s, "    iifname \"%s\" oifname \"%s\" accept\n", br, br);
	if (def->forward == NETCONF_FWD_NAT || def->forward == NETCONF_FWD_ROUTE) {
		char out[40] = "";

		if (def->forward_dev)
			snprintf(out, sizeof(out), "oifname \"%s\" ", def->forward_dev);
		g_string_append_printf(s, "    iifname \"%s\" ip saddr %s/%u %saccept\n", br, net, def->prefix, out);
		if (def->forward == NETCONF_FWD_NAT)
			g_string_append_printf(s, "    oifname \"%s\" ip daddr %s/%u ct state established,related accept\n",
					       br, net, def->prefix);
		else
			g_string_append_printf(s, "    oifname \"%s\" ip daddr %s/%u accept\n", br, net, def->prefix);
	}
	/* anything else routed to or from the bridge: an isolated network has no way out */
	g_string_append_printf(s, "    iifname \"%s\" reject with icmp type port-unreachable\n"
			       "    oifname \"%s\" reject with icmp type port-unreachable\n  }\n", br, br);
	if (def->forward == NETCONF_FWD_NAT) {
		char out[40] = "";

		if (def->forward_dev)
			snprintf(out, sizeof(out), "oifname \"%s\" ", def->forward_dev);
		/* libvirt's rules: no NAT for multicast/broadcast, TCP (6) and UDP (17) ports kept in
		 * 1024-65535; protocol numbers, not names, as /etc/protocols may be missing */
		g_string_append_printf(s, "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
				       "    ip saddr %s/%u ip daddr 224.0.0.0/24 return\n"
				       "    ip saddr %s/%u ip daddr 255.255.255.255 return\n"
				       "    ip saddr %s/%u ip daddr != %s/%u %smeta l4proto { 6, 17 } masquerade to :1024-65535\n"
				       "    ip saddr %s/%u ip daddr != %s/%u %smasquerade\n  }\n",
				       net, def->prefix, net, def->prefix, net, def->prefix, net, def->prefix, out,
				       net, def->prefix, net, def->prefix, out);
	}
	g_string_append(s, "}\n");
	rc = vnft_run(s->str);
	g_string_free(s, TRUE);
	if (rc < 0)
		err_prefix("network '%s': table ip vireo_%s", def->name, def->name);
	return rc;
}

int vnft_remove(const char *name)
{
	g_autofree char *script = g_strdup_printf("table ip vireo_%s {}\ndelete table ip vireo_%s\n", name, name);

	if (vnft_run(script) < 0)
		return err_prefix("network '%s': removing table ip vireo_%s", name, name);
	return 0;
}

bool vnft_exists(const char *name)
{
	autofree char *bin = vnft_binary();
	g_autofree char *table = g_strdup_printf("vireo_%s", name);
	char *argv[] = { bin, "list", "table", "ip", table, NULL };
	int status = 0;

	if (!bin || !g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
				  NULL, NULL, NULL, NULL, &status, NULL))
		return false;
	return g_spawn_check_wait_status(status, NULL);
}
