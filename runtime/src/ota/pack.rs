//! Making bundles: the release side (patchbench `bundle pack`, tests).

use std::time::{SystemTime, UNIX_EPOCH};

use super::container::BundleFile;
use super::error::{OtaError, OtaResult};
use super::keys::{BundleSignature, BundleSigner};
use super::manifest::{MANIFEST_FORMAT, MANIFEST_FORMAT_VERSION, Manifest, check_file_name};
use super::verify::entry_for;
use crate::model::Backbone;
use crate::patch::Patch;

/// Collects patch files and writes a signed bundle.
#[derive(Debug, Clone)]
pub struct BundleBuilder {
    manifest: Manifest,
    files: Vec<(String, Vec<u8>)>,
}

impl BundleBuilder {
    /// A bundle `name` at `version` for `backbone`, created now, needing this
    /// runtime's version or newer.
    pub fn new(name: &str, version: u64, backbone: &Backbone) -> BundleBuilder {
        BundleBuilder {
            manifest: Manifest {
                format: MANIFEST_FORMAT.to_string(),
                format_version: MANIFEST_FORMAT_VERSION,
                name: name.to_string(),
                version,
                created: utc_timestamp(SystemTime::now()),
                min_runtime_version: env!("CARGO_PKG_VERSION").to_string(),
                backbone_sha256: backbone.identity.hex(),
                patches: Vec::new(),
            },
            files: Vec::new(),
        }
    }

    /// Overrides the creation time (`YYYY-MM-DDTHH:MM:SSZ`), for reproducible bundles.
    pub fn created(mut self, created: &str) -> BundleBuilder {
        self.manifest.created = created.to_string();
        self
    }

    /// Overrides the minimum runtime version.
    pub fn min_runtime_version(mut self, version: &str) -> BundleBuilder {
        self.manifest.min_runtime_version = version.to_string();
        self
    }

    /// Adds a patch file under `file`, after checking that it parses and fits
    /// `backbone`; its manifest entry comes from its own metadata.
    ///
    /// # Errors
    /// [`OtaError::UnsafeFileName`]; [`OtaError::Patch`].
    pub fn add_patch(
        &mut self,
        file: &str,
        bytes: Vec<u8>,
        backbone: &Backbone,
    ) -> OtaResult<&mut BundleBuilder> {
        check_file_name(file)?;
        let patch = Patch::from_bytes(&bytes, backbone).map_err(|source| OtaError::Patch {
            file: file.to_string(),
            source,
        })?;
        self.manifest.patches.push(entry_for(&patch, file, &bytes));
        self.files.push((file.to_string(), bytes));
        Ok(self)
    }

    /// The manifest as it stands.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Validates the manifest, signs it with every signer and writes the container.
    ///
    /// # Errors
    /// Any [`Manifest::validate`] error; [`OtaError::Container`] with no signer.
    pub fn build(&self, signers: &[&BundleSigner]) -> OtaResult<Vec<u8>> {
        self.manifest.validate()?;
        if signers.is_empty() || signers.len() > super::container::MAX_SIGNATURES {
            return Err(OtaError::container(format!(
                "{} signers, a bundle carries 1..={}",
                signers.len(),
                super::container::MAX_SIGNATURES
            )));
        }
        let manifest = self.manifest.to_json();
        let signatures: Vec<BundleSignature> = signers.iter().map(|s| s.sign(&manifest)).collect();
        Ok(BundleFile {
            manifest: &manifest,
            signatures,
            files: self
                .files
                .iter()
                .map(|(n, b)| (n.as_str(), b.as_slice()))
                .collect(),
        }
        .to_bytes())
    }
}

/// Adds `signer`'s signature to an existing bundle (key rotation: sign with
/// the old and the new key while apps pin either).
///
/// # Errors
/// [`OtaError::Container`] for a malformed bundle or one with no room left.
pub fn add_signature(
    bundle: &[u8],
    signer: &BundleSigner,
    limits: &super::BundleLimits,
) -> OtaResult<Vec<u8>> {
    let mut file = BundleFile::parse(bundle, limits)?;
    let new = signer.sign(file.manifest);
    file.signatures.retain(|s| s.key_id != new.key_id);
    if file.signatures.len() >= super::container::MAX_SIGNATURES {
        return Err(OtaError::container(
            "bundle already has the most signatures allowed",
        ));
    }
    file.signatures.push(new);
    Ok(file.to_bytes())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a system time (UTC, proleptic Gregorian).
pub fn utc_timestamp(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_date(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month, day of a day count since 1970-01-01, by whole 400-year eras
/// (146,097 days each) starting on March 1 so leap days fall at the end.
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_match_known_dates() {
        let at = |s| utc_timestamp(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_305_600), "2026-11-22T00:00:00Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
