/*
 * helpers: process control, HTTP and the shared set-ups of the test
 * binaries (tests/helpers.h).
 */
#include "tests/helpers.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/config.h"
#include "probes/catalog.h"
#include "probes/engine.h"
#include "scoring/baseline.h"
#include "scoring/detect.h"
#include "scoring/timeline.h"
#include "scoring/tokenizer.h"
#include "scoring/verdict.h"
#include "storage/store.h"

/* Every test scores against the fixture world's recorded baselines (its
 * answers and fingerprints), as the demo and the evaluation do. A test that
 * wants another pack directory sets ASSAY_BASELINE_DIR itself. */
__attribute__((constructor)) static void
use_fixture_baselines(void)
{
	setenv("ASSAY_BASELINE_DIR", ASSAY_SRCDIR "/fixtures/baselines", 0);
}

long long
test_now_ms(void)
{
	return (long long)(now_us() / 1000);
}

const char *
test_build_dir(void)
{
	const char *b = getenv("ASSAY_BUILD");
	return b && *b ? b : "build";
}

const char *
test_binary(const char *name)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", test_build_dir(), name);
	return path;
}

/* Fork and exec argv with stdout on out (and stderr on err, unless -1);
 * the pipe ends in close[] (n of them) are closed in the child. The pid, or
 * -1. */
static pid_t
spawn(char *const argv[], int out, int err, const int close_fds[], size_t n)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* a test that fails an assertion exits at once: take the child along,
	 * so no fixture outlives it holding our pipes */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	dup2(out, 1);
	if (err >= 0)
		dup2(err, 2);
	for (size_t i = 0; i < n; i++)
		close(close_fds[i]);
	execv(argv[0], argv);
	_exit(127);
}

int
child_start(struct child *c, char *const argv[])
{
	int fds[2];
	memset(c, 0, sizeof *c);
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = spawn(argv, fds[1], -1, fds, 2);
	if (pid < 0)
		return -1;
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	c->pid = pid;
	c->out_fd = fds[0];
	return 0;
}

int
child_read_line(struct child *c, char *line, size_t n, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	for (;;) {
		char *nl = memchr(c->pending, '\n', c->pending_len);
		if (nl != NULL) {
			size_t len = (size_t)(nl - c->pending);
			size_t copy = len < n - 1 ? len : n - 1;
			memcpy(line, c->pending, copy);
			line[copy] = '\0';
			memmove(c->pending, nl + 1, c->pending_len - len - 1);
			c->pending_len -= len + 1;
			return 0;
		}
		long long left = deadline - test_now_ms();
		if (left <= 0 || c->pending_len == sizeof c->pending)
			return -1;
		struct pollfd p = {.fd = c->out_fd, .events = POLLIN};
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ssize_t r = read(c->out_fd, c->pending + c->pending_len,
		                 sizeof c->pending - c->pending_len);
		if (r == 0)
			return -1;
		if (r > 0)
			c->pending_len += (size_t)r;
		else if (errno != EAGAIN && errno != EINTR)
			return -1;
	}
}

int
child_wait(struct child *c, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	int status;
	while (test_now_ms() < deadline) {
		pid_t r = waitpid(c->pid, &status, WNOHANG);
		if (r == c->pid) {
			c->pid = 0;
			if (c->out_fd > 0)
				close(c->out_fd);
			c->out_fd = -1;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		struct timespec ts = {0, 5 * 1000000};
		nanosleep(&ts, NULL);
	}
	return -2;
}

int
child_stop(struct child *c, int timeout_ms)
{
	if (c->pid <= 0)
		return -1;
	kill(c->pid, SIGTERM);
	int rc = child_wait(c, timeout_ms);
	if (rc == -2) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
		return -1;
	}
	return rc;
}

static int
fixture_has_all(const struct fixture *f, const char *const need[])
{
	for (size_t i = 0; need[i] != NULL; i++)
		if (fixture_url(f, need[i]) == NULL)
			return 0;
	return 1;
}

int
fixture_start(struct fixture *f, const char *world, const char *const need[], char *const extra[])
{
	char *argv[32];
	size_t k = 0;
	memset(f, 0, sizeof *f);
	argv[k++] = (char *)test_binary("assay-fixture");
	argv[k++] = (char *)"-c";
	argv[k++] = (char *)world;
	for (size_t i = 0; extra != NULL && extra[i] != NULL && k < 30; i++)
		argv[k++] = extra[i];
	argv[k] = NULL;
	if (child_start(&f->child, argv) != 0)
		return -1;
	char line[512];
	while (!fixture_has_all(f, need)) {
		if (f->n == FIXTURE_ENDPOINTS_MAX)
			goto err;
		if (child_read_line(&f->child, line, sizeof line, 10000) != 0)
			goto err;
		char name[64], url[256];
		if (sscanf(line, "listening %63s %255s", name, url) != 2)
			goto err;
		snprintf(f->names[f->n], sizeof f->names[f->n], "%s", name);
		snprintf(f->urls[f->n], sizeof f->urls[f->n], "%s", url);
		f->n++;
	}
	return 0;
err:
	child_stop(&f->child, 5000);
	return -1;
}

void
fixture_start_scaled(struct fixture *f, const char *world, const char *const need[],
                     const char *scale)
{
	char *const args[] = {(char *)"--time-scale", (char *)scale, NULL};
	cr_assert_eq(fixture_start(f, world, need, scale != NULL ? args : NULL), 0,
	             "the fixture world %s did not start", world);
}

void
test_world_start(struct test_world *w, const char *tag, const char *world, const char *const need[],
                 const char *scale)
{
	cr_assert_eq(test_tmpdir(w->dir, sizeof w->dir, tag), 0, "cannot make a folder for %s",
	             tag);
	fixture_start_scaled(&w->world, world, need, scale);
}

int
test_world_stop(struct test_world *w)
{
	int rc = fixture_stop(&w->world);
	cr_expect_eq(test_rmtree(w->dir), 0, "cannot remove %s", w->dir);
	return rc;
}

const char *
fixture_url(const struct fixture *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0)
			return f->urls[i];
	return NULL;
}

int
fixture_stop(struct fixture *f)
{
	return child_stop(&f->child, 10000);
}

void
fixture_send(struct http_response *r, const struct fixture *f, const char *name, const char *path,
             const char *body, const char *const *headers, long timeout_ms)
{
	const char *base = fixture_url(f, name);
	cr_assert_not_null(base, "no endpoint '%s'", name);
	char url[512];
	snprintf(url, sizeof url, "%s%s", base, path);
	http_send(r, &(struct http_request){
	                 .url = url, .body = body, .headers = headers, .timeout_ms = timeout_ms});
}

char *
http_get(const char *url, long *status, size_t *len)
{
	struct http_response r;
	http_send(&r, &(struct http_request){.url = url});
	if (status)
		*status = r.status;
	char *body = r.rc == CURLE_OK ? r.body : NULL;
	if (body != NULL && len != NULL)
		*len = r.len;
	if (body != NULL)
		r.body = NULL;
	http_response_release(&r);
	return body;
}

json_t *
http_get_json(const char *url)
{
	long status = 0;
	char *body = http_get(url, &status, NULL);
	json_t *root = body != NULL && status == 200 ? json_loads(body, 0, NULL) : NULL;
	free(body);
	return root;
}

json_t *
http_wait_json(const char *url, int timeout_ms, int (*ready)(const json_t *root, void *arg),
               void *arg)
{
	long long deadline = test_now_ms() + timeout_ms;
	while (test_now_ms() < deadline) {
		json_t *root = http_get_json(url);
		if (root != NULL && ready(root, arg))
			return root;
		json_decref(root);
		usleep(100 * 1000); /* poll interval, not a wait for luck */
	}
	return NULL;
}

static void
drain(int fd, struct buf *b)
{
	char tmp[4096];
	ssize_t r;
	while ((r = read(fd, tmp, sizeof tmp)) > 0)
		if (buf_add(b, tmp, (size_t)r) != 0)
			break;
}

int
test_audit_json(json_t **j, int timeout_ms, const char *key, const char *const *fixed, ...)
{
	char *argv[40];
	int n = 0;
	argv[n++] = (char *)test_binary("assay");
	argv[n++] = (char *)"audit";
	argv[n++] = (char *)"--json";
	if (key != NULL) {
		setenv("ASSAY_TEST_AUDIT_KEY", key, 1);
		argv[n++] = (char *)"--key-env";
		argv[n++] = (char *)"ASSAY_TEST_AUDIT_KEY";
	}
	for (size_t i = 0; fixed != NULL && fixed[i] != NULL; i++) {
		cr_assert_lt(n, 37, "too many audit arguments");
		argv[n++] = (char *)fixed[i];
	}
	va_list ap;
	va_start(ap, fixed);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
		cr_assert_lt(n, 37, "too many audit arguments");
		argv[n++] = (char *)a;
	}
	va_end(ap);
	argv[n] = NULL;
	char *out = NULL, *err = NULL;
	int rc = run_capture(argv, timeout_ms, &out, &err);
	*j = json_loads(out ? out : "", 0, NULL);
	cr_assert_not_null(*j, "--json output does not parse:\n%s\nstderr: %s", out, err);
	free(out);
	free(err);
	return rc;
}

int
run_capture(char *const argv[], int timeout_ms, char **out, char **err)
{
	int po[2], pe[2];
	if (pipe(po) != 0 || pipe(pe) != 0)
		return -1;
	const int ends[] = {po[0], po[1], pe[0], pe[1]};
	pid_t pid = spawn(argv, po[1], pe[1], ends, 4);
	if (pid < 0)
		return -1;
	close(po[1]);
	close(pe[1]);
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);
	struct buf bo, be;
	buf_init(&bo, 16u << 20);
	buf_init(&be, 16u << 20);
	long long deadline = test_now_ms() + timeout_ms;
	int status = -1, done = 0;
	while (!done) {
		struct pollfd p[2] = {{.fd = po[0], .events = POLLIN},
		                      {.fd = pe[0], .events = POLLIN}};
		long long left = deadline - test_now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			status = -1;
			break;
		}
		poll(p, 2, left > 50 ? 50 : (int)left);
		drain(po[0], &bo);
		drain(pe[0], &be);
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			drain(po[0], &bo);
			drain(pe[0], &be);
			status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			done = 1;
		}
	}
	close(po[0]);
	close(pe[0]);
	if (out)
		*out = buf_take(&bo, NULL);
	else
		buf_release(&bo);
	if (err)
		*err = buf_take(&be, NULL);
	else
		buf_release(&be);
	return status;
}

struct sink {
	struct buf b;
	struct http_response *r;
};

static size_t
sse_body_cb(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	int64_t now = now_us();
	for (size_t i = 0; i + 5 < size * n; i++)
		if (memcmp(p + i, "data:", 5) == 0 && (i == 0 || p[i - 1] == '\n') &&
		    s->r->ntimes < 4096)
			s->r->times[s->r->ntimes++] = now - s->r->t0;
	return buf_add(&s->b, p, size * n) == 0 ? size * n : 0;
}

static size_t
headers_cb(char *p, size_t size, size_t n, void *arg)
{
	return buf_add(arg, p, size * n) == 0 ? size * n : 0;
}

void
http_send(struct http_response *r, const struct http_request *q)
{
	memset(r, 0, sizeof *r);
	struct sink s;
	buf_init(&s.b, 64u << 20);
	s.r = r;
	buf_init(&r->headers, 1u << 20);
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	if (q->body != NULL)
		h = curl_slist_append(h, "content-type: application/json");
	for (size_t i = 0; q->headers != NULL && q->headers[i] != NULL; i++)
		h = curl_slist_append(h, q->headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (q->body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
	if (q->method != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	if (q->accept_encoding != NULL)
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, q->accept_encoding);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, headers_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, q->timeout_ms > 0 ? q->timeout_ms : 10000L);
	r->t0 = now_us();
	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	r->body = buf_take(&s.b, &r->len);
	r->json = json_loads(r->body, 0, NULL);
}

void
http_post_chat(struct http_response *r, const char *base_url, const char *body, long timeout_ms)
{
	char url[512];
	snprintf(url, sizeof url, "%s/chat/completions", base_url);
	http_send(r, &(struct http_request){.url = url, .body = body, .timeout_ms = timeout_ms});
}

const char *
http_header(const struct http_response *r, const char *name, char *out, size_t n)
{
	size_t k = strlen(name);
	for (const char *p = r->headers.data; p != NULL && *p != '\0';) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > k + 1 && strncasecmp(p, name, k) == 0 && p[k] == ':') {
			const char *v = p + k + 1;
			while (*v == ' ')
				v++;
			snprintf(out, n, "%.*s", (int)(len - (size_t)(v - p)), v);
			return out;
		}
		p = eol ? eol + 2 : NULL;
	}
	return NULL;
}

void
http_response_release(struct http_response *r)
{
	free(r->body);
	buf_release(&r->headers);
	json_decref(r->json);
}

char *
chat_request_body(const char *model, const char *user, const char *extra)
{
	json_t *o = json_pack("{s:s, s:[{s:s, s:s}]}", "model", model, "messages", "role", "user",
	                      "content", user);
	if (extra != NULL) {
		json_t *more = json_loads(extra, 0, NULL);
		if (!json_is_object(more)) {
			json_decref(more);
			json_decref(o);
			return NULL;
		}
		json_object_update(o, more);
		json_decref(more);
	}
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

char *
test_chat_body(const char *model, const char *user, const char *extra)
{
	char *s = chat_request_body(model, user, extra);
	cr_assert_not_null(s, "bad extra JSON in the test: %s", extra);
	return s;
}

const char *
json_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

long
json_int(const json_t *o, const char *key)
{
	return (long)json_integer_value(json_object_get(o, key));
}

json_t *
json_find(const json_t *array, const char *key, const char *value)
{
	size_t i;
	json_t *x;
	json_array_foreach(array, i, x)
	{
		const char *v = json_str(x, key);
		if (v != NULL && strcmp(v, value) == 0)
			return x;
	}
	return NULL;
}

int
serve_start(struct child *c, char *const argv[], char *base, size_t n)
{
	if (child_start(c, argv) != 0)
		return -1;
	char line[512];
	if (child_read_line(c, line, sizeof line, 10000) != 0 ||
	    strncmp(line, "serving ", 8) != 0 || strlen(line + 8) >= n) {
		fprintf(stderr, "serve_start: no 'serving URL' line\n");
		child_stop(c, 5000);
		return -1;
	}
	snprintf(base, n, "%s", line + 8);
	return 0;
}

int
test_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	int ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	         getsockname(fd, (struct sockaddr *)&sa, &sl) == 0;
	close(fd);
	return ok ? ntohs(sa.sin_port) : -1;
}

int
test_evhttp_listen(struct evhttp *http)
{
	struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	if (s == NULL)
		return -1;
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	if (getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sa, &sl) != 0)
		return -1;
	return ntohs(sa.sin_port);
}

int
test_tmpdir(char *dir, size_t n, const char *tag)
{
	if ((size_t)snprintf(dir, n, "/tmp/assay-%s-XXXXXX", tag) >= n)
		return -1;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

void
test_tmpdir_file(char *dir, size_t n, const char *tag, char *path, size_t pn, const char *name)
{
	cr_assert_eq(test_tmpdir(dir, n, tag), 0, "cannot make a folder /tmp/assay-%s-*", tag);
	snprintf(path, pn, "%s/%s", dir, name);
}

int
test_rmtree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

int
test_write_file(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int rc = vfprintf(f, fmt, ap);
	va_end(ap);
	return fclose(f) == 0 && rc >= 0 ? 0 : -1;
}

char *
test_which(const char *name)
{
	const char *path = getenv("PATH");
	if (path == NULL)
		return NULL;
	char *copy = xstrdup(path), *save = NULL;
	char *found = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir != NULL && found == NULL;
	     dir = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", dir, name);
		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(copy);
	return found;
}

int
test_npm_ready(const char *dir, char **node, char **why)
{
	*node = test_which("node");
	*why = NULL;
	char *npm = test_which("npm");
	if (*node == NULL || npm == NULL) {
		free(*node);
		free(npm);
		*node = NULL;
		return 1;
	}
	free(npm);
	/* npm ci once per lockfile: node_modules keeps a copy of the lockfile
	 * it was installed from; a lock on package.json keeps tests that run
	 * at once from installing together */
	char *pkg = xasprintf("%s/package.json", dir),
	     *lockfile = xasprintf("%s/package-lock.json", dir);
	char *stamp_path = xasprintf("%s/node_modules/.assay-installed", dir);
	int fd = open(pkg, O_RDONLY);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		*why = xasprintf("cannot open and lock %s", pkg);
		goto fail;
	}
	size_t lock_len = 0, stamp_len = 0;
	char *lock = read_file(lockfile, 1u << 22, &lock_len);
	char *stamp = read_file(stamp_path, 1u << 22, &stamp_len);
	int rc = 0;
	if (lock == NULL || stamp == NULL || stamp_len != lock_len ||
	    memcmp(stamp, lock, lock_len) != 0) {
		char *cmd =
		    xasprintf("cd '%s' && npm ci --no-audit --no-fund --loglevel=error", dir);
		char *install[] = {(char *)"/bin/sh", (char *)"-c", cmd, NULL};
		char *out = NULL, *err = NULL;
		rc = run_capture(install, 300000, &out, &err);
		free(cmd);
		if (rc != 0)
			*why = xasprintf("npm ci in %s failed (%d): %s%s", dir, rc, out ? out : "",
			                 err ? err : "");
		else if (lock != NULL) {
			FILE *f = fopen(stamp_path, "w");
			if (f != NULL) {
				fwrite(lock, 1, lock_len, f);
				fclose(f);
			}
		}
		free(out);
		free(err);
	}
	free(lock);
	free(stamp);
	flock(fd, LOCK_UN);
	close(fd);
	if (rc != 0)
		goto fail;
	free(pkg);
	free(lockfile);
	free(stamp_path);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(pkg);
	free(lockfile);
	free(stamp_path);
	free(*node);
	*node = NULL;
	return -1;
}

char *
test_node(const char *dir, const char *what)
{
	char *node = NULL, *why = NULL;
	int ready = test_npm_ready(dir, &node, &why);
	if (ready == 1)
		cr_skip_test("node and npm are needed %s", what);
	cr_assert_eq(ready, 0, "%s", why);
	return node;
}

int64_t
test_save_run(struct store *s, struct timeline *tl, const struct audit_run *run,
              const struct assessment *a, struct timeline_change *out)
{
	json_t *j = assessment_to_json(a);
	char *findings = json_dumps(json_object_get(j, "findings"), JSON_COMPACT);
	struct timeline_change ch;
	timeline_apply(tl, run, a, findings, &ch);
	struct store_ids ids;
	int64_t id = store_save_run(s, run, a, &ch, NULL, &ids);
	if (id > 0) {
		timeline_stored(tl, &ch, ids.segment_id, ids.incident_ids);
		ch.segment.id = ids.segment_id;
		for (size_t i = 0; i < ch.n_incidents; i++)
			ch.incidents[i].id = ids.incident_ids[i];
	}
	if (out != NULL)
		*out = ch;
	free(findings);
	json_decref(j);
	return id;
}

void
test_run_init(struct test_run *t, const char *relay, const char *model, int64_t at_ms)
{
	static const struct probe_def ping = {.id = (char *)"ping", .samples = 1};
	memset(t, 0, sizeof *t);
	observation_init(&t->obs);
	t->obs.started_ms = at_ms;
	t->item.probe = &ping;
	t->item.obs = &t->obs;
	t->run.target.relay = (char *)relay;
	t->run.target.model = (char *)model;
	t->run.started_ms = at_ms;
	t->run.finished_ms = at_ms + 10;
	t->run.items = &t->item;
	t->run.n_items = 1;
}

void
test_run_release(struct test_run *t)
{
	observation_release(&t->obs);
}

struct audit_run *
test_run_alloc(const struct audit_target *target, size_t n)
{
	struct audit_run *run = xcalloc(1, sizeof *run);
	audit_target_copy(&run->target, target);
	run->items = xcalloc(n > 0 ? n : 1, sizeof *run->items);
	return run;
}

struct audit_item *
test_run_add(struct audit_run *run, const struct probe_def *p)
{
	struct audit_item *it = &run->items[run->n_items++];
	run->n_done = run->n_items;
	it->probe = p;
	it->obs = xmalloc(sizeof *it->obs);
	observation_init(it->obs);
	it->obs->http_status = 200;
	return it;
}

void
test_scoring_load(struct catalog **cat, struct baseline_pack **pack)
{
	char err[256];
	*cat = scorer_catalog_default(err, sizeof err);
	cr_assert_not_null(*cat, "the scorer's catalog: %s", err);
	*pack = baseline_load_default(err, sizeof err);
	cr_assert_not_null(*pack, "the baseline pack: %s", err);
}

static struct timeline *shared_timeline;

static void
shared_timeline_free(void)
{
	timeline_free(shared_timeline);
	shared_timeline = NULL;
}

struct timeline *
test_timeline(void)
{
	if (shared_timeline == NULL) {
		shared_timeline = timeline_new();
		atexit(shared_timeline_free);
	}
	return shared_timeline;
}

const struct finding *
test_finding(const struct assessment *a, const char *class)
{
	for (size_t i = 0; i < a->n_findings; i++)
		if (strcmp(a->findings[i].class, class) == 0)
			return &a->findings[i];
	return NULL;
}

const struct finding *
test_must_find(const struct assessment *a, const char *class)
{
	const struct finding *f = test_finding(a, class);
	cr_assert_not_null(f, "no %s finding (verdict %s: %s)", class, verdict_name(a->verdict),
	                   a->reason ? a->reason : "");
	return f;
}

struct tokenizer *
test_tokenizer(const char *name)
{
	char err[256];
	struct tokenizer *t = tokenizer_open(name, err, sizeof err);
	cr_assert_not_null(t, "tokenizer_open(%s): %s", name, err);
	return t;
}

int
test_vocab_missing(const char *name)
{
	if (!tokenizer_optional(name))
		return 0;
	char err[256];
	struct tokenizer *t = tokenizer_open(name, err, sizeof err);
	if (t == NULL)
		return strstr(err, "cannot find vocabulary") != NULL;
	tokenizer_free(t);
	return 0;
}

long
test_count_text(const char *tokenizer, const char *text)
{
	struct tokenizer *t = test_tokenizer(tokenizer);
	long n = tokenizer_count(t, text, strlen(text));
	tokenizer_free(t);
	return n;
}

long
test_count_prompt(const char *tokenizer, const char *family, const char *user)
{
	struct tokenizer *t = test_tokenizer(tokenizer);
	struct chat_message m = {"user", user, NULL};
	long n = chat_prompt_tokens(t, family, &m, 1);
	tokenizer_free(t);
	return n;
}

struct probe_call
test_call(const char *model, const struct probe_message *m, size_t n, long max_tokens)
{
	return (struct probe_call){.model = model,
	                           .messages = m,
	                           .n_messages = n,
	                           .max_tokens = max_tokens,
	                           .temperature = 0,
	                           .seed = -1};
}

struct one_request {
	struct event_base *base;
	struct observation *obs;
	int timed_out;
};

static void
one_done_cb(struct observation *obs, void *arg)
{
	struct one_request *o = arg;
	o->obs = obs;
	event_base_loopbreak(o->base);
}

static void
one_bound_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct one_request *o = arg;
	o->timed_out = 1;
	event_base_loopbreak(o->base);
}

struct observation *
test_engine_one(struct event_base *base, struct engine *e, const struct engine_request *req,
                int bound_s)
{
	/* a timer of its own rather than event_base_loopexit(), which would
	 * stay armed and end the caller's next loop early */
	struct one_request o = {.base = base};
	struct event *bound = evtimer_new(base, one_bound_cb, &o);
	struct timeval tv = {bound_s, 0};
	evtimer_add(bound, &tv);
	engine_submit(e, req, one_done_cb, &o);
	while (o.obs == NULL && !o.timed_out)
		event_base_loop(base, 0);
	event_free(bound);
	return o.obs;
}

struct config *
test_config_text(const char *tag, const char *text, char *err, size_t errlen)
{
	char dir[256], path[300];
	err[0] = '\0';
	if (test_tmpdir(dir, sizeof dir, tag) != 0) {
		snprintf(err, errlen, "cannot write a temporary directory");
		return NULL;
	}
	snprintf(path, sizeof path, "%s/assay.yaml", dir);
	struct config *c = NULL;
	if (test_write_file(path, "%s", text) != 0)
		snprintf(err, errlen, "cannot write %s", path);
	else
		c = config_load(path, err, errlen);
	test_rmtree(dir);
	return c;
}

json_t *
test_board_entry(const char *base, const char *relay)
{
	char url[400];
	snprintf(url, sizeof url, "%sapi/v1/relays", base);
	json_t *root = http_get_json(url);
	json_t *e = root ? json_find(json_object_get(root, "relays"), "relay", relay) : NULL;
	json_incref(e);
	json_decref(root);
	return e;
}

long
test_board_runs(const char *base, const char *relay)
{
	json_t *e = test_board_entry(base, relay);
	long n = e ? (long)json_integer_value(json_object_get(e, "runs")) : -1;
	json_decref(e);
	return n;
}

long
test_wait_board_runs(const char *base, const char *relay, long n, int ms)
{
	int64_t until = now_us() + ms * 1000LL;
	long got;
	while ((got = test_board_runs(base, relay)) < n && now_us() < until)
		usleep(100000);
	return got;
}

/* ---- a loopback receiver of webhook alerts ---- */

static void
test_hook_cb(struct evhttp_request *req, void *arg)
{
	struct test_hook *r = arg;
	int64_t arrived = wall_ms();
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *body = xcalloc(1, len + 1);
	evbuffer_copyout(in, body, len);
	const char *hdr =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "X-Assay-Event");
	json_t *j = json_loads(body, 0, NULL);
	pthread_mutex_lock(&r->mu);
	const char *event = json_str(j, "event"), *relay = json_str(j, "relay");
	json_t *at = json_object_get(j, "at_ms");
	if (j == NULL || event == NULL || relay == NULL || !json_is_integer(at) || hdr == NULL ||
	    strcmp(hdr, event) != 0) {
		r->malformed++;
	} else if (r->n < TEST_HOOK_MAX) {
		struct test_hook_got *g = &r->got[r->n++];
		snprintf(g->event, sizeof g->event, "%s", event);
		snprintf(g->relay, sizeof g->relay, "%s", relay);
		g->quorum = json_is_true(json_object_get(j, "quorum"));
		g->pooled = json_is_true(json_object_get(j, "pooled"));
		const char *to = json_string_value(json_object_get(j, "to"));
		snprintf(g->to, sizeof g->to, "%s", to ? to : "");
		const char *text = json_string_value(json_object_get(j, "text"));
		snprintf(g->text, sizeof g->text, "%s", text ? text : "");
		g->at_ms = (int64_t)json_integer_value(at);
		g->arrived_ms = arrived;
	}
	pthread_mutex_unlock(&r->mu);
	json_decref(j);
	free(body);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void *
test_hook_run(void *arg)
{
	struct test_hook *r = arg;
	event_base_dispatch(r->base);
	return NULL;
}

void
test_hook_start(struct test_hook *r)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
	evthread_use_pthreads(); /* loopbreak comes from the test's thread */
	r->base = event_base_new();
	r->http = evhttp_new(r->base);
	evhttp_set_gencb(r->http, test_hook_cb, r);
	r->port = test_evhttp_listen(r->http);
	cr_assert_gt(r->port, 0);
	r->keep = event_new(r->base, -1, EV_PERSIST, NULL, NULL); /* the loop stays */
	struct timeval day = {86400, 0};
	event_add(r->keep, &day);
	cr_assert_eq(pthread_create(&r->thread, NULL, test_hook_run, r), 0);
}

void
test_hook_stop(struct test_hook *r)
{
	event_base_loopbreak(r->base);
	pthread_join(r->thread, NULL);
	event_free(r->keep);
	evhttp_free(r->http);
	event_base_free(r->base);
	pthread_mutex_destroy(&r->mu);
}

int
test_hook_received(struct test_hook *r, const char *relay, const char *event)
{
	int n = 0;
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < r->n; i++)
		n += strcmp(r->got[i].relay, relay) == 0 &&
		     (event == NULL || strcmp(r->got[i].event, event) == 0);
	pthread_mutex_unlock(&r->mu);
	return n;
}
