# The xenkvm CLI (userspace/xenkvm.c + userspace/cli/) and the pieces it
# shares with xenkvmd: the control protocol (codec, server, client), the
# JSON reader/writer under it, the console relay and the run directory.
core-y += userspace/json.o userspace/control.o userspace/control_server.o \
	  userspace/control_client.o userspace/console_server.o userspace/rundir.o
xenkvm-y += userspace/cli/common.o userspace/cli/create.o userspace/cli/domain.o \
	    userspace/cli/console.o userspace/cli/xenstore.o

unit-tests += control rundir
test-control-y := tests/unit/test_control.o userspace/control.o userspace/json.o \
		  userspace/control_server.o userspace/control_client.o \
		  userspace/console_server.o lib/event_loop.o lib/log.o
test-rundir-y := tests/unit/test_rundir.o userspace/rundir.o lib/log.o

fuzzers += control
fuzz-control-y := tests/fuzz/fuzz_control.o userspace/control.o userspace/json.o lib/log.o

.DEFAULT_GOAL := all
