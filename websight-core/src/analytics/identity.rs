//! Identity stitching: which ids are one person.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::event::Event;
use crate::hash::FastMap;

/// A person: the node of the id that names them (stable while the graph only grows, until a
/// merge or an earlier event renames them).
pub(crate) type PersonId = u32;

/// The person of events that carry no id.
pub(crate) const NOBODY: PersonId = PersonId::MAX;

/// A union-find over ids (user ids, anonymous ids, alias ids). Ids seen on one event belong
/// to one person: `identify` ties the anonymous id to the user id, `alias` the previous id to
/// the user id, and any event carrying both does the same.
///
/// A person is named by the id seen first (the earliest event time carrying it; ties, and
/// ids only ever [`union`](Identity::union)ed, by the smaller id). A visitor's anonymous id
/// is seen before the login that links their user id, so the visits they closed before
/// logging in and those after carry one name. The name depends on event times, not on
/// arrival order, and only an id seen earlier than the name (a second device, linked late)
/// renames a person.
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
    /// Per node: the earliest event time of its id ([`NEVER`] for an id only linked by
    /// [`Identity::union`], [`BEFORE_ALL`] for one restored from a checkpoint without times).
    first: Vec<i64>,
}

/// The first time of an id never seen on an event: after every seen one.
const NEVER: i64 = i64::MAX;

/// The first time of ids restored from a checkpoint written before first times were kept:
/// before every event, so the persons keep the names they had (their smallest ids).
const BEFORE_ALL: i64 = i64::MIN;

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

/// The stored form: ids in arrival order, each one's parent, newest and first time, so a
/// restored graph numbers and names its persons as the saved one did and forgets them when
/// it would have.
#[derive(Deserialize)]
struct Stored {
    ids: Vec<String>,
    parent: Vec<PersonId>,
    #[serde(default)]
    last: Vec<i64>,
    #[serde(default)]
    first: Vec<i64>,
}

#[derive(Serialize)]
struct StoredRef<'a> {
    ids: Vec<&'a str>,
    parent: &'a [PersonId],
    last: &'a [i64],
    first: &'a [i64],
}

impl Serialize for Identity {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        StoredRef {
            ids: self.names.iter().map(|id| &**id).collect(),
            parent: &self.parent,
            last: &self.last,
            first: &self.first,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Identity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Identity, D::Error> {
        use serde::de::Error;
        let Stored {
            ids,
            parent,
            last,
            first,
        } = Stored::deserialize(d)?;
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
        let first = match first.len() {
            0 => vec![BEFORE_ALL; n],
            l if l == n => first,
            _ => {
                return Err(D::Error::custom(
                    "identity: first times do not match the ids",
                ));
            }
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
            first,
        };
        // A root is its own parent and every chain reaches one: no cycles; and a root names
        // its person, so a later merge or rename keeps the name every restart would.
        let Some(roots) = roots_of(&graph.parent) else {
            return Err(D::Error::custom("identity: a cycle of parents"));
        };
        let named = (0..n).all(|i| graph.rank(roots[i]) <= graph.rank(i as PersonId));
        if !named {
            return Err(D::Error::custom(
                "identity: a person is not named by their first seen id",
            ));
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
        self.known(id).unwrap_or(id).to_owned()
    }

    /// The name of the person an id belongs to, when the id is known.
    pub fn known(&self, id: &str) -> Option<&str> {
        self.nodes.get(id).map(|&node| self.name(self.find(node)))
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

    /// What orders a person's ids for naming: the first seen, then the smaller.
    fn rank(&self, node: PersonId) -> (i64, &str) {
        (self.first[node as usize], &self.names[node as usize])
    }

    /// `id`'s node and its person's root, adding the id when new; compresses the path.
    fn locate(&mut self, id: &str) -> (PersonId, PersonId) {
        let node = match self.nodes.get(id) {
            Some(&node) => node,
            None => {
                let node = self.names.len() as PersonId;
                let id: Arc<str> = Arc::from(id);
                self.names.push(Arc::clone(&id));
                self.parent.push(node);
                self.last.push(i64::MIN);
                self.first.push(NEVER);
                self.nodes.insert(id, node);
                return (node, node);
            }
        };
        let root = self.find(node);
        let mut at = node;
        while at != root {
            let next = self.parent[at as usize];
            self.parent[at as usize] = root;
            at = next;
        }
        (node, root)
    }

    /// The root of `id`'s person, adding the id when new.
    fn root(&mut self, id: &str) -> PersonId {
        self.locate(id).1
    }

    /// Notes `id` seen at `time` (Unix seconds); returns its person's root, and the root it
    /// took over from when the id, now seen earlier than the name, names its person.
    fn seen(&mut self, id: &str, time: i64) -> (PersonId, Option<PersonId>) {
        let (node, root) = self.locate(id);
        let first = &mut self.first[node as usize];
        if time >= *first {
            return (root, None);
        }
        *first = time;
        if node == root || self.rank(root) < self.rank(node) {
            return (root, None);
        }
        // The path was compressed: the node hangs from the root, and swapping them leaves
        // every other node's chain ending at the node.
        self.parent[node as usize] = node;
        self.parent[root as usize] = node;
        self.last[node as usize] = self.last[root as usize];
        (node, Some(root))
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
        let (keep, gone) = if self.rank(ra) < self.rank(rb) {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[gone as usize] = keep;
        self.last[keep as usize] = newest(self.last[keep as usize], self.last[gone as usize]);
        Some((keep, gone))
    }

    /// Joins two ids (their times unknown: an id never seen on an event names a person only
    /// when none of its ids was); returns `(kept, absorbed)` persons when they were different.
    pub fn union(&mut self, a: &str, b: &str) -> Option<(String, String)> {
        self.join(a, b)
            .map(|(keep, gone)| (self.name(keep).to_owned(), self.name(gone).to_owned()))
    }

    /// Adds an event's ids; returns its person ([`NOBODY`] for an event without ids) and the
    /// persons merged into it (a root renamed counts as merged into its new root).
    pub(crate) fn observe(&mut self, event: &Event) -> (PersonId, Vec<PersonId>) {
        let time = event.time.timestamp();
        let mut person = NOBODY;
        let mut merged = Vec::new();
        // Each id's person joined to the ones before, followed through the joins and
        // renames: each id looked up once.
        for id in event.ids() {
            let (theirs, renamed) = self.seen(id, time);
            if let Some(old) = renamed {
                merged.push(old);
                if person == old {
                    person = theirs;
                }
            }
            if person == NOBODY {
                person = theirs;
            } else if let Some((keep, gone)) = self.link(person, theirs) {
                merged.push(gone);
                person = keep;
            }
        }
        if person != NOBODY {
            let last = &mut self.last[person as usize];
            *last = newest(*last, time);
        }
        (person, merged)
    }

    /// Notes `id` seen on an event at `time` (Unix seconds): the earliest such time of a
    /// person's ids picks their name.
    pub fn see(&mut self, id: &str, time: i64) {
        self.seen(id, time);
    }

    /// Adds every edge of `other`, its ids' first times and its persons' newest times (for
    /// merging partitions' graphs).
    pub fn absorb(&mut self, other: &Identity) {
        for (id, &first) in other.names.iter().zip(&other.first) {
            self.seen(id, first);
        }
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
        retain_marked(&mut self.first, &kept);
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

    /// An event at `minute` past midnight, 1 January 2026, carrying `ids` (JSON members).
    fn at(minute: u32, ids: &str) -> Event {
        crate::analytics::event(&format!(
            r#"{{"type":"track","event":"x",{ids},"timestamp":"2026-01-01T{:02}:{:02}:00Z"}}"#,
            minute / 60,
            minute % 60
        ))
    }

    #[test]
    fn a_person_keeps_the_name_of_the_id_seen_first() {
        let mut g = Identity::new();
        // Anonymous first, then the login: the user id sorts first but was seen later.
        let (a, _) = g.observe(&at(10, r#""anonymousId":"z-anon""#));
        assert_eq!(g.person_name(a), "z-anon");
        let (p, merged) = g.observe(&at(50, r#""anonymousId":"z-anon","userId":"a-user""#));
        assert_eq!(
            (p, merged),
            (a, vec![g.nodes["a-user"]]),
            "the new id joins"
        );
        assert_eq!(g.person("a-user"), "z-anon");
        // A second device, seen before either: linked later, it names the person, and the
        // old root is reported merged into the new one.
        g.observe(&at(70, r#""anonymousId":"m-phone""#));
        let phone = g.nodes["m-phone"];
        g.observe(&at(90, r#""anonymousId":"m-phone","userId":"a-user""#));
        assert_eq!(g.person("a-user"), "z-anon", "the phone was seen after");
        g.observe(&at(5, r#""anonymousId":"b-early""#));
        let (p, merged) = g.observe(&at(95, r#""anonymousId":"b-early","userId":"a-user""#));
        assert_eq!(g.person("m-phone"), "b-early");
        assert_eq!((g.person_name(p), merged.len()), ("b-early", 1));
        // A late event of a non-root id earlier than the name renames the person; at the
        // same time, the smaller id names them.
        let (p, merged) = g.observe(&at(5, r#""anonymousId":"m-phone""#));
        assert_eq!(g.person("z-anon"), "b-early", "a tie: the smaller id");
        assert_eq!((p, merged), (g.nodes["b-early"], vec![]));
        let (p, merged) = g.observe(&at(2, r#""anonymousId":"m-phone""#));
        assert_eq!(g.person("z-anon"), "m-phone");
        assert_eq!((p, merged), (phone, vec![g.nodes["b-early"]]));
        // Ids only unioned (no time) rank after every seen one.
        g.union("0-untimed", "z-anon");
        assert_eq!(g.person("0-untimed"), "m-phone");
    }

    #[test]
    fn names_do_not_depend_on_arrival_order_nor_partitions() {
        use rand::seq::SliceRandom;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let events: Vec<Event> = (0..400)
            .map(|_| {
                let (a, u) = (rng.gen_range(0..150), rng.gen_range(0..60));
                let ids = match rng.gen_range(0..3) {
                    0 => format!(r#""anonymousId":"a{a}""#),
                    1 => format!(r#""userId":"u{u}""#),
                    _ => format!(r#""anonymousId":"a{a}","userId":"u{u}""#),
                };
                at(rng.gen_range(0..1_440), &ids)
            })
            .collect();
        let names = |g: &Identity| -> Vec<(String, String)> {
            let mut names: Vec<_> = g
                .nodes
                .keys()
                .map(|id| (id.to_string(), g.person(id)))
                .collect();
            names.sort();
            names
        };
        let mut whole = Identity::new();
        events.iter().for_each(|e| drop(whole.observe(e)));
        let want = names(&whole);
        // The name is the linked set's earliest id (ties: the smallest).
        let first = |id: &str| {
            let t = events
                .iter()
                .filter(|e| e.ids().any(|i| i == id))
                .map(|e| e.time)
                .min();
            (t.unwrap(), id.to_owned())
        };
        for (id, name) in &want {
            let set: Vec<&String> = want
                .iter()
                .filter(|(_, n)| n == name)
                .map(|(i, _)| i)
                .collect();
            assert!(
                set.iter().all(|other| first(name) <= first(other)),
                "{id}: {name}"
            );
        }
        for seed in 0..5 {
            let mut shuffled = events.clone();
            shuffled.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
            let mut one = Identity::new();
            shuffled.iter().for_each(|e| drop(one.observe(e)));
            assert_eq!(names(&one), want, "order {seed}");
            // Three partitions' graphs merged, in either order.
            let mut parts = [Identity::new(), Identity::new(), Identity::new()];
            for (i, e) in shuffled.iter().enumerate() {
                parts[i % 3].observe(e);
            }
            let mut merged = Identity::new();
            for part in parts.iter().rev() {
                merged.absorb(part);
            }
            assert_eq!(names(&merged), want, "partitions {seed}");
            let back: Identity =
                serde_json::from_value(serde_json::to_value(&one).unwrap()).unwrap();
            assert_eq!(back, one);
        }
    }

    #[test]
    fn graphs_stored_without_first_times_keep_their_names_and_misnamed_ones_are_refused() {
        let mut g = Identity::new();
        g.observe(&at(9, r#""anonymousId":"z""#));
        g.observe(&at(10, r#""anonymousId":"z","userId":"b""#));
        let mut stored = serde_json::to_value(&g).unwrap();
        assert_eq!(g.person("b"), "z");
        // Written before first times were kept, a person was named by the smallest id.
        stored["parent"] = serde_json::json!([1, 1]);
        let mut with_times = stored.clone();
        stored.as_object_mut().unwrap().remove("first");
        let mut old: Identity = serde_json::from_value(stored).unwrap();
        assert_eq!(old.person("z"), "b");
        old.observe(&at(0, r#""anonymousId":"a-new","userId":"b""#));
        assert_eq!(old.person("a-new"), "b", "restored names stand");
        // With times, a root that is not the first seen is a damaged graph.
        let refused = serde_json::from_value::<Identity>(with_times.take()).unwrap_err();
        assert!(refused.to_string().contains("first seen"), "{refused}");
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
