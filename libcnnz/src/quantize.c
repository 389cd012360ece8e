/* cnnz_quantize / cnnz_quantize_set: argument checks, the kept-weight scan,
 * and the steps every method shares after it has chosen its levels:
 *
 *   1. round the levels to float32 (what the codebook stores and the decoder
 *      returns) and merge the ones that become equal;
 *   2. assign every kept weight by one binary search over decision
 *      thresholds computed from those float values (midpoints for nearest,
 *      the ECSQ envelope for costs), or stochastically for PWS;
 *   3. drop the levels no weight uses, map a level equal to 0.0f onto entry
 *      0, and renumber: entry 0 = 0.0f, then the levels ascending.
 *
 * The indices are first written as "1 + level number" (0 = pruned) into the
 * caller's index buffer, then renumbered in place: no n-sized scratch. */
#include <stdlib.h>

#include "quant.h"

const char *cnnz_quant_method_name(int method)
{
    switch (method) {
    case CNNZ_QUANT_UQ:
        return "uq";
    case CNNZ_QUANT_CWS:
        return "cws";
    case CNNZ_QUANT_PWS:
        return "pws";
    case CNNZ_QUANT_ECSQ:
        return "ecsq";
    default:
        return NULL;
    }
}

int cnnz_quant_index_dtype(uint32_t levels)
{
    if (levels <= 255)
        return CNNZ_DT_U8;
    if (levels <= CNNZ_QUANT_MAX_LEVELS)
        return CNNZ_DT_U16;
    return 0;
}

static int check_options(const struct cnnz_quant_options *o)
{
    if (!cnnz_quant_method_name(o->method))
        return CNNZ_E_ARG;
    if (o->levels == 0 || o->levels > CNNZ_QUANT_MAX_LEVELS)
        return CNNZ_E_ARG;
    if (isnan(o->prune_threshold))
        return CNNZ_E_ARG;
    if (o->uq_mode != CNNZ_UQ_ASYMMETRIC && o->uq_mode != CNNZ_UQ_SYMMETRIC)
        return CNNZ_E_ARG;
    if (o->kmeans_init != CNNZ_KMEANS_LINEAR && o->kmeans_init != CNNZ_KMEANS_PLUSPLUS)
        return CNNZ_E_ARG;
    if (o->method == CNNZ_QUANT_ECSQ) {
        if (isnan(o->target_bits) || isinf(o->target_bits))
            return CNNZ_E_ARG;
        if (!(o->target_bits > 0) && !(o->lambda >= 0 && isfinite(o->lambda)))
            return CNNZ_E_ARG;
    }
    return CNNZ_OK;
}

/* Validate every weight and gather the kept set's count, range and sums. */
static int scan(struct cnnz__qset *s, struct cnnz_quant_report *r)
{
    double lo = INFINITY, hi = -INFINITY, sum = 0, sumsq = 0;
    uint64_t kept = 0, total = 0;
    for (size_t t = 0; t < s->count; t++) {
        const struct cnnz_quant_tensor *ten = &s->t[t];
        for (size_t i = 0; i < ten->n; i++)
            if (!isfinite(ten->weights[i])) {
                r->bad_tensor = (int64_t)t;
                r->bad_index = (int64_t)i;
                return CNNZ_E_INPUT;
            }
        for (size_t i = 0; i < ten->n; i++) {
            if (!cnnz__qkept(s, ten, i))
                continue;
            double x = ten->weights[i];
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
            sum += x;
            sumsq += x * x;
            kept++;
        }
        total += ten->n;
    }
    s->lo = kept ? lo : 0;
    s->hi = kept ? hi : 0;
    s->sum = sum;
    s->sumsq = sumsq;
    s->kept = kept;
    s->total = total;
    return CNNZ_OK;
}

/* Count of t[0..len) below x: the number of the interval x falls in. */
static inline uint32_t search(const double *t, uint32_t len, double x)
{
    uint32_t pos = 0;
    while (len > 0) {
        uint32_t half = len / 2;
        if (t[pos + half] < x) {
            pos += half + 1;
            len -= half + 1;
        } else {
            len = half;
        }
    }
    return pos;
}

static void assign_thresholds(const struct cnnz__qset *s, const double *t, uint32_t m,
                              uint64_t *counts)
{
    for (size_t k = 0; k < s->count; k++) {
        const struct cnnz_quant_tensor *ten = &s->t[k];
        for (size_t i = 0; i < ten->n; i++) {
            unsigned q = 0;
            if (cnnz__qkept(s, ten, i))
                q = 1 + search(t, m - 1, ten->weights[i]);
            counts[q]++;
            cnnz__qidx_put(ten->indices, s->wide, i, q);
        }
    }
}

static int run_method(const struct cnnz__qctx *c, struct cnnz__qlevels *lv)
{
    switch (c->o->method) {
    case CNNZ_QUANT_UQ:
        return cnnz__quant_uq(c, lv);
    case CNNZ_QUANT_CWS:
        return cnnz__quant_cws(c, lv);
    case CNNZ_QUANT_PWS:
        return cnnz__quant_pws(c, lv);
    default:
        return cnnz__quant_ecsq(c, lv);
    }
}

/* Steps 1-3 of the file comment. */
static int finish(const struct cnnz__qctx *c, struct cnnz__qlevels *lv, float *codebook,
                  uint32_t *cbn)
{
    const struct cnnz__alloc *a = c->a;
    const struct cnnz__qset *s = c->s;
    uint32_t m = lv->m;
    float *fl = cnnz__malloc_array(a, m, sizeof *fl);
    double *t = cnnz__malloc_array(a, m, sizeof *t);
    uint32_t *stack = cnnz__malloc_array(a, m, sizeof *stack);
    uint64_t *counts = cnnz__malloc_array(a, (size_t)m + 1, sizeof *counts);
    uint32_t *remap = cnnz__malloc_array(a, (size_t)m + 1, sizeof *remap);
    int err = CNNZ_E_NOMEM;
    if (!fl || !t || !stack || !counts || !remap)
        goto out;

    /* 1. float32 levels, ascending (rounding is monotone), merged when equal;
     * a merged level keeps the lower cost (the more probable of the two). */
    uint32_t k = 0;
    for (uint32_t j = 0; j < m; j++) {
        float f = (float)lv->v[j];
        if (f == 0.0f)
            f = 0.0f; /* -0.0 -> +0.0: entry 0 is all-zero bytes */
        if (k > 0 && fl[k - 1] == f) {
            if (lv->has_cost && lv->cost[j] < lv->cost[k - 1])
                lv->cost[k - 1] = lv->cost[j];
            continue;
        }
        fl[k] = f;
        if (lv->has_cost)
            lv->cost[k] = lv->cost[j];
        k++;
    }
    m = k;

    /* 2. assignment. */
    memset(counts, 0, ((size_t)m + 1) * sizeof *counts);
    if (lv->stochastic) {
        cnnz__pws_assign(s, fl, m, c->o->seed, counts);
    } else {
        double *cv = lv->v; /* reuse: the float values in binary64 */
        for (uint32_t j = 0; j < m; j++)
            cv[j] = fl[j];
        if (lv->has_cost)
            cnnz__ecsq_thresholds(cv, lv->cost, m, t, stack);
        else
            for (uint32_t j = 0; j + 1 < m; j++)
                t[j] = (cv[j] + cv[j + 1]) / 2; /* exact: float sums fit binary64 */
        assign_thresholds(s, t, m, counts);
    }

    /* 3. entry 0, then the used non-zero levels ascending. */
    uint32_t n = 1;
    codebook[0] = 0.0f;
    remap[0] = 0;
    int identity = 1;
    for (uint32_t j = 0; j < m; j++) {
        if (counts[1 + j] == 0 || fl[j] == 0.0f) {
            remap[1 + j] = 0; /* unused (never read) or the zero level */
        } else {
            codebook[n] = fl[j];
            remap[1 + j] = n++;
        }
        identity &= remap[1 + j] == 1 + j;
    }
    if (!identity)
        for (size_t q = 0; q < s->count; q++) {
            const struct cnnz_quant_tensor *ten = &s->t[q];
            for (size_t i = 0; i < ten->n; i++)
                cnnz__qidx_put(ten->indices, s->wide, i,
                               remap[cnnz__qidx_get(ten->indices, s->wide, i)]);
        }
    *cbn = n;
    err = CNNZ_OK;
out:
    cnnz__free(a, fl);
    cnnz__free(a, t);
    cnnz__free(a, stack);
    cnnz__free(a, counts);
    cnnz__free(a, remap);
    return err;
}

static int report_fill(const struct cnnz__alloc *a, const struct cnnz__qset *s,
                       const float *codebook, uint32_t cbn, struct cnnz_quant_report *r)
{
    struct cnnz__qstats st = {0};
    st.cbn = cbn;
    st.counts = cnnz__malloc_array(a, cbn, sizeof *st.counts);
    if (!st.counts)
        return CNNZ_E_NOMEM;
    memset(st.counts, 0, (size_t)cbn * sizeof *st.counts);
    int64_t bad = -1;
    int err = CNNZ_OK;
    for (size_t t = 0; t < s->count && !err; t++)
        err = cnnz__qstats_add(&st, s->t[t].weights, s->t[t].n, codebook, s->t[t].indices,
                               s->wide, &bad);
    if (!err)
        cnnz__qstats_report(&st, r);
    cnnz__free(a, st.counts);
    return err;
}

int cnnz_quantize_set(const struct cnnz_quant_tensor *tensors, size_t count,
                      const struct cnnz_quant_options *options, float *codebook,
                      uint32_t *codebook_size, struct cnnz_quant_report *report)
{
    struct cnnz_quant_report local;
    struct cnnz_quant_report *r = report ? report : &local;
    memset(r, 0, sizeof *r);
    r->bad_tensor = r->bad_index = -1;
    if (!tensors || count == 0 || !options || !codebook || !codebook_size)
        return CNNZ_E_ARG;
    int err = check_options(options);
    if (err)
        return err;
    int wide = cnnz_quant_index_dtype(options->levels) == CNNZ_DT_U16;
    for (size_t t = 0; t < count; t++)
        if (!tensors[t].weights || !tensors[t].indices || tensors[t].n == 0 ||
            (wide && tensors[t].n > SIZE_MAX / 2)) /* index bytes must fit size_t */
            return CNNZ_E_ARG;
    if (*codebook_size < options->levels + 1)
        return CNNZ_E_BUFFER;
    r->method = options->method;

    struct cnnz__alloc a;
    cnnz__alloc_init(&a, options->allocator);
    struct cnnz__qset s = {.t = tensors,
                           .count = count,
                           .prune_threshold = options->prune_threshold,
                           .wide = wide};
    if ((err = scan(&s, r)))
        return err;

    struct cnnz__qctx c = {&a, options, &s, r,
                           options->max_iterations ? options->max_iterations
                                                   : CNNZ__QUANT_DEFAULT_ITERS};
    if (s.kept == 0) {
        /* Everything pruned: one entry, every index 0. */
        for (size_t t = 0; t < count; t++)
            memset(tensors[t].indices, 0, tensors[t].n * (s.wide ? 2u : 1u));
        codebook[0] = 0.0f;
        *codebook_size = 1;
    } else {
        struct cnnz__qlevels lv = {0};
        lv.v = cnnz__malloc_array(&a, options->levels, sizeof *lv.v);
        lv.cost = cnnz__malloc_array(&a, options->levels, sizeof *lv.cost);
        if (!lv.v || !lv.cost)
            err = CNNZ_E_NOMEM;
        if (!err)
            err = run_method(&c, &lv);
        if (!err)
            err = finish(&c, &lv, codebook, codebook_size);
        cnnz__free(&a, lv.v);
        cnnz__free(&a, lv.cost);
        if (err)
            return err;
    }
    r->codebook_size = *codebook_size;
    if (report) {
        if ((err = report_fill(&a, &s, codebook, *codebook_size, r)))
            return err;
        r->pruned = s.total - s.kept;
    }
    return CNNZ_OK;
}

int cnnz_quantize(const float *w, size_t n, const uint8_t *mask,
                  const struct cnnz_quant_options *options, float *codebook,
                  uint32_t *codebook_size, void *indices, struct cnnz_quant_report *report)
{
    struct cnnz_quant_tensor t = {w, n, mask, indices};
    return cnnz_quantize_set(&t, 1, options, codebook, codebook_size, report);
}

/* The grid position q of level v: to_f32(q * step + off) == v exactly and
 * q <= qmax, else non-zero. */
static int grid_pos(float v, uint32_t zero_point, double step, double off, uint32_t qmax,
                    uint32_t *q)
{
    double p = (double)zero_point + nearbyint((double)v / step);
    if (!(p >= 0 && p <= qmax))
        return 1;
    volatile double prod = p * step; /* no fused multiply-add */
    float back = (float)(prod + off);
    *q = (uint32_t)p;
    return memcmp(&back, &v, sizeof back) != 0;
}

int cnnz_quant_affine(const float *codebook, uint32_t codebook_size,
                      const struct cnnz_quant_report *r, void *indices, size_t n, int index_dtype,
                      double *scale, double *offset)
{
    if (!codebook || !codebook_size || !r || (!indices && n) || !scale || !offset ||
        (index_dtype != CNNZ_DT_U8 && index_dtype != CNNZ_DT_U16))
        return CNNZ_E_ARG;
    if (!r->grid || codebook_size > CNNZ_QUANT_MAX_LEVELS + 1)
        return CNNZ_E_UNSUPPORTED;
    const int wide = index_dtype == CNNZ_DT_U16;
    const double step = r->step, off = -((double)r->zero_point * step);
    for (size_t i = 0; i < n; i++)
        if (cnnz__qidx_get(indices, wide, i) >= codebook_size)
            return CNNZ_E_INPUT;
    /* Every entry must sit on the grid, rebuilt exactly (spec 6.3: two
     * binary64 operations, then to_f32); then each index becomes the grid
     * position of its entry, found again the same way (no scratch). */
    for (uint32_t e = 0; e < codebook_size; e++) {
        uint32_t q;
        if (grid_pos(codebook[e], r->zero_point, step, off, wide ? 65535u : 255u, &q))
            return CNNZ_E_UNSUPPORTED;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t q = 0;
        grid_pos(codebook[cnnz__qidx_get(indices, wide, i)], r->zero_point, step, off, 65535u, &q);
        cnnz__qidx_put(indices, wide, i, q);
    }
    *scale = step;
    *offset = off;
    return CNNZ_OK;
}
