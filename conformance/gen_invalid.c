/* gen_invalid.c - conformance/invalid: files every decoder MUST reject.
 *
 * Each file breaks one rule of the spec, named by its clause identifier
 * (spec 1.1), with every other byte, offset and checksum right: a valid
 * file from libcnnz's writer (or built by hand with the file model and the
 * spec-only encoders) is changed in one field and serialized again with
 * the spec's layout. Where a change cannot help breaking a second rule
 * (a count that would need 2^24 real entries, a shape whose streams cannot
 * match), the manifest lists both tokens, as spec section 10 allows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define LAYOUT "CNNZ_E_LAYOUT"
#define RESERVED "CNNZ_E_RESERVED"
#define SECTION "CNNZ_E_SECTION"
#define CHECKSUM "CNNZ_E_CHECKSUM"
#define CORRUPT "CNNZ_E_CORRUPT"
#define CODER "CNNZ_E_CODER"
#define STREAM "CNNZ_E_STREAM"
#define REPR "CNNZ_E_REPR"
#define NAME "CNNZ_E_NAME"
#define METADATA "CNNZ_E_METADATA"
#define FLIMIT "CNNZ_E_FORMAT_LIMIT"

/* The base file: one tensor of each representation, streams raw but one,
 * all in one TDAT, then META. */
enum { T_CONV, T_BIAS, T_Q8, T_HALF, T_CB, T_SP, T_PL, T_FLAGS, T_K1024, T_TAIL, T_HUFF, T_Z,
       T_N };

static struct cf_wmodel base_m;
static struct cf_file base;

static void put_f32(uint8_t *p, float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    cf_put32(p, b);
}

static void make_base(void)
{
    struct cf_rng r = {UINT64_C(0x696E76616C6964)};
    struct cf_wmodel *m = &base_m;
    static const uint64_t d3x4[2] = {3, 4}, d5[1] = {5}, d6[1] = {6}, d4[1] = {4}, d8[1] = {8},
                          d4x4[2] = {4, 4}, d14[1] = {14}, d1024[1] = {1024}, d96[1] = {96}, d3[1] = {3};
    struct cf_wtensor *t = cf_wadd(m, "conv.w", 6, CNNZ_DT_F32, 2, d3x4, CNNZ_REPR_PLAIN, 0);
    uint8_t v[4];
    for (int i = 0; i < 12; i++) {
        put_f32(v, (float)(cf_normal(&r) * 0.1));
        cf_buf_put(&t->input, v, 4);
    }
    t = cf_wadd(m, "conv.b", 6, CNNZ_DT_U8, 1, d5, CNNZ_REPR_PLAIN, 0);
    cf_buf_put(&t->input, "\x01\x02\x03\x04\x05", 5);
    t = cf_wadd(m, "q8", 2, CNNZ_DT_F32, 1, d6, CNNZ_REPR_AFFINE, 0);
    t->d.symbol_dtype = CNNZ_DT_U8;
    t->d.scale = 0.5;
    t->d.offset = -1.0;
    cf_buf_put(&t->input, "\x00\x01\x02\x10\x20\xff", 6);
    t = cf_wadd(m, "half", 4, CNNZ_DT_F32, 1, d4, CNNZ_REPR_WIDEN, 0);
    t->d.symbol_dtype = CNNZ_DT_F16;
    cf_buf_put(&t->input, "\x00\x3c\x00\xbc\x55\x35\x01\x00", 8);
    t = cf_wadd(m, "cb", 2, CNNZ_DT_F32, 1, d8, CNNZ_REPR_HAM, 0);
    t->d.symbol_dtype = CNNZ_DT_U8;
    t->d.codebook_size = 4;
    for (int j = 0; j < 4; j++) {
        put_f32(v, 0.25f * (float)j);
        cf_buf_put(&t->codebook, v, 4);
    }
    cf_buf_put(&t->input, "\x00\x01\x02\x03\x03\x02\x01\x00", 8);
    t = cf_wadd(m, "sp", 2, CNNZ_DT_F32, 2, d4x4, CNNZ_REPR_SHAM, 0);
    t->d.symbol_dtype = CNNZ_DT_U8;
    t->d.codebook_size = 4;
    t->d.block_rows = 2;
    for (int j = 0; j < 4; j++) {
        put_f32(v, 0.5f * (float)j);
        cf_buf_put(&t->codebook, v, 4);
    }
    cf_buf_put(&t->input, "\x00\x00\x01\x00\x00\x00\x00\x02\x03\x00\x00\x00\x00\x01\x00\x00", 16);
    t = cf_wadd(m, "pl", 2, CNNZ_DT_F32, 1, d4, CNNZ_REPR_PLANES, 0);
    for (int i = 0; i < 4; i++) {
        put_f32(v, (float)cf_normal(&r));
        cf_buf_put(&t->input, v, 4);
    }
    t = cf_wadd(m, "flags", 5, CNNZ_DT_BOOL, 1, d14, CNNZ_REPR_PLAIN, 0);
    cf_buf_put(&t->input, "\x00\x01\x01\x00\x01\x00\x00\x00\x01\x01\x00\x01\x00\x01", 14);
    t = cf_wadd(m, "k1024", 5, CNNZ_DT_U8, 1, d1024, CNNZ_REPR_PLAIN, 0);
    for (int i = 0; i < 1024; i++)
        cf_buf_u8(&t->input, 0x5A);
    t = cf_wadd(m, "tail", 4, CNNZ_DT_U8, 1, d5, CNNZ_REPR_PLAIN, 0);
    cf_buf_put(&t->input, "\x0a\x0b\x0c\x0d\x0e", 5);
    t = cf_wadd(m, "huff", 4, CNNZ_DT_U8, 1, d96, CNNZ_REPR_PLAIN, CNNZ_CODER_HUFFMAN);
    for (int i = 0; i < 96; i++)
        cf_buf_u8(&t->input, 1 + cf_below(&r, 4));
    t = cf_wadd(m, "z", 1, CNNZ_DT_U8, 1, d3, CNNZ_REPR_PLAIN, 0);
    cf_buf_put(&t->input, "\x07\x08\x09", 3);
    for (size_t i = 0; i < m->nt; i++)
        cf_wexpect(&m->t[i]);
    struct cf_wmeta *e = cf_wmeta_add(m, "producer", CNNZ_META_STRING);
    cf_buf_str(&e->value, "cnnz-gen-vectors 1.0");
    gen_base(m, &base);
    if (base.nt != T_N || base.nsec != 2 || memcmp(base.sec[1].tag, "META", 4) ||
        base.t[T_HUFF].s[0].coder != CNNZ_CODER_HUFFMAN)
        cf_die("invalid: the base file is not as expected");
}

static void from_base(struct cf_file *f)
{
    cf_copy(f, &base);
}

/* Serialize f (into g->img) for byte changes; cf_resum fixes checksums. */
static uint8_t *ser(struct gen *g, struct cf_file *f)
{
    cf_serialize(f, &g->img);
    return g->img.p;
}

static void rej(struct gen *g, const char *name, struct cf_file *f, const char *tokens,
                const char *what, const char *clause)
{
    gen_reject_f(g, name, f, tokens, what, clause);
    cf_free(f);
}

/* The serialized image as it is now (after byte changes). */
static void rej_img(struct gen *g, const char *name, const char *tokens, const char *what,
                    const char *clause)
{
    gen_reject(g, name, g->img.p, g->img.n, tokens, what, clause);
}

/* Bytes inserted at offset at of the image. */
static void splice(struct cf_buf *img, size_t at, const void *p, size_t n)
{
    struct cf_buf out = {0};
    cf_buf_put(&out, img->p, at);
    cf_buf_put(&out, p, n);
    cf_buf_put(&out, img->p + at, img->n - at);
    cf_buf_free(img);
    *img = out;
}

/* Bytes removed at offset at. */
static void cut(struct cf_buf *img, size_t at, size_t n)
{
    memmove(img->p + at, img->p + at + n, img->n - at - n);
    img->n -= n;
}

/* The file offset of the table entry of section i. */
static size_t table_entry(const struct cf_file *f, size_t i)
{
    return (size_t)(f->tdir_offset + 16 + 16 + 24 * i);
}

/* ------------------------------------------------------------ 3.1 header */

static void header_faults(struct gen *g)
{
    struct cf_file f;
    uint8_t *p;

    from_base(&f);
    p = ser(g, &f);
    p[0] = 0x88;
    rej_img(g, "signature-first-byte", "CNNZ_E_SIGNATURE", "first signature byte 88", "R-3.1-signature");
    p = ser(g, &f);
    memcpy(p, "PK\x03\x04", 4);
    rej_img(g, "signature-zip", "CNNZ_E_SIGNATURE", "a zip file's first bytes", "R-3.1-signature");
    p = ser(g, &f);
    p[4] = 0x0A; /* CRLF -> LF damage: 0D 0A became 0A 0A */
    rej_img(g, "signature-crlf", "CNNZ_E_SIGNATURE", "signature byte 4 (0D) as 0A",
            "R-3.1-signature");
    p = ser(g, &f);
    p[56] ^= 1;
    rej_img(g, "header-checksum", CHECKSUM, "header_xxh64 bit flipped", "R-3.1-checksum");
    p = ser(g, &f);
    p[20] = 1;
    rej_img(g, "header-checksum-stale", CHECKSUM, "a reserved byte changed, header_xxh64 not",
            "R-3.1-checksum");
    cf_free(&f);

    static const struct {
        unsigned major, minor;
        const char *name;
    } majors[] = {{0, 0, "version-major-0"}, {2, 0, "version-major-2"},
                  {2, 7, "version-major-2-minor-7"}, {65535, 0, "version-major-65535"}};
    for (size_t i = 0; i < 4; i++) {
        from_base(&f);
        cf_put16(f.header + 8, majors[i].major);
        cf_set_minor(&f, majors[i].minor);
        rej(g, majors[i].name, &f, "CNNZ_E_VERSION", "major version not 1", "R-2-major");
    }
    from_base(&f);
    f.header[12] = 1;
    rej(g, "header-flags-bit-0", &f, RESERVED, "header flags bit 0, minor 0", "R-3.1-flags");
    from_base(&f);
    f.header[15] = 0x80;
    rej(g, "header-flags-bit-31", &f, RESERVED, "header flags bit 31, minor 0", "R-3.1-flags");
    from_base(&f);
    f.header[16] = 1;
    rej(g, "header-reserved-first", &f, RESERVED, "header byte 16", "R-3.1-reserved");
    from_base(&f);
    f.header[55] = 0x80;
    rej(g, "header-reserved-last", &f, RESERVED, "header byte 55", "R-3.1-reserved");

    /* short files (3.1 check order) */
    struct cf_wmodel none = {0};
    struct cf_buf img = {0};
    if (cf_wwrite(&none, &img) || img.n != 136)
        cf_die("invalid: the empty file is not 136 bytes");
    gen_reject(g, "short-135", img.p, 135, "CNNZ_E_TRUNCATED", "the empty file less its last byte",
               "R-3.1-short");
    gen_reject(g, "short-signature-only", img.p, 8, "CNNZ_E_TRUNCATED", "the 8 signature bytes",
               "R-3.1-short");
    gen_reject(g, "short-signature-prefix", img.p, 5, "CNNZ_E_TRUNCATED",
               "5 bytes of the signature", "R-3.1-short");
    gen_reject(g, "short-empty", img.p, 0, "CNNZ_E_TRUNCATED", "an empty file", "R-3.1-short");
    gen_reject(g, "short-text", (const uint8_t *)"no cnnz here", 12, "CNNZ_E_SIGNATURE",
               "12 bytes of text", "R-3.1-short");
    cf_buf_free(&img);
}

/* ------------------------------------------------------------ 3.2 sections */

static void section_faults(struct gen *g)
{
    struct cf_file f;
    uint8_t *p;
    const size_t meta = 1;

    /* padding after a body: META's body is 52 bytes */
    from_base(&f);
    p = ser(g, &f);
    uint64_t end = f.sec[meta].offset + 16 + f.sec[meta].body_len;
    if (end % 8 == 0)
        cf_die("invalid: META body is aligned");
    p[end] = 1;
    rej_img(g, "padding-after-meta", RESERVED, "the first padding byte after META", "R-3.2-padding");
    /* after a TDAT body: a run of z alone (3 bytes + 8) */
    cf_split_run(&f, T_Z);
    p = ser(g, &f);
    end = f.sec[1].offset + 16 + f.sec[1].body_len;
    if (end % 8 == 0)
        cf_die("invalid: TDAT body is aligned");
    p[end + 4] = 0x40;
    rej_img(g, "padding-after-tdat", RESERVED, "a padding byte after a TDAT body", "R-3.2-padding");
    cf_free(&f);
    /* after a skippable section (found by full verification) */
    from_base(&f);
    cf_insert_section(&f, 1, "XTRA", 0, "12345", 5);
    p = ser(g, &f);
    p[f.sec[1].offset + 16 + 5 + 2] = 1;
    rej_img(g, "padding-after-unknown-section", RESERVED,
            "a padding byte after a skippable section", "R-3.2-padding");
    cf_free(&f);

    /* reserved flag bits, minor 0 */
    from_base(&f);
    f.sec[0].flags |= 2;
    f.sec[0].table_flags |= 2;
    rej(g, "flags-tdat-bit-1", &f, RESERVED, "TDAT flags bit 1 (header and table)", "R-3.2-flags");
    from_base(&f);
    f.sec[meta].flags |= 4;
    f.sec[meta].table_flags |= 4;
    rej(g, "flags-meta-bit-2", &f, RESERVED, "META flags bit 2 (header and table)", "R-3.2-flags");
    from_base(&f);
    f.tdir_flags |= 0x80000000u;
    rej(g, "flags-tdir-bit-31", &f, RESERVED, "TDIR flags bit 31", "R-3.2-flags");
    from_base(&f);
    cf_insert_section(&f, 0, "XTRA", 0x100, "abc", 3);
    rej(g, "flags-unknown-bit-8", &f, RESERVED, "a skippable section's flags bit 8", "R-3.2-flags");

    /* CRITICAL of known tags */
    from_base(&f);
    f.sec[0].flags = f.sec[0].table_flags = 0;
    rej(g, "critical-tdat-not-set", &f, SECTION, "TDAT without CRITICAL", "R-3.2-critical");
    from_base(&f);
    f.sec[meta].flags = f.sec[meta].table_flags = 1;
    rej(g, "critical-meta-set", &f, SECTION, "META with CRITICAL", "R-3.2-critical");
    from_base(&f);
    f.tdir_flags = 0;
    rej(g, "critical-tdir-not-set", &f, SECTION, "TDIR without CRITICAL", "R-3.2-critical");

    for (unsigned minor = 0; minor <= 5; minor += 5) {
        from_base(&f);
        cf_set_minor(&f, minor);
        cf_insert_section(&f, 1, "XTRA", 1, "critical", 8);
        rej(g, minor ? "unknown-critical-minor-5" : "unknown-critical", &f, SECTION,
            "an unknown section with CRITICAL", "R-3.2-unknown-critical");
    }
    from_base(&f);
    cf_insert_section(&f, 0, "META", 0, f.sec[meta].body.p, f.sec[meta].body.n);
    rej(g, "second-meta", &f, SECTION, "two META sections", "R-3.2-second-meta");
}

/* ------------------------------------------------------------ 3.3 trailer */

static void trailer_faults(struct gen *g)
{
    struct cf_file f;
    uint8_t *p;
    from_base(&f);
    p = ser(g, &f);
    p[g->img.n - 16] ^= 0x80;
    rej_img(g, "trailer-checksum", CHECKSUM, "trailer_xxh64 bit flipped", "R-3.3-checksum");
    p = ser(g, &f);
    p[g->img.n - 1] = 0x0D;
    rej_img(g, "end-signature", "CNNZ_E_TRUNCATED", "last byte of the end signature",
            "R-3.3-end-signature");
    ser(g, &f);
    g->img.n--;
    rej_img(g, "truncated-1-byte", "CNNZ_E_TRUNCATED", "the file less its last byte",
            "R-3.3-end-signature");
    ser(g, &f);
    g->img.n = g->img.n / 2;
    rej_img(g, "truncated-half", "CNNZ_E_TRUNCATED", "the first half of the file",
            "R-3.3-end-signature");
    ser(g, &f);
    g->img.n -= 8;
    rej_img(g, "truncated-8-bytes", "CNNZ_E_TRUNCATED", "the file less its last 8 bytes",
            "R-3.3-end-signature");
    f.trailer_reserved = 1;
    rej(g, "trailer-reserved", &f, RESERVED, "trailer reserved field 1", "R-3.3-reserved");

    /* padding before the trailer: grow a name until the TDIR body is not aligned */
    from_base(&f);
    for (int i = 0; i < 8; i++) {
        ser(g, &f);
        if (f.tdir_body_len % 8)
            break;
        cf_buf_u8(&f.t[T_CONV].name, 'x');
    }
    if (f.tdir_body_len % 8 == 0)
        cf_die("invalid: no TDIR padding");
    g->img.p[f.trailer_offset - 1] = 1;
    rej_img(g, "padding-before-trailer", RESERVED, "the last padding byte before the trailer",
            "R-3.3-padding");
    cf_free(&f);
}

/* ------------------------------------------------------------ 3.4 layout, 9.1 */

static void layout_faults(struct gen *g)
{
    struct cf_file f;
    uint8_t *p;
    static const uint8_t zeros[64];

    /* 64 zero bytes after the header: every section moved (alignments kept) */
    from_base(&f);
    ser(g, &f);
    splice(&g->img, 64, zeros, 64);
    for (size_t i = 0; i < f.nsec; i++)
        cf_put64(g->img.p + table_entry(&f, i) + 64, f.sec[i].offset + 64);
    cf_put64(g->img.p + g->img.n - 32, f.tdir_offset + 64);
    f.tdir_offset += 64;
    f.trailer_offset += 64;
    cf_resum(&f, g->img.p, g->img.n, CF_SUM_TDIR | CF_SUM_TRAILER);
    rej_img(g, "layout-hole-after-header", LAYOUT, "64 zero bytes before the first section",
            "R-3.4-first");
    cf_free(&f);
    /* no section: TDIR 8 bytes late */
    {
        struct cf_wmodel none = {0};
        struct cf_buf img = {0};
        cf_wwrite(&none, &img);
        cf_init(&f);
        cf_parse(&f, img.p, img.n);
        ser(g, &f);
        splice(&g->img, 64, zeros, 8);
        cf_put64(g->img.p + g->img.n - 32, 72);
        f.trailer_offset += 8;
        cf_resum(&f, g->img.p, g->img.n, CF_SUM_TRAILER);
        rej_img(g, "layout-hole-no-sections", LAYOUT, "no section, TDIR at 72", "R-3.4-first");
        cf_free(&f);
        cf_buf_free(&img);
    }
    /* a hole and an overlap between sections */
    from_base(&f);
    ser(g, &f);
    size_t at = (size_t)f.sec[1].offset;
    splice(&g->img, at, zeros, 64);
    cf_put64(g->img.p + table_entry(&f, 1) + 64, f.sec[1].offset + 64);
    cf_put64(g->img.p + g->img.n - 32, f.tdir_offset + 64);
    f.tdir_offset += 64;
    f.trailer_offset += 64;
    cf_resum(&f, g->img.p, g->img.n, CF_SUM_TDIR | CF_SUM_TRAILER);
    rej_img(g, "layout-hole-between-sections", LAYOUT, "64 zero bytes between TDAT and META",
            "R-3.4-next");
    cf_free(&f);
    from_base(&f);
    p = ser(g, &f);
    cf_put64(p + table_entry(&f, 1), f.sec[1].offset - 8);
    cf_resum(&f, p, g->img.n, CF_SUM_TDIR);
    rej_img(g, "layout-overlap", LAYOUT, "META's table offset 8 bytes early", "R-3.4-next");
    /* TDIR late */
    ser(g, &f);
    splice(&g->img, (size_t)f.tdir_offset, zeros, 8);
    cf_put64(g->img.p + g->img.n - 32, f.tdir_offset + 8);
    f.trailer_offset += 8;
    cf_resum(&f, g->img.p, g->img.n, CF_SUM_TRAILER);
    f.trailer_offset -= 8;
    rej_img(g, "layout-hole-before-tdir", LAYOUT, "8 zero bytes between META and TDIR",
            "R-3.4-tdir");
    /* trailing bytes */
    ser(g, &f);
    cf_buf_put(&g->img, g->img.p + g->img.n - 32, 32);
    rej_img(g, "layout-trailing-trailer", LAYOUT, "a second trailer appended", "R-3.4-end");
    ser(g, &f);
    splice(&g->img, (size_t)f.trailer_offset, zeros, 8);
    rej_img(g, "layout-gap-before-trailer", LAYOUT, "8 zero bytes between TDIR and the trailer",
            "R-3.4-end");
    /* lengths near 2^64 */
    p = ser(g, &f);
    cf_put64(p + table_entry(&f, 1) + 8, UINT64_MAX - 7);
    cf_resum(&f, p, g->img.n, CF_SUM_TDIR);
    rej_img(g, "layout-length-overflow", LAYOUT, "META's table body_length 2^64 - 8",
            "R-1.1-overflow");
    p = ser(g, &f);
    cf_put64(p + table_entry(&f, 1), UINT64_MAX - 15);
    cf_resum(&f, p, g->img.n, CF_SUM_TDIR);
    rej_img(g, "layout-offset-overflow", LAYOUT, "META's table offset 2^64 - 16", "R-1.1-overflow");

    /* section headers against the table */
    p = ser(g, &f);
    cf_put64(p + f.sec[0].offset + 8, f.sec[0].body_len + 1);
    rej_img(g, "header-tdat-body-length", LAYOUT, "TDAT header body_length + 1 (table right)",
            "R-3.4-header");
    p = ser(g, &f);
    p[f.sec[0].offset] = 'X';
    rej_img(g, "header-tdat-tag", LAYOUT, "TDAT header tag XDAT (table right)", "R-3.4-header");
    p = ser(g, &f);
    cf_put64(p + f.sec[1].offset + 8, f.sec[1].body_len - 8);
    rej_img(g, "header-meta-body-length", LAYOUT, "META header body_length - 8 (table right)",
            "R-3.4-header");
    cf_free(&f);
    from_base(&f);
    cf_insert_section(&f, 0, "XTRA", 0, "hello", 5);
    p = ser(g, &f);
    cf_put64(p + 64 + 8, 6);
    rej_img(g, "header-unknown-body-length", LAYOUT,
            "a skippable section's header body_length 6, table 5", "R-3.4-header");
    cf_free(&f);

    /* 9.1: the trailer's tdir_offset and the TDIR header */
    from_base(&f);
    static const struct {
        uint64_t off;
        const char *name;
    } offs[] = {{0, "tdir-offset-0"}, {64, "tdir-offset-tdat"}, {UINT64_MAX, "tdir-offset-max"},
                {UINT64_C(1) << 63, "tdir-offset-2-63"}};
    for (size_t i = 0; i < 4; i++) {
        p = ser(g, &f);
        cf_put64(p + g->img.n - 32, offs[i].off);
        cf_resum(&f, p, g->img.n, CF_SUM_TRAILER);
        rej_img(g, offs[i].name, LAYOUT, "tdir_offset elsewhere",
                offs[i].off == 64 || !offs[i].off ? "R-9.1-tdir-header" : "R-9.1-tdir-offset");
    }
    p = ser(g, &f);
    cf_put64(p + g->img.n - 32, g->img.n - 32 - 8);
    cf_resum(&f, p, g->img.n, CF_SUM_TRAILER);
    rej_img(g, "tdir-offset-no-room", LAYOUT, "tdir_offset 8 bytes before the trailer",
            "R-9.1-tdir-offset");
    p = ser(g, &f);
    p[f.tdir_offset + 3] = 'X';
    rej_img(g, "tdir-tag", LAYOUT, "TDIR tag TDIX", "R-9.1-tdir-header");
    p = ser(g, &f);
    cf_put64(p + f.tdir_offset + 8, f.tdir_body_len + 8);
    rej_img(g, "tdir-body-length-plus-8", LAYOUT, "TDIR body_length + 8", "R-9.1-tdir-header");
    p = ser(g, &f);
    cf_put64(p + f.tdir_offset + 8, UINT64_MAX - 7);
    rej_img(g, "tdir-body-length-overflow", LAYOUT, "TDIR body_length 2^64 - 8",
            "R-9.1-tdir-header");
    cf_free(&f);
}

/* ------------------------------------------------------------ 4 TDAT */

static void tdat_faults(struct gen *g)
{
    struct cf_file f;
    uint8_t *p;
    from_base(&f);
    p = ser(g, &f);
    /* conv.b: 5 bytes, then q8 at the next multiple of 8 */
    uint64_t pad = f.t[T_BIAS].s[0].offset + 5;
    if (f.t[T_Q8].s[0].offset <= pad)
        cf_die("invalid: no padding after conv.b");
    p[pad] = 1;
    cf_resum(&f, p, g->img.n, CF_SUM_TDAT);
    rej_img(g, "stream-padding-first", RESERVED, "the first padding byte before q8's stream",
            "R-4-padding");
    p = ser(g, &f);
    p[f.t[T_K1024].s[0].offset - 1] = 0x80;
    cf_resum(&f, p, g->img.n, CF_SUM_TDAT);
    rej_img(g, "stream-padding-before-64", RESERVED,
            "the last padding byte before a 64-aligned raw stream", "R-4-padding");
    cf_free(&f);

    from_base(&f);
    f.sec[0].gap = 1;
    rej(g, "tdat-body-length-plus-1", &f, LAYOUT, "a zero byte before tdat_xxh64",
        "R-4-body-length");
    from_base(&f);
    f.sec[0].gap = 8;
    rej(g, "tdat-body-length-plus-8", &f, LAYOUT, "8 zero bytes before tdat_xxh64",
        "R-4-body-length");
    static const struct {
        size_t t;
        unsigned align;
        const char *name, *what;
    } moved[] = {
        {T_K1024, 8, "tdat-raw-1024-at-8", "a raw stream of 1024 bytes aligned to 8 only"},
        {T_HUFF, 8, "tdat-huffman-at-8", "a huffman stream, last in its run, aligned to 8"},
        {T_Z, 1, "tdat-raw-unaligned", "a raw stream at an odd offset"},
    };
    for (size_t i = 0; i < 3; i++) {
        from_base(&f);
        if (moved[i].t == T_HUFF) /* last in its run: the body grows (else z absorbs it) */
            cf_split_run(&f, T_Z);
        ser(g, &f);
        uint64_t rule = f.t[moved[i].t].s[0].offset;
        f.t[moved[i].t].s[0].align = moved[i].align;
        ser(g, &f);
        if (f.t[moved[i].t].s[0].offset == rule)
            cf_die("invalid: %s is where the rule puts it", moved[i].name);
        rej(g, moved[i].name, &f, LAYOUT, moved[i].what, "R-4-body-length");
    }

    from_base(&f);
    f.sec[0].bad_xxh = 1;
    rej(g, "tdat-checksum", &f, CHECKSUM, "tdat_xxh64 bit flipped", "R-4-checksum");
    from_base(&f);
    p = ser(g, &f);
    memset(p + f.t[T_HUFF].s[0].offset, 0xFF, f.t[T_HUFF].s[0].data.n);
    rej_img(g, "tdat-checksum-before-decoding", CHECKSUM,
            "huffman bytes made undecodable, tdat_xxh64 not updated", "R-4-checksum");
    cf_free(&f);
}

/* ------------------------------------------------------------ 5 TDIR */

static void tdir_faults(struct gen *g)
{
    struct cf_file f;
    uint8_t *p;
    from_base(&f);
    const size_t body = (size_t)(f.tdir_offset + 16);
    p = ser(g, &f);
    cf_put32(p + body, 0xFFFFFFFFu);
    cf_resum(&f, p, g->img.n, CF_SUM_TDIR);
    rej_img(g, "tensor-count-max", FLIMIT "|" LAYOUT, "tensor_count 2^32 - 1",
            "R-5-tensor-count");
    p = ser(g, &f);
    cf_put32(p + body, (1u << 24) + 1);
    cf_resum(&f, p, g->img.n, CF_SUM_TDIR);
    rej_img(g, "tensor-count-2-24-plus-1", FLIMIT "|" LAYOUT, "tensor_count 2^24 + 1",
            "R-5-tensor-count");
    f.tdir_reserved = 1;
    rej(g, "tdir-reserved", &f, RESERVED, "TDIR reserved field 1", "R-5-reserved");
    from_base(&f);
    f.tdir_reserved = UINT64_C(1) << 63;
    rej(g, "tdir-reserved-bit-63", &f, RESERVED, "TDIR reserved bit 63", "R-5-reserved");

    from_base(&f);
    p = ser(g, &f);
    p[f.tdir_offset + 16 + f.tdir_body_len - 1] ^= 1;
    rej_img(g, "tdir-checksum", CHECKSUM, "tdir_xxh64 bit flipped", "R-5-checksum");
    p = ser(g, &f);
    p[body + 9] = 1;
    rej_img(g, "tdir-checksum-stale", CHECKSUM, "TDIR reserved byte changed, tdir_xxh64 not",
            "R-5-checksum");

    /* entries not filling the area */
    ser(g, &f);
    {
        static const uint8_t zeros[8];
        splice(&g->img, (size_t)f.entries_end, zeros, 8);
        cf_put64(g->img.p + f.tdir_offset + 8, f.tdir_body_len + 8);
        f.tdir_body_len += 8;
        f.trailer_offset += 8;
        cf_resum(&f, g->img.p, g->img.n, CF_SUM_TDIR);
        cf_put64(g->img.p + f.trailer_offset, f.tdir_offset);
        cf_resum(&f, g->img.p, g->img.n, CF_SUM_TRAILER);
        rej_img(g, "entries-bytes-left", LAYOUT, "8 zero bytes after the last tensor entry",
                "R-5-entries-end");
    }
    cf_free(&f);
    from_base(&f);
    p = ser(g, &f);
    cf_put32(p + body, T_N + 1);
    cf_resum(&f, p, g->img.n, CF_SUM_TDIR);
    rej_img(g, "entries-run-past", LAYOUT, "tensor_count one more than the entries",
            "R-5-entries-end");

    /* a TDIR body of 16 bytes (the checksum of 8 zero bytes): header, an
     * empty skippable section at 64, TDIR at 80, the trailer at 112 */
    {
        struct cf_buf h = {0};
        struct cf_file e;
        cf_init(&e);
        cf_put64(e.header + 56, cf_xxh64(e.header, 56));
        cf_buf_put(&h, e.header, 64);
        cf_buf_put(&h, "XTRA\0\0\0\0\0\0\0\0\0\0\0\0", 16);
        cf_buf_put(&h, "TDIR\1\0\0\0\x10\0\0\0\0\0\0\0", 16);
        cf_buf_zeros(&h, 8);
        cf_buf_u64(&h, cf_xxh64(h.p + 96, 8));
        cf_buf_u64(&h, 80);
        cf_buf_u64(&h, 0);
        cf_buf_u64(&h, cf_xxh64(h.p + 112, 16));
        cf_buf_str(&h, "CNZEND\r\n");
        gen_reject(g, "tdir-body-16-bytes", h.p, h.n, LAYOUT, "a TDIR body of 16 bytes",
                   "R-5-short");
        cf_buf_free(&h);
    }
    p = ser(g, &f);
    cf_put32(p + body + 4, 0xFFFFFFFFu);
    cf_resum(&f, p, g->img.n, CF_SUM_TDIR);
    rej_img(g, "section-count-max", LAYOUT, "section_count 2^32 - 1", "R-5-fit");
    p = ser(g, &f);
    cf_put32(p + body + 4, (uint32_t)((f.tdir_body_len - 24) / 24 + 1));
    cf_resum(&f, p, g->img.n, CF_SUM_TDIR);
    rej_img(g, "section-count-past-body", LAYOUT, "a section table longer than the body",
            "R-5-fit");
    p = ser(g, &f);
    uint64_t area = f.tdir_body_len - 16 - 24 * f.nsec - 8;
    cf_put32(p + body, (uint32_t)(area / 16 + 1));
    cf_resum(&f, p, g->img.n, CF_SUM_TDIR);
    rej_img(g, "tensor-count-over-area", LAYOUT, "tensor_count over the entry bytes / 16",
            "R-5-fit");
    /* META present but left out of the table */
    ser(g, &f);
    cut(&g->img, table_entry(&f, 1), 24);
    cf_put32(g->img.p + body + 4, 1);
    cf_put64(g->img.p + f.tdir_offset + 8, f.tdir_body_len - 24);
    f.tdir_body_len -= 24;
    f.trailer_offset -= 24;
    cf_resum(&f, g->img.p, g->img.n, CF_SUM_TDIR | CF_SUM_TRAILER);
    rej_img(g, "section-count-short", LAYOUT, "META in the file but not in the table",
            "R-5-section-count");
    cf_free(&f);

    /* runs (5.1): the base split into TDAT {conv.w .. half}, {cb .. flags}, {k1024 .. z} */
    struct cf_file r;
    from_base(&r);
    cf_split_run(&r, T_CB);
    cf_split_run(&r, T_K1024);
    if (r.nsec != 4)
        cf_die("invalid: runs");
    cf_copy(&f, &r);
    cf_insert_section(&f, 1, "TDIR", 1, "\0\0\0\0\0\0\0\0", 8);
    rej(g, "tdir-in-table", &f, SECTION, "a TDIR section listed in the table", "R-5.1-tdir");
    cf_copy(&f, &r);
    f.t[T_PL].section = 3;
    rej(g, "section-index-meta", &f, SECTION, "a tensor names META", "R-5.1-not-tdat");
    cf_copy(&f, &r);
    cf_insert_section(&f, 1, "XTRA", 0, "abc", 3);
    f.t[T_CB].section = 1;
    rej(g, "section-index-unknown", &f, SECTION, "a tensor names a skippable section",
        "R-5.1-not-tdat");
    static const uint64_t past[] = {4, UINT64_C(1) << 32, UINT64_MAX};
    static const char *const past_names[] = {"section-index-count", "section-index-2-32",
                                             "section-index-max"};
    for (size_t i = 0; i < 3; i++) {
        cf_copy(&f, &r);
        f.t[T_Z].section = past[i];
        rej(g, past_names[i], &f, SECTION, "a section_index past the table", "R-5.1-not-tdat");
    }
    cf_copy(&f, &r);
    f.t[T_CONV].section = 1;
    rej(g, "runs-first-not-tdat-0", &f, SECTION, "tensor 0 names TDAT 1", "R-5.1-runs");
    cf_copy(&f, &r);
    {
        struct cf_tensor *t = cf_insert_tensor(&f, T_Z); /* an empty tensor back in TDAT 1 */
        cf_buf_str(&t->name, "e");
        t->dtype = CNNZ_DT_U8;
        t->rank = 1;
        t->repr = CNNZ_REPR_PLAIN;
        t->section = 1;
        t->xxh = cf_xxh64(NULL, 0);
        cf_set_streams(t, 1);
    }
    rej(g, "runs-back-to-earlier", &f, SECTION,
        "an empty tensor between k1024 and z names the TDAT before", "R-5.1-runs");
    cf_copy(&f, &r);
    for (size_t j = T_CB; j < T_K1024; j++)
        f.t[j].section = 2;
    rej(g, "runs-skip-a-tdat", &f, SECTION, "no tensor names TDAT 1: its run is skipped",
        "R-5.1-runs");
    cf_copy(&f, &r);
    cf_insert_section(&f, 3, "TDAT", 1, NULL, 0);
    rej(g, "tdat-unnamed-last", &f, SECTION, "a TDAT named by no tensor, after the last run",
        "R-5.1-unnamed");
    cf_copy(&f, &r);
    cf_insert_section(&f, 0, "TDAT", 1, NULL, 0);
    rej(g, "tdat-unnamed-first", &f, SECTION, "a TDAT named by no tensor, first",
        "R-5.1-unnamed");
    cf_free(&r);
    {
        struct cf_wmodel none = {0};
        struct cf_wmeta *e = cf_wmeta_add(&none, "k", CNNZ_META_STRING);
        cf_buf_str(&e->value, "v");
        gen_base(&none, &f);
        cf_insert_section(&f, 0, "TDAT", 1, NULL, 0);
        rej(g, "tdat-unnamed-no-tensors", &f, SECTION, "a TDAT in a file with no tensor",
            "R-5.1-unnamed");
        cf_wfree(&none);
    }
}

/* ------------------------------------------------- one byte of one entry */

enum { E_DTYPE, E_REPR, E_RP, E_ROLE, E_CODER, E_VERSION };
static const struct edit {
    int kind;    /* the field: E_RP is repr_params[at], stream fields of stream at */
    size_t t;    /* the base file's tensor */
    unsigned at;
    uint8_t v;   /* its new value */
    const char *name, *tokens, *what, *clause;
} edits[] = {
    {E_DTYPE, T_CONV, 0, 0, "dtype-0", "CNNZ_E_DTYPE", "dtype 0", "R-5.2-dtype"},
    {E_DTYPE, T_CONV, 0, 14, "dtype-14", "CNNZ_E_DTYPE", "dtype 14", "R-5.2-dtype"},
    {E_DTYPE, T_CONV, 0, 255, "dtype-255", "CNNZ_E_DTYPE", "dtype 255", "R-5.2-dtype"},
    {E_REPR, T_CONV, 0, 6, "repr-6", REPR, "representation 6", "R-5.3-repr"},
    {E_REPR, T_CONV, 0, 255, "repr-255", REPR, "representation 255", "R-5.3-repr"},
    {E_ROLE, T_CONV, 0, CNNZ_ROLE_SYMBOLS, "role-plain-symbols", STREAM,
     "plain with a symbols stream", "R-5.3.1-role"},
    {E_ROLE, T_Q8, 0, CNNZ_ROLE_VALUES, "role-affine-values", STREAM,
     "affine with a values stream", "R-5.3.1-role"},
    {E_ROLE, T_CONV, 0, 200, "role-200", STREAM, "role 200", "R-5.3.1-role"},
    {E_CODER, T_CONV, 0, 4, "coder-4", CODER, "coder 4", "R-5.3.1-coder"},
    {E_CODER, T_CONV, 0, 255, "coder-255", CODER, "coder 255", "R-5.3.1-coder"},
    {E_VERSION, T_CONV, 0, 1, "coder-version-raw-1", CODER, "raw version 1",
     "R-5.3.1-coder-version"},
    {E_VERSION, T_HUFF, 0, 255, "coder-version-huffman-255", CODER, "huffman version 255",
     "R-5.3.1-coder-version"},
    {E_DTYPE, T_Q8, 0, CNNZ_DT_U8, "affine-dtype-u8", REPR, "affine into u8", "R-6.3-dtype"},
    {E_DTYPE, T_Q8, 0, CNNZ_DT_F64, "affine-dtype-f64", REPR, "affine into f64", "R-6.3-dtype"},
    {E_RP, T_Q8, 0, CNNZ_DT_I8, "affine-symbol-i8", REPR, "affine with i8 symbols",
     "R-6.3-symbol-dtype"},
    {E_RP, T_Q8, 0, 200, "affine-symbol-200", REPR "|" STREAM, "affine with symbol dtype 200",
     "R-6.3-symbol-dtype"},
    {E_RP, T_Q8, 1, 1, "affine-reserved", RESERVED, "affine reserved byte 1", "R-6.3-reserved"},
    {E_RP, T_Q8, 7, 0x80, "affine-reserved-last", RESERVED, "affine reserved byte 7",
     "R-6.3-reserved"},
    {E_DTYPE, T_HALF, 0, CNNZ_DT_F64, "widen-dtype-f64", REPR, "widen into f64", "R-6.4-dtype"},
    {E_RP, T_HALF, 0, CNNZ_DT_F32, "widen-symbol-f32", REPR, "widen from f32",
     "R-6.4-symbol-dtype"},
    {E_RP, T_HALF, 0, CNNZ_DT_U16, "widen-symbol-u16", REPR, "widen from u16",
     "R-6.4-symbol-dtype"},
    {E_RP, T_HALF, 3, 1, "widen-reserved", RESERVED, "widen reserved byte 3", "R-6.4-reserved"},
    {E_RP, T_CB, 0, CNNZ_DT_I8, "ham-symbol-i8", REPR, "ham with i8 indices",
     "R-6.6-symbol-dtype"},
    {E_RP, T_SP, 0, CNNZ_DT_I8, "sham-symbol-i8", REPR, "sham with i8 indices",
     "R-6.6-symbol-dtype"},
    {E_RP, T_CB, 2, 1, "ham-reserved", RESERVED, "ham reserved byte 2", "R-6.6-reserved"},
    {E_RP, T_SP, 1, 0x10, "sham-reserved", RESERVED, "sham reserved byte 1", "R-6.6-reserved"},
};

static void edit_faults(struct gen *g)
{
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        const struct edit *e = &edits[i];
        struct cf_file f;
        from_base(&f);
        struct cf_tensor *t = &f.t[e->t];
        switch (e->kind) {
        case E_DTYPE: t->dtype = e->v; break;
        case E_REPR: t->repr = e->v; break;
        case E_RP: t->rp.p[e->at] = e->v; break;
        case E_ROLE: t->s[e->at].role = e->v; break;
        case E_CODER: t->s[e->at].coder = e->v; break;
        default: t->s[e->at].version = e->v; break;
        }
        rej(g, e->name, &f, e->tokens, e->what, e->clause);
    }
}

/* ------------------------------------------------------------ 5.2, 5.3 entries */

static void set_name(struct cf_tensor *t, const void *name, size_t n, long shared)
{
    cf_buf_set(&t->name, name, n);
    t->shared = shared;
}

static void entry_faults(struct gen *g)
{
    struct cf_file f;

    /* names */
    from_base(&f);
    cf_patch_varint(&f, CF_NAME_SHARED, 0, 0, 1, 0);
    rej(g, "name-shared-entry-0", &f, NAME, "name_shared 1 on entry 0", "R-5.3-name-shared");
    from_base(&f);
    cf_patch_varint(&f, CF_NAME_SHARED, T_HALF, 0, 3, 0); /* prev "q8" */
    rej(g, "name-shared-over-prev", &f, NAME, "name_shared 3, the previous name has 2 bytes",
        "R-5.3-name-shared");
    from_base(&f);
    cf_patch_varint(&f, CF_NAME_SHARED, T_HALF, 0, UINT64_MAX, 0);
    rej(g, "name-shared-max", &f, NAME "|" FLIMIT, "name_shared 2^64 - 1", "R-5.3-name-shared");
    from_base(&f);
    set_name(&f.t[0], "", 0, -1);
    rej(g, "name-empty-first", &f, NAME, "tensor 0 named with no byte", "R-5.3-name-empty");
    from_base(&f);
    set_name(&f.t[T_FLAGS], "", 0, -1);
    rej(g, "name-empty", &f, NAME, "name_shared 0, suffix_length 0", "R-5.3-name-empty");
    struct cf_buf big = {0};
    for (int i = 0; i < 4097; i++)
        cf_buf_u8(&big, 'n');
    from_base(&f);
    set_name(&f.t[T_FLAGS], big.p, 4097, -1);
    rej(g, "name-4097", &f, FLIMIT, "a name of 4097 bytes", "R-5.3-name-long");
    from_base(&f);
    set_name(&f.t[T_PL], big.p, 4096, -1);
    set_name(&f.t[T_FLAGS], big.p, 4097, 4096);
    rej(g, "name-4097-shared", &f, FLIMIT, "name_shared 4096 of a 4096-byte name, and 1 more",
        "R-5.3-name-long");
    from_base(&f);
    cf_patch_varint(&f, CF_SUFFIX_LENGTH, T_FLAGS, 0, UINT64_C(1) << 32, 0);
    rej(g, "name-suffix-length-2-32", &f, FLIMIT "|" LAYOUT, "suffix_length 2^32",
        "R-5.3-name-long");
    cf_buf_free(&big);
    static const struct {
        const char *bytes;
        size_t n;
        const char *name, *what;
    } bad[] = {
        {"\xC0\xAF", 2, "name-utf8-overlong", "overlong '/'"},
        {"\xE0\x80\x80", 3, "name-utf8-overlong-3", "overlong NUL in 3 bytes"},
        {"\xED\xA0\x80", 3, "name-utf8-surrogate", "U+D800"},
        {"\xF4\x90\x80\x80", 4, "name-utf8-over-10ffff", "U+110000"},
        {"ab\xE2\x82", 4, "name-utf8-truncated", "a 3-byte sequence cut"},
        {"\x80x", 2, "name-utf8-continuation", "a lone continuation byte"},
        {"\xFF", 1, "name-utf8-ff", "byte FF"},
        {"a\0b", 3, "name-nul", "a NUL byte"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        from_base(&f);
        set_name(&f.t[T_HALF], bad[i].bytes, bad[i].n, -1);
        rej(g, bad[i].name, &f, NAME, bad[i].what, "R-5.3-name-utf8");
    }
    /* invalid only once expanded: a character split by the shared prefix */
    from_base(&f);
    set_name(&f.t[T_HALF], "x\xE2\x82\xAC" "1", 5, -1);
    set_name(&f.t[T_CB], "x\xE2" "A", 3, 2);
    rej(g, "name-utf8-split-by-prefix", &f, NAME,
        "prev 'x€1', name_shared 2 and suffix 'A': x E2 41", "R-5.3-name-utf8");
    from_base(&f);
    set_name(&f.t[T_HALF], "\xED\x9F\xBF", 3, -1);
    set_name(&f.t[T_CB], "\xED\xA0\x80", 3, 1);
    rej(g, "name-utf8-surrogate-by-prefix", &f, NAME,
        "prev U+D7FF, name_shared 1 and suffix A0 80: U+D800", "R-5.3-name-utf8");
    from_base(&f);
    set_name(&f.t[T_FLAGS], "q8", 2, -1);
    rej(g, "name-duplicate", &f, "CNNZ_E_DUPLICATE", "two tensors named q8", "R-5.3-duplicate");
    from_base(&f);
    set_name(&f.t[T_HALF], "q8", 2, -1);
    rej(g, "name-duplicate-adjacent", &f, "CNNZ_E_DUPLICATE",
        "name_shared = the previous name's length, no suffix", "R-5.3-duplicate");

    /* rank, repr, stream_count */
    for (unsigned rk = 33; rk <= 255; rk += 222) {
        from_base(&f);
        struct cf_tensor *t = &f.t[T_Q8];
        for (unsigned k = 1; k < rk; k++)
            t->dims[k] = 1;
        t->rank = (uint8_t)rk;
        rej(g, rk == 33 ? "rank-33" : "rank-255", &f, FLIMIT, "rank over 32, dims of 1",
            "R-5.3-rank");
    }
    from_base(&f);
    cf_set_streams(&f.t[T_CONV], 2);
    gen_stream(&f.t[T_CONV], 1, CNNZ_ROLE_VALUES, CNNZ_CODER_RAW, NULL, 0,
               f.t[T_CONV].s[0].data.p, f.t[T_CONV].s[0].data.n, f.t[T_CONV].s[0].decoded_len);
    rej(g, "stream-count-plain-2", &f, STREAM, "plain with a second values stream",
        "R-5.3-stream-count");
    from_base(&f);
    cf_set_streams(&f.t[T_CONV], 0);
    rej(g, "stream-count-0", &f, STREAM, "plain with no stream", "R-5.3-stream-count");
    from_base(&f);
    cf_set_streams(&f.t[T_SP], 3);
    rej(g, "stream-count-sham-blocks", &f, STREAM, "sham of 2 blocks with 3 streams",
        "R-5.3-stream-count");

    /* dimension products */
    static const struct {
        size_t t;
        unsigned rank;
        uint64_t d[3];
        const char *name, *clause;
    } shapes[] = {
        {T_Q8, 2, {UINT64_C(1) << 32, UINT64_C(1) << 32}, "shape-product-2-64", "R-5.3-shape"},
        {T_Q8, 3, {UINT64_MAX, 2, 1}, "shape-product-overflow", "R-1.1-overflow"},
        {T_CONV, 1, {UINT64_C(1) << 62}, "shape-bytes-overflow", "R-5.3-shape"},
        {T_FLAGS, 1, {(UINT64_C(1) << 56) + 1}, "shape-over-2-56", "R-5.3-shape"},
        {T_CONV, 2, {UINT64_C(1) << 27, (UINT64_C(1) << 27) + 1}, "shape-f32-over-2-56",
         "R-5.3-shape"},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        from_base(&f);
        struct cf_tensor *t = &f.t[shapes[i].t];
        t->rank = (uint8_t)shapes[i].rank;
        memcpy(t->dims, shapes[i].d, sizeof shapes[i].d);
        rej(g, shapes[i].name, &f, "CNNZ_E_SHAPE|" STREAM,
            "element count or decoded size over the limits", shapes[i].clause);
    }

    /* the entry area ends inside a field */
    from_base(&f);
    cf_patch(&f, CF_XXH, T_Z, 0, "\x01\x02\x03", 3, 1);
    rej(g, "entry-cut-in-xxh", &f, LAYOUT, "the last entry ends inside decoded_xxh64",
        "R-5.3-past");
    from_base(&f);
    cf_patch(&f, CF_ROLE, T_Z, 0, "", 0, 1);
    rej(g, "entry-cut-before-stream", &f, LAYOUT, "the last entry ends before its stream entry",
        "R-5.3-past");
    from_base(&f);
    cf_patch(&f, CF_SUFFIX, T_Z, 0, "", 0, 1);
    rej(g, "entry-cut-in-suffix", &f, LAYOUT, "the last entry ends before its suffix",
        "R-5.3-past");

    /* repr_params_length */
    from_base(&f);
    cf_buf_u8(&f.t[T_CONV].rp, 0);
    rej(g, "repr-params-plain-1", &f, REPR, "plain with one parameter byte",
        "R-5.3-repr-params-length");
    from_base(&f);
    f.t[T_Q8].rp.n = 16;
    rej(g, "repr-params-affine-16", &f, REPR, "affine with 16 parameter bytes",
        "R-5.3-repr-params-length");
    from_base(&f);
    cf_buf_zeros(&f.t[T_HALF].rp, 16);
    rej(g, "repr-params-widen-24", &f, REPR, "widen with 24 parameter bytes",
        "R-5.3-repr-params-length");
    from_base(&f);
    cf_patch_varint(&f, CF_RP_LENGTH, T_Q8, 0, UINT64_MAX, 0);
    rej(g, "repr-params-length-max", &f, REPR "|" LAYOUT, "repr_params_length 2^64 - 1",
        "R-5.3-repr-params-length");

    /* directory varints (1.1) */
    from_base(&f);
    cf_patch_varint(&f, CF_DIM, T_CONV, 1, 4, 1);
    rej(g, "varint-padded", &f, LAYOUT, "dims[1] = 4 as 84 00", "R-1.1-varint");
    from_base(&f);
    cf_patch_varint(&f, CF_NAME_SHARED, T_BIAS, 0, 5, 10);
    rej(g, "varint-11-bytes", &f, LAYOUT, "name_shared in 11 bytes", "R-1.1-varint");
    from_base(&f);
    cf_patch(&f, CF_SECTION_INDEX, T_Q8, 0, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", 10, 0);
    rej(g, "varint-2-64", &f, LAYOUT, "section_index of 2^64 in 10 bytes", "R-1.1-varint");
    from_base(&f);
    cf_patch(&f, CF_DECODED_LENGTH, T_Z, 0, "\x83", 1, 1);
    rej(g, "varint-cut", &f, LAYOUT, "the last varint's continuation bit, then the area ends",
        "R-1.1-varint");
    from_base(&f);
    cf_patch_varint(&f, CF_CODED_LENGTH, T_CB, 1, 8, 1);
    rej(g, "varint-padded-coded-length", &f, LAYOUT, "coded_length = 8 as 88 00",
        "R-1.1-varint");
}

/* ------------------------------------------------------------ 5.3.1 streams */

static void stream_faults(struct gen *g)
{
    struct cf_file f;
    from_base(&f);
    struct cf_stream tmp = f.t[T_CB].s[0];
    f.t[T_CB].s[0] = f.t[T_CB].s[1];
    f.t[T_CB].s[1] = tmp;
    rej(g, "role-ham-swapped", &f, STREAM, "ham with symbols before codebook", "R-5.3.1-role");
    from_base(&f);
    cf_buf_zeros(&f.t[T_HUFF].s[0].params, 65535);
    rej(g, "coder-params-65536", &f, CODER, "huffman with 65536 parameter bytes",
        "R-5.3.1-params-length");
    from_base(&f);
    cf_patch_varint(&f, CF_CP_LENGTH, T_HUFF, 0, UINT64_C(1) << 32, 0);
    rej(g, "coder-params-length-2-32", &f, CODER "|" LAYOUT, "coder_params_length 2^32",
        "R-5.3.1-params-length");

    /* a stream that runs past its section body */
    static const uint64_t more[] = {1, 9, 1u << 20};
    for (size_t i = 0; i < 3; i++) {
        from_base(&f);
        struct cf_tensor *t = &f.t[T_Z];
        t->dims[0] = 3 + more[i];
        t->s[0].decoded_len = 3 + more[i];
        cf_patch_varint(&f, CF_CODED_LENGTH, T_Z, 0, 3 + more[i], 0);
        char name[64];
        snprintf(name, sizeof name, "stream-past-body-%llu", (unsigned long long)more[i]);
        rej(g, name, &f, LAYOUT, "the last stream claims more bytes than the body holds",
            "R-5.3.1-fit");
    }
    from_base(&f);
    cf_patch_varint(&f, CF_CODED_LENGTH, T_HUFF, 0, UINT64_MAX - 3, 0);
    rej(g, "coded-length-near-2-64", &f, LAYOUT "|" CODER, "coded_length 2^64 - 4, mid-run",
        "R-1.1-overflow");

    from_base(&f);
    f.t[T_BIAS].s[0].data.n = 4;
    f.t[T_BIAS].s[0].decoded_len = 4;
    rej(g, "decoded-length-plain", &f, STREAM, "plain u8 [5] with a raw stream of 4 bytes",
        "R-5.3.1-decoded-length");
    from_base(&f);
    f.t[T_HUFF].s[0].decoded_len = 95;
    rej(g, "decoded-length-huffman", &f, STREAM, "plain u8 [96], huffman decoded_length 95",
        "R-5.3.1-decoded-length");

    /* the expansion cap: one huffman run block (a 4-byte varint header and
     * the symbol: 5 coded bytes) of 2^20 x 5 + 65537 zero symbols, one over
     * the cap; and one of 2^40 (8 coded bytes). Well-formed streams else. */
    static const uint64_t over[] = {(UINT64_C(5) << 20) + 65537, UINT64_C(1) << 40};
    for (size_t i = 0; i < 2; i++) {
        from_base(&f);
        struct cf_tensor *t = &f.t[T_HUFF];
        t->dims[0] = over[i];
        t->s[0].decoded_len = over[i];
        cf_buf_set(&t->s[0].data, NULL, 0);
        cf_buf_varint(&t->s[0].data, (over[i] - 1) << 2); /* a run block */
        cf_buf_u8(&t->s[0].data, 0);
        char name[64];
        snprintf(name, sizeof name, "expansion-cap-%s", i ? "2-40" : "by-one");
        rej(g, name, &f, FLIMIT, "a huffman stream decoding to more than 2^20 x its coded "
            "bytes + 65536", "R-5.3.1-expansion");
    }
}

/* ------------------------------------------------------------ 5.4 metadata */

static void meta_case(struct gen *g, const char *name, const struct cf_meta *m, uint32_t count,
                      uint32_t reserved, const char *tokens, const char *what, const char *clause)
{
    struct cf_file f;
    from_base(&f);
    struct cf_buf body = {0};
    cf_meta_body(m, count, reserved, &body);
    cf_set_meta(&f, &body);
    cf_buf_free(&body);
    rej(g, name, &f, tokens, what, clause);
}

static void metadata_faults(struct gen *g)
{
    struct cf_meta m = {0};
    static const uint8_t i8[8] = {1}, f8[9] = {0};
    cf_meta_entry(&m, "a", 1, CNNZ_META_STRING, 0, "x", 1);
    meta_case(g, "meta-count-65536", &m, 65536, 0, FLIMIT "|" LAYOUT, "entry_count 65536",
              "R-5.4-entry-count");
    meta_case(g, "meta-count-max", &m, 0xFFFFFFFFu, 0, FLIMIT "|" LAYOUT, "entry_count 2^32 - 1",
              "R-5.4-entry-count");
    meta_case(g, "meta-reserved", &m, 1, 1, RESERVED, "META reserved field 1", "R-5.4-reserved");
    meta_case(g, "meta-count-more", &m, 2, 0, LAYOUT, "entry_count 2, one entry", "R-5.4-fill");
    cf_meta_entry(&m, "b", 1, CNNZ_META_INT, 0, i8, 8);
    meta_case(g, "meta-count-less", &m, 1, 0, LAYOUT, "entry_count 1, two entries",
              "R-5.4-fill");
    cf_buf_free(&m.b);
    memset(&m, 0, sizeof m);
    cf_meta_entry(&m, "a", 1, CNNZ_META_BYTES, 0, "xyz", 3);
    m.b.n -= 2; /* the value runs past the checksum */
    meta_case(g, "meta-value-past", &m, 1, 0, LAYOUT, "value_length 3, one byte left",
              "R-5.4-fill");
    cf_buf_free(&m.b);

    struct cf_file f;
    from_base(&f);
    uint8_t *p = ser(g, &f);
    p[f.sec[1].offset + 16 + f.sec[1].body_len - 1] ^= 0x40;
    rej_img(g, "meta-checksum", CHECKSUM, "meta_xxh64 bit flipped", "R-5.4-checksum");
    p = ser(g, &f);
    p[f.sec[1].offset + 16 + 4] = 1;
    rej_img(g, "meta-checksum-stale", CHECKSUM, "META reserved changed, meta_xxh64 not",
            "R-5.4-checksum");
    cf_free(&f);

    static const struct {
        const char *key;
        size_t key_len;
        unsigned type, reserved;
        const void *value;
        size_t value_len;
        const char *name, *tokens, *what, *clause;
    } one[] = {
        {"", 0, 1, 0, "x", 1, "meta-key-empty", NAME, "key_length 0", "R-5.4-key-empty"},
        {"\xC0\x80", 2, 1, 0, "x", 1, "meta-key-utf8", NAME, "an overlong key",
         "R-5.4-key-utf8"},
        {"k\0", 2, 1, 0, "x", 1, "meta-key-nul", NAME, "a NUL in the key", "R-5.4-key-utf8"},
        {"k", 1, 0, 0, "x", 1, "meta-type-0", METADATA, "type 0", "R-5.4-type"},
        {"k", 1, 6, 0, "x", 1, "meta-type-6", METADATA, "type 6", "R-5.4-type"},
        {"k", 1, 255, 0, "x", 1, "meta-type-255", METADATA, "type 255", "R-5.4-type"},
        {"k", 1, 1, 1, "x", 1, "meta-entry-reserved", RESERVED, "entry reserved byte 1",
         "R-5.4-entry-reserved"},
        {"k", 1, 2, 0, i8, 4, "meta-int-4-bytes", METADATA, "an int of 4 bytes",
         "R-5.4-value-length"},
        {"k", 1, 3, 0, f8, 9, "meta-float-9-bytes", METADATA, "a float of 9 bytes",
         "R-5.4-value-length"},
        {"k", 1, 4, 0, "", 0, "meta-bool-0-bytes", METADATA, "a bool of no byte",
         "R-5.4-value-length"},
        {"k", 1, 4, 0, "\1\1", 2, "meta-bool-2-bytes", METADATA, "a bool of 2 bytes",
         "R-5.4-value-length"},
        {"k", 1, 1, 0, "\xFF", 1, "meta-string-utf8", METADATA, "a string byte FF",
         "R-5.4-string"},
        {"k", 1, 1, 0, "a\0", 2, "meta-string-nul", METADATA, "a NUL in a string",
         "R-5.4-string"},
        {"k", 1, 4, 0, "\2", 1, "meta-bool-2", METADATA, "bool value 2", "R-5.4-bool"},
        {"k", 1, 4, 0, "\xFF", 1, "meta-bool-ff", METADATA, "bool value 255", "R-5.4-bool"},
    };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        memset(&m, 0, sizeof m);
        cf_meta_entry(&m, "producer", 8, 1, 0, "x", 1);
        cf_meta_entry(&m, one[i].key, one[i].key_len, one[i].type, one[i].reserved, one[i].value,
                      one[i].value_len);
        meta_case(g, one[i].name, &m, m.count, 0, one[i].tokens, one[i].what, one[i].clause);
        cf_buf_free(&m.b);
    }
    memset(&m, 0, sizeof m);
    struct cf_buf key = {0};
    for (int i = 0; i < 4097; i++)
        cf_buf_u8(&key, 'k');
    cf_meta_entry(&m, key.p, 4097, 1, 0, "x", 1);
    meta_case(g, "meta-key-4097", &m, 1, 0, FLIMIT, "a key of 4097 bytes", "R-5.4-key-long");
    cf_buf_free(&m.b);
    cf_buf_free(&key);
    memset(&m, 0, sizeof m);
    cf_meta_entry(&m, "k", 1, 1, 0, "x", 1);
    cf_meta_entry(&m, "j", 1, 2, 0, i8, 8);
    cf_meta_entry(&m, "k", 1, 5, 0, "", 0);
    meta_case(g, "meta-key-duplicate", &m, 3, 0, "CNNZ_E_DUPLICATE", "two entries with key k",
              "R-5.4-duplicate");
    cf_buf_free(&m.b);
}

/* ------------------------------------------------------------ 6 representations */

/* A hand-built sham tensor f32 [1, 8], codebook [0, 1, 2, 3], one block. */
static void sham_case(struct gen *g, const char *name, int dtype, const void *cb, size_t cb_n,
                      uint32_t k, const void *runs, size_t nruns, const void *syms, size_t nsyms,
                      const char *tokens, const char *what, const char *clause)
{
    struct cf_file f;
    cf_init(&f);
    static const uint64_t dims[2] = {1, 8};
    uint8_t rp[16] = {CNNZ_DT_U8, 0, 0, 0, (uint8_t)k, 0, 0, 0, 1};
    struct cf_tensor *t = gen_tensor(&f, "sham", dtype, 2, dims, CNNZ_REPR_SHAM, rp, 16, 3);
    gen_stream(t, 0, CNNZ_ROLE_CODEBOOK, CNNZ_CODER_RAW, NULL, 0, cb, cb_n, cb_n);
    gen_stream(t, 1, CNNZ_ROLE_RUNS, CNNZ_CODER_RAW, NULL, 0, runs, nruns, nruns);
    gen_stream(t, 2, CNNZ_ROLE_SYMBOLS, CNNZ_CODER_RAW, NULL, 0, syms, nsyms, nsyms);
    t->xxh = 0;
    rej(g, name, &f, tokens, what, clause);
}

static void repr_faults(struct gen *g)
{
    struct cf_file f;

    from_base(&f);
    f.t[T_CONV].xxh ^= UINT64_C(1) << 40;
    rej(g, "decoded-checksum-field", &f, CHECKSUM, "decoded_xxh64 bit flipped", "R-6-checksum");
    from_base(&f);
    f.t[T_CONV].s[0].data.p[0] ^= 1;
    rej(g, "decoded-checksum-data", &f, CHECKSUM,
        "a raw coded byte changed, tdat_xxh64 updated, decoded_xxh64 not", "R-6-checksum");
    from_base(&f);
    f.t[T_HUFF].s[0].data.p[f.t[T_HUFF].s[0].data.n - 2] ^= 0x10;
    rej(g, "decoded-checksum-huffman", &f, CHECKSUM "|" CORRUPT,
        "a huffman bitstream bit changed, tdat_xxh64 updated", "R-6-checksum");

    from_base(&f);
    f.t[T_FLAGS].s[0].data.p[3] = 2;
    f.t[T_FLAGS].xxh = cf_xxh64(f.t[T_FLAGS].s[0].data.p, 14);
    rej(g, "bool-value-2", &f, CORRUPT, "a plain bool byte 2 (checksums of the bytes as they are)",
        "R-6.2-bool");
    from_base(&f);
    f.t[T_FLAGS].s[0].data.p[5] = 0xFF;
    f.t[T_FLAGS].xxh = cf_xxh64(f.t[T_FLAGS].s[0].data.p, 14);
    rej(g, "bool-value-255", &f, CORRUPT, "a plain bool byte 255", "R-6.2-bool");

    from_base(&f);
    cf_put64(f.t[T_Q8].rp.p + 8, UINT64_C(0x7FF0000000000000));
    rej(g, "affine-scale-inf", &f, REPR, "scale +infinity", "R-6.3-finite");
    from_base(&f);
    cf_put64(f.t[T_Q8].rp.p + 16, UINT64_C(0xFFF8000000000001));
    rej(g, "affine-offset-nan", &f, REPR, "offset NaN", "R-6.3-finite");
    {
        struct cf_wmodel m = {0};
        static const uint64_t d4[1] = {4};
        struct cf_wtensor *t = cf_wadd(&m, "i", 1, CNNZ_DT_I32, 1, d4, CNNZ_REPR_AFFINE, 0);
        t->d.symbol_dtype = CNNZ_DT_U8;
        t->d.scale = 1.0;
        cf_buf_put(&t->input, "\x00\x01\x80\xFF", 4);
        gen_base(&m, &f);
        double big = 16777216.0; /* 255 x 2^24 > 2^31 - 1 */
        uint64_t bits;
        memcpy(&bits, &big, 8);
        cf_put64(f.t[0].rp.p + 8, bits);
        rej(g, "affine-i32-over", &f, CORRUPT, "an i32 affine value 255 x 2^24",
            "R-6.3-i32-range");
        gen_base(&m, &f);
        big = -2147483649.0;
        memcpy(&bits, &big, 8);
        cf_put64(f.t[0].rp.p + 16, bits);
        rej(g, "affine-i32-under", &f, CORRUPT, "an i32 affine value below -2^31",
            "R-6.3-i32-range");
        cf_wfree(&m);
    }


    /* planes: a u16 tensor with its one stream */
    {
        cf_init(&f);
        static const uint64_t d3[1] = {3};
        struct cf_tensor *t = gen_tensor(&f, "p16", CNNZ_DT_U16, 1, d3, CNNZ_REPR_PLANES, NULL, 0,
                                         1);
        gen_stream(t, 0, CNNZ_ROLE_HIGH, CNNZ_CODER_RAW, NULL, 0, "\1\0\2\0\3\0", 6, 6);
        t->xxh = cf_xxh64("\1\0\2\0\3\0", 6);
        rej(g, "planes-dtype-u16", &f, REPR, "planes of a u16 tensor (one high stream)",
            "R-6.5-dtype");
        cf_init(&f);
        t = gen_tensor(&f, "pb", CNNZ_DT_BOOL, 1, d3, CNNZ_REPR_PLANES, NULL, 0, 0);
        t->xxh = cf_xxh64("\1\0\1", 3);
        rej(g, "planes-dtype-bool", &f, REPR, "planes of a bool tensor (no stream)",
            "R-6.5-dtype");
    }

    /* ham and sham parameters */
    from_base(&f);
    cf_put32(f.t[T_CB].rp.p + 4, 0);
    f.t[T_CB].s[0].data.n = 0;
    f.t[T_CB].s[0].decoded_len = 0;
    rej(g, "ham-codebook-0", &f, REPR, "codebook_size 0 (empty codebook stream)",
        "R-6.6-codebook-size");
    from_base(&f);
    cf_put32(f.t[T_CB].rp.p + 4, 257);
    cf_buf_zeros(&f.t[T_CB].s[0].data, 253 * 4);
    f.t[T_CB].s[0].decoded_len = 257 * 4;
    rej(g, "ham-codebook-257-u8", &f, REPR, "codebook_size 257 with u8 indices",
        "R-6.6-codebook-size");
    from_base(&f);
    f.t[T_CB].s[1].data.p[5] = 4;
    rej(g, "ham-symbol-past-codebook", &f, CORRUPT, "index 4 into a codebook of 4",
        "R-6.6-symbol");
    {
        struct cf_wmodel m = {0};
        static const uint64_t d4[1] = {4};
        struct cf_wtensor *t = cf_wadd(&m, "b", 1, CNNZ_DT_BOOL, 1, d4, CNNZ_REPR_HAM, 0);
        t->d.symbol_dtype = CNNZ_DT_U8;
        t->d.codebook_size = 3;
        cf_buf_put(&t->codebook, "\0\1\1", 3);
        cf_buf_put(&t->input, "\0\1\2\0", 4);
        gen_base(&m, &f);
        f.t[0].s[0].data.p[2] = 2;
        f.t[0].xxh = cf_xxh64("\0\1\2\0", 4);
        rej(g, "ham-bool-entry-2", &f, CORRUPT, "a used bool codebook entry 2", "R-6.6-bool");
        cf_wfree(&m);
    }

    /* sham: block_rows, blocks, rebuild (7 stored elements of 8) */
    from_base(&f);
    cf_put64(f.t[T_SP].rp.p + 8, 0);
    rej(g, "sham-block-rows-0", &f, REPR, "block_rows 0", "R-6.7-block-rows");
    {
        cf_init(&f);
        static const uint64_t d128[2] = {128, 1};
        uint8_t rp[16] = {CNNZ_DT_U8, 0, 0, 0, 2, 0, 0, 0, 1};
        struct cf_tensor *t = gen_tensor(&f, "s128", CNNZ_DT_U8, 2, d128, CNNZ_REPR_SHAM, rp, 16,
                                         255);
        gen_stream(t, 0, CNNZ_ROLE_CODEBOOK, CNNZ_CODER_RAW, NULL, 0, "\0\1", 2, 2);
        for (unsigned b = 0; b < 127; b++) {
            gen_stream(t, 1 + 2 * b, CNNZ_ROLE_RUNS, CNNZ_CODER_RAW, NULL, 0, "\0", 1, 1);
            gen_stream(t, 2 + 2 * b, CNNZ_ROLE_SYMBOLS, CNNZ_CODER_RAW, NULL, 0, "\1", 1, 1);
        }
        rej(g, "sham-128-blocks", &f, REPR "|" STREAM,
            "128 blocks (stream_count cannot be 257: 255 streams)", "R-6.7-blocks");
    }
    uint8_t cb[16];
    for (int j = 0; j < 4; j++)
        put_f32(cb + 4 * j, (float)j);
    sham_case(g, "sham-run-past", CNNZ_DT_F32, cb, 16, 4, "\x01\xFF", 2, "\x01\x02", 2, CORRUPT,
              "the runs stream ends inside a run", "R-6.7-run-past");
    sham_case(g, "sham-position", CNNZ_DT_F32, cb, 16, 4, "\x03\x05", 2, "\x01\x02", 2, CORRUPT,
              "the second run reaches element 9 of 8", "R-6.7-position");
    sham_case(g, "sham-runs-left", CNNZ_DT_F32, cb, 16, 4, "\x00\x01\x00", 3, "\x01\x02", 2,
              CORRUPT, "a run byte left after the last stored element", "R-6.7-runs-left");
    sham_case(g, "sham-symbol-past-codebook", CNNZ_DT_F32, cb, 16, 4, "\x00\x01", 2, "\x01\x04",
              2, CORRUPT, "index 4 into a codebook of 4", "R-6.7-symbol");
    sham_case(g, "sham-bool-entry-2", CNNZ_DT_BOOL, "\0\1\2\1", 4, 4, "\x00\x01", 2, "\x01\x02",
              2, CORRUPT, "a used bool codebook entry 2", "R-6.7-bool");
    sham_case(g, "sham-runs-over-bound", CNNZ_DT_F32, cb, 16, 4, "\0\0\0\0\0\0\0\0\0", 9,
              "\1\1\1\1\1\1\1\1\1", 9, STREAM, "9 runs bytes and 9 symbols for 8 elements",
              "R-6.1-data-defined");
    {
        cf_init(&f);
        static const uint64_t dims[2] = {1, 8};
        uint8_t rp[16] = {CNNZ_DT_U16, 0, 0, 0, 4, 0, 0, 0, 1};
        struct cf_tensor *t = gen_tensor(&f, "sham16", CNNZ_DT_F32, 2, dims, CNNZ_REPR_SHAM, rp,
                                         16, 3);
        gen_stream(t, 0, CNNZ_ROLE_CODEBOOK, CNNZ_CODER_RAW, NULL, 0, cb, 16, 16);
        gen_stream(t, 1, CNNZ_ROLE_RUNS, CNNZ_CODER_RAW, NULL, 0, "\x01", 1, 1);
        gen_stream(t, 2, CNNZ_ROLE_SYMBOLS, CNNZ_CODER_RAW, NULL, 0, "\x01\x00\x02", 3, 3);
        rej(g, "sham-symbols-odd", &f, STREAM, "u16 indices of 3 bytes", "R-6.1-data-defined");
    }
}

/* ------------------------------------------------------------ 7 coders */

/* A file of one plain tensor (u8, or u16 when w is 2) of n elements whose
 * stream is coded as given. */
static void coded(struct gen *g, const char *name, unsigned w, uint64_t n, int coder,
                  const void *params, size_t params_len, const void *bytes, size_t len,
                  const char *tokens, const char *what, const char *clause)
{
    struct cf_file f;
    uint64_t dims[1];
    gen_stream_model(&f, dims, name, w, n, coder, params, params_len, bytes, len, n * w, NULL, 0);
    rej(g, name, &f, tokens, what, clause);
}

static void coded_buf(struct gen *g, const char *name, unsigned w, uint64_t n, int coder,
                      const void *params, size_t params_len, struct cf_buf *b,
                      const char *tokens, const char *what, const char *clause)
{
    coded(g, name, w, n, coder, params, params_len, b->p, b->n, tokens, what, clause);
    b->n = 0;
}

static void raw_faults(struct gen *g)
{
    struct cf_file f;
    from_base(&f);
    cf_buf_u8(&f.t[T_CONV].s[0].params, 0);
    rej(g, "raw-params", &f, CODER, "raw with one parameter byte", "R-7.1-params");
    from_base(&f);
    cf_buf_u8(&f.t[T_Z].s[0].data, 0);
    rej(g, "raw-coded-longer", &f, CODER, "raw coded_length 4, decoded_length 3", "R-7.1-length");
    from_base(&f);
    f.t[T_Z].s[0].data.n = 2;
    rej(g, "raw-coded-shorter", &f, CODER, "raw coded_length 2, decoded_length 3",
        "R-7.1-length");
}

/* The 16 symbols and 14 bytes of spec 7.2.7. */
static const uint8_t ex16[14] = {0x3D, 0x03, 0xF2, 0x3F, 0xBA, 0xE7, 0x66,
                                 0x03, 0x18, 0xEC, 0xF0, 0xD2, 0xE1, 0x03};

/* A code block header for count symbols, then description tokens by
 * the caller, then filler bytes. */
static void huf_begin(struct cf_buf *b, struct cf_bits *w, uint64_t count)
{
    b->n = 0;
    cf_buf_varint(b, (count - 1) * 4 + 1);
    cf_bits_init(w, b);
}

static void huf_end(struct cf_bits *w, size_t filler)
{
    cf_bits_flush(w);
    cf_buf_zeros(w->out, filler);
}

static void huffman_faults(struct gen *g)
{
    struct cf_buf b = {0};
    struct cf_bits w;
    const char *h1 = "\x01";
    coded(g, "huffman-params-0", 1, 16, CNNZ_CODER_HUFFMAN, "", 0, ex16, 14, CODER,
          "coder_params_length 0", "R-7.2.1-params-length");
    coded(g, "huffman-params-2", 1, 16, CNNZ_CODER_HUFFMAN, "\x01\x00", 2, ex16, 14, CODER,
          "coder_params_length 2", "R-7.2.1-params-length");
    coded(g, "huffman-width-0", 1, 16, CNNZ_CODER_HUFFMAN, "\x00", 1, ex16, 14, CODER, "width 0",
          "R-7.2.1-width");
    coded(g, "huffman-width-3", 1, 15, CNNZ_CODER_HUFFMAN, "\x03", 1, ex16, 14, CODER, "width 3",
          "R-7.2.1-width");
    coded(g, "huffman-width-multiple", 1, 15, CNNZ_CODER_HUFFMAN, "\x02", 1, ex16, 14, CODER,
          "width 2, decoded_length 15", "R-7.0-width");
    coded(g, "huffman-empty-with-bytes", 1, 0, CNNZ_CODER_HUFFMAN, h1, 1, "\x00\x41", 2, CODER,
          "decoded_length 0, coded_length 2", "R-7.2.1-empty");
    coded(g, "huffman-no-bytes", 1, 5, CNNZ_CODER_HUFFMAN, h1, 1, "", 0, CODER,
          "decoded_length 5, coded_length 0", "R-7.2.1-empty");

    /* 7.2.2 */
    coded(g, "huffman-header-past-end", 1, 5, CNNZ_CODER_HUFFMAN, h1, 1, "\x80", 1, CORRUPT,
          "a header varint cut by the end", "R-7.2.2-header");
    coded(g, "huffman-header-not-minimal", 1, 1, CNNZ_CODER_HUFFMAN, h1, 1, "\x80\x00\x41", 3,
          CORRUPT, "header 0 as 80 00", "R-7.2.2-header");
    coded(g, "huffman-type-3", 1, 1, CNNZ_CODER_HUFFMAN, h1, 1, "\x03\x41", 2, CORRUPT,
          "a block of type 3", "R-7.2.2-type");
    coded(g, "huffman-count-over", 1, 5, CNNZ_CODER_HUFFMAN, h1, 1, "\x24\x41", 2, CORRUPT,
          "a run of 10 for 5 symbols", "R-7.2.2-count");
    coded(g, "huffman-run-no-symbol", 1, 5, CNNZ_CODER_HUFFMAN, h1, 1, "\x10", 1, CORRUPT,
          "a run block without its symbol", "R-7.2.2-run");
    coded(g, "huffman-run-u16-half-symbol", 2, 5, CNNZ_CODER_HUFFMAN, "\x02", 1, "\x10\x41", 2,
          CORRUPT, "a u16 run block with one symbol byte", "R-7.2.2-run");
    coded(g, "huffman-repeat-first", 1, 16, CNNZ_CODER_HUFFMAN, h1, 1, ex16 + 7, 7, CORRUPT,
          "a repeat block with no code before it", "R-7.2.2-repeat");
    coded(g, "huffman-repeat-after-run", 1, 21, CNNZ_CODER_HUFFMAN, h1, 1,
          "\x10\x80\x3E\x18\xEC\xF0\xD2\xE1\x03", 9, CORRUPT,
          "a run block, then a repeat block", "R-7.2.2-repeat");
    {
        uint8_t t[15];
        memcpy(t, ex16, 14);
        t[14] = 0;
        coded(g, "huffman-trailing-byte", 1, 16, CNNZ_CODER_HUFFMAN, h1, 1, t, 15, CORRUPT,
              "a zero byte after the last block", "R-7.2.2-trailing");
        coded(g, "huffman-trailing-run", 1, 5, CNNZ_CODER_HUFFMAN, h1, 1, "\x10\x80\x10\x80", 4,
              CORRUPT, "a second run block after 5 of 5 symbols", "R-7.2.2-trailing");
    }

    /* 7.2.3 descriptions (w = 1: LMAX 11, F 4) */
    huf_begin(&b, &w, 4);
    cf_huf_literal(&w, 1, 12);
    huf_end(&w, 8);
    coded_buf(g, "huffman-length-12", 1, 4, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "a literal length 12 > LMAX", "R-7.2.3-length");
    huf_begin(&b, &w, 4);
    cf_huf_literal(&w, 1, 1);
    cf_huf_step(&w, -1);
    huf_end(&w, 8);
    coded_buf(g, "huffman-length-0-by-step", 1, 4, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "a step from 1 down to 0", "R-7.2.3-length");
    huf_begin(&b, &w, 4);
    cf_huf_step(&w, 2);
    huf_end(&w, 8);
    coded_buf(g, "huffman-length-13-by-step", 1, 4, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "a step of +2 from LMAX", "R-7.2.3-length");
    huf_begin(&b, &w, 4);
    cf_huf_literal(&w, 1, 2);
    cf_huf_step(&w, -1);
    cf_huf_same(&w);
    huf_end(&w, 8);
    coded_buf(g, "huffman-oversubscribed", 1, 4, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "lengths 2, 1, 1: K = 2560 > 2048", "R-7.2.3-oversubscribed");
    huf_begin(&b, &w, 4);
    cf_huf_literal(&w, 1, 1);
    cf_huf_literal(&w, 1, 0);
    cf_huf_gamma(&w, 2);
    huf_end(&w, 8);
    coded_buf(g, "huffman-oversubscribed-literal-run", 1, 4, CNNZ_CODER_HUFFMAN, h1, 1, &b,
              CORRUPT, "a literal run of length 1 going on after K reached 2048",
              "R-7.2.3-oversubscribed");
    huf_begin(&b, &w, 4);
    cf_huf_literal(&w, 1, 1);
    cf_huf_skip(&w, 300);
    huf_end(&w, 8);
    coded_buf(g, "huffman-skip-past-alphabet", 1, 4, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "a skip of 300 symbols of 256", "R-7.2.3-alphabet");
    huf_begin(&b, &w, 40);
    cf_huf_skip(&w, 250);
    cf_huf_literal(&w, 1, 9);
    cf_huf_literal(&w, 1, 0);
    cf_huf_gamma(&w, 10);
    huf_end(&w, 8);
    coded_buf(g, "huffman-literal-run-past-alphabet", 1, 40, CNNZ_CODER_HUFFMAN, h1, 1, &b,
              CORRUPT, "lengths given to symbols 251 to 260", "R-7.2.3-alphabet");
    huf_begin(&b, &w, 4);
    cf_huf_literal(&w, 1, 1);
    cf_huf_skip(&w, 255);
    huf_end(&w, 8);
    coded_buf(g, "huffman-incomplete", 1, 4, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "one length 1, then a skip to the end: K = 1024 < 2048", "R-7.2.3-incomplete");
    huf_begin(&b, &w, 4);
    cf_bits_put(&w, 3, 3);             /* skip */
    cf_bits_put(&w, 1u << 17, 18);     /* gamma: 17 zeros, a one */
    cf_bits_put(&w, 5, 17);
    huf_end(&w, 8);
    coded_buf(g, "huffman-gamma-k-17", 2, 4, CNNZ_CODER_HUFFMAN, "\x02", 1, &b, CORRUPT,
              "a gamma number with k = 17", "R-7.2.3-gamma");
    huf_begin(&b, &w, 2);
    cf_huf_literal(&w, 1, 1);
    cf_huf_step(&w, 1);
    cf_huf_same(&w);
    huf_end(&w, 8);
    coded_buf(g, "huffman-code-over-count", 1, 2, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "a code of 3 symbols in a block of 2", "R-7.2.3-count");
    huf_begin(&b, &w, 4);
    cf_huf_literal(&w, 1, 1);
    cf_bits_flush(&w);
    coded_buf(g, "huffman-description-past-end", 1, 4, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "the coded bytes end inside the description", "R-7.2.3-end");
    {
        uint8_t t[14];
        memcpy(t, ex16, 14);
        t[7] |= 0x80; /* 52 description bits: the last 4 of byte 7 are padding */
        coded(g, "huffman-description-padding", 1, 16, CNNZ_CODER_HUFFMAN, h1, 1, t, 14, CORRUPT,
              "a one in the padding after the description", "R-7.2.3-padding");
        memcpy(t, ex16, 14);
        t[13] |= 0x80; /* 42 bitstream bits: 6 of padding */
        coded(g, "huffman-bitstream-padding", 1, 16, CNNZ_CODER_HUFFMAN, h1, 1, t, 14, CORRUPT,
              "a one in the padding after the last code", "R-7.2.5-padding");
        coded(g, "huffman-bitstream-past-end", 1, 16, CNNZ_CODER_HUFFMAN, h1, 1, ex16, 13,
              CORRUPT, "the last bitstream byte missing", "R-7.2.5-end");
    }

    /* 7.2.5 jump tables: a block of 1024 symbols 7E/81 (lengths 1) */
    static uint8_t L[256];
    L[0x7E] = L[0x81] = 1;
    uint32_t sym[1024];
    for (size_t i = 0; i < 1024; i++)
        sym[i] = i % 3 ? 0x7E : 0x81;
    struct cf_buf blk = {0};
    cf_huf_block_code(&blk, 1, L, sym, 1024);
    /* header (2 bytes), description, then z0 z1 z2 = 32 32 32 and 4 x 32 bytes */
    size_t jt = blk.n - 128 - 3;
    if (blk.p[jt] != 32 || blk.p[jt + 1] != 32 || blk.p[jt + 2] != 32)
        cf_die("invalid: jump table");
    cf_buf_put(&b, blk.p, jt);
    cf_buf_put(&b, "\xA0\x00\x20\x20", 4);
    cf_buf_put(&b, blk.p + jt + 3, 128);
    coded_buf(g, "huffman-jump-not-minimal", 1, 1024, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "z0 = 32 as A0 00", "R-7.2.5-jump");
    cf_buf_put(&b, blk.p, jt);
    cf_buf_put(&b, "\x20\x80", 2);
    coded_buf(g, "huffman-jump-past-end", 1, 1024, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "the coded bytes end inside z1", "R-7.2.5-jump");
    cf_buf_put(&b, blk.p, jt);
    cf_buf_put(&b, "\x20\x20\xE0\x01", 4); /* z2 = 224 */
    cf_buf_put(&b, blk.p + jt + 3, 128);
    coded_buf(g, "huffman-jump-sum", 1, 1024, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "z0 + z1 + z2 = 288 > 128 bytes", "R-7.2.5-jump-sum");
    cf_buf_put(&b, blk.p, jt);
    cf_buf_put(&b, "\x1F\x21\x20", 3);
    cf_buf_put(&b, blk.p + jt + 3, 128);
    coded_buf(g, "huffman-stream-0-short", 1, 1024, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "z0 = 31: stream 0 needs bits past its bytes", "R-7.2.5-stream-size");
    cf_buf_put(&b, blk.p, jt);
    cf_buf_put(&b, "\x21\x1F\x20", 3);
    cf_buf_put(&b, blk.p + jt + 3, 32);
    cf_buf_u8(&b, 0);
    cf_buf_put(&b, blk.p + jt + 3 + 32, 96);
    coded_buf(g, "huffman-stream-0-long", 1, 1024, CNNZ_CODER_HUFFMAN, h1, 1, &b, CORRUPT,
              "z0 = 33: stream 0 ends before its last byte (a zero byte added)",
              "R-7.2.5-stream-size");
    cf_buf_free(&blk);
    cf_buf_free(&b);
}

static void rans_faults(struct gen *g)
{
    /* spec 7.3.7 example 1: table (5) | state (4) | word (2) */
    static const uint8_t ex[11] = {0x10, 0xD0, 0xDF, 0x60, 0x16, 0x1C,
                                   0x6C, 0x0D, 0x00, 0x5F, 0x98};
    const char *p1 = "\x01\x00\x03";
    coded(g, "rans-params-2", 1, 12, CNNZ_CODER_RANS, "\x01\x00", 2, ex, 11, CODER,
          "coder_params_length 2", "R-7.3.1-params-length");
    coded(g, "rans-params-4", 1, 12, CNNZ_CODER_RANS, "\x01\x00\x03\x00", 4, ex, 11, CODER,
          "coder_params_length 4", "R-7.3.1-params-length");
    coded(g, "rans-width-0", 1, 12, CNNZ_CODER_RANS, "\x00\x00\x03", 3, ex, 11, CODER, "width 0",
          "R-7.3.1-width");
    coded(g, "rans-width-3", 1, 12, CNNZ_CODER_RANS, "\x03\x00\x03", 3, ex, 11, CODER, "width 3",
          "R-7.3.1-width");
    coded(g, "rans-width-multiple", 1, 11, CNNZ_CODER_RANS, "\x02\x00\x03", 3, ex, 11, CODER,
          "width 2, decoded_length 11", "R-7.0-width");
    coded(g, "rans-lanes-6", 1, 12, CNNZ_CODER_RANS, "\x01\x06\x03", 3, ex, 11, CODER,
          "lanes_log2 6", "R-7.3.1-lanes");
    coded(g, "rans-scale-17", 1, 12, CNNZ_CODER_RANS, "\x01\x00\x11", 3, ex, 11, CODER,
          "scale_bits 17", "R-7.3.1-scale");
    coded(g, "rans-empty-lanes", 1, 0, CNNZ_CODER_RANS, "\x01\x01\x00", 3, "", 0, CODER,
          "an empty stream with lanes_log2 1", "R-7.3.2-kind");
    coded(g, "rans-empty-scale", 1, 0, CNNZ_CODER_RANS, "\x01\x00\x03", 3, "", 0, CODER,
          "an empty stream with scale_bits 3", "R-7.3.2-kind");
    coded(g, "rans-empty-bytes", 1, 0, CNNZ_CODER_RANS, "\x01\x00\x00", 3, "\x00", 1, CODER,
          "an empty stream with a coded byte", "R-7.3.2-kind");
    coded(g, "rans-one-symbol-lanes", 1, 4, CNNZ_CODER_RANS, "\x01\x02\x00", 3, "\x41", 1, CODER,
          "a one-symbol stream with lanes_log2 2", "R-7.3.2-kind");
    coded(g, "rans-one-symbol-2-bytes", 1, 4, CNNZ_CODER_RANS, "\x01\x00\x00", 3, "\x41\x41", 2,
          CODER, "a one-symbol stream of 2 bytes, width 1", "R-7.3.2-kind");
    coded(g, "rans-table-short", 1, 12, CNNZ_CODER_RANS, "\x01\x01\x03", 3, ex, 9, CODER,
          "a table stream of 2 lanes in 9 bytes < 4 x 2 + 2", "R-7.3.2-kind");

    /* 7.3.4 tables by hand: then 4 bytes of state L and no word */
    struct cf_buf b = {0};
    struct cf_bits w;
#define TABLE_BEGIN(setk) (b.n = 0, cf_bits_init(&w, &b), cf_bits_put(&w, setk, 3))
#define TABLE_END() (cf_bits_flush(&w), cf_buf_u32(&b, 65536))
    TABLE_BEGIN(0);
    cf_eg(&w, 0, 0);   /* one run */
    cf_eg(&w, 0, 250); /* from 250 */
    cf_eg(&w, 0, 9);   /* 10 symbols: to 259 */
    cf_bits_put(&w, 0, 5);
    TABLE_END();
    coded_buf(g, "rans-table-past-alphabet", 1, 4, CNNZ_CODER_RANS, "\x01\x00\x04", 3, &b,
              CORRUPT, "a run of symbols 250 to 259", "R-7.3.4-alphabet");
    TABLE_BEGIN(0);
    cf_eg(&w, 0, 0);
    cf_eg(&w, 0, 65);
    cf_eg(&w, 0, 0); /* one symbol */
    cf_bits_put(&w, 0, 5);
    cf_eg(&w, 0, 7); /* f = 8 = M */
    TABLE_END();
    coded_buf(g, "rans-table-one-symbol", 1, 4, CNNZ_CODER_RANS, "\x01\x00\x03", 3, &b, CORRUPT,
              "a table of one present symbol", "R-7.3.4-symbols");
    TABLE_BEGIN(0);
    cf_eg(&w, 0, 0);
    cf_eg(&w, 0, 65);
    cf_eg(&w, 0, 1); /* 65, 66 */
    cf_bits_put(&w, 1, 1); /* delta */
    cf_bits_put(&w, 0, 4);
    cf_eg(&w, 0, 0); /* f = 0 + 0 */
    cf_eg(&w, 0, 16);
    TABLE_END();
    coded_buf(g, "rans-table-freq-0", 1, 4, CNNZ_CODER_RANS, "\x01\x00\x03", 3, &b, CORRUPT,
              "a delta frequency of 0", "R-7.3.4-freq");
    TABLE_BEGIN(0);
    cf_eg(&w, 0, 0);
    cf_eg(&w, 0, 65);
    cf_eg(&w, 0, 1);
    cf_bits_put(&w, 0, 5);
    cf_eg(&w, 0, 4); /* 5 */
    cf_eg(&w, 0, 3); /* 4: 9 > 8 */
    TABLE_END();
    coded_buf(g, "rans-table-sum-over", 1, 4, CNNZ_CODER_RANS, "\x01\x00\x03", 3, &b, CORRUPT,
              "frequencies 5 + 4 = 9, M = 8", "R-7.3.4-sum");
    TABLE_BEGIN(0);
    cf_eg(&w, 0, 0);
    cf_eg(&w, 0, 65);
    cf_eg(&w, 0, 1);
    cf_bits_put(&w, 0, 5);
    cf_eg(&w, 0, 4);
    cf_eg(&w, 0, 1); /* 5 + 2 = 7 < 8 */
    TABLE_END();
    coded_buf(g, "rans-table-sum-under", 1, 4, CNNZ_CODER_RANS, "\x01\x00\x03", 3, &b, CORRUPT,
              "frequencies 5 + 2 = 7, M = 8", "R-7.3.4-sum");
    {
        uint8_t t[11];
        memcpy(t, ex, 11);
        t[4] |= 0x80;
        coded(g, "rans-table-padding", 1, 12, CNNZ_CODER_RANS, p1, 3, t, 11, CORRUPT,
              "a one in the table's padding", "R-7.3.4-padding");
        memcpy(t, ex, 11);
        t[10] = 0x99; /* spec 7.3.7: ends with x = 0x00050006 */
        coded(g, "rans-final-state", 1, 12, CNNZ_CODER_RANS, p1, 3, t, 11, CORRUPT,
              "the last byte 98 as 99: a final state not L", "R-7.3.5-final");
        memcpy(t, ex, 11);
        cf_put32(t + 5, 0xFFFF);
        coded(g, "rans-state-below-l", 1, 12, CNNZ_CODER_RANS, p1, 3, t, 11, CORRUPT,
              "an initial state of 0xFFFF", "R-7.3.5-state-low");
        coded(g, "rans-no-word", 1, 12, CNNZ_CODER_RANS, p1, 3, ex, 9, CORRUPT,
              "the word missing", "R-7.3.5-words");
        coded(g, "rans-word-half", 1, 12, CNNZ_CODER_RANS, p1, 3, ex, 10, CORRUPT,
              "one byte of the word", "R-7.3.5-words");
        uint8_t x[13];
        memcpy(x, ex, 11);
        x[11] = 0;
        x[12] = 0;
        coded(g, "rans-unread-byte", 1, 12, CNNZ_CODER_RANS, p1, 3, x, 12, CORRUPT,
              "a byte after the last word", "R-7.3.5-unread");
        coded(g, "rans-unread-word", 1, 12, CNNZ_CODER_RANS, p1, 3, x, 13, CORRUPT,
              "a word after the last word read", "R-7.3.5-unread");
        coded(g, "rans-states-do-not-fit", 1, 12, CNNZ_CODER_RANS, "\x01\x01\x03", 3, ex, 11,
              CORRUPT, "2 lanes: a 5-byte table and 8 bytes of states in 11 bytes",
              "R-7.3.5-states-fit");
    }
    TABLE_BEGIN(0);
    cf_bits_put(&w, 0, 25); /* run_count_minus1 with 25 leading zeros */
    cf_bits_put(&w, 1, 1);
    cf_bits_put(&w, 0, 25);
    TABLE_END();
    cf_buf_u32(&b, 65536);
    coded_buf(g, "rans-table-eg-25-zeros", 1, 4, CNNZ_CODER_RANS, "\x01\x00\x03", 3, &b, CORRUPT,
              "an Exp-Golomb code of 25 leading zeros", "R-7.3.4-eg");
    /* a table of 60 runs does not fit in 6 coded bytes */
    static struct cf_rans_table t;
    memset(&t, 0, sizeof t);
    t.width = 1;
    t.scale_bits = 7;
    for (unsigned s = 0; s < 120; s += 2)
        t.freq[s] = 1;
    t.freq[0] = 69;
    b.n = 0;
    cf_rans_table_bits(&b, &t);
    if (b.n <= 6)
        cf_die("invalid: rans table too short");
    b.n = 6;
    coded_buf(g, "rans-table-past-end", 1, 4, CNNZ_CODER_RANS, "\x01\x00\x07", 3, &b, CORRUPT,
              "a table of 60 runs cut at 6 bytes", "R-7.3.4-end");
#undef TABLE_BEGIN
#undef TABLE_END
    cf_buf_free(&b);
}

static void cabac_faults(struct gen *g)
{
    /* level, dense, w 1, D 1, c 0, no period, no neighbours */
    const char *lv = "\x01\x01\x00\x00\x00\x00";
    coded(g, "cabac-width-0", 1, 3, CNNZ_CODER_CABAC, "\x00\x01\x00\x00\x00\x00", 6, "", 0, CODER,
          "kind width 0", "R-7.4.1-width");
    coded(g, "cabac-width-3", 1, 3, CNNZ_CODER_CABAC, "\x03\x01\x00\x00\x00\x00", 6, "", 0, CODER,
          "kind width 3", "R-7.4.1-width");
    coded(g, "cabac-width-multiple", 1, 3, CNNZ_CODER_CABAC, "\x02\x01\x00\x00\x00\x00", 6, "", 0,
          CODER, "width 2, decoded_length 3", "R-7.0-width");
    coded(g, "cabac-float-width-1", 1, 4, CNNZ_CODER_CABAC, "\x05\x00\x00\x00\x00\x00", 6, "", 0,
          CODER, "float binarization with width 1", "R-7.4.1-float");
    coded(g, "cabac-float-sparse", 2, 4, CNNZ_CODER_CABAC, "\x0E\x00\x00\x00\x00\x00", 6, "", 0,
          CODER, "float binarization with sparse", "R-7.4.1-sparse");
    coded(g, "cabac-kind-bit-6", 1, 3, CNNZ_CODER_CABAC, "\x41\x01\x00\x00\x00\x00", 6, "", 0,
          CODER "|" RESERVED, "kind bit 6", "R-7.4.1-kind-reserved");
    coded(g, "cabac-depth-0", 1, 3, CNNZ_CODER_CABAC, "\x01\x00\x00\x00\x00\x00", 6, "", 0, CODER,
          "level depth 0", "R-7.4.1-depth");
    coded(g, "cabac-depth-9", 1, 3, CNNZ_CODER_CABAC, "\x01\x09\x00\x00\x00\x00", 6, "", 0, CODER,
          "level depth 9", "R-7.4.1-depth");
    coded(g, "cabac-float-depth-1", 2, 3, CNNZ_CODER_CABAC, "\x06\x01\x00\x00\x00\x00", 6, "", 0,
          CODER, "float depth 1", "R-7.4.1-depth");
    coded(g, "cabac-centre-256", 1, 3, CNNZ_CODER_CABAC, "\x01\x01\x80\x02\x00\x00\x00", 7, "", 0,
          CODER, "level centre 256 with width 1", "R-7.4.1-centre");
    coded(g, "cabac-float-centre-1", 2, 3, CNNZ_CODER_CABAC, "\x06\x00\x01\x00\x00\x00", 6, "", 0,
          CODER, "float centre 1", "R-7.4.1-centre");
    coded(g, "cabac-varint-not-minimal", 1, 3, CNNZ_CODER_CABAC,
          "\x01\x01\x80\x00\x00\x00\x00", 7, "", 0, CODER, "centre 0 as 80 00", "R-7.4.1-varint");
    coded(g, "cabac-params-trailing", 1, 3, CNNZ_CODER_CABAC, "\x01\x01\x00\x00\x00\x00\x00", 7,
          "", 0, CODER, "a parameter byte after near2", "R-7.4.1-params-end");
    coded(g, "cabac-params-short", 1, 3, CNNZ_CODER_CABAC, "\x01\x01\x00\x00\x00", 5, "", 0, CODER,
          "no near2", "R-7.4.1-params-end");
    coded(g, "cabac-lanes-period-0", 1, 4, CNNZ_CODER_CABAC, "\x11\x01\x00\x00\x00\x00", 6,
          "\x00\x00", 2, CODER, "2 lanes, period 0", "R-7.4.1-lanes");
    coded(g, "cabac-lanes-period-1", 1, 4, CNNZ_CODER_CABAC, "\x11\x01\x00\x01\x00\x00", 6,
          "\x00\x00", 2, CODER, "2 lanes, period 1", "R-7.4.1-lanes");
    coded(g, "cabac-lanes-period-over-n", 1, 4, CNNZ_CODER_CABAC, "\x11\x01\x00\x05\x00\x00", 6,
          "\x00\x00", 2, CODER, "2 lanes, period 5 > 4 symbols", "R-7.4.1-lanes");
    coded(g, "cabac-empty-with-bytes", 1, 0, CNNZ_CODER_CABAC, lv, 6, "\x00", 1, CODER,
          "no symbol, one coded byte", "R-7.4.1-empty");

    /* 7.4.6: two lanes, period 2, 4 symbols */
    const char *l2 = "\x11\x01\x00\x02\x00\x00";
    coded(g, "cabac-lane-count-past", 1, 4, CNNZ_CODER_CABAC, l2, 6, "\x64\x00\x00\x00", 4,
          CORRUPT, "lane 0 of 100 bytes in 3", "R-7.4.6-lane-counts");
    coded(g, "cabac-lane-count-not-minimal", 1, 4, CNNZ_CODER_CABAC, l2, 6, "\x80\x00\x00", 3,
          CORRUPT, "lane 0 count 0 as 80 00", "R-7.4.6-lane-counts");
    coded(g, "cabac-lane-count-cut", 1, 4, CNNZ_CODER_CABAC, l2, 6, "\x80", 1, CORRUPT,
          "the lane count cut by the end", "R-7.4.6-lane-counts");

    /* 7.4.3 */
    coded(g, "cabac-start-all-ff", 1, 3, CNNZ_CODER_CABAC, lv, 6,
          "\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 7, CORRUPT, "the first 7 bytes FF", "R-7.4.3-start");
    coded(g, "cabac-unread-byte", 1, 2, CNNZ_CODER_CABAC, lv, 6, "\0\0\0\0\0\0\0\0", 8, CORRUPT,
          "8 zero bytes for two symbols of 0 bins: one byte not read", "R-7.4.3-unread");
    /* Symbols equal to the centre code one 0 bin each with one context; with
     * no coded bytes (all read as 0) the range renormalizes after this many:
     * 7 + 4 missing bytes. */
    uint64_t n = cf_cabac_zero_bins_to_renorm() + 16;
    coded(g, "cabac-missing-bytes", 1, n, CNNZ_CODER_CABAC, lv, 6, "", 0, CORRUPT,
          "no coded bytes for a stream that renormalizes: 11 missing bytes",
          "R-7.4.3-missing");

    /* 7.4.4: bins of fresh contexts (p = 32768), no renormalization */
    struct cf_buf b = {0};
    uint16_t p[10];
    for (int i = 0; i < 10; i++)
        p[i] = 32768;
    static const uint8_t esc[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    cf_cabac_bins(&b, esc, p, 10);
    coded_buf(g, "cabac-escape-too-long", 1, 1, CNNZ_CODER_CABAC, lv, 6, &b, CORRUPT,
              "tree bin 1, then 9 escape prefix bins of 1 (> 8w)", "R-7.4.4-escape");
    static const uint8_t below[4] = {1, 0, 0, 1};
    cf_cabac_bins(&b, below, p, 4);
    coded_buf(g, "cabac-value-below-0", 1, 1, CNNZ_CODER_CABAC, lv, 6, &b, CORRUPT,
              "centre 0, magnitude 1, negative: -1", "R-7.4.4-range");
    static const uint8_t above[4] = {1, 0, 0, 0};
    cf_cabac_bins(&b, above, p, 4);
    coded_buf(g, "cabac-value-above-255", 1, 1, CNNZ_CODER_CABAC, "\x01\x01\xFF\x01\x00\x00\x00",
              7, &b, CORRUPT, "centre 255, magnitude 1, positive: 256", "R-7.4.4-range");
    cf_buf_free(&b);
}

void gen_invalid(struct gen *g)
{
    make_base();
    header_faults(g);
    section_faults(g);
    trailer_faults(g);
    layout_faults(g);
    tdat_faults(g);
    tdir_faults(g);
    edit_faults(g);
    entry_faults(g);
    stream_faults(g);
    metadata_faults(g);
    repr_faults(g);
    raw_faults(g);
    huffman_faults(g);
    rans_faults(g);
    cabac_faults(g);
    cf_free(&base);
    cf_wfree(&base_m);
}
