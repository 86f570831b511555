//! The worker's Prometheus metrics, recorded into the default registry (which `/metrics`
//! serves) when `METRICS_TOKEN` is set:
//!
//! * `monservice_job_queue_wait_seconds{kind}` — from when a job was due to when a worker
//!   claimed it;
//! * `monservice_job_run_seconds{kind,outcome}` — how long the handler ran; `outcome` is
//!   `succeeded`, `retried`, `dead` or `lease_lost`.
//!
//! `kind` is a registered job kind, or `unknown` for a job no handler is registered for.

use prometheus::{HistogramOpts, HistogramVec};
use std::sync::LazyLock;

pub(crate) const UNKNOWN_KIND: &str = "unknown";

const WAIT_BUCKETS: [f64; 12] = [
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];
const RUN_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0,
];

pub(crate) struct JobMetrics {
    pub wait: HistogramVec,
    pub run: HistogramVec,
}

impl JobMetrics {
    fn register() -> prometheus::Result<Self> {
        let wait = HistogramVec::new(
            HistogramOpts::new(
                "monservice_job_queue_wait_seconds",
                "Time from when a job was due to when a worker claimed it, by kind.",
            )
            .buckets(WAIT_BUCKETS.to_vec()),
            &["kind"],
        )?;
        let run = HistogramVec::new(
            HistogramOpts::new(
                "monservice_job_run_seconds",
                "Time a job's handler ran, by kind and outcome.",
            )
            .buckets(RUN_BUCKETS.to_vec()),
            &["kind", "outcome"],
        )?;
        let registry = prometheus::default_registry();
        registry.register(Box::new(wait.clone()))?;
        registry.register(Box::new(run.clone()))?;
        Ok(Self { wait, run })
    }
}

static JOBS: LazyLock<Option<JobMetrics>> = LazyLock::new(|| match JobMetrics::register() {
    Ok(m) => Some(m),
    Err(e) => {
        tracing::error!(error = %e, "cannot register the job metrics; they are not recorded");
        None
    }
});

/// The job metrics, registered on first use.
pub(crate) fn jobs() -> Option<&'static JobMetrics> {
    JOBS.as_ref()
}
