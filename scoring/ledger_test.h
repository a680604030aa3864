/*
 * ledger_test: what tests look at inside a ledger (scoring/ledger.h). The
 * product never includes this header.
 */
#ifndef ASSAY_LEDGER_TEST_H
#define ASSAY_LEDGER_TEST_H

#include "scoring/ledger.h"

/* Runs held for relay/model. */
long ledger_runs(const struct ledger *l, const char *relay, const char *model);

#endif
