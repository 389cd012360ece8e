/* The representation registry table (spec 6) and role names. */
#include "repr.h"

static const struct cnnz__repr *const reprs[] = {
    &cnnz__repr_plain,  /* 0 */
    &cnnz__repr_affine, /* 1 */
    &cnnz__repr_widen,  /* 2 */
    &cnnz__repr_planes, /* 3 */
    &cnnz__repr_ham,    /* 4 */
    &cnnz__repr_sham,   /* 5 */
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
    static const char *const names[] = {"values", "symbols", "high", "plane", "codebook", "runs"};
    return role >= 0 && (size_t)role < sizeof names / sizeof names[0] ? names[role] : NULL;
}

unsigned cnnz__repr_one(const struct cnnz_tensor_info *ti)
{
    (void)ti;
    return 1;
}

void cnnz__split_free(const struct cnnz__alloc *a, struct cnnz__split *sp)
{
    for (unsigned k = 0; k < sp->n; k++) {
        cnnz__free(a, sp->owned[k]);
        sp->owned[k] = NULL;
    }
    sp->n = 0;
}

/* The single stream of plain, affine and widen is the writer's input. */
int cnnz__split_one(const struct cnnz__alloc *a, const struct cnnz_tensor_info *ti,
                    const uint8_t *data, size_t size, const uint8_t *codebook,
                    struct cnnz__split *sp)
{
    (void)a, (void)codebook;
    const struct cnnz__repr *rep = cnnz__repr_get((unsigned)ti->repr);
    uint64_t len, unit;
    if (rep->stream(ti, 0, &sp->role[0], &len, &unit) || len != size)
        return CNNZ_E_ARG;
    sp->n = 1;
    sp->data[0] = data;
    sp->len[0] = size;
    sp->owned[0] = NULL;
    return CNNZ_OK;
}

int cnnz__reserved_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}
