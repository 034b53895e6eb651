//! A multilayer perceptron: dense layers each followed by an activation, run forward on a batch while a
//! [`Tape`] keeps what the backward pass needs, and backward from the gradient at the output to the
//! gradients of every parameter (and of a dense input).

use rand_xoshiro::Xoshiro256PlusPlus;

use super::layers::{Activation, Dense, DenseGrad, Input};
use super::matrix::Matrix;
use crate::models::HeapBytes;

/// A stack of dense layers with their activations.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    layers: Vec<(Dense, Activation)>,
}

impl HeapBytes for Mlp {
    fn heap_bytes(&self) -> usize {
        self.layers.iter().map(|(dense, _)| dense.heap_bytes()).sum()
    }
}

/// What a forward pass keeps for the backward pass: every layer's output after its activation.
#[derive(Debug, Clone)]
pub struct Tape {
    outputs: Vec<Matrix>,
}

impl Tape {
    /// The network's output, one row per example.
    pub fn output(&self) -> &Matrix {
        // A network has at least one layer (checked when it is built).
        &self.outputs[self.outputs.len() - 1]
    }
}

/// The gradients of every layer of an [`Mlp`], shaped like its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Grads {
    layers: Vec<DenseGrad>,
}

impl Grads {
    /// Every gradient tensor, in the order of [`Mlp::parameters_mut`].
    pub fn slices(&self) -> Vec<&[f32]> {
        self.layers.iter().flat_map(|g| [g.weight.as_slice(), g.bias.as_slice()]).collect()
    }

    /// Sets every gradient to zero.
    pub fn clear(&mut self) {
        for g in &mut self.layers {
            g.weight.as_mut_slice().iter_mut().for_each(|v| *v = 0.0);
            g.bias.iter_mut().for_each(|v| *v = 0.0);
        }
    }

    /// Every gradient tensor, in the order of [`Mlp::parameters_mut`], to update (or clear) in place.
    pub fn slices_mut(&mut self) -> Vec<&mut [f32]> {
        self.layers.iter_mut().flat_map(|g| [g.weight.as_mut_slice(), g.bias.as_mut_slice()]).collect()
    }

    /// The gradient of layer `k`.
    pub fn layer(&self, k: usize) -> &DenseGrad {
        &self.layers[k]
    }
}

impl Mlp {
    /// A network through the layer widths `sizes` (input first, at least two widths), with `hidden`
    /// after every layer but the last and `output` after the last, weights drawn from `rng` (He's range
    /// before a ReLU, Glorot's otherwise). `None` for fewer than two widths.
    pub fn new(
        sizes: &[usize],
        hidden: Activation,
        output: Activation,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Option<Mlp> {
        let n = sizes.len().checked_sub(1).filter(|&n| n > 0)?;
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(k, w)| {
                let act = if k + 1 == n { output } else { hidden };
                let gain = if act == Activation::Relu { 2.0 } else { 1.0 };
                (Dense::new(w[0], w[1], gain, rng), act)
            })
            .collect();
        Some(Mlp { layers })
    }

    /// The network of given layers; `None` when there are none or one's outputs are not the next's
    /// inputs, or a bias is not as long as its layer's outputs.
    pub fn from_layers(layers: Vec<(Dense, Activation)>) -> Option<Mlp> {
        let chained = layers.windows(2).all(|w| w[0].0.outputs() == w[1].0.inputs());
        let biased = layers.iter().all(|(d, _)| d.bias.len() == d.outputs());
        (!layers.is_empty() && chained && biased).then_some(Mlp { layers })
    }

    /// The layers with their activations.
    pub fn layers(&self) -> &[(Dense, Activation)] {
        &self.layers
    }

    /// Replaces the last layer's activation (to anneal a scaled tanh, say).
    pub fn set_output_activation(&mut self, act: Activation) {
        if let Some(last) = self.layers.last_mut() {
            last.1 = act;
        }
    }

    /// Width of the input.
    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.0.inputs())
    }

    /// Width of the output.
    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.0.outputs())
    }

    /// Runs the batch `x` forward, keeping every layer's output.
    pub fn forward(&self, x: Input<'_>) -> Tape {
        let mut outputs: Vec<Matrix> = Vec::with_capacity(self.layers.len());
        for (k, (layer, act)) in self.layers.iter().enumerate() {
            let mut y = match k {
                0 => layer.forward(x),
                _ => layer.forward(Input::Dense(&outputs[k - 1])),
            };
            act.forward(y.as_mut_slice());
            outputs.push(y);
        }
        Tape { outputs }
    }

    /// The output for the batch `x`, keeping nothing else.
    pub fn predict(&self, x: Input<'_>) -> Matrix {
        let mut tape = self.forward(x);
        tape.outputs.pop().unwrap_or_else(|| Matrix::zeros(x.rows(), 0))
    }

    /// Backward from `d_out`, the gradient of the loss at the output of the forward pass `tape` of
    /// input `x`: adds every parameter's gradient into `grads` and returns the gradient at a dense
    /// input (`None` for a sparse one).
    pub fn backward(
        &self,
        x: Input<'_>,
        tape: &Tape,
        mut d_out: Matrix,
        grads: &mut Grads,
    ) -> Option<Matrix> {
        for k in (0..self.layers.len()).rev() {
            let (layer, act) = &self.layers[k];
            act.backward(tape.outputs[k].as_slice(), d_out.as_mut_slice());
            let input = if k == 0 { x } else { Input::Dense(&tape.outputs[k - 1]) };
            match layer.backward(input, &d_out, &mut grads.layers[k]) {
                Some(dx) => d_out = dx,
                None => return None,
            }
        }
        Some(d_out)
    }

    /// Zero gradients shaped like the parameters.
    pub fn zero_grads(&self) -> Grads {
        Grads { layers: self.layers.iter().map(|(d, _)| d.zero_grad()).collect() }
    }

    /// Every parameter tensor (each layer's weights, then its biases), to update.
    pub fn parameters_mut(&mut self) -> Vec<&mut [f32]> {
        self.layers.iter_mut().flat_map(|(d, _)| [d.weight.as_mut_slice(), d.bias.as_mut_slice()]).collect()
    }

    /// The length of every parameter tensor, in the order of [`Mlp::parameters_mut`].
    pub fn parameter_sizes(&self) -> Vec<usize> {
        self.layers.iter().flat_map(|(d, _)| [d.weight.as_slice().len(), d.bias.len()]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::nn::matrix::SparseRows;
    use crate::models::nn::testing::{check_gradient, random_matrix};
    use rand::SeedableRng;

    fn net(output: Activation) -> Mlp {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        Mlp::new(&[6, 5, 4, 3], Activation::Relu, output, &mut rng).expect("widths")
    }

    fn weighted(y: &Matrix, c: &Matrix) -> f64 {
        y.as_slice().iter().zip(c.as_slice()).map(|(a, b)| f64::from(a * b)).sum()
    }

    #[test]
    fn the_whole_backward_pass_matches_finite_differences() {
        let x = random_matrix(4, 6, 12);
        let c = random_matrix(4, 3, 13);
        for output in [Activation::Identity, Activation::Tanh(2.0)] {
            let mlp = net(output);
            let tape = mlp.forward(Input::Dense(&x));
            let mut grads = mlp.zero_grads();
            let dx = mlp.backward(Input::Dense(&x), &tape, c.clone(), &mut grads).expect("dense");
            check_gradient(&x, &dx, |x| weighted(&mlp.predict(Input::Dense(x)), &c), "mlp input");
            for k in 0..3 {
                let at = |w: &Matrix| {
                    let mut m = mlp.clone();
                    m.layers[k].0.weight = w.clone();
                    weighted(&m.predict(Input::Dense(&x)), &c)
                };
                check_gradient(&mlp.layers[k].0.weight, &grads.layer(k).weight, at, &format!("layer {k}"));
            }
        }
    }

    #[test]
    fn sparse_and_dense_inputs_agree_and_shapes_are_checked() {
        let mlp = net(Activation::Identity);
        let (indptr, indices) = ([0usize, 2, 3], [0u32, 5, 3]);
        let sparse = SparseRows { indptr: &indptr, indices: &indices, values: None };
        let mut dense = Matrix::zeros(2, 6);
        dense.as_mut_slice()[0] = 1.0;
        dense.as_mut_slice()[5] = 1.0;
        dense.as_mut_slice()[9] = 1.0;
        let (a, b) = (mlp.predict(Input::Sparse(sparse)), mlp.predict(Input::Dense(&dense)));
        assert!(a.as_slice().iter().zip(b.as_slice()).all(|(x, y)| (x - y).abs() < 1e-5));
        assert_eq!((mlp.inputs(), mlp.outputs()), (6, 3));
        assert_eq!(mlp.parameter_sizes(), vec![30, 5, 20, 4, 12, 3]);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        assert!(Mlp::new(&[4], Activation::Relu, Activation::Identity, &mut rng).is_none());
        let mut layers = mlp.layers().to_vec();
        assert_eq!(Mlp::from_layers(layers.clone()).as_ref(), Some(&mlp));
        layers.swap(0, 1);
        assert!(Mlp::from_layers(layers).is_none(), "5 outputs feed 6 inputs");
    }
}
