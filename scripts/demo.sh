#!/usr/bin/env bash
# The main job: bootstrap the machine, build and install alicloud_fdw, start a scratch PostgreSQL,
# and run the four example queries of the alicloud_action_trail table page, printing their results.
#
# With no Alibaba credentials in the environment it runs against the bundled mock API server.
# With ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (and optionally
# ALIBABA_CLOUD_SECURITY_TOKEN, ALIBABA_CLOUD_REGION_ID or ALICLOUD_REGIONS='cn-hangzhou,cn-beijing'
# or '*') it queries the real API instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
source scripts/lib.sh

WORK="${DEMO_DIR:-/tmp/alicloud_fdw_demo}"
PORT="${DEMO_PGPORT:-54391}"
install_extension

cleanup() { remove_cluster "$WORK/pg"; stop_mock; }
trap cleanup EXIT

key_id="${ALIBABA_CLOUD_ACCESS_KEY_ID:-${ALICLOUD_ACCESS_KEY_ID:-}}"
key_secret="${ALIBABA_CLOUD_ACCESS_KEY_SECRET:-${ALICLOUD_ACCESS_KEY_SECRET:-}}"
token="${ALIBABA_CLOUD_SECURITY_TOKEN:-${ALICLOUD_SECURITY_TOKEN:-}}"
if [ -n "$key_id" ] && [ -n "$key_secret" ]; then
  log "credentials found in the environment: querying the real Alibaba Cloud API"
  regions="${ALICLOUD_REGIONS:-${ALIBABA_CLOUD_REGION_ID:-${ALICLOUD_REGION_ID:-cn-hangzhou}}}"
  server_opts="regions '${regions}'"
else
  log "no credentials in the environment: querying the bundled mock API"
  build_mock
  start_mock "$WORK/mock"
  key_id="$MOCK_KEY_ID"
  key_secret="$MOCK_KEY_SECRET"
  token=
  regions="cn-hangzhou,cn-shanghai,cn-beijing,cn-shenzhen"
  server_opts="regions '${regions}', endpoint '${MOCK_URL}/{region}'"
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
echo "alicloud_fdw demo: regions ${regions}"
# The four example queries of docs/tables/alicloud_action_trail.md, from the file the SQL tests
# also run, echoed with their titles.
psql -X -d postgres -P pager=off -a -f tests/sql/seed_examples.sql
