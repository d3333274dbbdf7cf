//! The CPU executor: walks the plan's blocks on all cores.
//!
//! Y is packed once per call into the kernels' panel layout and shared by every thread. Into a
//! caller's matrix, each rayon task owns a band of output rows (several bands per thread) and
//! writes its blocks in place (no copy), a pass of columns at a time sized so the packed panels
//! stay in L2. A large output is first advised onto huge pages (fewer first-touch faults) and
//! written with non-temporal stores (no read before the write). Into any other sink, blocks
//! are computed a wave at a time in parallel and handed to the sink in plan order, so memory
//! stays bounded by the wave.

use std::ops::Range;

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, CowArray, Ix2, s};
use rayon::prelude::*;

use super::fused::FusedRatio;
use super::kernels::{self, Isa, PackedY};
use crate::element::Element;
use crate::error::Result;
use crate::metric::Metric;
use crate::plan::{Plan, Tile};
use crate::sink::{Layout, Sink};
use crate::weights::{KernelWeights, TermWeights};

/// What the kernels compute: the metric, the weights of its terms (canberra, hamming), and a
/// ratio's denominators, divided by as each result is stored (braycurtis, jaccard).
#[derive(Clone, Copy)]
pub(crate) struct Kernel<'a, T> {
    pub(crate) metric: Metric,
    pub(crate) weights: Option<&'a TermWeights>,
    pub(crate) ratio: Option<&'a FusedRatio<T>>,
}

impl<T> Kernel<'_, T> {
    /// `metric` alone: no weights, no ratio.
    pub(crate) fn of(metric: Metric) -> Self {
        Kernel { metric, weights: None, ratio: None }
    }
}

/// A [`Kernel`] readied for one call: the weights rounded to `T`, and Y packed for the kernel
/// family (with the ratio's sums of its rows beside it), shared by every thread.
struct Ready<'a, T> {
    metric: Metric,
    weights: Option<KernelWeights<T>>,
    /// The ratio's sums of the rows of X, if the kernels divide.
    x_sums: Option<&'a [T]>,
    packed: PackedY<T>,
}

impl<'a, T: Element> Ready<'a, T> {
    fn new(kernel: Kernel<'a, T>, y: ArrayView2<T>, isa: Isa, shift: usize) -> Self {
        let mut packed = PackedY::new(y, isa, shift);
        if let Some(ratio) = kernel.ratio {
            packed = packed.with_ratio(ratio.denominator, &ratio.y_sums);
        }
        Ready {
            metric: kernel.metric,
            weights: kernel.weights.map(TermWeights::for_kernel::<T>),
            x_sums: kernel.ratio.map(|r| &r.x_sums[..]),
            packed,
        }
    }

    /// Rows `rows` of `x` (all of X, in rows of contiguous memory) against the rows `cols` of
    /// Y, into `out` (see [`kernels::block`]).
    fn block(&self, x: &ArrayView2<T>, rows: Range<usize>, cols: Range<usize>, out: ArrayViewMut2<T>, stream: bool) {
        let xb = x.slice(s![rows.clone(), ..]);
        let kernel = (self.metric, self.weights.as_ref());
        match self.x_sums {
            Some(sums) => kernels::block_divided(xb, &sums[rows], &self.packed, cols, kernel, out, stream),
            None => kernels::block(xb, &self.packed, cols, kernel, out, stream),
        }
    }
}

/// Rows in contiguous memory, as the kernels need them; a copy only for other layouts.
fn standard<T: Element>(a: ArrayView2<'_, T>) -> CowArray<'_, T, Ix2> {
    if a.is_standard_layout() { CowArray::from(a) } else { CowArray::from(a.as_standard_layout().into_owned()) }
}

/// Rows per rayon task: the plan's tile rows, cut so that every thread gets several bands
/// (the packed Y is shared, so smaller bands cost nothing but scheduling), in whole register
/// blocks.
fn band_rows(plan: &Plan, isa: Isa) -> usize {
    let mr = isa.mr();
    let per_thread = plan.n.div_ceil(8 * rayon::current_num_threads());
    let rows = plan.tile_rows.min(per_thread.div_ceil(mr) * mr);
    (rows / mr * mr).max(mr)
}

/// Outputs of at least this many bytes (half this machine's L3) are written with
/// non-temporal stores where the rows allow aligned ones: they are not read before being
/// written, which leaves the memory bandwidth to the writes (the bound for small `d`).
const STREAM_MIN_BYTES: usize = 16 << 20;

/// Packed Y per pass over a band, in bytes: half of a core's L2, so the panels stay there
/// while every register block of the band's rows streams through them.
const PANEL_BYTES: usize = 256 * 1024;

/// Columns per pass over a band: the plan's tile columns, or more when the packed rows of Y
/// still fit in [`PANEL_BYTES`]. For small `d` that is every column, so each band writes whole
/// output rows front to back (the output write is then the bound, and it streams best in
/// order); the plan's output-tile limit only matters for sinks that hold tiles.
fn pass_cols<T: 'static>(plan: &Plan, isa: Isa) -> usize {
    let nr = isa.nr::<T>();
    let fit = PANEL_BYTES / (size_of::<T>() * plan.d.clamp(1, kernels::DEPTH_CHUNK));
    let cols = plan.tile_cols.next_multiple_of(nr).max(fit / nr * nr).min(plan.m);
    cols.max(1)
}

/// Computes the plan's blocks of `kernel` straight into `out` (`n × m`, any strides).
pub(crate) fn run_into<T: Element>(
    x: ArrayView2<T>,
    y: ArrayView2<T>,
    kernel: Kernel<T>,
    plan: &Plan,
    mut out: ArrayViewMut2<T>,
) {
    let _ = run_into_checked(x, y, kernel, plan, out.view_mut(), &|_| Ok(()));
}

/// A check between passes: counts a pass's pairs, and stops the run with an error (a stop
/// requested on the job's monitor).
pub(crate) type Checkpoint<'a> = &'a (dyn Fn(usize) -> Result<()> + Sync);

/// [`run_into`], calling `check` with each pass's pairs before computing it, and stopping at
/// the first error it returns.
pub(crate) fn run_into_checked<T: Element>(
    x: ArrayView2<T>,
    y: ArrayView2<T>,
    kernel: Kernel<T>,
    plan: &Plan,
    out: ArrayViewMut2<T>,
    check: Checkpoint<'_>,
) -> Result<()> {
    if plan.n == 0 || plan.m == 0 {
        return Ok(());
    }
    run_into_with(x, y, kernel, plan, out, Isa::detect(), check)
}

/// [`run_into_checked`] with a chosen kernel family (tests force each one).
pub(crate) fn run_into_with<T: Element>(
    x: ArrayView2<T>,
    y: ArrayView2<T>,
    kernel: Kernel<T>,
    plan: &Plan,
    mut out: ArrayViewMut2<T>,
    isa: Isa,
    check: Checkpoint<'_>,
) -> Result<()> {
    let x = standard(x);
    let x = x.view();
    advise_huge_pages(&out);
    // Outputs far beyond the caches are written with non-temporal stores (not read first).
    let shift = (out.len() * size_of::<T>() >= STREAM_MIN_BYTES).then(|| kernels::stream_shift(&out)).flatten();
    let stream = shift.is_some();
    let ready = Ready::new(kernel, y, isa, shift.unwrap_or(0));
    let (band, tm) = (band_rows(plan, isa), pass_cols::<T>(plan, isa));
    out.axis_chunks_iter_mut(Axis(0), band).into_par_iter().enumerate().try_for_each(|(b, mut rows)| {
        let r0 = b * band;
        for c0 in (0..plan.m).step_by(tm) {
            let c1 = (c0 + tm).min(plan.m);
            check(rows.nrows() * (c1 - c0))?;
            ready.block(&x, r0..r0 + rows.nrows(), c0..c1, rows.slice_mut(s![.., c0..c1]), stream);
        }
        Ok(())
    })
}

/// Asks Linux to back a large contiguous output with transparent huge pages.
///
/// A freshly allocated matrix is not paged in yet; the kernels' first touch then costs one
/// page fault per 4 KiB, which under virtualisation takes longer than computing the page
/// when `d` is small (a 4096² f32 matrix is 16 384 faults). With `MADV_HUGEPAGE` (the
/// default THP mode is `madvise`) it is 32 faults of 2 MiB. A hint only: contents are kept,
/// and pages already present are left as they are.
pub(crate) fn advise_huge_pages<T>(out: &ArrayViewMut2<T>) {
    #[cfg(target_os = "linux")]
    if let Some(slice) = out.as_slice_memory_order() {
        const HUGE: usize = 2 << 20;
        let start = slice.as_ptr() as usize;
        let end = start + std::mem::size_of_val(slice);
        let (lo, hi) = (start.next_multiple_of(HUGE), end & !(HUGE - 1));
        if hi >= lo + 2 * HUGE {
            // SAFETY: `lo..hi` lies inside memory the caller's array owns and we borrow
            // mutably; MADV_HUGEPAGE changes how it is paged, never its contents.
            let rc = unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE) };
            if rc != 0 {
                log::debug!("madvise(MADV_HUGEPAGE) failed: {}", std::io::Error::last_os_error());
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = out;
}

/// Offset in SciPy's condensed vector of `n` points where row `i`'s pairs `(i, j > i)` start;
/// `n(n−1)/2` for `i = n − 1` and `i = n`.
fn condensed_start(n: usize, i: usize) -> usize {
    n * i - i * (i + 1) / 2
}

/// Computes SciPy's condensed vector of the rows of `x` straight into `out` (length
/// n(n−1)/2). The pairs of a band of rows are one contiguous run of `out`, so each rayon task
/// owns a band and its run; it computes the band's pairs a pass of columns at a time (only
/// columns right of the band's first row: about half the work of the full matrix) into a
/// small buffer and copies each row's part into place.
pub(crate) fn run_condensed<T: Element>(
    x: ArrayView2<T>,
    kernel: Kernel<T>,
    plan: &Plan,
    out: &mut [T],
    check: Checkpoint<'_>,
) -> Result<()> {
    let n = plan.n;
    debug_assert_eq!(out.len(), condensed_start(n, n));
    if n < 2 {
        return Ok(());
    }
    let isa = Isa::detect();
    let x = standard(x);
    let x = x.view();
    let ready = Ready::new(kernel, x, isa, 0);
    let layout = Layout::Condensed { n };
    let (band, tm) = (band_rows(plan, isa), pass_cols::<T>(plan, isa));
    let mut pieces = Vec::with_capacity(n.div_ceil(band));
    let mut rest = out;
    for r0 in (0..n).step_by(band) {
        let r1 = (r0 + band).min(n);
        let (piece, tail) = rest.split_at_mut(condensed_start(n, r1) - condensed_start(n, r0));
        pieces.push((r0..r1, piece));
        rest = tail;
    }
    pieces.into_par_iter().try_for_each(|(rows, piece)| {
        let base = condensed_start(n, rows.start) as u64;
        let mut buf = Array2::zeros((rows.len(), tm));
        for c0 in (rows.start + 1..n).step_by(tm) {
            let c1 = (c0 + tm).min(n);
            // The pass's pairs i < j.
            check(layout.segments(&Tile { rows: rows.clone(), cols: c0..c1 }).map(|seg| seg.cols.len()).sum())?;
            let mut pass = buf.slice_mut(s![.., ..c1 - c0]);
            ready.block(&x, rows.clone(), c0..c1, pass.view_mut(), false);
            for seg in layout.segments(&Tile { rows: rows.clone(), cols: c0..c1 }) {
                let at = (seg.offset - base) as usize;
                let src = pass.slice(s![seg.row, seg.cols.clone()]);
                piece[at..at + src.len()].copy_from_slice(src.as_slice().expect("buffer rows are contiguous"));
            }
        }
        Ok(())
    })
}

/// Computes the rows of the plan band by band on all cores and hands each row's distances, a
/// pass of columns at a time, to `reduce` with that row's state (`states[i]` for row `i`):
/// the CPU's way to answer k-nearest and radius queries without ever holding the matrix. Each
/// rayon task owns a band of rows and their states, as in [`run_condensed`].
pub(crate) fn reduce_rows<T: Element, S: Send>(
    x: ArrayView2<T>,
    y: ArrayView2<T>,
    kernel: Kernel<T>,
    plan: &Plan,
    states: &mut [S],
    reduce: impl Fn(usize, usize, &[T], &mut S) -> Result<()> + Sync,
) -> Result<()> {
    debug_assert_eq!(states.len(), plan.n);
    if plan.n == 0 || plan.m == 0 {
        return Ok(());
    }
    let isa = Isa::detect();
    let x = standard(x);
    let x = x.view();
    let ready = Ready::new(kernel, y, isa, 0);
    let (band, tm) = (band_rows(plan, isa), pass_cols::<T>(plan, isa));
    // A band's pass of distances is read right after it is written: keep it in L2 too.
    let mr = isa.mr();
    let band = band.min((PANEL_BYTES / (size_of::<T>() * tm)).max(mr) / mr * mr);
    states.par_chunks_mut(band).enumerate().try_for_each(|(b, band_states)| {
        let r0 = b * band;
        let mut buf = Array2::zeros((band_states.len(), tm));
        for c0 in (0..plan.m).step_by(tm) {
            let c1 = (c0 + tm).min(plan.m);
            let mut pass = buf.slice_mut(s![.., ..c1 - c0]);
            ready.block(&x, r0..r0 + band_states.len(), c0..c1, pass.view_mut(), false);
            for (r, state) in band_states.iter_mut().enumerate() {
                let row = pass.row(r);
                reduce(r0 + r, c0, row.as_slice().expect("buffer rows are contiguous"), state)?;
            }
        }
        Ok(())
    })
}

/// Computes the plan's blocks and hands them to `sink` in plan order.
pub(crate) fn run_streaming<T: Element>(
    x: ArrayView2<T>,
    y: ArrayView2<T>,
    kernel: Kernel<T>,
    plan: &Plan,
    sink: &mut dyn Sink<T>,
) -> Result<()> {
    let x = standard(x);
    let x = x.view();
    let ready = Ready::new(kernel, y, Isa::detect(), 0);
    debug_assert_eq!(ready.packed.rows(), plan.m);
    // Enough blocks per wave to keep every core busy while the sink takes the last wave.
    // The plan is walked lazily: a plan of many small tiles can have billions of blocks, and
    // only one wave of them is ever held (0.1 collected them all and ran out of memory).
    let wave = 4 * rayon::current_num_threads();
    let mut blocks = plan.tiles();
    loop {
        let chunk: Vec<Tile> = blocks.by_ref().take(wave).collect();
        if chunk.is_empty() {
            break;
        }
        let tiles: Vec<Array2<T>> = chunk
            .par_iter()
            .map(|b| {
                let mut t = Array2::zeros((b.rows.len(), b.cols.len()));
                ready.block(&x, b.rows.clone(), b.cols.clone(), t.view_mut(), false);
                t
            })
            .collect();
        for (b, t) in chunk.iter().zip(&tiles) {
            sink.accept(b, t.view())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::plan::{PlanLimits, Region};

    /// Counts blocks and stops the run at the first, as an interrupted run does.
    struct StopAtFirst(usize);

    impl Sink for StopAtFirst {
        fn accept(&mut self, _: &Tile, _: ArrayView2<f32>) -> Result<()> {
            self.0 += 1;
            Err(Error::Interrupted)
        }
    }

    #[test]
    fn plans_of_a_billion_blocks_are_walked_lazily() {
        // 2^20 points and 4 KiB tiles: about 2^30 blocks, which 0.1 collected into a vector
        // (tens of GB) before computing the first one.
        let n = 1 << 20;
        let x = Array2::<f32>::zeros((n, 1));
        let plan = Plan::new(n, n, 1, Region::Full, &PlanLimits::cpu(Some(4096))).unwrap();
        assert!(n.div_ceil(plan.tile_rows) * n.div_ceil(plan.tile_cols) >= 1 << 28, "{plan:?}");
        let mut sink = StopAtFirst(0);
        let result = run_streaming(x.view(), x.view(), Kernel::of(Metric::Euclidean), &plan, &mut sink);
        assert!(matches!(result, Err(Error::Interrupted)), "{result:?}");
        assert_eq!(sink.0, 1);
    }
}
