//! Identity stitching: which ids are one person.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::event::Event;
use crate::hash::FastMap;

/// A person: the node of their smallest id (stable while the graph only grows, until a
/// merge absorbs it into a person with a smaller id).
pub(crate) type PersonId = u32;

/// The person of events that carry no id.
pub(crate) const NOBODY: PersonId = PersonId::MAX;

/// A union-find over ids (user ids, anonymous ids, alias ids). Ids seen on one event belong
/// to one person: `identify` ties the anonymous id to the user id, `alias` the previous id to
/// the user id, and any event carrying both does the same. A person is named by the smallest
/// of their ids, so the name does not depend on arrival order.
///
/// Ids are numbered as they arrive and stored once, so observing an event allocates nothing
/// for ids already known.
///
/// Merging is mergeable: the union of two graphs' edges gives the same persons whatever the
/// order ([`Identity::absorb`]).
///
/// Persons silent for long are forgotten with all their ids (the [`Sessionizer`]'s
/// `identity_retention_seconds`), so the graph holds the ids of a retention period, not of
/// the stream's whole length (a flood of random ids would otherwise grow it without end).
///
/// [`Sessionizer`]: super::Sessionizer
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    nodes: FastMap<Arc<str>, PersonId>,
    names: Vec<Arc<str>>,
    parent: Vec<PersonId>,
    /// Per node, read at roots: the newest event time (Unix seconds) of its person.
    last: Vec<i64>,
}

/// A newest time not known (a graph restored from a checkpoint written without times): such
/// a person is taken as seen at the next [`Identity::forget`].
const UNKNOWN: i64 = i64::MAX;

/// The newer of two times, a known one over [`UNKNOWN`].
fn newest(a: i64, b: i64) -> i64 {
    match (a, b) {
        (UNKNOWN, t) | (t, UNKNOWN) => t,
        (a, b) => a.max(b),
    }
}

/// The stored form: ids in arrival order, each one's parent and newest time, so a restored
/// graph numbers its persons as the saved one did and forgets them when it would have.
#[derive(Deserialize)]
struct Stored {
    ids: Vec<String>,
    parent: Vec<PersonId>,
    #[serde(default)]
    last: Vec<i64>,
}

#[derive(Serialize)]
struct StoredRef<'a> {
    ids: Vec<&'a str>,
    parent: &'a [PersonId],
    last: &'a [i64],
}

impl Serialize for Identity {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        StoredRef {
            ids: self.names.iter().map(|id| &**id).collect(),
            parent: &self.parent,
            last: &self.last,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Identity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Identity, D::Error> {
        use serde::de::Error;
        let Stored { ids, parent, last } = Stored::deserialize(d)?;
        let ids: Vec<Arc<str>> = ids.into_iter().map(Arc::from).collect();
        let n = ids.len();
        if parent.len() != n || parent.iter().any(|&p| p as usize >= n) {
            return Err(D::Error::custom("identity: parents do not match the ids"));
        }
        let last = match last.len() {
            0 => vec![UNKNOWN; n],
            l if l == n => last,
            _ => return Err(D::Error::custom("identity: times do not match the ids")),
        };
        let nodes: FastMap<Arc<str>, PersonId> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (Arc::clone(id), i as PersonId))
            .collect();
        if nodes.len() != n {
            return Err(D::Error::custom("identity: an id is listed twice"));
        }
        let graph = Identity {
            nodes,
            names: ids,
            parent,
            last,
        };
        // A root is its own parent and every chain reaches one: no cycles.
        if roots_of(&graph.parent).is_none() {
            return Err(D::Error::custom("identity: a cycle of parents"));
        }
        Ok(graph)
    }
}

impl Identity {
    /// An empty graph.
    pub fn new() -> Identity {
        Identity::default()
    }

    /// Ids known.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no id is known.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Distinct persons.
    pub fn persons(&self) -> usize {
        self.parent
            .iter()
            .enumerate()
            .filter(|&(i, &p)| i as PersonId == p)
            .count()
    }

    /// The person an id belongs to (the id itself when unknown).
    pub fn person(&self, id: &str) -> String {
        match self.nodes.get(id) {
            Some(&node) => self.name(self.find(node)).to_owned(),
            None => id.to_owned(),
        }
    }

    /// The id that names a person (empty for [`NOBODY`]).
    fn name(&self, person: PersonId) -> &str {
        self.names.get(person as usize).map_or("", |name| name)
    }

    /// The name of the person a node now belongs to (empty for [`NOBODY`]).
    pub(crate) fn person_name(&self, node: PersonId) -> &str {
        if (node as usize) < self.parent.len() {
            self.name(self.find(node))
        } else {
            ""
        }
    }

    fn find(&self, mut at: PersonId) -> PersonId {
        while self.parent[at as usize] != at {
            at = self.parent[at as usize];
        }
        at
    }

    /// The root of `id`'s person, adding the id when new; compresses the path.
    fn root(&mut self, id: &str) -> PersonId {
        let node = match self.nodes.get(id) {
            Some(&node) => node,
            None => {
                let node = self.names.len() as PersonId;
                let id: Arc<str> = Arc::from(id);
                self.names.push(Arc::clone(&id));
                self.parent.push(node);
                self.last.push(i64::MIN);
                self.nodes.insert(id, node);
                return node;
            }
        };
        let root = self.find(node);
        let mut at = node;
        while at != root {
            let next = self.parent[at as usize];
            self.parent[at as usize] = root;
            at = next;
        }
        root
    }

    /// Joins two ids' persons; returns `(kept, absorbed)` when they were different.
    fn join(&mut self, a: &str, b: &str) -> Option<(PersonId, PersonId)> {
        let (ra, rb) = (self.root(a), self.root(b));
        self.link(ra, rb)
    }

    /// Joins two persons by their roots; returns `(kept, absorbed)` when they were different.
    fn link(&mut self, ra: PersonId, rb: PersonId) -> Option<(PersonId, PersonId)> {
        if ra == rb {
            return None;
        }
        let (keep, gone) = if self.name(ra) < self.name(rb) {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[gone as usize] = keep;
        self.last[keep as usize] = newest(self.last[keep as usize], self.last[gone as usize]);
        Some((keep, gone))
    }

    /// Joins two ids; returns `(kept, absorbed)` persons when they were different.
    pub fn union(&mut self, a: &str, b: &str) -> Option<(String, String)> {
        self.join(a, b)
            .map(|(keep, gone)| (self.name(keep).to_owned(), self.name(gone).to_owned()))
    }

    /// Adds an event's ids; returns its person ([`NOBODY`] for an event without ids) and the
    /// persons merged into it.
    pub(crate) fn observe(&mut self, event: &Event) -> (PersonId, Vec<PersonId>) {
        let mut ids = event.ids();
        let Some(first) = ids.next() else {
            return (NOBODY, Vec::new());
        };
        // The first id's person, followed through the joins: each id looked up once.
        let mut person = self.root(first);
        let mut merged = Vec::new();
        for other in ids {
            if other == first {
                continue;
            }
            let theirs = self.root(other);
            if let Some((keep, gone)) = self.link(person, theirs) {
                merged.push(gone);
                person = keep;
            }
        }
        let last = &mut self.last[person as usize];
        *last = newest(*last, event.time.timestamp());
        (person, merged)
    }

    /// Adds every edge of `other` and its persons' newest times (for merging partitions'
    /// graphs).
    pub fn absorb(&mut self, other: &Identity) {
        for (id, &parent) in other.names.iter().zip(&other.parent) {
            self.join(id, &other.names[parent as usize]);
        }
        let roots = roots_of(&other.parent).unwrap_or_default();
        for (id, &root) in other.names.iter().zip(&roots) {
            let theirs = other.last[root as usize];
            let ours = self.root(id) as usize;
            self.last[ours] = newest(self.last[ours], theirs);
        }
    }

    /// Forgets every person (all their ids) whose newest event is more than `retention`
    /// before `now` (Unix seconds), but those `keep` names (by root), and numbers the rest
    /// anew in their order; a person whose newest time is unknown is taken as seen `now`.
    /// Returns the new number of each old node ([`NOBODY`] for a forgotten one), or `None`
    /// when nobody was forgotten and nothing moved.
    pub(crate) fn forget(
        &mut self,
        now: i64,
        retention: i64,
        keep: impl Fn(PersonId) -> bool,
    ) -> Option<Vec<PersonId>> {
        let n = self.parent.len();
        let roots = roots_of(&self.parent)?;
        for (r, last) in self.last.iter_mut().enumerate() {
            if *last == UNKNOWN && roots[r] == r as PersonId {
                *last = now;
            }
        }
        let before = now.saturating_sub(retention);
        let kept: Vec<bool> = (0..n)
            .map(|r| {
                roots[r] != r as PersonId || {
                    let last = self.last[r];
                    last >= before || keep(r as PersonId)
                }
            })
            .collect();
        // A person is kept or forgotten whole: by its root's verdict.
        let kept: Vec<bool> = roots.iter().map(|&r| kept[r as usize]).collect();
        if kept.iter().all(|&k| k) {
            return None;
        }
        let mut remap = vec![NOBODY; n];
        let survivors = remap.iter_mut().zip(&kept).filter(|(_, k)| **k);
        for (new, (slot, _)) in (0..).zip(survivors) {
            *slot = new;
        }
        retain_marked(&mut self.names, &kept);
        retain_marked(&mut self.last, &kept);
        self.parent = (0..n)
            .filter(|&i| kept[i])
            .map(|i| remap[roots[i] as usize])
            .collect();
        self.nodes.retain(|_, node| {
            *node = remap[*node as usize];
            *node != NOBODY
        });
        Some(remap)
    }
}

/// Each node's root in one pass — a chain is walked once however many nodes hang from it
/// (logins naming ever smaller ids leave chains as long as the logins) — or `None` when
/// the parents hold a cycle. Parents must be in range.
fn roots_of(parent: &[PersonId]) -> Option<Vec<PersonId>> {
    const UNSEEN: PersonId = PersonId::MAX;
    const ON_PATH: PersonId = PersonId::MAX - 1;
    let mut roots = vec![UNSEEN; parent.len()];
    let mut path = Vec::new();
    for start in 0..parent.len() {
        let mut at = start;
        while roots[at] == UNSEEN {
            let up = parent[at] as usize;
            if up == at {
                roots[at] = at as PersonId;
                break;
            }
            roots[at] = ON_PATH;
            path.push(at);
            at = up;
        }
        let root = roots[at];
        if root == ON_PATH {
            return None;
        }
        for node in path.drain(..) {
            roots[node] = root;
        }
    }
    Some(roots)
}

/// Keeps `v[i]` where `kept[i]`, in order.
fn retain_marked<T>(v: &mut Vec<T>, kept: &[bool]) {
    let mut marks = kept.iter();
    v.retain(|_| marks.next().copied().unwrap_or(false));
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

    #[test]
    fn forgetting_drops_whole_silent_persons_and_keeps_the_rest_as_they_were() {
        let line = |ids: &str, t: &str| {
            crate::analytics::event(&format!(
                r#"{{"type":"identify",{ids},"timestamp":"2026-01-0{t}T00:00:00Z"}}"#
            ))
        };
        let mut g = Identity::new();
        g.observe(&line(r#""anonymousId":"a1","userId":"u1""#, "1"));
        g.observe(&line(r#""anonymousId":"a2""#, "1"));
        g.observe(&line(r#""anonymousId":"a3","userId":"u3""#, "1"));
        g.observe(&line(r#""anonymousId":"a4""#, "1"));
        g.observe(&line(r#""anonymousId":"b1","userId":"u1""#, "5"));
        let day = |d: i64| 1_767_225_600 + (d - 1) * 86_400;
        let a4 = g.nodes["a4"];
        let saved = serde_json::to_value(&g).unwrap();
        // A partition's graph merged into an empty one carries its persons' times along.
        let mut merged = Identity::new();
        merged.absorb(&g);
        let merged_a4 = merged.nodes["a4"];
        merged.forget(day(3), 0, |p| p == merged_a4).unwrap();
        // Before day 3: a2 and a3/u3 are silent; a4 too, but kept (say, a visit is open).
        let remap = g.forget(day(3), 0, |p| p == a4).unwrap();
        assert_eq!(g.len(), 4);
        assert_eq!(g.persons(), 2);
        assert_eq!(g.person("b1"), "a1");
        assert_eq!(g.person("u1"), "a1");
        assert_eq!(g.person("a4"), "a4");
        assert_eq!(g.nodes["a4"], remap[a4 as usize]);
        assert_eq!(g.person("u3"), "u3", "forgotten: unknown again");
        assert_eq!(remap.iter().filter(|&&n| n == NOBODY).count(), 3);
        for id in ["a1", "a2", "a3", "a4", "b1", "u1", "u3"] {
            assert_eq!(merged.person(id), g.person(id), "{id}");
        }
        assert_eq!(merged.len(), g.len());
        let a4 = g.nodes["a4"];
        assert_eq!(g.forget(day(3), 0, |p| p == a4), None, "nothing more");
        // Stored and read back with the times; a graph stored without them keeps everyone
        // for the retention from the first sweep.
        let back: Identity = serde_json::from_value(serde_json::to_value(&g).unwrap()).unwrap();
        assert_eq!(back, g);
        let mut old = saved;
        old.as_object_mut().unwrap().remove("last");
        let mut old: Identity = serde_json::from_value(old).unwrap();
        const DAY: i64 = 86_400;
        assert_eq!(old.forget(day(30), DAY, |_| false), None);
        assert_eq!(old.forget(day(31), DAY, |_| false), None);
        assert!(old.forget(day(32), DAY, |_| false).is_some());
        assert_eq!(old.nodes.len(), 0, "none kept for ever");
    }

    #[test]
    fn roots_are_found_in_one_pass_and_cycles_refused() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut g = Identity::new();
        for _ in 0..3_000 {
            let (a, b) = (rng.gen_range(0..2_000), rng.gen_range(0..2_000));
            g.union(&format!("i{a}"), &format!("i{b}"));
        }
        let found: Vec<PersonId> = (0..g.len() as PersonId).map(|i| g.find(i)).collect();
        assert_eq!(roots_of(&g.parent), Some(found));
        assert_eq!(roots_of(&[1, 2, 0]), None);
        assert_eq!(roots_of(&[0, 2, 1]), None);
        // 100,000 logins of one visitor, each naming a smaller user id: a chain that long,
        // which walking it from every node would take 5·10⁹ steps to resolve.
        let mut chain = Identity::new();
        for i in (0..100_000).rev() {
            chain.union("visitor", &format!("u{i:06}"));
        }
        let depth = (0..)
            .scan(chain.nodes["u099999"], |at, _| {
                let up = chain.parent[*at as usize];
                (up != *at).then(|| *at = up)
            })
            .count();
        assert!(depth > 90_000, "a chain of {depth}");
        let back: Identity = serde_json::from_value(serde_json::to_value(&chain).unwrap()).unwrap();
        assert_eq!(back.persons(), 1);
        let mut chain = back;
        assert!(chain.forget(i64::MIN + 1, 0, |_| false).is_some());
        assert!(chain.is_empty());
    }
}
