/* String vectors (see strv.h). */
#include "strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int strv_push(char ***v, size_t *n, const char *s)
{
	char **bigger, *copy;

	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	bigger = realloc(*v, (*n + 2) * sizeof(**v));
	if (!bigger) {
		free(copy);
		return -ENOMEM;
	}
	bigger[(*n)++] = copy;
	bigger[*n] = NULL;
	*v = bigger;
	return 0;
}
