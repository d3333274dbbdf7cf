//! The `k` nearest columns of every row.

use ndarray::{Array2, ArrayView2};

use crate::error::Result;
use crate::plan::Block;
use crate::sink::Sink;

/// The `k` nearest neighbours of every row of X among the rows of Y, shaped like
/// scikit-learn's `kneighbors` result: row `i` holds its neighbours by ascending distance, ties
/// broken by the smaller index. NaN distances come after every number.
#[derive(Clone, Debug, PartialEq)]
pub struct Neighbors {
    /// `n × k` distances, ascending along each row.
    pub distances: Array2<f32>,
    /// `n × k` indices into the rows of Y.
    pub indices: Array2<i64>,
}

/// Whether candidate `a` comes before `b`: the smaller distance (NaN after every number), then
/// the smaller index. A total order, so every tiling and backend gives the same lists.
#[inline]
fn before(a: (f32, i64), b: (f32, i64)) -> bool {
    match (a.0.is_nan(), b.0.is_nan()) {
        (false, false) => a.0 < b.0 || (a.0 == b.0 && a.1 < b.1),
        (false, true) => true,
        (true, false) => false,
        (true, true) => a.1 < b.1,
    }
}

/// One row's best `k` candidates so far, in order.
#[derive(Clone, Debug)]
pub struct TopK {
    k: usize,
    best: Vec<(f32, i64)>,
}

impl TopK {
    /// An empty list that keeps at most `k` candidates.
    pub fn new(k: usize) -> Self {
        TopK { k, best: Vec::with_capacity(k) }
    }

    /// Offers column `j` at distance `v`; kept if it is among the `k` best so far.
    #[inline]
    pub fn offer(&mut self, v: f32, j: i64) {
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
    #[inline]
    pub fn offer_run(&mut self, first: usize, values: &[f32]) {
        for (c, &v) in values.iter().enumerate() {
            self.offer(v, (first + c) as i64);
        }
    }

    /// The candidates kept, best first.
    pub fn as_slice(&self) -> &[(f32, i64)] {
        &self.best
    }
}

/// Gathers rows' lists into [`Neighbors`] (`n × k`; every list must be full).
pub(crate) fn collect(lists: &[TopK], k: usize) -> Neighbors {
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

/// A sink that keeps the `k` nearest columns of every row of the blocks it is given.
///
/// For X against itself it takes the blocks of the strict upper triangle (`pdist`'s plan,
/// half the work) and offers each pair to both of its rows; a point is never its own
/// neighbour.
pub struct KnnSink {
    lists: Vec<TopK>,
    k: usize,
    symmetric: bool,
}

impl KnnSink {
    /// `k` nearest columns for each of `n` rows. With `symmetric`, blocks come from the strict
    /// upper triangle of X against itself, and every pair `(i, j)`, `i < j`, counts for both.
    pub fn new(n: usize, k: usize, symmetric: bool) -> Self {
        KnnSink { lists: vec![TopK::new(k); n], k, symmetric }
    }

    /// The answer, once every block has been taken.
    pub fn into_neighbors(self) -> Neighbors {
        collect(&self.lists, self.k)
    }
}

impl Sink for KnnSink {
    fn accept(&mut self, block: &Block, values: ArrayView2<f32>) -> Result<()> {
        for (r, row) in values.rows().into_iter().enumerate() {
            let i = block.rows.start + r;
            if !self.symmetric {
                let run = row.as_slice().map(|s| self.lists[i].offer_run(block.cols.start, s));
                if run.is_none() {
                    for (c, &v) in row.iter().enumerate() {
                        self.lists[i].offer(v, (block.cols.start + c) as i64);
                    }
                }
                continue;
            }
            // Only j > i is meaningful in an upper-triangle block.
            let from = (i + 1).max(block.cols.start);
            for j in from..block.cols.end {
                let v = row[j - block.cols.start];
                self.lists[i].offer(v, j as i64);
                self.lists[j].offer(v, i as i64);
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
    fn nan_comes_after_every_number() {
        let mut t = TopK::new(3);
        t.offer_run(0, &[f32::NAN, f32::INFINITY, f32::NAN, 2.0]);
        let got: Vec<i64> = t.as_slice().iter().map(|c| c.1).collect();
        assert_eq!(got, vec![3, 1, 0]);
    }
}
