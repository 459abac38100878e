//! `liqwave summary`: replays the recorded data up to a day's summary time (or to the end of the
//! data), asks the engine for that day's summary alert and writes what the email would carry:
//! `summary.txt`, `summary.html` with its images beside it (`cid:` links rewritten to the file
//! names, so a browser shows it), the images, and the report as JSON. Owns the files only; the
//! content is `notify::summary`'s and the report is the engine's.

use std::path::{Path, PathBuf};

use anyhow::Context;
use jiff::Timestamp;
use jiff::civil::Date;

use super::DatasetArgs;
use crate::config::Config;
use crate::engine::{Engine, SummaryRequest};
use crate::model::{Alert, SymbolEvent, TimeMs, format_utc};
use crate::notify::summary::{self, InlineImage, SummaryEmail};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    dataset: DatasetArgs,
    /// The local day (in `summary.tz`) whose summary to make, at its `summary.at` time; default:
    /// the end of the data, on the local day it falls on.
    #[arg(long)]
    day: Option<Date>,
    /// The directory to write into (created when missing; files of the same names replaced).
    #[arg(long)]
    out: PathBuf,
}

pub(super) fn run(args: &Args) -> anyhow::Result<()> {
    let (config, dir) = args.dataset.load()?;
    let events = load(&config, &dir)?;
    let last = events
        .iter()
        .map(|e| e.event.known_at())
        .max()
        .context("the dataset has no events")?;
    let request = request(&config, args.day, last)?;
    let mut engine = Engine::new(&config);
    let mut alerts = Vec::new();
    for ev in events.iter().filter(|e| e.event.known_at() <= request.now) {
        engine.handle(ev, &mut alerts);
        alerts.clear();
    }
    let alert = engine
        .summary_alert(&request)
        .context("encoding the summary report")?;
    let email = summary::render_alert(&alert)?;
    let written = write(&args.out, &alert, &email)?;
    println!(
        "summary of {} ({}) at {} UTC: {}",
        request.day,
        request.tz,
        format_utc(request.now),
        alert.title
    );
    for path in written {
        println!("  wrote {}", path.display());
    }
    Ok(())
}

/// Every recorded event of the config's symbols, in replay order.
fn load(config: &Config, dir: &Path) -> anyhow::Result<Vec<SymbolEvent>> {
    let dataset = crate::supervisor::load_dataset(config, dir)?;
    Ok(dataset.into_events())
}

/// The summary of `day` at its scheduled time, or of the day the data ends on, at its end.
fn request(config: &Config, day: Option<Date>, last: TimeMs) -> anyhow::Result<SummaryRequest> {
    let tz = &config.summary.tz;
    let tz_name = tz.iana_name().unwrap_or("UTC").to_owned();
    let (day, now) = match day {
        Some(day) => {
            let at = tz
                .to_ambiguous_timestamp(day.to_datetime(config.summary.at))
                .compatible()
                .with_context(|| format!("{day} {} in {tz_name}", config.summary.at))?
                .as_millisecond();
            anyhow::ensure!(
                at <= last,
                "the summary of {day} is due at {} UTC, after the data ends ({} UTC)",
                format_utc(at),
                format_utc(last)
            );
            (day, at)
        }
        None => {
            let end = Timestamp::from_millisecond(last).context("the data's last time")?;
            (tz.to_datetime(end).date(), last)
        }
    };
    Ok(SummaryRequest {
        day: day.to_string(),
        tz: tz_name,
        now,
    })
}

/// Writes the parts into `out` and returns the paths written.
fn write(out: &Path, alert: &Alert, email: &SummaryEmail) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut files: Vec<(String, Vec<u8>)> = email
        .images
        .iter()
        .map(|i| (i.file_name.clone(), i.png.clone()))
        .collect();
    files.push(("summary.txt".into(), email.text.clone().into_bytes()));
    let html = link_files(&email.html, &email.images);
    files.push(("summary.html".into(), html.into_bytes()));
    let report = serde_json::to_vec_pretty(&alert.facts).context("encoding the report")?;
    files.push(("summary.json".into(), report));
    files
        .into_iter()
        .map(|(name, bytes)| {
            let path = out.join(name);
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// The HTML with every `cid:` image reference pointing at the image's file beside it.
fn link_files(html: &str, images: &[InlineImage]) -> String {
    images.iter().fold(html.to_owned(), |html, image| {
        // The closing quote ends the reference: `cid:board` never matches inside `cid:board-2`.
        html.replace(
            &format!("\"cid:{}\"", image.content_id),
            &format!("\"{}\"", image.file_name),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_utc;

    fn image(name: &str) -> InlineImage {
        InlineImage {
            content_id: name.to_owned(),
            file_name: format!("{name}.png"),
            alt: String::new(),
            width: 1,
            png: Vec::new(),
        }
    }

    #[test]
    fn the_html_file_shows_the_images_beside_it() {
        let html = r#"<img src="cid:board"><img src="cid:board-2"><p>cid:board</p>"#;
        let linked = link_files(html, &[image("board"), image("board-2")]);
        assert_eq!(
            linked,
            r#"<img src="board.png"><img src="board-2.png"><p>cid:board</p>"#
        );
    }

    #[test]
    #[rustfmt::skip]
    fn the_day_picks_its_summary_time_within_the_data() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let config = crate::config::load(&root.join("config/demo.toml")).unwrap();
        let last = parse_utc("2025-03-26 09:30:00").unwrap();
        // (--day, the summary's time, or the error)
        for (day, want) in [
            (Some("2025-03-26"), Ok(("2025-03-26", "2025-03-26 08:00:00"))),
            (Some("2025-03-20"), Ok(("2025-03-20", "2025-03-20 08:00:00"))),
            (None, Ok(("2025-03-26", "2025-03-26 09:30:00"))),
            (Some("2025-03-27"), Err("after the data ends")),
        ] {
            let got = request(&config, day.map(|d| d.parse().unwrap()), last);
            match (got, want) {
                (Ok(r), Ok((d, at))) => {
                    assert_eq!((r.day.as_str(), r.now), (d, parse_utc(at).unwrap()), "{day:?}");
                    assert_eq!(r.tz, "UTC");
                }
                (Err(e), Err(text)) => assert!(e.to_string().contains(text), "{e}"),
                (got, want) => panic!("{day:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
