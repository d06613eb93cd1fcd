/* State of the machine shared by machine.c, devices.c and control.c only. */
#ifndef VIREO_VMM_MACHINE_PRIV_H
#define VIREO_VMM_MACHINE_PRIV_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/boot/linux.h"
#include "vmm/boot/pvh.h"
#include <limits.h>
#include "vmm/devices/virtio/virtio.h"
#include "vmm/main/vm.h"

struct chardev;
struct serial;
struct i8042;
struct rtc;
struct pci_bus;
struct debugport;
struct acpi_pm;
struct pci_device;
struct qmp_server;
struct vblk;
struct vrng;
struct vnet;
struct vcon;

struct machine {
	struct boot_source image;         /* kernel or payload; read again on every reset */
	struct boot_source initrd;
	bool has_initrd;
	/* PVH entry: the --kernel ELF itself (pvh_elf: image is the vmlinux), or
	 * the bzImage's kernel from the kernel cache (a file) or unpacked into
	 * vmlinux_buf (no cache: freed once loaded, unpacked again on reset). */
	bool pvh;
	bool pvh_elf;
	bool pvh_unpack;
	struct boot_source vmlinux;
	uint8_t *vmlinux_buf;
	struct pvh_image_info pvh_info;
	char kernel_cache_path[PATH_MAX];
	uint8_t acpi_tables[0x20000];
	size_t acpi_len;
	uint64_t rsdp_gpa;
	struct kvm_irqchip irqchip_init[3];
	struct kvm_pit_state2 pit_init;
	int signal_fd;
	int markers_fd;                   /* --markers log, or -1 */

	struct chardev *console;
	struct serial *com1;
	struct i8042 *i8042;
	struct rtc *rtc;
	struct pci_bus *pci;
	struct debugport *debugport;
	struct acpi_pm *pm;
	struct qmp_server *qmp;
	struct virtio_host_ops virtio_host;  /* KVM routes, irqfds, ioeventfds for virtio */
	struct vblk *disks[VM_MAX_DISKS];
	unsigned ndisks;
	struct vrng *rng;
	struct vnet *nets[VM_MAX_NETS];
	unsigned nnets;
	struct vcon *vcon;
};

/* devices.c */
int machine_create_devices(struct vm *vm);
void machine_reset_devices(struct vm *vm);
void machine_destroy_devices(struct vm *vm);
int machine_save_irqchip(struct vm *vm);

/* The PCI devices of the machine, for query-pci. */
unsigned machine_pci_devices(struct vm *vm, struct pci_device **devs, unsigned max);

/* control.c: QMP commands and events */
int control_init(struct vm *vm);
void control_event_shutdown(struct vm *vm, bool guest, const char *reason);
void control_event_reset(struct vm *vm, bool guest, const char *reason);
void control_flush(struct vm *vm);
void control_destroy(struct vm *vm);

#endif
