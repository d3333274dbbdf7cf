//! The answers' epilogues: a pass after a tile's last distance pass that reduces the tile on
//! the device (`shaders/select.wgsl`: the k best of every row; `shaders/filter.wgsl`: the
//! entries within a radius), so that what is read back grows with the answer (rows × k
//! candidates, the hits) instead of with the tile (rows × columns distances).
//!
//! Here: the epilogues' buffers, the recording of their passes and copies, and the decoding of
//! what comes back. The executor decides when to run them; the answers (`TopK`, `Within`) take
//! what they give exactly as they take a tile streamed from the host.

use super::context::GpuContext;
use super::shaders::{Epilogue, SELECT_K_MAX};
use crate::element::{Dtype, Element};
use crate::error::{Error, Result};
use crate::plan::{Plan, Tile};

/// What a run does with each finished tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reduction {
    /// Reads the tile's distances back.
    Store,
    /// The `k` best candidates of every row (at most [`SELECT_K_MAX`]); with `skip_diag`,
    /// column `i` of the whole problem is left out of row `i` (X against itself).
    Select { k: usize, skip_diag: bool },
    /// The entries whose sort key is at most `r_key` (see [`key_of`]): the distances within
    /// the radius; with `upper`, only the pairs whose column comes after their row in the
    /// whole problem.
    Filter { r_key: u64, upper: bool },
}

/// The sort key of a distance, as `shaders/common/key32.wgsl` and `key64.wgsl` compute it: its
/// bits, NaN made one canonical NaN (after +inf), -0 made +0.
pub(crate) fn key_of<T: Element>(v: T) -> u64 {
    let v: f64 = v.cast();
    match T::DTYPE {
        Dtype::F32 => {
            let bits = (v as f32).to_bits();
            u64::from(match bits {
                _ if bits & 0x7fff_ffff > 0x7f80_0000 => 0x7fc0_0000,
                0x8000_0000 => 0,
                _ => bits,
            })
        }
        Dtype::F64 => {
            let bits = v.to_bits();
            match bits {
                _ if bits & 0x7fff_ffff_ffff_ffff > 0x7ff0_0000_0000_0000 => 0x7ff8_0000_0000_0000,
                0x8000_0000_0000_0000 => 0,
                _ => bits,
            }
        }
    }
}

/// The distance of sort key `key` (the inverse of [`key_of`] on distances).
fn value_of<T: Element>(key: u64) -> T {
    match T::DTYPE {
        Dtype::F32 => T::from_f64(f64::from(f32::from_bits(key as u32))),
        Dtype::F64 => T::from_f64(f64::from_bits(key)),
    }
}

/// What a tile's last pass copies to a mappable buffer.
#[derive(Clone, Copy, Debug)]
pub(super) enum Readback {
    /// The tile's distances, into the slot's staging buffer.
    Distances { bytes: u64 },
    /// `k` candidates of every row, into the select epilogue's staging buffer.
    Candidates { k: usize, bytes: u64 },
    /// The filter's count of hits and its first `expect` hits, into the slot's staging buffer
    /// (see [`HitLayout`]).
    Hits { expect: usize, bytes: u64 },
}

impl Readback {
    /// Bytes copied to the mappable buffer.
    pub(super) fn bytes(self) -> u64 {
        match self {
            Readback::Distances { bytes } | Readback::Candidates { bytes, .. } | Readback::Hits { bytes, .. } => bytes,
        }
    }
}

/// The uniform block of `SelectParams` in `shaders/select.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SelectParams {
    rows: u32,
    cols: u32,
    k: u32,
    col0: u32,
    skip_diag: u32,
    row0: u32,
    pad: [u32; 2],
}

/// The uniform block of `FilterParams` in `shaders/filter.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FilterParams {
    rows: u32,
    cols: u32,
    row0: u32,
    col0: u32,
    upper: u32,
    capacity: u32,
    r_lo: u32,
    r_hi: u32,
}

/// Bytes of one candidate (`Candidate` in shaders/select.wgsl: a key and a column, the struct
/// padded to the key's alignment).
fn candidate_bytes(dtype: Dtype) -> usize {
    match dtype {
        Dtype::F32 => 8,
        Dtype::F64 => 16,
    }
}

/// Where the filter's count and hits lie in the staging buffer: the count first (8 bytes, to
/// keep what follows aligned), then `expect` indices, then `expect` values.
#[derive(Clone, Copy, Debug)]
pub(super) struct HitLayout {
    pub(super) expect: usize,
    size: usize,
}

impl HitLayout {
    pub(super) fn new(expect: usize, dtype: Dtype) -> HitLayout {
        HitLayout { expect, size: dtype.size() }
    }

    fn indices_at(self) -> u64 {
        8
    }

    fn values_at(self) -> u64 {
        (8 + 4 * self.expect as u64).next_multiple_of(8)
    }

    /// Bytes of the count and `hits` (at most `expect`) hits, as copied.
    pub(super) fn bytes(self, hits: usize) -> u64 {
        if hits == 0 { 8 } else { self.values_at() + (hits * self.size) as u64 }
    }
}

/// The buffers of one slot's epilogue, bound to the slot's output buffer.
pub(super) enum EpilogueBuffers {
    Select {
        params: wgpu::Buffer,
        cand: wgpu::Buffer,
        staging: wgpu::Buffer,
        bind_group: wgpu::BindGroup,
        bytes: u64,
    },
    Filter {
        params: wgpu::Buffer,
        index: wgpu::Buffer,
        value: wgpu::Buffer,
        count: wgpu::Buffer,
        bind_group: wgpu::BindGroup,
        capacity: usize,
    },
}

/// Buffers are a multiple of this (and at least this), as the slot's are.
const MIN_BUFFER: u64 = 32;

fn buffer(ctx: &GpuContext, name: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(name),
        size: size.max(MIN_BUFFER).next_multiple_of(MIN_BUFFER),
        usage,
        mapped_at_creation: false,
    })
}

/// Hits a slot's filter holds for `plan`'s tiles of `dtype`: an eighth of a tile's entries (so
/// its buffers take at most a quarter (f32) or 19% (f64) of the output's bytes), or all of a
/// small tile's; never more than the tile's staging buffer takes with the count. A tile with
/// more hits has its distances read back instead.
fn filter_capacity(plan: &Plan, dtype: Dtype) -> usize {
    let entries = plan.tile_rows * plan.tile_cols;
    let staging = (entries * dtype.size()).max(MIN_BUFFER as usize);
    (entries / 8).max(entries.min(1024)).min(staging.saturating_sub(16) / (4 + dtype.size()))
}

impl EpilogueBuffers {
    /// Whether these buffers serve `reduction` over `plan`'s tiles.
    fn serves(&self, reduction: Reduction, plan: &Plan, dtype: Dtype) -> bool {
        match (self, reduction) {
            (EpilogueBuffers::Select { bytes, .. }, Reduction::Select { k, .. }) => {
                *bytes >= (plan.tile_rows * k * candidate_bytes(dtype)) as u64
            }
            (EpilogueBuffers::Filter { capacity, .. }, Reduction::Filter { .. }) => {
                *capacity >= filter_capacity(plan, dtype)
            }
            _ => false,
        }
    }

    /// The buffers `reduction` needs over `plan`'s tiles, reusing `current` when it serves
    /// (`None` for [`Reduction::Store`]); `out` is the slot's output buffer the epilogue reads.
    pub(super) fn ensure(
        ctx: &GpuContext,
        current: &mut Option<EpilogueBuffers>,
        out: &wgpu::Buffer,
        reduction: Reduction,
        plan: &Plan,
        dtype: Dtype,
    ) -> Result<()> {
        if reduction == Reduction::Store || current.as_ref().is_some_and(|b| b.serves(reduction, plan, dtype)) {
            return Ok(());
        }
        use wgpu::BufferUsages as U;
        fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
            wgpu::BindGroupEntry { binding, resource: buffer.as_entire_binding() }
        }
        let made = ctx.scoped("allocating an answer's epilogue buffers", || match reduction {
            Reduction::Store => unreachable!("checked above"),
            Reduction::Select { k, .. } => {
                debug_assert!(k <= SELECT_K_MAX);
                let bytes = (plan.tile_rows * k * candidate_bytes(dtype)) as u64;
                let params = buffer(ctx, "select params", 32, U::UNIFORM | U::COPY_DST);
                let cand = buffer(ctx, "candidates", bytes, U::STORAGE | U::COPY_SRC);
                let staging = buffer(ctx, "candidate staging", bytes, U::MAP_READ | U::COPY_DST);
                let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("pairdist select"),
                    layout: ctx.epilogue_layout(Epilogue::Select),
                    entries: &[entry(0, &params), entry(1, out), entry(2, &cand)],
                });
                EpilogueBuffers::Select { params, cand, staging, bind_group, bytes }
            }
            Reduction::Filter { .. } => {
                let capacity = filter_capacity(plan, dtype);
                let params = buffer(ctx, "filter params", 32, U::UNIFORM | U::COPY_DST);
                let index = buffer(ctx, "hit indices", 4 * capacity as u64, U::STORAGE | U::COPY_SRC);
                let value = buffer(ctx, "hit values", (capacity * dtype.size()) as u64, U::STORAGE | U::COPY_SRC);
                let count = buffer(ctx, "hit count", 4, U::STORAGE | U::COPY_SRC | U::COPY_DST);
                let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("pairdist filter"),
                    layout: ctx.epilogue_layout(Epilogue::Filter),
                    entries: &[entry(0, &params), entry(1, out), entry(2, &index), entry(3, &value), entry(4, &count)],
                });
                EpilogueBuffers::Filter { params, index, value, count, bind_group, capacity }
            }
        })?;
        *current = Some(made);
        Ok(())
    }

    /// The select epilogue's mappable buffer for its candidates (the filter copies its hits
    /// into the slot's staging buffer instead).
    pub(super) fn staging(&self) -> Option<&wgpu::Buffer> {
        match self {
            EpilogueBuffers::Select { staging, .. } => Some(staging),
            EpilogueBuffers::Filter { .. } => None,
        }
    }

    /// The filter's capacity in hits (0 for the select epilogue).
    pub(super) fn capacity(&self) -> usize {
        match self {
            EpilogueBuffers::Filter { capacity, .. } => *capacity,
            EpilogueBuffers::Select { .. } => 0,
        }
    }
}

/// Records `reduction`'s pass on `tile`'s finished distances; `(row0, col0)`: where the tile
/// starts in the whole problem. Nothing for [`Reduction::Store`].
pub(super) fn encode_pass(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    buffers: Option<&EpilogueBuffers>,
    reduction: Reduction,
    (tile, row0, col0): (&Tile, usize, usize),
    dtype: Dtype,
) -> Result<()> {
    let max = ctx.limits().max_compute_workgroups_per_dimension;
    let (rows, cols) = (tile.rows.len(), tile.cols.len());
    let at = (row0 + tile.rows.start, col0 + tile.cols.start);
    let (epilogue, params, bind_group, groups) = match (reduction, buffers) {
        (Reduction::Store, _) => return Ok(()),
        (Reduction::Select { k, skip_diag }, Some(EpilogueBuffers::Select { params, bind_group, .. })) => {
            let p = SelectParams {
                rows: rows as u32,
                cols: cols as u32,
                k: k as u32,
                col0: at.1 as u32,
                skip_diag: u32::from(skip_diag),
                row0: at.0 as u32,
                pad: [0; 2],
            };
            // One workgroup per row.
            (Epilogue::Select, (params, bytemuck::bytes_of(&p).to_vec()), bind_group, rows)
        }
        (
            Reduction::Filter { r_key, upper },
            Some(EpilogueBuffers::Filter { params, count, bind_group, capacity, .. }),
        ) => {
            let p = FilterParams {
                rows: rows as u32,
                cols: cols as u32,
                row0: at.0 as u32,
                col0: at.1 as u32,
                upper: u32::from(upper),
                capacity: *capacity as u32,
                r_lo: r_key as u32,
                r_hi: (r_key >> 32) as u32,
            };
            encoder.clear_buffer(count, 0, None);
            (Epilogue::Filter, (params, bytemuck::bytes_of(&p).to_vec()), bind_group, (rows * cols).div_ceil(256))
        }
        _ => return Err(Error::Internal("an epilogue ran without its buffers".into())),
    };
    ctx.queue.write_buffer(params.0, 0, &params.1);
    let pipeline = ctx.epilogue_pipeline(epilogue, dtype)?;
    let mut pass = encoder
        .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(epilogue.name()), timestamp_writes: None });
    pass.set_pipeline(&pipeline);
    pass.set_bind_group(0, bind_group, &[]);
    let groups = groups.max(1) as u32;
    pass.dispatch_workgroups(groups.min(max), groups.div_ceil(max), 1);
    Ok(())
}

/// Records the copy of what `reduction`'s pass kept on `tile` to a mappable buffer: the
/// candidates to the select epilogue's own, the count and first `expect` hits to `staging`
/// (the slot's); `None` for [`Reduction::Store`].
pub(super) fn encode_readback(
    encoder: &mut wgpu::CommandEncoder,
    buffers: Option<&EpilogueBuffers>,
    staging: &wgpu::Buffer,
    reduction: Reduction,
    tile: &Tile,
    expect: usize,
    dtype: Dtype,
) -> Option<Readback> {
    match (reduction, buffers?) {
        (Reduction::Select { k, .. }, EpilogueBuffers::Select { cand, staging, .. }) => {
            let bytes = (tile.rows.len() * k * candidate_bytes(dtype)) as u64;
            encoder.copy_buffer_to_buffer(cand, 0, staging, 0, bytes);
            Some(Readback::Candidates { k, bytes })
        }
        (Reduction::Filter { .. }, buffers @ EpilogueBuffers::Filter { count, capacity, .. }) => {
            let expect = expect.min(*capacity);
            let layout = HitLayout::new(expect, dtype);
            encoder.copy_buffer_to_buffer(count, 0, staging, 0, 4);
            copy_hits(encoder, buffers, staging, layout, 0..expect);
            Some(Readback::Hits { expect, bytes: layout.bytes(expect) })
        }
        _ => None,
    }
}

/// Records the copy of hits `hits` (of the filter's buffers) to `staging`, laid out as
/// `layout` says, starting at its first place.
pub(super) fn copy_hits(
    encoder: &mut wgpu::CommandEncoder,
    buffers: &EpilogueBuffers,
    staging: &wgpu::Buffer,
    layout: HitLayout,
    hits: std::ops::Range<usize>,
) {
    let EpilogueBuffers::Filter { index, value, .. } = buffers else { return };
    if hits.is_empty() {
        return;
    }
    let n = hits.len() as u64;
    encoder.copy_buffer_to_buffer(index, 4 * hits.start as u64, staging, layout.indices_at(), 4 * n);
    let size = layout.size as u64;
    encoder.copy_buffer_to_buffer(value, size * hits.start as u64, staging, layout.values_at(), size * n);
}

/// The candidates of a tile's rows (`rows × k` of them, as shaders/select.wgsl writes them),
/// offered to `lists` (one per row of the tile); padding is skipped.
pub(super) fn offer_candidates<T: Element>(bytes: &[u8], k: usize, lists: &mut [crate::answer::TopK<T>]) {
    let entry = candidate_bytes(T::DTYPE);
    for (row, list) in bytes.chunks_exact(entry * k).zip(lists) {
        for c in row.chunks_exact(entry) {
            let (key, col) = match T::DTYPE {
                Dtype::F32 => (u64::from(word(c, 0)), word(c, 4)),
                Dtype::F64 => (u64::from(word(c, 0)) | (u64::from(word(c, 4)) << 32), word(c, 8)),
            };
            if col != u32::MAX {
                list.offer(value_of(key), i64::from(col));
            }
        }
    }
}

/// The native-endian u32 at byte `at` of `bytes` (mapped memory need not be aligned for a cast).
fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// The filter's count of hits, from the start of its readback.
pub(super) fn hit_count(bytes: &[u8]) -> usize {
    word(bytes, 0) as usize
}

/// The `hits` hits at the places `layout` gives in `bytes`, as (flat index in the tile,
/// distance), appended to `out`.
pub(super) fn read_hits<T: Element>(bytes: &[u8], layout: HitLayout, hits: usize, out: &mut Vec<(u32, T)>) {
    let (at_i, at_v) = (layout.indices_at() as usize, layout.values_at() as usize);
    out.extend((0..hits).map(|h| {
        let index = word(bytes, at_i + 4 * h);
        let value = match T::DTYPE {
            Dtype::F32 => f64::from(f32::from_bits(word(bytes, at_v + 4 * h))),
            Dtype::F64 => {
                f64::from_bits(u64::from(word(bytes, at_v + 8 * h)) | (u64::from(word(bytes, at_v + 8 * h + 4)) << 32))
            }
        };
        (index, T::from_f64(value))
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys order distances as the host does (smaller first, +inf after numbers, NaN last, -0
    /// as +0), and give the distance back.
    #[test]
    fn keys_order_distances_as_the_host_does() {
        let values = [0.0f64, 1e-300, 0.5, 1.0, 3e38, f64::INFINITY];
        for w in values.windows(2) {
            assert!(key_of(w[0]) < key_of(w[1]) && key_of(w[0] as f32) <= key_of(w[1] as f32), "{w:?}");
        }
        assert!(key_of(f64::NAN) > key_of(f64::INFINITY) && key_of(-f64::NAN) == key_of(f64::NAN));
        assert!(key_of(f32::NAN) > key_of(f32::INFINITY) && key_of(-f32::NAN) == key_of(f32::NAN));
        assert_eq!((key_of(-0.0f64), key_of(-0.0f32)), (0, 0));
        for v in values {
            assert_eq!(value_of::<f64>(key_of(v)), v);
            assert_eq!(value_of::<f32>(key_of(v as f32)), v as f32);
        }
        assert!(value_of::<f64>(key_of(f64::NAN)).is_nan());
    }
}
