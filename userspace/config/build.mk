# xl.cfg reading: syntax (xlcfg), keys (domain_config), disk and vif specs.
config-objs := userspace/config/xlcfg.o userspace/config/domain_config.o \
	       userspace/config/disk_spec.o userspace/config/vif_spec.o
core-y += $(config-objs)
# The config section of a saved domain (first in every save).
core-y += userspace/config/config_state.o
unit-tests += config_state
test-config_state-y := tests/unit/test_config_state.o userspace/config/config_state.o \
	lib/state_stream.o lib/log.o
fuzzers += config_state
fuzz-config_state-y := tests/fuzz/fuzz_config_state.o userspace/config/config_state.o \
	$(config-objs) lib/state_stream.o lib/log.o

unit-tests += xlcfg domain_config
test-xlcfg-y := tests/unit/test_xlcfg.o userspace/config/xlcfg.o lib/log.o
test-domain_config-y := tests/unit/test_domain_config.o $(config-objs) lib/log.o

fuzzers += xlcfg
fuzz-xlcfg-y := tests/fuzz/fuzz_xlcfg.o $(config-objs) lib/log.o


# xlcfg-dump: prints a parsed config canonically (golden tests, debugging).
$(BUILD)/xlcfg-dump: $(addprefix $(BUILD)/obj/,userspace/config/xlcfg-dump.o $(config-objs) lib/log.o)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(ldlibs-y)

# xlu-crosscheck: compares our parser with Xen's own libxlutil on the golden
# corpus.  Test-only; built only where libxen-dev is installed.
ifneq ($(wildcard /usr/include/libxlutil.h),)
$(BUILD)/xlu-crosscheck: $(addprefix $(BUILD)/obj/,tests/xlcfg/xlu-crosscheck.o $(config-objs) lib/log.o)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lxlutil -lxenlight $(ldlibs-y)
xlcfg-golden-deps := $(BUILD)/xlcfg-dump $(BUILD)/xlu-crosscheck
else
xlcfg-golden-deps := $(BUILD)/xlcfg-dump
endif

.PHONY: check-xlcfg
check-xlcfg: $(xlcfg-golden-deps)
	$(Q)tests/xlcfg/run-golden.sh $(BUILD)
