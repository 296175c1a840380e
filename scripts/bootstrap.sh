#!/usr/bin/env bash
# Installs everything alicloud_fdw needs to build and test on a Debian machine. Idempotent: each step
# checks first and does nothing when its work is already done.
set -euo pipefail
# PG_MAJOR, PG_CONFIG, log and as_root.
source "$(dirname "$0")/lib.sh"
PGRX_VERSION="0.16.1"

# 1. Debian packages: the PostgreSQL server and its headers, clang for pgrx's bindgen, sudo to run
#    initdb as the postgres OS user, the sqlite3 shell and Python for the SQLite extension's tests
#    and demo, pg_cron for the scheduled compliance runs (tests/sql/cron.sql, docs/compliance.md).
need_pkgs=()
for p in "postgresql-${PG_MAJOR}" "postgresql-server-dev-${PG_MAJOR}" libclang-dev clang pkg-config sudo \
         build-essential libssl-dev ca-certificates curl sqlite3 python3 "postgresql-${PG_MAJOR}-cron"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing Debian packages: ${need_pkgs[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
else
  log "Debian packages present"
fi

# 2. cargo-pgrx, pinned to the pgrx version the extension is built with.
if cargo pgrx --version 2>/dev/null | grep -q " ${PGRX_VERSION}\$"; then
  log "cargo-pgrx ${PGRX_VERSION} present"
else
  log "installing cargo-pgrx ${PGRX_VERSION} (takes about 5 minutes)"
  cargo install cargo-pgrx --version "${PGRX_VERSION}" --locked
fi

# 3. pgrx's registry of Postgres installations: point it at Debian's PostgreSQL.
pgrx_config="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
if [ -f "$pgrx_config" ] && grep -q "pg${PG_MAJOR} = \"${PG_CONFIG}\"" "$pgrx_config"; then
  log "cargo pgrx init already done for pg${PG_MAJOR}"
else
  log "cargo pgrx init --pg${PG_MAJOR} ${PG_CONFIG}"
  cargo pgrx init "--pg${PG_MAJOR}" "${PG_CONFIG}"
fi
# 4. The client drivers tests/clients/run.sh uses, as BI tools and scripts do: psycopg 3 in a
#    virtual environment (PyPI), node-postgres (npm), pgJDBC (Debian's package; with a JDK,
#    Node.js and python3-venv from Debian when the machine has none). Versions pinned; each
#    installed once.
clients_dir="${ALICLOUD_CLIENTS_DIR:-$HOME/.cache/alicloud_fdw/clients}"
PSYCOPG_VERSION="3.3.9"
NODE_PG_VERSION="8.23.1"
client_pkgs=()
dpkg-query -W -f='${Status}' libpostgresql-jdbc-java 2>/dev/null | grep -q "install ok installed" \
  || client_pkgs+=(libpostgresql-jdbc-java)
command -v javac >/dev/null || client_pkgs+=(default-jdk-headless)
command -v npm >/dev/null || client_pkgs+=(nodejs npm)
# Debian's own Python makes virtual environments only with python3-venv.
python3 -c "import ensurepip" 2>/dev/null || client_pkgs+=(python3-venv)
if [ "${#client_pkgs[@]}" -gt 0 ]; then
  log "installing Debian packages: ${client_pkgs[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${client_pkgs[@]}"
fi
if "$clients_dir/venv/bin/python" -c "import psycopg, sys; sys.exit(psycopg.__version__ != '${PSYCOPG_VERSION}')" 2>/dev/null; then
  log "psycopg ${PSYCOPG_VERSION} present"
else
  log "installing psycopg ${PSYCOPG_VERSION} into ${clients_dir}/venv"
  python3 -m venv "$clients_dir/venv"
  "$clients_dir/venv/bin/pip" install -q "psycopg[binary]==${PSYCOPG_VERSION}"
fi
if [ "$(node -p "require('$clients_dir/node/node_modules/pg/package.json').version" 2>/dev/null)" = "$NODE_PG_VERSION" ]; then
  log "node-postgres ${NODE_PG_VERSION} present"
else
  log "installing node-postgres ${NODE_PG_VERSION} into ${clients_dir}/node"
  mkdir -p "$clients_dir/node"
  npm install -s --no-audit --no-fund --prefix "$clients_dir/node" "pg@${NODE_PG_VERSION}"
fi
log "done"
