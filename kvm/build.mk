core-y += kvm/guest_mem.o kvm/io_bus.o kvm/vm.o kvm/vcpu.o kvm/cpuid.o kvm/boot.o kvm/bzimage_unpack.o \
	  kvm/pvh.o kvm/pvh_elf.o \
	  kvm/serial.o kvm/rtc.o kvm/acpi_pm.o kvm/pci.o kvm/machine.o kvm/xen.o kvm/kvm_probe.o
# The host-side bzImage unpacker: the compressors Linux builds with.
ldlibs-y += -llz4 -lzstd -lz -llzma
fuzzers += kernel_image
fuzz-kernel_image-y := tests/fuzz/fuzz_kernel_image.o kvm/boot.o kvm/bzimage_unpack.o kvm/pvh.o kvm/pvh_elf.o \
	lib/log.o
