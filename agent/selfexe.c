/*
 * Running from a sealed memfd copy of the binary (see selfexe.h).
 */
#include "selfexe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SELFEXE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
/* Set across the re-exec only: a copy that came out unsealed must not
 * re-execute forever. */
#define SELFEXE_ENV "EXECFS_AGENT_SEALED_EXEC"
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
/* memfd_create() takes names of at most 249 bytes. */
#define SELFEXE_NAME_MAX 250

extern char **environ;

bool selfexe_sealed(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	bool sealed;

	if (fd < 0)
		return false;
	/* F_GET_SEALS answers only for memfds (shmem files). */
	sealed = fcntl(fd, F_GET_SEALS) == SELFEXE_SEALS;
	close(fd);
	return sealed;
}

/* A sealed memfd holding a copy of /proc/self/exe, named after the file
 * it copies: /proc/PID/exe then says "/memfd:/usr/sbin/execfs-agent
 * (deleted)", so a package's scripts can still tell its agents. */
static int sealed_copy(void)
{
	char name[SELFEXE_NAME_MAX] = "execfs-agent";
	struct stat st;
	off_t off = 0;
	ssize_t n;
	int in, fd, rc;

	n = readlink("/proc/self/exe", name, sizeof(name) - 1);
	/* A path maybe cut short is not recorded: the copy then names no
	 * path, and an upgrade (which reads it back) refuses with a reason
	 * rather than run another file. */
	if (n > 0 && (size_t)n < sizeof(name) - 1) {
		name[n] = '\0';
		if (n > 10 && !strcmp(name + n - 10, " (deleted)"))
			name[n - 10] = '\0';
	} else {
		strcpy(name, "execfs-agent");
	}
	/* MFD_EXEC: on kernels with vm.memfd_noexec, ask for an executable
	 * one; older kernels do not know the flag. */
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0)
		goto out_errno;
	while (off < st.st_size) {
		n = sendfile(fd, in, &off, st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out_errno;
		if (n == 0) {
			errno = EIO; /* the file shrank under us */
			goto out_errno;
		}
	}
	if (fcntl(fd, F_ADD_SEALS, SELFEXE_SEALS) < 0)
		goto out_errno;
	close(in);
	return fd;

out_errno:
	rc = -errno;
	if (in >= 0)
		close(in);
	close(fd);
	return rc;
}

int selfexe_ensure_sealed(char **argv)
{
	int fd, rc;

	if (selfexe_sealed()) {
		unsetenv(SELFEXE_ENV);
		return 0;
	}
	if (getenv(SELFEXE_ENV)) {
		unsetenv(SELFEXE_ENV);
		return -ELOOP;
	}
	fd = sealed_copy();
	if (fd < 0)
		return fd;
	if (setenv(SELFEXE_ENV, "1", 1) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	rc = -errno;
	unsetenv(SELFEXE_ENV);
	close(fd);
	return rc;
}
