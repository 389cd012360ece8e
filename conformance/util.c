/* util.c - buffers, integers, hashes, randomness and reference arithmetic
 * of the conformance programs (cf.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <xxhash.h>

#include "cf.h"

void cf_die(const char *fmt, ...)
{
    va_list ap;
    fputs("conformance: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void *cf_alloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        cf_die("out of memory (%zu bytes)", n);
    return p;
}

void *cf_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        cf_die("out of memory (%zu bytes)", n);
    return q;
}

void *cf_dup(const void *p, size_t n)
{
    void *q = cf_alloc(n);
    if (n)
        memcpy(q, p, n);
    return q;
}

/* ------------------------------------------------------------ buffers */

void cf_buf_free(struct cf_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

static void reserve(struct cf_buf *b, size_t more)
{
    if (b->n + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + more)
        cap *= 2;
    b->p = cf_realloc(b->p, cap);
    b->cap = cap;
}

void cf_buf_set(struct cf_buf *b, const void *p, size_t n)
{
    b->n = 0;
    cf_buf_put(b, p, n);
}

void cf_buf_put(struct cf_buf *b, const void *p, size_t n)
{
    reserve(b, n);
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

void cf_buf_str(struct cf_buf *b, const char *s)
{
    cf_buf_put(b, s, strlen(s));
}

void cf_buf_zeros(struct cf_buf *b, size_t n)
{
    if (!n)
        return;
    reserve(b, n);
    memset(b->p + b->n, 0, n);
    b->n += n;
}

void cf_buf_u8(struct cf_buf *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    cf_buf_put(b, &c, 1);
}

void cf_buf_u16(struct cf_buf *b, unsigned v)
{
    uint8_t c[2];
    cf_put16(c, v);
    cf_buf_put(b, c, 2);
}

void cf_buf_u32(struct cf_buf *b, uint32_t v)
{
    uint8_t c[4];
    cf_put32(c, v);
    cf_buf_put(b, c, 4);
}

void cf_buf_u64(struct cf_buf *b, uint64_t v)
{
    uint8_t c[8];
    cf_put64(c, v);
    cf_buf_put(b, c, 8);
}

void cf_buf_varint(struct cf_buf *b, uint64_t v)
{
    uint8_t c[10];
    cf_buf_put(b, c, cf_varint(c, v));
}

void cf_buf_pad(struct cf_buf *b, size_t align)
{
    cf_buf_zeros(b, (size_t)(cf_align(b->n, align) - b->n));
}

/* ------------------------------------------------------------ integers */

void cf_put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void cf_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void cf_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint16_t cf_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t cf_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t cf_get64(const uint8_t *p)
{
    return (uint64_t)cf_get32(p) | (uint64_t)cf_get32(p + 4) << 32;
}

size_t cf_varint(uint8_t *dst, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        dst[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    dst[n++] = (uint8_t)v;
    return n;
}

uint64_t cf_align(uint64_t x, uint64_t a)
{
    return (x + a - 1) / a * a;
}

/* ------------------------------------------------------------ hashes */

uint64_t cf_xxh64(const void *p, size_t n)
{
    return XXH64(n ? p : "", n, 0);
}

void cf_sha256_hex(const void *p, size_t n, char hex[65])
{
    unsigned char md[32];
    unsigned len = 0;
    if (!EVP_Digest(n ? p : "", n, md, &len, EVP_sha256(), NULL) || len != 32)
        cf_die("SHA-256 failed");
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* ------------------------------------------------------------ randomness */

uint64_t cf_next(struct cf_rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

uint32_t cf_below(struct cf_rng *r, uint32_t n)
{
    return (uint32_t)(((cf_next(r) >> 32) * n) >> 32);
}

double cf_unit(struct cf_rng *r)
{
    return (double)(cf_next(r) >> 11) * 0x1p-53;
}

double cf_normal(struct cf_rng *r)
{
    return (cf_unit(r) + cf_unit(r) + cf_unit(r) + cf_unit(r) - 2.0) * 1.7320508;
}

/* ------------------------------------------------------------ files */

void cf_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f))
        cf_die("%s: %s", path, strerror(errno));
}

void cf_mkdir(const char *path)
{
    if (mkdir(path, 0777) && errno != EEXIST)
        cf_die("%s: %s", path, strerror(errno));
}

/* ----------------------------------------------------- reference arithmetic */

/* spec 6.4, case by case */
float cf_f16_to_f32(uint16_t h)
{
    unsigned s = h >> 15, e = (h >> 10) & 31, f = h & 1023;
    if (e == 31 && f) {
        uint32_t bits = (uint32_t)s << 31 | 0x7F800000u | (uint32_t)f << 13;
        float x;
        memcpy(&x, &bits, 4);
        return x;
    }
    double v = e == 31  ? INFINITY
               : e == 0 ? ldexp((double)f, -24)
                        : ldexp(1.0 + f / 1024.0, (int)e - 15);
    return (float)(s ? -v : v);
}

float cf_bf16_to_f32(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

/* spec 6.3: two binary64 operations, each rounded (the build has
 * -ffp-contract=off; volatile keeps them apart anyway), then to binary32. */
float cf_affine_f32(uint32_t q, double scale, double offset)
{
    volatile double x = (double)q * scale;
    volatile double y = x + offset;
    return (float)y;
}

int cf_affine_i32(uint32_t q, double scale, double offset, int32_t *out)
{
    volatile double x = (double)q * scale;
    volatile double y = x + offset;
    double r = floor(y);
    if (y - r >= 0.5)
        r += 1.0;
    if (!(r >= -2147483648.0 && r <= 2147483647.0))
        return -1;
    *out = (int32_t)r;
    return 0;
}
