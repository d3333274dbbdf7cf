//! Outputs that are no regular file (issue 24, item 3): a character device (`/dev/null`,
//! `/dev/full`, or a node made with `mknod`), or a FIFO with a reader, is written into and
//! stays what it was; a full device is an error naming it, with nothing left beside it. Every
//! command (cdist, pdist, knn, radius) and every format (`.npy`, `.npz`, text).
//!
//! The expected numbers are computed here in f64 from the points, never by pairdist.

use std::io::Cursor;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ndarray::Array2;
use ndarray_npy::{NpzReader, ReadNpyExt, write_npy};
use tempfile::TempDir;

fn pairdist() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pairdist"));
    cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir()).env_remove("RUST_LOG");
    cmd
}

/// 6 points in 2-D with exact f32 distances (3-4-5 triangles among others).
fn points() -> Array2<f32> {
    Array2::from_shape_vec((6, 2), vec![0., 0., 3., 4., 6., 8., 0., 4., 3., 0., 1., 1.]).unwrap()
}

fn euclidean(x: &Array2<f32>, i: usize, j: usize) -> f64 {
    let (a, b) = (x.row(i), x.row(j));
    a.iter().zip(b.iter()).map(|(&p, &q)| (f64::from(p) - f64::from(q)).powi(2)).sum::<f64>().sqrt()
}

/// Runs `pairdist args` (in `dir`) to completion; asserts it did not panic.
fn run(dir: &Path, args: &[&str]) -> Output {
    let out = pairdist().args(args).current_dir(dir).output().expect("pairdist runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    out
}

/// Names in `dir` that end in `.partial`: temporary outputs left behind.
fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect()
}

/// A `cat` reading the FIFO at `path` into memory (its stdout), started before pairdist.
fn reader(path: &Path) -> Child {
    Command::new("cat").arg(path).stdout(Stdio::piped()).spawn().expect("cat starts")
}

/// What the reader got; fails (instead of hanging) when no writer ever came.
fn read_all(mut cat: Child, what: &str) -> Vec<u8> {
    let since = Instant::now();
    while cat.try_wait().unwrap().is_none() {
        if since.elapsed() > Duration::from_secs(60) {
            let _ = cat.kill();
            let _ = cat.wait();
            panic!("{what}: the FIFO's reader never saw the end of the output (was the FIFO replaced?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cat.wait_with_output().unwrap().stdout
}

/// Whether `got` (a float32 result) is within float32's rounding of `want`.
fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-6 * want.abs().max(1.0)
}

fn is_fifo(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

fn make_fifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Lines of text as numbers, `#` lines skipped (as NumPy's `loadtxt` reads them).
fn numbers(text: &[u8], delimiter: char) -> Vec<Vec<f64>> {
    let text = std::str::from_utf8(text).expect("text output");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let fields: Vec<&str> =
                if delimiter == ' ' { l.split_whitespace().collect() } else { l.split(delimiter).collect() };
            fields.iter().map(|v| v.parse().unwrap_or_else(|_| panic!("not a number: {v:?} in {l:?}"))).collect()
        })
        .collect()
}

#[test]
fn a_fifo_with_a_reader_is_written_into_and_stays_a_fifo() {
    let dir = TempDir::new().unwrap();
    let x = points();
    write_npy(dir.path().join("x.npy"), &x).unwrap();
    let n = x.nrows();

    // cdist as .npy.
    let fifo = dir.path().join("d.npy");
    make_fifo(&fifo);
    let cat = reader(&fifo);
    let out = run(dir.path(), &["cdist", "x.npy", "-o", "d.npy", "-b", "cpu", "-q"]);
    assert!(out.status.success(), "cdist: {}", String::from_utf8_lossy(&out.stderr));
    let d = Array2::<f32>::read_npy(Cursor::new(read_all(cat, "cdist .npy"))).expect("a .npy came through the FIFO");
    assert_eq!(d.dim(), (n, n));
    for ((i, j), &v) in d.indexed_iter() {
        assert!(close(f64::from(v), euclidean(&x, i, j)), "cdist ({i}, {j}): {v}");
    }
    assert!(is_fifo(&fifo), "the FIFO was replaced");

    // pdist as text (csv), and through a FIFO with no extension (written as text, as `-o -`).
    for (name, delimiter) in [("p.csv", ','), ("p", ' ')] {
        let fifo = dir.path().join(name);
        make_fifo(&fifo);
        let cat = reader(&fifo);
        let out = run(dir.path(), &["pdist", "x.npy", "-o", name, "-b", "cpu", "-q"]);
        assert!(out.status.success(), "pdist {name}: {}", String::from_utf8_lossy(&out.stderr));
        let got: Vec<f64> = numbers(&read_all(cat, name), delimiter).concat();
        let want: Vec<f64> =
            (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).map(|(i, j)| euclidean(&x, i, j)).collect();
        assert_eq!(got.len(), want.len(), "pdist {name}");
        for (g, w) in got.iter().zip(&want) {
            assert!(close(*g, *w), "pdist {name}: {g} vs {w}");
        }
        assert!(is_fifo(&fifo), "{name}: the FIFO was replaced");
    }

    // knn as .npz (written whole, with seeks: through a temporary file).
    let fifo = dir.path().join("nn.npz");
    make_fifo(&fifo);
    let cat = reader(&fifo);
    let out = run(dir.path(), &["knn", "x.npy", "-k", "2", "-o", "nn.npz", "-b", "cpu", "-q"]);
    assert!(out.status.success(), "knn: {}", String::from_utf8_lossy(&out.stderr));
    let mut npz = NpzReader::new(Cursor::new(read_all(cat, "knn .npz"))).expect("an .npz came through the FIFO");
    let (indices, distances): (Array2<i64>, Array2<f32>) =
        (npz.by_name("indices").unwrap(), npz.by_name("distances").unwrap());
    for i in 0..n {
        let mut all: Vec<(f64, usize)> = (0..n).filter(|&j| j != i).map(|j| (euclidean(&x, i, j), j)).collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for c in 0..2 {
            assert_eq!(indices[(i, c)], all[c].1 as i64, "knn ({i}, {c})");
            assert!(close(f64::from(distances[(i, c)]), all[c].0), "knn ({i}, {c})");
        }
    }
    assert!(is_fifo(&fifo), "nn.npz: the FIFO was replaced");

    // radius as text.
    let fifo = dir.path().join("r.tsv");
    make_fifo(&fifo);
    let cat = reader(&fifo);
    let out = run(dir.path(), &["radius", "x.npy", "-r", "5", "-o", "r.tsv", "-b", "cpu", "-q"]);
    assert!(out.status.success(), "radius: {}", String::from_utf8_lossy(&out.stderr));
    let got = numbers(&read_all(cat, "radius .tsv"), '\t');
    let want: Vec<Vec<f64>> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .filter(|&(i, j)| euclidean(&x, i, j) <= 5.0)
        .map(|(i, j)| vec![i as f64, j as f64, euclidean(&x, i, j)])
        .collect();
    assert_eq!(got.len(), want.len(), "radius pairs");
    for (g, w) in got.iter().zip(&want) {
        assert!(g[..2] == w[..2] && close(g[2], w[2]), "radius: {g:?} vs {w:?}");
    }
    assert!(is_fifo(&fifo), "r.tsv: the FIFO was replaced");
    assert_eq!(partials(dir.path()), Vec::<String>::new());
}

/// Character devices to write to under `dir`: a link to each of `/dev/null` and `/dev/full`
/// (any user can make one), and, where this process may (root), nodes made with `mknod`.
/// Returns (null-like, full-like) paths, without extension; the caller adds one by linking.
fn devices(dir: &Path) -> (Vec<std::path::PathBuf>, Vec<std::path::PathBuf>) {
    let (mut null, mut full) = (Vec::new(), Vec::new());
    for (target, list) in [("/dev/null", &mut null), ("/dev/full", &mut full)] {
        let link = dir.join(format!("link-{}", &target[5..]));
        std::os::unix::fs::symlink(target, &link).unwrap();
        list.push(link);
    }
    for (minor, list) in [("3", &mut null), ("7", &mut full)] {
        let node = dir.join(format!("node-1-{minor}"));
        let made = Command::new("mknod").arg(&node).args(["c", "1", minor]).stderr(Stdio::null()).status();
        if made.is_ok_and(|s| s.success()) {
            list.push(node);
        }
    }
    (null, full)
}

/// What `path` is now: a link to where, a character device, or something else.
fn kind(path: &Path) -> String {
    let meta = std::fs::symlink_metadata(path).unwrap();
    if meta.file_type().is_symlink() {
        format!("link to {}", std::fs::read_link(path).unwrap().display())
    } else if meta.file_type().is_char_device() {
        "character device".into()
    } else {
        format!("{:?}", meta.file_type())
    }
}

#[test]
fn character_devices_are_written_into_and_a_full_one_is_an_error() {
    let dir = TempDir::new().unwrap();
    write_npy(dir.path().join("x.npy"), &points()).unwrap();
    let (null, full) = devices(dir.path());
    let commands: [(&str, &[&str], &str); 5] = [
        ("cdist", &["cdist", "x.npy"], "npy"),
        ("cdist text", &["cdist", "x.npy"], "csv"),
        ("pdist", &["pdist", "x.npy"], "npy"),
        ("knn", &["knn", "x.npy", "-k", "2"], "npz"),
        ("radius", &["radius", "x.npy", "-r", "5"], "txt"),
    ];
    for (devices, fills) in [(&null, false), (&full, true)] {
        for device in devices {
            for (what, args, ext) in commands {
                // The output's name says the format: a link with that extension to the device.
                let name = format!("{}-{what}.{ext}", device.file_name().unwrap().to_string_lossy()).replace(' ', "-");
                let output = dir.path().join(&name);
                std::os::unix::fs::symlink(device, &output).unwrap();
                let before = (kind(&output), kind(device));
                let mut all = args.to_vec();
                all.extend(["-o", &name, "-b", "cpu", "-q"]);
                let out = run(dir.path(), &all);
                let stderr = String::from_utf8_lossy(&out.stderr);
                let what = format!("{what} -o {name} ({})", before.1);
                if fills {
                    assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
                    let lines: Vec<&str> = stderr.lines().collect();
                    assert_eq!(lines.len(), 1, "{what}: one line expected:\n{stderr}");
                    assert!(
                        lines[0].starts_with("pairdist: error: ")
                            && lines[0].contains(&name)
                            && lines[0].contains("No space left"),
                        "{what}: {stderr}"
                    );
                } else {
                    assert!(out.status.success(), "{what}: {stderr}");
                }
                assert_eq!((kind(&output), kind(device)), before, "{what}: the output was replaced");
                assert_eq!(partials(dir.path()), Vec::<String>::new(), "{what}: a temporary file was left");
            }
        }
    }
    // A regular file is still written to a temporary file and renamed: a reader of the old
    // file keeps the old content.
    std::fs::write(dir.path().join("d.npy"), b"old").unwrap();
    let old = std::fs::File::open(dir.path().join("d.npy")).unwrap();
    let out = run(dir.path(), &["cdist", "x.npy", "-o", "d.npy", "-b", "cpu", "-q"]);
    assert!(out.status.success());
    let mut kept = String::new();
    std::io::Read::read_to_string(&mut &old, &mut kept).unwrap();
    assert_eq!(kept, "old", "the regular file was overwritten in place, not replaced");
    let d = Array2::<f32>::read_npy(std::fs::File::open(dir.path().join("d.npy")).unwrap()).unwrap();
    assert_eq!(d[(0, 1)], 5.0);
}
