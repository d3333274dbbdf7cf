//! `pairdist`: distance matrices from the command line (see `pairdist --help`).

mod check;
mod demo;
mod progress;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use pairdist::io::{OutputFile, read_input};
use pairdist::plan::Region;
use pairdist::sink::{Background, Layout};
use pairdist::{Backend, Engine, EngineOptions, Error, Metric, Result};

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
        /// Points, one per row: .npy (float32/float64, C or Fortran order) or text (.txt, .csv, .tsv).
        xa: PathBuf,
        /// Second set of points; XA again when omitted.
        xb: Option<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Condensed distance vector of the rows of X, pairs i < j row by row (like scipy.spatial.distance.pdist).
    Pdist {
        /// Points, one per row: .npy (float32/float64, C or Fortran order) or text (.txt, .csv, .tsv).
        x: PathBuf,
        #[command(flatten)]
        run: RunArgs,
    },
    /// List every adapter wgpu sees and the limits that matter to pairdist.
    Info,
    /// Compute a generated problem and report what ran, how fast, and how exact.
    Demo(demo::DemoArgs),
}

/// Options shared by cdist and pdist.
#[derive(Args)]
struct RunArgs {
    /// Metric: euclidean, sqeuclidean, cityblock (alias manhattan).
    #[arg(short, long, default_value = "euclidean", value_parser = parse_metric)]
    metric: Metric,
    /// Output file: .npy (float32), or text when it ends in .txt, .csv or .tsv.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    engine: EngineArgs,
    /// Recompute a sample of entries with the f64 reference and report the largest relative
    /// error; fail (and write nothing) if any is out of tolerance.
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
    #[arg(long, value_parser = parse_bytes)]
    max_tile_bytes: Option<u64>,
    /// Device memory for all tile buffers together (for example 256MiB).
    #[arg(long, value_parser = parse_bytes, default_value = "512MiB")]
    memory_budget: u64,
}

impl EngineArgs {
    pub(crate) fn build(&self) -> Result<Engine> {
        Engine::with_options(EngineOptions {
            backend: self.backend,
            adapter: self.adapter.clone(),
            max_tile_bytes: self.max_tile_bytes,
            memory_budget: self.memory_budget,
            ..EngineOptions::default()
        })
    }
}

fn parse_metric(s: &str) -> Result<Metric, String> {
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

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version (and the help for a bare `pairdist`) are printed as clap does.
        Err(e) if !e.use_stderr() || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            e.exit()
        }
        Err(e) => {
            // Usage errors (unknown metric, missing argument) in the same one-line form as every
            // other error: clap's first paragraph, without its usage block.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered.lines().map(str::trim).take_while(|l| !l.is_empty()).collect();
            let message = message.join(" ");
            eprintln!("pairdist: error: {} (see pairdist --help)", message.strip_prefix("error: ").unwrap_or(&message));
            return ExitCode::from(2);
        }
    };
    let quiet = match &cli.command {
        Command::Cdist { run, .. } | Command::Pdist { run, .. } => run.quiet,
        _ => false,
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(if quiet { "warn" } else { "info" }))
        .format_timestamp(None)
        .init();
    if let Err(e) = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // Second Ctrl-C: leave now (only a temporary file can remain, never the output).
            std::process::exit(130);
        }
        eprintln!("pairdist: interrupted, stopping after the current tile (again to abort at once)");
    }) {
        log::warn!("cannot install the Ctrl-C handler: {e}");
    }
    let result = match cli.command {
        Command::Cdist { xa, xb, run } => run_distances(&xa, xb.as_deref(), false, &run),
        Command::Pdist { x, run } => run_distances(&x, None, true, &run),
        Command::Info => info(),
        Command::Demo(args) => demo::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Interrupted) => {
            eprintln!("pairdist: interrupted; no output written");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("pairdist: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// cdist of XA against XB (XA again when `xb_path` is None), or pdist of XA.
fn run_distances(xa_path: &Path, xb_path: Option<&Path>, pdist: bool, run: &RunArgs) -> Result<()> {
    let output = OutputFile::create(&run.output)?;
    let xa = read_input(xa_path)?;
    let xb = xb_path.map(read_input).transpose()?;
    let (x, y) = (xa.view(), xb.as_ref().map_or(xa.view(), |b| b.view()));
    // Before the engine is built: a mismatch should not wait for a GPU to open.
    pairdist::validate::same_dims(x.ncols(), y.ncols())?;
    let engine = run.engine.build()?;
    let layout = if pdist { Layout::Condensed { n: x.nrows() } } else { Layout::Matrix { n: x.nrows(), m: y.nrows() } };
    let plan = engine.plan(x.nrows(), y.nrows(), x.ncols(), if pdist { Region::StrictUpper } else { Region::Full })?;
    log::info!(
        "{} {}x{}x{} {}: {} blocks of up to {}x{}{}",
        if pdist { "pdist" } else { "cdist" },
        x.nrows(),
        y.nrows(),
        x.ncols(),
        run.metric,
        plan.blocks().count(),
        plan.tile_rows,
        plan.tile_cols,
        if plan.splits_dims() { format!(", d in chunks of {}", plan.tile_dims) } else { String::new() }
    );

    // Disk writes run on their own thread, overlapping the computation.
    let mut file_sink = Background::new(output.sink(layout)?);
    let mut checker = run.check.then(|| check::Checker::new(x, y, run.metric, pdist));
    let bar = progress::bar(plan.blocks().map(|b| b.len() as u64).sum(), run.quiet);
    let mut sink =
        progress::Observed { inner: &mut file_sink, bar: &bar, interrupted: &INTERRUPTED, checker: checker.as_mut() };
    let start = Instant::now();
    if pdist {
        engine.pdist_to(x, run.metric, &mut sink)?;
    } else {
        engine.cdist_to(x, y, run.metric, &mut sink)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    if let Some(checker) = &checker {
        let report = checker.report();
        eprintln!("check: {report}");
        if !report.passed() {
            return Err(Error::CheckFailed(format!("{report}; output not written")));
        }
    }
    drop(file_sink);
    // A Ctrl-C while the last tiles were flushed to disk still means "no output".
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(Error::Interrupted);
    }
    output.commit()?;
    let pairs = layout.len() as f64;
    log::info!(
        "wrote {} ({}) in {:.3} s: {:.3} G pairs/s, {:.2} Gpd/s",
        run.output.display(),
        layout.shape().iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" x "),
        seconds,
        pairs / seconds / 1e9,
        pairs * x.ncols() as f64 / seconds / 1e9
    );
    Ok(())
}

fn info() -> Result<()> {
    let adapters = pairdist::gpu::adapters();
    if adapters.is_empty() {
        println!("no GPU adapter found; pairdist runs on the CPU ({} threads)", rayon::current_num_threads());
        println!("(on Debian/Ubuntu, `apt-get install mesa-vulkan-drivers` gives a software Vulkan adapter)");
        return Ok(());
    }
    for a in adapters {
        println!("{}", a.selector());
        println!("  backend:              {}", a.backend);
        println!("  device type:          {}{}", a.device_type, if a.is_software { " (software)" } else { "" });
        println!("  driver:               {}", a.driver);
        println!("  max storage binding:  {} MiB", a.max_storage_binding >> 20);
        println!("  max buffer:           {} MiB", a.max_buffer >> 20);
        println!("  max workgroups/dim:   {}", a.max_workgroups_per_dim);
        println!("  max invocations/wg:   {}", a.max_invocations);
        println!("  workgroup memory:     {} KiB", a.workgroup_storage >> 10);
    }
    println!("CPU: {} threads", rayon::current_num_threads());
    Ok(())
}
