//! `--check`: recompute a sample of the entries that were written with the f64 reference,
//! from the inputs *as read* (float64 when the file held float64).
//!
//! Two things can move a result away from the reference, and each is held to its own bound:
//!
//! - the f32 computation, from the f32 values it was given: [`reference::tolerance`], the
//!   bound every backend is tested against;
//! - rounding a float64 input to f32 before computing: the reference from the rounded values
//!   may differ from the one from the values as read by at most [`INPUT_ROUNDING`] relative.
//!   A tolerance with an absolute term scaled by the coordinates would hide exactly the case
//!   that matters (points near 1e4 that differ by less than 1, where f32's spacing of 1e-3
//!   moves every distance by 1e-4 relative), so this bound is relative only.

use std::fmt;

use ndarray::{Array1, ArrayView2};
use pairdist::Resolved;
use pairdist::cpu::reference;
use pairdist::io::{AsRead, Input};
use pairdist::plan::Tile;
use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;

/// Entries checked in each tile at least (or all of a smaller tile's).
const PER_BLOCK: usize = 16;
/// Entries checked in a run at least (or all of a smaller output).
const MIN_TOTAL: u64 = 1000;
/// How far rounding float64 inputs to f32 may move a result, relative to it.
const INPUT_ROUNDING: f64 = 1e-5;

/// Samples entries of finished tiles and compares them with the f64 reference.
pub(crate) struct Checker<'x> {
    x: &'x Input,
    y: &'x Input,
    /// The distance with its parameters resolved against the inputs as computed with.
    resolved: Resolved,
    upper_only: bool,
    /// Entries the run writes.
    total: u64,
    rng: ChaCha8Rng,
    checked: u64,
    worst: Option<Worst>,
    failures: u64,
    /// Failures because rounding the input moved the reference by more than [`INPUT_ROUNDING`].
    rounding_failures: u64,
    /// Points an answer left out although they belong in it (see [`Checker::answer_row`]).
    missed: u64,
    /// Rows whose answer was held against all their f64 distances.
    rows_searched: u64,
}

/// What a row's answer promises: its k nearest, or every point within a radius.
#[derive(Clone, Copy)]
pub(crate) enum Bound {
    Nearest(usize),
    Radius(f32),
}

/// The f64 distance between row `i` of `x` and row `j` of `y`, from the values as read.
fn distance64(x: &Input, i: usize, y: &Input, j: usize, resolved: &Resolved) -> f64 {
    match (x.as_read(), y.as_read()) {
        (AsRead::F32(a), AsRead::F32(b)) => reference::distance(a.row(i), b.row(j), resolved),
        (AsRead::F64(a), AsRead::F64(b)) => reference::distance(a.row(i), b.row(j), resolved),
        _ => reference::distance(row64(x, i).view(), row64(y, j).view(), resolved),
    }
}

struct Worst {
    rel: f64,
    at: (usize, usize),
    got: f32,
    want: f64,
}

/// Row `i` as read, in f64.
fn row64(input: &Input, i: usize) -> Array1<f64> {
    match input.as_read() {
        AsRead::F32(a) => a.row(i).mapv(f64::from),
        AsRead::F64(a) => a.row(i).to_owned(),
    }
}

fn is_float64(input: &Input) -> bool {
    matches!(input.as_read(), AsRead::F64(_))
}

/// Entries `(row, column)` of a tile, relative to it, that the output keeps: all, or those
/// above the diagonal for pdist. Indexed 0..len without listing them.
struct Wanted {
    cols: usize,
    /// For pdist: the first wanted column and the count before each row.
    upper: Option<(Vec<usize>, Vec<usize>)>,
    len: usize,
}

impl Wanted {
    fn of(tile: &Tile, upper_only: bool) -> Wanted {
        let (rows, cols) = (tile.rows.len(), tile.cols.len());
        if !upper_only {
            return Wanted { cols, upper: None, len: rows * cols };
        }
        let (mut first, mut before, mut len) = (Vec::with_capacity(rows), Vec::with_capacity(rows), 0);
        for i in tile.rows.clone() {
            let start = (i + 1).max(tile.cols.start).min(tile.cols.end) - tile.cols.start;
            first.push(start);
            before.push(len);
            len += cols - start;
        }
        Wanted { cols, upper: Some((first, before)), len }
    }

    /// The `k`-th wanted entry, row by row.
    fn get(&self, k: usize) -> (usize, usize) {
        match &self.upper {
            None => (k / self.cols, k % self.cols),
            Some((first, before)) => {
                let r = before.partition_point(|&b| b <= k) - 1;
                (r, first[r] + (k - before[r]))
            }
        }
    }
}

impl<'x> Checker<'x> {
    /// A checker for the `total` entries that `x` against `y` writes (pdist when `upper_only`).
    pub(crate) fn new(x: &'x Input, y: &'x Input, resolved: Resolved, upper_only: bool, total: u64) -> Self {
        Checker {
            x,
            y,
            resolved,
            upper_only,
            total,
            rng: ChaCha8Rng::seed_from_u64(0x5eed),
            checked: 0,
            worst: None,
            failures: 0,
            rounding_failures: 0,
            missed: 0,
            rows_searched: 0,
        }
    }

    /// Entries to check in a tile of `wanted` entries: at least [`PER_BLOCK`], and the tile's
    /// share of [`MIN_TOTAL`], so the run checks at least that many (or every entry).
    fn quota(&self, wanted: usize) -> usize {
        let share = (MIN_TOTAL as u128 * wanted as u128).div_ceil(self.total.max(1) as u128);
        (share as usize).max(PER_BLOCK).min(wanted)
    }

    pub(crate) fn sample(&mut self, tile: &Tile, values: ArrayView2<f32>) {
        let wanted = Wanted::of(tile, self.upper_only);
        let quota = self.quota(wanted.len);
        for k in index::sample(&mut self.rng, wanted.len, quota) {
            let (r, c) = wanted.get(k);
            self.compare(tile.rows.start + r, tile.cols.start + c, values[(r, c)]);
        }
    }

    /// Checks one row's answer (k nearest or pairs within a radius): every distance given, as
    /// [`Checker::sample`] does, and against the f64 distances of the whole row that no point
    /// was missed: with `kth`, nothing left out is closer than the reference's k-th nearest by
    /// more than the tolerance; with `radius`, nothing left out is inside it by more than that.
    pub(crate) fn answer_row(&mut self, i: usize, cols: &[i64], distances: &[f32], own: bool, bound: Bound) {
        for (&j, &v) in cols.iter().zip(distances) {
            self.compare(i, j as usize, v);
        }
        let (x32, y32) = (self.x.view(), self.y.view());
        let mut all: Vec<(f64, usize)> = (0..y32.nrows())
            .filter(|&j| !(own && j == i))
            .map(|j| (distance64(self.x, i, self.y, j, &self.resolved), j))
            .collect();
        let limit = match bound {
            Bound::Nearest(k) => {
                all.sort_by(|a, b| a.0.total_cmp(&b.0));
                all.get(k.saturating_sub(1)).map_or(f64::INFINITY, |&(d, _)| d)
            }
            Bound::Radius(r) => f64::from(r),
        };
        let slack = |j: usize| {
            let scale = self.scale(i, j);
            reference::tolerance(self.resolved.kernel(), x32.ncols(), scale, limit) + INPUT_ROUNDING * limit.abs()
        };
        // A point left out that is closer than the limit by more than the tolerance was missed.
        let missed = all.iter().filter(|&&(d, j)| d < limit - slack(j) && !cols.contains(&(j as i64))).count();
        self.failures += missed as u64;
        self.missed += missed as u64;
        self.rows_searched += 1;
    }

    /// The largest |coordinate| of rows `i` and `j` as the kernel sees them (the tolerance's scale).
    fn scale(&self, i: usize, j: usize) -> f64 {
        let (x32, y32) = (self.x.view(), self.y.view());
        let (a, b) = (self.resolved.point(x32.row(i)), self.resolved.point(y32.row(j)));
        a.iter().chain(&b).fold(0.0f64, |m, &v| if v.abs() > m { v.abs() } else { m })
    }

    fn compare(&mut self, i: usize, j: usize, got: f32) {
        let (x32, y32) = (self.x.view(), self.y.view());
        // From the values computed with, and from the values as read (the same for f32 input).
        let want32 = reference::distance(x32.row(i), y32.row(j), &self.resolved);
        let want = if is_float64(self.x) || is_float64(self.y) {
            reference::distance(row64(self.x, i).view(), row64(self.y, j).view(), &self.resolved)
        } else {
            want32
        };
        let tol = reference::tolerance(self.resolved.kernel(), x32.ncols(), self.scale(i, j), want32);
        let computed_ok = within(f64::from(got), want32, tol);
        let rounding_ok = within(want32, want, INPUT_ROUNDING * want.abs() + f64::from(f32::MIN_POSITIVE));
        self.checked += 1;
        if !(computed_ok && rounding_ok) {
            self.failures += 1;
            self.rounding_failures += u64::from(!rounding_ok);
        }
        let err = if same_special(f64::from(got), want) { 0.0 } else { (f64::from(got) - want).abs() };
        let rel = err / want.abs().max(f64::MIN_POSITIVE);
        let rel = if rel.is_nan() { f64::INFINITY } else { rel };
        if err != 0.0 && self.worst.as_ref().is_none_or(|w| rel > w.rel) {
            self.worst = Some(Worst { rel, at: (i, j), got, want });
        }
    }

    pub(crate) fn report(&self) -> Report<'_, 'x> {
        Report(self)
    }
}

/// NaN against NaN, or the same infinity: IEEE results that agree.
fn same_special(got: f64, want: f64) -> bool {
    (got.is_nan() && want.is_nan()) || (want.is_infinite() && got == want)
}

/// Whether `got` is within `tol` of `want` (a NaN where a number was due is not).
fn within(got: f64, want: f64, tol: f64) -> bool {
    same_special(got, want) || (got - want).abs() <= tol
}

/// The outcome of `--check`, printable in one line.
pub(crate) struct Report<'a, 'x>(&'a Checker<'x>);

impl Report<'_, '_> {
    pub(crate) fn passed(&self) -> bool {
        self.0.failures == 0
    }
}

impl fmt::Display for Report<'_, '_> {
    /// One line, the failures first: the CLI shortens long error lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        if c.failures > 0 {
            write!(f, "{} of {} checked entries (of {}) outside the tolerance", c.failures, c.checked, c.total)?;
            if c.missed > 0 {
                write!(f, ", {} of them points the answer missed", c.missed)?;
            }
            if c.rounding_failures > 0 {
                write!(
                    f,
                    ", {} because rounding the float64 input to float32 moved them by more than {INPUT_ROUNDING:e} relative",
                    c.rounding_failures
                )?;
            }
        } else {
            let float64 = if is_float64(c.x) || is_float64(c.y) { " (float64)" } else { "" };
            write!(f, "{} of {} entries recomputed in f64 from the input as read{float64}", c.checked, c.total)?;
        }
        match &c.worst {
            Some(w) => write!(
                f,
                ", largest relative error {:.2e} at ({}, {}): {:.8e} vs {:.8e}",
                w.rel, w.at.0, w.at.1, w.got, w.want
            )?,
            None => write!(f, ", all exact")?,
        }
        if c.rows_searched > 0 {
            write!(f, "; {} rows searched in full for missed points", c.rows_searched)?;
        }
        if c.failures == 0 {
            write!(f, "; all within tolerance")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_entries_of_a_pdist_block_are_those_above_the_diagonal() {
        let tile = Tile { rows: 3..7, cols: 2..9 };
        let wanted = Wanted::of(&tile, true);
        let listed: Vec<_> = (0..wanted.len).map(|k| wanted.get(k)).collect();
        let expected: Vec<_> =
            (0..4).flat_map(|r| (0..7).map(move |c| (r, c))).filter(|&(r, c)| c + 2 > r + 3).collect();
        assert_eq!(listed, expected);
        let all = Wanted::of(&tile, false);
        assert_eq!((0..all.len).map(|k| all.get(k)).collect::<Vec<_>>().len(), 28);
        assert_eq!(all.get(9), (1, 2));
    }
}
