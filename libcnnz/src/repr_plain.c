/* Representation `plain` (spec 6.2): one stream holding the elements. */
#include "repr.h"

static int plain_check(const struct cnnz_tensor_info *ti)
{
    return cnnz_dtype_size(ti->dtype) ? CNNZ_OK : CNNZ_E_DTYPE;
}

static int plain_read(struct cnnz_tensor_info *ti, const uint8_t *params, int reserved_ok)
{
    (void)params, (void)reserved_ok;
    ti->symbol_dtype = 0;
    ti->scale = ti->offset = 0;
    return plain_check(ti);
}

static void plain_write(const struct cnnz_tensor_info *ti, uint8_t *params)
{
    (void)ti, (void)params;
}

static int plain_stream(const struct cnnz_tensor_info *ti, unsigned k, uint8_t *role,
                        uint64_t *decoded_len, uint64_t *unit)
{
    (void)k;
    *unit = 0;
    *role = CNNZ_ROLE_VALUES;
    return cnnz__mul64(ti->elements, cnnz_dtype_size(ti->dtype), decoded_len);
}

static int plain_rebuild(const struct cnnz_tensor_info *ti, const struct cnnz__streams *ss,
                   struct cnnz__cursor *cur, uint64_t first, size_t count, uint8_t *dst)
{
    (void)cur;
    size_t es = cnnz_dtype_size(ti->dtype);
    const uint8_t *src = ss->data[0] + first * es;
    if (ti->dtype == CNNZ_DT_BOOL) /* spec 6.2: only 0 and 1 are booleans */
        for (size_t i = 0; i < count; i++)
            if (src[i] > 1)
                return CNNZ_E_CORRUPT;
    if (src != dst && count)
        memmove(dst, src, count * es);
    return CNNZ_OK;
}

const struct cnnz__repr cnnz__repr_plain = {
    .id = CNNZ_REPR_PLAIN,
    .name = "plain",
    .count = cnnz__repr_one,
    .params_len = 0,
    .read = plain_read,
    .write = plain_write,
    .check = plain_check,
    .stream = plain_stream,
    .rebuild = plain_rebuild,
    .split = cnnz__split_one,
};
