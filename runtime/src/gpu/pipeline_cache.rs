//! Persisting the driver's pipeline cache between process starts.
//!
//! Drivers that compile pipelines when they are created (most phone drivers)
//! can skip that work at the next start if the app hands back the data of a
//! `VkPipelineCache` it saved. wgpu 30 exposes this as `Features::PIPELINE_CACHE`
//! (Vulkan only). Drivers that manage their own disk cache, or that compile
//! at the first dispatch instead (Mesa's llvmpipe does both), gain little or
//! nothing; the state in [`PipelineCacheReport`] says what happened, and
//! patchbench measures it.
//!
//! The file wraps wgpu's data in an envelope: a magic, wgpu's cache key for
//! the adapter, the length and a SHA-256 of the data. wgpu checks its own
//! header (adapter, driver version) but not the data itself, and handing a
//! driver bytes that did not come from `PipelineCache::get_data` is undefined
//! behaviour. The envelope turns a truncated, corrupted or foreign file into a
//! [`PipelineCacheState::Rejected`] start with an empty cache (and a rewritten
//! file) instead. It does not defend against a writer who recomputes the hash:
//! keep the file in app-private storage, where such a writer could as well
//! replace the app.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// File magic; the last byte is the envelope version.
const MAGIC: [u8; 8] = *b"PRTPLC\0\x01";

/// What happened to the pipeline cache when the context was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineCacheState {
    /// No cache file was configured.
    Off,
    /// The adapter has no pipeline cache support (in wgpu 30 only Vulkan has
    /// one); nothing is read or written. Not an error: the cache is an
    /// optimisation.
    Unsupported,
    /// The file did not exist yet; an empty cache was created.
    Created,
    /// The file's data passed the envelope check and was handed to wgpu.
    /// wgpu still drops data from an older driver without saying so (its
    /// `fallback`), in which case the driver starts empty and the next save
    /// replaces the file.
    Loaded {
        /// Bytes of driver data.
        bytes: usize,
    },
    /// The file could not be used (unreadable, truncated, corrupted, from
    /// another adapter or driver); an empty cache was created instead and
    /// the file is replaced at the next save.
    Rejected {
        /// Why.
        reason: String,
    },
}

/// The pipeline cache of a context: where it lives and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineCacheReport {
    /// The cache file, if one was configured.
    pub path: Option<PathBuf>,
    /// What happened when the context was opened.
    pub state: PipelineCacheState,
    /// Bytes of driver data written by the last save of this context, if any.
    pub saved_bytes: Option<usize>,
    /// Why the last save failed, if it did.
    pub save_error: Option<String>,
}

/// A configured, supported cache: the wgpu object and its file.
pub(crate) struct PipelineCacheFile {
    /// Passed to every pipeline the context creates.
    pub cache: wgpu::PipelineCache,
    path: PathBuf,
    key: String,
    /// Digest of the data on disk, so an unchanged cache is not rewritten.
    on_disk: Mutex<Option<[u8; 32]>>,
}

/// Opens the cache at `path` for `device`, falling back to an empty cache
/// whenever the file cannot be used. Never fails: a cache is an optimisation.
pub(crate) fn open(
    device: &wgpu::Device,
    info: &wgpu::AdapterInfo,
    path: Option<&Path>,
) -> (Option<PipelineCacheFile>, PipelineCacheReport) {
    let report = |state| PipelineCacheReport {
        path: path.map(Path::to_path_buf),
        state,
        saved_bytes: None,
        save_error: None,
    };
    let Some(path) = path else {
        return (None, report(PipelineCacheState::Off));
    };
    let key = match wgpu::util::pipeline_cache_key(info) {
        Some(k) if device.features().contains(wgpu::Features::PIPELINE_CACHE) => k,
        _ => return (None, report(PipelineCacheState::Unsupported)),
    };
    let (payload, state) = match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, PipelineCacheState::Created),
        Err(e) => (
            None,
            PipelineCacheState::Rejected {
                reason: format!("cannot read it: {e}"),
            },
        ),
        Ok(bytes) => match unwrap_envelope(&bytes, &key) {
            Ok(payload) => (
                Some(payload.to_vec()),
                PipelineCacheState::Loaded {
                    bytes: payload.len(),
                },
            ),
            Err(reason) => (None, PipelineCacheState::Rejected { reason }),
        },
    };
    let (cache, state, on_disk) = match payload {
        Some(data) => match create(device, &data) {
            Ok(cache) => (cache, state, Some(digest(&data))),
            Err(reason) => (
                empty(device),
                PipelineCacheState::Rejected {
                    reason: format!("wgpu refused the data: {reason}"),
                },
                None,
            ),
        },
        None => (empty(device), state, None),
    };
    if let PipelineCacheState::Rejected { reason } = &state {
        log::warn!(
            "patchrt: pipeline cache {} not used ({reason}); starting empty",
            path.display()
        );
    }
    let file = PipelineCacheFile {
        cache,
        path: path.to_path_buf(),
        key,
        on_disk: Mutex::new(on_disk),
    };
    (Some(file), report(state))
}

/// Creates a cache from saved `data`, reporting wgpu's validation error if any.
fn create(device: &wgpu::Device, data: &[u8]) -> std::result::Result<wgpu::PipelineCache, String> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    // SAFETY: wgpu requires `data` to be bytes `PipelineCache::get_data`
    // returned. `data` is the payload of an envelope whose
    // length and SHA-256 match what `save` wrote from `get_data` on an adapter
    // with the same wgpu cache key (see the module docs for what is assumed
    // of the file's storage). wgpu itself re-checks the driver and adapter
    // in its header, and `fallback: true` lets it drop outdated data.
    let cache = unsafe {
        device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
            label: Some("patchrt/pipeline_cache"),
            data: Some(data),
            fallback: true,
        })
    };
    match pollster::block_on(scope.pop()) {
        Some(e) => Err(e.to_string()),
        None => Ok(cache),
    }
}

fn empty(device: &wgpu::Device) -> wgpu::PipelineCache {
    // SAFETY: no data is passed, so there is nothing the driver could misread.
    // (A lost device surfaces at the next checked GPU call.)
    unsafe {
        device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
            label: Some("patchrt/pipeline_cache"),
            data: None,
            fallback: true,
        })
    }
}

impl PipelineCacheFile {
    /// Writes the cache's current data to the file (atomically: a temporary
    /// file renamed over it) unless the file already holds it. Returns the
    /// bytes of driver data written, `None` when nothing was written.
    ///
    /// # Errors
    /// [`Error::Io`] when the file or its directory cannot be written.
    pub fn save(&self) -> Result<Option<usize>> {
        let Some(data) = self.cache.get_data() else {
            return Ok(None);
        };
        let d = digest(&data);
        let mut on_disk = self.on_disk.lock().unwrap_or_else(|p| p.into_inner());
        if *on_disk == Some(d) {
            return Ok(None);
        }
        let io = |source| Error::Io {
            path: self.path.display().to_string(),
            source,
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(format!(".tmp{}", std::process::id()));
        std::fs::write(&tmp, wrap_envelope(&data, &self.key)).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        *on_disk = Some(d);
        Ok(Some(data.len()))
    }
}

fn digest(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// The file bytes for `payload` under adapter cache key `key`.
fn wrap_envelope(payload: &[u8], key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + key.len() + 8 + 32 + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&digest(payload));
    out.extend_from_slice(payload);
    out
}

/// The payload of an envelope made for `key`, or why it cannot be used.
fn unwrap_envelope<'a>(bytes: &'a [u8], key: &str) -> std::result::Result<&'a [u8], String> {
    fn take<'b>(rest: &mut &'b [u8], n: usize) -> std::result::Result<&'b [u8], String> {
        if rest.len() < n {
            return Err("truncated".into());
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Ok(head)
    }
    let mut rest = bytes;
    if take(&mut rest, MAGIC.len())? != MAGIC {
        return Err("not a PatchRT pipeline cache file (or another envelope version)".into());
    }
    let mut n4 = [0u8; 4];
    n4.copy_from_slice(take(&mut rest, 4)?);
    let key_len = u32::from_le_bytes(n4) as usize;
    let file_key = take(&mut rest, key_len)?;
    if file_key != key.as_bytes() {
        return Err(format!(
            "made for adapter {:?}, this is {key:?}",
            String::from_utf8_lossy(file_key)
        ));
    }
    let mut n8 = [0u8; 8];
    n8.copy_from_slice(take(&mut rest, 8)?);
    let len = u64::from_le_bytes(n8);
    let want = take(&mut rest, 32)?;
    if rest.len() as u64 != len {
        return Err(format!(
            "holds {} bytes of data, header says {len}",
            rest.len()
        ));
    }
    if digest(rest) != want {
        return Err("SHA-256 of the data does not match (corrupted)".into());
    }
    Ok(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "wgpu_pipeline_cache_vulkan_1_2";

    #[test]
    fn envelope_round_trips() {
        let data = b"driver bytes".to_vec();
        let file = wrap_envelope(&data, KEY);
        assert_eq!(unwrap_envelope(&file, KEY), Ok(&data[..]));
    }

    #[test]
    fn envelope_rejects_damage_and_other_adapters() {
        let file = wrap_envelope(b"driver bytes", KEY);
        let reason = |bytes: &[u8], key: &str| unwrap_envelope(bytes, key).err();
        assert!(
            reason(&file, "wgpu_pipeline_cache_vulkan_1_3").is_some_and(|r| r.contains("made for"))
        );
        assert!(reason(&file[..file.len() - 1], KEY).is_some_and(|r| r.contains("header says")));
        assert!(reason(&file[..10], KEY).is_some_and(|r| r.contains("truncated")));
        let mut flipped = file.clone();
        if let Some(b) = flipped.last_mut() {
            *b ^= 1;
        }
        assert!(reason(&flipped, KEY).is_some_and(|r| r.contains("SHA-256")));
        assert!(
            reason(b"garbage that is long enough", KEY)
                .is_some_and(|r| r.contains("not a PatchRT"))
        );
    }
}
