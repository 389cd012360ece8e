/* The lossy stage (cnnz_quant.h): pruning, the four quantizers, reports.
 *
 * Hand-computed small cases for each method, then properties on seeded
 * random weights: UQ error bound, k-means monotone distortion and nearest
 * assignment, PWS unbiasedness, ECSQ rate against lambda and the target
 * search, exact zeros for pruned weights, determinism, a round trip through
 * the writer and reader (HAM, SHAM x raw, auto), bad arguments and failing
 * allocators. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnz_quant.h"
#include "tests.h"

/* ------------------------------------------------------------ helpers */

/* For per-element checks in loops: Check records every passing ck_assert
 * (a write per call), which millions of elements turn into seconds. */
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond))                                                                       \
            ck_abort_msg(__VA_ARGS__);                                                     \
    } while (0)

static double gauss(struct rng *r)
{
    double u = 1.0 - rng_unit(r), v = rng_unit(r);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Weights shaped like a trained layer: a narrow Gaussian plus 10% of a wide
 * one (heavy tails), a few exact zeros. */
static float *make_weights(struct rng *r, size_t n)
{
    float *w = malloc(n * sizeof *w);
    ck_assert_ptr_nonnull(w);
    for (size_t i = 0; i < n; i++) {
        double s = rng_unit(r) < 0.9 ? 0.05 : 0.2;
        w[i] = rng_below(r, 100) == 0 ? 0.0f : (float)(s * gauss(r));
    }
    return w;
}

static unsigned idx_at(const void *idx, int wide, size_t i)
{
    const uint8_t *p = idx;
    return wide ? get16(p + 2 * i) : p[i];
}

/* An index buffer with a sentinel byte after it. */
#define SENTINEL 0xA5
static uint8_t *idx_alloc(size_t n, int wide)
{
    size_t sz = n * (wide ? 2 : 1);
    uint8_t *p = malloc(sz + 1);
    ck_assert_ptr_nonnull(p);
    memset(p, 0x5A, sz);
    p[sz] = SENTINEL;
    return p;
}
static void idx_sentinel(const uint8_t *p, size_t n, int wide)
{
    ck_assert_uint_eq(p[n * (wide ? 2 : 1)], SENTINEL);
}

static const int methods[] = {CNNZ_QUANT_UQ, CNNZ_QUANT_CWS, CNNZ_QUANT_PWS, CNNZ_QUANT_ECSQ};
#define NMETHODS (sizeof methods / sizeof methods[0])

static struct cnnz_quant_options opts(int method, uint32_t levels)
{
    struct cnnz_quant_options o;
    memset(&o, 0, sizeof o);
    o.method = method;
    o.levels = levels;
    if (method == CNNZ_QUANT_ECSQ)
        o.lambda = 0.02;
    return o;
}

/* Quantize and check the structural promises of the header: codebook entry
 * 0 is +0.0f, the other entries distinct, non-zero, ascending, every index
 * in range, masked and zero weights on index 0, sentinels intact, and the
 * report's figures equal cnnz_quant_evaluate's. Returns the codebook size.
 * cb needs levels + 2 entries and idx n indices + 1 byte (for sentinels). */
static uint32_t quantize_checked(const float *w, size_t n, const uint8_t *mask,
                                 const struct cnnz_quant_options *o, float *cb, uint8_t *idx,
                                 struct cnnz_quant_report *rep)
{
    int wide = cnnz_quant_index_dtype(o->levels) == CNNZ_DT_U16;
    uint32_t cbn = o->levels + 1;
    cb[cbn] = 12345.0f; /* sentinel entry */
    idx[n * (wide ? 2 : 1)] = SENTINEL;
    ck_assert_int_eq(cnnz_quantize(w, n, mask, o, cb, &cbn, idx, rep), CNNZ_OK);
    ck_assert_float_eq(cb[o->levels + 1], 12345.0f);
    idx_sentinel(idx, n, wide);
    ck_assert_uint_ge(cbn, 1);
    ck_assert_uint_le(cbn, o->levels + 1);
    ck_assert_uint_eq(f32_bits(cb[0]), 0);
    for (uint32_t j = 1; j < cbn; j++) {
        ck_assert(cb[j] != 0.0f);
        ck_assert(isfinite(cb[j]));
        if (j > 1)
            ck_assert(cb[j] > cb[j - 1]);
    }
    uint64_t zeros = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned q = idx_at(idx, wide, i);
        CHECK(q < cbn, "index %zu: %u >= %u entries", i, q, cbn);
        if ((mask && mask[i]) || w[i] == 0.0f || fabs((double)w[i]) <= o->prune_threshold)
            CHECK(q == 0, "pruned weight %zu has index %u", i, q);
        zeros += q == 0;
    }
    ck_assert_uint_eq(rep->codebook_size, cbn);
    ck_assert_uint_eq(rep->weights, n);
    ck_assert_uint_eq(rep->zeros, zeros);
    ck_assert_int_eq(rep->method, o->method);
    struct cnnz_quant_report ev;
    ck_assert_int_eq(cnnz_quant_evaluate(w, n, cb, cbn, idx, wide ? CNNZ_DT_U16 : CNNZ_DT_U8,
                                         NULL, &ev),
                     CNNZ_OK);
    ck_assert_uint_eq(ev.levels, rep->levels);
    ck_assert_double_eq_tol(ev.entropy_bits, rep->entropy_bits, 1e-12);
    ck_assert_double_eq_tol(ev.mse, rep->mse, 1e-15 + 1e-12 * rep->mse);
    ck_assert_double_eq(ev.max_abs_error, rep->max_abs_error);
    return cbn;
}

/* --------------------------------------------------------------- pruning */

START_TEST(test_prune_fraction_hand)
{
    const float w[8] = {0.5f, -0.1f, 0.3f, -0.3f, 0.0f, 0.2f, -0.0f, 0.1f};
    uint8_t m[9];
    struct cnnz_prune_result r;
    m[8] = SENTINEL;
    /* |w| ascending, ties by index: 4, 6 (zeros), 1, 7 (0.1), 5, 2, 3 (0.3), 0 */
    static const struct {
        double f;
        uint8_t mask[8];
        uint64_t pruned;
        float thr;
    } cases[] = {
        {0.0, {0, 0, 0, 0, 0, 0, 0, 0}, 0, 0.0f},   {0.125, {0, 0, 0, 0, 1, 0, 0, 0}, 1, 0.0f},
        {0.375, {0, 1, 0, 0, 1, 0, 1, 0}, 3, 0.1f}, {0.5, {0, 1, 0, 0, 1, 0, 1, 1}, 4, 0.1f},
        {0.75, {0, 1, 1, 0, 1, 1, 1, 1}, 6, 0.3f},  {1.0, {1, 1, 1, 1, 1, 1, 1, 1}, 8, 0.5f},
        {0.99, {0, 1, 1, 1, 1, 1, 1, 1}, 7, 0.3f},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ck_assert_int_eq(cnnz_prune_fraction(w, 8, cases[c].f, m, NULL, &r), CNNZ_OK);
        ck_assert_mem_eq(m, cases[c].mask, 8);
        ck_assert_uint_eq(r.pruned, cases[c].pruned);
        ck_assert_uint_eq(r.weights, 8);
        ck_assert_float_eq(r.threshold, cases[c].thr);
        ck_assert_uint_eq(m[8], SENTINEL);
    }
    /* Decimal fractions count as written: 0.29 * 100 is 28.999999999999996. */
    float v[100];
    uint8_t mm[100];
    for (int i = 0; i < 100; i++)
        v[i] = (float)(i + 1);
    ck_assert_int_eq(cnnz_prune_fraction(v, 100, 0.29, mm, NULL, &r), CNNZ_OK);
    ck_assert_uint_eq(r.pruned, 29);
    ck_assert_float_eq(r.threshold, 29.0f);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(mm[i], i < 29);
}
END_TEST

/* Sorting reference for fraction pruning over several tensors. */
struct pkey {
    float mag;
    size_t t, i;
};
static int pkey_cmp(const void *x, const void *y)
{
    const struct pkey *a = x, *b = y;
    if (a->mag != b->mag)
        return a->mag < b->mag ? -1 : 1;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

START_TEST(test_prune_global_random)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(40);
    for (unsigned it = 0; it < iters; it++) {
        size_t count = 1 + rng_below(&r, 4), total = 0;
        float *w[4];
        uint8_t *m[4];
        size_t n[4];
        int coarse = rng_below(&r, 2); /* few distinct magnitudes: many ties */
        for (size_t t = 0; t < count; t++) {
            n[t] = rng_below(&r, 300); /* zero-length tensors too */
            w[t] = malloc(n[t] * sizeof(float) + 1);
            m[t] = malloc(n[t] + 1);
            for (size_t i = 0; i < n[t]; i++)
                w[t][i] = coarse ? (float)((int)rng_below(&r, 9) - 4) * 0.25f
                                 : (float)gauss(&r);
            m[t][n[t]] = SENTINEL;
            total += n[t];
        }
        if (total == 0) {
            ck_assert_int_eq(cnnz_prune_global((const float *const *)w, n, count, 0.5, m, NULL,
                                               NULL),
                             CNNZ_E_ARG);
        } else {
            double f = rng_unit(&r);
            struct cnnz_prune_result res;
            ck_assert_int_eq(cnnz_prune_global((const float *const *)w, n, count, f, m, NULL,
                                               &res),
                             CNNZ_OK);
            struct pkey *k = malloc(total * sizeof *k);
            size_t q = 0;
            for (size_t t = 0; t < count; t++)
                for (size_t i = 0; i < n[t]; i++)
                    k[q++] = (struct pkey){fabsf(w[t][i]), t, i};
            qsort(k, total, sizeof *k, pkey_cmp);
            size_t want = (size_t)floor(f * (double)total + 1e-6);
            ck_assert_uint_eq(res.pruned, want);
            for (size_t j = 0; j < total; j++)
                CHECK(m[k[j].t][k[j].i] == (j < want), "rank %zu of %zu (%zu pruned)", j, total,
                      want);
            if (want)
                ck_assert_float_eq(res.threshold, k[want - 1].mag);
            for (size_t t = 0; t < count; t++)
                ck_assert_uint_eq(m[t][n[t]], SENTINEL);
            /* One tensor alone: the same as global pruning of one. */
            if (count == 1) {
                uint8_t *m2 = malloc(n[0]);
                ck_assert_int_eq(cnnz_prune_fraction(w[0], n[0], f, m2, NULL, NULL), CNNZ_OK);
                ck_assert_mem_eq(m2, m[0], n[0]);
                free(m2);
            }
            free(k);
        }
        for (size_t t = 0; t < count; t++) {
            free(w[t]);
            free(m[t]);
        }
    }
}
END_TEST

START_TEST(test_prune_threshold_and_errors)
{
    const float w[6] = {0.5f, -0.1f, 0.0f, -0.0f, 0.2f, -0.25f};
    uint8_t m[6];
    struct cnnz_prune_result r;
    ck_assert_int_eq(cnnz_prune_threshold(w, 6, 0.2, m, &r), CNNZ_OK);
    static const uint8_t want[6] = {0, 1, 1, 1, 0, 0}; /* 0.2f > 0.2 in binary64 */
    ck_assert_mem_eq(m, want, 6);
    ck_assert_uint_eq(r.pruned, 3);
    ck_assert_int_eq(cnnz_prune_threshold(w, 6, 0.0, m, &r), CNNZ_OK);
    ck_assert_uint_eq(r.pruned, 2);
    ck_assert_int_eq(cnnz_prune_threshold(w, 6, -1.0, m, &r), CNNZ_OK);
    ck_assert_uint_eq(r.pruned, 0);

    ck_assert_int_eq(cnnz_prune_threshold(w, 0, 0.1, m, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_prune_threshold(NULL, 6, 0.1, m, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_prune_threshold(w, 6, 0.1, NULL, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_prune_threshold(w, 6, NAN, m, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_prune_fraction(w, 0, 0.5, m, NULL, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_prune_fraction(NULL, 6, 0.5, m, NULL, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_prune_fraction(w, 6, 0.5, NULL, NULL, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_prune_fraction(w, 6, -0.01, m, NULL, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_prune_fraction(w, 6, 1.01, m, NULL, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_prune_fraction(w, 6, NAN, m, NULL, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_prune_global(NULL, NULL, 0, 0.5, NULL, NULL, NULL), CNNZ_E_ARG);

    /* Non-finite weights: CNNZ_E_INPUT and the mask untouched. */
    float bad[4] = {1, 2, NAN, 3};
    memset(m, 7, sizeof m);
    ck_assert_int_eq(cnnz_prune_fraction(bad, 4, 0.5, m, NULL, NULL), CNNZ_E_INPUT);
    ck_assert_uint_eq(m[0], 7);
    bad[2] = -INFINITY;
    ck_assert_int_eq(cnnz_prune_fraction(bad, 4, 0.5, m, NULL, NULL), CNNZ_E_INPUT);
    ck_assert_int_eq(cnnz_prune_threshold(bad, 4, 0.5, m, NULL), CNNZ_E_INPUT);
    ck_assert_uint_eq(m[0], 7);

    /* Allocation failure is reported, nothing leaks. */
    struct test_alloc ta;
    test_alloc_init(&ta, 0);
    struct cnnz_allocator h = test_alloc_hooks(&ta);
    ck_assert_int_eq(cnnz_prune_fraction(w, 6, 0.5, m, &h, NULL), CNNZ_E_NOMEM);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* -------------------------------------------------------------------- UQ */

START_TEST(test_uq_hand)
{
    /* Asymmetric, 5 levels over [-1, 1] on a grid through zero: zero point
     * 2 (step max(1/2, 1/2) = 0.5; 1 and 3 give 1), so -1, -0.5, 0, 0.5, 1.
     * 0 is an exact zero (pruned); 0.25 lies halfway between 0 and 0.5 and
     * goes to the lower level, 0, which is entry 0; 0.5 is not used. */
    const float w[6] = {-1.0f, -0.5f, 0.0f, 0.25f, 1.0f, -0.7f};
    float cb[7];
    uint8_t *idx = idx_alloc(6, 0);
    struct cnnz_quant_report rep;
    struct cnnz_quant_options o = opts(CNNZ_QUANT_UQ, 5);
    uint32_t cbn = quantize_checked(w, 6, NULL, &o, cb, idx, &rep);
    ck_assert_uint_eq(cbn, 4);
    const float want_cb[4] = {0.0f, -1.0f, -0.5f, 1.0f};
    ck_assert_mem_eq(cb, want_cb, sizeof want_cb);
    static const uint8_t want_idx[6] = {1, 2, 0, 0, 3, 2};
    ck_assert_mem_eq(idx, want_idx, 6);
    ck_assert_double_eq(rep.step, 0.5);
    ck_assert_int_eq(rep.grid, 1);
    ck_assert_uint_eq(rep.zero_point, 2);
    ck_assert_uint_eq(rep.pruned, 1);
    ck_assert_uint_eq(rep.zeros, 2);
    ck_assert_uint_eq(rep.levels, 3);
    /* errors 0, 0, 0, 0.25, 0, 0.2: */
    ck_assert_double_eq_tol(rep.max_abs_error, 0.25, 1e-9);
    double se = 0.25 * 0.25 + (0.7f - 0.5) * (0.7f - 0.5);
    double sw = 1 + 0.25 + 0.0625 + 1 + (double)0.7f * 0.7f;
    ck_assert_double_eq_tol(rep.mse, se / 6, 1e-12);
    ck_assert_double_eq_tol(rep.sqnr_db, 10 * log10(sw / se), 1e-9);
    ck_assert_double_eq_tol(rep.rel_l2_error, sqrt(se / sw), 1e-12);
    /* entropy of {0: 2, 1: 1, 2: 2, 3: 1} over 6 */
    double h = -(2 * (2.0 / 6) * log2(2.0 / 6) + 2 * (1.0 / 6) * log2(1.0 / 6));
    ck_assert_double_eq_tol(rep.entropy_bits, h, 1e-12);

    /* The same as affine symbols: grid positions, scale 0.5, offset -1. */
    uint8_t sym[6];
    memcpy(sym, idx, 6);
    double sc = 0, of = 0;
    ck_assert_int_eq(cnnz_quant_affine(cb, cbn, &rep, sym, 6, CNNZ_DT_U8, &sc, &of), CNNZ_OK);
    static const uint8_t want_sym[6] = {0, 1, 2, 2, 4, 1};
    ck_assert_mem_eq(sym, want_sym, 6);
    ck_assert_double_eq(sc, 0.5);
    ck_assert_double_eq(of, -1.0);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(ref_affine(sym[i], sc, of), cb[idx[i]]);
    /* an index past the codebook, or a codebook off the grid: refused,
     * symbols untouched */
    sym[3] = 9;
    ck_assert_int_eq(cnnz_quant_affine(cb, cbn, &rep, sym, 6, CNNZ_DT_U8, &sc, &of), CNNZ_E_INPUT);
    ck_assert_uint_eq(sym[0], 0);
    float off_grid[4] = {0.0f, -1.0f, -0.4f, 1.0f};
    memcpy(sym, idx, 6);
    ck_assert_int_eq(cnnz_quant_affine(off_grid, 4, &rep, sym, 6, CNNZ_DT_U8, &sc, &of),
                     CNNZ_E_UNSUPPORTED);
    ck_assert_mem_eq(sym, idx, 6);

    /* Symmetric, 4 levels, m = 1: h = 1 level a side, step 1: -1, 0, 1 (the
     * fourth grid point unused); 0.4 falls to 0 (entry 0). */
    const float v[3] = {-1.0f, 0.4f, 0.9f};
    o.uq_mode = CNNZ_UQ_SYMMETRIC;
    o.levels = 4;
    cbn = quantize_checked(v, 3, NULL, &o, cb, idx, &rep);
    ck_assert_uint_eq(cbn, 3);
    ck_assert_float_eq(cb[1], -1.0f);
    ck_assert_float_eq(cb[2], 1.0f);
    ck_assert_uint_eq(idx[0], 1);
    ck_assert_uint_eq(idx[1], 0);
    ck_assert_uint_eq(idx[2], 2);
    ck_assert_double_eq(rep.step, 1.0);
    ck_assert_uint_eq(rep.zero_point, 1);
    /* Odd symmetric: the middle level is 0 exactly, so small kept weights
     * become exact zeros (entry 0). */
    const float z[3] = {-1.0f, 0.1f, 1.0f};
    o.levels = 3;
    cbn = quantize_checked(z, 3, NULL, &o, cb, idx, &rep);
    ck_assert_uint_eq(cbn, 3);
    ck_assert_uint_eq(idx[1], 0);
    ck_assert_uint_eq(rep.pruned, 0);
    ck_assert_uint_eq(rep.zeros, 1);
    /* One level: the middle of the range (asymmetric); no grid through 0. */
    o.uq_mode = CNNZ_UQ_ASYMMETRIC;
    o.levels = 1;
    cbn = quantize_checked(v, 3, NULL, &o, cb, idx, &rep);
    ck_assert_uint_eq(cbn, 2);
    ck_assert_float_eq(cb[1], (float)(-1.0 + ((double)0.9f + 1.0) / 2));
    ck_assert_int_eq(rep.grid, 0);
    ck_assert_int_eq(cnnz_quant_affine(cb, cbn, &rep, idx, 3, CNNZ_DT_U8, &sc, &of),
                     CNNZ_E_UNSUPPORTED);
    free(idx);
}
END_TEST

START_TEST(test_uq_error_bound)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(30);
    for (unsigned it = 0; it < iters; it++) {
        size_t n = 1 + rng_below(&r, 5000);
        float *w = make_weights(&r, n);
        uint8_t *mask = malloc(n);
        double f = rng_below(&r, 2) ? 0 : rng_unit(&r);
        ck_assert_int_eq(cnnz_prune_fraction(w, n, f, mask, NULL, NULL), CNNZ_OK);
        static const uint32_t lv[] = {1, 2, 3, 7, 32, 255, 256, 1000};
        struct cnnz_quant_options o = opts(CNNZ_QUANT_UQ, lv[rng_below(&r, 8)]);
        o.uq_mode = (int)rng_below(&r, 2);
        int wide = o.levels > 255;
        float *cb = malloc((o.levels + 2) * sizeof *cb);
        uint8_t *idx = idx_alloc(n, wide);
        struct cnnz_quant_report rep;
        quantize_checked(w, n, mask, &o, cb, idx, &rep);
        double maxabs = 0;
        for (size_t i = 0; i < n; i++)
            maxabs = fmax(maxabs, fabs((double)w[i]));
        /* step / 2, plus the rounding of a level to float32 */
        double bound = rep.step / 2 + maxabs * 0x1p-23;
        for (size_t i = 0; i < n; i++) {
            unsigned q = idx_at(idx, wide, i);
            if (mask[i] || w[i] == 0.0f) {
                CHECK(q == 0, "pruned weight %zu has index %u", i, q);
                continue;
            }
            double e = fabs((double)w[i] - cb[q]);
            CHECK(e <= bound, "w %.9g -> %.9g: error %.9g > %.9g (levels %u, mode %d)",
                          (double)w[i], (double)cb[q], e, bound, o.levels, o.uq_mode);
        }
        /* 3 or more levels: the grid through zero is affine, bit-exactly */
        if (o.levels >= 3 && rep.pruned < n) {
            CHECK(rep.grid == 1, "levels %u: no grid", o.levels);
            uint8_t *sym = idx_alloc(n, wide);
            memcpy(sym, idx, n * (wide ? 2u : 1u));
            double sc, of;
            CHECK(cnnz_quant_affine(cb, rep.codebook_size, &rep, sym, n,
                                    wide ? CNNZ_DT_U16 : CNNZ_DT_U8, &sc, &of) == CNNZ_OK,
                  "levels %u: not affine", o.levels);
            for (size_t i = 0; i < n; i++) {
                float a = ref_affine(idx_at(sym, wide, i), sc, of), c = cb[idx_at(idx, wide, i)];
                CHECK(memcmp(&a, &c, 4) == 0, "element %zu: affine %a, codebook %a", i,
                      (double)a, (double)c);
                CHECK(idx_at(sym, wide, i) < o.levels, "symbol %u >= levels %u",
                      idx_at(sym, wide, i), o.levels);
            }
            free(sym);
        }
        free(w);
        free(mask);
        free(cb);
        free(idx);
    }
}
END_TEST

/* ----------------------------------------------------------- CWS (k-means) */

START_TEST(test_cws_hand)
{
    const float w[6] = {1, 2, 3, 10, 11, 12};
    float cb[4];
    uint8_t *idx = idx_alloc(7, 0);
    struct cnnz_quant_report rep;
    for (int init = 0; init < 2; init++)
        for (uint64_t seed = 0; seed < 8; seed++) {
            struct cnnz_quant_options o = opts(CNNZ_QUANT_CWS, 2);
            o.kmeans_init = init;
            o.seed = seed;
            ck_assert_uint_eq(quantize_checked(w, 6, NULL, &o, cb, idx, &rep), 3);
            ck_assert_float_eq(cb[1], 2.0f);
            ck_assert_float_eq(cb[2], 11.0f);
            static const uint8_t want[6] = {1, 1, 1, 2, 2, 2};
            ck_assert_mem_eq(idx, want, 6);
            ck_assert_double_eq_tol(rep.mse, 4.0 / 6, 1e-12);
            ck_assert_uint_ge(rep.iterations, 1);
        }
    /* One level: the mean of the kept weights (the masked 12 is out). */
    const uint8_t mask[6] = {0, 0, 0, 0, 0, 1};
    struct cnnz_quant_options o = opts(CNNZ_QUANT_CWS, 1);
    ck_assert_uint_eq(quantize_checked(w, 6, mask, &o, cb, idx, &rep), 2);
    ck_assert_float_eq(cb[1], 5.4f);
    /* More levels than distinct values: one entry per value, no error. */
    const float d[7] = {-2, -2, 5, 5, 5, 9, -2};
    o = opts(CNNZ_QUANT_CWS, 3);
    for (int init = 0; init < 2; init++) {
        o.kmeans_init = init;
        float cb3[5];
        ck_assert_uint_eq(quantize_checked(d, 7, NULL, &o, cb3, idx, &rep), 4);
        ck_assert_float_eq(cb3[1], -2.0f);
        ck_assert_float_eq(cb3[2], 5.0f);
        ck_assert_float_eq(cb3[3], 9.0f);
        ck_assert_double_eq(rep.mse, 0);
        ck_assert(isinf(rep.sqnr_db));
    }
    o.levels = 10;
    float cb10[12];
    ck_assert_uint_eq(quantize_checked(d, 7, NULL, &o, cb10, idx, &rep), 4);
    free(idx);
}
END_TEST

START_TEST(test_cws_shared_codebook)
{
    /* Two tensors, one codebook: the levels fit both. */
    const float a[3] = {1, 2, 3}, b[4] = {10, 11, 12, 0};
    uint8_t ia[3], ib[4];
    struct cnnz_quant_tensor t[2] = {{a, 3, NULL, ia}, {b, 4, NULL, ib}};
    struct cnnz_quant_options o = opts(CNNZ_QUANT_CWS, 2);
    float cb[3];
    uint32_t cbn = 3;
    struct cnnz_quant_report rep;
    ck_assert_int_eq(cnnz_quantize_set(t, 2, &o, cb, &cbn, &rep), CNNZ_OK);
    ck_assert_uint_eq(cbn, 3);
    ck_assert_float_eq(cb[1], 2.0f);
    ck_assert_float_eq(cb[2], 11.0f);
    ck_assert_uint_eq(ia[0], 1);
    ck_assert_uint_eq(ia[2], 1);
    ck_assert_uint_eq(ib[0], 2);
    ck_assert_uint_eq(ib[3], 0);
    ck_assert_uint_eq(rep.weights, 7);
    ck_assert_uint_eq(rep.pruned, 1);
    /* A tensor in a set is rejected when empty or without buffers. */
    t[1].n = 0;
    ck_assert_int_eq(cnnz_quantize_set(t, 2, &o, cb, &cbn, &rep), CNNZ_E_ARG);
    t[1].n = 4;
    t[1].indices = NULL;
    ck_assert_int_eq(cnnz_quantize_set(t, 2, &o, cb, &cbn, &rep), CNNZ_E_ARG);
    /* Every method accepts a set. */
    t[1].indices = ib;
    for (size_t k = 0; k < NMETHODS; k++) {
        o = opts(methods[k], 2);
        cbn = 3;
        ck_assert_int_eq(cnnz_quantize_set(t, 2, &o, cb, &cbn, &rep), CNNZ_OK);
        ck_assert_uint_eq(ib[3], 0);
    }
}
END_TEST

struct trace_rec {
    unsigned n;
    unsigned last;
    double d[1024];
    double rate[1024];
};
static void trace_cb(void *opaque, unsigned it, double distortion, double rate)
{
    struct trace_rec *t = opaque;
    ck_assert_uint_eq(it, t->last + 1); /* 1, 2, 3, ... */
    t->last = it;
    if (t->n < 1024) {
        t->d[t->n] = distortion;
        t->rate[t->n] = rate;
        t->n++;
    }
}

START_TEST(test_cws_monotone_nearest)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(24);
    for (unsigned it = 0; it < iters; it++) {
        size_t n = 50 + rng_below(&r, 20000);
        float *w = make_weights(&r, n);
        uint8_t *mask = malloc(n);
        ck_assert_int_eq(cnnz_prune_fraction(w, n, rng_below(&r, 2) ? 0.9 : 0.0, mask, NULL, NULL),
                         CNNZ_OK);
        static const uint32_t lv[] = {2, 3, 16, 32, 64, 300};
        struct cnnz_quant_options o = opts(CNNZ_QUANT_CWS, lv[rng_below(&r, 6)]);
        o.kmeans_init = (int)rng_below(&r, 2);
        o.seed = rng_u64(&r);
        struct trace_rec tr = {0};
        o.trace = trace_cb;
        o.trace_opaque = &tr;
        int wide = o.levels > 255;
        float *cb = malloc((o.levels + 2) * sizeof *cb);
        uint8_t *idx = idx_alloc(n, wide);
        struct cnnz_quant_report rep;
        uint32_t cbn = quantize_checked(w, n, mask, &o, cb, idx, &rep);
        ck_assert_uint_ge(tr.n, 1);
        ck_assert_uint_eq(tr.last, rep.iterations);
        for (unsigned i = 1; i < tr.n; i++)
            ck_assert_msg(tr.d[i] <= tr.d[i - 1] * (1 + 1e-12) + 1e-300,
                          "iteration %u: distortion %.17g > %.17g (levels %u, init %d)", i + 1,
                          tr.d[i], tr.d[i - 1], o.levels, o.kmeans_init);
        /* Every kept weight sits on the nearest non-zero-entry level. */
        for (size_t i = 0; i < n; i++) {
            if (mask[i] || w[i] == 0.0f)
                continue;
            unsigned q = idx_at(idx, wide, i);
            double e = fabs((double)w[i] - cb[q]);
            /* the neighbours of q are the only candidates (ascending codebook) */
            if (q > 1)
                CHECK(e <= fabs((double)w[i] - cb[q - 1]), "weight %zu: entry %u nearer", i, q - 1);
            if (q + 1 < cbn)
                CHECK(e <= fabs((double)w[i] - cb[q + 1]), "weight %zu: entry %u nearer", i, q + 1);
        }
        free(w);
        free(mask);
        free(cb);
        free(idx);
    }
}
END_TEST

/* k-means beats the uniform grid on the same levels (it minimises MSE). */
START_TEST(test_cws_beats_uq)
{
    struct rng r;
    rng_init(&r, __func__);
    size_t n = 30000;
    float *w = make_weights(&r, n);
    uint8_t *idx = idx_alloc(n, 0);
    float cb[34];
    struct cnnz_quant_report ru, rc;
    struct cnnz_quant_options o = opts(CNNZ_QUANT_UQ, 32);
    quantize_checked(w, n, NULL, &o, cb, idx, &ru);
    o = opts(CNNZ_QUANT_CWS, 32);
    quantize_checked(w, n, NULL, &o, cb, idx, &rc);
    ck_assert_msg(rc.mse < ru.mse, "k-means mse %g, uniform %g", rc.mse, ru.mse);
    ck_assert_double_gt(rc.sqnr_db, ru.sqnr_db + 3);
    free(w);
    free(idx);
}
END_TEST

/* ------------------------------------------------------------------- PWS */

START_TEST(test_pws_hand)
{
    /* Two levels: the min and max of the kept weights, 1 and 4. 2 rounds up
     * with probability 1/3; 1 and 4 are levels and never move. */
    const float w[4] = {0.0f, 1.0f, 2.0f, 4.0f};
    float cb[4];
    uint8_t idx[4 + 1];
    idx[4] = SENTINEL;
    struct cnnz_quant_report rep;
    unsigned ups = 0, S = test_iters(3000);
    for (unsigned s = 0; s < S; s++) {
        struct cnnz_quant_options o = opts(CNNZ_QUANT_PWS, 2);
        o.seed = s;
        uint32_t cbn = quantize_checked(w, 4, NULL, &o, cb, idx, &rep);
        ck_assert_float_eq(cb[1], 1.0f);
        ck_assert_float_eq(cb[cbn - 1], 4.0f);
        ck_assert_uint_eq(idx[0], 0);
        ck_assert_uint_eq(idx[1], 1);
        ck_assert_uint_eq(idx[3], cbn - 1);
        ups += cb[idx[2]] == 4.0f;
    }
    double p = (double)ups / S, sd = sqrt(1.0 / 3 * 2 / 3 / S);
    ck_assert_msg(fabs(p - 1.0 / 3) < 5 * sd, "P(up) = %g, want 1/3", p);
    /* Three levels on 0..4 step 1 spread: quantiles of {1, 2, 3, 4, 5}. */
    const float v[5] = {1, 2, 3, 4, 5};
    struct cnnz_quant_options o = opts(CNNZ_QUANT_PWS, 3);
    float cb4[5];
    uint8_t iv[6];
    iv[5] = SENTINEL;
    ck_assert_uint_eq(quantize_checked(v, 5, NULL, &o, cb4, iv, &rep), 4);
    ck_assert_float_eq(cb4[1], 1.0f);
    ck_assert_float_eq_tol(cb4[2], 3.0f, 1e-3f); /* the median, through the histogram */
    ck_assert_float_eq(cb4[3], 5.0f);
}
END_TEST

START_TEST(test_pws_unbiased)
{
    struct rng r;
    rng_init(&r, __func__);
    size_t n = 40;
    float w[40];
    for (size_t i = 0; i < n; i++)
        w[i] = (float)gauss(&r);
    w[7] = 0.0f; /* pruned: always exactly 0 */
    unsigned S = test_iters(4000);
    double *sum = calloc(n, sizeof *sum), *sum2 = calloc(n, sizeof *sum2);
    uint8_t idx[41];
    idx[40] = SENTINEL;
    float cb[8];
    struct cnnz_quant_report rep;
    uint64_t base = rng_u64(&r);
    float levels[64]; /* every level seen: runs drop the ones they do not use */
    size_t nl = 0;
    for (unsigned s = 0; s < S; s++) {
        struct cnnz_quant_options o = opts(CNNZ_QUANT_PWS, 6);
        o.seed = base + s;
        uint32_t cbn = quantize_checked(w, n, NULL, &o, cb, idx, &rep);
        for (uint32_t j = 1; j < cbn; j++) {
            size_t q = 0;
            while (q < nl && levels[q] != cb[j])
                q++;
            if (q == nl && nl < 64)
                levels[nl++] = cb[j];
        }
        for (size_t i = 0; i < n; i++) {
            double q = cb[idx[i]];
            sum[i] += q;
            sum2[i] += q * q;
        }
    }
    ck_assert_uint_le(nl, 6);
    for (size_t i = 0; i < n; i++) {
        if (w[i] == 0.0f)
            continue;
        /* The rounding between the levels a <= w <= b around w has variance
         * v = (w - a)(b - w) and range b - a. Bernstein's inequality bounds
         * the mean of S draws: |mean - w| <= sqrt(2 v L / S) + 2 (b - a) L / (3 S)
         * with probability 1 - 2 e^-L; L = 21 (one false alarm in 10^9).
         * (A normal 5-sd bound is wrong when p is near 0 or 1: then the
         * rare outcome is Poisson and its tail heavy.) */
        double a = -INFINITY, b = INFINITY, x = w[i];
        for (size_t q = 0; q < nl; q++) {
            if (levels[q] <= x && levels[q] > a)
                a = levels[q];
            if (levels[q] >= x && levels[q] < b)
                b = levels[q];
        }
        ck_assert(isfinite(a) && isfinite(b));
        double mean = sum[i] / S, L = 21;
        double tol = sqrt(2 * (x - a) * (b - x) * L / S) + 2 * (b - a) * L / (3 * S) + 1e-12;
        CHECK(fabs(mean - w[i]) <= tol, "weight %zu = %.6f: mean %.6f (tol %.6f)", i,
                      (double)w[i], mean, tol);
    }
    ck_assert_double_eq(sum[7], 0);
    free(sum);
    free(sum2);
}
END_TEST

/* ------------------------------------------------------------------ ECSQ */

START_TEST(test_ecsq_hand)
{
    /* Eight 1s and one 2, two levels. k-means: {1, 2}, D = 0, R = H(8/9).
     * Moving the 2 to level 1 costs (2 - 1)^2 = 1 in distortion and saves
     * lambda s2 (log2 9 - log2(9/8)) in rate, s2 = 12/9: it moves when
     * lambda > 1 / (4/3 * 3) = 0.25, then one level at the mean 10/9. */
    const float w[9] = {1, 1, 1, 1, 2, 1, 1, 1, 1};
    float cb[4];
    uint8_t idx[10];
    idx[9] = SENTINEL;
    struct cnnz_quant_report rep;
    struct cnnz_quant_options o = opts(CNNZ_QUANT_ECSQ, 2);
    o.lambda = 0.1;
    ck_assert_uint_eq(quantize_checked(w, 9, NULL, &o, cb, idx, &rep), 3);
    ck_assert_float_eq(cb[1], 1.0f);
    ck_assert_float_eq(cb[2], 2.0f);
    ck_assert_uint_eq(idx[4], 2);
    ck_assert_double_eq(rep.lambda, 0.1);
    o.lambda = 0.5;
    ck_assert_uint_eq(quantize_checked(w, 9, NULL, &o, cb, idx, &rep), 2);
    ck_assert_float_eq(cb[1], (float)(10.0 / 9));
    ck_assert_double_eq(rep.entropy_bits, 0);
    /* lambda 0 is k-means. */
    const float v[6] = {1, 2, 3, 10, 11, 12};
    o.lambda = 0;
    ck_assert_uint_eq(quantize_checked(v, 6, NULL, &o, cb, idx, &rep), 3);
    ck_assert_float_eq(cb[1], 2.0f);
    ck_assert_float_eq(cb[2], 11.0f);
}
END_TEST

START_TEST(test_ecsq_thresholds_envelope)
{
    /* A cheap level in the middle takes over both neighbours' near sides;
     * an expensive one between two cheap ones never wins (empty interval). */
    const float w[12] = {0.1f, 0.2f, 0.3f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.9f, 2.0f};
    float cb[5];
    uint8_t idx[13];
    idx[12] = SENTINEL;
    struct cnnz_quant_report rep;
    struct cnnz_quant_options o = opts(CNNZ_QUANT_ECSQ, 3);
    o.lambda = 0.02;
    uint32_t cbn = quantize_checked(w, 12, NULL, &o, cb, idx, &rep);
    /* The assignment minimises (w - c)^2 + lambda s2 l_j over the levels,
     * l_j = -log2 p_j from the final usage: check it against brute force. */
    double s2 = 0, cnt[5] = {0};
    for (int i = 0; i < 12; i++)
        s2 += (double)w[i] * w[i];
    s2 /= 12;
    for (int i = 0; i < 12; i++)
        cnt[idx[i]]++;
    for (int i = 0; i < 12; i++) {
        double best = INFINITY;
        for (uint32_t j = 1; j < cbn; j++) {
            if (cnt[j] == 0)
                continue;
            double d = (double)w[i] - cb[j];
            double c = d * d + o.lambda * s2 * -log2(cnt[j] / 12);
            best = fmin(best, c);
        }
        double d = (double)w[i] - cb[idx[i]];
        double mine = d * d + o.lambda * s2 * -log2(cnt[idx[i]] / 12);
        ck_assert_double_le(mine, best + 1e-12);
    }
}
END_TEST

START_TEST(test_ecsq_rate_falls)
{
    struct rng r;
    rng_init(&r, __func__);
    size_t n = 20000;
    float *w = make_weights(&r, n);
    uint8_t *idx = idx_alloc(n, 0);
    float cb[66];
    static const double lambdas[] = {0, 0.002, 0.01, 0.03, 0.1, 0.3, 1, 3};
    double prev_h = INFINITY, h0 = 0;
    double N = 0, ms = 0; /* kept weights and their mean square */
    for (size_t i = 0; i < n; i++)
        if (w[i] != 0.0f) {
            N++;
            ms += (double)w[i] * w[i];
        }
    ms /= N;
    for (size_t k = 0; k < sizeof lambdas / sizeof lambdas[0]; k++) {
        struct cnnz_quant_options o = opts(CNNZ_QUANT_ECSQ, 64);
        o.lambda = lambdas[k];
        struct trace_rec tr = {0};
        o.trace = trace_cb;
        o.trace_opaque = &tr;
        struct cnnz_quant_report rep;
        quantize_checked(w, n, NULL, &o, cb, idx, &rep);
        /* ECSQ finds local optima, so allow a hundredth of a bit. */
        ck_assert_msg(rep.entropy_bits <= prev_h + 0.01, "lambda %g: %g bits > %g", lambdas[k],
                      rep.entropy_bits, prev_h);
        if (k == 0)
            h0 = rep.entropy_bits;
        prev_h = rep.entropy_bits;
        /* J = D / (N s2) + lambda R never rises over the iterations. */
        for (unsigned i = 1; i < tr.n; i++) {
            double j1 = tr.d[i] / (N * ms) + o.lambda * tr.rate[i];
            double j0 = tr.d[i - 1] / (N * ms) + o.lambda * tr.rate[i - 1];
            ck_assert_double_le(j1, j0 * (1 + 1e-12));
        }
    }
    ck_assert_double_lt(prev_h, h0 - 1); /* lambda matters */
    free(w);
    free(idx);
}
END_TEST

START_TEST(test_ecsq_target)
{
    struct rng r;
    rng_init(&r, __func__);
    size_t n = 20000;
    float *w = make_weights(&r, n);
    uint8_t *mask = malloc(n);
    ck_assert_int_eq(cnnz_prune_fraction(w, n, 0.5, mask, NULL, NULL), CNNZ_OK);
    uint8_t *idx = idx_alloc(n, 0);
    float cb[34];
    /* With half the weights pruned, one level per sign costs 1.5 bits and
     * the step below is one level (1 bit): targets above that are met. */
    static const double targets[] = {1.7, 2.0, 2.3, 2.6};
    double prev_sqnr = -INFINITY;
    for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
        struct cnnz_quant_options o = opts(CNNZ_QUANT_ECSQ, 32);
        o.target_bits = targets[k];
        o.lambda = -1; /* ignored with a target */
        struct cnnz_quant_report rep;
        quantize_checked(w, n, mask, &o, cb, idx, &rep);
        ck_assert_msg(rep.entropy_bits <= targets[k] + 0.02 && rep.entropy_bits > targets[k] - 0.05,
                      "target %g: %g bits (lambda %g)", targets[k], rep.entropy_bits, rep.lambda);
        ck_assert_double_gt(rep.lambda, 0);
        ck_assert_double_gt(rep.sqnr_db, prev_sqnr);
        prev_sqnr = rep.sqnr_db;
    }
    /* A target above what k-means needs: lambda 0. */
    struct cnnz_quant_options o = opts(CNNZ_QUANT_ECSQ, 4);
    o.target_bits = 8;
    struct cnnz_quant_report rep;
    quantize_checked(w, n, mask, &o, cb, idx, &rep);
    ck_assert_double_eq(rep.lambda, 0);
    free(w);
    free(mask);
    free(idx);
}
END_TEST

/* ------------------------------------------------------ shared properties */

START_TEST(test_pruned_exact_zero_and_determinism)
{
    struct rng r;
    rng_init(&r, __func__);
    size_t n = 5000;
    float *w = make_weights(&r, n);
    w[3] = -0.0f;
    uint8_t *mask = malloc(n);
    ck_assert_int_eq(cnnz_prune_fraction(w, n, 0.7, mask, NULL, NULL), CNNZ_OK);
    for (size_t k = 0; k < NMETHODS; k++)
        for (int wide = 0; wide < 2; wide++) {
            struct cnnz_quant_options o = opts(methods[k], wide ? 700 : 32);
            o.seed = rng_u64(&r);
            o.kmeans_init = CNNZ_KMEANS_PLUSPLUS;
            o.prune_threshold = 0.001;
            float *cb1 = malloc((o.levels + 2) * sizeof(float));
            float *cb2 = malloc((o.levels + 2) * sizeof(float));
            uint8_t *i1 = idx_alloc(n, wide), *i2 = idx_alloc(n, wide);
            struct cnnz_quant_report r1, r2;
            uint32_t n1 = quantize_checked(w, n, mask, &o, cb1, i1, &r1);
            uint32_t n2 = quantize_checked(w, n, mask, &o, cb2, i2, &r2);
            ck_assert_uint_eq(n1, n2);
            ck_assert_mem_eq(cb1, cb2, n1 * sizeof(float));
            ck_assert_mem_eq(i1, i2, n * (wide ? 2u : 1u));
            ck_assert_mem_eq(&r1.sqnr_db, &r2.sqnr_db, sizeof(double));
            for (size_t i = 0; i < n; i++)
                if (mask[i] || fabsf(w[i]) <= 0.001f)
                    CHECK(f32_bits(cb1[idx_at(i1, wide, i)]) == 0, "pruned weight %zu not +0", i);
            ck_assert_uint_ge(r1.pruned, (uint64_t)(0.7 * n));
            if (methods[k] == CNNZ_QUANT_PWS) { /* another seed, other draws */
                o.seed++;
                quantize_checked(w, n, mask, &o, cb2, i2, &r2);
                ck_assert(memcmp(i1, i2, n * (wide ? 2u : 1u)) != 0);
            }
            free(cb1);
            free(cb2);
            free(i1);
            free(i2);
        }
    free(w);
    free(mask);
}
END_TEST

START_TEST(test_all_pruned)
{
    const float w[5] = {0, -0.0f, 1, 2, 0};
    const uint8_t mask[5] = {0, 0, 1, 1, 0};
    for (size_t k = 0; k < NMETHODS; k++) {
        struct cnnz_quant_options o = opts(methods[k], 8);
        float cb[10];
        uint8_t idx[6];
        idx[5] = SENTINEL;
        struct cnnz_quant_report rep;
        ck_assert_uint_eq(quantize_checked(w, 5, mask, &o, cb, idx, &rep), 1);
        ck_assert_uint_eq(rep.levels, 0);
        ck_assert_double_eq(rep.sparsity, 1);
        ck_assert_double_eq(rep.entropy_bits, 0);
        ck_assert_double_eq_tol(rep.rel_l2_error, 1, 1e-15);
        ck_assert_double_eq(rep.max_abs_error, 2);
    }
    /* All weights equal: one level, no error. */
    const float e[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    for (size_t k = 0; k < NMETHODS; k++) {
        struct cnnz_quant_options o = opts(methods[k], 8);
        float cb[10];
        uint8_t idx[5];
        idx[4] = SENTINEL;
        struct cnnz_quant_report rep;
        ck_assert_uint_eq(quantize_checked(e, 4, NULL, &o, cb, idx, &rep), 2);
        ck_assert_float_eq(cb[1], 0.5f);
        ck_assert_double_eq(rep.mse, 0);
    }
}
END_TEST

/* Write codebook + indices as HAM and SHAM with the raw coder and with
 * CNNZ_CODER_AUTO, read back: every element is codebook[index], bit for bit. */
START_TEST(test_writer_roundtrip)
{
    struct rng r;
    rng_init(&r, __func__);
    const uint64_t dims[2] = {37, 53};
    size_t n = 37 * 53;
    float *w = make_weights(&r, n);
    uint8_t *mask = malloc(n);
    ck_assert_int_eq(cnnz_prune_fraction(w, n, 0.8, mask, NULL, NULL), CNNZ_OK);
    for (size_t k = 0; k < NMETHODS; k++)
        for (int wide = 0; wide < 2; wide++) {
            struct cnnz_quant_options o = opts(methods[k], wide ? 400 : 32);
            float *cb = malloc((o.levels + 2) * sizeof *cb);
            uint8_t *idx = idx_alloc(n, wide);
            struct cnnz_quant_report rep;
            uint32_t cbn = quantize_checked(w, n, mask, &o, cb, idx, &rep);
            uint8_t *cbytes = malloc((size_t)cbn * 4);
            for (uint32_t j = 0; j < cbn; j++)
                put32(cbytes + 4 * j, f32_bits(cb[j]));
            static const int reprs[2] = {CNNZ_REPR_HAM, CNNZ_REPR_SHAM};
            static const int coders[2] = {CNNZ_CODER_RAW, CNNZ_CODER_AUTO};
            for (int a = 0; a < 2; a++)
                for (int c = 0; c < 2; c++) {
                    struct membuf mb;
                    membuf_init(&mb);
                    struct cnnz_sink sink = membuf_sink(&mb);
                    cnnz_writer *wr;
                    ck_assert_int_eq(cnnz_writer_open(&wr, &sink, NULL), CNNZ_OK);
                    struct cnnz_tensor_desc d = {.name = "q",
                                                 .dtype = CNNZ_DT_F32,
                                                 .rank = 2,
                                                 .dims = dims,
                                                 .repr = reprs[a],
                                                 .symbol_dtype = cnnz_quant_index_dtype(o.levels),
                                                 .coder = coders[c],
                                                 .codebook = cbytes,
                                                 .codebook_size = cbn};
                    ck_assert_int_eq(cnnz_writer_add_tensor(wr, &d, idx, n * (wide ? 2u : 1u)),
                                     CNNZ_OK);
                    ck_assert_int_eq(cnnz_writer_finish(wr), CNNZ_OK);
                    cnnz_writer_free(wr);
                    cnnz_reader *rd;
                    ck_assert_int_eq(cnnz_reader_open_memory(&rd, mb.data, mb.len, NULL), CNNZ_OK);
                    ck_assert_int_eq(cnnz_reader_verify(rd, NULL), CNNZ_OK);
                    struct cnnz_tensor_info ti;
                    ck_assert_int_eq(cnnz_reader_tensor_info(rd, 0, &ti), CNNZ_OK);
                    ck_assert(ti.repr == CNNZ_REPR_HAM || ti.repr == CNNZ_REPR_SHAM);
                    ck_assert_uint_eq(ti.codebook_size, cbn);
                    uint8_t *out = malloc(4 * n + 1);
                    out[4 * n] = SENTINEL;
                    ck_assert_int_eq(cnnz_reader_decode(rd, 0, out, 4 * n, NULL), CNNZ_OK);
                    ck_assert_uint_eq(out[4 * n], SENTINEL);
                    for (size_t i = 0; i < n; i++)
                        CHECK(get32(out + 4 * i) == f32_bits(cb[idx_at(idx, wide, i)]),
                              "element %zu is not codebook[index]", i);
                    free(out);
                    cnnz_reader_close(rd);
                    membuf_free(&mb);
                }
            free(cbytes);
            free(cb);
            free(idx);
        }
    free(w);
    free(mask);
}
END_TEST

START_TEST(test_bad_arguments)
{
    const float w[4] = {0.1f, -0.2f, 0.3f, 0.4f};
    float cb[8];
    uint8_t idx[4];
    uint32_t cbn = 8;
    struct cnnz_quant_report rep;
    struct cnnz_quant_options o = opts(CNNZ_QUANT_CWS, 4);
    /* levels 0, and more than 65535 (65536 + entry 0 > u16) */
    static const uint32_t bad_levels[] = {0, 65536, 65537, UINT32_MAX};
    for (size_t k = 0; k < NMETHODS; k++)
        for (size_t b = 0; b < 4; b++) {
            o = opts(methods[k], bad_levels[b]);
            cbn = 8;
            ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_ARG);
        }
    o = opts(CNNZ_QUANT_CWS, 4);
    cbn = 8;
    ck_assert_int_eq(cnnz_quantize(w, 0, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_quantize(NULL, 4, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, NULL, cb, &cbn, idx, &rep), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, NULL, &cbn, idx, &rep), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, NULL, idx, &rep), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, &cbn, NULL, &rep), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_quantize_set(NULL, 1, &o, cb, &cbn, &rep), CNNZ_E_ARG);
    cbn = 4; /* room for 4 entries, levels + 1 = 5 needed */
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_BUFFER);
    cbn = 8;
    o.method = 0;
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_ARG);
    o.method = 99;
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_ARG);
    o = opts(CNNZ_QUANT_UQ, 4);
    o.uq_mode = 2;
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_ARG);
    o = opts(CNNZ_QUANT_CWS, 4);
    o.kmeans_init = -1;
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_ARG);
    o = opts(CNNZ_QUANT_CWS, 4);
    o.prune_threshold = NAN;
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_ARG);
    o = opts(CNNZ_QUANT_ECSQ, 4);
    o.lambda = -1;
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_ARG);
    o.lambda = NAN;
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_ARG);
    o.lambda = INFINITY;
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_ARG);
    o.lambda = 0;
    o.target_bits = NAN;
    ck_assert_int_eq(cnnz_quantize(w, 4, NULL, &o, cb, &cbn, idx, &rep), CNNZ_E_ARG);

    /* Non-finite weights, masked or not: CNNZ_E_INPUT, the report says where. */
    float bad[5] = {0.1f, 0.2f, 0.3f, NAN, 0.5f};
    const uint8_t mask[5] = {0, 0, 0, 1, 0};
    uint8_t bidx[5] = {9, 9, 9, 9, 9};
    for (size_t k = 0; k < NMETHODS; k++) {
        o = opts(methods[k], 4);
        cbn = 8;
        ck_assert_int_eq(cnnz_quantize(bad, 5, mask, &o, cb, &cbn, bidx, &rep), CNNZ_E_INPUT);
        ck_assert_int_eq(rep.bad_index, 3);
        ck_assert_int_eq(rep.bad_tensor, 0);
        for (int i = 0; i < 5; i++)
            ck_assert_uint_eq(bidx[i], 9); /* nothing written */
    }
    bad[3] = INFINITY;
    ck_assert_int_eq(cnnz_quantize(bad, 5, NULL, &o, cb, &cbn, bidx, NULL), CNNZ_E_INPUT);
    ck_assert_str_eq(cnnz_strerror(CNNZ_E_INPUT), "invalid input data");

    /* Evaluate: an index past the codebook. */
    const uint8_t ev[4] = {0, 1, 5, 1};
    const float ecb[2] = {0, 0.2f};
    ck_assert_int_eq(cnnz_quant_evaluate(w, 4, ecb, 2, ev, CNNZ_DT_U8, NULL, &rep), CNNZ_E_INPUT);
    ck_assert_int_eq(rep.bad_index, 2);
    ck_assert_int_eq(cnnz_quant_evaluate(w, 4, ecb, 2, ev, CNNZ_DT_F32, NULL, &rep), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_quant_evaluate(w, 0, ecb, 2, ev, CNNZ_DT_U8, NULL, &rep), CNNZ_E_ARG);

    /* Names and index types. */
    ck_assert_str_eq(cnnz_quant_method_name(CNNZ_QUANT_UQ), "uq");
    ck_assert_str_eq(cnnz_quant_method_name(CNNZ_QUANT_CWS), "cws");
    ck_assert_str_eq(cnnz_quant_method_name(CNNZ_QUANT_PWS), "pws");
    ck_assert_str_eq(cnnz_quant_method_name(CNNZ_QUANT_ECSQ), "ecsq");
    ck_assert_ptr_null(cnnz_quant_method_name(0));
    ck_assert_int_eq(cnnz_quant_index_dtype(255), CNNZ_DT_U8);
    ck_assert_int_eq(cnnz_quant_index_dtype(256), CNNZ_DT_U16);
    ck_assert_int_eq(cnnz_quant_index_dtype(65535), CNNZ_DT_U16);
    ck_assert_int_eq(cnnz_quant_index_dtype(65536), 0);
}
END_TEST

/* The largest level count: u16 indices, codebook up to 65536 entries. */
START_TEST(test_max_levels)
{
    struct rng r;
    rng_init(&r, __func__);
    size_t n = 200000;
    float *w = make_weights(&r, n);
    float *cb = malloc((CNNZ_QUANT_MAX_LEVELS + 2) * sizeof *cb);
    uint8_t *idx = idx_alloc(n, 1);
    for (size_t k = 0; k < NMETHODS; k++) {
        struct cnnz_quant_options o = opts(methods[k], CNNZ_QUANT_MAX_LEVELS);
        o.kmeans_init = CNNZ_KMEANS_PLUSPLUS;
        o.max_iterations = 20;
        o.lambda = 0; /* ECSQ: a rate cost would empty most of 65535 levels */
        struct cnnz_quant_report rep;
        uint32_t cbn = quantize_checked(w, n, NULL, &o, cb, idx, &rep);
        ck_assert_msg(cbn > 1000, "%s: %u entries", cnnz_quant_method_name(methods[k]), cbn);
        ck_assert_uint_le(cbn, 65536);
    }
    free(w);
    free(cb);
    free(idx);
}
END_TEST

/* Every allocation failing in turn: CNNZ_E_NOMEM, no leak, no crash. */
START_TEST(test_alloc_failures)
{
    struct rng r;
    rng_init(&r, __func__);
    size_t n = 3000;
    float *w = make_weights(&r, n);
    uint8_t *idx = idx_alloc(n, 0);
    float cb[18];
    for (size_t k = 0; k < NMETHODS; k++) {
        struct cnnz_quant_options o = opts(methods[k], 16);
        o.kmeans_init = k % 2 ? CNNZ_KMEANS_PLUSPLUS : CNNZ_KMEANS_LINEAR;
        o.target_bits = methods[k] == CNNZ_QUANT_ECSQ ? 2.0 : 0;
        struct test_alloc ta;
        struct cnnz_allocator h;
        int err;
        long at = 0;
        do {
            test_alloc_init(&ta, at);
            h = test_alloc_hooks(&ta);
            o.allocator = &h;
            uint32_t cbn = 17;
            struct cnnz_quant_report rep;
            err = cnnz_quantize(w, n, NULL, &o, cb, &cbn, idx, &rep);
            ck_assert_int_eq(ta.live, 0);
            ck_assert(err == CNNZ_OK || err == CNNZ_E_NOMEM);
            at++;
        } while (err == CNNZ_E_NOMEM);
        ck_assert_int_ge(at, 2);
    }
    free(w);
    free(idx);
}
END_TEST

Suite *suite_quant(void)
{
    Suite *s = suite_create("quant");
    TCase *tc = tcase_create("prune");
    tcase_add_test(tc, test_prune_fraction_hand);
    tcase_add_test(tc, test_prune_global_random);
    tcase_add_test(tc, test_prune_threshold_and_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("methods");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_uq_hand);
    tcase_add_test(tc, test_uq_error_bound);
    tcase_add_test(tc, test_cws_hand);
    tcase_add_test(tc, test_cws_shared_codebook);
    tcase_add_test(tc, test_cws_monotone_nearest);
    tcase_add_test(tc, test_cws_beats_uq);
    tcase_add_test(tc, test_pws_hand);
    tcase_add_test(tc, test_pws_unbiased);
    tcase_add_test(tc, test_ecsq_hand);
    tcase_add_test(tc, test_ecsq_thresholds_envelope);
    tcase_add_test(tc, test_ecsq_rate_falls);
    tcase_add_test(tc, test_ecsq_target);
    suite_add_tcase(s, tc);
    tc = tcase_create("shared");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_pruned_exact_zero_and_determinism);
    tcase_add_test(tc, test_all_pruned);
    tcase_add_test(tc, test_writer_roundtrip);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_max_levels);
    tcase_add_test(tc, test_alloc_failures);
    suite_add_tcase(s, tc);
    return s;
}
