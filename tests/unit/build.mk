# Unit tests of kvm/ and lib/ pieces that need no /dev/kvm.
unit-tests += guest_mem boot pvh bzimage_unpack cpuid devices io_bus event_loop
test-guest_mem-y := tests/unit/test_guest_mem.o lib/guest_mem.o
test-boot-y := tests/unit/test_boot.o kvm/boot.o kvm/bzimage_unpack.o lib/log.o
test-pvh-y := tests/unit/test_pvh.o kvm/pvh.o kvm/pvh_elf.o kvm/boot.o kvm/bzimage_unpack.o lib/log.o
test-bzimage_unpack-y := tests/unit/test_bzimage_unpack.o kvm/boot.o kvm/bzimage_unpack.o lib/log.o
test-cpuid-y := tests/unit/test_cpuid.o kvm/cpuid.o
test-io_bus-y := tests/unit/test_io_bus.o kvm/io_bus.o
# Device models run detached from a VM; tests/unit/fake_vm.c stands in for kvm/vm.c.
test-devices-y := tests/unit/test_devices.o kvm/serial.o lib/state_stream.o kvm/rtc.o kvm/acpi_pm.o kvm/pci.o lib/thread_role.o \
		  kvm/io_bus.o kvm/acpi/acpi.o kvm/acpi/aml.o tests/unit/fake_vm.o lib/log.o
test-event_loop-y := tests/unit/test_event_loop.o lib/event_loop.o lib/thread_role.o lib/log.o
unit-tests += fw_cfg
test-fw_cfg-y := tests/unit/test_fw_cfg.o kvm/fw_cfg.o lib/guest_mem.o kvm/io_bus.o kvm/acpi/acpi.o \
		kvm/acpi/aml.o kvm/acpi/loader.o lib/log.o
unit-tests += smbios
test-smbios-y := tests/unit/test_smbios.o kvm/smbios.o
unit-tests += firmware
test-firmware-y := tests/unit/test_firmware.o kvm/firmware.o kvm/fw_cfg.o kvm/debugcon.o kvm/smbios.o \
		   kvm/acpi/acpi.o kvm/acpi/aml.o kvm/acpi/loader.o kvm/rtc.o lib/state_stream.o kvm/io_bus.o lib/guest_mem.o \
		   kvm/boot.o kvm/bzimage_unpack.o tests/unit/fake_vm.o lib/log.o

# Every ring consumer under a guest that rewrites its shared pages meanwhile
# (blkback, netback tx/rx, the XenStore ring, the PV console).  Recursive: the
# backends' object lists come from fragments included after this one.
unit-tests += double_fetch
test-double_fetch-y = tests/unit/test_double_fetch.o $(blk-dir)/ring.o $(blk-dir)/io.o \
	$(net-dir)/queue.o $(net-dir)/tx.o $(net-dir)/rx.o lib/net_pkt.o xen-compat/pv_console.o \
	$(xs-engine-y) $(xs-dir)/wire.o $(xs-dir)/ring.o $(xen-core-y) lib/guest_mem.o lib/log.o \
	lib/event_loop.o lib/thread_role.o tests/unit/xen_fake_vmm.o
# Under TSan too (make check-tsan): the ring consumers, with the event-loop
# threads blkback and netback run on.  (event_loop's own test is not clean
# yet: it reads handler counters without atomics.)
tsan-tests += double_fetch netback blkback pv_console xenstore_ring
# The PIIX3 IDE controller (ATA + ATAPI) and Xen's unplug protocol, on temp images.
unit-tests += ide
test-ide-y := tests/unit/test_ide.o kvm/ide.o kvm/ide_bmdma.o kvm/atapi.o lib/guest_mem.o kvm/piix3.o kvm/xen_platform.o \
	      kvm/pci.o lib/state_stream.o kvm/io_bus.o kvm/acpi/acpi.o kvm/acpi/aml.o tests/unit/fake_vm.o lib/log.o
