/*
 * safetensors.h - Hugging Face .safetensors files: parse one from memory,
 * write one to a sink.
 *
 * Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON (an
 * object), then the byte buffer. Each key of the object except
 * "__metadata__" names a tensor and maps to
 *     {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}
 * with begin/end relative to the start of the byte buffer and end - begin ==
 * prod(shape) * itemsize. "__metadata__", when present, is an object of
 * string values (null is read as absent). Data is little-endian, C order.
 *
 * What safetensors_parse() checks, all of it before any tensor is returned:
 *  - N <= 100,000,000 (the format's limit) and the caller's limit; 8 + N
 *    within the file; the header starts with '{'; it is valid UTF-8 JSON
 *    with no duplicate keys, no NUL in strings, and only whitespace after
 *    the object (the writer's space padding);
 *  - every tensor name non-empty; every entry an object with a known dtype
 *    string, a shape of non-negative integers, and data_offsets of two
 *    non-negative integers begin <= end; the element count and byte size do
 *    not overflow 64 bits and end - begin is exactly the byte size;
 *  - sorted by (begin, end) the ranges tile the byte buffer: the first starts
 *    at 0, each starts where the previous ended (no holes, no overlaps) and
 *    the last ends at the end of the file (no trailing bytes);
 *  - bool data is all 0 and 1 bytes.
 * Keys of a tensor entry other than these three are ignored, as the
 * reference implementation does.
 *
 * dtypes and the cnnz dtype each maps to:
 *   F64 f64, F32 f32, F16 f16, BF16 bf16, I64 i64, I32 i32, I16 i16, I8 i8,
 *   U64 u64, U32 u32, U16 u16, U8 u8, BOOL bool.
 * The other dtypes of the format (F8_E4M3, F8_E5M2, F8_E8M0, F6_E2M3,
 * F6_E3M2, F4, C64) are well-formed but unsupported: their layout is checked
 * like any other, and then the parse fails with FMT_E_UNSUPPORTED naming the
 * tensor, or, with skip_unsupported, the tensor is listed in skipped[]. So
 * are a rank above CNNZ_MAX_RANK and a name longer than CNNZ_MAX_NAME_BYTES.
 * An unknown dtype string is FMT_E_INVALID.
 *
 * Caller limits (struct safetensors_options) only tighten the defaults; going
 * over one gives FMT_E_UNSUPPORTED with a message that names the limit.
 *
 * The parser never prints, holds no global state and is thread-safe.
 */
#ifndef CNNZ_TOOLS_SAFETENSORS_H
#define CNNZ_TOOLS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "cnnz.h"
#include "fmt.h"

/* The format's header limit (the reference implementation's MAX_HEADER_SIZE). */
#define SAFETENSORS_MAX_HEADER_BYTES UINT64_C(100000000)

struct safetensors_tensor {
    const char *name;             /* NUL-terminated UTF-8, non-empty, no NUL inside */
    size_t name_len;              /* bytes, without the NUL */
    int dtype;                    /* enum cnnz_dtype */
    unsigned rank;                /* 0 ..= CNNZ_MAX_RANK */
    uint64_t dims[CNNZ_MAX_RANK]; /* rank entries, row-major */
    uint64_t elements;            /* product of dims (1 for rank 0) */
    const unsigned char *data;    /* little-endian, C order; may be unaligned */
    size_t data_bytes;            /* elements * cnnz_dtype_size(dtype) */
};

/* A well-formed tensor that cnnz cannot take (skip_unsupported only). */
struct safetensors_skipped {
    const char *name;   /* NUL-terminated */
    const char *reason; /* "dtype F8_E4M3", "rank 40 above 32", ... */
};

/* One "__metadata__" entry. */
struct safetensors_meta {
    const char *key;   /* NUL-terminated UTF-8 (JSON forbids NUL here) */
    const char *value; /* NUL-terminated UTF-8 */
};

struct safetensors_options {
    int skip_unsupported;      /* list unsupported tensors in skipped[] instead of failing */
    uint64_t max_header_bytes; /* 0 or above the format limit: SAFETENSORS_MAX_HEADER_BYTES */
    size_t max_tensors;        /* 0 or above CNNZ_MAX_TENSORS: CNNZ_MAX_TENSORS */
};

struct safetensors_file {
    size_t count;
    struct safetensors_tensor *tensors; /* in data order (by begin offset) */
    size_t skipped_count;
    struct safetensors_skipped *skipped;
    size_t meta_count;
    struct safetensors_meta *meta; /* sorted by key (bytewise) */
    uint64_t header_bytes;         /* N */
};

/* Parse the .safetensors image buf[0..size). On success *out is a new
 * safetensors_file (free with safetensors_free()); tensor data borrows buf,
 * which must outlive it; names, metadata and skipped[] are owned by *out.
 * On failure *out is NULL and FMT_E_INVALID, FMT_E_UNSUPPORTED or
 * FMT_E_NOMEM is returned with a one-line message in err. opts may be NULL.
 * Safe on any input. */
int safetensors_parse(const void *buf, size_t size, const struct safetensors_options *opts,
                      struct safetensors_file **out, char *err, size_t err_size);

/* Free a parsed file (NULL is fine). */
void safetensors_free(struct safetensors_file *f);

/* The format's dtype string for a cnnz dtype ("F32"), NULL when unknown. */
const char *safetensors_dtype_name(int dtype);

/* Output sink: write all n bytes and return 0, or return non-zero. */
typedef int (*safetensors_write_fn)(void *opaque, const void *buf, size_t n);

/* Write a .safetensors file of tensors[0..count) and meta[0..meta_count)
 * (meta may be NULL when meta_count is 0). Of each tensor, name (name_len 0:
 * strlen), dtype, rank, dims, data and data_bytes are used; elements is
 * ignored. The JSON header lists "__metadata__" (when meta_count > 0) and
 * the tensors with keys in sorted (bytewise) order, compact, with the data
 * in that same order; it is padded with spaces to a multiple of 8 bytes, as
 * the reference implementation does. The output is deterministic.
 * Checks before writing anything: names non-empty, valid UTF-8 without NUL
 * and unique, not "__metadata__"; metadata keys and values valid UTF-8
 * without NUL, keys unique; known dtype; rank <= CNNZ_MAX_RANK; every dim
 * <= INT64_MAX; data_bytes == prod(dims) * itemsize; bool data 0/1.
 * Returns FMT_OK, FMT_E_INVALID (bad input, message in err), FMT_E_NOMEM,
 * or FMT_E_IO when write fails. Thread-safe. */
int safetensors_write(const struct safetensors_tensor *tensors, size_t count,
                      const struct safetensors_meta *meta, size_t meta_count,
                      safetensors_write_fn write, void *opaque, char *err, size_t err_size);

#endif /* CNNZ_TOOLS_SAFETENSORS_H */
