//! The `k` nearest columns of every row.

use ndarray::{Array2, ArrayView2};

use crate::element::Element;
use crate::error::Result;
use crate::plan::Tile;
use crate::sink::Sink;

/// The `k` nearest neighbours of every row of X among the rows of Y, shaped like
/// scikit-learn's `kneighbors` result: row `i` holds its neighbours by ascending distance, ties
/// broken by the smaller index. NaN distances come after every number. Distances are in the
/// type computed in (`f32` or `f64`).
#[derive(Clone, Debug, PartialEq)]
pub struct Neighbors<T = f32> {
    /// `n × k` distances, ascending along each row.
    pub distances: Array2<T>,
    /// `n × k` indices into the rows of Y.
    pub indices: Array2<i64>,
}

impl<T: Element> Neighbors<T> {
    /// Rows' lists as `n × k` arrays, a list with fewer than `k` candidates padded with index
    /// -1 and a NaN distance: the form of partial answers that [`Neighbors::merge`] takes (a
    /// shard's lists, where a shard holds fewer than `k` points).
    ///
    /// ```
    /// use pairdist::answer::TopK;
    /// use pairdist::Neighbors;
    /// let mut list = TopK::new(3);
    /// list.offer(2.0f32, 7);
    /// let nn = Neighbors::padded(&[list], 3);
    /// assert_eq!(nn.indices.row(0).to_vec(), vec![7, -1, -1]);
    /// ```
    pub fn padded(lists: &[TopK<T>], k: usize) -> Neighbors<T> {
        let n = lists.len();
        let mut distances = Array2::from_elem((n, k), T::nan());
        let mut indices = Array2::from_elem((n, k), -1);
        for (i, list) in lists.iter().enumerate() {
            for (c, &(v, j)) in list.best.iter().take(k).enumerate() {
                distances[(i, c)] = v;
                indices[(i, c)] = j;
            }
        }
        Neighbors { distances, indices }
    }

    /// The `k` best of several partial answers for the same rows (their candidates merged by
    /// (distance, index), the order every backend gives, padding skipped), padded as
    /// [`Neighbors::padded`] where fewer than `k` are known: partial k-nearest lists of shards
    /// of a base merge into the whole base's answer, exactly.
    ///
    /// ```
    /// use ndarray::array;
    /// use pairdist::Neighbors;
    /// let a = Neighbors { distances: array![[1.0f32, 3.0]], indices: array![[0, 1]] };
    /// let b = Neighbors { distances: array![[2.0f32, f32::NAN]], indices: array![[5, -1]] };
    /// let merged = Neighbors::merge(&[a, b], 2)?;
    /// assert_eq!(merged.indices, array![[0, 5]]);
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn merge(parts: &[Neighbors<T>], k: usize) -> crate::Result<Neighbors<T>> {
        let n = parts.first().map_or(0, |p| p.indices.nrows());
        if let Some(p) = parts.iter().find(|p| p.indices.nrows() != n || p.distances.dim() != p.indices.dim()) {
            return Err(crate::Error::InvalidArgument(format!(
                "partial neighbour lists of {n} rows and of {:?} cannot merge",
                p.indices.dim()
            )));
        }
        let mut lists = vec![TopK::new(k); n];
        for part in parts {
            for ((i, &j), &v) in part.indices.indexed_iter().zip(part.distances.iter()) {
                if j >= 0 {
                    lists[i.0].offer(v, j);
                }
            }
        }
        Ok(Neighbors::padded(&lists, k))
    }
}

/// Whether candidate `a` comes before `b`: the smaller distance (NaN after every number), then
/// the smaller index. A total order, so every tiling and backend gives the same lists.
#[inline]
fn before<T: Element>(a: (T, i64), b: (T, i64)) -> bool {
    match (a.0.is_nan(), b.0.is_nan()) {
        (false, false) => a.0 < b.0 || (a.0 == b.0 && a.1 < b.1),
        (false, true) => true,
        (true, false) => false,
        (true, true) => a.1 < b.1,
    }
}

/// One row's best `k` candidates so far, in order.
#[derive(Clone, Debug)]
pub struct TopK<T = f32> {
    k: usize,
    best: Vec<(T, i64)>,
}

impl<T: Element> TopK<T> {
    /// An empty list that keeps at most `k` candidates.
    pub fn new(k: usize) -> Self {
        TopK { k, best: Vec::with_capacity(k) }
    }

    /// Offers column `j` at distance `v`; kept if it is among the `k` best so far.
    #[inline]
    pub fn offer(&mut self, v: T, j: i64) {
        if self.best.len() == self.k {
            // The common case once the list is full: one comparison with the k-th.
            let worst = self.best[self.k - 1];
            if v > worst.0 || !before((v, j), worst) {
                return;
            }
            self.best.pop();
        }
        let at = self.best.partition_point(|&c| before(c, (v, j)));
        self.best.insert(at, (v, j));
    }

    /// Offers the columns `first, first + 1, …` at the distances `values`.
    ///
    /// Once the list is full, almost every value loses to the k-th: runs of 32 values are
    /// first compared with it all at once (an OR-reduction of compares, which LLVM
    /// vectorises), and only runs holding a possible winner are offered one by one. NaN
    /// compares false, so it always takes the exact path. The loop is compiled for AVX-512 or
    /// AVX2 where the CPU has them (the crate's baseline target only has 4-wide SSE).
    #[inline]
    pub fn offer_run(&mut self, first: usize, values: &[T]) {
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn avx512<T: Element>(list: &mut TopK<T>, first: usize, values: &[T]) {
                list.offer_run_portable(first, values)
            }
            #[target_feature(enable = "avx2")]
            fn avx2<T: Element>(list: &mut TopK<T>, first: usize, values: &[T]) {
                list.offer_run_portable(first, values)
            }
            static LEVEL: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
            let level = *LEVEL.get_or_init(|| match is_x86_feature_detected!("avx512f") {
                true => 2,
                false => u8::from(is_x86_feature_detected!("avx2")),
            });
            // SAFETY: each entry point runs only on a CPU that reported its feature.
            match level {
                2 => return unsafe { avx512(self, first, values) },
                1 => return unsafe { avx2(self, first, values) },
                _ => {}
            }
        }
        self.offer_run_portable(first, values)
    }

    #[inline(always)]
    #[expect(clippy::neg_cmp_op_on_partial_ord, reason = "NaN must count as not above the k-th")]
    fn offer_run_portable(&mut self, first: usize, values: &[T]) {
        const RUN: usize = 32;
        let mut c = 0;
        while self.best.len() < self.k && c < values.len() {
            self.offer(values[c], (first + c) as i64);
            c += 1;
        }
        if self.best.len() < self.k {
            return; // values ran out before the list filled
        }
        let rest = &values[c..];
        let mut runs = rest.chunks_exact(RUN);
        // The k-th distance, kept in a register and refreshed only when the list changes.
        let mut worst = self.best[self.k - 1].0;
        for (r, run) in runs.by_ref().enumerate() {
            if run.iter().fold(0u32, |any, &v| any | u32::from(!(v > worst))) == 0 {
                continue;
            }
            let at = first + c + r * RUN;
            for (i, &v) in run.iter().enumerate() {
                if v > worst {
                    continue;
                }
                self.offer(v, (at + i) as i64);
                worst = self.best[self.k - 1].0;
            }
        }
        let tail = runs.remainder();
        let at = first + values.len() - tail.len();
        for (i, &v) in tail.iter().enumerate() {
            self.offer(v, (at + i) as i64);
        }
    }

    /// The candidates kept, best first.
    pub fn as_slice(&self) -> &[(T, i64)] {
        &self.best
    }
}

/// Gathers rows' lists into [`Neighbors`] (`n × k`; every list must be full).
pub(crate) fn collect<T: Element>(lists: &[TopK<T>], k: usize) -> Neighbors<T> {
    let n = lists.len();
    let mut distances = Array2::zeros((n, k));
    let mut indices = Array2::zeros((n, k));
    for (i, list) in lists.iter().enumerate() {
        debug_assert_eq!(list.best.len(), k, "row {i} has too few candidates");
        for (c, &(v, j)) in list.best.iter().enumerate() {
            distances[(i, c)] = v;
            indices[(i, c)] = j;
        }
    }
    Neighbors { distances, indices }
}

/// A sink that offers the distances of the tiles it is given to one [`TopK`] list per row.
///
/// For X against itself it takes the tiles of the strict upper triangle (`pdist`'s plan,
/// half the work) and offers each pair to both of its rows; a point is never its own
/// neighbour. Columns are reported as `col0 +` their index in the tiles.
pub struct KnnSink<'l, T = f32> {
    lists: &'l mut [TopK<T>],
    symmetric: bool,
    col0: usize,
}

impl<'l, T: Element> KnnSink<'l, T> {
    /// Offers to `lists` (one per row). With `symmetric`, tiles come from the strict upper
    /// triangle of X against itself, and every pair `(i, j)`, `i < j`, counts for both.
    pub fn new(lists: &'l mut [TopK<T>], symmetric: bool, col0: usize) -> Self {
        KnnSink { lists, symmetric, col0 }
    }
}

impl<T: Element> Sink<T> for KnnSink<'_, T> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        for (r, row) in values.rows().into_iter().enumerate() {
            let i = tile.rows.start + r;
            if !self.symmetric {
                let first = tile.cols.start + self.col0;
                match row.as_slice() {
                    Some(run) => self.lists[i].offer_run(first, run),
                    None => row.iter().enumerate().for_each(|(c, &v)| self.lists[i].offer(v, (first + c) as i64)),
                }
                continue;
            }
            // Only j > i is meaningful in an upper-triangle tile.
            let from = (i + 1).max(tile.cols.start);
            for j in from..tile.cols.end {
                let v = row[j - tile.cols.start];
                self.lists[i].offer(v, (j + self.col0) as i64);
                self.lists[j].offer(v, (i + self.col0) as i64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_k_best_with_ties_to_the_smaller_index() {
        let mut t = TopK::new(3);
        for (v, j) in [(5.0, 0), (1.0, 9), (f32::NAN, 1), (1.0, 4), (3.0, 2), (1.0, 7), (0.5, 8)] {
            t.offer(v, j);
        }
        assert_eq!(t.as_slice(), &[(0.5, 8), (1.0, 4), (1.0, 7)]);
        // Order of offers does not matter.
        let mut u = TopK::new(3);
        for (v, j) in [(1.0, 7), (0.5, 8), (1.0, 9), (1.0, 4), (3.0, 2)] {
            u.offer(v, j);
        }
        assert_eq!(t.as_slice(), u.as_slice());
    }

    #[test]
    fn runs_give_what_single_offers_give() {
        // Long runs with ties, NaN and a full list, against one offer at a time.
        let values: Vec<f32> =
            (0..200).map(|i| if i % 37 == 5 { f32::NAN } else { ((i * 7919) % 23) as f32 }).collect();
        for k in [1, 3, 16, 40] {
            for split in [0, 1, 17, 100] {
                let mut runs = TopK::new(k);
                runs.offer_run(1000, &values[..split]);
                runs.offer_run(1000 + split, &values[split..]);
                let mut single = TopK::new(k);
                for (c, &v) in values.iter().enumerate() {
                    single.offer(v, 1000 + c as i64);
                }
                let same = runs.as_slice().iter().zip(single.as_slice()).all(|(a, b)| a.1 == b.1);
                assert!(same && runs.as_slice().len() == k, "k = {k}, split at {split}");
            }
        }
    }

    #[test]
    fn nan_comes_after_every_number() {
        let mut t = TopK::new(3);
        t.offer_run(0, &[f32::NAN, f32::INFINITY, f32::NAN, 2.0]);
        let got: Vec<i64> = t.as_slice().iter().map(|c| c.1).collect();
        assert_eq!(got, vec![3, 1, 0]);
    }
}
