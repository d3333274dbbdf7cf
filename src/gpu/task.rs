//! The GPU backend's one entry point: a checked [`Task`], whatever its answer.
//!
//! Each answer has its epilogue: a matrix reads its tiles back; k nearest and argmin select each
//! row's best on the device and read back `rows × k` candidates; radius filters on the device
//! and reads back the hits. Answers whose values change on the host before they count (the
//! f64 fix-up of extreme rows, a ratio's denominators) stream their tiles through the task's
//! sink instead, as do epilogues the device cannot run (float64 without 64-bit integers) or
//! an engine asked not to reduce on the device.

use super::backend::GpuBackend;
use super::epilogue::{Reduction, key_of};
use super::executor::{Job, Output, run};
use super::resident::Resident;
use super::shaders::SELECT_K_MAX;
use super::slot::Rows;
use crate::answer::RadiusSink;
use crate::backend::Executor;
use crate::element::{Dtype, Element};
use crate::error::Result;
use crate::job::{Answer, Target, Task};
use crate::plan::{PlanLimits, Region};

impl Executor for GpuBackend {
    fn limits(&self, dtype: Dtype, base: Option<&Resident>) -> PlanLimits {
        let mut limits =
            self.ctx.plan_limits(self.kernel, self.memory_budget, dtype).with_max_tile_bytes(self.max_tile_bytes);
        if let Some(base) = base.filter(|b| b.dtype() == dtype) {
            // The plan reads the base in the chunks of dimensions it is kept in.
            limits.max_dims_per_pass = base.chunk_dims();
        }
        limits
    }

    fn run<'a, T: Element>(&self, task: Task<'a, '_, T>, base: Option<&'a Resident>) -> Result<()> {
        // The base serves the task when it is all of the task's Y, in the task's type.
        let y = match base {
            Some(b) if b.dtype() == T::DTYPE && task.col0 == 0 && task.y.nrows() == b.rows() => Rows::Device(b),
            _ => Rows::Host(task.y),
        };
        run_task(self, task, y)
    }
}

/// Runs `task` on `gpu`'s device; `y` is where its rows of Y are read from (the task's own
/// view, or an index's base resident on the device).
pub(crate) fn run_task<'a, T: Element>(gpu: &GpuBackend, mut task: Task<'a, '_, T>, y: Rows<'a, T>) -> Result<()> {
    let (x, metric, weights) = (task.x, task.metric, task.weights);
    let (row0, col0, monitor) = (task.row0, task.col0, task.monitor.clone());
    let counters = task.counters.clone();
    let (ctx, pool, kernel, serial) = (&gpu.ctx, &gpu.pool, gpu.kernel, task.serial);
    // Epilogues report global columns (and compare them with global rows) as u32.
    let global_fits = u32::try_from((row0 + task.plan.n).max(col0 + task.plan.m)).is_ok();
    let reduce = gpu.reduces()
        && global_fits
        && !task.changes_values()
        && !task.is_empty()
        && ctx.cannot_reduce(T::DTYPE).is_none();
    let own = task.region == Region::StrictUpper;
    let job = |plan, reduction, monitor| -> Job<'a, '_, T> {
        Job { kernel, x, y, metric, weights, plan, reduction, monitor, counters: &counters, row0, col0, serial }
    };
    match &mut task.answer {
        Answer::Nearest { k, lists } if reduce && *k <= SELECT_K_MAX => {
            // Every pair's tile is needed (the diagonal is skipped on the device).
            let plan = task.plan.with_region(Region::Full);
            let reduction = Reduction::Select { k: *k, skip_diag: own };
            return run(ctx, pool, job(&plan, reduction, monitor.as_deref()), Output::Candidates(lists));
        }
        Answer::Within { r, max_pairs, rows } if reduce => {
            let reduction = Reduction::Filter { r_key: key_of(*r), upper: own };
            let mut sink = RadiusSink::new(rows, *r, *max_pairs, own, col0);
            let plan = task.plan.clone();
            return run(ctx, pool, job(&plan, reduction, monitor.as_deref()), Output::Hits(&mut sink));
        }
        _ => {}
    }
    let plan = task.plan.clone();
    let empty = task.is_empty();
    // The readback's copy is the first touch of a fresh output (`Engine::cdist`): 2 MiB pages
    // make that 512 times fewer page faults, as on the CPU path.
    if let Answer::Matrix(Target::Array(out)) = &task.answer {
        crate::cpu::advise_huge_pages(out);
    }
    // The task's sink counts the pairs on the monitor.
    task.stream(
        |sink| if empty { Ok(()) } else { run(ctx, pool, job(&plan, Reduction::Store, None), Output::Tiles(sink)) },
    )
}
