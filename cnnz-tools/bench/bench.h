/*
 * bench.h - what the parts of the benchmark (cnnz-tools/bench) share.
 *
 *   bench.c    the section table, timing, the cnnz and peer runs, the report
 *   corpus.c   workloads built from the real models in .corpus/ with the
 *              project's own parsers (tfjs.h, onnx.h), and the pruning +
 *              quantization of ppocr-p90q32
 *   peers.c    zstd -19 and xz -9e through libzstd and liblzma
 *   stats.c    order-0 entropy and ideal Huffman code lengths
 *   matvec.c   the matvec section: products on compressed tensors vs sgemv
 *   hostile.c  the hostile section: how fast, and in how little memory,
 *              files that must be refused are refused
 *
 * The benchmark is a tool: it uses libcnnz only through cnnz.h.
 */
#ifndef CNNZ_BENCH_H
#define CNNZ_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "cnnz.h"

/* A growable byte buffer (also the writer's memory sink). */
struct membuf {
    uint8_t *p;
    size_t len, cap;
};
int membuf_reserve(struct membuf *b, size_t cap);
int membuf_append(struct membuf *b, const void *data, size_t n);
void membuf_free(struct membuf *b);

/* One tensor as handed to cnnz_writer_add_tensor, and what must come back. */
struct bt_tensor {
    const char *name;
    int dtype, repr, symbol_dtype;
    double scale, offset;   /* AFFINE */
    unsigned rank;
    uint64_t dims[CNNZ_MAX_RANK];
    uint64_t elements;
    const uint8_t *data;    /* writer input: the workload's "data to compress" */
    size_t size;
    const uint8_t *expect;  /* what cnnz_reader_decode must give, byte for byte */
    size_t expect_size;
    const uint8_t *codebook; /* HAM: codebook_size entries, little-endian dtype */
    uint32_t codebook_size;
};

/* The tensors of one model file. */
struct bt_model {
    char *name; /* file name without its folder */
    struct bt_tensor *t;
    size_t n, cap;
    void **owned; /* buffers freed with the model */
    size_t nowned, capowned;
    void *src;    /* the parser's result the tensors point into */
    void (*src_free)(void *src);
};

struct bt_workload {
    const char *name;
    const char *data_what; /* "u8 symbols", "f32 values", ... */
    unsigned width;        /* bytes per element of that data */
    struct bt_model *m;
    size_t nm;
};

/* corpus.c: fill w (zeroed by the caller) or return non-zero after printing
 * why to stderr. dir is the corpus folder (.corpus). */
int corpus_faceapi_u8(const char *dir, struct bt_workload *w);
int corpus_ppocr_f32(const char *dir, struct bt_workload *w);
int corpus_ppocr_p90q32(const char *dir, struct bt_workload *w);
void corpus_free(struct bt_workload *w);
/* The whole file at path, malloc'ed (freed by the caller); non-zero on failure. */
int read_whole(const char *path, unsigned char **data, size_t *size);
/* Allocate size bytes owned by m (freed by corpus_free); NULL on failure. */
void *model_alloc(struct bt_model *m, size_t size);
/* A new zeroed tensor slot in m; NULL on failure. */
struct bt_tensor *model_add(struct bt_model *m);

/* peers.c: compress src into out (replacing its content); 0 or non-zero with
 * a message in err. Decompress into dst[0..dst_len) exactly. */
int peer_zstd_compress(const uint8_t *src, size_t n, struct membuf *out, char *err, size_t esz);
int peer_zstd_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len, char *err,
                         size_t esz);
int peer_xz_compress(const uint8_t *src, size_t n, struct membuf *out, char *err, size_t esz);
int peer_xz_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len, char *err,
                       size_t esz);
/* "zstd 1.5.4", "liblzma 5.4.1". */
const char *peer_zstd_version(void);
const char *peer_xz_version(void);

/* bench.c: a monotonic clock, in seconds; the median of s[0..n) (sorts s). */
double bench_now(void);
double bench_median(double *s, unsigned n);

/* matvec.c: the matvec section (cnnz_matvec against OpenBLAS sgemv and a
 * CSR loop); reps timings per median. Non-zero on an error. */
int bench_matvec(const char *corpus, unsigned reps);

/* hostile.c: the hostile section (conformance/ and $BENCH_HOSTILE_DIR);
 * reps timings per median. Non-zero on an error or a file not refused. */
int bench_hostile(unsigned reps);

/* stats.c */
/* n * H0 / 8: the order-0 entropy bound in bytes of p[0..n) as byte symbols. */
double order0_bytes(const uint8_t *p, size_t n);
/* Order-0 bound of each of the `width` byte positions of the elements, summed. */
double order0_planes_bytes(const uint8_t *p, size_t n, unsigned width);
/* Total bits of an optimal (unlimited-length) Huffman code for these symbol
 * counts; a single used symbol costs 1 bit per occurrence. */
uint64_t huffman_bits(const uint64_t *freq, unsigned nsym);
/* ceil(log2(x)) for x >= 1 (0 for x = 1). */
unsigned ceil_log2(uint64_t x);

#endif
