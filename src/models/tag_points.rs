//! Tags placed in a model's space: the points of the item tags a model that places items from their
//! tags gives them (see [`super::FromTags::tag_points`]), and their scores against a user's or an
//! item's point, by which RECOMMEND TAGS and EVALUATE ... TAGS rank tags.

use super::cml::{negative_distances, squared_norms};
use super::HeapBytes;

/// One point per item tag id below [`TagPoints::len`] (the tags the model was trained with), each
/// `dim` values long.
#[derive(Debug, Clone, PartialEq)]
pub struct TagPoints {
    dim: usize,
    points: Vec<f32>,
    norms: Vec<f32>,
}

impl TagPoints {
    /// The points `points` (row-major, `dim` values per tag id from 0).
    pub fn new(dim: usize, points: Vec<f32>) -> TagPoints {
        let norms = squared_norms(&points, dim);
        TagPoints { dim, points, norms }
    }

    /// How many tag ids have a point.
    pub fn len(&self) -> usize {
        self.norms.len()
    }

    /// Whether no tag has a point.
    pub fn is_empty(&self) -> bool {
        self.norms.is_empty()
    }

    /// `−‖point − t‖²` for the point `t` of each tag id of `tags`, into `out` (one per tag), `-inf` for
    /// a tag id without a point (a tag created after training), so that nearer tags score higher.
    pub fn scores(&self, point: &[f32], tags: &[u32], out: &mut [f32]) {
        let mut all = vec![0.0f32; self.len()];
        if point.len() == self.dim {
            negative_distances(point, &self.points, &self.norms, &mut all);
        }
        for (o, &t) in out.iter_mut().zip(tags) {
            *o = all.get(t as usize).copied().unwrap_or(f32::NEG_INFINITY);
        }
    }
}

impl HeapBytes for TagPoints {
    fn heap_bytes(&self) -> usize {
        self.points.heap_bytes() + self.norms.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::TagPoints;

    #[test]
    fn scores_are_negative_squared_distances_and_unknown_tags_the_floor() {
        let points = TagPoints::new(2, vec![0.0, 0.0, 1.0, 0.0, 3.0, 4.0]);
        assert_eq!(points.len(), 3);
        let mut out = [0.0f32; 4];
        points.scores(&[1.0, 0.0], &[2, 0, 1, 7], &mut out);
        assert_eq!(out, [-20.0, -1.0, 0.0, f32::NEG_INFINITY]);
    }
}
