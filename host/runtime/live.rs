//! The components serving right now, one slot per name, each swappable in
//! one atomic store (DESIGN §4, hot swap).
//!
//! A call takes a snapshot (`Arc<LoadedComponent>`) when it starts and keeps
//! it until it ends, so a swap never disturbs a call in flight: that call
//! finishes on the old version, and the old version is dropped when its
//! last call returns. Compiling and smoke-testing the new version happen
//! before the swap, off the call path; the swap itself is one pointer store.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};

use super::LoadedComponent;

/// What `component list` shows of one slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotStatus {
    pub name: String,
    pub version: String,
    pub digest: String,
    pub tools: Vec<String>,
    /// Unix ms of the last successful swap (or first load).
    pub serving_since: i64,
    pub swaps: u64,
    /// Why the newest candidate was not swapped in (the old one still serves).
    pub last_error: Option<String>,
}

struct Slot {
    current: ArcSwap<LoadedComponent>,
    meta: std::sync::Mutex<SlotMeta>,
}

struct SlotMeta {
    serving_since: i64,
    swaps: u64,
    last_error: Option<String>,
}

#[derive(Default)]
pub struct LiveSet {
    // The map changes only when a name appears or goes; swaps go through
    // the slot's ArcSwap without taking the write lock.
    slots: RwLock<BTreeMap<String, Arc<Slot>>>,
}

impl LiveSet {
    pub fn new() -> LiveSet {
        LiveSet::default()
    }

    fn slot(&self, name: &str) -> Option<Arc<Slot>> {
        self.slots.read().ok()?.get(name).cloned()
    }

    /// The version serving `name` now, for one call.
    pub fn get(&self, name: &str) -> Option<Arc<LoadedComponent>> {
        Some(self.slot(name)?.current.load_full())
    }

    /// The component serving the tool `tool`.
    pub fn find_tool(&self, tool: &str) -> Option<Arc<LoadedComponent>> {
        let slots = self.slots.read().ok()?;
        slots
            .values()
            .map(|s| s.current.load_full())
            .find(|c| c.tools.iter().any(|t| t.name == tool))
    }

    /// Every component serving now.
    pub fn all(&self) -> Vec<Arc<LoadedComponent>> {
        self.slots.read().map_or_else(
            |_| Vec::new(),
            |s| s.values().map(|s| s.current.load_full()).collect(),
        )
    }

    /// Puts `component` in service under its name; returns the version it
    /// replaced. Calls already running keep their snapshot.
    pub fn swap_in(&self, component: Arc<LoadedComponent>) -> Option<Arc<LoadedComponent>> {
        let name = component.name.to_string();
        if let Some(slot) = self.slot(&name) {
            let old = slot.current.swap(component);
            if let Ok(mut meta) = slot.meta.lock() {
                meta.serving_since = crate::store::now_ms();
                meta.swaps += 1;
                meta.last_error = None;
            }
            return Some(old);
        }
        let slot = Arc::new(Slot {
            current: ArcSwap::new(component),
            meta: std::sync::Mutex::new(SlotMeta {
                serving_since: crate::store::now_ms(),
                swaps: 0,
                last_error: None,
            }),
        });
        let mut slots = match self.slots.write() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Another writer may have created the slot meanwhile: swap into it.
        if let Some(existing) = slots.get(&name) {
            return Some(existing.current.swap(slot.current.load_full()));
        }
        slots.insert(name, slot);
        None
    }

    /// Records why a new version of `name` was refused (the serving version,
    /// if any, stays), or clears it with `None`.
    pub fn record_failure(&self, name: &str, reason: Option<String>) {
        if let Some(slot) = self.slot(name)
            && let Ok(mut meta) = slot.meta.lock()
        {
            meta.last_error = reason;
        }
    }

    /// Takes `name` out of service (calls in flight finish).
    pub fn remove(&self, name: &str) -> Option<Arc<LoadedComponent>> {
        let mut slots = match self.slots.write() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        slots.remove(name).map(|s| s.current.load_full())
    }

    pub fn status(&self) -> Vec<SlotStatus> {
        let Ok(slots) = self.slots.read() else {
            return Vec::new();
        };
        slots
            .values()
            .map(|slot| {
                let c = slot.current.load();
                let (serving_since, swaps, last_error) = match slot.meta.lock() {
                    Ok(m) => (m.serving_since, m.swaps, m.last_error.clone()),
                    Err(_) => (0, 0, Some("status unavailable".into())),
                };
                SlotStatus {
                    name: c.name.to_string(),
                    version: c.manifest.version.to_string(),
                    digest: c.digest.to_hex().to_string(),
                    tools: c.tools.iter().map(|t| t.name.clone()).collect(),
                    serving_since,
                    swaps,
                    last_error,
                }
            })
            .collect()
    }
}
