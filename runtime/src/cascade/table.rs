//! The validation table: every model's prediction on every validation example.
//!
//! JSON form (one object per example, one result per resolution; `id` optional;
//! `correct` is `true`/`false` or 1/0; keys not named here are ignored):
//!
//! ```json
//! {"resolutions": [224, 160, 96],
//!  "examples": [
//!    {"id": "img_0", "results": [
//!      {"resolution": 224, "class": 3, "confidence": 0.99, "correct": true},
//!      {"resolution": 160, "class": 3, "confidence": 0.98, "correct": true},
//!      {"resolution": 96,  "class": 3, "confidence": 0.97, "correct": true}]}]}
//! ```
//!
//! The CSV form is in [`super::csv`]. Both are specified in
//! `docs/cascade-formats.md`.

use std::path::Path;

use super::error::{CascadeError, Document, MismatchSite, Result, read_text};
use super::json::{self, Node};

/// One model's output on one example.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The model, identified by its input side length (e.g. 224).
    pub resolution: u32,
    /// Predicted class.
    pub class: u32,
    /// Confidence, larger is surer (e.g. the maximum softmax probability).
    /// Finite in every validated table; `-0.0` is stored as `0.0`.
    pub confidence: f32,
    /// Whether the prediction is right.
    pub correct: bool,
}

/// One validation example: an optional id and one [`Outcome`] per model.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Free-form id (file name, index); optional.
    pub id: Option<String>,
    /// One outcome per model. In a validated table they follow the order of
    /// [`ValidationTable::resolutions`].
    pub results: Vec<Outcome>,
}

/// A validated n×m table: n examples, m models (resolutions).
///
/// The position of a resolution in [`ValidationTable::resolutions`] is its
/// *model index*, the last tie-break of the greedy (spec §2, step 4.4).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationTable {
    resolutions: Vec<u32>,
    examples: Vec<Example>,
}

impl ValidationTable {
    /// Validates and stores a table. Each example's results may come in any
    /// order; they are stored in the order of `resolutions`.
    ///
    /// # Errors
    /// - [`CascadeError::NoModels`] if `resolutions` is empty (zero examples are fine);
    /// - [`CascadeError::DuplicateResolution`] if a resolution is listed twice;
    /// - [`CascadeError::ResolutionMismatch`] if an example lacks a resolution,
    ///   repeats one, or has one not listed;
    /// - [`CascadeError::NonFiniteConfidence`] for a NaN or infinite confidence.
    pub fn new(resolutions: Vec<u32>, mut examples: Vec<Example>) -> Result<ValidationTable> {
        if resolutions.is_empty() {
            return Err(CascadeError::NoModels);
        }
        for (k, r) in resolutions.iter().enumerate() {
            if resolutions[..k].contains(r) {
                return Err(CascadeError::DuplicateResolution {
                    document: Document::Table,
                    resolution: *r,
                });
            }
        }
        for (index, example) in examples.iter_mut().enumerate() {
            let mut ordered = Vec::with_capacity(resolutions.len());
            for &r in &resolutions {
                let mut hits = example.results.iter().filter(|o| o.resolution == r);
                match (hits.next(), hits.next()) {
                    (Some(o), None) => ordered.push(*o),
                    _ => break,
                }
            }
            if ordered.len() != resolutions.len() || example.results.len() != resolutions.len() {
                return Err(CascadeError::ResolutionMismatch {
                    site: MismatchSite::Example {
                        index,
                        id: example.id.clone(),
                    },
                    expected: resolutions.clone(),
                    found: example.results.iter().map(|o| o.resolution).collect(),
                });
            }
            for o in &mut ordered {
                if !o.confidence.is_finite() {
                    return Err(CascadeError::NonFiniteConfidence {
                        example: index,
                        resolution: o.resolution,
                    });
                }
                // -0.0 and 0.0 compare equal; store one of them so that
                // sorting and thresholds never tell them apart.
                o.confidence += 0.0;
            }
            example.results = ordered;
        }
        Ok(ValidationTable {
            resolutions,
            examples,
        })
    }

    /// The models' resolutions; a resolution's position is its model index.
    pub fn resolutions(&self) -> &[u32] {
        &self.resolutions
    }

    /// The examples, each with results in the order of [`Self::resolutions`].
    pub fn examples(&self) -> &[Example] {
        &self.examples
    }

    /// Number of examples n.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// Whether there are no examples (there is always at least one model).
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// The model index of `resolution`, if the table has it.
    pub fn model_index(&self, resolution: u32) -> Option<usize> {
        self.resolutions.iter().position(|&r| r == resolution)
    }

    /// Outcome of model `model` (an index into [`Self::resolutions`]) on example `example`.
    pub fn outcome(&self, example: usize, model: usize) -> Option<&Outcome> {
        self.examples.get(example)?.results.get(model)
    }

    /// How many examples the model at `resolution` gets right, if the table has it.
    pub fn correct_count(&self, resolution: u32) -> Option<usize> {
        let j = self.model_index(resolution)?;
        Some(
            self.examples
                .iter()
                .filter(|e| e.results[j].correct)
                .count(),
        )
    }

    /// Reads a table from a file: JSON if its first non-blank character is
    /// `{`, CSV otherwise.
    ///
    /// # Errors
    /// [`CascadeError::Io`], and those of [`Self::from_json`] or [`Self::from_csv`].
    pub fn from_path(path: &Path) -> Result<ValidationTable> {
        let text = read_text(path)?;
        if text.trim_start().starts_with('{') {
            ValidationTable::from_json(&text)
        } else {
            ValidationTable::from_csv(&text)
        }
    }

    /// Parses the JSON form (see the module docs).
    ///
    /// # Errors
    /// [`CascadeError::Json`] (with line and column) for malformed JSON,
    /// [`CascadeError::Schema`] (with the JSON path) for a missing or mistyped
    /// field, and those of [`Self::new`].
    pub fn from_json(text: &str) -> Result<ValidationTable> {
        let value = json::parse(Document::Table, text)?;
        let root = Node::root(Document::Table, &value);
        let resolutions = root
            .key("resolutions")?
            .items()?
            .iter()
            .map(Node::u32)
            .collect::<Result<Vec<_>>>()?;
        let mut examples = Vec::new();
        for node in root.key("examples")?.items()? {
            let id = match node.opt_key("id")? {
                None => None,
                Some(id) => match id.value() {
                    serde_json::Value::Null => None,
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => Some(id.str()?.to_string()),
                },
            };
            let mut results = Vec::new();
            for r in node.key("results")?.items()? {
                results.push(Outcome {
                    resolution: r.key("resolution")?.u32()?,
                    class: r.key("class")?.u32()?,
                    confidence: r.key("confidence")?.f32()?,
                    correct: r.key("correct")?.bool()?,
                });
            }
            examples.push(Example { id, results });
        }
        ValidationTable::new(resolutions, examples)
    }

    /// Writes the JSON form, one example per line.
    pub fn to_json(&self) -> String {
        let list = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
        let mut out = format!(
            "{{\n  \"resolutions\": [{}],\n  \"examples\": [",
            list(&self.resolutions)
        );
        for (i, e) in self.examples.iter().enumerate() {
            out.push_str(if i == 0 { "\n    {" } else { ",\n    {" });
            if let Some(id) = &e.id {
                out.push_str(&format!("\"id\": {}, ", json::string(id)));
            }
            let results: Vec<String> = e
                .results
                .iter()
                .map(|o| {
                    format!(
                        "{{\"resolution\": {}, \"class\": {}, \"confidence\": {}, \"correct\": {}}}",
                        o.resolution,
                        o.class,
                        json::f32_text(o.confidence),
                        o.correct
                    )
                })
                .collect();
            out.push_str(&format!("\"results\": [{}]}}", results.join(", ")));
        }
        out.push_str(if self.examples.is_empty() {
            "]\n}\n"
        } else {
            "\n  ]\n}\n"
        });
        out
    }
}
