/*
 * ACPI tables for a firmware-less PC guest booted straight into Linux.
 *
 * The numbers below describe the hardware the VMM emulates; the tables are
 * generated from them, so the device models must use the same constants.
 *
 * Tables: RSDP (rev 2) -> XSDT and RSDT -> FADT (6.0, not HW-reduced) and
 * MADT; FADT -> FACS and DSDT.  The DSDT holds \_S5, \_SB.PCI0 (PNP0A03,
 * bus 0, _CRS windows, _PRT), \_SB.COM1 (PNP0501) and \_SB.RTC (PNP0B00).
 *
 * Interrupts (in-kernel KVM irqchip):
 *   ISA IRQ n -> GSI n, except IRQ0 (PIT) -> GSI 2 (edge, active high) and
 *   IRQ9 (SCI) -> GSI 9 level, active high.  GSI 16..23 are PCI INTx,
 *   level, active low as Linux programs them; the VMM asserts/deasserts
 *   them with KVM_IRQ_LINE level 1/0 (KVM's IOAPIC has no polarity).
 *   INTx rule: slot s, pin p (0 = INTA .. 3 = INTD):
 *       GSI = 16 + ((s + p) % 8)
 *   the classic swizzle spread over eight pins, so neighbouring slots
 *   do not share a line for INTA.
 *
 * IOAPIC id: 0, which is what KVM's in-kernel IOAPIC resets its ID register
 * to; x86-64 Linux does not require IOAPIC ids to differ from LAPIC ids.
 *
 * Power: writing PM1a_CNT with SLP_EN set and SLP_TYP == ACPI_S5_SLP_TYP
 * means power off.  Reset: byte write of ACPI_RESET_VALUE to I/O port
 * ACPI_RESET_PORT (0xCF9, inside the PCI config range: decode the byte
 * access at 0xCF9 before conf1).  SMI_CMD is 0, so the OS treats ACPI as
 * already enabled: PM1a_CNT reads must return SCI_EN set.  The power
 * button is a fixed feature: set PM1_STS.PWRBTN and, if PM1_EN.PWRBTN is
 * set, assert the SCI to request an orderly shutdown.
 */
#ifndef XENKVM_ACPI_H
#define XENKVM_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS		255	/* APIC ids 0..254; 0xff is broadcast */

#define ACPI_LAPIC_ADDR		0xfee00000u
#define ACPI_IOAPIC_ADDR	0xfec00000u
#define ACPI_IOAPIC_ID		0
#define ACPI_IOAPIC_PINS	24
#define ACPI_PIT_GSI		2	/* ISA IRQ0 override */

#define ACPI_SCI_IRQ		9	/* ISA IRQ = GSI, level, active high */

#define ACPI_PM1A_EVT_PORT	0x600	/* PM1_STS (2 bytes) then PM1_EN (2) */
#define ACPI_PM1_EVT_LEN	4
#define ACPI_PM1A_CNT_PORT	0x604
#define ACPI_PM1_CNT_LEN	2
#define ACPI_PM_TMR_PORT	0x608
#define ACPI_PM_TMR_LEN		4
#define ACPI_PM_TMR_HZ		3579545	/* 24-bit counter (no TMR_VAL_EXT) */
#define ACPI_PM_TMR_MASK	0x00ffffffu

#define ACPI_PM1_STS_TMR	(1u << 0)
#define ACPI_PM1_STS_PWRBTN	(1u << 8)
#define ACPI_PM1_STS_WAK	(1u << 15)
#define ACPI_PM1_EN_TMR		(1u << 0)
#define ACPI_PM1_EN_PWRBTN	(1u << 8)
#define ACPI_PM1_CNT_SCI_EN	(1u << 0)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK  (7u << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN	(1u << 13)
#define ACPI_S5_SLP_TYP		5	/* \_S5 = Package { 5, 5, 0, 0 } */

/* PVH (hw_reduced): the FADT's sleep control and status registers, the only
 * ACPI hardware such a guest has.  Control: SLP_TYPx in bits 4:2, SLP_EN
 * bit 5 (ACPI 6.0 4.8.3.7); S5 powers off. */
#define ACPI_SLEEP_CTL_PORT	0x610
#define ACPI_SLEEP_STS_PORT	0x611
#define ACPI_SLEEP_CTL_TYP_SHIFT 2
#define ACPI_SLEEP_CTL_TYP_MASK	(7u << ACPI_SLEEP_CTL_TYP_SHIFT)
#define ACPI_SLEEP_CTL_SLP_EN	(1u << 5)

#define ACPI_RESET_PORT		0xcf9
#define ACPI_RESET_VALUE	0x06

#define ACPI_PCI_CONF_PORT	0xcf8	/* mechanism #1, 8 ports, bus 0 only */
#define ACPI_PCI_CONF_LEN	8
#define ACPI_PCI_INTX_GSI_BASE	16
#define ACPI_PCI_INTX_GSI_COUNT	8
#define ACPI_PCI_SLOTS		32	/* _PRT covers every slot of bus 0 */

#define ACPI_COM1_PORT		0x3f8
#define ACPI_COM1_IRQ		4
#define ACPI_RTC_PORT		0x70
#define ACPI_RTC_IRQ		8
#define ACPI_RTC_CENTURY	0x32	/* CMOS index of the BCD century (FADT) */

/*
 * Suggested home for the tables: the BIOS area, so the legacy RSDP scan
 * finds them as well as boot_params.acpi_rsdp_addr.  Mark it reserved in
 * the e820 map.  ACPI_TABLES_MAX_SIZE bounds acpi_build()'s output for any
 * valid config (255 vCPUs, both MMIO windows).
 */
#define ACPI_TABLES_GPA		0xe0000u
#define ACPI_TABLES_SIZE	0x20000u
#define ACPI_TABLES_MAX_SIZE	0x2000u

struct acpi_config {
	unsigned int nr_cpus;		/* 1..ACPI_MAX_CPUS; APIC ids 0..nr_cpus-1 */
	/* 32-bit MMIO window for PCI BARs; below 4 GiB, clear of the
	 * IOAPIC/LAPIC range 0xFEC00000..0xFEFFFFFF. */
	uint64_t pci_mmio32_base, pci_mmio32_size;
	/* 64-bit window, at or above 4 GiB; size 0 = none. */
	uint64_t pci_mmio64_base, pci_mmio64_size;
	/* A PVH machine: FADT hardware-reduced (no PM blocks, no SCI; the
	 * sleep registers above; no CMOS RTC, VGA or legacy devices), MADT
	 * with the LAPICs only, DSDT with \_S5 only.  The PCI windows are
	 * not used. */
	bool hw_reduced;
};

/*
 * Lays the tables out in `mem`, the host view of guest memory at guest
 * physical `base_gpa` (`size` bytes, all below 4 GiB since RSDT/FADT hold
 * 32-bit pointers).  The RSDP comes first (16-byte aligned), so a region
 * inside 0xE0000..0xFFFFF is found by the legacy scan.  Returns the bytes
 * used, -EINVAL for a bad config or placement, -ENOSPC if `size` is too
 * small (nothing is written past `size`; the contents are then undefined).
 * *rsdp_gpa_r receives the RSDP's guest address.
 */
int acpi_build(const struct acpi_config *cfg, void *mem, uint64_t base_gpa, size_t size,
	       uint64_t *rsdp_gpa_r);

/* GSI of PCI bus 0 slot `slot` (0..31), pin `pin` (0 = INTA .. 3 = INTD),
 * as the _PRT routes it; -EINVAL if out of range. */
int acpi_pci_intx_gsi(unsigned int slot, unsigned int pin);

/* True if a PM1a_CNT write requests S5 (power off). */
static inline bool acpi_pm1_cnt_is_s5(uint16_t v)
{
	return (v & ACPI_PM1_CNT_SLP_EN) &&
	       ((v & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT) == ACPI_S5_SLP_TYP;
}

/* True if a sleep control register write (hw_reduced) requests S5. */
static inline bool acpi_sleep_ctl_is_s5(uint8_t v)
{
	return (v & ACPI_SLEEP_CTL_SLP_EN) &&
	       ((v & ACPI_SLEEP_CTL_TYP_MASK) >> ACPI_SLEEP_CTL_TYP_SHIFT) == ACPI_S5_SLP_TYP;
}

#endif
