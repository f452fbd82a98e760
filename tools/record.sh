#!/usr/bin/env bash
# Re-record the project's conformance suite on this machine's kernel with the project's recorder.
#   tools/record.sh                 record every scenario in test/conformance/scenarios
#   tools/record.sh NAME...         record only these
# Needs a C compiler and root (userfaultfd, tracefs). khugepaged is quiesced and vm.nr_hugepages set
# to 8 while recording, and a scenario is kept only when two runs agree.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p tools/bin test/conformance/expected
cc -O2 -Wall -o tools/bin/recorder tools/recorder.c -lpthread
khp=/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs
nrh=/proc/sys/vm/nr_hugepages
old=""
oldh=""
if [ -w "$khp" ]; then old=$(cat "$khp"); echo 600000 > "$khp"; fi
# hugetlbfs scenarios expect a pool of 8 huge pages (the simulator's scenario runner assumes the same)
if [ -w "$nrh" ]; then oldh=$(cat "$nrh"); echo 8 > "$nrh"; fi
trap '[ -n "$old" ] && echo "$old" > "$khp"; [ -n "$oldh" ] && echo "$oldh" > "$nrh"' EXIT
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in test/conformance/scenarios/*.txt; do names+=("$(basename "$f" .txt)"); done
fi
for n in "${names[@]}"; do
  s=test/conformance/scenarios/$n.txt
  a=$(tools/bin/recorder < "$s"); b=$(tools/bin/recorder < "$s")
  if [ "$a" != "$b" ]; then echo "unstable: $n (runs differ, not kept)"; continue; fi
  printf '%s\n' "$a" > "test/conformance/expected/$n.out"
  echo "recorded $n"
done
