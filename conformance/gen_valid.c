/* gen_valid.c - conformance/valid: files every decoder MUST decode (README.md).
 *
 * Single-tensor files named after the feature they hold (every coder x
 * representation x dtype, then edge cases), the spec's worked examples as
 * files, streams built by the spec-only encoders of coders.c (the longest
 * Huffman codes, 32 rANS lanes, ...), and multi-tensor files with runs,
 * front-coded names, metadata and unknown sections. Expected bytes are
 * computed from the inputs (cf_wexpect), never by decoding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

static void put_f32(uint8_t *p, float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    cf_put32(p, b);
}

/* A skewed small integer: geometric-ish, capped below k. */
static unsigned skewed(struct cf_rng *r, unsigned k)
{
    unsigned v = 0;
    while (v + 1 < k && cf_unit(r) < 0.6)
        v++;
    return v;
}

static const char *section_of_repr(int repr)
{
    static const char *const s[] = {"6.2", "6.3", "6.4", "6.5", "6.6", "6.7"};
    return s[repr];
}

static const char *section_of_coder(int coder)
{
    static const char *const s[] = {"7.1", "7.2", "7.3", "7.4"};
    return s[coder];
}

/* A model of one tensor named CODER-FEAT. */
static struct cf_wtensor *begin(struct cf_wmodel *m, int coder, const char *feat, int dtype,
                                unsigned rank, const uint64_t *dims, int repr)
{
    char name[128];
    snprintf(name, sizeof name, "%s-%s", cnnz_coder_name(coder), feat);
    memset(m, 0, sizeof *m);
    return cf_wadd(m, name, strlen(name), dtype, rank, dims, repr, coder);
}

/* Its vector, named after the tensor: features coder=,repr=,dtype= and
 * extra; sections those of its representation and coder. */
static void one(struct gen *g, struct cf_wmodel *m, const char *extra)
{
    struct cf_wtensor *t = &m->t[0];
    char name[128], features[192], sections[32];
    snprintf(name, sizeof name, "%.*s", (int)t->name.n, (const char *)t->name.p);
    snprintf(features, sizeof features, "coder=%s,repr=%s,dtype=%s%s", cnnz_coder_name(t->d.coder),
             cnnz_repr_name(t->d.repr), cnnz_dtype_name(t->d.dtype), extra);
    snprintf(sections, sizeof sections, "%s,%s", section_of_repr(t->d.repr),
             section_of_coder(t->d.coder));
    cf_wexpect(t);
    gen_decode_w(g, "valid", name, m, features, sections);
    cf_wfree(m);
}

/* ------------------------------------------- coder x representation families */

/* plain; kind 1: one symbol, 2: every u16 value once */
static void plain(struct gen *g, int coder, const char *feat, int dtype, unsigned rank,
                  const uint64_t *dims, struct cf_rng *r, int kind)
{
    struct cf_wmodel m;
    struct cf_wtensor *t = begin(&m, coder, feat, dtype, rank, dims, CNNZ_REPR_PLAIN);
    size_t n = (size_t)cf_welements(t), es = cnnz_dtype_size(dtype);
    cf_buf_zeros(&t->input, n * es);
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = t->input.p + i * es;
        if (dtype == CNNZ_DT_F32) {
            put_f32(p, (float)(cf_normal(r) * 0.05));
        } else if (dtype == CNNZ_DT_BOOL) {
            p[0] = cf_unit(r) < 0.2;
        } else if (kind == 1) {
            memset(p, 7, es);
        } else if (kind == 2 && es == 2) {
            cf_put16(p, (uint16_t)(i * 40503u));
        } else {
            for (size_t b = 0; b < es; b++)
                p[b] = (uint8_t)(b == 0 ? skewed(r, 256) * 3 : cf_next(r));
        }
    }
    one(g, &m, "");
}

static void planes(struct gen *g, int coder, const char *feat, int dtype, unsigned rank,
                   const uint64_t *dims, struct cf_rng *r)
{
    struct cf_wmodel m;
    struct cf_wtensor *t = begin(&m, coder, feat, dtype, rank, dims, CNNZ_REPR_PLANES);
    size_t n = (size_t)cf_welements(t);
    for (size_t i = 0; i < n; i++) {
        double v = cf_normal(r) * 0.05;
        uint64_t b;
        memcpy(&b, &v, 8);
        if (dtype == CNNZ_DT_F32) {
            uint8_t p[4];
            put_f32(p, (float)v);
            cf_buf_put(&t->input, p, 4);
        } else {
            cf_buf_u64(&t->input, b);
        }
    }
    one(g, &m, "");
}

/* affine f32 from u8/u16 symbols */
static void affine(struct gen *g, int coder, const char *feat, int symdt, unsigned rank,
                   const uint64_t *dims, struct cf_rng *r)
{
    struct cf_wmodel m;
    struct cf_wtensor *t = begin(&m, coder, feat, CNNZ_DT_F32, rank, dims, CNNZ_REPR_AFFINE);
    t->d.symbol_dtype = symdt;
    t->d.scale = 0.0078125;
    t->d.offset = -1.0;
    size_t n = (size_t)cf_welements(t);
    for (size_t i = 0; i < n; i++) {
        unsigned q = (unsigned)(128 + (int)(cf_normal(r) * 12));
        if (symdt == CNNZ_DT_U8)
            cf_buf_u8(&t->input, q);
        else
            cf_buf_u16(&t->input, q * 200);
    }
    one(g, &m, symdt == CNNZ_DT_U8 ? ",symbols=u8" : ",symbols=u16");
}

/* ham / sham with an f32 codebook whose entry 0 is 0.0 (pruned weights) */
static void indexed(struct gen *g, int coder, const char *feat, int repr, int symdt, uint32_t k,
                    double zero_frac, uint64_t block_rows, unsigned rank, const uint64_t *dims,
                    struct cf_rng *r)
{
    struct cf_wmodel m;
    struct cf_wtensor *t = begin(&m, coder, feat, CNNZ_DT_F32, rank, dims, repr);
    t->d.symbol_dtype = symdt;
    t->d.codebook_size = k;
    t->d.block_rows = block_rows;
    for (uint32_t j = 0; j < k; j++) {
        uint8_t p[4];
        put_f32(p, j ? (float)((double)j / k - 0.5) : 0.0f);
        cf_buf_put(&t->codebook, p, 4);
    }
    size_t n = (size_t)cf_welements(t);
    for (size_t i = 0; i < n; i++) {
        unsigned q = cf_unit(r) < zero_frac ? 0 : 1 + (unsigned)(cf_unit(r) * (k - 1));
        if (k == 1)
            q = 0;
        if (symdt == CNNZ_DT_U8)
            cf_buf_u8(&t->input, q);
        else
            cf_buf_u16(&t->input, q);
    }
    char extra[64];
    snprintf(extra, sizeof extra, ",symbols=%s,codebook=%u", cnnz_dtype_name(symdt), (unsigned)k);
    one(g, &m, extra);
}

/* The first families (their bytes are those of the vectors' first version). */
static void coder_edge_cases(struct gen *g, int c)
{
    struct cf_rng r = {UINT64_C(0x636E6E7A) + (uint64_t)c}; /* "cnnz" + id */
    static const uint64_t d0[1] = {0}, d1[1] = {1}, d257[1] = {257}, d20k[1] = {20000},
                          d65k[1] = {65536}, d500[1] = {500}, d33[1] = {33},
                          dconv[4] = {8, 4, 3, 3}, dz[2] = {0, 5}, dfc[2] = {64, 40},
                          dbig[2] = {128, 128}, d300[1] = {300}, d9[1] = {9};
    plain(g, c, "plain-u8", CNNZ_DT_U8, 1, d257, &r, 0);
    plain(g, c, "plain-u8-large", CNNZ_DT_U8, 1, d20k, &r, 0);
    plain(g, c, "plain-u8-one-symbol", CNNZ_DT_U8, 1, d500, &r, 1);
    plain(g, c, "plain-u8-one-element", CNNZ_DT_U8, 1, d1, &r, 0);
    plain(g, c, "plain-u8-empty", CNNZ_DT_U8, 1, d0, &r, 0);
    if (c != CNNZ_CODER_RAW) /* the largest alphabet: every u16 once */
        plain(g, c, "plain-u16-full-alphabet", CNNZ_DT_U16, 1, d65k, &r, 2);
    plain(g, c, "plain-i64", CNNZ_DT_I64, 1, d9, &r, 0);
    plain(g, c, "plain-bool", CNNZ_DT_BOOL, 1, d33, &r, 0);
    plain(g, c, "plain-f32-conv", CNNZ_DT_F32, 4, dconv, &r, 0);
    plain(g, c, "plain-f32-rank0", CNNZ_DT_F32, 0, d1, &r, 0);
    plain(g, c, "plain-f32-zero-dim", CNNZ_DT_F32, 2, dz, &r, 0);
    planes(g, c, "planes-f32", CNNZ_DT_F32, 2, dfc, &r);
    planes(g, c, "planes-f64", CNNZ_DT_F64, 1, d300, &r);
    affine(g, c, "affine-u8", CNNZ_DT_U8, 4, dconv, &r);
    affine(g, c, "affine-u16", CNNZ_DT_U16, 1, d300, &r);
    indexed(g, c, "ham-u8-pruned", CNNZ_REPR_HAM, CNNZ_DT_U8, 33, 0.9, 0, 2, dbig, &r);
    indexed(g, c, "ham-u16", CNNZ_REPR_HAM, CNNZ_DT_U16, 1000, 0.2, 0, 1, d300, &r);
    indexed(g, c, "ham-one-entry", CNNZ_REPR_HAM, CNNZ_DT_U8, 1, 1.0, 0, 1, d33, &r);
    indexed(g, c, "sham-u8-4-blocks", CNNZ_REPR_SHAM, CNNZ_DT_U8, 33, 0.9, 16, 2, dfc, &r);
    indexed(g, c, "sham-u8-long-runs", CNNZ_REPR_SHAM, CNNZ_DT_U8, 33, 0.998, 0, 2, dbig, &r);
    indexed(g, c, "sham-u16", CNNZ_REPR_SHAM, CNNZ_DT_U16, 1000, 0.5, 3, 1, d300, &r);
}

/* Element bytes typical of dtype: floats near zero, skewed integers, bools. */
static void fill_values(struct cf_rng *r, int dtype, uint8_t *p, size_t n)
{
    const size_t es = cnnz_dtype_size(dtype);
    for (size_t i = 0; i < n; i++, p += es) {
        double v = cf_normal(r);
        switch (dtype) {
        case CNNZ_DT_F32: put_f32(p, (float)(v * 0.05)); break;
        case CNNZ_DT_F64: {
            double d = v * 0.05;
            uint64_t b;
            memcpy(&b, &d, 8);
            cf_put64(p, b);
            break;
        }
        case CNNZ_DT_F16: /* sign, exponent 8..16, any fraction */
            cf_put16(p, (unsigned)((v < 0) << 15 | (8 + cf_below(r, 9)) << 10 | cf_below(r, 1024)));
            break;
        case CNNZ_DT_BF16: {
            float x = (float)(v * 0.05);
            uint32_t b;
            memcpy(&b, &x, 4);
            cf_put16(p, b >> 16);
            break;
        }
        case CNNZ_DT_BOOL: p[0] = cf_unit(r) < 0.3; break;
        default: { /* integers: mostly small, signed around zero, some full-width */
            int64_t s = (int64_t)(v * 20);
            uint64_t u = cf_unit(r) < 0.1 ? cf_next(r) : (uint64_t)s;
            if (dtype == CNNZ_DT_U8 || dtype == CNNZ_DT_U16 || dtype == CNNZ_DT_U32 ||
                dtype == CNNZ_DT_U64)
                u = cf_unit(r) < 0.1 ? cf_next(r) : (uint64_t)skewed(r, 200);
            for (size_t b = 0; b < es; b++)
                p[b] = (uint8_t)(u >> (8 * b));
        }
        }
    }
}

/* The other dtypes of every representation, for every coder. */
static void coder_dtypes(struct gen *g, int coder)
{
    struct cf_rng r = {UINT64_C(0x6474797065) + (uint64_t)coder}; /* "dtype" + id */
    static const uint64_t d37[1] = {37}, d6x7[2] = {6, 7}, d5x8[2] = {5, 8};
    char feat[64], extra[64];
    struct cf_wmodel m;
    struct cf_wtensor *t;
    for (int dt = CNNZ_DT_F32; dt <= CNNZ_DT_BOOL; dt++) {
        const char *dn = cnnz_dtype_name(dt);
        size_t es = cnnz_dtype_size(dt);
        if (dt != CNNZ_DT_U8 && dt != CNNZ_DT_I64 && dt != CNNZ_DT_BOOL) { /* those above */
            snprintf(feat, sizeof feat, "plain-%s", dn);
            t = begin(&m, coder, feat, dt, 1, d37, CNNZ_REPR_PLAIN);
            cf_buf_zeros(&t->input, 37 * es);
            fill_values(&r, dt, t->input.p, 37);
            one(g, &m, "");
        }
        if ((es == 4 || es == 8) && dt != CNNZ_DT_F32 && dt != CNNZ_DT_F64) {
            snprintf(feat, sizeof feat, "planes-%s", dn);
            t = begin(&m, coder, feat, dt, 2, d5x8, CNNZ_REPR_PLANES);
            cf_buf_zeros(&t->input, 40 * es);
            fill_values(&r, dt, t->input.p, 40);
            one(g, &m, "");
        }
        for (int repr = CNNZ_REPR_HAM; repr <= CNNZ_REPR_SHAM; repr++) {
            snprintf(feat, sizeof feat, "%s-of-%s", cnnz_repr_name(repr), dn);
            t = begin(&m, coder, feat, dt, 2, d6x7, repr);
            uint32_t k = dt == CNNZ_DT_BOOL ? 2 : 8;
            t->d.symbol_dtype = CNNZ_DT_U8;
            t->d.codebook_size = k;
            t->d.block_rows = 2;
            cf_buf_zeros(&t->codebook, k * es);
            if (dt == CNNZ_DT_BOOL) {
                t->codebook.p[1] = 1;
            } else {
                fill_values(&r, dt, t->codebook.p + es, k - 1);
                for (uint32_t j = 1; j < k; j++) /* distinct, none all-zero */
                    t->codebook.p[j * es] = (uint8_t)(t->codebook.p[j * es] | 0x80) ^ (uint8_t)j;
            }
            for (size_t i = 0; i < 42; i++)
                cf_buf_u8(&t->input, cf_unit(&r) < 0.5 ? 0 : cf_below(&r, k));
            snprintf(extra, sizeof extra, ",symbols=u8,codebook=%u", (unsigned)k);
            one(g, &m, extra);
        }
    }
    /* affine into i32 (6.3: rounding ties toward +infinity) */
    for (int symdt = CNNZ_DT_U8; symdt <= CNNZ_DT_U16; symdt += CNNZ_DT_U16 - CNNZ_DT_U8) {
        snprintf(feat, sizeof feat, "affine-i32-%s", cnnz_dtype_name(symdt));
        t = begin(&m, coder, feat, CNNZ_DT_I32, 1, d37, CNNZ_REPR_AFFINE);
        t->d.symbol_dtype = symdt;
        t->d.scale = 0.5;
        t->d.offset = -40.5;
        for (size_t i = 0; i < 37; i++) {
            unsigned q = i < 5 ? (unsigned)i : skewed(&r, 150);
            if (symdt == CNNZ_DT_U8)
                cf_buf_u8(&t->input, q);
            else
                cf_buf_u16(&t->input, q * 3);
        }
        snprintf(extra, sizeof extra, ",symbols=%s", cnnz_dtype_name(symdt));
        one(g, &m, extra);
    }
    /* widen: f16 and bf16 with their special values (6.4) */
    static const uint16_t f16s[] = {0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0xBC00,
                                    0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFFFF, 0x3555};
    static const uint16_t bf16s[] = {0x0000, 0x8000, 0x0001, 0x007F, 0x3F80, 0xBF80, 0x7F7F,
                                     0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0xFFFF, 0x3EAB, 0x0080};
    for (int symdt = CNNZ_DT_F16; symdt <= CNNZ_DT_BF16; symdt++) {
        snprintf(feat, sizeof feat, "widen-%s", cnnz_dtype_name(symdt));
        t = begin(&m, coder, feat, CNNZ_DT_F32, 1, d37, CNNZ_REPR_WIDEN);
        t->d.symbol_dtype = symdt;
        const uint16_t *sp = symdt == CNNZ_DT_F16 ? f16s : bf16s;
        uint8_t v[2];
        for (size_t i = 0; i < 37; i++) {
            if (i < 14)
                cf_put16(v, sp[i]);
            else
                fill_values(&r, symdt, v, 1);
            cf_buf_put(&t->input, v, 2);
        }
        snprintf(extra, sizeof extra, ",symbols=%s,specials", cnnz_dtype_name(symdt));
        one(g, &m, extra);
    }
}

/* ------------------------------------------------------ hand-built streams */

/* A file of one plain tensor of n symbols of width w (u8 or u16) whose one
 * stream is coded by hand. */
static void stream_vector(struct gen *g, const char *name, int coder, const void *params,
                          size_t params_len, const struct cf_buf *coded, const uint32_t *sym,
                          size_t n, unsigned w, const char *features, const char *sections)
{
    struct cf_buf dec = {0};
    for (size_t i = 0; i < n; i++)
        w == 1 ? cf_buf_u8(&dec, sym[i]) : cf_buf_u16(&dec, sym[i]);
    gen_stream_file(g, "valid", name, w, coder, params, params_len, coded->p, coded->n, dec.p,
                    dec.n, features, sections);
    cf_buf_free(&dec);
}

static size_t hex_bytes(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ' || *p == '|') {
            p++;
            continue;
        }
        out[n++] = (uint8_t)strtoul((char[3]){p[0], p[1], 0}, NULL, 16);
        p += 2;
    }
    return n;
}

static void expect_bytes(const char *what, const struct cf_buf *b, const char *hex)
{
    uint8_t want[256];
    size_t n = hex_bytes(hex, want);
    if (b->n != n || memcmp(b->p, want, n))
        cf_die("the spec-only encoder does not reproduce %s", what);
}

/* The spec's worked examples (7.2.7, 7.3.7, 7.4.9, 6.7), byte for byte,
 * and a check that the spec-only encoders reproduce them. */
static void spec_examples(struct gen *g)
{
    uint32_t sym[64];
    uint8_t raw[64];
    struct cf_buf coded = {0};

    /* 7.2.7 */
    size_t n = hex_bytes("7E 81 7C 7E 81 7D 82 7E 81 80 7C 7D 82 7E 81 84", raw);
    for (size_t i = 0; i < n; i++)
        sym[i] = sym[i + n] = raw[i];
    static uint8_t L[256];
    L[0x7E] = L[0x81] = 2;
    L[0x7C] = L[0x7D] = L[0x82] = 3;
    L[0x80] = L[0x84] = 4;
    cf_huf_block_code(&coded, 1, L, sym, n);
    expect_bytes("7.2.7", &coded, "3D 03 F2 3F BA E7 66 03 18 EC F0 D2 E1 03");
    stream_vector(g, "spec-7.2.7-huffman", CNNZ_CODER_HUFFMAN, "\x01", 1, &coded, sym, n, 1,
                  "coder=huffman,example,code-block", "7.2.7");
    cf_huf_block_repeat(&coded, 1, L, sym, n);
    expect_bytes("7.2.7 repeat", &coded,
                 "3D 03 F2 3F BA E7 66 03 18 EC F0 D2 E1 03 3E 18 EC F0 D2 E1 03");
    stream_vector(g, "spec-7.2.7-huffman-repeat", CNNZ_CODER_HUFFMAN, "\x01", 1, &coded, sym,
                  2 * n, 1, "coder=huffman,example,repeat-block", "7.2.7");
    coded.n = 0;
    cf_huf_block_run(&coded, 1, 0x80, 5);
    expect_bytes("7.2.7 run", &coded, "10 80");
    for (size_t i = 0; i < 5; i++)
        sym[i] = 0x80;
    stream_vector(g, "spec-7.2.7-huffman-run", CNNZ_CODER_HUFFMAN, "\x01", 1, &coded, sym, 5, 1,
                  "coder=huffman,example,run-block", "7.2.7");

    /* 7.3.7, example 1 */
    static struct cf_rans_table rt;
    memset(&rt, 0, sizeof rt);
    rt.width = 1;
    rt.scale_bits = 3;
    rt.freq[0x7D] = 1;
    rt.freq[0x7F] = 1;
    rt.freq[0x80] = 5;
    rt.freq[0x81] = 1;
    n = hex_bytes("80 7F 80 81 80 80 7D 80 7F 80 81 80", raw);
    for (size_t i = 0; i < n; i++)
        sym[i] = raw[i];
    coded.n = 0;
    cf_rans_encode(&coded, &rt, sym, n);
    expect_bytes("7.3.7 example 1", &coded, "10 D0 DF 60 16 | 1C 6C 0D 00 | 5F 98");
    stream_vector(g, "spec-7.3.7-rans-1", CNNZ_CODER_RANS, "\x01\x00\x03", 3, &coded, sym, n, 1,
                  "coder=rans,example,lanes=1", "7.3.7");
    /* example 2 */
    memset(&rt, 0, sizeof rt);
    rt.width = 1;
    rt.lanes_log2 = 1;
    rt.scale_bits = 4;
    rt.set_k = 1;
    static const uint32_t pf[9] = {1, 2, 3, 2, 2, 2, 1, 1, 2};
    for (int s = 1; s <= 9; s++)
        rt.freq[s] = pf[s - 1];
    n = hex_bytes("03 01 04 01 05 09 02 06 05 03 05 08 09 07 09 03 02 03 08 04 06 02 06 04", raw);
    for (size_t i = 0; i < n; i++)
        sym[i] = raw[i];
    coded.n = 0;
    cf_rans_encode(&coded, &rt, sym, n);
    expect_bytes("7.3.7 example 2", &coded,
                 "39 05 CA 92 16 | 75 56 15 00 | 00 DA 4B 00 | 09 F2 5F 65 B5 B9 62 2D");
    stream_vector(g, "spec-7.3.7-rans-2", CNNZ_CODER_RANS, "\x01\x01\x04", 3, &coded, sym, n, 1,
                  "coder=rans,example,lanes=2", "7.3.7");

    /* 7.4.9 */
    coded.n = 0;
    cf_buf_put(&coded, "\x19\xC0", 2);
    n = hex_bytes("07 07 08 06 07", raw);
    for (size_t i = 0; i < n; i++)
        sym[i] = raw[i];
    stream_vector(g, "spec-7.4.9-cabac", CNNZ_CODER_CABAC, "\x01\x02\x07\x00\x01\x00", 6, &coded,
                  sym, n, 1, "coder=cabac,example,level,dense", "7.4.9");
    coded.n = 0;
    for (size_t i = 0; i < 4; i++)
        sym[i] = 3;
    stream_vector(g, "spec-7.4.9-cabac-no-bytes", CNNZ_CODER_CABAC, "\x01\x01\x03\x00\x00\x00", 6,
                  &coded, sym, 4, 1, "coder=cabac,example,coded_length=0", "7.4.9");

    /* 6.7: f32 [2, 3], codebook [0, 0.5, -1], block_rows 1 */
    {
        struct cf_file f;
        cf_init(&f);
        static const uint64_t dims[2] = {2, 3};
        struct cf_tensor *t = gen_tensor(
            &f, "spec-6.7-sham", CNNZ_DT_F32, 2, dims, CNNZ_REPR_SHAM,
            "\x06\x00\x00\x00\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00", 16, 5);
        n = hex_bytes("00 00 00 00  00 00 00 3F  00 00 80 BF", raw);
        gen_stream(t, 0, CNNZ_ROLE_CODEBOOK, CNNZ_CODER_RAW, NULL, 0, raw, n, n);
        gen_stream(t, 1, CNNZ_ROLE_RUNS, CNNZ_CODER_RAW, NULL, 0, "\x01", 1, 1);
        gen_stream(t, 2, CNNZ_ROLE_SYMBOLS, CNNZ_CODER_RAW, NULL, 0, "\x02", 1, 1);
        gen_stream(t, 3, CNNZ_ROLE_RUNS, CNNZ_CODER_RAW, NULL, 0, "\x02", 1, 1);
        gen_stream(t, 4, CNNZ_ROLE_SYMBOLS, CNNZ_CODER_RAW, NULL, 0, "\x01", 1, 1);
        uint8_t dec[24];
        n = hex_bytes("00000000 000080BF 00000000 00000000 00000000 0000003F", dec);
        t->xxh = cf_xxh64(dec, n);
        struct cf_expect e = {t->name.p, t->name.n, CNNZ_DT_F32, 2, dims, dec, n};
        cf_serialize(&f, &g->img);
        gen_decode(g, "valid", "spec-6.7-sham", g->img.p, g->img.n, &e, 1,
                   "coder=raw,repr=sham,example", "6.7");
        cf_free(&f);
    }
    cf_buf_free(&coded);
}

/* Huffman streams the writer does not make. */
static void huffman_crafted(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x687566)};
    struct cf_buf coded = {0};
    static uint8_t L[65536];
    static uint32_t sym[8192];

    /* the longest code, w = 1: lengths 1, 2, ..., 10, 11, 11 (LMAX = 11) */
    memset(L, 0, 256);
    uint32_t present[20];
    for (unsigned i = 0; i < 12; i++) {
        present[i] = 0x10 + 7 * i;
        L[present[i]] = (uint8_t)(i < 11 ? i + 1 : 11);
    }
    size_t n = 600;
    for (size_t i = 0; i < n; i++)
        sym[i] = present[i < 12 ? i : skewed(&r, 12)];
    cf_huf_block_code(&coded, 1, L, sym, n);
    stream_vector(g, "huffman-longest-code-u8", CNNZ_CODER_HUFFMAN, "\x01", 1, &coded, sym, n, 1,
                  "coder=huffman,LMAX=11", "7.2.3");

    /* w = 2: lengths 1 .. 17, 18, 18 spread over the alphabet, 4 bitstreams */
    memset(L, 0, sizeof L);
    for (unsigned i = 0; i < 19; i++) {
        present[i] = 1 + 3449 * i;
        L[present[i]] = (uint8_t)(i < 18 ? i + 1 : 18);
    }
    n = 3001;
    for (size_t i = 0; i < n; i++)
        sym[i] = present[i < 19 ? i : skewed(&r, 19)];
    coded.n = 0;
    cf_huf_block_code(&coded, 2, L, sym, n);
    stream_vector(g, "huffman-longest-code-u16-4-streams", CNNZ_CODER_HUFFMAN, "\x02", 1, &coded,
                  sym, n, 2, "coder=huffman,LMAX=18,jump-table", "7.2.3,7.2.5");

    /* w = 2: symbols 0 and 65535 only: a skip of 65534 (gamma k = 15) */
    memset(L, 0, sizeof L);
    L[0] = L[65535] = 1;
    n = 40;
    for (size_t i = 0; i < n; i++)
        sym[i] = cf_unit(&r) < 0.5 ? 0 : 65535;
    coded.n = 0;
    cf_huf_block_code(&coded, 2, L, sym, n);
    stream_vector(g, "huffman-u16-skip-65534", CNNZ_CODER_HUFFMAN, "\x02", 1, &coded, sym, n, 2,
                  "coder=huffman,gamma-k=15", "7.2.3");

    /* a literal run (v = 0) gives the lengths of a run of symbols */
    memset(L, 0, 256);
    for (unsigned s = 0x41; s <= 0x44; s++)
        L[s] = 2;
    coded.n = 0;
    n = 30;
    for (size_t i = 0; i < n; i++)
        sym[i] = 0x41 + cf_below(&r, 4);
    cf_buf_varint(&coded, (n - 1) * 4 + 1);
    struct cf_bits w;
    cf_bits_init(&w, &coded);
    cf_huf_skip(&w, 0x41);
    cf_huf_literal(&w, 1, 2);
    cf_huf_literal(&w, 1, 0);
    cf_huf_gamma(&w, 3);
    cf_bits_flush(&w);
    uint32_t codes[256];
    cf_huf_codes(1, L, codes);
    cf_huf_bitstream(&coded, L, codes, sym, n);
    stream_vector(g, "huffman-literal-run", CNNZ_CODER_HUFFMAN, "\x01", 1, &coded, sym, n, 1,
                  "coder=huffman,literal-run-token", "7.2.3");

    /* blocks of every type; a repeat takes the closest code before it */
    memset(L, 0, 256);
    static uint8_t L2[256];
    memset(L2, 0, sizeof L2);
    L[1] = 1;
    L[2] = 2;
    L[3] = 2;
    for (unsigned s = 0; s < 16; s++)
        L2[0x80 + s] = 4;
    coded.n = 0;
    size_t at = 0;
    cf_huf_block_run(&coded, 1, 0, 100);
    for (size_t i = 0; i < 100; i++)
        sym[at++] = 0;
    for (size_t i = 0; i < 50; i++)
        sym[at + i] = 1 + skewed(&r, 3);
    cf_huf_block_code(&coded, 1, L, sym + at, 50);
    at += 50;
    for (size_t i = 0; i < 1100; i++)
        sym[at + i] = 1 + skewed(&r, 3);
    cf_huf_block_repeat(&coded, 1, L, sym + at, 1100);
    at += 1100;
    for (size_t i = 0; i < 70; i++)
        sym[at + i] = 0x80 + cf_below(&r, 16);
    cf_huf_block_code(&coded, 1, L2, sym + at, 70);
    at += 70;
    cf_huf_block_run(&coded, 1, 0xFF, 3);
    for (size_t i = 0; i < 3; i++)
        sym[at++] = 0xFF;
    for (size_t i = 0; i < 20; i++)
        sym[at + i] = 0x80 + cf_below(&r, 16);
    cf_huf_block_repeat(&coded, 1, L2, sym + at, 20);
    at += 20;
    stream_vector(g, "huffman-blocks-mixed", CNNZ_CODER_HUFFMAN, "\x01", 1, &coded, sym, at, 1,
                  "coder=huffman,run,code,repeat,two-codes", "7.2.2");
    cf_buf_free(&coded);
}

/* rANS streams the writer does not make. */
static void rans_crafted(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x72616E73)};
    struct cf_buf coded = {0};
    static struct cf_rans_table t;
    static uint32_t sym[5000];
    static uint32_t count[65536];

    /* w = 2, 32 lanes, M = 2^16, delta frequencies */
    memset(&t, 0, sizeof t);
    memset(count, 0, sizeof count);
    t.width = 2;
    t.lanes_log2 = 5;
    t.scale_bits = 16;
    t.set_k = 2;
    t.freq_mode = 1;
    t.freq_k = 4;
    size_t n = 5000;
    for (size_t i = 0; i < n; i++) {
        sym[i] = 30000 + skewed(&r, 120) * 5 + (cf_unit(&r) < 0.3);
        count[sym[i]]++;
    }
    uint64_t sum = 0;
    uint32_t top = 0;
    for (uint32_t s = 0; s < 65536; s++) {
        if (!count[s])
            continue;
        t.freq[s] = (uint32_t)(count[s] * 65536u / n);
        if (!t.freq[s])
            t.freq[s] = 1;
        sum += t.freq[s];
        if (count[s] > count[top])
            top = s;
    }
    t.freq[top] = (uint32_t)(t.freq[top] + 65536 - sum);
    cf_rans_encode(&coded, &t, sym, n);
    stream_vector(g, "rans-u16-32-lanes-scale-16", CNNZ_CODER_RANS, "\x02\x05\x10", 3, &coded, sym,
                  n, 2, "coder=rans,lanes=32,scale_bits=16,freq_mode=delta", "7.3");

    /* 8 lanes for 3 symbols: idle lanes keep the state L */
    memset(&t, 0, sizeof t);
    t.width = 1;
    t.lanes_log2 = 3;
    t.scale_bits = 2;
    t.freq[0x10] = 3;
    t.freq[0x20] = 1;
    sym[0] = 0x10;
    sym[1] = 0x20;
    sym[2] = 0x10;
    coded.n = 0;
    cf_rans_encode(&coded, &t, sym, 3);
    stream_vector(g, "rans-idle-lanes", CNNZ_CODER_RANS, "\x01\x03\x02", 3, &coded, sym, 3, 1,
                  "coder=rans,lanes=8,symbols=3", "7.3.5");

    /* scale_bits 1: two symbols of frequency 1 */
    memset(&t, 0, sizeof t);
    t.width = 1;
    t.scale_bits = 1;
    t.freq[0] = 1;
    t.freq[255] = 1;
    for (size_t i = 0; i < 100; i++)
        sym[i] = cf_unit(&r) < 0.5 ? 0 : 255;
    coded.n = 0;
    cf_rans_encode(&coded, &t, sym, 100);
    stream_vector(g, "rans-scale-1", CNNZ_CODER_RANS, "\x01\x00\x01", 3, &coded, sym, 100, 1,
                  "coder=rans,scale_bits=1", "7.3.4");

    /* one-symbol streams (7.3.2), w = 1 and 2 */
    for (unsigned w = 1; w <= 2; w++) {
        coded.n = 0;
        uint32_t s = w == 1 ? 0xA5 : 0xBEEF;
        w == 1 ? cf_buf_u8(&coded, s) : cf_buf_u16(&coded, s);
        for (size_t i = 0; i < 77; i++)
            sym[i] = s;
        uint8_t params[3] = {(uint8_t)w, 0, 0};
        stream_vector(g, w == 1 ? "rans-one-symbol-u8" : "rans-one-symbol-u16", CNNZ_CODER_RANS,
                      params, 3, &coded, sym, 77, w, "coder=rans,kind=one-symbol", "7.3.2");
    }
    cf_buf_free(&coded);
}

/* ------------------------------------------------------ whole-file features */

static uint64_t dims1[1];

static struct cf_wtensor *small(struct cf_wmodel *m, const char *name, int dtype, uint64_t n,
                                int repr, int coder, struct cf_rng *r)
{
    dims1[0] = n;
    struct cf_wtensor *t = cf_wadd(m, name, strlen(name), dtype, 1, dims1, repr, coder);
    cf_buf_zeros(&t->input, (size_t)n * cnnz_dtype_size(dtype));
    fill_values(r, dtype, t->input.p, (size_t)n);
    return t;
}

/* Several tensors in one file (spec 4, 5.1, 5.3): small tensors share a TDAT
 * section, a large raw one (>= 64 KiB) gets its own between them, names
 * share prefixes with the name before them (and one does not), the large
 * stream is 64-byte aligned and the small raw ones 8-byte aligned. */
static void sections_runs(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x5345435449) /* "SECTI" */};
    static const uint64_t d64[1] = {64}, d16[1] = {16}, d70k[1] = {70000}, d200[2] = {10, 20},
                          d3[1] = {3};
    struct cf_wmodel m = {0};
    struct cf_wtensor *t[7];
    t[0] = cf_wadd(&m, "block.0.conv.weight", 19, CNNZ_DT_F32, 1, d64, CNNZ_REPR_PLAIN,
                   CNNZ_CODER_HUFFMAN);
    t[1] = cf_wadd(&m, "block.0.conv.bias", 17, CNNZ_DT_F32, 1, d16, CNNZ_REPR_PLAIN,
                   CNNZ_CODER_RAW);
    t[2] = cf_wadd(&m, "block.0.bn.eps", 14, CNNZ_DT_F32, 0, NULL, CNNZ_REPR_PLAIN,
                   CNNZ_CODER_RAW);
    t[3] = cf_wadd(&m, "big.weight", 10, CNNZ_DT_U8, 1, d70k, CNNZ_REPR_PLAIN, CNNZ_CODER_RAW);
    t[4] = cf_wadd(&m, "block.1.conv.weight", 19, CNNZ_DT_F32, 2, d200, CNNZ_REPR_AFFINE,
                   CNNZ_CODER_CABAC);
    t[5] = cf_wadd(&m, "block.1.conv.bias", 17, CNNZ_DT_U8, 1, d3, CNNZ_REPR_PLAIN,
                   CNNZ_CODER_RAW);
    t[6] = cf_wadd(&m, "\xc3\xa9t\xc3\xa9", 5, CNNZ_DT_U8, 1, d3, CNNZ_REPR_PLAIN,
                   CNNZ_CODER_RAW);
    for (int i = 0; i < 7; i++) /* cf_wadd moves the array */
        t[i] = &m.t[i];
    uint8_t p[4];
    for (size_t i = 0; i < 64; i++) {
        put_f32(p, (float)(cf_normal(&r) * 0.05));
        cf_buf_put(&t[0]->input, p, 4);
    }
    for (size_t i = 0; i < 16; i++) {
        put_f32(p, (float)(cf_normal(&r) * 0.01));
        cf_buf_put(&t[1]->input, p, 4);
    }
    put_f32(p, 0.75f);
    cf_buf_put(&t[2]->input, p, 4);
    for (size_t i = 0; i < 70000; i++)
        cf_buf_u8(&t[3]->input, (unsigned)cf_next(&r));
    t[4]->d.symbol_dtype = CNNZ_DT_U8;
    t[4]->d.scale = 0.015625;
    t[4]->d.offset = -2.0;
    for (size_t i = 0; i < 200; i++)
        cf_buf_u8(&t[4]->input, (unsigned)(128 + (int)(cf_normal(&r) * 6)));
    cf_buf_put(&t[5]->input, "\x01\x00\xff", 3);
    cf_buf_put(&t[6]->input, "\x01\x00\xff", 3);
    for (int i = 0; i < 7; i++)
        cf_wexpect(t[i]);
    gen_decode_w(g, "valid", "sections-runs", &m, "tensors=7,sections=3,align=8,align=64,name=utf8",
                 "4,5.1,5.3");
    cf_wfree(&m);
}

/* The file of spec Appendix A, byte for byte. */
static void appendix_a(struct gen *g)
{
    static const char hex[] =
        "89434e5a0d0a1a0a0100000000000000" "00000000000000000000000000000000"
        "00000000000000000000000000000000" "000000000000000090b738ef87f42576"
        "5444415401000000 0b00000000000000" "010203a5e54e0cee133e740000000000"
        "4d455441000000002200000000000000" "0100000000000000 08007072 6f647563"
        "657201000200000065780084fdb95321" "63410000000000005444495201000000"
        "60000000000000000100000002000000" "00000000000000004000000000000000"
        "0b000000000000005444415401000000" "60000000000000002200000000000000"
        "4d4554410000000000017706 01000100" "a5e54e0cee133e740300000000000303"
        "cf6216f811a8a99a9800000000000000" "0000000000000000a2e552f61703a88a"
        "434e5a454e440d0a";
    uint8_t img[296];
    size_t n = 0;
    for (const char *p = hex; *p; p++) {
        if (*p == ' ')
            continue;
        img[n++] = (uint8_t)strtoul((char[3]){p[0], p[1], 0}, NULL, 16);
        p++;
    }
    if (n != sizeof img)
        cf_die("appendix A: %zu bytes", n);
    static const uint64_t d3[1] = {3};
    struct cf_expect e = {(const uint8_t *)"w", 1, CNNZ_DT_U8, 1, d3, (const uint8_t *)"\1\2\3", 3};
    gen_decode(g, "valid", "appendix-a", img, n, &e, 1, "coder=raw,repr=plain,dtype=u8,metadata",
               "A");
}

static void names(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x6E616D6573)};
    struct cf_wmodel m = {0};
    /* every script, 4-byte characters, separators, spaces, tab and newline */
    static const char *const ns[] = {
        "conv1/weight",
        "conv1/bias",
        "\xe5\x8d\xb7\xe7\xa7\xaf\xe5\xb1\x82.\xe6\x9d\x83\xe9\x87\x8d",       /* 卷积层.权重 */
        "\xd1\x81\xd0\xbb\xd0\xbe\xd0\xb9 1",                                  /* слой 1 */
        "\xce\xb2\xce\xac\xcf\x81\xce\xbf\xcf\x82",                           /* βάρος */
        "\xd9\x88\xd8\xb2\xd9\x86",                                           /* وزن */
        "\xf0\x9f\xa7\xa0\xf0\x9f\x94\xa5.w",                                 /* 🧠🔥.w */
        "e\xcc\x81",                                                          /* e + combining acute */
        "\xc3\xa9",                                                           /* é precomposed */
        "with space, comma; and %25 percent",
        "tab\there\nnewline",
        ".",
        "..",
        "\xef\xbf\xbf\xf4\x8f\xbf\xbf",                                       /* U+FFFF U+10FFFF */
    };
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        struct cf_wtensor *t = small(&m, ns[i], CNNZ_DT_U8, 1 + i, CNNZ_REPR_PLAIN,
                                     CNNZ_CODER_RAW, &r);
        cf_wexpect(t);
    }
    gen_decode_w(g, "valid", "names-unicode", &m, "name=utf8,name=separators,name=controls",
                 "5.3,5.5");
    /* the same file with name_shared 0 everywhere, and with shorter shares */
    struct cf_file f;
    gen_base(&m, &f);
    for (size_t j = 0; j < f.nt; j++)
        f.t[j].shared = 0;
    gen_decode_f(g, "valid", "names-shared-none", &f, &m, "name_shared=0", "5.3");
    cf_free(&f);
    cf_wfree(&m);

    struct cf_wmodel m2 = {0};
    static const char *const pre[] = {"model.layers.0.attn.q.weight", "model.layers.0.attn.q.bias",
                                      "model.layers.0.attn.k.weight", "model.layers.0.attn",
                                      "model.layers.0.attn.k", "model.layers.10.mlp"};
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
        cf_wexpect(small(&m2, pre[i], CNNZ_DT_F32, 3, CNNZ_REPR_PLAIN, CNNZ_CODER_RAW, &r));
    gen_decode_w(g, "valid", "names-front-coded", &m2, "name_shared,prefix-of-previous", "5.3");
    gen_base(&m2, &f);
    for (size_t j = 1; j < f.nt; j++)
        f.t[j].shared = (long)(j % 3 == 0 ? 1 : j % 3 == 1 ? 6 : 0);
    gen_decode_f(g, "valid", "names-shared-partial", &f, &m2, "name_shared<common-prefix", "5.3");
    cf_free(&f);
    cf_wfree(&m2);

    /* the longest names: 4096 bytes, ASCII and 4-byte UTF-8 */
    struct cf_wmodel m3 = {0};
    struct cf_buf nm = {0};
    for (int i = 0; i < 4096; i++)
        cf_buf_u8(&nm, 'a' + i % 26);
    cf_wexpect(small(&m3, "x", CNNZ_DT_U8, 2, CNNZ_REPR_PLAIN, CNNZ_CODER_RAW, &r));
    m3.t[0].name.n = 0;
    cf_buf_put(&m3.t[0].name, nm.p, nm.n);
    nm.n = 0;
    for (int i = 0; i < 1024; i++)
        cf_buf_put(&nm, "\xf0\x9f\x98\x80", 4); /* U+1F600 */
    cf_wexpect(small(&m3, "y", CNNZ_DT_U8, 3, CNNZ_REPR_PLAIN, CNNZ_CODER_RAW, &r));
    m3.t[1].name.n = 0;
    cf_buf_put(&m3.t[1].name, nm.p, nm.n);
    gen_decode_w(g, "valid", "names-4096-bytes", &m3, "name_length=4096", "5.3,8");
    cf_buf_free(&nm);
    cf_wfree(&m3);
}

static void metadata_and_sections(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x6D657461)};
    struct cf_wmodel m = {0};
    cf_wexpect(small(&m, "w", CNNZ_DT_F32, 10, CNNZ_REPR_PLAIN, CNNZ_CODER_HUFFMAN, &r));
    struct cf_wmeta *e = cf_wmeta_add(&m, "producer", CNNZ_META_STRING);
    cf_buf_str(&e->value, "cnnz-gen-vectors");
    e = cf_wmeta_add(&m, "model.name", CNNZ_META_STRING);
    cf_buf_str(&e->value, "\xe2\x88\x80 models");
    e = cf_wmeta_add(&m, "empty.string", CNNZ_META_STRING);
    e = cf_wmeta_add(&m, "int.min", CNNZ_META_INT);
    e->i = INT64_MIN;
    e = cf_wmeta_add(&m, "int.max", CNNZ_META_INT);
    e->i = INT64_MAX;
    e = cf_wmeta_add(&m, "float.pi", CNNZ_META_FLOAT);
    e->f = 3.141592653589793;
    e = cf_wmeta_add(&m, "float.nan", CNNZ_META_FLOAT);
    e->f = NAN;
    e = cf_wmeta_add(&m, "float.-inf", CNNZ_META_FLOAT);
    e->f = -INFINITY;
    e = cf_wmeta_add(&m, "bool.true", CNNZ_META_BOOL);
    e->i = 1;
    e = cf_wmeta_add(&m, "bool.false", CNNZ_META_BOOL);
    e = cf_wmeta_add(&m, "bytes", CNNZ_META_BYTES);
    cf_buf_put(&e->value, "\0\xff\x00\x01", 4);
    e = cf_wmeta_add(&m, "bytes.empty", CNNZ_META_BYTES);
    gen_decode_w(g, "valid", "metadata-every-type", &m, "metadata=string,int,float,bool,bytes",
                 "5.4");

    /* META with no entry */
    struct cf_file f;
    gen_base(&m, &f);
    struct cf_meta none = {0};
    struct cf_buf body = {0};
    cf_meta_body(&none, 0, 0, &body);
    cf_set_meta(&f, &body);
    gen_decode_f(g, "valid", "metadata-empty", &f, &m, "metadata=entry_count-0", "5.4");
    /* META before the TDAT */
    cf_remove_section(&f, (size_t)cf_find_section(&f, "META"));
    cf_insert_section(&f, 0, "META", 0, body.p, body.n);
    gen_decode_f(g, "valid", "metadata-first", &f, &m, "metadata=before-tdat", "3.2,5.1");
    cf_free(&f);

    /* unknown skippable sections: first, between, last, with junk bodies */
    gen_base(&m, &f);
    uint8_t junk[77];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 1);
    cf_insert_section(&f, 0, "XTRA", 0, junk, 13);
    cf_insert_section(&f, 2, "zz\x00\xff", 0, junk, 0);
    cf_insert_section(&f, f.nsec, "note", 0, junk, 77);
    gen_decode_f(g, "valid", "sections-unknown-skippable", &f, &m,
                 "unknown-section,not-critical,binary-tag", "3.2");
    cf_free(&f);

    /* newer minor versions, reserved fields zero */
    static const unsigned minors[] = {1, 65535};
    for (int i = 0; i < 2; i++) {
        gen_base(&m, &f);
        cf_set_minor(&f, minors[i]);
        char name[64];
        snprintf(name, sizeof name, "version-1.%u", minors[i]);
        gen_decode_f(g, "valid", name, &f, &m, "newer-minor", "2");
        cf_free(&f);
    }
    cf_buf_free(&body);
    cf_wfree(&m);

    /* no tensors: the smallest file; and metadata only */
    struct cf_wmodel empty = {0};
    gen_decode_w(g, "valid", "no-tensors", &empty, "tensors=0,136-bytes", "3.5");
    e = cf_wmeta_add(&empty, "producer", CNNZ_META_STRING);
    cf_buf_str(&e->value, "x");
    gen_decode_w(g, "valid", "no-tensors-metadata", &empty, "tensors=0,metadata", "3.5,5.4");
    cf_wfree(&empty);
}

/* A CABAC stream of two lanes (7.4.6): the writer gives dense u8 streams of
 * 65536 symbols or more two. */
static void cabac_lanes(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x6C616E6573)};
    static const uint64_t d[2] = {256, 256};
    /* dense level binarization wins over sparse on smooth, wide data */
    for (int recipe = 0; recipe < 4; recipe++) {
        struct cf_wmodel m = {0};
        struct cf_wtensor *t = cf_wadd(&m, "cabac-two-lanes", 15, CNNZ_DT_U8, 2, d,
                                       CNNZ_REPR_PLAIN, CNNZ_CODER_CABAC);
        for (size_t i = 0; i < 65536; i++) {
            unsigned v = recipe == 0   ? (unsigned)(i % 256 + i / 256) / 2
                         : recipe == 1 ? (unsigned)(i % 256) ^ (unsigned)(i / 256)
                         : recipe == 2 ? (unsigned)(128 + (int)(cf_normal(&r) * 60))
                                       : 1 + cf_below(&r, 254);
            cf_buf_u8(&t->input, v & 255);
        }
        cf_wexpect(t);
        struct cf_file f;
        gen_base(&m, &f);
        const struct cf_stream *s0 = &f.t[0].s[0];
        if (s0->coder == CNNZ_CODER_CABAC && ((s0->params.p[0] >> 4) & 3) == 1) {
            gen_decode_f(g, "valid", "cabac-two-lanes", &f, &m,
                         "coder=cabac,repr=plain,dtype=u8,lanes=2", "7.4.6");
            cf_free(&f);
            cf_wfree(&m);
            return;
        }
        cf_free(&f);
        cf_wfree(&m);
    }
    cf_die("valid: the writer codes no cabac-two-lanes candidate with two lanes");
}

/* Raw payload alignment (spec 4): raw streams of 1023, 1024 and 1025 bytes
 * after odd-length entropy-coded ones, and a 1024-element f32 tensor. */
static void alignment(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x616C69676E)};
    struct cf_wmodel m = {0};
    static const uint64_t sizes[] = {5, 1023, 7, 1024, 3, 1025, 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%zu", i);
        int coder = i % 2 == 0 ? CNNZ_CODER_HUFFMAN : CNNZ_CODER_RAW;
        struct cf_wtensor *t = small(&m, name, CNNZ_DT_U8, sizes[i], CNNZ_REPR_PLAIN, coder, &r);
        for (size_t k = 0; k < t->input.n; k++)
            t->input.p[k] = (uint8_t)(1 + cf_below(&r, 3));
        cf_wexpect(t);
    }
    cf_wexpect(small(&m, "f32.1024", CNNZ_DT_F32, 1024, CNNZ_REPR_PLAIN, CNNZ_CODER_RAW, &r));
    gen_decode_w(g, "valid", "raw-alignment", &m, "align=8,align=64", "4");
    cf_wfree(&m);
}

/* Shapes: rank 32, zero dims, and legal value corner cases. */
static void shapes_and_values(struct gen *g)
{
    struct cf_rng r = {UINT64_C(0x7368617065)};
    struct cf_wmodel m = {0};
    uint64_t d[32];
    for (int i = 0; i < 32; i++)
        d[i] = i % 7 == 3 ? 2 : 1;
    struct cf_wtensor *t = cf_wadd(&m, "rank32", 6, CNNZ_DT_F32, 32, d, CNNZ_REPR_PLAIN,
                                   CNNZ_CODER_RANS);
    cf_buf_zeros(&t->input, (size_t)cf_welements(t) * 4);
    fill_values(&r, CNNZ_DT_F32, t->input.p, (size_t)cf_welements(t));
    cf_wexpect(t);
    gen_decode_w(g, "valid", "rank-32", &m, "rank=32", "5.3,8");
    cf_wfree(&m);

    /* affine: f32 overflowing to infinity, i32 ties toward +infinity */
    static const uint64_t d4[1] = {4};
    t = cf_wadd(&m, "affine-inf", 10, CNNZ_DT_F32, 1, d4, CNNZ_REPR_AFFINE, CNNZ_CODER_RAW);
    t->d.symbol_dtype = CNNZ_DT_U8;
    t->d.scale = 1e300;
    t->d.offset = -1e300;
    cf_buf_put(&t->input, "\x00\x01\x02\x03", 4);
    cf_wexpect(t);
    t = cf_wadd(&m, "affine-i32-ties", 15, CNNZ_DT_I32, 1, d4, CNNZ_REPR_AFFINE, CNNZ_CODER_RAW);
    t->d.symbol_dtype = CNNZ_DT_U8;
    t->d.scale = 1.0;
    t->d.offset = -2.5;
    cf_buf_put(&t->input, "\x00\x01\x04\x05", 4); /* -2.5 -1.5 1.5 2.5 -> -2 -1 2 3 */
    cf_wexpect(t);
    gen_decode_w(g, "valid", "affine-rounding", &m, "affine=overflow-to-inf,i32=ties-up", "6.3");
    cf_wfree(&m);

    /* a bool ham codebook with an unused entry 2 (6.6: only used entries
     * must be 0 or 1) */
    static const uint64_t d6[1] = {6};
    t = cf_wadd(&m, "flags", 5, CNNZ_DT_BOOL, 1, d6, CNNZ_REPR_HAM, CNNZ_CODER_RAW);
    t->d.symbol_dtype = CNNZ_DT_U8;
    t->d.codebook_size = 3;
    cf_buf_put(&t->codebook, "\x00\x01\x01", 3);
    cf_buf_put(&t->input, "\x00\x01\x01\x00\x00\x01", 6);
    cf_wexpect(t);
    struct cf_file f;
    gen_base(&m, &f);
    f.t[0].s[0].data.p[2] = 2;
    gen_decode_f(g, "valid", "ham-bool-unused-entry", &f, &m, "ham,dtype=bool,unused-entry=2",
                 "6.6");
    cf_free(&f);
    cf_wfree(&m);
}

/* sham by hand: a stored element that indexes a zero entry, runs of 255 and
 * more, an empty block, and a last run ending the block exactly. */
static void sham_crafted(struct gen *g)
{
    struct cf_file f;
    cf_init(&f);
    static const uint64_t dims[2] = {3, 300};
    uint8_t rp[16] = {CNNZ_DT_U8, 0, 0, 0, 3, 0, 0, 0, 1};
    struct cf_tensor *t = gen_tensor(&f, "sham-by-hand", CNNZ_DT_F32, 2, dims, CNNZ_REPR_SHAM,
                                     rp, 16, 7);
    uint8_t cb[12];
    put_f32(cb, 0.0f);
    put_f32(cb + 4, 0.25f);
    put_f32(cb + 8, -0.0f);
    gen_stream(t, 0, CNNZ_ROLE_CODEBOOK, CNNZ_CODER_RAW, NULL, 0, cb, 12, 12);
    static uint8_t dec[900 * 4];
    memset(dec, 0, sizeof dec);
    /* block 0: element 0 stores entry 0 (zero), element 299 entry 1 */
    gen_stream(t, 1, CNNZ_ROLE_RUNS, CNNZ_CODER_RAW, NULL, 0, "\x00\xff\x2b", 3, 3);
    gen_stream(t, 2, CNNZ_ROLE_SYMBOLS, CNNZ_CODER_RAW, NULL, 0, "\x00\x01", 2, 2);
    memcpy(dec + 299 * 4, cb + 4, 4);
    /* block 1: nothing stored */
    gen_stream(t, 3, CNNZ_ROLE_RUNS, CNNZ_CODER_RAW, NULL, 0, NULL, 0, 0);
    gen_stream(t, 4, CNNZ_ROLE_SYMBOLS, CNNZ_CODER_RAW, NULL, 0, NULL, 0, 0);
    /* block 2: element 255 stores -0.0 (entry 2: not all-zero bytes) */
    gen_stream(t, 5, CNNZ_ROLE_RUNS, CNNZ_CODER_RAW, NULL, 0, "\xff\x00", 2, 2);
    gen_stream(t, 6, CNNZ_ROLE_SYMBOLS, CNNZ_CODER_RAW, NULL, 0, "\x02", 1, 1);
    memcpy(dec + (600 + 255) * 4, cb + 8, 4);
    t->xxh = cf_xxh64(dec, sizeof dec);
    struct cf_expect e = {t->name.p, t->name.n, CNNZ_DT_F32, 2, dims, dec, sizeof dec};
    cf_serialize(&f, &g->img);
    gen_decode(g, "valid", "sham-by-hand", g->img.p, g->img.n, &e, 1,
               "repr=sham,stored-zero,run=255,empty-block,minus-zero", "6.7");
    cf_free(&f);
}

void gen_valid(struct gen *g)
{
    appendix_a(g);
    for (int c = 0; c < 256; c++)
        if (cnnz_coder_name(c))
            coder_edge_cases(g, c);
    sections_runs(g);
    for (int c = 0; c < 256; c++)
        if (cnnz_coder_name(c))
            coder_dtypes(g, c);
    spec_examples(g);
    huffman_crafted(g);
    rans_crafted(g);
    sham_crafted(g);
    names(g);
    metadata_and_sections(g);
    alignment(g);
    cabac_lanes(g);
    shapes_and_values(g);
}
