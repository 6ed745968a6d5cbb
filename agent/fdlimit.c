/*
 * The agent's open-file limit (see fdlimit.h).
 */
#include "fdlimit.h"

#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>

/* Process-wide, like the limit itself. */
static struct rlimit original;
static bool saved;

/* The kernel's ceiling for RLIMIT_NOFILE (fs.nr_open). */
static rlim_t nr_open(void)
{
	char *buf;
	long long v = 0;

	if (!read_file_at(AT_FDCWD, "/proc/sys/fs/nr_open", 64, &buf, NULL,
			  NULL)) {
		v = strtoll(buf, NULL, 10);
		free(buf);
	}
	return v > 0 ? (rlim_t)v : 1024 * 1024;
}

int fdlimit_raise(void)
{
	struct rlimit rl;
	rlim_t cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (!saved) {
		original = rl;
		saved = true;
	}
	/* The hard limit itself stays as it is (lowering it is for good). */
	cap = rl.rlim_max;
	if (cap == RLIM_INFINITY || cap > nr_open())
		cap = nr_open();
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= cap)
		return 0;
	rl.rlim_cur = cap;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

void fdlimit_set_original(struct rlimit rl)
{
	original = rl;
	saved = true;
}

struct rlimit fdlimit_original(void)
{
	struct rlimit rl;

	if (saved)
		return original;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
	return rl;
}
