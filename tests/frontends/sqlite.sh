#!/usr/bin/env bash
# The SQLite extension against the mock API, compared with what PostgreSQL returns.
#
# Run by scripts/test.sh after its regression suite, with the mock and the scratch cluster still up
# and the release build done: MOCK_URL, MOCK_KEY_ID, MOCK_KEY_SECRET, PG* in the environment, and
# mock-admin on PATH. It builds nothing. It checks what needs PostgreSQL, a second process or
# Python beside the shell (pushdown, failures, the environment's keys and SIGINT are tested in
# crates/alicloud-sqlite/tests/vtab_against_mock.rs):
#   1. the table page's four sql+sqlite queries (tests/frontends/table_page_examples.sqlite.sql,
#      verbatim) in Debian's sqlite3 shell give the same rows, as multisets, as its four
#      sql+postgres queries (tests/sql/table_page_examples.sql) through psql (booleans: 1/0
#      against t/f);
#   2. the shared cache: a second process's statement makes no call (cache_ttl left at its default);
#   3. Python's sqlite3 module (/usr/bin/python3) loads it and queries, and its interrupt() works;
#   4. the events table: the same rows as PostgreSQL for the same SQL text, and its conditions on
#      event_time and event_name sent to the API;
#   5. no output of any of the above holds the secret.
# The secret reaches the shell through a configure script written from the environment (mode 600,
# in a private temporary directory), never through a command line.
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${MOCK_URL:?MOCK_URL must be set (scripts/test.sh starts the mock)}"
: "${MOCK_KEY_ID:?MOCK_KEY_ID must be set}"
: "${MOCK_KEY_SECRET:?MOCK_KEY_SECRET must be set}"
export PATH="$PWD/scripts:$PATH"
ROOT="$PWD"
LIB="$ROOT/target/release/libalicloud_sqlite.so"
PY=/usr/bin/python3
PAGE_SQLITE="$ROOT/tests/frontends/table_page_examples.sqlite.sql"
PAGE_POSTGRES="$ROOT/tests/sql/table_page_examples.sql"

fail() { echo "sqlite.sh: FAIL: $*" >&2; exit 1; }
passed=0
ok() { passed=$((passed + 1)); echo "ok $passed - $*"; }

[ -f "$LIB" ] || fail "$LIB is missing: run cargo build --release -p alicloud-sqlite first"
command -v sqlite3 >/dev/null || fail "the sqlite3 shell is not installed (scripts/bootstrap.sh installs it)"
command -v psql >/dev/null || fail "psql is not installed"
[ -x "$PY" ] || fail "$PY is missing"

WORK="$(mktemp -d)"
chmod 700 "$WORK"
mkdir -p "$WORK/out"
SHELL_PID=
cleanup() {
  [ -n "$SHELL_PID" ] && kill "$SHELL_PID" 2>/dev/null
  mock-admin clear-faults >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# The cache goes to a directory of this run only.
export XDG_CACHE_HOME="$WORK/cache"
mock-admin clear-faults

# configure NAME EXTRA_JSON: writes $WORK/NAME.sql, which loads the extension and configures it for
# the mock (the four regions of the PostgreSQL server, the default key) plus EXTRA_JSON's members.
configure() {
  "$PY" - "$1" "$2" "$LIB" "$WORK" <<'PY'
import json, os, sys
name, extra, lib, work = sys.argv[1:5]
url = os.environ["MOCK_URL"]
options = {
    "regions": "cn-hangzhou,cn-shanghai,cn-beijing,cn-shenzhen",
    "endpoint": url + "/{region}",
    "sts_endpoint": url,
    "retry_base_delay_ms": 20,
    "access_key_id": os.environ["MOCK_KEY_ID"],
    "access_key_secret": os.environ["MOCK_KEY_SECRET"],
}
options.update(json.loads(extra))
text = json.dumps(options).replace("'", "''")
path = os.path.join(work, name + ".sql")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    # .load without the suffix: SQLite adds .so.
    f.write(".output /dev/null\n.load %s\nselect alicloud_configure('%s');\n.output stdout\n"
            % (lib[: -len(".so")], text))
PY
}

# run_sqlite CONF OUT SQL: runs SQL in the shell after $WORK/CONF.sql; stdout to $WORK/out/OUT,
# stderr to $WORK/out/OUT.err. Returns the shell's status.
run_sqlite() {
  { cat "$WORK/$1.sql"; printf '%s\n' "$3"; } \
    | sqlite3 -batch -bail -list :memory: >"$WORK/out/$2" 2>"$WORK/out/$2.err"
}

# run_psql OUT SQL: unaligned, no header, '|' between fields, booleans as 1/0.
run_psql() {
  psql -X -q -A -t -F '|' -v ON_ERROR_STOP=1 -c "$2" \
    | awk -F'|' -v OFS='|' '{ for (i = 1; i <= NF; i++) { if ($i == "t") $i = "1"; else if ($i == "f") $i = "0" } print }' \
    >"$WORK/out/$1"
}

calls() { mock-admin calls; }

# statements FILE: the file's statements, NUL-separated (comment lines dropped).
statements() {
  "$PY" - "$1" <<'PY'
import sys
text = "\n".join(l for l in open(sys.argv[1]).read().splitlines() if not l.startswith("--"))
for s in text.split(";"):
    if s.strip():
        sys.stdout.write(s.strip() + ";\0")
PY
}

configure nocache '{"cache_ttl": "0"}'

# --- 1. the table page's queries, against PostgreSQL ---------------------------------------------------
# The Steampipe table page the project started from is beside the repository when the shared
# folder is (as in CI).
seeds="$ROOT/../shared/seeds/steampipe-table-alicloud_action_trail.md"
if [ -f "$seeds" ]; then
  "$PY" - "$seeds" "$PAGE_SQLITE" <<'PY' || fail "$PAGE_SQLITE is not the Steampipe page's sql+sqlite queries verbatim"
import re, sys
page, ours = open(sys.argv[1]).read(), open(sys.argv[2]).read()
want = [b.rstrip("\n") for b in re.findall(r"```sql\+sqlite\n(.*?)```", page, flags=re.S)]
have = [s.strip() for s in "\n".join(l for l in ours.splitlines() if not l.startswith("--")).split(";") if s.strip()]
assert len(want) == 4 and [w.rstrip(";") for w in want] == have, (want, have)
PY
  ok "table_page_examples.sqlite.sql holds the table page's four sql+sqlite queries verbatim"
fi
mapfile -d '' lite < <(statements "$PAGE_SQLITE")
mapfile -d '' pg < <(statements "$PAGE_POSTGRES")
[ "${#lite[@]}" -eq 4 ] && [ "${#pg[@]}" -eq 4 ] || fail "expected 4 example queries in each file, got ${#lite[@]} and ${#pg[@]}"
# The mock's default fixture over the four regions: 11 rows, 9 enabled, 1 multi-account, 6 shadows.
expected_rows=(11 9 1 6)
for i in 0 1 2 3; do
  run_sqlite nocache "example$i.sqlite" "${lite[$i]}" || fail "example query $((i + 1)) failed in sqlite3: $(cat "$WORK/out/example$i.sqlite.err")"
  run_psql "example$i.pg" "${pg[$i]}" || fail "example query $((i + 1)) failed in psql"
  n=$(wc -l <"$WORK/out/example$i.sqlite")
  [ "$n" -eq "${expected_rows[$i]}" ] || fail "example query $((i + 1)): $n rows in SQLite, expected ${expected_rows[$i]}"
  if ! diff <(sort "$WORK/out/example$i.sqlite") <(sort "$WORK/out/example$i.pg") >"$WORK/out/example$i.diff"; then
    cat "$WORK/out/example$i.diff" >&2
    fail "example query $((i + 1)): SQLite and PostgreSQL rows differ (< sqlite, > postgres)"
  fi
  [ ! -s "$WORK/out/example$i.sqlite.err" ] || fail "example query $((i + 1)) wrote to stderr: $(cat "$WORK/out/example$i.sqlite.err")"
  ok "example query $((i + 1)): $n rows, the same multiset as PostgreSQL"
done

# --- 2. the shared cache ------------------------------------------------------------------------
configure cached '{}'
mock-admin reset-calls
run_sqlite cached cache1 "${lite[0]}" || fail "cached query failed: $(cat "$WORK/out/cache1.err")"
[ "$(calls | grep -c DescribeTrails)" -eq 4 ] || fail "a first statement with the cache on should call each region; calls: $(calls)"
mock-admin reset-calls
run_sqlite cached cache2 "${lite[0]}" || fail "cached query failed: $(cat "$WORK/out/cache2.err")"
[ -z "$(calls)" ] || fail "a second statement (another process) should be answered by the cache; calls: $(calls)"
diff "$WORK/out/cache1" "$WORK/out/cache2" >&2 || fail "the cache answered other rows than the API"
[ -n "$(find "$XDG_CACHE_HOME/alicloud-tables" -name '*.entry' 2>/dev/null)" ] \
  || fail "no cache entry under \$XDG_CACHE_HOME/alicloud-tables"
ok "the shared cache answers a second process's statement without a call"

# --- 3. Python's sqlite3 module -----------------------------------------------------------------
mock-admin reset-calls
mock-admin fault cn-shenzhen '{"hang":true}'
"$PY" - "$LIB" >"$WORK/out/python" 2>&1 <<'PY' || { cat "$WORK/out/python" >&2; fail "Python's sqlite3 module"; }
import json, os, sqlite3, sys, threading, time, urllib.request

con = sqlite3.connect(":memory:", check_same_thread=False)
con.enable_load_extension(True)
con.load_extension(sys.argv[1])
con.enable_load_extension(False)
url = os.environ["MOCK_URL"]
options = {"regions": "cn-hangzhou,cn-shanghai,cn-beijing", "endpoint": url + "/{region}",
           "sts_endpoint": url, "access_key_id": os.environ["MOCK_KEY_ID"],
           "access_key_secret": os.environ["MOCK_KEY_SECRET"], "cache_ttl": 0}
shown = con.execute("select alicloud_configure(?)", (json.dumps(options),)).fetchone()[0]
assert os.environ["MOCK_KEY_SECRET"] not in shown, "the configure result holds the secret"
rows = con.execute("select name, is_organization_trail, create_time from alicloud_action_trail"
                   " where region = 'cn-shanghai' order by name").fetchall()
assert rows == [("beijing-all-read", 0, "2022-06-15T02:03:04Z"),
                ("org-audit-shanghai", 1, "2023-03-10T08:00:00Z"),
                ("test-4", 0, "2021-03-01T06:27:28Z")], rows
print("python: SQLite", sqlite3.sqlite_version, "rows", rows)

# interrupt() from another thread, once the hanging region has been called.
options["regions"] = "cn-hangzhou,cn-shenzhen"
con.execute("select alicloud_configure(?)", (json.dumps(options),))
def interrupt_when_hanging():
    for _ in range(1200):
        with urllib.request.urlopen(url + "/_admin/calls?format=text") as r:
            if any(l.startswith("cn-shenzhen DescribeTrails") for l in r.read().decode().splitlines()):
                break
        time.sleep(0.05)
    con.interrupt()
threading.Thread(target=interrupt_when_hanging, daemon=True).start()
try:
    con.execute("select count(*) from alicloud_action_trail").fetchall()
    raise SystemExit("the query should have been interrupted")
except sqlite3.OperationalError as e:
    assert "interrupted" in str(e), e
    print("python: interrupt() ->", e)
PY
mock-admin clear-faults
ok "Python (/usr/bin/python3) loads the extension, queries it, and interrupt() stops a hanging query"

# --- 4. the events table: the same rows as PostgreSQL, its conditions sent ---------------------------
# The same SQL text in both (times as the canonical UTC text SQLite compares and pushes down).
since=$(date -u -d '30 days ago' +%Y-%m-%dT%H:%M:%SZ)
events_queries=(
  "select event_id, event_name, user_name, error_code, is_global from alicloud_action_trail_event where event_name in ('StopLogging', 'DeleteTrail') and event_time > '$since'"
  "select event_id, service_name, resource_name from alicloud_action_trail_event where region = 'cn-beijing' and event_time >= '$since' and event_rw = 'Write'"
  "select count(*), count(distinct event_id) from alicloud_action_trail_event"
)
expected_events=(3 1 1)
for i in "${!events_queries[@]}"; do
  mock-admin reset-calls
  run_sqlite nocache "events$i.sqlite" "${events_queries[$i]};" || fail "events query $((i + 1)) failed in sqlite3: $(cat "$WORK/out/events$i.sqlite.err")"
  run_psql "events$i.pg" "${events_queries[$i]}" || fail "events query $((i + 1)) failed in psql"
  n=$(wc -l <"$WORK/out/events$i.sqlite")
  [ "$n" -ge "${expected_events[$i]}" ] || fail "events query $((i + 1)): $n rows in SQLite, expected at least ${expected_events[$i]}"
  if ! diff <(sort "$WORK/out/events$i.sqlite") <(sort "$WORK/out/events$i.pg") >"$WORK/out/events$i.diff"; then
    cat "$WORK/out/events$i.diff" >&2
    fail "events query $((i + 1)): SQLite and PostgreSQL rows differ (< sqlite, > postgres)"
  fi
  ok "events query $((i + 1)): $n rows, the same multiset as PostgreSQL"
done
# The first query's conditions reached the API: the window from its bound, one listing per name.
mock-admin reset-calls
run_sqlite nocache events-pushed "${events_queries[0]};" || fail "events query 1 failed again"
# (Each call once: a call throttled because PostgreSQL's scan just before shares the account's rate
# from another cache directory is retried, and would be listed twice.)
pushed=$(calls | sort -u)
[ "$(grep -c 'LookupEvents.*LookupAttribute.1.Value=StopLogging' <<<"$pushed")" -eq 4 ] \
  && [ "$(grep -c 'LookupEvents.*LookupAttribute.1.Value=DeleteTrail' <<<"$pushed")" -eq 4 ] \
  || fail "event_name IN (...) should be one listing per name in each of the 4 regions; calls: $pushed"
start=$(date -u -d "$since - 1 second" +%Y-%m-%dT%H:%M:%SZ)
[ "$(grep -c "StartTime=$start" <<<"$pushed")" -eq 8 ] \
  || fail "event_time > '$since' should be sent as StartTime=$start; calls: $pushed"
ok "the events table's conditions (event_time, event_name IN) reach the API from SQLite"

# --- 5. no secret in any output -------------------------------------------------------------------
# (The secret is given to grep as a pattern file, not on its command line.)
if grep -rlF -f <(printf '%s\n' "$MOCK_KEY_SECRET") "$WORK/out" >&2; then
  fail "the secret appears in the output files above"
fi
ok "no output holds the secret"

echo "sqlite front end: $passed passed, 0 failed"
