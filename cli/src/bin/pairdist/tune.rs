//! `pairdist tune`: times the tiled kernel's candidate shapes on one adapter, prints every
//! candidate's time and the choice, and caches the choice for later runs.

use std::path::PathBuf;

use clap::Args;
use pairdist::gpu::{CacheKey, GpuContext, Kernel, TuneOptions, TuningCache, tune};
use pairdist::{Error, Result};

/// Options of `pairdist tune`.
#[derive(Args)]
pub(crate) struct TuneArgs {
    /// Tune the adapter whose "NAME (BACKEND)" contains this (default: the best adapter, as
    /// `--backend gpu` picks it; see `pairdist info`).
    #[arg(long)]
    adapter: Option<String>,
    /// Rows of both inputs of the timed problem (default: 4096 on a GPU, 512 on a software
    /// adapter such as lavapipe).
    #[arg(long, value_parser = |s: &str| crate::parse_count(s, "n", 0), allow_negative_numbers = true)]
    n: Option<usize>,
    /// Dimensions of the timed problem (default: 128).
    #[arg(long, value_parser = |s: &str| crate::parse_count(s, "d", 0), allow_negative_numbers = true)]
    d: Option<usize>,
    /// Timed runs per candidate after a warm-up, in rounds of every candidate once; the
    /// fastest counts (default: 5).
    #[arg(long, value_parser = |s: &str| crate::parse_count(s, "repeats", 0), allow_negative_numbers = true)]
    repeats: Option<usize>,
    /// The tuning cache's directory (default: $PAIRDIST_CACHE_DIR, else
    /// $XDG_CACHE_HOME/pairdist, else ~/.cache/pairdist).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Measure and print, but leave the cache as it is.
    #[arg(long)]
    no_save: bool,
}

/// Runs `pairdist tune`.
pub(crate) fn run(args: &TuneArgs) -> Result<()> {
    // Resolved before the minutes of measuring, so a missing directory fails at once.
    let cache = match (args.no_save, TuningCache::at(args.cache_dir.as_deref())) {
        (true, _) => None,
        (false, Some(cache)) => Some(cache),
        (false, None) => {
            return Err(Error::InvalidArgument(
                "no cache directory: set PAIRDIST_CACHE_DIR or HOME, or give --cache-dir (or --no-save)".into(),
            ));
        }
    };
    let mut ctx = GpuContext::new(args.adapter.as_deref())?;
    let defaults = TuneOptions::for_adapter(ctx.adapter());
    let options = TuneOptions {
        n: args.n.unwrap_or(defaults.n),
        d: args.d.unwrap_or(defaults.d),
        repeats: args.repeats.unwrap_or(defaults.repeats),
    };
    options.validate()?;
    let TuneOptions { n, d, repeats } = options;
    out!("adapter: {}", ctx.adapter())?;
    out!(
        "timing the tiled kernel's candidate tunings on {n} x {n} x {d} sqeuclidean: compute phase, fastest of \
         {repeats} rounds after a warm-up; each candidate's results are checked against the f64 reference first"
    )?;
    let report = tune(&mut ctx, &options)?;
    out!(
        "{:<58} {:>9} {:>12} {:>9}",
        "tuning (invocations, outputs, TILE_K, prefetch)",
        "wg bytes",
        "compute ms",
        "Gpd/s"
    )?;
    for m in &report.measurements {
        let (time, rate) = match m.compute {
            Some(t) => {
                let s = t.as_secs_f64();
                (format!("{:.3}", s * 1e3), format!("{:.1}", (n * n * d) as f64 / s / 1e9))
            }
            None => ("-".into(), "-".into()),
        };
        let mut note = Vec::new();
        if m.tuning == report.chosen {
            note.push("chosen".to_string());
        }
        if m.tuning == report.default {
            note.push("default".to_string());
        }
        if let Some(why) = &m.failure {
            note.push(format!("failed: {why}"));
        }
        out!(
            "{:<58} {:>9} {time:>12} {rate:>9}  {}",
            m.tuning.to_string(),
            Kernel::Tiled.workgroup_bytes(&m.tuning),
            note.join(", ")
        )?;
    }
    let speedup = match (report.chosen_measurement().compute, report.measurements[0].compute) {
        (Some(best), Some(default)) => {
            format!(", {:.2}x the default's speed", default.as_secs_f64() / best.as_secs_f64())
        }
        _ => String::new(),
    };
    out!("chosen: {} ({} clock{speedup})", report.chosen, report.clock)?;
    match cache {
        Some(cache) => {
            cache.store(&CacheKey::for_adapter(ctx.adapter()), report.chosen, &report.summary())?;
            out!("saved to {}", cache.path().display())
        }
        None => out!("not saved (--no-save)"),
    }
}
