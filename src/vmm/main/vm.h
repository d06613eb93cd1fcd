/* The machine of vireo-vmm: one KVM VM, its memory, buses, vCPUs and devices,
 * and the run state shared by the vCPU threads and the main (QMP) thread. */
#ifndef VIREO_VMM_VM_H
#define VIREO_VMM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/devices/device.h"
#include "vmm/evloop.h"
#include "vmm/memory.h"

#define VM_MAX_CPUS 255
#define VM_MAX_DISKS 16
#define VM_MAX_NETS 4
/* PCI functions besides the host bridge: disks, NICs, rng, console. */
#define VM_MAX_PCI_DEVICES (VM_MAX_DISKS + VM_MAX_NETS + 2)
#define VM_MAX_CHANNELS 8

/* Exit statuses of vireo-vmm (documented in docs/man/vireo-vmm.1). */
enum vm_exit_status {
	VM_EXIT_OK = 0,            /* guest powered off, quit, or SIGTERM */
	VM_EXIT_ERROR = 1,         /* host-side failure: KVM missing, file unreadable */
	VM_EXIT_USAGE = 2,         /* bad command line */
	VM_EXIT_GUEST_CRASH = 3,   /* triple fault (with --no-reboot) or KVM internal error */
	VM_EXIT_HALTED = 4,        /* payload mode: the guest executed HLT */
};

enum vm_run_state { VM_STATE_RUNNING, VM_STATE_PAUSED, VM_STATE_SHUTDOWN };

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	bool parked;           /* out of KVM_RUN, waiting on vm->cond */
	int tid;               /* thread id, for query-cpus-fast */
	struct kvm_sregs init_sregs;       /* power-on segment/control state */
	struct kvm_lapic_state init_lapic; /* LAPIC as firmware leaves it */
	struct vcpu_profile *profile;      /* VIREO_VMM_PROFILE sampling, or NULL */
};

struct kvm_host_info {
	bool device_present;   /* /dev/kvm exists */
	bool pvm;              /* the kvm_pvm software hypervisor is loaded */
	bool hw_virt;          /* the CPU has svm or vmx */
};

/* How a bzImage is entered (--kernel-entry). */
enum vm_kernel_entry {
	VM_KERNEL_ENTRY_AUTO,         /* PVH for a non-LZ4 kernel with a PVH entry, else linux64 */
	VM_KERNEL_ENTRY_PVH,          /* unpack on the host, PVH entry; an error if impossible */
	VM_KERNEL_ENTRY_LINUX64,      /* 64-bit boot protocol; the kernel decompresses itself */
};

struct vm_config {
	const char *name;
	const char *kernel, *initrd, *cmdline;
	enum vm_kernel_entry kernel_entry;
	const char *kernel_cache;     /* --kernel-cache DIR, "none", or NULL (default directory) */
	const char *payload;          /* test payload instead of a kernel */
	bool payload_long_mode;
	uint64_t memory;
	unsigned cpus;
	const char *serial_spec;
	const char *qmp_path;
	const char *pidfile;
	const char *markers_path;     /* debug-port markers log */
	bool no_reboot;
	const char *disks[VM_MAX_DISKS];  /* --disk specs, parsed by vblk_parse_opts */
	unsigned ndisks;
	bool rng;
	const char *nets[VM_MAX_NETS];    /* --net specs, parsed by vnet_parse_opts */
	unsigned nnets;
	const char *channels[VM_MAX_CHANNELS];  /* --channel specs, parsed by vcon_parse_channel */
	unsigned nchannels;
	const char *virtconsole;      /* --console SPEC: chardev of virtio-console port 0 (hvc0) */
};

struct vm {
	struct vm_config cfg;
	int kvm_fd, vm_fd;
	int vcpu_mmap_size;
	bool irqchip;                 /* in-kernel IOAPIC/PIC/LAPIC/PIT */
	bool has_xcrs;                /* KVM_CAP_XCRS */
	bool has_tsc_deadline;        /* KVM_CAP_TSC_DEADLINE_TIMER: the in-kernel LAPIC has it */
	uint64_t xcr0_mask;           /* XSAVE features KVM supports (CPUID 0xD.0) */
	unsigned phys_bits;           /* guest-physical address width (CPUID 0x80000008) */
	struct kvm_cpuid2 *supported_cpuid;
	struct guest_mem mem;
	struct bus pio, mmio;
	struct evloop *loop;
	struct vcpu vcpus[VM_MAX_CPUS];
	unsigned ncpus;

	/* Run control: requests from devices and QMP are flagged here and acted on by
	 * the main thread; vCPU threads park on `cond` while paused. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vm_run_state state;
	bool pause_requested;
	unsigned parked_count;
	unsigned live_vcpus;          /* vCPU threads still running their loop */
	const char *crash_reason, *quit_reason;
	bool reset_pending, poweroff_pending, quit_pending;
	int exit_status;
	uint64_t boot_entry_ns;       /* clock_ns() at start, for markers */

	/* Interrupt routes (kvm.c): the PC defaults plus MSI routes of devices. */
	pthread_mutex_t routes_lock;
	struct kvm_irq_routing_entry *routes;
	unsigned nroutes;
	uint32_t next_msi_gsi;

	struct machine *machine;      /* devices, owned by machine.c */
	struct vm_request_sink request_sink;
};

/* kvm.c */
int kvm_probe_host(struct kvm_host_info *info);
int kvm_open(struct vm *vm);
int kvm_create_vm(struct vm *vm);
int kvm_map_memory(struct vm *vm);
void kvm_set_irq(void *vm, uint32_t gsi, int level);
int kvm_routes_init(struct vm *vm);
uint32_t kvm_gsi_alloc(void *vm);
int kvm_msi_route(void *vm, uint32_t gsi, uint64_t addr, uint32_t data);
int kvm_irqfd(void *vm, int fd, uint32_t gsi, bool assign);
int kvm_ioeventfd(void *vm, uint64_t addr, uint32_t len, int fd, bool pio, bool assign);
void kvm_close(struct vm *vm);

/* vcpu.c */
int vcpu_create(struct vm *vm, unsigned index);
int vcpu_setup_boot(struct vcpu *vcpu, uint64_t entry, uint64_t boot_params, bool long_mode);
/* vcpu_profile.c: with VIREO_VMM_PROFILE=FILE, every vCPU's RIP is sampled
 * every 5 ms and its exits counted by reason; FILE gets them when it ends.
 * A boot-time analysis tool (bench/vmm/profile-boot), off by default. */
void vcpu_profile_init(struct vcpu *vcpu);
void vcpu_profile_exit(struct vcpu *vcpu, int rc, int err);
void vcpu_profile_start(struct vm *vm);
void vcpu_profile_stop(void);      /* before any vCPU thread is joined */
void vcpu_profile_finish(struct vcpu *vcpu);

/* 32-bit protected mode, paging off, EBX = start_info: the PVH entry state. */
int vcpu_setup_boot_pvh(struct vcpu *vcpu, uint32_t entry, uint32_t start_info);
int vcpu_reset(struct vcpu *vcpu);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_dump_regs(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);

/* run control (machine.c) */
void vm_pause_all(struct vm *vm);
void vm_resume_all(struct vm *vm);
void vm_post_request(struct vm *vm, enum vm_request req);
void vm_guest_crashed(struct vm *vm, const char *why);

#endif
