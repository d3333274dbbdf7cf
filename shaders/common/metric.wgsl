// Metric bodies shared by every kernel, in the element type `real` (common/f32.wgsl or
// common/f64.wgsl comes first), selected by override constants that come from the metric's
// one definition (Metric::definition in src/metric.rs; its scalar twins are Metric::term,
// Metric::merge and Metric::finalize). The branches fold away when the pipeline is compiled.
// The steps' ids are the constants TERM_*, MERGE_* and FINALIZE_* that src/metric.rs
// generates (wgsl_ids) and prepends: never numbers written here.
//   TERM:     (x - y)^2, |x - y|, |x - y|^P, canberra's, x != y, Jensen-Shannon's
//   MERGE:    sum, max
//   FINALIZE: identity, square root, ^(1/P), half at most 2, sqrt(half), divided by the
//             dimensions (or the total weight)
//   params.p: the minkowski exponent (TERM_POWER_DIFFERENCE, FINALIZE_ROOT), a value in the
//             uniform block, never compiled in: one pipeline serves every p (whole_p: p if a
//             whole number < 64, a uniform branch).
//   WEIGHTED: each term times its dimension's weight (the minkowski family's, canberra's and
//             hamming's w, as SciPy sums them; the other metrics' weights are applied to the
//             points before the kernels), and hamming's mean over the total weight. When false
//             the weights are never read, and the kernels are the unweighted ones.
// The max passes over a NaN term, as SciPy's chebyshev does: the new value is taken only where
// it is larger (a comparison with NaN is false), never through max(), whose NaN result is
// implementation-defined. Likewise the final cap of cosine uses select, not min().
// Differences are taken first (never |x|^2 + |y|^2 - 2x.y): no cancellation, exact zeros for
// identical points, and NaN/Inf propagate as IEEE arithmetic says. Every term is 0 for
// x = y = 0, and so is a (finite) weight times it, so zero padding of partial tiles adds
// nothing.

override TERM: u32 = 0u;
override MERGE: u32 = 0u;
override FINALIZE: u32 = 0u;
override WEIGHTED: bool = false;

// Per-dispatch parameters of one tile pass.
struct Params {
    rows: u32,       // rows of X in this tile (output rows)
    cols: u32,       // rows of Y in this tile (output columns)
    dims: u32,       // dimensions in this pass (a chunk of d when d is split)
    flags: u32,      // bit 0: add to the partial sums already in `out`; bit 1: finalize
    total_dims: u32, // d, all passes together (hamming's mean)
    inf_bits: u32,   // the bits of +inf and of a NaN (WGSL has no such constants, and a
    nan_bits: u32,   // constant expression may not evaluate to one)
    total_weight: f32, // what hamming's mean divides by: d, or the sum of the weights, as
    total_weight_lo: f32, // total_weight + total_weight_lo (to 48 bits, for float64 kernels)
    // The minkowski exponent p + p_lo (48 bits: float64 kernels need more than an f32), and
    // p when it is a whole number up to 63 (then powers by multiplication), else 0. Data, not
    // override constants: a new p compiles nothing.
    p: f32,
    p_lo: f32,
    whole_p: u32,
}

// The minkowski exponent in the kernel's type (`params` is the kernel's uniform block).
fn metric_p() -> real {
    return real(params.p) + real(params.p_lo);
}

const FLAG_ACCUMULATE: u32 = 1u;
const FLAG_FINALIZE: u32 = 2u;

// Which lanes are NaN, from ordered comparisons only (both false for NaN, however a driver
// treats !=; a NaN test by x != x was seen to fail on lavapipe).
fn metric_is_nan4(x: vec4<real>) -> vec4<bool> {
    return !(x >= vec4<real>(0.0)) & !(x < vec4<real>(0.0));
}

// a^e for a >= 0, 0 at 0 and NaN at NaN: pow is exp2(e * log2(a)) on most drivers, which
// says nothing by contract for 0, and lavapipe's pow turns NaN into a number.
fn metric_pow4(a: vec4<real>, e: real) -> vec4<real> {
    let r = select(real_pow4(a, e), vec4<real>(0.0), a == vec4<real>(0.0));
    return select(r, a, metric_is_nan4(a));
}

// |t|^p: for a whole p by repeated squaring, unrolled (bit tests of a uniform value, the same
// branch in every invocation; no loop, since every loop iteration counts against lavapipe's
// limit, see LOOP_ITERATION_BUDGET), the same products in the same order as the CPU's
// Simd::powi.
fn metric_power4(t: vec4<real>) -> vec4<real> {
    let a = abs(t);
    let whole = params.whole_p;
    if whole == 0u {
        return metric_pow4(a, metric_p());
    }
    var r = vec4<real>(1.0);
    var b = a;
    if (whole & 1u) != 0u { r = r * b; }
    b = b * b;
    if (whole & 2u) != 0u { r = r * b; }
    b = b * b;
    if (whole & 4u) != 0u { r = r * b; }
    b = b * b;
    if (whole & 8u) != 0u { r = r * b; }
    b = b * b;
    if (whole & 16u) != 0u { r = r * b; }
    b = b * b;
    if (whole & 32u) != 0u { r = r * b; }
    return r;
}

// |x - y| / (|x| + |y|), 0 where both are 0 (NaN stays NaN: NaN == 0 is false).
fn metric_canberra4(a: vec4<real>, b: vec4<real>) -> vec4<real> {
    let den = abs(a) + abs(b);
    return select(abs(a - b) / den, vec4<real>(0.0), den == vec4<real>(0.0));
}

// x ln x, 0 at 0.
fn metric_x_ln_x4(x: vec4<real>) -> vec4<real> {
    return select(x * real_log4(x), vec4<real>(0.0), x == vec4<real>(0.0));
}

// g(t) / t^2 for Jensen-Shannon's term, as its series: the sum over k from 1 to
// JS_SERIES_TERMS (10 for f32, 22 for f64; the prelude says) of t^(2k-2) / (k (2k - 1)). The
// terms past the tenth are a branch on a constant, which folds away in f32.
fn metric_js_series4(t2: vec4<real>) -> vec4<real> {
    var s = vec4<real>(1.0 / 190.0);
    if JS_SERIES_TERMS > 10u {
        s = vec4<real>(1.0 / 946.0);
        s = s * t2 + 1.0 / 861.0;
        s = s * t2 + 1.0 / 780.0;
        s = s * t2 + 1.0 / 703.0;
        s = s * t2 + 1.0 / 630.0;
        s = s * t2 + 1.0 / 561.0;
        s = s * t2 + 1.0 / 496.0;
        s = s * t2 + 1.0 / 435.0;
        s = s * t2 + 1.0 / 378.0;
        s = s * t2 + 1.0 / 325.0;
        s = s * t2 + 1.0 / 276.0;
        s = s * t2 + 1.0 / 231.0;
        s = s * t2 + 1.0 / 190.0;
    }
    s = s * t2 + 1.0 / 153.0;
    s = s * t2 + 1.0 / 120.0;
    s = s * t2 + 1.0 / 91.0;
    s = s * t2 + 1.0 / 66.0;
    s = s * t2 + 1.0 / 45.0;
    s = s * t2 + 1.0 / 28.0;
    s = s * t2 + 1.0 / 15.0;
    s = s * t2 + 1.0 / 6.0;
    s = s * t2 + 1.0 / 1.0;
    return s;
}

// The Jensen-Shannon term of probabilities p and q (twin of metric::jensen_shannon):
// m g(t), m = (p + q) / 2, t = (p - q) / (p + q), g(t) = (1 + t) ln(1 + t) + (1 - t) ln(1 - t),
// summed as its series t^2 (1 + t^2/6 + t^4/15 + ...) for |t| <= 1/2, where the two logarithms
// would cancel; +inf if either is negative; 0 if neither is positive.
fn metric_js4(p: vec4<real>, q: vec4<real>) -> vec4<real> {
    let zero = vec4<real>(0.0);
    let sum = p + q;
    let t = (p - q) / sum;
    let t2 = t * t;
    let series = metric_js_series4(t2) * t2;
    let closed = metric_x_ln_x4(vec4<real>(1.0) + t) + metric_x_ln_x4(vec4<real>(1.0) - t);
    let g = select(closed, series, abs(t) <= vec4<real>(0.5));
    var v = 0.5 * sum * g;
    // NaN where either is NaN (log's NaN is not to be trusted), unless neither is positive.
    v = select(v, sum, metric_is_nan4(p) | metric_is_nan4(q));
    v = select(v, zero, !(p > zero) & !(q > zero));
    return select(v, vec4<real>(real(bitcast<f32>(params.inf_bits))), (p < zero) | (q < zero));
}

fn metric_term4(a: vec4<real>, b: vec4<real>) -> vec4<real> {
    let t = a - b;
    switch TERM {
        case TERM_ABSOLUTE_DIFFERENCE: {
            return abs(t);
        }
        case TERM_POWER_DIFFERENCE: {
            return metric_power4(t);
        }
        case TERM_CANBERRA: {
            return metric_canberra4(a, b);
        }
        case TERM_NOT_EQUAL: {
            return select(vec4<real>(1.0), vec4<real>(0.0), a == b);
        }
        case TERM_JENSEN_SHANNON: {
            return metric_js4(a, b);
        }
        case TERM_SQUARED_DIFFERENCE, default: {
            return t * t;
        }
    }
}

// The term of a dimension of weight w: metric_term4 itself unless WEIGHTED (w unused), else
// times w (for hamming, w where a != b: the same value without the product).
fn metric_weighted_term4(a: vec4<real>, b: vec4<real>, w: real) -> vec4<real> {
    if WEIGHTED {
        if TERM == TERM_NOT_EQUAL {
            return select(vec4<real>(w), vec4<real>(0.0), a == b);
        }
        return w * metric_term4(a, b);
    }
    return metric_term4(a, b);
}

fn metric_weighted_term(a: real, b: real, w: real) -> real {
    return metric_weighted_term4(vec4<real>(a), vec4<real>(b), w).x;
}

// Adds one term (or a partial result) to an accumulator.
fn metric_merge(acc: real, t: real) -> real {
    if MERGE == MERGE_MAX {
        return select(acc, t, t > acc);
    }
    return acc + t;
}

fn metric_merge4(acc: vec4<real>, t: vec4<real>) -> vec4<real> {
    if MERGE == MERGE_MAX {
        return select(acc, t, t > acc);
    }
    return acc + t;
}

fn metric_finalize4(acc: vec4<real>) -> vec4<real> {
    // SciPy's values for points of no dimensions: norms 0/0 (cosine), sums 0 (jensenshannon).
    if params.total_dims == 0u && FINALIZE == FINALIZE_HALF_CAPPED {
        return vec4<real>(real(bitcast<f32>(params.nan_bits)));
    }
    if params.total_dims == 0u && FINALIZE == FINALIZE_SQRT_HALF {
        return vec4<real>(real(bitcast<f32>(params.inf_bits)));
    }
    switch FINALIZE {
        case FINALIZE_SQRT: {
            return sqrt(acc);
        }
        case FINALIZE_ROOT: {
            return metric_root4(acc);
        }
        case FINALIZE_HALF_CAPPED: {
            let half = 0.5 * acc;
            return select(half, vec4<real>(2.0), half > vec4<real>(2.0));
        }
        case FINALIZE_SQRT_HALF: {
            return sqrt(0.5 * acc);
        }
        case FINALIZE_MEAN: {
            // NaN where the total weight is 0 (no dimensions, or weights all zero), as SciPy's
            // 0/0, whatever the driver makes of a division by zero.
            let total = real(params.total_weight) + real(params.total_weight_lo);
            if total == 0.0 {
                return vec4<real>(real(bitcast<f32>(params.nan_bits)));
            }
            return acc / total;
        }
        case FINALIZE_IDENTITY, default: {
            return acc;
        }
    }
}

// acc^(1/P).
fn metric_root4(acc: vec4<real>) -> vec4<real> {
    return metric_pow4(acc, 1.0 / metric_p());
}

fn metric_finalize(acc: real) -> real {
    return metric_finalize4(vec4<real>(acc)).x;
}

// Combines a finished partial sum with earlier passes and finalizes it on the last pass.
fn metric_store(partial: real, previous: real, flags: u32) -> real {
    var v = partial;
    if (flags & FLAG_ACCUMULATE) != 0u {
        v = metric_merge(previous, partial);
    }
    if (flags & FLAG_FINALIZE) != 0u {
        v = metric_finalize(v);
    }
    return v;
}

// metric_store for four adjacent outputs at once.
fn metric_store4(partial: vec4<real>, previous: vec4<real>, flags: u32) -> vec4<real> {
    var v = partial;
    if (flags & FLAG_ACCUMULATE) != 0u {
        v = metric_merge4(previous, partial);
    }
    if (flags & FLAG_FINALIZE) != 0u {
        v = metric_finalize4(v);
    }
    return v;
}
