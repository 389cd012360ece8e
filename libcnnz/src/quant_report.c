/* Error and rate figures of a quantization against the original weights
 * (struct cnnz_quant_report), and cnnz_quant_evaluate for any codebook.
 *
 *   mse          = sum (w - q)^2 / n
 *   sqnr_db      = 10 log10(sum w^2 / sum (w - q)^2)     (+inf at zero error)
 *   rel_l2_error = sqrt(sum (w - q)^2 / sum w^2)         (0 when all w are 0)
 *   entropy_bits = -sum_e p_e log2 p_e,  p_e = (indices equal to e) / n
 *
 * The entropy is the order-0 bound an entropy coder on the index stream
 * approaches: the bits per weight of HAM before the codebook. */
#include "quant.h"

double cnnz__entropy(const double *counts, size_t k, double total)
{
    double h = 0;
    for (size_t e = 0; e < k; e++)
        if (counts[e] > 0) {
            double p = counts[e] / total;
            h -= p * log2(p);
        }
    return h > 0 ? h : 0; /* -0.0 and rounding below zero for one symbol */
}

int cnnz__qstats_add(struct cnnz__qstats *st, const float *w, size_t n, const float *cb,
                     const void *idx, int wide, int64_t *bad)
{
    double sw2 = 0, se2 = 0, maxe = st->maxe;
    for (size_t i = 0; i < n; i++) {
        unsigned q = cnnz__qidx_get(idx, wide, i);
        double x = w[i];
        if (q >= st->cbn || !isfinite(x)) {
            *bad = (int64_t)i;
            return CNNZ_E_INPUT;
        }
        double e = x - (double)cb[q];
        double ae = fabs(e);
        sw2 += x * x;
        se2 += e * e;
        maxe = ae > maxe ? ae : maxe;
        st->counts[q]++;
    }
    st->sw2 += sw2;
    st->se2 += se2;
    st->maxe = maxe;
    st->n += n;
    return CNNZ_OK;
}

void cnnz__qstats_report(const struct cnnz__qstats *st, struct cnnz_quant_report *r)
{
    r->weights = st->n;
    r->zeros = st->cbn ? st->counts[0] : 0;
    r->sparsity = st->n ? (double)r->zeros / (double)st->n : 0;
    uint32_t used = 0;
    double h = 0;
    for (uint32_t e = 0; e < st->cbn; e++) {
        if (e > 0 && st->counts[e])
            used++;
        if (st->counts[e]) {
            double p = (double)st->counts[e] / (double)st->n;
            h -= p * log2(p);
        }
    }
    r->levels = used;
    r->entropy_bits = h > 0 ? h : 0;
    r->mse = st->n ? st->se2 / (double)st->n : 0;
    r->sqnr_db = st->se2 > 0 ? 10 * log10(st->sw2 / st->se2) : INFINITY;
    r->max_abs_error = st->maxe;
    r->rel_l2_error = st->sw2 > 0 ? sqrt(st->se2 / st->sw2) : 0;
}

int cnnz_quant_evaluate(const float *w, size_t n, const float *codebook, uint32_t codebook_size,
                        const void *indices, int index_dtype,
                        const struct cnnz_allocator *allocator, struct cnnz_quant_report *report)
{
    if (!w || n == 0 || !codebook || codebook_size == 0 || !indices || !report)
        return CNNZ_E_ARG;
    if (index_dtype != CNNZ_DT_U8 && index_dtype != CNNZ_DT_U16)
        return CNNZ_E_ARG;
    if (codebook_size > (index_dtype == CNNZ_DT_U8 ? 256u : 65536u))
        return CNNZ_E_ARG;
    memset(report, 0, sizeof *report);
    report->bad_tensor = report->bad_index = -1;
    struct cnnz__alloc a;
    cnnz__alloc_init(&a, allocator);
    struct cnnz__qstats st = {0};
    st.cbn = codebook_size;
    st.counts = cnnz__malloc_array(&a, codebook_size, sizeof *st.counts);
    if (!st.counts)
        return CNNZ_E_NOMEM;
    memset(st.counts, 0, (size_t)codebook_size * sizeof *st.counts);
    int64_t bad = -1;
    int err = cnnz__qstats_add(&st, w, n, codebook, indices, index_dtype == CNNZ_DT_U16, &bad);
    if (err) {
        report->bad_tensor = 0;
        report->bad_index = bad;
    } else {
        cnnz__qstats_report(&st, report);
    }
    cnnz__free(&a, st.counts);
    return err;
}
