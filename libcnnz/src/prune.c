/* Magnitude pruning (cnnz_quant.h): per tensor by fraction, globally across
 * tensors by fraction, and by absolute threshold.
 *
 * Fraction pruning is a selection problem: find the key K of the k-th
 * smallest |w| and prune everything below it plus the first ties. The key of
 * a finite float's magnitude is its bit pattern with the sign cleared, which
 * orders like the magnitude (IEEE 754 non-negative floats sort as unsigned
 * integers), and -0.0 and +0.0 share key 0. A two-level radix select (top
 * 16 bits, then low 16 bits inside the chosen bucket) finds K in two passes
 * over the data with one 65536-entry count table: O(n), no copy, no sort. */
#include <math.h>

#include "quant.h"

#define HBITS 16
#define HSIZE ((size_t)1 << HBITS)
#define KEY_INF 0x7f800000u /* keys >= this are infinities and NaNs */

static inline uint32_t mag_key(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b & 0x7fffffffu;
}

/* floor(f * total), with a small tolerance so decimal fractions count as
 * written (0.29 * 100 is 28.999999999999996 in binary64). */
static uint64_t prune_count(double f, uint64_t total)
{
    double x = floor(f * (double)total + 1e-6);
    if (x <= 0)
        return 0;
    if (x >= (double)total)
        return total;
    return (uint64_t)x;
}

struct part {
    const float *w;
    size_t n;
    uint8_t *mask;
};

static int select_prune(const struct part *p, size_t count, double fraction,
                        const struct cnnz_allocator *allocator, struct cnnz_prune_result *res)
{
    if (!p || count == 0 || isnan(fraction) || fraction < 0 || fraction > 1)
        return CNNZ_E_ARG;
    uint64_t total = 0;
    for (size_t t = 0; t < count; t++) {
        if (p[t].n && (!p[t].w || !p[t].mask))
            return CNNZ_E_ARG;
        if (cnnz__add64(total, p[t].n, &total))
            return CNNZ_E_ARG;
    }
    if (total == 0)
        return CNNZ_E_ARG;

    struct cnnz__alloc a;
    cnnz__alloc_init(&a, allocator);
    uint64_t *hist = cnnz__malloc_array(&a, HSIZE, sizeof *hist);
    if (!hist)
        return CNNZ_E_NOMEM;

    /* Pass 1: validate and count the top 16 bits of every key. */
    memset(hist, 0, HSIZE * sizeof *hist);
    for (size_t t = 0; t < count; t++)
        for (size_t i = 0; i < p[t].n; i++) {
            uint32_t k = mag_key(p[t].w[i]);
            if (k >= KEY_INF) {
                cnnz__free(&a, hist);
                return CNNZ_E_INPUT;
            }
            hist[k >> HBITS]++;
        }

    uint64_t k = prune_count(fraction, total);
    uint32_t cut = 0;     /* K: the key of the k-th smallest magnitude */
    uint64_t ties = 0;    /* weights with key == K still to prune, in order */
    if (k > 0) {
        uint64_t below = 0;
        size_t h = 0;
        while (below + hist[h] < k)
            below += hist[h++];
        /* Pass 2: the low 16 bits inside bucket h. */
        memset(hist, 0, HSIZE * sizeof *hist);
        for (size_t t = 0; t < count; t++)
            for (size_t i = 0; i < p[t].n; i++) {
                uint32_t key = mag_key(p[t].w[i]);
                if ((key >> HBITS) == h)
                    hist[key & (HSIZE - 1)]++;
            }
        size_t l = 0;
        while (below + hist[l] < k)
            below += hist[l++];
        cut = (uint32_t)(h << HBITS | l);
        ties = k - below;
    }
    cnnz__free(&a, hist);

    /* Pass 3: the mask. With k = 0 nothing is below key 0 and no ties. */
    for (size_t t = 0; t < count; t++)
        for (size_t i = 0; i < p[t].n; i++) {
            uint32_t key = mag_key(p[t].w[i]);
            uint8_t m = 0;
            if (k > 0 && key < cut)
                m = 1;
            else if (k > 0 && key == cut && ties > 0) {
                m = 1;
                ties--;
            }
            p[t].mask[i] = m;
        }
    if (res) {
        res->weights = total;
        res->pruned = k;
        float thr;
        memcpy(&thr, &cut, sizeof thr);
        res->threshold = thr;
    }
    return CNNZ_OK;
}

int cnnz_prune_fraction(const float *w, size_t n, double fraction, uint8_t *mask,
                        const struct cnnz_allocator *allocator, struct cnnz_prune_result *result)
{
    if (!w || !mask || n == 0)
        return CNNZ_E_ARG;
    struct part p = {w, n, mask};
    return select_prune(&p, 1, fraction, allocator, result);
}

int cnnz_prune_global(const float *const *w, const size_t *n, size_t count, double fraction,
                      uint8_t *const *mask, const struct cnnz_allocator *allocator,
                      struct cnnz_prune_result *result)
{
    if (!w || !n || !mask || count == 0)
        return CNNZ_E_ARG;
    struct cnnz__alloc a;
    cnnz__alloc_init(&a, allocator);
    struct part *p = cnnz__malloc_array(&a, count, sizeof *p);
    if (!p)
        return CNNZ_E_NOMEM;
    for (size_t t = 0; t < count; t++) {
        p[t].w = w[t];
        p[t].n = n[t];
        p[t].mask = mask[t];
    }
    int err = select_prune(p, count, fraction, allocator, result);
    cnnz__free(&a, p);
    return err;
}

int cnnz_prune_threshold(const float *w, size_t n, double threshold, uint8_t *mask,
                         struct cnnz_prune_result *result)
{
    if (!w || !mask || n == 0 || isnan(threshold))
        return CNNZ_E_ARG;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(w[i]))
            return CNNZ_E_INPUT;
    uint64_t pruned = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t m = fabs((double)w[i]) <= threshold;
        mask[i] = m;
        pruned += m;
    }
    if (result) {
        result->weights = n;
        result->pruned = pruned;
        result->threshold = (float)threshold;
    }
    return CNNZ_OK;
}
