/* Spec-driven file helpers (tests.h, "spec-level files"): an independent
 * parser and serializer of the .cnnz container written from
 * spec/cnnz-format.md sections 3-5, used by suite_spec to hand-build files
 * that break exactly one rule. suite_patch checks the helpers: that parsing
 * a writer's file and serializing it again gives the same bytes (so the
 * writer and this reading of the spec agree), the spec's worked examples,
 * and the smallest file built byte by byte. */
#include <stdlib.h>
#include <string.h>

#include "tests.h"

static const uint8_t signature[8] = {0x89, 0x43, 0x4E, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A};
static const uint8_t end_signature[8] = {'C', 'N', 'Z', 'E', 'N', 'D', '\r', '\n'};

static uint64_t align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) / a * a;
}

/* Bounded cursor over a parsed body: asserts instead of reading past it. */
struct cur {
    const uint8_t *p, *end;
};

static const uint8_t *take(struct cur *c, size_t n)
{
    ck_assert_msg((size_t)(c->end - c->p) >= n, "xs_parse: field runs past the body");
    const uint8_t *q = c->p;
    c->p += n;
    return q;
}

void xs_parse(struct xs_file *f, const uint8_t *img, size_t n)
{
    memset(f, 0, sizeof *f);
    ck_assert_uint_ge(n, 136);
    ck_assert_mem_eq(img, signature, 8);
    memcpy(f->header, img, 64);
    const uint8_t *tr = img + n - 32;
    ck_assert_mem_eq(tr + 24, end_signature, 8);
    f->tdir_offset = get64(tr);
    f->trailer_reserved = get64(tr + 8);
    f->trailer_offset = n - 32;
    ck_assert_uint_le(f->tdir_offset + 16, n - 32);
    const uint8_t *th = img + f->tdir_offset;
    ck_assert_mem_eq(th, "TDIR", 4);
    f->tdir_flags = get32(th + 4);
    uint64_t blen = get64(th + 8);
    ck_assert_uint_le(f->tdir_offset + 16 + blen, n - 32);
    struct cur c = {th + 16, th + 16 + blen - 8};
    uint32_t tcount = get32(take(&c, 4));
    uint32_t scount = get32(take(&c, 4));
    f->tdir_reserved = get64(take(&c, 8));
    ck_assert_uint_le(scount, XS_MAX_SECTIONS);
    f->nsec = scount;
    for (size_t i = 0; i < scount; i++) {
        struct xs_section *s = &f->sec[i];
        const uint8_t *e = take(&c, 24);
        s->offset = get64(e);
        s->body_len = get64(e + 8);
        memcpy(s->tag, e + 16, 4);
        s->table_flags = get32(e + 20);
        ck_assert_uint_le(s->offset + 16 + s->body_len, n);
        s->flags = get32(img + s->offset + 4);
        if (memcmp(s->tag, "TDAT", 4) != 0) {
            s->body_n = (size_t)s->body_len;
            s->body = dup_exact(img + s->offset + 16, s->body_n);
        }
    }
    f->nt = tcount;
    f->t = calloc(tcount ? tcount : 1, sizeof *f->t);
    ck_assert_ptr_nonnull(f->t);
    for (size_t i = 0; i < tcount; i++) {
        struct xs_tensor *t = &f->t[i];
        t->pos = (size_t)(c.p - img);
        t->name_len = get16(take(&c, 2));
        t->name = dup_exact(take(&c, t->name_len), t->name_len);
        const uint8_t *e = take(&c, 20);
        t->dtype = e[0];
        t->rank = e[1];
        t->repr = e[2];
        t->stream_count = e[3];
        t->section_index = get32(e + 4);
        t->reserved = get32(e + 8);
        t->decoded_xxh = get64(e + 12);
        for (unsigned k = 0; k < t->rank; k++)
            t->dims[k] = get64(take(&c, 8));
        t->rp_len = get16(take(&c, 2));
        ck_assert_uint_le(t->rp_len, sizeof t->rp);
        memcpy(t->rp, take(&c, t->rp_len), t->rp_len);
        ck_assert_uint_le(t->stream_count, XS_MAX_STREAMS);
        for (unsigned k = 0; k < t->stream_count; k++) {
            struct xs_stream *s = &t->s[k];
            s->pos = (size_t)(c.p - img);
            const uint8_t *h = take(&c, 6);
            s->role = h[0];
            s->coder = h[1];
            s->version = h[2];
            s->reserved = h[3];
            s->params_len = get16(h + 4);
            ck_assert_uint_le(s->params_len, sizeof s->params);
            memcpy(s->params, take(&c, s->params_len), s->params_len);
            const uint8_t *q = take(&c, 32);
            s->offset = get64(q);
            uint64_t clen = get64(q + 8);
            s->decoded_len = get64(q + 16);
            s->coded_xxh = get64(q + 24);
            ck_assert_uint_le(s->offset + clen, n);
            s->data_len = (size_t)clen;
            s->data = dup_exact(img + s->offset, s->data_len);
        }
    }
    ck_assert_msg(c.p == c.end, "xs_parse: %td unparsed bytes in the TDIR body", c.end - c.p);
}

void xs_free(struct xs_file *f)
{
    for (size_t i = 0; i < f->nsec; i++)
        free(f->sec[i].body);
    for (size_t i = 0; i < f->nt; i++) {
        free(f->t[i].name);
        for (unsigned k = 0; k < XS_MAX_STREAMS; k++)
            free(f->t[i].s[k].data);
    }
    free(f->t);
    memset(f, 0, sizeof *f);
}

/* The tensor whose streams fill TDAT section i (first referencing one). */
static struct xs_tensor *owner(struct xs_file *f, size_t i)
{
    if (memcmp(f->sec[i].tag, "TDAT", 4) != 0)
        return NULL;
    for (size_t j = 0; j < f->nt; j++)
        if (f->t[j].section_index == i)
            return &f->t[j];
    return NULL;
}

static unsigned stream_align(const struct xs_stream *s)
{
    return s->coder == 0 ? 64 : 1; /* spec 4 */
}

uint8_t *xs_serialize(struct xs_file *f, size_t *n)
{
    /* layout: spec 3.2, 3.4, 4 */
    uint64_t off = 64;
    for (size_t i = 0; i < f->nsec; i++) {
        struct xs_section *s = &f->sec[i];
        s->offset = off;
        struct xs_tensor *t = owner(f, i);
        if (t) {
            uint64_t p = off + 16;
            for (unsigned k = 0; k < t->stream_count; k++) {
                t->s[k].offset = align_up(p, stream_align(&t->s[k]));
                p = t->s[k].offset + t->s[k].data_len;
            }
            s->body_len = p - (off + 16);
        } else {
            s->body_len = s->body_n;
        }
        off = align_up(off + 16 + s->body_len, 8);
    }
    f->tdir_offset = off;

    /* TDIR body (spec 5) */
    struct membuf d;
    membuf_init(&d);
    uint8_t b[64];
    put32(b, (uint32_t)f->nt);
    put32(b + 4, (uint32_t)f->nsec);
    put64(b + 8, f->tdir_reserved);
    membuf_append(&d, b, 16);
    for (size_t i = 0; i < f->nsec; i++) {
        put64(b, f->sec[i].offset);
        put64(b + 8, f->sec[i].body_len);
        memcpy(b + 16, f->sec[i].tag, 4);
        put32(b + 20, f->sec[i].table_flags);
        membuf_append(&d, b, 24);
    }
    for (size_t j = 0; j < f->nt; j++) {
        struct xs_tensor *t = &f->t[j];
        t->pos = (size_t)(off + 16 + d.len);
        put16(b, t->name_len);
        membuf_append(&d, b, 2);
        membuf_append(&d, t->name, t->name_len);
        b[0] = t->dtype;
        b[1] = t->rank;
        b[2] = t->repr;
        b[3] = t->stream_count;
        put32(b + 4, t->section_index);
        put32(b + 8, t->reserved);
        put64(b + 12, t->decoded_xxh);
        membuf_append(&d, b, 20);
        for (unsigned k = 0; k < t->rank; k++) {
            put64(b, t->dims[k]);
            membuf_append(&d, b, 8);
        }
        put16(b, t->rp_len);
        membuf_append(&d, b, 2);
        membuf_append(&d, t->rp, t->rp_len);
        for (unsigned k = 0; k < t->stream_count && k < XS_MAX_STREAMS; k++) {
            struct xs_stream *s = &t->s[k];
            s->pos = (size_t)(off + 16 + d.len);
            if (!f->keep_coded_xxh)
                s->coded_xxh = xxh64(s->data, s->data_len);
            b[0] = s->role;
            b[1] = s->coder;
            b[2] = s->version;
            b[3] = s->reserved;
            put16(b + 4, s->params_len);
            membuf_append(&d, b, 6);
            membuf_append(&d, s->params, s->params_len);
            put64(b, s->offset);
            put64(b + 8, s->data_len);
            put64(b + 16, s->decoded_len);
            put64(b + 24, s->coded_xxh);
            membuf_append(&d, b, 32);
        }
    }
    put64(b, xxh64(d.data, d.len));
    membuf_append(&d, b, 8);

    f->trailer_offset = align_up(off + 16 + d.len, 8);
    size_t total = (size_t)f->trailer_offset + 32;
    uint8_t *img = calloc(1, total);
    ck_assert_ptr_nonnull(img);
    memcpy(img, f->header, 56);
    put64(img + 56, xxh64(img, 56));
    for (size_t i = 0; i < f->nsec; i++) {
        struct xs_section *s = &f->sec[i];
        uint8_t *h = img + s->offset;
        memcpy(h, s->tag, 4);
        put32(h + 4, s->flags);
        put64(h + 8, s->body_len);
        struct xs_tensor *t = owner(f, i);
        if (t) {
            for (unsigned k = 0; k < t->stream_count; k++)
                if (t->s[k].data_len)
                    memcpy(img + t->s[k].offset, t->s[k].data, t->s[k].data_len);
        } else if (s->body_n) {
            memcpy(h + 16, s->body, s->body_n);
        }
    }
    uint8_t *th = img + off;
    memcpy(th, "TDIR", 4);
    put32(th + 4, f->tdir_flags);
    put64(th + 8, d.len);
    memcpy(th + 16, d.data, d.len);
    membuf_free(&d);
    uint8_t *tr = img + f->trailer_offset;
    put64(tr, f->tdir_offset);
    put64(tr + 8, f->trailer_reserved);
    put64(tr + 16, xxh64(tr, 16));
    memcpy(tr + 24, end_signature, 8);
    *n = total;
    return img;
}

void xs_insert_section(struct xs_file *f, size_t at, const char tag[4], uint32_t flags,
                       const void *body, size_t body_n)
{
    ck_assert_uint_lt(f->nsec, XS_MAX_SECTIONS);
    ck_assert_uint_le(at, f->nsec);
    memmove(&f->sec[at + 1], &f->sec[at], (f->nsec - at) * sizeof f->sec[0]);
    f->nsec++;
    struct xs_section *s = &f->sec[at];
    memset(s, 0, sizeof *s);
    memcpy(s->tag, tag, 4);
    s->flags = s->table_flags = flags;
    s->body = dup_exact(body, body_n);
    s->body_n = body_n;
    for (size_t j = 0; j < f->nt; j++)
        if (f->t[j].section_index >= at)
            f->t[j].section_index++;
}

long xs_find_section(const struct xs_file *f, const char tag[4])
{
    for (size_t i = 0; i < f->nsec; i++)
        if (memcmp(f->sec[i].tag, tag, 4) == 0)
            return (long)i;
    return -1;
}

void xs_fix_checksums(uint8_t *img, size_t n)
{
    ck_assert_uint_ge(n, 136);
    put64(img + 56, xxh64(img, 56));
    uint8_t *tr = img + n - 32;
    put64(tr + 16, xxh64(tr, 16));
    uint64_t toff = get64(tr);
    ck_assert_uint_le(toff + 16, n - 32);
    uint8_t *th = img + toff;
    uint64_t blen = get64(th + 8);
    ck_assert_uint_ge(blen, 24);
    ck_assert_uint_le(toff + 16 + blen, n - 32);
    uint8_t *body = th + 16;
    /* a deliberately broken table is left as it is: fix what it locates */
    uint64_t scount = get32(body + 4);
    if (16 + scount * 24 > blen - 8)
        scount = 0;
    for (uint64_t i = 0; i < scount; i++) {
        const uint8_t *e = body + 16 + 24 * (size_t)i;
        if (memcmp(e + 16, "META", 4) != 0)
            continue;
        uint64_t mo = get64(e), ml = get64(e + 8);
        if (ml < 8 || mo > n || ml > n || mo + 16 + ml > n)
            continue;
        uint8_t *mb = img + mo + 16;
        put64(mb + ml - 8, xxh64(mb, (size_t)ml - 8));
    }
    put64(body + blen - 8, xxh64(body, (size_t)blen - 8));
}

void xs_meta_begin(struct xs_meta_builder *mb)
{
    membuf_init(&mb->b);
    mb->count = 0;
}

void xs_meta_entry(struct xs_meta_builder *mb, const void *key, size_t key_len, uint8_t type,
                   uint8_t reserved, const void *value, size_t value_len)
{
    uint8_t h[6];
    put16(h, (uint16_t)key_len);
    membuf_append(&mb->b, h, 2);
    membuf_append(&mb->b, key, key_len);
    h[0] = type;
    h[1] = reserved;
    put32(h + 2, (uint32_t)value_len);
    membuf_append(&mb->b, h, 6);
    membuf_append(&mb->b, value, value_len);
    mb->count++;
}

uint8_t *xs_meta_end(struct xs_meta_builder *mb, uint32_t count, uint32_t reserved, size_t *n)
{
    size_t len = 8 + mb->b.len + 8;
    uint8_t *body = malloc(len);
    ck_assert_ptr_nonnull(body);
    put32(body, count);
    put32(body + 4, reserved);
    if (mb->b.len)
        memcpy(body + 8, mb->b.data, mb->b.len);
    put64(body + len - 8, xxh64(body, len - 8));
    membuf_free(&mb->b);
    *n = len;
    return body;
}

void xs_set_meta(struct xs_file *f, const uint8_t *body, size_t n)
{
    long i = xs_find_section(f, "META");
    if (i < 0) {
        xs_insert_section(f, f->nsec, "META", 0, body, n);
        return;
    }
    free(f->sec[i].body);
    f->sec[i].body = dup_exact(body, n);
    f->sec[i].body_n = n;
}

/* ================================================================ suite */

static void check_reserialize(const uint8_t *img, size_t n)
{
    struct xs_file f;
    xs_parse(&f, img, n);
    size_t n2;
    uint8_t *img2 = xs_serialize(&f, &n2);
    ck_assert_uint_eq(n2, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(img[i] == img2[i], "writer and spec serializer differ at byte %zu", i);
    xs_fix_checksums(img2, n2);
    ck_assert_mem_eq(img2, img, n);
    free(img2);
    xs_free(&f);
}

START_TEST(test_reserialize_fixed)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    size_t n;
    uint8_t *img;
    model_empty(&m);
    img = model_file(&m, &n);
    check_reserialize(img, n);
    free(img);
    model_free(&m);
    model_meta_only(&m);
    img = model_file(&m, &n);
    check_reserialize(img, n);
    free(img);
    model_free(&m);
    model_mixed(&m, &r);
    img = model_file(&m, &n);
    check_reserialize(img, n);
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_reserialize_random)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model_opts o = {8, 5, 500, 6, 20};
    unsigned iters = test_iters(100);
    for (unsigned it = 0; it < iters; it++) {
        struct model m;
        model_init(&m);
        model_random(&m, &r, &o);
        size_t n;
        uint8_t *img = model_file(&m, &n);
        check_reserialize(img, n);
        free(img);
        model_free(&m);
    }
}
END_TEST

/* spec 3.5: the smallest file, byte by byte. */
START_TEST(test_smallest_file_bytes)
{
    uint8_t want[136];
    memset(want, 0, sizeof want);
    memcpy(want, signature, 8);
    put16(want + 8, 1); /* major */
    put16(want + 10, 0);
    put64(want + 56, xxh64(want, 56));
    memcpy(want + 64, "TDIR", 4);
    put32(want + 68, 1); /* CRITICAL */
    put64(want + 72, 24);
    /* body: tensor_count 0, section_count 0, reserved 0, checksum */
    put64(want + 96, xxh64(want + 80, 16));
    put64(want + 104, 64); /* trailer: tdir_offset */
    put64(want + 120, xxh64(want + 104, 16));
    memcpy(want + 128, end_signature, 8);

    struct model m;
    model_empty(&m);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    ck_assert_uint_eq(n, sizeof want);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(img[i] == want[i], "smallest file differs at byte %zu", i);
    ck_assert_int_eq(open_decode_verify(want, sizeof want, &m), 0);
    free(img);
    model_free(&m);
}
END_TEST

/* spec Appendix A, byte for byte (also conformance/valid/appendix-a.cnnz). */
static const uint8_t appendix_a[] = {
  0x89, 0x43, 0x4e, 0x5a, 0x0d, 0x0a, 0x1a, 0x0a, 0x01, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x90, 0xb7, 0x38, 0xef,
  0x87, 0xf4, 0x25, 0x76, 0x54, 0x44, 0x41, 0x54, 0x01, 0x00, 0x00, 0x00,
  0x33, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x4d, 0x45, 0x54, 0x41, 0x00, 0x00, 0x00, 0x00,
  0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x70, 0x72, 0x6f, 0x64, 0x75, 0x63,
  0x65, 0x72, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x65, 0x78, 0x00, 0x84,
  0xfd, 0xb9, 0x53, 0x21, 0x63, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x54, 0x44, 0x49, 0x52, 0x01, 0x00, 0x00, 0x00, 0x8f, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x33, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x54, 0x44, 0x41, 0x54, 0x01, 0x00, 0x00, 0x00, 0x88, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x4d, 0x45, 0x54, 0x41, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x77, 0x06,
  0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa5,
  0xe5, 0x4e, 0x0c, 0xee, 0x13, 0x3e, 0x74, 0x03, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa5,
  0xe5, 0x4e, 0x0c, 0xee, 0x13, 0x3e, 0x74, 0x3f, 0x71, 0x46, 0x2f, 0xe7,
  0xc4, 0xdc, 0xa7, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x84, 0xe8, 0xb0, 0xf3,
  0xa1, 0xc8, 0xed, 0xf5, 0x43, 0x4e, 0x5a, 0x45, 0x4e, 0x44, 0x0d, 0x0a
};

START_TEST(test_appendix_a_bytes)
{
    struct membuf b;
    membuf_init(&b);
    struct cnnz_sink sink = membuf_sink(&b);
    cnnz_writer *w;
    ck_assert_int_eq(cnnz_writer_open(&w, &sink, NULL), CNNZ_OK);
    uint64_t dims[1] = {3};
    struct cnnz_tensor_desc d = {.name = "w", .dtype = CNNZ_DT_U8, .rank = 1, .dims = dims,
                                 .repr = CNNZ_REPR_PLAIN, .coder = CNNZ_CODER_RAW};
    ck_assert_int_eq(cnnz_writer_add_tensor(w, &d, "\x01\x02\x03", 3), CNNZ_OK);
    ck_assert_int_eq(cnnz_writer_meta_string(w, "producer", "ex"), CNNZ_OK);
    ck_assert_int_eq(cnnz_writer_finish(w), CNNZ_OK);
    cnnz_writer_free(w);
    ck_assert_uint_eq(b.len, sizeof appendix_a);
    ck_assert_mem_eq(b.data, appendix_a, sizeof appendix_a);
    cnnz_reader *r;
    ck_assert_int_eq(cnnz_reader_open_memory(&r, appendix_a, sizeof appendix_a, NULL), CNNZ_OK);
    uint8_t out[4] = {0, 0, 0, 0xA5};
    ck_assert_int_eq(cnnz_reader_decode(r, 0, out, 3, NULL), CNNZ_OK);
    ck_assert_mem_eq(out, "\x01\x02\x03\xA5", 4);
    ck_assert_int_eq(cnnz_reader_verify(r, NULL), CNNZ_OK);
    cnnz_reader_close(r);
    membuf_free(&b);
}
END_TEST

/* spec 7.1 worked example: plain u8 [3] = 1 2 3, raw. */
START_TEST(test_worked_example_raw)
{
    struct model m;
    model_init(&m);
    uint64_t dims[1] = {3};
    model_add(&m, NULL, "x", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, dims, "\x01\x02\x03");
    size_t n;
    uint8_t *img = model_file(&m, &n);
    /* TDAT at 64; body at 80; 48 zero bytes; 01 02 03 at 128 */
    ck_assert_mem_eq(img + 64, "TDAT", 4);
    ck_assert_uint_eq(get32(img + 68), 1);
    ck_assert_uint_eq(get64(img + 72), 48 + 3);
    for (size_t i = 80; i < 128; i++)
        ck_assert_uint_eq(img[i], 0);
    ck_assert_mem_eq(img + 128, "\x01\x02\x03", 3);
    /* 5 padding bytes to 136, then TDIR */
    for (size_t i = 131; i < 136; i++)
        ck_assert_uint_eq(img[i], 0);
    ck_assert_mem_eq(img + 136, "TDIR", 4);
    struct xs_file f;
    xs_parse(&f, img, n);
    ck_assert_uint_eq(f.nt, 1);
    ck_assert_uint_eq(f.nsec, 1);
    ck_assert_uint_eq(f.sec[0].offset, 64);
    ck_assert_uint_eq(f.sec[0].table_flags, 1);
    struct xs_tensor *t = &f.t[0];
    ck_assert_uint_eq(t->name_len, 1);
    ck_assert_uint_eq(t->dtype, CNNZ_DT_U8);
    ck_assert_uint_eq(t->rank, 1);
    ck_assert_uint_eq(t->dims[0], 3);
    ck_assert_uint_eq(t->repr, CNNZ_REPR_PLAIN);
    ck_assert_uint_eq(t->stream_count, 1);
    ck_assert_uint_eq(t->section_index, 0);
    ck_assert_uint_eq(t->reserved, 0);
    ck_assert_uint_eq(t->decoded_xxh, xxh64("\x01\x02\x03", 3));
    ck_assert_uint_eq(t->rp_len, 0);
    struct xs_stream *s = &t->s[0];
    ck_assert_uint_eq(s->role, 0);
    ck_assert_uint_eq(s->coder, 0);
    ck_assert_uint_eq(s->version, 0);
    ck_assert_uint_eq(s->reserved, 0);
    ck_assert_uint_eq(s->params_len, 0);
    ck_assert_uint_eq(s->offset, 128);
    ck_assert_uint_eq(s->data_len, 3);
    ck_assert_uint_eq(s->decoded_len, 3);
    ck_assert_uint_eq(s->coded_xxh, xxh64("\x01\x02\x03", 3));
    /* header: major 1, minor 0, flags and reserved zero */
    ck_assert_uint_eq(get16(img + 8), 1);
    ck_assert_uint_eq(get16(img + 10), 0);
    for (size_t i = 12; i < 56; i++)
        ck_assert_uint_eq(img[i], 0);
    ck_assert_uint_eq(f.trailer_reserved, 0);
    ck_assert_uint_eq(f.tdir_reserved, 0);
    ck_assert_uint_eq(f.tdir_flags, 1);
    xs_free(&f);
    free(img);
    model_free(&m);
}
END_TEST

/* spec 6.3 / 6.4: repr_params bytes of affine and widen. */
START_TEST(test_repr_params_bytes)
{
    struct model m;
    model_init(&m);
    uint64_t dims[1] = {2};
    struct ttensor *a = model_add(&m, NULL, "a", 0, CNNZ_DT_F32, CNNZ_REPR_AFFINE, CNNZ_DT_U16,
                                  1, dims, "\x01\x00\xFF\xFF");
    a->scale = -0.25;
    a->offset = 1e10;
    put32(a->expect, f32_bits(ref_affine(1, a->scale, a->offset)));
    put32(a->expect + 4, f32_bits(ref_affine(65535, a->scale, a->offset)));
    model_add(&m, NULL, "w", 0, CNNZ_DT_F32, CNNZ_REPR_WIDEN, CNNZ_DT_BF16, 1, dims,
              "\x80\x3F\x00\xC0");
    size_t n;
    uint8_t *img = model_file(&m, &n);
    model_check_image(&m, img, n);
    struct xs_file f;
    xs_parse(&f, img, n);
    ck_assert_uint_eq(f.t[0].rp_len, 24);
    ck_assert_uint_eq(f.t[0].rp[0], CNNZ_DT_U16);
    for (int i = 1; i < 8; i++)
        ck_assert_uint_eq(f.t[0].rp[i], 0);
    double sc, of;
    uint64_t bits = get64(f.t[0].rp + 8);
    memcpy(&sc, &bits, 8);
    bits = get64(f.t[0].rp + 16);
    memcpy(&of, &bits, 8);
    ck_assert(sc == -0.25 && of == 1e10);
    ck_assert_uint_eq(f.t[0].s[0].role, CNNZ_ROLE_SYMBOLS);
    ck_assert_uint_eq(f.t[0].s[0].decoded_len, 4);
    ck_assert_uint_eq(f.t[1].rp_len, 8);
    ck_assert_uint_eq(f.t[1].rp[0], CNNZ_DT_BF16);
    for (int i = 1; i < 8; i++)
        ck_assert_uint_eq(f.t[1].rp[i], 0);
    ck_assert_uint_eq(f.t[1].s[0].role, CNNZ_ROLE_VALUES);
    ck_assert_uint_eq(f.t[1].decoded_xxh, xxh64(m.t[1].expect, 8));
    xs_free(&f);
    free(img);
    model_free(&m);
}
END_TEST

/* spec 5.4: META body bytes of the writer equal the builder's. */
START_TEST(test_meta_bytes)
{
    struct model m;
    model_init(&m);
    model_meta_string(&m, "s", "h\xC3\xA9");
    model_meta_int(&m, "i", -2);
    model_meta_float(&m, "f", 1.5);
    model_meta_bool(&m, "b", 1);
    model_meta_bytes(&m, "y", "\x00\x01", 2);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct xs_file f;
    xs_parse(&f, img, n);
    long mi = xs_find_section(&f, "META");
    ck_assert_int_ge(mi, 0);
    ck_assert_uint_eq(f.sec[mi].flags, 0);
    ck_assert_uint_eq(f.sec[mi].table_flags, 0);
    struct xs_meta_builder mb;
    xs_meta_begin(&mb);
    uint8_t v[8];
    xs_meta_entry(&mb, "s", 1, CNNZ_META_STRING, 0, "h\xC3\xA9", 3);
    put64(v, (uint64_t)(int64_t)-2);
    xs_meta_entry(&mb, "i", 1, CNNZ_META_INT, 0, v, 8);
    put64(v, UINT64_C(0x3FF8000000000000));
    xs_meta_entry(&mb, "f", 1, CNNZ_META_FLOAT, 0, v, 8);
    xs_meta_entry(&mb, "b", 1, CNNZ_META_BOOL, 0, "\x01", 1);
    xs_meta_entry(&mb, "y", 1, CNNZ_META_BYTES, 0, "\x00\x01", 2);
    size_t bn;
    uint8_t *body = xs_meta_end(&mb, 5, 0, &bn);
    /* order of entries is the writer's call order here */
    ck_assert_uint_eq(f.sec[mi].body_n, bn);
    ck_assert_mem_eq(f.sec[mi].body, body, bn);
    free(body);
    xs_free(&f);
    free(img);
    model_free(&m);
}
END_TEST

Suite *suite_patch(void)
{
    Suite *s = suite_create("patch");
    TCase *tc = tcase_create("spec-serializer");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_reserialize_fixed);
    tcase_add_test(tc, test_reserialize_random);
    tcase_add_test(tc, test_smallest_file_bytes);
    tcase_add_test(tc, test_worked_example_raw);
    tcase_add_test(tc, test_appendix_a_bytes);
    tcase_add_test(tc, test_repr_params_bytes);
    tcase_add_test(tc, test_meta_bytes);
    suite_add_tcase(s, tc);
    return s;
}
