/*
 * Capabilities a relay strips (issue 17): the attachments Assay makes,
 * how each API carries them, the fixture reading them as the official
 * APIs would, and audits that catch a relay that strips an image, a PDF,
 * tools, structured output or context.
 *
 * The PNG and PDF the product writes (probes/media.c) are read back by
 * the fixture's decoder (fixtures/media_read.c), which was written apart
 * from the PNG and PDF specifications; the PNG is also re-encoded here
 * with each of the other scanline filters (Sub, Up, Average, Paeth),
 * which the product never writes, so the decoder is held to the spec and
 * not only to the encoder's choices.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/util.h"
#include "fixtures/media_read.h"
#include "probes/adapter.h"
#include "probes/media.h"
#include "tests/helpers.h"

/* ---- the media round trip ---- */

static void
expect_png_reads(const struct media *m, const char *code)
{
	unsigned w = 0, h = 0;
	char text[MEDIA_READ_TEXT_MAX];
	cr_assert_eq(media_read_png(m->data, m->len, &w, &h, text), 0, "code %s", code);
	cr_expect_eq(w, m->width);
	cr_expect_eq(h, m->height);
	char upper[32];
	size_t n = strlen(code);
	for (size_t i = 0; i <= n; i++)
		upper[i] = (char)(code[i] >= 'a' && code[i] <= 'f' ? code[i] - 32 : code[i]);
	cr_expect_str_eq(text, upper, "the image of %s reads %s", code, text);
}

Test(capab, png_and_pdf_round_trip_through_the_fixture_decoder)
{
	static const char *const codes[] = {"0123abcd", "456789ef", "ffffffff", "00000000",
	                                    "1a2b3c4d", "e7",       "9"};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		struct media m;
		cr_assert_eq(media_make(MEDIA_PNG, codes[i], &m), 0);
		expect_png_reads(&m, codes[i]);
		/* the base64 is the bytes' */
		unsigned char *raw;
		size_t len;
		cr_assert_eq(media_read_base64(m.base64, strlen(m.base64), &raw, &len), 0);
		cr_expect(len == m.len && memcmp(raw, m.data, len) == 0);
		free(raw);
		media_release(&m);

		cr_assert_eq(media_make(MEDIA_PDF, codes[i], &m), 0);
		char text[MEDIA_READ_TEXT_MAX];
		cr_assert_eq(media_read_pdf(m.data, m.len, text), 0);
		char upper[32];
		for (size_t k = 0; k <= strlen(codes[i]); k++)
			upper[k] =
			    (char)(codes[i][k] >= 'a' && codes[i][k] <= 'f' ? codes[i][k] - 32
			                                                    : codes[i][k]);
		cr_expect_str_eq(text, upper);
		media_release(&m);
	}
	/* the size varies with the code: no fixed image header marks an audit */
	unsigned sizes[8][2];
	size_t distinct = 0;
	for (int i = 0; i < 40; i++) {
		char code[16];
		snprintf(code, sizeof code, "%08x", (unsigned)(i * 2654435761u));
		struct media v;
		cr_assert_eq(media_make(MEDIA_PNG, code, &v), 0);
		size_t k = 0;
		while (k < distinct && (sizes[k][0] != v.width || sizes[k][1] != v.height))
			k++;
		if (k == distinct && distinct < 8) {
			sizes[distinct][0] = v.width;
			sizes[distinct][1] = v.height;
			distinct++;
		}
		expect_png_reads(&v, code);
		media_release(&v);
	}
	cr_expect_geq(distinct, 4, "40 codes drew images of %zu sizes", distinct);
	/* what the font lacks is refused, not drawn wrong */
	struct media m;
	cr_expect_eq(media_make(MEDIA_PNG, "xyz", &m), -1);
	cr_expect_eq(media_make(MEDIA_PNG, "", &m), -1);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put_chunk(struct buf *b, const char *type, const unsigned char *data, size_t n)
{
	unsigned char be[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
	                       (unsigned char)(n >> 8), (unsigned char)n};
	cr_assert_eq(buf_add(b, (const char *)be, 4), 0);
	cr_assert_eq(buf_add(b, type, 4), 0);
	cr_assert_eq(buf_add(b, (const char *)data, n), 0);
	uLong crc = crc32(crc32(0, (const Bytef *)type, 4), data, (uInt)n);
	unsigned char c[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
	                      (unsigned char)(crc >> 8), (unsigned char)crc};
	cr_assert_eq(buf_add(b, (const char *)c, 4), 0);
}

static int
paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* The product's PNG re-encoded with filter type f on every scanline (PNG
 * spec section 9.2), as another encoder would. */
static void
refilter(const struct media *m, int f, struct buf *out)
{
	const unsigned char *d = m->data;
	uint32_t w = get32(d + 16), h = get32(d + 20); /* IHDR follows the signature */
	size_t idat = 8 + 25;                          /* signature, IHDR chunk */
	uint32_t zn = get32(d + idat);
	uLongf rawlen = (uLongf)h * (w + 1);
	unsigned char *raw = xmalloc(rawlen), *fil = xmalloc(rawlen);
	cr_assert_eq(uncompress(raw, &rawlen, d + idat + 8, zn), Z_OK);
	for (uint32_t y = 0; y < h; y++) {
		const unsigned char *cur = raw + (size_t)y * (w + 1) + 1;
		const unsigned char *up = y ? cur - (w + 1) : NULL;
		unsigned char *o = fil + (size_t)y * (w + 1);
		o[0] = (unsigned char)f;
		for (uint32_t x = 0; x < w; x++) {
			int a = x ? cur[x - 1] : 0, b = up ? up[x] : 0, c = up && x ? up[x - 1] : 0;
			int pred = f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, c);
			o[1 + x] = (unsigned char)(cur[x] - pred);
		}
	}
	uLongf zl = compressBound(rawlen);
	unsigned char *z = xmalloc(zl);
	cr_assert_eq(compress(z, &zl, fil, rawlen), Z_OK);
	buf_init(out, 0);
	cr_assert_eq(buf_add(out, (const char *)d, 8 + 25), 0); /* signature and IHDR */
	/* two IDAT chunks: the stream split, as the spec allows */
	put_chunk(out, "IDAT", z, zl / 2);
	put_chunk(out, "IDAT", z + zl / 2, zl - zl / 2);
	put_chunk(out, "IEND", (const unsigned char *)"", 0);
	free(raw);
	free(fil);
	free(z);
}

Test(capab, the_fixture_decoder_reads_every_png_filter_and_refuses_bad_crcs)
{
	struct media m;
	cr_assert_eq(media_make(MEDIA_PNG, "c0ffee42", &m), 0);
	for (int f = 1; f <= 4; f++) {
		struct buf b;
		refilter(&m, f, &b);
		struct media copy = m;
		copy.data = (unsigned char *)b.data;
		copy.len = b.len;
		expect_png_reads(&copy, "c0ffee42");
		/* one flipped bit in the image data: its CRC no longer holds */
		b.data[8 + 25 + 8 + 3] ^= 0x01;
		unsigned w, h;
		char text[MEDIA_READ_TEXT_MAX];
		cr_expect_eq(media_read_png((unsigned char *)b.data, b.len, &w, &h, text), -1,
		             "filter %d: a corrupt chunk was read", f);
		buf_release(&b);
	}
	/* not a PNG, not a PDF */
	unsigned w, h;
	char text[MEDIA_READ_TEXT_MAX];
	cr_expect_eq(media_read_png((const unsigned char *)"%PDF-1.4", 8, &w, &h, text), -1);
	cr_expect_eq(media_read_pdf(m.data, m.len, text), -1);
	media_release(&m);
}

/* ---- each API's body ---- */

static json_t *
body_of(enum api_kind api, enum media_kind kind, const char *schema)
{
	static const struct request_rules rules = {
	    .takes_images = 1, .takes_documents = 1, .takes_json_schema = 1};
	struct probe_message msgs[] = {{"system", "be brief"}, {"user", "What code is this?"}};
	struct media m;
	cr_assert_eq(media_make(kind ? kind : MEDIA_PNG, "0badc0de", &m), 0);
	struct probe_call call = {
	    .model = api == API_ANTHROPIC ? "claude-sonnet-4" : "gpt-4o",
	    .messages = msgs,
	    .n_messages = 2,
	    .max_tokens = 24,
	    .temperature = 0,
	    .seed = -1,
	    .rules = &rules,
	    .intent = {.attach = kind,
	               .answer_schema = schema,
	               .answer_schema_name = schema ? "order_status" : NULL},
	    .attach_base64 = kind ? m.base64 : NULL,
	};
	const char *why = NULL;
	char *s = adapter_body(api, &call, &why);
	media_release(&m);
	if (s == NULL)
		return json_pack("{s:s}", "cannot", why);
	json_t *j = json_loads(s, 0, NULL);
	free(s);
	cr_assert_not_null(j);
	return j;
}

/* A tiny path walker: "messages.1.content.0.type" (numbers index arrays). */
static json_t *
json_path(json_t *root, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;
	json_t *v = root;
	for (char *t = strtok_r(copy, ".", &save); t != NULL && v != NULL;
	     t = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(t, NULL, 10))
		                     : json_object_get(v, t);
	free(copy);
	return v;
}

static const char *
path_str(json_t *root, const char *fmt)
{
	json_t *v = json_path(root, fmt);
	return json_string_value(v);
}

Test(capab, each_api_carries_the_attachment_in_its_own_shape)
{
	json_t *j = body_of(API_OPENAI, MEDIA_PNG, NULL);
	cr_expect_str_eq(path_str(j, "messages.1.content.0.type"), "text");
	cr_expect_str_eq(path_str(j, "messages.1.content.1.type"), "image_url");
	cr_expect(strncmp(path_str(j, "messages.1.content.1.image_url.url"),
	                  "data:image/png;base64,iVBORw0KGgo", 33) == 0);
	cr_expect_str_eq(path_str(j, "messages.1.content.1.image_url.detail"), "low");
	cr_expect(json_is_string(json_path(j, "messages.0.content")), "the system text stays text");
	json_decref(j);

	j = body_of(API_OPENAI, MEDIA_PDF, NULL);
	cr_expect_str_eq(path_str(j, "messages.1.content.1.type"), "file");
	cr_expect_str_eq(path_str(j, "messages.1.content.1.file.filename"), "scan.pdf");
	cr_expect(strncmp(path_str(j, "messages.1.content.1.file.file_data"),
	                  "data:application/pdf;base64,JVBERi0", 35) == 0);
	json_decref(j);

	j = body_of(API_ANTHROPIC, MEDIA_PNG, NULL);
	cr_expect_str_eq(path_str(j, "messages.0.content.0.type"), "image");
	cr_expect_str_eq(path_str(j, "messages.0.content.0.source.type"), "base64");
	cr_expect_str_eq(path_str(j, "messages.0.content.0.source.media_type"), "image/png");
	cr_expect(strncmp(path_str(j, "messages.0.content.0.source.data"), "iVBORw0KGgo", 11) == 0);
	cr_expect_str_eq(path_str(j, "messages.0.content.1.type"), "text");
	json_decref(j);

	j = body_of(API_ANTHROPIC, MEDIA_PDF, NULL);
	cr_expect_str_eq(path_str(j, "messages.0.content.0.type"), "document");
	cr_expect_str_eq(path_str(j, "messages.0.content.0.source.media_type"), "application/pdf");
	json_decref(j);

	j = body_of(API_RESPONSES, MEDIA_PNG, NULL);
	cr_expect_str_eq(path_str(j, "input.0.content.0.type"), "input_text");
	cr_expect_str_eq(path_str(j, "input.0.content.1.type"), "input_image");
	cr_expect_str_eq(path_str(j, "input.0.content.1.detail"), "low");
	cr_expect(
	    strncmp(path_str(j, "input.0.content.1.image_url"), "data:image/png;base64,", 22) == 0);
	json_decref(j);

	j = body_of(API_RESPONSES, MEDIA_PDF, NULL);
	cr_expect_str_eq(path_str(j, "input.0.content.1.type"), "input_file");
	cr_expect_str_eq(path_str(j, "input.0.content.1.filename"), "scan.pdf");
	cr_expect(strncmp(path_str(j, "input.0.content.1.file_data"),
	                  "data:application/pdf;base64,", 28) == 0);
	json_decref(j);
}

Test(capab, structured_output_is_json_schema_where_the_api_has_it)
{
	const char *schema =
	    "{\"type\":\"object\",\"properties\":{\"order\":{\"type\":\"string\"}},"
	    "\"required\":[\"order\"],\"additionalProperties\":false}";
	json_t *j = body_of(API_OPENAI, MEDIA_NONE, schema);
	cr_expect_str_eq(path_str(j, "response_format.type"), "json_schema");
	cr_expect_str_eq(path_str(j, "response_format.json_schema.name"), "order_status");
	cr_expect(json_is_true(json_path(j, "response_format.json_schema.strict")));
	cr_expect_str_eq(path_str(j, "response_format.json_schema.schema.type"), "object");
	cr_expect(json_is_string(json_path(j, "messages.1.content")), "no attachment: text");
	json_decref(j);
	j = body_of(API_RESPONSES, MEDIA_NONE, schema);
	cr_expect_str_eq(path_str(j, "text.format.type"), "json_schema");
	cr_expect_str_eq(path_str(j, "text.format.name"), "order_status");
	cr_expect(json_is_true(json_path(j, "text.format.strict")));
	json_decref(j);
	/* Anthropic's structured outputs: output_config.format, always enforced */
	j = body_of(API_ANTHROPIC, MEDIA_NONE, schema);
	cr_expect_str_eq(path_str(j, "output_config.format.type"), "json_schema");
	cr_expect_str_eq(path_str(j, "output_config.format.schema.type"), "object");
	cr_expect_null(json_path(j, "response_format"));
	json_decref(j);
	/* a model whose pack lists no json_schema is not asked for it */
	struct request_rules plain = {0};
	struct request_intent in = {.answer_schema = schema, .answer_schema_name = "x"};
	cr_expect_not_null(adapter_refused(&plain, &in));
}

Test(capab, a_model_whose_pack_lists_no_input_is_not_probed_for_it)
{
	struct request_intent image = {.attach = MEDIA_PNG}, pdf = {.attach = MEDIA_PDF};
	struct request_rules none = {0}, both = {.takes_images = 1, .takes_documents = 1};
	cr_expect_not_null(adapter_refused(&none, &image));
	cr_expect_not_null(adapter_refused(&none, &pdf));
	cr_expect_null(adapter_refused(&both, &image));
	cr_expect_null(adapter_refused(&both, &pdf));
}

/* ---- the fixture: strict, and reading what was sent ---- */

static struct fixture world;
static const char *const need[] = {"official",    "strip-images",          "strip-documents",
                                   "strip-tools", "strip-response-format", "context-cap",
                                   NULL};

static void
world_up(void)
{
	fixture_start_scaled(&world, "tests/data/detect/world.yaml", need, "0.05");
}

static void
world_down(void)
{
	cr_expect_eq(fixture_stop(&world), 0);
}

static void
post_image(struct http_response *r, const char *model, const char *mime, const char *b64)
{
	char *body = xasprintf(
	    "{\"model\":\"%s\",\"max_tokens\":24,\"temperature\":0,\"messages\":[{\"role\":"
	    "\"user\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"What code is printed in this image? Reply "
	    "with the code "
	    "only.\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:%s;base64,"
	    "%s\",\"detail\":\"low\"}}]}]}",
	    model, mime, b64);
	http_post_chat(r, fixture_url(&world, "official"), body, 10000);
	free(body);
}

static const char *
answer_text(const struct http_response *r)
{
	return json_string_value(json_path(r->json, "choices.0.message.content"));
}

Test(capab, the_official_fixture_reads_the_image_and_refuses_what_the_api_refuses, .init = world_up,
     .fini = world_down, .timeout = 60)
{
	struct media m;
	cr_assert_eq(media_make(MEDIA_PNG, "5eed1e55", &m), 0);
	struct http_response r;
	post_image(&r, "gpt-4o", "image/png", m.base64);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(answer_text(&r), "5EED1E55") != NULL, "answer: %s", answer_text(&r));
	/* an image costs prompt tokens: detail low is 85 on gpt-4o */
	long with = (long)json_integer_value(json_path(r.json, "usage.prompt_tokens"));
	http_response_release(&r);
	cr_expect_gt(with, 85);

	/* a text-only model: OpenAI's 400 */
	post_image(&r, "gpt-3.5-turbo", "image/png", m.base64);
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(json_string_value(json_path(r.json, "error.message")),
	                 "Invalid content type. image_url is only supported by certain models.");
	cr_expect_str_eq(json_string_value(json_path(r.json, "error.param")),
	                 "messages.[0].content.[1].type");
	http_response_release(&r);

	/* bytes that are no PNG, sent as one */
	post_image(&r, "gpt-4o", "image/png", "JVBERi0xLjQK");
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(json_string_value(json_path(r.json, "error.code")),
	                 "invalid_image_format");
	http_response_release(&r);

	/* Anthropic: a PNG declared as one but not one */
	const char *hdr[] = {"x-api-key: sk-test", "anthropic-version: 2023-06-01", NULL};
	char *body = xasprintf(
	    "{\"model\":\"claude-sonnet-4\",\"max_tokens\":24,\"messages\":[{\"role\":\"user\","
	    "\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
	    "\"image/png\",\"data\":\"%s\"}},{\"type\":\"text\",\"text\":\"What code?\"}]}]}",
	    "JVBERi0xLjQK");
	fixture_send(&r, &world, "official", "/messages", body, hdr, 10000);
	free(body);
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(json_string_value(json_path(r.json, "error.message")),
	                 "messages.0.content.0.image.source.base64.data: Image does not match the "
	                 "provided media type image/png");
	http_response_release(&r);

	/* Anthropic reads a PDF */
	struct media pdf;
	cr_assert_eq(media_make(MEDIA_PDF, "d0c5d0c5", &pdf), 0);
	body = xasprintf(
	    "{\"model\":\"claude-sonnet-4\",\"max_tokens\":24,\"messages\":[{\"role\":\"user\","
	    "\"content\":[{\"type\":\"document\",\"source\":{\"type\":\"base64\",\"media_type\":"
	    "\"application/pdf\",\"data\":\"%s\"}},{\"type\":\"text\",\"text\":\"What code is "
	    "written in this PDF? Reply with the code only.\"}]}]}",
	    pdf.base64);
	fixture_send(&r, &world, "official", "/messages", body, hdr, 10000);
	free(body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	const char *t = json_string_value(json_path(r.json, "content.0.text"));
	cr_expect(t != NULL && strstr(t, "D0C5D0C5") != NULL, "answer: %s", t ? t : "(none)");
	http_response_release(&r);
	media_release(&pdf);
	media_release(&m);
}

/* ---- audits ---- */

static json_t *
audit(const char *relay, const char *model, const char *flag, char **err_out)
{
	char *argv[] = {(char *)test_binary("assay"),
	                (char *)"audit",
	                (char *)"--base-url",
	                (char *)fixture_url(&world, relay),
	                (char *)"--model",
	                (char *)model,
	                (char *)"--json",
	                (char *)"--time-scale",
	                (char *)"0.05",
	                (char *)"--timeout",
	                (char *)"30",
	                (char *)flag,
	                NULL};
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, 120000, &out, &err);
	json_t *j = json_loads(out ? out : "", 0, NULL);
	cr_assert_not_null(j, "audit of %s: exit %d:\n%s\n%s", relay, rc, out, err);
	free(out);
	if (err_out != NULL)
		*err_out = err;
	else
		free(err);
	return j;
}

/* The finding of class cls from probe (NULL: any), or NULL. */
static const json_t *
finding(const json_t *j, const char *cls, const char *probe)
{
	size_t i;
	const json_t *f;
	json_array_foreach(json_object_get(j, "findings"), i, f)
	{
		if (strcmp(json_str(f, "class"), cls) != 0)
			continue;
		const char *p = json_string_value(json_path((json_t *)f, "evidence.probe"));
		if (probe == NULL || (p != NULL && strcmp(p, probe) == 0))
			return f;
	}
	return NULL;
}

static int
skipped(const json_t *j, const char *probe)
{
	size_t i;
	const json_t *s;
	json_array_foreach(json_object_get(j, "skipped"), i, s)
	{
		if (strcmp(json_str(s, "probe"), probe) == 0)
			return 1;
	}
	return 0;
}

Test(capab, official_endpoints_are_genuine_with_the_capability_probes, .init = world_up,
     .fini = world_down, .timeout = 300)
{
	static const char *const models[] = {"gpt-4o", "gpt-5.5", "claude-sonnet-4"};
	for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
		json_t *j = audit("official", models[m], "--deep", NULL);
		const char *verdict = json_str(j, "verdict");
		char *dump = json_dumps(json_object_get(j, "findings"), JSON_COMPACT);
		cr_expect_eq(json_array_size(json_object_get(j, "findings")), 0, "%s: %s",
		             models[m], dump);
		cr_expect(strcmp(verdict, "genuine") == 0 || strcmp(verdict, "inconclusive") == 0,
		          "%s: %s", models[m], verdict);
		free(dump);
		char *sk = json_dumps(json_object_get(j, "skipped"), JSON_COMPACT);
		cr_expect(!skipped(j, "image-read") && !skipped(j, "pdf-read"),
		          "%s: the attachments were not sent: %s", models[m], sk);
		free(sk);
		json_decref(j);
	}
	/* a text-only model is not sent an image: it would only earn a 400 */
	json_t *j = audit("official", "gpt-3.5-turbo", NULL, NULL);
	cr_expect(skipped(j, "image-read"));
	cr_expect_str_eq(json_str(j, "verdict"), "genuine");
	json_decref(j);
}

Test(capab, each_stripping_relay_is_caught_with_its_class, .init = world_up, .fini = world_down,
     .timeout = 300)
{
	static const struct {
		const char *relay, *model, *flag, *cls, *probe;
	} cases[] = {
	    {"strip-images", "gpt-4o", "--deep", "capability_stripped", "image-read"},
	    {"strip-images", "claude-sonnet-4", NULL, "capability_stripped", "image-read"},
	    {"strip-documents", "gpt-4o", "--deep", "capability_stripped", "pdf-read"},
	    {"strip-documents", "claude-sonnet-4", "--deep", "capability_stripped", "pdf-read"},
	    {"strip-tools", "gpt-4o", NULL, "param_ignored", "agent-shell"},
	    {"strip-tools", "claude-sonnet-4", NULL, "param_ignored", "agent-shell"},
	    {"strip-response-format", "gpt-4o", "--deep", "param_ignored", "structured"},
	    {"context-cap", "gpt-4o", "--long-context", "context_truncation", "long-context-tier"},
	    {"context-cap", "claude-sonnet-4", "--long-context", "context_truncation",
	     "long-context-tier"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *j = audit(cases[i].relay, cases[i].model, cases[i].flag, NULL);
		const json_t *f = finding(j, cases[i].cls, cases[i].probe);
		char *dump = json_dumps(json_object_get(j, "findings"), JSON_COMPACT);
		cr_expect_not_null(f, "%s (%s): no %s from %s: %s", cases[i].relay, cases[i].model,
		                   cases[i].cls, cases[i].probe, dump);
		cr_expect_str_eq(json_str(j, "verdict"), "misbehaving", "%s (%s)", cases[i].relay,
		                 cases[i].model);
		free(dump);
		json_decref(j);
	}
}

Test(capab, the_long_context_tier_needs_its_flag_and_says_its_cost_first, .init = world_up,
     .fini = world_down, .timeout = 300)
{
	char *err = NULL;
	json_t *j = audit("official", "gpt-4o", "--deep", &err);
	/* not sent, and its cost said */
	cr_expect(strstr(err, "the long-context tier (long-context-tier) is not sent: it costs "
	                      "about ") != NULL,
	          "%s", err);
	cr_expect(strstr(err, "--long-context sends it") != NULL, "%s", err);
	long spent = (long)json_integer_value(json_object_get(j, "tokens_spent"));
	cr_expect_lt(spent, 60000, "the tier was spent without its flag: %ld tokens", spent);
	json_decref(j);
	free(err);

	j = audit("official", "gpt-4o", "--long-context", &err);
	cr_expect(strstr(err, "--long-context sends 1 request of about ") != NULL, "%s", err);
	cr_expect(strstr(err, "128000-token window gpt-4o is sold with") != NULL, "%s", err);
	spent = (long)json_integer_value(json_object_get(j, "tokens_spent"));
	cr_expect_gt(spent, 60000, "the tier was not sent: %ld tokens", spent);
	cr_expect_eq(json_array_size(json_object_get(j, "findings")), 0);
	json_decref(j);
	free(err);

	/* the default audit stays within its budget and leaves the tier out */
	j = audit("official", "gpt-4o", NULL, &err);
	spent = (long)json_integer_value(json_object_get(j, "tokens_spent"));
	cr_expect_leq(spent, 3000);
	cr_expect_leq(json_integer_value(json_object_get(j, "requests")), 36);
	cr_expect(strstr(err, "long-context") == NULL, "%s", err);
	json_decref(j);
	free(err);
}
