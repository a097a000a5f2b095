# The freestanding Xen test guests (issue 3, acceptance 2): tg64.bzImage runs in
# long mode, tg32.bzImage drops to 32-bit protected mode first (compat ABI).  Each
# is one link of header.S (boot-protocol header), entryNN.S and tg.c with tg.lds,
# flattened with objcopy.  tests/system/test_hcall_paths.sh boots them.
tg-dir := $(BUILD)/tests/guest
tg-images := $(tg-dir)/tg64.bzImage $(tg-dir)/tg32.bzImage
all: $(tg-images)

# No libc, no SSE (the guest never enables it), no red zone (64-bit), no PIC: the
# image is linked at 1 MiB.  Xen's public headers come from /usr/include/xen.
TG_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none \
	-mgeneral-regs-only -mno-red-zone $(WARN)
TG_LDFLAGS := -nostdlib -static --build-id=none --no-warn-rwx-segments -T tests/guest/tg.lds

$(tg-dir)/%/header.o: tests/guest/header.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) -m$* -c -o $@ $<
$(tg-dir)/%/entry.o: tests/guest/entry%.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) -m$* -c -o $@ $<
$(tg-dir)/%/tg.o: tests/guest/tg.c tests/guest/tg.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-TG$*  $<")
	$(Q)$(CC) -m$* $(TG_CFLAGS) -MMD -MP -c -o $@ $<

$(tg-dir)/tg64.elf: LDEMU := elf_x86_64
$(tg-dir)/tg32.elf: LDEMU := elf_i386
$(tg-dir)/tg%.elf: $(tg-dir)/%/header.o $(tg-dir)/%/entry.o $(tg-dir)/%/tg.o tests/guest/tg.lds
	$(Q)$(LD) -m $(LDEMU) $(TG_LDFLAGS) -o $@ $(filter %.o,$^)
$(tg-dir)/tg%.bzImage: $(tg-dir)/tg%.elf
	@$(if $(Q),echo "  IMAGE   $@")
	$(Q)objcopy -O binary $< $@
# The same guests as ELF images with Xen's PVH entry note, for firmware_override
# (tests/system/test_pvh.sh): entered in 32-bit protected mode at pvh_start.
tg-pvh-images := $(tg-dir)/tg64-pvh.elf $(tg-dir)/tg32-pvh.elf
all: $(tg-pvh-images)
$(tg-dir)/%/pvhnote.o: tests/guest/pvhnote.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) -m$* -c -o $@ $<
$(tg-dir)/tg64-pvh.elf: LDEMU := elf_x86_64
$(tg-dir)/tg32-pvh.elf: LDEMU := elf_i386
$(tg-dir)/tg%-pvh.elf: $(tg-dir)/%/entry.o $(tg-dir)/%/tg.o $(tg-dir)/%/pvhnote.o tests/guest/tg-pvh.lds
	$(Q)$(LD) -m $(LDEMU) -nostdlib -static --build-id=none --no-warn-rwx-segments -T tests/guest/tg-pvh.lds \
		-o $@ $(filter %.o,$^)

# Pattern-made intermediates: keep them (incremental builds, gdb on the .elf).
.SECONDARY: $(foreach m,32 64,$(addprefix $(tg-dir)/,$(m)/header.o $(m)/entry.o $(m)/tg.o $(m)/pvhnote.o tg$(m).elf))
