/* The machine around the KVM VM (see machine.h): memory, vCPUs, boot images,
 * run control (pause, reset, power-off) and the main loop. Platform devices
 * are created in devices.c, QMP commands live in control.c. */
#include "vmm/main/machine.h"
#include "vmm/main/machine_priv.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/linux.h"
#include "vmm/boot/kcache.h"
#include "vmm/boot/pvh.h"
#include "vmm/boot/unpack.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Start-up phases at debug level, in ms since main(): where boot time goes. */
static void machine_trace(struct vm *vm, const char *what)
{
	if (log_get_level() >= LOG_DEBUG)
		log_debug("%.3f ms: %s", (double)(clock_ns() - vm->boot_entry_ns) / 1e6, what);
}

static void machine_request(void *ctx, enum vm_request req)
{
	vm_post_request(ctx, req);
}

void vm_post_request(struct vm *vm, enum vm_request req)
{
	pthread_mutex_lock(&vm->lock);
	if (req == VM_REQUEST_POWEROFF)
		vm->poweroff_pending = true;
	else
		vm->reset_pending = true;
	/* No further guest instruction runs before the main loop acts: after a
	 * triple fault KVM has already put the vCPU at the reset vector, where
	 * there is no firmware to run. Park every vCPU now. */
	vm->pause_requested = true;
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_unlock(&vm->lock);
	evloop_wake(vm->loop);
}

void vm_guest_crashed(struct vm *vm, const char *why)
{
	pthread_mutex_lock(&vm->lock);
	vm->exit_status = VM_EXIT_GUEST_CRASH;
	vm->poweroff_pending = true;
	vm->crash_reason = why;
	pthread_mutex_unlock(&vm->lock);
	evloop_wake(vm->loop);
}

void vm_pause_all(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = true;
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	while (vm->parked_count < vm->live_vcpus)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

void vm_resume_all(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_requested = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

/* Load the kernel (or payload) and set the boot vCPU's registers. Guest RAM
 * must be zero, as after power-on. */
static int machine_load_boot(struct vm *vm)
{
	struct machine *m = vm->machine;
	struct linux_boot boot;

	if (boot_setup_long_mode(&vm->mem) < 0)
		return -1;
	if (m->acpi_len && gm_write(&vm->mem, BOOT_ACPI_GPA, m->acpi_tables, m->acpi_len) < 0)
		return err_prefix("writing ACPI tables");
	if (vm->cfg.payload) {
		uint64_t at = vm->cfg.payload_long_mode ? BOOT_KERNEL_GPA : BOOT_PAYLOAD_REAL_GPA;

		if (boot_source_to_guest(&vm->mem, at, &m->image, 0, m->image.size) < 0)
			return err_prefix("--payload");
		return vcpu_setup_boot(&vm->vcpus[0], at, 0, vm->cfg.payload_long_mode);
	}
	if (m->pvh) {
		struct pvh_boot pb;
		int rc;

		if (m->pvh_unpack && !m->vmlinux_buf) {
			uint64_t size;

			if (unpack_bzimage(&m->image, &m->vmlinux_buf, &size) < 0)
				return err_prefix("kernel '%s'", vm->cfg.kernel);
			m->vmlinux = (struct boot_source){ .data = m->vmlinux_buf, .fd = -1, .size = size,
							   .name = vm->cfg.kernel };
		}
		rc = pvh_load(&vm->mem, m->pvh_elf ? &m->image : &m->vmlinux, &m->pvh_info,
			      m->has_initrd ? &m->initrd : NULL, vm->cfg.cmdline, m->acpi_len ? m->rsdp_gpa : 0, &pb);
		if (m->pvh_unpack) {
			/* 50 MiB the VMM would otherwise keep for a reset that may never come. */
			free(m->vmlinux_buf);
			m->vmlinux_buf = NULL;
			m->vmlinux.data = NULL;
		}
		if (rc < 0)
			return err_prefix("kernel '%s'", vm->cfg.kernel);
		return vcpu_setup_boot_pvh(&vm->vcpus[0], pb.entry, pb.start_info);
	}
	if (linux_load(&vm->mem, &m->image, m->has_initrd ? &m->initrd : NULL, vm->cfg.cmdline,
		       m->acpi_len ? m->rsdp_gpa : 0, &boot) < 0)
		return err_prefix("kernel '%s'", vm->cfg.kernel);
	return vcpu_setup_boot(&vm->vcpus[0], boot.entry, boot.zero_page, true);
}

/* Prepare the PVH entry of a bzImage: its vmlinux from the kernel cache, or
 * unpacked into memory when there is no usable cache. */
static int machine_prepare_pvh(struct vm *vm)
{
	struct machine *m = vm->machine;
	char dir_buf[PATH_MAX];
	const char *dir = vm->cfg.kernel_cache;
	bool hit = false;

	if (!dir)
		dir = kcache_default_dir(dir_buf, sizeof(dir_buf));
	else if (!strcmp(dir, "none"))
		dir = NULL;
	m->vmlinux.fd = -1;
	if (dir && kcache_open(dir, &m->image, m->kernel_cache_path, sizeof(m->kernel_cache_path), &m->vmlinux,
			       &hit) < 0) {
		log_warn("%s; unpacking the kernel without the cache", err_message());
		m->vmlinux.fd = -1;
	}
	machine_trace(vm, m->vmlinux.fd >= 0 ? (hit ? "kernel cache hit" : "kernel cache entry written")
					     : "no kernel cache");
	if (m->vmlinux.fd < 0) {
		uint64_t size;

		if (unpack_bzimage(&m->image, &m->vmlinux_buf, &size) < 0)
			return -1;
		m->vmlinux = (struct boot_source){ .data = m->vmlinux_buf, .fd = -1, .size = size,
						   .name = vm->cfg.kernel };
		m->pvh_unpack = true;
		machine_trace(vm, "kernel unpacked");
	}
	if (pvh_check_source(&m->vmlinux, &m->pvh_info) < 0)
		return -1;
	m->pvh = true;
	return 0;
}

/* Whether to unpack a (checked) bzImage and enter it through PVH. In auto
 * mode not for an LZ4 payload: the guest decompresses LZ4 almost as fast as
 * vireo-vmm hashes and copies the 4 times larger unpacked image (lab, cloud
 * kernel, cached: from 0.13 s slower to 0.43 s faster than the 64-bit entry
 * from run to run), too little to give up the decompressor's KASLR. XZ
 * (Debian's regular kernels), gzip and zstd take the guest seconds (XZ,
 * cached: 3.7 s to userspace instead of 6.4 s). */
static bool machine_want_pvh(struct vm *vm, const uint8_t *header, const struct linux_image_info *info)
{
	uint8_t magic[8];
	uint64_t off, len;
	const char *fmt;

	if (vm->cfg.kernel_entry != VM_KERNEL_ENTRY_AUTO)
		return vm->cfg.kernel_entry == VM_KERNEL_ENTRY_PVH;
	if (unpack_locate(header, info, vm->machine->image.size, &off, &len) < 0 ||
	    boot_source_read(&vm->machine->image, off, magic, sizeof(magic)) < 0) {
		log_debug("kernel '%s': %s; booting through the 64-bit entry", vm->cfg.kernel, err_message());
		err_clear();
		return false;
	}
	fmt = unpack_format(magic, sizeof(magic));
	if (!fmt || !strcmp(fmt, "lz4")) {
		log_debug("kernel '%s': %s payload, booting through the 64-bit entry", vm->cfg.kernel,
			  fmt ? fmt : "unknown");
		return false;
	}
	return true;
}

/* Drop what machine_prepare_pvh set up (the kernel then boots the 64-bit way). */
static void machine_drop_pvh(struct machine *m)
{
	boot_source_close(&m->vmlinux);
	free(m->vmlinux_buf);
	m->vmlinux_buf = NULL;
	m->pvh = m->pvh_elf = m->pvh_unpack = false;
	m->vmlinux = (struct boot_source){ .fd = -1 };
}

/* Open the boot images and check what can be checked before guest memory
 * exists; their bytes go straight into guest memory later. */
static int machine_open_images(struct vm *vm)
{
	struct machine *m = vm->machine;
	uint8_t header[LINUX_HEADER_BYTES];
	struct linux_image_info info;

	if (vm->cfg.payload) {
		if (boot_source_open(&m->image, vm->cfg.payload, "--payload") < 0)
			return -1;
		if (m->image.size == 0 || m->image.size > (vm->cfg.payload_long_mode ? 8u << 20 : 0x70000u))
			return err_set(ERR_INVALID, "--payload '%s' is empty or too large (%llu bytes)", vm->cfg.payload,
				       (unsigned long long)m->image.size);
		return 0;
	}
	if (boot_source_open(&m->image, vm->cfg.kernel, "--kernel") < 0)
		return -1;
	if (m->image.size >= 4 && boot_source_read(&m->image, 0, header, 4) == 0 && pvh_is_elf(header, 4)) {
		/* An uncompressed vmlinux: only the PVH entry can boot it. */
		if (vm->cfg.kernel_entry == VM_KERNEL_ENTRY_LINUX64)
			return err_set(ERR_INVALID, "--kernel '%s' is an ELF vmlinux: it boots through the PVH entry, "
				       "not --kernel-entry linux64", vm->cfg.kernel);
		if (pvh_check_source(&m->image, &m->pvh_info) < 0)
			return err_prefix("--kernel '%s'", vm->cfg.kernel);
		m->pvh = m->pvh_elf = true;
	} else if (linux_check_source(&m->image, header, &info) < 0) {
		return err_prefix("--kernel '%s'", vm->cfg.kernel);
	} else if (machine_want_pvh(vm, header, &info) && machine_prepare_pvh(vm) < 0) {
		if (vm->cfg.kernel_entry == VM_KERNEL_ENTRY_PVH)
			return err_prefix("--kernel '%s' cannot boot through the PVH entry", vm->cfg.kernel);
		log_debug("kernel '%s': booting through the 64-bit entry: %s", vm->cfg.kernel, err_message());
		machine_drop_pvh(m);
	}
	if (!vm->cfg.initrd)
		return 0;
	if (boot_source_open(&m->initrd, vm->cfg.initrd, "--initrd") < 0)
		return -1;
	m->has_initrd = true;
	if (m->initrd.size > MIN(vm->cfg.memory, GM_HOLE_START))
		return err_set(ERR_INVALID, "--initrd '%s' (%llu MiB) is larger than the guest's memory below 4 GiB "
			       "(%llu MiB)", vm->cfg.initrd, (unsigned long long)(m->initrd.size >> 20),
			       (unsigned long long)(MIN(vm->cfg.memory, GM_HOLE_START) >> 20));
	return 0;
}

int machine_create(struct vm *vm)
{
	struct machine *m = calloc(1, sizeof(*m));

	if (!m)
		return err_set(ERR_NOMEM, "out of memory");
	vm->machine = m;
	m->signal_fd = -1;
	m->markers_fd = -1;
	m->image.fd = m->initrd.fd = m->vmlinux.fd = -1;
	for (unsigned i = 0; i < VM_MAX_CPUS; i++)
		vm->vcpus[i].fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	vm->ncpus = vm->cfg.cpus;
	vm->irqchip = vm->cfg.kernel != NULL; /* payloads poll; HLT must exit to us */
	vm->request_sink = (struct vm_request_sink){ machine_request, vm };
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->loop = evloop_new();
	if (!vm->loop)
		return -1;
	if (machine_open_images(vm) < 0)
		return -1;
	machine_trace(vm, "images opened");
	if (gm_init(&vm->mem, vm->cfg.memory) < 0 || kvm_open(vm) < 0)
		return -1;
	machine_trace(vm, "/dev/kvm open");
	if (kvm_create_vm(vm) < 0 || kvm_map_memory(vm) < 0)
		return -1;
	machine_trace(vm, "VM created");
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vcpu_create(vm, i) < 0)
			return -1;
	machine_trace(vm, "vCPUs created");
	if (machine_create_devices(vm) < 0)
		return -1;
	if (control_init(vm) < 0)
		return -1;
	if (vm->irqchip && machine_save_irqchip(vm) < 0)
		return -1;
	machine_trace(vm, "devices created");
	if (machine_load_boot(vm) < 0)
		return -1;
	machine_trace(vm, "boot images loaded");
	return 0;
}

/* In-kernel PIC, IOAPIC and PIT state right after creation, restored on reset. */
int machine_save_irqchip(struct vm *vm)
{
	struct machine *m = vm->machine;

	for (unsigned i = 0; i < 3; i++) {
		m->irqchip_init[i].chip_id = i;
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &m->irqchip_init[i]) < 0)
			return err_set_errno(ERR_INTERNAL, errno, "KVM_GET_IRQCHIP %u", i);
	}
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &m->pit_init) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "KVM_GET_PIT2");
	return 0;
}

int machine_reset(struct vm *vm)
{
	struct machine *m = vm->machine;

	vm_pause_all(vm);
	/* Devices first: their reset waits for requests in flight and stops
	 * their threads from touching the rings, which must not happen in RAM
	 * already zeroed (a tap frame arriving in between was seen to read a
	 * zeroed avail ring; a completion would have written into it). */
	machine_reset_devices(vm);
	/* Zero RAM the cheap way: private anonymous pages read back as zero after
	 * MADV_DONTNEED, and the host gets the memory back. */
	for (unsigned i = 0; i < vm->mem.nregions; i++)
		madvise(vm->mem.regions[i].host, vm->mem.regions[i].size, MADV_DONTNEED);
	if (vm->irqchip) {
		for (unsigned i = 0; i < 3; i++)
			if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &m->irqchip_init[i]) < 0)
				return err_set_errno(ERR_INTERNAL, errno, "KVM_SET_IRQCHIP %u", i);
		if (ioctl(vm->vm_fd, KVM_SET_PIT2, &m->pit_init) < 0)
			return err_set_errno(ERR_INTERNAL, errno, "KVM_SET_PIT2");
	}
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vcpu_reset(&vm->vcpus[i]) < 0)
			return -1;
	if (machine_load_boot(vm) < 0)
		return -1;
	/* As in QEMU, a guest paused by QMP stays paused across a reset. */
	if (vm->state == VM_STATE_RUNNING)
		vm_resume_all(vm);
	return 0;
}

static void machine_on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(vm->machine->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("signal %u: stopping the guest", si.ssi_signo);
	pthread_mutex_lock(&vm->lock);
	vm->quit_pending = true;
	vm->quit_reason = "host-signal";
	pthread_mutex_unlock(&vm->lock);
}

static int machine_start_vcpus(struct vm *vm)
{
	vm->live_vcpus = vm->ncpus;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vcpu_start(&vm->vcpus[i]) < 0)
			return -1;
	vcpu_profile_start(vm);
	return 0;
}

static void machine_stop_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->state = VM_STATE_SHUTDOWN;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
}

int machine_run(struct vm *vm)
{
	struct machine *m = vm->machine;
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	m->signal_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->signal_fd < 0 || evloop_add(vm->loop, m->signal_fd, EPOLLIN, machine_on_signal, vm) < 0) {
		log_error("cannot watch signals: %s", strerror(errno));
		return VM_EXIT_ERROR;
	}
	if (machine_start_vcpus(vm) < 0) {
		log_error("%s", err_message());
		return VM_EXIT_ERROR;
	}
	machine_trace(vm, "vCPUs started");
	for (;;) {
		bool reset, poweroff, quit;

		if (evloop_run_once(vm->loop, 1000) < 0) {
			log_error("%s", err_message());
			vm->exit_status = VM_EXIT_ERROR;
			break;
		}
		pthread_mutex_lock(&vm->lock);
		reset = vm->reset_pending;
		poweroff = vm->poweroff_pending;
		quit = vm->quit_pending;
		vm->reset_pending = false;
		pthread_mutex_unlock(&vm->lock);
		if (quit) {
			control_event_shutdown(vm, false, vm->quit_reason);
			break;
		}
		if (poweroff) {
			if (vm->exit_status == VM_EXIT_GUEST_CRASH)
				log_error("guest stopped: %s", vm->crash_reason);
			control_event_shutdown(vm, true, vm->exit_status == VM_EXIT_GUEST_CRASH ? "guest-panic" :
					       "guest-shutdown");
			break;
		}
		if (reset) {
			if (vm->cfg.no_reboot) {
				control_event_shutdown(vm, true, "guest-reset");
				break;
			}
			control_event_reset(vm, true, "guest-reset");
			if (machine_reset(vm) < 0) {
				log_error("reset failed: %s", err_message());
				vm->exit_status = VM_EXIT_ERROR;
				break;
			}
		}
	}
	machine_stop_vcpus(vm);
	control_flush(vm);
	return vm->exit_status;
}

void machine_destroy(struct vm *vm)
{
	struct machine *m = vm->machine;

	if (m) {
		for (unsigned i = 0; i < vm->ncpus; i++)
			vcpu_destroy(&vm->vcpus[i]);
		control_destroy(vm);
		machine_destroy_devices(vm);
		if (m->signal_fd >= 0)
			close(m->signal_fd);
		machine_drop_pvh(m);
		boot_source_close(&m->image);
		boot_source_close(&m->initrd);
		free(m);
		vm->machine = NULL;
	}
	kvm_close(vm);
	gm_destroy(&vm->mem);
	if (vm->loop)
		evloop_free(vm->loop);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
}
