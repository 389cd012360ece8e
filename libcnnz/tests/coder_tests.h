/* What the white-box coder suites (test_huffman.c, test_rans.c,
 * test_cabac.c) share: the registered coder and the default allocator. */
#ifndef CNNZ_CODER_TESTS_H
#define CNNZ_CODER_TESTS_H

#include "coder.h"
#include "tests.h"

/* The registered coder with this id (the test fails when there is none). */
static inline const struct cnnz__coder *coder_of(unsigned id)
{
    const struct cnnz__coder *c = cnnz__coder_get(id);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* libcnnz's default allocator (malloc/free), as a reader would pass it. */
static inline struct cnnz__alloc lib_alloc(void)
{
    struct cnnz__alloc a;
    cnnz__alloc_init(&a, NULL);
    return a;
}

#endif
