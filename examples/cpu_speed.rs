//! Times `Engine::cdist` on the CPU backend (whole call, output allocated by the call) and
//! checks a sample of entries against the f64 reference.
//!
//! `cargo run --release --example cpu_speed -- [N]x[D] ... [--reps R] [--dtype f32|f64|both]`
//! (default cases 4096x3 and 8192x128, three metrics, median and best of R runs, f32; `both`
//! times f32 and then f64 on the same points, for their ratio).

use std::time::Instant;

use ndarray::Array2;
use pairdist::cpu::reference;
use pairdist::{Backend, Distance, Dtype, Element, Engine, Metric};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut reps = 5;
    let mut cases = Vec::new();
    let mut dtypes = vec![Dtype::F32];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--reps" {
            reps = it.next().ok_or("--reps needs a value")?.parse()?;
        } else if a == "--dtype" {
            dtypes = match it.next().ok_or("--dtype needs a value")?.as_str() {
                "both" => vec![Dtype::F32, Dtype::F64],
                other => vec![other.parse()?],
            };
        } else {
            let (n, d) = a.split_once('x').ok_or("cases look like 4096x3")?;
            cases.push((n.parse::<usize>()?, d.parse::<usize>()?));
        }
    }
    if cases.is_empty() {
        cases = vec![(4096, 3), (8192, 128)];
    }
    let engine = Engine::new(Backend::Cpu)?;
    println!("{}", engine.describe());
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for (n, d) in cases {
        let x = Array2::from_shape_fn((n, d), |_| rng.random_range(-1.0f32..1.0));
        let y = Array2::from_shape_fn((n, d), |_| rng.random_range(-1.0f32..1.0));
        for &dtype in &dtypes {
            match dtype {
                Dtype::F32 => time_case(&engine, &x, &y, reps)?,
                Dtype::F64 => time_case(&engine, &x.mapv(f64::from), &y.mapv(f64::from), reps)?,
            }
        }
    }
    Ok(())
}

/// Times every metric on `x` against `y`, computed in `T`.
fn time_case<T: Element>(engine: &Engine, x: &Array2<T>, y: &Array2<T>, reps: usize) -> pairdist::Result<()> {
    let (n, d) = x.dim();
    {
        for metric in [Metric::SqEuclidean, Metric::Euclidean, Metric::Cityblock] {
            let mut times = Vec::new();
            let cpu0 = cpu_seconds();
            let mut out = engine.cdist(x.view(), y.view(), metric)?; // warm-up
            assert!(out.is_standard_layout());
            for _ in 0..reps {
                drop(out);
                let t = Instant::now();
                out = engine.cdist(x.view(), y.view(), metric)?;
                times.push(t.elapsed().as_secs_f64());
            }
            // Gpd per CPU-second of this process, times the threads: what the call would reach
            // on otherwise idle cores (the machine is shared; wall-clock figures are noisy).
            let cpu_per_call = (cpu_seconds() - cpu0) / reps as f64;
            let idle_est = (n * n * d) as f64 / cpu_per_call * rayon::current_num_threads() as f64 / 1e9;
            times.sort_by(f64::total_cmp);
            let (med, best) = (times[times.len() / 2], times[0]);
            // The write bound: filling the same paged-in output on all cores.
            let mut fill = Vec::new();
            for _ in 0..reps {
                let t = Instant::now();
                out.as_slice_mut().unwrap().par_chunks_mut(1 << 16).for_each(|c| c.fill(T::one()));
                fill.push(t.elapsed().as_secs_f64());
            }
            fill.sort_by(f64::total_cmp);
            let fill_med = fill[fill.len() / 2];
            // The same into an output that is already paged in (no first-touch faults).
            let mut warm = Vec::new();
            for _ in 0..reps {
                let t = Instant::now();
                engine.cdist_into(x.view(), y.view(), metric, out.view_mut())?;
                warm.push(t.elapsed().as_secs_f64());
            }
            warm.sort_by(f64::total_cmp);
            let warm_med = warm[warm.len() / 2];
            let mut worst = 0.0f64;
            let resolved = Distance::new(metric).resolve(x.view(), Some(y.view()))?;
            for s in 0..2000 {
                let (i, j) = ((s * 7919) % n, (s * 104_729 + 13) % n);
                let want = reference::distance(x.row(i), y.row(j), &resolved);
                let got: f64 = out[(i, j)].into();
                let tol = T::tolerance(resolved.metric(), d, 1.0, want);
                worst = worst.max((got - want).abs() / tol);
            }
            let pairs = (n * n) as f64;
            println!(
                "{n}x{n}x{d} {} {:<11} median {:8.2} ms  {:6.2} Gpd/s  {:5.3} Gpairs/s | best {:6.2} Gpd/s  {:5.3} Gpairs/s | into paged-in out {:6.2} Gpd/s {:5.3} Gpairs/s | fill {:5.3} Gpairs/s | cpu-time est. {:6.2} Gpd/s {:5.3} Gpairs/s | err/tol {:.3}",
                T::DTYPE,
                metric.name(),
                med * 1e3,
                pairs * d as f64 / med / 1e9,
                pairs / med / 1e9,
                pairs * d as f64 / best / 1e9,
                pairs / best / 1e9,
                pairs * d as f64 / warm_med / 1e9,
                pairs / warm_med / 1e9,
                pairs / fill_med / 1e9,
                idle_est,
                idle_est / d as f64,
                worst
            );
            assert!(worst <= 1.0, "result outside tolerance");
        }
    }
    Ok(())
}

/// CPU time of this process so far (all threads), in seconds.
#[cfg(target_os = "linux")]
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc == 0 { ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9 } else { f64::NAN }
}

/// CPU time is not measured on this platform.
#[cfg(not(target_os = "linux"))]
fn cpu_seconds() -> f64 {
    f64::NAN
}
