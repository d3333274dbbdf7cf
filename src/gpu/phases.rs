//! Benchmark-only timing, kept out of the executor's hot loop: the same steps as
//! `executor::run` (stage, compute, copy, map, drain), one tile at a time with nothing
//! overlapping, each waited for and timed on the host.

use std::time::{Duration, Instant};

use super::context::{GpuContext, POLL_TIMEOUT};
use super::executor::{Job, Output, drain, encode_copy, encode_distances, stage};
use crate::error::{Error, Result};
use crate::sink::Sink;

/// Time of each phase of a GPU run, from [`Engine::cdist_phases`](crate::Engine::cdist_phases),
/// which runs the phases one after another (no overlap between tiles) so each can be timed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GpuPhases {
    /// The clock `compute` was read from (upload and readback are always host-timed).
    pub clock: PhaseClock,
    /// Packing the inputs and copying them to the device, until the copies complete.
    pub upload: Duration,
    /// The compute passes, from submission until the device reports them done.
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

/// Runs `job`'s distances into `sink`, each phase of each tile waited for and timed.
pub(crate) fn run_phased(ctx: &GpuContext, job: Job, sink: &mut dyn Sink) -> Result<GpuPhases> {
    let Job { kernel, x, y, metric, plan, .. } = job;
    ctx.check_async_error()?;
    let pipeline = ctx.pipeline(kernel, metric)?;
    let mut slot = ctx.slot_pool.take(ctx, plan, 0)?;
    let mut output = Output::Tiles(sink);
    let (mut host, mut phases) = (Vec::new(), GpuPhases::default());
    for tile in plan.tiles() {
        for (c, dims) in plan.dim_chunks().enumerate() {
            let start = Instant::now();
            stage(ctx, &mut slot, (&x, &y), &tile, &dims, c, &mut host);
            // An empty submission flushes the queued buffer writes.
            wait(ctx, ctx.queue.submit([]))?;
            phases.upload += start.elapsed();

            let start = Instant::now();
            let mut encoder =
                ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("tile") });
            encode_distances(&mut encoder, &pipeline, &slot, &tile, kernel.block(&ctx.tuning));
            wait(ctx, ctx.queue.submit([encoder.finish()]))?;
            phases.compute += start.elapsed();
            phases.passes += 1;
        }
        let start = Instant::now();
        let mut encoder =
            ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
        let readback = encode_copy(&mut encoder, &slot, &tile);
        let submission = ctx.queue.submit([encoder.finish()]);
        slot.map_in_flight(tile, readback, submission);
        drain(ctx, &mut slot, &mut output)?;
        phases.readback += start.elapsed();
        phases.tiles += 1;
    }
    ctx.slot_pool.give_back([slot]);
    Ok(phases)
}
