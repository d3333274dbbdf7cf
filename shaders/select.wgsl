// The k-nearest epilogue: reduces each row of a finished tile of distances to its k best
// candidates (key, column), ordered by (key, column), so that rows * k candidates are read back
// instead of the rows * cols matrix. Any k up to B - WG (the host checks; larger k read the
// tiles back).
//
// Prepended: the element type's prelude (`real`) and its sort keys (key32.wgsl or key64.wgsl:
// `key`, `key_of`, `NO_KEY`), so the order is exact integer order, the host's (smaller distance,
// then smaller index, NaN last).
//
// One workgroup per tile row. It keeps a pool of at most B candidates in workgroup memory; the
// first k of the pool, once sorted, are the row's best so far, and the k-th of them is a bound
// that every later column must beat to enter the pool at all (almost none do, once the pool has
// seen a few hundred columns). The columns are read WG at a time, adjacent invocations reading
// adjacent distances; whenever fewer than WG places are left, the pool is sorted (bitonic, in
// workgroup memory) and cut to its best k. Every loop runs at most B / 2 / WG + cols / WG +
// log2(B)^2 iterations per invocation, within the drivers' loop limits.

struct SelectParams {
    rows: u32,      // rows of the tile
    cols: u32,      // columns of the tile
    k: u32,         // candidates kept per row (<= B - WG)
    col0: u32,      // first column of the tile in Y (candidates hold global columns)
    skip_diag: u32, // 1: leave out column row0 + r of row r (X against itself)
    row0: u32,      // first row of the tile in X
    pad0: u32,
    pad1: u32,
}

struct Candidate {
    key: key,
    col: u32,
}

const WG: u32 = 256u;
const B: u32 = 1024u;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> sp: SelectParams;
@group(0) @binding(1) var<storage, read> dist: array<real>;
@group(0) @binding(2) var<storage, read_write> cand: array<Candidate>;

var<workgroup> pool_keys: array<key, B>;
var<workgroup> pool_cols: array<u32, B>;
// Places taken in the pool (appended to with atomicAdd), and its value once all invocations
// are done appending, for uniform control flow.
var<workgroup> taken: atomic<u32>;
var<workgroup> filled: u32;
// The k-th best candidate so far (NO_KEY until the pool has been cut to k once).
var<workgroup> bound_key: key;
var<workgroup> bound_col: u32;

// Whether (ka, ca) comes before (kb, cb).
fn before(ka: key, ca: u32, kb: key, cb: u32) -> bool {
    return ka < kb || (ka == kb && ca < cb);
}

// Sorts the pool's first B places, the places from `first_free` on first set to "no candidate".
fn sort_pool(lid: u32, first_free: u32) {
    for (var i = first_free + lid; i < B; i += WG) {
        pool_keys[i] = NO_KEY;
        pool_cols[i] = NONE;
    }
    workgroupBarrier();
    for (var size = 2u; size <= B; size <<= 1u) {
        for (var stride = size >> 1u; stride > 0u; stride >>= 1u) {
            for (var t = lid; t < B / 2u; t += WG) {
                let i = 2u * t - (t & (stride - 1u));
                let j = i + stride;
                let ascending = (i & size) == 0u;
                let ki = pool_keys[i];
                let ci = pool_cols[i];
                let kj = pool_keys[j];
                let cj = pool_cols[j];
                if before(kj, cj, ki, ci) == ascending {
                    pool_keys[i] = kj;
                    pool_cols[i] = cj;
                    pool_keys[j] = ki;
                    pool_cols[j] = ci;
                }
            }
            workgroupBarrier();
        }
    }
}

@compute @workgroup_size(256, 1, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    // Uniform across the workgroup: it depends on the workgroup's id only.
    let r = wid.x + wid.y * groups.x;
    if r >= sp.rows {
        return;
    }
    if lid == 0u {
        atomicStore(&taken, 0u);
        filled = 0u;
        bound_key = NO_KEY;
        bound_col = NONE;
    }
    workgroupBarrier();
    let row = r * sp.cols;
    for (var c0 = 0u; c0 < sp.cols; c0 += WG) {
        if workgroupUniformLoad(&filled) > B - WG {
            sort_pool(lid, filled);
            if lid == 0u {
                atomicStore(&taken, sp.k);
                filled = sp.k;
                bound_key = pool_keys[sp.k - 1u];
                bound_col = pool_cols[sp.k - 1u];
            }
            workgroupBarrier();
        }
        let c = c0 + lid;
        if c < sp.cols {
            let j = sp.col0 + c;
            let k = key_of(dist[row + c]);
            let own = sp.skip_diag == 1u && j == sp.row0 + r;
            if !own && before(k, j, bound_key, bound_col) {
                let at = atomicAdd(&taken, 1u);
                pool_keys[at] = k;
                pool_cols[at] = j;
            }
        }
        workgroupBarrier();
        if lid == 0u {
            filled = atomicLoad(&taken);
        }
    }
    sort_pool(lid, workgroupUniformLoad(&filled));
    for (var q = lid; q < sp.k; q += WG) {
        cand[r * sp.k + q] = Candidate(pool_keys[q], pool_cols[q]);
    }
}
