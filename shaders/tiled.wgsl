// The tuned kernel. A workgroup of WG_X x WG_Y invocations computes a block of
// BLOCK_ROWS x BLOCK_COLS outputs (8 WG_Y x 8 WG_X), TILE_K dimensions at a time:
//
// - The block's TILE_K-slices of X and Y are staged in workgroup memory, k-major (four rows
//   per vec4 word). When d is a multiple of 4, every staging item is a 4 x 4 piece: four
//   vec4 global loads (four dimensions of four rows), transposed in registers into four vec4
//   workgroup stores; adjacent invocations take adjacent row groups, so the stores are
//   conflict-free. Otherwise an item is one dimension of four rows: four scalar loads
//   (coalesced: adjacent invocations read adjacent dimensions of a row) and one vec4 store
//   (these stores do conflict on banks; the path is the fallback for d % 4 != 0). Workgroup
//   memory is only ever written as whole vec4 words, never as single components.
// - Every invocation keeps an 8 x 8 tile of sums in registers: rows 4 ly .. 4 ly + 3 and the
//   same four rows half a block further, columns likewise. Per staged dimension it reads two
//   vec4 of X and two vec4 of Y from workgroup memory (adjacent invocations read adjacent
//   16-byte words: no bank conflicts) and does 64 terms, 4 terms per value read. The naive
//   kernel does one term per two values read from global memory.
// - Results leave as vec4 stores of four adjacent outputs when the tile's row length is a
//   multiple of 4 (scalar stores otherwise); adjacent invocations write adjacent 16 bytes.
// - The register tile is indexed with constants only, so that every compiler keeps it in
//   registers (a dynamically indexed array may be demoted to memory).
//
// Values are `real`, f32 or f64 (common/f32.wgsl or common/f64.wgsl). X, Y and the output are
// bound as arrays of vec4 (the executor rounds buffer sizes up to 32 bytes, a vec4 of f64);
// scalar accesses index a component. The weights (WEIGHTED) are a plain array of `real`. An
// f64 pipeline stages half the dimensions per step (TILE_K), so that its workgroup memory is
// the f32 pipeline's.
// WG_X, WG_Y and TILE_K (a multiple of 4) are override constants chosen per adapter from its
// limits; the 8 x 8 register tile is fixed (function-scope arrays cannot be override-sized).
// Needs common/f32.wgsl or common/f64.wgsl, then common/metric.wgsl, before it.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<real>>;
@group(0) @binding(2) var<storage, read> y: array<vec4<real>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<real>>;
// The weights of this pass's dimensions (WEIGHTED only).
@group(0) @binding(4) var<storage, read> weights: array<real>;

// Invocations per workgroup along columns (x) and rows (y).
override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
// Dimensions staged per step (a multiple of 4).
override TILE_K: u32 = 16u;
// Load the next step's staging items into registers while this step's sums run (d a
// multiple of 4; see main).
override PREFETCH: bool = false;
override BLOCK_ROWS: u32 = WG_Y * 8u;
override BLOCK_COLS: u32 = WG_X * 8u;
// vec4 words per staged dimension: xs[k * ROW_WORDS + r / 4][r % 4].
override ROW_WORDS: u32 = WG_Y * 2u;
override COL_WORDS: u32 = WG_X * 2u;
override XS_LEN: u32 = TILE_K * ROW_WORDS;
override YS_LEN: u32 = TILE_K * COL_WORDS;

var<workgroup> xs: array<vec4<real>, XS_LEN>;
var<workgroup> ys: array<vec4<real>, YS_LEN>;

// Stores one output (bounds-checked: tiles may be partial).
fn store1(i: u32, j: u32, v: real) {
    if i < params.rows && j < params.cols {
        let idx = i * params.cols + j;
        var previous: real = 0.0;
        if (params.flags & FLAG_ACCUMULATE) != 0u {
            previous = out[idx >> 2u][idx & 3u];
        }
        out[idx >> 2u][idx & 3u] = metric_store(v, previous, params.flags);
    }
}

// Stores four adjacent outputs of row i from column j on (j is a multiple of 4).
fn store4(i: u32, j: u32, v: vec4<real>) {
    if params.cols % 4u == 0u {
        // Rows start on 16-byte boundaries: one vec4 store, in range as a whole or not at all.
        if i < params.rows && j < params.cols {
            let idx = (i * params.cols + j) >> 2u;
            var previous = vec4<real>(0.0);
            if (params.flags & FLAG_ACCUMULATE) != 0u {
                previous = out[idx];
            }
            out[idx] = metric_store4(v, previous, params.flags);
        }
    } else {
        store1(i, j, v.x);
        store1(i, j + 1u, v.y);
        store1(i, j + 2u, v.z);
        store1(i, j + 3u, v.w);
    }
}

// Dimension k of rows r .. r + 3 of X (rows outside the tile read as 0), any d.
fn gather_x(r: u32, k: u32) -> vec4<real> {
    var v = vec4<real>(0.0);
    let dims = params.dims;
    if r < params.rows {
        let e = r * dims + k;
        v.x = x[e >> 2u][e & 3u];
    }
    if r + 1u < params.rows {
        let e = (r + 1u) * dims + k;
        v.y = x[e >> 2u][e & 3u];
    }
    if r + 2u < params.rows {
        let e = (r + 2u) * dims + k;
        v.z = x[e >> 2u][e & 3u];
    }
    if r + 3u < params.rows {
        let e = (r + 3u) * dims + k;
        v.w = x[e >> 2u][e & 3u];
    }
    return v;
}

// gather_x for Y.
fn gather_y(c: u32, k: u32) -> vec4<real> {
    var v = vec4<real>(0.0);
    let dims = params.dims;
    if c < params.cols {
        let e = c * dims + k;
        v.x = y[e >> 2u][e & 3u];
    }
    if c + 1u < params.cols {
        let e = (c + 1u) * dims + k;
        v.y = y[e >> 2u][e & 3u];
    }
    if c + 2u < params.cols {
        let e = (c + 2u) * dims + k;
        v.z = y[e >> 2u][e & 3u];
    }
    if c + 3u < params.cols {
        let e = (c + 3u) * dims + k;
        v.w = y[e >> 2u][e & 3u];
    }
    return v;
}

// One staging item of the vec4 path (d a multiple of 4): a 4 x 4 piece, four dimensions
// (one vec4 word) of four rows of X or Y, as loaded from global memory (v[r] is row r).
struct Piece {
    v0: vec4<real>,
    v1: vec4<real>,
    v2: vec4<real>,
    v3: vec4<real>,
}

// Word w of rows r .. r + 3 of X (rows past the tile read as 0; d a multiple of 4). (WGSL
// passes no pointers to storage buffers, hence one function per matrix.)
fn load_x4(r: u32, w: u32) -> Piece {
    let words = params.dims >> 2u;
    var p = Piece(vec4<real>(0.0), vec4<real>(0.0), vec4<real>(0.0), vec4<real>(0.0));
    if r < params.rows {
        p.v0 = x[r * words + w];
    }
    if r + 1u < params.rows {
        p.v1 = x[(r + 1u) * words + w];
    }
    if r + 2u < params.rows {
        p.v2 = x[(r + 2u) * words + w];
    }
    if r + 3u < params.rows {
        p.v3 = x[(r + 3u) * words + w];
    }
    return p;
}

// load_x4 for Y.
fn load_y4(c: u32, w: u32) -> Piece {
    let words = params.dims >> 2u;
    var p = Piece(vec4<real>(0.0), vec4<real>(0.0), vec4<real>(0.0), vec4<real>(0.0));
    if c < params.cols {
        p.v0 = y[c * words + w];
    }
    if c + 1u < params.cols {
        p.v1 = y[(c + 1u) * words + w];
    }
    if c + 2u < params.cols {
        p.v2 = y[(c + 2u) * words + w];
    }
    if c + 3u < params.cols {
        p.v3 = y[(c + 3u) * words + w];
    }
    return p;
}

// Staging item l of the step starting at word w0, whose kw words per row are staged: items
// 0 .. ROW_WORDS kw - 1 are X's (row group l % ROW_WORDS, word l / ROW_WORDS: adjacent
// invocations take adjacent row groups, so the stores below are conflict-free), the next
// COL_WORDS kw are Y's, likewise.
fn load_item(l: u32, kw: u32, row0: u32, col0: u32, w0: u32) -> Piece {
    let x_items = ROW_WORDS * kw;
    if l < x_items {
        return load_x4(row0 + 4u * (l % ROW_WORDS), w0 + l / ROW_WORDS);
    }
    let m = l - x_items;
    return load_y4(col0 + 4u * (m % COL_WORDS), w0 + m / COL_WORDS);
}

// Stores item l (see load_item) into workgroup memory, transposed: four vec4 words, one per
// dimension, each holding that dimension of the four rows.
fn store_item(l: u32, kw: u32, p: Piece) {
    let x_items = ROW_WORDS * kw;
    if l < x_items {
        let s = 4u * (l / ROW_WORDS) * ROW_WORDS + l % ROW_WORDS;
        xs[s] = vec4<real>(p.v0.x, p.v1.x, p.v2.x, p.v3.x);
        xs[s + ROW_WORDS] = vec4<real>(p.v0.y, p.v1.y, p.v2.y, p.v3.y);
        xs[s + 2u * ROW_WORDS] = vec4<real>(p.v0.z, p.v1.z, p.v2.z, p.v3.z);
        xs[s + 3u * ROW_WORDS] = vec4<real>(p.v0.w, p.v1.w, p.v2.w, p.v3.w);
    } else {
        let m = l - x_items;
        let s = 4u * (m / COL_WORDS) * COL_WORDS + m % COL_WORDS;
        ys[s] = vec4<real>(p.v0.x, p.v1.x, p.v2.x, p.v3.x);
        ys[s + COL_WORDS] = vec4<real>(p.v0.y, p.v1.y, p.v2.y, p.v3.y);
        ys[s + 2u * COL_WORDS] = vec4<real>(p.v0.z, p.v1.z, p.v2.z, p.v3.z);
        ys[s + 3u * COL_WORDS] = vec4<real>(p.v0.w, p.v1.w, p.v2.w, p.v3.w);
    }
}

// Words of each row staged in the step starting at dimension k0 (d a multiple of 4).
fn step_words(k0: u32) -> u32 {
    return min(TILE_K, params.dims - k0) >> 2u;
}

// PREFETCH: invocation tid's staging items of the step starting at dimension k0, items tid
// and tid + WG_X WG_Y (Tuning::fits allows the prefetch only where two cover a step).
struct Prefetched {
    p0: Piece,
    p1: Piece,
}

fn prefetch_step(tid: u32, row0: u32, col0: u32, k0: u32) -> Prefetched {
    let kw = step_words(k0);
    let items = (ROW_WORDS + COL_WORDS) * kw;
    var pf: Prefetched;
    if tid < items {
        pf.p0 = load_item(tid, kw, row0, col0, k0 >> 2u);
    }
    if tid + WG_X * WG_Y < items {
        pf.p1 = load_item(tid + WG_X * WG_Y, kw, row0, col0, k0 >> 2u);
    }
    return pf;
}

// Stores what prefetch_step loaded for the step starting at dimension k0.
fn store_prefetched(tid: u32, k0: u32, pf: Prefetched) {
    let kw = step_words(k0);
    let items = (ROW_WORDS + COL_WORDS) * kw;
    if tid < items {
        store_item(tid, kw, pf.p0);
    }
    if tid + WG_X * WG_Y < items {
        store_item(tid + WG_X * WG_Y, kw, pf.p1);
    }
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) tid: u32,
) {
    let row0 = wid.y * BLOCK_ROWS;
    let col0 = wid.x * BLOCK_COLS;
    let threads = WG_X * WG_Y;
    let dims = params.dims;
    let rows = params.rows;
    let cols = params.cols;

    // acc[2 r + h]: row r of the register tile (r < 4: row 4 ly + r; r >= 4: half a block
    // further), columns 4 lx .. 4 lx + 3 (h = 0) or half a block further (h = 1).
    var acc: array<vec4<real>, 16>;
    acc[0] = vec4<real>(0.0);
    acc[1] = vec4<real>(0.0);
    acc[2] = vec4<real>(0.0);
    acc[3] = vec4<real>(0.0);
    acc[4] = vec4<real>(0.0);
    acc[5] = vec4<real>(0.0);
    acc[6] = vec4<real>(0.0);
    acc[7] = vec4<real>(0.0);
    acc[8] = vec4<real>(0.0);
    acc[9] = vec4<real>(0.0);
    acc[10] = vec4<real>(0.0);
    acc[11] = vec4<real>(0.0);
    acc[12] = vec4<real>(0.0);
    acc[13] = vec4<real>(0.0);
    acc[14] = vec4<real>(0.0);
    acc[15] = vec4<real>(0.0);

    // PREFETCH (d a multiple of 4): the invocation's staging items of the next step are
    // loaded into registers (pf) before this step's sums, and stored to workgroup memory
    // after them, so that the loads' latency overlaps arithmetic instead of stalling the
    // workgroup at the barrier.
    let vec4_path = dims % 4u == 0u;
    let prefetch = PREFETCH && vec4_path;
    var pf: Prefetched;
    if prefetch {
        pf = prefetch_step(tid, row0, col0, 0u);
    }

    for (var k0 = 0u; k0 < dims; k0 += TILE_K) {
        let kn = min(TILE_K, dims - k0);
        if prefetch {
            store_prefetched(tid, k0, pf);
        } else if vec4_path {
            // 4 x 4 pieces: (row groups + column groups) x words of this step.
            let kw = kn >> 2u;
            for (var l = tid; l < (ROW_WORDS + COL_WORDS) * kw; l += threads) {
                store_item(l, kw, load_item(l, kw, row0, col0, k0 >> 2u));
            }
        } else {
            // Items of one dimension of four rows: four scalar loads (adjacent invocations
            // read adjacent dimensions of a row), one vec4 store. The loops walk the power of
            // two >= kn dimensions, so a small d such as 3 does not stage a whole TILE_K of
            // padding.
            let kshift = firstLeadingBit(kn - 1u) + 1u; // kn = 1: 0xffffffff + 1 wraps to 0
            let kmask = (1u << kshift) - 1u;
            let x_items = ROW_WORDS << kshift;
            for (var l = tid; l < ((ROW_WORDS + COL_WORDS) << kshift); l += threads) {
                let kk = l & kmask;
                if kk < kn {
                    if l < x_items {
                        let rb = l >> kshift;
                        xs[kk * ROW_WORDS + rb] = gather_x(row0 + 4u * rb, k0 + kk);
                    } else {
                        let cb = (l - x_items) >> kshift;
                        ys[kk * COL_WORDS + cb] = gather_y(col0 + 4u * cb, k0 + kk);
                    }
                }
            }
        }
        workgroupBarrier();

        let k1 = k0 + TILE_K;
        if prefetch && k1 < dims {
            pf = prefetch_step(tid, row0, col0, k1);
        }

        for (var kk = 0u; kk < kn; kk++) {
            let a0 = xs[kk * ROW_WORDS + lid.y];
            let a1 = xs[kk * ROW_WORDS + WG_Y + lid.y];
            let b0 = ys[kk * COL_WORDS + lid.x];
            let b1 = ys[kk * COL_WORDS + WG_X + lid.x];
            // The dimension's weight: one word that every invocation reads (a broadcast load,
            // served by the cache), so it needs no workgroup memory, which the default shape
            // fills exactly (16 KiB). Read only when WEIGHTED.
            var w: real = 1.0;
            if WEIGHTED {
                w = weights[k0 + kk];
            }
            acc[0] = metric_merge4(acc[0], metric_weighted_term4(vec4<real>(a0.x), b0, w));
            acc[1] = metric_merge4(acc[1], metric_weighted_term4(vec4<real>(a0.x), b1, w));
            acc[2] = metric_merge4(acc[2], metric_weighted_term4(vec4<real>(a0.y), b0, w));
            acc[3] = metric_merge4(acc[3], metric_weighted_term4(vec4<real>(a0.y), b1, w));
            acc[4] = metric_merge4(acc[4], metric_weighted_term4(vec4<real>(a0.z), b0, w));
            acc[5] = metric_merge4(acc[5], metric_weighted_term4(vec4<real>(a0.z), b1, w));
            acc[6] = metric_merge4(acc[6], metric_weighted_term4(vec4<real>(a0.w), b0, w));
            acc[7] = metric_merge4(acc[7], metric_weighted_term4(vec4<real>(a0.w), b1, w));
            acc[8] = metric_merge4(acc[8], metric_weighted_term4(vec4<real>(a1.x), b0, w));
            acc[9] = metric_merge4(acc[9], metric_weighted_term4(vec4<real>(a1.x), b1, w));
            acc[10] = metric_merge4(acc[10], metric_weighted_term4(vec4<real>(a1.y), b0, w));
            acc[11] = metric_merge4(acc[11], metric_weighted_term4(vec4<real>(a1.y), b1, w));
            acc[12] = metric_merge4(acc[12], metric_weighted_term4(vec4<real>(a1.z), b0, w));
            acc[13] = metric_merge4(acc[13], metric_weighted_term4(vec4<real>(a1.z), b1, w));
            acc[14] = metric_merge4(acc[14], metric_weighted_term4(vec4<real>(a1.w), b0, w));
            acc[15] = metric_merge4(acc[15], metric_weighted_term4(vec4<real>(a1.w), b1, w));
        }
        workgroupBarrier();
    }

    let i0 = row0 + 4u * lid.y;
    let i1 = i0 + BLOCK_ROWS / 2u;
    let j0 = col0 + 4u * lid.x;
    let j1 = j0 + BLOCK_COLS / 2u;
    store4(i0, j0, acc[0]);
    store4(i0, j1, acc[1]);
    store4(i0 + 1u, j0, acc[2]);
    store4(i0 + 1u, j1, acc[3]);
    store4(i0 + 2u, j0, acc[4]);
    store4(i0 + 2u, j1, acc[5]);
    store4(i0 + 3u, j0, acc[6]);
    store4(i0 + 3u, j1, acc[7]);
    store4(i1, j0, acc[8]);
    store4(i1, j1, acc[9]);
    store4(i1 + 1u, j0, acc[10]);
    store4(i1 + 1u, j1, acc[11]);
    store4(i1 + 2u, j0, acc[12]);
    store4(i1 + 2u, j1, acc[13]);
    store4(i1 + 3u, j0, acc[14]);
    store4(i1 + 3u, j1, acc[15]);
}
