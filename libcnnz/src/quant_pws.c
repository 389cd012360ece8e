/* PWS: probabilistic weight sharing. The k levels are quantiles of the kept
 * weights, and each weight is rounded at random to one of the two levels
 * around it so that its expectation is the weight itself:
 *
 *   L_j = Q(j / (k - 1)),  j = 0..k-1,   Q the quantile function of the kept
 *         weights, so L_0 = min and L_{k-1} = max exactly (k = 1: the mean)
 *   for L_j <= w <= L_{j+1}:   q(w) = L_{j+1} with probability
 *                                 p = (w - L_j) / (L_{j+1} - L_j),  else L_j
 *   E[q(w)] = L_j + p (L_{j+1} - L_j) = w        (stochastic rounding)
 *
 * Quantile spacing puts as many weights between any two consecutive levels,
 * so the levels follow the density the way k-means centroids do, without
 * iterating. The quantiles come from the fine histogram, interpolated
 * inside a bin around its exact mean; any level positions keep the rounding
 * unbiased as
 * long as min and max are levels, which they are exactly. p is computed
 * against the float32 levels the codebook stores, so the expectation holds
 * for the decoded values (up to the 2^-53 grid of the uniform draws).
 *
 * The draw for weight i of tensor t is a hash of (seed, t, i) (splitmix64),
 * not a running generator: the result does not depend on processing order. */
#include "quant.h"

int cnnz__quant_pws(const struct cnnz__qctx *c, struct cnnz__qlevels *out)
{
    const struct cnnz__qset *s = c->s;
    uint32_t k = c->o->levels;
    out->has_cost = 0;
    out->stochastic = 1;
    if (k == 1 || s->lo == s->hi) {
        out->v[0] = s->lo == s->hi ? s->lo : s->sum / (double)s->kept;
        out->m = 1;
        return CNNZ_OK;
    }
    struct cnnz__qpoints p;
    int err = cnnz__qpoints_build(c->a, s, k, &p);
    if (err)
        return err;
    out->v[0] = s->lo;
    size_t i = 0;
    double before = 0; /* kept weights in the points before i */
    for (uint32_t j = 1; j + 1 < k; j++) {
        /* order statistic r (0-based, fractional) of the kept weights */
        double r = (p.total - 1) * j / (k - 1);
        while (i + 1 < p.m && before + p.count[i] <= r) {
            before += p.count[i];
            i++;
        }
        /* Inside the bin: spread its weights evenly around their exact mean
         * (so a bin holding one weight gives that weight), within the bin. */
        double f = (r - before + 0.5) / p.count[i];
        double v = p.mean[i] + (f - 0.5) * p.width;
        double blo = p.lo + p.bin[i] * p.width, bhi = blo + p.width;
        v = v < blo ? blo : v > bhi ? bhi : v;
        v = v < s->lo ? s->lo : v > s->hi ? s->hi : v;
        out->v[j] = v < out->v[j - 1] ? out->v[j - 1] : v;
    }
    out->v[k - 1] = s->hi;
    out->m = k;
    cnnz__qpoints_free(c->a, &p);
    return CNNZ_OK;
}

void cnnz__pws_assign(const struct cnnz__qset *s, const float *lv, uint32_t m, uint64_t seed,
                      uint64_t *counts)
{
    for (size_t t = 0; t < s->count; t++) {
        const struct cnnz_quant_tensor *ten = &s->t[t];
        uint64_t base = cnnz__mix64(seed ^ cnnz__mix64(UINT64_C(0x5057530000000000) + t));
        for (size_t i = 0; i < ten->n; i++) {
            unsigned q = 0;
            if (cnnz__qkept(s, ten, i)) {
                double x = ten->weights[i];
                uint32_t j = 0;
                if (m > 1) {
                    /* j: the last level <= x (L_0 = min <= x <= max = L_{m-1}) */
                    uint32_t lo = 0, len = m;
                    while (len > 0) {
                        uint32_t half = len / 2;
                        if ((double)lv[lo + half] <= x) {
                            lo += half + 1;
                            len -= half + 1;
                        } else {
                            len = half;
                        }
                    }
                    j = lo ? lo - 1 : 0;
                    if (j + 1 < m) {
                        double a = lv[j], b = lv[j + 1];
                        double pr = (x - a) / (b - a);
                        if (cnnz__unit(cnnz__mix64(base + i)) < pr)
                            j++;
                    }
                }
                q = 1 + j;
            }
            counts[q]++;
            cnnz__qidx_put(ten->indices, s->wide, i, q);
        }
    }
}
