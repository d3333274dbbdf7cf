// The radius epilogue: keeps the entries of a finished tile of distances that are at most r,
// as (flat index in the tile, distance) pairs appended through an atomic counter, so that only
// the hits are read back instead of the rows * cols matrix.
//
// Prepended: the element type's prelude (`real`) and its sort keys (key32.wgsl or key64.wgsl):
// a distance is within r when its key is at most r's, an integer compare, so NaN is never
// within and the test is the host's `v <= r` exactly.
//
// The counter counts every hit, also those past `capacity`: the host then knows the hits did
// not fit and reads the tile's distances back instead (they are still in `dist`).

struct FilterParams {
    rows: u32,     // rows of the tile
    cols: u32,     // columns of the tile
    row0: u32,     // first row of the tile in X
    col0: u32,     // first column of the tile in Y
    upper: u32,    // 1: only the pairs whose column (in Y) is after their row (in X)
    capacity: u32, // hits the buffers hold
    r_lo: u32,     // r's key, low and high words
    r_hi: u32,
}

@group(0) @binding(0) var<uniform> fp: FilterParams;
@group(0) @binding(1) var<storage, read> dist: array<real>;
@group(0) @binding(2) var<storage, read_write> hit_index: array<u32>;
@group(0) @binding(3) var<storage, read_write> hit_value: array<real>;
@group(0) @binding(4) var<storage, read_write> hits: atomic<u32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = gid.x + gid.y * groups.x * 256u;
    if e >= fp.rows * fp.cols {
        return;
    }
    if fp.upper == 1u && fp.col0 + e % fp.cols <= fp.row0 + e / fp.cols {
        return;
    }
    let v = dist[e];
    if key_of(v) <= key_from(fp.r_lo, fp.r_hi) {
        let at = atomicAdd(&hits, 1u);
        if at < fp.capacity {
            hit_index[at] = e;
            hit_value[at] = v;
        }
    }
}
