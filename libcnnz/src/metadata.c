/* Parsing the META section (spec 5.4). */
#include <math.h>
#include <xxhash.h>

#include "reader.h"

static const char *meta_key(const void *ctx, uint32_t i, size_t *len)
{
    const cnnz_reader *r = ctx;
    *len = strlen(r->meta[i].key); /* keys never contain NUL (spec 5.5) */
    return r->meta[i].key;
}

static int parse_body(cnnz_reader *r, const uint8_t *b, uint64_t len, uint64_t body_off,
                      struct cnnz_where *w)
{
#define FAIL(e, off) cnnz__fail(w, (e), "metadata", -1, -1, (int64_t)(body_off + (off)))
    if (len < 16)
        return FAIL(CNNZ_E_LAYOUT, 0);
    if (cnnz__sum_bad(XXH64(b, (size_t)len - 8, 0), cnnz__le64(b + len - 8)))
        return FAIL(CNNZ_E_CHECKSUM, len - 8);
    uint32_t n = cnnz__le32(b);
    if (!r->reserved_ok && cnnz__le32(b + 4))
        return FAIL(CNNZ_E_RESERVED, 4);
    if (n > CNNZ_MAX_META_ENTRIES)
        return FAIL(CNNZ_E_FORMAT_LIMIT, 0);
    if (n > r->lim.max_meta_entries)
        return FAIL(CNNZ_E_LIMIT, 0);
    uint64_t end = len - 8;
    if ((uint64_t)n * CNNZ__META_ENTRY_MIN > end - 8)
        return FAIL(CNNZ_E_LAYOUT, 0);
    r->meta = cnnz__malloc_array(&r->a, n, sizeof *r->meta);
    r->meta_by_key = cnnz__malloc_array(&r->a, n, sizeof *r->meta_by_key);
    r->meta_blob = cnnz__malloc(&r->a, (size_t)len + 2u * n);
    if (!r->meta || !r->meta_by_key || !r->meta_blob)
        return FAIL(CNNZ_E_NOMEM, 0);
    r->nmeta = n;
    uint8_t *out = r->meta_blob;
    uint64_t p = 8;
    for (uint32_t i = 0; i < n; i++) {
        struct cnnz_meta *m = &r->meta[i];
        uint64_t at = p;
        if (end - p < 2)
            return FAIL(CNNZ_E_LAYOUT, at);
        uint16_t klen = cnnz__le16(b + p);
        p += 2;
        if (klen == 0)
            return FAIL(CNNZ_E_NAME, at);
        if (klen > CNNZ_MAX_NAME_BYTES)
            return FAIL(CNNZ_E_FORMAT_LIMIT, at);
        if (klen > r->lim.max_name_bytes)
            return FAIL(CNNZ_E_LIMIT, at);
        if (end - p < (uint64_t)klen + 6)
            return FAIL(CNNZ_E_LAYOUT, at);
        if (!cnnz__utf8_valid(b + p, klen))
            return FAIL(CNNZ_E_NAME, p);
        memcpy(out, b + p, klen);
        out[klen] = 0;
        m->key = (const char *)out;
        out += klen + 1;
        p += klen;
        uint8_t type = b[p], resv = b[p + 1];
        uint32_t vlen = cnnz__le32(b + p + 2);
        if (!r->reserved_ok && resv)
            return FAIL(CNNZ_E_RESERVED, p + 1);
        p += 6;
        if (end - p < vlen)
            return FAIL(CNNZ_E_LAYOUT, p - 4);
        const uint8_t *v = b + p;
        memcpy(out, v, vlen);
        out[vlen] = 0;
        m->type = type;
        m->value = out;
        m->value_len = vlen;
        m->i = 0;
        m->f = 0;
        out += vlen + 1;
        switch (type) {
        case CNNZ_META_STRING:
            if (!cnnz__utf8_valid(v, vlen))
                return FAIL(CNNZ_E_METADATA, p);
            break;
        case CNNZ_META_INT:
            if (vlen != 8)
                return FAIL(CNNZ_E_METADATA, p - 4);
            m->i = (int64_t)cnnz__le64(v);
            break;
        case CNNZ_META_FLOAT:
            if (vlen != 8)
                return FAIL(CNNZ_E_METADATA, p - 4);
            m->f = cnnz__f64_from_bits(cnnz__le64(v));
            break;
        case CNNZ_META_BOOL:
            if (vlen != 1 || v[0] > 1)
                return FAIL(CNNZ_E_METADATA, p - 4);
            m->i = v[0];
            break;
        case CNNZ_META_BYTES:
            break;
        default:
            return FAIL(CNNZ_E_METADATA, p - 6);
        }
        p += vlen;
    }
    if (p != end)
        return FAIL(CNNZ_E_LAYOUT, p);
    uint32_t dup = 0;
    int err = cnnz__sort_names(&r->a, r->meta_by_key, n, meta_key, r, &dup);
    if (err)
        return cnnz__fail(w, err, "metadata", -1, -1, -1);
    return CNNZ_OK;
#undef FAIL
}

int cnnz__metadata_parse(cnnz_reader *r, struct cnnz_where *w)
{
    if (r->meta_section < 0)
        return CNNZ_OK;
    int err = cnnz__section_check(r, (uint32_t)r->meta_section, w, -1);
    if (err)
        return err;
    const struct cnnz__section *s = &r->sections[r->meta_section];
    uint64_t off = s->offset + CNNZ__SECTION_HEADER_SIZE;
    if (r->src.mem)
        return parse_body(r, r->src.mem + off, s->body_length, off, w);
    uint8_t *tmp = cnnz__malloc(&r->a, (size_t)s->body_length);
    if (!tmp)
        return cnnz__fail(w, CNNZ_E_NOMEM, "metadata", -1, -1, -1);
    err = cnnz__source_read(&r->src, off, tmp, (size_t)s->body_length);
    if (err)
        err = cnnz__fail(w, err, "metadata", -1, -1, (int64_t)off);
    else
        err = parse_body(r, tmp, s->body_length, off, w);
    cnnz__free(&r->a, tmp);
    return err;
}

size_t cnnz_reader_meta_count(const cnnz_reader *r)
{
    return r ? r->nmeta : 0;
}

int cnnz_reader_meta_get(const cnnz_reader *r, size_t index, struct cnnz_meta *meta)
{
    if (!r || !meta)
        return CNNZ_E_ARG;
    if (index >= r->nmeta)
        return CNNZ_E_NOTFOUND;
    *meta = r->meta[index];
    return CNNZ_OK;
}

int cnnz_reader_meta_find(const cnnz_reader *r, const char *key, struct cnnz_meta *meta)
{
    if (!r || !key || !meta)
        return CNNZ_E_ARG;
    size_t lo = 0, hi = r->nmeta;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->meta[r->meta_by_key[mid]].key, key);
        if (c == 0) {
            *meta = r->meta[r->meta_by_key[mid]];
            return CNNZ_OK;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return CNNZ_E_NOTFOUND;
}
