/* The representation registry table (spec 6) and role names. */
#include "repr.h"

static const struct cnnz__repr *const reprs[] = {
    &cnnz__repr_plain,  /* 0 */
    &cnnz__repr_affine, /* 1 */
    &cnnz__repr_widen,  /* 2 */
};
#define NREPRS (sizeof reprs / sizeof reprs[0])

const struct cnnz__repr *cnnz__repr_get(unsigned id)
{
    for (size_t i = 0; i < NREPRS; i++)
        if (reprs[i]->id == id)
            return reprs[i];
    return NULL;
}

const char *cnnz_repr_name(int repr)
{
    const struct cnnz__repr *r = repr < 0 ? NULL : cnnz__repr_get((unsigned)repr);
    return r ? r->name : NULL;
}

const char *cnnz_role_name(int role)
{
    switch (role) {
    case CNNZ_ROLE_VALUES:
        return "values";
    case CNNZ_ROLE_SYMBOLS:
        return "symbols";
    default:
        return NULL;
    }
}

int cnnz__reserved_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}
