/* suite_spec: byte-level rules of spec/cnnz-format.md, each exercised by a
 * file that breaks exactly that rule: a valid file from the writer is parsed
 * with the spec serializer of test_patch.c, one field is changed, and the
 * file is serialized again with every offset, padding and checksum
 * recomputed (so the test hits the rule, not a checksum). Where a change
 * necessarily breaks two rules, both tokens are accepted, as spec section 10
 * allows. Section numbers below are the spec's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

/* Tensors of model_mixed, by index. */
enum { T_CONV, T_Q8, T_Q16, T_HALF, T_BHALF, T_FLAGS, T_EMPTY };

struct fx {
    struct model m;
    uint8_t *img;
    size_t n;
    struct xs_file f;
    uint8_t *out; /* the mutated image */
    size_t on;
};

static void fx_init(struct fx *x, const char *label)
{
    struct rng r;
    rng_init(&r, label);
    model_mixed(&x->m, &r);
    x->img = model_file(&x->m, &x->n);
    x->out = NULL;
    xs_parse(&x->f, x->img, x->n);
}

/* Start a new case from the pristine file. */
static void fx_reset(struct fx *x)
{
    free(x->out);
    x->out = NULL;
    xs_free(&x->f);
    xs_parse(&x->f, x->img, x->n);
}

static void fx_free(struct fx *x)
{
    free(x->out);
    xs_free(&x->f);
    free(x->img);
    model_free(&x->m);
}

static uint8_t *fx_build(struct fx *x)
{
    free(x->out);
    x->out = xs_serialize(&x->f, &x->on);
    return x->out;
}

/* Bytes changed after serializing: recompute the container checksums. */
static void fx_fix(struct fx *x)
{
    xs_fix_checksums(x->out, x->on);
}

/* The rule must be caught by cnnz_reader_open_memory. */
static void expect_open(struct fx *x, int want, int also, const char *what)
{
    uint8_t *p = dup_exact(x->out, x->on);
    cnnz_reader *r = NULL;
    struct cnnz_where w;
    memset(&w, 0, sizeof w);
    struct cnnz_open_options o = {NULL, NULL, &w};
    int err = cnnz_reader_open_memory(&r, p, x->on, &o);
    ck_assert_msg(err == want || (also && err == also), "%s: open gave %s, want %s%s%s", what,
                  cnnz_error_token(err), cnnz_error_token(want), also ? " or " : "",
                  also ? cnnz_error_token(also) : "");
    ck_assert_int_eq(w.err, err);
    cnnz_reader_close(r);
    free(p);
}

/* The rule must be caught by open, a decode, or verify (in that order). */
static void expect_any(struct fx *x, int want, int also, const char *what)
{
    uint8_t *p = dup_exact(x->out, x->on);
    int err = open_decode_verify(p, x->on, NULL);
    ck_assert_msg(err == want || (also && err == also), "%s: got %s, want %s%s%s", what,
                  cnnz_error_token(err), cnnz_error_token(want), also ? " or " : "",
                  also ? cnnz_error_token(also) : "");
    free(p);
}

/* Open must succeed; the rule is caught when tensor t is decoded (and by
 * verify). Other tensors decode. */
static void expect_decode(struct fx *x, size_t t, int want, const char *what)
{
    uint8_t *p = dup_exact(x->out, x->on);
    cnnz_reader *r = NULL;
    int err = cnnz_reader_open_memory(&r, p, x->on, NULL);
    ck_assert_msg(err == 0, "%s: open gave %s; the rule is for decode time", what,
                  cnnz_error_token(err));
    for (size_t i = 0; i < cnnz_reader_tensor_count(r); i++) {
        struct cnnz_tensor_info ti;
        ck_assert_int_eq(cnnz_reader_tensor_info(r, i, &ti), 0);
        uint8_t *dst = malloc(ti.decoded_bytes + 1);
        ck_assert_ptr_nonnull(dst);
        struct cnnz_where w;
        memset(&w, 0, sizeof w);
        err = cnnz_reader_decode(r, i, dst, (size_t)ti.decoded_bytes, &w);
        if (i == t) {
            ck_assert_msg(err == want, "%s: decode gave %s, want %s", what, cnnz_error_token(err),
                          cnnz_error_token(want));
            ck_assert_int_eq(w.tensor, (int64_t)t);
        } else {
            ck_assert_msg(err == 0, "%s: decode of another tensor %zu gave %s", what, i,
                          cnnz_error_token(err));
        }
        free(dst);
    }
    err = cnnz_reader_verify(r, NULL);
    ck_assert_msg(err == want, "%s: verify gave %s, want %s", what, cnnz_error_token(err),
                  cnnz_error_token(want));
    cnnz_reader_close(r);
    free(p);
}

/* Everything succeeds and matches the model. */
static void expect_ok(struct fx *x, const char *what)
{
    uint8_t *p = dup_exact(x->out, x->on);
    int err = open_decode_verify(p, x->on, &x->m);
    ck_assert_msg(err == 0, "%s: %s, want success", what, cnnz_error_token(err));
    free(p);
}

static void set_minor(struct fx *x, uint16_t minor)
{
    put16(x->f.header + 10, minor);
}

/* ---------------------------------------------------------- versions (2) */

START_TEST(test_versions)
{
    struct fx x;
    fx_init(&x, __func__);
    static const uint16_t minors[] = {1, 2, 0x7FFF, 0xFFFF};
    for (size_t i = 0; i < sizeof minors / sizeof minors[0]; i++) {
        fx_reset(&x);
        set_minor(&x, minors[i]);
        fx_build(&x);
        expect_ok(&x, "newer minor");
        cnnz_reader *r;
        ck_assert_int_eq(cnnz_reader_open_memory(&r, x.out, x.on, NULL), 0);
        unsigned ma = 0, mi = 0;
        cnnz_reader_version(r, &ma, &mi);
        ck_assert_uint_eq(ma, 1);
        ck_assert_uint_eq(mi, minors[i]);
        cnnz_reader_close(r);
    }
    static const uint16_t majors[] = {0, 2, 3, 0x100, 0xFFFF};
    for (size_t i = 0; i < sizeof majors / sizeof majors[0]; i++) {
        fx_reset(&x);
        put16(x.f.header + 8, majors[i]);
        fx_build(&x);
        expect_open(&x, CNNZ_E_VERSION, 0, "other major");
        /* a newer major is rejected even with a newer minor */
        fx_reset(&x);
        put16(x.f.header + 8, majors[i]);
        set_minor(&x, 5);
        fx_build(&x);
        expect_open(&x, CNNZ_E_VERSION, 0, "other major, newer minor");
    }
    fx_free(&x);
}
END_TEST

/* ----------------------------------------------- reserved fields (2, 3, 5) */

enum rfield {
    R_HDR_FLAGS, R_HDR_RES16, R_HDR_RES55, R_TRAILER, R_TDAT_FLAGS, R_TDIR_FLAGS, R_META_FLAGS,
    R_TENSOR, R_STREAM, /* the ones a newer minor makes ignorable */
    R_TDIR_BODY, R_META_BODY, R_META_ENTRY, R_AFFINE, R_WIDEN, R_COUNT
};
static const char *const rnames[] = {
    "header flags",   "header reserved[16]", "header reserved[55]", "trailer reserved",
    "TDAT flag bit",  "TDIR flag bit",       "META flag bit",       "tensor entry reserved",
    "stream reserved", "TDIR body reserved", "META body reserved",  "META entry reserved",
    "affine params reserved", "widen params reserved"};

static void set_reserved(struct fx *x, int which)
{
    struct xs_file *f = &x->f;
    long mi = xs_find_section(f, "META");
    switch (which) {
    case R_HDR_FLAGS: f->header[12] = 0x01; fx_build(x); break;
    case R_HDR_RES16: f->header[16] = 0x80; fx_build(x); break;
    case R_HDR_RES55: f->header[55] = 0x01; fx_build(x); break;
    case R_TRAILER: f->trailer_reserved = 1; fx_build(x); break;
    case R_TDAT_FLAGS: /* bit 1 in the section header and its table entry */
        f->sec[f->t[T_Q8].section_index].flags |= 2;
        f->sec[f->t[T_Q8].section_index].table_flags |= 2;
        fx_build(x);
        break;
    case R_TDIR_FLAGS: f->tdir_flags |= 0x80000000u; fx_build(x); break;
    case R_META_FLAGS:
        ck_assert_int_ge(mi, 0);
        f->sec[mi].flags |= 4;
        f->sec[mi].table_flags |= 4;
        fx_build(x);
        break;
    case R_TENSOR: f->t[T_CONV].reserved = 0x100; fx_build(x); break;
    case R_STREAM: f->t[T_HALF].s[0].reserved = 1; fx_build(x); break;
    case R_TDIR_BODY: f->tdir_reserved = UINT64_C(1) << 63; fx_build(x); break;
    case R_META_BODY:
        ck_assert_int_ge(mi, 0);
        f->sec[mi].body[4] = 1;
        fx_build(x);
        fx_fix(x);
        break;
    case R_META_ENTRY:
        ck_assert_int_ge(mi, 0);
        /* first entry: key_length u16, key, type, reserved */
        f->sec[mi].body[8 + 2 + get16(f->sec[mi].body + 8) + 1] = 1;
        fx_build(x);
        fx_fix(x);
        break;
    case R_AFFINE: f->t[T_Q16].rp[3] = 1; fx_build(x); break;
    default: f->t[T_BHALF].rp[7] = 0x40; fx_build(x); break;
    }
}

START_TEST(test_reserved_minor0)
{
    struct fx x;
    fx_init(&x, __func__);
    for (int k = 0; k < R_COUNT; k++) {
        fx_reset(&x);
        set_reserved(&x, k);
        expect_open(&x, CNNZ_E_RESERVED, 0, rnames[k]);
    }
    fx_free(&x);
}
END_TEST

/* spec 2: a newer minor's reserved fields of the header, trailer, section
 * headers and directory entries are ignored. (The TDIR/META body words,
 * META entry byte and repr params are not in that list: not tested.) */
START_TEST(test_reserved_newer_minor)
{
    struct fx x;
    fx_init(&x, __func__);
    for (int k = 0; k <= R_STREAM; k++) {
        fx_reset(&x);
        set_minor(&x, 1);
        set_reserved(&x, k);
        expect_ok(&x, rnames[k]);
    }
    /* all of them at once */
    fx_reset(&x);
    set_minor(&x, 3);
    x.f.header[12] = 0xFF;
    memset(x.f.header + 16, 0xA5, 40);
    x.f.trailer_reserved = UINT64_MAX;
    x.f.tdir_flags = 0xFFFFFFFFu;
    for (size_t i = 0; i < x.f.nsec; i++) {
        x.f.sec[i].flags |= 0xFFFFFFF0u;
        x.f.sec[i].table_flags |= 0xFFFFFFF0u;
    }
    for (size_t i = 0; i < x.f.nt; i++) {
        x.f.t[i].reserved = 0xFFFFFFFFu;
        x.f.t[i].s[0].reserved = 0xFF;
    }
    fx_build(&x);
    expect_ok(&x, "every ignorable reserved field set");
    fx_free(&x);
}
END_TEST

/* ------------------------------------------------------ padding (3.2, 4) */

START_TEST(test_padding)
{
    struct fx x;
    fx_init(&x, __func__);
    for (int minor = 0; minor < 2; minor++) {
        /* inside a TDAT body, before its 64-aligned raw stream */
        fx_reset(&x);
        set_minor(&x, (uint16_t)minor);
        struct xs_section *s = &x.f.sec[x.f.t[T_Q8].section_index];
        fx_build(&x);
        ck_assert_uint_gt(x.f.t[T_Q8].s[0].offset, s->offset + 16);
        x.out[s->offset + 16] = 1;
        expect_decode(&x, T_Q8, CNNZ_E_RESERVED, "TDAT padding before the stream");
        fx_build(&x);
        x.out[x.f.t[T_Q8].s[0].offset - 1] = 0x80;
        expect_decode(&x, T_Q8, CNNZ_E_RESERVED, "TDAT padding, last byte");

        /* after a TDAT body, up to the 8-byte boundary: q8 has 7 bytes */
        fx_build(&x);
        uint64_t end = s->offset + 16 + s->body_len;
        ck_assert_uint_ne(end % 8, 0);
        x.out[end] = 1;
        expect_decode(&x, T_Q8, CNNZ_E_RESERVED, "padding after a TDAT body");

        /* after the META body (checked at open, 9.1 step 5) */
        long mi = xs_find_section(&x.f, "META");
        ck_assert_int_ge(mi, 0);
        uint8_t pad[3] = {'x', 'y', 'z'};
        fx_reset(&x);
        set_minor(&x, (uint16_t)minor);
        /* make the META body length not a multiple of 8 */
        struct xs_meta_builder mb;
        xs_meta_begin(&mb);
        xs_meta_entry(&mb, "k", 1, CNNZ_META_BYTES, 0, pad, 3);
        size_t bn;
        uint8_t *body = xs_meta_end(&mb, 1, 0, &bn);
        xs_set_meta(&x.f, body, bn);
        free(body);
        fx_build(&x);
        mi = xs_find_section(&x.f, "META");
        end = x.f.sec[mi].offset + 16 + x.f.sec[mi].body_len;
        ck_assert_uint_ne(end % 8, 0);
        x.out[end + 1] = 0x20;
        expect_open(&x, CNNZ_E_RESERVED, 0, "padding after META");

        /* after a skippable section (verify) */
        fx_reset(&x);
        set_minor(&x, (uint16_t)minor);
        xs_insert_section(&x.f, 1, "XTRA", 0, "12345", 5);
        fx_build(&x);
        end = x.f.sec[1].offset + 16 + 5;
        x.out[end + 2] = 1;
        expect_any(&x, CNNZ_E_RESERVED, 0, "padding after a skippable section");

        /* before the trailer (9.1 step 3): grow a name until TDIR needs it */
        fx_reset(&x);
        set_minor(&x, (uint16_t)minor);
        for (int grow = 0; grow < 8; grow++) {
            fx_build(&x);
            if (x.f.trailer_offset > x.f.tdir_offset + 16 + get64(x.out + x.f.tdir_offset + 8))
                break;
            struct xs_tensor *t = &x.f.t[T_CONV];
            uint8_t *nn = malloc(t->name_len + 1u);
            ck_assert_ptr_nonnull(nn);
            memcpy(nn, t->name, t->name_len);
            nn[t->name_len] = 'Z';
            free(t->name);
            t->name = nn;
            t->name_len++;
        }
        ck_assert_uint_gt(x.f.trailer_offset, x.f.tdir_offset + 16 + get64(x.out + x.f.tdir_offset + 8));
        x.out[x.f.trailer_offset - 1] = 1;
        expect_open(&x, CNNZ_E_RESERVED, 0, "padding before the trailer");
    }
    fx_free(&x);
}
END_TEST

/* ------------------------------------------------------------ sections (3.2) */

static void check_unknown_listed(struct fx *x, const char *tag)
{
    cnnz_reader *r;
    ck_assert_int_eq(cnnz_reader_open_memory(&r, x->out, x->on, NULL), 0);
    int found = 0;
    for (size_t i = 0; i < cnnz_reader_section_count(r); i++) {
        struct cnnz_section_info si;
        ck_assert_int_eq(cnnz_reader_section_info(r, i, &si), 0);
        if (strcmp(si.tag, tag) == 0) {
            found++;
            ck_assert(!si.known);
            ck_assert(!si.critical);
        }
    }
    ck_assert_int_eq(found, 1);
    cnnz_reader_close(r);
}

START_TEST(test_unknown_sections)
{
    struct fx x;
    fx_init(&x, __func__);
    uint8_t body[77];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(i * 37 + 1); /* non-zero junk: not interpreted */
    size_t nsec = x.f.nsec;
    static const size_t lens[] = {0, 1, 13, 77};
    for (size_t at = 0; at <= nsec; at++) {
        for (size_t li = 0; li < 4; li++) {
            for (int minor = 0; minor < 2; minor++) {
                fx_reset(&x);
                set_minor(&x, (uint16_t)minor);
                xs_insert_section(&x.f, at, "XTRA", 0, body, lens[li]);
                fx_build(&x);
                expect_ok(&x, "skippable unknown section");
                check_unknown_listed(&x, "XTRA");
                /* the same section marked critical is rejected at open */
                fx_reset(&x);
                set_minor(&x, (uint16_t)minor);
                xs_insert_section(&x.f, at, "XTRA", 1, body, lens[li]);
                fx_build(&x);
                expect_open(&x, CNNZ_E_SECTION, 0, "unknown critical section");
            }
        }
    }
    /* tags need not be letters */
    fx_reset(&x);
    xs_insert_section(&x.f, 0, "\x00\xFF\x01 ", 0, body, 9);
    fx_build(&x);
    expect_ok(&x, "skippable section with a binary tag");
    fx_free(&x);
}
END_TEST

START_TEST(test_known_section_rules)
{
    struct fx x;
    fx_init(&x, __func__);
    long mi = xs_find_section(&x.f, "META");
    ck_assert_int_ge(mi, 0);
    uint32_t tdat = x.f.t[T_HALF].section_index;

    fx_reset(&x);
    x.f.sec[tdat].flags = x.f.sec[tdat].table_flags = 0;
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, 0, "TDAT not critical");

    fx_reset(&x);
    x.f.sec[mi].flags = x.f.sec[mi].table_flags = 1;
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, 0, "META critical");

    fx_reset(&x);
    xs_insert_section(&x.f, 0, "META", 0, x.f.sec[mi].body, x.f.sec[mi].body_n);
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, 0, "second META");

    fx_reset(&x);
    xs_insert_section(&x.f, 2, "TDIR", 1, "\0\0\0\0\0\0\0\0", 8);
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, 0, "TDIR in the section table");

    /* a TDAT no tensor references */
    fx_reset(&x);
    xs_insert_section(&x.f, 3, "TDAT", 1, "abc", 3);
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, 0, "unreferenced TDAT");

    /* section_index naming META, or past the table */
    fx_reset(&x);
    x.f.t[T_EMPTY].section_index = (uint32_t)mi;
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, CNNZ_E_LAYOUT, "section_index names META");
    fx_reset(&x);
    x.f.t[T_EMPTY].section_index = (uint32_t)x.f.nsec;
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, CNNZ_E_LAYOUT, "section_index past the table");
    fx_reset(&x);
    x.f.t[T_EMPTY].section_index = 0xFFFFFFFFu;
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, CNNZ_E_LAYOUT, "section_index 2^32-1");

    /* a TDAT referenced twice: two tensors with equal stream layouts
     * (q8 [7] u8 and flags [7] bool) share q8's section; flags' own TDAT
     * is then unreferenced. Both rules give CNNZ_E_SECTION. */
    fx_reset(&x);
    ck_assert_uint_eq(x.f.t[T_Q8].s[0].data_len, x.f.t[T_FLAGS].s[0].data_len);
    fx_build(&x);
    x.f.t[T_FLAGS].section_index = x.f.t[T_Q8].section_index;
    fx_build(&x);
    x.f.t[T_FLAGS].s[0].offset = x.f.t[T_Q8].s[0].offset;
    ck_assert_ptr_nonnull(fx_build(&x)); /* flags' streams keep q8's offset */
    expect_open(&x, CNNZ_E_SECTION, 0, "TDAT referenced twice");
    fx_free(&x);
}
END_TEST

/* spec 3.2: a known tag with the wrong CRITICAL flag is CNNZ_E_SECTION; the
 * TDIR is a known tag (its own test so a failure hides nothing else). */
START_TEST(test_tdir_not_critical)
{
    struct fx x;
    fx_init(&x, __func__);
    x.f.tdir_flags = 0;
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, 0, "TDIR not critical");
    fx_free(&x);
}
END_TEST

/* ----------------------------------------------------------- layout (3.4) */

START_TEST(test_layout)
{
    struct fx x;
    fx_init(&x, __func__);
    uint8_t *p;
    size_t n;

    /* trailing bytes: a second trailer appended */
    fx_reset(&x);
    fx_build(&x);
    p = malloc(x.on + 32);
    ck_assert_ptr_nonnull(p);
    memcpy(p, x.out, x.on);
    memcpy(p + x.on, x.out + x.on - 32, 32);
    free(x.out);
    x.out = p;
    x.on += 32;
    expect_open(&x, CNNZ_E_LAYOUT, 0, "trailing bytes (a second trailer)");

    /* trailing bytes between TDIR and the trailer: 8 zero bytes */
    fx_build(&x);
    n = x.on + 8;
    p = calloc(1, n);
    ck_assert_ptr_nonnull(p);
    memcpy(p, x.out, x.on - 32);
    memcpy(p + n - 32, x.out + x.on - 32, 32);
    free(x.out);
    x.out = p;
    x.on = n;
    expect_open(&x, CNNZ_E_LAYOUT, 0, "8 bytes between TDIR and the trailer");

    /* a 64-byte hole before section 1: every later offset moved (so raw
     * streams stay 64-aligned) but section 0 still ends where it did */
    fx_reset(&x);
    fx_build(&x);
    uint64_t hole = x.f.sec[1].offset;
    n = x.on + 64;
    p = calloc(1, n);
    ck_assert_ptr_nonnull(p);
    memcpy(p, x.out, hole);
    memcpy(p + hole + 64, x.out + hole, x.on - hole);
    for (size_t i = 1; i < x.f.nsec; i++)
        put64(p + x.f.tdir_offset + 64 + 16 + 16 + 24 * i, x.f.sec[i].offset + 64);
    for (size_t j = 0; j < x.f.nt; j++)
        if (x.f.t[j].section_index >= 1)
            put64(p + x.f.t[j].s[0].pos + 64 + 6 + x.f.t[j].s[0].params_len,
                  x.f.t[j].s[0].offset + 64);
    put64(p + n - 32, x.f.tdir_offset + 64);
    free(x.out);
    x.out = p;
    x.on = n;
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "a hole between sections");

    /* overlapping sections: section 1's table offset 8 bytes early */
    fx_reset(&x);
    fx_build(&x);
    put64(x.out + x.f.tdir_offset + 32 + 24, x.f.sec[1].offset - 8);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "overlapping sections");

    /* a TDAT body_length one more in the table only */
    fx_reset(&x);
    fx_build(&x);
    put64(x.out + x.f.tdir_offset + 32 + 24 * 2 + 8, x.f.sec[2].body_len + 1);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "TDAT body_length off by one (table)");

    /* a raw stream not at its 64-aligned place (spec 4) */
    fx_reset(&x);
    fx_build(&x);
    struct xs_stream *s = &x.f.t[T_Q16].s[0];
    put64(x.out + s->pos + 6, s->offset - 64);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "stream offset 64 early");
    fx_build(&x);
    put64(x.out + s->pos + 6, s->offset + 1);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "stream offset + 1");
    fx_build(&x);
    put64(x.out + s->pos + 6, UINT64_MAX - 3);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "stream offset near 2^64");

    /* tdir_offset elsewhere */
    static const uint64_t toffs[] = {0, 8, 64, 136, UINT64_MAX, UINT64_MAX - 15};
    for (size_t i = 0; i < sizeof toffs / sizeof toffs[0]; i++) {
        fx_build(&x);
        put64(x.out + x.on - 32, toffs[i]);
        put64(x.out + x.on - 16, xxh64(x.out + x.on - 32, 16));
        expect_open(&x, CNNZ_E_LAYOUT, 0, "tdir_offset moved");
    }
    fx_build(&x);
    put64(x.out + x.on - 32, x.f.tdir_offset + 8);
    put64(x.out + x.on - 16, xxh64(x.out + x.on - 32, 16));
    expect_open(&x, CNNZ_E_LAYOUT, 0, "tdir_offset + 8");
    fx_build(&x);
    put64(x.out + x.on - 32, x.on - 32 - 8); /* no room for a section header */
    put64(x.out + x.on - 16, xxh64(x.out + x.on - 32, 16));
    expect_open(&x, CNNZ_E_LAYOUT, 0, "tdir_offset 8 bytes before the trailer");

    /* a TDIR body shorter than 24 bytes (spec 5), in a file of 144 bytes */
    {
        uint8_t *h = calloc(1, 144);
        ck_assert_ptr_nonnull(h);
        memcpy(h, x.img, 8);
        put16(h + 8, 1);
        put64(h + 56, xxh64(h, 56));
        memcpy(h + 64, "XTRA", 4); /* skippable, empty body */
        memcpy(h + 80, "TDIR", 4);
        put32(h + 84, 1);
        put64(h + 88, 16);
        put64(h + 104, xxh64(h + 96, 8));
        put64(h + 112, 80);
        put64(h + 128, xxh64(h + 112, 16));
        memcpy(h + 136, "CNZEND\r\n", 8);
        free(x.out);
        x.out = h;
        x.on = 144;
        expect_open(&x, CNNZ_E_LAYOUT, 0, "TDIR body of 16 bytes");
    }

    /* the TDIR header: wrong tag, body_length disagreeing with the trailer */
    fx_build(&x);
    x.out[x.f.tdir_offset + 3] = 'X';
    expect_open(&x, CNNZ_E_LAYOUT, 0, "TDIR tag");
    fx_build(&x);
    put64(x.out + x.f.tdir_offset + 8, get64(x.out + x.f.tdir_offset + 8) + 8);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "TDIR body_length + 8");
    fx_build(&x);
    put64(x.out + x.f.tdir_offset + 8, UINT64_MAX - 7);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "TDIR body_length near 2^64");

    /* TDAT section header disagreeing with its table entry: at decode */
    size_t ti = T_Q16;
    uint64_t so = x.f.sec[x.f.t[ti].section_index].offset;
    fx_build(&x);
    put64(x.out + so + 8, get64(x.out + so + 8) + 1);
    expect_decode(&x, ti, CNNZ_E_LAYOUT, "TDAT header body_length");
    fx_build(&x);
    x.out[so] = 'M';
    expect_decode(&x, ti, CNNZ_E_LAYOUT, "TDAT header tag");
    fx_build(&x);
    x.out[so + 4] = 0;
    expect_decode(&x, ti, CNNZ_E_LAYOUT, "TDAT header flags");
    /* META header disagreeing: at open */
    long mi = xs_find_section(&x.f, "META");
    fx_build(&x);
    put64(x.out + x.f.sec[mi].offset + 8, x.f.sec[mi].body_len - 8);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "META header body_length");
    /* a skippable section header disagreeing: found by verify */
    fx_reset(&x);
    xs_insert_section(&x.f, 0, "XTRA", 0, "hello", 5);
    fx_build(&x);
    put64(x.out + 64 + 8, 6);
    expect_any(&x, CNNZ_E_LAYOUT, 0, "skippable header body_length");

    /* tensor entries not filling the directory exactly (spec 5) */
    fx_reset(&x);
    fx_build(&x);
    put32(x.out + x.f.tdir_offset + 16, (uint32_t)x.f.nt + 1);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "tensor_count + 1");
    fx_build(&x);
    put32(x.out + x.f.tdir_offset + 16, (uint32_t)x.f.nt - 1);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, CNNZ_E_SECTION, "tensor_count - 1");
    fx_build(&x);
    put32(x.out + x.f.tdir_offset + 16, 0xFFFFFFFFu);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_FORMAT_LIMIT, CNNZ_E_LAYOUT, "tensor_count 2^32-1");
    fx_build(&x);
    put32(x.out + x.f.tdir_offset + 20, 0xFFFFFFFFu);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "section_count 2^32-1");
    fx_free(&x);
}
END_TEST

/* ---------------------------------------------------------- checksums */

START_TEST(test_checksums)
{
    struct fx x;
    fx_init(&x, __func__);
    fx_build(&x);
    x.out[56] ^= 1;
    expect_open(&x, CNNZ_E_CHECKSUM, 0, "header checksum");
    fx_build(&x);
    x.out[x.on - 16] ^= 0x80;
    expect_open(&x, CNNZ_E_CHECKSUM, 0, "trailer checksum");
    fx_build(&x);
    uint64_t tb = get64(x.out + x.f.tdir_offset + 8);
    x.out[x.f.tdir_offset + 16 + tb - 1] ^= 1;
    expect_open(&x, CNNZ_E_CHECKSUM, 0, "TDIR checksum");
    fx_build(&x);
    x.out[x.f.tdir_offset + 16 + 9] ^= 1; /* a reserved byte: checksum first */
    expect_open(&x, CNNZ_E_CHECKSUM, 0, "TDIR body changed");
    long mi = xs_find_section(&x.f, "META");
    fx_build(&x);
    x.out[x.f.sec[mi].offset + 16 + x.f.sec[mi].body_len - 8] ^= 4;
    expect_open(&x, CNNZ_E_CHECKSUM, 0, "META checksum");
    fx_build(&x);
    x.out[x.f.sec[mi].offset + 16 + 4] ^= 4; /* reserved: checksum first */
    expect_open(&x, CNNZ_E_CHECKSUM, 0, "META body changed");

    /* a stream's coded_xxh64 (directory fixed up): at decode */
    fx_reset(&x);
    x.f.keep_coded_xxh = 1;
    x.f.t[T_HALF].s[0].coded_xxh ^= 1;
    fx_build(&x);
    expect_decode(&x, T_HALF, CNNZ_E_CHECKSUM, "coded_xxh64");
    /* coded bytes changed, coded_xxh64 recomputed: the decoded checksum
     * (not affine: a random scale of 0 could map both symbols alike) */
    static const size_t which[] = {T_CONV, T_HALF, T_BHALF};
    for (size_t i = 0; i < sizeof which / sizeof which[0]; i++) {
        fx_reset(&x);
        x.f.t[which[i]].s[0].data[0] ^= 0x01;
        fx_build(&x);
        expect_decode(&x, which[i], CNNZ_E_CHECKSUM, "decoded_xxh64");
        /* decode_stream checks only the coded checksum: it succeeds */
        cnnz_reader *r;
        ck_assert_int_eq(cnnz_reader_open_memory(&r, x.out, x.on, NULL), 0);
        uint8_t buf[128];
        ck_assert_int_eq(cnnz_reader_decode_stream(r, which[i], 0, buf, sizeof buf, NULL), 0);
        ck_assert_mem_eq(buf, x.f.t[which[i]].s[0].data, x.f.t[which[i]].s[0].data_len);
        cnnz_reader_close(r);
    }
    fx_reset(&x);
    x.f.t[T_CONV].decoded_xxh ^= UINT64_C(1) << 40;
    fx_build(&x);
    expect_decode(&x, T_CONV, CNNZ_E_CHECKSUM, "decoded_xxh64 field");
    fx_free(&x);
}
END_TEST

/* -------------------------------------------------- tensor entries (5.3) */

static void set_name(struct xs_tensor *t, const void *name, size_t n)
{
    free(t->name);
    t->name = dup_exact(name, n);
    t->name_len = (uint16_t)n;
}

START_TEST(test_tensor_entries)
{
    struct fx x;
    fx_init(&x, __func__);
    static const uint8_t bad_dt[] = {0, 14, 15, 128, 255};
    for (size_t i = 0; i < sizeof bad_dt; i++) {
        fx_reset(&x);
        x.f.t[T_CONV].dtype = bad_dt[i];
        fx_build(&x);
        expect_open(&x, CNNZ_E_DTYPE, 0, "unknown dtype");
    }
    /* rank 33 with 33 dims of 1 (element count unchanged) */
    for (unsigned rk = 33; rk <= 255; rk += 222) {
        fx_reset(&x);
        struct xs_tensor *t = &x.f.t[T_Q8];
        t->dims[0] = 7;
        for (unsigned k = 1; k < rk; k++)
            t->dims[k] = 1;
        t->rank = (uint8_t)rk;
        fx_build(&x);
        expect_open(&x, CNNZ_E_FORMAT_LIMIT, 0, "rank over 32");
    }
    static const uint8_t bad_repr[] = {6, 7, 255};
    for (size_t i = 0; i < sizeof bad_repr; i++) {
        fx_reset(&x);
        x.f.t[T_CONV].repr = bad_repr[i];
        fx_build(&x);
        expect_open(&x, CNNZ_E_REPR, 0, "unknown repr");
    }
    fx_reset(&x);
    x.f.t[T_CONV].stream_count = 0;
    fx_build(&x);
    expect_open(&x, CNNZ_E_STREAM, 0, "stream_count 0");
    /* a second stream (a copy of the first, laid out after it) */
    fx_reset(&x);
    {
        struct xs_tensor *t = &x.f.t[T_CONV];
        t->s[1] = t->s[0];
        t->s[1].data = dup_exact(t->s[0].data, t->s[0].data_len);
        t->stream_count = 2;
    }
    fx_build(&x);
    expect_open(&x, CNNZ_E_STREAM, 0, "stream_count 2");

    /* names (5.5) */
    fx_reset(&x);
    set_name(&x.f.t[T_CONV], "", 0);
    fx_build(&x);
    expect_open(&x, CNNZ_E_NAME, 0, "empty name");
    static const char *const bad[] = {"\xC0\x80", "\xE0\x80\x80", "\xED\xA0\x80",
                                      "\xF4\x90\x80\x80", "\xFF", "ab\xE2\x82", "\x80", "a\0b"};
    static const size_t badn[] = {2, 3, 3, 4, 1, 4, 1, 3};
    for (size_t i = 0; i < sizeof badn / sizeof badn[0]; i++) {
        fx_reset(&x);
        set_name(&x.f.t[T_Q16], bad[i], badn[i]);
        fx_build(&x);
        expect_open(&x, CNNZ_E_NAME, 0, "invalid name");
    }
    fx_reset(&x);
    set_name(&x.f.t[T_FLAGS], "q8", 2);
    fx_build(&x);
    expect_open(&x, CNNZ_E_DUPLICATE, 0, "duplicate name");
    uint8_t *big = malloc(4097);
    ck_assert_ptr_nonnull(big);
    memset(big, 'b', 4097);
    fx_reset(&x);
    set_name(&x.f.t[T_FLAGS], big, 4097);
    fx_build(&x);
    expect_open(&x, CNNZ_E_FORMAT_LIMIT, 0, "name of 4097 bytes");
    fx_reset(&x);
    set_name(&x.f.t[T_FLAGS], big, 4096);
    fx_build(&x);
    expect_open(&x, 0, 0, "name of 4096 bytes");
    free(big);

    /* dimension products (5.3): overflow, and over 2^56 bytes. The stored
     * streams no longer match such shapes, so CNNZ_E_STREAM also applies. */
    static const struct {
        size_t t;
        unsigned rank;
        uint64_t d[3];
    } shapes[] = {
        {T_Q8, 2, {UINT64_C(1) << 32, UINT64_C(1) << 32}},
        {T_Q8, 3, {UINT64_MAX, 2, 1}},
        {T_CONV, 1, {UINT64_C(1) << 62}},         /* f32: bytes overflow */
        {T_FLAGS, 1, {(UINT64_C(1) << 56) + 1}},  /* bool: 2^56 + 1 bytes */
        {T_CONV, 2, {UINT64_C(1) << 27, (UINT64_C(1) << 27) + 1}}, /* f32: > 2^56 bytes */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        fx_reset(&x);
        struct xs_tensor *t = &x.f.t[shapes[i].t];
        t->rank = (uint8_t)shapes[i].rank;
        memcpy(t->dims, shapes[i].d, sizeof shapes[i].d);
        fx_build(&x);
        expect_open(&x, CNNZ_E_SHAPE, CNNZ_E_STREAM, "dimension product");
    }
    fx_free(&x);
}
END_TEST

/* The reader's side of test_zero_dim_order (suite writer): a zero-element
 * tensor's validity does not depend on where its zero dim is. */
START_TEST(test_zero_dim_order_reader)
{
    struct fx x;
    fx_init(&x, __func__);
    static const uint64_t perms[][3] = {
        {0, UINT64_C(1) << 63, 4}, {UINT64_C(1) << 63, 0, 4}, {UINT64_C(1) << 63, 4, 0}};
    int first = -1;
    for (size_t i = 0; i < 3; i++) {
        fx_reset(&x);
        struct xs_tensor *t = &x.f.t[T_EMPTY]; /* i64 [0] */
        t->rank = 3;
        memcpy(t->dims, perms[i], sizeof perms[i]);
        fx_build(&x);
        int err = open_decode_verify(x.out, x.on, NULL);
        if (first < 0)
            first = err;
        ck_assert_msg(err == first, "dims order %zu: %s, order 0: %s", i, cnnz_error_token(err),
                      cnnz_error_token(first));
    }
    fx_free(&x);
}
END_TEST

/* -------------------------------------------------- representations (6) */

START_TEST(test_repr_params)
{
    struct fx x;
    fx_init(&x, __func__);
    fx_reset(&x);
    x.f.t[T_CONV].rp_len = 1;
    fx_build(&x);
    expect_open(&x, CNNZ_E_REPR, 0, "plain with params");
    fx_reset(&x);
    x.f.t[T_Q8].rp_len = 16;
    fx_build(&x);
    expect_open(&x, CNNZ_E_REPR, 0, "affine params 16 bytes");
    fx_reset(&x);
    x.f.t[T_HALF].rp_len = 24;
    fx_build(&x);
    expect_open(&x, CNNZ_E_REPR, 0, "widen params 24 bytes");

    static const uint8_t bad_sym[] = {0, CNNZ_DT_I8, CNNZ_DT_I16, CNNZ_DT_F16, CNNZ_DT_U32, 200};
    for (size_t i = 0; i < sizeof bad_sym; i++) {
        fx_reset(&x);
        x.f.t[T_Q8].rp[0] = bad_sym[i];
        fx_build(&x);
        expect_open(&x, CNNZ_E_REPR, CNNZ_E_STREAM, "affine symbol dtype");
    }
    static const uint64_t nonfinite[] = {UINT64_C(0x7FF0000000000000), UINT64_C(0xFFF0000000000000),
                                         UINT64_C(0x7FF8000000000000), UINT64_C(0xFFFFFFFFFFFFFFFF)};
    for (size_t i = 0; i < 4; i++) {
        for (int field = 8; field <= 16; field += 8) {
            fx_reset(&x);
            put64(x.f.t[T_Q16].rp + field, nonfinite[i]);
            fx_build(&x);
            expect_open(&x, CNNZ_E_REPR, 0, "affine scale/offset not finite");
        }
    }
    /* affine and widen into a non-f32 tensor */
    static const uint8_t not_f32[] = {CNNZ_DT_F16, CNNZ_DT_F64, CNNZ_DT_U8, CNNZ_DT_BOOL};
    for (size_t i = 0; i < sizeof not_f32; i++) {
        fx_reset(&x);
        x.f.t[T_Q8].dtype = not_f32[i];
        fx_build(&x);
        expect_open(&x, CNNZ_E_REPR, 0, "affine into a non-f32 tensor");
        fx_reset(&x);
        x.f.t[T_HALF].dtype = not_f32[i];
        fx_build(&x);
        expect_open(&x, CNNZ_E_REPR, 0, "widen into a non-f32 tensor");
    }
    static const uint8_t bad_wide[] = {0, CNNZ_DT_F32, CNNZ_DT_U16, CNNZ_DT_I16, 99};
    for (size_t i = 0; i < sizeof bad_wide; i++) {
        fx_reset(&x);
        x.f.t[T_HALF].rp[0] = bad_wide[i];
        fx_build(&x);
        expect_open(&x, CNNZ_E_REPR, 0, "widen symbol dtype");
    }

    /* a bool tensor holding 2 (checksums recomputed): CORRUPT at decode */
    fx_reset(&x);
    struct xs_tensor *t = &x.f.t[T_FLAGS];
    t->s[0].data[3] = 2;
    t->decoded_xxh = xxh64(t->s[0].data, t->s[0].data_len);
    fx_build(&x);
    expect_decode(&x, T_FLAGS, CNNZ_E_CORRUPT, "bool value 2");
    fx_reset(&x);
    t = &x.f.t[T_FLAGS];
    t->s[0].data[6] = 0xFF;
    t->decoded_xxh = xxh64(t->s[0].data, t->s[0].data_len);
    fx_build(&x);
    expect_decode(&x, T_FLAGS, CNNZ_E_CORRUPT, "bool value 255");
    fx_free(&x);
}
END_TEST

/* ------------------------------------------------ streams and coders (5.3.1, 7) */

START_TEST(test_streams_coders)
{
    struct fx x;
    fx_init(&x, __func__);
    fx_reset(&x);
    x.f.t[T_CONV].s[0].role = CNNZ_ROLE_SYMBOLS;
    fx_build(&x);
    expect_open(&x, CNNZ_E_STREAM, 0, "plain with a symbols stream");
    fx_reset(&x);
    x.f.t[T_Q8].s[0].role = CNNZ_ROLE_VALUES;
    fx_build(&x);
    expect_open(&x, CNNZ_E_STREAM, 0, "affine with a values stream");
    fx_reset(&x);
    x.f.t[T_Q8].s[0].role = 2;
    fx_build(&x);
    expect_open(&x, CNNZ_E_STREAM, 0, "unknown role");

    for (int c = 1; c < 256; c++) {
        if (cnnz_coder_name(c))
            continue;
        fx_reset(&x);
        x.f.t[T_CONV].s[0].coder = (uint8_t)c;
        fx_build(&x);
        expect_open(&x, CNNZ_E_CODER, 0, "unknown coder");
        if (c > 3)
            c += 50;
    }
    static const uint8_t vers[] = {1, 2, 255};
    for (size_t i = 0; i < sizeof vers; i++) {
        fx_reset(&x);
        x.f.t[T_CONV].s[0].version = vers[i];
        fx_build(&x);
        expect_open(&x, CNNZ_E_CODER, 0, "unknown raw version");
    }
    fx_reset(&x);
    x.f.t[T_CONV].s[0].params_len = 1;
    fx_build(&x);
    expect_open(&x, CNNZ_E_CODER, 0, "raw with params");

    /* raw: coded_length must equal decoded_length */
    fx_reset(&x);
    struct xs_stream *s = &x.f.t[T_Q16].s[0];
    uint8_t *d = malloc(s->data_len + 1);
    ck_assert_ptr_nonnull(d);
    memcpy(d, s->data, s->data_len);
    d[s->data_len] = 0;
    free(s->data);
    s->data = d;
    s->data_len++;
    fx_build(&x);
    expect_open(&x, CNNZ_E_CODER, 0, "raw coded_length = decoded_length + 1");
    /* decoded_length not what the representation defines (raw's equality
     * is then broken too) */
    fx_reset(&x);
    x.f.t[T_Q16].s[0].decoded_len++;
    fx_build(&x);
    expect_open(&x, CNNZ_E_STREAM, CNNZ_E_CODER, "decoded_length + 1");
    fx_reset(&x);
    x.f.t[T_EMPTY].s[0].decoded_len = UINT64_MAX;
    fx_build(&x);
    expect_open(&x, CNNZ_E_STREAM, CNNZ_E_CODER, "decoded_length 2^64-1");
    fx_free(&x);
}
END_TEST

/* -------------------------------------------------------- metadata (5.4) */

static void meta_case(struct fx *x, int build(struct xs_meta_builder *mb, uint32_t *count),
                      int want, int also, const char *what)
{
    fx_reset(x);
    struct xs_meta_builder mb;
    xs_meta_begin(&mb);
    uint32_t count = 0;
    int reserved = build(&mb, &count);
    size_t n;
    uint8_t *body = xs_meta_end(&mb, count, (uint32_t)reserved, &n);
    xs_set_meta(&x->f, body, n);
    free(body);
    fx_build(x);
    if (want)
        expect_open(x, want, also, what);
}

static int m_type0(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "k", 1, 0, 0, "", 0);
    *c = mb->count;
    return 0;
}
static int m_type6(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "k", 1, 6, 0, "abc", 3);
    *c = mb->count;
    return 0;
}
static int m_int4(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "k", 1, CNNZ_META_INT, 0, "\1\0\0\0", 4);
    *c = mb->count;
    return 0;
}
static int m_float9(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "k", 1, CNNZ_META_FLOAT, 0, "\0\0\0\0\0\0\xF0\x3F\0", 9);
    *c = mb->count;
    return 0;
}
static int m_bool0(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "k", 1, CNNZ_META_BOOL, 0, "", 0);
    *c = mb->count;
    return 0;
}
static int m_bool2(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "k", 1, CNNZ_META_BOOL, 0, "\2", 1);
    *c = mb->count;
    return 0;
}
static int m_boolff(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "k", 1, CNNZ_META_BOOL, 0, "\xFF", 1);
    *c = mb->count;
    return 0;
}
static int m_str_utf8(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "k", 1, CNNZ_META_STRING, 0, "ok\xED\xA0\x80", 5);
    *c = mb->count;
    return 0;
}
static int m_str_nul(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "k", 1, CNNZ_META_STRING, 0, "a\0b", 3);
    *c = mb->count;
    return 0;
}
static int m_key_empty(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "", 0, CNNZ_META_BYTES, 0, "", 0);
    *c = mb->count;
    return 0;
}
static int m_key_utf8(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "\xC1\x81", 2, CNNZ_META_BYTES, 0, "", 0);
    *c = mb->count;
    return 0;
}
static int m_key_nul(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "k\0", 2, CNNZ_META_BYTES, 0, "", 0);
    *c = mb->count;
    return 0;
}
static int m_key_dup(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "key", 3, CNNZ_META_BYTES, 0, "", 0);
    xs_meta_entry(mb, "x", 1, CNNZ_META_BOOL, 0, "\1", 1);
    xs_meta_entry(mb, "key", 3, CNNZ_META_INT, 0, "\0\0\0\0\0\0\0\0", 8);
    *c = mb->count;
    return 0;
}
static int m_key_long(struct xs_meta_builder *mb, uint32_t *c)
{
    char k[4097];
    memset(k, 'k', sizeof k);
    xs_meta_entry(mb, k, sizeof k, CNNZ_META_BYTES, 0, "", 0);
    *c = mb->count;
    return 0;
}
static int m_count_more(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "a", 1, CNNZ_META_BYTES, 0, "", 0);
    *c = mb->count + 1;
    return 0;
}
static int m_count_less(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "a", 1, CNNZ_META_BYTES, 0, "", 0);
    xs_meta_entry(mb, "b", 1, CNNZ_META_BYTES, 0, "", 0);
    *c = mb->count - 1;
    return 0;
}
static int m_value_past(struct xs_meta_builder *mb, uint32_t *c)
{
    /* value_length pointing past the body */
    uint8_t e[9] = {1, 0, 'a', CNNZ_META_BYTES, 0, 0xFF, 0xFF, 0xFF, 0x7F};
    membuf_append(&mb->b, e, sizeof e);
    *c = 1;
    return 0;
}
static int m_too_many(struct xs_meta_builder *mb, uint32_t *c)
{
    for (uint32_t i = 0; i <= CNNZ_MAX_META_ENTRIES; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "%05x", (unsigned)i);
        xs_meta_entry(mb, k, (size_t)kl, CNNZ_META_BYTES, 0, "", 0);
    }
    *c = mb->count;
    return 0;
}
static int m_every_type(struct xs_meta_builder *mb, uint32_t *c)
{
    uint8_t v[8];
    xs_meta_entry(mb, "s", 1, CNNZ_META_STRING, 0, "\xF0\x9F\x98\x80!", 5);
    xs_meta_entry(mb, "e", 1, CNNZ_META_STRING, 0, "", 0);
    put64(v, UINT64_C(0x8000000000000000));
    xs_meta_entry(mb, "i", 1, CNNZ_META_INT, 0, v, 8);
    put64(v, UINT64_C(0xC000000000000000)); /* -2.0 */
    xs_meta_entry(mb, "f", 1, CNNZ_META_FLOAT, 0, v, 8);
    xs_meta_entry(mb, "t", 1, CNNZ_META_BOOL, 0, "\1", 1);
    xs_meta_entry(mb, "0", 1, CNNZ_META_BOOL, 0, "\0", 1);
    xs_meta_entry(mb, "y", 1, CNNZ_META_BYTES, 0, "\0\0\xFF", 3);
    *c = mb->count;
    return 0;
}
static int m_none(struct xs_meta_builder *mb, uint32_t *c)
{
    (void)mb;
    *c = 0;
    return 0;
}

static int m_key_empty2(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "", 0, CNNZ_META_BYTES, 0, "", 0);
    xs_meta_entry(mb, "k", 1, CNNZ_META_BYTES, 0, "", 0);
    *c = mb->count;
    return 0;
}

static int m_key_empty3(struct xs_meta_builder *mb, uint32_t *c)
{
    xs_meta_entry(mb, "", 0, CNNZ_META_BYTES, 0, "0123456789", 10);
    *c = mb->count;
    return 0;
}

/* spec 5.4: key_length 0 is CNNZ_E_NAME. A lone entry with an empty key and
 * an empty value is 8 bytes, and the entries then fill the body exactly, so
 * no layout rule is broken. */
START_TEST(test_meta_empty_key)
{
    struct fx x;
    fx_init(&x, __func__);
    meta_case(&x, m_key_empty3, CNNZ_E_NAME, 0, "empty key with a 10-byte value");
    meta_case(&x, m_key_empty2, CNNZ_E_NAME, 0, "empty key, then another entry");
    meta_case(&x, m_key_empty, CNNZ_E_NAME, 0, "a lone empty key with an empty value");
    fx_free(&x);
}
END_TEST

START_TEST(test_metadata)
{
    struct fx x;
    fx_init(&x, __func__);
    meta_case(&x, m_type0, CNNZ_E_METADATA, 0, "meta type 0");
    meta_case(&x, m_type6, CNNZ_E_METADATA, 0, "meta type 6");
    meta_case(&x, m_int4, CNNZ_E_METADATA, 0, "int of 4 bytes");
    meta_case(&x, m_float9, CNNZ_E_METADATA, 0, "float of 9 bytes");
    meta_case(&x, m_bool0, CNNZ_E_METADATA, 0, "bool of 0 bytes");
    meta_case(&x, m_bool2, CNNZ_E_METADATA, 0, "bool 2");
    meta_case(&x, m_boolff, CNNZ_E_METADATA, 0, "bool 255");
    meta_case(&x, m_str_utf8, CNNZ_E_METADATA, 0, "string with a surrogate");
    meta_case(&x, m_str_nul, CNNZ_E_METADATA, 0, "string with NUL");
    meta_case(&x, m_key_utf8, CNNZ_E_NAME, 0, "overlong key");
    meta_case(&x, m_key_nul, CNNZ_E_NAME, 0, "key with NUL");
    meta_case(&x, m_key_dup, CNNZ_E_DUPLICATE, 0, "duplicate key");
    meta_case(&x, m_key_long, CNNZ_E_FORMAT_LIMIT, 0, "key of 4097 bytes");
    meta_case(&x, m_count_more, CNNZ_E_LAYOUT, 0, "entry_count + 1");
    meta_case(&x, m_count_less, CNNZ_E_LAYOUT, 0, "entry_count - 1");
    meta_case(&x, m_value_past, CNNZ_E_LAYOUT, 0, "value past the body");
    meta_case(&x, m_too_many, CNNZ_E_FORMAT_LIMIT, 0, "65536 entries");

    /* a hand-built META with every type reads back exactly */
    meta_case(&x, m_every_type, 0, 0, NULL);
    cnnz_reader *r;
    ck_assert_int_eq(cnnz_reader_open_memory(&r, x.out, x.on, NULL), 0);
    ck_assert_uint_eq(cnnz_reader_meta_count(r), 7);
    struct cnnz_meta m;
    ck_assert_int_eq(cnnz_reader_meta_find(r, "s", &m), 0);
    ck_assert_int_eq(m.type, CNNZ_META_STRING);
    ck_assert_str_eq(m.value, "\xF0\x9F\x98\x80!");
    ck_assert_uint_eq(m.value_len, 5);
    ck_assert_int_eq(cnnz_reader_meta_find(r, "e", &m), 0);
    ck_assert_uint_eq(m.value_len, 0);
    ck_assert_str_eq(m.value, "");
    ck_assert_int_eq(cnnz_reader_meta_find(r, "i", &m), 0);
    ck_assert_int_eq(m.type, CNNZ_META_INT);
    ck_assert(m.i == INT64_MIN);
    ck_assert_int_eq(cnnz_reader_meta_find(r, "f", &m), 0);
    ck_assert_int_eq(m.type, CNNZ_META_FLOAT);
    ck_assert(m.f == -2.0);
    ck_assert_int_eq(cnnz_reader_meta_find(r, "t", &m), 0);
    ck_assert_int_eq(m.type, CNNZ_META_BOOL);
    ck_assert_int_eq(m.i, 1);
    ck_assert_int_eq(cnnz_reader_meta_find(r, "0", &m), 0);
    ck_assert_int_eq(m.i, 0);
    ck_assert_int_eq(cnnz_reader_meta_find(r, "y", &m), 0);
    ck_assert_int_eq(m.type, CNNZ_META_BYTES);
    ck_assert_uint_eq(m.value_len, 3);
    ck_assert_mem_eq(m.value, "\0\0\xFF", 3);
    ck_assert_int_eq(cnnz_reader_verify(r, NULL), 0);
    cnnz_reader_close(r);
    /* an empty META section is valid */
    meta_case(&x, m_none, 0, 0, NULL);
    ck_assert_int_eq(open_decode_verify(x.out, x.on, NULL), 0);
    /* META with no metadata and a META body shorter than its fixed part */
    fx_reset(&x);
    xs_set_meta(&x.f, (const uint8_t *)"\0\0\0\0", 4);
    fx_build(&x);
    expect_open(&x, CNNZ_E_LAYOUT, CNNZ_E_CHECKSUM, "META body of 4 bytes");
    fx_free(&x);
}
END_TEST

/* --------------------------------------- files built without the writer */

/* spec 3.5 and 7.1 by hand: a one-tensor file assembled byte by byte, with
 * a newer minor, a skippable section before and after the tensor, and
 * reserved header bytes set. */
START_TEST(test_hand_built)
{
    uint8_t f[512];
    memset(f, 0, sizeof f);
    static const uint8_t sig[8] = {0x89, 0x43, 0x4E, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A};
    memcpy(f, sig, 8);
    put16(f + 8, 1);
    put16(f + 10, 7);       /* minor 7 */
    put32(f + 12, 0xABCD);  /* flags: ignored with a newer minor */
    f[40] = 0x11;
    put64(f + 56, xxh64(f, 56));
    size_t p = 64;
    /* skippable "NOTE" with 5 bytes: 64..85, pad to 88 */
    memcpy(f + p, "NOTE", 4);
    put64(f + p + 8, 5);
    memcpy(f + p + 16, "hello", 5);
    size_t note = p;
    p = 88;
    /* TDAT at 88: body 104, raw stream at 128 (64-aligned), 3 bytes */
    size_t tdat = p;
    memcpy(f + p, "TDAT", 4);
    put32(f + p + 4, 1);
    put64(f + p + 8, 128 - 104 + 3);
    memcpy(f + 128, "\x01\x02\x03", 3);
    p = 136; /* align(131, 8) */
    size_t tdir = p;
    uint8_t body[256];
    size_t b = 0;
    put32(body, 1);      /* tensor_count */
    put32(body + 4, 2);  /* section_count */
    put64(body + 8, 0);
    b = 16;
    put64(body + b, note);
    put64(body + b + 8, 5);
    memcpy(body + b + 16, "NOTE", 4);
    put32(body + b + 20, 0);
    b += 24;
    put64(body + b, tdat);
    put64(body + b + 8, 27);
    memcpy(body + b + 16, "TDAT", 4);
    put32(body + b + 20, 1);
    b += 24;
    put16(body + b, 1);
    body[b + 2] = 'x';
    b += 3;
    body[b] = CNNZ_DT_U8;
    body[b + 1] = 1;
    body[b + 2] = CNNZ_REPR_PLAIN;
    body[b + 3] = 1;
    put32(body + b + 4, 1); /* section_index */
    put32(body + b + 8, 0);
    put64(body + b + 12, xxh64("\x01\x02\x03", 3));
    b += 20;
    put64(body + b, 3);
    b += 8;
    put16(body + b, 0);
    b += 2;
    memset(body + b, 0, 6); /* role 0, coder 0, version 0, reserved, params 0 */
    b += 6;
    put64(body + b, 128);
    put64(body + b + 8, 3);
    put64(body + b + 16, 3);
    put64(body + b + 24, xxh64("\x01\x02\x03", 3));
    b += 32;
    put64(body + b, xxh64(body, b));
    b += 8;
    memcpy(f + tdir, "TDIR", 4);
    put32(f + tdir + 4, 1);
    put64(f + tdir + 8, b);
    memcpy(f + tdir + 16, body, b);
    size_t tr = (size_t)((tdir + 16 + b + 7) / 8 * 8);
    put64(f + tr, tdir);
    put64(f + tr + 16, xxh64(f + tr, 16));
    memcpy(f + tr + 24, "CNZEND\r\n", 8);
    size_t n = tr + 32;

    struct model m;
    model_init(&m);
    uint64_t d[1] = {3};
    model_add(&m, NULL, "x", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d, "\x01\x02\x03");
    uint8_t *img = dup_exact(f, n);
    ck_assert_int_eq(open_decode_verify(img, n, &m), 0);
    cnnz_reader *r;
    ck_assert_int_eq(cnnz_reader_open_memory(&r, img, n, NULL), 0);
    ck_assert_uint_eq(cnnz_reader_section_count(r), 2);
    struct cnnz_section_info si;
    ck_assert_int_eq(cnnz_reader_section_info(r, 0, &si), 0);
    ck_assert_str_eq(si.tag, "NOTE");
    ck_assert_uint_eq(si.offset, 64);
    ck_assert_uint_eq(si.body_bytes, 5);
    ck_assert(!si.known && !si.critical);
    ck_assert_int_eq(cnnz_reader_section_info(r, 1, &si), 0);
    ck_assert_str_eq(si.tag, "TDAT");
    ck_assert(si.known && si.critical);
    cnnz_reader_close(r);
    /* the same with minor 0: the header flags are now a fault */
    put16(img + 10, 0);
    put64(img + 56, xxh64(img, 56));
    cnnz_reader *r0 = NULL;
    ck_assert_int_eq(cnnz_reader_open_memory(&r0, img, n, NULL), CNNZ_E_RESERVED);
    free(img);
    model_free(&m);
}
END_TEST

Suite *suite_spec(void)
{
    Suite *s = suite_create("spec");
    TCase *tc = tcase_create("rules");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_versions);
    tcase_add_test(tc, test_reserved_minor0);
    tcase_add_test(tc, test_reserved_newer_minor);
    tcase_add_test(tc, test_padding);
    tcase_add_test(tc, test_unknown_sections);
    tcase_add_test(tc, test_known_section_rules);
    tcase_add_test(tc, test_tdir_not_critical);
    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_checksums);
    tcase_add_test(tc, test_tensor_entries);
    tcase_add_test(tc, test_zero_dim_order_reader);
    tcase_add_test(tc, test_repr_params);
    tcase_add_test(tc, test_streams_coders);
    tcase_add_test(tc, test_metadata);
    tcase_add_test(tc, test_meta_empty_key);
    tcase_add_test(tc, test_hand_built);
    suite_add_tcase(s, tc);
    return s;
}
