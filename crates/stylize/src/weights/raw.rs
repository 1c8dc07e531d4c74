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
