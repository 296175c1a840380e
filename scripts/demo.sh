#!/usr/bin/env bash
# The main job: bootstrap the machine, build and install alicloud_fdw, start a scratch PostgreSQL,
# and run the four example queries of the alicloud_action_trail table page, printing their results;
# then who stopped a trail, one query over many accounts, EXPLAIN ANALYZE and the statistics view,
# the same examples' SQLite flavour in the sqlite3 shell, and one export with alicloud-export.
# It ends with the compliance controls' results and their summary (docs/compliance.md).
#
# With no Alibaba credentials in the environment it runs against the bundled mock API server.
# With ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (and optionally
# ALIBABA_CLOUD_SECURITY_TOKEN, ALIBABA_CLOUD_REGION_ID or ALICLOUD_REGIONS='cn-hangzhou,cn-beijing'
# or '*') it queries the real API instead; ALICLOUD_MEMBER_ACCOUNTS (comma-separated account ids)
# with ALICLOUD_MEMBER_ROLE adds the organization-wide query over those accounts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
source scripts/lib.sh

WORK="${DEMO_DIR:-/tmp/alicloud_fdw_demo}"
PORT="${DEMO_PGPORT:-54391}"
install_extension
log "building the SQLite extension and the export CLI"
cargo build --release -q -p alicloud-sqlite -p alicloud-export >&2

cleanup() { remove_cluster "$WORK/pg"; stop_mock; }
trap cleanup EXIT

key_id="${ALIBABA_CLOUD_ACCESS_KEY_ID:-${ALICLOUD_ACCESS_KEY_ID:-}}"
key_secret="${ALIBABA_CLOUD_ACCESS_KEY_SECRET:-${ALICLOUD_ACCESS_KEY_SECRET:-}}"
token="${ALIBABA_CLOUD_SECURITY_TOKEN:-${ALICLOUD_SECURITY_TOKEN:-}}"
if [ -n "$key_id" ] && [ -n "$key_secret" ]; then
  log "credentials found in the environment: querying the real Alibaba Cloud API"
  regions="${ALICLOUD_REGIONS:-${ALIBABA_CLOUD_REGION_ID:-${ALICLOUD_REGION_ID:-cn-hangzhou}}}"
  server_opts="regions '${regions}'"
  endpoints_json=""
else
  log "no credentials in the environment: querying the bundled mock API"
  build_mock
  start_mock "$WORK/mock"
  key_id="$MOCK_KEY_ID"
  key_secret="$MOCK_KEY_SECRET"
  token=
  regions="cn-hangzhou,cn-shanghai,cn-beijing,cn-shenzhen"
  server_opts="regions '${regions}', endpoint '${MOCK_URL}/{region}', sts_endpoint '${MOCK_URL}'"
  endpoints_json=", \"endpoint\": \"${MOCK_URL}/{region}\", \"sts_endpoint\": \"${MOCK_URL}\""
fi

start_cluster "$WORK/pg" "$PORT"
mapping="access_key_id :'key_id', access_key_secret :'key_secret'"
[ -n "$token" ] && mapping="$mapping, security_token :'token'"

# The keys reach psql through its environment (\getenv), never its command line, where ps shows them.
export DEMO_KEY_ID="$key_id" DEMO_KEY_SECRET="$key_secret" DEMO_TOKEN="$token"
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
\getenv key_id DEMO_KEY_ID
\getenv key_secret DEMO_KEY_SECRET
\getenv token DEMO_TOKEN
CREATE EXTENSION alicloud_fdw;
CREATE SERVER alicloud FOREIGN DATA WRAPPER alicloud_fdw OPTIONS (${server_opts});
CREATE USER MAPPING FOR CURRENT_USER SERVER alicloud OPTIONS (${mapping});
IMPORT FOREIGN SCHEMA alicloud FROM SERVER alicloud INTO public;
SQL

echo
echo "== alicloud_fdw in PostgreSQL: regions ${regions}"
# The four example queries of docs/tables/alicloud_action_trail.md, from the file the SQL tests
# also run, echoed with their titles.
psql -X -d postgres -P pager=off -a -f tests/sql/table_page_examples.sql

echo
echo "== Who stopped or deleted an audit trail in the last 30 days (docs/tables/alicloud_action_trail_event.md)"
psql -X -d postgres -P pager=off -a <<'SQL'
select
  e.event_time,
  e.event_name,
  e.resource_name as trail,
  e.user_name,
  e.source_ip_address,
  e.error_code,
  coalesce(t.status, 'deleted') as trail_status_now
from
  alicloud_action_trail_event as e
  left join alicloud_action_trail as t
    on t.name = e.resource_name
    and t.region = e.region
    and t.home_region = e.region
where
  e.event_name in ('StopLogging', 'DeleteTrail')
  and e.event_time > now() - interval '30 days'
order by
  e.event_time desc;
SQL

# Many accounts in one query (docs/organizations.md): the mock's member accounts, or on the real
# API those ALICLOUD_MEMBER_ACCOUNTS names, each reached by assuming ALICLOUD_MEMBER_ROLE in it.
if [ -n "$endpoints_json" ]; then
  members=1111111111111111,2222222222222222,3333333333333333 member_role=ActionTrailAudit
else
  members="${ALICLOUD_MEMBER_ACCOUNTS:-}" member_role="${ALICLOUD_MEMBER_ROLE:-}"
fi
if [ -n "$members" ] && [ -n "$member_role" ]; then
  echo
  echo "== Many accounts in one query: members ${members} (docs/organizations.md)"
  psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
\getenv key_id DEMO_KEY_ID
\getenv key_secret DEMO_KEY_SECRET
\getenv token DEMO_TOKEN
CREATE SERVER org FOREIGN DATA WRAPPER alicloud_fdw
  OPTIONS (${server_opts}, member_accounts '${members}', member_role_name '${member_role}',
           member_failure 'skip');
CREATE USER MAPPING FOR CURRENT_USER SERVER org OPTIONS (${mapping});
CREATE SCHEMA org;
IMPORT FOREIGN SCHEMA alicloud LIMIT TO (alicloud_action_trail) FROM SERVER org INTO org;
SQL
  psql -X -d postgres -P pager=off -a <<'SQL'
select
  _ctx ->> 'connection_name' as connection,
  account_id,
  name,
  home_region,
  status,
  trail_region
from
  org.alicloud_action_trail
where
  not is_shadow_trail
order by
  account_id;
-- Each member's last outcome stays in the statistics, for the jobs where no one reads warnings.
select member, scans, last_ok_at is not null as succeeded, last_error_code, last_request_id
from alicloud_fdw_stats
where server = 'org' and action = 'member scan'
order by member;
SQL
fi

echo
echo "== What a query did (EXPLAIN ANALYZE), and what the API calls cost so far (alicloud_fdw_stats)"
psql -X -d postgres -P pager=off -a <<'SQL'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT name, region FROM alicloud_action_trail WHERE name = 'test-4';
SELECT region, action, calls, cache_hits, rows, max_ms FROM alicloud_fdw_stats
 WHERE server = 'alicloud' ORDER BY region, action;
SQL

# The SQLite extension and the CLI take the keys from the environment (the same credential chain
# as the CLI profile tools), never from a command line.
export ALIBABA_CLOUD_ACCESS_KEY_ID="$key_id" ALIBABA_CLOUD_ACCESS_KEY_SECRET="$key_secret"
[ -n "$token" ] && export ALIBABA_CLOUD_SECURITY_TOKEN="$token"
export XDG_CACHE_HOME="$WORK/cache"
echo
echo "== The same examples in SQLite (the sqlite3 shell), from tests/frontends/table_page_examples.sqlite.sql"
{
  echo ".load target/release/libalicloud_sqlite"
  echo ".output /dev/null"
  echo "select alicloud_configure('{\"regions\": \"${regions}\"${endpoints_json}}');"
  echo ".output stdout"
  echo ".headers on"
  echo ".mode column"
  echo ".echo on"
  cat tests/frontends/table_page_examples.sqlite.sql
} | sqlite3

echo
echo "== One export: the trails of cn-beijing as CSV"
endpoint_flags=()
if [ -n "$endpoints_json" ]; then
  endpoint_flags=(--endpoint "${MOCK_URL}/{region}" --sts-endpoint "${MOCK_URL}")
fi
echo "\$ alicloud-export alicloud_action_trail --regions '${regions}' --select name,region,status,trail_region --where \"region = 'cn-beijing'\" --output csv"
target/release/alicloud-export alicloud_action_trail --regions "$regions" "${endpoint_flags[@]}" \
  --select name,region,status,trail_region --where "region = 'cn-beijing'" --output csv

# The compliance controls (docs/compliance.md), over the organization when there is one, else over
# the one account; then the summary a scheduled job or a script branches on.
trails_table=alicloud_action_trail
[ -n "$members" ] && [ -n "$member_role" ] && trails_table=org.alicloud_action_trail
echo
echo "== Compliance controls over ${trails_table} (docs/compliance.md)"
psql -X -d postgres -P pager=off -v trails="$trails_table" -a <<'SQL'
select
  control_id,
  status,
  account_id,
  resource,
  reason
from
  alicloud_compliance.controls(:'trails')
order by
  control_id,
  account_id,
  resource;
select * from alicloud_compliance.summary(:'trails');
SQL
