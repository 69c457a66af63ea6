#!/usr/bin/env bash
# README command 2: install what is missing, build, run every test (unit and
# integration), then build again with AddressSanitizer + UndefinedBehavior-
# Sanitizer and run the whole suite once more.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/bootstrap.sh
JOBS="$(nproc)"

echo "== build (RelWithDebInfo, warnings are errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"
echo "== tests"
(cd build && ctest --output-on-failure -j"$JOBS")

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDD_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$JOBS"
echo "== tests under ASan + UBSan"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
(cd build-asan && ctest --output-on-failure -j"$JOBS")
echo "== all tests passed"
