//! Item partitioning (spec A.6): a catalogue too large for one problem is split recursively, each
//! block by the sign of the second eigenvector of its own normalised interactions (user degrees
//! counted within the block, item degrees global), at the median when the signs do not split it,
//! until every block has at most `limit` items. corml then learns one matrix per block (block-diagonal).

use recodb_storage::Snapshot;

use super::spectral::{top_eigenvectors, Normalised, BISECTION_PRODUCTS};
use crate::error::Result;
use crate::progress::Progress;

/// The blocks of items `0..data.n_items` (each sorted; blocks in order of their first item), each of at
/// most `limit` items (at least 1).
pub(super) fn blocks(
    data: &Snapshot,
    degrees: &[f32],
    limit: usize,
    seed: u64,
    progress: &dyn Progress,
) -> Result<Vec<Vec<u32>>> {
    let limit = limit.max(1);
    let mut pending = vec![(0..data.n_items).collect::<Vec<u32>>()];
    let mut done = Vec::new();
    while let Some(block) = pending.pop() {
        if block.len() <= limit {
            done.push(block);
            continue;
        }
        let phase = format!("train corml: partition {} items", block.len());
        let op = Normalised::new(data, &block, degrees);
        let vectors = top_eigenvectors(&op, 2, BISECTION_PRODUCTS, seed, progress, &phase)?;
        let second: Vec<f32> = vectors.chunks_exact(2).map(|v| v[1]).collect();
        let (left, right) = split(&block, &second);
        pending.push(left);
        pending.push(right);
    }
    done.retain(|b| !b.is_empty());
    done.sort_unstable_by_key(|b| b[0]);
    Ok(done)
}

/// `block` (two or more items) in two non-empty sorted parts: by the sign of `value`, or at its
/// median when every value has the same sign.
fn split(block: &[u32], value: &[f32]) -> (Vec<u32>, Vec<u32>) {
    let positive = value.iter().filter(|&&v| v > 0.0).count();
    if positive > 0 && positive < block.len() {
        let side = |positive: bool| -> Vec<u32> {
            block.iter().zip(value).filter(|p| (*p.1 > 0.0) == positive).map(|p| *p.0).collect()
        };
        return (side(true), side(false));
    }
    let mut order: Vec<usize> = (0..block.len()).collect();
    order.sort_by(|&a, &b| value[a].total_cmp(&value[b]).then(a.cmp(&b)));
    let (low, high) = order.split_at(block.len() / 2);
    let pick = |half: &[usize]| {
        let mut items: Vec<u32> = half.iter().map(|&p| block[p]).collect();
        items.sort_unstable();
        items
    };
    (pick(low), pick(high))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::testing::snapshot;
    use crate::progress::NoProgress;

    #[test]
    fn two_communities_are_split_apart_and_blocks_respect_the_limit() {
        // Users 0-3 use items 0-2, users 4-7 items 3-5; one user bridges them.
        let rows: Vec<Vec<u32>> =
            (0..8).map(|u| if u < 4 { vec![0, 1, 2] } else { vec![3, 4, 5] }).chain([vec![2, 3]]).collect();
        let refs: Vec<&[u32]> = rows.iter().map(|r| &r[..]).collect();
        let data = snapshot(&refs, 6);
        let degrees = [4.0f32, 4.0, 5.0, 5.0, 4.0, 4.0];
        let found = blocks(&data, &degrees, 3, 1, &NoProgress).expect("blocks");
        assert_eq!(found, vec![vec![0, 1, 2], vec![3, 4, 5]]);
        let single = blocks(&data, &degrees, 1, 1, &NoProgress).expect("blocks");
        assert_eq!(single.len(), 6, "{single:?}");
        assert_eq!(
            blocks(&data, &degrees, 6, 1, &NoProgress).expect("one"),
            vec![(0..6).collect::<Vec<_>>()]
        );
    }

    #[test]
    fn equal_signs_split_at_the_median() {
        assert_eq!(split(&[4, 7, 9], &[0.3, 0.1, 0.2]), (vec![7], vec![4, 9]));
        assert_eq!(split(&[4, 7, 9], &[0.3, -0.1, 0.2]), (vec![4, 9], vec![7]));
    }
}
