//! Answers that reduce the distance matrix row by row and never hold it: the `k` nearest
//! columns of every row ([`knn`](crate::Engine::knn), [`argmin`](crate::Engine::argmin)) and
//! every pair within a radius ([`radius`](crate::Engine::radius)).
//!
//! Each answer is a per-row state that takes distances a run of columns at a time, in any order
//! of runs, and gives the same result whatever the tiling: [`TopK`] keeps a row's best
//! candidates ordered by (distance, index), so ties go to the smaller index on every backend;
//! [`Within`] keeps a row's pairs within the radius, ordered by column. The CPU runs them
//! band-parallel (`cpu::reduce_rows`); any backend can feed them through the sinks here
//! ([`KnnSink`], [`RadiusSink`]), which take the blocks of a plan in order.

pub(crate) mod knn;
pub(crate) mod radius;

pub use knn::{KnnSink, Neighbors, TopK};
#[cfg(feature = "gpu")]
pub(crate) use radius::HitSink;
pub use radius::{Pairs, RadiusSink, Within};
