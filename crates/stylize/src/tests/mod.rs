//! Tests that need the crate's internals (burn's objective, the engines'
//! targets, the loss functions), against independent references: finite
//! differences, numpy and PyTorch fixtures committed under `tests/`.

// The integration tests' helpers (where the real weights are), shared.
mod busy_pool;
// Random weights, shared with the integration tests.
#[path = "../../tests/common/mod.rs"]
pub(crate) mod common;
mod gradient;
mod hed_features;
mod losses;
mod module_graph;
#[path = "../../tests/common/random.rs"]
#[allow(dead_code)]
mod random;
mod sizes;
mod stop;
mod torch_reference;
