/*
 * FUSE low-level operations (see ops.h). The file contract (docs/FILES.md)
 * lives here: which file allows what, what a read or write of it means,
 * and the modes that say so. Stream files are opened with FOPEN_DIRECT_IO
 * (cached mode would show stale data) but stay seekable (tail -f needs
 * offsets and a growing st_size).
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "execfs/log.h"
#include "fleet.h"
#include "metrics.h"
#include "node.h"
#include "park.h"
#include "session.h"
#include "stdin.h"
#include "stream.h"
#include "tree.h"

/* An open file. */
struct handle {
	struct list link; /* in fs->handles (freed at exit) */
	struct inode *ino; /* kept alive by the kernel's lookup */
	enum file_kind kind;
	struct session *sess; /* a reference, or NULL (no session yet) */
	bool writer; /* counts as a writer of sess's stdin */
	struct out_reader reader; /* stdout/stderr */
	struct poller poller; /* wait, stdin */
	char *text; /* owned: ctl/status/info/clone contents */
	size_t text_len;
};

/* A directory listing, taken at opendir so readdir offsets stay valid. */
struct dirbuf {
	char *buf; /* owned */
	size_t len;
};

static struct execfs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct inode *req_inode(fuse_req_t req, fuse_ino_t ino)
{
	return tree_get(req_fs(req)->tree, ino);
}

/* .metrics: the counters with the gauges counted now. */
static char *metrics_text(const struct execfs *fs, size_t *len)
{
	struct fs_metrics_gauges g = { 0 };

	nodes_count(fs, &g);
	return fs_metrics_text(&g, len);
}

static mode_t file_mode(enum file_kind k)
{
	switch (k) {
	case FILE_CTL:
	case FILE_STDIN: /* reads give EOF at once: editors load it empty */
		return 0600;
	case FILE_STDOUT:
	case FILE_STDERR:
	case FILE_STATUS:
	case FILE_WAIT:
	case FILE_CLONE:
	case FILE_INFO:
	case FILE_NODE_STATUS:
	case FILE_MOUNT_STATUS:
	case FILE_MOUNT_METRICS:
	case FILE_NKINDS:
		break;
	}
	return 0400;
}

static int status_text(const struct session *s, char *buf, size_t len)
{
	if (!s)
		return snprintf(buf, len, "none\n");
	return session_status_line(s, buf, len);
}

static void inode_stat(const struct execfs *fs, const struct inode *i,
		       struct stat *st)
{
	const struct out_stream *os;
	const struct inode *c = NULL;
	struct session *s;
	char line[600];
	size_t subdirs = 0, len;

	memset(st, 0, sizeof(*st));
	st->st_ino = inode_number(i);
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_mtim = inode_mtime(i);
	if (inode_is_dir(i)) {
		while ((c = inode_next_child(i, c)))
			if (inode_is_dir(c))
				subdirs++;
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2 + subdirs;
	} else {
		/* Session files change when the session does; container
		 * files show the current session's times. */
		st->st_mode = S_IFREG | file_mode(inode_file(i));
		st->st_nlink = 1;
		s = inode_session(i);
		switch (inode_file(i)) {
		case FILE_STDOUT:
		case FILE_STDERR:
			if (!s)
				break;
			os = session_out(s, inode_file(i) == FILE_STDOUT ?
						    SESSION_STDOUT :
						    SESSION_STDERR);
			st->st_size = (off_t)out_stream_size(os);
			st->st_mtim = out_stream_mtime(os);
			st->st_blksize = FS_STREAM_BLKSIZE;
			break;
		case FILE_STATUS:
			st->st_size = status_text(s, line, sizeof(line));
			if (s)
				st->st_mtim = session_mtime(s);
			break;
		case FILE_WAIT:
			/* Empty until there is a line to read without waiting. */
			if (s && session_ended(s)) {
				st->st_size = session_status_line(s, line,
								  sizeof(line));
				st->st_mtim = session_mtime(s);
			}
			break;
		case FILE_CTL:
			st->st_size = control_text(i, line, sizeof(line));
			if (s)
				st->st_mtim = session_mtime(s);
			break;
		case FILE_INFO:
			ctdir_info(inode_ctdir(i), &len);
			st->st_size = (off_t)len;
			break;
		case FILE_NODE_STATUS:
			st->st_size = node_status_text(inode_node(i), line,
						       sizeof(line));
			break;
		case FILE_MOUNT_STATUS:
			free(fleet_status_text(fs->fleet, fs, &len));
			st->st_size = (off_t)len;
			break;
		case FILE_MOUNT_METRICS:
			free(metrics_text(fs, &len));
			st->st_size = (off_t)len;
			break;
		case FILE_STDIN:
		case FILE_CLONE:
		case FILE_NKINDS:
			break;
		}
	}
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

/* With default_permissions the kernel checks a file's mode before each
 * open, and asks for its attributes again if they expired: clone's never
 * change (empty, 0400, its directory's owner), so a fan-out's stat and
 * open of it cost no GETATTR. */
static double attr_timeout(const struct inode *i)
{
	if (inode_is_dir(i))
		return FS_DIR_ATTR_TIMEOUT;
	return inode_file(i) == FILE_CLONE ? FS_CLONE_ATTR_TIMEOUT :
					     FS_FILE_ATTR_TIMEOUT;
}

/* ---- names -------------------------------------------------------------- */

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct inode *dir = req_inode(req, parent);
	struct fuse_entry_param e;
	struct inode *i;

	if (!inode_is_dir(dir)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	i = inode_child(dir, name);
	if (!i) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = inode_ino(i);
	e.generation = 1;
	inode_stat(req_fs(req), i, &e.attr);
	e.attr_timeout = attr_timeout(i);
	e.entry_timeout = FS_ENTRY_TIMEOUT;
	if (fuse_reply_entry(req, &e) == 0)
		inode_lookup(i);
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inode_forget(req_fs(req)->tree, req_inode(req, ino), nlookup);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	size_t k;

	for (k = 0; k < count; k++)
		inode_forget(req_fs(req)->tree, req_inode(req, forgets[k].ino),
			     forgets[k].nlookup);
	fuse_reply_none(req);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct inode *i = req_inode(req, ino);
	struct stat st;

	inode_stat(req_fs(req), i, &st);
	fuse_reply_attr(req, &st, attr_timeout(i));
}

/*
 * Editors write stdin in place (open O_TRUNC, write, fsync) and then set
 * mode and times: all harmless no-ops there. Elsewhere only times may be
 * "set" (touch), also as a no-op; sizes and modes are not ours to change.
 */
static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct inode *i = req_inode(req, ino);
	const int times = FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
			  FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW |
			  FUSE_SET_ATTR_CTIME;
	struct stat st;

	if (!(!inode_is_dir(i) && inode_file(i) == FILE_STDIN) &&
	    (to_set & ~times)) {
		fuse_reply_err(req, inode_is_dir(i) ? EPERM : EACCES);
		return;
	}
	inode_stat(req_fs(req), i, &st);
	fuse_reply_attr(req, &st, attr_timeout(i));
}

/* The container directories refuse new names, so editors write in place. */
static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EACCES);
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	fuse_reply_err(req, EACCES);
}

static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EACCES);
}

static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	fuse_reply_err(req, EACCES);
}

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	fuse_reply_err(req, EACCES);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	fuse_reply_err(req, EACCES);
}

static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EACCES);
}

/* ---- directories -------------------------------------------------------- */

static int dirbuf_add(fuse_req_t req, struct dirbuf *b, const char *name,
		      const struct inode *i)
{
	struct stat st;
	size_t old = b->len;
	char *nb;

	memset(&st, 0, sizeof(st));
	st.st_ino = inode_number(i);
	st.st_mode = inode_is_dir(i) ? S_IFDIR : S_IFREG;
	b->len += fuse_add_direntry(req, NULL, 0, name, NULL, 0);
	nb = realloc(b->buf, b->len);
	if (!nb)
		return -ENOMEM;
	b->buf = nb;
	fuse_add_direntry(req, b->buf + old, b->len - old, name, &st, b->len);
	return 0;
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct inode *dir = req_inode(req, ino), *c = NULL;
	struct dirbuf *b;
	int rc;

	if (!inode_is_dir(dir)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	b = calloc(1, sizeof(*b)); /* owned by fi->fh until releasedir */
	if (!b) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = dirbuf_add(req, b, ".", dir);
	if (rc == 0)
		rc = dirbuf_add(req, b, "..",
				inode_parent(dir) ? inode_parent(dir) : dir);
	while (rc == 0 && (c = inode_next_child(dir, c)))
		rc = dirbuf_add(req, b, inode_name(c), c);
	if (rc < 0) {
		free(b->buf);
		free(b);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)b;
	if (fuse_reply_open(req, fi) != 0) {
		free(b->buf);
		free(b);
	}
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dirbuf *b = (struct dirbuf *)(uintptr_t)fi->fh;

	if ((size_t)off >= b->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	/* A slice may cut an entry: the kernel stops at an incomplete one and
	 * asks again from there (as libfuse's hello_ll does). */
	fuse_reply_buf(req, b->buf + off,
		       b->len - (size_t)off < size ? b->len - (size_t)off :
						     size);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct dirbuf *b = (struct dirbuf *)(uintptr_t)fi->fh;

	free(b->buf);
	free(b);
	fuse_reply_err(req, 0);
}

/* ---- files -------------------------------------------------------------- */

static void handle_free(struct handle *h)
{
	list_del(&h->link);
	out_reader_detach(&h->reader);
	poller_release(&h->poller);
	if (h->writer && h->sess)
		in_stream_writer_close(session_in(h->sess));
	session_release(h->sess);
	free(h->text);
	free(h);
}

void ops_free_handles(struct execfs *fs)
{
	struct list *pos, *tmp;

	list_for_each_safe(pos, tmp, &fs->handles)
		handle_free(list_entry(pos, struct handle, link));
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct execfs *fs = req_fs(req);
	struct inode *i = req_inode(req, ino);
	int acc = fi->flags & O_ACCMODE;
	struct handle *h;

	if (inode_is_dir(i)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (acc != O_RDONLY &&
	    !(inode_file(i) == FILE_CTL || inode_file(i) == FILE_STDIN)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	h = calloc(1, sizeof(*h)); /* owned by fi->fh until release */
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->ino = i;
	h->kind = inode_file(i);
	poller_init(&h->poller);
	out_reader_init(&h->reader);
	h->sess = inode_session(i);
	if (h->sess)
		session_hold(h->sess);
	switch (h->kind) {
	case FILE_STDOUT:
	case FILE_STDERR:
		if (h->sess)
			out_reader_attach(session_out(h->sess,
						      h->kind == FILE_STDOUT ?
							      SESSION_STDOUT :
							      SESSION_STDERR),
					  &h->reader);
		break;
	case FILE_STDIN:
		if (acc != O_RDONLY && h->sess) {
			h->writer = true;
			in_stream_writer_open(session_in(h->sess));
		}
		break;
	case FILE_CTL:
	case FILE_STATUS:
	case FILE_WAIT:
	case FILE_CLONE:
	case FILE_INFO:
	case FILE_NODE_STATUS:
	case FILE_MOUNT_STATUS:
	case FILE_MOUNT_METRICS:
	case FILE_NKINDS:
		break;
	}
	list_add_tail(&fs->handles, &h->link);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	if (fuse_reply_open(req, fi) != 0)
		handle_free(h); /* interrupted open: no release will come */
}

static void fs_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	handle_free((struct handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

/* Reply with a slice of a text snapshot taken at the first read. */
static void reply_text(fuse_req_t req, struct handle *h, size_t size, off_t off,
		       const char *text, int len)
{
	if (off == 0 || !h->text) {
		char *copy = len >= 0 ? strndup(text, (size_t)len) : NULL;

		if (!copy) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		free(h->text);
		h->text = copy; /* owned by the handle */
		h->text_len = (size_t)len;
	}
	if ((size_t)off >= h->text_len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	fuse_reply_buf(req, h->text + off,
		       h->text_len - off < size ? h->text_len - off : size);
}

/* The first read of an open clone makes a session N/ and gives "N\n";
 * later reads of the same open give the same number. */
static void clone_read(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	struct execfs *fs = req_fs(req);
	struct inode *ctdir = inode_container_dir(h->ino);
	struct session *s;
	char num[16];
	int rc;

	if (!h->text) {
		if (!ctdir || !inode_linked(ctdir)) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		rc = tree_session_new(fs->tree, ctdir, fs->history_cap, &s);
		if (rc < 0) {
			log_info("clone in %s: %s",
				 ctdir_id(inode_ctdir(ctdir)), strerror(-rc));
			fuse_reply_err(req, -rc);
			return;
		}
		rc = snprintf(num, sizeof(num), "%u\n", session_num(s));
		h->text = strndup(num, (size_t)rc); /* owned by the handle */
		if (!h->text) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		h->text_len = (size_t)rc;
	}
	if ((size_t)off >= h->text_len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	fuse_reply_buf(req, h->text + off,
		       h->text_len - off < size ? h->text_len - off : size);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct ctdir *ct = inode_ctdir(h->ino);
	bool nonblock = fi->flags & O_NONBLOCK;
	const char *info;
	char line[600], *text = NULL;
	size_t len = 0;

	switch (h->kind) {
	case FILE_CTL:
		/* Its session (for the container: the current one), now. */
		reply_text(req, h, size, off, line,
			   control_text(h->ino, line, sizeof(line)));
		break;
	case FILE_STATUS:
		reply_text(req, h, size, off, line,
			   status_text(h->sess, line, sizeof(line)));
		break;
	case FILE_INFO:
		info = ct ? ctdir_info(ct, &len) : NULL;
		reply_text(req, h, size, off, info ? info : "", (int)len);
		break;
	case FILE_NODE_STATUS:
		reply_text(req, h, size, off, line,
			   node_status_text(inode_node(h->ino), line,
					    sizeof(line)));
		break;
	case FILE_MOUNT_STATUS:
	case FILE_MOUNT_METRICS:
		/* Built at the first read; later offsets read that text. */
		if ((off == 0 || !h->text) && h->kind == FILE_MOUNT_STATUS)
			text = fleet_status_text(req_fs(req)->fleet,
						 req_fs(req), &len);
		else if (off == 0 || !h->text)
			text = metrics_text(req_fs(req), &len);
		reply_text(req, h, size, off, text ? text : "",
			   text	   ? (int)len :
			   h->text ? 0 :
				     -1);
		free(text);
		break;
	case FILE_WAIT:
		if (h->sess)
			session_wait_read(h->sess, req, size, off, nonblock);
		else
			reply_text(req, h, size, off, "none\n", 5);
		break;
	case FILE_STDOUT:
	case FILE_STDERR:
		if (h->sess)
			out_reader_read(&h->reader, req, size, off, nonblock);
		else
			fuse_reply_buf(req, NULL, 0);
		break;
	case FILE_STDIN:
		fuse_reply_buf(req, NULL, 0);
		break;
	case FILE_CLONE:
		clone_read(req, h, size, off);
		break;
	case FILE_NKINDS:
		fuse_reply_err(req, EBADF);
		break;
	}
}

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	switch (h->kind) {
	case FILE_CTL:
		control_write(req_fs(req), req, h->ino, buf, size);
		break;
	case FILE_STDIN:
		if (h->sess)
			in_stream_write(session_in(h->sess), req, buf, size,
					fi->flags & O_NONBLOCK);
		else
			fuse_reply_err(req, EPIPE);
		break;
	case FILE_STDOUT:
	case FILE_STDERR:
	case FILE_STATUS:
	case FILE_WAIT:
	case FILE_CLONE:
	case FILE_INFO:
	case FILE_NODE_STATUS:
	case FILE_MOUNT_STATUS:
	case FILE_MOUNT_METRICS:
	case FILE_NKINDS:
		fuse_reply_err(req, EBADF);
		break;
	}
}

/* Readable now, nothing to wait for: drop the handle. */
static unsigned poll_ready(struct fuse_pollhandle *ph)
{
	if (ph)
		fuse_pollhandle_destroy(ph);
	return POLLIN | POLLRDNORM;
}

static void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	unsigned revents = 0;

	switch (h->kind) {
	case FILE_STDOUT:
	case FILE_STDERR:
		if (h->sess &&
		    out_reader_poll_hold(&h->reader, req, ph, fi->poll_events))
			return; /* answered when the echo comes */
		if (h->sess)
			revents = out_reader_poll(&h->reader, ph);
		else
			revents = poll_ready(ph);
		break;
	case FILE_WAIT:
		if (h->sess)
			revents = session_wait_poll(h->sess, &h->poller, ph);
		else
			revents = poll_ready(ph);
		break;
	case FILE_STDIN:
		if (h->writer)
			revents = in_stream_poll(session_in(h->sess),
						 &h->poller, ph);
		else
			revents = poll_ready(ph); /* reads give EOF at once */
		break;
	case FILE_CTL:
	case FILE_STATUS:
	case FILE_CLONE:
	case FILE_INFO:
	case FILE_NODE_STATUS:
	case FILE_MOUNT_STATUS:
	case FILE_MOUNT_METRICS:
	case FILE_NKINDS:
		revents = poll_ready(ph) | POLLOUT | POLLWRNORM;
		break;
	}
	fuse_reply_poll(req, revents);
}

const struct fuse_lowlevel_ops fs_ops = {
	.lookup = fs_lookup,
	.forget = fs_forget,
	.forget_multi = fs_forget_multi,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.mknod = fs_mknod,
	.mkdir = fs_mkdir,
	.unlink = fs_unlink,
	.rmdir = fs_unlink,
	.symlink = fs_symlink,
	.rename = fs_rename,
	.link = fs_link,
	.create = fs_create,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	/* No .flush: nothing happens at close(2) but release. libfuse answers
	 * ENOSYS and the kernel then stops sending FLUSH, one round trip less
	 * per close (a session start closes ctl and wait). */
	.release = fs_release,
	.fsync = fs_fsync,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.releasedir = fs_releasedir,
	.poll = fs_poll,
};
