# Benchmarks' helper programs (built on demand by bench/*/run.sh).
$(BUILD)/bench/boot-timer: bench/boot/boot-timer.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $<
$(BUILD)/bench/hcall-bare: bench/hypercall/hcall-bare.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $<
