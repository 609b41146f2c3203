//! What the `mer` tool does beyond training: the feature cache's maintenance, the generated
//! config references, listing the checkpoint store, and reports.

pub mod cache;
pub mod docs;
pub mod report;
pub mod store;
