//! What an engine did: bytes moved to and from the device, dispatches, tiles, and the time
//! spent in each phase, counted over every call of the engine ([`Engine::stats`]).
//!
//! The counters are how tests assert what the device did without timing anything (a second
//! query batch on an [`Index`](crate::Index) uploads no base bytes; radius reads back the hits,
//! not the matrix), and how the bench reports where a call's time went.
//!
//! [`Engine::stats`]: crate::Engine::stats

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A snapshot of an engine's counters. Every field counts from the engine's creation, over
/// every thread that used it; [`Stats::since`] gives what happened between two snapshots.
///
/// ```
/// use ndarray::Array2;
/// use pairdist::{Backend, Engine, Metric};
///
/// let engine = Engine::new(Backend::Cpu)?;
/// let before = engine.stats();
/// let x = Array2::<f32>::zeros((100, 8));
/// engine.cdist(x.view(), x.view(), Metric::Euclidean)?;
/// let call = engine.stats().since(&before);
/// assert_eq!(call.jobs, 1);
/// assert_eq!(call.pairs, 100 * 100);
/// assert_eq!(call.bytes_uploaded, 0); // the CPU moves nothing to a device
/// # Ok::<(), pairdist::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Jobs run (every call of the engine is one job; an index query is one job too).
    pub jobs: u64,
    /// Tiles of the plans computed (on the CPU, the plan's tiles whatever the bands).
    pub tiles: u64,
    /// Distance pairs computed.
    pub pairs: u64,
    /// Compute dispatches submitted to the GPU: the distance passes (one per tile and chunk of
    /// dimensions) and the answers' epilogues (select, filter). 0 on the CPU.
    pub dispatches: u64,
    /// Bytes of points (and weights) copied from the host to the device. 0 on the CPU.
    pub bytes_uploaded: u64,
    /// Bytes copied from the device to the host: distances, candidates or hits. 0 on the CPU.
    pub bytes_read_back: u64,
    /// Host time packing inputs and submitting their upload (GPU), or preparing the packed
    /// panels of Y (CPU).
    pub upload: Duration,
    /// Host time computing (CPU) or waiting for the device's results (GPU: mostly the
    /// device's compute, less whatever overlapped with the host's other phases).
    pub compute: Duration,
    /// Host time taking results into the answer: copying tiles out of mapped memory into the
    /// caller's array or a sink, merging candidates, collecting hits.
    pub readback: Duration,
    /// The distance passes on the device's own clock: measured only for jobs that run their
    /// phases one after another ([`Job::timed_phases`](crate::job::Job::timed_phases)) on an
    /// adapter with timestamp queries; zero otherwise.
    pub device_compute: Duration,
    /// Distance pipelines compiled for the GPU (a compile costs up to seconds on a software
    /// driver): one per kernel, element type, metric family and tuning, never one per metric
    /// parameter (minkowski's p is data). 0 on the CPU.
    pub pipelines_compiled: u64,
}

impl Stats {
    /// What happened between `earlier` (a snapshot of the same engine) and this snapshot.
    pub fn since(&self, earlier: &Stats) -> Stats {
        Stats {
            jobs: self.jobs - earlier.jobs,
            tiles: self.tiles - earlier.tiles,
            pairs: self.pairs - earlier.pairs,
            dispatches: self.dispatches - earlier.dispatches,
            bytes_uploaded: self.bytes_uploaded - earlier.bytes_uploaded,
            bytes_read_back: self.bytes_read_back - earlier.bytes_read_back,
            upload: self.upload.saturating_sub(earlier.upload),
            compute: self.compute.saturating_sub(earlier.compute),
            readback: self.readback.saturating_sub(earlier.readback),
            device_compute: self.device_compute.saturating_sub(earlier.device_compute),
            pipelines_compiled: self.pipelines_compiled - earlier.pipelines_compiled,
        }
    }
}

/// The phases [`Counters::time`] adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "gpu"), expect(dead_code, reason = "the CPU only computes"))]
pub(crate) enum Phase {
    Upload,
    Compute,
    Readback,
    DeviceCompute,
}

/// The live counters behind [`Stats`], shared by an engine's backends and updated from any
/// thread (relaxed atomics: each is a sum, read whole only in snapshots).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    jobs: AtomicU64,
    tiles: AtomicU64,
    pairs: AtomicU64,
    dispatches: AtomicU64,
    bytes_uploaded: AtomicU64,
    bytes_read_back: AtomicU64,
    upload_ns: AtomicU64,
    compute_ns: AtomicU64,
    readback_ns: AtomicU64,
    device_compute_ns: AtomicU64,
    pipelines_compiled: AtomicU64,
}

impl Counters {
    pub(crate) fn job(&self) {
        self.jobs.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn tiles(&self, tiles: u64, pairs: u64) {
        self.tiles.fetch_add(tiles, Ordering::Relaxed);
        self.pairs.fetch_add(pairs, Ordering::Relaxed);
    }

    #[cfg_attr(not(feature = "gpu"), expect(dead_code, reason = "the CPU compiles nothing"))]
    pub(crate) fn pipeline_compiled(&self) {
        self.pipelines_compiled.fetch_add(1, Ordering::Relaxed);
    }

    #[cfg_attr(not(feature = "gpu"), expect(dead_code, reason = "only GPUs move bytes and dispatch"))]
    pub(crate) fn dispatch(&self) {
        self.dispatches.fetch_add(1, Ordering::Relaxed);
    }

    #[cfg_attr(not(feature = "gpu"), expect(dead_code, reason = "only GPUs move bytes and dispatch"))]
    pub(crate) fn uploaded(&self, bytes: u64) {
        self.bytes_uploaded.fetch_add(bytes, Ordering::Relaxed);
    }

    #[cfg_attr(not(feature = "gpu"), expect(dead_code, reason = "only GPUs move bytes and dispatch"))]
    pub(crate) fn read_back(&self, bytes: u64) {
        self.bytes_read_back.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Adds `elapsed` to `phase`.
    pub(crate) fn add(&self, phase: Phase, elapsed: Duration) {
        let counter = match phase {
            Phase::Upload => &self.upload_ns,
            Phase::Compute => &self.compute_ns,
            Phase::Readback => &self.readback_ns,
            Phase::DeviceCompute => &self.device_compute_ns,
        };
        counter.fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Runs `f`, adding its time to `phase`.
    pub(crate) fn time<R>(&self, phase: Phase, f: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let value = f();
        self.add(phase, start.elapsed());
        value
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            jobs: get(&self.jobs),
            tiles: get(&self.tiles),
            pairs: get(&self.pairs),
            dispatches: get(&self.dispatches),
            bytes_uploaded: get(&self.bytes_uploaded),
            bytes_read_back: get(&self.bytes_read_back),
            upload: Duration::from_nanos(get(&self.upload_ns)),
            compute: Duration::from_nanos(get(&self.compute_ns)),
            readback: Duration::from_nanos(get(&self.readback_ns)),
            device_compute: Duration::from_nanos(get(&self.device_compute_ns)),
            pipelines_compiled: get(&self.pipelines_compiled),
        }
    }
}
