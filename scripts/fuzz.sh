#!/usr/bin/env bash
# Runs the property tests of every parser of outside input for a chosen time each, and prints the
# cases tried and what was found. scripts/test.sh runs the same properties for a bounded number of
# cases (PROPTEST_CASES=256); this runs them again and again, with fresh random cases each round.
#
#   bash scripts/fuzz.sh [MINUTES [TARGET...]]      (default: 10 minutes, every target)
#
# Targets:
#   answers  the client's answers and objects: Items, JsonObject, lenient text/time/boolean reads
#   profile  the Alibaba Cloud CLI profile file
#   options  option names and values, and the settings made of them
#   cache    cache entry files and cached listings, read back
#   where    the export CLI's --where conditions
#   jsonb    the extension's jsonb writer against PostgreSQL's jsonb_in (in a test cluster)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
MINUTES="${1:-10}"
shift || true
TARGETS=("$@")
[ "${#TARGETS[@]}" -gt 0 ] || TARGETS=(answers profile options cache where jsonb)
CASES="${FUZZ_CASES:-5000}"

# target_command TARGET: the cargo command of a target; target_properties TARGET: how many
# properties one run tries (each with PROPTEST_CASES cases).
target_command() {
  case "$1" in
    answers) echo "cargo test -q -p alicloud-api --test properties" ;;
    profile) echo "cargo test -q -p alicloud-api --lib credentials::profile::tests::properties" ;;
    options) echo "cargo test -q -p alicloud-tables --test properties" ;;
    cache) echo "cargo test -q -p alicloud-tables --lib properties" ;;
    where) echo "cargo test -q -p alicloud-export --bin alicloud-export properties" ;;
    jsonb) echo "cargo pgrx test pg${PG_MAJOR} random_documents --runas postgres --pgdata ${FUZZ_PGDATA:-/tmp/alicloud_fdw_fuzz/pgrx-data}" ;;
    *) log "unknown target $1"; exit 2 ;;
  esac
}
target_properties() {
  case "$1" in answers) echo 4 ;; cache) echo 2 ;; *) echo 1 ;; esac
}

# The jsonb target's test cluster: cargo pgrx test makes it afresh each round, in an empty
# directory. (It also installs the extension it builds into PostgreSQL's directories: do not run it
# beside the SQL tests.)
fresh_pgdata() {
  data="${FUZZ_PGDATA:-/tmp/alicloud_fdw_fuzz/pgrx-data}"
  as_root rm -rf "$data" && as_root mkdir -p "$data" && as_root chown postgres:postgres "$data"
}
if printf '%s\n' "${TARGETS[@]}" | grep -qx jsonb; then
  bash scripts/bootstrap.sh
fi

status=0
for target in "${TARGETS[@]}"; do
  cmd=$(target_command "$target")
  props=$(target_properties "$target")
  log "$target: $MINUTES min of $cmd, $CASES cases per property per round"
  # The first round builds; it is not counted against the time.
  [ "$target" != jsonb ] || fresh_pgdata
  PROPTEST_CASES=1 $cmd >/dev/null 2>&1 || true
  end=$(( $(date +%s) + MINUTES * 60 ))
  rounds=0
  found=""
  while [ "$(date +%s)" -lt "$end" ]; do
    [ "$target" != jsonb ] || fresh_pgdata
    if ! out=$(PROPTEST_CASES="$CASES" $cmd 2>&1); then
      found=$(printf '%s\n' "$out" | grep -E -A12 "minimal failing input|panicked at|Test failed" | head -40)
      [ -n "$found" ] || found=$(printf '%s\n' "$out" | tail -40)
      break
    fi
    rounds=$((rounds + 1))
  done
  tried=$((rounds * CASES * props))
  if [ -n "$found" ]; then
    echo "$target: FOUND after $tried cases ($rounds rounds):"
    printf '%s\n' "$found"
    status=1
  else
    echo "$target: $tried cases in $rounds rounds, $props propert$( [ "$props" = 1 ] && echo y || echo ies), nothing found"
  fi
done
exit "$status"
