/* libFuzzer target: the safetensors reader on arbitrary bytes. */
#include <stdlib.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct safetensors_options opts = {.skip_unsupported = size & 1};
    struct safetensors_file *f;
    char err[FMT_ERR_SIZE];
    if (safetensors_parse(data, size, &opts, &f, err, sizeof err) != FMT_OK)
        return 0;
    for (size_t i = 0; i < f->count; i++)
        if (f->tensors[i].data < data || f->tensors[i].data_bytes > size ||
            f->tensors[i].data + f->tensors[i].data_bytes > data + size)
            abort(); /* tensor data must lie inside the input */
    safetensors_free(f);
    return 0;
}
