//! jumpguard: policy-as-code for privileged remote access.
//!
//! A policy repository (YAML) states which hosts need an approval, a reason or a ticket, and which
//! jump groups may hold them. jumpguard reads the live configuration of BeyondTrust Privileged Remote
//! Access and Password Safe (an [`estate::Estate`]), enumerates every access path to each host and
//! reports each path that is not guarded as the policy demands.
//!
//! The core is pure: [`policy::load`] turns files into a [`policy::Policy`],
//! [`analysis::evaluate`] turns a policy and an estate into a [`analysis::Report`], and the
//! renderers in [`render`] turn a report into text.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod cli;
pub mod estate;
pub mod generate;
pub mod plan;
pub mod policy;
pub mod render;
pub mod rules;
pub mod sim;
pub mod source;

/// Drops `value` on a thread of its own. Freeing the hundreds of thousands of small objects
/// of a large estate's indexes takes tens of milliseconds that nothing needs to wait for.
pub(crate) fn drop_later<T: Send + 'static>(value: T) {
    // Without a thread to spare (an exhausted process), dropping here is as good.
    let spare = std::thread::Builder::new().spawn(move || drop(value));
    drop(spare);
}

/// The version of jumpguard, as written into reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
