/*
 * vm-state-roundtrip: kvm/'s save and load (kvm/vm_state.c) on a live VM.
 *
 * Two vCPUs run a real-mode loop that keeps a counter both in a register
 * (ecx) and in RAM (its own page), halts if they ever disagree, and OUTs
 * the counter to its own port, where this program checks each value is
 * the last one plus one.  Mid-run the VM is paused, saved to memory and
 * destroyed; a fresh VM loads the stream and runs on: the counters must
 * continue with no gap and no repeat.  Also checked: RAM, registers,
 * LAPIC, MP state and the irqchip read back equal after the load, the
 * KVM clock neither jumps nor goes backwards, and corrupt, truncated,
 * foreign or mismatched streams are refused with a message.
 *
 * usage: vm-state-roundtrip [-n COUNT]   (outputs per vCPU before the save
 * and again after it; default 300).  Prints ok/FAIL lines; exit 0 if all
 * passed, 1 if not, 2 on usage or when the VM cannot be built.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "xenkvm/log.h"
#include "xenkvm/state_stream.h"
#include "xenkvm/vcpu.h"
#include "xenkvm/vm.h"
#include "xenkvm/vm_state.h"

#define NR_VCPUS 2
#define MEM_MIB  32
#define CODE_GPA 0x1000
#define COUNTER  0x8000             /* ds-relative; ds base is vCPU * 0x1000 */
#define PORT(i)  (0x510 + 0x10 * (i))

static int passed, failed;
#define CHECK(cond, ...) do { if (cond) { passed++; printf("  ok   "); } \
		else { failed++; printf("  FAIL "); } printf(__VA_ARGS__); putchar('\n'); } while (0)

/* 16-bit code: inc dword [COUNTER]; inc ecx; cmp ecx,[COUNTER]; jne bad;
 * mov eax,ecx; out dx,eax; jmp loop; bad: hlt; jmp bad */
static const uint8_t guest_code[] = {
	0x66, 0xff, 0x06, COUNTER & 0xff, COUNTER >> 8,
	0x66, 0x41,
	0x66, 0x3b, 0x0e, COUNTER & 0xff, COUNTER >> 8,
	0x75, 0x07,
	0x66, 0x89, 0xc8,
	0x66, 0xef,
	0xeb, 0xeb,
	0xf4, 0xeb, 0xfd,
};

struct counter {
	uint32_t last;        /* atomics: the vCPU thread writes, main reads */
	uint32_t bad;         /* values that were not last + 1 */
	uint32_t first_bad_want, first_bad_got;
};
static struct counter counters[NR_VCPUS];

static void port_out(void *opaque, uint64_t off, void *data, unsigned int len, bool is_write)
{
	struct counter *c = opaque;
	uint32_t v = 0;

	if (!is_write || off || len != 4)
		return;
	memcpy(&v, data, 4);
	if (v != c->last + 1 && !__atomic_fetch_add(&c->bad, 1, __ATOMIC_RELAXED)) {
		c->first_bad_want = c->last + 1;
		c->first_bad_got = v;
	}
	__atomic_store_n(&c->last, v, __ATOMIC_RELEASE);
}

static int build_vm(struct vm *vm, unsigned int nr_vcpus)
{
	struct vm_config cfg = { .memory_mib = MEM_MIB, .nr_vcpus = nr_vcpus };

	if (vm_create(vm, &cfg))
		return -1;
	for (unsigned int i = 0; i < nr_vcpus; i++)
		if (io_bus_register(&vm->pio, PORT(i), 4, port_out, &counters[i], "counter"))
			return -1;
	return 0;
}

/* The fresh guest: the code, and every vCPU in real mode at it. */
static int boot_guest(struct vm *vm)
{
	memcpy(vm->ram + CODE_GPA, guest_code, sizeof(guest_code));
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 2, .rdx = PORT(i) };
		struct kvm_sregs sregs;
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

		if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
			return -1;
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		sregs.ds.base = i * 0x1000ull;
		sregs.ds.selector = (uint16_t)(i * 0x100);
		if (vcpu_set_entry_state(v, &regs, &sregs) || ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
			return -1;
	}
	return 0;
}

static void *run_thread(void *arg)
{
	vm_run(arg);
	return NULL;
}

/* Waits until every counter reached `target`: false after 120 s. */
static bool wait_counters(uint32_t target)
{
	for (int t = 0; t < 12000; t++) {
		bool all = true;

		for (int i = 0; i < NR_VCPUS; i++)
			all &= __atomic_load_n(&counters[i].last, __ATOMIC_ACQUIRE) >= target;
		if (all)
			return true;
		usleep(10000);
	}
	return false;
}

static void stop_vm(struct vm *vm, pthread_t t)
{
	vm_request_stop(vm, VM_EXIT_KILLED, "round trip done");
	pthread_join(t, NULL);
}

/* Loads a stream into vm: 0, or -errno with the reason in why. */
static int load(struct vm *vm, const uint8_t *buf, size_t len, char *why, size_t size)
{
	struct state_reader *r = state_reader_new_mem(buf, len);
	struct state_handler h[VM_STATE_NR_HANDLERS];
	struct vm_state_load ctx;
	int rc;

	if (!r)
		return -ENOMEM;
	vm_state_handlers(vm, &ctx, h);
	rc = state_reader_header(r);
	if (!rc && strcmp(state_reader_build_id(r), "roundtrip")) {
		snprintf(why, size, "stream from build '%s', this is 'roundtrip'", state_reader_build_id(r));
		rc = -EPROTONOSUPPORT;
	} else {
		if (!rc)
			rc = state_load(r, h, VM_STATE_NR_HANDLERS);
		if (rc)
			snprintf(why, size, "%s", state_reader_error(r));
		else
			rc = vm_state_load_finish(&ctx, why, size);
	}
	state_reader_free(r);
	return rc;
}

static struct state_writer *save(struct vm *vm)
{
	struct state_writer *w = state_writer_new_mem("roundtrip");

	if (!w)
		return NULL;
	if (vm_state_save(vm, w) || state_writer_finish(w)) {
		printf("  save failed: %s\n", state_writer_error(w));
		state_writer_free(w);
		return NULL;
	}
	return w;
}

/* The parsed parts of a stream the comparisons look at. */
struct parsed {
	struct vcpu_state vcpu[NR_VCPUS];
	struct kvm_irqchip chip[3];
	uint64_t clock;
};

static int parse(const uint8_t *buf, size_t len, struct parsed *p)
{
	struct state_reader *r = state_reader_new_mem(buf, len);
	struct state_section s;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (!r || state_reader_header(r))
		goto out;
	while ((rc = state_reader_next(r, &s)) == 1) {
		if (s.id == VM_STATE_VCPU) {
			struct vcpu_state vs;

			if (vcpu_state_read(&s, NR_VCPUS, &vs))
				break;
			p->vcpu[vs.id] = vs;
		} else if (s.id == VM_STATE_IRQCHIP) {
			for (int i = 0; i < 3; i++) {
				const uint8_t *q;
				uint32_t n;

				if (state_get_blob(&s, &q, &n, sizeof(p->chip[i])) && n == sizeof(p->chip[i]))
					memcpy(&p->chip[i], q, n);
			}
		} else if (s.id == VM_STATE_CLOCK) {
			state_get_u64(&s, &p->clock);
		}
	}
out:
	state_reader_free(r);
	return rc;
}

static void refused(struct vm *vm, const uint8_t *buf, size_t len, const char *what, const char *want)
{
	char why[256] = "";
	int rc = load(vm, buf, len, why, sizeof(why));

	CHECK(rc < 0 && strstr(why, want), "%s refused: %s", what, rc < 0 ? why : "(it loaded)");
}

int main(int argc, char **argv)
{
	struct vm a, b, c;
	pthread_t ta, tb;
	struct state_writer *w1, *w2;
	const uint8_t *s1, *s2;
	size_t n1, n2;
	uint32_t count = 300, at_save[NR_VCPUS];
	struct parsed *p1 = malloc(sizeof(*p1)), *p2 = malloc(sizeof(*p2));
	uint8_t *ram_copy = malloc(MEM_MIB << 20), *bad;
	struct kvm_irqchip pic = { .chip_id = KVM_IRQCHIP_PIC_MASTER };
	char why[256] = "";
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n' || (count = (uint32_t)strtoul(optarg, NULL, 10)) == 0) {
			fprintf(stderr, "usage: vm-state-roundtrip [-n COUNT]\n");
			return 2;
		}
	}
	if (!p1 || !p2 || !ram_copy)
		return 2;
	log_set_level(LOG_WARN);
	if (build_vm(&a, NR_VCPUS) || boot_guest(&a)) {
		fprintf(stderr, "vm-state-roundtrip: cannot build the first VM\n");
		return 2;
	}
	/* A PIC mask no reset state has, so the irqchip's round trip shows. */
	if (ioctl(a.vm_fd, KVM_GET_IRQCHIP, &pic) == 0) {
		pic.chip.pic.imr = 0xa5;
		ioctl(a.vm_fd, KVM_SET_IRQCHIP, &pic);
	}
	pthread_create(&ta, NULL, run_thread, &a);
	CHECK(wait_counters(count), "both vCPUs counted to %u before the save", count);
	CHECK(vm_pause_sync(&a) == 0, "every vCPU parked");
	for (int i = 0; i < NR_VCPUS; i++) {
		uint32_t mem;

		at_save[i] = __atomic_load_n(&counters[i].last, __ATOMIC_ACQUIRE);
		memcpy(&mem, a.ram + i * 0x1000 + COUNTER, 4);
		/* Parked before or after its OUT: the RAM counter may be one ahead. */
		CHECK(mem == at_save[i] || mem == at_save[i] + 1,
		      "vCPU %d: counter in RAM %u, last output %u", i, mem, at_save[i]);
	}
	w1 = save(&a);
	CHECK(w1 != NULL, "saved the paused VM");
	if (!w1)
		return 1;
	s1 = state_writer_mem(w1, &n1);
	printf("  (stream: %zu bytes for %u MiB of RAM)\n", n1, MEM_MIB);
	CHECK(n1 < (2u << 20), "all-zero pages are not in the stream (%zu bytes)", n1);
	memcpy(ram_copy, a.ram, MEM_MIB << 20);
	stop_vm(&a, ta);
	vm_destroy(&a);
	/* What the guest does once the old VM is gone must not count. */
	for (int i = 0; i < NR_VCPUS; i++)
		CHECK(__atomic_load_n(&counters[i].last, __ATOMIC_ACQUIRE) == at_save[i],
		      "vCPU %d did not run after the pause", i);

	if (build_vm(&b, NR_VCPUS)) {
		fprintf(stderr, "vm-state-roundtrip: cannot build the second VM\n");
		return 2;
	}
	memset(b.ram + 0x100000, 0x5a, 4096);   /* must be zeroed by the load */
	CHECK(load(&b, s1, n1, why, sizeof(why)) == 0, "the fresh VM loaded the stream%s%s",
	      why[0] ? ": " : "", why);
	CHECK(!memcmp(ram_copy, b.ram, MEM_MIB << 20), "guest RAM is the same, byte for byte");
	w2 = save(&b);
	if (!w2)
		return 1;
	s2 = state_writer_mem(w2, &n2);
	if (parse(s1, n1, p1) || parse(s2, n2, p2)) {
		CHECK(0, "parsing the two streams");
		return 1;
	}
	for (int i = 0; i < NR_VCPUS; i++) {
		struct vcpu_state *x = &p1->vcpu[i], *y = &p2->vcpu[i];

		CHECK(!memcmp(&x->regs, &y->regs, sizeof(x->regs)), "vCPU %d: registers equal (rip %#llx, ecx %llu)",
		      i, (unsigned long long)y->regs.rip, (unsigned long long)y->regs.rcx);
		CHECK(!memcmp(&x->sregs, &y->sregs, sizeof(x->sregs)), "vCPU %d: segment/control registers equal", i);
		CHECK(x->mp_state.mp_state == y->mp_state.mp_state, "vCPU %d: MP state equal", i);
		CHECK(!memcmp(&x->lapic, &y->lapic, sizeof(x->lapic)), "vCPU %d: LAPIC equal", i);
		CHECK(x->nr_msrs == y->nr_msrs && x->nr_msrs > 0, "vCPU %d: %u MSRs saved and restored", i, y->nr_msrs);
	}
	CHECK(!memcmp(p1->chip, p2->chip, sizeof(p1->chip)) && p2->chip[0].chip.pic.imr == 0xa5,
	      "PIC and IOAPIC state equal (master IMR %#x)", p2->chip[0].chip.pic.imr);
	CHECK(p2->clock >= p1->clock && p2->clock - p1->clock < 2000000000ull,
	      "KVM clock continues (%.3f ms after the load)", (double)(p2->clock - p1->clock) / 1e6);

	pthread_create(&tb, NULL, run_thread, &b);
	CHECK(wait_counters(at_save[0] > at_save[1] ? at_save[0] + count : at_save[1] + count),
	      "both vCPUs counted on after the restore");
	stop_vm(&b, tb);
	for (int i = 0; i < NR_VCPUS; i++)
		CHECK(!counters[i].bad, "vCPU %d: no gap and no repeat (%u bad; first: want %u, got %u; %u -> %u)",
		      i, counters[i].bad, counters[i].first_bad_want, counters[i].first_bad_got, at_save[i],
		      counters[i].last);
	vm_destroy(&b);

	/* Refusals, each into a fresh VM. */
	if (build_vm(&c, NR_VCPUS))
		return 2;
	refused(&c, s1, n1 / 2, "a truncated stream", "");
	bad = malloc(n1);
	memcpy(bad, s1, n1);
	bad[n1 / 2] ^= 0x40;
	refused(&c, bad, n1, "a stream with a flipped byte", "checksum");
	memcpy(bad, s1, n1);
	bad[0] = 'Y';
	refused(&c, bad, n1, "a stream with another magic", "not a xenkvm state stream");
	{
		struct state_writer *w = state_writer_new_mem("another-build");
		const uint8_t *p;
		size_t n;

		state_writer_finish(w);
		p = state_writer_mem(w, &n);
		refused(&c, p, n, "a stream from another build", "another-build");
		state_writer_free(w);
	}
	vm_destroy(&c);
	{
		struct vm one;
		struct vm_config cfg = { .memory_mib = MEM_MIB, .nr_vcpus = 1 };

		if (vm_create(&one, &cfg) == 0) {
			refused(&one, s1, n1, "a 2-vCPU stream into a 1-vCPU VM", "2 vCPUs");
			vm_destroy(&one);
		}
	}
	free(bad);
	state_writer_free(w1);
	state_writer_free(w2);
	printf("vm-state-roundtrip: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
