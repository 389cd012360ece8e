/* The fine histogram the iterative quantizers (k-means, ECSQ) and the PWS
 * quantiles run on.
 *
 * Why: a Lloyd or ECSQ iteration over n = 25M weights with k levels costs
 * O(n k) done naively, O(n) even when done cleverly. Binned into B equal bins
 * (B = 2^16; up to 2^22 to keep 16 bins per level; down to 16 per weight for
 * sets under 4096 weights), one
 * iteration costs O(B + k) whatever n is, and the data is read once. Each bin
 * keeps its exact count and sums, so a bin behaves as a weighted point at its
 * exact mean; the only approximation is that a bin is assigned as a whole
 * (its weights lie within range / B of each other). The final assignment of
 * every weight is exact (quantize.c), so the histogram only steers where the
 * levels go. Sums are taken relative to the bin centre: the within-bin spread
 * is then computed without cancellation. */
#include "quant.h"

/* 2^16 bins, more when 16 per level need it; fewer for small sets, where 16
 * bins per weight already keep nearly every weight in a bin of its own (and
 * a 1.5 MB table per call would dominate the time of small tensors). */
static uint32_t bin_count(uint32_t levels, uint64_t kept)
{
    uint64_t small = kept < (1u << 12) ? kept : (1u << 12);
    uint64_t want = 16 * (small > levels ? small : levels);
    uint32_t b = 1u << 6;
    while (b < (1u << 22) && b < want)
        b <<= 1;
    return b;
}

void cnnz__qpoints_free(const struct cnnz__alloc *a, struct cnnz__qpoints *p)
{
    cnnz__free(a, p->count);
    cnnz__free(a, p->mean);
    cnnz__free(a, p->bin);
    p->count = p->mean = NULL;
    p->bin = NULL;
    p->m = 0;
}

int cnnz__qpoints_build(const struct cnnz__alloc *a, const struct cnnz__qset *s, uint32_t levels,
                        struct cnnz__qpoints *p)
{
    memset(p, 0, sizeof *p);
    uint32_t B = bin_count(levels, s->kept);
    uint64_t *cnt = cnnz__malloc_array(a, B, sizeof *cnt);
    double *sd = cnnz__malloc_array(a, B, sizeof *sd);
    double *sd2 = cnnz__malloc_array(a, B, sizeof *sd2);
    if (!cnt || !sd || !sd2) {
        cnnz__free(a, cnt);
        cnnz__free(a, sd);
        cnnz__free(a, sd2);
        return CNNZ_E_NOMEM;
    }
    memset(cnt, 0, (size_t)B * sizeof *cnt);
    memset(sd, 0, (size_t)B * sizeof *sd);
    memset(sd2, 0, (size_t)B * sizeof *sd2);

    double range = s->hi - s->lo;
    double scale = range > 0 ? B / range : 0; /* one bin when all kept weights are equal */
    double width = range > 0 ? range / B : 0;
    for (size_t t = 0; t < s->count; t++) {
        const struct cnnz_quant_tensor *ten = &s->t[t];
        for (size_t i = 0; i < ten->n; i++) {
            if (!cnnz__qkept(s, ten, i))
                continue;
            double x = ten->weights[i];
            double f = (x - s->lo) * scale;
            uint32_t b = f >= B ? B - 1 : (uint32_t)f;
            double d = x - (s->lo + (b + 0.5) * width);
            cnt[b]++;
            sd[b] += d;
            sd2[b] += d * d;
        }
    }

    size_t m = 0;
    for (uint32_t b = 0; b < B; b++)
        m += cnt[b] != 0;
    p->count = cnnz__malloc_array(a, m, sizeof *p->count);
    p->mean = cnnz__malloc_array(a, m, sizeof *p->mean);
    p->bin = cnnz__malloc_array(a, m, sizeof *p->bin);
    if (!p->count || !p->mean || !p->bin) {
        cnnz__qpoints_free(a, p);
        cnnz__free(a, cnt);
        cnnz__free(a, sd);
        cnnz__free(a, sd2);
        return CNNZ_E_NOMEM;
    }
    size_t j = 0;
    double within = 0, total = 0;
    double prev = -INFINITY;
    for (uint32_t b = 0; b < B; b++) {
        if (!cnt[b])
            continue;
        double c = (double)cnt[b];
        double md = sd[b] / c;
        double mean = s->lo + (b + 0.5) * width + md;
        /* Keep the points ascending and inside [lo, hi] despite rounding. */
        if (mean < s->lo)
            mean = s->lo;
        if (mean > s->hi)
            mean = s->hi;
        if (mean < prev)
            mean = prev;
        prev = mean;
        double w = sd2[b] - sd[b] * md;
        within += w > 0 ? w : 0;
        total += c;
        p->count[j] = c;
        p->mean[j] = mean;
        p->bin[j] = b;
        j++;
    }
    p->m = m;
    p->within = within;
    p->total = total;
    p->lo = s->lo;
    p->width = width;
    p->bins = B;
    cnnz__free(a, cnt);
    cnnz__free(a, sd);
    cnnz__free(a, sd2);
    return CNNZ_OK;
}
