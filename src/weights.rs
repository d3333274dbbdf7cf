//! Weights inside the kernels: the minkowski family's (`sqeuclidean`, `euclidean`,
//! `cityblock`, `minkowski` at a finite p), `canberra`'s and `hamming`'s `w`.
//!
//! The other metrics' weights are a change of coordinates (see [`Distance`](crate::Distance)),
//! after which the unweighted kernel runs. Canberra and hamming have none (canberra's term
//! `|x − y| / (|x| + |y|)` is the same for scaled columns, and hamming's `x ≠ y` too); the
//! minkowski family has one (columns scaled by `w^(1/p)`), but it rounds every coordinate before
//! the difference is taken. So the weight of dimension `k` multiplies its term in the kernels,
//! as SciPy's `Σ w_k t_k` says, and hamming's mean divides by the total weight `Σ w` instead of
//! `d` (SciPy's `np.average(u != v, weights=w)`; 0/0 is NaN for weights that are all zero, as
//! in SciPy).
//!
//! The weights are kept in f64 and rounded once to the kernels' type per run; every backend
//! indexes them by the dimension of the chunk of `d` it is summing (the GPU uploads the chunk's
//! slice beside the rows, the CPU points its micro-kernel at the chunk's first weight). Runs
//! without them compile to the unweighted kernels, unchanged.

use crate::element::Element;

/// A weight per dimension that multiplies the dimension's term in the kernels, and their sum.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TermWeights {
    w: Vec<f64>,
    total: f64,
}

impl TermWeights {
    /// The weights `w` (checked by `Distance::with_weights`: finite and non-negative).
    pub(crate) fn new(w: Vec<f64>) -> TermWeights {
        let total = w.iter().sum();
        TermWeights { w, total }
    }

    /// One weight per dimension.
    pub(crate) fn values(&self) -> &[f64] {
        &self.w
    }

    /// `Σ w`: what hamming's mean divides by (`d` for a run without weights).
    pub(crate) fn total(&self) -> f64 {
        self.total
    }

    /// The weights as a kernel of element type `T` takes them: rounded once.
    pub(crate) fn for_kernel<T: Element>(&self) -> KernelWeights<T> {
        KernelWeights { values: self.w.iter().map(|&v| T::from_f64(v)).collect(), total: self.total }
    }
}

/// [`TermWeights`] in a kernel's element type, made once per run.
pub(crate) struct KernelWeights<T> {
    /// One per dimension, rounded to `T`.
    pub(crate) values: Vec<T>,
    /// `Σ w`, summed in f64 before rounding.
    pub(crate) total: f64,
}

/// The total weight of `d` dimensions: `Σ w` (`total`) with weights, `d` without.
pub(crate) fn total_weight(total: Option<f64>, d: usize) -> f64 {
    total.unwrap_or(d as f64)
}
