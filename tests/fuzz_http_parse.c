/* fuzz_http_parse.c: libFuzzer entry point for daemon/http_parse.c. */

/*
 * The first byte picks the method (HEAD or not) and where the rest is cut
 * in two; each part is fed in its own exactly sized buffer, the way a
 * socket delivers bytes, so an over-read reaches a redzone. Heads are
 * parsed as the daemon does (100s skipped), then the body.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hpool_error.h"
#include "http_parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 check_err(const struct hp_error *);

/* Every error must be a real code with a terminated message. */
static void
check_err(const struct hp_error *err)
{
	if (err->code <= HPOOL_OK || err->code >= HPOOL_E_MAX ||
	    memchr(err->message, '\0', sizeof(err->message)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	struct hp_head h;
	struct hp_body b;
	struct hp_error err;
	const char *data;
	char *buf;
	size_t len, cut, pos = 0, avail, consumed, dlen, i;
	int is_head, rc, eof, guard = 0;

	if (size < 1)
		return 0;
	is_head = in[0] & 1;
	len = size - 1;
	cut = len ? (size_t)(in[0] >> 1) * len / 127 : 0;
	in++;

	/* Head: grows from the first part to all of it. */
	for (;;) {
		avail = pos < cut ? cut - pos : len - pos;
		for (;;) {
			eof = pos + avail == len;
			buf = malloc(avail ? avail : 1);
			memcpy(buf, in + pos, avail);
			memset(&h, 0, sizeof(h));
			rc = hp_head_parse(buf, avail, eof, is_head, &h,
			    &consumed, &err);
			if (rc != HP_AGAIN || eof)
				break;
			if (consumed != 0)
				abort();
			hp_head_free(&h);
			free(buf);
			avail = len - pos;
		}
		if (rc == HP_AGAIN)		/* never at eof */
			abort();
		if (rc == HP_ERROR) {
			check_err(&err);
			hp_head_free(&h);
			free(buf);
			return 0;
		}
		if (consumed > avail || h.nheaders > HP_MAXHEADERS + 1)
			abort();
		for (i = 0; i < h.nheaders; i++)
			if (h.headers[i].name < buf || h.headers[i].value < buf ||
			    h.headers[i].value + h.headers[i].value_len >
			    buf + consumed)
				abort();
		pos += consumed;
		if (h.status != 100)
			break;
		hp_head_free(&h);
		free(buf);
	}
	hp_body_init(&b, &h);
	hp_head_free(&h);
	free(buf);

	/* Body: the rest of the first part, then everything. */
	avail = pos < cut ? cut - pos : len - pos;
	for (;;) {
		eof = pos + avail == len;
		buf = malloc(avail ? avail : 1);
		memcpy(buf, in + pos, avail);
		rc = hp_body_parse(&b, buf, avail, eof, &data, &dlen,
		    &consumed, &err);
		if (consumed > avail)
			abort();
		if (rc == HP_DATA && (dlen == 0 || data < buf ||
		    data + dlen > buf + avail))
			abort();
		free(buf);
		pos += consumed;
		avail -= consumed;
		if (rc == HP_DONE)
			break;
		if (rc == HP_ERROR) {
			check_err(&err);
			break;
		}
		if (rc == HP_AGAIN) {
			if (eof)
				abort();
			if (consumed == 0)
				avail = len - pos;
		}
		if (++guard > 1000000)		/* no progress: a hang */
			abort();
	}
	return 0;
}
