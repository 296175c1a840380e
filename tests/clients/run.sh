#!/usr/bin/env bash
# The client tests: psycopg 3 (Python), pgJDBC (Java) and node-postgres (Node.js) each connect
# over TCP with a password, introspect, run a control through a server-side prepared statement and
# read typed values and an error (see README.md); each must print expected.out exactly.
# Run by scripts/test.sh against its scratch cluster (PGHOST/PGPORT: a socket for the set-up; the
# cluster also listens on 127.0.0.1:PGPORT) and mock API (MOCK_URL, MOCK_KEY_ID, MOCK_KEY_SECRET);
# the drivers come from scripts/bootstrap.sh. Writes into $1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$1"
clients_dir="${ALICLOUD_CLIENTS_DIR:-$HOME/.cache/alicloud_fdw/clients}"
mkdir -p "$out"
export CLIENTS_PORT="$PGPORT" CLIENTS_DATABASE=alicloud_fdw_clients
CLIENTS_PASSWORD="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export CLIENTS_PASSWORD

# A database of its own, where the shared cache is off (the call log proves the pushdown), and a
# password (scram-sha-256) required of bi_reader over TCP.
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $CLIENTS_DATABASE" \
  -c "ALTER DATABASE $CLIENTS_DATABASE SET alicloud_fdw.cache = off"
psql -X -q -v ON_ERROR_STOP=1 -d "$CLIENTS_DATABASE" -c "CREATE EXTENSION alicloud_fdw" -f "$here/setup.sql"
hba="$(psql -X -At -d postgres -c 'SHOW hba_file')"
$AS_ROOT sed -i '1i host all bi_reader 127.0.0.1/32 scram-sha-256' "$hba"
psql -X -q -At -d postgres -c 'SELECT pg_reload_conf()' >/dev/null

status=0
check() {
  local name="$1"; shift
  if ! "$@" >"$out/$name.out" 2>"$out/$name.err"; then
    echo "client test $name failed; its output and errors:" >&2
    cat "$out/$name.out" "$out/$name.err" >&2
    status=1
  elif ! diff -u "$here/expected.out" "$out/$name.out" >&2; then
    echo "client test $name: output differs from tests/clients/expected.out (above)" >&2
    status=1
  else
    echo "client test $name: ok" >&2
  fi
}
check psycopg "$clients_dir/venv/bin/python" "$here/client.py"
check pgjdbc java -cp /usr/share/java/postgresql.jar "$here/Client.java"
check node-postgres env NODE_PATH="$clients_dir/node/node_modules" node "$here/client.js"
exit "$status"
