/* Parsing the TDIR section (spec 5, layout rules 3.4 and 4). */
#include <xxhash.h>

#include "bitio.h"
#include "coder.h"
#include "repr.h"
#include "reader.h"

/* A bounded cursor over the tensor-entry area of the directory body. Every
 * fault of a field that does not fit (or a varint that is not minimal, spec
 * 1.1) is CNNZ_E_LAYOUT, reported at the field's start. */
struct cur {
    const uint8_t *p, *end;
    uint64_t base; /* file offset of the body start */
    const uint8_t *body;
    int bad;
};

static int64_t here(const struct cur *c)
{
    return (int64_t)(c->base + (uint64_t)(c->p - c->body));
}

static const uint8_t *take(struct cur *c, uint64_t n)
{
    if (c->bad || (uint64_t)(c->end - c->p) < n) {
        c->bad = 1;
        return NULL;
    }
    const uint8_t *q = c->p;
    c->p += n;
    return q;
}

static uint64_t varint(struct cur *c)
{
    struct cnnz__byter br;
    if (c->bad)
        return 0;
    cnnz__byter_init(&br, c->p, (size_t)(c->end - c->p));
    uint64_t v = cnnz__byter_varint(&br);
    if (br.overrun) {
        c->bad = 1;
        return 0;
    }
    c->p = br.p;
    return v;
}

static const char *tensor_key(const void *ctx, uint32_t i, size_t *len)
{
    const cnnz_reader *r = ctx;
    *len = r->tensors[i].info.name_len;
    return r->tensors[i].info.name;
}

static int parse_sections(cnnz_reader *r, const uint8_t *table, uint32_t n, struct cnnz_where *w)
{
    uint64_t pos = CNNZ__HEADER_SIZE;
    uint64_t base = r->tdir_offset + CNNZ__SECTION_HEADER_SIZE + CNNZ__TDIR_FIXED;
    r->meta_section = -1;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = table + (size_t)i * CNNZ__SECTION_ENTRY_SIZE;
        int64_t at = (int64_t)(base + (uint64_t)i * CNNZ__SECTION_ENTRY_SIZE);
        struct cnnz__section *s = &r->sections[i];
        s->offset = cnnz__le64(e);
        s->body_length = cnnz__le64(e + 8);
        s->tag = cnnz__le32(e + 16);
        s->flags = cnnz__le32(e + 20);
        s->first = s->count = 0;
        s->data_end = 0;
        atomic_init(&s->checked, 0);
        uint64_t end;
        if (s->offset != pos || cnnz__add64(s->offset, CNNZ__SECTION_HEADER_SIZE, &end) ||
            cnnz__add64(end, s->body_length, &end) || cnnz__align64(end, 8, &pos) ||
            pos > r->tdir_offset)
            return cnnz__fail(w, CNNZ_E_LAYOUT, "section table", -1, -1, at);
        if (!r->reserved_ok && (s->flags & ~CNNZ__SECTION_FLAG_CRITICAL))
            return cnnz__fail(w, CNNZ_E_RESERVED, "section table", -1, -1, at + 20);
        int critical = s->flags & CNNZ__SECTION_FLAG_CRITICAL;
        if (s->tag == CNNZ__TAG_TDAT) {
            if (!critical)
                return cnnz__fail(w, CNNZ_E_SECTION, "section table", -1, -1, at + 20);
        } else if (s->tag == CNNZ__TAG_META) {
            if (critical || r->meta_section >= 0)
                return cnnz__fail(w, CNNZ_E_SECTION, "section table", -1, -1, at + 16);
            if (s->body_length > r->lim.max_metadata_bytes)
                return cnnz__fail(w, CNNZ_E_LIMIT, "metadata", -1, -1, (int64_t)s->offset);
            r->meta_section = (int32_t)i;
        } else if (s->tag == CNNZ__TAG_TDIR || critical) {
            return cnnz__fail(w, CNNZ_E_SECTION, "section table", -1, -1, at + 16);
        }
    }
    if (pos != r->tdir_offset)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "section table", -1, -1, (int64_t)r->tdir_offset);
    return CNNZ_OK;
}

/* Where the streams of the current TDAT section have reached (spec 4). */
struct run {
    int64_t sec;  /* section of the previous tensor, -1 before the first */
    uint64_t p;   /* end of the last stream laid out in it */
};

/* Where the run of the current section has reached, kept for the body
 * length check, which waits until every entry has passed the runs rule:
 * the layout of section 4 is defined by valid runs (spec 5.1). */
static void run_close(cnnz_reader *r, const struct run *run)
{
    if (run->sec >= 0)
        r->sections[run->sec].data_end = run->p;
}

/* Each TDAT body ends with its checksum right after its last stream. */
static int bodies_check(const cnnz_reader *r, struct cnnz_where *w)
{
    for (uint32_t i = 0; i < r->nsections; i++) {
        const struct cnnz__section *s = &r->sections[i];
        uint64_t body = s->offset + CNNZ__SECTION_HEADER_SIZE;
        if (s->tag == CNNZ__TAG_TDAT &&
            s->data_end - body + CNNZ__CHECKSUM_SIZE != s->body_length)
            return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", s->first, -1, (int64_t)s->offset);
    }
    return CNNZ_OK;
}

/* Tensor t names section index (spec 5.1 runs): the same TDAT as the tensor
 * before it, or the next TDAT in table order. */
static int run_enter(cnnz_reader *r, struct run *run, uint32_t t, uint64_t index, int64_t at,
                     struct cnnz_where *w)
{
    if (run->sec >= 0 && index == (uint64_t)run->sec) {
        r->sections[index].count++;
        return CNNZ_OK;
    }
    uint64_t next = (uint64_t)(run->sec + 1);
    while (next < r->nsections && r->sections[next].tag != CNNZ__TAG_TDAT)
        next++;
    if (index != next || next >= r->nsections)
        return cnnz__fail(w, CNNZ_E_SECTION, "directory", t, -1, at);
    run_close(r, run);
    run->sec = (int64_t)index;
    run->p = r->sections[index].offset + CNNZ__SECTION_HEADER_SIZE;
    r->sections[index].first = t;
    r->sections[index].count = 1;
    return CNNZ_OK;
}

/* Streams of tensor t (spec 5.3.1), laid out after the run so far (spec 4). */
static int parse_streams(cnnz_reader *r, struct cur *c, struct run *run, uint32_t t,
                         const struct cnnz__repr *rep, struct cnnz_stream_info *si,
                         struct cnnz__stream_params *sp, struct cnnz_where *w)
{
    struct cnnz__tensor *tn = &r->tensors[t];
    const struct cnnz__section *sec = &r->sections[tn->section];
    const uint64_t end_of_body = sec->offset + CNNZ__SECTION_HEADER_SIZE + sec->body_length;
    uint64_t coded_total = 0;
    for (unsigned k = 0; k < tn->info.stream_count; k++) {
        int64_t at = here(c);
        const uint8_t *e = take(c, 3);
        uint64_t plen = varint(c);
        const uint8_t *params = plen <= UINT16_MAX ? take(c, plen) : NULL;
        if (!params && !c->bad)
            return cnnz__fail(w, CNNZ_E_CODER, "directory", t, (int32_t)k, at);
        uint64_t clen = varint(c), dlen_file = varint(c);
        if (c->bad)
            return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, (int32_t)k, at);
        struct cnnz_stream_info *s = &si[k];
        s->role = e[0];
        s->coder = e[1];
        s->coder_version = e[2];
        s->coded_bytes = clen;
        s->decoded_bytes = dlen_file;
        s->coder_params_bytes = (unsigned)plen;
        sp[k].params = params;
        sp[k].len = (uint16_t)plen;

        uint8_t role;
        uint64_t dlen, unit;
        if (rep->stream(&tn->info, k, &role, &dlen, &unit))
            return cnnz__fail(w, CNNZ_E_SHAPE, "directory", t, (int32_t)k, at);
        if (s->role != role || (unit ? s->decoded_bytes > dlen || s->decoded_bytes % unit
                                     : s->decoded_bytes != dlen))
            return cnnz__fail(w, CNNZ_E_STREAM, "directory", t, (int32_t)k, at);
        if (!cnnz__expansion_ok(s->decoded_bytes, s->coded_bytes))
            return cnnz__fail(w, CNNZ_E_FORMAT_LIMIT, "directory", t, (int32_t)k, at);
        const struct cnnz__coder *cd = cnnz__coder_get(e[1]);
        if (!cd || e[2] > cd->version)
            return cnnz__fail(w, CNNZ_E_CODER, "directory", t, (int32_t)k, at + 1);
        if (cd->check(e[2], params, (size_t)plen, s->coded_bytes, s->decoded_bytes))
            return cnnz__fail(w, CNNZ_E_CODER, "directory", t, (int32_t)k, at);
        /* spec 4: offset implied; the stream and the checksum after it stay
         * inside the section body */
        uint64_t off, end;
        if (cnnz__align64(run->p, cnnz__stream_align(cd, s->coded_bytes), &off) ||
            cnnz__add64(off, s->coded_bytes, &end) || end > end_of_body ||
            end_of_body - end < CNNZ__CHECKSUM_SIZE)
            return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, (int32_t)k, at);
        if (s->decoded_bytes > r->lim.max_stream_bytes || s->coded_bytes > r->lim.max_stream_bytes ||
            s->decoded_bytes > SIZE_MAX || s->coded_bytes > SIZE_MAX)
            return cnnz__fail(w, CNNZ_E_LIMIT, "directory", t, (int32_t)k, at);
        s->offset = off;
        run->p = end;
        coded_total += s->coded_bytes; /* cannot overflow: each ends inside the file */
    }
    tn->info.coded_bytes = coded_total;
    return CNNZ_OK;
}

/* The arrays behind the tensor infos, grown as entries are parsed (their
 * sizes are known only then); the infos hold offsets into them until
 * fixup() turns those into pointers. */
struct arrays {
    struct cnnz__buf names, dims, streams, sparams;
    size_t *name_off, *dim_off, *str_off;
};

static int parse_tensor(cnnz_reader *r, struct cur *c, struct run *run, uint32_t t,
                        struct arrays *ar, struct cnnz_where *w)
{
    struct cnnz__tensor *tn = &r->tensors[t];
    struct cnnz_tensor_info *ti = &tn->info;
    const size_t prev_len = t ? r->tensors[t - 1].info.name_len : 0;
    int64_t at = here(c);
    uint64_t shared = varint(c), suffix = varint(c);
    if (c->bad)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, at);
    if (shared > prev_len)
        return cnnz__fail(w, CNNZ_E_NAME, "directory", t, -1, at);
    if (suffix > CNNZ_MAX_NAME_BYTES || shared + suffix > CNNZ_MAX_NAME_BYTES)
        return cnnz__fail(w, CNNZ_E_FORMAT_LIMIT, "directory", t, -1, at);
    size_t nlen = (size_t)(shared + suffix);
    if (nlen == 0)
        return cnnz__fail(w, CNNZ_E_NAME, "directory", t, -1, at);
    if (nlen > r->lim.max_name_bytes)
        return cnnz__fail(w, CNNZ_E_LIMIT, "directory", t, -1, at);
    const uint8_t *rest = take(c, suffix);
    if (!rest)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, at);
    /* Shared prefixes let a small directory expand to long names: they
     * count against the caller's directory limit too. */
    size_t off = ar->names.len;
    if (off + nlen + 1 > r->lim.max_directory_bytes)
        return cnnz__fail(w, CNNZ_E_LIMIT, "directory", t, -1, at);
    if (cnnz__buf_reserve(&ar->names, nlen + 1))
        return cnnz__fail(w, CNNZ_E_NOMEM, "directory", t, -1, -1);
    char *dst = (char *)ar->names.data + off;
    if (shared)
        memcpy(dst, ar->names.data + ar->name_off[t - 1], (size_t)shared);
    memcpy(dst + shared, rest, (size_t)suffix);
    dst[nlen] = '\0';
    if (!cnnz__utf8_valid((const uint8_t *)dst, nlen))
        return cnnz__fail(w, CNNZ_E_NAME, "directory", t, -1, at);
    ar->names.len += nlen + 1;
    ar->name_off[t] = off;
    ti->name_len = nlen;

    at = here(c);
    const uint8_t *h = take(c, 4);
    int64_t at_index = here(c);
    uint64_t index = varint(c);
    const uint8_t *sum = take(c, 8);
    if (c->bad)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, at);
    ti->dtype = h[0];
    ti->rank = h[1];
    ti->repr = h[2];
    ti->stream_count = h[3];
    ti->decoded_xxh64 = cnnz__le64(sum);
    size_t es = cnnz_dtype_size(ti->dtype);
    if (!es)
        return cnnz__fail(w, CNNZ_E_DTYPE, "directory", t, -1, at);
    if (ti->rank > CNNZ_MAX_RANK)
        return cnnz__fail(w, CNNZ_E_FORMAT_LIMIT, "directory", t, -1, at + 1);
    if (ti->rank > r->lim.max_rank)
        return cnnz__fail(w, CNNZ_E_LIMIT, "directory", t, -1, at + 1);
    const struct cnnz__repr *rep = cnnz__repr_get(h[2]);
    if (!rep)
        return cnnz__fail(w, CNNZ_E_REPR, "directory", t, -1, at + 2);
    int err = run_enter(r, run, t, index, at_index, w);
    if (err)
        return err;
    tn->section = (uint32_t)index;

    at = here(c);
    uint64_t dims[CNNZ_MAX_RANK];
    for (unsigned i = 0; i < ti->rank; i++)
        dims[i] = varint(c);
    if (c->bad)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, at);
    ar->dim_off[t] = ar->dims.len / sizeof *dims;
    if (cnnz__buf_append(&ar->dims, dims, ti->rank * sizeof *dims))
        return cnnz__fail(w, CNNZ_E_NOMEM, "directory", t, -1, -1);
    uint64_t n;
    if (cnnz__dims_product(dims, ti->rank, &n))
        return cnnz__fail(w, CNNZ_E_SHAPE, "directory", t, -1, at);
    ti->dims = dims; /* for rep->read and rep->stream below; fixup() repoints it */
    ti->elements = n;
    if (cnnz__mul64(n, es, &ti->decoded_bytes) || ti->decoded_bytes > CNNZ_MAX_TENSOR_BYTES)
        return cnnz__fail(w, CNNZ_E_SHAPE, "directory", t, -1, at);
    const int64_t at_dims = at; /* the caller's size limit: after the entry's format rules */

    at = here(c);
    uint64_t plen = varint(c);
    if (c->bad)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, at);
    if (plen != rep->params_len)
        return cnnz__fail(w, CNNZ_E_REPR, "directory", t, -1, at);
    int64_t at_params = here(c);
    const uint8_t *params = take(c, plen);
    if (!params)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, at);
    if ((err = rep->read(ti, params, r->reserved_ok)))
        return cnnz__fail(w, err, "directory", t, -1, at_params);
    if (ti->stream_count != rep->count(ti))
        return cnnz__fail(w, CNNZ_E_STREAM, "directory", t, -1, at_index - 1);

    struct cnnz_stream_info si[255];
    struct cnnz__stream_params sp[255];
    if ((err = parse_streams(r, c, run, t, rep, si, sp, w)))
        return err;
    /* A damaged file says so before "too big for this caller" (spec 8). */
    if (ti->decoded_bytes > r->lim.max_tensor_bytes || ti->decoded_bytes > SIZE_MAX)
        return cnnz__fail(w, CNNZ_E_LIMIT, "directory", t, -1, at_dims);
    ti->dims = NULL;
    ar->str_off[t] = ar->streams.len / sizeof *si;
    if (cnnz__buf_append(&ar->streams, si, ti->stream_count * sizeof *si) ||
        cnnz__buf_append(&ar->sparams, sp, ti->stream_count * sizeof *sp))
        return cnnz__fail(w, CNNZ_E_NOMEM, "directory", t, -1, -1);
    return CNNZ_OK;
}

int cnnz__directory_parse(cnnz_reader *r, struct cnnz_where *w)
{
    const uint8_t *b = r->tdir;
    uint64_t len = r->tdir_length;
    int64_t body = (int64_t)(r->tdir_offset + CNNZ__SECTION_HEADER_SIZE);
    if (len < CNNZ__TDIR_FIXED + CNNZ__CHECKSUM_SIZE)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", -1, -1, body);
    if (cnnz__sum_bad(XXH64(b, (size_t)len - 8, 0), cnnz__le64(b + len - 8)))
        return cnnz__fail(w, CNNZ_E_CHECKSUM, "directory", -1, -1, body + (int64_t)len - 8);
    uint32_t ntensors = cnnz__le32(b), nsections = cnnz__le32(b + 4);
    if (!r->reserved_ok && cnnz__le64(b + 8))
        return cnnz__fail(w, CNNZ_E_RESERVED, "directory", -1, -1, body + 8);
    if (ntensors > CNNZ_MAX_TENSORS)
        return cnnz__fail(w, CNNZ_E_FORMAT_LIMIT, "directory", -1, -1, body);
    if (ntensors > r->lim.max_tensors)
        return cnnz__fail(w, CNNZ_E_LIMIT, "directory", -1, -1, body);
    uint64_t area = len - CNNZ__TDIR_FIXED - CNNZ__CHECKSUM_SIZE;
    if ((uint64_t)nsections * CNNZ__SECTION_ENTRY_SIZE > area)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", -1, -1, body + 4);
    area -= (uint64_t)nsections * CNNZ__SECTION_ENTRY_SIZE;
    /* Each tensor entry takes at least TENSOR_ENTRY_MIN bytes: a lying count
     * is caught before anything is allocated for it. */
    if ((uint64_t)ntensors * CNNZ__TENSOR_ENTRY_MIN > area)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", -1, -1, body);

    r->nsections = nsections;
    r->sections = cnnz__malloc_array(&r->a, nsections, sizeof *r->sections);
    if (!r->sections)
        return cnnz__fail(w, CNNZ_E_NOMEM, "directory", -1, -1, -1);
    int err = parse_sections(r, b + CNNZ__TDIR_FIXED, nsections, w);
    if (err)
        return err;

    r->tensors = cnnz__malloc_array(&r->a, ntensors, sizeof *r->tensors);
    r->by_name = cnnz__malloc_array(&r->a, ntensors, sizeof *r->by_name);
    struct arrays ar;
    memset(&ar, 0, sizeof ar);
    ar.names.a = ar.dims.a = ar.streams.a = ar.sparams.a = &r->a;
    ar.name_off = cnnz__malloc_array(&r->a, ntensors, 3 * sizeof(size_t));
    if (!r->tensors || !r->by_name || (ntensors && !ar.name_off)) {
        cnnz__free(&r->a, ar.name_off);
        return cnnz__fail(w, CNNZ_E_NOMEM, "directory", -1, -1, -1);
    }
    ar.dim_off = ar.name_off + ntensors;
    ar.str_off = ar.dim_off + ntensors;
    r->ntensors = ntensors;
    memset(r->tensors, 0, (size_t)ntensors * sizeof *r->tensors);

    struct cur c;
    c.body = b;
    c.base = (uint64_t)body;
    c.p = b + CNNZ__TDIR_FIXED + (size_t)nsections * CNNZ__SECTION_ENTRY_SIZE;
    c.end = b + len - CNNZ__CHECKSUM_SIZE;
    c.bad = 0;
    struct run run = {-1, 0};
    for (uint32_t t = 0; t < ntensors && !err; t++)
        err = parse_tensor(r, &c, &run, t, &ar, w);
    if (!err && c.p != c.end)
        err = cnnz__fail(w, CNNZ_E_LAYOUT, "directory", -1, -1, here(&c));
    run_close(r, &run);
    /* spec 5.1: the last tensor names the last TDAT (none without tensors) */
    for (uint32_t i = run.sec < 0 ? 0 : (uint32_t)run.sec + 1; !err && i < nsections; i++)
        if (r->sections[i].tag == CNNZ__TAG_TDAT)
            err = cnnz__fail(w, CNNZ_E_SECTION, "section table", -1, -1,
                             (int64_t)r->sections[i].offset);
    if (!err)
        err = bodies_check(r, w);
    /* The arrays now keep their addresses: hand them to the reader. */
    r->names = (char *)ar.names.data;
    r->dims = (uint64_t *)(void *)ar.dims.data;
    r->streams = (struct cnnz_stream_info *)(void *)ar.streams.data;
    r->sparams = (struct cnnz__stream_params *)(void *)ar.sparams.data;
    for (uint32_t t = 0; !err && t < ntensors; t++) {
        struct cnnz_tensor_info *ti = &r->tensors[t].info;
        ti->name = r->names + ar.name_off[t];
        /* never NULL, so callers may copy rank * 8 bytes from it */
        static const uint64_t no_dims[1];
        ti->dims = ti->rank ? r->dims + ar.dim_off[t] : no_dims;
        ti->streams = ti->stream_count ? r->streams + ar.str_off[t] : NULL;
    }
    cnnz__free(&r->a, ar.name_off);
    if (err)
        return err;
    uint32_t dup = 0;
    err = cnnz__sort_names(&r->a, r->by_name, ntensors, tensor_key, r, &dup);
    if (err)
        return cnnz__fail(w, err, "directory", err == CNNZ_E_DUPLICATE ? (int64_t)dup : -1, -1, -1);
    return CNNZ_OK;
}
