/* Check suite for coder `huffman` (spec 7.2), through the coder interface
 * (coder.h) of the static library.
 *
 * Besides round trips, the suite holds an independent reference of the spec
 * text: a decoder that reads one bit at a time and decodes codes by the
 * canonical first-code rule (ref_decode), and an encoder that writes any
 * complete code the caller gives (tw_*). The library decoder must agree with
 * the reference on every input, valid or not: same verdict, same bytes.
 * Coded inputs are exact-size heap copies (dup_exact) so ASan sees any
 * over-read, and every output buffer is followed by a sentinel byte. */
#include <stdlib.h>
#include <string.h>

#include "coder_tests.h"

#define SENTINEL 0xA5
#define LMAX(w) ((w) == 1 ? 11u : 18u)
#define ALPHA(w) ((w) == 1 ? 256u : 65536u)

static const struct cnnz__coder *huf(void)
{
    return coder_of(CNNZ_CODER_HUFFMAN);
}


/* ------------------------------------------------- reference decoder */

/* Bits of bytes [start, end) of src, least significant first (spec 7.0);
 * reading past end is remembered (every rule of 7.2 makes it an error). */
struct rbits {
    const uint8_t *src;
    size_t start, end; /* bytes */
    uint64_t pos;      /* bits from start */
    int past;
};

static unsigned rbit(struct rbits *b)
{
    uint64_t byte = b->start + b->pos / 8;
    unsigned v = 0;
    if (byte < b->end)
        v = (b->src[byte] >> (b->pos % 8)) & 1u;
    else
        b->past = 1;
    b->pos++;
    return v;
}

static uint32_t rfield(struct rbits *b, unsigned k)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < k; i++)
        v |= (uint32_t)rbit(b) << i;
    return v;
}

/* The byte after the last bit read, or 0 when the rest of that byte is not
 * zero or a bit past the end was read. */
static size_t rbits_close(struct rbits *b)
{
    if (b->past)
        return 0;
    while (b->pos % 8)
        if (rbit(b))
            return 0;
    return b->start + (size_t)(b->pos / 8);
}

/* varint (7.0): 0 on success. */
static int rvarint(const uint8_t *src, size_t n, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (*pos >= n)
            return 1;
        unsigned c = src[(*pos)++];
        if (i == 9 && c > 1)
            return 1;
        x |= (uint64_t)(c & 0x7F) << (7 * i);
        if (!(c & 0x80)) {
            if (i && !c)
                return 1;
            *v = x;
            return 0;
        }
    }
    return 1;
}

struct rcode {
    unsigned w, lmax;
    uint8_t *len; /* [alphabet] */
    uint32_t count[19], first[19], index[19];
    uint32_t *sorted; /* symbols by (length, symbol) */
};

/* spec 7.2.3; returns the byte after the description, 0 on error. */
static size_t ref_read_code(struct rcode *c, const uint8_t *src, size_t pos, size_t n,
                            uint64_t limit)
{
    const uint32_t A = ALPHA(c->w), full = UINT32_C(1) << c->lmax;
    struct rbits b = {src, pos, n, 0, 0};
    uint32_t s = 0, K = 0, nsym = 0;
    int prev = (int)c->lmax;
    memset(c->len, 0, A);
    for (;;) {
        int L;
        uint32_t reps = 1;
        if (!rbit(&b)) {
            L = prev;
        } else if (!rbit(&b)) {
            L = rbit(&b) ? prev - 1 : prev + 1;
        } else if (!rbit(&b)) {
            unsigned k = 0;
            while (!rbit(&b)) {
                if (b.past || ++k > 16)
                    return 0;
            }
            uint32_t r = (UINT32_C(1) << k) + rfield(&b, k);
            if (b.past || r > A - s)
                return 0;
            s += r;
            if (s == A)
                return 0;
            continue;
        } else if (!rbit(&b)) {
            L = rbit(&b) ? prev - 2 : prev + 2;
        } else {
            L = (int)rfield(&b, c->w == 1 ? 4 : 5);
            if (L == 0) { /* a run of r symbols of length prev */
                unsigned k = 0;
                while (!rbit(&b)) {
                    if (b.past || ++k > 16)
                        return 0;
                }
                reps = (UINT32_C(1) << k) + rfield(&b, k);
                L = prev;
            }
        }
        if (b.past || L < 1 || L > (int)c->lmax)
            return 0;
        for (; reps; reps--) {
            if (s == A || nsym + 1 > limit)
                return 0;
            c->len[s] = (uint8_t)L;
            nsym++;
            K += full >> L;
            if (K > full)
                return 0;
            s++;
        }
        prev = L;
        if (K == full)
            break;
        if (s == A)
            return 0;
    }
    /* spec 7.2.4 */
    memset(c->count, 0, sizeof c->count);
    for (uint32_t x = 0; x < A; x++)
        c->count[c->len[x]]++;
    c->count[0] = 0;
    uint32_t code = 0, idx = 0;
    for (unsigned l = 1; l <= c->lmax; l++) {
        code = (code + c->count[l - 1]) << 1;
        c->first[l] = code;
        c->index[l] = idx;
        idx += c->count[l];
    }
    uint32_t at[19];
    memcpy(at, c->index, sizeof at);
    for (uint32_t x = 0; x < A; x++)
        if (c->len[x])
            c->sorted[at[c->len[x]]++] = x;
    return rbits_close(&b);
}

static uint32_t ref_symbol(const struct rcode *c, struct rbits *b)
{
    uint32_t code = 0;
    for (unsigned l = 1; l <= c->lmax; l++) {
        code = code << 1 | rbit(b);
        if (code - c->first[l] < c->count[l])
            return c->sorted[c->index[l] + code - c->first[l]];
    }
    ck_abort_msg("complete code without a match");
    return 0;
}

static void put_sym(uint8_t *dst, unsigned w, uint32_t s)
{
    dst[0] = (uint8_t)s;
    if (w == 2)
        dst[1] = (uint8_t)(s >> 8);
}

/* spec 7.2.5; returns the byte after the block, 0 on error. */
static size_t ref_streams(const struct rcode *c, const uint8_t *src, size_t pos, size_t n,
                          uint64_t count, uint8_t *dst)
{
    const unsigned w = c->w;
    if (count < 1024) {
        struct rbits b = {src, pos, n, 0, 0};
        for (uint64_t i = 0; i < count; i++)
            put_sym(dst + w * i, w, ref_symbol(c, &b));
        return rbits_close(&b);
    }
    uint64_t z[3];
    for (int k = 0; k < 3; k++)
        if (rvarint(src, n, &pos, &z[k]))
            return 0;
    uint64_t q = (count + 3) / 4, at = pos;
    for (int k = 0; k < 4; k++) {
        uint64_t end = n;
        if (k < 3) {
            if (z[k] > n - at)
                return 0;
            end = at + z[k];
        }
        struct rbits b = {src, (size_t)at, (size_t)end, 0, 0};
        uint64_t from = q * (uint64_t)k, to = k < 3 ? from + q : count;
        for (uint64_t i = from; i < to; i++)
            put_sym(dst + w * i, w, ref_symbol(c, &b));
        size_t e = rbits_close(&b);
        if (!e || (k < 3 && e != end))
            return 0;
        at = e;
    }
    return (size_t)at;
}

/* The decoding procedure of spec 7.2.6, checks of 7.2.1 included. */
static int ref_decode(const uint8_t *params, size_t plen, const uint8_t *src, size_t n,
                      uint8_t *dst, size_t dlen)
{
    if (plen != 1 || (params[0] != 1 && params[0] != 2))
        return CNNZ_E_CODER;
    const unsigned w = params[0];
    if (dlen % w || (dlen == 0) != (n == 0))
        return CNNZ_E_CODER;
    struct rcode c = {
        w, LMAX(w), malloc(ALPHA(w)), {0}, {0}, {0}, malloc(ALPHA(w) * sizeof(uint32_t))};
    ck_assert(c.len && c.sorted);
    int have = 0, err = CNNZ_E_CORRUPT;
    size_t pos = 0;
    uint64_t N = dlen / w, out = 0;
    while (out < N) {
        uint64_t h;
        if (rvarint(src, n, &pos, &h))
            goto out;
        unsigned type = (unsigned)(h & 3);
        uint64_t count = (h >> 2) + 1;
        if (count > N - out || type == 3)
            goto out;
        uint8_t *d = dst + w * out;
        if (type == 0) {
            if (n - pos < w)
                goto out;
            for (uint64_t i = 0; i < count; i++)
                memcpy(d + w * i, src + pos, w);
            pos += w;
        } else {
            if (type == 1) {
                pos = ref_read_code(&c, src, pos, n, count);
                if (!pos)
                    goto out;
                have = 1;
            }
            if (!have)
                goto out;
            pos = ref_streams(&c, src, pos, n, count, d);
            if (!pos)
                goto out;
        }
        out += count;
    }
    if (pos == n)
        err = CNNZ_OK;
out:
    free(c.len);
    free(c.sorted);
    return err;
}

/* ------------------------------------------------- reference encoder */

struct tw {
    uint8_t *buf;
    size_t cap;
    uint64_t bits; /* bits written; whole bytes are buf[0 .. bits/8) */
};

static void tw_init(struct tw *t)
{
    t->cap = 1024;
    t->buf = calloc(t->cap, 1);
    ck_assert_ptr_nonnull(t->buf);
    t->bits = 0;
}

static void tw_put(struct tw *t, uint64_t v, unsigned k)
{
    for (unsigned i = 0; i < k; i++) {
        size_t byte = (size_t)(t->bits / 8);
        if (byte >= t->cap) {
            t->buf = realloc(t->buf, 2 * t->cap);
            ck_assert_ptr_nonnull(t->buf);
            memset(t->buf + t->cap, 0, t->cap);
            t->cap *= 2;
        }
        t->buf[byte] |= (uint8_t)(((v >> i) & 1) << (t->bits % 8));
        t->bits++;
    }
}

static void tw_align(struct tw *t)
{
    while (t->bits % 8)
        tw_put(t, 0, 1);
}

static void tw_byte(struct tw *t, unsigned v)
{
    tw_align(t);
    tw_put(t, v, 8);
}

static void tw_varint(struct tw *t, uint64_t v)
{
    do {
        unsigned c = v & 0x7F;
        v >>= 7;
        tw_byte(t, c | (v ? 0x80 : 0));
    } while (v);
}

static size_t tw_len(const struct tw *t)
{
    return (size_t)((t->bits + 7) / 8);
}

/* A code description (7.2.3) of len[] (complete). odd != 0 picks token forms
 * at random among the valid ones: raw lengths, zero runs in pieces. */
static void tw_code(struct tw *t, unsigned w, const uint8_t *len, struct rng *odd)
{
    int prev = (int)LMAX(w);
    uint32_t s = 0;
    for (uint32_t x = 0; x < ALPHA(w); x++) {
        if (!len[x])
            continue;
        while (x > s) {
            uint32_t r = x - s;
            if (odd && r > 1 && rng_below(odd, 2))
                r = 1 + rng_below(odd, r - 1);
            unsigned k = 0;
            while ((r >> (k + 1)) != 0)
                k++;
            tw_put(t, 3, 3);
            tw_put(t, 0, k);
            tw_put(t, 1, 1);
            tw_put(t, r - (UINT32_C(1) << k), k);
            s += r;
        }
        int L = len[x], d = L - prev;
        if (d == 0 && (!odd || rng_below(odd, 2))) { /* "1111 0" gamma: a run */
            uint32_t r = 1;
            while (x + r < ALPHA(w) && len[x + r] == L)
                r++;
            if (odd)
                r = 1 + rng_below(odd, r);
            unsigned k = 0;
            while ((r >> (k + 1)) != 0)
                k++;
            if (odd || 4 + (w == 1 ? 4 : 5) + 2 * k + 1 < r) {
                tw_put(t, 15, 4);
                tw_put(t, 0, w == 1 ? 4 : 5);
                tw_put(t, 0, k);
                tw_put(t, 1, 1);
                tw_put(t, r - (UINT32_C(1) << k), k);
                s = x + r;
                x += r - 1;
                continue;
            }
        }
        if (odd && rng_below(odd, 4) == 0)
            d = 99;
        if (d == 0) {
            tw_put(t, 0, 1);
        } else if (d == 1 || d == -1) {
            tw_put(t, 1, 2);
            tw_put(t, d < 0, 1);
        } else if (d == 2 || d == -2) {
            tw_put(t, 7, 4);
            tw_put(t, d < 0, 1);
        } else {
            tw_put(t, 15, 4);
            tw_put(t, (uint64_t)L, w == 1 ? 4 : 5);
        }
        prev = L;
        s = x + 1;
    }
    tw_align(t);
}

/* Canonical codes (7.2.4) of len[] into code[]. */
static void canon(unsigned w, const uint8_t *len, uint32_t *code)
{
    uint32_t count[19] = {0}, next[19];
    for (uint32_t x = 0; x < ALPHA(w); x++)
        count[len[x]]++;
    count[0] = 0;
    uint32_t c = 0;
    for (unsigned l = 1; l <= LMAX(w); l++) {
        c = (c + count[l - 1]) << 1;
        next[l] = c;
    }
    for (uint32_t x = 0; x < ALPHA(w); x++)
        if (len[x])
            code[x] = next[len[x]]++;
}

static void tw_symbols(struct tw *t, const uint8_t *len, const uint32_t *code, const uint32_t *sym,
                       uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to; i++) {
        uint32_t s = sym[i];
        for (unsigned b = len[s]; b-- > 0;)
            tw_put(t, (code[s] >> b) & 1, 1); /* most significant bit first */
    }
}

/* The bitstreams (7.2.5) of sym[0 .. count). */
static void tw_streams(struct tw *t, unsigned w, const uint8_t *len, const uint32_t *sym,
                       uint64_t count)
{
    uint32_t *code = malloc(ALPHA(w) * sizeof *code);
    ck_assert_ptr_nonnull(code);
    canon(w, len, code);
    tw_align(t);
    if (count < 1024) {
        tw_symbols(t, len, code, sym, 0, count);
        tw_align(t);
        free(code);
        return;
    }
    uint64_t q = (count + 3) / 4;
    struct tw s[4];
    for (int k = 0; k < 4; k++) {
        tw_init(&s[k]);
        tw_symbols(&s[k], len, code, sym, q * (uint64_t)k, k < 3 ? q * (uint64_t)k + q : count);
    }
    for (int k = 0; k < 3; k++)
        tw_varint(t, tw_len(&s[k]));
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < tw_len(&s[k]); i++)
            tw_byte(t, s[k].buf[i]);
        free(s[k].buf);
    }
    free(code);
}

/* Random complete lengths (max <= LMAX) for m >= 2 symbols: split leaves of a
 * full binary tree; deep != 0 always splits the deepest splittable leaf. */
static void rand_lengths(struct rng *r, unsigned w, uint32_t m, int deep, uint8_t *out)
{
    uint8_t *d = malloc(m);
    ck_assert_ptr_nonnull(d);
    uint32_t n = 2;
    d[0] = d[1] = 1;
    while (n < m) {
        uint32_t pick = UINT32_MAX;
        if (deep) {
            for (uint32_t i = 0; i < n; i++)
                if (d[i] < LMAX(w) && (pick == UINT32_MAX || d[i] > d[pick]))
                    pick = i;
        } else {
            for (int tries = 0; tries < 64 && pick == UINT32_MAX; tries++) {
                uint32_t i = rng_below(r, n);
                if (d[i] < LMAX(w))
                    pick = i;
            }
            for (uint32_t i = 0; i < n && pick == UINT32_MAX; i++)
                if (d[i] < LMAX(w))
                    pick = i;
        }
        ck_assert_uint_ne(pick, UINT32_MAX);
        d[pick]++;
        d[n++] = d[pick];
    }
    memcpy(out, d, m);
    free(d);
}

/* ------------------------------------------------- helpers */

struct coded {
    uint8_t *bytes; /* exact size */
    size_t len;
    uint8_t params[4];
    size_t plen;
};

static void encode(unsigned w, const uint8_t *src, size_t n, struct coded *c)
{
    struct cnnz__alloc a = lib_alloc();
    struct cnnz__buf out = {NULL, 0, 0, &a}, par = {NULL, 0, 0, &a};
    struct cnnz__symfmt fmt = {w, 0, 0};
    const uint8_t *p;
    size_t len;
    ck_assert_int_eq(huf()->encode(&a, &fmt, src, n, &out, &p, &len, &par), CNNZ_OK);
    ck_assert_uint_le(par.len, sizeof c->params);
    memcpy(c->params, par.data, par.len);
    c->plen = par.len;
    c->bytes = dup_exact(p, len);
    c->len = len;
    cnnz__buf_free(&out);
    cnnz__buf_free(&par);
}

/* check then decode, as a reader does; dst has dlen bytes and a sentinel. */
static int lib_decode(const uint8_t *params, size_t plen, const uint8_t *src, size_t n,
                      uint8_t *dst, size_t dlen)
{
    const struct cnnz__coder *c = huf();
    int err = c->check(0, params, plen, n, dlen);
    if (err)
        return err;
    struct cnnz__alloc a = lib_alloc();
    uint8_t *copy = dup_exact(src, n);
    err = c->decode(&a, 0, params, plen, copy, n, dst, dlen);
    free(copy);
    return err;
}

/* Library and reference agree on src (any bytes); returns the verdict. */
static int agree(const uint8_t *params, size_t plen, const uint8_t *src, size_t n, size_t dlen)
{
    uint8_t *d1 = malloc(dlen + 1), *d2 = malloc(dlen + 1);
    ck_assert(d1 && d2);
    memset(d1, 0, dlen);
    d1[dlen] = SENTINEL;
    int e1 = lib_decode(params, plen, src, n, d1, dlen);
    int e2 = ref_decode(params, plen, src, n, d2, dlen);
    ck_assert_int_eq(d1[dlen], SENTINEL);
    ck_assert_msg(e1 == e2, "library %s, reference %s (coded %zu bytes, decoded %zu)",
                  cnnz_error_token(e1), cnnz_error_token(e2), n, dlen);
    if (!e1 && dlen)
        ck_assert(memcmp(d1, d2, dlen) == 0);
    free(d1);
    free(d2);
    return e1;
}

/* Encode (twice: same bytes), check, decode with the library and the
 * reference; returns the coded size. */
static size_t roundtrip(unsigned w, const uint8_t *src, size_t n)
{
    struct coded c, c2;
    encode(w, src, n, &c);
    encode(w, src, n, &c2);
    ck_assert_uint_eq(c.len, c2.len);
    ck_assert(c.len == 0 || memcmp(c.bytes, c2.bytes, c.len) == 0);
    ck_assert_uint_eq(c.plen, 1);
    ck_assert_uint_eq(c.params[0], w);
    ck_assert_int_eq(huf()->check(0, c.params, c.plen, c.len, n), CNNZ_OK);
    uint8_t *dst = malloc(n + 1);
    ck_assert_ptr_nonnull(dst);
    dst[n] = SENTINEL;
    ck_assert_int_eq(lib_decode(c.params, c.plen, c.bytes, c.len, dst, n), CNNZ_OK);
    ck_assert_int_eq(dst[n], SENTINEL);
    ck_assert(n == 0 || memcmp(dst, src, n) == 0);
    ck_assert_int_eq(ref_decode(c.params, c.plen, c.bytes, c.len, dst, n), CNNZ_OK);
    ck_assert(n == 0 || memcmp(dst, src, n) == 0);
    /* one symbol short: the stream codes more symbols than asked for */
    if (n >= w) {
        dst[n - w] = SENTINEL;
        int err = lib_decode(c.params, c.plen, c.bytes, c.len, dst, n - w);
        ck_assert(err == CNNZ_E_CORRUPT || err == CNNZ_E_CODER);
        ck_assert_int_eq(dst[n - w], SENTINEL);
    }
    free(dst);
    free(c.bytes);
    free(c2.bytes);
    return c.len;
}

/* Symbols drawn from a random distribution with a random alphabet in use. */
static void rand_symbols(struct rng *r, unsigned w, uint8_t *dst, size_t nsym)
{
    uint32_t A = ALPHA(w);
    uint32_t used = 1 + rng_below(r, rng_below(r, 2) ? A : 64);
    uint32_t base = rng_below(r, A), stride = 1 + rng_below(r, 5);
    unsigned shape = rng_below(r, 4);
    for (size_t i = 0; i < nsym; i++) {
        uint32_t k;
        switch (shape) {
        case 0: /* uniform */
            k = rng_below(r, used);
            break;
        case 1: /* geometric-ish: extreme skew */
            k = 0;
            while (k + 1 < used && rng_below(r, 8) == 0)
                k++;
            break;
        case 2: /* triangular, like quantized weights */
            k = (rng_below(r, used) + rng_below(r, used)) / 2;
            break;
        default: /* regimes that change along the stream */
            k = (uint32_t)((i / 5000 % 3) * used / 3 + rng_below(r, used / 3 + 1)) % used;
            break;
        }
        put_sym(dst + w * i, w, (base + k * stride) % A);
    }
}

/* ------------------------------------------------- tests */

START_TEST(test_check_rules)
{
    const struct cnnz__coder *c = huf();
    uint8_t p1[1] = {1}, p2[1] = {2}, bad[2] = {1, 0};
    ck_assert_int_eq(c->check(0, p1, 1, 2, 3), CNNZ_OK);
    ck_assert_int_eq(c->check(0, p2, 1, 2, 4), CNNZ_OK);
    ck_assert_int_eq(c->check(0, p1, 1, 0, 0), CNNZ_OK);
    ck_assert_int_eq(c->check(1, p1, 1, 2, 3), CNNZ_E_CODER); /* version */
    ck_assert_int_eq(c->check(0, p1, 0, 2, 3), CNNZ_E_CODER); /* params length */
    ck_assert_int_eq(c->check(0, bad, 2, 2, 3), CNNZ_E_CODER);
    for (unsigned v = 0; v < 256; v++) {
        uint8_t p[1] = {(uint8_t)v};
        ck_assert_int_eq(c->check(0, p, 1, 2, 4), v == 1 || v == 2 ? CNNZ_OK : CNNZ_E_CODER);
    }
    ck_assert_int_eq(c->check(0, p2, 1, 2, 3), CNNZ_E_CODER); /* not whole symbols */
    ck_assert_int_eq(c->check(0, p1, 1, 0, 3), CNNZ_E_CODER); /* nothing coded */
    ck_assert_int_eq(c->check(0, p1, 1, 2, 0), CNNZ_E_CODER); /* bytes for nothing */
    ck_assert_uint_eq(c->version, 0);
    ck_assert_uint_eq(c->identity, 0);
    ck_assert_str_eq(c->name, "huffman");
    ck_assert_int_eq(cnnz_coder_from_name("huffman"), CNNZ_CODER_HUFFMAN);
}
END_TEST

START_TEST(test_widths)
{
    struct cnnz__alloc a = lib_alloc();
    struct cnnz__buf out = {NULL, 0, 0, &a}, par = {NULL, 0, 0, &a};
    const uint8_t src[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const uint8_t *p;
    size_t len;
    for (unsigned w = 3; w <= 8; w++) {
        struct cnnz__symfmt fmt = {w, 0, 0};
        ck_assert_int_eq(huf()->encode(&a, &fmt, src, 8, &out, &p, &len, &par), CNNZ_E_UNSUPPORTED);
    }
    cnnz__buf_free(&out);
    cnnz__buf_free(&par);
}
END_TEST

START_TEST(test_empty_and_single)
{
    for (unsigned w = 1; w <= 2; w++) {
        struct coded c;
        encode(w, (const uint8_t *)"", 0, &c);
        ck_assert_uint_eq(c.len, 0);
        ck_assert_uint_eq(c.plen, 1);
        ck_assert_uint_eq(c.params[0], w);
        uint8_t s = SENTINEL;
        ck_assert_int_eq(lib_decode(c.params, 1, c.bytes, 0, &s, 0), CNNZ_OK);
        ck_assert_int_eq(s, SENTINEL);
        free(c.bytes);
        /* one symbol: a run block of count 1, "00" then the symbol */
        const uint8_t one[2] = {0x34, 0x12};
        encode(w, one, w, &c);
        ck_assert_uint_eq(c.len, 1 + w);
        ck_assert_uint_eq(c.bytes[0], 0x00);
        ck_assert(memcmp(c.bytes + 1, one, w) == 0);
        free(c.bytes);
        roundtrip(w, one, w);
    }
}
END_TEST

/* spec 7.2.2: a single distinct symbol is run blocks, of at most 65536
 * symbols each so that the stream stays within spec 5.3.1's expansion cap. */
START_TEST(test_one_symbol_only)
{
    static const size_t counts[] = {2, 5, 1023, 1024, 4096, 4097, 65536, 65537, 300000};
    for (unsigned w = 1; w <= 2; w++)
        for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
            size_t n = counts[i];
            uint8_t *src = malloc(n * w);
            ck_assert_ptr_nonnull(src);
            for (size_t k = 0; k < n; k++)
                put_sym(src + w * k, w, 0xBEEF);
            struct coded c;
            encode(w, src, n * w, &c);
            /* per block of k symbols: header varint (k-1) << 2 | 0, then the symbol */
            uint8_t expect[64];
            size_t e = 0;
            for (size_t left = n; left;) {
                size_t k = left < 65536 ? left : 65536;
                uint64_t h = (uint64_t)(k - 1) << 2;
                do {
                    expect[e++] = (uint8_t)((h & 0x7F) | (h > 0x7F ? 0x80 : 0));
                    h >>= 7;
                } while (h);
                put_sym(expect + e, w, 0xBEEF);
                e += w;
                left -= k;
            }
            ck_assert_uint_eq(c.len, e);
            ck_assert_uint_le(n * w, (c.len << 20) + 65536); /* spec 5.3.1 */
            ck_assert(memcmp(c.bytes, expect, e) == 0);
            free(c.bytes);
            roundtrip(w, src, n * w);
            free(src);
        }
}
END_TEST

START_TEST(test_equiprobable)
{
    struct rng r;
    rng_init(&r, __func__);
    /* width 1: every byte value k times, shuffled: 8 bits a symbol */
    for (unsigned k = 1; k <= 64; k *= 4) {
        size_t n = 256 * k;
        uint8_t *src = malloc(n);
        ck_assert_ptr_nonnull(src);
        for (size_t i = 0; i < n; i++)
            src[i] = (uint8_t)i;
        for (size_t i = n; i > 1; i--) {
            size_t j = rng_below(&r, (uint32_t)i);
            uint8_t t = src[i - 1];
            src[i - 1] = src[j];
            src[j] = t;
        }
        size_t len = roundtrip(1, src, n);
        ck_assert_uint_ge(len, n);
        ck_assert_uint_le(len, n + 64);
        free(src);
    }
    /* width 2: the full 65536-symbol alphabet, once and twice: 16 bits each */
    for (unsigned k = 1; k <= 2; k++) {
        size_t n = 65536 * k;
        uint8_t *src = malloc(2 * n);
        ck_assert_ptr_nonnull(src);
        for (size_t i = 0; i < n; i++)
            put_sym(src + 2 * i, 2, (uint32_t)(i * 40503u) & 0xFFFF);
        size_t len = roundtrip(2, src, 2 * n);
        ck_assert_uint_ge(len, 2 * n);
        ck_assert_uint_le(len, 2 * n + 256);
        free(src);
    }
}
END_TEST

/* A few distinct u16 values spread over the alphabet: the description costs
 * a few bytes per symbol in use, not 65536 lengths. */
START_TEST(test_sparse_width2)
{
    struct rng r;
    rng_init(&r, __func__);
    uint16_t vals[40];
    for (int i = 0; i < 40; i++)
        vals[i] = (uint16_t)rng_u64(&r);
    for (size_t n = 40; n <= 40000; n *= 10) {
        uint8_t *src = malloc(2 * n);
        ck_assert_ptr_nonnull(src);
        for (size_t i = 0; i < n; i++)
            put_sym(src + 2 * i, 2, vals[i < 40 ? i : rng_below(&r, 40)]);
        size_t len = roundtrip(2, src, 2 * n);
        /* 40 symbols: at most 6 bits of payload each, and under 8 bytes
         * of description each */
        ck_assert_uint_le(len, n * 6 / 8 + 40 * 8 + 32);
        free(src);
    }
}
END_TEST

/* Fibonacci counts make Huffman codes as deep as the alphabet: the
 * length limit (package-merge) must apply, for both widths. */
START_TEST(test_extreme_skew)
{
    struct rng r;
    rng_init(&r, __func__);
    for (unsigned w = 1; w <= 2; w++) {
        for (int m = 12; m <= 30; m += 6) {
            uint64_t f0 = 1, f1 = 1;
            size_t n = 0, cap = 4 << 20;
            uint8_t *src = malloc(cap * w);
            ck_assert_ptr_nonnull(src);
            for (int i = 0; i < m; i++) {
                for (uint64_t k = 0; k < f0; k++)
                    put_sym(src + w * n++, w, (uint32_t)i * 97u);
                uint64_t t = f0 + f1;
                f0 = f1;
                f1 = t;
            }
            for (size_t i = n; i > 1; i--) { /* shuffle: every block sees every symbol */
                size_t j = rng_below(&r, (uint32_t)i);
                uint8_t t[2];
                memcpy(t, src + w * (i - 1), w);
                memcpy(src + w * (i - 1), src + w * j, w);
                memcpy(src + w * j, t, w);
            }
            roundtrip(w, src, n * w);
            free(src);
        }
        /* one symbol at 99.99%, a few rare ones */
        size_t n = 200000;
        uint8_t *src = malloc(n * w);
        ck_assert_ptr_nonnull(src);
        for (size_t i = 0; i < n; i++)
            put_sym(src + w * i, w, i % 10000 == 17 ? (uint32_t)(i / 10000) : 200u);
        roundtrip(w, src, n * w);
        free(src);
    }
}
END_TEST

START_TEST(test_random_roundtrips)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(120);
    for (unsigned it = 0; it < iters; it++) {
        unsigned w = 1 + rng_below(&r, 2);
        size_t n;
        switch (rng_below(&r, 4)) {
        case 0:
            n = rng_below(&r, 16);
            break;
        case 1:
            n = rng_below(&r, 2048);
            break;
        case 2:
            n = 1000 + rng_below(&r, 60);
            break;
        default:
            n = rng_below(&r, 40000);
            break;
        }
        uint8_t *src = malloc(n * w + 1);
        ck_assert_ptr_nonnull(src);
        rand_symbols(&r, w, src, n);
        roundtrip(w, src, n * w);
        free(src);
    }
}
END_TEST

/* Streams the encoder does not write: any complete code, every token form,
 * several blocks of every type; the library must decode them as the
 * reference does. */
START_TEST(test_random_codes)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(60);
    uint8_t *len = malloc(65536), *lens = malloc(65536);
    uint32_t *perm = malloc(65536 * sizeof *perm), *sym = NULL;
    ck_assert(len && lens && perm);
    for (unsigned it = 0; it < iters; it++) {
        unsigned w = 1 + rng_below(&r, 2);
        uint32_t A = ALPHA(w);
        struct tw t;
        tw_init(&t);
        size_t total = 0, cap = 0;
        uint8_t *expect = NULL;
        int have = 0;
        unsigned blocks = 1 + rng_below(&r, 4);
        for (unsigned b = 0; b < blocks; b++) {
            unsigned type = rng_below(&r, 3);
            if (type == 2 && !have)
                type = 1;
            uint32_t m = 0;
            if (type == 1) {
                m = 2 + rng_below(&r, rng_below(&r, 2) ? 30 : (w == 1 ? 255 : 3000));
                rand_lengths(&r, w, m, rng_below(&r, 3) == 0, lens);
                for (uint32_t x = 0; x < A; x++)
                    perm[x] = x;
                for (uint32_t i = 0; i < m; i++) { /* m random distinct symbols */
                    uint32_t j = i + rng_below(&r, A - i), v = perm[i];
                    perm[i] = perm[j];
                    perm[j] = v;
                }
                memset(len, 0, A);
                for (uint32_t i = 0; i < m; i++)
                    len[perm[i]] = lens[i];
                have = 1;
            }
            uint64_t count = 1 + rng_below(&r, rng_below(&r, 2) ? 60 : 5000);
            if (type == 1 && count < m)
                count = m; /* a code has no more symbols than its block */
            if (total + count > cap) {
                cap = 2 * (total + count);
                expect = realloc(expect, cap * w);
                sym = realloc(sym, cap * sizeof *sym);
                ck_assert(expect && sym);
            }
            tw_varint(&t, (count - 1) << 2 | type);
            if (type == 0) {
                uint32_t s = rng_below(&r, A);
                for (uint64_t i = 0; i < count; i++)
                    put_sym(expect + w * (total + i), w, s);
                tw_byte(&t, s & 0xFF);
                if (w == 2)
                    tw_byte(&t, s >> 8);
            } else {
                if (type == 1)
                    tw_code(&t, w, len, rng_below(&r, 2) ? &r : NULL);
                uint32_t present = 0;
                for (uint32_t x = 0; x < A; x++)
                    if (len[x])
                        perm[present++] = x;
                for (uint64_t i = 0; i < count; i++) {
                    uint32_t s = perm[i < present && type == 1 ? i : rng_below(&r, present)];
                    sym[total + i] = s;
                    put_sym(expect + w * (total + i), w, s);
                }
                tw_streams(&t, w, len, sym + total, count);
            }
            total += count;
        }
        uint8_t params[1] = {(uint8_t)w};
        uint8_t *dst = malloc(total * w + 1);
        ck_assert_ptr_nonnull(dst);
        dst[total * w] = SENTINEL;
        ck_assert_int_eq(lib_decode(params, 1, t.buf, tw_len(&t), dst, total * w), CNNZ_OK);
        ck_assert(memcmp(dst, expect, total * w) == 0);
        ck_assert_int_eq(dst[total * w], SENTINEL);
        ck_assert_int_eq(agree(params, 1, t.buf, tw_len(&t), total * w), CNNZ_OK);
        free(dst);
        free(t.buf);
        free(expect);
    }
    free(len);
    free(lens);
    free(perm);
    free(sym);
}
END_TEST

/* Width-2 codes of every depth in blocks below and above the sizes where a
 * decoder may change its table layout (libcnnz: 4096 symbols). */
START_TEST(test_width2_tables)
{
    struct rng r;
    rng_init(&r, __func__);
    static const uint32_t ms[] = {2, 3, 40, 200, 3000, 20000};
    static const uint64_t counts[] = {1023, 1024, 4095, 4096, 30000};
    uint8_t *len = malloc(65536), *lens = malloc(65536);
    uint32_t *perm = malloc(65536 * sizeof *perm), *sym = malloc(30000 * sizeof *sym);
    uint8_t *expect = malloc(60000), *dst = malloc(60001);
    ck_assert(len && lens && perm && sym && expect && dst);
    for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
        for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++)
            for (int deep = 0; deep <= 1; deep++) {
                uint32_t m = ms[mi];
                uint64_t count = counts[ci];
                if (count < m)
                    continue;
                rand_lengths(&r, 2, m, deep, lens);
                for (uint32_t x = 0; x < 65536; x++)
                    perm[x] = x;
                for (uint32_t i = 0; i < m; i++) {
                    uint32_t j = i + rng_below(&r, 65536 - i), v = perm[i];
                    perm[i] = perm[j];
                    perm[j] = v;
                }
                memset(len, 0, 65536);
                for (uint32_t i = 0; i < m; i++)
                    len[perm[i]] = lens[i];
                for (uint64_t i = 0; i < count; i++) {
                    sym[i] = perm[i < m ? i : rng_below(&r, m)];
                    put_sym(expect + 2 * i, 2, sym[i]);
                }
                struct tw t;
                tw_init(&t);
                tw_varint(&t, (count - 1) << 2 | 1);
                tw_code(&t, 2, len, NULL);
                tw_streams(&t, 2, len, sym, count);
                uint8_t params[1] = {2};
                dst[2 * count] = SENTINEL;
                ck_assert_int_eq(lib_decode(params, 1, t.buf, tw_len(&t), dst, 2 * count),
                                 CNNZ_OK);
                ck_assert(memcmp(dst, expect, 2 * count) == 0);
                ck_assert_int_eq(dst[2 * count], SENTINEL);
                free(t.buf);
            }
    free(len);
    free(lens);
    free(perm);
    free(sym);
    free(expect);
    free(dst);
}
END_TEST

/* spec 7.2.7, byte for byte. */
static const uint8_t ex_in[16] = {0x7E, 0x81, 0x7C, 0x7E, 0x81, 0x7D, 0x82, 0x7E,
                                  0x81, 0x80, 0x7C, 0x7D, 0x82, 0x7E, 0x81, 0x84};
static const uint8_t ex_out[14] = {0x3D, 0x03, 0xF2, 0x3F, 0xBA, 0xE7, 0x66,
                                   0x03, 0x18, 0xEC, 0xF0, 0xD2, 0xE1, 0x03};

START_TEST(test_worked_example)
{
    struct coded c;
    encode(1, ex_in, sizeof ex_in, &c);
    ck_assert_uint_eq(c.len, sizeof ex_out);
    ck_assert_msg(memcmp(c.bytes, ex_out, sizeof ex_out) == 0, "coded bytes differ from 7.2.7");
    free(c.bytes);
    const uint8_t p1[1] = {1};
    uint8_t dst[17];
    dst[16] = SENTINEL;
    ck_assert_int_eq(lib_decode(p1, 1, ex_out, sizeof ex_out, dst, 16), CNNZ_OK);
    ck_assert(memcmp(dst, ex_in, 16) == 0);
    ck_assert_int_eq(dst[16], SENTINEL);
    ck_assert_int_eq(ref_decode(p1, 1, ex_out, sizeof ex_out, dst, 16), CNNZ_OK);
    ck_assert(memcmp(dst, ex_in, 16) == 0);
    /* the run example: five times 0x80 */
    const uint8_t run_in[5] = {0x80, 0x80, 0x80, 0x80, 0x80}, run_out[2] = {0x10, 0x80};
    encode(1, run_in, 5, &c);
    ck_assert_uint_eq(c.len, 2);
    ck_assert(memcmp(c.bytes, run_out, 2) == 0);
    free(c.bytes);
    roundtrip(1, run_in, 5);
    /* the worked example as a repeat block after itself: 7.2.2 type 2 */
    uint8_t two[14 + 1 + 6];
    memcpy(two, ex_out, 14);
    two[14] = 0x3E; /* count 16, type 2 */
    memcpy(two + 15, ex_out + 8, 6);
    uint8_t dd[33];
    dd[32] = SENTINEL;
    ck_assert_int_eq(lib_decode(p1, 1, two, sizeof two, dd, 32), CNNZ_OK);
    ck_assert(memcmp(dd, ex_in, 16) == 0 && memcmp(dd + 16, ex_in, 16) == 0);
    ck_assert_int_eq(dd[32], SENTINEL);
    ck_assert_int_eq(agree(p1, 1, two, sizeof two, 32), CNNZ_OK);
}
END_TEST

/* Hand-made violations of single rules of 7.2 (CNNZ_E_CORRUPT each). */
static void bad(unsigned w, const uint8_t *src, size_t n, size_t dlen)
{
    uint8_t params[1] = {(uint8_t)w};
    ck_assert_int_eq(agree(params, 1, src, n, dlen), CNNZ_E_CORRUPT);
}

START_TEST(test_rejections)
{
    /* type 3 */
    bad(1, (const uint8_t[]){0x03, 0x00}, 2, 1);
    /* repeat without a code before */
    bad(1, (const uint8_t[]){0x02, 0x00}, 2, 1);
    /* count beyond the symbols left; a run missing its symbol */
    bad(1, (const uint8_t[]){0x04, 0x41}, 2, 1);
    bad(2, (const uint8_t[]){0x00, 0x41}, 2, 2);
    /* bytes after the last block; a block missing after the first */
    bad(1, (const uint8_t[]){0x00, 0x41, 0x00}, 3, 1);
    bad(1, (const uint8_t[]){0x00, 0x41}, 2, 2);
    /* header varint: non-minimal, truncated */
    bad(1, (const uint8_t[]){0x80, 0x00, 0x41}, 3, 1);
    bad(1, (const uint8_t[]){0x80}, 1, 1);
    /* Width 1 descriptions (LMAX 11). The valid one: count 2, type 1;
     * "1111 1000" raw length 1 for symbol 0, "0" the same for symbol 1, then
     * the stream "0" "1" (symbols 0, 1). */
    const uint8_t ok[] = {0x05, 0x1F, 0x00, 0x02};
    uint8_t params[1] = {1};
    ck_assert_int_eq(agree(params, 1, ok, sizeof ok, 2), CNNZ_OK);
    /* oversubscribed: lengths 2, 2, 2, then 1 ("10 1") */
    bad(1, (const uint8_t[]){0x0D, 0x2F, 0x14, 0x00}, 4, 4);
    /* oversubscribed by a literal run: length 1, then three more of length 1
     * ("1111 0000", gamma 3 = "0 1 1") */
    bad(1, (const uint8_t[]){0x0D, 0x1F, 0x0F, 0x06, 0x00}, 5, 4);
    /* width 2, count 65536: lengths 18 and 1, a literal run of 32768 more of
     * length 1 (K jumps over 2^18 and, summed in 32 bits, would wrap to
     * 1 + 2^17), then lengths 2, 3, ..., 18 that would complete the wrapped
     * sum */
    struct tw t;
    tw_init(&t);
    tw_varint(&t, 65535 << 2 | 1);
    tw_put(&t, 15, 4);
    tw_put(&t, 18, 5);
    tw_put(&t, 15, 4);
    tw_put(&t, 1, 5);
    tw_put(&t, 15, 4);
    tw_put(&t, 0, 5);
    tw_put(&t, 1u << 15, 16); /* gamma: 15 zeros, a one */
    tw_put(&t, 0, 15);
    for (int i = 0; i < 17; i++)
        tw_put(&t, 1, 3); /* step 1 up: "1 0 0" */
    tw_align(&t);
    bad(2, t.buf, tw_len(&t), 131072);
    free(t.buf);
    /* incomplete: length 2 for symbol 0, then a run of the 255 others */
    bad(1, (const uint8_t[]){0x05, 0x2F, 0x03, 0xFE, 0x01}, 5, 2);
    /* a run past the alphabet: length 2, then a run of 256 */
    bad(1, (const uint8_t[]){0x05, 0x2F, 0x03, 0x08, 0x00}, 5, 2);
    /* raw length 0 and raw length 12 */
    bad(1, (const uint8_t[]){0x05, 0x0F, 0x00}, 3, 2);
    bad(1, (const uint8_t[]){0x05, 0xCF, 0x00}, 3, 2);
    /* prev = LMAX, then +1 ("10 0") or +2 ("1110 0") */
    bad(1, (const uint8_t[]){0x05, 0x01, 0x00}, 3, 2);
    bad(1, (const uint8_t[]){0x05, 0x07, 0x00}, 3, 2);
    /* more symbols in the code than in the block (count 1) */
    bad(1, (const uint8_t[]){0x01, 0x1F, 0x00, 0x00}, 4, 1);
    /* description padding not zero */
    bad(1, (const uint8_t[]){0x05, 0x1F, 0x02, 0x02}, 4, 2);
    /* stream padding not zero, stream cut, a spare byte after the stream */
    bad(1, (const uint8_t[]){0x05, 0x1F, 0x00, 0x06}, 4, 2);
    bad(1, (const uint8_t[]){0x05, 0x1F, 0x00}, 3, 2);
    bad(1, (const uint8_t[]){0x05, 0x1F, 0x00, 0x02, 0x00}, 5, 2);
    /* width 2: a run whose gamma has 17 zeros */
    bad(2, (const uint8_t[]){0x05, 0x03, 0x00, 0x00, 0x00}, 5, 4);
}
END_TEST

/* Four-stream blocks (7.2.5): changes to the header, description, jump table
 * and a sample of stream bytes, both widths. */
START_TEST(test_jump_table)
{
    struct rng r;
    rng_init(&r, __func__);
    size_t n = 4000;
    uint8_t *src = malloc(2 * n);
    ck_assert_ptr_nonnull(src);
    for (unsigned w = 1; w <= 2; w++) {
        for (size_t i = 0; i < n; i++)
            put_sym(src + w * i, w, rng_below(&r, 9) + rng_below(&r, 9) + 300 * (w - 1));
        struct coded c;
        encode(w, src, n * w, &c);
        ck_assert_int_eq(agree(c.params, 1, c.bytes, c.len, n * w), CNNZ_OK);
        uint8_t *m = malloc(c.len);
        ck_assert_ptr_nonnull(m);
        for (unsigned k = 0; k < 48 + 64; k++) {
            size_t i = k < 48 ? k % c.len : rng_below(&r, (uint32_t)c.len);
            for (int d = -1; d <= 1; d += 2) {
                memcpy(m, c.bytes, c.len);
                m[i] = (uint8_t)(m[i] + d);
                agree(c.params, 1, m, c.len, n * w);
            }
        }
        free(m);
        free(c.bytes);
    }
    free(src);
}
END_TEST

START_TEST(test_truncations)
{
    struct rng r;
    rng_init(&r, __func__);
    for (unsigned it = 0; it < test_iters(12); it++) {
        unsigned w = 1 + it % 2;
        size_t n = it < 4 ? 30 : 200 + rng_below(&r, 3000);
        uint8_t *src = malloc(n * w);
        ck_assert_ptr_nonnull(src);
        rand_symbols(&r, w, src, n);
        struct coded c;
        encode(w, src, n * w, &c);
        for (size_t k = 0; k < c.len; k++) {
            int err = agree(c.params, 1, c.bytes, k, n * w);
            ck_assert(err == CNNZ_E_CORRUPT || err == CNNZ_E_CODER);
        }
        free(c.bytes);
        free(src);
    }
}
END_TEST

/* Every single-byte change of a few small streams: the library says what the
 * reference says (most are errors; a changed symbol may still decode). */
START_TEST(test_corruptions)
{
    struct rng r;
    rng_init(&r, __func__);
    for (unsigned it = 0; it < 6; it++) {
        unsigned w = 1 + it % 2;
        size_t n = 8 + rng_below(&r, 40);
        uint8_t *src = malloc(n * w);
        ck_assert_ptr_nonnull(src);
        rand_symbols(&r, w, src, n);
        struct coded c;
        encode(w, src, n * w, &c);
        uint8_t *m = malloc(c.len);
        ck_assert_ptr_nonnull(m);
        for (size_t i = 0; i < c.len; i++)
            for (unsigned v = 0; v < 256; v++) {
                if (v == c.bytes[i])
                    continue;
                memcpy(m, c.bytes, c.len);
                m[i] = (uint8_t)v;
                agree(c.params, 1, m, c.len, n * w);
            }
        free(m);
        free(c.bytes);
        free(src);
    }
    /* the worked example too */
    const uint8_t p1[1] = {1};
    uint8_t m[14];
    for (size_t i = 0; i < 14; i++)
        for (unsigned v = 0; v < 256; v++) {
            memcpy(m, ex_out, 14);
            m[i] = (uint8_t)v;
            agree(p1, 1, m, 14, 16);
        }
}
END_TEST

/* Random bytes, and random bytes behind a valid prefix. */
START_TEST(test_garbage)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(3000);
    uint8_t buf[600];
    for (unsigned it = 0; it < iters; it++) {
        unsigned w = 1 + rng_below(&r, 2);
        size_t n = 1 + rng_below(&r, sizeof buf), dlen = w * (1 + rng_below(&r, 300));
        rng_bytes(&r, buf, n);
        switch (rng_below(&r, 4)) {
        case 0: /* a plausible header: type 1 with a small count */
            buf[0] = (uint8_t)((rng_below(&r, 32) << 2) | 1);
            dlen = w * (1 + (buf[0] >> 2) + rng_below(&r, 3));
            break;
        case 1: /* sparse bits: long zero-bit stretches */
            for (size_t i = 1; i < n; i++)
                buf[i] &= (uint8_t)rng_u64(&r);
            buf[0] = (uint8_t)((rng_below(&r, 32) << 2) | 1);
            dlen = w * (1 + (buf[0] >> 2));
            break;
        default:
            break;
        }
        uint8_t params[1] = {(uint8_t)w};
        agree(params, 1, buf, n, dlen);
    }
}
END_TEST

START_TEST(test_alloc_failures)
{
    size_t n = 30000;
    uint8_t *src = malloc(2 * n);
    ck_assert_ptr_nonnull(src);
    struct rng r;
    rng_init(&r, __func__);
    for (unsigned w = 1; w <= 2; w++) {
        for (size_t i = 0; i < n; i++)
            put_sym(src + w * i, w,
                    (uint32_t)(rng_below(&r, 300) + rng_below(&r, 300) * (w - 1) * 7));
        struct coded c;
        encode(w, src, n * w, &c);
        for (long fail = 0;; fail++) {
            struct test_alloc ta;
            test_alloc_init(&ta, fail);
            struct cnnz_allocator hooks = test_alloc_hooks(&ta);
            struct cnnz__alloc a;
            cnnz__alloc_init(&a, &hooks);
            struct cnnz__buf out = {NULL, 0, 0, &a}, par = {NULL, 0, 0, &a};
            struct cnnz__symfmt fmt = {w, 0, 0};
            const uint8_t *p;
            size_t len;
            int e1 = huf()->encode(&a, &fmt, src, n * w, &out, &p, &len, &par);
            ck_assert(e1 == CNNZ_OK || e1 == CNNZ_E_NOMEM);
            if (!e1)
                ck_assert(len == c.len && memcmp(p, c.bytes, len) == 0);
            cnnz__buf_free(&out);
            cnnz__buf_free(&par);
            uint8_t *dst = malloc(n * w);
            ck_assert_ptr_nonnull(dst);
            int e2 = huf()->decode(&a, 0, c.params, 1, c.bytes, c.len, dst, n * w);
            ck_assert(e2 == CNNZ_OK || e2 == CNNZ_E_NOMEM);
            if (!e2)
                ck_assert(memcmp(dst, src, n * w) == 0);
            free(dst);
            ck_assert_int_eq(ta.live, 0);
            if (!e1 && !e2)
                break;
            ck_assert_int_lt(fail, 100);
        }
        free(c.bytes);
    }
    free(src);
}
END_TEST

Suite *suite_huffman(void)
{
    Suite *s = suite_create("huffman");
    TCase *tc = tcase_create("huffman");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_check_rules);
    tcase_add_test(tc, test_widths);
    tcase_add_test(tc, test_empty_and_single);
    tcase_add_test(tc, test_one_symbol_only);
    tcase_add_test(tc, test_equiprobable);
    tcase_add_test(tc, test_sparse_width2);
    tcase_add_test(tc, test_extreme_skew);
    tcase_add_test(tc, test_random_roundtrips);
    tcase_add_test(tc, test_random_codes);
    tcase_add_test(tc, test_width2_tables);
    tcase_add_test(tc, test_worked_example);
    tcase_add_test(tc, test_rejections);
    tcase_add_test(tc, test_jump_table);
    tcase_add_test(tc, test_truncations);
    tcase_add_test(tc, test_corruptions);
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_alloc_failures);
    suite_add_tcase(s, tc);
    return s;
}
