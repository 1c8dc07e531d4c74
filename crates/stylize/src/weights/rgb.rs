//! Kernels for a network fed RGB: a network trained on BGR input gets the
//! input channels of its first kernel reversed, so both engines take RGB
//! directly.

use super::VggWeights;

/// Every convolution's kernel as an RGB-fed network needs it: the first
/// one with its input channels reversed when the network was trained on
/// BGR, the others as they are.
pub(crate) fn rgb_kernels(weights: &VggWeights) -> impl Iterator<Item = Vec<f32>> + '_ {
    weights.convs.iter().enumerate().map(|(i, c)| {
        if i == 0 && weights.preprocess.bgr() {
            reverse_input_channels(&c.kernel, c.shape)
        } else {
            c.kernel.clone()
        }
    })
}

fn reverse_input_channels(kernel: &[f32], [o, i, kh, kw]: [usize; 4]) -> Vec<f32> {
    let plane = kh * kw;
    let mut out = vec![0.0; kernel.len()];
    for oc in 0..o {
        for ic in 0..i {
            let src = (oc * i + ic) * plane;
            let dst = (oc * i + (i - 1 - ic)) * plane;
            out[dst..dst + plane].copy_from_slice(&kernel[src..src + plane]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reversing_channels_twice_is_identity() {
        let k: Vec<f32> = (0..2 * 3 * 9).map(|v| v as f32).collect();
        let r = reverse_input_channels(&k, [2, 3, 3, 3]);
        assert_eq!(r[0..9], k[18..27]);
        assert_eq!(reverse_input_channels(&r, [2, 3, 3, 3]), k);
    }
}
