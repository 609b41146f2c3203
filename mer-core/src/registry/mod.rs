//! Where architectures register, and what a registration does for its architecture: the `mer`
//! tool and every architecture binary train, evaluate and plan through it.

mod entries;
#[cfg(feature = "cuda")]
pub mod gpu;
mod registration;

pub use entries::{
    CpuTraining, Device, Devices, GpuTraining, Inference, Registrable, RunError, RunInputs, resolve,
};
pub use registration::{Registration, architectures, for_config};
