//! Prometheus metrics for `GET /metrics`. Labels carry route patterns, never paths or ids.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "sig_http_requests_total",
                "HTTP requests handled, by route pattern and status",
            ),
            &["method", "route", "status"],
        )
        .unwrap_or_else(|_| unreachable!("static metric options are valid"));
        let duration = HistogramVec::new(
            HistogramOpts::new("sig_http_request_duration_seconds", "HTTP request latency")
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ]),
            &["method", "route"],
        )
        .unwrap_or_else(|_| unreachable!("static metric options are valid"));
        let _ = registry.register(Box::new(requests.clone()));
        let _ = registry.register(Box::new(duration.clone()));
        Self {
            registry,
            requests,
            duration,
        }
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.duration
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let families = self.registry.gather();
        if TextEncoder::new().encode(&families, &mut buffer).is_err() {
            return String::new();
        }
        let mut text = String::from_utf8(buffer).unwrap_or_default();
        text.push_str(&format!(
            "# HELP sig_build_info Build information.\n# TYPE sig_build_info gauge\nsig_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        ));
        text
    }
}
