/* Constants and parsed structures of the .cnnz container (spec sections 3-5). */
#ifndef CNNZ_FORMAT_H
#define CNNZ_FORMAT_H

#include <stdatomic.h>

#include "common.h"

#define CNNZ__HEADER_SIZE 64u
#define CNNZ__SECTION_HEADER_SIZE 16u
#define CNNZ__TRAILER_SIZE 32u
#define CNNZ__SECTION_ALIGN 8u
#define CNNZ__SECTION_ENTRY_SIZE 24u
#define CNNZ__TDIR_FIXED 16u  /* counts + reserved before the section table */
#define CNNZ__CHECKSUM_SIZE 8u
#define CNNZ__MIN_FILE (CNNZ__HEADER_SIZE + CNNZ__SECTION_HEADER_SIZE + CNNZ__TDIR_FIXED + \
                        CNNZ__CHECKSUM_SIZE + CNNZ__TRAILER_SIZE)
/* Smallest encodings, used to bound counts by the bytes that must hold them. */
/* name_shared 1, suffix_length 1, dtype..stream_count 4, section_index 1,
 * decoded_xxh64 8, repr_params_length 1 (rank 0, empty suffix) */
#define CNNZ__TENSOR_ENTRY_MIN 16u
/* role, coder, version, then three one-byte varints */
#define CNNZ__STREAM_ENTRY_MIN 6u
#define CNNZ__META_ENTRY_MIN 8u /* key_length 2 + type, reserved, value_length 6 */

#define CNNZ__SECTION_FLAG_CRITICAL 1u

/* spec 5.3.1: a stream decodes to at most 2^20 x coded_length + 2^16 bytes,
 * so work and memory stay proportional to the bytes a file really has. */
static inline int cnnz__expansion_ok(uint64_t decoded, uint64_t coded)
{
    return coded >= (UINT64_MAX - 65536) >> 20 || decoded <= (coded << 20) + 65536;
}

extern const uint8_t cnnz__signature[8];
extern const uint8_t cnnz__end_signature[8];

/* Tags as the u32 read little-endian from the 4 tag bytes. */
#define CNNZ__TAG(a, b, c, d) ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define CNNZ__TAG_TDAT CNNZ__TAG('T', 'D', 'A', 'T')
#define CNNZ__TAG_META CNNZ__TAG('M', 'E', 'T', 'A')
#define CNNZ__TAG_TDIR CNNZ__TAG('T', 'D', 'I', 'R')

struct cnnz__section {
    uint64_t offset;
    uint64_t body_length;
    uint32_t tag;
    uint32_t flags;
    uint32_t first; /* TDAT: its run of tensors, first .. first + count - 1 (spec 5.1) */
    uint32_t count;
    uint64_t data_end; /* TDAT: end of its last stream (spec 4), while parsing */
    /* 1 once cnnz__tdat_check has passed. The bytes may not change while
     * the reader is open, so a section shared by many small tensors is
     * hashed once, not once per tensor decoded. Set by any thread; a race
     * only hashes twice. */
    atomic_uchar checked;
};

/* One parsed tensor entry. info's pointers point into the reader's arrays. */
struct cnnz__tensor {
    struct cnnz_tensor_info info;
    uint32_t section;
};

/* A parsed metadata entry. */
struct cnnz__meta {
    struct cnnz_meta m;
};

/* Section header (spec 3.2). */
static inline void cnnz__section_header_put(uint8_t *p, uint32_t tag, uint32_t flags, uint64_t len)
{
    cnnz__put32(p, tag);
    cnnz__put32(p + 4, flags);
    cnnz__put64(p + 8, len);
}

#endif
