//! A slot: one set of device buffers for a tile (inputs, output, the answer's epilogue and
//! their mapped twins for upload and readback), and the tile in flight in it. Two slots
//! overlap a run's work (see `executor`); a pool keeps them between runs.
//!
//! Per tile the executor packs the rows of X and Y it needs (any strides) as contiguous values
//! of the job's element type straight into the slot's mapped upload buffer and copies them to
//! the device ([`stage`]); the distance passes accumulate in the output buffer; the last pass's
//! result (distances, or the epilogue's candidates or hits) is copied to a mappable buffer and
//! mapped ([`Slot::map_in_flight`]).

use std::ops::Range;
use std::sync::mpsc;

use ndarray::ArrayView2;

use super::context::{GpuContext, POLL_TIMEOUT};
use super::epilogue::{EpilogueBuffers, Readback};
use super::pack::pack;
use super::resident::Resident;
use crate::element::{Dtype, Element};
use crate::error::{Error, Result};
use crate::metric::{Metric, Term};
use crate::plan::{Plan, Tile};
use crate::stats::Counters;
use crate::weights::{KernelWeights, total_weight};

/// The uniform block of `Params` in `shaders/common/metric.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    cols: u32,
    dims: u32,
    flags: u32,
    total_dims: u32,
    inf_bits: u32,
    nan_bits: u32,
    total_weight: f32,
    total_weight_lo: f32,
    p: f32,
    p_lo: f32,
    whole_p: u32,
}

const FLAG_ACCUMULATE: u32 = 1;
const FLAG_FINALIZE: u32 = 2;

/// Which rows and dimensions a slot's input buffer holds, to skip needless uploads.
type Loaded = Option<(Range<usize>, Range<usize>)>;

/// One set of device buffers and the tile in flight in it.
pub(super) struct Slot {
    pub(super) x: wgpu::Buffer,
    pub(super) y: wgpu::Buffer,
    /// The weights of the dimensions of the pass (bound always, read by weighted pipelines).
    w: wgpu::Buffer,
    pub(super) out: wgpu::Buffer,
    params: wgpu::Buffer,
    /// The readback's mappable copy of the output (of the distances, or of an epilogue's hits).
    pub(super) staging: wgpu::Buffer,
    /// Where the inputs are packed for the device: X, then Y, then the weights, at the offsets
    /// `Sizes::upload_offsets` gives (see [`stage`]).
    upload: wgpu::Buffer,
    /// The copy out of `upload` still in flight, and the mapping requested after it.
    upload_pending: Option<PendingMap>,
    pub(super) bind_group: wgpu::BindGroup,
    loaded_x: Loaded,
    loaded_y: Loaded,
    loaded_w: Option<Range<usize>>,
    pub(super) in_flight: Option<InFlight>,
    sizes: Sizes,
    /// The answer's epilogue buffers, made the first time a run needs them.
    pub(super) epilogue: Option<EpilogueBuffers>,
}

/// A tile whose result is on its way back: which tile, what was copied, and the mapping of
/// the buffer it was copied to, once its submission is done.
pub(super) struct InFlight {
    pub(super) tile: Tile,
    pub(super) readback: Readback,
    pub(super) map: PendingMap,
}

/// Byte sizes of a slot's x, y, weights and output buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sizes {
    x: u64,
    y: u64,
    w: u64,
    out: u64,
}

impl Sizes {
    /// The buffers of `plan`'s tiles in `dtype`.
    fn for_plan(plan: &Plan, dtype: Dtype) -> Sizes {
        let size = dtype.size() as u64;
        let bytes = |a: usize, b: usize| ((a * b) as u64 * size).max(MIN_BUFFER).next_multiple_of(MIN_BUFFER);
        Sizes {
            x: bytes(plan.tile_rows, plan.tile_dims),
            y: bytes(plan.tile_cols, plan.tile_dims),
            w: bytes(1, plan.tile_dims),
            out: bytes(plan.tile_rows, plan.tile_cols),
        }
    }

    fn holds(&self, need: &Sizes) -> bool {
        self.x >= need.x && self.y >= need.y && self.w >= need.w && self.out >= need.out
    }

    /// Where X, Y and the weights start in the upload buffer, and its size.
    fn upload_offsets(&self) -> ([u64; 3], u64) {
        ([0, self.x, self.x + self.y], self.x + self.y + self.w)
    }
}

/// A mapping requested after `submission`, which uses the buffer: it completes once the
/// device is done with it.
pub(super) struct PendingMap {
    submission: wgpu::SubmissionIndex,
    mapped: mpsc::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>,
}

impl PendingMap {
    /// Asks for `slice` to be mapped for `mode` once `submission` is done.
    pub(super) fn request(
        slice: wgpu::BufferSlice<'_>,
        mode: wgpu::MapMode,
        submission: wgpu::SubmissionIndex,
    ) -> PendingMap {
        let (tx, rx) = mpsc::channel();
        slice.map_async(mode, move |r| {
            // The receiver may be gone if the run failed; nothing to do then.
            let _ = tx.send(r);
        });
        PendingMap { submission, mapped: rx }
    }

    /// Blocks until the mapping is done; `what` names the buffer in errors.
    pub(super) fn wait(self, ctx: &GpuContext, what: &str) -> Result<()> {
        ctx.device
            .poll(wgpu::PollType::Wait { submission_index: Some(self.submission), timeout: Some(POLL_TIMEOUT) })
            .map_err(|e| Error::Gpu(format!("waiting for {what}: {e}")))?;
        ctx.check_async_error()?;
        self.mapped
            .recv_timeout(POLL_TIMEOUT)
            .map_err(|_| Error::Gpu(format!("mapping {what} timed out")))?
            .map_err(|e| Error::Gpu(format!("mapping {what}: {e}")))
    }
}

/// Slots kept by the context between runs, so repeated calls do not allocate (and the driver
/// does not zero) new buffers each time. The kernels read only what `Params` says, so a
/// larger slot serves a smaller plan.
#[derive(Default)]
pub(crate) struct SlotPool(std::sync::Mutex<Vec<Slot>>);

/// Slots the pool keeps at most (one run's worth).
const POOL_SLOTS: usize = 2;

impl SlotPool {
    /// A slot big enough for `plan` in `dtype`: a pooled one if any fits, else a new one.
    pub(super) fn take(&self, ctx: &GpuContext, plan: &Plan, dtype: Dtype, index: usize) -> Result<Slot> {
        let need = Sizes::for_plan(plan, dtype);
        let pooled = {
            let mut pool = self.0.lock().unwrap_or_else(|p| p.into_inner());
            pool.iter().position(|s| s.sizes.holds(&need)).map(|i| pool.swap_remove(i))
        };
        match pooled {
            // Inputs differ between runs: nothing loaded can be reused.
            Some(slot) => Ok(Slot { loaded_x: None, loaded_y: None, loaded_w: None, ..slot }),
            None => Slot::new(ctx, need, index),
        }
    }

    /// Returns finished slots to the pool, keeping the largest.
    pub(super) fn give_back(&self, slots: impl IntoIterator<Item = Slot>) {
        let mut pool = self.0.lock().unwrap_or_else(|p| p.into_inner());
        pool.extend(slots.into_iter().filter(|s| s.in_flight.is_none()));
        pool.sort_by_key(|s| std::cmp::Reverse(s.sizes.x + s.sizes.y + s.sizes.out));
        pool.truncate(POOL_SLOTS);
    }
}

/// Buffers are at least this large (zero-sized bindings are invalid), and a multiple of it:
/// the tiled kernel binds them as arrays of vec4, which only reach the last values of a
/// buffer whose size is a multiple of 16 bytes (f32), 32 bytes (f64).
const MIN_BUFFER: u64 = 32;

impl Slot {
    fn new(ctx: &GpuContext, sizes: Sizes, index: usize) -> Result<Slot> {
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        ctx.scoped("allocating tile buffers", || {
            let buffer = |name: &str, size: u64, usage| {
                ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("{name} {index}")),
                    size,
                    usage,
                    mapped_at_creation: false,
                })
            };
            let out_bytes = sizes.out;
            let x = buffer("x", sizes.x, storage);
            let y = buffer("y", sizes.y, storage);
            let w = buffer("weights", sizes.w, storage);
            let out = buffer("out", out_bytes, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC);
            let params = buffer(
                "params",
                size_of::<Params>() as u64,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            );
            let staging = buffer("staging", out_bytes, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
            // Mapped from the start, and mapped again after each copy out of it (`stage`).
            let upload = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&format!("upload {index}")),
                size: sizes.upload_offsets().1,
                usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: true,
            });
            let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("pairdist tile"),
                layout: ctx.bind_group_layout(),
                entries: &[
                    wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 1, resource: x.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 2, resource: y.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 3, resource: out.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 4, resource: w.as_entire_binding() },
                ],
            });
            Slot {
                x,
                y,
                w,
                out,
                params,
                staging,
                upload,
                upload_pending: None,
                bind_group,
                loaded_x: None,
                loaded_y: None,
                loaded_w: None,
                in_flight: None,
                sizes,
                epilogue: None,
            }
        })
    }
}

/// Uploads the rows of X and Y that `tile` needs for `dims`, and the weights of `dims` if
/// there are any (what the slot does not hold already), and the pass's parameters; `chunk`
/// counts the chunks of `d` (0 first).
///
/// The inputs are packed straight into the slot's upload buffer, mapped and reused from tile
/// to tile, then copied to the device in a submission of their own. `Queue::write_buffer`,
/// which 0.1 used, packed into a vector first and then had wgpu allocate, map and fill a new
/// staging buffer for every write: two copies, one into freshly mapped pages, where this is
/// one copy into pages already mapped. The copy's own submission lets the next pass's packing
/// start as soon as the device has the data, while it still computes.
pub(super) fn stage<T: Element>(
    ctx: &GpuContext,
    slot: &mut Slot,
    inputs: &Inputs<'_, '_, T>,
    tile: &Tile,
    dims: &Range<usize>,
    chunk: usize,
    counters: &Counters,
) -> Result<()> {
    let Inputs { x, y, weights, metric } = inputs;
    let want_x = Some((tile.rows.clone(), dims.clone()));
    let want_y = Some((tile.cols.clone(), dims.clone()));
    let want_w = weights.map(|_| dims.clone());
    let size = T::DTYPE.size() as u64;
    // What to pack and upload: (which part: 0 X, 1 Y, 2 the weights; its bytes).
    let mut parts: Vec<(usize, u64)> = Vec::new();
    let ([at_x, at_y, at_w], _) = slot.sizes.upload_offsets();
    let need_x = slot.loaded_x != want_x;
    let need_y = slot.loaded_y != want_y;
    let need_w = want_w.is_some() && slot.loaded_w != want_w;
    let bytes_x = (tile.rows.len() * dims.len()) as u64 * size;
    let bytes_y = (tile.cols.len() * dims.len()) as u64 * size;
    let bytes_w = dims.len() as u64 * size;
    let y_on_host = matches!(y, Rows::Host(_));
    for (need, part, bytes) in [(need_x, 0, bytes_x), (need_y && y_on_host, 1, bytes_y), (need_w, 2, bytes_w)] {
        if need && bytes > 0 {
            parts.push((part, bytes));
        }
    }
    // A resident Y (an index's base) is copied on the device, from where it lives.
    let device_copies = match y {
        Rows::Device(resident) if need_y && bytes_y > 0 => resident.copies(&tile.cols, dims)?,
        _ => Vec::new(),
    };
    if !parts.is_empty() || !device_copies.is_empty() {
        let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("upload") });
        if !parts.is_empty() {
            slot.upload_mapped(ctx)?;
            {
                let mut view = slot
                    .upload
                    .slice(..)
                    .get_mapped_range_mut()
                    .map_err(|e| Error::Gpu(format!("packing inputs: {e}")))?;
                for &(part, bytes) in &parts {
                    let at = [at_x, at_y, at_w][part] as usize;
                    let dst = view.slice(at..at + bytes as usize);
                    match (part, y) {
                        (0, _) => pack(x, &tile.rows, dims, dst),
                        (1, Rows::Host(y)) => pack(y, &tile.cols, dims, dst),
                        _ => {
                            let w = weights.expect("weights are uploaded only when there are some");
                            let mut dst = dst;
                            dst.copy_from_slice(bytemuck::cast_slice(&w.values[dims.clone()]));
                        }
                    }
                    counters.uploaded(bytes);
                }
            }
            slot.upload.unmap();
            for &(part, bytes) in &parts {
                let device = [&slot.x, &slot.y, &slot.w][part];
                encoder.copy_buffer_to_buffer(&slot.upload, [at_x, at_y, at_w][part], device, 0, bytes);
            }
        }
        for copy in &device_copies {
            encoder.copy_buffer_to_buffer(copy.from, copy.offset, &slot.y, copy.to, copy.bytes);
        }
        let submission = ctx.queue.submit([encoder.finish()]);
        if !parts.is_empty() {
            slot.upload_pending = Some(PendingMap::request(slot.upload.slice(..), wgpu::MapMode::Write, submission));
        }
    }
    slot.loaded_x = want_x;
    slot.loaded_y = want_y;
    if want_w.is_some() {
        slot.loaded_w = want_w;
    }
    let last = dims.end == x.ncols();
    let total_weight = total_weight(weights.map(|w| w.total), x.ncols());
    let (total_weight, total_weight_lo) = super::shaders::split_f64(total_weight, T::DTYPE);
    // Only the power term and its root read p (p = ∞ runs the chebyshev kernel).
    let p = if metric.definition().term == Term::PowerDifference { metric.exponent() } else { 1.0 };
    let (p, p_lo) = super::shaders::split_f64(p, T::DTYPE);
    let params = Params {
        rows: tile.rows.len() as u32,
        cols: tile.cols.len() as u32,
        dims: dims.len() as u32,
        flags: if chunk > 0 { FLAG_ACCUMULATE } else { 0 } | if last { FLAG_FINALIZE } else { 0 },
        total_dims: x.ncols() as u32,
        inf_bits: f32::INFINITY.to_bits(),
        nan_bits: f32::NAN.to_bits(),
        total_weight: total_weight as f32,
        total_weight_lo: total_weight_lo as f32,
        p: p as f32,
        p_lo: p_lo as f32,
        whole_p: metric.whole_exponent().unwrap_or(0),
    };
    ctx.queue.write_buffer(&slot.params, 0, bytemuck::bytes_of(&params));
    Ok(())
}

/// What a run's passes read: the points of X (always from the host), those of Y (from the
/// host, or resident on the device), and the weights of the terms.
pub(super) struct Inputs<'a, 'w, T: Element> {
    pub(super) x: ArrayView2<'a, T>,
    pub(super) y: Rows<'a, T>,
    pub(super) weights: Option<&'w KernelWeights<T>>,
    /// The metric, whose parameters (minkowski's p) the uniform block carries.
    pub(super) metric: Metric,
}

/// Where the rows of Y come from.
#[derive(Clone, Copy)]
pub(crate) enum Rows<'a, T: Element> {
    /// On the host: packed and uploaded for every tile.
    Host(ArrayView2<'a, T>),
    /// Already on the device (an [`Index`](crate::Index)'s base): copied there, tile by tile.
    Device(&'a Resident),
}

impl Slot {
    /// Waits, if it must, until the upload buffer is mapped again after its last copy (which
    /// the device runs before that pass's compute, so this rarely waits at all).
    fn upload_mapped(&mut self, ctx: &GpuContext) -> Result<()> {
        match self.upload_pending.take() {
            Some(pending) => pending.wait(ctx, "the upload buffer"),
            None => Ok(()),
        }
    }

    /// Maps the mappable buffer that `submission` fills with `tile`'s readback, and keeps the
    /// tile in flight until the executor drains it.
    pub(super) fn map_in_flight(&mut self, tile: Tile, readback: Readback, submission: wgpu::SubmissionIndex) {
        let map = PendingMap::request(
            self.readback_buffer(readback).slice(..readback.bytes()),
            wgpu::MapMode::Read,
            submission,
        );
        self.in_flight = Some(InFlight { tile, readback, map });
    }

    /// The mappable buffer `readback` is copied to.
    pub(super) fn readback_buffer(&self, readback: Readback) -> &wgpu::Buffer {
        match (readback, self.epilogue.as_ref().and_then(EpilogueBuffers::staging)) {
            (Readback::Candidates { .. }, Some(staging)) => staging,
            _ => &self.staging,
        }
    }
}

/// Records the distance pass of `tile` (workgroups of `(rows, cols)` outputs), with the
/// device writing timestamps at its start and end when `timestamps` asks for them.
pub(super) fn encode_distances(
    encoder: &mut wgpu::CommandEncoder,
    pipeline: &wgpu::ComputePipeline,
    slot: &Slot,
    tile: &Tile,
    (block_rows, block_cols): (usize, usize),
    timestamps: Option<wgpu::ComputePassTimestampWrites>,
) {
    let mut pass =
        encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("tile"), timestamp_writes: timestamps });
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, &slot.bind_group, &[]);
    pass.dispatch_workgroups(
        tile.cols.len().div_ceil(block_cols) as u32,
        tile.rows.len().div_ceil(block_rows) as u32,
        1,
    );
}
