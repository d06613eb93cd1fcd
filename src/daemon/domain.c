/* Domain objects and their lifecycle: the persistent configs (atomic store),
 * spawning each vireo-vmm in its own session so it outlives vireod, watching it
 * through QMP, honouring on_poweroff/on_reboot/on_crash, runtime status files,
 * and re-adopting running VMMs when vireod starts again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/daemon.h"
#include "daemon/pool.h"
#include "daemon/network.h"

#define VDOM_RESTARTS_PER_MINUTE 5
#define VDOM_START_TIMEOUT_US (10 * G_USEC_PER_SEC)   /* for the VMM's QMP socket */
#define VDOM_EXIT_GRACE_US (3 * G_USEC_PER_SEC)       /* before SIGKILL, and after it */
#define VDOM_POLL_MS 10

/* A start or destroy in flight. Its done callback runs once, when it ends or
 * when the domain is removed under it. */
struct vdom_op {
	const char *what;          /* "starting", "being destroyed" */
	bool starting;             /* a start (else a destroy) */
	bool restart;              /* a start for on_poweroff/on_reboot/on_crash */
	guint timer_id;
	int64_t deadline;
	vdom_done_fn done;
	void *opaque;
};

static void vdom_op_finish(struct vdom *d, int rc);
static bool vdom_pid_alive(struct vdom *d);

const char *vdom_state_name(enum vdom_state s)
{
	switch (s) {
	case VDOM_RUNNING: return "running";
	case VDOM_PAUSED: return "paused";
	case VDOM_SHUTOFF: return "shut off";
	case VDOM_CRASHED: return "crashed";
	default: return "no state";
	}
}

static void vdom_emit(struct vdom *d, const char *event, const char *detail)
{
	const char *name = vdom_def(d)->name;

	log_info("domain %s: %s (%s)", name, event, detail);
	if (d->vd->event_cb)
		d->vd->event_cb(d->vd, name, event, detail);
}

const struct dom_def *vdom_def(const struct vdom *d)
{
	return d->live ? d->live : d->def;
}

int vd_init_paths(struct vd *vd, const char *root)
{
	struct vd_paths *p = &vd->paths;
	const char *r = root ? root : "";

	p->root = g_strdup(r);
	p->state_dir = g_strdup_printf("%s/var/lib/vireo", r);
	p->domains_dir = g_strdup_printf("%s/domains", p->state_dir);
	p->autostart_dir = g_strdup_printf("%s/autostart", p->state_dir);
	p->run_dir = g_strdup_printf("%s/run/vireo", r);
	p->run_domains_dir = g_strdup_printf("%s/domains", p->run_dir);
	p->log_dir = g_strdup_printf("%s/var/log/vireo", r);
	p->sock_rw = g_strdup_printf("%s/vireo.sock", p->run_dir);
	p->sock_ro = g_strdup_printf("%s/vireo-ro.sock", p->run_dir);
	if (strlen(p->sock_ro) >= 100)
		return err_set(ERR_INVALID, "root '%s' is too long for a unix socket path", r);
	if (store_mkdir_p(p->state_dir, 0700) < 0 || store_mkdir_p(p->domains_dir, 0700) < 0 ||
	    store_mkdir_p(p->autostart_dir, 0700) < 0 || store_mkdir_p(p->run_dir, 0755) < 0 ||
	    store_mkdir_p(p->run_domains_dir, 0700) < 0 || store_mkdir_p(p->log_dir, 0700) < 0)
		return -1;
	return 0;
}

static char *config_path(struct vd *vd, const char *name)
{
	return g_strdup_printf("%s/%s.xml", vd->paths.domains_dir, name);
}

static char *autostart_path(struct vd *vd, const char *name)
{
	return g_strdup_printf("%s/%s", vd->paths.autostart_dir, name);
}

static void vdom_set_runtime_paths(struct vdom *d, const char *name)
{
	const char *rd = d->vd->paths.run_domains_dir;

	g_free(d->qmp_path);
	g_free(d->console_path);
	g_free(d->pid_path);
	g_free(d->status_path);
	g_free(d->log_path);
	d->qmp_path = g_strdup_printf("%s/%s.qmp", rd, name);
	d->console_path = g_strdup_printf("%s/%s.console", rd, name);
	d->pid_path = g_strdup_printf("%s/%s.pid", rd, name);
	d->status_path = g_strdup_printf("%s/%s.status", rd, name);
	d->log_path = g_strdup_printf("%s/%s.log", d->vd->paths.log_dir, name);
}

static struct vdom *vdom_new(struct vd *vd, struct dom_def *def)
{
	struct vdom *d = g_new0(struct vdom, 1);

	d->vd = vd;
	d->def = def;
	d->state = VDOM_SHUTOFF;
	d->reason = "unknown";
	d->id = -1;
	vdom_set_runtime_paths(d, def->name);
	return d;
}

static void vdom_free(gpointer p)
{
	struct vdom *d = p;

	if (d->op) {
		/* vireod stops with a start in flight: no status file was written yet, so
		 * the next vireod could not re-adopt the VMM; it must not outlive us. */
		if (d->op->starting && vdom_pid_alive(d))
			kill(d->pid, SIGKILL);
		err_set(ERR_INTERNAL, "domain '%s' was removed while %s", vdom_def(d)->name, d->op->what);
		vdom_op_finish(d, -1);
	}
	if (d->exit_watch_id)
		g_source_remove(d->exit_watch_id);
	cons_detach(d);
	qmpc_free(d->qmp);
	dom_def_free(d->def);
	dom_def_free(d->live);
	g_free(d->qmp_path);
	g_free(d->console_path);
	g_free(d->pid_path);
	g_free(d->status_path);
	g_free(d->log_path);
	g_free(d);
}

struct vdom *vdom_lookup(struct vd *vd, const char *key)
{
	struct vdom *d = g_hash_table_lookup(vd->domains, key);
	uint8_t uuid[DOM_UUID_LEN];
	GHashTableIter it;
	gpointer v;

	if (d)
		return d;
	if (dom_uuid_parse(key, uuid) == 0) {
		g_hash_table_iter_init(&it, vd->domains);
		while (g_hash_table_iter_next(&it, NULL, &v)) {
			d = v;
			if (!memcmp(vdom_def(d)->uuid, uuid, DOM_UUID_LEN))
				return d;
		}
	}
	err_set(ERR_NOT_FOUND, "no domain with matching name or uuid '%s'", key);
	return NULL;
}

/* ---- runtime status files ---- */

static int vdom_write_status(struct vdom *d)
{
	json_object *o = json_object_new_object();
	autofree char *xml = dom_format_xml(d->live, 0);
	const char *text;
	int rc;

	if (!xml) {
		json_object_put(o);
		return -1;
	}
	json_object_object_add(o, "name", json_object_new_string(d->live->name));
	json_object_object_add(o, "pid", json_object_new_int64(d->pid));
	json_object_object_add(o, "start_time", json_object_new_uint64(d->start_time));
	json_object_object_add(o, "id", json_object_new_int(d->id));
	json_object_object_add(o, "qmp", json_object_new_string(d->qmp_path));
	json_object_object_add(o, "console", json_object_new_string(d->console_path));
	json_object_object_add(o, "pidfile", json_object_new_string(d->pid_path));
	json_object_object_add(o, "xml", json_object_new_string(xml));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	rc = store_write_file(d->status_path, text, strlen(text), 0600);
	json_object_put(o);
	return rc;
}

/* The VMM is gone (or was never fully started): forget the runtime side. */
static void vdom_clear_runtime(struct vdom *d)
{
	if (d->exit_watch_id) {
		g_source_remove(d->exit_watch_id);
		d->exit_watch_id = 0;
	}
	cons_detach(d);
	qmpc_free(d->qmp);
	d->qmp = NULL;
	unlink(d->status_path);
	unlink(d->qmp_path);
	unlink(d->console_path);
	unlink(d->pid_path);
	dom_def_free(d->live);
	d->live = NULL;
	d->pid = 0;
	d->start_time = 0;
	d->id = -1;
	d->shutdown_seen = d->shutdown_guest = d->destroying = false;
	d->shutdown_reason[0] = 0;
	d->expect_stop = d->expect_resume = 0;
}

static bool vdom_pid_alive(struct vdom *d)
{
	/* start_time 0: the process was gone before its start time could be read. */
	return d->pid > 0 && d->start_time && host_proc_start_time(d->pid) == d->start_time;
}

static struct vdom_op *vdom_op_new(struct vdom *d, const char *what, vdom_done_fn done, void *opaque)
{
	struct vdom_op *op = g_new0(struct vdom_op, 1);

	op->what = what;
	op->done = done;
	op->opaque = opaque;
	d->op = op;
	return op;
}

/* End the action in flight; the callback runs last since it may look the
 * domain up again (and find it gone). */
/* Take the action in flight off the domain (its timer stopped), so the domain
 * can change or go before vdom_op_end tells the caller. */
static struct vdom_op *vdom_op_take(struct vdom *d)
{
	struct vdom_op *op = d->op;

	d->op = NULL;
	if (op && op->timer_id) {
		g_source_remove(op->timer_id);
		op->timer_id = 0;
	}
	return op;
}

static void vdom_op_end(struct vdom_op *op, int rc)
{
	vdom_done_fn done;
	void *opaque;

	if (!op)
		return;
	done = op->done;
	opaque = op->opaque;
	g_free(op);
	if (done)
		done(opaque, rc);
	else if (rc < 0)
		log_error("%s", err_message());
}

static void vdom_op_finish(struct vdom *d, int rc)
{
	vdom_op_end(vdom_op_take(d), rc);
}

/* Returns true if d was freed (a transient domain that stopped). */
static bool vdom_stopped(struct vdom *d, enum vdom_state state, const char *reason)
{
	struct vd *vd = d->vd;
	char name[DOM_NAME_MAX + 1];

	g_strlcpy(name, vdom_def(d)->name, sizeof(name));
	vdom_emit(d, state == VDOM_CRASHED ? "crashed" : "stopped", reason);
	vdom_clear_runtime(d);
	d->state = state;
	d->reason = reason;
	if (!d->def) {
		g_hash_table_remove(vd->domains, name);
		return true;
	}
	return false;
}

/* ---- spawning ---- */

/* vireo-vmm's option text is comma-separated: a value with a comma cannot pass. */
static int vdom_plain_value(const struct dom_def *def, const char *what, const char *v)
{
	if (v && strchr(v, ','))
		return err_set(ERR_UNSUPPORTED, "domain '%s': %s '%s' contains a comma, which vireo-vmm's "
			"options cannot carry", def->name, what, v);
	return 0;
}

/* <iotune> as vireo-vmm --disk options, with QEMU's -drive throttling names:
 * total_bytes_sec -> bps, read_iops_sec_max -> iops_rd_max, size_iops_sec ->
 * iops_size, group_name -> group. */
static void iotune_append_opts(GString *spec, const struct dom_iotune *t)
{
	static const char *const map[][2] = {
		{ "total_bytes_sec", "bps" }, { "read_bytes_sec", "bps_rd" }, { "write_bytes_sec", "bps_wr" },
		{ "total_iops_sec", "iops" }, { "read_iops_sec", "iops_rd" }, { "write_iops_sec", "iops_wr" },
		{ "size_iops_sec", "iops_size" },
	};
	const char *name;
	uint64_t v;

	for (size_t i = 0; (name = dom_iotune_field(t, i, &v)); i++) {
		if (!v)
			continue;
		for (size_t k = 0; k < G_N_ELEMENTS(map); k++) {
			size_t n = strlen(map[k][0]);
			if (!strncmp(name, map[k][0], n)) {
				g_string_append_printf(spec, ",%s%s=%" PRIu64, map[k][1], name + n, v);
				break;
			}
		}
	}
	if (t->group_name)
		g_string_append_printf(spec, ",group=%s", t->group_name);
}

/* Taps made for the VMM being started (interfaces of type network and bridge):
 * the i-th becomes fd 3 + i in the VMM; vireod closes its copies after the
 * spawn, so a tap goes away with the VMM that holds it. */
#define VDOM_MAX_PASS_FDS 64
static int vdom_pass_fds[VDOM_MAX_PASS_FDS];
static size_t vdom_npass_fds;

static void vdom_close_pass_fds(void)
{
	for (size_t i = 0; i < vdom_npass_fds; i++)
		close(vdom_pass_fds[i]);
	vdom_npass_fds = 0;
}

/* The VMM options for the domain's devices, or -1 naming the first device
 * vireo-vmm cannot honour: a guest is never started without a device it asked for.
 * Interfaces of type network/bridge get their tap here (its name into the def). */
static int vdom_device_args(struct dom_def *def, GPtrArray *args)
{
	static const char *const cache_names[] = {
		[DOM_CACHE_NONE] = "none", [DOM_CACHE_WRITETHROUGH] = "writethrough",
		[DOM_CACHE_WRITEBACK] = "writeback", [DOM_CACHE_UNSAFE] = "unsafe",
	};

	if (!def->os.kernel)
		return err_set(ERR_UNSUPPORTED, "domain '%s' has no <os><kernel>: vireo-vmm boots "
			"only a direct kernel for now", def->name);
	for (size_t i = 0; i < def->ndisks; i++) {
		const struct dom_disk *k = &def->disks[i];
		GString *spec;
		g_autofree char *vol_path = NULL;
		const char *path = k->path, *vol_format = NULL;
		/* <disk type='volume'>: the pool's file, looked up at each start */
		if (k->type == DOM_DISK_VOLUME) {
			if (vpool_resolve_disk(k->pool, k->volume, k->format == DOM_DISK_FORMAT_DEFAULT ? NULL :
					       dom_disk_format_name(k->format), &vol_path, &vol_format) < 0)
				return err_prefix("domain '%s': disk '%s'", def->name, k->target_dev);
			path = vol_path;
		}
		if (!path)
			return err_set(ERR_UNSUPPORTED, "domain '%s': disk '%s' cannot be honoured: only "
				"<disk type='file'> with a source file, or type='volume'", def->name, k->target_dev);
		if (k->cache == DOM_CACHE_DIRECTSYNC)
			return err_set(ERR_UNSUPPORTED, "domain '%s': disk '%s': cache='directsync' is not "
				"supported by vireo-vmm", def->name, k->target_dev);
		if (k->io == DOM_IO_NATIVE)
			return err_set(ERR_UNSUPPORTED, "domain '%s': disk '%s': io='native' is not supported "
				"by vireo-vmm (io_uring or threads are)", def->name, k->target_dev);
		if (vdom_plain_value(def, "disk path", path) < 0 ||
		    vdom_plain_value(def, "disk serial", k->serial) < 0)
			return -1;
		spec = g_string_new(NULL);
		g_string_append_printf(spec, "path=%s", path);
		if (k->format != DOM_DISK_FORMAT_DEFAULT)
			g_string_append_printf(spec, ",format=%s", dom_disk_format_name(k->format));
		else if (vol_format)
			g_string_append_printf(spec, ",format=%s", vol_format);
		if (k->readonly)
			g_string_append(spec, ",readonly=on");
		if (k->serial)
			g_string_append_printf(spec, ",serial=%s", k->serial);
		if (k->cache != DOM_CACHE_DEFAULT)
			g_string_append_printf(spec, ",cache=%s", cache_names[k->cache]);
		if (k->io != DOM_IO_DEFAULT)
			g_string_append_printf(spec, ",aio=%s", k->io == DOM_IO_URING ? "io_uring" : "threads");
		if (k->has_iotune)
			iotune_append_opts(spec, &k->iotune);
		g_string_append_printf(spec, ",id=%s", k->target_dev);
		g_ptr_array_add(args, g_strdup("--disk"));
		g_ptr_array_add(args, g_string_free(spec, FALSE));
	}
	for (size_t i = 0; i < def->nnets; i++) {
		struct dom_net *n = &def->nets[i];
		char mac[18];
		if (!n->model_virtio)
			return err_set(ERR_UNSUPPORTED, "domain '%s': interface %s: vireo-vmm has only "
				"<model type='virtio'/>", def->name, n->target_dev ? n->target_dev : n->source);
		if (n->type != DOM_NET_ETHERNET) {
			int fd;
			if (vdom_npass_fds == VDOM_MAX_PASS_FDS)
				return err_set(ERR_UNSUPPORTED, "domain '%s': more than %d network interfaces",
					def->name, VDOM_MAX_PASS_FDS);
			fd = vnet_iface_connect(def, n);
			if (fd < 0)
				return -1;
			vdom_pass_fds[vdom_npass_fds] = fd;
			dom_mac_format(n->mac, mac);
			g_ptr_array_add(args, g_strdup("--net"));
			g_ptr_array_add(args, g_strdup_printf("fd=%zu,mac=%s", 3 + vdom_npass_fds++, mac));
			continue;
		}
		if (!n->target_dev)
			return err_set(ERR_UNSUPPORTED, "domain '%s': <interface type='ethernet'> needs "
				"<target dev='TAP'/> (an existing tap)", def->name);
		if (vdom_plain_value(def, "tap name", n->target_dev) < 0)
			return -1;
		dom_mac_format(n->mac, mac);
		g_ptr_array_add(args, g_strdup("--net"));
		g_ptr_array_add(args, g_strdup_printf("tap=%s,mac=%s", n->target_dev, mac));
	}
	if (def->nrngs > 1)
		return err_set(ERR_UNSUPPORTED, "domain '%s': vireo-vmm has one <rng>, not %zu", def->name,
			def->nrngs);
	if (def->nrngs) {
		/* vireo-vmm feeds the device from getrandom(): what /dev/urandom and /dev/random give. */
		if (def->rngs[0].backend && strcmp(def->rngs[0].backend, "/dev/urandom") &&
		    strcmp(def->rngs[0].backend, "/dev/random"))
			return err_set(ERR_UNSUPPORTED, "domain '%s': <rng> backend %s cannot be honoured "
				"(vireo-vmm uses getrandom)", def->name, def->rngs[0].backend);
		g_ptr_array_add(args, g_strdup("--rng"));
	}
	if (def->nhostdevs)
		return err_set(ERR_UNSUPPORTED, "domain '%s': <hostdev> cannot be honoured yet", def->name);
	return 0;
}

/* vireo-vmm's virtio-console named ports (at most 6 besides the console). */
#define VDOM_MAX_CHANNELS 6

/* Where a channel without a source path listens, as libvirt picks one: in the
 * domain's run directory, named after the port. */
static char *vdom_channel_auto_path(struct vdom *d, const char *dom, const char *port)
{
	return g_strdup_printf("%s/%s.chan.%s", d->vd->paths.run_domains_dir, dom, port);
}

/* --channel name=,path= for each <channel type='unix'>: vireo-vmm listens on
 * the path (mode='bind'); a missing path is picked here and kept in the live
 * definition, so the live dumpxml and the status file show it. */
static int vdom_channel_args(struct vdom *d, struct dom_def *live, GPtrArray *args)
{
	if (live->nchannels > VDOM_MAX_CHANNELS)
		return err_set(ERR_UNSUPPORTED, "domain '%s': vireo-vmm has at most %d <channel>s, not %zu",
			live->name, VDOM_MAX_CHANNELS, live->nchannels);
	for (size_t i = 0; i < live->nchannels; i++) {
		struct dom_channel *c = &live->channels[i];

		if (c->mode != DOM_CHANNEL_BIND)
			return err_set(ERR_UNSUPPORTED, "domain '%s': channel '%s': <source mode='connect'> cannot "
				"be honoured: vireo-vmm listens (mode='bind')", live->name, c->name);
		if (!c->path)
			c->path = vdom_channel_auto_path(d, live->name, c->name);
		if (strlen(c->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return err_set(ERR_INVALID, "domain '%s': channel '%s': socket path %s is too long for a "
				"unix socket", live->name, c->name, c->path);
		if (vdom_plain_value(live, "channel path", c->path) < 0 ||
		    vdom_plain_value(live, "channel name", c->name) < 0)
			return -1;
		g_ptr_array_add(args, g_strdup("--channel"));
		g_ptr_array_add(args, g_strdup_printf("name=%s,path=%s", c->name, c->path));
	}
	return 0;
}

/* The socket of the channel named `port` of a running domain (the agent's). */
const char *vdom_channel_path(struct vdom *d, const char *port)
{
	for (size_t i = 0; d->live && i < d->live->nchannels; i++)
		if (!strcmp(d->live->channels[i].name, port))
			return d->live->channels[i].path;
	return NULL;
}

static pid_t vdom_spawn(struct vdom *d, char **argv)
{
	int pfd[2];
	pid_t child, vmm = -1;
	int status, logfd, nullfd;
	ssize_t n;

	logfd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return err_set_errno(ERR_IO, errno, "cannot open log %s", d->log_path);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		int e = errno;
		close(logfd);
		if (nullfd >= 0)
			close(nullfd);
		return err_set_errno(ERR_IO, e, "cannot prepare to start %s", argv[0]);
	}
	child = fork();
	if (child < 0) {
		int e = errno;
		close(logfd);
		close(nullfd);
		close(pfd[0]);
		close(pfd[1]);
		return err_set_errno(ERR_INTERNAL, e, "fork");
	}
	if (child == 0) {
		/* Own session and a second fork: the VMM is nobody's child here, so it
		 * survives vireod; only async-signal-safe calls from here on. */
		pid_t g;
		setsid();
		g = fork();
		if (g != 0) {
			if (write(pfd[1], &g, sizeof(g)) < 0)
				_exit(1);
			_exit(g > 0 ? 0 : 1);
		}
		dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		/* taps to fds 3, 4, ...: first above that range, so no dup2 hits a source */
		int high[VDOM_MAX_PASS_FDS];
		for (size_t i = 0; i < vdom_npass_fds; i++)
			high[i] = fcntl(vdom_pass_fds[i], F_DUPFD, 3 + (int)vdom_npass_fds);
		for (size_t i = 0; i < vdom_npass_fds; i++)
			dup2(high[i], 3 + (int)i);
		syscall(SYS_close_range, 3 + (unsigned int)vdom_npass_fds, ~0U, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	close(logfd);
	close(nullfd);
	n = read(pfd[0], &vmm, sizeof(vmm));
	close(pfd[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (n != sizeof(vmm) || vmm <= 0)
		return err_set(ERR_INTERNAL, "cannot start %s: second fork failed", argv[0]);
	return vmm;
}

static void vdom_on_event(void *opaque, const char *event, json_object *data);
static void vdom_on_closed(void *opaque);

static void vdom_log_tail(struct vdom *d, char *out, size_t size)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	out[0] = 0;
	if (read_file_all(d->log_path, 1 << 20, &buf, &len) < 0 || len == 0) {
		err_clear();
		free(buf);
		return;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == 0))
		len--;
	size_t start = len;
	while (start && buf[start - 1] != '\n')
		start--;
	snprintf(out, size, ": %.*s", (int)MIN(len - start, 300), (char *)buf + start);
	free(buf);
}

/* The start failed: record why (the VMM's last log line helps), stop what
 * was spawned and end the start. */
static void vdom_start_failed(struct vdom *d, const char *why)
{
	char tail[400], msg[ERR_MSG_MAX];
	bool alive = vdom_pid_alive(d);
	bool restart = d->op && d->op->restart;
	struct vdom_op *op;
	char name[DOM_NAME_MAX + 1];

	g_strlcpy(name, vdom_def(d)->name, sizeof(name));
	if (alive)
		kill(d->pid, SIGKILL);
	vdom_log_tail(d, tail, sizeof(tail));
	snprintf(msg, sizeof(msg), "domain '%s': VMM %s (see %s)%s", name,
		 alive ? why : "exited at start", d->log_path, tail);
	vdom_clear_runtime(d);
	if (restart) {
		d->state = VDOM_SHUTOFF;
		d->reason = "failed";
	}
	op = vdom_op_take(d);
	/* Transient (never persistent, or undefined while starting): nothing is left. */
	if (!d->def)
		g_hash_table_remove(d->vd->domains, name);
	err_set(ERR_INTERNAL, "%s", msg);
	vdom_op_end(op, -1);
}

static void vdom_start_qmp_ready(void *opaque, struct qmpc *q, bool ok)
{
	struct vdom *d = opaque;
	struct dom_def *live = d->live;

	if (!ok) {
		/* Not answering yet (or a stale socket): the poll tries again. */
		log_debug("domain %s: %s", live->name, err_message());
		err_clear();
		qmpc_free(q);
		d->qmp = NULL;
		return;
	}
	d->id = d->vd->next_id++;
	live->id = d->id;
	d->state = VDOM_RUNNING;
	d->reason = "booted";
	qmpc_set_handlers(d->qmp, vdom_on_event, vdom_on_closed, d);
	cons_attach(d);
	if (vdom_write_status(d) < 0)
		log_error("domain %s: %s (a vireod restart will not re-adopt it)", live->name, err_message());
	vdom_emit(d, "started", "booted");
	vdom_op_finish(d, 0);
}

/* Every VDOM_POLL_MS while starting: the VMM must stay alive and open its QMP
 * socket within VDOM_START_TIMEOUT_US; the connection itself goes on in qmpc. */
static gboolean vdom_start_poll(gpointer data)
{
	struct vdom *d = data;

	if (!vdom_pid_alive(d)) {
		d->op->timer_id = 0;
		vdom_start_failed(d, NULL);
		return G_SOURCE_REMOVE;
	}
	if (!d->qmp && access(d->qmp_path, F_OK) == 0) {
		d->qmp = qmpc_open(d->qmp_path, 3000, vdom_start_qmp_ready, d);
		err_clear();   /* not listening yet: next time */
	}
	if (g_get_monotonic_time() > d->op->deadline) {
		d->op->timer_id = 0;
		vdom_start_failed(d, "did not open its QMP socket in 10 s");
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* Start a VMM for `from` (the persistent config, or the live copy of a transient
 * domain being restarted). The spawn is done here; the wait for its QMP
 * socket goes on in the main loop and ends the start (vdom_op). */
static int vdom_launch(struct vdom *d, const struct dom_def *from, bool restart,
		       vdom_done_fn done, void *opaque)
{
	struct vd *vd = d->vd;
	struct dom_def *live;
	char mem[32], cpus[16], serial[300], qmp[300];
	GPtrArray *argv;
	pid_t pid;

	if (access(vd->vmm_path, X_OK) < 0)
		return err_set_errno(ERR_UNSUPPORTED, errno, "VMM %s is not executable", vd->vmm_path);
	live = dom_def_copy(from);
	if (!live)
		return -1;
	argv = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(argv, g_strdup(vd->vmm_path));
	g_ptr_array_add(argv, g_strdup("--name"));
	g_ptr_array_add(argv, g_strdup(live->name));
	g_ptr_array_add(argv, g_strdup("--kernel"));
	g_ptr_array_add(argv, g_strdup(live->os.kernel));
	if (live->os.initrd) {
		g_ptr_array_add(argv, g_strdup("--initrd"));
		g_ptr_array_add(argv, g_strdup(live->os.initrd));
	}
	if (live->os.cmdline) {
		g_ptr_array_add(argv, g_strdup("--cmdline"));
		g_ptr_array_add(argv, g_strdup(live->os.cmdline));
	}
	if (vdom_device_args(live, argv) < 0 || vdom_channel_args(d, live, argv) < 0) {
		vdom_close_pass_fds();
		g_ptr_array_free(argv, TRUE);
		dom_def_free(live);
		return -1;
	}
	vdom_set_runtime_paths(d, live->name);
	unlink(d->qmp_path);
	unlink(d->console_path);
	unlink(d->pid_path);
	snprintf(mem, sizeof(mem), "%lluK", (unsigned long long)live->memory_kib);
	snprintf(cpus, sizeof(cpus), "%u", live->vcpus_current);
	snprintf(serial, sizeof(serial), "unix:%s", d->console_path);
	snprintf(qmp, sizeof(qmp), "unix:%s", d->qmp_path);
	const char *fixed[] = { "--memory", mem, "--cpus", cpus, "--serial", serial, "--qmp", qmp,
				"--pidfile", d->pid_path };
	for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
		g_ptr_array_add(argv, g_strdup(fixed[i]));
	/* on_reboot=destroy: the VMM must exit instead of resetting. */
	if (live->on_reboot == DOM_ACTION_DESTROY)
		g_ptr_array_add(argv, g_strdup("--no-reboot"));
	g_ptr_array_add(argv, NULL);

	pid = vdom_spawn(d, (char **)argv->pdata);
	vdom_close_pass_fds();
	g_ptr_array_free(argv, TRUE);
	if (pid < 0) {
		dom_def_free(live);
		return -1;
	}
	d->pid = pid;
	/* Read the start time at once: the pid is ours while the process lives. The
	 * second fork has returned, so a 0 means the VMM has already exited. */
	d->start_time = host_proc_start_time(pid);
	/* The live definition from now on, so the domain shows what is starting. */
	d->live = live;
	struct vdom_op *op = vdom_op_new(d, "starting", done, opaque);
	op->starting = true;
	op->restart = restart;
	op->deadline = g_get_monotonic_time() + VDOM_START_TIMEOUT_US;
	op->timer_id = g_timeout_add(VDOM_POLL_MS, vdom_start_poll, d);
	return 0;
}

/* A domain with a start or destroy in flight takes no other action. */
static int vdom_check_idle(struct vdom *d)
{
	if (d->op)
		return err_set(ERR_BUSY, "domain '%s' is %s", vdom_def(d)->name, d->op->what);
	return 0;
}

int vdom_start(struct vdom *d, vdom_done_fn done, void *opaque)
{
	if (vdom_check_idle(d) < 0)
		return -1;
	if (d->state == VDOM_RUNNING || d->state == VDOM_PAUSED)
		return err_set(ERR_BUSY, "domain '%s' is already active", vdom_def(d)->name);
	if (!d->def)
		return err_set(ERR_INTERNAL, "transient domain '%s' cannot be started", vdom_def(d)->name);
	return vdom_launch(d, d->def, false, done, opaque);
}

/* Restart after a guest poweroff/crash when the config asks for it, at most a
 * few times a minute so a guest that dies at once does not spin. */
static void vdom_restart(struct vdom *d, const char *why)
{
	struct dom_def *from = d->def ? dom_def_copy(d->def) : dom_def_copy(d->live);
	int64_t now = g_get_monotonic_time();

	if (now - d->restart_window > 60 * G_USEC_PER_SEC) {
		d->restart_window = now;
		d->restarts = 0;
	}
	if (!from || ++d->restarts > VDOM_RESTARTS_PER_MINUTE) {
		log_error("domain %s: not restarting after %s: %s", vdom_def(d)->name, why,
			from ? "too many restarts in a minute" : err_message());
		dom_def_free(from);
		vdom_stopped(d, VDOM_CRASHED, "unknown");
		return;
	}
	vdom_clear_runtime(d);
	if (vdom_launch(d, from, true, NULL, NULL) < 0) {
		log_error("domain %s: restart after %s failed: %s", from->name, why, err_message());
		d->state = VDOM_SHUTOFF;
		d->reason = "failed";
		if (!d->def)
			g_hash_table_remove(d->vd->domains, from->name);
	}
	dom_def_free(from);
}

static bool action_restarts(enum dom_action a)
{
	return a == DOM_ACTION_RESTART || a == DOM_ACTION_RENAME_RESTART ||
	       a == DOM_ACTION_COREDUMP_RESTART;
}

/* The VMM has exited: decide what that was, and end a destroy in flight. */
static void vdom_exited(struct vdom *d)
{
	const struct dom_def *def = vdom_def(d);
	/* Only a destroy can be in flight here (a start ends before QMP is watched);
	 * take it first: a restart below starts a new action. */
	struct vdom_op *op = vdom_op_take(d);

	if (d->destroying) {
		vdom_stopped(d, VDOM_SHUTOFF, "destroyed");
	} else if (d->shutdown_seen && d->shutdown_guest && !strcmp(d->shutdown_reason, "guest-reset")) {
		if (action_restarts(def->on_reboot))
			vdom_restart(d, "guest reboot");
		else
			vdom_stopped(d, VDOM_SHUTOFF, "shutdown");
	} else if (d->shutdown_seen && d->shutdown_guest && !strcmp(d->shutdown_reason, "guest-panic")) {
		if (action_restarts(def->on_crash))
			vdom_restart(d, "guest crash");
		else
			vdom_stopped(d, VDOM_CRASHED, "panicked");
	} else if (d->shutdown_seen) {
		if (d->shutdown_guest && action_restarts(def->on_poweroff))
			vdom_restart(d, "guest poweroff");
		else
			vdom_stopped(d, VDOM_SHUTOFF, "shutdown");
	} else {
		/* Gone without a SHUTDOWN event: the VMM crashed or was killed. */
		if (action_restarts(def->on_crash))
			vdom_restart(d, "VMM crash");
		else
			vdom_stopped(d, VDOM_CRASHED, "unknown");
	}
	vdom_op_end(op, 0);
}

/* Every VDOM_POLL_MS until the VMM is gone: after the grace time SIGKILL, and
 * if even that does not end it in the grace time, give up on a destroy. */
static gboolean vdom_exit_poll(gpointer data)
{
	struct vdom *d = data;

	if (vdom_pid_alive(d)) {
		if (g_get_monotonic_time() < d->exit_deadline)
			return G_SOURCE_CONTINUE;
		if (!d->exit_killed) {
			/* A VMM that hung up QMP but keeps running cannot be controlled: stop it. */
			if (!d->destroying) {
				log_error("domain %s: VMM %d closed QMP but did not exit; killing it",
					  vdom_def(d)->name, (int)d->pid);
				d->shutdown_seen = false;
			}
			kill(d->pid, SIGKILL);
			d->exit_killed = true;
			d->exit_deadline = g_get_monotonic_time() + VDOM_EXIT_GRACE_US;
			return G_SOURCE_CONTINUE;
		}
		if (d->destroying) {
			d->exit_watch_id = 0;
			d->destroying = false;
			err_set(ERR_BUSY, "domain '%s': VMM %d does not die", vdom_def(d)->name, (int)d->pid);
			vdom_op_finish(d, -1);
			return G_SOURCE_REMOVE;
		}
		log_error("domain %s: VMM %d survives SIGKILL; counting it as gone", vdom_def(d)->name, (int)d->pid);
	}
	d->exit_watch_id = 0;
	vdom_exited(d);
	return G_SOURCE_REMOVE;
}

static void vdom_watch_exit(struct vdom *d)
{
	if (d->exit_watch_id)
		return;
	d->exit_killed = false;
	d->exit_deadline = g_get_monotonic_time() + VDOM_EXIT_GRACE_US;
	d->exit_watch_id = g_timeout_add(VDOM_POLL_MS, vdom_exit_poll, d);
}

/* The VMM's QMP socket closed: it exits (or was killed). */
static void vdom_on_closed(void *opaque)
{
	vdom_watch_exit(opaque);
}

static void vdom_on_event(void *opaque, const char *event, json_object *data)
{
	struct vdom *d = opaque;
	json_object *v;

	if (!strcmp(event, "SHUTDOWN")) {
		d->shutdown_seen = true;
		d->shutdown_guest = json_object_object_get_ex(data, "guest", &v) && json_object_get_boolean(v);
		g_strlcpy(d->shutdown_reason,
			json_object_object_get_ex(data, "reason", &v) ? json_object_get_string(v) : "",
			sizeof(d->shutdown_reason));
	} else if (!strcmp(event, "STOP") && d->expect_stop) {
		d->expect_stop--;
	} else if (!strcmp(event, "RESUME") && d->expect_resume) {
		d->expect_resume--;
	} else if (!strcmp(event, "STOP") && !d->shutdown_seen && d->state == VDOM_RUNNING) {
		d->state = VDOM_PAUSED;
		d->reason = "user";
		vdom_emit(d, "suspended", "paused");
	} else if (!strcmp(event, "RESUME") && d->state == VDOM_PAUSED) {
		d->state = VDOM_RUNNING;
		d->reason = "unpaused";
		vdom_emit(d, "resumed", "unpaused");
	} else if (!strcmp(event, "RESET")) {
		vdom_emit(d, "rebooted", "reset");
	} else if (!strcmp(event, "POWERDOWN")) {
		vdom_emit(d, "shutdown", "requested");
	}
}

/* ---- actions ---- */

static int vdom_need_active(struct vdom *d)
{
	if (vdom_check_idle(d) < 0)
		return -1;
	if (d->state != VDOM_RUNNING && d->state != VDOM_PAUSED)
		return err_set(ERR_BUSY, "domain '%s' is not running", vdom_def(d)->name);
	if (!d->qmp)
		return err_set(ERR_IO, "domain '%s': no QMP connection to its VMM", vdom_def(d)->name);
	return 0;
}

/* One QMP command for an action; `after` applies its effect once the VMM has
 * said yes. The domain is only touched on success: the VMM's answer came on
 * its live QMP connection, so the domain is still there. */
struct vdom_call {
	struct vdom *d;
	char name[DOM_NAME_MAX + 1];
	void (*after)(struct vdom *d);
	vdom_done_fn done;
	void *opaque;
};

static void vdom_call_answered(void *opaque, json_object *ret)
{
	struct vdom_call *c = opaque;
	int rc = 0;

	if (ret) {
		if (c->after)
			c->after(c->d);
	} else {
		rc = err_prefix("domain '%s'", c->name);
	}
	if (c->done)
		c->done(c->opaque, rc);
	else if (rc < 0)
		log_error("%s", err_message());
	g_free(c);
}

static int vdom_qmp_simple(struct vdom *d, const char *cmd, void (*after)(struct vdom *d),
			   vdom_done_fn done, void *opaque)
{
	struct vdom_call *c;

	if (vdom_need_active(d) < 0)
		return -1;
	c = g_new0(struct vdom_call, 1);
	c->d = d;
	g_strlcpy(c->name, vdom_def(d)->name, sizeof(c->name));
	c->after = after;
	c->done = done;
	c->opaque = opaque;
	if (qmpc_call(d->qmp, cmd, NULL, vdom_call_answered, c) < 0) {
		g_free(c);
		return err_prefix("domain '%s'", vdom_def(d)->name);
	}
	return 0;
}

int vdom_shutdown(struct vdom *d, vdom_done_fn done, void *opaque)
{
	return vdom_qmp_simple(d, "system_powerdown", NULL, done, opaque);
}

int vdom_reboot(struct vdom *d, vdom_done_fn done, void *opaque)
{
	return vdom_qmp_simple(d, "system_reset", NULL, done, opaque);
}

static void vdom_after_stop(struct vdom *d)
{
	if (d->state == VDOM_RUNNING) {
		d->expect_stop++;
		d->state = VDOM_PAUSED;
		d->reason = "user";
		vdom_emit(d, "suspended", "paused");
	}
}

static void vdom_after_cont(struct vdom *d)
{
	if (d->state == VDOM_PAUSED) {
		d->expect_resume++;
		d->state = VDOM_RUNNING;
		d->reason = "unpaused";
		vdom_emit(d, "resumed", "unpaused");
	}
}

int vdom_suspend(struct vdom *d, vdom_done_fn done, void *opaque)
{
	if (d->state == VDOM_PAUSED)
		return err_set(ERR_BUSY, "domain '%s' is already paused", vdom_def(d)->name);
	return vdom_qmp_simple(d, "stop", vdom_after_stop, done, opaque);
}

int vdom_resume(struct vdom *d, vdom_done_fn done, void *opaque)
{
	if (d->state == VDOM_RUNNING)
		return err_set(ERR_BUSY, "domain '%s' is not paused", vdom_def(d)->name);
	return vdom_qmp_simple(d, "cont", vdom_after_cont, done, opaque);
}

struct vdom_later {
	vdom_done_fn done;
	void *opaque;
};

static gboolean vdom_later_done(gpointer data)
{
	struct vdom_later *l = data;

	if (l->done)
		l->done(l->opaque, 0);
	g_free(l);
	return G_SOURCE_REMOVE;
}

/* destroy of a domain whose VMM is still starting (a hung VMM, a slow one):
 * the VMM is killed at once, the start fails saying so, the domain is shut
 * off (destroyed). done runs from the loop, as for any action. */
static int vdom_destroy_starting(struct vdom *d, vdom_done_fn done, void *opaque)
{
	struct vdom_later *l = g_new0(struct vdom_later, 1);
	char name[DOM_NAME_MAX + 1];
	bool transient = !d->def;
	struct vdom_op *op;

	g_strlcpy(name, vdom_def(d)->name, sizeof(name));
	l->done = done;
	l->opaque = opaque;
	if (vdom_pid_alive(d))
		kill(d->pid, SIGKILL);
	vdom_clear_runtime(d);
	d->state = VDOM_SHUTOFF;
	d->reason = "destroyed";
	op = vdom_op_take(d);
	if (transient)
		g_hash_table_remove(d->vd->domains, name);
	err_set(ERR_BUSY, "domain '%s' was destroyed while starting", name);
	vdom_op_end(op, -1);
	g_idle_add(vdom_later_done, l);
	return 0;
}

/* quit over QMP, SIGKILL if the VMM is still there after the grace time; done
 * runs when the VMM is gone (vdom_exited) or refuses to die (vdom_exit_poll). */
int vdom_destroy(struct vdom *d, vdom_done_fn done, void *opaque)
{
	if (d->op && d->op->starting)
		return vdom_destroy_starting(d, done, opaque);
	if (vdom_check_idle(d) < 0)
		return -1;
	if (d->state != VDOM_RUNNING && d->state != VDOM_PAUSED)
		return err_set(ERR_BUSY, "domain '%s' is not running", vdom_def(d)->name);
	d->destroying = true;
	vdom_op_new(d, "being destroyed", done, opaque);
	if (d->qmp && qmpc_call(d->qmp, "quit", NULL, NULL, NULL) < 0)
		err_clear();
	vdom_watch_exit(d);
	return 0;
}

int vdom_set_autostart(struct vdom *d, bool on)
{
	autofree char *path = NULL;

	if (!d->def)
		return err_set(ERR_INVALID, "transient domain '%s' cannot autostart", vdom_def(d)->name);
	path = autostart_path(d->vd, d->def->name);
	if (on) {
		if (store_write_file(path, "", 0, 0600) < 0)
			return -1;
	} else if (unlink(path) < 0 && errno != ENOENT) {
		return err_set_errno(ERR_IO, errno, "cannot remove %s", path);
	}
	d->autostart = on;
	return 0;
}

struct vdom *vdom_define(struct vd *vd, const char *xml, size_t len, bool *created)
{
	struct dom_def *def = dom_parse_xml(xml, len, DOM_PARSE_VALIDATE);
	struct vdom *d, *other;
	autofree char *text = NULL, *path = NULL;
	GHashTableIter it;
	gpointer v;
	char uuid[DOM_UUID_STRLEN + 1];

	if (!def)
		return NULL;
	d = g_hash_table_lookup(vd->domains, def->name);
	if (d && memcmp(vdom_def(d)->uuid, def->uuid, DOM_UUID_LEN)) {
		dom_uuid_format(vdom_def(d)->uuid, uuid);
		err_set(ERR_EXISTS, "domain '%s' already exists with uuid %s", def->name, uuid);
		dom_def_free(def);
		return NULL;
	}
	g_hash_table_iter_init(&it, vd->domains);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		other = v;
		if (other != d && !memcmp(vdom_def(other)->uuid, def->uuid, DOM_UUID_LEN)) {
			dom_uuid_format(def->uuid, uuid);
			err_set(ERR_EXISTS, "domain '%s' already has uuid %s", vdom_def(other)->name, uuid);
			dom_def_free(def);
			return NULL;
		}
	}
	text = dom_format_xml(def, DOM_FORMAT_INACTIVE);
	path = config_path(vd, def->name);
	/* The file first: a failed write leaves the earlier definition in place. */
	if (!text || store_write_file(path, text, strlen(text), 0600) < 0) {
		dom_def_free(def);
		return NULL;
	}
	*created = !d || !d->def;
	if (d) {
		dom_def_free(d->def);
		d->def = def;
	} else {
		d = vdom_new(vd, def);
		g_hash_table_insert(vd->domains, g_strdup(def->name), d);
	}
	vdom_emit(d, "defined", *created ? "added" : "updated");
	return d;
}

int vdom_undefine(struct vdom *d)
{
	struct vd *vd = d->vd;
	autofree char *path = NULL, *apath = NULL;
	char name[DOM_NAME_MAX + 1];

	if (!d->def)
		return err_set(ERR_INVALID, "domain '%s' is not persistent", vdom_def(d)->name);
	g_strlcpy(name, d->def->name, sizeof(name));
	path = config_path(vd, name);
	apath = autostart_path(vd, name);
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set_errno(ERR_IO, errno, "cannot remove %s", path);
	unlink(apath);
	vdom_emit(d, "undefined", "removed");
	if (d->live) {
		/* A running domain becomes transient, as in libvirt. */
		dom_def_free(d->def);
		d->def = NULL;
		d->autostart = false;
	} else {
		g_hash_table_remove(vd->domains, name);
	}
	return 0;
}

json_object *vdom_info_json(struct vdom *d)
{
	const struct dom_def *def = vdom_def(d);
	json_object *o = json_object_new_object();
	char uuid[DOM_UUID_STRLEN + 1];
	uint64_t cpu_ns = 0;

	dom_uuid_format(def->uuid, uuid);
	if (d->live)
		host_proc_cpu_ns(d->pid, &cpu_ns);
	json_object_object_add(o, "name", json_object_new_string(def->name));
	json_object_object_add(o, "uuid", json_object_new_string(uuid));
	json_object_object_add(o, "id", json_object_new_int(d->id));
	json_object_object_add(o, "state", json_object_new_string(vdom_state_name(d->state)));
	json_object_object_add(o, "state_code", json_object_new_int(d->state));
	json_object_object_add(o, "reason", json_object_new_string(d->reason));
	json_object_object_add(o, "os_type", json_object_new_string("hvm"));
	json_object_object_add(o, "max_memory_kib", json_object_new_uint64(def->memory_kib));
	json_object_object_add(o, "memory_kib", json_object_new_uint64(def->current_memory_kib));
	json_object_object_add(o, "vcpus", json_object_new_int((int)def->vcpus_current));
	json_object_object_add(o, "max_vcpus", json_object_new_int((int)def->vcpus_max));
	json_object_object_add(o, "cpu_time_ns", json_object_new_uint64(cpu_ns));
	json_object_object_add(o, "persistent", json_object_new_boolean(d->def != NULL));
	json_object_object_add(o, "autostart", json_object_new_boolean(d->autostart));
	if (d->live)
		json_object_object_add(o, "pid", json_object_new_int(d->pid));
	return o;
}

static long long proc_status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			sscanf(line + kl + 1, "%lld", &v);
			break;
		}
	fclose(f);
	return v;
}

/* domstats being gathered: the parts from the VMM come in through QMP. */
struct vdom_stats_req {
	json_object *stats, *vcpu, *block;
	int pending;
	vdom_stats_fn cb;
	void *opaque;
};

static void vdom_stats_part_done(struct vdom_stats_req *r)
{
	if (--r->pending > 0)
		return;
	r->cb(r->opaque, r->stats);
	g_free(r);
}

/* Per-disk counters from the VMM's query-blockstats, named as libvirt's
 * domstats block.N.* fields (the device is the disk's target, e.g. vda). */
static void vdom_block_stats_answered(void *opaque, json_object *ret)
{
	static const struct { const char *ours, *qmp; } fields[] = {
		{ "rd_reqs", "rd_operations" }, { "rd_bytes", "rd_bytes" }, { "rd_times_ns", "rd_total_time_ns" },
		{ "wr_reqs", "wr_operations" }, { "wr_bytes", "wr_bytes" }, { "wr_times_ns", "wr_total_time_ns" },
		{ "fl_reqs", "flush_operations" }, { "fl_times_ns", "flush_total_time_ns" },
	};
	struct vdom_stats_req *r = opaque;

	for (size_t i = 0; ret && json_object_is_type(ret, json_type_array) && i < json_object_array_length(ret); i++) {
		json_object *e = json_object_array_get_idx(ret, i), *dev, *st, *v, *out;

		if (!json_object_object_get_ex(e, "device", &dev) || !json_object_object_get_ex(e, "stats", &st))
			continue;
		out = json_object_new_object();
		json_object_object_add(out, "name", json_object_get(dev));
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
			if (json_object_object_get_ex(st, fields[f].qmp, &v))
				json_object_object_add(out, fields[f].ours, json_object_new_int64(json_object_get_int64(v)));
		json_object_array_add(r->block, out);
	}
	vdom_stats_part_done(r);
}

static void vdom_cpus_answered(void *opaque, json_object *ret)
{
	struct vdom_stats_req *r = opaque;

	if (ret && json_object_is_type(ret, json_type_array))
		json_object_object_add(r->vcpu, "online", json_object_new_int((int)json_object_array_length(ret)));
	vdom_stats_part_done(r);
}

/* Per-interface counters of a running domain's taps, read from the host's
 * /sys/class/net and turned round to the guest's point of view (what the tap
 * sends, the guest receives), as libvirt's net.N.* fields. */
static json_object *vdom_net_stats(struct vdom *d)
{
	static const struct { const char *ours, *host; } fields[] = {
		{ "rx_bytes", "tx_bytes" }, { "rx_pkts", "tx_packets" }, { "rx_errs", "tx_errors" },
		{ "rx_drop", "tx_dropped" }, { "tx_bytes", "rx_bytes" }, { "tx_pkts", "rx_packets" },
		{ "tx_errs", "rx_errors" }, { "tx_drop", "rx_dropped" },
	};
	const struct dom_def *def = vdom_def(d);
	json_object *list = json_object_new_array();

	for (size_t i = 0; d->live && i < def->nnets; i++) {
		const char *tap = def->nets[i].target_dev;
		json_object *out;

		if (!tap || strchr(tap, '/') || tap[0] == '.')
			continue;
		out = json_object_new_object();
		json_object_object_add(out, "name", json_object_new_string(tap));
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			autofree char *path = g_strdup_printf("/sys/class/net/%s/statistics/%s", tap, fields[f].host);
			autofree char *text = NULL;

			if (g_file_get_contents(path, &text, NULL, NULL))
				json_object_object_add(out, fields[f].ours,
						       json_object_new_int64(g_ascii_strtoll(text, NULL, 10)));
		}
		json_object_array_add(list, out);
	}
	return list;
}

void vdom_stats(struct vdom *d, vdom_stats_fn cb, void *opaque)
{
	const struct dom_def *def = vdom_def(d);
	struct vdom_stats_req *r = g_new0(struct vdom_stats_req, 1);
	json_object *o = json_object_new_object(), *cpu = json_object_new_object();
	json_object *mem = json_object_new_object();
	uint64_t cpu_ns = 0;

	r->stats = o;
	r->vcpu = json_object_new_object();
	r->block = json_object_new_array();
	r->cb = cb;
	r->opaque = opaque;
	json_object_object_add(o, "name", json_object_new_string(def->name));
	json_object_object_add(o, "state", json_object_new_string(vdom_state_name(d->state)));
	json_object_object_add(o, "state_code", json_object_new_int(d->state));
	if (d->live)
		host_proc_cpu_ns(d->pid, &cpu_ns);
	json_object_object_add(cpu, "time_ns", json_object_new_uint64(cpu_ns));
	json_object_object_add(o, "cpu", cpu);
	json_object_object_add(mem, "max_kib", json_object_new_uint64(def->memory_kib));
	json_object_object_add(mem, "current_kib", json_object_new_uint64(def->current_memory_kib));
	json_object_object_add(mem, "rss_kib", json_object_new_int64(d->live ? proc_status_kib(d->pid, "VmRSS") : 0));
	json_object_object_add(o, "memory", mem);
	json_object_object_add(r->vcpu, "current", json_object_new_int((int)def->vcpus_current));
	json_object_object_add(r->vcpu, "maximum", json_object_new_int((int)def->vcpus_max));
	json_object_object_add(o, "vcpu", r->vcpu);
	json_object_object_add(o, "block", r->block);
	json_object_object_add(o, "net", vdom_net_stats(d));
	/* One share for this function, so cb cannot run before both calls are out. */
	r->pending = 1;
	if (d->qmp && !d->op) {
		r->pending++;
		if (qmpc_call(d->qmp, "query-cpus-fast", NULL, vdom_cpus_answered, r) < 0)
			r->pending--;
		r->pending++;
		if (qmpc_call(d->qmp, "query-blockstats", NULL, vdom_block_stats_answered, r) < 0)
			r->pending--;
		err_clear();
	}
	vdom_stats_part_done(r);
}

/* ---- start-up: configs, re-adoption, autostart ---- */

static void vd_load_configs(struct vd *vd)
{
	DIR *dir = opendir(vd->paths.domains_dir);
	struct dirent *e;

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		size_t n = strlen(e->d_name);
		autofree char *path = NULL, *apath = NULL;
		struct dom_def *def;

		if (n < 5 || strcmp(e->d_name + n - 4, ".xml"))
			continue;
		path = g_strdup_printf("%s/%s", vd->paths.domains_dir, e->d_name);
		def = dom_parse_file(path, DOM_PARSE_VALIDATE);
		if (!def || strncmp(def->name, e->d_name, n - 4) || strlen(def->name) != n - 4 ||
		    g_hash_table_contains(vd->domains, def->name)) {
			log_error("config %s: %s; moved aside", path,
				def ? "name does not match the file or is a duplicate" : err_message());
			dom_def_free(def);
			store_quarantine(path);
			continue;
		}
		struct vdom *d = vdom_new(vd, def);
		apath = autostart_path(vd, def->name);
		d->autostart = access(apath, F_OK) == 0;
		g_hash_table_insert(vd->domains, g_strdup(def->name), d);
	}
	closedir(dir);
}

static const char *json_str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static void vd_adopt_status_answered(void *opaque, json_object *ret)
{
	struct vdom *d = opaque;
	const char *s = ret ? json_str(ret, "status") : NULL;

	if (s && (!strcmp(s, "paused") || !strcmp(s, "prelaunch"))) {
		d->state = VDOM_PAUSED;
		d->reason = "user";
	}
	if (ret)
		log_info("domain %s: re-adopted VMM %d (%s)", vdom_def(d)->name, (int)d->pid,
			 vdom_state_name(d->state));
}

static void vd_adopt_qmp_ready(void *opaque, struct qmpc *q, bool ok)
{
	struct vdom *d = opaque;

	if (!ok) {
		log_error("domain %s: VMM %d runs but its QMP does not answer: %s", vdom_def(d)->name,
			  (int)d->pid, err_message());
		err_clear();
		qmpc_free(q);
		d->qmp = NULL;
		d->reason = "unknown";
		/* Gone meanwhile: find out how, as when QMP closes. */
		if (!vdom_pid_alive(d))
			vdom_watch_exit(d);
		return;
	}
	qmpc_set_handlers(q, vdom_on_event, vdom_on_closed, d);
	cons_attach(d);
	/* Answered on this connection, so d is alive when the callback runs with a value. */
	if (qmpc_call(q, "query-status", NULL, vd_adopt_status_answered, d) < 0)
		err_clear();
}

static void vd_adopt(struct vd *vd, const char *status_path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	json_object *o = NULL, *v;
	struct dom_def *live = NULL;
	struct vdom *d;
	const char *xml, *name;
	pid_t pid;
	unsigned long long start;

	if (read_file_all(status_path, 4 << 20, &buf, &len) < 0 ||
	    !(o = store_parse_json((char *)buf, len)) || !(xml = json_str(o, "xml")) ||
	    !(name = json_str(o, "name")) ||
	    !(live = dom_parse_xml(xml, strlen(xml), DOM_PARSE_STATUS)) || strcmp(live->name, name)) {
		log_error("status file %s unreadable (%s); moved aside", status_path, err_message());
		store_quarantine(status_path);
		goto out;
	}
	pid = json_object_object_get_ex(o, "pid", &v) ? (pid_t)json_object_get_int64(v) : 0;
	start = json_object_object_get_ex(o, "start_time", &v) ? json_object_get_uint64(v) : 0;
	d = g_hash_table_lookup(vd->domains, name);
	if (!d) {
		/* Transient: its only definition is the live one. */
		d = vdom_new(vd, live);
		d->def = NULL;
		g_hash_table_insert(vd->domains, g_strdup(name), d);
	}
	d->live = live;
	live = NULL;
	d->pid = pid;
	d->start_time = start;
	d->id = json_object_object_get_ex(o, "id", &v) ? json_object_get_int(v) : -1;
	d->live->id = d->id;
	if (d->id >= vd->next_id)
		vd->next_id = d->id + 1;
	if (!vdom_pid_alive(d)) {
		/* It ended while vireod was away. vireo-vmm removes its pidfile on a clean
		 * exit, so a pidfile left behind means it died. */
		bool crashed = access(d->pid_path, F_OK) == 0;
		const struct dom_def *def = vdom_def(d);
		log_warn("domain %s: VMM %d ended while vireod was down (%s)", name, (int)pid,
			crashed ? "crashed" : "shut down");
		if (crashed && action_restarts(def->on_crash))
			vdom_restart(d, "VMM crash while vireod was down");
		else
			vdom_stopped(d, crashed ? VDOM_CRASHED : VDOM_SHUTOFF, crashed ? "unknown" : "shutdown");
		goto out;
	}
	/* Running until its QMP says paused; actions asked meanwhile wait in qmpc. */
	d->state = VDOM_RUNNING;
	d->reason = "booted";
	d->qmp = qmpc_open(d->qmp_path, 3000, vd_adopt_qmp_ready, d);
	if (!d->qmp) {
		log_error("domain %s: VMM %d runs but its QMP is unreachable: %s", name, (int)pid, err_message());
		d->reason = "unknown";
	}
out:
	dom_def_free(live);
	json_object_put(o);
	free(buf);
	err_clear();
}

int vd_load(struct vd *vd)
{
	DIR *dir;
	struct dirent *e;
	GHashTableIter it;
	gpointer v;
	GPtrArray *autos = g_ptr_array_new_with_free_func(g_free);

	vd->domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, vdom_free);
	vd->next_id = 1;
	vd_load_configs(vd);
	dir = opendir(vd->paths.run_domains_dir);
	if (dir) {
		while ((e = readdir(dir))) {
			size_t n = strlen(e->d_name);
			if (n > 7 && !strcmp(e->d_name + n - 7, ".status")) {
				autofree char *p = g_strdup_printf("%s/%s", vd->paths.run_domains_dir, e->d_name);
				vd_adopt(vd, p);
			}
		}
		closedir(dir);
	}
	g_hash_table_iter_init(&it, vd->domains);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct vdom *d = v;
		if (d->autostart && d->def && d->state == VDOM_SHUTOFF)
			g_ptr_array_add(autos, g_strdup(d->def->name));
	}
	for (guint i = 0; i < autos->len; i++) {
		struct vdom *d = g_hash_table_lookup(vd->domains, autos->pdata[i]);
		if (d && vdom_start(d, NULL, NULL) < 0)
			log_error("autostart of %s failed: %s", (char *)autos->pdata[i], err_message());
	}
	g_ptr_array_free(autos, TRUE);
	return 0;
}

void vd_free(struct vd *vd)
{
	if (vd->domains)
		g_hash_table_destroy(vd->domains);
	g_free(vd->paths.root);
	g_free(vd->paths.state_dir);
	g_free(vd->paths.domains_dir);
	g_free(vd->paths.autostart_dir);
	g_free(vd->paths.run_dir);
	g_free(vd->paths.run_domains_dir);
	g_free(vd->paths.log_dir);
	g_free(vd->paths.sock_rw);
	g_free(vd->paths.sock_ro);
	g_free(vd->vmm_path);
}
