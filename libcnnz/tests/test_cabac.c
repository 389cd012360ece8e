/* Suite cabac: the coder `cabac` (spec 7.4) through the coder interface.
 *
 * The suite carries its own decoder of the format, written from
 * spec/drafts/cabac.md alone (one bin at a time, no shortcuts): on every
 * input, valid or not, the library's decoder must give the same verdict and
 * the same output. The library has two decoders (a reference loop and a
 * faster one for dense u8 streams); the inputs below reach both. Inputs are
 * exact-size heap copies so that AddressSanitizer sees any over-read, and
 * output buffers end in a sentinel byte. */
#include <stdlib.h>
#include <string.h>

#include "coder_tests.h"

#define SENTINEL 0xA5

static const struct cnnz__coder *cabac(void)
{
    return coder_of(CNNZ_CODER_CABAC);
}


/* ================================================ reference (spec only) */

struct ctx {
    uint32_t p; /* 7.4.2: probability of a 0 bin, 1 ..= 65535 */
    uint32_t k; /* bins coded, 0 ..= 63 */
};

static unsigned bitlen(uint64_t x)
{
    unsigned l = 0;
    for (; x; x >>= 1)
        l++;
    return l;
}

static uint32_t len7(uint64_t x)
{
    unsigned l = bitlen(x);
    return l < 7 ? l : 7;
}

static struct ctx *ctxs(size_t count)
{
    struct ctx *c = malloc((count ? count : 1) * sizeof *c);
    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < count; i++)
        c[i].p = 32768, c[i].k = 0;
    return c;
}

/* One lane's range decoder, 7.4.3. */
struct rdec {
    const uint8_t *b;
    size_t len, pos;
    unsigned missing;
    uint64_t R, V;
    int bad; /* a rule broken */
};

static uint64_t rbyte(struct rdec *d)
{
    if (d->pos < d->len)
        return d->b[d->pos++];
    d->missing++;
    if (d->missing > 7)
        d->bad = 1;
    return 0;
}

static void rstart(struct rdec *d, const uint8_t *b, size_t len)
{
    d->b = b, d->len = len, d->pos = 0, d->missing = 0, d->bad = 0;
    d->R = (UINT64_C(1) << 56) - 1;
    d->V = 0;
    for (int i = 0; i < 7; i++)
        d->V = d->V * 256 + rbyte(d);
    if (d->V >= d->R)
        d->bad = 1;
}

static unsigned rbin(struct rdec *d, struct ctx *c)
{
    uint64_t bound = (d->R >> 16) * c->p;
    unsigned b;
    if (d->V < bound) {
        b = 0;
        d->R = bound;
    } else {
        b = 1;
        d->V -= bound;
        d->R -= bound;
    }
    /* 7.4.2: p + floor((t - p) / 2^s), signed */
    unsigned s = bitlen(c->k + 1) < 7 ? bitlen(c->k + 1) : 7;
    int64_t t = b ? 1 : 65535, diff = t - (int64_t)c->p;
    int64_t q = diff >= 0 ? diff / ((int64_t)1 << s) : -((-diff + ((int64_t)1 << s) - 1) >> s);
    c->p = (uint32_t)((int64_t)c->p + q);
    if (c->k < 63)
        c->k++;
    if (d->R < (UINT64_C(1) << 24)) {
        uint64_t u = 0;
        for (int i = 0; i < 4; i++)
            u = u * 256 + rbyte(d);
        d->R <<= 32;
        d->V = (d->V << 32) + u;
    }
    return b;
}

struct rparams {
    unsigned w, isfloat, sparse, L, D;
    uint64_t c, P, N1, N2;
};

/* 7.4.1 / section 7.0 varint: 0 on success. */
static int rvarint(const uint8_t *b, size_t len, size_t *pos, uint64_t *v)
{
    *v = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (*pos >= len)
            return 1;
        uint8_t x = b[(*pos)++];
        if (i == 9 && x > 1)
            return 1;
        *v |= (uint64_t)(x & 0x7F) << (7 * i);
        if (!(x & 0x80))
            return i > 0 && x == 0; /* minimal */
    }
    return 1;
}

/* 7.4.1: CNNZ_E_CODER or 0. */
static int rparse(const uint8_t *pb, size_t plen, uint64_t decoded_len, uint64_t coded_len,
                  struct rparams *o)
{
    size_t pos = 2;
    if (plen < 2)
        return CNNZ_E_CODER;
    o->w = pb[0] & 3;
    o->isfloat = (pb[0] >> 2) & 1;
    o->sparse = (pb[0] >> 3) & 1;
    o->L = ((pb[0] >> 4) & 3) + 1;
    o->D = pb[1];
    if ((pb[0] & 0xC0) || (o->w != 1 && o->w != 2))
        return CNNZ_E_CODER;
    if (rvarint(pb, plen, &pos, &o->c) || rvarint(pb, plen, &pos, &o->P) ||
        rvarint(pb, plen, &pos, &o->N1) || rvarint(pb, plen, &pos, &o->N2) || pos != plen)
        return CNNZ_E_CODER;
    if (decoded_len % o->w)
        return CNNZ_E_CODER;
    uint64_t n = decoded_len / o->w;
    if (o->isfloat) {
        if (o->w != 2 || o->sparse || o->D != 0 || o->c != 0)
            return CNNZ_E_CODER;
    } else if (o->D < 1 || o->D > 8 || o->c >= (UINT64_C(1) << (8 * o->w))) {
        return CNNZ_E_CODER;
    }
    if (o->L > 1 && !(o->L <= o->P && o->P <= n))
        return CNNZ_E_CODER;
    if (n == 0 && coded_len != 0)
        return CNNZ_E_CODER;
    return 0;
}

static uint64_t rget(const uint8_t *v, unsigned w, uint64_t i)
{
    return w == 1 ? v[i] : (uint64_t)v[2 * i] | (uint64_t)v[2 * i + 1] << 8;
}

/* The spec's decoder. Returns 0, CNNZ_E_CODER or CNNZ_E_CORRUPT; writes dst. */
static int ref_decode(const uint8_t *pb, size_t plen, const uint8_t *src, size_t slen, uint8_t *dst,
                      size_t dlen)
{
    struct rparams pr;
    int err = rparse(pb, plen, dlen, slen, &pr);
    if (err)
        return err;
    uint64_t n = dlen / pr.w;
    if (n == 0)
        return 0;
    /* 7.4.6 lane byte counts */
    size_t pos = 0, lens[4], starts[4];
    for (unsigned k = 0; k + 1 < pr.L; k++) {
        uint64_t l;
        if (rvarint(src, slen, &pos, &l))
            return CNNZ_E_CORRUPT;
        lens[k] = (size_t)l;
        if (l > slen)
            return CNNZ_E_CORRUPT;
    }
    size_t at = pos;
    for (unsigned k = 0; k + 1 < pr.L; k++) {
        if (lens[k] > slen - at)
            return CNNZ_E_CORRUPT;
        starts[k] = at;
        at += lens[k];
    }
    starts[pr.L - 1] = at;
    lens[pr.L - 1] = slen - at;

    uint64_t ncols = pr.P == 0 ? 0 : pr.P < n ? pr.P : n; /* columns that can repeat */
    uint32_t *B = calloc(ncols ? ncols : 1, sizeof *B);
    ck_assert_ptr_nonnull(B);
    memset(dst, 0, dlen);
    const unsigned D = pr.D, w = pr.w;
    for (unsigned lane = 0; lane < pr.L && !err; lane++) {
        uint64_t lo = 0, hi = pr.P;
        if (pr.L > 1)
            lo = lane * pr.P / pr.L, hi = (lane + 1) * pr.P / pr.L;
        struct rdec d;
        rstart(&d, src + starts[lane], lens[lane]);
        if (d.bad) {
            err = CNNZ_E_CORRUPT;
            break;
        }
        size_t ntree = pr.isfloat ? 16 * 256 : (size_t)64 << D;
        struct ctx *T = ctxs(ntree), *Z = ctxs(64), *S = ctxs(9), *E0 = ctxs(8 * w + 1),
                   *E1 = ctxs(8 * w + 8), *F = ctxs(256 * 8), *H = ctxs(4);
        uint64_t A = 0;
        for (uint64_t i = 0; i < n && !err; i++) {
            uint64_t col = pr.P ? i % pr.P : 0;
            if (pr.L > 1 && (col < lo || col >= hi))
                continue;
            uint64_t Bv = pr.P && col < ncols ? B[col] : 0;
            uint64_t x, val;
            /* neighbour classes, 7.4.4 / 7.4.5 */
            unsigned cls[2];
            uint64_t Ns[2] = {pr.N1, pr.N2};
            for (int j = 0; j < 2; j++) {
                uint64_t N = Ns[j];
                cls[j] = 0;
                if (N == 0 || N > i)
                    continue;
                if (pr.L > 1) {
                    uint64_t cj = (i - N) % pr.P;
                    if (cj < lo || cj >= hi)
                        continue;
                }
                uint64_t nv = rget(dst, w, i - N);
                if (pr.isfloat)
                    cls[j] = 1 + (unsigned)(nv >> 15);
                else
                    cls[j] = nv > pr.c ? 1 : nv < pr.c ? 2 : 0;
            }
            unsigned g = 3 * cls[0] + cls[1];
            if (pr.isfloat) {
                uint64_t pa = (A + 8) >> 4, pb2 = pr.P ? (Bv + 4) >> 3 : pa;
                int64_t q = (int64_t)((pa + pb2 + 1) >> 1) - 111;
                q = q < 0 ? 0 : q > 15 ? 15 : q;
                uint64_t node = 1;
                for (int b = 0; b < 8; b++)
                    node = 2 * node + rbin(&d, &T[256 * q + node]);
                uint64_t e = node - 256;
                uint64_t sign = rbin(&d, &S[g]);
                node = 1;
                for (int b = 0; b < 3; b++)
                    node = 2 * node + rbin(&d, &F[8 * e + node]);
                uint64_t lo4 = 0;
                for (int j = 3; j >= 0; j--)
                    lo4 = 2 * lo4 + rbin(&d, &H[j]);
                val = sign * 32768 + e * 128 + (node - 8) * 16 + lo4;
                x = e;
            } else {
                unsigned a = pr.sparse ? 6 : 4, bb = pr.sparse ? 6 : 5;
                uint64_t la = len7(A >> a), lb = pr.P ? len7(Bv >> bb) : la;
                uint64_t qa = 8 * la + lb, top = (UINT64_C(1) << D) - 1, m = 0, neg = 0;
                int nonzero = 1;
                if (pr.sparse) {
                    nonzero = (int)rbin(&d, &Z[qa]);
                    if (nonzero)
                        neg = rbin(&d, &S[g]);
                }
                if (nonzero) {
                    struct ctx *tree = T + (pr.sparse ? 0 : qa << D);
                    uint64_t node = 1;
                    for (unsigned b = 0; b < D; b++)
                        node = 2 * node + rbin(&d, &tree[node]);
                    uint64_t t = node - (UINT64_C(1) << D);
                    if (t == top) { /* escape, order-D Exp-Golomb */
                        unsigned len = 0;
                        while (rbin(&d, &E0[len])) {
                            if (++len > 8 * w) {
                                err = CNNZ_E_CORRUPT;
                                break;
                            }
                        }
                        if (err)
                            break;
                        uint64_t y = 1;
                        for (unsigned j = len + D; j-- > 0;)
                            y = 2 * y + rbin(&d, &E1[j]);
                        t += y - (UINT64_C(1) << D);
                    }
                    m = pr.sparse ? t + 1 : t;
                    if (!pr.sparse && m > 0)
                        neg = rbin(&d, &S[g]);
                }
                if (neg ? m > pr.c : pr.c + m >= (UINT64_C(1) << (8 * w))) {
                    err = CNNZ_E_CORRUPT;
                    break;
                }
                val = neg ? pr.c - m : pr.c + m;
                x = pr.sparse ? (m ? 64 : 0) : m;
                A = A - (A >> a) + x;
                if (pr.P && col < ncols)
                    B[col] = (uint32_t)(Bv - (Bv >> bb) + x);
            }
            if (pr.isfloat) {
                A = A - (A >> 4) + x;
                if (pr.P && col < ncols)
                    B[col] = (uint32_t)(Bv - (Bv >> 3) + x);
            }
            if (w == 1)
                dst[i] = (uint8_t)val;
            else
                dst[2 * i] = (uint8_t)val, dst[2 * i + 1] = (uint8_t)(val >> 8);
            if (d.bad)
                err = CNNZ_E_CORRUPT;
        }
        if (!err && (d.bad || d.pos != d.len))
            err = CNNZ_E_CORRUPT;
        free(T), free(Z), free(S), free(E0), free(E1), free(F), free(H);
    }
    free(B);
    return err;
}

/* ==================================================== helpers */

struct enc {
    uint8_t *params;
    size_t params_len;
    uint8_t *coded;
    size_t coded_len;
};

static void enc_free(struct enc *e)
{
    free(e->params);
    free(e->coded);
}

/* Encode through the interface; exact-size copies of params and coded bytes. */
static struct enc encode(const void *src, size_t len, unsigned width, uint64_t row, uint64_t group)
{
    struct cnnz__alloc a = lib_alloc();
    struct cnnz__symfmt f = {width, row, group};
    struct cnnz__buf out = {NULL, 0, 0, &a}, par = {NULL, 0, 0, &a};
    const uint8_t *coded = NULL;
    size_t clen = 0;
    int err = cabac()->encode(&a, &f, src, len, &out, &coded, &clen, &par);
    ck_assert_msg(err == 0, "encode: %s", cnnz_error_token(err));
    struct enc e = {dup_exact(par.data, par.len), par.len, dup_exact(coded, clen), clen};
    cnnz__buf_free(&out);
    cnnz__buf_free(&par);
    return e;
}

/* Decode with the library into an exact-size buffer followed by a sentinel;
 * returns the error, fills out (which must hold len bytes). */
static int lib_decode(const struct enc *e, size_t len, uint8_t *out)
{
    struct cnnz__alloc a = lib_alloc();
    uint8_t *dst = malloc(len + 1);
    ck_assert_ptr_nonnull(dst);
    dst[len] = SENTINEL;
    int err = cabac()->decode(&a, 0, e->params, e->params_len, e->coded, e->coded_len, dst, len);
    ck_assert_msg(dst[len] == SENTINEL, "decode wrote past dst");
    if (len)
        memcpy(out, dst, len);
    free(dst);
    return err;
}

/* The library and the spec decoder agree on (params, coded): same verdict,
 * and the same bytes when both accept. Returns the verdict. */
static int agree(const struct enc *e, size_t len)
{
    uint8_t *x = malloc(len + 1), *y = malloc(len + 1);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    int check = cabac()->check(0, e->params, e->params_len, e->coded_len, len);
    int e1 = check ? check : lib_decode(e, len, x);
    int e2 = ref_decode(e->params, e->params_len, e->coded, e->coded_len, y, len);
    ck_assert_msg(e1 == e2, "library %s, spec decoder %s", cnnz_error_token(e1),
                  cnnz_error_token(e2));
    if (!e1 && len)
        ck_assert_msg(memcmp(x, y, len) == 0, "library and spec decoder differ");
    free(x);
    free(y);
    return e1;
}

/* Round trip src: check, library decode, spec decode, determinism. */
static void roundtrip(const uint8_t *src, size_t len, unsigned width, uint64_t row, uint64_t group)
{
    struct enc e = encode(src, len, width, row, group);
    ck_assert_int_eq(cabac()->check(0, e.params, e.params_len, e.coded_len, len), 0);
    uint8_t *out = malloc(len + 1);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(lib_decode(&e, len, out), 0);
    if (len)
        ck_assert_msg(memcmp(out, src, len) == 0, "round trip differs (n %zu, w %u)", len / width,
                      width);
    ck_assert_int_eq(ref_decode(e.params, e.params_len, e.coded, e.coded_len, out, len), 0);
    if (len)
        ck_assert_msg(memcmp(out, src, len) == 0, "spec decoder differs");
    struct enc e2 = encode(src, len, width, row, group);
    ck_assert_uint_eq(e2.params_len, e.params_len);
    ck_assert_uint_eq(e2.coded_len, e.coded_len);
    ck_assert(memcmp(e2.params, e.params, e.params_len) == 0);
    if (e.coded_len)
        ck_assert_msg(memcmp(e2.coded, e.coded, e.coded_len) == 0, "encoding not deterministic");
    enc_free(&e2);
    enc_free(&e);
    free(out);
}

static void put_sym(uint8_t *v, unsigned w, size_t i, uint32_t x)
{
    if (w == 1)
        v[i] = (uint8_t)x;
    else
        put16(v + 2 * i, (uint16_t)x);
}

/* Quantized-weight-like symbols: a centre, a Laplace-like spread whose scale
 * changes by block (so the activity contexts matter), occasional outliers. */
static void weights(struct rng *r, uint8_t *v, unsigned w, size_t n, uint32_t centre,
                    unsigned maxscale)
{
    uint32_t max = w == 1 ? 255 : 65535;
    for (size_t i = 0; i < n; i++) {
        unsigned scale = 1u << ((i / 997) % (maxscale + 1));
        uint32_t m = 0;
        while (rng_below(r, 3))
            m += rng_below(r, scale + 1);
        if (rng_below(r, 500) == 0)
            m = rng_below(r, max + 1);
        uint32_t x = rng_below(r, 2) ? (m > max - centre ? max : centre + m)
                                     : (m > centre ? 0 : centre - m);
        put_sym(v, w, i, x);
    }
}

/* ==================================================== tests */

/* spec 7.4.9, byte for byte. */
START_TEST(test_worked_example)
{
    static const uint8_t in[] = {7, 7, 8, 6, 7};
    static const uint8_t params[] = {0x01, 0x02, 0x07, 0x00, 0x01, 0x00};
    static const uint8_t coded[] = {0x19, 0xC0};
    struct enc e = encode(in, sizeof in, 1, 0, 0);
    ck_assert_uint_eq(e.params_len, sizeof params);
    ck_assert(memcmp(e.params, params, sizeof params) == 0);
    ck_assert_uint_eq(e.coded_len, sizeof coded);
    ck_assert(memcmp(e.coded, coded, sizeof coded) == 0);
    uint8_t out[sizeof in];
    ck_assert_int_eq(lib_decode(&e, sizeof in, out), 0);
    ck_assert(memcmp(out, in, sizeof in) == 0);
    memset(out, 0, sizeof out);
    ck_assert_int_eq(ref_decode(params, sizeof params, coded, sizeof coded, out, sizeof out), 0);
    ck_assert(memcmp(out, in, sizeof in) == 0);
    enc_free(&e);

    /* one repeated value: zero coded bytes */
    static const uint8_t rep[] = {3, 3, 3, 3};
    static const uint8_t rep_params[] = {0x01, 0x01, 0x03, 0x00, 0x00, 0x00};
    e = encode(rep, sizeof rep, 1, 0, 0);
    ck_assert_uint_eq(e.params_len, sizeof rep_params);
    ck_assert(memcmp(e.params, rep_params, sizeof rep_params) == 0);
    ck_assert_uint_eq(e.coded_len, 0);
    ck_assert_int_eq(agree(&e, sizeof rep), 0);
    enc_free(&e);
}
END_TEST

/* Empty, one symbol, one value repeated, every value equally likely, the
 * whole u16 alphabet, extreme skew; u8 and u16; with and without a grid. */
START_TEST(test_adversarial_distributions)
{
    struct rng r;
    rng_init(&r, __func__);
    roundtrip((const uint8_t *)"", 0, 1, 0, 0);
    roundtrip((const uint8_t *)"", 0, 2, 0, 0);
    for (unsigned w = 1; w <= 2; w++) {
        uint32_t max = w == 1 ? 255 : 65535;
        uint8_t one[2] = {0xFF, 0xFF};
        roundtrip(one, w, w, 0, 0);
        one[0] = 0, one[1] = 0;
        roundtrip(one, w, w, 0, 0);
        static const size_t lens[] = {2, 3, 100, 4096, 70000};
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            size_t n = lens[li];
            uint8_t *v = malloc(n * w);
            ck_assert_ptr_nonnull(v);
            /* one symbol only, at both ends of the range and inside */
            uint32_t vals[] = {0, max, rng_below(&r, max + 1)};
            for (int k = 0; k < 3; k++) {
                for (size_t i = 0; i < n; i++)
                    put_sym(v, w, i, vals[k]);
                roundtrip(v, n * w, w, 0, 0);
                roundtrip(v, n * w, w, n >= 100 ? 10 : 0, n >= 100 ? 50 : 0);
            }
            /* all symbols equally likely */
            for (size_t i = 0; i < n; i++)
                put_sym(v, w, i, rng_below(&r, max + 1));
            roundtrip(v, n * w, w, 0, 0);
            /* extreme skew: one value, one in a thousand anything */
            for (size_t i = 0; i < n; i++)
                put_sym(v, w, i, rng_below(&r, 1000) ? 17 : rng_below(&r, max + 1));
            roundtrip(v, n * w, w, 0, 0);
            /* the two extremes alternating (magnitude max, both signs) */
            for (size_t i = 0; i < n; i++)
                put_sym(v, w, i, (i & 1) ? max : 0);
            roundtrip(v, n * w, w, 0, 0);
            free(v);
        }
    }
    /* the full u16 alphabet, each value once, in order and shuffled */
    size_t n = 65536;
    uint8_t *v = malloc(2 * n);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++)
        put16(v + 2 * i, (uint16_t)i);
    roundtrip(v, 2 * n, 2, 256, 4096);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rng_below(&r, (uint32_t)(i + 1));
        uint16_t t = get16(v + 2 * i);
        put16(v + 2 * i, get16(v + 2 * j));
        put16(v + 2 * j, t);
    }
    roundtrip(v, 2 * n, 2, 0, 0);
    free(v);
}
END_TEST

/* Weight-like inputs of random lengths and grids: these take the dense and
 * sparse level binarizations, one and two lanes (the fast decoder), and
 * the float binarization for bfloat16-like values. */
START_TEST(test_random_lengths)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(40);
    for (unsigned it = 0; it < iters; it++) {
        unsigned w = rng_below(&r, 3) ? 1 : 2;
        size_t n = rng_below(&r, 4) ? rng_below(&r, 3000) : 65536 + rng_below(&r, 40000);
        uint64_t row = 0, group = 0;
        if (rng_below(&r, 4)) {
            row = 1 + rng_below(&r, 300);
            if (n % row == 0 && n)
                group = row * (1 + rng_below(&r, 9));
            if (group && n % group)
                group = 0;
        }
        uint8_t *v = malloc(n * w + 1);
        ck_assert_ptr_nonnull(v);
        uint32_t centre = rng_below(&r, w == 1 ? 256 : 65536);
        switch (rng_below(&r, 3)) {
        case 0:
            weights(&r, v, w, n, centre, rng_below(&r, 5));
            break;
        case 1: /* pruned: mostly the centre */
            for (size_t i = 0; i < n; i++)
                put_sym(v, w, i, rng_below(&r, 10) ? centre : rng_below(&r, w == 1 ? 40 : 4000));
            break;
        default: /* bfloat16-like: exponents near 120, any sign and fraction */
            for (size_t i = 0; i < n; i++) {
                uint32_t e = 112 + rng_below(&r, 6) + rng_below(&r, 6);
                uint32_t x = rng_below(&r, 2) << 15 | e << 7 | rng_below(&r, 128);
                if (w == 2)
                    put16(v + 2 * i, (uint16_t)x);
                else
                    v[i] = (uint8_t)(x >> 7);
            }
        }
        roundtrip(v, n * w, w, row, group);
        free(v);
    }
    /* two lanes for sure: a long dense u8 stream with rows of 64 .. 300 */
    for (unsigned it = 0; it < test_iters(3); it++) {
        size_t n = 65536 + rng_below(&r, 70000);
        uint64_t row = 64 + rng_below(&r, 237);
        uint8_t *v = malloc(n);
        ck_assert_ptr_nonnull(v);
        weights(&r, v, 1, n, 100 + rng_below(&r, 50), 3);
        struct enc e = encode(v, n, 1, row, 0);
        ck_assert_uint_eq((e.params[0] >> 4) & 3, 1); /* L = 2 */
        ck_assert_int_eq(agree(&e, n), 0);
        uint8_t *out = malloc(n);
        ck_assert_ptr_nonnull(out);
        ck_assert_int_eq(lib_decode(&e, n, out), 0);
        ck_assert(memcmp(out, v, n) == 0);
        free(out);
        enc_free(&e);
        free(v);
    }
}
END_TEST

/* spec 7.4.1: each parameter rule, through check and decode. */
START_TEST(test_check_rules)
{
    const struct cnnz__coder *c = cabac();
    struct cnnz__alloc a = lib_alloc();
    uint8_t dst[8];
    static const struct {
        uint8_t p[12];
        size_t len;
        uint64_t coded, decoded;
        int ok;
    } cases[] = {
        {{0x01, 0x02, 0x07, 0x00, 0x01, 0x00}, 6, 2, 5, 1},       /* the worked example */
        {{0x01, 0x02, 0x07, 0x00, 0x01}, 5, 2, 5, 0},             /* short */
        {{0x01, 0x02, 0x07, 0x00, 0x01, 0x00, 0x00}, 7, 2, 5, 0}, /* trailing byte */
        {{0x00, 0x02, 0x07, 0x00, 0x00, 0x00}, 6, 2, 5, 0},       /* width 0 */
        {{0x03, 0x02, 0x07, 0x00, 0x00, 0x00}, 6, 2, 6, 0},       /* width 3 */
        {{0x41, 0x02, 0x07, 0x00, 0x00, 0x00}, 6, 2, 5, 0},       /* reserved bit 6 */
        {{0x81, 0x02, 0x07, 0x00, 0x00, 0x00}, 6, 2, 5, 0},       /* reserved bit 7 */
        {{0x01, 0x00, 0x07, 0x00, 0x00, 0x00}, 6, 2, 5, 0},       /* level D = 0 */
        {{0x01, 0x09, 0x07, 0x00, 0x00, 0x00}, 6, 2, 5, 0},       /* D = 9 */
        {{0x01, 0x08, 0x07, 0x00, 0x00, 0x00}, 6, 2, 5, 1},       /* D = 8 */
        {{0x01, 0x02, 0x80, 0x02, 0x00, 0x00, 0x00}, 7, 2, 5, 0}, /* centre 256 for u8 */
        {{0x02, 0x02, 0xFF, 0xFF, 0x03, 0x00, 0x00, 0x00}, 8, 2, 6, 1}, /* centre 65535 u16 */
        {{0x02, 0x02, 0x80, 0x80, 0x04, 0x00, 0x00, 0x00}, 8, 2, 6, 0}, /* centre 65536 */
        {{0x01, 0x02, 0x87, 0x00, 0x00, 0x00, 0x00}, 7, 2, 5, 0}, /* non-minimal varint */
        {{0x05, 0x00, 0x00, 0x00, 0x00, 0x00}, 6, 2, 6, 0},       /* float needs w = 2 */
        {{0x06, 0x00, 0x00, 0x00, 0x00, 0x00}, 6, 2, 6, 1},       /* float u16 */
        {{0x06, 0x01, 0x00, 0x00, 0x00, 0x00}, 6, 2, 6, 0},       /* float with D */
        {{0x06, 0x00, 0x01, 0x00, 0x00, 0x00}, 6, 2, 6, 0},       /* float with a centre */
        {{0x0E, 0x00, 0x00, 0x00, 0x00, 0x00}, 6, 2, 6, 0},       /* float sparse */
        {{0x02, 0x02, 0x07, 0x00, 0x00, 0x00}, 6, 2, 5, 0},       /* odd decoded length, w 2 */
        {{0x11, 0x02, 0x07, 0x02, 0x00, 0x00}, 6, 2, 5, 1},       /* 2 lanes, P = 2 */
        {{0x11, 0x02, 0x07, 0x01, 0x00, 0x00}, 6, 2, 5, 0},       /* 2 lanes, P = 1 < L */
        {{0x11, 0x02, 0x07, 0x06, 0x00, 0x00}, 6, 2, 5, 0},       /* 2 lanes, P = 6 > n */
        {{0x11, 0x02, 0x07, 0x00, 0x00, 0x00}, 6, 2, 5, 0},       /* 2 lanes, P = 0 */
        {{0x31, 0x02, 0x07, 0x04, 0x00, 0x00}, 6, 2, 5, 1},       /* 4 lanes, P = 4 */
        {{0x01, 0x02, 0x07, 0x00, 0x00, 0x00}, 6, 1, 0, 0},       /* empty with bytes */
        {{0x01, 0x02, 0x07, 0x00, 0x00, 0x00}, 6, 0, 0, 1},       /* empty */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int err = c->check(0, cases[k].p, cases[k].len, cases[k].coded, cases[k].decoded);
        ck_assert_msg(cases[k].ok ? err == 0 : err == CNNZ_E_CODER, "case %zu: %s", k,
                      cnnz_error_token(err));
        struct enc e = {(uint8_t *)dup_exact(cases[k].p, cases[k].len), cases[k].len,
                        dup_exact("\x00\x00\x00\x00\x00\x00\x00\x00", (size_t)cases[k].coded),
                        (size_t)cases[k].coded};
        if (!cases[k].ok) {
            err = c->decode(&a, 0, e.params, e.params_len, e.coded, e.coded_len, dst,
                            (size_t)cases[k].decoded);
            ck_assert_msg(err == CNNZ_E_CODER, "decode case %zu: %s", k, cnnz_error_token(err));
        }
        agree(&e, (size_t)cases[k].decoded);
        enc_free(&e);
    }
    ck_assert_int_eq(c->check(1, cases[0].p, cases[0].len, 2, 5), CNNZ_E_CODER); /* version */
}
END_TEST

/* spec 7.4.3 and 7.4.6 rejections on crafted bytes. */
START_TEST(test_rejections)
{
    static const uint8_t p1[] = {0x01, 0x02, 0x07, 0x00, 0x00, 0x00};
    uint8_t out[16];
    /* first 7 bytes all 0xFF */
    struct enc e = {dup_exact(p1, sizeof p1), sizeof p1,
                    dup_exact("\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 7), 7};
    ck_assert_int_eq(lib_decode(&e, 5, out), CNNZ_E_CORRUPT);
    ck_assert_int_eq(agree(&e, 5), CNNZ_E_CORRUPT);
    enc_free(&e);
    /* the worked example with a byte more than the decoder reads */
    e = (struct enc){dup_exact(p1, sizeof p1), sizeof p1, dup_exact("\x19\xC0\x00\x00\x00\x00\x00\x01", 8), 8};
    e.params[4] = 0x01;
    ck_assert_int_eq(agree(&e, 5), CNNZ_E_CORRUPT);
    enc_free(&e);
    /* a long output from no bytes: more than 7 missing bytes */
    uint8_t big[4096];
    static const uint8_t prand[] = {0x01, 0x02, 0x00, 0x00, 0x00, 0x00};
    e = (struct enc){dup_exact(prand, sizeof prand), sizeof prand, dup_exact("\x80", 1), 1};
    int err = agree(&e, sizeof big);
    ck_assert_int_eq(err, CNNZ_E_CORRUPT);
    enc_free(&e);
    /* lane byte counts: bad varint, count past the end */
    static const uint8_t p2[] = {0x11, 0x02, 0x07, 0x02, 0x00, 0x00};
    e = (struct enc){dup_exact(p2, sizeof p2), sizeof p2, dup_exact("\x80", 1), 1};
    ck_assert_int_eq(agree(&e, 5), CNNZ_E_CORRUPT);
    enc_free(&e);
    e = (struct enc){dup_exact(p2, sizeof p2), sizeof p2, dup_exact("\x05\x00\x00", 3), 3};
    ck_assert_int_eq(agree(&e, 5), CNNZ_E_CORRUPT);
    enc_free(&e);
    /* an escape prefix longer than 8w: bytes that make every bin 1 */
    static const uint8_t p3[] = {0x01, 0x01, 0x00, 0x00, 0x00, 0x00};
    e = (struct enc){dup_exact(p3, sizeof p3), sizeof p3,
                     dup_exact("\xFF\xFF\xFF\xFF\xFF\xFF\xFE\xFF\xFF\xFF\xFF", 11), 11};
    ck_assert_int_eq(agree(&e, 1), CNNZ_E_CORRUPT);
    enc_free(&e);
    /* a level below zero: centre 0, a nonzero magnitude with sign 1 */
    e = (struct enc){dup_exact(p3, sizeof p3), sizeof p3, dup_exact("\xF0", 1), 1};
    agree(&e, 1); /* whatever the verdict, both decoders give the same */
    enc_free(&e);
}
END_TEST

/* Truncations and every single-byte corruption of a few small streams: the
 * library gives the spec decoder's verdict and output, never an overrun. */
START_TEST(test_corruption_and_truncation)
{
    struct rng r;
    rng_init(&r, __func__);
    for (unsigned it = 0; it < test_iters(6); it++) {
        unsigned w = it % 3 == 2 ? 2 : 1;
        size_t n = 40 + rng_below(&r, 200);
        uint8_t *v = malloc(n * w);
        ck_assert_ptr_nonnull(v);
        if (it % 3 == 1)
            for (size_t i = 0; i < n; i++)
                v[i] = rng_below(&r, 8) ? 0 : (uint8_t)(1 + rng_below(&r, 32));
        else
            weights(&r, v, w, n, w == 1 ? 128 : 30000, 2);
        struct enc e = encode(v, n * w, w, 8, 0);
        /* truncations */
        for (size_t t = 0; t < e.coded_len; t++) {
            struct enc x = {dup_exact(e.params, e.params_len), e.params_len, dup_exact(e.coded, t), t};
            agree(&x, n * w);
            enc_free(&x);
        }
        /* every byte, every other value */
        for (size_t pos = 0; pos < e.coded_len; pos++)
            for (unsigned val = 0; val < 256; val++) {
                if (val == e.coded[pos])
                    continue;
                struct enc x = {dup_exact(e.params, e.params_len), e.params_len,
                                dup_exact(e.coded, e.coded_len), e.coded_len};
                x.coded[pos] = (uint8_t)val;
                agree(&x, n * w);
                enc_free(&x);
            }
        /* a byte appended */
        uint8_t *longer = malloc(e.coded_len + 1);
        ck_assert_ptr_nonnull(longer);
        if (e.coded_len)
            memcpy(longer, e.coded, e.coded_len);
        longer[e.coded_len] = 1;
        struct enc x = {dup_exact(e.params, e.params_len), e.params_len,
                        dup_exact(longer, e.coded_len + 1), e.coded_len + 1};
        agree(&x, n * w);
        enc_free(&x);
        free(longer);
        enc_free(&e);
        free(v);
    }
    /* a long two-lane stream: truncations and some corruptions */
    size_t n = 70000;
    uint8_t *v = malloc(n);
    ck_assert_ptr_nonnull(v);
    weights(&r, v, 1, n, 120, 3);
    struct enc e = encode(v, n, 1, 100, 0);
    for (unsigned k = 0; k < test_iters(20); k++) {
        size_t t = rng_below(&r, (uint32_t)e.coded_len);
        struct enc x = {dup_exact(e.params, e.params_len), e.params_len, dup_exact(e.coded, t), t};
        agree(&x, n);
        enc_free(&x);
        x = (struct enc){dup_exact(e.params, e.params_len), e.params_len,
                         dup_exact(e.coded, e.coded_len), e.coded_len};
        x.coded[rng_below(&r, (uint32_t)e.coded_len)] ^= (uint8_t)(1 + rng_below(&r, 255));
        agree(&x, n);
        enc_free(&x);
    }
    enc_free(&e);
    free(v);
}
END_TEST

/* Random valid parameters with random coded bytes. */
START_TEST(test_garbage)
{
    struct rng r;
    rng_init(&r, __func__);
    for (unsigned it = 0; it < test_iters(3000); it++) {
        uint8_t p[12];
        size_t plen = 0;
        unsigned w = 1 + rng_below(&r, 2), isfloat = w == 2 && rng_below(&r, 3) == 0;
        unsigned L = rng_below(&r, 3) ? 1 : 2 + rng_below(&r, 3);
        size_t n = rng_below(&r, 600);
        uint64_t P = rng_below(&r, 3) ? rng_below(&r, 40) : 0;
        if (L > 1) {
            if (n < L)
                n = L;
            P = L + rng_below(&r, (uint32_t)(n - L + 1));
        }
        p[plen++] = (uint8_t)(w | isfloat << 2 | (!isfloat && rng_below(&r, 2)) << 3 | (L - 1) << 4);
        p[plen++] = (uint8_t)(isfloat ? 0 : 1 + rng_below(&r, 8));
        uint64_t fields[4] = {isfloat ? 0 : rng_below(&r, w == 1 ? 256 : 65536), P,
                              rng_below(&r, 3) ? rng_below(&r, 50) : 0, rng_below(&r, 2) ? rng_below(&r, 50) : 0};
        for (int f = 0; f < 4; f++) {
            uint64_t x = fields[f];
            do {
                p[plen] = (uint8_t)(x & 0x7F);
                x >>= 7;
                if (x)
                    p[plen] |= 0x80;
                plen++;
            } while (x);
        }
        size_t clen = n ? rng_below(&r, 80) : 0;
        uint8_t *g = malloc(clen + 1);
        ck_assert_ptr_nonnull(g);
        rng_bytes(&r, g, clen);
        if (L > 1 && clen && rng_below(&r, 2))
            g[0] = (uint8_t)rng_below(&r, (uint32_t)clen); /* a plausible lane count */
        struct enc e = {dup_exact(p, plen), plen, dup_exact(g, clen), clen};
        ck_assert_int_eq(cabac()->check(0, e.params, e.params_len, clen, n * w), 0);
        agree(&e, n * w);
        enc_free(&e);
        free(g);
    }
}
END_TEST

/* The encoder takes any width-1/2 input and refuses width 4 (the writer
 * then codes those streams as bytes). */
START_TEST(test_encoder_inputs)
{
    struct cnnz__alloc a = lib_alloc();
    struct cnnz__symfmt f = {4, 0, 0};
    struct cnnz__buf out = {NULL, 0, 0, &a}, par = {NULL, 0, 0, &a};
    const uint8_t *coded;
    size_t clen;
    uint8_t v[8] = {0};
    ck_assert_int_eq(cabac()->encode(&a, &f, v, 8, &out, &coded, &clen, &par), CNNZ_E_UNSUPPORTED);
    ck_assert_uint_eq(par.len, 0);
    cnnz__buf_free(&out);
    cnnz__buf_free(&par);
    /* a grid that does not divide the stream, rows longer than the stream */
    uint8_t w[300];
    for (size_t i = 0; i < sizeof w; i++)
        w[i] = (uint8_t)(i * 7 % 13);
    roundtrip(w, sizeof w, 1, 7, 0);
    roundtrip(w, sizeof w, 1, 1000, 5000);
    roundtrip(w, sizeof w, 2, 3, 9);
}
END_TEST

Suite *suite_cabac(void)
{
    Suite *s = suite_create("cabac");
    TCase *tc = tcase_create("cabac");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_worked_example);
    tcase_add_test(tc, test_adversarial_distributions);
    tcase_add_test(tc, test_random_lengths);
    tcase_add_test(tc, test_check_rules);
    tcase_add_test(tc, test_rejections);
    tcase_add_test(tc, test_corruption_and_truncation);
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_encoder_inputs);
    suite_add_tcase(s, tc);
    return s;
}
