/* cnnz-compare: do two sets of tensors hold the same values?
 *
 *   cnnz-compare [--abs-tol X] [--quiet] A B
 *
 * A and B are each a .cnnz file (decoded with libcnnz, every checksum
 * checked), a directory a decoder wrote under the conformance contract
 * (N.npy and N.name for the tensor of index N, conformance/README.md), or
 * a directory of `cnnz extract -o DIR` output (NAME.npy, the name with
 * %XX escapes). Tensors are matched by name; both sides must hold the same
 * names. Each pair must agree in dtype and shape, and then:
 *
 *  - lossless tensors: bit for bit (NaN payloads and -0.0 included);
 *  - documented lossy tensors: the tensors `cnnz convert --prune/--quant`
 *    lists in the `cnnz.quant` metadata table of a .cnnz operand (its
 *    `tensor` column: the tensor's index in that file, or its name) are values
 *    within the table's `max_abs_error` (printed to 4 significant digits,
 *    so compared with a relative margin of 1e-3), NaN against NaN;
 *  - with --abs-tol X, every floating-point tensor (f16, bf16, f32, f64)
 *    within X instead.
 *
 * bf16 has no .npy dtype: a bf16 tensor matches the '<u2' array a decoder
 * writes for it. Prints each difference and a summary; exit 0 when all
 * tensors agree, 1 when some differ, 2 on a usage or read error. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "npy.h"

struct tensor {
    struct cf_buf name;
    int dtype;
    int from_npy;
    unsigned rank;
    uint64_t dims[CNNZ_MAX_RANK];
    struct cf_buf data;
    double tol; /* < 0: bit for bit */
};

struct side {
    const char *path;
    struct tensor *t;
    size_t n;
};

static int quiet;

static struct tensor *add(struct side *s)
{
    s->t = cf_realloc(s->t, (s->n + 1) * sizeof *s->t);
    struct tensor *t = &s->t[s->n++];
    memset(t, 0, sizeof *t);
    t->tol = -1;
    return t;
}

static int read_all(const char *path, struct cf_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    out->n = 0;
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        cf_buf_put(out, chunk, k);
    int bad = ferror(f);
    fclose(f);
    return bad ? -1 : 0;
}

/* The cnnz.quant table: tolerances of the tensors it lists. */
static void quant_table(struct side *s, const char *text)
{
    const char *nl = strchr(text, '\n');
    if (!nl)
        return;
    int col_tensor = -1, col_err = -1, col = 0;
    for (const char *p = text; p < nl; col++) {
        const char *e = p + strcspn(p, "\t\n");
        size_t len = (size_t)(e - p);
        if (len == 6 && !strncmp(p, "tensor", 6))
            col_tensor = col;
        if (len == 13 && !strncmp(p, "max_abs_error", 13))
            col_err = col;
        p = *e == '\t' ? e + 1 : e;
    }
    if (col_tensor < 0 || col_err < 0)
        return;
    for (const char *line = nl + 1; *line;) {
        const char *end = line + strcspn(line, "\n"), *who = NULL;
        size_t who_len = 0;
        double err = -1;
        col = 0;
        for (const char *p = line; p < end; col++) {
            const char *e = p + strcspn(p, "\t\n");
            if (col == col_tensor) {
                who = p;
                who_len = (size_t)(e - p);
            }
            if (col == col_err)
                err = strtod(p, NULL);
            p = *e == '\t' ? e + 1 : e;
        }
        /* the tensor by its index in the file (digits), else by its name */
        for (size_t i = 0; who && err >= 0 && i < s->n; i++) {
            char idx[24];
            int n = snprintf(idx, sizeof idx, "%zu", i);
            if (((size_t)n == who_len && !memcmp(idx, who, who_len)) ||
                (s->t[i].name.n == who_len && !memcmp(s->t[i].name.p, who, who_len)))
                s->t[i].tol = err * 1.001;
        }
        line = *end ? end + 1 : end;
    }
}

static int load_cnnz(struct side *s)
{
    cnnz_reader *r;
    struct cnnz_where w = {0};
    struct cnnz_open_options o = {.where = &w};
    int err = cnnz_reader_open_path(&r, s->path, &o);
    if (err) {
        fprintf(stderr, "cnnz-compare: %s: %s [%s]\n", s->path, cnnz_strerror(err),
                cnnz_error_token(err));
        return -1;
    }
    for (size_t i = 0; i < cnnz_reader_tensor_count(r) && !err; i++) {
        struct cnnz_tensor_info ti;
        cnnz_reader_tensor_info(r, i, &ti);
        struct tensor *t = add(s);
        cf_buf_put(&t->name, ti.name, ti.name_len);
        t->dtype = ti.dtype;
        t->rank = ti.rank;
        memcpy(t->dims, ti.dims, ti.rank * sizeof *ti.dims);
        if (ti.decoded_bytes > SIZE_MAX / 2) {
            err = CNNZ_E_LIMIT;
            break;
        }
        t->data.n = t->data.cap = (size_t)ti.decoded_bytes;
        t->data.p = cf_alloc(t->data.n); /* never NULL, even for no bytes */
        err = cnnz_reader_decode(r, i, t->data.p, t->data.n, &w);
    }
    struct cnnz_meta m;
    if (!err && !cnnz_reader_meta_find(r, "cnnz.quant", &m) && m.type == CNNZ_META_STRING)
        quant_table(s, m.value);
    if (err) {
        char msg[512];
        cnnz_where_format(r, &w, msg, sizeof msg);
        fprintf(stderr, "cnnz-compare: %s: %s [%s]\n", s->path, msg, cnnz_error_token(err));
    }
    cnnz_reader_close(r);
    return err ? -1 : 0;
}

static int load_npy(struct side *s, const char *path, const void *name, size_t name_len)
{
    struct cf_buf img = {0};
    if (read_all(path, &img)) {
        fprintf(stderr, "cnnz-compare: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct npy_array a;
    char err[FMT_ERR_SIZE];
    if (npy_parse(img.p, img.n, &a, err, sizeof err)) {
        fprintf(stderr, "cnnz-compare: %s: %s\n", path, err);
        cf_buf_free(&img);
        return -1;
    }
    struct tensor *t = add(s);
    cf_buf_put(&t->name, name, name_len);
    t->dtype = a.dtype;
    t->from_npy = 1;
    t->rank = a.rank;
    memcpy(t->dims, a.dims, a.rank * sizeof *a.dims);
    cf_buf_put(&t->data, a.data, a.data_bytes);
    cf_buf_free(&img);
    return 0;
}

static int unhex(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int load_dir(struct side *s)
{
    char path[4096];
    struct cf_buf name = {0};
    snprintf(path, sizeof path, "%s/0.npy", s->path);
    FILE *probe = fopen(path, "rb");
    snprintf(path, sizeof path, "%s/0.name", s->path);
    FILE *probe2 = fopen(path, "rb");
    int conformance = probe && probe2;
    if (probe)
        fclose(probe);
    if (probe2)
        fclose(probe2);
    if (conformance) { /* N.npy and N.name, N = 0, 1, ... */
        for (size_t i = 0;; i++) {
            snprintf(path, sizeof path, "%s/%zu.name", s->path, i);
            if (read_all(path, &name))
                break;
            snprintf(path, sizeof path, "%s/%zu.npy", s->path, i);
            if (load_npy(s, path, name.p, name.n))
                return -1;
        }
        cf_buf_free(&name);
        return 0;
    }
    DIR *d = opendir(s->path);
    if (!d) {
        fprintf(stderr, "cnnz-compare: %s: %s\n", s->path, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".npy"))
            continue;
        name.n = 0;
        for (size_t i = 0; i + 4 < len; i++) { /* cnnz extract's %XX names */
            int hi, lo;
            if (e->d_name[i] == '%' && i + 2 < len - 4 &&
                (hi = unhex(e->d_name[i + 1])) >= 0 && (lo = unhex(e->d_name[i + 2])) >= 0) {
                cf_buf_u8(&name, (unsigned)(hi * 16 + lo));
                i += 2;
            } else {
                cf_buf_u8(&name, (unsigned char)e->d_name[i]);
            }
        }
        snprintf(path, sizeof path, "%s/%s", s->path, e->d_name);
        rc = load_npy(s, path, name.p, name.n);
    }
    closedir(d);
    cf_buf_free(&name);
    return rc;
}

static int load(struct side *s)
{
    DIR *d = opendir(s->path);
    if (d) {
        closedir(d);
        return load_dir(s);
    }
    return load_cnnz(s);
}

static struct tensor *find(struct side *s, const struct cf_buf *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i].name.n == name->n && !memcmp(s->t[i].name.p, name->p, name->n))
            return &s->t[i];
    return NULL;
}

static double element(const struct tensor *t, size_t i)
{
    const uint8_t *p = t->data.p;
    switch (t->dtype) {
    case CNNZ_DT_F16: return cf_f16_to_f32(cf_get16(p + 2 * i));
    case CNNZ_DT_BF16: return cf_bf16_to_f32(cf_get16(p + 2 * i));
    case CNNZ_DT_F32: {
        uint32_t b = cf_get32(p + 4 * i);
        float f;
        memcpy(&f, &b, 4);
        return f;
    }
    default: {
        uint64_t b = cf_get64(p + 8 * i);
        double d;
        memcpy(&d, &b, 8);
        return d;
    }
    }
}

static int is_float(int dt)
{
    return dt == CNNZ_DT_F16 || dt == CNNZ_DT_BF16 || dt == CNNZ_DT_F32 || dt == CNNZ_DT_F64;
}

/* 0: bit for bit; 1: within tolerance; 2: differ (why in msg). */
static int compare(const struct tensor *a, const struct tensor *b, double abs_tol, char *msg,
                   size_t size)
{
    int da = a->dtype, db = b->dtype;
    if ((a->from_npy && da == CNNZ_DT_U16 && db == CNNZ_DT_BF16) ||
        (b->from_npy && db == CNNZ_DT_U16 && da == CNNZ_DT_BF16))
        da = db = CNNZ_DT_BF16;
    if (da != db) {
        snprintf(msg, size, "dtype %s, %s", cnnz_dtype_name(a->dtype), cnnz_dtype_name(b->dtype));
        return 2;
    }
    struct cf_buf sa = {0}, sb = {0};
    cf_shape_text(a->rank, a->dims, &sa);
    cf_shape_text(b->rank, b->dims, &sb);
    int same_shape = !strcmp((const char *)sa.p, (const char *)sb.p);
    if (!same_shape)
        snprintf(msg, size, "shape %s, %s", (const char *)sa.p, (const char *)sb.p);
    cf_buf_free(&sa);
    cf_buf_free(&sb);
    if (!same_shape)
        return 2;
    if (a->data.n != b->data.n) {
        snprintf(msg, size, "%zu bytes, %zu bytes", a->data.n, b->data.n);
        return 2;
    }
    if (!a->data.n || !memcmp(a->data.p, b->data.p, a->data.n))
        return 0;
    double tol = a->tol >= 0 ? a->tol : b->tol;
    if (abs_tol >= 0 && is_float(da))
        tol = abs_tol;
    if (tol < 0 || !is_float(da)) {
        size_t i = 0;
        while (a->data.p[i] == b->data.p[i])
            i++;
        snprintf(msg, size, "bytes differ from byte %zu (lossless: bit for bit)", i);
        return 2;
    }
    size_t es = cnnz_dtype_size(da), n = a->data.n / es;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double x = element(a, i), y = element(b, i);
        if (isnan(x) && isnan(y))
            continue;
        double d = x == y ? 0 : fabs(x - y);
        if (!(d <= tol)) {
            snprintf(msg, size, "element %zu: %.9g, %.9g (tolerance %.4g)", i, x, y, tol);
            return 2;
        }
        if (d > worst)
            worst = d;
    }
    snprintf(msg, size, "within %.4g (largest difference %.4g)", tol, worst);
    return 1;
}

static void say_name(const struct tensor *t)
{
    struct cf_buf e = {0};
    cf_name_escape(t->name.p, t->name.n, &e);
    fputs((const char *)e.p, stdout);
    cf_buf_free(&e);
}

int main(int argc, char **argv)
{
    double abs_tol = -1;
    const char *path[2] = {NULL, NULL};
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--abs-tol") && i + 1 < argc) {
            char *end;
            abs_tol = strtod(argv[++i], &end);
            if (*end || !(abs_tol >= 0)) {
                fprintf(stderr, "cnnz-compare: --abs-tol: '%s' is not a tolerance\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: cnnz-compare [--abs-tol X] [--quiet] A B\n\n"
                 "A and B: .cnnz files, or directories of N.npy + N.name (the conformance\n"
                 "contract) or of NAME.npy (cnnz extract). Lossless tensors must be equal bit\n"
                 "for bit; tensors in a .cnnz's cnnz.quant table within its max_abs_error;\n"
                 "with --abs-tol, every float tensor within X. Exit 0 same, 1 differ, 2 error.");
            return 0;
        } else if (np < 2 && (argv[i][0] != '-' || !argv[i][1])) {
            path[np++] = argv[i];
        } else {
            np = 3;
        }
    }
    if (np != 2) {
        fputs("usage: cnnz-compare [--abs-tol X] [--quiet] A B\n", stderr);
        return 2;
    }
    struct side s[2] = {{path[0], NULL, 0}, {path[1], NULL, 0}};
    if (load(&s[0]) || load(&s[1]))
        return 2;
    size_t same = 0, close = 0, differ = 0;
    char msg[512];
    for (size_t i = 0; i < s[0].n; i++) {
        struct tensor *b = find(&s[1], &s[0].t[i].name);
        int rc = b ? compare(&s[0].t[i], b, abs_tol, msg, sizeof msg) : 2;
        if (!b)
            snprintf(msg, sizeof msg, "only in %s", s[0].path);
        same += rc == 0;
        close += rc == 1;
        differ += rc == 2;
        if (rc == 2 || (rc == 1 && !quiet)) {
            fputs(rc == 2 ? "differ: " : "close: ", stdout);
            say_name(&s[0].t[i]);
            printf(": %s\n", msg);
        }
    }
    for (size_t i = 0; i < s[1].n; i++) {
        if (find(&s[0], &s[1].t[i].name))
            continue;
        differ++;
        fputs("differ: ", stdout);
        say_name(&s[1].t[i]);
        printf(": only in %s\n", s[1].path);
    }
    if (!quiet || differ)
        printf("%zu tensors: %zu identical, %zu within tolerance, %zu differ\n",
               same + close + differ, same, close, differ);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < s[k].n; i++) {
            cf_buf_free(&s[k].t[i].name);
            cf_buf_free(&s[k].t[i].data);
        }
        free(s[k].t);
    }
    return differ ? 1 : 0;
}
