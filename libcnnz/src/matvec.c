/* Matrix-vector products on compressed tensors: cnnz_matvec (y = W x) and
 * cnnz_vecmat (y = x^T W), cnnz.h "compute on compressed tensors".
 *
 * The paper's point (Marino et al., ICPR 2020, sections 3.2-3.3) is that
 * HAM and sHAM are space-conscious: a product runs on them as they are.
 * Here the coded streams are decoded a chunk at a time (cnnz__cstream) and
 * each chunk of codebook indices goes straight into the multiply-add with
 * the codebook as a small float table; the dense matrix never exists.
 *
 *  - ham (spec 6.6), affine with u8 symbols (6.3, as a 256-entry table),
 *    plain f32 (6.2): one element stream, walked row by row.
 *  - sham (6.7): per block, the runs give the positions of the stored
 *    elements; blocks are independent, so they are the unit of parallel
 *    work (the writer makes up to 32 of them).
 *  - anything else with a float dtype: cnnz_decoder chunks, then the same
 *    multiply-add as plain.
 *
 * Every path adds the same float products in the same order (cnnz.h
 * documents it), so the result does not depend on the representation, the
 * coders, the chunking, the thread count or the instruction set (portable
 * loops, AVX2, AVX-512F, chosen at run time).
 *
 * Where the time goes: a dense row is one chain of additions per 16
 * columns, so whole rows go four at a time (rows4); a sham element costs a
 * run byte, a symbol, two table loads and one addition into its column's
 * sum, which no SIMD form here beat (a gather-and-scatter version of
 * sixteen elements at once ran at half the speed). On AMD Zen 3 such an
 * element costs 3.5-6 cycles. perf's samples land on the read-modify-write
 * of its sum in memory, yet a walk that only stores the products, adding
 * nothing, takes 90-95 % of the time: the element's loads and column
 * arithmetic set the speed. These did no better there: products put in a
 * row buffer and added 16 columns at a time (all of them, or only those a
 * flag marks), two blocks walked in one loop, a third fewer instructions
 * per element (one index, two elements a turn), sums read back and cleared
 * one by one at the row's end, eight elements a turn (their runs checked
 * for 255 and for the row's end at once, then straight-line code; or AVX2
 * prefix sums of the runs and gathers), the 16 sums in two registers with
 * each product masked into its lane. Nor did another summation order help:
 * eight elements a turn summed in eight vector lanes by their place in the
 * row (no scatter at all; x by gather, codebook entries by permute or
 * gather) ran 1.05 to 1.5 times slower than this walk on Zen 3. */
#include <pthread.h>

#include "coder.h"
#include "reader.h"
#include "repr.h"

/* Bytes of an element stream decoded per chunk: with the x it meets, stays
 * in the first-level cache. */
#define MV_CHUNK 16384u
/* Elements per chunk through cnnz_decoder (its largest read). */
#define MV_DEC_CHUNK 4096u
/* Work per task when a raw stream is split by rows (elements). */
#define MV_TASK_ELEMS 65536u
#define MV_MAX_THREADS 64u
/* Smallest tensor worth more than the caller's thread (elements). The
 * fuzzing build (CNNZ_FUZZING) uses threads for any size, so that the
 * fuzzer's small tensors reach the thread pool. */
#ifdef CNNZ_FUZZING
#define MV_MIN_MT_ELEMS 1u /* not 0: gcc -Wtype-limits flags ">= 0" */
#else
#define MV_MIN_MT_ELEMS 262144u
#endif

enum kind { K_IDX8, K_IDX16, K_F32 };

struct mv {
    const cnnz_reader *r;
    size_t index;
    const struct cnnz_tensor_info *ti;
    int trans; /* vecmat */
    const float *x;
    float *y;
    uint64_t rows, cols;
    struct cnnz__coded coded;
    int have_coded;
    /* The codebook (or affine table) as floats, padded to 32 entries. */
    float *cb;
    /* cb[0..31] as byte planes for the AVX2 lookup (lookup32()): byte k of
     * cb[0..15] at planes[k], of cb[16..31] at planes[4 + k], each 16
     * bytes twice (a byte shuffle looks up within 128-bit halves). */
    uint8_t planes[8][32];
    uint32_t K;
    int avx2, avx512, mode; /* mode: codebook lookup (see lookup(), lookup16()) */
    /* One element stream: its index, bytes per element, what they are. */
    unsigned sk, ssz;
    enum kind kind;
    /* sham */
    uint64_t stride, blocks, block_rows;
    size_t max_runs, max_syms; /* decoded bytes of the largest block's streams */
};

/* ------------------------------------------------------------ kernels */

/* matvec order (cnnz.h): 16 partial sums, then a fixed tree. */
static inline float lanes_sum(const float *s)
{
    float t[8], u[4];
    for (int j = 0; j < 8; j++)
        t[j] = s[j] + s[j + 8];
    for (int j = 0; j < 4; j++)
        u[j] = t[j] + t[j + 4];
    return (u[0] + u[2]) + (u[1] + u[3]);
}

static inline float ld_f32(const uint8_t *p)
{
    uint32_t b = cnnz__le32(p);
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* A chunk of one row: columns c .. c + n - 1, symbols (or values) at s,
 * x already at column c. Scalar versions; the AVX2 ones below do the same
 * additions in the same order. */
static void row_idx8(const struct mv *m, float *acc, uint64_t c, const uint8_t *s, const float *x,
                     size_t n)
{
    const float *cb = m->cb;
    for (size_t i = 0; i < n; i++)
        acc[(c + i) & 15] += cb[s[i]] * x[i];
}

static void row_idx16(const struct mv *m, float *acc, uint64_t c, const uint8_t *s,
                      const float *x, size_t n)
{
    const float *cb = m->cb;
    for (size_t i = 0; i < n; i++)
        acc[(c + i) & 15] += cb[cnnz__le16(s + 2 * i)] * x[i];
}

static void row_f32(const struct mv *m, float *acc, uint64_t c, const uint8_t *s, const float *x,
                    size_t n)
{
    (void)m;
    for (size_t i = 0; i < n; i++)
        acc[(c + i) & 15] += ld_f32(s + 4 * i) * x[i];
}

/* A chunk of one row for vecmat: y[i] += w_i * xr, y already at the column. */
static void col_idx8(const struct mv *m, float *y, const uint8_t *s, size_t n, float xr)
{
    const float *cb = m->cb;
    for (size_t i = 0; i < n; i++)
        y[i] += cb[s[i]] * xr;
}

static void col_idx16(const struct mv *m, float *y, const uint8_t *s, size_t n, float xr)
{
    const float *cb = m->cb;
    for (size_t i = 0; i < n; i++)
        y[i] += cb[cnnz__le16(s + 2 * i)] * xr;
}

static void col_f32(const struct mv *m, float *y, const uint8_t *s, size_t n, float xr)
{
    (void)m;
    for (size_t i = 0; i < n; i++)
        y[i] += ld_f32(s + 4 * i) * xr;
}

/* The largest symbol of a chunk, to check them against the codebook once. */
static unsigned max_u8(const uint8_t *s, size_t n)
{
    unsigned mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = s[i] > mx ? s[i] : mx;
    return mx;
}

static unsigned max_u16(const uint8_t *s, size_t n)
{
    unsigned mx = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = cnnz__le16(s + 2 * i);
        mx = v > mx ? v : mx;
    }
    return mx;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* AVX2, chosen at run time (as coder_rans.c does). Float multiply and add
 * stay separate instructions (no FMA): the bits must equal the scalar
 * loops'. */
#define MV_AVX2 1
#include <immintrin.h>
#define AVX2_TARGET __attribute__((target("avx2")))

/* Entries idx of the codebook: up to 32 entries from registers (a permute
 * per 8, blends on bits 3 and 4 of the index), more by gather. */
static inline __attribute__((always_inline)) AVX2_TARGET __m256
lookup(__m256i idx, const __m256 *t, const float *cb, const int mode)
{
    if (mode == 0)
        return _mm256_i32gather_ps(cb, idx, 4);
    __m256 r = _mm256_permutevar8x32_ps(t[0], idx);
    if (mode == 1)
        return r;
    __m256 b3 = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28));
    r = _mm256_blendv_ps(r, _mm256_permutevar8x32_ps(t[1], idx), b3);
    if (mode == 2)
        return r;
    __m256 hi = _mm256_blendv_ps(_mm256_permutevar8x32_ps(t[2], idx),
                                 _mm256_permutevar8x32_ps(t[3], idx), b3);
    return _mm256_blendv_ps(r, hi, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 27)));
}

/* Entries s[0..31] of a codebook of up to 32 (mode 1 to 3) into w[0..3],
 * s[8j .. 8j + 7] in w[j]. The float bits are put together from byte
 * planes with byte shuffles: two shuffles and a blend per plane (one below
 * 17 entries), then two rounds of unpacking. That is 21 shuffles per 32
 * entries where lookup() takes 8 to 15 per 8: on a CPU without AVX-512,
 * whose cross-lane permute is slow (AMD Zen 3), it made a 32-level ham row
 * 2.3 times faster. */
static inline __attribute__((always_inline)) AVX2_TARGET void
lookup32(const uint8_t *s, const __m256i *pl, __m256 *w, const int mode)
{
    /* The unpacking takes bytes 0-15 of each half in the order 0-3 of both
     * halves, 4-7, 8-11, 12-15; group the symbols' 4-byte groups so that
     * this is 0-7, 8-15, 16-23, 24-31. */
    const __m256i q = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const void *)s),
                                                  _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
    /* byte k of every entry; written out plane by plane because gcc kept
     * a loop over an array of them on the stack (half the speed) */
    const __m256i hi = _mm256_slli_epi16(q, 3); /* bit 4 to the blend's bit 7 */
#define PLANE(k)                                                                                  \
    (mode == 3 ? _mm256_blendv_epi8(_mm256_shuffle_epi8(pl[k], q),                                \
                                    _mm256_shuffle_epi8(pl[4 + (k)], q), hi)                      \
               : _mm256_shuffle_epi8(pl[k], q))
    const __m256i b0 = PLANE(0), b1 = PLANE(1), b2 = PLANE(2), b3 = PLANE(3);
#undef PLANE
    const __m256i l01 = _mm256_unpacklo_epi8(b0, b1), h01 = _mm256_unpackhi_epi8(b0, b1);
    const __m256i l23 = _mm256_unpacklo_epi8(b2, b3), h23 = _mm256_unpackhi_epi8(b2, b3);
    w[0] = _mm256_castsi256_ps(_mm256_unpacklo_epi16(l01, l23));
    w[1] = _mm256_castsi256_ps(_mm256_unpackhi_epi16(l01, l23));
    w[2] = _mm256_castsi256_ps(_mm256_unpacklo_epi16(h01, h23));
    w[3] = _mm256_castsi256_ps(_mm256_unpackhi_epi16(h01, h23));
}

/* The planes, loaded once per span. */
#define LOAD_PLANES(pl, m)                                                                        \
    const __m256i pl[8] = {                                                                       \
        _mm256_loadu_si256((const void *)(m)->planes[0]),                                         \
        _mm256_loadu_si256((const void *)(m)->planes[1]),                                         \
        _mm256_loadu_si256((const void *)(m)->planes[2]),                                         \
        _mm256_loadu_si256((const void *)(m)->planes[3]),                                         \
        _mm256_loadu_si256((const void *)(m)->planes[4]),                                         \
        _mm256_loadu_si256((const void *)(m)->planes[5]),                                         \
        _mm256_loadu_si256((const void *)(m)->planes[6]),                                         \
        _mm256_loadu_si256((const void *)(m)->planes[7])}

/* Columns [0, n) of a row from lane 0: 32 at a time (16 with a gather),
 * into a (lanes 0-7) and b (8-15). Returns the columns done, a multiple of
 * 16; the rest is the caller's. */
static inline __attribute__((always_inline)) AVX2_TARGET size_t
span_idx8(const struct mv *m, __m256 *a, __m256 *b, const uint8_t *s, const float *x, size_t n,
          const int mode)
{
    size_t i = 0;
    if (mode != 0 && n >= 32) {
        LOAD_PLANES(pl, m);
        for (; n - i >= 32; i += 32) {
            __m256 w[4];
            lookup32(s + i, pl, w, mode);
            *a = _mm256_add_ps(*a, _mm256_mul_ps(w[0], _mm256_loadu_ps(x + i)));
            *b = _mm256_add_ps(*b, _mm256_mul_ps(w[1], _mm256_loadu_ps(x + i + 8)));
            *a = _mm256_add_ps(*a, _mm256_mul_ps(w[2], _mm256_loadu_ps(x + i + 16)));
            *b = _mm256_add_ps(*b, _mm256_mul_ps(w[3], _mm256_loadu_ps(x + i + 24)));
        }
    }
    if (n - i >= 16) {
        __m256 t[4];
        for (int k = 0; k < 4; k++)
            t[k] = _mm256_loadu_ps(m->cb + 8 * k);
        for (; n - i >= 16; i += 16) {
            __m128i q = _mm_loadu_si128((const void *)(s + i));
            __m256 w0 = lookup(_mm256_cvtepu8_epi32(q), t, m->cb, mode);
            __m256 w1 = lookup(_mm256_cvtepu8_epi32(_mm_srli_si128(q, 8)), t, m->cb, mode);
            *a = _mm256_add_ps(*a, _mm256_mul_ps(w0, _mm256_loadu_ps(x + i)));
            *b = _mm256_add_ps(*b, _mm256_mul_ps(w1, _mm256_loadu_ps(x + i + 8)));
        }
    }
    return i;
}

static inline __attribute__((always_inline)) AVX2_TARGET void
row_idx8_body(const struct mv *m, float *acc, uint64_t c, const uint8_t *s, const float *x,
              size_t n, const int mode)
{
    const float *cb = m->cb;
    size_t i = 0;
    for (; i < n && ((c + i) & 15); i++) /* to lane 0 */
        acc[(c + i) & 15] += cb[s[i]] * x[i];
    if (n - i >= 16) {
        __m256 a = _mm256_loadu_ps(acc), b = _mm256_loadu_ps(acc + 8);
        i += span_idx8(m, &a, &b, s + i, x + i, n - i, mode);
        _mm256_storeu_ps(acc, a);
        _mm256_storeu_ps(acc + 8, b);
    }
    for (; i < n; i++)
        acc[(c + i) & 15] += cb[s[i]] * x[i];
}

/* body(M) with the lookup mode M a constant: one loop per mode. */
#define BY_MODE(mode, body)                                                                       \
    do {                                                                                          \
        switch (mode) {                                                                           \
        case 1:                                                                                   \
            body(1);                                                                              \
            break;                                                                                \
        case 2:                                                                                   \
            body(2);                                                                              \
            break;                                                                                \
        case 3:                                                                                   \
            body(3);                                                                              \
            break;                                                                                \
        default:                                                                                  \
            body(0);                                                                              \
            break;                                                                                \
        }                                                                                         \
    } while (0)

AVX2_TARGET static void row_idx8_avx2(const struct mv *m, float *acc, uint64_t c,
                                      const uint8_t *s, const float *x, size_t n)
{
#define ROW_BODY(M) row_idx8_body(m, acc, c, s, x, n, M)
    BY_MODE(m->mode, ROW_BODY);
#undef ROW_BODY
}

/* Four whole rows, one after the other, into out[0..3], with each row's 16
 * sums in two registers from its start to its end: through acc (stored,
 * read back by lanes_sum, zeroed) a row of 480 columns cost twice its
 * multiply-adds on AMD Zen 3. The same additions in the same order as
 * row_idx8_body and lanes_sum. */
static inline __attribute__((always_inline)) AVX2_TARGET void
rows4_idx8_body(const struct mv *m, const uint8_t *s, size_t row_bytes, float *out, const int mode)
{
    const float *cb = m->cb, *x = m->x;
    const size_t cols = (size_t)m->cols;
    for (int r = 0; r < 4; r++, s += row_bytes) {
        __m256 a = _mm256_setzero_ps(), b = a;
        size_t i = span_idx8(m, &a, &b, s, x, cols, mode);
        if (i < cols) { /* a part of 16 columns left: through acc */
            float acc[16];
            _mm256_storeu_ps(acc, a);
            _mm256_storeu_ps(acc + 8, b);
            for (; i < cols; i++)
                acc[i & 15] += cb[s[i]] * x[i];
            out[r] = lanes_sum(acc);
            continue;
        }
        /* lanes_sum's tree on the registers: s[j] + s[j + 8], then the
         * halves of that, then (u0 + u2) + (u1 + u3) */
        const __m256 h = _mm256_add_ps(a, b);
        const __m128 u = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        const __m128 v = _mm_add_ps(u, _mm_movehl_ps(u, u));
        out[r] = _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)));
    }
}

AVX2_TARGET static void rows4_idx8_avx2(const struct mv *m, const uint8_t *s, size_t row_bytes,
                                        float *out)
{
#define ROWS_BODY(M) rows4_idx8_body(m, s, row_bytes, out, M)
    BY_MODE(m->mode, ROWS_BODY);
#undef ROWS_BODY
}

static inline __attribute__((always_inline)) AVX2_TARGET void
col_idx8_body(const struct mv *m, float *y, const uint8_t *s, size_t n, float xr, const int mode)
{
    const float *cb = m->cb;
    size_t i = 0;
    if (n >= 8) {
        __m256 t[4];
        for (int k = 0; k < 4; k++)
            t[k] = _mm256_loadu_ps(cb + 8 * k);
        const __m256 xv = _mm256_set1_ps(xr);
        if (mode != 0 && n >= 32) {
            LOAD_PLANES(pl, m);
            for (; n - i >= 32; i += 32) {
                __m256 w[4];
                lookup32(s + i, pl, w, mode);
                for (int j = 0; j < 4; j++)
                    _mm256_storeu_ps(y + i + 8 * j,
                                     _mm256_add_ps(_mm256_loadu_ps(y + i + 8 * j),
                                                   _mm256_mul_ps(w[j], xv)));
            }
        }
        for (; n - i >= 8; i += 8) {
            __m128i q = _mm_loadl_epi64((const void *)(s + i));
            __m256 w = lookup(_mm256_cvtepu8_epi32(q), t, cb, mode);
            _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(w, xv)));
        }
    }
    for (; i < n; i++)
        y[i] += cb[s[i]] * xr;
}

AVX2_TARGET static void col_idx8_avx2(const struct mv *m, float *y, const uint8_t *s, size_t n,
                                      float xr)
{
#define COL_BODY(M) col_idx8_body(m, y, s, n, xr, M)
    BY_MODE(m->mode, COL_BODY);
#undef COL_BODY
}

AVX2_TARGET static void row_f32_avx2(const struct mv *m, float *acc, uint64_t c, const uint8_t *s,
                                     const float *x, size_t n)
{
    (void)m;
    size_t i = 0;
    for (; i < n && ((c + i) & 15); i++)
        acc[(c + i) & 15] += ld_f32(s + 4 * i) * x[i];
    if (n - i >= 16) {
        __m256 a = _mm256_loadu_ps(acc), b = _mm256_loadu_ps(acc + 8);
        for (; n - i >= 16; i += 16) {
            __m256 w0 = _mm256_loadu_ps((const float *)(const void *)(s + 4 * i));
            __m256 w1 = _mm256_loadu_ps((const float *)(const void *)(s + 4 * i + 32));
            a = _mm256_add_ps(a, _mm256_mul_ps(w0, _mm256_loadu_ps(x + i)));
            b = _mm256_add_ps(b, _mm256_mul_ps(w1, _mm256_loadu_ps(x + i + 8)));
        }
        _mm256_storeu_ps(acc, a);
        _mm256_storeu_ps(acc + 8, b);
    }
    for (; i < n; i++)
        acc[(c + i) & 15] += ld_f32(s + 4 * i) * x[i];
}

AVX2_TARGET static void col_f32_avx2(const struct mv *m, float *y, const uint8_t *s, size_t n,
                                     float xr)
{
    (void)m;
    size_t i = 0;
    const __m256 xv = _mm256_set1_ps(xr);
    for (; n - i >= 8 && n >= 8; i += 8) {
        __m256 w = _mm256_loadu_ps((const float *)(const void *)(s + 4 * i));
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(w, xv)));
    }
    for (; i < n; i++)
        y[i] += ld_f32(s + 4 * i) * xr;
}

AVX2_TARGET static unsigned max_u8_avx2(const uint8_t *s, size_t n)
{
    size_t i = 0;
    unsigned mx = 0;
    if (n >= 32) {
        __m256i v = _mm256_setzero_si256();
        for (; n - i >= 32; i += 32)
            v = _mm256_max_epu8(v, _mm256_loadu_si256((const void *)(s + i)));
        uint8_t b[32];
        _mm256_storeu_si256((void *)b, v);
        for (int k = 0; k < 32; k++)
            mx = b[k] > mx ? b[k] : mx;
    }
    for (; i < n; i++)
        mx = s[i] > mx ? s[i] : mx;
    return mx;
}

/* AVX-512F, where the CPU has it: the 16 partial sums are one register,
 * and a codebook of up to 32 entries is one two-table permute per 16
 * symbols (lookup32() takes 21 shuffles per 32). Same additions, same
 * order, no FMA (the target does not enable fused contraction: the build
 * has -ffp-contract=off). */
#define AVX512_TARGET __attribute__((target("avx512f")))

static inline __attribute__((always_inline)) AVX512_TARGET __m512
lookup16(__m512i idx, __m512 t0, __m512 t1, const float *cb, const int mode)
{
    if (mode == 0)
        return _mm512_i32gather_ps(idx, cb, 4);
    if (mode <= 2)
        return _mm512_permutexvar_ps(idx, t0);
    return _mm512_permutex2var_ps(t0, idx, t1);
}

static inline __attribute__((always_inline)) AVX512_TARGET void
row_idx8_body512(const float *cb, float *acc, uint64_t c, const uint8_t *s, const float *x,
                 size_t n, const int mode)
{
    size_t i = 0;
    for (; i < n && ((c + i) & 15); i++) /* to lane 0 */
        acc[(c + i) & 15] += cb[s[i]] * x[i];
    if (n - i >= 16) {
        const __m512 t0 = _mm512_loadu_ps(cb), t1 = _mm512_loadu_ps(cb + 16);
        __m512 a = _mm512_loadu_ps(acc);
        for (; n - i >= 16; i += 16) {
            __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const void *)(s + i)));
            a = _mm512_add_ps(a, _mm512_mul_ps(lookup16(q, t0, t1, cb, mode),
                                               _mm512_loadu_ps(x + i)));
        }
        _mm512_storeu_ps(acc, a);
    }
    for (; i < n; i++)
        acc[(c + i) & 15] += cb[s[i]] * x[i];
}

AVX512_TARGET static void row_idx8_avx512(const struct mv *m, float *acc, uint64_t c,
                                          const uint8_t *s, const float *x, size_t n)
{
#define ROW_BODY(M) row_idx8_body512(m->cb, acc, c, s, x, n, M)
    BY_MODE(m->mode, ROW_BODY);
#undef ROW_BODY
}

static inline __attribute__((always_inline)) AVX512_TARGET void
col_idx8_body512(const float *cb, float *y, const uint8_t *s, size_t n, float xr, const int mode)
{
    size_t i = 0;
    if (n >= 16) {
        const __m512 t0 = _mm512_loadu_ps(cb), t1 = _mm512_loadu_ps(cb + 16);
        const __m512 xv = _mm512_set1_ps(xr);
        for (; n - i >= 16; i += 16) {
            __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const void *)(s + i)));
            __m512 w = lookup16(q, t0, t1, cb, mode);
            _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_mul_ps(w, xv)));
        }
    }
    for (; i < n; i++)
        y[i] += cb[s[i]] * xr;
}

AVX512_TARGET static void col_idx8_avx512(const struct mv *m, float *y, const uint8_t *s,
                                          size_t n, float xr)
{
#define COL_BODY(M) col_idx8_body512(m->cb, y, s, n, xr, M)
    BY_MODE(m->mode, COL_BODY);
#undef COL_BODY
}

AVX512_TARGET static void row_f32_avx512(const struct mv *m, float *acc, uint64_t c,
                                         const uint8_t *s, const float *x, size_t n)
{
    (void)m;
    size_t i = 0;
    for (; i < n && ((c + i) & 15); i++)
        acc[(c + i) & 15] += ld_f32(s + 4 * i) * x[i];
    if (n - i >= 16) {
        __m512 a = _mm512_loadu_ps(acc);
        for (; n - i >= 16; i += 16)
            a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_loadu_ps((const void *)(s + 4 * i)),
                                               _mm512_loadu_ps(x + i)));
        _mm512_storeu_ps(acc, a);
    }
    for (; i < n; i++)
        acc[(c + i) & 15] += ld_f32(s + 4 * i) * x[i];
}

/* Four whole rows at once, starting at s (rows row_bytes apart), into
 * out[0..3]: one row's 16 sums are one dependency chain of additions (an
 * add's latency per 16 columns, which bounded a 32-level ham row at a
 * quarter cycle per weight), four rows are four chains. Each row's sums
 * are still cnnz.h's, in its order. */
static inline __attribute__((always_inline)) AVX512_TARGET void
rows4_body512(const struct mv *m, const uint8_t *s, size_t row_bytes, float *out, const int mode,
              const int f32)
{
    const float *cb = m->cb, *x = m->x;
    const size_t cols = (size_t)m->cols, full = cols & ~(size_t)15;
    /* f32 rows have no codebook (cb is NULL) */
    const __m512 t0 = f32 ? _mm512_setzero_ps() : _mm512_loadu_ps(cb);
    const __m512 t1 = f32 ? t0 : _mm512_loadu_ps(cb + 16);
    /* four named accumulators: as an array they went through the stack */
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
#define ROW_W(r)                                                                                  \
    (f32 ? _mm512_loadu_ps((const void *)(s + (r) * row_bytes + 4 * i))                            \
         : lookup16(_mm512_cvtepu8_epi32(_mm_loadu_si128((const void *)(s + (r) * row_bytes + i))), \
                    t0, t1, cb, mode))
    for (size_t i = 0; i < full; i += 16) {
        const __m512 xv = _mm512_loadu_ps(x + i);
        a0 = _mm512_add_ps(a0, _mm512_mul_ps(ROW_W(0), xv));
        a1 = _mm512_add_ps(a1, _mm512_mul_ps(ROW_W(1), xv));
        a2 = _mm512_add_ps(a2, _mm512_mul_ps(ROW_W(2), xv));
        a3 = _mm512_add_ps(a3, _mm512_mul_ps(ROW_W(3), xv));
    }
#undef ROW_W
    const __m512 a[4] = {a0, a1, a2, a3};
    for (int r = 0; r < 4; r++) {
        float acc[16];
        const uint8_t *p = s + r * row_bytes;
        _mm512_storeu_ps(acc, a[r]);
        for (size_t i = full; i < cols; i++)
            acc[i & 15] += (f32 ? ld_f32(p + 4 * i) : cb[p[i]]) * x[i];
        out[r] = lanes_sum(acc);
    }
}

AVX512_TARGET static void rows4_idx8_avx512(const struct mv *m, const uint8_t *s,
                                            size_t row_bytes, float *out)
{
#define ROWS_BODY(M) rows4_body512(m, s, row_bytes, out, M, 0)
    BY_MODE(m->mode, ROWS_BODY);
#undef ROWS_BODY
}

AVX512_TARGET static void rows4_f32_avx512(const struct mv *m, const uint8_t *s,
                                           size_t row_bytes, float *out)
{
    rows4_body512(m, s, row_bytes, out, 1, 1);
}

AVX512_TARGET static void col_f32_avx512(const struct mv *m, float *y, const uint8_t *s, size_t n,
                                         float xr)
{
    (void)m;
    size_t i = 0;
    const __m512 xv = _mm512_set1_ps(xr);
    for (; n >= 16 && n - i >= 16; i += 16) {
        __m512 w = _mm512_loadu_ps((const void *)(s + 4 * i));
        _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_mul_ps(w, xv)));
    }
    for (; i < n; i++)
        y[i] += ld_f32(s + 4 * i) * xr;
}
#endif

/* The kernels for an element stream of m's kind. */
typedef void (*row_fn)(const struct mv *, float *, uint64_t, const uint8_t *, const float *,
                       size_t);
typedef void (*col_fn)(const struct mv *, float *, const uint8_t *, size_t, float);
typedef void (*rows4_fn)(const struct mv *, const uint8_t *, size_t, float *);

/* A kernel for four whole rows, or NULL: one row at a time. */
static rows4_fn pick_rows4(const struct mv *m)
{
#ifdef MV_AVX2
    if (m->avx512 && m->kind == K_IDX8)
        return rows4_idx8_avx512;
    if (m->avx512 && m->kind == K_F32)
        return rows4_f32_avx512;
    if (m->avx2 && m->kind == K_IDX8)
        return rows4_idx8_avx2;
#endif
    (void)m;
    return NULL;
}

static row_fn pick_row(const struct mv *m)
{
#ifdef MV_AVX2
    if (m->avx512 && m->kind == K_IDX8)
        return row_idx8_avx512;
    if (m->avx512 && m->kind == K_F32)
        return row_f32_avx512;
    if (m->avx2 && m->kind == K_IDX8)
        return row_idx8_avx2;
    if (m->avx2 && m->kind == K_F32)
        return row_f32_avx2;
#endif
    return m->kind == K_IDX8 ? row_idx8 : m->kind == K_IDX16 ? row_idx16 : row_f32;
}

static col_fn pick_col(const struct mv *m)
{
#ifdef MV_AVX2
    if (m->avx512 && m->kind == K_IDX8)
        return col_idx8_avx512;
    if (m->avx512 && m->kind == K_F32)
        return col_f32_avx512;
    if (m->avx2 && m->kind == K_IDX8)
        return col_idx8_avx2;
    if (m->avx2 && m->kind == K_F32)
        return col_f32_avx2;
#endif
    return m->kind == K_IDX8 ? col_idx8 : m->kind == K_IDX16 ? col_idx16 : col_f32;
}

/* The lookup for a codebook of k entries (see lookup(), lookup16()). */
static int lookup_mode(uint32_t k)
{
    return k <= 8 ? 1 : k <= 16 ? 2 : k <= 32 ? 3 : 0;
}

/* CNNZ_E_CORRUPT when a symbol of the chunk is past the codebook. *mx: the
 * largest u8 symbol of the chunk (0 for other kinds). */
static int check_symbols(const struct mv *m, const uint8_t *s, size_t n, unsigned *mx)
{
    *mx = 0;
    if (m->kind == K_F32)
        return CNNZ_OK;
    if (m->kind == K_IDX16) {
        if (m->K == 65536)
            return CNNZ_OK;
        return max_u16(s, n) < m->K ? CNNZ_OK : CNNZ_E_CORRUPT;
    }
#ifdef MV_AVX2
    *mx = m->avx2 ? max_u8_avx2(s, n) : max_u8(s, n);
#else
    *mx = max_u8(s, n);
#endif
    return *mx < m->K ? CNNZ_OK : CNNZ_E_CORRUPT;
}

/* m, or a copy in *local with a register lookup when a chunk of a large
 * table (affine's 256 values, a big codebook) uses only its first 32
 * entries: uq levels stored as affine symbols do, and the gather they
 * took cost three times the permute. */
static const struct mv *for_chunk(const struct mv *m, unsigned mx, struct mv *local)
{
    if (m->mode != 0 || m->kind != K_IDX8 || mx >= 32)
        return m;
    *local = *m;
    local->mode = lookup_mode(mx + 1);
    return local;
}

/* ------------------------------------------------------------ workers */

/* What each thread owns: chunk scratch, sham block buffers, vecmat partial. */
struct worker {
    uint8_t *scratch;  /* MV_CHUNK bytes */
    uint8_t *runs, *syms;
    float *part;       /* cols floats (sham vecmat) */
    float *fbuf;       /* MV_DEC_CHUNK floats (decoder source) */
    uint8_t *dbuf;     /* MV_DEC_CHUNK elements (decoder source) */
    cnnz_decoder *dec;
    struct cnnz__cstream cs;
    struct cnnz_where where;
};

/* Where the units of an element stream come from, a chunk at a time. */
struct source {
    const uint8_t *direct; /* identity coder: the stream itself */
    struct cnnz__cstream *cs;
    cnnz_decoder *dec;     /* elements through cnnz_decoder, as floats */
    uint64_t at;           /* units consumed (direct) */
};

static int source_next(const struct mv *m, struct source *src, struct worker *wk, size_t n,
                       const uint8_t **p)
{
    int err = CNNZ_OK;
    if (src->direct) {
        *p = src->direct + src->at * m->ssz;
        src->at += n;
        return CNNZ_OK;
    }
    if (src->cs) {
        *p = cnnz__cstream_next(src->cs, wk->scratch, n * m->ssz, &err);
        return *p ? CNNZ_OK : cnnz__fail(&wk->where, err, "stream", (int64_t)m->index,
                                          (int32_t)m->sk, -1);
    }
    /* cnnz_decoder yields exactly n (<= MV_DEC_CHUNK, <= what is left). */
    const int dt = m->ti->dtype;
    const size_t es = cnnz_dtype_size(dt);
    size_t got;
    if ((err = cnnz_decoder_read(src->dec, wk->dbuf, n * es, &got, &wk->where)))
        return err;
    if (got != n * es)
        return cnnz__fail(&wk->where, CNNZ_E_CORRUPT, "tensor", (int64_t)m->index, -1, -1);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = wk->dbuf + i * es;
        wk->fbuf[i] = dt == CNNZ_DT_F32   ? ld_f32(e)
                      : dt == CNNZ_DT_F16 ? cnnz_f16_to_f32(cnnz__le16(e))
                                          : cnnz_bf16_to_f32(cnnz__le16(e));
    }
    *p = (const uint8_t *)wk->fbuf;
    return CNNZ_OK;
}

/* Elements [e0, e0 + n) of the element stream, e0 at the start of a row,
 * taken from src in order: matvec rows, or vecmat additions into y. */
static int run_elements(const struct mv *m, struct source *src, struct worker *wk, uint64_t e0,
                        uint64_t n)
{
    const row_fn rowk = pick_row(m);
    const col_fn colk = pick_col(m);
    const rows4_fn rows4k = m->trans ? NULL : pick_rows4(m);
    const size_t unit = src->dec ? 4 : m->ssz;
    size_t per = src->dec ? MV_DEC_CHUNK : MV_CHUNK / m->ssz;
    if (per >= m->cols) /* whole rows per chunk, for rows4k */
        per -= per % m->cols;
    uint64_t row = e0 / m->cols, col = 0;
    float acc[16] = {0};
    while (n) {
        size_t k = n < per ? (size_t)n : per;
        const uint8_t *s;
        int err = source_next(m, src, wk, k, &s);
        if (err)
            return err;
        unsigned mx = 0;
        if (!src->dec && (err = check_symbols(m, s, k, &mx)))
            return cnnz__fail(&wk->where, err, "tensor", (int64_t)m->index, (int32_t)m->sk, -1);
        struct mv local;
        const struct mv *km = src->dec ? m : for_chunk(m, mx, &local);
        for (size_t i = 0; i < k;) {
            if (rows4k && col == 0 && (k - i) / 4 >= m->cols) {
                rows4k(km, s + i * unit, (size_t)m->cols * unit, m->y + row);
                i += 4 * (size_t)m->cols;
                row += 4;
                continue;
            }
            size_t take = m->cols - col < k - i ? (size_t)(m->cols - col) : k - i;
            if (!m->trans)
                rowk(km, acc, col, s + i * unit, m->x + col, take);
            else
                colk(km, m->y + col, s + i * unit, take, m->x[row]);
            i += take;
            col += take;
            if (col == m->cols) {
                if (!m->trans) {
                    m->y[row] = lanes_sum(acc);
                    memset(acc, 0, sizeof acc);
                }
                row++;
                col = 0;
            }
        }
        n -= k;
    }
    return CNNZ_OK;
}

/* vecmat on a raw stream, columns [c0, c1) of every row: each y[c] still
 * adds its products in increasing r, so any split of the columns gives the
 * same bits. */
static int run_columns(const struct mv *m, struct worker *wk, uint64_t c0, uint64_t c1)
{
    const col_fn colk = pick_col(m);
    const uint8_t *base = m->coded.src[m->sk];
    for (uint64_t r = 0; r < m->rows; r++) {
        const uint8_t *s = base + (r * m->cols + c0) * m->ssz;
        unsigned mx;
        int err = check_symbols(m, s, (size_t)(c1 - c0), &mx);
        if (err)
            return cnnz__fail(&wk->where, err, "tensor", (int64_t)m->index, (int32_t)m->sk, -1);
        struct mv local;
        colk(for_chunk(m, mx, &local), m->y + c0, s, (size_t)(c1 - c0), m->x[r]);
    }
    return CNNZ_OK;
}

/* sham block b's decoded streams: the coded bytes themselves for an
 * identity coder, else decoded whole into the worker's buffers (spec 6.7:
 * a block's two streams are its entry point). */
static int block_stream(const struct mv *m, struct worker *wk, unsigned k, uint8_t *buf,
                        const uint8_t **p)
{
    const struct cnnz_stream_info *s = &m->ti->streams[k];
    const struct cnnz__coder *cd = m->coded.coder[k];
    if (cd->identity) {
        *p = m->coded.src[k];
        return CNNZ_OK;
    }
    int err = cd->decode(&m->r->a, (unsigned)s->coder_version, m->coded.params[k],
                         m->coded.params_len[k], m->coded.src[k], (size_t)s->coded_bytes, buf,
                         (size_t)s->decoded_bytes);
    *p = buf;
    return err ? cnnz__fail(&wk->where, err, "stream", (int64_t)m->index, (int32_t)k,
                            (int64_t)s->offset)
               : CNNZ_OK;
}

/* The next run of a sham runs stream (spec 6.7 step 1) at *rp. Every
 * element takes at least one byte, so while the bytes
 * left are at least the elements left, an element's first byte can be read
 * with no test (the walks check rl >= nnz first). Only a run of 255 or more
 * goes through cnnz__sham_run, with its tests per byte; after it the bytes
 * left must still cover left_after, the elements after this one. Real
 * pruned layers have such a run about once a row; reading every run through
 * cnnz__sham_run cost those blocks 25 instructions an element. */
static inline __attribute__((always_inline)) int
next_run(const uint8_t **rp, const uint8_t *runs, uint64_t rl, uint64_t left_after,
         uint64_t *run)
{
    const uint8_t *p = *rp;
    if (__builtin_expect(*p != 255, 1)) {
        *run = *p;
        *rp = p + 1;
        return 1;
    }
    uint64_t at = (uint64_t)(p - runs);
    if (cnnz__sham_run(runs, rl, &at, UINT64_MAX, run) || rl - at < left_after)
        return 0; /* the run does not end, or too few bytes are left */
    *rp = runs + at;
    return 1;
}

/* The walks of one sham block, its symbols already checked against the
 * codebook. A position is kept as (row, col + 1) inside the block: a run
 * moves it, and past the row's end it moves to the next rows by
 * subtraction (a division per row cost more than the whole row at 99 %
 * pruning); p + r >= E_b (spec 6.7) is the row reaching nrows, as a block
 * holds whole rows. 0 on a run that leaves the runs stream or the block, or
 * runs left over: CNNZ_E_CORRUPT. */
static inline __attribute__((always_inline)) int
walk_matvec(const struct mv *m, const uint8_t *runs, uint64_t rl, const uint8_t *syms,
            uint64_t nnz, float *y, uint64_t nrows, const unsigned ssz)
{
    const float *cb = m->cb, *x = m->x;
    const uint64_t cols = m->cols;
    const uint8_t *rp = runs, *const re = runs + rl;
    const uint8_t *sp = syms, *const se = syms + nnz * ssz;
    float *yr = y, *const ye = y + nrows;
    if (rl < nnz)
        return 0;
    /* end: the element's column + 1, so that a step is one addition of
     * run + 1 (the loop's dependency chain; col += run, col++ was two) */
    uint64_t end = 0, run;
    float acc[16] = {0};
    for (; sp != se; sp += ssz) {
        if (!next_run(&rp, runs, rl, (uint64_t)(se - sp) / ssz - 1, &run))
            return 0;
        end += run + 1;
        if (__builtin_expect(end > cols, 0)) { /* the element is in a later row */
            *yr = lanes_sum(acc);
            memset(acc, 0, sizeof acc);
            do {
                if (++yr == ye)
                    return 0;
                end -= cols;
                if (end > cols)
                    *yr = 0.0f; /* a row with nothing stored */
            } while (end > cols);
        }
        const unsigned q = ssz == 1 ? *sp : cnnz__le16(sp);
        acc[(end - 1) & 15] += cb[q] * x[end - 1];
    }
    if (rp != re)
        return 0;
    *yr = lanes_sum(acc);
    while (++yr < ye)
        *yr = 0.0f;
    return 1;
}

/* The walks as functions of their own: inlined into the task loop, they
 * kept their pointers on the stack and cost a third more. */
static __attribute__((noinline)) int walk_matvec_any(const struct mv *m, const uint8_t *runs,
                                                     uint64_t rl, const uint8_t *syms,
                                                     uint64_t nnz, float *y, uint64_t nrows)
{
    return m->ssz == 1 ? walk_matvec(m, runs, rl, syms, nnz, y, nrows, 1)
                       : walk_matvec(m, runs, rl, syms, nnz, y, nrows, 2);
}

/* vecmat: part[c] adds the block's products of column c in increasing row,
 * from part zeroed by the caller. */
static inline __attribute__((always_inline)) int
walk_vecmat(const struct mv *m, const uint8_t *runs, uint64_t rl, const uint8_t *syms,
            uint64_t nnz, const float *xb, uint64_t nrows, float *part, const unsigned ssz)
{
    const float *cb = m->cb;
    const uint64_t cols = m->cols;
    const uint8_t *rp = runs, *const re = runs + rl;
    const uint8_t *sp = syms, *const se = syms + nnz * ssz;
    uint64_t row = 0, end = 0, run; /* end as in walk_matvec */
    if (rl < nnz)
        return 0;
    float xr = xb[0];
    for (; sp != se; sp += ssz) {
        if (!next_run(&rp, runs, rl, (uint64_t)(se - sp) / ssz - 1, &run))
            return 0;
        end += run + 1;
        if (__builtin_expect(end > cols, 0)) {
            do {
                if (++row == nrows)
                    return 0;
                end -= cols;
            } while (end > cols);
            xr = xb[row];
        }
        const unsigned q = ssz == 1 ? *sp : cnnz__le16(sp);
        part[end - 1] += cb[q] * xr;
    }
    return rp == re;
}

static __attribute__((noinline)) int walk_vecmat_any(const struct mv *m, const uint8_t *runs,
                                                     uint64_t rl, const uint8_t *syms,
                                                     uint64_t nnz, const float *xb,
                                                     uint64_t nrows, float *part)
{
    return m->ssz == 1 ? walk_vecmat(m, runs, rl, syms, nnz, xb, nrows, part, 1)
                       : walk_vecmat(m, runs, rl, syms, nnz, xb, nrows, part, 2);
}

/* One sham block: matvec writes its rows of y, vecmat adds into part
 * (zeroed here) as cnnz.h's order says. */
static int sham_block(const struct mv *m, struct worker *wk, uint64_t b, float *part)
{
    const struct cnnz_tensor_info *ti = m->ti;
    const unsigned kr = 1 + 2 * (unsigned)b, ks = kr + 1;
    const uint64_t bs = b * m->stride;
    const uint64_t eb = ti->elements - bs < m->stride ? ti->elements - bs : m->stride;
    const uint64_t r0 = b * m->block_rows, nrows = eb / m->cols;
    const uint64_t rl = ti->streams[kr].decoded_bytes;
    const uint64_t nnz = ti->streams[ks].decoded_bytes / m->ssz;
    const uint8_t *runs, *syms;
    int err = block_stream(m, wk, kr, wk->runs, &runs);
    if (!err)
        err = block_stream(m, wk, ks, wk->syms, &syms);
    if (err)
        return err;
    if (!nnz) { /* nothing stored (the buffers may be NULL) */
        if (rl)
            return cnnz__fail(&wk->where, CNNZ_E_CORRUPT, "tensor", (int64_t)m->index,
                              (int32_t)kr, -1);
        if (m->trans)
            memset(part, 0, (size_t)m->cols * sizeof *part);
        else
            memset(m->y + r0, 0, (size_t)nrows * sizeof *m->y);
        return CNNZ_OK;
    }
    unsigned mx;
    if (check_symbols(m, syms, (size_t)nnz, &mx))
        return cnnz__fail(&wk->where, CNNZ_E_CORRUPT, "tensor", (int64_t)m->index, (int32_t)ks,
                          -1);
    int ok;
    if (!m->trans)
        ok = walk_matvec_any(m, runs, rl, syms, nnz, m->y + r0, nrows);
    else {
        memset(part, 0, (size_t)m->cols * sizeof *part);
        ok = walk_vecmat_any(m, runs, rl, syms, nnz, m->x + r0, nrows, part);
    }
    return ok ? CNNZ_OK
              : cnnz__fail(&wk->where, CNNZ_E_CORRUPT, "tensor", (int64_t)m->index, (int32_t)kr,
                           -1);
}

/* ------------------------------------------------------------ tasks */

enum plan { P_SHAM, P_ROWS, P_COLUMNS, P_SEQUENTIAL };

struct pool {
    struct mv *m;
    enum plan plan;
    uint64_t ntasks, per; /* P_ROWS: rows per task; P_COLUMNS: columns */
    pthread_mutex_t lock;
    pthread_cond_t turn;
    uint64_t next, folded;
    int broken; /* a block failed: stop folding */
    int *err;
    struct cnnz_where *where;
    struct worker *wk;
};

static int run_task(struct pool *p, struct worker *wk, uint64_t t)
{
    struct mv *m = p->m;
    struct source src = {0};
    switch (p->plan) {
    case P_SHAM: {
        int err = sham_block(m, wk, t, t == 0 ? m->y : wk->part);
        if (!m->trans)
            return err;
        /* Fold the partials in block order (vecmat's order, cnnz.h); a
         * failed block still takes its turn so that none waits forever. */
        pthread_mutex_lock(&p->lock);
        while (p->folded != t)
            pthread_cond_wait(&p->turn, &p->lock);
        if (err)
            p->broken = 1;
        if (!p->broken && t > 0)
            for (uint64_t c = 0; c < m->cols; c++)
                m->y[c] += wk->part[c];
        p->folded++;
        pthread_cond_broadcast(&p->turn);
        pthread_mutex_unlock(&p->lock);
        return err;
    }
    case P_ROWS: {
        uint64_t r0 = t * p->per, r1 = r0 + p->per < m->rows ? r0 + p->per : m->rows;
        src.direct = m->coded.src[m->sk];
        src.at = r0 * m->cols;
        return run_elements(m, &src, wk, r0 * m->cols, (r1 - r0) * m->cols);
    }
    case P_COLUMNS: {
        uint64_t c0 = t * p->per, c1 = c0 + p->per < m->cols ? c0 + p->per : m->cols;
        return run_columns(m, wk, c0, c1);
    }
    default:
        if (wk->dec) {
            src.dec = wk->dec;
        } else {
            const struct cnnz_stream_info *s = &m->ti->streams[m->sk];
            int err = cnnz__cstream_begin(&wk->cs, &m->r->a, m->coded.coder[m->sk],
                                          (unsigned)s->coder_version, m->coded.params[m->sk],
                                          m->coded.params_len[m->sk], m->coded.src[m->sk],
                                          (size_t)s->coded_bytes, s->decoded_bytes);
            if (err)
                return cnnz__fail(&wk->where, err, "stream", (int64_t)m->index, (int32_t)m->sk,
                                  (int64_t)s->offset);
            src.cs = &wk->cs;
        }
        return run_elements(m, &src, wk, 0, m->ti->elements);
    }
}

struct thread_arg {
    struct pool *p;
    struct worker *wk;
};

static void *thread_main(void *arg)
{
    struct thread_arg *ta = arg;
    struct pool *p = ta->p;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        uint64_t t = p->next++;
        pthread_mutex_unlock(&p->lock);
        if (t >= p->ntasks)
            return NULL;
        memset(&ta->wk->where, 0, sizeof ta->wk->where);
        p->err[t] = run_task(p, ta->wk, t);
        if (p->err[t])
            p->where[t] = ta->wk->where;
    }
}

static void worker_free(const struct cnnz__alloc *a, struct worker *wk)
{
    cnnz__free(a, wk->scratch);
    cnnz__free(a, wk->runs);
    cnnz__free(a, wk->syms);
    cnnz__free(a, wk->part);
    cnnz__free(a, wk->fbuf);
    cnnz__free(a, wk->dbuf);
    cnnz_decoder_close(wk->dec);
    cnnz__cstream_end(&wk->cs);
}

/* The buffers a worker needs for plan p (see struct worker). */
static int worker_init(const struct mv *m, const struct pool *p, struct worker *wk)
{
    const struct cnnz__alloc *a = &m->r->a;
    memset(wk, 0, sizeof *wk);
    if (p->plan == P_SHAM) {
        if (m->max_runs && !(wk->runs = cnnz__malloc(a, m->max_runs)))
            return CNNZ_E_NOMEM;
        if (m->max_syms && !(wk->syms = cnnz__malloc(a, m->max_syms)))
            return CNNZ_E_NOMEM;
        if (m->trans && !(wk->part = cnnz__malloc_array(a, (size_t)m->cols, sizeof *wk->part)))
            return CNNZ_E_NOMEM;
    } else if (p->plan == P_SEQUENTIAL && m->sk == UINT32_MAX) {
        int err = cnnz_decoder_open(&wk->dec, m->r, m->index, &wk->where);
        if (err)
            return err;
        wk->fbuf = cnnz__malloc_array(a, MV_DEC_CHUNK, sizeof *wk->fbuf);
        wk->dbuf = cnnz__malloc_array(a, MV_DEC_CHUNK, cnnz_dtype_size(m->ti->dtype));
        if (!wk->fbuf || !wk->dbuf)
            return CNNZ_E_NOMEM;
    } else if (p->plan == P_SEQUENTIAL && !(wk->scratch = cnnz__malloc(a, MV_CHUNK))) {
        return CNNZ_E_NOMEM;
    }
    return CNNZ_OK;
}

/* Run plan p with up to `threads` threads; the first failing task (in task
 * order, so the same whatever the threads) decides the error. */
static int pool_run(struct mv *m, struct pool *p, unsigned threads, struct cnnz_where *w)
{
    const struct cnnz__alloc *a = &m->r->a;
    if (threads > p->ntasks)
        threads = (unsigned)p->ntasks;
    if (threads > MV_MAX_THREADS)
        threads = MV_MAX_THREADS;
    if (threads < 1)
        threads = 1;
    int err = CNNZ_OK;
    p->err = cnnz__malloc_array(a, (size_t)p->ntasks, sizeof *p->err);
    p->where = cnnz__malloc_array(a, (size_t)p->ntasks, sizeof *p->where);
    p->wk = cnnz__malloc_array(a, threads, sizeof *p->wk);
    struct thread_arg ta[MV_MAX_THREADS];
    unsigned ready = 0;
    if (!p->err || !p->where || !p->wk) {
        err = cnnz__fail(w, CNNZ_E_NOMEM, "matvec", (int64_t)m->index, -1, -1);
        goto out;
    }
    memset(p->err, 0, (size_t)p->ntasks * sizeof *p->err);
    for (; ready < threads; ready++) {
        struct worker *wk = &p->wk[ready];
        if ((err = worker_init(m, p, wk))) {
            worker_free(a, wk);
            if (ready > 0) { /* fewer threads, same result */
                err = CNNZ_OK;
                break;
            }
            if (wk->where.what && w)
                *w = wk->where;
            else
                cnnz__fail(w, err, "matvec", (int64_t)m->index, -1, -1);
            goto out;
        }
        ta[ready].p = p;
        ta[ready].wk = wk;
    }
    if (pthread_mutex_init(&p->lock, NULL)) {
        err = cnnz__fail(w, CNNZ_E_NOMEM, "matvec", (int64_t)m->index, -1, -1);
        goto out;
    }
    if (pthread_cond_init(&p->turn, NULL)) {
        pthread_mutex_destroy(&p->lock);
        err = cnnz__fail(w, CNNZ_E_NOMEM, "matvec", (int64_t)m->index, -1, -1);
        goto out;
    }
    pthread_t tid[MV_MAX_THREADS];
    unsigned started = 0;
    for (unsigned t = 1; t < ready; t++, started++)
        if (pthread_create(&tid[started], NULL, thread_main, &ta[t]))
            break;
    thread_main(&ta[0]); /* the caller works too (alone when none started) */
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_cond_destroy(&p->turn);
    pthread_mutex_destroy(&p->lock);
    for (uint64_t t = 0; t < p->ntasks && !err; t++)
        if ((err = p->err[t]) && w)
            *w = p->where[t];
out:
    for (unsigned t = 0; t < ready; t++)
        worker_free(a, &p->wk[t]);
    cnnz__free(a, p->err);
    cnnz__free(a, p->where);
    cnnz__free(a, p->wk);
    return err;
}

/* ------------------------------------------------------------ setup */

int cnnz_matrix_shape(const struct cnnz_tensor_info *ti, uint64_t *rows, uint64_t *cols)
{
    if (!ti || !rows || !cols || (ti->rank && !ti->dims))
        return CNNZ_E_ARG;
    uint64_t c;
    if (ti->rank > 1 && cnnz__dims_product(ti->dims + 1, ti->rank - 1, &c))
        return CNNZ_E_UNSUPPORTED;
    *rows = ti->rank ? ti->dims[0] : 1;
    *cols = ti->rank > 1 ? c : 1;
    return CNNZ_OK;
}

/* The codebook (stream 0 of ham and sham) as floats, padded with zeros to
 * 32 entries for the register lookups. */
static int load_codebook(struct mv *m, struct cnnz_where *w)
{
    const struct cnnz_tensor_info *ti = m->ti;
    const struct cnnz_stream_info *s = &ti->streams[0];
    const struct cnnz__alloc *a = &m->r->a;
    const size_t es = cnnz_dtype_size(ti->dtype);
    const uint8_t *bytes = m->coded.src[0];
    uint8_t *buf = NULL;
    m->K = ti->codebook_size;
    m->cb = cnnz__malloc_array(a, m->K < 32 ? 32 : m->K, sizeof *m->cb);
    if (!m->cb)
        return cnnz__fail(w, CNNZ_E_NOMEM, "matvec", (int64_t)m->index, -1, -1);
    if (!m->coded.coder[0]->identity) {
        if (!(buf = cnnz__malloc(a, (size_t)s->decoded_bytes)))
            return cnnz__fail(w, CNNZ_E_NOMEM, "matvec", (int64_t)m->index, -1, -1);
        int err = m->coded.coder[0]->decode(a, (unsigned)s->coder_version, m->coded.params[0],
                                            m->coded.params_len[0], bytes, (size_t)s->coded_bytes,
                                            buf, (size_t)s->decoded_bytes);
        if (err) {
            cnnz__free(a, buf);
            return cnnz__fail(w, err, "stream", (int64_t)m->index, 0, (int64_t)s->offset);
        }
        bytes = buf;
    }
    for (uint32_t k = 0; k < m->K; k++) {
        const uint8_t *e = bytes + (size_t)k * es;
        m->cb[k] = ti->dtype == CNNZ_DT_F32   ? ld_f32(e)
                   : ti->dtype == CNNZ_DT_F16 ? cnnz_f16_to_f32(cnnz__le16(e))
                                              : cnnz_bf16_to_f32(cnnz__le16(e));
    }
    for (uint32_t k = m->K; k < 32; k++)
        m->cb[k] = 0.0f;
    cnnz__free(a, buf);
    return CNNZ_OK;
}

/* opts->verify for the fused paths: the decoded checksum, through a
 * decoder whose chunks are hashed and dropped. */
static int verify_decoded(const struct mv *m, struct cnnz_where *w)
{
    const struct cnnz__alloc *a = &m->r->a;
    uint8_t *buf = cnnz__malloc(a, MV_DEC_CHUNK * 8);
    cnnz_decoder *d;
    if (!buf)
        return cnnz__fail(w, CNNZ_E_NOMEM, "matvec", (int64_t)m->index, -1, -1);
    int err = cnnz_decoder_open(&d, m->r, m->index, w);
    size_t n = 1;
    while (!err && n)
        err = cnnz_decoder_read(d, buf, MV_DEC_CHUNK * 8, &n, w);
    if (d)
        cnnz_decoder_close(d);
    cnnz__free(a, buf);
    return err;
}

/* For test_matvec.c, which runs every kernel the CPU has: simd = 0 keeps
 * to the portable loops, 1 goes up to AVX2, 2 up to AVX-512F. cnnz_matvec
 * and cnnz_vecmat are this with simd = 2. */
CNNZ__INTERNAL int cnnz__matvec_with(int simd, int trans, const cnnz_reader *r, size_t index,
                                     const float *x, size_t x_len, float *y, size_t y_len,
                                     const struct cnnz_matvec_options *opts,
                                     struct cnnz_where *w);

int cnnz__matvec_with(int simd, int trans, const cnnz_reader *r, size_t index, const float *x,
                      size_t x_len, float *y, size_t y_len,
                      const struct cnnz_matvec_options *opts, struct cnnz_where *w)
{
    if (!r || (!x && x_len) || (!y && y_len))
        return cnnz__fail(w, CNNZ_E_ARG, "argument", -1, -1, -1);
    if (index >= r->ntensors)
        return cnnz__fail(w, CNNZ_E_NOTFOUND, "argument", -1, -1, -1);
    struct mv m;
    memset(&m, 0, sizeof m);
    m.r = r;
    m.index = index;
    m.ti = &r->tensors[index].info;
    m.trans = trans;
    m.x = x;
    m.y = y;
    const struct cnnz_tensor_info *ti = m.ti;
    const int64_t t = (int64_t)index;
    if (cnnz_matrix_shape(ti, &m.rows, &m.cols))
        return cnnz__fail(w, CNNZ_E_UNSUPPORTED, "tensor", t, -1, -1);
    const uint64_t in = trans ? m.rows : m.cols, out = trans ? m.cols : m.rows;
    if (x_len != in)
        return cnnz__fail(w, CNNZ_E_ARG, "argument", t, -1, -1);
    if (y_len < out)
        return cnnz__fail(w, CNNZ_E_BUFFER, "argument", t, -1, -1);
    if (ti->dtype != CNNZ_DT_F32 && ti->dtype != CNNZ_DT_F16 && ti->dtype != CNNZ_DT_BF16)
        return cnnz__fail(w, CNNZ_E_UNSUPPORTED, "tensor", t, -1, -1);
#ifdef MV_AVX2
    m.avx2 = simd >= 1 && __builtin_cpu_supports("avx2");
    m.avx512 = simd >= 2 && __builtin_cpu_supports("avx512f");
#else
    (void)simd;
#endif
    int err = cnnz__coded_open(r, index, &m.coded, w);
    if (err)
        return err;
    m.have_coded = 1;
    if (opts && opts->verify && (err = verify_decoded(&m, w)))
        goto out;
    if (!ti->elements) {
        if (out)
            memset(y, 0, (size_t)out * sizeof *y);
        goto out;
    }
    /* How the elements come (see the top of the file); by default as
     * floats from a cnnz_decoder. */
    m.sk = UINT32_MAX;
    m.kind = K_F32;
    m.ssz = 4;
    if (ti->repr == CNNZ_REPR_HAM || ti->repr == CNNZ_REPR_SHAM) {
        if ((err = load_codebook(&m, w)))
            goto out;
        m.kind = ti->symbol_dtype == CNNZ_DT_U8 ? K_IDX8 : K_IDX16;
        m.ssz = (unsigned)cnnz_dtype_size(ti->symbol_dtype);
        m.sk = 1;
    } else if (ti->repr == CNNZ_REPR_AFFINE && ti->symbol_dtype == CNNZ_DT_U8) {
        m.K = 256;
        if (!(m.cb = cnnz__malloc_array(&r->a, 256, sizeof *m.cb))) {
            err = cnnz__fail(w, CNNZ_E_NOMEM, "matvec", t, -1, -1);
            goto out;
        }
        cnnz__affine_lut(ti, m.cb);
        m.kind = K_IDX8;
        m.ssz = 1;
        m.sk = 0;
    } else if (ti->repr == CNNZ_REPR_PLAIN && ti->dtype == CNNZ_DT_F32) {
        m.kind = K_F32;
        m.ssz = 4;
        m.sk = 0;
    }
    m.mode = lookup_mode(m.K);
    if (m.cb && m.avx2) /* for lookup32(); cb has at least 32 entries (padded) */
        for (unsigned e = 0; e < 32; e++) {
            uint32_t u;
            memcpy(&u, &m.cb[e], sizeof u);
            for (unsigned k = 0; k < 4; k++)
                m.planes[(e >> 4) * 4 + k][e & 15] = m.planes[(e >> 4) * 4 + k][16 + (e & 15)] =
                    (uint8_t)(u >> (8 * k));
        }
    /* Threads cost more than they save below a few hundred thousand
     * elements (the result is the same either way). */
    const unsigned threads =
        opts && opts->threads && ti->elements >= MV_MIN_MT_ELEMS ? opts->threads : 1;
    struct pool p;
    memset(&p, 0, sizeof p);
    p.m = &m;
    p.ntasks = 1;
    p.plan = P_SEQUENTIAL;
    if (ti->repr == CNNZ_REPR_SHAM) {
        cnnz__sham_geom(ti, &m.stride, &m.blocks);
        m.block_rows = m.stride / m.cols;
        for (unsigned k = 1; k < ti->stream_count; k++) {
            size_t len = (size_t)ti->streams[k].decoded_bytes; /* <= the tensor's bytes */
            size_t *mx = k % 2 ? &m.max_runs : &m.max_syms;
            if (!m.coded.coder[k]->identity && len > *mx)
                *mx = len;
        }
        p.plan = P_SHAM;
        p.ntasks = m.blocks;
    } else if (m.sk != UINT32_MAX && m.coded.coder[m.sk]->identity) {
        if (!trans) {
            p.plan = P_ROWS;
            p.per = MV_TASK_ELEMS / m.cols ? MV_TASK_ELEMS / m.cols : 1;
            p.ntasks = m.rows / p.per + (m.rows % p.per != 0);
        } else {
            p.plan = P_COLUMNS;
            uint64_t per = m.cols / (4 * (uint64_t)threads) + 1;
            p.per = per < 256 ? 256 : per;
            p.ntasks = m.cols / p.per + (m.cols % p.per != 0);
        }
    }
    if (trans && p.plan != P_SHAM)
        memset(y, 0, (size_t)m.cols * sizeof *y);
    err = pool_run(&m, &p, threads, w);
out:
    cnnz__free(&r->a, m.cb);
    if (m.have_coded)
        cnnz__coded_close(r, &m.coded);
    return err;
}

int cnnz_matvec(const cnnz_reader *r, size_t index, const float *x, size_t x_len, float *y,
                size_t y_len, const struct cnnz_matvec_options *opts, struct cnnz_where *where)
{
    return cnnz__matvec_with(2, 0, r, index, x, x_len, y, y_len, opts, where);
}

int cnnz_vecmat(const cnnz_reader *r, size_t index, const float *x, size_t x_len, float *y,
                size_t y_len, const struct cnnz_matvec_options *opts, struct cnnz_where *where)
{
    return cnnz__matvec_with(2, 1, r, index, x, x_len, y, y_len, opts, where);
}
