//! The backbone's identity: a SHA-256 computed from its tensors, never trusted
//! from metadata.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::model::tensors::TensorFile;

/// SHA-256 identity of a backbone's tensors.
///
/// Hash input, for each tensor in byte-wise name order: the name's UTF-8 bytes,
/// a 0 byte, the dtype name (`F32`, `F16`), a 0 byte, the rank as u64 LE, each
/// dimension as u64 LE, the data length as u64 LE, then the raw data bytes.
/// Metadata is not hashed: it cannot change what the weights compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackboneId(pub [u8; 32]);

impl BackboneId {
    /// Computes the identity of a parsed backbone file.
    pub fn of(file: &TensorFile<'_>) -> BackboneId {
        let mut h = Sha256::new();
        for (name, dtype, shape, data) in file.raw_sorted() {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(format!("{dtype:?}").as_bytes());
            h.update([0]);
            h.update((shape.len() as u64).to_le_bytes());
            for d in shape {
                h.update((d as u64).to_le_bytes());
            }
            h.update((data.len() as u64).to_le_bytes());
            h.update(data);
        }
        BackboneId(h.finalize().into())
    }

    /// Lower-case hex, as written in patch metadata.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for BackboneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}
