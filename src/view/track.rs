//! A kind's track record as alerts quote it: one line per scored alert kind (and cluster label),
//! read from a backtest report (`[signal] report`). Plain data and its lookup; the backtest
//! writes it, the sinks print it, and nothing here measures anything.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::{AlertKind, ClusterLabel};

/// Every line a report offers, and where the numbers come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackRecord {
    /// The sample behind the lines, in words ("backtest, 9 pairs, 2025-09-20 → 2026-02-19").
    pub source: String,
    pub lines: Vec<TrackLine>,
}

/// What alerts of one kind (and label) did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackLine {
    pub kind: AlertKind,
    /// `fuel` or `magnet` for cluster alerts; `None` for every other kind.
    pub label: Option<ClusterLabel>,
    /// The measured result in one sentence, without the source.
    pub text: String,
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TrackRecordError {
    #[error("cannot read the signal report {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the signal report {path} is not a backtest report: {reason}")]
    Format { path: String, reason: String },
}

impl TrackRecord {
    /// The `track_record` of the backtest report at `path`: `report.json`, or the smaller
    /// `track-record.json` that `liqwave backtest --out` writes beside it.
    pub fn load(path: &Path) -> Result<TrackRecord, TrackRecordError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TrackRecordError::Read {
            path: shown.clone(),
            source,
        })?;
        #[derive(Deserialize)]
        struct Report {
            track_record: TrackRecord,
        }
        serde_json::from_str::<Report>(&text)
            .map(|r| r.track_record)
            .map_err(|e| TrackRecordError::Format {
                path: shown,
                reason: e.to_string(),
            })
    }

    /// The line for an alert of `kind` (with `label` for cluster alerts), with its source.
    pub fn line(&self, kind: AlertKind, label: Option<ClusterLabel>) -> Option<String> {
        let line = self
            .lines
            .iter()
            .find(|l| l.kind == kind && l.label == label)?;
        Some(format!("{} ({})", line.text, self.source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found_by_kind_and_label() {
        let record = TrackRecord {
            source: "backtest, 9 pairs".to_owned(),
            lines: vec![TrackLine {
                kind: AlertKind::ClusterEdge,
                label: Some(ClusterLabel::Fuel),
                text: "fuel edges: swept within 24 h 58 %".to_owned(),
            }],
        };
        assert_eq!(
            record
                .line(AlertKind::ClusterEdge, Some(ClusterLabel::Fuel))
                .as_deref(),
            Some("fuel edges: swept within 24 h 58 % (backtest, 9 pairs)")
        );
        assert_eq!(
            record.line(AlertKind::ClusterEdge, Some(ClusterLabel::Magnet)),
            None
        );
        assert_eq!(record.line(AlertKind::SetupEntry, None), None);
    }

    #[test]
    fn a_report_without_a_track_record_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, r#"{"alerts": []}"#).unwrap();
        let err = TrackRecord::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("report.json") && err.contains("track_record"),
            "{err}"
        );
        assert!(TrackRecord::load(&dir.path().join("missing.json")).is_err());
    }
}
