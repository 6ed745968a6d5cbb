/*
 * Helpers shared by `execfs exec` and `execfs exec --all` (see
 * exec_common.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_common.h"
#include "execfs/ctl.h"

bool exec_is_container_dir(const char *dir)
{
	char path[4096];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/clone", dir) >= (int)sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void exec_strv_free(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int exec_glob_containers(const char *pattern, char ***out, size_t *n)
{
	glob_t g;
	char **v = NULL;
	size_t i, k = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!strpbrk(pattern, "*?[")) {
		if (!exec_is_container_dir(pattern))
			return -ENOENT;
		v = calloc(1, sizeof(*v)); /* the caller's */
		if (!v || !(v[0] = strdup(pattern))) {
			free(v);
			return -ENOMEM;
		}
		*out = v;
		*n = 1;
		return 0;
	}
	if (glob(pattern, GLOB_ONLYDIR, NULL, &g) != 0)
		return -ENOENT;
	v = calloc(g.gl_pathc, sizeof(*v)); /* the caller's */
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < g.gl_pathc; i++) {
		if (!exec_is_container_dir(g.gl_pathv[i]))
			continue;
		v[k] = strdup(g.gl_pathv[i]);
		if (!v[k]) {
			rc = -ENOMEM;
			goto out;
		}
		k++;
	}
	if (k == 0)
		rc = -ENOENT;
out:
	if (rc < 0) {
		exec_strv_free(v, k);
	} else {
		*out = v;
		*n = k;
	}
	globfree(&g);
	return rc;
}

ssize_t exec_read_text(const char *path, char *buf, size_t len)
{
	return exec_read_text_at(AT_FDCWD, path, buf, len);
}

ssize_t exec_read_text_at(int dirfd, const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

int exec_status_exit(const char *line, bool *ended)
{
	long long code;
	int signo;
	char name[32];

	*ended = true;
	if (sscanf(line, "exited %lld", &code) == 1)
		return code >= 0 && code <= 255 ? (int)code : 255;
	if (sscanf(line, "killed %31s", name) == 1) {
		signo = ctl_signal_parse(name);
		return signo > 0 ? 128 + signo : 255;
	}
	*ended = false;
	if (strncmp(line, "failed", 6) == 0)
		return EXEC_EXIT_EXECFS;
	return 255;
}

int exec_start_exit(int err)
{
	return err == -ENOENT ? EXEC_EXIT_NOT_FOUND :
	       err == -EACCES ? EXEC_EXIT_CANNOT_RUN :
				EXEC_EXIT_EXECFS;
}

static int sig_pipe[2] = { -1, -1 };

void exec_signals_post(unsigned char b)
{
	int saved = errno;

	if (write(sig_pipe[1], &b, 1) < 0) {
		/* the pipe is full: the loop has signals to read anyway */
	}
	errno = saved;
}

static void on_signal(int sig)
{
	exec_signals_post((unsigned char)sig);
}

int exec_signals_catch(const int *sigs, size_t n)
{
	struct sigaction sa;
	size_t i;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	for (i = 0; i < n; i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return sig_pipe[0];
}
