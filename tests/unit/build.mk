unit-tests += guest_mem
test-guest_mem-y := tests/unit/test_guest_mem.o kvm/guest_mem.o
