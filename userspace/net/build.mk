# Host ends of guest NICs: dispatch, user-mode networking (libslirp), tap.
net-objs := userspace/net/netdev.o userspace/net/slirp.o userspace/net/tap.o
xenkvmd-y += $(net-objs)
# slirp.pc requires glib's .pc, which a runtime-only system may lack.
ldlibs-y += $(or $(shell pkg-config --libs slirp 2>/dev/null),-lslirp)

unit-tests += netdev
test-netdev-y := tests/unit/test_netdev.o $(net-objs) lib/net_pkt.o lib/event_loop.o lib/thread_role.o lib/log.o
