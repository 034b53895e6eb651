//! The triplet hinge on squared distances between unit points: `max(‖u − p‖² − ‖u − n‖² + m, 0)` for a
//! user point `u`, a positive item point `p` and a negative `n`, with its gradients at the three points.

/// One triplet's loss at the points `[u, p, n]`, and its gradients added into `[du, dp, dn]` scaled by
/// `scale` (nothing added when the hinge is inactive).
pub fn triplet(points: [&[f32]; 3], margin: f32, scale: f32, grads: [&mut [f32]; 3]) -> f32 {
    let [u, p, n] = points;
    let [du, dp, dn] = grads;
    let d_pos = squared_distance(u, p);
    let d_neg = squared_distance(u, n);
    let loss = d_pos - d_neg + margin;
    if loss <= 0.0 {
        return 0.0;
    }
    // ∂‖u−p‖²/∂u = 2(u−p), ∂‖u−n‖²/∂u = 2(u−n): ∂L/∂u = 2(n−p), ∂L/∂p = −2(u−p), ∂L/∂n = 2(u−n).
    for k in 0..u.len() {
        du[k] += scale * 2.0 * (n[k] - p[k]);
        dp[k] -= scale * 2.0 * (u[k] - p[k]);
        dn[k] += scale * 2.0 * (u[k] - n[k]);
    }
    loss
}

/// `‖a − b‖²`.
pub fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::nn::testing::{check_gradient, random_matrix};
    use crate::models::nn::Matrix;

    fn loss_of(points: &Matrix, margin: f32) -> f64 {
        let (mut du, mut dp, mut dn) = (vec![0.0; 4], vec![0.0; 4], vec![0.0; 4]);
        f64::from(triplet(
            [points.row(0), points.row(1), points.row(2)],
            margin,
            1.0,
            [&mut du, &mut dp, &mut dn],
        ))
    }

    #[test]
    fn the_gradient_matches_finite_differences_and_an_inactive_hinge_is_flat() {
        let points = random_matrix(3, 4, 5);
        // A margin that keeps the hinge active at this point and its neighbours.
        let margin = 10.0;
        let mut grad = Matrix::zeros(3, 4);
        let (mut du, mut dp, mut dn) = (vec![0.0; 4], vec![0.0; 4], vec![0.0; 4]);
        let loss =
            triplet([points.row(0), points.row(1), points.row(2)], margin, 1.0, [&mut du, &mut dp, &mut dn]);
        assert!(loss > 0.0);
        grad.row_mut(0).copy_from_slice(&du);
        grad.row_mut(1).copy_from_slice(&dp);
        grad.row_mut(2).copy_from_slice(&dn);
        check_gradient(&points, &grad, |x| loss_of(x, margin), "triplet hinge");
        // u = p, n far: the loss is 0 − ‖u − n‖² + m < 0, so inactive, with zero gradients.
        let (u, n) = ([1.0f32, 0.0], [-1.0f32, 0.0]);
        let (mut du, mut dp, mut dn) = (vec![0.0; 2], vec![0.0; 2], vec![0.0; 2]);
        assert_eq!(triplet([&u, &u, &n], 0.5, 1.0, [&mut du, &mut dp, &mut dn]), 0.0);
        assert!(du.iter().chain(&dp).chain(&dn).all(|&g| g == 0.0));
        // u = n, p opposite: 4 − 0 + 0.5.
        assert!((triplet([&u, &n, &u], 0.5, 1.0, [&mut du, &mut dp, &mut dn]) - 4.5).abs() < 1e-6);
    }
}
