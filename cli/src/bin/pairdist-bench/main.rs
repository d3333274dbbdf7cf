//! `pairdist-bench`: the cross-vendor benchmark. Runs the standard cases (or one given case)
//! on every GPU adapter wgpu finds and on the CPU path, times whole `cdist_into` calls (median
//! of `--repeats` after a warm-up), splits GPU time into upload, compute and readback, checks
//! a sample of every result against the f64 reference, and measures the naive GPU kernel in
//! the same run as the baseline of the tuned one. A table goes to stdout, progress to stderr,
//! and `--json FILE` keeps one object per case, backend and kernel.

mod knn;
mod measure;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ndarray::{Array2, ArrayView2};
use pairdist::gpu::{AdapterSummary, Kernel};
use pairdist::{Backend, Distance, Dtype, Element, Engine, EngineOptions, Error, Metric};
use rand::{Rng, SeedableRng};

use crate::report::{KnnRow, Row};

/// Pairwise-distance benchmark on every GPU adapter and the CPU.
///
/// Default cases: n = m in {1024, 4096, 8192}, d in {3, 64, 128, 1024}, every metric.
/// Software adapters (lavapipe) get a reduced grid (n = m in {1024, 2048}, n·m·d <= 2^29)
/// unless --full. --n, --m, --d and --metric narrow the grid (comma-separated lists).
#[derive(Parser)]
#[command(name = "pairdist-bench", version, about, long_about = None)]
struct Args {
    /// all: every GPU adapter and the CPU; gpu: every GPU adapter; cpu; auto: what
    /// `Backend::Auto` picks (a hardware GPU, else the CPU).
    #[arg(short, long, default_value = "all", value_parser = parse_target)]
    backend: Target,
    /// Only GPU adapters whose "NAME (BACKEND)" contains this, case-insensitive: "rtx", "(vulkan)", "(gl)".
    #[arg(long)]
    adapter: Option<String>,
    /// Rows of XA (comma-separated list for several).
    #[arg(long, value_delimiter = ',')]
    n: Vec<usize>,
    /// Rows of XB (default: n).
    #[arg(long)]
    m: Option<usize>,
    /// Dimensions (comma-separated list for several).
    #[arg(long, value_delimiter = ',')]
    d: Vec<usize>,
    /// Metrics by SciPy's name, minkowski with its p as minkowski:P (comma-separated list for
    /// several; default: one of each kernel, see `Metric::KERNELS`).
    #[arg(long, value_delimiter = ',', value_parser = parse_metric)]
    metric: Vec<Metric>,
    /// Timed runs per case after one warm-up; the median is reported.
    #[arg(short, long, default_value_t = 3)]
    repeats: usize,
    /// Run the standard grid on software adapters too (slow: hours on lavapipe).
    #[arg(long)]
    full: bool,
    /// Skip the naive GPU kernel (no speed-up column).
    #[arg(long)]
    no_naive: bool,
    /// Random entries of each result checked against the f64 reference.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Also write the results here as a JSON array, one object per case, backend and kernel.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also time the k nearest neighbours of every row on each case, beside the matrix: one
    /// `Engine::knn` call, and a query of an `Index` fitted once; each with its recall against
    /// the f64 reference on sampled rows and the bytes it moved (in --json under "knn").
    #[arg(long)]
    knn: Option<usize>,
    /// Add this to every coordinate (points far from the origin: where the |x|² + |y|² − 2x·y
    /// trick of other tools loses its precision).
    #[arg(long, default_value_t = 0.0)]
    offset: f32,
    /// Weights w for every metric: d of them, uniform in [0, 2), seeded (the metrics must take
    /// w; all but chebyshev's, cosine's, correlation's and the ratios' multiply each term
    /// inside the kernels).
    #[arg(long)]
    weighted: bool,
    /// On a GPU with no cached tuning, time the tiled kernel's candidate tile shapes first and
    /// cache the choice (as `pairdist tune` does); the report says where each tuning came from.
    #[arg(long)]
    autotune: bool,
    /// The points' type, which every engine computes in: f32 (float32) or f64 (float64; on a
    /// GPU, on the device where it offers SHADER_F64, else on the CPU, which the row then
    /// times). --knn runs in f32 only.
    #[arg(long, default_value = "f32", value_parser = |s: &str| s.parse::<Dtype>().map_err(|e| e.to_string()))]
    dtype: Dtype,
    /// Where a GPU reduces k-nearest, argmin and radius answers: "device" (the select and
    /// filter epilogues: only the answer is read back), "host" (whole tiles read back) or
    /// "auto" (the engine's default: on the device on hardware adapters, on the host on
    /// software ones such as lavapipe, whose shaders are slower than the host's loops).
    #[arg(long, default_value = "auto", value_parser = parse_reduce)]
    reduce_on: ReduceOn,
}

/// `--reduce-on`: `EngineOptions::reduce_on_device` (None: the engine decides).
#[derive(Clone, Copy)]
struct ReduceOn(Option<bool>);

fn parse_reduce(s: &str) -> Result<ReduceOn, String> {
    match s.to_ascii_lowercase().as_str() {
        "auto" => Ok(ReduceOn(None)),
        "device" => Ok(ReduceOn(Some(true))),
        "host" => Ok(ReduceOn(Some(false))),
        other => Err(format!("unknown place '{other}': valid ones are auto, device, host")),
    }
}

/// Which backends to run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Auto,
    Gpu,
    Cpu,
    All,
}

fn parse_target(s: &str) -> Result<Target, String> {
    match s.to_ascii_lowercase().as_str() {
        "auto" => Ok(Target::Auto),
        "gpu" => Ok(Target::Gpu),
        "cpu" => Ok(Target::Cpu),
        "all" => Ok(Target::All),
        _ => Err(format!("unknown backend '{s}' (expected auto, gpu, cpu or all)")),
    }
}

fn parse_metric(s: &str) -> Result<Metric, String> {
    if let Some(p) = s.strip_prefix("minkowski:") {
        let p: f64 = p.parse().map_err(|e| format!("minkowski:P needs a number P: {e}"))?;
        return Metric::minkowski(p).map_err(|e| e.to_string());
    }
    s.parse().map_err(|e: Error| e.to_string())
}

/// `metric` with `d` weights uniform in [0, 2) (the same for the same `d`) if `weighted`.
/// A timed run's compute time, on the device's clock where it has one, and that clock's name.
fn device_or_host(stats: &pairdist::Stats) -> (std::time::Duration, &'static str) {
    if stats.device_compute.is_zero() { (stats.compute, "host") } else { (stats.device_compute, "gpu") }
}

fn distance(metric: Metric, d: usize, weighted: bool) -> pairdist::Result<Distance> {
    let distance = Distance::new(metric);
    if !weighted {
        return Ok(distance);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    distance.with_weights((0..d).map(|_| rng.random_range(0.0..2.0)).collect())
}

/// Largest output matrix a case may allocate.
const MAX_OUTPUT_BYTES: usize = 8 << 30;

/// A backend to benchmark.
enum Device {
    Gpu(AdapterSummary),
    Cpu,
}

/// One problem size.
#[derive(Clone, Copy)]
struct Case {
    n: usize,
    m: usize,
    d: usize,
    metric: Metric,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return ExitCode::from(2);
        }
    };
    if let Err(msg) = validate(&args) {
        eprintln!("error: {msg}");
        return ExitCode::from(2);
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).format_timestamp(None).init();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn validate(args: &Args) -> Result<(), String> {
    if args.repeats == 0 {
        return Err("--repeats must be at least 1".into());
    }
    if args.n.contains(&0) || args.m == Some(0) || args.d.contains(&0) {
        return Err("--n, --m and --d must be at least 1".into());
    }
    if args.adapter.is_some() && args.backend == Target::Cpu {
        return Err("--adapter selects GPU adapters; it makes no sense with --backend cpu".into());
    }
    for &n in &args.n {
        let m = args.m.unwrap_or(n);
        let too_big = n.checked_mul(m).and_then(|p| p.checked_mul(4)).is_none_or(|b| b > MAX_OUTPUT_BYTES);
        let d_big = args
            .d
            .iter()
            .any(|&d| n.max(m).checked_mul(d).and_then(|p| p.checked_mul(4)).is_none_or(|b| b > MAX_OUTPUT_BYTES));
        if too_big || d_big {
            return Err(format!(
                "{n} x {m} (or its inputs) exceeds the benchmark's {} GiB per array",
                MAX_OUTPUT_BYTES >> 30
            ));
        }
    }
    Ok(())
}

/// The devices `args` asks for.
fn devices(args: &Args) -> pairdist::Result<Vec<Device>> {
    let mut out = Vec::new();
    match args.backend {
        Target::Cpu => out.push(Device::Cpu),
        Target::Auto => {
            let engine = Engine::with_options(EngineOptions {
                backend: Backend::Auto,
                adapter: args.adapter.clone(),
                ..Default::default()
            })?;
            out.push(engine.adapter().map_or(Device::Cpu, |a| Device::Gpu(a.clone())));
        }
        Target::Gpu | Target::All => {
            let wanted = args.adapter.as_deref().map(str::to_lowercase);
            for a in pairdist::gpu::adapters() {
                // Every adapter on every backend (one GPU seen through Vulkan and GL is two).
                if !wanted.as_deref().is_none_or(|w| a.selector().to_lowercase().contains(w)) {
                    continue;
                }
                match &a.unusable {
                    Some(why) => log::warn!("skipping {}: {why}", a.selector()),
                    None => out.push(Device::Gpu(a)),
                }
            }
            if out.is_empty() {
                let why = match &args.adapter {
                    Some(w) => format!("no GPU adapter's name contains '{w}'"),
                    None => "wgpu found no GPU adapter".into(),
                };
                if args.backend == Target::Gpu {
                    return Err(Error::NoGpu(why));
                }
                log::warn!("{why}: benchmarking the CPU only");
            }
            if args.backend == Target::All {
                out.push(Device::Cpu);
            }
        }
    }
    Ok(out)
}

/// The cases for `device`, and a note when the grid was reduced.
fn cases(args: &Args, software: bool) -> (Vec<Case>, Option<String>) {
    let reduce = software && !args.full && args.n.is_empty();
    let ns = match (&args.n, reduce) {
        (ns, _) if !ns.is_empty() => ns.clone(),
        (_, true) => vec![1024, 2048],
        (_, false) => vec![1024, 4096, 8192],
    };
    let ds = if args.d.is_empty() { vec![3, 64, 128, 1024] } else { args.d.clone() };
    let metrics = if args.metric.is_empty() { Metric::KERNELS.to_vec() } else { args.metric.clone() };
    let mut cases = Vec::new();
    for &n in &ns {
        let m = args.m.unwrap_or(n);
        for &d in &ds {
            if reduce && n * m * d > 1 << 29 {
                continue;
            }
            cases.extend(metrics.iter().map(|&metric| Case { n, m, d, metric }));
        }
    }
    let note = reduce.then(|| {
        "software adapter: reduced grid (n = m in {1024, 2048}, n*m*d <= 2^29, so d <= 128); --full runs the standard grid"
            .to_string()
    });
    (cases, note)
}

/// The CPU's model name, from /proc/cpuinfo where there is one.
fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Runs every device; returns whether every case ran and was within tolerance.
fn run(args: &Args) -> pairdist::Result<bool> {
    println!("pairdist-bench {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "));
    println!(
        "machine: {}, {} threads; times: median of {} whole cdist_into calls after 1 warm-up",
        cpu_name(),
        rayon::current_num_threads(),
        args.repeats
    );
    println!(
        "GPU upload/compute/read: one extra call with the phases serialized, timed on the host, compute on \
         the GPU's timestamps where the adapter offers them (clk: gpu or host); \
         B/pd: global-memory bytes loaded per pair-dim by the kernel's tile shape"
    );
    let mut rows = Vec::new();
    let mut ok = true;
    for device in devices(args)? {
        ok &= run_device(args, &device, &mut rows);
        if let Some(path) = &args.json {
            // Rewritten after every device, so a long run keeps what it measured.
            report::write_json(path, &rows)
                .map_err(|e| Error::WriteFile { path: path.clone(), reason: e.to_string() })?;
        }
    }
    if let Some(path) = &args.json {
        log::info!("wrote {} results to {}", rows.len(), path.display());
    }
    if !ok {
        log::error!("some cases failed or were out of tolerance (see above)");
    }
    Ok(ok)
}

/// Engines for a device: (kernel label, engine), the baseline first.
fn engines(
    device: &Device,
    naive: bool,
    autotune: bool,
    reduce_on: ReduceOn,
) -> pairdist::Result<Vec<(&'static str, Engine)>> {
    match device {
        Device::Cpu => Ok(vec![("cpu", Engine::new(Backend::Cpu)?)]),
        Device::Gpu(a) => {
            let kernels: &[Kernel] = if naive { &[Kernel::Naive, Kernel::Tiled] } else { &[Kernel::Tiled] };
            kernels
                .iter()
                .map(|&kernel| {
                    let options = EngineOptions {
                        backend: Backend::Gpu,
                        adapter: Some(a.selector()),
                        kernel,
                        autotune,
                        reduce_on_device: reduce_on.0,
                        ..Default::default()
                    };
                    Ok((kernel.name(), Engine::with_options(options)?))
                })
                .collect()
        }
    }
}

fn run_device(args: &Args, device: &Device, rows: &mut Vec<Row>) -> bool {
    let software = matches!(device, Device::Gpu(a) if a.is_software);
    let (cases, note) = cases(args, software);
    let (adapter, api, driver, device_type) = match device {
        Device::Gpu(a) => (a.name.clone(), a.backend.clone(), a.driver.clone(), a.device_type.clone()),
        Device::Cpu => (cpu_name(), "rayon".into(), format!("{} threads", rayon::current_num_threads()), "Cpu".into()),
    };
    println!();
    match device {
        Device::Gpu(a) => println!("== GPU: {a}"),
        Device::Cpu => println!("== CPU: {adapter}, {driver}"),
    }
    if let Some(note) = note {
        println!("   {note}");
    }
    let engines = match engines(device, !args.no_naive, args.autotune, args.reduce_on) {
        Ok(e) => e,
        Err(e) => {
            log::error!("cannot open {adapter}: {e}");
            return false;
        }
    };
    if let Some((engine, (kernel, tuning))) = engines.last().and_then(|(_, e)| Some((e, e.kernel_shape()?))) {
        let origin = engine.tuning_origin().map_or("-", |o| o.name());
        println!(
            "   {} kernel tuning: {tuning:?} (from {origin}), {:.3} B/pd (naive: {:.1} B/pd)",
            kernel.name(),
            kernel.bytes_per_pair_dim(&tuning),
            Kernel::Naive.bytes_per_pair_dim(&tuning)
        );
    }
    println!("{}", report::header());

    let mut ok = true;
    // Inputs for the current (n, m, d), shared by its metrics and kernels.
    let mut data: Option<(Case, Array2<f32>, Array2<f32>)> = None;
    for (index, case) in cases.iter().enumerate() {
        let Case { n, m, d, metric } = *case;
        if data.as_ref().is_none_or(|(c, _, _)| (c.n, c.m, c.d) != (n, m, d)) {
            drop(data.take()); // free the previous inputs first
            let shifted = |a: Array2<f32>| a.mapv(|v| v + args.offset);
            data = Some((*case, shifted(measure::points(n, d, 1)), shifted(measure::points(m, d, 2))));
        }
        let (_, x32, y32) = data.as_ref().expect("just filled");
        let distance = match distance(metric, d, args.weighted) {
            Ok(distance) => distance,
            Err(e) => {
                log::error!("{metric}: {e}");
                ok = false;
                continue;
            }
        };
        let place =
            Place { device, adapter: &adapter, api: &api, driver: &driver, device_type: &device_type, software };
        // The k nearest are timed in f32 only.
        let knn = |engine: &Engine, row: &mut Row| match args.knn {
            Some(k) => knn_line(engine, x32.view(), y32.view(), k, &distance, row, args.repeats),
            None => true,
        };
        ok &= match args.dtype {
            Dtype::F32 => run_case(args, &place, &engines, *case, (x32.view(), y32.view()), &distance, &knn, rows),
            Dtype::F64 => {
                let (x, y) = (x32.mapv(f64::from), y32.mapv(f64::from));
                let no_knn = |_: &Engine, _: &mut Row| true;
                run_case(args, &place, &engines, *case, (x.view(), y.view()), &distance, &no_knn, rows)
            }
        };
        log::info!("[{}/{}] {adapter}: {metric} {n} x {m} x {d} done", index + 1, cases.len());
    }
    ok
}

/// Where a case runs, as the rows report it.
struct Place<'a> {
    device: &'a Device,
    adapter: &'a str,
    api: &'a str,
    driver: &'a str,
    device_type: &'a str,
    software: bool,
}

/// Times `case` on each of `engines` with points of type `T`, checks each result against the
/// f64 reference, prints a row per engine (and runs `knn` on each tiled engine after it) and
/// keeps it in `rows`; false if any failed.
#[expect(clippy::too_many_arguments, reason = "one case's inputs, each used once")]
fn run_case<T: Element>(
    args: &Args,
    place: &Place,
    engines: &[(&'static str, Engine)],
    case: Case,
    (x, y): (ArrayView2<T>, ArrayView2<T>),
    distance: &Distance,
    knn: &dyn Fn(&Engine, &mut Row) -> bool,
    rows: &mut Vec<Row>,
) -> bool {
    let Case { n, m, d, metric } = case;
    let adapter = place.adapter;
    let mut ok = true;
    let mut out = Array2::<T>::zeros((n, m));
    let mut baseline = None;
    for (label, engine) in engines {
        // A GPU engine that cannot compute in T would time the CPU under the GPU's name.
        if let Some(why) = engine.why_on_cpu(T::DTYPE) {
            println!("   {label}: {} runs on the CPU here ({why}): not timed", T::DTYPE);
            continue;
        }
        log::info!("{adapter}: {label} {metric} {n} x {m} x {d} ({})", T::DTYPE);
        let result = (|| {
            let timing = measure::time(engine, x, y, distance, out.view_mut(), args.repeats)?;
            let phases = measure::phases(engine, x, y, distance, out.view_mut())?;
            Ok::<_, Error>((timing, phases))
        })();
        let (timing, phases) = match result {
            Ok(r) => r,
            Err(e) => {
                log::error!("{adapter}: {label} {metric} {n} x {m} x {d} failed: {e}");
                ok = false;
                continue;
            }
        };
        let accuracy = measure::check(x, y, distance, out.view(), args.samples);
        let shape = engine.kernel_shape();
        let speedup = match (*label, baseline) {
            ("tiled", Some(naive)) => Some(naive / timing.median),
            _ => None,
        };
        if *label == "naive" {
            baseline = Some(timing.median);
        }
        let (pairs, pair_dims) = ((n * m) as f64, (n * m * d) as f64);
        let api = place.api;
        let mut name = metric.to_string();
        if args.weighted {
            name.push_str(" (w)");
        }
        if T::DTYPE == Dtype::F64 {
            name.push_str(" f64");
        }
        let mut row = Row {
            adapter: adapter.to_string(),
            backend: if matches!(place.device, Device::Cpu) { "cpu" } else { "gpu" },
            api: api.to_string(),
            driver: place.driver.to_string(),
            device_type: place.device_type.to_string(),
            is_software: place.software,
            kernel: label.to_string(),
            tuning: shape.map(|(_, t)| format!("{:?}", t.for_dtype(T::DTYPE))),
            tuning_origin: engine.tuning_origin().map(|o| o.name()),
            n,
            m,
            d,
            metric: name,
            repeats: args.repeats,
            seconds: timing.median,
            seconds_min: timing.min,
            gpd_per_s: pair_dims / timing.median / 1e9,
            gpairs_per_s: pairs / timing.median / 1e9,
            // wgpu's GL backend returns from a blocking poll before the GPU is done, so
            // the host cannot split its phases (0.01 ms "compute" was printed before).
            upload_s: phases.filter(|_| api != "Gl").map(|p| p.upload.as_secs_f64()),
            compute_s: phases.filter(|_| api != "Gl").map(|p| device_or_host(&p).0.as_secs_f64()),
            readback_s: phases.filter(|_| api != "Gl").map(|p| p.readback.as_secs_f64()),
            compute_clock: phases.filter(|_| api != "Gl").map(|p| device_or_host(&p).1),
            blocks: phases.map(|p| p.tiles as usize),
            passes: phases.map(|p| p.dispatches as usize),
            bytes_uploaded: phases.map(|p| p.bytes_uploaded),
            bytes_read_back: phases.map(|p| p.bytes_read_back),
            bytes_per_pair_dim: shape.map(|(k, t)| k.bytes_per_pair_dim(&t) * (T::DTYPE.size() / 4) as f64),
            speedup_vs_naive: speedup,
            max_rel_err: accuracy.max_rel_err,
            within_tolerance: accuracy.within_tolerance,
            samples: accuracy.samples,
            knn: None,
        };
        if !row.within_tolerance {
            log::error!("{adapter}: {label} {metric} {n} x {m} x {d}: sampled entries out of tolerance");
            ok = false;
        }
        println!("{}", row.line());
        if *label != "naive" {
            ok &= knn(engine, &mut row);
        }
        rows.push(row);
    }
    ok
}

/// Times `knn` on the case of `row`, as one call and as a query of a fitted [`pairdist::Index`],
/// prints both beside the matrix's figures and records them in the row.
fn knn_line(
    engine: &Engine,
    x: ArrayView2<f32>,
    y: ArrayView2<f32>,
    k: usize,
    metric: &Distance,
    row: &mut Row,
    repeats: usize,
) -> bool {
    let measured = knn::time(engine, x, y, k, metric, repeats)
        .and_then(|call| Ok((call, knn::time_index(engine, x, y, k, metric, repeats)?)));
    let (call, query) = match measured {
        Ok(both) => both,
        Err(e) => {
            log::error!("knn k={k} {} {} x {} x {} failed: {e}", row.metric, row.n, row.m, row.d);
            return false;
        }
    };
    let pair_dims = (row.n * row.m * row.d) as f64;
    let gpd = pair_dims / call.timing.median / 1e9;
    let index_gpd = pair_dims / query.timing.median / 1e9;
    let recall = knn::recall(x, y, metric, &call.answer, 32);
    let index_recall = knn::recall(x, y, metric, &query.answer, 32);
    // On the GPU, against the matrix kernel's compute phase alone (no readback).
    let vs_compute = row.compute_s.map_or(String::new(), |c| {
        let compute_gpd = pair_dims / c / 1e9;
        format!(", {:.2}x the matrix kernel's compute-only Gpd/s", gpd / compute_gpd)
    });
    println!(
        "    knn k={k}: {gpd:.1} Gpd/s ({:.4} s), {:.2}x cdist_into{vs_compute}; recall@{k} {recall:.4} on 32 rows",
        call.timing.median,
        gpd / row.gpd_per_s,
    );
    println!(
        "    index knn k={k}: {index_gpd:.1} Gpd/s ({:.4} s) per query of a fitted index; recall@{k} {index_recall:.4}; \
         uploaded {} B, read back {} B (a call: {} B, {} B)",
        query.timing.median,
        query.counters.bytes_uploaded,
        query.counters.bytes_read_back,
        call.counters.bytes_uploaded,
        call.counters.bytes_read_back,
    );
    row.knn = Some(KnnRow {
        k,
        seconds: call.timing.median,
        gpd_per_s: gpd,
        index_seconds: query.timing.median,
        index_gpd_per_s: index_gpd,
        recall,
        index_recall,
        call: (&call.counters).into(),
        index_query: (&query.counters).into(),
    });
    recall >= 0.999 && index_recall >= 0.999
}
