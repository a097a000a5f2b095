# xenkvm userspace build.
#
# Object lists are kbuild-style fragments (build.mk) beside the code they
# build, so each directory owns its own list; this file only holds the rules.
#   core-y            objects linked into both programs (libxenkvm.a)
#   xenkvmd-y         the daemon's own objects;  xenkvm-y: the CLI's
#   unit-tests        names N; test-N-y lists the objects of build/tests/N: only
#                     the module under test, its fakes and lib/log.o, never all of core-y
#   tsan-tests        those of unit-tests that check-tsan also runs under TSan
#   fuzzers           names N; fuzz-N-y lists the objects of build/fuzz/N
#   ldlibs-y          libraries every program links
#
#   make                      build/xenkvmd, build/xenkvm (CC=clang works too)
#   make check-unit           CUnit tests, plain build
#   make check-asan           the same tests built with ASan+UBSan
#   make check-tsan           the tests in tsan-tests built with TSan
#   make check-xlcfg          xl.cfg golden corpus (and the libxlutil cross-check)
#   make check-acpi           ACPI tables through ACPICA's iasl/acpiexec
#   make check-system         system tests (boot real guests; nested host if needed)
#   make check-package        the Debian packages build and pass lintian (dist/build.mk)
#   make install, make man    install under DESTDIR/PREFIX; the manual pages (dist/build.mk)
#   make check                all of the above
#   make fuzz FUZZ_SECONDS=N  build the libFuzzer harnesses (clang) and run each for N s
#   make fuzz-long            every harness FUZZ_SECONDS (600) each, FUZZ_JOBS (nproc) at
#                             a time, persistent corpora under ~/.cache/xenkvm/fuzz/
#   make fuzz-minimize        fold those corpora into the seeds, minimised (-merge=1)

CC      ?= gcc
V       ?= 0
BUILD   ?= build
Q       := $(if $(filter 1,$(V)),,@)

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=gnu11 -g -D_GNU_SOURCE -Iinclude -I$(BUILD)/gen -pthread $(WARN)
CFLAGS  ?= -O2
LDLIBS  :=

core-y :=
xenkvmd-y :=
xenkvm-y :=
unit-tests :=
tsan-tests :=
fuzzers :=
ldlibs-y := -pthread
gen-y :=

# Declared first so that no rule in a fragment becomes the default goal.
all:

include $(sort $(wildcard */build.mk */*/build.mk */*/*/build.mk))

ASAN_FLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# gcc's TSan does not model __atomic_thread_fence and says so (-Wtsan); the
# TSan tests' host-side synchronisation does not rest on fences.
TSAN_FLAGS := -O1 -fsanitize=thread -fno-omit-frame-pointer $(if $(findstring clang,$(CC)),,-Wno-tsan)
FUZZ_CC    ?= clang
FUZZ_FLAGS := -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -DXENKVM_FUZZING

.PHONY: all clean check check-unit check-asan check-tsan check-acpi check-system fuzz fuzz-build fuzz-long \
	fuzz-minimize
all: $(BUILD)/xenkvmd $(BUILD)/xenkvm

# --- object rules: one tree per flavour (plain, asan, fuzz) -------------------
$(BUILD)/obj/%.o: %.c $(gen-y) | $(BUILD)/gen
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/obj/%.o: %.S $(gen-y) | $(BUILD)/gen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/asan/%.o: %.c $(gen-y) | $(BUILD)/gen
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-ASAN $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(ASAN_FLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/asan/%.o: %.S $(gen-y) | $(BUILD)/gen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/tsan/%.o: %.c $(gen-y) | $(BUILD)/gen
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-TSAN $<")
	$(Q)$(CC) $(BASE_CFLAGS) $(TSAN_FLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/tsan/%.o: %.S $(gen-y) | $(BUILD)/gen
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/fuzzobj/%.o: %.c $(gen-y) | $(BUILD)/gen
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-FUZZ $<")
	$(Q)$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_FLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/fuzzobj/%.o: %.S $(gen-y) | $(BUILD)/gen
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(BASE_CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/gen:
	@mkdir -p $@

objs = $(addprefix $(BUILD)/$(1)/,$(2))

$(BUILD)/libxenkvm.a: $(call objs,obj,$(core-y))
	$(Q)rm -f $@; $(AR) rcs $@ $^

$(BUILD)/xenkvmd: $(call objs,obj,$(xenkvmd-y)) $(BUILD)/libxenkvm.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(ldlibs-y)
$(BUILD)/xenkvm: $(call objs,obj,$(xenkvm-y)) $(BUILD)/libxenkvm.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(ldlibs-y)

# --- unit tests ---------------------------------------------------------------
define unit_test_rule
$(BUILD)/tests/$(1): $(call objs,obj,$(test-$(1)-y))
	@mkdir -p $$(dir $$@)
	$(Q)$(CC) $(CFLAGS) -o $$@ $$^ -lcunit $(ldlibs-y)
$(BUILD)/tests-asan/$(1): $(call objs,asan,$(test-$(1)-y))
	@mkdir -p $$(dir $$@)
	$(Q)$(CC) $(ASAN_FLAGS) -o $$@ $$^ -lcunit $(ldlibs-y)
$(BUILD)/tests-tsan/$(1): $(call objs,tsan,$(test-$(1)-y))
	@mkdir -p $$(dir $$@)
	$(Q)$(CC) $(TSAN_FLAGS) -o $$@ $$^ -lcunit $(ldlibs-y)
endef
$(foreach t,$(unit-tests),$(eval $(call unit_test_rule,$(t))))

unit-bins := $(addprefix $(BUILD)/tests/,$(unit-tests))
asan-bins := $(addprefix $(BUILD)/tests-asan/,$(unit-tests))

check-unit: $(unit-bins) all
	$(Q)tests/run-unit.sh unit $(unit-bins)
check-asan: $(asan-bins)
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run-unit.sh asan $(asan-bins)
check-tsan: $(addprefix $(BUILD)/tests-tsan/,$(tsan-tests))
	$(Q)TSAN_OPTIONS=halt_on_error=1 tests/run-unit.sh tsan $^
check-acpi:
	$(Q)CC=$(CC) BUILD=$(BUILD) tests/unit/acpi-iasl-check.sh
check-system: all
	$(Q)tests/system/run.sh
check: check-unit check-asan check-tsan check-xlcfg check-acpi check-package check-system

# --- fuzzers (clang/libFuzzer) ------------------------------------------------
define fuzzer_rule
$(BUILD)/fuzz/$(1): $(call objs,fuzzobj,$(fuzz-$(1)-y))
	@mkdir -p $$(dir $$@)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $$@ $$^ $(ldlibs-y)
endef
$(foreach f,$(fuzzers),$(eval $(call fuzzer_rule,$(f))))
# fuzz-long's default is its own; an explicit FUZZ_SECONDS applies to both.
FUZZ_LONG_SECONDS := $(if $(filter undefined,$(origin FUZZ_SECONDS)),600,$(FUZZ_SECONDS))
FUZZ_SECONDS ?= 20
FUZZ_JOBS ?= $(shell nproc)
fuzz-build: $(addprefix $(BUILD)/fuzz/,$(fuzzers))
fuzz: fuzz-build
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS) $(addprefix $(BUILD)/fuzz/,$(fuzzers))
fuzz-long: fuzz-build
	$(Q)tests/fuzz/long.sh $(FUZZ_LONG_SECONDS) $(FUZZ_JOBS) $(addprefix $(BUILD)/fuzz/,$(fuzzers))
fuzz-minimize: fuzz-build
	$(Q)BUILD=$(BUILD) tests/fuzz/minimize.sh $(addprefix $(BUILD)/fuzz/,$(fuzzers))

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
