//! Metrics: SciPy's names, and the one definition of each that every backend follows.
//!
//! A metric is "accumulate a [`Term`] per dimension, [`Merge`] partial accumulators (chunks of
//! `d`, passes), then [`Finalize`]" — the shape of cubecl's `Reduce` (init, reduce, merge,
//! finalize). [`Metric::definition`] is the only place that says which term, merge and final
//! step a metric has. From it follow:
//!
//! - the WGSL kernels: the `TERM` and `FINALIZE` override constants select the bodies in
//!   `shaders/common/metric.wgsl` ([`Term::shader_id`], [`Finalize::shader_id`]);
//! - the CPU kernels: one monomorphised micro-kernel per (term, finalize) pair;
//! - the scalar twin ([`Metric::term`], [`Metric::finalize`]) and through it the f64 reference
//!   (`cpu::reference`), which the tests check against an oracle of their own.
//!
//! So a metric whose term and final step exist already is one entry in
//! [`Metric::definition`]; a new kind of term is one `Term` variant, its WGSL body and its
//! SIMD twin. The metrics still to come fit the same shape:
//!
//! - `chebyshev` (done: `|x − y|` merged by [`Merge::Max`], a max instead of an add in the
//!   accumulate step of both kernels and in the passes' merge);
//! - `minkowski` with `p`: a term `|x − y|^p` and a final `^(1/p)`, with `p` carried by the
//!   metric (a parameter becomes an override constant on the GPU, a value in the CPU kernel);
//!   `p = 1, 2, ∞` resolve to the cityblock, euclidean and chebyshev definitions;
//! - `cosine` and `correlation`: a per-row preparation (norms, means) computed once per input,
//!   a product term, and a final step that reads the two rows' prepared values.
//!
//! Differences are always taken first: the `|x|² + |y|² − 2x·y` form is never used, so
//! `cdist(X, X)` has exact zeros on its diagonal and nearby points do not cancel to zero.

use std::fmt;
use std::str::FromStr;

use num_traits::Float;

use crate::error::Error;

/// A distance metric between two points of the same dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Σ (x − y)², SciPy's `sqeuclidean`.
    SqEuclidean,
    /// √Σ (x − y)², SciPy's `euclidean`.
    Euclidean,
    /// Σ |x − y|, SciPy's `cityblock` (also accepted as `manhattan`).
    Cityblock,
    /// max |x − y|, SciPy's `chebyshev`; like SciPy, a dimension whose |x − y| is NaN is
    /// passed over.
    Chebyshev,
}

/// What one dimension adds to the accumulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Term {
    /// (x − y)².
    SquaredDifference,
    /// |x − y|.
    AbsoluteDifference,
}

/// How two partial accumulators (of disjoint dimensions) combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Merge {
    /// Their sum.
    Sum,
    /// The larger (a NaN term is passed over, as SciPy's chebyshev does: `if d > max: max = d`).
    Max,
}

/// The step from the accumulator to the distance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Finalize {
    /// The accumulator is the distance.
    Identity,
    /// The square root of the accumulator.
    Sqrt,
}

impl Term {
    /// The value of the `TERM` override constant in `shaders/common/metric.wgsl`.
    pub fn shader_id(self) -> u32 {
        match self {
            Term::SquaredDifference => 0,
            Term::AbsoluteDifference => 1,
        }
    }
}

impl Merge {
    /// The value of the `MERGE` override constant in `shaders/common/metric.wgsl`.
    pub fn shader_id(self) -> u32 {
        match self {
            Merge::Sum => 0,
            Merge::Max => 1,
        }
    }
}

impl Finalize {
    /// The value of the `FINALIZE` override constant in `shaders/common/metric.wgsl`.
    pub fn shader_id(self) -> u32 {
        match self {
            Finalize::Identity => 0,
            Finalize::Sqrt => 1,
        }
    }
}

/// The one definition of a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Definition {
    /// SciPy's name.
    pub name: &'static str,
    /// Other names accepted when parsing.
    pub aliases: &'static [&'static str],
    /// The formula, for `--help` and the docs.
    pub formula: &'static str,
    /// What each dimension adds.
    pub term: Term,
    /// How partial accumulators combine.
    pub merge: Merge,
    /// From accumulator to distance.
    pub finalize: Finalize,
}

impl Metric {
    /// Every metric, in the order they are listed to users.
    pub const ALL: [Metric; 4] = [Metric::Euclidean, Metric::SqEuclidean, Metric::Cityblock, Metric::Chebyshev];

    /// The metric's definition: the one place its term, merge and final step are decided.
    pub const fn definition(self) -> &'static Definition {
        const SQEUCLIDEAN: Definition = Definition {
            name: "sqeuclidean",
            aliases: &[],
            formula: "Σ (x − y)²",
            term: Term::SquaredDifference,
            merge: Merge::Sum,
            finalize: Finalize::Identity,
        };
        const EUCLIDEAN: Definition = Definition {
            name: "euclidean",
            aliases: &[],
            formula: "√Σ (x − y)²",
            term: Term::SquaredDifference,
            merge: Merge::Sum,
            finalize: Finalize::Sqrt,
        };
        const CITYBLOCK: Definition = Definition {
            name: "cityblock",
            aliases: &["manhattan"],
            formula: "Σ |x − y|",
            term: Term::AbsoluteDifference,
            merge: Merge::Sum,
            finalize: Finalize::Identity,
        };
        const CHEBYSHEV: Definition = Definition {
            name: "chebyshev",
            aliases: &["chebychev", "cheby", "cheb", "ch"],
            formula: "max |x − y|",
            term: Term::AbsoluteDifference,
            merge: Merge::Max,
            finalize: Finalize::Identity,
        };
        match self {
            Metric::SqEuclidean => &SQEUCLIDEAN,
            Metric::Euclidean => &EUCLIDEAN,
            Metric::Cityblock => &CITYBLOCK,
            Metric::Chebyshev => &CHEBYSHEV,
        }
    }

    /// SciPy's name for the metric.
    pub fn name(self) -> &'static str {
        self.definition().name
    }

    /// The term one dimension adds to the accumulator (twin of `metric_term` in WGSL).
    #[inline(always)]
    pub fn term<T: Float>(self, x: T, y: T) -> T {
        let diff = x - y;
        match self.definition().term {
            Term::SquaredDifference => diff * diff,
            Term::AbsoluteDifference => diff.abs(),
        }
    }

    /// Combines two partial accumulators of disjoint dimensions.
    #[inline(always)]
    pub fn merge<T: Float>(self, a: T, b: T) -> T {
        match self.definition().merge {
            Merge::Sum => a + b,
            // `b` only where it is larger: a NaN `b` is passed over.
            Merge::Max => {
                if b > a {
                    b
                } else {
                    a
                }
            }
        }
    }

    /// The distance from the accumulated terms (twin of `metric_finalize` in WGSL).
    #[inline(always)]
    pub fn finalize<T: Float>(self, acc: T) -> T {
        match self.definition().finalize {
            Finalize::Sqrt => acc.sqrt(),
            Finalize::Identity => acc,
        }
    }

    fn valid_names() -> String {
        let names: Vec<&str> = Metric::ALL
            .iter()
            .flat_map(|m| std::iter::once(m.name()).chain(m.definition().aliases.iter().copied()))
            .collect();
        names.join(", ")
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = Error;

    /// Parses SciPy's metric names (case-insensitive) and their aliases (`manhattan`).
    fn from_str(s: &str) -> Result<Self, Error> {
        let lower = s.to_ascii_lowercase();
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == lower || m.definition().aliases.contains(&lower.as_str()))
            .ok_or_else(|| Error::UnknownMetric { name: s.to_string(), valid: Metric::valid_names() })
    }
}
