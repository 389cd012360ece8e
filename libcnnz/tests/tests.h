/* Shared declarations of the libcnnz Check suites (one runner, test_main.c).
 *
 * Every suite is black-box: it uses cnnz.h only, plus spec/cnnz-format.md for
 * the byte-level cases (test_patch.c holds an independent parser/serializer
 * of the format used to hand-build files).
 *
 * Randomness: one 64-bit seed per run, printed by the runner; CNNZ_TEST_SEED
 * overrides it. Each test derives its own stream from the seed and its name,
 * so a failing test reproduces alone (CK_RUN_CASE / CK_RUN_SUITE) with the
 * same seed. CNNZ_TEST_ITER scales the random loops (a factor, default 1). */
#ifndef CNNZ_TESTS_H
#define CNNZ_TESTS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "cnnz.h"

/* ------------------------------------------------------------ suites */
Suite *suite_util(void);
Suite *suite_error(void);
Suite *suite_convert(void);
Suite *suite_roundtrip(void);
Suite *suite_writer(void);
Suite *suite_robust(void);
Suite *suite_limits(void);
Suite *suite_alloc(void);
Suite *suite_open(void);
Suite *suite_view(void);
Suite *suite_patch(void);
Suite *suite_spec(void);
Suite *suite_quant(void);
Suite *suite_huffman(void);
Suite *suite_rans(void);
Suite *suite_cabac(void);
Suite *suite_matvec(void);

/* Every long-running test case gets this timeout (seconds; Check scales it
 * by CK_TIMEOUT_MULTIPLIER). */
#define TEST_TIMEOUT 900.0

/* --------------------------------------------------------- randomness */
struct rng {
    uint64_t s;
};
/* The run's seed (CNNZ_TEST_SEED, else chosen once per run). */
uint64_t test_seed(void);
/* Set the run's seed; called by main before any suite runs. */
void test_seed_set(uint64_t seed);
/* A stream for one test: the run's seed mixed with label (use __func__). */
void rng_init(struct rng *r, const char *label);
uint64_t rng_u64(struct rng *r);   /* splitmix64 */
uint32_t rng_below(struct rng *r, uint32_t n); /* uniform in [0, n), n > 0 */
double rng_unit(struct rng *r);    /* uniform in [0, 1) */
void rng_bytes(struct rng *r, void *dst, size_t n);

/* base scaled by CNNZ_TEST_ITER (a positive factor), at least 1. */
unsigned test_iters(unsigned base);

/* ------------------------------------------------------ memory buffers */
/* A growable byte buffer, also a cnnz_sink. fail_at: the write call with
 * this 0-based index fails (and every later one), -1 never. */
struct membuf {
    uint8_t *data;
    size_t len, cap;
    long writes;
    long fail_at;
};
void membuf_init(struct membuf *b);
void membuf_free(struct membuf *b);
void membuf_append(struct membuf *b, const void *p, size_t n);
struct cnnz_sink membuf_sink(struct membuf *b);
/* An exact-size heap copy of p (so ASan sees any over-read); free() it. */
uint8_t *dup_exact(const void *p, size_t n);

/* Little-endian helpers written independently of the library. */
uint16_t get16(const uint8_t *p);
uint32_t get32(const uint8_t *p);
uint64_t get64(const uint8_t *p);
void put16(uint8_t *p, uint16_t v);
void put32(uint8_t *p, uint32_t v);
void put64(uint8_t *p, uint64_t v);
uint64_t xxh64(const void *p, size_t n); /* XXH64, seed 0 */

/* ----------------------------------------------------- reference math */
/* f16/bf16 -> f32 written from the spec with ldexp (not bit tricks). */
float ref_f16_to_f32(uint16_t h);
float ref_bf16_to_f32(uint16_t b);
uint32_t f32_bits(float f);
float f32_from_bits(uint32_t b);
/* spec 6.3: (f32)((f64)q * scale + offset), two roundings, no fused op. */
float ref_affine(uint32_t q, double scale, double offset);

/* UTF-8 encode one code point (no validation); returns bytes written (1..4). */
size_t utf8_put(uint8_t *dst, uint32_t cp);
/* Random valid UTF-8 without NUL of exactly n bytes, multi-byte heavy. */
void rand_utf8(struct rng *r, uint8_t *dst, size_t n);

/* --------------------------------------------------------- test model */
/* A set of tensors and metadata written through the writer and checked
 * against everything the reader reports. */
struct ttensor {
    char *name; /* NUL-terminated copy */
    size_t name_len;
    int dtype, repr, symbol_dtype, coder;
    double scale, offset;
    unsigned rank;
    uint64_t dims[CNNZ_MAX_RANK];
    uint64_t elements;
    uint8_t *input; /* the representation's input (what add_tensor takes) */
    size_t input_size;
    uint8_t *expect; /* the decoded tensor */
    size_t expect_size;
    uint8_t *codebook; /* HAM, SHAM: codebook_size entries of dtype; entry 0 all zero */
    uint32_t codebook_size;
    uint64_t block_rows; /* SHAM: 0 lets the writer pick */
};

struct tmeta {
    char *key;
    int type;
    uint8_t *bytes; /* STRING (NUL-terminated) and BYTES */
    size_t len;
    int64_t i;
    double f;
};

struct model {
    struct ttensor *t;
    size_t nt, capt;
    struct tmeta *m;
    size_t nm, capm;
};

struct model_opts {
    unsigned max_tensors;     /* random count in [0, max_tensors] */
    unsigned max_rank;        /* random rank in [0, max_rank] */
    uint64_t max_elements;    /* per tensor, roughly */
    unsigned max_meta;        /* random count in [0, max_meta] */
    size_t max_name_bytes;    /* random name length bound (>= 8) */
};

void model_init(struct model *m);
void model_free(struct model *m);
/* Add a tensor; input NULL means random input drawn from r. Computes the
 * expected decoded bytes. Returns the new tensor. */
struct ttensor *model_add(struct model *m, struct rng *r, const char *name, size_t name_len,
                          int dtype, int repr, int symbol_dtype, unsigned rank,
                          const uint64_t *dims, const void *input);
/* A random tensor of repr/dtype (0 = random valid choice) with a unique name. */
struct ttensor *model_add_random(struct model *m, struct rng *r, int repr, int dtype,
                                 unsigned max_rank, uint64_t max_elements,
                                 size_t max_name_bytes);
void model_meta_string(struct model *m, const char *key, const char *value);
void model_meta_int(struct model *m, const char *key, int64_t v);
void model_meta_float(struct model *m, const char *key, double v);
void model_meta_bool(struct model *m, const char *key, int v);
void model_meta_bytes(struct model *m, const char *key, const void *p, size_t n);
void model_random(struct model *m, struct rng *r, const struct model_opts *o);
/* Some fixed small models for robustness tests. */
void model_empty(struct model *m);          /* 0 tensors, no metadata */
void model_meta_only(struct model *m);      /* 0 tensors, metadata of every type */
void model_mixed(struct model *m, struct rng *r); /* a few tensors, every repr */

/* Write the model with an open writer (add tensors then metadata, finish).
 * Returns the first error (and stops there). */
int model_write_with(const struct model *m, cnnz_writer *w);
/* Write through a memory sink; asserts success; returns an exact-size
 * malloc'd image. */
uint8_t *model_file(const struct model *m, size_t *size);
/* Assert everything the reader reports matches the model: counts, tensor
 * info fields, find, decode (with sentinels), decode_stream, metadata,
 * verify. */
void model_check(const struct model *m, const cnnz_reader *r);
/* Open an in-memory image (asserting success), model_check, close. */
void model_check_image(const struct model *m, const uint8_t *img, size_t n);

/* ------------------------------------------------ allocators for tests */
struct test_alloc {
    long allocs, frees, live;
    long fail_at; /* 0-based index of the allocation to fail; -1 never */
    long fail_all_after; /* nonzero: every allocation from fail_at on fails */
    size_t bytes_live, bytes_peak;
};
void test_alloc_init(struct test_alloc *a, long fail_at);
struct cnnz_allocator test_alloc_hooks(struct test_alloc *a);

/* ----------------------------------- spec-level files (test_patch.c) */
/* An independent, spec-driven model of a .cnnz file (spec sections 1.1,
 * 3-5): parse a valid image, change fields, serialize with the layout rules
 * of the spec (section offsets, implied stream offsets, padding, body
 * lengths, checksums recomputed) so that a test breaks exactly the rule it
 * means to. Fields that the spec derives (name_shared, suffix_length,
 * coded_length, stream offsets, body_length, tdat_xxh64) are computed on
 * serialize; a test that needs a wrong one sets it explicitly (raw_name,
 * xs_stream.align, xs_section.gap, keep_tdat_xxh, xs_file.vf). */
#define XS_MAX_SECTIONS 64
#define XS_MAX_STREAMS 255

struct xs_stream {
    uint8_t role, coder, version;
    uint8_t *params;     /* owned, params_len bytes (NULL: zeros); set with xs_set_params */
    uint64_t params_len; /* coder_params_length */
    uint64_t decoded_len;
    uint8_t *data;       /* the coded bytes (owned); coded_length = data_len */
    size_t data_len;
    unsigned align;      /* 0: the spec 4 rule; else lay the stream out at this alignment */
    uint64_t offset;     /* implied (spec 4): filled by xs_parse and xs_serialize */
    size_t pos;          /* file offset of this stream entry (xs_parse, xs_serialize) */
};

struct xs_tensor {
    uint8_t *name;       /* owned: the whole name (expanded), name_len bytes */
    size_t name_len;
    /* name_shared as written. Unless raw_name, xs_serialize sets it to the
     * longest common prefix with the previous name (as libcnnz does) and
     * writes the rest of name as the suffix. With raw_name, it writes
     * name_shared and suffix as they are (name is then not used). */
    uint64_t name_shared;
    int raw_name;
    uint8_t *suffix;     /* owned, raw_name only */
    size_t suffix_len;
    uint8_t dtype, rank, repr, stream_count;
    uint64_t section_index;
    uint64_t decoded_xxh;
    uint64_t dims[255];
    uint64_t rp_len;     /* repr_params_length (<= sizeof rp) */
    uint8_t rp[256];
    struct xs_stream s[XS_MAX_STREAMS];
    size_t pos;          /* file offset of this tensor entry (xs_parse, xs_serialize) */
};

struct xs_section {
    uint8_t tag[4];
    uint32_t flags;       /* written in the section header */
    uint32_t table_flags; /* written in the TDIR table entry */
    uint64_t offset, body_len; /* filled by xs_parse and xs_serialize */
    /* A TDAT named by at least one tensor is laid out from its run's
     * streams (spec 4). Any other section (and a TDAT named by none) has
     * this body, written as it is; a TDAT named by none and without a body
     * gets the 8 bytes of an empty run (XXH64 of nothing). */
    uint8_t *body;        /* owned */
    size_t body_n;
    /* TDAT laid out from streams: bytes between the end of the last stream
     * and tdat_xxh64 (spec 4 says 0). > 0: that many zero bytes (covered by
     * the checksum); < 0: the checksum overlaps the streams' last bytes. */
    int gap;
    uint64_t tdat_xxh; /* written as is when the file says keep_tdat_xxh */
};

/* Directory varint fields (spec 5.3, 5.3.1), for xs_vfault. */
enum xs_vfield {
    XS_V_NONE, XS_V_NAME_SHARED, XS_V_SUFFIX_LENGTH, XS_V_SECTION_INDEX, XS_V_DIM,
    XS_V_REPR_PARAMS_LENGTH, XS_V_CODER_PARAMS_LENGTH, XS_V_CODED_LENGTH, XS_V_DECODED_LENGTH,
    XS_V_FIELDS
};
/* How that one field is written instead of its minimal LEB128 (spec 1.1). */
enum xs_venc {
    XS_VENC_VALUE,    /* minimal, but the value below instead of the model's */
    XS_VENC_PADDED,   /* the model's value with one redundant byte: final byte 0 */
    XS_VENC_LONG,     /* the model's value padded to 11 bytes (final byte 0) */
    XS_VENC_OVERFLOW, /* 10 minimal bytes of value 2^64: 80 x 9, 02 */
    XS_VENC_CUT       /* the model's value with its last byte's high bit set, and
                       * the tensor-entry area (and every entry after) ends there */
};
struct xs_vfault {
    int field;      /* enum xs_vfield; XS_V_NONE: no fault */
    size_t tensor;  /* of this tensor entry */
    unsigned k;     /* dim index (XS_V_DIM) or stream index (stream fields) */
    int enc;        /* enum xs_venc */
    uint64_t value; /* XS_VENC_VALUE */
};

struct xs_file {
    uint8_t header[64]; /* checksum recomputed */
    size_t nsec;
    struct xs_section sec[XS_MAX_SECTIONS];
    uint64_t tdir_reserved;
    uint32_t tdir_flags;
    size_t nt;
    struct xs_tensor *t;
    uint64_t trailer_reserved;
    int keep_tdat_xxh;  /* 1: write each section's tdat_xxh as is */
    struct xs_vfault vf; /* one directory varint written as a test says */
    uint64_t tdir_offset; /* filled by xs_parse and xs_serialize */
    uint64_t trailer_offset;
};

/* Parse a valid image (asserts on anything unexpected, including every
 * rule of spec 4 and 5.1 that the model checks). */
void xs_parse(struct xs_file *f, const uint8_t *img, size_t n);
void xs_free(struct xs_file *f);
/* Serialize per the spec; returns an exact-size malloc'd image. */
uint8_t *xs_serialize(struct xs_file *f, size_t *n);
/* Insert a section before index at (0..nsec) with a copy of body; fixes the
 * tensors' section indexes. */
void xs_insert_section(struct xs_file *f, size_t at, const char tag[4], uint32_t flags,
                       const void *body, size_t body_n);
/* Remove section at; fixes the tensors' section indexes above it. */
void xs_remove_section(struct xs_file *f, size_t at);
/* Start a new TDAT section (inserted right after the current one) at
 * tensor t: t and the tensors after it in the same run move to it. */
void xs_split_run(struct xs_file *f, size_t t);
/* Index of the first section with tag, or -1. */
long xs_find_section(const struct xs_file *f, const char tag[4]);
/* Name helpers: the whole name, or name_shared and suffix written as they
 * are (raw_name). */
void xs_set_name(struct xs_tensor *t, const void *name, size_t n);
void xs_set_raw_name(struct xs_tensor *t, uint64_t shared, const void *suffix, size_t n);
/* coder_params (p NULL: n zero bytes); coded bytes; a deep copy of a stream. */
void xs_set_params(struct xs_stream *s, const void *p, size_t n);
void xs_set_data(struct xs_stream *s, const void *p, size_t n);
void xs_stream_copy(struct xs_stream *dst, const struct xs_stream *src);
/* Recompute, in a serialized image, the header checksum, every TDAT's
 * tdat_xxh64 and the META checksum (sections located through the TDIR
 * table, each only where its header agrees with the table), the TDIR and
 * trailer checksums, in that dependency order. */
void xs_fix_checksums(uint8_t *img, size_t n);
/* Encode v as a minimal LEB128 varint (spec 1.1); returns its length. */
size_t xs_varint(uint8_t *dst, uint64_t v);
/* Build a META body from entries: key, type byte, reserved byte, value. */
struct xs_meta_builder {
    struct membuf b;
    uint32_t count;
};
void xs_meta_begin(struct xs_meta_builder *mb);
void xs_meta_entry(struct xs_meta_builder *mb, const void *key, size_t key_len, uint8_t type,
                   uint8_t reserved, const void *value, size_t value_len);
/* Finish: count (the entry_count field), reserved word, checksum. Returns
 * the malloc'd body (caller frees) and its size. */
uint8_t *xs_meta_end(struct xs_meta_builder *mb, uint32_t count, uint32_t reserved, size_t *n);
/* Replace (or add) the META section's body. */
void xs_set_meta(struct xs_file *f, const uint8_t *body, size_t n);

/* Open an image; returns the error of open, else of the first failing
 * decode of each tensor, else of verify (0 when all succeed). Asserts the
 * decoded data equals the model when the model is given and all succeed. */
int open_decode_verify(const uint8_t *img, size_t n, const struct model *expect);

#endif
