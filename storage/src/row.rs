//! A user's interactions: the bitmap of items plus, when any was given, a weight and a timestamp per item.

use roaring::RoaringBitmap;

use crate::error::{corrupt, Result};

/// The timestamp stored for an interaction that has none.
pub const NO_TIME: i64 = i64::MIN;

/// The weight of an interaction that was given none.
pub const DEFAULT_WEIGHT: f32 = 1.0;

/// Weight and timestamp of one interaction, as given by the writer (`None`: not given).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PairAttrs {
    /// The weight (a rating, a count), if given.
    pub weight: Option<f32>,
    /// The timestamp, if given.
    pub time: Option<i64>,
}

/// One user's interactions. `weights` and `times`, when present, are aligned with the bitmap's items in
/// ascending order; a row without `weights` has every weight equal to [`DEFAULT_WEIGHT`], a row without
/// `times` has no timestamps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// The user's items.
    pub items: RoaringBitmap,
    /// Per-item weights in item order, if any interaction has a weight other than the default.
    pub weights: Option<Vec<f32>>,
    /// Per-item timestamps in item order ([`NO_TIME`] where absent), if any interaction has one.
    pub times: Option<Vec<i64>>,
}

const HAS_WEIGHTS: u8 = 1;
const HAS_TIMES: u8 = 2;

impl Row {
    /// Number of interactions.
    pub fn len(&self) -> usize {
        self.items.len() as usize
    }

    /// True if the user has no interactions.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Weight and timestamp of `item`, if the user has it.
    pub fn get(&self, item: u32) -> Option<(f32, Option<i64>)> {
        if !self.items.contains(item) {
            return None;
        }
        let at = self.items.rank(item) as usize - 1;
        let weight = self.weights.as_ref().map_or(DEFAULT_WEIGHT, |w| w[at]);
        let time = self.times.as_ref().map(|t| t[at]).filter(|&t| t != NO_TIME);
        Some((weight, time))
    }

    /// Iterates `(item, weight, time)` in item order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, f32, Option<i64>)> + '_ {
        self.items.iter().enumerate().map(move |(at, item)| {
            let weight = self.weights.as_ref().map_or(DEFAULT_WEIGHT, |w| w[at]);
            let time = self.times.as_ref().map(|t| t[at]).filter(|&t| t != NO_TIME);
            (item, weight, time)
        })
    }

    /// Builds a row from entries sorted by item with no duplicates.
    pub fn from_sorted(entries: &[(u32, PairAttrs)]) -> Row {
        let items = RoaringBitmap::from_sorted_iter(entries.iter().map(|e| e.0))
            .expect("entries are sorted and unique");
        let weights = entries
            .iter()
            .any(|e| e.1.weight.is_some_and(|w| w != DEFAULT_WEIGHT))
            .then(|| entries.iter().map(|e| e.1.weight.unwrap_or(DEFAULT_WEIGHT)).collect());
        let times = entries
            .iter()
            .any(|e| e.1.time.is_some())
            .then(|| entries.iter().map(|e| e.1.time.unwrap_or(NO_TIME)).collect());
        Row { items, weights, times }
    }

    /// Merges entries sorted by item with no duplicates into the row. For an item the row already
    /// has, a given weight or time replaces the stored one and an absent one keeps it. Returns the
    /// items that were new, in order.
    pub fn merge_sorted(&mut self, entries: &[(u32, PairAttrs)]) -> Vec<u32> {
        if self.is_empty() {
            *self = Row::from_sorted(entries);
            return entries.iter().map(|e| e.0).collect();
        }
        let mut merged: Vec<(u32, PairAttrs)> = Vec::with_capacity(self.len() + entries.len());
        let mut new_items = Vec::new();
        let mut old = self.iter().peekable();
        for &(item, attrs) in entries {
            while let Some(&(o, w, t)) = old.peek() {
                if o >= item {
                    break;
                }
                merged.push((o, PairAttrs { weight: Some(w), time: t }));
                old.next();
            }
            match old.peek() {
                Some(&(o, w, t)) if o == item => {
                    merged
                        .push((item, PairAttrs { weight: attrs.weight.or(Some(w)), time: attrs.time.or(t) }));
                    old.next();
                }
                _ => {
                    merged.push((item, attrs));
                    new_items.push(item);
                }
            }
        }
        merged.extend(old.map(|(o, w, t)| (o, PairAttrs { weight: Some(w), time: t })));
        *self = Row::from_sorted(&merged);
        new_items
    }

    /// Removes `item`; returns whether the row had it.
    pub fn remove(&mut self, item: u32) -> bool {
        if !self.items.contains(item) {
            return false;
        }
        let at = self.items.rank(item) as usize - 1;
        self.items.remove(item);
        if let Some(w) = &mut self.weights {
            w.remove(at);
        }
        if let Some(t) = &mut self.times {
            t.remove(at);
        }
        true
    }

    /// Encodes the weights and timestamps: a flag byte, then the `f32` weights and the `i64` timestamps,
    /// little-endian, in item order. `None` when the row has neither (nothing is stored).
    pub fn encode_attrs(&self) -> Option<Vec<u8>> {
        if self.weights.is_none() && self.times.is_none() {
            return None;
        }
        let n = self.len();
        let mut out = Vec::with_capacity(1 + n * 12);
        let mut flags = 0;
        if self.weights.is_some() {
            flags |= HAS_WEIGHTS;
        }
        if self.times.is_some() {
            flags |= HAS_TIMES;
        }
        out.push(flags);
        for w in self.weights.iter().flatten() {
            out.extend_from_slice(&w.to_le_bytes());
        }
        for t in self.times.iter().flatten() {
            out.extend_from_slice(&t.to_le_bytes());
        }
        Some(out)
    }

    /// Encodes the row as stored in `user_items`: the bitmap in roaring's portable serialization,
    /// followed by the attributes of [`Row::encode_attrs`] when there are any.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = crate::format::encode_bitmap(&self.items);
        if let Some(attrs) = self.encode_attrs() {
            out.extend_from_slice(&attrs);
        }
        out
    }

    /// Decodes a value written by [`Row::encode`].
    pub fn decode_value(bytes: &[u8], what: &str) -> Result<Row> {
        let mut rest = bytes;
        let items = RoaringBitmap::deserialize_from(&mut rest)
            .map_err(|e| corrupt(format!("{what}: bad bitmap: {e}")))?;
        Row::decode(items, (!rest.is_empty()).then_some(rest), what)
    }

    /// Decodes a row from its bitmap and, if stored, its attributes, checking that the lengths agree.
    pub fn decode(items: RoaringBitmap, attrs: Option<&[u8]>, what: &str) -> Result<Row> {
        let Some(attrs) = attrs else {
            return Ok(Row { items, weights: None, times: None });
        };
        let n = items.len() as usize;
        let (&flags, mut rest) =
            attrs.split_first().ok_or_else(|| corrupt(format!("{what}: empty attributes")))?;
        if flags & !(HAS_WEIGHTS | HAS_TIMES) != 0 {
            return Err(corrupt(format!("{what}: unknown attribute flags {flags}")));
        }
        let expected =
            n * (if flags & HAS_WEIGHTS != 0 { 4 } else { 0 } + if flags & HAS_TIMES != 0 { 8 } else { 0 });
        if rest.len() != expected {
            return Err(corrupt(format!("{what}: {} attribute bytes for {n} items", rest.len())));
        }
        let weights = (flags & HAS_WEIGHTS != 0).then(|| {
            let (w, r) = rest.split_at(n * 4);
            rest = r;
            w.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        });
        let times = (flags & HAS_TIMES != 0).then(|| {
            rest.chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect()
        });
        Ok(Row { items, weights, times })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(weight: Option<f32>, time: Option<i64>) -> PairAttrs {
        PairAttrs { weight, time }
    }

    #[test]
    fn rows_without_attributes_store_nothing_extra() {
        let row = Row::from_sorted(&[(1, attrs(None, None)), (5, attrs(Some(1.0), None))]);
        assert_eq!(row.encode_attrs(), None);
        assert_eq!(row.get(5), Some((1.0, None)));
        assert_eq!(row.get(2), None);
    }

    #[test]
    fn attributes_round_trip_and_align_with_items() {
        let row = Row::from_sorted(&[
            (3, attrs(Some(4.0), None)),
            (9, attrs(None, Some(77))),
            (70_000, attrs(Some(2.5), Some(-5))),
        ]);
        let bytes = row.encode_attrs().expect("row has attributes");
        let back = Row::decode(row.items.clone(), Some(&bytes), "test").expect("decodes");
        assert_eq!(back, row);
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            vec![(3, 4.0, None), (9, 1.0, Some(77)), (70_000, 2.5, Some(-5))]
        );
    }

    #[test]
    fn stored_values_hold_bitmap_and_attributes() {
        let plain = Row::from_sorted(&[(1, attrs(None, None)), (9, attrs(None, None))]);
        assert_eq!(plain.encode(), crate::format::encode_bitmap(&plain.items));
        assert_eq!(Row::decode_value(&plain.encode(), "t").expect("decodes"), plain);
        let rich = Row::from_sorted(&[(1, attrs(Some(2.0), Some(3))), (9, attrs(None, None))]);
        assert_eq!(Row::decode_value(&rich.encode(), "t").expect("decodes"), rich);
        let mut bad = rich.encode();
        bad.pop();
        assert!(Row::decode_value(&bad, "t").is_err());
    }

    #[test]
    fn decode_rejects_mismatched_lengths_and_flags() {
        let items: RoaringBitmap = [1, 2].into_iter().collect();
        assert!(Row::decode(items.clone(), Some(&[1, 0, 0, 0, 0]), "t").is_err());
        assert!(Row::decode(items.clone(), Some(&[8]), "t").is_err());
        assert!(Row::decode(items, Some(&[]), "t").is_err());
    }

    #[test]
    fn merge_replaces_given_attributes_and_counts_new_items() {
        let mut row = Row::from_sorted(&[(2, attrs(Some(3.0), Some(10))), (4, attrs(None, None))]);
        let new = row.merge_sorted(&[
            (1, attrs(None, None)),
            (2, attrs(Some(5.0), None)),
            (9, attrs(Some(2.0), None)),
        ]);
        assert_eq!(new, vec![1, 9]);
        assert_eq!(
            row.iter().collect::<Vec<_>>(),
            vec![(1, 1.0, None), (2, 5.0, Some(10)), (4, 1.0, None), (9, 2.0, None)]
        );
    }

    #[test]
    fn remove_keeps_attributes_aligned() {
        let mut row = Row::from_sorted(&[
            (1, attrs(Some(1.5), None)),
            (2, attrs(Some(2.5), None)),
            (3, attrs(Some(3.5), None)),
        ]);
        assert!(row.remove(2));
        assert!(!row.remove(2));
        assert_eq!(row.iter().map(|e| e.1).collect::<Vec<_>>(), vec![1.5, 3.5]);
    }
}
