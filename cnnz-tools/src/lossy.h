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
    int on;              /* --prune or --quant given */
    double prune;        /* fraction per tensor, 0: none */
    struct cnnz_quant_options q; /* method 0: prune only (UQ with 65535 levels is not it) */
    uint64_t min_weights;
    int have_only, have_skip;
    regex_t only, skip;
    const char *report_path; /* --report FILE.json, or NULL */
    void *report;        /* json_t array of per-tensor entries */
    /* whole-model totals */
    unsigned long long tensors, weights, float_bytes;
};

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
int lossy_add(struct lossy *l, cnnz_writer *w, FILE *out, int coder, const char *path,
              const char *name, const struct cnnz_tensor_desc *d, const void *data, size_t size);
/* Summary line and the report's closing; rc is the command's status. */
int lossy_finish(struct lossy *l, int rc, unsigned long long decoded_bytes,
                 unsigned long long file_bytes, int force);
void lossy_free(struct lossy *l);

#endif
