//! What every layer above may use and that knows nothing of mer: atomic file writes, which backend
//! runs, and work spread over threads.

pub mod atomic;
pub mod backend;
pub mod parallel;
