//! Adam, in the form Keras implements it (the seed's optimiser).

use burn::tensor::Tensor;

/// Adam's hyper-parameters; `Default` is Keras' `Adam(learning_rate=0.01)`
/// as the seed uses it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Step size. Default 0.01 (the seed's; Keras' own default is 0.001).
    pub learning_rate: f64,
    /// First-moment decay. Default 0.9.
    pub beta1: f64,
    /// Second-moment decay. Default 0.999.
    pub beta2: f64,
    /// Added to `sqrt(v)`. Default 1e-7 (Keras; PyTorch uses 1e-8).
    pub epsilon: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            learning_rate: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
        }
    }
}

/// Adam's state for one tensor.
#[derive(Debug, Clone)]
pub struct Adam<const D: usize> {
    config: AdamConfig,
    m: Option<Tensor<D>>,
    v: Option<Tensor<D>>,
    t: i32,
}

impl<const D: usize> Adam<D> {
    /// A fresh optimiser.
    pub fn new(config: AdamConfig) -> Self {
        Adam {
            config,
            m: None,
            v: None,
            t: 0,
        }
    }

    /// One step: returns `x` moved against `grad`.
    ///
    /// Keras' update: `m = b1 m + (1-b1) g`, `v = b2 v + (1-b2) g^2`,
    /// `x -= lr * sqrt(1-b2^t) / (1-b1^t) * m / (sqrt(v) + eps)`.
    pub fn step(&mut self, x: Tensor<D>, grad: Tensor<D>) -> Tensor<D> {
        let c = self.config;
        self.t += 1;
        let m = match self.m.take() {
            Some(m) => m.mul_scalar(c.beta1) + grad.clone().mul_scalar(1.0 - c.beta1),
            None => grad.clone().mul_scalar(1.0 - c.beta1),
        };
        let g2 = grad.square();
        let v = match self.v.take() {
            Some(v) => v.mul_scalar(c.beta2) + g2.mul_scalar(1.0 - c.beta2),
            None => g2.mul_scalar(1.0 - c.beta2),
        };
        let lr_t =
            c.learning_rate * (1.0 - c.beta2.powi(self.t)).sqrt() / (1.0 - c.beta1.powi(self.t));
        let update = m
            .clone()
            .div(v.clone().sqrt().add_scalar(c.epsilon))
            .mul_scalar(lr_t);
        self.m = Some(m);
        self.v = Some(v);
        x - update
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// Two steps on f(x) = x^2 / 2 (gradient x), against the update rule
    /// computed by hand in f64.
    #[test]
    fn matches_keras_update_rule() {
        let dev = Device::flex();
        let mut adam = Adam::<1>::new(AdamConfig::default());
        let mut x: Tensor<1> = Tensor::from_data(TensorData::new(vec![1.0f32, -2.0], [2]), &dev);
        let (mut xr, mut m, mut v) = ([1.0f64, -2.0], [0.0f64; 2], [0.0f64; 2]);
        for t in 1..=3 {
            x = adam.step(x.clone(), x.clone());
            for i in 0..2 {
                let g = xr[i];
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                let lr_t = 0.01 * (1.0 - 0.999f64.powi(t)).sqrt() / (1.0 - 0.9f64.powi(t));
                xr[i] -= lr_t * m[i] / (v[i].sqrt() + 1e-7);
            }
        }
        let got = x.into_data().try_into_vec::<f32>().unwrap();
        for i in 0..2 {
            assert!(
                (f64::from(got[i]) - xr[i]).abs() < 1e-6,
                "{got:?} vs {xr:?}"
            );
        }
        // First step moves each coordinate by ~lr, whatever the gradient's scale.
        assert!((1.0 - xr[0] - 0.03).abs() < 1e-3);
    }
}
