/* libFuzzer target: the .npz (zip) reader on arbitrary bytes. */
#include <stdlib.h>

#include "npz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct npz_options opts = {.skip_unsupported = size & 1, .max_inflated = 1u << 24};
    struct npz_file *f;
    char err[FMT_ERR_SIZE];
    if (npz_parse(data, size, &opts, &f, err, sizeof err) == FMT_OK)
        npz_free(f);
    return 0;
}
