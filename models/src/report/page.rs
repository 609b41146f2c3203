//! A report folder: `report.md` (the table, each class's F1, the pictures), the pictures as SVG
//! files beside it, and with `html` one `report.html` page holding all of it.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use mer_core::config::RawConfig;
use mer_core::train::EpochRecord;
use mer_core::util::atomic;

use super::plots::{self, RunCurves};
use super::{Row, SplitStats, Stat};

/// What a report is about.
pub struct Report<'a> {
    pub title: String,
    /// A line under the title (the experiment's description).
    pub description: String,
    pub rows: &'a [Row],
}

/// Writes the report into `dir` (created if missing; each file replaced whole) and returns the
/// files written.
pub fn write(report: &Report, dir: &Path, html: bool) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let classes = report
        .rows
        .first()
        .and_then(|r| r.dirs.first())
        .map(|d| class_names(d))
        .unwrap_or_default();
    let mut pictures: Vec<(String, String, String)> = Vec::new(); // (file, caption, svg)
    pictures.push((
        "table.svg".into(),
        "Weighted F1 per configuration".into(),
        plots::bars(&format!("{}: weighted F1", report.title), report.rows)?,
    ));
    for (i, row) in report.rows.iter().enumerate() {
        let runs = curves_of(row)?;
        pictures.push((
            format!("curves-{}.svg", i + 1),
            format!("{}: training curves", row.configuration),
            plots::curves(&row.configuration, &runs)?,
        ));
        let (split, stats) = shown_split(row);
        let names = padded(&classes, stats.confusion.len());
        pictures.push((
            format!("confusion-{}.svg", i + 1),
            format!(
                "{}: {split} confusion at the selected epochs",
                row.configuration
            ),
            plots::confusion(
                &format!(
                    "{} ({split}, {} seeds summed)",
                    row.configuration,
                    row.seeds.len()
                ),
                &stats.confusion,
                &names,
            )?,
        ));
    }
    let mut written = Vec::new();
    for (file, _, svg) in &pictures {
        let path = dir.join(file);
        atomic::write(&path, svg.as_bytes())?;
        written.push(path);
    }
    let names = padded(
        &classes,
        report
            .rows
            .first()
            .map_or(0, |r| shown_split(r).1.per_class_f1.len()),
    );
    let mut md = format!("# {}\n\n", report.title);
    if !report.description.is_empty() {
        writeln!(md, "{}\n", report.description)?;
    }
    md.push_str(
        "Figures at each run's epoch selected on dev weighted F1; mean ± std over seeds.\n\n",
    );
    md.push_str(&super::markdown(report.rows));
    md.push_str("\n## F1 per class\n\n");
    md.push_str(&super::per_class_markdown(report.rows, &names));
    md.push_str("\n## Pictures\n\n");
    for (file, caption, _) in &pictures {
        writeln!(md, "![{caption}]({file})\n")?;
    }
    let path = dir.join("report.md");
    atomic::write(&path, md.as_bytes())?;
    written.push(path);
    if html {
        let path = dir.join("report.html");
        atomic::write(&path, page(report, &names, &pictures).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// Test figures where every seed has them, dev otherwise.
fn shown_split(row: &Row) -> (&'static str, &SplitStats) {
    match &row.test {
        Some(test) => ("test", test),
        None => ("dev", &row.dev),
    }
}

fn padded(classes: &[String], n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            classes
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("class {i}"))
        })
        .collect()
}

/// Each run's `metrics.jsonl`, with the epoch it selected.
fn curves_of(row: &Row) -> anyhow::Result<Vec<RunCurves>> {
    let mut runs = Vec::new();
    for ((dir, seed), selected) in row.dirs.iter().zip(&row.seeds).zip(&row.selected_epochs) {
        let path = dir.join("metrics.jsonl");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
        let mut epochs = Vec::new();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let record: EpochRecord = serde_json::from_str(line)
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), n + 1))?;
            epochs.push(record);
        }
        runs.push(RunCurves {
            seed: *seed,
            epochs,
            selected: *selected,
        });
    }
    Ok(runs)
}

/// The class names of a checkpoint's dataset and labels, from its saved config; none when it
/// cannot be read (the report then numbers the classes).
fn class_names(checkpoint: &Path) -> Vec<String> {
    let names = || -> anyhow::Result<Vec<String>> {
        let raw = RawConfig::load(&[checkpoint.join("config.toml")], &[] as &[&str])?;
        let registration = crate::cli::registration(&raw, None)?;
        let inputs = (registration.inputs)(&raw)?;
        let labels = mer_datasets::LabelSet::of(inputs.data.dataset, inputs.data.label)?;
        Ok(labels.names.iter().map(|n| n.to_string()).collect())
    };
    names().unwrap_or_default()
}

/// One HTML page: the tables and the pictures inline.
fn page(report: &Report, classes: &[String], pictures: &[(String, String, String)]) -> String {
    let mut h = String::from("<!doctype html>\n<html><head><meta charset=\"utf-8\">\n");
    writeln!(h, "<title>{}</title>", escape(&report.title)).unwrap();
    h.push_str(
        "<style>body{font-family:sans-serif;margin:2em;max-width:80em}\
         table{border-collapse:collapse;margin:1em 0}\
         td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
         td:first-child,th:first-child{text-align:left}\
         figure{display:inline-block;margin:1em;vertical-align:top}\
         figcaption{font-size:.9em;color:#444}</style></head><body>\n",
    );
    writeln!(h, "<h1>{}</h1>", escape(&report.title)).unwrap();
    if !report.description.is_empty() {
        writeln!(h, "<p>{}</p>", escape(&report.description)).unwrap();
    }
    h.push_str(
        "<p>Figures at each run's epoch selected on dev weighted F1; mean ± std over seeds.</p>\n",
    );
    let stat = |s: Option<Stat>| s.map_or("–".to_owned(), |s| s.to_string());
    h.push_str(
        "<table><tr><th>configuration</th><th>seeds</th><th>dev accuracy</th><th>dev wF1</th>\
         <th>dev macro F1</th><th>test accuracy</th><th>test wF1</th><th>test macro F1</th></tr>\n",
    );
    for row in report.rows {
        let test = row.test.as_ref();
        writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&row.configuration),
            row.seeds.len(),
            row.dev.accuracy,
            row.dev.weighted_f1,
            row.dev.macro_f1,
            stat(test.map(|t| t.accuracy)),
            stat(test.map(|t| t.weighted_f1)),
            stat(test.map(|t| t.macro_f1)),
        )
        .unwrap();
    }
    h.push_str("</table>\n<h2>F1 per class</h2>\n<table><tr><th>configuration</th><th>split</th>");
    for class in classes {
        write!(h, "<th>{}</th>", escape(class)).unwrap();
    }
    h.push_str("</tr>\n");
    for row in report.rows {
        let (split, stats) = shown_split(row);
        write!(
            h,
            "<tr><td>{}</td><td>{split}</td>",
            escape(&row.configuration)
        )
        .unwrap();
        for f1 in &stats.per_class_f1 {
            write!(h, "<td>{f1}</td>").unwrap();
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n<h2>Pictures</h2>\n");
    for (_, caption, svg) in pictures {
        // The SVG inline: the page is one file.
        let body = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]);
        writeln!(
            h,
            "<figure>{body}<figcaption>{}</figcaption></figure>",
            escape(caption)
        )
        .unwrap();
    }
    h.push_str("</body></html>\n");
    h
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
