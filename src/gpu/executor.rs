//! The GPU executor: walks a plan's tiles with two slots of device buffers, so that while the
//! device computes one tile the host uploads the next and reads back the one before.
//!
//! Per tile: stage the rows of X and Y it needs (`slot::stage`), dispatch one distance pass
//! per chunk of `d` (accumulating in the output buffer), then the answer's epilogue if it
//! reduces on the device (`epilogue`), copy the result (distances, candidates or hits) to a
//! mappable buffer and map it. A slot's previous tile is drained into the output just before
//! the slot is reused, so tiles reach the output in plan order.
//!
//! A serial run (`Job::serial`, for benchmarks) waits for each step before the next, so that
//! the counters' phase times are each phase's own and the distance passes are also timed on
//! the device's clock where it has timestamp queries. It is the same loop, not a copy of it.

use std::time::Instant;

use ndarray::ArrayView2;

use super::context::GpuContext;
use super::epilogue::{self, EpilogueBuffers, HitLayout, Readback, Reduction};
use super::shaders::Kernel;
use super::slot::{Inputs, Rows, Slot, SlotPool, encode_distances, stage};
use super::stopwatch::{Stopwatch, wait};
use crate::answer::{HitSink, TopK};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::monitor::Monitor;
use crate::plan::{Plan, Tile};
use crate::sink::Sink;
use crate::stats::{Counters, Phase};
use crate::weights::TermWeights;

/// One GPU computation: which kernel, on which inputs, with which metric, plan and reduction.
/// `'a`: the points' lifetime (views are invariant in it); `'b`: the rest's.
pub(crate) struct Job<'a, 'b, T: Element> {
    pub kernel: Kernel,
    pub x: ArrayView2<'a, T>,
    pub y: Rows<'a, T>,
    pub metric: Metric,
    /// The weights of the metric's terms (see `Distance::resolve`), of all `d` dimensions.
    pub weights: Option<&'a TermWeights>,
    pub plan: &'b Plan,
    pub reduction: Reduction,
    /// Counts each tile's pairs and stops the run when asked to.
    pub monitor: Option<&'b Monitor>,
    pub counters: &'b Counters,
    /// Where the plan's rows and columns start in the whole problem (a job's window): the
    /// epilogues report global columns and compare global rows with them.
    pub row0: usize,
    pub col0: usize,
    /// Each step waited for before the next (see the module's header).
    pub serial: bool,
}

/// Where finished tiles go: distances into a sink, candidates into per-row lists, or hits (and,
/// when a tile has more hits than the filter holds, its distances) into a radius answer.
pub(crate) enum Output<'s, T: Element> {
    Tiles(&'s mut dyn Sink<T>),
    Candidates(&'s mut [TopK<T>]),
    Hits(&'s mut dyn HitSink<T>),
}

/// How many hits the filter is expected to find in a tile, from those it found so far: the
/// count and the first `expect` hits come back with the tile, the rest (rarely) in a second
/// copy, so the bytes read back follow the hits.
struct HitRate(f64);

impl HitRate {
    /// Before any tile: 1 in 256 entries.
    fn new() -> HitRate {
        HitRate(1.0 / 256.0)
    }

    fn expect(&self, entries: usize) -> usize {
        (self.0 * entries as f64 * 1.5) as usize + 256
    }

    /// Takes a tile's `hits` among `entries`; the rate decays slowly when a tile has fewer.
    fn observe(&mut self, hits: usize, entries: usize) {
        self.0 = (hits as f64 / entries.max(1) as f64).max(self.0 / 2.0);
    }
}

/// Runs `job`, handing finished tiles (or their candidates, or hits) to `output` in plan order,
/// with slots from `pool`.
pub(crate) fn run<T: Element>(
    ctx: &GpuContext,
    pool: &SlotPool,
    job: Job<'_, '_, T>,
    mut output: Output<T>,
) -> Result<()> {
    let Job { kernel, x, y, metric, weights, plan, reduction, monitor, counters, row0, col0, serial } = job;
    let dtype = T::DTYPE;
    ctx.check_async_error()?;
    let kernel_weights = weights.map(TermWeights::for_kernel::<T>);
    let pipeline = ctx.pipeline(kernel, dtype, metric, kernel_weights.is_some(), counters)?;
    let stopwatch = if serial { Stopwatch::new(ctx)? } else { None };
    let inputs = Inputs { x, y, weights: kernel_weights.as_ref(), metric };
    let mut slots = [pool.take(ctx, plan, dtype, 0)?, pool.take(ctx, plan, dtype, 1)?];
    let mut rate = HitRate::new();
    // A serial run's compute is already waited for when its readback is mapped.
    let wait_phase = if serial { Phase::Readback } else { Phase::Compute };
    let mut count = 0usize;

    for tile in plan.tiles() {
        if let Some(monitor) = monitor {
            monitor.advance(tile.len() as u64)?;
        }
        counters.tiles(1, tile.len() as u64);
        let slot = &mut slots[count % 2];
        count += 1;
        drain(ctx, slot, &mut output, &mut rate, (counters, wait_phase))?;
        EpilogueBuffers::ensure(ctx, &mut slot.epilogue, &slot.out, reduction, plan, dtype)?;
        for (c, dims) in plan.dim_chunks().enumerate() {
            let last = dims.end == plan.d;
            let start = Instant::now();
            stage(ctx, slot, &inputs, &tile, &dims, c, counters)?;
            if serial {
                // An empty submission flushes the queued parameters; waiting for it waits for
                // the inputs' copy too.
                wait(ctx, ctx.queue.submit([]))?;
            }
            counters.add(Phase::Upload, start.elapsed());

            let mut encoder =
                ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("tile") });
            let writes = stopwatch.as_ref().map(Stopwatch::writes);
            encode_distances(&mut encoder, &pipeline, slot, &tile, kernel.block(&ctx.tuning), writes);
            counters.dispatch();
            if let Some(watch) = &stopwatch {
                watch.encode_resolve(&mut encoder);
            }
            if last && reduction != Reduction::Store {
                epilogue::encode_pass(
                    ctx,
                    &mut encoder,
                    slot.epilogue.as_ref(),
                    reduction,
                    (&tile, row0, col0),
                    dtype,
                )?;
                counters.dispatch();
            }
            if serial {
                let start = Instant::now();
                wait(ctx, ctx.queue.submit([encoder.finish()]))?;
                counters.add(Phase::Compute, start.elapsed());
                if let Some(t) = stopwatch.as_ref().map(|w| w.read(ctx)).transpose()?.flatten() {
                    counters.add(Phase::DeviceCompute, t);
                }
                encoder =
                    ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
            }
            if !last {
                ctx.queue.submit([encoder.finish()]);
                continue;
            }
            let expect = rate.expect(tile.len());
            let readback = epilogue::encode_readback(
                &mut encoder,
                slot.epilogue.as_ref(),
                &slot.staging,
                reduction,
                &tile,
                expect,
                dtype,
            )
            .unwrap_or_else(|| encode_copy(&mut encoder, slot, &tile, dtype));
            let submission = ctx.queue.submit([encoder.finish()]);
            slot.map_in_flight(tile.clone(), readback, submission);
        }
        if serial {
            drain(ctx, slot, &mut output, &mut rate, (counters, wait_phase))?;
        }
        // Let the device make progress on callbacks without blocking.
        ctx.device.poll(wgpu::PollType::Poll).map_err(|e| Error::Gpu(e.to_string()))?;
        ctx.check_async_error()?;
    }
    // Drain in plan order: the older tile is in the slot that would be used next.
    let next = count % 2;
    for i in [next, 1 - next] {
        drain(ctx, &mut slots[i], &mut output, &mut rate, (counters, wait_phase))?;
    }
    // Only after a clean run: a failed one may leave a buffer mapped.
    pool.give_back(slots);
    Ok(())
}

/// Records the copy of `tile`'s distances to the slot's mappable buffer.
fn encode_copy(encoder: &mut wgpu::CommandEncoder, slot: &Slot, tile: &Tile, dtype: crate::element::Dtype) -> Readback {
    let bytes = tile.len() as u64 * dtype.size() as u64;
    encoder.copy_buffer_to_buffer(&slot.out, 0, &slot.staging, 0, bytes);
    Readback::Distances { bytes }
}

/// Waits for the slot's tile, if any (the wait counted in `phase`), and hands what came back
/// to `output`; a filter's tile with more hits than came back copies the rest, or, past the
/// filter's capacity, the tile's distances, which are still on the device.
fn drain<T: Element>(
    ctx: &GpuContext,
    slot: &mut Slot,
    output: &mut Output<T>,
    rate: &mut HitRate,
    (counters, phase): (&Counters, Phase),
) -> Result<()> {
    let Some(f) = slot.in_flight.take() else { return Ok(()) };
    counters.time(phase, || f.map.wait(ctx, "a tile's readback"))?;
    counters.read_back(f.readback.bytes());
    let start = Instant::now();
    let buffer = slot.readback_buffer(f.readback);
    let mapped = |bytes: u64| {
        buffer.slice(..bytes).get_mapped_range().map_err(|e| Error::Gpu(format!("reading back a tile: {e}")))
    };
    let tile = f.tile;
    let result = match (output, f.readback) {
        (Output::Tiles(sink), Readback::Distances { bytes }) => {
            let view = mapped(bytes)?;
            let values = distances(&view, &tile);
            sink.accept(&tile, values)
        }
        (Output::Hits(sink), Readback::Distances { bytes }) => {
            let view = mapped(bytes)?;
            sink.accept(&tile, distances(&view, &tile))
        }
        (Output::Candidates(lists), Readback::Candidates { k, bytes }) => {
            let view = mapped(bytes)?;
            epilogue::offer_candidates(&view, k, &mut lists[tile.rows.clone()]);
            Ok(())
        }
        (Output::Hits(sink), Readback::Hits { expect, bytes }) => {
            let hits = {
                let view = mapped(bytes)?;
                let hits = epilogue::hit_count(&view);
                rate.observe(hits, tile.len());
                let mut found = Vec::with_capacity(hits.min(expect));
                if hits <= expect {
                    epilogue::read_hits(&view, HitLayout::new(expect, T::DTYPE), hits, &mut found);
                    Ok(found)
                } else {
                    Err(hits)
                }
            };
            buffer.unmap();
            let result = match hits {
                Ok(mut found) => sink.accept_hits(&tile, &mut found),
                Err(hits) => read_again(ctx, slot, &tile, hits, &mut **sink, counters),
            };
            counters.add(Phase::Readback, start.elapsed());
            return result;
        }
        _ => Err(Error::Internal("a GPU run read back what its output does not take".into())),
    };
    buffer.unmap();
    counters.add(Phase::Readback, start.elapsed());
    result
}

/// The tile's distances in a mapped buffer.
fn distances<'v, T: Element>(view: &'v [u8], tile: &Tile) -> ArrayView2<'v, T> {
    ArrayView2::from_shape((tile.rows.len(), tile.cols.len()), bytemuck::cast_slice(view))
        .expect("staging holds exactly one tile")
}

/// A filter's second readback of a tile with `hits` hits, more than its first copy held: all
/// the hits when the filter's buffers held them, else the tile's distances (filtered on the
/// host by `sink`).
fn read_again<T: Element>(
    ctx: &GpuContext,
    slot: &mut Slot,
    tile: &Tile,
    hits: usize,
    sink: &mut dyn HitSink<T>,
    counters: &Counters,
) -> Result<()> {
    let buffers = slot.epilogue.as_ref().ok_or_else(|| Error::Internal("a filter ran without its buffers".into()))?;
    let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("hits") });
    let fits = hits <= buffers.capacity();
    let layout = HitLayout::new(hits, T::DTYPE);
    let bytes = if fits {
        epilogue::copy_hits(&mut encoder, buffers, &slot.staging, layout, 0..hits);
        layout.bytes(hits)
    } else {
        let bytes = tile.len() as u64 * T::DTYPE.size() as u64;
        encoder.copy_buffer_to_buffer(&slot.out, 0, &slot.staging, 0, bytes);
        bytes
    };
    let submission = ctx.queue.submit([encoder.finish()]);
    super::slot::PendingMap::request(slot.staging.slice(..bytes), wgpu::MapMode::Read, submission)
        .wait(ctx, "a tile's hits")?;
    counters.read_back(bytes);
    let result = {
        let view = slot
            .staging
            .slice(..bytes)
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("reading back hits: {e}")))?;
        if fits {
            let mut found = Vec::with_capacity(hits);
            epilogue::read_hits(&view, layout, hits, &mut found);
            sink.accept_hits(tile, &mut found)
        } else {
            sink.accept(tile, distances(&view, tile))
        }
    };
    slot.staging.unmap();
    result
}
