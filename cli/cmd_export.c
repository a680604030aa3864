/*
 * cmd_export: `assay export DIR`: the site as static files, for any static
 * host or CDN.
 *
 * Reads the database (read-only) named by --db, or by the config given with
 * -c (whose relays are shown even before their first run), loads the board
 * the same way `assay serve` does (a hub's: with its agents' last day by
 * region), and writes every canonical path of the
 * site (web/site.h) under DIR: the same bytes the live server sends. Files
 * are written to a temporary name and renamed, so a host serving DIR never
 * sees half a file.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/options.h"
#include "base/util.h"
#include "scoring/baseline.h"
#include "storage/store.h"
#include "web/board.h"
#include "web/regions.h"
#include "cli/hub.h"
#include "scoring/region_ledger.h"
#include "web/site.h"

static void
usage(FILE *f)
{
	fputs("usage: assay export DIR (-c FILE | --db PATH) [--gzip]\n"
	      "\n"
	      "Write the status page, leaderboard, relay pages, JSON and badges of the\n"
	      "database as static files under DIR (created if missing), ready for any\n"
	      "static host. The database is opened read-only. --gzip also writes FILE.gz\n"
	      "beside each larger document (for nginx's gzip_static and similar).\n",
	      f);
}

/* The hub's agents' runs of the last day, newest first, onto the board's
 * per-region columns (as a hub shows them; nothing on a store without
 * agents). */
struct back_ctx {
	struct board *board;
	int64_t upto;
	long read;
};

static void
agent_run_cb(const struct store_agent_run *r, void *arg)
{
	struct back_ctx *c = arg;
	struct board_region_run run = {
	    .region = r->region,
	    .relay = r->relay,
	    .model = r->model,
	    .verdict = r->verdict,
	    .error_class = r->error_class,
	    .at_ms = r->finished_ms,
	    .requests = r->requests,
	    .ok_requests = r->ok_requests,
	    .ttft_ms = r->ttft_ms,
	};
	board_region_run(c->board, &run);
	c->upto = r->id - 1;
	c->read++;
}

static int
load_regions(struct board *board, struct store *store, char *err, size_t n)
{
	struct back_ctx c = {.board = board, .upto = INT64_MAX};
	int64_t since = wall_ms() - REGION_HOURS * 3600000LL;
	do {
		c.read = 0;
		if (store_each_agent_run_back(store, c.upto, since, 5000, agent_run_cb, &c) != 0) {
			snprintf(err, n, "cannot read the agents' runs: %s",
			         store_last_error(store));
			return -1;
		}
	} while (c.read == 5000);
	return 0;
}

/* The hub's ledger over its agents' evidence, as it kept it (hub_ledger),
 * onto the board as the hub shows it (scoring/region_ledger.h; nothing on
 * a store without agents). */
struct ledger_ctx {
	struct board *board;
	struct region_ledger *ledger;
};

static void
hub_ledger_cb(const struct store_hub_ledger_row *row, void *arg)
{
	struct ledger_ctx *c = arg;
	if (region_ledger_restore(c->ledger, row->relay, row->model, row->state) != 0)
		return; /* said by the hub; a copy shows none */
	json_t *view = region_ledger_view(c->ledger, row->relay, row->model, wall_ms());
	json_t *findings = region_ledger_findings(c->ledger, row->relay, row->model);
	board_agents_ledger(
	    c->board, row->relay, row->model,
	    verdict_name((enum verdict)region_ledger_level(c->ledger, row->relay, row->model)),
	    view, findings);
	json_decref(view);
	json_decref(findings);
}

static int
load_ledgers(struct board *board, struct store *store, int64_t epoch_ms, char *err, size_t n)
{
	struct ledger_ctx c = {
	    board, region_ledger_new(epoch_ms > 0 ? epoch_ms : 300000, 0, HUB_BUDGET_SHARE)};
	int64_t cursor;
	int rc = store_each_hub_ledger(store, &cursor, hub_ledger_cb, &c);
	if (rc != 0)
		snprintf(err, n, "cannot read the hub's ledger: %s", store_last_error(store));
	region_ledger_free(c.ledger);
	return rc;
}

/* mkdir -p of the directories in path (not its last component). */
static int
make_parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

static int
write_file(const char *path, const char *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	int rc = -1;
	if (f == NULL)
		goto out;
	if (fwrite(data, 1, len, f) != len) {
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

struct export_ctx {
	struct board *board;
	const char *dir;
	int gzip;
	long files;
	long long bytes;
	int failed;
};

static void
export_cb(const char *path, void *arg)
{
	struct export_ctx *x = arg;
	if (x->failed)
		return;
	struct site_response r;
	site_get(x->board, path, NULL, &r);
	if (r.status != SITE_OK) {
		fprintf(stderr, "assay export: internal: no document for '%s'\n", path);
		x->failed = 1;
		return;
	}
	char *file = xasprintf("%s%s", x->dir, path);
	if (make_parents(file) != 0 || write_file(file, r.blob->data, r.blob->len) != 0) {
		fprintf(stderr, "assay export: cannot write '%s': %s\n", file, strerror(errno));
		x->failed = 1;
	} else {
		x->files++;
		x->bytes += (long long)r.blob->len;
	}
	if (!x->failed && x->gzip && r.blob->gz != NULL) {
		char *gz = xasprintf("%s.gz", file);
		if (write_file(gz, r.blob->gz, r.blob->gz_len) != 0) {
			fprintf(stderr, "assay export: cannot write '%s': %s\n", gz,
			        strerror(errno));
			x->failed = 1;
		}
		free(gz);
	}
	free(file);
	board_put(r.blob);
}

int
cmd_export(int argc, char **argv)
{
	const char *config_path = NULL, *db = NULL;
	int gzip = 0, first;
	const struct cli_option opts[] = {
	    {"config", 'c', &config_path, NULL},
	    {"db", 0, &db, NULL},
	    {"gzip", 0, NULL, &gzip},
	    {NULL, 0, NULL, NULL},
	};
	int status = cli_parse_options("export", argc, argv, opts, usage, &first);
	if (status >= 0)
		return status;
	if (first + 1 != argc) {
		fputs("assay export: exactly one DIR is required (see assay export --help)\n",
		      stderr);
		return 2;
	}
	if (config_path == NULL && db == NULL) {
		fputs("assay export: -c FILE or --db PATH is required\n", stderr);
		return 2;
	}
	const char *dir = argv[first];
	char err[1024];
	status = 2;
	struct config *config = NULL;
	struct store *store = NULL;
	struct board *board = NULL;
	if (config_path != NULL) {
		config = config_load(config_path, err, sizeof err);
		if (config == NULL)
			goto fail;
	}
	struct store_options so = {.readonly = 1,
	                           .password_env = config ? config->database_password_env : NULL};
	/* database_read is a replica of the config's database, not of --db's */
	if (config != NULL && (db == NULL || strcmp(db, config->database) == 0)) {
		so.read_address = config->database_read;
		so.read_password_env = config->database_read_password_env;
	}
	store = store_open_with(db ? db : config->database, &so, err, sizeof err);
	if (store == NULL)
		goto fail;
	board = board_new(config ? config->title : NULL);
	board_set_static(board); /* files: absolute times, not "3 min ago" */
	for (size_t i = 0; config && i < config->n_relays; i++) {
		const struct config_relay *r = &config->relays[i];
		for (size_t m = 0; r->error == NULL && m < r->n_models; m++)
			board_declare(board, r->name, r->models[m], api_name(r->api),
			              r->interval_us / 1000);
	}
	if (board_load(board, store, err, sizeof err) != 0 ||
	    load_regions(board, store, err, sizeof err) != 0 ||
	    load_ledgers(board, store, config ? config->interval_us / 1000 : 0, err, sizeof err) !=
	        0)
		goto fail;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, sizeof err, "cannot create '%s': %s", dir, strerror(errno));
		goto fail;
	}
	struct export_ctx x = {.board = board, .dir = dir, .gzip = gzip};
	site_each_path(board, export_cb, &x);
	if (x.failed) {
		status = 1;
		goto out;
	}
	printf("exported %ld files (%lld bytes) to %s\n", x.files, x.bytes, dir);
	status = 0;
	goto out;
fail:
	fprintf(stderr, "assay export: %s\n", err);
out:
	board_free(board);
	store_close(store);
	config_free(config);
	return status;
}
