#!/usr/bin/env bash
# The export CLI (target/release/alicloud-export) against the mock API, compared with what
# PostgreSQL returns for the same rows through alicloud_action_trail: every output format is read
# back and compared as a multiset of rows (booleans, times and JSON normalised), and pushdown is
# checked in the mock's call log.
#
# Run by scripts/test.sh with the mock and the regression cluster still up: MOCK_URL, MOCK_KEY_ID,
# MOCK_KEY_SECRET, PGHOST, PGPORT, PGUSER, PGDATABASE, and scripts/ (mock-admin) on PATH.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${MOCK_URL:?MOCK_URL must be set}" "${MOCK_KEY_ID:?}" "${MOCK_KEY_SECRET:?}" "${PGDATABASE:?}"

BIN=target/release/alicloud-export
PY=/usr/bin/python3
REGIONS=cn-hangzhou,cn-shanghai,cn-beijing,cn-shenzhen
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home"

fail() { echo "export.sh: FAIL: $*" >&2; exit 1; }
[ -x "$BIN" ] || fail "$BIN is not built (cargo build --release -p alicloud-export)"

# The CLI with the mock's endpoints, the keys in the environment (never on the command line), a
# home without a profile file, and the cache off (the mock's call log must see every call).
# The table is $TABLE (alicloud_action_trail unless set).
TABLE=alicloud_action_trail
cli() {
  env -u ALIBABA_CLOUD_PROFILE -u ALIBABA_CLOUD_REGION_ID \
    HOME="$WORK/home" XDG_CACHE_HOME="$WORK/cache" \
    ALIBABA_CLOUD_ACCESS_KEY_ID="$MOCK_KEY_ID" ALIBABA_CLOUD_ACCESS_KEY_SECRET="$MOCK_KEY_SECRET" \
    "$BIN" "$TABLE" --regions "$REGIONS" --endpoint "$MOCK_URL/{region}" \
    --sts-endpoint "$MOCK_URL" --cache-ttl 0 --no-progress "$@"
}

# PostgreSQL's rows of $TABLE, one JSON object each (booleans, times in UTC and jsonb as JSON).
pg_rows() {
  PGTZ=UTC psql -X -At -v ON_ERROR_STOP=1 \
    -c "SELECT row_to_json(t) FROM (SELECT * FROM $TABLE $1) t" > "$2" \
    || fail "psql: SELECT from $TABLE failed"
}

# compare FORMAT OUTPUT PG_ROWS COLUMNS(* for all): the CLI's output read back equals PG's rows.
compare() {
  "$PY" - "$@" "$WORK/$TABLE.columns" <<'PY'
import csv, datetime, io, json, sys

fmt, out_path, pg_path, select, columns_path = sys.argv[1:6]
types = {}
order = []
for line in open(columns_path, encoding="utf-8"):
    if line.strip():
        name, ty = line.split()[:2]
        types[name] = ty
        order.append(name)
cols = order if select == "*" else select.split(",")

def fail(msg):
    sys.exit(f"export.sh: FAIL: --output {fmt}: {msg}")

def norm(col, v):
    """A value as both sides must agree on: times as UTC datetimes in ISO form."""
    if v is None:
        return None
    if types[col] == "timestamp":
        t = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        return t.astimezone(datetime.timezone.utc).isoformat()
    return v

def from_text(col, cell):
    """A csv or table cell: empty is null; booleans true/false; JSON columns JSON text."""
    if cell == "":
        return None
    ty = types[col]
    if ty == "boolean":
        if cell not in ("true", "false"):
            fail(f"{col}: {cell!r} is not true or false")
        return cell == "true"
    if ty == "json":
        return json.loads(cell)
    return norm(col, cell)

def objects(items):
    rows = []
    for o in items:
        if list(o.keys()) != cols:
            fail(f"keys {list(o.keys())} are not the select list {cols}")
        rows.append({c: norm(c, o[c]) for c in cols})
    return rows

pg = [json.loads(l) for l in open(pg_path, encoding="utf-8") if l.strip()]
want = [{c: norm(c, r[c]) for c in cols} for r in pg]
text = open(out_path, encoding="utf-8", newline="").read()

if fmt == "csv":
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records or records[0] != cols:
        fail(f"the header is {records[:1]}, not {cols}")
    got = [{c: from_text(c, v) for c, v in zip(cols, r)} for r in records[1:]]
    if any(len(r) != len(cols) for r in records):
        fail("a record has the wrong number of fields")
elif fmt == "json":
    data = json.loads(text)
    if not isinstance(data, list):
        fail("not one JSON array")
    got = objects(data)
elif fmt == "jsonl":
    got = objects(json.loads(l) for l in text.splitlines())
elif fmt == "table":
    lines = text.rstrip("\n").split("\n")
    if [h.strip() for h in lines[0].split(" | ")] != cols:
        fail(f"the header line is {lines[0]!r}")
    if set(lines[1]) - set("-+"):
        fail(f"the rule line is {lines[1]!r}")
    body = lines[2:-1]
    expect_footer = "(1 row)" if len(body) == 1 else f"({len(body)} rows)"
    if lines[-1] != expect_footer:
        fail(f"the last line is {lines[-1]!r}, not {expect_footer!r}")
    got = []
    for line in body:
        cells = [c.strip() for c in line.split(" | ")]
        if len(cells) != len(cols):
            fail(f"the row {line!r} does not have {len(cols)} cells")
        got.append({c: from_text(c, v) for c, v in zip(cols, cells)})
else:
    fail("unknown format")

def canon(rows):
    return sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in rows)

g, w = canon(got), canon(want)
if g != w:
    only_cli = [r for r in g if r not in w]
    only_pg = [r for r in w if r not in g]
    fail(f"{len(g)} rows from the CLI, {len(w)} from PostgreSQL\n"
         f"  only from the CLI: {only_cli[:3]}\n  only from PostgreSQL: {only_pg[:3]}")
if not g:
    fail("no rows at all: nothing was compared")
print(f"export.sh: --output {fmt}: {len(g)} rows, {len(cols)} columns, the same as PostgreSQL")
PY
}

# No secret in anything the CLI wrote.
no_secret() {
  if grep -rqF -- "$MOCK_KEY_SECRET" "$WORK"/*.out "$WORK"/*.err 2>/dev/null; then
    fail "the access key secret appears in the CLI's output"
  fi
}

mock-admin clear-faults
"$BIN" alicloud_action_trail --list-columns > "$WORK/alicloud_action_trail.columns"
"$BIN" alicloud_action_trail_event --list-columns > "$WORK/alicloud_action_trail_event.columns"

# Every column, every format.
pg_rows "" "$WORK/pg_all.jsonl"
for fmt in csv json jsonl; do
  cli --output "$fmt" > "$WORK/all.$fmt.out" 2> "$WORK/all.$fmt.err" \
    || fail "--output $fmt exited $?: $(cat "$WORK/all.$fmt.err")"
  compare "$fmt" "$WORK/all.$fmt.out" "$WORK/pg_all.jsonl" "*"
done
# The table, with columns whose values hold no " | ", in an order of our own.
some=region,name,status,is_organization_trail,is_shadow_trail,create_time,stop_logging_time,home_region
cli --output table --select "$some" > "$WORK/some.table.out" 2> "$WORK/some.table.err" \
  || fail "--output table exited $?: $(cat "$WORK/some.table.err")"
compare table "$WORK/some.table.out" "$WORK/pg_all.jsonl" "$some"
cli --output csv --select "$some" > "$WORK/some.csv.out" 2> "$WORK/some.csv.err" \
  || fail "--output csv --select exited $?"
compare csv "$WORK/some.csv.out" "$WORK/pg_all.jsonl" "$some"

# Pushdown of the region: only cn-beijing is called.
mock-admin reset-calls
cli --output jsonl --where "region = 'cn-beijing'" > "$WORK/beijing.jsonl.out" 2> "$WORK/beijing.err" \
  || fail "--where region exited $?: $(cat "$WORK/beijing.err")"
calls="$(mock-admin calls | grep ' DescribeTrails' || true)"
[ "$(printf '%s\n' "$calls" | grep -c .)" -eq 1 ] && [[ "$calls" == "cn-beijing DescribeTrails "* ]] \
  || fail "--where \"region = 'cn-beijing'\" should call cn-beijing only; the mock saw: $calls"
pg_rows "WHERE region = 'cn-beijing'" "$WORK/pg_beijing.jsonl"
compare jsonl "$WORK/beijing.jsonl.out" "$WORK/pg_beijing.jsonl" "*"

# A name is sent as NameList to every region; a condition on another column is checked on the rows.
mock-admin reset-calls
cli --output csv --where "name = 'test-4' AND NOT is_shadow_trail" > "$WORK/name.csv.out" 2> "$WORK/name.err" \
  || fail "--where name exited $?: $(cat "$WORK/name.err")"
calls="$(mock-admin calls | grep ' DescribeTrails' || true)"
[ "$(printf '%s\n' "$calls" | grep -c 'NameList=test-4$')" -eq 4 ] \
  || fail "--where \"name = 'test-4'\" should send NameList=test-4 to the 4 regions; the mock saw: $calls"
pg_rows "WHERE name = 'test-4' AND NOT is_shadow_trail" "$WORK/pg_name.jsonl"
compare csv "$WORK/name.csv.out" "$WORK/pg_name.jsonl" "*"

# The events table: the same rows as PostgreSQL's for a window and an IN list, both sent to the API
# (one listing per name in each region, the window from the bound).
TABLE=alicloud_action_trail_event
since=$(date -u -d '30 days ago' +%Y-%m-%dT%H:%M:%SZ)
condition="event_name IN ('StopLogging', 'DeleteTrail') AND event_time > '$since'"
mock-admin reset-calls
cli --output jsonl --where "$condition" > "$WORK/events.jsonl.out" 2> "$WORK/events.err" \
  || fail "the events table exited $?: $(cat "$WORK/events.err")"
# (Each call once: a retried call is listed twice.)
calls="$(mock-admin calls | grep ' LookupEvents' | sort -u || true)"
start=$(date -u -d "$since - 1 second" +%Y-%m-%dT%H:%M:%SZ)
[ "$(printf '%s\n' "$calls" | grep -c "LookupAttribute.1.Value=StopLogging .*StartTime=$start")" -eq 4 ] \
  && [ "$(printf '%s\n' "$calls" | grep -c "LookupAttribute.1.Value=DeleteTrail .*StartTime=$start")" -eq 4 ] \
  || fail "--where \"$condition\" should send one listing per name to the 4 regions, from $start; the mock saw: $calls"
pg_rows "WHERE $condition" "$WORK/pg_events.jsonl"
[ "$(wc -l < "$WORK/pg_events.jsonl")" -eq 3 ] || fail "expected the fixture's 3 trail stops and deletions"
compare jsonl "$WORK/events.jsonl.out" "$WORK/pg_events.jsonl" "*"
cli --output csv --where "region = 'cn-beijing' AND event_rw = 'Write' AND event_time >= '$since'" \
  > "$WORK/events.csv.out" 2> "$WORK/events.csv.err" \
  || fail "the events table as csv exited $?: $(cat "$WORK/events.csv.err")"
pg_rows "WHERE region = 'cn-beijing' AND event_rw = 'Write' AND event_time >= '$since'" "$WORK/pg_events_rw.jsonl"
compare csv "$WORK/events.csv.out" "$WORK/pg_events_rw.jsonl" "*"

no_secret
echo "export.sh: all checks passed"
