/* Helpers shared by the cnnz-tools suites (tests.h). */
#include <stdlib.h>
#include <string.h>

#include "tests.h"

int buf_write(void *opaque, const void *p, size_t n)
{
    struct buf *b = opaque;
    if (b->fail_at >= 0 && b->writes >= b->fail_at)
        return -1;
    b->writes++;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->data = realloc(b->data, cap);
        ck_assert_ptr_nonnull(b->data);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void buf_init(struct buf *b)
{
    memset(b, 0, sizeof *b);
    b->fail_at = -1;
}

unsigned char *dup_exact(const void *p, size_t n)
{
    unsigned char *d = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}
