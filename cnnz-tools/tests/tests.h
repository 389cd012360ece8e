/* The cnnz-tools Check suites, run by test_main.c. */
#ifndef CNNZ_TOOLS_TESTS_H
#define CNNZ_TOOLS_TESTS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

Suite *suite_npy(void);
Suite *suite_tfjs(void);
Suite *suite_safetensors(void);
Suite *suite_npz(void);
Suite *suite_onnx(void);

/* Helpers shared by the suites (test_util.c). */

/* A growable output buffer, usable as a writer callback: the write with
 * index fail_at fails, and every later one (-1: never). */
struct buf {
    unsigned char *data;
    size_t len, cap;
    long writes, fail_at;
};
void buf_init(struct buf *b);
int buf_write(void *opaque, const void *p, size_t n);
/* An exact-size heap copy, so ASan sees any read past the end; free() it. */
unsigned char *dup_exact(const void *p, size_t n);
/* splitmix64 step. */
uint64_t rng_next(uint64_t *s);

#endif
