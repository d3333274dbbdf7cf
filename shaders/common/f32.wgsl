// The kernels' element type when they compute in float32: `real`, and the functions whose
// float64 versions WGSL lacks (see f64.wgsl), here the builtins. Prepended before metric.wgsl.

alias real = f32;

fn real_log4(x: vec4<f32>) -> vec4<f32> {
    return log(x);
}

// a^e for a > 0 (the callers handle 0 and NaN).
fn real_pow4(a: vec4<f32>, e: f32) -> vec4<f32> {
    return pow(a, vec4<f32>(e));
}

// g(t) / t^2 for Jensen-Shannon's term (metric.wgsl), as its series: the sum over k from 1
// to 10 of t^(2k-2) / (k (2k - 1)), enough for |t| <= 1/2 in f32 (metric::js_series_terms).
fn real_js_series4(t2: vec4<f32>) -> vec4<f32> {
    var s = vec4<f32>(1.0 / 190.0);
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
