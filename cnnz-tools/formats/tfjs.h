/*
 * tfjs.h - TensorFlow.js weights: a layers/graph `model.json` (object with a
 * "weightsManifest") or a bare weights manifest (`*weights_manifest.json`, an
 * array of groups {"paths": [...], "weights": [...]}).
 *
 * Each group's shards (paths relative to the JSON's folder) are concatenated
 * and its weights lie back to back in that concatenation, in manifest order.
 * A weight's stored size is prod(shape) x the size of its quantization dtype
 * (uint8 1, uint16 2, float16 2) or, unquantized, of its dtype (float32 and
 * int32 4, bool 1). The shards must hold the weights exactly.
 *
 * What each weight becomes in cnnz, keeping the stored bytes exactly:
 *   float32 + uint8/uint16 quantization -> affine (f32 = q*scale + min)
 *   int32   + uint8/uint16 quantization -> affine (i32 = Math.round(q*scale + min))
 *   float32 + float16 quantization      -> widen (f16 -> f32)
 *   float32 / int32 / bool              -> plain
 * string and complex64 weights are FMT_E_UNSUPPORTED, named in the message.
 */
#ifndef CNNZ_TOOLS_TFJS_H
#define CNNZ_TOOLS_TFJS_H

#include <stddef.h>
#include <stdint.h>

#include "cnnz.h"
#include "fmt.h"

struct tfjs_weight {
    const char *name;    /* NUL-terminated, owned by the model */
    int dtype;           /* the tensor's dtype as tfjs decodes it */
    int repr;            /* CNNZ_REPR_PLAIN / AFFINE / WIDEN */
    int symbol_dtype;    /* AFFINE: U8/U16; WIDEN: F16 */
    double scale, offset; /* AFFINE: quantization scale and min */
    unsigned rank;
    uint64_t dims[CNNZ_MAX_RANK];
    uint64_t elements;
    const unsigned char *data; /* the stored bytes, inside the model's shard buffer */
    size_t data_bytes;
};

struct tfjs_meta {
    const char *key, *value;
};

struct tfjs_model {
    struct tfjs_weight *weights;
    size_t count;
    struct tfjs_meta meta[4];
    size_t meta_count;
    void *priv; /* owned buffers */
};

/* Reads a shard: the whole file at path into malloc'd memory. */
typedef int (*tfjs_read_fn)(void *opaque, const char *path, unsigned char **data, size_t *size,
                            char *err, size_t err_size);

/* Parse the JSON text json[0..len) found at json_path (its folder resolves
 * the shard paths; its name gives model.name), reading shards with read
 * (NULL: from the file system, refusing absolute paths, '..' components and
 * anything that resolves outside the folder). Safe on any input. */
int tfjs_parse(const void *json, size_t len, const char *json_path, tfjs_read_fn read,
               void *opaque, struct tfjs_model **out, char *err, size_t err_size);
void tfjs_free(struct tfjs_model *m);

#endif
