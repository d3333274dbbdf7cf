// The tuned kernel: each workgroup computes a BLOCK_ROWS x BLOCK_COLS block of outputs.
// Slices of TILE_K dimensions of its rows of X and Y are staged in workgroup memory with
// coalesced loads (adjacent invocations read adjacent addresses); each invocation then keeps
// a 4 x 4 micro-tile of sums in registers, so every value read from workgroup memory feeds
// four outputs. Shape and size come from override constants chosen per adapter.
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
// Each invocation computes MICRO x MICRO outputs (fixed: registers cannot be override-sized).
const MICRO: u32 = 4u;
override BLOCK_ROWS: u32 = WG_Y * MICRO;
override BLOCK_COLS: u32 = WG_X * MICRO;
override XS_LEN: u32 = TILE_K * BLOCK_ROWS;
override YS_LEN: u32 = TILE_K * BLOCK_COLS;

// Stored k-major (xs[k * BLOCK_ROWS + row]) so the inner loop reads along rows.
var<workgroup> xs: array<f32, XS_LEN>;
var<workgroup> ys: array<f32, YS_LEN>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let row0 = wid.y * BLOCK_ROWS;
    let col0 = wid.x * BLOCK_COLS;
    let tid = lid.y * WG_X + lid.x;
    let threads = WG_X * WG_Y;
    let dims = params.dims;

    var acc: array<vec4<f32>, 4>;
    for (var r = 0u; r < MICRO; r++) {
        acc[r] = vec4<f32>(0.0);
    }

    for (var k0 = 0u; k0 < dims; k0 += TILE_K) {
        // Stage TILE_K dimensions of the block's rows; out-of-range entries are 0, and
        // metric_term(0, 0) is 0 for every metric, so padding adds nothing.
        for (var l = tid; l < XS_LEN; l += threads) {
            let row = l / TILE_K;
            let kk = l % TILE_K;
            let gr = row0 + row;
            let gk = k0 + kk;
            var v = 0.0;
            if gr < params.rows && gk < dims {
                v = x[gr * dims + gk];
            }
            xs[kk * BLOCK_ROWS + row] = v;
        }
        for (var l = tid; l < YS_LEN; l += threads) {
            let col = l / TILE_K;
            let kk = l % TILE_K;
            let gc = col0 + col;
            let gk = k0 + kk;
            var v = 0.0;
            if gc < params.cols && gk < dims {
                v = y[gc * dims + gk];
            }
            ys[kk * BLOCK_COLS + col] = v;
        }
        workgroupBarrier();

        for (var kk = 0u; kk < TILE_K; kk++) {
            // Invocation (lx, ly) owns rows ly + WG_Y*r and columns lx + WG_X*c: strided so
            // that neighbours read neighbouring words of ys and write neighbouring outputs.
            let yb = kk * BLOCK_COLS + lid.x;
            let b = vec4<f32>(ys[yb], ys[yb + WG_X], ys[yb + 2u * WG_X], ys[yb + 3u * WG_X]);
            let xb = kk * BLOCK_ROWS + lid.y;
            for (var r = 0u; r < MICRO; r++) {
                acc[r] += metric_term4(vec4<f32>(xs[xb + r * WG_Y]), b);
            }
        }
        workgroupBarrier();
    }

    for (var r = 0u; r < MICRO; r++) {
        let i = row0 + lid.y + r * WG_Y;
        for (var c = 0u; c < MICRO; c++) {
            let j = col0 + lid.x + c * WG_X;
            if i < params.rows && j < params.cols {
                let idx = i * params.cols + j;
                var previous = 0.0;
                if (params.flags & FLAG_ACCUMULATE) != 0u {
                    previous = out[idx];
                }
                out[idx] = metric_store(acc[r][c], previous, params.flags);
            }
        }
    }
}
