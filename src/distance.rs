//! A metric with its array parameters (weights `w`, `seuclidean`'s `V`, `mahalanobis`'s `VI`),
//! checked as SciPy checks them, and turned into what the kernels run.
//!
//! The kernels know unweighted metrics ([`Metric`]), and weights that multiply each term.
//! Every other parameter SciPy accepts is a change of coordinates, computed once per input row
//! in f64:
//!
//! | asked for                                  | computed as                                     |
//! |--------------------------------------------|-------------------------------------------------|
//! | chebyshev (minkowski p = ∞) with `w`       | chebyshev of the columns whose weight is > 0 (SciPy) |
//! | `seuclidean` with `V`                      | euclidean of the columns scaled by `1/√V`        |
//! | `mahalanobis` with `VI`                    | euclidean of the points mapped by `Lᵀ`, `VI = L Lᵀ` |
//! | cosine / correlation with `w`              | the rows (centred by their weighted mean) scaled by `√w`, then unit |
//! | braycurtis / jaccard with `w`              | cityblock of the columns (booleans for jaccard) scaled by `w`, then the denominator |
//!
//! The other weights (the minkowski family at p = 1, 2 or any finite p, `canberra`, `hamming`)
//! multiply each term inside the kernels, `Σ w (x − y)^p` as SciPy sums it (and hamming's mean
//! is over the total weight); see `src/weights.rs`. For canberra and hamming no scale of the
//! columns would do; for the minkowski family scaling the columns by `w^(1/p)` would, but it
//! rounds every coordinate before the difference is taken, which for points far from the
//! origin costs the difference its precision (7e-4 relative in f32 for points near 1e4).
//!
//! So a weighted or parameterised distance costs one pass over the inputs, O((n + m)·d) (d² for
//! mahalanobis), next to the O(n·m·d) of the pairs, and runs the fast kernel of its base metric.
//! The defaults are SciPy's: `V` the variances (ddof 1) and `VI` the inverse covariance of the
//! stacked inputs (of `X` alone for pdist). For mahalanobis the inverse is never formed: with
//! the covariance `C Cᵀ` (Cholesky), the map is `C⁻¹`.

use ndarray::{Array2, ArrayView1, ArrayView2, Axis, s};
use num_traits::Float;
use rayon::prelude::*;

use crate::element::Element;
use crate::error::{Error, Result};
use crate::linalg::{cholesky, lower_inverse};
use crate::metric::{Denominator, Merge, Metric, Prepare};
use crate::ratio::Ratio;
use crate::weights::TermWeights;

/// A metric and its parameters: what a user asks for. A [`Metric`] converts into one without
/// parameters, so every call that takes a `Distance` takes a `Metric` as well.
///
/// ```
/// use ndarray::array;
/// use pairdist::{Backend, Distance, Engine, Metric};
/// let engine = Engine::new(Backend::Cpu)?;
/// let x = array![[0.0f32, 0.0], [3.0, 4.0]];
/// // SciPy's cdist(x, x, 'euclidean', w=[1, 4]): √(1·3² + 4·4²) = √73.
/// let weighted = Distance::new(Metric::Euclidean).with_weights(vec![1.0, 4.0])?;
/// let d = engine.cdist(x.view(), x.view(), weighted)?;
/// assert!((d[[0, 1]] - 73f32.sqrt()).abs() < 1e-5);
/// // hamming(w=[1, 3]): the weight where x ≠ y over the total weight.
/// let hamming = Distance::new(Metric::Hamming).with_weights(vec![1.0, 3.0])?;
/// let y = array![[0.0f32, 4.0]];
/// assert_eq!(engine.cdist(x.view(), y.view(), hamming)?, array![[0.75], [0.25]]);
/// // Parameters the metric does not take are refused, as SciPy refuses them.
/// assert!(Distance::new(Metric::Canberra).with_variances(vec![1.0, 1.0]).is_err());
/// # Ok::<(), pairdist::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Distance {
    metric: Metric,
    weights: Option<Vec<f64>>,
    variances: Option<Vec<f64>>,
    inverse_covariance: Option<Array2<f64>>,
    /// Mahalanobis's map `C⁻¹` for a covariance `C Cᵀ` (given, or SciPy's default made
    /// explicit): the map the default computes, so that a default made explicit gives the
    /// default's numbers exactly (a `VI` formed from it and factored again would not).
    inverse_factor: Option<Array2<f64>>,
}

impl From<Metric> for Distance {
    fn from(metric: Metric) -> Self {
        Distance::new(metric)
    }
}

impl From<&Distance> for Distance {
    fn from(distance: &Distance) -> Self {
        distance.clone()
    }
}

impl Distance {
    /// The metric without parameters (SciPy's defaults for `V` and `VI`).
    pub fn new(metric: Metric) -> Self {
        Distance { metric, weights: None, variances: None, inverse_covariance: None, inverse_factor: None }
    }

    /// The metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Whether any parameter is set.
    pub fn has_parameters(&self) -> bool {
        self.weights.is_some() || self.variances.is_some() || self.has_covariance()
    }

    /// Whether mahalanobis's `VI` (or its covariance) is given or filled.
    pub fn has_covariance(&self) -> bool {
        self.inverse_covariance.is_some() || self.inverse_factor.is_some()
    }

    /// Weights `w` (one per dimension, non-negative), for the metrics SciPy weights: the
    /// minkowski family (`euclidean`, `sqeuclidean`, `cityblock`, `chebyshev`, `minkowski`),
    /// `cosine`, `correlation`, `canberra`, `hamming`, `braycurtis`, `jaccard` and SciPy's other
    /// boolean metrics (`dice`, `kulczynski1`, `rogerstanimoto`, `russellrao`,
    /// `sokalmichener`, `sokalsneath`, `yule`).
    pub fn with_weights(mut self, w: Vec<f64>) -> Result<Self> {
        let weighted = matches!(
            self.metric,
            Metric::Euclidean
                | Metric::SqEuclidean
                | Metric::Cityblock
                | Metric::Chebyshev
                | Metric::Minkowski { .. }
                | Metric::Cosine
                | Metric::Correlation
                | Metric::Canberra
                | Metric::Hamming
                | Metric::BrayCurtis
                | Metric::Jaccard
                | Metric::Dice
                | Metric::Kulczynski1
                | Metric::RogersTanimoto
                | Metric::RussellRao
                | Metric::SokalMichener
                | Metric::SokalSneath
                | Metric::Yule
        );
        if !weighted {
            return Err(Error::InvalidArgument(format!("metric '{}' takes no weights w", self.metric.name())));
        }
        if w.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument("Input weights should be finite".into()));
        }
        if w.iter().any(|&v| v < 0.0) {
            return Err(Error::InvalidArgument("Input weights should be all non-negative".into()));
        }
        self.weights = Some(w);
        Ok(self)
    }

    /// `seuclidean`'s variances `V` (one per dimension, positive and finite).
    ///
    /// SciPy also takes zero and negative variances, which give infinite, NaN or imaginary
    /// distances; they are refused here, one line saying so.
    pub fn with_variances(mut self, v: Vec<f64>) -> Result<Self> {
        if self.metric != Metric::SEuclidean {
            return Err(Error::InvalidArgument(format!("metric '{}' takes no variances V", self.metric.name())));
        }
        if let Some(bad) = v.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
            return Err(Error::InvalidArgument(format!("V must hold positive finite variances; it holds {bad}")));
        }
        self.variances = Some(v);
        Ok(self)
    }

    /// `mahalanobis`'s inverse covariance `VI` (d × d; its symmetric part is used, which is
    /// all the quadratic form sees).
    pub fn with_inverse_covariance(mut self, vi: Array2<f64>) -> Result<Self> {
        if self.metric != Metric::Mahalanobis {
            return Err(Error::InvalidArgument(format!(
                "metric '{}' takes no inverse covariance VI",
                self.metric.name()
            )));
        }
        if vi.nrows() != vi.ncols() {
            return Err(Error::InvalidArgument(format!(
                "VI must be a square matrix; got {} x {}",
                vi.nrows(),
                vi.ncols()
            )));
        }
        self.inverse_covariance = Some(vi);
        self.inverse_factor = None;
        Ok(self)
    }

    /// `mahalanobis` with the covariance `C` of the points given instead of its inverse: `VI =
    /// C⁻¹`, computed as SciPy's default is (the inverse of `C`'s Cholesky factor, never the
    /// inverse itself). For callers that compute the covariance of all the points themselves
    /// (Dask, over chunks): they then get the numbers the default gives.
    ///
    /// ```
    /// use ndarray::array;
    /// use pairdist::{Backend, Distance, Engine, Metric};
    /// let x = array![[0.0f64, 1.0], [2.0, 1.0], [4.0, 7.0], [1.0, 0.0]];
    /// let filled = Distance::new(Metric::Mahalanobis).with_defaults(x.view(), None)?;
    /// // The covariance of x (ddof 1).
    /// let c = array![[8.75 / 3.0, 4.75], [4.75, 10.25]];
    /// let given = Distance::new(Metric::Mahalanobis).with_covariance(c)?;
    /// let engine = Engine::new(Backend::Cpu)?;
    /// let (a, b) = (engine.pdist(x.view(), &filled)?, engine.pdist(x.view(), &given)?);
    /// assert!(a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 1e-12));
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn with_covariance(mut self, c: Array2<f64>) -> Result<Self> {
        if self.metric != Metric::Mahalanobis {
            return Err(Error::InvalidArgument(format!("metric '{}' takes no covariance", self.metric.name())));
        }
        if c.nrows() != c.ncols() {
            return Err(Error::InvalidArgument(format!(
                "the covariance must be a square matrix; got {} x {}",
                c.nrows(),
                c.ncols()
            )));
        }
        let d = c.nrows();
        let factor = cholesky(&c).filter(|f| (0..d).all(|k| f[(k, k)] > 0.0)).ok_or_else(|| {
            Error::InvalidArgument(
                "the covariance matrix of the inputs is singular, so it has no inverse; give VI".into(),
            )
        })?;
        self.inverse_factor = Some(lower_inverse(&factor));
        self.inverse_covariance = None;
        Ok(self)
    }

    /// This distance with SciPy's data-dependent defaults made explicit: `seuclidean`'s `V`
    /// (the variances of `x` stacked on `y`) and `mahalanobis`'s `VI` (the inverse of their
    /// covariance), for `x` against `y` (`None`: pdist of `x`). For callers that cut one
    /// problem into pieces (Dask blocks): the defaults must come from all the points, once.
    ///
    /// ```
    /// use ndarray::array;
    /// use pairdist::{Distance, Metric};
    /// let x = array![[0.0f64, 1.0], [2.0, 1.0], [4.0, 7.0]];
    /// let filled = Distance::new(Metric::SEuclidean).with_defaults(x.view(), None)?;
    /// assert_eq!(filled.variances(), Some(&[4.0, 12.0][..]));
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn with_defaults<T: Float>(&self, x: ArrayView2<T>, y: Option<ArrayView2<T>>) -> Result<Distance> {
        let mut filled = self.clone();
        match self.metric {
            Metric::SEuclidean if self.variances.is_none() => filled.variances = Some(variances(x, y)),
            Metric::Mahalanobis if !self.has_covariance() => {
                filled.inverse_factor = Some(default_map(x, y)?);
            }
            _ => {}
        }
        Ok(filled)
    }

    /// The weights, if given.
    pub fn weights(&self) -> Option<&[f64]> {
        self.weights.as_deref()
    }

    /// `seuclidean`'s variances, if given (or filled by [`Distance::with_defaults`]).
    pub fn variances(&self) -> Option<&[f64]> {
        self.variances.as_deref()
    }

    /// `mahalanobis`'s inverse covariance, if given (or implied by a covariance given or
    /// filled by [`Distance::with_defaults`]: `VI = C⁻ᵀ C⁻¹` for the covariance `C Cᵀ`).
    pub fn inverse_covariance(&self) -> Option<Array2<f64>> {
        match (&self.inverse_covariance, &self.inverse_factor) {
            (Some(vi), _) => Some(vi.clone()),
            (None, Some(m)) => Some(m.t().dot(m)),
            (None, None) => None,
        }
    }

    /// Checks the parameters against the inputs (`y = None`: pdist of `x`), fills SciPy's
    /// defaults from them, and says what the kernels run.
    pub fn resolve<T: Float>(&self, x: ArrayView2<T>, y: Option<ArrayView2<T>>) -> Result<Resolved> {
        let d = x.ncols();
        if let Some(y) = y {
            crate::validate::same_dims(d, y.ncols())?;
        }
        let metric = self.metric;
        let denominator = metric.definition().denominator;
        let mut resolved = Resolved {
            metric,
            kernel: match denominator {
                Some(denominator) => denominator.numerator(self.weights.is_some()),
                None => metric,
            },
            columns: Columns::Identity,
            prepare: metric.definition().prepare,
            mean_weights: None,
            term_weights: None,
            denominator,
        };
        if let Some(w) = &self.weights {
            if w.len() != d {
                return Err(Error::InvalidArgument(format!(
                    "Weights must have same size as input vector. {} vs. {d}.",
                    w.len()
                )));
            }
            let def = metric.definition();
            resolved.columns = match (metric, def.merge) {
                // SciPy's chebyshev keeps the dimensions with a positive weight.
                (_, Merge::Max) => Columns::Select((0..d).filter(|&k| w[k] > 0.0).collect()),
                (Metric::Cosine | Metric::Correlation, _) => Columns::Scale(w.iter().map(|v| v.sqrt()).collect()),
                // The ratios' numerator and denominators are sums of |w x| and |w x - w y|.
                _ if def.denominator.is_some() => Columns::Scale(w.clone()),
                // The weights go to the kernels, which multiply each term by its own, as SciPy
                // sums w (x - y)^q. No change of coordinates turns canberra and hamming into
                // the unweighted metric; for the minkowski family, scaling the columns by
                // w^(1/q) would, but would round each coordinate before the difference is
                // taken, losing the precision of differences of points far from the origin.
                _ => {
                    resolved.term_weights = Some(TermWeights::new(w.clone()));
                    Columns::Identity
                }
            };
            if metric == Metric::Correlation {
                resolved.mean_weights = Some(w.clone());
            }
        }
        match metric {
            Metric::SEuclidean => {
                let v = match &self.variances {
                    Some(v) => v.clone(),
                    None => variances(x, y),
                };
                if v.len() != d {
                    return Err(Error::InvalidArgument(format!(
                        "Variance vector V must be of the same dimension as the vectors on which the distances are computed ({} vs. {d})",
                        v.len()
                    )));
                }
                resolved.kernel = Metric::Euclidean;
                resolved.columns = Columns::Scale(v.iter().map(|v| 1.0 / v.sqrt()).collect());
            }
            Metric::Mahalanobis => {
                let map = match (&self.inverse_factor, &self.inverse_covariance) {
                    (Some(m), _) => {
                        if m.nrows() != d {
                            return Err(Error::InvalidArgument(format!(
                                "the covariance is {} x {} but the points have {d} dimensions",
                                m.nrows(),
                                m.ncols()
                            )));
                        }
                        m.clone()
                    }
                    (None, Some(vi)) => {
                        if vi.nrows() != d {
                            return Err(Error::InvalidArgument(format!(
                                "VI is {} x {} but the points have {d} dimensions",
                                vi.nrows(),
                                vi.ncols()
                            )));
                        }
                        let sym = Array2::from_shape_fn((d, d), |(i, j)| 0.5 * (vi[(i, j)] + vi[(j, i)]));
                        let l = cholesky(&sym).ok_or_else(|| {
                            Error::InvalidArgument(
                                "VI is not positive semi-definite, so it is no inverse covariance".into(),
                            )
                        })?;
                        // |Lᵀ v|² = vᵀ L Lᵀ v = vᵀ VI v.
                        l.reversed_axes()
                    }
                    (None, None) => default_map(x, y)?,
                };
                resolved.kernel = Metric::Euclidean;
                resolved.columns = Columns::Map(map);
            }
            _ => {}
        }
        Ok(resolved)
    }
}

/// Rows per block of [`Resolved::prepare`] (a task for one core).
const PREPARE_ROWS: usize = 1024;

/// A distance with its defaults filled in and checked against the inputs: the kernel metric,
/// and the change of coordinates and per-row preparation before it.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The metric asked for.
    metric: Metric,
    kernel: Metric,
    columns: Columns,
    prepare: Prepare,
    /// The weights of the mean that `correlation` subtracts (SciPy's `np.average(u, weights=w)`).
    mean_weights: Option<Vec<f64>>,
    /// Weights that multiply each term inside the kernels (the minkowski family, `canberra`,
    /// `hamming`).
    term_weights: Option<TermWeights>,
    /// What the kernel's result is divided by (`braycurtis`, `jaccard`).
    denominator: Option<Denominator>,
}

/// A change of coordinates, applied to every row.
#[derive(Clone, Debug)]
enum Columns {
    Identity,
    /// Column `k` times `scale[k]`.
    Scale(Vec<f64>),
    /// Only these columns.
    Select(Vec<usize>),
    /// `x ↦ M x`, for `M` (d × d).
    Map(Array2<f64>),
}

impl Resolved {
    /// The metric asked for: what the results are (and what their tolerance follows).
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The metric the kernels run on the prepared points.
    pub fn kernel(&self) -> Metric {
        self.kernel
    }

    /// What the kernel's result is divided by, for the metrics that are a ratio of two sums
    /// (`braycurtis`, `jaccard`): the distance is not the kernel's alone.
    pub fn denominator(&self) -> Option<Denominator> {
        self.denominator
    }

    /// The scale of a point as the kernel sees it ([`Resolved::point`]) for the tolerance of
    /// its results ([`reference::tolerance`](crate::cpu::reference::tolerance)): its largest
    /// |coordinate|, each times its weight to the power 1/q where the weights multiply the
    /// kernel's terms |x − y|^q (w·|d|^q = (w^(1/q)·|d|)^q: that is the size of the term whose
    /// rounding the tolerance allows for).
    ///
    /// ```
    /// use ndarray::array;
    /// use pairdist::{Distance, Metric};
    ///
    /// let x = array![[1.0, -3.0]];
    /// let plain = Distance::from(Metric::SqEuclidean).resolve(x.view(), None)?;
    /// assert_eq!(plain.scale(&plain.point(x.row(0))), 3.0);
    /// // Weights 4 and 1/9 inside the kernel: the terms are (2·d₀)² and (d₁/3)².
    /// let weighted = Distance::from(Metric::SqEuclidean).with_weights(vec![4.0, 1.0 / 9.0])?;
    /// let weighted = weighted.resolve(x.view(), None)?;
    /// assert!((weighted.scale(&weighted.point(x.row(0))) - 2.0).abs() < 1e-15);
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn scale(&self, point: &[f64]) -> f64 {
        let q = self.kernel.term_power().unwrap_or(1.0);
        match &self.term_weights {
            Some(w) => point.iter().zip(w.values()).fold(0.0, |m, (v, w)| m.max(v.abs() * w.powf(1.0 / q))),
            None => point.iter().fold(0.0, |m, v| m.max(v.abs())),
        }
    }

    /// Whether the points go to the kernels as they are.
    pub fn is_identity(&self) -> bool {
        matches!(self.columns, Columns::Identity) && self.prepare == Prepare::None
    }

    /// One point as the kernel sees it, in f64.
    pub fn point<T: Float>(&self, row: ArrayView1<T>) -> Vec<f64> {
        let mut v: Vec<f64> = row.iter().map(|&v| to_f64(v)).collect();
        if matches!(self.prepare, Prepare::Unit | Prepare::CenteredUnit) {
            unit_scale(&mut v);
        }
        if self.prepare == Prepare::Boolean {
            // SciPy's `u != 0`: NaN counts as nonzero.
            v.iter_mut().for_each(|a| *a = if *a == 0.0 { 0.0 } else { 1.0 });
        }
        if self.prepare == Prepare::CenteredUnit {
            let (sum, total) = match &self.mean_weights {
                Some(w) => (v.iter().zip(w).map(|(a, w)| a * w).sum::<f64>(), w.iter().sum::<f64>()),
                None => (v.iter().sum::<f64>(), v.len() as f64),
            };
            let mean = sum / total;
            v.iter_mut().for_each(|a| *a -= mean);
        }
        v = match &self.columns {
            Columns::Identity => v,
            Columns::Scale(s) => v.iter().zip(s).map(|(a, s)| a * s).collect(),
            Columns::Select(keep) => keep.iter().map(|&k| v[k]).collect(),
            Columns::Map(m) => m.rows().into_iter().map(|r| r.iter().zip(&v).map(|(a, b)| a * b).sum()).collect(),
        };
        match self.prepare {
            Prepare::None | Prepare::Boolean => {}
            Prepare::Unit | Prepare::CenteredUnit => {
                let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
                v.iter_mut().for_each(|a| *a /= norm);
            }
            Prepare::Probability => {
                let sum: f64 = v.iter().sum();
                // SciPy: a negative entry or a zero sum makes every distance of the row +∞.
                if v.iter().any(|&a| a < 0.0) || sum == 0.0 {
                    v.iter_mut().for_each(|a| *a = -1.0);
                } else {
                    v.iter_mut().for_each(|a| *a /= sum);
                }
            }
        }
        v
    }

    /// The points as the kernel sees them, rounded once to `T`; `None` when that is `x` itself.
    /// Blocks of rows on all cores; mahalanobis's map is one matrix product per block.
    pub fn prepare<T: Float + Send + Sync>(&self, x: ArrayView2<T>) -> Option<Array2<T>> {
        if self.is_identity() {
            return None;
        }
        let d = match &self.columns {
            Columns::Select(keep) => keep.len(),
            _ => x.ncols(),
        };
        let mut out = Array2::from_elem((x.nrows(), d), T::zero());
        out.axis_chunks_iter_mut(Axis(0), PREPARE_ROWS).into_par_iter().enumerate().for_each(|(b, mut dst)| {
            let rows = x.slice(s![b * PREPARE_ROWS..b * PREPARE_ROWS + dst.nrows(), ..]);
            match &self.columns {
                // Mahalanobis prepares no rows otherwise (`Prepare::None`): the map is all.
                Columns::Map(m) if self.prepare == Prepare::None => {
                    let mapped = rows.map(|&v| to_f64(v)).dot(&m.t());
                    dst.zip_mut_with(&mapped, |o, &v| *o = T::from(v).unwrap_or_else(T::nan));
                }
                _ => {
                    for (row, mut o) in rows.rows().into_iter().zip(dst.rows_mut()) {
                        o.iter_mut().zip(self.point(row)).for_each(|(o, v)| *o = T::from(v).unwrap_or_else(T::nan));
                    }
                }
            }
        });
        Some(out)
    }

    /// The distance between two points, in f64 (the reference).
    pub fn distance<T: Float>(&self, x: ArrayView1<T>, y: ArrayView1<T>) -> f64 {
        self.between(&self.point(x), &self.point(y))
    }

    /// The distance between two points as [`Resolved::point`] gives them, in f64: the kernel's
    /// metric (its terms weighted for canberra and hamming), divided by the denominator where
    /// there is one.
    pub fn between(&self, a: &[f64], b: &[f64]) -> f64 {
        let numerator = crate::twin::weighted_kernel_distance(a, b, self.kernel, self.term_weights.as_ref());
        match self.denominator {
            Some(denominator) => crate::ratio::of_points(denominator, numerator, a, b, self.total_weight(a.len())),
            None => numerator,
        }
    }

    /// Whether the kernels see the columns scaled by weights (a weighted ratio's).
    pub(crate) fn scales_columns(&self) -> bool {
        matches!(self.columns, Columns::Scale(_))
    }

    /// The total weight of the `d` columns the kernels see: the sum of the weights of a ratio
    /// metric's scaled columns (the boolean formulas' `nff` needs it), else `d`.
    pub(crate) fn total_weight(&self, d: usize) -> f64 {
        match (&self.denominator, &self.columns) {
            (Some(_), Columns::Scale(w)) => w.iter().sum(),
            _ => d as f64,
        }
    }
}

/// Divides a row of a scale-invariant metric (cosine, correlation) by its largest |coordinate|,
/// so that neither its mean nor its squared norm leaves f64's range (|x| beyond about 1e154
/// or below 1e-154 would square to ∞ or to 0, and the unit row would be wrong): the distance
/// is unchanged, exactly so in real arithmetic, and to an ulp of each coordinate in f64. A zero
/// row stays zero (its distances are SciPy's 0/0), and a row holding ∞ or NaN is left as it
/// is (its distances are NaN, as SciPy's).
fn unit_scale(v: &mut [f64]) {
    let largest = v.iter().fold(0.0f64, |m, a| m.max(a.abs()));
    if largest > 0.0 && largest.is_finite() && v.iter().all(|a| a.is_finite()) {
        v.iter_mut().for_each(|a| *a /= largest);
    }
}

/// The map `C⁻¹` of mahalanobis's default, for the covariance `C Cᵀ` of `x` stacked on `y`
/// (`|C⁻¹ v|² = vᵀ VI v`): SciPy's checks, then the factor, never the inverse itself.
fn default_map<T: Float>(x: ArrayView2<T>, y: Option<ArrayView2<T>>) -> Result<Array2<f64>> {
    let d = x.ncols();
    let rows = stacked_rows(x, y);
    if rows <= d {
        return Err(Error::InvalidArgument(format!(
            "The number of observations ({rows}) is too small; the covariance matrix is singular. For observations with {d} dimensions, at least {} observations are required.",
            d + 1
        )));
    }
    let c = cholesky(&covariance(x, y)).filter(|c| (0..d).all(|k| c[(k, k)] > 0.0)).ok_or_else(|| {
        Error::InvalidArgument("the covariance matrix of the inputs is singular, so it has no inverse; give VI".into())
    })?;
    Ok(lower_inverse(&c))
}

/// The variances (ddof 1) of the columns of `x` stacked on `y`.
fn variances<T: Float>(x: ArrayView2<T>, y: Option<ArrayView2<T>>) -> Vec<f64> {
    let mean = means(x, y);
    let n = stacked_rows(x, y) as f64;
    let squares = column_sums(x, y, |k, v| (v - mean[k]) * (v - mean[k]));
    squares.iter().map(|s| s / (n - 1.0)).collect()
}

/// The covariance (ddof 1) of the columns of `x` stacked on `y`: `Cᵀ C / (n − 1)` of the
/// centred columns, as a sum of blocked matrix products of bands of rows, one per core.
fn covariance<T: Float>(x: ArrayView2<T>, y: Option<ArrayView2<T>>) -> Array2<f64> {
    let c = centred(x, y);
    let d = c.ncols();
    let band = c.nrows().div_ceil(rayon::current_num_threads()).max(1);
    let sum = c
        .axis_chunks_iter(Axis(0), band)
        .into_par_iter()
        .map(|rows| rows.t().dot(&rows))
        .reduce(|| Array2::zeros((d, d)), |a, b| a + b);
    sum / (c.nrows() as f64 - 1.0)
}

/// `x` stacked on `y`, in f64, minus the column means.
fn centred<T: Float>(x: ArrayView2<T>, y: Option<ArrayView2<T>>) -> Array2<f64> {
    let mean = means(x, y);
    let mut all = Array2::zeros((stacked_rows(x, y), x.ncols()));
    let mut out = all.rows_mut().into_iter();
    for part in [Some(x), y].into_iter().flatten() {
        for (row, mut o) in part.rows().into_iter().zip(&mut out) {
            o.iter_mut().zip(row).zip(&mean).for_each(|((o, v), m)| *o = to_f64(*v) - m);
        }
    }
    all
}

/// The column means of `x` stacked on `y`.
fn means<T: Float>(x: ArrayView2<T>, y: Option<ArrayView2<T>>) -> Vec<f64> {
    let n = stacked_rows(x, y) as f64;
    column_sums(x, y, |_, v| v).iter().map(|s| s / n).collect()
}

/// Rows of `x` stacked on `y`.
fn stacked_rows<T>(x: ArrayView2<T>, y: Option<ArrayView2<T>>) -> usize {
    x.nrows() + y.map_or(0, |y| y.nrows())
}

/// `Σ f(k, v)` over each column `k` of `x` stacked on `y`, read row by row: a column at a time
/// strides through memory, which at d = 1024 took longer than the distances themselves.
fn column_sums<T: Float>(x: ArrayView2<T>, y: Option<ArrayView2<T>>, f: impl Fn(usize, f64) -> f64) -> Vec<f64> {
    let mut sums = vec![0.0; x.ncols()];
    for part in [Some(x), y].into_iter().flatten() {
        for row in part.rows() {
            sums.iter_mut().zip(row).enumerate().for_each(|(k, (s, v))| *s += f(k, to_f64(*v)));
        }
    }
    sums
}

/// `v` in f64 (NaN if it has no value there).
fn to_f64<T: Float>(v: T) -> f64 {
    v.to_f64().unwrap_or(f64::NAN)
}

/// The points as the kernels see them (see [`Distance`]): owned copies where the distance
/// changes coordinates or prepares rows, nothing otherwise.
pub(crate) struct Prepared<T> {
    x: Option<Array2<T>>,
    y: Option<Array2<T>>,
    /// The metric the kernels run on the prepared points.
    pub(crate) kernel: Metric,
    /// The denominator's sums per row, for the metrics that are a ratio of two sums.
    pub(crate) ratio: Option<Ratio>,
    /// The weights of the kernel's terms (the minkowski family's, canberra's and hamming's `w`).
    pub(crate) weights: Option<TermWeights>,
}

impl<T: Element> Prepared<T> {
    /// `distance` resolved against `x` and `y` (`None`: pdist of `x`), and the points it changes.
    pub(crate) fn new(distance: &Distance, x: ArrayView2<T>, y: Option<ArrayView2<T>>) -> Result<Prepared<T>> {
        let resolved = distance.resolve(x, y)?;
        if !resolved.is_identity() {
            log::debug!("{}: preparing {} + {} rows", distance.metric(), x.nrows(), y.map_or(0, |y| y.nrows()));
        }
        let mut prepared = Prepared {
            x: resolved.prepare(x),
            y: y.and_then(|y| resolved.prepare(y)),
            kernel: resolved.kernel(),
            ratio: None,
            weights: resolved.term_weights.clone(),
        };
        if let Some(denominator) = resolved.denominator() {
            let (px, py) = prepared.views(x, y);
            prepared.ratio =
                Some(Ratio::new(denominator, px, py, resolved.total_weight(px.ncols()), resolved.scales_columns()));
        }
        Ok(prepared)
    }

    /// Queries `x` prepared by `resolved` (an [`Index`](crate::Index)'s distance, its defaults
    /// taken from the base) against `base`, already prepared by it.
    pub(crate) fn for_queries(resolved: &Resolved, x: ArrayView2<T>, base: ArrayView2<T>) -> Prepared<T> {
        let mut prepared = Prepared {
            x: resolved.prepare(x),
            y: None,
            kernel: resolved.kernel(),
            ratio: None,
            weights: resolved.term_weights.clone(),
        };
        if let Some(denominator) = resolved.denominator() {
            let (px, _) = prepared.views(x, None);
            prepared.ratio = Some(Ratio::new(
                denominator,
                px,
                Some(base),
                resolved.total_weight(px.ncols()),
                resolved.scales_columns(),
            ));
        }
        prepared
    }

    /// The points the kernels see: the prepared copies, or `x` and `y` as given.
    pub(crate) fn views<'a: 'p, 'p>(
        &'p self,
        x: ArrayView2<'a, T>,
        y: Option<ArrayView2<'a, T>>,
    ) -> (ArrayView2<'p, T>, Option<ArrayView2<'p, T>>) {
        (self.x.as_ref().map_or(x, |a| a.view()), y.map(|y| self.y.as_ref().map_or(y, |a| a.view())))
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn parameters_are_checked_as_scipy_checks_them() {
        let x = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 7.0]];
        let bad_len = Distance::new(Metric::Euclidean).with_weights(vec![1.0, 2.0]).unwrap().resolve(x.view(), None);
        assert_eq!(bad_len.unwrap_err().to_string(), "Weights must have same size as input vector. 2 vs. 3.");
        assert!(Distance::new(Metric::Euclidean).with_weights(vec![1.0, -2.0, 1.0]).is_err());
        assert!(Distance::new(Metric::JensenShannon).with_weights(vec![1.0; 3]).is_err());
        assert!(Distance::new(Metric::Euclidean).with_variances(vec![1.0; 3]).is_err());
        assert!(Distance::new(Metric::Mahalanobis).with_inverse_covariance(Array2::zeros((2, 3))).is_err());
        let few = Distance::new(Metric::Mahalanobis).resolve(x.view(), None).unwrap_err().to_string();
        assert!(few.contains("at least 4 observations"), "{few}");
    }
}
