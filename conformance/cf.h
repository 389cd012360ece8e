/* cf.h - what the conformance programs share (cnnz-gen-vectors, cnnz-gen):
 * byte buffers, hashes, a seeded generator, a model of a .cnnz file written
 * from spec/cnnz-format.md alone (cfile.c), encoders of the coders written
 * from the spec alone (coders.c), and the manifest (manifest.c).
 *
 * Nothing here links the library's test suites or its internals: the file
 * model parses and serializes per spec sections 1.1 and 3-5, so a vector
 * can break exactly one rule with every other byte, offset and checksum of
 * the file still right. Every function exits the program (cf_die) on an
 * impossible request or a failed allocation: these are build-time tools. */
#ifndef CNNZ_CONFORMANCE_CF_H
#define CNNZ_CONFORMANCE_CF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cnnz.h"

#if defined(__GNUC__)
#define CF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CF_NORETURN __attribute__((noreturn))
#else
#define CF_PRINTF(a, b)
#define CF_NORETURN
#endif

/* ------------------------------------------------------------ basics */

CF_NORETURN CF_PRINTF(1, 2) void cf_die(const char *fmt, ...);
void *cf_alloc(size_t n);              /* zeroed; never NULL */
void *cf_realloc(void *p, size_t n);
void *cf_dup(const void *p, size_t n); /* n may be 0 */

struct cf_buf {
    uint8_t *p;
    size_t n, cap;
};
void cf_buf_free(struct cf_buf *b);
void cf_buf_set(struct cf_buf *b, const void *p, size_t n); /* replace the content */
void cf_buf_put(struct cf_buf *b, const void *p, size_t n);
void cf_buf_str(struct cf_buf *b, const char *s);
void cf_buf_zeros(struct cf_buf *b, size_t n);
void cf_buf_u8(struct cf_buf *b, unsigned v);
void cf_buf_u16(struct cf_buf *b, unsigned v);
void cf_buf_u32(struct cf_buf *b, uint32_t v);
void cf_buf_u64(struct cf_buf *b, uint64_t v);
void cf_buf_varint(struct cf_buf *b, uint64_t v); /* minimal LEB128, spec 1.1 */
void cf_buf_pad(struct cf_buf *b, size_t align);  /* zero bytes up to a multiple of align */

void cf_put16(uint8_t *p, unsigned v);
void cf_put32(uint8_t *p, uint32_t v);
void cf_put64(uint8_t *p, uint64_t v);
uint16_t cf_get16(const uint8_t *p);
uint32_t cf_get32(const uint8_t *p);
uint64_t cf_get64(const uint8_t *p);
size_t cf_varint(uint8_t *dst, uint64_t v); /* minimal LEB128; returns 1..10 */
uint64_t cf_align(uint64_t x, uint64_t a);

uint64_t cf_xxh64(const void *p, size_t n); /* XXH64, seed 0 */
void cf_sha256_hex(const void *p, size_t n, char hex[65]);

/* splitmix64, as the manifest's seeds are documented */
struct cf_rng {
    uint64_t s;
};
uint64_t cf_next(struct cf_rng *r);
uint32_t cf_below(struct cf_rng *r, uint32_t n); /* uniform in [0, n), n > 0 */
double cf_unit(struct cf_rng *r);                /* uniform in [0, 1) */
double cf_normal(struct cf_rng *r);              /* roughly N(0, 1) */

void cf_write_file(const char *path, const void *p, size_t n);
void cf_mkdir(const char *path);

/* Spec 6.4's conversions and 6.3's affine rebuild, from the spec text
 * (ldexp and two roundings), independent of the library. */
float cf_f16_to_f32(uint16_t h);
float cf_bf16_to_f32(uint16_t b);
float cf_affine_f32(uint32_t q, double scale, double offset);
/* 6.3 for i32: returns 0 and sets *out, or -1 when out of range */
int cf_affine_i32(uint32_t q, double scale, double offset, int32_t *out);

/* ------------------------------------------------------ file model (cfile.c) */

/* One stream entry (spec 5.3.1) and its coded bytes. */
struct cf_stream {
    uint8_t role, coder, version;
    struct cf_buf params; /* coder_params */
    uint64_t decoded_len;
    struct cf_buf data;   /* the coded bytes: coded_length = data.n */
    unsigned align;       /* 0: spec 4's rule; else lay the stream out at this alignment */
    uint64_t offset;      /* filled by cf_parse and cf_serialize */
};

/* One tensor entry (spec 5.3). */
struct cf_tensor {
    struct cf_buf name; /* the whole (expanded) name */
    long shared;        /* name_shared to write; -1: the longest common prefix */
    uint8_t dtype, rank, repr;
    uint64_t section; /* section_index */
    uint64_t xxh;     /* decoded_xxh64 */
    uint64_t dims[255];
    struct cf_buf rp; /* repr_params */
    unsigned ns;      /* stream_count, and the stream entries written */
    struct cf_stream *s;
};

struct cf_section {
    char tag[4];
    uint32_t flags;       /* in the section header */
    uint32_t table_flags; /* in the TDIR table entry */
    /* A TDAT that some tensor names is laid out from its run's streams
     * (spec 4) and body is not used; any other section has this body. A
     * TDAT named by none and without a body gets the 8 bytes of an empty
     * run. */
    struct cf_buf body;
    size_t gap;  /* TDAT laid out: zero bytes between the streams and tdat_xxh64 */
    int bad_xxh; /* TDAT laid out: tdat_xxh64 with its bit 0 flipped */
    uint64_t offset, body_len; /* filled by cf_parse and cf_serialize */
};

/* Directory fields a vector can write as raw bytes of its choice (spec 5.3,
 * 5.3.1): the varints and fixed fields of one tensor entry. */
enum cf_field {
    CF_NAME_SHARED, CF_SUFFIX_LENGTH, CF_SUFFIX, CF_DTYPE, CF_RANK, CF_REPR, CF_STREAM_COUNT,
    CF_SECTION_INDEX, CF_XXH, CF_DIM, CF_RP_LENGTH, CF_RP, CF_ROLE, CF_CODER, CF_VERSION,
    CF_CP_LENGTH, CF_CP, CF_CODED_LENGTH, CF_DECODED_LENGTH
};
struct cf_patch {
    int field;     /* enum cf_field */
    size_t tensor; /* the tensor entry */
    unsigned k;    /* CF_DIM: the dimension; stream fields: the stream */
    uint8_t bytes[32];
    size_t n;      /* these bytes replace the field's */
    int cut;       /* the tensor-entry area ends right after them */
};

struct cf_file {
    uint8_t header[64]; /* header_xxh64 recomputed on serialize */
    size_t nsec;
    struct cf_section *sec;
    size_t nt;
    struct cf_tensor *t;
    uint32_t tdir_flags;
    uint64_t tdir_reserved;
    uint64_t trailer_reserved;
    struct cf_patch patch[4];
    size_t npatch;
    /* filled by cf_parse and cf_serialize */
    uint64_t tdir_offset, tdir_body_len, trailer_offset;
    uint64_t entries_at, entries_end; /* file offsets of the tensor-entry area */
};

/* An empty file (no section, no tensor), version 1.0. */
void cf_init(struct cf_file *f);
/* Parse a valid image (dies on anything the spec rejects that it meets). */
void cf_parse(struct cf_file *f, const uint8_t *img, size_t n);
void cf_free(struct cf_file *f);
void cf_copy(struct cf_file *dst, const struct cf_file *src);
/* Serialize per the spec into out (replaced): layout, padding, implied
 * stream offsets and every checksum computed. */
void cf_serialize(struct cf_file *f, struct cf_buf *out);
/* Recompute checksums of a serialized image after bytes were changed, at
 * the places the last cf_serialize put them: CF_SUM_* bits. */
enum { CF_SUM_TDAT = 1, CF_SUM_META = 2, CF_SUM_TDIR = 4, CF_SUM_HEADER = 8, CF_SUM_TRAILER = 16,
       CF_SUM_ALL = 31 };
void cf_resum(const struct cf_file *f, uint8_t *img, size_t n, unsigned which);

void cf_set_minor(struct cf_file *f, unsigned minor);
/* Sections: insert a copy of body before index at (fixing the tensors'
 * section indexes), remove one, find the first with a tag (-1: none). */
void cf_insert_section(struct cf_file *f, size_t at, const char tag[4], uint32_t flags,
                       const void *body, size_t n);
void cf_remove_section(struct cf_file *f, size_t at);
long cf_find_section(const struct cf_file *f, const char tag[4]);
/* Tensor t and the later tensors of its run move to a new TDAT inserted
 * right after their section. */
void cf_split_run(struct cf_file *f, size_t t);
/* Every tensor into one TDAT (the first), the other TDATs removed. */
void cf_merge_runs(struct cf_file *f);
/* A new tensor at index at (0 ..= nt): zeroed, shared -1, no streams. */
struct cf_tensor *cf_insert_tensor(struct cf_file *f, size_t at);
void cf_remove_tensor(struct cf_file *f, size_t at);
void cf_set_streams(struct cf_tensor *t, unsigned ns); /* new streams zeroed */
void cf_patch(struct cf_file *f, int field, size_t tensor, unsigned k, const void *bytes, size_t n,
              int cut);
/* The patch bytes of a varint of value v written minimally, or padded with
 * extra redundant bytes (0x80 continuation, final 0x00). */
void cf_patch_varint(struct cf_file *f, int field, size_t tensor, unsigned k, uint64_t v,
                     unsigned extra);

/* META bodies (spec 5.4). */
struct cf_meta {
    struct cf_buf b; /* entries */
    uint32_t count;
};
void cf_meta_entry(struct cf_meta *m, const void *key, size_t key_len, unsigned type,
                   unsigned reserved, const void *value, size_t value_len);
/* The body: entry_count (count_field), reserved, entries, checksum. */
void cf_meta_body(const struct cf_meta *m, uint32_t count_field, uint32_t reserved,
                  struct cf_buf *body);
/* Replace (or add, before TDIR) the META section's body. */
void cf_set_meta(struct cf_file *f, const struct cf_buf *body);

/* ---------------------------------------------- spec-only encoders (coders.c) */

/* A bit field written least significant bit first (spec 7.0). */
struct cf_bits {
    struct cf_buf *out;
    uint64_t acc;
    unsigned nacc;
};
void cf_bits_init(struct cf_bits *w, struct cf_buf *out);
void cf_bits_put(struct cf_bits *w, uint64_t v, unsigned n); /* first bit = bit 0 of v */
void cf_bits_flush(struct cf_bits *w);                       /* zero bits to a byte boundary */

/* huffman (7.2): LMAX, the longest code, for width w */
unsigned cf_huf_lmax(unsigned w);
/* Description tokens (7.2.3), for hand-built descriptions. */
void cf_huf_same(struct cf_bits *w);
void cf_huf_step(struct cf_bits *w, int delta); /* -2, -1, +1, +2 */
void cf_huf_literal(struct cf_bits *w, unsigned w_width, unsigned v); /* v 1..LMAX; 0: run */
void cf_huf_gamma(struct cf_bits *w, uint64_t r);
void cf_huf_skip(struct cf_bits *w, uint64_t r);
/* The shortest-ish tokens for lengths L[0 .. A) of a complete code, up to
 * the token that completes it. */
void cf_huf_describe(struct cf_bits *w, unsigned width, const uint8_t *L);
/* Canonical codes (7.2.4) for L: code[s]. */
void cf_huf_codes(unsigned width, const uint8_t *L, uint32_t *code);
/* One bitstream (7.2.5) of n symbols, byte-padded. */
void cf_huf_bitstream(struct cf_buf *out, const uint8_t *L, const uint32_t *code,
                      const uint32_t *sym, size_t n);
/* Blocks (7.2.2): header, then content. code: description + bitstreams;
 * repeat: bitstreams with the previous code. count >= 1024 gets the jump
 * table and four bitstreams. */
void cf_huf_block_run(struct cf_buf *out, unsigned width, uint32_t sym, uint64_t count);
void cf_huf_block_code(struct cf_buf *out, unsigned width, const uint8_t *L, const uint32_t *sym,
                       size_t count);
void cf_huf_block_repeat(struct cf_buf *out, unsigned width, const uint8_t *L,
                         const uint32_t *sym, size_t count);

/* rans (7.3) */
void cf_eg(struct cf_bits *w, unsigned k, uint64_t v); /* EG_k(v), 7.3.4 */
struct cf_rans_table {
    unsigned width, lanes_log2, scale_bits;
    uint32_t freq[65536]; /* f(s), 0 = absent; sum 2^scale_bits */
    unsigned set_k, freq_mode, freq_k;
};
/* The table's bits (7.3.4), byte-padded. */
void cf_rans_table_bits(struct cf_buf *out, const struct cf_rans_table *t);
/* A table stream (7.3.3, encoded per 7.3.6): table, states, words. */
void cf_rans_encode(struct cf_buf *out, const struct cf_rans_table *t, const uint32_t *sym,
                    size_t n);

/* cabac (7.4): the coded bytes of a lane that codes the given bins, each
 * with a context's probability p (units of 2^-16), without a
 * renormalization (few bins): the 7 bytes of the start value. */
void cf_cabac_bins(struct cf_buf *out, const uint8_t *bins, const uint16_t *p, size_t n);
/* How many bins a context coding only 0 bins takes before the range falls
 * below 2^24 (the first renormalization), from p = 32768, k = 0. */
uint64_t cf_cabac_zero_bins_to_renorm(void);

/* ------------------------------------ tensors through the writer (wmodel.c) */

struct cf_expect; /* manifest.c */

/* A tensor for libcnnz's writer, with its expected decoded bytes computed
 * here from the spec (section 6), not by decoding. */
struct cf_wtensor {
    struct cnnz_tensor_desc d; /* name, dims and codebook point into this struct */
    struct cf_buf name;
    uint64_t dims[CNNZ_MAX_RANK];
    struct cf_buf input;    /* what cnnz_writer_add_tensor takes */
    struct cf_buf codebook; /* ham, sham */
    struct cf_buf expect;   /* the decoded tensor */
    int out_dtype;          /* its dtype */
};
struct cf_wmeta {
    struct cf_buf key, value; /* value: string bytes, or bytes */
    int type;
    int64_t i;
    double f;
};
struct cf_wmodel {
    struct cf_wtensor *t;
    size_t nt;
    struct cf_wmeta *m;
    size_t nm;
};
/* A new tensor (name copied; dims copied; repr, coder; input and codebook
 * to fill, then cf_wexpect). */
struct cf_wtensor *cf_wadd(struct cf_wmodel *m, const void *name, size_t name_len, int dtype,
                           unsigned rank, const uint64_t *dims, int repr, int coder);
uint64_t cf_welements(const struct cf_wtensor *t);
/* Compute t->expect from input, codebook and the parameters (spec 6). */
void cf_wexpect(struct cf_wtensor *t);
struct cf_wmeta *cf_wmeta_add(struct cf_wmodel *m, const char *key, int type);
/* Write with libcnnz's writer; 0 or the writer's error. */
int cf_wwrite(struct cf_wmodel *m, struct cf_buf *img);
void cf_wfree(struct cf_wmodel *m);
/* The expected tensors of the model for the manifest (pointers into m). */
struct cf_expect *cf_wexpects(const struct cf_wmodel *m);

/* ------------------------------------------------- manifest (manifest.c) */

/* Tiers and the columns of conformance/manifest.tsv (README.md). */
#define CF_MANIFEST_HEADER                                                                  \
    "# file\ttier\texpect\tindex\ttensor\tdtype\tshape\tdecoded_xxh64\tdecoded_sha256\t"     \
    "features\tclause\n"

/* Tensor names in the manifest: bytes other than A-Z a-z 0-9 . _ - as %XX. */
void cf_name_escape(const uint8_t *name, size_t n, struct cf_buf *out);
void cf_shape_text(unsigned rank, const uint64_t *dims, struct cf_buf *out);

/* One expected tensor of a vector. */
struct cf_expect {
    const uint8_t *name;
    size_t name_len;
    int dtype; /* the decoded dtype */
    unsigned rank;
    const uint64_t *dims;
    const uint8_t *data; /* the decoded bytes (elements x dtype size) */
    size_t size;
};
/* Manifest lines of a file: one per tensor, or one with index '-' for a
 * file without tensors (nt = 0). */
void cf_manifest_decode(FILE *m, const char *file, const char *tier, const struct cf_expect *t,
                        size_t nt, const char *features, const char *clause);
void cf_manifest_reject(FILE *m, const char *file, const char *tokens, const char *what,
                        const char *clause);

#endif
