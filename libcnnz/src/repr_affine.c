/* Representation `affine` (spec 6.3): u8/u16 symbols q, f32 = to_f32(q*scale + offset),
 * or for an i32 tensor the value rounded half up (JavaScript's Math.round, as tfjs does).
 * The multiply and add are separate binary64 operations: the build uses
 * -ffp-contract=off so the compiler never fuses them (tfjs does not). */
#include <math.h>

#include "repr.h"

static int affine_check(const struct cnnz_tensor_info *ti)
{
    if (ti->dtype != CNNZ_DT_F32 && ti->dtype != CNNZ_DT_I32)
        return CNNZ_E_REPR;
    if (ti->symbol_dtype != CNNZ_DT_U8 && ti->symbol_dtype != CNNZ_DT_U16)
        return CNNZ_E_REPR;
    if (!isfinite(ti->scale) || !isfinite(ti->offset))
        return CNNZ_E_REPR;
    return CNNZ_OK;
}

static int affine_read(struct cnnz_tensor_info *ti, const uint8_t *p, int reserved_ok)
{
    if (!reserved_ok && !cnnz__reserved_zero(p + 1, 7))
        return CNNZ_E_RESERVED;
    ti->symbol_dtype = p[0];
    ti->scale = cnnz__f64_from_bits(cnnz__le64(p + 8));
    ti->offset = cnnz__f64_from_bits(cnnz__le64(p + 16));
    return affine_check(ti);
}

static void affine_write(const struct cnnz_tensor_info *ti, uint8_t *p)
{
    memset(p, 0, 24);
    p[0] = (uint8_t)ti->symbol_dtype;
    cnnz__put64(p + 8, cnnz__f64_bits(ti->scale));
    cnnz__put64(p + 16, cnnz__f64_bits(ti->offset));
}

static int affine_stream(const struct cnnz_tensor_info *ti, unsigned k, uint8_t *role,
                         uint64_t *decoded_len, uint64_t *unit)
{
    (void)k;
    *unit = 0;
    *role = CNNZ_ROLE_SYMBOLS;
    return cnnz__mul64(ti->elements, cnnz_dtype_size(ti->symbol_dtype), decoded_len);
}

static void put_f32(uint8_t *p, float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    cnnz__put32(p, b);
}

static unsigned symbol(const struct cnnz_tensor_info *ti, const uint8_t *s, uint64_t i)
{
    return ti->symbol_dtype == CNNZ_DT_U8 ? s[i] : cnnz__le16(s + 2 * i);
}

void cnnz__affine_lut(const struct cnnz_tensor_info *ti, float lut[256])
{
    for (unsigned q = 0; q < 256; q++)
        lut[q] = (float)((double)q * ti->scale + ti->offset);
}

/* i32 tensors: round half toward +infinity. x - floor(x) is exact in binary64,
 * so this is Math.round even where x + 0.5 would round. */
static int rebuild_i32(const struct cnnz_tensor_info *ti, const uint8_t *s, uint64_t first,
                       size_t count, uint8_t *dst)
{
    for (size_t i = 0; i < count; i++) {
        double x = (double)symbol(ti, s, first + i) * ti->scale + ti->offset;
        double r = floor(x);
        if (x - r >= 0.5)
            r += 1;
        if (!(r >= -2147483648.0 && r <= 2147483647.0))
            return CNNZ_E_CORRUPT;
        cnnz__put32(dst + 4 * i, (uint32_t)(int32_t)r);
    }
    return CNNZ_OK;
}

static int affine_rebuild(const struct cnnz_tensor_info *ti, const struct cnnz__streams *ss,
                   struct cnnz__cursor *cur, uint64_t first, size_t count, uint8_t *dst)
{
    (void)cur;
    if (ti->dtype == CNNZ_DT_I32)
        return rebuild_i32(ti, ss->data[0], first, count, dst);
    const double scale = ti->scale, offset = ti->offset;
    if (ti->symbol_dtype == CNNZ_DT_U8) {
        /* 256 possible values: a table makes the loop a lookup. */
        float lut[256];
        cnnz__affine_lut(ti, lut);
        const uint8_t *s = ss->data[0] + first;
        for (size_t i = 0; i < count; i++)
            put_f32(dst + 4 * i, lut[s[i]]);
    } else {
        const uint8_t *s = ss->data[0] + 2 * first;
        for (size_t i = 0; i < count; i++)
            put_f32(dst + 4 * i, (float)((double)cnnz__le16(s + 2 * i) * scale + offset));
    }
    return CNNZ_OK;
}

const struct cnnz__repr cnnz__repr_affine = {
    .id = CNNZ_REPR_AFFINE,
    .name = "affine",
    .count = cnnz__repr_one,
    .params_len = 24,
    .read = affine_read,
    .write = affine_write,
    .check = affine_check,
    .stream = affine_stream,
    .rebuild = affine_rebuild,
    .split = cnnz__split_one,
};
