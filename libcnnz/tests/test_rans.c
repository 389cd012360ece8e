/* Suite rans: the coder `rans` (spec 7.3) through the coder interface.
 *
 * The suite carries its own encoder and decoder of the format, written from
 * spec/drafts/rans.md alone (plain division, one symbol at a time, no
 * shortcuts): the library's decoder must agree with it on every input,
 * valid or not (same verdict, same output), and the library's encoder must
 * produce exactly the bytes the reference makes from the same choices
 * (lanes, scale, frequencies, table codes). Both decoder paths of the
 * library (portable and vector) are run on everything. */
#include <stdlib.h>
#include <string.h>

#include "coder_tests.h"

/* coder_rans.c's test hook: simd 0 keeps to the portable code. */
int cnnz__rans_decode_with(int simd, const struct cnnz__alloc *a, unsigned version,
                           const uint8_t *params, size_t params_len, const uint8_t *src,
                           size_t src_len, uint8_t *dst, size_t dst_len);

#define RL (UINT32_C(1) << 16) /* spec 7.3: L */

static const struct cnnz__coder *rans(void)
{
    return coder_of(CNNZ_CODER_RANS);
}


/* ================================================ reference (spec only) */

/* Bits, least significant first (spec 7.0). */
struct bits {
    uint8_t *w;       /* writing */
    const uint8_t *r; /* reading */
    size_t len;       /* bytes */
    size_t pos;       /* bits */
};

static void bput(struct bits *b, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, b->pos++) {
        ck_assert_uint_lt(b->pos / 8, b->len);
        if ((v >> i) & 1)
            b->w[b->pos / 8] |= (uint8_t)(1u << (b->pos % 8));
    }
}

/* 0 when a bit past the end would be needed. */
static int bget(struct bits *b, unsigned n, uint64_t *v)
{
    *v = 0;
    for (unsigned i = 0; i < n; i++, b->pos++) {
        if (b->pos / 8 >= b->len)
            return 0;
        *v |= (uint64_t)((b->r[b->pos / 8] >> (b->pos % 8)) & 1) << i;
    }
    return 1;
}

static unsigned floor_log2(uint64_t u)
{
    unsigned m = 0;
    while (u >> (m + 1))
        m++;
    return m;
}

static void eg_write(struct bits *b, uint64_t v, unsigned k)
{
    uint64_t u = v + ((uint64_t)1 << k);
    unsigned m = floor_log2(u);
    bput(b, 0, m - k);
    bput(b, 1, 1);
    bput(b, u - ((uint64_t)1 << m), m);
}

/* 0: ok; -1: more than 24 zero bits or past the end. */
static int eg_read(struct bits *b, unsigned k, uint64_t *v)
{
    unsigned z = 0;
    uint64_t bit;
    for (;;) {
        if (!bget(b, 1, &bit))
            return -1;
        if (bit)
            break;
        if (++z > 24)
            return -1;
    }
    uint64_t t;
    if (!bget(b, z + k, &t))
        return -1;
    *v = ((uint64_t)1 << (z + k)) + t - ((uint64_t)1 << k);
    return 0;
}

/* A frequency table and how it is written (spec 7.3.4). */
struct rtab {
    unsigned width, scale_bits, set_k, freq_mode, freq_k;
    uint32_t *freq; /* per symbol value, 0 = absent */
};

static uint32_t alphabet(unsigned width)
{
    return width == 1 ? 256u : 65536u;
}

static void rtab_init(struct rtab *t, unsigned width)
{
    memset(t, 0, sizeof *t);
    t->width = width;
    t->freq = calloc(alphabet(width), sizeof *t->freq);
    ck_assert_ptr_nonnull(t->freq);
}

static void rtab_free(struct rtab *t)
{
    free(t->freq);
}

static uint64_t unfold_inverse(int64_t d)
{
    return d >= 0 ? (uint64_t)d * 2 : (uint64_t)(-d) * 2 - 1;
}

/* Write the table's bits into b (spec 7.3.4), padding included. */
static void rtab_write(const struct rtab *t, struct bits *b)
{
    const uint32_t A = alphabet(t->width);
    bput(b, t->set_k, 3);
    uint32_t runs = 0;
    for (uint32_t s = 0; s < A; s++)
        if (t->freq[s] && (s == 0 || !t->freq[s - 1]))
            runs++;
    eg_write(b, runs - 1, 0);
    uint32_t next = 0;
    for (uint32_t s = 0; s < A;) {
        if (!t->freq[s]) {
            s++;
            continue;
        }
        uint32_t e = s;
        while (e + 1 < A && t->freq[e + 1])
            e++;
        eg_write(b, s - next, t->set_k);
        eg_write(b, e - s, t->set_k);
        next = e + 2;
        s = e + 1;
    }
    bput(b, t->freq_mode, 1);
    bput(b, t->freq_k, 4);
    int64_t prev = 0;
    for (uint32_t s = 0; s < A; s++) {
        if (!t->freq[s])
            continue;
        uint64_t code = t->freq_mode ? unfold_inverse((int64_t)t->freq[s] - prev)
                                     : (uint64_t)t->freq[s] - 1;
        eg_write(b, code, t->freq_k);
        prev = t->freq[s];
    }
    b->pos = (b->pos + 7) / 8 * 8;
}

/* Spec 7.3.4 read; CNNZ_OK and *used = table bytes, or CNNZ_E_CORRUPT. */
static int rtab_read(struct rtab *t, const uint8_t *c, size_t clen, size_t *used)
{
    const uint32_t A = alphabet(t->width), M = UINT32_C(1) << t->scale_bits;
    struct bits b = {NULL, c, clen, 0};
    uint64_t v, runs, gap, len;
    memset(t->freq, 0, A * sizeof *t->freq);
    if (!bget(&b, 3, &v))
        return CNNZ_E_CORRUPT;
    t->set_k = (unsigned)v;
    if (eg_read(&b, 0, &runs))
        return CNNZ_E_CORRUPT;
    runs++;
    uint64_t next = 0, count = 0;
    for (uint64_t r = 0; r < runs; r++) {
        if (eg_read(&b, t->set_k, &gap) || eg_read(&b, t->set_k, &len))
            return CNNZ_E_CORRUPT;
        uint64_t start = next + gap;
        len++;
        if (start + len > A)
            return CNNZ_E_CORRUPT;
        for (uint64_t s = start; s < start + len; s++)
            t->freq[s] = 1; /* present, for now */
        count += len;
        next = start + len + 1;
    }
    if (count < 2)
        return CNNZ_E_CORRUPT;
    if (!bget(&b, 1, &v))
        return CNNZ_E_CORRUPT;
    t->freq_mode = (unsigned)v;
    if (!bget(&b, 4, &v))
        return CNNZ_E_CORRUPT;
    t->freq_k = (unsigned)v;
    int64_t prev = 0, sum = 0;
    for (uint32_t s = 0; s < A; s++) {
        if (!t->freq[s])
            continue;
        uint64_t code;
        if (eg_read(&b, t->freq_k, &code))
            return CNNZ_E_CORRUPT;
        int64_t f;
        if (t->freq_mode == 0)
            f = (int64_t)code + 1;
        else
            f = prev + (code % 2 == 0 ? (int64_t)(code / 2) : -(int64_t)((code + 1) / 2));
        if (f < 1)
            return CNNZ_E_CORRUPT;
        sum += f;
        if (sum > (int64_t)M) /* also keeps f within 32 bits */
            return CNNZ_E_CORRUPT;
        t->freq[s] = (uint32_t)f;
        prev = f;
    }
    if (sum != (int64_t)M)
        return CNNZ_E_CORRUPT;
    unsigned pad = (unsigned)((8 - b.pos % 8) % 8);
    if (!bget(&b, pad, &v) || v != 0)
        return CNNZ_E_CORRUPT;
    *used = b.pos / 8;
    return CNNZ_OK;
}

static uint32_t sym_at(const uint8_t *src, size_t i, unsigned width)
{
    return width == 1 ? src[i] : get16(src + 2 * i);
}

/* Spec 7.3.6: a table stream for n symbols (all present in t) with
 * 2^lanes_log2 lanes. Returns malloc'd bytes. */
static uint8_t *ref_encode(const struct rtab *t, unsigned lanes_log2, const uint8_t *src,
                           size_t n, size_t *out_len)
{
    const uint32_t A = alphabet(t->width), M = UINT32_C(1) << t->scale_bits;
    const unsigned K = 1u << lanes_log2;
    size_t present = 0;
    for (uint32_t s = 0; s < A; s++)
        present += t->freq[s] != 0;
    /* A run costs at most 2 * 41 bits, a freq 41: 16 bytes a symbol. */
    size_t cap = 16 + present * 16 + 4 * K + 2 * n;
    uint8_t *out = calloc(cap, 1);
    ck_assert_ptr_nonnull(out);
    struct bits b = {out, NULL, cap, 0};
    rtab_write(t, &b);
    size_t tbytes = b.pos / 8;
    uint32_t *cum = calloc(A, sizeof *cum);
    ck_assert_ptr_nonnull(cum);
    for (uint32_t s = 0, c = 0; s < A; s++)
        cum[s] = c, c += t->freq[s];
    uint32_t x[32];
    for (unsigned j = 0; j < K; j++)
        x[j] = RL;
    uint16_t *words = malloc((n ? n : 1) * sizeof *words);
    ck_assert_ptr_nonnull(words);
    size_t nw = 0;
    for (size_t i = n; i-- > 0;) {
        unsigned j = (unsigned)(i % K);
        uint32_t s = sym_at(src, i, t->width), f = t->freq[s];
        ck_assert_uint_ne(f, 0);
        if ((uint64_t)x[j] >= ((uint64_t)f << (32 - t->scale_bits))) {
            words[nw++] = (uint16_t)(x[j] % 65536);
            x[j] /= 65536;
        }
        x[j] = (x[j] / f) * M + x[j] % f + cum[s];
    }
    uint8_t *p = out + tbytes;
    for (unsigned j = 0; j < K; j++, p += 4)
        put32(p, x[j]);
    for (size_t k = nw; k-- > 0; p += 2)
        put16(p, words[k]);
    *out_len = (size_t)(p - out);
    free(words);
    free(cum);
    return out;
}

/* Spec 7.3 decode, one symbol at a time; writes dst only when valid. */
static int ref_decode(const uint8_t *params, size_t plen, const uint8_t *c, size_t clen,
                      uint8_t *dst, size_t dlen)
{
    if (plen != 3)
        return CNNZ_E_CODER;
    unsigned w = params[0], lg = params[1], sb = params[2];
    if ((w != 1 && w != 2) || lg > 5 || sb > 16 || dlen % w)
        return CNNZ_E_CODER;
    size_t n = dlen / w, K = (size_t)1 << lg;
    if (n == 0)
        return lg == 0 && sb == 0 && clen == 0 ? CNNZ_OK : CNNZ_E_CODER;
    if (sb == 0) {
        if (lg != 0 || clen != w)
            return CNNZ_E_CODER;
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * w, c, w);
        return CNNZ_OK;
    }
    if (clen < 4 * K + 2)
        return CNNZ_E_CODER;
    struct rtab t;
    rtab_init(&t, w);
    t.scale_bits = sb;
    size_t pos;
    int err = rtab_read(&t, c, clen, &pos);
    const uint32_t M = UINT32_C(1) << sb, A = alphabet(w);
    uint32_t *owner = NULL, *cum = NULL;
    uint8_t *out = NULL;
    if (err)
        goto done;
    owner = malloc(M * sizeof *owner);
    cum = calloc(A, sizeof *cum);
    out = malloc(dlen);
    ck_assert(owner && cum && out);
    for (uint32_t s = 0, k = 0; s < A; s++) {
        cum[s] = k;
        for (uint32_t i = 0; i < t.freq[s]; i++)
            owner[k++] = s;
    }
    uint32_t x[32];
    for (size_t j = 0; j < K; j++, pos += 4) {
        if (clen - pos < 4 || clen < pos) {
            err = CNNZ_E_CORRUPT;
            goto done;
        }
        x[j] = get32(c + pos);
        if (x[j] < RL) {
            err = CNNZ_E_CORRUPT;
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t j = i % K;
        uint32_t slot = x[j] % M, s = owner[slot];
        if (w == 1)
            out[i] = (uint8_t)s;
        else
            put16(out + 2 * i, (uint16_t)s);
        x[j] = t.freq[s] * (x[j] / M) + slot - cum[s];
        if (x[j] < RL) {
            if (clen - pos < 2) {
                err = CNNZ_E_CORRUPT;
                goto done;
            }
            x[j] = x[j] * 65536 + get16(c + pos);
            pos += 2;
        }
    }
    if (pos != clen)
        err = CNNZ_E_CORRUPT;
    for (size_t j = 0; j < K; j++)
        if (x[j] != RL)
            err = CNNZ_E_CORRUPT;
    if (!err)
        memcpy(dst, out, dlen);
done:
    free(out);
    free(cum);
    free(owner);
    rtab_free(&t);
    return err;
}

/* ================================================ library vs reference */

/* Decode with both library paths and the reference, from an exact-size copy
 * of the coded bytes into buffers with a sentinel byte after them: same
 * verdict, same output when valid, sentinel untouched. Returns the verdict;
 * the output (when valid) goes to out if not NULL. */
static int decode_all(const uint8_t *params, size_t plen, const uint8_t *coded, size_t clen,
                      size_t dlen, uint8_t *out)
{
    struct cnnz__alloc a = lib_alloc();
    uint8_t *src = dup_exact(coded, clen);
    uint8_t *d[3];
    int err[3];
    for (int k = 0; k < 3; k++) {
        d[k] = malloc(dlen + 1);
        ck_assert_ptr_nonnull(d[k]);
        memset(d[k], 0x5A, dlen);
        d[k][dlen] = 0xA5;
    }
    err[0] = cnnz__rans_decode_with(0, &a, 0, params, plen, src, clen, d[0], dlen);
    err[1] = cnnz__rans_decode_with(1, &a, 0, params, plen, src, clen, d[1], dlen);
    err[2] = ref_decode(params, plen, src, clen, d[2], dlen);
    for (int k = 0; k < 3; k++)
        ck_assert_uint_eq(d[k][dlen], 0xA5);
    ck_assert_int_eq(err[0], err[2]);
    ck_assert_int_eq(err[1], err[2]);
    ck_assert(err[2] == CNNZ_OK || err[2] == CNNZ_E_CORRUPT || err[2] == CNNZ_E_CODER);
    if (err[2] == CNNZ_OK) {
        ck_assert(memcmp(d[0], d[2], dlen) == 0);
        ck_assert(memcmp(d[1], d[2], dlen) == 0);
        if (out)
            memcpy(out, d[2], dlen);
    }
    for (int k = 0; k < 3; k++)
        free(d[k]);
    free(src);
    return err[2];
}

struct coded {
    uint8_t params[16];
    size_t plen;
    uint8_t *c; /* exact-size heap copy */
    size_t clen;
};

static void lib_encode(const uint8_t *src, size_t len, unsigned width, struct coded *e)
{
    struct cnnz__alloc a = lib_alloc();
    struct cnnz__symfmt fmt = {width, 0, 0};
    struct cnnz__buf out = {NULL, 0, 0, &a}, par = {NULL, 0, 0, &a};
    const uint8_t *coded = NULL;
    size_t clen = 0;
    ck_assert_int_eq(rans()->encode(&a, &fmt, src, len, &out, &coded, &clen, &par), CNNZ_OK);
    ck_assert_uint_le(par.len, sizeof e->params);
    memcpy(e->params, par.data, par.len);
    e->plen = par.len;
    e->c = dup_exact(coded, clen);
    e->clen = clen;
    cnnz__buf_free(&out);
    cnnz__buf_free(&par);
}

/* The reference rebuilds a table stream from the library's choices. */
static void same_as_reference(const struct coded *e, const uint8_t *src, size_t n)
{
    struct rtab t;
    rtab_init(&t, e->params[0]);
    t.scale_bits = e->params[2];
    size_t used;
    ck_assert_int_eq(rtab_read(&t, e->c, e->clen, &used), CNNZ_OK);
    size_t rlen;
    uint8_t *r = ref_encode(&t, e->params[1], src, n, &rlen);
    ck_assert_uint_eq(rlen, e->clen);
    ck_assert(memcmp(r, e->c, rlen) == 0);
    free(r);
    rtab_free(&t);
}

/* Encode with the library and check everything about the result; returns
 * lanes_log2 (or -1 for the empty and one-symbol kinds). */
static int roundtrip(const uint8_t *src, size_t len, unsigned width)
{
    struct coded e, e2;
    lib_encode(src, len, width, &e);
    ck_assert_uint_eq(e.plen, 3);
    ck_assert_uint_eq(e.params[0], width);
    ck_assert_int_eq(rans()->check(0, e.params, e.plen, e.clen, len), CNNZ_OK);
    uint8_t *out = malloc(len + 1);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(decode_all(e.params, e.plen, e.c, e.clen, len, out), CNNZ_OK);
    ck_assert(len == 0 || memcmp(out, src, len) == 0);
    /* Through the registered entry point too. */
    struct cnnz__alloc a = lib_alloc();
    memset(out, 0, len);
    ck_assert_int_eq(rans()->decode(&a, 0, e.params, e.plen, e.c, e.clen, out, len), CNNZ_OK);
    ck_assert(len == 0 || memcmp(out, src, len) == 0);
    /* Deterministic. */
    lib_encode(src, len, width, &e2);
    ck_assert_uint_eq(e2.plen, e.plen);
    ck_assert(memcmp(e2.params, e.params, e.plen) == 0);
    ck_assert_uint_eq(e2.clen, e.clen);
    ck_assert(e.clen == 0 || memcmp(e2.c, e.c, e.clen) == 0);
    int lanes_log2 = -1;
    if (e.params[2] != 0) {
        same_as_reference(&e, src, len / width);
        lanes_log2 = e.params[1];
    }
    free(e.c);
    free(e2.c);
    free(out);
    return lanes_log2;
}

/* ================================================ inputs */

enum shape { UNIFORM, GEOMETRIC, BELL, SKEWED, TWO };

/* n symbols drawn from an alphabet of size m (offset base) with a shape. */
static void fill(struct rng *r, uint8_t *dst, size_t n, unsigned width, enum shape sh,
                 uint32_t m, uint32_t base)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        switch (sh) {
        case GEOMETRIC:
            for (v = 0; v + 1 < m && rng_below(r, 4) != 0; v++)
                ;
            break;
        case BELL: /* sum of four uniforms */
            v = (rng_below(r, m) + rng_below(r, m) + rng_below(r, m) + rng_below(r, m)) / 4;
            break;
        case SKEWED: /* one symbol nearly always */
            v = rng_below(r, 10000) ? 0 : rng_below(r, m);
            break;
        case TWO:
            v = rng_below(r, 2) ? m - 1 : 0;
            break;
        default:
            v = rng_below(r, m);
        }
        v = (v + base) & (alphabet(width) - 1);
        if (width == 1)
            dst[i] = (uint8_t)v;
        else
            put16(dst + 2 * i, (uint16_t)v);
    }
}

static void shuffle(struct rng *r, uint8_t *p, size_t n, unsigned width)
{
    uint8_t t[2];
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(r, (uint32_t)i);
        memcpy(t, p + (i - 1) * width, width);
        memmove(p + (i - 1) * width, p + j * width, width);
        memcpy(p + j * width, t, width);
    }
}

/* ================================================ tests */

/* spec 7.3.7 example 1: made by the encoder, byte for byte. */
static const uint8_t ex1_in[12] = {0x80, 0x7F, 0x80, 0x81, 0x80, 0x80,
                                   0x7D, 0x80, 0x7F, 0x80, 0x81, 0x80};
static const uint8_t ex1_params[3] = {0x01, 0x00, 0x03};
static const uint8_t ex1_coded[11] = {0x10, 0xD0, 0xDF, 0x60, 0x16, 0x1C,
                                      0x6C, 0x0D, 0x00, 0x5F, 0x98};
/* spec 7.3.7 example 2: two lanes, decoded. */
static const uint8_t ex2_in[24] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8,
                                   9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4};
static const uint8_t ex2_params[3] = {0x01, 0x01, 0x04};
static const uint8_t ex2_coded[21] = {0x39, 0x05, 0xCA, 0x92, 0x16, 0x75, 0x56,
                                      0x15, 0x00, 0x00, 0xDA, 0x4B, 0x00, 0x09,
                                      0xF2, 0x5F, 0x65, 0xB5, 0xB9, 0x62, 0x2D};

START_TEST(test_worked_examples)
{
    struct coded e;
    lib_encode(ex1_in, sizeof ex1_in, 1, &e);
    ck_assert_uint_eq(e.plen, sizeof ex1_params);
    ck_assert(memcmp(e.params, ex1_params, sizeof ex1_params) == 0);
    ck_assert_uint_eq(e.clen, sizeof ex1_coded);
    ck_assert(memcmp(e.c, ex1_coded, sizeof ex1_coded) == 0);
    free(e.c);
    uint8_t out[24];
    ck_assert_int_eq(decode_all(ex1_params, 3, ex1_coded, sizeof ex1_coded, 12, out), CNNZ_OK);
    ck_assert(memcmp(out, ex1_in, 12) == 0);
    ck_assert_int_eq(decode_all(ex2_params, 3, ex2_coded, sizeof ex2_coded, 24, out), CNNZ_OK);
    ck_assert(memcmp(out, ex2_in, 24) == 0);
    /* The example's corruption: the last byte 98 -> 99. */
    uint8_t bad[11];
    memcpy(bad, ex1_coded, 11);
    bad[10] = 0x99;
    ck_assert_int_eq(decode_all(ex1_params, 3, bad, 11, 12, NULL), CNNZ_E_CORRUPT);
}
END_TEST

START_TEST(test_special_kinds)
{
    /* Empty input, both widths: no coded bytes, params {w, 0, 0}. */
    for (unsigned w = 1; w <= 2; w++) {
        struct coded e;
        lib_encode((const uint8_t *)"", 0, w, &e);
        ck_assert_uint_eq(e.clen, 0);
        ck_assert_uint_eq(e.plen, 3);
        ck_assert(e.params[0] == w && e.params[1] == 0 && e.params[2] == 0);
        free(e.c);
        roundtrip((const uint8_t *)"", 0, w);
    }
    /* One symbol, once and many times: the symbol alone up to 65536
     * bytes; beyond, a table with a second, unused symbol, so that the
     * stream stays within spec 5.3.1's expansion cap. */
    uint8_t *buf = malloc(400000);
    ck_assert_ptr_nonnull(buf);
    static const size_t lens[] = {1, 2, 7, 1000, 32768, 65536, 65537, 200000};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        for (unsigned w = 1; w <= 2; w++) {
            size_t bytes = w * lens[k];
            for (size_t i = 0; i < lens[k]; i++) {
                if (w == 1)
                    buf[i] = 0xC3;
                else
                    put16(buf + 2 * i, 0xBEEF);
            }
            struct coded e;
            lib_encode(buf, bytes, w, &e);
            if (bytes <= 65536) {
                ck_assert_uint_eq(e.clen, w);
                ck_assert_uint_eq(e.c[0], w == 1 ? 0xC3 : 0xEF);
                ck_assert(e.params[1] == 0 && e.params[2] == 0);
            } else {
                ck_assert_uint_ne(e.params[2], 0); /* a table stream */
                ck_assert_uint_le(bytes, ((uint64_t)e.clen << 20) + 65536);
            }
            free(e.c);
            roundtrip(buf, bytes, w);
        }
    }
    /* Two symbols in one and two elements. */
    static const uint8_t two[2] = {0, 255};
    roundtrip(two, 2, 1);
    roundtrip(two, 2, 2);
    free(buf);
}
END_TEST

START_TEST(test_adversarial_distributions)
{
    struct rng r;
    rng_init(&r, __func__);
    uint8_t *buf = malloc(2 * 140000);
    ck_assert_ptr_nonnull(buf);
    /* Every byte value equally often, in random order. */
    for (size_t i = 0; i < 256 * 64; i++)
        buf[i] = (uint8_t)i;
    shuffle(&r, buf, 256 * 64, 1);
    roundtrip(buf, 256 * 64, 1);
    /* The full u16 alphabet, each value once then twice, shuffled. */
    for (unsigned times = 1; times <= 2; times++) {
        size_t n = 65536 * (size_t)times;
        for (size_t i = 0; i < n; i++)
            put16(buf + 2 * i, (uint16_t)i);
        shuffle(&r, buf, n, 2);
        ck_assert_int_eq(roundtrip(buf, 2 * n, 2), 5);
    }
    /* Extreme skew: one symbol and a single other, at either end. */
    for (size_t n = 3; n < 200000; n *= 7) {
        memset(buf, 0, n);
        buf[rng_below(&r, (uint32_t)n)] = 0xFF;
        roundtrip(buf, n, 1);
        for (size_t i = 0; i < n; i++)
            put16(buf + 2 * i, 0xFFFF);
        put16(buf + 2 * rng_below(&r, (uint32_t)n), 0);
        roundtrip(buf, 2 * n, 2);
    }
    /* Many symbols of count 1 and one that dominates (scale 16, freq 1
     * in the last slot). */
    for (size_t i = 0; i < 70000; i++)
        put16(buf + 2 * i, (uint16_t)(i < 60000 ? 0x4000 : 0x4000 + 1 + (i - 60000) * 6));
    shuffle(&r, buf, 70000, 2);
    roundtrip(buf, 2 * 70000, 2);
    /* Shapes, alphabet sizes and bases. */
    static const enum shape shapes[] = {UNIFORM, GEOMETRIC, BELL, SKEWED, TWO};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (unsigned w = 1; w <= 2; w++) {
            uint32_t m = w == 1 ? 2 + rng_below(&r, 255) : 2 + rng_below(&r, 5000);
            fill(&r, buf, 30000, w, shapes[s], m, rng_below(&r, alphabet(w)));
            roundtrip(buf, 30000 * (size_t)w, w);
        }
    free(buf);
}
END_TEST

START_TEST(test_random_lengths)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(60);
    uint8_t *buf = malloc(2 * 300000);
    ck_assert_ptr_nonnull(buf);
    int seen[2][6] = {{0}};
    /* Sizes that give every lane count (about 1 byte a symbol here). */
    static const size_t sizes[] = {1000, 2000, 4000, 8000, 16000, 30000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        fill(&r, buf, sizes[k], 1, UNIFORM, 256, 0);
        seen[0][roundtrip(buf, sizes[k], 1)] = 1;
        fill(&r, buf, sizes[k], 2, UNIFORM, 256, rng_below(&r, 65536));
        seen[1][roundtrip(buf, 2 * sizes[k], 2)] = 1;
    }
    for (int lg = 0; lg < 6; lg++)
        ck_assert_msg(seen[0][lg] && seen[1][lg], "no stream with %d lanes", 1 << lg);
    for (unsigned it = 0; it < iters; it++) {
        unsigned w = 1 + rng_below(&r, 2);
        size_t n;
        switch (rng_below(&r, 4)) {
        case 0:
            n = rng_below(&r, 40);
            break;
        case 1:
            n = rng_below(&r, 3000);
            break;
        case 2:
            n = rng_below(&r, 40000);
            break;
        default:
            n = rng_below(&r, 200000);
        }
        uint32_t m = 1 + rng_below(&r, w == 1 ? 256 : (rng_below(&r, 2) ? 300 : 65536));
        fill(&r, buf, n, w, (enum shape)rng_below(&r, 5), m, rng_below(&r, alphabet(w)));
        roundtrip(buf, n * w, w);
    }
    free(buf);
}
END_TEST

/* A random valid table for the reference: k present symbols, scale_bits
 * >= ceil(log2 k), freqs a random composition of M. */
static void random_table(struct rng *r, struct rtab *t, uint32_t k)
{
    const uint32_t A = alphabet(t->width);
    memset(t->freq, 0, A * sizeof *t->freq);
    unsigned lo = 1;
    while ((UINT32_C(1) << lo) < k)
        lo++;
    t->scale_bits = lo + rng_below(r, 16 - lo + 1);
    const uint32_t M = UINT32_C(1) << t->scale_bits;
    uint32_t *sym = malloc(k * sizeof *sym);
    ck_assert_ptr_nonnull(sym);
    /* Distinct symbols: clustered or scattered. */
    uint32_t base = rng_below(r, A), spread = rng_below(r, 2) ? k + rng_below(r, 8) : A;
    for (uint32_t i = 0; i < k;) {
        uint32_t s = (base + rng_below(r, spread)) % A;
        if (!t->freq[s])
            t->freq[s] = 1, sym[i++] = s;
    }
    for (uint32_t left = M - k; left;) { /* the rest, in random lumps */
        uint32_t lump = 1 + rng_below(r, left < 64 ? left : left / 8 + 1);
        if (lump > left)
            lump = left;
        t->freq[sym[rng_below(r, k)]] += lump;
        left -= lump;
    }
    t->set_k = rng_below(r, 8);
    t->freq_mode = rng_below(r, 2);
    t->freq_k = rng_below(r, 16);
    free(sym);
}

/* n symbols from t's present set: by their freqs, or uniformly. */
static void draw(struct rng *r, const struct rtab *t, uint8_t *dst, size_t n)
{
    const uint32_t A = alphabet(t->width), M = UINT32_C(1) << t->scale_bits;
    uint32_t *owner = malloc(M * sizeof *owner), *present = malloc(A * sizeof *present), k = 0;
    ck_assert(owner && present);
    for (uint32_t s = 0, slot = 0; s < A; s++) {
        if (t->freq[s])
            present[k++] = s;
        for (uint32_t i = 0; i < t->freq[s]; i++)
            owner[slot++] = s;
    }
    int by_freq = rng_below(r, 2);
    for (size_t i = 0; i < n; i++) {
        uint32_t s = by_freq ? owner[rng_below(r, M)] : present[rng_below(r, k)];
        if (t->width == 1)
            dst[i] = (uint8_t)s;
        else
            put16(dst + 2 * i, (uint16_t)s);
    }
    free(owner);
    free(present);
}

START_TEST(test_reference_streams)
{
    /* Streams the library's encoder never makes (any table, any lane
     * count, fewer symbols than lanes) decode as the spec says. */
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(120);
    uint8_t *buf = malloc(2 * 5000), *out = malloc(2 * 5000);
    ck_assert(buf && out);
    for (unsigned it = 0; it < iters; it++) {
        struct rtab t;
        rtab_init(&t, 1 + rng_below(&r, 2));
        uint32_t k = 2 + rng_below(&r, t.width == 1 ? 255 : (rng_below(&r, 4) ? 200 : 3000));
        random_table(&r, &t, k);
        unsigned lg = rng_below(&r, 6);
        size_t n = rng_below(&r, 4) ? rng_below(&r, 5000) : rng_below(&r, 40);
        if (n == 0)
            n = 1;
        draw(&r, &t, buf, n);
        size_t clen;
        uint8_t *c = ref_encode(&t, lg, buf, n, &clen);
        uint8_t params[3] = {(uint8_t)t.width, (uint8_t)lg, (uint8_t)t.scale_bits};
        ck_assert_int_eq(rans()->check(0, params, 3, clen, n * t.width), CNNZ_OK);
        ck_assert_int_eq(decode_all(params, 3, c, clen, n * t.width, out), CNNZ_OK);
        ck_assert(memcmp(out, buf, n * t.width) == 0);
        free(c);
        rtab_free(&t);
    }
    free(buf);
    free(out);
}
END_TEST

START_TEST(test_sparse_u16_is_cheap)
{
    /* 40 distinct u16 values spread over the alphabet: the table must cost
     * about the values, not the alphabet. */
    struct rng r;
    rng_init(&r, __func__);
    uint16_t vals[40];
    for (int i = 0; i < 40; i++)
        vals[i] = (uint16_t)rng_u64(&r);
    size_t n = 4000;
    uint8_t *buf = malloc(2 * n);
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < n; i++)
        put16(buf + 2 * i, vals[rng_below(&r, 40)]);
    struct coded e;
    lib_encode(buf, 2 * n, 2, &e);
    /* log2(40) = 5.32 bits a symbol: 2661 bytes; the table of 40 values and
     * freqs about 40 * (2 + 1) bytes at most. */
    ck_assert_uint_lt(e.clen, 2661 + 200);
    free(e.c);
    roundtrip(buf, 2 * n, 2);
    free(buf);
}
END_TEST

START_TEST(test_check_rules)
{
    const struct cnnz__coder *c = rans();
    static const uint8_t ok1[3] = {1, 0, 3}, ok2[3] = {2, 5, 16};
    ck_assert_int_eq(c->check(0, ok1, 3, 11, 12), CNNZ_OK);
    ck_assert_int_eq(c->check(0, ok2, 3, 4 * 32 + 2, 10), CNNZ_OK);
    ck_assert_int_eq(c->check(1, ok1, 3, 11, 12), CNNZ_E_CODER);       /* version */
    ck_assert_int_eq(c->check(0, ok1, 2, 11, 12), CNNZ_E_CODER);       /* params length */
    ck_assert_int_eq(c->check(0, ok1, 4, 11, 12), CNNZ_E_CODER);
    static const uint8_t w0[3] = {0, 0, 3}, w3[3] = {3, 0, 3}, w4[3] = {4, 0, 3};
    ck_assert_int_eq(c->check(0, w0, 3, 11, 12), CNNZ_E_CODER);        /* width */
    ck_assert_int_eq(c->check(0, w3, 3, 11, 12), CNNZ_E_CODER);
    ck_assert_int_eq(c->check(0, w4, 3, 11, 12), CNNZ_E_CODER);
    static const uint8_t l6[3] = {1, 6, 3}, s17[3] = {1, 0, 17};
    ck_assert_int_eq(c->check(0, l6, 3, 200, 12), CNNZ_E_CODER);       /* lanes_log2 */
    ck_assert_int_eq(c->check(0, s17, 3, 11, 12), CNNZ_E_CODER);       /* scale_bits */
    ck_assert_int_eq(c->check(0, ok2, 3, 200, 11), CNNZ_E_CODER);      /* odd length, width 2 */
    /* Empty: params {w, 0, 0} and no coded bytes only. */
    static const uint8_t e1[3] = {1, 0, 0}, e2[3] = {2, 0, 0}, e3[3] = {1, 1, 0};
    ck_assert_int_eq(c->check(0, e1, 3, 0, 0), CNNZ_OK);
    ck_assert_int_eq(c->check(0, e2, 3, 0, 0), CNNZ_OK);
    ck_assert_int_eq(c->check(0, e1, 3, 1, 0), CNNZ_E_CODER);
    ck_assert_int_eq(c->check(0, e3, 3, 0, 0), CNNZ_E_CODER);
    ck_assert_int_eq(c->check(0, ok1, 3, 0, 0), CNNZ_E_CODER);
    /* One symbol: coded_length = width, one lane. */
    ck_assert_int_eq(c->check(0, e1, 3, 1, 100), CNNZ_OK);
    ck_assert_int_eq(c->check(0, e2, 3, 2, 100), CNNZ_OK);
    ck_assert_int_eq(c->check(0, e1, 3, 2, 100), CNNZ_E_CODER);
    ck_assert_int_eq(c->check(0, e2, 3, 1, 100), CNNZ_E_CODER);
    ck_assert_int_eq(c->check(0, e3, 3, 1, 100), CNNZ_E_CODER);
    /* Table streams: at least 4 K + 2 bytes. */
    ck_assert_int_eq(c->check(0, ok1, 3, 5, 12), CNNZ_E_CODER);
    ck_assert_int_eq(c->check(0, ok1, 3, 6, 12), CNNZ_OK);
    ck_assert_int_eq(c->check(0, ok2, 3, 4 * 32 + 1, 10), CNNZ_E_CODER);
    /* The decoder applies the same rules. */
    struct cnnz__alloc a = lib_alloc();
    uint8_t out[12];
    ck_assert_int_eq(c->decode(&a, 0, s17, 3, ex1_coded, 11, out, 12), CNNZ_E_CODER);
    ck_assert_int_eq(c->decode(&a, 1, ex1_params, 3, ex1_coded, 11, out, 12), CNNZ_E_CODER);
}
END_TEST

/* A hand-made variant of a valid stream for each rejection rule of spec
 * 7.3.4 to 7.3.5; every decoder must say CNNZ_E_CORRUPT. */
static void expect_corrupt(const uint8_t *params, const uint8_t *c, size_t clen, size_t dlen)
{
    ck_assert_int_eq(decode_all(params, 3, c, clen, dlen, NULL), CNNZ_E_CORRUPT);
}

/* Bytes of a table with these fields, then extra bytes. */
static size_t table_bytes(uint8_t *dst, size_t cap, const struct rtab *t)
{
    memset(dst, 0, cap);
    struct bits b = {dst, NULL, cap, 0};
    rtab_write(t, &b);
    return b.pos / 8;
}

START_TEST(test_rejections)
{
    uint8_t c[64];
    /* Initial state below L: example 1 with x = 0x0000FFFF. */
    memcpy(c, ex1_coded, 11);
    put32(c + 5, 0xFFFF);
    expect_corrupt(ex1_params, c, 11, 12);
    /* A final state that is not L: one symbol fewer (or more) decoded. */
    expect_corrupt(ex1_params, ex1_coded, 11, 11);
    expect_corrupt(ex1_params, ex1_coded, 11, 13);
    /* A byte left over, two bytes (a word) left over, a word missing. */
    memcpy(c, ex1_coded, 11);
    c[11] = 0, c[12] = 0;
    expect_corrupt(ex1_params, c, 12, 12);
    expect_corrupt(ex1_params, c, 13, 12);
    expect_corrupt(ex1_params, ex1_coded, 10, 12);
    expect_corrupt(ex1_params, ex1_coded, 9, 12);
    /* States past the end of the coded bytes (the table is 5 bytes). */
    expect_corrupt(ex1_params, ex1_coded, 8, 12);
    static const uint8_t p2[3] = {1, 1, 3};
    expect_corrupt(p2, ex1_coded, 11, 12);

    /* Table rules, from example 1's table (7D:1 7F:1 80:5 81:1, M = 8). */
    struct rtab t;
    rtab_init(&t, 1);
    t.scale_bits = 3;
    t.freq[0x7D] = 1, t.freq[0x7F] = 1, t.freq[0x80] = 5, t.freq[0x81] = 1;
    size_t n = table_bytes(c, sizeof c, &t);
    ck_assert_uint_eq(n, 5);
    ck_assert(memcmp(c, ex1_coded, 5) == 0);
    /* Sum below and above M. */
    t.freq[0x80] = 4;
    n = table_bytes(c, sizeof c, &t);
    memcpy(c + n, ex1_coded + 5, 6);
    expect_corrupt(ex1_params, c, n + 6, 12);
    t.freq[0x80] = 6;
    n = table_bytes(c, sizeof c, &t);
    memcpy(c + n, ex1_coded + 5, 6);
    expect_corrupt(ex1_params, c, n + 6, 12);
    t.freq[0x80] = 5;
    /* Nonzero padding (the top bit of the last table byte). */
    memcpy(c, ex1_coded, 11);
    c[4] |= 0x80;
    expect_corrupt(ex1_params, c, 11, 12);
    /* A freq of 0 in delta mode: 1 then 1 - 1 = 0. */
    t.freq_mode = 1;
    n = table_bytes(c, sizeof c, &t); /* codes 2, 0, 8, 7 */
    memcpy(c + n, ex1_coded + 5, 6);
    ck_assert_int_eq(decode_all(ex1_params, 3, c, n + 6, 12, NULL), CNNZ_OK);
    {
        struct bits b = {c, NULL, sizeof c, 0};
        memset(c, 0, sizeof c);
        bput(&b, 0, 3);          /* set_k 0 */
        eg_write(&b, 1, 0);      /* 2 runs */
        eg_write(&b, 0x7D, 0);
        eg_write(&b, 0, 0);
        eg_write(&b, 0, 0);
        eg_write(&b, 2, 0);
        bput(&b, 1, 1);          /* delta */
        bput(&b, 0, 4);          /* freq_k 0 */
        eg_write(&b, 2, 0);      /* 7D: 0 + 1 = 1 */
        eg_write(&b, 1, 0);      /* 7F: 1 - 1 = 0 */
        eg_write(&b, 10, 0);     /* 80: 0 + 5 */
        eg_write(&b, 5, 0);      /* 81: 5 - 3 */
        n = (b.pos + 7) / 8;
        memcpy(c + n, ex1_coded + 5, 6);
        expect_corrupt(ex1_params, c, n + 6, 12);
    }
    /* One present symbol only (one run of one symbol, freq M). */
    {
        struct bits b = {c, NULL, sizeof c, 0};
        memset(c, 0, sizeof c);
        bput(&b, 0, 3);
        eg_write(&b, 0, 0);      /* 1 run */
        eg_write(&b, 0x80, 0);
        eg_write(&b, 0, 0);      /* of 1 symbol */
        bput(&b, 0, 1);
        bput(&b, 0, 4);
        eg_write(&b, 7, 0);      /* freq 8 */
        n = (b.pos + 7) / 8;
        put32(c + n, RL);
        expect_corrupt(ex1_params, c, n + 4, 12);
    }
    /* A run past the alphabet: 0xFF and 0x100. */
    {
        struct bits b = {c, NULL, sizeof c, 0};
        memset(c, 0, sizeof c);
        bput(&b, 0, 3);
        eg_write(&b, 0, 0);
        eg_write(&b, 0xFF, 0);
        eg_write(&b, 1, 0);      /* 2 symbols */
        bput(&b, 0, 1);
        bput(&b, 0, 4);
        eg_write(&b, 3, 0);
        eg_write(&b, 3, 0);
        n = (b.pos + 7) / 8;
        put32(c + n, RL);
        expect_corrupt(ex1_params, c, n + 4, 12);
    }
    /* An Exp-Golomb code with 25 zero bits: run_count_minus1. */
    memset(c, 0, sizeof c);
    c[4] = 0x01; /* bits 3 .. 34 zero but for bit 32: 29 zeros */
    expect_corrupt(ex1_params, c, 20, 12);
    /* A table that runs past the coded bytes: example 1's table with
     * freq_k 15 (16 bits or more a freq) is 12 bytes; cut it after 6 to
     * 11 (fewer bytes break the length rule of spec 7.3.2 first). */
    t.freq_mode = 0;
    t.freq_k = 15;
    n = table_bytes(c, sizeof c, &t);
    ck_assert_uint_eq(n, 12);
    for (size_t cut = 6; cut < n; cut++)
        expect_corrupt(ex1_params, c, cut, 12);
    memcpy(c + n, ex1_coded + 5, 6);
    ck_assert_int_eq(decode_all(ex1_params, 3, c, n + 6, 12, NULL), CNNZ_OK);
    rtab_free(&t);
}
END_TEST

/* A few small streams of various kinds for the corruption tests. */
static size_t small_streams(struct rng *r, struct coded *s, size_t cap)
{
    size_t k = 0;
    s[k].plen = 3;
    memcpy(s[k].params, ex1_params, 3);
    s[k].c = dup_exact(ex1_coded, sizeof ex1_coded);
    s[k++].clen = sizeof ex1_coded;
    s[k].plen = 3;
    memcpy(s[k].params, ex2_params, 3);
    s[k].c = dup_exact(ex2_coded, sizeof ex2_coded);
    s[k++].clen = sizeof ex2_coded;
    static const unsigned lanes[] = {2, 3, 5};
    for (size_t i = 0; i < sizeof lanes / sizeof lanes[0] && k < cap; i++) {
        struct rtab t;
        rtab_init(&t, 1 + (unsigned)(i % 2));
        random_table(r, &t, 3 + rng_below(r, 6));
        t.scale_bits = t.scale_bits < 5 ? t.scale_bits : 5; /* small M: short table */
        uint32_t A = alphabet(t.width), M = UINT32_C(1) << t.scale_bits, sum = 0, last = 0;
        for (uint32_t v = 0; v < A; v++) /* refit the freqs to the smaller M */
            if (t.freq[v]) {
                t.freq[v] = 1;
                sum++;
                last = v;
            }
        while (sum > M) { /* too many symbols for M: drop some */
            for (uint32_t v = 0; v < A && sum > M; v++)
                if (t.freq[v] && v != last)
                    t.freq[v] = 0, sum--;
        }
        t.freq[last] += M - sum;
        uint8_t in[2 * 80];
        size_t n = lanes[i] == 5 ? 80 : 20 + rng_below(r, 30);
        draw(r, &t, in, n);
        s[k].params[0] = (uint8_t)t.width;
        s[k].params[1] = (uint8_t)lanes[i];
        s[k].params[2] = (uint8_t)t.scale_bits;
        s[k].plen = 3;
        s[k].c = ref_encode(&t, lanes[i], in, n, &s[k].clen);
        s[k].c = realloc(s[k].c, s[k].clen); /* exact size */
        s[k].params[3] = (uint8_t)n; /* symbols, kept here */
        k++;
        rtab_free(&t);
    }
    return k;
}

static size_t stream_dlen(const struct coded *s, size_t i)
{
    return i == 0 ? 12 : i == 1 ? 24 : (size_t)s->params[3] * s->params[0];
}

START_TEST(test_corruption_and_truncation)
{
    struct rng r;
    rng_init(&r, __func__);
    struct coded s[8];
    size_t ns = small_streams(&r, s, 8);
    for (size_t i = 0; i < ns; i++) {
        size_t dlen = stream_dlen(&s[i], i);
        ck_assert_int_eq(decode_all(s[i].params, 3, s[i].c, s[i].clen, dlen, NULL), CNNZ_OK);
        /* Every single-byte change: an error, or a valid decode (the three
         * decoders agree either way, within bounds). */
        uint8_t *c = malloc(s[i].clen + 1);
        ck_assert_ptr_nonnull(c);
        for (size_t pos = 0; pos < s[i].clen; pos++)
            for (unsigned v = 0; v < 256; v++) {
                if (v == s[i].c[pos])
                    continue;
                memcpy(c, s[i].c, s[i].clen);
                c[pos] = (uint8_t)v;
                decode_all(s[i].params, 3, c, s[i].clen, dlen, NULL);
            }
        /* Every truncation fails; so does one extra byte. */
        for (size_t cut = 0; cut < s[i].clen; cut++)
            ck_assert_int_ne(decode_all(s[i].params, 3, s[i].c, cut, dlen, NULL), CNNZ_OK);
        memcpy(c, s[i].c, s[i].clen);
        c[s[i].clen] = 0;
        ck_assert_int_eq(decode_all(s[i].params, 3, c, s[i].clen + 1, dlen, NULL),
                         CNNZ_E_CORRUPT);
        /* One byte of output short (or over). */
        ck_assert_int_ne(decode_all(s[i].params, 3, s[i].c, s[i].clen, dlen - 1, NULL), CNNZ_OK);
        ck_assert_int_ne(decode_all(s[i].params, 3, s[i].c, s[i].clen, dlen + 1, NULL), CNNZ_OK);
        free(c);
        free(s[i].c);
    }
}
END_TEST

START_TEST(test_corruption_wide)
{
    /* A 32-lane stream long enough for the vector path: bit flips and
     * random bytes at every position. */
    struct rng r;
    rng_init(&r, __func__);
    size_t n = 30000;
    uint8_t *in = malloc(n);
    ck_assert_ptr_nonnull(in);
    fill(&r, in, n, 1, UNIFORM, 256, 0);
    struct coded e;
    lib_encode(in, n, 1, &e);
    ck_assert_uint_eq(e.params[1], 5);
    uint8_t *c = malloc(e.clen);
    ck_assert_ptr_nonnull(c);
    unsigned step = e.clen / test_iters(400) + 1;
    for (size_t pos = 0; pos < e.clen; pos += 1 + rng_below(&r, step)) {
        memcpy(c, e.c, e.clen);
        c[pos] ^= (uint8_t)(1u << rng_below(&r, 8));
        decode_all(e.params, 3, c, e.clen, n, NULL);
        c[pos] = (uint8_t)rng_u64(&r);
        decode_all(e.params, 3, c, e.clen, n, NULL);
    }
    for (size_t cut = 0; cut < e.clen; cut += 1 + rng_below(&r, step))
        ck_assert_int_ne(decode_all(e.params, 3, e.c, cut, n, NULL), CNNZ_OK);
    free(c);
    free(e.c);
    free(in);
}
END_TEST

START_TEST(test_garbage)
{
    /* Random coded bytes under random valid-looking parameters, and valid
     * tables followed by random states and words. */
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(3000);
    uint8_t buf[600];
    for (unsigned it = 0; it < iters; it++) {
        uint8_t params[3] = {(uint8_t)(1 + rng_below(&r, 2)), (uint8_t)rng_below(&r, 6),
                             (uint8_t)rng_below(&r, 17)};
        size_t clen = rng_below(&r, sizeof buf), dlen = rng_below(&r, 400) * params[0];
        rng_bytes(&r, buf, clen);
        if (rng_below(&r, 2)) { /* a valid table first */
            struct rtab t;
            rtab_init(&t, params[0]);
            random_table(&r, &t, 2 + rng_below(&r, 20));
            t.scale_bits = t.scale_bits < 8 ? t.scale_bits : 8;
            uint32_t A = alphabet(t.width), M = UINT32_C(1) << t.scale_bits, sum = 0, last = 0;
            for (uint32_t v = 0; v < A; v++)
                if (t.freq[v])
                    t.freq[v] = 1, sum++, last = v;
            while (sum > M)
                for (uint32_t v = 0; v < A && sum > M; v++)
                    if (t.freq[v] && v != last)
                        t.freq[v] = 0, sum--;
            t.freq[last] += M - sum;
            params[2] = (uint8_t)t.scale_bits;
            uint8_t tb[400];
            size_t n = table_bytes(tb, sizeof tb, &t);
            if (n <= clen)
                memcpy(buf, tb, n);
            for (size_t j = n; j + 4 <= clen && j < n + 4 * ((size_t)1 << params[1]); j += 4)
                if (rng_below(&r, 2))
                    put32(buf + j, RL + (uint32_t)rng_below(&r, 1u << 20));
            rtab_free(&t);
        }
        decode_all(params, 3, buf, clen, dlen, NULL);
    }
}
END_TEST

START_TEST(test_encoder_inputs)
{
    struct cnnz__alloc a = lib_alloc();
    struct cnnz__buf out = {NULL, 0, 0, &a}, par = {NULL, 0, 0, &a};
    const uint8_t *coded;
    size_t clen;
    static const uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (unsigned w = 3; w <= 4; w++) {
        struct cnnz__symfmt fmt = {w, 0, 0};
        ck_assert_int_eq(rans()->encode(&a, &fmt, data, 8, &out, &coded, &clen, &par),
                         CNNZ_E_UNSUPPORTED);
    }
    struct cnnz__symfmt f2 = {2, 0, 0};
    ck_assert_int_ne(rans()->encode(&a, &f2, data, 7, &out, &coded, &clen, &par), CNNZ_OK);
    /* Appends after what the buffers already hold. */
    struct cnnz__symfmt f1 = {1, 0, 0};
    ck_assert_int_eq(cnnz__buf_append(&out, "xyz", 3), CNNZ_OK);
    ck_assert_int_eq(cnnz__buf_append(&par, "p", 1), CNNZ_OK);
    ck_assert_int_eq(rans()->encode(&a, &f1, ex1_in, 12, &out, &coded, &clen, &par), CNNZ_OK);
    ck_assert(memcmp(out.data, "xyz", 3) == 0 && par.data[0] == 'p');
    ck_assert_uint_eq(clen, sizeof ex1_coded);
    ck_assert(coded == out.data + 3 && memcmp(coded, ex1_coded, clen) == 0);
    ck_assert(par.len == 4 && memcmp(par.data + 1, ex1_params, 3) == 0);
    cnnz__buf_free(&out);
    cnnz__buf_free(&par);
    /* Registered as spec 7 says. */
    const struct cnnz__coder *c = rans();
    ck_assert_uint_eq(c->id, 2);
    ck_assert_str_eq(c->name, "rans");
    ck_assert_uint_eq(c->version, 0);
    ck_assert_uint_eq(c->identity, 0);
}
END_TEST

/* dense16.c, which rans (and huffman and cabac) use on short 16-bit
 * streams: the distinct symbols in order, their counts, each symbol's
 * index; up to 65536 symbols, whose positions just fit 16 bits. */
START_TEST(test_dense16)
{
    struct cnnz__alloc a = lib_alloc();
    struct rng r;
    rng_init(&r, __func__);
    static const size_t lens[] = {0, 1, 2, 1000, CNNZ__DENSE16_BELOW - 1, CNNZ__DENSE16_MAX};
    uint8_t *src = malloc(2 * CNNZ__DENSE16_MAX);
    ck_assert_ptr_nonnull(src);
    for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
        const size_t n = lens[t];
        const uint32_t m = t % 2 ? 65536 : 1 + rng_below(&r, 300);
        const uint32_t off = rng_below(&r, 65536);
        for (size_t i = 0; i < n; i++)
            cnnz__put16(src + 2 * i, (uint16_t)((off + rng_below(&r, m) * 257u) & 0xFFFF));
        struct cnnz__dense16 d;
        ck_assert_int_eq(cnnz__dense16_build(&a, src, n, &d), CNNZ_OK);
        ck_assert_uint_le(d.k, n);
        uint64_t total = 0;
        for (uint32_t j = 0; j < d.k; j++) {
            ck_assert(j == 0 || d.sym[j - 1] < d.sym[j]);
            ck_assert_uint_gt(d.cnt[j], 0);
            total += d.cnt[j];
        }
        ck_assert_uint_eq(total, n);
        uint32_t *seen = calloc(d.k + 1, sizeof *seen);
        ck_assert_ptr_nonnull(seen);
        for (size_t i = 0; i < n; i++) {
            uint16_t j = cnnz__le16(d.idx + 2 * i);
            ck_assert_uint_lt(j, d.k);
            ck_assert_uint_eq(d.sym[j], cnnz__le16(src + 2 * i));
            seen[j]++;
        }
        for (uint32_t j = 0; j < d.k; j++)
            ck_assert_uint_eq(seen[j], d.cnt[j]);
        free(seen);
        cnnz__dense16_free(&a, &d);
        ck_assert_ptr_null(d.mem);
    }
    struct cnnz__dense16 d;
    ck_assert_int_eq(cnnz__dense16_build(&a, src, CNNZ__DENSE16_MAX + 1, &d), CNNZ_E_ARG);
    cnnz__dense16_free(&a, &d); /* safe on a failed one */
    free(src);
}
END_TEST

Suite *suite_rans(void)
{
    Suite *s = suite_create("rans");
    TCase *tc = tcase_create("rans");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_worked_examples);
    tcase_add_test(tc, test_special_kinds);
    tcase_add_test(tc, test_adversarial_distributions);
    tcase_add_test(tc, test_random_lengths);
    tcase_add_test(tc, test_reference_streams);
    tcase_add_test(tc, test_sparse_u16_is_cheap);
    tcase_add_test(tc, test_check_rules);
    tcase_add_test(tc, test_rejections);
    tcase_add_test(tc, test_corruption_and_truncation);
    tcase_add_test(tc, test_corruption_wide);
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_encoder_inputs);
    tcase_add_test(tc, test_dense16);
    suite_add_tcase(s, tc);
    return s;
}
