#!/bin/sh
# bench/store.sh: the shared store at scale (bench/store_scale.c): 10,000
# relay-models from 5 regions' agents on PostgreSQL (a private cluster),
# one region on SQLite; writes, the hub's fold, retention, and the day's
# size extrapolated. STORE_SCALE_MINUTES (default 1) simulated minutes are
# written; each is 50,000 runs on PostgreSQL. Then the steady state under
# the default retention, measured at STORE_SCALE_STEADY (default 10)
# relay-models and scaled to 10,000 by arithmetic, and the ledger's fold of
# STORE_SCALE_LEDGER_DAYS (default 3; 365 for a measured year) of one
# relay-model's runs from 5 regions.
build=${1:-build}
minutes=${STORE_SCALE_MINUTES:-1}
exec "$build/bench/store-scale" --targets 10000 --regions 5 --minutes "$minutes" --engine both \
  --steady "${STORE_SCALE_STEADY:-10}" --ledger-days "${STORE_SCALE_LEDGER_DAYS:-3}"
