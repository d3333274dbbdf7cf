//! Device timestamps around compute passes (`TIMESTAMP_QUERY`), for an engine that runs its
//! phases one after another to time each ([`EngineOptions::serial`](crate::EngineOptions)).

use std::time::Duration;

use super::context::{GpuContext, POLL_TIMEOUT};
use crate::error::{Error, Result};

/// Blocks the host until `submission` has finished on the device.
pub(super) fn wait(ctx: &GpuContext, submission: wgpu::SubmissionIndex) -> Result<()> {
    ctx.device
        .poll(wgpu::PollType::Wait { submission_index: Some(submission), timeout: Some(POLL_TIMEOUT) })
        .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
    ctx.check_async_error()
}

/// Device timestamps around compute passes (`TIMESTAMP_QUERY`): a query set of two, written
/// at the start and end of a pass, resolved and copied to a mappable buffer after it.
pub(super) struct Stopwatch {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    readable: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    period: f64,
}

/// Bytes of the two resolved timestamps.
const STAMP_BYTES: u64 = 2 * wgpu::QUERY_SIZE as u64;

impl Stopwatch {
    /// A stopwatch, if the device has timestamp queries.
    pub(super) fn new(ctx: &GpuContext) -> Result<Option<Stopwatch>> {
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
            Some(Stopwatch {
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
    pub(super) fn writes(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: Some(1),
        }
    }

    /// Records, after the pass, the copy of its timestamps to the mappable buffer.
    pub(super) fn encode_resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.resolve_query_set(&self.queries, 0..2, &self.resolved, 0);
        encoder.copy_buffer_to_buffer(&self.resolved, 0, &self.readable, 0, STAMP_BYTES);
    }

    /// The pass's time on the device's clock, once its submission is done; `None` when the
    /// device wrote an end before the start (a queue without valid timestamps).
    pub(super) fn read(&self, ctx: &GpuContext) -> Result<Option<Duration>> {
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
