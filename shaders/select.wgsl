// The k-nearest epilogue: reduces a finished tile of distances to the k best candidates of
// every list of `span` columns of every row, so that n * m / span * k candidates are
// read back instead of the n * m matrix.
//
// A row's columns are cut into groups of lanes * span columns; the lanes lists of a group
// interleave (list l takes columns l, l + lanes, l + 2 lanes, ...), so adjacent invocations
// read adjacent distances (coalesced loads) while each still scans its columns in order.
//
// A candidate is (key, column) with key = the distance's bits: for the non-negative floats
// that distances are, the bits order as the values do, +inf after every number and NaN (made
// one canonical NaN) after +inf. Candidates are ordered by (key, column), integers only, so
// the order is exact and the same as the host's (smaller distance, then smaller index, NaN
// last) whatever the GPU does with NaN in float compares. Lists shorter than k are padded with
// (0xffffffff, 0xffffffff).
//
// One invocation per (row, list) keeps a sorted list of at most K_MAX in private arrays;
// its loops run at most SEGMENT * (K_MAX + 1) iterations, within the drivers' loop limits (see
// MAX_DIMS_PER_PASS in src/plan.rs).

struct SelectParams {
    rows: u32,      // rows of the tile
    cols: u32,      // columns of the tile
    k: u32,         // candidates kept per list (<= K_MAX)
    span: u32,      // columns per list
    col0: u32,      // first column of the tile in Y (candidates hold global columns)
    skip_diag: u32, // 1: leave out column row0 + r of row r (X against itself)
    row0: u32,      // first row of the tile in X
    lanes: u32,     // interleaved lists per group of lanes * span columns
}

const K_MAX: u32 = 32u;
const NONE: u32 = 0xffffffffu;
const NAN_KEY: u32 = 0x7fc00000u;

@group(0) @binding(0) var<uniform> sp: SelectParams;
@group(0) @binding(1) var<storage, read> dist: array<f32>;
@group(0) @binding(2) var<storage, read_write> cand: array<vec2<u32>>;

// Whether (ka, ia) comes before (kb, ib).
fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
    return ka < kb || (ka == kb && ia < ib);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let width = sp.lanes * sp.span;
    let lists = (sp.cols + width - 1u) / width * sp.lanes; // per row
    let item = gid.x + gid.y * groups.x * 64u;
    if item >= sp.rows * lists {
        return;
    }
    let r = item / lists;
    let l = item % lists;
    let c_start = (l / sp.lanes) * width + l % sp.lanes;
    let c_end = min((l / sp.lanes + 1u) * width, sp.cols);

    var keys: array<u32, K_MAX>;
    var idxs: array<u32, K_MAX>;
    var count = 0u;
    // The list's last entry, in registers: almost every candidate loses to it, and compilers
    // may keep dynamically indexed arrays in slow memory.
    var worst_key = NONE;
    var worst_idx = NONE;
    for (var c = c_start; c < c_end; c += sp.lanes) {
        let j = sp.col0 + c;
        var key = bitcast<u32>(dist[r * sp.cols + c]);
        if key > worst_key {
            continue; // the common case once the list is full (never NaN: canonicalised below)
        }
        if sp.skip_diag == 1u && j == sp.row0 + r {
            continue;
        }
        if (key & 0x7fffffffu) > 0x7f800000u {
            key = NAN_KEY;
        }
        if count == sp.k && !before(key, j, worst_key, worst_idx) {
            continue;
        }
        // Insert, shifting the worse entries right (the last falls off a full list).
        var at = min(count, sp.k - 1u);
        while at > 0u && before(key, j, keys[at - 1u], idxs[at - 1u]) {
            keys[at] = keys[at - 1u];
            idxs[at] = idxs[at - 1u];
            at -= 1u;
        }
        keys[at] = key;
        idxs[at] = j;
        count = min(count + 1u, sp.k);
        if count == sp.k {
            worst_key = keys[count - 1u];
            worst_idx = idxs[count - 1u];
        }
    }
    let base = item * sp.k;
    for (var q = 0u; q < sp.k; q++) {
        if q < count {
            cand[base + q] = vec2<u32>(keys[q], idxs[q]);
        } else {
            cand[base + q] = vec2<u32>(NONE, NONE);
        }
    }
}
