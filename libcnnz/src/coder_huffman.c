/* Coder `huffman` (spec 7.2): canonical, length-limited Huffman codes for
 * symbols of 1 or 2 bytes.
 *
 * The coded bytes are a sequence of blocks (7.2.2). A block is a run of one
 * symbol, or symbols coded with a code described in the block or with the
 * code of the previous such block. Blocks of HUF_FOUR symbols or more are
 * split in four bitstreams (7.2.5) so the decoder keeps four independent
 * table lookups in flight.
 *
 * Decoder: one lookup table per code, indexed by the next T bits (T = the
 * longest code, at most 11; for width 2, at most 13 in blocks of 4096
 * symbols or more). Width 1 long blocks use a two-symbol table built from
 * it; width 2 codes longer than T go through a second level of per-prefix
 * subtables. A table is built from the block's code description in time
 * O(2^T + symbols of the code), and a code may not have more symbols than
 * its block (7.2.3), so decoding time stays linear in the output.
 *
 * Encoder: blocks are chosen greedily on HUF_CHUNK-symbol chunks from an
 * entropy estimate; code lengths come from Huffman's algorithm, or from
 * package-merge when the Huffman code is longer than the limit (both give
 * an optimal code). Everything is integer arithmetic, so encoding is
 * deterministic on every host. */
#include "bitio.h"
#include "coder.h"

/* spec 7.2.1 */
#define HUF_LMAX1 11u /* longest code for width 1 */
#define HUF_LMAX2 18u /* longest code for width 2 */
/* spec 7.2.5: blocks of this many symbols or more have four bitstreams */
#define HUF_FOUR 1024u
/* spec 7.2.2: block types */
enum { HUF_RUN = 0, HUF_CODE = 1, HUF_REPEAT = 2 };
/* Symbols in one run block the encoder writes (4 or 5 coded bytes). */
#define RUN_MAX ((size_t)1 << 16)

/* Width-2 decoder: most bits of the first-level table (an implementation
 * choice): 2^13 entries (32 KiB, fewer second-level lookups) for blocks
 * long enough to pay for filling them, else 2^11. Width-1 decoder: the
 * two-symbol table (2^11 entries) only for blocks long enough to pay for
 * it. */
#define HUF_ROOT2 13u
#define HUF_ROOT2_SMALL 11u

/* Encoder choices (not in the spec), and the block lengths above. The
 * fuzzing build (CNNZ_FUZZING) splits blocks on chunks of 256 symbols and
 * takes the big tables from 1024 symbols, so that a fuzzer's tensors of a
 * few KiB reach the block splitting and every decoding loop (other blocks,
 * other tables, as valid a stream and the same symbols). */
#ifdef CNNZ_FUZZING
#define HUF_CHUNK 256u
#define HUF_ROOT2_MIN_COUNT 1024u
#define HUF_PAIRS_MIN_COUNT 1024u
#else
#define HUF_CHUNK 4096u          /* symbols per block-splitting chunk */
#define HUF_ROOT2_MIN_COUNT 4096u
#define HUF_PAIRS_MIN_COUNT (UINT64_C(4) << HUF_LMAX1)
#endif
#define HUF_BLOCK_MAX (1u << 24) /* symbols per block: keeps estimates in 64 bits */

/* ------------------------------------------------------------ shared */

static unsigned huf_lmax(unsigned w)
{
    return w == 1 ? HUF_LMAX1 : HUF_LMAX2;
}

/* The low n bits of v reversed (1 <= n <= 32): codes are defined most
 * significant bit first (7.2.4) but the bit reader delivers the first bit of
 * the stream at bit 0 (7.0). */
static uint32_t rev_bits(uint32_t v, unsigned n)
{
    v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
    v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
    v = ((v >> 4) & 0x0F0F0F0Fu) | ((v & 0x0F0F0F0Fu) << 4);
    v = ((v >> 8) & 0x00FF00FFu) | ((v & 0x00FF00FFu) << 8);
    v = (v >> 16) | (v << 16);
    return v >> (32 - n);
}

/* spec 7.2.4: the first code of each length. count[l] symbols have length l
 * (count[0] is 0); the codes of one length are consecutive in symbol order. */
static void canon_first(const uint32_t *count, unsigned lmax, uint32_t *first)
{
    uint32_t code = 0;
    first[0] = 0;
    for (unsigned l = 1; l <= lmax; l++) {
        code = (code + count[l - 1]) << 1;
        first[l] = code;
    }
}

/* Bits a bit reader has consumed since start (valid when it did not overrun). */
static uint64_t bitr_used_bits(const struct cnnz__bitr *b, const uint8_t *start)
{
    return (uint64_t)(b->p - start) * 8 + b->pad - b->n;
}

/* spec 7.2.3, 7.2.5: a bit field ends at the end of the byte holding its last
 * bit, and the rest of that byte is zero. Returns the bytes the field
 * occupies; 0 when it read past the end of its bytes or the padding is not
 * zero (every field of this coder uses at least one bit). */
static size_t bitr_end(const struct cnnz__bitr *b, const uint8_t *start)
{
    if (cnnz__bitr_overrun(b))
        return 0;
    uint64_t bits = bitr_used_bits(b, start);
    unsigned r = (unsigned)(0u - bits) & 7u;
    /* The r bits left in the last byte are real input bits, still in acc. */
    if (bits == 0 || (r && cnnz__bitr_peek(b, r) != 0))
        return 0;
    return (size_t)((bits + 7) / 8);
}

/* ------------------------------------------------------------ decoder */

struct huf_dec {
    const struct cnnz__alloc *a;
    unsigned w, lmax;
    /* The current code (7.2.3), in symbol order. */
    uint32_t nsym, cap;
    unsigned maxlen;
    uint16_t *sym;
    uint8_t *len;
    uint32_t count[HUF_LMAX2 + 1];
    unsigned T; /* table index bits */
    /* Width 1: entries sym | len << 8, and the two-symbol table built on
     * demand: sym1 | sym2 << 8 | bits << 16 | symbols << 24. */
    int have_pairs;
    uint16_t one[1u << HUF_LMAX1];
    uint32_t pairs[1u << HUF_LMAX1];
    uint8_t len1[256];
    uint16_t sym1[256];
    /* Width 2: entries sym | len << 16, or for a prefix of longer codes
     * 1 << 31 | subtable bits << 24 | subtable offset. */
    uint32_t *tab2;
    size_t tab2_cap;
    uint32_t *code2; /* per symbol of the code: its canonical code */
    uint32_t *ord2;  /* code indexes in canonical order */
};

/* The run length of a gamma code (7.2.3): k zero bits, a one, a k-bit field
 * f; r = 2^k + f with k <= 16. 0 when k is larger. */
static uint32_t read_gamma(struct cnnz__bitr *b)
{
    unsigned k = 0;
    while (!cnnz__bitr_get(b, 1))
        if (++k > 16)
            return 0;
    return (UINT32_C(1) << k) + (uint32_t)cnnz__bitr_get(b, k);
}

/* Read a code description (7.2.3) from src; at most `limit` symbols. */
static int read_code(struct huf_dec *d, const uint8_t *src, size_t len, uint64_t limit,
                     size_t *used)
{
    const unsigned lmax = d->lmax, rawbits = d->w == 1 ? 4 : 5;
    const uint32_t alphabet = UINT32_C(1) << (8 * d->w);
    const uint32_t full = UINT32_C(1) << lmax;
    struct cnnz__bitr b;
    cnnz__bitr_init(&b, src, len);
    uint32_t s = 0, kraft = 0, n = 0;
    unsigned prev = lmax, maxlen = 0;
    memset(d->count, 0, sizeof d->count);
    for (;;) {
        unsigned l;
        uint32_t r = 1;               /* symbols the token gives length l */
        if (!cnnz__bitr_get(&b, 1)) { /* 0: the same length */
            l = prev;
        } else if (!cnnz__bitr_get(&b, 1)) { /* 10d: one longer or shorter */
            l = cnnz__bitr_get(&b, 1) ? prev - 1 : prev + 1;
        } else if (!cnnz__bitr_get(&b, 1)) { /* 110 gamma: a run of absent symbols */
            r = read_gamma(&b);
            if (!r || r > alphabet - s || cnnz__bitr_overrun(&b))
                return CNNZ_E_CORRUPT;
            s += r;
            if (s == alphabet)
                return CNNZ_E_CORRUPT; /* incomplete: no symbol left */
            continue;
        } else if (!cnnz__bitr_get(&b, 1)) { /* 1110d: two longer or shorter */
            l = cnnz__bitr_get(&b, 1) ? prev - 2 : prev + 2;
        } else { /* 1111 v: length v, or v = 0 and gamma: a run of the same length */
            l = (unsigned)cnnz__bitr_get(&b, rawbits);
            if (l == 0) {
                l = prev;
                r = read_gamma(&b);
                if (!r || cnnz__bitr_overrun(&b))
                    return CNNZ_E_CORRUPT;
            }
        }
        if (l < 1 || l > lmax)
            return CNNZ_E_CORRUPT;
        for (; r; r--) {
            /* A code has no more symbols than its block, and no symbol once
             * it is complete: a literal run going on past completion is
             * oversubscribed (and kraft stays below 2^32). */
            if (n >= limit || s == alphabet || kraft >= full)
                return CNNZ_E_CORRUPT;
            d->sym[n] = (uint16_t)s;
            d->len[n] = (uint8_t)l;
            n++;
            s++;
            d->count[l]++;
            kraft += full >> l;
        }
        if (kraft > full)
            return CNNZ_E_CORRUPT; /* oversubscribed */
        if (l > maxlen)
            maxlen = l;
        prev = l;
        if (kraft == full)
            break;
        if (s == alphabet || cnnz__bitr_overrun(&b))
            return CNNZ_E_CORRUPT; /* incomplete */
    }
    *used = bitr_end(&b, src);
    if (!*used)
        return CNNZ_E_CORRUPT;
    d->nsym = n;
    d->maxlen = maxlen;
    return CNNZ_OK;
}

/* Width 1: the one-symbol table, indexed by the next T = maxlen bits. */
static void build1(struct huf_dec *d)
{
    uint32_t next[HUF_LMAX1 + 1];
    canon_first(d->count, HUF_LMAX1, next);
    const unsigned T = d->maxlen;
    const uint32_t size = UINT32_C(1) << T;
    for (uint32_t i = 0; i < d->nsym; i++) {
        unsigned l = d->len[i];
        uint16_t e = (uint16_t)(d->sym[i] | l << 8);
        for (uint32_t j = rev_bits(next[l]++, l); j < size; j += UINT32_C(1) << l)
            d->one[j] = e;
    }
    d->T = T;
    d->have_pairs = 0;
}

/* Width 1: the two-symbol table, always indexed by 11 bits (a constant
 * mask keeps the four-stream loop in registers). An entry decodes a second
 * symbol when its code also lies within the 11 bits of the index. */
static void build1_pairs(struct huf_dec *d)
{
    const uint32_t m = (UINT32_C(1) << d->T) - 1;
    for (uint32_t i = 0; i < (UINT32_C(1) << HUF_LMAX1); i++) {
        unsigned e1 = d->one[i & m], l1 = e1 >> 8;
        unsigned e2 = d->one[(i >> l1) & m], l2 = e2 >> 8;
        if (l1 + l2 <= HUF_LMAX1)
            d->pairs[i] = (e1 & 0xFF) | (e2 & 0xFF) << 8 | (l1 + l2) << 16 | 2u << 24;
        else
            d->pairs[i] = (e1 & 0xFF) | l1 << 16 | 1u << 24;
    }
    d->have_pairs = 1;
}

/* Width 2: first-level table of T = min(maxlen, root) bits; codes longer
 * than T share a subtable per T-bit prefix, indexed by the next k bits where
 * k = (longest code with that prefix) - T. A prefix's subtree is complete,
 * so k + 1 codes at least fill its 2^k entries: with root >= 11 (k <= 7)
 * the subtables hold at most 16 entries per code. */
static int build2(struct huf_dec *d, unsigned root_bits)
{
    uint32_t next[HUF_LMAX2 + 1], pos[HUF_LMAX2 + 2];
    const unsigned T = d->maxlen < root_bits ? d->maxlen : root_bits;
    const uint32_t root = UINT32_C(1) << T;
    size_t need = root + (d->maxlen > T ? (size_t)16 * d->nsym : 0);
    if (need > d->tab2_cap) {
        cnnz__free(d->a, d->tab2);
        d->tab2_cap = 0;
        d->tab2 = cnnz__malloc_array(d->a, need, sizeof *d->tab2);
        if (!d->tab2)
            return CNNZ_E_NOMEM;
        d->tab2_cap = need;
    }
    uint32_t *t = d->tab2;
    canon_first(d->count, HUF_LMAX2, next);
    /* Codes in symbol order; canonical order is by length then symbol. */
    pos[1] = 0;
    for (unsigned l = 1; l <= HUF_LMAX2; l++)
        pos[l + 1] = pos[l] + d->count[l];
    for (uint32_t i = 0; i < d->nsym; i++) {
        unsigned l = d->len[i];
        d->code2[i] = next[l]++;
        d->ord2[pos[l]++] = i;
    }
    /* Short codes: fill their slots of the first level. */
    uint32_t i = 0;
    for (; i < d->nsym; i++) {
        uint32_t c = d->ord2[i];
        unsigned l = d->len[c];
        if (l > T)
            break;
        uint32_t e = d->sym[c] | (uint32_t)l << 16;
        for (uint32_t j = rev_bits(d->code2[c], l); j < root; j += UINT32_C(1) << l)
            t[j] = e;
    }
    /* Long codes, in canonical order, so one prefix's codes are adjacent
     * and the last of them is the longest. */
    uint32_t off = root;
    while (i < d->nsym) {
        uint32_t c0 = d->ord2[i];
        uint32_t prefix = d->code2[c0] >> (d->len[c0] - T);
        uint32_t end = i;
        while (end < d->nsym) {
            uint32_t c = d->ord2[end];
            if (d->code2[c] >> (d->len[c] - T) != prefix)
                break;
            end++;
        }
        unsigned k = d->len[d->ord2[end - 1]] - T;
        t[rev_bits(prefix, T)] = UINT32_C(1) << 31 | (uint32_t)k << 24 | off;
        for (; i < end; i++) {
            uint32_t c = d->ord2[i];
            unsigned l = d->len[c], ls = l - T;
            uint32_t e = d->sym[c] | (uint32_t)l << 16;
            uint32_t suffix = d->code2[c] & ((UINT32_C(1) << ls) - 1);
            for (uint32_t j = rev_bits(suffix, ls); j < (UINT32_C(1) << k); j += UINT32_C(1) << ls)
                t[off + j] = e;
        }
        off += UINT32_C(1) << k;
    }
    d->T = T;
    return CNNZ_OK;
}

/* ---- width 1 bitstreams */

/* One stream, one symbol per lookup; codes are at most T <= 11 bits, so a
 * refill (56 bits or more) covers five. Not inlined: copies of it in the
 * four-stream functions cost the hot loops registers. */
static __attribute__((noinline)) void dec1_one(struct cnnz__bitr *b, const uint16_t *one,
                                               unsigned T, uint8_t *o, uint8_t *end)
{
    while (end - o >= 5) {
        cnnz__bitr_refill(b);
        for (int i = 0; i < 5; i++) {
            unsigned e = one[cnnz__bitr_peek(b, T)];
            o[i] = (uint8_t)e;
            cnnz__bitr_skip(b, e >> 8);
        }
        o += 5;
    }
    while (o < end) {
        if (b->n < T)
            cnnz__bitr_refill(b);
        unsigned e = one[cnnz__bitr_peek(b, T)];
        *o++ = (uint8_t)e;
        cnnz__bitr_skip(b, e >> 8);
    }
}

/* A pair lookup stores two bytes and advances by one or two. */
#define HUF_PAIR(b, o)                                                                             \
    do {                                                                                           \
        uint32_t e_ = pairs[cnnz__bitr_peek(&(b), HUF_LMAX1)];                                     \
        (o)[0] = (uint8_t)e_;                                                                      \
        (o)[1] = (uint8_t)(e_ >> 8);                                                               \
        (o) += e_ >> 24;                                                                           \
        cnnz__bitr_skip(&(b), (e_ >> 16) & 0xFF);                                                  \
    } while (0)

/* Four streams with the two-symbol table while every stream has room for a
 * round (five lookups: at most ten symbols, and the second byte of the last
 * store stays inside the stream's own output). The tails go one by one. */
static void dec1_four(const struct huf_dec *d, struct cnnz__bitr *b, uint8_t **o,
                      uint8_t *const *end)
{
    const uint32_t *pairs = d->pairs;
    struct cnnz__bitr b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
    uint8_t *o0 = o[0], *o1 = o[1], *o2 = o[2], *o3 = o[3];
    for (;;) {
        size_t room = (size_t)(end[0] - o0);
        if ((size_t)(end[1] - o1) < room)
            room = (size_t)(end[1] - o1);
        if ((size_t)(end[2] - o2) < room)
            room = (size_t)(end[2] - o2);
        if ((size_t)(end[3] - o3) < room)
            room = (size_t)(end[3] - o3);
        size_t rounds = room / 10;
        if (!rounds)
            break;
        do {
            cnnz__bitr_refill(&b0);
            cnnz__bitr_refill(&b1);
            cnnz__bitr_refill(&b2);
            cnnz__bitr_refill(&b3);
            for (int i = 0; i < 5; i++) {
                HUF_PAIR(b0, o0);
                HUF_PAIR(b1, o1);
                HUF_PAIR(b2, o2);
                HUF_PAIR(b3, o3);
            }
        } while (--rounds);
    }
    b[0] = b0, b[1] = b1, b[2] = b2, b[3] = b3;
    o[0] = o0, o[1] = o1, o[2] = o2, o[3] = o3;
    for (int k = 0; k < 4; k++)
        dec1_one(&b[k], d->one, d->T, o[k], end[k]);
}

/* Four streams with the one-symbol table: four independent lookups in
 * flight instead of one (blocks too short to pay for the pair table). */
#define HUF_ONE(b, o)                                                                              \
    do {                                                                                           \
        unsigned e_ = one[cnnz__bitr_peek(&(b), T)];                                               \
        *(o)++ = (uint8_t)e_;                                                                      \
        cnnz__bitr_skip(&(b), e_ >> 8);                                                            \
    } while (0)

static void dec1_four_one(const struct huf_dec *d, struct cnnz__bitr *b, uint8_t **o,
                          uint8_t *const *end)
{
    const uint16_t *one = d->one;
    const unsigned T = d->T;
    struct cnnz__bitr b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
    uint8_t *o0 = o[0], *o1 = o[1], *o2 = o[2], *o3 = o[3];
    /* streams 0-2 have the same length and stream 3 is not longer */
    for (size_t rounds = (size_t)(end[3] - o3) / 5; rounds; rounds--) {
        cnnz__bitr_refill(&b0);
        cnnz__bitr_refill(&b1);
        cnnz__bitr_refill(&b2);
        cnnz__bitr_refill(&b3);
        for (int i = 0; i < 5; i++) {
            HUF_ONE(b0, o0);
            HUF_ONE(b1, o1);
            HUF_ONE(b2, o2);
            HUF_ONE(b3, o3);
        }
    }
    b[0] = b0, b[1] = b1, b[2] = b2, b[3] = b3;
    o[0] = o0, o[1] = o1, o[2] = o2, o[3] = o3;
    for (int k = 0; k < 4; k++)
        dec1_one(&b[k], one, T, o[k], end[k]);
}

/* ---- width 2 bitstreams */

static inline uint32_t dec2_entry(const uint32_t *t, unsigned T, uint64_t acc)
{
    uint32_t e = t[acc & ((UINT32_C(1) << T) - 1)];
    if (e >> 31)
        e = t[(e & 0xFFFFFF) + ((acc >> T) & ((UINT32_C(1) << ((e >> 24) & 0x1F)) - 1))];
    return e;
}

#define HUF_SYM2(b, o)                                                                             \
    do {                                                                                           \
        uint32_t e_ = dec2_entry(t, T, (b).acc);                                                   \
        (o)[0] = (uint8_t)e_;                                                                      \
        (o)[1] = (uint8_t)(e_ >> 8);                                                               \
        (o) += 2;                                                                                  \
        cnnz__bitr_skip(&(b), (e_ >> 16) & 0x1F);                                                  \
    } while (0)

/* One stream; codes are at most 18 bits, so a refill covers three. */
static void dec2_one(struct cnnz__bitr *b, const uint32_t *t, unsigned T, uint8_t *o, uint8_t *end)
{
    while (end - o >= 6) {
        cnnz__bitr_refill(b);
        HUF_SYM2(*b, o);
        HUF_SYM2(*b, o);
        HUF_SYM2(*b, o);
    }
    while (o < end) {
        if (b->n < HUF_LMAX2)
            cnnz__bitr_refill(b);
        HUF_SYM2(*b, o);
    }
}

static void dec2_four(const struct huf_dec *d, struct cnnz__bitr *b, uint8_t **o,
                      uint8_t *const *end)
{
    const uint32_t *t = d->tab2;
    const unsigned T = d->T;
    struct cnnz__bitr b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
    uint8_t *o0 = o[0], *o1 = o[1], *o2 = o[2], *o3 = o[3];
    /* Streams 0-2 have the same length and stream 3 is not longer. */
    size_t rounds = (size_t)(end[3] - o3) / 6;
    for (; rounds; rounds--) {
        cnnz__bitr_refill(&b0);
        cnnz__bitr_refill(&b1);
        cnnz__bitr_refill(&b2);
        cnnz__bitr_refill(&b3);
        for (int i = 0; i < 3; i++) {
            HUF_SYM2(b0, o0);
            HUF_SYM2(b1, o1);
            HUF_SYM2(b2, o2);
            HUF_SYM2(b3, o3);
        }
    }
    b[0] = b0, b[1] = b1, b[2] = b2, b[3] = b3;
    o[0] = o0, o[1] = o1, o[2] = o2, o[3] = o3;
    for (int k = 0; k < 4; k++)
        dec2_one(&b[k], t, T, o[k], end[k]);
}

/* One stream in order with the two-symbol table (blocks long enough to
 * have built it): an incremental decoder reads the four bitstreams of a
 * block one after the other, and pairs win back some of the four-stream
 * speed. Ten bytes of room per round, as in dec1_four. */
static void dec1_pairs_one(const struct huf_dec *d, struct cnnz__bitr *b, uint8_t *o,
                           uint8_t *end)
{
    const uint32_t *pairs = d->pairs;
    struct cnnz__bitr b0 = *b;
    while (end - o >= 10) {
        cnnz__bitr_refill(&b0);
        for (int i = 0; i < 5; i++)
            HUF_PAIR(b0, o);
    }
    *b = b0;
    dec1_one(b, d->one, d->T, o, end);
}

/* The bitstreams of a block of `count` symbols (7.2.5): one, or four after
 * the jump table of the byte lengths of streams 0, 1 and 2. */
struct huf_parts {
    unsigned n;
    struct cnnz__bitr b[4];
    const uint8_t *start[4];
    uint64_t z[3];
    size_t at3;   /* where stream 3 starts, from the first byte of the table */
    uint64_t sym[4]; /* symbols of each stream */
};

static int parts_open(const uint8_t *src, size_t len, uint64_t count, struct huf_parts *ps)
{
    if (count < HUF_FOUR) {
        ps->n = 1;
        ps->start[0] = src;
        ps->sym[0] = count;
        cnnz__bitr_init(&ps->b[0], src, len);
        return CNNZ_OK;
    }
    struct cnnz__byter r;
    cnnz__byter_init(&r, src, len);
    uint64_t at[4];
    for (int k = 0; k < 3; k++)
        ps->z[k] = cnnz__byter_varint(&r);
    if (r.overrun)
        return CNNZ_E_CORRUPT;
    at[0] = (uint64_t)(r.p - src);
    for (int k = 0; k < 3; k++)
        if (cnnz__add64(at[k], ps->z[k], &at[k + 1]) || at[k + 1] > len)
            return CNNZ_E_CORRUPT;
    const uint64_t q = (count + 3) / 4;
    ps->n = 4;
    ps->at3 = (size_t)at[3];
    for (int k = 0; k < 4; k++) {
        /* stream 3 runs to the end of the block, which it determines */
        size_t n = k < 3 ? (size_t)ps->z[k] : len - (size_t)at[3];
        ps->start[k] = src + at[k];
        cnnz__bitr_init(&ps->b[k], ps->start[k], n);
        ps->sym[k] = k < 3 ? q : count - 3 * q;
    }
    return CNNZ_OK;
}

/* After stream k has given its symbols: it must end where the spec says.
 * For the last stream, *used gets the bytes of all the block's streams. */
static int parts_close(const struct huf_parts *ps, unsigned k, size_t *used)
{
    size_t end = bitr_end(&ps->b[k], ps->start[k]);
    if (k + 1 < ps->n)
        return end == ps->z[k] ? CNNZ_OK : CNNZ_E_CORRUPT;
    if (!end)
        return CNNZ_E_CORRUPT;
    *used = (ps->n == 4 ? ps->at3 : 0) + end;
    return CNNZ_OK;
}

/* Decode the bitstreams of a block of `count` symbols (7.2.5) into dst with
 * the current code; *used gets the bytes they take. */
static int read_streams(struct huf_dec *d, const uint8_t *src, size_t len, uint64_t count,
                        uint8_t *dst, size_t *used)
{
    const unsigned w = d->w;
    struct huf_parts ps;
    int err = parts_open(src, len, count, &ps);
    if (err)
        return err;
    if (ps.n == 1) {
        if (w == 1)
            dec1_one(&ps.b[0], d->one, d->T, dst, dst + count);
        else
            dec2_one(&ps.b[0], d->tab2, d->T, dst, dst + 2 * count);
    } else {
        uint8_t *o[4], *end[4];
        for (int k = 0; k < 4; k++) {
            o[k] = dst + (size_t)(w * ps.sym[0] * (uint64_t)k);
            end[k] = o[k] + w * ps.sym[k];
        }
        if (w == 1) {
            if (count >= HUF_PAIRS_MIN_COUNT) {
                if (!d->have_pairs)
                    build1_pairs(d);
                dec1_four(d, ps.b, o, end);
            } else {
                dec1_four_one(d, ps.b, o, end);
            }
        } else {
            dec2_four(d, ps.b, o, end);
        }
    }
    for (unsigned k = 0; k < ps.n; k++)
        if ((err = parts_close(&ps, k, used)))
            return err;
    return CNNZ_OK;
}

/* Make room for a code of up to `limit` symbols (width 2 arrays grow). */
static int code_room(struct huf_dec *d, uint64_t limit)
{
    if (d->w == 1 || limit <= d->cap)
        return CNNZ_OK;
    uint32_t cap = limit > 65536 ? 65536 : (uint32_t)limit;
    if (cap <= d->cap)
        return CNNZ_OK;
    cnnz__free(d->a, d->sym);
    cnnz__free(d->a, d->len);
    cnnz__free(d->a, d->code2);
    cnnz__free(d->a, d->ord2);
    d->cap = 0;
    d->sym = cnnz__malloc_array(d->a, cap, sizeof *d->sym);
    d->len = cnnz__malloc_array(d->a, cap, sizeof *d->len);
    d->code2 = cnnz__malloc_array(d->a, cap, sizeof *d->code2);
    d->ord2 = cnnz__malloc_array(d->a, cap, sizeof *d->ord2);
    if (!d->sym || !d->len || !d->code2 || !d->ord2)
        return CNNZ_E_NOMEM;
    d->cap = cap;
    return CNNZ_OK;
}

/* spec 7.2.2: the block header at src + *pos, with `room` decoded bytes
 * still to come, and a code description after it (read and built). *pos
 * moves to the block's bitstreams, or past a run block's symbol (*run). */
static int block_begin(struct huf_dec *d, const uint8_t *src, size_t src_len, size_t *pos,
                       size_t room, int *have_code, unsigned *type, uint64_t *count,
                       const uint8_t **run)
{
    const unsigned w = d->w;
    struct cnnz__byter r;
    cnnz__byter_init(&r, src + *pos, src_len - *pos);
    uint64_t h = cnnz__byter_varint(&r);
    if (r.overrun)
        return CNNZ_E_CORRUPT;
    *pos = (size_t)(r.p - src);
    *type = (unsigned)(h & 3);
    *count = (h >> 2) + 1;
    if (*count > room / w)
        return CNNZ_E_CORRUPT;
    size_t used = 0;
    int err;
    switch (*type) {
    case HUF_RUN:
        if (src_len - *pos < w)
            return CNNZ_E_CORRUPT;
        *run = src + *pos;
        *pos += w;
        return CNNZ_OK;
    case HUF_CODE:
        if ((err = code_room(d, *count)))
            return err;
        if ((err = read_code(d, src + *pos, src_len - *pos, *count, &used)))
            return err;
        *pos += used;
        if (w == 1)
            build1(d);
        else if ((err = build2(d, *count >= HUF_ROOT2_MIN_COUNT ? HUF_ROOT2 : HUF_ROOT2_SMALL)))
            return err;
        *have_code = 1;
        /* fall through */
    case HUF_REPEAT:
        return *have_code ? CNNZ_OK : CNNZ_E_CORRUPT;
    default:
        return CNNZ_E_CORRUPT;
    }
}

/* n symbols of width w, all equal to the w bytes at sym. */
static void fill_run(uint8_t *dst, const uint8_t *sym, unsigned w, size_t n)
{
    if (w == 1) {
        memset(dst, sym[0], n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = sym[0];
        dst[2 * i + 1] = sym[1];
    }
}

static int decode_blocks(struct huf_dec *d, const uint8_t *src, size_t src_len, uint8_t *dst,
                         size_t dst_len)
{
    const unsigned w = d->w;
    size_t pos = 0, done = 0;
    int have_code = 0, err;
    while (done < dst_len) {
        unsigned type;
        uint64_t count;
        const uint8_t *run;
        if ((err = block_begin(d, src, src_len, &pos, dst_len - done, &have_code, &type, &count,
                               &run)))
            return err;
        if (type == HUF_RUN) {
            fill_run(dst + done, run, w, (size_t)count);
        } else {
            size_t used = 0;
            if ((err = read_streams(d, src + pos, src_len - pos, count, dst + done, &used)))
                return err;
            pos += used;
        }
        done += (size_t)count * w;
    }
    return pos == src_len ? CNNZ_OK : CNNZ_E_CORRUPT; /* no trailing bytes */
}

/* The parameters (7.2.1) and an empty decoder state for width params[0]. */
static int dec_init(struct huf_dec *d, const struct cnnz__alloc *a, unsigned version,
                    const uint8_t *params, size_t params_len, size_t dst_len)
{
    if (version != 0 || params_len != 1 || (params[0] != 1 && params[0] != 2) ||
        dst_len % params[0])
        return CNNZ_E_CODER;
    d->a = a;
    d->w = params[0];
    d->lmax = huf_lmax(d->w);
    d->nsym = d->maxlen = d->T = 0;
    d->have_pairs = 0;
    d->tab2 = NULL;
    d->tab2_cap = 0;
    d->code2 = d->ord2 = NULL;
    if (d->w == 1) {
        d->sym = d->sym1;
        d->len = d->len1;
        d->cap = 256;
    } else {
        d->sym = NULL;
        d->len = NULL;
        d->cap = 0;
    }
    return CNNZ_OK;
}

static void dec_free(struct huf_dec *d)
{
    if (d->w != 2)
        return;
    cnnz__free(d->a, d->sym);
    cnnz__free(d->a, d->len);
    cnnz__free(d->a, d->code2);
    cnnz__free(d->a, d->ord2);
    cnnz__free(d->a, d->tab2);
}

static int huf_decode(const struct cnnz__alloc *a, unsigned version, const uint8_t *params,
                      size_t params_len, const uint8_t *src, size_t src_len, uint8_t *dst,
                      size_t dst_len)
{
    struct huf_dec d;
    int err = dec_init(&d, a, version, params, params_len, dst_len);
    if (err)
        return err;
    if (dst_len == 0 || src_len == 0)
        return dst_len == src_len ? CNNZ_OK : CNNZ_E_CORRUPT;
    err = decode_blocks(&d, src, src_len, dst, dst_len);
    dec_free(&d);
    return err;
}

/* ---- incremental decoding: the blocks in order, and the bitstreams of a
 * block in order (stream k holds symbols k*q .. of the block, 7.2.5). */
struct huf_stream {
    struct huf_dec d;
    const uint8_t *src;
    size_t src_len, pos;
    size_t left;          /* decoded bytes still to produce */
    int have_code;
    size_t block_left;    /* bytes of the current block still to produce; 0: between blocks */
    unsigned type;
    const uint8_t *run;   /* HUF_RUN: its symbol */
    struct huf_parts ps;
    unsigned part;        /* the bitstream being read */
    size_t part_left;     /* its bytes still to produce */
    size_t streams_at;    /* where the block's bitstreams start */
    int pairs;            /* width 1: the two-symbol table is used */
};

static int huf_stream_begin(const struct cnnz__alloc *a, unsigned version, const uint8_t *params,
                            size_t params_len, const uint8_t *src, size_t src_len,
                            size_t dst_len, void **state)
{
    struct huf_stream *st = cnnz__malloc(a, sizeof *st);
    if (!st)
        return CNNZ_E_NOMEM;
    int err = dec_init(&st->d, a, version, params, params_len, dst_len);
    if (err) {
        cnnz__free(a, st);
        return err;
    }
    *state = st;
    st->src = src;
    st->src_len = src_len;
    st->pos = 0;
    st->left = dst_len;
    st->have_code = 0;
    st->block_left = 0;
    if (dst_len == 0 || src_len == 0)
        return dst_len == src_len ? CNNZ_OK : CNNZ_E_CORRUPT;
    return CNNZ_OK;
}

static int huf_stream_next(void *state, uint8_t *dst, size_t n)
{
    struct huf_stream *st = state;
    struct huf_dec *d = &st->d;
    const unsigned w = d->w;
    int err;
    while (n) {
        if (!st->block_left) {
            uint64_t count;
            if ((err = block_begin(d, st->src, st->src_len, &st->pos, st->left, &st->have_code,
                                   &st->type, &count, &st->run)))
                return err;
            st->block_left = (size_t)count * w;
            if (st->type != HUF_RUN) {
                if ((err = parts_open(st->src + st->pos, st->src_len - st->pos, count, &st->ps)))
                    return err;
                st->streams_at = st->pos;
                st->part = 0;
                st->part_left = (size_t)st->ps.sym[0] * w;
                st->pairs = w == 1 && count >= (UINT64_C(4) << HUF_LMAX1);
                if (st->pairs && !d->have_pairs)
                    build1_pairs(d);
            }
        }
        size_t k = n < st->block_left ? n : st->block_left;
        if (st->type == HUF_RUN) {
            fill_run(dst, st->run, w, k / w);
        } else {
            if (k > st->part_left)
                k = st->part_left;
            struct cnnz__bitr *b = &st->ps.b[st->part];
            if (w == 2)
                dec2_one(b, d->tab2, d->T, dst, dst + k);
            else if (st->pairs)
                dec1_pairs_one(d, b, dst, dst + k);
            else
                dec1_one(b, d->one, d->T, dst, dst + k);
            st->part_left -= k;
            if (!st->part_left) {
                size_t used = 0;
                if ((err = parts_close(&st->ps, st->part, &used)))
                    return err;
                if (++st->part < st->ps.n)
                    st->part_left = (size_t)st->ps.sym[st->part] * w;
                else
                    st->pos = st->streams_at + used;
            }
        }
        st->block_left -= k;
        st->left -= k;
        dst += k;
        n -= k;
    }
    if (!st->left && st->pos != st->src_len)
        return CNNZ_E_CORRUPT; /* no trailing bytes */
    return CNNZ_OK;
}

static void huf_stream_end(const struct cnnz__alloc *a, void *state)
{
    struct huf_stream *st = state;
    dec_free(&st->d);
    cnnz__free(a, st);
}

static int huf_check(unsigned version, const uint8_t *params, size_t params_len, uint64_t coded_len,
                     uint64_t decoded_len)
{
    if (version != 0 || params_len != 1 || (params[0] != 1 && params[0] != 2))
        return CNNZ_E_CODER;
    if (decoded_len % params[0] || (coded_len == 0) != (decoded_len == 0))
        return CNNZ_E_CODER;
    return CNNZ_OK;
}

/* ------------------------------------------------------------ encoder */

/* log2(x) in 1/65536 bits for x >= 1: the integer part from the top bit,
 * the fraction interpolated in a table of log2(1 + i/32). Integer only, so
 * block choices are the same on every host. lg(0) is 0. */
static const uint16_t lg_tab[33] = {
    0,     2909,  5732,  8473,  11136, 13727, 16248, 18704, 21098, 23433, 25711,
    27936, 30109, 32234, 34312, 36346, 38336, 40286, 42196, 44068, 45904, 47705,
    49472, 51207, 52911, 54584, 56229, 57845, 59434, 60997, 62534, 64047, 65535,
};

static inline uint64_t lg(uint64_t x)
{
    if (!x)
        return 0;
    unsigned m = 63u - (unsigned)__builtin_clzll(x);
    uint32_t mant = (uint32_t)(m >= 31 ? x >> (m - 31) : x << (31 - m)); /* 1.31 */
    unsigned i = (mant >> 26) & 31;
    uint32_t frac = (mant >> 10) & 0xFFFF;
    uint32_t d = (uint32_t)(lg_tab[i + 1] - lg_tab[i]);
    return ((uint64_t)m << 16) + lg_tab[i] + ((d * frac) >> 16);
}

/* x * log2(x) in 1/65536 bits (x <= HUF_BLOCK_MAX: no overflow). */
static inline uint64_t xlg(uint64_t x)
{
    return x * lg(x);
}

/* A code (lengths and encoder table) over the dense symbol indexes. */
struct huf_code {
    uint8_t *len;   /* [D] 0 when absent */
    uint32_t *enc;  /* [D] reversed code | len << 24 */
    uint16_t *list; /* the present indexes, ascending */
    uint32_t n;
};

struct huf_enc {
    const struct cnnz__alloc *a;
    unsigned w, lmax;
    uint32_t D; /* dense alphabet: width 1: 256; width 2: distinct symbols */
    const uint8_t *src;
    const uint16_t *rank; /* width 2: symbol -> dense index */
    const uint8_t *didx;  /* width 2, short streams instead: the dense indexes (dense16.c) */
    uint16_t *dsym;       /* width 2: dense index -> symbol */
    struct cnnz__buf *out;
    /* block splitting: the current block and the next chunk */
    uint32_t *hc, *hk;
    uint16_t *lc, *lk; /* width 2: the indexes each histogram touched */
    uint32_t nc, nk;
    struct huf_code code[2];
    int cur, have_prev;  /* code[cur] is the latest code written */
    uint64_t *key, *tmp; /* [D] sort */
    uint64_t *wt;        /* [D] sorted weights */
    uint32_t *node;      /* [2D] Huffman tree */
    uint8_t *slen;       /* [D] lengths in sorted order */
};

static inline uint32_t enc_sym(const struct huf_enc *e, size_t i)
{
    if (e->w == 1)
        return e->src[i];
    return e->rank ? e->rank[cnnz__le16(e->src + 2 * i)] : cnnz__le16(e->didx + 2 * i);
}

/* Sort n 64-bit keys ascending (LSD radix on the bytes below `bytes`). */
static void sort_keys(uint64_t *key, uint64_t *tmp, size_t n, unsigned bytes)
{
    size_t cnt[256];
    for (unsigned by = 0; by < bytes; by++) {
        memset(cnt, 0, sizeof cnt);
        for (size_t i = 0; i < n; i++)
            cnt[(key[i] >> (8 * by)) & 0xFF]++;
        size_t s = 0;
        for (unsigned v = 0; v < 256; v++) {
            size_t c = cnt[v];
            cnt[v] = s;
            s += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[cnt[(key[i] >> (8 * by)) & 0xFF]++] = key[i];
        uint64_t *t = key;
        key = tmp;
        tmp = t;
    }
    if (bytes & 1)
        memcpy(tmp, key, n * sizeof *key); /* the result lands in the caller's key */
}

/* Huffman's algorithm on weights sorted ascending (n >= 2), two-queue form:
 * leaves are taken before an internal node of equal weight. Lengths over 255
 * are stored as 255 (they only tell the caller to limit them). */
static unsigned huffman_lengths(const uint64_t *wt, uint32_t n, uint8_t *len, uint32_t *node,
                                uint64_t *iw)
{
    /* node[i]: parent of node i (leaves 0..n-1, internal n..2n-2), then depth */
    uint32_t leaf = 0, in = 0, made = 0;
    for (uint32_t k = 0; k + 1 < n; k++) {
        uint64_t sum = 0;
        for (int two = 0; two < 2; two++) {
            if (leaf < n && (in >= made || wt[leaf] <= iw[in])) {
                sum += wt[leaf];
                node[leaf++] = n + made;
            } else {
                sum += iw[in];
                node[n + in++] = n + made;
            }
        }
        iw[made++] = sum;
    }
    uint32_t root = 2 * n - 2;
    node[root] = 0;
    for (uint32_t i = root; i-- > n;)
        node[i] = node[node[i]] + 1;
    unsigned maxlen = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = node[node[i]] + 1;
        len[i] = (uint8_t)(l > 255 ? 255 : l);
        if (len[i] > maxlen)
            maxlen = len[i];
    }
    return maxlen;
}

/* Optimal lengths of at most L bits (package-merge) for weights sorted
 * ascending, n >= 2, n <= 2^L. Level j's list merges the leaves with the
 * pairs of level j-1's list; the first 2n-2 items of the last level select
 * the code, and a leaf's length is the number of levels that select it. Only
 * which items are pairs is kept per level, and the selection goes back down. */
static int package_merge(const struct cnnz__alloc *a, const uint64_t *wt, uint32_t n, unsigned L,
                         uint8_t *len)
{
    const size_t m = 2 * (size_t)n - 2;
    uint64_t *prev = cnnz__malloc_array(a, m, sizeof *prev);
    uint64_t *cur = cnnz__malloc_array(a, m, sizeof *cur);
    uint8_t *pair = cnnz__malloc_array(a, m, L);
    int err = CNNZ_E_NOMEM;
    if (!prev || !cur || !pair)
        goto out;
    size_t pn = 0;
    for (unsigned j = 0; j < L; j++) {
        uint8_t *pj = pair + (size_t)j * m;
        size_t np = pn / 2, i = 0, k = 0, c = 0;
        while (c < m && (i < n || k < np)) {
            uint64_t pw = k < np ? prev[2 * k] + prev[2 * k + 1] : 0;
            if (i < n && (k >= np || wt[i] <= pw)) {
                pj[c] = 0;
                cur[c++] = wt[i++];
            } else {
                pj[c] = 1;
                cur[c++] = pw;
                k++;
            }
        }
        pn = c;
        uint64_t *t = prev;
        prev = cur;
        cur = t;
    }
    memset(len, 0, n);
    size_t sel = m;
    for (unsigned j = L; j-- > 0;) {
        const uint8_t *pj = pair + (size_t)j * m;
        size_t leaves = 0, pairs = 0;
        for (size_t c = 0; c < sel; c++) {
            if (pj[c])
                pairs++;
            else
                leaves++;
        }
        for (size_t i = 0; i < leaves; i++)
            len[i]++;
        sel = 2 * pairs;
    }
    err = CNNZ_OK;
out:
    cnnz__free(a, prev);
    cnnz__free(a, cur);
    cnnz__free(a, pair);
    return err;
}

/* The present indexes of histogram h (count nh, touched list l for width 2),
 * ascending, into list. */
static uint32_t present(const struct huf_enc *e, const uint32_t *h, const uint16_t *l, uint32_t nh,
                        uint16_t *list)
{
    uint32_t n = 0;
    if (e->w == 1 || nh * 8 > e->D) {
        for (uint32_t x = 0; x < e->D; x++)
            if (h[x])
                list[n++] = (uint16_t)x;
        return n;
    }
    for (uint32_t i = 0; i < nh; i++)
        e->key[i] = l[i];
    sort_keys(e->key, e->tmp, nh, 2);
    for (uint32_t i = 0; i < nh; i++)
        list[i] = (uint16_t)e->key[i];
    return nh;
}

/* Optimal lengths (at most lmax bits) for the n >= 2 present indexes of
 * histogram h into len. */
static int make_lengths(struct huf_enc *e, const uint32_t *h, const uint16_t *list, uint32_t n,
                        uint8_t *len)
{
    uint64_t top = 0;
    for (uint32_t i = 0; i < n; i++) {
        e->key[i] = (uint64_t)h[list[i]] << 16 | list[i]; /* ties: lower index first */
        top |= e->key[i];
    }
    unsigned bytes = 0;
    while (top >> (8 * bytes))
        bytes++;
    sort_keys(e->key, e->tmp, n, bytes);
    for (uint32_t i = 0; i < n; i++)
        e->wt[i] = e->key[i] >> 16;
    unsigned maxlen = huffman_lengths(e->wt, n, e->slen, e->node, e->tmp);
    if (maxlen > e->lmax) {
        int err = package_merge(e->a, e->wt, n, e->lmax, e->slen);
        if (err)
            return err;
    }
    for (uint32_t i = 0; i < n; i++)
        len[e->key[i] & 0xFFFF] = e->slen[i];
    return CNNZ_OK;
}

/* Canonical codes (7.2.4) for code c. */
static void make_codes(struct huf_code *c, unsigned lmax)
{
    uint32_t count[HUF_LMAX2 + 1] = {0}, next[HUF_LMAX2 + 1];
    for (uint32_t i = 0; i < c->n; i++)
        count[c->len[c->list[i]]]++;
    canon_first(count, lmax, next);
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t x = c->list[i];
        unsigned l = c->len[x];
        c->enc[x] = rev_bits(next[l]++, l) | (uint32_t)l << 24;
    }
}

static unsigned gamma_bits(uint32_t r, uint64_t *v)
{
    unsigned k = 31u - (unsigned)__builtin_clz(r);
    *v = (uint64_t)1 << k | (uint64_t)(r - (UINT32_C(1) << k)) << (k + 1);
    return 2 * k + 1;
}

/* Write (bw non-NULL) or count the bits of code c's description (7.2.3):
 * the shortest token for each length. */
static uint64_t put_code(const struct huf_enc *e, const struct huf_code *c, struct cnnz__bitw *bw)
{
    uint64_t bits = 0, v, g;
    unsigned prev = e->lmax, rawbits = e->w == 1 ? 4 : 5, nb, ng;
    uint32_t s = 0;
#define HUF_SYMOF(i) (e->w == 1 ? c->list[i] : e->dsym[c->list[i]])
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t x = c->list[i], sym = HUF_SYMOF(i);
        unsigned l = c->len[x];
        if (sym > s) { /* 110 gamma: the absent symbols before this one */
            ng = gamma_bits(sym - s, &g);
            bits += 3 + ng;
            if (bw)
                cnnz__bitw_putf(bw, 3 | g << 3, 3 + ng);
        }
        if (l == prev) {
            /* symbols on from here with this length and no gap: one token
             * "1111 0 gamma" when it is shorter than a "0" each */
            uint32_t r = 1;
            while (i + r < c->n && HUF_SYMOF(i + r) == sym + r && c->len[c->list[i + r]] == l)
                r++;
            ng = gamma_bits(r, &g);
            if (4 + rawbits + ng < r) {
                bits += 4 + rawbits + ng;
                if (bw)
                    cnnz__bitw_putf(bw, 15 | g << (4 + rawbits), 4 + rawbits + ng);
                i += r - 1;
                s = sym + r;
                continue;
            }
        }
        if (l == prev) {
            v = 0, nb = 1;
        } else if (l == prev + 1 || l + 1 == prev) {
            v = 1 | (uint64_t)(l < prev) << 2, nb = 3;
        } else if (l == prev + 2 || l + 2 == prev) {
            v = 7 | (uint64_t)(l < prev) << 4, nb = 5;
        } else {
            v = 15 | (uint64_t)l << 4, nb = 4 + rawbits;
        }
        bits += nb;
        if (bw)
            cnnz__bitw_putf(bw, v, nb);
        prev = l;
        s = sym + 1;
    }
#undef HUF_SYMOF
    return bits;
}

/* Append the codes of symbols [from, to) to a bit stream. */
static void put_syms(const struct huf_enc *e, const uint32_t *enc, size_t from, size_t to,
                     struct cnnz__bitw *bw)
{
    size_t i = from;
    if (e->w == 1) {
        const uint8_t *s = e->src;
        for (; i + 4 <= to; i += 4) { /* 4 x 11 bits between flushes */
            uint32_t c0 = enc[s[i]], c1 = enc[s[i + 1]], c2 = enc[s[i + 2]], c3 = enc[s[i + 3]];
            cnnz__bitw_put(bw, c0 & 0xFFFFFF, c0 >> 24);
            cnnz__bitw_put(bw, c1 & 0xFFFFFF, c1 >> 24);
            cnnz__bitw_put(bw, c2 & 0xFFFFFF, c2 >> 24);
            cnnz__bitw_put(bw, c3 & 0xFFFFFF, c3 >> 24);
            cnnz__bitw_flush(bw);
        }
    } else {
        for (; i + 2 <= to; i += 2) { /* 2 x 18 bits */
            uint32_t c0 = enc[enc_sym(e, i)], c1 = enc[enc_sym(e, i + 1)];
            cnnz__bitw_put(bw, c0 & 0xFFFFFF, c0 >> 24);
            cnnz__bitw_put(bw, c1 & 0xFFFFFF, c1 >> 24);
            cnnz__bitw_flush(bw);
        }
    }
    for (; i < to; i++) {
        uint32_t c = enc[enc_sym(e, i)];
        cnnz__bitw_putf(bw, c & 0xFFFFFF, c >> 24);
    }
}

/* Finish a bit field written at out->data + out->len. */
static int end_bits(struct cnnz__buf *out, struct cnnz__bitw *bw)
{
    size_t n = cnnz__bitw_finish(bw);
    if (bw->overflow)
        return CNNZ_E_NOMEM; /* cannot happen: room was reserved for the worst case */
    out->len += n;
    return CNNZ_OK;
}

/* The bitstreams of symbols [from, from + count) with table enc (7.2.5). */
static int put_streams(struct huf_enc *e, const uint32_t *enc, size_t from, size_t count)
{
    struct cnnz__buf *out = e->out;
    struct cnnz__bitw bw;
    int err;
    if (count < HUF_FOUR) {
        cnnz__bitw_init(&bw, out->data + out->len, out->cap - out->len);
        put_syms(e, enc, from, from + count, &bw);
        return end_bits(out, &bw);
    }
    /* Streams go after room for the jump table, which then moves them back. */
    size_t jump = out->len, q = (count + 3) / 4;
    uint64_t z[3];
    out->len += 30;
    size_t start = out->len;
    for (int k = 0; k < 4; k++) {
        size_t a = from + q * (size_t)k, b = k < 3 ? a + q : from + count;
        size_t at = out->len;
        cnnz__bitw_init(&bw, out->data + out->len, out->cap - out->len);
        put_syms(e, enc, a, b, &bw);
        if ((err = end_bits(out, &bw)))
            return err;
        if (k < 3)
            z[k] = out->len - at;
    }
    size_t body = out->len - start;
    out->len = jump;
    for (int k = 0; k < 3; k++)
        if ((err = cnnz__buf_varint(out, z[k])))
            return err;
    memmove(out->data + out->len, out->data + start, body);
    out->len += body;
    return CNNZ_OK;
}

/* Emit the current block: symbols [from, from + count) with histogram e->hc. */
static int emit_block(struct huf_enc *e, size_t from, size_t count)
{
    struct cnnz__buf *out = e->out;
    struct huf_code *nc = &e->code[!e->cur], *pc = &e->code[e->cur];
    int err;
    /* worst case: header, description, jump table, streams, store slack */
    uint32_t distinct = e->w == 1 || e->nc * 8 > e->D ? e->D : e->nc;
    size_t bound = 16 + (size_t)distinct * 6 + 30 + count / 8 * e->lmax + 2 * e->lmax + 64;
    if ((err = cnnz__buf_reserve(out, bound)))
        return err;
    nc->n = present(e, e->hc, e->lc, e->nc, nc->list);
    if (nc->n == 1) { /* spec 7.2.2: runs of one symbol */
        uint32_t x = nc->list[0], sym = e->w == 1 ? x : e->dsym[x];
        uint8_t b[2] = {(uint8_t)sym, (uint8_t)(sym >> 8)};
        /* at most RUN_MAX a block, so the stream stays within the expansion
         * cap of spec 5.3.1 however long the run */
        for (size_t left = count; left && !err;) {
            size_t k = left < RUN_MAX ? left : RUN_MAX;
            err = cnnz__buf_varint(out, (uint64_t)(k - 1) << 2 | HUF_RUN);
            if (!err)
                err = cnnz__buf_append(out, b, e->w);
            left -= k;
        }
        return err;
    }
    if ((err = make_lengths(e, e->hc, nc->list, nc->n, nc->len)))
        return err;
    /* New code, or the previous one when it codes every symbol here in no
     * more bytes (its description is saved). */
    uint64_t bits_new = (put_code(e, nc, NULL) + 7) / 8 * 8, bits_rep = UINT64_MAX;
    for (uint32_t i = 0; i < nc->n; i++)
        bits_new += (uint64_t)e->hc[nc->list[i]] * nc->len[nc->list[i]];
    if (e->have_prev) {
        bits_rep = 0;
        for (uint32_t i = 0; i < nc->n && bits_rep != UINT64_MAX; i++) {
            uint32_t x = nc->list[i];
            bits_rep = pc->len[x] ? bits_rep + (uint64_t)e->hc[x] * pc->len[x] : UINT64_MAX;
        }
    }
    if (bits_rep != UINT64_MAX && (bits_rep + 7) / 8 <= (bits_new + 7) / 8) {
        for (uint32_t i = 0; i < nc->n; i++)
            nc->len[nc->list[i]] = 0;
        if ((err = cnnz__buf_varint(out, (uint64_t)(count - 1) << 2 | HUF_REPEAT)))
            return err;
        return put_streams(e, pc->enc, from, count);
    }
    /* The new code replaces the previous one, whose lengths are cleared. */
    for (uint32_t i = 0; e->have_prev && i < pc->n; i++)
        pc->len[pc->list[i]] = 0;
    e->cur = !e->cur;
    e->have_prev = 1;
    make_codes(nc, e->lmax);
    if ((err = cnnz__buf_varint(out, (uint64_t)(count - 1) << 2 | HUF_CODE)))
        return err;
    struct cnnz__bitw bw;
    cnnz__bitw_init(&bw, out->data + out->len, out->cap - out->len);
    put_code(e, nc, &bw);
    if ((err = end_bits(out, &bw)))
        return err;
    return put_streams(e, nc->enc, from, count);
}

/* Estimated bytes of a block (in 1/65536 bits): the order-0 entropy (at
 * least one bit a symbol for a code of two symbols or more), plus headers
 * and an estimate of the code description. */
static uint64_t est_cost(const struct huf_enc *e, uint64_t total, uint64_t sum_xlg,
                         uint32_t distinct)
{
    if (distinct <= 1)
        return (uint64_t)(8 * (2 + e->w)) << 16;
    uint64_t t = xlg(total);
    uint64_t pay = t > sum_xlg ? t - sum_xlg : 0;
    if (pay < total << 16)
        pay = total << 16;
    /* about 3 bits a symbol of the code when the symbols in use are dense,
     * and 2 log2(gap) more for the runs of absent symbols between them
     * (width 2 only: a byte alphabet has short gaps) */
    uint64_t over = (24 + 3 * (uint64_t)distinct + (total >= HUF_FOUR ? 40 : 0)) << 16;
    if (e->w == 2 && distinct < e->D)
        over += 2 * (uint64_t)distinct * (lg(e->D) - lg(distinct));
    return pay + over;
}

/* Histogram of symbols [from, to) into e->hk; returns sum of c*lg(c). */
static uint64_t chunk_hist(struct huf_enc *e, size_t from, size_t to)
{
    uint32_t *h = e->hk;
    uint64_t s = 0;
    if (e->w == 1) {
        for (size_t i = from; i < to; i++)
            h[e->src[i]]++;
        uint32_t n = 0;
        for (uint32_t x = 0; x < 256; x++)
            if (h[x]) {
                s += xlg(h[x]);
                n++;
            }
        e->nk = n;
        return s;
    }
    uint32_t n = 0;
    for (size_t i = from; i < to; i++) {
        uint32_t x = enc_sym(e, i);
        if (h[x]++ == 0)
            e->lk[n++] = (uint16_t)x;
    }
    for (uint32_t i = 0; i < n; i++)
        s += xlg(h[e->lk[i]]);
    e->nk = n;
    return s;
}

static void clear_hist(const struct huf_enc *e, uint32_t *h, const uint16_t *l, uint32_t n)
{
    if (e->w == 1 || n * 8 > e->D) {
        memset(h, 0, (size_t)e->D * sizeof *h);
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        h[l[i]] = 0;
}

/* Greedy block splitting: a chunk joins the current block when the
 * estimated cost of the union is not above the cost of two blocks. */
static int encode_blocks(struct huf_enc *e, size_t nsym)
{
    int err;
    size_t from = 0, total = 0;
    uint64_t sc = 0; /* sum of c*lg(c) of the current block */
    for (size_t at = 0; at < nsym; at += HUF_CHUNK) {
        size_t end = nsym - at < HUF_CHUNK ? nsym : at + HUF_CHUNK, nk = end - at;
        uint64_t sk = chunk_hist(e, at, end);
        int merge = 0;
        uint64_t sm = 0;
        uint32_t dm = e->nc;
        if (total && total + nk <= HUF_BLOCK_MAX) {
            /* the union differs from the block only where the chunk has symbols */
            sm = sc;
            if (e->w == 1) {
                for (uint32_t x = 0; x < 256; x++)
                    if (e->hk[x]) {
                        sm += xlg((uint64_t)e->hc[x] + e->hk[x]) - xlg(e->hc[x]);
                        dm += !e->hc[x];
                    }
            } else {
                for (uint32_t i = 0; i < e->nk; i++) {
                    uint32_t x = e->lk[i];
                    sm += xlg((uint64_t)e->hc[x] + e->hk[x]) - xlg(e->hc[x]);
                    dm += !e->hc[x];
                }
            }
            merge = est_cost(e, total + nk, sm, dm) <=
                    est_cost(e, total, sc, e->nc) + est_cost(e, nk, sk, e->nk);
        }
        if (merge) {
            if (e->w == 1) {
                for (uint32_t x = 0; x < 256; x++)
                    e->hc[x] += e->hk[x];
            } else {
                for (uint32_t i = 0; i < e->nk; i++) {
                    uint32_t x = e->lk[i];
                    if (!e->hc[x])
                        e->lc[e->nc++] = (uint16_t)x;
                    e->hc[x] += e->hk[x];
                }
            }
            e->nc = dm;
            sc = sm;
            total += nk;
            clear_hist(e, e->hk, e->lk, e->nk);
            continue;
        }
        if (total && (err = emit_block(e, from, total)))
            return err;
        /* the chunk becomes the current block */
        clear_hist(e, e->hc, e->lc, e->nc);
        uint32_t *th = e->hc;
        e->hc = e->hk;
        e->hk = th;
        uint16_t *tl = e->lc;
        e->lc = e->lk;
        e->lk = tl;
        e->nc = e->nk;
        sc = sk;
        from = at;
        total = nk;
    }
    return emit_block(e, from, total);
}

/* Carve n items of size sz (aligned to 8) from *p. */
static void *carve(uint8_t **p, size_t n, size_t sz)
{
    void *r = *p;
    *p += (n * sz + 7) & ~(size_t)7;
    return r;
}

static int huf_encode(const struct cnnz__alloc *a, const struct cnnz__symfmt *fmt,
                      const uint8_t *src, size_t src_len, struct cnnz__buf *out,
                      const uint8_t **coded, size_t *coded_len, struct cnnz__buf *params_out)
{
    const unsigned w = fmt->width;
    if (w != 1 && w != 2)
        return CNNZ_E_UNSUPPORTED;
    if (src_len % w)
        return CNNZ_E_ARG;
    uint8_t param = (uint8_t)w;
    int err = cnnz__buf_append(params_out, &param, 1);
    if (err)
        return err;
    const size_t nsym = src_len / w, start = out->len;
    if (nsym == 0) {
        *coded = src;
        *coded_len = 0;
        return CNNZ_OK;
    }
    struct huf_enc e;
    memset(&e, 0, sizeof e);
    e.a = a;
    e.w = w;
    e.lmax = huf_lmax(w);
    e.src = src;
    e.out = out;
    uint64_t *bitmap = NULL;
    uint16_t *rank = NULL;
    struct cnnz__dense16 d16 = {0};
    if (w == 1) {
        e.D = 256;
    } else if (nsym < CNNZ__DENSE16_BELOW) {
        if ((err = cnnz__dense16_build(a, src, nsym, &d16)))
            goto out;
        e.D = d16.k;
        e.didx = d16.idx;
    } else {
        /* Dense indexes of the symbols present, in symbol order, so tables
         * are as large as the alphabet in use, not 65536. */
        bitmap = cnnz__malloc(a, 8192);
        rank = cnnz__malloc_array(a, 65536, sizeof *rank);
        if (!bitmap || !rank) {
            err = CNNZ_E_NOMEM;
            goto out;
        }
        memset(bitmap, 0, 8192);
        for (size_t i = 0; i < nsym; i++) {
            unsigned s = cnnz__le16(src + 2 * i);
            bitmap[s >> 6] |= UINT64_C(1) << (s & 63);
        }
        uint32_t D = 0;
        for (unsigned i = 0; i < 1024; i++)
            for (uint64_t m = bitmap[i]; m; m &= m - 1)
                rank[i * 64 + (unsigned)__builtin_ctzll(m)] = (uint16_t)D++;
        e.D = D;
        e.rank = rank;
    }
    const size_t D = e.D;
    size_t size = 2 * (D * 4 + 8) + 2 * (D * 2 + 8) + 2 * (D + 8 + D * 4 + 8 + D * 2 + 8) +
                  3 * (D * 8 + 8) + (2 * D * 4 + 8) + (D + 8) + (D * 2 + 8);
    uint8_t *arena = cnnz__malloc(a, size), *p = arena;
    if (!arena) {
        err = CNNZ_E_NOMEM;
        goto out;
    }
    e.hc = carve(&p, D, 4);
    e.hk = carve(&p, D, 4);
    e.lc = carve(&p, D, 2);
    e.lk = carve(&p, D, 2);
    for (int k = 0; k < 2; k++) {
        e.code[k].len = carve(&p, D, 1);
        e.code[k].enc = carve(&p, D, 4);
        e.code[k].list = carve(&p, D, 2);
        memset(e.code[k].len, 0, D);
    }
    e.key = carve(&p, D, 8);
    e.tmp = carve(&p, D, 8);
    e.wt = carve(&p, D, 8);
    e.node = carve(&p, 2 * D, 4);
    e.slen = carve(&p, D, 1);
    e.dsym = carve(&p, D, 2);
    memset(e.hc, 0, D * 4);
    memset(e.hk, 0, D * 4);
    if (w == 2 && !rank)
        memcpy(e.dsym, d16.sym, D * sizeof *e.dsym);
    else if (w == 2)
        for (unsigned i = 0; i < 1024; i++)
            for (uint64_t m = bitmap[i]; m; m &= m - 1) {
                unsigned s = i * 64 + (unsigned)__builtin_ctzll(m);
                e.dsym[rank[s]] = (uint16_t)s;
            }
    err = encode_blocks(&e, nsym);
    cnnz__free(a, arena);
out:
    cnnz__free(a, bitmap);
    cnnz__free(a, rank);
    cnnz__dense16_free(a, &d16);
    if (err) {
        out->len = start;
        return err;
    }
    *coded = out->data + start;
    *coded_len = out->len - start;
    return CNNZ_OK;
}

const struct cnnz__coder cnnz__coder_huffman = {
    .id = CNNZ_CODER_HUFFMAN,
    .name = "huffman",
    .version = 0,
    .check = huf_check,
    .decode = huf_decode,
    .encode = huf_encode,
    .identity = 0,
    .stream_begin = huf_stream_begin,
    .stream_next = huf_stream_next,
    .stream_end = huf_stream_end,
};
