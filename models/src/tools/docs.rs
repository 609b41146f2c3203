//! `mer docs`: the Markdown reference and JSON Schema of every architecture's config.

use std::path::Path;

use anyhow::{Context, bail};
use mer_core::config::{json_schema, reference};
use mer_core::registry;
use mer_core::util::atomic;

/// The files `mer docs` owns: `<arch>.md` and `<arch>.schema.json` per architecture.
pub fn write(dir: &Path, check: bool) -> anyhow::Result<()> {
    let mut stale = Vec::new();
    for registration in registry::architectures() {
        let kind = (registration.schema)();
        let markdown = reference::markdown(registration.name, registration.doc, &kind);
        let schema = json_schema::of(&format!("mer {} config", registration.name), &kind);
        let schema = serde_json::to_string_pretty(&schema)? + "\n";
        for (file, content) in [
            (format!("{}.md", registration.name), markdown),
            (format!("{}.schema.json", registration.name), schema),
        ] {
            let path = dir.join(file);
            if check {
                let current = std::fs::read_to_string(&path).unwrap_or_default();
                if current != content {
                    stale.push(path);
                }
            } else {
                atomic::write(&path, content.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
        }
    }
    if !stale.is_empty() {
        let list: Vec<String> = stale.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "stale config docs (run `mer docs` and commit): {}",
            list.join(", ")
        );
    }
    if check {
        println!("config docs are up to date");
    }
    Ok(())
}
