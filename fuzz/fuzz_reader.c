/* libFuzzer target: open arbitrary bytes as a .cnnz file, list, decode every
 * tensor and verify. Built with -fsanitize=fuzzer by `make fuzz`; replayed
 * over fuzz/corpus/reader by the plain driver (replay.c) in `make check`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnnz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cnnz_limits lim;
    cnnz_limits_default(&lim);
    lim.max_tensor_bytes = 1u << 24; /* keep the fuzzer's memory small */
    lim.max_stream_bytes = 1u << 24;
    struct cnnz_open_options opts = {.limits = &lim};
    cnnz_reader *r;
    if (cnnz_reader_open_memory(&r, data, size, &opts) != CNNZ_OK)
        return 0;
    for (size_t i = 0; i < cnnz_reader_tensor_count(r); i++) {
        struct cnnz_tensor_info ti;
        if (cnnz_reader_tensor_info(r, i, &ti) != CNNZ_OK)
            abort();
        size_t found;
        if (cnnz_reader_find(r, ti.name, &found) != CNNZ_OK || found != i)
            abort(); /* names are unique, so lookup must return this tensor */
        uint8_t *buf = malloc((size_t)ti.decoded_bytes + 1);
        if (!buf)
            continue;
        buf[ti.decoded_bytes] = 0xA5;
        int err = cnnz_reader_decode(r, i, buf, (size_t)ti.decoded_bytes, NULL);
        if (buf[ti.decoded_bytes] != 0xA5)
            abort(); /* wrote past the end of the output */
        if (err == CNNZ_OK && ti.decoded_bytes &&
            cnnz_reader_decode(r, i, buf, (size_t)ti.decoded_bytes - 1, NULL) != CNNZ_E_BUFFER)
            abort();
        free(buf);
    }
    for (size_t i = 0; i < cnnz_reader_meta_count(r); i++) {
        struct cnnz_meta m;
        if (cnnz_reader_meta_get(r, i, &m) != CNNZ_OK)
            abort();
    }
    (void)cnnz_reader_verify(r, NULL);
    cnnz_reader_close(r);
    return 0;
}
