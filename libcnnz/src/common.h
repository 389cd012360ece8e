/* Internal helpers shared by every libcnnz module: little-endian access,
 * overflow-checked arithmetic, the allocator and error-location plumbing. */
#ifndef CNNZ_COMMON_H
#define CNNZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cnnz.h"

#define CNNZ__INTERNAL __attribute__((visibility("hidden")))

/* ------------------------------------------------ little-endian access */
/* Byte-wise so they work at any alignment and on any host byte order. */
static inline uint16_t cnnz__le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t cnnz__le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t cnnz__le64(const uint8_t *p)
{
    return (uint64_t)cnnz__le32(p) | ((uint64_t)cnnz__le32(p + 4) << 32);
}
static inline void cnnz__put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void cnnz__put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void cnnz__put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline double cnnz__f64_from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}
static inline uint64_t cnnz__f64_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* ------------------------------------------------ checked arithmetic */
/* Return 0 on success, non-zero on overflow (result untouched then). */
static inline int cnnz__add64(uint64_t a, uint64_t b, uint64_t *r)
{
    if (a > UINT64_MAX - b)
        return 1;
    *r = a + b;
    return 0;
}
static inline int cnnz__mul64(uint64_t a, uint64_t b, uint64_t *r)
{
    if (a != 0 && b > UINT64_MAX / a)
        return 1;
    *r = a * b;
    return 0;
}
/* Element count of a shape (spec 5.3): 0 when any dimension is 0, whatever
 * the others; otherwise the product, which must not overflow. */
static inline int cnnz__dims_product(const uint64_t *dims, unsigned rank, uint64_t *r)
{
    uint64_t n = 1;
    for (unsigned i = 0; i < rank; i++)
        if (dims[i] == 0) {
            *r = 0;
            return 0;
        }
    for (unsigned i = 0; i < rank; i++)
        if (cnnz__mul64(n, dims[i], &n))
            return 1;
    *r = n;
    return 0;
}
/* align(x, a) for a power of two a; non-zero on overflow. */
static inline int cnnz__align64(uint64_t x, uint64_t a, uint64_t *r)
{
    uint64_t t;
    if (cnnz__add64(x, a - 1, &t))
        return 1;
    *r = t & ~(a - 1);
    return 0;
}

/* ------------------------------------------------ allocation */
struct cnnz__alloc {
    void *(*alloc)(void *opaque, size_t size);
    void (*free)(void *opaque, void *ptr);
    void *opaque;
};
CNNZ__INTERNAL void cnnz__alloc_init(struct cnnz__alloc *a, const struct cnnz_allocator *user);
/* NULL when n is 0 too (callers never ask for 0 bytes they need to own). */
CNNZ__INTERNAL void *cnnz__malloc(const struct cnnz__alloc *a, size_t n);
/* n * size with overflow check; returns NULL on overflow. */
CNNZ__INTERNAL void *cnnz__malloc_array(const struct cnnz__alloc *a, size_t n, size_t size);
CNNZ__INTERNAL void cnnz__free(const struct cnnz__alloc *a, void *p);

/* Growable byte buffer used by the writer and encoders. */
struct cnnz__buf {
    uint8_t *data;
    size_t len, cap;
    const struct cnnz__alloc *a;
};
CNNZ__INTERNAL int cnnz__buf_reserve(struct cnnz__buf *b, size_t extra);
CNNZ__INTERNAL int cnnz__buf_append(struct cnnz__buf *b, const void *p, size_t n);
CNNZ__INTERNAL int cnnz__buf_zeros(struct cnnz__buf *b, size_t n);
CNNZ__INTERNAL void cnnz__buf_free(struct cnnz__buf *b);

/* ------------------------------------------------ errors */
/* Record err at a place and return it: `return cnnz__fail(w, CNNZ_E_X, "header", -1, -1, off);` */
CNNZ__INTERNAL int cnnz__fail(struct cnnz_where *w, int err, const char *what, int64_t tensor,
                              int32_t stream, int64_t offset);

/* ------------------------------------------------ checksums */
/* A fuzzing build (-DCNNZ_FUZZING) accepts every checksum so the fuzzer
 * reaches the parsing behind them; never define it in a shipped build. */
#ifdef CNNZ_FUZZING
#define cnnz__sum_bad(computed, stored) ((void)(computed), (void)(stored), 0)
#else
#define cnnz__sum_bad(computed, stored) ((computed) != (stored))
#endif

/* ------------------------------------------------ misc */
/* RFC 3629 well-formed UTF-8 without NUL bytes: 1 when valid. */
CNNZ__INTERNAL int cnnz__utf8_valid(const uint8_t *s, size_t n);

#endif
