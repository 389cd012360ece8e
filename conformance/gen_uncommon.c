/* gen_uncommon.c - conformance/uncommon: legal files that stretch a
 * decoder (README.md). A decoder MUST NOT crash on them; it decodes them
 * (the reference does) or declines with CNNZ_E_LIMIT when they are beyond
 * its own limits: every reserved field set under a newer minor, dozens of
 * unknown sections, rank-32 shapes of 2^64 - 1 with a zero, 4096-byte
 * names, a TDAT per tensor or one for all, 127 sHAM blocks, a thousand
 * tensors, thousands of metadata entries, 16 MiB from a few coded bytes. */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/* Random small bytes for what cnnz_writer_add_tensor takes. */
static void fill(struct cf_rng *r, struct cf_wtensor *t)
{
    int dt = t->d.repr == CNNZ_REPR_AFFINE || t->d.repr == CNNZ_REPR_WIDEN ? t->d.symbol_dtype
                                                                          : t->d.dtype;
    size_t n = (size_t)cf_welements(t) * cnnz_dtype_size(dt);
    for (size_t i = 0; i < n; i++)
        cf_buf_u8(&t->input, t->d.dtype == CNNZ_DT_BOOL ? cf_below(r, 2) : cf_below(r, 7));
}

/* A few tensors of each representation, and metadata. */
static void mixed(struct cf_wmodel *m, struct cf_rng *r)
{
    static const uint64_t d8[1] = {8}, d4x6[2] = {4, 6};
    struct cf_wtensor *t = cf_wadd(m, "w", 1, CNNZ_DT_F32, 2, d4x6, CNNZ_REPR_PLAIN,
                                   CNNZ_CODER_HUFFMAN);
    fill(r, t);
    t = cf_wadd(m, "q", 1, CNNZ_DT_F32, 1, d8, CNNZ_REPR_AFFINE, CNNZ_CODER_RANS);
    t->d.symbol_dtype = CNNZ_DT_U8;
    t->d.scale = 0.25;
    t->d.offset = 1.0;
    fill(r, t);
    t = cf_wadd(m, "h", 1, CNNZ_DT_F32, 1, d8, CNNZ_REPR_WIDEN, CNNZ_CODER_RAW);
    t->d.symbol_dtype = CNNZ_DT_BF16;
    fill(r, t);
    t = cf_wadd(m, "k", 1, CNNZ_DT_I16, 2, d4x6, CNNZ_REPR_HAM, CNNZ_CODER_CABAC);
    t->d.symbol_dtype = CNNZ_DT_U8;
    t->d.codebook_size = 3;
    cf_buf_put(&t->codebook, "\0\0\1\0\xff\xff", 6);
    for (int i = 0; i < 24; i++)
        cf_buf_u8(&t->input, cf_below(r, 3));
    t = cf_wadd(m, "s", 1, CNNZ_DT_F32, 2, d4x6, CNNZ_REPR_SHAM, CNNZ_CODER_RAW);
    t->d.symbol_dtype = CNNZ_DT_U8;
    t->d.codebook_size = 2;
    t->d.block_rows = 1;
    cf_buf_put(&t->codebook, "\0\0\0\0\0\0\x80\x3f", 8);
    for (int i = 0; i < 24; i++)
        cf_buf_u8(&t->input, cf_unit(r) < 0.7 ? 0 : 1);
    t = cf_wadd(m, "p", 1, CNNZ_DT_U64, 1, d8, CNNZ_REPR_PLANES, CNNZ_CODER_RAW);
    fill(r, t);
    for (size_t i = 0; i < m->nt; i++)
        cf_wexpect(&m->t[i]);
    struct cf_wmeta *e = cf_wmeta_add(m, "producer", CNNZ_META_STRING);
    cf_buf_str(&e->value, "cnnz-gen-vectors");
    e = cf_wmeta_add(m, "n", CNNZ_META_INT);
    e->i = -5;
}

/* spec 2: a newer minor's reserved fields are ignored, wherever they are. */
static void newer_minor(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x6D696E6F72)};
    struct cf_wmodel m = {0};
    mixed(&m, &r);
    struct cf_file base, f;
    gen_base(&m, &base);

    cf_copy(&f, &base);
    cf_set_minor(&f, 1);
    memset(f.header + 12, 0xFF, 4);
    memset(f.header + 16, 0xA5, 40);
    f.trailer_reserved = UINT64_MAX;
    f.tdir_reserved = UINT64_MAX;
    f.tdir_flags = 0xFFFFFFFFu;
    for (size_t i = 0; i < f.nsec; i++) {
        f.sec[i].flags |= 0xFFFFFFFEu;
        f.sec[i].table_flags |= 0xFFFFFFFEu;
    }
    gen_decode_f(g, "uncommon", "minor-1-reserved-container", &f, &m,
                 "newer-minor,reserved=header,trailer,section-flags,tdir", "2");
    cf_free(&f);

    /* metadata: the body's reserved word and each entry's reserved byte */
    cf_copy(&f, &base);
    cf_set_minor(&f, 1);
    struct cf_meta meta = {0};
    uint8_t v8[8] = {0xFB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    cf_meta_entry(&meta, "producer", 8, CNNZ_META_STRING, 0xFF, "x", 1);
    cf_meta_entry(&meta, "int", 3, CNNZ_META_INT, 0x01, v8, 8);
    cf_meta_entry(&meta, "float", 5, CNNZ_META_FLOAT, 0x80, v8, 8);
    cf_meta_entry(&meta, "bool", 4, CNNZ_META_BOOL, 0x7F, "\1", 1);
    cf_meta_entry(&meta, "bytes", 5, CNNZ_META_BYTES, 0xFF, "\0\0", 2);
    struct cf_buf body = {0};
    cf_meta_body(&meta, meta.count, 0xFFFFFFFFu, &body);
    cf_set_meta(&f, &body);
    gen_decode_f(g, "uncommon", "minor-1-reserved-metadata", &f, &m,
                 "newer-minor,reserved=meta-body,meta-entries", "2,5.4");
    cf_free(&f);

    /* representation parameters */
    cf_copy(&f, &base);
    cf_set_minor(&f, 1);
    for (size_t j = 0; j < f.nt; j++) {
        struct cf_tensor *t = &f.t[j];
        if (t->repr == CNNZ_REPR_AFFINE || t->repr == CNNZ_REPR_WIDEN)
            memset(t->rp.p + 1, 0xFF, 7);
        if (t->repr == CNNZ_REPR_HAM || t->repr == CNNZ_REPR_SHAM)
            memset(t->rp.p + 1, 0xFF, 3);
    }
    gen_decode_f(g, "uncommon", "minor-1-reserved-repr", &f, &m,
                 "newer-minor,reserved=affine,widen,ham,sham", "2,6");
    /* all of it, minor 65535 */
    cf_set_minor(&f, 65535);
    memset(f.header + 12, 0xFF, 44);
    f.trailer_reserved = f.tdir_reserved = UINT64_MAX;
    f.tdir_flags = 0xFFFFFFFFu;
    for (size_t i = 0; i < f.nsec; i++) {
        f.sec[i].flags |= 0xFFFFFFFEu;
        f.sec[i].table_flags |= 0xFFFFFFFEu;
    }
    cf_set_meta(&f, &body);
    gen_decode_f(g, "uncommon", "minor-65535-reserved-all", &f, &m,
                 "newer-minor,every-reserved-field", "2");
    cf_free(&f);
    cf_buf_free(&body);
    cf_buf_free(&meta.b);

    /* dozens of unknown skippable sections, between every other section */
    cf_copy(&f, &base);
    cf_split_run(&f, 2);
    cf_split_run(&f, 4);
    struct cf_buf junk = {0};
    for (int i = 0; i < 5000; i++)
        cf_buf_u8(&junk, (unsigned)cf_next(&r));
    for (int k = 0; k < 40; k++) {
        char tag[4];
        for (int c = 0; c < 4; c++)
            tag[c] = (char)('a' + cf_below(&r, 26));
        size_t n = k == 7 ? 5000 : cf_below(&r, 40);
        cf_insert_section(&f, cf_below(&r, (uint32_t)f.nsec + 1), tag, 0, junk.p, n);
    }
    gen_decode_f(g, "uncommon", "sections-unknown-40", &f, &m, "unknown-sections=40", "3.2");
    cf_free(&f);
    cf_buf_free(&junk);

    /* a TDAT for each tensor, and one for all */
    cf_copy(&f, &base);
    for (size_t j = 1; j < f.nt; j++)
        cf_split_run(&f, j);
    gen_decode_f(g, "uncommon", "tdat-one-per-tensor", &f, &m, "runs=1-tensor-each", "4,5.1");
    cf_free(&f);
    cf_free(&base);
    cf_wfree(&m);
}

static void shapes(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x73686170)};
    struct cf_wmodel m = {0};
    uint64_t d[32];
    for (int i = 0; i < 32; i++)
        d[i] = i == 5 ? 0 : i % 2 ? UINT64_MAX : UINT64_C(1) << 63;
    static const int coders[] = {CNNZ_CODER_RAW, CNNZ_CODER_HUFFMAN, CNNZ_CODER_RANS,
                                 CNNZ_CODER_CABAC};
    char name[64];
    /* zero-length streams: an empty tensor of every representation x coder */
    for (int c = 0; c < 4; c++) {
        for (int repr = CNNZ_REPR_PLAIN; repr <= CNNZ_REPR_SHAM; repr++) {
            int dt = repr == CNNZ_REPR_PLANES ? CNNZ_DT_F64 : CNNZ_DT_F32;
            snprintf(name, sizeof name, "%s/%s", cnnz_coder_name(coders[c]),
                     cnnz_repr_name(repr));
            struct cf_wtensor *t = cf_wadd(&m, name, strlen(name), dt, 32, d, repr, coders[c]);
            t->d.symbol_dtype = repr == CNNZ_REPR_WIDEN ? CNNZ_DT_F16 : CNNZ_DT_U16;
            t->d.scale = 1.0;
            if (repr >= CNNZ_REPR_HAM) {
                t->d.codebook_size = 2;
                cf_buf_zeros(&t->codebook, 8);
                t->codebook.p[7] = 0x40;
            }
            cf_wexpect(t);
        }
    }
    gen_decode_w(g, "uncommon", "rank-32-zero-elements", &m,
                 "rank=32,dims=2^63,2^64-1,0,empty-streams,every-repr,every-coder", "5.3,6");
    cf_wfree(&m);

    /* 127 sham blocks: 255 streams */
    static const uint64_t d127[2] = {127, 5};
    struct cf_wtensor *t = cf_wadd(&m, "sham127", 7, CNNZ_DT_F32, 2, d127, CNNZ_REPR_SHAM,
                                   CNNZ_CODER_AUTO);
    t->d.symbol_dtype = CNNZ_DT_U8;
    t->d.codebook_size = 3;
    t->d.block_rows = 1;
    cf_buf_put(&t->codebook, "\0\0\0\0\0\0\x80\x3f\0\0\x80\xbf", 12);
    for (int i = 0; i < 127 * 5; i++)
        cf_buf_u8(&t->input, cf_unit(&r) < 0.6 ? 0 : 1 + cf_below(&r, 2));
    cf_wexpect(t);
    gen_decode_w(g, "uncommon", "sham-127-blocks", &m, "repr=sham,blocks=127,streams=255", "6.7");
    cf_wfree(&m);
}

static void counts(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x636F756E7473)};
    struct cf_wmodel m = {0};
    char name[64];
    static const uint64_t d1[1] = {1};
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "model.layers.%d.%s", i / 3,
                 i % 3 == 0 ? "weight" : i % 3 == 1 ? "bias" : "scale");
        struct cf_wtensor *t = cf_wadd(&m, name, strlen(name), CNNZ_DT_U8, 1, d1,
                                       CNNZ_REPR_PLAIN, CNNZ_CODER_RAW);
        cf_buf_u8(&t->input, (unsigned)i);
        cf_wexpect(t);
    }
    gen_decode_w(g, "uncommon", "tensors-1000", &m, "tensors=1000", "5");
    cf_wfree(&m);
    struct cf_file f;

    /* 3000 metadata entries of every type */
    struct cf_wmodel mm = {0};
    cf_wadd(&mm, "x", 1, CNNZ_DT_U8, 1, d1, CNNZ_REPR_PLAIN, CNNZ_CODER_RAW);
    cf_buf_u8(&mm.t[0].input, 9);
    cf_wexpect(&mm.t[0]);
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "k%04d", i);
        struct cf_wmeta *e = cf_wmeta_add(&mm, name, 1 + i % 5);
        e->i = i % 5 == 3 ? i % 2 : -i;
        e->f = i * 0.5;
        if (e->type == CNNZ_META_STRING || e->type == CNNZ_META_BYTES)
            for (int k = 0; k < i % 7; k++)
                cf_buf_u8(&e->value, 'a' + cf_below(&r, 26));
    }
    gen_decode_w(g, "uncommon", "metadata-3000", &mm, "metadata=3000,every-type", "5.4");
    cf_wfree(&mm);

    /* no tensor, unknown sections and metadata */
    struct cf_wmodel none = {0};
    struct cf_wmeta *e = cf_wmeta_add(&none, "producer", CNNZ_META_STRING);
    cf_buf_str(&e->value, "x");
    gen_base(&none, &f);
    cf_insert_section(&f, 0, "XTRA", 0, "a", 1);
    cf_insert_section(&f, 2, "YTRA", 0, "", 0);
    gen_decode_f(g, "uncommon", "no-tensors-unknown-sections", &f, &none,
                 "tensors=0,unknown-sections", "3.5,5.1");
    cf_free(&f);
    cf_wfree(&none);
}

static void long_names(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x6E616D6573)};
    struct cf_wmodel m = {0};
    struct cf_buf nm = {0};
    for (int i = 0; i < 1023; i++)
        cf_buf_put(&nm, "\xe2\x82\xac", 3); /* 3069 bytes of euros */
    while (nm.n < 4094)
        cf_buf_u8(&nm, '/');
    static const uint64_t d2[1] = {2};
    for (int i = 0; i < 8; i++) {
        nm.n = 4094;
        cf_buf_u8(&nm, 'a' + i / 4);
        if (i % 4)
            cf_buf_u8(&nm, '0' + i % 4); /* and 4095-byte prefixes of the next ones */
        struct cf_wtensor *t = cf_wadd(&m, nm.p, nm.n, CNNZ_DT_U8, 1, d2, CNNZ_REPR_PLAIN,
                                       CNNZ_CODER_RAW);
        cf_buf_u8(&t->input, (unsigned)i);
        cf_buf_u8(&t->input, cf_below(&r, 256));
        cf_wexpect(t);
    }
    gen_decode_w(g, "uncommon", "names-4096-shared", &m,
                 "name_length=4095..4096,name_shared=4094..4095,utf8", "5.3");
    cf_buf_free(&nm);
    cf_wfree(&m);
}

/* Small tensors and one of 70 KB (the writer gives it a TDAT of its own)
 * all in one TDAT. */
static void all_in_one(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x616C6C)};
    struct cf_wmodel m = {0};
    mixed(&m, &r);
    static const uint64_t dbig[1] = {70000};
    struct cf_wtensor *t = cf_wadd(&m, "big", 3, CNNZ_DT_U8, 1, dbig, CNNZ_REPR_PLAIN,
                                   CNNZ_CODER_RAW);
    for (size_t i = 0; i < 70000; i++)
        cf_buf_u8(&t->input, (unsigned)cf_next(&r));
    cf_wexpect(t);
    struct cf_file f;
    gen_base(&m, &f);
    if (f.nsec < 3)
        cf_die("uncommon: the big tensor did not get a TDAT of its own");
    cf_merge_runs(&f);
    gen_decode_f(g, "uncommon", "tdat-all-in-one", &f, &m, "runs=one,raw=70000,align=64", "4,5.1");
    cf_free(&f);
    cf_wfree(&m);
}

/* Large decoded tensors from a few coded bytes, within the expansion cap of
 * spec 5.3.1 (2^20 x coded + 65536): a decoder with a memory limit may
 * decline them (CNNZ_E_LIMIT). 16 MiB in four huffman run blocks (20 coded
 * bytes), and a one-symbol rANS stream (1 coded byte) exactly at the cap. */
static void large(struct gen *g)
{
    const uint64_t n = UINT64_C(1) << 24, at_cap = (UINT64_C(1) << 20) + 65536;
    uint8_t *dec = cf_alloc((size_t)n);
    memset(dec, 0x5A, (size_t)n);
    struct cf_buf coded = {0};
    for (int b = 0; b < 4; b++)
        cf_huf_block_run(&coded, 1, 0x5A, n / 4);
    gen_stream_file(g, "uncommon", "huffman-runs-16-mib", 1, CNNZ_CODER_HUFFMAN, "\x01", 1,
                    coded.p, coded.n, dec, (size_t)n, "coder=huffman,run-blocks,decoded=16MiB",
                    "7.2.2,5.3.1");
    gen_stream_file(g, "uncommon", "rans-one-symbol-at-cap", 1, CNNZ_CODER_RANS, "\x01\x00\x00",
                    3, "\x5A", 1, dec, (size_t)at_cap,
                    "coder=rans,kind=one-symbol,decoded=1MiB+64KiB", "7.3.2,5.3.1");
    cf_buf_free(&coded);
    free(dec);
}

void gen_uncommon(struct gen *g)
{
    newer_minor(g);
    shapes(g);
    counts(g);
    long_names(g);
    all_in_one(g);
    large(g);
}
