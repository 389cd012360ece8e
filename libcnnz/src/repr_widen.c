/* Representation `widen` (spec 6.4): f16 or bf16 values widened exactly to f32. */
#include "repr.h"

static int widen_check(const struct cnnz_tensor_info *ti)
{
    if (ti->dtype != CNNZ_DT_F32)
        return CNNZ_E_REPR;
    if (ti->symbol_dtype != CNNZ_DT_F16 && ti->symbol_dtype != CNNZ_DT_BF16)
        return CNNZ_E_REPR;
    return CNNZ_OK;
}

static int widen_read(struct cnnz_tensor_info *ti, const uint8_t *p, int reserved_ok)
{
    if (!reserved_ok && !cnnz__reserved_zero(p + 1, 7))
        return CNNZ_E_RESERVED;
    ti->symbol_dtype = p[0];
    ti->scale = ti->offset = 0;
    return widen_check(ti);
}

static void widen_write(const struct cnnz_tensor_info *ti, uint8_t *p)
{
    memset(p, 0, 8);
    p[0] = (uint8_t)ti->symbol_dtype;
}

static int widen_stream(const struct cnnz_tensor_info *ti, unsigned k, uint8_t *role,
                        uint64_t *decoded_len, uint64_t *unit)
{
    (void)k;
    *unit = 0;
    *role = CNNZ_ROLE_VALUES;
    return cnnz__mul64(ti->elements, 2, decoded_len);
}

static int widen_rebuild(const struct cnnz_tensor_info *ti, const struct cnnz__streams *ss,
                   struct cnnz__cursor *cur, uint64_t first, size_t count, uint8_t *dst)
{
    (void)cur;
    const uint8_t *s = ss->data[0] + 2 * first;
    int bf = ti->symbol_dtype == CNNZ_DT_BF16;
    for (size_t i = 0; i < count; i++) {
        uint16_t h = cnnz__le16(s + 2 * i);
        float f = bf ? cnnz_bf16_to_f32(h) : cnnz_f16_to_f32(h);
        uint32_t b;
        memcpy(&b, &f, sizeof b);
        cnnz__put32(dst + 4 * i, b);
    }
    return CNNZ_OK;
}

const struct cnnz__repr cnnz__repr_widen = {
    .id = CNNZ_REPR_WIDEN,
    .name = "widen",
    .count = cnnz__repr_one,
    .params_len = 8,
    .read = widen_read,
    .write = widen_write,
    .check = widen_check,
    .stream = widen_stream,
    .rebuild = widen_rebuild,
    .split = cnnz__split_one,
};
