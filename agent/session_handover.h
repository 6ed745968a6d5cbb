/*
 * Sessions across an upgrade in place (session_handover.c): the worker's
 * table to handover.h's document, and a document's session back into a
 * table. Only for a privilege-separated worker (the jobs are the remote
 * launcher's, named by the monitor's tokens).
 */
#ifndef EXECFS_AGENT_SESSION_HANDOVER_H
#define EXECFS_AGENT_SESSION_HANDOVER_H

#include <stddef.h>
#include <stdint.h>

struct handover_doc;
struct handover_session;
struct xsession_table;

/* Every session of t that has a process into d->sessions (allocated
 * here), with dups of their fds in *fds (*nfds of them, owned by the
 * caller, indices as the document says). Attached output streams hand
 * back the bytes their client may lack. 0 or -errno (what was made so far
 * is still the caller's to release). */
/* An upper bound of the bytes xsession_table_export()'s document would
 * take (handover_doc_size), computed without copying anything. */
uint64_t xsession_table_export_size(struct xsession_table *t);
int xsession_table_export(struct xsession_table *t, struct handover_doc *d,
			  int **fds, size_t *nfds);

/* One session of a document into t, taking the fds it names from fds
 * (their slots set to -1). Nothing is attached: the session waits for
 * its client's resume. 0 or -errno. */
int xsession_table_import(struct xsession_table *t,
			  const struct handover_session *h, int *fds);

#endif
