/* The lossy stage of `cnnz convert` (issue 5): which tensors are pruned and
 * quantized, with what, and the per-tensor report. The algorithms are in
 * libcnnz (cnnz_quant.h); this file only selects, calls and prints. */
#ifndef CNNZ_LOSSY_H
#define CNNZ_LOSSY_H

#include <regex.h>
#include <stdio.h>

#include "cnnz.h"
#include "cnnz_quant.h"

struct lossy {
    int on;              /* --prune*, --quant given */
    int prune_mode;      /* which --prune* option: PRUNE_* */
    double prune;        /* its value: a fraction, or the absolute threshold */
    double rate_lambda;  /* --rate-lambda for ECSQ, or NAN */
    struct cnnz_quant_options q; /* method 0: prune only (UQ with 65535 levels is not it) */
    uint64_t min_weights;
    int have_only, have_skip;
    regex_t only, skip;
    const char *report_path; /* --report FILE.json, or NULL */
    void *report;        /* json_t array of per-tensor entries */
    /* whole-model totals */
    unsigned long long tensors, weights, float_bytes;
    char *table;         /* lines of the cnnz.quant table, malloc'd */
    size_t table_len;
    /* --prune-global: the selected tensors' weights (first pass), then
     * their masks, in the order the second pass meets them */
    float **gw;
    uint8_t **gmask;
    size_t *gn;
    size_t gcount, gcap, gnext;
};

enum { PRUNE_NONE, PRUNE_FRACTION, PRUNE_GLOBAL, PRUNE_ABSOLUTE };

/* The report kept in the file: one string metadata entry, a tab-separated
 * table with this header line, then one line per quantized tensor (its
 * index in the file). Sizes and ratios are left out: the directory has them. */
#define LOSSY_TABLE_KEY "cnnz.quant"
#define LOSSY_TABLE_HEADER "tensor\tmethod\tlevels\tsparsity\tsqnr_db\tmax_abs_error\trel_l2_error\n"

/* Parse one option at argv[*i] (advancing *i past its value). Returns 1 when
 * it was a lossy option, 0 when not, -1 (after a message) when invalid. */
int lossy_option(struct lossy *l, int argc, char **argv, int *i);
/* After parsing: check the combination, open the report. 0 or EXIT_*. */
int lossy_start(struct lossy *l);
/* 1 when the tensor is pruned/quantized: a float32 plain tensor of rank >= 2
 * with at least min_weights elements, matching --only and not --skip. */
int lossy_selected(const struct lossy *l, const char *name, const struct cnnz_tensor_desc *d);
/* Prune and quantize data (n float32) and add the tensor as HAM (the writer
 * may store it as sHAM); prints the report line. EXIT_OK or EXIT_ERR. */
int lossy_add(struct lossy *l, cnnz_writer *w, int coder, const char *path, const char *name,
              const struct cnnz_tensor_desc *d, const void *data, size_t size);
/* --prune-global reads the inputs twice: first lossy_collect for each
 * selected tensor, then lossy_global, then the usual pass of lossy_add. */
int lossy_two_pass(const struct lossy *l);
int lossy_collect(struct lossy *l, const char *path, const char *name, const void *data,
                  size_t size);
int lossy_global(struct lossy *l, const char *out);
/* Before cnnz_writer_finish: store the table (LOSSY_TABLE_KEY). EXIT_*. */
int lossy_meta(struct lossy *l, cnnz_writer *w, const char *path);
/* Summary line and the report's closing; rc is the command's status. The
 * report is never written over one of inputs[0..ninputs). */
int lossy_finish(struct lossy *l, int rc, unsigned long long decoded_bytes,
                 unsigned long long file_bytes, int force, char *const *inputs, int ninputs);
void lossy_free(struct lossy *l);

#endif
