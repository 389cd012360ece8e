/* The reader's state, shared by reader.c, directory.c and metadata.c. */
#ifndef CNNZ_READER_H
#define CNNZ_READER_H

#include "format.h"

/* Where the file's bytes come from: memory (including a map) or a descriptor. */
struct cnnz__source {
    const uint8_t *mem; /* whole file, or NULL when reading with pread(fd) */
    int fd;
    uint64_t size;
};

/* Coder parameters of one stream (not part of the public stream info). */
struct cnnz__stream_params {
    const uint8_t *params;
    uint16_t len;
};

struct cnnz_reader {
    struct cnnz__alloc a;
    struct cnnz_limits lim;
    struct cnnz__source src;
    void *map;       /* mmap of the file, or NULL */
    size_t map_len;
    uint8_t *owned;  /* file bytes read from a pipe, or NULL */
    unsigned major, minor;
    int reserved_ok; /* newer minor: reserved fields are ignored (spec 2) */

    uint64_t tdir_offset;
    uint8_t *tdir_copy;     /* TDIR body when read with pread, else NULL */
    const uint8_t *tdir;    /* TDIR body */
    uint64_t tdir_length;

    struct cnnz__section *sections;
    uint32_t nsections;
    int32_t meta_section;   /* index in sections, or -1 */

    struct cnnz__tensor *tensors;
    uint32_t ntensors;
    uint32_t *by_name;      /* tensor indices sorted by name */
    uint64_t *dims;
    struct cnnz_stream_info *streams;
    struct cnnz__stream_params *sparams;
    char *names;

    struct cnnz_meta *meta;
    uint32_t nmeta;
    uint32_t *meta_by_key;
    uint8_t *meta_blob;     /* META body copy: keys/strings NUL-terminated */
};

/* Read n bytes at off (the caller has checked off + n <= size). */
CNNZ__INTERNAL int cnnz__source_read(const struct cnnz__source *s, uint64_t off, void *dst,
                                     size_t n);
CNNZ__INTERNAL int cnnz__directory_parse(cnnz_reader *r, struct cnnz_where *w);
CNNZ__INTERNAL int cnnz__metadata_parse(cnnz_reader *r, struct cnnz_where *w);
/* Check that bytes [off, off + n) of the file are zero (padding). */
CNNZ__INTERNAL int cnnz__check_zero(const cnnz_reader *r, uint64_t off, uint64_t n,
                                    struct cnnz_where *w, int64_t tensor);
/* A TDAT section before decoding any of its streams: header, padding and
 * tdat_xxh64 (spec 4). */
CNNZ__INTERNAL int cnnz__tdat_check(const cnnz_reader *r, uint32_t index, struct cnnz_where *w,
                                    int64_t tensor);
/* Compare a section header in the file with its directory entry (spec 3.4)
 * and check the padding after its body. */
CNNZ__INTERNAL int cnnz__section_check(const cnnz_reader *r, uint32_t index, struct cnnz_where *w,
                                       int64_t tensor);
/* The coded streams of one tensor, checked as cnnz_reader_decode checks
 * them before decoding (cnnz__tdat_check: spec 4, 9.2 steps 1-3), for the
 * decoders that start from the coded bytes (decoder.c, matvec.c). Stream
 * k: src[k] holds its streams[k].coded_bytes bytes, coded by coder[k] with
 * params[k]. */
struct cnnz__coded {
    const uint8_t *src[255];
    const uint8_t *params[255];
    uint16_t params_len[255];
    const struct cnnz__coder *coder[255];
    uint8_t *owned; /* the coded bytes when the reader reads with pread, else NULL */
};
CNNZ__INTERNAL int cnnz__coded_open(const cnnz_reader *r, size_t index, struct cnnz__coded *c,
                                    struct cnnz_where *w);
CNNZ__INTERNAL void cnnz__coded_close(const cnnz_reader *r, struct cnnz__coded *c);
/* Sort idx[0..n) by the byte strings key(i); 0, or 1 + index of a duplicate. */
CNNZ__INTERNAL int cnnz__sort_names(const struct cnnz__alloc *a, uint32_t *idx, uint32_t n,
                                    const char *(*key)(const void *ctx, uint32_t i, size_t *len),
                                    const void *ctx, uint32_t *dup);

#endif
