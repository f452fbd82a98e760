#!/usr/bin/env bash
# A sweep of the shared traces x every allocator as a Slurm job array: each array task runs one
# shard of the sweep (--shard auto/N reads SLURM_ARRAY_TASK_ID) and writes its results to
# $OUT/shard-I-of-N.jsonl; a last job, after all of them, merges the shards into the same table,
# JSON and HTML report the unsharded run would print.
#
#   SHARDS=4 OUT=$PWD/sweep examples/slurm-sweep.sh          # submit (needs sbatch)
#
# Run from the project's root (where npm ci has run); the nodes must see the same directory.
set -euo pipefail
SHARDS=${SHARDS:-4}
OUT=${OUT:-$PWD/sweep-out}
TRACES=${TRACES:-$(ls "$PWD"/../shared/traces/data/*.trace.gz | tr '\n' ' ')}
CLI="node $PWD/dist/src/cli/index.js"
mkdir -p "$OUT"
trace_args=""
for t in $TRACES; do trace_args="$trace_args --trace $t"; done

array=$(sbatch --parsable --array=0-$((SHARDS - 1)) --job-name=uffd-sweep --output="$OUT/slurm-%A_%a.log" \
  --wrap="$CLI bench $trace_args --shard auto/$SHARDS --out $OUT --json > /dev/null")
merge=$(sbatch --parsable --dependency=afterok:"$array" --job-name=uffd-merge --output="$OUT/merge.log" \
  --wrap="$CLI merge $OUT --report $OUT/report.html > $OUT/table.txt && $CLI merge $OUT --json > $OUT/results.json")
echo "submitted array job $array ($SHARDS shards) and merge job $merge; results in $OUT (table.txt, results.json, report.html)"
