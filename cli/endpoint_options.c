/*
 * endpoint_options: --base-url, --model, --key-env, --header, --header-env,
 * --auth and the Azure options for audit and baseline record
 * (cli/endpoint_options.h).
 */
#include "cli/endpoint_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "probes/audit.h"

void
endpoint_options_init(struct endpoint_options *o)
{
	memset(o, 0, sizeof *o);
	o->auth = AUTH_DEFAULT;
	/* getopt from the start of the command line, saying nothing itself */
	optind = 1;
	opterr = 0;
}

void
endpoint_options_release(struct endpoint_options *o)
{
	http_headers_free(o->headers, o->n_headers);
	o->headers = NULL;
	o->n_headers = 0;
	free(o->azure_url);
	o->azure_url = NULL;
	free(o->vertex_url);
	o->vertex_url = NULL;
}

/* 1 when c is one of ENDPOINT_LONG_OPTIONS, taken; 0 when it is not; -1
 * when its value is refused (said). */
static int
take(struct endpoint_options *o, int c, const char *arg, const char *cmd)
{
	char err[1024];
	switch (c) {
	case 'u':
		o->base_url = arg;
		return 1;
	case 'm':
		o->model = arg;
		return 1;
	case 'k':
		o->key_env = arg;
		return 1;
	case 'H':
	case 'E':
		if (config_cli_header(&o->headers, &o->n_headers, arg, c == 'E', err, sizeof err) !=
		    0) {
			fprintf(stderr, "assay %s: %s: %s\n", cmd,
			        c == 'E' ? "--header-env" : "--header", err);
			return -1;
		}
		return 1;
	case 'A':
		if ((o->auth = auth_from_name(arg)) < 0) {
			fprintf(stderr,
			        "assay %s: --auth is 'bearer', 'x-api-key', 'api-key' or "
			        "'x-goog-api-key', not '%s'\n",
			        cmd, arg);
			return -1;
		}
		return 1;
	case 'Z':
		o->azure_deployment = arg;
		return 1;
	case 'V':
		o->azure_api_version = arg;
		return 1;
	case 'G':
		o->vertex_project = arg;
		return 1;
	case 'Q':
		o->vertex_region = arg;
		return 1;
	default:
		return 0;
	}
}

int
endpoint_options_next(struct endpoint_options *o, int argc, char **argv, const char *shortopts,
                      const struct option *longopts, const char *cmd)
{
	int c, taken = 1;
	while (taken > 0 && (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		taken = take(o, c, optarg, cmd);
	if (taken < 0)
		return ENDPOINT_OPTION_REFUSED;
	if (taken == 0)
		return c;
	/* the end: the Azure options name the deployment's URL */
	if ((o->azure_deployment != NULL || o->azure_api_version != NULL) && o->base_url != NULL &&
	    o->azure_url == NULL) {
		char err[512];
		if (endpoint_azure_url(o->base_url, o->azure_deployment, o->azure_api_version,
		                       &o->azure_url, err, sizeof err) != 0) {
			fprintf(stderr, "assay %s: %s\n", cmd, err);
			return ENDPOINT_OPTION_REFUSED;
		}
		o->base_url = o->azure_url;
	}
	if ((o->vertex_project != NULL || o->vertex_region != NULL) && o->vertex_url == NULL) {
		char err[512];
		if (endpoint_vertex_url(o->base_url, o->vertex_project, o->vertex_region,
		                        &o->vertex_url, err, sizeof err) != 0) {
			fprintf(stderr, "assay %s: %s\n", cmd, err);
			return ENDPOINT_OPTION_REFUSED;
		}
		o->base_url = o->vertex_url;
	}
	return -1;
}

int
endpoint_options_target(const struct endpoint_options *o, const char *cmd, const char *relay,
                        enum api_kind api, const char *key, struct audit_target *t)
{
	char err[1024];
	size_t bad;
	enum auth_kind auth = (enum auth_kind)o->auth;
	if (auth == AUTH_DEFAULT && api != API_ANTHROPIC && o->base_url != NULL &&
	    endpoint_is_azure_deployment(o->base_url))
		auth = AUTH_API_KEY;
	if (endpoint_headers_check(o->headers, o->n_headers, api, auth, key != NULL, &bad, err,
	                           sizeof err) != 0) {
		fprintf(stderr, "assay %s: --header: %s\n", cmd, err);
		return -1;
	}
	*t = (struct audit_target){.relay = (char *)relay,
	                           .base_url = (char *)o->base_url,
	                           .api = api,
	                           .model = (char *)o->model,
	                           .api_key = (char *)key,
	                           .auth = auth,
	                           .headers = o->headers,
	                           .n_headers = o->n_headers};
	return 0;
}
