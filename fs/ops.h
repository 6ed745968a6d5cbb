/*
 * The FUSE low-level operations of the mount: each turns a kernel request
 * into a tree lookup or a session/stream call and answers now or parks the
 * request (park.h). Nothing here ever waits on the network.
 */
#ifndef EXECFS_FS_OPS_H
#define EXECFS_FS_OPS_H

#include "fs.h"

extern const struct fuse_lowlevel_ops fs_ops;

/* At exit, after the kernel is gone: free the handles it never released. */
void ops_free_handles(struct execfs *fs);

#endif
