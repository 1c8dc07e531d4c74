//! Adam, in the form Keras implements it (the seed's optimiser).

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

/// Adam's state for one vector of parameters.
#[derive(Debug, Clone)]
pub struct Adam {
    config: AdamConfig,
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Adam {
    /// A fresh optimiser.
    pub fn new(config: AdamConfig) -> Self {
        Adam {
            config,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        }
    }

    /// One step: moves `x` against `grad`, in `f32` with the constants
    /// rounded to `f32` (as the tensor version this replaced computed it,
    /// so results are bit for bit the same).
    ///
    /// Keras' update: `m = b1 m + (1-b1) g`, `v = b2 v + (1-b2) g^2`,
    /// `x -= lr * sqrt(1-b2^t) / (1-b1^t) * m / (sqrt(v) + eps)`.
    ///
    /// # Panics
    /// If `grad` and `x` differ in length, or from one step to the next.
    pub fn step(&mut self, x: &mut [f32], grad: &[f32]) {
        assert_eq!(x.len(), grad.len(), "gradient length");
        let c = self.config;
        self.t += 1;
        let first = self.m.is_empty();
        if first {
            self.m = vec![0.0; x.len()];
            self.v = vec![0.0; x.len()];
        }
        assert_eq!(self.m.len(), x.len(), "parameter count changed");
        let (b1, nb1) = (c.beta1 as f32, (1.0 - c.beta1) as f32);
        let (b2, nb2) = (c.beta2 as f32, (1.0 - c.beta2) as f32);
        let eps = c.epsilon as f32;
        let lr_t = (c.learning_rate * (1.0 - c.beta2.powi(self.t)).sqrt()
            / (1.0 - c.beta1.powi(self.t))) as f32;
        for (((x, g), m), v) in x.iter_mut().zip(grad).zip(&mut self.m).zip(&mut self.v) {
            let g2 = *g * *g;
            if first {
                *m = *g * nb1;
                *v = g2 * nb2;
            } else {
                *m = *m * b1 + *g * nb1;
                *v = *v * b2 + g2 * nb2;
            }
            let update = *m / (v.sqrt() + eps) * lr_t;
            *x -= update;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three steps on f(x) = x^2 / 2 (gradient x), against the update rule
    /// computed by hand in f64.
    #[test]
    fn matches_keras_update_rule() {
        let mut adam = Adam::new(AdamConfig::default());
        let mut x = vec![1.0f32, -2.0];
        let (mut xr, mut m, mut v) = ([1.0f64, -2.0], [0.0f64; 2], [0.0f64; 2]);
        for t in 1..=3 {
            let g = x.clone();
            adam.step(&mut x, &g);
            for i in 0..2 {
                let g = xr[i];
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                let lr_t = 0.01 * (1.0 - 0.999f64.powi(t)).sqrt() / (1.0 - 0.9f64.powi(t));
                xr[i] -= lr_t * m[i] / (v[i].sqrt() + 1e-7);
            }
        }
        let got = x;
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
