/*
 * onnx.h - ONNX models (.onnx, a protobuf ModelProto): read the weight
 * tensors out of one, write weights back.
 *
 * The protobuf code is generated at build time by protoc-c from the
 * onnx.proto that python3-onnx installs (onnx.mk); this header does not
 * depend on it.
 *
 * Which tensors a model yields, in this order:
 *  1. graph.initializer[], named by TensorProto.name;
 *  2. Constant nodes of the main graph (op_type "Constant", domain "" or
 *     "ai.onnx"), named by the node's output[0] (the tensor's own name when
 *     the node has no output name): attribute "value" (a TensorProto), or
 *     "value_float" / "value_floats" (f32 scalar / 1-D), "value_int" /
 *     "value_ints" (i64 scalar / 1-D). Many exporters (paddle2onnx) keep
 *     every weight in Constant nodes.
 * Subgraphs (If/Loop/Scan bodies in node attributes) and functions are not
 * walked: their tensors are not weights of the model's main graph.
 *
 * TensorProto data (onnx.proto, message TensorProto):
 *  - raw_data: little-endian, C order; its length must be exactly
 *    prod(dims) * itemsize;
 *  - otherwise the typed field for data_type (float_data for FLOAT;
 *    int32_data for INT32, INT16, INT8, UINT16, UINT8, BOOL, and the bit
 *    patterns of FLOAT16 and BFLOAT16; int64_data for INT64; double_data
 *    for DOUBLE; uint64_data for UINT32, UINT64), with exactly prod(dims)
 *    entries, each in range for its type; it is converted to packed
 *    little-endian bytes owned by the result;
 *  - data_location EXTERNAL: external_data keys "location" (a path relative
 *    to the model's folder), "offset" and "length" (decimal; default 0 and
 *    the rest of the file). The path must be relative, have no ".."
 *    component, resolve (realpath, so after symlinks) to a regular file
 *    inside the model folder, and offset/length must lie inside it; the
 *    range read must be exactly the tensor's byte size. This needs
 *    onnx_options.model_dir; without it such a tensor is FMT_E_UNSUPPORTED.
 * Any other combination (raw_data and typed data, typed data in the wrong
 * field, a count that does not match dims) is FMT_E_INVALID, as are negative
 * dims, an element count or byte size that overflows, bool values other
 * than 0/1, empty or non-UTF-8 names and duplicate names.
 *
 * data_type and the cnnz dtype it maps to: FLOAT f32, FLOAT16 f16,
 * BFLOAT16 bf16, DOUBLE f64, INT8 i8, UINT8 u8, INT16 i16, UINT16 u16,
 * INT32 i32, UINT32 u32, INT64 i64, UINT64 u64, BOOL bool. STRING,
 * COMPLEX64/128, the FLOAT8 and 4-bit types, and unknown future types are
 * FMT_E_UNSUPPORTED naming the tensor, or with skip_unsupported are listed
 * in skipped[]; so are sparse initializers, segmented tensors, a rank above
 * CNNZ_MAX_RANK and names longer than CNNZ_MAX_NAME_BYTES. UNDEFINED (0) is
 * FMT_E_INVALID.
 *
 * Untrusted input: the model is at most max_model_bytes (default and cap:
 * 2 GiB - 1, protobuf's own limit); before protobuf-c decodes it, a pass
 * over the wire format checks message nesting (at most ONNX_MAX_DEPTH,
 * so decoding cannot exhaust the stack), the wire types, and that no string
 * field holds a NUL byte (protobuf-c would cut the string there). Decoding
 * allocates through a counting allocator capped at max_alloc_bytes.
 * Going over a caller limit is FMT_E_UNSUPPORTED with a message naming it.
 *
 * Never prints, no global state, thread-safe.
 */
#ifndef CNNZ_TOOLS_ONNX_H
#define CNNZ_TOOLS_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "cnnz.h"
#include "fmt.h"

/* protobuf's 2 GiB message limit. */
#define ONNX_MAX_MODEL_BYTES UINT64_C(0x7FFFFFFF)
/* Deepest message nesting accepted (protobuf's C++ default recursion limit). */
#define ONNX_MAX_DEPTH 100u

/* TensorProto.DataType values used here (onnx.proto). */
enum onnx_data_type {
    ONNX_DT_UNDEFINED = 0,
    ONNX_DT_FLOAT = 1,
    ONNX_DT_UINT8 = 2,
    ONNX_DT_INT8 = 3,
    ONNX_DT_UINT16 = 4,
    ONNX_DT_INT16 = 5,
    ONNX_DT_INT32 = 6,
    ONNX_DT_INT64 = 7,
    ONNX_DT_STRING = 8,
    ONNX_DT_BOOL = 9,
    ONNX_DT_FLOAT16 = 10,
    ONNX_DT_DOUBLE = 11,
    ONNX_DT_UINT32 = 12,
    ONNX_DT_UINT64 = 13,
    ONNX_DT_COMPLEX64 = 14,
    ONNX_DT_COMPLEX128 = 15,
    ONNX_DT_BFLOAT16 = 16
};

/* Where a tensor was found. */
enum onnx_source { ONNX_SRC_INITIALIZER = 1, ONNX_SRC_CONSTANT = 2 };

struct onnx_tensor {
    const char *name;             /* NUL-terminated UTF-8, non-empty */
    size_t name_len;              /* bytes, without the NUL */
    int dtype;                    /* enum cnnz_dtype */
    unsigned rank;                /* 0 ..= CNNZ_MAX_RANK */
    uint64_t dims[CNNZ_MAX_RANK]; /* rank entries, row-major */
    uint64_t elements;            /* product of dims (1 for rank 0) */
    const unsigned char *data;    /* little-endian, C order; may be unaligned */
    size_t data_bytes;            /* elements * cnnz_dtype_size(dtype) */
    int source;                   /* parse: enum onnx_source */
    int external;                 /* parse: 1 when read from an external data file */
};

/* A well-formed tensor that cnnz cannot take (skip_unsupported only). */
struct onnx_skipped {
    const char *name;   /* NUL-terminated (may be "" for a nameless sparse initializer) */
    const char *reason; /* "data type STRING", "sparse initializer", ... */
};

struct onnx_opset {
    const char *domain; /* "" for the default domain ai.onnx */
    int64_t version;
};

/* A ModelProto.metadata_props entry (also the writer's metadata). */
struct onnx_meta {
    const char *key;   /* NUL-terminated UTF-8 */
    const char *value; /* NUL-terminated UTF-8 */
};

struct onnx_options {
    int skip_unsupported;        /* list unsupported tensors in skipped[] instead of failing */
    const char *model_dir;       /* folder of the .onnx, for external data; NULL: none allowed */
    uint64_t max_model_bytes;    /* 0 or above ONNX_MAX_MODEL_BYTES: that limit */
    uint64_t max_alloc_bytes;    /* 0: 4 * size + 256 MiB; protobuf decoding plus converted data */
    uint64_t max_external_bytes; /* 0: 2^40; total bytes read from external data files */
};

struct onnx_model {
    size_t count;
    struct onnx_tensor *tensors; /* initializers, then Constant nodes, in graph order */
    size_t skipped_count;
    struct onnx_skipped *skipped;
    /* ModelProto fields (strings "" when absent; NUL-terminated UTF-8). */
    int64_t ir_version;
    const char *producer_name;
    const char *producer_version;
    const char *domain;
    int64_t model_version;
    const char *graph_name;
    size_t opset_count;
    struct onnx_opset *opsets;
    size_t meta_count;
    struct onnx_meta *meta; /* metadata_props, in file order */
};

/* Parse the ONNX model buf[0..size). On success *out is a new onnx_model
 * (free with onnx_free()); it owns all its strings and tensor data, external
 * data mapped from its files rather than read (buf may
 * be freed right away). On failure *out is NULL and FMT_E_INVALID,
 * FMT_E_UNSUPPORTED, FMT_E_NOMEM or FMT_E_IO (an external data file could
 * not be opened or read) is returned with a one-line message in err. opts
 * may be NULL. Safe on any input: external data is only read from regular
 * files inside opts->model_dir. */
int onnx_parse(const void *buf, size_t size, const struct onnx_options *opts,
               struct onnx_model **out, char *err, size_t err_size);

/* Free a parsed model (NULL is fine). */
void onnx_free(struct onnx_model *m);

/* The ONNX data_type for a cnnz dtype, 0 when unknown. */
int onnx_data_type(int dtype);

/* Output sink: write all n bytes and return 0, or return non-zero. */
typedef int (*onnx_write_fn)(void *opaque, const void *buf, size_t n);

/* Write a weights-only ONNX model: ir_version 7, opset 13 of the default
 * domain, producer "cnnz", a graph named "cnnz" whose initializers are
 * tensors[0..count) in the given order (raw_data, little-endian) and whose
 * outputs are those same tensors (so the model is valid and loads, e.g.,
 * with onnx.load and onnxruntime), and meta[0..meta_count) as
 * metadata_props. Of each tensor, name (name_len 0: strlen), dtype, rank,
 * dims, data and data_bytes are used. Checks: names non-empty, UTF-8
 * without NUL, unique; known dtype; rank <= CNNZ_MAX_RANK; dims <=
 * INT64_MAX; data_bytes matches; bool 0/1; metadata UTF-8; the model fits
 * the 2 GiB protobuf limit. Output is deterministic. Returns FMT_OK,
 * FMT_E_INVALID, FMT_E_NOMEM or FMT_E_IO (write failed). Thread-safe. */
int onnx_write_weights(const struct onnx_tensor *tensors, size_t count,
                       const struct onnx_meta *meta, size_t meta_count, onnx_write_fn write,
                       void *opaque, char *err, size_t err_size);

/* Write model buf[0..size) (an ONNX model, decoded under opts' limits and
 * wire checks as onnx_parse() does; opts may be NULL) with the data of the
 * tensors named in tensors[0..count) replaced: each name must be one
 * onnx_parse() yields (initializer or Constant output name), unique,
 * with the same dtype and dims; its TensorProto (initializer, or the
 * Constant node's "value" tensor; value_float(s)/value_int(s) attributes are
 * rewritten in place) gets the new data as raw_data, and loses typed data
 * and external data references. Everything else in the model, including
 * tensors not named (and their external data references, which are
 * relative to the original model's folder), is written as decoded. This is
 * how decoded (e.g. dequantized) weights go back into a runnable model.
 * Returns FMT_OK, FMT_E_INVALID (a tensor not found or not matching, or
 * the result above 2 GiB), FMT_E_UNSUPPORTED, FMT_E_NOMEM or FMT_E_IO. */
int onnx_write_replaced(const void *buf, size_t size, const struct onnx_options *opts,
                        const struct onnx_tensor *tensors, size_t count, onnx_write_fn write,
                        void *opaque, char *err, size_t err_size);

#endif /* CNNZ_TOOLS_ONNX_H */
