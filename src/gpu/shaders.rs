//! The WGSL sources, read from `shaders/` at compile time and composed with the shared
//! snippets they need. Kernels are specialised with override constants, not string templates.

use crate::element::Dtype;
use crate::metric::Metric;
use crate::plan::MAX_DIMS_PER_PASS;

/// A compute kernel, one WGSL file each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kernel {
    /// One invocation per output, straight from global memory: the baseline.
    Naive,
    /// Workgroup-memory tiles and register micro-tiles: the default.
    Tiled,
}

const METRIC_WGSL: &str = include_str!("../../shaders/common/metric.wgsl");

/// The element type's prelude: `alias real`, and the logarithm and power in that type.
fn real_wgsl(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::F32 => include_str!("../../shaders/common/f32.wgsl"),
        Dtype::F64 => include_str!("../../shaders/common/f64.wgsl"),
    }
}

/// The answers' epilogues' prelude in the element type (`shaders/common/key32.wgsl`,
/// `key64.wgsl`): `real`, and the distances' sort keys, their bits compared as integers.
fn key_wgsl(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::F32 => include_str!("../../shaders/common/key32.wgsl"),
        Dtype::F64 => include_str!("../../shaders/common/key64.wgsl"),
    }
}

/// An answer's epilogue: a compute pass on a finished tile of distances that reduces it on the
/// device, so that what is read back grows with the answer, not with the tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Epilogue {
    /// The `k` nearest columns of every row of the tile (`shaders/select.wgsl`), for k nearest
    /// and argmin: `rows × k` candidates come back.
    Select,
    /// The entries within a radius (`shaders/filter.wgsl`), for radius: the hits come back.
    Filter,
}

/// Most candidates the select epilogue keeps per row (`B - WG` in shaders/select.wgsl); larger
/// `k` read the tiles back.
pub const SELECT_K_MAX: usize = 768;

impl Epilogue {
    /// Every epilogue.
    pub const ALL: [Epilogue; 2] = [Epilogue::Select, Epilogue::Filter];

    /// The epilogue's name (its file name without extension).
    pub fn name(self) -> &'static str {
        match self {
            Epilogue::Select => "select",
            Epilogue::Filter => "filter",
        }
    }

    /// The shader file's own text.
    pub fn body(self) -> &'static str {
        match self {
            Epilogue::Select => include_str!("../../shaders/select.wgsl"),
            Epilogue::Filter => include_str!("../../shaders/filter.wgsl"),
        }
    }

    /// The complete WGSL module for distances of `dtype`: the element type and its sort keys,
    /// then the epilogue. A float64 module needs `SHADER_F64` and `SHADER_INT64`.
    ///
    /// ```
    /// use pairdist::Dtype;
    /// use pairdist::gpu::Epilogue;
    /// assert!(Epilogue::Select.source(Dtype::F64).contains("alias key = u64;"));
    /// ```
    pub fn source(self, dtype: Dtype) -> String {
        format!("{}\n{}", key_wgsl(dtype), self.body())
    }
}

impl Kernel {
    /// Every kernel.
    pub const ALL: [Kernel; 2] = [Kernel::Naive, Kernel::Tiled];

    /// The kernel's name (its file name without extension).
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Naive => "naive",
            Kernel::Tiled => "tiled",
        }
    }

    fn body(self) -> &'static str {
        match self {
            Kernel::Naive => include_str!("../../shaders/naive.wgsl"),
            Kernel::Tiled => include_str!("../../shaders/tiled.wgsl"),
        }
    }

    /// The complete WGSL module computing in `dtype`: the element type's prelude, the shared
    /// metric snippets, then the kernel. A float64 module needs `wgpu::Features::SHADER_F64`.
    ///
    /// ```
    /// use pairdist::Dtype;
    /// use pairdist::gpu::Kernel;
    /// assert!(Kernel::Tiled.source(Dtype::F32).contains("alias real = f32;"));
    /// assert!(Kernel::Tiled.source(Dtype::F64).contains("alias real = f64;"));
    /// ```
    pub fn source(self, dtype: Dtype) -> String {
        format!("{}\n{}\n{METRIC_WGSL}\n{}", real_wgsl(dtype), crate::metric::wgsl_ids(), self.body())
    }

    /// Outputs one workgroup computes, as (rows, cols), for the given override constants.
    pub(crate) fn block(self, tuning: &Tuning) -> (usize, usize) {
        match self {
            Kernel::Naive => (16, 16),
            Kernel::Tiled => ((tuning.wg_y * TILED_MICRO) as usize, (tuning.wg_x * TILED_MICRO) as usize),
        }
    }

    /// The override constants of this kernel's pipeline for `metric` and `tuning`: the
    /// metric's term, merge and final step ([`Metric::definition`]), whether its terms are
    /// `weighted` inside the kernel (see `Distance::resolve`), and the tiled kernel's shape
    /// (give the tuning for the pipeline's element type, [`Tuning::for_dtype`]). Metric
    /// parameters (minkowski's p) are not among them: they reach the kernel in its uniform
    /// block, so one pipeline serves every p.
    pub fn constants(self, metric: Metric, weighted: bool, tuning: &Tuning) -> Vec<(&'static str, f64)> {
        let def = metric.definition();
        let mut c = vec![
            ("TERM", f64::from(def.term.shader_id())),
            ("MERGE", f64::from(def.merge.shader_id())),
            ("FINALIZE", f64::from(def.finalize.shader_id())),
            ("WEIGHTED", f64::from(u8::from(weighted))),
        ];
        if self == Kernel::Tiled {
            c.extend([
                ("WG_X", tuning.wg_x as f64),
                ("WG_Y", tuning.wg_y as f64),
                ("TILE_K", tuning.tile_k as f64),
                ("PREFETCH", f64::from(u8::from(tuning.prefetch))),
            ]);
        }
        c
    }

    /// Most dimensions one pass of this kernel may sum: the shader loops of one invocation stay
    /// within [`LOOP_ITERATION_BUDGET`], and the pass within [`MAX_DIMS_PER_PASS`].
    pub(crate) fn max_dims_per_pass(self, tuning: &Tuning) -> usize {
        let by_loops = match self {
            // One iteration per dimension.
            Kernel::Naive => LOOP_ITERATION_BUDGET,
            // Per step of TILE_K dimensions: the step itself, TILE_K inner iterations, and the
            // staging loop's share of the items (at most the gather path's: the power of two
            // >= TILE_K dimensions of every group of four rows of X and Y).
            Kernel::Tiled => {
                let threads = tuning.wg_x * tuning.wg_y;
                let items = 2 * (tuning.wg_x + tuning.wg_y) * tuning.tile_k.next_power_of_two();
                let per_step = 1 + tuning.tile_k + items.div_ceil(threads);
                (LOOP_ITERATION_BUDGET as u32 / per_step * tuning.tile_k) as usize
            }
        };
        by_loops.min(MAX_DIMS_PER_PASS)
    }

    /// Global-memory bytes loaded per pair-dimension (the kernel's shape, for benchmarks):
    /// each block of R × C outputs reads R + C values per dimension. (The naive kernel reads
    /// two values per pair-dimension; caches may serve some of them.)
    pub fn bytes_per_pair_dim(self, tuning: &Tuning) -> f64 {
        let (r, c) = self.block(tuning);
        match self {
            Kernel::Naive => 8.0,
            Kernel::Tiled => 4.0 * (r + c) as f64 / (r * c) as f64,
        }
    }

    /// Workgroup memory one workgroup of this kernel uses, in bytes.
    pub fn workgroup_bytes(self, tuning: &Tuning) -> u32 {
        match self {
            Kernel::Naive => 0,
            Kernel::Tiled => tuning.workgroup_bytes(),
        }
    }
}

/// `v` as two f32 values whose sum in f64 is `v` to 48 bits, for float64 kernels; for float32
/// ones, `v` and 0 (the kernel then sums to `v` rounded to f32, as before).
pub(crate) fn split_f64(v: f64, dtype: Dtype) -> (f64, f64) {
    let hi = f64::from(v as f32);
    match dtype {
        Dtype::F32 => (v, 0.0),
        Dtype::F64 => (hi, f64::from((v - hi) as f32)),
    }
}

/// Loop iterations one invocation may run in one pass, counted over all its loops: a quarter
/// of the 65 535 after which Mesa's llvmpipe/lavapipe silently ends loops (see
/// [`MAX_DIMS_PER_PASS`]).
pub(crate) const LOOP_ITERATION_BUDGET: usize = 16_384;

/// Every invocation of the tiled kernel computes TILED_MICRO × TILED_MICRO outputs (the
/// register tile of shaders/tiled.wgsl, fixed there).
const TILED_MICRO: u32 = 8;

/// Shape parameters of the tiled kernel: from the adapter's limits by default, or measured
/// on the adapter by the autotuner and cached (see [`TuningOrigin`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tuning {
    /// Invocations per workgroup along output columns (each computes 8 columns).
    pub wg_x: u32,
    /// Invocations per workgroup along output rows (each computes 8 rows).
    pub wg_y: u32,
    /// Dimensions staged in workgroup memory per step (a multiple of 4).
    pub tile_k: u32,
    /// Load the next step's X and Y into registers while this step's sums run (register
    /// double buffering; d a multiple of 4, float32 only: see [`Tuning::for_dtype`]). Only for
    /// shapes whose every step stages at most two items per invocation ([`Tuning::fits`]).
    pub prefetch: bool,
}

impl Tuning {
    /// Workgroup memory this shape needs in float32: `tile_k` dimensions of the block's rows
    /// of X and Y.
    pub fn workgroup_bytes(&self) -> u32 {
        4 * self.tile_k * TILED_MICRO * (self.wg_x + self.wg_y)
    }

    /// The shape of a pipeline computing in `dtype` from this (float32) tuning: the same
    /// workgroup and block, and for float64 half the dimensions per step (at least 4), so
    /// that the staged values take the same workgroup memory, and no prefetch (its registers
    /// would double beside an accumulator tile that float64 already doubles). The tuner
    /// measures float32.
    ///
    /// ```
    /// use pairdist::Dtype;
    /// use pairdist::gpu::Tuning;
    /// let t = Tuning { wg_x: 16, wg_y: 16, tile_k: 16, prefetch: true };
    /// assert_eq!(t.for_dtype(Dtype::F32), t);
    /// assert_eq!(t.for_dtype(Dtype::F64), Tuning { tile_k: 8, prefetch: false, ..t });
    /// ```
    pub fn for_dtype(&self, dtype: Dtype) -> Tuning {
        match dtype {
            Dtype::F32 => *self,
            Dtype::F64 => Tuning { tile_k: (self.tile_k / 2).next_multiple_of(4).max(4), prefetch: false, ..*self },
        }
    }

    /// Staging items (4 × 4 pieces) per invocation in a whole step of the vec4 path: the
    /// block's row groups and column groups times the words of a step, shared by the
    /// workgroup's invocations.
    fn items_per_invocation(&self) -> u32 {
        let Tuning { wg_x, wg_y, tile_k, .. } = *self;
        (2 * (wg_x + wg_y) * (tile_k / 4)).div_ceil(wg_x * wg_y)
    }

    /// Workgroup memory this shape needs computing in `dtype`.
    pub fn workgroup_bytes_in(&self, dtype: Dtype) -> u32 {
        self.workgroup_bytes() / 4 * dtype.size() as u32
    }

    /// Whether the tiled kernel can run with this shape on a device with `limits`: a
    /// workgroup within the invocation, size and workgroup-memory limits, and TILE_K a
    /// positive multiple of 4 (the kernel stages whole vec4 words), and with `prefetch` at
    /// most two staging items per invocation (the registers the kernel holds them in). A
    /// tuning read from a file is checked with this before it is used.
    pub fn fits(&self, limits: &wgpu::Limits) -> bool {
        let Tuning { wg_x, wg_y, tile_k, prefetch } = *self;
        // The bounds keep the products below from overflowing on any values a file holds.
        let sane = (1..=1024).contains(&wg_x) && (1..=1024).contains(&wg_y) && (4..=256).contains(&tile_k);
        sane && tile_k % 4 == 0
            && (!prefetch || self.items_per_invocation() <= 2)
            && wg_x * wg_y <= limits.max_compute_invocations_per_workgroup
            && wg_x <= limits.max_compute_workgroup_size_x
            && wg_y <= limits.max_compute_workgroup_size_y
            && self.workgroup_bytes() <= limits.max_compute_workgroup_storage_size
    }

    /// Whether the tiled kernel can run with this shape in `dtype` ([`Tuning::fits`], with
    /// `dtype`'s workgroup memory). Give the tuning for the type, [`Tuning::for_dtype`].
    pub fn fits_in(&self, dtype: Dtype, limits: &wgpu::Limits) -> bool {
        self.fits(limits) && self.workgroup_bytes_in(dtype) <= limits.max_compute_workgroup_storage_size
    }

    /// The first of the standard shapes that the adapter's limits allow: the tuning used
    /// when no measured one is cached (see [`TuningOrigin::Default`]).
    ///
    /// 16 × 16 invocations with 8 × 8 outputs each (a 128 × 128 block, the classic SGEMM
    /// shape) staging 16 dimensions per step use exactly WebGPU's default 16 KiB of workgroup
    /// memory; devices below it (downlevel: 16 352 bytes) stage 8 dimensions per step.
    ///
    /// ```
    /// use pairdist::gpu::Tuning;
    /// let t = Tuning::for_limits(&wgpu::Limits::default());
    /// assert_eq!(t, Tuning { wg_x: 16, wg_y: 16, tile_k: 16, prefetch: false });
    /// ```
    pub fn for_limits(limits: &wgpu::Limits) -> Tuning {
        let candidates = [
            Tuning { wg_x: 16, wg_y: 16, tile_k: 16, prefetch: false },
            Tuning { wg_x: 16, wg_y: 16, tile_k: 8, prefetch: false },
            Tuning { wg_x: 8, wg_y: 8, tile_k: 8, prefetch: false },
            Tuning { wg_x: 4, wg_y: 4, tile_k: 4, prefetch: false },
        ];
        candidates.into_iter().find(|t| t.fits(limits)).unwrap_or(candidates[3])
    }

    /// The shapes the autotuner times on a device with `limits` (see `gpu::tune`): square
    /// and oblong workgroups of 64 and 256 invocations (blocks of 64 × 64 to 64 × 256
    /// outputs), each staging 8, 16 or 32 dimensions per step, each also with `prefetch`
    /// where that fits, those the limits allow, and always [`Tuning::for_limits`] (so the
    /// tuner never has less to choose from than the default). The default comes first.
    ///
    /// ```
    /// use pairdist::gpu::Tuning;
    /// let limits = wgpu::Limits::default();
    /// let all = Tuning::candidates(&limits);
    /// assert_eq!(all[0], Tuning::for_limits(&limits));
    /// assert!(all.iter().all(|t| t.fits(&limits)));
    /// ```
    pub fn candidates(limits: &wgpu::Limits) -> Vec<Tuning> {
        const SHAPES: [(u32, u32, u32); 10] = [
            (16, 16, 8),
            (16, 16, 16),
            (16, 16, 32),
            (8, 8, 8),
            (8, 8, 16),
            (8, 8, 32),
            (16, 8, 16),
            (8, 16, 16),
            (32, 8, 8),
            (8, 32, 8),
        ];
        let default = Tuning::for_limits(limits);
        let mut all = vec![default];
        for (wg_x, wg_y, tile_k) in SHAPES {
            for prefetch in [false, true] {
                let t = Tuning { wg_x, wg_y, tile_k, prefetch };
                if t.fits(limits) && t != default {
                    all.push(t);
                }
            }
        }
        all
    }
}

impl std::fmt::Display for Tuning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (rows, cols) = Kernel::Tiled.block(self);
        write!(f, "{}x{} invocations ({rows}x{cols} outputs), TILE_K {}", self.wg_x, self.wg_y, self.tile_k)?;
        if self.prefetch {
            write!(f, ", prefetch")?;
        }
        Ok(())
    }
}

/// Where an engine's tuning of the tiled kernel came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TuningOrigin {
    /// Derived from the adapter's limits ([`Tuning::for_limits`]): nothing was cached.
    Default,
    /// Read from the tuning cache, where an earlier `pairdist tune` or autotune put it.
    Cache,
    /// Measured on this adapter when the engine was built (`EngineOptions::autotune`).
    Tuned,
}

impl TuningOrigin {
    /// "default", "cache" or "tuned", as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            TuningOrigin::Default => "default",
            TuningOrigin::Cache => "cache",
            TuningOrigin::Tuned => "tuned",
        }
    }
}

impl std::fmt::Display for TuningOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_fits_webgpu_defaults_and_downlevel() {
        for limits in [wgpu::Limits::default(), wgpu::Limits::downlevel_defaults()] {
            let t = Tuning::for_limits(&limits);
            assert!(t.workgroup_bytes() <= limits.max_compute_workgroup_storage_size, "{t:?}");
            assert!(t.wg_x * t.wg_y <= limits.max_compute_invocations_per_workgroup, "{t:?}");
        }
    }

    #[test]
    fn passes_stay_within_the_loop_budget() {
        let shapes = [
            Tuning { wg_x: 16, wg_y: 16, tile_k: 16, prefetch: false },
            Tuning { wg_x: 4, wg_y: 4, tile_k: 4, prefetch: false },
        ];
        for t in shapes {
            for kernel in Kernel::ALL {
                let dims = kernel.max_dims_per_pass(&t);
                assert!((1024..=MAX_DIMS_PER_PASS).contains(&dims), "{kernel:?} {t:?}: {dims}");
            }
        }
    }

    #[test]
    fn candidates_fit_and_include_the_default() {
        for limits in [wgpu::Limits::default(), wgpu::Limits::downlevel_defaults()] {
            let all = Tuning::candidates(&limits);
            assert_eq!(all[0], Tuning::for_limits(&limits));
            assert!(all.len() > 3, "{all:?}");
            for (i, t) in all.iter().enumerate() {
                assert!(t.fits(&limits), "{t:?}");
                assert!(!all[..i].contains(t), "{t:?} twice");
                assert!(Kernel::Tiled.max_dims_per_pass(t) >= 1024, "{t:?}");
            }
        }
        // 32 KiB of workgroup memory (lavapipe) allows 16 x 16 x 32; 16 KiB does not.
        let big = wgpu::Limits { max_compute_workgroup_storage_size: 32768, ..Default::default() };
        let wide = Tuning { wg_x: 16, wg_y: 16, tile_k: 32, prefetch: false };
        assert!(Tuning::candidates(&big).contains(&wide));
        assert!(!Tuning::candidates(&wgpu::Limits::default()).contains(&wide));
    }

    #[test]
    fn nonsense_tunings_do_not_fit() {
        let limits = wgpu::Limits::default();
        for t in [(0, 16, 16), (16, 0, 16), (16, 16, 0), (16, 16, 6), (u32::MAX, u32::MAX, 16), (64, 64, 16)] {
            let t = Tuning { wg_x: t.0, wg_y: t.1, tile_k: t.2, prefetch: false };
            assert!(!t.fits(&limits), "{t:?}");
        }
    }

    /// The prefetch holds a step's items in two pieces of registers per invocation: shapes
    /// that stage more per invocation do not fit with it, and neither does anything in f64.
    #[test]
    fn prefetch_fits_where_two_items_per_invocation_cover_a_step() {
        let limits = wgpu::Limits { max_compute_workgroup_storage_size: 32768, ..Default::default() };
        let with = |wg_x, wg_y, tile_k| Tuning { wg_x, wg_y, tile_k, prefetch: true };
        // (2 (wg_x + wg_y) tile_k / 4) items over wg_x wg_y invocations.
        for (t, items) in [(with(16, 16, 8), 1), (with(16, 16, 32), 2), (with(8, 8, 16), 2), (with(16, 8, 16), 2)] {
            assert_eq!(t.items_per_invocation(), items, "{t:?}");
            assert!(t.fits(&limits), "{t:?}");
        }
        for t in [with(8, 8, 32), with(4, 4, 16), with(2, 2, 8)] {
            assert!(t.items_per_invocation() > 2 && !t.fits(&limits), "{t:?}");
            assert!(Tuning { prefetch: false, ..t }.fits(&limits), "{t:?}");
        }
        let all = Tuning::candidates(&limits);
        assert!(all.iter().any(|t| t.prefetch) && all.iter().any(|t| !t.prefetch), "{all:?}");
        assert!(all.iter().all(|t| !t.for_dtype(Dtype::F64).prefetch));
        assert!(with(16, 16, 16).to_string().ends_with("TILE_K 16, prefetch"), "{}", with(16, 16, 16));
        let constants = Kernel::Tiled.constants(Metric::SqEuclidean, false, &with(16, 16, 16));
        assert!(constants.contains(&("PREFETCH", 1.0)), "{constants:?}");
    }

    #[test]
    fn tiled_block_shape() {
        let t = Tuning::for_limits(&wgpu::Limits::default());
        assert_eq!(t, Tuning { wg_x: 16, wg_y: 16, tile_k: 16, prefetch: false });
        assert_eq!(Kernel::Tiled.block(&t), (128, 128));
        assert_eq!(t.workgroup_bytes(), 16384);
    }
}
