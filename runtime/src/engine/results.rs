//! What inference returns: classifications, cascade outcomes, memory reports.

use std::sync::Arc;

use crate::image::Resolution;

/// Result of one inference.
#[derive(Debug, Clone)]
pub struct Classification {
    /// Softmax probability of every class.
    pub probabilities: Vec<f32>,
    /// Class names (empty when the model has none).
    pub labels: Arc<Vec<String>>,
    /// Patch that produced it.
    pub patch_id: String,
    /// Resolution it ran at.
    pub resolution: Resolution,
    /// GPU execution time of the compute pass, when timestamps are available.
    pub gpu_ms: Option<f64>,
}

/// One ranked class.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Class index.
    pub class: usize,
    /// Class name, or `class_<index>` when the model has no labels.
    pub label: String,
    /// Probability.
    pub probability: f32,
}

impl Classification {
    /// The `k` most probable classes, most probable first (ties by index).
    pub fn top_k(&self, k: usize) -> Vec<Prediction> {
        let mut order: Vec<usize> = (0..self.probabilities.len()).collect();
        order.sort_by(|&a, &b| {
            self.probabilities[b]
                .total_cmp(&self.probabilities[a])
                .then(a.cmp(&b))
        });
        order
            .into_iter()
            .take(k)
            .map(|class| Prediction {
                class,
                label: self
                    .labels
                    .get(class)
                    .cloned()
                    .unwrap_or_else(|| format!("class_{class}")),
                probability: self.probabilities[class],
            })
            .collect()
    }
}

/// One stage of a confidence cascade as the engine runs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CascadeStep {
    /// Resolution the stage classifies at.
    pub resolution: Resolution,
    /// Minimum top probability for the stage to answer; `None`: always answers.
    pub threshold: Option<f32>,
}

/// What a cascade run did.
#[derive(Debug, Clone)]
pub struct CascadeOutcome {
    /// The answering stage's classification.
    pub result: Classification,
    /// Resolutions run, in order (the last one answered).
    pub stages_run: Vec<Resolution>,
}

/// GPU memory held by an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryReport {
    /// Shared backbone weights.
    pub backbone_bytes: u64,
    /// All resident patches, the default patch included.
    pub patch_bytes: u64,
    /// Activations and frame buffers.
    pub activation_bytes: u64,
}
