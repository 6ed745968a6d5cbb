/*
 * Printable text (execfs/text.h).
 */
#include "execfs/text.h"

size_t text_utf8_printable(const unsigned char *s, size_t n)
{
	unsigned cp;
	size_t k, need;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	need = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n < need)
		return 0;
	cp = s[0] & (0x7f >> need);
	for (k = 1; k < need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((need == 2 && cp < 0xa0) || (need == 3 && cp < 0x800) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* Invisible or reordering: zero-width and direction marks, line and
	 * paragraph separators, embeddings and isolates, word joiners, BOM.
	 * They can make a message read as something it is not. */
	if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff)
		return 0;
	return need;
}
