/* Entropy bounds and ideal Huffman sizes for the benchmark's report. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static double h0_of(const uint64_t *freq, unsigned nsym, uint64_t n)
{
    double bits = 0;
    for (unsigned s = 0; s < nsym; s++)
        if (freq[s])
            bits -= (double)freq[s] * log2((double)freq[s] / (double)n);
    return bits;
}

double order0_bytes(const uint8_t *p, size_t n)
{
    uint64_t freq[256] = {0};
    for (size_t i = 0; i < n; i++)
        freq[p[i]]++;
    return n ? h0_of(freq, 256, n) / 8 : 0;
}

double order0_planes_bytes(const uint8_t *p, size_t n, unsigned width)
{
    double total = 0;
    size_t elems = n / width;
    for (unsigned k = 0; k < width; k++) {
        uint64_t freq[256] = {0};
        for (size_t i = 0; i < elems; i++)
            freq[p[i * width + k]]++;
        total += elems ? h0_of(freq, 256, elems) / 8 : 0;
    }
    return total;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The total code length of a Huffman code is the sum of the weights of all
 * internal nodes, so the tree itself is never built: the classic two-queue
 * merge over the sorted counts (leaves, then merged nodes, both ascending). */
uint64_t huffman_bits(const uint64_t *freq, unsigned nsym)
{
    uint64_t leaf[256], node[256];
    unsigned nl = 0;
    for (unsigned s = 0; s < nsym && s < 256; s++)
        if (freq[s])
            leaf[nl++] = freq[s];
    if (nl == 0)
        return 0;
    if (nl == 1)
        return leaf[0];
    qsort(leaf, nl, sizeof leaf[0], cmp_u64);
    unsigned li = 0, ni = 0, nn = 0;
    uint64_t total = 0;
    for (unsigned merges = 0; merges < nl - 1; merges++) {
        uint64_t pick[2];
        for (int k = 0; k < 2; k++) {
            if (li < nl && (ni >= nn || leaf[li] <= node[ni]))
                pick[k] = leaf[li++];
            else
                pick[k] = node[ni++];
        }
        node[nn++] = pick[0] + pick[1];
        total += pick[0] + pick[1];
    }
    return total;
}

unsigned ceil_log2(uint64_t x)
{
    unsigned b = 0;
    while (b < 64 && (UINT64_C(1) << b) < x)
        b++;
    return b;
}
