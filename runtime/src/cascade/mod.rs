//! Confidence cascades over input resolutions: the greedy of Streeter,
//! "Approximation Algorithms for Cascading Prediction Models" (ICML 2018), as
//! specified in `docs/cascade.md` of the shared notes.
//!
//! A [`Cascade`] is a list of [`Stage`]s `[(j_1, t_1), …, (j_K, always)]`: run
//! the model at resolution `j_1`; if its confidence is at least `t_1`, answer,
//! else run `j_2`, and so on; the last stage always answers. A resolution that
//! already ran costs nothing more ("cost with reuse").
//!
//! Pieces, one job each:
//! - [`table`] and [`csv`]: the [`ValidationTable`] (per example and model:
//!   class, confidence, correctness) in JSON and CSV;
//! - [`costs`]: [`Costs`], one positive integer per resolution;
//! - [`builder`]: [`CascadeBuilder`], the greedy with the per-stage rule, the
//!   global-budget and static variants ([`Rule`]) and the safeguard;
//! - [`stages`]: [`Cascade`], [`Stage`] and the run-time rule [`Cascade::decide`];
//! - [`replay`]: [`Cascade::replay`], the same rule over a whole table;
//! - [`file`](mod@file): the cascade file (`patchrt.cascade`, JSON);
//! - [`fraction`]: exact [`Fraction`]s and the tolerance [`Alpha`].
//!
//! The three file formats are specified in `docs/cascade-formats.md`.
//!
//! **Exactness.** Costs are `u64`, α is a fraction N/D, and every comparison
//! of ratios is a cross-multiplication in 128 bits, so the greedy's choices do
//! not depend on rounding. Thresholds are confidences taken from the table
//! (`f32`), compared with `≥`. Metrics are reported as exact fractions
//! (average cost `1784/10`), with an `f64` for display.
//!
//! **Determinism.** Among allowed candidates the greedy takes the larger
//! `b/κ`, then the larger `b`, then the smaller `κ`, then the smaller model
//! index, which is the resolution's position in the table's resolution list.
//! Candidates depend only on sets of examples, so the result does not depend
//! on the order of the examples, nor on a common scale of the costs.
//!
//! ```
//! use patchrt::cascade::{CascadeBuilder, Costs, Decision, Example, Outcome, ValidationTable};
//!
//! let outcome = |resolution, confidence, correct| Outcome { resolution, class: 0, confidence, correct };
//! let examples = vec![
//!     Example { id: None, results: vec![outcome(96, 0.9, true), outcome(224, 0.9, true)] },
//!     Example { id: None, results: vec![outcome(96, 0.2, false), outcome(224, 0.8, true)] },
//! ];
//! let table = ValidationTable::new(vec![224, 96], examples)?;
//! let costs = Costs::new("mmacs", [(224, 300), (96, 56)])?;
//! let cascade = CascadeBuilder::new(224).build(&table, &costs)?;
//! assert_eq!(cascade.to_string(), "[(96, ≥0.9), (224, always)]");
//! assert_eq!(cascade.decide(0, 0.95), Decision::Answer);
//! assert_eq!(cascade.decide(0, 0.5), Decision::Escalate);
//! let replay = cascade.replay(&table)?;
//! assert_eq!((replay.correct, replay.total_cost), (2, 2 * 56 + 300));
//! # Ok::<(), patchrt::cascade::CascadeError>(())
//! ```

pub mod builder;
pub mod costs;
pub mod csv;
pub mod error;
pub mod file;
pub mod fraction;
pub mod replay;
pub mod stages;
pub mod table;

mod candidates;
mod json;

pub use builder::{BuildOutcome, CascadeBuilder, Rule};
pub use costs::Costs;
pub use csv::CSV_HEADER;
pub use error::{CascadeError, Document, MismatchSite};
pub use file::{CASCADE_FORMAT, CASCADE_VERSION};
pub use fraction::{Alpha, Fraction};
pub use replay::ReplayResult;
pub use stages::{Cascade, Decision, Stage, ValidationSummary};
pub use table::{Example, Outcome, ValidationTable};
