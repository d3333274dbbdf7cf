//! A base of points fitted once and queried many times: [`Index`], as scikit-learn's
//! `NearestNeighbors`, FAISS's flat index and cuML's brute-force neighbours are used.

use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView2};

use crate::answer::{Neighbors, Pairs, TopK, Within, knn::collect};
use crate::distance::{Distance, Prepared, Resolved};
use crate::element::Element;
use crate::engine::{Engine, Resident};
use crate::error::Result;
use crate::job::{Answer, Job};
use crate::monitor::Monitor;
use crate::validate;

/// A base of points prepared once for a metric on an engine, then searched by any number of
/// query batches: the k nearest, the pairs within a radius, the nearest one.
///
/// Building it does, once, what every call of [`Engine::knn`] does to its base: the metric's
/// data-dependent defaults are taken from the base alone (`seuclidean`'s variances,
/// `mahalanobis`'s inverse covariance, as scikit-learn fits them), the base is mapped to the
/// kernels' coordinates (unit rows for cosine, the Cholesky map for mahalanobis, ...), and on
/// a GPU it is uploaded and kept on the device, so that later batches upload only their
/// queries ([`Stats::bytes_uploaded`](crate::Stats::bytes_uploaded) shows it). A base larger
/// than four times the engine's memory budget stays on the host and is uploaded per batch.
///
/// Answers are those of the engine's own calls on the same points, ties to the smaller index.
///
/// ```
/// use ndarray::array;
/// use pairdist::{Backend, Engine, Index, Metric};
///
/// let engine = Engine::new(Backend::Auto)?;
/// let base = array![[0.0f32, 0.0], [1.0, 0.0], [5.0, 5.0], [6.0, 5.0]];
/// let index = Index::new(&engine, base.view(), Metric::Euclidean)?;
/// let nn = index.knn(array![[0.9f32, 0.1], [5.2, 5.0]].view(), 2)?;
/// assert_eq!(nn.indices, array![[1, 0], [2, 3]]);
/// let (nearest, _) = index.argmin(array![[6.0f32, 4.0]].view())?;
/// assert_eq!(nearest, array![3]);
/// let pairs = index.radius(array![[0.5f32, 0.0]].view(), 0.5, 100)?;
/// assert_eq!(pairs.cols, vec![0, 1]);
/// # Ok::<(), pairdist::Error>(())
/// ```
///
/// Cloning an index is cheap and shares its base; [`Index::watched`] gives a clone whose
/// queries report to a monitor of their own.
#[derive(Clone)]
pub struct Index<T: Element = f32> {
    engine: Engine,
    fitted: Arc<Fitted<T>>,
}

/// What an index fits once.
struct Fitted<T> {
    /// The distance asked for, its defaults made explicit from the base.
    distance: Distance,
    resolved: Resolved,
    /// The base in the kernels' coordinates.
    base: Array2<T>,
    /// The base on the device, where the engine keeps it.
    resident: Option<Resident>,
}

impl<T: Element> Index<T> {
    /// Fits `metric` (with its parameters) to `base` on `engine`: prepares the base once, and
    /// on a GPU uploads it. Fails as the engine's calls do on bad parameters (a `w` of the wrong
    /// length, too few points for mahalanobis's default).
    pub fn new(engine: &Engine, base: ArrayView2<T>, metric: impl Into<Distance>) -> Result<Index<T>> {
        let distance = metric.into().with_defaults(base, None)?;
        engine.on_threads(|| {
            let resolved = distance.resolve(base, None)?;
            let prepared = resolved.prepare(base).unwrap_or_else(|| base.to_owned());
            let resident = engine.upload_base(prepared.view())?;
            let fitted = Fitted { distance, resolved, base: prepared, resident };
            Ok(Index { engine: engine.clone(), fitted: Arc::new(fitted) })
        })
    }

    /// Points in the base.
    pub fn len(&self) -> usize {
        self.fitted.base.nrows()
    }

    /// Whether the base has no points.
    pub fn is_empty(&self) -> bool {
        self.fitted.base.nrows() == 0
    }

    /// Dimensions of the points.
    pub fn dim(&self) -> usize {
        self.fitted.base.ncols()
    }

    /// The distance, with the defaults taken from the base made explicit.
    pub fn distance(&self) -> &Distance {
        &self.fitted.distance
    }

    /// Whether the base is kept on a GPU (else every batch reads it from the host).
    pub fn is_resident(&self) -> bool {
        self.fitted.resident.is_some()
    }

    /// A clone of this index whose queries count their pairs on `monitor` and stop when it
    /// asks (see [`Engine::watched`]).
    pub fn watched(&self, monitor: Arc<Monitor>) -> Index<T> {
        Index { engine: self.engine.watched(monitor), fitted: self.fitted.clone() }
    }

    /// The engine the index runs on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs `answer` for `queries` against the whole base.
    fn query(&self, queries: ArrayView2<T>, answer: Answer<'_, T>) -> Result<()> {
        validate::same_dims(queries.ncols(), self.dim())?;
        self.engine.on_threads(|| {
            let base = self.fitted.base.view();
            let prepared = Prepared::for_queries(&self.fitted.resolved, queries, base);
            let (x, _) = prepared.views(queries, None);
            let job = Job::new(x, Some(base), prepared.kernel, answer);
            self.engine.run_prepared(job, &prepared, self.fitted.resident.as_ref())
        })
    }

    /// The `k` nearest points of the base to every query, as [`Engine::knn`] gives them.
    pub fn knn(&self, queries: ArrayView2<T>, k: usize) -> Result<Neighbors<T>> {
        validate::neighbours(k, self.len())?;
        let mut lists = vec![TopK::new(k); queries.nrows()];
        self.query(queries, Answer::Nearest { k, lists: &mut lists })?;
        Ok(collect(&lists, k))
    }

    /// The nearest point of the base to every query and its distance, as [`Engine::argmin`].
    pub fn argmin(&self, queries: ArrayView2<T>) -> Result<(Array1<i64>, Array1<T>)> {
        let nn = self.knn(queries, 1)?;
        Ok((nn.indices.column(0).to_owned(), nn.distances.column(0).to_owned()))
    }

    /// Every (query, base point) pair at distance at most `r`, as [`Engine::radius`].
    pub fn radius(&self, queries: ArrayView2<T>, r: T, max_pairs: usize) -> Result<Pairs<T>> {
        validate::radius(r)?;
        let mut rows = vec![Within::default(); queries.nrows()];
        self.query(queries, Answer::Within { r, max_pairs, rows: &mut rows })?;
        let mut pairs = Pairs::default();
        for (i, within) in rows.iter().enumerate() {
            pairs.push_row(i, within);
        }
        Ok(pairs)
    }
}

impl<T: Element> std::fmt::Debug for Index<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("points", &self.len())
            .field("dim", &self.dim())
            .field("metric", &self.fitted.distance.metric())
            .field("resident", &self.is_resident())
            .finish()
    }
}
