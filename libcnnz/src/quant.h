/* Internal interface of the lossy stage (cnnz_quant.h): the kept-weight set,
 * the histogram the iterative quantizers run on, the shared final assignment
 * and the per-method entry points. Encoder only. */
#ifndef CNNZ_QUANT_INTERNAL_H
#define CNNZ_QUANT_INTERNAL_H

#include <math.h>

#include "cnnz_quant.h"
#include "common.h"

#define CNNZ__QUANT_DEFAULT_ITERS 300u

/* The weights of a set with the pruned ones set apart. A weight is kept
 * unless it is 0, masked, or |w| <= prune_threshold. */
struct cnnz__qset {
    const struct cnnz_quant_tensor *t;
    size_t count;
    double prune_threshold;
    int wide;        /* indices are u16 */
    uint64_t total;  /* all weights */
    uint64_t kept;
    double lo, hi;   /* min and max of the kept weights (exact float values) */
    double sum;      /* of the kept weights */
    double sumsq;    /* of their squares */
};

static inline int cnnz__qkept(const struct cnnz__qset *s, const struct cnnz_quant_tensor *t,
                              size_t i)
{
    float x = t->weights[i];
    return !(x == 0.0f || (t->mask && t->mask[i]) || fabs((double)x) <= s->prune_threshold);
}

static inline unsigned cnnz__qidx_get(const void *idx, int wide, size_t i)
{
    const uint8_t *p = idx;
    return wide ? cnnz__le16(p + 2 * i) : p[i];
}
static inline void cnnz__qidx_put(void *idx, int wide, size_t i, unsigned v)
{
    uint8_t *p = idx;
    if (wide)
        cnnz__put16(p + 2 * i, (uint16_t)v);
    else
        p[i] = (uint8_t)v;
}

/* --------------------------------------------------------- histogram */
/* The kept weights binned into `bins` equal bins over [lo, hi]; only the
 * non-empty bins are kept, in ascending order, as weighted points: count,
 * exact mean (sums taken relative to the bin centre) and bin number.
 * `within` is the squared deviation of the weights from their bin means,
 * summed: a constant the iterations cannot change, added so that the
 * distortion they report is the true squared error under bin assignment. */
struct cnnz__qpoints {
    size_t m;
    double *count;
    double *mean;
    uint32_t *bin;
    double within;
    double total; /* sum of count = kept weights */
    double lo, width; /* bin b spans [lo + b width, lo + (b + 1) width) */
    uint32_t bins;
};
CNNZ__INTERNAL int cnnz__qpoints_build(const struct cnnz__alloc *a, const struct cnnz__qset *s,
                                       uint32_t levels, struct cnnz__qpoints *p);
CNNZ__INTERNAL void cnnz__qpoints_free(const struct cnnz__alloc *a, struct cnnz__qpoints *p);

/* ---------------------------------------------------------- randomness */
/* splitmix64 (Steele, Lea, Flood 2014): a counter-based generator, so a
 * value depends only on (seed, counter), never on call order. */
static inline uint64_t cnnz__mix64(uint64_t z)
{
    z += UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
/* Uniform in [0, 1) on the 2^-53 grid. */
static inline double cnnz__unit(uint64_t r)
{
    return (double)(r >> 11) * 0x1p-53;
}

/* ------------------------------------------------------------- methods */
/* A method turns the set into candidate levels (ascending, may repeat) and,
 * for ECSQ, a cost per level added to the squared error when assigning. */
struct cnnz__qlevels {
    double *v;    /* room for options.levels entries */
    double *cost; /* room for options.levels entries; used when has_cost */
    uint32_t m;
    int has_cost;
    int stochastic; /* PWS: assign by cnnz__pws_assign, not by thresholds */
};

struct cnnz__qctx {
    const struct cnnz__alloc *a;
    const struct cnnz_quant_options *o;
    const struct cnnz__qset *s;
    struct cnnz_quant_report *r;
    unsigned max_iters;
};

CNNZ__INTERNAL int cnnz__quant_uq(const struct cnnz__qctx *c, struct cnnz__qlevels *out);
CNNZ__INTERNAL int cnnz__quant_cws(const struct cnnz__qctx *c, struct cnnz__qlevels *out);
CNNZ__INTERNAL int cnnz__quant_pws(const struct cnnz__qctx *c, struct cnnz__qlevels *out);
CNNZ__INTERNAL int cnnz__quant_ecsq(const struct cnnz__qctx *c, struct cnnz__qlevels *out);

/* k-means on weighted points (quant_kmeans.c), shared with ECSQ's start.
 * cent: room for k; *k in: wanted, out: centroids made (ascending, distinct).
 * cnt (may be NULL): room for k, gets the points' weight per centroid after
 * the final assignment. */
CNNZ__INTERNAL int cnnz__kmeans_seed(const struct cnnz__alloc *a, const struct cnnz__qpoints *p,
                                     const struct cnnz__qset *s, int init, uint64_t seed,
                                     double *cent, uint32_t *k);
CNNZ__INTERNAL int cnnz__kmeans_lloyd(const struct cnnz__alloc *a, const struct cnnz__qpoints *p,
                                      double *cent, uint32_t *k, double *cnt,
                                      unsigned max_iters, cnnz_quant_trace_fn trace,
                                      void *opaque, unsigned *iters);

/* ECSQ decision thresholds (quant_ecsq.c) for ascending distinct levels c
 * with costs a: level j wins on (t[j-1], t[j]]; a level that never wins gets
 * an empty interval (t[j-1] == t[j]). stack: scratch for m entries. */
CNNZ__INTERNAL void cnnz__ecsq_thresholds(const double *c, const double *a, uint32_t m, double *t,
                                          uint32_t *stack);

/* PWS assignment (quant_pws.c): temp index 1 + j for level lv[j], counts. */
CNNZ__INTERNAL void cnnz__pws_assign(const struct cnnz__qset *s, const float *lv, uint32_t m,
                                     uint64_t seed, uint64_t *counts);

/* ------------------------------------------------------------- report */
/* Running error/rate figures of codebook + indices against the weights. */
struct cnnz__qstats {
    uint64_t n;
    double sw2, se2, maxe;
    uint64_t *counts; /* cbn entries, zeroed by the caller */
    uint32_t cbn;
};
/* Add one tensor; CNNZ_E_INPUT (with *bad set) on an index >= cbn or a
 * non-finite weight. */
CNNZ__INTERNAL int cnnz__qstats_add(struct cnnz__qstats *st, const float *w, size_t n,
                                    const float *cb, const void *idx, int wide, int64_t *bad);
CNNZ__INTERNAL void cnnz__qstats_report(const struct cnnz__qstats *st,
                                        struct cnnz_quant_report *r);
/* Order-0 entropy in bits per symbol of k counts summing to total (> 0). */
CNNZ__INTERNAL double cnnz__entropy(const double *counts, size_t k, double total);

#endif
