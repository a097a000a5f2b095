# The xenkvm CLI (userspace/xenkvm.c + userspace/cli/) and the pieces it
# shares with xenkvmd: the control protocol (codec, server, client), the
# JSON reader/writer under it, the console relay and the run directory.
core-y += userspace/json.o userspace/control.o userspace/control_server.o \
	  userspace/control_client.o userspace/console_server.o userspace/rundir.o
xenkvm-y += userspace/cli/common.o userspace/cli/create.o userspace/cli/domain.o \
	    userspace/cli/console.o userspace/cli/xenstore.o userspace/cli/probe.o \
	    userspace/cli/save.o userspace/cli/migrate.o

unit-tests += control rundir
test-control-y := tests/unit/test_control.o userspace/control.o userspace/json.o \
		  userspace/control_server.o userspace/control_client.o \
		  userspace/console_server.o lib/event_loop.o lib/unix_listener.o lib/thread_role.o lib/log.o
test-rundir-y := tests/unit/test_rundir.o userspace/rundir.o lib/log.o

fuzzers += control
fuzz-control-y := tests/fuzz/fuzz_control.o userspace/control.o userspace/json.o lib/log.o

.DEFAULT_GOAL := all

# A stand-in daemon with xenkvmd's command line and sockets but no guest, for
# tests/system/test_cli.sh on hosts without a usable KVM (see the file).  It
# links the library (this fragment is read before config/ and xen-compat/).
all: $(BUILD)/tests/cli-fake-xenkvmd
$(BUILD)/tests/cli-fake-xenkvmd: $(BUILD)/obj/tests/system/cli-fake-xenkvmd.o $(BUILD)/libxenkvm.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(ldlibs-y)
