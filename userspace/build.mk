xenkvmd-y += userspace/xenkvmd.o
# save and restore of the whole domain (xenkvm save/restore)
xenkvmd-y += userspace/domain_save.o
# migration's handshake lines (xenkvmd sends, xenkvm migrate-receive answers)
core-y += userspace/migrate_link.o
unit-tests += migrate_link
test-migrate_link-y := tests/unit/test_migrate_link.o userspace/migrate_link.o lib/log.o
fuzzers += migrate_link
fuzz-migrate_link-y := tests/fuzz/fuzz_migrate_link.o userspace/migrate_link.o lib/log.o
xenkvm-y += userspace/xenkvm.o
# Least privilege: user switch, no_new_privs, seccomp per thread kind.
xenkvmd-y += userspace/sandbox.o userspace/sandbox_policy.o
ldlibs-y += -lseccomp
unit-tests += sandbox
test-sandbox-y := tests/unit/test_sandbox.o userspace/sandbox.o userspace/sandbox_policy.o \
		  lib/thread_role.o lib/log.o
