#!/usr/bin/env bash
# Runs one libFuzzer target of tests/fuzz/ for a while (README "Fuzzing"):
#
#   scripts/fuzz.sh TARGET SECONDS [--merge]
#
# TARGET is request, json, csv, readers, ddlib or policy (tests/fuzz/fuzz_TARGET.c).
# Builds it with clang, -fsanitize=fuzzer,address,undefined, in build-fuzz/
# (cmake -DDD_FUZZ=ON), then fuzzes for SECONDS with one job, starting from
# the committed seeds in tests/fuzz/corpus/TARGET/. New inputs go to
# build-fuzz/corpus/TARGET/; a crash is saved in build-fuzz/artifacts/TARGET/.
# With --merge, the inputs that add coverage are then merged into
# tests/fuzz/corpus/TARGET/ (to commit); without it, that directory is only
# read. Prints the executions run. Exit status: 0 no finding, else libFuzzer's.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/fuzz.sh TARGET SECONDS [--merge]" >&2; exit 2; }
[ $# -ge 2 ] || usage
TARGET=$1
SECONDS_=$2
MERGE=0
[ "${3:-}" = "--merge" ] && MERGE=1
[ -f "tests/fuzz/fuzz_${TARGET}.c" ] || { echo "fuzz.sh: no target '${TARGET}' (tests/fuzz/fuzz_${TARGET}.c)" >&2; exit 2; }
[[ "$SECONDS_" =~ ^[0-9]+$ ]] || usage

BUILD=build-fuzz
CC_=${CC:-clang}
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER="$CC_" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DDD_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j2 --target "fuzz_${TARGET}" >/dev/null

SEEDS="tests/fuzz/corpus/${TARGET}"
WORK="$BUILD/corpus/${TARGET}"
ART="$BUILD/artifacts/${TARGET}"
mkdir -p "$WORK" "$ART"
MAXLEN=8192
[ "$TARGET" = policy ] && MAXLEN=16384 # the shipped policies are seeds
DICT=()
[ -f "tests/fuzz/dict/${TARGET}.dict" ] && DICT=(-dict="tests/fuzz/dict/${TARGET}.dict")

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"

LOG="$BUILD/fuzz-${TARGET}.log"
set +e
start=$(date +%s)
"$BUILD/fuzz_${TARGET}" -max_total_time="$SECONDS_" -timeout=10 -rss_limit_mb=2048 \
	-max_len="$MAXLEN" -print_final_stats=1 -artifact_prefix="$ART/" "${DICT[@]}" \
	"$WORK" "$SEEDS" 2>&1 | tee "$LOG" | grep -E "^(#[0-9]+[[:space:]]+(INITED|DONE)|==[0-9]+==|SUMMARY|Done )" 
rc=${PIPESTATUS[0]}
elapsed=$(( $(date +%s) - start ))
set -e
runs=$(grep -Eo "stat::number_of_executed_units: *[0-9]+" "$LOG" | grep -Eo "[0-9]+$" | tail -1)
echo "fuzz.sh: ${TARGET}: ${runs:-?} executions in ${elapsed} s, exit ${rc} (log: ${LOG})"
if [ "$rc" -ne 0 ]; then
	echo "fuzz.sh: finding saved in ${ART}/; reproduce with ${BUILD}/fuzz_${TARGET} FILE" >&2
	exit "$rc"
fi
if [ "$MERGE" = 1 ]; then
	before=$(ls "$SEEDS" | wc -l)
	"$BUILD/fuzz_${TARGET}" -merge=1 -timeout=10 -max_len="$MAXLEN" "$SEEDS" "$WORK" >/dev/null 2>&1
	echo "fuzz.sh: merged into ${SEEDS}: $(( $(ls "$SEEDS" | wc -l) - before )) new inputs"
fi
