/* Writing .cnnz files in one sequential pass (spec 3): header first, each
 * tensor's TDAT section as soon as it is added, then META, TDIR and trailer. */
#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t on the stack */
#include <xxhash.h>

#include "encode.h"
#include "format.h"

/* A set of byte strings (tensor names, metadata keys) for duplicate checks. */
struct nameset {
    struct cnnz__buf blob; /* the strings, back to back */
    struct slot {
        uint64_t hash;
        size_t off, len;
        int used;
    } *slots;
    size_t cap, count;
};

struct cnnz_writer {
    struct cnnz__alloc a;
    struct cnnz_sink sink;
    uint64_t pos;
    int done;                 /* finished or failed: only free is valid */
    struct cnnz__buf sections; /* section table entries (spec 5.1) */
    uint32_t nsections;
    struct cnnz__buf tensors;  /* tensor entries (spec 5.3) */
    uint32_t ntensors;
    struct cnnz__buf meta;     /* metadata entries (spec 5.4) */
    uint32_t nmeta;
    struct nameset names, keys;
    unsigned threads;
};

static const uint8_t zeros[64];

static int ns_contains(const struct nameset *s, const uint8_t *p, size_t n)
{
    if (!s->cap)
        return 0;
    uint64_t h = XXH64(p, n, 0);
    for (size_t j = (size_t)h & (s->cap - 1); s->slots[j].used; j = (j + 1) & (s->cap - 1))
        if (s->slots[j].hash == h && s->slots[j].len == n &&
            memcmp(s->blob.data + s->slots[j].off, p, n) == 0)
            return 1;
    return 0;
}

static int ns_insert(const struct cnnz__alloc *a, struct nameset *s, const uint8_t *p, size_t n)
{
    if (s->count * 2 >= s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct slot *ns = cnnz__malloc_array(a, cap, sizeof *ns);
        if (!ns)
            return CNNZ_E_NOMEM;
        memset(ns, 0, cap * sizeof *ns);
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i].used)
                continue;
            size_t j = (size_t)s->slots[i].hash & (cap - 1);
            while (ns[j].used)
                j = (j + 1) & (cap - 1);
            ns[j] = s->slots[i];
        }
        cnnz__free(a, s->slots);
        s->slots = ns;
        s->cap = cap;
    }
    uint64_t h = XXH64(p, n, 0);
    size_t j = (size_t)h & (s->cap - 1);
    for (; s->slots[j].used; j = (j + 1) & (s->cap - 1))
        if (s->slots[j].hash == h && s->slots[j].len == n &&
            memcmp(s->blob.data + s->slots[j].off, p, n) == 0)
            return CNNZ_E_DUPLICATE;
    size_t off = s->blob.len;
    int err = cnnz__buf_append(&s->blob, p, n);
    if (err)
        return err;
    s->slots[j] = (struct slot){h, off, n, 1};
    s->count++;
    return CNNZ_OK;
}

static void ns_free(const struct cnnz__alloc *a, struct nameset *s)
{
    cnnz__buf_free(&s->blob);
    cnnz__free(a, s->slots);
}

static int sink_write(cnnz_writer *w, const void *p, size_t n)
{
    if (n == 0)
        return CNNZ_OK;
    if (w->sink.write(w->sink.opaque, p, n) != 0)
        return CNNZ_E_IO;
    w->pos += n;
    return CNNZ_OK;
}

static int sink_zeros(cnnz_writer *w, uint64_t n)
{
    while (n) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        int err = sink_write(w, zeros, k);
        if (err)
            return err;
        n -= k;
    }
    return CNNZ_OK;
}

static int pad_to(cnnz_writer *w, uint64_t align)
{
    uint64_t to;
    if (cnnz__align64(w->pos, align, &to))
        return CNNZ_E_FORMAT_LIMIT;
    return sink_zeros(w, to - w->pos);
}

/* Once anything may have reached the sink, a failure ends the writer. */
static int fatal(cnnz_writer *w, int err)
{
    if (err)
        w->done = 1;
    return err;
}

int cnnz_writer_open(cnnz_writer **out, const struct cnnz_sink *sink,
                     const struct cnnz_writer_options *opts)
{
    if (!out || !sink || !sink->write)
        return CNNZ_E_ARG;
    *out = NULL;
    struct cnnz__alloc a;
    cnnz__alloc_init(&a, opts ? opts->allocator : NULL);
    cnnz_writer *w = cnnz__malloc(&a, sizeof *w);
    if (!w)
        return CNNZ_E_NOMEM;
    memset(w, 0, sizeof *w);
    w->a = a;
    w->sink = *sink;
    w->sections.a = w->tensors.a = w->meta.a = &w->a;
    w->threads = opts ? opts->threads : 0;
    w->names.blob.a = w->keys.blob.a = &w->a;

    uint8_t h[CNNZ__HEADER_SIZE] = {0};
    memcpy(h, cnnz__signature, 8);
    cnnz__put16(h + 8, CNNZ_FORMAT_MAJOR);
    cnnz__put16(h + 10, CNNZ_FORMAT_MINOR);
    cnnz__put64(h + 56, XXH64(h, 56, 0));
    int err = sink_write(w, h, sizeof h);
    if (err) {
        cnnz_writer_free(w);
        return err;
    }
    *out = w;
    return CNNZ_OK;
}

static int file_write(void *opaque, const void *buf, size_t n)
{
    return fwrite(buf, 1, n, (FILE *)opaque) == n ? 0 : -1;
}

int cnnz_writer_open_file(cnnz_writer **out, FILE *f, const struct cnnz_writer_options *opts)
{
    if (!f)
        return CNNZ_E_ARG;
    struct cnnz_sink s = {file_write, f};
    return cnnz_writer_open(out, &s, opts);
}

/* Directory entry and TDAT section of an encoded tensor (spec 4, 5.3). */
static int emit(cnnz_writer *w, const struct cnnz__enc_tensor *e, const struct cnnz_tensor_desc *d,
                size_t nl)
{
    const struct cnnz_tensor_info *ti = &e->ti;
    /* Directory entry first (memory only), so a failure leaves the file untouched. */
    uint64_t sec_off = w->pos, body = sec_off + CNNZ__SECTION_HEADER_SIZE, p = body;
    uint64_t soff[255];
    for (unsigned k = 0; k < e->n; k++) {
        if (cnnz__align64(p, e->s[k].align, &soff[k]) ||
            cnnz__add64(soff[k], e->s[k].coded_len, &p))
            return CNNZ_E_FORMAT_LIMIT;
    }
    uint64_t body_len = p - body;
    size_t mark_t = w->tensors.len, mark_s = w->sections.len;
    uint8_t b[24], se[CNNZ__SECTION_ENTRY_SIZE];
    cnnz__put16(b, (uint16_t)nl);
    int err = cnnz__buf_append(&w->tensors, b, 2);
    if (!err)
        err = cnnz__buf_append(&w->tensors, d->name, nl);
    memset(b, 0, sizeof b);
    b[0] = (uint8_t)ti->dtype;
    b[1] = (uint8_t)ti->rank;
    b[2] = e->rep->id;
    b[3] = (uint8_t)e->n;
    cnnz__put32(b + 4, w->nsections);
    cnnz__put64(b + 12, e->decoded_xxh64);
    if (!err)
        err = cnnz__buf_append(&w->tensors, b, 20);
    for (unsigned i = 0; i < ti->rank && !err; i++) {
        cnnz__put64(b, d->dims[i]);
        err = cnnz__buf_append(&w->tensors, b, 8);
    }
    uint8_t params[CNNZ__MAX_REPR_PARAMS + 2];
    cnnz__put16(params, e->rep->params_len);
    e->rep->write(ti, params + 2);
    if (!err)
        err = cnnz__buf_append(&w->tensors, params, 2u + e->rep->params_len);
    for (unsigned k = 0; k < e->n && !err; k++) {
        const struct cnnz__enc_stream *s = &e->s[k];
        b[0] = s->role;
        b[1] = s->coder;
        b[2] = s->version;
        b[3] = 0;
        cnnz__put16(b + 4, (uint16_t)s->params.len);
        err = cnnz__buf_append(&w->tensors, b, 6);
        if (!err)
            err = cnnz__buf_append(&w->tensors, s->params.data, s->params.len);
        cnnz__put64(b, soff[k]);
        cnnz__put64(b + 8, s->coded_len);
        cnnz__put64(b + 16, s->decoded_len);
        if (!err)
            err = cnnz__buf_append(&w->tensors, b, 24);
        cnnz__put64(b, XXH64(s->coded_len ? s->coded : (const uint8_t *)"", s->coded_len, 0));
        if (!err)
            err = cnnz__buf_append(&w->tensors, b, 8);
    }
    cnnz__put64(se, sec_off);
    cnnz__put64(se + 8, body_len);
    cnnz__put32(se + 16, CNNZ__TAG_TDAT);
    cnnz__put32(se + 20, CNNZ__SECTION_FLAG_CRITICAL);
    if (!err)
        err = cnnz__buf_append(&w->sections, se, sizeof se);
    if (!err)
        err = ns_insert(&w->a, &w->names, (const uint8_t *)d->name, nl);
    if (err) { /* nothing written: the caller may retry */
        w->tensors.len = mark_t;
        w->sections.len = mark_s;
        return err;
    }
    w->ntensors++;
    w->nsections++;

    /* The TDAT section (spec 4). */
    uint8_t sh[CNNZ__SECTION_HEADER_SIZE];
    cnnz__section_header_put(sh, CNNZ__TAG_TDAT, CNNZ__SECTION_FLAG_CRITICAL, body_len);
    err = sink_write(w, sh, sizeof sh);
    for (unsigned k = 0; k < e->n && !err; k++) {
        err = sink_zeros(w, soff[k] - w->pos);
        if (!err && e->s[k].coded_len)
            err = sink_write(w, e->s[k].coded, e->s[k].coded_len);
    }
    if (!err)
        err = pad_to(w, CNNZ__SECTION_ALIGN);
    return fatal(w, err);
}

/* Check desc and fill ti as a reader would see it. */
static int describe(const struct cnnz_tensor_desc *d, size_t *name_len, struct cnnz_tensor_info *ti)
{
    if (!d->name || (d->rank && !d->dims))
        return CNNZ_E_ARG;
    size_t nl = d->name_len ? d->name_len : strlen(d->name);
    if (nl == 0)
        return CNNZ_E_NAME;
    if (nl > CNNZ_MAX_NAME_BYTES)
        return CNNZ_E_FORMAT_LIMIT;
    if (!cnnz__utf8_valid((const uint8_t *)d->name, nl))
        return CNNZ_E_NAME;
    size_t es = cnnz_dtype_size(d->dtype);
    if (!es)
        return CNNZ_E_DTYPE;
    if (d->rank > CNNZ_MAX_RANK)
        return CNNZ_E_FORMAT_LIMIT;
    uint64_t n;
    if (cnnz__dims_product(d->dims, d->rank, &n))
        return CNNZ_E_SHAPE;
    memset(ti, 0, sizeof *ti);
    ti->name = d->name;
    ti->name_len = nl;
    ti->dtype = d->dtype;
    ti->rank = d->rank;
    ti->dims = d->dims;
    ti->elements = n;
    if (cnnz__mul64(n, es, &ti->decoded_bytes) || ti->decoded_bytes > CNNZ_MAX_TENSOR_BYTES)
        return CNNZ_E_SHAPE;
    const struct cnnz__repr *rep = d->repr < 0 ? NULL : cnnz__repr_get((unsigned)d->repr);
    if (!rep)
        return CNNZ_E_REPR;
    if (d->coder != CNNZ_CODER_AUTO && (d->coder < 0 || !cnnz__coder_get((unsigned)d->coder)))
        return CNNZ_E_CODER;
    ti->repr = d->repr;
    ti->symbol_dtype = d->symbol_dtype;
    ti->scale = d->scale;
    ti->offset = d->offset;
    ti->codebook_size = d->codebook_size;
    ti->block_rows = d->block_rows;
    if (d->repr == CNNZ_REPR_SHAM && !d->block_rows)
        ti->block_rows = UINT64_MAX; /* one block for the check; the encoder picks */
    if (d->repr == CNNZ_REPR_HAM || d->repr == CNNZ_REPR_SHAM) {
        if (!d->codebook)
            return CNNZ_E_ARG;
    }
    int err = rep->check(ti);
    if (err)
        return err;
    ti->block_rows = d->block_rows;
    *name_len = nl;
    return CNNZ_OK;
}

int cnnz_writer_add_tensor(cnnz_writer *w, const struct cnnz_tensor_desc *d, const void *data,
                           size_t size)
{
    if (!w || !d || (!data && size))
        return CNNZ_E_ARG;
    if (w->done)
        return CNNZ_E_STATE;
    if (w->ntensors >= CNNZ_MAX_TENSORS)
        return CNNZ_E_FORMAT_LIMIT;
    struct cnnz_tensor_info ti;
    size_t nl;
    int err = describe(d, &nl, &ti);
    if (err)
        return err;
    if (ns_contains(&w->names, (const uint8_t *)d->name, nl))
        return CNNZ_E_DUPLICATE;
    if (!data)
        data = zeros; /* size is 0 */
    if (ti.dtype == CNNZ_DT_BOOL && ti.repr == CNNZ_REPR_PLAIN) {
        const uint8_t *b = data;
        for (size_t i = 0; i < size; i++)
            if (b[i] > 1)
                return CNNZ_E_INPUT;
    }
    if (ti.dtype == CNNZ_DT_BOOL && d->codebook) {
        const uint8_t *b = d->codebook;
        for (size_t i = 0; i < d->codebook_size; i++)
            if (b[i] > 1)
                return CNNZ_E_INPUT;
    }
    struct cnnz__enc_tensor *e;
    if ((err = cnnz__encode_tensor(&w->a, &ti, d->coder, data, size, d->codebook, w->threads, &e)))
        return err;
    err = emit(w, e, d, nl);
    cnnz__enc_free(&w->a, e);
    return err;
}

static int meta_add(cnnz_writer *w, const char *key, int type, const void *v, size_t n)
{
    if (!w || !key || (!v && n))
        return CNNZ_E_ARG;
    if (w->done)
        return CNNZ_E_STATE;
    size_t kl = strlen(key);
    if (kl == 0 || !cnnz__utf8_valid((const uint8_t *)key, kl))
        return CNNZ_E_NAME;
    if (kl > CNNZ_MAX_NAME_BYTES || w->nmeta >= CNNZ_MAX_META_ENTRIES || n > UINT32_MAX)
        return CNNZ_E_FORMAT_LIMIT;
    if (type == CNNZ_META_STRING && !cnnz__utf8_valid(v, n))
        return CNNZ_E_METADATA;
    if (ns_contains(&w->keys, (const uint8_t *)key, kl))
        return CNNZ_E_DUPLICATE;
    int err;
    uint8_t h[6];
    size_t mark = w->meta.len;
    cnnz__put16(h, (uint16_t)kl);
    err = cnnz__buf_append(&w->meta, h, 2);
    if (!err)
        err = cnnz__buf_append(&w->meta, key, kl);
    h[0] = (uint8_t)type;
    h[1] = 0;
    cnnz__put32(h + 2, (uint32_t)n);
    if (!err)
        err = cnnz__buf_append(&w->meta, h, 6);
    if (!err)
        err = cnnz__buf_append(&w->meta, v, n);
    if (!err)
        err = ns_insert(&w->a, &w->keys, (const uint8_t *)key, kl);
    if (err) {
        w->meta.len = mark;
        return err;
    }
    w->nmeta++;
    return CNNZ_OK;
}

int cnnz_writer_meta_string(cnnz_writer *w, const char *key, const char *value)
{
    if (!value)
        return CNNZ_E_ARG;
    return meta_add(w, key, CNNZ_META_STRING, value, strlen(value));
}

int cnnz_writer_meta_int(cnnz_writer *w, const char *key, int64_t value)
{
    uint8_t b[8];
    cnnz__put64(b, (uint64_t)value);
    return meta_add(w, key, CNNZ_META_INT, b, 8);
}

int cnnz_writer_meta_float(cnnz_writer *w, const char *key, double value)
{
    uint8_t b[8];
    cnnz__put64(b, cnnz__f64_bits(value));
    return meta_add(w, key, CNNZ_META_FLOAT, b, 8);
}

int cnnz_writer_meta_bool(cnnz_writer *w, const char *key, int value)
{
    uint8_t b = value ? 1 : 0;
    return meta_add(w, key, CNNZ_META_BOOL, &b, 1);
}

int cnnz_writer_meta_bytes(cnnz_writer *w, const char *key, const void *value, size_t len)
{
    return meta_add(w, key, CNNZ_META_BYTES, value, len);
}

/* Write one section whose body is head + a + b + XXH64(head + a + b). */
static int write_section(cnnz_writer *w, uint32_t tag, uint32_t flags, const uint8_t *head,
                         size_t hl, const struct cnnz__buf *a, const struct cnnz__buf *b)
{
    uint64_t len = hl + a->len + (b ? b->len : 0) + CNNZ__CHECKSUM_SIZE;
    uint8_t sh[CNNZ__SECTION_HEADER_SIZE], sum[8];
    XXH64_state_t st;
    XXH64_reset(&st, 0);
    XXH64_update(&st, head, hl);
    XXH64_update(&st, a->data, a->len);
    if (b)
        XXH64_update(&st, b->data, b->len);
    cnnz__put64(sum, XXH64_digest(&st));
    cnnz__section_header_put(sh, tag, flags, len);
    int err = sink_write(w, sh, sizeof sh);
    if (!err)
        err = sink_write(w, head, hl);
    if (!err)
        err = sink_write(w, a->data, a->len);
    if (!err && b)
        err = sink_write(w, b->data, b->len);
    if (!err)
        err = sink_write(w, sum, 8);
    if (!err)
        err = pad_to(w, CNNZ__SECTION_ALIGN);
    return err;
}

int cnnz_writer_finish(cnnz_writer *w)
{
    if (!w)
        return CNNZ_E_ARG;
    if (w->done)
        return CNNZ_E_STATE;
    w->done = 1;
    int err = CNNZ_OK;
    uint8_t head[CNNZ__TDIR_FIXED] = {0};
    if (w->nmeta) {
        uint8_t se[CNNZ__SECTION_ENTRY_SIZE];
        uint64_t len = 8 + w->meta.len + CNNZ__CHECKSUM_SIZE;
        cnnz__put64(se, w->pos);
        cnnz__put64(se + 8, len);
        cnnz__put32(se + 16, CNNZ__TAG_META);
        cnnz__put32(se + 20, 0);
        if ((err = cnnz__buf_append(&w->sections, se, sizeof se)))
            return err;
        w->nsections++;
        cnnz__put32(head, w->nmeta);
        if ((err = write_section(w, CNNZ__TAG_META, 0, head, 8, &w->meta, NULL)))
            return err;
    }
    uint64_t tdir = w->pos;
    cnnz__put32(head, w->ntensors);
    cnnz__put32(head + 4, w->nsections);
    cnnz__put64(head + 8, 0);
    if ((err = write_section(w, CNNZ__TAG_TDIR, CNNZ__SECTION_FLAG_CRITICAL, head, sizeof head,
                             &w->sections, &w->tensors)))
        return err;
    uint8_t t[CNNZ__TRAILER_SIZE] = {0};
    cnnz__put64(t, tdir);
    cnnz__put64(t + 16, XXH64(t, 16, 0));
    memcpy(t + 24, cnnz__end_signature, 8);
    return sink_write(w, t, sizeof t);
}

void cnnz_writer_free(cnnz_writer *w)
{
    if (!w)
        return;
    struct cnnz__alloc a = w->a;
    cnnz__buf_free(&w->sections);
    cnnz__buf_free(&w->tensors);
    cnnz__buf_free(&w->meta);
    ns_free(&a, &w->names);
    ns_free(&a, &w->keys);
    cnnz__free(&a, w);
}
