//! The CPU backend's one entry point: a checked [`Task`], whatever its answer.
//!
//! Matrices go in place into the caller's array or condensed vector (the fast path, then the
//! f64 fix-up of extreme rows); k nearest and radius reduce each band of rows as it is
//! computed; everything else, and answers whose values change on the host (the fix-up of
//! extreme rows, a ratio's denominators the kernels cannot divide by), stream tiles through
//! the task's sink.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::executor::{Kernel, reduce_rows, run_condensed, run_into_checked, run_streaming};
use super::fused::FusedRatio;
use crate::answer::radius::too_many;
use crate::element::Element;
use crate::error::Result;
use crate::job::{Answer, Target, Task};
use crate::monitor::Monitor;
use crate::plan::Region;
use crate::stats::Phase;

/// Runs `task` on all cores, in its element type, counting its tiles, pairs and time on the
/// task's counters.
pub(crate) fn run<T: Element>(task: Task<T>) -> Result<()> {
    let (counters, plan) = (task.counters.clone(), &task.plan);
    counters.tiles(plan.tiles().count() as u64, plan.outputs());
    counters.time(Phase::Compute, || run_answer(task))
}

fn run_answer<T: Element>(mut task: Task<T>) -> Result<()> {
    let ratio = fuse_ratio(&mut task);
    let (x, y, plan) = (task.x, task.y, task.plan.clone());
    let kernel = Kernel { metric: task.metric, weights: task.weights, ratio: ratio.as_ref() };
    let (own, col0, monitor) = (task.region == Region::StrictUpper, task.col0, task.monitor.clone());
    let (empty, changes_values) = (task.is_empty(), task.changes_values());
    let advance = |pairs: usize| monitor.as_deref().map_or(Ok(()), |m: &Monitor| m.advance(pairs as u64));
    match &mut task.answer {
        Answer::Matrix(Target::Array(out)) => {
            if !empty {
                run_into_checked(x, y, kernel, &plan, out.view_mut(), &advance)?;
            }
            if let Some(extremes) = &task.extremes {
                extremes.fix_matrix(out.view_mut());
            }
            if let Some(ratio) = &task.ratio {
                ratio.finish_matrix(out.view_mut());
            }
            return Ok(());
        }
        Answer::Matrix(Target::Condensed(out)) => {
            run_condensed(x, kernel, &plan, out, &advance)?;
            if let Some(extremes) = &task.extremes {
                extremes.fix_condensed(out);
            }
            if let Some(ratio) = &task.ratio {
                ratio.finish_condensed(out);
            }
            return Ok(());
        }
        Answer::Nearest { lists, .. } if !changes_values => {
            return reduce_rows(x, y, kernel, &plan, lists, |i, first, values, list| {
                advance(values.len())?;
                if own && (first..first + values.len()).contains(&i) {
                    // Leave the point itself out of its own list.
                    list.offer_run(first + col0, &values[..i - first]);
                    list.offer_run(i + 1 + col0, &values[i - first + 1..]);
                } else {
                    list.offer_run(first + col0, values);
                }
                Ok(())
            });
        }
        Answer::Within { r, max_pairs, rows } if !changes_values => {
            let (r, max_pairs) = (*r, *max_pairs);
            let kept = AtomicUsize::new(rows.iter().map(|w| w.len()).sum());
            return reduce_rows(x, y, kernel, &plan, rows, |i, first, values, within| {
                advance(values.len())?;
                let from = if own { i + 1 + col0 } else { 0 };
                let new = within.offer_run(first + col0, values, r, from);
                if kept.fetch_add(new, Ordering::Relaxed) + new > max_pairs {
                    return Err(too_many(max_pairs, r));
                }
                Ok(())
            });
        }
        _ => {}
    }
    task.stream(|sink| if empty { Ok(()) } else { run_streaming(x, y, kernel, &plan, sink) })
}

/// Takes a ratio's denominators out of `task` for the kernels to divide by as they store each
/// result (one pass over the answer), when their quotients are the host's
/// ([`RatioView::fused`](crate::ratio::RatioView::fused)) and no f64 fix-up of extreme rows
/// must correct the numerators first. Without the ratio the task then changes no values on
/// the host, so every answer takes its fast path.
fn fuse_ratio<T: Element>(task: &mut Task<T>) -> Option<FusedRatio<T>> {
    if task.extremes.is_some() {
        return None;
    }
    let fused = task.ratio.as_ref()?.fused::<T>()?;
    task.ratio = None;
    Some(fused)
}
