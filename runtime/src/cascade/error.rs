//! The cascade module's error type.
//!
//! Every fallible function of [`crate::cascade`] returns [`CascadeError`].
//! Variants carry what a caller needs to find the problem: the example and
//! resolution of a non-finite confidence, the line of a CSV row, the JSON path
//! of a bad field.

use std::fmt;

/// Which cascade document an error was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// A validation table (JSON or CSV).
    Table,
    /// A cost file (JSON).
    Costs,
    /// A cascade file (`patchrt.cascade`, JSON).
    Cascade,
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Document::Table => "validation table",
            Document::Costs => "cost file",
            Document::Cascade => "cascade file",
        })
    }
}

/// Whose resolution list disagrees with the one expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MismatchSite {
    /// One example's results, against the table's resolution list.
    Example {
        /// 0-based position of the example in the table (first appearance in a CSV).
        index: usize,
        /// The example's id, if it has one.
        id: Option<String>,
    },
    /// The cost map, against the table's resolutions (a table resolution has no cost).
    Costs,
    /// A cascade's stages, against the table it is replayed on.
    Cascade,
}

impl fmt::Display for MismatchSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MismatchSite::Example {
                index,
                id: Some(id),
            } => write!(f, "example {index} ({id:?})"),
            MismatchSite::Example { index, id: None } => write!(f, "example {index}"),
            MismatchSite::Costs => f.write_str("the cost map"),
            MismatchSite::Cascade => f.write_str("the cascade's stages"),
        }
    }
}

/// Everything that can go wrong when reading, building or replaying a cascade.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CascadeError {
    /// The validation table has no models (its resolution list is empty, or a
    /// CSV has no data rows). A table with models but zero examples is valid.
    #[error("the validation table has no models (no resolutions)")]
    NoModels,
    /// A resolution is listed twice where each must be unique.
    #[error("resolution {resolution} appears more than once in the {document}")]
    DuplicateResolution {
        /// Where.
        document: Document,
        /// The repeated resolution.
        resolution: u32,
    },
    /// A confidence is NaN or infinite.
    #[error("example {example} has a non-finite confidence at resolution {resolution}")]
    NonFiniteConfidence {
        /// 0-based example index.
        example: usize,
        /// Resolution (model) of the bad value.
        resolution: u32,
    },
    /// Two resolution lists that must be equal (or, for costs and cascades,
    /// covered) are not.
    #[error("{site} has resolutions {found:?}, expected {expected:?}")]
    ResolutionMismatch {
        /// Whose list is wrong.
        site: MismatchSite,
        /// The resolutions required.
        expected: Vec<u32>,
        /// The resolutions found.
        found: Vec<u32>,
    },
    /// A model cost is not a positive integer.
    #[error("cost {cost} of resolution {resolution} is invalid: costs are positive integers")]
    InvalidCost {
        /// Resolution the cost belongs to.
        resolution: u32,
        /// The value as written.
        cost: String,
    },
    /// The reference resolution is not one of the table's models.
    #[error("reference resolution {reference} is not in the table, which has {available:?}")]
    UnknownReference {
        /// Requested reference.
        reference: u32,
        /// The table's resolutions.
        available: Vec<u32>,
    },
    /// The accuracy tolerance is not a fraction in `[0, 1]`.
    #[error("alpha {value:?} is invalid: {reason}")]
    InvalidAlpha {
        /// The value as given.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A rule name is not `per_stage`, `global_budget` or `static`.
    #[error("unknown cascade rule {name:?}: expected per_stage, global_budget or static")]
    UnknownRule {
        /// The name given.
        name: String,
    },
    /// A total cost does not fit in 64 bits.
    #[error("a total cost overflows 64 bits")]
    CostOverflow,
    /// A JSON document does not parse.
    #[error("{document} is not valid JSON (line {line}, column {column}): {message}")]
    Json {
        /// Which document.
        document: Document,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A JSON value is missing or has the wrong type or range.
    #[error("{document} field {path} is invalid: expected {expected}, found {found}")]
    Schema {
        /// Which document.
        document: Document,
        /// JSON path of the value, e.g. `examples[3].results[1].confidence`.
        path: String,
        /// What would have been accepted.
        expected: &'static str,
        /// What was there (`nothing` when the key is missing), shortened.
        found: String,
    },
    /// A CSV row (or the header) cannot be read.
    #[error("validation table CSV, line {line}: {message}")]
    Csv {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A cascade violates the shape rules (no stages, a missing or misplaced
    /// "always" threshold, inconsistent costs or validation counts).
    #[error("invalid cascade: {reason}")]
    InvalidCascade {
        /// What is wrong.
        reason: String,
    },
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
}

/// Result alias of the cascade module.
pub type Result<T, E = CascadeError> = std::result::Result<T, E>;

/// Reads a whole text file, mapping failure to [`CascadeError::Io`].
pub(crate) fn read_text(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| CascadeError::Io {
        path: path.display().to_string(),
        source,
    })
}
