//! The tile planner: pure functions of the problem's sizes and the device's limits.
//!
//! A distance matrix of `n × m` pairs in `d` dimensions is cut into [`Tile`]s of
//! `tile_rows × tile_cols` outputs; when one tile cannot hold whole rows of `d` values within a
//! binding (or a pass would sum too many), `d` is cut into chunks too and the executor adds up
//! the chunks of a tile before finalizing it. The GPU and the CPU executors walk the same plan,
//! so every limit is decided here and nowhere else.
//!
//! One word per sub-rectangle, everywhere in the code:
//!
//! | word | what it is |
//! |---|---|
//! | window | the part of a problem one [`Job`](crate::job::Job) covers (a shard) |
//! | tile | the plan's unit: rows × columns of outputs computed and delivered at once |
//! | chunk | a range of dimensions summed in one pass (`dim_chunks`) |
//! | pass | one dispatch (GPU) or one walk over a tile's columns (CPU) |
//! | block | the outputs of one GPU workgroup (`PlanLimits::block`); tiles are made of them |
//! | band | whole rows of the output one CPU task owns |
//! | panel | `nr` rows of Y packed k-major for the CPU micro-kernel |
//! | register block | `mr × nr` outputs a CPU micro-kernel keeps in registers |
//! | segment | a contiguous run of one tile row in a flat output (`sink::Layout`) |
//! | list | a row's best candidates (k nearest) over a run of columns |
//!
//! No wgpu types appear here: the planner is unit-tested without a GPU.

use std::ops::Range;

use crate::error::{Error, Result};

/// The limits a plan must respect, in bytes and counts. Built from a device's limits by the
/// executor (see `gpu::context`) or from cache sizes for the CPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanLimits {
    /// Largest storage binding (`max_storage_buffer_binding_size`, capped by `max_buffer_size`).
    pub max_binding_bytes: u64,
    /// Largest number of workgroups in one dispatch dimension.
    pub max_workgroups_per_dim: u32,
    /// Outputs one workgroup computes: (rows, cols). Tiles are multiples of this, but the last.
    pub block: (usize, usize),
    /// Bytes all tile buffers may take together (`slots` copies of inputs, output and staging).
    pub memory_budget_bytes: u64,
    /// Tiles in flight at once (double buffering: 2).
    pub slots: u64,
    /// Most pair-dimensions (rows × cols × dims) one submission may compute, so that no
    /// submission runs long enough to trip a driver watchdog.
    pub max_pair_dims_per_pass: u64,
    /// Whether `d` may be split across passes. The CPU executor keeps whole rows (it has no
    /// binding limit), so for it the input-binding limits only shape the tiles.
    pub split_dims: bool,
    /// Most dimensions one pass may sum (when `split_dims`): every pass starts its sums from
    /// zero and adds them to the earlier passes' total, so this is also the block length of a
    /// blocked summation (see [`MAX_DIMS_PER_PASS`]), and it keeps every shader loop far below
    /// the drivers' iteration limits.
    pub max_dims_per_pass: usize,
}

/// Dimensions one GPU pass sums at most. Two reasons, both about exact results:
///
/// - Accuracy: a pass sums its dimensions in f32 registers from zero, and the passes' partial
///   sums are added in the output. That is a blocked summation: the rounding error of a sum
///   of `d` terms grows like `(B + d / B)·ε` at worst (and like the square root of that on
///   random data) instead of `d·ε` for one running sum. With `B = 4096` the relative error on
///   normal data stays below 1e-6 for `d` up to 10⁶ (see README, "Accuracy").
/// - Drivers end long loops. Mesa's llvmpipe/lavapipe stops every loop of an invocation after
///   65 535 iterations in all (a guard against hangs), silently: pairdist 0.1 summed only the
///   first ~49 932 dimensions there. A pass of 4096 dimensions runs about 5 400 loop
///   iterations in the tiled kernel and 4096 in the naive one.
///
/// The cost is one read and write of the output tile per pass: 8 bytes per 4096 terms.
pub const MAX_DIMS_PER_PASS: usize = 4096;

/// Default bytes all tile buffers of one run may use (`--memory-budget`).
pub const DEFAULT_MEMORY_BUDGET: u64 = 512 << 20;

/// Smallest `--max-tile-bytes` either backend honours (one 32 × 32 block of f32 outputs, the
/// GPU's smallest workgroup block); smaller caps act as this one.
pub const MIN_TILE_BYTES: u64 = 4096;

/// Smallest `--memory-budget` either backend honours: two slots of the smallest block with a
/// few dimensions fit in it on any GPU; smaller budgets act as this one.
pub const MIN_MEMORY_BUDGET: u64 = 64 * 1024;

impl PlanLimits {
    /// Limits for the CPU executor: tiles sized for the cache, whole rows of `d`.
    ///
    /// `max_tile_bytes`, when set, caps the output tile so tests can force many tiles.
    pub fn cpu(max_tile_bytes: Option<u64>) -> Self {
        // Keep a block of Y rows inside a core's L2 (1 MiB per core on the project's machine,
        // an AMD EPYC of the Zen 4 generation; 1.25 MiB on Ice Lake).
        let l2_target = 512 * 1024;
        PlanLimits {
            max_binding_bytes: max_tile_bytes.map_or(l2_target, |b| b.min(l2_target)),
            max_workgroups_per_dim: u32::MAX,
            // Tiles in whole 32-column panels (AVX2 and portable kernels are 16 wide); the
            // executor widens its column passes to the 64-column AVX-512 panels itself, and 8 × 32
            // still lets tests force 1 KiB tiles.
            block: (8, 32),
            memory_budget_bytes: u64::MAX,
            slots: 1,
            max_pair_dims_per_pass: u64::MAX,
            split_dims: false,
            // The CPU kernels block their sums themselves (`cpu::kernels::DEPTH_CHUNK`).
            max_dims_per_pass: usize::MAX,
        }
    }

    /// Returns a copy whose tiles (inputs, output, staging) take at most `bytes` together,
    /// never below [`MIN_MEMORY_BUDGET`].
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget_bytes = bytes.max(MIN_MEMORY_BUDGET);
        self
    }

    /// Returns a copy for tiles of `T`: the plan counts f32 elements, so the byte limits shrink
    /// by the ratio of the sizes (an f64 tile holds half the values of an f32 tile of the same
    /// bytes).
    pub fn for_element<T: crate::Element>(mut self) -> Self {
        let ratio = (T::DTYPE.size() as u64 / ELEM).max(1);
        self.max_binding_bytes /= ratio;
        self.memory_budget_bytes /= ratio;
        self
    }

    /// Returns a copy whose binding limit is at most `bytes` (the "force small tiles" knob),
    /// never below [`MIN_TILE_BYTES`].
    pub fn with_max_tile_bytes(mut self, bytes: Option<u64>) -> Self {
        if let Some(b) = bytes {
            self.max_binding_bytes = self.max_binding_bytes.min(b.max(MIN_TILE_BYTES));
        }
        self
    }
}

/// Bytes of device and mappable buffers one slot holds for a `rows × cols × dims` tile of
/// `elem`-byte values: the inputs twice (the device's copy and the mapped upload buffer they
/// are packed into) and the output twice (the device's and its mapped staging copy for the
/// readback). The memory budget holds `slots` of these.
pub(crate) fn slot_bytes(rows: u64, cols: u64, dims: u64, elem: u64) -> u64 {
    let inputs = rows.saturating_add(cols).saturating_mul(dims);
    let output = rows.saturating_mul(cols);
    elem.saturating_mul(inputs.saturating_add(output).saturating_mul(2))
}

/// Which part of the `n × m` matrix is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Region {
    /// Every pair.
    Full,
    /// Pairs `(i, j)` with `j > i` only (SciPy's condensed `pdist`; needs `n == m`).
    StrictUpper,
}

/// One tile of outputs: rows of X by rows of Y.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    /// Rows of X (rows of the output).
    pub rows: Range<usize>,
    /// Rows of Y (columns of the output).
    pub cols: Range<usize>,
}

impl Tile {
    /// Number of output entries in the tile.
    pub fn len(&self) -> usize {
        self.rows.len() * self.cols.len()
    }

    /// Whether the tile has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A tiling of one distance-matrix computation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Rows of X.
    pub n: usize,
    /// Rows of Y.
    pub m: usize,
    /// Dimensions.
    pub d: usize,
    /// Rows of X per tile (a multiple of the workgroup block, but never more than needed).
    pub tile_rows: usize,
    /// Rows of Y per tile.
    pub tile_cols: usize,
    /// Dimensions per pass; equal to `d` unless `d` had to be split.
    pub tile_dims: usize,
    /// Which pairs are computed.
    pub region: Region,
}

/// Element size of the inputs and outputs on the device (f32).
const ELEM: u64 = 4;

impl Plan {
    /// Plans an `n × m` distance matrix over `d` dimensions within `limits`.
    ///
    /// Fails only if the limits are too small to hold a single workgroup's block.
    pub fn new(n: usize, m: usize, d: usize, region: Region, limits: &PlanLimits) -> Result<Plan> {
        let (bn, bm) = (limits.block.0.max(1), limits.block.1.max(1));
        // A tile never has more rows than the problem: limits are checked on what is used.
        let (rows, cols) = (n.max(1), m.max(1));
        let check = |tn: usize, tm: usize, td: usize| Shrink::of(tn.min(rows), tm.min(cols), td, limits);
        let fits = |tn: usize, tm: usize, td: usize| check(tn, tm, td).is_none();

        // Dimensions: whole rows unless one pass may not sum them all or one workgroup's block
        // of rows cannot hold them; then chunks of d, as even as alignment allows.
        let tile_dims = if !limits.split_dims || d == 0 {
            d
        } else {
            let cap = d.min(limits.max_dims_per_pass.max(1));
            let most = if fits(bn, bm, cap) {
                cap
            } else {
                if !fits(bn, bm, 1) {
                    return Err(Error::TooLarge(too_small(bn, bm, limits)));
                }
                let mut lo = 1usize; // largest td known to fit
                let mut hi = cap; // smallest td known not to fit
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if fits(bn, bm, mid) { lo = mid } else { hi = mid }
                }
                lo
            };
            even_chunk(d, most)
        };

        let round_up = |v: usize, b: usize| v.div_ceil(b).max(1) * b;
        let mut tn = round_up(n.max(1), bn);
        let mut tm = round_up(m.max(1), bm);
        let shrink = |t: usize, b: usize| round_up(t.div_ceil(2), b);
        while let Some(v) = check(tn, tm, tile_dims) {
            let (shrink_rows, shrink_cols) = match v {
                Shrink::Rows => (true, false),
                Shrink::Cols => (false, true),
                Shrink::Both => (tn >= tm, tm > tn),
            };
            let (new_tn, new_tm) =
                (if shrink_rows { shrink(tn, bn) } else { tn }, if shrink_cols { shrink(tm, bm) } else { tm });
            if (new_tn, new_tm) == (tn, tm) {
                // Could not shrink the side at fault; try the other before giving up.
                let other = (shrink(tn, bn), shrink(tm, bm));
                if other == (tn, tm) {
                    if !limits.split_dims {
                        break; // CPU: input limits only shape tiles; a block is the floor.
                    }
                    return Err(Error::TooLarge(format!("cannot tile {n}x{m}x{d}: {}", too_small(bn, bm, limits))));
                }
                (tn, tm) = if shrink_rows { (tn, other.1) } else { (other.0, tm) };
            } else {
                (tn, tm) = (new_tn, new_tm);
            }
        }

        Ok(Plan { n, m, d, tile_rows: tn.min(n.max(1)), tile_cols: tm.min(m.max(1)), tile_dims, region })
    }

    /// The same tiling over `region` (the tiles' shapes do not depend on it).
    #[cfg(feature = "gpu")]
    pub(crate) fn with_region(&self, region: Region) -> Plan {
        Plan { region, ..self.clone() }
    }

    /// Whether the tile is needed for this plan's region.
    fn wanted(&self, tile: &Tile) -> bool {
        match self.region {
            Region::Full => true,
            // Some (i, j) with j > i exists iff the last column exceeds the first row.
            Region::StrictUpper => tile.cols.end > tile.rows.start + 1,
        }
    }

    /// The tiles to compute, row band by row band (columns inner), so a sink sees the rows
    /// of the output in order.
    pub fn tiles(&self) -> impl Iterator<Item = Tile> + '_ {
        let (n, m) = (self.n, self.m);
        let (tn, tm) = (self.tile_rows, self.tile_cols);
        (0..n.div_ceil(tn)).flat_map(move |bi| {
            (0..m.div_ceil(tm)).filter_map(move |bj| {
                let tile = Tile { rows: bi * tn..((bi + 1) * tn).min(n), cols: bj * tm..((bj + 1) * tm).min(m) };
                self.wanted(&tile).then_some(tile)
            })
        })
    }

    /// The chunks of `d` each tile is computed in (one chunk unless `d` is split).
    pub fn dim_chunks(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        let td = self.tile_dims.max(1);
        (0..self.d.div_ceil(td).max(1)).map(move |k| k * td..((k + 1) * td).min(self.d))
    }

    /// Whether `d` is split across passes.
    pub fn splits_dims(&self) -> bool {
        self.tile_dims < self.d
    }

    /// Number of output entries the plan produces (n·m, or n(n−1)/2 for the strict upper part).
    pub fn outputs(&self) -> u64 {
        let (n, m) = (self.n as u64, self.m as u64);
        match self.region {
            Region::Full => n * m,
            Region::StrictUpper => n * n.saturating_sub(1) / 2,
        }
    }
}

/// The length of the chunks `d` is cut into when at most `most` dimensions fit in one pass: as
/// even as possible (no short last pass), in multiples of 4 where that still fits, since
/// multiples of 4 keep the shaders' vectorised loads aligned.
fn even_chunk(d: usize, most: usize) -> usize {
    if most >= d {
        return d;
    }
    let even = d.div_ceil(d.div_ceil(most));
    if most >= 8 { even.next_multiple_of(4).min(most - most % 4) } else { even }
}

/// Says in words which limit cannot hold one `bn × bm` block, and what value would.
fn too_small(bn: usize, bm: usize, l: &PlanLimits) -> String {
    let (bn, bm) = (bn as u64, bm as u64);
    let block_bytes = ELEM * bn * bm;
    if l.max_binding_bytes < block_bytes {
        return format!(
            "a tile cap of {} bytes cannot hold one {bn}x{bm} block of outputs: use --max-tile-bytes {block_bytes} or more",
            l.max_binding_bytes
        );
    }
    // One dimension of the block's rows and its output, per slot.
    let need = slot_bytes(bn, bm, 1, ELEM) * l.slots.max(1);
    if l.memory_budget_bytes < need {
        return format!(
            "a memory budget of {} bytes cannot hold one {bn}x{bm} block of outputs: use --memory-budget {need} or more",
            l.memory_budget_bytes
        );
    }
    format!(
        "one {bn}x{bm} block exceeds the device's limits (storage binding {} bytes, {} workgroups per dimension, {} pair-dimensions per pass)",
        l.max_binding_bytes, l.max_workgroups_per_dim, l.max_pair_dims_per_pass
    )
}

/// Which side of a tile must shrink to meet a limit it breaks.
enum Shrink {
    Rows,
    Cols,
    Both,
}

impl Shrink {
    /// The first limit a `tn × tm × td` tile breaks, if any, and which side must shrink.
    fn of(tn: usize, tm: usize, td: usize, l: &PlanLimits) -> Option<Shrink> {
        let (tn64, tm64, td64) = (tn as u64, tm as u64, td.max(1) as u64);
        let binding = l.max_binding_bytes;
        // Element indices inside the shaders are u32: every binding's length must fit.
        let index_ok = |elems: u64| elems <= u32::MAX as u64;
        let in_limit = |elems: u64| elems.saturating_mul(ELEM) <= binding && index_ok(elems);
        let strict = l.split_dims;
        if strict && !in_limit(tn64 * td64) {
            return Some(Shrink::Rows);
        }
        if strict && !in_limit(tm64 * td64) {
            return Some(Shrink::Cols);
        }
        if tn.div_ceil(l.block.0.max(1)) as u64 > l.max_workgroups_per_dim as u64 {
            return Some(Shrink::Rows);
        }
        if tm.div_ceil(l.block.1.max(1)) as u64 > l.max_workgroups_per_dim as u64 {
            return Some(Shrink::Cols);
        }
        if !in_limit(tn64 * tm64) {
            return Some(Shrink::Both);
        }
        if !strict && (!in_limit(tn64 * td64) || !in_limit(tm64 * td64)) {
            // CPU: rows of X and Y per tile stay within the cache target where possible.
            return Some(if tn64 >= tm64 { Shrink::Rows } else { Shrink::Cols });
        }
        // Every slot in flight.
        let footprint = slot_bytes(tn64, tm64, td64, ELEM).saturating_mul(l.slots.max(1));
        if footprint > l.memory_budget_bytes {
            return Some(Shrink::Both);
        }
        if tn64 * tm64 * td64 > l.max_pair_dims_per_pass {
            return Some(Shrink::Both);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu_limits() -> PlanLimits {
        PlanLimits {
            max_binding_bytes: 128 << 20,
            max_workgroups_per_dim: 65_535,
            block: (64, 64),
            memory_budget_bytes: 1 << 30,
            slots: 2,
            max_pair_dims_per_pass: 1 << 33,
            split_dims: true,
            max_dims_per_pass: MAX_DIMS_PER_PASS,
        }
    }

    /// Checks that the tiles of a plan cover the wanted region exactly once and that every
    /// block respects the limits.
    fn check_cover(plan: &Plan, limits: &PlanLimits) {
        let mut covered = 0u64;
        let mut last_row_start = 0;
        for b in plan.tiles() {
            assert!(!b.is_empty(), "empty block {b:?}");
            assert!(b.rows.len() <= plan.tile_rows && b.cols.len() <= plan.tile_cols);
            assert!(b.rows.start >= last_row_start, "row bands out of order");
            last_row_start = b.rows.start;
            covered += match plan.region {
                Region::Full => b.len() as u64,
                Region::StrictUpper => b.rows.clone().map(|i| b.cols.clone().filter(|&j| j > i).count() as u64).sum(),
            };
        }
        assert_eq!(covered, plan.outputs(), "blocks do not cover the region: {plan:?}");
        let chunks: Vec<_> = plan.dim_chunks().collect();
        assert_eq!(chunks.first().map(|c| c.start), Some(0));
        assert_eq!(chunks.last().map(|c| c.end), Some(plan.d));
        assert!(chunks.windows(2).all(|w| w[0].end == w[1].start));
        if limits.split_dims {
            assert!(Shrink::of(plan.tile_rows, plan.tile_cols, plan.tile_dims, limits).is_none());
            // The promise the GPU's accuracy and the drivers' loop limits rely on.
            assert!(chunks.iter().all(|c| c.len() <= limits.max_dims_per_pass), "{plan:?}");
        }
    }

    #[test]
    fn small_problem_is_one_block() {
        let l = gpu_limits();
        let p = Plan::new(100, 70, 3, Region::Full, &l).unwrap();
        assert_eq!((p.tile_rows, p.tile_cols, p.tile_dims), (100, 70, 3));
        assert_eq!(p.tiles().count(), 1);
        check_cover(&p, &l);
    }

    #[test]
    fn output_binding_limits_tiles() {
        let l = gpu_limits();
        let p = Plan::new(20_000, 20_000, 64, Region::Full, &l).unwrap();
        assert!(p.tile_rows as u64 * p.tile_cols as u64 * 4 <= l.max_binding_bytes);
        assert!(p.tiles().count() > 1);
        assert!(!p.splits_dims());
        check_cover(&p, &l);
    }

    #[test]
    fn beyond_u32_outputs_are_planned() {
        // 100 000² = 1e10 outputs: more than 2^32, planned without computing anything.
        let l = gpu_limits();
        let p = Plan::new(100_000, 100_000, 128, Region::Full, &l).unwrap();
        assert!(p.outputs() > u32::MAX as u64);
        assert!((p.tile_rows * p.tile_cols) as u64 <= u32::MAX as u64);
        check_cover(&p, &l);
    }

    #[test]
    fn huge_d_is_split() {
        let mut l = gpu_limits();
        l.max_binding_bytes = 1 << 20;
        let p = Plan::new(300, 200, 100_000, Region::Full, &l).unwrap();
        assert!(p.splits_dims());
        assert!(p.tile_dims.is_multiple_of(4) && p.tile_dims > 0);
        check_cover(&p, &l);
    }

    #[test]
    fn work_budget_splits_submissions() {
        let mut l = gpu_limits();
        l.max_pair_dims_per_pass = 64 * 64 * 16;
        let p = Plan::new(1000, 1000, 256, Region::Full, &l).unwrap();
        assert!(p.splits_dims());
        assert!((p.tile_rows * p.tile_cols * p.tile_dims) as u64 <= l.max_pair_dims_per_pass);
        check_cover(&p, &l);
    }

    #[test]
    fn workgroup_count_is_respected() {
        let mut l = gpu_limits();
        l.max_workgroups_per_dim = 3;
        l.block = (16, 16);
        let p = Plan::new(1000, 1000, 8, Region::Full, &l).unwrap();
        assert!(p.tile_rows.div_ceil(16) <= 3 && p.tile_cols.div_ceil(16) <= 3);
        check_cover(&p, &l);
    }

    #[test]
    fn strict_upper_skips_lower_blocks() {
        let mut l = gpu_limits();
        l.max_binding_bytes = 64 * 64 * 4;
        let p = Plan::new(1000, 1000, 4, Region::StrictUpper, &l).unwrap();
        let full = Plan { region: Region::Full, ..p.clone() };
        assert!(p.tiles().count() * 2 < full.tiles().count() + p.n.div_ceil(p.tile_rows) * 2);
        check_cover(&p, &l);
    }

    #[test]
    fn empty_and_tiny_shapes() {
        let l = gpu_limits();
        for (n, m, d) in [(0, 5, 3), (5, 0, 3), (0, 0, 0), (1, 1, 0), (1, 1, 1), (3, 2, 0)] {
            let p = Plan::new(n, m, d, Region::Full, &l).unwrap();
            assert_eq!(p.tiles().map(|b| b.len() as u64).sum::<u64>(), (n * m) as u64);
        }
    }

    #[test]
    fn too_small_limits_are_an_error_in_words() {
        let mut l = gpu_limits();
        l.max_binding_bytes = 8;
        let e = Plan::new(100, 100, 100, Region::Full, &l).unwrap_err().to_string();
        assert!(e.contains("--max-tile-bytes 16384") && !e.contains("PlanLimits"), "{e}");
        let mut l = gpu_limits();
        l.memory_budget_bytes = 1000;
        let e = Plan::new(100, 100, 100, Region::Full, &l).unwrap_err().to_string();
        // Two slots of a 64 × 64 block with one dimension: 2 × 4 × 2 × (64 + 64 + 64²) bytes.
        assert!(e.contains("--memory-budget 67584") && !e.contains('{'), "{e}");
        // and the value it names works.
        l.memory_budget_bytes = 67584;
        assert!(Plan::new(100, 100, 100, Region::Full, &l).is_ok());
    }

    #[test]
    fn large_d_is_cut_into_even_passes() {
        let l = gpu_limits();
        for (d, passes) in [(4096, 1), (4097, 2), (65_537, 17), (200_000, 49), (1_000_000, 245)] {
            let p = Plan::new(5, 3, d, Region::Full, &l).unwrap();
            assert_eq!(p.dim_chunks().count(), passes, "d = {d}: {p:?}");
            check_cover(&p, &l);
        }
    }

    #[test]
    fn cpu_plan_keeps_whole_rows() {
        let l = PlanLimits::cpu(None);
        let p = Plan::new(5000, 5000, 100_000, Region::Full, &l).unwrap();
        assert!(!p.splits_dims());
        check_cover(&p, &l);
        let forced = PlanLimits::cpu(Some(1024));
        let p = Plan::new(300, 300, 16, Region::Full, &forced).unwrap();
        assert!(p.tile_rows * p.tile_cols * 4 <= 1024);
        assert!(p.tiles().count() >= 100);
        check_cover(&p, &forced);
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_shape_is_covered(n in 0usize..3000, m in 0usize..3000, d in 0usize..5000,
                                    binding_kib in 1u64..512, upper in any::<bool>()) {
                let mut l = gpu_limits();
                l.max_binding_bytes = binding_kib * 1024;
                l.block = (16, 16);
                let region = if upper { Region::StrictUpper } else { Region::Full };
                let m = if upper { n } else { m };
                let p = Plan::new(n, m, d, region, &l).unwrap();
                check_cover(&p, &l);
            }

            #[test]
            fn no_pass_sums_more_than_the_limit(n in 0usize..5000, m in 0usize..5000, d in 0usize..10_000_000,
                                                 binding_kib in 16u64..(1 << 20), per_pass in 64usize..70_000) {
                let mut l = gpu_limits();
                l.max_binding_bytes = binding_kib * 1024;
                l.max_dims_per_pass = per_pass;
                let p = Plan::new(n, m, d, Region::Full, &l).unwrap();
                check_cover(&p, &l);
            }
        }
    }
}
