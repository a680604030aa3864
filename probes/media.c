/*
 * media: a PNG of a code in a bitmap font, a one-page PDF that says it, and
 * what attaching them costs (media.h has the sources).
 *
 * Invariant: the bytes depend on the code alone (no time, no randomness),
 * so a test can hold the output of one code to its decoded reading.
 */
#include "probes/media.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/util.h"

#define MEDIA_CODE_MAX 16

/* 5x7 glyphs, one byte a row, the high bit of five the leftmost dot. */
static const unsigned char glyphs[16][MEDIA_GLYPH_H] = {
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, /* 0 */
    {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* 1 */
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, /* 2 */
    {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}, /* 3 */
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, /* 4 */
    {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}, /* 5 */
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, /* 6 */
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, /* 7 */
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, /* 8 */
    {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}, /* 9 */
    {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}, /* A */
    {0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e}, /* B */
    {0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e}, /* C */
    {0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c}, /* D */
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f}, /* E */
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10}, /* F */
};

static int
glyph_index(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)toupper((unsigned char)c);
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
put_u32(struct buf *b, uint32_t v)
{
	unsigned char be[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
	                       (unsigned char)(v >> 8), (unsigned char)v};
	if (buf_add(b, (const char *)be, 4) != 0)
		fatal(70, "cannot grow the probe image");
}

/* One PNG chunk: length, type, data, CRC-32 of type and data. */
static void
png_chunk(struct buf *b, const char type[4], const unsigned char *data, size_t len)
{
	put_u32(b, (uint32_t)len);
	if (buf_add(b, type, 4) != 0 || (len > 0 && buf_add(b, (const char *)data, len) != 0))
		fatal(70, "cannot grow the probe image");
	uLong crc = crc32(0L, (const Bytef *)type, 4);
	if (len > 0)
		crc = crc32(crc, data, (uInt)len);
	put_u32(b, (uint32_t)crc);
}

/* A hash of the code (FNV-1a): the layout's choices, the same for the
 * same code. */
static uint32_t
code_hash(const char *code)
{
	uint32_t h = 2166136261u;
	for (const char *c = code; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return h;
}

static int
make_png(const char *code, struct media *out)
{
	size_t n = strlen(code);
	uint32_t hash = code_hash(code);
	const unsigned scale = MEDIA_SCALE_MIN + hash % (MEDIA_SCALE_MAX - MEDIA_SCALE_MIN + 1);
	const unsigned margin =
	    MEDIA_MARGIN_MIN + (hash >> 8) % (MEDIA_MARGIN_MAX - MEDIA_MARGIN_MIN + 1);
	unsigned cell = (MEDIA_GLYPH_W + 1) * scale; /* a glyph and its gap */
	unsigned w = (unsigned)n * cell - scale + 2 * margin;
	unsigned h = MEDIA_GLYPH_H * scale + 2 * margin;
	size_t stride = (size_t)w + 1; /* the filter byte, then greyscale */
	unsigned char *raw = xmalloc(stride * h);
	for (unsigned y = 0; y < h; y++) {
		unsigned char *row = raw + (size_t)y * stride;
		row[0] = 0; /* filter type None */
		memset(row + 1, 0xff, w);
		if (y < margin || y >= h - margin)
			continue;
		unsigned gy = (y - margin) / scale;
		for (size_t k = 0; k < n; k++) {
			unsigned char bits = glyphs[glyph_index(code[k])][gy];
			for (unsigned gx = 0; gx < MEDIA_GLYPH_W; gx++) {
				if (!(bits & (0x10 >> gx)))
					continue;
				unsigned x0 = margin + (unsigned)k * cell + gx * scale;
				memset(row + 1 + x0, 0x00, scale);
			}
		}
	}
	uLongf zlen = compressBound((uLong)(stride * h));
	unsigned char *z = xmalloc(zlen);
	if (compress2(z, &zlen, raw, (uLong)(stride * h), 9) != Z_OK)
		fatal(70, "cannot compress the probe image");
	free(raw);
	unsigned char ihdr[13] = {0};
	ihdr[0] = (unsigned char)(w >> 24);
	ihdr[1] = (unsigned char)(w >> 16);
	ihdr[2] = (unsigned char)(w >> 8);
	ihdr[3] = (unsigned char)w;
	ihdr[4] = (unsigned char)(h >> 24);
	ihdr[5] = (unsigned char)(h >> 16);
	ihdr[6] = (unsigned char)(h >> 8);
	ihdr[7] = (unsigned char)h;
	ihdr[8] = 8; /* bit depth; colour type 0 (greyscale), compression,
	              * filter and interlace methods 0 */
	struct buf b;
	buf_init(&b, 0);
	if (buf_add(&b, "\x89PNG\r\n\x1a\n", 8) != 0)
		fatal(70, "cannot grow the probe image");
	png_chunk(&b, "IHDR", ihdr, sizeof ihdr);
	png_chunk(&b, "IDAT", z, zlen);
	png_chunk(&b, "IEND", NULL, 0);
	free(z);
	out->width = w;
	out->height = h;
	out->data = (unsigned char *)buf_take(&b, &out->len);
	return 0;
}

static int
make_pdf(const char *code, struct media *out)
{
	uint32_t hash = code_hash(code);
	int page_w = MEDIA_PAGE_W - (int)(hash % 41),
	    page_h = MEDIA_PAGE_H - (int)((hash >> 8) % 13);
	int size = 24 + (int)((hash >> 16) % 5), x = 10 + (int)((hash >> 20) % 9);
	char content[128];
	int clen = snprintf(content, sizeof content, "BT /F1 %d Tf %d %d Td (%s) Tj ET\n", size, x,
	                    (page_h - size) / 2 + 4, code);
	char objs[5][256];
	snprintf(objs[0], sizeof objs[0], "<< /Type /Catalog /Pages 2 0 R >>");
	snprintf(objs[1], sizeof objs[1], "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
	snprintf(objs[2], sizeof objs[2],
	         "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << "
	         "/F1 4 0 R >> >> /Contents 5 0 R >>",
	         page_w, page_h);
	snprintf(objs[3], sizeof objs[3], "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
	snprintf(objs[4], sizeof objs[4], "<< /Length %d >>\nstream\n%sendstream", clen, content);
	struct buf b;
	buf_init(&b, 0);
	/* a binary comment after the header marks the file as binary (7.5.2) */
	buf_puts(&b, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
	size_t offsets[5];
	for (int i = 0; i < 5; i++) {
		offsets[i] = b.len;
		buf_putf(&b, "%d 0 obj\n%s\nendobj\n", i + 1, objs[i]);
	}
	size_t xref = b.len;
	buf_puts(&b, "xref\n0 6\n0000000000 65535 f \n");
	for (int i = 0; i < 5; i++)
		buf_putf(&b, "%010zu 00000 n \n", offsets[i]);
	buf_putf(&b, "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", xref);
	out->width = (unsigned)page_w;
	out->height = (unsigned)page_h;
	out->data = (unsigned char *)buf_take(&b, &out->len);
	return 0;
}

int
media_make(enum media_kind kind, const char *code, struct media *out)
{
	memset(out, 0, sizeof *out);
	size_t n = strlen(code);
	if (n == 0 || n > MEDIA_CODE_MAX || (kind != MEDIA_PNG && kind != MEDIA_PDF))
		return -1;
	char upper[MEDIA_CODE_MAX + 1];
	for (size_t i = 0; i < n; i++) {
		if (glyph_index(code[i]) < 0)
			return -1;
		upper[i] = (char)toupper((unsigned char)code[i]);
	}
	upper[n] = '\0';
	out->kind = kind;
	if (kind == MEDIA_PNG)
		make_png(upper, out);
	else
		make_pdf(upper, out);
	out->base64 = xmalloc(4 * ((out->len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out->base64, out->data, (int)out->len);
	return 0;
}

void
media_release(struct media *m)
{
	free(m->data);
	free(m->base64);
	memset(m, 0, sizeof *m);
}

const char *
media_mime(enum media_kind kind)
{
	return kind == MEDIA_PDF ? "application/pdf" : "image/png";
}

static int
has_prefix(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* gpt-4o-mini's low-detail image: 2,833 tokens (measured 2,845 with five
 * words of text); the dearest known, for a model no formula covers. */
#define DEAREST_IMAGE 2833

long
media_image_tokens(enum api_kind api, const char *model, unsigned width, unsigned height)
{
	if (api == API_ANTHROPIC) /* width * height / 750, rounded up */
		return ((long)width * height + 749) / 750;
	long patches = (long)((width + 31) / 32) * (long)((height + 31) / 32);
	if (has_prefix(model, "gpt-4o-mini"))
		return DEAREST_IMAGE;
	if (has_prefix(model, "gpt-4.1-mini"))
		return (patches * 162 + 99) / 100;
	if (has_prefix(model, "gpt-4.1-nano"))
		return (patches * 246 + 99) / 100;
	if (has_prefix(model, "gpt-5"))
		/* patches, at 1.62 (documented for gpt-5-mini; 1.20 measured)
		 * and 1.2 more (measured on gpt-5.2): 2 a patch bounds both */
		return patches * 2 > 85 ? patches * 2 : 85;
	if (has_prefix(model, "gpt-4o") || has_prefix(model, "gpt-4.1") ||
	    has_prefix(model, "gpt-4-turbo") || has_prefix(model, "o1") || has_prefix(model, "o3"))
		return 85;
	return DEAREST_IMAGE;
}

/* Anthropic's PDF guide: text and an image of each page, 1,500 to 3,000
 * tokens a page of text; a label-sized page with one word stays far below,
 * and the estimate takes the low end. */
#define ANTHROPIC_PDF_PAGE 1500

long
media_document_tokens(enum api_kind api, const char *model)
{
	if (api == API_ANTHROPIC)
		return ANTHROPIC_PDF_PAGE;
	/* OpenAI: the extracted text and the page's image (at 2x the page's
	 * points: an upper bound for a small page) */
	return 40 + media_image_tokens(api, model, 2 * MEDIA_PAGE_W, 2 * MEDIA_PAGE_H);
}
