//! The parts of a network declared with the DSL (its role fields), and how code sees each one:
//! visiting (parameter counts, saving) and mapping (loading).

use std::fmt;

use burn::module::Module;
use burn::tensor::backend::Backend;

use crate::input::Modality;

/// What a role field is to the architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Encoder(Modality),
    Fusion,
    Head,
    Teacher,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Encoder(m) => write!(f, "encoder ({m})"),
            Role::Fusion => f.write_str("fusion"),
            Role::Head => f.write_str("head"),
            Role::Teacher => f.write_str("teacher"),
        }
    }
}

/// Sees each part of an architecture.
pub trait PartVisitor<B: Backend> {
    fn part<M: Module<B>>(&mut self, name: &'static str, role: Role, module: &M);
}

/// Transforms each part of an architecture, possibly failing.
pub trait PartMapper<B: Backend> {
    type Error;
    fn part<M: Module<B>>(
        &mut self,
        name: &'static str,
        role: Role,
        module: M,
    ) -> Result<M, Self::Error>;
}
