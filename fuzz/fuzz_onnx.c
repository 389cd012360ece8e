/* libFuzzer target: the ONNX reader on arbitrary bytes (no external data). */
#include <stdlib.h>

#include "onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct onnx_options opts = {.skip_unsupported = size & 1, .max_alloc_bytes = 1u << 26};
    struct onnx_model *m;
    char err[FMT_ERR_SIZE];
    if (onnx_parse(data, size, &opts, &m, err, sizeof err) == FMT_OK)
        onnx_free(m);
    return 0;
}
