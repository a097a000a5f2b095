core-y += kvm/io_bus.o kvm/vm.o kvm/vcpu.o kvm/cpuid.o kvm/boot.o kvm/bzimage_unpack.o \
	  kvm/pvh.o kvm/pvh_elf.o \
	  kvm/serial.o kvm/rtc.o kvm/acpi_pm.o kvm/pci.o kvm/machine.o kvm/xen.o kvm/kvm_probe.o \
	  kvm/fw_cfg.o kvm/smbios.o kvm/debugcon.o kvm/firmware.o \
	  kvm/xen_platform.o kvm/piix3.o kvm/ide.o kvm/ide_bmdma.o kvm/atapi.o \
	  kvm/vm_state.o kvm/vm_ram_state.o kvm/vcpu_state.o kvm/cpuid_state.o kvm/machine_state.o
# The host-side bzImage unpacker: the compressors Linux builds with.
ldlibs-y += -llz4 -lzstd -lz -llzma
fuzzers += kernel_image
fuzz-kernel_image-y := tests/fuzz/fuzz_kernel_image.o kvm/boot.o kvm/bzimage_unpack.o kvm/pvh.o kvm/pvh_elf.o \
	lib/log.o
fuzzers += fw_cfg
fuzz-fw_cfg-y := tests/fuzz/fuzz_fw_cfg.o kvm/fw_cfg.o lib/guest_mem.o kvm/io_bus.o lib/log.o
# The IDE model under arbitrary register traffic, on small temp images.
fuzzers += ide
fuzz-ide-y := tests/fuzz/fuzz_ide.o kvm/ide.o kvm/ide_bmdma.o kvm/atapi.o lib/guest_mem.o lib/log.o
# The state codecs (guest RAM, one vCPU) without KVM; vm_state.c's ioctls are
# tests/system/test_vm_state.sh's.
unit-tests += vm_state
test-vm_state-y := tests/unit/test_vm_state.o kvm/vm_ram_state.o kvm/vcpu_state.o kvm/cpuid_state.o \
	lib/state_stream.o
fuzzers += vm_state
fuzz-vm_state-y := tests/fuzz/fuzz_vm_state.o kvm/vm_ram_state.o kvm/vcpu_state.o lib/state_stream.o
