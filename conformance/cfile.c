/* cfile.c - a model of a .cnnz file, from spec/cnnz-format.md sections 1.1
 * and 3-5 alone: parse a valid image, change fields, serialize it with the
 * spec's layout (section offsets, implied stream offsets, padding, body
 * lengths, checksums), so that a vector breaks exactly the rule it means to.
 * Fields the spec derives (name_shared unless set, suffix_length,
 * coded_length, stream offsets, body_length, every checksum) are computed
 * on serialize; a vector that needs a wrong one writes it as a patch
 * (cf_patch), or changes the serialized bytes and calls cf_resum. */
#include <stdlib.h>
#include <string.h>

#include "cf.h"

static const uint8_t signature[8] = {0x89, 'C', 'N', 'Z', 0x0D, 0x0A, 0x1A, 0x0A};
static const uint8_t end_signature[8] = {'C', 'N', 'Z', 'E', 'N', 'D', 0x0D, 0x0A};

void cf_init(struct cf_file *f)
{
    memset(f, 0, sizeof *f);
    memcpy(f->header, signature, 8);
    cf_put16(f->header + 8, 1);
    f->tdir_flags = 1;
}

static void stream_free(struct cf_stream *s)
{
    cf_buf_free(&s->params);
    cf_buf_free(&s->data);
}

static void tensor_free(struct cf_tensor *t)
{
    cf_buf_free(&t->name);
    cf_buf_free(&t->rp);
    for (unsigned k = 0; k < t->ns; k++)
        stream_free(&t->s[k]);
    free(t->s);
    t->s = NULL;
    t->ns = 0;
}

void cf_free(struct cf_file *f)
{
    for (size_t i = 0; i < f->nsec; i++)
        cf_buf_free(&f->sec[i].body);
    for (size_t j = 0; j < f->nt; j++)
        tensor_free(&f->t[j]);
    free(f->sec);
    free(f->t);
    memset(f, 0, sizeof *f);
}

static void buf_copy(struct cf_buf *dst, const struct cf_buf *src)
{
    memset(dst, 0, sizeof *dst);
    cf_buf_put(dst, src->p, src->n);
}

void cf_copy(struct cf_file *dst, const struct cf_file *src)
{
    *dst = *src;
    dst->sec = cf_alloc(src->nsec * sizeof *dst->sec);
    dst->t = cf_alloc(src->nt * sizeof *dst->t);
    for (size_t i = 0; i < src->nsec; i++) {
        dst->sec[i] = src->sec[i];
        buf_copy(&dst->sec[i].body, &src->sec[i].body);
    }
    for (size_t j = 0; j < src->nt; j++) {
        const struct cf_tensor *a = &src->t[j];
        struct cf_tensor *b = &dst->t[j];
        *b = *a;
        buf_copy(&b->name, &a->name);
        buf_copy(&b->rp, &a->rp);
        b->s = cf_alloc(a->ns * sizeof *b->s);
        for (unsigned k = 0; k < a->ns; k++) {
            b->s[k] = a->s[k];
            buf_copy(&b->s[k].params, &a->s[k].params);
            buf_copy(&b->s[k].data, &a->s[k].data);
        }
    }
}

/* ------------------------------------------------------------ parse */

struct rd {
    const uint8_t *p;
    size_t at, end;
};

static uint64_t rd_varint(struct rd *r)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (r->at >= r->end)
            cf_die("parse: varint past the directory");
        uint8_t c = r->p[r->at++];
        v |= (uint64_t)(c & 0x7F) << (7 * i);
        if (!(c & 0x80))
            return v;
    }
    cf_die("parse: varint over 10 bytes");
}

static const uint8_t *rd_bytes(struct rd *r, uint64_t n)
{
    if (n > r->end - r->at)
        cf_die("parse: field past the directory");
    const uint8_t *q = r->p + r->at;
    r->at += (size_t)n;
    return q;
}

static size_t common_prefix(const struct cf_buf *a, const struct cf_buf *b)
{
    size_t k = 0;
    while (k < a->n && k < b->n && a->p[k] == b->p[k])
        k++;
    return k;
}

/* spec 4: the alignment of a stream */
static uint64_t stream_align(const struct cf_stream *s)
{
    if (s->align)
        return s->align;
    if (s->coder != 0)
        return 1;
    return s->data.n >= 1024 ? 64 : 8;
}

static int is_tag(const char tag[4], const char *want)
{
    return memcmp(tag, want, 4) == 0;
}

void cf_parse(struct cf_file *f, const uint8_t *img, size_t n)
{
    cf_init(f);
    if (n < 136 || memcmp(img, signature, 8) || memcmp(img + n - 8, end_signature, 8))
        cf_die("parse: not a .cnnz image");
    memcpy(f->header, img, 64);
    f->trailer_offset = n - 32;
    f->tdir_offset = cf_get64(img + n - 32);
    f->trailer_reserved = cf_get64(img + n - 24);
    if (f->tdir_offset > n - 32 - 16)
        cf_die("parse: tdir_offset");
    const uint8_t *th = img + f->tdir_offset;
    if (memcmp(th, "TDIR", 4))
        cf_die("parse: no TDIR");
    f->tdir_flags = cf_get32(th + 4);
    f->tdir_body_len = cf_get64(th + 8);
    if (f->tdir_body_len < 24 || f->tdir_body_len > n - 32 - 16 - f->tdir_offset)
        cf_die("parse: TDIR body_length");
    const uint8_t *body = th + 16;
    size_t blen = (size_t)f->tdir_body_len;
    if (cf_xxh64(body, blen - 8) != cf_get64(body + blen - 8))
        cf_die("parse: tdir_xxh64");
    uint32_t nt = cf_get32(body), nsec = cf_get32(body + 4);
    f->tdir_reserved = cf_get64(body + 8);
    if ((uint64_t)nsec * 24 > blen - 24)
        cf_die("parse: section table");
    f->nsec = nsec;
    f->sec = cf_alloc(nsec * sizeof *f->sec);
    for (uint32_t i = 0; i < nsec; i++) {
        const uint8_t *e = body + 16 + 24 * i;
        struct cf_section *s = &f->sec[i];
        s->offset = cf_get64(e);
        s->body_len = cf_get64(e + 8);
        memcpy(s->tag, e + 16, 4);
        s->table_flags = cf_get32(e + 20);
        if (s->offset > n || s->body_len > n - s->offset)
            cf_die("parse: section %u out of the file", (unsigned)i);
        s->flags = cf_get32(img + s->offset + 4);
    }
    struct rd r = {img, (size_t)(f->tdir_offset + 16 + 16 + 24 * (uint64_t)nsec),
                   (size_t)(f->tdir_offset + 16 + blen - 8)};
    f->entries_at = r.at;
    f->nt = nt;
    f->t = cf_alloc((size_t)nt * sizeof *f->t);
    for (uint32_t j = 0; j < nt; j++) {
        struct cf_tensor *t = &f->t[j];
        uint64_t shared = rd_varint(&r), sl = rd_varint(&r);
        const struct cf_buf *prev = j ? &f->t[j - 1].name : NULL;
        if (shared > (prev ? prev->n : 0))
            cf_die("parse: name_shared");
        if (prev)
            cf_buf_put(&t->name, prev->p, (size_t)shared);
        cf_buf_put(&t->name, rd_bytes(&r, sl), (size_t)sl);
        t->shared = prev && shared == common_prefix(prev, &t->name) ? -1 : (long)shared;
        if (!prev)
            t->shared = -1;
        const uint8_t *fx = rd_bytes(&r, 4);
        t->dtype = fx[0];
        t->rank = fx[1];
        t->repr = fx[2];
        t->ns = fx[3];
        t->section = rd_varint(&r);
        t->xxh = cf_get64(rd_bytes(&r, 8));
        for (unsigned k = 0; k < t->rank; k++)
            t->dims[k] = rd_varint(&r);
        uint64_t rpl = rd_varint(&r);
        cf_buf_put(&t->rp, rd_bytes(&r, rpl), (size_t)rpl);
        t->s = cf_alloc(t->ns * sizeof *t->s);
        for (unsigned k = 0; k < t->ns; k++) {
            struct cf_stream *s = &t->s[k];
            const uint8_t *h = rd_bytes(&r, 3);
            s->role = h[0];
            s->coder = h[1];
            s->version = h[2];
            uint64_t cpl = rd_varint(&r);
            cf_buf_put(&s->params, rd_bytes(&r, cpl), (size_t)cpl);
            s->offset = rd_varint(&r); /* coded_length until the streams are placed */
            s->decoded_len = rd_varint(&r);
        }
    }
    if (r.at != r.end)
        cf_die("parse: tensor entries do not fill the directory");
    f->entries_end = r.at;
    /* the runs' streams at their implied offsets (spec 4), other bodies as is */
    for (size_t i = 0; i < f->nsec; i++) {
        struct cf_section *sec = &f->sec[i];
        uint64_t start = sec->offset + 16, p = start;
        int named = 0;
        for (size_t j = 0; j < f->nt; j++) {
            if (f->t[j].section != i)
                continue;
            named = 1;
            for (unsigned k = 0; k < f->t[j].ns; k++) {
                struct cf_stream *s = &f->t[j].s[k];
                uint64_t len = s->offset; /* coded_length, kept there by the entry loop */
                uint64_t a = s->coder ? 1 : len >= 1024 ? 64 : 8;
                uint64_t at = cf_align(p, a);
                if (at + len > start + sec->body_len)
                    cf_die("parse: stream past its section");
                cf_buf_put(&s->data, img + at, (size_t)len);
                s->offset = at;
                p = at + len;
            }
        }
        if (named && is_tag(sec->tag, "TDAT")) {
            if (p + 8 != start + sec->body_len)
                cf_die("parse: TDAT %zu body_length is not the rule's", i);
        } else {
            cf_buf_put(&sec->body, img + start, (size_t)sec->body_len);
        }
    }
}

/* ------------------------------------------------------------ serialize */

/* Writes the fields of tensor entries, honouring the file's patches. */
struct ew {
    struct cf_file *f;
    struct cf_buf *b;
    size_t tensor;
    int cut;
};

static void ew_put(struct ew *e, int field, unsigned k, const void *p, size_t n)
{
    if (e->cut)
        return;
    for (size_t i = 0; i < e->f->npatch; i++) {
        const struct cf_patch *q = &e->f->patch[i];
        if (q->field == field && q->tensor == e->tensor && q->k == k) {
            cf_buf_put(e->b, q->bytes, q->n);
            e->cut = q->cut;
            return;
        }
    }
    cf_buf_put(e->b, p, n);
}

static void ew_varint(struct ew *e, int field, unsigned k, uint64_t v)
{
    uint8_t c[10];
    ew_put(e, field, k, c, cf_varint(c, v));
}

static void ew_u8(struct ew *e, int field, unsigned k, unsigned v)
{
    uint8_t c = (uint8_t)v;
    ew_put(e, field, k, &c, 1);
}

static void write_entry(struct ew *e, const struct cf_tensor *t, const struct cf_tensor *prev)
{
    size_t shared = 0;
    if (t->shared >= 0)
        shared = (size_t)t->shared;
    else if (prev)
        shared = common_prefix(&prev->name, &t->name);
    if (shared > t->name.n)
        cf_die("serialize: name_shared %zu over the name's %zu bytes", shared, t->name.n);
    ew_varint(e, CF_NAME_SHARED, 0, shared);
    ew_varint(e, CF_SUFFIX_LENGTH, 0, t->name.n - shared);
    ew_put(e, CF_SUFFIX, 0, t->name.p + shared, t->name.n - shared);
    ew_u8(e, CF_DTYPE, 0, t->dtype);
    ew_u8(e, CF_RANK, 0, t->rank);
    ew_u8(e, CF_REPR, 0, t->repr);
    ew_u8(e, CF_STREAM_COUNT, 0, t->ns);
    ew_varint(e, CF_SECTION_INDEX, 0, t->section);
    uint8_t x[8];
    cf_put64(x, t->xxh);
    ew_put(e, CF_XXH, 0, x, 8);
    for (unsigned k = 0; k < t->rank; k++)
        ew_varint(e, CF_DIM, k, t->dims[k]);
    ew_varint(e, CF_RP_LENGTH, 0, t->rp.n);
    ew_put(e, CF_RP, 0, t->rp.p, t->rp.n);
    for (unsigned k = 0; k < t->ns; k++) {
        const struct cf_stream *s = &t->s[k];
        ew_u8(e, CF_ROLE, k, s->role);
        ew_u8(e, CF_CODER, k, s->coder);
        ew_u8(e, CF_VERSION, k, s->version);
        ew_varint(e, CF_CP_LENGTH, k, s->params.n);
        ew_put(e, CF_CP, k, s->params.p, s->params.n);
        ew_varint(e, CF_CODED_LENGTH, k, s->data.n);
        ew_varint(e, CF_DECODED_LENGTH, k, s->decoded_len);
    }
}

static void section_header(struct cf_buf *out, const char tag[4], uint32_t flags, uint64_t len)
{
    cf_buf_put(out, tag, 4);
    cf_buf_u32(out, flags);
    cf_buf_u64(out, len);
}

void cf_serialize(struct cf_file *f, struct cf_buf *out)
{
    out->n = 0;
    cf_put64(f->header + 56, cf_xxh64(f->header, 56));
    cf_buf_put(out, f->header, 64);
    for (size_t i = 0; i < f->nsec; i++) {
        struct cf_section *sec = &f->sec[i];
        cf_buf_pad(out, 8);
        sec->offset = out->n;
        int laid = 0;
        if (is_tag(sec->tag, "TDAT"))
            for (size_t j = 0; j < f->nt && !laid; j++)
                laid = f->t[j].section == i;
        if (!laid) {
            const uint8_t empty[8] = {0x99, 0xE9, 0xD8, 0x51, 0x37, 0xDB, 0x46, 0xEF};
            int empty_run = is_tag(sec->tag, "TDAT") && sec->body.n == 0;
            sec->body_len = empty_run ? 8 : sec->body.n;
            section_header(out, sec->tag, sec->flags, sec->body_len);
            if (empty_run)
                cf_buf_put(out, empty, 8); /* XXH64 of nothing, spec 1.1 */
            else
                cf_buf_put(out, sec->body.p, sec->body.n);
            continue;
        }
        section_header(out, sec->tag, sec->flags, 0); /* body_length below */
        size_t start = out->n;
        for (size_t j = 0; j < f->nt; j++) {
            if (f->t[j].section != i)
                continue;
            for (unsigned k = 0; k < f->t[j].ns; k++) {
                struct cf_stream *s = &f->t[j].s[k];
                cf_buf_pad(out, (size_t)stream_align(s));
                s->offset = out->n;
                cf_buf_put(out, s->data.p, s->data.n);
            }
        }
        cf_buf_zeros(out, sec->gap);
        uint64_t x = cf_xxh64(out->p + start, out->n - start);
        cf_buf_u64(out, sec->bad_xxh ? x ^ 1 : x);
        sec->body_len = out->n - start;
        cf_put64(out->p + start - 8, sec->body_len);
    }
    /* TDIR (spec 5) */
    cf_buf_pad(out, 8);
    f->tdir_offset = out->n;
    section_header(out, "TDIR", f->tdir_flags, 0);
    size_t start = out->n;
    cf_buf_u32(out, (uint32_t)f->nt);
    cf_buf_u32(out, (uint32_t)f->nsec);
    cf_buf_u64(out, f->tdir_reserved);
    for (size_t i = 0; i < f->nsec; i++) {
        cf_buf_u64(out, f->sec[i].offset);
        cf_buf_u64(out, f->sec[i].body_len);
        cf_buf_put(out, f->sec[i].tag, 4);
        cf_buf_u32(out, f->sec[i].table_flags);
    }
    f->entries_at = out->n;
    struct ew e = {f, out, 0, 0};
    for (size_t j = 0; j < f->nt && !e.cut; j++) {
        e.tensor = j;
        write_entry(&e, &f->t[j], j ? &f->t[j - 1] : NULL);
    }
    f->entries_end = out->n;
    cf_buf_u64(out, cf_xxh64(out->p + start, out->n - start));
    f->tdir_body_len = out->n - start;
    cf_put64(out->p + start - 8, f->tdir_body_len);
    /* trailer (spec 3.3) */
    cf_buf_pad(out, 8);
    f->trailer_offset = out->n;
    cf_buf_u64(out, f->tdir_offset);
    cf_buf_u64(out, f->trailer_reserved);
    cf_buf_u64(out, cf_xxh64(out->p + f->trailer_offset, 16));
    cf_buf_put(out, end_signature, 8);
}

static void resum_body(uint8_t *img, size_t n, uint64_t body, uint64_t len)
{
    if (len < 8 || body > n || len > n - body)
        return;
    cf_put64(img + body + len - 8, cf_xxh64(img + body, (size_t)len - 8));
}

void cf_resum(const struct cf_file *f, uint8_t *img, size_t n, unsigned which)
{
    for (size_t i = 0; i < f->nsec; i++) {
        const struct cf_section *s = &f->sec[i];
        if (((which & CF_SUM_TDAT) && is_tag(s->tag, "TDAT")) ||
            ((which & CF_SUM_META) && is_tag(s->tag, "META")))
            resum_body(img, n, s->offset + 16, s->body_len);
    }
    if (which & CF_SUM_TDIR)
        resum_body(img, n, f->tdir_offset + 16, f->tdir_body_len);
    if (which & CF_SUM_HEADER)
        cf_put64(img + 56, cf_xxh64(img, 56));
    if ((which & CF_SUM_TRAILER) && f->trailer_offset + 32 <= n)
        cf_put64(img + f->trailer_offset + 16, cf_xxh64(img + f->trailer_offset, 16));
}

/* ------------------------------------------------------------ edits */

void cf_set_minor(struct cf_file *f, unsigned minor)
{
    cf_put16(f->header + 10, minor);
}

void cf_insert_section(struct cf_file *f, size_t at, const char tag[4], uint32_t flags,
                       const void *body, size_t n)
{
    if (at > f->nsec)
        cf_die("insert_section: %zu of %zu", at, f->nsec);
    f->sec = cf_realloc(f->sec, (f->nsec + 1) * sizeof *f->sec);
    memmove(&f->sec[at + 1], &f->sec[at], (f->nsec - at) * sizeof *f->sec);
    f->nsec++;
    struct cf_section *s = &f->sec[at];
    memset(s, 0, sizeof *s);
    memcpy(s->tag, tag, 4);
    s->flags = s->table_flags = flags;
    cf_buf_put(&s->body, body, n);
    for (size_t j = 0; j < f->nt; j++)
        if (f->t[j].section >= at)
            f->t[j].section++;
}

void cf_remove_section(struct cf_file *f, size_t at)
{
    if (at >= f->nsec)
        cf_die("remove_section: %zu of %zu", at, f->nsec);
    cf_buf_free(&f->sec[at].body);
    memmove(&f->sec[at], &f->sec[at + 1], (f->nsec - at - 1) * sizeof *f->sec);
    f->nsec--;
    for (size_t j = 0; j < f->nt; j++)
        if (f->t[j].section > at)
            f->t[j].section--;
}

long cf_find_section(const struct cf_file *f, const char tag[4])
{
    for (size_t i = 0; i < f->nsec; i++)
        if (is_tag(f->sec[i].tag, tag))
            return (long)i;
    return -1;
}

void cf_split_run(struct cf_file *f, size_t t)
{
    uint64_t s = f->t[t].section;
    cf_insert_section(f, (size_t)s + 1, "TDAT", 1, NULL, 0);
    for (size_t j = t; j < f->nt && f->t[j].section == s; j++)
        f->t[j].section = s + 1;
}

void cf_merge_runs(struct cf_file *f)
{
    long first = cf_find_section(f, "TDAT");
    if (first < 0)
        return;
    for (size_t j = 0; j < f->nt; j++)
        f->t[j].section = (uint64_t)first;
    for (size_t i = f->nsec; i-- > (size_t)first + 1;)
        if (is_tag(f->sec[i].tag, "TDAT"))
            cf_remove_section(f, i);
}

struct cf_tensor *cf_insert_tensor(struct cf_file *f, size_t at)
{
    if (at > f->nt)
        cf_die("insert_tensor: %zu of %zu", at, f->nt);
    f->t = cf_realloc(f->t, (f->nt + 1) * sizeof *f->t);
    memmove(&f->t[at + 1], &f->t[at], (f->nt - at) * sizeof *f->t);
    f->nt++;
    memset(&f->t[at], 0, sizeof f->t[at]);
    f->t[at].shared = -1;
    return &f->t[at];
}

void cf_remove_tensor(struct cf_file *f, size_t at)
{
    tensor_free(&f->t[at]);
    memmove(&f->t[at], &f->t[at + 1], (f->nt - at - 1) * sizeof *f->t);
    f->nt--;
}

void cf_set_streams(struct cf_tensor *t, unsigned ns)
{
    for (unsigned k = ns; k < t->ns; k++)
        stream_free(&t->s[k]);
    t->s = cf_realloc(t->s, (ns ? ns : 1) * sizeof *t->s);
    if (ns > t->ns)
        memset(&t->s[t->ns], 0, (ns - t->ns) * sizeof *t->s);
    t->ns = ns;
}

void cf_patch(struct cf_file *f, int field, size_t tensor, unsigned k, const void *bytes, size_t n,
              int cut)
{
    if (f->npatch == sizeof f->patch / sizeof f->patch[0] || n > sizeof f->patch[0].bytes)
        cf_die("too many or too long patches");
    struct cf_patch *p = &f->patch[f->npatch++];
    p->field = field;
    p->tensor = tensor;
    p->k = k;
    memcpy(p->bytes, bytes, n);
    p->n = n;
    p->cut = cut;
}

void cf_patch_varint(struct cf_file *f, int field, size_t tensor, unsigned k, uint64_t v,
                     unsigned extra)
{
    uint8_t c[32];
    size_t n = cf_varint(c, v);
    for (unsigned i = 0; i < extra; i++) {
        c[n - 1] |= 0x80;
        c[n++] = 0;
    }
    cf_patch(f, field, tensor, k, c, n, 0);
}

/* ------------------------------------------------------------ metadata */

void cf_meta_entry(struct cf_meta *m, const void *key, size_t key_len, unsigned type,
                   unsigned reserved, const void *value, size_t value_len)
{
    cf_buf_u16(&m->b, (unsigned)key_len);
    cf_buf_put(&m->b, key, key_len);
    cf_buf_u8(&m->b, type);
    cf_buf_u8(&m->b, reserved);
    cf_buf_u32(&m->b, (uint32_t)value_len);
    cf_buf_put(&m->b, value, value_len);
    m->count++;
}

void cf_meta_body(const struct cf_meta *m, uint32_t count_field, uint32_t reserved,
                  struct cf_buf *body)
{
    body->n = 0;
    cf_buf_u32(body, count_field);
    cf_buf_u32(body, reserved);
    cf_buf_put(body, m->b.p, m->b.n);
    cf_buf_u64(body, cf_xxh64(body->p, body->n));
}

void cf_set_meta(struct cf_file *f, const struct cf_buf *body)
{
    long i = cf_find_section(f, "META");
    if (i < 0)
        cf_insert_section(f, f->nsec, "META", 0, body->p, body->n);
    else
        cf_buf_set(&f->sec[i].body, body->p, body->n);
}
