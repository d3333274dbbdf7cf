//! `pairdist knn` and `pairdist radius`: answers that never build the matrix, written as
//! `.npz` (the arrays scikit-learn's `kneighbors` / `radius_neighbors` users expect) or as text.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ndarray::Array1;
use ndarray_npy::NpzWriter;
use pairdist::Resolved;
use pairdist::io::{Format, Input, OutputFile, read_input};
use pairdist::{Error, Monitor, Neighbors, Pairs, Result};

use crate::check::{Bound, Checker};
use crate::{INTERRUPTED, RunArgs, check_paths, progress, say};

/// Query rows `--check` recomputes in full (every row when there are fewer).
const CHECKED_ROWS: usize = 32;

/// What to compute.
pub(crate) enum Question {
    /// The `k` nearest rows of XB for every row of XA.
    Nearest(usize),
    /// Every pair within `r`, at most `max_pairs` of them.
    Within { r: f32, max_pairs: usize },
}

/// Runs `question` for XA against XB (XA against itself, each point left out of its own answer,
/// when `xb_path` is None) and writes the answer atomically.
pub(crate) fn run(xa_path: &Path, xb_path: Option<&Path>, question: Question, run: &RunArgs) -> Result<()> {
    let output = OutputFile::create(&run.output)?;
    if output.format() == Format::Npy {
        return Err(Error::WriteFile {
            path: run.output.clone(),
            reason: "an answer is several arrays: write .npz, or text (.csv, .tsv, .txt, -)".into(),
        });
    }
    let inputs: Vec<&Path> = std::iter::once(xa_path).chain(xb_path).collect();
    check_paths(&inputs, &run.output, run.force)?;
    let xa = read_input(xa_path)?;
    let xb = xb_path.map(read_input).transpose()?;
    let own = xb.is_none();
    let y_input = xb.as_ref().unwrap_or(&xa);
    let (x, y) = (xa.view(), y_input.view());
    pairdist::validate::same_dims(x.ncols(), y.ncols())?;
    let distance = run.params.distance(run.metric)?;
    let resolved = distance.resolve(x, (!own).then_some(y))?;
    match question {
        Question::Nearest(k) => pairdist::validate::neighbours(k, y.nrows().saturating_sub(usize::from(own)))?,
        Question::Within { r, .. } => pairdist::validate::radius(r)?,
    }

    let monitor = Arc::new(Monitor::default());
    let engine = run.engine.build_with(Some(monitor.clone()))?;
    let start = Instant::now();
    let answer = watched(&monitor, (x.nrows() * y.nrows()) as u64, run.quiet, || match question {
        Question::Nearest(k) if own => engine.knn_self(x, k, &distance).map(Answer::Nearest),
        Question::Nearest(k) => engine.knn(x, y, k, &distance).map(Answer::Nearest),
        Question::Within { r, max_pairs } if own => engine.radius_self(x, r, &distance, max_pairs).map(Answer::Within),
        Question::Within { r, max_pairs } => engine.radius(x, y, r, &distance, max_pairs).map(Answer::Within),
    })?;
    let seconds = start.elapsed().as_secs_f64();
    if run.check {
        let report = check(&xa, y_input, &answer, &question, own, resolved);
        if !report.0 {
            return Err(Error::CheckFailed(format!("{}; output not written", report.1)));
        }
        say(&format!("check: {}", report.1));
    }
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(Error::Interrupted);
    }
    xa.check_unchanged()?;
    xb.as_ref().map_or(Ok(()), |xb| xb.check_unchanged())?;
    write(&output, &answer).map_err(|e| match e {
        Error::Stdout(_) => e,
        e => Error::WriteFile { path: run.output.clone(), reason: e.to_string() },
    })?;
    let name = output.name();
    output.commit()?;
    log::info!(
        "wrote {} ({}) in {seconds:.3} s: {:.2} Gpd/s, {}",
        name,
        answer.describe(),
        (x.nrows() * y.nrows() * x.ncols()) as f64 / seconds / 1e9,
        engine.describe()
    );
    Ok(())
}

/// A computed answer.
enum Answer {
    Nearest(Neighbors),
    Within(Pairs),
}

impl Answer {
    fn describe(&self) -> String {
        match self {
            Answer::Nearest(nn) => format!("{} x {} neighbours", nn.indices.nrows(), nn.indices.ncols()),
            Answer::Within(p) => format!("{} pairs", p.len()),
        }
    }
}

/// Runs `compute` while a progress bar follows the monitor's pair count and Ctrl-C (the
/// process-wide flag) becomes a stop request; the call then ends at its next check.
fn watched<T: Send>(
    monitor: &Monitor,
    total: u64,
    quiet: bool,
    compute: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    let bar = progress::bar(total, quiet);
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                if INTERRUPTED.load(Ordering::SeqCst) {
                    monitor.request_stop();
                }
                bar.set_position(monitor.pairs_done().min(total));
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let result = compute();
        done.store(true, Ordering::SeqCst);
        result
    });
    bar.finish_and_clear();
    result
}

/// `--check`: [`CHECKED_ROWS`] query rows, evenly spread, recomputed in f64 against every row
/// of XB from the inputs as read. Returns whether it passed, and the report line.
fn check(x: &Input, y: &Input, answer: &Answer, question: &Question, own: bool, resolved: Resolved) -> (bool, String) {
    let n = x.view().nrows();
    let entries = match answer {
        Answer::Nearest(nn) => nn.indices.len() as u64,
        Answer::Within(p) => p.len() as u64,
    };
    let mut checker = Checker::new(x, y, resolved, false, entries.max(1));
    let step = n.div_ceil(CHECKED_ROWS).max(1);
    for i in (0..n).step_by(step) {
        match answer {
            Answer::Nearest(nn) => {
                let (cols, dist) = (nn.indices.row(i).to_vec(), nn.distances.row(i).to_vec());
                checker.answer_row(i, &cols, &dist, own, Bound::Nearest(cols.len()));
            }
            Answer::Within(p) => {
                let (lo, hi) = (p.rows.partition_point(|&r| r < i as i64), p.rows.partition_point(|&r| r <= i as i64));
                // Against itself only pairs i < j are listed: the row's other half is in earlier rows.
                let mut cols = p.cols[lo..hi].to_vec();
                let mut dist = p.distances[lo..hi].to_vec();
                if own {
                    for (q, _) in p.cols.iter().enumerate().filter(|&(_, &c)| c == i as i64) {
                        cols.push(p.rows[q]);
                        dist.push(p.distances[q]);
                    }
                }
                if let Question::Within { r, .. } = question {
                    checker.answer_row(i, &cols, &dist, own, Bound::Radius(*r));
                }
            }
        }
    }
    let report = checker.report();
    (report.passed(), report.to_string())
}

/// Writes the answer into the output's temporary file (or standard output).
fn write(output: &OutputFile, answer: &Answer) -> Result<()> {
    let file = output.file()?;
    match (output.format(), file, answer) {
        (Format::Npz, Some(file), Answer::Nearest(nn)) => {
            let mut npz = NpzWriter::new(file);
            npz.add_array("distances", &nn.distances).map_err(npz_error)?;
            npz.add_array("indices", &nn.indices).map_err(npz_error)?;
            npz.finish().map_err(npz_error).map(drop)
        }
        (Format::Npz, Some(file), Answer::Within(p)) => {
            let mut npz = NpzWriter::new(file);
            npz.add_array("rows", &Array1::from(p.rows.clone())).map_err(npz_error)?;
            npz.add_array("cols", &Array1::from(p.cols.clone())).map_err(npz_error)?;
            npz.add_array("distances", &Array1::from(p.distances.clone())).map_err(npz_error)?;
            npz.finish().map_err(npz_error).map(drop)
        }
        (Format::Text(delimiter), Some(file), answer) => text(BufWriter::new(file), delimiter, answer, false),
        (Format::Text(delimiter), None, answer) => {
            text(BufWriter::new(std::io::stdout().lock()), delimiter, answer, true)
        }
        _ => Err(Error::Internal("an answer's output must be .npz or text".into())),
    }
}

fn npz_error(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("writing .npz: {e}"))
}

/// One line per neighbour (`row, rank, index, distance`) or pair (`row, col, distance`),
/// after a header line naming the columns.
fn text(mut w: impl Write, delimiter: char, answer: &Answer, stdout: bool) -> Result<()> {
    let io = |e: std::io::Error| if stdout { Error::Stdout(e) } else { Error::Internal(e.to_string()) };
    let d = delimiter;
    match answer {
        Answer::Nearest(nn) => {
            writeln!(w, "row{d}rank{d}index{d}distance").map_err(io)?;
            for (i, (cols, dist)) in nn.indices.rows().into_iter().zip(nn.distances.rows()).enumerate() {
                for (rank, (j, v)) in cols.iter().zip(dist.iter()).enumerate() {
                    writeln!(w, "{i}{d}{rank}{d}{j}{d}{v}").map_err(io)?;
                }
            }
        }
        Answer::Within(p) => {
            writeln!(w, "row{d}col{d}distance").map_err(io)?;
            for ((i, j), v) in p.rows.iter().zip(&p.cols).zip(&p.distances) {
                writeln!(w, "{i}{d}{j}{d}{v}").map_err(io)?;
            }
        }
    }
    w.flush().map_err(io)
}
