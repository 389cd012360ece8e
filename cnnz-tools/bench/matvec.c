/* The matvec section of make bench (issue 6): y = W x computed by
 * cnnz_matvec on the compressed tensor, against cblas_sgemv (OpenBLAS) on
 * the dequantized dense matrix and against a plain CSR float matvec.
 *
 * Matrices: square FC-like ones (1024, 4096; Gaussian weights) and the
 * three largest weight tensors of each corpus (PP-OCR's float32, face-api's
 * uint8 dequantized), convolution kernels viewed as 2-D (rows = Cout,
 * columns = Cin*kh*kw, im2col order); targets are judged per group. Each is pruned by magnitude (0, 50, 90, 95,
 * 99 %) and quantized to 32 uniform levels (cnnz_quant.h), then written in
 * memory four ways:
 *   auto     HAM handed to the writer with CNNZ_CODER_AUTO: the layout
 *            (ham or sham) and per stream the coder the encoder picks;
 *   huffman, rans, raw   that coder on every stream, with ham at 0 % and
 *            sham when pruned (forcing a coder fixes the layout given).
 * BENCH_MATVEC=TEXT runs only the cases whose label holds TEXT (N=4096,
 * conv2d_182, ...).
 * Times are medians of BENCH_REPS samples: cnnz on one thread and on all
 * cores, sgemv with OpenBLAS on one thread, the CSR loop (one thread).
 * Warm: the weights stay in the caches between runs (a 480 x 480 matrix
 * fits in L2, where sgemv is bound by arithmetic, not memory); cold: the
 * weights (dense matrix, CSR arrays, .cnnz bytes) are flushed from every
 * cache level before each run, as in an inference that reads each layer
 * once. Both are printed; the targets are judged warm.
 * Every cnnz result must equal, bit for bit, a dense loop in cnnz.h's
 * order; a difference is an error. One line per case:
 *   matvec N=4096 prune=0.90 bytes_vs_dense=R time_vs_sgemv=R coder=... cold_vs_sgemv=R */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../libcnnz/tests/matvec_ref.h"
#include "bench.h"
#include "cnnz_quant.h"

#define MV_LEVELS 32u
#define MV_LAYERS 3u /* largest corpus kernels */
#define MV_MAX_REPS 101u

/* One case: the matrix and what is measured on it. */
struct mcase {
    char label[160];   /* "N=4096" or "layer=NAME shape=RxC" */
    uint64_t rows, cols;
    float *w;          /* rows * cols weights */
};

struct ctx {
    unsigned reps, cores;
    const struct mcase *c;
    double prune;
    float *dense;      /* dequantized */
    float *x, *y, *ref;
    /* CSR */
    float *val;
    uint32_t *col, *rowp;
    uint64_t nnz;
    cnnz_reader *r;
    unsigned threads;
    int failed;
};

typedef void (*run_fn)(struct ctx *c);

/* Memory a run reads that is not x: flushed from every cache level
 * before each cold run. */
struct region {
    const void *p;
    size_t n;
};

static void flush(const struct region *rg, unsigned nr)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    for (unsigned i = 0; i < nr; i++)
        for (size_t k = 0; k < rg[i].n; k += 64)
            __builtin_ia32_clflush((const char *)rg[i].p + k);
    __builtin_ia32_mfence();
#else
    (void)rg;
    (void)nr;
#endif
}

/* Median seconds per run of fn. Warm (rg == NULL): the data stays in the
 * caches between runs, each sample being a batch of runs of at least
 * 2 ms; cold: the regions are flushed before each (single-run) sample, as
 * weights that are read once per inference would be. */
static double median_time(struct ctx *c, run_fn fn, const struct region *rg, unsigned nr)
{
    double s[MV_MAX_REPS];
    unsigned n = c->reps < MV_MAX_REPS ? c->reps : MV_MAX_REPS;
    fn(c); /* warm the caches and the pages */
    unsigned batch = 1;
    if (!rg) {
        double t0 = bench_now();
        fn(c);
        double one = bench_now() - t0;
        batch = one >= 2e-3 ? 1 : one <= 2e-6 ? 1000 : (unsigned)(2e-3 / one) + 1;
    }
    for (unsigned i = 0; i < n; i++) {
        if (rg)
            flush(rg, nr);
        double t0 = bench_now();
        for (unsigned k = 0; k < batch; k++)
            fn(c);
        s[i] = (bench_now() - t0) / batch;
    }
    return bench_median(s, n);
}

static void run_sgemv(struct ctx *c)
{
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)c->c->rows, (int)c->c->cols, 1.0f, c->dense,
                (int)c->c->cols, c->x, 1, 0.0f, c->y, 1);
}

static void run_csr(struct ctx *c)
{
    const float *val = c->val, *x = c->x;
    const uint32_t *col = c->col, *rp = c->rowp;
    for (uint64_t r = 0; r < c->c->rows; r++) {
        float s = 0.0f;
        for (uint32_t k = rp[r]; k < rp[r + 1]; k++)
            s += val[k] * x[col[k]];
        c->y[r] = s;
    }
}

static void run_cnnz(struct ctx *c)
{
    struct cnnz_matvec_options o = {.threads = c->threads};
    int e = cnnz_matvec(c->r, 0, c->x, (size_t)c->c->cols, c->y, (size_t)c->c->rows, &o, NULL);
    if (e && !c->failed) {
        fprintf(stderr, "bench: matvec %s: %s\n", c->c->label, cnnz_error_token(e));
        c->failed = 1;
    }
}

/* cnnz.h's matvec order on the dense matrix: the reference cnnz must equal. */
static void reference(struct ctx *c)
{
    ref_matvec(c->dense, c->c->rows, c->c->cols, c->x, c->ref);
}

static int mem_write(void *opaque, const void *buf, size_t n)
{
    return membuf_append(opaque, buf, n);
}

/* Write the quantized matrix as one tensor with layout repr and coder. */
static int write_case(const struct mcase *m, const float *cb, uint32_t cbn, const uint8_t *idx,
                      int repr, int coder, unsigned threads, struct membuf *out)
{
    out->len = 0;
    struct cnnz_sink sink = {mem_write, out};
    struct cnnz_writer_options wo = {.threads = threads};
    cnnz_writer *wr;
    uint64_t dims[2] = {m->rows, m->cols};
    struct cnnz_tensor_desc d = {.name = "w", .dtype = CNNZ_DT_F32, .rank = 2, .dims = dims,
                                 .repr = repr, .symbol_dtype = CNNZ_DT_U8, .coder = coder,
                                 .codebook = cb, .codebook_size = cbn};
    int e = cnnz_writer_open(&wr, &sink, &wo);
    if (!e)
        e = cnnz_writer_add_tensor(wr, &d, idx, (size_t)(m->rows * m->cols));
    if (!e)
        e = cnnz_writer_finish(wr);
    cnnz_writer_free(wr);
    if (e)
        fprintf(stderr, "bench: matvec %s: writing: %s\n", m->label, cnnz_error_token(e));
    return e;
}

/* What the encoder chose: "ham:rans", "sham:cabac+huffman" (runs+symbols
 * of the first block). */
static void layout_name(const cnnz_reader *r, char *buf, size_t n)
{
    struct cnnz_tensor_info ti;
    cnnz_reader_tensor_info(r, 0, &ti);
    if (ti.repr == CNNZ_REPR_SHAM && ti.stream_count >= 3)
        snprintf(buf, n, "sham:%s+%s", cnnz_coder_name(ti.streams[1].coder),
                 cnnz_coder_name(ti.streams[2].coder));
    else
        snprintf(buf, n, "%s:%s", cnnz_repr_name(ti.repr),
                 cnnz_coder_name(ti.streams[ti.stream_count - 1].coder));
}

struct result {
    double best_1t_ratio; /* the fastest cnnz variant on one thread, vs sgemv */
    double auto_1t_ratio;
    double best_cold_ratio; /* the fastest variant, weights not in any cache */
};

static int run_prune(struct ctx *c, double prune, struct result *res)
{
    const struct mcase *m = c->c;
    const uint64_t n = m->rows * m->cols;
    const double dense_bytes = 4.0 * (double)n;
    uint8_t *mask = calloc((size_t)n, 1), *idx = malloc((size_t)n);
    float cb[MV_LEVELS + 1];
    uint32_t cbn = MV_LEVELS + 1;
    struct membuf file = {0};
    int rc = 1;
    if (!mask || !idx)
        goto out;
    if (prune > 0 && cnnz_prune_fraction(m->w, (size_t)n, prune, mask, NULL, NULL))
        goto out;
    struct cnnz_quant_options q = {.method = CNNZ_QUANT_UQ, .levels = MV_LEVELS};
    if (cnnz_quantize(m->w, (size_t)n, mask, &q, cb, &cbn, idx, NULL))
        goto out;
    /* dense, CSR, reference */
    c->nnz = 0;
    c->rowp[0] = 0;
    for (uint64_t r = 0; r < m->rows; r++) {
        for (uint64_t k = 0; k < m->cols; k++) {
            float v = cb[idx[r * m->cols + k]];
            c->dense[r * m->cols + k] = v;
            if (v != 0.0f) {
                c->val[c->nnz] = v;
                c->col[c->nnz++] = (uint32_t)k;
            }
        }
        c->rowp[r + 1] = (uint32_t)c->nnz;
    }
    reference(c);
    openblas_set_num_threads(1);
    const struct region r_dense = {c->dense, (size_t)n * sizeof *c->dense};
    const struct region r_csr[3] = {{c->val, (size_t)c->nnz * sizeof *c->val},
                                    {c->col, (size_t)c->nnz * sizeof *c->col},
                                    {c->rowp, (size_t)(m->rows + 1) * sizeof *c->rowp}};
    const double t_sgemv = median_time(c, run_sgemv, NULL, 0);
    const double t_csr = median_time(c, run_csr, NULL, 0);
    const double c_sgemv = median_time(c, run_sgemv, &r_dense, 1);
    const double c_csr = median_time(c, run_csr, r_csr, 3);
    const double csr_bytes = 8.0 * (double)c->nnz + 4.0 * (double)(m->rows + 1);
    printf("matvec %s prune=%.2f bytes_vs_dense=%.4f time_vs_sgemv=%.2f coder=csr "
           "cold_vs_sgemv=%.2f ms=%.4f sgemv_ms=%.4f sgemv_cold_ms=%.4f\n",
           m->label, prune, csr_bytes / dense_bytes, t_csr / t_sgemv, c_csr / c_sgemv,
           t_csr * 1e3, t_sgemv * 1e3, c_sgemv * 1e3);
    static const struct {
        const char *name;
        int coder;
    } variants[] = {{"auto", CNNZ_CODER_AUTO},
                    {"huffman", CNNZ_CODER_HUFFMAN},
                    {"rans", CNNZ_CODER_RANS},
                    {"raw", CNNZ_CODER_RAW}};
    res->best_1t_ratio = res->best_cold_ratio = INFINITY;
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        int repr = variants[v].coder == CNNZ_CODER_AUTO || prune == 0 ? CNNZ_REPR_HAM
                                                                     : CNNZ_REPR_SHAM;
        if (write_case(m, cb, cbn, idx, repr, variants[v].coder, c->cores, &file))
            goto out;
        if (cnnz_reader_open_memory(&c->r, file.p, file.len, NULL)) {
            fprintf(stderr, "bench: matvec %s: cannot read back\n", m->label);
            goto out;
        }
        char lay[64];
        layout_name(c->r, lay, sizeof lay);
        const struct region r_file = {file.p, file.len};
        c->threads = 1;
        double t1 = median_time(c, run_cnnz, NULL, 0);
        int same = memcmp(c->y, c->ref, (size_t)m->rows * sizeof *c->y) == 0;
        double c1 = median_time(c, run_cnnz, &r_file, 1);
        c->threads = c->cores;
        double tn = median_time(c, run_cnnz, NULL, 0);
        same = same && memcmp(c->y, c->ref, (size_t)m->rows * sizeof *c->y) == 0;
        cnnz_reader_close(c->r);
        c->r = NULL;
        if (c->failed)
            goto out;
        if (!same) {
            fprintf(stderr, "bench: matvec %s prune %.2f %s: result differs from the dense "
                            "loop in cnnz.h's order\n",
                    m->label, prune, variants[v].name);
            goto out;
        }
        printf("matvec %s prune=%.2f bytes_vs_dense=%.4f time_vs_sgemv=%.2f coder=%s "
               "layout=%s cold_vs_sgemv=%.2f threads=%u time_mt_vs_sgemv=%.2f ms=%.4f "
               "cold_ms=%.4f ms_mt=%.4f\n",
               m->label, prune, (double)file.len / dense_bytes, t1 / t_sgemv, variants[v].name,
               lay, c1 / c_sgemv, c->cores, tn / t_sgemv, t1 * 1e3, c1 * 1e3, tn * 1e3);
        if (t1 / t_sgemv < res->best_1t_ratio)
            res->best_1t_ratio = t1 / t_sgemv;
        if (c1 / c_sgemv < res->best_cold_ratio)
            res->best_cold_ratio = c1 / c_sgemv;
        if (variants[v].coder == CNNZ_CODER_AUTO)
            res->auto_1t_ratio = t1 / t_sgemv;
    }
    rc = 0;
out:
    membuf_free(&file);
    free(mask);
    free(idx);
    return rc;
}

static int run_case(unsigned reps, unsigned cores, const struct mcase *m, double *worst)
{
    static const double prunes[] = {0, 0.5, 0.9, 0.95, 0.99};
    const char *only = getenv("BENCH_MATVEC"); /* run only cases whose label has it */
    if (only && !strstr(m->label, only))
        return 0;
    const uint64_t n = m->rows * m->cols;
    struct ctx c = {.reps = reps, .cores = cores, .c = m};
    c.dense = malloc((size_t)n * sizeof *c.dense);
    c.val = malloc((size_t)n * sizeof *c.val);
    c.col = malloc((size_t)n * sizeof *c.col);
    c.rowp = malloc((size_t)(m->rows + 1) * sizeof *c.rowp);
    c.x = malloc((size_t)m->cols * sizeof *c.x);
    c.y = malloc((size_t)m->rows * sizeof *c.y);
    c.ref = malloc((size_t)m->rows * sizeof *c.ref);
    int rc = !c.dense || !c.val || !c.col || !c.rowp || !c.x || !c.y || !c.ref;
    for (uint64_t i = 0; i < m->cols && !rc; i++)
        c.x[i] = (float)sin((double)i * 0.37) * 0.5f;
    for (size_t p = 0; p < sizeof prunes / sizeof prunes[0] && !rc; p++) {
        struct result res = {0, 0, 0};
        rc = run_prune(&c, prunes[p], &res);
        worst[3 * p] = fmax(worst[3 * p], res.best_1t_ratio);
        worst[3 * p + 1] = fmax(worst[3 * p + 1], res.auto_1t_ratio);
        worst[3 * p + 2] = fmax(worst[3 * p + 2], res.best_cold_ratio);
    }
    free(c.dense);
    free(c.val);
    free(c.col);
    free(c.rowp);
    free(c.x);
    free(c.y);
    free(c.ref);
    return rc;
}

/* Gaussian weights (sd 0.05), from a fixed-seed generator. */
static void gaussian(float *w, uint64_t n)
{
    uint64_t s = 0x9E3779B97F4A7C15u;
    for (uint64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        double u1 = ((double)(s >> 11) + 1) / 9007199254740994.0;
        s = s * 6364136223846793005u + 1442695040888963407u;
        double u2 = (double)(s >> 11) / 9007199254740992.0;
        w[i] = (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2) * 0.05);
    }
}

/* The MV_LAYERS largest weight tensors (rank >= 2) of a corpus workload:
 * PP-OCR's float32 ONNX initializers (OIHW kernels and FC matrices, rows =
 * dims[0]), or face-api's uint8 tfjs weights dequantized to float32 as the
 * runtime does, whose HWIO kernels are transposed to Cout rows of
 * kh*kw*Cin columns (the im2col matrix). */
static int run_layers(unsigned reps, unsigned cores, const char *corpus, int faceapi,
                      double *worst)
{
    struct bt_workload wl;
    memset(&wl, 0, sizeof wl);
    if ((faceapi ? corpus_faceapi_u8 : corpus_ppocr_f32)(corpus, &wl)) {
        printf("  (%s corpus not loaded: no layers from it)\n", faceapi ? "face-api" : "PP-OCR");
        return 0;
    }
    const struct bt_tensor *top[MV_LAYERS] = {NULL};
    for (size_t i = 0; i < wl.nm; i++)
        for (size_t k = 0; k < wl.m[i].n; k++) {
            const struct bt_tensor *t = &wl.m[i].t[k];
            if (t->rank < 2 || t->dtype != CNNZ_DT_F32)
                continue;
            for (unsigned j = 0; j < MV_LAYERS; j++)
                if (!top[j] || t->elements > top[j]->elements) {
                    memmove(&top[j + 1], &top[j], (MV_LAYERS - 1 - j) * sizeof top[0]);
                    top[j] = t;
                    break;
                }
        }
    int rc = 0;
    for (unsigned j = 0; j < MV_LAYERS && top[j] && !rc; j++) {
        const struct bt_tensor *t = top[j];
        const float *src = (const float *)(const void *)(faceapi ? t->expect : t->data);
        struct mcase m;
        memset(&m, 0, sizeof m);
        m.rows = faceapi ? t->dims[t->rank - 1] : t->dims[0];
        m.cols = t->elements / m.rows;
        snprintf(m.label, sizeof m.label, "layer=%s%s shape=%llux%llu",
                 faceapi ? "faceapi:" : "", t->name, (unsigned long long)m.rows,
                 (unsigned long long)m.cols);
        if (!(m.w = malloc((size_t)t->elements * sizeof *m.w))) {
            rc = 1;
            break;
        }
        for (uint64_t r = 0; r < m.rows; r++) /* f32, little-endian */
            for (uint64_t c = 0; c < m.cols; c++)
                m.w[r * m.cols + c] = faceapi ? src[c * m.rows + r] : src[r * m.cols + c];
        rc = run_case(reps, cores, &m, worst);
        free(m.w);
    }
    corpus_free(&wl);
    return rc;
}

int bench_matvec(const char *corpus, unsigned reps)
{
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned cores = nc < 1 ? 1 : nc > 64 ? 64 : (unsigned)nc;
    printf("y = W x, W quantized to %u uniform levels after pruning; cnnz_matvec on one thread\n"
           "and on %u, against cblas_sgemv (OpenBLAS %s, one thread) on the dequantized\n"
           "dense matrix and a CSR loop; time_vs_sgemv < 1 is faster than sgemv; bytes are\n"
           "the whole .cnnz file (or CSR's values, column indices and row pointers) vs 4 per weight\n",
           MV_LEVELS, cores, OPENBLAS_VERSION);
    /* worst over the cases of: best cnnz variant, auto, best cold; per
     * prune level; [0]: the square matrices, [1], [2]: the corpus layers */
    double worst[3][15] = {{0}};
    int rc = 0;
    static const uint64_t sizes[] = {1024, 4096};
    for (size_t i = 0; i < 2 && !rc; i++) {
        struct mcase m = {.rows = sizes[i], .cols = sizes[i]};
        snprintf(m.label, sizeof m.label, "N=%llu", (unsigned long long)sizes[i]);
        m.w = malloc((size_t)(m.rows * m.cols) * sizeof *m.w);
        if (!m.w)
            return 1;
        gaussian(m.w, m.rows * m.cols);
        rc = run_case(reps, cores, &m, worst[0]);
        free(m.w);
    }
    if (!rc)
        rc = run_layers(reps, cores, corpus, 0, worst[1]);
    if (!rc)
        rc = run_layers(reps, cores, corpus, 1, worst[2]);
    if (rc)
        return rc;
    static const char *const pn[] = {"0.00", "0.50", "0.90", "0.95", "0.99"};
    static const char *const group[] = {"square N=1024,4096", "corpus layers (PP-OCR)",
                                        "corpus layers (face-api)"};
    for (unsigned g = 0; g < 3; g++) {
        const double *wg = worst[g];
        if (wg[0] == 0)
            continue; /* no case ran */
        for (unsigned p = 2; p < 5; p++)
            printf("target %s prune=%s: cnnz faster than sgemv on one thread: fastest coder "
                   "worst case %.2fx (%s), auto worst case %.2fx (%s); weights cold: fastest "
                   "coder worst case %.2fx\n",
                   group[g], pn[p], wg[3 * p], wg[3 * p] < 1 ? "met" : "MISSED", wg[3 * p + 1],
                   wg[3 * p + 1] < 1 ? "met" : "MISSED", wg[3 * p + 2]);
        printf("target %s prune=0.00 (ham): at most 3x sgemv on one thread: fastest coder worst "
               "case %.2fx (%s), auto worst case %.2fx (%s); weights cold: fastest coder worst "
               "case %.2fx\n",
               group[g], wg[0], wg[0] <= 3 ? "met" : "MISSED", wg[1], wg[1] <= 3 ? "met" : "MISSED",
               wg[2]);
    }
    return 0;
}
