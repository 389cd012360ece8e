/* The representation registry (spec 6): which streams a tensor has and how
 * the decoded tensor is rebuilt from them. Adding one is repr_NAME.c plus one
 * line in repr.c. */
#ifndef CNNZ_REPR_H
#define CNNZ_REPR_H

#include "common.h"

#define CNNZ__MAX_REPR_PARAMS 24u

/* Where a sequential rebuild stopped, so that rebuilding a tensor chunk by
 * chunk in order stays linear (sparse representations must scan). Zero it
 * before the first call; a representation that does not need it ignores it. */
struct cnnz__cursor {
    uint64_t next;  /* first element the cursor is positioned at */
    uint64_t block; /* sHAM: current block */
    uint64_t pos;   /* sHAM: element index in the block of the next stored value */
    uint64_t run;   /* sHAM: bytes of the runs stream consumed */
    uint64_t sym;   /* sHAM: symbols consumed */
    int pending;    /* sHAM: pos is the position of the next value, its run already read */
    int valid;
};

struct cnnz__split;

/* The decoded streams of a tensor: data and length of each. */
struct cnnz__streams {
    const uint8_t *const *data;
    const uint64_t *len;
};

struct cnnz__repr {
    uint8_t id;
    const char *name;
    uint16_t params_len;
    /* Parse params into ti and validate them against ti's dtype and shape.
     * reserved_ok: reserved bytes may be non-zero (newer minor). */
    int (*read)(struct cnnz_tensor_info *ti, const uint8_t *params, int reserved_ok);
    /* Serialize ti's params (validated by check). */
    void (*write)(const struct cnnz_tensor_info *ti, uint8_t *params);
    /* Validate ti's dtype and params (shared by read and the writer). */
    int (*check)(const struct cnnz_tensor_info *ti);
    /* Number of streams the tensor must have (ti validated by check). */
    unsigned (*count)(const struct cnnz_tensor_info *ti);
    /* Role of stream k, and its decoded length: exactly *len when *unit is 0,
     * else any multiple of *unit not above *len (data-defined lengths, checked
     * against each other by rebuild). Non-zero on overflow. */
    int (*stream)(const struct cnnz_tensor_info *ti, unsigned k, uint8_t *role, uint64_t *len,
                  uint64_t *unit);
    /* Rebuild elements [first, first + count) into dst (count elements of
     * ti->dtype) from the decoded streams. CNNZ_E_CORRUPT on invalid data. */
    int (*rebuild)(const struct cnnz_tensor_info *ti, const struct cnnz__streams *s,
                   struct cnnz__cursor *cur, uint64_t first, size_t count, uint8_t *dst);
    /* Encoder side: the streams for the writer's input (data, size as
     * cnnz_writer_add_tensor documents; codebook for HAM/sHAM). The input must
     * stay valid while sp is used. CNNZ_E_INPUT when it cannot be represented. */
    int (*split)(const struct cnnz__alloc *a, const struct cnnz_tensor_info *ti, const uint8_t *data,
                 size_t size, const uint8_t *codebook, struct cnnz__split *sp);
};

/* Encoder side (the writer): the decoded streams of a tensor, made from the
 * writer's input by the representation's split. */
struct cnnz__split {
    unsigned n;
    uint8_t role[255];
    const uint8_t *data[255]; /* into the caller's input, or owned[k] */
    uint64_t len[255];
    uint8_t *owned[255];      /* freed by cnnz__split_free */
};
CNNZ__INTERNAL void cnnz__split_free(const struct cnnz__alloc *a, struct cnnz__split *sp);

CNNZ__INTERNAL const struct cnnz__repr *cnnz__repr_get(unsigned id);

extern const struct cnnz__repr cnnz__repr_plain;
extern const struct cnnz__repr cnnz__repr_affine;
extern const struct cnnz__repr cnnz__repr_widen;
extern const struct cnnz__repr cnnz__repr_planes;
extern const struct cnnz__repr cnnz__repr_ham;
extern const struct cnnz__repr cnnz__repr_sham;

/* One stream for representations with a fixed single stream. */
CNNZ__INTERNAL unsigned cnnz__repr_one(const struct cnnz_tensor_info *ti);
CNNZ__INTERNAL int cnnz__split_one(const struct cnnz__alloc *a, const struct cnnz_tensor_info *ti,
                                   const uint8_t *data, size_t size, const uint8_t *codebook,
                                   struct cnnz__split *sp);

/* Codebook parameters and lookups shared by ham and sham (spec 6.6). */
CNNZ__INTERNAL int cnnz__codebook_check(const struct cnnz_tensor_info *ti);
CNNZ__INTERNAL int cnnz__codebook_read(struct cnnz_tensor_info *ti, const uint8_t *p,
                                       int reserved_ok);
CNNZ__INTERNAL void cnnz__codebook_write(const struct cnnz_tensor_info *ti, uint8_t *p);
/* 1 when an entry (es bytes) is all zero bytes: sHAM leaves such elements
 * unstored (spec 6.7), so +0.0 is "zero" and -0.0 is not. */
CNNZ__INTERNAL int cnnz__entry_is_zero(const uint8_t *e, size_t es);
/* Index of the first all-zero entry, or codebook_size when there is none. */
CNNZ__INTERNAL uint32_t cnnz__codebook_first_zero(const struct cnnz_tensor_info *ti,
                                                  const uint8_t *codebook);
CNNZ__INTERNAL int cnnz__codebook_put(const struct cnnz_tensor_info *ti, const uint8_t *codebook,
                                      unsigned sym, uint8_t *dst, size_t es);

/* sHAM: the symbols of the stored elements into dst (elements symbols of
 * symbol_dtype), leaving the other elements as the caller filled them. */
CNNZ__INTERNAL int cnnz__sham_indices(const struct cnnz_tensor_info *ti,
                                      const struct cnnz__streams *ss, uint8_t *dst);

/* sHAM geometry (spec 6.7): elements in a full block (block_rows rows) and
 * the number of blocks; ti validated by check. */
CNNZ__INTERNAL void cnnz__sham_geom(const struct cnnz_tensor_info *ti, uint64_t *stride,
                                    uint64_t *blocks);
/* spec 6.7: the zero run before the next stored element of a block, from
 * runs[*at] on (bytes of 255 continue a run). room: the block's elements
 * from the position of that run on; the element after the run must be one
 * of them. CNNZ_E_CORRUPT when the runs end inside the run or it does not
 * fit. Shared by the rebuild and the matrix products. */
static inline int cnnz__sham_run(const uint8_t *runs, uint64_t len, uint64_t *at, uint64_t room,
                                 uint64_t *run)
{
    uint64_t r = 0;
    for (;;) {
        if (*at >= len)
            return CNNZ_E_CORRUPT;
        unsigned v = runs[(*at)++];
        r += v;
        if (r >= room) /* the element would fall outside the block */
            return CNNZ_E_CORRUPT;
        if (v < 255)
            break;
    }
    *run = r;
    return CNNZ_OK;
}

/* affine (spec 6.3) for u8 symbols: the f32 value of every symbol. */
CNNZ__INTERNAL void cnnz__affine_lut(const struct cnnz_tensor_info *ti, float lut[256]);

/* Shared by representations whose parameter block is symbol_dtype + 7 reserved. */
CNNZ__INTERNAL int cnnz__reserved_zero(const uint8_t *p, size_t n);

#endif
