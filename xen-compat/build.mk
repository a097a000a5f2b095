# xen-compat: the Xen HVM personality (pure C, no KVM calls).  The xenstore
# engine has its own fragment in xen-compat/xenstore/.
xen-core-y := xen-compat/xen_domain.o xen-compat/guest_access.o xen-compat/shared_info.o \
	xen-compat/evtchn.o xen-compat/hypercall.o xen-compat/version.o xen-compat/cpuid.o \
	xen-compat/hypercall_page.o xen-compat/hypercall_blobs.o xen-compat/hvm.o \
	xen-compat/memory.o xen-compat/vcpu.o xen-compat/sched.o xen-compat/gnttab.o \
	xen-compat/physdev.o xen-compat/console_io.o \
	xen-compat/xen_domain_state.o lib/state_stream.o
core-y += $(xen-core-y) xen-compat/pv_console.o \
	xen-compat/bench_echo.o

# Hypercall pages: preprocess (shared port/MSR constants), assemble for the
# right mode, keep the raw .text; exactly one 4 KiB page or the build fails.
gen-y += $(BUILD)/gen/hypercall64.bin $(BUILD)/gen/hypercall32.bin
xen-blobs := $(BUILD)/gen/hypercall64.bin $(BUILD)/gen/hypercall32.bin
# A static pattern rule: explicit targets, so make keeps them (not intermediates).
$(xen-blobs): $(BUILD)/gen/hypercall%.bin: blobs/hypercall%.S include/xenkvm/hypercall_page.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BLOB    $@")
	$(Q)$(CC) -E -P -D__ASSEMBLER__ -Iinclude -x assembler-with-cpp $< -o $(@:.bin=.s)
	$(Q)as --$* -o $(@:.bin=.o) $(@:.bin=.s)
	$(Q)objcopy -O binary -j .text $(@:.bin=.o) $@
	$(Q)test "$$(stat -c %s $@)" = 4096 || { echo "$@ is not 4096 bytes" >&2; rm -f $@; exit 1; }

xen-blob-flags := -DHCALL64_BIN='"$(BUILD)/gen/hypercall64.bin"' \
	-DHCALL32_BIN='"$(BUILD)/gen/hypercall32.bin"'
$(BUILD)/obj/xen-compat/hypercall_blobs.o $(BUILD)/asan/xen-compat/hypercall_blobs.o \
$(BUILD)/fuzzobj/xen-compat/hypercall_blobs.o $(BUILD)/tsan/xen-compat/hypercall_blobs.o: \
	BASE_CFLAGS += $(xen-blob-flags)

# Unit tests: the xen-compat core on a fake VMM and fake guest memory.
xen-test-y := $(xen-core-y) lib/guest_mem.o lib/log.o tests/unit/xen_fake_vmm.o
unit-tests += hypercall
test-hypercall-y := tests/unit/test_hypercall.o $(xen-test-y)
unit-tests += evtchn
test-evtchn-y := tests/unit/test_evtchn.o $(xen-test-y) xen-compat/bench_echo.o
unit-tests += xen_shinfo
test-xen_shinfo-y := tests/unit/test_xen_shinfo.o $(xen-test-y)
unit-tests += xen_ops
test-xen_ops-y := tests/unit/test_xen_ops.o $(xen-test-y)
unit-tests += xen_gnttab
test-xen_gnttab-y := tests/unit/test_xen_gnttab.o $(xen-test-y)

# Save/restore of the domain, event channels and grant table.
unit-tests += xen_state
test-xen_state-y := tests/unit/test_xen_state.o $(xen-test-y)

fuzzers += hypercall
fuzz-hypercall-y := tests/fuzz/fuzz_hypercall.o $(xen-core-y) lib/guest_mem.o lib/log.o

# The PV console backend: its ring on fake guest memory, with the event loop
# for output flow control.
unit-tests += pv_console
test-pv_console-y := tests/unit/test_pv_console.o xen-compat/pv_console.o $(xen-test-y) \
	lib/event_loop.o lib/thread_role.o
fuzzers += pv_console
fuzz-pv_console-y := tests/fuzz/fuzz_pv_console.o xen-compat/pv_console.o $(xen-core-y) \
	lib/guest_mem.o lib/log.o tests/unit/xen_fake_vmm.o lib/event_loop.o lib/thread_role.o

# The backends' XenStore helpers and state machine (a fake backend on the
# xenbus test fixture: store engine, event loop, fake guest domain).
unit-tests += xenbus_backend
test-xenbus_backend-y = tests/unit/test_xenbus_backend.o tests/unit/xenbus_fixture.o \
	xen-compat/xenbus_backend.o $(xen-test-y) lib/event_loop.o lib/thread_role.o $(xs-engine-y) \
	xen-compat/xenstore/domain.o
# The state machine stepped synchronously against any frontend `state`.
fuzzers += xenbus_backend
fuzz-xenbus_backend-y = tests/fuzz/fuzz_xenbus_backend.o xen-compat/xenbus_backend.o \
	lib/event_loop.o lib/thread_role.o lib/log.o $(xs-engine-y) xen-compat/xenstore/domain.o
# XENVER_compile_info's date is the source's (SOURCE_DATE_EPOCH, else the last
# commit's), not the build's, so that builds are reproducible.
xen-build-date := $(shell date -u -d @$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || echo 0)} '+%b %d %Y')
BASE_CFLAGS += -DXENKVM_BUILD_DATE='"$(xen-build-date)"'
