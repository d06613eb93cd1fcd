/* Boot-time analysis for vireo-vmm (see vm.h): with VIREO_VMM_PROFILE=FILE a
 * thread interrupts the vCPUs every 5 ms, each records its guest RIP, and
 * every KVM exit is counted by reason; FILE gets "vcpu ms rip" lines and one
 * "# vcpu N exits ..." line per vCPU when the vCPU ends. Off by default. */
#include "vmm/main/vm.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#define PROFILE_MAX_SAMPLES (1u << 16)
#define PROFILE_PERIOD_NS 5000000L
#define PROFILE_REASONS 32

struct vcpu_profile {
	uint64_t start_ns;
	unsigned nsamples;
	uint64_t exits[PROFILE_REASONS + 1]; /* by KVM exit reason; the last slot: EINTR */
	uint64_t io_ports[4];                /* serial, PIC/PIT/RTC/i8042 (< 0x100), PCI config, other */
	struct { uint32_t ms; uint64_t rip; } samples[PROFILE_MAX_SAMPLES];
};

static bool profile_enabled(void)
{
	const char *f = getenv("VIREO_VMM_PROFILE");

	return f && *f;
}

void vcpu_profile_init(struct vcpu *vcpu)
{
	if (!profile_enabled() || vcpu->profile)
		return;
	vcpu->profile = calloc(1, sizeof(*vcpu->profile));
	if (vcpu->profile)
		vcpu->profile->start_ns = clock_ns();
}

void vcpu_profile_exit(struct vcpu *vcpu, int rc, int err)
{
	struct vcpu_profile *p = vcpu->profile;
	struct kvm_regs regs;

	if (!p)
		return;
	if (rc == 0) {
		uint32_t r = vcpu->run->exit_reason;

		p->exits[r < PROFILE_REASONS ? r : PROFILE_REASONS - 1]++;
		if (r == KVM_EXIT_IO) {
			uint16_t port = vcpu->run->io.port;

			p->io_ports[port >= 0x3f8 && port < 0x400 ? 0 : port < 0x100 ? 1 :
				    (port & ~7u) == 0xcf8 ? 2 : 3]++;
		}
		return;
	}
	if (err != EINTR)
		return;
	p->exits[PROFILE_REASONS]++;
	if (p->nsamples < PROFILE_MAX_SAMPLES && ioctl(vcpu->fd, KVM_GET_REGS, &regs) == 0) {
		p->samples[p->nsamples].ms = (uint32_t)((clock_ns() - p->start_ns) / 1000000);
		p->samples[p->nsamples++].rip = regs.rip;
	}
}

static pthread_t profile_tid;
static bool profile_running, profile_stop;

static void *profile_thread(void *arg)
{
	struct vm *vm = arg;
	struct timespec ts = { 0, PROFILE_PERIOD_NS };

	for (;;) {
		nanosleep(&ts, NULL);
		if (__atomic_load_n(&profile_stop, __ATOMIC_ACQUIRE))
			return NULL;
		for (unsigned i = 0; i < vm->ncpus; i++)
			if (vm->vcpus[i].thread_started)
				pthread_kill(vm->vcpus[i].thread, SIGUSR1);
	}
}

void vcpu_profile_start(struct vm *vm)
{
	if (!profile_enabled() || profile_running)
		return;
	profile_running = pthread_create(&profile_tid, NULL, profile_thread, vm) == 0;
}

void vcpu_profile_stop(void)
{
	if (!profile_running)
		return;
	__atomic_store_n(&profile_stop, true, __ATOMIC_RELEASE);
	pthread_join(profile_tid, NULL);
	profile_running = false;
}

void vcpu_profile_finish(struct vcpu *vcpu)
{
	struct vcpu_profile *p = vcpu->profile;
	const char *path = getenv("VIREO_VMM_PROFILE");
	FILE *f;

	if (!p || !path)
		return;
	f = fopen(path, "a");
	if (f) {
		fprintf(f, "# vcpu %u exits io=%llu (serial %llu, ports<0x100 %llu, pci-config %llu, other %llu) "
			"mmio=%llu hlt=%llu intr=%llu shutdown=%llu system-event=%llu sampled=%llu\n", vcpu->index,
			(unsigned long long)p->exits[KVM_EXIT_IO], (unsigned long long)p->io_ports[0],
			(unsigned long long)p->io_ports[1], (unsigned long long)p->io_ports[2],
			(unsigned long long)p->io_ports[3], (unsigned long long)p->exits[KVM_EXIT_MMIO],
			(unsigned long long)p->exits[KVM_EXIT_HLT], (unsigned long long)p->exits[KVM_EXIT_INTR],
			(unsigned long long)p->exits[KVM_EXIT_SHUTDOWN],
			(unsigned long long)p->exits[KVM_EXIT_SYSTEM_EVENT],
			(unsigned long long)p->exits[PROFILE_REASONS]);
		for (unsigned i = 0; i < p->nsamples; i++)
			fprintf(f, "%u %u %016llx\n", vcpu->index, p->samples[i].ms,
				(unsigned long long)p->samples[i].rip);
		fclose(f);
	} else {
		log_warn("VIREO_VMM_PROFILE: cannot open '%s': %s", path, strerror(errno));
	}
	free(p);
	vcpu->profile = NULL;
}
