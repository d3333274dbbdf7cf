// The tuned kernel. A workgroup of WG_X x WG_Y invocations computes a block of
// BLOCK_ROWS x BLOCK_COLS outputs (8 WG_Y x 8 WG_X), TILE_K dimensions at a time:
//
// - The block's TILE_K-slices of X and Y are staged in workgroup memory, k-major, with
//   coalesced global loads (adjacent invocations read adjacent dimensions of a row).
// - Every invocation keeps an 8 x 8 tile of sums in registers: rows 4 ly .. 4 ly + 3 and the
//   same four rows half a block further, columns likewise. Per staged dimension it reads two
//   vec4 of X and two vec4 of Y from workgroup memory (adjacent invocations read adjacent
//   16-byte words: no bank conflicts) and does 64 terms, 4 terms per value read. The naive
//   kernel does one term per two values read from global memory.
// - The register tile is written out with constant indices only, so that every compiler keeps
//   it in registers (a dynamically indexed array may be demoted to memory).
//
// WG_X, WG_Y and TILE_K are override constants chosen per adapter from its limits; the 8 x 8
// register tile is fixed (function-scope arrays cannot be override-sized).
// Needs common/metric.wgsl before it.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// Invocations per workgroup along columns (x) and rows (y).
override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
// Dimensions staged per step.
override TILE_K: u32 = 16u;
override BLOCK_ROWS: u32 = WG_Y * 8u;
override BLOCK_COLS: u32 = WG_X * 8u;
// vec4 words per staged dimension: xs[k * ROW_WORDS + r / 4][r % 4].
override ROW_WORDS: u32 = WG_Y * 2u;
override COL_WORDS: u32 = WG_X * 2u;
override XS_LEN: u32 = TILE_K * ROW_WORDS;
override YS_LEN: u32 = TILE_K * COL_WORDS;

var<workgroup> xs: array<vec4<f32>, XS_LEN>;
var<workgroup> ys: array<vec4<f32>, YS_LEN>;

// Stores four adjacent outputs of row i from column j on (bounds-checked: tiles may be partial).
fn store4(i: u32, j: u32, v: vec4<f32>) {
    let rows = params.rows;
    let cols = params.cols;
    if i >= rows {
        return;
    }
    let accumulate = (params.flags & FLAG_ACCUMULATE) != 0u;
    for (var c = 0u; c < 4u; c++) {
        if j + c < cols {
            let idx = i * cols + j + c;
            var previous = 0.0;
            if accumulate {
                previous = out[idx];
            }
            out[idx] = metric_store(v[c], previous, params.flags);
        }
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
    var acc: array<vec4<f32>, 16>;
    acc[0] = vec4<f32>(0.0);
    acc[1] = vec4<f32>(0.0);
    acc[2] = vec4<f32>(0.0);
    acc[3] = vec4<f32>(0.0);
    acc[4] = vec4<f32>(0.0);
    acc[5] = vec4<f32>(0.0);
    acc[6] = vec4<f32>(0.0);
    acc[7] = vec4<f32>(0.0);
    acc[8] = vec4<f32>(0.0);
    acc[9] = vec4<f32>(0.0);
    acc[10] = vec4<f32>(0.0);
    acc[11] = vec4<f32>(0.0);
    acc[12] = vec4<f32>(0.0);
    acc[13] = vec4<f32>(0.0);
    acc[14] = vec4<f32>(0.0);
    acc[15] = vec4<f32>(0.0);

    for (var k0 = 0u; k0 < dims; k0 += TILE_K) {
        // Dimensions in this step, and the power of two >= it that the staging loops walk
        // (so a small d, such as 3, does not stage a whole TILE_K of padding).
        let kn = min(TILE_K, dims - k0);
        let kshift = firstLeadingBit(kn - 1u) + 1u; // kn = 1: 0xffffffff + 1 wraps to 0
        let kmask = (1u << kshift) - 1u;

        // Stage. Entries outside the tile are 0; metric_term(0, 0) = 0 for every metric, so
        // they add nothing (and outputs outside the tile are never stored).
        for (var l = tid; l < (BLOCK_ROWS << kshift); l += threads) {
            let r = l >> kshift;
            let kk = l & kmask;
            let gr = row0 + r;
            let gk = k0 + kk;
            var v = 0.0;
            if gr < rows && gk < dims {
                v = x[gr * dims + gk];
            }
            if kk < TILE_K {
                xs[kk * ROW_WORDS + r / 4u][r % 4u] = v;
            }
        }
        for (var l = tid; l < (BLOCK_COLS << kshift); l += threads) {
            let c = l >> kshift;
            let kk = l & kmask;
            let gc = col0 + c;
            let gk = k0 + kk;
            var v = 0.0;
            if gc < cols && gk < dims {
                v = y[gc * dims + gk];
            }
            if kk < TILE_K {
                ys[kk * COL_WORDS + c / 4u][c % 4u] = v;
            }
        }
        workgroupBarrier();

        for (var kk = 0u; kk < kn; kk++) {
            let a0 = xs[kk * ROW_WORDS + lid.y];
            let a1 = xs[kk * ROW_WORDS + WG_Y + lid.y];
            let b0 = ys[kk * COL_WORDS + lid.x];
            let b1 = ys[kk * COL_WORDS + WG_X + lid.x];
            acc[0] += metric_term4(vec4<f32>(a0.x), b0);
            acc[1] += metric_term4(vec4<f32>(a0.x), b1);
            acc[2] += metric_term4(vec4<f32>(a0.y), b0);
            acc[3] += metric_term4(vec4<f32>(a0.y), b1);
            acc[4] += metric_term4(vec4<f32>(a0.z), b0);
            acc[5] += metric_term4(vec4<f32>(a0.z), b1);
            acc[6] += metric_term4(vec4<f32>(a0.w), b0);
            acc[7] += metric_term4(vec4<f32>(a0.w), b1);
            acc[8] += metric_term4(vec4<f32>(a1.x), b0);
            acc[9] += metric_term4(vec4<f32>(a1.x), b1);
            acc[10] += metric_term4(vec4<f32>(a1.y), b0);
            acc[11] += metric_term4(vec4<f32>(a1.y), b1);
            acc[12] += metric_term4(vec4<f32>(a1.z), b0);
            acc[13] += metric_term4(vec4<f32>(a1.z), b1);
            acc[14] += metric_term4(vec4<f32>(a1.w), b0);
            acc[15] += metric_term4(vec4<f32>(a1.w), b1);
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
