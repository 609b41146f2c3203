//! Code generation for `#[config]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, Expr, ExprLit, Lit, Type};

use crate::ast::{ConfigItem, ConfigShape};

pub fn expand(config: &ConfigItem) -> TokenStream {
    let ident = &config.item.ident;
    let name = ident.to_string();
    let doc = &config.doc;
    match &config.shape {
        ConfigShape::Struct(fields) => {
            let item = &config.item;
            let field_schemas = fields.iter().map(|field| {
                let fname = field.ident.to_string();
                let fdoc = &field.doc;
                let ty = &field.ty;
                let default = default_tokens(ty, field.default.as_ref());
                quote! {
                    ::mer_core::schema::Field {
                        name: #fname,
                        doc: #fdoc,
                        kind: <#ty as ::mer_core::schema::ConfigValue>::kind(),
                        default: #default,
                    }
                }
            });
            let assertions = fields.iter().map(|f| assert_config_value(&f.ty));
            let idents: Vec<_> = fields.iter().map(|f| &f.ident).collect();
            let check = check_body(&idents, config.check.as_ref());
            quote! {
                #[derive(
                    ::std::fmt::Debug,
                    ::std::clone::Clone,
                    ::std::cmp::PartialEq,
                    ::mer_core::__private::serde::Serialize,
                    ::mer_core::__private::serde::Deserialize,
                )]
                #[serde(crate = "::mer_core::__private::serde", deny_unknown_fields)]
                #item

                #(#assertions)*

                impl ::mer_core::schema::ConfigValue for #ident {
                    type Checked = Self;

                    fn kind() -> ::mer_core::schema::Kind {
                        ::mer_core::schema::Kind::Table(::mer_core::schema::TableSchema {
                            name: #name,
                            doc: #doc,
                            fields: ::std::vec![#(#field_schemas),*],
                        })
                    }

                    #check
                }
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
                quote!(::mer_core::schema::Variant { name: #vname, doc: #vdoc })
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

                impl ::mer_core::schema::ConfigValue for #ident {
                    type Checked = Self;

                    fn kind() -> ::mer_core::schema::Kind {
                        ::mer_core::schema::Kind::Enum(::mer_core::schema::EnumSchema {
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
            let value = if is_str_lit {
                quote_spanned!(expr.span()=> ::std::convert::From::from(#expr))
            } else {
                quote!(#expr)
            };
            quote_spanned! {expr.span()=>
                ::std::option::Option::Some(::mer_core::schema::default_value::<#ty>(#value))
            }
        }
    }
}

/// A compile error at the field's type when it cannot be a config value.
pub fn assert_config_value(ty: &Type) -> TokenStream {
    quote_spanned! {ty.span()=>
        const _: fn() = || {
            fn assert_config_value<T: ::mer_core::schema::ConfigValue>() {}
            assert_config_value::<#ty>();
        };
    }
}

/// `ConfigValue::check`: every field's own check (its key prefixed), then the type's `check`.
pub fn check_body(fields: &[&syn::Ident], check: Option<&syn::Path>) -> TokenStream {
    let names = fields.iter().map(|f| f.to_string());
    let own = check.map(|path| quote!(#path(self)?;));
    quote! {
        fn check(&self) -> ::std::result::Result<(), ::mer_core::schema::Problem> {
            #(
                ::mer_core::schema::ConfigValue::check(&self.#fields)
                    .map_err(|problem| problem.within(#names))?;
            )*
            #own
            ::std::result::Result::Ok(())
        }
    }
}
