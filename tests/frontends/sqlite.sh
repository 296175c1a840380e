#!/usr/bin/env bash
# The SQLite extension against the mock API, compared with what PostgreSQL returns.
#
# Run by scripts/test.sh after its regression suite, with the mock and the scratch cluster still up
# and the release build done: MOCK_URL, MOCK_KEY_ID, MOCK_KEY_SECRET, PG* in the environment, and
# mock-admin on PATH. It builds nothing. Checks:
#   1. the table page's four sql+sqlite queries (tests/frontends/table_page_examples.sqlite.sql, verbatim)
#      in Debian's sqlite3 shell give the same rows, as multisets, as its four sql+postgres queries
#      (tests/sql/table_page_examples.sql) through psql (booleans: 1/0 against t/f);
#   2. pushdown, in the calls the mock receives: region = and IN call only those regions, name IN
#      sends NameList, a self-join calls each region once, each statement has its own snapshot;
#   3. the shared cache: a second process's statement makes no call (cache_ttl left at its default);
#   4. a failing region: the error names region, code and request id, and holds no secret; a region
#      skipped by ignore_error_codes prints nothing but is a warning in sqlite3_log; without keys
#      in the configuration, the environment's are used;
#   5. Python's sqlite3 module (/usr/bin/python3) loads it and queries, and its interrupt() works;
#   6. SIGINT to the shell while a region hangs ends the query with "interrupted";
#   7. no output of any of the above holds the secret.
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

# --- 1. the seed queries, against PostgreSQL ---------------------------------------------------
# The seed page is beside the repository when the shared folder is (as in CI).
seeds="$ROOT/../shared/seeds/steampipe-table-alicloud_action_trail.md"
if [ -f "$seeds" ]; then
  "$PY" - "$seeds" "$PAGE_SQLITE" <<'PY' || fail "$PAGE_SQLITE is not the seed page's sql+sqlite queries verbatim"
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
[ "${#lite[@]}" -eq 4 ] && [ "${#pg[@]}" -eq 4 ] || fail "expected 4 seed queries in each file, got ${#lite[@]} and ${#pg[@]}"
# The mock's default fixture over the four regions: 11 rows, 9 enabled, 1 multi-account, 6 shadows.
expected_rows=(11 9 1 6)
for i in 0 1 2 3; do
  run_sqlite nocache "seed$i.sqlite" "${lite[$i]}" || fail "seed query $((i + 1)) failed in sqlite3: $(cat "$WORK/out/seed$i.sqlite.err")"
  run_psql "seed$i.pg" "${pg[$i]}" || fail "seed query $((i + 1)) failed in psql"
  n=$(wc -l <"$WORK/out/seed$i.sqlite")
  [ "$n" -eq "${expected_rows[$i]}" ] || fail "seed query $((i + 1)): $n rows in SQLite, expected ${expected_rows[$i]}"
  if ! diff <(sort "$WORK/out/seed$i.sqlite") <(sort "$WORK/out/seed$i.pg") >"$WORK/out/seed$i.diff"; then
    cat "$WORK/out/seed$i.diff" >&2
    fail "seed query $((i + 1)): SQLite and PostgreSQL rows differ (< sqlite, > postgres)"
  fi
  [ ! -s "$WORK/out/seed$i.sqlite.err" ] || fail "seed query $((i + 1)) wrote to stderr: $(cat "$WORK/out/seed$i.sqlite.err")"
  ok "seed query $((i + 1)): $n rows, the same multiset as PostgreSQL"
done

# --- 2. pushdown, in the calls the mock receives ------------------------------------------------
mock-admin reset-calls
run_sqlite nocache region "select count(*) from alicloud_action_trail where region = 'cn-beijing';" \
  || fail "region = failed: $(cat "$WORK/out/region.err")"
[ "$(cat "$WORK/out/region")" = 3 ] || fail "region = 'cn-beijing': $(cat "$WORK/out/region") rows, expected 3"
calls >"$WORK/out/region.calls"
[ "$(wc -l <"$WORK/out/region.calls")" -eq 1 ] && grep -q '^cn-beijing DescribeTrails' "$WORK/out/region.calls" \
  || fail "region = 'cn-beijing' should call cn-beijing only; calls: $(cat "$WORK/out/region.calls")"
ok "region = 'cn-beijing' calls that region only"

mock-admin reset-calls
run_sqlite nocache region_in "select count(*) from alicloud_action_trail where region in ('cn-beijing', 'cn-shenzhen');" \
  || fail "region IN failed: $(cat "$WORK/out/region_in.err")"
[ "$(cat "$WORK/out/region_in")" = 5 ] || fail "region IN: $(cat "$WORK/out/region_in") rows, expected 5"
calls | cut -d' ' -f1,2 | sort >"$WORK/out/region_in.calls"
printf 'cn-beijing DescribeTrails\ncn-shenzhen DescribeTrails\n' | diff - "$WORK/out/region_in.calls" >&2 \
  || fail "region IN ('cn-beijing', 'cn-shenzhen') should call those two regions once each"
ok "region IN (...) calls those regions only, once each"

names_query="select name, region, status from alicloud_action_trail where name in ('test-4', 'beijing-disabled');"
mock-admin reset-calls
run_sqlite nocache names "$names_query" || fail "name IN failed: $(cat "$WORK/out/names.err")"
calls >"$WORK/out/names.calls"
[ "$(wc -l <"$WORK/out/names.calls")" -eq 4 ] || fail "name IN should make one call per region; calls: $(cat "$WORK/out/names.calls")"
if grep -v 'DescribeTrails .*NameList=beijing-disabled,test-4\( \|$\)' "$WORK/out/names.calls" >&2; then
  fail "every call of name IN ('test-4', 'beijing-disabled') should send NameList=beijing-disabled,test-4"
fi
run_psql names.pg "$names_query"
diff <(sort "$WORK/out/names") <(sort "$WORK/out/names.pg") >&2 || fail "name IN: SQLite and PostgreSQL rows differ"
[ "$(wc -l <"$WORK/out/names")" -eq 5 ] || fail "name IN: expected 5 rows"
ok "name IN (...) sends NameList with both names, and the rows match PostgreSQL's"

self_join="select count(*) from alicloud_action_trail a join alicloud_action_trail b on a.name = b.name and a.region = b.region;"
mock-admin reset-calls
run_sqlite nocache join "$self_join" || fail "self-join failed: $(cat "$WORK/out/join.err")"
[ "$(cat "$WORK/out/join")" = 11 ] || fail "self-join: $(cat "$WORK/out/join") rows, expected 11"
calls | cut -d' ' -f1,2 | sort >"$WORK/out/join.calls"
printf '%s DescribeTrails\n' cn-beijing cn-hangzhou cn-shanghai cn-shenzhen | diff - "$WORK/out/join.calls" >&2 \
  || fail "a self-join should call each region once (one snapshot per statement)"
ok "a self-join calls each region once"

mock-admin reset-calls
run_sqlite nocache twice "$self_join
$self_join" || fail "two statements failed: $(cat "$WORK/out/twice.err")"
[ "$(calls | grep -c DescribeTrails)" -eq 8 ] \
  || fail "two statements with the cache off should call each region once each; calls: $(calls)"
ok "each statement has its own snapshot (two statements, cache off: each region called twice)"

# --- 3. the shared cache ------------------------------------------------------------------------
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

# --- 4. failures --------------------------------------------------------------------------------
mock-admin fault cn-beijing '{"error_code":"Forbidden.RAM","request_id":"REQ-SQLITE-1"}'
if run_sqlite nocache forbidden "${lite[0]}"; then
  fail "a query with a failing region should fail"
fi
err="$(cat "$WORK/out/forbidden.err")"
for want in "region cn-beijing" "Forbidden.RAM" "request id: REQ-SQLITE-1"; do
  [[ "$err" == *"$want"* ]] || fail "the error should name \"$want\"; it is: $err"
done
[[ "$err" != *"$MOCK_KEY_SECRET"* ]] || fail "the error holds the secret"
ok "a failing region's error names region, code and request id: $err"

configure skipping '{"cache_ttl": "0", "ignore_error_codes": "Forbidden.RAM"}'
run_sqlite skipping skipped "select count(*) from alicloud_action_trail;" \
  || fail "ignore_error_codes should skip the region: $(cat "$WORK/out/skipped.err")"
[ "$(cat "$WORK/out/skipped")" = 8 ] || fail "with cn-beijing skipped, expected 8 rows, got $(cat "$WORK/out/skipped")"
[ ! -s "$WORK/out/skipped.err" ] || fail "a skipped region should print nothing; stderr: $(cat "$WORK/out/skipped.err")"
run_sqlite skipping skipped_log ".log stderr
select count(*) from alicloud_action_trail;" || fail "ignore_error_codes with a log: $(cat "$WORK/out/skipped_log.err")"
grep -q '^(28) alicloud_action_trail: skipping region cn-beijing: DescribeTrails failed with Forbidden.RAM (request id REQ-SQLITE-1)' \
  "$WORK/out/skipped_log.err" || fail "a skipped region should be a SQLITE_WARNING in sqlite3_log; log: $(cat "$WORK/out/skipped_log.err")"
ok "ignore_error_codes skips the failing region: nothing printed, a SQLITE_WARNING in sqlite3_log"
mock-admin clear-faults

# Without keys in the configuration, the credential chain finds them in the environment.
configure nokeys '{"cache_ttl": "0", "access_key_id": null, "access_key_secret": null}'
grep -qF -f <(printf '%s\n' "$MOCK_KEY_SECRET") "$WORK/nokeys.sql" && fail "the configuration without keys holds the secret"
(
  export ALIBABA_CLOUD_ACCESS_KEY_ID="$MOCK_KEY_ID" ALIBABA_CLOUD_ACCESS_KEY_SECRET="$MOCK_KEY_SECRET"
  run_sqlite nokeys envkeys "select count(*) from alicloud_action_trail;"
) || fail "keys from the environment: $(cat "$WORK/out/envkeys.err")"
[ "$(cat "$WORK/out/envkeys")" = 11 ] || fail "keys from the environment: expected 11 rows"
(
  unset ALIBABA_CLOUD_ACCESS_KEY_ID ALIBABACLOUD_ACCESS_KEY_ID ALICLOUD_ACCESS_KEY_ID ALICLOUD_ACCESS_KEY
  unset ALIBABA_CLOUD_PROFILE ALIBABACLOUD_PROFILE ALICLOUD_PROFILE
  export HOME="$WORK/home"
  ! run_sqlite nokeys nokeys "select count(*) from alicloud_action_trail;"
) || fail "without keys anywhere the query should fail"
grep -q 'no Alibaba Cloud credentials found.*Hint: Give access_key_id and access_key_secret in alicloud_configure' \
  "$WORK/out/nokeys.err" || fail "without credentials: $(cat "$WORK/out/nokeys.err")"
ok "without keys in alicloud_configure, the environment's are used; with none anywhere, the error says where it looked"

if run_sqlite nocache badkey "select alicloud_configure('{\"regoins\": \"cn-beijing\"}');"; then
  fail "an unknown key should be an error"
fi
grep -q 'unknown key "regoins"; the valid keys are: regions, ' "$WORK/out/badkey.err" \
  || fail "an unknown key's error should list the valid keys: $(cat "$WORK/out/badkey.err")"
ok "an unknown configure key is an error listing the valid keys"

# --- 5. Python's sqlite3 module -----------------------------------------------------------------
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

# --- 6. SIGINT in the shell while a region hangs --------------------------------------------------
# timeout_ms is an hour and one attempt: only the interrupt can end the query before the guard.
configure hang '{"cache_ttl": "0", "timeout_ms": "3600000", "max_attempts": "1"}'
mock-admin reset-calls
mock-admin fault cn-beijing '{"hang":true}'
{ cat "$WORK/hang.sql"; echo "select count(*) from alicloud_action_trail;"; } >"$WORK/hang_query.sql"
# The guard (timeout) is not a measurement: without the interrupt the query would wait an hour.
# A SIGINT sent to timeout reaches the shell.
timeout -s KILL 60 sqlite3 -batch :memory: <"$WORK/hang_query.sql" >"$WORK/out/sigint" 2>"$WORK/out/sigint.err" &
SHELL_PID=$!
for _ in $(seq 1 1200); do
  calls | grep -q '^cn-beijing DescribeTrails' && break
  kill -0 "$SHELL_PID" 2>/dev/null || fail "the shell ended before calling the hanging region: $(cat "$WORK/out/sigint.err")"
  sleep 0.05
done
calls | grep -q '^cn-beijing DescribeTrails' || fail "the hanging region was never called"
sent=$(date +%s%N)
kill -INT "$SHELL_PID"
status=0
wait "$SHELL_PID" || status=$?
ended=$(date +%s%N)
SHELL_PID=
mock-admin clear-faults
[ "$status" -ne 137 ] && [ "$status" -ne 124 ] || fail "SIGINT did not stop the query (the guard killed the shell after 60 s)"
grep -q 'interrupted' "$WORK/out/sigint.err" || fail "the shell should report 'interrupted'; stderr: $(cat "$WORK/out/sigint.err")"
ok "SIGINT stops the shell's query waiting on a hanging region ($(( (ended - sent) / 1000000 )) ms from SIGINT to exit, SQLite $(sqlite3 -version | cut -d' ' -f1)): $(tr -d '\n' <"$WORK/out/sigint.err")"

# --- 7. no secret in any output -------------------------------------------------------------------
# (The secret is given to grep as a pattern file, not on its command line.)
if grep -rlF -f <(printf '%s\n' "$MOCK_KEY_SECRET") "$WORK/out" >&2; then
  fail "the secret appears in the output files above"
fi
ok "no output holds the secret"

echo "sqlite front end: $passed passed, 0 failed"
