#!/usr/bin/env bash
# Backs up a gridbot database as docs/deploy.md says (pg_dump, custom
# format), restores the backup into a fresh database and checks that every
# table has the same number of rows and that gridbot accepts the restored
# database (gridbot migrate: nothing pending); photo bytes kept in the
# database are compared by checksum:
#
#   bash scripts/restore-check.sh [postgres://…/SOURCE]
#
# Without an argument it checks a scratch database it fills itself (the
# sample roster and grids). The restored copy is dropped at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
pg=postgres://postgres@127.0.0.1:5432
work=$(mktemp -d /tmp/gridbot-restore.XXXXXX)
restored=gridbot_restored_$$
scratch=
cleanup() {
  set +e
  psql "$pg/postgres" -qAtc "DROP DATABASE IF EXISTS $restored WITH (FORCE)" >/dev/null 2>&1
  [ -n "$scratch" ] && psql "$pg/postgres" -qAtc "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/gridbot" ./cmd/gridbot
src=${1:-}
if [ -z "$src" ]; then
  bash scripts/services.sh
  scratch=gridbot_backup_src_$$
  psql "$pg/postgres" -qAtc "CREATE DATABASE $scratch" >/dev/null
  src="$pg/$scratch?sslmode=disable"
  DATABASE_URL=$src WECHAT_TOKEN=restorecheck "$work/gridbot" import grids testdata/roster/grids.csv >/dev/null
  DATABASE_URL=$src WECHAT_TOKEN=restorecheck "$work/gridbot" import roster testdata/roster/roster.csv >/dev/null
fi

# The backup, as the nightly job takes it.
pg_dump --format=custom --no-owner --file="$work/gridbot.dump" "$src"
echo "restore-check: backup of $(du -h "$work/gridbot.dump" | cut -f1) taken"
psql "$pg/postgres" -qAtc "CREATE DATABASE $restored" >/dev/null
dst="$pg/$restored?sslmode=disable"
pg_restore --no-owner --exit-on-error --dbname="$dst" "$work/gridbot.dump"

tables=$(psql "$src" -qAtc "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
  WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
[ -n "$tables" ] || { echo "restore-check: FAIL: no tables in the source" >&2; exit 1; }
bad=0 rows=0 summary=
for t in $tables; do
  a=$(psql "$src" -qAtc "SELECT count(*) FROM $t")
  b=$(psql "$dst" -qAtc "SELECT count(*) FROM $t")
  if [ "$a" != "$b" ]; then
    echo "restore-check: FAIL: $t has $a rows, restored $b" >&2
    bad=1
  fi
  rows=$((rows + a))
  [ "$a" != 0 ] && summary="$summary ${t#public.}=$a"
done
# Photo bytes kept in the database come back bit for bit.
for t in photo_blobs photo_thumbs; do
  sum="SELECT COALESCE(md5(string_agg(md5(data), ',' ORDER BY photo_id)), 'none') FROM $t"
  if [ "$(psql "$src" -qAtc "$sum")" != "$(psql "$dst" -qAtc "$sum")" ]; then
    echo "restore-check: FAIL: the bytes in $t differ after the restore" >&2
    bad=1
  fi
done
[ "$bad" = 0 ] || exit 1
[ "$rows" -gt 0 ] || { echo "restore-check: FAIL: the source has no rows to compare" >&2; exit 1; }
# gridbot opens the restored database as it is: no migration pending.
out=$(DATABASE_URL=$dst WECHAT_TOKEN=restorecheck "$work/gridbot" migrate)
before=$(psql "$src" -qAtc "SELECT count(*) FROM goose_db_version")
after=$(psql "$dst" -qAtc "SELECT count(*) FROM goose_db_version")
[ "$before" = "$after" ] || { echo "restore-check: FAIL: gridbot migrate applied $((after - before)) migrations to the restored database" >&2; exit 1; }
echo "restore-check: gridbot migrate on the restored database: $out, none pending"
echo "restore-check: $(echo "$tables" | wc -l) tables, $rows rows, the same in the restored database:$summary; photo bytes identical"
echo "restore-check: OK"
