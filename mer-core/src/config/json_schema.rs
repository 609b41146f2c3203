//! The JSON Schema of a config, made from its [`Kind`], for editors to complete and check
//! configs.

use serde_json::{Value as Json, json};

use super::schema::{Kind, Range};

/// The JSON Schema (draft 2020-12) of a config whose root is `kind`.
pub fn of(title: &str, kind: &Kind) -> Json {
    let mut schema = kind_schema(kind);
    let object = schema.as_object_mut().expect("a schema is an object");
    object.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    object.insert("title".into(), json!(title));
    schema
}

fn kind_schema(kind: &Kind) -> Json {
    match kind {
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Integer { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        Kind::Float => json!({"type": "number"}),
        Kind::String => json!({"type": "string"}),
        Kind::Enum(e) => {
            let one_of: Vec<Json> = e
                .variants
                .iter()
                .map(|v| {
                    let mut variant = json!({"const": v.name});
                    if !v.doc.is_empty() {
                        variant["description"] = json!(v.doc);
                    }
                    variant
                })
                .collect();
            json!({"type": "string", "oneOf": one_of})
        }
        Kind::Array(inner) => json!({"type": "array", "items": kind_schema(inner)}),
        Kind::Map(inner) => json!({"type": "object", "additionalProperties": kind_schema(inner)}),
        Kind::Optional(inner) => kind_schema(inner),
        Kind::Table(table) => {
            let mut properties = serde_json::Map::new();
            for field in &table.fields {
                let mut schema = kind_schema(&field.kind);
                if let Some(range) = field.range {
                    bounds(&mut schema, range);
                }
                match (field.derived, &field.default) {
                    (Some(from), _) => {
                        schema["description"] =
                            json!(format!("{} Derived from {from}.", field.doc));
                    }
                    (None, default) => {
                        if !field.doc.is_empty() {
                            schema["description"] = json!(field.doc);
                        }
                        if let Some(default) = default {
                            schema["default"] =
                                serde_json::to_value(default).expect("TOML is JSON");
                        }
                    }
                }
                properties.insert(field.name.into(), schema);
            }
            let required: Vec<&str> = table
                .fields
                .iter()
                .filter(|f| f.is_required())
                .map(|f| f.name)
                .collect();
            let mut schema = json!({
                "type": "object",
                "additionalProperties": false,
                "properties": properties,
            });
            if !required.is_empty() {
                schema["required"] = json!(required);
            }
            if !table.doc.is_empty() {
                schema["description"] = json!(table.doc);
            }
            schema
        }
    }
}

/// JSON Schema's bounds for `range`, on a number or on the items of a list of numbers.
fn bounds(schema: &mut Json, range: Range) {
    if let Some(items) = schema.get_mut("items") {
        return bounds(items, range);
    }
    let keys: &[(&str, f64)] = match range {
        Range::Probability => &[("minimum", 0.0), ("exclusiveMaximum", 1.0)],
        Range::Fraction => &[("minimum", 0.0), ("maximum", 1.0)],
        Range::Positive => &[("exclusiveMinimum", 0.0)],
        Range::NonNegative => &[("minimum", 0.0)],
        Range::AtLeastOne => &[("minimum", 1.0)],
    };
    for (key, value) in keys {
        schema[*key] = json!(value);
    }
}
