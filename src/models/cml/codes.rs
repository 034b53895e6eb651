//! `serve = 'codes'`: sign-random-projection codes of the CML points (Charikar, STOC 2002). Bit `t` of a
//! point's code is the sign of its inner product with the `t`-th of `bits` Gaussian directions drawn from
//! a seed; since nearly every trained point sits on the unit sphere, the Hamming distance of two codes
//! tracks the angle, hence the distance, of the points. RECOMMEND and SIMILAR search the codes with the
//! Hamming engine (filters pushed down) and re-rank the top `candidates` by exact distance.

use std::sync::OnceLock;

use recodb_storage::hamming::{CodeStore, HammingIndex, IndexOptions};

use super::super::dsiml::codes::{pack, words_for};
use super::super::factors::rows_dot;
use super::super::hogwild::generator;
use super::train::gaussian;
use crate::error::{Error, Result};
use crate::models::HeapBytes;

/// The `bits × dim` Gaussian directions of the codes, drawn from a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    bits: usize,
    directions: Vec<f32>,
}

impl HeapBytes for Projection {
    fn heap_bytes(&self) -> usize {
        self.directions.heap_bytes()
    }
}

impl Projection {
    /// The `bits` directions in `dim` dimensions drawn from `seed`.
    pub fn new(bits: usize, dim: usize, seed: u64) -> Projection {
        let mut rng = generator(seed, 0, 0);
        Projection { bits, directions: (0..bits * dim).map(|_| gaussian(&mut rng, 1.0)).collect() }
    }

    /// Code length in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The code of `point` (`dim` long): `words_for(bits)` words.
    pub fn code(&self, point: &[f32]) -> Vec<u64> {
        let mut dots = vec![0f32; self.bits];
        rows_dot(&self.directions, point, &mut dots);
        let mut code = vec![0u64; words_for(self.bits)];
        pack(&dots, &mut code);
        code
    }

    /// The codes of the row-major `points` (`dim` each), packed one after the other.
    pub fn codes(&self, points: &[f32], dim: usize) -> Vec<u64> {
        points.chunks_exact(dim.max(1)).flat_map(|p| self.code(p)).collect()
    }
}

/// The codes a `serve = 'codes'` model searches: the projection, the item index, the trained users'
/// codes and (built by the first SIMILAR USER) their index.
#[derive(Debug)]
pub struct Codes {
    /// The directions the codes were made with.
    pub projection: Projection,
    /// The seed the directions were drawn from.
    pub seed: u64,
    /// Hamming candidates re-ranked by exact distance.
    pub candidates: usize,
    /// The exact Hamming index over the item codes.
    pub items: HammingIndex,
    /// The trained users' codes, in user id order.
    pub users: Vec<u64>,
    /// The index over the codes of the trained users with items.
    user_index: OnceLock<HammingIndex>,
}

impl HeapBytes for Codes {
    fn heap_bytes(&self) -> usize {
        let indexes = self.items.heap_bytes() + self.user_index.heap_bytes();
        self.projection.heap_bytes() + indexes + self.users.heap_bytes()
    }
}

impl Codes {
    /// Codes of `bits` bits for the points `users` and `items` (`dim` each), directions drawn from
    /// `seed`.
    pub fn new(
        bits: usize,
        dim: usize,
        seed: u64,
        candidates: usize,
        users: &[f32],
        items: &[f32],
    ) -> Result<Codes> {
        let projection = Projection::new(bits, dim, seed);
        let (user_codes, item_codes) = (projection.codes(users, dim), projection.codes(items, dim));
        Codes::from_parts(projection, seed, candidates, user_codes, item_codes)
    }

    /// Codes as saved: `user_codes` and `item_codes` made with `projection` (drawn from `seed`).
    pub fn from_parts(
        projection: Projection,
        seed: u64,
        candidates: usize,
        users: Vec<u64>,
        items: Vec<u64>,
    ) -> Result<Codes> {
        Codes::indexed(projection, seed, candidates, users, items, &[])
    }

    /// The codes of a model extended to items added after training: the codes of the `first` trained
    /// items, then those of the points `late` (row-major, `dim` each) by the same projection, the items
    /// `absent` left out of the index.
    pub fn extended(&self, first: usize, late: &[f32], dim: usize, absent: &[u32]) -> Result<Codes> {
        let words = words_for(self.projection.bits());
        let trained = self.items.codes().as_words();
        let mut items = trained[..(first * words).min(trained.len())].to_vec();
        items.extend(self.projection.codes(late, dim));
        let projection = self.projection.clone();
        Codes::indexed(projection, self.seed, self.candidates, self.users.clone(), items, absent)
    }

    /// Codes with an index over the item codes `items` less the items `absent`.
    fn indexed(
        projection: Projection,
        seed: u64,
        candidates: usize,
        users: Vec<u64>,
        items: Vec<u64>,
        absent: &[u32],
    ) -> Result<Codes> {
        let mut store = CodeStore::from_words(projection.bits() as u32, items)?;
        for &i in absent {
            store.remove(i);
        }
        let items = HammingIndex::build(store, &IndexOptions::default());
        Ok(Codes { projection, seed, candidates, items, users, user_index: OnceLock::new() })
    }

    /// The index over the codes of the trained users for whom `has_items` holds, built on first use.
    pub fn user_index(&self, has_items: impl Fn(u32) -> bool) -> Result<&HammingIndex> {
        if self.user_index.get().is_none() {
            let mut store = CodeStore::from_words(self.projection.bits() as u32, self.users.clone())?;
            let words = words_for(self.projection.bits());
            for user in (0..(self.users.len() / words) as u32).filter(|&u| !has_items(u)) {
                store.remove(user);
            }
            // Another thread may have built it meanwhile; either index is the same.
            let _ = self.user_index.set(HammingIndex::build(store, &IndexOptions::default()));
        }
        self.user_index.get().ok_or_else(|| Error::internal("the user index is missing"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_angle_and_the_seed() {
        let p = Projection::new(128, 3, 7);
        assert_eq!(p, Projection::new(128, 3, 7));
        assert_ne!(p, Projection::new(128, 3, 8));
        let h = |a: &[f32], b: &[f32]| {
            p.code(a).iter().zip(p.code(b)).map(|(x, y)| (x ^ y).count_ones()).sum::<u32>()
        };
        let x = [1.0, 0.0, 0.0];
        assert_eq!(h(&x, &[0.5, 0.0, 0.0]), 0, "the same direction, the same code");
        assert_eq!(h(&x, &[-1.0, 0.0, 0.0]), 128, "opposite points differ in every bit");
        let near = h(&x, &[0.9, 0.1, 0.0]);
        let far = h(&x, &[0.0, 1.0, 0.0]);
        assert!(near < far && far > 40 && far < 90, "near {near}, orthogonal {far} (64 expected)");
        assert_eq!(p.codes(&[1.0, 0.0, 0.0, -1.0, 0.0, 0.0], 3).len(), 4, "two words per code");
    }
}
