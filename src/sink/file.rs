//! Sinks that write to an open file as tiles arrive, so an output larger than memory never
//! lives in memory. They write into whatever file they are given; making that file a
//! temporary one and renaming it at the end is the job of `OutputFile` of the command line (`cli/src/io.rs`).

use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView1, ArrayView2, Zip, s};
use ndarray_npy::WritableElement;
use ndarray_npy::npy::header::{Header, Layout as NpyLayout};

use super::{Layout, Sink};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::plan::Tile;

// The .npy header says little-endian ('<f4', '<f8'); the bytes are written as they are in memory.
#[cfg(not(target_endian = "little"))]
compile_error!("pairdist writes .npy data in native byte order, which must be little-endian");

/// Bands of whole output rows up to this size are gathered and written in one call; larger
/// ones are written row segment by row segment. Bounds the sink's memory whatever the output.
const MAX_BAND_BYTES: usize = 64 << 20;

/// Writes a `.npy` file of `O` (float32 or float64, C order) as tiles arrive, so the output
/// never has to fit in memory; tiles of either type are taken and rounded to `O`. Blocks of one
/// row band are gathered into one contiguous write when the band is small enough (a few large
/// writes keep the disk busy; many small ones do not).
pub struct NpyFileSink<O: Element = f32> {
    file: File,
    path: PathBuf,
    layout: Layout,
    data_offset: u64,
    band: Option<Band<O>>,
}

/// A row band of a matrix output being gathered: its rows and the values so far.
struct Band<O> {
    rows: std::ops::Range<usize>,
    values: Array2<O>,
    filled: usize,
}

impl<O: Element> NpyFileSink<O> {
    /// Bytes per value.
    const SIZE: u64 = size_of::<O>() as u64;

    /// Writes the header for `layout` into `file` and sizes the file; `path` names it in errors.
    pub fn new(mut file: File, path: PathBuf, layout: Layout) -> Result<Self> {
        let header = Header {
            type_descriptor: <O as WritableElement>::type_descriptor(),
            layout: NpyLayout::Standard,
            shape: layout.shape(),
        };
        let wrap = |e: &dyn std::fmt::Display| Error::write(&path, e);
        header.write(&mut file).map_err(|e| wrap(&e))?;
        let data_offset = file.stream_position().map_err(|e| wrap(&e))?;
        // A sparse file of the final size: tiles land at their offsets in any order.
        file.set_len(data_offset + layout.len() * Self::SIZE).map_err(|e| wrap(&e))?;
        Ok(NpyFileSink { file, path, layout, data_offset, band: None })
    }

    fn write_at(&self, data: &[O], offset: u64) -> Result<()> {
        write_all_at(&self.file, bytemuck::cast_slice(data), self.data_offset + offset * Self::SIZE)
            .map_err(|e| Error::write(&self.path, e))
    }

    /// Writes every row segment of a tile where it belongs.
    fn write_segments<T: Element>(&self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        let mut row_buf: Vec<O> = Vec::new();
        for seg in self.layout.segments(tile) {
            let row = values.slice(s![seg.row, seg.cols.clone()]);
            let data = contiguous(row, &mut row_buf);
            self.write_at(data, seg.offset)?;
        }
        Ok(())
    }

    fn flush_band(&mut self) -> Result<()> {
        if let Some(band) = self.band.take() {
            let m = band.values.ncols();
            let data = band.values.as_slice().expect("band is contiguous");
            self.write_at(data, band.rows.start as u64 * m as u64)?;
        }
        Ok(())
    }
}

impl<T: Element, O: Element> Sink<T> for NpyFileSink<O> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        let Layout::Matrix { m, .. } = self.layout else {
            return self.write_segments(tile, values);
        };
        if tile.rows.len() * m * size_of::<O>() > MAX_BAND_BYTES {
            return self.write_segments(tile, values);
        }
        if self.band.as_ref().is_some_and(|b| b.rows != tile.rows) {
            self.flush_band()?;
        }
        let band = self.band.get_or_insert_with(|| Band {
            rows: tile.rows.clone(),
            values: Array2::zeros((tile.rows.len(), m)),
            filled: 0,
        });
        Zip::from(band.values.slice_mut(s![.., tile.cols.clone()])).and(values).for_each(|d, &v| *d = v.cast());
        band.filled += tile.cols.len();
        if band.filled == m {
            self.flush_band()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.flush_band()?;
        self.file.sync_data().map_err(|e| Error::write(&self.path, e))
    }
}

/// Writes text in NumPy `savetxt` style: one matrix row per line (or one condensed value per
/// line), values separated by `delimiter`, in the shortest form that reads back to the same `O`
/// (f32 or f64: up to 9 or 17 significant digits); tiles of either type are rounded to `O`.
///
/// Text must be written row by row, but tiles arrive a row band at a time, columns inner: the
/// first line of a band is done only when its last tile is. So the sink gathers one band
/// before writing it. A band of up to 64 MiB is gathered in memory; a larger one
/// (a few rows of a very wide output) is gathered in an unnamed temporary file beside the
/// output (removed by the OS however the run ends), and written out from there a piece of a
/// row at a time. Memory stays bounded whatever the output's shape.
pub struct TextFileSink<O: Element = f32> {
    out: BufWriter<TextOut>,
    /// The output's name in errors.
    path: PathBuf,
    layout: Layout,
    delimiter: char,
    /// Where a band too large for memory is spilled.
    spill_dir: PathBuf,
    /// Bands of more bytes than this are spilled.
    band_limit: usize,
    band: Option<TextBand<O>>,
    /// The spill file, created when a band first needs it and reused.
    spill: Option<File>,
}

/// Where text goes.
enum TextOut {
    File(File),
    Stdout(io::Stdout),
}

impl Write for TextOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            TextOut::File(f) => f.write(buf),
            TextOut::Stdout(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            TextOut::File(f) => f.flush(),
            TextOut::Stdout(s) => s.flush(),
        }
    }
}

/// A band of output rows being gathered: in memory, or (None) in the spill file at
/// `(row in band × width + column) × size_of::<O>()` bytes.
struct TextBand<O> {
    rows: Range<usize>,
    memory: Option<Array2<O>>,
}

/// Values formatted per step when a band is written out.
const TEXT_CHUNK: usize = 1 << 14;

impl<O: Element> TextFileSink<O> {
    /// Bytes per value.
    const SIZE: u64 = size_of::<O>() as u64;

    /// A text sink writing `layout` into `file`, separating values by `delimiter`; `path`
    /// names the output in errors, and its folder takes the spill file of large bands.
    pub fn new(file: File, path: PathBuf, layout: Layout, delimiter: char) -> Self {
        let spill_dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Self::with_output(TextOut::File(file), path, spill_dir, layout, delimiter)
    }

    /// A text sink writing `layout` to standard output; large bands spill to the temporary folder.
    pub fn stdout(layout: Layout, delimiter: char) -> Self {
        let path = PathBuf::from("standard output");
        Self::with_output(TextOut::Stdout(io::stdout()), path, std::env::temp_dir(), layout, delimiter)
    }

    fn with_output(out: TextOut, path: PathBuf, spill_dir: PathBuf, layout: Layout, delimiter: char) -> Self {
        TextFileSink {
            out: BufWriter::with_capacity(1 << 20, out),
            path,
            layout,
            delimiter,
            spill_dir,
            band_limit: MAX_BAND_BYTES,
            band: None,
            spill: None,
        }
    }

    /// Values per band row: columns of the matrix, or points for the condensed vector.
    fn width(&self) -> usize {
        match self.layout {
            Layout::Matrix { m, .. } => m,
            Layout::Condensed { n } => n,
        }
    }

    /// A failed write: to standard output its own error (a closed pipe ends a CLI quietly).
    fn error(&self, e: io::Error) -> Error {
        match self.out.get_ref() {
            TextOut::Stdout(_) => Error::Stdout(e),
            TextOut::File(_) => Error::write(&self.path, e),
        }
    }

    /// Starts gathering the band `rows`: in memory if it is small enough, else in the spill file.
    fn start_band(&mut self, rows: Range<usize>) -> Result<TextBand<O>> {
        let width = self.width();
        let bytes = rows.len().checked_mul(width).and_then(|v| v.checked_mul(size_of::<O>()));
        if bytes.is_some_and(|b| b <= self.band_limit) {
            return Ok(TextBand { memory: Some(Array2::zeros((rows.len(), width))), rows });
        }
        if self.spill.is_none() {
            let file = tempfile::tempfile_in(&self.spill_dir).map_err(|e| {
                Error::write(&self.path, format!("cannot create a temporary file in {}: {e}", self.spill_dir.display()))
            })?;
            self.spill = Some(file);
        }
        Ok(TextBand { rows, memory: None })
    }

    /// Stores a tile of the current band.
    fn gather<T: Element>(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        let width = self.width();
        let band = self.band.as_mut().expect("a band was started");
        if let Some(memory) = &mut band.memory {
            Zip::from(memory.slice_mut(s![.., tile.cols.clone()])).and(values).for_each(|d, &v| *d = v.cast());
            return Ok(());
        }
        let spill = self.spill.as_ref().expect("spilled bands have a spill file");
        let mut row_buf: Vec<O> = Vec::new();
        for (r, row) in values.rows().into_iter().enumerate() {
            let data = contiguous(row, &mut row_buf);
            let offset = (r as u64 * width as u64 + tile.cols.start as u64) * Self::SIZE;
            write_all_at(spill, bytemuck::cast_slice(data), offset).map_err(|e| spill_error(&self.path, e))?;
        }
        Ok(())
    }

    /// Writes the gathered band as text, row by row, a chunk of a row at a time.
    fn flush_band(&mut self) -> Result<()> {
        let Some(band) = self.band.take() else { return Ok(()) };
        let width = self.width();
        let mut chunk: Vec<O> = Vec::new();
        for (r, i) in band.rows.clone().enumerate() {
            let cols = match self.layout {
                Layout::Matrix { m, .. } => 0..m,
                Layout::Condensed { n } => (i + 1).min(n)..n,
            };
            for start in cols.clone().step_by(TEXT_CHUNK) {
                let piece = start..(start + TEXT_CHUNK).min(cols.end);
                let values: &[O] = match &band.memory {
                    Some(memory) => &memory.row(r).to_slice().expect("band rows are contiguous")[piece.clone()],
                    None => {
                        chunk.resize(piece.len(), O::zero());
                        let offset = (r as u64 * width as u64 + piece.start as u64) * Self::SIZE;
                        let spill = self.spill.as_ref().expect("spilled bands have a spill file");
                        read_exact_at(spill, bytemuck::cast_slice_mut(&mut chunk), offset)
                            .map_err(|e| spill_error(&self.path, e))?;
                        &chunk
                    }
                };
                self.write_values(values, piece.start == cols.start).map_err(|e| self.error(e))?;
            }
            if matches!(self.layout, Layout::Matrix { .. }) {
                self.out.write_all(b"\n").map_err(|e| self.error(e))?;
            }
        }
        if band.memory.is_none() {
            // Give the disk space back; the next spilled band starts from an empty file.
            let spill = self.spill.as_ref().expect("spilled bands have a spill file");
            spill.set_len(0).map_err(|e| spill_error(&self.path, e))?;
        }
        Ok(())
    }

    /// Writes consecutive values of one row: a matrix row's values separated by the delimiter
    /// (`first`: the row's first value), or condensed values one per line.
    fn write_values(&mut self, values: &[O], first: bool) -> io::Result<()> {
        for (k, v) in values.iter().enumerate() {
            match self.layout {
                Layout::Matrix { .. } => {
                    if k > 0 || !first {
                        write!(self.out, "{}", self.delimiter)?;
                    }
                    write!(self.out, "{v}")?;
                }
                Layout::Condensed { .. } => writeln!(self.out, "{v}")?,
            }
        }
        Ok(())
    }
}

fn spill_error(path: &Path, e: io::Error) -> Error {
    Error::write(path, format!("temporary storage of a large band failed: {e}"))
}

impl<T: Element, O: Element> Sink<T> for TextFileSink<O> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        if self.band.as_ref().is_some_and(|band| band.rows != tile.rows) {
            self.flush_band()?;
        }
        if self.band.is_none() {
            self.band = Some(self.start_band(tile.rows.clone())?);
        }
        self.gather(tile, values)?;
        // Blocks arrive columns left to right: the band's last tile completes it.
        if tile.cols.end == self.width() {
            self.flush_band()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.flush_band()?;
        self.out.flush().map_err(|e| self.error(e))?;
        match self.out.get_ref() {
            TextOut::File(file) => file.sync_data().map_err(|e| self.error(e)),
            TextOut::Stdout(_) => Ok(()),
        }
    }
}

/// The values of `row` in `O`, as one slice: the row itself when it is contiguous and of that
/// type, else a copy in `buf`.
fn contiguous<'a, T: Element, O: Element>(row: ArrayView1<'a, T>, buf: &'a mut Vec<O>) -> &'a [O] {
    match row.to_slice() {
        // The same type: the cast only changes the slice's name for it.
        Some(values) if T::DTYPE == O::DTYPE => bytemuck::cast_slice(values),
        _ => {
            buf.clear();
            buf.extend(row.iter().map(|&v| v.cast::<O>()));
            buf
        }
    }
}

/// Writes all of `buf` at `offset` without moving the file's cursor (positional writes let
/// tiles land in any order).
#[cfg(unix)]
fn write_all_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

/// Writes all of `buf` at `offset` (Windows: `seek_write` may write less than asked).
#[cfg(windows)]
fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_write(file, buf, offset) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Fills `buf` from `offset` without moving the file's cursor.
#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Fills `buf` from `offset` (Windows: `seek_read` may read less than asked).
#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of an `n × m` output cut into `tn × tm` tiles, in plan order, with values
    /// `i * 1000 + j` (condensed: only tiles reaching above the diagonal).
    fn tiles(n: usize, m: usize, tn: usize, tm: usize, condensed: bool) -> Vec<(Tile, Array2<f32>)> {
        let mut out = Vec::new();
        for r0 in (0..n).step_by(tn) {
            for c0 in (0..m).step_by(tm) {
                let tile = Tile { rows: r0..(r0 + tn).min(n), cols: c0..(c0 + tm).min(m) };
                if condensed && tile.cols.end <= tile.rows.start + 1 {
                    continue;
                }
                let values = Array2::from_shape_fn((tile.rows.len(), tile.cols.len()), |(r, c)| {
                    ((r0 + r) * 1000 + c0 + c) as f32
                });
                out.push((tile, values));
            }
        }
        out
    }

    /// The text a layout must give, written straight from the definition of the values.
    fn expected(n: usize, m: usize, condensed: bool, delimiter: char) -> String {
        let mut text = String::new();
        for i in 0..n {
            if condensed {
                for j in i + 1..n {
                    text += &format!("{}\n", (i * 1000 + j) as f32);
                }
            } else {
                let row: Vec<String> = (0..m).map(|j| format!("{}", (i * 1000 + j) as f32)).collect();
                text += &(row.join(&delimiter.to_string()) + "\n");
            }
        }
        text
    }

    fn write(layout: Layout, tile_shape: (usize, usize), band_limit: usize, delimiter: char) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let (n, m, condensed) = match layout {
            Layout::Matrix { n, m } => (n, m, false),
            Layout::Condensed { n } => (n, n, true),
        };
        let mut sink = TextFileSink::<f32>::new(File::create(&path).unwrap(), path.clone(), layout, delimiter);
        sink.band_limit = band_limit;
        for (tile, values) in tiles(n, m, tile_shape.0, tile_shape.1, condensed) {
            sink.accept(&tile, values.view()).unwrap();
            // A spilled band holds at most one piece of a row in memory.
            assert!(sink.band.as_ref().is_none_or(|b| b.memory.is_some() == (band_limit > 0)));
        }
        Sink::<f32>::finish(&mut sink).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.csv")], "the spill file has no name");
        std::fs::read_to_string(&path).unwrap()
    }

    #[test]
    fn text_in_memory_and_spilled_bands_is_the_same() {
        // Rows and columns longer than a chunk, uneven tiles, both layouts.
        let (n, m) = (7, 2 * TEXT_CHUNK + 5);
        for tiles in [(3, 1000), (7, m), (2, 7)] {
            for band_limit in [0, usize::MAX] {
                let got = write(Layout::Matrix { n, m }, tiles, band_limit, ',');
                assert!(got == expected(n, m, false, ','), "matrix, tiles {tiles:?}, band limit {band_limit}");
            }
        }
        let n = 40;
        for tiles in [(8, 8), (5, 13), (40, 40)] {
            for band_limit in [0, usize::MAX] {
                let got = write(Layout::Condensed { n }, tiles, band_limit, ' ');
                assert!(got == expected(n, n, true, ' '), "condensed, tiles {tiles:?}, band limit {band_limit}");
            }
        }
    }
}
