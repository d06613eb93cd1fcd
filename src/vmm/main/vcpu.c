/* vCPUs of vireo-vmm: one thread each. CPUID and MSRs at creation, registers
 * for the boot entry, and the KVM_RUN loop that dispatches exits to the buses. */
#include "vmm/main/vm.h"
#include "vmm/boot/layout.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_TSC 0x10
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_IA32_APICBASE 0x1b

#define X86_CR0_PE 0x1ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_PG 0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

static unsigned bits_for(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* The host's supported CPUID with this vCPU's identity and a topology that
 * matches the vCPU count: one socket, one thread per core. */
static int vcpu_set_cpuid(struct vcpu *vcpu)
{
	const struct kvm_cpuid2 *src = vcpu->vm->supported_cpuid;
	unsigned ncpus = vcpu->vm->cfg.cpus, shift = bits_for(ncpus);
	size_t size = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	autofree struct kvm_cpuid2 *c = malloc(size);

	if (!c)
		return err_set(ERR_NOMEM, "out of memory");
	memcpy(c, src, size);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffff) | (vcpu->index << 24) | ((1u << shift) << 16);
			if (ncpus > 1)
				e->edx |= 1u << 28; /* HTT: the logical count above is valid */
			e->ecx |= 1u << 31;         /* running under a hypervisor */
			/* TSC-deadline LAPIC timer: KVM emulates it but leaves advertising it to
			 * us. Linux then skips calibrating the LAPIC timer (~100 ms at boot). */
			if (vcpu->vm->irqchip && vcpu->vm->has_tsc_deadline)
				e->ecx |= 1u << 24;
			break;
		case 4:
			/* Intel: cores per package - 1 in EAX[31:26], for each cache level. */
			e->eax = (e->eax & 0x03ffffff) | (((1u << shift) - 1) << 26);
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC topology: level 0 SMT (1 thread), level 1 core (ncpus). */
			e->edx = vcpu->index;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = shift;
				e->ebx = ncpus;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000008:
			/* AMD: cores per package - 1 and the APIC-ID bits they use. */
			e->ecx = (e->ecx & ~0xf0ffu) | (shift << 12) | (ncpus - 1);
			break;
		default:
			break;
		}
	}
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "vCPU %u: KVM_SET_CPUID2", vcpu->index);
	return 0;
}

static int vcpu_set_msrs(struct vcpu *vcpu)
{
	static const uint32_t zeroed[] = {
		MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_STAR,
		MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE, MSR_IA32_TSC,
	};
	/* struct kvm_msrs ends in a flexible array: give it room for ours. */
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + (ARRAY_SIZE(zeroed) + 3) * sizeof(struct kvm_msr_entry)];
	} m;
	struct kvm_msr_entry *e = m.hdr.entries;
	unsigned n = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	for (; n < ARRAY_SIZE(zeroed); n++)
		e[n].index = zeroed[n];
	e[n].index = MSR_IA32_MISC_ENABLE;
	e[n++].data = 1; /* fast strings */
	e[n].index = MSR_MTRR_DEF_TYPE;
	e[n++].data = (1u << 11) | 6; /* MTRRs on, default write-back */
	if (vcpu->vm->irqchip) {
		/* xAPIC mode at the default base (undoes a guest's switch to x2APIC);
		 * bit 8 marks the bootstrap processor. */
		e[n].index = MSR_IA32_APICBASE;
		e[n++].data = 0xfee00000ULL | (1u << 11) | (vcpu->index == 0 ? 1u << 8 : 0);
	}
	m.hdr.nmsrs = n;
	rc = ioctl(vcpu->fd, KVM_SET_MSRS, &m);
	if (rc < 0)
		return err_set_errno(ERR_INTERNAL, errno, "vCPU %u: KVM_SET_MSRS", vcpu->index);
	if ((unsigned)rc != n)
		log_debug("vCPU %u: KVM took %d of %u MSRs (MSR 0x%x refused)", vcpu->index, rc, n,
			  e[rc].index);
	return 0;
}

/* The LAPIC as firmware leaves it: LINT0 ExtINT (legacy PIC), LINT1 NMI.
 * Kept in vcpu->init_lapic and restored on every reset. */
static int vcpu_init_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state *lapic = &vcpu->init_lapic;
	uint32_t lvt0, lvt1;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, lapic) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "vCPU %u: KVM_GET_LAPIC", vcpu->index);
	memcpy(&lvt0, &lapic->regs[0x350], 4);
	memcpy(&lvt1, &lapic->regs[0x360], 4);
	lvt0 = (lvt0 & ~0x700u) | (7u << 8);
	lvt1 = (lvt1 & ~0x700u) | (4u << 8);
	memcpy(&lapic->regs[0x350], &lvt0, 4);
	memcpy(&lapic->regs[0x360], &lvt1, 4);
	return 0;
}

static int vcpu_set_xcr0(struct vcpu *vcpu)
{
	struct kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs = { { .xcr = 0, .value = vcpu->vm->xcr0_mask } } };

	if (ioctl(vcpu->fd, KVM_SET_XCRS, &xcrs) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "vCPU %u: KVM_SET_XCRS 0x%llx", vcpu->index,
				     (unsigned long long)vcpu->vm->xcr0_mask);
	return 0;
}

int vcpu_create(struct vm *vm, unsigned index)
{
	struct vcpu *vcpu = &vm->vcpus[index];

	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0)
		return err_set_errno(ERR_INTERNAL, errno, "KVM_CREATE_VCPU %u", index);
	vcpu->run = mmap(NULL, (size_t)vm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return err_set_errno(ERR_INTERNAL, errno, "vCPU %u: mmap of kvm_run", index);
	}
	vcpu_profile_init(vcpu);
	if (vcpu_set_cpuid(vcpu) < 0)
		return -1;
	/* KVM computes CPUID 0xD's XSAVE size (EBX) from XCR0 when CPUID is set and
	 * does not redo it for every XCR0 change, so a guest that enables AVX would
	 * see a size too small for its XCR0. Start with XCR0 = every supported
	 * feature and set CPUID again so that size matches what the guest enables. */
	if (vm->has_xcrs && vm->xcr0_mask > 1) {
		if (vcpu_set_xcr0(vcpu) < 0 || vcpu_set_cpuid(vcpu) < 0)
			return -1;
	}
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &vcpu->init_sregs) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "vCPU %u: KVM_GET_SREGS", index);
	if (vm->irqchip && vcpu_init_lapic(vcpu) < 0)
		return -1;
	return vcpu_reset(vcpu);
}

/* Architectural state after power-on, with vireo's MSR defaults; used at
 * creation and on every reset, whatever the guest left behind. */
int vcpu_reset(struct vcpu *vcpu)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	struct kvm_regs regs = { .rflags = 2, .rip = 0xfff0 };
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp = {
		.mp_state = vcpu->index == 0 || !vcpu->vm->irqchip ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED,
	};

	memset(&events, 0, sizeof(events));
	if (vcpu_set_msrs(vcpu) < 0)
		return -1;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &vcpu->init_sregs) < 0 || ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "vCPU %u: resetting registers", vcpu->index);
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "vCPU %u: KVM_SET_FPU", vcpu->index);
	if (vcpu->vm->has_xcrs && vcpu_set_xcr0(vcpu) < 0)
		return -1;
	if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &events) < 0)
		log_debug("vCPU %u: KVM_SET_VCPU_EVENTS: %s", vcpu->index, strerror(errno));
	if (!vcpu->vm->irqchip)
		return 0;
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &vcpu->init_lapic) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "vCPU %u: KVM_SET_LAPIC", vcpu->index);
	if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "vCPU %u: KVM_SET_MP_STATE", vcpu->index);
	return 0;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = code64 ? 0 : 1;
	s->s = 1;
	s->l = code64;
	s->g = 1;
}

/* Flat code (64- or 32-bit) and data segments, the boot GDT and an empty IDT:
 * the state both kernel entries (64-bit boot protocol, PVH) start from. */
static void boot_flat_segments(struct kvm_sregs *sregs, uint16_t cs_selector, bool code64)
{
	seg_flat(&sregs->cs, cs_selector, 0xb, code64);
	seg_flat(&sregs->ds, BOOT_DS_SELECTOR, 0x3, false);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->gdt.base = BOOT_GDT_GPA;
	sregs->gdt.limit = 4 * 8 - 1;
	sregs->idt.base = BOOT_IDT_GPA;
	sregs->idt.limit = 0;
}

static int vcpu_set_boot_regs(struct vcpu *vcpu, const struct kvm_sregs *sregs, const struct kvm_regs *regs)
{
	if (ioctl(vcpu->fd, KVM_SET_SREGS, sregs) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "vCPU %u: KVM_SET_SREGS", vcpu->index);
	if (ioctl(vcpu->fd, KVM_SET_REGS, regs) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "vCPU %u: KVM_SET_REGS", vcpu->index);
	return 0;
}

int vcpu_setup_boot(struct vcpu *vcpu, uint64_t entry, uint64_t boot_params, bool long_mode)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	sregs = vcpu->init_sregs;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	if (long_mode) {
		boot_flat_segments(&sregs, BOOT_CS_SELECTOR, true);
		sregs.cr3 = BOOT_PML4_GPA;
		sregs.cr4 |= X86_CR4_PAE;
		sregs.cr0 |= X86_CR0_PE | X86_CR0_PG | X86_CR0_ET;
		sregs.efer |= EFER_LME | EFER_LMA;
		regs.rip = entry;
		regs.rsi = boot_params;
		regs.rsp = regs.rbp = BOOT_STACK_GPA;
	} else {
		/* Real mode, CS:IP = (entry >> 4):0. */
		sregs.cs.selector = (uint16_t)(entry >> 4);
		sregs.cs.base = entry & ~0xfULL;
		sregs.ds = sregs.es = sregs.ss = sregs.cs;
		sregs.ds.type = sregs.es.type = sregs.ss.type = 0x3;
		regs.rip = entry & 0xf;
		regs.rsp = 0xfff0;
	}
	return vcpu_set_boot_regs(vcpu, &sregs, &regs);
}

int vcpu_setup_boot_pvh(struct vcpu *vcpu, uint32_t entry, uint32_t start_info)
{
	struct kvm_sregs sregs = vcpu->init_sregs;
	struct kvm_regs regs = { .rflags = 2, .rip = entry, .rbx = start_info };

	boot_flat_segments(&sregs, BOOT_CS32_SELECTOR, false);
	sregs.cr0 = (sregs.cr0 | X86_CR0_PE | X86_CR0_ET) & ~X86_CR0_PG;
	sregs.cr4 = 0;
	sregs.efer = 0;
	return vcpu_set_boot_regs(vcpu, &sregs, &regs);
}

void vcpu_dump_regs(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(stderr, "vCPU %u: registers unavailable: %s\n", vcpu->index, strerror(errno));
		return;
	}
	fprintf(stderr,
		"vCPU %u registers:\n"
		" RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
		" RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
		" R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
		" R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n"
		" RIP=%016llx RFL=%08llx\n"
		" CS =%04x %016llx  SS =%04x %016llx  DS =%04x %016llx\n"
		" CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx EFER=%016llx\n"
		" GDT=%016llx/%x IDT=%016llx/%x\n",
		vcpu->index, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10,
		r.r11, r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags, s.cs.selector, s.cs.base, s.ss.selector,
		s.ss.base, s.ds.selector, s.ds.base, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.gdt.base,
		s.gdt.limit, s.idt.base, s.idt.limit);
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* KVM guarantees data_offset + size*count fits the kvm_run mapping. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		bus_dispatch(&vcpu->vm->pio, run->io.port, data, run->io.size, is_write);
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = run->mmio.len;

	if (len == 0 || len > 8)
		return;
	bus_dispatch(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write);
}

/* Park while the machine is paused; returns false when the vCPU must exit. */
static bool vcpu_wait_runnable(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	bool keep_running;

	pthread_mutex_lock(&vm->lock);
	while (vm->pause_requested && vm->state != VM_STATE_SHUTDOWN) {
		if (!vcpu->parked) {
			vcpu->parked = true;
			vm->parked_count++;
			pthread_cond_broadcast(&vm->cond);
		}
		pthread_cond_wait(&vm->cond, &vm->lock);
	}
	if (vcpu->parked) {
		vcpu->parked = false;
		vm->parked_count--;
	}
	keep_running = vm->state != VM_STATE_SHUTDOWN;
	pthread_mutex_unlock(&vm->lock);
	return keep_running;
}

static void vcpu_loop(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	while (vcpu_wait_runnable(vcpu)) {
		int rc = ioctl(vcpu->fd, KVM_RUN, 0);

		if (vcpu->profile) {
			int e = errno;

			vcpu_profile_exit(vcpu, rc, e);
			errno = e;
		}
		if (rc < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				continue;
			}
			log_error("vCPU %u: KVM_RUN failed: %s", vcpu->index, strerror(errno));
			vcpu_dump_regs(vcpu);
			vm_guest_crashed(vm, "KVM_RUN failed");
			break;
		}
		switch (vcpu->run->exit_reason) {
		case KVM_EXIT_IO:
			vcpu_handle_io(vcpu);
			break;
		case KVM_EXIT_MMIO:
			vcpu_handle_mmio(vcpu);
			break;
		case KVM_EXIT_HLT:
			/* Only without the in-kernel irqchip (payloads): the guest stopped. */
			log_info("vCPU %u halted", vcpu->index);
			pthread_mutex_lock(&vm->lock);
			if (vm->exit_status == VM_EXIT_OK && !vm->poweroff_pending)
				vm->exit_status = VM_EXIT_HALTED;
			pthread_mutex_unlock(&vm->lock);
			vm_post_request(vm, VM_REQUEST_POWEROFF);
			return;
		case KVM_EXIT_SHUTDOWN:
			/* Triple fault: what a PC does is reset. */
			log_warn("vCPU %u: triple fault", vcpu->index);
			if (vm->cfg.no_reboot) {
				vcpu_dump_regs(vcpu);
				vm_guest_crashed(vm, "triple fault");
				return;
			}
			vm_post_request(vm, VM_REQUEST_RESET);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			vm_post_request(vm, vcpu->run->system_event.type == KVM_SYSTEM_EVENT_RESET ?
				       VM_REQUEST_RESET : VM_REQUEST_POWEROFF);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_FAIL_ENTRY:
			log_error("vCPU %u: KVM entry failed, hardware reason 0x%llx", vcpu->index,
				  (unsigned long long)vcpu->run->fail_entry.hardware_entry_failure_reason);
			vcpu_dump_regs(vcpu);
			vm_guest_crashed(vm, "KVM entry failure");
			return;
		case KVM_EXIT_INTERNAL_ERROR:
			log_error("vCPU %u: KVM internal error, suberror %u", vcpu->index,
				  vcpu->run->internal.suberror);
			vcpu_dump_regs(vcpu);
			vm_guest_crashed(vm, "KVM internal error");
			return;
		default:
			log_error("vCPU %u: unexpected KVM exit reason %u", vcpu->index, vcpu->run->exit_reason);
			vcpu_dump_regs(vcpu);
			vm_guest_crashed(vm, "unexpected KVM exit");
			return;
		}
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
	pthread_setname_np(pthread_self(), name);
	vcpu->tid = (int)syscall(SYS_gettid);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	vcpu_loop(vcpu);
	/* A vCPU that stopped for good must not hold up pause requests. */
	pthread_mutex_lock(&vm->lock);
	vm->live_vcpus--;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

int vcpu_start(struct vcpu *vcpu)
{
	static bool handler_installed;
	sigset_t set, old;
	int rc;

	if (!handler_installed) {
		struct sigaction sa = { .sa_handler = vcpu_kick_handler };

		sigemptyset(&sa.sa_mask);
		sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
		handler_installed = true;
	}
	/* The kick signal stays blocked everywhere but in vCPU threads. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	rc = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (rc)
		return err_set_errno(ERR_INTERNAL, rc, "cannot start vCPU %u thread", vcpu->index);
	vcpu->thread_started = true;
	return 0;
}

/* Make the vCPU leave KVM_RUN soon: immediate_exit covers the window before
 * it enters, the signal interrupts it once inside. */
void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->thread_started)
		return;
	vcpu->run->immediate_exit = 1;
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_destroy(struct vcpu *vcpu)
{
	vcpu_profile_stop();
	if (vcpu->thread_started) {
		vcpu_kick(vcpu);
		pthread_join(vcpu->thread, NULL);
		vcpu->thread_started = false;
	}
	vcpu_profile_finish(vcpu);
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->vm->vcpu_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
