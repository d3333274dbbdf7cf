//! Benchmark-only timing, kept out of the executor's hot loop: the same steps as
//! `executor::run` (stage, compute, copy, map, drain), one tile at a time with nothing
//! overlapping, each waited for and timed on the host, and the compute passes also on the
//! device's clock where the adapter offers timestamp queries.

use std::time::{Duration, Instant};

use super::context::{GpuContext, POLL_TIMEOUT};
use super::executor::{Job, Output, drain, encode_copy, encode_distances, stage};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::sink::Sink;
use crate::weights::TermWeights;

/// Time of each phase of a GPU run, from [`Engine::cdist_phases`](crate::Engine::cdist_phases),
/// which runs the phases one after another (no overlap between tiles) so each can be timed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GpuPhases {
    /// The clock `compute` was read from (upload and readback are always host-timed).
    pub clock: PhaseClock,
    /// Packing the inputs and copying them to the device, until the copies complete.
    pub upload: Duration,
    /// The compute passes: on the device's clock (from each pass's start to its end) when
    /// `clock` is [`PhaseClock::Gpu`], else from submission until the device reports them done.
    pub compute: Duration,
    /// Copying results to a mappable buffer, mapping it and writing them to the sink.
    pub readback: Duration,
    /// Blocks (tiles) the plan had.
    pub tiles: usize,
    /// Compute passes (dispatches) submitted: one per tile and chunk of dimensions.
    pub passes: usize,
}

/// Which clock timed a GPU run's compute phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PhaseClock {
    /// The host's clock, from submission until the device reports the work done: includes
    /// the submission's and the wait's overheads.
    #[default]
    Host,
    /// The device's own timestamps at the start and end of each compute pass
    /// (`wgpu::Features::TIMESTAMP_QUERY`): the passes alone.
    Gpu,
}

impl PhaseClock {
    /// "host" or "gpu", as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            PhaseClock::Host => "host",
            PhaseClock::Gpu => "gpu",
        }
    }
}

impl std::fmt::Display for PhaseClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Blocks the host until `submission` has finished on the device.
fn wait(ctx: &GpuContext, submission: wgpu::SubmissionIndex) -> Result<()> {
    ctx.device
        .poll(wgpu::PollType::Wait { submission_index: Some(submission), timeout: Some(POLL_TIMEOUT) })
        .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
    ctx.check_async_error()
}

/// Device timestamps around compute passes (`TIMESTAMP_QUERY`): a query set of two, written
/// at the start and end of a pass, resolved and copied to a mappable buffer after it.
struct GpuStopwatch {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    readable: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    period: f64,
}

/// Bytes of the two resolved timestamps.
const STAMP_BYTES: u64 = 2 * wgpu::QUERY_SIZE as u64;

impl GpuStopwatch {
    /// A stopwatch, if the device has timestamp queries.
    fn new(ctx: &GpuContext) -> Result<Option<GpuStopwatch>> {
        if !ctx.has_timestamps() {
            return Ok(None);
        }
        ctx.scoped("creating timestamp queries", || {
            let buffer = |label, usage| {
                ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: STAMP_BYTES,
                    usage,
                    mapped_at_creation: false,
                })
            };
            Some(GpuStopwatch {
                queries: ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("pass timestamps"),
                    ty: wgpu::QueryType::Timestamp,
                    count: 2,
                }),
                resolved: buffer("timestamps", wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC),
                readable: buffer("timestamps read", wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST),
                period: f64::from(ctx.queue.get_timestamp_period()),
            })
        })
    }

    /// What a pass writes its start and end timestamps to.
    fn writes(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: Some(1),
        }
    }

    /// Records, after the pass, the copy of its timestamps to the mappable buffer.
    fn encode_resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.resolve_query_set(&self.queries, 0..2, &self.resolved, 0);
        encoder.copy_buffer_to_buffer(&self.resolved, 0, &self.readable, 0, STAMP_BYTES);
    }

    /// The pass's time on the device's clock, once its submission is done; `None` when the
    /// device wrote an end before the start (a queue without valid timestamps).
    fn read(&self, ctx: &GpuContext) -> Result<Option<Duration>> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.readable.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        ctx.device
            .poll(wgpu::PollType::Wait { submission_index: None, timeout: Some(POLL_TIMEOUT) })
            .map_err(|e| Error::Gpu(format!("reading timestamps: {e}")))?;
        rx.recv_timeout(POLL_TIMEOUT)
            .map_err(|_| Error::Gpu("reading timestamps timed out".into()))?
            .map_err(|e| Error::Gpu(format!("reading timestamps: {e}")))?;
        let ticks = {
            let view = self
                .readable
                .slice(..)
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("reading timestamps: {e}")))?;
            // Read as bytes: a mapped range need not be 8-byte aligned for a cast.
            let stamp = |i: usize| u64::from_ne_bytes(view[8 * i..8 * i + 8].try_into().expect("8 bytes"));
            stamp(1).checked_sub(stamp(0))
        };
        self.readable.unmap();
        Ok(ticks.map(|t| Duration::from_secs_f64(t as f64 * self.period * 1e-9)))
    }
}

/// Runs `job`'s distances into `sink`, each phase of each tile waited for and timed: the
/// compute passes on the device's clock where it has timestamp queries (and every pass gave
/// a valid pair), on the host's otherwise; `GpuPhases::clock` says which.
pub(crate) fn run_phased<T: Element>(ctx: &GpuContext, job: Job<T>, sink: &mut dyn Sink<T>) -> Result<GpuPhases> {
    let Job { kernel, x, y, metric, weights, plan, .. } = job;
    ctx.check_async_error()?;
    let weights = weights.map(TermWeights::for_kernel::<T>);
    let pipeline = ctx.pipeline(kernel, T::DTYPE, metric, weights.is_some())?;
    let stopwatch = GpuStopwatch::new(ctx)?;
    let mut slot = ctx.slot_pool.take(ctx, plan, T::DTYPE, 0)?;
    let mut output = Output::Tiles(sink);
    let mut phases = GpuPhases::default();
    // The device's sum of pass times, while every pass has given one.
    let mut device_compute = stopwatch.as_ref().map(|_| Duration::ZERO);
    for tile in plan.tiles() {
        for (c, dims) in plan.dim_chunks().enumerate() {
            let start = Instant::now();
            stage(ctx, &mut slot, (&x, &y, weights.as_ref()), &tile, &dims, c)?;
            // An empty submission flushes the queued parameters; waiting for it waits for
            // the inputs' copy too.
            wait(ctx, ctx.queue.submit([]))?;
            phases.upload += start.elapsed();

            let start = Instant::now();
            let mut encoder =
                ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("tile") });
            let writes = stopwatch.as_ref().map(GpuStopwatch::writes);
            encode_distances(&mut encoder, &pipeline, &slot, &tile, kernel.block(&ctx.tuning), writes);
            if let Some(watch) = &stopwatch {
                watch.encode_resolve(&mut encoder);
            }
            wait(ctx, ctx.queue.submit([encoder.finish()]))?;
            phases.compute += start.elapsed();
            phases.passes += 1;
            if let (Some(watch), Some(sum)) = (&stopwatch, device_compute.as_mut()) {
                match watch.read(ctx)? {
                    Some(t) => *sum += t,
                    None => device_compute = None,
                }
            }
        }
        let start = Instant::now();
        let mut encoder =
            ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
        let readback = encode_copy(&mut encoder, &slot, &tile, T::DTYPE);
        let submission = ctx.queue.submit([encoder.finish()]);
        slot.map_in_flight(tile, readback, submission);
        drain(ctx, &mut slot, &mut output)?;
        phases.readback += start.elapsed();
        phases.tiles += 1;
    }
    ctx.slot_pool.give_back([slot]);
    if let Some(device) = device_compute {
        phases.compute = device;
        phases.clock = PhaseClock::Gpu;
    }
    Ok(phases)
}
