/*
 * The Docker naming rule (see names_docker.h and naming.h). Three shapes:
 *
 *   docker   docker/<name>/<name>            `docker run --name web`
 *   compose  <project>/<service>-<N>/<service>
 *                                            labels com.docker.compose.*
 *   nomad    <nomad namespace>/<job>.<group>[<index>]/<task>
 *                                            labels com.hashicorp.nomad.*
 *
 * Nomad's docker driver always sets the alloc_id label; job, group, task
 * and namespace labels only with its extra_labels option, so the same
 * facts are also taken from the NOMAD_* variables Nomad puts in every
 * task's environment (NOMAD_ALLOC_NAME is "<job>.<group>[<index>]", the
 * allocation's name as `nomad alloc status` shows it).
 */
#include "names_docker.h"

#include "readfile.h"

#include <errno.h>
#include <execfs/log.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L_COMPOSE_PROJECT "com.docker.compose.project"
#define L_COMPOSE_SERVICE "com.docker.compose.service"
#define L_COMPOSE_NUMBER "com.docker.compose.container-number"
#define L_COMPOSE_ONEOFF "com.docker.compose.oneoff"
#define L_NOMAD_ALLOC "com.hashicorp.nomad.alloc_id"
#define L_NOMAD_NAMESPACE "com.hashicorp.nomad.namespace"
#define L_NOMAD_JOB "com.hashicorp.nomad.job_name"
#define L_NOMAD_GROUP "com.hashicorp.nomad.task_group_name"
#define L_NOMAD_TASK "com.hashicorp.nomad.task_name"
/* Short allocation ids, as the Nomad CLI prints them. */
#define NOMAD_SHORT_ID 8

void docker_meta_release(struct docker_meta *m)
{
	json_decref(m->doc);
	memset(m, 0, sizeof(*m));
}

int docker_meta_parse(const char *text, size_t len, struct docker_meta *m,
		      char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *config, *v;
	const char *name;

	memset(m, 0, sizeof(*m));
	m->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(m->doc)) {
		snprintf(err, errlen, "%s",
			 m->doc ? "not a JSON object" : jerr.text);
		goto out_bad;
	}
	m->id = oci_jstr(json_object_get(m->doc, "ID"));
	if (!m->id) {
		snprintf(err, errlen, "no ID");
		goto out_bad;
	}
	name = oci_jstr(json_object_get(m->doc, "Name"));
	if (name && name[0] == '/')
		name++;
	m->name = name && *name ? name : NULL;
	config = json_object_get(m->doc, "Config");
	m->image = oci_jstr(json_object_get(config, "Image"));
	v = json_object_get(config, "Labels");
	m->labels = json_is_object(v) ? v : NULL;
	v = json_object_get(config, "Env");
	m->env = json_is_array(v) ? v : NULL;
	return 0;

out_bad:
	docker_meta_release(m);
	return -EINVAL;
}

static const char *meta_label(const struct docker_meta *m, const char *key)
{
	return m->labels ? oci_jstr(json_object_get(m->labels, key)) : NULL;
}

/* The value of NAME in Config.Env (the last one wins, as in execve). */
static const char *meta_env(const struct docker_meta *m, const char *name)
{
	size_t nlen = strlen(name), i;
	const char *s, *found = NULL;
	json_t *v;

	json_array_foreach(m->env, i, v) {
		s = oci_jstr(v);
		if (s && !strncmp(s, name, nlen) && s[nlen] == '=')
			found = s + nlen + 1;
	}
	return found && *found ? found : NULL;
}

static const char *first(const char *a, const char *b)
{
	return a ? a : b;
}

static void choice_nomad(const struct docker_meta *m, struct name_choice *ch,
			 char *podbuf, char *fallbuf)
{
	const char *alloc = meta_label(m, L_NOMAD_ALLOC);
	const char *job, *group, *index, *name;

	ch->naming = "nomad";
	ch->ns = first(meta_label(m, L_NOMAD_NAMESPACE),
		       meta_env(m, "NOMAD_NAMESPACE"));
	ch->name = first(meta_label(m, L_NOMAD_TASK),
			 meta_env(m, "NOMAD_TASK_NAME"));
	ch->name_fallback = m->name;
	snprintf(fallbuf, DOCKER_POD_BUF, "%.*s", NOMAD_SHORT_ID, alloc);
	ch->pod_fallback = fallbuf;
	name = meta_env(m, "NOMAD_ALLOC_NAME");
	job = first(meta_label(m, L_NOMAD_JOB), meta_env(m, "NOMAD_JOB_NAME"));
	group = first(meta_label(m, L_NOMAD_GROUP),
		      meta_env(m, "NOMAD_GROUP_NAME"));
	index = meta_env(m, "NOMAD_ALLOC_INDEX");
	if (name)
		ch->pod = name;
	else if (job && group && index &&
		 snprintf(podbuf, DOCKER_POD_BUF, "%s.%s[%s]", job, group,
			  index) < DOCKER_POD_BUF)
		ch->pod = podbuf;
}

static void choice_compose(const struct docker_meta *m, const char *project,
			   struct name_choice *ch, char *podbuf)
{
	const char *service = meta_label(m, L_COMPOSE_SERVICE);
	const char *number = meta_label(m, L_COMPOSE_NUMBER);
	const char *oneoff = meta_label(m, L_COMPOSE_ONEOFF);
	size_t plen = strlen(project);

	ch->naming = "compose";
	ch->ns = project;
	ch->name = service;
	ch->name_fallback = m->name;
	ch->pod_fallback = m->name;
	if (service && number && !(oneoff && !strcasecmp(oneoff, "true")) &&
	    snprintf(podbuf, DOCKER_POD_BUF, "%s-%s", service, number) <
		    DOCKER_POD_BUF) {
		ch->pod = podbuf;
		return;
	}
	/* A one-off (`compose run`) or a fixed container_name: the Docker
	 * name without the project's prefix ("shop-web-run-3f2a"). */
	if (m->name && !strncmp(m->name, project, plen) &&
	    (m->name[plen] == '-' || m->name[plen] == '_') && m->name[plen + 1])
		ch->pod = m->name + plen + 1;
	else
		ch->pod = m->name;
}

void docker_meta_choice(const struct docker_meta *m, struct name_choice *ch,
			char *podbuf)
{
	const char *project = meta_label(m, L_COMPOSE_PROJECT);

	memset(ch, 0, sizeof(*ch));
	ch->image = m->image;
	if (meta_label(m, L_NOMAD_ALLOC)) {
		choice_nomad(m, ch, podbuf, podbuf + DOCKER_POD_BUF);
		return;
	}
	if (project) {
		choice_compose(m, project, ch, podbuf);
		return;
	}
	ch->naming = "docker";
	ch->ns = "docker";
	ch->pod = m->name;
	ch->name = m->name;
}

/* Docker's ids: 64 lower-case hex digits. */
static bool docker_id(const char *id)
{
	size_t i;

	for (i = 0; id[i]; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return i == 64;
}

/* Docker's labels join the record's; the runtime's annotations keep
 * their values. */
static int merge_labels(struct container *c, json_t *labels)
{
	const char *key;
	json_t *v;

	json_object_foreach(labels, key, v) {
		if (!oci_jstr(v) || json_object_get(c->labels, key))
			continue;
		if (json_object_set(c->labels, key, v))
			return -ENOMEM;
	}
	return 0;
}

int names_docker(struct naming *nm, const char *docker_root,
		 struct oci_record *rec)
{
	char path[PATH_MAX], err[256], *text, *podbuf = NULL;
	struct container *c = &rec->c;
	struct stat st;
	struct docker_meta m;
	struct name_choice ch;
	size_t len;
	int rc;

	(void)nm;
	if (!docker_id(c->runtime_id) ||
	    snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json",
		     docker_root, c->runtime_id) >= (int)sizeof(path))
		return 0;
	rc = read_file_at(AT_FDCWD, path, DOCKER_CONFIG_MAX, &text, &len, &st);
	/* Not Docker's, or not yet: should the file appear, the record is
	 * read again. */
	if (rc == -ENOENT || rc == -ENOTDIR)
		return oci_record_add_source(rec, path);
	if (rc < 0) {
		if (rc != -ENOMEM)
			log_warn("%s: %s", path, strerror(-rc));
		return rc == -ENOMEM ? rc : 0;
	}
	if (!naming_file_trusted(path, &st)) {
		free(text);
		return oci_record_add_source(rec, path);
	}
	rc = docker_meta_parse(text, len, &m, err, sizeof(err));
	free(text);
	if (rc < 0) {
		log_warn("%s: %s", path, err);
		return 0;
	}
	if (strcmp(m.id, c->runtime_id)) {
		log_warn("%s: names another container", path);
		docker_meta_release(&m);
		return 0;
	}
	podbuf = malloc(2 * DOCKER_POD_BUF);
	rc = podbuf ? 0 : -ENOMEM;
	if (!rc) {
		docker_meta_choice(&m, &ch, podbuf);
		rc = naming_set(rec, &ch);
	}
	if (!rc && m.labels)
		rc = merge_labels(c, m.labels);
	if (!rc)
		rc = naming_add_source(rec, path);
	if (!rc)
		rc = oci_record_add_source(rec, path);
	free(podbuf);
	docker_meta_release(&m);
	return rc < 0 ? rc : 1;
}
