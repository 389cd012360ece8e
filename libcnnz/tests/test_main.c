/* The libcnnz test runner: every suite in one SRunner.
 *
 *   CNNZ_TEST_SEED=0x1234  reproduce a run (the seed is printed first)
 *   CNNZ_TEST_ITER=0.2     scale the random loops (e.g. under sanitizers)
 *   CK_RUN_SUITE=robust    run one suite; CK_RUN_CASE likewise (Check)
 *   CK_FORK=no             run in-process (for a debugger)
 *
 * Exit status: 0 when every test passed, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tests.h"

static uint64_t pick_seed(void)
{
    const char *e = getenv("CNNZ_TEST_SEED");
    if (e && *e) {
        char *end;
        unsigned long long v = strtoull(e, &end, 0);
        if (end != e && *end == '\0')
            return (uint64_t)v;
        fprintf(stderr, "CNNZ_TEST_SEED='%s' is not a number; choosing a seed\n", e);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * UINT64_C(1000000007) ^ (uint64_t)ts.tv_nsec ^
           (uint64_t)getpid() << 40;
}

int main(void)
{
    uint64_t seed = pick_seed();
    test_seed_set(seed);
    printf("libcnnz tests: seed 0x%016llx (set CNNZ_TEST_SEED=0x%016llx to reproduce)\n",
           (unsigned long long)seed, (unsigned long long)seed);
    fflush(stdout);

    SRunner *sr = srunner_create(suite_util());
    srunner_add_suite(sr, suite_error());
    srunner_add_suite(sr, suite_convert());
    srunner_add_suite(sr, suite_roundtrip());
    srunner_add_suite(sr, suite_writer());
    srunner_add_suite(sr, suite_robust());
    srunner_add_suite(sr, suite_limits());
    srunner_add_suite(sr, suite_alloc());
    srunner_add_suite(sr, suite_open());
    srunner_add_suite(sr, suite_view());
    srunner_add_suite(sr, suite_patch());
    srunner_add_suite(sr, suite_spec());
    srunner_add_suite(sr, suite_quant());
    srunner_add_suite(sr, suite_huffman());
    srunner_add_suite(sr, suite_rans());
    srunner_add_suite(sr, suite_cabac());
    srunner_add_suite(sr, suite_matvec());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        printf("libcnnz tests: %d failed (seed 0x%016llx)\n", failed, (unsigned long long)seed);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
