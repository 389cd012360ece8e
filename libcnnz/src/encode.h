/* Encoder side of a tensor: pick its layout (representation) and, per
 * stream, its coder; the writer then only lays the result out (spec 4, 5). */
#ifndef CNNZ_ENCODE_H
#define CNNZ_ENCODE_H

#include "coder.h"
#include "repr.h"

struct cnnz__enc_stream {
    uint8_t role, coder, version;
    uint64_t align;
    uint64_t decoded_len;
    const uint8_t *coded; /* into the split's data or out */
    size_t coded_len;
    struct cnnz__buf out, params;
};

struct cnnz__enc_tensor {
    struct cnnz_tensor_info ti; /* as a reader will see it (repr, params) */
    const struct cnnz__repr *rep;
    struct cnnz__split split;
    unsigned n;
    struct cnnz__enc_stream s[255];
    uint64_t decoded_xxh64;
    uint64_t cost; /* estimated file bytes: coded + entries + padding */
};

/* Encode a described tensor (ti filled and checked from desc by the writer,
 * ti->repr the caller's representation). coder: a coder id, or
 * CNNZ_CODER_AUTO to try every layout and coder and keep the smallest.
 * On success *out holds the result; free it with cnnz__enc_free. */
CNNZ__INTERNAL int cnnz__encode_tensor(const struct cnnz__alloc *a,
                                       const struct cnnz_tensor_info *ti, int coder,
                                       const uint8_t *data, size_t size, const uint8_t *codebook,
                                       unsigned threads, struct cnnz__enc_tensor **out);
CNNZ__INTERNAL void cnnz__enc_free(const struct cnnz__alloc *a, struct cnnz__enc_tensor *e);

#endif
