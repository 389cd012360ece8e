/* Representation `planes` (spec 6.5): 4- and 8-byte elements stored as their
 * top two bytes (one u16 symbol: for floats the sign, the exponent and the
 * leading mantissa bits, which are strongly skewed and correlated) plus one
 * stream per remaining byte (nearly uniform mantissa bytes, kept apart so
 * they do not dilute the statistics of the high part). */
#include "repr.h"

static int planes_check(const struct cnnz_tensor_info *ti)
{
    size_t es = cnnz_dtype_size(ti->dtype);
    return es == 4 || es == 8 ? CNNZ_OK : CNNZ_E_REPR;
}

static int planes_read(struct cnnz_tensor_info *ti, const uint8_t *params, int reserved_ok)
{
    (void)params, (void)reserved_ok;
    return planes_check(ti);
}

static void planes_write(const struct cnnz_tensor_info *ti, uint8_t *params)
{
    (void)ti, (void)params;
}

static unsigned planes_count(const struct cnnz_tensor_info *ti)
{
    return (unsigned)cnnz_dtype_size(ti->dtype) - 1;
}

static int planes_stream(const struct cnnz_tensor_info *ti, unsigned k, uint8_t *role,
                         uint64_t *len, uint64_t *unit)
{
    *unit = 0;
    *role = k == 0 ? CNNZ_ROLE_HIGH : CNNZ_ROLE_PLANE;
    return cnnz__mul64(ti->elements, k == 0 ? 2 : 1, len);
}

/* Stream 0 holds bytes es-2 and es-1 of each element; stream k >= 1 byte es-2-k. */
static int planes_rebuild(const struct cnnz_tensor_info *ti, const struct cnnz__streams *ss,
                          struct cnnz__cursor *cur, uint64_t first, size_t count, uint8_t *dst)
{
    (void)cur;
    if (!count) /* dst and the streams may be NULL: no arithmetic on them */
        return CNNZ_OK;
    const size_t es = cnnz_dtype_size(ti->dtype);
    const uint8_t *hi = ss->data[0] + 2 * first;
    for (size_t i = 0; i < count; i++) {
        dst[i * es + es - 2] = hi[2 * i];
        dst[i * es + es - 1] = hi[2 * i + 1];
    }
    for (size_t k = 1; k + 1 < es; k++) {
        const uint8_t *p = ss->data[k] + first;
        uint8_t *d = dst + es - 2 - k;
        for (size_t i = 0; i < count; i++)
            d[i * es] = p[i];
    }
    return CNNZ_OK;
}

static int planes_split(const struct cnnz__alloc *a, const struct cnnz_tensor_info *ti,
                        const uint8_t *data, size_t size, const uint8_t *codebook,
                        struct cnnz__split *sp)
{
    (void)codebook;
    const size_t es = cnnz_dtype_size(ti->dtype), n = (size_t)ti->elements;
    if (size != ti->decoded_bytes)
        return CNNZ_E_ARG;
    sp->n = 0;
    for (unsigned k = 0; k + 1 < es; k++) {
        size_t len = k == 0 ? 2 * n : n;
        uint8_t *p = len ? cnnz__malloc(a, len) : NULL;
        if (len && !p)
            return CNNZ_E_NOMEM;
        sp->owned[k] = p;
        sp->data[k] = p;
        sp->len[k] = len;
        sp->role[k] = k == 0 ? CNNZ_ROLE_HIGH : CNNZ_ROLE_PLANE;
        sp->n = k + 1;
        if (k == 0) {
            for (size_t i = 0; i < n; i++) {
                p[2 * i] = data[i * es + es - 2];
                p[2 * i + 1] = data[i * es + es - 1];
            }
        } else {
            for (size_t i = 0; i < n; i++)
                p[i] = data[i * es + es - 2 - k];
        }
    }
    return CNNZ_OK;
}

const struct cnnz__repr cnnz__repr_planes = {
    .id = CNNZ_REPR_PLANES,
    .name = "planes",
    .params_len = 0,
    .read = planes_read,
    .write = planes_write,
    .check = planes_check,
    .count = planes_count,
    .stream = planes_stream,
    .rebuild = planes_rebuild,
    .split = planes_split,
};
