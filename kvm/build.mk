core-y += kvm/guest_mem.o
