//! Syntax tree to validated table: typing values, expanding constants, ranges, defaults and
//! includes, and every rule the kernel and ipvsadm enforce.

pub mod builder;
mod daemon;
pub mod drain;
pub mod lower;
mod server;
mod service;
mod settings;
pub mod spec;
pub mod suggest;
pub mod values;

pub use service::no_such_service;
