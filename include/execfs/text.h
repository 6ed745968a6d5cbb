/*
 * Telling printable text from what a terminal or a reader would take for
 * something else: control characters, malformed UTF-8, and the invisible
 * or reordering code points that make a line read as what it is not.
 * Shared by the client's status documents and the log lines.
 */
#ifndef EXECFS_TEXT_H
#define EXECFS_TEXT_H

#include <stddef.h>

/* Length of the well-formed UTF-8 character at s (n bytes left) that is
 * printable and not ASCII (no C1 control, no surrogate, no overlong form,
 * no zero-width, direction or separator mark), or 0. */
size_t text_utf8_printable(const unsigned char *s, size_t n);

#endif
