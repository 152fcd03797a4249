//! Rendered list items kept between requests: listing servers re-rendered the same ~1 KB per
//! server on every page, which dominated `GET server/server`. A server's fragment depends on the
//! server and on the VLANs' names: every change (`Core::commit`, under the state write lock)
//! forgets the fragments of the servers it changed, and all of them when it changes a VLAN, so a
//! fragment is only ever served for the state it was rendered from (a deploy of 1,000 servers
//! forgot all 1,000 on every change when the cache had one generation for everything).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::models::{Kind, Record};

/// Most fragments kept (about 1 KB each); the cache empties when full.
const MAX_FRAGMENTS: usize = 4096;

#[derive(Default)]
struct Inner {
    by_shape: HashMap<(u32, bool), HashMap<String, Arc<str>>>,
    len: usize,
}

/// Rendered fragments by shape (API minor version, JSON or not) and resource id.
#[derive(Default)]
pub struct FragmentCache {
    inner: RwLock<Inner>,
}

impl FragmentCache {
    /// Forgets the fragments that `records` (a change being committed) make stale. Call with the
    /// state write lock held.
    pub fn forget(&self, records: &[Record]) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        for r in records {
            match r {
                Record::Put(res) => {
                    let (kind, id) = res.key();
                    inner.forget(kind, &id);
                }
                Record::Del { kind, id } => inner.forget(*kind, id),
                Record::Reset => inner.clear(),
                Record::Seq(_) => {}
            }
        }
    }

    /// The fragment of resource `id` in `shape` (API minor version, JSON or not), rendered by
    /// `render` when missing.
    /// Call with the state read lock held, so that no change is committed meanwhile.
    pub fn get_or_render(
        &self,
        id: &str,
        shape: (u32, bool),
        render: impl FnOnce() -> String,
    ) -> Arc<str> {
        {
            let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
            if let Some(f) = inner.by_shape.get(&shape).and_then(|m| m.get(id)) {
                return f.clone();
            }
        }
        let fragment: Arc<str> = render().into();
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.len >= MAX_FRAGMENTS {
            inner.clear();
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

impl Inner {
    /// Forgets what a change of resource `id` of `kind` makes stale: that server's fragments, or
    /// every fragment when a VLAN changes (servers show their VLANs' names).
    fn forget(&mut self, kind: Kind, id: &str) {
        match kind {
            Kind::Server => self.remove(id),
            Kind::Vlan => self.clear(),
            _ => {}
        }
    }

    fn remove(&mut self, id: &str) {
        for m in self.by_shape.values_mut() {
            if m.remove(id).is_some() {
                self.len -= 1;
            }
        }
    }

    fn clear(&mut self) {
        self.by_shape.clear();
        self.len = 0;
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
        let del = |kind, id: &str| Record::Del {
            kind,
            id: id.to_string(),
        };
        assert_eq!(&*get(&c, "b", 4, false), "b-4-false-4");
        // A change of server a forgets a only; a change of a VLAN forgets every server.
        c.forget(&[del(Kind::Server, "a"), Record::Seq(3)]);
        assert_eq!(&*get(&c, "a", 4, false), "a-4-false-5");
        assert_eq!(&*get(&c, "a", 4, true), "a-4-true-6");
        assert_eq!(&*get(&c, "b", 4, false), "b-4-false-4");
        c.forget(&[del(Kind::Nat, "b")]);
        assert_eq!(&*get(&c, "b", 4, false), "b-4-false-4");
        c.forget(&[del(Kind::Vlan, "v")]);
        assert_eq!(&*get(&c, "b", 4, false), "b-4-false-7");
        for i in 0..MAX_FRAGMENTS + 10 {
            get(&c, &format!("s{i}"), 4, false);
        }
        assert!(c.inner.read().unwrap().len <= MAX_FRAGMENTS);
    }
}
