//! Ed25519 keys: the keys an app pins, and the signer the release tooling uses.
//!
//! All cryptography is `ed25519-dalek`'s; this module only names keys and
//! chooses `verify_strict`, which refuses small-order keys and non-canonical
//! signatures (no signature malleability).

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::error::{OtaError, OtaResult};

/// First 8 bytes of the SHA-256 of a public key: names a key in bundles and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

/// One signature in a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleSignature {
    /// Which key made it.
    pub key_id: KeyId,
    /// Ed25519 signature over the exact manifest bytes.
    pub signature: [u8; 64],
}

/// A public key the app trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    id: KeyId,
}

impl PublicKey {
    /// From the 32 raw key bytes.
    ///
    /// # Errors
    /// [`OtaError::InvalidKey`] when the bytes are not a valid curve point or
    /// are a weak (small-order) key.
    pub fn from_bytes(bytes: &[u8]) -> OtaResult<PublicKey> {
        let raw: [u8; 32] = bytes.try_into().map_err(|_| OtaError::InvalidKey {
            detail: format!("{} bytes, expected 32", bytes.len()),
        })?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|e| OtaError::InvalidKey {
            detail: e.to_string(),
        })?;
        if key.is_weak() {
            return Err(OtaError::InvalidKey {
                detail: "small-order point".into(),
            });
        }
        Ok(PublicKey {
            key,
            id: key_id(&raw),
        })
    }

    /// From 64 hex digits (surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`OtaError::InvalidKey`].
    pub fn from_hex(text: &str) -> OtaResult<PublicKey> {
        PublicKey::from_bytes(&unhex(text.trim())?)
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Lower-case hex of the raw bytes.
    pub fn to_hex(&self) -> String {
        hex(&self.key.to_bytes())
    }

    /// This key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }
}

/// The set of keys an app pins; several allow key rotation.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
}

impl TrustedKeys {
    /// Pins `keys`.
    pub fn new(keys: Vec<PublicKey>) -> TrustedKeys {
        TrustedKeys { keys }
    }

    /// The pinned keys.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Checks that at least one signature by a pinned key verifies over
    /// `manifest`, and that no signature by a pinned key fails. Returns the
    /// id of the key that verified.
    ///
    /// # Errors
    /// [`OtaError::BadSignature`] when a pinned key's signature fails;
    /// [`OtaError::UnknownKey`] when no signature is by a pinned key.
    pub fn verify(&self, manifest: &[u8], signatures: &[BundleSignature]) -> OtaResult<KeyId> {
        let mut verified = None;
        for s in signatures {
            let Some(key) = self.keys.iter().find(|k| k.id == s.key_id) else {
                continue;
            };
            let signature = Signature::from_bytes(&s.signature);
            key.key
                .verify_strict(manifest, &signature)
                .map_err(|_| OtaError::BadSignature {
                    key_id: s.key_id.to_string(),
                })?;
            verified = Some(s.key_id);
        }
        verified.ok_or_else(|| OtaError::UnknownKey {
            key_ids: signatures.iter().map(|s| s.key_id.to_string()).collect(),
        })
    }
}

/// A secret key that signs manifests (release tooling, tests).
pub struct BundleSigner {
    key: SigningKey,
}

impl fmt::Debug for BundleSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BundleSigner({})", self.public().id())
    }
}

impl BundleSigner {
    /// From a 32-byte secret seed (generate it from the OS's random source).
    pub fn from_seed(seed: [u8; 32]) -> BundleSigner {
        BundleSigner {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// From 64 hex digits of seed.
    ///
    /// # Errors
    /// [`OtaError::InvalidKey`].
    pub fn from_hex(text: &str) -> OtaResult<BundleSigner> {
        let raw = unhex(text.trim())?;
        let seed: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| OtaError::InvalidKey {
                detail: format!("secret seed of {} bytes, expected 32", raw.len()),
            })?;
        Ok(BundleSigner::from_seed(seed))
    }

    /// The seed as hex (for a key file).
    pub fn to_hex(&self) -> String {
        hex(&self.key.to_bytes())
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        let key = self.key.verifying_key();
        PublicKey {
            key,
            id: key_id(&key.to_bytes()),
        }
    }

    /// Signs the exact manifest bytes.
    pub fn sign(&self, manifest: &[u8]) -> BundleSignature {
        BundleSignature {
            key_id: self.public().id(),
            signature: self.key.sign(manifest).to_bytes(),
        }
    }
}

fn key_id(raw: &[u8; 32]) -> KeyId {
    let digest = Sha256::digest(raw);
    let mut id = [0u8; 8];
    id.copy_from_slice(&digest[..8]);
    KeyId(id)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> OtaResult<Vec<u8>> {
    let bad = || OtaError::InvalidKey {
        detail: "expected an even number of hex digits".into(),
    };
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}
