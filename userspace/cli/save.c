/*
 * xenkvm save DOMAIN FILE: the daemon pauses the domain, writes its state
 * to FILE (whole or not at all) and ends it; on a failure before the file
 * is complete the domain runs on and the daemon's reason is printed.
 * (xenkvm restore is create.c's: a domain created from a saved file.)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Writing RAM out takes time: a GiB on a slow disk may need a minute. */
#define SAVE_TIMEOUT_MS (15 * 60 * 1000)
#define SAVE_EXIT_MS    30000

int cli_save(int argc, char **argv)
{
	struct control_request req = { .version = CONTROL_PROTOCOL_VERSION, .op = CONTROL_OP_SAVE };
	struct rundir rd = { .lock_fd = -1 };
	struct rundir_entry e;
	struct control_reply rep;
	char cwd[PATH_MAX];
	const char *file;
	int first, rc;

	if (cli_want_help("save", argc, argv, &rc))
		return rc;
	first = 1;
	if (argc > first && argv[first][0] == '-' && strcmp(argv[first], "--"))
		return cli_usage_error("save", "unknown option '%s' (xl's -c and -p are not supported)",
				       argv[first]);
	if (argc > first && !strcmp(argv[first], "--"))
		first++;
	if (argc - first != 2)
		return cli_usage_error("save", "expected DOMAIN FILE");
	file = argv[first + 1];
	/* The daemon's working directory is not ours: send an absolute path. */
	if (file[0] == '/')
		rc = snprintf(req.arg, sizeof(req.arg), "%s", file);
	else if (getcwd(cwd, sizeof(cwd)))
		rc = snprintf(req.arg, sizeof(req.arg), "%s/%s", cwd, file);
	else
		return cli_fail("save", "cannot find the current directory: %s", strerror(errno));
	if (rc < 0 || (size_t)rc >= sizeof(req.arg))
		return cli_usage_error("save", "%s: path too long", file);
	if (req.arg[strlen(req.arg) - 1] == '/')
		return cli_usage_error("save", "%s: a file name is needed", file);
	if (cli_rundir_open("save", &rd))
		return CLI_FAIL;
	rc = cli_find_domain("save", &rd, argv[first], &e);
	if (rc)
		goto out;
	rc = cli_control_req("save", &rd, &e, &req, SAVE_TIMEOUT_MS, &rep);
	control_reply_free(&rep);
	if (rc)
		goto out;
	/* Saved: the daemon ends the domain now. */
	rc = cli_wait_gone(&rd, e.domid, SAVE_EXIT_MS);
	if (rc) {
		cli_fail("save", "domain %s (id %d) was saved to %s but has not ended (pid %d)", e.name,
			 e.domid, req.arg, (int)e.pid);
		goto out;
	}
	rundir_remove(&rd, e.domid);
	fprintf(stderr, "Saved domain %s (id=%d) to %s\n", e.name, e.domid, req.arg);
out:
	rundir_close(&rd);
	return rc ? CLI_FAIL : CLI_OK;
}
