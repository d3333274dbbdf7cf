//! The library's integration tests, one binary: every module below was a test binary of its
//! own, and each built its own GPU engine (and linked wgpu) again. In one binary the engines of
//! `support` are made once and their pipelines compiled once, for every test.

#[path = "../support/mod.rs"]
mod support;

mod answers;
mod device_answers;
mod float64;
mod gpu_float64;
mod gpu_vs_reference;
mod index;
mod metrics;
mod numerics;
mod ratios;
mod shaders;
mod tiling;
mod tune;
