//! The CPU kernels: blocks of outputs from contiguous rows of X and a packed copy of Y.
//!
//! Vectorised across output columns, the way a GEMM micro-kernel is: Y is packed once into
//! k-major panels of `nr` columns (2 or 4 vectors), and a register block of `MR` rows × those
//! vectors of accumulators is kept for a whole pass over `d`. For each dimension `k` the
//! vectors of `Y[·][k]` are loaded once and feed every row, each row broadcasting its `x[i][k]`:
//! a subtraction and a fused multiply-add per vector (sqeuclidean), or a subtraction, an
//! absolute value and an add (cityblock). Differences are always taken first, as in
//! [`Metric::term`]; `y − x` squares and takes `|·|` to exactly the same values as `x − y`.
//! Powers of a fractional p and Jensen–Shannon's logarithms have vector forms too (`power`),
//! so no term takes a scalar function per lane except at special values.
//!
//! The final step runs on the register block before it is stored: a square root, a mean, a
//! vectorised whole root (minkowski), or the division by a ratio's denominators (braycurtis,
//! jaccard: [`block_divided`]), so every output is written once.
//!
//! The instruction set is chosen at run time ([`Isa::detect`]): AVX-512F, AVX2 + FMA, or a
//! portable path of plain arrays that LLVM vectorises for the build target (also aarch64). f64
//! has its own AVX-512 and AVX2 vector types, in the same register blocks with half the lanes.

mod power;
mod simd;

use std::any::TypeId;
use std::ops::Range;
use std::sync::OnceLock;

use ndarray::{ArrayView2, ArrayViewMut2};
use rayon::prelude::*;

use crate::element::Element;

use crate::metric::{self, Denominator, Finalize, Merge, Metric, Term};
use crate::weights::KernelWeights;
#[cfg(target_arch = "x86_64")]
use simd::{Avx2, Avx2F64, Avx512, Avx512F64};
use simd::{Lanes, Simd};

/// A kernel family, by instruction set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    /// AVX-512F: 6 rows × 4 vectors of accumulators (24 of the 32 registers): 64 columns of
    /// f32, 32 of f64.
    #[cfg_attr(not(target_arch = "x86_64"), expect(dead_code, reason = "x86-64 only"))]
    Avx512,
    /// AVX2 and FMA: 4 rows × 2 vectors: 16 columns of f32, 8 of f64.
    #[cfg_attr(not(target_arch = "x86_64"), expect(dead_code, reason = "x86-64 only"))]
    Avx2,
    /// Plain arrays, vectorised by the compiler for the build target.
    Portable,
}

impl Isa {
    /// The best kernel family this CPU runs, detected once.
    pub(crate) fn detect() -> Isa {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| {
            let isa = Isa::available()[0];
            log::debug!("CPU kernels: {isa:?}");
            isa
        })
    }

    /// Every kernel family this CPU runs, best first (the portable one always last).
    pub(crate) fn available() -> Vec<Isa> {
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                all.push(Isa::Avx512);
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                all.push(Isa::Avx2);
            }
        }
        all.push(Isa::Portable);
        all
    }

    /// Output rows kept in registers (rows of X per micro-kernel call).
    pub(crate) fn mr(self) -> usize {
        match self {
            Isa::Avx512 => 6,
            _ => 4,
        }
    }

    /// Columns per packed panel of Y (output columns per micro-kernel call).
    pub(crate) fn nr<T: 'static>(self) -> usize {
        match (self, is::<T, f32>()) {
            (Isa::Avx512, true) => 64,
            (Isa::Avx512, false) => 32,
            (_, true) => 16,
            (_, false) => 8,
        }
    }
}

fn is<T: 'static, U: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<U>()
}

/// Y packed for one kernel family: panels of `nr` consecutive rows of Y, each stored k-major
/// (`panel[k·nr + c] = y[p·nr + c − shift][k]`), padded with zeros before the first row and
/// after the last. Built once per call and shared by all threads.
///
/// The `shift` moves the panel boundaries so that, in an output whose rows are 64-byte
/// aligned up to a common offset, every full panel's stores are aligned (see
/// [`stream_shift`]); it is 0 otherwise.
pub(crate) struct PackedY<T> {
    buf: Vec<T>,
    /// Elements skipped at the start of `buf` so that panels start on a 64-byte boundary.
    off: usize,
    m: usize,
    d: usize,
    shift: usize,
    isa: Isa,
    /// A ratio's denominator and the sums of Y's rows, laid out as the packed columns (0 in
    /// the padding): see [`PackedY::with_ratio`].
    divide: Option<(Denominator, Vec<T>)>,
}

impl<T: Element> PackedY<T> {
    /// Packs the rows of `y` (any layout) for `isa`, after `shift` (`< nr`) zero columns, on
    /// all cores.
    pub(crate) fn new(y: ArrayView2<T>, isa: Isa, shift: usize) -> Self {
        let (m, d) = y.dim();
        let nr = isa.nr::<T>();
        assert!(shift < nr, "shift {shift} must be below the panel width {nr}");
        let len = (m + shift).div_ceil(nr) * nr * d;
        let spare = 64 / size_of::<T>();
        let mut buf = vec![T::zero(); len + spare];
        let off = match buf.as_ptr().align_offset(64) {
            o if o <= spare => o,
            _ => 0,
        };
        if len > 0 {
            buf[off..off + len].par_chunks_mut(nr * d).enumerate().for_each(|(p, panel)| {
                for c in 0..nr {
                    let Some(j) = (p * nr + c).checked_sub(shift).filter(|&j| j < m) else {
                        continue;
                    };
                    for (k, &v) in y.row(j).iter().enumerate() {
                        panel[k * nr + c] = v;
                    }
                }
            });
        }
        PackedY { buf, off, m, d, shift, isa, divide: None }
    }

    /// This packing with a ratio's `denominator` and the sums `y_sums` of Y's rows (see
    /// `ratio.rs`), for [`block_divided`].
    pub(crate) fn with_ratio(mut self, denominator: Denominator, y_sums: &[T]) -> Self {
        assert_eq!(y_sums.len(), self.m, "one sum per row of Y");
        let nr = self.isa.nr::<T>();
        let mut sums = vec![T::zero(); (self.m + self.shift).div_ceil(nr) * nr];
        sums[self.shift..self.shift + self.m].copy_from_slice(y_sums);
        self.divide = Some((denominator, sums));
        self
    }

    /// Rows of Y.
    pub(crate) fn rows(&self) -> usize {
        self.m
    }

    fn as_ptr(&self) -> *const T {
        self.buf[self.off..].as_ptr()
    }
}

/// The [`PackedY`] shift that aligns full panels' stores in `out` to 64 bytes, if `out` allows
/// it: unit column stride, and rows a multiple of 64 bytes apart. Then [`block`] may
/// `stream` into `out` or any block of it.
pub(crate) fn stream_shift<T>(out: &ArrayViewMut2<T>) -> Option<usize> {
    let size = size_of::<T>();
    let (rs, cs) = (out.strides()[0], out.strides()[1]);
    let addr = out.as_ptr() as usize;
    let rows_aligned = out.nrows() <= 1 || (rs * size as isize) % 64 == 0;
    let unit = out.ncols() <= 1 || cs == 1;
    (rows_aligned && unit && addr.is_multiple_of(size)).then_some(addr % 64 / size)
}

/// Computes `out[i][j − cols.start] = metric(x[i], y[j])` for `j` in `cols`, each term
/// multiplied by its dimension's weight if there are `weights` (see `Distance::resolve`).
///
/// `x` must have contiguous rows; `out` is `x.nrows() × cols.len()` with any strides. With
/// `stream`, full register blocks whose stores are aligned (thanks to the packing's shift)
/// are written with non-temporal stores: for outputs much larger than the caches, which are
/// then written without first being read.
pub(crate) fn block<T: Element>(
    x: ArrayView2<T>,
    y: &PackedY<T>,
    cols: Range<usize>,
    kernel: (Metric, Option<&KernelWeights<T>>),
    out: ArrayViewMut2<T>,
    stream: bool,
) {
    assert!(y.divide.is_none(), "Y packed with a ratio's sums is for block_divided");
    run_block(x, None, y, cols, kernel, out, stream);
}

/// [`block`] of a ratio's numerators ([`Denominator::numerator`]), each divided by its denominator
/// as it is stored: from `x_sums`, the sums of the rows of `x`, and those packed with `y`
/// ([`PackedY::with_ratio`]). See [`FusedRatio`](crate::cpu::fused::FusedRatio).
pub(crate) fn block_divided<T: Element>(
    x: ArrayView2<T>,
    x_sums: &[T],
    y: &PackedY<T>,
    cols: Range<usize>,
    kernel: (Metric, Option<&KernelWeights<T>>),
    out: ArrayViewMut2<T>,
    stream: bool,
) {
    assert!(y.divide.is_some(), "Y must be packed with the ratio's sums");
    assert_eq!(x_sums.len(), x.nrows(), "one sum per row of X");
    assert!(
        matches!(kernel, (Metric::Cityblock | Metric::SqEuclidean, None)),
        "a ratio's numerator is the unweighted cityblock or, for booleans, sqeuclidean"
    );
    run_block(x, Some(x_sums), y, cols, kernel, out, stream);
}

/// [`block`] and [`block_divided`], checked and handed to the kernel family of `y`'s packing.
fn run_block<T: Element>(
    x: ArrayView2<T>,
    x_sums: Option<&[T]>,
    y: &PackedY<T>,
    cols: Range<usize>,
    (metric, weights): (Metric, Option<&KernelWeights<T>>),
    mut out: ArrayViewMut2<T>,
    stream: bool,
) {
    assert_eq!(out.dim(), (x.nrows(), cols.len()), "output block shape");
    assert!(cols.end <= y.m && x.ncols() == y.d, "block outside Y or of another dimension");
    assert!(weights.is_none_or(|w| w.values.len() == y.d), "one weight per dimension");
    let (rows, d) = x.dim();
    if rows == 0 || cols.is_empty() {
        return;
    }
    let strides = x.strides();
    assert!(d <= 1 || strides[1] == 1, "rows of X must be contiguous");
    assert!(rows <= 1 || strides[0] >= d as isize, "rows of X must not overlap");
    let ldx = if rows > 1 { strides[0] as usize } else { 0 };
    let (rs, cs) = (out.strides()[0], out.strides()[1]);
    let args = Args {
        x: x.as_ptr(),
        ldx,
        rows,
        y: y.as_ptr(),
        d,
        shift: y.shift,
        cols,
        out: out.as_mut_ptr(),
        rs,
        cs,
        metric,
        w: weights.map_or(std::ptr::null(), |w| w.values.as_ptr()),
        total: crate::weights::total_weight(weights.map(|w| w.total), d),
        stream,
        divide: y.divide.as_ref().map(|(denominator, _)| *denominator),
        x_sums: x_sums.map_or(std::ptr::null(), <[T]>::as_ptr),
        y_sums: y.divide.as_ref().map_or(std::ptr::null(), |(_, sums)| sums.as_ptr()),
    };
    // SAFETY: `args` describes `x`, the packed `y`, the weights and `out`, checked above: `rows`
    // rows of `d` contiguous elements `ldx` apart, panels covering `cols` (within `y.m`, so
    // within the padded panels), `d` weights or none (null), and an output of `rows ×
    // cols.len()` elements at strides (rs, cs); with a ratio (`block_divided`), `rows` sums of
    // X and the padded panels' sums of Y. The casts between `Args<T>` and
    // `Args<f32>`/`Args<f64>` are identities (checked `TypeId`). The x86 entry points are only
    // called for an `isa` that `Isa::available` reported.
    unsafe {
        if is::<T, f32>() {
            let a = &*(&args as *const Args<T>).cast::<Args<f32>>();
            match y.isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => f32_avx512(a),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => f32_avx2(a),
                _ => by_metric::<Lanes<f32, 8>, 4, 2>(a),
            }
        } else if is::<T, f64>() {
            let a = &*(&args as *const Args<T>).cast::<Args<f64>>();
            match y.isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => f64_avx512(a),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => f64_avx2(a),
                _ => by_metric::<Lanes<f64, 8>, 4, 1>(a),
            }
        } else {
            unreachable!("Element is only implemented for f32 and f64");
        }
    }
}

/// One block, as raw parts (see [`block`]).
struct Args<E> {
    x: *const E,
    ldx: usize,
    rows: usize,
    y: *const E,
    d: usize,
    /// Zero columns before Y's first row in the packing.
    shift: usize,
    cols: Range<usize>,
    /// Element (0, 0) of the output block: row 0, column `cols.start`.
    out: *mut E,
    rs: isize,
    cs: isize,
    metric: Metric,
    /// `d` weights of the terms, or null for none.
    w: *const E,
    /// The total weight of the dimensions (`d` without weights): hamming's mean divides by it.
    total: f64,
    /// Non-temporal stores for aligned full register blocks.
    stream: bool,
    /// A ratio's denominator to divide by before storing, with `x_sums` (one per row) and
    /// `y_sums` (one per packed column); `None` and null otherwise.
    divide: Option<Denominator>,
    x_sums: *const E,
    y_sums: *const E,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn f32_avx512(a: &Args<f32>) {
    // SAFETY: forwarded from `block`.
    unsafe { by_metric::<Avx512, 6, 4>(a) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn f32_avx2(a: &Args<f32>) {
    // SAFETY: forwarded from `block`.
    unsafe { by_metric::<Avx2, 4, 2>(a) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn f64_avx512(a: &Args<f64>) {
    // SAFETY: forwarded from `block`.
    unsafe { by_metric::<Avx512F64, 6, 4>(a) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn f64_avx2(a: &Args<f64>) {
    // SAFETY: forwarded from `block`.
    unsafe { by_metric::<Avx2F64, 4, 2>(a) }
}

/// The micro-kernels' term and merge (the metric's `Term` and `Merge`, as a const generic).
const SQUARED: u8 = 0;
const ABSOLUTE: u8 = 1;
const ABSOLUTE_MAX: u8 = 2;
const POWER: u8 = 3;
const CANBERRA: u8 = 4;
const NOT_EQUAL: u8 = 5;
const JENSEN_SHANNON: u8 = 6;
/// |x − y|^n for a whole n in 3..=8 with n a compile-time constant: `WHOLE + n`. The loops of
/// [`Simd::powi`] then unroll into its multiplications alone (a runtime n keeps their branches
/// in the innermost loop). Other whole n take the runtime loop (`POWER`).
const WHOLE: u8 = 16;

/// The micro-kernels' final step (the metric's `Finalize`, as a const generic): in vector
/// form, or the metric's scalar final step lane by lane (minkowski's root, and every final
/// step for points of no dimensions, whose values are SciPy's special cases).
const IDENTITY: u8 = 0;
const SQRT: u8 = 1;
const HALF_CAPPED: u8 = 2;
const SQRT_HALF: u8 = 3;
const MEAN: u8 = 4;
const SCALAR: u8 = 5;
/// Minkowski's root for a whole p in 3..=8 (the term's `WHOLE + p`), in vector form.
const ROOT: u8 = 6;
/// A ratio's division (see `ratio.rs`): braycurtis's `n / (a + b)`.
const DIVIDE_SUM: u8 = 7;
/// jaccard's `n / ((a + b + n) / 2)`, 0 where that is 0/0.
const DIVIDE_UNION: u8 = 8;

/// Largest `MR × nr` register block (for the scratch tile of edge blocks).
const MAX_TILE: usize = 6 * 64;

#[inline(always)]
unsafe fn by_metric<S: Simd, const MR: usize, const NV: usize>(a: &Args<S::E>)
where
    S::E: Element,
{
    // SAFETY: forwarded from `block`.
    unsafe {
        // One micro-kernel per (term and merge, final step) of the metric's definition.
        let def = a.metric.definition();
        let fin = match def.finalize {
            _ if a.d == 0 => SCALAR,
            Finalize::Identity => IDENTITY,
            Finalize::Sqrt => SQRT,
            Finalize::HalfCapped => HALF_CAPPED,
            Finalize::SqrtHalf => SQRT_HALF,
            Finalize::Mean => MEAN,
            Finalize::Root => SCALAR,
        };
        // A ratio's numerators are divided as they are stored, for any d (d = 0 gives SciPy's
        // 0/0: NaN for braycurtis, 0 for jaccard).
        if let Some(denominator) = a.divide {
            return match (denominator, def.term) {
                (Denominator::SumOfAbsoluteSums, Term::AbsoluteDifference) => {
                    drive::<S, MR, NV, ABSOLUTE, DIVIDE_SUM, false>(a)
                }
                (Denominator::Union, Term::AbsoluteDifference) => drive::<S, MR, NV, ABSOLUTE, DIVIDE_UNION, false>(a),
                (Denominator::Union, Term::SquaredDifference) => drive::<S, MR, NV, SQUARED, DIVIDE_UNION, false>(a),
                (denominator, term) => unreachable!("no {denominator:?} over a numerator of {term:?}"),
            };
        }
        // Weights inside the kernel (`Distance::resolve`: the minkowski family, canberra,
        // hamming) take one more micro-kernel each, so that the unweighted ones stay as they
        // are.
        if !a.w.is_null() && a.d > 0 {
            return match (def.term, def.merge, fin) {
                (Term::SquaredDifference, Merge::Sum, IDENTITY) => drive::<S, MR, NV, SQUARED, IDENTITY, true>(a),
                (Term::SquaredDifference, Merge::Sum, SQRT) => drive::<S, MR, NV, SQUARED, SQRT, true>(a),
                (Term::AbsoluteDifference, Merge::Sum, IDENTITY) => drive::<S, MR, NV, ABSOLUTE, IDENTITY, true>(a),
                (Term::PowerDifference, Merge::Sum, _) => by_exponent::<S, MR, NV, true>(a),
                (Term::Canberra, Merge::Sum, IDENTITY) => drive::<S, MR, NV, CANBERRA, IDENTITY, true>(a),
                (Term::NotEqual, Merge::Sum, MEAN) => drive::<S, MR, NV, NOT_EQUAL, MEAN, true>(a),
                (term, merge, _) => unreachable!("no weights inside the kernel of {term:?} merged by {merge:?}"),
            };
        }
        match (def.term, def.merge, fin) {
            (Term::SquaredDifference, Merge::Sum, IDENTITY) => drive::<S, MR, NV, SQUARED, IDENTITY, false>(a),
            (Term::SquaredDifference, Merge::Sum, SQRT) => drive::<S, MR, NV, SQUARED, SQRT, false>(a),
            (Term::SquaredDifference, Merge::Sum, HALF_CAPPED) => drive::<S, MR, NV, SQUARED, HALF_CAPPED, false>(a),
            (Term::AbsoluteDifference, Merge::Sum, IDENTITY) => drive::<S, MR, NV, ABSOLUTE, IDENTITY, false>(a),
            (Term::AbsoluteDifference, Merge::Max, IDENTITY) => drive::<S, MR, NV, ABSOLUTE_MAX, IDENTITY, false>(a),
            (Term::PowerDifference, Merge::Sum, _) if a.d > 0 => by_exponent::<S, MR, NV, false>(a),
            (Term::Canberra, Merge::Sum, IDENTITY) => drive::<S, MR, NV, CANBERRA, IDENTITY, false>(a),
            (Term::NotEqual, Merge::Sum, MEAN) => drive::<S, MR, NV, NOT_EQUAL, MEAN, false>(a),
            (Term::JensenShannon, Merge::Sum, SQRT_HALF) => drive::<S, MR, NV, JENSEN_SHANNON, SQRT_HALF, false>(a),
            // Points of no dimensions: every final step in scalar form.
            (_, _, SCALAR) => drive::<S, MR, NV, SQUARED, SCALAR, false>(a),
            (term, merge, _) => {
                unreachable!("no metric is {term:?} merged by {merge:?} then {:?}", def.finalize)
            }
        }
    }
}

/// Minkowski's micro-kernel for the metric's exponent, weighted or not: a whole p from 3 to 8
/// with its compile-time exponent and vector root, any other p with the runtime power (products
/// for a whole p, [`power::power`] for a fractional one) and the scalar root.
#[inline(always)]
unsafe fn by_exponent<S: Simd, const MR: usize, const NV: usize, const WEIGHTED: bool>(a: &Args<S::E>)
where
    S::E: Element,
{
    // SAFETY: forwarded from `block`.
    unsafe {
        match a.metric.whole_exponent() {
            Some(3) => drive::<S, MR, NV, { WHOLE + 3 }, ROOT, WEIGHTED>(a),
            Some(4) => drive::<S, MR, NV, { WHOLE + 4 }, ROOT, WEIGHTED>(a),
            Some(5) => drive::<S, MR, NV, { WHOLE + 5 }, ROOT, WEIGHTED>(a),
            Some(6) => drive::<S, MR, NV, { WHOLE + 6 }, ROOT, WEIGHTED>(a),
            Some(7) => drive::<S, MR, NV, { WHOLE + 7 }, ROOT, WEIGHTED>(a),
            Some(8) => drive::<S, MR, NV, { WHOLE + 8 }, ROOT, WEIGHTED>(a),
            _ => drive::<S, MR, NV, POWER, SCALAR, WEIGHTED>(a),
        }
    }
}

/// The Jensen–Shannon term of two vectors of probabilities, as [`metric::jensen_shannon`]
/// gives it: `m·g(t)` with `t = (p − q) / (p + q)`, its series where `|t| ≤ 1/2`, and `(1 + t)
/// ln(1 + t) + (1 − t) ln(1 − t)` elsewhere, in vector form (`power`'s logarithm), 0 where
/// both are 0. Where every lane is near, the series alone; where a lane is negative or NaN
/// (+∞ or NaN, the rows SciPy rejects), the scalar twin, lane by lane. Sparse rows (zeros in
/// most columns, so the far form in most vectors) took the scalar twin throughout before.
#[inline(always)]
unsafe fn jensen_shannon<S: Simd>(p: S, q: S, series: &[S::E; metric::JS_MAX_TERMS], logs: &power::Power<S::E>) -> S
where
    S::E: Element,
{
    // SAFETY: plain arithmetic on vectors, inside the entry point of `S`'s instruction set.
    unsafe {
        let sum = S::add(p, q);
        let t = S::div(S::sub(p, q), sum);
        let half = splat(0.5);
        // In vector compares: through memory, lane by lane, this check cost as much as the
        // series. (A sum of 0 gives a NaN t, which fails it.)
        let near = S::all_abs_at_most(t, half) && S::all_positive(sum);
        let probabilities = near || (S::all_non_negative(p) && S::all_non_negative(q));
        if !probabilities {
            return S::zip(p, q, metric::jensen_shannon);
        }
        let t2 = S::mul(t, t);
        let mut g = S::zero();
        for k in (1..=metric::js_series_terms::<S::E>()).rev() {
            g = S::mul_add(g, t2, S::one(series[k - 1]));
        }
        g = S::mul(g, t2);
        if !near {
            // 1 ± t lie in [0, 2] and are 0 or at least an ulp of 1: normal numbers.
            let one = splat::<S>(1.0);
            let far = S::add(logs.x_ln_x(S::add(one, t)), logs.x_ln_x(S::sub(one, t)));
            // Both zero (t is NaN there): nothing added.
            g = S::zero_where_zero(S::select_abs_at_most(t, half, g, far), sum);
        }
        // m·g(t), m = (p + q) / 2.
        S::mul(g, S::mul(sum, half))
    }
}

/// `acc + |d|^n` for a whole `n ≥ 2` (a compile-time constant in the micro-kernels), with the
/// last product fused into the sum: for even `n`, `(d^(n/2))²` needs no `|·|` either. Three
/// to six instructions per term from p = 4 to p = 7 where `|d|^n`, then a sum, took five to
/// seven; each product still rounded once (the result moves by an ulp or two of the term).
#[inline(always)]
unsafe fn power_acc<S: Simd>(d: S, n: u32, acc: S) -> S {
    // SAFETY: plain arithmetic on vectors, inside the entry point of `S`'s instruction set.
    unsafe {
        if n.is_multiple_of(2) {
            let half = if n == 2 { d } else { S::powi(d, n / 2) };
            S::sq_acc(half, acc)
        } else {
            let a = S::abs(d);
            S::mul_add(S::powi(a, n - 1), a, acc)
        }
    }
}

/// Newton steps of [`whole_root`] for the element type: each squares the relative error, from
/// the estimate's 6 % to 1e-7 (f32, 4 steps) or below 1e-15 (f64, 5 steps) for every p to 8.
const fn root_steps<E>() -> usize {
    if size_of::<E>() == 4 { 4 } else { 5 }
}

/// Minkowski's final step `s^(1/p)` for a whole `p ≥ 3`, lane-wise in vector form: the bits'
/// estimate ([`Simd::root_estimate`]), then [`root_steps`] Newton steps on the whole vector,
/// `y ← ((p − 1)·y + s / y^(p − 1)) / p`, and 0 where `s = 0`. Vectors with a lane that
/// is not 0 or a normal number of the type (∞, NaN, subnormal) take the metric's scalar root
/// instead, lane by lane, as every vector did before.
#[inline(always)]
unsafe fn whole_root<S: Simd>(s: S, p: u32, scalars: Scalars<S::E>) -> S
where
    S::E: Element,
{
    // SAFETY: plain arithmetic on vectors, inside the entry point of `S`'s instruction set.
    unsafe {
        if !S::all_zero_or_normal(s) {
            return S::map(s, |v| scalars.metric.finalize_weighted(v, scalars.d, scalars.total));
        }
        // Lanes of 0 may start anywhere (even at 0, then NaN): they end as 0.
        let mut y = S::root_estimate(s, p);
        let (p_minus_1, reciprocal) = (splat::<S>(f64::from(p - 1)), splat::<S>(1.0 / f64::from(p)));
        for _ in 0..root_steps::<S::E>() {
            let t = S::div(s, S::powi(y, p - 1));
            y = S::mul(S::add(S::mul(p_minus_1, y), t), reciprocal);
        }
        S::zero_where_zero(y, s)
    }
}

/// `v` in every lane.
#[inline(always)]
unsafe fn splat<S: Simd>(v: f64) -> S {
    // SAFETY: the caller runs inside the entry point of `S`'s instruction set.
    unsafe { S::one(<S::E as num_traits::NumCast>::from(v).expect("float")) }
}

/// What the scalar terms and final steps need besides the values: the metric, its exponent's
/// forms, the dimensions in all, and their total weight (hamming's mean).
#[derive(Clone, Copy)]
struct Scalars<E> {
    metric: Metric,
    /// `p` when it is a whole number below 64 ([`Metric::whole_exponent`]): powers by
    /// multiplication; the vector [`power::power`] otherwise.
    whole_p: Option<u32>,
    /// The constants of [`power::power`] for `p`.
    power: power::Power<E>,
    /// Jensen–Shannon's series coefficients ([`metric::js_series_coefficient`]), in `E`: a
    /// conversion per use kept the series at a fifth of its speed.
    js_series: [E; metric::JS_MAX_TERMS],
    d: usize,
    /// `d`, or `Σ w` with weights inside the kernel.
    total: f64,
}

/// Dimensions per pass of the register blocks: for large `d` the block is computed in chunks
/// of `d` (partial sums kept in the output), so that the panels of a pass stay in L2 and a
/// register block's rows of X in L1. Each chunk sums from zero (blocked summation; see
/// [`micro`]).
pub(crate) const DEPTH_CHUNK: usize = 512;

/// Walks the block in register blocks: `MR` rows (the last group repeats its last row) by one
/// panel, in chunks of [`DEPTH_CHUNK`] dimensions. Full register blocks in a unit-stride output
/// are stored in place; the edges go through a scratch tile. `WEIGHTED`: `a.w` holds the
/// weights of the terms. A ratio's final step (`FIN` [`DIVIDE_SUM`], [`DIVIDE_UNION`]) reads
/// the sums of the register block's rows and of its panel's columns.
#[inline(always)]
unsafe fn drive<S: Simd, const MR: usize, const NV: usize, const TERM: u8, const FIN: u8, const WEIGHTED: bool>(
    a: &Args<S::E>,
) where
    S::E: Element,
{
    let nr = NV * S::W;
    debug_assert!(MR * nr <= MAX_TILE);
    // SAFETY: pointer arithmetic stays within the parts `block` checked: rows `< a.rows`,
    // dimensions `< a.d`, panels `< ceil(cols.end / nr)`, outputs `rows × cols.len()` at
    // (rs, cs).
    unsafe {
        let one = S::one(std::hint::black_box(<S::E as num_traits::One>::one()));
        let p = <S::E as num_traits::NumCast>::from(a.metric.exponent()).expect("float");
        let scalars = Scalars {
            metric: a.metric,
            whole_p: a.metric.whole_exponent(),
            power: power::Power::new(p),
            js_series: std::array::from_fn(|k| metric::js_series_coefficient(k + 1)),
            d: a.d,
            total: a.total,
        };
        let mut scratch = [<S::E as num_traits::Zero>::zero(); MAX_TILE];
        // Columns of the packing (Y's row j is packed column j + shift).
        let (c0, c1) = (a.cols.start + a.shift, a.cols.end + a.shift);
        let chunks = a.d.div_ceil(DEPTH_CHUNK).max(1);
        // Streamed stores only for one-pass sums: partial sums are read back.
        let align = S::W * size_of::<S::E>();
        let rows_aligned = (a.rs * size_of::<S::E>() as isize) % align as isize == 0;
        let stream = a.stream && chunks == 1 && rows_aligned;
        let divides = FIN == DIVIDE_SUM || FIN == DIVIDE_UNION;
        for chunk in 0..chunks {
            let (k0, k1) = (chunk * DEPTH_CHUNK, ((chunk + 1) * DEPTH_CHUNK).min(a.d));
            let (first, last) = (chunk == 0, chunk + 1 == chunks);
            for r0 in (0..a.rows).step_by(MR) {
                let mr = MR.min(a.rows - r0);
                let xr: [*const S::E; MR] = std::array::from_fn(|r| a.x.add((r0 + r.min(mr - 1)) * a.ldx + k0));
                // The chunk's weights (never read unless WEIGHTED).
                let w = if WEIGHTED { a.w.add(k0) } else { a.w };
                // The ratio's sums of the rows, repeated as `xr` repeats them (never read
                // unless the block divides).
                let xs: [*const S::E; MR] =
                    std::array::from_fn(|r| if divides { a.x_sums.add(r0 + r.min(mr - 1)) } else { a.x_sums });
                for p in c0 / nr..c1.div_ceil(nr) {
                    let (lo, hi) = ((p * nr).max(c0), (p * nr + nr).min(c1));
                    let panel = a.y.add(p * nr * a.d + k0 * nr);
                    let sums = (&xs, if divides { a.y_sums.add(p * nr) } else { a.y_sums });
                    let dst = a.out.offset(r0 as isize * a.rs + (lo - c0) as isize * a.cs);
                    let at = |r: usize, c: usize| dst.offset(r as isize * a.rs + (c - lo) as isize * a.cs);
                    if mr == MR && hi - lo == nr && a.cs == 1 {
                        let nt = stream && (dst as usize).is_multiple_of(align);
                        micro::<S, MR, NV, TERM, FIN, WEIGHTED>(
                            &xr,
                            (panel, w),
                            k1 - k0,
                            one,
                            scalars,
                            sums,
                            dst,
                            a.rs,
                            (first, last, nt),
                        );
                    } else {
                        if !first {
                            for r in 0..mr {
                                for c in lo..hi {
                                    scratch[r * nr + c - p * nr] = *at(r, c);
                                }
                            }
                        }
                        let tile = scratch.as_mut_ptr();
                        micro::<S, MR, NV, TERM, FIN, WEIGHTED>(
                            &xr,
                            (panel, w),
                            k1 - k0,
                            one,
                            scalars,
                            sums,
                            tile,
                            nr as isize,
                            (first, last, false),
                        );
                        for r in 0..mr {
                            for c in lo..hi {
                                *at(r, c) = scratch[r * nr + c - p * nr];
                            }
                        }
                    }
                }
            }
        }
        if stream {
            S::fence();
        }
    }
}

/// The register block: `MR` rows of X against one panel of `NV` vectors of Y columns, over
/// `d` dimensions, stored as `MR` rows of `NV·W` values `ldo` apart (with non-temporal stores
/// if `nt`: `out` and `ldo` then keep every vector aligned). Unless `first`, the sums (from
/// zero) are added to the values stored there (an earlier chunk of dimensions); if `last`,
/// they are finalized. With `WEIGHTED`, the term of dimension `k` is multiplied by `w[k]`. A
/// ratio's final step divides by the sums `xs[r]` of row `r` plus those of the panel's
/// columns, `ys[0..nr]`.
#[inline(always)]
#[expect(clippy::too_many_arguments, reason = "the micro-kernel's registers, passed by value")]
unsafe fn micro<S: Simd, const MR: usize, const NV: usize, const TERM: u8, const FIN: u8, const WEIGHTED: bool>(
    xr: &[*const S::E; MR],
    (panel, w): (*const S::E, *const S::E),
    d: usize,
    one: S,
    scalars: Scalars<S::E>,
    (xs, ys): (&[*const S::E; MR], *const S::E),
    out: *mut S::E,
    ldo: isize,
    (first, last, nt): (bool, bool, bool),
) {
    let nr = NV * S::W;
    // SAFETY: `panel` holds `d × nr` elements, each `xr[r]` `d`, `w` (if WEIGHTED) `d`, and
    // `out` has `MR` rows of `nr` readable and writable elements `ldo` apart, and for a ratio's
    // final step each `xs[r]` one sum and `ys` `nr` (the caller's contract); the vector
    // operations run inside the matching `#[target_feature]` entry point.
    unsafe {
        let at = |r: usize, v: usize| out.offset(r as isize * ldo + (v * S::W) as isize);
        // Every chunk sums from zero and is then added to the earlier chunks' total (stored in
        // `out`): a blocked summation, whose rounding error grows like (DEPTH_CHUNK + d /
        // DEPTH_CHUNK)·ε instead of d·ε for one running sum (0.1 lost 1.3e-5 at d = 100 000).
        let mut acc = [[S::zero(); NV]; MR];
        for k in 0..d {
            let yk = panel.add(k * nr);
            let yv: [S; NV] = std::array::from_fn(|v| S::load(yk.add(v * S::W)));
            // The dimension's weight in every lane; unweighted kernels never load one.
            let wk = if WEIGHTED { S::bcast(w.add(k)) } else { one };
            for r in 0..MR {
                let xb = S::bcast(xr[r].add(k));
                for v in 0..NV {
                    let diff = S::sub(yv[v], xb);
                    acc[r][v] = match TERM {
                        // wk is 1 unless WEIGHTED: |d|·1 + acc on the FMA units.
                        ABSOLUTE => S::abs_acc(diff, wk, acc[r][v]),
                        ABSOLUTE_MAX => S::abs_max(diff, acc[r][v]),
                        // w d² as (w·d)·d + acc: one more multiply than d·d + acc.
                        SQUARED if WEIGHTED => S::mul_add(S::mul(wk, diff), diff, acc[r][v]),
                        SQUARED => S::sq_acc(diff, acc[r][v]),
                        // |d|^p: repeated products for a whole p, the vector `power` otherwise.
                        POWER => {
                            let a = S::abs(diff);
                            let t = match scalars.whole_p {
                                Some(n) => S::powi(a, n),
                                None => power::power(a, &scalars.power),
                            };
                            S::add(acc[r][v], if WEIGHTED { S::mul(wk, t) } else { t })
                        }
                        CANBERRA => {
                            let den = S::add(S::abs(yv[v]), S::abs(xb));
                            let t = S::zero_where_zero(S::div(S::abs(diff), den), den);
                            S::add(acc[r][v], if WEIGHTED { S::mul(wk, t) } else { t })
                        }
                        // w where x ≠ y, else 0: the weighted term itself (w is finite).
                        NOT_EQUAL => S::ne_acc(yv[v], xb, wk, acc[r][v]),
                        // w |d|^n + acc: the weight fused in the sum instead of the last product.
                        n if n > WHOLE && WEIGHTED => {
                            S::mul_add(S::powi(S::abs(diff), u32::from(n - WHOLE)), wk, acc[r][v])
                        }
                        n if n > WHOLE => power_acc(diff, u32::from(n - WHOLE), acc[r][v]),
                        _ => S::add(acc[r][v], jensen_shannon(yv[v], xb, &scalars.js_series, &scalars.power)),
                    };
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (v, &s) in row.iter().enumerate() {
                let s = match (first, TERM) {
                    (true, _) => s,
                    (false, ABSOLUTE_MAX) => S::max(S::load(at(r, v)), s),
                    (false, _) => S::add(S::load(at(r, v)), s),
                };
                let s = match (last, FIN) {
                    (true, SQRT) => S::sqrt(s),
                    (true, HALF_CAPPED) => S::cap(S::mul(s, splat(0.5)), splat(2.0)),
                    (true, SQRT_HALF) => S::sqrt(S::mul(s, splat(0.5))),
                    (true, MEAN) => S::div(s, splat(scalars.total)),
                    (true, SCALAR) => S::map(s, |v| scalars.metric.finalize_weighted(v, scalars.d, scalars.total)),
                    (true, ROOT) => whole_root(s, u32::from(TERM - WHOLE), scalars),
                    // The host's quotients (`ratio::quotient`), in the same order of operations.
                    (true, DIVIDE_SUM) => S::div(s, S::add(S::bcast(xs[r]), S::load(ys.add(v * S::W)))),
                    (true, DIVIDE_UNION) => {
                        let ab = S::add(S::bcast(xs[r]), S::load(ys.add(v * S::W)));
                        let union = S::mul(S::add(ab, s), splat(0.5));
                        S::zero_where_zero(S::div(s, union), union)
                    }
                    _ => s,
                };
                if nt { S::stream(at(r, v), s) } else { S::store(at(r, v), s) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::cpu::executor::{Kernel, run_into_with};
    use crate::cpu::reference;
    use crate::metric::Prepare;
    use crate::plan::{Plan, PlanLimits, Region};
    use crate::weights::TermWeights;

    const SIZES: [usize; 9] = [1, 2, 7, 15, 16, 17, 63, 64, 65];
    const DIMS: [usize; 7] = [1, 3, 7, 16, 17, 128, 1000];

    fn random<T: Element>(rng: &mut ChaCha8Rng, n: usize, d: usize, scale: f64) -> Array2<T> {
        Array2::from_shape_fn((n, d), |_| T::from_f64(rng.random_range(-scale..scale)))
    }

    /// The kernel's metric on the points as given (no preparation), in f64.
    fn kernel_cdist<T: Element>(x: ArrayView2<T>, y: ArrayView2<T>, metric: Metric) -> Array2<f64> {
        let rows = |a: ArrayView2<T>| {
            a.rows().into_iter().map(|r| r.iter().map(|&v| v.into()).collect()).collect::<Vec<Vec<f64>>>()
        };
        let (xs, ys) = (rows(x), rows(y));
        Array2::from_shape_fn((x.nrows(), y.nrows()), |(i, j)| reference::kernel_distance(&xs[i], &ys[j], metric))
    }

    /// Inputs the kernel of `metric` is meant for: non-negative for Jensen–Shannon's
    /// probabilities (negative ones give +∞ everywhere, which would test nothing).
    fn for_kernel<T: Element>(a: &Array2<T>, metric: Metric) -> Array2<T> {
        if metric.definition().term == Term::JensenShannon { a.mapv(|v| v.abs()) } else { a.clone() }
    }

    /// Compares `got` (any view) with the reference for `x`, `y`, reporting the first failure.
    fn assert_close<T: Element>(got: ArrayView2<T>, x: ArrayView2<T>, y: ArrayView2<T>, metric: Metric, what: &str) {
        let want = kernel_cdist(x, y, metric);
        assert_eq!(got.dim(), want.dim(), "{what}: shape");
        let scale = x.iter().chain(y.iter()).fold(0.0f64, |a, &v| a.max(v.into().abs()));
        for ((i, j), &w) in want.indexed_iter() {
            let g: f64 = got[(i, j)].into();
            let tol = T::tolerance(metric, x.ncols(), scale, w);
            let ok = if w.is_nan() {
                g.is_nan()
            } else if w.is_infinite() {
                g == w
            } else {
                (g - w).abs() <= tol
            };
            assert!(ok, "{what} {metric}: at ({i}, {j}) got {g}, expected {w}, tolerance {tol}");
        }
    }

    /// Every kernel family on one shape: the whole block, a block of columns starting off a
    /// panel boundary, and an output with non-unit column stride.
    fn check_shape<T: Element>(rng: &mut ChaCha8Rng, n: usize, m: usize, d: usize) {
        let (x0, y0) = (random::<T>(rng, n, d, 1.0), random::<T>(rng, m, d, 1.0));
        for isa in Isa::available() {
            for metric in Metric::KERNELS {
                let (x, y) = (for_kernel(&x0, metric), for_kernel(&y0, metric));
                let packed = PackedY::new(y.view(), isa, 0);
                let what = format!("{isa:?} {} {n}x{m}x{d}", std::any::type_name::<T>());
                let mut out = Array2::from_elem((n, m), T::nan());
                block(x.view(), &packed, 0..m, (metric, None), out.view_mut(), false);
                assert_close(out.view(), x.view(), y.view(), metric, &what);

                let c0 = m / 3;
                let mut part = Array2::from_elem((n, m - c0), T::nan());
                block(x.view(), &packed, c0..m, (metric, None), part.view_mut(), false);
                assert_close(part.view(), x.view(), y.slice(s![c0.., ..]), metric, &format!("{what} cols {c0}.."));

                let mut transposed = Array2::from_elem((m, n), T::nan());
                block(x.view(), &packed, 0..m, (metric, None), transposed.view_mut().reversed_axes(), false);
                assert_close(transposed.t(), x.view(), y.view(), metric, &format!("{what} strided out"));
            }
        }
    }

    fn check_shapes<T: Element>(seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for &n in &SIZES {
            for &m in &SIZES {
                for &d in &DIMS[..6] {
                    check_shape::<T>(&mut rng, n, m, d);
                }
            }
        }
        for (n, m) in [(1, 1), (7, 17), (17, 65), (65, 33)] {
            check_shape::<T>(&mut rng, n, m, DIMS[6]);
        }
        // Several chunks of dimensions, the last one partial.
        for (n, m, d) in [(7, 70, 2 * DEPTH_CHUNK), (13, 65, 2 * DEPTH_CHUNK + 3)] {
            check_shape::<T>(&mut rng, n, m, d);
        }
    }

    /// Every whole exponent's micro-kernel (3..=8 with the exponent a constant, others by the
    /// runtime loop) on every kernel family, f32 and f64, beside a fractional one.
    #[test]
    fn every_whole_power_matches_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for p in [3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 13.0, 2.5] {
            let metric = Metric::minkowski(p).unwrap();
            for (n, m, d) in [(7, 65, 17), (13, 33, 2 * DEPTH_CHUNK + 3)] {
                let (x, y) = (random::<f32>(&mut rng, n, d, 1.0), random::<f32>(&mut rng, m, d, 1.0));
                let (x64, y64) = (x.mapv(f64::from), y.mapv(f64::from));
                for isa in Isa::available() {
                    let what = format!("{isa:?} {n}x{m}x{d}");
                    let mut out = Array2::from_elem((n, m), f32::NAN);
                    block(x.view(), &PackedY::new(y.view(), isa, 0), 0..m, (metric, None), out.view_mut(), false);
                    assert_close(out.view(), x.view(), y.view(), metric, &what);
                    let mut out = Array2::from_elem((n, m), f64::NAN);
                    block(x64.view(), &PackedY::new(y64.view(), isa, 0), 0..m, (metric, None), out.view_mut(), false);
                    assert_close(out.view(), x64.view(), y64.view(), metric, &format!("{what} f64"));
                }
            }
        }
    }

    #[test]
    fn every_kernel_matches_reference_f32() {
        check_shapes::<f32>(1);
    }

    #[test]
    fn every_kernel_matches_reference_f64() {
        check_shapes::<f64>(2);
    }

    #[test]
    fn executor_with_small_tiles_matches_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (n, m, d) in [(300, 257, 5), (129, 70, 33), (1, 100, 2), (100, 1, 9), (20, 150, 1100)] {
            let x = random::<f32>(&mut rng, n, d, 10.0);
            let y = random::<f32>(&mut rng, m, d, 10.0);
            for bytes in [None, Some(1024), Some(8 * 1024)] {
                let plan = Plan::new(n, m, d, Region::Full, &PlanLimits::cpu(bytes)).unwrap();
                for isa in Isa::available() {
                    for metric in Metric::KERNELS {
                        let (x, y) = (for_kernel(&x, metric), for_kernel(&y, metric));
                        let mut out = Array2::from_elem((n, m), f32::NAN);
                        run_into_with(x.view(), y.view(), Kernel::of(metric), &plan, out.view_mut(), isa, &|_| Ok(()))
                            .unwrap();
                        assert_close(out.view(), x.view(), y.view(), metric, &format!("{isa:?} {plan:?}"));
                    }
                }
            }
        }
    }

    /// Non-temporal stores at every offset of the output from a 64-byte boundary.
    fn check_streamed_stores<T: Element>(seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let per_line = 64 / size_of::<T>();
        for (n, m, d) in [(13, 272, 3), (7, 200, 17), (1, 64, 1)] {
            let x = random::<T>(&mut rng, n, d, 1.0);
            let y = random::<T>(&mut rng, m, d, 1.0);
            let mut buf = vec![T::nan(); n * m + 2 * per_line];
            let base = buf.as_ptr().align_offset(64);
            for off in base..base + per_line {
                for isa in Isa::available() {
                    for metric in Metric::KERNELS {
                        let (x, y) = (for_kernel(&x, metric), for_kernel(&y, metric));
                        let what = format!("{isa:?} stream {n}x{m}x{d} offset {}", off - base);
                        let mut out = ArrayViewMut2::from_shape((n, m), &mut buf[off..off + n * m]).unwrap();
                        let shift = stream_shift(&out);
                        assert_eq!(shift.is_some(), m % per_line == 0, "{what}");
                        let packed = PackedY::new(y.view(), isa, shift.unwrap_or(0));
                        // As the executor calls it: a pass over columns from a panel boundary on.
                        let c0 = 64.min(m / 2);
                        block(x.view(), &packed, 0..c0, (metric, None), out.slice_mut(s![.., ..c0]), true);
                        block(x.view(), &packed, c0..m, (metric, None), out.slice_mut(s![.., c0..]), true);
                        assert_close(out.view(), x.view(), y.view(), metric, &what);
                        out.fill(T::nan());
                    }
                }
            }
        }
    }

    #[test]
    fn streamed_stores_at_every_alignment_match_reference() {
        check_streamed_stores::<f32>(6);
        check_streamed_stores::<f64>(8);
    }

    #[test]
    fn executor_streams_large_outputs() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (n, d) = (2048, 3); // an output of 16 MiB (f32) or 32 MiB (f64): streamed
        let x = random::<f32>(&mut rng, n, d, 1.0);
        let y = random::<f32>(&mut rng, n, d, 1.0);
        let plan = Plan::new(n, n, d, Region::Full, &PlanLimits::cpu(None)).unwrap();
        let mut out = Array2::from_elem((n, n), f32::NAN);
        run_into_with(x.view(), y.view(), Kernel::of(Metric::Euclidean), &plan, out.view_mut(), Isa::detect(), &|_| {
            Ok(())
        })
        .unwrap();
        assert_close(out.view(), x.view(), y.view(), Metric::Euclidean, "streamed executor");
        let (x, y) = (x.mapv(f64::from), y.mapv(f64::from));
        let mut out = Array2::from_elem((n, n), f64::NAN);
        run_into_with(x.view(), y.view(), Kernel::of(Metric::Euclidean), &plan, out.view_mut(), Isa::detect(), &|_| {
            Ok(())
        })
        .unwrap();
        assert_close(out.view(), x.view(), y.view(), Metric::Euclidean, "streamed executor f64");
    }

    fn check_non_finite<T: Element>(seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (n, m, d) = (19, 37, 9);
        let mut x = random::<T>(&mut rng, n, d, 1.0);
        let mut y = random::<T>(&mut rng, m, d, 1.0);
        x[(2, 3)] = T::nan();
        x[(5, 0)] = T::infinity();
        x[(11, 8)] = T::neg_infinity();
        y[(4, 3)] = T::infinity(); // meets x[5] (finite there): inf; meets x[2][3] = NaN: NaN
        y[(30, 0)] = T::infinity(); // meets x[5][0] = inf: inf − inf = NaN
        y[(33, 8)] = T::nan();
        for isa in Isa::available() {
            let packed = PackedY::new(y.view(), isa, 0);
            // The difference terms, which IEEE arithmetic decides; the others follow SciPy's
            // rules for NaN and Inf (the oracle tests and the Python tests hold them to SciPy).
            let differences = [Term::SquaredDifference, Term::AbsoluteDifference, Term::PowerDifference];
            let ieee =
                |m: &Metric| differences.contains(&m.definition().term) && m.definition().prepare == Prepare::None;
            for metric in Metric::KERNELS.into_iter().filter(ieee) {
                let mut out = Array2::zeros((n, m));
                block(x.view(), &packed, 0..m, (metric, None), out.view_mut(), false);
                assert_close(out.view(), x.view(), y.view(), metric, &format!("{isa:?} non-finite"));
                let nans = [out[(5, 30)], out[(2, 0)], out[(0, 33)]];
                match metric.definition().merge {
                    Merge::Sum => assert!(nans.iter().all(|v| v.is_nan()), "{metric}: {nans:?}"),
                    // SciPy's chebyshev passes over a NaN difference.
                    Merge::Max => assert!(nans.iter().all(|v| v.is_finite()), "{metric}: {nans:?}"),
                }
                assert_eq!(out[(5, 0)], T::infinity());
                assert_eq!(out[(0, 4)], T::infinity());
            }
        }
    }

    #[test]
    fn nan_and_inf_propagate() {
        check_non_finite::<f32>(4);
        check_non_finite::<f64>(9);
    }

    #[test]
    fn diagonal_of_self_distance_is_exactly_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (n, d) in [(65, 3), (40, 128), (17, 1000), (9, 3 * DEPTH_CHUNK + 1)] {
            let x = random::<f32>(&mut rng, n, d, 1e4);
            let x64 = x.mapv(f64::from);
            for isa in Isa::available() {
                for metric in Metric::KERNELS {
                    let (x, x64) = (for_kernel(&x, metric), for_kernel(&x64, metric));
                    let mut out = Array2::from_elem((n, n), f32::NAN);
                    block(x.view(), &PackedY::new(x.view(), isa, 0), 0..n, (metric, None), out.view_mut(), false);
                    let mut out64 = Array2::from_elem((n, n), f64::NAN);
                    block(x64.view(), &PackedY::new(x64.view(), isa, 0), 0..n, (metric, None), out64.view_mut(), false);
                    for i in 0..n {
                        assert_eq!(out[(i, i)], 0.0, "{isa:?} {metric} f32 diagonal {i}");
                        assert_eq!(out64[(i, i)], 0.0, "{isa:?} {metric} f64 diagonal {i}");
                    }
                    assert!(out.iter().all(|v| v.is_finite() && *v >= 0.0));
                }
            }
        }
    }

    #[test]
    fn jensen_shannon_in_vector_and_scalar_form_match_reference() {
        // Values within a factor 3 of each other: every lane takes the vector series; zeros
        // and far-apart values take the logarithms' form for their lanes.
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let (n, m, d) = (13, 70, 40);
        let close = Array2::from_shape_fn((n, d), |_| rng.random_range(1.0f32..2.0));
        let close_y = Array2::from_shape_fn((m, d), |_| rng.random_range(1.0f32..2.0));
        let mut far_y = close_y.clone();
        far_y.slice_mut(s![.., ..5]).fill(0.0);
        far_y.slice_mut(s![..20, 5..9]).fill(30.0);
        // Sparse rows, as histograms are: zeros in most columns of both sides (0 against 0
        // adds nothing), the rest spread over six orders of magnitude (near and far lanes in
        // the same vector); one row with a negative entry (+∞) and one with a NaN.
        let sparse =
            |rng: &mut ChaCha8Rng| if rng.random_bool(0.6) { 0.0 } else { 10f32.powf(rng.random_range(-3.0..3.0)) };
        let sparse_x = Array2::from_shape_fn((n, d), |_| sparse(&mut rng));
        let mut sparse_y = Array2::from_shape_fn((m, d), |_| sparse(&mut rng));
        sparse_y[(3, 7)] = -1.0;
        sparse_y[(4, 8)] = f32::NAN;
        let metric = Metric::JensenShannon;
        for isa in Isa::available() {
            for (close, y) in [(&close, &close_y), (&close, &far_y), (&sparse_x, &sparse_y)] {
                let mut out = Array2::from_elem((n, m), f32::NAN);
                block(close.view(), &PackedY::new(y.view(), isa, 0), 0..m, (metric, None), out.view_mut(), false);
                assert_close(out.view(), close.view(), y.view(), metric, &format!("{isa:?} jensenshannon"));
                let (close64, y64) = (close.mapv(f64::from), y.mapv(f64::from));
                let mut out64 = Array2::from_elem((n, m), f64::NAN);
                block(close64.view(), &PackedY::new(y64.view(), isa, 0), 0..m, (metric, None), out64.view_mut(), false);
                assert_close(out64.view(), close64.view(), y64.view(), metric, &format!("{isa:?} jensenshannon f64"));
            }
        }
    }

    /// Weights inside the kernel (the minkowski family, canberra, hamming) on every kernel
    /// family: zero weights, several chunks of dimensions, edge blocks and a block of columns
    /// off a panel boundary.
    fn check_weighted<T: Element>(seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for (n, m, d) in [(7, 70, 5), (13, 65, 2 * DEPTH_CHUNK + 3), (1, 17, 1)] {
            let x = random::<T>(&mut rng, n, d, 1.0);
            let mut y = random::<T>(&mut rng, m, d, 1.0);
            // Some equal coordinates (hamming's terms 0) and some 0/0 (canberra's terms 0).
            for j in 0..m {
                for k in (0..d).step_by(3) {
                    y[(j, k)] = x[(j % n, k)];
                }
            }
            y.row_mut(0).fill(T::zero());
            let w: Vec<f64> = (0..d).map(|k| if k % 4 == 1 { 0.0 } else { rng.random_range(0.0..3.0) }).collect();
            let weights = TermWeights::new(w);
            let rounded = weights.for_kernel::<T>();
            let rows = |a: &Array2<T>| -> Vec<Vec<f64>> {
                a.rows().into_iter().map(|r| r.iter().map(|&v| v.into()).collect()).collect()
            };
            let (xs, ys) = (rows(&x), rows(&y));
            let metrics = [
                Metric::SqEuclidean,
                Metric::Euclidean,
                Metric::Cityblock,
                Metric::Minkowski { p: 3.0 },
                Metric::Minkowski { p: 8.0 },
                Metric::Minkowski { p: 1.5 },
                Metric::Canberra,
                Metric::Hamming,
            ];
            for metric in metrics {
                for isa in Isa::available() {
                    let packed = PackedY::new(y.view(), isa, 0);
                    let c0 = m / 3;
                    let mut out = Array2::from_elem((n, m - c0), T::nan());
                    block(x.view(), &packed, c0..m, (metric, Some(&rounded)), out.view_mut(), false);
                    for ((i, c), &g) in out.indexed_iter() {
                        let want = crate::twin::weighted_kernel_distance(&xs[i], &ys[c0 + c], metric, Some(&weights));
                        let (g, tol) = (g.into(), T::tolerance(metric, d, 1.0, want));
                        assert!(
                            (g - want).abs() <= tol,
                            "{isa:?} weighted {metric} {n}x{m}x{d} ({i}, {c}): {g} vs {want}"
                        );
                    }
                }
            }
        }
        // Zero weights: canberra's terms all 0, hamming's mean 0/0 (NaN, as SciPy's).
        let (x, y) = (random::<T>(&mut rng, 5, 9, 1.0), random::<T>(&mut rng, 20, 9, 1.0));
        let zero = TermWeights::new(vec![0.0; 9]).for_kernel::<T>();
        for isa in Isa::available() {
            let packed = PackedY::new(y.view(), isa, 0);
            let mut out = Array2::from_elem((5, 20), T::nan());
            block(x.view(), &packed, 0..20, (Metric::Canberra, Some(&zero)), out.view_mut(), false);
            assert!(out.iter().all(|&v| v == T::zero()), "{isa:?} canberra, zero weights");
            block(x.view(), &packed, 0..20, (Metric::Hamming, Some(&zero)), out.view_mut(), false);
            assert!(out.iter().all(|v| v.is_nan()), "{isa:?} hamming, zero weights");
        }
    }

    #[test]
    fn weighted_kernels_match_reference() {
        check_weighted::<f32>(10);
        check_weighted::<f64>(11);
    }

    #[test]
    fn zero_dimensions_give_zeros() {
        let x = Array2::<f32>::zeros((9, 0));
        let y = Array2::<f32>::zeros((40, 0));
        for isa in Isa::available() {
            for metric in Metric::KERNELS {
                let mut out = Array2::from_elem((9, 40), f32::NAN);
                block(x.view(), &PackedY::new(y.view(), isa, 0), 0..40, (metric, None), out.view_mut(), false);
                // SciPy's values for no dimensions: 0, but NaN for the means and norms of
                // nothing (hamming, cosine, correlation) and +∞ for distributions of sum 0.
                let want = metric.finalize(0.0f32, 0);
                assert!(out.iter().all(|&v| v == want || (v.is_nan() && want.is_nan())), "{metric}: {want}");
            }
        }
    }

    /// Non-negative counts with zero rows (braycurtis's 0/0) for braycurtis, or booleans (the
    /// points jaccard's kernel sees) with zero rows, in `T`.
    fn ratio_points<T: Element>(rng: &mut ChaCha8Rng, n: usize, d: usize, booleans: bool) -> Array2<T> {
        let mut a = Array2::from_shape_fn((n, d), |_| {
            let v: f64 = if booleans { rng.random_range(0..2) as f64 } else { rng.random_range(0..5) as f64 * 0.7 };
            T::from_f64(v)
        });
        a.row_mut(0).fill(T::zero());
        a
    }

    /// The division by a ratio's denominators in the kernels' store, on every kernel family:
    /// whole blocks, blocks of columns off a panel boundary, strided outputs, several chunks of
    /// dimensions, no dimensions, and non-temporal stores, against the reference.
    fn check_divided<T: Element>(seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for (n, m, d) in [(7, 70, 5), (13, 65, 2 * DEPTH_CHUNK + 3), (1, 17, 1), (6, 64, 9), (5, 9, 0)] {
            for metric in [Metric::BrayCurtis, Metric::Jaccard] {
                let booleans = metric == Metric::Jaccard;
                let (x, y) = (ratio_points::<T>(&mut rng, n, d, booleans), ratio_points::<T>(&mut rng, m, d, booleans));
                let denominator = metric.definition().denominator.unwrap();
                let ratio = crate::ratio::Ratio::new(denominator, x.view(), Some(y.view()), d as f64, false);
                let fused = ratio.window(0..n, 0..m).fused::<T>().expect("sums of one sign, in range");
                let kernel = (denominator.numerator(false), None);
                for isa in Isa::available() {
                    let what = format!("{isa:?} {} {n}x{m}x{d} divided", std::any::type_name::<T>());
                    let packed = PackedY::new(y.view(), isa, 0).with_ratio(denominator, &fused.y_sums);
                    let mut out = Array2::from_elem((n, m), T::nan());
                    block_divided(x.view(), &fused.x_sums, &packed, 0..m, kernel, out.view_mut(), false);
                    assert_close(out.view(), x.view(), y.view(), metric, &what);
                    let c0 = m / 3;
                    let mut part = Array2::from_elem((n, m - c0), T::nan());
                    block_divided(x.view(), &fused.x_sums, &packed, c0..m, kernel, part.view_mut(), false);
                    assert_close(part.view(), x.view(), y.slice(s![c0.., ..]), metric, &format!("{what} cols {c0}.."));
                    let mut transposed = Array2::from_elem((m, n), T::nan());
                    let strided = transposed.view_mut().reversed_axes();
                    block_divided(x.view(), &fused.x_sums, &packed, 0..m, kernel, strided, false);
                    assert_close(transposed.t(), x.view(), y.view(), metric, &format!("{what} strided out"));
                    // Rows 1.. of X (their own sums) into an output aligned for streamed stores.
                    let per_line = 64 / size_of::<T>();
                    let mut buf = vec![T::nan(); n * m + 2 * per_line];
                    let off = buf.as_ptr().align_offset(64);
                    let mut out = ArrayViewMut2::from_shape((n, m), &mut buf[off..off + n * m]).unwrap();
                    let packed = PackedY::new(y.view(), isa, stream_shift(&out).unwrap_or(0))
                        .with_ratio(denominator, &fused.y_sums);
                    let rows = s![n.min(1).., ..];
                    let (xs, sums) = (x.slice(rows), &fused.x_sums[n.min(1)..]);
                    let mut lower = out.slice_mut(rows);
                    block_divided(xs, sums, &packed, 0..m, kernel, lower.view_mut(), true);
                    assert_close(lower.view(), xs, y.view(), metric, &format!("{what} streamed"));
                }
            }
        }
    }

    #[test]
    fn ratio_division_in_the_store_matches_reference() {
        check_divided::<f32>(12);
        check_divided::<f64>(13);
    }

    /// Minkowski's vector root on every kernel family at sums across the type's range (one
    /// dimension: the sum is |t|^p): within a few ulps of the f64 root of the sum. The first 16
    /// columns hold 0, ∞, NaN and a subnormal sum, which send their vectors to the scalar root
    /// (`powf` by 1/p rounded to the type: off by up to |ln s|·ε more).
    fn check_roots<T: Element>(exponent_range: i32) {
        let eps: f64 = T::epsilon().into();
        let tiny: f64 = T::min_positive_value().into();
        for p in 3..=8u32 {
            let metric = Metric::minkowski(p as f64).unwrap();
            // |t|^p from 10^-range to 10^range, and the special values.
            let top = exponent_range as f64 / p as f64;
            let mut t: Vec<f64> = (0..400).map(|j| 10f64.powf(-top + 2.0 * top * j as f64 / 399.0)).collect();
            let subnormal = (tiny / 8.0).powf(1.0 / p as f64);
            t[3..7].copy_from_slice(&[0.0, f64::INFINITY, f64::NAN, subnormal]);
            let x = Array2::from_elem((1, 1), T::zero());
            let y = Array2::from_shape_fn((t.len(), 1), |(j, _)| T::from_f64(t[j]));
            for isa in Isa::available() {
                let mut out = Array2::from_elem((1, t.len()), T::nan());
                block(x.view(), &PackedY::new(y.view(), isa, 0), 0..t.len(), (metric, None), out.view_mut(), false);
                for (j, &g) in out.iter().enumerate() {
                    let t: f64 = y[(j, 0)].into();
                    // The kernel's sum, |t|^p rounded to T, and its root: t·(sum / |t|^p)^(1/p),
                    // which (unlike powf by a rounded 1/p) is within an ulp of f64.
                    let exact = t.abs().powi(p as i32);
                    let sum: f64 = T::from_f64(exact).into();
                    let want = if sum == 0.0 || !sum.is_finite() {
                        sum.powf(1.0 / p as f64)
                    } else {
                        t.abs() * (sum / exact).powf(1.0 / p as f64)
                    };
                    let g: f64 = g.into();
                    let ok = if want.is_nan() {
                        g.is_nan()
                    } else if sum == 0.0 || want.is_infinite() {
                        g == want
                    } else {
                        let scalar = if j < 16 { sum.ln().abs() * eps } else { 0.0 };
                        (g - want).abs() <= (4.0 * eps + scalar) * want
                    };
                    assert!(ok, "{isa:?} {} p = {p}, t = {t:e}: got {g:e}, want {want:e}", std::any::type_name::<T>());
                }
            }
        }
    }

    #[test]
    fn whole_roots_in_vector_form_match_the_f64_root() {
        check_roots::<f32>(37);
        check_roots::<f64>(300);
    }
}
