/* The distinct symbols of a short stream of 16-bit symbols, for the
 * encoders (coder.h). A long stream pays for tables of all 65536 values; a
 * short one would spend most of its encode clearing and scanning them, so
 * its symbols are sorted instead. */
#include "coder.h"

int cnnz__dense16_build(const struct cnnz__alloc *a, const uint8_t *src, size_t n,
                        struct cnnz__dense16 *d)
{
    memset(d, 0, sizeof *d);
    if (n > CNNZ__DENSE16_MAX)
        return CNNZ_E_ARG;
    /* positions sorted twice (2 x n), sym, cnt, idx: 12 bytes a symbol */
    uint8_t *mem = cnnz__malloc_array(a, n ? n : 1, 12);
    if (!mem)
        return CNNZ_E_NOMEM;
    uint16_t *p = (uint16_t *)(void *)mem, *q = p + n;
    d->cnt = (uint32_t *)(void *)(q + n);
    d->sym = (uint16_t *)(void *)(d->cnt + n);
    d->idx = (uint8_t *)(d->sym + n);
    d->mem = mem;
    /* positions by symbol: a stable counting sort on the low byte, then
     * on the high byte (n <= 65536, so a position fits 16 bits) */
    for (unsigned pass = 0; pass < 2; pass++) {
        uint32_t at[257] = {0};
        const uint16_t *from = pass ? q : p;
        uint16_t *to = pass ? p : q;
        for (size_t i = 0; i < n; i++)
            at[src[2 * i + pass] + 1]++;
        for (unsigned b = 0; b < 256; b++)
            at[b + 1] += at[b];
        for (size_t i = 0; i < n; i++) {
            size_t pos = pass ? from[i] : i;
            to[at[src[2 * pos + pass]]++] = (uint16_t)pos;
        }
    }
    uint32_t k = 0;
    for (size_t i = 0, j; i < n; i = j) {
        const uint16_t s = cnnz__le16(src + 2 * (size_t)p[i]);
        for (j = i; j < n && cnnz__le16(src + 2 * (size_t)p[j]) == s; j++)
            cnnz__put16(d->idx + 2 * (size_t)p[j], (uint16_t)k);
        d->sym[k] = s;
        d->cnt[k++] = (uint32_t)(j - i);
    }
    d->k = k;
    return CNNZ_OK;
}

void cnnz__dense16_free(const struct cnnz__alloc *a, struct cnnz__dense16 *d)
{
    cnnz__free(a, d->mem);
    memset(d, 0, sizeof *d);
}
