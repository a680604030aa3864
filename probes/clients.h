/*
 * clients: what real API clients put on the wire besides the prompt, so an
 * audit's requests read as one client's traffic and not as Assay's.
 *
 * A profile is one client (an official SDK, a coding agent, a chat app):
 * its User-Agent, its other headers in the order it sends them, and the
 * system prompt it adds, if any. One profile is chosen per run
 * (client_pick, seeded so tests can pin it) and every request of the run
 * wears it. Profiles are static data: no header of theirs carries a secret,
 * and none names a header Assay owns (the key's, Host, Content-Type,
 * Content-Length): tests/test_clients.c holds them to that.
 *
 * client_render() turns one probe sample into the messages the request
 * sends: the probe's templates rendered with the nonce, after the
 * profile's system prompt when the probe brings none.
 */
#ifndef ASSAY_CLIENTS_H
#define ASSAY_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "probes/adapter.h"
#include "probes/catalog.h"

#define CLIENT_HEADERS_MAX 16

struct client_profile {
	const char *name;       /* "openai-node", "claude-code", ... */
	unsigned apis;          /* bit (1u << api_kind) for each API it speaks */
	const char *user_agent; /* exactly as the client sends it */
	/* "Name: value" lines in the client's order, NULL-terminated; Accept
	 * and the stream's Accept are part of them (SDKs send
	 * application/json for streams too) */
	const char *const *headers;
	/* the system prompt the client adds to every conversation, NULL: none
	 * (an SDK adds none; the app using it may: see the probes' own) */
	const char *system;
};

/* All profiles, in a fixed order; *n gets how many. */
const struct client_profile *client_profiles(size_t *n);
/* The profile named name, or NULL. */
const struct client_profile *client_find(const char *name);
/* A profile that speaks api, chosen by seed (the same seed, the same
 * profile). Never NULL: every API has profiles. */
const struct client_profile *client_pick(enum api_kind api, uint64_t seed);

/* The most messages client_render() writes for p. */
#define CLIENT_RENDER_MAX(p) ((p)->n_messages + 1)
/*
 * Render sample s of p as client cl (NULL: no client, the probe alone):
 * out[] gets at most CLIENT_RENDER_MAX(p) messages, their contents fresh
 * (the caller frees them), the roles p's (static for the system prompt).
 * nonce is from probe_nonce(). Returns how many messages were written.
 */
size_t client_render(const struct client_profile *cl, const struct probe_def *p, const char *nonce,
                     struct probe_message *out);

#endif
