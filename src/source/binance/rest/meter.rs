//! What the REST client reports for `/metrics`: the weight counted in the current minute and
//! the weight reserved since start, read from the shared budget when a scrape asks. Owns
//! `liqwave_rest_weight_used` and `liqwave_rest_weight_spent_total`; must never reserve weight
//! or hold the budget's lock longer than one read.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::RestClient;

/// The budget of one client (and of all its clones), as a collector.
#[derive(Debug)]
pub struct RestMeter {
    client: RestClient,
}

impl RestMeter {
    /// Reports the weight of `client` in `registry`.
    pub fn register(registry: &mut Registry, client: RestClient) {
        registry.register_collector(Box::new(RestMeter { client }));
    }
}

impl Collector for RestMeter {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let help = "REST weight counted in the current minute.";
        let name = "liqwave_rest_weight_used";
        let used = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
        ConstGauge::new(u64::from(self.client.weight_used())).encode(used)?;
        let help = "REST weight reserved since start.";
        let name = "liqwave_rest_weight_spent";
        let spent = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
        ConstCounter::new(self.client.weight_spent()).encode(spent)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::Metrics;
    use crate::source::binance::budget::BudgetParams;
    use crate::source::binance::rest::RestOptions;

    #[test]
    fn a_fresh_client_has_spent_nothing() {
        let budget = BudgetParams::per_minute(2400, 1.0);
        let options = RestOptions::new("http://127.0.0.1:9", Duration::from_secs(1), budget);
        let client = RestClient::new(options).unwrap();
        let metrics = Metrics::default();
        metrics.register(|r| RestMeter::register(r, client));
        for (series, want) in [
            ("liqwave_rest_weight_used", "liqwave_rest_weight_used 0"),
            (
                "liqwave_rest_weight_spent_total",
                "liqwave_rest_weight_spent_total 0",
            ),
        ] {
            assert_eq!(metrics.samples(series), want);
        }
    }
}
