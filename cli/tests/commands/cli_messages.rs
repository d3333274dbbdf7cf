//! What the command line says matches what it does (issue 24, items 4, 6 and 9): knn and
//! radius text loads as numbers (its header is a `#` comment), negative numbers given to a flag
//! get that flag's own message, and the README and `--help` name the metrics and types the
//! tool really takes.
//!
//! Expected distances are computed here in f64 from the points, never by pairdist.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use ndarray::Array2;
use ndarray_npy::{ReadNpyExt, write_npy};
use tempfile::TempDir;

fn pairdist() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pairdist"));
    cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir()).env_remove("RUST_LOG");
    cmd
}

/// Runs `pairdist args` in `dir`; asserts it did not panic.
fn run(dir: &Path, args: &[&str]) -> Output {
    let out = pairdist().args(args).current_dir(dir).output().expect("pairdist runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// 5 points in 2-D with exact f32 distances.
fn points() -> Array2<f32> {
    Array2::from_shape_vec((5, 2), vec![0., 0., 3., 4., 6., 8., 0., 4., 3., 0.]).unwrap()
}

fn euclidean(x: &Array2<f32>, i: usize, j: usize) -> f64 {
    let (a, b) = (x.row(i), x.row(j));
    a.iter().zip(b.iter()).map(|(&p, &q)| (f64::from(p) - f64::from(q)).powi(2)).sum::<f64>().sqrt()
}

/// Whether `got` (a float32 result) is within float32's rounding of `want`.
fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-6 * want.abs().max(1.0)
}

/// Text read as NumPy's `np.loadtxt(f, delimiter=d)` reads it: lines starting with `#` are
/// comments, every other line is numbers (an error otherwise: what loadtxt would raise).
fn loadtxt(text: &str, delimiter: Option<char>) -> Result<Vec<Vec<f64>>, String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| {
            let fields: Vec<&str> = match delimiter {
                Some(d) => l.split(d).collect(),
                None => l.split_whitespace().collect(),
            };
            fields.iter().map(|v| v.trim().parse::<f64>().map_err(|_| format!("could not convert {v:?}"))).collect()
        })
        .collect()
}

#[test]
fn knn_and_radius_text_loads_as_numbers_with_a_comment_header() {
    let dir = TempDir::new().unwrap();
    let x = points();
    write_npy(dir.path().join("x.npy"), &x).unwrap();
    let n = x.nrows();
    let mut knn_want = Vec::new();
    for i in 0..n {
        let mut all: Vec<(f64, usize)> = (0..n).filter(|&j| j != i).map(|j| (euclidean(&x, i, j), j)).collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (rank, &(d, j)) in all.iter().take(2).enumerate() {
            knn_want.push(vec![i as f64, rank as f64, j as f64, d]);
        }
    }
    let radius_want: Vec<Vec<f64>> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .filter(|&(i, j)| euclidean(&x, i, j) <= 5.0)
        .map(|(i, j)| vec![i as f64, j as f64, euclidean(&x, i, j)])
        .collect();
    for (output, delimiter) in [("out.csv", Some(',')), ("out.tsv", Some('\t')), ("out.txt", None), ("-", None)] {
        for (what, args, want, header) in [
            ("knn", ["knn", "x.npy", "-k", "2"], &knn_want, "row rank index distance"),
            ("radius", ["radius", "x.npy", "-r", "5"], &radius_want, "row col distance"),
        ] {
            let mut all = args.to_vec();
            all.extend(["-o", output, "-b", "cpu", "-q"]);
            let out = run(dir.path(), &all);
            assert!(out.status.success(), "{what} -o {output}: {}", stderr(&out));
            let text =
                if output == "-" { stdout(&out) } else { std::fs::read_to_string(dir.path().join(output)).unwrap() };
            let first = text.lines().next().unwrap_or_default();
            let named = header.replace(' ', &delimiter.unwrap_or(' ').to_string());
            assert_eq!(first, format!("# {named}"), "{what} -o {output}: the header line");
            let got = loadtxt(&text, delimiter).unwrap_or_else(|e| panic!("{what} -o {output}: {e}\n{text}"));
            assert_eq!(got.len(), want.len(), "{what} -o {output}: lines");
            for (g, w) in got.iter().zip(want.iter()) {
                // Indices exact; the distance (last) as float32 prints it.
                let last = w.len() - 1;
                assert_eq!(g[..last], w[..last], "{what} -o {output}");
                assert!(close(g[last], w[last]), "{what} -o {output}: {g:?} vs {w:?}");
            }
        }
    }
    // pairdist reads its own answers back too (its reader skips `#` lines as loadtxt does).
    let out = run(dir.path(), &["knn", "x.npy", "-k", "2", "-o", "nn.csv", "-b", "cpu", "-q"]);
    assert!(out.status.success());
    let out = run(dir.path(), &["cdist", "nn.csv", "-o", "back.npy", "-b", "cpu", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let back = Array2::<f32>::read_npy(std::fs::File::open(dir.path().join("back.npy")).unwrap()).unwrap();
    assert_eq!(back.dim(), (knn_want.len(), knn_want.len()));
}

#[test]
fn negative_numbers_get_the_flags_own_message() {
    let dir = TempDir::new().unwrap();
    write_npy(dir.path().join("x.npy"), &points()).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["knn", "x.npy", "-k", "-1", "-o", "nn.npz"], "k must be at least 1, got -1"),
        (&["knn", "x.npy", "--neighbors", "-3", "-o", "nn.npz"], "k must be at least 1, got -3"),
        (&["knn", "x.npy", "-k", "1.5", "-o", "nn.npz"], "k must be a whole number"),
        (&["radius", "x.npy", "-r", "-0.5", "-o", "r.npz"], "radius must be a number >= 0, not -0.5"),
        (&["radius", "x.npy", "-r", "1", "--max-pairs", "-1", "-o", "r.npz"], "max-pairs must be at least 0, got -1"),
        (&["cdist", "x.npy", "-m", "minkowski", "--p", "-1", "-o", "d.npy"], "p must be greater than 0 (got -1)"),
        (&["knn", "x.npy", "-k", "1", "-m", "minkowski", "--p", "-2.5", "-o", "nn.npz"], "p must be greater than 0"),
        (&["cdist", "x.npy", "--threads", "-2", "-o", "d.npy"], "threads must be a whole number of at least 1, got -2"),
        (&["cdist", "x.npy", "--memory-budget", "-1", "-o", "d.npy"], "'-1' is not a size in bytes"),
        (&["pdist", "x.npy", "--max-tile-bytes", "-4KiB", "-o", "d.npy"], "'-4KiB' is not a size in bytes"),
        (&["demo", "--n", "-5"], "n must be at least 0, got -5"),
        (&["demo", "--repeats", "-1"], "repeats must be at least 0, got -1"),
        (&["tune", "--d", "-8"], "d must be at least 0, got -8"),
    ];
    for &(args, want) in cases {
        let out = run(dir.path(), args);
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("pairdist: error:")).collect();
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(lines.len(), 1, "{args:?}: one error line expected:\n{err}");
        assert!(lines[0].contains(want), "{args:?}: expected {want:?}, got: {}", lines[0]);
        assert!(!err.contains("unexpected argument"), "{args:?}: clap took the number for a flag: {err}");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("x.npy")], "an output or temporary file was left");
}

/// The README of the repository.
fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md")
}

/// The cells of the README's flag-table row for `flag` (the row starting "| `flag").
fn readme_row(flag: &str) -> String {
    let text = readme();
    let row = text.lines().find(|l| l.starts_with(&format!("| `{flag}"))).unwrap_or_else(|| panic!("no {flag} row"));
    row.to_string()
}

/// The metrics `pairdist metrics` lists (their SciPy names) and those whose parameters name `w`.
fn listed_metrics() -> (Vec<String>, BTreeSet<String>) {
    let out = pairdist().arg("metrics").output().unwrap();
    assert!(out.status.success());
    let (mut names, mut weighted) = (Vec::new(), BTreeSet::new());
    for line in stdout(&out).lines() {
        if !line.starts_with(' ') {
            names.push(line.split_whitespace().next().unwrap().to_string());
        } else if let Some(params) = line.trim().strip_prefix("parameters:")
            && params.split(',').any(|p| p.split_whitespace().next() == Some("w"))
        {
            weighted.insert(names.last().unwrap().clone());
        }
    }
    (names, weighted)
}

#[test]
fn the_readme_names_the_weighted_metrics_the_tool_takes() {
    let dir = TempDir::new().unwrap();
    let x = Array2::from_shape_vec((4, 3), vec![1., 0., 2., 0., 1., 1., 3., 1., 0., 1., 2., 1.5f32]).unwrap();
    write_npy(dir.path().join("x.npy"), &x).unwrap();
    std::fs::write(dir.path().join("w.txt"), "1 0.5 2\n").unwrap();
    let (names, listed) = listed_metrics();
    // What really accepts --w: every metric run with weights.
    let mut accepted = BTreeSet::new();
    for name in &names {
        let out = run(dir.path(), &["cdist", "x.npy", "-m", name, "--w", "w.txt", "-o", "d.npy", "-b", "cpu", "-q"]);
        if out.status.success() {
            accepted.insert(name.clone());
        } else {
            let err = stderr(&out);
            assert!(err.contains("weight") || err.contains(" w"), "{name}: refused --w for another reason: {err}");
        }
    }
    assert_eq!(accepted, listed, "`pairdist metrics` and what accepts --w disagree");
    // The README's --w row: "... pairdist weights: a, b, c |".
    let row = readme_row("--w FILE");
    let list = row.rsplit(':').next().unwrap().trim_end_matches('|').trim();
    let documented: BTreeSet<String> = list.split(',').map(|m| m.trim().trim_matches('`').to_string()).collect();
    assert_eq!(documented, accepted, "README's --w row names other metrics than those that accept --w");
    // --w's help names the same metrics.
    let help = stdout(&pairdist().args(["cdist", "--help"]).output().unwrap());
    let w_help: String =
        help.split("--w <W>").nth(1).unwrap().split("\n  -").next().unwrap().split("\n      --").next().unwrap().into();
    let helped: BTreeSet<String> =
        w_help.rsplit(':').next().unwrap().split(',').map(|m| m.trim().to_string()).collect();
    assert_eq!(helped, accepted, "--w's help names other metrics than those that accept --w");
    // The README's --metric row and the --metric help name every metric.
    let metric_row = readme_row("-m, --metric");
    for name in &names {
        assert!(metric_row.contains(&format!("`{name}`")), "README's --metric row lacks {name}");
        assert!(help.contains(name.as_str()), "cdist --help lacks {name}");
    }
}

#[test]
fn dtype_help_says_what_text_is_read_and_computed_as() {
    let help = stdout(&pairdist().args(["cdist", "--help"]).output().unwrap());
    let dtype: String = help.split("--dtype").nth(1).unwrap().split("\n      --").next().unwrap().into();
    assert!(!dtype.contains("read as float32"), "--dtype's help says text is read as float32:\n{dtype}");
    assert!(dtype.contains("read as float64"), "--dtype's help does not say text is read as float64:\n{dtype}");
    // What is true: text decimals are read as float64 and, by default, written as float32;
    // --dtype f64 computes from the decimals as written (0.1 and 0.3 are not float32 values).
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("x.csv"), "0.1\n0.3\n").unwrap();
    let out = run(dir.path(), &["cdist", "x.csv", "-o", "d32.npy", "-b", "cpu", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let d32 = Array2::<f32>::read_npy(std::fs::File::open(dir.path().join("d32.npy")).unwrap());
    assert!(d32.is_ok(), "text input's default output is not float32");
    let out = run(dir.path(), &["cdist", "x.csv", "--dtype", "f64", "-o", "d64.npy", "-b", "cpu", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let d64 = Array2::<f64>::read_npy(std::fs::File::open(dir.path().join("d64.npy")).unwrap()).unwrap();
    assert_eq!(d64[(0, 1)], (0.3f64 - 0.1f64).abs(), "not computed from the decimals read as float64");
}
