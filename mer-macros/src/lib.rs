//! Procedural macros of mer.
//!
//! - `#[derive(Architecture)]` turns one annotated struct of Burn modules and hyper-parameters
//!   into a typed config (`<Name>Config`), its schema, `init`, the network summary, part
//!   traversal (parameter table, checkpoint files) and a registry entry.
//! - `#[config]` turns a plain struct or unit enum into a config section: serde with unknown keys
//!   rejected, and a schema (types, defaults, doc comments) for validation, JSON Schema and docs.
//!
//! Both parse their input into the small typed model of [`ast`] first, then generate.

mod architecture;
mod ast;
mod config;
mod docs;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives a mer architecture from a struct of Burn modules and hyper-parameters.
///
/// Field roles: `#[encoder(modality = "T" | "A" | "V")]`, `#[fusion]`, `#[head]`, `#[teacher]`;
/// a field without a role is a hyper-parameter (`#[hyper(default = EXPR)]` gives it a default,
/// `#[hyper(experts)]` makes it the expert count of the summary). A role field of type `X<B>`
/// is configured by `XConfig` unless `config = Path` names another type.
#[proc_macro_derive(
    Architecture,
    attributes(architecture, encoder, fusion, head, teacher, hyper)
)]
pub fn derive_architecture(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    ast::Architecture::from_derive(&input)
        .map(|arch| architecture::expand(&arch))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Makes a struct (named fields) or an enum (unit variants) a mer config section.
///
/// Struct fields take `#[config(default = EXPR)]`; a field without a default is required.
/// Enum variants are written in kebab-case in TOML (`Mean` → `"mean"`).
#[proc_macro_attribute]
pub fn config(args: TokenStream, input: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let input = parse_macro_input!(input as DeriveInput);
    ast::ConfigItem::parse(args, &input)
        .map(|item| config::expand(&item))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
