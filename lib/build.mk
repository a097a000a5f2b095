core-y += lib/log.o lib/event_loop.o lib/thread_role.o
core-y += lib/net_pkt.o
unit-tests += net_pkt
test-net_pkt-y := tests/unit/test_net_pkt.o lib/net_pkt.o lib/log.o
fuzzers += net_pkt
fuzz-net_pkt-y := tests/fuzz/fuzz_net_pkt.o lib/net_pkt.o lib/log.o
