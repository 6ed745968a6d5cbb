/*
 * The mount's command line, in the two shapes it comes in:
 *
 *   execfs [--agent ADDR] [--config FILE] [--log FILE] [-f] [-d]
 *          [-o OPT[,OPT...]] [SOURCE] MOUNTPOINT
 *   mount.execfs SOURCE MOUNTPOINT [-sfnv] [-N NS] [-o OPTS] [-t TYPE]
 *
 * The second is how mount(8) runs a helper for `mount -t execfs` and
 * `mount -t fuse.execfs` (and so for an fstab line): /sbin/mount.execfs and
 * /sbin/mount.fuse.execfs are links to execfs, which knows the convention
 * by its name. Every option of the first shape is also an -o option
 * (agent=, config=, log=, ...), so an fstab line can say everything.
 * fstab's own options that mount(8) passes along (_netdev, nofail, auto,
 * user, x-systemd.*, comment=, ...) are dropped here; what is left goes to
 * libfuse, which refuses an option it does not know.
 *
 * SOURCE only names the mount in the mount table (findmnt, df; default
 * "execfs"): what is mounted is said by agent= or config= alone.
 */
#ifndef EXECFS_FS_MOUNTOPTS_H
#define EXECFS_FS_MOUNTOPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "fs.h"

#define MOUNT_SOURCE_DEFAULT "execfs"

struct mount_opts {
	/* Owned; NULL when not given. Checked by their users. */
	char *agent;
	char *config;
	char *log;
	char *history;
	char *heartbeat;
	char *resume;
	char *spin;
	char *echo_wait;
	char *source; /* owned; MOUNT_SOURCE_DEFAULT when not given */
	bool helper; /* run by mount(8) as mount.execfs: never foreground */
	bool fake; /* mount -f: check everything, mount nothing */
	/* Owned: what is left for fuse_parse_cmdline() and fuse_session_new():
	 * -f, -d, -h, -V, the -o options libfuse knows, then fsname=SOURCE,
	 * subtype=execfs and default_permissions, and the mount point last. */
	struct fuse_args fuse;
};

/* Parse argv into o (zeroed first). 0, or -EINVAL/-ENOMEM with err
 * saying why; o must be released either way. */
int mount_opts_parse(int argc, char **argv, struct mount_opts *o, char *err,
		     size_t errlen);
void mount_opts_release(struct mount_opts *o);

#endif
