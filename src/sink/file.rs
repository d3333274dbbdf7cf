//! Sinks that write to an open file as blocks arrive, so an output larger than memory never
//! lives in memory. They write into whatever file they are given; making that file a
//! temporary one and renaming it at the end is the job of [`crate::io::OutputFile`].

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use ndarray::{Array2, ArrayView2, s};
use ndarray_npy::WritableElement;
use ndarray_npy::npy::header::{Header, Layout as NpyLayout};

use super::{Layout, Sink};
use crate::error::{Error, Result};
use crate::plan::Block;

// The .npy header says little-endian f32 ('<f4'); the bytes are written as they are in memory.
#[cfg(not(target_endian = "little"))]
compile_error!("pairdist writes .npy data in native byte order, which must be little-endian");

/// Writes an f32 `.npy` file (C order), each block straight to its place on disk.
pub struct NpyFileSink {
    file: File,
    path: PathBuf,
    layout: Layout,
    data_offset: u64,
}

impl NpyFileSink {
    /// Writes the header for `layout` into `file` and sizes the file; `path` names it in errors.
    pub fn new(mut file: File, path: PathBuf, layout: Layout) -> Result<Self> {
        let header = Header {
            type_descriptor: <f32 as WritableElement>::type_descriptor(),
            layout: NpyLayout::Standard,
            shape: layout.shape(),
        };
        let wrap = |e: &dyn std::fmt::Display| Error::write(&path, e);
        header.write(&mut file).map_err(|e| wrap(&e))?;
        let data_offset = file.stream_position().map_err(|e| wrap(&e))?;
        // A sparse file of the final size: blocks land at their offsets in any order.
        file.set_len(data_offset + layout.len() * 4).map_err(|e| wrap(&e))?;
        Ok(NpyFileSink { file, path, layout, data_offset })
    }
}

impl Sink for NpyFileSink {
    fn accept(&mut self, block: &Block, values: ArrayView2<f32>) -> Result<()> {
        let mut row_buf = Vec::new();
        for seg in self.layout.segments(block) {
            let row = values.slice(s![seg.row, seg.cols.clone()]);
            let data: &[f32] = match row.as_slice() {
                Some(d) => d,
                None => {
                    row_buf.clear();
                    row_buf.extend(row.iter());
                    &row_buf
                }
            };
            self.file
                .write_all_at(bytemuck::cast_slice(data), self.data_offset + seg.offset * 4)
                .map_err(|e| Error::write(&self.path, e))?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::write(&self.path, e))
    }
}

/// Writes a text file in NumPy `savetxt` style: one matrix row per line (or one condensed
/// value per line), values separated by `delimiter`, in the shortest form that reads back to
/// the same f32.
///
/// Text must be written in order, so the sink holds one band of rows until the band is done.
pub struct TextFileSink {
    out: BufWriter<File>,
    path: PathBuf,
    layout: Layout,
    delimiter: char,
    band: Option<(std::ops::Range<usize>, Array2<f32>)>,
}

impl TextFileSink {
    /// A text sink writing `layout` into `file`, separating values by `delimiter`.
    pub fn new(file: File, path: PathBuf, layout: Layout, delimiter: char) -> Self {
        TextFileSink { out: BufWriter::with_capacity(1 << 20, file), path, layout, delimiter, band: None }
    }

    fn flush_band(&mut self) -> Result<()> {
        let Some((rows, band)) = self.band.take() else { return Ok(()) };
        let io = |e: std::io::Error| Error::write(&self.path, e);
        let full = Block { rows: rows.clone(), cols: 0..band.ncols() };
        for seg in self.layout.segments(&full) {
            let values = band.slice(s![seg.row, seg.cols.clone()]);
            match self.layout {
                Layout::Matrix { .. } => {
                    let mut first = true;
                    for v in values {
                        if !first {
                            write!(self.out, "{}", self.delimiter).map_err(io)?;
                        }
                        first = false;
                        write!(self.out, "{v}").map_err(io)?;
                    }
                    writeln!(self.out).map_err(io)?;
                }
                Layout::Condensed { .. } => {
                    for v in values {
                        writeln!(self.out, "{v}").map_err(io)?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Sink for TextFileSink {
    fn accept(&mut self, block: &Block, values: ArrayView2<f32>) -> Result<()> {
        if self.band.as_ref().is_some_and(|(rows, _)| *rows != block.rows) {
            self.flush_band()?;
        }
        let m = match self.layout {
            Layout::Matrix { m, .. } => m,
            Layout::Condensed { n } => n,
        };
        let (_, band) = self
            .band
            .get_or_insert_with(|| (block.rows.clone(), Array2::zeros((block.rows.len(), m))));
        band.slice_mut(s![.., block.cols.clone()]).assign(&values);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.flush_band()?;
        self.out.flush().map_err(|e| Error::write(&self.path, e))?;
        self.out.get_ref().sync_data().map_err(|e| Error::write(&self.path, e))
    }
}
