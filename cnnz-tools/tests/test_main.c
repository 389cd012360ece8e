/* One runner for every cnnz-tools suite. */
#include <stdio.h>
#include <stdlib.h>

#include "tests.h"

int main(void)
{
    SRunner *sr = srunner_create(suite_npy());
    srunner_add_suite(sr, suite_tfjs());
    srunner_add_suite(sr, suite_safetensors());
    srunner_add_suite(sr, suite_npz());
    srunner_add_suite(sr, suite_onnx());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
