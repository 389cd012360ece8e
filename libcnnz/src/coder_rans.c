/* Coder `rans` (spec 7.3): static order-0 rANS over 8- or 16-bit symbols,
 * K = 2^lanes_log2 interleaved 32-bit states, 16-bit renormalization.
 *
 * Coded bytes (spec 7.3.3): the frequency table (bit-packed, spec 7.3.4),
 * the lanes' initial decoder states (u32 each), then the renormalization
 * words (u16) in the order the decoder reads them (spec 7.3.5). rANS
 * encodes backwards: the encoder walks the symbols from last to first and
 * writes its words from the end of its output area towards the front. */
#include "bitio.h"
#include "coder.h"

/* spec 7.3.1 */
#define PARAMS_LEN 3u
#define MAX_LANES_LOG2 5u
#define MAX_LANES (1u << MAX_LANES_LOG2)
#define MAX_SCALE_BITS 16u

/* spec 7.3.5: L. Every state lies in [L, 2^32); the encoder starts each
 * lane at L and a decoder must find each lane back at L at the end. */
#define RANS_L (UINT32_C(1) << 16)

/* spec 7.3.4 */
#define SET_K_BITS 3u
#define FREQ_K_BITS 4u
#define FREQ_K_MAX ((1u << FREQ_K_BITS) - 1)
#define EG_MAX_ZEROS 24u

/* ------------------------------------------------------------------ check */

/* spec 7.3.1 and 7.3.2: everything the stream entry alone decides. */
static int rans_check(unsigned version, const uint8_t *params, size_t params_len,
                      uint64_t coded_len, uint64_t decoded_len)
{
    if (version != 0 || params_len != PARAMS_LEN)
        return CNNZ_E_CODER;
    unsigned width = params[0], lanes_log2 = params[1], scale_bits = params[2];
    if ((width != 1 && width != 2) || lanes_log2 > MAX_LANES_LOG2 || scale_bits > MAX_SCALE_BITS)
        return CNNZ_E_CODER;
    if (decoded_len % width)
        return CNNZ_E_CODER;
    if (decoded_len == 0) /* empty stream */
        return lanes_log2 == 0 && scale_bits == 0 && coded_len == 0 ? CNNZ_OK : CNNZ_E_CODER;
    if (scale_bits == 0) /* one-symbol stream */
        return lanes_log2 == 0 && coded_len == width ? CNNZ_OK : CNNZ_E_CODER;
    /* A table takes at least 13 bits (2 bytes), then 4 bytes per lane. */
    if (coded_len < 2 + 4 * ((uint64_t)1 << lanes_log2))
        return CNNZ_E_CODER;
    return CNNZ_OK;
}

/* ------------------------------------------------------ Exp-Golomb codes */

static unsigned bitlen64(uint64_t v)
{
    return v ? 64u - (unsigned)__builtin_clzll(v) : 0u;
}

/* Read EG_k (spec 7.3.4): z zero bits, a one bit, a (z + k)-bit field.
 * Sets *bad when more than EG_MAX_ZEROS zero bits come first. */
static uint64_t eg_get(struct cnnz__bitr *b, unsigned k, int *bad)
{
    if (b->n < EG_MAX_ZEROS + 1)
        cnnz__bitr_refill(b);
    uint64_t head = cnnz__bitr_peek(b, EG_MAX_ZEROS + 1);
    if (head == 0) {
        *bad = 1;
        return 0;
    }
    unsigned z = (unsigned)__builtin_ctzll(head);
    cnnz__bitr_skip(b, z + 1);
    uint64_t field = cnnz__bitr_get(b, z + k);
    return ((UINT64_C(1) << (z + k)) | field) - (UINT64_C(1) << k);
}

/* Bits of EG_k(v). */
static unsigned eg_len(uint64_t v, unsigned k)
{
    return 2 * bitlen64(v + ((uint64_t)1 << k)) - 1 - k;
}

/* Append EG_k(v); v < 2^20 here, so the code has at most 41 bits. */
static void eg_put(struct cnnz__bitw *b, uint64_t v, unsigned k)
{
    uint64_t u = v + ((uint64_t)1 << k);
    unsigned m = bitlen64(u) - 1, z = m - k;
    cnnz__bitw_putf(b, (UINT64_C(1) << z) | ((u - (UINT64_C(1) << m)) << (z + 1)), z + 1 + m);
}

/* ---------------------------------------------------------------- decoder */

/* For every slot of [0, M): the freq of its symbol in bits 16..31 and
 * slot - cum in bits 0..15, so that a decode step is one multiply and one
 * add; the symbol in a parallel array. */
struct dtab {
    uint32_t *fb;
    uint8_t *sym8;   /* width 1 */
    uint16_t *sym16; /* width 2 */
};

/* Parse the frequency table (spec 7.3.4) into t; *used gets its length in
 * bytes, padding included. */
static int read_table(const uint8_t *src, size_t src_len, unsigned width, unsigned scale_bits,
                      struct dtab *t, size_t *used)
{
    const uint32_t alphabet = width == 1 ? 256u : 65536u, total = UINT32_C(1) << scale_bits;
    uint64_t present[65536 / 64];
    memset(present, 0, (alphabet / 64) * sizeof present[0]);
    struct cnnz__bitr b;
    cnnz__bitr_init(&b, src, src_len);
    int bad = 0;

    /* The symbol set: runs of present symbols, increasing. */
    unsigned set_k = (unsigned)cnnz__bitr_get(&b, SET_K_BITS);
    uint64_t runs = eg_get(&b, 0, &bad) + 1, next = 0, count = 0;
    for (uint64_t r = 0; r < runs && !bad; r++) {
        uint64_t start = next + eg_get(&b, set_k, &bad);
        uint64_t len = eg_get(&b, set_k, &bad) + 1;
        if (bad || start >= alphabet || len > alphabet - start)
            return CNNZ_E_CORRUPT;
        for (uint64_t s = start; s < start + len; s++)
            present[s / 64] |= UINT64_C(1) << (s % 64);
        count += len;
        next = start + len + 1; /* at least one absent symbol between runs */
    }
    if (bad || count < 2 || count > total)
        return CNNZ_E_CORRUPT;

    /* The freqs, in increasing symbol order, which is also the order the
     * slots are given out in: cum(s) is the sum of the freqs before s. */
    unsigned freq_mode = (unsigned)cnnz__bitr_get(&b, 1);
    unsigned freq_k = (unsigned)cnnz__bitr_get(&b, FREQ_K_BITS);
    int64_t prev = 0;
    uint32_t cum = 0;
    for (uint32_t wi = 0; wi < alphabet / 64; wi++) {
        for (uint64_t bits = present[wi]; bits; bits &= bits - 1) {
            uint32_t s = wi * 64 + (uint32_t)__builtin_ctzll(bits);
            uint64_t v = eg_get(&b, freq_k, &bad);
            /* v > 2M cannot give a freq in range: rejecting it here keeps
             * the arithmetic below small. */
            if (bad || v > 2 * (uint64_t)total)
                return CNNZ_E_CORRUPT;
            int64_t f;
            if (freq_mode == 0)
                f = (int64_t)v + 1;
            else /* zigzag: 0, -1, 1, -2, 2, ... */
                f = prev + ((v & 1) ? -(int64_t)((v + 1) / 2) : (int64_t)(v / 2));
            if (f < 1 || (uint64_t)f > total - cum)
                return CNNZ_E_CORRUPT;
            for (uint32_t i = 0; i < (uint32_t)f; i++)
                t->fb[cum + i] = (uint32_t)f << 16 | i;
            if (width == 1)
                memset(t->sym8 + cum, (int)s, (size_t)f);
            else
                for (uint32_t i = 0; i < (uint32_t)f; i++)
                    t->sym16[cum + i] = (uint16_t)s;
            cum += (uint32_t)f;
            prev = f;
        }
    }
    if (cum != total)
        return CNNZ_E_CORRUPT;

    /* Zero bits up to the next byte boundary. */
    if (cnnz__bitr_get(&b, b.n % 8) != 0 || cnnz__bitr_overrun(&b))
        return CNNZ_E_CORRUPT;
    *used = src_len - cnnz__bitr_unread_bytes(&b);
    return CNNZ_OK;
}

/* One decode step of one lane (spec 7.3.5), renormalization apart. */
#define DEC_STEP(x, slot, e)                                                                  \
    do {                                                                                      \
        slot = (x) & mask;                                                                    \
        e = fb[slot];                                                                         \
        (x) = (e >> 16) * ((x) >> scale_bits) + (e & 0xffff);                                 \
    } while (0)

/* Renormalize one lane from p, which has at least 2 bytes left. Branch-free
 * (whether a lane reads is a coin toss no predictor learns), and without ?:
 * which compilers like to turn back into a branch. */
#define DEC_RENORM(x)                                                                         \
    do {                                                                                      \
        uint32_t c_ = (x) < RANS_L;                                                           \
        (x) = (x) << (c_ * 16) | (cnnz__le16(p) & (0 - c_));                                   \
        p += 2 * c_;                                                                          \
    } while (0)

/* Symbol k of the group at o to the output. */
#define DEC_PUT(k)                                                                            \
    do {                                                                                      \
        if (width == 1)                                                                       \
            o[k] = sym8[slot];                                                                \
        else                                                                                  \
            cnnz__put16(o + 2 * (k), sym16[slot]);                                            \
    } while (0)

/* Whole rounds while a round's worst case (a word per lane) is left, for 4
 * or more lanes; returns the symbols decoded. The lanes go in groups of a
 * constant size (the compiler unrolls them), with the states in memory:
 * faster than 8 states in registers, which crowd out everything else. */
static inline __attribute__((always_inline)) size_t
rounds(const struct dtab *t, const unsigned width, unsigned scale_bits, unsigned lanes,
       const unsigned group, uint32_t *st, struct cnnz__byter *r, uint8_t *dst, size_t n)
{
    const uint32_t *const fb = t->fb, mask = (UINT32_C(1) << scale_bits) - 1;
    const uint8_t *const sym8 = t->sym8;
    const uint16_t *const sym16 = t->sym16;
    const uint8_t *p = r->p;
    uint32_t slot, e;
    size_t i = 0;
    for (; n - i >= lanes && (size_t)(r->end - p) >= 2 * (size_t)lanes; i += lanes) {
        for (unsigned g = 0; g < lanes; g += group) {
            uint8_t *o = dst + (i + g) * width;
            uint32_t *xg = st + g;
            /* In lane order, the order spec 7.3.5 reads words in. */
            for (unsigned j = 0; j < group; j++) {
                uint32_t x = xg[j];
                DEC_STEP(x, slot, e);
                DEC_PUT(j);
                DEC_RENORM(x);
                xg[j] = x;
            }
        }
    }
    r->p = p;
    return i;
}

static size_t dec_rounds(const struct dtab *t, unsigned width, unsigned scale_bits,
                         unsigned lanes, uint32_t *st, struct cnnz__byter *r, uint8_t *dst,
                         size_t n)
{
    if (width == 1)
        return lanes == 4 ? rounds(t, 1, scale_bits, 4, 4, st, r, dst, n)
                          : rounds(t, 1, scale_bits, lanes, 8, st, r, dst, n);
    return lanes == 4 ? rounds(t, 2, scale_bits, 4, 4, st, r, dst, n)
                      : rounds(t, 2, scale_bits, lanes, 8, st, r, dst, n);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* The same rounds with AVX2, chosen at run time, for 16 or 32 lanes: 8
 * lanes a vector, table entries by gather. 2 or 4 vectors in flight hide
 * the latency of a step (with 8 lanes, one vector is no faster than the
 * portable code). */
#define RANS_AVX2 1
#include <immintrin.h>

#define AVX2_TARGET __attribute__((target("avx2,popcnt")))

/* One vector step: decode, then renormalize. The lanes that need a word
 * take the next unread words in lane order (spec 7.3.5): the 8 words at p
 * go to both 128-bit halves and one byte shuffle, chosen by the need-mask,
 * moves the k-th of them to the k-th lane that needs one. */
#define AVX2_STEP(x, s)                                                                       \
    do {                                                                                      \
        __m256i slot_ = _mm256_and_si256(x, mask);                                            \
        __m256i e_ = _mm256_i32gather_epi32((const void *)fb, slot_, 4);                      \
        s = width == 1 ? _mm256_i32gather_epi32((const void *)sym8, slot_, 1)                 \
                       : _mm256_i32gather_epi32((const void *)sym16, slot_, 2);               \
        x = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_srli_epi32(e_, 16),                    \
                                                _mm256_srl_epi32(x, shift)),                  \
                             _mm256_and_si256(e_, low16));                                    \
        __m256i need_ = _mm256_cmpeq_epi32(_mm256_srli_epi32(x, 16), zero);                   \
        unsigned bits_ = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(need_));            \
        __m256i w_ = _mm256_broadcastsi128_si256(_mm_loadu_si128((const void *)p));           \
        w_ = _mm256_shuffle_epi8(w_, _mm256_loadu_si256((const void *)spread[bits_]));        \
        x = _mm256_blendv_epi8(x, _mm256_or_si256(_mm256_slli_epi32(x, 16), w_), need_);      \
        p += 2 * (unsigned)__builtin_popcount(bits_);                                         \
    } while (0)

/* The symbols of one vector to dst + o symbols, in lane order. */
#define AVX2_PUT8(s, o)                                                                       \
    do {                                                                                      \
        if (width == 1) {                                                                     \
            __m256i b_ = _mm256_and_si256(s, _mm256_set1_epi32(0xff));                         \
            b_ = _mm256_packus_epi16(_mm256_packus_epi32(b_, zero), zero);                    \
            b_ = _mm256_permutevar8x32_epi32(b_, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0));  \
            _mm_storel_epi64((void *)(dst + (o)), _mm256_castsi256_si128(b_));                \
        } else {                                                                              \
            __m256i b_ = _mm256_packus_epi32(_mm256_and_si256(s, low16), zero);               \
            b_ = _mm256_permute4x64_epi64(b_, 0x08);                                          \
            _mm_storeu_si128((void *)(dst + 2 * (o)), _mm256_castsi256_si128(b_));            \
        }                                                                                     \
    } while (0)

static inline __attribute__((always_inline)) AVX2_TARGET size_t
avx2_rounds(const struct dtab *t, const unsigned width, const unsigned vecs, unsigned scale_bits,
            uint32_t *st, struct cnnz__byter *r, uint8_t *dst, size_t n)
{
    /* spread[b], for need-mask b: lane j gets the 2 bytes of word c (c =
     * lanes below j that need one) in its low half, zeros in its high. */
    uint8_t spread[256][32];
    for (unsigned b = 0; b < 256; b++)
        for (unsigned j = 0, c = 0; j < 8; j++) {
            uint8_t *q = spread[b] + 4 * j;
            q[0] = (uint8_t)(2 * c), q[1] = (uint8_t)(2 * c + 1), q[2] = q[3] = 0x80;
            c += (b >> j) & 1;
        }
    const uint32_t *const fb = t->fb;
    const uint8_t *const sym8 = t->sym8;
    const uint16_t *const sym16 = t->sym16;
    const __m256i mask = _mm256_set1_epi32((int)((UINT32_C(1) << scale_bits) - 1));
    const __m256i low16 = _mm256_set1_epi32(0xffff), zero = _mm256_setzero_si256();
    const __m128i shift = _mm_cvtsi32_si128((int)scale_bits);
    const unsigned lanes = 8 * vecs;
    __m256i x0 = _mm256_loadu_si256((const void *)st);
    __m256i x1 = _mm256_loadu_si256((const void *)(st + 8)), x2 = zero, x3 = zero;
    if (vecs > 2) {
        x2 = _mm256_loadu_si256((const void *)(st + 16));
        x3 = _mm256_loadu_si256((const void *)(st + 24));
    }
    const uint8_t *p = r->p;
    size_t i = 0;
    for (; n - i >= lanes && (size_t)(r->end - p) >= 2 * lanes; i += lanes) {
        __m256i s0, s1, s2, s3;
        AVX2_STEP(x0, s0);
        AVX2_STEP(x1, s1);
        if (vecs == 2) {
            AVX2_PUT8(s0, i);
            AVX2_PUT8(s1, i + 8);
            continue;
        }
        AVX2_STEP(x2, s2);
        AVX2_STEP(x3, s3);
        /* All 32 symbols with one or two stores. After the packs, 32-bit
         * word d holds lanes 4 * (d / 4) .. + 3 of vector d % 4. */
        if (width == 1) {
            const __m256i byte = _mm256_set1_epi32(0xff);
            __m256i a = _mm256_packus_epi32(_mm256_and_si256(s0, byte), _mm256_and_si256(s1, byte));
            __m256i b = _mm256_packus_epi32(_mm256_and_si256(s2, byte), _mm256_and_si256(s3, byte));
            a = _mm256_packus_epi16(a, b);
            a = _mm256_permutevar8x32_epi32(a, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((void *)(dst + i), a);
        } else {
            __m256i a = _mm256_packus_epi32(_mm256_and_si256(s0, low16),
                                            _mm256_and_si256(s1, low16));
            __m256i b = _mm256_packus_epi32(_mm256_and_si256(s2, low16),
                                            _mm256_and_si256(s3, low16));
            _mm256_storeu_si256((void *)(dst + 2 * i), _mm256_permute4x64_epi64(a, 0xd8));
            _mm256_storeu_si256((void *)(dst + 2 * i + 32), _mm256_permute4x64_epi64(b, 0xd8));
        }
    }
    _mm256_storeu_si256((void *)st, x0);
    _mm256_storeu_si256((void *)(st + 8), x1);
    if (vecs > 2) {
        _mm256_storeu_si256((void *)(st + 16), x2);
        _mm256_storeu_si256((void *)(st + 24), x3);
    }
    r->p = p;
    return i;
}

AVX2_TARGET static size_t dec_rounds_avx2(const struct dtab *t, unsigned width, unsigned lanes,
                                          unsigned scale_bits, uint32_t *st,
                                          struct cnnz__byter *r, uint8_t *dst, size_t n)
{
    if (width == 1)
        return lanes == 32 ? avx2_rounds(t, 1, 4, scale_bits, st, r, dst, n)
                           : avx2_rounds(t, 1, 2, scale_bits, st, r, dst, n);
    return lanes == 32 ? avx2_rounds(t, 2, 4, scale_bits, st, r, dst, n)
                       : avx2_rounds(t, 2, 2, scale_bits, st, r, dst, n);
}
#endif

/* For test_rans.c, which runs both paths: simd = 0 keeps to portable C.
 * The coder's decode is this with simd = 1. */
CNNZ__INTERNAL int cnnz__rans_decode_with(int simd, const struct cnnz__alloc *a, unsigned version,
                                          const uint8_t *params, size_t params_len,
                                          const uint8_t *src, size_t src_len, uint8_t *dst,
                                          size_t dst_len);

/* A decoder between two symbols: the table, the lanes, the words left. */
struct rdec {
    struct dtab t;
    unsigned width, lanes, scale_bits;
    struct cnnz__byter r;
    uint32_t st[MAX_LANES];
    size_t i, n; /* symbols decoded, symbols in all */
    int simd;
};

/* Everything before the first symbol (spec 7.3.2 - 7.3.5): the table, then
 * the initial states. A one-symbol or empty stream needs neither (t.fb NULL). */
static int rdec_begin(struct rdec *d, int simd, const struct cnnz__alloc *a, unsigned version,
                      const uint8_t *params, size_t params_len, const uint8_t *src,
                      size_t src_len, size_t dst_len)
{
    d->t.fb = NULL;
    int err = rans_check(version, params, params_len, src_len, dst_len);
    if (err)
        return err;
    d->width = params[0];
    d->lanes = 1u << params[1];
    d->scale_bits = params[2];
    d->simd = simd;
    d->i = 0;
    d->n = dst_len / d->width;
    cnnz__byter_init(&d->r, src, src_len);
    if (dst_len == 0 || d->scale_bits == 0)
        return CNNZ_OK;
    /* 4 spare bytes after the symbols: the vector path reads 4 bytes at
     * the address of every symbol. */
    const uint32_t total = UINT32_C(1) << d->scale_bits;
    const size_t tsize = (size_t)total * (4 + d->width);
    d->t.fb = cnnz__malloc(a, tsize + 4);
    if (!d->t.fb)
        return CNNZ_E_NOMEM;
    d->t.sym8 = (uint8_t *)(d->t.fb + total);
    d->t.sym16 = (uint16_t *)(d->t.fb + total);
    memset((uint8_t *)d->t.fb + tsize, 0, 4);
    size_t used;
    if ((err = read_table(src, src_len, d->width, d->scale_bits, &d->t, &used)))
        return err;
    /* spec 7.3.5: the initial states, lane 0 first. */
    cnnz__byter_init(&d->r, src + used, src_len - used);
    for (unsigned j = 0; j < d->lanes; j++) {
        d->st[j] = cnnz__byter_u32(&d->r);
        if (d->st[j] < RANS_L)
            return CNNZ_E_CORRUPT;
    }
    return CNNZ_OK;
}

/* The next m symbols into dst. Whole rounds go through the unrolled (and
 * vector) paths once the lanes are back at lane 0; the rest one symbol at a
 * time, the byte reader checking every read. After the last symbol, the
 * checks of spec 7.3.6. */
static int rdec_next(struct rdec *d, const uint8_t *src, uint8_t *dst, size_t m)
{
    const unsigned width = d->width, lanes = d->lanes;
    if (d->scale_bits == 0) { /* spec 7.3.2: the one symbol, repeated */
        for (size_t i = 0; i < m; i++)
            memcpy(dst + width * i, src, width);
        d->i += m;
        return CNNZ_OK;
    }
    const uint32_t *const fb = d->t.fb, mask = (UINT32_C(1) << d->scale_bits) - 1;
    const unsigned scale_bits = d->scale_bits;
    size_t i = d->i, stop = d->i + m;
    for (uint32_t slot, e; i < stop; i++) {
        if ((i & (lanes - 1)) == 0 && lanes >= 4 && stop - i >= lanes) {
            size_t k = 0;
#ifdef RANS_AVX2
            if (lanes >= 16 && d->simd && __builtin_cpu_supports("avx2"))
                k = dec_rounds_avx2(&d->t, width, lanes, scale_bits, d->st, &d->r,
                                    dst + (i - d->i) * width, stop - i);
#endif
            k += dec_rounds(&d->t, width, scale_bits, lanes, d->st, &d->r,
                            dst + (i - d->i + k) * width, stop - i - k);
            i += k;
            if (i == stop)
                break;
        }
        uint32_t *x = &d->st[i & (lanes - 1)];
        DEC_STEP(*x, slot, e);
        if (width == 1)
            dst[i - d->i] = d->t.sym8[slot];
        else
            cnnz__put16(dst + 2 * (i - d->i), d->t.sym16[slot]);
        if (*x < RANS_L) {
            *x = *x << 16 | cnnz__byter_u16(&d->r);
            if (d->r.overrun)
                return CNNZ_E_CORRUPT; /* a word missing: no need to go on (spec 7.3.5 MAY) */
        }
    }
    d->i = stop;
    if (d->i < d->n)
        return CNNZ_OK;
    /* spec 7.3.6: no word missing, none left over, every lane back at L. */
    if (d->r.overrun || cnnz__byter_left(&d->r) != 0)
        return CNNZ_E_CORRUPT;
    for (unsigned j = 0; j < lanes; j++)
        if (d->st[j] != RANS_L)
            return CNNZ_E_CORRUPT;
    return CNNZ_OK;
}

int cnnz__rans_decode_with(int simd, const struct cnnz__alloc *a, unsigned version,
                           const uint8_t *params, size_t params_len, const uint8_t *src,
                           size_t src_len, uint8_t *dst, size_t dst_len)
{
    struct rdec d;
    int err = rdec_begin(&d, simd, a, version, params, params_len, src, src_len, dst_len);
    if (!err && dst_len)
        err = rdec_next(&d, src, dst, d.n);
    cnnz__free(a, d.t.fb);
    return err;
}

static int rans_decode(const struct cnnz__alloc *a, unsigned version, const uint8_t *params,
                       size_t params_len, const uint8_t *src, size_t src_len, uint8_t *dst,
                       size_t dst_len)
{
    return cnnz__rans_decode_with(1, a, version, params, params_len, src, src_len, dst, dst_len);
}

/* Incremental decoding: the same decoder, kept between calls. */
struct rans_stream {
    struct rdec d;
    const uint8_t *src;
};

static int rans_stream_begin(const struct cnnz__alloc *a, unsigned version, const uint8_t *params,
                             size_t params_len, const uint8_t *src, size_t src_len,
                             size_t dst_len, void **state)
{
    struct rans_stream *s = cnnz__malloc(a, sizeof *s);
    if (!s)
        return CNNZ_E_NOMEM;
    *state = s;
    s->src = src;
    return rdec_begin(&s->d, 1, a, version, params, params_len, src, src_len, dst_len);
}

static int rans_stream_next(void *state, uint8_t *dst, size_t n)
{
    struct rans_stream *s = state;
    return rdec_next(&s->d, s->src, dst, n / s->d.width);
}

static void rans_stream_end(const struct cnnz__alloc *a, void *state)
{
    struct rans_stream *s = state;
    cnnz__free(a, s->d.t.fb);
    cnnz__free(a, s);
}

/* ---------------------------------------------------------------- encoder */

/* Encoder scratch. Per present symbol (k of them, increasing): */
struct enc {
    uint32_t *sym;     /* its value */
    uint64_t *c;       /* its count, scaled so that all sum below 2^32 */
    uint64_t *share;   /* c * 2^32 / csum */
    uint32_t *f;       /* the freq being tried */
    uint32_t *best;    /* the freq chosen */
    uint32_t *heap;    /* normalize()'s heap of indices */
    struct esym *es;   /* per symbol value: the rANS step */
    uint32_t k;
    uint64_t csum;
};

/* --- normalization */

/* Heap order for normalize(). Adding: the root is the symbol one more slot
 * helps most (largest c / (f + 1/2)); removing: the one a slot less hurts
 * least (smallest c / (f - 1/2)). Ties go to the lower symbol. */
static int heap_before(const struct enc *w, int add, uint32_t a, uint32_t b)
{
    uint64_t fa = w->f[a], fb = w->f[b];
    uint64_t l = w->c[a] * (add ? 2 * fb + 1 : 2 * fb - 1);
    uint64_t r = w->c[b] * (add ? 2 * fa + 1 : 2 * fa - 1);
    if (l != r)
        return add ? l > r : l < r;
    return a < b;
}

static void heap_down(const struct enc *w, int add, uint32_t *h, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t m = i, l = 2 * i + 1, r = l + 1;
        if (l < n && heap_before(w, add, h[l], h[m]))
            m = l;
        if (r < n && heap_before(w, add, h[r], h[m]))
            m = r;
        if (m == i)
            return;
        uint32_t tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

/* Freqs w->f summing to M = 2^scale_bits, each >= 1 (k <= M): the share
 * rounded (at least 1), then the missing slots added (or the extra ones
 * taken away) one at a time where that changes the coded size most (resp.
 * least), as estimated by c / (f +- 1/2) (Sainte-Lague). Integer only, so
 * the choice is the same on every host. */
static void normalize(struct enc *w, unsigned scale_bits)
{
    const uint64_t total = (uint64_t)1 << scale_bits;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < w->k; i++) {
        uint64_t f = (w->share[i] + ((uint64_t)1 << (31 - scale_bits))) >> (32 - scale_bits);
        w->f[i] = (uint32_t)(f ? f : 1);
        sum += w->f[i];
    }
    uint32_t n = 0, *h = w->heap;
    int add = sum < total;
    for (uint32_t i = 0; i < w->k; i++)
        if (add || w->f[i] > 1)
            h[n++] = i;
    for (uint32_t i = n / 2; i-- > 0;)
        heap_down(w, add, h, n, i);
    /* Removing never runs out: while sum > M >= k some f is above 1. */
    while (sum != total) {
        uint32_t s = h[0];
        if (add) {
            w->f[s]++, sum++;
        } else {
            w->f[s]--, sum--;
            if (w->f[s] == 1)
                h[0] = h[--n];
        }
        heap_down(w, add, h, n, 0);
    }
}

/* log2(f) in 16.16 fixed point (1 <= f < 2^31), by repeated squaring:
 * integer arithmetic keeps the encoder's choices off libm. */
static uint32_t log2_fix(uint32_t f)
{
    unsigned e = bitlen64(f) - 1;
    uint64_t y = (uint64_t)f << (30 - e); /* f / 2^e in [1, 2), Q30 */
    uint32_t r = e << 16;
    for (unsigned i = 16; i-- > 0;) {
        y = (y * y) >> 30;
        if (y >= (UINT64_C(2) << 30)) {
            y >>= 1;
            r |= 1u << i;
        }
    }
    return r;
}

/* Estimated rANS coding loss in 16.16 bits per symbol, by scale_bits: the
 * quotient x / freq keeps at least 16 - scale_bits bits. Measured on model
 * weights: about 0.005 bits at 16, a quarter of that a step down. */
static uint64_t scale_loss(unsigned scale_bits)
{
    return 328u >> (2 * (MAX_SCALE_BITS - scale_bits));
}

/* --- table description (spec 7.3.4) */

/* Bits of the symbol set with the best set_k. */
static uint64_t set_bits(const struct enc *w, unsigned *best_k)
{
    uint64_t best = UINT64_MAX;
    for (unsigned k = 0; k < (1u << SET_K_BITS); k++) {
        uint64_t bits = SET_K_BITS, runs = 0;
        uint32_t next = 0;
        for (uint32_t i = 0; i < w->k;) {
            uint32_t j = i;
            while (j + 1 < w->k && w->sym[j + 1] == w->sym[j] + 1)
                j++;
            bits += eg_len(w->sym[i] - next, k) + eg_len(j - i, k);
            next = w->sym[j] + 2;
            runs++;
            i = j + 1;
        }
        bits += eg_len(runs - 1, 0);
        if (bits < best)
            best = bits, *best_k = k;
    }
    return best;
}

/* The value coded for freq i (spec 7.3.4). */
static uint64_t freq_value(const uint32_t *f, uint32_t i, unsigned freq_mode)
{
    if (freq_mode == 0)
        return f[i] - 1;
    int64_t r = (int64_t)f[i] - (i ? (int64_t)f[i - 1] : 0);
    return r >= 0 ? (uint64_t)r * 2 : (uint64_t)(-r) * 2 - 1;
}

/* Bits of the freqs with the best freq_mode and freq_k. The orders tried
 * are those near log2 of the mean value (the size is convex in k). */
static uint64_t freq_bits(const struct enc *w, const uint32_t *f, unsigned *best_mode,
                          unsigned *best_k)
{
    uint64_t best = UINT64_MAX;
    for (unsigned mode = 0; mode < 2; mode++) {
        uint64_t sum = 0;
        for (uint32_t i = 0; i < w->k; i++)
            sum += freq_value(f, i, mode);
        unsigned b = bitlen64(sum / w->k), lo = b > 2 ? b - 2 : 0, hi = b;
        if (hi > FREQ_K_MAX)
            hi = FREQ_K_MAX;
        uint64_t bits[FREQ_K_MAX + 1] = {0};
        for (uint32_t i = 0; i < w->k; i++) {
            uint64_t v = freq_value(f, i, mode);
            for (unsigned k = lo; k <= hi; k++)
                bits[k] += eg_len(v, k);
        }
        for (unsigned k = lo; k <= hi; k++)
            if (1 + FREQ_K_BITS + bits[k] < best)
                best = 1 + FREQ_K_BITS + bits[k], *best_mode = mode, *best_k = k;
    }
    return best;
}

static void write_table(struct cnnz__bitw *b, const struct enc *w, unsigned set_k,
                        unsigned freq_mode, unsigned freq_k)
{
    cnnz__bitw_putf(b, set_k, SET_K_BITS);
    uint32_t runs = 1;
    for (uint32_t i = 1; i < w->k; i++)
        runs += w->sym[i] != w->sym[i - 1] + 1;
    eg_put(b, runs - 1, 0);
    uint32_t next = 0;
    for (uint32_t i = 0; i < w->k;) {
        uint32_t j = i;
        while (j + 1 < w->k && w->sym[j + 1] == w->sym[j] + 1)
            j++;
        eg_put(b, w->sym[i] - next, set_k);
        eg_put(b, j - i, set_k);
        next = w->sym[j] + 2;
        i = j + 1;
    }
    cnnz__bitw_putf(b, freq_mode, 1);
    cnnz__bitw_putf(b, freq_k, FREQ_K_BITS);
    for (uint32_t i = 0; i < w->k; i++)
        eg_put(b, freq_value(w->best, i, freq_mode), freq_k);
}

/* --- histogram */

/* Byte counts. Four tables, so runs of one byte do not serialize on one
 * counter; chunks keep the 32-bit counters from wrapping. */
static void count_bytes(const uint8_t *src, size_t n, uint64_t *count)
{
    uint32_t t[4][256];
    while (n) {
        size_t m = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30), i = 0;
        memset(t, 0, sizeof t);
        for (; i + 4 <= m; i += 4) {
            t[0][src[i]]++;
            t[1][src[i + 1]]++;
            t[2][src[i + 2]]++;
            t[3][src[i + 3]]++;
        }
        for (; i < m; i++)
            t[0][src[i]]++;
        for (unsigned s = 0; s < 256; s++)
            count[s] += (uint64_t)t[0][s] + t[1][s] + t[2][s] + t[3][s];
        src += m, n -= m;
    }
}

/* The present symbols, increasing, into w->sym, and their counts into w->c
 * (room for min(n, alphabet) of each). With d (the caller's choice, for a
 * short width-2 stream) they are sorted into d instead of counted into
 * 65536 bins, and the stream is then coded from d->idx, renumbered. */
static int histogram(const struct cnnz__alloc *a, const uint8_t *src, size_t n, unsigned width,
                     struct enc *w, struct cnnz__dense16 *d)
{
    w->k = 0;
    if (width == 1) {
        uint64_t count[256] = {0};
        count_bytes(src, n, count);
        for (uint32_t s = 0; s < 256; s++)
            if (count[s])
                w->sym[w->k] = s, w->c[w->k++] = count[s];
        return CNNZ_OK;
    }
    if (d) {
        int err = cnnz__dense16_build(a, src, n, d);
        if (err)
            return err;
        for (uint32_t j = 0; j < d->k; j++)
            w->sym[j] = d->sym[j], w->c[j] = d->cnt[j];
        w->k = d->k;
        return CNNZ_OK;
    }
    uint64_t *count = cnnz__malloc_array(a, 65536, sizeof *count);
    if (!count)
        return CNNZ_E_NOMEM;
    memset(count, 0, 65536 * sizeof *count);
    for (size_t i = 0; i < n; i++)
        count[cnnz__le16(src + 2 * i)]++;
    for (uint32_t s = 0; s < 65536; s++)
        if (count[s])
            w->sym[w->k] = s, w->c[w->k++] = count[s];
    cnnz__free(a, count);
    return CNNZ_OK;
}

/* --- the coding loop */

/* The rANS step for one symbol, run backwards (spec 7.3.5): with q = x /
 * freq, x / freq * M + x % freq + cum = x + cum + q * (M - freq). q comes
 * from a multiply by a reciprocal (Granlund and Montgomery, "Division by
 * invariant integers using multiplication", 1994, exact for all 32-bit x)
 * instead of a division. */
struct esym {
    uint32_t x_max; /* renormalize first when x >= x_max */
    uint32_t rcp;   /* the multiplier */
    uint32_t bias;  /* cum (but see esym_init for freq 1) */
    uint16_t cmpl;  /* M - freq */
    uint8_t shift;  /* ceil(log2 freq) - 1 */
};

static void esym_init(struct esym *s, uint32_t freq, uint32_t cum, unsigned scale_bits)
{
    const uint32_t total = UINT32_C(1) << scale_bits;
    s->x_max = freq << (32 - scale_bits); /* ((L >> scale_bits) << 16) * freq */
    s->cmpl = (uint16_t)(total - freq);
    if (freq == 1) {
        /* rcp = 2^32 - 1 gives q = x - 1 (x >= 1): the bias adds the
         * missing 1 * (M - 1). */
        s->rcp = UINT32_MAX;
        s->shift = 0;
        s->bias = cum + total - 1;
        return;
    }
    unsigned l = bitlen64(freq - 1);
    s->rcp = (uint32_t)((((uint64_t)1 << 32) * (((uint64_t)1 << l) - freq)) / freq + 1);
    s->shift = (uint8_t)(l - 1);
    s->bias = cum;
}


/* Renormalize (writing at most one word, just below *wp), then encode. The
 * word is always stored and *wp moves only when it counts: no branch. */
static inline uint32_t enc_step(uint32_t x, const struct esym *s, uint8_t **wp)
{
    uint32_t c = x >= s->x_max;
    cnnz__store16(*wp - 2, (uint16_t)x);
    *wp -= 2 * c;
    x = c ? x >> 16 : x;
    uint32_t hi = (uint32_t)(((uint64_t)x * s->rcp) >> 32);
    uint32_t q = (hi + ((x - hi) >> 1)) >> s->shift;
    return x + s->bias + q * s->cmpl;
}

/* Symbols [0, n), n a multiple of lanes, last to first; returns the new
 * wp. The states stay in memory: in registers they crowd out wp, whose
 * spill would chain every step through a store and a load. */
static inline __attribute__((always_inline)) uint8_t *
enc_lanes(const struct esym *es, const uint8_t *src, const unsigned width, size_t n,
          unsigned lanes, uint32_t *x, uint8_t *wp)
{
    for (size_t i = n; i; i -= lanes) {
        const uint8_t *q = src + (i - lanes) * width;
        for (unsigned j = lanes; j-- > 0;)
            x[j] = enc_step(x[j], &es[width == 1 ? q[j] : cnnz__le16(q + 2 * j)], &wp);
    }
    return wp;
}

/* Not inlined into rans_encode, whose many live values would spill wp. */
__attribute__((noinline)) static uint8_t *enc_rounds(const struct esym *es, const uint8_t *src,
                                                     unsigned width, size_t n, unsigned lanes,
                                                     uint32_t *x, uint8_t *wp)
{
    if (width == 1)
        return enc_lanes(es, src, 1, n, lanes, x, wp);
    return enc_lanes(es, src, 2, n, lanes, x, wp);
}

/* Lanes for a stream of about est coded bytes. A lane costs about 3 bytes
 * (its 4-byte final state less the information in it); a stream gets the
 * most lanes, up to 32, that keep this within 1/256 of its size. Big
 * streams get 16 or 32, which keep the vector decoder busy. The fuzzing
 * build (CNNZ_FUZZING) allows 1/8, so that a fuzzer's streams of a few KiB
 * reach the vector decoder too. */
#ifdef CNNZ_FUZZING
#define LANE_COST_DIV 8u
#else
#define LANE_COST_DIV 256u
#endif
static unsigned pick_lanes_log2(uint64_t est)
{
    unsigned l = 0;
    while (l < MAX_LANES_LOG2 && ((uint64_t)3 << (l + 1)) * LANE_COST_DIV <= est)
        l++;
    return l;
}

static int rans_encode(const struct cnnz__alloc *a, const struct cnnz__symfmt *fmt,
                       const uint8_t *src, size_t src_len, struct cnnz__buf *out,
                       const uint8_t **coded, size_t *coded_len, struct cnnz__buf *params_out)
{
    const unsigned width = fmt->width;
    if (width != 1 && width != 2)
        return CNNZ_E_UNSUPPORTED;
    if (src_len % width)
        return CNNZ_E_ARG;
    const size_t n = src_len / width, start = out->len;
    const uint32_t alphabet = width == 1 ? 256u : 65536u;
    uint8_t params[PARAMS_LEN] = {(uint8_t)width, 0, 0};
    int err;

    if (n == 0) { /* spec 7.3.2: no coded bytes */
        *coded = src;
        *coded_len = 0;
        return cnnz__buf_append(params_out, params, sizeof params);
    }

    struct enc w;
    const size_t kmax = n < alphabet ? n : alphabet;
    const size_t per = 3 * sizeof(uint64_t) + 4 * sizeof(uint32_t);
    /* the coding table by symbol, or by index when histogram() renumbers */
    const int dense = width == 2 && n < CNNZ__DENSE16_BELOW;
    struct cnnz__dense16 d16 = {0};
    uint8_t *mem = cnnz__malloc(a, kmax * per + (dense ? kmax : alphabet) * sizeof(struct esym));
    if (!mem)
        return CNNZ_E_NOMEM;
    w.c = (uint64_t *)(void *)mem;
    w.share = w.c + kmax;
    w.sym = (uint32_t *)(void *)(w.share + kmax);
    w.f = w.sym + kmax;
    w.best = w.f + kmax;
    w.heap = w.best + kmax;
    w.es = (struct esym *)(void *)(w.heap + kmax);
    if ((err = histogram(a, src, n, width, &w, dense ? &d16 : NULL)))
        goto done;

    if (w.k == 1 && (uint64_t)n * width > 65536) {
        /* A stream of the symbol alone codes any length in `width` bytes,
         * past the expansion cap of spec 5.3.1 once long enough. A phantom
         * second symbol of count 1 (never coded) makes each symbol cost a
         * few hundred-thousandths of a bit instead, within the cap. */
        uint32_t s = w.sym[0], ph = s ^ 1;
        uint64_t c = w.c[0];
        w.sym[0] = ph < s ? ph : s;
        w.c[0] = ph < s ? 1 : c;
        w.sym[1] = ph < s ? s : ph;
        w.c[1] = ph < s ? c : 1;
        w.k = 2;
    }
    if (w.k == 1) { /* spec 7.3.2: the symbol alone */
        if ((err = cnnz__buf_append(out, src, width)) ||
            (err = cnnz__buf_append(params_out, params, sizeof params)))
            goto done;
        *coded = out->data + start;
        *coded_len = width;
        goto done;
    }

    /* Counts scaled to a sum below 2^32, so that c * 2^32 and normalize()'s
     * products fit 64 bits. */
    unsigned down = 0;
    while (((uint64_t)n >> down) > ((uint64_t)1 << 31))
        down++;
    w.csum = 0;
    for (uint32_t i = 0; i < w.k; i++) {
        w.c[i] >>= down;
        w.c[i] += !w.c[i];
        w.csum += w.c[i];
    }
    for (uint32_t i = 0; i < w.k; i++)
        w.share[i] = (w.c[i] << 32) / w.csum;

    /* scale_bits with the smallest estimated size: table bytes, data bits
     * (sum of c * log2(M / f)) and the precision loss. Above log2(n) + 1
     * the freqs would only describe the counts more finely than they are
     * known. From the top down; the size is close to convex in scale_bits,
     * so the search stops after two in a row that do worse. */
    unsigned set_k = 0, freq_mode = 0, freq_k = 0, scale_bits = 0;
    uint64_t sbits = set_bits(&w, &set_k), best_cost = UINT64_MAX, best_tbits = 0;
    uint32_t log2_memo[256]; /* small freqs recur from one scale to the next */
    memset(log2_memo, 0xff, sizeof log2_memo);
    unsigned lo = bitlen64(w.k - 1), hi = bitlen64(n - 1) + 1;
    hi = hi < lo ? lo : hi > MAX_SCALE_BITS ? MAX_SCALE_BITS : hi;
    for (unsigned sb = hi, worse = 0; sb >= lo && worse < 2; sb--) {
        normalize(&w, sb);
        unsigned mode = 0, k = 0;
        uint64_t tbits = sbits + freq_bits(&w, w.f, &mode, &k);
        uint64_t cost = ((tbits + 7) & ~(uint64_t)7) << 16;
        for (uint32_t i = 0; i < w.k; i++) {
            uint32_t f = w.f[i], l;
            if (f < 256) {
                if (log2_memo[f] == UINT32_MAX)
                    log2_memo[f] = log2_fix(f);
                l = log2_memo[f];
            } else {
                l = log2_fix(f);
            }
            cost += w.c[i] * (((uint64_t)sb << 16) - l);
        }
        cost += scale_loss(sb) * w.csum;
        if (cost <= best_cost) {
            best_cost = cost, scale_bits = sb, best_tbits = tbits;
            freq_mode = mode, freq_k = k, worse = 0;
            memcpy(w.best, w.f, w.k * sizeof *w.f);
        } else {
            worse++;
        }
    }

    const unsigned lanes_log2 = pick_lanes_log2(best_cost >> 19), lanes = 1u << lanes_log2;
    const size_t tbytes = (size_t)((best_tbits + 7) / 8), head = tbytes + 4 * (size_t)lanes;
    if (n > (SIZE_MAX - head) / 2) {
        err = CNNZ_E_NOMEM;
        goto done;
    }
    /* At most one word per symbol. */
    if ((err = cnnz__buf_reserve(out, head + 2 * n)))
        goto done;
    uint8_t *base = out->data + start;
    struct cnnz__bitw b;
    cnnz__bitw_init(&b, base, tbytes);
    write_table(&b, &w, set_k, freq_mode, freq_k);
    if (cnnz__bitw_finish(&b) != tbytes) {
        err = CNNZ_E_ARG; /* cannot happen: tbytes was counted above */
        goto done;
    }

    uint32_t cum = 0;
    for (uint32_t i = 0; i < w.k; i++) {
        esym_init(&w.es[dense ? i : w.sym[i]], w.best[i], cum, scale_bits);
        cum += w.best[i];
    }
    const uint8_t *const syms = dense ? d16.idx : src;
    /* spec 7.3.5 backwards: symbol i on lane i mod K, last symbol first,
     * the words from the end of the area down; the partial round at the
     * end of the symbols comes first. */
    uint32_t x[MAX_LANES];
    for (unsigned j = 0; j < lanes; j++)
        x[j] = RANS_L;
    uint8_t *const top = base + head + 2 * n;
    uint8_t *wp = top;
    size_t i = n;
    for (; i % lanes; i--) {
        const uint8_t *q = syms + (i - 1) * width;
        uint32_t *xl = &x[(i - 1) % lanes];
        *xl = enc_step(*xl, &w.es[width == 1 ? *q : cnnz__le16(q)], &wp);
    }
    wp = enc_rounds(w.es, syms, width, i, lanes, x, wp);
    for (unsigned j = 0; j < lanes; j++)
        cnnz__put32(base + tbytes + 4 * j, x[j]);
    size_t words = (size_t)(top - wp);
    memmove(base + head, wp, words);
    out->len = start + head + words;
    *coded = out->data + start;
    *coded_len = head + words;
    params[1] = (uint8_t)lanes_log2;
    params[2] = (uint8_t)scale_bits;
    err = cnnz__buf_append(params_out, params, sizeof params);
done:
    cnnz__dense16_free(a, &d16);
    cnnz__free(a, mem);
    return err;
}

const struct cnnz__coder cnnz__coder_rans = {
    .id = CNNZ_CODER_RANS,
    .name = "rans",
    .version = 0,
    .check = rans_check,
    .decode = rans_decode,
    .encode = rans_encode,
    .identity = 0,
    .stream_begin = rans_stream_begin,
    .stream_next = rans_stream_next,
    .stream_end = rans_stream_end,
};
