//! # pairdist
//!
//! Pairwise distance matrices (SciPy's real-valued metrics, with their parameters) between two point sets,
//! on any GPU through WebGPU (wgpu: Vulkan, Metal, DX12) or on all CPU cores, exact in f32 and
//! in f64 (differences first, never the `|x|² + |y|² − 2x·y` shortcut), for inputs of any size.
//! Every call takes `f32` or `f64` points ([`Element`]) and computes in their type.
//!
//! ```
//! use ndarray::array;
//! use pairdist::{Backend, Engine, Metric};
//!
//! // Built once: the best GPU adapter, or the CPU when there is none.
//! let engine = Engine::new(Backend::Auto)?;
//! let xa = array![[0.0f32, 0.0], [1.0, 1.0], [3.0, 4.0]];
//! let xb = array![[0.0f32, 0.0], [6.0, 8.0]];
//! let d = engine.cdist(xa.view(), xb.view(), Metric::Euclidean)?;
//! assert_eq!(d.dim(), (3, 2));
//! assert_eq!(d[[2, 0]], 5.0);
//! let condensed = engine.pdist(xa.view(), "cityblock".parse::<Metric>()?)?; // SciPy's names
//! assert_eq!(condensed.to_vec(), vec![2.0, 7.0, 5.0]);
//! # Ok::<(), pairdist::Error>(())
//! ```
//!
//! The pieces, in the order data flows through them: inputs are checked once
//! ([`Error`] names the problem), [`plan`] cuts the work into tiles that fit the device,
//! an executor (`gpu`, with the default `gpu` feature, or [`cpu`]) computes the tiles, and a [`sink`] receives them: the
//! caller's array, SciPy's condensed vector, or a file on disk.

#![warn(missing_docs)]

pub mod answer;
mod backend;
pub mod cpu;
mod distance;
mod element;
mod engine;
mod error;
mod extremes;
#[cfg(feature = "gpu")]
pub mod gpu;
mod index;

pub mod job;
mod linalg;
mod metric;
mod monitor;
pub mod plan;
mod ratio;
pub mod sink;
mod stats;
mod tolerance;
mod twin;
pub mod validate;
mod weights;

pub use answer::{Neighbors, Pairs};
pub use distance::{Distance, Resolved};
pub use element::{Dtype, Element};
pub use engine::{Backend, Engine, EngineOptions};
pub use error::{Error, Result};
pub use index::Index;
pub use metric::{BooleanFormula, Definition, Denominator, Finalize, Merge, Metric, Prepare, Term, wgsl_ids};
pub use monitor::Monitor;
pub use stats::Stats;

/// The README's Rust examples, compiled and run as doc tests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
