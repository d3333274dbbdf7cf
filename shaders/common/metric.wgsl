// Metric bodies shared by every kernel, selected by override constants that come from the
// metric's one definition (Metric::definition in src/metric.rs; its scalar twins are
// Metric::term and Metric::finalize). The branches fold away when the pipeline is compiled.
//   TERM:     0 = (x - y)^2, 1 = |x - y|          (Term::shader_id)
//   MERGE:    0 = sum,       1 = max              (Merge::shader_id)
//   FINALIZE: 0 = identity,  1 = square root      (Finalize::shader_id)
// The max passes over a NaN term, as SciPy's chebyshev does: the new value is taken only where
// it is larger (a comparison with NaN is false), never through max(), whose NaN result is
// implementation-defined.
// Differences are taken first (never |x|^2 + |y|^2 - 2x.y): no cancellation, exact zeros for
// identical points, and NaN/Inf propagate as IEEE arithmetic says.

override TERM: u32 = 0u;
override MERGE: u32 = 0u;
override FINALIZE: u32 = 0u;

// Per-dispatch parameters of one tile pass.
struct Params {
    rows: u32,  // rows of X in this tile (output rows)
    cols: u32,  // rows of Y in this tile (output columns)
    dims: u32,  // dimensions in this pass (a chunk of d when d is split)
    flags: u32, // bit 0: add to the partial sums already in `out`; bit 1: finalize
}

const FLAG_ACCUMULATE: u32 = 1u;
const FLAG_FINALIZE: u32 = 2u;

fn metric_term(a: f32, b: f32) -> f32 {
    let t = a - b;
    if TERM == 1u {
        return abs(t);
    }
    return t * t;
}

fn metric_term4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    let t = a - b;
    if TERM == 1u {
        return abs(t);
    }
    return t * t;
}

// Adds one term (or a partial result) to an accumulator.
fn metric_merge(acc: f32, t: f32) -> f32 {
    if MERGE == 1u {
        return select(acc, t, t > acc);
    }
    return acc + t;
}

fn metric_merge4(acc: vec4<f32>, t: vec4<f32>) -> vec4<f32> {
    if MERGE == 1u {
        return select(acc, t, t > acc);
    }
    return acc + t;
}

fn metric_finalize(acc: f32) -> f32 {
    if FINALIZE == 1u {
        return sqrt(acc);
    }
    return acc;
}

// Combines a finished partial sum with earlier passes and finalizes it on the last pass.
fn metric_store(partial: f32, previous: f32, flags: u32) -> f32 {
    var v = partial;
    if (flags & FLAG_ACCUMULATE) != 0u {
        v = metric_merge(previous, partial);
    }
    if (flags & FLAG_FINALIZE) != 0u {
        v = metric_finalize(v);
    }
    return v;
}

fn metric_finalize4(acc: vec4<f32>) -> vec4<f32> {
    if FINALIZE == 1u {
        return sqrt(acc);
    }
    return acc;
}

// metric_store for four adjacent outputs at once.
fn metric_store4(partial: vec4<f32>, previous: vec4<f32>, flags: u32) -> vec4<f32> {
    var v = partial;
    if (flags & FLAG_ACCUMULATE) != 0u {
        v = metric_merge4(previous, partial);
    }
    if (flags & FLAG_FINALIZE) != 0u {
        v = metric_finalize4(v);
    }
    return v;
}
