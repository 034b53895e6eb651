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
//! With `∂ℓ/∂fᵀg_i = a` and `∂ℓ/∂fᵀg_j = c`, the gradients are `a·g_i + c·g_j` at
//! `f`, `a·f` at `g_i` and `c·f` at `g_j`.

use faer::traits::pulp::{Simd, WithSimd};

use crate::models::factors::{axpy, dispatch, dot};

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

/// `e^x` for `x ≤ 0` (below −87 it is taken at −87, about 1.6·10⁻³⁸), within a few units in the last
/// place: Cephes' `expf` (range reduction by `ln 2` in two parts, a degree-6 polynomial, the power of
/// two put into the exponent bits). Branch-free, so that a loop over it vectorises.
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    // 1.5·2²³: adding and subtracting it rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 0.0);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = (x - n * 0.693_359_4) + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 0.166_666_65)
        * r
        + 0.5;
    let y = p * r * r + r + 1.0;
    // n is an integer in −126..=0, so 127 + n is a normal exponent.
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `ln(1 + e)` for `e` in `0..=1`, as `2·atanh(t)` with `t = e / (2 + e) ≤ ⅓` by its series to `t¹³`
/// (relative error below 10⁻⁷). Branch-free.
#[inline(always)]
fn ln_1p_unit(e: f32) -> f32 {
    let t = e / (2.0 + e);
    let t2 = t * t;
    let series = 1.0
        + t2 * (1.0 / 3.0
            + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0 + t2 * (1.0 / 9.0 + t2 * (1.0 / 11.0 + t2 / 13.0)))));
    2.0 * t * series
}

/// `(σ(x), softplus(x))`, both from one `e^{−|x|}`: `σ(x) = 1/(1 + e)` for `x ≥ 0` and `e/(1 + e)`
/// below, `softplus(x) = max(x, 0) + ln(1 + e)`. Branch-free.
#[inline(always)]
fn logistic(x: f32) -> (f32, f32) {
    let e = exp_nonpositive(-x.abs());
    let r = 1.0 / (1.0 + e);
    let sigma = if x >= 0.0 { r } else { e * r };
    (sigma, x.max(0.0) + ln_1p_unit(e))
}

/// The pairwise gradient at user code `f` over its triplets `(positive, negative)` against the item
/// codes `item(i)`, added into `d` (scaled by `weight`); returns the triplets' loss.
///
/// Three phases, each vectorised: the logits (a positive's product is computed once for its run of
/// triplets), the loss and gradient factors of every triplet, and the gradient (one `axpy` per run of
/// a positive, one per negative).
pub fn user_row<'a>(
    t: &PairTerms,
    f: &[f32],
    pairs: impl Iterator<Item = (u32, u32)>,
    item: impl Fn(u32) -> &'a [f32],
    weight: f32,
    d: &mut [f32],
) -> PairLoss {
    dispatch(UserRow { t, f, pairs, item, weight, d })
}

/// [`user_row`] as a kernel for the widest vector instructions at hand.
struct UserRow<'t, P, I> {
    t: &'t PairTerms,
    f: &'t [f32],
    pairs: P,
    item: I,
    weight: f32,
    d: &'t mut [f32],
}

impl<'a, P, I> WithSimd for UserRow<'_, P, I>
where
    P: Iterator<Item = (u32, u32)>,
    I: Fn(u32) -> &'a [f32],
{
    type Output = PairLoss;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> PairLoss {
        let UserRow { t, f, pairs, item, weight, d } = self;
        let pairs: Vec<(u32, u32)> = pairs.collect();
        let s = t.scale;
        let (mut xp, mut xn) = (Vec::with_capacity(pairs.len()), Vec::with_capacity(pairs.len()));
        let mut last = None;
        let mut p = 0.0;
        for &(i, j) in &pairs {
            if last != Some(i) {
                p = s * dot(simd, f, item(i));
                last = Some(i);
            }
            xp.push(p);
            xn.push(s * dot(simd, f, item(j)));
        }
        let (per_positive, rank, step) = (1.0 / t.negatives.max(1) as f32, t.rank, s * weight);
        let mut a = vec![0f32; pairs.len()];
        let mut c = vec![0f32; pairs.len()];
        let mut similarity = vec![0f32; pairs.len()];
        let mut ranking = vec![0f32; pairs.len()];
        for k in 0..pairs.len().min(xp.len()).min(xn.len()) {
            let (sp, lp) = logistic(-xp[k]);
            let (sn, ln) = logistic(xn[k]);
            let (sr, lr) = logistic(xn[k] - xp[k]);
            a[k] = step * (-sp * per_positive - rank * sr);
            c[k] = step * (sn + rank * sr);
            similarity[k] = lp * per_positive + ln;
            ranking[k] = rank * lr;
        }
        let mut run = 0.0;
        for (k, &(i, j)) in pairs.iter().enumerate() {
            run += a[k];
            if pairs.get(k + 1).is_none_or(|next| next.0 != i) {
                axpy(simd, d, run, item(i));
                run = 0.0;
            }
            axpy(simd, d, c[k], item(j));
        }
        let sum = |v: &[f32]| v.iter().map(|&x| f64::from(x)).sum::<f64>();
        PairLoss { similarity: sum(&similarity), rank: sum(&ranking) }
    }
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
///
/// With `σ_±` the sign `−1` for the positive's role and `+1` for the negative's, and `k` the
/// positive's share `1/K` (1 for a negative), the factor on `f_u` is
/// `s·σ_±·(k·σ(σ_±·s·fᵀg) + λ_r·σ(σ_±·s·(fᵀg − fᵀg_partner)))`; the partner's product is computed only
/// when `λ_r > 0`.
pub fn item_row<'a>(
    t: &PairTerms,
    g: &[f32],
    triplets: impl Iterator<Item = (u32, u32, Role)>,
    user: impl Fn(u32) -> &'a [f32],
    item: impl Fn(u32) -> &'a [f32],
    weight: f32,
    d: &mut [f32],
) {
    dispatch(ItemRow { t, g, triplets, user, item, weight, d });
}

/// [`item_row`] as a kernel for the widest vector instructions at hand.
struct ItemRow<'t, T, U, I> {
    t: &'t PairTerms,
    g: &'t [f32],
    triplets: T,
    user: U,
    item: I,
    weight: f32,
    d: &'t mut [f32],
}

impl<'a, T, U, I> WithSimd for ItemRow<'_, T, U, I>
where
    T: Iterator<Item = (u32, u32, Role)>,
    U: Fn(u32) -> &'a [f32],
    I: Fn(u32) -> &'a [f32],
{
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let ItemRow { t, g, triplets, user, item, weight, d } = self;
        let s = t.scale;
        let (lower, _) = triplets.size_hint();
        let (mut users, mut own, mut theirs, mut sign, mut share) = (
            Vec::with_capacity(lower),
            Vec::with_capacity(lower),
            Vec::with_capacity(lower),
            Vec::with_capacity(lower),
            Vec::with_capacity(lower),
        );
        let per_positive = 1.0 / t.negatives.max(1) as f32;
        for (u, partner, role) in triplets {
            let f = user(u);
            users.push(u);
            own.push(s * dot(simd, f, g));
            theirs.push(if t.rank > 0.0 { s * dot(simd, f, item(partner)) } else { 0.0 });
            let (sg, k) = match role {
                Role::Positive => (-1.0f32, per_positive),
                Role::Negative => (1.0, 1.0),
            };
            sign.push(sg);
            share.push(k);
        }
        let (rank, step) = (t.rank, s * weight);
        let n = users.len().min(own.len()).min(theirs.len()).min(sign.len()).min(share.len());
        let mut factor = vec![0f32; n];
        for k in 0..n {
            let (pair, _) = logistic(sign[k] * own[k]);
            let (ranked, _) = logistic(sign[k] * (own[k] - theirs[k]));
            factor[k] = step * sign[k] * (share[k] * pair + rank * ranked);
        }
        for (&u, &a) in users.iter().zip(&factor) {
            axpy(simd, d, a, user(u));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::dsiml::bound::softplus;

    /// The loss of one triplet, in double precision from the definitions.
    fn loss(t: &PairTerms, f: &[f32], gi: &[f32], gj: &[f32]) -> f64 {
        let dot =
            |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum::<f64>();
        let s = f64::from(t.scale);
        let (p, n) = (s * dot(f, gi), s * dot(f, gj));
        softplus(-p) / t.negatives.max(1) as f64 + softplus(n) + f64::from(t.rank) * softplus(n - p)
    }

    #[test]
    fn the_branch_free_exponential_and_logistic_match_the_library() {
        for k in 0..=2000 {
            let x = -90.0 + 0.05 * k as f32;
            let (fast, exact) = (exp_nonpositive(x.min(0.0)), x.clamp(-87.0, 0.0).exp());
            assert!((fast - exact).abs() <= 2e-7 * exact, "e^{x}: {fast} against {exact}");
            let (sigma, soft) = logistic(x);
            let (sigma_exact, soft_exact) = (1.0 / (1.0 + (-f64::from(x)).exp()), softplus(f64::from(x)));
            assert!((f64::from(sigma) - sigma_exact).abs() < 1e-6 * sigma_exact.max(1e-30) + 1e-37, "σ({x})");
            assert!(
                (f64::from(soft) - soft_exact).abs() < 1e-6 * soft_exact.max(1e-30) + 1e-37,
                "softplus({x}): {soft} against {soft_exact}"
            );
        }
        assert_eq!(exp_nonpositive(0.0), 1.0);
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
            assert!((l.similarity + l.rank - loss(&t, &f, &gi, &gj)).abs() < 1e-6);
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
