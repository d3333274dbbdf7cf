//! Packing points for the device: rows of any view (any strides) copied as contiguous rows
//! into mapped upload memory, on all threads when large.

use std::ops::Range;

use ndarray::{ArrayView2, Axis, s};
use rayon::prelude::*;
use wgpu::WriteOnly;

use crate::element::Element;
use crate::sink::PARALLEL_COPY_MIN;

/// Copies `rows × dims` of `a` (any strides) into `dst`, the mapped bytes of an upload buffer,
/// as contiguous rows; on all threads when large, since one thread's copy held the upload to a
/// fraction of the host's bandwidth. `dst` is write-only (mapped memory may be write-combined,
/// where reads are slow), so whole runs of bytes are copied in, a band of rows at a time
/// where the input holds them contiguously.
pub(super) fn pack<T: Element>(a: &ArrayView2<T>, rows: &Range<usize>, dims: &Range<usize>, dst: WriteOnly<'_, [u8]>) {
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
