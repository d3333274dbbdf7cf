//! The CPU backend an engine holds (the fallback of a GPU engine for types its device does not
//! compute in).

use super::task;
use crate::backend::{Executor, Resident};
use crate::element::{Dtype, Element};
use crate::error::Result;
use crate::job::Task;
use crate::plan::PlanLimits;

/// The CPU path, on the engine's threads, within its tile limits.
pub(crate) struct CpuBackend {
    pub(crate) limits: PlanLimits,
}

impl Executor for CpuBackend {
    fn limits(&self, _: Dtype, _: Option<&Resident>) -> PlanLimits {
        self.limits.clone()
    }

    fn run<'a, T: Element>(&self, task: Task<'a, '_, T>, _: Option<&'a Resident>) -> Result<()> {
        task::run(task)
    }
}
