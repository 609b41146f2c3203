//! The report's pictures, as SVG text (plotters' SVG backend: the viewer draws the text, so no
//! font is needed here): training curves, a confusion matrix and the table as bars.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Row, Stat};
use mer_core::train::EpochRecord;

/// One run's epochs, for its curves.
pub struct RunCurves {
    pub seed: u64,
    pub epochs: Vec<EpochRecord>,
    /// The epoch selected on dev.
    pub selected: usize,
}

const FONT: &str = "sans-serif";

/// Every loss term (its unweighted epoch mean) and dev weighted F1 per epoch, one line per
/// seed, a term's seeds in one colour; a dot on each seed's selected epoch.
pub fn curves(title: &str, runs: &[RunCurves]) -> anyhow::Result<String> {
    let mut terms: Vec<&str> = Vec::new();
    for run in runs {
        for record in &run.epochs {
            for term in record.losses.keys() {
                if !terms.contains(&term.as_str()) {
                    terms.push(term);
                }
            }
        }
    }
    let last_epoch = runs
        .iter()
        .flat_map(|r| r.epochs.iter().map(|e| e.epoch))
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    let highest_loss = runs
        .iter()
        .flat_map(|r| r.epochs.iter().flat_map(|e| e.losses.values().copied()))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-3);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let (top, bottom) = root.split_vertically(280);
        let mut losses = ChartBuilder::on(&top)
            .caption(format!("{title}: training loss terms"), (FONT, 15))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(1f64..last_epoch, 0f64..highest_loss * 1.05)?;
        losses
            .configure_mesh()
            .x_labels(last_epoch as usize)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_desc("epoch")
            .y_desc("epoch mean")
            .draw()?;
        for (t, term) in terms.iter().enumerate() {
            let colour = Palette99::pick(t).to_rgba();
            for (i, run) in runs.iter().enumerate() {
                let points = run
                    .epochs
                    .iter()
                    .filter_map(|e| e.losses.get(*term).map(|v| (e.epoch as f64, *v)));
                let series = losses.draw_series(LineSeries::new(points, colour.stroke_width(2)))?;
                if i == 0 {
                    series.label(*term).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                    });
                }
            }
        }
        losses
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;

        let mut dev = ChartBuilder::on(&bottom)
            .caption("dev weighted F1 (dot: the selected epoch)", (FONT, 15))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(1f64..last_epoch, 0f64..100f64)?;
        dev.configure_mesh()
            .x_labels(last_epoch as usize)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_desc("epoch")
            .y_desc("wF1")
            .draw()?;
        for (i, run) in runs.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            let points: Vec<(f64, f64)> = run
                .epochs
                .iter()
                .map(|e| (e.epoch as f64, e.dev.weighted_f1))
                .collect();
            dev.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(format!("seed {}", run.seed))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            dev.draw_series(
                points
                    .iter()
                    .filter(|(epoch, _)| *epoch as usize == run.selected)
                    .map(|&p| Circle::new(p, 4, colour.filled())),
            )?;
        }
        dev.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// A confusion matrix (rows gold, columns predicted) with its counts; a cell's shade is its
/// share of the gold class.
pub fn confusion(title: &str, matrix: &[Vec<usize>], classes: &[String]) -> anyhow::Result<String> {
    let n = matrix.len().max(1) as u32;
    let name = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) => classes.get(*i as usize).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let mut svg = String::new();
    {
        let side = 140 + 56 * n;
        let root = SVGBackend::with_string(&mut svg, (side + 40, side)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 15))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(segments(n), segments(n))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("predicted")
            .y_desc("gold")
            .x_label_formatter(&name)
            .y_label_formatter(&|v| match v {
                // Gold class 0 on top.
                SegmentValue::CenterOf(i) => (n - 1)
                    .checked_sub(*i)
                    .map_or(String::new(), |gold| name(&SegmentValue::CenterOf(gold))),
                _ => String::new(),
            })
            .draw()?;
        for (g, row) in matrix.iter().enumerate() {
            let total = row.iter().sum::<usize>().max(1) as f64;
            let y = n - 1 - g as u32;
            for (p, &count) in row.iter().enumerate() {
                let share = count as f64 / total;
                let x = p as u32;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                    ],
                    BLUE.mix(0.05 + 0.85 * share).filled(),
                )))?;
                let ink = if share > 0.5 { WHITE } else { BLACK };
                chart.draw_series(std::iter::once(Text::new(
                    count.to_string(),
                    (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                    (FONT, 13)
                        .into_font()
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                )))?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}

/// The table as horizontal bars: each configuration's dev and test weighted F1, mean with a
/// line of ± one standard deviation.
pub fn bars(title: &str, rows: &[Row]) -> anyhow::Result<String> {
    // Two slots per configuration: dev, then test.
    let slots = (2 * rows.len()).max(1) as u32;
    let label_width = rows
        .iter()
        .map(|r| r.configuration.chars().count())
        .max()
        .unwrap_or(8) as u32
        * 7
        + 60;
    let slot_label = |v: &SegmentValue<u32>| match v {
        // Slot 0 (the first row's dev) on top.
        SegmentValue::CenterOf(s) => match (slots - 1).checked_sub(*s) {
            Some(slot) if slot < slots => match (rows.get((slot / 2) as usize), slot % 2) {
                (Some(row), 0) => format!("{} · dev", row.configuration),
                (Some(_), _) => "test".to_owned(),
                (None, _) => String::new(),
            },
            _ => String::new(),
        },
        _ => String::new(),
    };
    let mut svg = String::new();
    {
        let height = 90 + 26 * slots;
        let root =
            SVGBackend::with_string(&mut svg, (label_width + 520, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 15))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0f64..100f64, segments(slots))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(slots as usize)
            .y_label_formatter(&slot_label)
            .x_desc("weighted F1 (mean ± std over seeds)")
            .draw()?;
        for (r, row) in rows.iter().enumerate() {
            for (k, stat, colour) in [
                (0, Some(row.dev.weighted_f1), BLUE),
                (1, row.test.as_ref().map(|t| t.weighted_f1), RED),
            ] {
                let Some(Stat { mean, std }) = stat else {
                    continue;
                };
                let y = slots - 1 - (2 * r as u32 + k);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(y)),
                        (mean, SegmentValue::Exact(y + 1)),
                    ],
                    colour.mix(0.6).filled(),
                )))?;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![
                        ((mean - std).max(0.0), SegmentValue::CenterOf(y)),
                        ((mean + std).min(100.0), SegmentValue::CenterOf(y)),
                    ],
                    BLACK.stroke_width(2),
                )))?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}

/// `n` segments, `0` to `n - 1`: plotters' integer ranges include their end.
fn segments(
    n: u32,
) -> plotters::coord::ranged1d::SegmentedCoord<plotters::coord::types::RangedCoordu32> {
    (0..n.saturating_sub(1)).into_segmented()
}
