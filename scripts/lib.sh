# Shared by demo.sh, test.sh and the benchmarks: build and install the extension, start and stop a
# scratch PostgreSQL cluster (as the postgres OS user, on a private socket directory) and the mock
# API server. Source it; it defines functions only.

PG_MAJOR="${PG_MAJOR:-15}"
PG_BIN="/usr/lib/postgresql/${PG_MAJOR}/bin"
PG_CONFIG="${PG_BIN}/pg_config"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Runs a command as the postgres OS user (initdb refuses root).
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else sudo -u postgres "$@"; fi
}

# Builds and installs the extension into Debian's PostgreSQL (release profile).
install_extension() {
  log "building and installing the extension (cargo pgrx install --release)"
  local sudo_flag=()
  [ "$(id -u)" -eq 0 ] || sudo_flag=(--sudo)
  (cd "$REPO_ROOT" && cargo pgrx install --release --pg-config "$PG_CONFIG" "${sudo_flag[@]}" >&2)
}

# Builds the mock API server binary; sets MOCK_BIN, and MOCK_KEY_ID / MOCK_KEY_SECRET to the key
# of the mock's default account (the mock is their one source).
build_mock() {
  (cd "$REPO_ROOT" && cargo build --release -p alicloud-mock-api >&2)
  MOCK_BIN="$REPO_ROOT/target/release/alicloud-mock-api"
  read -r MOCK_KEY_ID MOCK_KEY_SECRET < <("$MOCK_BIN" --print-default-key)
  export MOCK_KEY_ID MOCK_KEY_SECRET
}

# start_mock WORKDIR [mock args...]: starts the mock on a free port; sets MOCK_PID, MOCK_PORT, MOCK_URL.
start_mock() {
  local dir="$1"; shift
  mkdir -p "$dir"
  rm -f "$dir/mock.port"
  "$MOCK_BIN" --port 0 --port-file "$dir/mock.port" "$@" >"$dir/mock.stdout" 2>"$dir/mock.log" &
  MOCK_PID=$!
  for _ in $(seq 1 100); do
    [ -s "$dir/mock.port" ] && break
    sleep 0.1
  done
  [ -s "$dir/mock.port" ] || { log "the mock API did not start; its log:"; cat "$dir/mock.log" >&2; return 1; }
  MOCK_PORT="$(cat "$dir/mock.port")"
  MOCK_URL="http://127.0.0.1:${MOCK_PORT}"
  export MOCK_PORT MOCK_URL
  log "mock API listening on ${MOCK_URL} (pid ${MOCK_PID})"
}

stop_mock() { [ -n "${MOCK_PID:-}" ] && kill "$MOCK_PID" 2>/dev/null; wait "${MOCK_PID:-}" 2>/dev/null || true; MOCK_PID=; }

# start_cluster DIR PORT: a throw-away cluster owned by postgres, listening only on a socket in DIR.
# Sets PGHOST, PGPORT, PGUSER for psql. START_CLUSTER_OPTS adds server settings; START_CLUSTER_ENV
# (NAME=value words) sets the server's environment.
start_cluster() {
  local dir="$1" port="$2"
  as_root rm -rf "$dir"
  as_root mkdir -p "$dir"
  as_root chown postgres:postgres "$dir"
  as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir.initdb.log" 2>&1 \
    || { cat "$dir.initdb.log" >&2; return 1; }
  # shellcheck disable=SC2086 # START_CLUSTER_ENV is a list of words
  as_postgres env ${START_CLUSTER_ENV:-} "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses='' -c fsync=off ${START_CLUSTER_OPTS:-}" start >/dev/null
  export PGHOST="$dir" PGPORT="$port" PGUSER=postgres
  log "scratch PostgreSQL ${PG_MAJOR} on socket ${dir}/.s.PGSQL.${port}"
}

stop_cluster() {
  local dir="$1"
  [ -d "$dir/data" ] && as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# Stops the cluster and deletes it (it may hold credentials in a user mapping).
remove_cluster() {
  stop_cluster "$1"
  as_root rm -rf "$1" "$1.initdb.log"
}
