core-y += kvm/guest_mem.o kvm/io_bus.o kvm/vm.o kvm/vcpu.o kvm/cpuid.o kvm/boot.o \
	  kvm/serial.o kvm/rtc.o kvm/acpi_pm.o kvm/pci.o kvm/machine.o kvm/xen.o
