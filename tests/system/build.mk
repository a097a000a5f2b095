# System tests: tests/system/run.sh boots real guests (see there).  kvm-probe tells it
# whether the local /dev/kvm can run them or a nested host is needed; it is built by
# `make` so that `make check-system` (which depends on all) has it.
all: $(BUILD)/kvm-probe

$(BUILD)/kvm-probe: $(BUILD)/obj/tests/system/kvm-probe.o $(BUILD)/obj/kvm/kvm_probe.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^
# kvm/'s save and load on a live two-vCPU VM (tests/system/test_vm_state.sh).
all: $(BUILD)/vm-state-roundtrip

$(BUILD)/vm-state-roundtrip: $(BUILD)/obj/tests/system/vm-state-roundtrip.o $(BUILD)/libxenkvm.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(ldlibs-y) -lpthread
# A whole machine (serial, RTC, ACPI PM too) with the tg64 test guest counting.
all: $(BUILD)/machine-state-roundtrip

$(BUILD)/machine-state-roundtrip: $(BUILD)/obj/tests/system/machine-state-roundtrip.o $(BUILD)/libxenkvm.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(ldlibs-y) -lpthread
