//! `--check`: recompute a sample of the entries that were written with the f64 reference.

use std::fmt;

use ndarray::{ArrayView2, Axis};
use pairdist::Metric;
use pairdist::cpu::reference;
use pairdist::plan::Block;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Entries sampled from each block (plus its first wanted entry).
const PER_BLOCK: usize = 16;

/// Samples entries of finished blocks and compares them with the f64 reference.
pub(crate) struct Checker<'x> {
    x: ArrayView2<'x, f32>,
    y: ArrayView2<'x, f32>,
    metric: Metric,
    upper_only: bool,
    rng: ChaCha8Rng,
    /// Largest |coordinate| of each row, for the tolerance's absolute term.
    x_scale: Vec<f64>,
    y_scale: Vec<f64>,
    samples: usize,
    worst: Option<Worst>,
    failures: usize,
}

struct Worst {
    rel: f64,
    at: (usize, usize),
    got: f32,
    want: f64,
}

fn row_scales(a: ArrayView2<f32>) -> Vec<f64> {
    a.axis_iter(Axis(0)).map(|r| r.iter().fold(0.0f64, |m, &v| m.max((v as f64).abs()))).collect()
}

impl<'x> Checker<'x> {
    pub(crate) fn new(x: ArrayView2<'x, f32>, y: ArrayView2<'x, f32>, metric: Metric, upper_only: bool) -> Self {
        Checker {
            x,
            y,
            metric,
            upper_only,
            rng: ChaCha8Rng::seed_from_u64(0x5eed),
            x_scale: row_scales(x),
            y_scale: row_scales(y),
            samples: 0,
            worst: None,
            failures: 0,
        }
    }

    pub(crate) fn sample(&mut self, block: &Block, values: ArrayView2<f32>) {
        for s in 0..=PER_BLOCK {
            let (r, c) = if s == 0 {
                (0, values.ncols() - 1)
            } else {
                (self.rng.random_range(0..values.nrows()), self.rng.random_range(0..values.ncols()))
            };
            let (i, j) = (block.rows.start + r, block.cols.start + c);
            if self.upper_only && j <= i {
                continue;
            }
            self.compare(i, j, values[(r, c)]);
        }
    }

    fn compare(&mut self, i: usize, j: usize, got: f32) {
        let want = reference::distance(self.x.row(i), self.y.row(j), self.metric);
        let scale = self.x_scale[i].max(self.y_scale[j]);
        let tol = reference::tolerance(self.metric, self.x.ncols(), scale, want);
        let got64 = got as f64;
        let same_special = (want.is_nan() && got.is_nan()) || (want.is_infinite() && got64 == want);
        let err = if same_special { 0.0 } else { (got64 - want).abs() };
        let rel = if same_special { 0.0 } else { err / want.abs().max(f64::MIN_POSITIVE) };
        self.samples += 1;
        if !(err <= tol) {
            self.failures += 1;
        }
        let rel = if rel.is_nan() { f64::INFINITY } else { rel };
        if err != 0.0 && self.worst.as_ref().is_none_or(|w| rel > w.rel) {
            self.worst = Some(Worst { rel, at: (i, j), got, want });
        }
    }

    pub(crate) fn report(&self) -> Report<'_, 'x> {
        Report(self)
    }
}

/// The outcome of `--check`, printable in one line.
pub(crate) struct Report<'a, 'x>(&'a Checker<'x>);

impl Report<'_, '_> {
    pub(crate) fn passed(&self) -> bool {
        self.0.failures == 0
    }
}

impl fmt::Display for Report<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        write!(f, "{} sampled entries against the f64 reference", c.samples)?;
        match &c.worst {
            Some(w) => write!(
                f,
                ", largest relative error {:.2e} at ({}, {}): {} vs {}",
                w.rel, w.at.0, w.at.1, w.got, w.want
            )?,
            None => write!(f, ", all exact")?,
        }
        if c.failures > 0 {
            write!(f, "; {} outside the tolerance", c.failures)
        } else {
            write!(f, "; all within tolerance")
        }
    }
}
