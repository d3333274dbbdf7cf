//! `pairdist knn` and `pairdist radius`: answers that never build the matrix, written as
//! `.npz` (the arrays scikit-learn's `kneighbors` / `radius_neighbors` users expect) or as text.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ndarray::{Array1, ArrayBase, Data, Dimension};
use ndarray_npy::NpzWriter;
use pairdist::{Dtype, Element, Error, Monitor, Neighbors, Pairs, Resolved, Result};
use pairdist_cli::io::{Format, Input, OutputFile};

use crate::check::{Bound, Checker};
use crate::{INTERRUPTED, Precision, RunArgs, progress, read_inputs, say};

/// Query rows `--check` recomputes in full (every row when there are fewer).
const CHECKED_ROWS: usize = 32;

/// What to compute.
#[derive(Clone, Copy)]
pub(crate) enum Question {
    /// The `k` nearest rows of XB for every row of XA.
    Nearest(usize),
    /// Every pair within `r`, at most `max_pairs` of them.
    Within { r: f64, max_pairs: usize },
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
    let (xa, xb, precision) = read_inputs(xa_path, xb_path, run)?;
    match precision.compute {
        Dtype::F32 => answer::<f32>(&xa, xb.as_ref(), question, run, output, precision),
        Dtype::F64 => answer::<f64>(&xa, xb.as_ref(), question, run, output, precision),
    }
}

/// [`run`] computed in `T`.
fn answer<T: Element>(
    xa: &Input,
    xb: Option<&Input>,
    question: Question,
    run: &RunArgs,
    output: OutputFile,
    precision: Precision,
) -> Result<()> {
    let own = xb.is_none();
    let y_input = xb.unwrap_or(xa);
    let (xa_values, xb_values) = (xa.values::<T>(), xb.map(|xb| xb.values::<T>()));
    let (x, y) = (xa_values.view(), xb_values.as_ref().map_or(xa_values.view(), |v| v.view()));
    pairdist::validate::same_dims(x.ncols(), y.ncols())?;
    let distance = run.params.distance(run.metric)?;
    let resolved = distance.resolve(x, (!own).then_some(y))?;
    // The radius in the type computed in: what the distances are compared with.
    let radius = |r: f64| T::from_f64(r);
    match question {
        Question::Nearest(k) => pairdist::validate::neighbours(k, y.nrows().saturating_sub(usize::from(own)))?,
        Question::Within { r, .. } => pairdist::validate::radius(radius(r))?,
    }

    let monitor = Arc::new(Monitor::default());
    let engine = run.engine.build_with(Some(monitor.clone()))?;
    let start = Instant::now();
    let answer = watched(&monitor, (x.nrows() * y.nrows()) as u64, run.quiet, || match question {
        Question::Nearest(k) if own => engine.knn_self(x, k, &distance).map(Answer::Nearest),
        Question::Nearest(k) => engine.knn(x, y, k, &distance).map(Answer::Nearest),
        Question::Within { r, max_pairs } if own => {
            engine.radius_self(x, radius(r), &distance, max_pairs).map(Answer::Within)
        }
        Question::Within { r, max_pairs } => engine.radius(x, y, radius(r), &distance, max_pairs).map(Answer::Within),
    })?;
    let seconds = start.elapsed().as_secs_f64();
    if run.check {
        let question = match question {
            Question::Within { r, max_pairs } => Question::Within { r: radius(r).into(), max_pairs },
            q => q,
        };
        let report = check(xa, y_input, &answer, &question, own, resolved, precision.output);
        if !report.0 {
            return Err(Error::CheckFailed(format!("{}; output not written", report.1)));
        }
        say(&format!("check: {}", report.1));
    }
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(Error::Interrupted);
    }
    xa.check_unchanged()?;
    xb.map_or(Ok(()), |xb| xb.check_unchanged())?;
    write(&output, &answer, precision.output).map_err(|e| match e {
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

/// A computed answer, in the type computed in.
enum Answer<T> {
    Nearest(Neighbors<T>),
    Within(Pairs<T>),
}

impl<T: Element> Answer<T> {
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
fn check<T: Element>(
    x: &Input,
    y: &Input,
    answer: &Answer<T>,
    question: &Question,
    own: bool,
    resolved: Resolved,
    output: Dtype,
) -> (bool, String) {
    let n = x.dim().0;
    let entries = match answer {
        Answer::Nearest(nn) => nn.indices.len() as u64,
        Answer::Within(p) => p.len() as u64,
    };
    let mut checker = Checker::<T>::new(x, y, resolved, false, entries.max(1), output);
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

/// Writes the answer into the output's temporary file (or standard output), its distances in
/// `dtype`.
fn write<T: Element>(output: &OutputFile, answer: &Answer<T>, dtype: Dtype) -> Result<()> {
    let file = output.file()?;
    match (output.format(), file, answer) {
        (Format::Npz, Some(file), Answer::Nearest(nn)) => {
            let mut npz = NpzWriter::new(file);
            add_distances(&mut npz, &nn.distances, dtype)?;
            npz.add_array("indices", &nn.indices).map_err(npz_error)?;
            npz.finish().map_err(npz_error).map(drop)
        }
        (Format::Npz, Some(file), Answer::Within(p)) => {
            let mut npz = NpzWriter::new(file);
            npz.add_array("rows", &Array1::from(p.rows.clone())).map_err(npz_error)?;
            npz.add_array("cols", &Array1::from(p.cols.clone())).map_err(npz_error)?;
            add_distances(&mut npz, &Array1::from(p.distances.clone()), dtype)?;
            npz.finish().map_err(npz_error).map(drop)
        }
        (Format::Text(delimiter), Some(file), answer) => text(BufWriter::new(file), delimiter, answer, dtype, false),
        (Format::Text(delimiter), None, answer) => {
            text(BufWriter::new(std::io::stdout().lock()), delimiter, answer, dtype, true)
        }
        _ => Err(Error::Internal("an answer's output must be .npz or text".into())),
    }
}

/// Adds the array `distances` to `npz`, in `dtype`.
fn add_distances<T: Element, S: Data<Elem = T>, D: Dimension>(
    npz: &mut NpzWriter<std::fs::File>,
    values: &ArrayBase<S, D>,
    dtype: Dtype,
) -> Result<()> {
    match dtype {
        Dtype::F32 => npz.add_array("distances", &values.mapv(|v| v.cast::<f32>())),
        Dtype::F64 => npz.add_array("distances", &values.mapv(|v| v.cast::<f64>())),
    }
    .map_err(npz_error)
}

/// A distance as written in a dtype: the shortest text that reads back to the same value.
struct Shown<T>(T, Dtype);

impl<T: Element> std::fmt::Display for Shown<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            Dtype::F32 => write!(f, "{}", self.0.cast::<f32>()),
            Dtype::F64 => write!(f, "{}", self.0.cast::<f64>()),
        }
    }
}

fn npz_error(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("writing .npz: {e}"))
}

/// One line per neighbour (`row, rank, index, distance`) or pair (`row, col, distance`),
/// after a header line naming the columns that starts with `# `: a comment to NumPy's
/// `loadtxt`, pandas (`comment="#"`), R and pairdist's own reader, so the file loads as numbers.
fn text<T: Element>(mut w: impl Write, delimiter: char, answer: &Answer<T>, dtype: Dtype, stdout: bool) -> Result<()> {
    let io = |e: std::io::Error| if stdout { Error::Stdout(e) } else { Error::Internal(e.to_string()) };
    let d = delimiter;
    match answer {
        Answer::Nearest(nn) => {
            writeln!(w, "# row{d}rank{d}index{d}distance").map_err(io)?;
            for (i, (cols, dist)) in nn.indices.rows().into_iter().zip(nn.distances.rows()).enumerate() {
                for (rank, (j, &v)) in cols.iter().zip(dist.iter()).enumerate() {
                    writeln!(w, "{i}{d}{rank}{d}{j}{d}{}", Shown(v, dtype)).map_err(io)?;
                }
            }
        }
        Answer::Within(p) => {
            writeln!(w, "# row{d}col{d}distance").map_err(io)?;
            for ((i, j), &v) in p.rows.iter().zip(&p.cols).zip(&p.distances) {
                writeln!(w, "{i}{d}{j}{d}{}", Shown(v, dtype)).map_err(io)?;
            }
        }
    }
    w.flush().map_err(io)
}
