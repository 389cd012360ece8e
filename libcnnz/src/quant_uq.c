/* UQ: uniform quantization of the kept weights to k levels on a grid
 * through zero, w ~ step * (q - zero_point), q = 0..k-1, zero_point an
 * integer (the usual integer-zero-point quantization), so that a pruned
 * weight's exact zero is one of the levels and the whole tensor is
 * `affine` (spec 6.3): level q = to_f32(to_f64(q) * step + offset) with
 * offset = -(zero_point * step), each operation rounded in binary64 as the
 * spec computes it (cnnz_quant_affine checks every entry).
 *
 *   asymmetric:  the grid covers [lo, hi] of the kept weights with the
 *                smallest step: zero_point z in 1..k-2 minimising
 *                step = max(-lo / z, hi / (k - 1 - z)) when lo < 0 < hi;
 *                z = 0, step = hi / (k - 1) when lo >= 0; z = k - 1,
 *                step = -lo / (k - 1) when hi <= 0.
 *   symmetric:   m = max |w|, h = floor((k - 1) / 2), z = h, step = m / h:
 *                levels -m .. m, symmetric about 0 (even k leaves one unused).
 *
 * Either way every kept weight lies within step / 2 of a level (up to the
 * rounding of the level to float32). The range is that of the kept weights
 * only: pruned weights must not stretch the grid (a 90%-pruned tensor keeps
 * two lobes |w| > t; the levels inside (-t, t) other than 0 go unused and
 * are dropped from the codebook).
 *
 * k = 1 and 2 cannot put zero on the grid and still cover both signs; they
 * keep a real zero point (zero has its own codebook entry, no grid):
 *   k = 1: the middle of [lo, hi] (symmetric: 0); k = 2: lo and hi
 *   (symmetric: -m and m). */
#include "quant.h"

int cnnz__quant_uq(const struct cnnz__qctx *c, struct cnnz__qlevels *out)
{
    const struct cnnz__qset *s = c->s;
    const uint32_t k = c->o->levels;
    const int sym = c->o->uq_mode == CNNZ_UQ_SYMMETRIC;
    double lo = s->lo, hi = s->hi;
    out->m = k;
    out->has_cost = 0;
    out->stochastic = 0;
    if (sym) {
        double m = fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi);
        lo = -m;
        hi = m;
    }
    if (k <= 2) {
        if (k == 1)
            out->v[0] = lo + (hi - lo) / 2;
        else {
            out->v[0] = lo;
            out->v[1] = hi;
        }
        c->r->step = hi - lo;
        return CNNZ_OK;
    }
    uint32_t z;
    double step;
    if (sym) {
        z = (k - 1) / 2;
        step = hi / z;
    } else if (lo >= 0) {
        z = 0;
        step = hi / (k - 1);
    } else if (hi <= 0) {
        z = k - 1;
        step = -lo / (k - 1);
    } else {
        z = 1;
        step = INFINITY;
        for (uint32_t j = 1; j + 1 < k; j++) {
            double a = -lo / j, b = hi / (k - 1 - j), st = a > b ? a : b;
            if (st < step) {
                step = st;
                z = j;
            }
        }
    }
    /* The grid must reach lo and hi although the divisions above rounded:
     * widen the step by an ulp while an end level falls short. */
    double off = -((double)z * step);
    while ((double)(k - 1) * step + off < hi || off > lo) {
        step = nextafter(step, INFINITY);
        off = -((double)z * step);
    }
    for (uint32_t q = 0; q < k; q++)
        out->v[q] = (double)q * step + off;
    c->r->step = step;
    c->r->grid = 1;
    c->r->zero_point = z;
    return CNNZ_OK;
}
