//! Rendered list items kept between requests: listing servers re-rendered the same ~1 KB per
//! server on every page, which dominated `GET server/server`. A fragment is valid for one state
//! generation; every change (`Core::commit`, under the state write lock) starts a new generation,
//! so a fragment is only ever served for the state it was rendered from.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Most fragments kept (about 1 KB each); the cache empties when full.
const MAX_FRAGMENTS: usize = 4096;

#[derive(Default)]
struct Inner {
    generation: u64,
    by_shape: HashMap<(u32, bool), HashMap<String, Arc<str>>>,
    len: usize,
}

/// Rendered fragments by shape (API minor version, JSON or not) and resource id.
#[derive(Default)]
pub struct FragmentCache {
    generation: AtomicU64,
    inner: RwLock<Inner>,
}

impl FragmentCache {
    /// Forgets every fragment: the state is changing. Call with the state write lock held.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The fragment of resource `id` in `shape` (API minor version, JSON or not), rendered by
    /// `render` when missing.
    /// Call with the state read lock held, so the generation cannot change meanwhile.
    pub fn get_or_render(
        &self,
        id: &str,
        shape: (u32, bool),
        render: impl FnOnce() -> String,
    ) -> Arc<str> {
        let generation = self.generation.load(Ordering::Acquire);
        {
            let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
            if inner.generation == generation
                && let Some(f) = inner.by_shape.get(&shape).and_then(|m| m.get(id))
            {
                return f.clone();
            }
        }
        let fragment: Arc<str> = render().into();
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.generation != generation || inner.len >= MAX_FRAGMENTS {
            inner.by_shape.clear();
            inner.len = 0;
            inner.generation = generation;
        }
        let previous = inner
            .by_shape
            .entry(shape)
            .or_default()
            .insert(id.to_string(), fragment.clone());
        if previous.is_none() {
            inner.len += 1;
        }
        fragment
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_reused_until_the_state_changes() {
        let c = FragmentCache::default();
        let mut renders = 0;
        let mut get = |c: &FragmentCache, id: &str, minor: u32, json: bool| {
            c.get_or_render(id, (minor, json), || {
                renders += 1;
                format!("{id}-{minor}-{json}-{renders}")
            })
        };
        assert_eq!(&*get(&c, "a", 4, false), "a-4-false-1");
        assert_eq!(&*get(&c, "a", 4, false), "a-4-false-1");
        assert_eq!(&*get(&c, "a", 5, false), "a-5-false-2");
        assert_eq!(&*get(&c, "a", 4, true), "a-4-true-3");
        c.invalidate();
        assert_eq!(&*get(&c, "a", 4, false), "a-4-false-4");
        for i in 0..MAX_FRAGMENTS + 10 {
            get(&c, &format!("s{i}"), 4, false);
        }
        assert!(c.inner.read().unwrap().len <= MAX_FRAGMENTS);
    }
}
