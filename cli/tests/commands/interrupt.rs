//! A run stopped half way (Ctrl-C, Ctrl-\\, or a polite kill) leaves nothing under the
//! output's name and no temporary file beside it, on every path: `.npy` or text, CPU or GPU.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use ndarray::Array2;
use ndarray_npy::write_npy;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Names in `dir` other than the input.
fn others(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "x.npy")
        .collect()
}

/// Starts a cdist whose output (30000² f32, 3.6 GB) takes many seconds to write, and waits
/// until its temporary output exists: the run is then under way.
fn start_long_run(dir: &Path) -> Child {
    start_run(dir, 30_000, &["-o", "out.npy", "--backend", "cpu"])
}

/// Starts `pairdist cdist x.npy` with `args` on `n` random points in 3-D, and waits until
/// its temporary output exists.
fn start_run(dir: &Path, n: usize, args: &[&str]) -> Child {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let x = Array2::from_shape_simple_fn((n, 3), || rng.random_range(-1.0f32..1.0));
    write_npy(dir.join("x.npy"), &x).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_pairdist"))
        .args(["cdist", "x.npy", "--quiet"])
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let since = Instant::now();
    while !others(dir).iter().any(|n| n.ends_with(".partial")) {
        assert!(since.elapsed() < Duration::from_secs(60), "no temporary output appeared");
        sleep(Duration::from_millis(20));
    }
    sleep(Duration::from_millis(50));
    child
}

fn interrupt_with(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let child = start_long_run(dir.path());
    stop_with(signal, child, dir.path());
}

/// Sends `signal` to the run and asserts it stopped as interrupted, leaving nothing in `dir`.
fn stop_with(signal: &str, child: Child, dir: &Path) {
    let status = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{signal}: exit status {:?}, stderr: {stderr}", out.status);
    assert!(stderr.contains("interrupted"), "{signal}: {stderr}");
    assert!(!stderr.contains("panicked"), "{signal}: {stderr}");
    assert_eq!(others(dir), Vec::<String>::new(), "{signal}: files left behind");
}

#[test]
fn ctrl_c_leaves_nothing() {
    interrupt_with("-INT");
}

#[test]
fn sigterm_leaves_nothing() {
    interrupt_with("-TERM");
}

#[test]
fn sighup_leaves_nothing() {
    interrupt_with("-HUP");
}

#[test]
fn sigquit_leaves_nothing() {
    // Its default action (a core dump) would end the run at once, leaving the `.partial` file.
    interrupt_with("-QUIT");
}

#[test]
fn ctrl_c_stops_a_text_output_on_either_backend_and_leaves_nothing() {
    // Text is formatted on the writer thread, behind a queue of tiles: the run must drop what
    // is queued, not format it, and still remove its temporary output. 20000² is many seconds
    // of text on any machine (and of GPU tiles on lavapipe).
    for backend in ["cpu", "gpu"] {
        let dir = tempfile::tempdir().unwrap();
        let child = start_run(dir.path(), 20_000, &["-o", "out.csv", "--backend", backend]);
        stop_with("-INT", child, dir.path());
    }
}

#[test]
fn ctrl_c_stops_a_knn_search_and_leaves_nothing() {
    // 60 000 points in 256 dimensions against themselves: about 10^12 pair-dimensions, many
    // seconds on any CPU; the monitor stops it at the next band.
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let x = Array2::from_shape_simple_fn((60_000, 256), || rng.random_range(-1.0f32..1.0));
    write_npy(dir.path().join("x.npy"), &x).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_pairdist"))
        .args(["knn", "x.npy", "-k", "5", "-o", "nn.npz", "--backend", "cpu", "--quiet"])
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let since = Instant::now();
    while !others(dir.path()).iter().any(|n| n.ends_with(".partial")) {
        assert!(since.elapsed() < Duration::from_secs(60), "no temporary output appeared");
        sleep(Duration::from_millis(20));
    }
    sleep(Duration::from_millis(500)); // reading the input, then searching
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "exit status {:?}, stderr: {stderr}", out.status);
    assert!(stderr.contains("interrupted") && !stderr.contains("panicked"), "{stderr}");
    assert_eq!(others(dir.path()), Vec::<String>::new(), "files left behind");
}
