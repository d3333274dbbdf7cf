//! The dense linear algebra of mahalanobis's parameter: the Cholesky factor of `VI` (or of the
//! covariance) and the inverse of a triangular factor, in f64.
//!
//! Both are blocked so that nearly all their d³/3 flops are matrix products (ndarray's `dot`,
//! matrixmultiply's GEMM), split over the cores by rows; only blocks of [`NB`] columns are
//! done element by element. Unblocked loops ran at well under 1 GFLOP/s and took most of a
//! mahalanobis call once d reached about 1000.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;

/// Columns per block: small enough that a block's element-wise work is negligible next to
/// the products, large enough for those products to run near the GEMM's speed.
const NB: usize = 64;

/// Rows per task of the parallel products.
const ROWS_PER_TASK: usize = 64;

/// The lower-triangular `L` with `L Lᵀ = a` for a symmetric positive semi-definite `a` (only
/// its lower triangle is read). A pivot within rounding of zero gives a zero column (a
/// semi-definite `a`); `None` if `a` is not positive semi-definite, or holds NaN.
pub(crate) fn cholesky(a: &Array2<f64>) -> Option<Array2<f64>> {
    let d = a.nrows();
    let scale = (0..d).map(|k| a[(k, k)].abs()).fold(0.0, f64::max);
    let tiny = scale * d as f64 * f64::EPSILON * 16.0;
    // Right-looking: factor a block of columns, then subtract its part from the rest.
    let mut l = a.clone();
    for k0 in (0..d).step_by(NB) {
        let k1 = (k0 + NB).min(d);
        // The diagonal block (earlier blocks' parts already subtracted), column by column.
        for j in k0..k1 {
            let pivot = l[(j, j)] - (k0..j).map(|k| l[(j, k)] * l[(j, k)]).sum::<f64>();
            if pivot <= tiny || pivot.is_nan() {
                if pivot < -tiny || pivot.is_nan() {
                    return None;
                }
                // Semi-definite: this column is zero (the panel below sees its zero pivot).
                l.slice_mut(s![j.., j]).fill(0.0);
                continue;
            }
            let root = pivot.sqrt();
            l[(j, j)] = root;
            for i in j + 1..k1 {
                let dot = (k0..j).map(|k| l[(i, k)] * l[(j, k)]).sum::<f64>();
                l[(i, j)] = (l[(i, j)] - dot) / root;
            }
        }
        if k1 == d {
            break;
        }
        // The panel below it: rows solved against the block's factor, independently.
        let block = l.slice(s![k0..k1, k0..k1]).to_owned();
        l.slice_mut(s![k1.., k0..k1]).axis_iter_mut(Axis(0)).into_par_iter().for_each(|mut row| {
            for j in 0..k1 - k0 {
                let root = block[(j, j)];
                row[j] = if root == 0.0 {
                    0.0
                } else {
                    (row[j] - (0..j).map(|k| row[k] * block[(j, k)]).sum::<f64>()) / root
                };
            }
        });
        // The rest, lower triangle only: a22 −= l21 l21ᵀ.
        let panel = l.slice(s![k1.., k0..k1]).to_owned();
        subtract_lower_product(l.slice_mut(s![k1.., k1..]), panel.view());
    }
    // Only the lower triangle is the factor; the upper still holds `a`.
    for i in 0..d {
        l.slice_mut(s![i, i + 1..]).fill(0.0);
    }
    Some(l)
}

/// `out −= p pᵀ` on and below the diagonal of the square `out`, in bands of rows on all cores.
fn subtract_lower_product(mut out: ArrayViewMut2<f64>, p: ArrayView2<f64>) {
    out.axis_chunks_iter_mut(Axis(0), ROWS_PER_TASK).into_par_iter().enumerate().for_each(|(b, mut band)| {
        let (r0, r1) = (b * ROWS_PER_TASK, b * ROWS_PER_TASK + band.nrows());
        let product = p.slice(s![r0..r1, ..]).dot(&p.slice(s![..r1, ..]).t());
        band.slice_mut(s![.., ..r1]).zip_mut_with(&product, |o, v| *o -= v);
    });
}

/// The inverse of a lower-triangular matrix with a nonzero diagonal.
///
/// Row `i` of `L⁻¹` is `(eᵢ − Σₖ₍ₖ₌₀..ᵢ₎ L[i, k] · row k) / L[i, i]`: for a block of rows, the
/// rows of earlier blocks enter through one matrix product, and the block's own rows by
/// substitution.
pub(crate) fn lower_inverse(c: &Array2<f64>) -> Array2<f64> {
    let d = c.nrows();
    let mut inv = Array2::<f64>::zeros((d, d));
    for i0 in (0..d).step_by(NB) {
        let i1 = (i0 + NB).min(d);
        // Only columns < i1 of these rows are nonzero.
        let mut rows = Array2::<f64>::zeros((i1 - i0, i1));
        if i0 > 0 {
            let earlier = inv.slice(s![..i0, ..i0]);
            let coefficients = c.slice(s![i0..i1, ..i0]);
            let mut left = rows.slice_mut(s![.., ..i0]);
            left.axis_chunks_iter_mut(Axis(0), 8).into_par_iter().enumerate().for_each(|(b, mut part)| {
                let product = coefficients.slice(s![b * 8..b * 8 + part.nrows(), ..]).dot(&earlier);
                part.zip_mut_with(&product, |o, v| *o = -v);
            });
        }
        for r in 0..i1 - i0 {
            rows[(r, i0 + r)] += 1.0;
            for q in 0..r {
                let f = c[(i0 + r, i0 + q)];
                if f != 0.0 {
                    let (above, mut below) = rows.view_mut().split_at(Axis(0), r);
                    below.row_mut(0).scaled_add(-f, &above.row(q));
                }
            }
            let diagonal = c[(i0 + r, i0 + r)];
            rows.row_mut(r).mapv_inplace(|v| v / diagonal);
        }
        inv.slice_mut(s![i0..i1, ..i1]).assign(&rows);
    }
    inv
}

#[cfg(test)]
mod tests {
    use ndarray::array;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn assert_near(got: &Array2<f64>, want: &Array2<f64>, tol: f64, what: &str) {
        for ((i, j), v) in got.indexed_iter() {
            assert!((v - want[(i, j)]).abs() <= tol, "{what} at ({i}, {j}): {v} vs {}", want[(i, j)]);
        }
    }

    #[test]
    fn small_matrices_factor_and_invert() {
        let a = array![[4.0, 2.0, 0.4], [2.0, 3.0, 0.5], [0.4, 0.5, 2.0]];
        let l = cholesky(&a).unwrap();
        assert_near(&l.dot(&l.t()), &a, 1e-12, "L Lᵀ");
        assert_near(&lower_inverse(&l).dot(&l), &Array2::eye(3), 1e-12, "L⁻¹ L");
        // Semi-definite: rank one; indefinite: none.
        assert!(cholesky(&array![[1.0, 1.0], [1.0, 1.0]]).is_some());
        assert!(cholesky(&array![[1.0, 2.0], [2.0, 1.0]]).is_none());
        assert!(cholesky(&array![[f64::NAN]]).is_none());
    }

    /// Sizes across several blocks (and a partial last one): B Bᵀ of a random B, full rank, and
    /// of a B with fewer columns than rows (semi-definite: zero columns wherever they fall).
    #[test]
    fn blocked_matrices_factor_and_invert() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for (d, rank) in [(1, 1), (NB, NB), (NB + 1, NB + 1), (3 * NB + 17, 3 * NB + 17), (2 * NB + 5, NB + 3)] {
            let b = Array2::from_shape_simple_fn((d, rank), || rng.random_range(-1.0..1.0));
            let shift = if rank == d { 0.5 } else { 0.0 };
            let a: Array2<f64> = b.dot(&b.t()) + Array2::<f64>::eye(d) * shift;
            let l = cholesky(&a).unwrap_or_else(|| panic!("d = {d}, rank {rank}: not factored"));
            assert!((0..d).all(|i| (i + 1..d).all(|j| l[(i, j)] == 0.0)), "d = {d}: not lower-triangular");
            assert_near(&l.dot(&l.t()), &a, 1e-9 * d as f64, &format!("d = {d}, rank {rank}: L Lᵀ"));
            if rank == d {
                assert_near(&lower_inverse(&l).dot(&l), &Array2::eye(d), 1e-9, &format!("d = {d}: L⁻¹ L"));
            }
        }
        // Indefinite in a later block: none.
        let mut a = Array2::<f64>::eye(2 * NB + 3);
        a[(NB + 5, NB + 5)] = -1.0;
        assert!(cholesky(&a).is_none());
    }
}
