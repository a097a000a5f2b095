xenkvmd-y += userspace/xenkvmd.o
xenkvm-y += userspace/xenkvm.o
