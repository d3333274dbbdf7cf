// The baseline kernel: one invocation per output, reading both rows straight from global
// memory. Kept as the yardstick the tuned kernel (tiled.wgsl) is measured against.
// Needs common/f32.wgsl or common/f64.wgsl, then common/metric.wgsl, before it.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<real>;
@group(0) @binding(2) var<storage, read> y: array<real>;
@group(0) @binding(3) var<storage, read_write> out: array<real>;
// The weights of this pass's dimensions (WEIGHTED only).
@group(0) @binding(4) var<storage, read> weights: array<real>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x; // output column: adjacent invocations write adjacent outputs
    let i = gid.y;
    if i >= params.rows || j >= params.cols {
        return;
    }
    var acc: real = 0.0;
    for (var k = 0u; k < params.dims; k++) {
        var w: real = 1.0;
        if WEIGHTED {
            w = weights[k];
        }
        acc = metric_merge(acc, metric_weighted_term(x[i * params.dims + k], y[j * params.dims + k], w));
    }
    let idx = i * params.cols + j;
    var previous: real = 0.0;
    if (params.flags & FLAG_ACCUMULATE) != 0u {
        previous = out[idx];
    }
    out[idx] = metric_store(acc, previous, params.flags);
}
