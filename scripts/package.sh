#!/usr/bin/env bash
# Builds the installable artifact of the extension for one PostgreSQL major (PG_MAJOR, default 15):
# the files `cargo pgrx package` lays out under the server's own directories, as a tarball to
# extract at / on a machine with that PostgreSQL (Debian's or PGDG's packages), where no Rust
# toolchain is needed:
#   dist/alicloud_fdw-<version>-pg<major>-<arch>-linux-gnu.tar.gz, and its .sha256
# Prints the tarball's path on stdout. See docs/install.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >&2
source scripts/lib.sh
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)"
tree="target/package/alicloud_fdw-pg${PG_MAJOR}"
rm -rf "$tree"
log "cargo pgrx package for PostgreSQL ${PG_MAJOR}"
cargo pgrx package --pg-config "$PG_CONFIG" --out-dir "$tree" >&2
mkdir -p dist
tarball="dist/alicloud_fdw-${version}-pg${PG_MAJOR}-$(uname -m)-linux-gnu.tar.gz"
# Owned by root, in a stable order, so the same build gives the same tarball's contents.
tar -C "$tree" --owner=0 --group=0 --numeric-owner --sort=name -czf "$tarball" usr
(cd dist && sha256sum "$(basename "$tarball")" > "$(basename "$tarball").sha256")
log "$(tar -tzf "$tarball" | grep -v '/$' | tr '\n' ' ')"
echo "$tarball"
