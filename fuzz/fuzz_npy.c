/* libFuzzer target: the .npy reader on arbitrary bytes (cnnz-tools/formats/npy.h). */
#include <stdlib.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct npy_array a;
    char err[FMT_ERR_SIZE];
    if (npy_parse(data, size, &a, err, sizeof err) == FMT_OK &&
        (a.data_offset + a.data_bytes != size || a.data != data + a.data_offset))
        abort(); /* an accepted file is exactly header + data */
    return 0;
}
