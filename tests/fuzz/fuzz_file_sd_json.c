/* tests/fuzz/fuzz_file_sd_json.c — fuzz target of the file SD plugin's JSON reader
 * (plugins/discovery/file/parse.c): any bytes as a target file; checks in
 * file_sd_common.h. */
#include <stdint.h>

#include "file_sd_common.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file_sd(FSD_JSON, data, size);
    return 0;
}
