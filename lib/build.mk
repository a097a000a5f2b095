core-y += lib/log.o
