/* The coder registry (spec 7). A coder turns one stream's decoded bytes into
 * coded bytes and back; it owns no lengths or checksums (the directory does).
 * Adding a coder is one new coder_NAME.c plus one line in coder.c. */
#ifndef CNNZ_CODER_H
#define CNNZ_CODER_H

#include "common.h"

/* What an encoder is told about its input. The container stores none of it:
 * a coder records what its decoder needs in its own params (spec 7). */
struct cnnz__symfmt {
    unsigned width; /* bytes per symbol, little-endian: 1, 2 or 4 */
    uint64_t row;   /* symbols per innermost row (the last dimension); 0: not a tensor grid */
    uint64_t group; /* symbols per outermost slice (elements / dims[0]); 0: none */
};

struct cnnz__coder {
    uint8_t id;
    const char *name;
    uint8_t version;     /* the newest version this library reads and writes */
    /* Validate params and lengths from a stream entry (version <= .version).
     * CNNZ_E_CODER when they break a rule of the coder's spec section. */
    int (*check)(unsigned version, const uint8_t *params, size_t params_len, uint64_t coded_len,
                 uint64_t decoded_len);
    /* Decode exactly dst_len bytes from src_len coded bytes (check has passed).
     * Never reads outside src or writes outside dst; CNNZ_E_CORRUPT for coded
     * bytes the spec rejects, CNNZ_E_NOMEM when a scratch allocation fails.
     * Reentrant: all state is on the stack or allocated from a. */
    int (*decode)(const struct cnnz__alloc *a, unsigned version, const uint8_t *params,
                  size_t params_len, const uint8_t *src, size_t src_len, uint8_t *dst,
                  size_t dst_len);
    /* Encode src (src_len a multiple of fmt->width). Sets *coded (which may be
     * src itself: nothing copied) and appends its params to params_out. Coded
     * bytes that are not src are appended to out. Deterministic.
     * CNNZ_E_UNSUPPORTED when the coder cannot code this input (e.g. a width it
     * does not model); the writer then uses another coder. */
    int (*encode)(const struct cnnz__alloc *a, const struct cnnz__symfmt *fmt, const uint8_t *src,
                  size_t src_len, struct cnnz__buf *out, const uint8_t **coded, size_t *coded_len,
                  struct cnnz__buf *params_out);
    /* 1 when decoded bytes equal coded bytes, so a reader may use them in place. */
    uint8_t identity;
    /* Incremental decoding, optional (NULL: cnnz__cstream decodes the whole
     * stream into a buffer instead). begin: what .decode does before its
     * first symbol (params, tables), state allocated from a. next: the next
     * n decoded bytes (n a multiple of the symbol width, at most the bytes
     * left) into dst; the call that produces the last byte also makes the
     * end-of-stream checks. Bytes and error are those of .decode: a corrupt
     * stream fails with the same error, at the latest on that last call.
     * end: free the state (after an error too). */
    int (*stream_begin)(const struct cnnz__alloc *a, unsigned version, const uint8_t *params,
                        size_t params_len, const uint8_t *src, size_t src_len, size_t dst_len,
                        void **state);
    int (*stream_next)(void *state, uint8_t *dst, size_t n);
    void (*stream_end)(const struct cnnz__alloc *a, void *state);
};

/* A stream being decoded in order, a few bytes at a time (matvec.c,
 * decoder.c): with the coder's incremental decoder, in place for identity
 * coders, else from the whole stream decoded at begin (memory O(stream)). */
struct cnnz__cstream {
    const struct cnnz__coder *cd;
    const struct cnnz__alloc *a;
    const uint8_t *src; /* identity: the bytes themselves */
    uint64_t left;      /* decoded bytes not yet produced */
    size_t at;          /* identity and whole: bytes produced */
    uint8_t *whole;     /* no incremental decoder: the decoded stream */
    void *state;        /* the coder's */
    int err;            /* sticky */
};
CNNZ__INTERNAL int cnnz__cstream_begin(struct cnnz__cstream *s, const struct cnnz__alloc *a,
                                       const struct cnnz__coder *cd, unsigned version,
                                       const uint8_t *params, size_t params_len,
                                       const uint8_t *src, size_t src_len, uint64_t dst_len);
/* The next n bytes (n <= s->left): a pointer into the coded bytes for an
 * identity coder or the whole buffer, else scratch (n bytes) after decoding
 * into it. NULL and *err set on failure (and on every later call). */
CNNZ__INTERNAL const uint8_t *cnnz__cstream_next(struct cnnz__cstream *s, uint8_t *scratch,
                                                 size_t n, int *err);
/* Free what begin allocated; safe on a zeroed or failed stream. */
CNNZ__INTERNAL void cnnz__cstream_end(struct cnnz__cstream *s);

/* File alignment of a stream's coded bytes (spec 4): stored (identity)
 * streams start where a memory map can use them in place, on 8 bytes, or 64
 * when they are large enough for the padding not to matter; coded ones
 * anywhere. */
static inline uint64_t cnnz__stream_align(const struct cnnz__coder *cd, uint64_t coded_len)
{
    if (!cd->identity)
        return 1;
    return coded_len >= 1024 ? 64 : 8;
}

/* The distinct symbols of a stream of n 16-bit symbols (little-endian at
 * src), for an encoder that would otherwise count into tables of all 65536
 * values: worth it below CNNZ__DENSE16_BELOW symbols, where clearing and
 * scanning such tables would cost more than the stream (dense16.c). sym
 * holds the k distinct symbols in increasing order, cnt their counts, and
 * idx symbol i's index in sym (n little-endian u16: the stream with its
 * symbols renumbered 0 .. k - 1, in the same order). One allocation from
 * a, 12 bytes a symbol; CNNZ_E_ARG above CNNZ__DENSE16_MAX symbols. */
#define CNNZ__DENSE16_BELOW 16384u
#define CNNZ__DENSE16_MAX 65536u
struct cnnz__dense16 {
    uint16_t *sym;
    uint32_t *cnt;
    uint8_t *idx;
    uint32_t k;
    void *mem;
};
CNNZ__INTERNAL int cnnz__dense16_build(const struct cnnz__alloc *a, const uint8_t *src, size_t n,
                                       struct cnnz__dense16 *d);
/* Safe on a zeroed or failed one. */
CNNZ__INTERNAL void cnnz__dense16_free(const struct cnnz__alloc *a, struct cnnz__dense16 *d);

/* The registry in id order: for i < cnnz__coder_count(). */
CNNZ__INTERNAL unsigned cnnz__coder_count(void);
CNNZ__INTERNAL const struct cnnz__coder *cnnz__coder_at(unsigned i);

/* NULL when id is unknown. */
CNNZ__INTERNAL const struct cnnz__coder *cnnz__coder_get(unsigned id);

extern const struct cnnz__coder cnnz__coder_raw;
extern const struct cnnz__coder cnnz__coder_huffman;
extern const struct cnnz__coder cnnz__coder_rans;
extern const struct cnnz__coder cnnz__coder_cabac;

#endif
