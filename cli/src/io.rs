//! Files in and out: `.npy` and NumPy-style text in (from a file or standard input), `.npy` or
//! text out (to a file or standard output), and atomic outputs (a temporary file in the same
//! folder, renamed at the end, removed on error; a device or FIFO is written into at the end).
//!
//! Inputs are read into memory, not memory-mapped. A mapped file that another process
//! truncates during a run kills the reader with SIGBUS at its next access, which no error
//! handling can catch. Reading costs one copy of the input, small next to the n × m output it
//! is for; in exchange a run computes from one consistent snapshot, and
//! [`Input::check_unchanged`] tells whether the file changed after it was read.

use std::fs::{File, Metadata};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ndarray::{Array2, ArrayView2, CowArray, Ix2, ShapeBuilder};
use ndarray_npy::npy::header::{Header, ReadHeaderError};

use pairdist::sink::{Layout, NpyFileSink, Sink, TextFileSink};
use pairdist::validate;
use pairdist::{Dtype, Element};
use pairdist::{Error, Result};

/// The name that stands for standard input (as an input) or standard output (as an output).
pub const STDIO: &str = "-";

/// Whether `path` is [`STDIO`], standard input or output.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == STDIO
}

/// How errors name standard input.
const STDIN_NAME: &str = "standard input";

/// NumPy's magic string, the first bytes of every `.npy` file.
const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The longest `.npy` header read, as NumPy's own reader allows by default; a header for a 2-D
/// array takes about 120 bytes.
const MAX_NPY_HEADER: usize = 10_000;

/// A 2-D input of points (one per row), held in memory as read: float32 or float64 (text is
/// read as float64, NumPy's `loadtxt` type, so that its decimals are never rounded twice).
pub struct Input {
    values: Values,
    /// Whether the values came from text, which has no type of its own.
    text: bool,
    /// The regular file the values came from and its stamp when read.
    source: Option<(PathBuf, Stamp)>,
}

/// An input's values, in the type the file held.
enum Values {
    F32(Array2<f32>),
    F64(Array2<f64>),
}

/// The values of an input as they were read, before any conversion.
#[derive(Clone, Copy, Debug)]
pub enum AsRead<'a> {
    /// A float32 file.
    F32(ArrayView2<'a, f32>),
    /// A float64 file, or text.
    F64(ArrayView2<'a, f64>),
}

impl Input {
    /// The values as read: float32 for float32 files, float64 for float64 files and text.
    pub fn as_read(&self) -> AsRead<'_> {
        match &self.values {
            Values::F32(a) => AsRead::F32(a.view()),
            Values::F64(a) => AsRead::F64(a.view()),
        }
    }

    /// The type a run computes in and writes by default: the file's, or float32 for text (which
    /// has no type of its own; float32 is the GPU's). `--dtype f64` then computes from the
    /// text's values as read, in f64.
    pub fn default_dtype(&self) -> Dtype {
        if self.text { Dtype::F32 } else { self.dtype() }
    }

    /// The type of the values as read (float64 for text).
    pub fn dtype(&self) -> Dtype {
        match &self.values {
            Values::F32(_) => Dtype::F32,
            Values::F64(_) => Dtype::F64,
        }
    }

    /// Points × dimensions.
    pub fn dim(&self) -> (usize, usize) {
        match &self.values {
            Values::F32(a) => a.dim(),
            Values::F64(a) => a.dim(),
        }
    }

    /// The values in `T`: a view of them when they were read as `T`, else a copy (exact from
    /// float32 to float64; rounded to nearest from float64 to float32).
    ///
    /// ```
    /// use pairdist::Dtype;
    /// use pairdist_cli::io::read_input;
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("x.csv");
    /// std::fs::write(&path, "0.5,1\n2,3\n")?;
    /// let input = read_input(&path)?; // text is read as float64, and runs in float32 by default
    /// assert_eq!((input.dtype(), input.default_dtype()), (Dtype::F64, Dtype::F32));
    /// assert_eq!(input.values::<f32>()[(0, 0)], 0.5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn values<T: Element>(&self) -> CowArray<'_, T, Ix2> {
        match &self.values {
            Values::F32(a) => same_or_cast(a),
            Values::F64(a) => same_or_cast(a),
        }
    }

    /// An error if the file this input was read from has changed since (size, modification
    /// time, or a different file under its name): results computed from the snapshot would
    /// no longer describe the file. Inputs from pipes and standard input have nothing to check.
    pub fn check_unchanged(&self) -> Result<()> {
        let Some((path, stamp)) = &self.source else { return Ok(()) };
        match std::fs::metadata(path) {
            Ok(now) if Stamp::of(&now) == *stamp => Ok(()),
            _ => Err(changed(path)),
        }
    }
}

/// What identifies a file's content cheaply: a change of any of these means it was rewritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    device: u64,
    inode: u64,
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        let (device, inode) = file_id(meta);
        Stamp { len: meta.len(), modified: meta.modified().ok(), device, inode }
    }
}

fn changed(path: &Path) -> Error {
    Error::bad_input(path, "changed during the run (its size or modification time differs from when it was read)")
}

/// Whether `a` and `b` name the same existing file, whatever the spelling, hard link or
/// symbolic link (same device and inode).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(ma), Ok(mb)) => file_id(&ma) == file_id(&mb),
        // Elsewhere: the same canonical path (hard links are not seen).
        #[cfg(not(unix))]
        (Ok(_), Ok(_)) => std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok(),
        _ => false,
    }
}

/// The (device, inode) pair that names a file on Unix; (0, 0) elsewhere.
fn file_id(meta: &Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0)
    }
}

/// The file formats pairdist reads and writes, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// NumPy's `.npy`.
    Npy,
    /// Text with values separated by this delimiter (read: commas or white space).
    Text(char),
    /// NumPy's `.npz`: several named arrays (written for k-nearest and radius answers).
    Npz,
}

impl Format {
    /// The format a path's extension names, if any.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "npy" => Some(Format::Npy),
            "npz" => Some(Format::Npz),
            "csv" => Some(Format::Text(',')),
            "tsv" => Some(Format::Text('\t')),
            "txt" | "dat" => Some(Format::Text(' ')),
            _ => None,
        }
    }
}

/// Reads a 2-D array of points (one per row) from `.npy` or text; `-` reads standard input.
///
/// A `.npy` file is recognised by NumPy's magic string, whatever its name; anything else is
/// read as text (a name ending in `.npy` without the magic string is an error). Float32 and
/// float64 `.npy` are read in either byte order, C or Fortran order, and kept as read
/// ([`Input::as_read`], [`Input::values`]); text is read as float64 ([`Input::default_dtype`]
/// says what a run computes in).
pub fn read_input(path: &Path) -> Result<Input> {
    if is_stdio(path) {
        return read_stream(Path::new(STDIN_NAME), io::stdin().lock(), None);
    }
    let read_error = |source| Error::ReadFile { path: path.into(), source };
    let file = File::open(path).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if meta.is_dir() {
        return Err(Error::bad_input(path, "is a directory"));
    }
    // Only a regular file has a size to check the data against, and a stamp that can change.
    let stamp = meta.is_file().then(|| Stamp::of(&meta));
    let mut input = read_stream(path, &file, stamp.map(|s| s.len))?;
    if let Some(stamp) = stamp {
        if Stamp::of(&file.metadata().map_err(read_error)?) != stamp {
            return Err(changed(path));
        }
        input.source = Some((path.to_path_buf(), stamp));
    }
    Ok(input)
}

/// Reads an input from `reader`; `size` is the file's length when it is a regular file.
fn read_stream(path: &Path, mut reader: impl Read, size: Option<u64>) -> Result<Input> {
    // Sniff the format from a buffer that stays in front of the stream: a pipe cannot be
    // rewound, so the bytes looked at must still be read as part of the input.
    let mut magic = [0u8; NPY_MAGIC.len()];
    let got = read_up_to(&mut reader, &mut magic).map_err(|source| Error::ReadFile { path: path.into(), source })?;
    let stream = BufReader::with_capacity(1 << 16, (&magic[..got]).chain(reader));
    if magic[..got] == NPY_MAGIC[..] {
        read_npy(path, stream, size)
    } else if Format::of(path) == Some(Format::Npy) {
        Err(Error::bad_input(path, "not a .npy file: it does not start with NumPy's magic string \\x93NUMPY"))
    } else {
        read_text(path, stream)
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// `a` as an array of `T`: a view when `A` is `T`, else a converted copy.
fn same_or_cast<A: Element, T: Element>(a: &Array2<A>) -> CowArray<'_, T, Ix2> {
    if A::DTYPE == T::DTYPE {
        // The same type under two names: view the same memory, with the same strides.
        let memory = a.as_slice_memory_order().expect("inputs are read into contiguous arrays");
        let strides = (a.strides()[0] as usize, a.strides()[1] as usize);
        let view = ArrayView2::from_shape(a.dim().strides(strides), bytemuck::cast_slice::<A, T>(memory))
            .expect("the same shape and strides over the same memory");
        CowArray::from(view)
    } else {
        CowArray::from(a.mapv(|v| v.cast::<T>()))
    }
}

/// A `.npy` element type pairdist reads.
trait NpyElement: Copy {
    const SIZE: usize;
    const NAME: &'static str;
    fn from_bytes(bytes: &[u8], big_endian: bool) -> Self;
}

impl NpyElement for f32 {
    const SIZE: usize = 4;
    const NAME: &'static str = "float32";
    fn from_bytes(bytes: &[u8], big_endian: bool) -> Self {
        let b = bytes.try_into().expect("4 bytes");
        if big_endian { f32::from_be_bytes(b) } else { f32::from_le_bytes(b) }
    }
}

impl NpyElement for f64 {
    const SIZE: usize = 8;
    const NAME: &'static str = "float64";
    fn from_bytes(bytes: &[u8], big_endian: bool) -> Self {
        let b = bytes.try_into().expect("8 bytes");
        if big_endian { f64::from_be_bytes(b) } else { f64::from_le_bytes(b) }
    }
}

/// What a `.npy` header says about the array that follows it.
struct NpyArray {
    rows: usize,
    cols: usize,
    fortran: bool,
    float64: bool,
    big_endian: bool,
    /// Bytes before the data: magic, version, header length and header.
    header_bytes: u64,
}

fn read_npy(path: &Path, mut reader: impl BufRead, size: Option<u64>) -> Result<Input> {
    let array = read_npy_header(path, &mut reader)?;
    let values = if array.float64 {
        Values::F64(read_npy_data::<f64>(path, &array, reader, size)?)
    } else {
        Values::F32(read_npy_data::<f32>(path, &array, reader, size)?)
    };
    Ok(Input { values, text: false, source: None })
}

/// Reads and checks the header: a 2-D float32 or float64 array.
fn read_npy_header(path: &Path, reader: &mut impl Read) -> Result<NpyArray> {
    let bad = |reason: String| Error::bad_input(path, reason);
    let truncated = || bad("truncated: the .npy header is incomplete".to_string());
    let mut bytes = vec![0u8; 8]; // magic, then the format version
    reader.read_exact(&mut bytes).map_err(|_| truncated())?;
    let (major, minor) = (bytes[6], bytes[7]);
    let length_bytes = match major {
        1 => 2,
        2 | 3 => 4,
        _ => return Err(bad(format!("unknown .npy format version {major}.{minor}"))),
    };
    let mut length = [0u8; 4];
    reader.read_exact(&mut length[..length_bytes]).map_err(|_| truncated())?;
    bytes.extend_from_slice(&length[..length_bytes]);
    let header_len = u32::from_le_bytes(length) as usize;
    if header_len > MAX_NPY_HEADER {
        return Err(bad(format!(
            "a .npy header of {header_len} bytes; a 2-D array needs about 120, and at most {MAX_NPY_HEADER} are read"
        )));
    }
    let before = bytes.len();
    reader.take(header_len as u64).read_to_end(&mut bytes).map_err(|_| truncated())?;
    if bytes.len() - before < header_len {
        return Err(truncated());
    }
    let header = Header::from_reader(&mut bytes.as_slice()).map_err(|e| bad(header_error(e)))?;
    let &[rows, cols] = header.shape.as_slice() else {
        return Err(bad(format!("expected a 2-D array (points x dimensions), got shape {:?}", header.shape)));
    };
    let descr = header.type_descriptor.to_string();
    let (float64, big_endian) = float_type(&descr).ok_or_else(|| {
        let name = dtype_name(&descr).map(|n| format!(" ({n})")).unwrap_or_default();
        bad(format!("unsupported dtype {descr}{name}; pairdist reads float32 and float64, in either byte order"))
    })?;
    Ok(NpyArray {
        rows,
        cols,
        fortran: header.layout.is_fortran(),
        float64,
        big_endian,
        header_bytes: bytes.len() as u64,
    })
}

/// The first line of a header parser's message: the rest quotes the header back.
fn header_error(e: ReadHeaderError) -> String {
    let text = e.to_string();
    format!("not a valid .npy file ({})", text.lines().next().unwrap_or_default())
}

/// (float64, big-endian) for the dtypes pairdist reads: `'<f4'`, `'>f8'`, `'=f4'`, `'f8'`.
fn float_type(descr: &str) -> Option<(bool, bool)> {
    let code = descr.strip_prefix('\'')?.strip_suffix('\'')?;
    let (order, kind) = match code.as_bytes().first()? {
        b'<' | b'=' | b'|' => ('<', &code[1..]),
        b'>' => ('>', &code[1..]),
        // No byte order: native, which is little-endian (src/sink/file.rs refuses to build otherwise).
        _ => ('<', code),
    };
    let float64 = match kind {
        "f4" => false,
        "f8" => true,
        _ => return None,
    };
    Some((float64, order == '>'))
}

/// NumPy's name for a simple dtype code, for messages: `'<f2'` is float16.
fn dtype_name(descr: &str) -> Option<String> {
    let code = descr.trim_matches('\'').trim_start_matches(['<', '>', '=', '|']);
    let (kind, size) = code.split_at(code.find(|c: char| c.is_ascii_digit())?);
    let bits = size.parse::<u32>().ok()?.checked_mul(8)?;
    let kind = match kind {
        "f" => "float",
        "i" => "int",
        "u" => "uint",
        "c" => "complex",
        "b" => return Some("bool".to_string()),
        _ => return None,
    };
    Some(format!("{kind}{bits}"))
}

/// Reads the data of a `.npy` array of `T`: checks the size first (against the file's length
/// and the memory available), then converts chunk by chunk from the file's byte order.
fn read_npy_data<T: NpyElement>(
    path: &Path,
    array: &NpyArray,
    mut reader: impl Read,
    size: Option<u64>,
) -> Result<Array2<T>> {
    let (rows, cols) = (array.rows, array.cols);
    let count = rows.checked_mul(cols);
    let bytes = count.and_then(|c| c.checked_mul(T::SIZE)).and_then(|b| u64::try_from(b).ok());
    let Some(bytes) = bytes else {
        return Err(Error::bad_input(path, format!("shape ({rows}, {cols}) has more values than can be counted")));
    };
    if let Some(size) = size {
        let data = size.saturating_sub(array.header_bytes);
        if data < bytes {
            return Err(Error::bad_input(path, format!("truncated: {} bytes of data missing", bytes - data)));
        }
        if data > bytes {
            return Err(Error::bad_input(path, format!("{} unexpected bytes after the data", data - bytes)));
        }
    }
    let count = count.expect("counted above");
    let what = format!("'{}' ({rows} x {cols} {})", path.display(), T::NAME);
    validate::fits_in_memory(&what, (count as u64).checked_mul(T::SIZE as u64))?;
    let mut values: Vec<T> = Vec::new();
    values.try_reserve_exact(count).map_err(|_| Error::TooLarge(format!("{what}: the memory cannot be allocated")))?;

    let mut chunk = vec![0u8; (1 << 20) / T::SIZE * T::SIZE];
    let mut left = bytes;
    while left > 0 {
        let want = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let got = read_up_to(&mut reader, &mut chunk[..want])
            .map_err(|source| Error::ReadFile { path: path.into(), source })?;
        values.extend(chunk[..got - got % T::SIZE].chunks_exact(T::SIZE).map(|b| T::from_bytes(b, array.big_endian)));
        left -= got as u64;
        if got < want {
            return Err(Error::bad_input(path, format!("truncated: {left} bytes of data missing")));
        }
    }
    // Standard input has no size to check beforehand: anything after the data is an error too.
    let extra =
        io::copy(&mut reader, &mut io::sink()).map_err(|source| Error::ReadFile { path: path.into(), source })?;
    if extra > 0 {
        return Err(Error::bad_input(path, format!("{extra} unexpected bytes after the data")));
    }
    let shape = if array.fortran { (rows, cols).f() } else { (rows, cols).into_shape_with_order() };
    Array2::from_shape_vec(shape, values).map_err(|e| Error::Internal(format!("npy shape: {e}")))
}

/// Reads NumPy `loadtxt`-style text: one point per line, values separated by commas or white
/// space, `#` starting a comment, blank lines skipped.
fn read_text(path: &Path, mut reader: impl BufRead) -> Result<Input> {
    let mut values: Vec<f64> = Vec::new();
    let mut width: Option<(usize, usize)> = None; // (columns, first line)
    let mut rows = 0;
    let mut line = String::new();
    for lineno in 1.. {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(Error::bad_input(path, format!("line {lineno} is not text (not valid UTF-8)")));
            }
            Err(source) => return Err(Error::ReadFile { path: path.into(), source }),
        }
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let before = values.len();
        let tokens: Box<dyn Iterator<Item = &str>> = if content.contains(',') {
            Box::new(content.split(',').map(str::trim))
        } else {
            Box::new(content.split_whitespace())
        };
        for tok in tokens {
            let v: f64 =
                tok.parse().map_err(|_| Error::bad_input(path, format!("line {lineno}: '{tok}' is not a number")))?;
            // Grows like push, but a failed allocation is an error, not an abort.
            values
                .try_reserve(1)
                .map_err(|_| Error::TooLarge(format!("'{}': more values than memory can hold", path.display())))?;
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
    let values = Array2::from_shape_vec((rows, cols), values).expect("rows x cols values");
    Ok(Input { values: Values::F64(values), text: true, source: None })
}

/// An output written atomically: everything goes to a temporary file beside it, which is
/// renamed to the final name only by [`OutputFile::commit`]. Dropped uncommitted (on error or
/// interruption) the temporary file is removed, so nothing is ever left under the output's
/// name. `-` is standard output, written as text as the blocks arrive (no atomicity there:
/// a failed run has written part of the text, and exits with an error).
///
/// An output that already exists and is no regular file (a character or block device such as
/// `/dev/null` or `/dev/full`, a FIFO, or a link to one) is written *into*, never renamed over:
/// the run writes an unnamed temporary file in the temporary folder (`$TMPDIR`; the device's
/// own folder may be read-only or in memory), which [`OutputFile::commit`] copies into the
/// special file. So such an output, too, receives nothing from a failed run, and a full device
/// is an error naming it. A special file's name needs no extension: without one it is written
/// as text, as standard output is.
pub struct OutputFile {
    path: PathBuf,
    format: Format,
    target: Target,
}

/// Where an output's bytes go until, and when, it is committed.
enum Target {
    /// Standard output, written as the run goes.
    Stdout,
    /// A temporary file beside the output, renamed to its name at the end.
    Renamed(tempfile::NamedTempFile),
    /// An existing special file, written into at the end from an unnamed temporary file.
    Special {
        temp: File,
        /// The special file, when it could be opened before the run (a FIFO with no reader yet
        /// is opened at the end, waiting for one as a shell's redirection does).
        file: Option<File>,
    },
}

/// Whether `path` exists and is something other than a regular file or a folder (following
/// links): written into, not replaced.
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

impl OutputFile {
    /// Checks the output can be written and opens its temporary file, before any work starts.
    pub fn create(path: &Path) -> Result<OutputFile> {
        if is_stdio(path) {
            return Ok(OutputFile { path: path.to_path_buf(), format: Format::Text(' '), target: Target::Stdout });
        }
        let special = is_special(path);
        let format = match Format::of(path) {
            Some(format) => format,
            // `-o /dev/null`: as standard output would be.
            None if special => Format::Text(' '),
            None => {
                return Err(Error::write(
                    path,
                    "unknown output format; use a name ending in .npy, .npz, .txt, .csv or .tsv, or - for standard output",
                ));
            }
        };
        if path.is_dir() {
            return Err(Error::write(path, "is a directory"));
        }
        if special {
            let file = open_special(path)?;
            let temp = tempfile::tempfile().map_err(|e| {
                Error::write(path, format!("cannot create a temporary file in {}: {e}", std::env::temp_dir().display()))
            })?;
            return Ok(OutputFile { path: path.to_path_buf(), format, target: Target::Special { temp, file } });
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // A short name of its own, not derived from the output's: any name the file system
        // takes for the output (up to 255 bytes) must leave room for the temporary one.
        let mut builder = tempfile::Builder::new();
        builder.prefix(".pd-").suffix(".partial");
        // Like any new file (the umask applies), not tempfile's private 0600.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder.tempfile_in(&dir).map_err(|e| Error::write_io(path, &e))?;
        Ok(OutputFile { path: path.to_path_buf(), format, target: Target::Renamed(temp) })
    }

    /// The final path (`-` for standard output).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The output's name for messages: its path, or "standard output".
    pub fn name(&self) -> String {
        match self.target {
            Target::Stdout => "standard output".to_string(),
            _ => self.path.display().to_string(),
        }
    }

    /// A sink writing `layout` into the temporary file (or standard output) in this output's
    /// format, float32 from float32 tiles.
    pub fn sink(&self, layout: Layout) -> Result<Box<dyn Sink + 'static>> {
        self.sink_for::<f32>(layout, Dtype::F32)
    }

    /// A sink taking tiles of `T` and writing `layout` in `dtype` (each value rounded once
    /// when `dtype` is narrower) into the temporary file (or standard output) in this output's
    /// format.
    pub fn sink_for<T: Element>(&self, layout: Layout, dtype: Dtype) -> Result<Box<dyn Sink<T> + 'static>> {
        match dtype {
            Dtype::F32 => self.sink_of::<T, f32>(layout),
            Dtype::F64 => self.sink_of::<T, f64>(layout),
        }
    }

    fn sink_of<T: Element, O: Element>(&self, layout: Layout) -> Result<Box<dyn Sink<T> + 'static>> {
        let Some(file) = self.file()? else {
            let Format::Text(delimiter) = self.format else { unreachable!("standard output is text") };
            return Ok(Box::new(TextFileSink::<O>::stdout(layout, delimiter)));
        };
        Ok(match self.format {
            Format::Npy => Box::new(NpyFileSink::<O>::new(file, self.path.clone(), layout)?),
            Format::Text(delimiter) => Box::new(TextFileSink::<O>::new(file, self.path.clone(), layout, delimiter)),
            Format::Npz => {
                return Err(Error::write(
                    &self.path,
                    "a distance matrix is written as .npy or text; .npz holds k-nearest and radius answers",
                ));
            }
        })
    }

    /// The output's format (text for standard output).
    pub fn format(&self) -> Format {
        self.format
    }

    /// A handle on the temporary file, for outputs written whole rather than through a sink
    /// (`.npz`, answers as text lines); `None` for standard output. Its cursor is at the start.
    pub fn file(&self) -> Result<Option<File>> {
        let error = |e: io::Error| Error::write_io(&self.path, &e);
        match &self.target {
            Target::Stdout => Ok(None),
            Target::Renamed(temp) => temp.reopen().map(Some).map_err(error),
            Target::Special { temp, .. } => {
                // An unnamed file cannot be reopened: a clone shares its cursor, so rewind it.
                let mut clone = temp.try_clone().map_err(error)?;
                clone.seek(SeekFrom::Start(0)).map_err(error)?;
                Ok(Some(clone))
            }
        }
    }

    /// Renames the finished temporary file to the final name, or copies it into the special
    /// file the output is.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        match self.target {
            Target::Stdout => Ok(()),
            Target::Renamed(temp) => temp.persist(&path).map(drop).map_err(|e| Error::write_io(&path, &e.error)),
            Target::Special { mut temp, file } => {
                let error = |e: io::Error| Error::write_io(&path, &e);
                let mut file = match file {
                    Some(file) => file,
                    None => std::fs::OpenOptions::new().write(true).open(&path).map_err(error)?,
                };
                temp.seek(SeekFrom::Start(0)).map_err(error)?;
                copy_all(&mut temp, &mut file).map_err(error)
            }
        }
    }
}

/// Opens an existing special file for writing without waiting: `None` for a FIFO that no
/// reader has opened yet (opened, waiting, at the end), an error for anything else that fails
/// (no permission, a socket).
fn open_special(path: &Path) -> Result<Option<File>> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    match options.open(path) {
        Ok(file) => {
            #[cfg(unix)]
            blocking(&file).map_err(|e| Error::write_io(path, &e))?;
            Ok(Some(file))
        }
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) && is_fifo(path) => Ok(None),
        Err(e) => Err(Error::write_io(path, &e)),
    }
}

/// Whether `path` is a FIFO (following links).
#[cfg(unix)]
fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// Clears `O_NONBLOCK` on `file`: writes then wait for a slow reader instead of failing.
#[cfg(unix)]
fn blocking(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a file descriptor this `File` owns, with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Copies all of `from` into `to` through a buffer with plain reads and writes (a device or a
/// FIFO need not take the kernel's file-to-file copies), failing on the first short write.
fn copy_all(from: &mut File, to: &mut File) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let got = match from.read(&mut buf) {
            Ok(0) => return to.flush(),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..got])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtypes() {
        assert_eq!(float_type("'<f4'"), Some((false, false)));
        assert_eq!(float_type("'>f8'"), Some((true, true)));
        assert_eq!(float_type("'f8'"), Some((true, false)));
        assert_eq!(float_type("'<f2'"), None);
        assert_eq!(float_type("[('a', '<f4')]"), None);
        assert_eq!(dtype_name("'<f2'").as_deref(), Some("float16"));
        assert_eq!(dtype_name("'>i8'").as_deref(), Some("int64"));
        assert_eq!(dtype_name("'|b1'").as_deref(), Some("bool"));
        assert_eq!(dtype_name("'<U5'"), None);
    }
}
