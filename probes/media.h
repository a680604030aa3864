/*
 * media: the image and the document a capability probe attaches, made from
 * the request's nonce, so that an answer that repeats the code proves the
 * model saw the attachment (no other part of the request holds it).
 *
 * The image is a PNG (8-bit greyscale, one IDAT written with zlib) of the
 * code in a 5x7 bitmap font, scaled up; the document a one-page PDF 1.4
 * whose only text is the code (Helvetica, an uncompressed content stream,
 * a correct cross-reference table). Both are small and deterministic: the
 * same code gives the same bytes.
 *
 * Sources: PNG, W3C Portable Network Graphics (Third Edition), sections 5
 * (signature, chunk layout, CRC-32 over type and data), 11.2 (IHDR, IDAT,
 * IEND) and 7.3 (filter type 0 per scanline); PDF, ISO 32000-1:2008 7.5
 * (file structure: header, body, xref with 20-byte entries, trailer,
 * startxref, %%EOF) and 9.4 (BT, Tf, Td, Tj, ET).
 *
 * Image token costs (for the budget's estimate, said before it is spent):
 * OpenAI's vision guide ("Calculating costs": detail low is 85 tokens
 * whatever the size on gpt-4o; gpt-4.1-mini, gpt-4.1-nano and o4-mini count
 * 32 px patches times 1.62 and 2.46), the measured 2,833-token low
 * detail base of gpt-4o-mini (community.openai.com thread 1262691: 2,845
 * with five words of text); Anthropic's vision guide (tokens = width *
 * height / 750).
 */
#ifndef ASSAY_MEDIA_H
#define ASSAY_MEDIA_H

#include <stddef.h>

#include "probes/adapter.h"

/* The glyphs the image can draw: 0-9 and A-F (a nonce's hex digits in any
 * case). */
#define MEDIA_GLYPH_W 5
#define MEDIA_GLYPH_H 7
/* The dot size (pixels a font dot takes, each way) and the white margin
 * vary with the code, so that no two requests share an image header (a
 * fixed size would mark every audit's image): 3 to 5, and 6 to 13. */
#define MEDIA_SCALE_MIN 3
#define MEDIA_SCALE_MAX 5
#define MEDIA_MARGIN_MIN 6
#define MEDIA_MARGIN_MAX 13

/* The PDF's page, in points (1/72 inch): a label, not a letter page; its
 * size and the text's place and size vary with the code likewise. At most
 * this big: */
#define MEDIA_PAGE_W 280
#define MEDIA_PAGE_H 72

/* Encoded media: the bytes, their base64, and (an image) its size. */
struct media {
	enum media_kind kind;
	unsigned char *data; /* the PNG or PDF bytes */
	size_t len;
	char *base64; /* the same, base64 (RFC 4648, no line breaks) */
	unsigned width, height;
};

/*
 * The image of code (hex digits, 1 to 16 of them) as a PNG, or the
 * one-page PDF that says it: 0, or -1 when code holds a character the font
 * lacks or is too long (out is then empty). media_release() frees it.
 */
int media_make(enum media_kind kind, const char *code, struct media *out);
void media_release(struct media *m);

/* The MIME type of a kind ("image/png", "application/pdf"). */
const char *media_mime(enum media_kind kind);

/*
 * What attaching one image of width x height costs in input tokens on api
 * for model (its name as the pack spells it), at OpenAI's detail "low"
 * (which the adapter asks for): the documented formula where one is known,
 * else the dearest known (so the budget errs on the side of not sending).
 */
long media_image_tokens(enum api_kind api, const char *model, unsigned width, unsigned height);
/* The same for a one-page PDF of the size above: its text and the image of
 * its page (both APIs put both into the context); an upper bound. */
long media_document_tokens(enum api_kind api, const char *model);

#endif
