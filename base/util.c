/*
 * util: allocation that cannot fail, capped buffers, clocks and data paths.
 */
#include "base/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static void
out_of_memory(size_t size)
{
	fprintf(stderr, "assay: out of memory (%zu bytes)\n", size);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (p == NULL)
		out_of_memory(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		out_of_memory(n * size);
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (q == NULL)
		out_of_memory(size);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory(0);
	char *p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
fatal(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("assay: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* clock in units of 1/per_second s (a divisor of 10^9), rounded down. */
static int64_t
clock_in(clockid_t clock, int64_t per_second)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * per_second + ts.tv_nsec / (1000000000 / per_second);
}

int64_t
now_us(void)
{
	return clock_in(CLOCK_MONOTONIC, 1000000);
}

int64_t
cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec;
}

/* The one process-wide setting of this file: the simulated clock
 * (wall_clock_simulate), written once before threads start, then only
 * read. scale 0: the system's clock. */
static struct {
	double scale;
	int64_t real_origin_ms, start_ms;
} sim_clock;

void
wall_clock_simulate(int64_t start_ms, double scale)
{
	int64_t real = clock_in(CLOCK_REALTIME, 1000);
	sim_clock.real_origin_ms = real;
	sim_clock.start_ms = start_ms < 0 ? real : start_ms;
	sim_clock.scale = scale > 0 ? scale : 1;
}

int64_t
wall_ms(void)
{
	int64_t real = clock_in(CLOCK_REALTIME, 1000);
	if (sim_clock.scale == 0)
		return real;
	return sim_clock.start_ms +
	       (int64_t)((double)(real - sim_clock.real_origin_ms) * sim_clock.scale);
}

void
buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->size = 0;
	b->cap = cap;
}

void
buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->cap);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->cap != 0 && (n > b->cap || b->len > b->cap - n))
		return -1;
	if (b->len + n + 1 > b->size) {
		size_t size = b->size ? b->size : 256;
		while (size < b->len + n + 1)
			size *= 2;
		b->data = xrealloc(b->data, size);
		b->size = size;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	char small[256];
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(small, sizeof small, fmt, copy);
	va_end(copy);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof small)
		return buf_add(b, small, (size_t)n);
	char *big = xmalloc((size_t)n + 1);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	int rc = buf_add(b, big, (size_t)n);
	free(big);
	return rc;
}

void
buf_puts(struct buf *b, const char *s)
{
	if (buf_add(b, s, strlen(s)) != 0)
		fatal(70, "internal: output buffer over its cap");
}

void
buf_putf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	if (rc != 0)
		fatal(70, "internal: output buffer over its cap");
}

char *
buf_take(struct buf *b, size_t *len)
{
	char *p = b->data ? b->data : xstrdup("");
	if (len != NULL)
		*len = b->len;
	buf_init(b, b->cap);
	return p;
}

static int
file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

char *
data_path(const char *relative)
{
	const char *env = getenv("ASSAY_DATA_DIR");
	char *p;
	if (env != NULL && *env != '\0') {
		p = xasprintf("%s/%s", env, relative);
		if (file_exists(p))
			return p;
		free(p);
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash != NULL) {
			*slash = '\0';
			p = xasprintf("%s/../share/assay/%s", exe, relative);
			if (file_exists(p))
				return p;
			free(p);
		}
	}
	p = xasprintf("%s/%s", ASSAY_DATADIR, relative);
	if (file_exists(p))
		return p;
	free(p);
	p = xasprintf("%s/%s", ASSAY_SRCDIR, relative);
	if (file_exists(p))
		return p;
	free(p);
	return NULL;
}

char *
read_file(const char *path, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct buf b;
	buf_init(&b, cap);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (buf_add(&b, chunk, n) != 0) {
			fclose(f);
			buf_release(&b);
			errno = EFBIG;
			return NULL;
		}
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		buf_release(&b);
		errno = EIO;
		return NULL;
	}
	return buf_take(&b, len);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned min;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	unsigned cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(u + i, n - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

char *
utf8_sanitize(const char *s, size_t n, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < n;) {
		/* the valid sequences from i that fit, copied at once */
		size_t end = i, k = 0;
		while (end < n && (k = utf8_seq(u + end, n - end)) != 0 &&
		       b.len + (end + k - i) <= max)
			end += k;
		if (end > i) {
			if (buf_add(&b, s + i, end - i) != 0)
				break;
			i = end;
			continue;
		}
		/* an invalid byte, replaced; or the next character does not fit */
		if (k != 0 || b.len + 3 > max || buf_add(&b, "\xef\xbf\xbd", 3) != 0)
			break;
		i++;
	}
	return buf_take(&b, NULL);
}

int
name_index(const char *const *names, size_t n, const char *name)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

int
str_contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

int
name_list_index(const char *const *list, const char *name)
{
	for (size_t i = 0; name != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], name) == 0)
			return (int)i;
	return -1;
}

uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}
