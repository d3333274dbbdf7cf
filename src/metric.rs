//! Metrics: SciPy's names, and the one definition of each that every backend follows.
//!
//! A metric is "prepare each row, accumulate a [`Term`] per dimension, [`Merge`] partial
//! accumulators (chunks of `d`, passes), then [`Finalize`]" — the shape of cubecl's `Reduce`
//! (init, reduce, merge, finalize) with a per-row step in front. [`Metric::definition`] is the
//! only place that says which preparation, term, merge and final step a metric has. From it
//! follow:
//!
//! - the row preparation ([`Prepare`]: unit rows for `cosine`, centred unit rows for
//!   `correlation`, probability rows for `jensenshannon`), done once per input row in f64 by
//!   [`crate::distance`] before any backend sees the points;
//! - the WGSL kernels: the `TERM`, `MERGE` and `FINALIZE` override constants (and `P`, the
//!   minkowski exponent) select the bodies in `shaders/common/metric.wgsl`;
//! - the CPU kernels: one monomorphised micro-kernel per (term, merge, final step);
//! - the scalar twin ([`Metric::term`], [`Metric::merge`], [`Metric::finalize`]) and through it
//!   the f64 reference (`cpu::reference`), which the tests check against an oracle of their own
//!   and the Python tests against SciPy itself.
//!
//! Parameters that are arrays (weights `w`, `seuclidean`'s `V`, `mahalanobis`'s `VI`) are not
//! part of a `Metric`: they live in a [`Distance`](crate::Distance), which turns them into a
//! transform of the columns (a scale, a selection, a linear map) so that the kernels stay the
//! fast unweighted ones. `canberra`'s and `hamming`'s weights have no such transform: they
//! multiply each term inside the kernels, and hamming's mean divides by their sum (see
//! [`Metric::finalize_weighted`]).
//!
//! Differences are taken first wherever there is a difference to take: the
//! `|x|² + |y|² − 2x·y` form is never used (so `cdist(X, X)` has exact zeros on its diagonal and
//! nearby points do not cancel to zero), `cosine` is `|x̂ − ŷ|² / 2` of the unit rows rather
//! than `1 − x̂·ŷ`, and `jensenshannon` sums a series in `(p − q) / (p + q)` for close
//! probabilities rather than the two logarithms whose first-order terms cancel.

use std::fmt;
use std::str::FromStr;

use num_traits::Float;

use crate::error::Error;

/// A distance metric between two points of the same dimension, with its scalar parameter
/// (minkowski's `p`) if it has one.
///
/// ```
/// use pairdist::Metric;
/// assert_eq!("Manhattan".parse::<Metric>()?, Metric::Cityblock);
/// assert_eq!("minkowski".parse::<Metric>()?, Metric::Minkowski { p: 2.0 }); // SciPy's default p
/// assert_eq!(Metric::minkowski(3.0)?.to_string(), "minkowski (p = 3)");
/// assert!(Metric::minkowski(0.0).is_err());
/// # Ok::<(), pairdist::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
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
    /// (Σ |x − y|^p)^(1/p), SciPy's `minkowski`; `p = 1, 2, ∞` run the cityblock, euclidean
    /// and chebyshev kernels. Build it with [`Metric::minkowski`], which checks `p`.
    Minkowski {
        /// The exponent, `p > 0` (may be `f64::INFINITY`).
        p: f64,
    },
    /// 1 − x·y / (|x| |y|), SciPy's `cosine`, computed as |x̂ − ŷ|² / 2 of the unit rows
    /// (NaN for a zero row, as in SciPy).
    Cosine,
    /// `cosine` of the rows minus their means, SciPy's `correlation`.
    Correlation,
    /// Σ |x − y| / (|x| + |y|), SciPy's `canberra` (a term with `x = y = 0` is 0); weights
    /// multiply each term.
    Canberra,
    /// √(JS(p, q)), SciPy's `jensenshannon` of the rows as distributions (each divided by its
    /// sum; a row with a negative entry or a zero sum is infinitely far from everything).
    JensenShannon,
    /// The fraction of coordinates where `x ≠ y`, SciPy's `hamming` for real values; with
    /// weights, the weight where `x ≠ y` over the total weight.
    Hamming,
    /// √Σ (x − y)² / V, SciPy's `seuclidean`; `V` is given to a [`Distance`](crate::Distance)
    /// or defaults to the variances of the stacked inputs.
    SEuclidean,
    /// √((x − y)ᵀ VI (x − y)), SciPy's `mahalanobis`; `VI` is given to a
    /// [`Distance`](crate::Distance) or defaults to the inverse covariance of the stacked
    /// inputs. Computed as the euclidean distance of the points mapped by a factor of `VI`.
    Mahalanobis,
    /// Σ |x − y| / Σ |x + y|, SciPy's `braycurtis` (NaN where both sums are 0, as in SciPy).
    BrayCurtis,
    /// The fraction of the coordinates where either is nonzero in which exactly one is,
    /// SciPy's `jaccard` (numbers are taken as booleans, `x ≠ 0`; 0 where both are all zero).
    Jaccard,
    /// SciPy's `dice` of booleans (`x ≠ 0`): (ntf + nft) / (2·ntt + ntf + nft), where ntf
    /// counts the coordinates true in x and false in y, and so on (NaN for two all-false rows).
    Dice,
    /// SciPy's `kulczynski1` of booleans (SciPy before 1.17): ntt / (ntf + nft) (a
    /// similarity; infinite where the rows agree everywhere and share a true coordinate).
    Kulczynski1,
    /// SciPy's `rogerstanimoto` of booleans: 2(ntf + nft) / (ntt + nff + 2(ntf + nft)).
    RogersTanimoto,
    /// SciPy's `russellrao` of booleans: (d − ntt) / d (with weights, d is their sum).
    RussellRao,
    /// SciPy's `sokalmichener` of booleans (SciPy before 1.17; the same formula as
    /// `rogerstanimoto`).
    SokalMichener,
    /// SciPy's `sokalsneath` of booleans: 2(ntf + nft) / (ntt + 2(ntf + nft)) (NaN for two
    /// all-false rows).
    SokalSneath,
    /// SciPy's `yule` of booleans: 2·ntf·nft / (ntt·nff + ntf·nft), 0 where ntf·nft = 0.
    Yule,
}

/// What one dimension adds to the accumulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Term {
    /// (x − y)².
    SquaredDifference,
    /// |x − y|.
    AbsoluteDifference,
    /// |x − y|^p (minkowski's `p`).
    PowerDifference,
    /// |x − y| / (|x| + |y|), 0 where both are 0.
    Canberra,
    /// 1 where x ≠ y (NaN included), else 0.
    NotEqual,
    /// p ln(2p / (p + q)) + q ln(2q / (p + q)) of two probabilities; +∞ if either is negative
    /// (the mark of a row that is not a distribution).
    JensenShannon,
}

/// How two partial accumulators (of disjoint dimensions) combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Merge {
    /// Their sum.
    Sum,
    /// The larger (a NaN term is passed over, as SciPy's chebyshev does: `if d > max: max = d`).
    Max,
}

/// The step from the accumulator to the distance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Finalize {
    /// The accumulator is the distance.
    Identity,
    /// The square root of the accumulator.
    Sqrt,
    /// The accumulator to the power 1/p (minkowski).
    Root,
    /// Half the accumulator, at most 2 (`cosine` from unit rows: |x̂ − ŷ|² / 2 = 1 − x̂·ŷ).
    HalfCapped,
    /// √(accumulator / 2) (`jensenshannon`).
    SqrtHalf,
    /// The accumulator divided by the number of dimensions, or by their total weight when the
    /// terms are weighted (`hamming`); NaN where that is 0.
    Mean,
}

/// The denominator of the metrics that are a ratio of two sums: the kernel computes the
/// numerator (the cityblock distance of the prepared points, or its equal for booleans) and
/// the denominator comes from sums per row, computed once before the kernels run. The CPU
/// kernels divide by it as they store each result; the GPU's results are divided on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Denominator {
    /// Σ |x + y| (`braycurtis`): the sum of the two rows' |coordinates| wherever a column has
    /// one sign throughout, plus the cityblock distance of `x` and `−y` over the other columns.
    SumOfAbsoluteSums,
    /// Σ max(|x|, |y|) of (weighted) boolean rows (`jaccard`): with `a = Σ|x|`, `b = Σ|y|` and
    /// the numerator `n = Σ |x − y|`, `(a + b + n) / 2`.
    Union,
    /// SciPy's other boolean metrics: each a formula in the four counts of a pair of
    /// (weighted) boolean rows, which follow from the numerator `n = ntf + nft`, the rows' sums
    /// `a` and `b` and the total weight `t` (`d` without weights): `ntt = (a + b − n) / 2`,
    /// `ntf = a − ntt`, `nft = b − ntt`, `nff = t − a − b + ntt` (see `ratio::of_counts`).
    Boolean(BooleanFormula),
}

/// The formula of one of SciPy's boolean metrics in the counts `ntt`, `ntf`, `nft`, `nff` of a
/// pair of boolean rows (`ntf`: the coordinates true in x and false in y, and so on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BooleanFormula {
    /// (ntf + nft) / (2·ntt + ntf + nft).
    Dice,
    /// ntt / (ntf + nft).
    Kulczynski1,
    /// 2(ntf + nft) / (ntt + nff + 2(ntf + nft)) (`rogerstanimoto`, `sokalmichener`).
    RogersTanimoto,
    /// (ntt + ntf + nft + nff − ntt) / (ntt + ntf + nft + nff).
    RussellRao,
    /// 2(ntf + nft) / (ntt + 2(ntf + nft)).
    SokalSneath,
    /// 2·ntf·nft / (ntt·nff + ntf·nft), 0 where ntf·nft = 0.
    Yule,
}

impl BooleanFormula {
    /// The distance from the four counts, as SciPy computes it (0/0 is NaN).
    pub fn of_counts(self, ntt: f64, ntf: f64, nft: f64, nff: f64) -> f64 {
        let n = ntf + nft;
        match self {
            BooleanFormula::Dice => n / (2.0 * ntt + n),
            BooleanFormula::Kulczynski1 => ntt / n,
            BooleanFormula::RogersTanimoto => 2.0 * n / (ntt + nff + 2.0 * n),
            BooleanFormula::RussellRao => {
                let total = ntt + n + nff;
                (total - ntt) / total
            }
            BooleanFormula::SokalSneath => 2.0 * n / (ntt + 2.0 * n),
            BooleanFormula::Yule => {
                let half_r = ntf * nft;
                if half_r == 0.0 { 0.0 } else { 2.0 * half_r / (ntt * nff + half_r) }
            }
        }
    }
}

impl Denominator {
    /// The kernel metric whose distance of the prepared points is the numerator: cityblock's
    /// Σ |x − y|, except for jaccard's unweighted booleans. Their differences are 0 or ±1, so
    /// sqeuclidean's Σ (x − y)² is the same sum, exactly, for one instruction less per term (a
    /// subtraction and a fused multiply-add against a subtraction, an absolute value and an
    /// add). Weighted booleans are scaled columns, `w·b`, whose squares would be `w²`.
    pub(crate) fn numerator(self, weighted: bool) -> Metric {
        match (self, weighted) {
            (Denominator::Union | Denominator::Boolean(_), false) => Metric::SqEuclidean,
            _ => Metric::Cityblock,
        }
    }
}

/// The per-row step before any term: done once per input row, in f64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Prepare {
    /// The rows as given.
    None,
    /// Each row divided by its euclidean norm (`cosine`).
    Unit,
    /// Each row minus its mean, then divided by its norm (`correlation`).
    CenteredUnit,
    /// Each row divided by its sum; a row with a negative entry or a zero sum becomes all −1,
    /// which the [`Term::JensenShannon`] turns into +∞ as SciPy does.
    Probability,
    /// Each coordinate as a boolean, 1 where it is nonzero (NaN included), else 0 (`jaccard`).
    Boolean,
}

/// The steps' ids in the WGSL kernels, derived from the steps themselves: each step's id is its
/// place in its `ALL` list, and the kernels name them by the constants [`wgsl_ids`] declares
/// (`TERM_SQUARED_DIFFERENCE`, ...), never by number. Adding a step to an `ALL` list gives it an
/// id and a constant; `tests/engine/shaders.rs` fails until `shaders/common/metric.wgsl` has a
/// `case` for it.
macro_rules! steps {
    ($ty:ident, $prefix:literal, [$($variant:ident => $name:literal),* $(,)?]) => {
        impl $ty {
            /// Every step of this kind, in the order of their ids.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            /// The step's id: the value of its override constant in the WGSL kernels.
            pub fn shader_id(self) -> u32 {
                $ty::ALL.iter().position(|&s| s == self).expect("every step is in ALL") as u32
            }

            /// The name of the WGSL constant that holds [`Self::shader_id`].
            pub fn wgsl_name(self) -> &'static str {
                match self {
                    $($ty::$variant => concat!($prefix, "_", $name)),*
                }
            }
        }
    };
}

steps!(Term, "TERM", [
    SquaredDifference => "SQUARED_DIFFERENCE",
    AbsoluteDifference => "ABSOLUTE_DIFFERENCE",
    PowerDifference => "POWER_DIFFERENCE",
    Canberra => "CANBERRA",
    NotEqual => "NOT_EQUAL",
    JensenShannon => "JENSEN_SHANNON",
]);
steps!(Merge, "MERGE", [Sum => "SUM", Max => "MAX"]);
steps!(Finalize, "FINALIZE", [
    Identity => "IDENTITY",
    Sqrt => "SQRT",
    Root => "ROOT",
    HalfCapped => "HALF_CAPPED",
    SqrtHalf => "SQRT_HALF",
    Mean => "MEAN",
]);

/// WGSL constants naming every step's id (see [`Term::shader_id`]), prepended to the kernels
/// before `shaders/common/metric.wgsl`.
///
/// ```
/// let ids = pairdist::wgsl_ids();
/// assert!(ids.contains("const TERM_SQUARED_DIFFERENCE: u32 = 0u;"));
/// assert!(ids.contains("const MERGE_MAX: u32 = 1u;"));
/// ```
pub fn wgsl_ids() -> String {
    let mut out = String::from("// Generated from src/metric.rs (Term::ALL, Merge::ALL, Finalize::ALL).\n");
    let mut line = |name: &str, id: u32| out.push_str(&format!("const {name}: u32 = {id}u;\n"));
    Term::ALL.iter().for_each(|t| line(t.wgsl_name(), t.shader_id()));
    Merge::ALL.iter().for_each(|m| line(m.wgsl_name(), m.shader_id()));
    Finalize::ALL.iter().for_each(|f| line(f.wgsl_name(), f.shader_id()));
    out
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
    /// The parameters SciPy accepts for it (`p`, `w`, `V`, `VI`), for `pairdist metrics`.
    pub parameters: &'static str,
    /// What is done to each row first.
    pub prepare: Prepare,
    /// What each dimension adds.
    pub term: Term,
    /// How partial accumulators combine.
    pub merge: Merge,
    /// From accumulator to distance.
    pub finalize: Finalize,
    /// For a ratio of two sums, what the kernel's result is divided by; `None` for the others.
    pub denominator: Option<Denominator>,
}

const fn def(
    name: &'static str,
    aliases: &'static [&'static str],
    formula: &'static str,
    parameters: &'static str,
    (prepare, term, merge, finalize): (Prepare, Term, Merge, Finalize),
) -> Definition {
    Definition { name, aliases, formula, parameters, prepare, term, merge, finalize, denominator: None }
}

/// A ratio of two sums: the cityblock kernel on the prepared points, then `denominator`.
const fn ratio(
    name: &'static str,
    aliases: &'static [&'static str],
    formula: &'static str,
    prepare: Prepare,
    denominator: Denominator,
) -> Definition {
    let (_, term, merge, finalize) = ABSOLUTES;
    Definition {
        name,
        aliases,
        formula,
        parameters: "w",
        prepare,
        term,
        merge,
        finalize,
        denominator: Some(denominator),
    }
}

const SQUARES: (Prepare, Term, Merge, Finalize) =
    (Prepare::None, Term::SquaredDifference, Merge::Sum, Finalize::Identity);
const ROOT_SQUARES: (Prepare, Term, Merge, Finalize) =
    (Prepare::None, Term::SquaredDifference, Merge::Sum, Finalize::Sqrt);
const ABSOLUTES: (Prepare, Term, Merge, Finalize) =
    (Prepare::None, Term::AbsoluteDifference, Merge::Sum, Finalize::Identity);
const LARGEST: (Prepare, Term, Merge, Finalize) =
    (Prepare::None, Term::AbsoluteDifference, Merge::Max, Finalize::Identity);
const POWERS: (Prepare, Term, Merge, Finalize) = (Prepare::None, Term::PowerDifference, Merge::Sum, Finalize::Root);

const SQEUCLIDEAN: Definition = def("sqeuclidean", &["sqe", "sqeuclid"], "Σ (x − y)²", "w", SQUARES);
const EUCLIDEAN: Definition = def("euclidean", &["e", "eu", "euclid"], "√Σ (x − y)²", "w", ROOT_SQUARES);
const CITYBLOCK: Definition = def("cityblock", &["manhattan", "c", "cb", "cblock"], "Σ |x − y|", "w", ABSOLUTES);
const CHEBYSHEV: Definition = def("chebyshev", &["chebychev", "cheby", "cheb", "ch"], "max |x − y|", "w", LARGEST);
// Minkowski's definition follows p: the fast kernels for 1, 2 and ∞, the power term otherwise.
const MINKOWSKI_FORMULA: &str = "(Σ |x − y|^p)^(1/p)";
const MINKOWSKI_PARAMETERS: &str = "p (default 2), w";
const MINKOWSKI: Definition = def("minkowski", &["mi", "m", "pnorm"], MINKOWSKI_FORMULA, MINKOWSKI_PARAMETERS, POWERS);
const MINKOWSKI_1: Definition =
    def("minkowski", &["mi", "m", "pnorm"], MINKOWSKI_FORMULA, MINKOWSKI_PARAMETERS, ABSOLUTES);
const MINKOWSKI_2: Definition =
    def("minkowski", &["mi", "m", "pnorm"], MINKOWSKI_FORMULA, MINKOWSKI_PARAMETERS, ROOT_SQUARES);
const MINKOWSKI_INF: Definition =
    def("minkowski", &["mi", "m", "pnorm"], MINKOWSKI_FORMULA, MINKOWSKI_PARAMETERS, LARGEST);
const COSINE: Definition = def(
    "cosine",
    &["cos"],
    "1 − x·y / (|x| |y|)",
    "w",
    (Prepare::Unit, Term::SquaredDifference, Merge::Sum, Finalize::HalfCapped),
);
const CORRELATION: Definition = def(
    "correlation",
    &["co"],
    "1 − (x − x̄)·(y − ȳ) / (|x − x̄| |y − ȳ|)",
    "w",
    (Prepare::CenteredUnit, Term::SquaredDifference, Merge::Sum, Finalize::HalfCapped),
);
const CANBERRA: Definition = def(
    "canberra",
    &[],
    "Σ |x − y| / (|x| + |y|)",
    "w",
    (Prepare::None, Term::Canberra, Merge::Sum, Finalize::Identity),
);
const JENSENSHANNON: Definition = def(
    "jensenshannon",
    &["js"],
    "√((KL(p ‖ m) + KL(q ‖ m)) / 2), p = x / Σx, q = y / Σy, m = (p + q) / 2",
    "",
    (Prepare::Probability, Term::JensenShannon, Merge::Sum, Finalize::SqrtHalf),
);
const HAMMING: Definition = def(
    "hamming",
    &["matching", "hamm", "ha", "h"],
    "(number of x ≠ y) / d",
    "w",
    (Prepare::None, Term::NotEqual, Merge::Sum, Finalize::Mean),
);
const SEUCLIDEAN: Definition =
    def("seuclidean", &["se", "s"], "√Σ (x − y)² / V", "V (default: variances)", ROOT_SQUARES);
const MAHALANOBIS: Definition =
    def("mahalanobis", &["mahal", "mah"], "√((x − y)ᵀ VI (x − y))", "VI (default: inverse covariance)", ROOT_SQUARES);
const BRAYCURTIS: Definition =
    ratio("braycurtis", &[], "Σ |x − y| / Σ |x + y|", Prepare::None, Denominator::SumOfAbsoluteSums);
const JACCARD: Definition = ratio(
    "jaccard",
    &["jacc", "ja", "j"],
    "(number of x ≠ y of the booleans x ≠ 0, y ≠ 0) / (number where either is nonzero)",
    Prepare::Boolean,
    Denominator::Union,
);
/// One of SciPy's boolean metrics: a formula in the counts of the booleans `x ≠ 0`, `y ≠ 0`.
const fn boolean(name: &'static str, formula: &'static str, of_counts: BooleanFormula) -> Definition {
    ratio(name, &[], formula, Prepare::Boolean, Denominator::Boolean(of_counts))
}
const DICE: Definition = boolean("dice", "(ntf + nft) / (2·ntt + ntf + nft)", BooleanFormula::Dice);
const KULCZYNSKI1: Definition = boolean("kulczynski1", "ntt / (ntf + nft)", BooleanFormula::Kulczynski1);
const ROGERSTANIMOTO: Definition =
    boolean("rogerstanimoto", "2(ntf + nft) / (ntt + nff + 2(ntf + nft))", BooleanFormula::RogersTanimoto);
const RUSSELLRAO: Definition = boolean("russellrao", "(d − ntt) / d", BooleanFormula::RussellRao);
const SOKALMICHENER: Definition =
    boolean("sokalmichener", "2(ntf + nft) / (ntt + nff + 2(ntf + nft))", BooleanFormula::RogersTanimoto);
const SOKALSNEATH: Definition =
    boolean("sokalsneath", "2(ntf + nft) / (ntt + 2(ntf + nft))", BooleanFormula::SokalSneath);
const YULE: Definition = boolean("yule", "2·ntf·nft / (ntt·nff + ntf·nft)", BooleanFormula::Yule);

impl Metric {
    /// Every metric, in the order they are listed to users (minkowski with SciPy's default p
    /// = 2).
    pub const ALL: [Metric; 21] = [
        Metric::Euclidean,
        Metric::SqEuclidean,
        Metric::Cityblock,
        Metric::Chebyshev,
        Metric::Minkowski { p: 2.0 },
        Metric::Cosine,
        Metric::Correlation,
        Metric::Canberra,
        Metric::JensenShannon,
        Metric::Hamming,
        Metric::SEuclidean,
        Metric::Mahalanobis,
        Metric::BrayCurtis,
        Metric::Jaccard,
        Metric::Dice,
        Metric::Kulczynski1,
        Metric::RogersTanimoto,
        Metric::RussellRao,
        Metric::SokalMichener,
        Metric::SokalSneath,
        Metric::Yule,
    ];

    /// Every kernel the metrics run, once each (minkowski at p = 3, its general power term):
    /// what the tests of the backends iterate over. `seuclidean` and `mahalanobis` run the
    /// euclidean kernel on transformed points, and `braycurtis` and `jaccard` the cityblock
    /// kernel before their denominator, so they are not here.
    pub const KERNELS: [Metric; 10] = [
        Metric::Euclidean,
        Metric::SqEuclidean,
        Metric::Cityblock,
        Metric::Chebyshev,
        Metric::Minkowski { p: 3.0 },
        Metric::Cosine,
        Metric::Correlation,
        Metric::Canberra,
        Metric::JensenShannon,
        Metric::Hamming,
    ];

    /// Minkowski with exponent `p`, checked as SciPy checks it: `p > 0` (∞ allowed).
    pub fn minkowski(p: f64) -> Result<Metric, Error> {
        if p > 0.0 {
            Ok(Metric::Minkowski { p })
        } else {
            Err(Error::InvalidArgument(format!("p must be greater than 0 (got {p})")))
        }
    }

    /// The metric's definition: the one place its preparation, term, merge and final step are
    /// decided.
    pub fn definition(self) -> &'static Definition {
        match self {
            Metric::SqEuclidean => &SQEUCLIDEAN,
            Metric::Euclidean => &EUCLIDEAN,
            Metric::Cityblock => &CITYBLOCK,
            Metric::Chebyshev => &CHEBYSHEV,
            Metric::Minkowski { p: 1.0 } => &MINKOWSKI_1,
            Metric::Minkowski { p: 2.0 } => &MINKOWSKI_2,
            Metric::Minkowski { p: f64::INFINITY } => &MINKOWSKI_INF,
            Metric::Minkowski { .. } => &MINKOWSKI,
            Metric::Cosine => &COSINE,
            Metric::Correlation => &CORRELATION,
            Metric::Canberra => &CANBERRA,
            Metric::JensenShannon => &JENSENSHANNON,
            Metric::Hamming => &HAMMING,
            Metric::SEuclidean => &SEUCLIDEAN,
            Metric::Mahalanobis => &MAHALANOBIS,
            Metric::BrayCurtis => &BRAYCURTIS,
            Metric::Jaccard => &JACCARD,
            Metric::Dice => &DICE,
            Metric::Kulczynski1 => &KULCZYNSKI1,
            Metric::RogersTanimoto => &ROGERSTANIMOTO,
            Metric::RussellRao => &RUSSELLRAO,
            Metric::SokalMichener => &SOKALMICHENER,
            Metric::SokalSneath => &SOKALSNEATH,
            Metric::Yule => &YULE,
        }
    }

    /// SciPy's name for the metric.
    pub fn name(self) -> &'static str {
        self.definition().name
    }

    /// The power q of the kernel's term `|x − y|^q`: 2 for the squares, 1 for the absolute
    /// values, p for minkowski's powers; `None` for the terms that are no power of the
    /// difference (canberra's, x ≠ y, Jensen–Shannon's). A weight w multiplying such a term
    /// acts as the factor w^(1/q) on the difference.
    pub(crate) fn term_power(self) -> Option<f64> {
        match self.definition().term {
            Term::SquaredDifference => Some(2.0),
            Term::AbsoluteDifference => Some(1.0),
            Term::PowerDifference => Some(self.exponent()),
            Term::Canberra | Term::NotEqual | Term::JensenShannon => None,
        }
    }

    /// The exponent of the power term and root ([`Term::PowerDifference`], [`Finalize::Root`]);
    /// 1 for metrics without one.
    pub fn exponent(self) -> f64 {
        match self {
            Metric::Minkowski { p } => p,
            _ => 1.0,
        }
    }

    /// The exponent of the power term when it is a whole number below 64: both backends then
    /// multiply (by repeated squaring; the CPU's kernels for p = 3..=8 fuse the last product
    /// into the sum) instead of calling `pow`, which is slower and, on GPUs, exp2(p·log2(x))
    /// and less exact.
    pub fn whole_exponent(self) -> Option<u32> {
        let p = self.exponent();
        let whole = self.definition().term == Term::PowerDifference && p.fract() == 0.0 && (1.0..64.0).contains(&p);
        whole.then_some(p as u32)
    }

    /// The term one dimension adds to the accumulator (twin of `metric_term` in WGSL).
    #[inline(always)]
    pub fn term<T: Float>(self, x: T, y: T) -> T {
        let diff = x - y;
        match self.definition().term {
            Term::SquaredDifference => diff * diff,
            Term::AbsoluteDifference => diff.abs(),
            Term::PowerDifference => power(diff.abs(), T::from(self.exponent()).expect("float")),
            Term::Canberra => canberra(x, y),
            Term::NotEqual => not_equal(x, y),
            Term::JensenShannon => jensen_shannon(x, y),
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

    /// The distance from the terms of `d` dimensions, accumulated (twin of `metric_finalize`
    /// in WGSL).
    #[inline(always)]
    pub fn finalize<T: Float>(self, acc: T, d: usize) -> T {
        self.finalize_weighted(acc, d, d as f64)
    }

    /// [`Metric::finalize`] of terms multiplied by weights of sum `total` inside the kernels
    /// (`canberra`'s and `hamming`'s `w`; `total = d` without weights): hamming's mean divides
    /// by the total weight, SciPy's `np.average(u != v, weights=w)`, NaN where it is 0.
    #[inline(always)]
    pub fn finalize_weighted<T: Float>(self, acc: T, d: usize, total: f64) -> T {
        let two = T::one() + T::one();
        match self.definition().finalize {
            Finalize::Identity => acc,
            Finalize::Sqrt => acc.sqrt(),
            Finalize::Root => power(acc, T::from(self.exponent()).expect("float").recip()),
            // SciPy's values for points of no dimensions: norms 0/0, and distributions of sum 0.
            Finalize::HalfCapped if d == 0 => T::nan(),
            Finalize::SqrtHalf if d == 0 => T::infinity(),
            Finalize::HalfCapped => {
                let half = acc / two;
                // At most 2, as SciPy clips; NaN stays NaN.
                if half > two { two } else { half }
            }
            Finalize::SqrtHalf => (acc / two).sqrt(),
            Finalize::Mean => {
                if total == 0.0 {
                    T::nan()
                } else {
                    acc / T::from(total).expect("float")
                }
            }
        }
    }

    /// SciPy's names, for errors (the aliases are parsed too, and listed by `pairdist metrics`).
    fn valid_names() -> String {
        let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        format!("{} (and SciPy's aliases, such as manhattan)", names.join(", "))
    }

    /// A key that identifies the metric, exponent included (for `Eq` and `Hash`).
    fn key(self) -> (&'static str, u64) {
        (self.name(), self.exponent().to_bits())
    }
}

/// `a^p` for `a ≥ 0`, with `0^p = 0` (p > 0) however the platform's `pow` treats zero.
#[inline(always)]
pub(crate) fn power<T: Float>(a: T, p: T) -> T {
    if a == T::zero() { T::zero() } else { a.powf(p) }
}

/// SciPy's canberra term: `|x − y| / (|x| + |y|)`, 0 where both are 0 (NaN stays NaN).
#[inline(always)]
fn canberra<T: Float>(x: T, y: T) -> T {
    let den = x.abs() + y.abs();
    if den == T::zero() { T::zero() } else { (x - y).abs() / den }
}

/// Hamming's term: 1 where `x ≠ y` (NaN never equals anything), else 0.
#[inline(always)]
fn not_equal<T: Float>(x: T, y: T) -> T {
    if x == y { T::zero() } else { T::one() }
}

/// The Jensen–Shannon term of two probabilities `p` and `q`: with `m = (p + q) / 2`,
/// `p ln(p / m) + q ln(q / m)` (each part only where its probability is positive, as in
/// SciPy's loop), +∞ if either is negative.
///
/// Written as `m·g(t)` with `t = (p − q) / (p + q)` and `g(t) = (1 + t) ln(1 + t) + (1 − t)
/// ln(1 − t)`: for close probabilities the two logarithms are nearly opposite and their sum
/// cancels, so `g` is summed as its series `Σ t^2k / (k (2k − 1))` there (|t| ≤ 1/2).
#[inline(always)]
pub(crate) fn jensen_shannon<T: Float>(p: T, q: T) -> T {
    let zero = T::zero();
    if p < zero || q < zero {
        return T::infinity();
    }
    // Neither positive (zero, or NaN whose part SciPy skips): nothing added.
    if !(p > zero || q > zero) {
        return zero;
    }
    let one = T::one();
    let sum = p + q;
    let t = (p - q) / sum;
    let half = sum / (one + one);
    let g = if t.abs() <= T::from(0.5).expect("float") {
        let t2 = t * t;
        let mut s = zero;
        for k in (1..=js_series_terms::<T>()).rev() {
            s = s * t2 + js_series_coefficient(k);
        }
        s * t2
    } else {
        x_ln_x(one + t) + x_ln_x(one - t)
    };
    half * g
}

/// Terms of the series `g(t) = Σ_{k ≥ 1} t^2k / (k (2k − 1))` summed for |t| ≤ 1/2:
/// 0.25^k / (k (2k − 1)) is below f32's precision after 10 terms, f64's after 22.
pub(crate) fn js_series_terms<T>() -> usize {
    if size_of::<T>() == 4 { 10 } else { JS_MAX_TERMS }
}

/// The most terms [`js_series_terms`] asks for (f64's).
pub(crate) const JS_MAX_TERMS: usize = 22;

/// The series' k-th coefficient, 1 / (k (2k − 1)).
#[inline(always)]
pub(crate) fn js_series_coefficient<T: Float>(k: usize) -> T {
    T::from(1.0 / (k as f64 * (2 * k - 1) as f64)).expect("float")
}

/// `x ln x`, 0 at 0.
#[inline(always)]
fn x_ln_x<T: Float>(x: T) -> T {
    if x == T::zero() { T::zero() } else { x * x.ln() }
}

impl PartialEq for Metric {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key() && std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl Eq for Metric {}

impl std::hash::Hash for Metric {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        self.key().hash(state);
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Minkowski { p } => write!(f, "minkowski (p = {p})"),
            m => f.write_str(m.name()),
        }
    }
}

impl FromStr for Metric {
    type Err = Error;

    /// Parses SciPy's metric names (case-insensitive) and their aliases (`manhattan`);
    /// `minkowski` has SciPy's default `p = 2`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let lower = s.to_ascii_lowercase();
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == lower || m.definition().aliases.contains(&lower.as_str()))
            .ok_or_else(|| Error::UnknownMetric { name: s.to_string(), valid: Metric::valid_names() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The series and the closed form of the Jensen–Shannon term agree where they meet, and
    /// match the textbook formula away from cancellation.
    #[test]
    fn jensen_shannon_term_matches_the_formula() {
        let direct = |p: f64, q: f64| {
            let m = (p + q) / 2.0;
            let part = |a: f64| if a > 0.0 { a * (a / m).ln() } else { 0.0 };
            part(p) + part(q)
        };
        for (p, q) in [(0.3, 0.1), (0.1, 0.3), (0.2, 0.2), (0.5, 0.0), (0.0, 0.25), (0.3, 0.1 + 1e-9), (1.0, 1.0 / 3.0)]
        {
            let (got, want) = (jensen_shannon(p, q), direct(p, q));
            assert!((got - want).abs() <= 1e-15 + 1e-9 * want.abs(), "({p}, {q}): {got} vs {want}");
        }
        // Close probabilities: the direct form loses digits the series keeps; check against
        // the leading term of the expansion, (p − q)² / (4m).
        let (p, q) = (0.25, 0.25 * (1.0 + 1e-6));
        let lead = (p - q) * (p - q) / (2.0 * (p + q));
        assert!((jensen_shannon(p, q) / lead - 1.0).abs() < 1e-6);
        assert_eq!(jensen_shannon(-0.1, 0.2), f64::INFINITY);
        assert_eq!(jensen_shannon(0.0, 0.0), 0.0);
        assert!(jensen_shannon(f64::NAN, 0.2).is_nan());
        assert_eq!(jensen_shannon(f64::NAN, 0.0), 0.0);
        assert!((jensen_shannon(0.3f32, 0.1f32) as f64 - direct(0.3, 0.1)).abs() < 1e-7);
    }

    #[test]
    fn minkowski_resolves_to_the_fast_kernels() {
        assert_eq!(Metric::minkowski(1.0).unwrap().definition().term, Term::AbsoluteDifference);
        assert_eq!(Metric::minkowski(2.0).unwrap().definition().finalize, Finalize::Sqrt);
        assert_eq!(Metric::minkowski(f64::INFINITY).unwrap().definition().merge, Merge::Max);
        assert_eq!(Metric::minkowski(3.0).unwrap().definition().term, Term::PowerDifference);
        assert!(Metric::minkowski(-1.0).is_err() && Metric::minkowski(f64::NAN).is_err());
        assert_ne!(Metric::minkowski(3.0).unwrap(), Metric::minkowski(4.0).unwrap());
    }

    #[test]
    fn every_name_and_alias_parses_to_its_metric() {
        for m in Metric::ALL {
            assert_eq!(m.name().parse::<Metric>().unwrap().name(), m.name());
            for alias in m.definition().aliases {
                assert_eq!(alias.parse::<Metric>().unwrap().name(), m.name());
            }
        }
        let err = "nope".parse::<Metric>().unwrap_err().to_string();
        assert!(err.contains("jensenshannon") && err.contains("mahalanobis"), "{err}");
    }
}
