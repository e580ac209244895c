//! Bookkeeping of resident patches: lookup by id and by task, a byte budget
//! with least-recently-used eviction. Holds whatever the engine keeps per
//! patch (`T`), so the policy is testable without a GPU.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::patch::PatchKind;

/// Public facts about a resident patch.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchInfo {
    /// Id.
    pub id: String,
    /// Task.
    pub task: String,
    /// Resolution it targets (`None`: any).
    pub resolution: Option<u32>,
    /// What it carries.
    pub kind: PatchKind,
    /// Classes its outputs have.
    pub classes: u32,
    /// GPU bytes it owns (shared backbone buffers not counted).
    pub gpu_bytes: u64,
    /// Parameters it carries.
    pub parameters: usize,
}

struct Entry<T> {
    info: PatchInfo,
    value: T,
    last_used: u64,
    loaded: u64,
    pinned: bool,
}

/// Resident patches under a byte budget.
pub struct PatchRegistry<T> {
    entries: HashMap<String, Entry<T>>,
    clock: u64,
    budget: u64,
}

impl<T> PatchRegistry<T> {
    /// An empty registry with a budget of `budget` bytes for unpinned patches.
    pub fn new(budget: u64) -> Self {
        PatchRegistry {
            entries: HashMap::new(),
            clock: 0,
            budget,
        }
    }

    fn used(&self) -> u64 {
        self.entries
            .values()
            .filter(|e| !e.pinned)
            .map(|e| e.info.gpu_bytes)
            .sum()
    }

    /// Whether `id` is resident.
    pub fn contains(&self, id: &str) -> bool {
        self.entries.contains_key(id)
    }

    /// Inserts a patch, evicting least-recently-used unpinned patches other
    /// than `keep` until it fits. Returns the ids evicted.
    ///
    /// # Errors
    /// [`Error::DuplicatePatch`]; [`Error::PatchBudgetExceeded`] when it cannot
    /// fit even alone (nothing is evicted then).
    pub fn insert(
        &mut self,
        info: PatchInfo,
        value: T,
        pinned: bool,
        keep: &str,
    ) -> Result<Vec<String>> {
        if self.entries.contains_key(&info.id) {
            return Err(Error::DuplicatePatch { id: info.id });
        }
        let mut evicted = Vec::new();
        if !pinned {
            let protected: u64 = self
                .entries
                .values()
                .filter(|e| !e.pinned && e.info.id == keep)
                .map(|e| e.info.gpu_bytes)
                .sum();
            if protected + info.gpu_bytes > self.budget {
                return Err(Error::PatchBudgetExceeded {
                    id: info.id,
                    needed: info.gpu_bytes,
                    budget: self.budget,
                });
            }
            while self.used() + info.gpu_bytes > self.budget {
                let victim = self
                    .entries
                    .values()
                    .filter(|e| !e.pinned && e.info.id != keep)
                    .min_by_key(|e| e.last_used)
                    .map(|e| e.info.id.clone());
                match victim {
                    Some(id) => {
                        self.entries.remove(&id);
                        evicted.push(id);
                    }
                    None => break,
                }
            }
        }
        self.clock += 1;
        let id = info.id.clone();
        self.entries.insert(
            id,
            Entry {
                info,
                value,
                last_used: self.clock,
                loaded: self.clock,
                pinned,
            },
        );
        Ok(evicted)
    }

    /// Marks `id` as just used and returns it.
    ///
    /// # Errors
    /// [`Error::UnknownPatch`].
    pub fn touch(&mut self, id: &str) -> Result<&T> {
        self.clock += 1;
        let clock = self.clock;
        let e = self
            .entries
            .get_mut(id)
            .ok_or_else(|| Error::UnknownPatch { id: id.to_string() })?;
        e.last_used = clock;
        Ok(&e.value)
    }

    /// The value and info of `id`, without touching it.
    pub fn get(&self, id: &str) -> Option<(&PatchInfo, &T)> {
        self.entries.get(id).map(|e| (&e.info, &e.value))
    }

    /// Removes `id` unless pinned.
    ///
    /// # Errors
    /// [`Error::UnknownPatch`], [`Error::PatchPinned`].
    pub fn remove(&mut self, id: &str) -> Result<T> {
        match self.entries.get(id) {
            None => Err(Error::UnknownPatch { id: id.to_string() }),
            Some(e) if e.pinned => Err(Error::PatchPinned {
                id: id.to_string(),
                reason: "it is the backbone's default patch",
            }),
            Some(_) => self
                .entries
                .remove(id)
                .map(|e| e.value)
                .ok_or_else(|| Error::UnknownPatch { id: id.to_string() }),
        }
    }

    /// The patch serving `task` at `resolution`: the task's patch made for that
    /// resolution, else its resolution-independent patch. Among several
    /// candidates a loaded patch beats the backbone's own (pinned) one, and the
    /// most recently loaded wins, so an update shadows what it replaces.
    pub fn find_for_task(&self, task: &str, resolution: u32) -> Option<&str> {
        let best = |want: Option<u32>| {
            self.entries
                .values()
                .filter(|e| e.info.task == task && e.info.resolution == want)
                .max_by_key(|e| (!e.pinned, e.loaded))
        };
        best(Some(resolution))
            .or_else(|| best(None))
            .map(|e| e.info.id.as_str())
    }

    /// Infos of all resident patches, sorted by id.
    pub fn list(&self) -> Vec<PatchInfo> {
        let mut v: Vec<PatchInfo> = self.entries.values().map(|e| e.info.clone()).collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// GPU bytes held by all resident patches, pinned ones included.
    pub fn total_bytes(&self) -> u64 {
        self.entries.values().map(|e| e.info.gpu_bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, task: &str, res: Option<u32>, bytes: u64) -> PatchInfo {
        PatchInfo {
            id: id.into(),
            task: task.into(),
            resolution: res,
            kind: PatchKind {
                depthwise: false,
                classifier: false,
            },
            classes: 10,
            gpu_bytes: bytes,
            parameters: 0,
        }
    }

    #[test]
    fn evicts_least_recently_used_but_never_the_kept_one() {
        let mut r = PatchRegistry::new(300);
        r.insert(info("default", "t", None, 1000), (), true, "default")
            .ok();
        for id in ["a", "b", "c"] {
            assert!(r.insert(info(id, "t", None, 100), (), false, "a").is_ok());
        }
        r.touch("b").ok();
        // "a" is kept (active), "c" is least recently used of the rest.
        let evicted = r.insert(info("d", "t", None, 100), (), false, "a");
        assert_eq!(evicted.ok(), Some(vec!["c".to_string()]));
        assert!(r.contains("a") && r.contains("b") && r.contains("d") && r.contains("default"));
    }

    #[test]
    fn oversized_patch_is_refused_and_nothing_is_evicted() {
        let mut r = PatchRegistry::new(150);
        assert!(r.insert(info("a", "t", None, 100), (), false, "a").is_ok());
        let err = r.insert(info("big", "t", None, 100), (), false, "a");
        assert!(matches!(
            err,
            Err(Error::PatchBudgetExceeded {
                needed: 100,
                budget: 150,
                ..
            })
        ));
        assert!(r.contains("a"));
    }

    #[test]
    fn task_lookup_prefers_exact_resolution_then_any() {
        let mut r = PatchRegistry::new(u64::MAX);
        r.insert(info("x@160", "x", Some(160), 1), (), false, "")
            .ok();
        r.insert(info("x-any", "x", None, 1), (), false, "").ok();
        assert_eq!(r.find_for_task("x", 160), Some("x@160"));
        assert_eq!(r.find_for_task("x", 224), Some("x-any"));
        assert_eq!(r.find_for_task("y", 224), None);
        r.insert(info("x-any-2", "x", None, 1), (), false, "").ok();
        assert_eq!(
            r.find_for_task("x", 224),
            Some("x-any-2"),
            "the newer load wins"
        );
        r.insert(info("x-pinned", "x", None, 1), (), true, "").ok();
        assert_eq!(
            r.find_for_task("x", 224),
            Some("x-any-2"),
            "loaded patches beat the backbone's own"
        );
        assert!(matches!(r.remove("nope"), Err(Error::UnknownPatch { .. })));
    }
}
