/* The one bounded bit and byte I/O layer every coder uses (spec 7.0).
 *
 * Bits are little-endian: the first bit of a stream is bit 0 (the least
 * significant) of its first byte, and a field of n bits written with
 * cnnz__bitw_put(v, n) puts v's bit 0 first.
 *
 * Readers never touch memory outside [start, end). Reading past the end
 * yields zero bits (or bytes) and sets a sticky condition that the caller
 * checks once, after the loop: the hot paths carry no error branches. */
#ifndef CNNZ_BITIO_H
#define CNNZ_BITIO_H

#include "common.h"

/* Unaligned little-endian 64-bit load; compilers turn the memcpy into one
 * load on every target we build for. */
static inline uint64_t cnnz__load64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    return cnnz__le64(p);
#endif
}
static inline void cnnz__store64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    cnnz__put64(p, v);
#endif
}
static inline void cnnz__store16(uint8_t *p, uint16_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 2);
#else
    cnnz__put16(p, v);
#endif
}

/* ------------------------------------------------------------ bit reader */

struct cnnz__bitr {
    const uint8_t *p, *end; /* next byte to load; one past the last */
    uint64_t acc;           /* unread bits, the next one at bit 0 */
    unsigned n;             /* valid bits in acc */
    unsigned pad;           /* zero bits appended past the end (capped) */
};

static inline void cnnz__bitr_init(struct cnnz__bitr *b, const uint8_t *src, size_t len)
{
    b->p = src;
    b->end = src + len;
    b->acc = 0;
    b->n = 0;
    b->pad = 0;
}

/* Make at least 56 bits available (always succeeds: zeros past the end). */
static inline void cnnz__bitr_refill(struct cnnz__bitr *b)
{
    if (b->end - b->p >= 8) {
        b->acc |= cnnz__load64(b->p) << b->n;
        b->p += (63 - b->n) >> 3;
        b->n |= 56;
        return;
    }
    while (b->n <= 56) {
        if (b->p < b->end) {
            b->acc |= (uint64_t)*b->p++ << b->n;
        } else if (b->pad < 128) {
            b->pad += 8; /* the zero bits are already in acc */
        } else {
            b->n = 64; /* far past the end: stop counting, stay in bounds */
            break;
        }
        b->n += 8;
    }
}

/* The next k bits (k <= 56 after a refill, and k <= n) without consuming. */
static inline uint64_t cnnz__bitr_peek(const struct cnnz__bitr *b, unsigned k)
{
    return b->acc & ((UINT64_C(1) << k) - 1);
}
static inline void cnnz__bitr_skip(struct cnnz__bitr *b, unsigned k)
{
    b->acc >>= k;
    b->n -= k;
}
/* k <= 56 bits; refills as needed. */
static inline uint64_t cnnz__bitr_get(struct cnnz__bitr *b, unsigned k)
{
    if (b->n < k)
        cnnz__bitr_refill(b);
    uint64_t v = cnnz__bitr_peek(b, k);
    cnnz__bitr_skip(b, k);
    return v;
}
/* 1 when bits past the end of the input were consumed. */
static inline int cnnz__bitr_overrun(const struct cnnz__bitr *b)
{
    return b->n < b->pad || b->pad >= 128;
}
/* Whole input bytes not yet consumed (for coders that must use every byte). */
static inline size_t cnnz__bitr_unread_bytes(const struct cnnz__bitr *b)
{
    unsigned real = b->n > b->pad ? b->n - b->pad : 0;
    return (size_t)(b->end - b->p) + real / 8;
}

/* ------------------------------------------------------------ bit writer */

struct cnnz__bitw {
    uint8_t *start, *p, *end;
    uint64_t acc; /* pending bits, the oldest at bit 0 */
    unsigned n;   /* pending bits in acc (< 8 after a flush) */
    int overflow; /* sticky: the output buffer was too small */
};

static inline void cnnz__bitw_init(struct cnnz__bitw *b, uint8_t *dst, size_t cap)
{
    b->start = b->p = dst;
    b->end = dst + cap;
    b->acc = 0;
    b->n = 0;
    b->overflow = 0;
}
/* Move whole bytes from acc to the output. */
static inline void cnnz__bitw_flush(struct cnnz__bitw *b)
{
    if (b->end - b->p >= 8) {
        cnnz__store64(b->p, b->acc);
        b->p += b->n >> 3;
    } else {
        for (unsigned i = 0; i < (b->n >> 3); i++) {
            if (b->p < b->end)
                *b->p++ = (uint8_t)(b->acc >> (8 * i));
            else
                b->overflow = 1;
        }
    }
    b->acc = (b->n & ~7u) >= 64 ? 0 : b->acc >> (b->n & ~7u);
    b->n &= 7;
}
/* Append the low k bits of v (k <= 56; bits of v above k must be zero).
 * Call cnnz__bitw_flush at least every 56 - 7 = 49 bits of puts. */
static inline void cnnz__bitw_put(struct cnnz__bitw *b, uint64_t v, unsigned k)
{
    b->acc |= v << b->n;
    b->n += k;
}
/* Put and flush (for code that does not batch). */
static inline void cnnz__bitw_putf(struct cnnz__bitw *b, uint64_t v, unsigned k)
{
    cnnz__bitw_put(b, v, k);
    cnnz__bitw_flush(b);
}
/* Pad the last byte with zero bits; returns the bytes written, or 0 with
 * overflow set when the buffer was too small. */
static inline size_t cnnz__bitw_finish(struct cnnz__bitw *b)
{
    cnnz__bitw_flush(b);
    if (b->n) {
        if (b->p < b->end)
            *b->p++ = (uint8_t)b->acc;
        else
            b->overflow = 1;
        b->acc = 0;
        b->n = 0;
    }
    return b->overflow ? 0 : (size_t)(b->p - b->start);
}

/* ----------------------------------------------------------- byte reader */

/* For coders that consume whole bytes (rANS, the arithmetic coder, table
 * descriptions). Past the end: zeros and a sticky flag. */
struct cnnz__byter {
    const uint8_t *p, *end;
    int overrun;
};

static inline void cnnz__byter_init(struct cnnz__byter *r, const uint8_t *src, size_t len)
{
    r->p = src;
    r->end = src + len;
    r->overrun = 0;
}
static inline size_t cnnz__byter_left(const struct cnnz__byter *r)
{
    return (size_t)(r->end - r->p);
}
static inline unsigned cnnz__byter_u8(struct cnnz__byter *r)
{
    if (r->p < r->end)
        return *r->p++;
    r->overrun = 1;
    return 0;
}
static inline unsigned cnnz__byter_u16(struct cnnz__byter *r)
{
    if (r->end - r->p >= 2) {
        unsigned v = cnnz__le16(r->p);
        r->p += 2;
        return v;
    }
    r->p = r->end;
    r->overrun = 1;
    return 0;
}
static inline uint32_t cnnz__byter_u32(struct cnnz__byter *r)
{
    if (r->end - r->p >= 4) {
        uint32_t v = cnnz__le32(r->p);
        r->p += 4;
        return v;
    }
    r->p = r->end;
    r->overrun = 1;
    return 0;
}
/* Unsigned LEB128 (7 bits a byte, low group first), at most 10 bytes; values
 * that do not fit 64 bits or use a non-minimal final zero byte set overrun. */
static inline uint64_t cnnz__byter_varint(struct cnnz__byter *r)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        unsigned c = cnnz__byter_u8(r);
        if (i == 9 && c > 1) {
            r->overrun = 1;
            return 0;
        }
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            if (i && c == 0)
                r->overrun = 1; /* non-minimal */
            return v;
        }
    }
    r->overrun = 1;
    return 0;
}
/* Writer side of the varint: appends to a buffer. */
static inline int cnnz__buf_varint(struct cnnz__buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            t[n] |= 0x80;
        n++;
    } while (v);
    return cnnz__buf_append(b, t, n);
}

#endif
