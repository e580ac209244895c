//! Reading and writing the safetensors container shared by backbone and patch files.

use std::collections::{BTreeSet, HashMap};

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, FileKind, Result};

/// A parsed safetensors file: its metadata and tensors, with a record of which
/// tensors were read so that unknown extras can be reported.
pub struct TensorFile<'a> {
    kind: FileKind,
    tensors: SafeTensors<'a>,
    metadata: HashMap<String, String>,
    read: BTreeSet<String>,
}

impl<'a> TensorFile<'a> {
    /// Parses the header and checks every tensor's offsets against the buffer.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a truncated file, bad header JSON or bad offsets.
    pub fn parse(kind: FileKind, bytes: &'a [u8]) -> Result<Self> {
        let malformed = |e: safetensors::SafeTensorError| Error::Malformed {
            file: kind,
            detail: e.to_string(),
        };
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(malformed)?;
        let tensors = SafeTensors::deserialize(bytes).map_err(malformed)?;
        Ok(TensorFile {
            kind,
            tensors,
            metadata: meta.metadata().clone().unwrap_or_default(),
            read: BTreeSet::new(),
        })
    }

    /// Which kind of file this is.
    pub fn kind(&self) -> FileKind {
        self.kind
    }

    /// A metadata value, if present.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// A required metadata value.
    ///
    /// # Errors
    /// [`Error::MissingMetadata`] when absent.
    pub fn require_meta(&self, key: &'static str) -> Result<&str> {
        self.meta(key).ok_or(Error::MissingMetadata {
            file: self.kind,
            key,
        })
    }

    /// Whether a tensor of that name exists.
    pub fn has(&self, name: &str) -> bool {
        self.tensors.tensor(name).is_ok()
    }

    /// Shape of a tensor, if present.
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.tensors.tensor(name).ok().map(|v| v.shape().to_vec())
    }

    /// Reads a tensor as f32, checking dtype, shape and finiteness.
    ///
    /// # Errors
    /// [`Error::MissingTensor`], [`Error::TensorDtype`], [`Error::TensorShape`],
    /// [`Error::NonFinite`].
    pub fn f32(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let kind = self.kind;
        let view = self
            .tensors
            .tensor(name)
            .map_err(|_| Error::MissingTensor {
                file: kind,
                name: name.to_string(),
            })?;
        if view.shape() != shape {
            return Err(Error::TensorShape {
                file: kind,
                name: name.to_string(),
                expected: shape.to_vec(),
                got: view.shape().to_vec(),
            });
        }
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => view
                .data()
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(Error::TensorDtype {
                    file: kind,
                    name: name.to_string(),
                    dtype: format!("{other:?}"),
                });
            }
        };
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                file: kind,
                name: name.to_string(),
                index,
            });
        }
        self.read.insert(name.to_string());
        Ok(values)
    }

    /// Fails on the first tensor that no reader asked for.
    ///
    /// # Errors
    /// [`Error::UnknownTensor`].
    pub fn reject_unread(&self) -> Result<()> {
        let mut names = self.tensors.names();
        names.sort_unstable();
        match names.into_iter().find(|n| !self.read.contains(*n)) {
            Some(name) => Err(Error::UnknownTensor {
                file: self.kind,
                name: name.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Tensors in name order as `(name, dtype, shape, bytes)`, for hashing.
    pub fn raw_sorted(&self) -> Vec<(String, Dtype, Vec<usize>, &'a [u8])> {
        let mut all: Vec<_> = self
            .tensors
            .iter()
            .map(|(n, v)| (n.to_string(), v.dtype(), v.shape().to_vec(), v.data()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// Storage dtype used when writing a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreAs {
    /// 32-bit floats.
    F32,
    /// IEEE half floats.
    F16,
}

/// Builds a safetensors file from f32 vectors (used by the synthetic model and tests).
#[derive(Default)]
pub struct TensorWriter {
    tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    metadata: HashMap<String, String>,
}

struct OwnedView<'a>(Dtype, &'a [usize], &'a [u8]);

impl safetensors::View for OwnedView<'_> {
    fn dtype(&self) -> Dtype {
        self.0
    }
    fn shape(&self) -> &[usize] {
        self.1
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(self.2)
    }
    fn data_len(&self) -> usize {
        self.2.len()
    }
}

impl TensorWriter {
    /// Adds a metadata entry.
    pub fn meta(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.metadata.insert(key.to_string(), value.into());
        self
    }

    /// Adds a tensor.
    pub fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        values: &[f32],
        dtype: StoreAs,
    ) -> &mut Self {
        let (dt, bytes) = match dtype {
            StoreAs::F32 => (
                Dtype::F32,
                values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
            StoreAs::F16 => (
                Dtype::F16,
                values
                    .iter()
                    .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                    .collect(),
            ),
        };
        self.tensors
            .push((name.to_string(), dt, shape.to_vec(), bytes));
        self
    }

    /// Serialises to safetensors bytes.
    ///
    /// Returns an empty buffer (which every reader rejects as malformed) if a
    /// tensor's values do not fill its shape; the writers in this crate derive
    /// both from the same layer table, so that only happens when a caller has
    /// edited a `Backbone` or `Patch` into an inconsistent state.
    pub fn to_bytes(&self) -> Vec<u8> {
        let views = self
            .tensors
            .iter()
            .map(|(n, d, s, b)| (n.as_str(), OwnedView(*d, s, b)));
        // Serialisation only fails for inconsistent views, which this type cannot build.
        safetensors::serialize(views, Some(self.metadata.clone())).unwrap_or_default()
    }
}
