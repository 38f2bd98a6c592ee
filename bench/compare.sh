#!/usr/bin/env bash
# Two builds of Conveyor, benchmarked in turns on the same machine (this VM's speed drifts too much for runs
# made apart to compare). Each directory is a built checkout (npm run build) with node_modules, e.g. a
# `git worktree add ../base <commit>` with node_modules linked; the newer bench/ files are copied into it
# so both use the same load driver.
#
#   bash bench/compare.sh ../base . [rounds=3]
set -euo pipefail
a=$(cd "$1" && pwd)
b=$(cd "$2" && pwd)
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
[ "$a/bench" = "$here" ] || cp "$here/load.ts" "$here/http-connection.ts" "$here/measure.ts" "$a/bench/"
[ "$b/bench" = "$here" ] || cp "$here/load.ts" "$here/http-connection.ts" "$here/measure.ts" "$b/bench/"
for round in $(seq "$rounds"); do
  for dir in "$a" "$b"; do
    out=$(cd "$dir" && node --conditions=source --import @swc-node/register/esm-register bench/load.ts --n 20000 --c 50 2>&1 | grep '^|')
    field() { echo "$out" | grep "$1" | awk -F'|' '{print $3}' | sed 's/^ *//; s/ *$//'; }
    echo "round $round $(basename "$dir") ($(git -C "$dir" rev-parse --short HEAD)): $(field 'end-to-end') | p50/p95/p99 $(field 'p50 / p95') | RSS $(field 'RSS, four') | WAL/job $(field 'WAL per job') | speed $(field 'machine speed') | CPU/job $(field 'CPU per job')"
  done
done
