/* cnnz convert --prune / --quant: selection, calls into cnnz_quant.h, report. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
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
    static const char *const with_value[] = {"--prune", "--quant",   "--min-weights", "--only",
                                             "--skip",  "--report", "--seed"};
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
    if (!strcmp(a, "--prune")) {
        bad = parse_double(v, &l->prune) || l->prune < 0 || l->prune > 1;
        l->on = 1;
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
                  !strcmp(a, "--prune") ? "a fraction from 0 to 1"
                  : !strcmp(a, "--quant") ? "uq:K, kmeans:K, pws:K (K levels, 1..65535) or ecsq:BITS"
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

int lossy_add(struct lossy *l, cnnz_writer *w, FILE *out, int coder, const char *path,
              const char *name, const struct cnnz_tensor_desc *d0, const void *data, size_t size)
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
    int err = cnnz_prune_fraction(wt, n, l->prune, mask, NULL, &pr);
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
        long before = ftell(out);
        if ((err = cnnz_writer_add_tensor(w, &d, wt, size))) {
            cli_error("%s: tensor '%s': %s [%s]", path, name, cnnz_strerror(err),
                      cnnz_error_token(err));
            goto done;
        }
        double coded = (double)(ftell(out) - before);
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
    d.repr = CNNZ_REPR_HAM; /* --coder auto may store it as sHAM */
    d.symbol_dtype = cnnz_quant_index_dtype(q.levels);
    d.codebook = cb;
    d.codebook_size = cbn;
    d.coder = coder;
    long before = ftell(out);
    err = cnnz_writer_add_tensor(w, &d, idx, n * cnnz_dtype_size(d.symbol_dtype));
    if (err) {
        cli_error("%s: tensor '%s': %s [%s]", path, name, cnnz_strerror(err), cnnz_error_token(err));
        goto done;
    }
    double coded = (double)(ftell(out) - before);
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
    /* Kept in the file too, so `cnnz inspect` shows how a tensor was made. */
    char *text = entry ? json_dumps(entry, JSON_COMPACT) : NULL;
    size_t kl = strlen(name) + 16;
    char *key = malloc(kl);
    if (text && key) {
        snprintf(key, kl, "cnnz.quant/%s", name);
        if (strlen(key) <= CNNZ_MAX_NAME_BYTES)
            (void)cnnz_writer_meta_string(w, key, text);
    }
    free(key);
    free(text);
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

int lossy_finish(struct lossy *l, int rc, unsigned long long decoded_bytes,
                 unsigned long long file_bytes, int force)
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
        if (!root || outfile_open(&o, l->report_path, force, NULL, 0)) {
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
}
