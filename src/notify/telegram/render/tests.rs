//! Unit tests of the Telegram rendering: each kind's layout, escaping, splitting.

use serde_json::json;

use super::*;
use crate::model::testing::{TestAlert, alert};
use crate::model::{
    BarFacts, BiasFacts, Checklist, ClusterFacts, Conviction, Cross50, Crowding, DivergenceKind,
    EntryDirection, FundingFacts, HeatmapMode, Interval, MidlineCrossFacts, ModelFacts, Regime,
    RegimeChangeFacts, SetupLetter, SummaryFacts,
};

/// ETHUSDT's alert of `facts` at 2025-03-18 00:00 UTC, the close of the 4h bar it names.
fn eth(facts: Facts) -> TestAlert {
    alert(facts)
        .symbol("ETHUSDT")
        .at(1_742_256_000_000)
        .trigger("1742241600000")
}

fn cluster() -> ClusterFacts {
    ClusterFacts {
        id: "short@7640".into(),
        side: Side::Short,
        near_edge: 2059.432,
        far_edge: 2111.54,
        peak: 2077.003,
        notional_usd: 106_384_474.5,
        density: 3.885,
        share: 0.29,
        thin_approach: 0.47,
        isolation: 10.0,
        fuel_behind: 1.3,
        gap_pct: 0.38,
        gap_atr: 0.06,
        age_steps: 581,
        age_hours: 48.4,
    }
}

fn bias() -> BiasFacts {
    BiasFacts {
        wave: Regime::Bull,
        timeframe: Interval::H4,
        regime: Some(Regime::Bull),
        higher_regime: None,
        conviction: Conviction::Normal,
    }
}

fn model() -> ModelFacts {
    ModelFacts {
        estimate: true,
        mode: HeatmapMode::VolumeProxy,
        coverage: None,
        step_ms: Some(1),
    }
}

fn funding() -> FundingFacts {
    FundingFacts {
        rate: Some(-0.0000129),
        time_ms: Some(1),
        crowded: Some(Crowding::Shorts),
        confirms: true,
    }
}

fn level(label: ClusterLabel, price: f64) -> LevelFacts {
    LevelFacts {
        label,
        price,
        low: price - 10.0,
        high: price + 10.0,
        approach_distance: 10.2,
        cluster: cluster(),
        next_cluster: None,
        bias: bias(),
        converged: true,
        funding: funding(),
        model: model(),
    }
}

#[test]
fn cluster_edge_names_label_range_size_distance_and_the_caveat() {
    let title = "ETHUSDT reached short-liquidation cluster 2,059.4–2,111.5 (fuel, ~$106M est., density 3.9)";
    let edge = Facts::ClusterEdge(Box::new(level(ClusterLabel::Fuel, 2050.0)));
    let a = eth(edge).title(title).build();
    let html = render_html(&a);
    assert!(
        html.starts_with("<b>ETHUSDT reached short-liquidation cluster"),
        "{html}"
    );
    for want in [
        "<b>Fuel</b> (in the wave's direction): short liquidations above price",
        "Cluster: 2,059.4–2,111.5 (peak 2,077.0)",
        "Notional: ~$106M est. · density 3.9 · share 29 %",
        "Price: 2,050.0 · 0.46 % from the near edge",
        "Bias: bull wave (4h regime bull, normal conviction)",
        "Funding: -0.0013 % · shorts crowded · confirms the wave",
        "Estimate: a cluster is where the heatmap model (mode volume_proxy, coverage n/a) piles up",
        "on real Binance prints it has not beaten a plain leverage ladder",
        "<i>id</i> <code>cluster_edge:ETHUSDT:-:1742241600000</code>",
    ] {
        assert!(html.contains(want), "missing {want:?} in\n{html}");
    }
    assert!(!html.contains("warming up"));
}

#[test]
fn cluster_approach_and_sweep() {
    let facts = |next: Option<ClusterFacts>| {
        Box::new(LevelFacts {
            next_cluster: next,
            converged: false,
            funding: FundingFacts {
                rate: None,
                time_ms: None,
                crowded: None,
                confirms: false,
            },
            model: ModelFacts {
                mode: HeatmapMode::Oi,
                coverage: Some(0.634),
                ..model()
            },
            ..level(ClusterLabel::Magnet, 2070.0)
        })
    };
    let approach = render_html(&eth(Facts::ClusterApproach(facts(None))).title("t").build());
    assert!(
        approach.contains("<b>Magnet</b> (against the wave)"),
        "{approach}"
    );
    assert!(approach.contains("inside the cluster"));
    assert!(approach.contains("Funding: no data"));
    assert!(approach.contains("(mode oi, coverage 63 %)"));
    assert!(approach.contains("<i>RSI still warming up: values may shift a little.</i>"));
    assert!(!approach.contains("Next:"));

    let next = ClusterFacts {
        near_edge: 2150.0,
        far_edge: 2170.0,
        notional_usd: 3.9e7,
        ..cluster()
    };
    let swept = render_html(
        &eth(Facts::ClusterSwept(facts(Some(next))))
            .title("t")
            .build(),
    );
    assert!(
        swept.contains("Next: 2,150.0–2,170.0 (~$39.0M est.)"),
        "{swept}"
    );
    let none = render_html(&eth(Facts::ClusterSwept(facts(None))).title("t").build());
    assert!(none.contains("Next: none in the window"));
}

#[test]
fn setup_entry_has_levels_checklist_funding_and_the_caveat() {
    let facts = SetupFacts {
        setup: SetupLetter::A,
        direction: EntryDirection::Short,
        entry: 1925.37,
        stop: 1957.68,
        stop_swing_open_ms: 1_742_068_800_000,
        t1: 1813.926,
        t2: None,
        reward_risk: 3.199,
        fee_frac: 0.001,
        risk_pct: 1.678,
        rsi: Some(51.44),
        bar_open_ms: 1_742_241_600_000,
        bars: 69,
        converged: false,
        bias: bias(),
        cluster: cluster(),
        next_cluster: None,
        model: model(),
        funding: funding(),
        checklist: Checklist {
            regime_clear: true,
            cluster_in_wave_direction: true,
            thin_approach: true,
            trigger_4h: true,
            funding_confirms: false,
            invalidation_level: true,
            reward_risk_ok: true,
        },
    };
    let a = eth(Facts::SetupEntry(Box::new(facts)))
        .interval(Interval::H4)
        .title("ETHUSDT Setup A short: entry 1,925.4, stop 1,957.7, T1 1,813.9, R:R 3.2")
        .build();
    let html = render_html(&a);
    for want in [
        "ETHUSDT · 4h · 2025-03-18 00:00 UTC",
        "<b>Setup A short</b> · RSI 51.4",
        "Entry <b>1,925.4</b> · Stop <b>1,957.7</b> (risk 1.68 %)",
        "T1 <b>1,813.9</b> · T2 —",
        "R:R <b>3.2</b> after fees",
        "Checklist:\n✅ Regime clear\n✅ Fuel cluster in the wave's direction\n✅ Thin approach\n\
         ✅ 4h entry trigger\n❌ Funding confirms\n✅ Invalidation level (swing stop)\n\
         ✅ R:R ≥ 2 after fees\nFunding:",
        "Funding: -0.0013 % · shorts crowded · confirms the wave",
        "Target: short-liquidation cluster 2,059.4–2,111.5 · ~$106M est.",
        "<i>RSI still warming up (69 bars): values may shift a little.</i>",
        "<i>Estimate:",
    ] {
        assert!(html.contains(want), "missing {want:?} in\n{html}");
    }
}

#[test]
fn divergence_exit_names_the_divergence_and_the_fuel_cluster() {
    let facts = ExitFacts {
        divergence: DivergenceKind::RegularBear,
        rsi: Some(61.2),
        close: 2101.5,
        bar_open_ms: 1_742_241_600_000,
        pivot_open_ms: 1_742_241_600_000,
        pivot_rsi: 64.0,
        prev_pivot_open_ms: 1_742_040_000_000,
        prev_pivot_rsi: 71.5,
        touched_ms: 1_742_200_000_000,
        cluster: cluster(),
        bias: bias(),
        converged: true,
        funding: funding(),
    };
    let title = "ETHUSDT exit long: bearish divergence on 4h after price reached the fuel cluster at 2,059.4";
    let exit = Facts::DivergenceExit(Box::new(facts));
    let a = eth(exit).interval(Interval::H4).title(title).build();
    let html = render_html(&a);
    for want in [
        "<b>Exit long</b>: regular bearish divergence on 4h",
        "Pivots: 2025-03-15 12:00 RSI 71.5 → 2025-03-17 20:00 RSI 64.0",
        "RSI <b>61.2</b> · close 2,101.5",
        "Fuel cluster: short-liquidation cluster 2,059.4–2,111.5",
        "Reached: 2025-03-17 08:26 UTC",
        "<i>Estimate: a cluster is where the heatmap model piles up estimated liquidations, not \
         exchange data; on real Binance prints it has not beaten a plain leverage ladder.</i>",
    ] {
        assert!(html.contains(want), "missing {want:?} in\n{html}");
    }
}

#[test]
fn signal_kinds_show_timeframe_rsi_and_regime() {
    let bar = |rsi: f64, close: f64| BarFacts {
        rsi,
        close,
        bar_open_ms: 1_742_241_600_000,
        bars: 300,
        converged: true,
    };
    let regime = render_html(
        &eth(Facts::RegimeChange(RegimeChangeFacts {
            from: Regime::Bear,
            to: Regime::Range,
            bar: bar(61.49, 612.3),
        }))
        .interval(Interval::D1)
        .title("ETHUSDT 1d RSI regime bear → range (RSI 61.5)")
        .build(),
    );
    assert!(regime.contains("ETHUSDT · 1d ·"), "{regime}");
    assert!(regime.contains("Regime: bear → <b>range</b>\nRSI <b>61.5</b> · close 612.30"));
    assert!(!regime.contains("Estimate"), "no heatmap facts, no caveat");

    let midline = render_html(
        &eth(Facts::MidlineCross(MidlineCrossFacts {
            direction: Cross50::Up,
            against: Regime::Bear,
            bar: bar(51.9, 1.5),
        }))
        .interval(Interval::H4)
        .title("t")
        .build(),
    );
    assert!(
        midline.contains("RSI crossed <b>up 50</b> against the bear wave"),
        "{midline}"
    );

    let divergence = render_html(
        &eth(Facts::Divergence(DivergenceFacts {
            divergence: DivergenceKind::RegularBull,
            regime: Regime::Bear,
            pivot_open_ms: 1_741_708_800_000,
            pivot_rsi: 33.04,
            pivot_low: 490.1,
            pivot_high: 510.0,
            prev_pivot_open_ms: 1_741_449_600_000,
            prev_pivot_rsi: 28.1,
            prev_pivot_low: 500.2,
            prev_pivot_high: 520.0,
            bar: bar(33.0, 490.0),
        }))
        .interval(Interval::H4)
        .title("t")
        .build(),
    );
    for want in [
        "<b>regular bullish</b> divergence",
        "Pivots: 2025-03-08 16:00 RSI 28.1 (low 500.20) → 2025-03-11 16:00 RSI 33.0 (low 490.10)",
        "Regime: bear",
    ] {
        assert!(
            divergence.contains(want),
            "missing {want:?} in\n{divergence}"
        );
    }
}

fn summary(json: Value) -> Facts {
    Facts::DailySummary(SummaryFacts::from_json(json))
}

#[test]
fn daily_summary_lists_the_facts_and_everything_is_escaped() {
    let facts = summary(
        json!({"note": "<b>not bold</b> & co", "pairs": [{"symbol": "BTCUSDT", "rsi": 55.123456789}]}),
    );
    let a = eth(facts).title("Daily <summary> & more").build();
    let html = render_html(&a);
    assert!(
        html.starts_with("<b>Daily &lt;summary&gt; &amp; more</b>\n"),
        "{html}"
    );
    assert!(
        html.contains("note: &lt;b&gt;not bold&lt;/b&gt; &amp; co"),
        "{html}"
    );
    assert!(html.contains("pairs[0].rsi: 55.123457"), "{html}");
    assert!(html.contains("pairs[0].symbol: BTCUSDT"));
    // The only tags are ours.
    let tags: Vec<&str> = html
        .match_indices('<')
        .map(|(i, _)| &html[i..i + 3])
        .collect();
    assert!(
        tags.iter()
            .all(|t| ["<b>", "</b", "<i>", "</i", "<co", "</c"].contains(t)),
        "{tags:?}"
    );
}

#[test]
fn long_values_are_cut() {
    let a = eth(summary(json!({}))).title("x".repeat(5000)).build();
    let html = render_html(&a);
    assert!(html.lines().all(|l| l.chars().count() < 1100));
    assert!(html.contains("x…</b>"));
}

#[test]
fn a_long_text_splits_at_line_boundaries_within_the_limit() {
    let lines: Vec<String> = (0..250)
        .map(|i| format!("<b>line {i:03}</b> {}", "é".repeat(25)))
        .collect();
    let text = lines.join("\n");
    assert!(text.chars().count() >= 10_000);
    let pieces = split_message(&text, MAX_MESSAGE_LEN);
    assert!(pieces.len() >= 3, "{}", pieces.len());
    for p in &pieces {
        assert!(utf16_len(p) <= MAX_MESSAGE_LEN);
        assert!(
            p.lines().all(|l| lines.contains(&l.to_owned())),
            "cut inside a line"
        );
    }
    assert_eq!(pieces.join("\n"), text, "nothing lost");
    assert_eq!(
        split_message("short\ntext", MAX_MESSAGE_LEN),
        ["short\ntext"]
    );
}

#[test]
fn an_overlong_line_is_cut_outside_tags_and_entities() {
    let line = "a&amp;b<b>c</b>".repeat(40);
    let pieces = split_message(&line, 100);
    assert!(pieces.len() > 1);
    for p in &pieces {
        assert!(utf16_len(p) <= 100);
        assert_eq!(p.matches('<').count(), p.matches('>').count(), "{p}");
        assert_eq!(p.matches('&').count(), p.matches(';').count(), "{p}");
    }
    assert_eq!(pieces.concat(), line);
}
