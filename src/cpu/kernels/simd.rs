//! The vector operations the micro-kernel is written in, one implementation per instruction set.
//!
//! Every method is `#[inline(always)]` and `unsafe`: the x86 ones may only run inside a function
//! compiled with the matching `#[target_feature]` (the entry points in `kernels.rs`, chosen by
//! runtime detection), and `load`/`store`/`bcast` read and write through raw pointers.

use crate::element::Element;

/// A vector of `W` lanes of `E`, with the handful of operations a distance kernel needs.
pub(super) trait Simd: Copy {
    /// The lane type.
    type E: Element;
    /// Lanes per vector.
    const W: usize;

    /// All lanes zero.
    unsafe fn zero() -> Self;
    /// Every lane 1 (a runtime value, so the compiler cannot fold `fma(a, 1, c)` into an add).
    unsafe fn one(v: Self::E) -> Self;
    /// `W` lanes from `p` (no alignment needed).
    unsafe fn load(p: *const Self::E) -> Self;
    /// `*p` in every lane.
    unsafe fn bcast(p: *const Self::E) -> Self;
    /// `a - b`.
    unsafe fn sub(a: Self, b: Self) -> Self;
    /// `a + b`.
    unsafe fn add(a: Self, b: Self) -> Self;
    /// `acc + d·d` (fused where the hardware has it).
    unsafe fn sq_acc(d: Self, acc: Self) -> Self;
    /// `a·b + c` (fused where the hardware has it).
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self;
    /// `acc + |d|·w`: with `w` = [`Simd::one`]`(1)`, `acc + |d|` issued on the FMA units; with
    /// weights, the weighted term.
    unsafe fn abs_acc(d: Self, w: Self, acc: Self) -> Self;
    /// `|d|` where it is larger than `acc`, else `acc`: a NaN `|d|` is passed over, as SciPy's
    /// chebyshev does (`if d > max: max = d`).
    unsafe fn abs_max(d: Self, acc: Self) -> Self;
    /// Lane-wise `b` where it is larger than `a`, else `a` (partial maxima, never NaN).
    unsafe fn max(a: Self, b: Self) -> Self;
    /// Lane-wise square root.
    unsafe fn sqrt(a: Self) -> Self;
    /// `a · b`.
    unsafe fn mul(a: Self, b: Self) -> Self;
    /// `|a|`.
    unsafe fn abs(a: Self) -> Self;
    /// `a / b`.
    unsafe fn div(a: Self, b: Self) -> Self;
    /// `c` where `a > c`, else `a` (a NaN `a` stays NaN).
    unsafe fn cap(a: Self, c: Self) -> Self;
    /// `one` where `a ≠ b` (NaN is unequal to everything), else 0.
    unsafe fn ne(a: Self, b: Self, one: Self) -> Self;
    /// `acc + w` where `a ≠ b`, else `acc` (hamming's weighted term, added).
    #[inline(always)]
    unsafe fn ne_acc(a: Self, b: Self, w: Self, acc: Self) -> Self {
        // SAFETY: forwarded.
        unsafe { Self::add(acc, Self::ne(a, b, w)) }
    }
    /// 0 where `d = 0`, else `v` (a NaN `d` keeps `v`).
    unsafe fn zero_where_zero(v: Self, d: Self) -> Self;
    /// `W` lanes to `p` (no alignment needed).
    unsafe fn store(p: *mut Self::E, v: Self);
    /// `W` lanes to `p`, bypassing the caches where the hardware can; `p` must be aligned to
    /// the vector's size. Ordered with later stores only after [`Simd::fence`].
    unsafe fn stream(p: *mut Self::E, v: Self) {
        // SAFETY: the caller's contract is a superset of `store`'s.
        unsafe { Self::store(p, v) }
    }
    /// Orders the [`Simd::stream`] stores before every later store.
    unsafe fn fence() {}
    /// Lane-wise `f(a, b)`, through memory: for the terms without a vector form of their own
    /// (Jensen–Shannon far from its series, the special values of a power), where LLVM
    /// vectorises `f` if it can.
    #[inline(always)]
    unsafe fn zip(a: Self, b: Self, f: impl Fn(Self::E, Self::E) -> Self::E) -> Self {
        const { assert!(Self::W <= MAX_LANES) };
        let mut la = [<Self::E as num_traits::Zero>::zero(); MAX_LANES];
        let mut lb = la;
        // SAFETY: both arrays hold `MAX_LANES >= W` lanes.
        unsafe {
            Self::store(la.as_mut_ptr(), a);
            Self::store(lb.as_mut_ptr(), b);
        }
        for (u, &v) in la.iter_mut().zip(&lb).take(Self::W) {
            *u = f(*u, v);
        }
        // SAFETY: as above.
        unsafe { Self::load(la.as_ptr()) }
    }
    /// `a^n` for `n ≥ 1` by repeated squaring: ⌊log₂ n⌋ + popcount(n) − 1 multiplications,
    /// each rounded once (minkowski's integer p, without a `powf` per lane).
    #[inline(always)]
    unsafe fn powi(a: Self, n: u32) -> Self {
        debug_assert!(n >= 1);
        // SAFETY: plain arithmetic on vectors (caller's contract for the instruction set).
        unsafe {
            let (mut base, mut e) = (a, n);
            while e & 1 == 0 {
                base = Self::mul(base, base);
                e >>= 1;
            }
            let mut result = base;
            e >>= 1;
            while e > 0 {
                base = Self::mul(base, base);
                if e & 1 == 1 {
                    result = Self::mul(result, base);
                }
                e >>= 1;
            }
            result
        }
    }
    /// Whether every lane is 0 or a normal number of the type (not ∞, NaN or subnormal).
    #[inline(always)]
    unsafe fn all_zero_or_normal(a: Self) -> bool {
        use num_traits::Float;
        let (tiny, huge) = (Self::E::min_positive_value(), Self::E::max_value());
        // SAFETY: forwarded.
        unsafe { Self::all(a, a, |v, _| v == <Self::E as num_traits::Zero>::zero() || (v >= tiny && v <= huge)) }
    }
    /// Each lane's [`root_estimate`] (any positive number or 0 for a lane of 0).
    #[inline(always)]
    unsafe fn root_estimate(a: Self, p: u32) -> Self {
        // SAFETY: forwarded.
        unsafe { Self::map(a, |v| Self::E::from_f64(root_estimate(v.into(), p))) }
    }
    /// Each lane `a = m·2^e` with `m ∈ [√½, √2)` (about) and `e` whole, for lanes that are 0
    /// (`m = 1`, `e = 0`) or positive normal numbers ([`power`](super::power)'s logarithm).
    #[inline(always)]
    unsafe fn split_exponent(a: Self) -> (Self, Self) {
        let (mut m, mut e) =
            ([<Self::E as num_traits::Zero>::zero(); MAX_LANES], [<Self::E as num_traits::Zero>::zero(); MAX_LANES]);
        // SAFETY: forwarded; the arrays hold `MAX_LANES >= W` lanes.
        unsafe {
            Self::store(m.as_mut_ptr(), a);
            for l in 0..Self::W {
                let (ml, el) = split_exponent(m[l].into());
                (m[l], e[l]) = (Self::E::from_f64(ml), Self::E::from_f64(el));
            }
            (Self::load(m.as_ptr()), Self::load(e.as_ptr()))
        }
    }
    /// `q·2^n` lane-wise for whole `n` with `|n|` at most [`exponent_limit`](super::power::exponent_limit)
    /// and `q` within a factor 2 of 1 (so the result is a normal number, exactly scaled).
    #[inline(always)]
    unsafe fn pow2(q: Self, n: Self) -> Self {
        // SAFETY: forwarded.
        unsafe { Self::zip(q, n, |q, n| Self::E::from_f64(q.into() * 2f64.powi(n.into() as i32))) }
    }
    /// Whether `|a| ≤ limit` in every lane (false for NaN).
    #[inline(always)]
    unsafe fn all_abs_at_most(a: Self, limit: Self) -> bool {
        // SAFETY: forwarded.
        unsafe { Self::all(a, limit, |a, l| num_traits::Float::abs(a) <= l) }
    }
    /// Whether every lane is above 0 (false for NaN).
    #[inline(always)]
    unsafe fn all_positive(a: Self) -> bool {
        // SAFETY: forwarded.
        unsafe { Self::all(a, a, |a, _| a > <Self::E as num_traits::Zero>::zero()) }
    }
    /// Whether every lane is at least 0 (−0 included; false for NaN).
    #[inline(always)]
    unsafe fn all_non_negative(a: Self) -> bool {
        // SAFETY: forwarded.
        unsafe { Self::all(a, a, |a, _| a >= <Self::E as num_traits::Zero>::zero()) }
    }
    /// Lane-wise `a` where `|t| ≤ limit`, else `b` (`b` for a NaN `t`).
    #[inline(always)]
    unsafe fn select_abs_at_most(t: Self, limit: Self, a: Self, b: Self) -> Self {
        let mut lt = [<Self::E as num_traits::Zero>::zero(); MAX_LANES];
        let (mut la, mut lb, mut ll) = (lt, lt, lt);
        // SAFETY: the arrays hold `MAX_LANES >= W` lanes.
        unsafe {
            Self::store(lt.as_mut_ptr(), t);
            Self::store(ll.as_mut_ptr(), limit);
            Self::store(la.as_mut_ptr(), a);
            Self::store(lb.as_mut_ptr(), b);
            for l in 0..Self::W {
                // Not `|t| ≤ limit` (a NaN t compares as neither).
                let within = num_traits::Float::abs(lt[l]).partial_cmp(&ll[l]).is_some_and(|o| o.is_le());
                if !within {
                    la[l] = lb[l];
                }
            }
            Self::load(la.as_ptr())
        }
    }
    /// Whether `f(a, b)` holds in every lane (through memory).
    #[inline(always)]
    unsafe fn all(a: Self, b: Self, f: impl Fn(Self::E, Self::E) -> bool) -> bool {
        let mut la = [<Self::E as num_traits::Zero>::zero(); MAX_LANES];
        let mut lb = la;
        // SAFETY: both arrays hold `MAX_LANES >= W` lanes.
        unsafe {
            Self::store(la.as_mut_ptr(), a);
            Self::store(lb.as_mut_ptr(), b);
        }
        la.iter().zip(&lb).take(Self::W).all(|(&u, &v)| f(u, v))
    }
    /// Lane-wise `f(a)`, through memory (the final steps without a vector form).
    #[inline(always)]
    unsafe fn map(a: Self, f: impl Fn(Self::E) -> Self::E) -> Self {
        // SAFETY: forwarded.
        unsafe { Self::zip(a, a, |u, _| f(u)) }
    }
}

/// A first guess at `s^(1/p)` for `s > 0` (a normal f64), within about 6 %: an f64's bits,
/// read as an integer, are close to an affine function of its base-2 logarithm, so a p-th of
/// the bits (plus the bits of 1 less a p-th of them) is close to the root's bits. The vector
/// forms ([`Simd::root_estimate`]) do the same with f32's bits, or f64's upper 32 bits.
#[inline(always)]
pub(super) fn root_estimate(s: f64, p: u32) -> f64 {
    let one = 1f64.to_bits();
    let p = u64::from(p);
    f64::from_bits(one - one / p + s.to_bits() / p)
}

/// The widest vector, in lanes (AVX-512 f32).
const MAX_LANES: usize = 16;

/// Portable lanes: plain arrays, which LLVM vectorises for whatever the build targets.
#[derive(Clone, Copy)]
pub(super) struct Lanes<T, const L: usize>([T; L]);

impl<T: Element, const L: usize> Simd for Lanes<T, L> {
    type E = T;
    const W: usize = L;

    #[inline(always)]
    unsafe fn zero() -> Self {
        Lanes([T::zero(); L])
    }
    #[inline(always)]
    unsafe fn one(v: T) -> Self {
        Lanes([v; L])
    }
    #[inline(always)]
    unsafe fn load(p: *const T) -> Self {
        // SAFETY: the caller guarantees `L` readable elements at `p`.
        Lanes(unsafe { p.cast::<[T; L]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn bcast(p: *const T) -> Self {
        // SAFETY: the caller guarantees `p` is readable.
        Lanes([unsafe { *p }; L])
    }
    #[inline(always)]
    unsafe fn sub(a: Self, b: Self) -> Self {
        Lanes(std::array::from_fn(|l| a.0[l] - b.0[l]))
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        Lanes(std::array::from_fn(|l| a.0[l] + b.0[l]))
    }
    #[inline(always)]
    unsafe fn sq_acc(d: Self, acc: Self) -> Self {
        Lanes(std::array::from_fn(|l| acc.0[l] + d.0[l] * d.0[l]))
    }
    #[inline(always)]
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
        Lanes(std::array::from_fn(|l| a.0[l] * b.0[l] + c.0[l]))
    }
    #[inline(always)]
    unsafe fn abs_acc(d: Self, w: Self, acc: Self) -> Self {
        Lanes(std::array::from_fn(|l| acc.0[l] + d.0[l].abs() * w.0[l]))
    }
    #[inline(always)]
    unsafe fn abs_max(d: Self, acc: Self) -> Self {
        Lanes(std::array::from_fn(|l| if d.0[l].abs() > acc.0[l] { d.0[l].abs() } else { acc.0[l] }))
    }
    #[inline(always)]
    unsafe fn max(a: Self, b: Self) -> Self {
        Lanes(std::array::from_fn(|l| if b.0[l] > a.0[l] { b.0[l] } else { a.0[l] }))
    }
    #[inline(always)]
    unsafe fn sqrt(a: Self) -> Self {
        Lanes(a.0.map(T::sqrt))
    }
    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        Lanes(std::array::from_fn(|l| a.0[l] * b.0[l]))
    }
    #[inline(always)]
    unsafe fn abs(a: Self) -> Self {
        Lanes(a.0.map(T::abs))
    }
    #[inline(always)]
    unsafe fn div(a: Self, b: Self) -> Self {
        Lanes(std::array::from_fn(|l| a.0[l] / b.0[l]))
    }
    #[inline(always)]
    unsafe fn cap(a: Self, c: Self) -> Self {
        Lanes(std::array::from_fn(|l| if a.0[l] > c.0[l] { c.0[l] } else { a.0[l] }))
    }
    #[inline(always)]
    unsafe fn ne(a: Self, b: Self, one: Self) -> Self {
        Lanes(std::array::from_fn(|l| if a.0[l] != b.0[l] { one.0[l] } else { T::zero() }))
    }
    #[inline(always)]
    unsafe fn zero_where_zero(v: Self, d: Self) -> Self {
        Lanes(std::array::from_fn(|l| if d.0[l] == T::zero() { T::zero() } else { v.0[l] }))
    }
    #[inline(always)]
    unsafe fn store(p: *mut T, v: Self) {
        // SAFETY: the caller guarantees `L` writable elements at `p`.
        unsafe { p.cast::<[T; L]>().write_unaligned(v.0) }
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) use x86::{Avx2, Avx2F64, Avx512, Avx512F64};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Simd;

    /// The bits of √½ (rounded), where [`Simd::split_exponent`]'s `m` starts.
    const SQRT_HALF_F32: i32 = std::f32::consts::FRAC_1_SQRT_2.to_bits() as i32;
    const SQRT_HALF_F64: i64 = std::f64::consts::FRAC_1_SQRT_2.to_bits() as i64;

    /// 16 f32 lanes in one AVX-512 register.
    #[derive(Clone, Copy)]
    pub(in crate::cpu::kernels) struct Avx512(__m512);

    impl Simd for Avx512 {
        type E = f32;
        const W: usize = 16;

        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: only called inside functions compiled with AVX-512F (caller's contract).
            Avx512(unsafe { _mm512_setzero_ps() })
        }
        #[inline(always)]
        unsafe fn one(v: f32) -> Self {
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_set1_ps(v) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: AVX-512F is enabled and 16 floats are readable at `p` (caller's contract).
            Avx512(unsafe { _mm512_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn bcast(p: *const f32) -> Self {
            // SAFETY: AVX-512F is enabled and `p` is readable (caller's contract).
            Avx512(unsafe { _mm512_set1_ps(*p) })
        }
        #[inline(always)]
        unsafe fn sub(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_sub_ps(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_add_ps(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn sq_acc(d: Self, acc: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_fmadd_ps(d.0, d.0, acc.0) })
        }
        #[inline(always)]
        unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_fmadd_ps(a.0, b.0, c.0) })
        }
        #[inline(always)]
        unsafe fn abs_acc(d: Self, w: Self, acc: Self) -> Self {
            // |d|·1 + acc rounds exactly like |d| + acc, and runs on the FMA ports, leaving the
            // add ports to the subtraction (two FMA and two add pipes on Zen 4).
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_fmadd_ps(_mm512_abs_ps(d.0), w.0, acc.0) })
        }
        #[inline(always)]
        unsafe fn abs_max(d: Self, acc: Self) -> Self {
            // maxps returns its second operand when either is NaN: acc, so a NaN |d| is passed over.
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_max_ps(_mm512_abs_ps(d.0), acc.0) })
        }
        #[inline(always)]
        unsafe fn max(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_max_ps(b.0, a.0) })
        }
        #[inline(always)]
        unsafe fn sqrt(a: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_sqrt_ps(a.0) })
        }
        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_mul_ps(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn abs(a: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_abs_ps(a.0) })
        }
        #[inline(always)]
        unsafe fn div(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_div_ps(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn cap(a: Self, c: Self) -> Self {
            // minps returns its second operand when either is NaN: a NaN `a` stays.
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_min_ps(c.0, a.0) })
        }
        #[inline(always)]
        unsafe fn ne(a: Self, b: Self, one: Self) -> Self {
            // Unordered not-equal: true for NaN.
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(a.0, b.0), one.0) })
        }
        #[inline(always)]
        unsafe fn ne_acc(a: Self, b: Self, w: Self, acc: Self) -> Self {
            // A compare into a mask and an add under it: two instructions per term where the
            // mask-move and the add took three.
            // SAFETY: as for `zero`.
            unsafe { Avx512(_mm512_mask_add_ps(acc.0, _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(a.0, b.0), acc.0, w.0)) }
        }
        #[inline(always)]
        unsafe fn zero_where_zero(v: Self, d: Self) -> Self {
            // SAFETY: as for `zero`.
            unsafe { Avx512(_mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(d.0, _mm512_setzero_ps()), v.0)) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: Self) {
            // SAFETY: AVX-512F is enabled and 16 floats are writable at `p` (caller's contract).
            unsafe { _mm512_storeu_ps(p, v.0) }
        }
        #[inline(always)]
        unsafe fn stream(p: *mut f32, v: Self) {
            debug_assert!((p as usize).is_multiple_of(64));
            // SAFETY: AVX-512F is enabled and 16 floats are writable at `p`, which is 64-byte
            // aligned (caller's contract).
            unsafe { _mm512_stream_ps(p, v.0) }
        }
        #[inline(always)]
        unsafe fn fence() {
            // SAFETY: SSE is part of x86-64.
            unsafe { _mm_sfence() }
        }
        #[inline(always)]
        unsafe fn all_zero_or_normal(a: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe {
                let normal = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(a.0, _mm512_set1_ps(f32::MIN_POSITIVE))
                    & _mm512_cmp_ps_mask::<_CMP_LE_OQ>(a.0, _mm512_set1_ps(f32::MAX));
                (normal | _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a.0, _mm512_setzero_ps())) == u16::MAX
            }
        }
        #[inline(always)]
        unsafe fn root_estimate(a: Self, p: u32) -> Self {
            // The bits of each (non-negative) lane as a float, a p-th of them plus the bits of
            // 1 less a p-th of them, rounded back to bits (see `super::root_estimate`).
            let (one, p) = (1f32.to_bits() as f32, p as f32);
            // SAFETY: as for `zero`.
            unsafe {
                let bits = _mm512_cvtepi32_ps(_mm512_castps_si512(a.0));
                let e = _mm512_fmadd_ps(bits, _mm512_set1_ps(1.0 / p), _mm512_set1_ps(one - one / p));
                Avx512(_mm512_castsi512_ps(_mm512_cvtps_epi32(e)))
            }
        }
        #[inline(always)]
        unsafe fn split_exponent(a: Self) -> (Self, Self) {
            // e = ⌊(bits − bits(√½)) / 2^23⌋ (arithmetic shift), m's bits = bits − e·2^23.
            // SAFETY: as for `zero`.
            unsafe {
                let bits = _mm512_castps_si512(a.0);
                let e = _mm512_srai_epi32::<23>(_mm512_sub_epi32(bits, _mm512_set1_epi32(SQRT_HALF_F32)));
                let m = _mm512_castsi512_ps(_mm512_sub_epi32(bits, _mm512_slli_epi32::<23>(e)));
                let zero = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a.0, _mm512_setzero_ps());
                (Avx512(_mm512_mask_mov_ps(m, zero, _mm512_set1_ps(1.0))), Avx512(_mm512_maskz_cvtepi32_ps(!zero, e)))
            }
        }
        #[inline(always)]
        unsafe fn pow2(q: Self, n: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512(unsafe { _mm512_scalef_ps(q.0, n.0) })
        }
        #[inline(always)]
        unsafe fn all_abs_at_most(a: Self, limit: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe { _mm512_cmp_ps_mask::<_CMP_LE_OQ>(_mm512_abs_ps(a.0), limit.0) == u16::MAX }
        }
        #[inline(always)]
        unsafe fn all_positive(a: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe { _mm512_cmp_ps_mask::<_CMP_GT_OQ>(a.0, _mm512_setzero_ps()) == u16::MAX }
        }
        #[inline(always)]
        unsafe fn all_non_negative(a: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe { _mm512_cmp_ps_mask::<_CMP_GE_OQ>(a.0, _mm512_setzero_ps()) == u16::MAX }
        }
        #[inline(always)]
        unsafe fn select_abs_at_most(t: Self, limit: Self, a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            unsafe {
                Avx512(_mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LE_OQ>(_mm512_abs_ps(t.0), limit.0), b.0, a.0))
            }
        }
    }

    /// 8 f32 lanes in one AVX2 register, with FMA.
    #[derive(Clone, Copy)]
    pub(in crate::cpu::kernels) struct Avx2(__m256);

    impl Simd for Avx2 {
        type E = f32;
        const W: usize = 8;

        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: only called inside functions compiled with AVX2 and FMA (caller's contract).
            Avx2(unsafe { _mm256_setzero_ps() })
        }
        #[inline(always)]
        unsafe fn one(v: f32) -> Self {
            // SAFETY: as for `zero`.
            Avx2(unsafe { _mm256_set1_ps(v) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: AVX is enabled and 8 floats are readable at `p` (caller's contract).
            Avx2(unsafe { _mm256_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn bcast(p: *const f32) -> Self {
            // SAFETY: AVX is enabled and `p` is readable (caller's contract).
            Avx2(unsafe { _mm256_set1_ps(*p) })
        }
        #[inline(always)]
        unsafe fn sub(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2(unsafe { _mm256_sub_ps(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2(unsafe { _mm256_add_ps(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn sq_acc(d: Self, acc: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2(unsafe { _mm256_fmadd_ps(d.0, d.0, acc.0) })
        }
        #[inline(always)]
        unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2(unsafe { _mm256_fmadd_ps(a.0, b.0, c.0) })
        }
        #[inline(always)]
        unsafe fn abs_acc(d: Self, w: Self, acc: Self) -> Self {
            // SAFETY: as for `zero`.
            unsafe {
                let abs = _mm256_andnot_ps(_mm256_set1_ps(-0.0), d.0);
                Avx2(_mm256_fmadd_ps(abs, w.0, acc.0))
            }
        }
        #[inline(always)]
        unsafe fn abs_max(d: Self, acc: Self) -> Self {
            // maxps returns its second operand when either is NaN: acc, so a NaN |d| is passed over.
            // SAFETY: as for `zero`.
            unsafe { Avx2(_mm256_max_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0), d.0), acc.0)) }
        }
        #[inline(always)]
        unsafe fn max(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2(unsafe { _mm256_max_ps(b.0, a.0) })
        }
        #[inline(always)]
        unsafe fn sqrt(a: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2(unsafe { _mm256_sqrt_ps(a.0) })
        }
        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2(unsafe { _mm256_mul_ps(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn abs(a: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2(unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), a.0) })
        }
        #[inline(always)]
        unsafe fn div(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2(unsafe { _mm256_div_ps(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn cap(a: Self, c: Self) -> Self {
            // minps returns its second operand when either is NaN: a NaN `a` stays.
            // SAFETY: as for `zero`.
            Avx2(unsafe { _mm256_min_ps(c.0, a.0) })
        }
        #[inline(always)]
        unsafe fn ne(a: Self, b: Self, one: Self) -> Self {
            // Unordered not-equal: all ones for NaN lanes too.
            // SAFETY: as for `zero`.
            Avx2(unsafe { _mm256_and_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(a.0, b.0), one.0) })
        }
        #[inline(always)]
        unsafe fn zero_where_zero(v: Self, d: Self) -> Self {
            // SAFETY: as for `zero`.
            unsafe { Avx2(_mm256_and_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(d.0, _mm256_setzero_ps()), v.0)) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: Self) {
            // SAFETY: AVX is enabled and 8 floats are writable at `p` (caller's contract).
            unsafe { _mm256_storeu_ps(p, v.0) }
        }
        #[inline(always)]
        unsafe fn stream(p: *mut f32, v: Self) {
            debug_assert!((p as usize).is_multiple_of(32));
            // SAFETY: AVX is enabled and 8 floats are writable at `p`, which is 32-byte aligned
            // (caller's contract).
            unsafe { _mm256_stream_ps(p, v.0) }
        }
        #[inline(always)]
        unsafe fn fence() {
            // SAFETY: SSE is part of x86-64.
            unsafe { _mm_sfence() }
        }
        #[inline(always)]
        unsafe fn all_zero_or_normal(a: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe {
                let normal = _mm256_and_ps(
                    _mm256_cmp_ps::<_CMP_GE_OQ>(a.0, _mm256_set1_ps(f32::MIN_POSITIVE)),
                    _mm256_cmp_ps::<_CMP_LE_OQ>(a.0, _mm256_set1_ps(f32::MAX)),
                );
                let ok = _mm256_or_ps(normal, _mm256_cmp_ps::<_CMP_EQ_OQ>(a.0, _mm256_setzero_ps()));
                _mm256_movemask_ps(ok) == 0xFF
            }
        }
        #[inline(always)]
        unsafe fn root_estimate(a: Self, p: u32) -> Self {
            // As `Avx512::root_estimate`.
            let (one, p) = (1f32.to_bits() as f32, p as f32);
            // SAFETY: as for `zero`.
            unsafe {
                let bits = _mm256_cvtepi32_ps(_mm256_castps_si256(a.0));
                let e = _mm256_fmadd_ps(bits, _mm256_set1_ps(1.0 / p), _mm256_set1_ps(one - one / p));
                Avx2(_mm256_castsi256_ps(_mm256_cvtps_epi32(e)))
            }
        }
        #[inline(always)]
        unsafe fn split_exponent(a: Self) -> (Self, Self) {
            // As `Avx512::split_exponent`.
            // SAFETY: as for `zero`.
            unsafe {
                let bits = _mm256_castps_si256(a.0);
                let e = _mm256_srai_epi32::<23>(_mm256_sub_epi32(bits, _mm256_set1_epi32(SQRT_HALF_F32)));
                let m = _mm256_castsi256_ps(_mm256_sub_epi32(bits, _mm256_slli_epi32::<23>(e)));
                let zero = _mm256_cmp_ps::<_CMP_EQ_OQ>(a.0, _mm256_setzero_ps());
                (
                    Avx2(_mm256_blendv_ps(m, _mm256_set1_ps(1.0), zero)),
                    Avx2(_mm256_andnot_ps(zero, _mm256_cvtepi32_ps(e))),
                )
            }
        }
        #[inline(always)]
        unsafe fn pow2(q: Self, n: Self) -> Self {
            // 2^n's bits are (n + 127)·2^23 for the whole n of the contract.
            // SAFETY: as for `zero`.
            unsafe {
                let biased = _mm256_add_epi32(_mm256_cvtps_epi32(n.0), _mm256_set1_epi32(127));
                Avx2(_mm256_mul_ps(q.0, _mm256_castsi256_ps(_mm256_slli_epi32::<23>(biased))))
            }
        }
        #[inline(always)]
        unsafe fn all_abs_at_most(a: Self, limit: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe { _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(Self::abs(a).0, limit.0)) == 0xFF }
        }
        #[inline(always)]
        unsafe fn all_positive(a: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe { _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(a.0, _mm256_setzero_ps())) == 0xFF }
        }
        #[inline(always)]
        unsafe fn all_non_negative(a: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe { _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GE_OQ>(a.0, _mm256_setzero_ps())) == 0xFF }
        }
        #[inline(always)]
        unsafe fn select_abs_at_most(t: Self, limit: Self, a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            unsafe { Avx2(_mm256_blendv_ps(b.0, a.0, _mm256_cmp_ps::<_CMP_LE_OQ>(Self::abs(t).0, limit.0))) }
        }
    }

    /// 8 f64 lanes in one AVX-512 register.
    #[derive(Clone, Copy)]
    pub(in crate::cpu::kernels) struct Avx512F64(__m512d);

    impl Simd for Avx512F64 {
        type E = f64;
        const W: usize = 8;

        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: only called inside functions compiled with AVX-512F (caller's contract).
            Avx512F64(unsafe { _mm512_setzero_pd() })
        }
        #[inline(always)]
        unsafe fn one(v: f64) -> Self {
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_set1_pd(v) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> Self {
            // SAFETY: AVX-512F is enabled and 8 doubles are readable at `p` (caller's contract).
            Avx512F64(unsafe { _mm512_loadu_pd(p) })
        }
        #[inline(always)]
        unsafe fn bcast(p: *const f64) -> Self {
            // SAFETY: AVX-512F is enabled and `p` is readable (caller's contract).
            Avx512F64(unsafe { _mm512_set1_pd(*p) })
        }
        #[inline(always)]
        unsafe fn sub(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_sub_pd(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_add_pd(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn sq_acc(d: Self, acc: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_fmadd_pd(d.0, d.0, acc.0) })
        }
        #[inline(always)]
        unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_fmadd_pd(a.0, b.0, c.0) })
        }
        #[inline(always)]
        unsafe fn abs_acc(d: Self, w: Self, acc: Self) -> Self {
            // On the FMA ports, as for f32 (see `Avx512::abs_acc`).
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_fmadd_pd(_mm512_abs_pd(d.0), w.0, acc.0) })
        }
        #[inline(always)]
        unsafe fn abs_max(d: Self, acc: Self) -> Self {
            // maxpd returns its second operand when either is NaN: acc, so a NaN |d| is passed over.
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_max_pd(_mm512_abs_pd(d.0), acc.0) })
        }
        #[inline(always)]
        unsafe fn max(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_max_pd(b.0, a.0) })
        }
        #[inline(always)]
        unsafe fn sqrt(a: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_sqrt_pd(a.0) })
        }
        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_mul_pd(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn abs(a: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_abs_pd(a.0) })
        }
        #[inline(always)]
        unsafe fn div(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_div_pd(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn cap(a: Self, c: Self) -> Self {
            // minpd returns its second operand when either is NaN: a NaN `a` stays.
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_min_pd(c.0, a.0) })
        }
        #[inline(always)]
        unsafe fn ne(a: Self, b: Self, one: Self) -> Self {
            // Unordered not-equal: true for NaN.
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_maskz_mov_pd(_mm512_cmp_pd_mask::<_CMP_NEQ_UQ>(a.0, b.0), one.0) })
        }
        #[inline(always)]
        unsafe fn ne_acc(a: Self, b: Self, w: Self, acc: Self) -> Self {
            // As `Avx512::ne_acc`.
            // SAFETY: as for `zero`.
            unsafe { Avx512F64(_mm512_mask_add_pd(acc.0, _mm512_cmp_pd_mask::<_CMP_NEQ_UQ>(a.0, b.0), acc.0, w.0)) }
        }
        #[inline(always)]
        unsafe fn zero_where_zero(v: Self, d: Self) -> Self {
            // SAFETY: as for `zero`.
            unsafe { Avx512F64(_mm512_maskz_mov_pd(_mm512_cmp_pd_mask::<_CMP_NEQ_UQ>(d.0, _mm512_setzero_pd()), v.0)) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f64, v: Self) {
            // SAFETY: AVX-512F is enabled and 8 doubles are writable at `p` (caller's contract).
            unsafe { _mm512_storeu_pd(p, v.0) }
        }
        #[inline(always)]
        unsafe fn stream(p: *mut f64, v: Self) {
            debug_assert!((p as usize).is_multiple_of(64));
            // SAFETY: AVX-512F is enabled and 8 doubles are writable at `p`, which is 64-byte
            // aligned (caller's contract).
            unsafe { _mm512_stream_pd(p, v.0) }
        }
        #[inline(always)]
        unsafe fn fence() {
            // SAFETY: SSE is part of x86-64.
            unsafe { _mm_sfence() }
        }
        #[inline(always)]
        unsafe fn all_zero_or_normal(a: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe {
                let normal = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(a.0, _mm512_set1_pd(f64::MIN_POSITIVE))
                    & _mm512_cmp_pd_mask::<_CMP_LE_OQ>(a.0, _mm512_set1_pd(f64::MAX));
                (normal | _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(a.0, _mm512_setzero_pd())) == u8::MAX
            }
        }
        #[inline(always)]
        unsafe fn root_estimate(a: Self, p: u32) -> Self {
            // `super::root_estimate` on the upper 32 bits of each lane (sign, exponent and 20
            // bits of mantissa), converted to and from f64 exactly by adding 2^52.
            let (one, p) = ((1f64.to_bits() >> 32) as f64, f64::from(p));
            // SAFETY: as for `zero`.
            unsafe {
                let magic = _mm512_set1_pd(4503599627370496.0); // 2^52
                let high = _mm512_srli_epi64::<32>(_mm512_castpd_si512(a.0));
                let bits = _mm512_sub_pd(_mm512_castsi512_pd(_mm512_or_si512(high, _mm512_castpd_si512(magic))), magic);
                let e = _mm512_fmadd_pd(bits, _mm512_set1_pd(1.0 / p), _mm512_set1_pd(one - one / p));
                // e + 2^52 rounds e to an integer, held in its low 32 bits; shifted up, the root's.
                let rounded = _mm512_castpd_si512(_mm512_add_pd(e, magic));
                Avx512F64(_mm512_castsi512_pd(_mm512_slli_epi64::<32>(rounded)))
            }
        }
        #[inline(always)]
        unsafe fn split_exponent(a: Self) -> (Self, Self) {
            // As `Avx512::split_exponent`, with 52 bits of mantissa; e (at most 11 bits and a
            // sign) converted through its low 32 bits.
            // SAFETY: as for `zero`.
            unsafe {
                let bits = _mm512_castpd_si512(a.0);
                let e = _mm512_srai_epi64::<52>(_mm512_sub_epi64(bits, _mm512_set1_epi64(SQRT_HALF_F64)));
                let m = _mm512_castsi512_pd(_mm512_sub_epi64(bits, _mm512_slli_epi64::<52>(e)));
                let zero = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(a.0, _mm512_setzero_pd());
                let e = _mm512_maskz_mov_pd(!zero, _mm512_cvtepi32_pd(_mm512_cvtepi64_epi32(e)));
                (Avx512F64(_mm512_mask_mov_pd(m, zero, _mm512_set1_pd(1.0))), Avx512F64(e))
            }
        }
        #[inline(always)]
        unsafe fn pow2(q: Self, n: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx512F64(unsafe { _mm512_scalef_pd(q.0, n.0) })
        }
        #[inline(always)]
        unsafe fn all_abs_at_most(a: Self, limit: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe { _mm512_cmp_pd_mask::<_CMP_LE_OQ>(_mm512_abs_pd(a.0), limit.0) == u8::MAX }
        }
        #[inline(always)]
        unsafe fn all_positive(a: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe { _mm512_cmp_pd_mask::<_CMP_GT_OQ>(a.0, _mm512_setzero_pd()) == u8::MAX }
        }
        #[inline(always)]
        unsafe fn all_non_negative(a: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe { _mm512_cmp_pd_mask::<_CMP_GE_OQ>(a.0, _mm512_setzero_pd()) == u8::MAX }
        }
        #[inline(always)]
        unsafe fn select_abs_at_most(t: Self, limit: Self, a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            unsafe {
                Avx512F64(_mm512_mask_blend_pd(_mm512_cmp_pd_mask::<_CMP_LE_OQ>(_mm512_abs_pd(t.0), limit.0), b.0, a.0))
            }
        }
    }

    /// 4 f64 lanes in one AVX2 register, with FMA.
    #[derive(Clone, Copy)]
    pub(in crate::cpu::kernels) struct Avx2F64(__m256d);

    impl Simd for Avx2F64 {
        type E = f64;
        const W: usize = 4;

        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: only called inside functions compiled with AVX2 and FMA (caller's contract).
            Avx2F64(unsafe { _mm256_setzero_pd() })
        }
        #[inline(always)]
        unsafe fn one(v: f64) -> Self {
            // SAFETY: as for `zero`.
            Avx2F64(unsafe { _mm256_set1_pd(v) })
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> Self {
            // SAFETY: AVX is enabled and 4 doubles are readable at `p` (caller's contract).
            Avx2F64(unsafe { _mm256_loadu_pd(p) })
        }
        #[inline(always)]
        unsafe fn bcast(p: *const f64) -> Self {
            // SAFETY: AVX is enabled and `p` is readable (caller's contract).
            Avx2F64(unsafe { _mm256_set1_pd(*p) })
        }
        #[inline(always)]
        unsafe fn sub(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2F64(unsafe { _mm256_sub_pd(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2F64(unsafe { _mm256_add_pd(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn sq_acc(d: Self, acc: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2F64(unsafe { _mm256_fmadd_pd(d.0, d.0, acc.0) })
        }
        #[inline(always)]
        unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2F64(unsafe { _mm256_fmadd_pd(a.0, b.0, c.0) })
        }
        #[inline(always)]
        unsafe fn abs_acc(d: Self, w: Self, acc: Self) -> Self {
            // SAFETY: as for `zero`.
            unsafe {
                let abs = _mm256_andnot_pd(_mm256_set1_pd(-0.0), d.0);
                Avx2F64(_mm256_fmadd_pd(abs, w.0, acc.0))
            }
        }
        #[inline(always)]
        unsafe fn abs_max(d: Self, acc: Self) -> Self {
            // maxpd returns its second operand when either is NaN: acc, so a NaN |d| is passed over.
            // SAFETY: as for `zero`.
            unsafe { Avx2F64(_mm256_max_pd(_mm256_andnot_pd(_mm256_set1_pd(-0.0), d.0), acc.0)) }
        }
        #[inline(always)]
        unsafe fn max(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2F64(unsafe { _mm256_max_pd(b.0, a.0) })
        }
        #[inline(always)]
        unsafe fn sqrt(a: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2F64(unsafe { _mm256_sqrt_pd(a.0) })
        }
        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2F64(unsafe { _mm256_mul_pd(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn abs(a: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2F64(unsafe { _mm256_andnot_pd(_mm256_set1_pd(-0.0), a.0) })
        }
        #[inline(always)]
        unsafe fn div(a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            Avx2F64(unsafe { _mm256_div_pd(a.0, b.0) })
        }
        #[inline(always)]
        unsafe fn cap(a: Self, c: Self) -> Self {
            // minpd returns its second operand when either is NaN: a NaN `a` stays.
            // SAFETY: as for `zero`.
            Avx2F64(unsafe { _mm256_min_pd(c.0, a.0) })
        }
        #[inline(always)]
        unsafe fn ne(a: Self, b: Self, one: Self) -> Self {
            // Unordered not-equal: all ones for NaN lanes too.
            // SAFETY: as for `zero`.
            Avx2F64(unsafe { _mm256_and_pd(_mm256_cmp_pd::<_CMP_NEQ_UQ>(a.0, b.0), one.0) })
        }
        #[inline(always)]
        unsafe fn zero_where_zero(v: Self, d: Self) -> Self {
            // SAFETY: as for `zero`.
            unsafe { Avx2F64(_mm256_and_pd(_mm256_cmp_pd::<_CMP_NEQ_UQ>(d.0, _mm256_setzero_pd()), v.0)) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f64, v: Self) {
            // SAFETY: AVX is enabled and 4 doubles are writable at `p` (caller's contract).
            unsafe { _mm256_storeu_pd(p, v.0) }
        }
        #[inline(always)]
        unsafe fn stream(p: *mut f64, v: Self) {
            debug_assert!((p as usize).is_multiple_of(32));
            // SAFETY: AVX is enabled and 4 doubles are writable at `p`, which is 32-byte aligned
            // (caller's contract).
            unsafe { _mm256_stream_pd(p, v.0) }
        }
        #[inline(always)]
        unsafe fn fence() {
            // SAFETY: SSE is part of x86-64.
            unsafe { _mm_sfence() }
        }
        #[inline(always)]
        unsafe fn all_zero_or_normal(a: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe {
                let normal = _mm256_and_pd(
                    _mm256_cmp_pd::<_CMP_GE_OQ>(a.0, _mm256_set1_pd(f64::MIN_POSITIVE)),
                    _mm256_cmp_pd::<_CMP_LE_OQ>(a.0, _mm256_set1_pd(f64::MAX)),
                );
                let ok = _mm256_or_pd(normal, _mm256_cmp_pd::<_CMP_EQ_OQ>(a.0, _mm256_setzero_pd()));
                _mm256_movemask_pd(ok) == 0xF
            }
        }
        #[inline(always)]
        unsafe fn root_estimate(a: Self, p: u32) -> Self {
            // As `Avx512F64::root_estimate`.
            let (one, p) = ((1f64.to_bits() >> 32) as f64, f64::from(p));
            // SAFETY: as for `zero`.
            unsafe {
                let magic = _mm256_set1_pd(4503599627370496.0); // 2^52
                let high = _mm256_srli_epi64::<32>(_mm256_castpd_si256(a.0));
                let bits = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(high, _mm256_castpd_si256(magic))), magic);
                let e = _mm256_fmadd_pd(bits, _mm256_set1_pd(1.0 / p), _mm256_set1_pd(one - one / p));
                let rounded = _mm256_castpd_si256(_mm256_add_pd(e, magic));
                Avx2F64(_mm256_castsi256_pd(_mm256_slli_epi64::<32>(rounded)))
            }
        }
        #[inline(always)]
        unsafe fn split_exponent(a: Self) -> (Self, Self) {
            // AVX2 has no arithmetic 64-bit shift: e + 1023 = (bits − bits(√½) + 1023·2^52) / 2^52
            // is never negative, so a logical shift takes it; it becomes an f64 exactly in
            // 2^52's mantissa.
            // SAFETY: as for `zero`.
            unsafe {
                let bits = _mm256_castpd_si256(a.0);
                let bias = _mm256_set1_epi64x(1023 << 52);
                let biased = _mm256_srli_epi64::<52>(_mm256_add_epi64(
                    _mm256_sub_epi64(bits, _mm256_set1_epi64x(SQRT_HALF_F64)),
                    bias,
                ));
                let m = _mm256_castsi256_pd(_mm256_add_epi64(
                    _mm256_sub_epi64(bits, _mm256_slli_epi64::<52>(biased)),
                    bias,
                ));
                let magic = _mm256_set1_pd(4503599627370496.0); // 2^52
                let e = _mm256_sub_pd(
                    _mm256_castsi256_pd(_mm256_or_si256(biased, _mm256_castpd_si256(magic))),
                    _mm256_set1_pd(4503599627370496.0 + 1023.0),
                );
                let zero = _mm256_cmp_pd::<_CMP_EQ_OQ>(a.0, _mm256_setzero_pd());
                (Avx2F64(_mm256_blendv_pd(m, _mm256_set1_pd(1.0), zero)), Avx2F64(_mm256_andnot_pd(zero, e)))
            }
        }
        #[inline(always)]
        unsafe fn pow2(q: Self, n: Self) -> Self {
            // n + 2^52 + 1023 holds n + 1023 in its low bits; shifted up 52, 2^n's bits.
            // SAFETY: as for `zero`.
            unsafe {
                let biased = _mm256_castpd_si256(_mm256_add_pd(n.0, _mm256_set1_pd(4503599627370496.0 + 1023.0)));
                Avx2F64(_mm256_mul_pd(q.0, _mm256_castsi256_pd(_mm256_slli_epi64::<52>(biased))))
            }
        }
        #[inline(always)]
        unsafe fn all_abs_at_most(a: Self, limit: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe { _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_LE_OQ>(Self::abs(a).0, limit.0)) == 0xF }
        }
        #[inline(always)]
        unsafe fn all_positive(a: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe { _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(a.0, _mm256_setzero_pd())) == 0xF }
        }
        #[inline(always)]
        unsafe fn all_non_negative(a: Self) -> bool {
            // SAFETY: as for `zero`.
            unsafe { _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_GE_OQ>(a.0, _mm256_setzero_pd())) == 0xF }
        }
        #[inline(always)]
        unsafe fn select_abs_at_most(t: Self, limit: Self, a: Self, b: Self) -> Self {
            // SAFETY: as for `zero`.
            unsafe { Avx2F64(_mm256_blendv_pd(b.0, a.0, _mm256_cmp_pd::<_CMP_LE_OQ>(Self::abs(t).0, limit.0))) }
        }
    }
}

/// `a = m·2^e` with `m ∈ [√½, √2)` and `e` whole, in f64 (exact for every f32 and f64 that is
/// positive and normal); `(1, 0)` for 0. The portable lanes' [`Simd::split_exponent`].
fn split_exponent(a: f64) -> (f64, f64) {
    if a == 0.0 {
        return (1.0, 0.0);
    }
    let bits = a.to_bits() as i64;
    let e = (bits - std::f64::consts::FRAC_1_SQRT_2.to_bits() as i64) >> 52;
    (f64::from_bits((bits - (e << 52)) as u64), e as f64)
}
