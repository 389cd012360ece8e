/* The coder registry (spec 7). A coder turns one stream's decoded bytes into
 * coded bytes and back; it owns no lengths or checksums (the directory does).
 * Adding a coder is one new coder_NAME.c plus one line in coder.c. */
#ifndef CNNZ_CODER_H
#define CNNZ_CODER_H

#include "common.h"

struct cnnz__coder {
    uint8_t id;
    const char *name;
    uint8_t version;     /* the newest version this library reads and writes */
    uint8_t align;       /* file alignment of its streams (spec 4) */
    /* Validate params and lengths from a stream entry (version <= .version). */
    int (*check)(unsigned version, const uint8_t *params, size_t params_len, uint64_t coded_len,
                 uint64_t decoded_len);
    /* Decode exactly dst_len bytes. Never reads outside src or writes outside dst. */
    int (*decode)(unsigned version, const uint8_t *params, size_t params_len, const uint8_t *src,
                  size_t src_len, uint8_t *dst, size_t dst_len);
    /* Encode src. Sets *coded (which may be src itself: nothing copied) and
     * appends any params to params_out. Coded bytes that are not src live in out. */
    int (*encode)(const uint8_t *src, size_t src_len, struct cnnz__buf *out,
                  const uint8_t **coded, size_t *coded_len, struct cnnz__buf *params_out);
    /* 1 when decoded bytes equal coded bytes, so a reader may use them in place. */
    uint8_t identity;
};

/* NULL when id is unknown. */
CNNZ__INTERNAL const struct cnnz__coder *cnnz__coder_get(unsigned id);

extern const struct cnnz__coder cnnz__coder_raw;

#endif
