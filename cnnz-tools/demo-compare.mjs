// demo-compare.mjs - check that a tfjs model survived the cnnz round trip bit for bit.
//
//   node cnnz-tools/demo-compare.mjs --cnnz BIN --out DIR [--check] MANIFEST...
//
// For each MANIFEST (NAME-weights_manifest.json) cnnz-tools/demo.sh has left in DIR:
//   NAME.cnnz        the encoded model
//   NAME.stored/     `cnnz extract --stored`: the stored symbols, one .npy per tensor
//   NAME.f32/        `cnnz extract`: the decoded tensors, one .npy per tensor
//   NAME.json        `cnnz inspect --json`
// and this script checks, independently of libcnnz:
//   - the stored bytes of every weight equal its slice of the .bin shards (weights lie
//     back to back in the concatenated shards of their group, in manifest order);
//   - the decoded values equal what tfjs computes: Math.fround(q * scale + min) for
//     uint8/uint16 quantization (Math.round(...) if the tensor is decoded as int32),
//     the exact float16 -> float32 widening for float16, the bytes themselves otherwise.
// Prints a summary table (--check: one line per model) and exits 1 on any mismatch.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

function usage(code) {
    const out = code ? process.stderr : process.stdout;
    out.write('usage: node demo-compare.mjs --cnnz BIN --out DIR [--check] MANIFEST...\n');
    process.exit(code);
}

const args = process.argv.slice(2);
let cnnzBin = 'build/cnnz';
let outDir = 'build/demo';
let check = false;
const manifests = [];
for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--check') check = true;
    else if (a === '--cnnz' && i + 1 < args.length) cnnzBin = args[++i];
    else if (a === '--out' && i + 1 < args.length) outDir = args[++i];
    else if (a === '-h' || a === '--help') usage(0);
    else if (a.startsWith('-')) usage(2);
    else manifests.push(a);
}
if (manifests.length === 0) usage(2);

// Bytes per element of the tfjs dtypes (tfjs io DTYPE_VALUE_SIZE_MAP).
const TFJS_SIZE = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };
// The NumPy descr a stored stream of that tfjs dtype must have.
const TFJS_DESCR = { float32: '<f4', int32: '<i4', bool: '|b1', uint8: '|u1', uint16: '<u2', float16: '<f2' };

// ------------------------------------------------------------------ .npy

// Parse a NumPy .npy file (format versions 1.0, 2.0 and 3.0).
function parseNpy(buf, file) {
    const fail = (why) => { throw new Error(`${file}: ${why}`); };
    if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') fail('not a .npy file');
    const major = buf[6];
    let hlen, start;
    if (major === 1) {
        hlen = buf.readUInt16LE(8);
        start = 10;
    } else if (major === 2 || major === 3) {
        if (buf.length < 12) fail('truncated header');
        hlen = buf.readUInt32LE(8);
        start = 12;
    } else {
        fail(`unsupported .npy version ${major}.${buf[7]}`);
    }
    if (start + hlen > buf.length) fail('truncated header');
    const header = buf.toString(major === 3 ? 'utf8' : 'latin1', start, start + hlen);
    const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header);
    const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
    const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
    if (!descr || !fortran || !shape) fail(`bad header ${JSON.stringify(header)}`);
    if (fortran[1] !== 'False') fail('fortran_order is not supported');
    const dims = shape[1].split(',').map((s) => s.trim().replace(/L$/, '')).filter((s) => s !== '');
    if (!dims.every((s) => /^\d+$/.test(s))) fail(`bad shape (${shape[1]})`);
    const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr[1]);
    if (!m) fail(`unsupported descr ${descr[1]}`);
    const itemsize = Number(m[3]);
    if (m[1] === '>' && itemsize > 1) fail(`big-endian data (${descr[1]})`);
    const shapeNums = dims.map(Number);
    const count = shapeNums.reduce((p, d) => p * d, 1);
    const data = buf.subarray(start + hlen);
    if (data.length !== count * itemsize) {
        fail(`data is ${data.length} bytes, shape ${JSON.stringify(shapeNums)} x ${itemsize} needs ${count * itemsize}`);
    }
    // Normalise '=' and '|' spellings to the little-endian ones used below.
    const kind = m[2], canon = itemsize === 1 ? `|${kind}1` : `<${kind}${itemsize}`;
    return { descr: canon, shape: shapeNums, data };
}

// ------------------------------------------------------------------ tensor files

let perTensorNoted = false;

// The .npy that `cnnz extract` wrote for tensor `name` into dir. The file name
// mapping belongs to the tool, so try the likely ones and otherwise extract
// that one tensor on its own into an empty directory.
function loadTensor(cnnzFile, dir, name, stored) {
    // cnnz extract names files by percent-encoding bytes outside [A-Za-z0-9._-].
    const enc = [...Buffer.from(name, 'utf8')].map((c) => /[A-Za-z0-9._-]/.test(String.fromCharCode(c)) && c < 128
        ? String.fromCharCode(c) : '%' + c.toString(16).toUpperCase().padStart(2, '0')).join('');
    const candidates = [enc + '.npy'];
    for (const c of candidates) {
        const p = join(dir, c);
        if (existsSync(p) && statSync(p).isFile()) return parseNpy(readFileSync(p), p);
    }
    if (!perTensorNoted && !check) {
        console.log(`note: no ${candidates[0]} in ${dir}; extracting tensors one at a time`);
    }
    perTensorNoted = true;
    const tmp = mkdtempSync(join(tmpdir(), 'cnnz-demo-'));
    try {
        const argv = ['extract', cnnzFile, '--tensor', name, '-o', join(tmp, 'x')];
        if (stored) argv.push('--stored');
        const r = spawnSync(cnnzBin, argv, { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`${cnnzBin} ${argv.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
        const found = [];
        const walk = (d) => {
            for (const e of readdirSync(d, { withFileTypes: true })) {
                if (e.isDirectory()) walk(join(d, e.name));
                else if (e.name.endsWith('.npy')) found.push(join(d, e.name));
            }
        };
        walk(tmp);
        if (found.length !== 1) throw new Error(`extract --tensor ${name} wrote ${found.length} .npy files`);
        return parseNpy(readFileSync(found[0]), `${name} (${found[0]})`);
    } finally {
        rmSync(tmp, { recursive: true, force: true });
    }
}

// ------------------------------------------------------------------ values

// Exact IEEE binary16 -> binary32 (every half is a float).
function halfToFloat(h) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    if (exp === 0) return sign * frac * 2 ** -24;
    if (exp === 31) return frac ? NaN : sign * Infinity;
    return sign * (1024 + frac) * 2 ** (exp - 25);
}

// Copy to an aligned buffer and view it as the given typed array.
function view(Type, bytes) {
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    return new Type(copy.buffer, 0, bytes.length / Type.BYTES_PER_ELEMENT);
}

function sameShape(a, b) {
    return a.length === b.length && a.every((d, i) => d === b[i]);
}

// Index of the first differing element of two equal-length typed arrays, or -1.
function firstDiff(a, b) {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
    return -1;
}

// What tfjs decodes from the stored bytes of weight w, as the bytes of a
// little-endian array of descr, or null when that descr is not a tfjs result.
function expectedDecoded(w, slice, descr) {
    const q = w.quantization;
    if (!q) return descr === TFJS_DESCR[w.dtype] ? slice : null;
    const n = slice.length / TFJS_SIZE[q.dtype];
    if (q.dtype === 'float16') {
        if (descr !== '<f4') return null;
        const h = view(Uint16Array, slice), out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = halfToFloat(h[i]);
        return new Uint8Array(out.buffer);
    }
    const sym = q.dtype === 'uint8' ? slice : view(Uint16Array, slice);
    if (descr === '<f4') {
        const out = new Float32Array(n); // assignment rounds like Math.fround
        for (let i = 0; i < n; i++) out[i] = sym[i] * q.scale + q.min;
        return new Uint8Array(out.buffer);
    }
    if (descr === '<i4' && w.dtype === 'int32') {
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) out[i] = Math.round(sym[i] * q.scale + q.min);
        return new Uint8Array(out.buffer);
    }
    return null;
}

// ------------------------------------------------------------------ one model

// Compressed size of blob by a command-line compressor (stdin to stdout).
function peerSize(cmd, args, blob) {
    const r = spawnSync(cmd, args, { input: blob, maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.length;
}

function compareModel(manifestPath) {
    const name = basename(manifestPath).replace(/-weights_manifest\.json$|\.json$/, '');
    const dir = dirname(manifestPath);
    const cnnzFile = join(outDir, `${name}.cnnz`);
    const res = { name, tensors: 0, sourceBytes: 0, cnnzBytes: 0, zstdBytes: 0, xzBytes: 0, errors: [], notes: [] };
    const err = (m) => { if (res.errors.length < 5) res.errors.push(m); else res.errors.more = (res.errors.more || 0) + 1; };

    const groups = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (!Array.isArray(groups)) throw new Error(`${manifestPath}: not a weights manifest (expected an array of groups)`);
    res.cnnzBytes = statSync(cnnzFile).size;

    let asF32Int = 0;
    const names = [];
    for (const g of groups) {
        const shards = g.paths.map((p) => readFileSync(join(dir, p)));
        const blob = Buffer.concat(shards);
        res.sourceBytes += blob.length;
        if (!check) { // the peers on the same bytes, measured in this run
            res.zstdBytes += peerSize('zstd', ['-19', '-c', '-q'], blob);
            res.xzBytes += peerSize('xz', ['-9e', '-c', '-T1'], blob);
        }
        let off = 0;
        for (const w of g.weights) {
            res.tensors++;
            names.push(w.name);
            const elems = w.shape.reduce((p, d) => p * d, 1);
            const q = w.quantization;
            const esize = TFJS_SIZE[q ? q.dtype : w.dtype];
            if (!esize) { err(`${w.name}: tfjs dtype ${q ? q.dtype : w.dtype} not handled by this check`); break; }
            const len = elems * esize;
            if (off + len > blob.length) { err(`${w.name}: runs past the end of the shards`); break; }
            const slice = blob.subarray(off, off + len);
            off += len;

            try {
                const st = loadTensor(cnnzFile, join(outDir, `${name}.stored`), w.name, true);
                const want = TFJS_DESCR[q ? q.dtype : w.dtype];
                if (st.descr !== want) err(`${w.name}: stored dtype ${st.descr}, expected ${want}`);
                else if (!sameShape(st.shape, w.shape)) err(`${w.name}: stored shape ${JSON.stringify(st.shape)}, manifest ${JSON.stringify(w.shape)}`);
                else if (Buffer.compare(st.data, slice) !== 0) {
                    err(`${w.name}: stored bytes differ from the shard at byte ${firstDiff(st.data, slice)}`);
                }

                const dec = loadTensor(cnnzFile, join(outDir, `${name}.f32`), w.name, false);
                const exp = expectedDecoded(w, slice, dec.descr);
                if (exp === null) err(`${w.name}: decoded dtype ${dec.descr} is not what tfjs gives for ${w.dtype}${q ? '/' + q.dtype : ''}`);
                else if (!sameShape(dec.shape, w.shape)) err(`${w.name}: decoded shape ${JSON.stringify(dec.shape)}, manifest ${JSON.stringify(w.shape)}`);
                else if (Buffer.compare(dec.data, exp) !== 0) {
                    const i = Math.floor(firstDiff(dec.data, exp) / 4);
                    const got = view(dec.descr === '<i4' ? Int32Array : Float32Array, dec.data)[i];
                    const should = view(dec.descr === '<i4' ? Int32Array : Float32Array, exp)[i];
                    err(`${w.name}: decoded element ${i} is ${got}, tfjs gives ${should}`);
                }
                if (q && w.dtype === 'int32' && dec.descr === '<f4') asF32Int++;
            } catch (e) {
                err(e.message);
            }
        }
        if (off !== blob.length && res.errors.length === 0) {
            err(`group ${g.paths.join('+')}: ${blob.length - off} shard bytes after the last weight`);
        }
    }
    if (asF32Int) res.notes.push(`${asF32Int} quantized int32 weights decode to float32 (tfjs would round them to int32)`);

    // inspect --json must be JSON; when it lists tensors, the count must match.
    const jsonFile = join(outDir, `${name}.json`);
    if (existsSync(jsonFile)) {
        try {
            const j = JSON.parse(readFileSync(jsonFile, 'utf8'));
            if (j && Array.isArray(j.tensors) && j.tensors.length !== res.tensors) {
                err(`inspect --json lists ${j.tensors.length} tensors, the manifest ${res.tensors}`);
            }
        } catch (e) {
            err(`inspect --json output is not JSON: ${e.message}`);
        }
    }
    return res;
}

// ------------------------------------------------------------------ main

const results = [];
for (const m of manifests) {
    try {
        results.push(compareModel(m));
    } catch (e) {
        results.push({ name: basename(m), tensors: 0, sourceBytes: 0, cnnzBytes: 0, errors: [e.message], notes: [] });
    }
}

let failed = 0;
for (const r of results) {
    if (r.errors.length) failed++;
    for (const e of r.errors) console.log(`MISMATCH ${r.name}: ${e}`);
    if (r.errors.more) console.log(`MISMATCH ${r.name}: ... and ${r.errors.more} more`);
}

const pct = (a, b) => (b ? ((100 * a) / b).toFixed(1) + '%' : '-');
if (check) {
    for (const r of results) {
        console.log(`${r.errors.length ? 'FAIL' : 'ok  '} ${r.name}: ${r.tensors} tensors, ${r.sourceBytes} -> ${r.cnnzBytes} bytes`);
    }
} else {
    const rows = [['model', 'tensors', 'source bytes', '.cnnz bytes', '.cnnz/source', 'bit-exact', 'zstd -19', 'xz -9e', '.cnnz/xz']];
    const tot = { tensors: 0, src: 0, out: 0, zstd: 0, xz: 0 };
    for (const r of results) {
        rows.push([r.name, r.tensors, r.sourceBytes, r.cnnzBytes, pct(r.cnnzBytes, r.sourceBytes), r.errors.length ? 'NO' : 'yes',
            r.zstdBytes, r.xzBytes, pct(r.cnnzBytes, r.xzBytes)]);
        tot.tensors += r.tensors;
        tot.src += r.sourceBytes;
        tot.out += r.cnnzBytes;
        tot.zstd += r.zstdBytes;
        tot.xz += r.xzBytes;
    }
    rows.push(['total', tot.tensors, tot.src, tot.out, pct(tot.out, tot.src), failed ? 'NO' : 'yes', tot.zstd, tot.xz, pct(tot.out, tot.xz)]);
    const width = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
    const line = (row) => row.map((v, c) => (c === 0 || c === 5 ? String(v).padEnd(width[c]) : String(v).padStart(width[c]))).join('  ').trimEnd();
    console.log('');
    console.log(line(rows[0]));
    console.log(width.map((w) => '-'.repeat(w)).join('  '));
    rows.slice(1, -1).forEach((row) => console.log(line(row)));
    console.log(width.map((w) => '-'.repeat(w)).join('  '));
    console.log(line(rows[rows.length - 1]));
    console.log('source bytes: the .bin shards; .cnnz bytes: the whole container (cnnz convert --coder auto: names,');
    console.log('shapes, checksums included), lossless; zstd -19 / xz -9e: the same shards compressed in this run.');
    for (const r of results) for (const n of r.notes) console.log(`note: ${r.name}: ${n}`);
}
console.log(`roundtrip: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
