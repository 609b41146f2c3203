//! `mer ls`: the checkpoints of a store, with their best epoch's figures.

use mer_core::store::{CheckpointEntry, Store};

/// The checkpoints of `store` that can be read; each one that cannot is named in a warning.
pub fn readable(store: &Store) -> anyhow::Result<Vec<CheckpointEntry>> {
    let listing = store.list()?;
    for error in &listing.unreadable {
        eprintln!("warning: skipped a checkpoint that cannot be read: {error}");
    }
    Ok(listing.entries)
}

/// Checks every blob of `store` against its name; each that no longer matches is named, and
/// the first is the error.
pub fn verify(store: &Store) -> anyhow::Result<()> {
    let mut corrupt = store.verify()?.into_iter();
    let Some(first) = corrupt.next() else {
        println!(
            "every blob under {} matches its name",
            store.root().display()
        );
        return Ok(());
    };
    for error in corrupt {
        eprintln!("error: {error}");
    }
    Err(first.into())
}

/// Prints every checkpoint in `store`.
pub fn list(store: &Store) -> anyhow::Result<()> {
    let checkpoints = readable(store)?;
    if checkpoints.is_empty() {
        println!("no checkpoints under {}", store.root().display());
        return Ok(());
    }
    println!(
        "{:<12} {:<10} {:<9} {:>6}  {:<40} path",
        "architecture", "summary", "hash", "seed", "best (accuracy/weighted F1)"
    );
    for entry in checkpoints {
        let m = &entry.manifest;
        let metrics = m
            .metrics
            .clone()
            .and_then(|v| serde_json::from_value::<mer_core::train::BestEpoch>(v).ok())
            .map_or_else(
                || "-".to_owned(),
                |best| {
                    let test = best.test.map_or(String::new(), |t| {
                        format!(", test {:.2}/{:.2}", t.accuracy, t.weighted_f1)
                    });
                    format!(
                        "epoch {}: dev {:.2}/{:.2}{test}",
                        best.epoch, best.dev.accuracy, best.dev.weighted_f1
                    )
                },
            );
        println!(
            "{:<12} {:<10} {:<9} {:>6}  {:<40} {}",
            m.architecture,
            m.summary,
            m.hash,
            m.seed,
            metrics,
            store.root().join(&entry.dir).display()
        );
    }
    Ok(())
}
