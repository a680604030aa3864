/*
 * json_parsers_udp: json-parser's part (Debian libjsonparser-dev) of
 * bench/json_parsers.c, apart because its names (json_object, json_array)
 * clash with jansson's and json-c's.
 */
#include <json-parser/json.h>
#include <stddef.h>

int run_json_parser(const char *s, size_t n);

int
run_json_parser(const char *s, size_t n)
{
	json_settings settings = {0};
	char err[json_error_max];
	json_value *v = json_parse_ex(&settings, s, n, err);
	json_value_free(v);
	return v != NULL;
}
