/* The caller-controlled allocator and the growable buffer built on it. */
#include <stdlib.h>

#include "common.h"

static void *default_alloc(void *opaque, size_t size)
{
    (void)opaque;
    return malloc(size);
}

static void default_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

void cnnz__alloc_init(struct cnnz__alloc *a, const struct cnnz_allocator *user)
{
    if (user && user->alloc && user->free) {
        a->alloc = user->alloc;
        a->free = user->free;
        a->opaque = user->opaque;
    } else {
        a->alloc = default_alloc;
        a->free = default_free;
        a->opaque = NULL;
    }
}

void *cnnz__malloc(const struct cnnz__alloc *a, size_t n)
{
    if (n == 0)
        n = 1; /* a valid pointer keeps callers free of zero-size special cases */
    return a->alloc(a->opaque, n);
}

void *cnnz__malloc_array(const struct cnnz__alloc *a, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return cnnz__malloc(a, n * size);
}

void cnnz__free(const struct cnnz__alloc *a, void *p)
{
    if (p)
        a->free(a->opaque, p);
}

int cnnz__buf_reserve(struct cnnz__buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return CNNZ_E_NOMEM;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return CNNZ_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = cnnz__malloc(b->a, cap);
    if (!p)
        return CNNZ_E_NOMEM;
    if (b->len)
        memcpy(p, b->data, b->len);
    cnnz__free(b->a, b->data);
    b->data = p;
    b->cap = cap;
    return CNNZ_OK;
}

int cnnz__buf_append(struct cnnz__buf *b, const void *p, size_t n)
{
    int err = cnnz__buf_reserve(b, n);
    if (err)
        return err;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return CNNZ_OK;
}

int cnnz__buf_zeros(struct cnnz__buf *b, size_t n)
{
    int err = cnnz__buf_reserve(b, n);
    if (err)
        return err;
    if (n)
        memset(b->data + b->len, 0, n);
    b->len += n;
    return CNNZ_OK;
}

void cnnz__buf_free(struct cnnz__buf *b)
{
    cnnz__free(b->a, b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
