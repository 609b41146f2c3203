//! Code generation for `#[derive(Architecture)]`: one `gen_*` function per generated item.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use crate::ast::{ArchField, Architecture, Role};
use crate::config::{SchemaField, default_tokens, table_config_value, table_derives};

pub fn expand(arch: &Architecture) -> TokenStream {
    let items = [
        gen_config_struct(arch),
        gen_config_value(arch),
        gen_config_init(arch),
        gen_architecture_config(arch),
        gen_architecture(arch),
        gen_part_methods(arch),
        gen_registration(arch),
    ];
    quote!(#(#items)*)
}

/// `<Name>Config`, the generated config type.
fn config_ident(arch: &Architecture) -> Ident {
    format_ident!("{}Config", arch.ident)
}

/// The path of Burn's `Backend` trait, as generated code names it.
fn backend_trait() -> TokenStream {
    quote!(::mer_core::__private::burn::tensor::backend::Backend)
}

fn with_role<'a>(
    arch: &'a Architecture,
    keep: impl Fn(&Role) -> bool + 'a,
) -> impl Iterator<Item = &'a ArchField> + 'a {
    arch.fields.iter().filter(move |f| keep(&f.role))
}

fn encoders(arch: &Architecture) -> impl Iterator<Item = &ArchField> {
    with_role(arch, |r| matches!(r, Role::Encoder { .. }))
}

fn teachers(arch: &Architecture) -> impl Iterator<Item = &ArchField> {
    with_role(arch, |r| matches!(r, Role::Teacher { .. }))
}

/// The config struct: one field per role field and hyper-parameter, each part's type checked
/// to be a config value at the field's span.
fn gen_config_struct(arch: &Architecture) -> TokenStream {
    let vis = &arch.vis;
    let config_ident = config_ident(arch);
    let doc = format!(
        "Configuration of the `{}` architecture.\n\n{}",
        arch.name, arch.doc
    );
    let derives = table_derives();
    let fields = arch.fields.iter().map(|f| {
        let (fident, fdoc) = (&f.ident, &f.doc);
        let ty = config_type(f);
        quote! { #[doc = #fdoc] pub #fident: #ty }
    });
    let assertions = arch.fields.iter().filter_map(|f| match &f.role {
        Role::Hyper { .. } => None,
        Role::Encoder { .. } | Role::Fusion { .. } | Role::Head { .. } | Role::Teacher { .. } => {
            let ty = config_type(f);
            Some(quote_spanned! {f.ty.span()=>
                const _: fn() = || {
                    fn assert_module_config<T: ::mer_core::config::schema::ConfigValue>() {}
                    assert_module_config::<#ty>();
                };
            })
        }
    });
    quote! {
        #[doc = #doc]
        #derives
        #vis struct #config_ident {
            #(#fields,)*
        }

        #(#assertions)*
    }
}

/// `impl ConfigValue`: the config's schema and checks.
fn gen_config_value(arch: &Architecture) -> TokenStream {
    let schema_fields: Vec<SchemaField> = arch
        .fields
        .iter()
        .map(|f| SchemaField {
            ident: &f.ident,
            doc: &f.doc,
            ty: config_type(f),
            default: match &f.role {
                Role::Hyper { default, .. } => default_tokens(&f.ty, default.as_ref()),
                Role::Encoder { .. }
                | Role::Fusion { .. }
                | Role::Head { .. }
                | Role::Teacher { .. } => quote!(::std::option::Option::None),
            },
            derived: None,
            range: match &f.role {
                Role::Hyper { range, .. } => range.clone(),
                _ => None,
            },
        })
        .collect();
    table_config_value(
        &config_ident(arch),
        &arch.doc,
        &schema_fields,
        arch.check.as_ref(),
        None,
    )
}

/// `init` and `try_init`: teachers loaded first (an encoder's `init_from` may read one), then
/// every part built in its mode, every weight drawn.
fn gen_config_init(arch: &Architecture) -> TokenStream {
    let (ident, backend) = (&arch.ident, &arch.backend);
    let backend_trait = backend_trait();
    let config_ident = config_ident(arch);
    let init_teachers = teachers(arch).map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        quote!(let #fident = self.#fident.init::<#backend>(#fname, device)?;)
    });
    let sources = teachers(arch).map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        quote!((#fname, self.#fident.checkpoint_dir()))
    });
    let fields = arch.fields.iter().map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        match &f.role {
            Role::Encoder { .. } => quote! {
                #fident: self.#fident
                    .try_init_with(|config| config.init(device), &sources)
                    .map_err(|error| ::mer_core::architecture::InitError::encoder(#fname, error))?
            },
            Role::Teacher { .. } => quote!(#fident),
            Role::Fusion { .. } | Role::Head { .. } => quote! {
                #fident: ::mer_core::nn::weights::fits_in_memory(self.#fident.init(device))
                    .map_err(|message| ::mer_core::architecture::InitError {
                        field: #fname,
                        at: "",
                        message,
                    })?
            },
            Role::Hyper { .. } => quote!(#fident: ::std::clone::Clone::clone(&self.#fident)),
        }
    });
    quote! {
        impl #config_ident {
            /// Builds the network on `device`, encoders in their configured mode, teachers loaded,
            /// every weight drawn now (so clones share them).
            ///
            /// # Panics
            /// When building fails; see `try_init`.
            pub fn init<#backend: #backend_trait>(&self, device: &#backend::Device) -> #ident<#backend> {
                self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
            }

            /// [`Self::init`], reporting what only building reveals: LoRA targets that match no
            /// layer, `init_from` weights that do not fit, a teacher without a checkpoint.
            pub fn try_init<#backend: #backend_trait>(
                &self,
                device: &#backend::Device,
            ) -> ::std::result::Result<#ident<#backend>, ::mer_core::architecture::InitError> {
                #(#init_teachers)*
                let sources: ::std::vec::Vec<(&'static str, ::std::option::Option<&::std::path::Path>)> =
                    ::std::vec![#(#sources),*];
                let network = #ident { #(#fields,)* };
                ::mer_core::nn::weights::materialize(&network);
                ::std::result::Result::Ok(network)
            }
        }
    }
}

/// `impl ArchitectureConfig`: name, summary, encoders and teachers, sources, loss terms, wiring.
fn gen_architecture_config(arch: &Architecture) -> TokenStream {
    let (ident, backend, name, doc) = (&arch.ident, &arch.backend, &arch.name, &arch.doc);
    let backend_trait = backend_trait();
    let config_ident = config_ident(arch);
    let has_teacher = teachers(arch).next().is_some();
    let summary = gen_summary(arch);
    let encoder_infos = encoders(arch).map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        let modality = match &f.role {
            Role::Encoder { modality, .. } => modality_tokens(*modality),
            Role::Fusion { .. } | Role::Head { .. } | Role::Teacher { .. } | Role::Hyper { .. } => {
                unreachable!("encoders only")
            }
        };
        quote! {
            ::mer_core::architecture::EncoderInfo {
                field: #fname,
                modality: #modality,
                mode: self.#fident.mode,
            }
        }
    });
    let inputs = encoders(arch).map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        quote_spanned! {f.ty.span()=>
            (#fname, ::mer_core::encoders::EncoderInput::input(&self.#fident.config))
        }
    });
    let teacher_infos = teachers(arch).map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        quote!(self.#fident.info(#fname))
    });
    let sources = gen_sources(arch);
    let loss_terms = gen_loss_terms(arch);
    let wire = gen_wire(arch);
    quote! {
        impl ::mer_core::architecture::ArchitectureConfig for #config_ident {
            const NAME: &'static str = #name;
            const DOC: &'static str = #doc;
            const HAS_TEACHER: bool = #has_teacher;

            type Network<#backend: #backend_trait> = #ident<#backend>;

            #summary

            fn encoders(&self) -> ::std::vec::Vec<::mer_core::architecture::EncoderInfo> {
                ::std::vec![#(#encoder_infos),*]
            }

            fn inputs(
                &self,
            ) -> ::std::vec::Vec<(&'static str, ::mer_core::encoders::InputConfig<'_>)> {
                ::std::vec![#(#inputs),*]
            }

            fn teachers(&self) -> ::std::vec::Vec<::mer_core::architecture::TeacherInfo> {
                ::std::vec![#(#teacher_infos),*]
            }

            #sources

            #loss_terms

            #wire
        }
    }
}

/// `summary`: the expert count (a `#[hyper(experts)]` field, else 1) and the modalities.
fn gen_summary(arch: &Architecture) -> TokenStream {
    let modalities = arch.fields.iter().filter_map(|f| match &f.role {
        Role::Encoder { modality, .. } => Some(modality_tokens(*modality)),
        Role::Fusion { .. } | Role::Head { .. } | Role::Teacher { .. } | Role::Hyper { .. } => None,
    });
    // The `#[hyper(experts)]` field, else the one a head's `experts` names, else 1.
    let head_experts = arch.fields.iter().find_map(|f| match &f.role {
        Role::Head {
            experts: Some(experts),
            ..
        } => Some(experts),
        Role::Head { experts: None, .. }
        | Role::Encoder { .. }
        | Role::Fusion { .. }
        | Role::Teacher { .. }
        | Role::Hyper { .. } => None,
    });
    let experts = arch
        .fields
        .iter()
        .find(|f| matches!(f.role, Role::Hyper { experts: true, .. }))
        .map(|f| {
            let fident = &f.ident;
            quote_spanned!(f.ty.span()=> self.#fident as usize)
        })
        .or_else(|| head_experts.map(|field| quote!(self.#field as usize)))
        .unwrap_or_else(|| quote!(1usize));
    quote! {
        fn summary(&self) -> ::mer_core::architecture::Summary {
            ::mer_core::architecture::Summary::new(#experts, &[#(#modalities),*])
        }
    }
}

/// `impl Architecture`: building from a config, part traversal, and the cached parts' dispatch.
fn gen_architecture(arch: &Architecture) -> TokenStream {
    let (ident, backend) = (&arch.ident, &arch.backend);
    let backend_trait = backend_trait();
    let config_ident = config_ident(arch);
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
    let dispatch = gen_cached_dispatch(arch);
    quote! {
        impl<#backend: #backend_trait> ::mer_core::architecture::Architecture<#backend>
            for #ident<#backend>
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

            #dispatch
        }
    }
}

/// `encode_part`, `feature_identity`, `input_key`: what the feature cache asks of encoders and
/// teachers, by field name.
fn gen_cached_dispatch(arch: &Architecture) -> TokenStream {
    let backend = &arch.backend;
    let mut run = Vec::new();
    let mut identity = Vec::new();
    let mut key = Vec::new();
    for f in arch.fields.iter() {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        match &f.role {
            Role::Encoder { .. } => {
                run.push(quote_spanned! {f.ty.span()=>
                    #fname => ::std::option::Option::Some(
                        ::mer_core::encoders::Encode::<#backend>::encode(&self.#fident, batch)
                    ),
                });
                identity.push(quote_spanned! {f.ty.span()=>
                    #fname => ::std::option::Option::Some(
                        ::mer_core::encoders::CacheableEncoder::feature_identity(
                            &config.#fident.config, &self.#fident, cache,
                        )
                    ),
                });
                key.push(quote_spanned! {f.ty.span()=>
                    #fname => ::std::option::Option::Some(
                        ::mer_core::encoders::CacheableEncoder::input_key(
                            &config.#fident.config, sample, cache,
                        )
                    ),
                });
            }
            Role::Teacher { .. } => {
                run.push(quote_spanned! {f.ty.span()=>
                    #fname => ::std::option::Option::Some(
                        ::mer_core::architecture::TeacherRow::encode(
                            ::mer_core::architecture::Forward::<#backend>::forward(
                                &self.#fident, batch, ::std::option::Option::None,
                            )
                        )
                    ),
                });
                identity.push(
                    quote!(#fname => ::std::option::Option::Some(config.#fident.feature_identity()),),
                );
                key.push(quote! {
                    #fname => ::std::option::Option::Some(config.#fident.input_key(sample, cache)),
                });
            }
            Role::Fusion { .. } | Role::Head { .. } | Role::Hyper { .. } => {}
        }
    }
    quote! {
        fn encode_part(
            &self,
            field: &str,
            batch: &::mer_core::input::Batch<#backend>,
        ) -> ::std::option::Option<::mer_core::__private::burn::tensor::Tensor<#backend, 2>> {
            match field {
                #(#run)*
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
                #(#identity)*
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
                #(#key)*
                _ => ::std::option::Option::None,
            }
        }
    }
}

/// `encode_<encoder>(batch)`, and `<teacher>_logits(batch)` and `<teacher>_features(batch)`: the
/// batch's cached outputs when there are some, else the part run on the batch.
fn gen_part_methods(arch: &Architecture) -> TokenStream {
    let (ident, vis, backend) = (&arch.ident, &arch.vis, &arch.backend);
    let backend_trait = backend_trait();
    let tensor = quote!(::mer_core::__private::burn::tensor::Tensor<#backend, 2>);
    let batch_ty = quote!(::mer_core::input::Batch<#backend>);
    let methods = arch.fields.iter().map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        match &f.role {
            Role::Encoder { .. } => {
                let method = format_ident!("encode_{}", f.ident);
                let doc = format!(
                    "The `{fname}` encoder's output for `batch` [N, H]: the batch's cached \
                     features when the encoder is frozen, else the encoder run on the batch."
                );
                quote_spanned! {f.ty.span()=>
                    #[doc = #doc]
                    #vis fn #method(&self, batch: &#batch_ty) -> #tensor {
                        match batch.features.get(#fname) {
                            ::std::option::Option::Some(cached) => ::std::clone::Clone::clone(cached),
                            ::std::option::Option::None => {
                                ::mer_core::encoders::Encode::<#backend>::encode(&self.#fident, batch)
                            }
                        }
                    }
                }
            }
            Role::Teacher { .. } => {
                let logits = format_ident!("{}_logits", f.ident);
                let features = format_ident!("{}_features", f.ident);
                let logits_doc = format!(
                    "The `{fname}` teacher's logits for `batch` [N, C]: the batch's cached outputs \
                     when training (each input's are computed once), else the teacher run on the \
                     batch."
                );
                let features_doc = format!(
                    "What the `{fname}` teacher's head read for `batch` [N, H], cached as its \
                     logits are; `None` when its architecture does not say \
                     (`Output::with_features`)."
                );
                quote_spanned! {f.ty.span()=>
                    #[doc = #logits_doc]
                    #vis fn #logits(&self, batch: &#batch_ty) -> #tensor {
                        ::mer_core::architecture::teacher_outputs(&self.#fident, batch, #fname).0
                    }

                    #[doc = #features_doc]
                    #vis fn #features(&self, batch: &#batch_ty) -> ::std::option::Option<#tensor> {
                        ::mer_core::architecture::teacher_outputs(&self.#fident, batch, #fname).1
                    }
                }
            }
            Role::Fusion { .. } | Role::Head { .. } | Role::Hyper { .. } => quote!(),
        }
    });
    quote! {
        impl<#backend: #backend_trait> #ident<#backend> {
            #(#methods)*
        }
    }
}

/// The registry entry, so tools find the architecture by name.
fn gen_registration(arch: &Architecture) -> TokenStream {
    let config_ident = config_ident(arch);
    quote! {
        ::mer_core::__private::inventory::submit! {
            ::mer_core::registry::Registration::of::<#config_ident>()
        }
    }
}

/// The type a field has in the generated config.
fn config_type(field: &ArchField) -> TokenStream {
    match &field.role {
        Role::Encoder { config, .. } => {
            quote_spanned!(field.ty.span()=> ::mer_core::encoders::EncoderSlot<#config>)
        }
        Role::Fusion { config, .. } | Role::Head { config, .. } => {
            quote_spanned!(field.ty.span()=> #config)
        }
        Role::Teacher { config } => {
            quote_spanned!(field.ty.span()=> ::mer_core::run::TeacherSlot<#config>)
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

/// `loss_terms`: classification, the architecture's own terms, then each part's.
fn gen_loss_terms(arch: &Architecture) -> TokenStream {
    let own = &arch.loss_terms;
    let parts = arch.fields.iter().filter_map(|f| match &f.role {
        Role::Hyper { .. } => None,
        Role::Encoder { .. } | Role::Fusion { .. } | Role::Head { .. } | Role::Teacher { .. } => {
            let fident = &f.ident;
            Some(quote! {
                ::mer_core::config::schema::ConfigValue::added_loss_terms(&self.#fident)
            })
        }
    });
    quote! {
        fn loss_terms(&self) -> ::std::vec::Vec<&'static str> {
            let mut terms = ::std::vec![::mer_core::nn::loss::CLASSIFICATION];
            let own: ::std::vec::Vec<&'static str> = ::std::vec![#(#own),*];
            for term in own.into_iter() #(.chain(#parts))* {
                if !terms.contains(&term) {
                    terms.push(term);
                }
            }
            terms
        }
    }
}

/// `wire`: the fusion takes its inputs' widths (the encoders it names, else every encoder), the
/// head the fusion's output width (or, with no fusion, the encoders'), and the class count.
fn gen_wire(arch: &Architecture) -> TokenStream {
    let fusion = arch.fields.iter().find_map(|f| match &f.role {
        Role::Fusion { inputs, .. } => Some((f, inputs)),
        Role::Encoder { .. } | Role::Head { .. } | Role::Teacher { .. } | Role::Hyper { .. } => {
            None
        }
    });
    let head = arch
        .fields
        .iter()
        .find(|f| matches!(f.role, Role::Head { .. }))
        .expect("the parser requires a head");
    let widths_of = |idents: Vec<&Ident>| {
        let from = idents
            .iter()
            .map(|i| format!("model.{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let names = idents.iter().map(|i| i.to_string());
        let widths = quote! {
            ::std::vec![#(
                ::mer_core::config::wiring::Wiring::output_width(&self.#idents)
                    .map_err(|problem| problem.within(#names))?
            ),*]
        };
        (widths, format!("the outputs of {from}"))
    };
    let all_encoders: Vec<&Ident> = encoders(arch).map(|f| &f.ident).collect();
    let (head_widths, head_from, fusion_wiring) = match fusion {
        Some((field, inputs)) => {
            let inputs: Vec<&Ident> = match inputs {
                Some(inputs) => inputs.iter().collect(),
                None => all_encoders.clone(),
            };
            let (widths, from) = widths_of(inputs);
            let (fident, fname) = (&field.ident, field.ident.to_string());
            let head_from = format!("the output of model.{fident}");
            (
                quote! {
                    ::std::vec![::mer_core::config::wiring::Wiring::output_width(&self.#fident)
                        .map_err(|problem| problem.within(#fname))?]
                },
                head_from,
                quote! {
                    let widths: ::std::vec::Vec<usize> = #widths;
                    ::mer_core::config::wiring::Wiring::connect_inputs(&mut self.#fident, &widths, #from)
                        .map_err(|problem| problem.within(#fname))?;
                },
            )
        }
        None => {
            let (widths, from) = widths_of(all_encoders);
            (widths, from, quote!())
        }
    };
    let (hident, hname) = (&head.ident, head.ident.to_string());
    let head_experts = match &head.role {
        Role::Head {
            experts: Some(experts),
            ..
        } => {
            let from = format!("model.{experts}");
            quote! {
                ::mer_core::config::wiring::Wiring::connect_experts(
                    &mut self.#hident,
                    self.#experts as usize,
                    #from,
                )
                .map_err(|problem| problem.within(#hname))?;
            }
        }
        Role::Head { experts: None, .. }
        | Role::Encoder { .. }
        | Role::Fusion { .. }
        | Role::Teacher { .. }
        | Role::Hyper { .. } => quote!(),
    };
    let resolve_teachers = teachers(arch).map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        quote! {
            self.#fident.resolve(store).map_err(|problem| problem.within(#fname))?;
        }
    });
    quote! {
        fn wire(
            &mut self,
            classes: usize,
            store: &::mer_core::architecture::RunStore,
        ) -> ::std::result::Result<(), ::mer_core::config::schema::Problem> {
            #(#resolve_teachers)*
            #fusion_wiring
            let widths: ::std::vec::Vec<usize> = #head_widths;
            ::mer_core::config::wiring::Wiring::connect_inputs(&mut self.#hident, &widths, #head_from)
                .map_err(|problem| problem.within(#hname))?;
            ::mer_core::config::wiring::Wiring::connect_classes(
                &mut self.#hident,
                classes,
                "data.dataset and data.label",
            )
            .map_err(|problem| problem.within(#hname))?;
            #head_experts
            ::std::result::Result::Ok(())
        }
    }
}

/// `sources`: each teacher's checkpoint, and each encoder's `init_from`.
fn gen_sources(arch: &Architecture) -> TokenStream {
    let entries = arch.fields.iter().filter_map(|f| {
        let (fident, fname) = (&f.ident, f.ident.to_string());
        match &f.role {
            Role::Teacher { .. } => Some(quote! {
                sources.push((#fname, ::std::format!("checkpoint {}", self.#fident.id)));
            }),
            Role::Encoder { .. } => Some(quote! {
                if let ::std::option::Option::Some(from) = &self.#fident.init_from {
                    sources.push((#fname, ::std::format!("init_from {from}")));
                }
            }),
            Role::Fusion { .. } | Role::Head { .. } | Role::Hyper { .. } => None,
        }
    });
    quote! {
        fn sources(&self) -> ::std::vec::Vec<(&'static str, ::std::string::String)> {
            let mut sources = ::std::vec::Vec::new();
            #(#entries)*
            sources
        }
    }
}
