/*
 * json_parsers_jsonc: json-c's part of bench/json_parsers.c, apart because
 * json-c's names (json_object, ...) clash with jansson's.
 */
#include <json-c/json.h>
#include <stddef.h>

int run_json_c(const char *s, size_t n);

/* One tokener, reused (bench only, one thread). */
int
run_json_c(const char *s, size_t n)
{
	static struct json_tokener *tok;
	if (tok == NULL)
		tok = json_tokener_new();
	json_tokener_reset(tok);
	struct json_object *o = json_tokener_parse_ex(tok, s, (int)n);
	int ok = o != NULL && json_tokener_get_error(tok) == json_tokener_success;
	json_object_put(o);
	return ok;
}
