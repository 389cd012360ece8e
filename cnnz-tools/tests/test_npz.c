/* Check suite for cnnz-tools/formats/npz.{c,h}: writer/parser round trips
 * for every dtype (plain and zip64), archives written by numpy (savez,
 * savez_compressed, a streamed one with data descriptors), deflated and
 * zip64 members from an independent zip builder, every truncation,
 * targeted malformed archives (CRC, sizes, overlaps, names, methods,
 * encryption, end records), limits, sink failures and random byte flips. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cnnz.h"
#include "tests.h"
#include "npy.h"
#include "npz.h"


/* np.savez / np.savez_compressed (numpy 1.24, file on disk) and
 * np.savez_compressed into a non-seekable stream (data descriptors) of
 *   a = np.arange(6, dtype='<f4').reshape(2, 3)
 *   b = np.array([1, -2], dtype=np.int16)
 *   c = np.array(True)        (not in the streamed one) */
static const unsigned char numpy_savez[753] = {
    0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x4f, 0xe9,
    0x00, 0x2a, 0x98, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x61, 0x2e,
    0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x98,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76,
    0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27,
    0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72,
    0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65,
    0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20, 0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3f, 0x00,
    0x00, 0x00, 0x40, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40, 0x00, 0x00, 0xa0, 0x40, 0x50,
    0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0xa1, 0x73, 0x8e,
    0xaf, 0x84, 0x00, 0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x62, 0x2e, 0x6e,
    0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x84, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00,
    0x7b, 0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x69, 0x32, 0x27, 0x2c,
    0x20, 0x27, 0x66, 0x6f, 0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27,
    0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27,
    0x3a, 0x20, 0x28, 0x32, 0x2c, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x0a, 0x01, 0x00, 0xfe, 0xff, 0x50, 0x4b, 0x03, 0x04, 0x14, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x82, 0x2d, 0xf8, 0xd3, 0x81, 0x00, 0x00, 0x00,
    0x81, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x63, 0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00, 0x10,
    0x00, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73,
    0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x7c, 0x62, 0x31, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72,
    0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c,
    0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x29, 0x2c,
    0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x0a, 0x01, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x21, 0x00, 0x4f, 0xe9, 0x00, 0x2a, 0x98, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x05, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x61, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x21, 0x00, 0xa1, 0x73, 0x8e, 0xaf, 0x84, 0x00, 0x00, 0x00, 0x84, 0x00, 0x00,
    0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0xcf,
    0x00, 0x00, 0x00, 0x62, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x82, 0x2d, 0xf8, 0xd3, 0x81, 0x00, 0x00, 0x00,
    0x81, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x80, 0x01, 0x8a, 0x01, 0x00, 0x00, 0x63, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x03, 0x00, 0x99, 0x00, 0x00, 0x00, 0x42, 0x02, 0x00, 0x00, 0x00,
    0x00,
};
static const unsigned char numpy_savez_compressed[564] = {
    0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x4f, 0xe9,
    0x00, 0x2a, 0x55, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x61, 0x2e,
    0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x55,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9, 0xc8, 0x50,
    0xc6, 0x50, 0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93, 0x66, 0xa2,
    0xae, 0xa3, 0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92, 0x0a,
    0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02, 0xf9, 0x1a,
    0x46, 0x3a, 0x0a, 0xc6, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x64, 0x03, 0x2e, 0x06, 0x30, 0x68, 0xb0,
    0x07, 0x12, 0x0e, 0x40, 0x04, 0xc4, 0x0d, 0x40, 0xbc, 0xc0, 0x01, 0x00, 0x50, 0x4b, 0x03, 0x04,
    0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0xa1, 0x73, 0x8e, 0xaf, 0x48, 0x00,
    0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x62, 0x2e, 0x6e, 0x70, 0x79, 0x01,
    0x00, 0x10, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9, 0xc8, 0x50, 0xc6, 0x50, 0xad, 0x9e,
    0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93, 0x69, 0xa4, 0xae, 0xa3, 0xa0, 0x9e,
    0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92, 0x0a, 0x12, 0x77, 0x4b, 0xcc,
    0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02, 0xf9, 0x1a, 0x46, 0x3a, 0x9a, 0x3a,
    0x0a, 0xb5, 0x0a, 0x14, 0x00, 0x2e, 0x46, 0x86, 0x7f, 0xff, 0x01, 0x50, 0x4b, 0x03, 0x04, 0x14,
    0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x82, 0x2d, 0xf8, 0xd3, 0x43, 0x00, 0x00,
    0x00, 0x81, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x63, 0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00,
    0x10, 0x00, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x43, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9, 0xc8, 0x50, 0xc6, 0x50, 0xad, 0x9e, 0x92,
    0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x5e, 0x93, 0x64, 0xa8, 0xae, 0xa3, 0xa0, 0x9e, 0x96,
    0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92, 0x0a, 0x12, 0x77, 0x4b, 0xcc, 0x29,
    0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02, 0xf9, 0x1a, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a,
    0x14, 0x01, 0x2e, 0x46, 0x00, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x08,
    0x00, 0x00, 0x00, 0x21, 0x00, 0x4f, 0xe9, 0x00, 0x2a, 0x55, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00,
    0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x61, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00,
    0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0xa1, 0x73, 0x8e, 0xaf, 0x48, 0x00, 0x00, 0x00,
    0x84, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x80, 0x01, 0x8c, 0x00, 0x00, 0x00, 0x62, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x01, 0x02, 0x14,
    0x03, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x82, 0x2d, 0xf8, 0xd3, 0x43,
    0x00, 0x00, 0x00, 0x81, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x80, 0x01, 0x0b, 0x01, 0x00, 0x00, 0x63, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b,
    0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x03, 0x00, 0x99, 0x00, 0x00, 0x00, 0x85, 0x01,
    0x00, 0x00, 0x00, 0x00,
};
static const unsigned char numpy_savez_stream[439] = {
    0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x61, 0x2e,
    0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9, 0xc8, 0x50,
    0xc6, 0x50, 0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93, 0x66, 0xa2,
    0xae, 0xa3, 0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92, 0x0a,
    0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02, 0xf9, 0x1a,
    0x46, 0x3a, 0x0a, 0xc6, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x64, 0x03, 0x2e, 0x06, 0x30, 0x68, 0xb0,
    0x07, 0x12, 0x0e, 0x40, 0x04, 0xc4, 0x0d, 0x40, 0xbc, 0xc0, 0x01, 0x00, 0x50, 0x4b, 0x07, 0x08,
    0x4f, 0xe9, 0x00, 0x2a, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00,
    0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00,
    0x14, 0x00, 0x62, 0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b,
    0x10, 0xc9, 0xc8, 0x50, 0xc6, 0x50, 0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0,
    0x6e, 0x93, 0x69, 0xa4, 0xae, 0xa3, 0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f,
    0x5f, 0x94, 0x92, 0x0a, 0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16,
    0xa4, 0x02, 0xf9, 0x1a, 0x46, 0x3a, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x14, 0x00, 0x2e, 0x46, 0x86,
    0x7f, 0xff, 0x01, 0x50, 0x4b, 0x07, 0x08, 0xa1, 0x73, 0x8e, 0xaf, 0x48, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x4b, 0x01, 0x02, 0x14,
    0x03, 0x14, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x4f, 0xe9, 0x00, 0x2a, 0x55,
    0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x61, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b,
    0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0xa1, 0x73,
    0x8e, 0xaf, 0x48, 0x00, 0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0xa4, 0x00, 0x00, 0x00, 0x62, 0x2e, 0x6e, 0x70,
    0x79, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x02, 0x00, 0x66, 0x00, 0x00,
    0x00, 0x3b, 0x01, 0x00, 0x00, 0x00, 0x00,
};

/* ------------------------------------------------------------ helpers */

static void w16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void w32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void w64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t r32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int parse_status(const void *p, size_t n, const struct npz_options *o, char *err)
{
    unsigned char *d = dup_exact(p, n);
    struct npz_file *f = (struct npz_file *)1;
    err[0] = '\0';
    int rc = npz_parse(d, n, o, &f, err, FMT_ERR_SIZE);
    if (rc != FMT_OK)
        ck_assert_ptr_null(f);
    npz_free(f);
    free(d);
    return rc;
}

/* A complete .npy image (header + data). */
static unsigned char *npy_image(int dtype, unsigned rank, const uint64_t *dims, const void *data,
                                size_t bytes, size_t *len)
{
    unsigned char hdr[NPY_HEADER_MAX];
    size_t hl;
    char err[FMT_ERR_SIZE];
    ck_assert_int_eq(npy_header(dtype, rank, dims, hdr, sizeof hdr, &hl, err, sizeof err), FMT_OK);
    unsigned char *p = malloc(hl + bytes);
    ck_assert_ptr_nonnull(p);
    memcpy(p, hdr, hl);
    if (bytes)
        memcpy(p + hl, data, bytes);
    *len = hl + bytes;
    return p;
}

/* ----------------------------------------- an independent zip builder */

/* One member: its bytes (uncompressed) and how to store them. */
struct zm {
    const char *name;
    size_t name_len; /* 0: strlen */
    const unsigned char *data;
    size_t size;
    unsigned method;   /* 0 stored, 8 deflated */
    unsigned flags;    /* general purpose flags (bit 3 adds a data descriptor) */
    int zip64_local;   /* 0xFFFFFFFF sizes + zip64 extra in the local header */
    int zip64_central; /* same for sizes and offset in the central entry */
    size_t junk;       /* bytes appended to the compressed stream (counted in csize) */
};

/* Offsets of what zbuild wrote, for patching. */
struct zinfo {
    size_t lho[8], cen[8], cd_off, eocd;
};

static unsigned char *deflate_raw(const unsigned char *d, size_t n, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 16;
    unsigned char *o = malloc(cap);
    ck_assert_ptr_nonnull(o);
    zs.next_in = (unsigned char *)(uintptr_t)d;
    zs.avail_in = (uInt)n;
    zs.next_out = o;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return o;
}

static unsigned char *zbuild(const struct zm *m, size_t n, int zip64_eocd, size_t *len,
                             struct zinfo *zi)
{
    struct buf b;
    buf_init(&b);
    unsigned char h[128];
    uint32_t crcs[8];
    size_t csz[8];
    memset(zi, 0, sizeof *zi);
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < n; i++) {
        size_t nl = m[i].name_len ? m[i].name_len : strlen(m[i].name);
        unsigned char *comp = NULL;
        size_t cl = m[i].size;
        if (m[i].method == 8)
            comp = deflate_raw(m[i].data, m[i].size, &cl);
        cl += m[i].junk;
        csz[i] = cl;
        crcs[i] = (uint32_t)crc32(0L, m[i].data, (uInt)m[i].size);
        int dd = (m[i].flags & 8) != 0;
        zi->lho[i] = b.len;
        w32(h, 0x04034b50);
        w16(h + 4, 20);
        w16(h + 6, m[i].flags);
        w16(h + 8, m[i].method);
        w16(h + 10, 0);
        w16(h + 12, 0x21);
        w32(h + 14, dd ? 0 : crcs[i]);
        w32(h + 18, m[i].zip64_local ? 0xFFFFFFFFu : dd ? 0 : (uint32_t)cl);
        w32(h + 22, m[i].zip64_local ? 0xFFFFFFFFu : dd ? 0 : (uint32_t)m[i].size);
        w16(h + 26, (unsigned)nl);
        w16(h + 28, m[i].zip64_local ? 20 : 0);
        buf_write(&b, h, 30);
        buf_write(&b, m[i].name, nl);
        if (m[i].zip64_local) {
            w16(h, 1);
            w16(h + 2, 16);
            w64(h + 4, m[i].size);
            w64(h + 12, cl);
            buf_write(&b, h, 20);
        }
        if (comp)
            buf_write(&b, comp, cl - m[i].junk);
        else if (m[i].size)
            buf_write(&b, m[i].data, m[i].size);
        for (size_t k = 0; k < m[i].junk; k++)
            buf_write(&b, "J", 1);
        free(comp);
        if (dd) {
            w32(h, 0x08074b50);
            w32(h + 4, crcs[i]);
            w32(h + 8, (uint32_t)cl);
            w32(h + 12, (uint32_t)m[i].size);
            buf_write(&b, h, 16);
        }
    }
    zi->cd_off = b.len;
    for (size_t i = 0; i < n; i++) {
        size_t nl = m[i].name_len ? m[i].name_len : strlen(m[i].name);
        int z = m[i].zip64_central;
        zi->cen[i] = b.len;
        w32(h, 0x02014b50);
        w16(h + 4, 0x031E);
        w16(h + 6, 20);
        w16(h + 8, m[i].flags);
        w16(h + 10, m[i].method);
        w16(h + 12, 0);
        w16(h + 14, 0x21);
        w32(h + 16, crcs[i]);
        w32(h + 20, z ? 0xFFFFFFFFu : (uint32_t)csz[i]);
        w32(h + 24, z ? 0xFFFFFFFFu : (uint32_t)m[i].size);
        w16(h + 28, (unsigned)nl);
        w16(h + 30, z ? 28 : 0);
        w16(h + 32, 0);
        w16(h + 34, 0);
        w16(h + 36, 0);
        w32(h + 38, 0);
        w32(h + 42, z ? 0xFFFFFFFFu : (uint32_t)zi->lho[i]);
        buf_write(&b, h, 46);
        buf_write(&b, m[i].name, nl);
        if (z) {
            w16(h, 1);
            w16(h + 2, 24);
            w64(h + 4, m[i].size);
            w64(h + 12, csz[i]);
            w64(h + 20, zi->lho[i]);
            buf_write(&b, h, 28);
        }
    }
    size_t cd_size = b.len - zi->cd_off;
    if (zip64_eocd) {
        size_t rec = b.len;
        w32(h, 0x06064b50);
        w64(h + 4, 44);
        w16(h + 12, 45);
        w16(h + 14, 45);
        w32(h + 16, 0);
        w32(h + 20, 0);
        w64(h + 24, n);
        w64(h + 32, n);
        w64(h + 40, cd_size);
        w64(h + 48, zi->cd_off);
        buf_write(&b, h, 56);
        w32(h, 0x07064b50);
        w32(h + 4, 0);
        w64(h + 8, rec);
        w32(h + 16, 1);
        buf_write(&b, h, 20);
    }
    zi->eocd = b.len;
    w32(h, 0x06054b50);
    w16(h + 4, 0);
    w16(h + 6, 0);
    w16(h + 8, zip64_eocd ? 0xFFFF : (unsigned)n);
    w16(h + 10, zip64_eocd ? 0xFFFF : (unsigned)n);
    w32(h + 12, zip64_eocd ? 0xFFFFFFFFu : (uint32_t)cd_size);
    w32(h + 16, zip64_eocd ? 0xFFFFFFFFu : (uint32_t)zi->cd_off);
    w16(h + 20, 0);
    buf_write(&b, h, 22);
    *len = b.len;
    return b.data;
}

/* Three small .npy members used by the builder tests. */
struct members {
    unsigned char *npy[3];
    size_t len[3];
    float f[6];
    int16_t s[2];
    uint8_t bo[1];
};

static void members_make(struct members *m)
{
    uint64_t d23[2] = {2, 3}, d2[1] = {2};
    for (int i = 0; i < 6; i++)
        m->f[i] = (float)i;
    m->s[0] = 1;
    m->s[1] = -2;
    m->bo[0] = 1;
    m->npy[0] = npy_image(CNNZ_DT_F32, 2, d23, m->f, 24, &m->len[0]);
    m->npy[1] = npy_image(CNNZ_DT_I16, 1, d2, m->s, 4, &m->len[1]);
    m->npy[2] = npy_image(CNNZ_DT_BOOL, 0, NULL, m->bo, 1, &m->len[2]);
}

static void members_free(struct members *m)
{
    for (int i = 0; i < 3; i++)
        free(m->npy[i]);
}

static void zm_three(struct zm *z, const struct members *m, unsigned method)
{
    static const char *names[3] = {"a.npy", "b.npy", "c.npy"};
    memset(z, 0, 3 * sizeof *z);
    for (int i = 0; i < 3; i++) {
        z[i].name = names[i];
        z[i].data = m->npy[i];
        z[i].size = m->len[i];
        z[i].method = method;
    }
}

/* a, b (and c when n == 3) hold the values of struct members / numpy's. */
static void check_abc(const struct npz_file *f, size_t n)
{
    ck_assert_uint_eq(f->count, n);
    ck_assert_str_eq(f->tensors[0].name, "a");
    ck_assert_int_eq(f->tensors[0].dtype, CNNZ_DT_F32);
    ck_assert_uint_eq(f->tensors[0].rank, 2);
    ck_assert_uint_eq(f->tensors[0].dims[0], 2);
    ck_assert_uint_eq(f->tensors[0].dims[1], 3);
    ck_assert_uint_eq(f->tensors[0].data_bytes, 24);
    for (int i = 0; i < 6; i++) {
        float v;
        memcpy(&v, f->tensors[0].data + 4 * i, 4);
        ck_assert(v == (float)i);
    }
    ck_assert_str_eq(f->tensors[1].name, "b");
    ck_assert_int_eq(f->tensors[1].dtype, CNNZ_DT_I16);
    ck_assert_uint_eq(f->tensors[1].elements, 2);
    ck_assert(memcmp(f->tensors[1].data, "\x01\x00\xFE\xFF", 4) == 0);
    if (n == 3) {
        ck_assert_str_eq(f->tensors[2].name, "c");
        ck_assert_int_eq(f->tensors[2].dtype, CNNZ_DT_BOOL);
        ck_assert_uint_eq(f->tensors[2].rank, 0);
        ck_assert_uint_eq(f->tensors[2].data_bytes, 1);
        ck_assert_uint_eq(f->tensors[2].data[0], 1);
    }
}

#define ALL_DTYPES                                                                              \
    {CNNZ_DT_F32, CNNZ_DT_F16, CNNZ_DT_BF16, CNNZ_DT_F64, CNNZ_DT_I8, CNNZ_DT_U8, CNNZ_DT_I16,    \
     CNNZ_DT_U16, CNNZ_DT_I32, CNNZ_DT_U32, CNNZ_DT_I64, CNNZ_DT_U64, CNNZ_DT_BOOL}

struct set {
    struct npz_tensor t[64];
    char names[64][40];
    unsigned char *data[64];
    size_t n;
};

static void set_make(struct set *s, uint64_t seed)
{
    static const int dts[] = ALL_DTYPES;
    memset(s, 0, sizeof *s);
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++) {
        for (int v = 0; v < 4; v++) {
            struct npz_tensor *t = &s->t[s->n];
            snprintf(s->names[s->n], sizeof s->names[0], "%s/layer%d", cnnz_dtype_name(dts[d]), v);
            t->name = s->names[s->n];
            t->dtype = dts[d];
            t->rank = v == 0 ? 0 : (unsigned)(rng_next(&seed) % 4 + 1);
            uint64_t el = 1;
            for (unsigned k = 0; k < t->rank; k++) {
                t->dims[k] = v == 1 && k == t->rank - 1 ? 0 : rng_next(&seed) % 5 + 1;
                el *= t->dims[k];
            }
            t->data_bytes = (size_t)el * cnnz_dtype_size(t->dtype);
            s->data[s->n] = malloc(t->data_bytes ? t->data_bytes : 1);
            ck_assert_ptr_nonnull(s->data[s->n]);
            for (size_t i = 0; i < t->data_bytes; i++)
                s->data[s->n][i] = t->dtype == CNNZ_DT_BOOL ? (unsigned char)(rng_next(&seed) & 1)
                                                            : (unsigned char)rng_next(&seed);
            t->data = s->data[s->n];
            s->n++;
        }
    }
}

static void set_free(struct set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->data[i]);
}

/* -------------------------------------------------------------- tests */

START_TEST(roundtrip_every_dtype)
{
    for (int force = 0; force < 2; force++) {
        struct set s;
        set_make(&s, 1000 + (uint64_t)force);
        struct npz_write_options wo = {force};
        struct buf b;
        buf_init(&b);
        char err[FMT_ERR_SIZE];
        ck_assert_msg(npz_write(s.t, s.n, &wo, buf_write, &b, err, sizeof err) == FMT_OK, "%s", err);
        struct npz_file *f;
        ck_assert_msg(npz_parse(b.data, b.len, NULL, &f, err, sizeof err) == FMT_OK, "%s", err);
        ck_assert_int_eq(f->zip64, force);
        ck_assert_uint_eq(f->count, s.n);
        for (size_t i = 0; i < s.n; i++) {
            const struct npz_tensor *t = &f->tensors[i], *w = &s.t[i];
            ck_assert_str_eq(t->name, w->name);
            ck_assert_int_eq(t->dtype, w->dtype == CNNZ_DT_BF16 ? CNNZ_DT_U16 : w->dtype);
            ck_assert_uint_eq(t->rank, w->rank);
            for (unsigned k = 0; k < t->rank; k++)
                ck_assert_uint_eq(t->dims[k], w->dims[k]);
            ck_assert_uint_eq(t->data_bytes, w->data_bytes);
            ck_assert(memcmp(t->data, w->data, w->data_bytes) == 0);
            ck_assert_int_eq(t->compressed, 0);
            /* Stored members are borrowed from the input. */
            ck_assert(t->data >= b.data && t->data + t->data_bytes <= b.data + b.len);
        }
        /* Deterministic. */
        struct buf b2;
        buf_init(&b2);
        ck_assert_int_eq(npz_write(s.t, s.n, &wo, buf_write, &b2, err, sizeof err), FMT_OK);
        ck_assert(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0);
        npz_free(f);
        free(b.data);
        free(b2.data);
        set_free(&s);
    }
}
END_TEST

START_TEST(numpy_archives)
{
    static const struct {
        const unsigned char *p;
        size_t n, count;
        int compressed;
    } files[] = {
        {numpy_savez, sizeof numpy_savez, 3, 0},
        {numpy_savez_compressed, sizeof numpy_savez_compressed, 3, 1},
        {numpy_savez_stream, sizeof numpy_savez_stream, 2, 1},
    };
    for (size_t i = 0; i < 3; i++) {
        unsigned char *d = dup_exact(files[i].p, files[i].n);
        struct npz_file *f;
        char err[FMT_ERR_SIZE];
        ck_assert_msg(npz_parse(d, files[i].n, NULL, &f, err, sizeof err) == FMT_OK, "%zu: %s", i,
                      err);
        check_abc(f, files[i].count);
        ck_assert_int_eq(f->tensors[0].compressed, files[i].compressed);
        npz_free(f);
        free(d);
    }
}
END_TEST

START_TEST(builder_variants)
{
    struct members m;
    members_make(&m);
    for (int v = 0; v < 8; v++) {
        struct zm z[3];
        zm_three(z, &m, v & 1 ? 8 : 0);
        for (int i = 0; i < 3; i++) {
            z[i].zip64_local = (v & 2) != 0;
            z[i].zip64_central = (v & 4) != 0;
            if (v == 7 && i == 1)
                z[i].flags = 8; /* data descriptor */
        }
        struct zinfo zi;
        size_t len;
        unsigned char *p = zbuild(z, 3, v >= 4, &len, &zi);
        struct npz_file *f;
        char err[FMT_ERR_SIZE];
        ck_assert_msg(npz_parse(p, len, NULL, &f, err, sizeof err) == FMT_OK, "variant %d: %s", v,
                      err);
        check_abc(f, 3);
        ck_assert_int_eq(f->zip64, v >= 4);
        ck_assert_int_eq(f->tensors[2].compressed, v & 1);
        npz_free(f);
        free(p);
    }
    members_free(&m);
}
END_TEST

START_TEST(every_truncation_fails)
{
    struct set s;
    set_make(&s, 5);
    struct buf b;
    buf_init(&b);
    char err[FMT_ERR_SIZE];
    struct npz_write_options wo = {1};
    ck_assert_int_eq(npz_write(s.t, 6, &wo, buf_write, &b, err, sizeof err), FMT_OK);
    for (size_t n = 0; n < b.len; n++)
        ck_assert_msg(parse_status(b.data, n, NULL, err) == FMT_E_INVALID, "prefix %zu", n);
    for (size_t n = 0; n < sizeof numpy_savez_compressed; n++)
        ck_assert_msg(parse_status(numpy_savez_compressed, n, NULL, err) == FMT_E_INVALID,
                      "prefix %zu", n);
    /* Bytes after the end record. */
    unsigned char *l = malloc(b.len + 1);
    memcpy(l, b.data, b.len);
    l[b.len] = 0;
    ck_assert_int_eq(parse_status(l, b.len + 1, NULL, err), FMT_E_INVALID);
    free(l);
    free(b.data);
    set_free(&s);
}
END_TEST

/* Build the three members with method, apply patch, expect status + message. */
typedef void (*patch_fn)(unsigned char *p, size_t len, const struct zinfo *zi);

static void expect(struct zm *z, size_t n, int zip64, patch_fn patch, const struct npz_options *o,
                   int status, const char *msg)
{
    struct zinfo zi;
    size_t len;
    unsigned char *p = zbuild(z, n, zip64, &len, &zi);
    if (patch)
        patch(p, len, &zi);
    char err[FMT_ERR_SIZE];
    int rc = parse_status(p, len, o, err);
    ck_assert_msg(rc == status, "want %d got %d (%s), expecting '%s'", status, rc, err, msg);
    ck_assert_msg(strstr(err, msg) != NULL, "message '%s' lacks '%s'", err, msg);
    free(p);
}

/* Patches. Member 0's local header is at 0; its data at 30 + 5. */
static void p_flip_data(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    p[zi->lho[1] - 1] ^= 0x40; /* last data byte of member 0 */
}

static void p_crc(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    p[zi->lho[0] + 14] ^= 1;
    p[zi->cen[0] + 16] ^= 1;
}

static void set_usize(unsigned char *p, const struct zinfo *zi, int delta)
{
    w32(p + zi->lho[0] + 22, r32(p + zi->lho[0] + 22) + (uint32_t)delta);
    w32(p + zi->cen[0] + 24, r32(p + zi->cen[0] + 24) + (uint32_t)delta);
}

static void p_usize_more(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    set_usize(p, zi, 1);
}

static void p_usize_less(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    set_usize(p, zi, -1);
}

static void p_csize_less(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w32(p + zi->lho[0] + 18, r32(p + zi->lho[0] + 18) - 2);
    w32(p + zi->cen[0] + 20, r32(p + zi->cen[0] + 20) - 2);
}

static void p_stored_sizes_differ(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w32(p + zi->cen[0] + 20, r32(p + zi->cen[0] + 20) - 1);
}

static void p_overlap(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    set_usize(p, zi, 8); /* stored: csize too */
    w32(p + zi->lho[0] + 18, r32(p + zi->lho[0] + 18) + 8);
    w32(p + zi->cen[0] + 20, r32(p + zi->cen[0] + 20) + 8);
}

static void p_encrypted(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    p[zi->lho[1] + 6] |= 1;
    p[zi->cen[1] + 8] |= 1;
}

static void p_method(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w16(p + zi->lho[1] + 8, 12);
    w16(p + zi->cen[1] + 10, 12);
}

static void p_local_method(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w16(p + zi->lho[1] + 8, 8);
}

static void p_local_name(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    p[zi->lho[1] + 30] = 'x';
}

static void p_local_crc(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    p[zi->lho[2] + 14] ^= 0x80;
}

static void p_lho_outside(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w32(p + zi->cen[2] + 42, (uint32_t)zi->cd_off + 100);
}

static void p_lho_wrong(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w32(p + zi->cen[2] + 42, (uint32_t)zi->lho[2] + 1);
}

static void p_cd_off(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w32(p + zi->eocd + 16, (uint32_t)zi->cd_off - 1);
}

static void p_count(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w16(p + zi->eocd + 8, 2);
    w16(p + zi->eocd + 10, 2);
}

static void p_count_disk(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w16(p + zi->eocd + 8, 2);
}

static void p_disk(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w16(p + zi->eocd + 4, 1);
}

static void p_comment_len(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w16(p + zi->eocd + 20, 1);
}

static void p_member_disk(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w16(p + zi->cen[1] + 34, 1);
}

static void p_utf8_flag(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    p[zi->lho[0] + 7] |= 0x08;
    p[zi->cen[0] + 9] |= 0x08;
}

static void p_locator(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w64(p + zi->eocd - 20 + 8, 3);
}

static void p_z64_count(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w16(p + zi->eocd + 8, 2); /* not the 0xFFFF sentinel, and not 3 */
    w16(p + zi->eocd + 10, 2);
}

static void p_z64_extra_short(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    w16(p + zi->cen[0] + 46 + 5 + 2, 8); /* zip64 extra claims 8 bytes: lho missing */
}

static void p_deflate_garbage(unsigned char *p, size_t len, const struct zinfo *zi)
{
    (void)len;
    p[zi->lho[0] + 35] = 0xFF; /* first byte of the stream: block type 3 (invalid) */
}

START_TEST(malformed_archives)
{
    struct members m;
    members_make(&m);
    struct zm z[3];
    struct npz_options lim = {0};

    zm_three(z, &m, 0);
    expect(z, 3, 0, NULL, NULL, FMT_OK, "");
    expect(z, 3, 0, p_flip_data, NULL, FMT_E_INVALID, "'a.npy': CRC-32 mismatch");
    expect(z, 3, 0, p_crc, NULL, FMT_E_INVALID, "CRC-32 mismatch");
    expect(z, 3, 0, p_stored_sizes_differ, NULL, FMT_E_INVALID, "stored, but compressed size");
    expect(z, 3, 0, p_overlap, NULL, FMT_E_INVALID, "overlap");
    expect(z, 3, 0, p_encrypted, NULL, FMT_E_UNSUPPORTED, "'b.npy': encrypted");
    expect(z, 3, 0, p_method, NULL, FMT_E_UNSUPPORTED, "compression method 12");
    expect(z, 3, 0, p_local_method, NULL, FMT_E_INVALID, "method or flags differ");
    expect(z, 3, 0, p_local_name, NULL, FMT_E_INVALID, "names another file");
    expect(z, 3, 0, p_local_crc, NULL, FMT_E_INVALID, "CRC or sizes differ");
    expect(z, 3, 0, p_lho_outside, NULL, FMT_E_INVALID, "no local header");
    expect(z, 3, 0, p_lho_wrong, NULL, FMT_E_INVALID, "no local header");
    expect(z, 3, 0, p_cd_off, NULL, FMT_E_INVALID, "central directory");
    expect(z, 3, 0, p_count, NULL, FMT_E_INVALID, "after the last central directory entry");
    expect(z, 3, 0, p_count_disk, NULL, FMT_E_UNSUPPORTED, "multi-disk");
    expect(z, 3, 0, p_disk, NULL, FMT_E_UNSUPPORTED, "multi-disk");
    expect(z, 3, 0, p_comment_len, NULL, FMT_E_INVALID, "no zip end-of-central-directory");
    expect(z, 3, 0, p_member_disk, NULL, FMT_E_UNSUPPORTED, "another disk");

    /* Deflated members. */
    zm_three(z, &m, 8);
    expect(z, 3, 0, NULL, NULL, FMT_OK, "");
    expect(z, 3, 0, p_crc, NULL, FMT_E_INVALID, "CRC-32 mismatch");
    expect(z, 3, 0, p_usize_more, NULL, FMT_E_INVALID, "fewer than the declared");
    expect(z, 3, 0, p_usize_less, NULL, FMT_E_INVALID, "more than the declared");
    expect(z, 3, 0, p_csize_less, NULL, FMT_E_INVALID, "'a.npy'");
    expect(z, 3, 0, p_deflate_garbage, NULL, FMT_E_INVALID, "corrupt deflate data");
    z[0].junk = 3;
    expect(z, 3, 0, NULL, NULL, FMT_E_INVALID, "3 bytes after the end of the deflate stream");
    z[0].junk = 0;
    lim.max_inflated = m.len[0] + m.len[1] + m.len[2];
    expect(z, 3, 0, NULL, &lim, FMT_OK, "");
    lim.max_inflated--;
    expect(z, 3, 0, NULL, &lim, FMT_E_UNSUPPORTED, "'c.npy': inflating");

    /* Zip64 records. */
    zm_three(z, &m, 0);
    for (int i = 0; i < 3; i++)
        z[i].zip64_central = 1;
    expect(z, 3, 1, NULL, NULL, FMT_OK, "");
    expect(z, 3, 1, p_locator, NULL, FMT_E_INVALID, "zip64 locator");
    expect(z, 3, 1, p_z64_count, NULL, FMT_E_INVALID, "disagrees");
    expect(z, 3, 1, p_z64_extra_short, NULL, FMT_E_INVALID, "zip64 extra field too short");

    /* Names. */
    zm_three(z, &m, 0);
    z[1].name = "a.npy";
    expect(z, 3, 0, NULL, NULL, FMT_E_INVALID, "duplicate member 'a.npy'");
    z[1].name = "readme.txt";
    expect(z, 3, 0, NULL, NULL, FMT_E_UNSUPPORTED, "'readme.txt': not a .npy member");
    z[1].name = ".npy";
    expect(z, 3, 0, NULL, NULL, FMT_E_UNSUPPORTED, "not a .npy member");
    z[1].name = "dir/";
    expect(z, 3, 0, NULL, NULL, FMT_E_UNSUPPORTED, "not a .npy member");
    z[1].name = "b\x82.npy"; /* CP437 */
    expect(z, 3, 0, NULL, NULL, FMT_E_UNSUPPORTED, "CP437");
    z[1].name = "b\0x.npy";
    z[1].name_len = 7;
    expect(z, 3, 0, NULL, NULL, FMT_E_INVALID, "NUL in name");
    z[1].name_len = 0;
    z[0].name = "\xC3\xA9\xFF.npy";
    z[1].name = "b.npy";
    expect(z, 3, 0, p_utf8_flag, NULL, FMT_E_INVALID, "not valid UTF-8");
    z[0].name = "\xC3\xA9.npy";
    expect(z, 3, 0, p_utf8_flag, NULL, FMT_OK, "");
    expect(z, 3, 0, NULL, NULL, FMT_E_UNSUPPORTED, "CP437"); /* same bytes, no UTF-8 flag */

    /* What is inside a member. */
    zm_three(z, &m, 8);
    static const unsigned char junk[16] = "not an npy file";
    z[1].data = junk;
    z[1].size = sizeof junk;
    expect(z, 3, 0, NULL, NULL, FMT_E_INVALID, "member 'b.npy': ");
    members_free(&m);
}
END_TEST

START_TEST(skip_unsupported)
{
    struct members m;
    members_make(&m);
    /* A Fortran-order array: well-formed .npy that cnnz does not take. */
    unsigned char *fo = dup_exact(m.npy[0], m.len[0]);
    size_t at = 0;
    while (at + 5 <= m.len[0] && memcmp(fo + at, "False", 5) != 0)
        at++;
    ck_assert_uint_lt(at + 5, m.len[0]);
    memcpy(fo + at, "True ", 5);
    struct zm z[3];
    zm_three(z, &m, 8);
    z[0].data = fo;
    z[1].name = "notes.txt";
    struct zinfo zi;
    size_t len;
    unsigned char *p = zbuild(z, 3, 0, &len, &zi);
    char err[FMT_ERR_SIZE];
    ck_assert_int_eq(parse_status(p, len, NULL, err), FMT_E_UNSUPPORTED);
    struct npz_options o = {0};
    o.skip_unsupported = 1;
    struct npz_file *f;
    ck_assert_msg(npz_parse(p, len, &o, &f, err, sizeof err) == FMT_OK, "%s", err);
    ck_assert_uint_eq(f->count, 1);
    ck_assert_str_eq(f->tensors[0].name, "c");
    ck_assert_uint_eq(f->skipped_count, 2);
    ck_assert_str_eq(f->skipped[0].name, "a");
    ck_assert_str_eq(f->skipped[1].name, "notes.txt");
    ck_assert_str_eq(f->skipped[1].reason, "not a .npy member");
    npz_free(f);
    free(p);
    free(fo);
    members_free(&m);
}
END_TEST

START_TEST(member_limit)
{
    struct members m;
    members_make(&m);
    struct zm z[3];
    zm_three(z, &m, 0);
    struct npz_options o = {0};
    o.max_members = 2;
    expect(z, 3, 0, NULL, &o, FMT_E_UNSUPPORTED, "limit");
    o.max_members = 3;
    expect(z, 3, 0, NULL, &o, FMT_OK, "");
    members_free(&m);
}
END_TEST

START_TEST(writer_names_and_failures)
{
    uint8_t d[4] = {1, 2, 3, 4};
    struct npz_tensor t[2];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 2; i++) {
        t[i].dtype = CNNZ_DT_U8;
        t[i].rank = 1;
        t[i].dims[0] = 4;
        t[i].data = d;
        t[i].data_bytes = 4;
    }
    char err[FMT_ERR_SIZE];
    struct buf b;
    /* A UTF-8 name gets the UTF-8 flag and reads back. */
    t[0].name = "caf\xC3\xA9/w";
    t[1].name = "b";
    buf_init(&b);
    ck_assert_int_eq(npz_write(t, 2, NULL, buf_write, &b, err, sizeof err), FMT_OK);
    ck_assert_uint_eq(b.data[7] & 0x08, 0x08);
    struct npz_file *f;
    ck_assert_int_eq(npz_parse(b.data, b.len, NULL, &f, err, sizeof err), FMT_OK);
    ck_assert_str_eq(f->tensors[0].name, "caf\xC3\xA9/w");
    npz_free(f);
    long writes = b.writes;
    free(b.data);
    for (long k = 0; k <= writes; k++) {
        buf_init(&b);
        b.fail_at = k;
        ck_assert_int_eq(npz_write(t, 2, NULL, buf_write, &b, err, sizeof err),
                         k < writes ? FMT_E_IO : FMT_OK);
        free(b.data);
    }
    struct {
        const char *n0, *n1;
        size_t l0;
        const char *msg;
    } cases[] = {
        {"a", "a", 0, "duplicate"},
        {"", "b", 0, "empty name"},
        {"a\xFF", "b", 0, "not UTF-8"},
        {"a\0b", "b", 3, "not UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t[0].name = cases[i].n0;
        t[0].name_len = cases[i].l0;
        t[1].name = cases[i].n1;
        buf_init(&b);
        ck_assert_int_eq(npz_write(t, 2, NULL, buf_write, &b, err, sizeof err), FMT_E_INVALID);
        ck_assert_msg(strstr(err, cases[i].msg) != NULL, "case %zu: %s", i, err);
        ck_assert_uint_eq(b.len, 0);
    }
    t[0].name = "a";
    t[0].name_len = 0;
    t[1].data_bytes = 3;
    ck_assert_int_eq(npz_write(t, 2, NULL, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    t[1].data_bytes = 4;
    t[1].dtype = 0;
    ck_assert_int_eq(npz_write(t, 2, NULL, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    /* Empty archive. */
    buf_init(&b);
    ck_assert_int_eq(npz_write(NULL, 0, NULL, buf_write, &b, err, sizeof err), FMT_OK);
    ck_assert_uint_eq(b.len, 22);
    ck_assert_int_eq(npz_parse(b.data, b.len, NULL, &f, err, sizeof err), FMT_OK);
    ck_assert_uint_eq(f->count, 0);
    npz_free(f);
    free(b.data);
}
END_TEST

START_TEST(random_byte_flips)
{
    struct members m;
    members_make(&m);
    struct zm z[3];
    zm_three(z, &m, 8);
    z[1].method = 0;
    struct zinfo zi;
    size_t len;
    unsigned char *p = zbuild(z, 3, 1, &len, &zi);
    uint64_t seed = 777;
    char err[FMT_ERR_SIZE];
    for (int it = 0; it < 4000; it++) {
        unsigned char *c = dup_exact(p, len);
        int flips = (int)(rng_next(&seed) % 3) + 1;
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)(rng_next(&seed) % len);
            if (it % 2)
                at = zi.cd_off + (size_t)(rng_next(&seed) % (len - zi.cd_off));
            c[at] ^= (unsigned char)(1u << (rng_next(&seed) % 8));
        }
        struct npz_options o = {0};
        o.skip_unsupported = it % 3 == 0;
        struct npz_file *f;
        int rc = npz_parse(c, len, &o, &f, err, sizeof err);
        if (rc == FMT_OK)
            npz_free(f);
        else
            ck_assert(rc == FMT_E_INVALID || rc == FMT_E_UNSUPPORTED);
        free(c);
    }
    free(p);
    members_free(&m);
}
END_TEST

Suite *suite_npz(void)
{
    Suite *s = suite_create("npz");
    TCase *tc = tcase_create("npz");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, roundtrip_every_dtype);
    tcase_add_test(tc, numpy_archives);
    tcase_add_test(tc, builder_variants);
    tcase_add_test(tc, every_truncation_fails);
    tcase_add_test(tc, malformed_archives);
    tcase_add_test(tc, skip_unsupported);
    tcase_add_test(tc, member_limit);
    tcase_add_test(tc, writer_names_and_failures);
    tcase_add_test(tc, random_byte_flips);
    suite_add_tcase(s, tc);
    return s;
}
