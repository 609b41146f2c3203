//! What `#[derive(Architecture)]` implements, and what is read off a network declared with it:
//! its parts, its summary label and its parameter table.

pub mod forward;
pub mod label;
pub mod network;
pub mod params;
pub mod part;

pub use forward::{Forward, Output, TeacherRow, teacher_outputs};
pub use label::Summary;
pub use network::{
    Architecture, ArchitectureConfig, EncoderInfo, InitError, RunStore, TeacherInfo,
    media_per_epoch,
};
pub use params::{ParamRow, ParamTable, count, thousands};
pub use part::{PartMapper, PartVisitor, Role};
