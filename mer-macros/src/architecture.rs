//! Code generation for `#[derive(Architecture)]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{ArchField, Architecture, Role};
use crate::config::{SchemaField, default_tokens, table_config_value, table_derives};

pub fn expand(arch: &Architecture) -> TokenStream {
    let ident = &arch.ident;
    let vis = &arch.vis;
    let backend = &arch.backend;
    let config_ident = format_ident!("{}Config", ident);
    let name = &arch.name;
    let doc = arch.doc.as_str();
    let config_doc = format!("Configuration of the `{name}` architecture.\n\n{doc}");
    let schema_fields: Vec<SchemaField> = arch
        .fields
        .iter()
        .map(|f| SchemaField {
            ident: &f.ident,
            doc: &f.doc,
            ty: config_type(f),
            default: match &f.role {
                Role::Hyper { default, .. } => default_tokens(&f.ty, default.as_ref()),
                _ => quote!(::std::option::Option::None),
            },
        })
        .collect();
    let derives = table_derives();
    let config_value = table_config_value(&config_ident, doc, &schema_fields, arch.check.as_ref());
    let config_fields = arch.fields.iter().map(|f| {
        let (fident, fdoc) = (&f.ident, &f.doc);
        let ty = config_type(f);
        quote! { #[doc = #fdoc] pub #fident: #ty }
    });
    let assertions = arch.fields.iter().filter_map(|f| match &f.role {
        Role::Hyper { .. } => None,
        _ => Some({
            let ty = config_type(f);
            quote_spanned! {f.ty.span()=>
                const _: fn() = || {
                    fn assert_module_config<T: ::mer_core::config::schema::ConfigValue>() {}
                    assert_module_config::<#ty>();
                };
            }
        }),
    });
    let init_fields = arch.fields.iter().map(|f| {
        let fident = &f.ident;
        match &f.role {
            Role::Encoder { .. } => {
                let fname = fident.to_string();
                quote! {
                    #fident: self.#fident
                        .try_init_with(|config| config.init(device))
                        .map_err(|error| ::mer_core::architecture::InitError {
                            field: #fname,
                            error,
                        })?
                }
            }
            Role::Hyper { .. } => quote!(#fident: ::std::clone::Clone::clone(&self.#fident)),
            _ => quote!(#fident: self.#fident.init(device)),
        }
    });
    let modalities = arch.fields.iter().filter_map(|f| match &f.role {
        Role::Encoder { modality, .. } => Some(modality_tokens(*modality)),
        _ => None,
    });
    let experts = arch
        .fields
        .iter()
        .find(|f| matches!(f.role, Role::Hyper { experts: true, .. }))
        .map(|f| {
            let fident = &f.ident;
            quote_spanned!(f.ty.span()=> self.#fident as usize)
        })
        .unwrap_or_else(|| quote!(1usize));
    let encoders = arch.fields.iter().filter_map(|f| match &f.role {
        Role::Encoder { modality, .. } => {
            let fname = f.ident.to_string();
            let fident = &f.ident;
            let modality = modality_tokens(*modality);
            Some(quote! {
                ::mer_core::architecture::EncoderInfo {
                    field: #fname,
                    modality: #modality,
                    mode: self.#fident.mode,
                }
            })
        }
        _ => None,
    });
    let has_teacher = arch
        .fields
        .iter()
        .any(|f| matches!(f.role, Role::Teacher { .. }));
    let parts: Vec<_> = arch
        .fields
        .iter()
        .filter_map(|f| role_tokens(&f.role).map(|role| (f, role)))
        .collect();
    let visit_parts = parts.iter().map(|(f, role)| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        quote!(visitor.part(#fname, #role, &self.#fident);)
    });
    let map_fields = arch.fields.iter().map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        match role_tokens(&f.role) {
            Some(role) => quote!(#fident: mapper.part(#fname, #role, self.#fident)?),
            None => quote!(#fident: self.#fident),
        }
    });

    let encoder_fields: Vec<&ArchField> = arch
        .fields
        .iter()
        .filter(|f| matches!(f.role, Role::Encoder { .. }))
        .collect();
    let encode_arms = encoder_fields.iter().map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        quote_spanned! {f.ty.span()=>
            #fname => ::std::option::Option::Some(
                ::mer_core::encoders::Encode::<#backend>::encode(&self.#fident, batch)
            ),
        }
    });
    let identity_arms = encoder_fields.iter().map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        quote_spanned! {f.ty.span()=>
            #fname => ::std::option::Option::Some(
                ::mer_core::encoders::CacheableEncoder::feature_identity(
                    &config.#fident.config, &self.#fident, cache,
                )
            ),
        }
    });
    let key_arms = encoder_fields.iter().map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        quote_spanned! {f.ty.span()=>
            #fname => ::std::option::Option::Some(
                ::mer_core::encoders::CacheableEncoder::input_key(
                    &config.#fident.config, sample, cache,
                )
            ),
        }
    });
    let encode_methods = encoder_fields.iter().map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        let method = format_ident!("encode_{}", f.ident);
        let doc = format!(
            "The `{fname}` encoder's output for `batch` [N, H]: the batch's cached features when \
             the encoder is frozen, else the encoder run on the batch."
        );
        quote_spanned! {f.ty.span()=>
            #[doc = #doc]
            #vis fn #method(
                &self,
                batch: &::mer_core::input::Batch<#backend>,
            ) -> ::mer_core::__private::burn::tensor::Tensor<#backend, 2> {
                match batch.features.get(#fname) {
                    ::std::option::Option::Some(features) => ::std::clone::Clone::clone(features),
                    ::std::option::Option::None => {
                        ::mer_core::encoders::Encode::<#backend>::encode(&self.#fident, batch)
                    }
                }
            }
        }
    });

    quote! {
        #[doc = #config_doc]
        #derives
        #vis struct #config_ident {
            #(#config_fields,)*
        }

        #(#assertions)*

        #config_value

        impl #config_ident {
            /// Builds the network on `device`, encoders in their configured mode, every weight
            /// drawn now (so clones share them).
            ///
            /// # Panics
            /// When an encoder's LoRA targets match none of its layers; see `try_init`.
            pub fn init<#backend: ::mer_core::__private::burn::tensor::backend::Backend>(
                &self,
                device: &#backend::Device,
            ) -> #ident<#backend> {
                self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
            }

            /// [`Self::init`], reporting LoRA targets that match no layer.
            pub fn try_init<#backend: ::mer_core::__private::burn::tensor::backend::Backend>(
                &self,
                device: &#backend::Device,
            ) -> ::std::result::Result<#ident<#backend>, ::mer_core::architecture::InitError> {
                let network = #ident { #(#init_fields,)* };
                ::mer_core::nn::weights::materialize(&network);
                ::std::result::Result::Ok(network)
            }
        }

        impl ::mer_core::architecture::ArchitectureConfig for #config_ident {
            const NAME: &'static str = #name;
            const DOC: &'static str = #doc;
            const HAS_TEACHER: bool = #has_teacher;

            fn summary(&self) -> ::mer_core::architecture::Summary {
                ::mer_core::architecture::Summary::new(#experts, &[#(#modalities),*])
            }

            fn encoders(&self) -> ::std::vec::Vec<::mer_core::architecture::EncoderInfo> {
                ::std::vec![#(#encoders),*]
            }
        }

        impl<#backend: ::mer_core::__private::burn::tensor::backend::Backend>
            ::mer_core::architecture::Architecture<#backend> for #ident<#backend>
        {
            type Config = #config_ident;

            fn try_init(
                config: &Self::Config,
                device: &#backend::Device,
            ) -> ::std::result::Result<Self, ::mer_core::architecture::InitError> {
                config.try_init(device)
            }

            fn visit_parts<V: ::mer_core::architecture::PartVisitor<#backend>>(&self, visitor: &mut V) {
                #(#visit_parts)*
            }

            fn map_parts<M: ::mer_core::architecture::PartMapper<#backend>>(
                self,
                mapper: &mut M,
            ) -> ::std::result::Result<Self, M::Error> {
                ::std::result::Result::Ok(Self { #(#map_fields,)* })
            }

            fn encode_part(
                &self,
                field: &str,
                batch: &::mer_core::input::Batch<#backend>,
            ) -> ::std::option::Option<::mer_core::__private::burn::tensor::Tensor<#backend, 2>> {
                match field {
                    #(#encode_arms)*
                    _ => ::std::option::Option::None,
                }
            }

            fn feature_identity(
                &self,
                config: &Self::Config,
                field: &str,
                cache: &::mer_core::cache::FeatureCache,
            ) -> ::std::option::Option<::std::result::Result<
                ::mer_core::cache::FeatureIdentity,
                ::mer_core::cache::CacheError,
            >> {
                match field {
                    #(#identity_arms)*
                    _ => ::std::option::Option::None,
                }
            }

            fn input_key(
                config: &Self::Config,
                field: &str,
                sample: &::mer_core::input::Sample,
                cache: &::mer_core::cache::FeatureCache,
            ) -> ::std::option::Option<::std::result::Result<
                ::mer_core::cache::Key,
                ::mer_core::cache::CacheError,
            >> {
                match field {
                    #(#key_arms)*
                    _ => ::std::option::Option::None,
                }
            }
        }

        impl<#backend: ::mer_core::__private::burn::tensor::backend::Backend> #ident<#backend> {
            #(#encode_methods)*
        }

        ::mer_core::__private::inventory::submit! {
            ::mer_core::registry::Registration::of::<#ident<::mer_core::run::plan::PlanBackend>>()
        }
    }
}

/// The type a field has in the generated config.
fn config_type(field: &ArchField) -> TokenStream {
    match &field.role {
        Role::Encoder { config, .. } => {
            quote_spanned!(field.ty.span()=> ::mer_core::encoders::EncoderSlot<#config>)
        }
        Role::Fusion { config } | Role::Head { config } | Role::Teacher { config } => {
            quote_spanned!(field.ty.span()=> #config)
        }
        Role::Hyper { .. } => {
            let ty = &field.ty;
            quote_spanned!(ty.span()=> <#ty as ::mer_core::config::schema::ConfigValue>::Checked)
        }
    }
}

fn role_tokens(role: &Role) -> Option<TokenStream> {
    Some(match role {
        Role::Encoder { modality, .. } => {
            let modality = modality_tokens(*modality);
            quote!(::mer_core::architecture::Role::Encoder(#modality))
        }
        Role::Fusion { .. } => quote!(::mer_core::architecture::Role::Fusion),
        Role::Head { .. } => quote!(::mer_core::architecture::Role::Head),
        Role::Teacher { .. } => quote!(::mer_core::architecture::Role::Teacher),
        Role::Hyper { .. } => return None,
    })
}

fn modality_tokens(modality: char) -> TokenStream {
    let variant = format_ident!("{}", modality.to_string());
    quote!(::mer_core::input::Modality::#variant)
}
