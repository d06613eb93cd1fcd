/* kvm-probe: checks that a /dev/kvm is a usable KVM (run inside the lab's L1 by the e2e check
 * 000-lab-kvm). Prints the API version and capabilities as NAME=VALUE lines, then runs a vCPU on
 * real-mode code that does `out 0x10, al` (al = 42) and `hlt`, and reports the exits it saw. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

#define PROBE_MEM_SIZE 0x1000
#define PROBE_OUT_PORT 0x10
#define PROBE_OUT_VALUE 42

struct probe_cap {
	const char *name;
	int cap;
};

static const struct probe_cap probe_caps[] = {
	{ "KVM_CAP_HYPERV", KVM_CAP_HYPERV },
	{ "KVM_CAP_IRQCHIP", KVM_CAP_IRQCHIP },
	{ "KVM_CAP_IRQFD", KVM_CAP_IRQFD },
	{ "KVM_CAP_IOEVENTFD", KVM_CAP_IOEVENTFD },
	{ "KVM_CAP_SPLIT_IRQCHIP", KVM_CAP_SPLIT_IRQCHIP },
	{ "KVM_CAP_NESTED_STATE", KVM_CAP_NESTED_STATE },
	{ "KVM_CAP_X2APIC_API", KVM_CAP_X2APIC_API },
	{ "KVM_CAP_MAX_VCPUS", KVM_CAP_MAX_VCPUS },
	{ "KVM_CAP_USER_MEMORY", KVM_CAP_USER_MEMORY },
	{ "KVM_CAP_SET_TSS_ADDR", KVM_CAP_SET_TSS_ADDR },
};

/* Real-mode code at guest address 0: mov al, 42; out 0x10, al; hlt */
static const unsigned char probe_code[] = { 0xb0, PROBE_OUT_VALUE, 0xe6, PROBE_OUT_PORT, 0xf4 };

/* Runs the code in a fresh VM; returns 0 when the exits are IO(0x10, 42) then HLT. */
static int probe_run_vcpu(int kvm)
{
	int vm = -1, vcpu = -1, rc = -1;
	void *mem = MAP_FAILED;
	struct kvm_run *run = MAP_FAILED;
	long run_size = 0;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		err_set_errno(ERR_IO, errno, "KVM_CREATE_VM on /dev/kvm");
		goto out;
	}
	mem = mmap(NULL, PROBE_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		err_set_errno(ERR_NOMEM, errno, "guest memory of %d bytes", PROBE_MEM_SIZE);
		goto out;
	}
	memcpy(mem, probe_code, sizeof(probe_code));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = PROBE_MEM_SIZE,
		.userspace_addr = (unsigned long)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		err_set_errno(ERR_IO, errno, "KVM_SET_USER_MEMORY_REGION slot 0");
		goto out;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		err_set_errno(ERR_IO, errno, "KVM_CREATE_VCPU 0");
		goto out;
	}
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (long)sizeof(struct kvm_run)) {
		err_set(ERR_INTERNAL, "KVM_GET_VCPU_MMAP_SIZE returned %ld", run_size);
		goto out;
	}
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		err_set_errno(ERR_IO, errno, "mmap of the vCPU's kvm_run");
		goto out;
	}
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		err_set_errno(ERR_IO, errno, "KVM_GET_SREGS");
		goto out;
	}
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) {
		err_set_errno(ERR_IO, errno, "KVM_SET_SREGS");
		goto out;
	}
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		err_set_errno(ERR_IO, errno, "KVM_SET_REGS");
		goto out;
	}

	int saw_io = 0;
	/* A handful of runs is plenty; a loop bound keeps a broken KVM from hanging the probe. */
	for (int i = 0; i < 16; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			err_set_errno(ERR_IO, errno, "KVM_RUN");
			goto out;
		}
		if (run->exit_reason == KVM_EXIT_IO) {
			if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 ||
			    run->io.data_offset > (unsigned long)run_size - 1) {
				err_set(ERR_GUEST, "unexpected I/O exit: dir %u size %u", run->io.direction,
					run->io.size);
				goto out;
			}
			unsigned char value = ((unsigned char *)run)[run->io.data_offset];
			printf("KVM_EXIT_IO port=0x%x value=%u\n", run->io.port, value);
			saw_io = run->io.port == PROBE_OUT_PORT && value == PROBE_OUT_VALUE;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_HLT) {
			printf("KVM_EXIT_HLT\n");
			if (!saw_io) {
				err_set(ERR_GUEST, "halted without the expected out 0x%x, %d", PROBE_OUT_PORT,
					PROBE_OUT_VALUE);
				goto out;
			}
			rc = 0;
			goto out;
		}
		err_set(ERR_GUEST, "unexpected exit reason %u", run->exit_reason);
		goto out;
	}
	err_set(ERR_GUEST, "the vCPU did not halt within 16 runs");
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
	if (mem != MAP_FAILED)
		munmap(mem, PROBE_MEM_SIZE);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	return rc;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/kvm";
	int kvm = open(path, O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		err_set_errno(ERR_IO, errno, "open %s", path);
		fprintf(stderr, "kvm-probe: %s\n", err_message());
		return 1;
	}
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	printf("KVM_GET_API_VERSION=%d\n", api);
	for (size_t i = 0; i < ARRAY_SIZE(probe_caps); i++)
		printf("%s=%d\n", probe_caps[i].name, ioctl(kvm, KVM_CHECK_EXTENSION, probe_caps[i].cap));
	int rc = 0;
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "kvm-probe: %s: API version %d, expected %d\n", path, api, KVM_API_VERSION);
		rc = 1;
	} else if (probe_run_vcpu(kvm) < 0) {
		fprintf(stderr, "kvm-probe: %s: %s\n", path, err_message());
		rc = 1;
	} else {
		printf("VCPU_RUN=ok\n");
	}
	close(kvm);
	return rc;
}
