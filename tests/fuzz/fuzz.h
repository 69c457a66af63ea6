/* dealdesk fuzz targets (tests/fuzz/): each fuzz_<target>.c defines the
 * libFuzzer entry point below. Built two ways (tests/fuzz/fuzz.cmake):
 *   - fuzz_<target>: with clang -fsanitize=fuzzer (cmake -DDD_FUZZ=ON,
 *     scripts/fuzz.sh), the real fuzzer;
 *   - fuzz_replay_<target>: with replay.c's main(), in every build, which
 *     feeds each file of tests/fuzz/corpus/<target>/ to the entry point
 *     once (ctest fuzz/<target>).
 * A target returns 0 for every input; a bug is a crash, a sanitizer
 * report or a failed FUZZ_CHECK. */
#ifndef DD_TESTS_FUZZ_H
#define DD_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: abort (a finding) when it fails. */
#define FUZZ_CHECK(cond, ...)                                                        \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: ", __FILE__,   \
			        __LINE__, #cond);                                    \
			fprintf(stderr, __VA_ARGS__);                                \
			fputc('\n', stderr);                                         \
			abort();                                                     \
		}                                                                    \
	} while (0)

#endif
