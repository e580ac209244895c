//! The bundle manifest: what a bundle holds, for which backbone, in which version.
//!
//! The manifest is the only signed object; it binds every file by size and
//! SHA-256. Parsing is strict (unknown or duplicate fields are refused) so
//! that two parsers can never disagree about what a signed manifest means.

use serde::{Deserialize, Serialize};

use super::error::{OtaError, OtaResult};

/// `format` value of a bundle manifest.
pub const MANIFEST_FORMAT: &str = "patchrt.bundle";
/// Manifest format version this runtime reads and writes.
pub const MANIFEST_FORMAT_VERSION: u32 = 1;
/// Most patches one bundle may list.
pub const MAX_PATCHES: usize = 256;
/// File names the installed bundle directory reserves for itself.
pub const RESERVED_NAMES: [&str; 2] = ["manifest.json", "manifest.sig"];

/// Resolution a bundled patch serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PatchResolution {
    /// One input side in pixels.
    Side(u32),
    /// Any resolution; written as the string `"any"`.
    Any(AnyResolution),
}

/// The string `"any"`, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnyResolution {
    /// `"any"`.
    #[serde(rename = "any")]
    Any,
}

impl PatchResolution {
    /// The side, or `None` for any resolution (as [`crate::Patch::resolution`]).
    pub fn side(self) -> Option<u32> {
        match self {
            PatchResolution::Side(s) => Some(s),
            PatchResolution::Any(_) => None,
        }
    }

    /// From a patch's own resolution field.
    pub fn from_side(side: Option<u32>) -> PatchResolution {
        side.map_or(
            PatchResolution::Any(AnyResolution::Any),
            PatchResolution::Side,
        )
    }
}

/// One patch file listed in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundlePatch {
    /// Patch id; equal to the id in the patch file's metadata
    /// (`[A-Za-z0-9._@-]`, at most 128 characters).
    pub id: String,
    /// Task the patch serves; equal to the patch file's task.
    pub task: String,
    /// Resolution; equal to the patch file's resolution.
    pub resolution: PatchResolution,
    /// File name inside the bundle (no directories).
    pub file: String,
    /// File size in bytes.
    pub size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
}

/// A parsed and structurally valid manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// Always [`MANIFEST_FORMAT_VERSION`].
    pub format_version: u32,
    /// Bundle name; versions are ordered per name.
    pub name: String,
    /// Version, at least 1; every release must increase it.
    pub version: u64,
    /// Creation time, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub created: String,
    /// Oldest runtime version (`MAJOR.MINOR.PATCH`) that can use the bundle.
    pub min_runtime_version: String,
    /// [`crate::BackboneId`] of the backbone the patches were made for, hex.
    pub backbone_sha256: String,
    /// The patch files.
    pub patches: Vec<BundlePatch>,
}

impl Manifest {
    /// Parses and validates manifest JSON.
    ///
    /// # Errors
    /// [`OtaError::Manifest`] for bad JSON or a field that breaks the format;
    /// [`OtaError::UnsafeFileName`] for a file name that could leave the
    /// bundle directory.
    pub fn parse(bytes: &[u8]) -> OtaResult<Manifest> {
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| OtaError::manifest("json", e.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The JSON the packer signs (pretty-printed, fields in declaration order).
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain strings and integers cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Checks every field's format and the uniqueness of ids and file names.
    ///
    /// # Errors
    /// As [`Manifest::parse`].
    pub fn validate(&self) -> OtaResult<()> {
        if self.format != MANIFEST_FORMAT {
            return Err(OtaError::manifest(
                "format",
                format!("{:?}, expected {MANIFEST_FORMAT:?}", self.format),
            ));
        }
        if self.format_version != MANIFEST_FORMAT_VERSION {
            return Err(OtaError::manifest(
                "format_version",
                format!(
                    "{}, this runtime reads {MANIFEST_FORMAT_VERSION}",
                    self.format_version
                ),
            ));
        }
        check_token("name", &self.name, 64, b"")?;
        if self.version == 0 {
            return Err(OtaError::manifest("version", "must be at least 1"));
        }
        if !is_utc_timestamp(&self.created) {
            return Err(OtaError::manifest(
                "created",
                format!("{:?} is not YYYY-MM-DDTHH:MM:SSZ", self.created),
            ));
        }
        if RuntimeVersion::parse(&self.min_runtime_version).is_none() {
            return Err(OtaError::manifest(
                "min_runtime_version",
                format!("{:?} is not MAJOR.MINOR.PATCH", self.min_runtime_version),
            ));
        }
        if !is_sha256_hex(&self.backbone_sha256) {
            return Err(OtaError::manifest(
                "backbone_sha256",
                "expected 64 lowercase hex digits",
            ));
        }
        if self.patches.is_empty() || self.patches.len() > MAX_PATCHES {
            return Err(OtaError::manifest(
                "patches",
                format!("{} entries, expected 1..={MAX_PATCHES}", self.patches.len()),
            ));
        }
        let mut ids = std::collections::HashSet::new();
        let mut files = std::collections::HashSet::new();
        for (i, p) in self.patches.iter().enumerate() {
            let at = |f: &str| format!("patches[{i}].{f}");
            check_token(&at("id"), &p.id, 128, b"@")?;
            check_token(&at("task"), &p.task, 128, b"")?;
            check_file_name(&p.file)?;
            if let PatchResolution::Side(0) = p.resolution {
                return Err(OtaError::manifest(at("resolution"), "must be positive"));
            }
            if !is_sha256_hex(&p.sha256) {
                return Err(OtaError::manifest(
                    at("sha256"),
                    "expected 64 lowercase hex digits",
                ));
            }
            if !ids.insert(p.id.as_str()) {
                return Err(OtaError::manifest(at("id"), format!("{:?} repeats", p.id)));
            }
            // Case-insensitive file systems (APFS, most Android sdcards) would
            // let two names collide on disk.
            if !files.insert(p.file.to_ascii_lowercase()) {
                return Err(OtaError::manifest(
                    at("file"),
                    format!("{:?} repeats (ignoring case)", p.file),
                ));
            }
        }
        Ok(())
    }

    /// The entry for `file`, if listed.
    pub fn patch_by_file(&self, file: &str) -> Option<&BundlePatch> {
        self.patches.iter().find(|p| p.file == file)
    }

    /// Sum of the listed file sizes (saturating: sizes are untrusted until
    /// checked against the limits).
    pub fn total_size(&self) -> u64 {
        self.patches
            .iter()
            .fold(0u64, |sum, p| sum.saturating_add(p.size))
    }
}

/// Refuses any file name that is not one plain, portable path component.
///
/// # Errors
/// [`OtaError::UnsafeFileName`].
pub fn check_file_name(name: &str) -> OtaResult<()> {
    let refuse = |reason| {
        Err(OtaError::UnsafeFileName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() || name.len() > 100 {
        return refuse("must be 1 to 100 characters");
    }
    if name.contains(['/', '\\']) {
        return refuse("contains a path separator");
    }
    if name.contains("..") {
        return refuse("contains \"..\"");
    }
    if name.starts_with('.') {
        return refuse("starts with a dot");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return refuse("only ASCII letters, digits, '.', '_' and '-' are allowed");
    }
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return refuse("is reserved for the bundle's own files");
    }
    Ok(())
}

/// Ids, tasks and names: 1..=`max` characters of `[A-Za-z0-9._-]` plus
/// `extra`, so that they are safe in logs, directory names and engine ids.
fn check_token(field: &str, value: &str, max: usize, extra: &[u8]) -> OtaResult<()> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b) || extra.contains(&b));
    if ok {
        Ok(())
    } else {
        Err(OtaError::manifest(
            field,
            format!(
                "{value:?} must be 1 to {max} characters of [A-Za-z0-9._-{}]",
                String::from_utf8_lossy(extra)
            ),
        ))
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `YYYY-MM-DDTHH:MM:SSZ`, a real calendar date and time (no leap seconds).
fn is_utc_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        s.get(r)
            .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|t| t.parse().ok())
    };
    let seps = b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    let fields = (
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
    );
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = fields else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    seps && (1..=month_days).contains(&d) && h < 24 && mi < 60 && sec < 60
}

/// A `MAJOR.MINOR.PATCH` version, compared numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuntimeVersion(pub u32, pub u32, pub u32);

impl RuntimeVersion {
    /// This runtime's version.
    pub fn current() -> RuntimeVersion {
        RuntimeVersion::parse(env!("CARGO_PKG_VERSION")).unwrap_or(RuntimeVersion(0, 0, 0))
    }

    /// Parses `MAJOR.MINOR.PATCH` (each a decimal number without sign).
    pub fn parse(s: &str) -> Option<RuntimeVersion> {
        let mut parts = s.split('.');
        let mut next = || -> Option<u32> {
            let p = parts.next()?;
            if p.is_empty() || p.len() > 9 || !p.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let v = RuntimeVersion(next()?, next()?, next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(v)
    }
}

impl std::fmt::Display for RuntimeVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}
