/*
 * cnnz.h - the public interface of libcnnz, the reference codec for the
 * .cnnz compressed neural-network weight format (spec/cnnz-format.md).
 *
 * Conventions that hold for every function below:
 *  - Functions that can fail return an int: 0 (CNNZ_OK) on success or a
 *    positive CNNZ_E_* value. Sizes and handles come back through out-parameters.
 *    cnnz_strerror() gives a message, cnnz_error_token() the stable token
 *    ("CNNZ_E_CHECKSUM") used by the spec and the conformance suite.
 *  - Every count, length and offset read from a file is validated against the
 *    bytes present, the format's limits and the caller's cnnz_limits before it
 *    is used; hostile input yields an error, never out-of-bounds access or an
 *    allocation larger than the limits allow.
 *  - The library holds no global mutable state. All memory it allocates goes
 *    through the caller's cnnz_allocator (or malloc/free when none is given).
 *  - A cnnz_reader is immutable after cnnz_reader_open_*() returns: any number
 *    of threads may call the const cnnz_reader functions on it concurrently.
 *    A cnnz_writer is used by one thread at a time.
 *  - All multi-byte values in files and in decoded tensors are little-endian;
 *    decoded tensors are in C (row-major) order.
 */
#ifndef CNNZ_H
#define CNNZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(CNNZ_STATIC_ONLY)
#define CNNZ_API __attribute__((visibility("default")))
#else
#define CNNZ_API
#endif

/* Library version (not the format version). */
#define CNNZ_LIB_VERSION_MAJOR 0
#define CNNZ_LIB_VERSION_MINOR 1
#define CNNZ_LIB_VERSION_PATCH 0
#define CNNZ_LIB_VERSION_STRING "0.1.0"

/* The newest format version this library reads and the one it writes
 * (spec section 2: a newer minor is read, a newer major is rejected). */
#define CNNZ_FORMAT_MAJOR 1
#define CNNZ_FORMAT_MINOR 0

/* ---------------------------------------------------------------- errors */

/* X(name, value, message). Values are pinned once released: append only. */
#define CNNZ_ERROR_LIST(X)                                                              \
    X(OK, 0, "success")                                                                 \
    X(ARG, 1, "invalid argument")                                                       \
    X(NOMEM, 2, "out of memory")                                                        \
    X(IO, 3, "input/output error")                                                      \
    X(SIGNATURE, 4, "not a .cnnz file (bad signature)")                                 \
    X(VERSION, 5, "unsupported format major version")                                   \
    X(TRUNCATED, 6, "file is truncated")                                                \
    X(CHECKSUM, 7, "checksum mismatch")                                                 \
    X(RESERVED, 8, "reserved field, bit or padding is not zero")                        \
    X(LAYOUT, 9, "sections or streams overlap, leave holes, or bytes trail the file")   \
    X(SECTION, 10, "unknown critical section, or a section where it may not be")        \
    X(DTYPE, 11, "unknown or invalid element type")                                     \
    X(SHAPE, 12, "invalid rank or dimensions (element count overflows)")                \
    X(NAME, 13, "invalid tensor name or metadata key (empty, not UTF-8, or has NUL)")   \
    X(DUPLICATE, 14, "duplicate tensor name or metadata key")                           \
    X(REPR, 15, "unknown representation or invalid representation parameters")         \
    X(CODER, 16, "unknown coder, coder version, or invalid coder parameters")           \
    X(STREAM, 17, "stream table does not match the representation")                     \
    X(CORRUPT, 18, "coded stream is corrupt")                                           \
    X(METADATA, 19, "invalid metadata entry")                                           \
    X(LIMIT, 20, "exceeds a limit set by the caller")                                   \
    X(FORMAT_LIMIT, 21, "exceeds a limit of the format")                                \
    X(BUFFER, 22, "destination buffer too small")                                       \
    X(NOTFOUND, 23, "no such tensor or metadata key")                                   \
    X(STATE, 24, "call not valid in the object's current state")                        \
    X(INPUT, 25, "invalid input data")                                                  \
    X(UNSUPPORTED, 26, "not supported for this tensor or reader")

enum cnnz_error {
#define CNNZ_X_ENUM(name, value, msg) CNNZ_E_##name = value,
    CNNZ_ERROR_LIST(CNNZ_X_ENUM)
#undef CNNZ_X_ENUM
    CNNZ_E__COUNT,
    CNNZ_OK = CNNZ_E_OK
};

/* Human-readable message; never NULL (unknown values give a generic text). */
CNNZ_API const char *cnnz_strerror(int err);
/* Stable token such as "CNNZ_E_CHECKSUM"; "CNNZ_E_UNKNOWN" for unknown values. */
CNNZ_API const char *cnnz_error_token(int err);

/* Where a failure was found, filled by the functions that take one (may be
 * NULL). tensor/stream are -1 when not applicable; offset is a byte offset in
 * the file or -1. what names the structure ("header", "directory", "stream"). */
struct cnnz_where {
    int err;
    int64_t tensor;
    int32_t stream;
    int64_t offset;
    const char *what; /* static string, never NULL after a failure */
};

/* "tensor 3 ('conv1/w'), stream 0: checksum mismatch at offset 4096" style
 * text into buf (always NUL-terminated when size > 0). reader may be NULL. */
struct cnnz_reader;
CNNZ_API void cnnz_where_format(const struct cnnz_reader *reader, const struct cnnz_where *where,
                                char *buf, size_t size);

/* ---------------------------------------------------- element types (spec 5.2) */

enum cnnz_dtype {
    CNNZ_DT_F32 = 1,
    CNNZ_DT_F16 = 2,
    CNNZ_DT_BF16 = 3,
    CNNZ_DT_F64 = 4,
    CNNZ_DT_I8 = 5,
    CNNZ_DT_U8 = 6,
    CNNZ_DT_I16 = 7,
    CNNZ_DT_U16 = 8,
    CNNZ_DT_I32 = 9,
    CNNZ_DT_U32 = 10,
    CNNZ_DT_I64 = 11,
    CNNZ_DT_U64 = 12,
    CNNZ_DT_BOOL = 13
};
/* Bytes per element (0 for an unknown dtype). */
CNNZ_API size_t cnnz_dtype_size(int dtype);
/* Short name ("f32", "bf16", "bool"); NULL for an unknown dtype. */
CNNZ_API const char *cnnz_dtype_name(int dtype);
/* dtype for a short name, or 0 when unknown. */
CNNZ_API int cnnz_dtype_from_name(const char *name);

/* ------------------------------------------- representations (spec 6) */

enum cnnz_repr {
    CNNZ_REPR_PLAIN = 0,  /* one stream of elements in the tensor's dtype */
    CNNZ_REPR_AFFINE = 1, /* u8/u16 symbols q; f32 value = (f32)(q*scale + offset) */
    CNNZ_REPR_WIDEN = 2,  /* f16/bf16 values, widened exactly to the f32 tensor */
    CNNZ_REPR_PLANES = 3, /* 4- and 8-byte elements split into a u16 high part + byte planes */
    CNNZ_REPR_HAM = 4,    /* codebook + one index per element (the paper's HAM) */
    CNNZ_REPR_SHAM = 5    /* codebook + per row block: zero runs and non-zero indices (sHAM) */
};
CNNZ_API const char *cnnz_repr_name(int repr); /* NULL when unknown */

/* Stream roles (spec 6.1). */
enum cnnz_role {
    CNNZ_ROLE_VALUES = 0,   /* elements, little-endian */
    CNNZ_ROLE_SYMBOLS = 1,  /* integer symbols (u8/u16), little-endian */
    CNNZ_ROLE_HIGH = 2,     /* PLANES: the top two bytes of each element, u16 */
    CNNZ_ROLE_PLANE = 3,    /* PLANES: one byte of each element */
    CNNZ_ROLE_CODEBOOK = 4, /* HAM, SHAM: codebook entries in the tensor's dtype */
    CNNZ_ROLE_RUNS = 5      /* SHAM: zero-run lengths before each stored element */
};
CNNZ_API const char *cnnz_role_name(int role);

/* ----------------------------------------------------- coders (spec 7) */

/* CNNZ_CODER_AUTO in cnnz_tensor_desc.coder: the writer picks, per tensor,
 * the smallest of the lossless layouts it knows (PLAIN may be stored as
 * PLANES, HAM as SHAM) and per stream the smallest coder. Deterministic. */
#define CNNZ_CODER_AUTO (-1)
enum cnnz_coder {
    CNNZ_CODER_RAW = 0,     /* the bytes as they are (spec 7.1) */
    CNNZ_CODER_HUFFMAN = 1, /* canonical length-limited Huffman, interleaved streams (7.2) */
    CNNZ_CODER_RANS = 2,    /* static order-0 rANS, interleaved lanes (7.3) */
    CNNZ_CODER_CABAC = 3    /* context-adaptive binary arithmetic coding (7.4) */
};
CNNZ_API const char *cnnz_coder_name(int coder); /* NULL when unknown */
/* coder id for a name, or -1 when unknown. */
CNNZ_API int cnnz_coder_from_name(const char *name);

/* --------------------------------------------------------------- limits */

/* Format limits (spec 8). Files beyond them are invalid for every decoder. */
#define CNNZ_MAX_NAME_BYTES 4096u
#define CNNZ_MAX_RANK 32u
#define CNNZ_MAX_TENSORS (1u << 24)
#define CNNZ_MAX_META_ENTRIES 65535u
#define CNNZ_MAX_TENSOR_BYTES (UINT64_C(1) << 56)

/* Caller limits: start from cnnz_limits_default() (which equals the format
 * limits and 1 GiB for the directory and metadata) and only tighten. A value
 * larger than the default is treated as the default. Exceeding a caller limit
 * gives CNNZ_E_LIMIT; exceeding a format limit gives CNNZ_E_FORMAT_LIMIT. */
struct cnnz_limits {
    uint32_t max_tensors;
    uint32_t max_name_bytes;
    uint32_t max_rank;
    uint32_t max_meta_entries;
    /* The TDIR body; and, on its own, the sum over tensors of the expanded
     * name length + 1 (shared prefixes let names outgrow the body, 5.3). */
    uint64_t max_directory_bytes;
    uint64_t max_metadata_bytes;  /* META body */
    uint64_t max_tensor_bytes;    /* decoded bytes of one tensor */
    uint64_t max_stream_bytes;    /* decoded bytes of one stream */
};
CNNZ_API void cnnz_limits_default(struct cnnz_limits *limits);

/* Allocation hooks. alloc returns NULL on failure; free accepts NULL. */
struct cnnz_allocator {
    void *(*alloc)(void *opaque, size_t size);
    void (*free)(void *opaque, void *ptr);
    void *opaque;
};

/* --------------------------------------------------------------- reader */

typedef struct cnnz_reader cnnz_reader;

struct cnnz_open_options {
    const struct cnnz_limits *limits;       /* NULL: defaults */
    const struct cnnz_allocator *allocator; /* NULL: malloc/free */
    struct cnnz_where *where;               /* NULL, or filled on failure */
};

/* Open a .cnnz image held in memory. The reader borrows data: it must stay
 * valid and unchanged until cnnz_reader_close(). Reads and validates only the
 * header, trailer, directory and metadata (spec 3 and 9): tensor payloads are
 * not touched until decoded. opts may be NULL. */
CNNZ_API int cnnz_reader_open_memory(cnnz_reader **out, const void *data, size_t size,
                                     const struct cnnz_open_options *opts);
/* Open a file by path, memory-mapping it read-only. */
CNNZ_API int cnnz_reader_open_path(cnnz_reader **out, const char *path,
                                   const struct cnnz_open_options *opts);
/* Open from a seekable FILE* (read with pread on its descriptor, so concurrent
 * decodes are safe). The FILE stays owned by the caller and must outlive the
 * reader. Non-seekable streams are read into memory first. */
CNNZ_API int cnnz_reader_open_file(cnnz_reader **out, FILE *f, const struct cnnz_open_options *opts);
/* Free the reader (NULL is fine). */
CNNZ_API void cnnz_reader_close(cnnz_reader *r);

/* The file's format version. */
CNNZ_API void cnnz_reader_version(const cnnz_reader *r, unsigned *major, unsigned *minor);
/* Total file size in bytes. */
CNNZ_API uint64_t cnnz_reader_file_size(const cnnz_reader *r);

struct cnnz_stream_info {
    int role;
    int coder;
    int coder_version;
    uint64_t offset;         /* absolute file offset of the coded bytes (spec 4) */
    uint64_t coded_bytes;
    uint64_t decoded_bytes;
    unsigned coder_params_bytes; /* coder_params_length of the stream entry */
};

/* Pointers stay valid until the reader is closed. */
struct cnnz_tensor_info {
    const char *name; /* NUL-terminated UTF-8 (names never contain NUL) */
    size_t name_len;
    int dtype;
    unsigned rank;
    const uint64_t *dims; /* rank entries */
    uint64_t elements;    /* product of dims (1 for rank 0) */
    uint64_t decoded_bytes; /* elements * cnnz_dtype_size(dtype) */
    uint64_t decoded_xxh64;
    int repr;
    /* Representation parameters, decoded (spec 6). */
    int symbol_dtype;   /* AFFINE: dtype of the symbols; WIDEN: stored dtype; else 0 */
    double scale;       /* AFFINE only */
    double offset;      /* AFFINE only */
    uint32_t codebook_size; /* HAM, SHAM: codebook entries */
    uint64_t block_rows;    /* SHAM: rows (of dims[0]) per block */
    unsigned stream_count;
    const struct cnnz_stream_info *streams;
    uint64_t coded_bytes; /* sum of the streams' coded bytes */
};

CNNZ_API size_t cnnz_reader_tensor_count(const cnnz_reader *r);
/* Fill info for tensor index (0-based, directory order). */
CNNZ_API int cnnz_reader_tensor_info(const cnnz_reader *r, size_t index,
                                     struct cnnz_tensor_info *info);
/* Index of the tensor with this exact name (NUL-terminated); CNNZ_E_NOTFOUND. */
CNNZ_API int cnnz_reader_find(const cnnz_reader *r, const char *name, size_t *index);

/* Decode tensor index into dst (dst_size >= info.decoded_bytes, else
 * CNNZ_E_BUFFER before anything is written). Verifies the header, padding
 * and checksum of the TDAT section that holds the tensor (before decoding;
 * small tensors share a section, at most 256 KiB with libcnnz's writer; a
 * section that passed is not checked again by this reader, whose bytes must
 * not change while it is open) and the decoded checksum. Touches only that
 * section. Thread-safe.
 * On failure dst content is unspecified. where may be NULL. */
CNNZ_API int cnnz_reader_decode(const cnnz_reader *r, size_t index, void *dst, size_t dst_size,
                                struct cnnz_where *where);
/* Use a tensor in place, without copying: *data points at its decoded bytes
 * inside the file image (8-byte aligned, 64-byte aligned from 1024 bytes on,
 * spec 4), valid until the reader is
 * closed. Possible when the reader holds the file in memory (open_memory,
 * open_path) and the tensor is `plain` with a `raw` stream; otherwise
 * CNNZ_E_UNSUPPORTED (use cnnz_reader_decode). Checks everything
 * cnnz_reader_decode checks. Thread-safe. */
CNNZ_API int cnnz_reader_view(const cnnz_reader *r, size_t index, const void **data,
                              struct cnnz_where *where);
/* Decode one stream of a tensor (e.g. the stored tfjs symbols) into dst
 * (dst_size >= decoded_bytes of that stream). Checks the section checksum. */
CNNZ_API int cnnz_reader_decode_stream(const cnnz_reader *r, size_t index, unsigned stream,
                                       void *dst, size_t dst_size, struct cnnz_where *where);

/* The codebook indices of a `ham` or `sham` tensor (elements symbols of
 * symbol_dtype, little-endian) into dst (dst_size >= elements * size of
 * symbol_dtype), e.g. for accelerators that take integer levels. A sham
 * element that is not stored gets the index of the first all-zero-bytes
 * codebook entry (CNNZ_E_UNSUPPORTED when there is none, or for other
 * representations). Checks what cnnz_reader_decode checks, the decoded
 * checksum included. The codebook itself: cnnz_reader_decode_stream(r,
 * index, 0, ...). Thread-safe. */
CNNZ_API int cnnz_reader_decode_indices(const cnnz_reader *r, size_t index, void *dst,
                                        size_t dst_size, struct cnnz_where *where);

/* Full verification (spec 9.3): every section header, every padding byte,
 * every checksum, every tensor decoded. Returns the first fault. */
CNNZ_API int cnnz_reader_verify(const cnnz_reader *r, struct cnnz_where *where);
/* cnnz_reader_verify with the tensors checked by `threads` threads (0 or 1:
 * the caller's only). Same result, including which fault is reported (the
 * first in file order). Scratch: one int and one cnnz_where per section. */
CNNZ_API int cnnz_reader_verify_mt(const cnnz_reader *r, unsigned threads,
                                   struct cnnz_where *where);

/* Sections, in file order (the directory section itself is not listed). */
struct cnnz_section_info {
    char tag[5]; /* 4 ASCII bytes + NUL */
    int critical;
    int known;
    uint64_t offset; /* of the section header */
    uint64_t body_bytes;
    /* TDAT: the run of tensors it holds, first_tensor .. + tensor_count - 1
     * (spec 5.1); 0 and 0 for other sections. */
    size_t first_tensor;
    size_t tensor_count;
};
CNNZ_API size_t cnnz_reader_section_count(const cnnz_reader *r);
CNNZ_API int cnnz_reader_section_info(const cnnz_reader *r, size_t index,
                                      struct cnnz_section_info *info);

/* ------------------------------------------------------------- metadata */

enum cnnz_meta_type {
    CNNZ_META_STRING = 1, /* UTF-8, no NUL */
    CNNZ_META_INT = 2,    /* int64 */
    CNNZ_META_FLOAT = 3,  /* binary64 */
    CNNZ_META_BOOL = 4,
    CNNZ_META_BYTES = 5
};

/* Well-known keys (spec 5.4). */
#define CNNZ_META_MODEL_NAME "model.name"
#define CNNZ_META_SOURCE_FORMAT "source.format"
#define CNNZ_META_LICENSE "license"
#define CNNZ_META_PRODUCER "producer"

struct cnnz_meta {
    const char *key; /* NUL-terminated */
    int type;
    const void *value; /* STRING: NUL-terminated text; BYTES: raw bytes */
    size_t value_len;  /* bytes (without NUL) */
    int64_t i;         /* INT; BOOL as 0/1 */
    double f;          /* FLOAT */
};
CNNZ_API size_t cnnz_reader_meta_count(const cnnz_reader *r);
CNNZ_API int cnnz_reader_meta_get(const cnnz_reader *r, size_t index, struct cnnz_meta *meta);
CNNZ_API int cnnz_reader_meta_find(const cnnz_reader *r, const char *key, struct cnnz_meta *meta);

/* --------------------------------------------------------------- writer */

typedef struct cnnz_writer cnnz_writer;

/* Output sink: write all n bytes or return non-zero. The writer writes
 * strictly sequentially (a pipe is fine: spec 3 layout is single-pass). */
struct cnnz_sink {
    int (*write)(void *opaque, const void *buf, size_t n);
    void *opaque;
};

struct cnnz_writer_options {
    const struct cnnz_allocator *allocator; /* NULL: malloc/free */
    unsigned threads; /* encoder threads for one tensor's streams; 0 or 1: the caller's */
};

CNNZ_API int cnnz_writer_open(cnnz_writer **out, const struct cnnz_sink *sink,
                              const struct cnnz_writer_options *opts);
/* Convenience sink over a FILE* (not closed by the writer). */
CNNZ_API int cnnz_writer_open_file(cnnz_writer **out, FILE *f,
                                   const struct cnnz_writer_options *opts);

struct cnnz_tensor_desc {
    const char *name; /* UTF-8, no NUL inside; name_len bytes */
    size_t name_len;  /* 0: strlen(name) */
    int dtype;        /* the tensor's (decoded) dtype */
    unsigned rank;
    const uint64_t *dims;
    int repr;         /* CNNZ_REPR_* */
    int symbol_dtype; /* AFFINE: CNNZ_DT_U8/U16; WIDEN: CNNZ_DT_F16/BF16 */
    double scale;     /* AFFINE */
    double offset;    /* AFFINE */
    int coder;        /* CNNZ_CODER_* for every stream, or CNNZ_CODER_AUTO */
    /* HAM, SHAM: codebook_size entries of dtype; data holds one index per
     * element (symbol_dtype u8 or u16). SHAM needs one all-zero-bytes entry:
     * the elements that index it are not stored. */
    const void *codebook;
    uint32_t codebook_size;
    uint64_t block_rows; /* SHAM: rows of dims[0] per block; 0: the writer picks */
};

/* Encode and write one tensor. data holds the representation's input:
 * PLAIN: elements in dtype; AFFINE: the symbols; WIDEN: the stored values;
 * size must equal elements * size of that element type. A tensor of 64 KiB
 * or more coded goes out before this returns; smaller ones share a section
 * (spec 4) and wait in a group of at most 256 KiB that goes out before the
 * next large tensor, when full, or at finish. So memory use is one tensor
 * plus the group. Names must be unique. */
CNNZ_API int cnnz_writer_add_tensor(cnnz_writer *w, const struct cnnz_tensor_desc *desc,
                                    const void *data, size_t size);

/* Metadata (written at finish). Keys are UTF-8, unique. */
CNNZ_API int cnnz_writer_meta_string(cnnz_writer *w, const char *key, const char *value);
CNNZ_API int cnnz_writer_meta_int(cnnz_writer *w, const char *key, int64_t value);
CNNZ_API int cnnz_writer_meta_float(cnnz_writer *w, const char *key, double value);
CNNZ_API int cnnz_writer_meta_bool(cnnz_writer *w, const char *key, int value);
CNNZ_API int cnnz_writer_meta_bytes(cnnz_writer *w, const char *key, const void *value,
                                    size_t len);

/* Write metadata, directory and trailer. After this (success or not) only
 * cnnz_writer_free() is valid. */
CNNZ_API int cnnz_writer_finish(cnnz_writer *w);
CNNZ_API void cnnz_writer_free(cnnz_writer *w);

/* What the writer has produced so far. A tensor's cost in the file is the
 * growth of coded_bytes + entry_bytes across its cnnz_writer_add_tensor
 * (small tensors reach the sink later, so the sink's size does not say). */
struct cnnz_writer_stats {
    uint64_t tensors;     /* added */
    uint64_t coded_bytes; /* coded bytes of their streams, stream padding included */
    uint64_t entry_bytes; /* their directory entries (spec 5.3) */
    uint64_t written;     /* bytes passed to the sink */
};
CNNZ_API void cnnz_writer_stats(const cnnz_writer *w, struct cnnz_writer_stats *stats);

/* ------------------------------------------------------------ utilities */

/* Exact conversions used by the WIDEN representation (spec 6.4). */
CNNZ_API float cnnz_f16_to_f32(uint16_t h);
CNNZ_API float cnnz_bf16_to_f32(uint16_t b);

/* -------------------------------------------------------------- compute */

/* Matrix-vector products that read the coded streams directly, and
 * decoding in small chunks. */

/* The matrix view of a tensor: rows = dims[0], cols = the product of the
 * other dimensions (rank 0: 1 x 1; rank 1: dims[0] x 1). Element (r, c) is
 * element r * cols + c of the decoded tensor, which is in C order. A
 * convolution kernel [Cout, Cin, kh, kw] is Cout rows of Cin * kh * kw
 * columns, column (ci * kh + i) * kw + j: the im2col order, in which an
 * input patch is flattened channel by channel, each channel row by row.
 * y = W x over the patches of an input is then the convolution (before the
 * bias). CNNZ_E_UNSUPPORTED when cols does not fit in 64 bits (possible
 * only when dims[0] is 0). */
CNNZ_API int cnnz_matrix_shape(const struct cnnz_tensor_info *info, uint64_t *rows,
                               uint64_t *cols);

struct cnnz_matvec_options {
    /* Threads for the tensor's entry points (0 or 1: the caller's only).
     * The result is the same, bit for bit, for every value. */
    unsigned threads;
    /* Non-zero: also check the decoded checksum (spec 9.2 step 4) by
     * rebuilding the tensor chunk by chunk and hashing it. That costs about
     * a cnnz_reader_decode in time (not in memory), so it is off by
     * default: the section checksum over the coded bytes is checked on
     * every call anyway. */
    int verify;
};

/* y = W x (cnnz_matvec) or y = x^T W (cnnz_vecmat) for the matrix view of
 * tensor index, without decoding it into a dense matrix.
 *
 * Arguments: x has x_len floats, which must be cols (matvec) or rows
 * (vecmat), else CNNZ_E_ARG; y has room for y_len floats, at least rows
 * (matvec) or cols (vecmat), else CNNZ_E_BUFFER; both before anything is
 * read or written. x and y must not overlap. opts may be NULL (one thread,
 * no decoded checksum). On failure y's contents are unspecified.
 *
 * Tensors: dtype f32, f16 or bf16, any representation. ham and sham (the
 * paper's HAM and sHAM) run fused: codebook lookups on the symbols as they
 * are decoded, sham skipping the unstored zeros; so does affine with u8
 * symbols (a 256-entry table of its f32 values). The others (plain,
 * widen, planes, affine with u16 symbols) are decoded chunk by chunk as
 * cnnz_decoder does and multiplied from the chunks. Other dtypes, and
 * affine i32 tensors: CNNZ_E_UNSUPPORTED.
 *
 * Checks: what cnnz_reader_decode checks before decoding (section header,
 * padding, section checksum), every coded stream and every symbol as it is
 * decoded (an index past the codebook, a sham run leaving its block:
 * CNNZ_E_CORRUPT); the decoded checksum only with opts->verify.
 *
 * Arithmetic: w(r, c) is the decoded element (f16/bf16 widened exactly),
 * each product w * x is a float multiplication, and the sums are float
 * additions in a fixed order, so that a dense loop in the same order gives
 * the same bits:
 *  - matvec: row r keeps 16 partial sums s_j, j = c mod 16, each starting
 *    at +0.0 and adding its products in increasing c; then t_j = s_j +
 *    s_{j+8} (j < 8), u_j = t_j + t_{j+4} (j < 4), v_j = u_j + u_{j+2}
 *    (j < 2), y[r] = v_0 + v_1.
 *  - vecmat: y[c] adds the products of column c in increasing r, from +0.0;
 *    for sham, each block of rows (spec 6.7) sums into its own partial
 *    vector that way, and y = P_0 + P_1 + ... + P_last, left to right.
 *  - sham elements that are not stored are skipped, as the zeros they are
 *    (this differs from a dense product only where x holds an infinity or
 *    a NaN, whose product with 0 would be a NaN).
 * Against the exact sum, |y - exact| <= (k + 1) * 2^-24 * sum |w * x| to
 * first order, k being the additions on the longest path: ceil(cols / 16)
 * + 4 for matvec, rows + (sham blocks) for vecmat.
 *
 * Memory, beyond the coded tensor (which a reader opened with
 * cnnz_reader_open_file reads into memory): O(rows + cols) at most, the
 * codebook as floats, and per thread one chunk of 16 KiB or, for sham,
 * one block's decoded streams (about 2 bytes per stored element; the
 * writer makes blocks of about 64 Ki elements, at most 32 of them). A
 * stream whose coder has no incremental decoder (cabac) is decoded whole
 * first: O(elements) for that stream (sham: per block).
 *
 * Threads: sham blocks run in parallel (matvec: each block writes its own
 * rows; vecmat: per-thread partial vectors added in block order). A ham,
 * affine or plain tensor whose stream is stored raw is split by rows
 * (matvec) or by columns (vecmat); one whose stream is entropy coded has a
 * single entry point and runs on the caller's thread.
 *
 * Thread-safe: any number of calls may run on one reader at once. */
CNNZ_API int cnnz_matvec(const cnnz_reader *r, size_t index, const float *x, size_t x_len,
                         float *y, size_t y_len, const struct cnnz_matvec_options *opts,
                         struct cnnz_where *where);
CNNZ_API int cnnz_vecmat(const cnnz_reader *r, size_t index, const float *x, size_t x_len,
                         float *y, size_t y_len, const struct cnnz_matvec_options *opts,
                         struct cnnz_where *where);

/* Decoding in order into a small buffer: the bytes cnnz_reader_decode
 * would write, a chunk per call, without a tensor-sized buffer.
 *
 *     cnnz_decoder *d;
 *     if (cnnz_decoder_open(&d, r, index, &where) == 0) {
 *         size_t n;
 *         while ((err = cnnz_decoder_read(d, buf, sizeof buf, &n, &where)) == 0 && n)
 *             consume(buf, n);   (whole elements, in order)
 *         cnnz_decoder_close(d);
 *     }
 *
 * open checks what cnnz_reader_decode checks before decoding, and decodes
 * a codebook. read writes as many whole elements as fit in dst_size bytes
 * (at most 4096 per call; dst_size smaller than one element:
 * CNNZ_E_BUFFER), *written their bytes, 0 once the tensor is done. The
 * decoded checksum is computed as the chunks go out and checked by the
 * call that yields the last element, which then fails with
 * CNNZ_E_CHECKSUM: until that call has succeeded, the bytes handed out are
 * not verified. After a failure every read returns the same error.
 *
 * Memory: as for cnnz_matvec (a chunk of each stream; one sham block's
 * streams; a whole stream for a coder without an incremental decoder).
 * The reader must outlive the decoder. A decoder is used by one thread at a
 * time; any number of decoders may work on one reader at once. */
typedef struct cnnz_decoder cnnz_decoder;
CNNZ_API int cnnz_decoder_open(cnnz_decoder **out, const cnnz_reader *r, size_t index,
                               struct cnnz_where *where);
CNNZ_API int cnnz_decoder_read(cnnz_decoder *d, void *dst, size_t dst_size, size_t *written,
                               struct cnnz_where *where);
/* NULL is fine. */
CNNZ_API void cnnz_decoder_close(cnnz_decoder *d);

#ifdef __cplusplus
}
#endif
#endif /* CNNZ_H */
