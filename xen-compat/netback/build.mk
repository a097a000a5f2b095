# netback: the guest's netfront NICs (xenbus state machine, tx/rx rings by
# grant copy).  Recursive variables: the xenstore and xen-compat object
# lists come from fragments included after this one.
net-dir := xen-compat/netback
net-y := $(net-dir)/xenbus.o $(net-dir)/queue.o $(net-dir)/tx.o $(net-dir)/rx.o \
	$(net-dir)/netback_state.o xen-compat/xenbus_backend.o xen-compat/xenbus_backend_state.o
core-y += $(net-y)

# Unit tests: netback + the xen-compat core on the fake VMM + the xenstore
# engine + the event loop (the backend runs on it, as in the daemon).
unit-tests += netback
test-netback-y = tests/unit/test_netback.o tests/unit/xenbus_fixture.o $(net-y) lib/net_pkt.o \
	$(xen-core-y) lib/guest_mem.o lib/log.o lib/event_loop.o lib/thread_role.o tests/unit/xen_fake_vmm.o \
	$(xs-engine-y) xen-compat/xenstore/domain.o xen-compat/xenstore/store_state.o lib/state_stream.o

# The tx ring consumer driven synchronously (no XenStore, no loop).
fuzzers += netback_tx
fuzz-netback_tx-y = tests/fuzz/fuzz_netback_tx.o tests/fuzz/fuzz_guest.o $(net-dir)/queue.o \
	$(net-dir)/tx.o $(net-dir)/rx.o lib/net_pkt.o $(xen-core-y) lib/guest_mem.o lib/log.o \
	tests/unit/xen_fake_vmm.o lib/event_loop.o lib/thread_role.o
