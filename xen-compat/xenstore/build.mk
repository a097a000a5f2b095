# XenStore: engine (store/transaction/watch), wire layer, transports,
# domain population; unit tests, fuzzers, the standalone socket server and
# the benchmark.
xs-dir := xen-compat/xenstore
xs-engine-y := $(xs-dir)/strmap.o $(xs-dir)/store.o $(xs-dir)/accounting.o \
	$(xs-dir)/transaction.o $(xs-dir)/watch.o
xs-y := $(xs-engine-y) $(xs-dir)/wire.o $(xs-dir)/socket.o $(xs-dir)/ring.o $(xs-dir)/domain.o
core-y += $(xs-y) $(xs-dir)/service.o $(xs-dir)/store_state.o $(xs-dir)/wire_state.o

# Unit tests link only the xenstore objects they exercise (+ lib/log.o).
unit-tests += xenstore_store
test-xenstore_store-y := tests/unit/test_xenstore_store.o tests/unit/test_xenstore_util.o \
	$(xs-engine-y) $(xs-dir)/domain.o lib/log.o
unit-tests += xenstore_wire
test-xenstore_wire-y := tests/unit/test_xenstore_wire.o tests/unit/test_xenstore_util.o \
	$(xs-engine-y) $(xs-dir)/wire.o lib/log.o
unit-tests += xenstore_ring
test-xenstore_ring-y := tests/unit/test_xenstore_ring.o tests/unit/test_xenstore_util.o \
	$(xs-engine-y) $(xs-dir)/wire.o $(xs-dir)/ring.o $(xs-dir)/domain.o lib/log.o
unit-tests += xenstore_socket
test-xenstore_socket-y := tests/unit/test_xenstore_socket.o tests/unit/test_xenstore_util.o \
	$(xs-engine-y) $(xs-dir)/wire.o $(xs-dir)/socket.o $(xs-dir)/domain.o \
	lib/unix_listener.o lib/log.o

# Save/restore of the whole store (tree, domains, clients' watches).
unit-tests += xenstore_state
test-xenstore_state-y := tests/unit/test_xenstore_state.o tests/unit/test_xenstore_util.o \
	$(xs-engine-y) $(xs-dir)/store_state.o $(xs-dir)/wire.o $(xs-dir)/wire_state.o \
	$(xs-dir)/domain.o lib/state_stream.o lib/log.o

fuzzers += xenstore_wire xenstore_ring
fuzz-xenstore_wire-y := tests/fuzz/fuzz_xenstore_wire.o $(xs-engine-y) $(xs-dir)/wire.o lib/log.o
fuzz-xenstore_ring-y := tests/fuzz/fuzz_xenstore_ring.o $(xs-engine-y) $(xs-dir)/wire.o \
	$(xs-dir)/ring.o lib/log.o

# Standalone socket server (tests/system/test_xenstore_utils.sh, bench/xenstore).
xs-server-y := userspace/xenkvm-xenstored.o $(xs-y) lib/log.o lib/unix_listener.o
all: $(BUILD)/xenkvm-xenstored
$(BUILD)/xenkvm-xenstored: $(addprefix $(BUILD)/obj/,$(xs-server-y))
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -pthread

xs-bench-y := bench/xenstore/xs_bench.o $(xs-y) lib/log.o lib/unix_listener.o
$(BUILD)/bench/xs_bench: $(addprefix $(BUILD)/obj/,$(xs-bench-y))
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -pthread

# The save/restore loader: xen-compat's sections, the store's and the
# backends' (blkback, netback), raw streams and well-formed sections with
# fuzzed payloads.
fuzzers += state_stream
fuzz-state_stream-y = tests/fuzz/fuzz_state_stream.o $(xen-core-y) lib/guest_mem.o lib/log.o \
	tests/unit/xen_fake_vmm.o $(xs-engine-y) $(xs-dir)/store_state.o $(xs-dir)/domain.o \
	$(xs-dir)/wire.o $(xs-dir)/wire_state.o \
	xen-compat/blkback/ring.o xen-compat/blkback/io.o xen-compat/blkback/blkback_state.o \
	xen-compat/netback/queue.o xen-compat/netback/tx.o xen-compat/netback/rx.o \
	xen-compat/netback/netback_state.o xen-compat/xenbus_backend.o xen-compat/xenbus_backend_state.o \
	lib/net_pkt.o lib/event_loop.o \
	lib/thread_role.o
