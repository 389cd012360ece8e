/* The coder registry table (spec 7). */
#include <string.h>

#include "coder.h"

static const struct cnnz__coder *const coders[] = {
    &cnnz__coder_raw, /* id 0 */
    &cnnz__coder_huffman, /* id 1 */
    &cnnz__coder_rans, /* id 2 */
    &cnnz__coder_cabac, /* id 3 */
};
#define NCODERS (sizeof coders / sizeof coders[0])

unsigned cnnz__coder_count(void)
{
    return (unsigned)NCODERS;
}

const struct cnnz__coder *cnnz__coder_at(unsigned i)
{
    return i < NCODERS ? coders[i] : NULL;
}

const struct cnnz__coder *cnnz__coder_get(unsigned id)
{
    for (size_t i = 0; i < NCODERS; i++)
        if (coders[i]->id == id)
            return coders[i];
    return NULL;
}

const char *cnnz_coder_name(int coder)
{
    const struct cnnz__coder *c = coder < 0 ? NULL : cnnz__coder_get((unsigned)coder);
    return c ? c->name : NULL;
}

int cnnz_coder_from_name(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < NCODERS; i++)
        if (strcmp(coders[i]->name, name) == 0)
            return coders[i]->id;
    return -1;
}
