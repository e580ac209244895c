//! The single-file bundle container that travels over the network.
//!
//! Layout, all integers little-endian:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `PRTBNDL1` |
//! | 4 | manifest length M |
//! | M | manifest JSON (the signed bytes) |
//! | 1 + 72 S | signature count S, then S x (8-byte key id, 64-byte Ed25519 signature) |
//! | 2 | file count F |
//! | per file | 2-byte name length N, N bytes of name, 8-byte size Z, Z bytes |
//!
//! Nothing may follow the last file. The container itself is not trusted:
//! its file table is checked against the signed manifest before use.

use super::error::{OtaError, OtaResult};
use super::keys::{BundleSignature, KeyId};
use super::manifest::MAX_PATCHES;

/// Magic bytes at the start of every bundle file.
pub const BUNDLE_MAGIC: &[u8; 8] = b"PRTBNDL1";
/// Most signatures one bundle may carry (key rotation needs two).
pub const MAX_SIGNATURES: usize = 8;

/// Size limits applied before anything is hashed, parsed or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleLimits {
    /// Largest manifest.
    pub max_manifest_bytes: u64,
    /// Largest single patch file.
    pub max_file_bytes: u64,
    /// Largest bundle (all files together).
    pub max_total_bytes: u64,
}

impl Default for BundleLimits {
    /// 256 KiB manifest, 32 MiB per file, 64 MiB per bundle: a patch with a
    /// 1000-class classifier is about 5.5 MB, a scale/bias patch 0.3 MB.
    fn default() -> BundleLimits {
        BundleLimits {
            max_manifest_bytes: 256 << 10,
            max_file_bytes: 32 << 20,
            max_total_bytes: 64 << 20,
        }
    }
}

impl BundleLimits {
    /// Largest container these limits can accept: the files, the manifest,
    /// and 64 KiB for signatures and the file table.
    pub fn max_container_bytes(&self) -> u64 {
        self.max_total_bytes
            .saturating_add(self.max_manifest_bytes)
            .saturating_add(64 << 10)
    }
}

/// A parsed (not yet verified) bundle, borrowing the container bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile<'a> {
    /// The manifest bytes exactly as signed.
    pub manifest: &'a [u8],
    /// Signatures over `manifest`.
    pub signatures: Vec<BundleSignature>,
    /// Files in container order: (name, bytes).
    pub files: Vec<(&'a str, &'a [u8])>,
}

impl<'a> BundleFile<'a> {
    /// Splits a container into manifest, signatures and files.
    ///
    /// # Errors
    /// [`OtaError::Container`] for a truncated or malformed container;
    /// [`OtaError::TooLarge`] when an announced length exceeds `limits`.
    pub fn parse(bytes: &'a [u8], limits: &BundleLimits) -> OtaResult<BundleFile<'a>> {
        let total = bytes.len() as u64;
        if total > limits.max_container_bytes() {
            return Err(OtaError::TooLarge {
                what: "bundle".into(),
                limit: limits.max_total_bytes,
                got: total,
            });
        }
        let mut r = Reader { bytes, at: 0 };
        if r.take(8, "magic")? != BUNDLE_MAGIC {
            return Err(OtaError::container("not a PatchRT bundle (bad magic)"));
        }
        let manifest_len = u64::from(r.u32("manifest length")?);
        if manifest_len > limits.max_manifest_bytes {
            return Err(OtaError::TooLarge {
                what: "manifest".into(),
                limit: limits.max_manifest_bytes,
                got: manifest_len,
            });
        }
        let manifest = r.take(manifest_len, "manifest")?;
        let count = usize::from(r.take(1, "signature count")?[0]);
        if count == 0 || count > MAX_SIGNATURES {
            return Err(OtaError::container(format!(
                "{count} signatures, expected 1..={MAX_SIGNATURES}"
            )));
        }
        let signatures = (0..count)
            .map(|_| BundleSignature::from_slice(r.take(72, "signature")?))
            .collect::<OtaResult<Vec<_>>>()?;
        let file_count = usize::from(r.u16("file count")?);
        if file_count > MAX_PATCHES {
            return Err(OtaError::container(format!(
                "{file_count} files, at most {MAX_PATCHES} allowed"
            )));
        }
        let mut files = Vec::with_capacity(file_count);
        let mut sum = 0u64;
        for _ in 0..file_count {
            let name_len = u64::from(r.u16("file name length")?);
            let name = std::str::from_utf8(r.take(name_len, "file name")?)
                .map_err(|_| OtaError::container("file name is not UTF-8"))?;
            let size = r.u64("file size")?;
            if size > limits.max_file_bytes {
                return Err(OtaError::TooLarge {
                    what: format!("bundle file {name}"),
                    limit: limits.max_file_bytes,
                    got: size,
                });
            }
            sum = sum.saturating_add(size);
            if sum > limits.max_total_bytes {
                return Err(OtaError::TooLarge {
                    what: "bundle files".into(),
                    limit: limits.max_total_bytes,
                    got: sum,
                });
            }
            files.push((name, r.take(size, "file contents")?));
        }
        if r.at != bytes.len() {
            return Err(OtaError::container(format!(
                "{} bytes after the last file",
                bytes.len() - r.at
            )));
        }
        Ok(BundleFile {
            manifest,
            signatures,
            files,
        })
    }

    /// Writes a container. Lengths are written as given (callers keep them
    /// within the format: [`crate::ota::BundleBuilder`] validates them); the
    /// reader enforces the limits.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + self.manifest.len() + self.files.iter().map(|f| f.1.len() + 16).sum::<usize>(),
        );
        out.extend_from_slice(BUNDLE_MAGIC);
        out.extend_from_slice(&(self.manifest.len() as u32).to_le_bytes());
        out.extend_from_slice(self.manifest);
        out.extend_from_slice(&encode_signatures(&self.signatures));
        out.extend_from_slice(&(self.files.len() as u16).to_le_bytes());
        for (name, data) in &self.files {
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(data.len() as u64).to_le_bytes());
            out.extend_from_slice(data);
        }
        out
    }
}

/// Signature list as stored in a container and in `manifest.sig`: a count
/// byte, then 72 bytes per signature.
pub fn encode_signatures(signatures: &[BundleSignature]) -> Vec<u8> {
    let mut out = vec![signatures.len() as u8];
    for s in signatures {
        out.extend_from_slice(&s.key_id.0);
        out.extend_from_slice(&s.signature);
    }
    out
}

/// Reads `manifest.sig`.
///
/// # Errors
/// [`OtaError::Container`] when the length does not match the count.
pub fn decode_signatures(bytes: &[u8]) -> OtaResult<Vec<BundleSignature>> {
    let Some((&count, rest)) = bytes.split_first() else {
        return Err(OtaError::container("empty signature file"));
    };
    let count = usize::from(count);
    if count == 0 || count > MAX_SIGNATURES || rest.len() != count * 72 {
        return Err(OtaError::container(format!(
            "signature file of {} bytes for {count} signatures",
            bytes.len()
        )));
    }
    rest.chunks_exact(72)
        .map(BundleSignature::from_slice)
        .collect()
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64, what: &str) -> OtaResult<&'a [u8]> {
        let left = (self.bytes.len() - self.at) as u64;
        if n > left {
            return Err(OtaError::container(format!(
                "truncated in {what}: needs {n} bytes, {left} left"
            )));
        }
        let n = n as usize;
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn u16(&mut self, what: &str) -> OtaResult<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> OtaResult<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &str) -> OtaResult<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_le_bytes(a))
    }
}

impl KeyId {
    fn from_slice(b: &[u8]) -> KeyId {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[..8]);
        KeyId(a)
    }
}

impl BundleSignature {
    /// From 72 bytes: key id then signature.
    fn from_slice(b: &[u8]) -> OtaResult<BundleSignature> {
        if b.len() != 72 {
            return Err(OtaError::container("signature entry is not 72 bytes"));
        }
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&b[8..]);
        Ok(BundleSignature {
            key_id: KeyId::from_slice(b),
            signature,
        })
    }
}
