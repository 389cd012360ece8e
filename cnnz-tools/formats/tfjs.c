/* TensorFlow.js weight manifests and shards (tfjs.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "tfjs.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct priv {
    json_t *root;
    unsigned char **shards; /* one concatenated buffer per group */
    size_t nshards;
    char *dir, *model_name;
};

static int read_file(void *opaque, const char *path, unsigned char **data, size_t *size, char *err,
                     size_t es)
{
    (void)opaque;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fmt_fail(err, es, FMT_E_IO, "cannot open shard %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fmt_fail(err, es, FMT_E_INVALID, "shard %s is not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *b = malloc(n ? n : 1);
    if (!b) {
        fclose(f);
        return fmt_fail(err, es, FMT_E_NOMEM, "out of memory reading %s", path);
    }
    if (fread(b, 1, n, f) != n) {
        free(b);
        fclose(f);
        return fmt_fail(err, es, FMT_E_IO, "cannot read shard %s", path);
    }
    fclose(f);
    *data = b;
    *size = n;
    return FMT_OK;
}

/* Shard paths stay inside the model's folder (no absolute path, no '..'). */
static int safe_path(const char *dir, const char *rel, char *out, size_t cap, int check_real,
                     char *err, size_t es)
{
    if (!rel[0] || rel[0] == '/')
        return fmt_fail(err, es, FMT_E_INVALID, "shard path '%s' is absolute or empty", rel);
    for (const char *p = rel; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return fmt_fail(err, es, FMT_E_INVALID, "shard path '%s' leaves the model folder", rel);
        p += n + (e ? 1 : 0);
    }
    if ((size_t)snprintf(out, cap, "%s/%s", dir, rel) >= cap)
        return fmt_fail(err, es, FMT_E_INVALID, "shard path '%s' is too long", rel);
    if (check_real) {
        char rd[PATH_MAX], rf[PATH_MAX];
        if (!realpath(dir, rd) || !realpath(out, rf))
            return fmt_fail(err, es, FMT_E_IO, "shard %s: %s", out, strerror(errno));
        size_t n = strlen(rd);
        if (strncmp(rf, rd, n) != 0 || (rf[n] != '/' && strcmp(rd, "/") != 0))
            return fmt_fail(err, es, FMT_E_INVALID, "shard path '%s' resolves outside the model folder", rel);
    }
    return FMT_OK;
}

void tfjs_free(struct tfjs_model *m)
{
    if (!m)
        return;
    struct priv *p = m->priv;
    if (p) {
        for (size_t i = 0; i < p->nshards; i++)
            free(p->shards[i]);
        free(p->shards);
        free(p->dir);
        free(p->model_name);
        json_decref(p->root);
        free(p);
    }
    free(m->weights);
    free(m);
}

static int dtype_size(const char *t)
{
    if (!strcmp(t, "float32") || !strcmp(t, "int32"))
        return 4;
    if (!strcmp(t, "uint16") || !strcmp(t, "float16"))
        return 2;
    if (!strcmp(t, "uint8") || !strcmp(t, "bool"))
        return 1;
    return 0;
}

/* One manifest entry into w; data located at *off inside blob[0..blen). */
static int weight(json_t *j, struct tfjs_weight *w, const unsigned char *blob, size_t blen,
                  size_t *off, char *err, size_t es)
{
    json_t *name = json_object_get(j, "name"), *shape = json_object_get(j, "shape");
    json_t *dt = json_object_get(j, "dtype"), *q = json_object_get(j, "quantization");
    if (!json_is_string(name) || !json_string_length(name))
        return fmt_fail(err, es, FMT_E_INVALID, "a weight has no name");
    char qn[160];
    const char *nm = fmt_quote(qn, sizeof qn, json_string_value(name), json_string_length(name), 120);
    if (strlen(json_string_value(name)) != json_string_length(name))
        return fmt_fail(err, es, FMT_E_INVALID, "weight '%s': name contains NUL", nm);
    if (!json_is_array(shape) || !json_is_string(dt))
        return fmt_fail(err, es, FMT_E_INVALID, "weight '%s': missing shape or dtype", nm);
    const char *dts = json_string_value(dt);
    memset(w, 0, sizeof *w);
    w->name = json_string_value(name);
    if (json_array_size(shape) > CNNZ_MAX_RANK)
        return fmt_fail(err, es, FMT_E_UNSUPPORTED, "weight '%s': rank above %u", nm, CNNZ_MAX_RANK);
    w->rank = (unsigned)json_array_size(shape);
    uint64_t n = 1;
    int zero = 0;
    for (unsigned i = 0; i < w->rank; i++) {
        json_t *d = json_array_get(shape, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return fmt_fail(err, es, FMT_E_INVALID, "weight '%s': bad dimension", nm);
        w->dims[i] = (uint64_t)json_integer_value(d);
        zero |= w->dims[i] == 0;
    }
    for (unsigned i = 0; i < w->rank && !zero; i++)
        if (fmt_mul_u64(n, w->dims[i], &n))
            return fmt_fail(err, es, FMT_E_INVALID, "weight '%s': element count overflows", nm);
    w->elements = zero ? 0 : n;
    int stored;
    if (!strcmp(dts, "float32"))
        w->dtype = CNNZ_DT_F32;
    else if (!strcmp(dts, "int32"))
        w->dtype = CNNZ_DT_I32;
    else if (!strcmp(dts, "bool"))
        w->dtype = CNNZ_DT_BOOL;
    else
        return fmt_fail(err, es, FMT_E_UNSUPPORTED, "weight '%s': tfjs dtype '%s' is not supported", nm, dts);
    w->repr = CNNZ_REPR_PLAIN;
    stored = dtype_size(dts);
    if (q && !json_is_null(q)) {
        json_t *qd = json_object_get(q, "dtype");
        const char *qs = json_is_string(qd) ? json_string_value(qd) : "";
        if (!strcmp(qs, "uint8") || !strcmp(qs, "uint16")) {
            json_t *sc = json_object_get(q, "scale"), *mn = json_object_get(q, "min");
            if (!json_is_number(sc) || !json_is_number(mn))
                return fmt_fail(err, es, FMT_E_INVALID, "weight '%s': quantization lacks scale or min", nm);
            if (w->dtype == CNNZ_DT_BOOL)
                return fmt_fail(err, es, FMT_E_UNSUPPORTED, "weight '%s': quantized bool", nm);
            w->repr = CNNZ_REPR_AFFINE;
            w->symbol_dtype = qs[4] == '8' ? CNNZ_DT_U8 : CNNZ_DT_U16;
            w->scale = json_number_value(sc);
            w->offset = json_number_value(mn);
        } else if (!strcmp(qs, "float16") && w->dtype == CNNZ_DT_F32) {
            w->repr = CNNZ_REPR_WIDEN;
            w->symbol_dtype = CNNZ_DT_F16;
        } else {
            return fmt_fail(err, es, FMT_E_UNSUPPORTED, "weight '%s': quantization '%s' of %s not supported", nm, qs, dts);
        }
        stored = dtype_size(qs);
    }
    uint64_t bytes;
    if (fmt_mul_u64(w->elements, (uint64_t)stored, &bytes) || bytes > blen - *off)
        return fmt_fail(err, es, FMT_E_INVALID, "weight '%s' runs past the end of its shards", nm);
    w->data = blob + *off;
    w->data_bytes = (size_t)bytes;
    *off += (size_t)bytes;
    if (w->repr == CNNZ_REPR_PLAIN && w->dtype == CNNZ_DT_BOOL)
        for (size_t i = 0; i < w->data_bytes; i++)
            if (w->data[i] > 1)
                return fmt_fail(err, es, FMT_E_INVALID, "weight '%s': bool byte not 0 or 1", nm);
    return FMT_OK;
}

static char *dup_str(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static int parse(struct tfjs_model *m, struct priv *p, const char *json_path, tfjs_read_fn read,
                 void *opaque, char *err, size_t es)
{
    json_t *root = p->root, *groups = root;
    if (json_is_object(root)) {
        groups = json_object_get(root, "weightsManifest");
        static const char *keys[][2] = {{"format", "tfjs.format"}, {"generatedBy", "tfjs.generated_by"},
                                        {"convertedBy", "tfjs.converted_by"}};
        for (size_t i = 0; i < 3; i++) {
            json_t *v = json_object_get(root, keys[i][0]);
            if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
                m->meta[m->meta_count++] = (struct tfjs_meta){keys[i][1], json_string_value(v)};
        }
    }
    if (!json_is_array(groups))
        return fmt_fail(err, es, FMT_E_INVALID, "not a tfjs model.json or weights manifest");
    size_t total = 0;
    for (size_t g = 0; g < json_array_size(groups); g++) {
        json_t *ws = json_object_get(json_array_get(groups, g), "weights");
        if (!json_is_array(ws))
            return fmt_fail(err, es, FMT_E_INVALID, "weights group %zu has no \"weights\" array", g);
        total += json_array_size(ws);
    }
    m->weights = calloc(total ? total : 1, sizeof *m->weights);
    p->shards = calloc(json_array_size(groups) + 1, sizeof *p->shards);
    if (!m->weights || !p->shards)
        return fmt_fail(err, es, FMT_E_NOMEM, "out of memory");
    for (size_t g = 0; g < json_array_size(groups); g++) {
        json_t *grp = json_array_get(groups, g), *paths = json_object_get(grp, "paths");
        if (!json_is_array(paths))
            return fmt_fail(err, es, FMT_E_INVALID, "weights group %zu has no \"paths\" array", g);
        size_t blen = 0;
        unsigned char *blob = NULL;
        for (size_t i = 0; i < json_array_size(paths); i++) {
            json_t *pj = json_array_get(paths, i);
            if (!json_is_string(pj) || strlen(json_string_value(pj)) != json_string_length(pj)) {
                free(blob);
                return fmt_fail(err, es, FMT_E_INVALID, "weights group %zu: bad shard path", g);
            }
            char full[PATH_MAX];
            int st = safe_path(p->dir, json_string_value(pj), full, sizeof full, read == NULL, err, es);
            unsigned char *d = NULL;
            size_t n = 0;
            if (!st)
                st = (read ? read : read_file)(opaque, full, &d, &n, err, es);
            if (st) {
                free(blob);
                return st;
            }
            unsigned char *nb = n ? realloc(blob, blen + n) : blob;
            if (n && !nb) {
                free(d);
                free(blob);
                return fmt_fail(err, es, FMT_E_NOMEM, "out of memory");
            }
            if (n)
                memcpy(nb + blen, d, n);
            free(d);
            blob = nb;
            blen += n;
        }
        p->shards[p->nshards++] = blob;
        json_t *ws = json_object_get(grp, "weights");
        size_t off = 0;
        for (size_t i = 0; i < json_array_size(ws); i++) {
            int st = weight(json_array_get(ws, i), &m->weights[m->count], blob ? blob : (const unsigned char *)"", blen, &off, err, es);
            if (st)
                return st;
            m->count++;
        }
        if (off != blen)
            return fmt_fail(err, es, FMT_E_INVALID, "weights group %zu: shards hold %zu bytes, the weights %zu", g, blen, off);
    }
    (void)json_path;
    m->meta[m->meta_count++] = (struct tfjs_meta){CNNZ_META_MODEL_NAME, p->model_name};
    return FMT_OK;
}

int tfjs_parse(const void *json, size_t len, const char *json_path, tfjs_read_fn read,
               void *opaque, struct tfjs_model **out, char *err, size_t es)
{
    *out = NULL;
    struct tfjs_model *m = calloc(1, sizeof *m);
    struct priv *p = calloc(1, sizeof *p);
    if (!m || !p) {
        free(m);
        free(p);
        return fmt_fail(err, es, FMT_E_NOMEM, "out of memory");
    }
    m->priv = p;
    const char *slash = strrchr(json_path, '/');
    p->dir = slash ? dup_str(json_path, (size_t)(slash - json_path) ? (size_t)(slash - json_path) : 1)
                   : dup_str(".", 1);
    const char *base = slash ? slash + 1 : json_path;
    size_t bl = strlen(base);
    static const char *suffixes[] = {"-weights_manifest.json", "_weights_manifest.json", ".json"};
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        if (bl > sl && !strcmp(base + bl - sl, suffixes[i])) {
            bl -= sl;
            break;
        }
    }
    p->model_name = dup_str(base, bl);
    json_error_t je;
    p->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    int st;
    if (!p->dir || !p->model_name)
        st = fmt_fail(err, es, FMT_E_NOMEM, "out of memory");
    else if (!p->root)
        st = fmt_fail(err, es, FMT_E_INVALID, "JSON error at line %d: %s", je.line, je.text);
    else
        st = parse(m, p, json_path, read, opaque, err, es);
    if (st) {
        tfjs_free(m);
        return st;
    }
    *out = m;
    return FMT_OK;
}
