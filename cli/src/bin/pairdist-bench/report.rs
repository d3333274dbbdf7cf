//! One result row per case, backend and kernel: printed as a table on stdout and collected
//! for `--json`.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

/// One case on one backend with one kernel.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Row {
    /// Adapter name, or the CPU model.
    pub(crate) adapter: String,
    /// "gpu" or "cpu".
    pub(crate) backend: &'static str,
    /// Graphics API (Vulkan, Metal, Dx12, Gl); "rayon" on the CPU.
    pub(crate) api: String,
    /// Driver name and version; the thread count on the CPU.
    pub(crate) driver: String,
    /// wgpu's device type (DiscreteGpu, IntegratedGpu, Cpu, ...); "Cpu" on the CPU path.
    pub(crate) device_type: String,
    /// Whether the adapter is a software rasterizer such as lavapipe.
    pub(crate) is_software: bool,
    /// "tiled" or "naive" on the GPU, "cpu" on the CPU.
    pub(crate) kernel: String,
    /// The tiled kernel's tuning on this adapter (GPU only).
    pub(crate) tuning: Option<String>,
    /// Where that tuning came from: "default" (the adapter's limits), "cache" or "tuned" (GPU only).
    pub(crate) tuning_origin: Option<&'static str>,
    pub(crate) n: usize,
    pub(crate) m: usize,
    pub(crate) d: usize,
    pub(crate) metric: String,
    /// Timed runs after one warm-up.
    pub(crate) repeats: usize,
    /// Median wall-clock seconds of a whole `cdist_into` call.
    pub(crate) seconds: f64,
    /// Fastest timed run.
    pub(crate) seconds_min: f64,
    /// n·m·d / seconds / 1e9.
    pub(crate) gpd_per_s: f64,
    /// n·m / seconds / 1e9.
    pub(crate) gpairs_per_s: f64,
    /// Host-timed phases of one extra run with the phases serialized (GPU only).
    pub(crate) upload_s: Option<f64>,
    pub(crate) compute_s: Option<f64>,
    pub(crate) readback_s: Option<f64>,
    /// The clock `compute_s` was read from: "gpu" (timestamp queries) or "host" (GPU only).
    pub(crate) compute_clock: Option<&'static str>,
    /// Blocks (tiles) and compute passes of that run (GPU only).
    pub(crate) blocks: Option<usize>,
    pub(crate) passes: Option<usize>,
    /// Bytes that run copied to and from the device (the engine's counters; GPU only).
    pub(crate) bytes_uploaded: Option<u64>,
    pub(crate) bytes_read_back: Option<u64>,
    /// Global-memory bytes loaded per pair-dimension, from the kernel's tile shape (GPU only).
    pub(crate) bytes_per_pair_dim: Option<f64>,
    /// Naive kernel's median / this kernel's median, same run (tiled GPU rows only).
    pub(crate) speedup_vs_naive: Option<f64>,
    /// Largest relative error against the f64 reference over the sampled entries.
    pub(crate) max_rel_err: f64,
    /// Whether every sampled entry is within `reference::tolerance`.
    pub(crate) within_tolerance: bool,
    /// Entries sampled.
    pub(crate) samples: usize,
    /// `--knn K`: the k nearest of every row on this case (f32, non-naive rows only).
    pub(crate) knn: Option<KnnRow>,
}

/// The k-nearest answer timed two ways on one case: one `Engine::knn` call (the base prepared
/// and, on a GPU, uploaded each time) and a query of an `Index` fitted once beforehand.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct KnnRow {
    pub(crate) k: usize,
    /// Median seconds of an `Engine::knn` call.
    pub(crate) seconds: f64,
    /// n·m·d / seconds / 1e9.
    pub(crate) gpd_per_s: f64,
    /// Median seconds of an `Index::knn` query, the fit excluded.
    pub(crate) index_seconds: f64,
    /// n·m·d / index_seconds / 1e9.
    pub(crate) index_gpd_per_s: f64,
    /// Recall@k of the call's answer against the f64 reference on 32 rows.
    pub(crate) recall: f64,
    /// Recall@k of the index's answer, the same way.
    pub(crate) index_recall: f64,
    /// What the engine's counters saw of one call and of one query.
    pub(crate) call: Counters,
    pub(crate) index_query: Counters,
}

/// The engine's counters over one call ([`pairdist::Stats`], less the clocks).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Counters {
    pub(crate) tiles: u64,
    pub(crate) dispatches: u64,
    pub(crate) bytes_uploaded: u64,
    pub(crate) bytes_read_back: u64,
}

impl From<&pairdist::Stats> for Counters {
    fn from(s: &pairdist::Stats) -> Counters {
        Counters {
            tiles: s.tiles,
            dispatches: s.dispatches,
            bytes_uploaded: s.bytes_uploaded,
            bytes_read_back: s.bytes_read_back,
        }
    }
}

/// Milliseconds with three significant figures or so.
fn ms(s: f64) -> String {
    let v = s * 1e3;
    match v {
        v if v < 10.0 => format!("{v:.2}"),
        v if v < 100.0 => format!("{v:.1}"),
        v => format!("{v:.0}"),
    }
}

/// The table's column header.
pub(crate) fn header() -> String {
    format!(
        "{:<6} {:<11} {:>6} {:>6} {:>5} {:>10} {:>8} {:>8}  {:<27} {:>6} {:>8} {:>9} {:>3}",
        "kernel",
        "metric",
        "n",
        "m",
        "d",
        "median s",
        "Gpd/s",
        "Gpair/s",
        "upload/compute/read ms clk",
        "B/pd",
        "vs naive",
        "max rel",
        "tol"
    )
}

impl Row {
    /// The row as a line of the table.
    pub(crate) fn line(&self) -> String {
        let split = match (self.upload_s, self.compute_s, self.readback_s) {
            (Some(u), Some(c), Some(r)) => {
                format!("{}/{}/{} {}", ms(u), ms(c), ms(r), self.compute_clock.unwrap_or(""))
            }
            _ => "-".into(),
        };
        let bytes = self.bytes_per_pair_dim.map_or("-".into(), |b| format!("{b:.3}"));
        let speedup = self.speedup_vs_naive.map_or("-".into(), |s| format!("{s:.2}x"));
        format!(
            "{:<6} {:<11} {:>6} {:>6} {:>5} {:>10.4} {:>8.2} {:>8.3}  {:<27} {:>6} {:>8} {:>9.1e} {:>3}",
            self.kernel,
            self.metric,
            self.n,
            self.m,
            self.d,
            self.seconds,
            self.gpd_per_s,
            self.gpairs_per_s,
            split,
            bytes,
            speedup,
            self.max_rel_err,
            if self.within_tolerance { "ok" } else { "BAD" }
        )
    }
}

/// Writes `rows` to `path` as a JSON array, one object per row.
pub(crate) fn write_json(path: &Path, rows: &[Row]) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer_pretty(&mut file, rows)?;
    writeln!(file)?;
    file.flush()
}
