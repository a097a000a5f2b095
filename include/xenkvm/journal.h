/*
 * Log messages into the systemd journal with the domain as a field
 * (journalctl XENKVM_DOMAIN=web), through the journal's native datagram
 * protocol: no libsystemd, and nothing happens where there is no journal.
 */
#ifndef XENKVM_JOURNAL_H
#define XENKVM_JOURNAL_H

#include <stdbool.h>

#include "xenkvm/log.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Whether this process runs under systemd (a service's INVOCATION_ID, which
 * `xenkvm create` run by xenkvm-domains.service passes on) with a journal. */
bool journal_wanted(void);
/* Connects to `path` (NULL: JOURNAL_SOCKET) and makes every log line also a
 * journal entry with SYSLOG_IDENTIFIER=ident.  0 or -errno. */
int journal_open(const char *path, const char *ident);
/* The fields every later entry carries: XENKVM_DOMAIN and XENKVM_DOMID. */
void journal_set_domain(const char *name, int domid);
void journal_close(void);

#endif
