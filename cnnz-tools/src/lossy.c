/* cnnz convert --prune / --quant: selection, calls into cnnz_quant.h, report. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lossy.h"

static int parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return errno || end == s || *end || !isfinite(*v);
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    if (*s == '-')
        return 1;
    unsigned long long x = strtoull(s, &end, 10);
    *v = x;
    return errno || end == s || *end;
}

/* METHOD:ARG, e.g. uq:32, kmeans:32, pws:32, ecsq:2.5 (bits per weight). */
static int parse_quant(struct lossy *l, const char *s)
{
    static const struct {
        const char *name;
        int method;
    } m[] = {{"uq", CNNZ_QUANT_UQ},    {"kmeans", CNNZ_QUANT_CWS}, {"cws", CNNZ_QUANT_CWS},
             {"pws", CNNZ_QUANT_PWS},  {"ecsq", CNNZ_QUANT_ECSQ}};
    const char *colon = strchr(s, ':');
    if (!strcmp(s, "ecsq")) { /* the rate comes from --rate-lambda */
        l->q.method = CNNZ_QUANT_ECSQ;
        l->q.levels = 256;
        return 0;
    }
    if (!colon)
        return 1;
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        if (strlen(m[i].name) != (size_t)(colon - s) || strncmp(s, m[i].name, strlen(m[i].name)))
            continue;
        l->q.method = m[i].method;
        if (m[i].method == CNNZ_QUANT_ECSQ) { /* a rate; the levels cap the search */
            double bits;
            if (parse_double(colon + 1, &bits) || bits <= 0 || bits > 16)
                return 1;
            l->q.target_bits = bits;
            l->q.levels = 256;
            return 0;
        }
        uint64_t k;
        if (parse_u64(colon + 1, &k) || k < 1 || k > CNNZ_QUANT_MAX_LEVELS)
            return 1;
        l->q.levels = (uint32_t)k;
        return 0;
    }
    return 1;
}

int lossy_option(struct lossy *l, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    static const char *const with_value[] = {
        "--prune", "--prune-global", "--prune-abs", "--quant", "--rate-lambda",
        "--min-weights", "--only", "--skip", "--report", "--seed"};
    int known = 0;
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
        known |= !strcmp(a, with_value[k]);
    if (!known)
        return 0;
    if (*i + 1 >= argc) {
        cli_error("convert: %s needs a value", a);
        return -1;
    }
    const char *v = argv[++*i];
    int bad = 0;
    if (!strncmp(a, "--prune", 7)) {
        int mode = !strcmp(a, "--prune") ? PRUNE_FRACTION
                   : !strcmp(a, "--prune-global") ? PRUNE_GLOBAL : PRUNE_ABSOLUTE;
        if (l->prune_mode) {
            cli_error("convert: give one of --prune, --prune-global and --prune-abs");
            return -1;
        }
        l->prune_mode = mode;
        bad = parse_double(v, &l->prune) || l->prune < 0 || (mode != PRUNE_ABSOLUTE && l->prune > 1);
        l->on = 1;
    } else if (!strcmp(a, "--rate-lambda")) {
        bad = parse_double(v, &l->rate_lambda) || l->rate_lambda < 0;
    } else if (!strcmp(a, "--quant")) {
        bad = parse_quant(l, v);
        l->on = 1;
    } else if (!strcmp(a, "--min-weights")) {
        bad = parse_u64(v, &l->min_weights);
    } else if (!strcmp(a, "--seed")) {
        bad = parse_u64(v, &l->q.seed);
    } else if (!strcmp(a, "--report")) {
        l->report_path = v;
    } else {
        int only = !strcmp(a, "--only");
        regex_t *re = only ? &l->only : &l->skip;
        if ((only ? l->have_only : l->have_skip)) {
            cli_error("convert: %s given twice (use one REGEX with |)", a);
            return -1;
        }
        if (regcomp(re, v, REG_EXTENDED | REG_NOSUB)) {
            cli_error("convert: %s '%s' is not a valid extended regular expression", a, v);
            return -1;
        }
        *(only ? &l->have_only : &l->have_skip) = 1;
    }
    if (bad) {
        cli_error("convert: %s '%s': expected %s", a, v,
                  !strcmp(a, "--prune") || !strcmp(a, "--prune-global") ? "a fraction from 0 to 1"
                  : !strcmp(a, "--prune-abs") || !strcmp(a, "--rate-lambda")
                      ? "a non-negative number"
                  : !strcmp(a, "--quant")
                      ? "uq:K, kmeans:K, pws:K (K levels, 1..65535), ecsq:BITS or ecsq"
                      : "a non-negative integer");
        return -1;
    }
    return 1;
}

int lossy_start(struct lossy *l)
{
    if (!l->on && (l->report_path || l->have_only || l->have_skip)) {
        cli_error("convert: --report, --only and --skip need --prune or --quant");
        return EXIT_USAGE;
    }
    int ecsq = l->q.method == CNNZ_QUANT_ECSQ, given = !isnan(l->rate_lambda);
    if (given && (!ecsq || l->q.target_bits > 0)) {
        cli_error("convert: --rate-lambda goes with --quant ecsq (without :BITS)");
        return EXIT_USAGE;
    }
    if (ecsq && !given && l->q.target_bits <= 0) {
        cli_error("convert: --quant ecsq needs :BITS or --rate-lambda L");
        return EXIT_USAGE;
    }
    if (given)
        l->q.lambda = l->rate_lambda;
    if (l->on && !(l->report = json_array()))
        return EXIT_ERR;
    return EXIT_OK;
}

int lossy_selected(const struct lossy *l, const char *name, const struct cnnz_tensor_desc *d)
{
    uint64_t n = 1;
    for (unsigned i = 0; i < d->rank; i++)
        n *= d->dims[i];
    if (!l->on || d->dtype != CNNZ_DT_F32 || d->repr != CNNZ_REPR_PLAIN || d->rank < 2 ||
        n == 0 || n < l->min_weights)
        return 0;
    if (l->have_only && regexec(&l->only, name, 0, NULL, 0))
        return 0;
    if (l->have_skip && !regexec(&l->skip, name, 0, NULL, 0))
        return 0;
    return 1;
}

/* File bytes tensors added so far cost: streams and directory entries. */
static uint64_t cost_so_far(const cnnz_writer *w)
{
    struct cnnz_writer_stats st;
    cnnz_writer_stats(w, &st);
    return st.coded_bytes + st.entry_bytes;
}

/* One line of the cnnz.quant metadata table (lossy.h). */
static int report_line(struct lossy *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int report_line(struct lossy *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    char *t = realloc(l->table, l->table_len + (size_t)n + 1);
    if (!t)
        return -1;
    l->table = t;
    va_start(ap, fmt);
    vsnprintf(t + l->table_len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    l->table_len += (size_t)n;
    return 0;
}

int lossy_add(struct lossy *l, cnnz_writer *w, int coder, const char *path, const char *name,
              const struct cnnz_tensor_desc *d0, const void *data, size_t size)
{
    size_t n = size / 4;
    float *wt = malloc(size); /* aligned copy: the source may be mapped at any offset */
    uint8_t *mask = malloc(n);
    struct cnnz_quant_options q = l->q;
    float *cb = malloc((size_t)(q.levels + 1) * sizeof *cb);
    void *idx = malloc(n * 2);
    int rc = EXIT_ERR;
    if (!wt || !mask || !cb || !idx) {
        cli_error("%s: tensor '%s': out of memory", path, name);
        goto done;
    }
    memcpy(wt, data, size);
    struct cnnz_prune_result pr = {0};
    int err;
    if (l->prune_mode == PRUNE_GLOBAL) { /* the mask lossy_global made for it */
        if (l->gnext >= l->gcount || l->gn[l->gnext] != n) {
            cli_error("%s: tensor '%s': the inputs changed between the two passes", path, name);
            goto done;
        }
        memcpy(mask, l->gmask[l->gnext++], n);
        pr.weights = n;
        for (size_t i = 0; i < n; i++)
            pr.pruned += mask[i];
        err = CNNZ_OK;
    } else if (l->prune_mode == PRUNE_ABSOLUTE) {
        err = cnnz_prune_threshold(wt, n, l->prune, mask, &pr);
    } else {
        err = cnnz_prune_fraction(wt, n, l->prune_mode ? l->prune : 0, mask, NULL, &pr);
    }
    if (!err && !l->q.method) { /* --prune alone: the kept weights stay exact */
        double s2 = 0, e2 = 0, emax = 0;
        for (size_t i = 0; i < n; i++) {
            s2 += (double)wt[i] * wt[i];
            if (mask[i]) {
                e2 += (double)wt[i] * wt[i];
                emax = fabs(wt[i]) > emax ? fabs(wt[i]) : emax;
                wt[i] = 0.0f;
            }
        }
        struct cnnz_tensor_desc d = *d0;
        d.name = name;
        d.name_len = strlen(name);
        d.coder = coder;
        uint64_t before = cost_so_far(w);
        if ((err = cnnz_writer_add_tensor(w, &d, wt, size))) {
            cli_error("%s: tensor '%s': %s [%s]", path, name, cnnz_strerror(err),
                      cnnz_error_token(err));
            goto done;
        }
        double coded = (double)(cost_so_far(w) - before);
        printf("prune %-40s sparsity %5.1f%%  %6.3f bits/w  %7.1fx  SQNR %6.2f dB  max err %.3g  "
               "rel L2 %.4f\n",
               name, 100.0 * (double)pr.pruned / (double)n, 8.0 * coded / (double)n,
               coded > 0 ? (double)size / coded : 0, e2 > 0 ? 10 * log10(s2 / e2) : INFINITY, emax,
               s2 > 0 ? sqrt(e2 / s2) : 0);
        l->tensors++;
        l->weights += n;
        l->float_bytes += size;
        rc = EXIT_OK;
        goto done;
    }
    uint32_t cbn = q.levels + 1;
    struct cnnz_quant_report rep;
    memset(&rep, 0, sizeof rep);
    if (!err)
        err = cnnz_quantize(wt, n, mask, &q, cb, &cbn, idx, &rep);
    if (err) {
        cli_error("%s: tensor '%s': quantization failed: %s [%s]", path, name, cnnz_strerror(err),
                  cnnz_error_token(err));
        goto done;
    }
    struct cnnz_tensor_desc d = *d0;
    d.name = name;
    d.name_len = strlen(name);
    d.symbol_dtype = cnnz_quant_index_dtype(q.levels);
    d.coder = coder;
    /* UQ levels on a grid through zero are `affine` (a scale and an offset
     * instead of a codebook stream); anything else is HAM, which --coder
     * auto may store as sHAM. */
    err = cnnz_quant_affine(cb, cbn, &rep, idx, n, d.symbol_dtype, &d.scale, &d.offset);
    if (err == CNNZ_OK) {
        d.repr = CNNZ_REPR_AFFINE;
    } else if (err == CNNZ_E_UNSUPPORTED) {
        d.repr = CNNZ_REPR_HAM;
        d.codebook = cb;
        d.codebook_size = cbn;
    } else {
        cli_error("%s: tensor '%s': %s [%s]", path, name, cnnz_strerror(err), cnnz_error_token(err));
        goto done;
    }
    struct cnnz_writer_stats st;
    cnnz_writer_stats(w, &st);
    const uint64_t index = st.tensors, before = cost_so_far(w);
    err = cnnz_writer_add_tensor(w, &d, idx, n * cnnz_dtype_size(d.symbol_dtype));
    if (err) {
        cli_error("%s: tensor '%s': %s [%s]", path, name, cnnz_strerror(err), cnnz_error_token(err));
        goto done;
    }
    double coded = (double)(cost_so_far(w) - before);
    double bpw = 8.0 * coded / (double)n, ratio = coded > 0 ? (double)size / coded : 0;
    const char *mname = cnnz_quant_method_name(q.method);
    printf("quant %-40s %-6s %5u levels  sparsity %5.1f%%  %6.3f bits/w  %7.1fx  SQNR %6.2f dB  "
           "max err %.3g  rel L2 %.4f\n",
           name, mname, rep.levels, 100 * rep.sparsity, bpw, ratio, rep.sqnr_db,
           rep.max_abs_error, rep.rel_l2_error);
    json_t *entry = json_pack("{s:s,s:s,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I}", "tensor",
                                    name, "method", mname, "levels", (json_int_t)rep.levels,
                                    "prune", l->prune, "sparsity", rep.sparsity,
                                    "bits_per_weight", bpw, "ratio", ratio, "sqnr_db",
                                    isfinite(rep.sqnr_db) ? rep.sqnr_db : 999.0, "max_abs_error",
                                    rep.max_abs_error, "rel_l2_error", rep.rel_l2_error,
                                    "weights", (json_int_t)n, "coded_bytes",
                                    (json_int_t)coded);
    /* Kept in the file too (lossy_meta), so `cnnz inspect` shows how a
     * tensor was made; what the directory already says (sizes) is left out. */
    if (report_line(l, "%llu\t%s\t%u\t%.4g\t%.4g\t%.4g\t%.4g\n", (unsigned long long)index,
                    mname, rep.levels, rep.sparsity, isfinite(rep.sqnr_db) ? rep.sqnr_db : 999.0,
                    rep.max_abs_error, rep.rel_l2_error)) {
        cli_error("%s: out of memory", path);
        json_decref(entry);
        goto done;
    }
    json_array_append_new((json_t *)l->report, entry);
    l->tensors++;
    l->weights += n;
    l->float_bytes += size;
    rc = EXIT_OK;
done:
    free(wt);
    free(mask);
    free(cb);
    free(idx);
    return rc;
}

int lossy_two_pass(const struct lossy *l)
{
    return l->prune_mode == PRUNE_GLOBAL;
}

int lossy_collect(struct lossy *l, const char *path, const char *name, const void *data,
                  size_t size)
{
    if (l->gcount == l->gcap) {
        size_t cap = l->gcap ? 2 * l->gcap : 64;
        float **w = realloc(l->gw, cap * sizeof *w);
        if (w)
            l->gw = w;
        uint8_t **m = w ? realloc(l->gmask, cap * sizeof *m) : NULL;
        if (m)
            l->gmask = m;
        size_t *n = m ? realloc(l->gn, cap * sizeof *n) : NULL;
        if (!n) {
            cli_error("%s: tensor '%s': out of memory", path, name);
            return EXIT_ERR;
        }
        l->gn = n;
        l->gcap = cap;
    }
    float *w = malloc(size ? size : 1); /* aligned copy: the input is unmapped after it */
    if (!w) {
        cli_error("%s: tensor '%s': out of memory", path, name);
        return EXIT_ERR;
    }
    memcpy(w, data, size);
    l->gw[l->gcount] = w;
    l->gmask[l->gcount] = NULL;
    l->gn[l->gcount++] = size / 4;
    return EXIT_OK;
}

int lossy_global(struct lossy *l, const char *out)
{
    int err = CNNZ_OK;
    for (size_t i = 0; i < l->gcount && !err; i++)
        if (!(l->gmask[i] = malloc(l->gn[i] ? l->gn[i] : 1)))
            err = CNNZ_E_NOMEM;
    struct cnnz_prune_result pr = {0};
    if (!err && l->gcount)
        err = cnnz_prune_global((const float *const *)l->gw, l->gn, l->gcount, l->prune,
                                l->gmask, NULL, &pr);
    for (size_t i = 0; i < l->gcount; i++) { /* the second pass reads the inputs again */
        free(l->gw[i]);
        l->gw[i] = NULL;
    }
    if (err) {
        cli_error("%s: global pruning: %s [%s]", out, cnnz_strerror(err), cnnz_error_token(err));
        return EXIT_ERR;
    }
    printf("prune-global: %llu of %llu weights in %zu tensors pruned, threshold |w| <= %.6g\n",
           (unsigned long long)pr.pruned, (unsigned long long)pr.weights, l->gcount,
           (double)pr.threshold);
    return EXIT_OK;
}

int lossy_meta(struct lossy *l, cnnz_writer *w, const char *path)
{
    if (!l->table_len)
        return EXIT_OK;
    size_t hl = strlen(LOSSY_TABLE_HEADER);
    char *t = malloc(hl + l->table_len + 1);
    if (!t) {
        cli_error("%s: out of memory", path);
        return EXIT_ERR;
    }
    memcpy(t, LOSSY_TABLE_HEADER, hl);
    memcpy(t + hl, l->table, l->table_len + 1);
    int err = cnnz_writer_meta_string(w, LOSSY_TABLE_KEY, t);
    free(t);
    if (err) {
        cli_error("%s: metadata %s: %s [%s]", path, LOSSY_TABLE_KEY, cnnz_strerror(err),
                  cnnz_error_token(err));
        return EXIT_ERR;
    }
    return EXIT_OK;
}

int lossy_finish(struct lossy *l, int rc, unsigned long long decoded_bytes,
                 unsigned long long file_bytes, int force, char *const *inputs, int ninputs)
{
    if (!l->on)
        return rc;
    if (rc == EXIT_OK)
        printf("quant summary: %llu tensors (%llu weights) pruned/quantized; model %llu decoded "
               "bytes in a %llu-byte file: %.1fx smaller than float32\n",
               l->tensors, l->weights, decoded_bytes, file_bytes,
               file_bytes ? (double)decoded_bytes / (double)file_bytes : 0.0);
    if (rc == EXIT_OK && l->report_path) {
        struct outfile o;
        json_t *root = json_pack("{s:s,s:O,s:I,s:I}", "schema", "cnnz-quant-report/1", "tensors",
                                 (json_t *)l->report, "decoded_bytes", (json_int_t)decoded_bytes,
                                 "file_bytes", (json_int_t)file_bytes);
        if (!root || outfile_open(&o, l->report_path, force, inputs, ninputs)) {
            rc = EXIT_ERR;
        } else if (json_dumpf(root, o.f, JSON_INDENT(2)) || fputc('\n', o.f) == EOF) {
            cli_error("%s: write failed", l->report_path);
            outfile_abort(&o);
            rc = EXIT_ERR;
        } else {
            rc = outfile_commit(&o);
        }
        json_decref(root);
    }
    return rc;
}

void lossy_free(struct lossy *l)
{
    if (l->have_only)
        regfree(&l->only);
    if (l->have_skip)
        regfree(&l->skip);
    json_decref((json_t *)l->report);
    free(l->table);
    for (size_t i = 0; i < l->gcount; i++) {
        free(l->gw[i]);
        free(l->gmask[i]);
    }
    free(l->gw);
    free(l->gmask);
    free(l->gn);
}
