/* Writing .cnnz files in one sequential pass (spec 3): header first, the
 * TDAT sections as tensors are added, then META, TDIR and trailer.
 *
 * Small tensors share a TDAT section (spec 4, 5.1): their coded bytes wait
 * in a group buffer until it is large enough, so that a model of hundreds of
 * biases and norms does not pay a section header, a table entry and a
 * checksum per tensor. A large tensor gets a section of its own, written at
 * once (after the pending group), so the writer never holds more than one
 * encoded tensor plus the group. */
#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t on the stack */
#include <xxhash.h>

#include "bitio.h"
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
    struct cnnz__buf group;    /* pending TDAT body: streams and padding */
    uint32_t group_count;      /* tensors in it; 0: no group pending */
    struct cnnz__buf prev_name; /* name of the last tensor (spec 5.3 name_shared) */
    uint64_t coded_total;      /* cnnz_writer_stats */
};

/* A tensor whose streams take fewer bytes joins the group; the group is
 * written once it holds this many. Decoding a tensor hashes its whole
 * section, so the group size bounds that extra work. The fuzzing build
 * (CNNZ_FUZZING) uses small sizes, so that a fuzzer's tensors of a few KiB
 * get sections of their own and flush groups (the file is as valid). */
#ifdef CNNZ_FUZZING
#define GROUP_TENSOR_MAX 1024u
#define GROUP_FLUSH 4096u
#else
#define GROUP_TENSOR_MAX (64u * 1024u)
#define GROUP_FLUSH (256u * 1024u)
#endif

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
    w->sections.a = w->tensors.a = w->meta.a = w->group.a = w->prev_name.a = &w->a;
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

/* Section table entry (spec 5.1) of a TDAT written at off. */
static int table_add(cnnz_writer *w, uint32_t tag, uint32_t flags, uint64_t off, uint64_t len)
{
    uint8_t se[CNNZ__SECTION_ENTRY_SIZE];
    cnnz__put64(se, off);
    cnnz__put64(se + 8, len);
    cnnz__put32(se + 16, tag);
    cnnz__put32(se + 20, flags);
    int err = cnnz__buf_append(&w->sections, se, sizeof se);
    if (!err)
        w->nsections++;
    return err;
}

/* Write the pending group as one TDAT section (spec 4). */
static int group_flush(cnnz_writer *w)
{
    if (!w->group_count)
        return CNNZ_OK;
    uint64_t off = w->pos, len = w->group.len + CNNZ__CHECKSUM_SIZE;
    int err = table_add(w, CNNZ__TAG_TDAT, CNNZ__SECTION_FLAG_CRITICAL, off, len);
    if (err)
        return fatal(w, err);
    uint8_t sh[CNNZ__SECTION_HEADER_SIZE], sum[8];
    cnnz__section_header_put(sh, CNNZ__TAG_TDAT, CNNZ__SECTION_FLAG_CRITICAL, len);
    cnnz__put64(sum, XXH64(w->group.len ? w->group.data : zeros, w->group.len, 0));
    err = sink_write(w, sh, sizeof sh);
    if (!err)
        err = sink_write(w, w->group.data, w->group.len);
    if (!err)
        err = sink_write(w, sum, sizeof sum);
    if (!err)
        err = pad_to(w, CNNZ__SECTION_ALIGN);
    w->group.len = 0;
    w->group_count = 0;
    return fatal(w, err);
}

/* The tensor entry of an encoded tensor (spec 5.3), appended to the
 * directory in memory. */
static int entry_put(cnnz_writer *w, const struct cnnz__enc_tensor *e,
                     const struct cnnz_tensor_desc *d, size_t nl, uint32_t section)
{
    const struct cnnz_tensor_info *ti = &e->ti;
    struct cnnz__buf *b = &w->tensors;
    size_t shared = 0;
    while (shared < nl && shared < w->prev_name.len &&
           w->prev_name.data[shared] == (uint8_t)d->name[shared])
        shared++;
    int err = cnnz__buf_varint(b, shared);
    if (!err)
        err = cnnz__buf_varint(b, nl - shared);
    if (!err)
        err = cnnz__buf_append(b, d->name + shared, nl - shared);
    uint8_t h[8] = {(uint8_t)ti->dtype, (uint8_t)ti->rank, e->rep->id, (uint8_t)e->n};
    if (!err)
        err = cnnz__buf_append(b, h, 4);
    if (!err)
        err = cnnz__buf_varint(b, section);
    cnnz__put64(h, e->decoded_xxh64);
    if (!err)
        err = cnnz__buf_append(b, h, 8);
    for (unsigned i = 0; i < ti->rank && !err; i++)
        err = cnnz__buf_varint(b, d->dims[i]);
    uint8_t params[CNNZ__MAX_REPR_PARAMS];
    e->rep->write(ti, params);
    if (!err)
        err = cnnz__buf_varint(b, e->rep->params_len);
    if (!err)
        err = cnnz__buf_append(b, params, e->rep->params_len);
    for (unsigned k = 0; k < e->n && !err; k++) { /* spec 5.3.1 */
        const struct cnnz__enc_stream *s = &e->s[k];
        uint8_t se[3] = {s->role, s->coder, s->version};
        err = cnnz__buf_append(b, se, 3);
        if (!err)
            err = cnnz__buf_varint(b, s->params.len);
        if (!err)
            err = cnnz__buf_append(b, s->params.data, s->params.len);
        if (!err)
            err = cnnz__buf_varint(b, s->coded_len);
        if (!err)
            err = cnnz__buf_varint(b, s->decoded_len);
    }
    return err;
}

/* Lay an encoded tensor out (spec 4): into the group when small, else in a
 * section of its own written now. */
static int emit(cnnz_writer *w, const struct cnnz__enc_tensor *e, const struct cnnz_tensor_desc *d,
                size_t nl)
{
    uint64_t bytes = 0;
    for (unsigned k = 0; k < e->n; k++)
        bytes += e->s[k].coded_len + e->s[k].align - 1u;
    const int small = bytes < GROUP_TENSOR_MAX;
    int err;
    if (w->group_count && (!small || w->group.len + bytes > GROUP_FLUSH) &&
        (err = group_flush(w)))
        return err;
    /* The section the tensor goes to is the next one in the table: no other
     * section is added while a group is pending. */
    const uint32_t section = w->nsections;
    const uint64_t start = w->pos; /* of its section header */
    const uint64_t body = start + CNNZ__SECTION_HEADER_SIZE;
    uint64_t p = body + (small ? w->group.len : 0);
    uint64_t soff[255];
    for (unsigned k = 0; k < e->n; k++)
        if (cnnz__align64(p, e->s[k].align, &soff[k]) || cnnz__add64(soff[k], e->s[k].coded_len, &p))
            return CNNZ_E_FORMAT_LIMIT;

    /* Memory first, so a failure here leaves the file and the writer as
     * they were: the caller may retry. */
    size_t mark_t = w->tensors.len, mark_g = w->group.len;
    err = entry_put(w, e, d, nl, section);
    if (!err && small) {
        uint64_t q = body + w->group.len;
        for (unsigned k = 0; k < e->n && !err; k++) {
            err = cnnz__buf_zeros(&w->group, (size_t)(soff[k] - q));
            if (!err)
                err = cnnz__buf_append(&w->group, e->s[k].coded, e->s[k].coded_len);
            q = soff[k] + e->s[k].coded_len;
        }
    }
    if (!err && nl > w->prev_name.len)
        err = cnnz__buf_reserve(&w->prev_name, nl - w->prev_name.len);
    if (!err) /* the last step that can fail */
        err = ns_insert(&w->a, &w->names, (const uint8_t *)d->name, nl);
    if (!err) {
        memcpy(w->prev_name.data, d->name, nl);
        w->prev_name.len = nl;
    }
    if (err) {
        w->tensors.len = mark_t;
        w->group.len = mark_g;
        return err;
    }
    w->ntensors++;
    w->coded_total += p - body - (small ? mark_g : 0);
    if (small) {
        w->group_count++;
        return w->group.len >= GROUP_FLUSH ? group_flush(w) : CNNZ_OK;
    }

    /* A section of its own: streams, padding, checksum (spec 4). */
    uint64_t len = p - body + CNNZ__CHECKSUM_SIZE;
    if ((err = table_add(w, CNNZ__TAG_TDAT, CNNZ__SECTION_FLAG_CRITICAL, start, len)))
        return fatal(w, err);
    uint8_t sh[CNNZ__SECTION_HEADER_SIZE], sum[8];
    cnnz__section_header_put(sh, CNNZ__TAG_TDAT, CNNZ__SECTION_FLAG_CRITICAL, len);
    XXH64_state_t st;
    XXH64_reset(&st, 0);
    err = sink_write(w, sh, sizeof sh);
    for (unsigned k = 0; k < e->n && !err; k++) {
        for (uint64_t gap = soff[k] - w->pos; gap && !err;) {
            size_t n = gap < sizeof zeros ? (size_t)gap : sizeof zeros;
            XXH64_update(&st, zeros, n);
            err = sink_write(w, zeros, n);
            gap -= n;
        }
        if (!err && e->s[k].coded_len) {
            XXH64_update(&st, e->s[k].coded, e->s[k].coded_len);
            err = sink_write(w, e->s[k].coded, e->s[k].coded_len);
        }
    }
    cnnz__put64(sum, XXH64_digest(&st));
    if (!err)
        err = sink_write(w, sum, sizeof sum);
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
    int err = group_flush(w);
    w->done = 1;
    if (err)
        return err;
    uint8_t head[CNNZ__TDIR_FIXED] = {0};
    if (w->nmeta) {
        uint64_t len = 8 + w->meta.len + CNNZ__CHECKSUM_SIZE;
        if ((err = table_add(w, CNNZ__TAG_META, 0, w->pos, len)))
            return err;
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

void cnnz_writer_stats(const cnnz_writer *w, struct cnnz_writer_stats *st)
{
    if (!st)
        return;
    memset(st, 0, sizeof *st);
    if (!w)
        return;
    st->tensors = w->ntensors;
    st->coded_bytes = w->coded_total;
    st->entry_bytes = w->tensors.len;
    st->written = w->pos;
}

void cnnz_writer_free(cnnz_writer *w)
{
    if (!w)
        return;
    struct cnnz__alloc a = w->a;
    cnnz__buf_free(&w->sections);
    cnnz__buf_free(&w->tensors);
    cnnz__buf_free(&w->meta);
    cnnz__buf_free(&w->group);
    cnnz__buf_free(&w->prev_name);
    ns_free(&a, &w->names);
    ns_free(&a, &w->keys);
    cnnz__free(&a, w);
}
