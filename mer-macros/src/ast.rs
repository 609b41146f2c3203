//! The typed model both macros parse their input into before generating anything.
//!
//! Every misuse is reported here, as a `syn::Error` at the offending span.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DeriveInput, Expr, Fields, GenericArgument, GenericParam, Ident, LitStr, Path,
    PathArguments, Type, Visibility,
};

use crate::docs::doc_text;

/// An architecture: `#[derive(Architecture)] struct Name<B: Backend> { ... }`.
pub struct Architecture {
    pub ident: Ident,
    pub vis: Visibility,
    /// The backend type parameter (`B`).
    pub backend: Ident,
    /// The registered name (`architecture = "unimodal"` in a config).
    pub name: String,
    pub doc: String,
    pub fields: Vec<ArchField>,
    /// `check = path`: a cross-field check of the generated config.
    pub check: Option<Path>,
    /// `loss_terms = ["distillation"]`: loss terms the architecture's forward adds itself.
    pub loss_terms: Vec<LitStr>,
}

pub struct ArchField {
    pub ident: Ident,
    pub ty: Type,
    pub doc: String,
    pub role: Role,
    /// Where the role was given: its attribute, or the field for a plain hyper-parameter.
    pub role_span: Span,
}

/// Errors collected while parsing, reported together (as serde_derive's `Ctxt` does).
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// The value, or `None` with its error kept.
    fn take<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// What a field is to the architecture.
pub enum Role {
    Encoder {
        modality: char,
        config: Path,
    },
    Fusion {
        config: Path,
        /// `inputs = [text, audio]`: the encoders it fuses, in order; all of them when absent.
        inputs: Option<Vec<Ident>>,
    },
    Head {
        config: Path,
        /// `experts = field`: the hyper-parameter that sets the head's expert count.
        experts: Option<Ident>,
    },
    Teacher {
        config: Path,
    },
    Hyper {
        default: Option<Expr>,
        experts: bool,
        /// `range = "..."`: the `Range` variant of the numbers it accepts.
        range: Option<Ident>,
    },
}

impl Role {
    fn attr_name(&self) -> &'static str {
        match self {
            Role::Encoder { .. } => "encoder",
            Role::Fusion { .. } => "fusion",
            Role::Head { .. } => "head",
            Role::Teacher { .. } => "teacher",
            Role::Hyper { .. } => "hyper",
        }
    }
}

impl Architecture {
    /// Parses the declaration, reporting every misuse in it at once.
    pub fn from_derive(input: &DeriveInput) -> syn::Result<Self> {
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => &named.named,
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "an architecture is a struct with named fields",
                    ));
                }
            },
            _ => {
                return Err(syn::Error::new(
                    input.ident.span(),
                    "an architecture is a struct with named fields",
                ));
            }
        };
        let mut errors = Errors::default();
        // Fields are still parsed against `B` when the generics are wrong, to report them too.
        let backend = errors
            .take(backend_param(input))
            .unwrap_or_else(|| Ident::new("B", Span::call_site()));
        let (name, check, loss_terms) = errors
            .take(parse_struct_attrs(&input.attrs))
            .unwrap_or_default();
        let name = name.unwrap_or_else(|| snake_case(&input.ident));

        let mut parsed = Vec::new();
        let mut every_field_parsed = true;
        for field in fields {
            let ident = field.ident.clone().expect("named field");
            if let Some((role, role_span)) =
                errors.take(parse_role(&field.attrs, &field.ty, &backend, &ident))
            {
                parsed.push(ArchField {
                    ident,
                    ty: field.ty.clone(),
                    doc: doc_text(&field.attrs),
                    role,
                    role_span: role_span.unwrap_or_else(|| field.span()),
                });
            } else {
                every_field_parsed = false;
            }
        }
        for error in check_roles(&input.ident, &input.attrs, &parsed, every_field_parsed) {
            errors.push(error);
        }
        errors.finish()?;
        Ok(Architecture {
            ident: input.ident.clone(),
            vis: input.vis.clone(),
            backend,
            name,
            doc: doc_text(&input.attrs),
            fields: parsed,
            check,
            loss_terms,
        })
    }
}

fn backend_param(input: &DeriveInput) -> syn::Result<Ident> {
    let mut types = input.generics.params.iter().filter_map(|p| match p {
        GenericParam::Type(t) => Some(t.ident.clone()),
        _ => None,
    });
    match (types.next(), types.next(), input.generics.params.len()) {
        (Some(b), None, 1) => Ok(b),
        _ => Err(syn::Error::new(
            if input.generics.params.is_empty() {
                input.ident.span()
            } else {
                input.generics.span()
            },
            "an architecture is generic over exactly one Burn backend: `struct Name<B: Backend>`",
        )),
    }
}

/// `#[architecture(name = "...", check = path, loss_terms = ["..."])]`.
fn parse_struct_attrs(
    attrs: &[Attribute],
) -> syn::Result<(Option<String>, Option<Path>, Vec<LitStr>)> {
    let mut name = None;
    let mut check = None;
    let mut loss_terms = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("architecture")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let lit: LitStr = meta.value()?.parse()?;
                let value = lit.value();
                let valid = !value.is_empty()
                    && value.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
                    });
                if !valid {
                    return Err(syn::Error::new(
                        lit.span(),
                        "an architecture name is lowercase ASCII letters, digits, `-` and `_`",
                    ));
                }
                name = Some(value);
                Ok(())
            } else if meta.path.is_ident("check") {
                check = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("loss_terms") {
                let list: syn::ExprArray = meta.value()?.parse()?;
                for element in list.elems {
                    match element {
                        Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(lit),
                            ..
                        }) => loss_terms.push(lit),
                        other => {
                            return Err(syn::Error::new(
                                other.span(),
                                "a loss term is a string: `loss_terms = [\"distillation\"]`",
                            ));
                        }
                    }
                }
                Ok(())
            } else {
                Err(meta.error(
                    "unknown architecture attribute; expected `name = \"...\"`, `check = path` or `loss_terms = [\"...\"]`",
                ))
            }
        })?;
    }
    Ok((name, check, loss_terms))
}

/// A field's role and the span of the attribute that gave it (none for a plain hyper-parameter).
fn parse_role(
    attrs: &[Attribute],
    ty: &Type,
    backend: &Ident,
    field: &Ident,
) -> syn::Result<(Role, Option<Span>)> {
    let mut role: Option<(Role, Span)> = None;
    for attr in attrs {
        let Some(attr_ident) = attr.path().get_ident() else {
            continue;
        };
        let attr_name = attr_ident.to_string();
        let parsed = match attr_name.as_str() {
            "encoder" => parse_module_role(attr, ty, backend, true)?,
            "fusion" | "head" | "teacher" => parse_module_role(attr, ty, backend, false)?,
            "hyper" => parse_hyper(attr)?,
            _ => continue,
        };
        let parsed = match (parsed, attr_name.as_str()) {
            (ModuleRole::Encoder(modality, config), _) => Role::Encoder { modality, config },
            (ModuleRole::Plain(config, inputs, _), "fusion") => Role::Fusion { config, inputs },
            (ModuleRole::Plain(config, _, experts), "head") => Role::Head { config, experts },
            (ModuleRole::Plain(config, _, _), _) => Role::Teacher { config },
            (ModuleRole::Hyper(default, experts, range), _) => Role::Hyper {
                default,
                experts,
                range,
            },
        };
        if let Some((previous, _)) = &role {
            return Err(syn::Error::new(
                attr.span(),
                format!(
                    "field `{field}` already has the role #[{}]; a field has one role",
                    previous.attr_name()
                ),
            ));
        }
        role = Some((parsed, attr.span()));
    }
    match role {
        Some((role, span)) => Ok((role, Some(span))),
        None if mentions_backend(ty, backend) => Err(syn::Error::new(
            ty.span(),
            format!(
                "field `{field}` is a Burn module but has no role; mark it \
                 #[encoder(modality = \"T\")], #[fusion], #[head] or #[teacher]"
            ),
        )),
        None => Ok((
            Role::Hyper {
                default: None,
                experts: false,
                range: None,
            },
            None,
        )),
    }
}

enum ModuleRole {
    Encoder(char, Path),
    /// A fusion, head or teacher, a fusion's `inputs` and a head's `experts`.
    Plain(Path, Option<Vec<Ident>>, Option<Ident>),
    Hyper(Option<Expr>, bool, Option<Ident>),
}

fn parse_module_role(
    attr: &Attribute,
    ty: &Type,
    backend: &Ident,
    encoder: bool,
) -> syn::Result<ModuleRole> {
    let role = attr.path().get_ident().expect("checked").to_string();
    let mut modality: Option<char> = None;
    let mut config: Option<Path> = None;
    let mut inputs: Option<Vec<Ident>> = None;
    let mut experts: Option<Ident> = None;
    if !matches!(attr.meta, syn::Meta::Path(_)) {
        attr.parse_nested_meta(|meta| {
            if encoder && meta.path.is_ident("modality") {
                let lit: LitStr = meta.value()?.parse()?;
                modality = Some(match lit.value().as_str() {
                    "T" => 'T',
                    "A" => 'A',
                    "V" => 'V',
                    _ => {
                        return Err(syn::Error::new(
                            lit.span(),
                            "a modality is \"T\" (text), \"A\" (audio) or \"V\" (video)",
                        ));
                    }
                });
                Ok(())
            } else if meta.path.is_ident("config") {
                config = Some(meta.value()?.parse()?);
                Ok(())
            } else if role == "fusion" && meta.path.is_ident("inputs") {
                let list: syn::ExprArray = meta.value()?.parse()?;
                let mut idents = Vec::new();
                for element in list.elems {
                    match element {
                        Expr::Path(p) if p.path.get_ident().is_some() => {
                            idents.push(p.path.get_ident().expect("checked").clone());
                        }
                        other => {
                            return Err(syn::Error::new(
                                other.span(),
                                "a fusion input is an encoder field: `inputs = [text, audio]`",
                            ));
                        }
                    }
                }
                inputs = Some(idents);
                Ok(())
            } else if role == "head" && meta.path.is_ident("experts") {
                experts = Some(meta.value()?.parse()?);
                Ok(())
            } else if encoder {
                Err(meta.error(
                    "unknown encoder attribute; expected `modality = \"T\" | \"A\" | \"V\"` or `config = Path`",
                ))
            } else if role == "fusion" {
                Err(meta.error(
                    "unknown fusion attribute; expected `inputs = [encoder, ...]` or `config = Path`",
                ))
            } else if role == "head" {
                Err(meta.error(
                    "unknown head attribute; expected `experts = hyper_parameter` or `config = Path`",
                ))
            } else {
                Err(meta.error(format!(
                    "unknown {role} attribute; expected nothing or `config = Path`"
                )))
            }
        })?;
    }
    let module_path = module_type_path(ty, backend).ok_or_else(|| {
        syn::Error::new(
            ty.span(),
            format!(
                "a #[{role}] field must be a Burn module generic over `{backend}`, like `Head<{backend}>`"
            ),
        )
    })?;
    let config = config.unwrap_or_else(|| config_path_for(&module_path));
    if encoder {
        let modality = modality.ok_or_else(|| {
            syn::Error::new(
                attr.span(),
                "an encoder needs a modality: #[encoder(modality = \"T\" | \"A\" | \"V\")]",
            )
        })?;
        Ok(ModuleRole::Encoder(modality, config))
    } else {
        Ok(ModuleRole::Plain(config, inputs, experts))
    }
}

fn parse_hyper(attr: &Attribute) -> syn::Result<ModuleRole> {
    let mut default = None;
    let mut experts = false;
    let mut range = None;
    if !matches!(attr.meta, syn::Meta::Path(_)) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("default") {
                default = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("experts") {
                experts = true;
                Ok(())
            } else if meta.path.is_ident("range") {
                range = Some(parse_range(&meta.value()?.parse::<LitStr>()?)?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown hyper attribute; expected `default = EXPR`, `experts` or `range = \"...\"`",
                ))
            }
        })?;
    }
    Ok(ModuleRole::Hyper(default, experts, range))
}

/// One head, at most one fusion and expert count, at least one encoder, and fusion
/// inputs that are encoders: every violation, each at its role's span. What is missing is only
/// reported when every field parsed (a field in error may be the head).
fn check_roles(
    ident: &Ident,
    attrs: &[Attribute],
    parsed: &[ArchField],
    every_field_parsed: bool,
) -> Vec<syn::Error> {
    let mut errors = Vec::new();
    // Teachers may be several: a fusion stage reads the encoders of every network it combines.
    for what in ["head", "fusion"] {
        let with_role: Vec<&ArchField> = parsed
            .iter()
            .filter(|f| f.role.attr_name() == what)
            .collect();
        for extra in with_role.iter().skip(1) {
            errors.push(syn::Error::new(
                extra.role_span,
                format!(
                    "an architecture has at most one {what}; `{}` is already the #[{what}]",
                    with_role[0].ident
                ),
            ));
        }
    }
    let experts: Vec<&ArchField> = parsed
        .iter()
        .filter(|f| matches!(f.role, Role::Hyper { experts: true, .. }))
        .collect();
    for extra in experts.iter().skip(1) {
        errors.push(syn::Error::new(
            extra.role_span,
            "only one hyper-parameter can be #[hyper(experts)]",
        ));
    }
    let encoders: Vec<&Ident> = parsed
        .iter()
        .filter(|f| matches!(f.role, Role::Encoder { .. }))
        .map(|f| &f.ident)
        .collect();
    for field in parsed {
        let inputs = match &field.role {
            Role::Fusion {
                inputs: Some(inputs),
                ..
            } => inputs,
            Role::Fusion { inputs: None, .. }
            | Role::Encoder { .. }
            | Role::Head { .. }
            | Role::Teacher { .. }
            | Role::Hyper { .. } => continue,
        };
        for input in inputs.iter().filter(|i| !encoders.contains(i)) {
            errors.push(syn::Error::new(
                input.span(),
                format!(
                    "`{input}` is not an #[encoder] field of this architecture; a fusion's inputs are encoders"
                ),
            ));
        }
    }
    let hypers: Vec<&Ident> = parsed
        .iter()
        .filter(|f| matches!(f.role, Role::Hyper { .. }))
        .map(|f| &f.ident)
        .collect();
    for field in parsed {
        if let Role::Head {
            experts: Some(experts),
            ..
        } = &field.role
            && !hypers.contains(&experts)
        {
            errors.push(syn::Error::new(
                experts.span(),
                format!("`{experts}` is not a hyper-parameter of this architecture; a head's `experts` names one"),
            ));
        }
    }
    let span = attrs
        .iter()
        .find(|a| a.path().is_ident("architecture"))
        .map(|a| a.span())
        .unwrap_or_else(|| ident.span());
    if !every_field_parsed {
        return errors;
    }
    if !parsed.iter().any(|f| matches!(f.role, Role::Head { .. })) {
        errors.push(syn::Error::new(
            span,
            "an architecture needs a #[head] field",
        ));
    }
    if encoders.is_empty() {
        errors.push(syn::Error::new(
            span,
            "an architecture needs at least one #[encoder(modality = ...)] field",
        ));
    }
    errors
}

/// The path of `X<B>` when the type is a module generic over the backend.
fn module_type_path(ty: &Type, backend: &Ident) -> Option<Path> {
    let Type::Path(tp) = ty else { return None };
    if tp.qself.is_some() {
        return None;
    }
    let last = tp.path.segments.last()?;
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let generic_over_backend = args.args.iter().any(|arg| match arg {
        GenericArgument::Type(Type::Path(p)) => p.path.is_ident(backend),
        _ => false,
    });
    generic_over_backend.then(|| tp.path.clone())
}

fn mentions_backend(ty: &Type, backend: &Ident) -> bool {
    fn walk(tokens: TokenStream, backend: &Ident) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => &i == backend,
            proc_macro2::TokenTree::Group(g) => walk(g.stream(), backend),
            _ => false,
        })
    }
    walk(quote::quote!(#ty), backend)
}

/// `path::to::Head<B>` → `path::to::HeadConfig`, spanned at the type so a missing config type is
/// reported on the field.
fn config_path_for(module: &Path) -> Path {
    let mut path = module.clone();
    let last = path.segments.last_mut().expect("non-empty path");
    last.ident = Ident::new(&format!("{}Config", last.ident), last.ident.span());
    last.arguments = PathArguments::None;
    path
}

/// `WeightedCe` → `weighted_ce`, `MELD` → `meld`: a break only where a lowercase letter or digit
/// meets an uppercase one, so acronyms stay whole.
fn snake_case(ident: &Ident) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in ident.to_string().chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A `#[config]` item: a struct of fields or an enum of unit variants.
pub struct ConfigItem {
    /// The item as written, less the `#[config(...)]` field attributes.
    pub item: DeriveInput,
    pub doc: String,
    pub shape: ConfigShape,
    /// `#[config(check = path)]`: a cross-field check, `fn(&Self) -> Result<(), Problem>`.
    pub check: Option<Path>,
    /// `#[config(loss_terms = path)]`: the loss terms a part so configured adds,
    /// `fn(&Self) -> Vec<&'static str>`.
    pub loss_terms: Option<Path>,
}

pub enum ConfigShape {
    Struct(Vec<ConfigField>),
    Enum(Vec<ConfigVariant>),
}

pub struct ConfigField {
    pub ident: Ident,
    pub ty: Type,
    pub doc: String,
    pub default: Option<Expr>,
    /// `#[config(derived = "what from")]`: filled in from other keys when left out.
    pub derived: Option<LitStr>,
    /// `#[config(range = "probability")]`: the numbers the key accepts (a variant of
    /// `mer_core::config::schema::Range`, by its name).
    pub range: Option<Ident>,
}

pub struct ConfigVariant {
    pub ident: Ident,
    /// As written in TOML (kebab-case).
    pub name: String,
    pub doc: String,
}

impl ConfigItem {
    pub fn parse(args: TokenStream, input: &DeriveInput) -> syn::Result<Self> {
        let mut check = None;
        let mut loss_terms = None;
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("check") {
                check = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("loss_terms") {
                loss_terms = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown #[config] argument; expected `check = path` or `loss_terms = path` (defaults go on fields: #[config(default = EXPR)])",
                ))
            }
        });
        syn::parse::Parser::parse2(parser, args)?;
        if !input.generics.params.is_empty() {
            return Err(syn::Error::new(
                input.generics.span(),
                "a #[config] type cannot be generic",
            ));
        }
        let mut item = input.clone();
        let shape = match &mut item.data {
            Data::Struct(data) => {
                let Fields::Named(named) = &mut data.fields else {
                    return Err(syn::Error::new(
                        input.ident.span(),
                        "a #[config] struct has named fields",
                    ));
                };
                let mut fields = Vec::new();
                for field in named.named.iter_mut() {
                    let FieldAttrs {
                        default,
                        derived,
                        range,
                    } = take_field_attrs(&mut field.attrs)?;
                    if let (Some(default), Some(_)) = (&default, &derived) {
                        return Err(syn::Error::new(
                            default.span(),
                            "a derived field takes no default: it is filled in from other keys",
                        ));
                    }
                    fields.push(ConfigField {
                        ident: field.ident.clone().expect("named"),
                        ty: field.ty.clone(),
                        doc: doc_text(&field.attrs),
                        default,
                        derived,
                        range,
                    });
                }
                ConfigShape::Struct(fields)
            }
            Data::Enum(data) => {
                let mut variants = Vec::new();
                for variant in &data.variants {
                    if !matches!(variant.fields, Fields::Unit) {
                        return Err(syn::Error::new(
                            variant.fields.span(),
                            "a #[config] enum has unit variants only",
                        ));
                    }
                    variants.push(ConfigVariant {
                        ident: variant.ident.clone(),
                        name: kebab_case(&variant.ident),
                        doc: doc_text(&variant.attrs),
                    });
                }
                ConfigShape::Enum(variants)
            }
            Data::Union(_) => {
                return Err(syn::Error::new(
                    input.ident.span(),
                    "#[config] applies to a struct or an enum",
                ));
            }
        };
        if (check.is_some() || loss_terms.is_some()) && matches!(shape, ConfigShape::Enum(_)) {
            return Err(syn::Error::new(
                input.ident.span(),
                "`check` and `loss_terms` apply to #[config] structs",
            ));
        }
        Ok(ConfigItem {
            doc: doc_text(&input.attrs),
            item,
            shape,
            check,
            loss_terms,
        })
    }
}

/// A config field's `#[config(...)]` settings.
struct FieldAttrs {
    default: Option<Expr>,
    derived: Option<LitStr>,
    range: Option<Ident>,
}

/// The names `#[config(range = "...")]` takes and the `Range` variants they stand for (as
/// `mer_core::config::schema::Range::NAMES` lists them).
const RANGES: [(&str, &str); 5] = [
    ("probability", "Probability"),
    ("fraction", "Fraction"),
    ("positive", "Positive"),
    ("non-negative", "NonNegative"),
    ("at-least-one", "AtLeastOne"),
];

/// The `Range` variant a range's name stands for.
fn parse_range(name: &LitStr) -> syn::Result<Ident> {
    match RANGES.iter().find(|(n, _)| *n == name.value()) {
        Some((_, variant)) => Ok(Ident::new(variant, name.span())),
        None => {
            let names: Vec<&str> = RANGES.iter().map(|(n, _)| *n).collect();
            Err(syn::Error::new(
                name.span(),
                format!("unknown range; expected one of {}", names.join(", ")),
            ))
        }
    }
}

/// Removes `#[config(default = EXPR)]`, `#[config(derived = "...")]` and
/// `#[config(range = "...")]` from a field's attributes, returning them.
fn take_field_attrs(attrs: &mut Vec<Attribute>) -> syn::Result<FieldAttrs> {
    let mut default = None;
    let mut derived = None;
    let mut range = None;
    let mut result = Ok(());
    attrs.retain(|attr| {
        if !attr.path().is_ident("config") {
            return true;
        }
        if let Err(e) = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("default") {
                default = Some(meta.value()?.parse::<Expr>()?);
                Ok(())
            } else if meta.path.is_ident("derived") {
                derived = Some(meta.value()?.parse::<LitStr>()?);
                Ok(())
            } else if meta.path.is_ident("range") {
                range = Some(parse_range(&meta.value()?.parse::<LitStr>()?)?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown config attribute; expected `default = EXPR`, `derived = \"what from\"` or `range = \"...\"`",
                ))
            }
        }) {
            result = Err(e);
        }
        false
    });
    result.map(|()| FieldAttrs {
        default,
        derived,
        range,
    })
}

fn kebab_case(ident: &Ident) -> String {
    snake_case(ident).replace('_', "-")
}
