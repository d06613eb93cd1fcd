/* ACPI PM fixed hardware (see acpi_pm.h). Registers are decoded byte by byte so
 * any access width or offset the guest uses is handled without a special case;
 * one mutex orders the vCPU threads' accesses with the main thread's button. */
#include "vmm/devices/acpi_pm.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#include <pthread.h>
#include <stdlib.h>

/* Event bits whose status/enable pair can raise the SCI. Only the power button
 * status is ever set by this device, but every enable bit is kept: ACPICA
 * reads an enable bit back after setting it (the global lock, RTC alarm) and
 * logs an error if the hardware "did not respond". */
#define PM1_EVENT_BITS (ACPI_PM1_TMR_STS | ACPI_PM1_GBL_STS | ACPI_PM1_PWRBTN_STS | \
			ACPI_PM1_SLPBTN_STS | ACPI_PM1_RTC_STS)
/* Status bits that exist (write 1 to clear). */
#define PM1_STS_BITS (PM1_EVENT_BITS | ACPI_PM1_WAK_STS)
/* PM1_CNT bits kept as written: BM_RLD and SLP_TYP (SCI_EN always reads 1,
 * GBL_RLS and SLP_EN are write-only). */
#define PM1_CNT_KEPT ((1u << 1) | ACPI_PM1_SLP_TYP_MASK)

struct acpi_pm {
	pthread_mutex_t lock;
	struct bus *pio;
	struct irq_pin sci;
	struct vm_request_sink sink;
	uint16_t evt_port, cnt_port, tmr_port, reset_port;
	uint16_t sts, en, cnt;
	uint8_t reset_reg;
	bool sci_level;
	uint64_t tmr_start_ns;
};

/* Called with the lock held, so level changes reach the line in order. */
static void acpi_pm_update_sci(struct acpi_pm *pm)
{
	bool level = (pm->sts & pm->en & PM1_EVENT_BITS) != 0;

	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_pin_set(&pm->sci, level);
	}
}

static void acpi_pm_evt_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	uint16_t clear = 0;

	pthread_mutex_lock(&pm->lock);
	for (uint32_t i = 0; i < len && i < 8; i++) {
		uint64_t reg = offset + i; /* 0-1 PM1_STS, 2-3 PM1_EN */
		unsigned shift = 8 * (unsigned)(reg & 1);

		if (reg >= 4) {
			if (!is_write)
				data[i] = 0xff;
			continue;
		}
		if (is_write) {
			if (reg < 2)
				clear |= (uint16_t)(data[i] << shift);
			else
				pm->en = (uint16_t)((pm->en & ~(0xffu << shift)) | ((unsigned)data[i] << shift));
		} else {
			data[i] = (uint8_t)((reg < 2 ? pm->sts : pm->en) >> shift);
		}
	}
	if (is_write) {
		pm->sts &= (uint16_t)~(clear & PM1_STS_BITS);
		pm->en &= PM1_EVENT_BITS;
		acpi_pm_update_sci(pm);
	}
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_cnt_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	uint16_t val = 0, written = 0;
	bool poweroff = false;

	pthread_mutex_lock(&pm->lock);
	val = pm->cnt;
	for (uint32_t i = 0; i < len && i < 8; i++) {
		uint64_t reg = offset + i;

		if (reg >= 2) {
			if (!is_write)
				data[i] = 0xff;
			continue;
		}
		if (is_write) {
			val = (uint16_t)((val & ~(0xffu << (8 * reg))) | ((unsigned)data[i] << (8 * reg)));
			written |= (uint16_t)(0xffu << (8 * reg));
		} else {
			data[i] = (uint8_t)((pm->cnt | ACPI_PM1_SCI_EN) >> (8 * reg));
		}
	}
	if (is_write) {
		unsigned typ = (val & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT;

		pm->cnt = val & PM1_CNT_KEPT;
		if ((written & val & ACPI_PM1_SLP_EN) != 0) {
			if (typ == ACPI_S5_SLP_TYP)
				poweroff = true;
			else
				log_warn("acpi_pm: guest asked for sleep type %u, only S5 (%u) is supported; ignored",
					 typ, ACPI_S5_SLP_TYP);
		}
	}
	pthread_mutex_unlock(&pm->lock);
	/* Outside the lock: the sink may stop vCPUs or tear the machine down. */
	if (poweroff)
		vm_request(&pm->sink, VM_REQUEST_POWEROFF);
}

static uint32_t acpi_pm_timer_value(const struct acpi_pm *pm)
{
	uint64_t ns = clock_ns() - pm->tmr_start_ns;

	/* Split the product so it cannot overflow 64 bits after ~85 minutes. */
	return (uint32_t)((ns / 1000000000u) * ACPI_PM_TIMER_HZ +
			  (ns % 1000000000u) * ACPI_PM_TIMER_HZ / 1000000000u);
}

static void acpi_pm_tmr_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	uint32_t v;

	if (is_write)
		return; /* read-only */
	v = acpi_pm_timer_value(pm);
	for (uint32_t i = 0; i < len && i < 8; i++) {
		uint64_t reg = offset + i;

		data[i] = reg < 4 ? (uint8_t)(v >> (8 * reg)) : 0xff;
	}
}

static void acpi_pm_reset_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	bool reset = false;

	pthread_mutex_lock(&pm->lock);
	for (uint32_t i = 0; i < len && i < 8; i++) {
		if (offset + i != 0) {
			if (!is_write)
				data[i] = 0xff;
			continue;
		}
		if (is_write) {
			/* RST_CPU (bit 2) starts the reset, as on the PIIX4/ICH register
			 * the FADT value 0x06 is written to; the other bits are kept. */
			reset = (data[i] & 0x04) != 0;
			pm->reset_reg = data[i] & (uint8_t)~0x04;
		} else {
			data[i] = pm->reset_reg;
		}
	}
	pthread_mutex_unlock(&pm->lock);
	if (reset)
		vm_request(&pm->sink, VM_REQUEST_RESET);
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	if (pm->evt_port)
		bus_unregister(pm->pio, pm->evt_port);
	if (pm->cnt_port)
		bus_unregister(pm->pio, pm->cnt_port);
	if (pm->tmr_port)
		bus_unregister(pm->pio, pm->tmr_port);
	if (pm->reset_port)
		bus_unregister(pm->pio, pm->reset_port);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

struct acpi_pm *acpi_pm_create(struct bus *pio, const struct acpi_config *cfg, struct irq_pin sci,
			       struct vm_request_sink sink)
{
	struct acpi_pm *pm;

	if (!cfg->pm1a_evt_port || !cfg->pm1a_cnt_port) {
		err_set(ERR_INVALID, "acpi_pm: PM1a event and control blocks need I/O ports");
		return NULL;
	}
	pm = calloc(1, sizeof(*pm));
	if (!pm) {
		err_set(ERR_NOMEM, "acpi_pm: out of memory");
		return NULL;
	}
	pthread_mutex_init(&pm->lock, NULL);
	pm->pio = pio;
	pm->sci = sci;
	pm->sink = sink;
	pm->tmr_start_ns = clock_ns();
	/* Each port field is set only once its range is registered, so that
	 * destroy unregisters exactly what this device owns. */
	if (bus_register(pio, cfg->pm1a_evt_port, 4, acpi_pm_evt_io, pm, "acpi-pm1a-evt") < 0)
		goto fail;
	pm->evt_port = cfg->pm1a_evt_port;
	if (bus_register(pio, cfg->pm1a_cnt_port, 2, acpi_pm_cnt_io, pm, "acpi-pm1a-cnt") < 0)
		goto fail;
	pm->cnt_port = cfg->pm1a_cnt_port;
	if (cfg->pm_tmr_port) {
		if (bus_register(pio, cfg->pm_tmr_port, 4, acpi_pm_tmr_io, pm, "acpi-pm-timer") < 0)
			goto fail;
		pm->tmr_port = cfg->pm_tmr_port;
	}
	if (cfg->reset_port) {
		if (bus_register(pio, cfg->reset_port, 1, acpi_pm_reset_io, pm, "acpi-reset") < 0)
			goto fail;
		pm->reset_port = cfg->reset_port;
	}
	return pm;
fail:
	err_prefix("acpi_pm");
	acpi_pm_destroy(pm);
	return NULL;
}

void acpi_pm_press_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= ACPI_PM1_PWRBTN_STS;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_reset(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts = 0;
	pm->en = 0;
	pm->cnt = 0;
	pm->reset_reg = 0;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

bool acpi_pm_sci_asserted(struct acpi_pm *pm)
{
	bool level;

	pthread_mutex_lock(&pm->lock);
	level = pm->sci_level;
	pthread_mutex_unlock(&pm->lock);
	return level;
}
