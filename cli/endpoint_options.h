/*
 * endpoint_options: the command-line options that name an endpoint and how
 * to reach it, as `assay audit` and `assay baseline record` both take them:
 * --base-url, --model, --key-env, --header, --header-env, --auth, and
 * Azure OpenAI's --azure-deployment and --azure-api-version, which make
 * the base URL the deployment's (probes/endpoint.h endpoint_azure_url),
 * and Vertex AI's --vertex-project and --vertex-region, which make it the
 * Anthropic publisher's in that project (endpoint_vertex_url; --base-url
 * then optional: the region's host).
 *
 * Each command keeps its own getopt_long loop and table (splicing
 * ENDPOINT_LONG_OPTIONS into it) and hands every option to
 * endpoint_options_take() first. Errors are one line on stderr,
 * "assay CMD: ...", never with a header's value; the caller exits 2.
 */
#ifndef ASSAY_CLI_ENDPOINT_OPTIONS_H
#define ASSAY_CLI_ENDPOINT_OPTIONS_H

#include <getopt.h>
#include <stddef.h>

#include "probes/adapter.h"
#include "probes/endpoint.h"
#include "probes/sigv4.h"

struct audit_target;

/* The options' rows in a command's struct option table. */
// clang-format off
#define ENDPOINT_LONG_OPTIONS \
	{"base-url", required_argument, NULL, 'u'}, \
	{"model", required_argument, NULL, 'm'}, \
	{"key-env", required_argument, NULL, 'k'}, \
	{"header", required_argument, NULL, 'H'}, \
	{"header-env", required_argument, NULL, 'E'}, \
	{"auth", required_argument, NULL, 'A'}, \
	{"azure-deployment", required_argument, NULL, 'Z'}, \
	{"azure-api-version", required_argument, NULL, 'V'}, \
	{"bedrock-region", required_argument, NULL, 'G'}, \
	{"vertex-project", required_argument, NULL, 'J'}, \
	{"vertex-region", required_argument, NULL, 'Q'}
// clang-format on

struct endpoint_options {
	const char *base_url, *model, *key_env;           /* argv's, or azure_url */
	const char *azure_deployment, *azure_api_version; /* argv's */
	const char *wire_model; /* the body's model: the deployment on Azure's v1 URL */
	char *azure_url;        /* owned: the deployment's base URL, once the options end */
	const char *vertex_project, *vertex_region; /* argv's */
	char *vertex_url; /* owned: the Vertex publisher's base URL, once the options end */
	int auth;         /* enum auth_kind */
	struct http_header *headers; /* owned; the values are secrets */
	size_t n_headers;
	/* Amazon Bedrock (probes/bedrock.h): on with --bedrock-region or a
	 * bedrock-runtime.REGION.amazonaws.com base URL */
	const char *bedrock_region; /* argv's */
	int bedrock;
	char *bedrock_url;          /* owned: the region's runtime URL, when no --base-url */
	struct aws_credentials aws; /* owned: from the environment, for --auth sigv4 */
};

/* Empty options: no URL, model or key, the API's own auth, no headers;
 * getopt reset to read the command line from its start, silently. */
void endpoint_options_init(struct endpoint_options *o);
/* Wipe and free the headers. */
void endpoint_options_release(struct endpoint_options *o);
/*
 * getopt_long(argc, argv, shortopts, longopts) on, taking the endpoint
 * options it meets: the next option that is not one of them (optarg set as
 * getopt_long sets it), -1 at the end of the options, or
 * ENDPOINT_OPTION_REFUSED when an endpoint option's value was refused,
 * said on stderr after "assay CMD: " (cmd is "audit", "baseline record").
 * At the end, the Azure options (when given with --base-url) replace
 * base_url with the deployment's URL, and the Vertex options base_url (or
 * none) with the publisher's; refused when they do not fit. A Bedrock
 * target (--bedrock-region, or a bedrock-runtime URL) gets the region's
 * runtime URL when --base-url is not given, and auth sigv4 by default,
 * whose AWS credentials are read from the environment here (refused, said,
 * when they are missing, when --key-env is given with sigv4, or when sigv4
 * is asked for another target).
 */
#define ENDPOINT_OPTION_REFUSED (-2)
int endpoint_options_next(struct endpoint_options *o, int argc, char **argv, const char *shortopts,
                          const struct option *longopts, const char *cmd);
/*
 * The audit target the options name, for api, with key (read by the
 * caller from key_env, or NULL): every string the options' or the
 * caller's, nothing copied (rules left empty; a Bedrock target's AWS
 * credentials are the options', borrowed too, and its api anthropic). The API's own auth on an
 * Azure deployment URL is api-key, as Azure's SDK sends it (--auth bearer
 * sends an Entra token instead). -1 when the extra headers
 * may not be sent to api with this auth and key, said on stderr as
 * "assay CMD: --header: why".
 */
int endpoint_options_target(const struct endpoint_options *o, const char *cmd, const char *relay,
                            enum api_kind api, const char *key, struct audit_target *t);

#endif
