//! The `pairdist` binary against the defects of issue 7, "never silently wrong, never a crash":
//! float64 inputs and `--check`, bounded memory for text output, inputs that change during a
//! run, failed writes to stdout and stderr, sizes that cannot fit, long output names, standard
//! input and output, `.npy` detection and byte order, one-line messages, how much `--check`
//! samples, and an output that is one of the inputs.
//!
//! Every expected number is computed in f64 by the tests' own oracle (tests/support), never by
//! pairdist.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ndarray::{Array1, Array2};
use ndarray_npy::{read_npy, write_npy};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tempfile::TempDir;

fn pairdist() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pairdist"));
    // Mesa's display probing wants this; it is not what these tests look at.
    cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir()).env_remove("RUST_LOG");
    cmd
}

/// What a finished run left: exit code (None when killed by a signal), stdout and stderr.
struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn of(out: Output) -> Run {
        Run { code: out.status.code(), stdout: out.stdout, stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
    }
}

/// Runs `pairdist args` with `stdin` (empty when None) and captured stdout and stderr.
fn run_with(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = pairdist()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pairdist starts");
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.unwrap_or_default().to_vec();
    // A writer thread: pairdist may write its output before it has read all of its input.
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let out = child.wait_with_output().expect("pairdist runs");
    feeder.join().unwrap();
    Run::of(out)
}

fn run(args: &[&str]) -> Run {
    run_with(args, None)
}

/// Asserts the run succeeded without a panic.
fn assert_ok(what: &str, r: &Run) {
    assert!(!r.stderr.contains("panicked"), "{what}: panicked:\n{}", r.stderr);
    assert_eq!(r.code, Some(0), "{what}: failed:\n{}", r.stderr);
}

/// Asserts the run failed with exit status 1, without a panic, with exactly one line on
/// stderr that says `pairdist: error: ` and contains every string of `expect`, and returns it.
fn assert_one_error<'a>(what: &str, r: &'a Run, expect: &[&str]) -> &'a str {
    assert!(!r.stderr.contains("panicked"), "{what}: panicked:\n{}", r.stderr);
    assert_eq!(r.code, Some(1), "{what}: exit status {:?}, stderr:\n{}", r.code, r.stderr);
    let errors: Vec<&str> = r.stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{what}: expected one error line, stderr:\n{}", r.stderr);
    let line = errors[0];
    assert!(line.starts_with("pairdist: error: "), "{what}: not the usual form: {line}");
    for want in expect {
        assert!(line.contains(want), "{what}: the error does not mention {want:?}: {line}");
    }
    line
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Files in `dir` that are neither inputs nor expected outputs: temporary outputs.
fn partials(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().ends_with(".partial"))
        .collect()
}

/// Asserts a failed run left neither `output` nor a temporary file beside it.
fn assert_nothing_written(what: &str, output: &Path) {
    assert!(!output.exists(), "{what}: left {}", output.display());
    let left = partials(output.parent().unwrap());
    assert!(left.is_empty(), "{what}: left temporary files {left:?}");
}

// ---------------------------------------------------------------------------------------------
// The f64 oracle (tests/support's, by name).

fn distance(metric: &str, a: &[f64], b: &[f64]) -> f64 {
    crate::support::oracle64(a, b, metric.parse().expect("a metric name"))
}

fn rows(x: &Array2<f64>) -> Vec<Vec<f64>> {
    x.rows().into_iter().map(|r| r.to_vec()).collect()
}

fn cdist_ref(metric: &str, xa: &Array2<f64>, xb: &Array2<f64>) -> Array2<f64> {
    let (a, b) = (rows(xa), rows(xb));
    Array2::from_shape_fn((a.len(), b.len()), |(i, j)| distance(metric, &a[i], &b[j]))
}

fn pdist_ref(metric: &str, x: &Array2<f64>) -> Vec<f64> {
    let a = rows(x);
    (0..a.len())
        .flat_map(|i| (i + 1..a.len()).map(move |j| (i, j)))
        .map(|(i, j)| distance(metric, &a[i], &a[j]))
        .collect()
}

/// f32 (or f64) results against f64 expectations: relative 1e-5 plus `abs`.
fn assert_close<T: Copy + Into<f64> + std::fmt::Display>(what: &str, got: &[T], want: &[f64], abs: f64) {
    assert_eq!(got.len(), want.len(), "{what}: {} values, expected {}", got.len(), want.len());
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tol = 1e-5 * w.abs() + abs;
        assert!((g.into() - w).abs() <= tol, "{what}: index {k}: got {g}, expected {w} (tolerance {tol:e})");
    }
}

/// Seeded points in [lo, hi), in f64.
fn points(seed: u64, n: usize, d: usize, lo: f64, hi: f64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n, d), || rng.random_range(lo..hi))
}

/// Points exactly representable in f32 (so f32 and f64 files hold the same values).
fn points32(seed: u64, n: usize, d: usize) -> Array2<f64> {
    points(seed, n, d, -1.0, 1.0).mapv(|v| f64::from(v as f32))
}

fn write_f32(path: &Path, x: &Array2<f64>) {
    write_npy(path, &x.mapv(|v| v as f32)).unwrap();
}

/// Text with one row per line, values separated by `sep`.
fn text_of(x: &Array2<f64>, sep: &str) -> String {
    x.rows().into_iter().map(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(sep) + "\n").collect()
}

/// Parses text output (one row per line, values separated by commas or white space).
fn parse_text(text: &str) -> Vec<Vec<f32>> {
    text.lines()
        .map(|l| l.split([',', ' ', '\t']).filter(|t| !t.is_empty()).map(|t| t.parse().unwrap()).collect())
        .collect()
}

/// A `.npy` file written byte by byte (format 1.0), so dtypes and byte orders that the
/// writer crate does not produce can be tested: `descr` such as `>f4`, `data` already encoded.
fn npy_bytes(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape = match shape {
        [n] => format!("({n},)"),
        dims => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let fortran = if fortran { "True" } else { "False" };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + dict + newline, padded to a multiple of 64.
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((dict.len() as u16).to_le_bytes());
    out.extend(dict.as_bytes());
    out.extend(data);
    out
}

/// The values of `x` in C or Fortran order.
fn values_in_order(x: &Array2<f64>, fortran: bool) -> Vec<f64> {
    if fortran { x.t().iter().copied().collect() } else { x.iter().copied().collect() }
}

// ---------------------------------------------------------------------------------------------
// 4. float64 inputs: computed in f64 (nothing rounded, nothing to warn about), and --check
// holds the results to the f64 bound, from the values as read.

/// Points near 1e4 that differ by less than 1: rounding them to f32 (a spacing of about 1e-3
/// there) would move their distances by far more than 1e-5 relative.
fn offset_points() -> Array2<f64> {
    points(44, 2225, 2, 0.0, 1.0).mapv(|v| 1e4 + v)
}

/// Asserts every `got` is within 1e-12 relative of `want`.
fn assert_within_1e_12(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-12 * w.abs(), "{what}: index {k}: got {g:e}, expected {w:e}");
    }
}

#[test]
fn float64_input_is_computed_in_f64_and_checked_to_the_f64_bound() {
    let dir = TempDir::new().unwrap();
    let x = offset_points();
    // The premise, checked here in f64: rounding the input would move some distances by > 1e-5.
    let x32 = x.mapv(|v| f64::from(v as f32));
    let (exact, rounded) = (pdist_ref("euclidean", &x), pdist_ref("euclidean", &x32));
    let moved = exact.iter().zip(&rounded).filter(|(e, r)| (*e - *r).abs() > 1e-5 * e.abs()).count();
    assert!(moved > exact.len() / 2, "test data: only {moved} distances moved by rounding");

    let input = dir.path().join("offset.npy");
    write_npy(&input, &x).unwrap();
    for backend in ["cpu", "gpu"] {
        let out = dir.path().join(format!("p-{backend}.npy"));
        let r = run(&["pdist", s(&input), "-o", s(&out), "--check", "-q", "--backend", backend]);
        assert_ok(&format!("--check on {backend}"), &r);
        // Under -q only warnings and errors are logged: none is due.
        assert!(!r.stderr.contains("WARN"), "{backend}: {}", r.stderr);
        let check = r.stderr.lines().find(|l| l.starts_with("check:")).unwrap_or_else(|| panic!("{}", r.stderr));
        assert!(check.contains("within tolerance") && check.contains("float64"), "{check}");
        let got: Array1<f64> = read_npy(&out).unwrap();
        assert_within_1e_12(&format!("pdist on {backend}"), got.as_slice().unwrap(), &exact);
        // The same data as float32 is computed as read, in f32: the check passes too.
        let input32 = dir.path().join("offset32.npy");
        write_f32(&input32, &x);
        let r = run(&["pdist", s(&input32), "-o", s(&out), "--check", "-q", "--backend", backend]);
        assert_ok(&format!("--check of float32 input on {backend}"), &r);
        let got: Array1<f32> = read_npy(&out).unwrap();
        assert_close(&format!("float32 pdist on {backend}"), got.as_slice().unwrap(), &rounded, 1e-6);
    }
}

#[test]
fn float64_input_passes_the_check_in_either_output_dtype() {
    let dir = TempDir::new().unwrap();
    let x = points(45, 60, 8, -1.0, 1.0);
    let input = dir.path().join("x64.npy");
    write_npy(&input, &x).unwrap();
    let want = pdist_ref("euclidean", &x);
    for dtype in ["f64", "f32"] {
        let out = dir.path().join(format!("p-{dtype}.npy"));
        let r = run(&["pdist", s(&input), "-o", s(&out), "--check", "-q", "--backend", "cpu", "--dtype", dtype]);
        assert_ok("--check", &r);
        assert!(r.stderr.lines().any(|l| l.starts_with("check:") && l.contains("within tolerance")), "{}", r.stderr);
        if dtype == "f64" {
            let got: Array1<f64> = read_npy(&out).unwrap();
            assert_within_1e_12("pdist of float64 input", got.as_slice().unwrap(), &want);
        } else {
            let got: Array1<f32> = read_npy(&out).unwrap();
            // f64 results rounded once to f32: within half an f32 ulp.
            assert_close("pdist of float64 input as f32", got.as_slice().unwrap(), &want, 1e-7);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Text output streams: a band of rows that would not fit the memory limit is not held.

#[test]
fn text_output_of_a_wide_band_stays_within_a_memory_limit() {
    let dir = TempDir::new().unwrap();
    // d = 0: every distance is 0, so the inputs are tiny and the output is "0,0,...,0".
    // One band is 64 x 2^20 f32 = 256 MiB, as much as the whole address-space limit below.
    let (n, m) = (64usize, 1usize << 20);
    write_npy(dir.path().join("a.npy"), &Array2::<f32>::zeros((n, 0))).unwrap();
    write_npy(dir.path().join("b.npy"), &Array2::<f32>::zeros((m, 0))).unwrap();
    let out = dir.path().join("d.csv");
    // The limit is on address space, which thread stacks and malloc arenas reserve too: two
    // threads and two arenas keep that small on machines with many cores.
    let o = Command::new("sh")
        .args(["-c", "ulimit -v 262144 && exec \"$@\"", "sh", env!("CARGO_BIN_EXE_pairdist")])
        .args(["cdist", "a.npy", "b.npy", "-o", "d.csv", "--backend", "cpu", "-q"])
        .env("RAYON_NUM_THREADS", "2")
        .env("MALLOC_ARENA_MAX", "2")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let r = Run::of(o);
    assert_ok("cdist to text under ulimit -v 256 MiB", &r);
    let text = std::fs::read(&out).unwrap();
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), n + 1, "{} lines", lines.len() - 1);
    assert!(lines[n].is_empty(), "the last line is not ended");
    for (i, line) in lines[..n].iter().enumerate() {
        assert_eq!(line.len(), 2 * m - 1, "line {i}: {} bytes", line.len());
        assert!(line.iter().enumerate().all(|(k, &b)| b == if k % 2 == 0 { b'0' } else { b',' }), "line {i}");
    }
}

// ---------------------------------------------------------------------------------------------
// 7. An input changed during a run: one error, never SIGBUS.

#[test]
fn input_truncated_during_the_run_is_an_error() {
    let dir = TempDir::new().unwrap();
    let xa = dir.path().join("xa.npy");
    write_f32(&xa, &points32(70, 600, 8));
    // XB comes through a FIFO, which pairdist opens after reading XA: while it waits for XB,
    // XA is cut to nothing, with no timing involved.
    let xb = dir.path().join("xb.csv");
    assert!(Command::new("mkfifo").arg(&xb).status().unwrap().success());
    let out = dir.path().join("d.npy");
    // `timeout` only guards against a hang (0.1 opened the FIFO twice and waited forever).
    let child = Command::new("timeout")
        .args(["120", env!("CARGO_BIN_EXE_pairdist")])
        .args(["cdist", s(&xa), s(&xb), "-o", s(&out), "--backend", "cpu", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut fifo = File::options().write(true).open(&xb).unwrap(); // waits for pairdist to open it
    File::options().write(true).open(&xa).unwrap().set_len(0).unwrap();
    fifo.write_all(text_of(&points32(71, 5, 8), ",").as_bytes()).unwrap();
    drop(fifo);
    let r = Run::of(child.wait_with_output().unwrap());
    assert_one_error("XA truncated during the run", &r, &[s(&xa), "changed"]);
    assert_nothing_written("XA truncated", &out);
}

// ---------------------------------------------------------------------------------------------
// 8. Writes to a full device or a closed pipe: an error or a quiet end, never a panic.

fn dev_full() -> Stdio {
    Stdio::from(File::options().write(true).open("/dev/full").unwrap())
}

/// A pipe whose reading end is already closed: every write fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

#[test]
fn stdout_on_a_full_device_is_an_error() {
    for args in [&["info"][..], &["demo", "--backend", "cpu", "--n", "64", "--m", "64", "--d", "4"]] {
        let r = Run::of(pairdist().args(args).stdout(dev_full()).stderr(Stdio::piped()).output().unwrap());
        assert_one_error(&format!("{args:?} >/dev/full"), &r, &["standard output", "No space left"]);
    }
    let dir = TempDir::new().unwrap();
    let x = dir.path().join("x.csv");
    std::fs::write(&x, "1,2\n3,4\n").unwrap();
    let args = ["cdist", s(&x), "-o", "-", "--backend", "cpu", "-q"];
    let r = Run::of(pairdist().args(args).stdout(dev_full()).stderr(Stdio::piped()).output().unwrap());
    assert_one_error("cdist -o - >/dev/full", &r, &["standard output", "No space left"]);
}

#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    let dir = TempDir::new().unwrap();
    let x = dir.path().join("x.csv");
    std::fs::write(&x, text_of(&points32(80, 300, 3), ",")).unwrap();
    for args in [
        &["info"][..],
        &["demo", "--backend", "cpu", "--n", "256", "--m", "256", "--d", "8"],
        &["cdist", s(&x), "-o", "-", "--backend", "cpu", "-q"],
    ] {
        let r = Run::of(pairdist().args(args).current_dir(dir.path()).stdout(closed_pipe()).output().unwrap());
        assert!(!r.stderr.contains("panicked"), "{args:?} | (closed): panicked:\n{}", r.stderr);
        assert_eq!(r.code, Some(0), "{args:?} | (closed): exit status {:?}:\n{}", r.code, r.stderr);
        assert!(!r.stderr.contains("error"), "{args:?} | (closed): {}", r.stderr);
    }
    assert!(partials(dir.path()).is_empty());
}

#[test]
fn stderr_on_a_full_device_or_closed_pipe_still_gives_the_exit_status() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("missing.npy");
    let out = dir.path().join("out.npy");
    for (name, stderr) in [("full", dev_full as fn() -> Stdio), ("closed pipe", closed_pipe)] {
        let o = pairdist().args(["cdist", s(&missing), "-o", s(&out)]).stderr(stderr()).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "input error with stderr on a {name}: {:?}", o.status);
        // A good run logs to stderr too: that must not fail it.
        let x = dir.path().join("x.csv");
        std::fs::write(&x, "1,2\n3,4\n").unwrap();
        let o = pairdist().args(["cdist", s(&x), "-o", s(&out), "--backend", "cpu"]).stderr(stderr()).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "good run with stderr on a {name}: {:?}", o.status);
        let o = pairdist().args(["info"]).stdout(dev_full()).stderr(stderr()).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "info with stdout and stderr on a {name}: {:?}", o.status);
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Sizes that cannot fit: one line, before any allocation.

#[test]
fn demo_sizes_that_cannot_fit_are_an_error() {
    let huge = ["--n", "1000000000", "--m", "1000000000"];
    let wide = ["--n", "4", "--m", "4", "--d", "1000000000000"];
    let overflow = ["--n", "18446744073709551615", "--m", "3", "--d", "1"];
    for sizes in [&huge[..], &wide, &overflow] {
        let args: Vec<&str> = ["demo", "--backend", "cpu"].iter().chain(sizes).copied().collect();
        let r = run(&args);
        assert_one_error(&format!("{args:?}"), &r, &["memory"]);
    }
}

#[test]
fn an_npy_header_promising_more_than_fits_is_an_error() {
    // 10^6 x 10^6 float32 (4 TB) announced, 8 bytes delivered, through a pipe: no size to
    // check it against in advance.
    let bytes = npy_bytes("<f4", false, &[1_000_000, 1_000_000], &[0; 8]);
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("d.npy");
    let r = run_with(&["pdist", "-", "-o", s(&out), "--backend", "cpu"], Some(&bytes));
    assert_one_error("a 4 TB header on stdin", &r, &["standard input"]);
    assert_nothing_written("huge header", &out);
}

// ---------------------------------------------------------------------------------------------
// 10. Output names up to the file system's limit.

#[test]
fn output_names_of_up_to_255_bytes_work() {
    let dir = TempDir::new().unwrap();
    let x = points32(100, 7, 3);
    let input = dir.path().join("x.npy");
    write_f32(&input, &x);
    for ext in ["npy", "csv"] {
        let out = dir.path().join(format!("{}.{ext}", "d".repeat(255 - 4)));
        let r = run(&["cdist", s(&input), "-o", s(&out), "--backend", "cpu", "-q"]);
        assert_ok(&format!("a 255-byte .{ext} name"), &r);
        let got: Vec<f32> = if ext == "npy" {
            read_npy::<_, Array2<f32>>(&out).unwrap().iter().copied().collect()
        } else {
            parse_text(&std::fs::read_to_string(&out).unwrap()).concat()
        };
        assert_close("255-byte name", &got, cdist_ref("euclidean", &x, &x).as_slice().unwrap(), 1e-6);
    }
    assert!(partials(dir.path()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// 11. Standard input and output.

#[test]
fn text_through_a_pipe_is_read_whole() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("o.csv");
    let r = run_with(&["cdist", "/dev/stdin", "-o", s(&out), "--backend", "cpu", "-q"], Some(b"1,2\n3,4\n"));
    assert_ok("cdist /dev/stdin", &r);
    let got = parse_text(&std::fs::read_to_string(&out).unwrap());
    let x = Array2::from_shape_vec((2, 2), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    assert_eq!(got.len(), 2, "rows: {got:?}");
    assert_close("cdist of a pipe", &got.concat(), cdist_ref("euclidean", &x, &x).as_slice().unwrap(), 1e-6);
}

#[test]
fn dash_reads_standard_input_and_writes_standard_output() {
    let dir = TempDir::new().unwrap();
    let (xa, xb) = (points32(110, 9, 4), points32(111, 6, 4));
    let a_npy = dir.path().join("a.npy");
    write_f32(&a_npy, &xa);
    let b_txt = dir.path().join("b.txt");
    std::fs::write(&b_txt, text_of(&xb, " ")).unwrap();
    let want = cdist_ref("cityblock", &xa, &xb);

    // .npy on standard input, text on standard output.
    let npy = std::fs::read(&a_npy).unwrap();
    let r = run_with(&["cdist", "-", s(&b_txt), "-m", "cityblock", "-o", "-", "--backend", "cpu", "-q"], Some(&npy));
    assert_ok("npy from -, text to -", &r);
    let got = parse_text(&String::from_utf8(r.stdout).unwrap());
    assert_eq!(got.len(), 9);
    assert_close("npy from stdin", &got.concat(), want.as_slice().unwrap(), 1e-6);

    // Text on standard input as XB, .npy output.
    let out = dir.path().join("d.npy");
    let text = text_of(&xb, ",");
    let r = run_with(
        &["cdist", s(&a_npy), "-", "-m", "cityblock", "-o", s(&out), "--backend", "gpu", "-q"],
        Some(text.as_bytes()),
    );
    assert_ok("text from -", &r);
    let got: Array2<f32> = read_npy(&out).unwrap();
    assert_close("text from stdin", got.as_slice().unwrap(), want.as_slice().unwrap(), 1e-6);
    assert!(!dir.path().join("-").exists());

    // Standard input can be read once only.
    let r = run_with(&["cdist", "-", "-", "-o", s(&out), "--backend", "cpu"], Some(text.as_bytes()));
    assert_one_error("cdist - -", &r, &["standard input"]);
}

// ---------------------------------------------------------------------------------------------
// 12 and 13. .npy found by its magic string whatever the name; both byte orders; clear dtypes.

#[test]
fn npy_is_recognised_by_its_magic_string_whatever_the_extension() {
    let dir = TempDir::new().unwrap();
    let x = points32(120, 11, 4);
    let want = pdist_ref("sqeuclidean", &x);
    for name in ["iris.bin", "points.dat", "points.txt", "no-extension"] {
        let input = dir.path().join(name);
        write_f32(&input, &x);
        let out = dir.path().join("p.npy");
        let r = run(&["pdist", s(&input), "-m", "sqeuclidean", "-o", s(&out), "--backend", "cpu", "-q"]);
        assert_ok(name, &r);
        let got: Array1<f32> = read_npy(&out).unwrap();
        assert_close(name, got.as_slice().unwrap(), &want, 1e-6);
    }
}

#[test]
fn big_endian_npy_is_read() {
    let dir = TempDir::new().unwrap();
    let (xa, xb) = (points32(130, 13, 5), points32(131, 8, 5));
    let want = cdist_ref("euclidean", &xa, &xb);
    let b = dir.path().join("b.npy");
    write_f32(&b, &xb);
    for fortran in [false, true] {
        let values = values_in_order(&xa, fortran);
        let f4: Vec<u8> = values.iter().flat_map(|&v| (v as f32).to_be_bytes()).collect();
        let f8: Vec<u8> = values.iter().flat_map(|&v| v.to_be_bytes()).collect();
        for (descr, data) in [(">f4", f4), (">f8", f8)] {
            let a = dir.path().join(format!("a-{}-{fortran}.npy", &descr[1..]));
            std::fs::write(&a, npy_bytes(descr, fortran, &[13, 5], &data)).unwrap();
            for backend in ["cpu", "gpu"] {
                let out = dir.path().join("d.npy");
                let r = run(&["cdist", s(&a), s(&b), "-o", s(&out), "--backend", backend, "-q"]);
                assert_ok(&format!("{descr} fortran={fortran} {backend}"), &r);
                // float64 input gives float64 output.
                let got: Vec<f64> = match descr {
                    ">f8" => read_npy::<_, Array2<f64>>(&out).unwrap().into_raw_vec_and_offset().0,
                    _ => read_npy::<_, Array2<f32>>(&out).unwrap().iter().map(|&v| f64::from(v)).collect(),
                };
                assert_close(&format!("{descr} {backend}"), &got, want.as_slice().unwrap(), 1e-6);
            }
        }
    }
}

#[test]
fn unsupported_dtypes_are_named() {
    let dir = TempDir::new().unwrap();
    for (descr, size) in [("<f2", 2), ("<i8", 8), ("|u1", 1), ("|b1", 1), ("<c8", 8)] {
        let input = dir.path().join(format!("x-{}.npy", &descr[1..]));
        std::fs::write(&input, npy_bytes(descr, false, &[3, 2], &vec![0u8; 6 * size])).unwrap();
        let out = dir.path().join("p.npy");
        let r = run(&["pdist", s(&input), "-o", s(&out), "--backend", "cpu"]);
        assert_one_error(descr, &r, &[s(&input), descr, "float32", "float64"]);
        assert_nothing_written(descr, &out);
    }
}

// ---------------------------------------------------------------------------------------------
// 14. Messages: one line of sane length, control characters escaped, the user's output name.

#[test]
fn a_crafted_npy_header_gives_one_short_line() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("p.npy");
    // A 200 KB header (format 2.0) that is not a dict, with escape sequences in it.
    let junk = "\x1b[31m{'descr': <f4\n".repeat(12_000);
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend((junk.len() as u32 + 1).to_le_bytes());
    bytes.extend(junk.as_bytes());
    bytes.push(b'\n');
    // The same junk in a format 1.0 header small enough for any limit.
    let small = &junk[..3000];
    let mut small_bytes = b"\x93NUMPY\x01\x00".to_vec();
    small_bytes.extend((small.len() as u16 + 1).to_le_bytes());
    small_bytes.extend(small.as_bytes());
    small_bytes.push(b'\n');
    for (name, data) in [("big-header.npy", bytes), ("small-header.npy", small_bytes)] {
        let input = dir.path().join(name);
        std::fs::write(&input, data).unwrap();
        let r = run(&["pdist", s(&input), "-o", s(&out), "--backend", "cpu"]);
        let line = assert_one_error(name, &r, &[s(&input)]);
        assert!(line.chars().count() <= 400, "{name}: an error line of {} characters", line.chars().count());
        assert!(!r.stderr.contains('\x1b'), "{name}: a raw escape character on stderr: {line}");
        assert_nothing_written(name, &out);
    }
}

#[test]
fn control_characters_from_the_input_are_escaped() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("x.csv");
    std::fs::write(&input, "1,2\n3,\x1b[2J\x07\n").unwrap();
    let out = dir.path().join("p.npy");
    let r = run(&["pdist", s(&input), "-o", s(&out), "--backend", "cpu"]);
    let line = assert_one_error("control characters", &r, &[s(&input), "line 2"]);
    assert!(!r.stderr.contains('\x1b') && !r.stderr.contains('\x07'), "raw control characters: {line:?}");
}

#[test]
fn errors_name_the_output_never_the_temporary_file() {
    let dir = TempDir::new().unwrap();
    let x = dir.path().join("x.csv");
    std::fs::write(&x, "1,2\n3,4\n").unwrap();
    // /proc takes no new files, even from root: creating the temporary output fails.
    let out = "/proc/pairdist-test-output.npy";
    let r = run(&["cdist", s(&x), "-o", out, "--backend", "cpu"]);
    let line = assert_one_error("output in /proc", &r, &[out]);
    assert!(!line.contains(".partial") && !line.contains(".pd-"), "the temporary name leaked: {line}");
}

// ---------------------------------------------------------------------------------------------
// 16. --check samples enough: at least 16 per tile and 1000 in all, or every entry.

/// (entries checked, entries in all) from the `check:` line: "check: N of T entries ...".
fn checked(stderr: &str) -> (u64, u64) {
    let line = stderr.lines().find(|l| l.starts_with("check:")).unwrap_or_else(|| panic!("no check line:\n{stderr}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let n = words.iter().position(|w| *w == "of").unwrap_or_else(|| panic!("no 'N of T' in {line}"));
    (words[n - 1].parse().unwrap(), words[n + 1].parse().unwrap())
}

/// The number of blocks from the plan's log line ("... : K blocks of up to ...").
fn blocks(stderr: &str) -> u64 {
    let line = stderr.lines().find(|l| l.contains(" blocks of up to ")).expect("a plan line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let k = words.iter().position(|w| *w == "blocks").unwrap();
    words[k - 1].parse().unwrap()
}

#[test]
fn check_samples_at_least_1000_entries_and_16_per_tile() {
    let dir = TempDir::new().unwrap();
    let big = dir.path().join("big.npy");
    write_f32(&big, &points32(160, 2225, 2));
    let small = dir.path().join("small.npy");
    write_f32(&small, &points32(161, 10, 2));
    let wide = dir.path().join("wide.npy");
    write_f32(&wide, &points32(162, 40, 2));
    let out = dir.path().join("o.npy");
    for backend in ["cpu", "gpu"] {
        for (cmd, inputs, entries) in [
            ("pdist", vec![s(&big)], 2225 * 2224 / 2),
            ("cdist", vec![s(&big), s(&wide)], 2225 * 40),
            ("pdist", vec![s(&small)], 45),
            ("cdist", vec![s(&small), s(&wide)], 400),
        ] {
            let mut args = vec![cmd];
            args.extend(&inputs);
            args.extend(["-o", s(&out), "--check", "--backend", backend]);
            let r = run(&args);
            assert_ok(&format!("{args:?}"), &r);
            let (n, total) = checked(&r.stderr);
            assert_eq!(total, entries, "{args:?}");
            assert!(n >= entries.min(1000), "{args:?}: {n} of {total} entries checked");
            assert!(n <= total, "{args:?}: {n} of {total} entries checked");
        }
        // Many small tiles: at least 16 entries of each.
        let args =
            ["cdist", s(&big), s(&wide), "-o", s(&out), "--check", "--backend", backend, "--max-tile-bytes", "4KiB"];
        let r = run(&args);
        assert_ok("small tiles", &r);
        let (n, _) = checked(&r.stderr);
        let k = blocks(&r.stderr);
        assert!(k > 20, "{backend}: only {k} tiles");
        assert!(n >= 16 * k, "{backend}: {n} entries checked in {k} tiles");
    }
}

// ---------------------------------------------------------------------------------------------
// 17. An output that is one of the inputs is refused unless --force.

#[test]
fn an_output_that_is_an_input_is_refused_without_force() {
    let dir = TempDir::new().unwrap();
    let x = points32(170, 6, 3);
    let input = dir.path().join("x.npy");
    write_f32(&input, &x);
    let original = std::fs::read(&input).unwrap();
    let other = dir.path().join("other.npy");
    write_f32(&other, &points32(171, 4, 3));
    let hard = dir.path().join("hard.npy");
    std::fs::hard_link(&input, &hard).unwrap();
    let soft = dir.path().join("soft.npy");
    std::os::unix::fs::symlink(&input, &soft).unwrap();
    let respelled = dir.path().join(".").join("x.npy");

    for output in [&input, &respelled, &hard, &soft] {
        for args in [
            vec!["cdist", s(&input), "-o", s(output)],
            vec!["cdist", s(&other), s(&input), "-o", s(output)],
            vec!["pdist", s(&input), "-o", s(output)],
        ] {
            let mut args = args;
            args.extend(["--backend", "cpu"]);
            let r = run(&args);
            assert_one_error(&format!("{args:?}"), &r, &[s(output), "--force"]);
            assert_eq!(std::fs::read(&input).unwrap(), original, "{args:?} changed the input");
            assert!(partials(dir.path()).is_empty());
        }
    }
    // With --force the output replaces the input, computed from the input as it was.
    let r = run(&["cdist", s(&input), "-o", s(&input), "--force", "--backend", "cpu", "-q"]);
    assert_ok("--force", &r);
    let got: Array2<f32> = read_npy(&input).unwrap();
    assert_close("--force", got.as_slice().unwrap(), cdist_ref("euclidean", &x, &x).as_slice().unwrap(), 1e-6);
}
