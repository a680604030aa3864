/*
 * Early warning for a certificate replaced long before its expiry
 * (scoring/warning.h), through `assay serve` over real TLS on loopback: the
 * fixture's relay serves a leaf with 60 days left, then (the fixture
 * started again on the same port) another one, also for another domain;
 * serve, trusting the test's CA (ca_file:), shows the relay at risk with
 * both fingerprints and both sets of names, and tells it once by an
 * at_risk alert. The certificate chain is made here as
 * tests/test_tls.c makes its own (OpenSSL's X509 calls).
 */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
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
cert_make(EVP_PKEY *key, const char *cn, long days, X509 *issuer, EVP_PKEY *issuer_key,
          const char *san)
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
		add_ext(c, by, NID_subject_alt_name, san);
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
 * (and the alternative names san) valid for days, for each of the n names. */
static void
make_chain(const char *dir, const char *const names[], const long days[], const char *const san[],
           size_t n)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	cr_assert_not_null(ca_key);
	X509 *ca = cert_make(ca_key, "Assay test CA", 30, NULL, NULL, NULL);
	write_pem(dir, "ca.pem", ca, NULL);
	for (size_t i = 0; i < n; i++) {
		EVP_PKEY *key = EVP_EC_gen("P-256");
		X509 *leaf = cert_make(key, "127.0.0.1", days[i], ca, ca_key, san[i]);
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

/* ---- an at_risk counter on a loopback webhook ---- */

struct hook {
	struct event_base *base;
	struct evhttp *http;
	struct event *keep;
	pthread_t thread;
	pthread_mutex_t mu;
	int port, at_risk;
};

static void
hook_cb(struct evhttp_request *req, void *arg)
{
	struct hook *h = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *body = xcalloc(1, len + 1);
	evbuffer_copyout(in, body, len);
	json_t *j = json_loads(body, 0, NULL);
	const char *text = json_str(j, "text"), *event = json_str(j, "event");
	pthread_mutex_lock(&h->mu);
	if (text != NULL && event != NULL && strcmp(event, "at_risk") == 0 &&
	    strstr(text, "certificate was replaced") != NULL)
		h->at_risk++;
	pthread_mutex_unlock(&h->mu);
	json_decref(j);
	free(body);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void *
hook_run(void *arg)
{
	event_base_dispatch(((struct hook *)arg)->base);
	return NULL;
}

static int
hook_count(struct hook *h)
{
	pthread_mutex_lock(&h->mu);
	int n = h->at_risk;
	pthread_mutex_unlock(&h->mu);
	return n;
}

/* ---- the test ---- */

/* The first 8 bytes of the SHA-256 fingerprint of dir/name.pem as the
 * openssl command prints it ("sha256 Fingerprint=AB:CD:..."), in lowercase
 * hex without colons, into out (17 bytes); "" without the command. */
static void
fingerprint(const char *dir, const char *name, char out[17])
{
	char path[400];
	snprintf(path, sizeof path, "%s/%s.pem", dir, name);
	char *argv[] = {(char *)"openssl",
	                (char *)"x509",
	                (char *)"-noout",
	                (char *)"-fingerprint",
	                (char *)"-sha256",
	                (char *)"-in",
	                path,
	                NULL};
	char *so = NULL, *se = NULL;
	out[0] = '\0';
	char *openssl = test_which("openssl");
	if (openssl != NULL && (argv[0] = openssl, run_capture(argv, 10000, &so, &se)) == 0 &&
	    so != NULL && strchr(so, '=') != NULL) {
		size_t k = 0;
		for (const char *c = strchr(so, '=') + 1; *c && k < 16; c++)
			if (*c != ':')
				out[k++] = (char)tolower((unsigned char)*c);
		out[k] = '\0';
	}
	free(openssl);
	free(so);
	free(se);
}

static void
write_world(const char *path, int port, const char *leaf)
{
	cr_assert_eq(test_write_file(path,
	                             "provider:\n  port: 0\nrelays:\n"
	                             "  - name: tls-relay\n    port: %d\n"
	                             "    tls: {cert: %s.pem, key: %s.key}\n"
	                             "    behaviours: [honest]\n",
	                             port, leaf, leaf),
	             0);
}

Test(serve_cert, a_certificate_replaced_early_is_told, .timeout = 240)
{
	char dir[256];
	cr_assert_eq(test_tmpdir(dir, sizeof dir, "serve-cert"), 0);
	static const char *const names[] = {"first", "second"};
	static const long days[] = {60, 90};
	/* the second is for another domain too */
	static const char *const san[] = {"IP:127.0.0.1", "IP:127.0.0.1,DNS:new-host.example"};
	make_chain(dir, names, days, san, 2);
	int port = test_free_port();
	cr_assert_gt(port, 0);
	char w1[300], w2[300], cfg[300], db[300], base[300], ca[300];
	snprintf(w1, sizeof w1, "%s/first.yaml", dir);
	snprintf(w2, sizeof w2, "%s/second.yaml", dir);
	write_world(w1, port, "first");
	write_world(w2, port, "second");
	struct fixture world;
	static const char *const need[] = {"tls-relay", NULL};
	char *const extra[] = {(char *)"--time-scale", (char *)"0.05", NULL};
	cr_assert_eq(fixture_start(&world, w1, need, extra), 0);

	struct hook h = {0};
	pthread_mutex_init(&h.mu, NULL);
	evthread_use_pthreads();
	h.base = event_base_new();
	h.http = evhttp_new(h.base);
	evhttp_set_gencb(h.http, hook_cb, &h);
	h.port = test_evhttp_listen(h.http);
	cr_assert_gt(h.port, 0);
	h.keep = event_new(h.base, -1, EV_PERSIST, NULL, NULL);
	struct timeval day = {86400, 0};
	event_add(h.keep, &day);
	pthread_create(&h.thread, NULL, hook_run, &h);

	snprintf(cfg, sizeof cfg, "%s/assay.yaml", dir);
	snprintf(db, sizeof db, "%s/assay.db", dir);
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	cr_assert_eq(test_write_file(cfg,
	                             "listen: 127.0.0.1:0\ndatabase: %s\ninterval: 1s\n"
	                             "timeout: 10s\ntime_scale: 0.05\nca_file: '%s'\n"
	                             "alerts:\n  sinks:\n"
	                             "    - {kind: webhook, url: 'http://127.0.0.1:%d/h'}\n"
	                             "relays:\n  - {name: tls-relay, base_url: '%s', models: "
	                             "[gpt-4o]}\n",
	                             db, ca, h.port, fixture_url(&world, "tls-relay")),
	             0);
	char *argv[] = {(char *)test_binary("assay"), (char *)"serve", (char *)"-c", cfg, NULL};
	struct child serve;
	cr_assert_eq(serve_start(&serve, argv, base, sizeof base), 0);
	cr_expect_geq(test_wait_board_runs(base, "tls-relay", 3, 60000), 3);
	json_t *e = test_board_entry(base, "tls-relay");
	cr_expect(json_is_null(json_object_get(e, "at_risk")), "at risk on its first certificate");
	cr_expect_str_eq(json_str(e, "verdict"), "genuine");
	json_decref(e);

	/* the relay comes back on the same port with another certificate */
	cr_expect_eq(fixture_stop(&world), 0);
	cr_assert_eq(fixture_start(&world, w2, need, extra), 0);
	const char *why = NULL;
	e = NULL;
	for (long long until = test_now_ms() + 120000;
	     test_now_ms() < until &&
	     (why == NULL || strstr(why, "certificate was replaced") == NULL);) {
		json_decref(e);
		e = test_board_entry(base, "tls-relay");
		why = json_string_value(json_object_get(e, "at_risk"));
		usleep(100000);
	}
	cr_expect(why != NULL && strstr(why, "its TLS certificate was replaced while the one "
	                                     "before had 60 days left (SHA-256 ") != NULL,
	          "at_risk: %s", why ? why : "(none)");
	/* the fingerprints are the certificates' own, as openssl prints them */
	char fp1[17], fp2[17], both[120];
	fingerprint(dir, "first", fp1);
	fingerprint(dir, "second", fp2);
	if (fp1[0] && fp2[0]) {
		snprintf(both, sizeof both, "(SHA-256 %s..., before %s...)", fp2, fp1);
		cr_expect(why != NULL && strstr(why, both) != NULL, "%s not in %s", both,
		          why ? why : "(none)");
	} else {
		cr_log_warn("no openssl command: the fingerprints are not checked against it");
	}
	cr_expect(why != NULL &&
	              strstr(why, "its TLS certificate is for other names: "
	                          "127.0.0.1,new-host.example, before 127.0.0.1") != NULL,
	          "at_risk: %s", why ? why : "(none)");
	json_decref(e);
	long long until = test_now_ms() + 10000;
	while (hook_count(&h) == 0 && test_now_ms() < until)
		usleep(50000);
	/* three more runs: told once */
	long runs = test_board_runs(base, "tls-relay");
	cr_expect_geq(test_wait_board_runs(base, "tls-relay", runs + 3, 60000), runs + 3);
	cr_expect_eq(child_stop(&serve, 20000), 0);
	cr_expect_eq(hook_count(&h), 1, "told %d times", hook_count(&h));

	event_base_loopbreak(h.base);
	pthread_join(h.thread, NULL);
	event_free(h.keep);
	evhttp_free(h.http);
	event_base_free(h.base);
	cr_expect_eq(fixture_stop(&world), 0);
	cr_expect_eq(test_rmtree(dir), 0);
}
