/* Representation `ham` (spec 6.6): the paper's HAM. A codebook of entries in
 * the tensor's dtype and one index per element; an entropy coder on the index
 * stream does the rest. Also the codebook rules shared with `sham`. */
#include "repr.h"

/* spec 6.6: symbol_dtype u8 or u16, 1 <= codebook_size <= 2^(8 * its size). */
int cnnz__codebook_check(const struct cnnz_tensor_info *ti)
{
    if (ti->symbol_dtype != CNNZ_DT_U8 && ti->symbol_dtype != CNNZ_DT_U16)
        return CNNZ_E_REPR;
    uint32_t max = ti->symbol_dtype == CNNZ_DT_U8 ? 256u : 65536u;
    if (ti->codebook_size < 1 || ti->codebook_size > max)
        return CNNZ_E_REPR;
    return CNNZ_OK;
}

/* The first 8 parameter bytes: symbol_dtype, 3 reserved, codebook_size. */
int cnnz__codebook_read(struct cnnz_tensor_info *ti, const uint8_t *p, int reserved_ok)
{
    if (!reserved_ok && !cnnz__reserved_zero(p + 1, 3))
        return CNNZ_E_RESERVED;
    ti->symbol_dtype = p[0];
    ti->codebook_size = cnnz__le32(p + 4);
    ti->scale = ti->offset = 0;
    return CNNZ_OK;
}

void cnnz__codebook_write(const struct cnnz_tensor_info *ti, uint8_t *p)
{
    p[0] = (uint8_t)ti->symbol_dtype;
    p[1] = p[2] = p[3] = 0;
    cnnz__put32(p + 4, ti->codebook_size);
}

/* Copy codebook entry sym to dst; CNNZ_E_CORRUPT for an index past the
 * codebook or a bool entry other than 0/1 (spec 6.2's rule for bool). */
int cnnz__codebook_put(const struct cnnz_tensor_info *ti, const uint8_t *codebook, unsigned sym,
                       uint8_t *dst, size_t es)
{
    if (sym >= ti->codebook_size)
        return CNNZ_E_CORRUPT;
    const uint8_t *e = codebook + (size_t)sym * es;
    if (ti->dtype == CNNZ_DT_BOOL && *e > 1)
        return CNNZ_E_CORRUPT;
    memcpy(dst, e, es);
    return CNNZ_OK;
}

int cnnz__entry_is_zero(const uint8_t *e, size_t es)
{
    for (size_t i = 0; i < es; i++)
        if (e[i])
            return 0;
    return 1;
}

uint32_t cnnz__codebook_first_zero(const struct cnnz_tensor_info *ti, const uint8_t *codebook)
{
    size_t es = cnnz_dtype_size(ti->dtype);
    uint32_t k = 0;
    while (k < ti->codebook_size && !cnnz__entry_is_zero(codebook + (size_t)k * es, es))
        k++;
    return k;
}

static int ham_check(const struct cnnz_tensor_info *ti)
{
    return cnnz__codebook_check(ti);
}

static int ham_read(struct cnnz_tensor_info *ti, const uint8_t *p, int reserved_ok)
{
    int err = cnnz__codebook_read(ti, p, reserved_ok);
    return err ? err : ham_check(ti);
}

static void ham_write(const struct cnnz_tensor_info *ti, uint8_t *p)
{
    cnnz__codebook_write(ti, p);
}

static unsigned ham_count(const struct cnnz_tensor_info *ti)
{
    (void)ti;
    return 2;
}

static int ham_stream(const struct cnnz_tensor_info *ti, unsigned k, uint8_t *role, uint64_t *len,
                      uint64_t *unit)
{
    *unit = 0;
    if (k == 0) {
        *role = CNNZ_ROLE_CODEBOOK;
        return cnnz__mul64(ti->codebook_size, cnnz_dtype_size(ti->dtype), len);
    }
    *role = CNNZ_ROLE_SYMBOLS;
    return cnnz__mul64(ti->elements, cnnz_dtype_size(ti->symbol_dtype), len);
}

static int ham_rebuild(const struct cnnz_tensor_info *ti, const struct cnnz__streams *ss,
                       struct cnnz__cursor *cur, uint64_t first, size_t count, uint8_t *dst)
{
    (void)cur;
    const size_t es = cnnz_dtype_size(ti->dtype);
    const uint8_t *cb = ss->data[0];
    int err = CNNZ_OK;
    if (ti->symbol_dtype == CNNZ_DT_U8) {
        const uint8_t *s = ss->data[1] + first;
        if (es == 4 && ti->dtype != CNNZ_DT_BOOL) { /* the common case, kept tight */
            for (size_t i = 0; i < count; i++) {
                if (s[i] >= ti->codebook_size)
                    return CNNZ_E_CORRUPT;
                memcpy(dst + 4 * i, cb + 4 * (size_t)s[i], 4);
            }
            return CNNZ_OK;
        }
        for (size_t i = 0; i < count && !err; i++)
            err = cnnz__codebook_put(ti, cb, s[i], dst + i * es, es);
    } else {
        const uint8_t *s = ss->data[1] + 2 * first;
        for (size_t i = 0; i < count && !err; i++)
            err = cnnz__codebook_put(ti, cb, cnnz__le16(s + 2 * i), dst + i * es, es);
    }
    return err;
}

static int ham_split(const struct cnnz__alloc *a, const struct cnnz_tensor_info *ti,
                     const uint8_t *data, size_t size, const uint8_t *codebook,
                     struct cnnz__split *sp)
{
    (void)a;
    uint64_t cbl, len, unit;
    if (ham_stream(ti, 0, &sp->role[0], &cbl, &unit) || ham_stream(ti, 1, &sp->role[1], &len, &unit) ||
        len != size || (!codebook && cbl))
        return CNNZ_E_ARG;
    sp->n = 2;
    sp->data[0] = codebook;
    sp->len[0] = cbl;
    sp->owned[0] = NULL;
    sp->data[1] = data;
    sp->len[1] = size;
    sp->owned[1] = NULL;
    return CNNZ_OK;
}

const struct cnnz__repr cnnz__repr_ham = {
    .id = CNNZ_REPR_HAM,
    .name = "ham",
    .params_len = 8,
    .read = ham_read,
    .write = ham_write,
    .check = ham_check,
    .count = ham_count,
    .stream = ham_stream,
    .rebuild = ham_rebuild,
    .split = ham_split,
};
