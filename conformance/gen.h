/* gen.h - the parts of cnnz-gen-vectors (gen.c, gen_valid.c,
 * gen_invalid.c, gen_uncommon.c). */
#ifndef CNNZ_CONFORMANCE_GEN_H
#define CNNZ_CONFORMANCE_GEN_H

#include "cf.h"

struct gen {
    const char *dir;
    FILE *manifest;
    char **names; /* every file written, to refuse a name twice */
    size_t nnames;
    struct cf_buf img; /* scratch */
};

/* A vector that decodes (tier "valid" or "uncommon"): DIR/TIER/NAME.cnnz
 * and its manifest lines. */
void gen_decode(struct gen *g, const char *tier, const char *name, const uint8_t *img, size_t n,
                const struct cf_expect *t, size_t nt, const char *features, const char *sections);
/* The same for a model written by libcnnz's writer. */
void gen_decode_w(struct gen *g, const char *tier, const char *name, struct cf_wmodel *m,
                  const char *features, const char *sections);
/* The same for a file model (serialized here) whose tensors are m's. */
void gen_decode_f(struct gen *g, const char *tier, const char *name, struct cf_file *f,
                  const struct cf_wmodel *m, const char *features, const char *sections);
/* A vector a decoder must reject: DIR/invalid/NAME.cnnz, the tokens it may
 * report ("CNNZ_E_X" or "CNNZ_E_X|CNNZ_E_Y"), what is wrong, the clause. */
void gen_reject(struct gen *g, const char *name, const uint8_t *img, size_t n, const char *tokens,
                const char *what, const char *clause);
/* Serialize f and write it as gen_reject. */
void gen_reject_f(struct gen *g, const char *name, struct cf_file *f, const char *tokens,
                  const char *what, const char *clause);
/* The file model of what the writer makes of m (and a check that the model
 * serializes it back to the same bytes). */
void gen_base(struct cf_wmodel *m, struct cf_file *f);

/* A tensor appended to a file model built by hand, in its last TDAT (a new
 * one when the last section is not a TDAT), with room for ns streams. */
struct cf_tensor *gen_tensor(struct cf_file *f, const char *name, int dtype, unsigned rank,
                             const uint64_t *dims, int repr, const void *rp, size_t rp_len,
                             unsigned ns);
void gen_stream(struct cf_tensor *t, unsigned k, int role, int coder, const void *params,
                size_t params_len, const void *data, size_t data_len, uint64_t decoded_len);

/* f (initialized here) holds one plain tensor NAME of n elements of u8 (w
 * 1) or u16 (w 2) whose stream is coded as given; its decoded_xxh64 is
 * that of dec (dec_n bytes). The dims are in dims[0]. */
void gen_stream_model(struct cf_file *f, uint64_t dims[1], const char *name, unsigned w,
                      uint64_t n, int coder, const void *params, size_t params_len,
                      const void *coded, size_t coded_len, uint64_t decoded_len, const void *dec,
                      size_t dec_n);

/* A decode vector of such a file (tier, name): dec holds the decoded bytes
 * (dec_n / w symbols). */
void gen_stream_file(struct gen *g, const char *tier, const char *name, unsigned w, int coder,
                     const void *params, size_t params_len, const void *coded, size_t coded_len,
                     const uint8_t *dec, size_t dec_n, const char *features, const char *sections);

void gen_valid(struct gen *g);
void gen_invalid(struct gen *g);
void gen_uncommon(struct gen *g);

#endif
