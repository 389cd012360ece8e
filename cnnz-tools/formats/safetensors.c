/* Hugging Face safetensors reader and writer (safetensors.h). */
#include "safetensors.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Every dtype string of the format, with its element size in bits and the
 * cnnz dtype (0: well-formed but unsupported). */
static const struct {
    const char *name;
    unsigned bits;
    int dtype;
} dtypes[] = {
    {"F64", 64, CNNZ_DT_F64},   {"F32", 32, CNNZ_DT_F32},   {"F16", 16, CNNZ_DT_F16},
    {"BF16", 16, CNNZ_DT_BF16}, {"I64", 64, CNNZ_DT_I64},   {"I32", 32, CNNZ_DT_I32},
    {"I16", 16, CNNZ_DT_I16},   {"I8", 8, CNNZ_DT_I8},      {"U64", 64, CNNZ_DT_U64},
    {"U32", 32, CNNZ_DT_U32},   {"U16", 16, CNNZ_DT_U16},   {"U8", 8, CNNZ_DT_U8},
    {"BOOL", 8, CNNZ_DT_BOOL},  {"F8_E4M3", 8, 0},          {"F8_E5M2", 8, 0},
    {"F8_E8M0", 8, 0},          {"F6_E2M3", 6, 0},          {"F6_E3M2", 6, 0},
    {"F4", 4, 0},               {"C64", 64, 0},
};
#define NDTYPES (sizeof dtypes / sizeof dtypes[0])

#define META_KEY "__metadata__"

const char *safetensors_dtype_name(int dtype)
{
    for (size_t i = 0; i < NDTYPES; i++)
        if (dtypes[i].dtype != 0 && dtypes[i].dtype == dtype)
            return dtypes[i].name;
    return NULL;
}

/* ------------------------------------------------------------------ parse */

struct entry {
    const char *name; /* borrowed from the JSON object until copied */
    size_t name_len;
    int dtype;            /* 0: unsupported */
    const char *unsup;    /* why, when unsupported (static or dtype name) */
    const char *src_type; /* the dtype string */
    unsigned rank;   /* min(src_rank, CNNZ_MAX_RANK) */
    size_t src_rank; /* as in the file */
    uint64_t dims[CNNZ_MAX_RANK];
    uint64_t elements;
    uint64_t begin, end;
};

static int by_offsets(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static int by_meta_key(const void *a, const void *b)
{
    const struct safetensors_meta *x = a, *y = b;
    return strcmp(x->key, y->key);
}

static char *dup_bytes(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* A JSON integer that is >= 0 into *v. */
static int json_u64(const json_t *j, uint64_t *v)
{
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return 0;
    *v = (uint64_t)json_integer_value(j);
    return 1;
}

/* Read one tensor entry (name -> object) into *e. */
static int read_entry(const char *name, size_t name_len, json_t *obj, struct entry *e, char *err,
                      size_t err_size)
{
    char q[96];
    const char *qn = fmt_quote(q, sizeof q, name, name_len, 64);
    memset(e, 0, sizeof *e);
    e->name = name;
    e->name_len = name_len;
    if (name_len == 0)
        return fmt_fail(err, err_size, FMT_E_INVALID, "empty tensor name");
    if (!json_is_object(obj))
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': entry is not an object", qn);

    json_t *jd = json_object_get(obj, "dtype");
    json_t *js = json_object_get(obj, "shape");
    json_t *jo = json_object_get(obj, "data_offsets");
    if (!json_is_string(jd))
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': dtype missing or not a string",
                        qn);
    if (!json_is_array(js))
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': shape missing or not an array",
                        qn);
    if (!json_is_array(jo) || json_array_size(jo) != 2 || !json_u64(json_array_get(jo, 0), &e->begin) ||
        !json_u64(json_array_get(jo, 1), &e->end))
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "tensor '%s': data_offsets must be two non-negative integers", qn);
    if (e->end < e->begin)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "tensor '%s': data_offsets end %llu is before begin %llu", qn,
                        (unsigned long long)e->end, (unsigned long long)e->begin);

    const char *ds = json_string_value(jd);
    size_t t = 0;
    while (t < NDTYPES && strcmp(dtypes[t].name, ds) != 0)
        t++;
    if (t == NDTYPES) {
        char qd[48];
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': unknown dtype '%s'", qn,
                        fmt_quote(qd, sizeof qd, ds, json_string_length(jd), 24));
    }
    e->src_type = dtypes[t].name;
    e->dtype = dtypes[t].dtype;

    /* Shape: count elements over every dim (a rank above ours is still checked). */
    size_t rank = json_array_size(js);
    uint64_t elements = 1;
    for (size_t i = 0; i < rank; i++) {
        uint64_t d;
        if (!json_u64(json_array_get(js, i), &d))
            return fmt_fail(err, err_size, FMT_E_INVALID,
                            "tensor '%s': shape[%zu] is not a non-negative integer", qn, i);
        if (fmt_mul_u64(elements, d, &elements))
            return fmt_fail(err, err_size, FMT_E_INVALID,
                            "tensor '%s': element count overflows 64 bits", qn);
        if (i < CNNZ_MAX_RANK)
            e->dims[i] = d;
    }
    e->elements = elements;
    uint64_t bits, bytes;
    if (fmt_mul_u64(elements, dtypes[t].bits, &bits))
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': byte size overflows 64 bits",
                        qn);
    if (bits % 8 != 0)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "tensor '%s': %llu elements of %s do not fill whole bytes", qn,
                        (unsigned long long)elements, e->src_type);
    bytes = bits / 8;
    if (e->end - e->begin != bytes)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "tensor '%s': data_offsets span %llu bytes, shape and dtype need %llu", qn,
                        (unsigned long long)(e->end - e->begin), (unsigned long long)bytes);

    if (e->dtype == 0)
        e->unsup = "dtype";
    else if (rank > CNNZ_MAX_RANK)
        e->unsup = "rank";
    else if (name_len > CNNZ_MAX_NAME_BYTES)
        e->unsup = "name";
    e->src_rank = rank;
    e->rank = rank > CNNZ_MAX_RANK ? CNNZ_MAX_RANK : (unsigned)rank;
    if (e->unsup == NULL && bytes > SIZE_MAX)
        e->unsup = "size";
    return FMT_OK;
}

static void unsup_text(const struct entry *e, char *buf, size_t size)
{
    if (strcmp(e->unsup, "dtype") == 0)
        snprintf(buf, size, "dtype %s", e->src_type);
    else if (strcmp(e->unsup, "rank") == 0)
        snprintf(buf, size, "rank %zu above %u", e->src_rank, CNNZ_MAX_RANK);
    else if (strcmp(e->unsup, "name") == 0)
        snprintf(buf, size, "name longer than %u bytes", CNNZ_MAX_NAME_BYTES);
    else
        snprintf(buf, size, "too large for this platform");
}

static int read_metadata(json_t *jm, struct safetensors_file *f, char *err, size_t err_size)
{
    if (json_is_null(jm))
        return FMT_OK;
    if (!json_is_object(jm))
        return fmt_fail(err, err_size, FMT_E_INVALID, "__metadata__ is not an object");
    size_t n = json_object_size(jm);
    if (n == 0)
        return FMT_OK;
    f->meta = calloc(n, sizeof *f->meta);
    if (!f->meta)
        return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
    const char *key;
    json_t *val;
    json_object_foreach(jm, key, val)
    {
        char q[96];
        if (!json_is_string(val))
            return fmt_fail(err, err_size, FMT_E_INVALID,
                            "__metadata__ value of '%s' is not a string",
                            fmt_quote(q, sizeof q, key, strlen(key), 64));
        struct safetensors_meta *m = &f->meta[f->meta_count];
        m->key = dup_bytes(key, strlen(key));
        m->value = dup_bytes(json_string_value(val), json_string_length(val));
        f->meta_count++;
        if (!m->key || !m->value)
            return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
    }
    qsort(f->meta, f->meta_count, sizeof *f->meta, by_meta_key);
    return FMT_OK;
}

void safetensors_free(struct safetensors_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->count; i++)
        free((void *)(uintptr_t)f->tensors[i].name);
    for (size_t i = 0; i < f->skipped_count; i++) {
        free((void *)(uintptr_t)f->skipped[i].name);
        free((void *)(uintptr_t)f->skipped[i].reason);
    }
    for (size_t i = 0; i < f->meta_count; i++) {
        free((void *)(uintptr_t)f->meta[i].key);
        free((void *)(uintptr_t)f->meta[i].value);
    }
    free(f->tensors);
    free(f->skipped);
    free(f->meta);
    free(f);
}

static int parse_json(const unsigned char *p, uint64_t n, uint64_t size,
                      const struct safetensors_options *opts, struct safetensors_file *f,
                      json_t *root, char *err, size_t err_size)
{
    size_t max_tensors = CNNZ_MAX_TENSORS;
    if (opts && opts->max_tensors != 0 && opts->max_tensors < max_tensors)
        max_tensors = opts->max_tensors;

    size_t nkeys = json_object_size(root);
    struct entry *ents = calloc(nkeys ? nkeys : 1, sizeof *ents);
    if (!ents)
        return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
    size_t ne = 0;
    int rc = FMT_OK;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        size_t klen = json_object_iter_key_len(json_object_key_to_iter(key));
        if (klen == strlen(META_KEY) && memcmp(key, META_KEY, klen) == 0) {
            rc = read_metadata(val, f, err, err_size);
        } else if (ne == max_tensors) {
            rc = fmt_fail(err, err_size, FMT_E_UNSUPPORTED,
                          "more than %zu tensors (the tensor-count limit)", max_tensors);
        } else {
            rc = read_entry(key, klen, val, &ents[ne], err, err_size);
            ne++;
        }
        if (rc != FMT_OK)
            goto out;
    }

    /* Ranges must tile the byte buffer exactly (sorted by offsets). */
    qsort(ents, ne, sizeof *ents, by_offsets);
    uint64_t buf_bytes = size - 8 - n;
    uint64_t at = 0;
    for (size_t i = 0; i < ne; i++) {
        char q[96];
        if (ents[i].begin != at) {
            rc = fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': data_offsets begin %llu %s",
                          fmt_quote(q, sizeof q, ents[i].name, ents[i].name_len, 64),
                          (unsigned long long)ents[i].begin,
                          ents[i].begin > at ? "leaves a hole after the previous tensor"
                                             : "overlaps the previous tensor");
            goto out;
        }
        if (ents[i].end > buf_bytes) {
            rc = fmt_fail(err, err_size, FMT_E_INVALID,
                          "tensor '%s': data_offsets end %llu is past the end of the data (%llu bytes)",
                          fmt_quote(q, sizeof q, ents[i].name, ents[i].name_len, 64),
                          (unsigned long long)ents[i].end, (unsigned long long)buf_bytes);
            goto out;
        }
        at = ents[i].end;
    }
    if (at != buf_bytes) {
        rc = fmt_fail(err, err_size, FMT_E_INVALID,
                      "%llu bytes after the last tensor's data (data_offsets end at %llu of %llu)",
                      (unsigned long long)(buf_bytes - at), (unsigned long long)at,
                      (unsigned long long)buf_bytes);
        goto out;
    }

    /* Layout is valid: sort out unsupported tensors, then copy out. */
    size_t nskip = 0;
    for (size_t i = 0; i < ne; i++) {
        if (ents[i].unsup == NULL)
            continue;
        if (!(opts && opts->skip_unsupported)) {
            char q[96], why[64];
            unsup_text(&ents[i], why, sizeof why);
            rc = fmt_fail(err, err_size, FMT_E_UNSUPPORTED, "tensor '%s': unsupported %s",
                          fmt_quote(q, sizeof q, ents[i].name, ents[i].name_len, 64), why);
            goto out;
        }
        nskip++;
    }
    f->tensors = calloc(ne - nskip ? ne - nskip : 1, sizeof *f->tensors);
    f->skipped = calloc(nskip ? nskip : 1, sizeof *f->skipped);
    if (!f->tensors || !f->skipped) {
        rc = fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
        goto out;
    }
    const unsigned char *data = p + 8 + n;
    for (size_t i = 0; i < ne; i++) {
        const struct entry *e = &ents[i];
        char *name = dup_bytes(e->name, e->name_len);
        if (!name) {
            rc = fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
            goto out;
        }
        if (e->unsup) {
            char why[64];
            struct safetensors_skipped *s = &f->skipped[f->skipped_count++];
            s->name = name;
            unsup_text(e, why, sizeof why);
            s->reason = dup_bytes(why, strlen(why));
            if (!s->reason) {
                rc = fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
                goto out;
            }
            continue;
        }
        struct safetensors_tensor *t = &f->tensors[f->count++];
        t->name = name;
        t->name_len = e->name_len;
        t->dtype = e->dtype;
        t->rank = e->rank;
        memcpy(t->dims, e->dims, sizeof t->dims);
        t->elements = e->elements;
        t->data = data + e->begin;
        t->data_bytes = (size_t)(e->end - e->begin);
        if (t->dtype == CNNZ_DT_BOOL) {
            for (size_t k = 0; k < t->data_bytes; k++) {
                if (t->data[k] > 1) {
                    char q[96];
                    rc = fmt_fail(err, err_size, FMT_E_INVALID,
                                  "tensor '%s': bool element %zu is %u, not 0 or 1",
                                  fmt_quote(q, sizeof q, name, e->name_len, 64), k, t->data[k]);
                    goto out;
                }
            }
        }
    }
out:
    free(ents);
    return rc;
}

int safetensors_parse(const void *buf, size_t size, const struct safetensors_options *opts,
                      struct safetensors_file **out, char *err, size_t err_size)
{
    const unsigned char *p = buf;
    *out = NULL;
    if (size < 8)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "%zu bytes: shorter than the 8-byte header length", size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | p[i];
    uint64_t limit = SAFETENSORS_MAX_HEADER_BYTES;
    if (n > limit)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "header length %llu is above the format's limit of %llu bytes",
                        (unsigned long long)n, (unsigned long long)limit);
    if (opts && opts->max_header_bytes != 0 && opts->max_header_bytes < limit)
        limit = opts->max_header_bytes;
    if (n > limit)
        return fmt_fail(err, err_size, FMT_E_UNSUPPORTED,
                        "header length %llu is above the header limit of %llu bytes",
                        (unsigned long long)n, (unsigned long long)limit);
    if (n > size - 8)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "header length %llu runs past the end of the file (%zu bytes)",
                        (unsigned long long)n, size);
    if (n == 0 || p[8] != '{')
        return fmt_fail(err, err_size, FMT_E_INVALID, "header does not start with '{'");

    json_error_t jerr;
    json_t *root = json_loadb((const char *)p + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fmt_fail(err, err_size, FMT_E_INVALID, "header JSON: %s at byte %d", jerr.text,
                        jerr.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return fmt_fail(err, err_size, FMT_E_INVALID, "header JSON is not an object");
    }
    struct safetensors_file *f = calloc(1, sizeof *f);
    if (!f) {
        json_decref(root);
        return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
    }
    f->header_bytes = n;
    int rc = parse_json(p, n, size, opts, f, root, err, err_size);
    json_decref(root);
    if (rc != FMT_OK) {
        safetensors_free(f);
        return rc;
    }
    *out = f;
    return FMT_OK;
}

/* ------------------------------------------------------------------ write */

static int by_name_ptr(const void *a, const void *b)
{
    const struct safetensors_tensor *x = *(const struct safetensors_tensor *const *)a;
    const struct safetensors_tensor *y = *(const struct safetensors_tensor *const *)b;
    size_t lx = x->name_len ? x->name_len : strlen(x->name);
    size_t ly = y->name_len ? y->name_len : strlen(y->name);
    int c = memcmp(x->name, y->name, lx < ly ? lx : ly);
    if (c != 0)
        return c;
    return lx < ly ? -1 : lx > ly;
}

static int check_tensor(const struct safetensors_tensor *t, size_t idx, size_t name_len, char *err,
                        size_t err_size)
{
    char q[96];
    const char *qn = fmt_quote(q, sizeof q, t->name, name_len, 64);
    if (name_len == 0)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor %zu: empty name", idx);
    if (!fmt_utf8_ok((const unsigned char *)t->name, name_len))
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "tensor '%s': name is not UTF-8 or holds a NUL", qn);
    if (name_len == strlen(META_KEY) && memcmp(t->name, META_KEY, name_len) == 0)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor name '%s' is reserved", META_KEY);
    const char *dn = safetensors_dtype_name(t->dtype);
    if (!dn)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': unknown dtype %d", qn,
                        t->dtype);
    if (t->rank > CNNZ_MAX_RANK)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': rank %u above %u", qn,
                        t->rank, CNNZ_MAX_RANK);
    uint64_t elements = 1, bytes;
    for (unsigned i = 0; i < t->rank; i++) {
        if (t->dims[i] > (uint64_t)INT64_MAX || fmt_mul_u64(elements, t->dims[i], &elements))
            return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': dims overflow", qn);
    }
    if (fmt_mul_u64(elements, cnnz_dtype_size(t->dtype), &bytes) || bytes != t->data_bytes)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "tensor '%s': %zu data bytes, dims and dtype need %llu", qn,
                        t->data_bytes, (unsigned long long)bytes);
    if (t->data_bytes != 0 && t->data == NULL)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': no data", qn);
    if (t->dtype == CNNZ_DT_BOOL)
        for (size_t k = 0; k < t->data_bytes; k++)
            if (t->data[k] > 1)
                return fmt_fail(err, err_size, FMT_E_INVALID,
                                "tensor '%s': bool element %zu is not 0 or 1", qn, k);
    return FMT_OK;
}

static int build_header(const struct safetensors_tensor *const *order, size_t count,
                        const struct safetensors_meta *meta, size_t meta_count, char **text,
                        char *err, size_t err_size)
{
    int rc = FMT_E_NOMEM;
    json_t *root = json_object();
    if (!root)
        goto nomem;
    if (meta_count > 0) {
        json_t *jm = json_object();
        if (!jm || json_object_set_new(root, META_KEY, jm) != 0)
            goto nomem;
        for (size_t i = 0; i < meta_count; i++) {
            const char *k = meta[i].key, *v = meta[i].value;
            char q[96];
            if (!k || !v || k[0] == '\0' || !fmt_utf8_ok((const unsigned char *)k, strlen(k)) ||
                !fmt_utf8_ok((const unsigned char *)v, strlen(v))) {
                rc = fmt_fail(err, err_size, FMT_E_INVALID,
                              "metadata entry %zu: key empty or key/value not UTF-8", i);
                goto fail;
            }
            if (json_object_get(jm, k)) {
                rc = fmt_fail(err, err_size, FMT_E_INVALID, "duplicate metadata key '%s'",
                              fmt_quote(q, sizeof q, k, strlen(k), 64));
                goto fail;
            }
            if (json_object_set_new(jm, k, json_string(v)) != 0)
                goto nomem;
        }
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        const struct safetensors_tensor *t = order[i];
        size_t nl = t->name_len ? t->name_len : strlen(t->name);
        json_t *e = json_object(), *shape = json_array(), *offs = json_array();
        if (!e || !shape || !offs) {
            json_decref(e);
            json_decref(shape);
            json_decref(offs);
            goto nomem;
        }
        if (json_object_setn_new(root, t->name, nl, e) != 0) {
            json_decref(shape);
            json_decref(offs);
            goto nomem;
        }
        if (json_object_set_new(e, "dtype", json_string(safetensors_dtype_name(t->dtype))) != 0 ||
            json_object_set_new(e, "shape", shape) != 0) {
            json_decref(offs);
            goto nomem;
        }
        if (json_object_set_new(e, "data_offsets", offs) != 0)
            goto nomem;
        for (unsigned d = 0; d < t->rank; d++)
            if (json_array_append_new(shape, json_integer((json_int_t)t->dims[d])) != 0)
                goto nomem;
        uint64_t end;
        if (fmt_add_u64(offset, t->data_bytes, &end) || end > (uint64_t)INT64_MAX) {
            rc = fmt_fail(err, err_size, FMT_E_INVALID, "total data size overflows");
            goto fail;
        }
        if (json_array_append_new(offs, json_integer((json_int_t)offset)) != 0 ||
            json_array_append_new(offs, json_integer((json_int_t)end)) != 0)
            goto nomem;
        offset = end;
    }
    *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    if (!*text)
        goto nomem;
    json_decref(root);
    return FMT_OK;
nomem:
    rc = fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
fail:
    json_decref(root);
    return rc;
}

int safetensors_write(const struct safetensors_tensor *tensors, size_t count,
                      const struct safetensors_meta *meta, size_t meta_count,
                      safetensors_write_fn write, void *opaque, char *err, size_t err_size)
{
    if (count > CNNZ_MAX_TENSORS)
        return fmt_fail(err, err_size, FMT_E_INVALID, "%zu tensors: too many", count);
    if (meta_count > 0 && meta == NULL)
        return fmt_fail(err, err_size, FMT_E_INVALID, "metadata count without entries");
    const struct safetensors_tensor **order = malloc((count ? count : 1) * sizeof *order);
    if (!order)
        return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
    int rc = FMT_OK;
    char *text = NULL;
    for (size_t i = 0; i < count; i++) {
        const struct safetensors_tensor *t = &tensors[i];
        if (!t->name) {
            rc = fmt_fail(err, err_size, FMT_E_INVALID, "tensor %zu: no name", i);
            goto out;
        }
        rc = check_tensor(t, i, t->name_len ? t->name_len : strlen(t->name), err, err_size);
        if (rc != FMT_OK)
            goto out;
        order[i] = t;
    }
    qsort(order, count, sizeof *order, by_name_ptr);
    for (size_t i = 1; i < count; i++) {
        if (by_name_ptr(&order[i - 1], &order[i]) == 0) {
            char q[96];
            size_t nl = order[i]->name_len ? order[i]->name_len : strlen(order[i]->name);
            rc = fmt_fail(err, err_size, FMT_E_INVALID, "duplicate tensor name '%s'",
                          fmt_quote(q, sizeof q, order[i]->name, nl, 64));
            goto out;
        }
    }
    rc = build_header(order, count, meta, meta_count, &text, err, err_size);
    if (rc != FMT_OK)
        goto out;

    size_t tlen = strlen(text);
    size_t pad = (8 - tlen % 8) % 8;
    uint64_t n = (uint64_t)tlen + pad;
    if (n > SAFETENSORS_MAX_HEADER_BYTES) {
        rc = fmt_fail(err, err_size, FMT_E_INVALID,
                      "header of %llu bytes is above the format's limit", (unsigned long long)n);
        goto out;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)(n >> (8 * i));
    static const char spaces[] = "        ";
    if (write(opaque, len8, 8) != 0 || write(opaque, text, tlen) != 0 ||
        (pad && write(opaque, spaces, pad) != 0)) {
        rc = fmt_fail(err, err_size, FMT_E_IO, "write failed");
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        if (order[i]->data_bytes && write(opaque, order[i]->data, order[i]->data_bytes) != 0) {
            rc = fmt_fail(err, err_size, FMT_E_IO, "write failed");
            goto out;
        }
    }
out:
    free(text);
    free(order);
    return rc;
}
