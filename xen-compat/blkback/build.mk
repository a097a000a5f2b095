# blkback: the guest's blkfront disks (xenbus state machine, ring consumer,
# io_uring backing store).  Recursive variables: the xenstore and xen-compat
# object lists come from fragments included after this one.
blk-dir := xen-compat/blkback
blk-y := $(blk-dir)/xenbus.o $(blk-dir)/ring.o $(blk-dir)/io.o $(blk-dir)/blkback_state.o \
	xen-compat/xenbus_backend.o xen-compat/xenbus_backend_state.o
core-y += $(blk-y)
ldlibs-y += -luring

# Unit tests: blkback + the xen-compat core on the fake VMM + the xenstore
# engine + the event loop (the backend runs on it, as in the daemon).
unit-tests += blkback
test-blkback-y = tests/unit/test_blkback.o tests/unit/xenbus_fixture.o $(blk-y) $(xen-core-y) \
	lib/guest_mem.o lib/log.o lib/event_loop.o lib/thread_role.o tests/unit/xen_fake_vmm.o $(xs-engine-y) \
	xen-compat/xenstore/domain.o xen-compat/xenstore/store_state.o lib/state_stream.o

# The ring consumer driven synchronously (no XenStore, no loop).
fuzzers += blkback_ring
fuzz-blkback_ring-y = tests/fuzz/fuzz_blkback_ring.o tests/fuzz/fuzz_guest.o $(blk-dir)/ring.o \
	$(blk-dir)/io.o $(xen-core-y) lib/guest_mem.o lib/log.o tests/unit/xen_fake_vmm.o \
	lib/event_loop.o lib/thread_role.o
