//! Matrices streamed to files the way the command line writes them (`OutputFile`, then a
//! `.npy` or text sink): what lands on disk is the in-memory result, in either dtype, and an
//! output never committed leaves nothing behind.

use crate::support::{assert_matches64, points, points64, with_tiles};
use ndarray::{Array1, Array2};
use ndarray_npy::ReadNpyExt;
use pairdist::sink::Layout;
use pairdist::{Backend, Dtype, Metric};
use pairdist_cli::io::OutputFile;

/// Smallest tile cap the GPU's 64 × 64 block allows: 16 KiB of f32 outputs.
const TINY_GPU: u64 = 16 << 10;
const TINY_CPU: u64 = 1 << 10;

#[test]
fn npy_and_text_sinks_hold_the_in_memory_result() {
    let dir = tempfile::tempdir().unwrap();
    let x = points(5, 150, 5, -1.0, 1.0);
    let y = points(6, 120, 5, -1.0, 1.0);
    for (backend, cap) in [(Backend::Gpu, TINY_GPU), (Backend::Cpu, TINY_CPU)] {
        let engine = with_tiles(backend, cap);
        let full = engine.cdist(x.view(), y.view(), Metric::Euclidean).unwrap();
        let condensed = engine.pdist(x.view(), Metric::Euclidean).unwrap();

        // Streams cdist(x, y) into a file the way the CLI does.
        let write_cdist = |name: String| {
            let path = dir.path().join(name);
            let out = OutputFile::create(&path).unwrap();
            let mut sink = out.sink(Layout::Matrix { n: 150, m: 120 }).unwrap();
            engine.cdist_to(x.view(), y.view(), Metric::Euclidean, sink.as_mut()).unwrap();
            drop(sink);
            out.commit().unwrap();
            path
        };

        let path = write_cdist(format!("{backend:?}.npy"));
        let back = Array2::<f32>::read_npy(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(back, full, "{backend:?}: .npy on disk differs");

        let path = dir.path().join(format!("{backend:?}-pdist.npy"));
        let out = OutputFile::create(&path).unwrap();
        engine.pdist_to(x.view(), Metric::Euclidean, out.sink(Layout::Condensed { n: 150 }).unwrap().as_mut()).unwrap();
        out.commit().unwrap();
        let back = Array1::<f32>::read_npy(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(back, condensed, "{backend:?}: condensed .npy on disk differs");

        let path = write_cdist(format!("{backend:?}.csv"));
        let text = std::fs::read_to_string(&path).unwrap();
        let rows: Vec<Vec<f32>> = text.lines().map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
        assert_eq!(rows.len(), 150);
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row.as_slice(), full.row(i).as_slice().unwrap(), "{backend:?}: csv row {i}");
        }
    }
}

#[test]
fn an_uncommitted_output_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never.npy");
    {
        let out = OutputFile::create(&path).unwrap();
        let _sink = out.sink(Layout::Matrix { n: 10, m: 10 }).unwrap();
        // Dropped without commit, as on an error or Ctrl-C.
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn f64_streams_to_npy_and_text_files_in_either_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let x = points64(19, 70, 4, 0.0);
    let y = points64(20, 55, 4, 0.0);
    for (name, engine) in [("cpu", with_tiles(Backend::Cpu, 4096)), ("gpu", with_tiles(Backend::Gpu, 4096))] {
        let full = engine.cdist(x.view(), y.view(), Metric::Euclidean).unwrap();
        assert_matches64(name, x.view(), y.view(), Metric::Euclidean, |i, j| full[(i, j)]);
        let write = |file: &str, dtype: Dtype| {
            let path = dir.path().join(format!("{name}-{file}"));
            let out = OutputFile::create(&path).unwrap();
            let mut sink = out.sink_for::<f64>(Layout::Matrix { n: 70, m: 55 }, dtype).unwrap();
            engine.cdist_to(x.view(), y.view(), Metric::Euclidean, sink.as_mut()).unwrap();
            drop(sink);
            out.commit().unwrap();
            path
        };
        use ndarray_npy::ReadNpyExt;
        let back = Array2::<f64>::read_npy(std::fs::File::open(write("d64.npy", Dtype::F64)).unwrap()).unwrap();
        assert_eq!(back, full, "{name}: f64 .npy");
        let back = Array2::<f32>::read_npy(std::fs::File::open(write("d32.npy", Dtype::F32)).unwrap()).unwrap();
        assert_eq!(back, full.mapv(|v| v as f32), "{name}: f32 .npy of f64 results");
        // Text has the digits to read back every f64 exactly.
        let text = std::fs::read_to_string(write("d64.csv", Dtype::F64)).unwrap();
        let rows: Vec<Vec<f64>> = text.lines().map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
        assert_eq!(Array2::from_shape_vec((70, 55), rows.concat()).unwrap(), full, "{name}: f64 text");
    }
}
