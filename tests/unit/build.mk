# Unit tests of kvm/ and lib/ pieces that need no /dev/kvm.
unit-tests += guest_mem boot bzimage_unpack cpuid devices io_bus event_loop
test-guest_mem-y := tests/unit/test_guest_mem.o kvm/guest_mem.o
test-boot-y := tests/unit/test_boot.o kvm/boot.o kvm/bzimage_unpack.o lib/log.o
test-bzimage_unpack-y := tests/unit/test_bzimage_unpack.o kvm/boot.o kvm/bzimage_unpack.o lib/log.o
test-cpuid-y := tests/unit/test_cpuid.o kvm/cpuid.o
test-io_bus-y := tests/unit/test_io_bus.o kvm/io_bus.o
# Device models run detached from a VM; tests/unit/fake_vm.c stands in for kvm/vm.c.
test-devices-y := tests/unit/test_devices.o kvm/serial.o kvm/rtc.o kvm/acpi_pm.o kvm/pci.o lib/thread_role.o \
		  kvm/io_bus.o kvm/acpi/acpi.o kvm/acpi/aml.o tests/unit/fake_vm.o lib/log.o
test-event_loop-y := tests/unit/test_event_loop.o lib/event_loop.o lib/thread_role.o lib/log.o
