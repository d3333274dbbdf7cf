//! The command line's tests, one binary (each module was one, linking the library again).

#[path = "../../../tests/support/mod.rs"]
mod support;

mod cli;
mod cli_answers;
mod cli_float64;
mod cli_messages;
mod cli_robustness;
mod files;
mod interrupt;
mod special_outputs;
mod tune;
