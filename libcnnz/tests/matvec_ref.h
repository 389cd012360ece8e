/* The dense products in cnnz.h's order (cnnz_matvec's "Arithmetic"), which
 * cnnz_matvec and cnnz_vecmat must equal bit for bit: the one reference of
 * test_matvec.c, fuzz/fuzz_matvec.c and the matvec bench, written from the
 * header's text, not from matvec.c. */
#ifndef CNNZ_MATVEC_REF_H
#define CNNZ_MATVEC_REF_H

#include <stdint.h>
#include <string.h>

#include "cnnz.h"

/* Element e (little-endian) of a float tensor of dtype f32, f16 or bf16,
 * as the float the products multiply (f16/bf16 widened exactly). */
static inline float ref_element(const uint8_t *e, int dtype)
{
    if (dtype == CNNZ_DT_F32) {
        uint32_t u = (uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 |
                     (uint32_t)e[3] << 24;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    uint16_t h = (uint16_t)(e[0] | e[1] << 8);
    return dtype == CNNZ_DT_F16 ? cnnz_f16_to_f32(h) : cnnz_bf16_to_f32(h);
}

/* y = W x: per row, 16 partial sums by column mod 16, then a fixed tree. */
static inline void ref_matvec(const float *w, uint64_t rows, uint64_t cols, const float *x,
                              float *y)
{
    for (uint64_t r = 0; r < rows; r++) {
        float s[16] = {0}, t[8], u[4];
        for (uint64_t c = 0; c < cols; c++)
            s[c % 16] += w[r * cols + c] * x[c];
        for (int j = 0; j < 8; j++)
            t[j] = s[j] + s[j + 8];
        for (int j = 0; j < 4; j++)
            u[j] = t[j] + t[j + 4];
        y[r] = (u[0] + u[2]) + (u[1] + u[3]);
    }
}

/* y = x^T W: per block of block_rows rows (sham; 0 or more than rows: one
 * block) a partial from +0.0 in increasing row, the partials added left to
 * right. part: cols floats of scratch. */
static inline void ref_vecmat(const float *w, uint64_t rows, uint64_t cols, uint64_t block_rows,
                              const float *x, float *y, float *part)
{
    if (!block_rows || block_rows > rows)
        block_rows = rows ? rows : 1;
    for (uint64_t c = 0; c < cols; c++)
        y[c] = 0.0f;
    for (uint64_t r0 = 0; r0 < rows; r0 += block_rows) {
        for (uint64_t c = 0; c < cols; c++) {
            float s = 0.0f;
            for (uint64_t r = r0; r < r0 + block_rows && r < rows; r++)
                s += w[r * cols + c] * x[r];
            part[c] = s;
        }
        for (uint64_t c = 0; c < cols; c++)
            y[c] = r0 == 0 ? part[c] : y[c] + part[c];
    }
}

#endif
