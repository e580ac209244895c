//! Writing result files.

use std::path::Path;

use anyhow::{Context, Result};

/// Writes `contents` to `path`, creating its parent directory first.
pub fn write_output(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}
