core-y += lib/log.o lib/event_loop.o
core-y += lib/net_pkt.o
unit-tests += net_pkt
test-net_pkt-y := tests/unit/test_net_pkt.o lib/net_pkt.o lib/log.o
fuzzers += net_pkt
fuzz-net_pkt-y := tests/fuzz/fuzz_net_pkt.o lib/net_pkt.o lib/log.o
unit-tests += log
test-log-y := tests/unit/test_log.o lib/log.o
