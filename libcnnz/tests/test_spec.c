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

/* Tensors of the fixture: model_mixed's, then streams that exercise the
 * stream layout of spec 4 (raw below and at 1024 bytes, an entropy-coded
 * stream at an odd offset, a raw stream last). All share one TDAT. */
enum {
    T_CONV, T_Q8, T_Q16, T_HALF, T_BHALF, T_FLAGS, T_EMPTY, /* model_mixed */
    T_K1023, T_K1024, T_TAIL, T_HUFF, T_LAST, T_COUNT
};

struct fx {
    struct model m;
    uint8_t *img;
    size_t n;
    struct xs_file f;
    uint8_t *out; /* the mutated image */
    size_t on;
};

static void fixture_model(struct model *m, struct rng *r)
{
    model_mixed(m, r);
    ck_assert_uint_eq(m->nt, T_K1023);
    uint8_t k[1024], sym[96];
    memset(k, 0x5A, sizeof k); /* no zero byte: misplacing it shows in padding */
    uint64_t d1023[1] = {1023}, d1024[1] = {1024}, d5[1] = {5}, d96[1] = {96}, d3[1] = {3};
    model_add(m, r, "k1023", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d1023, k);
    model_add(m, r, "k1024", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d1024, NULL);
    model_add(m, r, "tail", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d5, NULL);
    for (size_t i = 0; i < sizeof sym; i++)
        sym[i] = (uint8_t)(1 + rng_below(r, 4));
    model_add(m, r, "huff", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d96, sym)->coder =
        CNNZ_CODER_HUFFMAN;
    model_add(m, r, "z", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d3, "\x07\x08\x09");
}

static void fx_init(struct fx *x, const char *label)
{
    struct rng r;
    rng_init(&r, label);
    fixture_model(&x->m, &r);
    x->img = model_file(&x->m, &x->n);
    x->out = NULL;
    xs_parse(&x->f, x->img, x->n);
    ck_assert_uint_eq(x->f.nt, T_COUNT);
    ck_assert_uint_eq(x->f.nsec, 2); /* one TDAT, META */
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

/* Bytes changed after serializing: recompute the container checksums
 * (including the TDAT ones). */
static void fx_fix(struct fx *x)
{
    xs_fix_checksums(x->out, x->on);
}

static int is_one_of(int err, int want, int also)
{
    return err == want || (also && err == also);
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
    ck_assert_msg(is_one_of(err, want, also), "%s: open gave %s, want %s%s%s", what,
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
    ck_assert_msg(is_one_of(err, want, also), "%s: got %s, want %s%s%s", what,
                  cnnz_error_token(err), cnnz_error_token(want), also ? " or " : "",
                  also ? cnnz_error_token(also) : "");
    free(p);
}

/* Open must succeed; decoding each of the tensors first .. first+count-1
 * fails with want (or also), every other tensor decodes, and verify fails
 * with the same token. With stream_too, decode_stream of those tensors
 * fails alike (a fault of their section, not of one tensor's data). */
static void expect_decode_run(struct fx *x, size_t first, size_t count, int want, int also,
                              int stream_too, const char *what)
{
    uint8_t *p = dup_exact(x->out, x->on);
    cnnz_reader *r = NULL;
    int err = cnnz_reader_open_memory(&r, p, x->on, NULL);
    ck_assert_msg(err == 0, "%s: open gave %s; the rule is for decode time", what,
                  cnnz_error_token(err));
    int seen = 0;
    for (size_t i = 0; i < cnnz_reader_tensor_count(r); i++) {
        struct cnnz_tensor_info ti;
        ck_assert_int_eq(cnnz_reader_tensor_info(r, i, &ti), 0);
        uint8_t *dst = malloc(ti.decoded_bytes + 1);
        ck_assert_ptr_nonnull(dst);
        struct cnnz_where w;
        memset(&w, 0, sizeof w);
        err = cnnz_reader_decode(r, i, dst, (size_t)ti.decoded_bytes, &w);
        const int in_run = i >= first && i < first + count;
        if (in_run) {
            ck_assert_msg(is_one_of(err, want, also), "%s: decode of tensor %zu gave %s, want %s",
                          what, i, cnnz_error_token(err), cnnz_error_token(want));
            ck_assert_int_eq(w.tensor, (int64_t)i);
            seen = seen ? seen : err;
        } else {
            ck_assert_msg(err == 0, "%s: decode of tensor %zu (another run) gave %s", what, i,
                          cnnz_error_token(err));
        }
        free(dst);
        if (in_run && stream_too) {
            uint8_t *sd = malloc(ti.streams[0].decoded_bytes + 1);
            ck_assert_ptr_nonnull(sd);
            err = cnnz_reader_decode_stream(r, i, 0, sd, (size_t)ti.streams[0].decoded_bytes,
                                            NULL);
            ck_assert_msg(is_one_of(err, want, also), "%s: decode_stream of %zu gave %s", what, i,
                          cnnz_error_token(err));
            free(sd);
        }
    }
    err = cnnz_reader_verify(r, NULL);
    ck_assert_msg(is_one_of(err, want, also), "%s: verify gave %s, want %s", what,
                  cnnz_error_token(err), cnnz_error_token(want));
    cnnz_reader_close(r);
    free(p);
}

/* A fault of one tensor's data: only tensor t fails. */
static void expect_decode(struct fx *x, size_t t, int want, const char *what)
{
    expect_decode_run(x, t, 1, want, 0, 0, what);
}

/* The run of tensor t in the model (its section's tensors). */
static void run_of(const struct xs_file *f, size_t t, size_t *first, size_t *count)
{
    size_t a = t, b = t + 1;
    while (a > 0 && f->t[a - 1].section_index == f->t[t].section_index)
        a--;
    while (b < f->nt && f->t[b].section_index == f->t[t].section_index)
        b++;
    *first = a;
    *count = b - a;
}

/* A fault of the section holding tensor t: every tensor of its run fails,
 * decode_stream too; the other runs decode. */
static void expect_section(struct fx *x, size_t t, int want, const char *what)
{
    size_t first, count;
    run_of(&x->f, t, &first, &count);
    expect_decode_run(x, first, count, want, 0, 1, what);
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

/* End of the stream (or body start) before stream k of tensor t. */
static uint64_t before(const struct xs_file *f, size_t t, unsigned k)
{
    if (k)
        return f->t[t].s[k - 1].offset + f->t[t].s[k - 1].data_len;
    for (size_t j = t; j-- > 0;) {
        if (f->t[j].section_index != f->t[t].section_index)
            break;
        if (f->t[j].stream_count)
            return f->t[j].s[f->t[j].stream_count - 1].offset +
                   f->t[j].s[f->t[j].stream_count - 1].data_len;
    }
    return f->sec[f->t[t].section_index].offset + 16;
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

/* Tensor and stream entries have no reserved fields in this version. */
enum rfield {
    R_HDR_FLAGS, R_HDR_RES16, R_HDR_RES55, R_TRAILER, R_TDAT_FLAGS, R_TDIR_FLAGS, R_META_FLAGS,
    R_TDIR_BODY, /* the ones a newer minor makes ignorable */
    R_META_BODY, R_META_ENTRY, R_AFFINE, R_WIDEN, R_COUNT
};
static const char *const rnames[] = {
    "header flags",   "header reserved[16]", "header reserved[55]", "trailer reserved",
    "TDAT flag bit",  "TDIR flag bit",       "META flag bit",       "TDIR body reserved",
    "META body reserved",  "META entry reserved", "affine params reserved",
    "widen params reserved"};

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
 * headers and flags and directory header are ignored. (The META body
 * words, META entry byte and repr params are not in that list: not
 * tested.) */
START_TEST(test_reserved_newer_minor)
{
    struct fx x;
    fx_init(&x, __func__);
    for (int k = 0; k <= R_TDIR_BODY; k++) {
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
    x.f.tdir_reserved = UINT64_MAX;
    for (size_t i = 0; i < x.f.nsec; i++) {
        x.f.sec[i].flags |= 0xFFFFFFF0u;
        x.f.sec[i].table_flags |= 0xFFFFFFF0u;
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
        /* inside a TDAT body, between streams (checksum recomputed) */
        static const size_t ts[] = {T_Q8, T_K1024};
        for (size_t i = 0; i < 2; i++) {
            fx_reset(&x);
            set_minor(&x, (uint16_t)minor);
            fx_build(&x);
            const uint64_t p = before(&x.f, ts[i], 0), at = x.f.t[ts[i]].s[0].offset;
            ck_assert_uint_gt(at, p);
            x.out[p] = 1;
            fx_fix(&x);
            expect_section(&x, ts[i], CNNZ_E_RESERVED, "TDAT padding, first byte");
            fx_build(&x);
            x.out[at - 1] = 0x80;
            fx_fix(&x);
            expect_section(&x, ts[i], CNNZ_E_RESERVED, "TDAT padding, last byte");
        }

        /* after a TDAT body, up to the 8-byte boundary: a run that ends
         * with q8's 7 bytes, then its checksum */
        fx_reset(&x);
        set_minor(&x, (uint16_t)minor);
        xs_split_run(&x.f, T_Q16);
        fx_build(&x);
        struct xs_section *s = &x.f.sec[0];
        uint64_t end = s->offset + 16 + s->body_len;
        ck_assert_uint_ne(end % 8, 0);
        x.out[end] = 1;
        expect_section(&x, T_CONV, CNNZ_E_RESERVED, "padding after a TDAT body");

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
            xs_set_name(t, nn, t->name_len + 1);
            free(nn);
        }
        ck_assert_uint_gt(x.f.trailer_offset,
                          x.f.tdir_offset + 16 + get64(x.out + x.f.tdir_offset + 8));
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
            ck_assert_uint_eq(si.tensor_count, 0);
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
    size_t tdat = (size_t)x.f.t[T_HALF].section_index;

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

    /* a TDAT no tensor names, with the body of an empty run */
    fx_reset(&x);
    xs_insert_section(&x.f, 1, "TDAT", 1, NULL, 0);
    fx_build(&x);
    ck_assert_uint_eq(x.f.sec[1].body_len, 8);
    expect_open(&x, CNNZ_E_SECTION, 0, "a TDAT named by no tensor");

    /* section_index naming META, or past the table (5.1) */
    fx_reset(&x);
    x.f.t[T_LAST].section_index = (uint64_t)mi;
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, 0, "section_index names META");
    static const uint64_t past[] = {2, 3, 0xFFFFFFFFu, UINT64_C(1) << 32,
                                    (UINT64_C(1) << 32) + 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof past / sizeof past[0]; i++) {
        fx_reset(&x);
        x.f.t[T_LAST].section_index = past[i];
        fx_build(&x);
        expect_open(&x, CNNZ_E_SECTION, 0, "section_index past the table");
    }
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

/* ------------------------------------------------------------- runs (5.1) */

/* Small tensors around one of 64 KiB: the writer gives the big one a TDAT
 * of its own between two shared ones. Sections: TDAT {a, ab}, TDAT {big},
 * TDAT {c, d}, META. */
enum { R_A, R_AB, R_BIG, R_C, R_D, R_N };

static void runs_init(struct fx *x, const char *label)
{
    struct rng r;
    rng_init(&r, label);
    struct model *m = &x->m;
    model_init(m);
    uint64_t d3[1] = {3}, d5[1] = {5}, big[2] = {256, 256};
    model_add(m, &r, "a", 0, CNNZ_DT_F32, CNNZ_REPR_PLAIN, 0, 1, d3, NULL);
    model_add(m, &r, "ab", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d5, NULL);
    model_add(m, &r, "big", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 2, big, NULL);
    model_add(m, &r, "c", 0, CNNZ_DT_I16, CNNZ_REPR_PLAIN, 0, 1, d3, NULL);
    model_add(m, &r, "d", 0, CNNZ_DT_BOOL, CNNZ_REPR_PLAIN, 0, 1, d5, NULL);
    model_meta_string(m, CNNZ_META_PRODUCER, "test_spec");
    x->img = model_file(m, &x->n);
    x->out = NULL;
    xs_parse(&x->f, x->img, x->n);
    ck_assert_uint_eq(x->f.nsec, 4);
    static const uint64_t index[R_N] = {0, 0, 1, 2, 2};
    for (size_t j = 0; j < R_N; j++)
        ck_assert_uint_eq(x->f.t[j].section_index, index[j]);
}

/* A new tensor entry at index at (u8 [0], plain, one raw stream of no
 * bytes) naming section. */
static void insert_empty(struct xs_file *f, size_t at, uint64_t section)
{
    struct xs_tensor *t = realloc(f->t, (f->nt + 1) * sizeof *t);
    ck_assert_ptr_nonnull(t);
    memmove(&t[at + 1], &t[at], (f->nt - at) * sizeof *t);
    memset(&t[at], 0, sizeof *t);
    f->t = t;
    f->nt++;
    t += at;
    xs_set_name(t, "e", 1);
    t->dtype = CNNZ_DT_U8;
    t->rank = 1;
    t->dims[0] = 0;
    t->repr = CNNZ_REPR_PLAIN;
    t->stream_count = 1;
    t->section_index = section;
    t->decoded_xxh = xxh64("", 0);
    t->s[0].role = CNNZ_ROLE_VALUES;
    t->s[0].coder = CNNZ_CODER_RAW;
}

/* The runs the reader reports: section i holds first[i] .. + count[i]. */
static void check_runs(struct fx *x, size_t nsec, const size_t *first, const size_t *count)
{
    cnnz_reader *r;
    ck_assert_int_eq(cnnz_reader_open_memory(&r, x->out, x->on, NULL), 0);
    ck_assert_uint_eq(cnnz_reader_section_count(r), nsec);
    for (size_t i = 0; i < nsec; i++) {
        struct cnnz_section_info si;
        ck_assert_int_eq(cnnz_reader_section_info(r, i, &si), 0);
        ck_assert_msg(si.first_tensor == first[i] && si.tensor_count == count[i],
                      "section %zu (%s): run %zu+%zu, want %zu+%zu", i, si.tag, si.first_tensor,
                      si.tensor_count, first[i], count[i]);
    }
    cnnz_reader_close(r);
}

START_TEST(test_runs_valid)
{
    struct fx x;
    runs_init(&x, __func__);
    fx_build(&x);
    ck_assert_mem_eq(x.out, x.img, x.n);
    expect_ok(&x, "the writer's runs");
    {
        static const size_t first[] = {0, 2, 3, 0}, count[] = {2, 1, 2, 0};
        check_runs(&x, 4, first, count);
    }
    /* the boundary elsewhere: {a}, {ab, big}, {c, d} */
    fx_reset(&x);
    x.f.t[R_AB].section_index = 1;
    fx_build(&x);
    expect_ok(&x, "a run boundary moved");
    {
        static const size_t first[] = {0, 1, 3, 0}, count[] = {1, 2, 2, 0};
        check_runs(&x, 4, first, count);
    }
    /* skippable sections and META between and before TDATs: they do not
     * count in the runs */
    for (size_t at = 0; at <= 3; at++) {
        fx_reset(&x);
        xs_insert_section(&x.f, at, "XTRA", 0, "abc", 3);
        fx_build(&x);
        expect_ok(&x, "a skippable section among the TDATs");
    }
    fx_reset(&x);
    {
        struct xs_section meta = x.f.sec[3];
        x.f.sec[3].body = NULL;
        xs_remove_section(&x.f, 3);
        xs_insert_section(&x.f, 1, "META", 0, meta.body, meta.body_n);
        free(meta.body);
    }
    fx_build(&x);
    expect_ok(&x, "META between TDATs");
    {
        static const size_t first[] = {0, 0, 2, 3}, count[] = {2, 0, 1, 2};
        check_runs(&x, 4, first, count);
    }
    /* an empty tensor after big, in its run */
    fx_reset(&x);
    insert_empty(&x.f, R_C, 1);
    fx_build(&x);
    expect_any(&x, 0, 0, "an empty tensor in the big tensor's run");
    {
        static const size_t first[] = {0, 2, 4, 0}, count[] = {2, 2, 2, 0};
        check_runs(&x, 4, first, count);
    }
    /* one TDAT for all */
    fx_reset(&x);
    for (size_t j = 0; j < R_N; j++)
        x.f.t[j].section_index = 0;
    xs_remove_section(&x.f, 2);
    xs_remove_section(&x.f, 1);
    fx_build(&x);
    expect_ok(&x, "every tensor in one TDAT");
    {
        static const size_t first[] = {0, 0}, count[] = {5, 0};
        check_runs(&x, 2, first, count);
    }
    /* one TDAT per tensor (the 0.x layout is still valid) */
    fx_reset(&x);
    xs_split_run(&x.f, R_AB);
    xs_split_run(&x.f, R_D);
    fx_build(&x);
    expect_ok(&x, "one TDAT per tensor");
    {
        static const size_t first[] = {0, 1, 2, 3, 4, 0}, count[] = {1, 1, 1, 1, 1, 0};
        check_runs(&x, 6, first, count);
    }
    fx_free(&x);
}
END_TEST

/* spec 5.1: every way of breaking the runs is CNNZ_E_SECTION at open. */
START_TEST(test_runs_broken)
{
    struct fx x;
    runs_init(&x, __func__);

    fx_reset(&x);
    x.f.t[R_A].section_index = 1; /* {ab}, {a, big}, {c, d} */
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, 0, "tensor 0 names TDAT 1");

    fx_reset(&x);
    x.f.t[R_BIG].section_index = 2; /* TDAT 1 named by none */
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, 0, "a run skips a TDAT");

    fx_reset(&x);
    x.f.t[R_AB].section_index = 2; /* {a}, {big}, {ab, c, d} */
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, 0, "a tensor skips a TDAT");

    /* A tensor that goes back to an earlier TDAT, with a stream of no
     * bytes that changes nothing in that TDAT's body: only the runs are
     * broken. (Between c and d, and last.) */
    for (size_t at = R_D; at <= R_N; at++) {
        fx_reset(&x);
        insert_empty(&x.f, at, 1); /* {a, ab}, {big, e}, {c, d} */
        fx_build(&x);
        expect_open(&x, CNNZ_E_SECTION, 0, "an empty tensor goes back to an earlier TDAT");
    }
    /* The same with streams of some bytes. The earlier TDAT's body then
     * holds them (spec 4: the streams of the tensors that name it), which
     * a decoder that checks each body_length as its run ends sees as a
     * wrong body_length before it reaches the tensor that goes back: the
     * spec does not order the two rules (see the report of this change);
     * both tokens are accepted here. */
    fx_reset(&x);
    x.f.t[R_C].section_index = 0; /* {a, ab, c}, {big}, {d} */
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, CNNZ_E_LAYOUT, "a tensor goes back to an earlier TDAT");
    fx_reset(&x);
    x.f.t[R_D].section_index = 1; /* {a, ab}, {big, d}, {c} */
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, CNNZ_E_LAYOUT, "the last tensor goes back");

    /* an unnamed TDAT (empty-run body) at the start, between, at the end */
    static const size_t ats[] = {0, 1, 3};
    for (size_t i = 0; i < 3; i++) {
        fx_reset(&x);
        xs_insert_section(&x.f, ats[i], "TDAT", 1, NULL, 0);
        fx_build(&x);
        expect_open(&x, CNNZ_E_SECTION, 0, "a TDAT named by no tensor");
        /* the same with a body that is not an empty run */
        fx_reset(&x);
        xs_insert_section(&x.f, ats[i], "TDAT", 1, "junk", 4);
        fx_build(&x);
        expect_open(&x, CNNZ_E_SECTION, CNNZ_E_LAYOUT, "a TDAT named by no tensor, 4 bytes");
    }

    /* naming a section that is not a TDAT */
    fx_reset(&x);
    xs_insert_section(&x.f, 1, "XTRA", 0, "abc", 3);
    x.f.t[R_BIG].section_index = 1;
    x.f.t[R_C].section_index = x.f.t[R_D].section_index = 2;
    fx_build(&x); /* {a, ab}, XTRA {big}, TDAT {c, d}, TDAT {} */
    expect_open(&x, CNNZ_E_SECTION, 0, "section_index names a skippable section");
    fx_reset(&x);
    x.f.t[R_D].section_index = 3;
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, 0, "section_index names META");
    static const struct {
        size_t t;
        uint64_t index;
    } far[] = {
        {R_A, UINT64_C(1) << 32},            /* 0 modulo 2^32 */
        {R_C, (UINT64_C(1) << 32) + 2},      /* 2 modulo 2^32 */
        {R_BIG, (UINT64_C(1) << 63) + 1},    /* 1 modulo 2^63 */
        {R_D, UINT64_MAX},
        {R_D, 4},                            /* the section count */
    };
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
        fx_reset(&x);
        x.f.t[far[i].t].section_index = far[i].index;
        fx_build(&x);
        expect_open(&x, CNNZ_E_SECTION, 0, "section_index past the table");
    }

    /* every tensor in TDAT 0 while TDATs 1 and 2 stay in the table */
    fx_reset(&x);
    for (size_t j = 0; j < R_N; j++)
        x.f.t[j].section_index = 0;
    fx_build(&x);
    expect_open(&x, CNNZ_E_SECTION, 0, "TDATs after the last run");
    fx_free(&x);

    /* no tensor, but a TDAT */
    struct model m;
    model_meta_only(&m);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct fx y;
    memset(&y, 0, sizeof y);
    y.img = img;
    y.n = n;
    y.m = m;
    xs_parse(&y.f, img, n);
    xs_insert_section(&y.f, 0, "TDAT", 1, NULL, 0);
    fx_build(&y);
    expect_open(&y, CNNZ_E_SECTION, 0, "a TDAT in a file with no tensor");
    fx_free(&y);
}
END_TEST

/* Faults of one TDAT section reach only its run (spec 4, 9.2). */
START_TEST(test_runs_decode)
{
    struct fx x;
    runs_init(&x, __func__);

    fx_reset(&x);
    x.f.keep_tdat_xxh = 1;
    x.f.sec[1].tdat_xxh ^= UINT64_C(1) << 17;
    fx_build(&x);
    expect_section(&x, R_BIG, CNNZ_E_CHECKSUM, "tdat_xxh64 of the big tensor's TDAT");

    fx_reset(&x);
    fx_build(&x);
    const uint64_t pad = before(&x.f, R_AB, 0);
    ck_assert_uint_lt(pad, x.f.t[R_AB].s[0].offset);
    x.out[pad] = 0x10;
    fx_fix(&x);
    expect_section(&x, R_AB, CNNZ_E_RESERVED, "padding between a and ab");

    /* c's coded bytes changed: the checksum of its section fails for d too */
    fx_build(&x);
    x.out[x.f.t[R_C].s[0].offset] ^= 1;
    expect_section(&x, R_D, CNNZ_E_CHECKSUM, "c changed, tdat_xxh64 not updated");
    /* with the section checksum updated, only c's decoded checksum fails */
    fx_fix(&x);
    expect_decode(&x, R_C, CNNZ_E_CHECKSUM, "c changed, tdat_xxh64 updated");

    /* the header of the big tensor's TDAT disagrees with the table */
    fx_build(&x);
    x.out[x.f.sec[1].offset + 4] = 3;
    expect_section(&x, R_BIG, CNNZ_E_LAYOUT, "TDAT header flags");
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

    /* a 64-byte hole before section 1: every later offset moved, but
     * section 0 still ends where it did */
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
    put64(x.out + x.f.tdir_offset + 32 + 8, x.f.sec[0].body_len + 1);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "TDAT body_length off by one (table)");

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
    uint64_t so = x.f.sec[x.f.t[T_Q16].section_index].offset;
    fx_build(&x);
    put64(x.out + so + 8, get64(x.out + so + 8) + 1);
    expect_section(&x, T_Q16, CNNZ_E_LAYOUT, "TDAT header body_length");
    fx_build(&x);
    x.out[so] = 'M';
    expect_section(&x, T_Q16, CNNZ_E_LAYOUT, "TDAT header tag");
    fx_build(&x);
    x.out[so + 4] = 0;
    expect_section(&x, T_Q16, CNNZ_E_LAYOUT, "TDAT header flags");
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
    /* more tensors than 16-byte entries fit: caught before anything else */
    fx_build(&x);
    const uint64_t tblen = get64(x.out + x.f.tdir_offset + 8);
    const uint64_t area = tblen - 16 - 24 * x.f.nsec - 8;
    put32(x.out + x.f.tdir_offset + 16, (uint32_t)(area / 16 + 1));
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "tensor_count over the area / 16");
    fx_build(&x);
    put32(x.out + x.f.tdir_offset + 16, 1u << 24);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "tensor_count 2^24");
    fx_build(&x);
    put32(x.out + x.f.tdir_offset + 16, 0xFFFFFFFFu);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_FORMAT_LIMIT, CNNZ_E_LAYOUT, "tensor_count 2^32-1");
    fx_build(&x);
    put32(x.out + x.f.tdir_offset + 20, 0xFFFFFFFFu);
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "section_count 2^32-1");
    fx_build(&x);
    put32(x.out + x.f.tdir_offset + 20, (uint32_t)((tblen - 24) / 24 + 1));
    fx_fix(&x);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "a section table past the body");
    fx_free(&x);
}
END_TEST

/* -------------------------------------------------- TDAT bodies (spec 4) */

/* Stream offsets are implied: a body laid out otherwise has the wrong
 * body_length (CNNZ_E_LAYOUT at open), or, when a later aligned stream
 * absorbs the difference, non-zero bytes where the rule puts padding. */
START_TEST(test_tdat_layout)
{
    struct fx x;
    fx_init(&x, __func__);
    fx_build(&x);
    const uint64_t body = x.f.sec[0].offset + 16, len = x.f.sec[0].body_len;
    /* the fixture's layout, by hand from spec 4 */
    ck_assert_uint_eq(x.f.t[T_EMPTY].s[0].offset, 200);
    ck_assert_uint_eq(x.f.t[T_K1023].s[0].offset, 200);
    ck_assert_uint_eq(x.f.t[T_K1024].s[0].offset, 1280);
    ck_assert_uint_eq(x.f.t[T_TAIL].s[0].offset, 2304);
    ck_assert_uint_eq(x.f.t[T_HUFF].s[0].offset, 2309);
    ck_assert_uint_eq(body, 80);

    /* body_length one too long (a zero byte before the checksum) or too
     * short (the checksum over the last stream byte), and more */
    static const int gaps[] = {1, -1, 7, 8, -8, 64};
    for (size_t i = 0; i < sizeof gaps / sizeof gaps[0]; i++) {
        fx_reset(&x);
        x.f.sec[0].gap = gaps[i];
        fx_build(&x);
        ck_assert_uint_eq(x.f.sec[0].body_len, (uint64_t)((int64_t)len + gaps[i]));
        expect_open(&x, CNNZ_E_LAYOUT, 0, "TDAT body_length not the rule's");
    }
    /* a run of one empty stream: 8 bytes; shorter is no body at all */
    for (int gap = -8; gap <= 8; gap += 4) {
        fx_reset(&x);
        xs_split_run(&x.f, T_EMPTY);
        xs_split_run(&x.f, T_K1023);
        x.f.sec[1].gap = gap;
        fx_build(&x);
        ck_assert_uint_eq(x.f.sec[1].body_len, (uint64_t)(8 + gap));
        if (gap)
            expect_open(&x, CNNZ_E_LAYOUT, 0, "empty run, body_length not 8");
        else
            expect_ok(&x, "empty stream alone in its TDAT");
    }

    /* a raw stream of 1024 bytes aligned to 8 only: the rest moves 56
     * bytes earlier */
    fx_reset(&x);
    x.f.t[T_K1024].s[0].align = 8;
    fx_build(&x);
    ck_assert_uint_eq(x.f.t[T_K1024].s[0].offset, 1224);
    ck_assert_uint_eq(x.f.sec[0].body_len, len - 56);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "raw stream of 1024 bytes at 8");
    /* an entropy-coded stream (A = 1) at 8, last in its run */
    fx_reset(&x);
    xs_split_run(&x.f, T_LAST);
    x.f.t[T_HUFF].s[0].align = 8;
    fx_build(&x);
    ck_assert_uint_eq(x.f.t[T_HUFF].s[0].offset, 2312);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "huffman stream aligned to 8");
    /* a raw stream of 1023 bytes at 64: k1024 (64-aligned) absorbs it, so
     * the body length is right, and the bytes where the rule puts padding
     * (before k1024) hold k1023's last bytes */
    fx_reset(&x);
    x.f.t[T_K1023].s[0].align = 64;
    fx_build(&x);
    ck_assert_uint_eq(x.f.t[T_K1023].s[0].offset, 256);
    ck_assert_uint_eq(x.f.sec[0].body_len, len);
    ck_assert_uint_eq(x.out[1278], 0x5A); /* k1023's last byte, before 1280 */
    expect_section(&x, T_K1023, CNNZ_E_RESERVED, "raw stream of 1023 bytes at 64");
    /* a raw stream (3 bytes, last) right after the huffman one, at 1 */
    fx_reset(&x);
    x.f.t[T_LAST].s[0].align = 1;
    fx_build(&x);
    ck_assert_uint_ne(x.f.t[T_LAST].s[0].offset % 8, 0);
    expect_open(&x, CNNZ_E_LAYOUT, 0, "raw stream of 3 bytes at an odd offset");

    /* The last stream claims more bytes than the body holds (dims,
     * decoded_length and coded_length agree; the body is unchanged): its
     * checksum, then the stream itself, run past the section body. */
    static const uint64_t more[] = {1, 5, 8, 9, 100, UINT64_C(1) << 20};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        fx_reset(&x);
        struct xs_tensor *t = &x.f.t[T_LAST];
        t->dims[0] = 3 + more[i];
        t->s[0].decoded_len = 3 + more[i];
        x.f.vf = (struct xs_vfault){XS_V_CODED_LENGTH, T_LAST, 0, XS_VENC_VALUE, 3 + more[i]};
        fx_build(&x);
        ck_assert_uint_eq(x.f.sec[0].body_len, len);
        expect_open(&x, CNNZ_E_LAYOUT, 0, "a stream past its section body");
    }
    /* a coded_length near 2^64 (raw's equality broken too) */
    static const uint64_t huge[] = {UINT64_MAX, UINT64_MAX - 3, UINT64_C(1) << 63};
    for (size_t i = 0; i < 3; i++) {
        fx_reset(&x);
        x.f.vf = (struct xs_vfault){XS_V_CODED_LENGTH, T_LAST, 0, XS_VENC_VALUE, huge[i]};
        fx_build(&x);
        expect_open(&x, CNNZ_E_LAYOUT, CNNZ_E_CODER, "coded_length near 2^64");
        fx_reset(&x);
        x.f.vf = (struct xs_vfault){XS_V_CODED_LENGTH, T_K1023, 0, XS_VENC_VALUE, huge[i]};
        fx_build(&x);
        expect_open(&x, CNNZ_E_LAYOUT, CNNZ_E_CODER, "coded_length near 2^64, mid-run");
    }
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

    /* tdat_xxh64 (directory intact): at decode, for the whole run */
    fx_reset(&x);
    x.f.keep_tdat_xxh = 1;
    x.f.sec[0].tdat_xxh ^= 1;
    fx_build(&x);
    expect_section(&x, T_HALF, CNNZ_E_CHECKSUM, "tdat_xxh64");
    /* a padding byte changed too: either rule may be reported first */
    fx_build(&x);
    x.out[before(&x.f, T_Q8, 0)] = 1;
    expect_decode_run(&x, 0, T_COUNT, CNNZ_E_CHECKSUM, CNNZ_E_RESERVED, 1,
                      "tdat_xxh64 and a padding byte");
    /* the checksum is checked before any stream is decoded: huffman bytes
     * that do not decode give CNNZ_E_CHECKSUM, not CNNZ_E_CORRUPT */
    fx_reset(&x);
    memset(x.f.t[T_HUFF].s[0].data, 0xFF, x.f.t[T_HUFF].s[0].data_len);
    fx_build(&x);
    memcpy(x.out + x.f.sec[0].offset + 16 + x.f.sec[0].body_len - 8, x.img +
           x.f.sec[0].offset + 16 + x.f.sec[0].body_len - 8, 8); /* the old checksum */
    expect_section(&x, T_HUFF, CNNZ_E_CHECKSUM, "huffman bytes changed, tdat_xxh64 not");
    /* with the checksum updated, the coder (or the decoded checksum) says */
    fx_fix(&x);
    expect_decode_run(&x, T_HUFF, 1, CNNZ_E_CORRUPT, CNNZ_E_CHECKSUM, 0,
                      "huffman bytes changed, tdat_xxh64 updated");

    /* coded bytes changed, tdat_xxh64 recomputed: the decoded checksum
     * (not affine: a random scale of 0 could map both symbols alike) */
    static const size_t which[] = {T_CONV, T_HALF, T_BHALF, T_LAST};
    for (size_t i = 0; i < sizeof which / sizeof which[0]; i++) {
        fx_reset(&x);
        x.f.t[which[i]].s[0].data[0] ^= 0x01;
        fx_build(&x);
        expect_decode(&x, which[i], CNNZ_E_CHECKSUM, "decoded_xxh64");
        /* decode_stream checks only the section checksum: it succeeds */
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
        xs_stream_copy(&t->s[1], &t->s[0]);
        t->stream_count = 2;
    }
    fx_build(&x);
    expect_open(&x, CNNZ_E_STREAM, 0, "stream_count 2");

    /* names (5.5) */
    fx_reset(&x);
    xs_set_name(&x.f.t[T_CONV], "", 0);
    fx_build(&x);
    expect_open(&x, CNNZ_E_NAME, 0, "empty name");
    static const char *const bad[] = {"\xC0\x80", "\xE0\x80\x80", "\xED\xA0\x80",
                                      "\xF4\x90\x80\x80", "\xFF", "ab\xE2\x82", "\x80", "a\0b"};
    static const size_t badn[] = {2, 3, 3, 4, 1, 4, 1, 3};
    for (size_t i = 0; i < sizeof badn / sizeof badn[0]; i++) {
        fx_reset(&x);
        xs_set_name(&x.f.t[T_Q16], bad[i], badn[i]);
        fx_build(&x);
        expect_open(&x, CNNZ_E_NAME, 0, "invalid name");
    }
    fx_reset(&x);
    xs_set_name(&x.f.t[T_FLAGS], "q8", 2);
    fx_build(&x);
    expect_open(&x, CNNZ_E_DUPLICATE, 0, "duplicate name");
    uint8_t *big = malloc(4097);
    ck_assert_ptr_nonnull(big);
    memset(big, 'b', 4097);
    fx_reset(&x);
    xs_set_name(&x.f.t[T_FLAGS], big, 4097);
    fx_build(&x);
    expect_open(&x, CNNZ_E_FORMAT_LIMIT, 0, "name of 4097 bytes");
    fx_reset(&x);
    xs_set_name(&x.f.t[T_FLAGS], big, 4096);
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
        {T_Q8, 1, {UINT64_MAX}},                  /* a 10-byte varint, valid as such */
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

/* spec 5.3: names front-coded against the name before (name_shared,
 * suffix), checked once expanded. Raw names write name_shared and the
 * suffix as a test says. */
START_TEST(test_names)
{
    struct fx x;
    fx_init(&x, __func__);

    /* the encoder chooses name_shared freely within the rule: none, or any
     * amount up to the common prefix, gives the same names */
    fx_reset(&x);
    for (size_t j = 0; j < x.f.nt; j++)
        xs_set_raw_name(&x.f.t[j], 0, x.f.t[j].name, x.f.t[j].name_len);
    fx_build(&x);
    expect_ok(&x, "every name_shared 0");
    fx_reset(&x);
    xs_set_name(&x.f.t[T_Q16], "q8q16", 5); /* prev "q8" */
    xs_set_raw_name(&x.f.t[T_Q16], 1, "8q16", 4);
    xs_set_name(&x.f.t[T_HALF], "q8q16h", 6);
    fx_build(&x);
    ck_assert_uint_eq(x.f.t[T_HALF].name_shared, 5);
    expect_any(&x, 0, 0, "name_shared below the common prefix");
    {
        cnnz_reader *r;
        ck_assert_int_eq(cnnz_reader_open_memory(&r, x.out, x.on, NULL), 0);
        size_t i;
        ck_assert_int_eq(cnnz_reader_find(r, "q8q16", &i), 0);
        ck_assert_uint_eq(i, T_Q16);
        ck_assert_int_eq(cnnz_reader_find(r, "q8q16h", &i), 0);
        ck_assert_uint_eq(i, T_HALF);
        cnnz_reader_close(r);
    }

    /* name_shared on entry 0, or longer than the previous name */
    static const uint64_t shared0[] = {1, 7, 8, UINT64_MAX};
    for (size_t i = 0; i < sizeof shared0 / sizeof shared0[0]; i++) {
        fx_reset(&x);
        xs_set_raw_name(&x.f.t[T_CONV], shared0[i], "x", 1);
        fx_build(&x);
        expect_open(&x, CNNZ_E_NAME, shared0[i] > 4095 ? CNNZ_E_FORMAT_LIMIT : 0,
                    "name_shared on entry 0");
    }
    fx_reset(&x);
    xs_set_raw_name(&x.f.t[T_CONV], 1, "", 0);
    fx_build(&x);
    expect_open(&x, CNNZ_E_NAME, 0, "name_shared 1, no suffix, on entry 0");
    static const uint64_t over[] = {3, 4, 4096, UINT64_C(1) << 32, UINT64_MAX};
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        fx_reset(&x); /* prev is "q8" */
        xs_set_raw_name(&x.f.t[T_Q16], over[i], "x", 1);
        fx_build(&x);
        expect_open(&x, CNNZ_E_NAME, over[i] > 4095 ? CNNZ_E_FORMAT_LIMIT : 0,
                    "name_shared over the previous name's length");
    }
    /* the previous name exactly, and a prefix of it */
    fx_reset(&x);
    xs_set_raw_name(&x.f.t[T_BHALF], 4, "", 0); /* "half" again */
    fx_build(&x);
    expect_open(&x, CNNZ_E_DUPLICATE, 0, "name_shared = previous length, empty suffix");
    fx_reset(&x);
    xs_set_raw_name(&x.f.t[T_BHALF], 3, "", 0); /* "hal" */
    fx_build(&x);
    expect_any(&x, 0, 0, "a prefix of the previous name");
    fx_reset(&x);
    xs_set_raw_name(&x.f.t[T_FLAGS], 0, "conv1/w", 7); /* not adjacent */
    fx_build(&x);
    expect_open(&x, CNNZ_E_DUPLICATE, 0, "duplicate of an earlier name");
    fx_reset(&x);
    xs_set_raw_name(&x.f.t[T_FLAGS], 0, "", 0);
    fx_build(&x);
    expect_open(&x, CNNZ_E_NAME, 0, "name_shared 0, suffix_length 0");

    /* UTF-8 is checked on the whole name, not on its parts */
    fx_reset(&x);
    xs_set_name(&x.f.t[T_HALF], "x\xE2\x82\xAC" "1", 5);
    xs_set_raw_name(&x.f.t[T_BHALF], 2, "\x82\xAC" "2", 3); /* suffix alone invalid */
    fx_build(&x);
    expect_any(&x, 0, 0, "a character split by the shared prefix");
    {
        cnnz_reader *r;
        ck_assert_int_eq(cnnz_reader_open_memory(&r, x.out, x.on, NULL), 0);
        size_t i;
        ck_assert_int_eq(cnnz_reader_find(r, "x\xE2\x82\xAC" "2", &i), 0);
        ck_assert_uint_eq(i, T_BHALF);
        cnnz_reader_close(r);
    }
    static const struct {
        uint64_t shared;
        const char *suffix;
        size_t n;
    } split[] = {
        {2, "A", 1},        /* x E2 A: the prefix's truncated character */
        {3, "1", 1},        /* x E2 82 1 */
        {4, "\x82", 1},     /* x € 82: a stray continuation byte */
        {1, "\xE2\x82", 2}, /* x E2 82: truncated at the end */
        {1, "\0", 1},       /* x NUL */
        {2, "\xA0\x80", 2}, /* x E2 A0 80: U+2800, valid */
    };
    for (size_t i = 0; i < sizeof split / sizeof split[0]; i++) {
        fx_reset(&x);
        xs_set_name(&x.f.t[T_HALF], "x\xE2\x82\xAC" "1", 5);
        xs_set_raw_name(&x.f.t[T_BHALF], split[i].shared, split[i].suffix, split[i].n);
        fx_build(&x);
        if (i == 5)
            expect_any(&x, 0, 0, "a valid character across the boundary");
        else
            expect_open(&x, CNNZ_E_NAME, 0, "invalid UTF-8 across the shared boundary");
    }
    /* an ED byte shared, the suffix making a surrogate */
    fx_reset(&x);
    xs_set_name(&x.f.t[T_HALF], "\xED\x9F\xBF", 3); /* U+D7FF */
    xs_set_raw_name(&x.f.t[T_BHALF], 1, "\xA0\x80", 2);  /* ED A0 80 = U+D800 */
    fx_build(&x);
    expect_open(&x, CNNZ_E_NAME, 0, "a surrogate across the shared boundary");

    /* the expanded name over 4096 bytes, though the entry is short */
    uint8_t *h = malloc(4096);
    ck_assert_ptr_nonnull(h);
    memset(h, 'h', 4096);
    for (size_t extra = 96; extra <= 97; extra++) {
        fx_reset(&x);
        xs_set_name(&x.f.t[T_HALF], h, 4000);
        xs_set_raw_name(&x.f.t[T_BHALF], 4000, h, extra);
        fx_build(&x);
        if (extra == 96)
            expect_any(&x, 0, 0, "an expanded name of 4096 bytes");
        else
            expect_open(&x, CNNZ_E_FORMAT_LIMIT, 0, "an expanded name of 4097 bytes");
    }
    fx_reset(&x);
    xs_set_name(&x.f.t[T_HALF], h, 4096);
    xs_set_raw_name(&x.f.t[T_BHALF], 4096, "b", 1);
    fx_build(&x);
    expect_open(&x, CNNZ_E_FORMAT_LIMIT, 0, "4096 shared bytes and a suffix");
    fx_reset(&x);
    xs_set_name(&x.f.t[T_HALF], h, 4096);
    xs_set_raw_name(&x.f.t[T_BHALF], 4095, "b", 1);
    fx_build(&x);
    expect_any(&x, 0, 0, "4095 shared bytes and a suffix");
    free(h);
    /* suffix_length saying more than the name limit (the suffix bytes then
     * do not fit the entry either) */
    static const uint64_t sl[] = {4097, UINT64_C(1) << 32, UINT64_MAX};
    for (size_t i = 0; i < sizeof sl / sizeof sl[0]; i++) {
        fx_reset(&x);
        x.f.vf = (struct xs_vfault){XS_V_SUFFIX_LENGTH, T_BHALF, 0, XS_VENC_VALUE, sl[i]};
        fx_build(&x);
        expect_open(&x, CNNZ_E_FORMAT_LIMIT, CNNZ_E_LAYOUT, "suffix_length over 4096");
    }
    fx_free(&x);
}
END_TEST

/* spec 1.1: a directory varint that is not minimal, longer than 10 bytes,
 * over 64 bits, or cut by the end of the tensor-entry area, in any field of
 * any entry, is CNNZ_E_LAYOUT. */
START_TEST(test_varints)
{
    struct fx x;
    fx_init(&x, __func__);
    static const char *const fields[XS_V_FIELDS] = {
        "", "name_shared", "suffix_length", "section_index", "dims", "repr_params_length",
        "coder_params_length", "coded_length", "decoded_length"};
    static const char *const encs[] = {"value", "padded", "11 bytes", "2^64", "cut"};
    unsigned cases = 0;
    for (size_t j = 0; j < T_COUNT; j++) {
        for (int field = XS_V_NAME_SHARED; field < XS_V_FIELDS; field++) {
            unsigned nk = 1;
            if (field == XS_V_DIM)
                nk = x.f.t[j].rank;
            else if (field >= XS_V_CODER_PARAMS_LENGTH)
                nk = x.f.t[j].stream_count;
            for (unsigned k = 0; k < nk; k++) {
                for (int enc = XS_VENC_PADDED; enc <= XS_VENC_CUT; enc++) {
                    fx_reset(&x);
                    x.f.vf = (struct xs_vfault){field, j, k, enc, 0};
                    fx_build(&x);
                    char what[96];
                    snprintf(what, sizeof what, "tensor %zu %s[%u] %s", j, fields[field], k,
                             encs[enc]);
                    expect_open(&x, CNNZ_E_LAYOUT, 0, what);
                    cases++;
                }
            }
        }
    }
    ck_assert_uint_ge(cases, 4u * 8u * T_COUNT);
    /* the minimal encodings the writer uses are of course fine, even long */
    fx_reset(&x);
    xs_split_run(&x.f, T_Q8); /* section_index 1 */
    fx_build(&x);
    expect_ok(&x, "two runs");
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
    /* a length the entry cannot hold */
    fx_reset(&x);
    x.f.vf = (struct xs_vfault){XS_V_REPR_PARAMS_LENGTH, T_Q8, 0, XS_VENC_VALUE, UINT64_MAX};
    fx_build(&x);
    expect_open(&x, CNNZ_E_REPR, CNNZ_E_LAYOUT, "repr_params_length 2^64-1");

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
    xs_set_params(&x.f.t[T_CONV].s[0], NULL, 1);
    fx_build(&x);
    expect_open(&x, CNNZ_E_CODER, 0, "raw with params");
    /* coder_params_length over 65535 (the bytes present): CNNZ_E_CODER for
     * any coder, also one whose parameters come first */
    static const size_t plens[] = {65535, 65536, 70000};
    for (size_t i = 0; i < sizeof plens / sizeof plens[0]; i++) {
        fx_reset(&x);
        xs_set_params(&x.f.t[T_TAIL].s[0], NULL, plens[i]);
        fx_build(&x);
        expect_open(&x, CNNZ_E_CODER, 0, "raw with 64 KiB of params");
        fx_reset(&x);
        struct xs_stream *h = &x.f.t[T_HUFF].s[0];
        uint8_t *hp = calloc(1, plens[i]);
        ck_assert_ptr_nonnull(hp);
        memcpy(hp, h->params, (size_t)h->params_len);
        xs_set_params(h, hp, plens[i]);
        free(hp);
        fx_build(&x);
        expect_open(&x, CNNZ_E_CODER, 0, "huffman params and zeros up to 64 KiB");
    }
    /* a length no entry can hold */
    static const uint64_t huge[] = {UINT64_C(1) << 32, UINT64_MAX};
    for (size_t i = 0; i < 2; i++) {
        fx_reset(&x);
        x.f.vf = (struct xs_vfault){XS_V_CODER_PARAMS_LENGTH, T_HUFF, 0, XS_VENC_VALUE, huge[i]};
        fx_build(&x);
        expect_open(&x, CNNZ_E_CODER, CNNZ_E_LAYOUT, "coder_params_length near 2^64");
    }

    /* raw: coded_length must equal decoded_length */
    fx_reset(&x);
    struct xs_stream *s = &x.f.t[T_Q16].s[0];
    uint8_t *d = malloc(s->data_len + 1);
    ck_assert_ptr_nonnull(d);
    memcpy(d, s->data, s->data_len);
    d[s->data_len] = 0;
    xs_set_data(s, d, s->data_len + 1);
    free(d);
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

/* spec 3.5, 4, 5 and 7.1 by hand: a file of two tensors sharing one TDAT,
 * assembled byte by byte, with a newer minor, a skippable section before
 * the TDAT, and reserved header bytes set. */
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
    /* skippable "NOTE" with 5 bytes: 64..85, pad to 88 */
    const size_t note = 64;
    memcpy(f + note, "NOTE", 4);
    put64(f + note + 8, 5);
    memcpy(f + note + 16, "hello", 5);
    /* TDAT at 88, body at 104: "x" (raw, 3 bytes) at 104, "xy" (raw, 2
     * bytes) at align(107, 8) = 112, tdat_xxh64 at 114, body_length 18 */
    const size_t tdat = 88;
    memcpy(f + tdat, "TDAT", 4);
    put32(f + tdat + 4, 1);
    put64(f + tdat + 8, 18);
    memcpy(f + 104, "\x01\x02\x03", 3);
    memcpy(f + 112, "\x04\x05", 2);
    put64(f + 114, xxh64(f + 104, 10));
    /* TDIR at align(122, 8) = 128 */
    const size_t tdir = 128;
    uint8_t body[256];
    size_t b = 0;
    put32(body, 2);      /* tensor_count */
    put32(body + 4, 2);  /* section_count */
    put64(body + 8, 0);
    b = 16;
    put64(body + b, note);
    put64(body + b + 8, 5);
    memcpy(body + b + 16, "NOTE", 4);
    put32(body + b + 20, 0);
    b += 24;
    put64(body + b, tdat);
    put64(body + b + 8, 18);
    memcpy(body + b + 16, "TDAT", 4);
    put32(body + b + 20, 1);
    b += 24;
    /* "x": name_shared 0, suffix_length 1, u8, rank 1, plain, 1 stream,
     * section_index 1 (the NOTE does not count as a TDAT) */
    memcpy(body + b, "\x00\x01x\x06\x01\x00\x01\x01", 8);
    b += 8;
    put64(body + b, xxh64("\x01\x02\x03", 3));
    b += 8;
    memcpy(body + b, "\x03\x00", 2); /* dims[0] 3, repr_params_length 0 */
    b += 2;
    memcpy(body + b, "\x00\x00\x00\x00\x03\x03", 6); /* values, raw, v0, no params, 3, 3 */
    b += 6;
    /* "xy": shares "x" */
    memcpy(body + b, "\x01\x01y\x06\x01\x00\x01\x01", 8);
    b += 8;
    put64(body + b, xxh64("\x04\x05", 2));
    b += 8;
    memcpy(body + b, "\x02\x00\x00\x00\x00\x00\x02\x02", 8);
    b += 8;
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
    uint64_t d3[1] = {3}, d2[1] = {2};
    model_add(&m, NULL, "x", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d3, "\x01\x02\x03");
    model_add(&m, NULL, "xy", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d2, "\x04\x05");
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
    ck_assert_uint_eq(si.tensor_count, 0);
    ck_assert_int_eq(cnnz_reader_section_info(r, 1, &si), 0);
    ck_assert_str_eq(si.tag, "TDAT");
    ck_assert(si.known && si.critical);
    ck_assert_uint_eq(si.offset, 88);
    ck_assert_uint_eq(si.body_bytes, 18);
    ck_assert_uint_eq(si.first_tensor, 0);
    ck_assert_uint_eq(si.tensor_count, 2);
    struct cnnz_tensor_info ti;
    ck_assert_int_eq(cnnz_reader_tensor_info(r, 0, &ti), 0);
    ck_assert_uint_eq(ti.streams[0].offset, 104);
    ck_assert_int_eq(cnnz_reader_tensor_info(r, 1, &ti), 0);
    ck_assert_str_eq(ti.name, "xy");
    ck_assert_uint_eq(ti.streams[0].offset, 112);
    cnnz_reader_close(r);
    /* the serializer reads it back to the same bytes */
    struct xs_file xf;
    xs_parse(&xf, img, n);
    size_t n2;
    uint8_t *img2 = xs_serialize(&xf, &n2);
    ck_assert_uint_eq(n2, n);
    ck_assert_mem_eq(img2, img, n);
    free(img2);
    xs_free(&xf);
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
    tcase_add_test(tc, test_runs_valid);
    tcase_add_test(tc, test_runs_broken);
    tcase_add_test(tc, test_runs_decode);
    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_tdat_layout);
    tcase_add_test(tc, test_checksums);
    tcase_add_test(tc, test_tensor_entries);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_varints);
    tcase_add_test(tc, test_zero_dim_order_reader);
    tcase_add_test(tc, test_repr_params);
    tcase_add_test(tc, test_streams_coders);
    tcase_add_test(tc, test_metadata);
    tcase_add_test(tc, test_meta_empty_key);
    tcase_add_test(tc, test_hand_built);
    suite_add_tcase(s, tc);
    return s;
}
