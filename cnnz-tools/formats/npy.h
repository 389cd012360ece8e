/*
 * npy.h - NumPy .npy files: parse one from memory, build the header of one.
 *
 * Reading accepts format versions 1.0, 2.0 and 3.0 (magic "\x93NUMPY", two
 * version bytes, a little-endian header length of 2 bytes for 1.0 or 4 bytes
 * otherwise, then a Python dict literal, ASCII for 1.0/2.0, UTF-8 for 3.0).
 * The dict must hold exactly the keys 'descr', 'fortran_order' and 'shape'
 * (any order, any whitespace, optional trailing comma); anything else is
 * rejected. Element types, and the cnnz dtype each maps to:
 *
 *   descr        dtype        descr        dtype
 *   <f2          f16          <i2 / <u2    i16 / u16
 *   <f4          f32          <i4 / <u4    i32 / u32
 *   <f8          f64          <i8 / <u8    i64 / u64
 *   |i1 / |u1    i8 / u8      |b1          bool (every byte 0 or 1)
 *
 * For the multi-byte types '=' is accepted as '<' (cnnz runs little-endian);
 * for the one-byte types any of '|', '<', '>', '=' is. Big-endian ('>') data,
 * Fortran order, structured and other dtypes are FMT_E_UNSUPPORTED. The data
 * after the header must be exactly prod(shape) * itemsize bytes.
 *
 * Writing produces the header numpy (>= 1.24) itself writes (version 1.0; for
 * rank <= 32 it always fits in 65535 bytes): keys in sorted order, the
 * spare-space padding numpy adds for growing the first axis, then spaces and
 * a newline so the data starts on a 64-byte boundary. A file made from this
 * header and the C-order little-endian data is therefore byte-identical to
 * what numpy.save writes. bf16 has no NumPy dtype: it is written as '<u2'
 * (its raw 16-bit patterns), which reads back as u16, not bf16.
 */
#ifndef CNNZ_TOOLS_NPY_H
#define CNNZ_TOOLS_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "cnnz.h"
#include "fmt.h"

struct npy_array {
    int dtype;                    /* enum cnnz_dtype */
    unsigned rank;                /* 0 ..= CNNZ_MAX_RANK */
    uint64_t dims[CNNZ_MAX_RANK]; /* rank entries, row-major */
    uint64_t elements;            /* product of dims (1 for rank 0) */
    unsigned version_major;       /* 1, 2 or 3 */
    size_t data_offset;           /* bytes before the data (header size) */
    const unsigned char *data;    /* points into the parsed buffer */
    size_t data_bytes;            /* elements * itemsize */
};

/* Parse the .npy image buf[0..size). On success fills *out (out->data
 * borrows buf) and returns FMT_OK; otherwise returns FMT_E_INVALID or
 * FMT_E_UNSUPPORTED with a message in err. Safe on any input; thread-safe. */
int npy_parse(const void *buf, size_t size, struct npy_array *out, char *err, size_t err_size);

/* The descr string written for a cnnz dtype ("<f4", "|b1"; "<u2" for bf16),
 * or NULL for an unknown dtype. */
const char *npy_descr(int dtype);

/* Room that always holds a header built by npy_header() for rank <= CNNZ_MAX_RANK. */
#define NPY_HEADER_MAX 2048u

/* Build the complete header (magic through the final newline) for an array
 * of dtype and dims[0..rank) in C order into buf[0..cap), setting *len; the
 * data follows it directly. Returns FMT_OK, or FMT_E_INVALID for an unknown
 * dtype, a rank above CNNZ_MAX_RANK or a too-small buffer. */
int npy_header(int dtype, unsigned rank, const uint64_t *dims, unsigned char *buf, size_t cap,
               size_t *len, char *err, size_t err_size);

#endif /* CNNZ_TOOLS_NPY_H */
