/* tests/fuzz/fuzz.h — the libFuzzer entry points every fuzz target defines (and that
 * replay.c calls), declared once so targets build under -Wmissing-prototypes. */
#ifndef IG_FUZZ_H
#define IG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input; must not keep state between calls. Returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional one-time set-up; weak so targets may leave it out. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#endif
