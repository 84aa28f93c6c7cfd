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

#include <dlfcn.h>

#define DEC_CHUNK	(64 * 1024)

/*
 * The decoders' libraries are opened when a body needs one, not linked:
 * the dynamic loader mapping libz, libbrotlidec and libzstd cost every
 * short-lived hpool about 0.3 ms at start (bench/run's one-shot row),
 * --compressed or not. A library that cannot be opened makes its coding
 * unknown, as curl built without it.
 */
struct lib {
	const char	*soname;
	int		 tried;
	void		*h;
};

static void *
lib_sym(struct lib *l, const char *name)
{
	if (!l->tried) {
		l->tried = 1;
		l->h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	}
	return l->h != NULL ? dlsym(l->h, name) : NULL;
}

#ifdef HAVE_ZLIB
static struct lib libz = { "libz.so.1", 0, NULL };
static struct {
	int	(*init2)(z_streamp, int, const char *, int);
	int	(*inflate)(z_streamp, int);
	int	(*end)(z_streamp);
} zf;

static int
zlib_load(void)
{
	if (zf.end == NULL) {
		zf.init2 = (int (*)(z_streamp, int, const char *, int))
		    lib_sym(&libz, "inflateInit2_");
		zf.inflate = (int (*)(z_streamp, int))lib_sym(&libz,
		    "inflate");
		zf.end = (int (*)(z_streamp))lib_sym(&libz, "inflateEnd");
	}
	return zf.init2 != NULL && zf.inflate != NULL && zf.end != NULL;
}
#undef inflateInit2
#define inflateInit2(s, w)	zf.init2((s), (w), ZLIB_VERSION, \
				    (int)sizeof(z_stream))
#define inflate(s, f)		zf.inflate((s), (f))
#define inflateEnd(s)		zf.end(s)
#endif

#ifdef HAVE_BROTLI
static struct lib libbr = { "libbrotlidec.so.1", 0, NULL };
static struct {
	BrotliDecoderState *(*create)(brotli_alloc_func, brotli_free_func,
	    void *);
	BrotliDecoderResult (*stream)(BrotliDecoderState *, size_t *,
	    const uint8_t **, size_t *, uint8_t **, size_t *);
	void	(*destroy)(BrotliDecoderState *);
} bf;

static int
brotli_load(void)
{
	if (bf.destroy == NULL) {
		*(void **)&bf.create = lib_sym(&libbr,
		    "BrotliDecoderCreateInstance");
		*(void **)&bf.stream = lib_sym(&libbr,
		    "BrotliDecoderDecompressStream");
		*(void **)&bf.destroy = lib_sym(&libbr,
		    "BrotliDecoderDestroyInstance");
	}
	return bf.create != NULL && bf.stream != NULL && bf.destroy != NULL;
}
#define BrotliDecoderCreateInstance(a, f, o)	bf.create((a), (f), (o))
#define BrotliDecoderDecompressStream(s, ai, ni, ao, no, t) \
	bf.stream((s), (ai), (ni), (ao), (no), (t))
#define BrotliDecoderDestroyInstance(s)		bf.destroy(s)
#endif

#ifdef HAVE_ZSTD
static struct lib libzs = { "libzstd.so.1", 0, NULL };
static struct {
	ZSTD_DStream *(*create)(void);
	size_t	(*init)(ZSTD_DStream *);
	size_t	(*stream)(ZSTD_DStream *, ZSTD_outBuffer *, ZSTD_inBuffer *);
	unsigned (*is_error)(size_t);
	size_t	(*free_)(ZSTD_DStream *);
} sf;

static int
zstd_load(void)
{
	if (sf.free_ == NULL) {
		*(void **)&sf.create = lib_sym(&libzs, "ZSTD_createDStream");
		*(void **)&sf.init = lib_sym(&libzs, "ZSTD_initDStream");
		*(void **)&sf.stream = lib_sym(&libzs,
		    "ZSTD_decompressStream");
		*(void **)&sf.is_error = lib_sym(&libzs, "ZSTD_isError");
		*(void **)&sf.free_ = lib_sym(&libzs, "ZSTD_freeDStream");
	}
	return sf.create != NULL && sf.init != NULL && sf.stream != NULL &&
	    sf.is_error != NULL && sf.free_ != NULL;
}
#define ZSTD_createDStream()		sf.create()
#define ZSTD_initDStream(z)		sf.init(z)
#define ZSTD_decompressStream(z, o, i)	sf.stream((z), (o), (i))
#define ZSTD_isError(r)			sf.is_error(r)
#define ZSTD_freeDStream(z)		sf.free_(z)
#endif

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

/* curl's order of the codings it offers: those whose library loads. */
const char *
decode_accept(void)
{
	static char list[40];
	size_t n = 0;

	list[0] = '\0';
#define ADD(s)	(n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", \
		    n > 0 ? ", " : "", (s)))
#ifdef HAVE_ZLIB
	if (zlib_load())
		ADD("deflate, gzip");
#endif
#ifdef HAVE_BROTLI
	if (brotli_load())
		ADD("br");
#endif
#ifdef HAVE_ZSTD
	if (zstd_load())
		ADD("zstd");
#endif
#undef ADD
	return list;
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
		if (!zlib_load())
			goto unloaded;
		ok = inflateInit2(&d->z, d->codec == C_GZIP ? 15 + 16 : 15) ==
		    Z_OK;
		break;
#endif
#ifdef HAVE_BROTLI
	case C_BR:
		if (!brotli_load())
			goto unloaded;
		ok = (d->br = BrotliDecoderCreateInstance(NULL, NULL, NULL)) !=
		    NULL;
		break;
#endif
#ifdef HAVE_ZSTD
	case C_ZSTD:
		if (!zstd_load())
			goto unloaded;
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
#if defined(HAVE_ZLIB) || defined(HAVE_BROTLI) || defined(HAVE_ZSTD)
unloaded:
	free(d);
	return cli_fail(EX_BAD_ENCODING, "ValueError", "cannot decode "
	    "'%.*s': its library cannot be loaded (%s)", (int)n, ce,
	    dlerror() != NULL ? "not installed" : "a symbol is missing");
#endif
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
