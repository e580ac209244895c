//! Model costs: one positive integer per resolution (MACs, microseconds, ...).
//!
//! JSON form; keys are resolutions, values positive integers; a resolution
//! absent from the table is allowed and ignored:
//!
//! ```json
//! {"unit": "mmacs", "costs": {"224": 300, "160": 154, "96": 56}}
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use super::error::{CascadeError, Document, MismatchSite, Result, read_text};
use super::json::{self, Node};
use super::table::ValidationTable;

/// The cost `c_j > 0` of running each model once, in one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Costs {
    unit: String,
    costs: BTreeMap<u32, u64>,
}

impl Costs {
    /// Costs in `unit` (free text: `"mmacs"`, `"us"`, ...).
    ///
    /// # Errors
    /// [`CascadeError::InvalidCost`] for a zero cost,
    /// [`CascadeError::DuplicateResolution`] for a resolution given twice.
    pub fn new(
        unit: impl Into<String>,
        costs: impl IntoIterator<Item = (u32, u64)>,
    ) -> Result<Costs> {
        let mut map = BTreeMap::new();
        for (resolution, cost) in costs {
            if cost == 0 {
                return Err(CascadeError::InvalidCost {
                    resolution,
                    cost: cost.to_string(),
                });
            }
            if map.insert(resolution, cost).is_some() {
                return Err(CascadeError::DuplicateResolution {
                    document: Document::Costs,
                    resolution,
                });
            }
        }
        Ok(Costs {
            unit: unit.into(),
            costs: map,
        })
    }

    /// The unit.
    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// The cost of the model at `resolution`.
    pub fn get(&self, resolution: u32) -> Option<u64> {
        self.costs.get(&resolution).copied()
    }

    /// `(resolution, cost)` pairs, by increasing resolution.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.costs.iter().map(|(&r, &c)| (r, c))
    }

    /// The cost of every model of `table`, in model order.
    ///
    /// # Errors
    /// [`CascadeError::ResolutionMismatch`] (site [`MismatchSite::Costs`]) if
    /// a table resolution has no cost.
    pub fn for_table(&self, table: &ValidationTable) -> Result<Vec<u64>> {
        table
            .resolutions()
            .iter()
            .map(|&r| self.get(r))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| CascadeError::ResolutionMismatch {
                site: MismatchSite::Costs,
                expected: table.resolutions().to_vec(),
                found: self.costs.keys().copied().collect(),
            })
    }

    /// Reads the JSON form from a file.
    ///
    /// # Errors
    /// [`CascadeError::Io`], and those of [`Self::from_json`].
    pub fn from_path(path: &Path) -> Result<Costs> {
        Costs::from_json(&read_text(path)?)
    }

    /// Parses the JSON form (see the module docs).
    ///
    /// # Errors
    /// [`CascadeError::Json`] for malformed JSON, [`CascadeError::Schema`] for
    /// a missing `unit` or `costs` or a key that is not a resolution,
    /// [`CascadeError::InvalidCost`] for a value that is not a positive integer
    /// (`0`, `-5`, `1.5`, `"300"`), [`CascadeError::DuplicateResolution`] for
    /// two keys naming one resolution (`"96"`, `"096"`).
    pub fn from_json(text: &str) -> Result<Costs> {
        let value = json::parse(Document::Costs, text)?;
        let root = Node::root(Document::Costs, &value);
        let unit = root.key("unit")?.str()?.to_string();
        let mut costs = Vec::new();
        for (key, node) in root.key("costs")?.entries()? {
            let resolution: u32 = key
                .parse()
                .map_err(|_| node.error("a key that is a resolution (unsigned integer)"))?;
            let cost = node.value().as_u64().filter(|&c| c > 0).ok_or_else(|| {
                CascadeError::InvalidCost {
                    resolution,
                    cost: node.value().to_string(),
                }
            })?;
            costs.push((resolution, cost));
        }
        Costs::new(unit, costs)
    }

    /// Writes the JSON form.
    pub fn to_json(&self) -> String {
        let entries: Vec<String> = self
            .costs
            .iter()
            .rev()
            .map(|(r, c)| format!("\"{r}\": {c}"))
            .collect();
        format!(
            "{{\"unit\": {}, \"costs\": {{{}}}}}\n",
            json::string(&self.unit),
            entries.join(", ")
        )
    }
}
