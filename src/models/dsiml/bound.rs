//! The per-triplet objective of DSIML and its Jaakkola-Jordan quadratic bound (dsiml.md §4.2, §5).
//!
//! For a triplet (user `u`, positive `j`, negative `k`) with `±1` codes of `r` bits, the ranking
//! variable is `x = (b_uᵀd_k − b_uᵀd_j)/(2r)` and the angular variable
//! `y = 2γ²(b_u + d_j)ᵀd_k − (1+γ²)b_uᵀd_j` (plus `(1 − 3γ²)r` when the constant is kept). The loss is
//! `sp(S·a·x) + λ·sp(S·y)`, with `sp` the softplus, `S` the temperature (`(R/√r)²`, dsiml.md §6.9) and `a`
//! the ranking scale (1 in the paper: dsiml.md §4.2). Each softplus is bounded by
//! `sp(z) ≤ sp(ξ) + (z − ξ)/2 + ρ(ξ)(z² − ξ²)`, tight at `z = ±ξ`; with `z = wᵀv + c0` affine in a
//! block's code `v`, a term adds `s·ρ·wwᵀ` to the block's matrix and `s·(2ρ·c0 + ½)·w` to its vector
//! ([`Block::add`]).

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// `ln(1 + e^z)` without overflow.
pub fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// The Jaakkola-Jordan curvature `ρ(ξ) = (σ(ξ) − ½)/(2ξ) = tanh(ξ/2)/(4ξ)`, with `ρ(0) = 1/8`.
pub fn rho(xi: f64) -> f64 {
    if xi.abs() > 1e-6 {
        (xi / 2.0).tanh() / (4.0 * xi)
    } else {
        0.125 - xi * xi / 96.0
    }
}

/// The bound on `sp(z)` expanded at `ξ`.
pub fn bound(z: f64, xi: f64) -> f64 {
    softplus(xi) + (z - xi) / 2.0 + rho(xi) * (z * z - xi * xi)
}

/// The constants of the objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    /// Code length `r` (or the dimension of the real vectors).
    pub bits: usize,
    /// `γ = tan α`, the angle of the angular term.
    pub gamma: f64,
    /// Weight `λ` of the angular term.
    pub lambda: f64,
    /// Temperature `S` multiplying both variables.
    pub scale: f64,
    /// Extra factor `a` on the ranking variable.
    pub rank_scale: f64,
    /// Constant added to `y` (0, or `(1 − 3γ²)r` when kept).
    pub offset: f64,
}

impl Objective {
    /// Coefficients of `y = g2·(ip_uk + ip_jk) − g1·ip_uj + offset`: `(g2, g1) = (2γ², 1 + γ²)`.
    pub fn angular_coefficients(&self) -> (f64, f64) {
        let g = self.gamma * self.gamma;
        (2.0 * g, 1.0 + g)
    }

    /// The scaled variables `(S·a·x, S·y)` of a triplet from its three inner products.
    #[inline]
    pub fn variables(&self, ip_uj: f64, ip_uk: f64, ip_jk: f64) -> (f64, f64) {
        let (g2, g1) = self.angular_coefficients();
        let x = (ip_uk - ip_uj) / (2.0 * self.bits as f64);
        let y = g2 * (ip_uk + ip_jk) - g1 * ip_uj + self.offset;
        (self.scale * self.rank_scale * x, self.scale * y)
    }

    /// The loss `sp(S·a·x) + λ·sp(S·y)` of a triplet from its three inner products.
    #[inline]
    pub fn loss(&self, ip_uj: f64, ip_uk: f64, ip_jk: f64) -> f64 {
        let (zx, zy) = self.variables(ip_uj, ip_uk, ip_jk);
        softplus(zx) + self.lambda * softplus(zy)
    }

    /// The factor turning a ranking-variable direction `(d_k − d_j)/(2r)`-style vector into its scaled
    /// `w`: `S·a/(2r)`.
    pub fn rank_factor(&self) -> f64 {
        self.scale * self.rank_scale / (2.0 * self.bits as f64)
    }
}

/// The quadratic `vᵀCv + eᵀv` of one block (a user's or an item's code), accumulated from terms: the
/// rank-1 parts of `C` are kept as rows of `A` (`C = AᵀA`, formed by [`Block::matrix`]).
#[derive(Debug, Clone)]
pub struct Block {
    bits: usize,
    rows: Vec<f32>,
    /// The linear part `e`.
    pub linear: Vec<f64>,
}

impl Block {
    /// An empty block for codes of `bits` bits.
    pub fn new(bits: usize) -> Self {
        Block { bits, rows: Vec::new(), linear: vec![0.0; bits] }
    }

    /// Empties the block.
    pub fn clear(&mut self) {
        self.rows.clear();
        self.linear.iter_mut().for_each(|e| *e = 0.0);
    }

    /// Whether no term was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds the bound of `s·sp(z)` at the current `z = ξ`, where `z = wᵀv + c0` and `w` is
    /// `Σ coef·vector` over `parts`.
    #[inline]
    pub fn add(&mut self, s: f64, xi: f64, c0: f64, parts: &[(f64, &[f32])]) {
        let r = rho(xi);
        let root = (s * r).sqrt() as f32;
        let lin = s * (2.0 * r * c0 + 0.5);
        let at = self.rows.len();
        self.rows.resize(at + self.bits, 0.0);
        let row = &mut self.rows[at..];
        for &(coef, v) in parts {
            let c = coef as f32;
            for (o, &x) in row.iter_mut().zip(v) {
                *o += c * x;
            }
        }
        for (e, &w) in self.linear.iter_mut().zip(row.iter()) {
            *e += lin * f64::from(w);
        }
        row.iter_mut().for_each(|w| *w *= root);
    }

    /// The matrix `C = AᵀA` (`bits × bits`, symmetric), written into `c`.
    pub fn matrix(&self, c: &mut Vec<f32>) {
        use faer::linalg::matmul::matmul;
        use faer::{Accum, MatMut, MatRef, Par};
        let r = self.bits;
        c.clear();
        c.resize(r * r, 0.0);
        let n = self.rows.len() / r;
        if n == 0 {
            return;
        }
        let at = MatRef::from_column_major_slice(&self.rows, r, n);
        matmul(
            MatMut::from_column_major_slice_mut(c, r, r),
            Accum::Replace,
            at,
            at.transpose(),
            1.0,
            Par::Seq,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_above_softplus_and_tight_at_the_expansion_point() {
        for xi in [-7.5, -2.0, -0.3, 0.0, 1e-8, 0.4, 1.0, 3.0, 12.0] {
            assert!((bound(xi, xi) - softplus(xi)).abs() < 1e-12, "tight at ξ = {xi}");
            assert!((bound(-xi, xi) - softplus(-xi)).abs() < 1e-12, "tight at −ξ = {xi}");
            for k in -40..=40 {
                let z = f64::from(k) * 0.37;
                assert!(bound(z, xi) >= softplus(z) - 1e-12, "z = {z}, ξ = {xi}");
            }
        }
        assert!((rho(0.0) - 0.125).abs() < 1e-15);
        assert!((rho(1e-5) - (sigmoid(1e-5) - 0.5) / 2e-5).abs() < 1e-9);
        assert!((rho(2.0) - (sigmoid(2.0) - 0.5) / 4.0).abs() < 1e-15);
        assert_eq!(rho(3.0), rho(-3.0));
    }

    #[test]
    fn softplus_is_stable_far_out() {
        assert_eq!(softplus(1000.0), 1000.0);
        assert!(softplus(-1000.0) >= 0.0 && softplus(-1000.0) < 1e-300);
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn the_hamming_forms_equal_the_inner_product_forms() {
        // x = (H_uj − H_uk)/r and y = (3γ² − 1)r + 2(1+γ²)H_uj − 4γ²(H_uk + H_jk) (dsiml.md §3.3, §4.1).
        let r = 20usize;
        let code = |seed: u32| -> Vec<f64> {
            (0..r as u32)
                .map(|t| if (t * 7 + seed * 13 + t * t * seed) % 5 < 2 { 1.0 } else { -1.0 })
                .collect()
        };
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let ham = |a: &[f64], b: &[f64]| a.iter().zip(b).filter(|(x, y)| x != y).count() as f64;
        for gamma in [0.7, 1.0, 1.3] {
            let o = Objective { bits: r, gamma, lambda: 1.0, scale: 1.0, rank_scale: 1.0, offset: 0.0 };
            for s in 1..6 {
                let (b, dj, dk) = (code(s), code(s + 10), code(s + 20));
                let (x, y) = o.variables(dot(&b, &dj), dot(&b, &dk), dot(&dj, &dk));
                let g = gamma * gamma;
                let hx = (ham(&b, &dj) - ham(&b, &dk)) / r as f64;
                let hy = (3.0 * g - 1.0) * r as f64 + 2.0 * (1.0 + g) * ham(&b, &dj)
                    - 4.0 * g * (ham(&b, &dk) + ham(&dj, &dk));
                assert!((x - hx).abs() < 1e-12 && (y - hy).abs() < 1e-9, "γ {gamma}: {x} {hx} {y} {hy}");
                // The inner-product form of y itself (dsiml.md §3.3): 2γ²(b + d_j)ᵀd_k − (1+γ²)bᵀd_j.
                let sum: Vec<f64> = b.iter().zip(&dj).map(|(p, q)| p + q).collect();
                assert!((y - (2.0 * g * dot(&sum, &dk) - (1.0 + g) * dot(&b, &dj))).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn a_block_of_terms_is_their_bound_up_to_a_constant() {
        let (r, xi, c0) = (3usize, 0.8, 0.25);
        let (p, q) = ([1.0f32, -1.0, 1.0], [0.5f32, 0.5, -1.0]);
        let mut block = Block::new(r);
        block.add(2.0, xi, c0, &[(1.0, &p), (-0.5, &q)]);
        let mut c = Vec::new();
        block.matrix(&mut c);
        let w: Vec<f64> = p.iter().zip(&q).map(|(a, b)| f64::from(*a) - 0.5 * f64::from(*b)).collect();
        let mut diffs = Vec::new();
        for m in 0..8u32 {
            let v: Vec<f64> = (0..r).map(|t| if m >> t & 1 == 1 { 1.0 } else { -1.0 }).collect();
            let z = w.iter().zip(&v).map(|(a, b)| a * b).sum::<f64>() + c0;
            let quad: f64 = (0..r)
                .flat_map(|a| (0..r).map(move |b| (a, b)))
                .map(|(a, b)| f64::from(c[a * r + b]) * v[a] * v[b])
                .sum::<f64>()
                + block.linear.iter().zip(&v).map(|(e, x)| e * x).sum::<f64>();
            diffs.push(2.0 * bound(z, xi) - quad);
        }
        assert!(diffs.iter().all(|d| (d - diffs[0]).abs() < 1e-5), "{diffs:?}");
    }
}
