//! The cascade file (`patchrt.cascade`, version 1, JSON).
//!
//! ```json
//! {
//!   "format": "patchrt.cascade",
//!   "version": 1,
//!   "reference": 224,
//!   "alpha": [0, 1],
//!   "rule": "per_stage",
//!   "cost_unit": "mmacs",
//!   "stages": [
//!     {"resolution": 96, "threshold": 0.91, "cost": 56},
//!     {"resolution": 160, "threshold": 0.45, "cost": 154},
//!     {"resolution": 224, "threshold": null, "cost": 300}
//!   ],
//!   "validation": {
//!     "examples": 10,
//!     "accuracy": [9, 10],
//!     "average_cost": [1784, 10],
//!     "average_cost_value": 178.4,
//!     "answered_per_stage": [4, 5, 1],
//!     "reference_accuracy": [9, 10],
//!     "reference_cost": 300
//!   }
//! }
//! ```
//!
//! `threshold` is the shortest decimal of an `f32` and reads back bit-exactly;
//! `null` means "always answer" and is required on the last stage only.
//! `validation` is optional on reading; `average_cost_value` is for people
//! (`null` when there are no examples) and is not read back.

use std::fmt::Write as _;
use std::path::Path;

use super::builder::Rule;
use super::error::{Document, Result, read_text};
use super::fraction::Alpha;
use super::json::{self, Node};
use super::stages::{Cascade, Stage, ValidationSummary};

/// The `format` value of a cascade file.
pub const CASCADE_FORMAT: &str = "patchrt.cascade";
/// The `version` this code reads and writes.
pub const CASCADE_VERSION: u64 = 1;

impl Cascade {
    /// Reads a cascade file.
    ///
    /// # Errors
    /// [`CascadeError::Io`](super::CascadeError::Io), and those of [`Self::from_json`].
    pub fn from_path(path: &Path) -> Result<Cascade> {
        Cascade::from_json(&read_text(path)?)
    }

    /// Parses a cascade file (see the module docs).
    ///
    /// # Errors
    /// [`CascadeError::Json`](super::CascadeError::Json) for malformed JSON; [`CascadeError::Schema`](super::CascadeError::Schema)
    /// for a missing or mistyped field, another `format` or `version`, or an
    /// unknown `rule`; [`CascadeError::InvalidAlpha`](super::CascadeError::InvalidAlpha); and those of
    /// [`Cascade::new`] and [`Cascade::with_validation`].
    pub fn from_json(text: &str) -> Result<Cascade> {
        let value = json::parse(Document::Cascade, text)?;
        let root = Node::root(Document::Cascade, &value);
        let format = root.key("format")?;
        if format.str()? != CASCADE_FORMAT {
            return Err(format.error("\"patchrt.cascade\""));
        }
        let version = root.key("version")?;
        if version.u64()? != CASCADE_VERSION {
            return Err(version.error("version 1"));
        }
        let reference = root.key("reference")?.u32()?;
        let (n, d) = root.key("alpha")?.pair()?;
        let alpha = Alpha::new(n, d)?;
        let rule_node = root.key("rule")?;
        let rule: Rule = rule_node
            .str()?
            .parse()
            .map_err(|_| rule_node.error("\"per_stage\", \"global_budget\" or \"static\""))?;
        let cost_unit = root.key("cost_unit")?.str()?.to_string();
        let mut stages = Vec::new();
        for s in root.key("stages")?.items()? {
            let threshold = s.key("threshold")?;
            stages.push(Stage {
                resolution: s.key("resolution")?.u32()?,
                threshold: match threshold.value().is_null() {
                    true => None,
                    false => Some(threshold.f32()?),
                },
                cost: s.key("cost")?.u64()?,
            });
        }
        let cascade = Cascade::new(reference, alpha, rule, cost_unit, stages)?;
        let Some(v) = root.opt_key("validation")? else {
            return Ok(cascade);
        };
        let examples = v.key("examples")?.usize()?;
        let of_examples = |key: &str| -> Result<u64> {
            let node = v.key(key)?;
            let (num, den) = node.pair()?;
            if den != examples as u64 {
                return Err(node.error("[count, examples]"));
            }
            Ok(num)
        };
        let as_count = |x: u64| usize::try_from(x).unwrap_or(usize::MAX);
        let summary = ValidationSummary {
            examples,
            correct: as_count(of_examples("accuracy")?),
            total_cost: of_examples("average_cost")?,
            answered_per_stage: v
                .key("answered_per_stage")?
                .items()?
                .iter()
                .map(Node::usize)
                .collect::<Result<_>>()?,
            reference_correct: as_count(of_examples("reference_accuracy")?),
            reference_cost: v.key("reference_cost")?.u64()?,
        };
        cascade.with_validation(summary)
    }

    /// Writes the cascade file (see the module docs).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "{{\n  \"format\": \"{CASCADE_FORMAT}\",\n  \"version\": {CASCADE_VERSION},\n  \
             \"reference\": {},\n  \"alpha\": [{}, {}],\n  \"rule\": \"{}\",\n  \
             \"cost_unit\": {},\n  \"stages\": [",
            self.reference,
            self.alpha.numerator(),
            self.alpha.denominator(),
            self.rule.name(),
            json::string(&self.cost_unit)
        );
        for (k, s) in self.stages.iter().enumerate() {
            let threshold = s.threshold.map_or("null".to_string(), json::f32_text);
            let _ = write!(
                out,
                "{}\n    {{\"resolution\": {}, \"threshold\": {threshold}, \"cost\": {}}}",
                if k == 0 { "" } else { "," },
                s.resolution,
                s.cost
            );
        }
        out.push_str("\n  ]");
        if let Some(v) = &self.validation {
            let average = v.average_cost().to_f64();
            let average = match average.is_finite() {
                true => format!("{average:?}"),
                false => "null".to_string(),
            };
            let counts: Vec<String> = v.answered_per_stage.iter().map(usize::to_string).collect();
            let n = v.examples;
            let _ = write!(
                out,
                ",\n  \"validation\": {{\n    \"examples\": {n},\n    \
                 \"accuracy\": [{}, {n}],\n    \"average_cost\": [{}, {n}],\n    \
                 \"average_cost_value\": {average},\n    \"answered_per_stage\": [{}],\n    \
                 \"reference_accuracy\": [{}, {n}],\n    \"reference_cost\": {}\n  }}",
                v.correct,
                v.total_cost,
                counts.join(", "),
                v.reference_correct,
                v.reference_cost
            );
        }
        out.push_str("\n}\n");
        out
    }
}
