//! Points kept on the device between runs: an [`Index`](crate::Index)'s base, uploaded once and
//! copied on the device into each tile's Y buffer, so that later query batches upload only
//! their queries.
//!
//! The layout follows the plans that read it: the base is cut into chunks of dimensions (the
//! plans' `tile_dims`, which the index fixes), and each chunk holds its rows one after another,
//! so that any tile's rows × chunk is one contiguous run of bytes, a single device copy. A chunk
//! larger than one buffer should be is split by rows into parts.

use std::ops::Range;

use ndarray::{ArrayView2, s};

use super::context::GpuContext;
use crate::element::{Dtype, Element};
use crate::error::{Error, Result};
use crate::stats::Counters;

/// Largest buffer a part takes: well within every device's `max_buffer_size` and allocation
/// granularity, and small enough that the last part wastes little.
pub(crate) const PART_BYTES: u64 = 256 << 20;

/// One buffer: rows `rows` of the dimensions of chunk `chunk`, row after row.
struct Part {
    chunk: usize,
    rows: Range<usize>,
    buffer: wgpu::Buffer,
}

/// Points uploaded once, laid out for the plans that read them.
pub(crate) struct Resident {
    dtype: Dtype,
    rows: usize,
    d: usize,
    /// Dimensions per chunk (the last may be shorter).
    chunk_dims: usize,
    parts: Vec<Part>,
}

/// One device copy of a tile's rows of a resident part into the slot's Y buffer.
pub(crate) struct DeviceCopy<'a> {
    pub(crate) from: &'a wgpu::Buffer,
    pub(crate) offset: u64,
    pub(crate) to: u64,
    pub(crate) bytes: u64,
}

impl Resident {
    /// Uploads `y` to `ctx`'s device in chunks of `chunk_dims` dimensions, in buffers of at
    /// most `part_bytes` (or one row).
    pub(crate) fn upload<T: Element>(
        ctx: &GpuContext,
        y: ArrayView2<T>,
        (chunk_dims, part_bytes): (usize, u64),
        counters: &Counters,
    ) -> Result<Resident> {
        let (m, d) = y.dim();
        let size = T::DTYPE.size();
        let chunk_dims = chunk_dims.clamp(1, d.max(1));
        let mut parts = Vec::new();
        for (chunk, k0) in (0..d).step_by(chunk_dims).enumerate() {
            let dims = k0..(k0 + chunk_dims).min(d);
            let row_bytes = (dims.len() * size) as u64;
            let rows_per_part = (part_bytes / row_bytes.max(1)).max(1) as usize;
            for r0 in (0..m).step_by(rows_per_part) {
                let rows = r0..(r0 + rows_per_part).min(m);
                let part_bytes = rows.len() as u64 * row_bytes;
                let buffer = ctx.scoped("allocating an index's base on the device", || {
                    ctx.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("resident base"),
                        // Copies move multiples of 4 bytes; a buffer is never empty.
                        size: part_bytes.next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT).max(16),
                        usage: wgpu::BufferUsages::COPY_SRC,
                        mapped_at_creation: true,
                    })
                })?;
                {
                    let mut view = buffer
                        .slice(..)
                        .get_mapped_range_mut()
                        .map_err(|e| Error::Gpu(format!("uploading an index's base: {e}")))?;
                    let values = y.slice(s![rows.clone(), dims.clone()]);
                    super::pack::pack(&values, &(0..rows.len()), &(0..dims.len()), view.slice(..part_bytes as usize));
                }
                buffer.unmap();
                counters.uploaded(part_bytes);
                parts.push(Part { chunk, rows, buffer });
            }
        }
        Ok(Resident { dtype: T::DTYPE, rows: m, d, chunk_dims, parts })
    }

    /// The element type of the points.
    pub(crate) fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// Points held.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Dimensions per chunk: what the plans reading these points must use as `tile_dims`.
    pub(crate) fn chunk_dims(&self) -> usize {
        self.chunk_dims
    }

    /// The device copies that put rows `cols` of dimensions `dims` (one chunk) into a Y buffer
    /// as contiguous rows.
    pub(crate) fn copies(&self, cols: &Range<usize>, dims: &Range<usize>) -> Result<Vec<DeviceCopy<'_>>> {
        let chunk = dims.start / self.chunk_dims;
        if !dims.start.is_multiple_of(self.chunk_dims) || dims.end != ((chunk + 1) * self.chunk_dims).min(self.d) {
            return Err(Error::Internal(format!(
                "a plan reads dimensions {dims:?} of an index's base kept in chunks of {}",
                self.chunk_dims
            )));
        }
        let row_bytes = (dims.len() * self.dtype.size()) as u64;
        let copies = self
            .parts
            .iter()
            .filter(|p| p.chunk == chunk && p.rows.start < cols.end && cols.start < p.rows.end)
            .map(|p| {
                let (from, to) = (cols.start.max(p.rows.start), cols.end.min(p.rows.end));
                DeviceCopy {
                    from: &p.buffer,
                    offset: (from - p.rows.start) as u64 * row_bytes,
                    to: (from - cols.start) as u64 * row_bytes,
                    bytes: (to - from) as u64 * row_bytes,
                }
            })
            .collect();
        Ok(copies)
    }
}
