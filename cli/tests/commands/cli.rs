//! The `pairdist` binary as a user runs it: every bad input fails with one line naming the
//! problem and leaves nothing at the output path; good inputs give the distances an f64 loop
//! written here gives, on the CPU and on the GPU (lavapipe in CI: a missing adapter fails).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use ndarray::{Array1, Array2, Array3, ShapeBuilder};
use ndarray_npy::{read_npy, write_npy};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tempfile::TempDir;

const METRICS: [&str; 3] = ["euclidean", "sqeuclidean", "cityblock"];
const BACKENDS: [&str; 2] = ["cpu", "gpu"];

fn pairdist() -> Command {
    Command::cargo_bin("pairdist").expect("the pairdist binary is built")
}

/// Runs `pairdist args` and returns (success, stdout, stderr).
fn run(args: &[&str]) -> (bool, String, String) {
    let out = pairdist().args(args).output().expect("pairdist runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "pairdist {args:?} panicked:\n{stderr}");
    (out.status.success(), stdout, stderr)
}

/// Runs `pairdist args` expecting success; returns (stdout, stderr).
fn ok(args: &[&str]) -> (String, String) {
    let (success, stdout, stderr) = run(args);
    assert!(success, "pairdist {args:?} failed:\n{stderr}");
    (stdout, stderr)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Temporary files the atomic writer leaves beside `output` (`.<name>.*.partial`).
fn leftovers(output: &Path) -> Vec<PathBuf> {
    let Some(dir) = output.parent().filter(|d| d.is_dir()) else { return Vec::new() };
    let name = output.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let f = p.file_name().unwrap().to_string_lossy();
            f.starts_with(&format!(".{name}.")) || f.ends_with(".partial")
        })
        .collect()
}

/// Runs `pairdist args` expecting failure: non-zero exit, no panic, exactly one error line
/// (`pairdist: error: ...`) containing every string of `expect`, nothing at `output`, and no
/// temporary file beside it. Returns the error line.
fn fails(args: &[&str], output: &Path, expect: &[&str]) -> String {
    let (success, _, stderr) = run(args);
    assert!(!success, "pairdist {args:?} succeeded but should fail:\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.to_lowercase().contains("error")).collect();
    assert_eq!(errors.len(), 1, "pairdist {args:?}: expected exactly one error line, stderr:\n{stderr}");
    let line = errors[0];
    assert!(line.starts_with("pairdist: error: "), "pairdist {args:?}: error line not in the usual form: {line}");
    for want in expect {
        assert!(line.contains(want), "pairdist {args:?}: error line does not mention {want:?}: {line}");
    }
    if !output.is_dir() {
        assert!(!output.exists(), "pairdist {args:?} failed but left {}", output.display());
    }
    let left = leftovers(output);
    assert!(left.is_empty(), "pairdist {args:?} left temporary files: {left:?}");
    line.to_string()
}

// ---------------------------------------------------------------------------------------------
// Inputs and the reference.

/// Seeded points in [-scale, scale], exactly representable in f32.
fn points(seed: u64, n: usize, d: usize, scale: f32) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, d), |_| rng.random_range(-scale..=scale))
}

/// The distance between two rows, in f64: the tests' oracle (tests/support), by name.
fn distance(metric: &str, a: &[f64], b: &[f64]) -> f64 {
    crate::support::oracle64(a, b, metric.parse().expect("a metric name"))
}

fn rows64(x: &Array2<f32>) -> Vec<Vec<f64>> {
    x.rows().into_iter().map(|r| r.iter().map(|&v| f64::from(v)).collect()).collect()
}

fn cdist_ref(metric: &str, xa: &Array2<f32>, xb: &Array2<f32>) -> Array2<f64> {
    let (a, b) = (rows64(xa), rows64(xb));
    Array2::from_shape_fn((a.len(), b.len()), |(i, j)| distance(metric, &a[i], &b[j]))
}

fn pdist_ref(metric: &str, x: &Array2<f32>) -> Array1<f64> {
    let a = rows64(x);
    let mut out = Vec::new();
    for i in 0..a.len() {
        for j in i + 1..a.len() {
            out.push(distance(metric, &a[i], &a[j]));
        }
    }
    Array1::from(out)
}

/// Compares `got` (float32 or float64 results) with `want` element by element within the f32
/// tolerance.
fn assert_close<'a, T: Copy + Into<f64> + std::fmt::Display + 'a>(
    what: &str,
    got: impl IntoIterator<Item = &'a T>,
    want: impl IntoIterator<Item = &'a f64>,
    d: usize,
    scale: f64,
) {
    let got: Vec<T> = got.into_iter().copied().collect();
    let want: Vec<f64> = want.into_iter().copied().collect();
    assert_eq!(got.len(), want.len(), "{what}: {} values, expected {}", got.len(), want.len());
    let abs = (d as f64).sqrt() * 1.2e-7 * scale * scale * 4.0;
    for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
        let tol = 1e-5 * w.abs() + abs;
        let g: f64 = g.into();
        assert!(
            (g - w).abs() <= tol,
            "{what}: index {i}: got {g}, expected {w} (difference {:e}, tolerance {tol:e})",
            (g - w).abs()
        );
    }
}

/// How an input is written to disk.
#[derive(Clone, Copy, Debug)]
enum InputForm {
    NpyF32C,
    NpyF32Fortran,
    NpyF64,
    Csv,
    Txt,
}

const FORMS: [InputForm; 5] =
    [InputForm::NpyF32C, InputForm::NpyF32Fortran, InputForm::NpyF64, InputForm::Csv, InputForm::Txt];

fn write_input(dir: &Path, name: &str, x: &Array2<f32>, form: InputForm) -> PathBuf {
    let ext = match form {
        InputForm::Csv => "csv",
        InputForm::Txt => "txt",
        _ => "npy",
    };
    let path = dir.join(format!("{name}.{ext}"));
    match form {
        InputForm::NpyF32C => write_npy(&path, x).unwrap(),
        InputForm::NpyF32Fortran => {
            let mut f = Array2::<f32>::zeros(x.dim().f());
            f.assign(x);
            assert!(f.t().is_standard_layout());
            write_npy(&path, &f).unwrap();
        }
        InputForm::NpyF64 => write_npy(&path, &x.mapv(f64::from)).unwrap(),
        InputForm::Csv | InputForm::Txt => {
            let sep = if ext == "csv" { "," } else { " " };
            let mut text = String::from("# points, one per line\n");
            for row in x.rows() {
                text += &row.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(sep);
                text += "  # a comment\n";
            }
            std::fs::write(&path, text).unwrap();
        }
    }
    path
}

/// The dtype a `.npy` file's header names, such as `<f8`.
fn npy_dtype(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let header = String::from_utf8_lossy(&bytes[..bytes.len().min(128)]).into_owned();
    let at = header.find("'descr': '").unwrap_or_else(|| panic!("{}: no dtype in {header:?}", path.display()));
    header[at + 10..].split('\'').next().unwrap().to_string()
}

/// Reads a `.npy` output of float32 or float64 values, as f64.
fn read_npy_f64<D: ndarray::Dimension>(path: &Path) -> ndarray::Array<f64, D> {
    match npy_dtype(path).as_str() {
        "<f4" => read_npy::<_, ndarray::Array<f32, D>>(path).unwrap().mapv(f64::from),
        "<f8" => read_npy(path).unwrap(),
        other => panic!("{}: dtype {other}", path.display()),
    }
}

/// Reads a cdist output (.npy of either float type, or text) as a matrix.
fn read_matrix(path: &Path, rows: usize, cols: usize) -> Array2<f64> {
    if path.extension().unwrap() == "npy" {
        return read_npy_f64(path);
    }
    let text = std::fs::read_to_string(path).unwrap();
    let sep = if path.extension().unwrap() == "csv" { ',' } else { ' ' };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), rows, "{}: {} lines, expected {rows}", path.display(), lines.len());
    let mut values = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let row: Vec<f64> = if line.is_empty() {
            Vec::new()
        } else {
            line.split(sep).map(|t| t.trim().parse().unwrap_or_else(|e| panic!("line {}: {t:?}: {e}", i + 1))).collect()
        };
        assert_eq!(row.len(), cols, "{}: line {} has {} values", path.display(), i + 1, row.len());
        values.extend(row);
    }
    Array2::from_shape_vec((rows, cols), values).unwrap()
}

/// Reads a pdist output (.npy of either float type, or text, one value per line) as a vector.
fn read_vector(path: &Path) -> Array1<f64> {
    if path.extension().unwrap() == "npy" {
        return read_npy_f64(path);
    }
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| l.trim().parse::<f64>().unwrap_or_else(|e| panic!("{l:?}: {e}"))).collect()
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: one error line, nothing written.

#[test]
fn missing_input_names_the_path() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("no-such-points.npy");
    let out = dir.path().join("out.npy");
    fails(&["cdist", s(&input), "-o", s(&out), "--backend", "cpu"], &out, &[s(&input)]);
    fails(&["pdist", s(&input), "-o", s(&out), "--backend", "cpu"], &out, &[s(&input)]);
    // A missing XB, with a good XA.
    let xa = write_input(dir.path(), "xa", &points(1, 4, 3, 1.0), InputForm::NpyF32C);
    fails(&["cdist", s(&xa), s(&input), "-o", s(&out), "--backend", "cpu"], &out, &[s(&input)]);
}

#[test]
fn input_that_is_a_directory() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("points.npy");
    std::fs::create_dir(&input).unwrap();
    let out = dir.path().join("out.csv");
    fails(&["cdist", s(&input), "-o", s(&out), "--backend", "cpu"], &out, &[s(&input), "directory"]);
}

#[test]
fn unreadable_input() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let input = write_input(dir.path(), "secret", &points(2, 5, 3, 1.0), InputForm::NpyF32C);
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&input).is_ok() {
        eprintln!("note: skipping the unreadable-file case: this user (root?) can read a mode-000 file");
        return;
    }
    let out = dir.path().join("out.npy");
    fails(&["pdist", s(&input), "-o", s(&out), "--backend", "cpu"], &out, &[s(&input), "ermission"]);
}

#[test]
fn corrupt_npy() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out.npy");
    // NumPy's magic, then garbage.
    let garbage = dir.path().join("garbage.npy");
    let mut bytes = b"\x93NUMPY".to_vec();
    bytes.extend((0..200u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&garbage, &bytes).unwrap();
    fails(&["cdist", s(&garbage), "-o", s(&out), "--backend", "cpu"], &out, &[s(&garbage), ".npy"]);
    // Random bytes, no magic.
    let random = dir.path().join("random.npy");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    std::fs::write(&random, (0..300).map(|_| rng.random::<u8>()).collect::<Vec<_>>()).unwrap();
    fails(&["pdist", s(&random), "-o", s(&out), "--backend", "cpu"], &out, &[s(&random), ".npy"]);
    // An empty file.
    let empty = dir.path().join("empty.npy");
    std::fs::write(&empty, b"").unwrap();
    fails(&["pdist", s(&empty), "-o", s(&out), "--backend", "cpu"], &out, &[s(&empty)]);
}

#[test]
fn truncated_npy() {
    let dir = TempDir::new().unwrap();
    let input = write_input(dir.path(), "cut", &points(3, 20, 7, 1.0), InputForm::NpyF32C);
    let bytes = std::fs::read(&input).unwrap();
    std::fs::write(&input, &bytes[..bytes.len() - 10]).unwrap();
    let out = dir.path().join("out.npy");
    fails(&["cdist", s(&input), "-o", s(&out), "--backend", "cpu"], &out, &[s(&input), "truncated"]);
    // Cut just after the header: no data at all.
    let header_only = write_input(dir.path(), "header", &points(3, 20, 7, 1.0), InputForm::NpyF64);
    let bytes = std::fs::read(&header_only).unwrap();
    std::fs::write(&header_only, &bytes[..bytes.len() - 20 * 7 * 8]).unwrap();
    fails(&["pdist", s(&header_only), "-o", s(&out), "--backend", "cpu"], &out, &[s(&header_only), "truncated"]);
}

#[test]
fn npy_of_wrong_rank() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("out.npy");
    let one = dir.path().join("one.npy");
    write_npy(&one, &Array1::<f32>::zeros(5)).unwrap();
    fails(&["cdist", s(&one), "-o", s(&out), "--backend", "cpu"], &out, &[s(&one), "2-D"]);
    let three = dir.path().join("three.npy");
    write_npy(&three, &Array3::<f32>::zeros((2, 3, 4))).unwrap();
    fails(&["pdist", s(&three), "-o", s(&out), "--backend", "cpu"], &out, &[s(&three), "2-D"]);
}

#[test]
fn npy_of_unsupported_dtype() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("ints.npy");
    write_npy(&input, &Array2::<i32>::zeros((4, 3))).unwrap();
    let out = dir.path().join("out.npy");
    fails(&["cdist", s(&input), "-o", s(&out), "--backend", "cpu"], &out, &[s(&input), "dtype", "float32"]);
}

#[test]
fn column_counts_differ() {
    let dir = TempDir::new().unwrap();
    let xa = write_input(dir.path(), "xa", &points(4, 6, 3, 1.0), InputForm::NpyF32C);
    let xb = write_input(dir.path(), "xb", &points(5, 4, 5, 1.0), InputForm::Csv);
    let out = dir.path().join("out.npy");
    fails(&["cdist", s(&xa), s(&xb), "-o", s(&out), "--backend", "cpu"], &out, &["XA has 3", "XB has 5"]);
}

#[test]
fn unknown_metric_lists_the_valid_ones() {
    let dir = TempDir::new().unwrap();
    let xa = write_input(dir.path(), "xa", &points(6, 4, 3, 1.0), InputForm::NpyF32C);
    let out = dir.path().join("out.npy");
    fails(
        // Not a metric of SciPy's (yule, once used here, now is one of pairdist's).
        &["cdist", s(&xa), "--metric", "nosuchmetric", "-o", s(&out), "--backend", "cpu"],
        &out,
        &["nosuchmetric", "hamming", "euclidean", "sqeuclidean", "cityblock", "chebyshev"],
    );
}

/// Output errors are found before any input is read: with an input that does not exist, the
/// error still names the output.
#[test]
fn unwritable_output_fails_before_any_work() {
    let dir = TempDir::new().unwrap();
    let good = write_input(dir.path(), "x", &points(8, 10, 4, 1.0), InputForm::NpyF32C);
    let missing = dir.path().join("missing-input.npy");

    let in_missing_dir = dir.path().join("no-such-dir").join("out.npy");
    let existing_dir = dir.path().join("out-dir.npy");
    std::fs::create_dir(&existing_dir).unwrap();
    let bad_ext = dir.path().join("out.xlsx");

    for out in [&in_missing_dir, &existing_dir, &bad_ext] {
        for input in [&good, &missing] {
            let line = fails(&["cdist", s(input), "-o", s(out), "--backend", "cpu"], out, &[s(out)]);
            assert!(!line.contains(s(input)), "the output error should come first, got: {line}");
            fails(&["pdist", s(input), "-o", s(out), "--backend", "cpu"], out, &[s(out)]);
        }
    }
    fails(&["pdist", s(&good), "-o", s(&bad_ext), "--backend", "cpu"], &bad_ext, &[".npy", ".csv"]);
    assert!(existing_dir.is_dir() && std::fs::read_dir(&existing_dir).unwrap().next().is_none());
    assert!(!dir.path().join("no-such-dir").exists());
}

#[test]
fn ragged_text_names_the_line() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("ragged.csv");
    std::fs::write(&input, "# header comment\n1,2,3\n4,5,6\n\n7,8\n").unwrap();
    let out = dir.path().join("out.csv");
    fails(&["pdist", s(&input), "-o", s(&out), "--backend", "cpu"], &out, &[s(&input), "line 5"]);
    let txt = dir.path().join("ragged.txt");
    std::fs::write(&txt, "1 2\n3 4 5\n").unwrap();
    fails(&["cdist", s(&txt), "-o", s(&out), "--backend", "cpu"], &out, &[s(&txt), "line 2"]);
}

#[test]
fn non_numeric_token_names_the_line() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("words.txt");
    std::fs::write(&input, "1 2 3\n# comment\n4 five 6\n").unwrap();
    let out = dir.path().join("out.npy");
    fails(&["cdist", s(&input), "-o", s(&out), "--backend", "cpu"], &out, &[s(&input), "line 3", "five"]);
}

// ---------------------------------------------------------------------------------------------
// Good inputs: the right numbers.

#[test]
fn cdist_matches_the_f64_reference_for_every_input_and_output_form() {
    let dir = TempDir::new().unwrap();
    let (n, m, d, scale) = (37, 29, 13, 3.0f32);
    let xa = points(10, n, d, scale);
    let xb = points(11, m, d, scale);
    for backend in BACKENDS {
        for (k, form) in FORMS.into_iter().enumerate() {
            let metric = METRICS[k % METRICS.len()];
            let a = write_input(dir.path(), &format!("xa-{k}"), &xa, form);
            // XB in another form, so mixed inputs are covered too.
            let b = write_input(dir.path(), &format!("xb-{k}"), &xb, FORMS[(k + 1) % FORMS.len()]);
            let want = cdist_ref(metric, &xa, &xb);
            for ext in ["npy", "csv", "txt"] {
                let out = dir.path().join(format!("cdist-{backend}-{k}.{ext}"));
                ok(&["cdist", s(&a), s(&b), "--metric", metric, "-o", s(&out), "--backend", backend, "-q"]);
                let got = read_matrix(&out, n, m);
                assert_close(&format!("cdist {form:?} {metric} {backend} -> .{ext}"), &got, &want, d, scale.into());
                if ext == "npy" {
                    // SciPy's rule: float64 results when an input is float64.
                    let float64 = [form, FORMS[(k + 1) % FORMS.len()]].iter().any(|f| matches!(f, InputForm::NpyF64));
                    assert_eq!(npy_dtype(&out), if float64 { "<f8" } else { "<f4" }, "cdist {form:?} -> dtype");
                }
                assert!(leftovers(&out).is_empty());
            }
        }
    }
}

#[test]
fn pdist_matches_the_f64_reference_for_every_input_and_output_form() {
    let dir = TempDir::new().unwrap();
    let (n, d, scale) = (41, 13, 2.0f32);
    let x = points(20, n, d, scale);
    for backend in BACKENDS {
        for (k, form) in FORMS.into_iter().enumerate() {
            for metric in METRICS {
                let input = write_input(dir.path(), &format!("x-{k}"), &x, form);
                let want = pdist_ref(metric, &x);
                for ext in ["npy", "csv"] {
                    let out = dir.path().join(format!("pdist-{backend}-{k}-{metric}.{ext}"));
                    ok(&["pdist", s(&input), "--metric", metric, "-o", s(&out), "--backend", backend, "-q"]);
                    let got = read_vector(&out);
                    assert_eq!(got.len(), n * (n - 1) / 2);
                    if ext == "npy" {
                        let float64 = matches!(form, InputForm::NpyF64);
                        assert_eq!(npy_dtype(&out), if float64 { "<f8" } else { "<f4" }, "pdist {form:?} -> dtype");
                    }
                    assert_close(&format!("pdist {form:?} {metric} {backend} -> .{ext}"), &got, &want, d, scale.into());
                }
            }
        }
    }
}

#[test]
fn empty_inputs() {
    let dir = TempDir::new().unwrap();
    for backend in BACKENDS {
        // n = 0: an empty result of the right shape.
        let none = write_input(dir.path(), "none", &Array2::zeros((0, 4)), InputForm::NpyF32C);
        let some = write_input(dir.path(), "some", &points(30, 5, 4, 1.0), InputForm::NpyF32C);
        let out = dir.path().join(format!("empty-{backend}.npy"));
        ok(&["cdist", s(&none), s(&some), "-o", s(&out), "--backend", backend, "-q"]);
        assert_eq!(read_npy::<_, Array2<f32>>(&out).unwrap().dim(), (0, 5));
        ok(&["cdist", s(&some), s(&none), "-o", s(&out), "--backend", backend, "-q"]);
        assert_eq!(read_npy::<_, Array2<f32>>(&out).unwrap().dim(), (5, 0));
        ok(&["pdist", s(&none), "-o", s(&out), "--backend", backend, "-q"]);
        assert_eq!(read_npy::<_, Array1<f32>>(&out).unwrap().len(), 0);
        // One point: pdist has no pairs.
        let one = write_input(dir.path(), "one", &points(31, 1, 4, 1.0), InputForm::Csv);
        ok(&["pdist", s(&one), "-o", s(&out), "--backend", backend, "-q"]);
        assert_eq!(read_npy::<_, Array1<f32>>(&out).unwrap().len(), 0);
        // An empty text file (comments only) is 0 points.
        let empty_txt = dir.path().join("empty.txt");
        std::fs::write(&empty_txt, "# nothing here\n").unwrap();
        let csv_out = dir.path().join(format!("empty-{backend}.csv"));
        ok(&["pdist", s(&empty_txt), "-o", s(&csv_out), "--backend", backend, "-q"]);
        assert_eq!(read_vector(&csv_out).len(), 0);

        // d = 0: every distance is zero.
        let flat_a = write_input(dir.path(), "flat-a", &Array2::zeros((6, 0)), InputForm::NpyF32C);
        let flat_b = write_input(dir.path(), "flat-b", &Array2::zeros((3, 0)), InputForm::NpyF64);
        for metric in METRICS {
            ok(&["cdist", s(&flat_a), s(&flat_b), "--metric", metric, "-o", s(&out), "--backend", backend, "-q"]);
            let got: Array2<f64> = read_npy(&out).unwrap(); // float64, as flat_b is
            assert_eq!(got, Array2::<f64>::zeros((6, 3)), "cdist with d = 0, {metric}, {backend}");
            ok(&["pdist", s(&flat_a), "--metric", metric, "-o", s(&out), "--backend", backend, "-q"]);
            let got: Array1<f32> = read_npy(&out).unwrap();
            assert_eq!(got, Array1::<f32>::zeros(15), "pdist with d = 0, {metric}, {backend}");
        }
    }
}

#[test]
fn cdist_of_one_input_is_x_against_x_with_an_exact_zero_diagonal() {
    let dir = TempDir::new().unwrap();
    let (n, d, scale) = (45, 19, 100.0f32);
    let x = points(40, n, d, scale);
    let input = write_input(dir.path(), "x", &x, InputForm::NpyF32C);
    for backend in BACKENDS {
        for metric in METRICS {
            let out = dir.path().join(format!("self-{backend}-{metric}.npy"));
            ok(&["cdist", s(&input), "--metric", metric, "-o", s(&out), "--backend", backend, "-q"]);
            let got: Array2<f32> = read_npy(&out).unwrap();
            assert_close(&format!("cdist(X) {metric} {backend}"), &got, &cdist_ref(metric, &x, &x), d, scale.into());
            for i in 0..n {
                assert_eq!(got[[i, i]].to_bits(), 0, "cdist(X) {metric} {backend}: [{i}, {i}] = {}", got[[i, i]]);
            }
        }
    }
}

#[test]
fn check_prints_a_check_line() {
    let dir = TempDir::new().unwrap();
    let x = write_input(dir.path(), "x", &points(50, 33, 9, 1.0), InputForm::NpyF32C);
    for backend in BACKENDS {
        for cmd in ["cdist", "pdist"] {
            let out = dir.path().join(format!("{cmd}-{backend}.npy"));
            let (_, stderr) = ok(&[cmd, s(&x), "-o", s(&out), "--backend", backend, "--check", "-q"]);
            assert!(
                stderr.lines().any(|l| l.starts_with("check:") && l.contains("within tolerance")),
                "{cmd} --check on {backend}: no passing check line in:\n{stderr}"
            );
            assert!(out.is_file());
        }
    }
}

#[test]
fn small_tiles_give_bit_identical_npy() {
    let dir = TempDir::new().unwrap();
    // 4 KiB tiles cut these rows and columns into many pieces. d = 24 keeps whole rows in a
    // tile (a 32-row block of 24 dimensions is 3 KiB): splitting d changes the order of the
    // additions, so it is compared with the oracle (tests/tiling.rs), not bit for bit.
    let xa = write_input(dir.path(), "xa", &points(60, 70, 24, 5.0), InputForm::NpyF32C);
    let xb = write_input(dir.path(), "xb", &points(61, 90, 24, 5.0), InputForm::NpyF32C);
    for backend in BACKENDS {
        for metric in METRICS {
            for (cmd, inputs) in [("cdist", vec![s(&xa), s(&xb)]), ("pdist", vec![s(&xa)])] {
                let default = dir.path().join(format!("{cmd}-{backend}-{metric}-default.npy"));
                let small = dir.path().join(format!("{cmd}-{backend}-{metric}-small.npy"));
                let base = [cmd].into_iter().chain(inputs.iter().copied());
                let common = ["--metric", metric, "--backend", backend, "-q"];
                let args: Vec<&str> = base.clone().chain(common).chain(["-o", s(&default)]).collect();
                ok(&args);
                let args: Vec<&str> = base.chain(common).chain(["-o", s(&small), "--max-tile-bytes", "4KiB"]).collect();
                ok(&args);
                let (a, b) = (std::fs::read(&default).unwrap(), std::fs::read(&small).unwrap());
                assert!(a == b, "{cmd} {metric} on {backend}: --max-tile-bytes 4KiB changed the output");
            }
        }
    }
}

#[test]
fn threads_are_the_callers_choice_and_change_nothing() {
    let dir = TempDir::new().unwrap();
    let xa = write_input(dir.path(), "xa", &points(62, 300, 8, 5.0), InputForm::NpyF32C);
    let all = dir.path().join("all.npy");
    let one = dir.path().join("one.npy");
    ok(&["cdist", s(&xa), "--backend", "cpu", "-q", "-o", s(&all)]);
    let (_, stderr) = ok(&["cdist", s(&xa), "--backend", "cpu", "--threads", "1", "-o", s(&one)]);
    assert!(stderr.contains("CPU: 1 threads"), "the log names the engine's threads:\n{stderr}");
    assert_eq!(std::fs::read(&all).unwrap(), std::fs::read(&one).unwrap());
    for bad in ["0", "-1", "two"] {
        fails(
            &["cdist", s(&xa), "--threads", bad, "-o", s(&dir.path().join("bad.npy"))],
            &dir.path().join("bad.npy"),
            &["threads"],
        );
    }
}

#[test]
fn info_lists_an_adapter() {
    let (stdout, _) = ok(&["info"]);
    assert!(!stdout.contains("no GPU adapter found"), "pairdist info found no adapter:\n{stdout}");
    assert!(stdout.lines().any(|l| l.trim_start().starts_with("backend:")), "no adapter in:\n{stdout}");
}

#[test]
fn demo_runs_on_the_cpu() {
    let (stdout, stderr) = ok(&["demo", "--n", "256", "--m", "200", "--d", "16", "--backend", "cpu"]);
    let all = format!("{stdout}{stderr}");
    assert!(all.lines().any(|l| l.starts_with("check:") && l.contains("OK")), "no passing check line:\n{all}");
}

// ---------------------------------------------------------------------------------------------
// Metric parameters: --p, --w, --V, --VI.

#[test]
fn metric_parameters_from_files_match_the_oracle() {
    let dir = TempDir::new().unwrap();
    let (n, m, d) = (23, 31, 5);
    let xa = points(80, n, d, 1.0);
    let xb = points(81, m, d, 1.0);
    let (pa, pb) =
        (write_input(dir.path(), "xa", &xa, InputForm::NpyF32C), write_input(dir.path(), "xb", &xb, InputForm::Csv));
    let w = [1.0, 0.0, 2.5, 0.5, 4.0];
    let v = [0.5, 1.0, 2.0, 4.0, 8.0];
    let b = points(82, d, d, 1.0).mapv(f64::from);
    let vi = b.t().dot(&b) + Array2::<f64>::eye(d);
    // Weights as a 1-D .npy, variances as one text line, VI as a 2-D .npy.
    let w_path = dir.path().join("w.npy");
    write_npy(&w_path, &Array1::from(w.to_vec())).unwrap();
    let v_path = dir.path().join("v.txt");
    std::fs::write(&v_path, v.map(|x| x.to_string()).join(" ")).unwrap();
    let vi_path = dir.path().join("vi.npy");
    write_npy(&vi_path, &vi).unwrap();
    let inv_v = Array2::from_shape_fn((d, d), |(i, j)| if i == j { 1.0 / v[i] } else { 0.0 });
    let row = |a: &Array2<f32>, i: usize| a.row(i).to_vec();
    let p3 = pairdist::Metric::minkowski(3.0).unwrap();
    type Want<'a> = Box<dyn Fn(usize, usize) -> f64 + 'a>;
    let cases: Vec<(Vec<&str>, Want, pairdist::Metric)> = vec![
        (
            vec!["-m", "minkowski", "--p", "3", "--w", s(&w_path)],
            Box::new(|i, j| crate::support::oracle_weighted(&row(&xa, i), &row(&xb, j), p3, &w)),
            p3,
        ),
        (
            vec!["-m", "cosine", "--w", s(&w_path)],
            Box::new(|i, j| crate::support::oracle_weighted(&row(&xa, i), &row(&xb, j), pairdist::Metric::Cosine, &w)),
            pairdist::Metric::Cosine,
        ),
        (
            vec!["-m", "seuclidean", "--V", s(&v_path)],
            Box::new(|i, j| crate::support::oracle_quadratic(&row(&xa, i), &row(&xb, j), &inv_v)),
            pairdist::Metric::SEuclidean,
        ),
        (
            vec!["-m", "mahalanobis", "--VI", s(&vi_path)],
            Box::new(|i, j| crate::support::oracle_quadratic(&row(&xa, i), &row(&xb, j), &vi)),
            pairdist::Metric::Mahalanobis,
        ),
        (
            vec!["-m", "canberra", "--w", s(&w_path)],
            Box::new(|i, j| {
                crate::support::oracle_weighted(&row(&xa, i), &row(&xb, j), pairdist::Metric::Canberra, &w)
            }),
            pairdist::Metric::Canberra,
        ),
    ];
    for backend in BACKENDS {
        for (params, want, metric) in &cases {
            let out = dir.path().join("out.npy");
            let mut args = vec!["cdist", s(&pa), s(&pb), "-o", s(&out), "--backend", backend, "--check", "-q"];
            args.extend(params);
            ok(&args);
            let got = read_matrix(&out, n, m);
            for ((i, j), &g) in got.indexed_iter() {
                let w = want(i, j);
                let tol = crate::support::tolerance(*metric, d, 8.0, w);
                assert!(crate::support::close(g, w, tol), "{backend} {params:?} ({i}, {j}): {g} vs {w}");
            }
        }
    }
}

#[test]
fn bad_metric_parameters_fail_with_one_line() {
    let dir = TempDir::new().unwrap();
    let x = write_input(dir.path(), "x", &points(83, 6, 3, 1.0), InputForm::NpyF32C);
    let out = dir.path().join("out.npy");
    let w2 = dir.path().join("w2.npy");
    write_npy(&w2, &Array1::from(vec![1.0f64, 2.0])).unwrap();
    let w22 = dir.path().join("w22.npy");
    write_npy(&w22, &Array2::<f64>::ones((2, 3))).unwrap();
    let vi = dir.path().join("vi.npy");
    write_npy(&vi, &Array2::<f64>::eye(2)).unwrap();
    let negative = dir.path().join("neg.txt");
    std::fs::write(&negative, "1 -2 3\n").unwrap();
    let cases: [(&[&str], &[&str]); 8] = [
        (&["-m", "euclidean", "--p", "3"], &["metric 'euclidean' takes no parameter p"]),
        (&["-m", "minkowski", "--p", "0"], &["p must be greater than 0"]),
        (&["-m", "euclidean", "--w", s(&w2)], &["Weights must have same size as input vector. 2 vs. 3."]),
        (&["-m", "euclidean", "--w", s(&w22)], &["w must be 1-D", "w22.npy"]),
        (&["-m", "cityblock", "--w", s(&negative)], &["Input weights should be all non-negative"]),
        (&["-m", "jensenshannon", "--w", s(&negative)], &["metric 'jensenshannon' takes no weights w"]),
        (&["-m", "cosine", "--V", s(&w2)], &["metric 'cosine' takes no variances V"]),
        (&["-m", "mahalanobis", "--VI", s(&vi)], &["VI is 2 x 2 but the points have 3 dimensions"]),
    ];
    for (params, expect) in cases {
        let mut args = vec!["cdist", s(&x), "-o", s(&out), "--backend", "cpu"];
        args.extend(params);
        fails(&args, &out, expect);
    }
}
