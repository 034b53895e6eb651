//! The binary quadratic program of one block, `min over v ∈ {±1}^r of q(v) = vᵀCv + eᵀv`, solved by
//! bitwise discrete coordinate descent (dsiml.md §6.3): starting from the current code, each bit `t` takes
//! `−sign(h_t)` with `h_t = 2·Σ_{s≠t} C_ts v_s + e_t` (kept when `h_t = 0`), sweeping until no bit flips
//! or [`MAX_SWEEPS`] sweeps. The result is accepted only if `q` decreased (accept-if-better), so a block
//! update never raises the bound (dsiml.md §6.2).

/// Most sweeps over the bits.
pub const MAX_SWEEPS: usize = 10;

/// `q(v)` without the diagonal of `C` (constant on `{±1}^r`).
pub fn quadratic(c: &[f32], e: &[f64], v: &[f32]) -> f64 {
    let r = v.len();
    let mut q = 0.0;
    for a in 0..r {
        let row = &c[a * r..(a + 1) * r];
        let off: f64 = (0..r).filter(|&b| b != a).map(|b| f64::from(row[b]) * f64::from(v[b])).sum();
        q += f64::from(v[a]) * off + e[a] * f64::from(v[a]);
    }
    q
}

/// Improves `v` (`±1` values) on `q` by coordinate descent; returns whether `v` changed (only when `q`
/// decreased).
pub fn solve(c: &[f32], e: &[f64], v: &mut [f32]) -> bool {
    let r = v.len();
    let mut cand = v.to_vec();
    // g = C_offdiag · v, kept up to date as bits flip.
    let mut g: Vec<f64> = (0..r)
        .map(|a| (0..r).filter(|&b| b != a).map(|b| f64::from(c[a * r + b]) * f64::from(cand[b])).sum())
        .collect();
    let mut flipped_any = false;
    for _ in 0..MAX_SWEEPS {
        let mut flipped = false;
        for t in 0..r {
            let h = 2.0 * g[t] + e[t];
            let best = if h > 0.0 {
                -1.0
            } else if h < 0.0 {
                1.0
            } else {
                cand[t]
            };
            if best != cand[t] {
                let delta = f64::from(best - cand[t]);
                cand[t] = best;
                for (a, ga) in g.iter_mut().enumerate() {
                    if a != t {
                        *ga += f64::from(c[a * r + t]) * delta;
                    }
                }
                flipped = true;
            }
        }
        if !flipped {
            break;
        }
        flipped_any = true;
    }
    if flipped_any && quadratic(c, e, &cand) < quadratic(c, e, v) {
        v.copy_from_slice(&cand);
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinate_descent_reaches_a_local_minimum_and_never_rises() {
        let r = 6;
        // A fixed indefinite symmetric matrix and vector.
        let c: Vec<f32> = (0..r * r)
            .map(|i| {
                let (a, b) = (i / r, i % r);
                (((a * 7 + b * 7 + a * b * 3) % 11) as f32 - 5.0) / 4.0
            })
            .collect();
        let e: Vec<f64> = (0..r).map(|t| (t as f64 - 2.5) * 0.7).collect();
        for start in 0..64u32 {
            let mut v: Vec<f32> = (0..r).map(|t| if start >> t & 1 == 1 { 1.0 } else { -1.0 }).collect();
            let before = quadratic(&c, &e, &v);
            let changed = solve(&c, &e, &mut v);
            let after = quadratic(&c, &e, &v);
            assert!(after <= before + 1e-12, "start {start}: {before} → {after}");
            assert_eq!(changed, after < before);
            // No single flip improves the result.
            for t in 0..r {
                let mut w = v.clone();
                w[t] = -w[t];
                assert!(quadratic(&c, &e, &w) >= after - 1e-9, "start {start}, bit {t}");
            }
        }
    }
}
