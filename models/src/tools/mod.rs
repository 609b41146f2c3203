//! What the `mer` tool does beyond training: the feature cache's maintenance, the generated
//! config references, and listing the checkpoint store.

pub mod cache;
pub mod docs;
pub mod store;
