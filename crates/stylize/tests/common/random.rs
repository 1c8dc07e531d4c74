//! Random VGG weights for tests that need a network but not a trained one.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stylize::{Architecture, ConvWeights, Preprocess, VggWeights, WeightsFormat};

/// He-initialised random weights, so activations keep their scale with depth.
pub fn random_weights(arch: Architecture, seed: u64) -> VggWeights {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    VggWeights {
        arch,
        preprocess: Preprocess::KERAS_CAFFE,
        preprocess_reason: String::new(),
        convs: arch
            .kernel_shapes()
            .into_iter()
            .map(|shape| {
                let fan_in = (shape[1] * 9) as f32;
                let std = (2.0 / fan_in).sqrt() * 1.7;
                ConvWeights {
                    name: String::new(),
                    shape,
                    kernel: (0..shape.iter().product::<usize>())
                        .map(|_| rng.random_range(-std..std))
                        .collect(),
                    bias: (0..shape[0]).map(|_| rng.random_range(-0.1..0.1)).collect(),
                }
            })
            .collect(),
        path: Default::default(),
        format: WeightsFormat::SafeTensors,
    }
}
