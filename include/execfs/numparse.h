/*
 * Numbers from command lines and mount options.
 */
#ifndef EXECFS_NUMPARSE_H
#define EXECFS_NUMPARSE_H

/* Decimal digits, the whole text, 0..max: 0 and *out set, or -EINVAL
 * (*out untouched); no blanks, no sign. */
int num_parse_unsigned(const char *text, unsigned max, unsigned *out);

#endif
