#!/usr/bin/env bash
# make fuzz: build the libFuzzer targets with clang (build-fuzz/) and run each for
# FUZZ_SECONDS (default 60) on its seed corpus. Targets: every fuzz-* executable.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
seconds=${FUZZ_SECONDS:-60}
scripts/deps.sh
[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false >/dev/null
ninja -C build-fuzz
rc=0
while IFS= read -r t; do
	name=$(basename "$t")
	corpus=$top/build-fuzz/corpus/$name
	mkdir -p "$corpus"
	seeds=$top/tests/fuzz/${name#fuzz-}/corpus
	[ -d "$seeds" ] || seeds=
	echo "== $name for $seconds s"
	"$t" -max_total_time="$seconds" -print_final_stats=1 "$corpus" ${seeds:+"$seeds"} 2>&1 | tail -15 || rc=1
done < <(find build-fuzz -type f -executable -name 'fuzz-*' | sort)
exit $rc
