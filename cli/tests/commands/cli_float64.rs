//! float64 on the command line: float64 input gives float64 output computed in f64 (as SciPy
//! users expect), `--dtype f32` writes float32, `--dtype f64` computes float32 input in f64,
//! and `--check` holds f64 results to the f64 bound; on the CPU and the GPU engine.

use std::path::Path;

use assert_cmd::Command;
use ndarray::{Array1, Array2};
use ndarray_npy::{NpzReader, read_npy, write_npy};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tempfile::TempDir;

const BACKENDS: [&str; 2] = ["cpu", "gpu"];

/// Whether the GPU backend's adapter computes in f64 (offers SHADER_F64).
fn gpu_computes_f64() -> bool {
    let engine = pairdist::Engine::new(pairdist::Backend::Gpu).expect("no GPU adapter");
    engine.why_on_cpu(pairdist::Dtype::F64).is_none()
}

/// Runs `pairdist args`; returns (success, stderr), failing on a panic.
fn run(args: &[&str]) -> (bool, String) {
    let out = Command::cargo_bin("pairdist").unwrap().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "pairdist {args:?} panicked:\n{stderr}");
    (out.status.success(), stderr)
}

/// Runs `pairdist args` expecting success; returns stderr.
fn ok(args: &[&str]) -> String {
    let (success, stderr) = run(args);
    assert!(success, "pairdist {args:?} failed:\n{stderr}");
    stderr
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Points near 1e4 that differ by less than 1: rounded to f32 (spacing 1e-3 there) their
/// distances move by about 1e-4 relative, so only an f64 computation meets 1e-12.
fn offset_points(seed: u64, n: usize, d: usize) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n, d), || 1e4 + rng.random_range(0.0..1.0))
}

/// Euclidean distance in f64, written out here.
fn euclidean(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

fn cdist_ref(x: &Array2<f64>, y: &Array2<f64>) -> Array2<f64> {
    Array2::from_shape_fn((x.nrows(), y.nrows()), |(i, j)| euclidean(&x.row(i).to_vec(), &y.row(j).to_vec()))
}

fn pdist_ref(x: &Array2<f64>) -> Vec<f64> {
    let n = x.nrows();
    (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .map(|(i, j)| euclidean(&x.row(i).to_vec(), &x.row(j).to_vec()))
        .collect()
}

/// The dtype a `.npy` file's header names, such as `<f8`.
fn npy_dtype(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let header = String::from_utf8_lossy(&bytes[..bytes.len().min(128)]).into_owned();
    let at = header.find("'descr': '").unwrap_or_else(|| panic!("no dtype in {header:?}"));
    header[at + 10..].split('\'').next().unwrap().to_string()
}

/// Asserts every `got` is within `rel` (relative) of `want`.
fn assert_within(what: &str, got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= rel * w.abs(), "{what}: entry {k}: {g:e} vs {w:e} (relative {:e})", (g - w).abs() / w);
    }
}

#[test]
fn float64_input_gives_float64_output_computed_in_f64() {
    let dir = TempDir::new().unwrap();
    let (xa, xb) = (offset_points(1, 60, 3), offset_points(2, 45, 3));
    let (a, b) = (dir.path().join("a.npy"), dir.path().join("b.npy"));
    write_npy(&a, &xa).unwrap();
    write_npy(&b, &xb).unwrap();
    let (want, want_p) = (cdist_ref(&xa, &xb), pdist_ref(&xa));
    // The premise: an f32 computation could not meet the bound checked here.
    let rounded = xa.mapv(|v| f64::from(v as f32));
    let worst = pdist_ref(&rounded).iter().zip(&want_p).map(|(r, w)| (r - w).abs() / w).fold(0.0, f64::max);
    assert!(worst > 1e-6, "test data: rounding to f32 moves distances by only {worst:e}");
    for backend in BACKENDS {
        let out = dir.path().join(format!("d-{backend}.npy"));
        let stderr = ok(&["cdist", s(&a), s(&b), "-o", s(&out), "-b", backend, "--check"]);
        assert!(stderr.contains("computing in float64, writing float64"), "{stderr}");
        assert!(!stderr.contains("WARN"), "no warning is due:\n{stderr}");
        // A GPU engine computes float64 on the device where it offers SHADER_F64 (lavapipe
        // does), and says in one line why float64 runs on the CPU where it does not.
        let why = stderr.lines().filter(|l| l.contains("float64 runs on the CPU: ")).count();
        assert_eq!(why, usize::from(backend == "gpu" && !gpu_computes_f64()), "{backend}:\n{stderr}");
        let check = stderr.lines().find(|l| l.starts_with("check:")).unwrap_or_else(|| panic!("{stderr}"));
        assert!(check.contains("within tolerance") && check.contains("float64"), "{check}");
        assert_eq!(npy_dtype(&out), "<f8", "{backend}");
        let got: Array2<f64> = read_npy(&out).unwrap();
        assert_within(&format!("cdist {backend}"), got.as_slice().unwrap(), want.as_slice().unwrap(), 1e-12);

        // Text carries every digit: it reads back to the .npy's values exactly.
        let csv = dir.path().join(format!("d-{backend}.csv"));
        ok(&["cdist", s(&a), s(&b), "-o", s(&csv), "-b", backend, "-q"]);
        let text: Vec<f64> = std::fs::read_to_string(&csv)
            .unwrap()
            .lines()
            .flat_map(|l| l.split(',').map(|v| v.parse::<f64>().unwrap()).collect::<Vec<_>>())
            .collect();
        assert_eq!(text.as_slice(), got.as_slice().unwrap(), "{backend}: text differs from .npy");

        let p = dir.path().join(format!("p-{backend}.npy"));
        ok(&["pdist", s(&a), "-o", s(&p), "-b", backend, "-q", "--check"]);
        assert_eq!(npy_dtype(&p), "<f8");
        let got: Array1<f64> = read_npy(&p).unwrap();
        assert_within(&format!("pdist {backend}"), got.as_slice().unwrap(), &want_p, 1e-12);
    }
}

#[test]
fn dtype_chooses_the_output_and_the_wider_type_is_computed_in() {
    let dir = TempDir::new().unwrap();
    let x64 = offset_points(3, 50, 4);
    let x32 = x64.mapv(|v| v as f32);
    let (a64, a32) = (dir.path().join("x64.npy"), dir.path().join("x32.npy"));
    write_npy(&a64, &x64).unwrap();
    write_npy(&a32, &x32).unwrap();
    for backend in BACKENDS {
        // float64 in, float32 out: the f64 results, each rounded once.
        let out = dir.path().join(format!("p32-{backend}.npy"));
        let stderr = ok(&["pdist", s(&a64), "-o", s(&out), "-b", backend, "--dtype", "f32", "--check"]);
        assert!(stderr.contains("computing in float64, writing float32"), "{stderr}");
        assert!(stderr.lines().any(|l| l.starts_with("check:") && l.contains("within tolerance")), "{stderr}");
        assert_eq!(npy_dtype(&out), "<f4");
        let got: Array1<f32> = read_npy(&out).unwrap();
        let got: Vec<f64> = got.iter().map(|&v| f64::from(v)).collect();
        assert_within(&format!("f32 of f64 {backend}"), &got, &pdist_ref(&x64), f64::from(f32::EPSILON) / 2.0 + 1e-12);

        // float32 in, float64 out: computed in f64 from the float32 values (widened exactly).
        let out = dir.path().join(format!("p64-{backend}.npy"));
        let stderr = ok(&["pdist", s(&a32), "-o", s(&out), "-b", backend, "--dtype", "float64", "--check", "-q"]);
        assert!(stderr.lines().any(|l| l.starts_with("check:") && l.contains("within tolerance")), "{stderr}");
        assert_eq!(npy_dtype(&out), "<f8");
        let got: Array1<f64> = read_npy(&out).unwrap();
        let widened = x32.mapv(f64::from);
        assert_within(&format!("f64 of f32 {backend}"), got.as_slice().unwrap(), &pdist_ref(&widened), 1e-12);

        // float32 in, nothing asked: float32 as before.
        let out = dir.path().join(format!("p-{backend}.npy"));
        ok(&["pdist", s(&a32), "-o", s(&out), "-b", backend, "-q"]);
        assert_eq!(npy_dtype(&out), "<f4");
    }
    // A dtype pairdist does not write: one line, nothing written.
    let out = dir.path().join("never.npy");
    let (success, stderr) = run(&["pdist", s(&a64), "-o", s(&out), "--dtype", "f16"]);
    assert!(!success && !out.exists(), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert!(errors.len() == 1 && errors[0].contains("f16") && errors[0].contains("f64"), "{stderr}");
}

#[test]
fn knn_and_radius_of_float64_input_write_float64_distances() {
    let dir = TempDir::new().unwrap();
    let (x, y) = (offset_points(4, 40, 2), offset_points(5, 300, 2));
    let (a, b) = (dir.path().join("q.npy"), dir.path().join("base.npy"));
    write_npy(&a, &x).unwrap();
    write_npy(&b, &y).unwrap();
    let d = cdist_ref(&x, &y);
    for backend in BACKENDS {
        for dtype in ["f64", "f32"] {
            let out = dir.path().join(format!("nn-{backend}-{dtype}.npz"));
            let stderr =
                ok(&["knn", s(&a), s(&b), "-k", "4", "-o", s(&out), "-b", backend, "--dtype", dtype, "--check"]);
            assert!(stderr.lines().any(|l| l.starts_with("check:") && l.contains("within tolerance")), "{stderr}");
            let mut npz = NpzReader::new(std::fs::File::open(&out).unwrap()).unwrap();
            let indices: Array2<i64> = npz.by_name("indices").unwrap();
            let distances: Vec<f64> = if dtype == "f64" {
                npz.by_name::<ndarray::OwnedRepr<f64>, ndarray::Ix2>("distances").unwrap().iter().copied().collect()
            } else {
                npz.by_name::<ndarray::OwnedRepr<f32>, ndarray::Ix2>("distances")
                    .unwrap()
                    .iter()
                    .map(|&v| v.into())
                    .collect()
            };
            let rel = if dtype == "f64" { 1e-12 } else { f64::from(f32::EPSILON) / 2.0 + 1e-12 };
            for i in 0..x.nrows() {
                // The reference's 4 nearest, by (distance, index).
                let mut order: Vec<usize> = (0..y.nrows()).collect();
                order.sort_by(|&p, &q| d[(i, p)].total_cmp(&d[(i, q)]).then(p.cmp(&q)));
                for c in 0..4 {
                    assert_eq!(indices[(i, c)], order[c] as i64, "{backend} {dtype} row {i} rank {c}");
                    let (g, w) = (distances[i * 4 + c], d[(i, order[c])]);
                    assert!((g - w).abs() <= rel * w, "{backend} {dtype} row {i}: {g:e} vs {w:e}");
                }
            }
        }
        let out = dir.path().join(format!("r-{backend}.npz"));
        ok(&["radius", s(&a), s(&b), "-r", "0.1", "-o", s(&out), "-b", backend, "--check", "-q"]);
        let mut npz = NpzReader::new(std::fs::File::open(&out).unwrap()).unwrap();
        let (rows, cols): (Array1<i64>, Array1<i64>) = (npz.by_name("rows").unwrap(), npz.by_name("cols").unwrap());
        let distances: Array1<f64> = npz.by_name("distances").unwrap();
        let want: Vec<(i64, i64)> = (0..x.nrows())
            .flat_map(|i| (0..y.nrows()).map(move |j| (i, j)))
            .filter(|&(i, j)| d[(i, j)] <= 0.1)
            .map(|(i, j)| (i as i64, j as i64))
            .collect();
        let got: Vec<(i64, i64)> = rows.iter().copied().zip(cols.iter().copied()).collect();
        assert!(!want.is_empty(), "test data: no pair within 0.1");
        assert_eq!(got, want, "{backend}: pairs within 0.1");
        for (p, &(i, j)) in got.iter().enumerate() {
            let w = d[(i as usize, j as usize)];
            assert!((distances[p] - w).abs() <= 1e-12 * w, "{backend} ({i}, {j}): {} vs {w}", distances[p]);
        }
    }
}

/// Text has no dtype: it computes in float32 by default (the GPU's type), and with `--dtype
/// f64` in f64 from its decimal values themselves, not from their float32 roundings.
#[test]
fn text_input_with_dtype_f64_is_read_exactly() {
    let dir = TempDir::new().unwrap();
    let x = offset_points(21, 9, 3);
    let txt = dir.path().join("x.txt");
    // 17 significant digits: the text holds these f64 values exactly.
    let lines: Vec<String> =
        x.rows().into_iter().map(|r| r.iter().map(|v| format!("{v:.17e}")).collect::<Vec<_>>().join(" ")).collect();
    std::fs::write(&txt, lines.join("\n")).unwrap();
    for backend in BACKENDS {
        let out = dir.path().join(format!("{backend}.npy"));
        ok(&["pdist", s(&txt), "-o", s(&out), "--dtype", "f64", "--backend", backend, "--check"]);
        assert_eq!(npy_dtype(&out), "<f8", "{backend}");
        let got: Array1<f64> = read_npy(&out).unwrap();
        assert_within(&format!("{backend} text --dtype f64"), got.as_slice().unwrap(), &pdist_ref(&x), 1e-12);
        // By default: float32 output.
        let out32 = dir.path().join(format!("{backend}32.npy"));
        ok(&["pdist", s(&txt), "-o", s(&out32), "--backend", backend]);
        assert_eq!(npy_dtype(&out32), "<f4", "{backend}");
    }
}

/// Parameters given as text are exact too: weights of float64 points, as decimals, reach the
/// f64 computation unrounded.
#[test]
fn text_parameters_are_read_exactly() {
    let dir = TempDir::new().unwrap();
    // Near the origin: a weight is a scale of the coordinates (before their difference), which
    // far from the origin costs ε·|x| / |x − y| relative, more than 1e-12 for offset points.
    let x = offset_points(22, 8, 3).mapv(|v| v - 1e4);
    let (xp, wp) = (dir.path().join("x.npy"), dir.path().join("w.txt"));
    write_npy(&xp, &x).unwrap();
    let w = [0.1, 0.3, 0.7];
    std::fs::write(&wp, "0.1\n0.3\n0.7\n").unwrap();
    let n = x.nrows();
    let want: Vec<f64> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .map(|(i, j)| (0..3).map(|k| w[k] * (x[(i, k)] - x[(j, k)]).powi(2)).sum::<f64>().sqrt())
        .collect();
    for backend in BACKENDS {
        let out = dir.path().join(format!("{backend}.npy"));
        ok(&["pdist", s(&xp), "-o", s(&out), "--w", s(&wp), "--backend", backend]);
        let got: Array1<f64> = read_npy(&out).unwrap();
        assert_within(&format!("{backend} weights as text"), got.as_slice().unwrap(), &want, 1e-12);
    }
}
