//! `|d|^p` for any p in vector form: minkowski's term when p is not a whole number below 64
//! (those multiply, [`Simd::powi`]). A scalar `powf` per term ran at 0.3 Gpd/s on two cores,
//! slower than lavapipe; this is the same arithmetic as every vector math library's `pow`,
//! written here on the kernels' own [`Simd`] operations so that it stays inside the
//! micro-kernel's loop.
//!
//! `a^p = 2^z` with `z = p·log₂ a`, and `a = m·2^e`, `m ∈ [√½, √2)`:
//!
//! - `log₂ m = (2 / ln 2)·atanh(s)`, `s = (m − 1) / (m + 1)`, `|s| ≤ 0.172`, as its series in
//!   `s²` ([`log_terms`] terms: below the type's ε/4). `m − 1` is exact, so `log₂ m` is within
//!   about 2 ulps relative.
//! - `z = p·e + p·log₂ m`, with `p·e` split as `p_hi·e` (exact: `p_hi` keeps few enough bits)
//!   plus `p_lo·e`. Then `n = round(z)` and `r = (p_hi·e − n) + (p_lo·e + p·log₂ m)`, whose
//!   first difference is exact: `r ∈ [−½, ½]` carries no rounding error from `p·e`, however
//!   large (a plain `p·log₂ a` would lose `|z|·ε`, 1e-5 relative of the term at `z` = 100 in
//!   f32).
//! - `2^r = Σ (r ln 2)^k / k!` ([`exp_terms`] terms), times `2^n`.
//!
//! The term is then within about `(1.3·p + 3)·ε` relative of `a^p`, so minkowski's distance
//! within about `(1.3 + 3/p)·ε` plus the sum's rounding. A vector with a lane that is not 0
//! or a normal number (∞, NaN, subnormal), or whose `|n|` would leave the normal range
//! ([`Simd::pow2`]'s limit), takes the scalar [`metric::power`] lane by lane, as every vector
//! did before: those are the extremes that the f32 fix-up recomputes in f64 anyway.

use num_traits::NumCast;

use super::simd::Simd;
use crate::element::Element;
use crate::metric;

/// Terms of `log₂ m`'s series in `s²` for the element type: the first term left out is below
/// ε/4 relative at `|s| = 0.172` (f32: `s¹⁰/11` ≈ 2e-9; f64: `s²²/23` ≈ 7e-19).
const fn log_terms<E>() -> usize {
    if size_of::<E>() == 4 { 5 } else { 11 }
}

/// Terms of `2^r`'s series for `|r| ≤ ½`: degree 7 for f32 and 13 for f64, where the first
/// term left out is 5e-9 and 4e-18 at the ends of the interval.
const fn exp_terms<E>() -> usize {
    if size_of::<E>() == 4 { 8 } else { 14 }
}

/// The most terms of either series (f64's).
const MAX_TERMS: usize = 14;

/// Bits of `p` kept in `p_hi`: with `|e| < 2^11` (any normal or subnormal f64), `p_hi·e` needs
/// at most `12 + 11` bits (f32: 24) or `41 + 11` (f64: 53), so it is exact.
const fn high_bits<E>() -> i32 {
    if size_of::<E>() == 4 { 12 } else { 41 }
}

/// The constants of `|d|^p` for one exponent `p`, in the element type: computed once per block.
#[derive(Clone, Copy)]
pub(super) struct Power<E> {
    p: E,
    p_hi: E,
    p_lo: E,
    /// `(2 / ln 2) / (2k + 1)`, k = 0, 1, …: `log₂ m = s·Σ log[k]·s^2k`.
    log: [E; MAX_TERMS],
    /// `(ln 2)^k / k!`: `2^r = Σ exp[k]·r^k`.
    exp: [E; MAX_TERMS],
}

impl<E: Element> Power<E> {
    /// The constants for the exponent `p` (any positive number; as the kernels round it, to `E`).
    pub(super) fn new(p: E) -> Self {
        let pf: f64 = p.into();
        // p_hi: p rounded to `high_bits` significant bits (in f64, exactly representable in E),
        // p_lo the rest (exact: the low bits of p).
        let p_hi = if pf > 0.0 && pf.is_finite() {
            let unit = 2f64.powi(pf.log2().floor() as i32 - (high_bits::<E>() - 1));
            E::from_f64((pf / unit).round() * unit)
        } else {
            p
        };
        let mut log = [E::zero(); MAX_TERMS];
        let mut exp = [E::zero(); MAX_TERMS];
        let two_over_ln2 = 2.0 / std::f64::consts::LN_2;
        for (k, c) in log.iter_mut().enumerate().take(log_terms::<E>()) {
            *c = E::from_f64(two_over_ln2 / (2 * k + 1) as f64);
        }
        let mut term = 1.0f64;
        for (k, c) in exp.iter_mut().enumerate().take(exp_terms::<E>()) {
            if k > 0 {
                term *= std::f64::consts::LN_2 / k as f64;
            }
            *c = E::from_f64(term);
        }
        Power { p, p_hi, p_lo: p - p_hi, log, exp }
    }
}

impl<E: Element> Power<E> {
    /// `log₂ a = e + log₂ m` lane-wise as its two parts `(e, log₂ m)`, `a = m·2^e` with `m ∈
    /// [√½, √2)`, for lanes that are positive normal numbers; lanes of 0 give `(0, 0)`. The
    /// second part is within about 2 ulps of itself, and the sum is left to the caller (the
    /// power keeps `p·e` exact).
    #[inline(always)]
    pub(super) unsafe fn log2<S: Simd<E = E>>(&self, a: S) -> (S, S) {
        // SAFETY: plain arithmetic on vectors, inside the entry point of `S`'s instruction set.
        unsafe {
            let one = S::one(E::one());
            let (m, e) = S::split_exponent(a);
            let s = S::div(S::sub(m, one), S::add(m, one));
            let s2 = S::mul(s, s);
            let terms = log_terms::<E>();
            let mut series = S::one(self.log[terms - 1]);
            for k in (0..terms - 1).rev() {
                series = S::mul_add(series, s2, S::one(self.log[k]));
            }
            (e, S::mul(s, series))
        }
    }

    /// `x ln x` lane-wise for lanes that are 0 (giving 0) or positive normal numbers
    /// (Jensen–Shannon's logarithms).
    #[inline(always)]
    pub(super) unsafe fn x_ln_x<S: Simd<E = E>>(&self, x: S) -> S {
        // SAFETY: as for `log2`.
        unsafe {
            let (e, log2_m) = self.log2(x);
            let ln2 = S::one(E::from_f64(std::f64::consts::LN_2));
            S::mul(x, S::mul(S::add(e, log2_m), ln2))
        }
    }
}

/// `|n|` at most this keeps `2^n` and `m·2^n` normal numbers of the type ([`Simd::pow2`]).
pub(super) fn exponent_limit<E: Element>() -> E {
    <E as NumCast>::from(if size_of::<E>() == 4 { 120.0 } else { 1000.0 }).expect("float")
}

/// `a^p` lane-wise for lanes `a ≥ 0` (the absolute differences), 0 where `a = 0`, as
/// [`metric::power`] gives (see the module's text for the method and its error).
#[inline(always)]
pub(super) unsafe fn power<S: Simd>(a: S, c: &Power<S::E>) -> S
where
    S::E: Element,
{
    // SAFETY: plain arithmetic on vectors, inside the entry point of `S`'s instruction set.
    unsafe {
        if !S::all_zero_or_normal(a) {
            return S::map(a, |t| metric::power(t, c.p));
        }
        // a = m·2^e (lanes of 0: m = 1, e = 0, so z = 0, and the result is zeroed below).
        let (e, log2_m) = c.log2(a);
        // z = p_hi·e (exact) + b.
        let high = S::mul(S::one(c.p_hi), e);
        let b = S::mul_add(S::one(c.p_lo), e, S::mul(S::one(c.p), log2_m));
        let n = round(S::add(high, b));
        if !S::all_abs_at_most(n, S::one(exponent_limit::<S::E>())) {
            return S::map(a, |t| metric::power(t, c.p));
        }
        let r = S::add(S::sub(high, n), b);
        let terms = exp_terms::<S::E>();
        let mut q = S::one(c.exp[terms - 1]);
        for k in (0..terms - 1).rev() {
            q = S::mul_add(q, r, S::one(c.exp[k]));
        }
        S::zero_where_zero(S::pow2(q, n), a)
    }
}

/// `v` rounded to the nearest whole number lane-wise, for `|v| < 2^(mantissa bits − 1)` (any
/// larger `v` gives a number beyond every exponent limit, or NaN stays NaN): adding and
/// subtracting 1.5·2^mantissa bits leaves only the whole part, rounded to nearest even.
#[inline(always)]
unsafe fn round<S: Simd>(v: S) -> S
where
    S::E: Element,
{
    let magic = if size_of::<S::E>() == 4 { 12_582_912.0 } else { 6_755_399_441_055_744.0 };
    // SAFETY: plain arithmetic on vectors (the caller's instruction set); IEEE addition is not
    // reassociated by the compiler, so the sum is rounded as written.
    unsafe {
        let magic = S::one(<S::E as NumCast>::from(magic).expect("float"));
        S::sub(S::add(v, magic), magic)
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::cpu::kernels::Isa;
    use crate::cpu::kernels::simd::Lanes;
    #[cfg(target_arch = "x86_64")]
    use crate::cpu::kernels::simd::{Avx2, Avx2F64, Avx512, Avx512F64};
    use num_traits::Zero;

    /// `power` over `a` in vectors of `S` (the tail padded with zeros).
    #[inline(always)]
    unsafe fn apply<S: Simd>(a: &[S::E], p: S::E) -> Vec<S::E>
    where
        S::E: Element,
    {
        let c = Power::new(p);
        let mut out = vec![S::E::zero(); a.len().div_ceil(S::W) * S::W];
        let mut padded = out.clone();
        padded[..a.len()].copy_from_slice(a);
        for (i, o) in padded.chunks(S::W).zip(out.chunks_mut(S::W)) {
            // SAFETY: each chunk holds `W` lanes; the caller runs in `S`'s instruction set.
            unsafe { S::store(o.as_mut_ptr(), power(S::load(i.as_ptr()), &c)) };
        }
        out.truncate(a.len());
        out
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn avx512<T: Element>(a: &[T], p: T) -> Vec<T> {
        // SAFETY: AVX-512F is enabled here; the casts are identities (checked by type).
        unsafe {
            if size_of::<T>() == 4 {
                let r = apply::<Avx512>(std::slice::from_raw_parts(a.as_ptr().cast(), a.len()), p.cast());
                r.into_iter().map(|v| T::from_f64(v.into())).collect()
            } else {
                let r = apply::<Avx512F64>(std::slice::from_raw_parts(a.as_ptr().cast(), a.len()), p.cast());
                r.into_iter().map(|v| T::from_f64(v)).collect()
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2<T: Element>(a: &[T], p: T) -> Vec<T> {
        // SAFETY: AVX2 and FMA are enabled here; the casts are identities (checked by type).
        unsafe {
            if size_of::<T>() == 4 {
                let r = apply::<Avx2>(std::slice::from_raw_parts(a.as_ptr().cast(), a.len()), p.cast());
                r.into_iter().map(|v| T::from_f64(v.into())).collect()
            } else {
                let r = apply::<Avx2F64>(std::slice::from_raw_parts(a.as_ptr().cast(), a.len()), p.cast());
                r.into_iter().map(|v| T::from_f64(v)).collect()
            }
        }
    }

    /// `power` on every instruction set this CPU has.
    fn on_every_isa<T: Element>(a: &[T], p: T) -> Vec<(Isa, Vec<T>)> {
        Isa::available()
            .into_iter()
            .map(|isa| {
                // SAFETY: `Isa::available` reported the instruction set.
                let got = match isa {
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 => unsafe { avx512(a, p) },
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2 => unsafe { avx2(a, p) },
                    _ => unsafe { apply::<Lanes<T, 8>>(a, p) },
                };
                (isa, got)
            })
            .collect()
    }

    /// Values from `lo` to `hi` spread evenly in their logarithm, with powers of two, their
    /// neighbours and √½·2^k (where `m` wraps around), 0 and 1.
    fn values<T: Element>(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> Vec<T> {
        let mut v: Vec<T> = (0..4000).map(|_| T::from_f64(2f64.powf(rng.random_range(lo.log2()..hi.log2())))).collect();
        let eps: f64 = T::epsilon().into();
        for k in lo.log2().ceil() as i32..hi.log2().floor() as i32 {
            let two = 2f64.powi(k);
            let root = Into::<f64>::into(T::from_f64(two * std::f64::consts::FRAC_1_SQRT_2));
            for (at, step) in [(two, eps / 2.0), (root, eps)] {
                v.extend([at, at * (1.0 + eps), at * (1.0 - step)].map(T::from_f64));
            }
        }
        v.extend([T::zero(), T::one()]);
        v
    }

    /// Every lane within the module's bound `(1.3·p + 3)·ε` (doubled) of `a^p` in f64, for
    /// exponents from 1e-3 to 60 and values across the range where the vector form applies.
    fn within_bound<T: Element>(span: f64) {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let eps = T::epsilon().into();
        for p in [1e-3, 0.1, 0.5, 1.0 / 3.0, 1.3, 1.5, 2.5, 2.71, 7.25, 33.3, 60.5] {
            let pt = T::from_f64(p);
            let pf: f64 = pt.into();
            // Values whose power stays inside the exponent limit, and some beyond it.
            let reach = (span / pf).min(span);
            let a = values::<T>(&mut rng, 2f64.powf(-reach), 2f64.powf(reach));
            for (isa, got) in on_every_isa(&a, pt) {
                for (&x, &g) in a.iter().zip(&got) {
                    let want = Into::<f64>::into(x).powf(pf);
                    if !T::from_f64(want).is_normal() && want != 0.0 {
                        // Beyond the type's normal range: the scalar power's lanes.
                        assert_eq!(g, metric::power(x, pt), "{isa:?}: {:e}^{pf}", Into::<f64>::into(x));
                        continue;
                    }
                    let g: f64 = g.into();
                    let bound = 2.0 * (1.3 * pf + 3.0) * eps * want;
                    assert!(
                        (g - want).abs() <= bound,
                        "{isa:?} {}: {:e}^{pf} = {g:e}, want {want:e} (error {:.2e} relative, bound {:.2e})",
                        std::any::type_name::<T>(),
                        Into::<f64>::into(x),
                        (g - want).abs() / want,
                        bound / want
                    );
                }
            }
        }
    }

    #[test]
    fn f32_powers_within_their_bound() {
        within_bound::<f32>(126.0);
    }

    #[test]
    fn f64_powers_within_their_bound() {
        within_bound::<f64>(1020.0);
    }

    /// Lanes the vector form leaves to the scalar power: they give what it gives, bit for bit,
    /// whichever lane of the vector they are in.
    #[test]
    fn special_lanes_as_the_scalar_power() {
        fn check<T: Element>() {
            // 0, ∞, NaN, a subnormal, and the largest number to a power beyond the exponent
            // limit.
            let cases = [
                (T::zero(), 0.5),
                (T::infinity(), 1.5),
                (T::nan(), 0.5),
                (T::min_positive_value() / T::from_f64(8.0), 1.5),
                (T::max_value(), 40.5),
                (T::max_value(), 1e-3),
            ];
            for (k, &(s, p)) in cases.iter().enumerate() {
                let pt = T::from_f64(p);
                {
                    // The special value among ordinary ones, in each lane position.
                    for at in 0..16 {
                        let mut a = vec![T::from_f64(1.25); 16];
                        a[at] = s;
                        for (isa, got) in on_every_isa(&a, pt) {
                            let want = metric::power(s, pt);
                            let same = got[at] == want || (got[at].is_nan() && want.is_nan());
                            assert!(same, "{isa:?}: special {k} ({s:?})^{p} = {:?}, want {want:?}", got[at]);
                            let rest: f64 = T::from_f64(1.25).into();
                            let rest = rest.powf(pt.into());
                            for (l, &g) in got.iter().enumerate().filter(|&(l, _)| l != at) {
                                let g: f64 = g.into();
                                assert!((g - rest).abs() <= 1e3 * T::epsilon().into() * rest, "{isa:?}: lane {l}");
                            }
                        }
                    }
                }
            }
        }
        check::<f32>();
        check::<f64>();
    }
}
