//! PatchRT integration tests: one binary, one module per area.

// File formats: parsing, validation and bad input (CPU only).
mod model;
// CPU reference sanity checks (CPU only).
mod reference;
// Greedy resolution cascades: builder, replay, oracle, file formats (CPU only).
mod cascade;
// Shader registry and naga validation of every WGSL module (CPU only).
mod shaders;
// The resource policy: resolution and cascade from battery, heat and budgets (CPU only).
mod policy;
// Each GPU kernel family against the CPU reference.
mod ops;
// The whole network, patch swaps and resolution switches on the GPU.
mod engine;
// Real weights against goldens from independent frameworks (Keras/JAX, ONNX Runtime).
mod conformance;
// Over-the-air bundles: signatures, attacks, install, rollback, crashes.
mod ota;
// HTTP download of bundles: limits, timeouts, resume (loopback server, CPU only).
mod download;
// Fuzz seeds and minimised crashes of runtime/fuzz, replayed on stable (CPU only).
mod fuzz_regressions;
