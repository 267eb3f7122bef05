//! ipvsc: the Linux IPVS table as code.

// A Diagnostic is the error of most fallible steps: it is built once per problem in the input, so
// its size costs nothing measurable, and boxing it everywhere would only add noise.
#![allow(clippy::result_large_err)]

pub mod apply;
pub mod check;
pub mod cli;
pub mod compiler;
pub mod diagnostic;
pub mod kernel;
pub mod legacy;
pub mod lsp;
pub mod model;
pub mod plan;
pub mod source;
pub mod syntax;
pub mod wire;
