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

// Terms of Jensen-Shannon's series that f32 needs for |t| <= 1/2 (metric.wgsl's
// metric_js_series4; metric::js_series_terms on the CPU).
const JS_SERIES_TERMS: u32 = 10u;
