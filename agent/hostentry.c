/*
 * The node's own inventory entry (see hostentry.h): built once when the
 * inventory is made, from /proc/<init>, and listed on every scan while
 * that init lives.
 */
#include "hostentry.h"

#include "inventory.h"
#include "proccgroup.h"
#include "procstat.h"
#include "strv.h"

#include <errno.h>
#include <stdio.h>
#include <execfs/proto.h>
#include <stdlib.h>
#include <string.h>

/* runc's default for a root process without PATH; HOME comes from the
 * user's passwd entry at the start, as for any container. */
#define HOST_ENTRY_PATH \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char host_reason[] =
	"the node itself: the host's namespaces, without confinement";

static int dup_to(char **dst, const char *s)
{
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

int host_entry_load(struct oci_record *rec, pid_t init)
{
	struct container *c = &rec->c;
	char *fv1 = NULL, *fv2 = NULL, root[32], st;
	size_t n = 0;
	int rc;

	rc = proc_stat_read(init, &st, &c->start_time);
	if (!rc)
		rc = proc_cgroup_dirs(init, &c->cgroups, &fv1, &fv2);
	/* Freezing the node is not ours to see: it is never "paused". */
	free(fv1);
	free(fv2);
	if (rc < 0)
		goto out;
	c->pid = init;
	snprintf(root, sizeof(root), "/proc/%d", (int)init);
	c->host = true;
	c->privileged = true;
	c->privileged_reason = host_reason;
	c->uid = 0;
	c->gid = 0;
	if ((rc = dup_to(&c->id, EXECFS_HOST_ID)) ||
	    (rc = dup_to(&c->runtime_id, EXECFS_HOST_ID)) ||
	    (rc = dup_to(&c->namespace, EXECFS_HOST_ID)) ||
	    (rc = dup_to(&c->pod, EXECFS_HOST_ID)) ||
	    (rc = dup_to(&c->name, EXECFS_HOST_ID)) ||
	    (rc = dup_to(&c->naming, "node")) ||
	    (rc = dup_to(&c->runtime, "host")) ||
	    (rc = dup_to(&c->root, root)) || (rc = dup_to(&c->bundle, "/")) ||
	    (rc = dup_to(&c->image, "")) || (rc = dup_to(&c->created, "")) ||
	    (rc = dup_to(&c->cwd, "/")) ||
	    (rc = strv_push(&c->env, &n, HOST_ENTRY_PATH)))
		goto out;
	c->labels = json_object();
	c->name_sources = json_pack("[s]", "--host-exec");
	if (!c->labels || !c->name_sources)
		rc = -ENOMEM;
out:
	if (rc < 0)
		oci_record_release(rec);
	return rc;
}

enum container_state host_entry_state(const struct oci_record *rec)
{
	unsigned long long start;
	char st;

	if (proc_stat_read(rec->c.pid, &st, &start) < 0 ||
	    start != rec->c.start_time)
		return CONTAINER_STOPPED;
	return CONTAINER_RUNNING;
}
