//! [`SmallMap`]: an ordered map that is a sorted vector while it is small and a B-tree once it
//! grows. A service's servers (and the spans of their declarations) are such maps: most
//! services have a handful of servers, and a B-tree's first node holds room for eleven entries
//! whatever it holds, so a table of 100,000 services of one server each spent about 1.1 KB a
//! service on empty slots (BENCHMARKS.md). Past [`SMALL`] entries the map becomes a B-tree, so
//! that a service of a million servers inserted in any order stays O(log n) an insert.

use std::borrow::Borrow;
use std::collections::btree_map;
use std::collections::BTreeMap;
use std::fmt;

/// Entries kept in a sorted vector at most; one more and the map is a B-tree.
pub const SMALL: usize = 32;

/// An ordered map: sorted vector up to [`SMALL`] entries, B-tree beyond. Iterates in key order
/// either way; two maps with the same entries are equal whatever their form.
#[derive(Clone)]
pub struct SmallMap<K, V>(Repr<K, V>);

#[derive(Clone)]
enum Repr<K, V> {
    Small(Vec<(K, V)>),
    Large(BTreeMap<K, V>),
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap(Repr::Small(Vec::new()))
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` entries without growing, when they fit in a vector.
    pub fn with_capacity(n: usize) -> Self {
        if n <= SMALL {
            SmallMap(Repr::Small(Vec::with_capacity(n)))
        } else {
            Self::default()
        }
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Small(v) => v.len(),
            Repr::Large(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where `key` is in the vector, or where it would go.
    fn find<Q: Ord + ?Sized>(v: &[(K, V)], key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        v.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        match &self.0 {
            Repr::Small(v) => Self::find(v, key).ok().map(|i| &v[i].1),
            Repr::Large(m) => m.get(key),
        }
    }

    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        match &mut self.0 {
            Repr::Small(v) => Self::find(v, key).ok().map(|i| &mut v[i].1),
            Repr::Large(m) => m.get_mut(key),
        }
    }

    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.get(key).is_some()
    }

    /// Inserts or replaces; gives the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match &mut self.0 {
            Repr::Large(m) => m.insert(key, value),
            Repr::Small(v) => {
                // In key order (a file's, the kernel's), each insert is a push.
                let at = match v.last() {
                    Some((last, _)) if *last < key => Err(v.len()),
                    None => Err(0),
                    _ => Self::find(v, &key),
                };
                match at {
                    Ok(i) => Some(std::mem::replace(&mut v[i].1, value)),
                    Err(_) if v.len() == SMALL => {
                        let mut m: BTreeMap<K, V> = std::mem::take(v).into_iter().collect();
                        m.insert(key, value);
                        self.0 = Repr::Large(m);
                        None
                    }
                    Err(i) => {
                        if v.len() == v.capacity() {
                            // By half, not double: ten servers fit in twelve slots, not sixteen.
                            v.reserve_exact((v.len() / 2).clamp(4, SMALL - v.len()));
                        }
                        v.insert(i, (key, value));
                        None
                    }
                }
            }
        }
    }

    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        match &mut self.0 {
            Repr::Small(v) => Self::find(v, key).ok().map(|i| v.remove(i).1),
            Repr::Large(m) => m.remove(key),
        }
    }

    /// Keeps the entries `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        match &mut self.0 {
            Repr::Small(v) => v.retain_mut(|(k, val)| keep(k, val)),
            Repr::Large(m) => m.retain(|k, val| keep(k, val)),
        }
    }

    /// The same map without spare room: a vector of exactly its entries (a new one, for the
    /// reason [`FromIterator`] gives), a B-tree built again from its sorted entries (full
    /// nodes, where insertions in any order leave them about half full). What a table's maps
    /// become once the table is complete; a vector already without spare room is kept as it is.
    pub fn compacted(self) -> Self {
        match self.0 {
            Repr::Small(v) if v.len() == v.capacity() => SmallMap(Repr::Small(v)),
            Repr::Small(v) => {
                let mut out = Vec::with_capacity(v.len());
                out.extend(v);
                SmallMap(Repr::Small(out))
            }
            Repr::Large(m) => SmallMap(Repr::Large(m.into_iter().collect())),
        }
    }

    pub fn clear(&mut self) {
        self.0 = Repr::Small(Vec::new());
    }

    pub fn iter(&self) -> Iter<'_, K, V> {
        match &self.0 {
            Repr::Small(v) => Iter::Small(v.iter()),
            Repr::Large(m) => Iter::Large(m.iter()),
        }
    }

    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        match &mut self.0 {
            Repr::Small(v) => IterMut::Small(v.iter_mut()),
            Repr::Large(m) => IterMut::Large(m.iter_mut()),
        }
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone {
        self.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.iter_mut().map(|(_, v)| v)
    }
}

/// Iterates a [`SmallMap`] in key order.
pub enum Iter<'a, K, V> {
    Small(std::slice::Iter<'a, (K, V)>),
    Large(btree_map::Iter<'a, K, V>),
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Small(i) => i.next().map(|(k, v)| (k, v)),
            Iter::Large(i) => i.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Small(i) => i.size_hint(),
            Iter::Large(i) => i.size_hint(),
        }
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Small(i) => i.next_back().map(|(k, v)| (k, v)),
            Iter::Large(i) => i.next_back(),
        }
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        match self {
            Iter::Small(i) => Iter::Small(i.clone()),
            Iter::Large(i) => Iter::Large(i.clone()),
        }
    }
}

/// Iterates a [`SmallMap`] in key order, its values mutable.
pub enum IterMut<'a, K, V> {
    Small(std::slice::IterMut<'a, (K, V)>),
    Large(btree_map::IterMut<'a, K, V>),
}

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            IterMut::Small(i) => i.next().map(|(k, v)| (&*k, v)),
            IterMut::Large(i) => i.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            IterMut::Small(i) => i.size_hint(),
            IterMut::Large(i) => i.size_hint(),
        }
    }
}

impl<K, V> DoubleEndedIterator for IterMut<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            IterMut::Small(i) => i.next_back().map(|(k, v)| (&*k, v)),
            IterMut::Large(i) => i.next_back(),
        }
    }
}

impl<K, V> ExactSizeIterator for IterMut<'_, K, V> {}

impl<'a, K: Ord, V> IntoIterator for &'a SmallMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

/// Takes a [`SmallMap`] apart in key order.
pub enum IntoIter<K, V> {
    Small(std::vec::IntoIter<(K, V)>),
    Large(btree_map::IntoIter<K, V>),
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        match self {
            IntoIter::Small(i) => i.next(),
            IntoIter::Large(i) => i.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            IntoIter::Small(i) => i.size_hint(),
            IntoIter::Large(i) => i.size_hint(),
        }
    }
}

impl<K, V> IntoIterator for SmallMap<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    fn into_iter(self) -> IntoIter<K, V> {
        match self.0 {
            Repr::Small(v) => IntoIter::Small(v.into_iter()),
            Repr::Large(m) => IntoIter::Large(m.into_iter()),
        }
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for SmallMap<K, V> {
    type Output = V;

    /// Panics when `key` is not in the map, as a `BTreeMap` does.
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry found for key")
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SmallMap<K, V> {
    /// Built in one pass, fitted to its entries; of equal keys the last stays (as inserts
    /// would leave it).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut v: Vec<(K, V)> = iter.into_iter().collect();
        if v.len() > SMALL {
            return SmallMap(Repr::Large(v.into_iter().collect()));
        }
        // Stable: equal keys keep their order, and the last of them is kept.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        // A new vector of the exact size, not the one collected shrunk in place: at 100,000
        // services of one server, shrinking in place left 30 MB more behind (freed tails the
        // allocator could not give to anything bigger).
        let mut out: Vec<(K, V)> = Vec::with_capacity(v.len());
        for (k, val) in v {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = val,
                _ => out.push((k, val)),
            }
        }
        SmallMap(Repr::Small(out))
    }
}

impl<K: Ord, V: PartialEq> PartialEq for SmallMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<K: Ord, V: Eq> Eq for SmallMap<K, V> {}

impl<K: Ord + fmt::Debug, V: fmt::Debug> fmt::Debug for SmallMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 0..n in a scrambled order (7919 is prime: a permutation when it does not divide n).
    fn shuffled(n: u32) -> Vec<u32> {
        (0..n).map(|i| i * 7919 % n).collect()
    }

    /// Every operation agrees with a BTreeMap doing the same, across the change of form.
    #[test]
    fn behaves_as_a_btree_map_small_and_large() {
        for n in [
            0u32,
            1,
            5,
            SMALL as u32 - 1,
            SMALL as u32,
            SMALL as u32 + 1,
            500,
        ] {
            let mut keys: Vec<u32> = (0..n).collect();
            // Descending, then interleaved: inserts not in key order.
            keys.reverse();
            keys.rotate_left((n / 3) as usize);
            let mut ours = SmallMap::new();
            let mut theirs = BTreeMap::new();
            for &k in &keys {
                assert_eq!(ours.insert(k, k * 2), theirs.insert(k, k * 2));
            }
            // Replacing gives the old value back.
            for &k in keys.iter().step_by(3) {
                assert_eq!(ours.insert(k, k + 1), theirs.insert(k, k + 1));
            }
            assert_eq!(ours.len(), theirs.len());
            assert!(ours.iter().eq(theirs.iter()), "n = {n}");
            assert!(ours.iter().rev().eq(theirs.iter().rev()), "n = {n}");
            for k in 0..n + 2 {
                assert_eq!(ours.get(&k), theirs.get(&k));
                assert_eq!(ours.contains_key(&k), theirs.contains_key(&k));
            }
            for v in ours.values_mut() {
                *v += 1;
            }
            for v in theirs.values_mut() {
                *v += 1;
            }
            for &k in keys.iter().step_by(2) {
                assert_eq!(ours.remove(&k), theirs.remove(&k));
                assert_eq!(ours.remove(&k), None);
            }
            ours.retain(|k, _| k % 5 != 1);
            theirs.retain(|k, _| k % 5 != 1);
            assert!(ours.keys().eq(theirs.keys()));
            assert!(ours.values().eq(theirs.values()));
            assert_eq!(ours.len(), theirs.len());
            assert_eq!(ours.is_empty(), theirs.is_empty());
        }
    }

    #[test]
    fn small_maps_are_vectors_and_large_ones_trees() {
        let small: SmallMap<u32, u32> = (0..SMALL as u32).map(|k| (k, k)).collect();
        assert!(matches!(small.0, Repr::Small(ref v) if v.capacity() == SMALL));
        let mut grown = small.clone();
        grown.insert(SMALL as u32, 0);
        assert!(matches!(grown.0, Repr::Large(_)));
        let large: SmallMap<u32, u32> = (0..=SMALL as u32).map(|k| (k, k)).collect();
        assert!(matches!(large.0, Repr::Large(_)));
        // Equal whatever the form.
        let mut small_again = grown.clone();
        small_again.remove(&(SMALL as u32));
        assert_eq!(small_again, small);
        assert_eq!(
            grown,
            large
                .iter()
                .map(|(k, _)| (*k, if *k == SMALL as u32 { 0 } else { *k }))
                .collect()
        );
    }

    #[test]
    fn compacting_keeps_the_entries_and_drops_the_spare_room() {
        for n in [0, 1, 5, SMALL as u32, SMALL as u32 + 1, 500] {
            let mut m = SmallMap::new();
            for k in shuffled(n) {
                m.insert(k, k * 2);
            }
            let before: Vec<(u32, u32)> = m.iter().map(|(k, v)| (*k, *v)).collect();
            let m = m.compacted();
            let after: Vec<(u32, u32)> = m.iter().map(|(k, v)| (*k, *v)).collect();
            assert_eq!(before, after, "{n} entries");
            if let Repr::Small(v) = &m.0 {
                assert_eq!(v.len(), v.capacity(), "{n} entries: no spare room");
            }
            assert_eq!(matches!(m.0, Repr::Large(_)), n as usize > SMALL);
        }
    }

    #[test]
    fn collecting_keeps_the_last_of_equal_keys_and_sorts() {
        let m: SmallMap<u32, &str> = [(3, "a"), (1, "b"), (3, "c"), (2, "d")]
            .into_iter()
            .collect();
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            [(&1, &"b"), (&2, &"d"), (&3, &"c")]
        );
        let big: SmallMap<u32, u32> = shuffled(1000)
            .into_iter()
            .map(|k| (k, k))
            .chain([(5, 9)])
            .collect();
        assert_eq!(big.len(), 1000);
        assert_eq!(big.get(&5), Some(&9));
        assert!(big.keys().copied().eq(0..1000));
    }
}
