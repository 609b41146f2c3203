//! What every layer above may use and that knows nothing of mer: atomic file writes and work
//! spread over threads.

pub mod atomic;
pub mod parallel;
