//! Access paths, the effective guard of each, the rule catalogue and waivers (DESIGN.md §3–§4).

mod evaluate;
mod index;
mod report;

pub use evaluate::{evaluate, Options};
pub use report::*;
