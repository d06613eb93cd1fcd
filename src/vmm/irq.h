/* An interrupt line as a device sees it: a GSI and a function that drives it.
 * In the VMM it is KVM_IRQ_LINE; in unit tests a recorder. */
#ifndef VIREO_VMM_IRQ_H
#define VIREO_VMM_IRQ_H

#include <stdint.h>

struct irq_pin {
	void (*set)(void *ctx, uint32_t gsi, int level);
	void *ctx;
	uint32_t gsi;
};

static inline void irq_pin_set(const struct irq_pin *pin, int level)
{
	if (pin->set)
		pin->set(pin->ctx, pin->gsi, level);
}

/* Edge for an edge-triggered ISA line: raise then lower. */
static inline void irq_pin_pulse(const struct irq_pin *pin)
{
	irq_pin_set(pin, 1);
	irq_pin_set(pin, 0);
}

#endif
