/* ECSQ: entropy-constrained scalar quantization (Chou, Lookabaugh, Gray,
 * "Entropy-constrained vector quantization", IEEE TASSP 1989, scalar case).
 *
 *   minimise  J = D / (N s2) + lambda R
 *     D  = sum_i (w_i - c_{a(i)})^2 over the N kept weights,
 *     s2 = sum_i w_i^2 / N (so lambda is the same for any weight scale),
 *     R  = sum_i l_{a(i)} / N,  l_j = -log2 p_j,  p_j = N_j / N,
 *   alternating three steps, each of which can only lower J:
 *     assignment:  a(i) = argmin_j (w_i - c_j)^2 + lambda s2 l_j
 *     centroids:   c_j = mean of the weights assigned to j
 *     code length: l_j = -log2(N_j / N)   (Gibbs: the best lengths for N_j)
 *   A level nobody picks has p = 0, infinite length, and leaves for good:
 *   a larger lambda trades distortion for rate by emptying rare levels and
 *   widening the intervals of the frequent ones.
 *
 * With costs, "nearest" becomes the lower envelope of the parabolas
 * (x - c_j)^2 + a_j. They share one curvature, so comparing two is linear
 * in x; the envelope is that of the lines -2 c_j x + c_j^2 + a_j (convex
 * hull trick): every level owns one interval, possibly empty, and level j
 * beats level i < j right of
 *     x_ij = (c_j^2 + a_j - c_i^2 - a_i) / (2 (c_j - c_i)).
 * The final assignment is then a binary search over these thresholds.
 *
 * The iterations run on the histogram (quant_hist.c), starting from the
 * k-means codebook (quant_kmeans.c, same initialisation options). For a
 * target rate, the total index entropy H(lambda) (entry 0 included) falls as
 * lambda rises; lambda is bisected on a log scale in [1e-9, 1e6] and the
 * end with H <= target is kept. Each trial restarts from the same k-means
 * codebook, so H(lambda) is a pure function and the search deterministic. */
#include "quant.h"

#define LAMBDA_MIN 1e-9
#define LAMBDA_MAX 1e6
#define BISECT_STEPS 40

static inline double cross(const double *c, const double *a, uint32_t i, uint32_t j)
{
    return (c[j] * c[j] + a[j] - c[i] * c[i] - a[i]) / (2 * (c[j] - c[i]));
}

void cnnz__ecsq_thresholds(const double *c, const double *a, uint32_t m, double *t,
                           uint32_t *st)
{
    if (m < 2)
        return;
    uint32_t h = 0;
    for (uint32_t j = 0; j < m; j++) {
        /* The top level loses its interval when j overtakes it no later
         * than it overtook the one below. The first level (smallest c) owns
         * -inf and the last +inf, so both survive. */
        while (h >= 2 && cross(c, a, st[h - 1], j) <= cross(c, a, st[h - 2], st[h - 1]))
            h--;
        st[h++] = j;
    }
    for (uint32_t s = 0; s + 1 < h; s++) {
        double x = cross(c, a, st[s], st[s + 1]);
        for (uint32_t j = st[s]; j < st[s + 1]; j++)
            t[j] = x;
    }
}

struct ecsq {
    const struct cnnz__qpoints *p;
    const struct cnnz__qset *s;
    double ms;        /* s2: mean square of the kept weights */
    const double *c0; /* the k-means start */
    const double *n0;
    uint32_t k0;
    unsigned max_iters;
    /* scratch: k0 entries each, as: one per point */
    double *cost, *t, *cs, *cn;
    uint32_t *st, *remap, *as;
};

/* One ECSQ run at lambda from the start codebook; c/n get the levels and
 * their counts, *k how many. Returns the total index entropy (all weights). */
static double run(const struct ecsq *e, double lambda, double *c, double *n, uint32_t *kp,
                  unsigned *iters, cnnz_quant_trace_fn trace, void *opaque)
{
    const struct cnnz__qpoints *p = e->p;
    uint32_t k = e->k0;
    memcpy(c, e->c0, k * sizeof *c);
    memcpy(n, e->n0, k * sizeof *n);
    double N = p->total, jprev = INFINITY;
    unsigned it = 0;
    while (it < e->max_iters) {
        it++;
        /* assignment against the costs of the current code lengths */
        for (uint32_t j = 0; j < k; j++)
            e->cost[j] = lambda * e->ms * -log2(n[j] / N);
        cnnz__ecsq_thresholds(c, e->cost, k, e->t, e->st);
        memset(e->cs, 0, k * sizeof *e->cs);
        memset(e->cn, 0, k * sizeof *e->cn);
        uint32_t j = 0;
        for (size_t i = 0; i < p->m; i++) {
            while (j + 1 < k && p->mean[i] > e->t[j])
                j++;
            e->as[i] = j;
            e->cs[j] += p->count[i] * p->mean[i];
            e->cn[j] += p->count[i];
        }
        /* centroids and code lengths; empty levels leave */
        uint32_t m = 0;
        for (j = 0; j < k; j++) {
            e->remap[j] = m;
            if (e->cn[j] > 0) {
                c[m] = e->cs[j] / e->cn[j];
                n[m] = e->cn[j];
                if (m > 0 && c[m] <= c[m - 1]) /* rounding: keep strictly ascending */
                    c[m] = nextafter(c[m - 1], INFINITY);
                m++;
            }
        }
        k = m;
        double d = p->within;
        for (size_t i = 0; i < p->m; i++) {
            double r = p->mean[i] - c[e->remap[e->as[i]]];
            d += p->count[i] * r * r;
        }
        double h = cnnz__entropy(n, k, N);
        double J = d / (N * e->ms) + lambda * h;
        if (trace)
            trace(opaque, it, d, h);
        if (!(J < jprev * (1 - 1e-12)) || k == 1)
            break; /* converged: J no longer falls */
        jprev = J;
    }
    *kp = k;
    if (iters)
        *iters = it;
    double pi = N / (double)e->s->total; /* kept share; H = H_b(pi) + pi H_kept */
    double hb = pi < 1 ? -pi * log2(pi) - (1 - pi) * log2(1 - pi) : 0;
    return hb + pi * cnnz__entropy(n, k, N);
}

int cnnz__quant_ecsq(const struct cnnz__qctx *c, struct cnnz__qlevels *out)
{
    const struct cnnz__alloc *a = c->a;
    const struct cnnz__qset *s = c->s;
    const struct cnnz_quant_options *o = c->o;
    uint32_t K = o->levels;
    struct cnnz__qpoints p;
    int err = cnnz__qpoints_build(a, s, K, &p);
    if (err)
        return err;
    struct ecsq e = {.p = &p, .s = s, .ms = s->sumsq / (double)s->kept, .max_iters = c->max_iters};
    double *c0 = cnnz__malloc_array(a, K, sizeof *c0);
    double *n0 = cnnz__malloc_array(a, K, sizeof *n0);
    double *n = cnnz__malloc_array(a, K, sizeof *n);
    e.cost = cnnz__malloc_array(a, K, sizeof *e.cost);
    e.t = cnnz__malloc_array(a, K, sizeof *e.t);
    e.cs = cnnz__malloc_array(a, K, sizeof *e.cs);
    e.cn = cnnz__malloc_array(a, K, sizeof *e.cn);
    e.st = cnnz__malloc_array(a, K, sizeof *e.st);
    e.remap = cnnz__malloc_array(a, K, sizeof *e.remap);
    e.as = cnnz__malloc_array(a, p.m, sizeof *e.as);
    err = CNNZ_E_NOMEM;
    if (!c0 || !n0 || !n || !e.cost || !e.t || !e.cs || !e.cn || !e.st || !e.remap || !e.as)
        goto out;

    /* The starting codebook: k-means with the same initialisation options. */
    uint32_t k0 = K;
    if ((err = cnnz__kmeans_seed(a, &p, s, o->kmeans_init, o->seed, c0, &k0)))
        goto out;
    if ((err = cnnz__kmeans_lloyd(a, &p, c0, &k0, n0, c->max_iters, NULL, NULL, NULL)))
        goto out;
    e.c0 = c0;
    e.n0 = n0;
    e.k0 = k0;

    double lambda = o->lambda;
    uint32_t k;
    if (o->target_bits > 0) {
        double target = o->target_bits;
        if (run(&e, 0, out->v, n, &k, NULL, NULL, NULL) <= target) {
            lambda = 0;
        } else if (run(&e, LAMBDA_MAX, out->v, n, &k, NULL, NULL, NULL) > target) {
            lambda = LAMBDA_MAX; /* unreachable: as few bits as ECSQ gets */
        } else {
            /* H(lo) > target >= H(hi); bisect log lambda. */
            double lo = LAMBDA_MIN, hi = LAMBDA_MAX;
            for (int i = 0; i < BISECT_STEPS && hi > lo * (1 + 1e-9); i++) {
                double mid = sqrt(lo * hi);
                if (run(&e, mid, out->v, n, &k, NULL, NULL, NULL) <= target)
                    hi = mid;
                else
                    lo = mid;
            }
            lambda = hi;
        }
    }
    unsigned it = 0;
    run(&e, lambda, out->v, n, &k, &it, o->trace, o->trace_opaque);
    /* The costs the final assignment uses: those of the final code lengths. */
    for (uint32_t j = 0; j < k; j++)
        out->cost[j] = lambda * e.ms * -log2(n[j] / p.total);
    out->m = k;
    out->has_cost = 1;
    out->stochastic = 0;
    c->r->lambda = lambda;
    c->r->iterations = it;
    err = CNNZ_OK;
out:
    cnnz__qpoints_free(a, &p);
    cnnz__free(a, c0);
    cnnz__free(a, n0);
    cnnz__free(a, n);
    cnnz__free(a, e.cost);
    cnnz__free(a, e.t);
    cnnz__free(a, e.cs);
    cnnz__free(a, e.cn);
    cnnz__free(a, e.st);
    cnnz__free(a, e.remap);
    cnnz__free(a, e.as);
    return err;
}
