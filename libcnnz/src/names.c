/* Sorting name tables for duplicate detection (spec 5.3, 5.4) and lookup. A
 * merge sort with a context pointer: qsort has none, and qsort_r is not C11. */
#include "reader.h"

typedef const char *(*key_fn)(const void *ctx, uint32_t i, size_t *len);

static int cmp(key_fn key, const void *ctx, uint32_t x, uint32_t y)
{
    size_t lx, ly;
    const char *a = key(ctx, x, &lx), *b = key(ctx, y, &ly);
    int c = memcmp(a, b, lx < ly ? lx : ly);
    if (c)
        return c;
    return lx < ly ? -1 : lx > ly;
}

int cnnz__sort_names(const struct cnnz__alloc *a, uint32_t *idx, uint32_t n, key_fn key,
                     const void *ctx, uint32_t *dup)
{
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    if (n < 2)
        return CNNZ_OK;
    uint32_t *tmp = cnnz__malloc_array(a, n, sizeof *tmp);
    if (!tmp)
        return CNNZ_E_NOMEM;
    uint32_t *src = idx, *dst = tmp;
    for (uint32_t width = 1; width < n; width *= 2) {
        for (uint32_t lo = 0; lo < n; lo += 2 * width) {
            uint32_t mid = lo + width < n ? lo + width : n;
            uint32_t hi = mid + width < n ? mid + width : n;
            uint32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = cmp(key, ctx, src[i], src[j]) <= 0 ? src[i++] : src[j++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
        if (width > UINT32_MAX / 2)
            break;
    }
    if (src != idx)
        memcpy(idx, src, (size_t)n * sizeof *idx);
    cnnz__free(a, tmp);
    for (uint32_t i = 1; i < n; i++)
        if (cmp(key, ctx, idx[i - 1], idx[i]) == 0) {
            *dup = idx[i] > idx[i - 1] ? idx[i] : idx[i - 1];
            return CNNZ_E_DUPLICATE;
        }
    return CNNZ_OK;
}
