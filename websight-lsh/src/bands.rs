//! One band's hash table: a flat open-addressing table of chain heads plus a `next` link per
//! slot, so a lookup costs about one cache miss and an insert is O(1).
//!
//! Entries are keyed by the upper 32 bits of the band digest (the lower bits pick the home
//! position). Different band values may share a chain; callers re-check band equality
//! exactly, so this only costs a comparison, never a wrong answer.

const NONE: u32 = u32::MAX;
const GONE: u32 = u32::MAX - 1;
/// Top bit of a head's tag: set when the chain has more than one slot, so a lookup of a
/// one-slot bucket (the common case) never touches `next`.
const MORE: u32 = 1 << 31;

#[derive(Debug, Clone, Copy)]
struct Head {
    tag: u32,
    slot: u32,
}

impl Head {
    fn key(self) -> u32 {
        self.tag & !MORE
    }
}

const EMPTY: Head = Head { tag: 0, slot: NONE };

#[derive(Debug, Clone)]
pub(crate) struct BandTable {
    heads: Vec<Head>,
    /// Per slot, the next slot of its chain.
    next: Vec<u32>,
    /// Head entries in use, tombstones included.
    occupied: usize,
}

fn split(digest: u64) -> (usize, u32) {
    (digest as usize, (digest >> 32) as u32 & !MORE)
}

impl BandTable {
    pub fn with_capacity(slots: usize) -> Self {
        let capacity = (slots * 2).max(8).next_power_of_two();
        BandTable {
            heads: vec![EMPTY; capacity],
            next: Vec::with_capacity(slots),
            occupied: 0,
        }
    }

    fn mask(&self) -> usize {
        self.heads.len() - 1
    }

    /// Adds `slot` under `digest`; `digest_of` recomputes a held slot's digest when the table
    /// grows.
    pub fn insert(&mut self, digest: u64, slot: u32, digest_of: &impl Fn(u32) -> u64) {
        if self.next.len() <= slot as usize {
            self.next.resize(slot as usize + 1, NONE);
        }
        if (self.occupied + 1) * 3 > self.heads.len() * 2 {
            self.grow(digest_of);
        }
        self.link(digest, slot, slot);
    }

    /// Puts the chain `first ..= last` (already linked) in front of the bucket for `digest`.
    fn link(&mut self, digest: u64, first: u32, last: u32) {
        let (home, tag) = split(digest);
        let mask = self.mask();
        let mut i = home & mask;
        let mut free = None;
        loop {
            let head = self.heads[i];
            match head.slot {
                NONE => break,
                GONE => {
                    free.get_or_insert(i);
                }
                existing if head.key() == tag => {
                    self.next[last as usize] = existing;
                    self.heads[i] = Head {
                        tag: tag | MORE,
                        slot: first,
                    };
                    return;
                }
                _ => {}
            }
            i = (i + 1) & mask;
        }
        let more = if first == last { 0 } else { MORE };
        self.next[last as usize] = NONE;
        let at = free.unwrap_or_else(|| {
            self.occupied += 1;
            i
        });
        self.heads[at] = Head {
            tag: tag | more,
            slot: first,
        };
    }

    fn grow(&mut self, digest_of: &impl Fn(u32) -> u64) {
        let doubled = vec![EMPTY; self.heads.len() * 2];
        let old = std::mem::replace(&mut self.heads, doubled);
        self.occupied = 0;
        for head in old.into_iter().filter(|h| h.slot < GONE) {
            let mut last = head.slot;
            while self.next[last as usize] != NONE {
                last = self.next[last as usize];
            }
            self.link(digest_of(head.slot), head.slot, last);
        }
    }

    /// Loads the home position of `digest` so that a later [`BandTable::for_each`] finds it
    /// in cache: issuing every band's load first lets the memory system fetch them in parallel.
    pub fn prefetch(&self, digest: u64) {
        std::hint::black_box(self.heads[split(digest).0 & self.mask()].slot);
    }

    /// Calls `f` with every slot whose chain is filed under `digest` (a superset of the slots
    /// with equal band values).
    pub fn for_each(&self, digest: u64, mut f: impl FnMut(u32)) {
        let (home, tag) = split(digest);
        let mask = self.mask();
        let mut i = home & mask;
        loop {
            let head = self.heads[i];
            if head.slot == NONE {
                return;
            }
            if head.slot != GONE && head.key() == tag {
                f(head.slot);
                if head.tag & MORE != 0 {
                    let mut slot = self.next[head.slot as usize];
                    while slot != NONE {
                        f(slot);
                        slot = self.next[slot as usize];
                    }
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Unlinks `slot` filed under `digest`; returns whether it was found.
    pub fn remove(&mut self, digest: u64, slot: u32) -> bool {
        let (home, tag) = split(digest);
        let mask = self.mask();
        let mut i = home & mask;
        while self.heads[i].slot != NONE {
            let head = self.heads[i];
            if head.slot != GONE && head.key() == tag {
                if head.slot == slot {
                    let rest = self.next[slot as usize];
                    self.heads[i] = match rest {
                        NONE => Head { tag, slot: GONE },
                        _ if self.next[rest as usize] == NONE => Head { tag, slot: rest },
                        _ => Head {
                            tag: tag | MORE,
                            slot: rest,
                        },
                    };
                    return true;
                }
                let mut prev = head.slot;
                while self.next[prev as usize] != NONE {
                    let cur = self.next[prev as usize];
                    if cur == slot {
                        self.next[prev as usize] = self.next[cur as usize];
                        if self.next[head.slot as usize] == NONE {
                            self.heads[i].tag = tag;
                        }
                        return true;
                    }
                    prev = cur;
                }
            }
            i = (i + 1) & mask;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_survive_growth_collisions_and_removal() {
        // Digests with few distinct values force long chains and shared tags.
        let digest_of = |slot: u32| u64::from(slot % 7) | (u64::from(slot % 3) << 32);
        let mut table = BandTable::with_capacity(2);
        for slot in 0..500 {
            table.insert(digest_of(slot), slot, &digest_of);
        }
        let collect = |table: &BandTable, d: u64| {
            let mut v = Vec::new();
            table.for_each(d, |s| v.push(s));
            v.sort_unstable();
            v
        };
        for slot in [0, 1, 2, 250, 499] {
            let found = collect(&table, digest_of(slot));
            assert!(found.contains(&slot));
            assert!(
                found
                    .iter()
                    .all(|&s| digest_of(s) >> 32 == digest_of(slot) >> 32)
            );
        }
        assert!(table.remove(digest_of(250), 250));
        assert!(!table.remove(digest_of(250), 250));
        assert!(!collect(&table, digest_of(250)).contains(&250));
        for slot in (0..500).filter(|s| s % 7 == 3) {
            assert!(table.remove(digest_of(slot), slot) || slot == 250);
        }
        assert!(collect(&table, digest_of(3)).iter().all(|s| s % 7 != 3));
    }
}
