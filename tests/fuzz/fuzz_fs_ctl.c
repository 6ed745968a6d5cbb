/*
 * libFuzzer target: the ctl grammar, which reads every write a user makes
 * to a ctl file (split with shell quoting, verbs and their arguments). A
 * parsed exec line must also survive ctl_quote() and split back to the
 * same argv, which is what `execfs exec` relies on.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "execfs/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_cmd cmd;
	char **again = NULL;
	char *quoted;
	size_t i;
	int n;

	memset(&cmd, 0, sizeof(cmd));
	if (ctl_parse((const char *)data, size, &cmd) != 0)
		return 0;
	if (cmd.verb == CTL_EXEC && cmd.argc > 0) {
		quoted = ctl_quote(cmd.argv, cmd.argc);
		if (quoted) {
			n = ctl_split(quoted, strlen(quoted), cmd.argc + 1,
				      &again);
			if (n >= 0) {
				if ((size_t)n != cmd.argc)
					abort();
				for (i = 0; i < cmd.argc; i++)
					if (strcmp(again[i], cmd.argv[i]))
						abort();
				ctl_argv_free(again);
			}
			free(quoted);
		}
	}
	ctl_cmd_release(&cmd);
	return 0;
}
