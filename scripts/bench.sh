#!/usr/bin/env bash
# Benchmarks that print figures (they assert nothing about time):
#   1. the client's fan-out: DescribeTrails over 1 and over 28 regions, mock latency 100 ms
#      (cargo bench -p alicloud-api --bench fanout);
#   2. SELECT * FROM alicloud_action_trail through PostgreSQL over 1 and over 28 regions, mock
#      latency 100 ms, at max_concurrency 10 (the default) and 28;
#   3. how long a pg_cancel_backend and a statement_timeout take to stop a query whose region never
#      answers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
source scripts/lib.sh
WORK="${BENCH_DIR:-/tmp/alicloud_fdw_bench}"
PORT="${BENCH_PGPORT:-54394}"
RUNS="${RUNS:-7}"

echo "== 1. client fan-out (cargo bench)"
cargo bench -q -p alicloud-api --bench fanout 2>/dev/null

install_extension
build_mock
cleanup() { remove_cluster "$WORK/pg"; stop_mock; }
trap cleanup EXIT
start_mock "$WORK/mock" --quiet --fault '*:latency_ms=100'
start_cluster "$WORK/pg" "$PORT"
export BENCH_KEY_ID=LTAI5tMockAccessKey0001 BENCH_KEY_SECRET=MockSecret0123456789abcdefABCDEF
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
\getenv key_id BENCH_KEY_ID
\getenv key_secret BENCH_KEY_SECRET
CREATE EXTENSION alicloud_fdw;
CREATE SERVER one FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou', endpoint '${MOCK_URL}/{region}', sts_endpoint '${MOCK_URL}');
CREATE SERVER all10 FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions '*', endpoint '${MOCK_URL}/{region}', sts_endpoint '${MOCK_URL}');
CREATE SERVER all28 FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions '*', endpoint '${MOCK_URL}/{region}', sts_endpoint '${MOCK_URL}',
           max_concurrency '28');
CREATE USER MAPPING FOR CURRENT_USER SERVER one OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER all10 OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER all28 OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE SCHEMA one; CREATE SCHEMA all10; CREATE SCHEMA all28;
IMPORT FOREIGN SCHEMA alicloud FROM SERVER one INTO one;
IMPORT FOREIGN SCHEMA alicloud FROM SERVER all10 INTO all10;
IMPORT FOREIGN SCHEMA alicloud FROM SERVER all28 INTO all28;
SQL

# time_query SCHEMA: RUNS timings of SELECT * in one session (after one warm-up query that also
# expands '*' with DescribeRegions); prints best and median in ms.
time_query() {
  local schema="$1" timings
  # ON_ERROR_STOP: a failing query must stop the benchmark, not be timed.
  timings=$({ echo '\timing on'; for _ in $(seq 0 "$RUNS"); do echo "SELECT * FROM ${schema}.alicloud_action_trail;"; done; } \
    | psql -X -q -v ON_ERROR_STOP=1 -d postgres -o /dev/null) || { echo "a query on ${schema} failed" >&2; exit 1; }
  printf '%s\n' "$timings" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n +2 \
    | sort -n | awk '{a[NR]=$1} END {printf "best %.1f ms, median %.1f ms (%d runs)\n", a[1], a[int((NR+1)/2)], NR}'
}
echo
echo "== 2. SELECT * FROM alicloud_action_trail, mock latency 100 ms per call"
rows1=$(psql -X -At -d postgres -c "SELECT count(*) FROM one.alicloud_action_trail")
rows28=$(psql -X -At -d postgres -c "SELECT count(*) FROM all28.alicloud_action_trail")
echo " 1 region  (${rows1} rows):                         $(time_query one)"
echo "28 regions (${rows28} rows), max_concurrency 10:    $(time_query all10)"
echo "28 regions (${rows28} rows), max_concurrency 28:    $(time_query all28)"

echo
echo "== 3. cancel and statement_timeout against a region that never answers"
curl -s -o /dev/null -X PUT "${MOCK_URL}/_admin/faults/cn-hangzhou" -d '{"hang":true}'
for i in 1 2 3; do
  psql -X -q -d postgres -c "SELECT count(*) FROM one.alicloud_action_trail /* bench-cancel */" >/dev/null 2>&1 &
  query_pid=$!
  sleep 0.5
  start=$(date +%s%N)
  psql -X -q -At -d postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%bench-cancel */' AND pid <> pg_backend_pid()" >/dev/null
  wait "$query_pid" || true
  end=$(date +%s%N)
  echo "pg_cancel_backend run $i: the query ended $(( (end - start) / 1000000 )) ms after the cancel was sent (includes starting psql for the cancel)"
done
for i in 1 2 3; do
  start=$(date +%s%N)
  psql -X -q -d postgres -c "SET statement_timeout = 300" -c "SELECT count(*) FROM one.alicloud_action_trail" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  echo "statement_timeout 300 ms run $i: psql returned after $(( (end - start) / 1000000 )) ms"
done
