// The kernels' element type when they compute in float64 (adapters with SHADER_F64): `real`,
// and the logarithm and power in f64. WGSL defines log, exp and pow for f16 and f32 only, and
// the Vulkan extended instruction set (GLSL.std.450) has no 64-bit Log, Exp or Pow, so a
// module must not call them on f64 at all, not even in a branch that never runs: these are
// written out from operations every f64 device has (arithmetic, ldexp, round, and f32's
// log for a first estimate), each within a few units in the last place. Prepended before metric.wgsl.

alias real = f64;

// ln 2 in two parts: LN2_HI has trailing zero bits, so k * LN2_HI is exact for |k| < 2^11.
const LN2_HI: f64 = 6.93147180369123816490e-01;
const LN2_LO: f64 = 1.90821492927058770002e-10;

// Which lanes are NaN, from ordered comparisons only (as metric_is_nan4).
fn real_is_nan4(x: vec4<f64>) -> vec4<bool> {
    return !(x >= vec4<f64>(0.0)) & !(x < vec4<f64>(0.0));
}

// x with powers of two taken out (x = t 2^e): what real_scale4 returns.
struct RealScaled {
    t: vec4<f64>,
    e: vec4<f64>,
}

// Takes 2^k out of the lanes at or above 2^k, and puts it into those below 2^-k.
fn real_scale4(s: RealScaled, k: i32) -> RealScaled {
    let one = vec4<f64>(1.0);
    let down = s.t >= ldexp(one, vec4<i32>(k));
    let up = s.t < ldexp(one, vec4<i32>(-k));
    var t = select(s.t, ldexp(s.t, vec4<i32>(-k)), down);
    t = select(t, ldexp(t, vec4<i32>(k)), up);
    let step = vec4<f64>(f64(k));
    let e = s.e + select(vec4<f64>(0.0), step, down) - select(vec4<f64>(0.0), step, up);
    return RealScaled(t, e);
}

// The natural logarithm. x = t 2^e with t in [2^-64, 2^64) (steps of 2^512, 2^512, 2^256,
// 2^128, 2^64 cover every f64, subnormals too), where f32 holds t: ln t is f32's log, an
// estimate l within 2^-21, refined by one Newton step with real_exp4: u = t e^-l - 1,
// ln t = l + ln(1 + u) = l + u - u^2/2 (u^3/3 is below 2^-60). (frexp would give e at once,
// but naga's f64 frexp returns an i64 exponent, which needs SHADER_INT64.) The error is a few
// units of 2^-53 absolute, which is what a power e^(p ln a) needs. ln 0 = -inf, ln of a
// negative number or NaN is NaN, ln inf = inf.
fn real_log4(x: vec4<f64>) -> vec4<f64> {
    var s = RealScaled(x, vec4<f64>(0.0));
    s = real_scale4(s, 512);
    s = real_scale4(s, 512);
    s = real_scale4(s, 256);
    s = real_scale4(s, 128);
    s = real_scale4(s, 64);
    let l = vec4<f64>(log(vec4<f32>(s.t)));
    let u = s.t * real_exp4(-l) - 1.0;
    let ln_t = l + (u - 0.5 * u * u);
    var r = s.e * LN2_HI + (ln_t + s.e * LN2_LO);
    // The special values come from `params` (metric.wgsl): a constant expression may not
    // evaluate to inf or NaN.
    let zero = vec4<f64>(0.0);
    let inf = vec4<f64>(f64(bitcast<f32>(params.inf_bits)));
    r = select(r, x, x == inf);
    r = select(r, -inf, x == zero);
    return select(r, vec4<f64>(f64(bitcast<f32>(params.nan_bits))), (x < zero) | real_is_nan4(x));
}

// e^y: y = k ln 2 + r with |r| <= ln 2 / 2, e^r by its Taylor series to r^14 (the next term is
// below 2^-60), times 2^k in two steps so that no step leaves the exponent's range. Overflows
// to inf above ln(max), underflows to 0 below ln(min subnormal); NaN stays NaN.
fn real_exp4(y: vec4<f64>) -> vec4<f64> {
    let yc = clamp(y, vec4<f64>(-800.0), vec4<f64>(800.0));
    let k = round(yc * 1.44269504088896338700);
    let r = (yc - k * LN2_HI) - k * LN2_LO;
    var p = vec4<f64>(1.0 / 87178291200.0);
    p = p * r + 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    let ki = vec4<i32>(k);
    let half = ki / vec4<i32>(2);
    let v = ldexp(ldexp(p, half), ki - half);
    return select(v, y, real_is_nan4(y));
}

// a^e for a > 0 (the callers handle 0 and NaN): e^(e ln a).
fn real_pow4(a: vec4<f64>, e: f64) -> vec4<f64> {
    return real_exp4(e * real_log4(a));
}

// Terms of Jensen-Shannon's series that f64 needs for |t| <= 1/2 (metric.wgsl's
// metric_js_series4; metric::js_series_terms on the CPU).
const JS_SERIES_TERMS: u32 = 22u;
