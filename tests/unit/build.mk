# Unit tests of kvm/ and lib/ pieces that need no /dev/kvm.
unit-tests += guest_mem boot pvh bzimage_unpack cpuid devices io_bus event_loop
test-guest_mem-y := tests/unit/test_guest_mem.o kvm/guest_mem.o
test-boot-y := tests/unit/test_boot.o kvm/boot.o kvm/bzimage_unpack.o lib/log.o
test-pvh-y := tests/unit/test_pvh.o kvm/pvh.o kvm/pvh_elf.o kvm/boot.o kvm/bzimage_unpack.o lib/log.o
test-bzimage_unpack-y := tests/unit/test_bzimage_unpack.o kvm/boot.o kvm/bzimage_unpack.o lib/log.o
test-cpuid-y := tests/unit/test_cpuid.o kvm/cpuid.o
test-io_bus-y := tests/unit/test_io_bus.o kvm/io_bus.o
# Device models run detached from a VM; tests/unit/fake_vm.c stands in for kvm/vm.c.
test-devices-y := tests/unit/test_devices.o kvm/serial.o kvm/rtc.o kvm/acpi_pm.o kvm/pci.o \
		  kvm/io_bus.o kvm/acpi/acpi.o kvm/acpi/aml.o tests/unit/fake_vm.o lib/log.o
test-event_loop-y := tests/unit/test_event_loop.o lib/event_loop.o lib/log.o

# Every ring consumer under a guest that rewrites its shared pages meanwhile
# (blkback, netback tx/rx, the XenStore ring, the PV console).  Recursive: the
# backends' object lists come from fragments included after this one.
unit-tests += double_fetch
test-double_fetch-y = tests/unit/test_double_fetch.o $(blk-dir)/ring.o $(blk-dir)/io.o \
	$(net-dir)/queue.o $(net-dir)/tx.o $(net-dir)/rx.o lib/net_pkt.o xen-compat/pv_console.o \
	$(xs-engine-y) $(xs-dir)/wire.o $(xs-dir)/ring.o $(xen-core-y) kvm/guest_mem.o lib/log.o \
	lib/event_loop.o tests/unit/xen_fake_vmm.o
# Under TSan too (make check-tsan): the ring consumers, with the event-loop
# threads blkback and netback run on.  (event_loop's own test is not clean
# yet: it reads handler counters without atomics.)
tsan-tests += double_fetch netback blkback pv_console xenstore_ring
