//! The GPU executor: walks a plan's tiles with two slots of device buffers, so that while
//! the device computes one tile the host uploads the next and reads back the one before.
//!
//! Per tile: pack the rows of X and Y it needs (any strides) as contiguous values of the
//! job's element type (f32, or f64 where the device offers SHADER_F64) straight into the
//! slot's mapped upload buffer and copy them to the device, dispatch one pass per chunk of
//! `d` (accumulating in the output buffer), copy the result to a mappable staging buffer, and
//! map it. A slot's previous tile is drained into the sink just before the slot is reused, so
//! tiles reach the sink in plan order.

use std::ops::Range;
use std::sync::mpsc;

use ndarray::{ArrayView2, Axis, s};
use rayon::prelude::*;
use wgpu::WriteOnly;

use super::context::{GpuContext, POLL_TIMEOUT};
use super::shaders::{Kernel, select_span};
use crate::answer::TopK;
use crate::element::{Dtype, Element};
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::monitor::Monitor;
use crate::plan::{Plan, Tile};
use crate::sink::{PARALLEL_COPY_MIN, Sink};
use crate::weights::{KernelWeights, TermWeights, total_weight};

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
    pad: [u32; 3],
}

const FLAG_ACCUMULATE: u32 = 1;
const FLAG_FINALIZE: u32 = 2;

/// Which rows and dimensions a slot's input buffer holds, to skip needless uploads.
type Loaded = Option<(Range<usize>, Range<usize>)>;

/// One set of device buffers and the tile in flight in it.
pub(super) struct Slot {
    x: wgpu::Buffer,
    y: wgpu::Buffer,
    /// The weights of the dimensions of the pass (bound always, read by weighted pipelines).
    w: wgpu::Buffer,
    out: wgpu::Buffer,
    params: wgpu::Buffer,
    staging: wgpu::Buffer,
    /// Where the inputs are packed for the device: X, then Y, then the weights, at the offsets
    /// `Sizes::upload_offsets` gives (see [`Slot::upload_mapped`]).
    upload: wgpu::Buffer,
    /// The copy out of `upload` still in flight, and the mapping requested after it.
    upload_pending: Option<PendingMap>,
    bind_group: wgpu::BindGroup,
    loaded_x: Loaded,
    loaded_y: Loaded,
    loaded_w: Option<Range<usize>>,
    in_flight: Option<InFlight>,
    sizes: Sizes,
    /// The select epilogue's buffers, made the first time a run needs them.
    select: Option<SelectBuffers>,
}

/// Buffers of the select epilogue: its parameters, the candidates and their staging copy.
struct SelectBuffers {
    params: wgpu::Buffer,
    cand: wgpu::Buffer,
    staging: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    bytes: u64,
}

/// The uniform block of `SelectParams` in `shaders/select.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SelectParams {
    rows: u32,
    cols: u32,
    k: u32,
    span: u32,
    col0: u32,
    skip_diag: u32,
    row0: u32,
    lanes: u32,
}

/// The select epilogue's lists per row of `cols` columns, and how many interleave (`lanes`):
/// one list per `select_span(k)` columns, up to 64 side by side so that a workgroup's
/// loads are adjacent.
fn select_lists(cols: usize, k: usize) -> (usize, usize) {
    let span = select_span(k);
    let lanes = cols.div_ceil(span).clamp(1, 64);
    (cols.div_ceil(lanes * span) * lanes, lanes)
}

/// Candidate slots the select epilogue pads short lists with (`NONE` in the shader).
const NO_CANDIDATE: u32 = u32::MAX;

impl SelectBuffers {
    /// Buffers for `bytes` of candidates, reading the distances of `out`.
    fn new(ctx: &GpuContext, out: &wgpu::Buffer, bytes: u64) -> Result<SelectBuffers> {
        ctx.scoped("allocating select buffers", || {
            let buffer = |name: &str, size: u64, usage| {
                ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(name),
                    size,
                    usage,
                    mapped_at_creation: false,
                })
            };
            let params = buffer("select params", 32, wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST);
            let cand = buffer("candidates", bytes, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC);
            let staging =
                buffer("candidate staging", bytes, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
            let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("pairdist select"),
                layout: ctx.select_bind_group_layout(),
                entries: &[
                    wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 1, resource: out.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 2, resource: cand.as_entire_binding() },
                ],
            });
            SelectBuffers { params, cand, staging, bind_group, bytes }
        })
    }
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
struct PendingMap {
    submission: wgpu::SubmissionIndex,
    mapped: mpsc::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>,
}

impl PendingMap {
    /// Asks for `slice` to be mapped for `mode` once `submission` is done.
    fn request(slice: wgpu::BufferSlice<'_>, mode: wgpu::MapMode, submission: wgpu::SubmissionIndex) -> PendingMap {
        let (tx, rx) = mpsc::channel();
        slice.map_async(mode, move |r| {
            // The receiver may be gone if the run failed; nothing to do then.
            let _ = tx.send(r);
        });
        PendingMap { submission, mapped: rx }
    }

    /// Blocks until the mapping is done; `what` names the buffer in errors.
    fn wait(self, ctx: &GpuContext, what: &str) -> Result<()> {
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

struct InFlight {
    tile: Tile,
    /// `Some((k, lists per row))` when the candidates, not the distances, were read back.
    candidates: Option<(usize, usize)>,
    bytes: u64,
    /// The mapping of the readback's first `bytes`, once its submission is done.
    map: PendingMap,
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
                select: None,
            }
        })
    }
}

/// Copies `rows × dims` of `a` (any strides) into `dst`, the mapped bytes of an upload buffer,
/// as contiguous rows; on all threads when large, since one thread's copy held the upload to a
/// fraction of the host's bandwidth. `dst` is write-only (mapped memory may be write-combined,
/// where reads are slow), so whole runs of bytes are copied in, a band of rows at a time
/// where the input holds them contiguously.
fn pack<T: Element>(a: &ArrayView2<T>, rows: &Range<usize>, dims: &Range<usize>, dst: WriteOnly<'_, [u8]>) {
    let part = a.slice(s![rows.clone(), dims.clone()]);
    let row_bytes = dims.len() * size_of::<T>();
    if row_bytes == 0 {
        return;
    }
    // Bands of about 256 KiB: parallel work items, each one copy when contiguous.
    let band_rows = ((256 << 10) / row_bytes).max(1);
    let mut bands = Vec::with_capacity(rows.len().div_ceil(band_rows));
    let mut rest = dst;
    for band in part.axis_chunks_iter(Axis(0), band_rows) {
        let (head, tail) = rest.split_at(band.nrows() * row_bytes);
        bands.push((Band(head), band));
        rest = tail;
    }
    if part.len() >= PARALLEL_COPY_MIN {
        bands.into_par_iter().for_each(|(Band(dst), band)| copy_band(dst, band));
    } else {
        bands.into_iter().for_each(|(Band(dst), band)| copy_band(dst, band));
    }
}

/// One band's bytes of a mapped buffer, filled on a worker thread.
struct Band<'a>(WriteOnly<'a, [u8]>);

// SAFETY: a `WriteOnly<[u8]>` is an exclusive, write-only borrow of its bytes, like a
// `&mut [u8]`, which is `Send`; the bands are disjoint. wgpu-types 30.0.2 declares `Send` for
// `WriteOnly<T>` with sized `T` only, an oversight fixed upstream (gfx-rs/wgpu#10156, #10163).
unsafe impl Send for Band<'_> {}

/// Copies `band`'s rows into `dst`, one after another: in one copy when they are contiguous.
fn copy_band<T: Element>(mut dst: WriteOnly<'_, [u8]>, band: ArrayView2<'_, T>) {
    if let Some(values) = band.as_slice() {
        dst.copy_from_slice(bytemuck::cast_slice(values));
        return;
    }
    let row_bytes = band.ncols() * size_of::<T>();
    let mut row_values = Vec::with_capacity(band.ncols());
    for row in band.rows() {
        let (mut head, tail) = dst.split_at(row_bytes);
        match row.as_slice() {
            Some(values) => head.copy_from_slice(bytemuck::cast_slice(values)),
            None => {
                row_values.clear();
                row_values.extend(row.iter().copied());
                head.copy_from_slice(bytemuck::cast_slice(&row_values));
            }
        }
        dst = tail;
    }
}

/// One GPU computation: which kernel, on which inputs, with which metric and plan.
#[derive(Clone, Copy)]
pub(crate) struct Job<'a, T: Element> {
    pub kernel: Kernel,
    pub x: ArrayView2<'a, T>,
    pub y: ArrayView2<'a, T>,
    pub metric: Metric,
    /// The weights of the metric's terms (see `Distance::resolve`), of all `d` dimensions.
    pub weights: Option<&'a TermWeights>,
    pub plan: &'a Plan,
    pub epilogue: Epilogue,
    /// Counts each tile's pairs and stops the run when asked to.
    pub monitor: Option<&'a Monitor>,
    /// Where the plan's rows and columns start in the whole problem (a job's window): the
    /// select epilogue reports global columns and skips the global diagonal.
    pub row0: usize,
    pub col0: usize,
}

/// What leaves the device for each tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Epilogue {
    /// The tile's distances.
    Store,
    /// The `k` (at most `SELECT_K_MAX`) best candidates of every span of every row of the
    /// tile (shaders/select.wgsl); with `skip_diag`, column `i` is left out of row `i`.
    Select { k: usize, skip_diag: bool },
}

/// Where finished tiles go: distances into a sink, or candidates into per-row lists (the
/// select epilogue is f32 only).
pub(crate) enum Output<'s, T: Element> {
    Tiles(&'s mut dyn Sink<T>),
    Candidates(&'s mut [TopK<T>]),
}

/// Runs `job`, handing finished tiles (or their candidates) to `output` in plan order. Two
/// slots overlap the work: while the device computes one tile, the host uploads the next and
/// reads back the one before. (`gpu::phases` runs the same steps one after another, timed.)
pub(crate) fn run<T: Element>(ctx: &GpuContext, job: Job<T>, mut output: Output<T>) -> Result<()> {
    let Job { kernel, x, y, metric, weights, plan, epilogue, monitor, row0, col0 } = job;
    ctx.check_async_error()?;
    let weights = weights.map(TermWeights::for_kernel::<T>);
    let pipeline = ctx.pipeline(kernel, T::DTYPE, metric, weights.is_some())?;
    let select = match epilogue {
        Epilogue::Store => None,
        Epilogue::Select { .. } if T::DTYPE != Dtype::F32 => {
            return Err(Error::Internal("the select epilogue reads f32 distances only".into()));
        }
        Epilogue::Select { k, skip_diag } => Some((k, skip_diag, ctx.select_pipeline()?)),
    };
    let mut slots = [ctx.slot_pool.take(ctx, plan, T::DTYPE, 0)?, ctx.slot_pool.take(ctx, plan, T::DTYPE, 1)?];
    let mut count = 0usize;

    for tile in plan.tiles() {
        if let Some(monitor) = monitor {
            monitor.advance(tile.len() as u64)?;
        }
        let slot = &mut slots[count % 2];
        count += 1;
        drain(ctx, slot, &mut output)?;
        if let Some((k, _, _)) = &select {
            slot.ensure_select_buffers(ctx, plan, *k)?;
        }
        for (c, dims) in plan.dim_chunks().enumerate() {
            let last = dims.end == plan.d;
            stage(ctx, slot, (&x, &y, weights.as_ref()), &tile, &dims, c)?;
            let mut encoder =
                ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("tile") });
            encode_distances(&mut encoder, &pipeline, slot, &tile, kernel.block(&ctx.tuning), None);
            if !last {
                ctx.queue.submit([encoder.finish()]);
                continue;
            }
            let readback = match &select {
                Some((k, skip_diag, select_pipeline)) => {
                    let at = (row0 + tile.rows.start, col0 + tile.cols.start);
                    encode_select(ctx, &mut encoder, select_pipeline, slot, &tile, (*k, *skip_diag), at)
                }
                None => encode_copy(&mut encoder, slot, &tile, T::DTYPE),
            };
            let submission = ctx.queue.submit([encoder.finish()]);
            slot.map_in_flight(tile.clone(), readback, submission);
        }
        // Let the device make progress on callbacks without blocking.
        ctx.device.poll(wgpu::PollType::Poll).map_err(|e| Error::Gpu(e.to_string()))?;
        ctx.check_async_error()?;
    }
    // Drain in plan order: the older tile is in the slot that would be used next.
    let next = count % 2;
    for i in [next, 1 - next] {
        drain(ctx, &mut slots[i], &mut output)?;
    }
    // Only after a clean run: a failed one may leave a buffer mapped.
    ctx.slot_pool.give_back(slots);
    Ok(())
}

/// What a tile's last pass copies to a mappable buffer: the distances, or the candidates.
#[derive(Clone, Copy)]
pub(super) struct Readback {
    bytes: u64,
    /// `Some((k, lists per row))` for candidates.
    candidates: Option<(usize, usize)>,
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
    (x, y, weights): (&ArrayView2<T>, &ArrayView2<T>, Option<&KernelWeights<T>>),
    tile: &Tile,
    dims: &Range<usize>,
    chunk: usize,
) -> Result<()> {
    let want_x = Some((tile.rows.clone(), dims.clone()));
    let want_y = Some((tile.cols.clone(), dims.clone()));
    let want_w = weights.map(|_| dims.clone());
    let size = T::DTYPE.size() as u64;
    // (which part: 0 X, 1 Y, 2 the weights; its bytes) of what to upload.
    let mut parts: Vec<(usize, u64)> = Vec::new();
    let ([at_x, at_y, at_w], _) = slot.sizes.upload_offsets();
    let need_x = slot.loaded_x != want_x;
    let need_y = slot.loaded_y != want_y;
    let need_w = want_w.is_some() && slot.loaded_w != want_w;
    let bytes_x = (tile.rows.len() * dims.len()) as u64 * size;
    let bytes_y = (tile.cols.len() * dims.len()) as u64 * size;
    let bytes_w = dims.len() as u64 * size;
    for (need, part, bytes) in [(need_x, 0, bytes_x), (need_y, 1, bytes_y), (need_w, 2, bytes_w)] {
        if need && bytes > 0 {
            parts.push((part, bytes));
        }
    }
    if !parts.is_empty() {
        slot.upload_mapped(ctx)?;
        {
            let mut view =
                slot.upload.slice(..).get_mapped_range_mut().map_err(|e| Error::Gpu(format!("packing inputs: {e}")))?;
            for &(part, bytes) in &parts {
                let at = [at_x, at_y, at_w][part] as usize;
                let dst = view.slice(at..at + bytes as usize);
                match part {
                    0 => pack(x, &tile.rows, dims, dst),
                    1 => pack(y, &tile.cols, dims, dst),
                    _ => {
                        let w = weights.expect("weights are uploaded only when there are some");
                        let mut dst = dst;
                        dst.copy_from_slice(bytemuck::cast_slice(&w.values[dims.clone()]));
                    }
                }
            }
        }
        slot.upload.unmap();
        let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("upload") });
        for &(part, bytes) in &parts {
            let device = [&slot.x, &slot.y, &slot.w][part];
            encoder.copy_buffer_to_buffer(&slot.upload, [at_x, at_y, at_w][part], device, 0, bytes);
        }
        let submission = ctx.queue.submit([encoder.finish()]);
        slot.upload_pending = Some(PendingMap::request(slot.upload.slice(..), wgpu::MapMode::Write, submission));
    }
    slot.loaded_x = want_x;
    slot.loaded_y = want_y;
    if want_w.is_some() {
        slot.loaded_w = want_w;
    }
    let last = dims.end == x.ncols();
    let total_weight = total_weight(weights.map(|w| w.total), x.ncols());
    let (total_weight, total_weight_lo) = super::shaders::split_f64(total_weight, T::DTYPE);
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
        pad: [0; 3],
    };
    ctx.queue.write_buffer(&slot.params, 0, bytemuck::bytes_of(&params));
    Ok(())
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

/// Records the copy of `tile`'s distances, in `dtype`, to the slot's mappable buffer.
pub(super) fn encode_copy(encoder: &mut wgpu::CommandEncoder, slot: &Slot, tile: &Tile, dtype: Dtype) -> Readback {
    let bytes = tile.len() as u64 * dtype.size() as u64;
    encoder.copy_buffer_to_buffer(&slot.out, 0, &slot.staging, 0, bytes);
    Readback { bytes, candidates: None }
}

/// Records the select epilogue on `tile`'s finished distances and the copy of its candidates
/// to a mappable buffer. `(row0, col0)`: where the tile starts in the whole problem.
fn encode_select(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    pipeline: &wgpu::ComputePipeline,
    slot: &Slot,
    tile: &Tile,
    (k, skip_diag): (usize, bool),
    (row0, col0): (usize, usize),
) -> Readback {
    let buffers = slot.select.as_ref().expect("select buffers are made before the pass");
    let span = select_span(k);
    let (lists, lanes) = select_lists(tile.cols.len(), k);
    let params = SelectParams {
        rows: tile.rows.len() as u32,
        cols: tile.cols.len() as u32,
        k: k as u32,
        span: span as u32,
        col0: col0 as u32,
        skip_diag: u32::from(skip_diag),
        row0: row0 as u32,
        lanes: lanes as u32,
    };
    ctx.queue.write_buffer(&buffers.params, 0, bytemuck::bytes_of(&params));
    let groups = (tile.rows.len() * lists).div_ceil(64) as u32;
    let max = ctx.limits().max_compute_workgroups_per_dimension;
    {
        let mut pass =
            encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("select"), timestamp_writes: None });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &buffers.bind_group, &[]);
        pass.dispatch_workgroups(groups.min(max), groups.div_ceil(max), 1);
    }
    let bytes = (tile.rows.len() * lists * k * 8) as u64;
    encoder.copy_buffer_to_buffer(&buffers.cand, 0, &buffers.staging, 0, bytes);
    Readback { bytes, candidates: Some((k, lists)) }
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

    /// Makes sure the slot has select buffers for the candidates of the plan's largest tile.
    fn ensure_select_buffers(&mut self, ctx: &GpuContext, plan: &Plan, k: usize) -> Result<()> {
        let need = (plan.tile_rows * select_lists(plan.tile_cols, k).0 * k * 8) as u64;
        let need = need.max(MIN_BUFFER).next_multiple_of(MIN_BUFFER);
        if self.select.as_ref().is_none_or(|b| b.bytes < need) {
            self.select = Some(SelectBuffers::new(ctx, &self.out, need)?);
        }
        Ok(())
    }

    /// Maps the mappable buffer that `submission` fills with `tile`'s readback, and keeps the
    /// tile in flight until [`drain`] takes it.
    pub(super) fn map_in_flight(&mut self, tile: Tile, readback: Readback, submission: wgpu::SubmissionIndex) {
        let staging = match (&readback.candidates, &self.select) {
            (Some(_), Some(buffers)) => &buffers.staging,
            _ => &self.staging,
        };
        let map = PendingMap::request(staging.slice(..readback.bytes), wgpu::MapMode::Read, submission);
        let Readback { bytes, candidates } = readback;
        self.in_flight = Some(InFlight { tile, candidates, bytes, map });
    }
}

/// Waits for the slot's tile, if any, and hands it (its distances or its candidates) to
/// `output`.
pub(super) fn drain<T: Element>(ctx: &GpuContext, slot: &mut Slot, output: &mut Output<T>) -> Result<()> {
    let Some(f) = slot.in_flight.take() else { return Ok(()) };
    f.map.wait(ctx, "a tile's readback")?;
    let staging = match (&f.candidates, &slot.select) {
        (Some(_), Some(buffers)) => &buffers.staging,
        _ => &slot.staging,
    };
    let result = {
        let view =
            staging.slice(..f.bytes).get_mapped_range().map_err(|e| Error::Gpu(format!("reading back a tile: {e}")))?;
        match (output, f.candidates) {
            (Output::Tiles(sink), None) => {
                let values: &[T] = bytemuck::cast_slice(&view);
                let values = ArrayView2::from_shape((f.tile.rows.len(), f.tile.cols.len()), values)
                    .expect("staging holds exactly one tile");
                sink.accept(&f.tile, values)
            }
            (Output::Candidates(lists), Some((k, per_row))) => {
                let pairs: &[[u32; 2]] = bytemuck::cast_slice(&view);
                for (r, row) in pairs.chunks_exact(per_row * k).enumerate() {
                    let list = &mut lists[f.tile.rows.start + r];
                    for &[key, col] in row.iter().filter(|c| c[1] != NO_CANDIDATE) {
                        list.offer(T::from_f64(f32::from_bits(key).into()), i64::from(col));
                    }
                }
                Ok(())
            }
            _ => Err(Error::Internal("a GPU run read back what its output does not take".into())),
        }
    };
    staging.unmap();
    result
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;

    /// `pack` lays out any window of any layout as contiguous rows, on both sides of the
    /// parallel threshold and across bands: a C-ordered input (one copy per band), a window
    /// of its columns (rows contiguous, strided between), and a transposed view (no row
    /// contiguous). Compared value by value with the window read through ndarray.
    #[test]
    fn pack_writes_any_layout_as_contiguous_rows() {
        let source = Array2::from_shape_fn((1500, 700), |(i, j)| (i * 700 + j) as f32 + 0.5);
        let transposed_source = Array2::from_shape_fn((700, 1500), |(j, i)| (i * 700 + j) as f32 + 0.5);
        let views = [("C order", source.view()), ("transposed", transposed_source.t())];
        for (layout, a) in views {
            for (rows, dims) in [(0..1500, 0..700), (3..1400, 5..650), (7..9, 0..700), (0..1500, 1..2)] {
                let values = rows.len() * dims.len();
                let mut bytes = vec![0u8; values * 4];
                pack(&a, &rows, &dims, WriteOnly::from_mut(&mut bytes[..]));
                let packed: &[f32] = bytemuck::cast_slice(&bytes);
                let expected = a.slice(s![rows.clone(), dims.clone()]);
                for (k, (&got, &want)) in packed.iter().zip(expected.iter()).enumerate() {
                    assert_eq!(got, want, "{layout} {rows:?} x {dims:?}: value {k}");
                }
            }
        }
        // The cases include the parallel path, with several bands.
        const { assert!(1397 * 645 >= PARALLEL_COPY_MIN && 1397 * 645 * 4 > 2 * (256 << 10)) };
    }
}
