/* Spec-driven file helpers (tests.h, "spec-level files"): an independent
 * parser and serializer of the .cnnz container written from
 * spec/cnnz-format.md sections 1.1 and 3-5, used by suite_spec to hand-build
 * files that break exactly one rule. suite_patch checks the helpers: that
 * parsing a writer's file and serializing it again gives the same bytes (so
 * the writer and this reading of the spec agree), the spec's worked
 * examples, and files built byte by byte. */
#include <stdlib.h>
#include <string.h>

#include "tests.h"

static const uint8_t signature[8] = {0x89, 0x43, 0x4E, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A};
static const uint8_t end_signature[8] = {'C', 'N', 'Z', 'E', 'N', 'D', '\r', '\n'};

static uint64_t align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) / a * a;
}

static int is_tdat(const struct xs_section *s)
{
    return memcmp(s->tag, "TDAT", 4) == 0;
}

/* spec 4: A = 64 for a raw stream of 1024 coded bytes or more, 8 for a
 * shorter raw stream, 1 for every other coder. */
static uint64_t rule_align(uint8_t coder, uint64_t coded_length)
{
    if (coder != 0)
        return 1;
    return coded_length >= 1024 ? 64 : 8;
}

static uint64_t stream_align(const struct xs_stream *s)
{
    return s->align ? s->align : rule_align(s->coder, s->data_len);
}

/* ------------------------------------------------------------- parsing */

/* Bounded cursor over a parsed area: asserts instead of reading past it. */
struct cur {
    const uint8_t *p, *end;
};

static const uint8_t *take(struct cur *c, uint64_t n)
{
    ck_assert_msg((uint64_t)(c->end - c->p) >= n, "xs_parse: field runs past its area");
    const uint8_t *q = c->p;
    c->p += n;
    return q;
}

/* spec 1.1: LEB128, at most 10 bytes, fits 64 bits, minimal. */
static uint64_t take_varint(struct cur *c)
{
    uint64_t v = 0;
    for (unsigned i = 0;; i++) {
        ck_assert_msg(i < 10, "xs_parse: varint longer than 10 bytes");
        uint8_t b = *take(c, 1);
        uint64_t group = b & 0x7F;
        ck_assert_msg(i < 9 || group <= 1, "xs_parse: varint value over 64 bits");
        v |= group << (7 * i);
        if (!(b & 0x80)) {
            ck_assert_msg(i == 0 || b != 0, "xs_parse: varint not minimal");
            return v;
        }
    }
}

size_t xs_varint(uint8_t *dst, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        dst[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    dst[n++] = (uint8_t)v;
    return n;
}

static void parse_stream(struct cur *c, const uint8_t *img, struct xs_stream *s,
                         uint64_t *coded_length)
{
    s->pos = (size_t)(c->p - img);
    const uint8_t *h = take(c, 3);
    s->role = h[0];
    s->coder = h[1];
    s->version = h[2];
    s->params_len = take_varint(c);
    ck_assert_uint_le(s->params_len, 65535);
    s->params = s->params_len ? dup_exact(take(c, s->params_len), (size_t)s->params_len) : NULL;
    *coded_length = take_varint(c);
    s->decoded_len = take_varint(c);
}

static void parse_tensor(struct cur *c, const uint8_t *img, struct xs_tensor *t,
                         const struct xs_tensor *prev, uint64_t *coded)
{
    t->pos = (size_t)(c->p - img);
    /* spec 5.3: the name is prev's first name_shared bytes, then the suffix */
    t->name_shared = take_varint(c);
    uint64_t suffix_length = take_varint(c);
    ck_assert_uint_le(t->name_shared, prev ? prev->name_len : 0);
    ck_assert_uint_le(suffix_length, 4096);
    t->name_len = (size_t)(t->name_shared + suffix_length);
    ck_assert_uint_ge(t->name_len, 1);
    ck_assert_uint_le(t->name_len, 4096);
    t->name = malloc(t->name_len);
    ck_assert_ptr_nonnull(t->name);
    if (t->name_shared)
        memcpy(t->name, prev->name, (size_t)t->name_shared);
    memcpy(t->name + t->name_shared, take(c, suffix_length), (size_t)suffix_length);
    const uint8_t *e = take(c, 4);
    t->dtype = e[0];
    t->rank = e[1];
    t->repr = e[2];
    t->stream_count = e[3];
    t->section_index = take_varint(c);
    t->decoded_xxh = get64(take(c, 8));
    for (unsigned k = 0; k < t->rank; k++)
        t->dims[k] = take_varint(c);
    t->rp_len = take_varint(c);
    ck_assert_uint_le(t->rp_len, sizeof t->rp);
    memcpy(t->rp, take(c, t->rp_len), (size_t)t->rp_len);
    for (unsigned k = 0; k < t->stream_count; k++)
        parse_stream(c, img, &t->s[k], &coded[k]);
}

/* spec 5.1 runs, then spec 4: lay out each TDAT body from its run's
 * streams, check its padding, body_length and tdat_xxh64, and take the
 * coded bytes. coded[j][k]: coded_length of tensor j's stream k. */
static void parse_runs(struct xs_file *f, const uint8_t *img, uint64_t (*coded)[XS_MAX_STREAMS])
{
    long tdat[XS_MAX_SECTIONS]; /* section index of TDAT number i */
    size_t ntdat = 0;
    for (size_t i = 0; i < f->nsec; i++)
        if (is_tdat(&f->sec[i]))
            tdat[ntdat++] = (long)i;
    ck_assert_msg(f->nt || !ntdat, "xs_parse: a TDAT in a file with no tensor");
    size_t cur = 0; /* TDAT number of the run so far */
    for (size_t j = 0; j < f->nt; j++) {
        uint64_t si = f->t[j].section_index;
        if (j == 0)
            ck_assert_msg(ntdat && si == (uint64_t)tdat[0], "xs_parse: tensor 0 not in TDAT 0");
        else if (si != (uint64_t)tdat[cur])
            ck_assert_msg(cur + 1 < ntdat && si == (uint64_t)tdat[++cur],
                          "xs_parse: tensor %zu breaks the runs", j);
    }
    ck_assert_msg(!f->nt || cur + 1 == ntdat, "xs_parse: the last TDAT holds no tensor");

    size_t j = 0;
    for (size_t i = 0; i < ntdat; i++) {
        struct xs_section *s = &f->sec[tdat[i]];
        const uint64_t body = s->offset + 16;
        uint64_t p = body;
        for (; j < f->nt && f->t[j].section_index == (uint64_t)tdat[i]; j++) {
            struct xs_tensor *t = &f->t[j];
            for (unsigned k = 0; k < t->stream_count; k++) {
                struct xs_stream *st = &t->s[k];
                st->offset = align_up(p, rule_align(st->coder, coded[j][k]));
                ck_assert_uint_le(st->offset + coded[j][k] + 8, body + s->body_len);
                for (uint64_t q = p; q < st->offset; q++)
                    ck_assert_msg(img[q] == 0, "xs_parse: padding byte at %llu",
                                  (unsigned long long)q);
                st->data_len = (size_t)coded[j][k];
                st->data = dup_exact(img + st->offset, st->data_len);
                p = st->offset + st->data_len;
            }
        }
        ck_assert_msg(p + 8 == body + s->body_len, "xs_parse: TDAT %zu body_length", i);
        s->tdat_xxh = get64(img + p);
        ck_assert_msg(s->tdat_xxh == xxh64(img + body, (size_t)(p - body)),
                      "xs_parse: tdat_xxh64 of TDAT %zu", i);
        s->gap = 0;
    }
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
    ck_assert_uint_ge(blen, 24);
    ck_assert_uint_le(f->tdir_offset + 16 + blen, n - 32);
    ck_assert_uint_eq(get64(th + 16 + blen - 8), xxh64(th + 16, (size_t)blen - 8));
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
        if (!is_tdat(s)) {
            s->body_n = (size_t)s->body_len;
            s->body = dup_exact(img + s->offset + 16, s->body_n);
        }
    }
    f->nt = tcount;
    f->t = calloc(tcount ? tcount : 1, sizeof *f->t);
    uint64_t(*coded)[XS_MAX_STREAMS] = calloc(tcount ? tcount : 1, sizeof *coded);
    ck_assert_ptr_nonnull(f->t);
    ck_assert_ptr_nonnull(coded);
    for (size_t i = 0; i < tcount; i++)
        parse_tensor(&c, img, &f->t[i], i ? &f->t[i - 1] : NULL, coded[i]);
    ck_assert_msg(c.p == c.end, "xs_parse: %td unparsed bytes in the TDIR body", c.end - c.p);
    parse_runs(f, img, coded);
    free(coded);
}

void xs_free(struct xs_file *f)
{
    for (size_t i = 0; i < f->nsec; i++)
        free(f->sec[i].body);
    for (size_t i = 0; i < f->nt; i++) {
        free(f->t[i].name);
        free(f->t[i].suffix);
        for (unsigned k = 0; k < XS_MAX_STREAMS; k++) {
            free(f->t[i].s[k].data);
            free(f->t[i].s[k].params);
        }
    }
    free(f->t);
    memset(f, 0, sizeof *f);
}

/* ----------------------------------------------------------- serializing */

/* Writes the directory's varints, one of them (xs_file.vf) as a test says. */
struct dirw {
    struct membuf *d;
    const struct xs_vfault *vf;
    size_t cut; /* XS_VENC_CUT: the area ends here (0: no cut yet) */
};

static void put_varint(struct dirw *w, int field, size_t t, unsigned k, uint64_t v)
{
    uint8_t b[16];
    size_t n = xs_varint(b, v);
    const struct xs_vfault *vf = w->vf;
    if (vf->field == field && vf->tensor == t && vf->k == k) {
        switch (vf->enc) {
        case XS_VENC_VALUE:
            n = xs_varint(b, vf->value);
            break;
        case XS_VENC_PADDED: /* one more group of 0 */
            b[n - 1] |= 0x80;
            b[n++] = 0;
            break;
        case XS_VENC_LONG:
            while (n < 11) {
                b[n - 1] |= 0x80;
                b[n++] = 0;
            }
            break;
        case XS_VENC_OVERFLOW:
            memset(b, 0x80, 9);
            b[9] = 0x02;
            n = 10;
            break;
        default: /* XS_VENC_CUT */
            b[n - 1] |= 0x80;
            membuf_append(w->d, b, n);
            if (!w->cut)
                w->cut = w->d->len;
            return;
        }
    }
    membuf_append(w->d, b, n);
}

/* The name an entry expands to (spec 5.3), given the one before it. */
static void expanded(const struct xs_tensor *t, const uint8_t *prev, size_t prev_len,
                     struct membuf *out)
{
    out->len = 0;
    if (!t->raw_name) {
        membuf_append(out, t->name, t->name_len);
        return;
    }
    uint64_t shared = t->name_shared < prev_len ? t->name_shared : prev_len;
    membuf_append(out, prev, (size_t)shared);
    membuf_append(out, t->suffix, t->suffix_len);
}

static void put_tensor(struct dirw *w, struct xs_tensor *t, size_t j, uint64_t body_base,
                       const struct membuf *prev)
{
    struct membuf *d = w->d;
    t->pos = (size_t)(body_base + d->len);
    const uint8_t *suffix;
    size_t suffix_len;
    if (t->raw_name) {
        suffix = t->suffix;
        suffix_len = t->suffix_len;
    } else {
        size_t shared = 0;
        while (shared < t->name_len && shared < prev->len && t->name[shared] == prev->data[shared])
            shared++;
        t->name_shared = shared;
        suffix = t->name_len ? t->name + shared : NULL; /* (an empty name has no bytes) */
        suffix_len = t->name_len - shared;
    }
    put_varint(w, XS_V_NAME_SHARED, j, 0, t->name_shared);
    put_varint(w, XS_V_SUFFIX_LENGTH, j, 0, suffix_len);
    membuf_append(d, suffix, suffix_len);
    uint8_t b[8] = {t->dtype, t->rank, t->repr, t->stream_count};
    membuf_append(d, b, 4);
    put_varint(w, XS_V_SECTION_INDEX, j, 0, t->section_index);
    put64(b, t->decoded_xxh);
    membuf_append(d, b, 8);
    for (unsigned k = 0; k < t->rank; k++)
        put_varint(w, XS_V_DIM, j, k, t->dims[k]);
    ck_assert_uint_le(t->rp_len, sizeof t->rp);
    put_varint(w, XS_V_REPR_PARAMS_LENGTH, j, 0, t->rp_len);
    membuf_append(d, t->rp, (size_t)t->rp_len);
    for (unsigned k = 0; k < t->stream_count; k++) {
        struct xs_stream *s = &t->s[k];
        s->pos = (size_t)(body_base + d->len);
        uint8_t h[3] = {s->role, s->coder, s->version};
        membuf_append(d, h, 3);
        put_varint(w, XS_V_CODER_PARAMS_LENGTH, j, k, s->params_len);
        if (s->params) {
            membuf_append(d, s->params, (size_t)s->params_len);
        } else {
            for (uint64_t i = 0; i < s->params_len; i++)
                membuf_append(d, "", 1);
        }
        put_varint(w, XS_V_CODED_LENGTH, j, k, s->data_len);
        put_varint(w, XS_V_DECODED_LENGTH, j, k, s->decoded_len);
    }
}

/* The first tensor naming section i, or nt. */
static size_t first_named(const struct xs_file *f, size_t i)
{
    for (size_t j = 0; j < f->nt; j++)
        if (f->t[j].section_index == i)
            return j;
    return f->nt;
}

/* spec 4: the streams of the tensors naming TDAT i, in directory order;
 * returns where the checksum goes (p + gap). */
static uint64_t layout_tdat(struct xs_file *f, size_t i)
{
    struct xs_section *s = &f->sec[i];
    const uint64_t body = s->offset + 16;
    uint64_t p = body;
    for (size_t j = 0; j < f->nt; j++) {
        if (f->t[j].section_index != i)
            continue;
        struct xs_tensor *t = &f->t[j];
        for (unsigned k = 0; k < t->stream_count; k++) {
            t->s[k].offset = align_up(p, stream_align(&t->s[k]));
            p = t->s[k].offset + t->s[k].data_len;
        }
    }
    ck_assert_int_ge(s->gap, -8);
    ck_assert_int_ge((int64_t)(p - body) + s->gap, -8); /* body_length >= 0 */
    return (uint64_t)((int64_t)p + s->gap);
}

/* An empty run's body (spec 4): just XXH64 of nothing. */
static const uint8_t empty_body[8] = {0x99, 0xE9, 0xD8, 0x51, 0x37, 0xDB, 0x46, 0xEF};

uint8_t *xs_serialize(struct xs_file *f, size_t *n)
{
    /* layout: spec 3.2, 3.4, 4 */
    uint64_t off = 64;
    uint64_t sum_at[XS_MAX_SECTIONS];
    for (size_t i = 0; i < f->nsec; i++) {
        struct xs_section *s = &f->sec[i];
        s->offset = off;
        if (is_tdat(s) && first_named(f, i) < f->nt) {
            sum_at[i] = layout_tdat(f, i);
            s->body_len = sum_at[i] + 8 - (off + 16);
        } else {
            s->body_len = s->body || !is_tdat(s) ? s->body_n : sizeof empty_body;
        }
        off = align_up(off + 16 + s->body_len, 8);
    }
    f->tdir_offset = off;

    /* TDIR body (spec 5) */
    struct membuf d, prev, name;
    membuf_init(&d);
    membuf_init(&prev);
    membuf_init(&name);
    struct dirw w = {&d, &f->vf, 0};
    uint8_t b[24];
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
        put_tensor(&w, &f->t[j], j, off + 16, &prev);
        expanded(&f->t[j], prev.data, prev.len, &name);
        prev.len = 0;
        membuf_append(&prev, name.data, name.len);
    }
    membuf_free(&prev);
    membuf_free(&name);
    if (w.cut)
        d.len = w.cut;
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
        if (is_tdat(s) && first_named(f, i) < f->nt) {
            for (size_t j = 0; j < f->nt; j++) {
                const struct xs_tensor *t = &f->t[j];
                if (t->section_index != i)
                    continue;
                for (unsigned k = 0; k < t->stream_count; k++)
                    if (t->s[k].data_len)
                        memcpy(img + t->s[k].offset, t->s[k].data, t->s[k].data_len);
            }
            /* (a body shorter than 8 bytes has no room for it) */
            if (sum_at[i] >= s->offset + 16) {
                if (!f->keep_tdat_xxh)
                    s->tdat_xxh = xxh64(h + 16, (size_t)(sum_at[i] - (s->offset + 16)));
                put64(img + sum_at[i], s->tdat_xxh);
            }
        } else if (s->body) {
            memcpy(h + 16, s->body, s->body_n);
        } else if (is_tdat(s)) {
            memcpy(h + 16, empty_body, sizeof empty_body);
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

/* ------------------------------------------------------------- editing */

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
    s->body = body ? dup_exact(body, body_n) : NULL;
    s->body_n = body ? body_n : 0;
    for (size_t j = 0; j < f->nt; j++)
        if (f->t[j].section_index >= at)
            f->t[j].section_index++;
}

void xs_remove_section(struct xs_file *f, size_t at)
{
    ck_assert_uint_lt(at, f->nsec);
    free(f->sec[at].body);
    memmove(&f->sec[at], &f->sec[at + 1], (f->nsec - at - 1) * sizeof f->sec[0]);
    f->nsec--;
    for (size_t j = 0; j < f->nt; j++)
        if (f->t[j].section_index > at)
            f->t[j].section_index--;
}

void xs_split_run(struct xs_file *f, size_t t)
{
    ck_assert_uint_lt(t, f->nt);
    uint64_t i = f->t[t].section_index;
    ck_assert_uint_lt(i, f->nsec);
    xs_insert_section(f, (size_t)i + 1, "TDAT", 1, NULL, 0);
    for (size_t j = t; j < f->nt && f->t[j].section_index == i; j++)
        f->t[j].section_index = i + 1;
}

long xs_find_section(const struct xs_file *f, const char tag[4])
{
    for (size_t i = 0; i < f->nsec; i++)
        if (memcmp(f->sec[i].tag, tag, 4) == 0)
            return (long)i;
    return -1;
}

void xs_set_name(struct xs_tensor *t, const void *name, size_t n)
{
    free(t->name);
    t->name = n ? dup_exact(name, n) : NULL;
    t->name_len = n;
    t->raw_name = 0;
}

void xs_set_raw_name(struct xs_tensor *t, uint64_t shared, const void *suffix, size_t n)
{
    free(t->suffix);
    t->suffix = n ? dup_exact(suffix, n) : NULL;
    t->suffix_len = n;
    t->name_shared = shared;
    t->raw_name = 1;
}

void xs_set_params(struct xs_stream *s, const void *p, size_t n)
{
    free(s->params);
    s->params = NULL;
    if (n) {
        s->params = calloc(1, n);
        ck_assert_ptr_nonnull(s->params);
        if (p)
            memcpy(s->params, p, n);
    }
    s->params_len = n;
}

void xs_set_data(struct xs_stream *s, const void *p, size_t n)
{
    free(s->data);
    s->data = NULL;
    if (n) {
        s->data = calloc(1, n);
        ck_assert_ptr_nonnull(s->data);
        if (p)
            memcpy(s->data, p, n);
    }
    s->data_len = n;
}

void xs_stream_copy(struct xs_stream *dst, const struct xs_stream *src)
{
    *dst = *src;
    dst->params = NULL;
    dst->data = NULL;
    xs_set_params(dst, src->params, (size_t)src->params_len);
    xs_set_data(dst, src->data, src->data_len);
}

/* Recompute the checksum at the end of a body located through the table,
 * when the section header there agrees with the table entry e. */
static void fix_body(uint8_t *img, size_t n, const uint8_t *e)
{
    uint64_t so = get64(e), sl = get64(e + 8);
    if (sl < 8 || so > n || sl > n || so + 16 + sl > n)
        return;
    uint8_t *h = img + so;
    if (memcmp(h, e + 16, 4) != 0 || get64(h + 8) != sl)
        return;
    put64(h + 16 + sl - 8, xxh64(h + 16, (size_t)sl - 8));
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
    if (scount > (blen - 24) / 24)
        scount = 0;
    for (uint64_t i = 0; i < scount; i++) {
        const uint8_t *e = body + 16 + 24 * (size_t)i;
        if (memcmp(e + 16, "TDAT", 4) == 0 || memcmp(e + 16, "META", 4) == 0)
            fix_body(img, n, e);
    }
    put64(body + blen - 8, xxh64(body, (size_t)blen - 8));
}

/* ------------------------------------------------------------ metadata */

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

/* Small tensors around one of 64 KiB: the writer gives the big one a TDAT
 * of its own between two shared ones (spec 4). */
static void model_runs(struct model *m, struct rng *r)
{
    model_init(m);
    uint64_t d3[1] = {3}, d5[1] = {5}, big[2] = {256, 256};
    model_add(m, r, "a", 0, CNNZ_DT_F32, CNNZ_REPR_PLAIN, 0, 1, d3, NULL);
    model_add(m, r, "ab", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d5, NULL);
    model_add(m, r, "big", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 2, big, NULL);
    model_add(m, r, "c", 0, CNNZ_DT_I16, CNNZ_REPR_PLAIN, 0, 1, d3, NULL);
    model_add(m, r, "d", 0, CNNZ_DT_BOOL, CNNZ_REPR_PLAIN, 0, 1, d5, NULL);
    model_meta_string(m, CNNZ_META_PRODUCER, "test_patch");
}

START_TEST(test_reserialize_fixed)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    size_t n;
    uint8_t *img;
    void (*const fixed[])(struct model *) = {model_empty, model_meta_only};
    for (size_t i = 0; i < 2; i++) {
        fixed[i](&m);
        img = model_file(&m, &n);
        check_reserialize(img, n);
        free(img);
        model_free(&m);
    }
    void (*const seeded[])(struct model *, struct rng *) = {model_mixed, model_runs};
    for (size_t i = 0; i < 2; i++) {
        seeded[i](&m, &r);
        img = model_file(&m, &n);
        check_reserialize(img, n);
        free(img);
        model_free(&m);
    }
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

/* The big tensor of model_runs in its own TDAT between two shared ones, as
 * the reader reports them (cnnz_section_info, spec 5.1). */
START_TEST(test_runs_layout)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_runs(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct xs_file f;
    xs_parse(&f, img, n);
    ck_assert_uint_eq(f.nsec, 4);
    static const char *const tags[] = {"TDAT", "TDAT", "TDAT", "META"};
    static const size_t first[] = {0, 2, 3, 0}, count[] = {2, 1, 2, 0};
    for (size_t i = 0; i < 4; i++)
        ck_assert_mem_eq(f.sec[i].tag, tags[i], 4);
    static const uint64_t index[] = {0, 0, 1, 2, 2};
    for (size_t j = 0; j < 5; j++)
        ck_assert_uint_eq(f.t[j].section_index, index[j]);
    /* TDAT 0: a (f32 [3], 12 bytes) at the body start, ab (5 bytes) at the
     * next multiple of 8, then tdat_xxh64 */
    const uint64_t b0 = f.sec[0].offset + 16;
    ck_assert_uint_eq(f.sec[0].offset, 64);
    ck_assert_uint_eq(f.t[0].s[0].offset, b0);
    ck_assert_uint_eq(f.t[1].s[0].offset, b0 + 16);
    ck_assert_uint_eq(f.sec[0].body_len, 16 + 5 + 8);
    ck_assert_mem_eq(img + b0, m.t[0].expect, 12);
    for (uint64_t i = b0 + 12; i < b0 + 16; i++)
        ck_assert_uint_eq(img[i], 0);
    ck_assert_mem_eq(img + b0 + 16, m.t[1].expect, 5);
    ck_assert_uint_eq(get64(img + b0 + 21), xxh64(img + b0, 21));
    /* TDAT 1: big (65536 raw bytes) at a 64-byte boundary */
    ck_assert_uint_eq(f.sec[1].offset, align_up(b0 + 29, 8));
    ck_assert_uint_eq(f.t[2].s[0].offset, align_up(f.sec[1].offset + 16, 64));
    ck_assert_uint_eq(f.sec[1].body_len, f.t[2].s[0].offset + 65536 + 8 - (f.sec[1].offset + 16));
    ck_assert_mem_eq(img + f.t[2].s[0].offset, m.t[2].expect, 65536);
    xs_free(&f);

    cnnz_reader *rd;
    ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, n, NULL), CNNZ_OK);
    ck_assert_uint_eq(cnnz_reader_section_count(rd), 4);
    for (size_t i = 0; i < 4; i++) {
        struct cnnz_section_info si;
        ck_assert_int_eq(cnnz_reader_section_info(rd, i, &si), CNNZ_OK);
        ck_assert_str_eq(si.tag, tags[i]);
        ck_assert_uint_eq(si.first_tensor, first[i]);
        ck_assert_uint_eq(si.tensor_count, count[i]);
    }
    cnnz_reader_close(rd);
    ck_assert_int_eq(open_decode_verify(img, n, &m), 0);
    free(img);
    model_free(&m);
}
END_TEST

/* spec 4, 5.1: how tensors are grouped into runs is the encoder's choice.
 * Any partition into consecutive runs, with skippable sections anywhere,
 * decodes to the same tensors; the serializer reads back what it wrote. */
START_TEST(test_repartition)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_mixed(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    unsigned iters = test_iters(40);
    for (unsigned it = 0; it < iters + 1; it++) {
        struct xs_file f;
        xs_parse(&f, img, n);
        ck_assert_uint_eq(f.nsec, 2); /* one shared TDAT, META */
        for (size_t j = 1; j < f.nt; j++)
            if (it == 0 || rng_below(&r, 2))
                xs_split_run(&f, j); /* it 0: one TDAT per tensor */
        if (it && rng_below(&r, 2))
            xs_insert_section(&f, rng_below(&r, (uint32_t)f.nsec + 1), "XTRA", 0, "x", 1);
        size_t n2;
        uint8_t *img2 = xs_serialize(&f, &n2);
        ck_assert_int_eq(open_decode_verify(img2, n2, &m), 0);
        check_reserialize(img2, n2);
        if (it == 0) {
            cnnz_reader *rd;
            ck_assert_int_eq(cnnz_reader_open_memory(&rd, img2, n2, NULL), CNNZ_OK);
            ck_assert_uint_eq(cnnz_reader_section_count(rd), m.nt + 1);
            for (size_t i = 0; i < m.nt; i++) {
                struct cnnz_section_info si;
                ck_assert_int_eq(cnnz_reader_section_info(rd, i, &si), CNNZ_OK);
                ck_assert_uint_eq(si.first_tensor, i);
                ck_assert_uint_eq(si.tensor_count, 1);
            }
            cnnz_reader_close(rd);
        }
        free(img2);
        xs_free(&f);
    }
    free(img);
    model_free(&m);
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
  0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0xa5,
  0xe5, 0x4e, 0x0c, 0xee, 0x13, 0x3e, 0x74, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x4d, 0x45, 0x54, 0x41, 0x00, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x08, 0x00, 0x70, 0x72, 0x6f, 0x64, 0x75, 0x63, 0x65, 0x72, 0x01, 0x00,
  0x02, 0x00, 0x00, 0x00, 0x65, 0x78, 0x00, 0x84, 0xfd, 0xb9, 0x53, 0x21,
  0x63, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x54, 0x44, 0x49, 0x52,
  0x01, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x54, 0x44, 0x41, 0x54,
  0x01, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4d, 0x45, 0x54, 0x41,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x77, 0x06, 0x01, 0x00, 0x01, 0x00,
  0xa5, 0xe5, 0x4e, 0x0c, 0xee, 0x13, 0x3e, 0x74, 0x03, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x03, 0x03, 0xcf, 0x62, 0x16, 0xf8, 0x11, 0xa8, 0xa9, 0x9a,
  0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0xa2, 0xe5, 0x52, 0xf6, 0x17, 0x03, 0xa8, 0x8a,
  0x43, 0x4e, 0x5a, 0x45, 0x4e, 0x44, 0x0d, 0x0a
};

START_TEST(test_appendix_a_bytes)
{
    ck_assert_uint_eq(sizeof appendix_a, 296);
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
    for (size_t i = 0; i < b.len; i++)
        ck_assert_msg(b.data[i] == appendix_a[i], "Appendix A differs at byte 0x%03zx", i);
    /* the checksums the appendix's table names, recomputed here */
    ck_assert_uint_eq(get64(appendix_a + 0x38), xxh64(appendix_a, 0x38));
    ck_assert_uint_eq(get64(appendix_a + 0x53), xxh64("\x01\x02\x03", 3)); /* tdat_xxh64 */
    ck_assert_uint_eq(get64(appendix_a + 0x8a), xxh64(appendix_a + 0x70, 0x1a)); /* meta */
    ck_assert_uint_eq(get64(appendix_a + 0xf0), xxh64("\x01\x02\x03", 3)); /* decoded */
    ck_assert_uint_eq(get64(appendix_a + 0x100), xxh64(appendix_a + 0xa8, 0x58)); /* tdir */
    ck_assert_uint_eq(get64(appendix_a + 0x118), xxh64(appendix_a + 0x108, 16)); /* trailer */
    check_reserialize(appendix_a, sizeof appendix_a);
    cnnz_reader *r;
    ck_assert_int_eq(cnnz_reader_open_memory(&r, appendix_a, sizeof appendix_a, NULL), CNNZ_OK);
    uint8_t out[4] = {0, 0, 0, 0xA5};
    ck_assert_int_eq(cnnz_reader_decode(r, 0, out, 3, NULL), CNNZ_OK);
    ck_assert_mem_eq(out, "\x01\x02\x03\xA5", 4);
    struct cnnz_tensor_info ti;
    ck_assert_int_eq(cnnz_reader_tensor_info(r, 0, &ti), CNNZ_OK);
    ck_assert_uint_eq(ti.streams[0].offset, 0x50);
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
    /* TDAT at 64; body at 80 (a multiple of 8): 01 02 03, then tdat_xxh64 */
    ck_assert_mem_eq(img + 64, "TDAT", 4);
    ck_assert_uint_eq(get32(img + 68), 1);
    ck_assert_uint_eq(get64(img + 72), 3 + 8);
    ck_assert_mem_eq(img + 80, "\x01\x02\x03", 3);
    ck_assert_uint_eq(get64(img + 83), xxh64("\x01\x02\x03", 3));
    /* 5 padding bytes to 96, then TDIR */
    for (size_t i = 91; i < 96; i++)
        ck_assert_uint_eq(img[i], 0);
    ck_assert_mem_eq(img + 96, "TDIR", 4);
    struct xs_file f;
    xs_parse(&f, img, n);
    ck_assert_uint_eq(f.nt, 1);
    ck_assert_uint_eq(f.nsec, 1);
    ck_assert_uint_eq(f.sec[0].offset, 64);
    ck_assert_uint_eq(f.sec[0].table_flags, 1);
    ck_assert_uint_eq(f.sec[0].tdat_xxh, xxh64("\x01\x02\x03", 3));
    struct xs_tensor *t = &f.t[0];
    ck_assert_uint_eq(t->name_shared, 0);
    ck_assert_uint_eq(t->name_len, 1);
    ck_assert_uint_eq(t->dtype, CNNZ_DT_U8);
    ck_assert_uint_eq(t->rank, 1);
    ck_assert_uint_eq(t->dims[0], 3);
    ck_assert_uint_eq(t->repr, CNNZ_REPR_PLAIN);
    ck_assert_uint_eq(t->stream_count, 1);
    ck_assert_uint_eq(t->section_index, 0);
    ck_assert_uint_eq(t->decoded_xxh, xxh64("\x01\x02\x03", 3));
    ck_assert_uint_eq(t->rp_len, 0);
    struct xs_stream *s = &t->s[0];
    ck_assert_uint_eq(s->role, 0);
    ck_assert_uint_eq(s->coder, 0);
    ck_assert_uint_eq(s->version, 0);
    ck_assert_uint_eq(s->params_len, 0);
    ck_assert_uint_eq(s->offset, 80);
    ck_assert_uint_eq(s->data_len, 3);
    ck_assert_uint_eq(s->decoded_len, 3);
    /* the tensor entry, 24 bytes after the 16-byte TDIR header, 16 fixed
     * bytes and one 24-byte table entry */
    static const uint8_t entry_head[] = {0x00, 0x01, 'x', 0x06, 0x01, 0x00, 0x01, 0x00};
    ck_assert_uint_eq(t->pos, 96 + 16 + 16 + 24);
    ck_assert_mem_eq(img + t->pos, entry_head, sizeof entry_head);
    ck_assert_uint_eq(get64(img + t->pos + 8), xxh64("\x01\x02\x03", 3));
    ck_assert_mem_eq(img + t->pos + 16, "\x03\x00", 2); /* dims[0], repr_params_length */
    ck_assert_uint_eq(s->pos, t->pos + 18);
    ck_assert_mem_eq(img + s->pos, "\x00\x00\x00\x00\x03\x03", 6);
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

/* spec 1.1: varints, and the writer's directory uses them (5.3). */
START_TEST(test_varint_bytes)
{
    static const struct {
        uint64_t v;
        size_t n;
        uint8_t b[10];
    } ex[] = {
        {0, 1, {0x00}},
        {1, 1, {0x01}},
        {127, 1, {0x7F}},
        {128, 2, {0x80, 0x01}},
        {300, 2, {0xAC, 0x02}},
        {16383, 2, {0xFF, 0x7F}},
        {16384, 3, {0x80, 0x80, 0x01}},
        {UINT64_C(1) << 63, 10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
        {UINT64_MAX, 10, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}},
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        uint8_t b[16];
        ck_assert_uint_eq(xs_varint(b, ex[i].v), ex[i].n);
        ck_assert_mem_eq(b, ex[i].b, ex[i].n);
    }
    /* a u8 [300] tensor: dims[0] is AC 02 in its entry */
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_init(&m);
    uint64_t dims[1] = {300};
    model_add(&m, &r, "v", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, dims, NULL);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct xs_file f;
    xs_parse(&f, img, n);
    /* name_shared, suffix_length, "v", dtype, rank, repr, count, index, sum */
    const uint8_t *e = img + f.t[0].pos + 16;
    ck_assert_mem_eq(e, "\xAC\x02\x00", 3); /* dims[0], repr_params_length */
    ck_assert_mem_eq(e + 3, "\x00\x00\x00\x00\xAC\x02\xAC\x02", 8); /* the stream entry */
    xs_free(&f);
    free(img);
    model_free(&m);
}
END_TEST

/* spec 5.3: names share a prefix with the name before (the example of the
 * spec's paragraph), and the writer stores the longest one. */
START_TEST(test_name_prefix_bytes)
{
    struct model m;
    model_init(&m);
    uint64_t dims[1] = {1};
    model_add(&m, NULL, "conv2d_7.w_0", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, dims, "\x01");
    model_add(&m, NULL, "conv2d_7.b_0", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, dims, "\x02");
    model_add(&m, NULL, "conv2d_7.b", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, dims, "\x03");
    model_add(&m, NULL, "conv2d_7.b\xC3\xA9", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, dims, "\x04");
    model_add(&m, NULL, "conv2d_7.b\xC3\xA8", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, dims, "\x05");
    model_add(&m, NULL, "x", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, dims, "\x06");
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct xs_file f;
    xs_parse(&f, img, n);
    ck_assert_mem_eq(img + f.t[0].pos, "\x00\x0c" "conv2d_7.w_0\x06", 15);
    ck_assert_mem_eq(img + f.t[1].pos, "\x09\x03" "b_0\x06", 6);
    ck_assert_mem_eq(img + f.t[2].pos, "\x0a\x00\x06", 3); /* a prefix of the previous */
    ck_assert_mem_eq(img + f.t[3].pos, "\x0a\x02\xC3\xA9\x06", 5);
    /* the shared prefix ends inside a character: only its last byte differs */
    ck_assert_mem_eq(img + f.t[4].pos, "\x0b\x01\xA8\x06", 4);
    ck_assert_mem_eq(img + f.t[5].pos, "\x00\x01x\x06", 4);
    for (size_t j = 0; j < 6; j++) {
        ck_assert_uint_eq(f.t[j].name_len, m.t[j].name_len);
        ck_assert_mem_eq(f.t[j].name, m.t[j].name, m.t[j].name_len);
    }
    xs_free(&f);
    ck_assert_int_eq(open_decode_verify(img, n, &m), 0);
    free(img);
    model_free(&m);
}
END_TEST

/* spec 4: one TDAT body with raw streams below and above 1024 bytes and an
 * entropy-coded one, offsets computed by hand. */
START_TEST(test_tdat_bytes)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_init(&m);
    uint64_t d3[1] = {3}, d1023[1] = {1023}, d1024[1] = {1024}, d64[1] = {64};
    model_add(&m, &r, "s3", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d3, NULL);
    model_add(&m, &r, "k1023", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d1023, NULL);
    model_add(&m, &r, "k1024", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d1024, NULL);
    uint8_t sym[64];
    for (size_t i = 0; i < sizeof sym; i++)
        sym[i] = (uint8_t)rng_below(&r, 3);
    model_add(&m, &r, "h", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d64, sym)->coder =
        CNNZ_CODER_HUFFMAN;
    model_add(&m, &r, "s2", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d3, NULL);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct xs_file f;
    xs_parse(&f, img, n);
    ck_assert_uint_eq(f.nsec, 1);
    for (size_t j = 0; j < f.nt; j++)
        ck_assert_uint_eq(f.t[j].section_index, 0);
    ck_assert_uint_eq(f.t[3].s[0].coder, CNNZ_CODER_HUFFMAN);
    const uint64_t hl = f.t[3].s[0].data_len;
    ck_assert_uint_gt(hl, 0);
    /* body at 80: s3 80..83; k1023 at 88..1111; k1024 at 1152..2176;
     * h at 2176 (A = 1); s2 at align(2176 + hl, 8); then the checksum */
    static const uint64_t at[] = {80, 88, 1152, 2176};
    for (size_t j = 0; j < 4; j++)
        ck_assert_uint_eq(f.t[j].s[0].offset, at[j]);
    const uint64_t s2 = align_up(2176 + hl, 8);
    ck_assert_uint_eq(f.t[4].s[0].offset, s2);
    ck_assert_uint_eq(f.sec[0].body_len, s2 + 3 + 8 - 80);
    for (size_t j = 0; j < 5; j++)
        if (j != 3)
            ck_assert_mem_eq(img + f.t[j].s[0].offset, m.t[j].expect, m.t[j].expect_size);
    ck_assert_uint_eq(get64(img + s2 + 3), xxh64(img + 80, (size_t)(s2 + 3 - 80)));
    xs_free(&f);
    ck_assert_int_eq(open_decode_verify(img, n, &m), 0);
    free(img);
    model_free(&m);
}
END_TEST

/* The fault knobs of the serializer do what suite_spec relies on. */
START_TEST(test_fault_knobs)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_init(&m);
    uint64_t dims[1] = {300};
    model_add(&m, &r, "v", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, dims, NULL);
    model_add(&m, &r, "vw", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, dims, NULL);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct xs_file f;
    static const struct {
        int enc;
        size_t n;
        uint8_t b[11];
    } encs[] = {
        {XS_VENC_PADDED, 3, {0xAC, 0x82, 0x00}},
        {XS_VENC_LONG, 11, {0xAC, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}},
        {XS_VENC_OVERFLOW, 10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02}},
        {XS_VENC_VALUE, 2, {0x80, 0x01}},
    };
    for (size_t i = 0; i < sizeof encs / sizeof encs[0]; i++) {
        xs_parse(&f, img, n);
        f.vf = (struct xs_vfault){XS_V_DIM, 1, 0, encs[i].enc, 128};
        size_t n2;
        uint8_t *img2 = xs_serialize(&f, &n2);
        ck_assert_mem_eq(img2 + f.t[1].pos + 2 + 1 + 4 + 1 + 8, encs[i].b, encs[i].n);
        free(img2);
        xs_free(&f);
    }
    /* the cut: the area (and the TDIR body) ends inside the varint */
    xs_parse(&f, img, n);
    f.vf = (struct xs_vfault){XS_V_DIM, 0, 0, XS_VENC_CUT, 0};
    size_t n2;
    uint8_t *img2 = xs_serialize(&f, &n2);
    const uint64_t tdir = f.tdir_offset, blen = get64(img2 + tdir + 8);
    const uint64_t dim_at = f.t[0].pos + 2 + 1 + 4 + 1 + 8;
    ck_assert_uint_eq(tdir + 16 + blen, dim_at + 2 + 8);
    ck_assert_mem_eq(img2 + dim_at, "\xAC\x82", 2);
    ck_assert_uint_eq(get64(img2 + dim_at + 2), xxh64(img2 + tdir + 16, (size_t)blen - 8));
    free(img2);
    xs_free(&f);
    /* gap: body_length off by one each way, the checksum right after it */
    for (int gap = -1; gap <= 1; gap += 2) {
        xs_parse(&f, img, n);
        const uint64_t len = f.sec[0].body_len;
        f.sec[0].gap = gap;
        img2 = xs_serialize(&f, &n2);
        ck_assert_uint_eq(f.sec[0].body_len, (uint64_t)((int64_t)len + gap));
        ck_assert_uint_eq(get64(img2 + 72), f.sec[0].body_len);
        const uint64_t end = 80 + f.sec[0].body_len;
        ck_assert_uint_eq(get64(img2 + end - 8), xxh64(img2 + 80, (size_t)(end - 8 - 80)));
        free(img2);
        xs_free(&f);
    }
    /* align: the second stream right after the first instead of at 8 */
    xs_parse(&f, img, n);
    ck_assert_uint_eq(f.t[1].s[0].offset, 80 + 304);
    f.t[1].s[0].align = 1;
    img2 = xs_serialize(&f, &n2);
    ck_assert_uint_eq(f.t[1].s[0].offset, 380);
    ck_assert_mem_eq(img2 + 380, m.t[1].expect, 300);
    ck_assert_uint_eq(f.sec[0].body_len, 600 + 8);
    free(img2);
    xs_free(&f);
    /* split, remove: back to the same bytes */
    xs_parse(&f, img, n);
    xs_split_run(&f, 1);
    ck_assert_uint_eq(f.nsec, 2);
    ck_assert_uint_eq(f.t[1].section_index, 1);
    f.t[1].section_index = 0;
    xs_remove_section(&f, 1);
    img2 = xs_serialize(&f, &n2);
    ck_assert_uint_eq(n2, n);
    ck_assert_mem_eq(img2, img, n);
    free(img2);
    xs_free(&f);
    /* raw names: the same bytes when they say what the writer said */
    xs_parse(&f, img, n);
    xs_set_raw_name(&f.t[1], 1, "w", 1);
    img2 = xs_serialize(&f, &n2);
    ck_assert_mem_eq(img2, img, n);
    free(img2);
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
    tcase_add_test(tc, test_runs_layout);
    tcase_add_test(tc, test_repartition);
    tcase_add_test(tc, test_smallest_file_bytes);
    tcase_add_test(tc, test_worked_example_raw);
    tcase_add_test(tc, test_appendix_a_bytes);
    tcase_add_test(tc, test_varint_bytes);
    tcase_add_test(tc, test_name_prefix_bytes);
    tcase_add_test(tc, test_tdat_bytes);
    tcase_add_test(tc, test_fault_knobs);
    tcase_add_test(tc, test_repr_params_bytes);
    tcase_add_test(tc, test_meta_bytes);
    suite_add_tcase(s, tc);
    return s;
}
