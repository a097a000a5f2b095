/*
 * xenkvm: the xl-like command line.  One table of verbs, each with its
 * usage and help (`xenkvm help VERB`, `xenkvm VERB --help`); the verbs live
 * in userspace/cli/.  Domains run in xenkvmd processes the CLI starts and
 * talks to through the run directory (rundir.h) and the control socket
 * (control.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define XENKVM_VERSION "0.1"

static int cli_help(int argc, char **argv);

static const struct cli_verb verbs[] = {
	{ "create", cli_create, "create [-c] [-p] [-F] [-n] [-q] [-v] [-u USER] CONFIG [key=value ...]",
	  "Create a domain from an xl.cfg file.",
	  "Reads and checks CONFIG (key=value pairs override it, in xl.cfg syntax), allocates\n"
	  "a domid and starts xenkvmd in the background with its log in the run directory;\n"
	  "returns once the domain runs, or prints why it failed with the log's last lines.\n"
	  "  -c   attach to the domain's console once it runs (Ctrl-] detaches)\n"
	  "  -p   leave the domain paused after creating it (see unpause)\n"
	  "  -F   run xenkvmd in the foreground, console on this terminal (Ctrl-] destroys)\n"
	  "  -n   dry run: check the config and print what would run, start nothing\n"
	  "  -q   quiet: no 'Parsing config' line\n"
	  "  -v   verbose daemon log (xenkvmd -v)\n"
	  "  -u USER  run xenkvmd as USER (root only; -u root: stay root).  By default\n"
	  "       root's domains run as the user 'xenkvm' where it exists (put it in the\n"
	  "       group owning /dev/kvm), except with a tap vif (bridge=)" },
	{ "list", cli_list, "list [-l|--json] [DOMAIN ...]",
	  "List domains.",
	  "Columns as xl's: Name, ID, Mem (MiB), VCPUs, State (r running, b blocked,\n"
	  "p paused, s shutting down, c crashed, d dying) and Time(s) of CPU.  Entries of\n"
	  "daemons that died are cleaned up (their log is kept as logs/NAME.log).\n"
	  "  --json  one JSON array for scripts (docs/CLI.md)\n"
	  "  -l      the same with each domain's vCPUs and configuration" },
	{ "console", cli_console, "console [-t serial|pv] DOMAIN",
	  "Attach to a domain's serial console (or, with -t pv, its Xen PV console).",
	  "Relays the terminal (raw mode) to the domain's serial console (ttyS0), or with\n"
	  "-t pv to its Xen PV console (hvc0); Ctrl-] detaches and leaves the domain running.\n"
	  "Output the domain wrote recently is shown first.\n"
	  "Only one console client at a time: a new one takes over from the previous." },
	{ "destroy", cli_destroy, "destroy DOMAIN",
	  "Terminate a domain immediately.",
	  "Asks the daemon to end the domain; if it has not gone within 5 s it is killed\n"
	  "(SIGKILL) and its run-directory entry removed." },
	{ "shutdown", cli_shutdown, "shutdown [-w] [-a] [DOMAIN]",
	  "Ask a domain to shut down.",
	  "Writes control/shutdown=poweroff when the guest's PV drivers announce\n"
	  "control/feature-poweroff, else presses the ACPI power button.  Returns at once\n"
	  "unless -w.\n"
	  "  -w   wait until the domain has gone\n"
	  "  -a   all domains" },
	{ "reboot", cli_reboot, "reboot DOMAIN",
	  "Ask a domain to reboot.",
	  "Like shutdown with reason reboot, but refused when the guest's PV drivers do not\n"
	  "announce control/feature-reboot (trigger reset is the hard way).  What then\n"
	  "happens follows the config's on_reboot (restart, the default, keeps the domain\n"
	  "and its domid)." },
	{ "pause", cli_pause, "pause DOMAIN", "Pause a domain's vCPUs.", "" },
	{ "unpause", cli_unpause, "unpause DOMAIN", "Unpause a paused domain.", "" },
	{ "vcpu-list", cli_vcpu_list, "vcpu-list [DOMAIN ...]", "List the vCPUs of domains.",
	  "Columns as xl's: Name, ID, VCPU, CPU (host CPU last run on), State (r running,\n"
	  "b blocked, p paused), Time(s) and Affinity." },
	{ "mem-set", cli_mem_set, "mem-set DOMAIN MEMORY",
	  "Set the memory a domain should hold (its balloon target).",
	  "Writes memory/target; the guest's Xen balloon driver gives RAM back to the host\n"
	  "or takes it again, in its own time (Mem in `xenkvm list` follows it).\n"
	  "MEMORY is in MiB unless it ends in b, k, m, g or t, as with xl; it can be from\n"
	  "32 MiB up to the domain's maxmem= (memory= without it; RAM is not hot-added)." },
	{ "sysrq", cli_sysrq, "sysrq DOMAIN KEY",
	  "Send a magic SysRq key to a domain's kernel.",
	  "Writes control/sysrq; Linux's Xen drivers run it as if typed (s sync, u remount\n"
	  "read-only, t task list, w blocked tasks, b reboot, c crash, h help)." },
	{ "trigger", cli_trigger, "trigger DOMAIN power|reset|nmi [VCPU]",
	  "Send a hardware event to a domain.",
	  "power presses the ACPI power button (the guest's OS decides what follows),\n"
	  "reset resets the domain at once (on_reboot then applies), nmi delivers an NMI\n"
	  "to VCPU (default 0)." },
	{ "save", cli_save, "save DOMAIN FILE",
	  "Save a running domain to FILE and end it.",
	  "Pauses the domain, writes its state (the config, RAM, vCPUs, devices, event\n"
	  "channels, grant table, XenStore, PV console, disks' and vifs' rings) to FILE\n"
	  "and ends the domain once the file is complete (written to a temporary name,\n"
	  "fsync'd, renamed).  If anything fails before that, the domain runs on and\n"
	  "nothing is left at FILE.  FILE is written by the domain's daemon (its user,\n"
	  "see create -u).  Refused: hot-plugged vifs, IDE disks in use, firmware-booted\n"
	  "and PVH domains (docs/SAVE-FORMAT.md)." },
	{ "restore", cli_restore, "restore [-c] [-p] [-q] [-v] FILE [KEY=VALUE ...]",
	  "Restore a domain from a file `xenkvm save` wrote.",
	  "The domain is built from the config saved in FILE (KEY=VALUE overrides it, as\n"
	  "for create, but not vcpus, memory, maxmem or type), gets its saved domid back\n"
	  "(refused if taken) and continues where it stopped.  FILE is checked whole first\n"
	  "(checksums, the build that wrote it): a damaged or foreign file starts nothing.\n"
	  "  -c  attach to the console    -p  leave it paused\n"
	  "  -q  quiet                    -v  xenkvmd's debug messages" },
	{ "migrate", cli_migrate, "migrate [-C CMD | --tcp HOST:PORT] DOMAIN [HOST]",
	  "Move a running domain to another host's xenkvm.",
	  "Runs `ssh HOST xenkvm migrate-receive` and sends the domain's state over its\n"
	  "stdin and stdout (the save stream, docs/SAVE-FORMAT.md).  The domain is paused\n"
	  "while its state is copied; it ends here only once the receiver confirmed that\n"
	  "it loaded all of it.  On any failure before that (the receiver refused the\n"
	  "stream, was killed, the connection broke) it runs on here and migrate exits 1.\n"
	  "The disks must be reachable under the same paths on both hosts.\n"
	  "  -C CMD           run CMD (sh -c) instead of ssh; HOST may be left out\n"
	  "  --tcp HOST:PORT  connect to `xenkvm migrate-receive --listen HOST:PORT`:\n"
	  "                   plain TCP, unauthenticated and unencrypted (tests, benchmarks)\n"
	  "  --live           pre-copy while the guest runs: not implemented yet (refused)" },
	{ "migrate-receive", cli_migrate_receive, "migrate-receive [-v] [-u USER] [--listen HOST:PORT]",
	  "Receive a domain `xenkvm migrate` sends (run by it, over ssh).",
	  "Reads the stream from stdin (or from one TCP connection with --listen: plain,\n"
	  "unauthenticated TCP), checks it as it goes and has a new xenkvmd restore it\n"
	  "paused; answers READY on stdout once all of it is loaded, and starts the\n"
	  "domain when the sender says GO (docs/SAVE-FORMAT.md, \"Migration\").  A stream\n"
	  "restore would refuse is refused; without GO the domain is destroyed here.\n"
	  "  -v  xenkvmd's debug messages    -u USER  run the domain as USER (as create -u)" },
	{ "info", cli_info, "info", "Show information about this host.",
	  "Host name, kernel, CPUs, memory, /dev/kvm, running domains and the run directory." },
	{ "block-attach", cli_block_attach, "block-attach DOMAIN DISKSPEC",
	  "Hot-plug a disk (xl disk spec).", "The spec is checked here before it is sent." },
	{ "block-detach", cli_block_detach, "block-detach DOMAIN VDEV", "Hot-unplug a disk.", "" },
	{ "block-list", cli_block_list, "block-list DOMAIN", "List a domain's disks.", "" },
	{ "network-attach", cli_network_attach, "network-attach DOMAIN VIFSPEC",
	  "Hot-plug a network interface (xl vif spec).", "The spec is checked here before it is sent." },
	{ "network-detach", cli_network_detach, "network-detach DOMAIN DEVID|MAC",
	  "Hot-unplug a network interface.", "" },
	{ "network-list", cli_network_list, "network-list DOMAIN", "List a domain's network interfaces.", "" },
	{ "xenstore-ls", cli_xenstore_ls, "xenstore-ls [-f] DOMAIN [PATH]",
	  "List a XenStore subtree of a domain.",
	  "Prints 'name = \"value\"' lines indented by depth, like xenstore-ls.  Relative\n"
	  "paths are under /local/domain/<domid>; the default is that directory.\n"
	  "  -f   full paths, one per line" },
	{ "xenstore-read", cli_xenstore_read, "xenstore-read DOMAIN PATH ...",
	  "Read XenStore values of a domain.",
	  "Relative paths are under /local/domain/<domid>." },
	{ "xenstore-write", cli_xenstore_write, "xenstore-write DOMAIN PATH VALUE [PATH VALUE ...]",
	  "Write XenStore values of a domain.", "Relative paths are under /local/domain/<domid>." },
	{ "xenstore-rm", cli_xenstore_rm, "xenstore-rm DOMAIN PATH ...",
	  "Remove XenStore nodes (and their children) of a domain.",
	  "Relative paths are under /local/domain/<domid>." },
	{ "xenstore-watch", cli_xenstore_watch, "xenstore-watch [-n COUNT] DOMAIN PATH",
	  "Print the paths that change under PATH.",
	  "Prints one line per event (the first fires at once, as in Xen) until COUNT\n"
	  "events were printed (-n) or the domain goes away.  Relative paths are under\n"
	  "/local/domain/<domid>." },
	{ "help", cli_help, "help [VERB]", "Show the verbs, or one verb's usage and help.", "" },
};

const struct cli_verb *cli_verb_find(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

void cli_print_help(const struct cli_verb *v)
{
	printf("Usage: xenkvm %s\n\n%s\n", v->usage, v->summary);
	if (v->help[0])
		printf("\n%s\n", v->help);
}

static void print_overview(FILE *f)
{
	fprintf(f, "Usage: xenkvm [--version] VERB [args]\n\n"
		   "Runs Xen HVM guests from their xl.cfg files on KVM; the verbs follow xl's.\n\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-16s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nDOMAIN is a domain's name or domid.  'xenkvm help VERB' or 'xenkvm VERB --help'\n"
		   "for one verb.  Exit status: 0 success, 1 failure, 2 bad usage.\n");
}

static int cli_help(int argc, char **argv)
{
	const struct cli_verb *v;

	if (argc > 2)
		return cli_usage_error("help", "one verb at most");
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		cli_print_help(cli_verb_find("help"));
		return CLI_OK;
	}
	if (argc == 2) {
		v = cli_verb_find(argv[1]);
		if (!v) {
			fprintf(stderr, "xenkvm: unknown verb '%s' (see 'xenkvm help')\n", argv[1]);
			return CLI_USAGE;
		}
		cli_print_help(v);
		return CLI_OK;
	}
	print_overview(stdout);
	return CLI_OK;
}

/*
 * Installed as `xl` (the xenkvm-xl package), old scripts keep working: xl's
 * global flags before the verb are taken and ignored (-v, -f: we have no
 * verbosity levels or force mode to set), and a verb we lack fails as xl's
 * own does, so a script's error handling sees what it expects.
 */
static bool invoked_as_xl(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	return !strcmp(base ? base + 1 : argv0, "xl");
}

int main(int argc, char **argv)
{
	const struct cli_verb *v;
	bool xl = argc > 0 && invoked_as_xl(argv[0]);

	if (xl) {
		while (argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "-f"))) {
			argv[1] = argv[0];
			argv++;
			argc--;
		}
	}
	if (argc < 2) {
		print_overview(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_overview(stdout);
		return CLI_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("xenkvm %s (control protocol %d)\n", XENKVM_VERSION, CONTROL_PROTOCOL_VERSION);
		return CLI_OK;
	}
	v = cli_verb_find(argv[1]);
	if (!v && xl) {
		fprintf(stderr, "command not implemented\n");
		return CLI_FAIL;
	}
	if (!v) {
		fprintf(stderr, "xenkvm: unknown verb '%s' (see 'xenkvm help')\n", argv[1]);
		return CLI_USAGE;
	}
	return v->fn(argc - 1, argv + 1);
}
