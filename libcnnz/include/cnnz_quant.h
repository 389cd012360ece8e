/*
 * cnnz_quant.h - the lossy stage of libcnnz: pruning and scalar quantization
 * of float32 weights into a codebook + one index per weight, the input of the
 * HAM and sHAM representations (CNNZ_REPR_HAM / CNNZ_REPR_SHAM in cnnz.h).
 *
 * Method of Marino, Ghidoli, Frasca, Malchiodi, "Compression strategies and
 * space-conscious representations for deep neural networks" (ICPR 2020):
 * prune, then share weights (quantize), then source-code the indices.
 *
 * Encoder side only: a decode-only build of libcnnz leaves these functions
 * out, and nothing in the reader depends on them.
 *
 * Conventions (those of cnnz.h, plus):
 *  - Functions return 0 (CNNZ_OK) or a CNNZ_E_* value from cnnz.h:
 *      CNNZ_E_ARG    a bad argument (NULL pointer, n = 0, levels = 0 or
 *                    > CNNZ_QUANT_MAX_LEVELS, unknown method, fraction
 *                    outside [0, 1], NaN option);
 *      CNNZ_E_INPUT  a weight is NaN or infinite (the report, when given,
 *                    says which one); nothing is written to the outputs;
 *      CNNZ_E_BUFFER the codebook buffer is smaller than levels + 1;
 *      CNNZ_E_NOMEM  the allocator failed; nothing leaks.
 *    On any error the contents of the output buffers are unspecified.
 *  - Inputs are read only; outputs are caller buffers. Scratch memory goes
 *    through the caller's cnnz_allocator (malloc/free when NULL) and is freed
 *    before the function returns.
 *  - No global state: every function is reentrant and thread-safe; calls on
 *    disjoint outputs may run concurrently.
 *  - Deterministic: the same inputs and options (seed included) give the
 *    same codebook and indices, byte for byte, on every run.
 *
 * A typical encoder:
 *
 *     uint8_t *mask = ...n bytes...;
 *     cnnz_prune_fraction(w, n, 0.9, mask, NULL, NULL);
 *     struct cnnz_quant_options o = {.method = CNNZ_QUANT_CWS, .levels = 32};
 *     float cb[33]; uint32_t cbn = 33; uint8_t *idx = ...n bytes...;
 *     cnnz_quantize(w, n, mask, &o, cb, &cbn, idx, &report);
 *     desc.repr = CNNZ_REPR_SHAM; desc.symbol_dtype = cnnz_quant_index_dtype(32);
 *     desc.codebook = cb; desc.codebook_size = cbn;   (float is little-endian)
 *     cnnz_writer_add_tensor(wr, &desc, idx, n);
 */
#ifndef CNNZ_QUANT_H
#define CNNZ_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "cnnz.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- pruning */

/* A prune mask has one byte per weight: non-zero = pruned (the weight becomes
 * an exact 0 through codebook entry 0), zero = kept. The prune functions
 * write every byte of the mask (0 or 1); combine masks yourself if needed. */

struct cnnz_prune_result {
    uint64_t weights; /* weights looked at */
    uint64_t pruned;  /* mask bytes set to 1 */
    /* Magnitude cut: every pruned weight has |w| <= threshold and every kept
     * one |w| >= threshold. Fraction pruning: |w| of the last weight pruned
     * (0 when none). Threshold pruning: the threshold given. */
    float threshold;
};

/* Prune the fraction `fraction` (0..1) of the weights with the smallest
 * magnitude: floor(fraction * n) weights (the product in binary64 with a
 * 1e-6 tolerance, so 0.29 * 100 prunes 29). Order: |w| ascending, ties by
 * element index (the lower index is pruned first), so the result is unique.
 * -0.0 and +0.0 have the same magnitude. O(n) time (two-pass radix select),
 * 512 KiB of scratch. result may be NULL.
 * Errors: CNNZ_E_ARG (w, mask NULL; n = 0; fraction NaN or outside [0, 1]),
 * CNNZ_E_INPUT (a weight is NaN or infinite; mask untouched), CNNZ_E_NOMEM. */
CNNZ_API int cnnz_prune_fraction(const float *w, size_t n, double fraction, uint8_t *mask,
                                 const struct cnnz_allocator *allocator,
                                 struct cnnz_prune_result *result);

/* One magnitude threshold across several tensors (global pruning): prunes
 * floor(fraction * total) of all the weights, those of smallest |w|, ties by
 * (tensor position in the arrays, element index). w[i] has n[i] weights and
 * mask[i] gets n[i] bytes; n[i] may be 0 (then w[i], mask[i] may be NULL) but
 * the total must not be. Same errors as cnnz_prune_fraction. */
CNNZ_API int cnnz_prune_global(const float *const *w, const size_t *n, size_t count,
                               double fraction, uint8_t *const *mask,
                               const struct cnnz_allocator *allocator,
                               struct cnnz_prune_result *result);

/* Absolute threshold: prune every weight with |w| <= threshold (threshold 0
 * prunes the exact zeros; a negative one prunes nothing). No scratch memory.
 * Errors: CNNZ_E_ARG (w, mask NULL; n = 0; threshold NaN), CNNZ_E_INPUT. */
CNNZ_API int cnnz_prune_threshold(const float *w, size_t n, double threshold, uint8_t *mask,
                                  struct cnnz_prune_result *result);

/* ----------------------------------------------------------- quantization */

enum cnnz_quant_method {
    CNNZ_QUANT_UQ = 1,   /* uniform levels (quant_uq.c) */
    CNNZ_QUANT_CWS = 2,  /* clustering weight sharing: k-means (quant_kmeans.c) */
    CNNZ_QUANT_PWS = 3,  /* probabilistic weight sharing (quant_pws.c) */
    CNNZ_QUANT_ECSQ = 4  /* entropy-constrained scalar quantization (quant_ecsq.c) */
};
/* "uq", "cws", "pws", "ecsq"; NULL when unknown. */
CNNZ_API const char *cnnz_quant_method_name(int method);

/* levels counts the values the kept weights may take; the codebook holds
 * them after entry 0, so codebook_size <= levels + 1 <= 65536. */
#define CNNZ_QUANT_MAX_LEVELS 65535u

/* The index type for a number of levels: CNNZ_DT_U8 when levels + 1 <= 256,
 * CNNZ_DT_U16 when levels + 1 <= 65536, 0 otherwise (levels = 0 gives U8). */
CNNZ_API int cnnz_quant_index_dtype(uint32_t levels);

enum cnnz_uq_mode {
    /* With 3 or more levels both put 0.0 on the grid (an integer zero
     * point), so kept weights within step / 2 of zero become exact zeros. */
    CNNZ_UQ_ASYMMETRIC = 0, /* levels cover [min, max] of the kept weights */
    CNNZ_UQ_SYMMETRIC = 1   /* levels cover [-m, m], m = max |w| of the kept weights */
};

enum cnnz_kmeans_init {
    CNNZ_KMEANS_LINEAR = 0,   /* centroids evenly spaced over [min, max] */
    CNNZ_KMEANS_PLUSPLUS = 1  /* k-means++ D^2 seeding, from seed */
};

/* Called once per iteration of CWS (k-means) and ECSQ with the iteration
 * number (1-based), the squared error summed over the kept weights at the
 * end of that iteration, and the rate in bits per kept weight (the order-0
 * entropy of the level usage). Computed on the histogram the iterations run
 * on (see quant_kmeans.c); k-means distortion never increases from one call
 * to the next (up to rounding). For ECSQ with a target rate only the run at
 * the chosen lambda is traced. */
typedef void (*cnnz_quant_trace_fn)(void *opaque, unsigned iteration, double distortion,
                                    double rate);

/* A zeroed struct with method and levels set is a valid set of defaults. */
struct cnnz_quant_options {
    int method;      /* CNNZ_QUANT_* */
    uint32_t levels; /* 1..CNNZ_QUANT_MAX_LEVELS values for the kept weights */
    /* Besides the mask, weights with |w| <= prune_threshold are pruned. The
     * exact zeros always are (entry 0 reproduces them exactly; -0.0 decodes
     * as +0.0). Must not be NaN. */
    double prune_threshold;
    uint64_t seed;   /* k-means++ seeding and PWS rounding */
    int uq_mode;     /* UQ: CNNZ_UQ_ASYMMETRIC or CNNZ_UQ_SYMMETRIC */
    int kmeans_init; /* CWS, and the starting codebook of ECSQ: CNNZ_KMEANS_* */
    unsigned max_iterations; /* CWS, ECSQ (per lambda); 0: 300 */
    /* ECSQ: minimise D / (N s2) + lambda * R per kept weight, D the squared
     * error, N the kept weights, s2 their mean square (so lambda does not
     * depend on the weights' scale) and R the bits of the level (-log2 p).
     * target_bits > 0: bisect lambda (log scale, [1e-9, 1e6]) to where the
     * order-0 index entropy (all weights, entry 0 included, as in the report)
     * crosses target_bits, keeping the side with entropy <= target_bits as
     * the histogram estimates it (the exact final figure, in the report, may
     * differ by a few thousandths of a bit); lambda 0 when k-means alone is
     * under the target, 1e6 when the target is out of reach. Else lambda is
     * used as given (>= 0; 0 gives the k-means codebook). */
    double lambda;
    double target_bits;
    cnnz_quant_trace_fn trace; /* NULL: none */
    void *trace_opaque;
    const struct cnnz_allocator *allocator; /* NULL: malloc/free */
};

/* What a quantization did; all error figures against the original weights
 * (pruned ones included, whose error is |w|). */
struct cnnz_quant_report {
    int method;
    uint32_t levels;        /* codebook entries in use for kept weights (<= options.levels) */
    uint32_t codebook_size; /* entries written: levels + 1 (entry 0 = 0.0f) */
    uint64_t weights;       /* all weights */
    uint64_t pruned;        /* weights pruned (mask, threshold, exact zeros) */
    uint64_t zeros;         /* weights with index 0 (pruned, or quantized to 0.0) */
    double sparsity;        /* zeros / weights */
    double entropy_bits;    /* order-0 entropy of the indices, bits per weight */
    double mse;             /* mean squared error */
    double sqnr_db;         /* 10 log10(sum w^2 / sum (w - q)^2); +inf when the error is 0 */
    double max_abs_error;   /* max |w - q| */
    double rel_l2_error;    /* ||w - q|| / ||w|| (0 when ||w|| = 0) */
    unsigned iterations;    /* CWS, ECSQ: iterations of the (final) run */
    double lambda;          /* ECSQ: the lambda used */
    double step;            /* UQ: the level spacing (with 1 or 2 levels: max - min) */
    /* UQ with 3 or more levels: the levels lie on a grid through zero, level
     * q (0 <= q < levels) being (q - zero_point) * step as spec 6.3 `affine`
     * computes it (grid = 1); so cnnz_quant_affine can store the tensor as
     * symbols with a scale and an offset instead of a codebook. */
    int grid;
    uint32_t zero_point;
    /* CNNZ_E_INPUT: which weight is not finite (tensor position, element);
     * -1 otherwise. */
    int64_t bad_tensor;
    int64_t bad_index;
};

/* Quantize n weights w (float32, host order). Weights pruned by mask (NULL:
 * none), by options->prune_threshold, and the exact zeros get index 0; every
 * other weight gets a level chosen by options->method.
 *
 * codebook: room for *codebook_size floats (in: the capacity, which must be
 * >= levels + 1; out: the entries written). Entry 0 is 0.0f; entries 1.. are
 * the levels in use, distinct, non-zero, ascending; unused levels are left
 * out, so fewer than levels + 1 entries is normal.
 * indices: n indices of cnnz_quant_index_dtype(levels), each 1 or 2 bytes
 * little-endian: exactly what cnnz_writer_add_tensor takes for HAM and SHAM
 * with that symbol_dtype. Dequantized weight i = codebook[index[i]].
 * report may be NULL.
 *
 * Each kept weight goes to the nearest codebook value (UQ, CWS: a binary
 * search over the midpoints of the float codebook; a weight exactly halfway
 * goes to the lower value), to the interval of the
 * ECSQ decision thresholds it falls in, or (PWS) to one of the two levels
 * around it at random. Time: O(n log levels) plus, for CWS and ECSQ, a
 * histogram on which the iterations run: 2^16 bins (16 per level when more
 * levels need it, 16 per weight for fewer than 4096 kept weights). */
CNNZ_API int cnnz_quantize(const float *w, size_t n, const uint8_t *mask,
                           const struct cnnz_quant_options *options, float *codebook,
                           uint32_t *codebook_size, void *indices,
                           struct cnnz_quant_report *report);

/* One tensor of a set quantized with one shared codebook. */
struct cnnz_quant_tensor {
    const float *weights;
    size_t n;             /* >= 1 */
    const uint8_t *mask;  /* NULL: no mask */
    void *indices;        /* out: n indices, as for cnnz_quantize */
};

/* One codebook shared by count tensors (e.g. all layers of a model): the
 * levels are fitted to all their kept weights together. The report covers
 * the whole set (use cnnz_quant_evaluate for one tensor's figures).
 * PWS draws its random numbers per (tensor position, element), so a tensor's
 * indices do not depend on the order the others are processed in. */
CNNZ_API int cnnz_quantize_set(const struct cnnz_quant_tensor *tensors, size_t count,
                               const struct cnnz_quant_options *options, float *codebook,
                               uint32_t *codebook_size, struct cnnz_quant_report *report);

/* Error and rate figures of an existing codebook + indices against the
 * original weights: fills report's weights, zeros, sparsity, entropy_bits,
 * mse, sqnr_db, max_abs_error, rel_l2_error and levels (entries other than 0
 * that are used); the rest is zeroed (bad_*: -1). index_dtype CNNZ_DT_U8 or
 * U16 (little-endian). CNNZ_E_ARG for bad arguments, CNNZ_E_INPUT for an
 * index >= codebook_size (bad_index says which). Needs scratch memory for
 * the entry counts (codebook_size * 8 bytes). */
CNNZ_API int cnnz_quant_evaluate(const float *w, size_t n, const float *codebook,
                                 uint32_t codebook_size, const void *indices, int index_dtype,
                                 const struct cnnz_allocator *allocator,
                                 struct cnnz_quant_report *report);

/* Turn the codebook indices of a grid quantization (report->grid, from
 * cnnz_quantize of this codebook) into `affine` symbols in place: each index
 * becomes its level's grid position q, so that codebook[index] ==
 * to_f32(to_f64(q) * *scale + *offset) exactly (spec 6.3), which is checked
 * for every entry. index_dtype as for cnnz_quant_evaluate; the symbols keep
 * it. CNNZ_E_UNSUPPORTED when the report has no grid or an entry is not on
 * it, CNNZ_E_INPUT for an index >= codebook_size: the indices are then
 * untouched. No memory is allocated. */
CNNZ_API int cnnz_quant_affine(const float *codebook, uint32_t codebook_size,
                               const struct cnnz_quant_report *report, void *indices, size_t n,
                               int index_dtype, double *scale, double *offset);

#ifdef __cplusplus
}
#endif
#endif /* CNNZ_QUANT_H */
