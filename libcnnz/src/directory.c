/* Parsing the TDIR section (spec 5, layout rules 3.4 and 4). */
#include <xxhash.h>

#include "coder.h"
#include "repr.h"
#include "reader.h"

/* A bounded cursor over the tensor-entry area of the directory body. */
struct cur {
    const uint8_t *p, *end;
    uint64_t file_off; /* file offset of p, for error locations */
};

static const uint8_t *take(struct cur *c, size_t n)
{
    if ((size_t)(c->end - c->p) < n)
        return NULL;
    const uint8_t *q = c->p;
    c->p += n;
    c->file_off += n;
    return q;
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
        s->referenced = 0;
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

/* Streams of tensor t (spec 5.3.1 and the TDAT layout of spec 4). */
static int parse_streams(cnnz_reader *r, struct cur *c, uint32_t t, const struct cnnz__repr *rep,
                         struct cnnz_stream_info *si, struct cnnz__stream_params *sp,
                         struct cnnz_where *w)
{
    struct cnnz__tensor *tn = &r->tensors[t];
    const struct cnnz__section *sec = &r->sections[tn->section];
    uint64_t body = sec->offset + CNNZ__SECTION_HEADER_SIZE, p = body;
    uint64_t coded_total = 0;
    for (unsigned k = 0; k < tn->info.stream_count; k++) {
        int64_t at = (int64_t)c->file_off;
        const uint8_t *e = take(c, 6);
        if (!e)
            return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, (int32_t)k, at);
        uint16_t plen = cnnz__le16(e + 4);
        const uint8_t *params = take(c, plen);
        const uint8_t *f = params ? take(c, 32) : NULL;
        if (!f)
            return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, (int32_t)k, at);
        struct cnnz_stream_info *s = &si[k];
        s->role = e[0];
        s->coder = e[1];
        s->coder_version = e[2];
        s->offset = cnnz__le64(f);
        s->coded_bytes = cnnz__le64(f + 8);
        s->decoded_bytes = cnnz__le64(f + 16);
        s->coded_xxh64 = cnnz__le64(f + 24);
        s->coder_params_bytes = plen;
        sp[k].params = params;
        sp[k].len = plen;

        uint8_t role;
        uint64_t dlen, unit;
        if (rep->stream(&tn->info, k, &role, &dlen, &unit))
            return cnnz__fail(w, CNNZ_E_SHAPE, "directory", t, (int32_t)k, at);
        if (s->role != role || (unit ? s->decoded_bytes > dlen || s->decoded_bytes % unit
                                     : s->decoded_bytes != dlen))
            return cnnz__fail(w, CNNZ_E_STREAM, "directory", t, (int32_t)k, at);
        const struct cnnz__coder *cd = cnnz__coder_get(e[1]);
        if (!cd || e[2] > cd->version)
            return cnnz__fail(w, CNNZ_E_CODER, "directory", t, (int32_t)k, at + 1);
        if (!r->reserved_ok && e[3])
            return cnnz__fail(w, CNNZ_E_RESERVED, "directory", t, (int32_t)k, at + 3);
        if (cd->check(e[2], params, plen, s->coded_bytes, s->decoded_bytes))
            return cnnz__fail(w, CNNZ_E_CODER, "directory", t, (int32_t)k, at);
        uint64_t want, end;
        if (cnnz__align64(p, cd->align, &want) || s->offset != want ||
            cnnz__add64(want, s->coded_bytes, &end) || end > r->tdir_offset)
            return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, (int32_t)k, at + 6 + plen);
        if (s->decoded_bytes > r->lim.max_stream_bytes || s->coded_bytes > r->lim.max_stream_bytes ||
            s->decoded_bytes > SIZE_MAX || s->coded_bytes > SIZE_MAX)
            return cnnz__fail(w, CNNZ_E_LIMIT, "directory", t, (int32_t)k, at);
        p = end;
        coded_total += s->coded_bytes; /* cannot overflow: each ends inside the file */
    }
    if (p - body != sec->body_length)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, (int64_t)sec->offset);
    tn->info.coded_bytes = coded_total;
    return CNNZ_OK;
}

static int parse_tensor(cnnz_reader *r, struct cur *c, uint32_t t, size_t *dim_used,
                        size_t dim_cap, size_t *str_used, size_t str_cap, size_t *name_used,
                        struct cnnz_where *w)
{
    struct cnnz__tensor *tn = &r->tensors[t];
    struct cnnz_tensor_info *ti = &tn->info;
    int64_t at = (int64_t)c->file_off;
    const uint8_t *e = take(c, 2);
    if (!e)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, at);
    uint16_t nlen = cnnz__le16(e);
    if (nlen == 0)
        return cnnz__fail(w, CNNZ_E_NAME, "directory", t, -1, at);
    if (nlen > CNNZ_MAX_NAME_BYTES)
        return cnnz__fail(w, CNNZ_E_FORMAT_LIMIT, "directory", t, -1, at);
    if (nlen > r->lim.max_name_bytes)
        return cnnz__fail(w, CNNZ_E_LIMIT, "directory", t, -1, at);
    const uint8_t *name = take(c, nlen);
    if (!name)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, at);
    if (!cnnz__utf8_valid(name, nlen))
        return cnnz__fail(w, CNNZ_E_NAME, "directory", t, -1, at + 2);
    char *dst = r->names + *name_used;
    memcpy(dst, name, nlen);
    dst[nlen] = '\0';
    *name_used += (size_t)nlen + 1;
    ti->name = dst;
    ti->name_len = nlen;

    at = (int64_t)c->file_off;
    const uint8_t *h = take(c, 20);
    const int64_t at_h = at;
    if (!h)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, at);
    ti->dtype = h[0];
    ti->rank = h[1];
    ti->repr = h[2];
    ti->stream_count = h[3];
    tn->section = cnnz__le32(h + 4);
    ti->decoded_xxh64 = cnnz__le64(h + 12);
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
    if (tn->section >= r->nsections || r->sections[tn->section].tag != CNNZ__TAG_TDAT ||
        r->sections[tn->section].referenced)
        return cnnz__fail(w, CNNZ_E_SECTION, "directory", t, -1, at + 4);
    r->sections[tn->section].referenced = 1;
    r->sections[tn->section].tensor = t;
    if (!r->reserved_ok && cnnz__le32(h + 8))
        return cnnz__fail(w, CNNZ_E_RESERVED, "directory", t, -1, at + 8);

    at = (int64_t)c->file_off;
    const uint8_t *d = take(c, (size_t)8 * ti->rank);
    if (!d || dim_cap - *dim_used < ti->rank)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, at);
    uint64_t *dims = r->dims + *dim_used;
    *dim_used += ti->rank;
    uint64_t n;
    for (unsigned i = 0; i < ti->rank; i++)
        dims[i] = cnnz__le64(d + 8 * i);
    if (cnnz__dims_product(dims, ti->rank, &n))
        return cnnz__fail(w, CNNZ_E_SHAPE, "directory", t, -1, at);
    ti->dims = dims;
    ti->elements = n;
    if (cnnz__mul64(n, es, &ti->decoded_bytes) || ti->decoded_bytes > CNNZ_MAX_TENSOR_BYTES)
        return cnnz__fail(w, CNNZ_E_SHAPE, "directory", t, -1, at);
    if (ti->decoded_bytes > r->lim.max_tensor_bytes || ti->decoded_bytes > SIZE_MAX)
        return cnnz__fail(w, CNNZ_E_LIMIT, "directory", t, -1, at);

    at = (int64_t)c->file_off;
    const uint8_t *pl = take(c, 2);
    if (!pl)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, at);
    if (cnnz__le16(pl) != rep->params_len)
        return cnnz__fail(w, CNNZ_E_REPR, "directory", t, -1, at);
    const uint8_t *params = take(c, rep->params_len);
    if (!params)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, at);
    int err = rep->read(ti, params, r->reserved_ok);
    if (err)
        return cnnz__fail(w, err, "directory", t, -1, at + 2);
    if (ti->stream_count != rep->count(ti))
        return cnnz__fail(w, CNNZ_E_STREAM, "directory", t, -1, at_h + 3);

    if (str_cap - *str_used < ti->stream_count)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", t, -1, (int64_t)c->file_off);
    struct cnnz_stream_info *si = r->streams + *str_used;
    struct cnnz__stream_params *sp = r->sparams + *str_used;
    *str_used += ti->stream_count;
    ti->streams = si;
    return parse_streams(r, c, t, rep, si, sp, w);
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

    /* Upper bounds from the bytes available, so one allocation each suffices. */
    size_t dim_cap = (size_t)(area / 8), str_cap = (size_t)(area / CNNZ__STREAM_ENTRY_MIN);
    size_t name_cap = (size_t)area + ntensors;
    r->tensors = cnnz__malloc_array(&r->a, ntensors, sizeof *r->tensors);
    r->by_name = cnnz__malloc_array(&r->a, ntensors, sizeof *r->by_name);
    r->dims = cnnz__malloc_array(&r->a, dim_cap, sizeof *r->dims);
    r->streams = cnnz__malloc_array(&r->a, str_cap, sizeof *r->streams);
    r->sparams = cnnz__malloc_array(&r->a, str_cap, sizeof *r->sparams);
    r->names = cnnz__malloc(&r->a, name_cap);
    if (!r->tensors || !r->by_name || !r->dims || !r->streams || !r->sparams || !r->names)
        return cnnz__fail(w, CNNZ_E_NOMEM, "directory", -1, -1, -1);
    r->ntensors = ntensors;
    memset(r->tensors, 0, (size_t)ntensors * sizeof *r->tensors);

    struct cur c;
    c.p = b + CNNZ__TDIR_FIXED + (size_t)nsections * CNNZ__SECTION_ENTRY_SIZE;
    c.end = b + len - CNNZ__CHECKSUM_SIZE;
    c.file_off = (uint64_t)body + (uint64_t)(c.p - b);
    size_t dim_used = 0, str_used = 0, name_used = 0;
    for (uint32_t t = 0; t < ntensors; t++) {
        err = parse_tensor(r, &c, t, &dim_used, dim_cap, &str_used, str_cap, &name_used, w);
        if (err)
            return err;
    }
    if (c.p != c.end)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", -1, -1, (int64_t)c.file_off);
    for (uint32_t i = 0; i < nsections; i++)
        if (r->sections[i].tag == CNNZ__TAG_TDAT && !r->sections[i].referenced)
            return cnnz__fail(w, CNNZ_E_SECTION, "section table", -1, -1,
                              (int64_t)r->sections[i].offset);
    uint32_t dup = 0;
    err = cnnz__sort_names(&r->a, r->by_name, ntensors, tensor_key, r, &dup);
    if (err)
        return cnnz__fail(w, err, "directory", err == CNNZ_E_DUPLICATE ? (int64_t)dup : -1, -1, -1);
    return CNNZ_OK;
}
