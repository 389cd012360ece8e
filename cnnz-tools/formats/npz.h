/*
 * npz.h - NumPy .npz archives: parse one from memory, write one to a sink.
 *
 * An .npz is a zip archive whose members are .npy files (npy.h) named
 * NAME.npy; NAME is the array's key and here the tensor name. numpy.savez
 * stores members (method 0), numpy.savez_compressed deflates them (method
 * 8); numpy writes zip64 extra fields in local headers (force_zip64) and a
 * zip64 end-of-central-directory record when the archive needs one.
 *
 * What npz_parse() checks (zip facts from PKWARE's APPNOTE.TXT):
 *  - the end-of-central-directory record (EOCD) ends exactly at the end of
 *    the file (its comment fills the rest; nothing trails it); when a zip64
 *    EOCD locator precedes it, the zip64 EOCD record it points to is read
 *    and its counts, sizes and offsets are used;
 *  - one disk only; the central directory lies inside the file, ends where
 *    the (zip64) EOCD begins, and holds exactly the announced entries;
 *  - each entry: not encrypted (flag bits 0 and 6), method 0 or 8, a name
 *    that ends in ".npy" with a non-empty stem, is valid UTF-8 without NUL
 *    (names with bytes >= 0x80 need the UTF-8 flag, bit 11; CP437 names are
 *    FMT_E_UNSUPPORTED) and is not a directory; zip64 extra fields where a
 *    32-bit field is 0xFFFFFFFF; no duplicate names;
 *  - each local header lies inside the file before the central directory,
 *    has the same name, method and flags, and, unless a data descriptor
 *    follows the data (flag bit 3), the same CRC-32 and sizes; the member's
 *    data lies before the central directory and members do not overlap;
 *  - stored members: compressed size == uncompressed size; deflated members:
 *    the declared uncompressed size is within the caller's limit before
 *    anything is allocated, and the raw deflate stream inflates to exactly
 *    that many bytes using exactly the compressed bytes;
 *  - the CRC-32 of the uncompressed bytes matches;
 *  - npy_parse() accepts the member (its checks: npy.h).
 * A member npy_parse() reports FMT_E_UNSUPPORTED (Fortran order, big-endian,
 * a dtype cnnz lacks, ...) fails the parse naming it, or with
 * skip_unsupported is listed in skipped[] with npy's message.
 *
 * The writer stores members (no compression) with CRC-32s computed by
 * zlib, fixed timestamps (1980-01-01) and the .npy header of npy_header(),
 * so its output is deterministic and numpy.load reads it; it switches to
 * zip64 fields only where a size, offset or count needs them.
 *
 * Never prints, no global state, thread-safe.
 */
#ifndef CNNZ_TOOLS_NPZ_H
#define CNNZ_TOOLS_NPZ_H

#include <stddef.h>
#include <stdint.h>

#include "cnnz.h"
#include "fmt.h"

/* Default cap on the bytes inflated from deflated members, in total. */
#define NPZ_DEFAULT_MAX_INFLATED (UINT64_C(1) << 33)

struct npz_tensor {
    const char *name;             /* NUL-terminated UTF-8: the member name minus ".npy" */
    size_t name_len;              /* bytes, without the NUL */
    int dtype;                    /* enum cnnz_dtype */
    unsigned rank;                /* 0 ..= CNNZ_MAX_RANK */
    uint64_t dims[CNNZ_MAX_RANK]; /* rank entries, row-major */
    uint64_t elements;            /* product of dims (1 for rank 0) */
    const unsigned char *data;    /* little-endian, C order; may be unaligned */
    size_t data_bytes;            /* elements * cnnz_dtype_size(dtype) */
    int compressed;               /* parse: 1 when the member was deflated */
};

/* A well-formed member that cnnz cannot take (skip_unsupported only). */
struct npz_skipped {
    const char *name;   /* member name minus ".npy", NUL-terminated */
    const char *reason; /* npy_parse()'s message */
};

struct npz_options {
    int skip_unsupported;   /* list unsupported members in skipped[] instead of failing */
    uint64_t max_inflated;  /* 0: NPZ_DEFAULT_MAX_INFLATED; total bytes deflated members may hold */
    size_t max_members;     /* 0 or above CNNZ_MAX_TENSORS: CNNZ_MAX_TENSORS */
};

struct npz_file {
    size_t count;
    struct npz_tensor *tensors; /* in central-directory order */
    size_t skipped_count;
    struct npz_skipped *skipped;
    int zip64; /* the archive had a zip64 end-of-central-directory record */
};

/* Parse the .npz image buf[0..size). On success *out is a new npz_file
 * (free with npz_free()). Data of stored members borrows buf, which must
 * outlive *out; data of deflated members is owned by *out. On failure *out
 * is NULL and FMT_E_INVALID, FMT_E_UNSUPPORTED (also: over a caller limit)
 * or FMT_E_NOMEM is returned with a one-line message in err. opts may be
 * NULL. Safe on any input. */
int npz_parse(const void *buf, size_t size, const struct npz_options *opts,
              struct npz_file **out, char *err, size_t err_size);

/* Free a parsed archive (NULL is fine). */
void npz_free(struct npz_file *f);

/* Output sink: write all n bytes and return 0, or return non-zero. */
typedef int (*npz_write_fn)(void *opaque, const void *buf, size_t n);

struct npz_write_options {
    int force_zip64; /* write zip64 fields even where 32 bits suffice (tests) */
};

/* Write an uncompressed .npz of tensors[0..count) in the given order, each
 * as member NAME.npy. Of each tensor, name (name_len 0: strlen), dtype,
 * rank, dims, data and data_bytes are used. bf16 is written as '<u2' (see
 * npy.h). Checks before writing anything: names non-empty, valid UTF-8
 * without NUL, unique, at most 65531 bytes; known dtype; rank <=
 * CNNZ_MAX_RANK; data_bytes == prod(dims) * itemsize. wopts may be NULL.
 * Returns FMT_OK, FMT_E_INVALID (message in err), FMT_E_NOMEM, or FMT_E_IO
 * when write fails. Thread-safe. */
int npz_write(const struct npz_tensor *tensors, size_t count, const struct npz_write_options *wopts,
              npz_write_fn write, void *opaque, char *err, size_t err_size);

#endif /* CNNZ_TOOLS_NPZ_H */
