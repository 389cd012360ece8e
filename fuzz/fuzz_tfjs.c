/* libFuzzer target: the TensorFlow.js manifest reader on arbitrary JSON
 * bytes; every shard it names reads as the same 4 KiB of fixed bytes. */
#include <stdlib.h>
#include <string.h>

#include "tfjs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int shard(void *opaque, const char *path, unsigned char **d, size_t *n, char *err, size_t es)
{
    (void)opaque, (void)path, (void)err, (void)es;
    *d = calloc(1, 4096);
    if (!*d)
        return FMT_E_NOMEM;
    *n = 4096;
    return FMT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tfjs_model *m;
    char err[FMT_ERR_SIZE];
    if (tfjs_parse(data, size, "fuzz/model.json", shard, NULL, &m, err, sizeof err) == FMT_OK)
        tfjs_free(m);
    return 0;
}
