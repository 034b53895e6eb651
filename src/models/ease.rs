//! `ease`: the closed-form item-item linear autoencoder (Steck, "Embarrassingly Shallow Autoencoders",
//! WWW 2019). With `G = XᵀX + λI` and `P = G⁻¹` (a dense Cholesky inverse, faer's kernels in blocks that
//! report progress, see [`dense`], in `f32`: twice as fast as `f64` and the same metrics on ML-1M to
//! four decimals), the item-item weights
//! are `B[i][j] = -P[i][j] / P[j][j]` with a zero diagonal, and a user's scores are the sum of the rows
//! of `B` for the user's items: any user is scored from its interactions, including users who arrived
//! after training.

use rayon::prelude::*;
use recodb_storage::rkyv;
use recodb_storage::Snapshot;

use super::blobs::{encode, Blob, Blobs};
use super::dense;
use super::{Algorithm, HeapBytes, Model, Param, Params};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// The EASE algorithm.
pub const EASE: Algorithm = Algorithm {
    name: "ease",
    about: "EASE, the closed-form item-item linear autoencoder; at most 20,000 items (dense item × item \
            matrices)",
    parameters: &[Param::positive(
        "lambda",
        500.0,
        "L2 weight λ added to the Gram matrix's diagonal (500 is best on MovieLens-1M shaped data)",
    )],
    train,
    load: from_blobs,
};

/// The most items EASE accepts: its dense `n × n` matrices (two in `f32` while training) must fit in
/// memory; 20,000 items need about 3.2 GB.
pub const MAX_ITEMS: u32 = 20_000;

/// The blob of an EASE model.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct EaseBlob {
    /// Items the model knows.
    pub items: u32,
    /// The `items × items` weights, row-major.
    pub weights: Vec<f32>,
}

/// The name of [`EaseBlob`].
pub const EASE_BLOB: &str = "ease";

/// A trained EASE model: the `n × n` item-item weights, row-major, in `f32`.
pub struct EaseModel {
    n: u32,
    weights: Vec<f32>,
}

fn train(data: &Snapshot, params: &Params, progress: &dyn Progress) -> Result<Box<dyn Model>> {
    let lambda = params.float("lambda")?;
    let n = data.n_items;
    if n > MAX_ITEMS {
        return Err(Error::unsupported(format!(
            "ease needs two dense {n} × {n} matrices; it accepts at most {MAX_ITEMS} items"
        )));
    }
    let n = n as usize;
    let cancelled = || Error::cancelled("training");
    if !progress.update("train ease: gram matrix", 0, 1) {
        return Err(cancelled());
    }
    // G is symmetric, so the flat buffer reads the same column- or row-major. Threads own disjoint
    // blocks of columns and each scans every user for the items of its block; a user's sorted
    // items make the inner loop walk one column forward.
    let mut gram = vec![0f32; n * n];
    let block = n.div_ceil(16).max(1);
    gram.par_chunks_mut(block * n).enumerate().for_each(|(c, columns)| {
        let (first, last) = ((c * block) as u32, ((c + 1) * block) as u32);
        for u in 0..data.n_users {
            let row = data.row(u);
            let start = row.partition_point(|&a| a < first);
            for &a in row[start..].iter().take_while(|&&a| a < last) {
                let column = &mut columns[(a - first) as usize * n..(a - first + 1) as usize * n];
                for &b in row {
                    column[b as usize] += 1.0;
                }
            }
        }
    });
    for i in 0..n {
        gram[i * n + i] += lambda as f32;
    }
    dense::inverse(
        &mut gram,
        n,
        dense::BLOCK_WORK,
        progress,
        "train ease: inverse",
        "ease: the Gram matrix",
    )?;
    let mut weights = gram;
    if !progress.update("train ease: weights", 0, 1) {
        return Err(cancelled());
    }
    // P is symmetric, so row i of B is column i of P (contiguous) over the diagonal: B overwrites P.
    let diagonal: Vec<f32> = (0..n).map(|j| weights[j * n + j]).collect();
    weights.par_chunks_mut(n.max(1)).enumerate().for_each(|(i, row)| {
        for (j, (w, d)) in row.iter_mut().zip(&diagonal).enumerate() {
            *w = if i == j { 0.0 } else { -*w / d };
        }
    });
    progress.update("train ease: weights", 1, 1);
    Ok(Box::new(EaseModel { n: n as u32, weights }))
}

fn from_blobs(blobs: &Blobs<'_>) -> Result<Box<dyn Model>> {
    let EaseBlob { items: n, weights } = blobs.get(EASE_BLOB)?;
    if (n as usize).checked_mul(n as usize) != Some(weights.len()) {
        return Err(Error::corrupt(format!(
            "ease weights blob holds {} values for {n} items",
            weights.len()
        )));
    }
    Ok(Box::new(EaseModel { n, weights }))
}

impl Model for EaseModel {
    fn n_items(&self) -> u32 {
        self.n
    }

    fn score(&self, _user: u32, seen: &[u32], scores: &mut [f32]) {
        let n = self.n as usize;
        scores.iter_mut().for_each(|s| *s = 0.0);
        for &i in seen.iter().filter(|&&i| (i as usize) < n) {
            let row = &self.weights[i as usize * n..(i as usize + 1) * n];
            for (s, w) in scores.iter_mut().zip(row) {
                *s += w;
            }
        }
    }

    /// The full pass's sums, over the candidates only (same order of addition, so the same scores),
    /// visiting each seen row's candidates in ascending order so that the reads move forward.
    fn score_items(&self, _user: u32, seen: &[u32], items: &[u32], out: &mut [f32]) -> Result<()> {
        let n = self.n as usize;
        let mut order: Vec<(u32, usize)> = items.iter().enumerate().map(|(c, &j)| (j, c)).collect();
        order.sort_unstable();
        let known = order.partition_point(|&(j, _)| (j as usize) < n);
        let mut sums = vec![0f32; known];
        for &i in seen.iter().filter(|&&i| (i as usize) < n) {
            let row = &self.weights[i as usize * n..(i as usize + 1) * n];
            for (s, &(j, _)) in sums.iter_mut().zip(&order) {
                *s += row[j as usize];
            }
        }
        out.iter_mut().for_each(|o| *o = f32::NEG_INFINITY);
        for (&s, &(_, c)) in sums.iter().zip(&order) {
            if let Some(o) = out.get_mut(c) {
                *o = s;
            }
        }
        Ok(())
    }

    /// Row `item` of the weights: how much a user's interaction with `item` raises each other item.
    fn similar_items(&self, item: u32, scores: &mut [f32]) -> Result<()> {
        let n = self.n as usize;
        match self.weights.get(item as usize * n..(item as usize + 1) * n) {
            Some(row) => scores.copy_from_slice(row),
            None => scores.iter_mut().for_each(|s| *s = 0.0),
        }
        Ok(())
    }

    fn blobs(&self) -> Result<Vec<Blob>> {
        Ok(vec![encode(EASE_BLOB, &EaseBlob { items: self.n, weights: self.weights.clone() })?])
    }

    fn memory_bytes(&self) -> usize {
        self.weights.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::blobs::in_memory;
    use crate::models::testing::snapshot;
    use crate::progress::NoProgress;
    use crate::value::Value;

    #[test]
    fn matches_the_closed_form_on_a_small_case() {
        // Two items always together, a third alone: G = [[2+l, 2, 0], [2, 2+l, 0], [0, 0, 1+l]].
        let data = snapshot(&[&[0, 1], &[0, 1], &[2]], 3);
        let l = 1.0;
        let params = EASE.check(&[("lambda".into(), Value::Float(l))]).expect("params");
        let model = (EASE.train)(&data, &params, &NoProgress).expect("train");
        // P = G⁻¹ on the 2×2 block: P00 = P11 = (2+l)/d, P01 = -2/d; so B01 = -P01/P11 = 2/(2+l).
        let mut scores = vec![0.0; 3];
        model.score(0, &[0], &mut scores);
        assert!((scores[1] - (2.0 / (2.0 + l)) as f32).abs() < 1e-6, "{scores:?}");
        assert_eq!(scores[0], 0.0, "the diagonal is zero");
        assert!(scores[2].abs() < 1e-9, "unrelated items get nothing");
        let mut similar = vec![0.0; 3];
        model.similar_items(0, &mut similar).expect("similar");
        assert_eq!(similar, scores, "similar to item 0 = item 0's row of weights");
        let blobs = model.blobs().expect("blobs");
        let loaded = (EASE.load)(&Blobs::new(&in_memory(&blobs))).expect("load");
        let mut again = vec![0.0; 3];
        loaded.score(7, &[0], &mut again);
        assert_eq!(again, scores, "a user is scored from its items alone");
    }

    #[test]
    fn bad_lambda_is_refused() {
        for bad in [Value::Float(0.0), Value::Int(-3), Value::from("big")] {
            let err = EASE.check(&[("lambda".into(), bad)]).expect_err("refused");
            assert!(err.message().starts_with("lambda must be a positive number"), "{err}");
        }
    }
}
