//! Identity stitching: which ids are one person.

use std::collections::HashMap;

use crate::event::{Event, MessageType};

/// A union-find over ids (user ids, anonymous ids, alias ids). Ids seen on one event belong
/// to one person: `identify` ties the anonymous id to the user id, `alias` the previous id to
/// the user id, and any event carrying both does the same. A person is named by the smallest
/// of their ids, so the name does not depend on arrival order.
///
/// Merging is mergeable: the union of two graphs' edges gives the same persons whatever the
/// order ([`Identity::absorb`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    parent: HashMap<String, String>,
}

impl Identity {
    /// An empty graph.
    pub fn new() -> Identity {
        Identity::default()
    }

    /// Ids known.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Whether no id is known.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Distinct persons.
    pub fn persons(&self) -> usize {
        self.parent
            .iter()
            .filter(|(id, parent)| id == parent)
            .count()
    }

    /// The person an id belongs to (the id itself when unknown).
    pub fn person(&self, id: &str) -> String {
        let mut at = id;
        while let Some(p) = self.parent.get(at) {
            if p == at {
                break;
            }
            at = p;
        }
        at.to_owned()
    }

    fn root(&mut self, id: &str) -> String {
        if !self.parent.contains_key(id) {
            self.parent.insert(id.to_owned(), id.to_owned());
            return id.to_owned();
        }
        let root = self.person(id);
        // Path compression.
        let mut at = id.to_owned();
        while at != root {
            let next = self.parent[&at].clone();
            self.parent.insert(at, root.clone());
            at = next;
        }
        root
    }

    /// Joins two ids; returns `(kept, absorbed)` persons when they were different.
    pub fn union(&mut self, a: &str, b: &str) -> Option<(String, String)> {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb {
            return None;
        }
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent.insert(gone.clone(), keep.clone());
        Some((keep, gone))
    }

    /// Adds an event's ids; returns its person and the persons merged into it.
    pub fn observe(&mut self, event: &Event) -> (String, Vec<String>) {
        let mut ids: Vec<&str> = [
            event.user_id.as_deref(),
            event.anonymous_id.as_deref(),
            if event.kind == MessageType::Alias {
                event.previous_id.as_deref()
            } else {
                None
            },
        ]
        .into_iter()
        .flatten()
        .collect();
        ids.dedup();
        let Some(first) = ids.first().copied() else {
            return (String::new(), Vec::new());
        };
        let mut merged = Vec::new();
        for other in &ids[1..] {
            if let Some((_, gone)) = self.union(first, other) {
                merged.push(gone);
            }
        }
        (self.root(first), merged)
    }

    /// Adds every edge of `other` (for merging partitions' graphs).
    pub fn absorb(&mut self, other: &Identity) {
        for (id, parent) in &other.parent {
            self.union(id, parent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stitches_in_any_order() {
        let mut g = Identity::new();
        g.union("anon-2", "user-1");
        g.union("anon-1", "user-1");
        g.union("x", "y");
        assert_eq!(g.person("anon-2"), "anon-1");
        assert_eq!(g.person("user-1"), "anon-1");
        assert_eq!(g.person("y"), "x");
        assert_eq!(g.person("unknown"), "unknown");
        let mut h = Identity::new();
        h.union("anon-1", "user-1");
        h.union("y", "x");
        h.union("user-1", "anon-2");
        let mut merged = Identity::new();
        merged.absorb(&h);
        for id in ["anon-1", "anon-2", "user-1", "x", "y"] {
            assert_eq!(merged.person(id), g.person(id));
        }
    }
}
