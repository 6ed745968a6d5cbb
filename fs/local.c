/*
 * Finding or starting the local agent (see local.h). The agent is started
 * the way git's run-command starts programs: everything (paths, argv) is
 * prepared before fork, the child only calls async-signal-safe functions,
 * and an exec failure comes back to us over a close-on-exec pipe. A double
 * fork with setsid detaches the agent from our session and leaves no
 * zombie: it outlives this mount and serves the next one.
 */
#include "local.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "execfs/proto.h"

#define AGENT_NAME "execfs-agent"
#define RUN_DIR "/run/execfs"
#define START_TIMEOUT_MS 5000

bool local_agent_alive(const char *path)
{
	struct sockaddr_un sun;
	bool ok;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return false;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

/* The agent next to our own binary (a build tree), else in ../sbin from
 * it (an installation: execfs in bin/, execfs-agent in sbin/), else the
 * first one in PATH. */
static int find_agent(char *out, size_t len)
{
	char self[PATH_MAX];
	const char *path, *p;
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if ((size_t)snprintf(out, len, "%s/%s", self,
					     AGENT_NAME) < len &&
			    access(out, X_OK) == 0)
				return 0;
			if ((size_t)snprintf(out, len, "%s/../sbin/%s", self,
					     AGENT_NAME) < len &&
			    access(out, X_OK) == 0)
				return 0;
		}
	}
	path = getenv("PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (p = path; *p;) {
		size_t dl = strcspn(p, ":");

		if (dl > 0 &&
		    (size_t)snprintf(out, len, "%.*s/%s", (int)dl, p,
				     AGENT_NAME) < len &&
		    access(out, X_OK) == 0)
			return 0;
		p += dl;
		if (*p == ':')
			p++;
	}
	return -ENOENT;
}

static int spawn_agent(const char *agent, char *err, size_t errlen)
{
	char *const argv[] = {
		(char *)AGENT_NAME,
		(char *)"--listen",
		(char *)"unix:" EXECFS_DEFAULT_SOCKET,
		(char *)"--pidfile",
		(char *)RUN_DIR "/agent.pid",
		(char *)"--log",
		(char *)RUN_DIR "/agent.log",
		NULL,
	};
	int pfd[2], status, child_err = 0;
	pid_t pid;
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -EAGAIN;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here on. */
		int fd, e;

		close(pfd[0]);
		setsid();
		if (fork() != 0)
			_exit(0);
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		execv(agent, argv);
		e = errno;
		(void)!write(pfd[1], &e, sizeof(e));
		_exit(127);
	}
	close(pfd[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	do
		n = read(pfd[0], &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == sizeof(child_err)) {
		snprintf(err, errlen, "cannot run %s: %s", agent,
			 strerror(child_err));
		return -child_err;
	}
	return 0;
}

int local_agent_ensure(char *err, size_t errlen)
{
	char agent[PATH_MAX];
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int waited, rc;

	if (local_agent_alive(EXECFS_DEFAULT_SOCKET))
		return 0;
	if (mkdir(RUN_DIR, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "mkdir %s: %s", RUN_DIR, strerror(errno));
		return rc;
	}
	if (find_agent(agent, sizeof(agent)) < 0) {
		snprintf(
			err, errlen,
			"no agent at %s and no %s next to execfs, in ../sbin or in PATH",
			EXECFS_DEFAULT_SOCKET, AGENT_NAME);
		return -ENOENT;
	}
	rc = spawn_agent(agent, err, errlen);
	if (rc < 0)
		return rc;
	for (waited = 0; waited < START_TIMEOUT_MS; waited += 50) {
		if (local_agent_alive(EXECFS_DEFAULT_SOCKET))
			return 0;
		nanosleep(&ts, NULL);
	}
	snprintf(err, errlen,
		 "started %s, but nothing accepts on %s after %d s"
		 " (see %s/agent.log)",
		 agent, EXECFS_DEFAULT_SOCKET, START_TIMEOUT_MS / 1000,
		 RUN_DIR);
	return -ETIMEDOUT;
}
