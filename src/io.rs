//! Files in and out: `.npy` (memory-mapped) and NumPy-style text in, `.npy` or text out, and
//! atomic outputs (a temporary file in the same folder, renamed at the end, removed on error).

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use ndarray::{Array2, ArrayView2, ShapeBuilder};
use ndarray_npy::npy::header::Header;
use ndarray_npy::{ViewNpyError, ViewNpyExt, WritableElement};

use crate::error::{Error, Result};
use crate::sink::{Layout, NpyFileSink, Sink, TextFileSink};

/// A 2-D f32 input: a memory map of an f32 `.npy` file (no copy), or values read into memory.
pub enum Input {
    /// A memory-mapped f32 `.npy` file (C or Fortran order).
    Mapped {
        /// The map.
        map: Mmap,
        /// Rows, columns.
        shape: (usize, usize),
        /// Whether the file is in Fortran (column-major) order.
        fortran: bool,
        /// Byte offset of the data in the map.
        offset: usize,
    },
    /// Values held in memory (text files, and f64 `.npy` converted to f32).
    Owned(Array2<f32>),
}

impl Input {
    /// The values as an `n × d` view.
    pub fn view(&self) -> ArrayView2<'_, f32> {
        match self {
            Input::Owned(a) => a.view(),
            Input::Mapped { map, shape, fortran, offset } => {
                let data: &[f32] = bytemuck::cast_slice(&map[*offset..*offset + shape.0 * shape.1 * 4]);
                let shape = if *fortran { shape.f() } else { (*shape).into_shape_with_order() };
                ArrayView2::from_shape(shape, data).expect("checked when opened")
            }
        }
    }
}

/// The file formats pairdist reads and writes, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// NumPy's `.npy`.
    Npy,
    /// Text with values separated by this delimiter (read: commas or white space).
    Text(char),
}

impl Format {
    /// The format a path's extension names, if any.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "npy" => Some(Format::Npy),
            "csv" => Some(Format::Text(',')),
            "tsv" => Some(Format::Text('\t')),
            "txt" | "dat" => Some(Format::Text(' ')),
            _ => None,
        }
    }
}

/// Reads a 2-D array of points (one per row) from `.npy` or text.
///
/// Files without a known extension are read as `.npy` if they start with NumPy's magic
/// string, else as text.
pub fn read_input(path: &Path) -> Result<Input> {
    let file = File::open(path).map_err(|source| Error::ReadFile { path: path.into(), source })?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::bad_input(path, "is a directory"));
    }
    let npy = match Format::of(path) {
        Some(Format::Npy) => true,
        Some(Format::Text(_)) => false,
        None => {
            let mut magic = [0u8; 6];
            use std::io::Read;
            let n = (&file).read(&mut magic).unwrap_or(0);
            n == 6 && &magic == b"\x93NUMPY"
        }
    };
    if npy { read_npy(path, &file) } else { read_text(path) }
}

fn read_npy(path: &Path, file: &File) -> Result<Input> {
    let bad = |reason: String| Error::bad_input(path, reason);
    let header = Header::from_reader(&mut &*file).map_err(|e| bad(format!("not a valid .npy file ({e})")))?;
    if header.shape.len() != 2 {
        return Err(bad(format!(
            "expected a 2-D array (points x dimensions), got shape {:?}",
            header.shape
        )));
    }
    // SAFETY: the map is read-only; pairdist does not write the input, and a file changed by
    // another process during the run is the same hazard as with any reader.
    let map = unsafe { Mmap::map(file) }.map_err(|source| Error::ReadFile { path: path.into(), source })?;
    let explain = |e: ViewNpyError| match e {
        ViewNpyError::MissingBytes(n) => format!("truncated: {n} bytes of data missing"),
        ViewNpyError::ExtraBytes(n) => format!("{n} unexpected bytes after the data"),
        ViewNpyError::NonNativeEndian => "big-endian data is not supported".to_string(),
        other => format!("cannot read the data ({other})"),
    };
    let descriptor = header.type_descriptor.clone();
    if descriptor == <f32 as WritableElement>::type_descriptor() {
        let view = ArrayView2::<f32>::view_npy(&map).map_err(|e| bad(explain(e)))?;
        let shape = view.dim();
        let offset = view.as_ptr() as usize - map.as_ptr() as usize;
        let fortran = header.layout.is_fortran();
        return Ok(Input::Mapped { map, shape, fortran, offset });
    }
    if descriptor == <f64 as WritableElement>::type_descriptor() {
        let view = ArrayView2::<f64>::view_npy(&map).map_err(|e| bad(explain(e)))?;
        log::info!("{}: converting float64 to float32", path.display());
        return Ok(Input::Owned(view.mapv(|v| v as f32)));
    }
    Err(bad(format!("unsupported dtype {descriptor}; pairdist reads float32 and float64")))
}

/// Reads NumPy `loadtxt`-style text: one point per line, values separated by commas or white
/// space, `#` starting a comment, blank lines skipped.
fn read_text(path: &Path) -> Result<Input> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile { path: path.into(), source })?;
    let mut values = Vec::new();
    let mut width: Option<(usize, usize)> = None; // (columns, first line)
    let mut rows = 0;
    for (lineno, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let before = values.len();
        let tokens: Box<dyn Iterator<Item = &str>> = if line.contains(',') {
            Box::new(line.split(',').map(str::trim))
        } else {
            Box::new(line.split_whitespace())
        };
        for tok in tokens {
            let v: f32 = tok.parse().map_err(|_| {
                Error::bad_input(path, format!("line {lineno}: '{tok}' is not a number"))
            })?;
            values.push(v);
        }
        let count = values.len() - before;
        match width {
            None => width = Some((count, lineno)),
            Some((w, first)) if w != count => {
                return Err(Error::bad_input(
                    path,
                    format!("line {lineno} has {count} values, but line {first} has {w} (ragged rows)"),
                ));
            }
            Some(_) => {}
        }
        rows += 1;
    }
    let cols = width.map_or(0, |(w, _)| w);
    Ok(Input::Owned(Array2::from_shape_vec((rows, cols), values).expect("rows x cols values")))
}

/// An output file written atomically: everything goes to a temporary file beside it, which is
/// renamed to the final name only by [`OutputFile::commit`]. Dropped uncommitted (on error or
/// interruption) the temporary file is removed, so nothing is ever left under the output's name.
pub struct OutputFile {
    path: PathBuf,
    format: Format,
    temp: tempfile::NamedTempFile,
}

impl OutputFile {
    /// Checks the output can be written and opens its temporary file, before any work starts.
    pub fn create(path: &Path) -> Result<OutputFile> {
        let format = Format::of(path).ok_or_else(|| {
            Error::write(path, "unknown output format; use a name ending in .npy, .txt, .csv or .tsv")
        })?;
        if path.is_dir() {
            return Err(Error::write(path, "is a directory"));
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(|e| Error::write(path, e))?;
        Ok(OutputFile { path: path.to_path_buf(), format, temp })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A sink writing `layout` into the temporary file in this output's format.
    pub fn sink(&self, layout: Layout) -> Result<Box<dyn Sink>> {
        let file = self.temp.reopen().map_err(|e| Error::write(&self.path, e))?;
        Ok(match self.format {
            Format::Npy => Box::new(NpyFileSink::new(file, self.path.clone(), layout)?),
            Format::Text(delimiter) => Box::new(TextFileSink::new(file, self.path.clone(), layout, delimiter)),
        })
    }

    /// Renames the finished temporary file to the final name.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        self.temp.persist(&path).map_err(|e| Error::write(&path, e.error))?;
        Ok(())
    }
}
