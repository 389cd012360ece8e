/* Coder `cabac` (spec 7.4): context-adaptive binary arithmetic coding of
 * integer symbols (u8 or u16).
 *
 * A symbol is turned into a few binary decisions (bins, spec 7.4.4-7.4.5);
 * each bin is coded by a binary range coder (7.4.3) with a probability that
 * adapts per context (7.4.2). Contexts come from a running "activity" of the
 * previous symbols in stream order and of the symbols one column period back
 * (the tensor's rows), and from the signs of two neighbours. The stream may be
 * split into lanes (7.4.6): independent sets of columns with their own coder
 * and model, so a decoder can interleave them.
 *
 * Layout of this file: constants and parameters, the probability state, the
 * range decoder and encoder, lanes and neighbours, the reference decoder, a
 * faster decoder for the common case (dense u8 levels), the encoder and its
 * parameter search, and the coder table entry. */
#include <stdlib.h>

#include "bitio.h"
#include "coder.h"

/* ------------------------------------------------------------ constants */

/* spec 7.4.1: params byte 0 */
#define CB_W_MASK 0x03u
#define CB_FLOAT 0x04u
#define CB_SPARSE 0x08u
#define CB_LANES_SHIFT 4
#define CB_RESERVED 0xC0u
#define CB_MAX_LANES 4u
#define CB_MAX_DEPTH 8u

/* spec 7.4.3: the range coder keeps a 56-bit window and renormalises by
 * 32 bits when the range falls below 2^24 */
#define CB_TOP ((UINT64_C(1) << 56) - 1)
#define CB_RMIN (UINT64_C(1) << 24)
#define CB_INIT_BYTES 7u
#define CB_MAX_MISSING 7u

/* spec 7.4.4: activity contexts */
#define CB_NACT 64u

/* Context counts of one lane's model (spec 7.4.4, 7.4.5). */
#define CB_NSIGN 9u
#define CB_NESC 25u /* escape prefix 0..16, suffix bit positions 0..23 */
#define CB_FLOAT_Q 16u

/* ---------------------------------------------------------- parameters */

struct cb_params {
    unsigned width;  /* 1 or 2 bytes per symbol */
    unsigned isfloat; /* binarization 7.4.5 instead of 7.4.4 */
    unsigned sparse; /* 7.4.4: significance bin first */
    unsigned lanes;  /* 1..4 */
    unsigned depth;  /* D, bins of the magnitude tree (level only) */
    uint32_t centre; /* level only */
    uint64_t period; /* P, column period; 0 = none */
    uint64_t n1, n2; /* sign neighbour distances; 0 = none */
};

/* spec 7.4.1. CNNZ_E_CODER for any rule broken; n is the symbol count. */
static int cb_parse(const uint8_t *params, size_t len, uint64_t n, struct cb_params *o)
{
    struct cnnz__byter r;
    cnnz__byter_init(&r, params, len);
    unsigned b0 = cnnz__byter_u8(&r);
    o->depth = cnnz__byter_u8(&r);
    uint64_t centre = cnnz__byter_varint(&r);
    o->period = cnnz__byter_varint(&r);
    o->n1 = cnnz__byter_varint(&r);
    o->n2 = cnnz__byter_varint(&r);
    if (r.overrun || cnnz__byter_left(&r) != 0)
        return CNNZ_E_CODER;
    o->width = b0 & CB_W_MASK;
    o->isfloat = (b0 & CB_FLOAT) != 0;
    o->sparse = (b0 & CB_SPARSE) != 0;
    o->lanes = ((b0 >> CB_LANES_SHIFT) & 3u) + 1;
    if ((b0 & CB_RESERVED) || (o->width != 1 && o->width != 2))
        return CNNZ_E_CODER;
    if (o->isfloat) {
        if (o->width != 2 || o->sparse || o->depth != 0 || centre != 0)
            return CNNZ_E_CODER;
    } else if (o->depth < 1 || o->depth > CB_MAX_DEPTH || centre >> (8 * o->width)) {
        return CNNZ_E_CODER;
    }
    o->centre = (uint32_t)centre;
    if (o->lanes > 1 && (o->period < o->lanes || o->period > n))
        return CNNZ_E_CODER;
    return CNNZ_OK;
}

/* The parameter rules of spec 7.4.1 for a stream of decoded_len bytes:
 * shared by check (from the directory) and decode (which may be called on
 * its own, e.g. by the fuzz target), so they cannot drift apart. */
static int cb_setup(const uint8_t *params, size_t params_len, uint64_t decoded_len,
                    struct cb_params *pr, uint64_t *n)
{
    if (params_len < 1)
        return CNNZ_E_CODER;
    unsigned w = params[0] & CB_W_MASK;
    if ((w != 1 && w != 2) || decoded_len % w)
        return CNNZ_E_CODER;
    *n = decoded_len / w;
    return cb_parse(params, params_len, *n, pr) ? CNNZ_E_CODER : CNNZ_OK;
}

static int cb_check(unsigned version, const uint8_t *params, size_t params_len, uint64_t coded_len,
                    uint64_t decoded_len)
{
    struct cb_params pr;
    uint64_t n;
    if (version != 0 || cb_setup(params, params_len, decoded_len, &pr, &n))
        return CNNZ_E_CODER;
    if (n == 0 && coded_len != 0) /* spec 7.4.6: an empty stream has no coded bytes */
        return CNNZ_E_CODER;
    return CNNZ_OK;
}

/* ------------------------------------------------ probability state (7.4.2) */

/* A context is one u32: p (bits 0-15), the probability that the bin is 0 in
 * units of 2^-16, always in 1..65535; and n (bits 16-21), how many bins it has
 * coded, saturating at 63. After a bin the estimate moves towards 1 or 65535
 * by a 2^-s fraction of the distance, s = min(7, bitlen(n + 1)): the first
 * bins of a context adapt fast, later ones slowly.
 *
 * p' = p + floor((t - p) / 2^s) is computed without signed shifts as
 * ((t + 65536 - p) * K) >> 16 - K with K = 2^(16 - s); the product fits 32
 * bits. CB_K[n] holds K, CB_KI[n] holds (n < 63 ? 2^16 : 0) - K, so the whole
 * state update is one add. */
#define CB_CTX_INIT 0x8000u

static const uint32_t CB_K[64] = {
    32768, 16384, 16384, 8192, 8192, 8192, 8192, 4096, 4096, 4096, 4096, 4096, 4096,
    4096,  4096,  2048,  2048, 2048, 2048, 2048, 2048, 2048, 2048, 2048, 2048, 2048,
    2048,  2048,  2048,  2048, 2048, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024,
    1024,  1024,  1024,  1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024,
    1024,  1024,  1024,  1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 512,
};

#define CB_KI_(k) (0x10000u - (k))
static const uint32_t CB_KI[64] = {
    CB_KI_(32768), CB_KI_(16384), CB_KI_(16384), CB_KI_(8192), CB_KI_(8192), CB_KI_(8192),
    CB_KI_(8192),  CB_KI_(4096),  CB_KI_(4096),  CB_KI_(4096), CB_KI_(4096), CB_KI_(4096),
    CB_KI_(4096),  CB_KI_(4096),  CB_KI_(4096),  CB_KI_(2048), CB_KI_(2048), CB_KI_(2048),
    CB_KI_(2048),  CB_KI_(2048),  CB_KI_(2048),  CB_KI_(2048), CB_KI_(2048), CB_KI_(2048),
    CB_KI_(2048),  CB_KI_(2048),  CB_KI_(2048),  CB_KI_(2048), CB_KI_(2048), CB_KI_(2048),
    CB_KI_(2048),  CB_KI_(1024),  CB_KI_(1024),  CB_KI_(1024), CB_KI_(1024), CB_KI_(1024),
    CB_KI_(1024),  CB_KI_(1024),  CB_KI_(1024),  CB_KI_(1024), CB_KI_(1024), CB_KI_(1024),
    CB_KI_(1024),  CB_KI_(1024),  CB_KI_(1024),  CB_KI_(1024), CB_KI_(1024), CB_KI_(1024),
    CB_KI_(1024),  CB_KI_(1024),  CB_KI_(1024),  CB_KI_(1024), CB_KI_(1024), CB_KI_(1024),
    CB_KI_(1024),  CB_KI_(1024),  CB_KI_(1024),  CB_KI_(1024), CB_KI_(1024), CB_KI_(1024),
    CB_KI_(1024),  CB_KI_(1024),  CB_KI_(1024),  0u - 512u, /* n = 63 no longer counts */
};

/* x = t + 65536 - p with t = 1 after a 1 bin and 65535 after a 0 bin. */
static inline uint32_t cb_update(uint32_t s, unsigned bin)
{
    uint32_t p = s & 0xFFFF, n = s >> 16;
    uint32_t x = (bin ? 65537u : 131071u) - p;
    return s + ((x * CB_K[n]) >> 16) + CB_KI[n];
}

static void cb_ctx_init(uint32_t *c, size_t count)
{
    /* by doubling copies: a depth-8 model is 16,640 contexts, set up for
     * every candidate the encoder tries and every stream decoded */
    if (!count)
        return;
    c[0] = CB_CTX_INIT;
    for (size_t done = 1; done < count; done *= 2)
        memcpy(c + done, c, (count - done < done ? count - done : done) * sizeof *c);
}

/* --------------------------------------------------- range decoder (7.4.3) */

struct cb_dec {
    uint64_t range, code;
    struct cnnz__byter in;
    unsigned missing; /* zero bytes read past the end */
};

/* Bytes past the end read as zero; more than CB_MAX_MISSING of them make the
 * lane corrupt (checked by cb_dec_done; the count saturates, so a long run of
 * garbage cannot wrap it). */
static uint32_t cb_read32_slow(struct cb_dec *d)
{
    uint32_t w = 0;
    for (int k = 0; k < 4; k++) {
        if (cnnz__byter_left(&d->in))
            w = w << 8 | cnnz__byter_u8(&d->in);
        else {
            w <<= 8;
            if (d->missing <= CB_MAX_MISSING)
                d->missing++;
        }
    }
    return w;
}

static inline uint32_t cb_read32(struct cb_dec *d)
{
    if (cnnz__byter_left(&d->in) >= 4) {
        uint32_t w = cnnz__byter_u32(&d->in); /* little-endian: swap to big-endian */
        return (w >> 24) | ((w >> 8) & 0xFF00u) | ((w << 8) & 0xFF0000u) | (w << 24);
    }
    return cb_read32_slow(d);
}

/* spec 7.4.3: code = the first 7 bytes, big-endian; a code that is not below
 * the initial range cannot come from an encoder. */
static int cb_dec_init(struct cb_dec *d, const uint8_t *src, size_t len)
{
    cnnz__byter_init(&d->in, src, len);
    d->missing = 0;
    d->range = CB_TOP;
    d->code = 0;
    for (unsigned k = 0; k < CB_INIT_BYTES; k++) {
        unsigned b = 0;
        if (cnnz__byter_left(&d->in))
            b = cnnz__byter_u8(&d->in);
        else
            d->missing++;
        d->code = d->code << 8 | b;
    }
    return d->code < d->range ? CNNZ_OK : CNNZ_E_CORRUPT;
}

/* spec 7.4.3: every byte consumed, at most 7 read past the end. */
static int cb_dec_done(const struct cb_dec *d)
{
    return cnnz__byter_left(&d->in) == 0 && d->missing <= CB_MAX_MISSING ? CNNZ_OK
                                                                         : CNNZ_E_CORRUPT;
}

static inline unsigned cb_bin(struct cb_dec *d, uint32_t *ctx)
{
    uint32_t s = *ctx, p = s & 0xFFFF;
    uint64_t bound = (d->range >> 16) * p;
    unsigned bin = d->code >= bound;
    if (bin) {
        d->code -= bound;
        d->range -= bound;
    } else {
        d->range = bound;
    }
    *ctx = cb_update(s, bin);
    if (d->range < CB_RMIN) {
        d->range <<= 32;
        d->code = d->code << 32 | cb_read32(d);
    }
    return bin;
}

/* --------------------------------------------------- range encoder (7.4.3) */

/* low holds the 56-bit window plus a carry in bit 56. A 32-bit word that
 * leaves the window is held back (cache) together with a run of 0xFFFFFFFF
 * words (ffs) until it is known whether a carry will still reach it. */
struct cb_enc {
    struct cnnz__buf *out;
    uint64_t low, range;
    uint32_t cache;
    uint64_t ffs;
    int started; /* cache holds a real word */
    int err;
};

static void cb_enc_init(struct cb_enc *e, struct cnnz__buf *out)
{
    e->out = out;
    e->low = 0;
    e->range = CB_TOP;
    e->cache = 0;
    e->ffs = 0;
    e->started = 0;
    e->err = 0;
}

static void cb_put32(struct cb_enc *e, uint32_t w)
{
    uint8_t b[4] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
    if (!e->err && cnnz__buf_append(e->out, b, 4))
        e->err = CNNZ_E_NOMEM;
}

/* Move the top 32 bits of the window out (LZMA's carry scheme with 32-bit
 * digits). */
static void cb_shift_low(struct cb_enc *e)
{
    uint32_t top = (uint32_t)(e->low >> 24);
    unsigned carry = (unsigned)(e->low >> 56);
    if (top != 0xFFFFFFFFu || carry) {
        if (e->started)
            cb_put32(e, e->cache + carry);
        for (; e->ffs; e->ffs--)
            cb_put32(e, 0xFFFFFFFFu + carry);
        e->cache = top;
        e->started = 1;
    } else {
        e->ffs++;
    }
    e->low = (e->low & 0xFFFFFF) << 32;
}

static inline void cb_ebin(struct cb_enc *e, uint32_t *ctx, unsigned bin)
{
    uint32_t s = *ctx;
    uint64_t bound = (e->range >> 16) * (s & 0xFFFF);
    if (bin) {
        e->low += bound;
        e->range -= bound;
    } else {
        e->range = bound;
    }
    *ctx = cb_update(s, bin);
    if (e->range < CB_RMIN) {
        e->range <<= 32;
        cb_shift_low(e);
    }
}

/* Termination: pick the value in [low, low + range) with the most trailing
 * zero bits, write the pending words and the 7 window bytes, then drop up to 7
 * trailing zero bytes (the decoder reads them back as zeros, spec 7.4.3). */
static int cb_enc_finish(struct cb_enc *e, size_t start)
{
    uint64_t hi = e->low + e->range - 1; /* < 2^57 */
    uint64_t v = e->low;
    for (int b = 56; b >= 0; b--) {
        uint64_t m = (UINT64_C(1) << b) - 1;
        uint64_t t = (e->low + m) & ~m;
        if (t <= hi) {
            v = t;
            break;
        }
    }
    e->low = v;
    /* flush the carry into the pending words, then the window */
    unsigned carry = (unsigned)(e->low >> 56);
    if (e->started)
        cb_put32(e, e->cache + carry);
    for (; e->ffs; e->ffs--)
        cb_put32(e, 0xFFFFFFFFu + carry);
    uint8_t tail[CB_INIT_BYTES];
    for (unsigned k = 0; k < CB_INIT_BYTES; k++)
        tail[k] = (uint8_t)(e->low >> (8 * (CB_INIT_BYTES - 1 - k)));
    if (!e->err && cnnz__buf_append(e->out, tail, sizeof tail))
        e->err = CNNZ_E_NOMEM;
    if (e->err)
        return e->err;
    for (unsigned k = 0; k < CB_MAX_MISSING && e->out->len > start && e->out->data[e->out->len - 1] == 0;
         k++)
        e->out->len--;
    return CNNZ_OK;
}

/* ------------------------------------------------ lanes, models (7.4.4-6) */

/* One lane's adaptive state: its contexts, its activity A and the columns it
 * owns in the shared column array. */
struct cb_model {
    uint32_t *tree; /* level: CB_NACT trees of 2^D; float: exponent trees */
    uint32_t *sig;  /* level sparse: CB_NACT */
    uint32_t sign[CB_NSIGN];
    uint32_t esc0[CB_NESC], esc1[CB_NESC];
    uint32_t *mant; /* float: 256 x 8 top-mantissa trees */
    uint32_t low[4]; /* float: low mantissa bits */
    uint32_t act;    /* A */
};

/* Contexts of a lane as one allocation: sizes in u32 words. */
/* The level trees get one spare tree of padding: the fast decoder loads both
 * children of a node before it knows the bin, one level past the leaves. */
static size_t cb_model_words(const struct cb_params *pr)
{
    if (pr->isfloat)
        return CB_FLOAT_Q * 256 + 256 * 8;
    return (CB_NACT + 1) * ((size_t)1 << pr->depth) + CB_NACT;
}

static void cb_model_init(struct cb_model *m, uint32_t *words, const struct cb_params *pr)
{
    cb_ctx_init(words, cb_model_words(pr));
    if (pr->isfloat) {
        m->tree = words;
        m->mant = words + CB_FLOAT_Q * 256;
        m->sig = NULL;
    } else {
        m->tree = words;
        m->sig = words + (CB_NACT + 1) * ((size_t)1 << pr->depth);
        m->mant = NULL;
    }
    cb_ctx_init(m->sign, CB_NSIGN);
    cb_ctx_init(m->esc0, CB_NESC);
    cb_ctx_init(m->esc1, CB_NESC);
    cb_ctx_init(m->low, 4);
    m->act = 0;
}

/* Activity constants (spec 7.4.4 table): shift of A, shift of B. */
struct cb_act {
    unsigned ash, bsh;
};
static struct cb_act cb_act_of(const struct cb_params *pr)
{
    struct cb_act a;
    if (pr->isfloat)
        a.ash = 4, a.bsh = 3;
    else if (pr->sparse)
        a.ash = 6, a.bsh = 6;
    else
        a.ash = 4, a.bsh = 5;
    return a;
}

static inline unsigned cb_bitlen(uint64_t x)
{
    return x ? 64 - (unsigned)__builtin_clzll(x) : 0;
}
/* bitlen capped at 7, for small values (the activity terms). */
static inline unsigned cb_len7(uint32_t x)
{
    return x >= 64 ? 7 : x ? 32 - (unsigned)__builtin_clz(x) : 0;
}

/* The columns of the shared array: B[col] exists when 0 < P <= n (a column
 * index that never repeats always reads 0, spec 7.4.4). */
struct cb_cols {
    uint32_t *b; /* NULL when P == 0 or P > n */
    uint64_t period;
};

/* Where lane k's symbols are (spec 7.4.6): columns [lo, hi) of every row of
 * length P, or all symbols when there is one lane. */
struct cb_span {
    uint64_t lo, hi; /* columns; [0, P) or [0, 0) for P == 0 with one lane */
};
static struct cb_span cb_span_of(const struct cb_params *pr, unsigned k)
{
    struct cb_span s;
    if (pr->lanes == 1) {
        s.lo = 0;
        s.hi = pr->period;
    } else {
        /* k * P / L without overflow: P <= n < 2^61, L <= 4 */
        s.lo = pr->period / pr->lanes * k + pr->period % pr->lanes * k / pr->lanes;
        s.hi = pr->period / pr->lanes * (k + 1) + pr->period % pr->lanes * (k + 1) / pr->lanes;
    }
    return s;
}

/* Neighbour i - dist is usable (spec 7.4.4): it exists and belongs to the
 * same lane. col is i's column. */
static inline int cb_near(const struct cb_params *pr, struct cb_span sp, uint64_t i, uint64_t col,
                          uint64_t dist)
{
    if (dist == 0 || dist > i)
        return 0;
    if (pr->lanes == 1)
        return 1;
    uint64_t dm = dist % pr->period;
    uint64_t c = col >= dm ? col - dm : col + pr->period - dm;
    return c >= sp.lo && c < sp.hi;
}

static inline uint32_t cb_sym(const uint8_t *v, unsigned width, uint64_t i)
{
    return width == 1 ? v[i] : cnnz__le16(v + 2 * i);
}

/* Sign class of a neighbour (spec 7.4.4): 0 absent or equal to the centre,
 * 1 above, 2 below. Float: 1 + sign bit. */
static inline unsigned cb_sgn_level(uint32_t x, uint32_t c)
{
    return x > c ? 1 : x < c ? 2 : 0;
}

/* ---------------------------------------------------- symbol codes (7.4.4) */

/* The magnitude tree: t in [0, 2^D - 1], D bins MSB first, node = 1.. */
static inline uint32_t cb_tree_dec(struct cb_dec *d, uint32_t *tree, unsigned depth)
{
    uint32_t node = 1;
    for (unsigned k = 0; k < depth; k++)
        node = 2 * node + cb_bin(d, &tree[node]);
    return node - ((uint32_t)1 << depth);
}

/* Escape (spec 7.4.4): Exp-Golomb of order k (the tree depth) with adaptive
 * bins, so most escapes are 1 + k bins in a fixed pattern. CNNZ_E_CORRUPT
 * when the prefix reaches maxlen + 1 ones. */
static int cb_esc_dec(struct cb_dec *d, struct cb_model *m, unsigned maxlen, unsigned k,
                      uint32_t *e)
{
    unsigned len = 0;
    while (cb_bin(d, &m->esc0[len])) {
        if (++len > maxlen)
            return CNNZ_E_CORRUPT;
    }
    uint32_t y = 1;
    for (unsigned j = len + k; j-- > 0;)
        y = 2 * y + cb_bin(d, &m->esc1[j]);
    *e = y - ((uint32_t)1 << k);
    return CNNZ_OK;
}

/* ------------------------------------------------- reference decoder */

/* Decode lane k into v (the whole output; the lane writes its own symbols).
 * Straightforward and close to the spec text; used for every parameter set
 * the fast path does not take. */
static int cb_decode_lane(const struct cb_params *pr, unsigned k, struct cb_dec *d,
                          struct cb_model *m, struct cb_cols *cols, uint8_t *v, uint64_t n)
{
    struct cb_span sp = cb_span_of(pr, k);
    struct cb_act ac = cb_act_of(pr);
    const unsigned w = pr->width, depth = pr->depth;
    const uint32_t c = pr->centre, lim = ((uint32_t)1 << depth) - 1;
    const uint32_t vmax = w == 1 ? 0xFFu : 0xFFFFu;
    const unsigned maxlen = 8 * w; /* escape prefix bound */
    uint64_t P = pr->period;
    uint64_t i = sp.lo, col = sp.lo;
    if (P == 0 || pr->lanes == 1)
        i = 0, col = 0;
    for (; i < n;) {
        /* activity context (spec 7.4.4) */
        uint32_t bv = cols->b ? cols->b[col] : 0;
        unsigned la, lb;
        uint32_t out, actv;
        if (pr->isfloat) {
            uint32_t pa = (m->act + 8) >> 4;
            uint32_t pb = P == 0 ? pa : (bv + 4) >> 3;
            uint32_t q = (pa + pb + 1) >> 1;
            q = q < 111 ? 0 : q - 111 > 15 ? 15 : q - 111;
            uint32_t *xt = m->tree + 256 * q;
            uint32_t node = 1;
            for (int b = 0; b < 8; b++)
                node = 2 * node + cb_bin(d, &xt[node]);
            uint32_t e = node - 256;
            unsigned s1 = cb_near(pr, sp, i, col, pr->n1) ? 1 + (cb_sym(v, 2, i - pr->n1) >> 15) : 0;
            unsigned s2 = cb_near(pr, sp, i, col, pr->n2) ? 1 + (cb_sym(v, 2, i - pr->n2) >> 15) : 0;
            uint32_t sbit = cb_bin(d, &m->sign[3 * s1 + s2]);
            uint32_t *mt = m->mant + 8 * e;
            node = 1;
            for (int b = 0; b < 3; b++)
                node = 2 * node + cb_bin(d, &mt[node]);
            uint32_t f = node - 8;
            for (unsigned b = 4; b-- > 0;)
                f = 2 * f + cb_bin(d, &m->low[b]);
            out = sbit << 15 | e << 7 | f;
            actv = e;
        } else {
            la = cb_len7(m->act >> ac.ash);
            lb = P == 0 ? la : cb_len7(bv >> ac.bsh);
            unsigned a = 8 * la + lb;
            uint32_t mag = 0;
            int neg = 0;
            unsigned s1 = cb_near(pr, sp, i, col, pr->n1) ? cb_sgn_level(cb_sym(v, w, i - pr->n1), c) : 0;
            unsigned s2 = cb_near(pr, sp, i, col, pr->n2) ? cb_sgn_level(cb_sym(v, w, i - pr->n2), c) : 0;
            if (pr->sparse) {
                if (cb_bin(d, &m->sig[a])) {
                    neg = (int)cb_bin(d, &m->sign[3 * s1 + s2]);
                    uint32_t t = cb_tree_dec(d, m->tree, depth), e = 0;
                    if (t == lim && cb_esc_dec(d, m, maxlen, depth, &e))
                        return CNNZ_E_CORRUPT;
                    mag = t + e + 1;
                }
                actv = mag ? 64 : 0;
            } else {
                uint32_t t = cb_tree_dec(d, m->tree + ((size_t)a << depth), depth), e = 0;
                if (t == lim && cb_esc_dec(d, m, maxlen, depth, &e))
                    return CNNZ_E_CORRUPT;
                mag = t + e;
                if (mag)
                    neg = (int)cb_bin(d, &m->sign[3 * s1 + s2]);
                actv = mag;
            }
            /* e < 2^(8w+1) - 1 so mag fits; the value must be a symbol */
            if (neg ? mag > c : mag > vmax - c)
                return CNNZ_E_CORRUPT;
            out = neg ? c - mag : c + mag;
        }
        if (w == 1)
            v[i] = (uint8_t)out;
        else
            cnnz__put16(v + 2 * i, (uint16_t)out);
        m->act = m->act - (m->act >> ac.ash) + actv;
        if (cols->b)
            cols->b[col] = bv - (bv >> ac.bsh) + actv;
        /* next position of this lane */
        i++;
        if (P && ++col == sp.hi) {
            col = sp.lo;
            i += P - (sp.hi - sp.lo); /* skip the other lanes' columns */
        }
        if (d->missing > CB_MAX_MISSING)
            return CNNZ_E_CORRUPT;
    }
    return CNNZ_OK;
}

/* ----------------------------------------------- fast decoder: dense u8 */

/* The same decoding as cb_decode_lane for dense levels of width 1 with one
 * or two lanes and a column array, arranged for speed: the coder state lives
 * in a few locals (x86-64 has 15 spare registers and two lanes need most of
 * them), bins are decoded without data-dependent branches, the two children
 * of a tree node are loaded before the bin that chooses between them is
 * known, the tree depth is a constant in the common cases, and two lanes are
 * decoded in lockstep so the processor overlaps their dependency chains. The
 * output is the reference decoder's (the tests compare them). */
struct cb_fast {
    uint64_t range, code;
    const uint8_t *p, *end; /* the lane's unread bytes */
    unsigned missing;
    struct cb_model *m;
    struct cb_span sp;
    int simple1, simple2; /* the neighbour is in the lane whenever it exists */
};

/* cb_len7 of x for x < 128 */
static const uint8_t CB_LEN7[128] = {
    0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
};
#define CB_L7(x) CB_LEN7[(x) < 127u ? (x) : 127u]

/* The last 0..3 bytes of a lane and the zeros past its end (spec 7.4.3).
 * bitio.h has no big-endian or zero-padded 32-bit read; this and the test
 * in CB_FREFILL are the coder's own. */
struct cb_tail {
    uint32_t w;
    const uint8_t *p;
};
static struct cb_tail cb_fast_tail(struct cb_fast *f, const uint8_t *p)
{
    struct cb_tail t = {0, p};
    for (int k = 0; k < 4; k++) {
        t.w <<= 8;
        if (t.p < f->end)
            t.w |= *t.p++;
        else if (f->missing <= CB_MAX_MISSING)
            f->missing++;
    }
    return t;
}
#define CB_FREFILL(fs, ptr, cd)                                                                    \
    do {                                                                                           \
        if ((fs)->end - (ptr) >= 4) {                                                              \
            (cd) = (cd) << 32 | (uint32_t)(ptr)[0] << 24 | (uint32_t)(ptr)[1] << 16 |              \
                   (uint32_t)(ptr)[2] << 8 | (ptr)[3];                                             \
            (ptr) += 4;                                                                            \
        } else {                                                                                   \
            struct cb_tail t_ = cb_fast_tail((fs), (ptr));                                         \
            (cd) = (cd) << 32 | t_.w;                                                              \
            (ptr) = t_.p;                                                                          \
        }                                                                                          \
    } while (0)

/* One bin of lane X: `ctxp` points at the context, `sv` is its value,
 * already loaded. Sets `bit`. The renormalisation is the only branch, taken
 * about once per 32 bits of output. */
#define CB_FBIN(X, ctxp, sv, bit)                                                                  \
    do {                                                                                           \
        uint32_t fbp_ = (sv)&0xFFFF, fbn_ = (sv) >> 16;                                            \
        uint64_t fbd_ = (rg##X >> 16) * fbp_;                                                      \
        uint64_t fbf_ = cd##X - fbd_; /* wraps below zero: both are < 2^56 */                     \
        uint64_t fbm_ = (fbf_ >> 63) - 1; /* all ones for a 1 bin */                               \
        rg##X = fbd_ ^ ((fbd_ ^ (rg##X - fbd_)) & fbm_);                                           \
        cd##X ^= (cd##X ^ fbf_) & fbm_;                                                            \
        uint32_t fbx_ = 131071u - (65534u & (uint32_t)fbm_) - fbp_;                                \
        *(ctxp) = (sv) + ((fbx_ * CB_K[fbn_]) >> 16) + CB_KI[fbn_];                                \
        (bit) = (unsigned)fbm_ & 1u;                                                               \
        if (rg##X < CB_RMIN) {                                                                     \
            rg##X <<= 32;                                                                          \
            CB_FREFILL(f##X, f##X->p, cd##X);                                                      \
        }                                                                                          \
    } while (0)

/* The hot state of lane X as locals. */
#define CB_FAST_LOCALS(X, from)                                                                    \
    struct cb_fast *const f##X = (from);                                                           \
    uint64_t rg##X = f##X->range, cd##X = f##X->code;                                              \
    uint32_t *const tr##X = f##X->m->tree;                                                         \
    uint32_t ac##X = f##X->m->act
#define CB_FAST_STORE(X)                                                                           \
    do {                                                                                           \
        f##X->range = rg##X, f##X->code = cd##X;                                                   \
        f##X->m->act = ac##X;                                                                      \
    } while (0)

/* First part of a symbol: the context and the root of its tree. */
#define CB_FAST_PRE(X, pos, column, DEPTH)                                                         \
    uint64_t i##X = (pos), col##X = (column);                                                      \
    uint32_t bv##X = B[col##X];                                                                    \
    uint32_t *t##X = tr##X +                                                                       \
                     ((size_t)(8u * CB_L7(ac##X >> 4) + CB_L7(bv##X >> 5)) << (DEPTH));           \
    uint32_t nd##X = 1, sv##X = t##X[1]

/* One level of the tree: both children loaded, the bin picks one. */
#define CB_FAST_STEP(X)                                                                            \
    do {                                                                                           \
        uint32_t *lp_ = t##X + 2 * nd##X;                                                          \
        uint32_t l_ = lp_[0], r_ = lp_[1];                                                         \
        unsigned b_;                                                                               \
        CB_FBIN(X, t##X + nd##X, sv##X, b_);                                                       \
        uint32_t bm_ = 0u - b_;                                                                    \
        sv##X = l_ ^ ((l_ ^ r_) & bm_);                                                            \
        nd##X = 2 * nd##X + b_;                                                                    \
    } while (0)

/* Whether neighbour i - dist of lane X may be used (see cb_near). */
#define CB_FAST_NEAR(X, simple, dist)                                                              \
    (f##X->simple ? i##X >= (dist) : cb_near(pr, f##X->sp, i##X, col##X, (dist)))

/* The escape (Exp-Golomb of order DEPTH, spec 7.4.4) of lane X, added to
 * mag; breaks out of the enclosing do-while with err set on a corrupt prefix. */
#define CB_FAST_ESCAPE(X, mag, DEPTH)                                                              \
    do {                                                                                           \
        unsigned len_ = 0, eb_;                                                                    \
        for (;;) {                                                                                 \
            uint32_t *ep_ = &f##X->m->esc0[len_], ev_ = *ep_;                                      \
            CB_FBIN(X, ep_, ev_, eb_);                                                             \
            if (!eb_)                                                                              \
                break;                                                                             \
            if (++len_ > 8) {                                                                      \
                err = CNNZ_E_CORRUPT;                                                              \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
        uint32_t x_ = 1;                                                                           \
        for (unsigned k_ = len_ + (DEPTH); !err && k_-- > 0;) {                                    \
            uint32_t *ep_ = &f##X->m->esc1[k_], ev_ = *ep_;                                        \
            CB_FBIN(X, ep_, ev_, eb_);                                                             \
            x_ = 2 * x_ + eb_;                                                                     \
        }                                                                                          \
        (mag) += x_ - ((uint32_t)1 << (DEPTH));                                                    \
    } while (0);                                                                                   \
    if (err)                                                                                       \
    break

/* Last part: escape, sign, output, activity. Sets err on a corrupt symbol. */
#define CB_FAST_POST(X, DEPTH)                                                                     \
    do {                                                                                           \
        uint32_t mag_ = nd##X - ((uint32_t)1 << (DEPTH));                                          \
        if (mag_ == ((uint32_t)1 << (DEPTH)) - 1) {                                                \
            CB_FAST_ESCAPE(X, mag_, DEPTH);                                                               \
        }                                                                                          \
        uint32_t out_ = c;                                                                         \
        if (mag_) {                                                                                \
            unsigned s_ = 0, b_;                                                                   \
            if (CB_FAST_NEAR(X, simple1, n1))                                                      \
                s_ = sgn1[v[i##X - n1]];                                                           \
            if (CB_FAST_NEAR(X, simple2, n2))                                                      \
                s_ += sgn2[v[i##X - n2]];                                                          \
            uint32_t *sp_ = &f##X->m->sign[s_], ss_ = *sp_;                                        \
            CB_FBIN(X, sp_, ss_, b_);                                                              \
            uint32_t nm_ = 0u - b_; /* c - mag or c + mag without a branch on the sign */          \
            out_ = c + ((mag_ ^ nm_) - nm_);                                                       \
            if (out_ > 255) { /* below 0 wraps above 255 too */                                    \
                err = CNNZ_E_CORRUPT;                                                              \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
        v[i##X] = (uint8_t)out_;                                                                   \
        ac##X = ac##X - (ac##X >> 4) + mag_;                                                       \
        B[col##X] = bv##X - (bv##X >> 5) + mag_;                                                   \
    } while (0)

/* Shared setup of the run functions. A neighbour distance of 0 (none)
 * becomes UINT64_MAX, which no index reaches. */
#define CB_FAST_CONSTS                                                                             \
    const uint64_t n1 = pr->n1 ? pr->n1 : UINT64_MAX, n2 = pr->n2 ? pr->n2 : UINT64_MAX;           \
    const uint32_t c = pr->centre;                                                                 \
    int err = 0

/* cb_fast1_D: lane symbols [i, end) inside one row segment (or all of them
 * with one lane) from column col. cb_fast2_D: two lanes in lockstep over cnt
 * symbols each. One pair per tree depth D, so the tree loop unrolls; the
 * `any` pair reads the depth from the parameters (the local `depth`, unused
 * by the others). */
#define CB_FAST_DEFINE(NAME, DEPTH)                                                                \
    static int cb_fast1_##NAME(const struct cb_params *pr, struct cb_fast *fa, uint32_t *B,        \
                               uint8_t *v, const uint8_t *sgn1, const uint8_t *sgn2, uint64_t i,   \
                               uint64_t end, uint64_t col)                                         \
    {                                                                                              \
        CB_FAST_CONSTS;                                                                            \
        const uint64_t P = pr->period;                                                             \
        const unsigned depth = pr->depth;                                                          \
        (void)depth;                                                                               \
        CB_FAST_LOCALS(0, fa);                                                                     \
        for (; i < end && !err; i++) {                                                             \
            do {                                                                                   \
                CB_FAST_PRE(0, i, col, DEPTH);                                                     \
                _Pragma("GCC unroll 8") for (unsigned d_ = 0; d_ < (DEPTH); d_++)                 \
                    CB_FAST_STEP(0);                                                               \
                CB_FAST_POST(0, DEPTH);                                                            \
            } while (0);                                                                           \
            if (++col == P)                                                                        \
                col = 0;                                                                           \
        }                                                                                          \
        CB_FAST_STORE(0);                                                                          \
        return err;                                                                                \
    }                                                                                              \
    static int cb_fast2_##NAME(const struct cb_params *pr, struct cb_fast *fa, struct cb_fast *fb, \
                               uint32_t *B, uint8_t *v, const uint8_t *sgn1, const uint8_t *sgn2,  \
                               uint64_t ia, uint64_t ca, uint64_t ib, uint64_t cbc, uint64_t cnt)  \
    {                                                                                              \
        CB_FAST_CONSTS;                                                                            \
        const unsigned depth = pr->depth;                                                          \
        (void)depth;                                                                               \
        CB_FAST_LOCALS(0, fa);                                                                     \
        CB_FAST_LOCALS(1, fb);                                                                     \
        for (uint64_t s = 0; s < cnt && !err; s++) {                                               \
            do {                                                                                   \
                CB_FAST_PRE(0, ia + s, ca + s, DEPTH);                                             \
                CB_FAST_PRE(1, ib + s, cbc + s, DEPTH);                                            \
                _Pragma("GCC unroll 8") for (unsigned d_ = 0; d_ < (DEPTH); d_++) {               \
                    CB_FAST_STEP(0);                                                               \
                    CB_FAST_STEP(1);                                                               \
                }                                                                                  \
                CB_FAST_POST(0, DEPTH);                                                            \
                CB_FAST_POST(1, DEPTH);                                                            \
            } while (0);                                                                           \
        }                                                                                          \
        CB_FAST_STORE(0);                                                                          \
        CB_FAST_STORE(1);                                                                          \
        return err;                                                                                \
    }

CB_FAST_DEFINE(4, 4)
CB_FAST_DEFINE(5, 5)
CB_FAST_DEFINE(6, 6)
CB_FAST_DEFINE(any, depth)


/* Sparse u8 levels, one lane (spec 7.4.4 with the significance bin): the
 * same locals and bins; zeros cost one bin, so this loop is simple. */
#define CB_SPARSE_DEFINE(NAME, DEPTH)                                                              \
    static int cb_sparse1_##NAME(const struct cb_params *pr, struct cb_fast *fa, uint32_t *B,      \
                                 uint8_t *v, const uint8_t *sgn1, const uint8_t *sgn2, uint64_t n) \
    {                                                                                              \
        CB_FAST_CONSTS;                                                                            \
        const uint64_t P = pr->period;                                                             \
        const unsigned depth = pr->depth;                                                          \
        (void)depth;                                                                               \
        CB_FAST_LOCALS(0, fa);                                                                     \
        uint32_t *const sig = fa->m->sig;                                                          \
        uint64_t col = 0;                                                                          \
        for (uint64_t i = 0; i < n && !err; i++) {                                                 \
            do {                                                                                   \
                uint64_t i0 = i, col0 = col;                                                       \
                uint32_t bv0 = B ? B[col] : 0;                                                     \
                unsigned la_ = CB_L7(ac0 >> 6);                                                    \
                unsigned a_ = 8 * la_ + (P ? CB_L7(bv0 >> 6) : la_), nz_;                          \
                uint32_t *sp_ = &sig[a_], ss_ = *sp_, act_ = 0, out_ = c;                          \
                CB_FBIN(0, sp_, ss_, nz_);                                                         \
                if (nz_) {                                                                         \
                    unsigned s_ = 0;                                                               \
                    if (CB_FAST_NEAR(0, simple1, n1))                                              \
                        s_ = sgn1[v[i0 - n1]];                                                     \
                    if (CB_FAST_NEAR(0, simple2, n2))                                              \
                        s_ += sgn2[v[i0 - n2]];                                                    \
                    uint32_t *gp_ = &fa->m->sign[s_], gs_ = *gp_, neg_;                            \
                    CB_FBIN(0, gp_, gs_, neg_);                                                    \
                    uint32_t *t0 = tr0, nd0 = 1, sv0 = t0[1];                                      \
                    for (unsigned d_ = 0; d_ < (DEPTH); d_++)                                      \
                        CB_FAST_STEP(0);                                                           \
                    uint32_t mag_ = nd0 - ((uint32_t)1 << (DEPTH));                                \
                    if (mag_ == ((uint32_t)1 << (DEPTH)) - 1) {                                    \
                        CB_FAST_ESCAPE(0, mag_, DEPTH);                                                   \
                    }                                                                              \
                    mag_ += 1;                                                                     \
                    uint32_t nm_ = 0u - neg_;                                                      \
                    out_ = c + ((mag_ ^ nm_) - nm_);                                               \
                    if (out_ > 255) {                                                              \
                        err = CNNZ_E_CORRUPT;                                                      \
                        break;                                                                     \
                    }                                                                              \
                    act_ = 64;                                                                     \
                }                                                                                  \
                v[i0] = (uint8_t)out_;                                                             \
                ac0 = ac0 - (ac0 >> 6) + act_;                                                     \
                if (B)                                                                             \
                    B[col0] = bv0 - (bv0 >> 6) + act_;                                             \
            } while (0);                                                                           \
            if (P && ++col == P)                                                                   \
                col = 0;                                                                           \
        }                                                                                          \
        CB_FAST_STORE(0);                                                                          \
        return err;                                                                                \
    }
CB_SPARSE_DEFINE(4, 4)
CB_SPARSE_DEFINE(5, 5)
CB_SPARSE_DEFINE(any, depth)

typedef int (*cb_fast1_fn)(const struct cb_params *, struct cb_fast *, uint32_t *, uint8_t *,
                           const uint8_t *, const uint8_t *, uint64_t, uint64_t, uint64_t);
typedef int (*cb_fast2_fn)(const struct cb_params *, struct cb_fast *, struct cb_fast *,
                           uint32_t *, uint8_t *, const uint8_t *, const uint8_t *, uint64_t,
                           uint64_t, uint64_t, uint64_t, uint64_t);

/* Dense u8 levels, one or two lanes, 0 < P <= n (the column array exists). */
static int cb_decode_fast(const struct cb_params *pr, struct cb_dec *dec, struct cb_model *mods,
                          struct cb_cols *cols, uint8_t *v, uint64_t n)
{
    cb_fast1_fn run1 = cb_fast1_any;
    cb_fast2_fn run2 = cb_fast2_any;
    if (pr->depth == 4)
        run1 = cb_fast1_4, run2 = cb_fast2_4;
    else if (pr->depth == 5)
        run1 = cb_fast1_5, run2 = cb_fast2_5;
    else if (pr->depth == 6)
        run1 = cb_fast1_6, run2 = cb_fast2_6;
    /* sign classes of a neighbour byte, premultiplied for the context index
     * 3 * s1 + s2 (spec 7.4.4) */
    uint8_t sgn1[256], sgn2[256];
    for (unsigned x = 0; x < 256; x++) {
        sgn2[x] = (uint8_t)cb_sgn_level(x, pr->centre);
        sgn1[x] = (uint8_t)(3 * sgn2[x]);
    }
    struct cb_fast f[2];
    for (unsigned k = 0; k < pr->lanes; k++) {
        f[k].range = dec[k].range;
        f[k].code = dec[k].code;
        f[k].p = dec[k].in.p;
        f[k].end = dec[k].in.end;
        f[k].missing = dec[k].missing;
        f[k].m = &mods[k];
        f[k].sp = cb_span_of(pr, k);
        f[k].simple1 = pr->lanes == 1 || pr->n1 % pr->period == 0;
        f[k].simple2 = pr->lanes == 1 || pr->n2 % pr->period == 0;
    }
    int err = CNNZ_OK;
    const uint64_t P = pr->period;
    if (pr->lanes == 1) {
        err = run1(pr, &f[0], cols->b, v, sgn1, sgn2, 0, n, 0);
    } else {
        /* row by row; within a row the two segments run in lockstep as far
         * as the shorter one goes */
        for (uint64_t row = 0; row < n && !err; row += P) {
            uint64_t a0 = row + f[0].sp.lo, a1 = row + f[1].sp.lo;
            uint64_t e0 = row + f[0].sp.hi, e1 = row + f[1].sp.hi;
            if (e0 > n)
                e0 = n;
            if (e1 > n)
                e1 = n;
            uint64_t l0 = e0 > a0 ? e0 - a0 : 0, l1 = e1 > a1 ? e1 - a1 : 0;
            uint64_t both = l0 < l1 ? l0 : l1;
            if (both)
                err = run2(pr, &f[0], &f[1], cols->b, v, sgn1, sgn2, a0, f[0].sp.lo, a1,
                           f[1].sp.lo, both);
            if (!err && l0 > both)
                err = run1(pr, &f[0], cols->b, v, sgn1, sgn2, a0 + both, e0, f[0].sp.lo + both);
            if (!err && l1 > both)
                err = run1(pr, &f[1], cols->b, v, sgn1, sgn2, a1 + both, e1, f[1].sp.lo + both);
            if (f[0].missing > CB_MAX_MISSING || f[1].missing > CB_MAX_MISSING)
                err = CNNZ_E_CORRUPT;
        }
    }
    for (unsigned k = 0; k < pr->lanes; k++) {
        dec[k].range = f[k].range;
        dec[k].code = f[k].code;
        cnnz__byter_init(&dec[k].in, f[k].p, (size_t)(f[k].end - f[k].p));
        dec[k].missing = f[k].missing;
    }
    return err;
}


/* Sparse u8 levels with one lane. */
static int cb_decode_sparse(const struct cb_params *pr, struct cb_dec *dec, struct cb_model *mods,
                            struct cb_cols *cols, uint8_t *v, uint64_t n)
{
    uint8_t sgn1[256], sgn2[256];
    for (unsigned x = 0; x < 256; x++) {
        sgn2[x] = (uint8_t)cb_sgn_level(x, pr->centre);
        sgn1[x] = (uint8_t)(3 * sgn2[x]);
    }
    struct cb_fast f;
    f.range = dec->range;
    f.code = dec->code;
    f.p = dec->in.p;
    f.end = dec->in.end;
    f.missing = dec->missing;
    f.m = mods;
    f.sp = cb_span_of(pr, 0);
    f.simple1 = f.simple2 = 1;
    int err;
    if (pr->depth == 4)
        err = cb_sparse1_4(pr, &f, cols->b, v, sgn1, sgn2, n);
    else if (pr->depth == 5)
        err = cb_sparse1_5(pr, &f, cols->b, v, sgn1, sgn2, n);
    else
        err = cb_sparse1_any(pr, &f, cols->b, v, sgn1, sgn2, n);
    dec->range = f.range;
    dec->code = f.code;
    cnnz__byter_init(&dec->in, f.p, (size_t)(f.end - f.p));
    dec->missing = f.missing;
    return err;
}

/* ---------------------------------------------------------- decode entry */

/* spec 7.4.6: with L lanes the coded bytes start with L - 1 varints, the
 * byte counts of lanes 0..L-2; lane L-1 takes the rest. */
static int cb_decode(const struct cnnz__alloc *a, unsigned version, const uint8_t *params,
                     size_t params_len, const uint8_t *src, size_t src_len, uint8_t *dst,
                     size_t dst_len)
{
    struct cb_params pr;
    uint64_t n;
    (void)version;
    if (cb_setup(params, params_len, dst_len, &pr, &n))
        return CNNZ_E_CODER;
    if (n == 0) /* spec 7.4.1: an empty stream has no coded bytes */
        return src_len == 0 ? CNNZ_OK : CNNZ_E_CODER;

    struct cb_dec dec[CB_MAX_LANES];
    struct cnnz__byter hdr;
    cnnz__byter_init(&hdr, src, src_len);
    size_t lane_len[CB_MAX_LANES], left = src_len;
    for (unsigned k = 0; k + 1 < pr.lanes; k++) {
        uint64_t l = cnnz__byter_varint(&hdr);
        if (hdr.overrun)
            return CNNZ_E_CORRUPT;
        lane_len[k] = (size_t)l;
        if (l > cnnz__byter_left(&hdr))
            return CNNZ_E_CORRUPT;
    }
    left = cnnz__byter_left(&hdr);
    const uint8_t *at = hdr.p;
    for (unsigned k = 0; k + 1 < pr.lanes; k++) {
        if (lane_len[k] > left)
            return CNNZ_E_CORRUPT;
        left -= lane_len[k];
    }
    lane_len[pr.lanes - 1] = left;
    for (unsigned k = 0; k < pr.lanes; k++) {
        if (cb_dec_init(&dec[k], at, lane_len[k]))
            return CNNZ_E_CORRUPT;
        at += lane_len[k];
    }

    /* scratch: the lanes' contexts and the column array (spec 7.4.4) */
    size_t words = cb_model_words(&pr);
    int with_cols = pr.period != 0 && pr.period <= n;
    size_t ncols = with_cols ? (size_t)pr.period : 0;
    if (words > (SIZE_MAX / sizeof(uint32_t) - ncols) / pr.lanes)
        return CNNZ_E_NOMEM;
    uint32_t *scratch = cnnz__malloc_array(a, words * pr.lanes + ncols, sizeof(uint32_t));
    if (!scratch)
        return CNNZ_E_NOMEM;
    struct cb_model mods[CB_MAX_LANES];
    for (unsigned k = 0; k < pr.lanes; k++)
        cb_model_init(&mods[k], scratch + words * k, &pr);
    struct cb_cols cols = {with_cols ? scratch + words * pr.lanes : NULL, pr.period};
    if (cols.b)
        memset(cols.b, 0, ncols * sizeof(uint32_t));

    int err = CNNZ_OK;
    if (!pr.isfloat && !pr.sparse && pr.width == 1 && pr.lanes <= 2 && cols.b) {
        err = cb_decode_fast(&pr, dec, mods, &cols, dst, n);
    } else if (!pr.isfloat && pr.sparse && pr.width == 1 && pr.lanes == 1) {
        err = cb_decode_sparse(&pr, dec, mods, &cols, dst, n);
    } else {
        for (unsigned k = 0; k < pr.lanes && !err; k++)
            err = cb_decode_lane(&pr, k, &dec[k], &mods[k], &cols, dst, n);
    }
    for (unsigned k = 0; k < pr.lanes && !err; k++)
        err = cb_dec_done(&dec[k]);
    cnnz__free(a, scratch);
    return err;
}

/* ---------------------------------------------------------------- encoder */

/* Encode lane k of v (n symbols) with params pr; the mirror of
 * cb_decode_lane. Appends the lane's bytes to out. */
static int cb_encode_lane(const struct cb_params *pr, unsigned k, struct cb_model *m,
                          struct cb_cols *cols, const uint8_t *v, uint64_t n, struct cnnz__buf *out)
{
    struct cb_span sp = cb_span_of(pr, k);
    struct cb_act ac = cb_act_of(pr);
    const unsigned w = pr->width, depth = pr->depth;
    const uint32_t c = pr->centre, lim = ((uint32_t)1 << depth) - 1;
    const uint64_t P = pr->period;
    size_t start = out->len;
    struct cb_enc e;
    cb_enc_init(&e, out);
    uint64_t i = pr->lanes == 1 ? 0 : sp.lo, col = i;
    while (i < n) {
        uint32_t x = cb_sym(v, w, i), bv = cols->b ? cols->b[col] : 0, actv;
        if (pr->isfloat) {
            uint32_t pa = (m->act + 8) >> 4;
            uint32_t pb = P == 0 ? pa : (bv + 4) >> 3;
            uint32_t q = (pa + pb + 1) >> 1;
            q = q < 111 ? 0 : q - 111 > 15 ? 15 : q - 111;
            uint32_t ex = (x >> 7) & 0xFF, node = 1;
            for (int b = 7; b >= 0; b--) {
                unsigned bit = (ex >> b) & 1;
                cb_ebin(&e, &m->tree[256 * q + node], bit);
                node = 2 * node + bit;
            }
            unsigned s1 = cb_near(pr, sp, i, col, pr->n1) ? 1 + (cb_sym(v, 2, i - pr->n1) >> 15) : 0;
            unsigned s2 = cb_near(pr, sp, i, col, pr->n2) ? 1 + (cb_sym(v, 2, i - pr->n2) >> 15) : 0;
            cb_ebin(&e, &m->sign[3 * s1 + s2], x >> 15);
            node = 1;
            for (int b = 6; b >= 4; b--) {
                unsigned bit = (x >> b) & 1;
                cb_ebin(&e, &m->mant[8 * ex + node], bit);
                node = 2 * node + bit;
            }
            for (int b = 3; b >= 0; b--)
                cb_ebin(&e, &m->low[b], (x >> b) & 1);
            actv = ex;
        } else {
            unsigned la = cb_len7(m->act >> ac.ash);
            unsigned lb = P == 0 ? la : cb_len7(bv >> ac.bsh);
            unsigned a = 8 * la + lb;
            uint32_t mag = x >= c ? x - c : c - x, t, ev = 0;
            unsigned neg = x < c;
            unsigned s1 = cb_near(pr, sp, i, col, pr->n1) ? cb_sgn_level(cb_sym(v, w, i - pr->n1), c) : 0;
            unsigned s2 = cb_near(pr, sp, i, col, pr->n2) ? cb_sgn_level(cb_sym(v, w, i - pr->n2), c) : 0;
            uint32_t *tree = m->tree;
            int code_tree = 1;
            if (pr->sparse) {
                cb_ebin(&e, &m->sig[a], mag != 0);
                if (mag)
                    cb_ebin(&e, &m->sign[3 * s1 + s2], neg);
                else
                    code_tree = 0;
                t = mag ? mag - 1 : 0;
                actv = mag ? 64 : 0;
            } else {
                tree += (size_t)a << depth;
                t = mag;
                actv = mag;
            }
            if (code_tree) {
                if (t >= lim)
                    ev = t - lim, t = lim;
                uint32_t node = 1;
                for (unsigned b = depth; b-- > 0;) {
                    unsigned bit = (t >> b) & 1;
                    cb_ebin(&e, &tree[node], bit);
                    node = 2 * node + bit;
                }
                if (t == lim) { /* Exp-Golomb of order D of ev */
                    uint32_t y = ev + ((uint32_t)1 << depth);
                    unsigned len = cb_bitlen(y) - 1 - depth;
                    for (unsigned j = 0; j < len; j++)
                        cb_ebin(&e, &m->esc0[j], 1);
                    cb_ebin(&e, &m->esc0[len], 0);
                    for (unsigned j = len + depth; j-- > 0;)
                        cb_ebin(&e, &m->esc1[j], (y >> j) & 1);
                }
                if (!pr->sparse && mag)
                    cb_ebin(&e, &m->sign[3 * s1 + s2], neg);
            }
        }
        m->act = m->act - (m->act >> ac.ash) + actv;
        if (cols->b)
            cols->b[col] = bv - (bv >> ac.bsh) + actv;
        i++;
        if (P && ++col == sp.hi) {
            col = sp.lo;
            i += P - (sp.hi - sp.lo);
        }
    }
    return cb_enc_finish(&e, start);
}

static void cb_params_put(const struct cb_params *pr, struct cnnz__buf *b, int *err)
{
    uint8_t h[2];
    h[0] = (uint8_t)(pr->width | (pr->isfloat ? CB_FLOAT : 0) | (pr->sparse ? CB_SPARSE : 0) |
                     (pr->lanes - 1) << CB_LANES_SHIFT);
    h[1] = (uint8_t)pr->depth;
    if (!*err && (cnnz__buf_append(b, h, 2) || cnnz__buf_varint(b, pr->centre) ||
                  cnnz__buf_varint(b, pr->period) || cnnz__buf_varint(b, pr->n1) ||
                  cnnz__buf_varint(b, pr->n2)))
        *err = CNNZ_E_NOMEM;
}

/* Encode the first n symbols of v with pr into out (lane byte counts first
 * when pr->lanes > 1). */
static int cb_encode_with(const struct cnnz__alloc *a, const struct cb_params *pr, const uint8_t *v,
                          uint64_t n, struct cnnz__buf *out)
{
    size_t words = cb_model_words(pr);
    int with_cols = pr->period != 0 && pr->period <= n;
    size_t ncols = with_cols ? (size_t)pr->period : 0;
    if (words > (SIZE_MAX / sizeof(uint32_t) - ncols) / pr->lanes)
        return CNNZ_E_NOMEM;
    uint32_t *scratch = cnnz__malloc_array(a, words * pr->lanes + ncols, sizeof(uint32_t));
    if (!scratch)
        return CNNZ_E_NOMEM;
    struct cb_cols cols = {with_cols ? scratch + words * pr->lanes : NULL, pr->period};
    if (cols.b)
        memset(cols.b, 0, ncols * sizeof(uint32_t));
    struct cnnz__buf lane[CB_MAX_LANES];
    int err = CNNZ_OK;
    for (unsigned k = 0; k < pr->lanes; k++) {
        lane[k].data = NULL, lane[k].len = lane[k].cap = 0, lane[k].a = a;
        struct cb_model m;
        cb_model_init(&m, scratch + words * k, pr);
        struct cnnz__buf *dst = pr->lanes == 1 ? out : &lane[k];
        if (!err)
            err = cb_encode_lane(pr, k, &m, &cols, v, n, dst);
    }
    if (pr->lanes > 1) {
        for (unsigned k = 0; k + 1 < pr->lanes && !err; k++)
            if (cnnz__buf_varint(out, lane[k].len))
                err = CNNZ_E_NOMEM;
        for (unsigned k = 0; k < pr->lanes && !err; k++)
            if (cnnz__buf_append(out, lane[k].data, lane[k].len))
                err = CNNZ_E_NOMEM;
        for (unsigned k = 0; k < pr->lanes; k++)
            cnnz__buf_free(&lane[k]);
    }
    cnnz__free(a, scratch);
    return err;
}

/* ---------------------------------------------------- parameter search */

/* Candidate sign-neighbour distances from the tensor grid: the previous
 * symbol, one row back, one slice back, and the divisors of a slice that are
 * whole rows (the kernel positions of a conv layout). */
static unsigned cb_lag_candidates(const struct cnnz__symfmt *fmt, uint64_t n, uint64_t *cand)
{
    unsigned k = 0;
    cand[k++] = 1;
    if (fmt->row > 1 && fmt->row < n)
        cand[k++] = fmt->row;
    if (fmt->group > fmt->row && fmt->group < n)
        cand[k++] = fmt->group;
    if (fmt->group && fmt->row)
        for (uint64_t q = 2; q <= 16; q++) {
            uint64_t g = fmt->group / q;
            if (fmt->group % q == 0 && g % fmt->row == 0 && g > fmt->row && g < n)
                cand[k++] = g;
        }
    return k;
}

/* The two distances whose neighbours' signs agree or disagree most with the
 * symbol's own (a chi-square-like score); deterministic, ties to the first.
 * cls[i] is the sign class of symbol i (spec 7.4.4). */
static void cb_pick_lags(const struct cnnz__symfmt *fmt, const uint8_t *cls, uint64_t n,
                         uint64_t *n1, uint64_t *n2)
{
    uint64_t cand[24];
    unsigned nc = cb_lag_candidates(fmt, n, cand);
    uint64_t best[2] = {0, 0};
    double score[2] = {0, 0};
    for (unsigned j = 0; j < nc; j++) {
        uint64_t lag = cand[j], pairs[9] = {0};
        for (uint64_t i = lag; i < n; i++)
            pairs[3 * cls[i] + cls[i - lag]]++;
        double same = (double)(pairs[4] + pairs[8]), diff = (double)(pairs[5] + pairs[7]);
        double sc = same + diff > 0 ? (same - diff) * (same - diff) / (same + diff) : 0;
        if (sc > score[0]) {
            score[1] = score[0], best[1] = best[0];
            score[0] = sc, best[0] = lag;
        } else if (sc > score[1]) {
            score[1] = sc, best[1] = lag;
        }
    }
    *n1 = best[0];
    *n2 = best[1];
}

/* Sign classes of all symbols: level 0/1/2 around the centre, float
 * 1 + sign bit. */
static void cb_sign_classes(const struct cb_params *pr, const uint8_t *v, uint64_t n, uint8_t *cls)
{
    for (uint64_t i = 0; i < n; i++) {
        uint32_t x = cb_sym(v, pr->width, i);
        cls[i] = (uint8_t)(pr->isfloat ? 1 + (x >> 15) : cb_sgn_level(x, pr->centre));
    }
}

/* The most frequent symbol, the smallest of those tied. A short stream of
 * 16-bit symbols is sorted rather than counted into 65536 bins: clearing
 * and scanning the bins cost most of a small tensor's encode. */
static int cb_mode(const struct cnnz__alloc *a, const uint8_t *v, unsigned w, uint64_t n,
                   uint32_t *mode)
{
    size_t nv = w == 1 ? 256 : 65536;
    uint32_t best = 0;
    if (w == 2 && n < CNNZ__DENSE16_BELOW) {
        struct cnnz__dense16 d;
        int err = cnnz__dense16_build(a, v, (size_t)n, &d);
        if (err)
            return err;
        for (uint32_t j = 1; j < d.k; j++)
            if (d.cnt[j] > d.cnt[best])
                best = j;
        *mode = d.k ? d.sym[best] : 0;
        cnnz__dense16_free(a, &d);
        return CNNZ_OK;
    }
    uint32_t *cnt = cnnz__malloc_array(a, nv, sizeof(uint32_t));
    if (!cnt)
        return CNNZ_E_NOMEM;
    memset(cnt, 0, nv * sizeof(uint32_t));
    for (uint64_t i = 0; i < n; i++) {
        uint32_t x = cb_sym(v, w, i);
        if (cnt[x] < UINT32_MAX)
            cnt[x]++;
    }
    for (uint32_t x = 1; x < nv; x++)
        if (cnt[x] > cnt[best])
            best = x;
    *mode = best;
    cnnz__free(a, cnt);
    return CNNZ_OK;
}

#define CB_ESC_DIV 16
/* Smallest tree depth whose escapes stay under 1/16 of the coded magnitudes
 * (spec-free encoder choice: any D in 1..8 decodes). */
static unsigned cb_pick_depth(const struct cb_params *pr, const uint8_t *v, uint64_t n)
{

    uint64_t hist[CB_MAX_DEPTH + 2] = {0}, total = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t x = cb_sym(v, pr->width, i);
        uint32_t mag = x >= pr->centre ? x - pr->centre : pr->centre - x;
        if (pr->sparse) {
            if (!mag)
                continue;
            mag--;
        }
        total++;
        unsigned l = cb_bitlen(mag + 1); /* mag >= 2^D - 1 iff l > D */
        hist[l > CB_MAX_DEPTH + 1 ? CB_MAX_DEPTH + 1 : l]++;
    }
    for (unsigned d = 1; d < CB_MAX_DEPTH; d++) {
        uint64_t esc = 0;
        for (unsigned l = d + 1; l <= CB_MAX_DEPTH + 1; l++)
            esc += hist[l];
        if (esc * CB_ESC_DIV <= total)
            return d;
    }
    return CB_MAX_DEPTH;
}

/* Encoder choices (not in the spec): symbols tried per candidate, and the
 * smallest stream coded in two lanes. The fuzzing build (CNNZ_FUZZING)
 * makes both small, so that a fuzzer's tensors of a few KiB reach the
 * prefix trial and the lanes (other choices, as valid a stream), and each
 * candidate costs a sixteenth. */
#ifdef CNNZ_FUZZING
#define CB_TRIAL UINT64_C(256)
#define CB_LANES_MIN_N UINT64_C(1024)
#else
#define CB_TRIAL (UINT64_C(1) << 16)
#define CB_LANES_MIN_N (UINT64_C(1) << 16)
#endif
#define CB_LANES_MIN_P 64

static int cb_encode(const struct cnnz__alloc *a, const struct cnnz__symfmt *fmt,
                     const uint8_t *src, size_t src_len, struct cnnz__buf *out,
                     const uint8_t **coded, size_t *coded_len, struct cnnz__buf *params_out)
{
    unsigned w = fmt->width;
    if (w != 1 && w != 2)
        return CNNZ_E_UNSUPPORTED;
    if (src_len % w)
        return CNNZ_E_INPUT;
    uint64_t n = src_len / w;
    int err = CNNZ_OK;
    size_t out0 = out->len;

    struct cb_params cand[8];
    unsigned nc = 0;
    struct cb_params base;
    memset(&base, 0, sizeof base);
    base.width = w;
    base.lanes = 1;
    base.depth = 1;
    if (n == 0) { /* spec 7.4.6: no coded bytes */
        cb_params_put(&base, params_out, &err);
        *coded = src;
        *coded_len = 0;
        return err;
    }
    if ((err = cb_mode(a, src, w, n, &base.centre)))
        return err;
    uint8_t *cls = cnnz__malloc(a, (size_t)n);
    if (!cls)
        return CNNZ_E_NOMEM;
    uint64_t n1 = 0, n2 = 0;
    /* column periods worth trying: the tensor's rows and slices */
    uint64_t periods[2];
    unsigned np = 0;
    if (fmt->row > 1 && fmt->row <= n)
        periods[np++] = fmt->row;
    if (fmt->group > 1 && fmt->group <= n && fmt->group != fmt->row)
        periods[np++] = fmt->group;
    if (np == 0)
        periods[np++] = 0;
    for (unsigned kind = 0; kind < (w == 2 ? 3u : 2u); kind++) {

        struct cb_params p = base;
        p.sparse = kind == 1;
        p.isfloat = kind == 2;
        if (p.isfloat) {
            p.centre = 0;
            p.depth = 0;
        } else {
            p.depth = cb_pick_depth(&p, src, n);
        }
        if (kind != 1) { /* the sparse kind shares the level classes */
            cb_sign_classes(&p, src, n, cls);
            cb_pick_lags(fmt, cls, n, &n1, &n2);
        }
        p.n1 = n1, p.n2 = n2;
        for (unsigned j = 0; j < np; j++) {
            p.period = periods[j];
            cand[nc++] = p;
        }
    }
    cnnz__free(a, cls);
    /* try each on a prefix, keep the smallest (ties: the first) */
    uint64_t tn = n < CB_TRIAL ? n : CB_TRIAL;
    struct cnnz__buf trial = {NULL, 0, 0, a}, best_buf = {NULL, 0, 0, a};
    unsigned best = 0;
    size_t best_len = SIZE_MAX;
    for (unsigned j = 0; j < nc && !err; j++) {
        trial.len = 0;
        err = cb_encode_with(a, &cand[j], src, tn, &trial);
        size_t len = trial.len;
        if (!err && len < best_len) {
            best_len = len;
            best = j;
            struct cnnz__buf t = best_buf;
            best_buf = trial;
            trial = t;
        }
    }
    cnnz__buf_free(&trial);
    if (err) {
        cnnz__buf_free(&best_buf);
        return err;
    }
    struct cb_params pr = cand[best];
    if (!pr.isfloat && !pr.sparse && w == 1 && n >= CB_LANES_MIN_N && pr.period >= CB_LANES_MIN_P &&
        pr.period <= n)
        pr.lanes = 2;
    if (pr.lanes == 1 && tn == n) {
        if (cnnz__buf_append(out, best_buf.data, best_buf.len))
            err = CNNZ_E_NOMEM;
    } else {
        err = cb_encode_with(a, &pr, src, n, out);
    }
    cnnz__buf_free(&best_buf);
    if (err)
        return err;
    cb_params_put(&pr, params_out, &err);
    *coded_len = out->len - out0;
    *coded = *coded_len ? out->data + out0 : src; /* nothing appended: any valid pointer */
    return err;
}

const struct cnnz__coder cnnz__coder_cabac = {
    .id = CNNZ_CODER_CABAC,
    .name = "cabac",
    .version = 0,
    .check = cb_check,
    .decode = cb_decode,
    .encode = cb_encode,
    .identity = 0,
};
