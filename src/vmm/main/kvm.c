/* KVM glue at the VM level: open /dev/kvm and check what vireo needs, create
 * the VM with its in-kernel irqchip and PIT, and register guest RAM. */
#include "vmm/main/vm.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Capabilities every vireo VM needs; the message says what breaks without it. */
static const struct { int cap; const char *name; const char *why; } required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM cannot be registered" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "real-mode guests cannot run" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "CPUID cannot be set" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", "vCPUs cannot be reset" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "vCPUs cannot be paused reliably" },
};

/* Needed only with the in-kernel interrupt controller (every Linux boot). */
static const struct { int cap; const char *name; const char *why; } irqchip_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "no in-kernel IOAPIC/LAPIC" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2", "no in-kernel timer (PIT)" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", "no interrupt routing" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", "no irqfd for devices" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", "no ioeventfd for devices" },
};

int kvm_probe_host(struct kvm_host_info *info)
{
	autofree char *line = NULL;
	size_t cap = 0;
	FILE *f;
	struct stat st;

	memset(info, 0, sizeof(*info));
	info->device_present = stat("/dev/kvm", &st) == 0;
	info->pvm = stat("/sys/module/kvm_pvm", &st) == 0;
	f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "flags", 5))
			continue;
		if (strstr(line, " svm") || strstr(line, " vmx"))
			info->hw_virt = true;
		break;
	}
	fclose(f);
	return 0;
}

static int kvm_check_caps(struct vm *vm)
{
	int missing = 0;

	for (size_t i = 0; i < ARRAY_SIZE(required_caps); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) > 0)
			continue;
		log_error("/dev/kvm lacks %s: %s", required_caps[i].name, required_caps[i].why);
		missing++;
	}
	for (size_t i = 0; vm->irqchip && i < ARRAY_SIZE(irqchip_caps); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, irqchip_caps[i].cap) > 0)
			continue;
		log_error("/dev/kvm lacks %s: %s", irqchip_caps[i].name, irqchip_caps[i].why);
		missing++;
	}
	if (missing)
		return err_set(ERR_UNSUPPORTED, "this host's KVM lacks %d capabilit%s vireo needs (listed above)",
			       missing, missing == 1 ? "y" : "ies");
	return 0;
}

/* What the guest CPU can do, from the supported CPUID: XSAVE features and
 * the physical address width (36 bits if KVM does not say). */
static void kvm_read_cpu_limits(struct vm *vm)
{
	vm->xcr0_mask = 1;
	vm->phys_bits = 36;
	for (unsigned i = 0; i < vm->supported_cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &vm->supported_cpuid->entries[i];

		if (e->function == 0xd && e->index == 0)
			vm->xcr0_mask = (e->eax | (uint64_t)e->edx << 32) | 1;
		if (e->function == 0x80000008 && (e->eax & 0xff) >= 32)
			vm->phys_bits = e->eax & 0xff;
	}
}

int kvm_open(struct vm *vm)
{
	int version, n;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		if (errno == ENOENT)
			return err_set(ERR_NOT_FOUND, "/dev/kvm does not exist: load the kvm_intel or kvm_amd module "
				       "(and enable virtualization in the firmware), or run vireo in its lab (tests/lab/lab)");
		if (errno == EACCES || errno == EPERM)
			return err_set(ERR_PERMISSION, "no permission to open /dev/kvm: run as root or join the group "
				       "that owns /dev/kvm (usually 'kvm')");
		return err_set_errno(ERR_IO, errno, "cannot open /dev/kvm");
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		return err_set(ERR_UNSUPPORTED, "/dev/kvm speaks API version %d, vireo needs %d", version,
			       KVM_API_VERSION);
	if (kvm_check_caps(vm) < 0)
		return -1;
	vm->has_xcrs = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	vm->has_tsc_deadline = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size < (int)sizeof(struct kvm_run))
		return err_set_errno(ERR_INTERNAL, errno, "KVM_GET_VCPU_MMAP_SIZE");
	n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (n > 0 && vm->cfg.cpus > (unsigned)n)
		return err_set(ERR_UNSUPPORTED, "%u vCPUs asked, this host's KVM allows %d", vm->cfg.cpus, n);

	/* The supported CPUID is the base for every vCPU's CPUID; grow until it fits. */
	for (int nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return err_set(ERR_NOMEM, "out of memory");
		c->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->supported_cpuid = c;
			kvm_read_cpu_limits(vm);
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return err_set_errno(ERR_INTERNAL, errno, "KVM_GET_SUPPORTED_CPUID");
	}
	return err_set(ERR_INTERNAL, "KVM_GET_SUPPORTED_CPUID: too many entries");
}

int kvm_create_vm(struct vm *vm)
{
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return err_set_errno(ERR_INTERNAL, errno, "KVM_CREATE_VM");
	/* Real-mode support on Intel needs a TSS and identity-map page in guest
	 * physical space; put them just below the 4 GiB boundary, in the hole. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		uint64_t addr = 0xfffbc000UL;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0)
			return err_set_errno(ERR_INTERNAL, errno, "KVM_SET_IDENTITY_MAP_ADDR");
	}
	if (vm->irqchip) {
		struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

		if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP) < 0)
			return err_set_errno(ERR_INTERNAL, errno, "KVM_CREATE_IRQCHIP");
		if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
			return err_set_errno(ERR_INTERNAL, errno, "KVM_CREATE_PIT2");
		if (kvm_routes_init(vm) < 0)
			return -1;
	}
	return 0;
}

int kvm_map_memory(struct vm *vm)
{
	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		const struct gm_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return err_set_errno(ERR_INTERNAL, errno, "KVM_SET_USER_MEMORY_REGION slot %u (0x%llx+0x%llx)",
					     i, (unsigned long long)r->gpa, (unsigned long long)r->size);
	}
	return 0;
}

void kvm_set_irq(void *opaque, uint32_t gsi, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (!vm->irqchip)
		return;
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_warn("KVM_IRQ_LINE gsi %u level %d: %s", gsi, level, strerror(errno));
}

/* GSI routing: KVM_SET_GSI_ROUTING replaces the whole table, so vireo keeps
 * it: the PC defaults (PIC and IOAPIC pins, ISA IRQ 0 on IOAPIC pin 2) plus
 * one MSI route per GSI that devices allocate from KVM_MSI_GSI_BASE up. */
#define KVM_MSI_GSI_BASE 24
#define KVM_MAX_ROUTES 1024

static int kvm_routes_commit(struct vm *vm)
{
	struct kvm_irq_routing *r;
	int rc = 0;

	r = calloc(1, sizeof(*r) + vm->nroutes * sizeof(r->entries[0]));
	if (!r)
		return err_set(ERR_NOMEM, "out of memory");
	r->nr = vm->nroutes;
	memcpy(r->entries, vm->routes, vm->nroutes * sizeof(r->entries[0]));
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		rc = err_set_errno(ERR_INTERNAL, errno, "KVM_SET_GSI_ROUTING (%u routes)", vm->nroutes);
	free(r);
	return rc;
}

static void kvm_route_add_irqchip(struct vm *vm, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = &vm->routes[vm->nroutes++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

int kvm_routes_init(struct vm *vm)
{
	pthread_mutex_init(&vm->routes_lock, NULL);
	vm->routes = calloc(KVM_MAX_ROUTES, sizeof(vm->routes[0]));
	if (!vm->routes)
		return err_set(ERR_NOMEM, "out of memory");
	vm->next_msi_gsi = KVM_MSI_GSI_BASE;
	for (uint32_t i = 0; i < 16; i++)
		if (i != 2)
			kvm_route_add_irqchip(vm, i, i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, i % 8);
	for (uint32_t i = 0; i < 24; i++)
		if (i != 2)
			kvm_route_add_irqchip(vm, i, KVM_IRQCHIP_IOAPIC, i == 0 ? 2 : i);
	return 0;
}

uint32_t kvm_gsi_alloc(void *opaque)
{
	struct vm *vm = opaque;
	uint32_t gsi;

	pthread_mutex_lock(&vm->routes_lock);
	gsi = vm->next_msi_gsi++;
	pthread_mutex_unlock(&vm->routes_lock);
	return gsi;
}

int kvm_msi_route(void *opaque, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;
	struct kvm_irq_routing_entry *e = NULL;
	int rc;

	pthread_mutex_lock(&vm->routes_lock);
	if (gsi < KVM_MSI_GSI_BASE || gsi >= vm->next_msi_gsi) {
		pthread_mutex_unlock(&vm->routes_lock);
		return err_set(ERR_INTERNAL, "GSI %u was not allocated for MSI", gsi);
	}
	for (unsigned i = 0; i < vm->nroutes; i++)
		if (vm->routes[i].gsi == gsi)
			e = &vm->routes[i];
	if (!e && vm->nroutes >= KVM_MAX_ROUTES) {
		pthread_mutex_unlock(&vm->routes_lock);
		return err_set(ERR_BUSY, "no room for another interrupt route (%d)", KVM_MAX_ROUTES);
	}
	if (!e)
		e = &vm->routes[vm->nroutes++];
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
	rc = kvm_routes_commit(vm);
	pthread_mutex_unlock(&vm->routes_lock);
	return rc;
}

int kvm_irqfd(void *opaque, int fd, uint32_t gsi, bool assign)
{
	struct vm *vm = opaque;
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };

	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "KVM_IRQFD %s fd %d gsi %u", assign ? "assign" : "deassign",
				     fd, gsi);
	return 0;
}

int kvm_ioeventfd(void *opaque, uint64_t addr, uint32_t len, int fd, bool pio, bool assign)
{
	struct vm *vm = opaque;
	struct kvm_ioeventfd ev = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN) | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0),
	};

	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &ev) < 0)
		return err_set_errno(ERR_INTERNAL, errno, "KVM_IOEVENTFD %s %s 0x%llx+%u",
				     assign ? "assign" : "deassign", pio ? "port" : "MMIO",
				     (unsigned long long)addr, len);
	return 0;
}

void kvm_close(struct vm *vm)
{
	free(vm->supported_cpuid);
	vm->supported_cpuid = NULL;
	free(vm->routes);
	vm->routes = NULL;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}
