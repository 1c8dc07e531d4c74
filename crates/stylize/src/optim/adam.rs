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
    moments: Moments,
    t: i32,
}

/// The moving averages `m` and `v`: in `f32`, or in `f64` from the first
/// step whose gradient's square overflows `f32` (a coordinate over about
/// 1.8e19, from cost weights like 1e22): `v` would be infinite there and
/// `m / sqrt(v)` 0, so those pixels would never move again, and the run
/// would end where it began without a word.
#[derive(Debug, Clone)]
enum Moments {
    Single { m: Vec<f32>, v: Vec<f32> },
    Double { m: Vec<f64>, v: Vec<f64> },
}

impl Adam {
    /// A fresh optimiser.
    pub fn new(config: AdamConfig) -> Self {
        Adam {
            config,
            moments: Moments::Single {
                m: Vec::new(),
                v: Vec::new(),
            },
            t: 0,
        }
    }

    /// One step: moves `x` against `grad`, in `f32` with the constants
    /// rounded to `f32` (as the tensor version this replaced computed it,
    /// so results are bit for bit the same), or in `f64` once a gradient's
    /// square overflows `f32` (see [`Moments`]).
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
        let first = self.t == 1;
        let lr_t =
            c.learning_rate * (1.0 - c.beta2.powi(self.t)).sqrt() / (1.0 - c.beta1.powi(self.t));
        if let Moments::Single { m, v } = &self.moments {
            if grad.iter().any(|g| (g * g).is_infinite()) {
                let widen = |a: &Vec<f32>| a.iter().map(|&e| f64::from(e)).collect();
                self.moments = Moments::Double {
                    m: widen(m),
                    v: widen(v),
                };
            }
        }
        match &mut self.moments {
            Moments::Single { m, v } => {
                if first {
                    *m = vec![0.0; x.len()];
                    *v = vec![0.0; x.len()];
                }
                assert_eq!(m.len(), x.len(), "parameter count changed");
                let (b1, nb1) = (c.beta1 as f32, (1.0 - c.beta1) as f32);
                let (b2, nb2) = (c.beta2 as f32, (1.0 - c.beta2) as f32);
                let (eps, lr_t) = (c.epsilon as f32, lr_t as f32);
                for (((x, g), m), v) in x.iter_mut().zip(grad).zip(m).zip(v) {
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
            Moments::Double { m, v } => {
                if first {
                    *m = vec![0.0; x.len()];
                    *v = vec![0.0; x.len()];
                }
                assert_eq!(m.len(), x.len(), "parameter count changed");
                for (((x, g), m), v) in x.iter_mut().zip(grad).zip(m).zip(v) {
                    let g = f64::from(*g);
                    *m = *m * c.beta1 + g * (1.0 - c.beta1);
                    *v = *v * c.beta2 + g * g * (1.0 - c.beta2);
                    let update = *m / (v.sqrt() + c.epsilon) * lr_t;
                    *x -= update as f32;
                }
            }
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

    /// A gradient whose square overflows `f32` (cost weights like 1e22)
    /// moves each coordinate as a small one of the same direction does
    /// (Adam does not see the gradient's scale, but through `eps`): before,
    /// `v` was infinite and nothing moved.
    #[test]
    fn a_gradient_whose_square_overflows_still_moves() {
        let mut huge = Adam::new(AdamConfig::default());
        let mut small = Adam::new(AdamConfig::default());
        let (mut xh, mut xs) = (vec![0.5f32, 0.5], vec![0.5f32, 0.5]);
        for _ in 0..4 {
            huge.step(&mut xh, &[3e30, -4e30]);
            small.step(&mut xs, &[3.0, -4.0]);
        }
        for (h, s) in xh.iter().zip(&xs) {
            assert!((h - s).abs() < 1e-6, "{xh:?} vs {xs:?}");
        }
        assert!(xh[0] < 0.47 && xh[1] > 0.53, "{xh:?}");
    }
}
