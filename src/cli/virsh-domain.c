/* The vireo CLI's domain commands, in virsh's shape: list, define, undefine,
 * start, shutdown, destroy, reboot, suspend, resume, dominfo, domstate, dumpxml,
 * edit, domstats, autostart, domid, domuuid, qemu-agent-command, domifaddr, guestinfo. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>

#include "cli/virsh-cmd.h"

#define VSH_MAX_XML (1u << 20)

static char *read_text_file(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "error: Failed to open file '%s': %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if (cap > VSH_MAX_XML + 8192) {
				fprintf(stderr, "error: file '%s' is over 1 MiB\n", path);
				free(buf);
				buf = NULL;
				break;
			}
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0) {
			buf[len] = 0;
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

static void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* ---- list ---- */

static int cmd_list(struct vsh *vsh, struct vsh_args *a)
{
	bool all = vsh_flag(a, "--all"), inactive = vsh_flag(a, "--inactive");
	bool names = vsh_flag(a, "--name"), uuids = vsh_flag(a, "--uuid");
	vireo_domain **doms = NULL;
	unsigned int flags = all ? 0 : inactive ? VIREO_LIST_INACTIVE : VIREO_LIST_ACTIVE;
	int n;

	if (vsh_check_unused(a, "list") < 0 || !vsh_conn(vsh))
		return -1;
	n = vireo_conn_list_domains(vsh->conn, &doms, flags);
	if (n < 0) {
		vsh_error("failed to list domains");
		return -1;
	}
	int *states = calloc((size_t)n + 1, sizeof(int));
	for (int i = 0; i < n; i++) {
		if (vireo_domain_get_state(doms[i], &states[i], NULL, VIREO_STATE_CACHED) < 0)
			states[i] = VIREO_DOMAIN_NOSTATE;
	}
	if (vsh->json) {
		json_object *arr = json_object_new_array();
		for (int i = 0; i < n; i++) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "id", json_object_new_int(vireo_domain_get_id(doms[i])));
			json_object_object_add(o, "name", json_object_new_string(vireo_domain_get_name(doms[i])));
			json_object_object_add(o, "uuid", json_object_new_string(vireo_domain_get_uuid_string(doms[i])));
			json_object_object_add(o, "state", json_object_new_string(vireo_domain_state_name(states[i])));
			json_object_array_add(arr, o);
		}
		print_json(arr);
	} else if (names || uuids) {
		for (int i = 0; i < n; i++) {
			if (uuids && names)
				printf("%-36s  %s\n", vireo_domain_get_uuid_string(doms[i]), vireo_domain_get_name(doms[i]));
			else
				printf("%s\n", uuids ? vireo_domain_get_uuid_string(doms[i]) : vireo_domain_get_name(doms[i]));
		}
		printf("\n");
	} else {
		/* virsh's table: columns as wide as their widest cell, three spaces apart. */
		int wid = 2, wname = 4, wstate = 5;
		char idbuf[16];
		for (int i = 0; i < n; i++) {
			int id = vireo_domain_get_id(doms[i]);
			int l = id >= 0 ? snprintf(idbuf, sizeof(idbuf), "%d", id) : 1;
			wid = l > wid ? l : wid;
			l = (int)strlen(vireo_domain_get_name(doms[i]));
			wname = l > wname ? l : wname;
			l = (int)strlen(vireo_domain_state_name(states[i]));
			wstate = l > wstate ? l : wstate;
		}
		printf(" %-*s   %-*s   %s\n", wid, "Id", wname, "Name", "State");
		for (int i = 0; i < wid + wname + wstate + 9; i++)
			putchar('-');
		putchar('\n');
		for (int i = 0; i < n; i++) {
			int id = vireo_domain_get_id(doms[i]);
			if (id >= 0)
				snprintf(idbuf, sizeof(idbuf), "%d", id);
			else
				strcpy(idbuf, "-");
			printf(" %-*s   %-*s   %s\n", wid, idbuf, wname, vireo_domain_get_name(doms[i]),
				vireo_domain_state_name(states[i]));
		}
		printf("\n");
	}
	for (int i = 0; i < n; i++)
		vireo_domain_free(doms[i]);
	free(doms);
	free(states);
	return 0;
}

/* ---- define / undefine ---- */

static int cmd_define(struct vsh *vsh, struct vsh_args *a)
{
	const char *file;
	char *xml;
	vireo_domain *d;

	vsh_flag(a, "--validate");   /* vireod always validates */
	file = vsh_value(a, "file");
	if (!file) {
		fprintf(stderr, "error: command 'define' requires <file> option\n");
		return -1;
	}
	if (vsh_check_unused(a, "define") < 0 || !vsh_conn(vsh))
		return -1;
	xml = read_text_file(file);
	if (!xml)
		return -1;
	d = vireo_domain_define_xml(vsh->conn, xml, 0);
	free(xml);
	if (!d) {
		vsh_error("Failed to define domain from %s", file);
		return -1;
	}
	printf("Domain '%s' defined from %s\n\n", vireo_domain_get_name(d), file);
	vireo_domain_free(d);
	return 0;
}

static int cmd_undefine(struct vsh *vsh, struct vsh_args *a)
{
	vireo_domain *d = vsh_domain(vsh, a);
	int rc;

	if (!d)
		return -1;
	if (vsh_check_unused(a, "undefine") < 0) {
		vireo_domain_free(d);
		return -1;
	}
	rc = vireo_domain_undefine(d, 0);
	if (rc < 0)
		vsh_error("Failed to undefine domain '%s'", vireo_domain_get_name(d));
	else
		printf("Domain '%s' has been undefined\n\n", vireo_domain_get_name(d));
	vireo_domain_free(d);
	return rc;
}

/* ---- lifecycle ---- */

struct vsh_action {
	const char *cmd;
	int (*fn)(vireo_domain *d, unsigned int flags);
	const char *done;    /* printf format with the name */
	const char *failed;
};

static const struct vsh_action actions[] = {
	{ "start", vireo_domain_create, "Domain '%s' started\n\n", "Failed to start domain '%s'" },
	{ "shutdown", vireo_domain_shutdown, "Domain '%s' is being shutdown\n\n", "Failed to shutdown domain '%s'" },
	{ "destroy", vireo_domain_destroy, "Domain '%s' destroyed\n\n", "Failed to destroy domain '%s'" },
	{ "reboot", vireo_domain_reboot, "Domain '%s' is being rebooted\n\n", "Failed to reboot domain '%s'" },
	{ "suspend", vireo_domain_suspend, "Domain '%s' suspended\n\n", "Failed to suspend domain '%s'" },
	{ "resume", vireo_domain_resume, "Domain '%s' resumed\n\n", "Failed to resume domain '%s'" },
};

static int run_action(struct vsh *vsh, struct vsh_args *a, const char *name)
{
	const struct vsh_action *act = NULL;
	bool console = false;
	vireo_domain *d;
	int rc;

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(actions[i].cmd, name))
			act = &actions[i];
	if (!strcmp(name, "start"))
		console = vsh_flag(a, "--console");
	d = vsh_domain(vsh, a);
	if (!d)
		return -1;
	if (vsh_check_unused(a, name) < 0) {
		vireo_domain_free(d);
		return -1;
	}
	rc = act->fn(d, 0);
	if (rc < 0) {
		vsh_error(act->failed, vireo_domain_get_name(d));
	} else {
		printf(act->done, vireo_domain_get_name(d));
		if (console)
			rc = vsh_run_console(vsh, d, false, false);
	}
	vireo_domain_free(d);
	return rc;
}

static int cmd_start(struct vsh *v, struct vsh_args *a) { return run_action(v, a, "start"); }
static int cmd_shutdown(struct vsh *v, struct vsh_args *a) { return run_action(v, a, "shutdown"); }
static int cmd_destroy(struct vsh *v, struct vsh_args *a) { return run_action(v, a, "destroy"); }
static int cmd_reboot(struct vsh *v, struct vsh_args *a) { return run_action(v, a, "reboot"); }
static int cmd_suspend(struct vsh *v, struct vsh_args *a) { return run_action(v, a, "suspend"); }
static int cmd_resume(struct vsh *v, struct vsh_args *a) { return run_action(v, a, "resume"); }

/* ---- queries ---- */

static int cmd_dominfo(struct vsh *vsh, struct vsh_args *a)
{
	vireo_domain *d = vsh_domain(vsh, a);
	vireo_domain_info info;
	int autostart = 0, id;

	if (!d)
		return -1;
	if (vsh_check_unused(a, "dominfo") < 0 || vireo_domain_get_info(d, &info, 0) < 0 ||
	    vireo_domain_get_autostart(d, &autostart) < 0) {
		if (vireo_get_last_error()->code)
			vsh_error("failed to get the information of domain '%s'", vireo_domain_get_name(d));
		vireo_domain_free(d);
		return -1;
	}
	id = vireo_domain_get_id(d);
	if (vsh->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int(id));
		json_object_object_add(o, "name", json_object_new_string(vireo_domain_get_name(d)));
		json_object_object_add(o, "uuid", json_object_new_string(vireo_domain_get_uuid_string(d)));
		json_object_object_add(o, "os_type", json_object_new_string("hvm"));
		json_object_object_add(o, "state", json_object_new_string(vireo_domain_state_name(info.state)));
		json_object_object_add(o, "reason", json_object_new_string(info.reason));
		json_object_object_add(o, "cpus", json_object_new_int((int)info.nr_vcpus));
		json_object_object_add(o, "cpu_time_ns", json_object_new_uint64(info.cpu_time_ns));
		json_object_object_add(o, "max_memory_kib", json_object_new_uint64(info.max_mem_kib));
		json_object_object_add(o, "used_memory_kib", json_object_new_uint64(info.memory_kib));
		json_object_object_add(o, "persistent", json_object_new_boolean(vireo_domain_is_persistent(d)));
		json_object_object_add(o, "autostart", json_object_new_boolean(autostart));
		print_json(o);
	} else {
		if (id >= 0)
			printf("%-15s %d\n", "Id:", id);
		else
			printf("%-15s %s\n", "Id:", "-");
		printf("%-15s %s\n", "Name:", vireo_domain_get_name(d));
		printf("%-15s %s\n", "UUID:", vireo_domain_get_uuid_string(d));
		printf("%-15s %s\n", "OS Type:", "hvm");
		printf("%-15s %s\n", "State:", vireo_domain_state_name(info.state));
		printf("%-15s %u\n", "CPU(s):", info.nr_vcpus);
		if (info.state == VIREO_DOMAIN_RUNNING || info.state == VIREO_DOMAIN_PAUSED)
			printf("%-15s %.1lfs\n", "CPU time:", (double)info.cpu_time_ns / 1e9);
		printf("%-15s %llu KiB\n", "Max memory:", (unsigned long long)info.max_mem_kib);
		printf("%-15s %llu KiB\n", "Used memory:", (unsigned long long)info.memory_kib);
		printf("%-15s %s\n", "Persistent:", vireo_domain_is_persistent(d) ? "yes" : "no");
		printf("%-15s %s\n", "Autostart:", autostart ? "enable" : "disable");
		printf("%-15s %s\n", "Managed save:", "no");
		printf("%-15s %s\n", "Security model:", "none");
		printf("%-15s %s\n", "Security DOI:", "0");
		printf("\n");
	}
	vireo_domain_free(d);
	return 0;
}

static int cmd_domstate(struct vsh *vsh, struct vsh_args *a)
{
	bool reason = vsh_flag(a, "--reason");
	vireo_domain *d = vsh_domain(vsh, a);
	char why[32];
	int state;

	if (!d)
		return -1;
	if (vsh_check_unused(a, "domstate") < 0 || vireo_domain_get_state(d, &state, why, 0) < 0) {
		if (vireo_get_last_error()->code)
			vsh_error(NULL);
		vireo_domain_free(d);
		return -1;
	}
	if (vsh->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "state", json_object_new_string(vireo_domain_state_name(state)));
		json_object_object_add(o, "reason", json_object_new_string(why));
		print_json(o);
	} else if (reason) {
		printf("%s (%s)\n\n", vireo_domain_state_name(state), why);
	} else {
		printf("%s\n\n", vireo_domain_state_name(state));
	}
	vireo_domain_free(d);
	return 0;
}

static int cmd_dumpxml(struct vsh *vsh, struct vsh_args *a)
{
	bool inactive = vsh_flag(a, "--inactive");
	vireo_domain *d;
	char *xml;

	vsh_flag(a, "--security-info");
	d = vsh_domain(vsh, a);
	if (!d)
		return -1;
	if (vsh_check_unused(a, "dumpxml") < 0) {
		vireo_domain_free(d);
		return -1;
	}
	xml = vireo_domain_get_xml_desc(d, inactive ? VIREO_XML_INACTIVE : 0);
	if (!xml) {
		vsh_error(NULL);
		vireo_domain_free(d);
		return -1;
	}
	fputs(xml, stdout);
	if (xml[0] && xml[strlen(xml) - 1] != '\n')
		putchar('\n');
	free(xml);
	vireo_domain_free(d);
	return 0;
}

static int cmd_edit(struct vsh *vsh, struct vsh_args *a)
{
	vireo_domain *d = vsh_domain(vsh, a), *nd;
	char tmpl[] = "/tmp/vireo-edit-XXXXXX.xml";
	char *xml, *edited = NULL, *cmd = NULL;
	const char *editor = getenv("VISUAL") ? getenv("VISUAL") : getenv("EDITOR") ? getenv("EDITOR") : "vi";
	int fd, rc = -1, st;

	if (!d)
		return -1;
	if (vsh_check_unused(a, "edit") < 0)
		goto out;
	xml = vireo_domain_get_xml_desc(d, VIREO_XML_INACTIVE);
	if (!xml) {
		vsh_error(NULL);
		goto out;
	}
	fd = mkstemps(tmpl, 4);
	if (fd < 0 || write(fd, xml, strlen(xml)) != (ssize_t)strlen(xml)) {
		fprintf(stderr, "error: cannot write a temporary file: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		free(xml);
		goto out;
	}
	close(fd);
	/* The editor may be a command with arguments, as virsh allows. */
	if (asprintf(&cmd, "%s '%s'", editor, tmpl) < 0)
		cmd = NULL;
	st = cmd ? system(cmd) : -1;
	if (st != 0) {
		fprintf(stderr, "error: %s exited with status %d; nothing changed\n", editor,
			st < 0 ? -1 : WEXITSTATUS(st));
		free(xml);
		goto out_unlink;
	}
	{
		FILE *f = fopen(tmpl, "re");
		size_t cap = VSH_MAX_XML + 1, len;
		edited = f ? malloc(cap + 1) : NULL;
		len = edited ? fread(edited, 1, cap, f) : 0;
		if (f)
			fclose(f);
		if (!edited || len > VSH_MAX_XML) {
			fprintf(stderr, "error: cannot read back %s (or over 1 MiB); nothing changed\n", tmpl);
			free(xml);
			goto out_unlink;
		}
		edited[len] = 0;
	}
	if (!strcmp(edited, xml)) {
		printf("Domain '%s' XML configuration not changed.\n\n", vireo_domain_get_name(d));
		rc = 0;
		free(xml);
		goto out_unlink;
	}
	free(xml);
	nd = vireo_domain_define_xml(vsh->conn, edited, 0);
	if (!nd) {
		vsh_error("Failed. The configuration of '%s' is unchanged; your edit is in %s",
			vireo_domain_get_name(d), tmpl);
		goto out;   /* keep the file: the user's work */
	}
	if (strcmp(vireo_domain_get_uuid_string(nd), vireo_domain_get_uuid_string(d)))
		fprintf(stderr, "warning: the edit defined a different domain '%s'\n", vireo_domain_get_name(nd));
	printf("Domain '%s' XML configuration edited.\n\n", vireo_domain_get_name(nd));
	vireo_domain_free(nd);
	rc = 0;
out_unlink:
	unlink(tmpl);
out:
	free(cmd);
	free(edited);
	vireo_domain_free(d);
	return rc;
}

static void print_stats_flat(const char *prefix, json_object *o)
{
	json_object_object_foreach(o, key, val) {
		char name[256];
		snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "." : "", key);
		if (json_object_is_type(val, json_type_object))
			print_stats_flat(name, val);
		else if (!json_object_is_type(val, json_type_array) && strcmp(name, "name"))
			printf("  %s=%s\n", name, json_object_get_string(val));
	}
}

static int cmd_domstats(struct vsh *vsh, struct vsh_args *a)
{
	const char *names[64];
	int n = 0, rc = 0;
	vireo_domain **doms = NULL;
	json_object *all = json_object_new_array();

	while (n < 64 && (names[n] = vsh_value(a, "domain")))
		n++;
	if (vsh_check_unused(a, "domstats") < 0 || !vsh_conn(vsh)) {
		json_object_put(all);
		return -1;
	}
	if (n == 0) {
		int cnt = vireo_conn_list_domains(vsh->conn, &doms, VIREO_LIST_ACTIVE);
		if (cnt < 0) {
			vsh_error(NULL);
			json_object_put(all);
			return -1;
		}
		for (int i = 0; i < cnt && n < 64; i++)
			names[n++] = vireo_domain_get_name(doms[i]);
	}
	for (int i = 0; i < n; i++) {
		vireo_domain *d = vireo_domain_lookup_by_name(vsh->conn, names[i]);
		char *text = d ? vireo_domain_get_stats_json(d, 0) : NULL;
		json_object *o = text ? json_tokener_parse(text) : NULL;
		if (!o) {
			vsh_error("failed to get stats of domain '%s'", names[i]);
			rc = -1;
		} else if (vsh->json) {
			json_object_array_add(all, json_object_get(o));
		} else {
			printf("Domain: '%s'\n", names[i]);
			print_stats_flat("", o);
			printf("\n");
		}
		json_object_put(o);
		free(text);
		vireo_domain_free(d);
	}
	if (vsh->json)
		print_json(json_object_get(all));
	json_object_put(all);
	for (int i = 0; doms && doms[i]; i++)
		vireo_domain_free(doms[i]);
	free(doms);
	return rc;
}

static int cmd_autostart(struct vsh *vsh, struct vsh_args *a)
{
	bool disable = vsh_flag(a, "--disable");
	vireo_domain *d = vsh_domain(vsh, a);
	int rc;

	if (!d)
		return -1;
	if (vsh_check_unused(a, "autostart") < 0) {
		vireo_domain_free(d);
		return -1;
	}
	rc = vireo_domain_set_autostart(d, !disable, 0);
	if (rc < 0)
		vsh_error("Failed to %smark domain '%s' as autostarted", disable ? "un" : "", vireo_domain_get_name(d));
	else if (disable)
		printf("Domain '%s' unmarked as autostarted\n\n", vireo_domain_get_name(d));
	else
		printf("Domain '%s' marked as autostarted\n\n", vireo_domain_get_name(d));
	vireo_domain_free(d);
	return rc;
}

static int cmd_domid(struct vsh *vsh, struct vsh_args *a)
{
	vireo_domain *d = vsh_domain(vsh, a);

	if (!d)
		return -1;
	if (vireo_domain_get_id(d) < 0)
		printf("-\n\n");
	else
		printf("%d\n\n", vireo_domain_get_id(d));
	vireo_domain_free(d);
	return vsh_check_unused(a, "domid");
}

static int cmd_domuuid(struct vsh *vsh, struct vsh_args *a)
{
	vireo_domain *d = vsh_domain(vsh, a);

	if (!d)
		return -1;
	printf("%s\n\n", vireo_domain_get_uuid_string(d));
	vireo_domain_free(d);
	return vsh_check_unused(a, "domuuid");
}

/* virsh qemu-agent-command: the agent's JSON answer on stdout, as virsh prints it. */
static int cmd_qemu_agent_command(struct vsh *vsh, struct vsh_args *a)
{
	const char *t = vsh_option(a, "timeout"), *cmd;
	bool pretty = vsh_flag(a, "--pretty");
	vireo_domain *d;
	char *answer, *end;
	long timeout = 0;

	if (t) {
		errno = 0;
		timeout = strtol(t, &end, 10);
		if (errno || *end || end == t || timeout < 1 || timeout > 50) {
			fprintf(stderr, "error: --timeout '%s': use 1 to 50 seconds\n", t);
			return -1;
		}
	}
	d = vsh_domain(vsh, a);
	if (!d)
		return -1;
	cmd = vsh_value(a, "cmd");
	if (!cmd) {
		fprintf(stderr, "error: command 'qemu-agent-command' requires <cmd> option\n");
		vireo_domain_free(d);
		return -1;
	}
	if (vsh_check_unused(a, "qemu-agent-command") < 0) {
		vireo_domain_free(d);
		return -1;
	}
	answer = vireo_domain_qemu_agent_command(d, cmd, (int)timeout, 0);
	vireo_domain_free(d);
	if (!answer) {
		vsh_error("Failed to run agent command");
		return -1;
	}
	if (pretty) {
		json_object *o = json_tokener_parse(answer);
		printf("%s\n", o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY) : answer);
		json_object_put(o);
	} else {
		printf("%s\n", answer);
	}
	free(answer);
	return 0;
}

static const char *jstr_or(json_object *o, const char *key, const char *dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : dflt;
}

/* virsh domifaddr --source agent: the guest's interfaces from
 * guest-network-get-interfaces, in virsh's layout (name and MAC on an
 * interface's first line only, unless --full). */
static int cmd_domifaddr(struct vsh *vsh, struct vsh_args *a)
{
	const char *source = vsh_option(a, "source"), *only = vsh_option(a, "interface");
	bool full = vsh_flag(a, "--full"), json = vsh->json;
	json_object *reply = NULL, *ifs;
	vireo_domain *d;
	char *answer;

	if (!source || strcmp(source, "agent")) {
		fprintf(stderr, "error: domifaddr: only --source agent is supported (the guest agent); "
			"'%s' is not\n", source ? source : "lease");
		return -1;
	}
	d = vsh_domain(vsh, a);
	if (!d)
		return -1;
	if (vsh_check_unused(a, "domifaddr") < 0) {
		vireo_domain_free(d);
		return -1;
	}
	answer = vireo_domain_qemu_agent_command(d, "{\"execute\":\"guest-network-get-interfaces\"}", 0, 0);
	vireo_domain_free(d);
	if (!answer) {
		vsh_error("Failed to query for interfaces addresses");
		return -1;
	}
	reply = json_tokener_parse(answer);
	free(answer);
	if (!reply || !json_object_object_get_ex(reply, "return", &ifs) || !json_object_is_type(ifs, json_type_array)) {
		fprintf(stderr, "error: the guest agent's answer to guest-network-get-interfaces is not a list\n");
		json_object_put(reply);
		return -1;
	}
	if (json) {
		json_object *out = json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(ifs); i++) {
			json_object *in = json_object_array_get_idx(ifs, i);
			if (!only || !strcmp(only, jstr_or(in, "name", "")))
				json_object_array_add(out, json_object_get(in));
		}
		print_json(out);
		json_object_put(reply);
		return 0;
	}
	printf(" %-10s %-17s    %-12s %s\n%s\n", "Name", "MAC address", "Protocol", "Address",
	       "-------------------------------------------------------------------------------");
	for (size_t i = 0; i < json_object_array_length(ifs); i++) {
		json_object *in = json_object_array_get_idx(ifs, i), *addrs = NULL;
		const char *name = jstr_or(in, "name", "-"), *mac = jstr_or(in, "hardware-address", "-");
		size_t n;

		if (only && strcmp(only, name))
			continue;
		json_object_object_get_ex(in, "ip-addresses", &addrs);
		n = addrs && json_object_is_type(addrs, json_type_array) ? json_object_array_length(addrs) : 0;
		if (!n)
			printf(" %-10s %-17s    %-12s %s\n", name, mac, "N/A", "N/A");
		for (size_t k = 0; k < n; k++) {
			json_object *ad = json_object_array_get_idx(addrs, k), *pfx;
			char addr[80];
			snprintf(addr, sizeof(addr), "%s/%d", jstr_or(ad, "ip-address", "?"),
				 json_object_object_get_ex(ad, "prefix", &pfx) ? json_object_get_int(pfx) : 0);
			printf(" %-10s %-17s    %-12s %s\n", k == 0 || full ? name : "-", k == 0 || full ? mac : "-",
			       jstr_or(ad, "ip-address-type", "?"), addr);
		}
	}
	printf("\n");
	json_object_put(reply);
	return 0;
}

/* One agent command's "return" value (a reference), or NULL with the error set. */
static json_object *agent_return(vireo_domain *d, const char *cmd)
{
	char *answer = vireo_domain_qemu_agent_command(d, cmd, 0, 0);
	json_object *reply, *ret = NULL;

	if (!answer)
		return NULL;
	reply = json_tokener_parse(answer);
	free(answer);
	if (reply && json_object_object_get_ex(reply, "return", &ret))
		json_object_get(ret);
	json_object_put(reply);
	return ret;
}

static void guestinfo_line(const char *field, const char *value)
{
	printf("%-20s: %s\n", field, value);
}

/* The string (or number) members of obj listed in keys, as prefix.key lines. */
static void guestinfo_members(json_object *obj, const char *prefix, const char *const *keys, size_t n)
{
	char field[64];
	json_object *v;

	for (size_t i = 0; i < n; i++) {
		if (!json_object_object_get_ex(obj, keys[i], &v) || json_object_is_type(v, json_type_null))
			continue;
		snprintf(field, sizeof(field), "%s.%s", prefix, keys[i]);
		guestinfo_line(field, json_object_get_string(v));
	}
}

/* One group of guestinfo: the agent's answer (a reference), or NULL when the
 * group is not wanted, when the agent does not support it and every group is
 * wanted (virsh leaves those out), or on a failure (*rc = -1, reported). */
static json_object *guestinfo_group(vireo_domain *d, bool wanted, bool all, const char *cmd,
				    const char *name, int *rc)
{
	json_object *r;

	if (*rc < 0 || (!wanted && !all))
		return NULL;
	r = agent_return(d, cmd);
	if (!r && (wanted || strcmp(vireo_get_last_error()->code_name, "agent-error"))) {
		vsh_error("Failed to get guest info (%s)", name);
		*rc = -1;
	}
	return r;
}

/* virsh guestinfo: users, OS, time zone and host name from the guest agent, as
 * "field : value" lines (or one JSON object with --json). */
static int cmd_guestinfo(struct vsh *vsh, struct vsh_args *a)
{
	static const char *const os_keys[] = {
		"id", "name", "pretty-name", "version", "version-id", "machine", "kernel-release", "kernel-version",
	};
	bool want_user = vsh_flag(a, "--user"), want_os = vsh_flag(a, "--os");
	bool want_tz = vsh_flag(a, "--timezone"), want_host = vsh_flag(a, "--hostname");
	bool all = !want_user && !want_os && !want_tz && !want_host;
	vireo_domain *d = vsh_domain(vsh, a);
	json_object *r, *v, *out;
	char field[64], val[64];
	int rc = 0;

	if (!d || vsh_check_unused(a, "guestinfo") < 0) {
		vireo_domain_free(d);
		return -1;
	}
	out = json_object_new_object();
	if ((r = guestinfo_group(d, want_user, all, "{\"execute\":\"guest-get-users\"}", "users", &rc))) {
		size_t n = json_object_is_type(r, json_type_array) ? json_object_array_length(r) : 0;
		snprintf(val, sizeof(val), "%zu", n);
		if (!vsh->json)
			guestinfo_line("user.count", val);
		for (size_t i = 0; i < n && !vsh->json; i++) {
			json_object *u = json_object_array_get_idx(r, i);
			snprintf(field, sizeof(field), "user.%zu.name", i);
			guestinfo_line(field, json_object_object_get_ex(u, "user", &v) ? json_object_get_string(v) : "?");
			if (json_object_object_get_ex(u, "domain", &v)) {
				snprintf(field, sizeof(field), "user.%zu.domain", i);
				guestinfo_line(field, json_object_get_string(v));
			}
			if (json_object_object_get_ex(u, "login-time", &v)) {
				/* seconds with a fraction from the agent; virsh prints milliseconds */
				snprintf(field, sizeof(field), "user.%zu.login-time", i);
				snprintf(val, sizeof(val), "%lld", (long long)(json_object_get_double(v) * 1000));
				guestinfo_line(field, val);
			}
		}
		json_object_object_add(out, "users", r);
	}
	if ((r = guestinfo_group(d, want_os, all, "{\"execute\":\"guest-get-osinfo\"}", "os", &rc))) {
		if (!vsh->json)
			guestinfo_members(r, "os", os_keys, sizeof(os_keys) / sizeof(os_keys[0]));
		json_object_object_add(out, "os", r);
	}
	if ((r = guestinfo_group(d, want_tz, all, "{\"execute\":\"guest-get-timezone\"}", "timezone", &rc))) {
		if (!vsh->json && json_object_object_get_ex(r, "zone", &v))
			guestinfo_line("timezone.name", json_object_get_string(v));
		if (!vsh->json && json_object_object_get_ex(r, "offset", &v))
			guestinfo_line("timezone.offset", json_object_get_string(v));
		json_object_object_add(out, "timezone", r);
	}
	if ((r = guestinfo_group(d, want_host, all, "{\"execute\":\"guest-get-host-name\"}", "hostname", &rc))) {
		if (!vsh->json && json_object_object_get_ex(r, "host-name", &v))
			guestinfo_line("hostname", json_object_get_string(v));
		json_object_object_add(out, "hostname", r);
	}
	vireo_domain_free(d);
	if (rc == 0 && vsh->json) {
		print_json(out);
		return 0;
	}
	json_object_put(out);
	if (rc == 0)
		printf("\n");
	return rc;
}

const struct vsh_cmd vsh_domain_cmds[] = {
	{ "list", cmd_list, "list [--all] [--inactive] [--name] [--uuid] [--json]", "list domains" },
	{ "define", cmd_define, "define <file>", "define (but don't start) a domain from an XML file" },
	{ "undefine", cmd_undefine, "undefine <domain>", "undefine a domain" },
	{ "start", cmd_start, "start <domain> [--console]", "start a (previously defined) inactive domain" },
	{ "shutdown", cmd_shutdown, "shutdown <domain>", "gracefully shutdown a domain" },
	{ "destroy", cmd_destroy, "destroy <domain>", "destroy (stop) a domain" },
	{ "reboot", cmd_reboot, "reboot <domain>", "reboot a domain" },
	{ "suspend", cmd_suspend, "suspend <domain>", "suspend a domain" },
	{ "resume", cmd_resume, "resume <domain>", "resume a domain" },
	{ "dominfo", cmd_dominfo, "dominfo <domain> [--json]", "domain information" },
	{ "domstate", cmd_domstate, "domstate <domain> [--reason] [--json]", "domain state" },
	{ "dumpxml", cmd_dumpxml, "dumpxml <domain> [--inactive]", "domain information in XML" },
	{ "edit", cmd_edit, "edit <domain>", "edit XML configuration for a domain" },
	{ "domstats", cmd_domstats, "domstats [<domain>...] [--json]", "get statistics about one or multiple domains" },
	{ "autostart", cmd_autostart, "autostart <domain> [--disable]", "autostart a domain" },
	{ "domid", cmd_domid, "domid <domain>", "convert a domain name or UUID to domain id" },
	{ "domuuid", cmd_domuuid, "domuuid <domain>", "convert a domain name or id to domain UUID" },
	{ "qemu-agent-command", cmd_qemu_agent_command, "qemu-agent-command <domain> <cmd> [--timeout <seconds>] [--pretty]",
	  "run a guest agent command (a JSON object) and print its answer" },
	{ "guestinfo", cmd_guestinfo, "guestinfo <domain> [--user] [--os] [--timezone] [--hostname] [--json]",
	  "users, OS, time zone and host name reported by the guest agent" },
	{ "domifaddr", cmd_domifaddr, "domifaddr <domain> --source agent [--interface <name>] [--full] [--json]",
	  "the guest's network interfaces and addresses, from its guest agent" },
	{ NULL, NULL, NULL, NULL },
};
