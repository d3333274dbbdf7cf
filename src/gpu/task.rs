//! The GPU backend's one entry point: a checked [`Task`], whatever its answer.
//!
//! Every answer streams the plan's tiles through the task's sink, except k nearest on a
//! hardware GPU: there the select epilogue reduces each tile on the device, and only the rows'
//! candidates are read back.

use super::context::GpuContext;
use super::executor::{Epilogue, Job, Output, run};
use super::shaders::{Kernel, SELECT_K_MAX};
use crate::element::{Dtype, Element};
use crate::error::Result;
use crate::job::{Answer, Target, Task};
use crate::plan::Region;

/// Runs `task` on `ctx`'s device with `kernel`. `select_on_device` chooses the k-nearest
/// epilogue (`None`: on hardware adapters only; see `EngineOptions::select_on_device`).
pub(crate) fn run_task<T: Element>(
    ctx: &GpuContext,
    kernel: Kernel,
    select_on_device: Option<bool>,
    mut task: Task<T>,
) -> Result<()> {
    let (x, y, metric, weights) = (task.x, task.y, task.metric, task.weights);
    let (row0, col0, monitor) = (task.row0, task.col0, task.monitor.clone());
    if let Answer::Nearest { k, .. } = task.answer {
        let wanted = select_on_device.unwrap_or(!ctx.adapter().is_software);
        // The epilogue's lists hold at most SELECT_K_MAX; its columns are u32; it reads f32
        // distances; rows that need the host's f64 fix-up, or a ratio's denominators, take the
        // streamed path.
        let fits = k <= SELECT_K_MAX && u32::try_from(col0 + task.plan.m).is_ok() && T::DTYPE == Dtype::F32;
        if wanted && fits && !task.changes_values() && !task.is_empty() {
            // Every pair's tile is needed (the diagonal is skipped on the device).
            let plan = task.plan_for(Region::Full)?;
            let skip_diag = task.region == Region::StrictUpper;
            let Answer::Nearest { lists, .. } = &mut task.answer else { unreachable!("matched above") };
            let epilogue = Epilogue::Select { k, skip_diag };
            let monitor = monitor.as_deref();
            let job = Job { kernel, x, y, metric, weights, plan: &plan, epilogue, monitor, row0, col0 };
            return run(ctx, job, Output::Candidates(lists));
        }
    }
    let plan = task.plan.clone();
    let empty = task.is_empty();
    // The readback's copy is the first touch of a fresh output (`Engine::cdist`): 2 MiB pages
    // make that 512 times fewer page faults, as on the CPU path.
    if let Answer::Matrix(Target::Array(out)) = &task.answer {
        crate::cpu::advise_huge_pages(out);
    }
    task.stream(|sink| {
        if empty {
            return Ok(());
        }
        let (epilogue, monitor) = (Epilogue::Store, None);
        let job = Job { kernel, x, y, metric, weights, plan: &plan, epilogue, monitor, row0, col0 };
        run(ctx, job, Output::Tiles(sink))
    })
}
