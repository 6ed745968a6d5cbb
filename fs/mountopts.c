/*
 * The mount's command line (see mountopts.h). mount(8)'s helper convention
 * is turned into the ordinary command line first, then one fuse_opt pass
 * takes our options (as long flags or -o), drops fstab's, and collects the
 * positional arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mountopts.h"

#define SOURCE_MAX 255
/* The -o arguments a helper call may carry (mount(8) passes one). */
#define HELPER_MAX_O 16

/* fuse_opt_parse() hands the same pointer to the templates and to proc():
 * the options first, what proc() collects after them. */
struct parse_state {
	struct mount_opts mo;
	char *pos[2]; /* owned: SOURCE and MOUNTPOINT, or MOUNTPOINT */
	int npos;
	bool too_many;
};

#define OPT(t, field)                                        \
	{                                                    \
		t, offsetof(struct parse_state, mo.field), 0 \
	}

static const struct fuse_opt spec[] = { OPT("--agent %s", agent),
					OPT("--agent=%s", agent),
					OPT("agent=%s", agent),
					OPT("--config %s", config),
					OPT("--config=%s", config),
					OPT("config=%s", config),
					OPT("--log %s", log),
					OPT("--log=%s", log),
					OPT("log=%s", log),
					OPT("history=%s", history),
					OPT("heartbeat=%s", heartbeat),
					OPT("resume=%s", resume),
					OPT("spin=%s", spin),
					OPT("echo_wait=%s", echo_wait),
					FUSE_OPT_END };

/* fstab options for mount(8) and systemd, not for the filesystem. */
static bool fstab_only(const char *opt)
{
	static const char *const names[] = { "_netdev", "nofail", "auto",
					     "noauto",	"user",	  "nouser",
					     "users",	"owner",  "group",
					     "defaults" };
	size_t i;

	if (strncmp(opt, "x-", 2) == 0 || strncmp(opt, "X-", 2) == 0 ||
	    strncmp(opt, "comment=", 8) == 0)
		return true;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(opt, names[i]) == 0)
			return true;
	return false;
}

static int proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct parse_state *ps = data;

	(void)outargs;
	if (key == FUSE_OPT_KEY_NONOPT) {
		if (ps->npos == 2) {
			ps->too_many = true;
			return 0;
		}
		ps->pos[ps->npos] = strdup(arg);
		return ps->pos[ps->npos++] ? 0 : -1;
	}
	/* An -o option comes without its "-o": "-f" is no fstab option. */
	return fstab_only(arg) ? 0 : 1;
}

static bool source_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SOURCE_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/*
 * mount(8) calls a helper as TYPE-HELPER SOURCE DIR [-sfnv] [-N NS]
 * [-o OPTS] [-t TYPE]. Build the ordinary command line from it into *out
 * (an array that points into argv): argv0 -o OPTS... SOURCE DIR.
 */
static int helper_argv(int argc, char **argv, struct mount_opts *o, char ***out,
		       int *outc, char *err, size_t errlen)
{
	char *opts[HELPER_MAX_O];
	int nopts = 0, ch, i, n;
	char **v;

	optind = 0; /* a fresh scan (GNU getopt) */
	opterr = 0;
	while ((ch = getopt(argc, argv, "sfnvN:o:t:")) != -1) {
		switch (ch) {
		case 's': /* sloppy: libfuse still refuses what it lacks */
		case 'n': /* no mtab: we never write one */
		case 'v':
			break;
		case 'f':
			o->fake = true;
			break;
		case 'o':
			if (nopts == HELPER_MAX_O) {
				snprintf(err, errlen, "too many -o");
				return -EINVAL;
			}
			opts[nopts++] = optarg;
			break;
		case 't':
			if (strcmp(optarg, "execfs") != 0 &&
			    strcmp(optarg, "fuse.execfs") != 0) {
				snprintf(err, errlen,
					 "-t %s: this helper mounts execfs",
					 optarg);
				return -EINVAL;
			}
			break;
		case 'N':
			snprintf(
				err, errlen,
				"-N (another mount namespace) is not supported");
			return -EINVAL;
		default:
			snprintf(err, errlen, "unknown mount option -%c",
				 optopt);
			return -EINVAL;
		}
	}
	if (argc - optind != 2) {
		snprintf(
			err, errlen,
			"usage: %s SOURCE MOUNTPOINT [-sfnv] [-o OPTIONS] [-t TYPE]",
			argv[0]);
		return -EINVAL;
	}
	v = calloc((size_t)(2 * nopts + 4), sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	v[n++] = argv[0];
	for (i = 0; i < nopts; i++) {
		v[n++] = (char *)"-o";
		v[n++] = opts[i];
	}
	v[n++] = argv[optind];
	v[n++] = argv[optind + 1];
	*out = v;
	*outc = n;
	return 0;
}

int mount_opts_parse(int argc, char **argv, struct mount_opts *o, char *err,
		     size_t errlen)
{
	struct parse_state ps;
	char **hargv = NULL; /* owned: the array, not its strings */
	char *escaped = NULL, *fsname = NULL;
	const char *base;
	int rc = -EINVAL, i;

	memset(o, 0, sizeof(*o));
	memset(&ps, 0, sizeof(ps));
	base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : argc > 0 ? argv[0] : "";
	o->helper = strncmp(base, "mount.", 6) == 0;
	if (o->helper) {
		rc = helper_argv(argc, argv, o, &hargv, &argc, err, errlen);
		if (rc < 0)
			return rc;
		argv = hargv;
	}
	o->fuse = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	rc = -ENOMEM;
	ps.mo.helper = o->helper;
	ps.mo.fake = o->fake;
	i = fuse_opt_parse(&o->fuse, &ps, spec, proc);
	/* The option strings are o's from here on, whatever happened. */
	ps.mo.fuse = o->fuse;
	*o = ps.mo;
	if (i < 0) {
		snprintf(err, errlen, "bad arguments (try --help)");
		rc = -EINVAL;
		goto out;
	}
	/* fuse_opt_parse() replaced the args with its own copy. */
	free(hargv);
	hargv = NULL;
	if (ps.too_many) {
		snprintf(
			err, errlen,
			"too many arguments: [SOURCE] MOUNTPOINT (try --help)");
		rc = -EINVAL;
		goto out;
	}
	o->source = ps.npos == 2 ? ps.pos[0] : strdup(MOUNT_SOURCE_DEFAULT);
	if (ps.npos == 2)
		ps.pos[0] = NULL;
	if (!o->source)
		goto out;
	if (!source_valid(o->source)) {
		snprintf(err, errlen,
			 "bad SOURCE: 1 to %d bytes without control characters",
			 SOURCE_MAX);
		rc = -EINVAL;
		goto out;
	}
	/* libfuse splits options at commas: escape the name's. */
	if (fuse_opt_add_opt_escaped(&escaped, o->source) < 0 ||
	    asprintf(&fsname, "-ofsname=%s", escaped) < 0) {
		fsname = NULL;
		goto out;
	}
	/* Modes are the access control for allow_other mounts. */
	if (fuse_opt_add_arg(&o->fuse, fsname) < 0 ||
	    fuse_opt_add_arg(&o->fuse, "-osubtype=execfs") < 0 ||
	    fuse_opt_add_arg(&o->fuse, "-odefault_permissions") < 0)
		goto out;
	if (ps.npos > 0 && fuse_opt_add_arg(&o->fuse, ps.pos[ps.npos - 1]) < 0)
		goto out;
	rc = 0;
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	for (i = 0; i < ps.npos; i++)
		free(ps.pos[i]);
	free(escaped);
	free(fsname);
	free(hargv);
	return rc;
}

void mount_opts_release(struct mount_opts *o)
{
	free(o->agent);
	free(o->config);
	free(o->log);
	free(o->history);
	free(o->heartbeat);
	free(o->resume);
	free(o->spin);
	free(o->echo_wait);
	free(o->source);
	fuse_opt_free_args(&o->fuse);
	memset(o, 0, sizeof(*o));
}
