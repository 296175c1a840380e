#!/usr/bin/env bash
# Benchmarks that print figures (they assert nothing about time), against the bundled mock API:
#   1. the table layer's fan-out: a scan over 1 and 28 regions, 100 ms latency per call
#      (cargo bench -p alicloud-tables --bench fanout);
#   2. SELECT * over 28 regions at 100 ms latency with default options (cache off, then a cache
#      hit, the median of 5 pgbench runs), each next to a heap table holding the same rows;
#   3. a query that reads the table four times, with the cache cleared (cold) and filled (warm);
#   4. 16 sessions running the same query at once on a cold cache: how many fan-outs reach the API;
#   5. 100,000 trails over 28 regions: SELECT * time (cache off, each run in a session of its own,
#      alternating with the heap table; then from the shared cache) and the
#      backend's peak memory, next to a heap table holding the same rows; and the peak for one answer
#      over the size limit;
#   6. how long pg_cancel_backend and statement_timeout take to stop a query whose region never
#      answers;
#   7. 16 sessions querying one region that always fails (503) at once, with the shared cache on
#      and off: each session's time and the calls made; and with deadline_ms 2000 against a region
#      that never answers, when the last session ends;
#   8. the shared cache's cost per store and lookup as it fills to its default 64 MiB limit (about
#      500,000 small entries) and once full (cargo bench -p alicloud-tables --bench cache);
#   9. the events table: 20,000 events in one region at 100 ms latency and the API's 2 calls a
#      second: the scan's wall time next to the floor the rate sets (pages / 2 s), the backend's
#      peak memory growth, and the time to the newest 10 rows (ORDER BY event_time DESC LIMIT 10);
#  10. 30 member accounts (member_accounts, a role assumed in each) x 28 regions at 100 ms latency:
#      the first query of a session (roles not yet assumed) and the next ones (sessions kept, cache
#      off), calls and peak memory; next to the same accounts as 30 foreign tables under UNION ALL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
source scripts/lib.sh
WORK="${BENCH_DIR:-/tmp/alicloud_fdw_bench}"
PORT="${BENCH_PGPORT:-54394}"
RUNS="${RUNS:-7}"
# SECTIONS="2 5" runs only those sections (the set-up they need always runs); all by default.
section() { [ -z "${SECTIONS:-}" ] || [[ " $SECTIONS " == *" $1 "* ]]; }
LATENCY_MS=100
BIG_TRAILS=100000

if section 1; then
echo "== 1. client fan-out (cargo bench)"
cargo bench -q -p alicloud-tables --bench fanout
fi

install_extension
build_mock
cleanup() {
  remove_cluster "$WORK/pg"; stop_mock
  [ -n "${BIG_PID:-}" ] && kill "$BIG_PID" 2>/dev/null
  [ -n "${EVENTS_PID:-}" ] && kill "$EVENTS_PID" 2>/dev/null
  [ -n "${MEMBERS_PID:-}" ] && kill "$MEMBERS_PID" 2>/dev/null
  true
}
trap cleanup EXIT
# The big fixture's mock first (its address kept apart), then the slow one (MOCK_URL).
start_mock "$WORK/mock-big" --quiet --extra-trails "$BIG_TRAILS"
BIG_PID=$MOCK_PID BIG_URL=$MOCK_URL
start_mock "$WORK/mock" --quiet --fault "*:latency_ms=${LATENCY_MS}"
start_cluster "$WORK/pg" "$PORT"
export PGDATABASE=postgres
export BENCH_KEY_ID="$MOCK_KEY_ID" BENCH_KEY_SECRET="$MOCK_KEY_SECRET"
psql -X -q -v ON_ERROR_STOP=1 <<SQL
\getenv key_id BENCH_KEY_ID
\getenv key_secret BENCH_KEY_SECRET
CREATE EXTENSION alicloud_fdw;
CREATE SERVER big FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions '*', endpoint '${BIG_URL}/{region}', sts_endpoint '${BIG_URL}');
CREATE SERVER limited FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou', endpoint '${BIG_URL}/{region}', sts_endpoint '${BIG_URL}');
CREATE USER MAPPING FOR CURRENT_USER SERVER big OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER limited OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE SCHEMA big; CREATE SCHEMA limited;
IMPORT FOREIGN SCHEMA alicloud FROM SERVER big INTO big;
IMPORT FOREIGN SCHEMA alicloud FROM SERVER limited INTO limited;
SQL
# The 28 regions DescribeRegions lists, as an explicit list (so that the slow server's scans make
# one round trip, without DescribeRegions).
regions28=$(psql -X -At -c "SELECT string_agg(DISTINCT region, ',') FROM big.alicloud_action_trail")
psql -X -q -v ON_ERROR_STOP=1 <<SQL
\getenv key_id BENCH_KEY_ID
\getenv key_secret BENCH_KEY_SECRET
CREATE SERVER slow FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions '${regions28}', endpoint '${MOCK_URL}/{region}', sts_endpoint '${MOCK_URL}');
CREATE USER MAPPING FOR CURRENT_USER SERVER slow OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE SCHEMA slow;
IMPORT FOREIGN SCHEMA alicloud FROM SERVER slow INTO slow;
SQL

# timings "SETUP" "QUERY": RUNS timings of QUERY in one session, SETUP run before each (not timed);
# prints best and median in ms. Neither ends with a semicolon: \g runs it.
timings() {
  local setup="${1%;}" query="${2%;}" out
  out=$({ echo '\timing off'; echo "SET alicloud_fdw.cache = on;"; echo "$query \\g /dev/null"
          for _ in $(seq 1 "$RUNS"); do
            echo '\timing off'; [ -n "$setup" ] && echo "$setup \\g /dev/null"
            echo '\timing on'; echo "$query \\g /dev/null"
          done; } | psql -X -q -v ON_ERROR_STOP=1 2>&1) || { echo "a query failed: $out" >&2; exit 1; }
  printf '%s\n' "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | summary runs
}
# summary WORD: the best and median of the times (ms) on stdin, one a line, and how many WORD.
summary() {
  sort -n | awk -v word="$1" '{a[NR]=$1} END {printf "best %7.2f ms, median %7.2f ms (%d %s)", a[1], a[int((NR+1)/2)], NR, word}'
}
# latency "QUERY": mean latency of QUERY in pgbench runs of one client, cache on: the median of 5
# 2-second runs (each a new session, which the scheduler may place on the client's CPU or the
# other one: 20-30% apart on 2 cores). Each run's mean is appended to $WORK/latency.runs.
latency() {
  printf '%s\n' "$1" > "$WORK/q.sql"
  local runs=()
  for _ in 1 2 3 4 5; do
    runs+=("$(PGOPTIONS="-c alicloud_fdw.cache=on" "$PG_BIN/pgbench" -n -f "$WORK/q.sql" -T 2 -c 1 postgres 2>&1 \
      | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')")
  done
  for r in "${runs[@]}"; do
    [[ "$r" =~ ^[0-9.]+$ ]] || { echo "a pgbench run of $1 failed" >&2; exit 1; }
  done
  echo "${runs[*]}" >> "$WORK/latency.runs"
  printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p
}

# peak_kb "QUERY": the backend's peak resident memory growth (VmHWM after minus VmRSS before, kB)
# while running QUERY, in a fresh session.
peak_kb() {
  # (The query without its semicolon: \g runs it once.)
  local query="${1%;}"
  psql -X -q -v ON_ERROR_STOP=0 <<SQL 2>/dev/null | tail -n 1
SET alicloud_fdw.cache = off;
SELECT 1 \\g /dev/null
SELECT pg_backend_pid() AS pid \\gset
\\setenv BACKEND :pid
\\! echo 5 > /proc/\$BACKEND/clear_refs; grep VmRSS /proc/\$BACKEND/status | awk '{print \$2}' > $WORK/rss.before
$query \\g /dev/null
\\! echo \$(( \$(grep VmHWM /proc/\$BACKEND/status | awk '{print \$2}') - \$(cat $WORK/rss.before) ))
SQL
}

if section 2; then
echo
echo "== 2. SELECT * over 28 regions, mock latency ${LATENCY_MS} ms per call, default options"
psql -X -q -c "CREATE TABLE heap28 AS SELECT * FROM slow.alicloud_action_trail" >/dev/null
rows28=$(psql -X -At -c "SELECT count(*) FROM heap28")
echo "fan-out, cache off (${rows28} rows):      $(timings "SET alicloud_fdw.cache = off;" "SELECT * FROM slow.alicloud_action_trail;")"
echo "   target: <= 1.15 x ${LATENCY_MS} ms + 10 ms = $(( LATENCY_MS * 115 / 100 + 10 )) ms"
rm -f "$WORK/latency.runs"
hit=$(latency "SELECT * FROM slow.alicloud_action_trail;")
heap=$(latency "SELECT * FROM heap28;")
echo "cache hit, pgbench mean latency, median of 5 runs:  ${hit} ms; heap table with the same rows: ${heap} ms; ratio $(awk "BEGIN {printf \"%.2f\", $hit / $heap}")"
echo "   runs (ms): cache hit $(sed -n 1p "$WORK/latency.runs"); heap $(sed -n 2p "$WORK/latency.runs")"
echo "   targets: <= 1 ms, and <= 3 x the heap table"

fi
if section 3; then
echo
echo "== 3. a query that reads the table four times (CTEs joined back to the rows), 28 regions"
four="WITH per_region AS (SELECT region, count(*) n FROM slow.alicloud_action_trail GROUP BY region),
 enabled AS (SELECT region, count(*) n FROM slow.alicloud_action_trail WHERE status = 'Enable' GROUP BY region),
 shadows AS (SELECT name, region FROM slow.alicloud_action_trail WHERE trail_region = 'All' AND home_region <> region)
SELECT t.region, t.name, p.n, e.n, s.name IS NOT NULL FROM slow.alicloud_action_trail t
 JOIN per_region p USING (region) LEFT JOIN enabled e USING (region)
 LEFT JOIN shadows s ON s.name = t.name AND s.region = t.region;"
psql -X -q -c "SELECT alicloud_fdw_clear_cache('slow')" >/dev/null
curl -s -o /dev/null -X DELETE "$MOCK_URL/_admin/calls"
echo "cold (cache cleared before each run): $(timings "SELECT alicloud_fdw_clear_cache('slow');" "$four")"
calls=$(curl -s "$MOCK_URL/_admin/calls?format=text" | grep -c DescribeTrails || true)
echo "   DescribeTrails calls over the $(( RUNS + 1 )) cold runs: ${calls} (one per region per run: $(( 28 * (RUNS + 1) )))"
echo "warm (cache filled):                  $(timings "" "$four")"

fi
if section 4; then
echo
echo "== 4. 16 sessions run the same query at once on a cold cache"
psql -X -q -c "SELECT alicloud_fdw_clear_cache('slow')" >/dev/null
curl -s -o /dev/null -X DELETE "$MOCK_URL/_admin/calls"
start=$(date +%s%N)
sessions=()
for _ in $(seq 16); do
  psql -X -q -c "SET alicloud_fdw.cache = on" -c "SELECT count(*) FROM slow.alicloud_action_trail" >/dev/null &
  sessions+=($!)
done
wait "${sessions[@]}"
end=$(date +%s%N)
calls=$(curl -s "$MOCK_URL/_admin/calls?format=text" | grep -c DescribeTrails || true)
echo "DescribeTrails calls: ${calls}, that is $(awk "BEGIN {printf \"%.1f\", $calls / 28}") fan-outs of 28 regions for 16 sessions; all done in $(( (end - start) / 1000000 )) ms"

fi
if section 5; then
echo
echo "== 5. ${BIG_TRAILS} trails over 28 regions (mock without latency), SELECT * with the cache off"
psql -X -q -c "SET alicloud_fdw.cache = off" -c "CREATE TABLE heap_big AS SELECT * FROM big.alicloud_action_trail" >/dev/null
big_rows=$(psql -X -At -c "SELECT count(*) FROM heap_big")
answer_bytes=$(psql -X -At -c "SELECT alicloud_fdw_stats_reset('big')" \
  -c "SET alicloud_fdw.cache = off" -c "SELECT count(*) FROM big.alicloud_action_trail" \
  -c "SELECT sum(bytes) FROM alicloud_fdw_stats WHERE server = 'big' AND action = 'DescribeTrails'" | tail -n 1)
answer_kb=$(( answer_bytes / 1024 ))
echo "rows: ${big_rows}; answers of one scan: $(( answer_kb / 1024 )) MiB"
# Each run in a session of its own (after one untimed run), foreign and heap alternating: where
# the scheduler puts a session (on psql's CPU or the other one) moves a foreign scan's time by a
# quarter and stays for the session, so one session per figure would make the ratio a coin toss.
session_time() {
  local out
  out=$({ echo '\timing off'; [ -n "$1" ] && echo "$1"; echo "${2%;} \\g /dev/null"
          echo '\timing on'; echo "${2%;} \\g /dev/null"; } | psql -X -q -v ON_ERROR_STOP=1 2>&1) \
    || { echo "a query failed: $out" >&2; exit 1; }
  sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out"
}
foreign_runs=() heap_runs=()
for _ in $(seq 1 "$RUNS"); do
  foreign_runs+=("$(session_time "SET alicloud_fdw.cache = off;" "SELECT * FROM big.alicloud_action_trail;")")
  heap_runs+=("$(session_time "" "SELECT * FROM heap_big;")")
done
foreign_times=$(printf '%s\n' "${foreign_runs[@]}" | summary sessions)
heap_times=$(printf '%s\n' "${heap_runs[@]}" | summary sessions)
echo "SELECT * (foreign): ${foreign_times}"
echo "SELECT * (heap):    ${heap_times}"
echo "   sessions (ms): foreign ${foreign_runs[*]}; heap ${heap_runs[*]}"
median_of() { sed -n 's/.*median *\([0-9.]*\) ms.*/\1/p' <<<"$1"; }
echo "   ratio of the medians, foreign / heap: $(awk "BEGIN {printf \"%.2f\", $(median_of "$foreign_times") / $(median_of "$heap_times")}")"
echo "   target: the foreign scan <= 2 x the heap scan"
# The same scan with the answers read from the shared cache (its limit raised above their size):
# the rows' conversion without the HTTP fetch and the mock's work on the same cores.
psql -X -q -c "ALTER SERVER big OPTIONS (ADD cache_max_mb '256')"
echo "SELECT * (foreign, answers from the shared cache): $(timings "" "SELECT * FROM big.alicloud_action_trail;")"
psql -X -q -c "ALTER SERVER big OPTIONS (DROP cache_max_mb)"
fk=$(peak_kb "SELECT * FROM big.alicloud_action_trail;")
hk=$(peak_kb "SELECT * FROM heap_big;")
echo "backend peak memory growth: foreign $(( fk / 1024 )) MiB, heap $(( hk / 1024 )) MiB; answers $(( answer_kb / 1024 )) MiB; ratio foreign / answers $(awk "BEGIN {printf \"%.2f\", $fk / $answer_kb}")"
echo "   target: growth <= 2 x the answers' size"
curl -s -o /dev/null -X PUT "$BIG_URL/_admin/faults/cn-hangzhou" -d '{"pad_bytes":52428800}'
ok=$(peak_kb "SELECT count(*) FROM limited.alicloud_action_trail;")
curl -s -o /dev/null -X PUT "$BIG_URL/_admin/faults/cn-hangzhou" -d '{"endless":true}'
endless=$(peak_kb "SELECT count(*) FROM limited.alicloud_action_trail;")
curl -s -o /dev/null -X DELETE "$BIG_URL/_admin/faults"
echo "one 50 MiB answer (limit 16 MiB, refused by its length): peak growth $(( ok / 1024 )) MiB; an answer that never ends: $(( endless / 1024 )) MiB"

fi
if section 6; then
echo
echo "== 6. cancel and statement_timeout against a region that never answers"
curl -s -o /dev/null -X PUT "${MOCK_URL}/_admin/faults/cn-hangzhou" -d '{"hang":true}'
for i in 1 2 3; do
  psql -X -q -c "SET alicloud_fdw.cache = off" -c "SELECT count(*) FROM slow.alicloud_action_trail /* bench-cancel */" >/dev/null 2>&1 &
  query_pid=$!
  sleep 0.5
  start=$(date +%s%N)
  psql -X -q -At -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%bench-cancel */' AND pid <> pg_backend_pid()" >/dev/null
  wait "$query_pid" || true
  end=$(date +%s%N)
  echo "pg_cancel_backend run $i: the query ended $(( (end - start) / 1000000 )) ms after the cancel was sent (includes starting psql for the cancel)"
done
for i in 1 2 3; do
  start=$(date +%s%N)
  psql -X -q -c "SET alicloud_fdw.cache = off" -c "SET statement_timeout = 300" -c "SELECT count(*) FROM slow.alicloud_action_trail" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  echo "statement_timeout 300 ms run $i: psql returned after $(( (end - start) / 1000000 )) ms"
done

fi
if section 7; then
echo
echo "== 7. 16 sessions at once on a region that always fails (503 ServiceUnavailable, 3 attempts each)"
# storm CACHE [QUERY]: 16 sessions run QUERY at once, STORM_ROUNDS times (20 by default: with the
# cache on, the 16 share one call's outcome, so one round is one draw of its backoffs, and few
# rounds make a median that moves with the draws); prints the
# median and the largest of their times (each measured around its own psql) and the DescribeTrails
# calls the mock received per round.
STORM_ROUNDS="${STORM_ROUNDS:-20}"
storm() {
  local query="${2:-SELECT count(*) FROM slow.alicloud_action_trail WHERE region = 'cn-beijing'}"
  curl -s -o /dev/null -X DELETE "$MOCK_URL/_admin/calls"
  rm -f "$WORK"/storm.*
  local round i pids
  for round in $(seq "$STORM_ROUNDS"); do
    pids=()
    for i in $(seq 16); do
      ( start=$(date +%s%N)
        psql -X -q -c "SET alicloud_fdw.cache = $1" -c "$query" >/dev/null 2>&1 || true
        echo $(( ($(date +%s%N) - start) / 1000000 )) > "$WORK/storm.$round.$i" ) &
      pids+=($!)
    done
    wait "${pids[@]}"
  done
  local calls
  calls=$(curl -s "$MOCK_URL/_admin/calls?format=text" | grep -c DescribeTrails || true)
  cat "$WORK"/storm.* | sort -n | awk -v calls="$calls" -v rounds="$STORM_ROUNDS" '{a[NR]=$1} END {printf "median %5d ms, slowest %5d ms over %d rounds; DescribeTrails calls per round: %.1f", a[int((NR+1)/2)], a[NR], rounds, calls / rounds}'
}
echo "16 sessions starting psql and running SELECT 1: $(storm off "SELECT 1")"
curl -s -o /dev/null -X PUT "$MOCK_URL/_admin/faults/cn-beijing" -d '{"server_error":1000000,"latency_ms":100}'
psql -X -q -c "SELECT alicloud_fdw_clear_cache('slow')" >/dev/null
echo "cache off: $(storm off)"
echo "cache on:  $(storm on)"
# With the cache on, a round's 16 sessions share one draw of the backoffs (full jitter, up to
# 0.5 s, then up to 1 s), so that median moves with the rounds' few draws. With short backoffs
# the draws hardly count, and the medians compare what each session pays itself.
psql -X -q -c "ALTER SERVER slow OPTIONS (ADD retry_base_delay_ms '20')"
echo "retry_base_delay_ms 20, cache off: $(storm off)"
echo "retry_base_delay_ms 20, cache on:  $(storm on)"
psql -X -q -c "ALTER SERVER slow OPTIONS (DROP retry_base_delay_ms)"
echo "   target: with the cache on, the median no higher than with it off"
curl -s -o /dev/null -X PUT "$MOCK_URL/_admin/faults/cn-beijing" -d '{"hang":true}'
psql -X -q -c "ALTER SERVER slow OPTIONS (ADD deadline_ms '2000')"
echo "deadline_ms 2000, a region that never answers, cache on: $(storm on)"
echo "   target: every session ends within its deadline (2000 ms, plus starting psql)"
psql -X -q -c "ALTER SERVER slow OPTIONS (DROP deadline_ms)"
curl -s -o /dev/null -X DELETE "$MOCK_URL/_admin/faults/cn-beijing"

fi
if section 8; then
echo
echo "== 8. the shared cache's cost per store and per lookup, up to its default limit"
cargo bench -q -p alicloud-tables --bench cache
fi

if section 9; then
echo
EVENTS=20000
echo "== 9. the events table: ${EVENTS} events in cn-hangzhou, mock latency ${LATENCY_MS} ms, 2 calls a second"
SLOW_URL=$MOCK_URL SLOW_PID=$MOCK_PID
start_mock "$WORK/mock-events" --quiet --extra-events "cn-hangzhou:${EVENTS}" --fault "*:latency_ms=${LATENCY_MS}"
EVENTS_PID=$MOCK_PID EVENTS_URL=$MOCK_URL MOCK_URL=$SLOW_URL MOCK_PID=$SLOW_PID
psql -X -q -v ON_ERROR_STOP=1 <<SQL
\getenv key_id BENCH_KEY_ID
\getenv key_secret BENCH_KEY_SECRET
CREATE SERVER events FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (regions 'cn-hangzhou', endpoint '${EVENTS_URL}/{region}', sts_endpoint '${EVENTS_URL}');
CREATE USER MAPPING FOR CURRENT_USER SERVER events OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');
CREATE SCHEMA events;
IMPORT FOREIGN SCHEMA alicloud LIMIT TO (alicloud_action_trail_event) FROM SERVER events INTO events;
SQL
held=$(curl -sf "$EVENTS_URL/_admin/events" | grep -c '"store":"cn-hangzhou"')
pages=$(( (held + 49) / 50 ))
curl -s -o /dev/null -X DELETE "$EVENTS_URL/_admin/calls"
start=$(date +%s%N)
ek=$(peak_kb "SELECT * FROM events.alicloud_action_trail_event;")
end=$(date +%s%N)
wall_ms=$(( (end - start) / 1000000 ))
calls=$(curl -sf "$EVENTS_URL/_admin/calls?format=text" | grep -c ' LookupEvents ' || true)
throttled=$(curl -sf "$EVENTS_URL/_admin/calls" | { grep -o '"outcome": *"Throttling[^"]*"' || true; } | wc -l)
floor_ms=$(( (pages - 1) * 500 + LATENCY_MS ))
echo "events: ${held}, pages of 50: ${pages}; LookupEvents calls: ${calls} (${throttled} throttled)"
echo "SELECT * wall time: ${wall_ms} ms; floor at 2 calls a second: ${floor_ms} ms; ratio $(awk "BEGIN {printf \"%.3f\", $wall_ms / $floor_ms}")"
echo "   target: <= 1.1 x the floor"
echo "backend peak memory growth: $(( ek / 1024 )) MiB"
echo "   target: <= 64 MiB"
echo "ORDER BY event_time DESC LIMIT 10: $(timings "SELECT pg_sleep(0.6)" "SELECT * FROM events.alicloud_action_trail_event ORDER BY event_time DESC LIMIT 10;")"
echo "   target: one page (one call of ${LATENCY_MS} ms)"
fi
if section 10; then
echo
MEMBERS=30
echo "== 10. ${MEMBERS} member accounts (roles assumed) x 28 regions, mock latency ${LATENCY_MS} ms on AssumeRole and DescribeTrails"
SLOW_URL=$MOCK_URL SLOW_PID=$MOCK_PID
start_mock "$WORK/mock-members" --quiet --extra-members "$MEMBERS" \
  --fault "*:latency_ms=${LATENCY_MS},actions=DescribeTrails|AssumeRole"
MEMBERS_PID=$MOCK_PID MEMBERS_URL=$MOCK_URL MOCK_URL=$SLOW_URL MOCK_PID=$SLOW_PID
accounts=$(seq -f "8888%012g" 0 $((MEMBERS - 1)) | paste -sd, -)
{
  echo '\getenv key_id BENCH_KEY_ID'
  echo '\getenv key_secret BENCH_KEY_SECRET'
  echo "CREATE SERVER org FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (regions '${regions28}',"
  echo "  endpoint '${MEMBERS_URL}/{region}', sts_endpoint '${MEMBERS_URL}',"
  echo "  member_accounts '${accounts}', member_role_name 'ActionTrailAudit');"
  echo "CREATE USER MAPPING FOR CURRENT_USER SERVER org OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret');"
  echo "CREATE FOREIGN TABLE org_trails (name text, region text, account_id text) SERVER org OPTIONS (table 'alicloud_action_trail');"
  # The same accounts the way a user does without members: a server per account, each with the
  # role in its user mapping, and a view over their foreign tables with UNION ALL.
  union=""
  for a in ${accounts//,/ }; do
    echo "CREATE SERVER m${a} FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (regions '${regions28}', endpoint '${MEMBERS_URL}/{region}', sts_endpoint '${MEMBERS_URL}');"
    echo "CREATE USER MAPPING FOR CURRENT_USER SERVER m${a} OPTIONS (access_key_id :'key_id', access_key_secret :'key_secret', role_arn 'acs:ram::${a}:role/ActionTrailAudit');"
    echo "CREATE FOREIGN TABLE m${a} (name text, region text, account_id text) SERVER m${a} OPTIONS (table 'alicloud_action_trail');"
    union="${union:+$union UNION ALL }SELECT * FROM m${a}"
  done
  echo "CREATE VIEW union_trails AS ${union};"
} | psql -X -q -v ON_ERROR_STOP=1
# cold_warm TABLE SESSIONS: the first query of SESSIONS fresh sessions (roles not yet assumed; each
# session loads the extension with a plain EXPLAIN, which makes no call; a second apart, so that
# each finds the turns of the AssumeRole rate free again), then in the last session the next
# queries (sessions kept; the cache is off, so every answer is fetched again), with the last
# session's calls and the backend's peak memory growth. A cold query is one draw of the scheduler
# and of first-touch page faults: the median of several sessions is the figure.
cold_warm() {
  local colds=() out="" s
  for s in $(seq 1 "$2"); do
    [ "$s" -gt 1 ] && sleep 1
    curl -s -o /dev/null -X DELETE "$MEMBERS_URL/_admin/calls"
    out=$({ echo 'SET alicloud_fdw.cache = off;'; echo 'SELECT pg_backend_pid() AS pid \gset'
            echo "EXPLAIN SELECT count(*) FROM $1 \\g /dev/null"
            echo '\setenv BACKEND :pid'
            echo "\\! grep VmRSS /proc/\$BACKEND/status | awk '{print \$2}' > $WORK/rss.before"
            echo '\timing on'; echo "SELECT count(*) FROM $1 \\g /dev/null"
            if [ "$s" -eq "$2" ]; then
              for _ in $(seq 1 "$RUNS"); do echo "SELECT count(*) FROM $1 \\g /dev/null"; done
            fi
            echo '\timing off'
            echo "\\! echo peak \$(( \$(grep VmHWM /proc/\$BACKEND/status | awk '{print \$2}') - \$(cat $WORK/rss.before) ))"
          } | psql -X -q -v ON_ERROR_STOP=1 2>&1)
    colds+=("$(printf '%s\n' "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | head -1)")
  done
  local times cold warm peak calls assumes
  times=$(printf '%s\n' "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
  cold=$(printf '%s\n' "${colds[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  warm=$(printf '%s\n' "$times" | tail -n +2 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  peak=$(printf '%s\n' "$out" | sed -n 's/^peak //p')
  calls=$(curl -sf "$MEMBERS_URL/_admin/calls?format=text" | grep -c ' DescribeTrails ' || true)
  assumes=$(curl -sf "$MEMBERS_URL/_admin/calls?format=text" | grep -c ' AssumeRole ' || true)
  local sessions=sessions
  [ "$2" -eq 1 ] && sessions=session
  echo "$1: cold median ${cold} ms ($2 ${sessions}: ${colds[*]}), warm median ${warm} ms ($RUNS runs); last session: AssumeRole ${assumes}, DescribeTrails ${calls} over $((RUNS + 1)) queries, peak memory growth $((peak / 1024)) MiB"
}
cold_warm org_trails 5
echo "   targets at the default concurrency: warm <= 1.3 x ${LATENCY_MS} ms = $((LATENCY_MS * 13 / 10)) ms, cold <= 2.3 x = $((LATENCY_MS * 23 / 10)) ms"
cold_warm union_trails 1
fi
