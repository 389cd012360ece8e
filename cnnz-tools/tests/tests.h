/* The cnnz-tools Check suites, run by test_main.c. */
#ifndef CNNZ_TOOLS_TESTS_H
#define CNNZ_TOOLS_TESTS_H

#include <check.h>

Suite *suite_npy(void);
Suite *suite_tfjs(void);
Suite *suite_safetensors(void);
Suite *suite_npz(void);
Suite *suite_onnx(void);

#endif
