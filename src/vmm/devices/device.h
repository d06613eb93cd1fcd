/* What a device model may ask of the machine it sits in. Devices never see
 * struct vm: they get buses, IRQ pins, guest memory and this request sink, so
 * each can be unit-tested alone with fakes. */
#ifndef VIREO_VMM_DEVICES_DEVICE_H
#define VIREO_VMM_DEVICES_DEVICE_H

enum vm_request {
	VM_REQUEST_POWEROFF,   /* ACPI S5, guest asked to power off */
	VM_REQUEST_RESET,      /* i8042 reset line, ACPI reset register, triple fault */
};

struct vm_request_sink {
	void (*fn)(void *ctx, enum vm_request req);
	void *ctx;
};

static inline void vm_request(const struct vm_request_sink *sink, enum vm_request req)
{
	if (sink && sink->fn)
		sink->fn(sink->ctx, req);
}

#endif
