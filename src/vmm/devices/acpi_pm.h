/* ACPI fixed-hardware power management on I/O ports: PM1a event and control
 * blocks (power button, SCI, S5 soft-off), the PM timer and the reset register
 * that the FADT built by acpi/acpi.c describes. */
#ifndef VIREO_VMM_DEVICES_ACPI_PM_H
#define VIREO_VMM_DEVICES_ACPI_PM_H

#include "vmm/acpi/acpi.h"
#include "vmm/bus.h"
#include "vmm/devices/device.h"
#include "vmm/irq.h"

/* PM1 status / enable bits (ACPI 6.3, 4.8.3.1) and PM1 control bits (4.8.3.2). */
#define ACPI_PM1_TMR_STS (1u << 0)
#define ACPI_PM1_GBL_STS (1u << 5)
#define ACPI_PM1_PWRBTN_STS (1u << 8)
#define ACPI_PM1_SLPBTN_STS (1u << 9)
#define ACPI_PM1_RTC_STS (1u << 10)
#define ACPI_PM1_WAK_STS (1u << 15)
#define ACPI_PM1_TMR_EN (1u << 0)
#define ACPI_PM1_GBL_EN (1u << 5)
#define ACPI_PM1_PWRBTN_EN (1u << 8)
#define ACPI_PM1_SLPBTN_EN (1u << 9)
#define ACPI_PM1_RTC_EN (1u << 10)
#define ACPI_PM1_SCI_EN (1u << 0)
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK (7u << ACPI_PM1_SLP_TYP_SHIFT)
#define ACPI_PM1_SLP_EN (1u << 13)
/* PM timer frequency in Hz. */
#define ACPI_PM_TIMER_HZ 3579545u

struct acpi_pm;

/* Registers PM1a_EVT (4 ports), PM1a_CNT (2), the PM timer (4, if
 * cfg->pm_tmr_port) and the reset register (1, if cfg->reset_port) on pio.
 * sci is the SCI line (level: 1 asserted); sink receives VM_REQUEST_POWEROFF
 * on an S5 request and VM_REQUEST_RESET on a reset write. NULL with the error
 * set if a port range is taken. */
struct acpi_pm *acpi_pm_create(struct bus *pio, const struct acpi_config *cfg, struct irq_pin sci,
			       struct vm_request_sink sink);
/* Unregisters the ports and frees; NULL is allowed. */
void acpi_pm_destroy(struct acpi_pm *pm);
/* A press of the fixed-feature power button (QMP system_powerdown): sets
 * PWRBTN_STS; the SCI stays asserted while the guest has PWRBTN_EN set and
 * has not cleared the status. Safe from any thread. */
void acpi_pm_press_power_button(struct acpi_pm *pm);
/* Machine reset: registers to their power-on values, SCI deasserted. */
void acpi_pm_reset(struct acpi_pm *pm);
/* Whether the SCI line is currently asserted (for tests and QMP queries). */
bool acpi_pm_sci_asserted(struct acpi_pm *pm);

#endif
