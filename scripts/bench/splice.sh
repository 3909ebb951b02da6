#!/usr/bin/env bash
# Replaces the text between <!-- NAME:BEGIN --> and <!-- NAME:END --> in a Markdown file with
# the contents of another file; the rest of the file is left as it is.
#   scripts/bench/splice.sh docs/BENCHMARKS.md table.md BENCH-TABLE
set -euo pipefail
doc=$1 table=$2 name=${3:-BENCH-TABLE}
grep -q "<!-- $name:BEGIN -->" "$doc" && grep -q "<!-- $name:END -->" "$doc" || {
  echo "splice: $doc has no $name markers; text left in $table" >&2; exit 0; }
awk -v t="$table" -v b="<!-- $name:BEGIN -->" -v e="<!-- $name:END -->" '
  index($0, b) { print; while ((getline l < t) > 0) print l; skip = 1; next }
  index($0, e) { skip = 0 }
  !skip { print }
' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
