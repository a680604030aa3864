/*
 * yamltree: libyaml's event stream folded into a tree with line numbers.
 *
 * Invariant: a node's children are complete before the node is handed to its
 * parent; on any error the partial tree is freed and nothing leaks.
 */
#include "base/yamltree.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/util.h"

#define YAML_FILE_CAP (4u << 20)
#define YAML_MAX_DEPTH 64

int
ytree_error(char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (err != NULL && errlen > 0) {
		if (line > 0)
			snprintf(err, errlen, "%s:%d: %s", name, line, msg);
		else
			snprintf(err, errlen, "%s: %s", name, msg);
	}
	return -1;
}

void
ytree_free(struct ynode *n)
{
	if (n == NULL)
		return;
	free(n->scalar);
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys != NULL)
			free(n->keys[i]);
		ytree_free(n->items[i]);
	}
	free(n->keys);
	free(n->key_lines);
	free(n->items);
	free(n);
}

static struct ynode *
node_new(enum ynode_kind kind, int line)
{
	struct ynode *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->line = line;
	return n;
}

static void
node_push(struct ynode *parent, char *key, int key_line, struct ynode *child)
{
	parent->items = xrealloc(parent->items, (parent->n + 1) * sizeof *parent->items);
	if (parent->kind == YNODE_MAP) {
		parent->keys = xrealloc(parent->keys, (parent->n + 1) * sizeof *parent->keys);
		parent->key_lines =
		    xrealloc(parent->key_lines, (parent->n + 1) * sizeof *parent->key_lines);
		parent->keys[parent->n] = key;
		parent->key_lines[parent->n] = key_line;
	}
	parent->items[parent->n++] = child;
}

struct loader {
	yaml_parser_t parser;
	const char *name;
	char *err;
	size_t errlen;
};

static struct ynode *load_node(struct loader *l, yaml_event_t *ev, int depth);

static int
next_event(struct loader *l, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&l->parser, ev)) {
		ytree_error(l->err, l->errlen, l->name, (int)l->parser.problem_mark.line + 1,
		            "invalid YAML: %s",
		            l->parser.problem ? l->parser.problem : "syntax error");
		return -1;
	}
	return 0;
}

/* Read children until the closing event; ev is the opening event (consumed). */
static struct ynode *
load_collection(struct loader *l, struct ynode *n, yaml_event_type_t end, int depth)
{
	for (;;) {
		yaml_event_t ev;
		if (next_event(l, &ev) != 0)
			goto err;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return n;
		}
		if (n->kind == YNODE_SEQ) {
			struct ynode *child = load_node(l, &ev, depth + 1);
			if (child == NULL)
				goto err;
			node_push(n, NULL, 0, child);
			continue;
		}
		/* map: key scalar, then value */
		if (ev.type != YAML_SCALAR_EVENT) {
			ytree_error(l->err, l->errlen, l->name, (int)ev.start_mark.line + 1,
			            "mapping keys must be plain strings");
			yaml_event_delete(&ev);
			goto err;
		}
		int key_line = (int)ev.start_mark.line + 1;
		char *key = xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
		yaml_event_delete(&ev);
		for (size_t i = 0; i < n->n; i++) {
			if (strcmp(n->keys[i], key) == 0) {
				ytree_error(l->err, l->errlen, l->name, key_line,
				            "duplicate key '%s'", key);
				free(key);
				goto err;
			}
		}
		if (next_event(l, &ev) != 0) {
			free(key);
			goto err;
		}
		struct ynode *value = load_node(l, &ev, depth + 1);
		if (value == NULL) {
			free(key);
			goto err;
		}
		node_push(n, key, key_line, value);
	}
err:
	ytree_free(n);
	return NULL;
}

/* Build the node that starts with ev (consumed). */
static struct ynode *
load_node(struct loader *l, yaml_event_t *ev, int depth)
{
	int line = (int)ev->start_mark.line + 1;
	if (depth > YAML_MAX_DEPTH) {
		yaml_event_delete(ev);
		ytree_error(l->err, l->errlen, l->name, line, "nested too deeply");
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		struct ynode *n = node_new(YNODE_SCALAR, line);
		n->scalar = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		            ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ||
		            ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
		            ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
		yaml_event_delete(ev);
		return n;
	}
	case YAML_SEQUENCE_START_EVENT:
		yaml_event_delete(ev);
		return load_collection(l, node_new(YNODE_SEQ, line), YAML_SEQUENCE_END_EVENT,
		                       depth);
	case YAML_MAPPING_START_EVENT:
		yaml_event_delete(ev);
		return load_collection(l, node_new(YNODE_MAP, line), YAML_MAPPING_END_EVENT, depth);
	case YAML_ALIAS_EVENT:
		yaml_event_delete(ev);
		ytree_error(l->err, l->errlen, l->name, line, "aliases are not supported");
		return NULL;
	default:
		yaml_event_delete(ev);
		ytree_error(l->err, l->errlen, l->name, line, "unexpected YAML structure");
		return NULL;
	}
}

struct ynode *
ytree_load_string(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
	struct loader l = {.name = name, .err = err, .errlen = errlen};
	struct ynode *root = NULL;
	yaml_event_t ev;

	if (!yaml_parser_initialize(&l.parser))
		fatal(70, "cannot initialise libyaml");
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)text, len);
	/* stream start, document start */
	if (next_event(&l, &ev) != 0)
		goto out;
	yaml_event_delete(&ev);
	if (next_event(&l, &ev) != 0)
		goto out;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		ytree_error(err, errlen, name, 0, "empty document");
		goto out;
	}
	yaml_event_delete(&ev);
	if (next_event(&l, &ev) != 0)
		goto out;
	root = load_node(&l, &ev, 0);
	if (root == NULL)
		goto out;
	/* document end; a second document is refused */
	if (next_event(&l, &ev) != 0)
		goto fail;
	yaml_event_delete(&ev);
	if (next_event(&l, &ev) != 0)
		goto fail;
	if (ev.type != YAML_STREAM_END_EVENT) {
		ytree_error(err, errlen, name, (int)ev.start_mark.line + 1,
		            "only one YAML document is allowed");
		yaml_event_delete(&ev);
		goto fail;
	}
	yaml_event_delete(&ev);
	goto out;
fail:
	ytree_free(root);
	root = NULL;
out:
	yaml_parser_delete(&l.parser);
	return root;
}

struct ynode *
ytree_load_file(const char *path, char *err, size_t errlen)
{
	size_t len;
	char *text = read_file(path, YAML_FILE_CAP, &len);
	if (text == NULL) {
		ytree_error(err, errlen, path, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	struct ynode *root = ytree_load_string(text, len, path, err, errlen);
	free(text);
	return root;
}

struct ynode *
ytree_get(const struct ynode *map, const char *key)
{
	if (map == NULL || map->kind != YNODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->items[i];
	return NULL;
}

int
ytree_as_string(const struct ynode *n, const char *name, const char **out, char *err, size_t errlen)
{
	if (n->kind != YNODE_SCALAR)
		return ytree_error(err, errlen, name, n->line, "expected a string");
	*out = n->scalar;
	return 0;
}

int
ytree_as_long(const struct ynode *n, const char *name, long min, long max, long *out, char *err,
              size_t errlen)
{
	if (n->kind != YNODE_SCALAR || n->quoted)
		return ytree_error(err, errlen, name, n->line, "expected a whole number");
	char *end;
	errno = 0;
	long v = strtol(n->scalar, &end, 10);
	if (errno != 0 || end == n->scalar || *end != '\0')
		return ytree_error(err, errlen, name, n->line, "expected a whole number, not '%s'",
		                   n->scalar);
	if (v < min || v > max)
		return ytree_error(err, errlen, name, n->line, "%ld is out of range (%ld to %ld)",
		                   v, min, max);
	*out = v;
	return 0;
}

int
ytree_as_double(const struct ynode *n, const char *name, double min, double max, double *out,
                char *err, size_t errlen)
{
	if (n->kind != YNODE_SCALAR || n->quoted)
		return ytree_error(err, errlen, name, n->line, "expected a number");
	char *end;
	errno = 0;
	double v = strtod(n->scalar, &end);
	if (errno != 0 || end == n->scalar || *end != '\0' || !isfinite(v))
		return ytree_error(err, errlen, name, n->line, "expected a number, not '%s'",
		                   n->scalar);
	if (v < min || v > max)
		return ytree_error(err, errlen, name, n->line, "%g is out of range (%g to %g)", v,
		                   min, max);
	*out = v;
	return 0;
}

int
ytree_as_bool(const struct ynode *n, const char *name, int *out, char *err, size_t errlen)
{
	if (n->kind == YNODE_SCALAR && !n->quoted) {
		if (strcmp(n->scalar, "true") == 0 || strcmp(n->scalar, "yes") == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(n->scalar, "false") == 0 || strcmp(n->scalar, "no") == 0) {
			*out = 0;
			return 0;
		}
	}
	return ytree_error(err, errlen, name, n->line, "expected true or false");
}

int
ytree_as_duration(const struct ynode *n, const char *name, long long *us, char *err, size_t errlen)
{
	if (n->kind != YNODE_SCALAR)
		return ytree_error(err, errlen, name, n->line, "expected a duration like 30s");
	char *end;
	errno = 0;
	double v = strtod(n->scalar, &end);
	double unit = 1e6;
	if (errno != 0 || end == n->scalar || !isfinite(v) || v < 0)
		goto bad;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		unit = 1e6;
	else if (strcmp(end, "ms") == 0)
		unit = 1e3;
	else if (strcmp(end, "us") == 0)
		unit = 1;
	else if (strcmp(end, "m") == 0)
		unit = 60e6;
	else if (strcmp(end, "h") == 0)
		unit = 3600e6;
	else if (strcmp(end, "d") == 0)
		unit = 86400e6;
	else
		goto bad;
	if (v * unit > 9e15)
		goto bad;
	*us = (long long)(v * unit);
	return 0;
bad:
	return ytree_error(err, errlen, name, n->line,
	                   "expected a duration like 250ms, 30s, 5m, 2h or 1d, not '%s'",
	                   n->scalar);
}

uint64_t
ytree_digest_str(const char *s, uint64_t h)
{
	if (s == NULL)
		return (h ^ 0xff) * 1099511628211ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xfe) * 1099511628211ULL; /* the end of a string */
}

uint64_t
ytree_digest(const struct ynode *n, uint64_t h)
{
	if (n == NULL)
		return ytree_digest_str(NULL, h);
	h = (h ^ (unsigned)n->kind) * 1099511628211ULL;
	if (n->kind == YNODE_SCALAR)
		return ytree_digest_str(n->scalar, h);
	for (size_t i = 0; i < n->n; i++) {
		if (n->kind == YNODE_MAP)
			h = ytree_digest_str(n->keys[i], h);
		h = ytree_digest(n->items[i], h);
	}
	return (h ^ 0xfd) * 1099511628211ULL;
}

int
ytree_take_string(const struct ynode *map, const char *key, const char *name, char **out, char *err,
                  size_t errlen)
{
	const struct ynode *v = ytree_get(map, key);
	const char *s = NULL;
	if (v == NULL)
		return 0;
	if (ytree_as_string(v, name, &s, err, errlen) != 0)
		return -1;
	free(*out);
	*out = xstrdup(s);
	return 0;
}

int
ytree_get_choice(const struct ynode *map, const char *key, const char *what,
                 const char *const *names, const char *name, int *out, char *err, size_t errlen)
{
	const struct ynode *v = ytree_get(map, key);
	const char *s = NULL;
	if (v == NULL)
		return 0;
	if (ytree_as_string(v, name, &s, err, errlen) != 0)
		return -1;
	int i = name_list_index(names, s);
	if (i >= 0) {
		*out = i;
		return 1;
	}
	char list[256] = "";
	for (size_t k = 0; names[k] != NULL; k++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
		         k == 0                 ? ""
		         : names[k + 1] == NULL ? " or "
		                                : ", ",
		         names[k]);
	return ytree_error(err, errlen, name, v->line, "%s is %s, not '%s'", what, list, s);
}

int
ytree_check_keys(const struct ynode *map, const char *name, const char *const *allowed, char *err,
                 size_t errlen)
{
	if (map->kind != YNODE_MAP)
		return ytree_error(err, errlen, name, map->line, "expected a mapping");
	for (size_t i = 0; i < map->n; i++)
		if (name_list_index(allowed, map->keys[i]) < 0)
			return ytree_error(err, errlen, name, map->key_lines[i], "unknown key '%s'",
			                   map->keys[i]);
	return 0;
}
