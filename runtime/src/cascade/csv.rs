//! The CSV form of the validation table.
//!
//! ```text
//! example,resolution,class,confidence,correct
//! img_0,224,3,0.99,1
//! img_0,160,3,0.98,true
//! ```
//!
//! - The header is exactly these five names, in this order.
//! - One row per example × resolution, in any order; rows with the same
//!   `example` belong together. Examples are numbered, and resolutions listed,
//!   in order of first appearance.
//! - `correct` is `1`/`0` or `true`/`false` (any case). Fields are trimmed.
//!   There is no quoting: ids cannot contain commas. Blank lines are skipped.
//! - A file with a header and no rows has no models: [`CascadeError::NoModels`].

use std::collections::HashMap;
use std::fmt::Write as _;

use super::error::{CascadeError, Result};
use super::json;
use super::table::{Example, Outcome, ValidationTable};

/// The CSV header.
pub const CSV_HEADER: &str = "example,resolution,class,confidence,correct";

impl ValidationTable {
    /// Parses the CSV form (see [`super::csv`]).
    ///
    /// # Errors
    /// [`CascadeError::Csv`] with the 1-based line for a bad header, a row
    /// with other than five fields, an unreadable number or boolean, or a
    /// second row for the same example and resolution; then those of
    /// [`ValidationTable::new`] ([`CascadeError::NonFiniteConfidence`] for
    /// `NaN`/`inf`, [`CascadeError::ResolutionMismatch`] for an example
    /// missing a resolution, [`CascadeError::NoModels`] for no rows).
    pub fn from_csv(text: &str) -> Result<ValidationTable> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty());
        let header_ok = |l: &str| l.split(',').map(str::trim).eq(CSV_HEADER.split(','));
        match lines.next() {
            Some((_, l)) if header_ok(l) => {}
            other => {
                return Err(CascadeError::Csv {
                    line: other.map_or(1, |(n, _)| n),
                    message: format!("expected the header {CSV_HEADER:?}"),
                });
            }
        }

        let mut resolutions: Vec<u32> = Vec::new();
        let mut examples: Vec<Example> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        // (example, resolution) -> line of its row, to report duplicates.
        let mut seen: HashMap<(usize, u32), usize> = HashMap::new();
        for (line, l) in lines {
            let bad = |message: String| CascadeError::Csv { line, message };
            let fields: Vec<&str> = l.split(',').map(str::trim).collect();
            let [id, resolution, class, confidence, correct] = fields[..] else {
                return Err(bad(format!("expected 5 fields, found {}", fields.len())));
            };
            if id.is_empty() {
                return Err(bad("empty example id".to_string()));
            }
            let resolution: u32 = resolution.parse().map_err(|_| {
                bad(format!(
                    "resolution {resolution:?} is not an unsigned integer"
                ))
            })?;
            let class: u32 = class
                .parse()
                .map_err(|_| bad(format!("class {class:?} is not an unsigned integer")))?;
            let confidence: f32 = confidence
                .parse()
                .map_err(|_| bad(format!("confidence {confidence:?} is not a number")))?;
            let correct = match correct.to_ascii_lowercase().as_str() {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(bad(format!(
                        "correct {correct:?} is not 0, 1, true or false"
                    )));
                }
            };
            let e = *index.entry(id.to_string()).or_insert_with(|| {
                examples.push(Example {
                    id: Some(id.to_string()),
                    results: Vec::new(),
                });
                examples.len() - 1
            });
            if let Some(first) = seen.insert((e, resolution), line) {
                return Err(bad(format!(
                    "second row for example {id:?} at resolution {resolution} (first at line {first})"
                )));
            }
            if !resolutions.contains(&resolution) {
                resolutions.push(resolution);
            }
            examples[e].results.push(Outcome {
                resolution,
                class,
                confidence,
                correct,
            });
        }
        ValidationTable::new(resolutions, examples)
    }

    /// Writes the CSV form: examples in order, each with its results in model
    /// order, `correct` as 1/0. An example without an id is written under its
    /// index.
    pub fn to_csv(&self) -> String {
        let mut out = format!("{CSV_HEADER}\n");
        for (i, e) in self.examples().iter().enumerate() {
            let id = e.id.clone().unwrap_or_else(|| i.to_string());
            for o in &e.results {
                let _ = writeln!(
                    out,
                    "{id},{},{},{},{}",
                    o.resolution,
                    o.class,
                    json::f32_text(o.confidence),
                    u8::from(o.correct)
                );
            }
        }
        out
    }
}
