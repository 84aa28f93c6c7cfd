/*
 * termsafe.c: owns keeping a server's text from driving a terminal:
 * control characters (C0 but tab, DEL, and the C1 range's lead bytes are
 * left to UTF-8) are written as \xHH when the output is a terminal, and
 * whether a body is binary (curl's test: a NUL byte).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

void
termsafe_write(FILE *fp, const char *s, size_t n, int escape)
{
	size_t i, start = 0;
	unsigned char c;

	if (!escape) {
		fwrite(s, 1, n, fp);
		return;
	}
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c >= 0x20 && c != 0x7f) || c == '\t')
			continue;
		fwrite(s + start, 1, i - start, fp);
		fprintf(fp, "\\x%02x", c);
		start = i + 1;
	}
	fwrite(s + start, 1, n - start, fp);
}

void
termsafe_puts(FILE *fp, const char *s, int escape)
{
	termsafe_write(fp, s, strlen(s), escape);
}

/* As curl decides a body would mess up a terminal: it holds a NUL. */
int
termsafe_binary(const void *buf, size_t n)
{
	return memchr(buf, '\0', n) != NULL;
}
