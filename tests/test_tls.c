/*
 * The security posture over real TLS on loopback: the fixture serves https
 * with a certificate chain this test makes (a throwaway CA, a leaf for
 * 127.0.0.1), `assay audit --ca-file` trusts the CA, and the report says
 * the TLS version each response came over, how soon the leaf expires (a
 * warning for one issued for 5 days), and what plain HTTP on the same port
 * gave. A plain-HTTP fixture audited under an https URL shows the other
 * side: TLS fails, and the API answering in clear is the weakness.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"

/* ---- a certificate chain of the test's own ---- */

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	cr_assert_not_null(ext, "extension %d = %s", nid, value);
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
}

/* A certificate for key named cn, valid from an hour ago for days, signed
 * by issuer (NULL: itself, with key) with issuer_key. */
static X509 *
cert_make(EVP_PKEY *key, const char *cn, long days, X509 *issuer, EVP_PKEY *issuer_key)
{
	static long serial = 1;
	X509 *c = X509_new();
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_time_adj_ex(X509_getm_notAfter(c), (int)days, 0, NULL);
	X509_set_pubkey(c, key);
	X509_NAME *name = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
	X509 *by = issuer ? issuer : c;
	add_ext(c, by, NID_subject_key_identifier, "hash");
	if (issuer == NULL) {
		add_ext(c, by, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(c, by, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(c, by, NID_authority_key_identifier, "keyid:always");
		add_ext(c, by, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(c, by, NID_key_usage, "critical,digitalSignature");
		add_ext(c, by, NID_ext_key_usage, "serverAuth");
		add_ext(c, by, NID_subject_alt_name, "IP:127.0.0.1");
	}
	cr_assert(X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return c;
}

static void
write_pem(const char *dir, const char *name, X509 *cert, EVP_PKEY *key)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	int ok = cert ? PEM_write_X509(f, cert)
	              : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	cr_assert(ok == 1 && fclose(f) == 0, "%s", path);
}

/* In dir: ca.pem (the CA), and NAME.pem / NAME.key, a leaf for 127.0.0.1
 * valid for days, for each of the n names. */
static void
make_chain(const char *dir, const char *const names[], const long days[], size_t n)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	cr_assert_not_null(ca_key);
	X509 *ca = cert_make(ca_key, "Assay test CA", 30, NULL, NULL);
	write_pem(dir, "ca.pem", ca, NULL);
	for (size_t i = 0; i < n; i++) {
		EVP_PKEY *key = EVP_EC_gen("P-256");
		X509 *leaf = cert_make(key, "127.0.0.1", days[i], ca, ca_key);
		char file[64];
		snprintf(file, sizeof file, "%s.pem", names[i]);
		write_pem(dir, file, leaf, NULL);
		snprintf(file, sizeof file, "%s.key", names[i]);
		write_pem(dir, file, NULL, key);
		X509_free(leaf);
		EVP_PKEY_free(key);
	}
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

/* ---- the audits ---- */

static char dir[256];
static struct fixture world;

static void
setup_tls(void)
{
	cr_assert_eq(test_tmpdir(dir, sizeof dir, "tls"), 0);
	static const char *const names[] = {"soon", "later"};
	static const long days[] = {5, 90};
	make_chain(dir, names, days, 2);
	/* the world file beside the certificates: its paths are relative */
	char path[512];
	snprintf(path, sizeof path, "%s/world.yaml", dir);
	cr_assert_eq(test_write_file(path,
	                             "provider:\n"
	                             "  tls: {cert: soon.pem, key: soon.key}\n"
	                             "relays:\n"
	                             "  - name: tls12\n"
	                             "    tls: {cert: later.pem, key: later.key, max_version: "
	                             "\"1.2\"}\n"
	                             "    behaviours: [honest]\n"),
	             0);
	static const char *const need[] = {"official", "tls12", NULL};
	char *const extra[] = {(char *)"--time-scale", (char *)"0.05", NULL};
	cr_assert_eq(fixture_start(&world, path, need, extra), 0, "the TLS world did not start");
	setenv("ASSAY_BASELINE_DIR", "fixtures/baselines", 1);
}

static void
teardown(void)
{
	fixture_stop(&world);
	cr_expect_eq(test_rmtree(dir), 0);
}

/* assay audit of gpt-4o at url (the CA trusted when ca), its JSON report
 * (json 1) or text; the output, which the caller frees. */
static char *
audit(const char *url, int ca, int json)
{
	char ca_file[300];
	snprintf(ca_file, sizeof ca_file, "%s/ca.pem", dir);
	char *argv[16] = {(char *)test_binary("assay"),
	                  (char *)"audit",
	                  (char *)"--base-url",
	                  (char *)url,
	                  (char *)"--model",
	                  (char *)"gpt-4o",
	                  (char *)"--time-scale",
	                  (char *)"0.05"};
	size_t n = 8;
	if (ca) {
		argv[n++] = (char *)"--ca-file";
		argv[n++] = ca_file;
	}
	if (json)
		argv[n++] = (char *)"--json";
	argv[n] = NULL;
	char *out = NULL, *err = NULL;
	run_capture(argv, 90000, &out, &err);
	cr_assert_not_null(out, "%s", err ? err : "");
	free(err);
	return out;
}

/* The "security" object of a JSON report (the caller decrefs root). */
static json_t *
security_of(const char *out, json_t **root)
{
	*root = json_loads(out, 0, NULL);
	cr_assert_not_null(*root, "%s", out);
	json_t *s = json_object_get(*root, "security");
	cr_assert(json_is_object(s), "%s", out);
	return s;
}

Test(tls, versions_expiry_and_the_tls_port_refusing_plain_http, .init = setup_tls, .fini = teardown,
     .timeout = 180)
{
	const char *url = fixture_url(&world, "official");
	cr_assert(url != NULL && strncmp(url, "https://", 8) == 0, "%s", url);
	json_t *root;
	char *out = audit(url, 1, 1);
	json_t *s = security_of(out, &root);
	long responses = json_integer_value(json_object_get(s, "responses"));
	cr_expect_gt(responses, 10, "%s", out);
	cr_expect_eq(json_integer_value(json_object_get(s, "tls_verified")), responses);
	/* OpenSSL 3 on both sides: every response over TLS 1.3 */
	json_t *v = json_object_get(s, "tls_versions");
	cr_expect_eq(json_integer_value(json_object_get(v, "TLSv1.3")), responses, "%s", out);
	cr_expect_eq(json_object_size(v), 1, "%s", out);
	cr_expect_eq(json_integer_value(json_object_get(s, "tls_weak")), 0);
	json_t *c = json_object_get(s, "certificate");
	cr_expect(json_is_true(json_object_get(c, "expires_soon")), "%s", out);
	double left = json_real_value(json_object_get(c, "days_left"));
	cr_expect(left > 4.9 && left <= 5.0, "%f days left", left);
	/* http:// on the TLS port: the TLS library closes it, no HTTP */
	json_t *ph = json_object_get(s, "plain_http");
	char want[300];
	snprintf(want, sizeof want, "http://%s/models", url + 8);
	cr_expect_str_eq(json_string_value(json_object_get(ph, "url")), want);
	cr_expect_str_eq(json_string_value(json_object_get(ph, "outcome")), "not_http", "%s", out);
	cr_expect(json_is_false(json_object_get(ph, "weakness")));
	json_decref(root);
	free(out);

	out = audit(url, 1, 0);
	cr_expect_not_null(strstr(out, "  - TLSv1.3 on "), "%s", out);
	cr_expect_not_null(strstr(out, "  - warning: the server certificate expires in 5 days ("),
	                   "%s", out);
	snprintf(want, sizeof want, "  - plain HTTP: GET http://%s/models (no key sent): no HTTP",
	         url + 8);
	cr_expect_not_null(strstr(out, want), "%s", out);
	cr_expect_null(strstr(out, "weakness"), "%s", out);
	free(out);

	/* a relay that stops at TLS 1.2, its certificate good for 90 days */
	out = audit(fixture_url(&world, "tls12"), 1, 0);
	cr_expect_not_null(strstr(out, "  - TLSv1.2 on "), "%s", out);
	cr_expect_null(strstr(out, "TLSv1.3"), "%s", out);
	cr_expect_not_null(strstr(out, "  - server certificate valid for 90 days more"), "%s", out);
	cr_expect_null(strstr(out, "warning:"), "%s", out);
	free(out);

	/* without the CA nothing verifies: no response, no posture of TLS */
	out = audit(url, 0, 1);
	s = security_of(out, &root);
	cr_expect_eq(json_integer_value(json_object_get(s, "responses")), 0, "%s", out);
	json_decref(root);
	free(out);
}

static void
setup_plain(void)
{
	cr_assert_eq(test_tmpdir(dir, sizeof dir, "tls"), 0);
	char path[512];
	snprintf(path, sizeof path, "%s/world.yaml", dir);
	/* a key required: the keyless check gets the API's 401 */
	cr_assert_eq(test_write_file(path, "provider:\n  api_keys: [sk-test-plain]\n"), 0);
	static const char *const need[] = {"official", NULL};
	char *const extra[] = {(char *)"--time-scale", (char *)"0.05", NULL};
	cr_assert_eq(fixture_start(&world, path, need, extra), 0, "the plain world did not start");
	setenv("ASSAY_BASELINE_DIR", "fixtures/baselines", 1);
}

Test(tls, an_api_answering_plain_http_is_a_weakness, .init = setup_plain, .fini = teardown,
     .timeout = 120)
{
	const char *url = fixture_url(&world, "official");
	cr_assert(url != NULL && strncmp(url, "http://", 7) == 0, "%s", url);
	/* the user wrote https for a relay that speaks plain HTTP on that port */
	char https[300];
	snprintf(https, sizeof https, "https://%s", url + 7);
	json_t *root;
	char *out = audit(https, 0, 1);
	json_t *s = security_of(out, &root);
	json_t *ph = json_object_get(s, "plain_http");
	cr_expect_str_eq(json_string_value(json_object_get(ph, "outcome")), "answers_api", "%s",
	                 out);
	cr_expect(json_is_true(json_object_get(ph, "weakness")));
	cr_expect_eq(json_integer_value(json_object_get(ph, "status")), 401, "%s", out);
	json_decref(root);
	free(out);
	out = audit(https, 0, 0);
	cr_expect_not_null(strstr(out, "  - weakness: answers the API over plain HTTP (keys would "
	                               "travel in clear): GET http://"),
	                   "%s", out);
	free(out);

	/* an http base URL: the check is not made (the report says it all) */
	out = audit(url, 0, 1);
	s = security_of(out, &root);
	cr_expect(json_is_null(json_object_get(s, "plain_http")), "%s", out);
	cr_expect_eq(json_is_false(json_object_get(s, "https")), 1);
	json_decref(root);
	free(out);
}

/* assay-fixture on a world of text: its exit status, stderr in *err. */
static int
fixture_fails(const char *text, char **err)
{
	char path[512];
	snprintf(path, sizeof path, "%s/bad.yaml", dir);
	cr_assert_eq(test_write_file(path, "%s", text), 0);
	char *argv[] = {(char *)test_binary("assay-fixture"), (char *)"-c", path, NULL};
	char *out = NULL;
	int rc = run_capture(argv, 10000, &out, err);
	free(out);
	return rc;
}

Test(tls, a_world_s_tls_is_checked)
{
	cr_assert_eq(test_tmpdir(dir, sizeof dir, "tls"), 0);
	char *err = NULL;
	cr_expect_eq(fixture_fails("provider:\n  tls: {cert: a.pem}\n", &err), 2);
	cr_expect_not_null(strstr(err, "bad.yaml:2: missing key 'key'"), "%s", err);
	free(err);
	cr_expect_eq(fixture_fails("provider:\n  tls: {cert: a.pem, key: a.key, max_version: "
	                           "\"1.1\"}\n",
	                           &err),
	             2);
	cr_expect_not_null(strstr(err, "max_version is \"1.2\" or \"1.3\", not '1.1'"), "%s", err);
	free(err);
	/* files that are not there: nothing starts, and it says which */
	cr_expect_eq(fixture_fails("provider:\n  tls: {cert: a.pem, key: a.key}\n", &err), 1);
	cr_expect_not_null(strstr(err, "cannot serve TLS for 'official'"), "%s", err);
	cr_expect_not_null(strstr(err, "/a.pem'"), "%s", err);
	free(err);
	cr_expect_eq(test_rmtree(dir), 0);
}
