#!/usr/bin/env bash
# Runs every test: bootstraps the machine, then
#   1. rustfmt and clippy (warnings are errors) over every crate,
#   2. the API client's, the table layer's, the front ends' and the mock server's tests (cargo test;
#      the property tests with 256 cases each),
#   3. the extension's own Rust tests (cargo pgrx test, in a real Postgres),
#   4. the SQL regression suite: the installed extension in a scratch PostgreSQL cluster against
#      the mock API over HTTP (pg_regress, tests/sql -> tests/expected), then pgbench with
#      server-side prepared statements, then three client drivers over TCP (tests/clients: psycopg
#      3, pgJDBC, node-postgres), then checks of the server log (no crash) and of every output (no
#      secret),
#      and the SQLite extension's and the export CLI's tests against the same mock
#      (tests/frontends/*.sh), compared with what PostgreSQL returns,
#   5. the installable package (scripts/package.sh) installed without cargo into a fresh cluster,
#      where the seed's queries run,
#   6. the docs check: no sentence of ours copied from the seed documents.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
source scripts/lib.sh

WORK="${TEST_DIR:-/tmp/alicloud_fdw_test}"
PORT="${TEST_PGPORT:-54392}"
mkdir -p "$WORK"

log "1/6 rustfmt and clippy"
cargo fmt --all -- --check
if [ "$PG_MAJOR" = 15 ]; then
  cargo clippy --workspace --all-targets -- -D warnings
else
  # The extension builds for one major at a time: its feature replaces the default pg15.
  cargo clippy --workspace --exclude alicloud_fdw --all-targets -- -D warnings
  cargo clippy -p alicloud_fdw --all-targets --no-default-features --features "pg${PG_MAJOR}" \
    -- -D warnings
fi

log "2/6 client, table layer, front ends' and mock API tests"
# The property tests try this many random cases each (scripts/fuzz.sh runs them for longer).
export PROPTEST_CASES="${PROPTEST_CASES:-256}"
cargo test -p alicloud-api -p alicloud-tables -p alicloud-mock-api -p alicloud-sqlite -p alicloud-export

log "3/6 extension tests (cargo pgrx test)"
# A data directory the postgres user owns, for the cluster pgrx makes for its #[pg_test]s.
as_root rm -rf "$WORK/pgrx-data"
as_root mkdir -p "$WORK/pgrx-data"
as_root chown postgres:postgres "$WORK/pgrx-data"
cargo pgrx test "pg${PG_MAJOR}" --runas postgres --pgdata "$WORK/pgrx-data"

log "4/6 SQL regression tests"
install_extension
build_mock
cleanup() {
  stop_cluster "$WORK/pg"; stop_cluster "$WORK/pg-ambient"; stop_cluster "$WORK/pg-package"; stop_mock
}
trap cleanup EXIT
start_mock "$WORK/mock"
# The database server's own home, where tests/sql/security.sql writes a CLI profile file (the
# "server's own credentials"). Fixed, so that the messages that name it are stable.
export SERVER_HOME=/tmp/alicloud_fdw_server_home
as_root rm -rf "$SERVER_HOME"
as_root mkdir -p "$SERVER_HOME/.aliyun"
as_root chown -R postgres:postgres "$SERVER_HOME"
# pg_cron runs the scheduled compliance job of tests/sql/cron.sql in this database, in background
# workers; the client drivers of tests/clients connect over TCP, on 127.0.0.1 only.
START_CLUSTER_ENV="HOME=$SERVER_HOME" START_CLUSTER_OPTS="-c log_min_error_statement=panic \
  -c shared_preload_libraries=pg_cron -c cron.database_name=alicloud_fdw_regress \
  -c cron.use_background_workers=on -c listen_addresses=127.0.0.1" \
  start_cluster "$WORK/pg" "$PORT"

# The tests read the mock's address and the default key (MOCK_KEY_ID, MOCK_KEY_SECRET, set by
# build_mock) from the environment (\getenv), so neither is written in the SQL and the echoed SQL
# holds no secret; `\! mock-admin ...` drives the mock's admin endpoint. Shell commands of the tests
# that look into the data directory (owned by the postgres OS user) run with $AS_ROOT.
export PGDATABASE=alicloud_fdw_regress
export PATH="$REPO_ROOT/scripts:$PATH"
if [ "$(id -u)" -eq 0 ]; then export AS_ROOT=""; else export AS_ROOT="sudo -n"; fi
PG_REGRESS="/usr/lib/postgresql/${PG_MAJOR}/lib/pgxs/src/test/regress/pg_regress"
# regress SCHEDULE OUTPUT_DIR: one pg_regress run against the cluster PGHOST/PGPORT point at.
regress() {
  rm -rf "$2" && mkdir -p "$2" && as_root chmod 777 "$2"
  local status=0
  "$PG_REGRESS" --host="$PGHOST" --port="$PGPORT" --user=postgres \
    --bindir="$PG_BIN" --inputdir=tests --outputdir="$2" \
    --dbname=alicloud_fdw_regress --schedule="$1" || status=$?
  if [ "$status" -ne 0 ]; then
    log "SQL regression tests failed; differences:"
    cat "$2/regression.diffs" >&2 || true
    exit "$status"
  fi
}
regress tests/schedule "$WORK/regress"

# Server-side prepared statements from several clients at once, as drivers (pgJDBC, ...) make
# them: every execution after the first reuses a cached plan.
log "pgbench -M prepared: 4 clients, 5 seconds"
cat > "$WORK/pgbench.sql" <<'SQL'
\set r random(1, 4)
SELECT count(*) FROM alicloud_action_trail
 WHERE region = (ARRAY['cn-hangzhou','cn-shanghai','cn-beijing','cn-shenzhen'])[:r];
SELECT name FROM alicloud_action_trail WHERE name = 'test-4' AND region = 'cn-beijing';
SQL
"$PG_BIN/pgbench" -n -M prepared -c 4 -j 2 -T 5 -f "$WORK/pgbench.sql" alicloud_fdw_regress \
  > "$WORK/pgbench.out" 2>&1 || { cat "$WORK/pgbench.out" >&2; exit 1; }
grep -E "^number of (transactions actually processed|failed transactions)" "$WORK/pgbench.out" >&2
if ! grep -q "^number of failed transactions: 0 " "$WORK/pgbench.out"; then
  log "pgbench had failed transactions"; cat "$WORK/pgbench.out" >&2; exit 1
fi

# What BI tools and scripts do, in three client drivers over TCP with a password: introspection,
# a control through a server-side prepared statement (pushdown proven by the mock's call log),
# typed values, the error of a bad credential.
log "client drivers: psycopg 3, pgJDBC, node-postgres (tests/clients)"
bash tests/clients/run.sh "$WORK/clients"

# The database server's ambient credentials: a second cluster whose environment holds the keys of
# the mock's second account (tests/sql/ambient_credentials.sql).
log "SQL tests of the database server's ambient credentials (a second cluster)"
AMBIENT_HOME=/tmp/alicloud_fdw_ambient_home
as_root rm -rf "$AMBIENT_HOME" && as_root mkdir -p "$AMBIENT_HOME"
as_root chown postgres:postgres "$AMBIENT_HOME"
main_host=$PGHOST main_port=$PGPORT
START_CLUSTER_ENV="HOME=$AMBIENT_HOME ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI5tMockAccessKey0002 ALIBABA_CLOUD_ACCESS_KEY_SECRET=MockSecret2ndAccount0123456789ab" \
  START_CLUSTER_OPTS="-c log_min_error_statement=panic" start_cluster "$WORK/pg-ambient" "$((PORT + 1))"
regress tests/schedule-ambient "$WORK/regress-ambient"
stop_cluster "$WORK/pg-ambient"
export PGHOST=$main_host PGPORT=$main_port

# No backend may have crashed in any of the above.
crashes=$(as_root grep -hE "terminated by signal|server process .* was terminated" \
  "$WORK/pg/data/server.log" "$WORK/pg-ambient/data/server.log" || true)
if [ -n "$crashes" ]; then
  log "a backend crashed:"; printf '%s\n' "$crashes" >&2; exit 1
fi

# No secret may appear in what the extension says: messages, result rows, \! output, and the
# server log. The SQL the tests echo does hold the secrets they set on purpose, so every output
# line that is verbatim a line of the test's own SQL file is left out; the clusters run with
# log_min_error_statement=panic so the server logs hold no statement text.
secrets="$MOCK_KEY_SECRET|MockSecretNoPermission|MockSecret2ndAccount|wrong-secret-0123456789|not-a-real-secret|do-not-store-me|hunter2-secret|not-the-secret-0123456789"
leaks=$( { for out in "$WORK"/regress/results/*.out "$WORK"/regress-ambient/results/*.out; do
             grep -vxF -f "tests/sql/$(basename "$out" .out).sql" "$out"
           done
           cat "$WORK"/clients/*.out "$WORK"/clients/*.err
           as_root cat "$WORK/pg/data/server.log" "$WORK/pg-ambient/data/server.log"; } \
         | grep -E "$secrets" || true)
if [ -n "$leaks" ]; then
  log "a secret appears in the extension's output:"
  printf '%s\n' "$leaks" >&2
  exit 1
fi
count=$(cat tests/schedule tests/schedule-ambient | grep -c '^test: ')
echo "regression: ${count} passed, 0 failed; pgbench -M prepared: no crash, no failed transaction"

# The other front ends against the same mock, compared with what PostgreSQL returns (the cluster,
# the mock, MOCK_URL and PG* are still set up).
log "front ends: the SQLite extension and the export CLI"
cargo build --release -p alicloud-sqlite -p alicloud-export
for t in tests/frontends/*.sh; do
  [ -e "$t" ] || continue
  log "  $t"
  bash "$t"
done

# The installable package (scripts/package.sh): what cargo pgrx install put in place goes, the
# tarball is extracted at / as docs/install.md says, and the seed's queries run in a fresh cluster.
log "5/6 the installable package, installed without cargo"
pkg="$(bash scripts/package.sh)"
as_root rm -f "$("$PG_CONFIG" --pkglibdir)/alicloud_fdw.so" \
  "$("$PG_CONFIG" --sharedir)"/extension/alicloud_fdw.control \
  "$("$PG_CONFIG" --sharedir)"/extension/alicloud_fdw--*.sql
as_root tar -xzf "$pkg" -C /
START_CLUSTER_OPTS="-c log_min_error_statement=panic" start_cluster "$WORK/pg-package" "$((PORT + 2))"
regress tests/schedule-package "$WORK/regress-package"
stop_cluster "$WORK/pg-package"
echo "package: $pkg installed; the seed's queries ran from it"

log "6/6 docs in our own words"
python3 scripts/check_copied_sentences.py
log "all tests passed"
