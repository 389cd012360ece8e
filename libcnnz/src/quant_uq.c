/* UQ: uniform quantization of the kept weights to k levels, an affine grid
 * w ~ scale * q + zero_point, q = 0..k-1.
 *
 *   asymmetric:  scale = (max - min) / (k - 1),  zero_point = min:
 *                L_q = min + (max - min) q / (k - 1)       (L_{k-1} = max exactly)
 *   symmetric:   m = max |w|,  scale = 2m / (k - 1),  zero_point = -m:
 *                L_q = m (2q - (k - 1)) / (k - 1)          (L_{k-1-q} = -L_q exactly;
 *                                                          odd k has L = 0 exactly)
 *   k = 1:       asymmetric (min + max) / 2, symmetric 0; scale = max - min or 2m.
 *
 * The range is that of the kept weights only: pruned weights have entry 0,
 * so they must not stretch the grid (a 90%-pruned tensor keeps two lobes
 * |w| > t; the grid spans both and its levels inside (-t, t) go unused and
 * are dropped from the codebook). The zero point is a real number, not an
 * integer: exact zero already has its own entry, so the grid need not hit 0.
 * Each weight then goes to the nearest float level (quantize.c), which keeps
 * |w - L| <= scale / 2 up to the rounding of L to float32. A symmetric level
 * 0 is mapped onto entry 0. */
#include "quant.h"

int cnnz__quant_uq(const struct cnnz__qctx *c, struct cnnz__qlevels *out)
{
    const struct cnnz__qset *s = c->s;
    uint32_t k = c->o->levels;
    double lo = s->lo, hi = s->hi;
    if (c->o->uq_mode == CNNZ_UQ_SYMMETRIC) {
        double m = fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi);
        if (k == 1) {
            out->v[0] = 0;
        } else {
            for (uint32_t q = 0; q < k; q++)
                out->v[q] = m * ((2.0 * q - (k - 1)) / (k - 1));
        }
        c->r->step = k == 1 ? 2 * m : 2 * m / (k - 1);
    } else {
        if (k == 1) {
            out->v[0] = lo + (hi - lo) / 2;
        } else {
            for (uint32_t q = 0; q + 1 < k; q++)
                out->v[q] = lo + (hi - lo) * q / (k - 1);
            out->v[k - 1] = hi;
        }
        c->r->step = k == 1 ? hi - lo : (hi - lo) / (k - 1);
    }
    out->m = k;
    out->has_cost = 0;
    out->stochastic = 0;
    return CNNZ_OK;
}
