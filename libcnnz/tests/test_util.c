/* Shared test helpers (seeded PRNG, memory sink, reference conversions, the
 * test model written through the writer and checked through the reader,
 * counting/failing allocators) and suite_util, which checks the helpers
 * themselves against fixed values so the other suites can trust them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "tests.h"

/* ------------------------------------------------------------ randomness */

static uint64_t run_seed;

uint64_t test_seed(void)
{
    return run_seed;
}

void test_seed_set(uint64_t seed)
{
    run_seed = seed;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

void rng_init(struct rng *r, const char *label)
{
    r->s = run_seed ^ fnv1a(label ? label : "");
    (void)rng_u64(r);
}

uint64_t rng_u64(struct rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_u64(r) >> 32) * (uint64_t)n) >> 32);
}

double rng_unit(struct rng *r)
{
    return (double)(rng_u64(r) >> 11) * 0x1p-53;
}

void rng_bytes(struct rng *r, void *dst, size_t n)
{
    uint8_t *p = dst;
    while (n) {
        uint64_t v = rng_u64(r);
        size_t k = n < 8 ? n : 8;
        memcpy(p, &v, k);
        p += k;
        n -= k;
    }
}

unsigned test_iters(unsigned base)
{
    const char *e = getenv("CNNZ_TEST_ITER");
    double f = 1.0;
    if (e && *e) {
        char *end;
        double v = strtod(e, &end);
        if (end != e && v > 0)
            f = v;
    }
    double n = (double)base * f;
    if (n < 1)
        return 1;
    if (n > 1e9)
        return 1000000000u;
    return (unsigned)n;
}

/* ---------------------------------------------------------- memory buffers */

void membuf_init(struct membuf *b)
{
    memset(b, 0, sizeof *b);
    b->fail_at = -1;
}

void membuf_free(struct membuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void membuf_append(struct membuf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + n)
            c *= 2;
        uint8_t *d = realloc(b->data, c);
        ck_assert_ptr_nonnull(d);
        b->data = d;
        b->cap = c;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static int membuf_write(void *opaque, const void *buf, size_t n)
{
    struct membuf *b = opaque;
    long idx = b->writes++;
    if (b->fail_at >= 0 && idx >= b->fail_at)
        return -1;
    membuf_append(b, buf, n);
    return 0;
}

struct cnnz_sink membuf_sink(struct membuf *b)
{
    struct cnnz_sink s = {membuf_write, b};
    return s;
}

uint8_t *dup_exact(const void *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFF);
    p[1] = (uint8_t)(v >> 8);
}

void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v & 0xFFFF));
    put16(p + 2, (uint16_t)(v >> 16));
}

void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v & 0xFFFFFFFFu));
    put32(p + 4, (uint32_t)(v >> 32));
}

uint64_t xxh64(const void *p, size_t n)
{
    return (uint64_t)XXH64(p, n, 0);
}

/* ---------------------------------------------------------- reference math */

uint32_t f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

float f32_from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* spec 6.4, case by case, computing the value with ldexp in binary64 (every
 * f16 and bf16 value is exact in binary64 and in binary32). */
float ref_f16_to_f32(uint16_t h)
{
    unsigned s = h >> 15, e = (h >> 10) & 31u, f = h & 1023u;
    if (e == 31) {
        if (f == 0)
            return s ? -INFINITY : INFINITY;
        return f32_from_bits((uint32_t)s << 31 | 0x7F800000u | (uint32_t)f << 13);
    }
    double v = e == 0 ? ldexp((double)f, -24) : ldexp(1.0 + (double)f / 1024.0, (int)e - 15);
    return (float)(s ? -v : v);
}

/* bfloat16: sign, 8 exponent bits (bias 127), 7 fraction bits. */
float ref_bf16_to_f32(uint16_t b)
{
    unsigned s = b >> 15, e = (b >> 7) & 255u, f = b & 127u;
    if (e == 255) {
        if (f == 0)
            return s ? -INFINITY : INFINITY;
        return f32_from_bits((uint32_t)s << 31 | 0x7F800000u | (uint32_t)f << 16);
    }
    double v = e == 0 ? ldexp((double)f, -126 - 7) : ldexp(1.0 + (double)f / 128.0, (int)e - 127);
    return (float)(s ? -v : v);
}

float ref_affine(uint32_t q, double scale, double offset)
{
    /* volatile keeps the product rounded to binary64 on its own: no fusion. */
    volatile double prod = (double)q * scale;
    volatile double sum = prod + offset;
    return (float)sum;
}

size_t utf8_put(uint8_t *d, uint32_t cp)
{
    if (cp < 0x80) {
        d[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (uint8_t)(0xC0 | (cp >> 6));
        d[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (uint8_t)(0xE0 | (cp >> 12));
        d[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (uint8_t)(0xF0 | (cp >> 18));
    d[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

void rand_utf8(struct rng *r, uint8_t *dst, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t room = n - i;
        unsigned len = 1 + rng_below(r, room < 4 ? (uint32_t)room : 4u);
        uint32_t cp;
        switch (len) {
        case 1:
            cp = 1 + rng_below(r, 0x7F);
            break;
        case 2:
            cp = 0x80 + rng_below(r, 0x800 - 0x80);
            break;
        case 3:
            do
                cp = 0x800 + rng_below(r, 0x10000 - 0x800);
            while (cp >= 0xD800 && cp <= 0xDFFF);
            break;
        default:
            cp = 0x10000 + rng_below(r, 0x110000 - 0x10000);
            break;
        }
        size_t k = utf8_put(dst + i, cp);
        ck_assert_uint_eq(k, len);
        i += k;
    }
}

/* Independent RFC 3629 check used to validate rand_utf8 itself. */
static int ref_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t lo, hi;
        if (c >= 0xC2 && c <= 0xDF)
            len = 2, lo = 0x80, hi = 0x7FF;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3, lo = 0x800, hi = 0xFFFF;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4, lo = 0x10000, hi = 0x10FFFF;
        else
            return 0;
        if (n - i < len)
            return 0;
        uint32_t cp = c & (0x7Fu >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (cp < lo || cp > hi || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* -------------------------------------------------------------- test model */

void model_init(struct model *m)
{
    memset(m, 0, sizeof *m);
}

void model_free(struct model *m)
{
    for (size_t i = 0; i < m->nt; i++) {
        free(m->t[i].name);
        free(m->t[i].input);
        free(m->t[i].expect);
        free(m->t[i].codebook);
    }
    for (size_t i = 0; i < m->nm; i++) {
        free(m->m[i].key);
        free(m->m[i].bytes);
    }
    free(m->t);
    free(m->m);
    memset(m, 0, sizeof *m);
}

static int is_indexed(int repr)
{
    return repr == CNNZ_REPR_HAM || repr == CNNZ_REPR_SHAM;
}

static size_t input_elem_size(int repr, int dtype, int symdt)
{
    if (repr == CNNZ_REPR_PLAIN || repr == CNNZ_REPR_PLANES)
        return cnnz_dtype_size(dtype);
    if (repr == CNNZ_REPR_AFFINE || is_indexed(repr))
        return symdt == CNNZ_DT_U8 ? 1 : 2;
    return 2; /* WIDEN */
}

/* HAM/sHAM input: a codebook whose entry 0 is zero (the pruned weights) and
 * indices that are mostly 0, with a skewed tail, sometimes all one symbol. */
static void fill_indexed(struct rng *r, struct ttensor *t)
{
    size_t es = cnnz_dtype_size(t->dtype);
    uint32_t max = t->symbol_dtype == CNNZ_DT_U8 ? 256u : 65536u;
    /* Codebooks stay in proportion to the tensor (the full 65536 entries only
     * for big tensors), so whole-file sweeps (bit flips) stay fast. */
    if (max > 64 + 4 * t->elements)
        max = (uint32_t)(64 + 4 * t->elements);
    switch (rng_below(r, 4)) {
    case 0:
        t->codebook_size = 1;
        break;
    case 1:
        t->codebook_size = max;
        break;
    default:
        t->codebook_size = 1 + rng_below(r, rng_below(r, 2) ? 40 : max);
    }
    t->codebook = malloc((size_t)t->codebook_size * es);
    ck_assert_ptr_nonnull(t->codebook);
    rng_bytes(r, t->codebook, (size_t)t->codebook_size * es);
    memset(t->codebook, 0, es);
    if (t->dtype == CNNZ_DT_BOOL)
        for (uint32_t k = 0; k < t->codebook_size; k++)
            t->codebook[k] &= 1;
    uint32_t zero_pct = rng_below(r, 101);
    for (uint64_t i = 0; i < t->elements; i++) {
        uint32_t v = 0;
        if (rng_below(r, 100) >= zero_pct) { /* skewed: small indices likelier */
            uint32_t k = t->codebook_size;
            v = rng_below(r, k);
            if (rng_below(r, 2))
                v = rng_below(r, v + 1);
        }
        if (t->symbol_dtype == CNNZ_DT_U8)
            t->input[i] = (uint8_t)v;
        else
            put16(t->input + 2 * i, (uint16_t)v);
    }
}

/* Random element bits that favour special float values. */
static void fill_input(struct rng *r, struct ttensor *t)
{
    rng_bytes(r, t->input, t->input_size);
    int dt = t->repr == CNNZ_REPR_PLAIN ? t->dtype : t->symbol_dtype;
    size_t es = input_elem_size(t->repr, t->dtype, t->symbol_dtype);
    for (uint64_t i = 0; i < t->elements; i++) {
        uint8_t *p = t->input + i * es;
        if (dt == CNNZ_DT_BOOL) {
            p[0] &= 1;
        } else if (dt == CNNZ_DT_F32 && rng_below(r, 4) == 0) {
            static const uint32_t sp[] = {0, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00000u,
                                          0xFFC00001u, 0x00000001u, 0x807FFFFFu, 0x3F800000u};
            put32(p, sp[rng_below(r, sizeof sp / sizeof sp[0])]);
        } else if ((dt == CNNZ_DT_F16 || dt == CNNZ_DT_BF16) && rng_below(r, 4) == 0) {
            static const uint16_t sp[] = {0, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0xFD01, 0x0001,
                                          0x83FF, 0x7F80, 0xFF81, 0x0080, 0x3C00};
            put16(p, sp[rng_below(r, sizeof sp / sizeof sp[0])]);
        }
    }
}

static void compute_expect(struct ttensor *t)
{
    size_t n = (size_t)t->elements;
    free(t->expect);
    t->expect_size = n * cnnz_dtype_size(t->dtype);
    t->expect = malloc(t->expect_size ? t->expect_size : 1);
    ck_assert_ptr_nonnull(t->expect);
    if (t->repr == CNNZ_REPR_PLAIN || t->repr == CNNZ_REPR_PLANES) {
        if (t->expect_size)
            memcpy(t->expect, t->input, t->expect_size);
        return;
    }
    if (is_indexed(t->repr)) {
        size_t es = cnnz_dtype_size(t->dtype);
        for (size_t i = 0; i < n; i++) {
            uint32_t q = t->symbol_dtype == CNNZ_DT_U8 ? t->input[i] : get16(t->input + 2 * i);
            memcpy(t->expect + i * es, t->codebook + (size_t)q * es, es);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float v;
        if (t->repr == CNNZ_REPR_AFFINE) {
            uint32_t q = t->symbol_dtype == CNNZ_DT_U8 ? t->input[i] : get16(t->input + 2 * i);
            v = ref_affine(q, t->scale, t->offset);
        } else if (t->symbol_dtype == CNNZ_DT_F16) {
            v = ref_f16_to_f32(get16(t->input + 2 * i));
        } else {
            v = ref_bf16_to_f32(get16(t->input + 2 * i));
        }
        put32(t->expect + 4 * i, f32_bits(v));
    }
}

static double rand_finite(struct rng *r)
{
    switch (rng_below(r, 8)) {
    case 0:
        return 0.0;
    case 1:
        return -0.0;
    case 2:
        return ldexp(rng_unit(r) * 2 - 1, (int)rng_below(r, 2000) - 1000); /* wide range */
    case 3:
        return (double)(int)rng_below(r, 512) - 256;
    default:
        return ldexp(rng_unit(r) * 2 - 1, (int)rng_below(r, 24) - 16);
    }
}

struct ttensor *model_add(struct model *m, struct rng *r, const char *name, size_t name_len,
                          int dtype, int repr, int symbol_dtype, unsigned rank,
                          const uint64_t *dims, const void *input)
{
    if (m->nt == m->capt) {
        m->capt = m->capt ? 2 * m->capt : 8;
        m->t = realloc(m->t, m->capt * sizeof *m->t);
        ck_assert_ptr_nonnull(m->t);
    }
    struct ttensor *t = &m->t[m->nt++];
    memset(t, 0, sizeof *t);
    if (name_len == 0)
        name_len = strlen(name);
    t->name = malloc(name_len + 1);
    ck_assert_ptr_nonnull(t->name);
    memcpy(t->name, name, name_len);
    t->name[name_len] = '\0';
    t->name_len = name_len;
    t->dtype = dtype;
    t->repr = repr;
    t->symbol_dtype = repr == CNNZ_REPR_PLAIN || repr == CNNZ_REPR_PLANES ? 0 : symbol_dtype;
    t->coder = CNNZ_CODER_RAW;
    ck_assert_uint_le(rank, CNNZ_MAX_RANK);
    t->rank = rank;
    t->elements = 1;
    for (unsigned i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        t->elements *= dims[i];
    }
    if (repr == CNNZ_REPR_AFFINE) {
        t->scale = r ? rand_finite(r) : 1.0;
        t->offset = r ? rand_finite(r) : 0.0;
    }
    t->input_size = (size_t)t->elements * input_elem_size(repr, dtype, symbol_dtype);
    t->input = malloc(t->input_size ? t->input_size : 1);
    ck_assert_ptr_nonnull(t->input);
    if (input) {
        if (t->input_size)
            memcpy(t->input, input, t->input_size);
    } else if (is_indexed(repr)) {
        ck_assert_ptr_nonnull(r);
        fill_indexed(r, t);
    } else {
        ck_assert_ptr_nonnull(r);
        fill_input(r, t);
    }
    compute_expect(t);
    return t;
}

static int name_taken(const struct model *m, const uint8_t *name, size_t n)
{
    for (size_t i = 0; i < m->nt; i++)
        if (m->t[i].name_len == n && memcmp(m->t[i].name, name, n) == 0)
            return 1;
    return 0;
}

/* Coders the library registers (spec 7): every id with a name. */
static int rand_coder(struct rng *r)
{
    int ids[256], n = 0;
    for (int c = 0; c < 256; c++)
        if (cnnz_coder_name(c))
            ids[n++] = c;
    ck_assert_int_gt(n, 0);
    return ids[rng_below(r, (uint32_t)n)];
}

struct ttensor *model_add_random(struct model *m, struct rng *r, int repr, int dtype,
                                 unsigned max_rank, uint64_t max_elements,
                                 size_t max_name_bytes)
{
    if (repr < 0)
        repr = (int)rng_below(r, 6);
    int symdt = 0;
    if (repr == CNNZ_REPR_PLAIN) {
        if (dtype == 0)
            dtype = 1 + (int)rng_below(r, 13);
    } else if (repr == CNNZ_REPR_PLANES) {
        static const int wide[] = {CNNZ_DT_F32, CNNZ_DT_I32, CNNZ_DT_U32,
                                   CNNZ_DT_F64, CNNZ_DT_I64, CNNZ_DT_U64};
        dtype = wide[rng_below(r, 6)];
    } else if (repr == CNNZ_REPR_HAM || repr == CNNZ_REPR_SHAM) {
        if (dtype == 0)
            dtype = 1 + (int)rng_below(r, 13);
        symdt = rng_below(r, 4) ? CNNZ_DT_U8 : CNNZ_DT_U16;
    } else if (repr == CNNZ_REPR_AFFINE) {
        dtype = CNNZ_DT_F32;
        symdt = rng_below(r, 2) ? CNNZ_DT_U8 : CNNZ_DT_U16;
    } else {
        dtype = CNNZ_DT_F32;
        symdt = rng_below(r, 2) ? CNNZ_DT_F16 : CNNZ_DT_BF16;
    }
    unsigned rank = rng_below(r, max_rank + 1);
    uint64_t dims[CNNZ_MAX_RANK];
    uint64_t p = 1;
    for (unsigned i = 0; i < rank; i++) {
        uint64_t lim = max_elements / p;
        if (lim == 0)
            lim = 1;
        if (i + 1 < rank && lim > 24)
            lim = 24;
        dims[i] = 1 + rng_below(r, (uint32_t)(lim > 0xFFFFFFFFu ? 0xFFFFFFFFu : lim));
        p *= dims[i];
    }
    if (rank > 0 && rng_below(r, 12) == 0)
        dims[rng_below(r, rank)] = 0;
    /* Unique random UTF-8 name. */
    if (max_name_bytes < 1)
        max_name_bytes = 1;
    uint8_t *name = malloc(max_name_bytes + 1);
    ck_assert_ptr_nonnull(name);
    size_t n;
    size_t tries = 0;
    do {
        n = 1 + rng_below(r, (uint32_t)max_name_bytes);
        if (tries++ > 8 && n < max_name_bytes)
            n = max_name_bytes - rng_below(r, (uint32_t)(max_name_bytes < 4 ? max_name_bytes : 4));
        rand_utf8(r, name, n);
    } while (name_taken(m, name, n));
    name[n] = 0;
    struct ttensor *t = model_add(m, r, (const char *)name, n, dtype, repr, symdt, rank, dims, NULL);
    free(name);
    t->coder = rand_coder(r);
    return t;
}

static struct tmeta *meta_new(struct model *m, const char *key, int type)
{
    if (m->nm == m->capm) {
        m->capm = m->capm ? 2 * m->capm : 8;
        m->m = realloc(m->m, m->capm * sizeof *m->m);
        ck_assert_ptr_nonnull(m->m);
    }
    struct tmeta *e = &m->m[m->nm++];
    memset(e, 0, sizeof *e);
    e->key = strdup(key);
    ck_assert_ptr_nonnull(e->key);
    e->type = type;
    return e;
}

void model_meta_string(struct model *m, const char *key, const char *value)
{
    struct tmeta *e = meta_new(m, key, CNNZ_META_STRING);
    e->len = strlen(value);
    e->bytes = (uint8_t *)strdup(value);
    ck_assert_ptr_nonnull(e->bytes);
}

void model_meta_int(struct model *m, const char *key, int64_t v)
{
    meta_new(m, key, CNNZ_META_INT)->i = v;
}

void model_meta_float(struct model *m, const char *key, double v)
{
    meta_new(m, key, CNNZ_META_FLOAT)->f = v;
}

void model_meta_bool(struct model *m, const char *key, int v)
{
    meta_new(m, key, CNNZ_META_BOOL)->i = v;
}

void model_meta_bytes(struct model *m, const char *key, const void *p, size_t n)
{
    struct tmeta *e = meta_new(m, key, CNNZ_META_BYTES);
    e->len = n;
    e->bytes = dup_exact(p, n);
}

static int meta_taken(const struct model *m, const char *key)
{
    for (size_t i = 0; i < m->nm; i++)
        if (strcmp(m->m[i].key, key) == 0)
            return 1;
    return 0;
}

void model_random(struct model *m, struct rng *r, const struct model_opts *o)
{
    unsigned nt = rng_below(r, o->max_tensors + 1);
    for (unsigned i = 0; i < nt; i++)
        model_add_random(m, r, -1, 0, o->max_rank, o->max_elements, o->max_name_bytes);
    unsigned nm = rng_below(r, o->max_meta + 1);
    for (unsigned i = 0; i < nm; i++) {
        uint8_t key[64];
        size_t kl;
        do {
            kl = 1 + rng_below(r, 40);
            rand_utf8(r, key, kl);
            key[kl] = 0;
        } while (meta_taken(m, (const char *)key));
        switch (rng_below(r, 5)) {
        case 0: {
            uint8_t v[200];
            size_t vl = rng_below(r, 150);
            rand_utf8(r, v, vl);
            v[vl] = 0;
            model_meta_string(m, (const char *)key, (const char *)v);
            break;
        }
        case 1:
            model_meta_int(m, (const char *)key, (int64_t)rng_u64(r));
            break;
        case 2: {
            static const uint64_t sp[] = {0, UINT64_C(0x8000000000000000),
                                          UINT64_C(0x7FF0000000000000),
                                          UINT64_C(0x7FF8000000000001), 1};
            uint64_t b = rng_below(r, 3) ? rng_u64(r) : sp[rng_below(r, 5)];
            double d;
            memcpy(&d, &b, sizeof d);
            model_meta_float(m, (const char *)key, d);
            break;
        }
        case 3:
            model_meta_bool(m, (const char *)key, (int)rng_below(r, 2));
            break;
        default: {
            uint8_t v[300];
            size_t vl = rng_below(r, 300);
            rng_bytes(r, v, vl);
            model_meta_bytes(m, (const char *)key, v, vl);
            break;
        }
        }
    }
}

void model_empty(struct model *m)
{
    model_init(m);
}

void model_meta_only(struct model *m)
{
    model_init(m);
    model_meta_string(m, CNNZ_META_MODEL_NAME, "tiny \xC3\xA9\xE2\x82\xAC");
    model_meta_string(m, "empty", "");
    model_meta_int(m, "n", -42);
    model_meta_float(m, "lr", 0.001);
    model_meta_bool(m, "yes", 1);
    model_meta_bool(m, "no", 0);
    model_meta_bytes(m, "blob", "\x00\x01\xFF", 3);
    model_meta_bytes(m, "noblob", "", 0);
}

void model_mixed(struct model *m, struct rng *r)
{
    model_init(m);
    uint64_t d2[2] = {3, 5}, d1[1] = {7}, d0[1] = {0}, d3[3] = {2, 1, 3};
    model_add(m, r, "conv1/w", 0, CNNZ_DT_F32, CNNZ_REPR_PLAIN, 0, 2, d2, NULL);
    model_add(m, r, "q8", 0, CNNZ_DT_F32, CNNZ_REPR_AFFINE, CNNZ_DT_U8, 1, d1, NULL);
    model_add(m, r, "q16", 0, CNNZ_DT_F32, CNNZ_REPR_AFFINE, CNNZ_DT_U16, 3, d3, NULL);
    model_add(m, r, "half", 0, CNNZ_DT_F32, CNNZ_REPR_WIDEN, CNNZ_DT_F16, 1, d1, NULL);
    model_add(m, r, "bhalf", 0, CNNZ_DT_F32, CNNZ_REPR_WIDEN, CNNZ_DT_BF16, 0, NULL, NULL);
    model_add(m, r, "flags", 0, CNNZ_DT_BOOL, CNNZ_REPR_PLAIN, 0, 1, d1, NULL);
    model_add(m, r, "\xE2\x88\x85", 0, CNNZ_DT_I64, CNNZ_REPR_PLAIN, 0, 1, d0, NULL);
    model_meta_string(m, CNNZ_META_SOURCE_FORMAT, "tfjs");
    model_meta_int(m, "step", 1234567);
    model_meta_bool(m, "ok", 1);
    model_meta_float(m, "pi", 3.141592653589793);
    model_meta_bytes(m, "raw", "ab", 2);
}

int model_write_with(const struct model *m, cnnz_writer *w)
{
    int err;
    for (size_t i = 0; i < m->nt; i++) {
        const struct ttensor *t = &m->t[i];
        struct cnnz_tensor_desc d;
        memset(&d, 0, sizeof d);
        d.name = t->name;
        d.name_len = t->name_len;
        d.dtype = t->dtype;
        d.rank = t->rank;
        d.dims = t->dims;
        d.repr = t->repr;
        d.symbol_dtype = t->symbol_dtype;
        d.scale = t->scale;
        d.offset = t->offset;
        d.coder = t->coder;
        d.codebook = t->codebook;
        d.codebook_size = t->codebook_size;
        d.block_rows = t->block_rows;
        if ((err = cnnz_writer_add_tensor(w, &d, t->input, t->input_size)) != 0)
            return err;
    }
    for (size_t i = 0; i < m->nm; i++) {
        const struct tmeta *e = &m->m[i];
        switch (e->type) {
        case CNNZ_META_STRING:
            err = cnnz_writer_meta_string(w, e->key, (const char *)e->bytes);
            break;
        case CNNZ_META_INT:
            err = cnnz_writer_meta_int(w, e->key, e->i);
            break;
        case CNNZ_META_FLOAT:
            err = cnnz_writer_meta_float(w, e->key, e->f);
            break;
        case CNNZ_META_BOOL:
            err = cnnz_writer_meta_bool(w, e->key, (int)e->i);
            break;
        default:
            err = cnnz_writer_meta_bytes(w, e->key, e->bytes, e->len);
            break;
        }
        if (err)
            return err;
    }
    return cnnz_writer_finish(w);
}

uint8_t *model_file(const struct model *m, size_t *size)
{
    struct membuf b;
    membuf_init(&b);
    struct cnnz_sink s = membuf_sink(&b);
    cnnz_writer *w = NULL;
    int err = cnnz_writer_open(&w, &s, NULL);
    ck_assert_msg(err == 0, "cnnz_writer_open: %s", cnnz_error_token(err));
    err = model_write_with(m, w);
    cnnz_writer_free(w);
    ck_assert_msg(err == 0, "writing the model: %s", cnnz_error_token(err));
    uint8_t *img = dup_exact(b.data, b.len);
    *size = b.len;
    membuf_free(&b);
    return img;
}

#define GUARD 16
#define FILL 0xA5

static uint8_t *guarded(size_t n)
{
    uint8_t *p = malloc(n + GUARD);
    ck_assert_ptr_nonnull(p);
    memset(p, FILL, n + GUARD);
    return p;
}

static int all_fill(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != FILL)
            return 0;
    return 1;
}

static int role_of(int repr)
{
    return repr == CNNZ_REPR_AFFINE ? CNNZ_ROLE_SYMBOLS : CNNZ_ROLE_VALUES;
}

static void check_tensor(const struct model *m, size_t i, const cnnz_reader *r)
{
    const struct ttensor *t = &m->t[i];
    struct cnnz_tensor_info ti;
    memset(&ti, 0, sizeof ti);
    int err = cnnz_reader_tensor_info(r, i, &ti);
    ck_assert_msg(err == 0, "tensor_info(%zu): %s", i, cnnz_error_token(err));
    ck_assert_uint_eq(ti.name_len, t->name_len);
    ck_assert_mem_eq(ti.name, t->name, t->name_len);
    ck_assert_int_eq(ti.name[ti.name_len], 0);
    ck_assert_int_eq(ti.dtype, t->dtype);
    ck_assert_uint_eq(ti.rank, t->rank);
    if (t->rank)
        ck_assert_mem_eq(ti.dims, t->dims, t->rank * sizeof(uint64_t));
    ck_assert_uint_eq(ti.elements, t->elements);
    ck_assert_uint_eq(ti.decoded_bytes, t->expect_size);
    ck_assert_uint_eq(ti.decoded_xxh64, xxh64(t->expect, t->expect_size));
    /* AUTO may store plain as planes and ham as sham (spec 6.5-6.7) */
    int same = ti.repr == t->repr;
    if (t->coder == CNNZ_CODER_AUTO)
        ck_assert_msg(same || (t->repr == CNNZ_REPR_PLAIN && ti.repr == CNNZ_REPR_PLANES) ||
                          (t->repr == CNNZ_REPR_HAM && ti.repr == CNNZ_REPR_SHAM),
                      "'%s': repr %d stored as %d", t->name, t->repr, ti.repr);
    else
        ck_assert_int_eq(ti.repr, t->repr);
    ck_assert_int_eq(ti.symbol_dtype, t->symbol_dtype);
    if (t->repr == CNNZ_REPR_AFFINE) {
        ck_assert_msg(memcmp(&ti.scale, &t->scale, sizeof(double)) == 0, "scale %a vs %a",
                      ti.scale, t->scale);
        ck_assert_msg(memcmp(&ti.offset, &t->offset, sizeof(double)) == 0, "offset %a vs %a",
                      ti.offset, t->offset);
    }
    if (is_indexed(t->repr))
        ck_assert_uint_eq(ti.codebook_size, t->codebook_size);
    ck_assert_uint_ge(ti.stream_count, 1);
    ck_assert_ptr_nonnull(ti.streams);
    uint64_t coded = 0;
    for (unsigned k = 0; k < ti.stream_count; k++) {
        const struct cnnz_stream_info *s = &ti.streams[k];
        /* a forced coder may leave a stream it cannot code raw */
        if (t->coder != CNNZ_CODER_AUTO)
            ck_assert_msg(s->coder == t->coder || s->coder == CNNZ_CODER_RAW,
                          "'%s' stream %u: coder %d, asked for %d", t->name, k, s->coder,
                          t->coder);
        if (s->coder == CNNZ_CODER_RAW) {
            ck_assert_int_eq(s->coder_version, 0);
            ck_assert_uint_eq(s->coded_bytes, s->decoded_bytes);
            ck_assert_uint_eq(s->offset % (s->coded_bytes >= 1024 ? 64 : 8), 0);
        }
        ck_assert_uint_le(s->offset + s->coded_bytes, cnnz_reader_file_size(r));
        coded += s->coded_bytes;
    }
    ck_assert_uint_eq(ti.coded_bytes, coded);
    const struct cnnz_stream_info *s = &ti.streams[0];
    if (same && !is_indexed(t->repr) && t->repr != CNNZ_REPR_PLANES) {
        ck_assert_uint_eq(ti.stream_count, 1);
        ck_assert_int_eq(s->role, role_of(t->repr));
        ck_assert_uint_eq(s->decoded_bytes, t->input_size);
    }

    size_t idx = (size_t)-1;
    err = cnnz_reader_find(r, t->name, &idx);
    ck_assert_msg(err == 0, "find('%s'): %s", t->name, cnnz_error_token(err));
    ck_assert_uint_eq(idx, i);

    /* decode, sentinel after the buffer */
    uint8_t *dst = guarded(t->expect_size);
    err = cnnz_reader_decode(r, i, dst, t->expect_size, NULL);
    ck_assert_msg(err == 0, "decode '%s': %s", t->name, cnnz_error_token(err));
    if (t->expect_size)
        ck_assert_mem_eq(dst, t->expect, t->expect_size);
    ck_assert_msg(all_fill(dst + t->expect_size, GUARD), "decode wrote past the buffer");
    ck_assert_uint_eq(xxh64(dst, t->expect_size), ti.decoded_xxh64);
    /* a bigger buffer is fine; bytes past decoded_bytes untouched */
    memset(dst, FILL, t->expect_size + GUARD);
    if (t->expect_size >= 1) {
        err = cnnz_reader_decode(r, i, dst, t->expect_size - 1, NULL);
        ck_assert_msg(err == CNNZ_E_BUFFER, "short buffer: %s", cnnz_error_token(err));
        ck_assert_msg(all_fill(dst, t->expect_size + GUARD), "BUFFER error wrote into dst");
    }
    free(dst);
    dst = guarded(t->expect_size + 8);
    err = cnnz_reader_decode(r, i, dst, t->expect_size + 8, NULL);
    ck_assert_int_eq(err, 0);
    ck_assert_msg(all_fill(dst + t->expect_size, 8 + GUARD), "decode wrote past decoded_bytes");
    free(dst);

    /* decode_stream gives the representation's input (HAM: stream 1) */
    unsigned in_k = ti.repr == CNNZ_REPR_HAM ? 1 : 0;
    if (same && t->repr != CNNZ_REPR_PLANES && t->repr != CNNZ_REPR_SHAM) {
        dst = guarded(t->input_size);
        err = cnnz_reader_decode_stream(r, i, in_k, dst, t->input_size, NULL);
        ck_assert_msg(err == 0, "decode_stream '%s': %s", t->name, cnnz_error_token(err));
        if (t->input_size)
            ck_assert_mem_eq(dst, t->input, t->input_size);
        ck_assert_msg(all_fill(dst + t->input_size, GUARD), "decode_stream wrote past the buffer");
        memset(dst, FILL, t->input_size + GUARD);
        if (t->input_size >= 1) {
            err = cnnz_reader_decode_stream(r, i, in_k, dst, t->input_size - 1, NULL);
            ck_assert_msg(err == CNNZ_E_BUFFER, "short stream buffer: %s", cnnz_error_token(err));
            ck_assert_msg(all_fill(dst, t->input_size + GUARD), "BUFFER error wrote into dst");
        }
        free(dst);
    }
    /* every stream decodes alone to its decoded length */
    for (unsigned k = 0; k < ti.stream_count; k++) {
        size_t len = (size_t)ti.streams[k].decoded_bytes;
        dst = guarded(len);
        err = cnnz_reader_decode_stream(r, i, k, dst, len, NULL);
        ck_assert_msg(err == 0, "decode_stream '%s' %u: %s", t->name, k, cnnz_error_token(err));
        ck_assert_msg(all_fill(dst + len, GUARD), "decode_stream wrote past the buffer");
        free(dst);
    }
    dst = guarded(t->input_size);
    err = cnnz_reader_decode_stream(r, i, ti.stream_count, dst, t->input_size, NULL);
    ck_assert_msg(err != 0, "decode_stream of a stream past the count succeeded");
    ck_assert_msg(all_fill(dst, t->input_size + GUARD), "failed decode_stream wrote into dst");
    free(dst);
}

static void check_meta(const struct tmeta *e, const struct cnnz_meta *g)
{
    ck_assert_str_eq(g->key, e->key);
    ck_assert_int_eq(g->type, e->type);
    switch (e->type) {
    case CNNZ_META_STRING:
        ck_assert_uint_eq(g->value_len, e->len);
        ck_assert_ptr_nonnull(g->value);
        ck_assert_mem_eq(g->value, e->bytes, e->len);
        ck_assert_int_eq(((const char *)g->value)[e->len], 0);
        break;
    case CNNZ_META_BYTES:
        ck_assert_uint_eq(g->value_len, e->len);
        if (e->len)
            ck_assert_mem_eq(g->value, e->bytes, e->len);
        break;
    case CNNZ_META_INT:
        ck_assert_int_eq(g->i, e->i);
        break;
    case CNNZ_META_FLOAT:
        ck_assert_msg(memcmp(&g->f, &e->f, sizeof(double)) == 0, "float %a vs %a", g->f, e->f);
        break;
    case CNNZ_META_BOOL:
        ck_assert_int_eq(g->i, e->i ? 1 : 0);
        break;
    default:
        ck_abort_msg("bad model meta type");
    }
}

void model_check(const struct model *m, const cnnz_reader *r)
{
    unsigned major = 0, minor = 99;
    cnnz_reader_version(r, &major, &minor);
    ck_assert_uint_eq(major, CNNZ_FORMAT_MAJOR);
    ck_assert_uint_eq(cnnz_reader_tensor_count(r), m->nt);
    for (size_t i = 0; i < m->nt; i++)
        check_tensor(m, i, r);
    struct cnnz_tensor_info ti;
    ck_assert_int_ne(cnnz_reader_tensor_info(r, m->nt, &ti), 0);
    size_t idx;
    ck_assert_int_eq(cnnz_reader_find(r, "no such tensor \x01", &idx), CNNZ_E_NOTFOUND);

    ck_assert_uint_eq(cnnz_reader_meta_count(r), m->nm);
    for (size_t i = 0; i < m->nm; i++) {
        struct cnnz_meta g;
        memset(&g, 0, sizeof g);
        int err = cnnz_reader_meta_find(r, m->m[i].key, &g);
        ck_assert_msg(err == 0, "meta_find('%s'): %s", m->m[i].key, cnnz_error_token(err));
        check_meta(&m->m[i], &g);
        /* meta_get enumerates the same set (order not assumed) */
        memset(&g, 0, sizeof g);
        ck_assert_int_eq(cnnz_reader_meta_get(r, i, &g), 0);
        ck_assert_ptr_nonnull(g.key);
        size_t j;
        for (j = 0; j < m->nm; j++)
            if (strcmp(m->m[j].key, g.key) == 0)
                break;
        ck_assert_msg(j < m->nm, "meta_get(%zu) gave unknown key '%s'", i, g.key);
        check_meta(&m->m[j], &g);
    }
    struct cnnz_meta g;
    ck_assert_int_ne(cnnz_reader_meta_get(r, m->nm, &g), 0);
    ck_assert_int_eq(cnnz_reader_meta_find(r, "no such key \x01", &g), CNNZ_E_NOTFOUND);

    /* sections (spec 3.2): TDATs whose runs cover the tensors in order (spec
     * 5.1), at most one META (present when there is metadata), all known, in
     * file order */
    size_t ns = cnnz_reader_section_count(r), ntdat = 0, nmeta = 0, covered = 0;
    uint64_t prev = 0;
    for (size_t i = 0; i < ns; i++) {
        struct cnnz_section_info si;
        ck_assert_int_eq(cnnz_reader_section_info(r, i, &si), 0);
        ck_assert_int_eq(si.tag[4], 0);
        if (!si.known) { /* skippable sections of a newer writer (spec 3.2) */
            ck_assert(!si.critical);
            continue;
        }
        ck_assert_uint_gt(si.offset, prev);
        ck_assert_uint_eq(si.offset % 8, 0);
        prev = si.offset;
        if (strcmp(si.tag, "TDAT") == 0) {
            ck_assert(si.critical);
            ck_assert_uint_eq(si.first_tensor, covered);
            ck_assert_uint_ge(si.tensor_count, 1);
            covered += si.tensor_count;
            ntdat++;
        } else if (strcmp(si.tag, "META") == 0) {
            ck_assert(!si.critical);
            nmeta++;
        } else {
            ck_abort_msg("unexpected section '%s'", si.tag);
        }
    }
    ck_assert_uint_eq(covered, m->nt);
    ck_assert_uint_le(ntdat, m->nt);
    ck_assert_uint_le(nmeta, 1);
    if (m->nm)
        ck_assert_uint_eq(nmeta, 1);
    struct cnnz_section_info si;
    ck_assert_int_ne(cnnz_reader_section_info(r, ns, &si), 0);

    struct cnnz_where w;
    memset(&w, 0, sizeof w);
    int err = cnnz_reader_verify(r, &w);
    ck_assert_msg(err == 0, "verify: %s", cnnz_error_token(err));
}

void model_check_image(const struct model *m, const uint8_t *img, size_t n)
{
    cnnz_reader *r = NULL;
    struct cnnz_where w;
    memset(&w, 0, sizeof w);
    struct cnnz_open_options o = {NULL, NULL, &w};
    int err = cnnz_reader_open_memory(&r, img, n, &o);
    ck_assert_msg(err == 0, "open: %s (%s at %lld, tensor %lld '%s', stream %d)",
                  cnnz_error_token(err), w.what ? w.what : "?", (long long)w.offset,
                  (long long)w.tensor,
                  w.tensor >= 0 && (size_t)w.tensor < m->nt ? m->t[w.tensor].name : "?",
                  (int)w.stream);
    ck_assert_uint_eq(cnnz_reader_file_size(r), n);
    model_check(m, r);
    /* the coded bytes the directory points at are in the image */
    for (size_t i = 0; i < m->nt; i++) {
        struct cnnz_tensor_info ti;
        ck_assert_int_eq(cnnz_reader_tensor_info(r, i, &ti), 0);
        for (unsigned k = 0; k < ti.stream_count; k++) {
            const struct cnnz_stream_info *s = &ti.streams[k];
            ck_assert_uint_le(s->offset + s->coded_bytes, n);
            if (s->coder == CNNZ_CODER_RAW && m->t[i].input_size && ti.stream_count == 1 &&
                ti.repr == m->t[i].repr)
                ck_assert_mem_eq(img + s->offset, m->t[i].input, m->t[i].input_size);
        }
    }
    cnnz_reader_close(r);
}

int open_decode_verify(const uint8_t *img, size_t n, const struct model *expect)
{
    cnnz_reader *r = NULL;
    int err = cnnz_reader_open_memory(&r, img, n, NULL);
    if (err) {
        ck_assert_ptr_null(r);
        return err;
    }
    int first = 0;
    size_t nt = cnnz_reader_tensor_count(r);
    for (size_t i = 0; i < nt; i++) {
        struct cnnz_tensor_info ti;
        err = cnnz_reader_tensor_info(r, i, &ti);
        ck_assert_int_eq(err, 0);
        if (ti.decoded_bytes > (UINT64_C(1) << 26)) {
            /* cannot be true for our small files; never allocate it */
            ck_assert_ptr_null(expect);
            if (!first)
                first = -1;
            continue;
        }
        uint8_t *dst = guarded((size_t)ti.decoded_bytes);
        err = cnnz_reader_decode(r, i, dst, (size_t)ti.decoded_bytes, NULL);
        ck_assert_msg(all_fill(dst + ti.decoded_bytes, GUARD), "decode wrote past the buffer");
        if (err && !first)
            first = err;
        if (!err && expect) {
            /* a decode that succeeds must give the original data */
            ck_assert_uint_lt(i, expect->nt);
            ck_assert_uint_eq(ti.decoded_bytes, expect->t[i].expect_size);
            if (ti.decoded_bytes)
                ck_assert_mem_eq(dst, expect->t[i].expect, expect->t[i].expect_size);
        }
        free(dst);
    }
    err = cnnz_reader_verify(r, NULL);
    if (err && !first)
        first = err;
    if (!first && expect)
        model_check(expect, r);
    cnnz_reader_close(r);
    return first;
}

/* ------------------------------------------------------------- allocators */

#define ALLOC_MAGIC UINT64_C(0xC22A110CA7ED0001)

static void *ta_alloc(void *opaque, size_t size)
{
    struct test_alloc *a = opaque;
    long idx = a->allocs++;
    if (a->fail_at >= 0 && (idx == a->fail_at || (a->fail_all_after && idx > a->fail_at)))
        return NULL;
    uint64_t *p = malloc(size + 16);
    if (!p)
        return NULL;
    p[0] = ALLOC_MAGIC;
    p[1] = size;
    a->live++;
    a->bytes_live += size;
    if (a->bytes_live > a->bytes_peak)
        a->bytes_peak = a->bytes_live;
    return p + 2;
}

static void ta_free(void *opaque, void *ptr)
{
    struct test_alloc *a = opaque;
    if (!ptr)
        return;
    uint64_t *p = (uint64_t *)ptr - 2;
    ck_assert_msg(p[0] == ALLOC_MAGIC, "free of a pointer not from this allocator (or twice)");
    p[0] = 0;
    a->frees++;
    a->live--;
    a->bytes_live -= (size_t)p[1];
    free(p);
}

void test_alloc_init(struct test_alloc *a, long fail_at)
{
    memset(a, 0, sizeof *a);
    a->fail_at = fail_at;
}

struct cnnz_allocator test_alloc_hooks(struct test_alloc *a)
{
    struct cnnz_allocator h = {ta_alloc, ta_free, a};
    return h;
}

/* ================================================================ suite */

START_TEST(test_rng_reproducible)
{
    struct rng a, b;
    rng_init(&a, "x");
    rng_init(&b, "x");
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(rng_u64(&a), rng_u64(&b));
    rng_init(&b, "y");
    ck_assert_uint_ne(rng_u64(&a), rng_u64(&b));
    for (int i = 0; i < 1000; i++) {
        ck_assert_uint_lt(rng_below(&a, 7), 7);
        double u = rng_unit(&a);
        ck_assert(u >= 0 && u < 1);
    }
    /* splitmix64 reference: seed 0 -> first output 0xE220A8397B1DCDAF */
    struct rng z = {0};
    ck_assert_uint_eq(rng_u64(&z), UINT64_C(0xE220A8397B1DCDAF));
}
END_TEST

START_TEST(test_le_and_xxh64)
{
    uint8_t b[8];
    put64(b, UINT64_C(0x0102030405060708));
    ck_assert_uint_eq(b[0], 8);
    ck_assert_uint_eq(b[7], 1);
    ck_assert_uint_eq(get64(b), UINT64_C(0x0102030405060708));
    ck_assert_uint_eq(get32(b), 0x05060708u);
    ck_assert_uint_eq(get16(b), 0x0708u);
    /* spec 1.1 */
    ck_assert_uint_eq(xxh64("", 0), UINT64_C(0xEF46DB3751D8E999));
}
END_TEST

START_TEST(test_ref_conversions_fixed)
{
    ck_assert_uint_eq(f32_bits(ref_f16_to_f32(0x3C00)), f32_bits(1.0f));
    ck_assert_uint_eq(f32_bits(ref_f16_to_f32(0xC000)), f32_bits(-2.0f));
    ck_assert_uint_eq(f32_bits(ref_f16_to_f32(0x7BFF)), f32_bits(65504.0f));
    ck_assert_uint_eq(f32_bits(ref_f16_to_f32(0x0001)), f32_bits(0x1p-24f));
    ck_assert_uint_eq(f32_bits(ref_f16_to_f32(0x03FF)), f32_bits(0x3FFp-24f));
    ck_assert_uint_eq(f32_bits(ref_f16_to_f32(0x0400)), f32_bits(0x1p-14f));
    ck_assert_uint_eq(f32_bits(ref_f16_to_f32(0x8000)), 0x80000000u);
    ck_assert_uint_eq(f32_bits(ref_f16_to_f32(0x7C00)), 0x7F800000u);
    ck_assert_uint_eq(f32_bits(ref_f16_to_f32(0xFE01)), 0xFFC02000u);
    ck_assert_uint_eq(f32_bits(ref_f16_to_f32(0x3555)), f32_bits(0x1.554p-2f));
    ck_assert_uint_eq(f32_bits(ref_bf16_to_f32(0x3F80)), f32_bits(1.0f));
    ck_assert_uint_eq(f32_bits(ref_bf16_to_f32(0x0001)), 0x00010000u);
    ck_assert_uint_eq(f32_bits(ref_bf16_to_f32(0xFF81)), 0xFF810000u);
    ck_assert_uint_eq(f32_bits(ref_bf16_to_f32(0x4049)), 0x40490000u);
    ck_assert_uint_eq(f32_bits(ref_affine(3, 0.5, -1.0)), f32_bits(0.5f));
    ck_assert_uint_eq(f32_bits(ref_affine(1, 1e300, 0)), 0x7F800000u);
    /* two roundings: 3 * (1 + 2^-52) = 3 + 1.5 ulp rounds (to even) to
     * 3 + 2^-50 before the sum; a fused multiply-add would give 3 * 2^-52 */
    ck_assert_uint_eq(f32_bits(ref_affine(3, 0x1.0000000000001p0, -3.0)), f32_bits(0x1p-50f));
}
END_TEST

START_TEST(test_utf8_helpers)
{
    uint8_t b[4];
    ck_assert_uint_eq(utf8_put(b, 0x24), 1);
    ck_assert_uint_eq(utf8_put(b, 0xA2), 2);
    ck_assert_mem_eq(b, "\xC2\xA2", 2);
    ck_assert_uint_eq(utf8_put(b, 0x20AC), 3);
    ck_assert_mem_eq(b, "\xE2\x82\xAC", 3);
    ck_assert_uint_eq(utf8_put(b, 0x10348), 4);
    ck_assert_mem_eq(b, "\xF0\x90\x8D\x88", 4);
    ck_assert(!ref_utf8_valid((const uint8_t *)"\xC0\x80", 2));
    ck_assert(!ref_utf8_valid((const uint8_t *)"\xED\xA0\x80", 3));
    ck_assert(!ref_utf8_valid((const uint8_t *)"\xF4\x90\x80\x80", 4));
    struct rng r;
    rng_init(&r, __func__);
    uint8_t s[64];
    int multi = 0;
    for (int i = 0; i < 2000; i++) {
        size_t n = rng_below(&r, 64);
        rand_utf8(&r, s, n);
        ck_assert(ref_utf8_valid(s, n));
        for (size_t k = 0; k < n; k++)
            multi |= s[k] >= 0x80;
    }
    ck_assert(multi);
}
END_TEST

START_TEST(test_model_roundtrip_fixed)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_mixed(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    model_check_image(&m, img, n);
    ck_assert_int_eq(open_decode_verify(img, n, &m), 0);
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_test_alloc)
{
    struct test_alloc a;
    test_alloc_init(&a, 1);
    struct cnnz_allocator h = test_alloc_hooks(&a);
    void *p = h.alloc(h.opaque, 10);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(h.alloc(h.opaque, 10));
    void *q = h.alloc(h.opaque, 5);
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(a.live, 2);
    ck_assert_uint_eq(a.bytes_live, 15);
    h.free(h.opaque, p);
    h.free(h.opaque, q);
    h.free(h.opaque, NULL);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

Suite *suite_util(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("helpers");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_rng_reproducible);
    tcase_add_test(tc, test_le_and_xxh64);
    tcase_add_test(tc, test_ref_conversions_fixed);
    tcase_add_test(tc, test_utf8_helpers);
    tcase_add_test(tc, test_model_roundtrip_fixed);
    tcase_add_test(tc, test_test_alloc);
    suite_add_tcase(s, tc);
    return s;
}
