//! Filters applied to candidates before any distance is computed: an allowed set (from `WHERE`) and an
//! excluded set (the user's own items).
//!
//! A roaring `contains` per candidate costs about 10 ns; [`Allowed`] materialises its bitmap once as an
//! [`IdSet`] (one bit per id up to the largest allowed id), about 3x faster per candidate. Build it once
//! per filter and keep it (keyed by the filter) for every query that uses it. The excluded set is small and
//! per user: MIH and the scan check it only for the few codes close enough to enter the top k.

use roaring::RoaringBitmap;

use super::idset::IdSet;

/// An allowed set, as a roaring bitmap and a dense set materialised once.
#[derive(Debug, Clone)]
pub struct Allowed {
    ids: RoaringBitmap,
    dense: IdSet,
}

impl Allowed {
    /// Materialises `ids` as a dense set.
    pub fn new(ids: RoaringBitmap) -> Allowed {
        let bound = ids.max().map_or(0, |m| m as usize + 1);
        let dense = IdSet::from_bitmap(&ids, bound);
        Allowed { ids, dense }
    }

    /// Whether `id` is allowed.
    #[inline]
    pub fn contains(&self, id: u32) -> bool {
        self.dense.contains(id)
    }

    /// The allowed ids as a dense set (no bit set at or past the largest allowed id + 1).
    pub(crate) fn dense(&self) -> &IdSet {
        &self.dense
    }

    /// The number of allowed ids.
    pub fn len(&self) -> u64 {
        self.ids.len()
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The allowed ids as a roaring bitmap.
    pub fn bitmap(&self) -> &RoaringBitmap {
        &self.ids
    }
}

/// The filters of one search: results are allowed (when `allowed` is set) and not excluded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    /// Only these ids may be returned; `None` allows every id.
    pub allowed: Option<&'a Allowed>,
    /// These ids are never returned (the user's own items, unless INCLUDE SEEN).
    pub excluded: Option<&'a RoaringBitmap>,
}

impl<'a> Filter<'a> {
    /// No filter.
    pub const NONE: Filter<'static> = Filter { allowed: None, excluded: None };

    /// Whether `id` passes both sets (the excluded one by a roaring look-up: use on few ids).
    #[inline]
    pub(crate) fn admits(&self, id: u32) -> bool {
        self.allowed.is_none_or(|a| a.contains(id)) && self.excluded.is_none_or(|e| !e.contains(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_matches_roaring() {
        let ids: RoaringBitmap = [0u32, 63, 64, 1000].into_iter().collect();
        let a = Allowed::new(ids.clone());
        for id in 0..1100 {
            assert_eq!(a.contains(id), ids.contains(id));
        }
        assert!(!a.contains(u32::MAX));
        let ex: RoaringBitmap = [63u32].into_iter().collect();
        let f = Filter { allowed: Some(&a), excluded: Some(&ex) };
        assert!(f.admits(64) && !f.admits(63) && !f.admits(1));
        assert!(Allowed::new(RoaringBitmap::new()).is_empty());
    }
}
