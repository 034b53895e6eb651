//! Tags placed in a model's space, and their scores against a user's or an item's point, by which
//! RECOMMEND TAGS and EVALUATE ... TAGS rank tags (see [`super::FromTags::tag_points`]). A tag is
//! placed either at one point (scored by `−‖p − t‖²`), or as the set of the points of the items that
//! carry it (scored by a soft minimum of the squared distances to them, see [`TagPoints::scores`]).

use recodb_storage::TagRows;

use super::cml::{negative_distances, squared_norms};
use super::HeapBytes;

/// Item tag ids below [`TagPoints::len`] (the tags the model was trained with) placed in a space of
/// `dim` dimensions: one point each, or the points of the items that carry them.
#[derive(Debug, Clone, PartialEq)]
pub struct TagPoints {
    dim: usize,
    points: Vec<f32>,
    norms: Vec<f32>,
    sets: Option<ItemSets>,
}

/// Tags placed as the sets of their items' points.
#[derive(Debug, Clone, PartialEq)]
struct ItemSets {
    /// Each item's tag ids (rows by item, aligned with the points).
    tags: TagRows,
    /// How many tag ids are placed.
    n_tags: usize,
    /// The temperature of the soft minimum.
    bandwidth: f32,
}

impl TagPoints {
    /// One point per tag id from 0: `points` row-major, `dim` values each.
    pub fn new(dim: usize, points: Vec<f32>) -> TagPoints {
        let norms = squared_norms(&points, dim);
        TagPoints { dim, points, norms, sets: None }
    }

    /// Tag ids `0..n_tags` placed as sets of item points: `points` holds one point per item (row-major),
    /// `tags` each item's tag ids (ids from `n_tags` on are ignored); `bandwidth` (> 0) is the soft
    /// minimum's temperature.
    pub fn of_items(dim: usize, points: Vec<f32>, tags: TagRows, n_tags: usize, bandwidth: f32) -> TagPoints {
        let norms = squared_norms(&points, dim);
        TagPoints { dim, points, norms, sets: Some(ItemSets { tags, n_tags, bandwidth }) }
    }

    /// How many tag ids are placed.
    pub fn len(&self) -> usize {
        self.sets.as_ref().map_or(self.norms.len(), |s| s.n_tags)
    }

    /// Whether no tag is placed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The score of each tag id of `tags` for `point`, into `out` (one per tag), higher for nearer
    /// tags: `−‖point − t‖²` for a tag at one point `t`; for a tag placed as the points `v` of its
    /// items, `τ · ln Σ_v exp(−‖point − v‖² / τ)` with `τ` the bandwidth, a soft minimum of the squared
    /// distances that also grows with the number of the tag's items near the point (it tends to
    /// `−min_v ‖point − v‖²` as `τ` shrinks). `-inf` for a tag id that is not placed (created after
    /// training, or carried by no item).
    pub fn scores(&self, point: &[f32], tags: &[u32], out: &mut [f32]) {
        let mut all = vec![0.0f32; self.norms.len()];
        if point.len() == self.dim {
            negative_distances(point, &self.points, &self.norms, &mut all);
        }
        let per_tag = match &self.sets {
            None => all,
            Some(sets) => sets.soft_nearest(&all),
        };
        for (o, &t) in out.iter_mut().zip(tags) {
            *o = per_tag.get(t as usize).copied().unwrap_or(f32::NEG_INFINITY);
        }
    }
}

impl ItemSets {
    /// Each tag's `τ · ln Σ exp(s / τ)` over the scores `s` (`−‖p − v‖²`) of its items, computed from the
    /// tag's largest score so that no exponential overflows; `-inf` for a tag without items.
    fn soft_nearest(&self, item_scores: &[f32]) -> Vec<f32> {
        let items = || {
            item_scores.iter().enumerate().flat_map(|(i, &s)| {
                self.tags.row(i as u32).iter().filter(|&&t| (t as usize) < self.n_tags).map(move |&t| (t, s))
            })
        };
        let mut best = vec![f32::NEG_INFINITY; self.n_tags];
        for (t, s) in items() {
            best[t as usize] = best[t as usize].max(s);
        }
        let mut sums = vec![0.0f32; self.n_tags];
        for (t, s) in items() {
            sums[t as usize] += ((s - best[t as usize]) / self.bandwidth).exp();
        }
        best.iter()
            .zip(&sums)
            .map(|(&b, &sum)| if sum > 0.0 { b + self.bandwidth * sum.ln() } else { b })
            .collect()
    }
}

impl HeapBytes for TagPoints {
    fn heap_bytes(&self) -> usize {
        let sets = self.sets.as_ref().map_or(0, |s| s.tags.heap_bytes());
        self.points.heap_bytes() + self.norms.heap_bytes() + sets
    }
}

#[cfg(test)]
mod tests {
    use super::TagPoints;
    use recodb_storage::TagRows;

    #[test]
    fn scores_are_negative_squared_distances_and_unknown_tags_the_floor() {
        let points = TagPoints::new(2, vec![0.0, 0.0, 1.0, 0.0, 3.0, 4.0]);
        assert_eq!(points.len(), 3);
        let mut out = [0.0f32; 4];
        points.scores(&[1.0, 0.0], &[2, 0, 1, 7], &mut out);
        assert_eq!(out, [-20.0, -1.0, 0.0, f32::NEG_INFINITY]);
    }

    #[test]
    fn a_tag_placed_as_its_items_scores_a_soft_minimum_of_their_squared_distances() {
        // Items at (0, 0) with tag 0, (1, 0) with tags 0 and 1, (3, 0) with tag 1 and the unplaced 5.
        let rows: [&[u32]; 3] = [&[0], &[0, 1], &[1, 5]];
        let tags = TagRows::from_rows(&rows, 6);
        let points = TagPoints::of_items(2, vec![0.0, 0.0, 1.0, 0.0, 3.0, 0.0], tags, 3, 1.0);
        assert_eq!(points.len(), 3);
        let mut out = [0.0f32; 4];
        points.scores(&[0.0, 0.0], &[0, 1, 2, 5], &mut out);
        let expected = [(1.0f32 + (-1.0f32).exp()).ln(), ((-1.0f32).exp() + (-9.0f32).exp()).ln()];
        assert!((out[0] - expected[0]).abs() < 1e-6 && (out[1] - expected[1]).abs() < 1e-6, "{out:?}");
        assert_eq!(out[2..], [f32::NEG_INFINITY, f32::NEG_INFINITY], "tag 2 has no item, 5 is not placed");
        // A colder soft minimum tends to the nearest item's score.
        let cold =
            TagPoints::of_items(2, vec![0.0, 0.0, 1.0, 0.0, 3.0, 0.0], TagRows::from_rows(&rows, 6), 3, 0.01);
        cold.scores(&[0.0, 0.0], &[0, 1], &mut out[..2]);
        assert!(out[0].abs() < 1e-6 && (out[1] + 1.0).abs() < 1e-6, "{out:?}");
    }
}
