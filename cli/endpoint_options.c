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
#include "base/util.h"
#include "probes/audit.h"
#include "probes/bedrock.h"

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
	free(o->bedrock_url);
	o->bedrock_url = NULL;
	sigv4_credentials_release(&o->aws);
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
		o->bedrock_region = arg;
		return 1;
	case 'J':
		o->vertex_project = arg;
		return 1;
	case 'Q':
		o->vertex_region = arg;
		return 1;
	default:
		return 0;
	}
}

/* The end of the options, for Amazon Bedrock: the target, its URL and its
 * SigV4 credentials (see endpoint_options_next). 0, or -1 (said). */
static int
bedrock_options(struct endpoint_options *o, const char *cmd)
{
	char region[64], err[256];
	int url_region =
	    o->base_url != NULL && bedrock_region_of(o->base_url, region, sizeof region) == 0;
	o->bedrock = o->bedrock_region != NULL || url_region;
	if (!o->bedrock) {
		if (o->auth == AUTH_SIGV4) {
			fprintf(
			    stderr,
			    "assay %s: --auth sigv4 is for Amazon Bedrock: give --bedrock-region "
			    "(or a bedrock-runtime.REGION.amazonaws.com --base-url)\n",
			    cmd);
			return -1;
		}
		return 0;
	}
	if (o->bedrock_region != NULL && o->base_url == NULL) {
		if ((o->bedrock_url = bedrock_base_url(o->bedrock_region)) == NULL) {
			fprintf(stderr,
			        "assay %s: --bedrock-region '%s' is not an AWS region name\n", cmd,
			        o->bedrock_region);
			return -1;
		}
		o->base_url = o->bedrock_url;
	}
	if (o->auth == AUTH_DEFAULT)
		o->auth = AUTH_SIGV4;
	if (o->auth != AUTH_SIGV4 || o->aws.access_key_id != NULL)
		return 0;
	if (o->key_env != NULL) {
		fprintf(stderr,
		        "assay %s: --auth sigv4 signs with the AWS credentials in the environment; "
		        "--key-env is for a Bedrock API key (--auth bearer)\n",
		        cmd);
		return -1;
	}
	if (sigv4_credentials_from_env(&o->aws, err, sizeof err) != 0) {
		fprintf(stderr, "assay %s: %s\n", cmd, err);
		return -1;
	}
	const char *r = o->bedrock_region ? o->bedrock_region : url_region ? region : NULL;
	if (r != NULL) {
		free(o->aws.region);
		o->aws.region = xstrdup(r);
	}
	if (o->aws.region == NULL) {
		fprintf(stderr,
		        "assay %s: sigv4 needs a region: --bedrock-region, or AWS_REGION in the "
		        "environment\n",
		        cmd);
		sigv4_credentials_release(&o->aws);
		return -1;
	}
	return 0;
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
		const char *deployment = o->azure_deployment;
		/* on the v1 URL the deployment is the body's model */
		if (deployment != NULL && endpoint_is_azure_v1(o->base_url)) {
			o->wire_model = deployment;
			deployment = NULL;
			if (o->azure_api_version == NULL)
				return -1;
		}
		if (endpoint_azure_url(o->base_url, deployment, o->azure_api_version, &o->azure_url,
		                       err, sizeof err) != 0) {
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
	return bedrock_options(o, cmd) == 0 ? -1 : ENDPOINT_OPTION_REFUSED;
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
	if (o->bedrock && api != API_CONVERSE)
		api = API_ANTHROPIC;
	if (api == API_CONVERSE && !o->bedrock) {
		fprintf(stderr,
		        "assay %s: --api converse is Amazon Bedrock's: give --bedrock-region (or "
		        "a bedrock-runtime.REGION.amazonaws.com --base-url)\n",
		        cmd);
		return -1;
	}
	*t = (struct audit_target){.relay = (char *)relay,
	                           .base_url = (char *)o->base_url,
	                           .api = api,
	                           .model = (char *)o->model,
	                           .wire_model = (char *)o->wire_model,
	                           .api_key = (char *)key,
	                           .auth = auth,
	                           .headers = o->headers,
	                           .n_headers = o->n_headers,
	                           .bedrock = o->bedrock,
	                           .aws = o->aws};
	return 0;
}
