//! `--check`: recompute a sample of the entries that were written with the f64 reference,
//! from the inputs *as read* (float64 when the file held float64).
//!
//! pairdist computes in the wider of the inputs' and the output's types, so the values
//! computed with are the values as read, and each entry is held to the tolerance of the type
//! it was computed in ([`Element::tolerance`]: 1e-5 relative for f32, 1e-12 for f64, each plus
//! an absolute term), plus the rounding to the output's type when that is narrower (float32
//! written from float64 results).

use std::fmt;
use std::marker::PhantomData;

use ndarray::{Array1, ArrayView2};
use pairdist::cpu::reference;
use pairdist::plan::Tile;
use pairdist::{Dtype, Element, Resolved};
use pairdist_cli::io::{AsRead, Input};
use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;

/// Entries checked in each tile at least (or all of a smaller tile's).
const PER_BLOCK: usize = 16;
/// Entries checked in a run at least (or all of a smaller output).
const MIN_TOTAL: u64 = 1000;

/// Samples entries of finished tiles, computed in `T`, and compares them with the f64 reference.
pub(crate) struct Checker<'x, T> {
    x: &'x Input,
    y: &'x Input,
    /// The distance with its parameters resolved against the inputs.
    resolved: Resolved,
    upper_only: bool,
    /// Entries the run writes.
    total: u64,
    /// The type the entries are written in.
    output: Dtype,
    rng: ChaCha8Rng,
    checked: u64,
    worst: Option<Worst>,
    failures: u64,
    /// Points an answer left out although they belong in it (see [`Checker::answer_row`]).
    missed: u64,
    /// Rows whose answer was held against all their f64 distances.
    rows_searched: u64,
    computed_in: PhantomData<T>,
}

/// What a row's answer promises: its k nearest, or every point within a radius.
#[derive(Clone, Copy)]
pub(crate) enum Bound {
    Nearest(usize),
    Radius(f64),
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
    got: f64,
    want: f64,
}

/// Row `i` as read, in f64.
fn row64(input: &Input, i: usize) -> Array1<f64> {
    match input.as_read() {
        AsRead::F32(a) => a.row(i).mapv(f64::from),
        AsRead::F64(a) => a.row(i).to_owned(),
    }
}

/// `value` as written in `output`: rounded once when that is float32.
fn written(value: f64, output: Dtype) -> f64 {
    match output {
        Dtype::F32 => f64::from(value as f32),
        Dtype::F64 => value,
    }
}

/// How far writing a result of about `want` computed in `compute` as `output` may move it:
/// nothing when `output` is as wide, else an f32 rounding (relative, or the spacing of f32's
/// subnormals near zero).
fn output_rounding(compute: Dtype, output: Dtype, want: f64) -> f64 {
    if output < compute { f64::from(f32::EPSILON) * want.abs() + f64::from(f32::from_bits(1)) } else { 0.0 }
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

impl<'x, T: Element> Checker<'x, T> {
    /// A checker for the `total` entries that `x` against `y` writes (pdist when `upper_only`)
    /// in `output`.
    pub(crate) fn new(
        x: &'x Input,
        y: &'x Input,
        resolved: Resolved,
        upper_only: bool,
        total: u64,
        output: Dtype,
    ) -> Self {
        Checker {
            x,
            y,
            resolved,
            upper_only,
            total,
            output,
            rng: ChaCha8Rng::seed_from_u64(0x5eed),
            checked: 0,
            worst: None,
            failures: 0,
            missed: 0,
            rows_searched: 0,
            computed_in: PhantomData,
        }
    }

    /// Entries to check in a tile of `wanted` entries: at least [`PER_BLOCK`], and the tile's
    /// share of [`MIN_TOTAL`], so the run checks at least that many (or every entry).
    fn quota(&self, wanted: usize) -> usize {
        let share = (MIN_TOTAL as u128 * wanted as u128).div_ceil(self.total.max(1) as u128);
        (share as usize).max(PER_BLOCK).min(wanted)
    }

    pub(crate) fn sample(&mut self, tile: &Tile, values: ArrayView2<T>) {
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
    pub(crate) fn answer_row(&mut self, i: usize, cols: &[i64], distances: &[T], own: bool, bound: Bound) {
        for (&j, &v) in cols.iter().zip(distances) {
            self.compare(i, j as usize, v);
        }
        let (m, d) = self.y.dim();
        let mut all: Vec<(f64, usize)> = (0..m)
            .filter(|&j| !(own && j == i))
            .map(|j| (distance64(self.x, i, self.y, j, &self.resolved), j))
            .collect();
        let limit = match bound {
            Bound::Nearest(k) => {
                all.sort_by(|a, b| a.0.total_cmp(&b.0));
                all.get(k.saturating_sub(1)).map_or(f64::INFINITY, |&(d, _)| d)
            }
            Bound::Radius(r) => r,
        };
        let slack = |j: usize| T::tolerance(self.resolved.metric(), d, self.scale(i, j), limit);
        // A point left out that is closer than the limit by more than the tolerance was missed.
        let missed = all.iter().filter(|&&(d, j)| d < limit - slack(j) && !cols.contains(&(j as i64))).count();
        self.failures += missed as u64;
        self.missed += missed as u64;
        self.rows_searched += 1;
    }

    /// The tolerance's scale of rows `i` and `j` as the kernel sees them ([`Resolved::scale`]).
    fn scale(&self, i: usize, j: usize) -> f64 {
        let (a, b) = (self.resolved.point(row64(self.x, i).view()), self.resolved.point(row64(self.y, j).view()));
        self.resolved.scale(&a).max(self.resolved.scale(&b))
    }

    /// Compares entry `(i, j)`, `computed` in `T`, as it is written.
    fn compare(&mut self, i: usize, j: usize, computed: T) {
        let got = written(computed.into(), self.output);
        let want = distance64(self.x, i, self.y, j, &self.resolved);
        let d = self.x.dim().1;
        let tol = T::tolerance(self.resolved.metric(), d, self.scale(i, j), want)
            + output_rounding(T::DTYPE, self.output, want);
        self.checked += 1;
        if !within(got, want, tol) {
            self.failures += 1;
        }
        let err = if same_special(got, want) { 0.0 } else { (got - want).abs() };
        let rel = err / want.abs().max(f64::MIN_POSITIVE);
        let rel = if rel.is_nan() { f64::INFINITY } else { rel };
        if err != 0.0 && self.worst.as_ref().is_none_or(|w| rel > w.rel) {
            self.worst = Some(Worst { rel, at: (i, j), got, want });
        }
    }

    pub(crate) fn report(&self) -> Report<'_, 'x, T> {
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
pub(crate) struct Report<'a, 'x, T>(&'a Checker<'x, T>);

impl<T> Report<'_, '_, T> {
    pub(crate) fn passed(&self) -> bool {
        self.0.failures == 0
    }
}

impl<T: Element> fmt::Display for Report<'_, '_, T> {
    /// One line, the failures first: the CLI shortens long error lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        if c.failures > 0 {
            write!(f, "{} of {} checked entries (of {}) outside the tolerance", c.failures, c.checked, c.total)?;
            if c.missed > 0 {
                write!(f, ", {} of them points the answer missed", c.missed)?;
            }
            write!(f, " (computed in {}, written as {})", T::DTYPE, c.output)?;
        } else {
            let input = c.x.dtype().max(c.y.dtype());
            write!(
                f,
                "{} of {} entries recomputed in f64 from the input as read ({input}; computed in {}, written as {})",
                c.checked,
                c.total,
                T::DTYPE,
                c.output
            )?;
        }
        // Enough digits to tell the written value from the reference.
        let digits = if c.output == Dtype::F64 { 16 } else { 8 };
        match &c.worst {
            Some(w) => write!(
                f,
                ", largest relative error {:.2e} at ({}, {}): {:.*e} vs {:.*e}",
                w.rel, w.at.0, w.at.1, digits, w.got, digits, w.want
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
    use ndarray::Array2;
    use pairdist::{Distance, Metric};
    use pairdist_cli::io::read_input;

    use super::*;

    /// Whether a checker computing in `T` passes `values` (a whole 4 x 4 tile of sqeuclidean
    /// cdist(x, x), written as `output`) for the points in `file`.
    fn passes<T: Element>(file: &std::path::Path, values: &Array2<f64>, output: Dtype) -> bool {
        let input = read_input(file).unwrap();
        let resolved = Distance::new(Metric::SqEuclidean).resolve(input.values::<f64>().view(), None).unwrap();
        let mut checker = Checker::<T>::new(&input, &input, resolved, false, 16, output);
        checker.sample(&Tile { rows: 0..4, cols: 0..4 }, values.mapv(T::from_f64).view());
        checker.report().passed()
    }

    #[test]
    fn each_type_is_held_to_its_own_tolerance() {
        let dir = tempfile::tempdir().unwrap();
        let x = Array2::from_shape_fn((4, 3), |(i, k)| 1.0 + 0.37 * (i * 3 + k) as f64);
        let (f64_file, f32_file) = (dir.path().join("x64.npy"), dir.path().join("x32.npy"));
        ndarray_npy::write_npy(&f64_file, &x).unwrap();
        ndarray_npy::write_npy(&f32_file, &x.mapv(|v| v as f32)).unwrap();
        let resolved = Distance::new(Metric::SqEuclidean).resolve(x.view(), None).unwrap();
        let exact = |x: &Array2<f64>| {
            Array2::from_shape_fn((4, 4), |(i, j)| reference::distance(x.row(i), x.row(j), &resolved))
        };
        let (exact64, exact32) = (exact(&x), exact(&x.mapv(|v| f64::from(v as f32))));
        let off = |a: &Array2<f64>, rel: f64| a.mapv(|v| v * (1.0 + rel));
        // f64: the reference passes, 1e-7 relative off does not (f32's bound would take it).
        assert!(passes::<f64>(&f64_file, &exact64, Dtype::F64));
        assert!(!passes::<f64>(&f64_file, &off(&exact64, 1e-7), Dtype::F64));
        // Written as float32: the rounding to f32 is allowed, and nothing more.
        assert!(passes::<f64>(&f64_file, &exact64, Dtype::F32));
        assert!(!passes::<f64>(&f64_file, &off(&exact64, 1e-5), Dtype::F32));
        // f32: 1e-7 is within its bound, 1e-4 is not.
        assert!(passes::<f32>(&f32_file, &off(&exact32, 1e-7), Dtype::F32));
        assert!(!passes::<f32>(&f32_file, &off(&exact32, 1e-4), Dtype::F32));
    }

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
