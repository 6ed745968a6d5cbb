/*
 * libFuzzer target: the files of other runtimes and orchestrators the agent
 * reads to find and name containers. Their writers are root, but much of
 * what is in them (names, labels, environments, cgroup paths) was chosen by
 * whoever created the container. The first byte picks the parser:
 *
 *   0  crun's status (crunstate.c)
 *   1  Docker's config.v2.json and the names it gives (names_docker.c):
 *      every name chosen either passes oci_name_is_safe() or is replaced
 *   2  c/storage's containers.json, looked up for id "a" (names_podman.c)
 *   3  a libpod container config (names_podman.c)
 *   4  /proc/PID/cgroup and mountinfo, split at the first NUL
 *      (proccgroup.c): every directory is absolute
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crunstate.h"
#include "names_docker.h"
#include "names_podman.h"
#include "proccgroup.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_docker(const char *text, size_t len)
{
	char podbuf[2 * DOCKER_POD_BUF], err[256];
	struct docker_meta m;
	struct name_choice ch;

	if (docker_meta_parse(text, len, &m, err, sizeof(err)) < 0)
		return;
	docker_meta_choice(&m, &ch, podbuf);
	/* Strings the choice points at are C strings of bounded size. */
	if (ch.pod && strlen(ch.pod) >= 4 * 1024 * 1024)
		abort();
	(void)(ch.ns && oci_name_is_safe(ch.ns, strlen(ch.ns)));
	(void)(ch.name && oci_name_is_safe(ch.name, strlen(ch.name)));
	docker_meta_release(&m);
}

static void fuzz_cgroup(const char *text, size_t len)
{
	char *cgroup, *mountinfo, **dirs, *f1, *f2;
	size_t cut = strnlen(text, len), i;

	cgroup = strndup(text, cut);
	mountinfo = strndup(cut < len ? text + cut + 1 : "",
			    cut < len ? len - cut - 1 : 0);
	if (cgroup && mountinfo &&
	    proc_cgroup_dirs_parse(cgroup, mountinfo, 0, &dirs, &f1, &f2) ==
		    0) {
		for (i = 0; dirs[i]; i++)
			if (dirs[i][0] != '/')
				abort();
		if (i > PROC_CGROUP_MAX)
			abort();
		strv_free(dirs);
		free(f1);
		free(f2);
	}
	free(cgroup);
	free(mountinfo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_record rec = { 0 };
	char *name, *image, *pod, err[256];
	const char *text;
	size_t len;
	bool infra;

	if (size < 1)
		return 0;
	text = (const char *)data + 1;
	len = size - 1;
	switch (data[0] % 5) {
	case 0:
		if (crun_status_parse(&rec, text, len, err, sizeof(err)) == 0 &&
		    rec.c.bundle[0] && rec.c.bundle[0] != '/')
			abort();
		oci_record_release(&rec);
		break;
	case 1:
		fuzz_docker(text, len);
		break;
	case 2:
		if (podman_store_find(text, len, "a", &name, &image) == 0) {
			free(name);
			free(image);
		}
		break;
	case 3:
		if (podman_ctr_config_parse(text, len, &pod, &infra) == 0)
			free(pod);
		break;
	case 4:
		fuzz_cgroup(text, len);
		break;
	}
	return 0;
}
