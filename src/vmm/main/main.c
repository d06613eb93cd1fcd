/* vireo-vmm: run one guest on /dev/kvm. Parses the command line, checks the
 * host, builds the machine and runs it until the guest powers off. */
#include "vmm/main/machine.h"
#include "vmm/main/options.h"
#include "vmm/main/vm.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_pidfile(const char *path)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (fd < 0)
		return err_set_errno(ERR_IO, errno, "cannot write pidfile '%s'", path);
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return err_set_errno(ERR_IO, errno, "cannot write pidfile '%s'", path);
	}
	close(fd);
	return 0;
}

/* Refuse early, with a clear message, where an unmodified Linux cannot run. */
static int check_host(const struct vm_config *cfg)
{
	struct kvm_host_info host;

	kvm_probe_host(&host);
	if (!host.device_present)
		return 0; /* kvm_open() explains */
	if (cfg->kernel && host.pvm)
		return err_set(ERR_UNSUPPORTED, "this host's /dev/kvm is PVM (module kvm_pvm), a software hypervisor "
			       "that cannot run an unmodified Linux kernel; use a host with Intel VT-x or AMD-V, "
			       "or vireo's lab (tests/lab/lab run)");
	if (cfg->kernel && !host.hw_virt)
		return err_set(ERR_UNSUPPORTED, "this CPU has no hardware virtualization (no vmx or svm flag in "
			       "/proc/cpuinfo), so /dev/kvm cannot run an unmodified Linux kernel; use vireo's lab "
			       "(tests/lab/lab run)");
	return 0;
}

int main(int argc, char **argv)
{
	struct vm *vm;
	int rc;

	log_init("vireo-vmm", NULL);
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return VM_EXIT_ERROR;
	vm->boot_entry_ns = clock_ns();
	vm->kvm_fd = vm->vm_fd = -1;
	rc = vmm_parse_args(argc, argv, &vm->cfg);
	if (rc) {
		free(vm);
		return rc < 0 ? 0 : rc;
	}
	if (check_host(&vm->cfg) < 0 || (vm->cfg.pidfile && write_pidfile(vm->cfg.pidfile) < 0)) {
		log_error("%s", err_message());
		free(vm);
		return VM_EXIT_ERROR;
	}
	if (machine_create(vm) < 0) {
		log_error("%s", err_message());
		machine_destroy(vm);
		free(vm);
		return VM_EXIT_ERROR;
	}
	rc = machine_run(vm);
	machine_destroy(vm);
	/* A crashed guest leaves the pidfile behind, as a killed VMM does: a
	 * supervisor that did not see the exit tells a crash from a clean end. */
	if (vm->cfg.pidfile && rc != VM_EXIT_GUEST_CRASH)
		unlink(vm->cfg.pidfile);
	free(vm);
	return rc;
}
