//! `pairdist knn` and `pairdist radius` as a user runs them: `.npz` and text answers equal to
//! what an f64 search written here gives, on the CPU and the GPU; bad arguments fail with one
//! line and leave nothing at the output path.

use std::path::Path;

use assert_cmd::Command;
use ndarray::{Array1, Array2};
use ndarray_npy::{NpzReader, write_npy};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tempfile::TempDir;

const BACKENDS: [&str; 2] = ["cpu", "gpu"];

/// Runs `pairdist args`; returns (success, stdout, stderr), failing on a panic.
fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::cargo_bin("pairdist").unwrap().args(args).output().unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(!stderr.contains("panicked"), "pairdist {args:?} panicked:\n{stderr}");
    (out.status.success(), stdout, stderr)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Small integer coordinates: every distance is exact in f32, and ties abound.
fn grid(seed: u64, n: usize, d: usize) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n, d), || rng.random_range(0..5) as f32)
}

/// The f64 distance, written out here.
fn euclidean(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>().sqrt()
}

/// The reference k nearest of every row: sorted by (distance, index), self left out if `own`.
fn reference(x: &Array2<f32>, y: &Array2<f32>, k: usize, own: bool) -> Vec<Vec<(i64, f32)>> {
    (0..x.nrows())
        .map(|i| {
            let xi = x.row(i).to_vec();
            let mut all: Vec<(f64, i64)> = (0..y.nrows())
                .filter(|&j| !(own && i == j))
                .map(|j| (euclidean(&xi, &y.row(j).to_vec()), j as i64))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            all.into_iter().take(k).map(|(d, j)| (j, d as f32)).collect()
        })
        .collect()
}

#[test]
fn knn_writes_the_reference_lists_as_npz_and_text() {
    let dir = TempDir::new().unwrap();
    let (xa, xb) = (dir.path().join("xa.npy"), dir.path().join("xb.npy"));
    let (x, y) = (grid(1, 90, 3), grid(2, 400, 3));
    write_npy(&xa, &x).unwrap();
    write_npy(&xb, &y).unwrap();
    for backend in BACKENDS {
        for (k, own) in [(1, false), (7, false), (40, false), (5, true)] {
            let out = dir.path().join(format!("nn-{backend}-{k}-{own}.npz"));
            let mut args = vec!["knn", s(&xa)];
            if !own {
                args.push(s(&xb));
            }
            let k_text = k.to_string();
            args.extend(["-k", &k_text, "-o", s(&out), "-b", backend, "--check", "-q"]);
            let (ok, _, stderr) = run(&args);
            assert!(ok, "{args:?}: {stderr}");
            assert!(stderr.contains("check:") && stderr.contains("within tolerance"), "{stderr}");
            let mut npz = NpzReader::new(std::fs::File::open(&out).unwrap()).unwrap();
            let indices: Array2<i64> = npz.by_name("indices").unwrap();
            let distances: Array2<f32> = npz.by_name("distances").unwrap();
            let want = reference(&x, if own { &x } else { &y }, k, own);
            for (i, row) in want.iter().enumerate() {
                for (c, &(j, d)) in row.iter().enumerate() {
                    assert_eq!((indices[(i, c)], distances[(i, c)]), (j, d), "{backend} k={k} own={own} ({i}, {c})");
                }
            }
        }
        // Text: a `#` header, then row, rank, index, distance.
        let csv = dir.path().join(format!("nn-{backend}.csv"));
        let (ok, _, stderr) = run(&["knn", s(&xa), s(&xb), "-k", "3", "-o", s(&csv), "-b", backend, "-q"]);
        assert!(ok, "{stderr}");
        let text = std::fs::read_to_string(&csv).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("# row,rank,index,distance"));
        let want = reference(&x, &y, 3, false);
        for (line, (i, c)) in lines.zip((0..90).flat_map(|i| (0..3).map(move |c| (i, c)))) {
            let f: Vec<&str> = line.split(',').collect();
            let (j, d) = want[i][c];
            assert_eq!(f[..3], [i.to_string(), c.to_string(), j.to_string()], "{backend} line {line}");
            assert_eq!(f[3].parse::<f32>().unwrap(), d);
        }
    }
}

#[test]
fn radius_writes_the_reference_pairs() {
    let dir = TempDir::new().unwrap();
    let (xa, xb) = (dir.path().join("xa.npy"), dir.path().join("xb.npy"));
    let (x, y) = (grid(3, 120, 2), grid(4, 300, 2));
    write_npy(&xa, &x).unwrap();
    write_npy(&xb, &y).unwrap();
    let r = 1.5f32;
    for backend in BACKENDS {
        for own in [false, true] {
            let out = dir.path().join(format!("r-{backend}-{own}.npz"));
            let other = if own { &x } else { &y };
            let mut args = vec!["radius", s(&xa)];
            if !own {
                args.push(s(&xb));
            }
            args.extend(["-r", "1.5", "-o", s(&out), "-b", backend, "--check", "-q"]);
            let (ok, _, stderr) = run(&args);
            assert!(ok, "{args:?}: {stderr}");
            let mut npz = NpzReader::new(std::fs::File::open(&out).unwrap()).unwrap();
            let rows: Array1<i64> = npz.by_name("rows").unwrap();
            let cols: Array1<i64> = npz.by_name("cols").unwrap();
            let distances: Array1<f32> = npz.by_name("distances").unwrap();
            let mut want = Vec::new();
            for i in 0..x.nrows() {
                for j in if own { i + 1 } else { 0 }..other.nrows() {
                    let d = euclidean(&x.row(i).to_vec(), &other.row(j).to_vec()) as f32;
                    if d <= r {
                        want.push((i as i64, j as i64, d));
                    }
                }
            }
            let got: Vec<_> = (0..rows.len()).map(|p| (rows[p], cols[p], distances[p])).collect();
            assert!(got == want, "{backend} own={own}: {} pairs, {} expected", got.len(), want.len());
        }
        // Past the cap: one line, nothing written.
        let out = dir.path().join("capped.npz");
        let (ok, _, stderr) = run(&["radius", s(&xa), "-r", "100", "--max-pairs", "10", "-o", s(&out), "-b", backend]);
        assert!(!ok && stderr.contains("more than 10 pairs") && !out.exists(), "{stderr}");
    }
}

#[test]
fn bad_arguments_fail_with_one_line_and_no_output() {
    let dir = TempDir::new().unwrap();
    let xa = dir.path().join("xa.npy");
    write_npy(&xa, &grid(5, 10, 2)).unwrap();
    let out = dir.path().join("out.npz");
    let npy = dir.path().join("out.npy");
    let cases: [(&[&str], &str); 5] = [
        (&["knn", s(&xa), "-k", "0", "-o", s(&out)], "k must be at least 1"),
        (&["knn", s(&xa), "-k", "10", "-o", s(&out)], "only 9 candidates"),
        (&["knn", s(&xa), "-k", "2", "-o", s(&npy)], ".npz"),
        (&["radius", s(&xa), "-r", "-1", "-o", s(&out)], "radius must be a number >= 0"),
        (&["radius", s(&xa), "-r", "nan", "-o", s(&out)], "radius must be a number >= 0"),
    ];
    for (args, expect) in cases {
        let (ok, _, stderr) = run(args);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("pairdist: error:")).collect();
        assert!(!ok && errors.len() == 1 && errors[0].contains(expect), "{args:?}: {stderr}");
        assert!(!out.exists() && !npy.exists(), "{args:?} left an output");
    }
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().to_string_lossy().ends_with(".partial"));
    assert_eq!(leftovers.count(), 0);
}

#[test]
fn metrics_lists_every_metric_with_its_formula() {
    let (ok, stdout, _) = run(&["metrics"]);
    assert!(ok);
    for (name, formula) in [
        ("euclidean", "√Σ (x − y)²"),
        ("sqeuclidean", "Σ (x − y)²"),
        ("cityblock", "Σ |x − y|"),
        ("minkowski", "(Σ |x − y|^p)^(1/p)"),
        ("mahalanobis", "VI"),
    ] {
        assert!(stdout.lines().any(|l| l.starts_with(name) && l.contains(formula)), "{name}: {stdout}");
    }
    assert!(stdout.contains("manhattan"));
}
