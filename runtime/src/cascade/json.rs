//! Small JSON helpers shared by the three cascade documents: parsing with
//! line numbers, typed access that reports the JSON path of a bad value, and
//! exact `f32` round trips.

use serde_json::{Map, Value};

use super::error::{CascadeError, Document, Result};

/// Parses `text`, mapping a syntax error to [`CascadeError::Json`] with its line.
pub(crate) fn parse(document: Document, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| CascadeError::Json {
        document,
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// A value inside a document, with the path that leads to it.
pub(crate) struct Node<'a> {
    document: Document,
    path: String,
    value: &'a Value,
}

impl<'a> Node<'a> {
    /// The document's root value.
    pub(crate) fn root(document: Document, value: &'a Value) -> Node<'a> {
        Node {
            document,
            path: String::new(),
            value,
        }
    }

    /// The JSON path of this value (`$` for the root).
    pub(crate) fn path(&self) -> &str {
        if self.path.is_empty() {
            "$"
        } else {
            &self.path
        }
    }

    /// The raw value.
    pub(crate) fn value(&self) -> &'a Value {
        self.value
    }

    /// A schema error at this node.
    pub(crate) fn error(&self, expected: &'static str) -> CascadeError {
        CascadeError::Schema {
            document: self.document,
            path: self.path().to_string(),
            expected,
            found: snippet(self.value),
        }
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn object(&self) -> Result<&'a Map<String, Value>> {
        self.value
            .as_object()
            .ok_or_else(|| self.error("an object"))
    }

    /// The value under `key`, which must be present.
    pub(crate) fn key(&self, key: &str) -> Result<Node<'a>> {
        self.opt_key(key)?.ok_or_else(|| CascadeError::Schema {
            document: self.document,
            path: self.child_path(key),
            expected: "a value (the key is required)",
            found: "nothing".to_string(),
        })
    }

    /// The value under `key`, if present (this node must be an object).
    pub(crate) fn opt_key(&self, key: &str) -> Result<Option<Node<'a>>> {
        Ok(self.object()?.get(key).map(|value| Node {
            document: self.document,
            path: self.child_path(key),
            value,
        }))
    }

    /// The entries of an object, in key order.
    pub(crate) fn entries(&self) -> Result<Vec<(&'a str, Node<'a>)>> {
        Ok(self
            .object()?
            .iter()
            .map(|(k, value)| {
                let node = Node {
                    document: self.document,
                    path: self.child_path(k),
                    value,
                };
                (k.as_str(), node)
            })
            .collect())
    }

    /// The elements of an array.
    pub(crate) fn items(&self) -> Result<Vec<Node<'a>>> {
        let items = self
            .value
            .as_array()
            .ok_or_else(|| self.error("an array"))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| Node {
                document: self.document,
                path: format!("{}[{i}]", self.path()),
                value,
            })
            .collect())
    }

    /// An unsigned 64-bit integer.
    pub(crate) fn u64(&self) -> Result<u64> {
        self.value
            .as_u64()
            .ok_or_else(|| self.error("an unsigned integer"))
    }

    /// An unsigned 32-bit integer.
    pub(crate) fn u32(&self) -> Result<u32> {
        self.value
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| self.error("an unsigned 32-bit integer"))
    }

    /// A count.
    pub(crate) fn usize(&self) -> Result<usize> {
        self.value
            .as_u64()
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| self.error("an unsigned integer"))
    }

    /// A number, read as the `f32` it was written from (see [`f32_from_json`]).
    pub(crate) fn f32(&self) -> Result<f32> {
        self.value
            .as_f64()
            .map(f32_from_json)
            .ok_or_else(|| self.error("a number"))
    }

    /// `true`/`false`, or the integers 1/0.
    pub(crate) fn bool(&self) -> Result<bool> {
        match self.value {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
            Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
            _ => Err(self.error("true, false, 1 or 0")),
        }
    }

    /// A string.
    pub(crate) fn str(&self) -> Result<&'a str> {
        self.value.as_str().ok_or_else(|| self.error("a string"))
    }

    /// A two-element array of unsigned integers `[numerator, denominator]`.
    pub(crate) fn pair(&self) -> Result<(u64, u64)> {
        let items = self.items()?;
        match items.as_slice() {
            [n, d] => Ok((n.u64()?, d.u64()?)),
            _ => Err(self.error("[numerator, denominator]")),
        }
    }
}

/// A short rendering of a value for error messages.
fn snippet(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// A string as a JSON string literal.
pub(crate) fn string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// An `f32` as the shortest decimal that reads back as the same `f32`
/// (Rust's `Display`, which never uses an exponent, so it is valid JSON).
pub(crate) fn f32_text(x: f32) -> String {
    format!("{x}")
}

/// The `f32` a JSON number was written from.
///
/// A JSON reader yields an `f64`; rounding that to `f32` may, in rare cases,
/// land one step away from the `f32` whose shortest decimal was written. This
/// picks, among the rounded value and its two neighbours, the one whose
/// shortest decimal reads as exactly `v`, so writing and reading an `f32`
/// always round-trips. Other inputs get the plain rounding.
pub(crate) fn f32_from_json(v: f64) -> f32 {
    let rounded = v as f32;
    let same = |c: f32| c.is_finite() && f32_text(c).parse::<f64>() == Ok(v);
    if same(rounded) {
        return rounded;
    }
    [rounded.next_down(), rounded.next_up()]
        .into_iter()
        .find(|&c| same(c))
        .unwrap_or(rounded)
}
