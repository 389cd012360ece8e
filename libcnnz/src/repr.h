/* The representation registry (spec 6): which streams a tensor has and how
 * the decoded tensor is rebuilt from them. Adding one is repr_NAME.c plus one
 * line in repr.c. */
#ifndef CNNZ_REPR_H
#define CNNZ_REPR_H

#include "common.h"

#define CNNZ__MAX_REPR_PARAMS 24u

struct cnnz__repr {
    uint8_t id;
    const char *name;
    uint8_t stream_count;
    uint16_t params_len;
    /* Parse params into ti (symbol_dtype, scale, offset) and validate them
     * against ti->dtype. reserved_ok: reserved bytes may be non-zero (newer minor). */
    int (*read)(struct cnnz_tensor_info *ti, const uint8_t *params, int reserved_ok);
    /* Serialize ti's params (already validated by read's rules via check). */
    void (*write)(const struct cnnz_tensor_info *ti, uint8_t *params);
    /* Validate ti's dtype and params (shared by read and the writer). */
    int (*check)(const struct cnnz_tensor_info *ti);
    /* Role and decoded length of stream k (< stream_count); non-zero on overflow. */
    int (*stream)(const struct cnnz_tensor_info *ti, unsigned k, uint8_t *role,
                  uint64_t *decoded_len);
    /* Rebuild elements [first, first + count) into dst (count elements of
     * ti->dtype) from the decoded streams. CNNZ_E_CORRUPT on invalid data. */
    int (*rebuild)(const struct cnnz_tensor_info *ti, const uint8_t *const *streams, uint64_t first,
                   size_t count, uint8_t *dst);
};

CNNZ__INTERNAL const struct cnnz__repr *cnnz__repr_get(unsigned id);

extern const struct cnnz__repr cnnz__repr_plain;
extern const struct cnnz__repr cnnz__repr_affine;
extern const struct cnnz__repr cnnz__repr_widen;

/* Shared by representations whose parameter block is symbol_dtype + 7 reserved. */
CNNZ__INTERNAL int cnnz__reserved_zero(const uint8_t *p, size_t n);

#endif
