//! The daily summary as an email: from a [`SummaryReport`] the subject, the plain-text part, the
//! HTML part and the inline images (the regime board, the top setups' charts). Pure: no I/O, no
//! clock, everything shown comes from the report; it never sends and never panics on odd data.
//!
//! Content is decided once (`sections`, `market`) and laid out twice (`layout`: text, HTML), so both
//! parts always say the same. Sections, in order: headline, regime changes of the last 24 h, top
//! setups ranked (with their charts), nearest fuel per pair in a wave, funding extremes, alerts of
//! the last 24 h, feed health, and the regime board.
//!
//! The board: one image per [`BOARD_PAGE_ROWS`] pairs in the engine's (symbol) order, two
//! columns of 25, 760 pixels wide so a mail client shows it at full size; at most
//! [`MAX_BOARD_IMAGES`] images, and a note for the pairs beyond. The text part lists every pair.

mod board;
mod doc;
mod layout;
mod loaded;
mod market;
mod sections;

use crate::model::{Alert, AlertId, AlertKind, Facts};
use crate::view::SummaryReport;

pub use self::board::{BOARD_PAGE_ROWS, MAX_BOARD_IMAGES};

/// Everything one summary email carries.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Referenced by the HTML as `cid:CONTENT_ID`, in the order they appear.
    pub images: Vec<InlineImage>,
}

/// A PNG shown inside the HTML part.
#[derive(Clone, PartialEq)]
pub struct InlineImage {
    /// `board`, `board-2`, `setup-1`, …: the HTML says `<img src="cid:board">`.
    pub content_id: String,
    /// The same name with `.png`, for writing the images beside an HTML file.
    pub file_name: String,
    /// What the image shows, for `alt` and the text part.
    pub alt: String,
    /// Width in pixels the HTML shows it at.
    pub width: u32,
    pub png: Vec<u8>,
}

impl std::fmt::Debug for InlineImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineImage")
            .field("content_id", &self.content_id)
            .field("alt", &self.alt)
            .field("width", &self.width)
            .field("png_bytes", &self.png.len())
            .finish_non_exhaustive()
    }
}

/// Why an alert could not be made into a summary: nothing a retry can change.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("alert {id} is a {kind}, not a daily summary")]
    NotASummary { id: AlertId, kind: AlertKind },
    #[error("alert {id}: its facts are not a summary report: {reason}")]
    Facts {
        id: AlertId,
        reason: serde_json::Error,
    },
}

/// The report a `daily_summary` alert carries in its facts.
pub fn report_of(alert: &Alert) -> Result<SummaryReport, SummaryError> {
    let Facts::DailySummary(facts) = &alert.facts else {
        return Err(SummaryError::NotASummary {
            id: alert.id.clone(),
            kind: alert.kind(),
        });
    };
    SummaryReport::from_facts(facts).map_err(|reason| SummaryError::Facts {
        id: alert.id.clone(),
        reason,
    })
}

/// The email of a `daily_summary` alert.
pub fn render_alert(alert: &Alert) -> Result<SummaryEmail, SummaryError> {
    Ok(render(&report_of(alert)?))
}

/// The email of `report`. An image that cannot be drawn is left out, and the part says so.
pub fn render(report: &SummaryReport) -> SummaryEmail {
    let (boards, board_notes) = board::images(report);
    let (charts, chart_notes) = market::chart_images(report);
    let doc = sections::build(report, &boards, board_notes, &charts, chart_notes);
    let mut images = charts;
    images.extend(boards);
    SummaryEmail {
        subject: sections::subject(report),
        text: layout::text(&doc),
        html: layout::html(&doc),
        images,
    }
}

/// Also used by the email sink's tests: [`tests::sample`] is a small hand-made report.
#[cfg(test)]
pub(crate) mod tests;
