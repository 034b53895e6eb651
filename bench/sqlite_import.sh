#!/usr/bin/env bash
# The SQLite baseline for BENCHMARKS.md: the sqlite3 shell importing the same 1,000,209 ML-1M ratings
# (uncompressed TSV) into a table, without and with an index on the user and on the item column.
# Needs sqlite3 and hyperfine (apt-get install sqlite3 hyperfine). Median of 5 runs each.
set -euo pipefail
data="$(dirname "$0")/../../shared/data/ml-1m/ratings.tsv.gz"
[ -f "$data" ] || { echo "skipped: $data is absent"; exit 0; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
zcat "$data" > "$work/ratings.tsv"
cat > "$work/plain.sql" <<SQL
CREATE TABLE ratings(user INTEGER, item INTEGER, movie INTEGER, rating REAL);
.mode tabs
.import --skip 1 $work/ratings.tsv ratings
SQL
cat > "$work/indexed.sql" <<SQL
CREATE TABLE ratings(user INTEGER, item INTEGER, movie INTEGER, rating REAL);
.mode tabs
.import --skip 1 $work/ratings.tsv ratings
CREATE INDEX by_user ON ratings(user);
CREATE INDEX by_item ON ratings(item);
SQL
for kind in plain indexed; do
  hyperfine --warmup 1 --runs 5 --export-json "$work/$kind.json" --prepare "rm -f $work/$kind.db" \
    "sqlite3 $work/$kind.db < $work/$kind.sql" >/dev/null
  median=$(python3 -c "import json,statistics;print(round(statistics.median(json.load(open('$work/$kind.json'))['results'][0]['times']),3))")
  rm -f "$work/$kind.db"; sqlite3 "$work/$kind.db" < "$work/$kind.sql"
  size=$(du -b "$work/$kind.db" | cut -f1)
  echo "sqlite3 $kind: median ${median} s, $(python3 -c "print(round(1000209/$median/1e6,2))") M rows/s, ${size} bytes on disk"
done
