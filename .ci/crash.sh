#!/usr/bin/env bash
# Crash safety (issue 9), on SQLite and on a private PostgreSQL cluster:
#  1. 100 phones (`dibao loadgen --journal`) upload photos and submit visits; once visits are
#     arriving the server is SIGKILLed with ~100 requests in flight. The journal holds every
#     visit the phones planned and every photo and visit the server acknowledged (2xx),
#     written through per line, so the kill loses none of it.
#  2. The server is started again and a second run with the same journal retries everything
#     left unacknowledged: the same visit ids, the same photos (resuming their uploads).
#  3. PostgreSQL only: a third wave, during which PostgreSQL itself is stopped and started:
#     /readyz must answer 503 while it is down and 200 again without restarting the service,
#     and the phones (repeating requests that met a 503 or a dropped connection) must finish
#     without an unexpected error.
#  4. With the server stopped, `dibao sweep-uploads` removes abandoned uploads, then one list
#     of checks runs on either backend: every acknowledged visit and photo is stored, no
#     partial visit, no duplicate visit, every stored photo's blob has its digest and every
#     blob its row, no blob staging file, no partial upload file without an unfinished upload,
#     the audit chain verifies, no panic.
# Usage: .ci/crash.sh [sqlite] [postgres]   (both by default; DIBAO_BIN picks the binary)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${DIBAO_BIN:-target/debug/dibao}
# CI's `cargo test` has built the debug binary already; build only when it is missing.
[ -x "$BIN" ] || cargo build --locked --bin dibao
BACKENDS=("$@")
[ ${#BACKENDS[@]} -gt 0 ] || BACKENDS=(sqlite postgres)
PG_BIN=/usr/lib/postgresql/15/bin

WORK=$(mktemp -d)
chmod 755 "$WORK" # the postgres user keeps its private cluster in here
SERVER=""
LOAD=""
PGDATA=""
cleanup() {
  for pid in $LOAD $SERVER; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$PGDATA" ]; then pgctl stop -m immediate >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
readyz() { curl -s -o /dev/null -m 20 -w '%{http_code}' "$BASE/readyz" || true; }

# PostgreSQL refuses to run as root: the cluster belongs to the postgres user, on its own port
# and socket directory, so the machine's shared server is never touched.
pgctl() {
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$WORK/pg/log" -w \
    -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off" "$@"
}
start_postgres() {
  PGPORT=$(free_port)
  mkdir -p "$WORK/pg" && chown postgres "$WORK/pg"
  PGDATA="$WORK/pg/data"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$PGDATA" -A trust -U postgres >"$WORK/pg/initdb.log"
  pgctl start >/dev/null
  psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -c 'create database dibao'
}

start() {
  DATABASE_URL=$DB_URL DIBAO_BIND="127.0.0.1:$PORT" DIBAO_DATA_DIR="$DATA/server" RUST_LOG=warn \
    "$BIN" serve >>"$DATA/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 120); do
    [ "$(readyz)" = 200 ] && return 0
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.5
  done
  cat "$DATA/server.log" >&2
  echo "server did not start" >&2
  exit 1
}
stop() {
  kill "$SERVER"
  wait "$SERVER" 2>/dev/null || true
  SERVER=""
}

# 100 phones on four coordinators, two 1 MP photos per visit from 20 encoded scenes (each
# visit's own EXIF makes every photo distinct), some uploads cut off and resumed, some visits
# sent twice. Arguments: visits, first scene, journal, then more loadgen options.
load() {
  local visits=$1 scene=$2 journal=$3
  shift 3
  "$BIN" loadgen --url "$BASE" --prepare --phones 100 --visits "$visits" --photos-per-visit 2 \
    --photo-megapixels 1 --distinct-photos 20 --photo-cache "$WORK/photos" \
    --first-scene "$scene" --duration-secs 180 --interrupt-percent 20 --resubmit-percent 30 \
    --journal "$journal" "$@" >>"$DATA/load.log" 2>&1
}
# Ids in a journal: `visit` (acknowledged visits), `photo` (acknowledged photos) or `planned`.
journal() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
kind, ids = sys.argv[2], set()
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue  # a line torn by a kill
    if e["event"] == kind == "visit": ids.add(e["id"])
    if e["event"] == kind == "photo": ids.add(e["digest"])
    if e["event"] == kind == "planned": ids.add(e["visit"]["visit_id"])
print("\n".join(sorted(ids)))
EOF
}
wait_for_visits() { # until the database holds more than $1 visits
  for _ in $(seq 600); do
    [ "$(q 'select count(*) from visits' 2>/dev/null || echo 0)" -gt "$1" ] && return 0
    sleep 0.5
  done
  echo "no visit arrived" >&2
  exit 1
}

failures=0
check() {
  local name=$1 got=$2
  if [ "$got" = "0" ]; then
    echo "ok   $name"
  else
    echo "FAIL $name: $got" >&2
    failures=$((failures + 1))
  fi
}
missing() { # lines of file $1 not in the output of query $2
  q "$2" | sort >"$WORK/have"
  comm -23 <(sort "$1") "$WORK/have" | wc -l
}

# The same list on either backend: only `q` differs.
checks() {
  local blobs="$DATA/server/blobs"
  cat "$DATA"/journal* >"$WORK/all-journals"
  journal "$WORK/all-journals" visit >"$WORK/acked-visits"
  journal "$WORK/all-journals" photo >"$WORK/acked-photos"
  echo "acknowledged: $(wc -l <"$WORK/acked-visits") visits, $(wc -l <"$WORK/acked-photos") photos; stored: $(q 'select count(*) from visits') visits"
  check "acknowledged visits not stored" "$(missing "$WORK/acked-visits" 'select id from visits')"
  check "acknowledged photos not stored" "$(missing "$WORK/acked-photos" 'select digest from photos')"
  check "planned visits never stored (retried, so none)" \
    "$(journal "$WORK/all-journals" planned >"$WORK/planned"; missing "$WORK/planned" 'select id from visits')"
  check "visits without photos" \
    "$(q 'select count(*) from visits v where not exists (select 1 from visit_photos p where p.visit_id = v.id)')"
  check "visit photos not stored" \
    "$(q 'select count(*) from visit_photos vp where not exists (select 1 from photos p where p.digest = vp.digest)')"
  check "duplicate visits (same request)" \
    "$(q 'select count(*) from (select request_hash from visits group by request_hash having count(*) > 1) d')"
  check "households with two current visits" \
    "$(q 'select count(*) from (select household_id from visits v where not exists (select 1 from visits n where n.supersedes_id = v.id) group by household_id having count(*) > 1) d')"
  local bad=0 digest
  while read -r digest; do
    blob="$blobs/photos/${digest:0:2}/$digest.jpg"
    if [ ! -f "$blob" ] || [ "$(sha256sum "$blob" | cut -c1-64)" != "$digest" ]; then
      bad=$((bad + 1))
    fi
  done < <(q 'select digest from photos')
  check "photos whose blob is missing or has another digest" "$bad"
  q 'select digest from photos' | sort >"$WORK/rows"
  check "photo blobs without a row" \
    "$(find "$blobs/photos" -name '*.jpg' -printf '%f\n' | sed 's/\.jpg$//' | sort | comm -23 - "$WORK/rows" | wc -l)"
  check "thumbnails without a row" \
    "$(find "$blobs/thumbs" -name '*.jpg' -printf '%f\n' | sed 's/\.jpg$//' | sort | comm -23 - "$WORK/rows" | wc -l)"
  check "blob staging files (a put cut off)" "$(find "$blobs" -name '*#*' | wc -l)"
  local before_files before_rows swept
  before_files=$(find "$DATA/server/uploads" -name '*.part' | wc -l)
  before_rows=$(q 'select count(*) from uploads where completed_at is null')
  # Every phone is done: whatever upload is unfinished now was abandoned (an hour in service).
  sleep 1
  swept=$(DATABASE_URL=$DB_URL DIBAO_DATA_DIR="$DATA/server" "$BIN" sweep-uploads --older-than-secs 1)
  echo "before the sweep: $before_rows unfinished uploads, $before_files partial files; swept $swept"
  check "unfinished uploads after the sweep" "$(q 'select count(*) from uploads where completed_at is null')"
  check "partial files after the sweep" "$(find "$DATA/server/uploads" -name '*.part' | wc -l)"
  if DATABASE_URL=$DB_URL DIBAO_DATA_DIR="$DATA/server" "$BIN" verify-audit >"$DATA/audit.log" 2>&1; then
    echo "ok   audit chain verifies"
  else
    cat "$DATA/audit.log" >&2
    check "audit chain" 1
  fi
  check "server panics" "$(grep -c panicked "$DATA/server.log" || true)"
}

for backend in "${BACKENDS[@]}"; do
  began=$SECONDS
  DATA="$WORK/$backend"
  mkdir -p "$DATA"
  echo "=== $backend"
  case $backend in
    sqlite)
      DB_URL="sqlite://$DATA/server/dibao.db"
      q() { sqlite3 -batch -noheader "$DATA/server/dibao.db" "$1"; }
      ;;
    postgres)
      start_postgres
      DB_URL="postgres://postgres@127.0.0.1:$PGPORT/dibao"
      q() { psql -X -qAt -h 127.0.0.1 -p "$PGPORT" -U postgres -d dibao -c "$1"; }
      DATABASE_URL=$DB_URL DIBAO_DATA_DIR="$DATA/server" "$BIN" demo >"$DATA/demo.log"
      ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac

  start
  load 200 0 "$DATA/journal1" &
  LOAD=$!
  wait_for_visits 5
  in_flight=$(ss -Htn state established "( sport = :$PORT )" | wc -l)
  kill -KILL "$SERVER"
  wait "$SERVER" 2>/dev/null || true
  # The phones meet refused connections and give up: their failures are the point here.
  wait "$LOAD" 2>/dev/null || true
  LOAD=""
  stored=$(q 'select count(*) from visits')
  echo "SIGKILL with $in_flight connections open, $stored visits stored, $(journal "$DATA/journal1" visit | wc -l) acknowledged, $(journal "$DATA/journal1" planned | wc -l) planned"

  start
  # Only the retries: every visit wave 1 planned but never had acknowledged, and no new one.
  load 0 0 "$DATA/journal1"
  grep -E '^recovery' "$DATA/load.log" | tail -1

  if [ "$backend" = postgres ]; then
    load 100 1000 "$DATA/journal2" --retry-secs 90 &
    LOAD=$!
    wait_for_visits "$(($(q 'select count(*) from visits') + 3))"
    pgctl stop -m fast >/dev/null
    down=$(readyz)
    echo "PostgreSQL stopped: /readyz $down"
    check "/readyz answers 503 while PostgreSQL is down" "$([ "$down" = 503 ] && echo 0 || echo "$down")"
    sleep 3
    pgctl start >/dev/null
    up=""
    for _ in $(seq 60); do
      up=$(readyz)
      [ "$up" = 200 ] && break
      sleep 0.5
    done
    echo "PostgreSQL started: /readyz $up (the service was not restarted)"
    check "/readyz answers 200 again" "$([ "$up" = 200 ] && echo 0 || echo "$up")"
    # The phones repeat what met the outage; anything still failing is a real error.
    if ! wait "$LOAD"; then check "third wave without unexpected errors" 1; fi
    LOAD=""
    grep -E '^recovery' "$DATA/load.log" | tail -1
  fi
  stop
  checks
  # The loadgen reports (unexpected errors by kind), without the backtraces after them.
  [ "$failures" -eq 0 ] || { grep -v -E '^ +([0-9]+:|at )' "$DATA/load.log" | tail -60 >&2; exit 1; }
  if [ "$backend" = postgres ]; then pgctl stop >/dev/null; PGDATA=""; fi
  echo "$backend: $((SECONDS - began)) s"
done
