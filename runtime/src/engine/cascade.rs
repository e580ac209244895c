//! Running a confidence cascade: cheap resolution first, escalate when unsure.

use super::{CascadeOutcome, CascadeStep, Engine, task_patch};
use crate::error::{Error, Result};
use crate::image::{Resolution, RgbaImage};

impl Engine {
    /// Resolutions at which `task` can run: those with a patch of the task, or
    /// every served resolution when the task has a resolution-independent patch.
    pub fn resolutions_for_task(&self, task: &str) -> Vec<Resolution> {
        let state = self.lock();
        self.options
            .resolutions
            .iter()
            .copied()
            .filter(|r| state.patches.find_for_task(task, r.side()).is_some())
            .collect()
    }

    /// Runs a confidence cascade for `task`: stage k classifies at its
    /// resolution (with the task's patch for it, swapped in O(1)) and answers
    /// when the top probability reaches its threshold; otherwise the next stage
    /// runs on the same uploaded frame. The last stage always answers.
    ///
    /// `cap` drops stages above that resolution (a hard latency budget); if
    /// every stage is above it, the first stage runs alone.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for no stages; [`Error::UnknownResolution`] and
    /// [`Error::NoPatchForTask`] for a stage the engine cannot run (checked
    /// before any GPU work); everything [`Engine::classify`] returns.
    pub fn classify_cascade(
        &self,
        image: &RgbaImage<'_>,
        task: &str,
        stages: &[CascadeStep],
        cap: Option<Resolution>,
    ) -> Result<CascadeOutcome> {
        let fits = |s: &&CascadeStep| cap.is_none_or(|c| s.resolution <= c);
        let mut plan: Vec<&CascadeStep> = stages.iter().filter(fits).collect();
        if plan.is_empty() {
            plan.extend(stages.first());
        }
        if plan.is_empty() {
            return Err(Error::InvalidOption {
                option: "cascade",
                reason: "a cascade needs at least one stage".into(),
            });
        }
        let mut state = self.lock();
        let mut resolved = Vec::with_capacity(plan.len());
        for step in &plan {
            let r = self.resolution_index(step.resolution)?;
            resolved.push((
                r,
                task_patch(&state, task, step.resolution)?,
                step.threshold,
            ));
        }
        let mut stages_run = Vec::with_capacity(resolved.len());
        let last = resolved.len() - 1;
        for (k, (r, id, threshold)) in resolved.iter().enumerate() {
            let result = self.run(&mut state, id, image, *r, k == 0)?;
            stages_run.push(result.resolution);
            let top = result.probabilities.iter().copied().fold(0.0f32, f32::max);
            if k == last || threshold.is_none_or(|t| top >= t) {
                return Ok(CascadeOutcome { result, stages_run });
            }
        }
        // The loop returns at the last stage at the latest.
        Err(Error::InvalidOption {
            option: "cascade",
            reason: "no stage answered".into(),
        })
    }
}
