//! `pairdist`: distance matrices from the command line (see `pairdist --help`).
//!
//! Nothing here prints with `println!` or `eprintln!`: they panic when a write fails (a full
//! disk, a closed pipe). Standard output goes through `out!`, which returns the failure as an
//! error, and standard error through [`say`], which ignores it (with stderr gone, the exit
//! status is all that is left to tell).

/// `println!` that returns an error ([`Error::Stdout`]) instead of panicking when the write fails.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

mod answers;
mod check;
mod demo;
mod params;
mod progress;
mod tune;
mod writer;

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use pairdist::plan::Region;
use pairdist::sink::Layout;
use pairdist::{Backend, Dtype, Element, Engine, EngineOptions, Error, Metric, Result};
use pairdist_cli::io::{Input, OutputFile, is_stdio, read_input, same_file};

/// Pairwise distance matrices on any GPU (WebGPU: Vulkan, Metal, DX12) or on all CPU cores.
#[derive(Parser)]
#[command(name = "pairdist", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Distance matrix between the rows of XA and the rows of XB (like scipy.spatial.distance.cdist).
    Cdist {
        /// Points, one per row: .npy (float32/float64, either byte order, C or Fortran order) or
        /// text (commas or white space); - reads standard input.
        xa: PathBuf,
        /// Second set of points; XA again when omitted.
        xb: Option<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Condensed distance vector of the rows of X, pairs i < j row by row (like scipy.spatial.distance.pdist).
    Pdist {
        /// Points, one per row: .npy (float32/float64, either byte order, C or Fortran order) or
        /// text (commas or white space); - reads standard input.
        x: PathBuf,
        #[command(flatten)]
        run: RunArgs,
    },
    /// The K nearest rows of XB for every row of XA, without the matrix (like scikit-learn's
    /// NearestNeighbors.kneighbors): .npz with `distances` (n x K, --dtype) and `indices`
    /// (n x K int64), or text lines `row,rank,index,distance` after a `#` header line. XB
    /// omitted: XA against itself, each point left out of its own list. Ties go to the smaller
    /// index.
    Knn {
        /// Query points, one per row (as for cdist).
        xa: PathBuf,
        /// Points searched; XA itself when omitted.
        xb: Option<PathBuf>,
        /// Neighbours per row (at least 1).
        #[arg(short = 'k', long = "neighbors", value_parser = parse_k, allow_negative_numbers = true)]
        k: usize,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Every pair at distance <= R, without the matrix (like scikit-learn's radius_neighbors):
    /// .npz with `rows`, `cols` (int64) and `distances` (--dtype) sorted by row then column, or
    /// text lines `row,col,distance` after a `#` header line. XB omitted: pairs i < j of XA.
    /// For sqeuclidean, R is squared.
    Radius {
        /// Points, one per row (as for cdist).
        xa: PathBuf,
        /// Second set of points; XA itself (pairs i < j) when omitted.
        xb: Option<PathBuf>,
        /// The radius.
        #[arg(short = 'r', long = "radius", allow_negative_numbers = true)]
        r: f64,
        /// Fail, before memory runs out, when more pairs than this are within R.
        #[arg(long, default_value_t = 100_000_000, value_parser = parse_max_pairs, allow_negative_numbers = true)]
        max_pairs: usize,
        #[command(flatten)]
        run: RunArgs,
    },
    /// List every adapter wgpu sees and the limits that matter to pairdist.
    Info,
    /// List the metrics, their SciPy names, aliases and formulas.
    Metrics,
    /// Compute a generated problem and report what ran, how fast, and how exact.
    Demo(demo::DemoArgs),
    /// Time the GPU kernel's candidate tile shapes on an adapter, print them, and cache the
    /// fastest one that matches the f64 reference (used by later runs on that adapter).
    Tune(tune::TuneArgs),
}

/// Options shared by cdist and pdist.
#[derive(Args)]
struct RunArgs {
    // The help lists the library's metrics (`metric_help`): a list written here went stale.
    #[arg(short, long, default_value = "euclidean", value_parser = parse_metric, help = metric_help())]
    metric: Metric,
    #[command(flatten)]
    params: params::MetricParams,
    /// Output file: .npy (.npz for knn and radius), or text when it ends in .txt, .csv or
    /// .tsv; - writes text to standard output. An existing device or FIFO is written into (text
    /// unless its name says otherwise), never replaced.
    #[arg(short, long)]
    output: PathBuf,
    /// The output's type: f32 or f64. Default: the input's (float64 when an input file is
    /// float64, float32 for float32 files and for text, which is read as float64 but has no
    /// type of its own). pairdist computes in float64 when an input file or the output is
    /// float64; f32 from float64 input halves the output, each value rounded once.
    #[arg(long, value_parser = parse_dtype)]
    dtype: Option<Dtype>,
    /// Write the output even when it is one of the inputs, replacing it.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    engine: EngineArgs,
    /// Recompute a sample of entries with the f64 reference and report the largest relative
    /// error; fail if any is out of tolerance, before that tile is written (a file output is
    /// then not written at all; standard output has only the tiles before it).
    #[arg(long)]
    check: bool,
    /// No progress bar, and only warnings and errors in the log.
    #[arg(short, long)]
    quiet: bool,
}

/// How the engine is built.
#[derive(Args)]
pub(crate) struct EngineArgs {
    /// auto: the best hardware GPU, else the CPU; gpu: a GPU adapter (error if none); cpu.
    #[arg(short, long, default_value = "auto", value_parser = parse_backend)]
    backend: Backend,
    /// Use the adapter whose "NAME (BACKEND)" contains this text, e.g. "rtx" or "(gl)" (see `pairdist info`).
    #[arg(long)]
    adapter: Option<String>,
    /// Cap every tile buffer at this size (for example 64KiB): more, smaller tiles.
    #[arg(long, value_parser = parse_bytes, allow_hyphen_values = true)]
    max_tile_bytes: Option<u64>,
    /// Device memory for all tile buffers together (for example 256MiB).
    #[arg(long, value_parser = parse_bytes, default_value = "512MiB", allow_hyphen_values = true)]
    memory_budget: u64,
    /// On a GPU with no cached tuning, time the kernel's candidate tile shapes first (seconds,
    /// once per adapter; cached, as `pairdist tune` does).
    #[arg(long)]
    autotune: bool,
    /// Threads for the host's work (the CPU's kernels; a GPU's packing and copies); default:
    /// all cores.
    #[arg(long, value_parser = parse_threads, allow_hyphen_values = true)]
    threads: Option<usize>,
}

/// A thread count of at least 1.
fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("threads must be a whole number of at least 1, got {s}")),
    }
}

/// `-k`: at least 1. Negative numbers reach here (`allow_negative_numbers`), so `-k -1` gets
/// this message rather than clap's "unexpected argument '-1'".
fn parse_k(s: &str) -> Result<usize, String> {
    parse_count(s, "k", 1)
}

/// `--max-pairs`: 0 or more.
fn parse_max_pairs(s: &str) -> Result<usize, String> {
    parse_count(s, "max-pairs", 0)
}

/// A whole number of at least `min`, named `name` in the message when it is not one.
pub(crate) fn parse_count(s: &str, name: &str, min: usize) -> Result<usize, String> {
    match s.trim().parse::<i128>() {
        Ok(n) if n < min as i128 => Err(format!("{name} must be at least {min}, got {s}")),
        Ok(n) => usize::try_from(n).map_err(|_| format!("{name} is too large: {s}")),
        Err(_) => Err(format!("{name} must be a whole number of at least {min}, got {s}")),
    }
}

impl EngineArgs {
    pub(crate) fn build(&self) -> Result<Engine> {
        self.build_with(None)
    }

    /// The engine, reporting progress to and stopping on `monitor`.
    pub(crate) fn build_with(&self, monitor: Option<std::sync::Arc<pairdist::Monitor>>) -> Result<Engine> {
        Engine::with_options(EngineOptions {
            backend: self.backend,
            adapter: self.adapter.clone(),
            max_tile_bytes: self.max_tile_bytes,
            memory_budget: self.memory_budget,
            monitor,
            autotune: self.autotune,
            threads: self.threads,
            ..EngineOptions::default()
        })
    }
}

/// `--metric`'s help: every metric's SciPy name, from the library's own list.
fn metric_help() -> String {
    let names: Vec<&str> = Metric::ALL.iter().map(|m| m.definition().name).collect();
    format!("Metric, by SciPy's name: {} (see `pairdist metrics`)", names.join(", "))
}

fn parse_metric(s: &str) -> Result<Metric, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

fn parse_dtype(s: &str) -> Result<Dtype, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

fn parse_backend(s: &str) -> Result<Backend, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

fn parse_bytes(s: &str) -> Result<u64, String> {
    parse_size::parse_size(s).map_err(|e| format!("'{s}' is not a size in bytes ({e})"))
}

/// Set by Ctrl-C; sinks stop at the next tile and the temporary output is removed.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The longest error line, in characters: enough for two paths and a reason, not for a file's
/// content quoted back.
const MAX_ERROR_CHARS: usize = 300;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version (and the help for a bare `pairdist`) are printed as clap does;
        // a failure to print the help that was asked for is an error like any other.
        Err(e) if !e.use_stderr() || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            return match e.print() {
                Err(err) if !e.use_stderr() => exit_with(Error::Stdout(err)),
                _ => ExitCode::from(e.exit_code().clamp(0, 255) as u8),
            };
        }
        Err(e) => {
            // Usage errors (unknown metric, missing argument) in the same one-line form as every
            // other error: clap's first paragraph, without its usage block.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered.lines().map(str::trim).take_while(|l| !l.is_empty()).collect();
            let message = message.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            say(&format!("pairdist: error: {} (see pairdist --help)", one_line(message)));
            return ExitCode::from(2);
        }
    };
    let quiet = match &cli.command {
        Command::Cdist { run, .. }
        | Command::Pdist { run, .. }
        | Command::Knn { run, .. }
        | Command::Radius { run, .. } => run.quiet,
        _ => false,
    };
    // env_logger ignores failed writes to stderr: a closed stderr cannot fail a run.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(if quiet { "warn" } else { "info" }))
        .format_timestamp(None)
        .init();
    if let Err(e) = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // Second Ctrl-C: leave now (only a temporary file can remain, never the output).
            std::process::exit(130);
        }
        say("pairdist: interrupted, stopping after the current tile (again to abort at once)");
    }) {
        log::warn!("cannot install the Ctrl-C handler: {e}");
    }
    #[cfg(unix)]
    quit_as_interrupt();
    let result = match cli.command {
        Command::Cdist { xa, xb, run } => run_distances(&xa, xb.as_deref(), false, &run),
        Command::Pdist { x, run } => run_distances(&x, None, true, &run),
        Command::Knn { xa, xb, k, run } => answers::run(&xa, xb.as_deref(), answers::Question::Nearest(k), &run),
        Command::Radius { xa, xb, r, max_pairs, run } => {
            answers::run(&xa, xb.as_deref(), answers::Question::Within { r, max_pairs }, &run)
        }
        Command::Info => info(),
        Command::Metrics => metrics(),
        Command::Demo(args) => demo::run(&args),
        Command::Tune(args) => tune::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit_with(e),
    }
}

/// SIGQUIT (`Ctrl-\`) stops a run as Ctrl-C does. ctrlc handles SIGINT, SIGTERM and SIGHUP (the
/// run stops at the next tile and removes its temporary output); SIGQUIT's default action
/// would end the process at once and leave the `.partial` file. Its handler raises SIGINT,
/// which ctrlc's handler then takes: one path for every signal, a second one aborting at once.
#[cfg(unix)]
fn quit_as_interrupt() {
    extern "C" fn on_quit(_: libc::c_int) {
        // SAFETY: raise is async-signal-safe; ctrlc's SIGINT handler only writes to its pipe.
        unsafe {
            libc::raise(libc::SIGINT);
        }
    }
    // SAFETY: installs a handler that calls only async-signal-safe functions.
    let previous = unsafe { libc::signal(libc::SIGQUIT, on_quit as extern "C" fn(libc::c_int) as libc::sighandler_t) };
    if previous == libc::SIG_ERR {
        log::warn!("cannot install the SIGQUIT handler: {}", std::io::Error::last_os_error());
    }
}

/// Reports `e` on stderr and gives the exit status: with the usage errors in `main`, the only
/// place errors are printed, so every one of them goes through [`one_line`].
fn exit_with(e: Error) -> ExitCode {
    match e {
        Error::Interrupted => {
            say("pairdist: interrupted; no output written");
            ExitCode::from(130)
        }
        // A reader that closes the pipe (`| head`) has seen enough: end quietly, as other tools do.
        Error::Stdout(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        e => {
            say(&format!("pairdist: error: {}", one_line(&e.to_string())));
            ExitCode::FAILURE
        }
    }
}

/// `text` as one printable line of at most [`MAX_ERROR_CHARS`] characters: messages quote
/// input (a token, a header, a file name) that can hold newlines or terminal escapes.
fn one_line(text: &str) -> String {
    let mut line = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == MAX_ERROR_CHARS {
            line.push_str("...");
            break;
        }
        match c {
            '\'' | '"' | '\\' => line.push(c),
            c => line.extend(c.escape_debug()),
        }
    }
    line
}

/// Writes a line to stderr. A failure is ignored: there is nowhere left to report it.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Writes a line to stdout (see `out!`).
fn write_stdout(args: fmt::Arguments) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_fmt(args).and_then(|()| stdout.write_all(b"\n")).map_err(Error::Stdout)
}

/// Refuses, before any work, what cannot end well: standard input given twice, and an output
/// that is one of the inputs (same file under any spelling or link), which the run would
/// replace; `--force` allows that (the inputs are read whole first, so the result is still
/// computed from them as they were).
fn check_paths(inputs: &[&Path], output: &Path, force: bool) -> Result<()> {
    if inputs.iter().filter(|p| is_stdio(p)).count() > 1 {
        return Err(Error::BadInput {
            path: "-".into(),
            reason: "standard input can be read only once: give - as XA or XB, not both".into(),
        });
    }
    if force || is_stdio(output) {
        return Ok(());
    }
    match inputs.iter().find(|input| same_file(output, input)) {
        Some(input) => Err(Error::WriteFile {
            path: output.into(),
            reason: format!("is the input '{}'; use --force to replace it", input.display()),
        }),
        None => Ok(()),
    }
}

/// The types of a run: what it computes in and what it writes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Precision {
    /// float64 when an input or the output is float64: results are never computed in less
    /// precision than the input holds or the output shows.
    pub compute: Dtype,
    /// `--dtype`, else the widest input's type (as SciPy's results have their input's).
    pub output: Dtype,
}

impl Precision {
    /// The precision for `inputs` and the `--dtype` asked for; logged, since it decides speed
    /// and output size.
    pub(crate) fn of(inputs: &[&Input], asked: Option<Dtype>) -> Precision {
        let widest = inputs.iter().map(|i| i.default_dtype()).max().unwrap_or(Dtype::F32);
        let output = asked.unwrap_or(widest);
        let precision = Precision { compute: widest.max(output), output };
        log::info!("computing in {}, writing {}", precision.compute, precision.output);
        precision
    }
}

/// The inputs of a run, read whole after the paths are checked (see [`check_paths`]), and the
/// precision they and `--dtype` call for.
pub(crate) fn read_inputs(
    xa_path: &Path,
    xb_path: Option<&Path>,
    run: &RunArgs,
) -> Result<(Input, Option<Input>, Precision)> {
    let inputs: Vec<&Path> = std::iter::once(xa_path).chain(xb_path).collect();
    check_paths(&inputs, &run.output, run.force)?;
    let xa = read_input(xa_path)?;
    let xb = xb_path.map(read_input).transpose()?;
    let read: Vec<&Input> = std::iter::once(&xa).chain(&xb).collect();
    let precision = Precision::of(&read, run.dtype);
    Ok((xa, xb, precision))
}

/// cdist of XA against XB (XA again when `xb_path` is None), or pdist of XA.
fn run_distances(xa_path: &Path, xb_path: Option<&Path>, pdist: bool, run: &RunArgs) -> Result<()> {
    let output = OutputFile::create(&run.output)?;
    let (xa, xb, precision) = read_inputs(xa_path, xb_path, run)?;
    match precision.compute {
        Dtype::F32 => distances::<f32>(&xa, xb.as_ref(), pdist, run, output, precision),
        Dtype::F64 => distances::<f64>(&xa, xb.as_ref(), pdist, run, output, precision),
    }
}

/// [`run_distances`] computed in `T`.
fn distances<T: Element>(
    xa: &Input,
    xb: Option<&Input>,
    pdist: bool,
    run: &RunArgs,
    output: OutputFile,
    precision: Precision,
) -> Result<()> {
    let xb_or_xa = xb.unwrap_or(xa);
    let (xa_values, xb_values) = (xa.values::<T>(), xb.map(|xb| xb.values::<T>()));
    let (x, y) = (xa_values.view(), xb_values.as_ref().map_or(xa_values.view(), |v| v.view()));
    // Before the engine is built: a mismatch should not wait for a GPU to open.
    pairdist::validate::same_dims(x.ncols(), y.ncols())?;
    let distance = run.params.distance(run.metric)?;
    // The parameters against the inputs (and SciPy's defaults), before any work.
    let resolved = distance.resolve(x, (!pdist).then_some(y))?;
    let entries = pairdist::validate::output_entries(x.nrows(), y.nrows(), pdist)?;
    let engine = run.engine.build()?;
    let layout = if pdist { Layout::Condensed { n: x.nrows() } } else { Layout::Matrix { n: x.nrows(), m: y.nrows() } };
    let region = if pdist { Region::StrictUpper } else { Region::Full };
    let plan = engine.plan_for::<T>(x.nrows(), y.nrows(), x.ncols(), region)?;
    log::info!(
        "{} {}x{}x{} {}: {} blocks of up to {}x{}{}",
        if pdist { "pdist" } else { "cdist" },
        x.nrows(),
        y.nrows(),
        x.ncols(),
        distance.metric(),
        plan.tiles().count(),
        plan.tile_rows,
        plan.tile_cols,
        if plan.splits_dims() { format!(", d in chunks of {}", plan.tile_dims) } else { String::new() }
    );

    // Disk writes run on their own thread, overlapping the computation; Ctrl-C ends every
    // wait for it (see writer.rs).
    let mut file_sink = writer::Writer::<T>::new(output.sink_for::<T>(layout, precision.output)?, &INTERRUPTED)?;
    let mut checker =
        run.check.then(|| check::Checker::<T>::new(xa, xb_or_xa, resolved, pdist, entries, precision.output));
    let bar = progress::bar(plan.tiles().map(|b| b.len() as u64).sum(), run.quiet);
    let unwritten = match output.path() {
        p if is_stdio(p) => "standard output has the tiles before the failing one, and nothing after",
        _ => "output not written",
    };
    let mut sink = progress::Observed {
        inner: &mut file_sink,
        bar: &bar,
        interrupted: &INTERRUPTED,
        checker: checker.as_mut(),
        unwritten,
    };
    let start = Instant::now();
    if pdist {
        engine.pdist_to(x, &distance, &mut sink)?;
    } else {
        engine.cdist_to(x, y, &distance, &mut sink)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    if let Some(checker) = &checker {
        let report = checker.report();
        if !report.passed() {
            return Err(Error::CheckFailed(format!("{report}; output not written")));
        }
        say(&format!("check: {report}"));
    }
    drop(file_sink);
    // A Ctrl-C while the last tiles were flushed to disk still means "no output".
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(Error::Interrupted);
    }
    // The result describes the inputs as they were read; if a file changed since, say so.
    xa.check_unchanged()?;
    xb.map_or(Ok(()), |xb| xb.check_unchanged())?;
    let name = output.name();
    output.commit()?;
    let pairs = layout.len() as f64;
    log::info!(
        "wrote {} ({}, {}) in {:.3} s: {:.3} G pairs/s, {:.2} Gpd/s",
        name,
        layout.shape().iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" x "),
        precision.output,
        seconds,
        pairs / seconds / 1e9,
        pairs * x.ncols() as f64 / seconds / 1e9
    );
    Ok(())
}

fn metrics() -> Result<()> {
    for metric in Metric::ALL {
        let def = metric.definition();
        out!("{:<14} {}", def.name, def.formula)?;
        if !def.parameters.is_empty() {
            out!("{:<14}   parameters: {}", "", def.parameters)?;
        }
        if !def.aliases.is_empty() {
            out!("{:<14}   aliases: {}", "", def.aliases.join(", "))?;
        }
    }
    Ok(())
}

fn info() -> Result<()> {
    let adapters = pairdist::gpu::adapters();
    if adapters.is_empty() {
        out!("no GPU adapter found; pairdist runs on the CPU ({} threads)", rayon::current_num_threads())?;
        out!("(on Debian/Ubuntu, `apt-get install mesa-vulkan-drivers` gives a software Vulkan adapter)")?;
        return Ok(());
    }
    for a in adapters {
        out!("{}", a.selector())?;
        out!("  backend:              {}", a.backend)?;
        out!("  device type:          {}{}", a.device_type, if a.is_software { " (software)" } else { "" })?;
        out!("  driver:               {}", a.driver)?;
        if let Some(why) = &a.unusable {
            out!("  unusable:             {why} (never chosen)")?;
        }
        out!("  max storage binding:  {} MiB", a.max_storage_binding >> 20)?;
        out!("  max buffer:           {} MiB", a.max_buffer >> 20)?;
        out!("  max workgroups/dim:   {}", a.max_workgroups_per_dim)?;
        out!("  max invocations/wg:   {}", a.max_invocations)?;
        out!("  workgroup memory:     {} KiB", a.workgroup_storage >> 10)?;
        out!(
            "  shader f64:           {}",
            if a.shader_f64 { "yes (float64 runs on this adapter)" } else { "no (float64 runs on the CPU)" }
        )?;
        out!(
            "  timestamp queries:    {}",
            if a.timestamp_query { "yes (benchmarks time compute on the GPU clock)" } else { "no" }
        )?;
    }
    out!("CPU: {} threads", rayon::current_num_threads())
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn error_lines_are_one_printable_line_of_bounded_length() {
        assert_eq!(one_line("bad 'x' in \"f\\g\""), "bad 'x' in \"f\\g\"");
        assert_eq!(one_line("a\nb\x1b[31m\u{7}"), "a\\nb\\u{1b}[31m\\u{7}");
        let long = one_line(&"x".repeat(10_000));
        assert_eq!(long.len(), super::MAX_ERROR_CHARS + 3);
        assert!(long.ends_with("..."));
    }
}
