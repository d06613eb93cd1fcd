/* QMP commands and events of vireo-vmm: the VM's side of the control socket.
 * Names, arguments and replies follow QEMU's QMP schema so that a client
 * written for QEMU drives vireo-vmm unchanged. */
#include "vmm/main/machine.h"
#include "vmm/main/machine_priv.h"
#include "vmm/main/options.h"
#include "vmm/devices/virtio/blk.h"
#include "vmm/devices/virtio/virtio.h"
#include "vmm/qmp/qmp.h"
#include "common/error.h"
#include "common/log.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* QEMU version reported in the greeting: the QMP dialect vireo follows. */
#define QMP_QEMU_MAJOR 7
#define QMP_QEMU_MINOR 2
#define QMP_QEMU_MICRO 0

static const char *const no_args[] = { NULL };

static const char *run_state_name(struct vm *vm)
{
	switch (vm->state) {
	case VM_STATE_RUNNING: return "running";
	case VM_STATE_PAUSED: return "paused";
	case VM_STATE_SHUTDOWN: return "shutdown";
	}
	return "running";
}

static int cmd_query_status(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct vm *vm = opaque;
	struct json_object *o;

	if (qmp_args_check(args, no_args) < 0)
		return -1;
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(run_state_name(vm)));
	json_object_object_add(o, "singlestep", json_object_new_boolean(0));
	json_object_object_add(o, "running", json_object_new_boolean(vm->state == VM_STATE_RUNNING));
	*ret = o;
	return 0;
}

static int cmd_stop(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct vm *vm = opaque;

	(void)ret;
	if (qmp_args_check(args, no_args) < 0)
		return -1;
	if (vm->state != VM_STATE_RUNNING)
		return 0;
	vm_pause_all(vm);
	vm->state = VM_STATE_PAUSED;
	qmp_emit_event(vm->machine->qmp, "STOP", NULL);
	return 0;
}

static int cmd_cont(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct vm *vm = opaque;

	(void)ret;
	if (qmp_args_check(args, no_args) < 0)
		return -1;
	if (vm->state != VM_STATE_PAUSED)
		return 0;
	vm->state = VM_STATE_RUNNING;
	vm_resume_all(vm);
	qmp_emit_event(vm->machine->qmp, "RESUME", NULL);
	return 0;
}

static int cmd_system_powerdown(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct vm *vm = opaque;

	(void)ret;
	if (qmp_args_check(args, no_args) < 0)
		return -1;
	if (machine_powerdown(vm) < 0)
		return -1;
	qmp_emit_event(vm->machine->qmp, "POWERDOWN", NULL);
	return 0;
}

static int cmd_system_reset(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct vm *vm = opaque;

	(void)ret;
	if (qmp_args_check(args, no_args) < 0)
		return -1;
	control_event_reset(vm, false, "host-qmp-system-reset");
	return machine_reset(vm);
}

static int cmd_quit(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct vm *vm = opaque;

	(void)ret;
	if (qmp_args_check(args, no_args) < 0)
		return -1;
	pthread_mutex_lock(&vm->lock);
	vm->quit_pending = true;
	vm->quit_reason = "host-qmp-quit";
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static int cmd_query_cpus_fast(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct vm *vm = opaque;
	struct json_object *list;

	if (qmp_args_check(args, no_args) < 0)
		return -1;
	list = json_object_new_array();
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct json_object *cpu = json_object_new_object(), *props = json_object_new_object();
		char path[64];

		snprintf(path, sizeof(path), "/machine/unattached/device[%u]", i);
		json_object_object_add(props, "core-id", json_object_new_int((int)i));
		json_object_object_add(props, "thread-id", json_object_new_int(0));
		json_object_object_add(props, "socket-id", json_object_new_int(0));
		json_object_object_add(cpu, "cpu-index", json_object_new_int((int)i));
		json_object_object_add(cpu, "qom-path", json_object_new_string(path));
		json_object_object_add(cpu, "thread-id", json_object_new_int(vm->vcpus[i].tid));
		json_object_object_add(cpu, "props", props);
		json_object_object_add(cpu, "target", json_object_new_string("x86_64"));
		json_object_array_add(list, cpu);
	}
	*ret = list;
	return 0;
}

static int cmd_query_name(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct vm *vm = opaque;
	struct json_object *o;

	if (qmp_args_check(args, no_args) < 0)
		return -1;
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(vm->cfg.name));
	*ret = o;
	return 0;
}

static int cmd_query_pci(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct vm *vm = opaque;
	struct pci_device *devs[VM_MAX_PCI_DEVICES];
	unsigned n;

	if (qmp_args_check(args, no_args) < 0)
		return -1;
	n = machine_pci_devices(vm, devs, VM_MAX_PCI_DEVICES);
	*ret = virtio_pci_query_pci(vm->machine->pci, devs, n);
	return *ret ? 0 : -1;
}

static int cmd_query_block(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct vm *vm = opaque;

	if (qmp_args_check(args, no_args) < 0)
		return -1;
	*ret = vblk_query_block(vm->machine->disks, vm->machine->ndisks);
	return *ret ? 0 : -1;
}

static int cmd_query_blockstats(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct vm *vm = opaque;

	if (qmp_args_check(args, no_args) < 0)
		return -1;
	*ret = vblk_query_blockstats(vm->machine->disks, vm->machine->ndisks);
	return *ret ? 0 : -1;
}

/* The virtio functions as QEMU names them: each device's backend under its
 * (anonymous) peripheral path, in the order the machine created them. */
static unsigned virtio_devices(struct vm *vm, struct virtio_pci **vps, char (*paths)[64], unsigned max)
{
	struct pci_device *devs[VM_MAX_PCI_DEVICES];
	unsigned n = machine_pci_devices(vm, devs, VM_MAX_PCI_DEVICES), k = 0;

	for (unsigned i = 0; i < n && k < max; i++) {
		struct virtio_pci *vp = virtio_pci_from_device(devs[i]);

		if (!vp)
			continue;
		vps[k] = vp;
		snprintf(paths[k], sizeof(paths[k]), "/machine/peripheral-anon/device[%u]/virtio-backend", i);
		k++;
	}
	return k;
}

static int cmd_x_query_virtio(void *opaque, struct json_object *args, struct json_object **ret)
{
	struct virtio_pci *vps[VM_MAX_PCI_DEVICES];
	char paths[VM_MAX_PCI_DEVICES][64];
	unsigned n;

	if (qmp_args_check(args, no_args) < 0)
		return -1;
	n = virtio_devices(opaque, vps, paths, VM_MAX_PCI_DEVICES);
	*ret = json_object_new_array();
	for (unsigned i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "path", json_object_new_string(paths[i]));
		json_object_object_add(o, "name", json_object_new_string(virtio_pci_name(vps[i])));
		json_object_array_add(*ret, o);
	}
	return 0;
}

static int cmd_x_query_virtio_queue_status(void *opaque, struct json_object *args, struct json_object **ret)
{
	static const char *const allowed[] = { "path", "queue", NULL };
	struct virtio_pci *vps[VM_MAX_PCI_DEVICES];
	char paths[VM_MAX_PCI_DEVICES][64];
	unsigned long long queue;
	const char *path;
	unsigned n;

	if (qmp_args_check(args, allowed) < 0 || qmp_arg_string(args, "path", 1, &path) < 0 ||
	    qmp_arg_uint(args, "queue", 1, &queue) < 0)
		return -1;
	if (queue > UINT16_MAX)
		return err_set(ERR_INVALID, "Parameter 'queue' expects uint16");
	n = virtio_devices(opaque, vps, paths, VM_MAX_PCI_DEVICES);
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(paths[i], path))
			continue;
		*ret = virtio_pci_query_queue(vps[i], (unsigned)queue);
		return *ret ? 0 : -1;
	}
	return err_set(ERR_INVALID, "Path %s is not a VirtIODevice", path);
}

/* block_set_io_throttle: QEMU's arguments (device or id, the six averages,
 * optional bursts, burst lengths, iops_size and group); the new limits replace
 * the old ones at once. */
static int cmd_block_set_io_throttle(void *opaque, struct json_object *args, struct json_object **ret)
{
	static const char *const required[] = { "bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr" };
	struct vm *vm = opaque;
	struct machine *m = vm->machine;
	struct throttle_config cfg;
	const char *dev = NULL, *group = NULL;
	struct vblk *b = NULL;

	(void)ret;
	throttle_config_init(&cfg);
	if (qmp_arg_string(args, "device", 0, &dev) < 0 || (!dev && qmp_arg_string(args, "id", 0, &dev) < 0))
		return -1;
	if (!dev)
		return err_set(ERR_INVALID, "Parameter 'device' or 'id' is missing");
	for (unsigned i = 0; i < m->ndisks; i++)
		if (!strcmp(vblk_id(m->disks[i]), dev))
			b = m->disks[i];
	if (!b) {
		qmp_set_error_class("DeviceNotFound");
		return err_set(ERR_NOT_FOUND, "Device '%s' not found", dev);
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!json_object_object_get_ex(args, required[i], NULL))
			return err_set(ERR_INVALID, "Parameter '%s' is missing", required[i]);
	json_object_object_foreach(args, key, val) {
		char num[32];

		if (!strcmp(key, "device") || !strcmp(key, "id"))
			continue;
		if (!strcmp(key, "group"))
			continue;
		if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0)
			return err_set(ERR_INVALID, "Parameter '%s' expects a non-negative integer", key);
		snprintf(num, sizeof(num), "%lld", (long long)json_object_get_int64(val));
		if (throttle_config_set(&cfg, key, num) < 0)
			return -1;
	}
	if (qmp_arg_string(args, "group", 0, &group) < 0)
		return -1;
	/* QEMU: the disk moves to the named group, which then takes these limits. */
	return group ? vblk_set_throttle_group(b, group, &cfg) : vblk_set_throttle(b, &cfg);
}

int control_init(struct vm *vm)
{
	static const struct { const char *name; qmp_command_fn fn; } cmds[] = {
		{ "query-status", cmd_query_status },
		{ "stop", cmd_stop },
		{ "cont", cmd_cont },
		{ "system_powerdown", cmd_system_powerdown },
		{ "system_reset", cmd_system_reset },
		{ "quit", cmd_quit },
		{ "query-cpus-fast", cmd_query_cpus_fast },
		{ "query-name", cmd_query_name },
		{ "query-pci", cmd_query_pci },
		{ "query-block", cmd_query_block },
		{ "query-blockstats", cmd_query_blockstats },
		{ "block_set_io_throttle", cmd_block_set_io_throttle },
		{ "x-query-virtio", cmd_x_query_virtio },
		{ "x-query-virtio-queue-status", cmd_x_query_virtio_queue_status },
	};
	struct machine *m = vm->machine;

	if (!vm->cfg.qmp_path)
		return 0;
	m->qmp = qmp_server_new(vm->loop, vm->cfg.qmp_path, QMP_QEMU_MAJOR, QMP_QEMU_MINOR, QMP_QEMU_MICRO);
	if (!m->qmp)
		return err_prefix("--qmp");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (qmp_register_command(m->qmp, cmds[i].name, cmds[i].fn, vm) < 0)
			return -1;
	return 0;
}

static struct json_object *lifecycle_data(bool guest, const char *reason)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "guest", json_object_new_boolean(guest));
	json_object_object_add(d, "reason", json_object_new_string(reason));
	return d;
}

void control_event_shutdown(struct vm *vm, bool guest, const char *reason)
{
	log_info("shutdown (%s)", reason);
	if (vm->machine->qmp)
		qmp_emit_event(vm->machine->qmp, "SHUTDOWN", lifecycle_data(guest, reason));
}

void control_event_reset(struct vm *vm, bool guest, const char *reason)
{
	log_info("reset (%s)", reason);
	if (vm->machine->qmp)
		qmp_emit_event(vm->machine->qmp, "RESET", lifecycle_data(guest, reason));
}

/* Let queued events and replies reach clients before the process exits. */
void control_flush(struct vm *vm)
{
	for (int i = 0; vm->machine->qmp && i < 5; i++)
		evloop_run_once(vm->loop, 10);
}

void control_destroy(struct vm *vm)
{
	if (vm->machine->qmp)
		qmp_server_free(vm->machine->qmp);
	vm->machine->qmp = NULL;
}
