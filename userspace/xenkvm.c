/*
 * xenkvm: the xl-like command line.  Verbs are one table; each verb parses
 * its own options.  For now domains run in the foreground through xenkvmd;
 * detached domains and the control socket come with the lifecycle work.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static const struct verb *verb_find(const char *name);
static int verb_help(int argc, char **argv);

/* xenkvmd is installed next to us. */
static int exec_daemon(char **args)
{
	char self[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = 0;
		snprintf(path, sizeof(path), "%s/xenkvmd", dirname(self));
		execv(path, args);
	}
	execvp("xenkvmd", args);
	fprintf(stderr, "xenkvm: cannot run xenkvmd: %s\n", strerror(errno));
	return 1;
}

static int verb_create(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 2, sizeof(*args));
	int i, n = 0, foreground = 0;

	if (!args)
		return 1;
	args[n++] = "xenkvmd";
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-F") || !strcmp(argv[i], "-c")) {
			foreground = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			free(args);
			return verb_help(2, (char *[]){ "help", "create", NULL });
		} else {
			fprintf(stderr, "xenkvm create: unknown option '%s'\n", argv[i]);
			free(args);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "xenkvm create: no config file given\n");
		free(args);
		return 2;
	}
	if (!foreground) {
		fprintf(stderr, "xenkvm create: detached domains are not supported yet; use -F (or -c)\n");
		free(args);
		return 1;
	}
	for (; i < argc; i++)
		args[n++] = argv[i];
	return exec_daemon(args);
}

static const struct verb verbs[] = {
	{ "create", verb_create, "create -F|-c CONFIG [key=value ...]",
	  "Create a domain from an xl.cfg file and run it in the foreground with its console attached." },
	{ "help", verb_help, "help [VERB]", "Show the verbs, or one verb's usage." },
};

static const struct verb *verb_find(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

static int verb_help(int argc, char **argv)
{
	const struct verb *v;

	if (argc > 1) {
		v = verb_find(argv[1]);
		if (!v) {
			fprintf(stderr, "xenkvm: unknown verb '%s'\n", argv[1]);
			return 2;
		}
		printf("usage: xenkvm %s\n\n%s\n", v->usage, v->help);
		return 0;
	}
	printf("usage: xenkvm VERB [args]\n\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		printf("  %-10s %s\n", verbs[i].name, verbs[i].help);
	return 0;
}

int main(int argc, char **argv)
{
	const struct verb *v;

	if (argc < 2) {
		verb_help(1, argv);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return verb_help(1, argv);
	v = verb_find(argv[1]);
	if (!v) {
		fprintf(stderr, "xenkvm: unknown verb '%s' (see 'xenkvm help')\n", argv[1]);
		return 2;
	}
	return v->fn(argc - 1, argv + 1);
}
