//! A tensor as read from a weights file, before it is matched to a layer.

/// One named tensor from a weights file: row-major `f32` data and its shape,
/// in the file's own layout (PyTorch OIHW, Keras HWIO, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    /// The name in the file (`features.0.weight`, `block1_conv1/kernel`, ...).
    pub name: String,
    /// The shape in the file's layout.
    pub shape: Vec<usize>,
    /// Row-major values, converted to `f32`.
    pub data: Vec<f32>,
}

impl RawTensor {
    /// Number of elements the shape implies.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// IEEE 754 half precision to single precision (exact; subnormals,
/// infinities and NaN payloads kept), by the `half` crate.
pub fn f16_to_f32(h: u16) -> f32 {
    half::f16::from_bits(h).to_f32()
}

/// bfloat16 to single precision (exact: the top half of an f32), by the
/// `half` crate.
pub fn bf16_to_f32(h: u16) -> f32 {
    half::bf16::from_bits(h).to_f32()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_conversion() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xc040), -3.0);
    }
}
