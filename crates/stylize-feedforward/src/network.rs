//! One ONNX model run by tract: parsed once, planned once per input shape.
//!
//! tract plans a model for concrete input shapes (that is when it picks
//! kernels and folds the int8 quantize/dequantize pairs). A plan is cached
//! per shape, so a folder of same-sized photos or the frames of a video
//! plan once.

use std::sync::{Arc, Mutex};

use tract_linalg::multithread::Executor;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::runtime::RunOptions;

use crate::error::{Error, Result};
use crate::models::ModelFile;

/// Plans kept at once; more shapes than this evict the oldest.
const MAX_PLANS: usize = 4;

type Plan = Arc<TypedRunnableModel>;

/// A parsed model and its plans.
pub(crate) struct Network {
    name: &'static str,
    model: InferenceModel,
    options: RunOptions,
    plans: Mutex<Vec<(Vec<Vec<usize>>, Plan)>>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Network {
    /// Parses `bytes` (an ONNX file, already checked) as `file`.
    pub fn parse(file: ModelFile, bytes: &[u8], executor: Option<Executor>) -> Result<Self> {
        let model = tract_onnx::onnx()
            .model_for_read(&mut &bytes[..])
            .map_err(|e| Error::network(file.name, "cannot parse the ONNX model", e))?;
        Ok(Network {
            name: file.name,
            model,
            options: RunOptions {
                executor,
                ..RunOptions::default()
            },
            plans: Mutex::new(Vec::new()),
        })
    }

    /// Runs the model on `inputs` (shape, data in the model's layout) and
    /// returns its first output's shape and data.
    pub fn run(&self, inputs: &[(&[usize], &[f32])]) -> Result<(Vec<usize>, Vec<f32>)> {
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|(s, _)| s.to_vec()).collect();
        let plan = self.plan(&shapes)?;
        let mut values = TVec::new();
        for (shape, data) in inputs {
            let tensor = Tensor::from_shape(shape, data)
                .map_err(|e| Error::network(self.name, "bad input tensor", e))?;
            values.push(tensor.into_tvalue());
        }
        let outputs = plan
            .run(values)
            .map_err(|e| Error::network(self.name, "inference failed", e))?;
        let out = outputs
            .first()
            .ok_or_else(|| Error::network(self.name, "no output", "the model returned nothing"))?;
        let view = out
            .to_plain_array_view::<f32>()
            .map_err(|e| Error::network(self.name, "output is not f32", e))?;
        Ok((view.shape().to_vec(), view.iter().copied().collect()))
    }

    fn plan(&self, shapes: &[Vec<usize>]) -> Result<Plan> {
        // A poisoned lock only means another thread panicked while planning;
        // the cache itself is always consistent.
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, plan)) = plans.iter().find(|(s, _)| s == shapes) {
            return Ok(plan.clone());
        }
        let mut model = self.model.clone();
        for (i, shape) in shapes.iter().enumerate() {
            model = model
                .with_input_fact(i, f32::fact(shape).into())
                .map_err(|e| {
                    Error::network(self.name, format!("input {i} cannot be {shape:?}"), e)
                })?;
        }
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable_with_options(&self.options))
            .map_err(|e| {
                Error::network(self.name, format!("cannot plan for inputs {shapes:?}"), e)
            })?;
        if plans.len() >= MAX_PLANS {
            plans.remove(0);
        }
        plans.push((shapes.to_vec(), plan.clone()));
        Ok(plan)
    }
}
