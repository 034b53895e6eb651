//! The terms of `ccsr`'s loss at the code layer, and their gradients there (the networks take them
//! back from there).
//!
//! For a triplet `(u, i, j)` with user code `f = f_u`, positive item code `g_i` and negative `g_j`, and
//! the logit scale `s`, the logits are `Θ⁺ = s·fᵀg_i` and `Θ⁻ = s·fᵀg_j`, and
//! - the MAP similarity loss (the negative log-likelihood of `S_ui = 1`, `S_uj = 0` under
//!   `p(S = 1) = σ(Θ)`) is `softplus(−Θ⁺)/K + softplus(Θ⁻)`, the positive counted once over its `K`
//!   negatives;
//! - the optional ranking term is `λ_r · softplus(−(Θ⁺ − Θ⁻))`, BPR on the same pairs;
//! - the quantisation loss is `β‖b − f‖²` with `b` the signs held fixed for the epoch;
//! - the balance loss is `η‖mean_batch f‖²`.
//!
//! With `∂ℓ/∂fᵀg_i = a` and `∂ℓ/∂fᵀg_j = c` (from [`gradients`]), the gradients are `a·g_i + c·g_j` at
//! `f`, `a·f` at `g_i` and `c·f` at `g_j`.

use crate::models::dsiml::bound::softplus;
use crate::models::dsiml::stage0::dot;

/// The weights of the pairwise terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairTerms {
    /// The logit scale `s`.
    pub scale: f32,
    /// Negatives per positive, `K`.
    pub negatives: usize,
    /// The ranking term's weight `λ_r` (0: none).
    pub rank: f32,
}

/// Summed loss values of some triplets.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PairLoss {
    /// The MAP similarity loss.
    pub similarity: f64,
    /// The ranking term.
    pub rank: f64,
}

impl std::ops::AddAssign for PairLoss {
    fn add_assign(&mut self, o: PairLoss) {
        self.similarity += o.similarity;
        self.rank += o.rank;
    }
}

/// `σ(x)` in single precision (the gradients need no more).
fn sigmoid32(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// For one triplet with `p = fᵀg_i` and `n = fᵀg_j`: `(∂ℓ/∂p, ∂ℓ/∂n)`.
pub fn gradients(t: &PairTerms, p: f32, n: f32) -> (f32, f32) {
    let s = t.scale;
    let mut dp = -sigmoid32(-s * p) / t.negatives.max(1) as f32;
    let mut dn = sigmoid32(s * n);
    if t.rank > 0.0 {
        let dz = -t.rank * sigmoid32(-s * (p - n));
        dp += dz;
        dn -= dz;
    }
    (s * dp, s * dn)
}

/// The loss of one triplet with `p = fᵀg_i` and `n = fᵀg_j`.
pub fn triplet_loss(t: &PairTerms, p: f32, n: f32) -> PairLoss {
    let s = f64::from(t.scale);
    let (theta_p, theta_n) = (s * f64::from(p), s * f64::from(n));
    let similarity = softplus(-theta_p) / t.negatives.max(1) as f64 + softplus(theta_n);
    let rank = if t.rank > 0.0 { f64::from(t.rank) * softplus(theta_n - theta_p) } else { 0.0 };
    PairLoss { similarity, rank }
}

/// The pairwise gradient at user code `f` over its triplets `(positive, negative)` against the item
/// codes `item(i)`, added into `d` (scaled by `weight`); returns the triplets' loss.
pub fn user_row<'a>(
    t: &PairTerms,
    f: &[f32],
    pairs: impl Iterator<Item = (u32, u32)>,
    item: impl Fn(u32) -> &'a [f32],
    weight: f32,
    d: &mut [f32],
) -> PairLoss {
    let mut loss = PairLoss::default();
    for (i, j) in pairs {
        let (gi, gj) = (item(i), item(j));
        let (p, n) = (dot(f, gi), dot(f, gj));
        let (a, c) = gradients(t, p, n);
        let (a, c) = (a * weight, c * weight);
        d.iter_mut().zip(gi).zip(gj).for_each(|((d, &x), &y)| *d += a * x + c * y);
        loss += triplet_loss(t, p, n);
    }
    loss
}

/// Where an item stands in a triplet it takes part in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The positive: the partner is the negative.
    Positive,
    /// The negative: the partner is the positive.
    Negative,
}

/// The pairwise gradient at item code `g`, in triplets `(user, partner item, role)`, against the user
/// codes `user(u)` and the partner's code `item(j)`, added into `d` (scaled by `weight`).
pub fn item_row<'a>(
    t: &PairTerms,
    g: &[f32],
    triplets: impl Iterator<Item = (u32, u32, Role)>,
    user: impl Fn(u32) -> &'a [f32],
    item: impl Fn(u32) -> &'a [f32],
    weight: f32,
    d: &mut [f32],
) {
    for (u, partner, role) in triplets {
        let (f, other) = (user(u), item(partner));
        let (own, theirs) = (dot(f, g), dot(f, other));
        let scale = match role {
            Role::Positive => gradients(t, own, theirs).0,
            Role::Negative => gradients(t, theirs, own).1,
        };
        let a = scale * weight;
        d.iter_mut().zip(f).for_each(|(d, &x)| *d += a * x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss(t: &PairTerms, f: &[f32], gi: &[f32], gj: &[f32]) -> f64 {
        let l = triplet_loss(t, dot(f, gi), dot(f, gj));
        l.similarity + l.rank
    }

    #[test]
    fn pair_gradients_match_finite_differences() {
        let (f, gi, gj) = ([0.3f32, -0.8, 0.5], [0.9f32, 0.1, -0.4], [-0.2f32, 0.7, 0.6]);
        for t in [
            PairTerms { scale: 0.5, negatives: 4, rank: 0.0 },
            PairTerms { scale: 2.0, negatives: 1, rank: 1.5 },
        ] {
            let mut d = [0f32; 3];
            let items = [&gi[..], &gj[..]];
            let l = user_row(&t, &f, [(0u32, 1u32)].into_iter(), |i| items[i as usize], 1.0, &mut d);
            assert!((l.similarity + l.rank - loss(&t, &f, &gi, &gj)).abs() < 1e-9);
            let h = 1e-3f32;
            for k in 0..3 {
                let (mut up, mut down) = (f, f);
                up[k] += h;
                down[k] -= h;
                let numeric = (loss(&t, &up, &gi, &gj) - loss(&t, &down, &gi, &gj)) / (2.0 * f64::from(h));
                assert!((numeric - f64::from(d[k])).abs() < 1e-3, "∂/∂f[{k}] {numeric} against {}", d[k]);
            }
            let users = [&f[..]];
            for (role, partner) in [(Role::Positive, 1u32), (Role::Negative, 0u32)] {
                let own = if role == Role::Positive { gi } else { gj };
                let mut d = [0f32; 3];
                let triplets = [(0u32, partner, role)].into_iter();
                item_row(&t, &own, triplets, |u| users[u as usize], |i| items[i as usize], 1.0, &mut d);
                for k in 0..3 {
                    let (mut up, mut down) = (own, own);
                    up[k] += h;
                    down[k] -= h;
                    let at = |g: &[f32]| match role {
                        Role::Positive => loss(&t, &f, g, &gj),
                        Role::Negative => loss(&t, &f, &gi, g),
                    };
                    let numeric = (at(&up) - at(&down)) / (2.0 * f64::from(h));
                    assert!(
                        (numeric - f64::from(d[k])).abs() < 1e-3,
                        "{role:?} [{k}]: {numeric} against {}",
                        d[k]
                    );
                }
            }
        }
    }
}
