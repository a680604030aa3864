/*
 * classes: the one table of finding classes. Every layer that names a class
 * (the catalog's `informs`, detectors, the verdict rule, the ledger, the
 * pages) reads it from here; a new class is one enum value and one row.
 *
 * Names are stable: they go to JSON, the database and tests (DESIGN.md).
 */
#ifndef ASSAY_CLASSES_H
#define ASSAY_CLASSES_H

enum finding_class {
	CLASS_SUBSTITUTION,
	CLASS_CONTEXT_TRUNCATION,
	CLASS_OUTPUT_CAP,
	CLASS_PROMPT_INJECTION,
	CLASS_USAGE_INFLATION,
	CLASS_PARAM_IGNORED,
	CLASS_STREAM_BUFFERED,
	CLASS_CACHED_RESPONSE,
	CLASS_RATE_LIMITED,
	CLASS_UNAVAILABLE,
	CLASS_DEGRADED_LATENCY,
	CLASS_CREDENTIAL_HARVESTING, /* appended: the ledger stores classes as bits */
	CLASS_TOOL_TAMPERING,
	CLASS_RESPONSE_TAMPERING,
	CLASS_KEY_SHARED, /* facts, not cheats: scoring/detectors/keyshare.c */
	CLASS_KEY_POOL,
	CLASS_CHANNEL_MISREPRESENTED, /* serves through another backend than claimed */
	CLASS_CAPABILITY_STRIPPED,    /* appended (issue 17): images, documents */
	CLASS__COUNT
};

struct class_info {
	const char *name;  /* stable name */
	int cheat;         /* a way to cheat (else availability or speed) */
	double budget;     /* false-positive budget of one audit for `misbehaving`
	                    * (cheats; 0 for the others: they accuse nobody) */
	const char *label; /* a few words for tables and badges */
	const char *what;  /* what the relay does, one sentence for the pages */
};

/* The row of a class; c must be a valid class. */
const struct class_info *class_info(enum finding_class c);
/* The class of a stable name, or -1. */
int class_from_name(const char *name);
/* The stable name (shorthand for class_info(c)->name); "unknown" if c is not
 * a class. */
const char *class_name(enum finding_class c);
/* How many classes are cheats. */
int class_cheat_count(void);

#endif
