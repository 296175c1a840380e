#!/usr/bin/env bash
# Runs every test: bootstraps the machine, then
#   1. the API client's and the mock server's tests (cargo test),
#   2. the extension's own Rust tests (cargo pgrx test, in a real Postgres),
#   3. the SQL regression suite: the installed extension in a scratch PostgreSQL cluster against
#      the mock API over HTTP (pg_regress, tests/sql -> tests/expected).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
source scripts/lib.sh

WORK="${TEST_DIR:-/tmp/alicloud_fdw_test}"
PORT="${TEST_PGPORT:-54392}"
mkdir -p "$WORK"

log "1/3 client and mock API tests"
cargo test -p alicloud-api -p alicloud-mock-api

log "2/3 extension tests (cargo pgrx test)"
as_root rm -rf "$WORK/pgrx-data"
cargo pgrx test pg15 --runas postgres --pgdata "$WORK/pgrx-data"

log "3/3 SQL regression tests"
install_extension
build_mock
cleanup() { stop_cluster "$WORK/pg"; stop_mock; }
trap cleanup EXIT
start_mock "$WORK/mock"
START_CLUSTER_OPTS="-c log_min_error_statement=panic" start_cluster "$WORK/pg" "$PORT"

# The tests read the mock's address and the default key from the environment (\getenv), so
# neither is written in the SQL and the echoed SQL holds no secret.
export MOCK_KEY_ID=LTAI5tMockAccessKey0001 MOCK_KEY_SECRET=MockSecret0123456789abcdefABCDEF
export PGDATABASE=alicloud_fdw_regress
PG_REGRESS="/usr/lib/postgresql/${PG_MAJOR}/lib/pgxs/src/test/regress/pg_regress"
rm -rf "$WORK/regress" && mkdir -p "$WORK/regress" && as_root chmod 777 "$WORK/regress"
status=0
"$PG_REGRESS" --host="$PGHOST" --port="$PGPORT" --user=postgres \
  --bindir="$PG_BIN" --inputdir=tests --outputdir="$WORK/regress" \
  --dbname=alicloud_fdw_regress --schedule=tests/schedule || status=$?
if [ "$status" -ne 0 ]; then
  log "SQL regression tests failed; differences:"
  cat "$WORK/regress/regression.diffs" >&2 || true
  exit "$status"
fi
# No secret may appear in what the extension says: messages, result rows, \! output, and the
# server log. The SQL the tests echo does hold the wrong secrets they set on purpose, so every output
# line that is verbatim a line of the test's own SQL file is left out; the cluster runs with
# log_min_error_statement=panic so the server log holds no statement text.
secrets="$MOCK_KEY_SECRET|MockSecretNoPermission|wrong-secret-0123456789|not-a-real-secret|do-not-store-me"
leaks=$( { for out in "$WORK"/regress/results/*.out; do
             grep -vxF -f "tests/sql/$(basename "$out" .out).sql" "$out"
           done
           as_root cat "$WORK/pg/data/server.log"; } | grep -E "$secrets" || true)
if [ -n "$leaks" ]; then
  log "a secret appears in the extension's output:"
  printf '%s\n' "$leaks" >&2
  exit 1
fi
count=$(grep -c '^test: ' tests/schedule)
log "all tests passed"
echo "regression: ${count} passed, 0 failed"
