//! Tests that need the crate's internals (burn's objective, the engines'
//! targets, the loss functions), against independent references: finite
//! differences, numpy and PyTorch fixtures committed under `tests/`.

mod busy_pool;
// The integration tests' helpers (where the real weights are), shared.
#[path = "../../tests/common/mod.rs"]
pub(crate) mod common;
mod gradient;
mod hed_features;
mod losses;
mod module_graph;
// The integration tests' random weights, shared.
#[path = "../../tests/common/random.rs"]
#[allow(dead_code)]
mod random;
mod sizes;
mod stop;
mod torch_reference;
