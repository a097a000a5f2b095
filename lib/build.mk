core-y += lib/log.o lib/event_loop.o lib/journal.o lib/unix_listener.o lib/thread_role.o lib/guest_mem.o
core-y += lib/net_pkt.o
unit-tests += net_pkt
test-net_pkt-y := tests/unit/test_net_pkt.o lib/net_pkt.o lib/log.o
fuzzers += net_pkt
fuzz-net_pkt-y := tests/fuzz/fuzz_net_pkt.o lib/net_pkt.o lib/log.o
unit-tests += journal
test-journal-y := tests/unit/test_journal.o lib/journal.o lib/log.o
unit-tests += log
test-log-y := tests/unit/test_log.o lib/log.o
# The save/restore stream: sections with ids, versions, lengths and CRCs.
core-y += lib/state_stream.o
ldlibs-y += -lz   # its CRC-32 (zlib1g-dev)
unit-tests += state_stream
test-state_stream-y := tests/unit/test_state_stream.o lib/state_stream.o
