/* One dnsmasq per virtual network (DHCP and DNS on its bridge), as libvirt runs
 * them: its own config, pid and lease files under vireod's run and state
 * directories. dnsmasq daemonizes in its own session, so it outlives vireod and
 * the next vireod finds it again through the pid file. Prefix: vdns_. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "common/util.h"   /* before GLib: both define MIN/MAX */
#include <glib.h>

#include "common/error.h"
#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/network.h"

static char *vdns_conf_path(const char *name, const char *run_dir)
{
	return g_strdup_printf("%s/%s.conf", run_dir, name);
}

static char *vdns_pid_path(const char *name, const char *run_dir)
{
	return g_strdup_printf("%s/%s.pid", run_dir, name);
}

char *vdns_lease_path(const char *name, const char *lease_dir)
{
	return g_strdup_printf("%s/%s.leases", lease_dir, name);
}

/* dnsmasq from PATH, else where Debian's dnsmasq-base puts it. */
static char *vdns_binary(void)
{
	char *p = g_find_program_in_path("dnsmasq");

	if (!p && access("/usr/sbin/dnsmasq", X_OK) == 0)
		p = g_strdup("/usr/sbin/dnsmasq");
	return p;
}

static char *vdns_conf_text(const struct netconf_def *def, const char *pid_path, const char *lease_path)
{
	GString *c = g_string_new(NULL);
	char a[16], b[16], mask[16], mac[18];
	size_t lease_max = 0;

	netconf_ipv4_format(netconf_prefix_mask(def->prefix), mask);
	g_string_append_printf(c, "# vireod network '%s': written at each net-start; edits are lost\n"
			       "strict-order\npid-file=%s\nexcept-interface=lo\nbind-dynamic\ninterface=%s\n",
			       def->name, pid_path, def->bridge);
	if (def->domain)
		g_string_append_printf(c, "domain=%s\nlocal=/%s/\nexpand-hosts\n", def->domain, def->domain);
	if (def->has_dhcp) {
		for (size_t i = 0; i < def->nranges; i++) {
			netconf_ipv4_format(def->ranges[i].start, a);
			netconf_ipv4_format(def->ranges[i].end, b);
			g_string_append_printf(c, "dhcp-range=%s,%s,%s\n", a, b, mask);
			lease_max += def->ranges[i].end - def->ranges[i].start + 1;
		}
		if (!def->nranges && def->nhosts) {
			/* static hosts only: dnsmasq needs the subnet named */
			netconf_ipv4_format(netconf_network_addr(def), a);
			g_string_append_printf(c, "dhcp-range=%s,static,%s\n", a, mask);
		}
		for (size_t i = 0; i < def->nhosts; i++) {
			const struct netconf_host *h = &def->hosts[i];

			netconf_ipv4_format(h->ip, a);
			g_string_append(c, "dhcp-host=");
			if (h->has_mac) {
				dom_mac_format(h->mac, mac);
				g_string_append_printf(c, "%s,", mac);
			}
			if (h->name)
				g_string_append_printf(c, "%s,", h->name);
			g_string_append_printf(c, "%s\n", a);
		}
		g_string_append_printf(c, "dhcp-no-override\ndhcp-authoritative\ndhcp-lease-max=%zu\n"
				       "dhcp-leasefile=%s\n", lease_max + def->nhosts, lease_path);
	}
	return g_string_free(c, FALSE);
}

pid_t vdns_running(const char *name, const char *run_dir)
{
	autofree char *pid_path = vdns_pid_path(name, run_dir), *conf = vdns_conf_path(name, run_dir);
	g_autofree char *text = NULL, *cmdline_path = NULL, *cmdline = NULL;
	gsize len = 0;
	long pid;

	if (!g_file_get_contents(pid_path, &text, NULL, NULL))
		return 0;
	pid = strtol(text, NULL, 10);
	if (pid <= 1 || pid > INT32_MAX)
		return 0;
	/* the pid may have been reused: it must be dnsmasq with our config */
	cmdline_path = g_strdup_printf("/proc/%ld/cmdline", pid);
	if (!g_file_get_contents(cmdline_path, &cmdline, &len, NULL))
		return 0;
	for (gsize i = 0; i + 1 < len; i++)
		if (!cmdline[i])
			cmdline[i] = ' ';
	if (!strstr(cmdline, "dnsmasq") || !strstr(cmdline, conf))
		return 0;
	return (pid_t)pid;
}

void vdns_stop(const char *name, const char *run_dir)
{
	autofree char *pid_path = vdns_pid_path(name, run_dir), *conf = vdns_conf_path(name, run_dir);
	pid_t pid = vdns_running(name, run_dir);

	if (pid > 0) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
			g_usleep(10000);
		if (kill(pid, 0) == 0) {
			log_warn("network %s: dnsmasq %d ignored SIGTERM; killing it", name, (int)pid);
			kill(pid, SIGKILL);
		}
	}
	unlink(pid_path);
	unlink(conf);
}

int vdns_start(const struct netconf_def *def, const char *run_dir, const char *lease_dir, pid_t *pid)
{
	autofree char *conf = vdns_conf_path(def->name, run_dir), *pid_path = vdns_pid_path(def->name, run_dir);
	autofree char *leases = vdns_lease_path(def->name, lease_dir), *bin = vdns_binary();
	autofree char *text = NULL, *conf_arg = NULL;
	g_autofree char *err_text = NULL;
	GError *gerr = NULL;
	int status = 0;

	if (!bin)
		return err_set(ERR_UNSUPPORTED, "network '%s': dnsmasq is not installed (Debian package "
			       "dnsmasq-base)", def->name);
	vdns_stop(def->name, run_dir);
	text = vdns_conf_text(def, pid_path, leases);
	if (store_write_file(conf, text, strlen(text), 0644) < 0)
		return -1;
	conf_arg = g_strdup_printf("--conf-file=%s", conf);
	{
		char *argv[] = { bin, conf_arg, NULL };

		/* dnsmasq's parent exits once the daemon has bound its sockets, with a
		 * status and message saying why it could not */
		if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err_text,
				  &status, &gerr)) {
			err_set(ERR_IO, "network '%s': cannot run %s: %s", def->name, bin, gerr->message);
			g_error_free(gerr);
			return -1;
		}
	}
	if (!g_spawn_check_wait_status(status, NULL)) {
		g_strstrip(err_text);
		return err_set(ERR_IO, "network '%s': dnsmasq failed: %s", def->name,
			       err_text && *err_text ? err_text : "no message");
	}
	*pid = vdns_running(def->name, run_dir);
	if (!*pid)
		return err_set(ERR_IO, "network '%s': dnsmasq started but left no pid in %s", def->name, pid_path);
	return 0;
}
