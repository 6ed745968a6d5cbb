/*
 * Numbers from command lines and mount options (see numparse.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "execfs/numparse.h"

int num_parse_unsigned(const char *text, unsigned max, unsigned *out)
{
	char *end;
	long v;

	/* Digits only: strtol would also take blanks and a sign. */
	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < 0 || (unsigned long)v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}
