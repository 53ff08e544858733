/* tests/fuzz/fuzz_file_sd_yaml.c — fuzz target of the file SD plugin's YAML reader
 * (plugins/discovery/file/parse.c): any bytes as a target file, aliases and merge keys
 * included; checks in file_sd_common.h. */
#include <stdint.h>

#include "file_sd_common.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file_sd(FSD_YAML, data, size);
    return 0;
}
