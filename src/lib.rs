//! ipvsc: the Linux IPVS table as code.

pub mod diagnostic;
pub mod model;
pub mod source;
pub mod syntax;
pub mod check;
pub mod compiler;
pub mod cli;
pub mod legacy;
