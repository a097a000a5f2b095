/*
 * ACPI table builder: RSDP, XSDT, RSDT, FADT, FACS, MADT and the DSDT for
 * the PC the VMM emulates (see include/xenkvm/acpi.h for the hardware).
 *
 * Layout inside the caller's region, in this order:
 *   RSDP (16-aligned) | XSDT | RSDT | FADT | FACS (64-aligned) | MADT | DSDT
 * Fixed-size tables are placed first so the DSDT, whose size is only known
 * once emitted, can be written straight into what is left.  Checksums are
 * filled in last, leaves before the tables pointing at them.
 */
#include <errno.h>
#include <string.h>

#include "xenkvm/acpi.h"
#include "xenkvm/aml.h"
#include "xenkvm/log.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ACPI tables are little-endian and are built with host-order structs"
#endif

#define ACPI_OEM_ID		"XENKVM"
#define ACPI_OEM_TABLE_ID	"XENKVM  "
#define ACPI_OEM_REVISION	1
#define ACPI_CREATOR_ID		"XKVM"
#define ACPI_CREATOR_REVISION	1

struct acpi_sdt_hdr {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;		/* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;	/* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

/* Generic Address Structure */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_SYSTEM_IO	1
#define ACPI_GAS_ACCESS_BYTE	1
#define ACPI_GAS_ACCESS_WORD	2
#define ACPI_GAS_ACCESS_DWORD	3

/* FADT as of ACPI 6.0 (major 6, minor 0). */
struct acpi_fadt {
	struct acpi_sdt_hdr hdr;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk;
	uint32_t pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat;
	uint16_t flush_size, flush_stride;
	uint8_t duty_offset, duty_width;
	uint8_t day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));

#define FADT_WBINVD		(1u << 0)
#define FADT_PROC_C1		(1u << 2)
#define FADT_SLP_BUTTON		(1u << 5)	/* set = no fixed-feature sleep button */
#define FADT_RESET_REG_SUP	(1u << 10)
#define FADT_HW_REDUCED_ACPI	(1u << 20)

#define FADT_BOOT_LEGACY_DEVICES (1u << 0)	/* ISA devices (UART, RTC) present */
#define FADT_BOOT_VGA_NOT_PRESENT (1u << 2)
#define FADT_BOOT_CMOS_RTC_NOT_PRESENT (1u << 5)

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} __attribute__((packed));

struct acpi_madt {
	struct acpi_sdt_hdr hdr;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

#define MADT_PCAT_COMPAT	(1u << 0)

struct madt_lapic {
	uint8_t type, length;		/* 0, 8 */
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length;		/* 1, 12 */
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_iso {
	uint8_t type, length;		/* 2, 10 */
	uint8_t bus;			/* 0 = ISA */
	uint8_t source_irq;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type, length;		/* 4, 6 */
	uint8_t processor_uid;		/* 0xff = all */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

#define MADT_LAPIC_ENABLED	(1u << 0)
/* MPS INTI flags: polarity in bits 1:0, trigger mode in bits 3:2 */
#define MPS_POLARITY_HIGH	0x1
#define MPS_TRIGGER_EDGE	(0x1 << 2)
#define MPS_TRIGGER_LEVEL	(0x3 << 2)

_Static_assert(sizeof(struct acpi_sdt_hdr) == 36, "SDT header");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT 6.0");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC");
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC");
_Static_assert(sizeof(struct madt_iso) == 10, "MADT ISO");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT LAPIC NMI");

#define MADT_NR_ISOS 2

int acpi_pci_intx_gsi(unsigned int slot, unsigned int pin)
{
	if (slot >= ACPI_PCI_SLOTS || pin > 3)
		return -EINVAL;
	return ACPI_PCI_INTX_GSI_BASE + (int)((slot + pin) % ACPI_PCI_INTX_GSI_COUNT);
}

static uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

static void acpi_fill_hdr(struct acpi_sdt_hdr *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	h->checksum = 0;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REVISION;
}

/* Checksum byte of the SDT at `p` (length already in its header). */
static void acpi_seal(uint8_t *p)
{
	struct acpi_sdt_hdr h;

	memcpy(&h, p, sizeof(h));
	p[offsetof(struct acpi_sdt_hdr, checksum)] = 0;
	p[offsetof(struct acpi_sdt_hdr, checksum)] = acpi_checksum(p, h.length);
}

static struct acpi_gas acpi_gas_io(uint16_t port, uint8_t len, uint8_t access)
{
	struct acpi_gas g = {
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = (uint8_t)(len * 8),
		.access_size = access,
		.address = port,
	};
	return g;
}

/* Bump allocator over the caller's region, aligning guest addresses. */
struct acpi_region {
	uint8_t *mem;
	uint64_t base_gpa;
	size_t size;
	size_t used;
};

static int acpi_alloc(struct acpi_region *r, size_t len, unsigned int align, size_t *off_r)
{
	size_t pad = (size_t)(-(r->base_gpa + r->used) & (align - 1));

	if (pad > r->size - r->used || len > r->size - r->used - pad)
		return -ENOSPC;
	memset(r->mem + r->used, 0, pad + len);
	*off_r = r->used + pad;
	r->used += pad + len;
	return 0;
}

static int acpi_config_check(const struct acpi_config *cfg)
{
	uint64_t end32 = cfg->pci_mmio32_base + cfg->pci_mmio32_size;

	if (cfg->nr_cpus < 1 || cfg->nr_cpus > ACPI_MAX_CPUS) {
		pr_err("acpi: %u vCPUs, need 1..%u", cfg->nr_cpus, ACPI_MAX_CPUS);
		return -EINVAL;
	}
	if (!cfg->pci_mmio32_size || cfg->pci_mmio32_size > (1ull << 32) ||
	    cfg->pci_mmio32_base >= (1ull << 32) || end32 > (1ull << 32) ||
	    (cfg->pci_mmio32_base < ACPI_LAPIC_ADDR + 0x100000ull && end32 > ACPI_IOAPIC_ADDR)) {
		pr_err("acpi: bad 32-bit PCI MMIO window %#llx+%#llx",
		       (unsigned long long)cfg->pci_mmio32_base,
		       (unsigned long long)cfg->pci_mmio32_size);
		return -EINVAL;
	}
	if (cfg->pci_mmio64_size &&
	    (cfg->pci_mmio64_base < (1ull << 32) ||
	     cfg->pci_mmio64_base + cfg->pci_mmio64_size - 1 < cfg->pci_mmio64_base)) {
		pr_err("acpi: bad 64-bit PCI MMIO window %#llx+%#llx",
		       (unsigned long long)cfg->pci_mmio64_base,
		       (unsigned long long)cfg->pci_mmio64_size);
		return -EINVAL;
	}
	return 0;
}

static void acpi_dsdt_pci0(struct aml_buf *b, const struct acpi_config *cfg)
{
	aml_device_begin(b, "PCI0");
	aml_name(b, "_HID");
	aml_eisaid(b, "PNP0A03");
	/* No _ADR: a device has _HID or _ADR, not both; Linux needs _SEG/_BBN. */
	aml_name(b, "_UID");
	aml_integer(b, 0);
	aml_name(b, "_BBN");
	aml_integer(b, 0);
	aml_name(b, "_SEG");
	aml_integer(b, 0);

	aml_name(b, "_CRS");
	aml_buffer_begin(b);
	aml_res_word_bus(b, 0x00, 0xff);
	/* The config ports are the bridge's own; the I/O windows skip them. */
	aml_res_io(b, ACPI_PCI_CONF_PORT, ACPI_PCI_CONF_PORT, 1, ACPI_PCI_CONF_LEN);
	aml_res_word_io(b, 0x0000, ACPI_PCI_CONF_PORT - 1);
	aml_res_word_io(b, 0x0d00, 0xffff);
	aml_res_dword_mem(b, (uint32_t)cfg->pci_mmio32_base,
			  (uint32_t)(cfg->pci_mmio32_base + cfg->pci_mmio32_size - 1),
			  AML_RES_NON_CACHEABLE);
	if (cfg->pci_mmio64_size)
		aml_res_qword_mem(b, cfg->pci_mmio64_base,
				  cfg->pci_mmio64_base + cfg->pci_mmio64_size - 1,
				  AML_RES_NON_CACHEABLE);
	aml_res_end_tag(b);
	aml_end(b);

	/* _PRT entries: { Address 0xSSSSFFFF (any function), Pin, Source 0, GSI } */
	aml_name(b, "_PRT");
	aml_package_begin(b);
	for (unsigned int slot = 0; slot < ACPI_PCI_SLOTS; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			aml_package_begin(b);
			aml_integer(b, ((uint64_t)slot << 16) | 0xffff);
			aml_integer(b, pin);
			aml_integer(b, 0);
			aml_integer(b, (uint64_t)acpi_pci_intx_gsi(slot, pin));
			aml_end(b);
		}
	}
	aml_end(b);
	aml_end(b);
}

static void acpi_dsdt_isa(struct aml_buf *b, const char *name, const char *hid, int uid,
			  uint16_t port, uint8_t len, unsigned int irq)
{
	aml_device_begin(b, name);
	aml_name(b, "_HID");
	aml_eisaid(b, hid);
	if (uid >= 0) {
		aml_name(b, "_UID");
		aml_integer(b, (uint64_t)uid);
	}
	aml_name(b, "_CRS");
	aml_buffer_begin(b);
	aml_res_io(b, port, port, 1, len);
	aml_res_irq_noflags(b, irq);
	aml_res_end_tag(b);
	aml_end(b);
	aml_end(b);
}

static void acpi_dsdt_body(struct aml_buf *b, const struct acpi_config *cfg)
{
	/* SLP_TYPa, SLP_TYPb, reserved, reserved */
	aml_name(b, "\\_S5");
	aml_package_begin(b);
	aml_integer(b, ACPI_S5_SLP_TYP);
	aml_integer(b, ACPI_S5_SLP_TYP);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_end(b);

	if (cfg->hw_reduced)
		return;   /* a PVH machine has no devices to describe */
	aml_scope_begin(b, "\\_SB");
	acpi_dsdt_pci0(b, cfg);
	acpi_dsdt_isa(b, "COM1", "PNP0501", 1, ACPI_COM1_PORT, 8, ACPI_COM1_IRQ);
	acpi_dsdt_isa(b, "RTC", "PNP0B00", -1, ACPI_RTC_PORT, 2, ACPI_RTC_IRQ);
	aml_end(b);
}

static void acpi_build_fadt(uint8_t *p, uint64_t facs_gpa, uint64_t dsdt_gpa)
{
	struct acpi_fadt f;

	memset(&f, 0, sizeof(f));
	acpi_fill_hdr(&f.hdr, "FACP", sizeof(f), 6);
	f.minor_version = 0;
	/* Below 4 GiB only the 32-bit FACS pointer may be set (ACPI 6.0 5.2.9). */
	f.firmware_ctrl = (uint32_t)facs_gpa;
	f.dsdt = (uint32_t)dsdt_gpa;
	f.x_dsdt = dsdt_gpa;
	f.sci_int = ACPI_SCI_IRQ;
	f.smi_cmd = 0;		/* no SMM: the OS finds ACPI mode already on */
	f.pm1a_evt_blk = ACPI_PM1A_EVT_PORT;
	f.pm1a_cnt_blk = ACPI_PM1A_CNT_PORT;
	f.pm_tmr_blk = ACPI_PM_TMR_PORT;
	f.pm1_evt_len = ACPI_PM1_EVT_LEN;
	f.pm1_cnt_len = ACPI_PM1_CNT_LEN;
	f.pm_tmr_len = ACPI_PM_TMR_LEN;
	f.x_pm1a_evt_blk = acpi_gas_io(ACPI_PM1A_EVT_PORT, ACPI_PM1_EVT_LEN, ACPI_GAS_ACCESS_WORD);
	f.x_pm1a_cnt_blk = acpi_gas_io(ACPI_PM1A_CNT_PORT, ACPI_PM1_CNT_LEN, ACPI_GAS_ACCESS_WORD);
	f.x_pm_tmr_blk = acpi_gas_io(ACPI_PM_TMR_PORT, ACPI_PM_TMR_LEN, ACPI_GAS_ACCESS_DWORD);
	/* Latencies above 100 / 1000 us say C2 / C3 are not supported. */
	f.p_lvl2_lat = 0x0fff;
	f.p_lvl3_lat = 0x0fff;
	f.century = ACPI_RTC_CENTURY;
	f.iapc_boot_arch = FADT_BOOT_LEGACY_DEVICES | FADT_BOOT_VGA_NOT_PRESENT;
	f.flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP;
	f.reset_reg = acpi_gas_io(ACPI_RESET_PORT, 1, ACPI_GAS_ACCESS_BYTE);
	f.reset_value = ACPI_RESET_VALUE;
	memcpy(p, &f, sizeof(f));
}

/* A PVH machine's FADT: hardware-reduced, as Xen describes PVH guests, with
 * sleep registers so the guest can power off through ACPI S5. */
static void acpi_build_fadt_hw_reduced(uint8_t *p, uint64_t facs_gpa, uint64_t dsdt_gpa)
{
	struct acpi_fadt f;

	memset(&f, 0, sizeof(f));
	acpi_fill_hdr(&f.hdr, "FACP", sizeof(f), 6);
	f.firmware_ctrl = (uint32_t)facs_gpa;   /* optional when HW-reduced; harmless */
	f.dsdt = (uint32_t)dsdt_gpa;
	f.x_dsdt = dsdt_gpa;
	f.iapc_boot_arch = FADT_BOOT_VGA_NOT_PRESENT | FADT_BOOT_CMOS_RTC_NOT_PRESENT;
	f.flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_HW_REDUCED_ACPI;
	f.sleep_control_reg = acpi_gas_io(ACPI_SLEEP_CTL_PORT, 1, ACPI_GAS_ACCESS_BYTE);
	f.sleep_status_reg = acpi_gas_io(ACPI_SLEEP_STS_PORT, 1, ACPI_GAS_ACCESS_BYTE);
	memcpy(p, &f, sizeof(f));
}

static void acpi_build_facs(uint8_t *p)
{
	struct acpi_facs f;

	memset(&f, 0, sizeof(f));
	memcpy(f.signature, "FACS", 4);
	f.length = sizeof(f);
	f.version = 2;
	memcpy(p, &f, sizeof(f));
}

static size_t acpi_madt_size(unsigned int nr_cpus, bool hw_reduced)
{
	return sizeof(struct acpi_madt) + nr_cpus * sizeof(struct madt_lapic) +
	       (hw_reduced ? 0 : sizeof(struct madt_ioapic) + MADT_NR_ISOS * sizeof(struct madt_iso)) +
	       sizeof(struct madt_lapic_nmi);
}

/* hw_reduced (PVH): the LAPICs only, no IOAPIC, overrides or 8259s. */
static void acpi_build_madt(uint8_t *p, unsigned int nr_cpus, bool hw_reduced)
{
	struct acpi_madt m;
	struct madt_ioapic io = {
		.type = 1, .length = sizeof(io),
		.ioapic_id = ACPI_IOAPIC_ID,
		.address = ACPI_IOAPIC_ADDR,
		.gsi_base = 0,
	};
	struct madt_iso isos[MADT_NR_ISOS] = {
		{ .type = 2, .length = sizeof(struct madt_iso), .bus = 0, .source_irq = 0,
		  .gsi = ACPI_PIT_GSI, .flags = MPS_POLARITY_HIGH | MPS_TRIGGER_EDGE },
		{ .type = 2, .length = sizeof(struct madt_iso), .bus = 0, .source_irq = ACPI_SCI_IRQ,
		  .gsi = ACPI_SCI_IRQ, .flags = MPS_POLARITY_HIGH | MPS_TRIGGER_LEVEL },
	};
	struct madt_lapic_nmi nmi = {
		.type = 4, .length = sizeof(nmi), .processor_uid = 0xff, .flags = 0, .lint = 1,
	};
	size_t off = sizeof(m);

	memset(&m, 0, sizeof(m));
	acpi_fill_hdr(&m.hdr, "APIC", (uint32_t)acpi_madt_size(nr_cpus, hw_reduced), 3);
	m.lapic_address = ACPI_LAPIC_ADDR;
	m.flags = hw_reduced ? 0 : MADT_PCAT_COMPAT;
	memcpy(p, &m, sizeof(m));
	for (unsigned int i = 0; i < nr_cpus; i++) {
		struct madt_lapic l = {
			.type = 0, .length = sizeof(l),
			.processor_uid = (uint8_t)i, .apic_id = (uint8_t)i,
			.flags = MADT_LAPIC_ENABLED,
		};
		memcpy(p + off, &l, sizeof(l));
		off += sizeof(l);
	}
	if (hw_reduced) {
		memcpy(p + off, &nmi, sizeof(nmi));
		return;
	}
	memcpy(p + off, &io, sizeof(io));
	off += sizeof(io);
	memcpy(p + off, isos, sizeof(isos));
	off += sizeof(isos);
	memcpy(p + off, &nmi, sizeof(nmi));
}

int acpi_build(const struct acpi_config *cfg, void *mem, uint64_t base_gpa, size_t size,
	       uint64_t *rsdp_gpa_r)
{
	struct acpi_region r = { .mem = mem, .base_gpa = base_gpa, .size = size };
	size_t rsdp, xsdt, rsdt, fadt, facs, madt, dsdt;
	const size_t madt_len = acpi_madt_size(cfg ? cfg->nr_cpus : 0, cfg && cfg->hw_reduced);
	const uint32_t xsdt_len = sizeof(struct acpi_sdt_hdr) + 2 * 8;
	const uint32_t rsdt_len = sizeof(struct acpi_sdt_hdr) + 2 * 4;
	struct acpi_sdt_hdr h;
	struct acpi_rsdp rp;
	struct aml_buf b;
	uint64_t ptrs64[2];
	uint32_t ptrs32[2];
	long aml_len;
	int rc;

	if (!cfg || !mem)
		return -EINVAL;
	rc = acpi_config_check(cfg);
	if (rc)
		goto out;
	/* RSDT, FADT.DSDT and FADT.FIRMWARE_CTRL are 32-bit pointers. */
	if (base_gpa >= (1ull << 32)) {
		rc = -EINVAL;
		goto out;
	}
	if (r.size > (1ull << 32) - base_gpa)
		r.size = (size_t)((1ull << 32) - base_gpa);

	if ((rc = acpi_alloc(&r, sizeof(struct acpi_rsdp), 16, &rsdp)) ||
	    (rc = acpi_alloc(&r, xsdt_len, 8, &xsdt)) ||
	    (rc = acpi_alloc(&r, rsdt_len, 8, &rsdt)) ||
	    (rc = acpi_alloc(&r, sizeof(struct acpi_fadt), 8, &fadt)) ||
	    (rc = acpi_alloc(&r, sizeof(struct acpi_facs), 64, &facs)) ||
	    (rc = acpi_alloc(&r, madt_len, 8, &madt)) ||
	    (rc = acpi_alloc(&r, sizeof(struct acpi_sdt_hdr), 8, &dsdt)))
		goto out;

	/* The DSDT body goes straight after its header, into what is left. */
	aml_init(&b, r.mem + r.used, r.size - r.used);
	acpi_dsdt_body(&b, cfg);
	aml_len = aml_finish(&b);
	if (aml_len < 0) {
		rc = (int)aml_len;
		goto out;
	}
	r.used += (size_t)aml_len;
	acpi_fill_hdr(&h, "DSDT", (uint32_t)(sizeof(h) + (size_t)aml_len), 2);
	memcpy(r.mem + dsdt, &h, sizeof(h));
	acpi_seal(r.mem + dsdt);

	acpi_build_facs(r.mem + facs);
	if (cfg->hw_reduced)
		acpi_build_fadt_hw_reduced(r.mem + fadt, base_gpa + facs, base_gpa + dsdt);
	else
		acpi_build_fadt(r.mem + fadt, base_gpa + facs, base_gpa + dsdt);
	acpi_seal(r.mem + fadt);
	acpi_build_madt(r.mem + madt, cfg->nr_cpus, cfg->hw_reduced);
	acpi_seal(r.mem + madt);

	ptrs64[0] = base_gpa + fadt;
	ptrs64[1] = base_gpa + madt;
	acpi_fill_hdr(&h, "XSDT", xsdt_len, 1);
	memcpy(r.mem + xsdt, &h, sizeof(h));
	memcpy(r.mem + xsdt + sizeof(h), ptrs64, sizeof(ptrs64));
	acpi_seal(r.mem + xsdt);

	ptrs32[0] = (uint32_t)ptrs64[0];
	ptrs32[1] = (uint32_t)ptrs64[1];
	acpi_fill_hdr(&h, "RSDT", rsdt_len, 1);
	memcpy(r.mem + rsdt, &h, sizeof(h));
	memcpy(r.mem + rsdt + sizeof(h), ptrs32, sizeof(ptrs32));
	acpi_seal(r.mem + rsdt);

	memset(&rp, 0, sizeof(rp));
	memcpy(rp.signature, "RSD PTR ", 8);
	memcpy(rp.oem_id, ACPI_OEM_ID, 6);
	rp.revision = 2;
	rp.rsdt_address = (uint32_t)(base_gpa + rsdt);
	rp.length = sizeof(rp);
	rp.xsdt_address = base_gpa + xsdt;
	rp.checksum = acpi_checksum((const uint8_t *)&rp, 20);
	rp.extended_checksum = acpi_checksum((const uint8_t *)&rp, sizeof(rp));
	memcpy(r.mem + rsdp, &rp, sizeof(rp));

	if (rsdp_gpa_r)
		*rsdp_gpa_r = base_gpa + rsdp;
	rc = (int)r.used;
out:
	if (rc == -ENOSPC)
		pr_debug("acpi: tables do not fit in %zu bytes at %#llx", size,
		       (unsigned long long)base_gpa);
	return rc;
}
