/*
 * decode.c: owns --compressed: the Accept-Encoding hpool offers and the
 * streaming decoders of a body's Content-Encoding (gzip and deflate with
 * zlib, br with libbrotli, zstd with libzstd, each when configure found
 * it). Output leaves in pieces of DEC_CHUNK bytes, so a body that
 * inflates a thousandfold still takes bounded memory.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hpool_autoconf.h"
#include "cli.h"

#ifdef HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef HAVE_BROTLI
#include <brotli/decode.h>
#endif
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif

#define DEC_CHUNK	(64 * 1024)

enum codec { C_IDENTITY, C_GZIP, C_DEFLATE, C_BR, C_ZSTD };

struct decoder {
	enum codec	 codec;
	int		 started, raw_tried, done;
	unsigned char	 out[DEC_CHUNK];
#ifdef HAVE_ZLIB
	z_stream	 z;
#endif
#ifdef HAVE_BROTLI
	BrotliDecoderState *br;
#endif
#ifdef HAVE_ZSTD
	ZSTD_DStream	*zs;
#endif
};

static int bad(const char *what);
static int run_zlib(struct decoder *d, const void *in, size_t n,
	    int (*sink)(void *, const void *, size_t), void *arg);

/* curl's order of the codings it offers. */
const char *
decode_accept(void)
{
	return ""
#ifdef HAVE_ZLIB
	    "deflate, gzip"
#endif
#if defined(HAVE_ZLIB) && defined(HAVE_BROTLI)
	    ", "
#endif
#ifdef HAVE_BROTLI
	    "br"
#endif
#if (defined(HAVE_ZLIB) || defined(HAVE_BROTLI)) && defined(HAVE_ZSTD)
	    ", "
#endif
#ifdef HAVE_ZSTD
	    "zstd"
#endif
	    ;
}

static int
bad(const char *what)
{
	return cli_fail(EX_BAD_ENCODING, "ValueError", "%s", what);
}

int
decode_new(const char *ce, struct decoder **out)
{
	struct decoder *d;
	size_t n;
	int ok = 1;

	*out = NULL;
	while (*ce == ' ' || *ce == '\t')
		ce++;
	n = strcspn(ce, " \t,;");
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return cli_fail(EX_NOMEM, "MemoryError", "out of memory");
	if (n == 0 || (n == 8 && strncasecmp(ce, "identity", 8) == 0))
		d->codec = C_IDENTITY;
#ifdef HAVE_ZLIB
	else if ((n == 4 && strncasecmp(ce, "gzip", 4) == 0) ||
	    (n == 6 && strncasecmp(ce, "x-gzip", 6) == 0))
		d->codec = C_GZIP;
	else if (n == 7 && strncasecmp(ce, "deflate", 7) == 0)
		d->codec = C_DEFLATE;
#endif
#ifdef HAVE_BROTLI
	else if (n == 2 && strncasecmp(ce, "br", 2) == 0)
		d->codec = C_BR;
#endif
#ifdef HAVE_ZSTD
	else if (n == 4 && strncasecmp(ce, "zstd", 4) == 0)
		d->codec = C_ZSTD;
#endif
	else {
		free(d);
		return cli_fail(EX_BAD_ENCODING, "ValueError",
		    "Unrecognized content encoding type '%.*s': hpool "
		    "understands %s", (int)(n > 40 ? 40 : n), ce,
		    decode_accept());
	}
	if (ce[n] == ',') {
		free(d);
		return bad("stacked content encodings are not supported");
	}
	switch (d->codec) {
#ifdef HAVE_ZLIB
	case C_GZIP:
	case C_DEFLATE:
		ok = inflateInit2(&d->z, d->codec == C_GZIP ? 15 + 16 : 15) ==
		    Z_OK;
		break;
#endif
#ifdef HAVE_BROTLI
	case C_BR:
		ok = (d->br = BrotliDecoderCreateInstance(NULL, NULL, NULL)) !=
		    NULL;
		break;
#endif
#ifdef HAVE_ZSTD
	case C_ZSTD:
		if ((ok = (d->zs = ZSTD_createDStream()) != NULL))
			ZSTD_initDStream(d->zs);
		break;
#endif
	default:
		break;
	}
	if (!ok) {
		free(d);
		return cli_fail(EX_NOMEM, "MemoryError", "cannot start the "
		    "%.*s decoder", (int)n, ce);
	}
	*out = d;
	return EX_OK;
}

#ifdef HAVE_ZLIB
static int
run_zlib(struct decoder *d, const void *in, size_t n,
    int (*sink)(void *, const void *, size_t), void *arg)
{
	int rc;

	d->z.next_in = (Bytef *)(uintptr_t)in;
	d->z.avail_in = (uInt)n;
	while (d->z.avail_in > 0 && !d->done) {
		d->z.next_out = d->out;
		d->z.avail_out = sizeof(d->out);
		rc = inflate(&d->z, Z_NO_FLUSH);
		if (rc == Z_DATA_ERROR && d->codec == C_DEFLATE &&
		    !d->started && !d->raw_tried) {
			/* a "deflate" body without zlib's header, as
			 * some servers send it: curl takes it too */
			d->raw_tried = 1;
			inflateEnd(&d->z);
			memset(&d->z, 0, sizeof(d->z));
			if (inflateInit2(&d->z, -15) != Z_OK)
				return bad("zlib");
			d->z.next_in = (Bytef *)(uintptr_t)in;
			d->z.avail_in = (uInt)n;
			continue;
		}
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
			return bad("Error while processing content unencoding:"
			    " invalid compressed data");
		d->started = 1;
		if (sink(arg, d->out, sizeof(d->out) - d->z.avail_out) != 0)
			return -1;
		if (rc == Z_STREAM_END)
			d->done = 1;
		else if (rc == Z_BUF_ERROR && d->z.avail_in == 0)
			break;
	}
	return EX_OK;
}
#endif

/*
 * Decode n bytes of body; last: the body ended (n may be 0). Returns
 * EX_OK, an exit code with its message printed, or -1 when sink failed.
 */
int
decode_run(struct decoder *d, const void *in, size_t n,
    int (*sink)(void *, const void *, size_t), void *arg, int last)
{
	int ex = EX_OK;

	switch (d->codec) {
	case C_IDENTITY:
		return sink(arg, in, n) != 0 ? -1 : EX_OK;
#ifdef HAVE_ZLIB
	case C_GZIP:
	case C_DEFLATE:
		ex = run_zlib(d, in, n, sink, arg);
		if (ex == EX_OK && last && !d->done && d->started)
			ex = bad("Error while processing content unencoding:"
			    " the compressed body ended early");
		return ex;
#endif
#ifdef HAVE_BROTLI
	case C_BR: {
		const uint8_t *next_in = in;
		size_t avail_in = n, avail_out;
		uint8_t *next_out;
		BrotliDecoderResult rc;

		do {
			next_out = d->out;
			avail_out = sizeof(d->out);
			rc = BrotliDecoderDecompressStream(d->br, &avail_in,
			    &next_in, &avail_out, &next_out, NULL);
			if (rc == BROTLI_DECODER_RESULT_ERROR)
				return bad("Error while processing content "
				    "unencoding: invalid brotli data");
			if (sink(arg, d->out, sizeof(d->out) - avail_out) != 0)
				return -1;
		} while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
		if (last && rc != BROTLI_DECODER_RESULT_SUCCESS)
			return bad("Error while processing content "
			    "unencoding: the compressed body ended early");
		return EX_OK;
	}
#endif
#ifdef HAVE_ZSTD
	case C_ZSTD: {
		ZSTD_inBuffer ib = { in, n, 0 };
		ZSTD_outBuffer ob;
		size_t rc = 0;

		do {
			ob.dst = d->out;
			ob.size = sizeof(d->out);
			ob.pos = 0;
			rc = ZSTD_decompressStream(d->zs, &ob, &ib);
			if (ZSTD_isError(rc))
				return bad("Error while processing content "
				    "unencoding: invalid zstd data");
			if (sink(arg, d->out, ob.pos) != 0)
				return -1;
		} while (ib.pos < ib.size || ob.pos == ob.size);
		if (rc == 0)
			d->done = 1;	/* a frame ended here */
		else if (n > 0)
			d->done = 0;
		if (last && !d->done)
			return bad("Error while processing content "
			    "unencoding: the compressed body ended early");
		return EX_OK;
	}
#endif
	default:
		(void)last;
		return ex;
	}
}

void
decode_free(struct decoder *d)
{
	if (d == NULL)
		return;
#ifdef HAVE_ZLIB
	if (d->codec == C_GZIP || d->codec == C_DEFLATE)
		inflateEnd(&d->z);
#endif
#ifdef HAVE_BROTLI
	if (d->br != NULL)
		BrotliDecoderDestroyInstance(d->br);
#endif
#ifdef HAVE_ZSTD
	if (d->zs != NULL)
		ZSTD_freeDStream(d->zs);
#endif
	free(d);
}
