/*
 * The report socket of a start (spawn_internal.h): a SOCK_SEQPACKET
 * socketpair, one fixed-size message per datagram. A and B write it
 * (spawn_msg_send, async-signal-safe); the agent reads it, first while
 * the start is an entry (spawner.c: A's PID, B's READY with the pty
 * master), then, once the start was handed over, whoever holds report_fd
 * (spawn_report_read: B's failure, or EOF when its execve closed B's end;
 * spawn_report_read_ids: also the ids B resolved for the user, which it
 * always reports once they are decided and checked against run_as, before
 * it takes them, so that an EOF before them is B's death, not its
 * execve).
 *
 * The agent's end has SO_PASSCRED: each message arrives with its sender's
 * pid as the kernel saw it, so a PID report is taken only from A, which
 * the agent started; a process of the container that got hold of B's end
 * (B is in its pid namespace until execve) cannot claim another pid.
 */
#include "spawn_internal.h"
#include "spawn_report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const stage_names[STAGE_COUNT] = {
	[STAGE_SETNS] = "setns",
	[STAGE_CLONE] = "clone",
	[STAGE_CGROUP] = "cgroup",
	[STAGE_CGROUPNS] = "cgroup namespace",
	[STAGE_PROC] = "container's /proc",
	[STAGE_PTY] = "pty",
	[STAGE_FILE] = "container's",
	[STAGE_USER] = "user",
	[STAGE_GROUP] = "group",
	[STAGE_SETSID] = "setsid",
	[STAGE_CTTY] = "controlling tty",
	[STAGE_STDIO] = "stdio",
	[STAGE_CAPS] = "capabilities",
	[STAGE_GROUPS] = "setgroups",
	[STAGE_GID] = "setgid",
	[STAGE_UID] = "setuid",
	[STAGE_NNP] = "no_new_privs",
	[STAGE_CWD] = "cwd",
	[STAGE_NICE] = "nice",
	[STAGE_EXEC] = "exec",
	[STAGE_OOM] = "oom score",
	[STAGE_RLIMIT] = "rlimit",
	[STAGE_LSM] = "lsm label",
	[STAGE_PERSONALITY] = "personality",
	[STAGE_SECCOMP] = "seccomp filter",
	[STAGE_RUN_AS] = "run_as",
};

/* ---- the children's side: async-signal-safe --------------------------- */

void spawn_msg_send(int sock, uint32_t type, int stage, int err,
		    const char *subject, pid_t pid, int fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct spawn_msg m;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	size_t i;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.magic = SPAWN_MSG_MAGIC;
	m.type = type;
	m.stage = stage;
	m.err = err;
	m.pid = pid;
	for (i = 0; subject && subject[i] && i < sizeof(m.subject) - 1; i++)
		m.subject[i] = subject[i];
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	/* MSG_NOSIGNAL: an agent that gave up waiting must not turn a
	 * report into a SIGPIPE death. */
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	/* A seccomp filter of the container's (installed last, before
	 * execve) may refuse sendmsg; a failed execve is still reported
	 * with the write almost every profile allows. */
	if (n < 0 && fd < 0 && errno != EPIPE)
		do
			n = write(sock, &m, sizeof(m));
		while (n < 0 && errno == EINTR);
}

void spawn_ids_send(int sock, uid_t uid, gid_t gid, const gid_t *groups,
		    size_t ngroups)
{
	struct spawn_ids_msg m;
	size_t i;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.hdr.magic = SPAWN_MSG_MAGIC;
	m.hdr.type = SPAWN_MSG_IDS;
	m.uid = uid;
	m.gid = gid;
	if (ngroups > USERDB_MAX_GROUPS)
		ngroups = USERDB_MAX_GROUPS; /* userdb never finds more */
	m.ngroups = (uint32_t)ngroups;
	for (i = 0; i < ngroups; i++)
		m.groups[i] = groups[i];
	do
		n = send(sock, &m, sizeof(m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
}

/* ---- the agent's side ------------------------------------------------- */

/* One datagram of up to len bytes into buf, with its fd and sender. */
static ssize_t report_recv(int sock, void *buf, size_t len, int *fd,
			   pid_t *sender)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int)) +
			 CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	struct ucred uc;
	ssize_t n;

	*fd = -1;
	*sender = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int))) {
			if (*fd >= 0)
				close(*fd);
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
		} else if (cm->cmsg_type == SCM_CREDENTIALS &&
			   cm->cmsg_len == CMSG_LEN(sizeof(uc))) {
			memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
			*sender = uc.pid;
		}
	}
	/* A cut control message (MSG_CTRUNC) dropped what it carried. */
	return n;
}

ssize_t spawn_msg_recv(int sock, struct spawn_msg *m, int *fd, pid_t *sender)
{
	return report_recv(sock, m, sizeof(*m), fd, sender);
}

bool spawn_msg_valid(const struct spawn_msg *m)
{
	return m->magic == SPAWN_MSG_MAGIC && m->type >= SPAWN_MSG_PID &&
	       m->type <= SPAWN_MSG_IDS && m->stage >= 0 &&
	       m->stage < STAGE_COUNT &&
	       m->subject[sizeof(m->subject) - 1] == '\0';
}

void spawn_msg_format(const struct spawn_msg *m, char *err, size_t errlen)
{
	const char *stage = stage_names[m->stage], *why = strerror(m->err);
	int n = (int)sizeof(m->subject);

	switch (m->stage) {
	case STAGE_USER:
		snprintf(err, errlen,
			 "user %.*s: no such user in the container", n,
			 m->subject);
		return;
	case STAGE_GROUP:
		snprintf(err, errlen,
			 "group %.*s: no such group in the container", n,
			 m->subject);
		return;
	case STAGE_RUN_AS:
		snprintf(
			err, errlen,
			"user %.*s: run_as does not allow the uid:gid it is in "
			"the container",
			n, m->subject);
		return;
	case STAGE_FILE:
	case STAGE_PTY:
		/* ctrfile.h's answers, said plainly. */
		if (m->err == EINVAL)
			why = m->stage == STAGE_PTY ?
				      "not the pty multiplexer" :
				      "not a regular file";
		else if (m->err == EXDEV)
			why = "replaced while it was opened";
		break;
	case STAGE_PROC:
		if (m->err == ENOTSUP)
			why = "not a procfs (its files cannot be opened safely)";
		break;
	}
	if (m->subject[0])
		snprintf(err, errlen, "%s %.*s: %s", stage, n, m->subject, why);
	else
		snprintf(err, errlen, "%s: %s", stage, why);
}

int spawn_msg_errno(const struct spawn_msg *m)
{
	switch (m->stage) {
	case STAGE_USER:
	case STAGE_GROUP:
	case STAGE_FILE:
		/* What the container holds, or lacks: a bad request for
		 * this container. */
		return EINVAL;
	case STAGE_PTY:
	case STAGE_PROC:
		/* A pty that could not be made is the agent's failure,
		 * not a missing program: the message has the reason. */
		return EIO;
	}
	return m->err > 0 ? m->err : EIO;
}

/* B's ids, if this report is them, from pid, and the first. */
static void take_ids(const struct spawn_ids_msg *m, size_t n, pid_t from,
		     pid_t pid, struct spawn_ids *ids)
{
	size_t i;

	if (!ids || ids->known || n != sizeof(*m) || from <= 0 || from != pid ||
	    m->ngroups > USERDB_MAX_GROUPS)
		return;
	ids->uid = m->uid;
	ids->gid = m->gid;
	ids->ngroups = m->ngroups;
	for (i = 0; i < m->ngroups; i++)
		ids->groups[i] = m->groups[i];
	ids->known = true;
}

int spawn_report_read_ids(int report_fd, pid_t pid, struct spawn_ids *ids,
			  char *err, size_t errlen)
{
	union {
		struct spawn_msg m;
		struct spawn_ids_msg ids;
	} u;
	pid_t from;
	ssize_t n;
	int fd;

	n = report_recv(report_fd, &u, sizeof(u), &fd, &from);
	if (fd >= 0)
		close(fd); /* no report of B's carries one now */
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		snprintf(err, errlen, "report: %s", strerror(errno));
		return -EIO;
	}
	if (n == 0 && ids && !ids->known) {
		/* B sends its ids before it goes on to its execve: an end
		 * without them is B's death (a signal, say) before it. */
		snprintf(err, errlen,
			 "the entering process died before its execve");
		return -ECHILD;
	}
	if (n == 0)
		return 0; /* B's copy closed at execve */
	if ((size_t)n < sizeof(u.m) || !spawn_msg_valid(&u.m) ||
	    (u.m.type != SPAWN_MSG_IDS && (size_t)n != sizeof(u.m))) {
		snprintf(err, errlen, "report: malformed");
		return -EIO;
	}
	if (u.m.type == SPAWN_MSG_IDS) {
		take_ids(&u.ids, (size_t)n, from, pid, ids);
		return -EAGAIN;
	}
	if (u.m.type != SPAWN_MSG_ERROR)
		return -EAGAIN;
	spawn_msg_format(&u.m, err, errlen);
	return -spawn_msg_errno(&u.m);
}

int spawn_report_read(int report_fd, char *err, size_t errlen)
{
	return spawn_report_read_ids(report_fd, 0, NULL, err, errlen);
}
