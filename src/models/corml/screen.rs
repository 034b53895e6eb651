//! A screening pass over corml's spectral vectors for one user's top items: the vectors kept again as
//! 8-bit integers (a quarter of the bytes a full pass reads), an approximate `V_j · y` for every item
//! with a bound on its error, and the exact `f32` score only for the items whose bound reaches the
//! k-th best lower bound. The answer is the full pass's, not an approximation of it.
//!
//! Item `j`'s vector is stored as `V_j ≈ s_j · q_j` with `q_j ∈ [−127, 127]^k` and the user's as
//! `y ≈ s_y · p` with `p` 16-bit, so `V_j · y ≈ s_j s_y (q_j · p)`, an integer dot product. With
//! `|V_j − s_j q_j| ≤ s_j / 2` and `|y − s_y p| ≤ s_y / 2` per component, the error is at most
//! `s_j (‖y‖₁ + s_y ‖q_j‖₁) / 2`, widened by [`SLACK`] for the rounding of the `f32` arithmetic.

use crate::models::HeapBytes;
#[cfg(target_arch = "x86_64")]
use faer::traits::pulp::{bytemuck, i16x16, i8x16, x86, Simd, WithSimd};

/// The relative widening of each error bound, for the rounding of the `f32` arithmetic on both sides
/// (at most `4096 · 2⁻²⁴ · 127 ≈ 0.03` of `s_j ‖y‖₁` for the largest `k`, against the bound's `0.5`):
/// generous, and still far below anything that would let the screen pass many more items.
const SLACK: f32 = 1.25;

/// The spectral vectors as 8-bit integers, one scale per item.
pub(super) struct Quantised {
    k: usize,
    /// `n × k`, item-major.
    codes: Vec<i8>,
    /// `s_j`: the largest magnitude of item `j`'s vector over 127.
    scales: Vec<f32>,
    /// `‖q_j‖₁` of each item.
    l1: Vec<f32>,
}

impl HeapBytes for Quantised {
    fn heap_bytes(&self) -> usize {
        self.codes.heap_bytes() + self.scales.heap_bytes() + self.l1.heap_bytes()
    }
}

/// The screen's view of one user: the approximate dot product of every item with its error bound.
pub(super) struct Screened {
    /// `s_j s_y (q_j · p)` per item.
    pub approx: Vec<f32>,
    /// The bound on `|V_j · y − approx_j|` per item.
    pub error: Vec<f32>,
}

impl Quantised {
    /// The item-major `vectors` (`k` per item) quantised.
    pub fn new(vectors: &[f32], k: usize) -> Quantised {
        let rows = vectors.chunks_exact(k.max(1));
        let mut codes = Vec::with_capacity(vectors.len());
        let mut scales = Vec::with_capacity(rows.len());
        let mut l1 = Vec::with_capacity(rows.len());
        for row in rows {
            let scale = row.iter().fold(0f32, |m, x| m.max(x.abs())) / 127.0;
            let inverse = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            let mut sum = 0u32;
            for &x in row {
                let q = (x * inverse).round().clamp(-127.0, 127.0) as i8;
                sum += q.unsigned_abs() as u32;
                codes.push(q);
            }
            scales.push(scale);
            l1.push(sum as f32);
        }
        Quantised { k, codes, scales, l1 }
    }

    /// The user's side of the screen for `y` (the same length as each item's vector), or `None` when
    /// `y` is not finite or of another length.
    pub fn query<'a>(&'a self, y: &[f32]) -> Option<Query<'a>> {
        let largest = y.iter().fold(0f32, |m, x| m.max(x.abs()));
        if !largest.is_finite() || y.len() != self.k {
            return None;
        }
        let scale_y = largest / 32767.0;
        let inverse = if scale_y > 0.0 { 1.0 / scale_y } else { 0.0 };
        let p = y.iter().map(|x| (x * inverse).round().clamp(-32767.0, 32767.0) as i16).collect();
        let y_l1 = y.iter().map(|x| x.abs()).sum();
        Some(Query { items: self, p, scale_y, y_l1 })
    }
}

/// One user's `y` quantised to 16 bits (`y ≈ s_y · p`), ready to screen any items.
pub(super) struct Query<'a> {
    items: &'a Quantised,
    p: Vec<i16>,
    scale_y: f32,
    /// `‖y‖₁`.
    y_l1: f32,
}

impl Query<'_> {
    /// The approximate `V_j · y` of each of `items` and its bound, aligned with `items`.
    pub fn screen(&self, items: &[u32]) -> Screened {
        let q = self.items;
        let mut dots = vec![0i32; items.len()];
        integer_dots(&q.codes, items, &self.p, &mut dots);
        let scale = |j: u32| q.scales.get(j as usize).copied().unwrap_or(0.0);
        let approx = dots.iter().zip(items).map(|(&d, &j)| d as f32 * scale(j) * self.scale_y).collect();
        let error = items
            .iter()
            .map(|&j| {
                let l1 = q.l1.get(j as usize).copied().unwrap_or(0.0);
                SLACK * 0.5 * scale(j) * (self.y_l1 + self.scale_y * l1)
            })
            .collect();
        Screened { approx, error }
    }
}

/// `out[i] = q_j · p` for each row `q_j` of `codes` (each `p.len()` long) that `items` names, 0 for a
/// row past the end. The sums cannot overflow: at most 4,096 terms of `127 · 32767`.
fn integer_dots(codes: &[i8], items: &[u32], p: &[i16], out: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v3) = x86::V3::try_new() {
        return Simd::vectorize(v3, Avx2Dots { v3, codes, items, p, out });
    }
    for (o, row) in out.iter_mut().zip(rows(codes, items, p.len())) {
        *o = row.iter().zip(p).map(|(&q, &p)| i32::from(q) * i32::from(p)).sum();
    }
}

/// The rows of `codes` (each `k` long) that `items` names; an empty row for one past the end.
fn rows<'a>(codes: &'a [i8], items: &'a [u32], k: usize) -> impl Iterator<Item = &'a [i8]> + 'a {
    items.iter().map(move |&j| codes.get(j as usize * k..(j as usize + 1) * k).unwrap_or(&[]))
}

/// [`integer_dots`] with AVX2 (`Simd::vectorize` compiles it with the instructions enabled): sixteen
/// codes widened to 16 bits and multiplied-and-added in pairs into eight 32-bit lanes per instruction
/// (`vpmovsxbw`, `vpmaddwd`).
#[cfg(target_arch = "x86_64")]
struct Avx2Dots<'a> {
    v3: x86::V3,
    codes: &'a [i8],
    items: &'a [u32],
    p: &'a [i16],
    out: &'a mut [i32],
}

#[cfg(target_arch = "x86_64")]
impl WithSimd for Avx2Dots<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let v3 = self.v3;
        let wide = self.p.chunks_exact(16);
        let tail = wide.remainder();
        let wide: Vec<i16x16> = wide.map(|c| bytemuck::pod_read_unaligned(bytemuck::cast_slice(c))).collect();
        let head = 16 * wide.len();
        // One 16-byte load (reading the slice as `i8x16` directly compiles to sixteen), widened.
        let load = |q: &[i8]| {
            let bytes: [u8; 16] = bytemuck::cast_slice::<i8, u8>(q).try_into().unwrap_or_default();
            v3.convert_i8x16_to_i16x16(bytemuck::cast::<u128, i8x16>(u128::from_le_bytes(bytes)))
        };
        let finish = |sum, row: &[i8]| {
            let lanes: [i32; 8] = bytemuck::cast(sum);
            let rest = row.get(head..).unwrap_or(&[]).iter().zip(tail);
            let rest: i32 = rest.map(|(&q, &p)| i32::from(q) * i32::from(p)).sum();
            lanes.iter().fold(rest, |a, &b| a.wrapping_add(b))
        };
        let one = |row: &[i8]| {
            let mut sum = v3.splat_u32x8(0);
            for (q, &p) in row.chunks_exact(16).zip(&wide) {
                sum = v3.add_u32s(sum, bytemuck::cast(v3.multiply_wrapping_add_adjacent_i16x16(load(q), p)));
            }
            finish(sum, row)
        };
        let rows: Vec<&[i8]> = rows(self.codes, self.items, self.p.len()).collect();
        // Two rows at a time share each load of `p` and keep two sums in flight.
        for (out, pair) in self.out.chunks_mut(2).zip(rows.chunks(2)) {
            match (out, pair) {
                ([a, b], &[row_a, row_b]) if row_a.len() >= head && row_b.len() >= head => {
                    let (mut sum_a, mut sum_b) = (v3.splat_u32x8(0), v3.splat_u32x8(0));
                    for ((qa, qb), &p) in row_a.chunks_exact(16).zip(row_b.chunks_exact(16)).zip(&wide) {
                        let product =
                            |q| bytemuck::cast(v3.multiply_wrapping_add_adjacent_i16x16(load(q), p));
                        sum_a = v3.add_u32s(sum_a, product(qa));
                        sum_b = v3.add_u32s(sum_b, product(qb));
                    }
                    (*a, *b) = (finish(sum_a, row_a), finish(sum_b, row_b));
                }
                (out, pair) => out.iter_mut().zip(pair).for_each(|(o, row)| *o = one(row)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exact_dot_lies_within_its_bound() {
        let (n, k) = (300, 64);
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let vectors: Vec<f32> = (0..n * k).map(|i| next() * if i % 7 == 0 { 10.0 } else { 1.0 }).collect();
        let y: Vec<f32> = (0..k).map(|_| next() * 3.0).collect();
        let quantised = Quantised::new(&vectors, k);
        let all: Vec<u32> = (0..n as u32).collect();
        let query = quantised.query(&y).expect("finite");
        let screened = query.screen(&all);
        let some = query.screen(&[7, 3, n as u32]);
        assert_eq!(some.approx[..2], [screened.approx[7], screened.approx[3]]);
        assert_eq!(some.approx[2], 0.0, "an item past the end reads as zero");
        let mixed = query.screen(&[7, n as u32, 3]);
        assert_eq!(
            mixed.approx,
            [screened.approx[7], 0.0, screened.approx[3]],
            "a pair with a row past the end"
        );
        let (mut widest, mut magnitude) = (0f32, 0f32);
        for (j, row) in vectors.chunks_exact(k).enumerate() {
            let exact: f32 = row.iter().zip(&y).map(|(a, b)| a * b).sum();
            let off = (exact - screened.approx[j]).abs();
            assert!(off <= screened.error[j], "item {j}: off by {off}, bound {}", screened.error[j]);
            widest = widest.max(off / screened.error[j]);
            magnitude += exact.abs() / n as f32;
        }
        assert!(widest > 0.0, "the approximation is not exact, so the test means something");
        let mean_error = screened.error.iter().sum::<f32>() / n as f32;
        assert!(
            mean_error < 0.2 * magnitude,
            "bounds tight enough to screen: {mean_error} against {magnitude}"
        );
        let mut infinite = y.clone();
        infinite[3] = f32::INFINITY;
        assert!(quantised.query(&infinite).is_none());
        assert!(quantised.query(&y[1..]).is_none(), "a vector of another length");
    }
}
