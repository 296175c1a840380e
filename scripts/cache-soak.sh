#!/usr/bin/env bash
# A soak of the shared cache under a small limit. For SOAK_MINUTES (default 10), 4 sessions run
# queries whose name filter is random, so every query misses the cache, claims its 28 regions'
# answers, fetches and stores them, against a server with cache_max_mb '1' and regions '*' (the mock's 28;
# it answers after 20 ms). Prints, each minute, the queries' throughput and mean time (pgbench), and
# the files and bytes in the server's cache directory: both must stay flat. Asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
source scripts/lib.sh
WORK="${SOAK_DIR:-/tmp/alicloud_fdw_soak}"
PORT="${SOAK_PGPORT:-54395}"
MINUTES="${SOAK_MINUTES:-10}"

install_extension
build_mock
cleanup() { [ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null; remove_cluster "$WORK/pg"; stop_mock; true; }
trap cleanup EXIT
start_mock "$WORK/mock" --quiet --fault '*:latency_ms=20'
start_cluster "$WORK/pg" "$PORT"
export PGDATABASE=postgres SOAK_KEY_ID="$MOCK_KEY_ID" SOAK_KEY_SECRET="$MOCK_KEY_SECRET"
psql -X -q -v ON_ERROR_STOP=1 <<SQL
\getenv key_id SOAK_KEY_ID
\getenv key_secret SOAK_KEY_SECRET
CREATE EXTENSION alicloud_fdw;
CREATE SERVER soak FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions '*', endpoint '${MOCK_URL}/{region}', sts_endpoint '${MOCK_URL}',
           cache_max_mb '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER soak OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE SCHEMA soak;
IMPORT FOREIGN SCHEMA alicloud FROM SERVER soak INTO soak;
SQL
cache_dir="$(psql -X -At -c "SELECT current_setting('data_directory') || '/pg_stat_tmp/alicloud_fdw/' || (SELECT oid FROM pg_database WHERE datname = current_database()) || '/' || (SELECT oid FROM pg_foreign_server WHERE srvname = 'soak') || '/cache'")"
printf '\\set n random(1, 1000000000)\nSELECT count(*) FROM soak.alicloud_action_trail WHERE name = '"'"'soak-'"'"' || :n;\n' > "$WORK/q.sql"

echo "== ${MINUTES} minutes of queries with random names, 4 sessions, cache_max_mb 1, 28 regions"
( minute=0
  while true; do
    sleep 60; minute=$((minute + 1))
    files=$(as_root find "$cache_dir" -type f 2>/dev/null | wc -l)
    claims=$(as_root find "$cache_dir" -type f -name '*.claim' 2>/dev/null | wc -l)
    bytes=$(as_root find "$cache_dir" -type f -name '*.entry' -printf '%s\n' 2>/dev/null | awk '{s += $1} END {print s + 0}')
    echo "minute ${minute}: cache directory: ${files} files (${claims} claim files), entries $((bytes / 1024)) KiB"
  done ) &
SAMPLER=$!
PGOPTIONS="-c alicloud_fdw.cache=on" "$PG_BIN/pgbench" -n -c 4 -j 2 -T $((MINUTES * 60)) -P 60 \
  -f "$WORK/q.sql" postgres 2>&1 | grep -E "^progress|^number of (transactions|failed)|^latency average"
kill "$SAMPLER" 2>/dev/null || true
SAMPLER=
