/*
 * Writes to a ctl file (the container's or a session's N/ctl): each line a
 * verb of include/execfs/ctl.h, applied in order to the session the file
 * speaks for. A write is answered once all its lines took effect, or with
 * the errno of the first line that failed (the lines before it stay done);
 * the reason is kept for reads of that ctl file and logged.
 */
#ifndef EXECFS_FS_CONTROL_H
#define EXECFS_FS_CONTROL_H

#include "fs.h"

struct inode;

/* Answer req (now or from the loop) for buf[0..size) written to ctl. */
void control_write(struct execfs *fs, fuse_req_t req, struct inode *ctl,
		   const char *buf, size_t size);

/* The text a read of ctl gives: "N SID STATE\n" for its session, or
 * "none\n", then "error: REASON\n" if its last write failed. */
int control_text(const struct inode *ctl, char *buf, size_t len);

#endif
