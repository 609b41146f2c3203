//! Code generation for `#[config]`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, Expr, ExprLit, Ident, Lit, LitStr, Path, Type};

use crate::ast::{ConfigItem, ConfigShape};

pub fn expand(config: &ConfigItem) -> TokenStream {
    let ident = &config.item.ident;
    let name = ident.to_string();
    let doc = config.doc.as_str();
    match &config.shape {
        ConfigShape::Struct(fields) => {
            let item = &config.item;
            let schema_fields: Vec<SchemaField> = fields
                .iter()
                .map(|field| SchemaField {
                    ident: &field.ident,
                    doc: &field.doc,
                    ty: field.ty.to_token_stream(),
                    default: match &field.derived {
                        Some(_) => derived_placeholder(&field.ty),
                        None => default_tokens(&field.ty, field.default.as_ref()),
                    },
                    derived: field.derived.as_ref().map(LitStr::value),
                    range: field.range.clone(),
                })
                .collect();
            let assertions = fields.iter().map(|f| assert_config_value(&f.ty));
            let derives = table_derives();
            let config_value = table_config_value(
                ident,
                doc,
                &schema_fields,
                config.check.as_ref(),
                config.loss_terms.as_ref(),
            );
            quote! {
                #derives
                #item

                #(#assertions)*

                #config_value
            }
        }
        ConfigShape::Enum(variants) => {
            let mut item = config.item.clone();
            if let Data::Enum(data) = &mut item.data {
                for (variant, parsed) in data.variants.iter_mut().zip(variants) {
                    let name = &parsed.name;
                    variant
                        .attrs
                        .push(syn::parse_quote!(#[serde(rename = #name)]));
                }
            }
            let schema_variants = variants.iter().map(|v| {
                let (vname, vdoc) = (&v.name, &v.doc);
                quote!(::mer_core::config::schema::Variant { name: #vname, doc: #vdoc })
            });
            let display_arms = variants.iter().map(|v| {
                let (vident, vname) = (&v.ident, &v.name);
                quote!(Self::#vident => #vname)
            });
            quote! {
                #[derive(
                    ::std::fmt::Debug,
                    ::std::clone::Clone,
                    ::std::marker::Copy,
                    ::std::cmp::PartialEq,
                    ::std::cmp::Eq,
                    ::std::hash::Hash,
                    ::mer_core::__private::serde::Serialize,
                    ::mer_core::__private::serde::Deserialize,
                )]
                #[serde(crate = "::mer_core::__private::serde")]
                #item

                impl #ident {
                    /// The name of this choice as written in a config.
                    pub fn as_str(&self) -> &'static str {
                        match self { #(#display_arms),* }
                    }
                }

                impl ::std::fmt::Display for #ident {
                    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(self.as_str())
                    }
                }

                impl ::mer_core::config::schema::ConfigValue for #ident {
                    type Checked = Self;

                    fn kind() -> ::mer_core::config::schema::Kind {
                        ::mer_core::config::schema::Kind::Enum(::mer_core::config::schema::EnumSchema {
                            name: #name,
                            doc: #doc,
                            variants: ::std::vec![#(#schema_variants),*],
                        })
                    }
                }
            }
        }
    }
}

/// `Some(default value)` for the schema, type-checked against the field at the default's span.
pub fn default_tokens(ty: &Type, default: Option<&Expr>) -> TokenStream {
    match default {
        None => quote!(::std::option::Option::None),
        Some(expr) => {
            // A string literal default for a `String` field is the common case; convert it so the
            // researcher can write `default = "focal"`.
            let is_str_lit = matches!(
                expr,
                Expr::Lit(ExprLit {
                    lit: Lit::Str(_),
                    ..
                })
            );
            let value = match (is_str_lit, is_string_like(ty)) {
                (true, true) => quote_spanned!(expr.span()=> ::std::convert::From::from(#expr)),
                (true, false) => {
                    return syn::Error::new(
                        expr.span(),
                        format!(
                            "this default is a string, but the field is `{}`",
                            quote!(#ty).to_string().replace(' ', "")
                        ),
                    )
                    .into_compile_error();
                }
                (false, _) => quote!(#expr),
            };
            quote_spanned! {expr.span()=>
                ::std::option::Option::Some(::mer_core::config::schema::default_value::<#ty>(#value))
            }
        }
    }
}

/// A compile error at the field's type when it cannot be a config value.
pub fn assert_config_value(ty: &Type) -> TokenStream {
    quote_spanned! {ty.span()=>
        const _: fn() = || {
            fn assert_config_value<T: ::mer_core::config::schema::ConfigValue>() {}
            assert_config_value::<#ty>();
        };
    }
}

/// One key of a generated table config.
pub struct SchemaField<'a> {
    pub ident: &'a Ident,
    pub doc: &'a str,
    /// The field's type in the config.
    pub ty: TokenStream,
    /// `Option<toml::Value>` tokens: the default, if any.
    pub default: TokenStream,
    /// What a derived field is derived from.
    pub derived: Option<String>,
    /// The `Range` variant of the numbers the key accepts.
    pub range: Option<Ident>,
}

/// A derived field's value until it is filled in: its type's default (0, empty).
fn derived_placeholder(ty: &Type) -> TokenStream {
    quote_spanned! {ty.span()=>
        ::std::option::Option::Some(::mer_core::config::schema::default_value::<#ty>(
            ::std::default::Default::default(),
        ))
    }
}

/// The derives of a generated table config: serde with unknown keys rejected.
pub fn table_derives() -> TokenStream {
    quote! {
        #[derive(
            ::std::fmt::Debug,
            ::std::clone::Clone,
            ::std::cmp::PartialEq,
            ::mer_core::__private::serde::Serialize,
            ::mer_core::__private::serde::Deserialize,
        )]
        #[serde(crate = "::mer_core::__private::serde", deny_unknown_fields)]
    }
}

/// `impl ConfigValue` of a table config: its schema, and a check that runs every field's own
/// check (its key prefixed) and then the type's `check`, if it names one.
pub fn table_config_value(
    ident: &Ident,
    doc: &str,
    fields: &[SchemaField<'_>],
    check: Option<&Path>,
    loss_terms: Option<&Path>,
) -> TokenStream {
    let name = ident.to_string();
    let schema_fields = fields.iter().map(|f| {
        let (fname, fdoc, ty, default) = (f.ident.to_string(), f.doc, &f.ty, &f.default);
        let derived = match &f.derived {
            Some(from) => quote!(::std::option::Option::Some(#from)),
            None => quote!(::std::option::Option::None),
        };
        let range = match &f.range {
            Some(variant) => {
                quote!(::std::option::Option::Some(::mer_core::config::schema::Range::#variant))
            }
            None => quote!(::std::option::Option::None),
        };
        quote! {
            ::mer_core::config::schema::Field {
                name: #fname,
                doc: #fdoc,
                kind: <#ty as ::mer_core::config::schema::ConfigValue>::kind(),
                default: #default,
                derived: #derived,
                hashed: true,
                range: #range,
            }
        }
    });
    let idents = fields.iter().map(|f| f.ident);
    let names = fields.iter().map(|f| f.ident.to_string());
    let ranges = fields.iter().filter_map(|f| {
        let (ident, name) = (f.ident, f.ident.to_string());
        f.range.as_ref().map(|variant| {
            quote! {
                ::mer_core::config::checks::check_range(
                    #name,
                    &self.#ident,
                    ::mer_core::config::schema::Range::#variant,
                )?;
            }
        })
    });
    let own = check.map(|path| quote!(#path(self)?;));
    let loss_terms = loss_terms.map(|path| {
        quote! {
            fn added_loss_terms(&self) -> ::std::vec::Vec<&'static str> {
                #path(self)
            }
        }
    });
    quote! {
        impl ::mer_core::config::schema::ConfigValue for #ident {
            type Checked = Self;

            fn kind() -> ::mer_core::config::schema::Kind {
                ::mer_core::config::schema::Kind::Table(::mer_core::config::schema::TableSchema {
                    name: #name,
                    doc: #doc,
                    fields: ::std::vec![#(#schema_fields),*],
                })
            }

            fn check(&self) -> ::std::result::Result<(), ::mer_core::config::schema::Problem> {
                #(
                    ::mer_core::config::schema::ConfigValue::check(&self.#idents)
                        .map_err(|problem| problem.within(#names))?;
                )*
                #(#ranges)*
                #own
                ::std::result::Result::Ok(())
            }

            #loss_terms
        }
    }
}

/// `String` or `PathBuf`: the types a string-literal default converts into.
fn is_string_like(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    path.path
        .segments
        .last()
        .is_some_and(|last| matches!(last.ident.to_string().as_str(), "String" | "PathBuf"))
}
