//! The WGSL sources, read from `shaders/` at compile time and composed with the shared
//! snippets they need. Kernels are specialised with override constants, not string templates.

/// A compute kernel, one WGSL file each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// One invocation per output, straight from global memory: the baseline.
    Naive,
    /// Workgroup-memory tiles and register micro-tiles: the default.
    Tiled,
}

const METRIC_WGSL: &str = include_str!("../../shaders/common/metric.wgsl");

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

    /// The complete WGSL module: shared snippets, then the kernel.
    pub fn source(self) -> String {
        format!("{METRIC_WGSL}\n{}", self.body())
    }

    /// Outputs one workgroup computes, as (rows, cols), for the given override constants.
    pub(crate) fn block(self, tuning: &Tuning) -> (usize, usize) {
        match self {
            Kernel::Naive => (16, 16),
            Kernel::Tiled => (tuning.wg_y as usize * 4, tuning.wg_x as usize * 4),
        }
    }

    /// The override constants for a pipeline of this kernel.
    pub(crate) fn constants(self, metric_id: u32, tuning: &Tuning) -> Vec<(&'static str, f64)> {
        let mut c = vec![("METRIC", metric_id as f64)];
        if self == Kernel::Tiled {
            c.extend([("WG_X", tuning.wg_x as f64), ("WG_Y", tuning.wg_y as f64), ("TILE_K", tuning.tile_k as f64)]);
        }
        c
    }

    /// Global-memory bytes loaded per pair-dimension (the kernel's shape, for benchmarks):
    /// each block of R × C outputs reads R + C values per dimension.
    pub fn bytes_per_pair_dim(self, tuning: &Tuning) -> f64 {
        let (r, c) = self.block(tuning);
        match self {
            Kernel::Naive => 8.0,
            Kernel::Tiled => 4.0 * (r + c) as f64 / (r * c) as f64,
        }
    }
}

/// Shape parameters of the tiled kernel, chosen per adapter from its limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Invocations per workgroup along output columns.
    pub wg_x: u32,
    /// Invocations per workgroup along output rows.
    pub wg_y: u32,
    /// Dimensions staged in workgroup memory per step.
    pub tile_k: u32,
}

impl Tuning {
    /// The largest of the standard shapes that the adapter's limits allow.
    pub fn for_limits(limits: &wgpu::Limits) -> Tuning {
        let candidates = [
            Tuning { wg_x: 16, wg_y: 16, tile_k: 16 },
            Tuning { wg_x: 8, wg_y: 8, tile_k: 16 },
            Tuning { wg_x: 4, wg_y: 4, tile_k: 8 },
        ];
        let fits = |t: &Tuning| {
            let shared = 4 * t.tile_k * 4 * (t.wg_x + t.wg_y);
            t.wg_x * t.wg_y <= limits.max_compute_invocations_per_workgroup
                && t.wg_x <= limits.max_compute_workgroup_size_x
                && t.wg_y <= limits.max_compute_workgroup_size_y
                && shared <= limits.max_compute_workgroup_storage_size
        };
        candidates.into_iter().find(fits).unwrap_or(candidates[2])
    }
}
