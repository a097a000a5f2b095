core-y += lib/log.o lib/event_loop.o
