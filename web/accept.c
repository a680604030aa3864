/*
 * accept: Accept-Encoding as a list of "coding [; q=value]" elements. Each
 * element is read on its own; one that does not parse is ignored, as the
 * RFC lets a server do, so a broken header never makes gzip more likely.
 */
#include "web/accept.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The q-value of one element's parameters ("; q=0.5"): 1 when absent, -1
 * when malformed. */
static double
element_q(const char *p, const char *end)
{
	double q = 1;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
			p++;
		if (p >= end)
			break;
		const char *name = p;
		while (p < end && *p != '=' && *p != ';')
			p++;
		size_t nlen = (size_t)(p - name);
		while (nlen > 0 && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
			nlen--;
		if (p >= end || *p != '=')
			return -1;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *val = p;
		while (p < end && *p != ';')
			p++;
		if (nlen == 1 && tolower((unsigned char)name[0]) == 'q') {
			/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
			size_t vlen = (size_t)(p - val);
			while (vlen > 0 && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t'))
				vlen--;
			if (vlen == 0 || (val[0] != '0' && val[0] != '1'))
				return -1;
			if (vlen > 1 && (val[1] != '.' || vlen > 5))
				return -1;
			for (size_t i = 2; i < vlen; i++)
				if (!isdigit((unsigned char)val[i]) ||
				    (val[0] == '1' && val[i] != '0'))
					return -1;
			char buf[8];
			memcpy(buf, val, vlen);
			buf[vlen] = '\0';
			q = strtod(buf, NULL);
		}
	}
	return q;
}

int
accept_encoding_allows(const char *header, const char *coding)
{
	if (header == NULL)
		return 0;
	double named = -1, star = -1;
	const char *p = header;
	while (*p != '\0') {
		const char *end = p + strcspn(p, ",");
		const char *tok = p;
		while (tok < end && (*tok == ' ' || *tok == '\t'))
			tok++;
		const char *tend = tok;
		while (tend < end && *tend != ';' && *tend != ' ' && *tend != '\t')
			tend++;
		size_t tlen = (size_t)(tend - tok);
		double q = tlen > 0 ? element_q(tend, end) : -1;
		if (q >= 0) {
			int is_coding =
			    (tlen == strlen(coding) && strncasecmp(tok, coding, tlen) == 0) ||
			    (strcasecmp(coding, "gzip") == 0 && tlen == 6 &&
			     strncasecmp(tok, "x-gzip", 6) == 0);
			if (is_coding)
				named = named < 0 || q > named ? q : named;
			else if (tlen == 1 && *tok == '*')
				star = q;
		}
		p = *end == ',' ? end + 1 : end;
	}
	if (named >= 0)
		return named > 0;
	return star > 0;
}
