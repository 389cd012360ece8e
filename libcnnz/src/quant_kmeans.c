/* CWS: clustering weight sharing, k-means (Lloyd) on the kept weights.
 *
 *   minimise D = sum_i (w_i - c_{a(i)})^2 over centroids c_1..c_k and the
 *   assignment a, alternating (Lloyd 1957/1982):
 *     assignment:  a(i) = argmin_j |w_i - c_j|
 *                  (in 1-D: the intervals between consecutive midpoints)
 *     update:      c_j = mean of { w_i : a(i) = j }
 *   Each half-step can only lower D, so D never increases.
 *
 * The iterations run on the histogram of quant_hist.c: a bin is a point at
 * its exact mean weighted by its count, so with points and centroids both
 * ascending, one iteration is a merge-like sweep in O(points + k). The
 * distortion passed to the trace adds the constant within-bin spread.
 *
 * Initialisation (Han, Mao, Dally 2016 compare these for weight sharing):
 *   linear:    c_j = min + (max - min) j / (k - 1)   (k = 1: the mean)
 *   k-means++: (Arthur, Vassilvitskii 2007) the first centroid is a point
 *              drawn with probability proportional to its count, each next
 *              one with probability proportional to count * D(x)^2, D the
 *              distance to the nearest centroid so far; from the seed. In
 *              1-D a new centroid c only changes D on a contiguous run of
 *              points around it (D is 1-Lipschitz, |x - c| grows at rate 1),
 *              so D^2 lives in a Fenwick tree and each draw costs O(log m)
 *              plus the points it actually moves.
 * An empty cluster is re-seeded at the point with the largest count * error^2
 * (one point per empty cluster, largest first): D is unchanged by the move
 * and the next assignment lowers it, so the monotonicity holds. Clusters
 * still empty at the end (fewer distinct points than k) are dropped. */
#include <stdlib.h>

#include "quant.h"

/* Sort ascending and drop repeats; returns the new count. */
static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}
static uint32_t sort_unique(double *c, uint32_t k)
{
    qsort(c, k, sizeof *c, cmp_double);
    uint32_t n = 0;
    for (uint32_t j = 0; j < k; j++)
        if (n == 0 || c[j] != c[n - 1])
            c[n++] = c[j];
    return n;
}

/* ------------------------------------------------------- Fenwick tree */
static void fen_build(double *f, size_t m)
{
    for (size_t i = 1; i <= m; i++) {
        size_t j = i + (i & -i);
        if (j <= m)
            f[j - 1] += f[i - 1];
    }
}
static void fen_add(double *f, size_t m, size_t i, double d)
{
    for (i++; i <= m; i += i & -i)
        f[i - 1] += d;
}
static double fen_total(const double *f, size_t m)
{
    double s = 0;
    for (size_t i = m; i > 0; i -= i & -i)
        s += f[i - 1];
    return s;
}
/* The point whose cumulative weight range holds u. */
static size_t fen_find(const double *f, size_t m, double u)
{
    size_t pos = 0, step = 1;
    while (step * 2 <= m)
        step *= 2;
    for (; step; step /= 2)
        if (pos + step <= m && f[pos + step - 1] <= u) {
            pos += step;
            u -= f[pos - 1];
        }
    return pos < m ? pos : m - 1;
}

static int plusplus(const struct cnnz__alloc *a, const struct cnnz__qpoints *p, uint64_t seed,
                    double *cent, uint32_t *k)
{
    size_t m = p->m;
    double *d2 = cnnz__malloc_array(a, m, sizeof *d2);
    double *w = cnnz__malloc_array(a, m, sizeof *w);
    double *fen = cnnz__malloc_array(a, m, sizeof *fen);
    if (!d2 || !w || !fen) {
        cnnz__free(a, d2);
        cnnz__free(a, w);
        cnnz__free(a, fen);
        return CNNZ_E_NOMEM;
    }
    uint64_t ctr = 0;
    /* First centroid: a weight drawn uniformly, i.e. a point by its count. */
    double u = cnnz__unit(cnnz__mix64(seed + ctr++)) * p->total;
    size_t first = m - 1;
    for (size_t i = 0; i < m; i++) {
        if (u < p->count[i]) {
            first = i;
            break;
        }
        u -= p->count[i];
    }
    uint32_t n = 0;
    cent[n++] = p->mean[first];
    for (size_t i = 0; i < m; i++) {
        double d = p->mean[i] - cent[0];
        d2[i] = d * d;
        fen[i] = w[i] = p->count[i] * d2[i];
    }
    fen_build(fen, m);
    while (n < *k) {
        double tot = fen_total(fen, m);
        if (!(tot > 0))
            break;
        size_t i = fen_find(fen, m, cnnz__unit(cnnz__mix64(seed + ctr++)) * tot);
        if (!(w[i] > 0)) { /* rounding in the tree: the nearest point with weight */
            size_t j = i;
            while (j < m && !(w[j] > 0))
                j++;
            if (j == m) {
                j = i;
                while (j > 0 && !(w[j] > 0))
                    j--;
            }
            if (!(w[j] > 0))
                break;
            i = j;
        }
        double c = p->mean[i];
        cent[n++] = c;
        /* Update the run of points now closer to c, leftwards then rightwards. */
        for (size_t b = i + 1; b-- > 0;) {
            double d = p->mean[b] - c;
            if (d * d >= d2[b])
                break;
            d2[b] = d * d;
            double nw = p->count[b] * d2[b];
            fen_add(fen, m, b, nw - w[b]);
            w[b] = nw;
        }
        for (size_t b = i + 1; b < m; b++) {
            double d = p->mean[b] - c;
            if (d * d >= d2[b])
                break;
            d2[b] = d * d;
            double nw = p->count[b] * d2[b];
            fen_add(fen, m, b, nw - w[b]);
            w[b] = nw;
        }
    }
    cnnz__free(a, d2);
    cnnz__free(a, w);
    cnnz__free(a, fen);
    *k = sort_unique(cent, n);
    return CNNZ_OK;
}

int cnnz__kmeans_seed(const struct cnnz__alloc *a, const struct cnnz__qpoints *p,
                      const struct cnnz__qset *s, int init, uint64_t seed, double *cent,
                      uint32_t *k)
{
    if (init == CNNZ_KMEANS_PLUSPLUS)
        return plusplus(a, p, seed, cent, k);
    uint32_t n = *k;
    if (n == 1) {
        cent[0] = s->sum / (double)s->kept;
    } else {
        for (uint32_t j = 0; j + 1 < n; j++)
            cent[j] = s->lo + (s->hi - s->lo) * j / (n - 1);
        cent[n - 1] = s->hi;
    }
    *k = sort_unique(cent, n);
    return CNNZ_OK;
}

struct errpt {
    double err;
    size_t i;
};
static int cmp_err_desc(const void *x, const void *y)
{
    const struct errpt *a = x, *b = y;
    if (a->err != b->err)
        return a->err < b->err ? 1 : -1;
    return (a->i > b->i) - (a->i < b->i); /* ties by position: deterministic */
}

/* Move each empty centroid onto one of the points with the largest error.
 * Returns 1 when any moved. */
static int reseed(const struct cnnz__qpoints *p, const uint32_t *as, double *c, const double *cn,
                  uint32_t k, struct errpt *e)
{
    size_t ne = 0;
    for (size_t i = 0; i < p->m; i++) {
        double d = p->mean[i] - c[as[i]];
        double err = p->count[i] * d * d;
        if (err > 0)
            e[ne++] = (struct errpt){err, i};
    }
    if (ne == 0)
        return 0;
    qsort(e, ne, sizeof *e, cmp_err_desc);
    size_t next = 0;
    int moved = 0;
    for (uint32_t j = 0; j < k && next < ne; j++)
        if (cn[j] == 0) {
            c[j] = p->mean[e[next++].i];
            moved = 1;
        }
    return moved;
}

int cnnz__kmeans_lloyd(const struct cnnz__alloc *a, const struct cnnz__qpoints *p, double *cent,
                       uint32_t *kp, double *cnt, unsigned max_iters, cnnz_quant_trace_fn trace,
                       void *opaque, unsigned *iters)
{
    size_t m = p->m;
    uint32_t k = *kp;
    if (max_iters == 0)
        max_iters = 1;
    uint32_t *as = cnnz__malloc_array(a, m, sizeof *as);
    double *cs = cnnz__malloc_array(a, k, sizeof *cs);
    double *cn = cnnz__malloc_array(a, k, sizeof *cn);
    struct errpt *e = NULL;
    int err = CNNZ_E_NOMEM;
    if (!as || !cs || !cn)
        goto out;
    for (size_t i = 0; i < m; i++)
        as[i] = UINT32_MAX;
    unsigned it = 0;
    while (it < max_iters) {
        it++;
        /* Assignment: a sweep, points and centroids both ascending. */
        size_t changed = 0;
        uint32_t j = 0;
        for (size_t i = 0; i < m; i++) {
            while (j + 1 < k && p->mean[i] > (cent[j] + cent[j + 1]) / 2)
                j++;
            changed += as[i] != j;
            as[i] = j;
        }
        /* Update: exact means of the clusters. */
        memset(cs, 0, k * sizeof *cs);
        memset(cn, 0, k * sizeof *cn);
        for (size_t i = 0; i < m; i++) {
            cs[as[i]] += p->count[i] * p->mean[i];
            cn[as[i]] += p->count[i];
        }
        uint32_t empty = 0;
        for (j = 0; j < k; j++) {
            if (cn[j] > 0)
                cent[j] = cs[j] / cn[j];
            else
                empty++;
        }
        if (trace) {
            double d = p->within;
            for (size_t i = 0; i < m; i++) {
                double r = p->mean[i] - cent[as[i]];
                d += p->count[i] * r * r;
            }
            trace(opaque, it, d, cnnz__entropy(cn, k, p->total));
        }
        if (it == max_iters)
            break; /* cent and cn describe the same clusters here */
        int moved = 0;
        if (empty) {
            if (!e && !(e = cnnz__malloc_array(a, m, sizeof *e)))
                goto out;
            moved = reseed(p, as, cent, cn, k, e);
        }
        if (!changed && !moved)
            break;
        uint32_t k2;
        if (!moved) /* means of ordered intervals stay ordered: guard rounding */
            for (j = 1; j < k; j++)
                if (cent[j] < cent[j - 1])
                    cent[j] = cent[j - 1];
        k2 = sort_unique(cent, k);
        if (moved || k2 != k) /* numbering changed: compare afresh */
            for (size_t i = 0; i < m; i++)
                as[i] = UINT32_MAX;
        k = k2;
    }
    /* Drop the centroids no point uses (cn is that of the last assignment,
     * which the loop leaves matching cent). */
    {
        uint32_t n = 0;
        for (uint32_t j = 0; j < k; j++)
            if (cn[j] > 0) {
                cent[n] = cent[j];
                if (cnt)
                    cnt[n] = cn[j];
                n++;
            }
        *kp = n;
    }
    if (iters)
        *iters = it;
    err = CNNZ_OK;
out:
    cnnz__free(a, as);
    cnnz__free(a, cs);
    cnnz__free(a, cn);
    cnnz__free(a, e);
    return err;
}

int cnnz__quant_cws(const struct cnnz__qctx *c, struct cnnz__qlevels *out)
{
    struct cnnz__qpoints p;
    int err = cnnz__qpoints_build(c->a, c->s, c->o->levels, &p);
    if (err)
        return err;
    uint32_t k = c->o->levels;
    unsigned it = 0;
    err = cnnz__kmeans_seed(c->a, &p, c->s, c->o->kmeans_init, c->o->seed, out->v, &k);
    if (!err)
        err = cnnz__kmeans_lloyd(c->a, &p, out->v, &k, NULL, c->max_iters, c->o->trace,
                                 c->o->trace_opaque, &it);
    cnnz__qpoints_free(c->a, &p);
    if (err)
        return err;
    c->r->iterations = it;
    out->m = k;
    out->has_cost = 0;
    out->stochastic = 0;
    return CNNZ_OK;
}
