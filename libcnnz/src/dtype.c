/* Element types (spec 5.2) and the exact float widenings (spec 6.4). */
#include <string.h>

#include "common.h"

static const struct {
    const char *name;
    uint8_t size;
} dtypes[] = {
    [CNNZ_DT_F32] = {"f32", 4},  [CNNZ_DT_F16] = {"f16", 2}, [CNNZ_DT_BF16] = {"bf16", 2},
    [CNNZ_DT_F64] = {"f64", 8},  [CNNZ_DT_I8] = {"i8", 1},   [CNNZ_DT_U8] = {"u8", 1},
    [CNNZ_DT_I16] = {"i16", 2},  [CNNZ_DT_U16] = {"u16", 2}, [CNNZ_DT_I32] = {"i32", 4},
    [CNNZ_DT_U32] = {"u32", 4},  [CNNZ_DT_I64] = {"i64", 8}, [CNNZ_DT_U64] = {"u64", 8},
    [CNNZ_DT_BOOL] = {"bool", 1},
};
#define NDTYPES (sizeof dtypes / sizeof dtypes[0])

size_t cnnz_dtype_size(int dtype)
{
    if (dtype <= 0 || (size_t)dtype >= NDTYPES)
        return 0;
    return dtypes[dtype].size;
}

const char *cnnz_dtype_name(int dtype)
{
    if (dtype <= 0 || (size_t)dtype >= NDTYPES)
        return NULL;
    return dtypes[dtype].name;
}

int cnnz_dtype_from_name(const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 1; i < NDTYPES; i++)
        if (strcmp(dtypes[i].name, name) == 0)
            return (int)i;
    return 0;
}

static float f32_from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

float cnnz_bf16_to_f32(uint16_t b)
{
    return f32_from_bits((uint32_t)b << 16);
}

float cnnz_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t frac = h & 0x3FF;
    uint32_t bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (frac << 13); /* inf, or NaN keeping its payload */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (frac << 13); /* rebias 15 -> 127 */
    } else if (frac == 0) {
        bits = sign;
    } else {
        /* Subnormal: normalize. value = frac * 2^-24. */
        int shift = 0;
        while (!(frac & 0x400)) {
            frac <<= 1;
            shift++;
        }
        frac &= 0x3FF;
        bits = sign | ((uint32_t)(113 - shift) << 23) | (frac << 13);
    }
    return f32_from_bits(bits);
}
