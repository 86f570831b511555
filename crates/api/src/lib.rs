//! The HTTP API.
//!
//! A thin driver: handlers parse the request, authorise, call one domain operation and map
//! its result. Everything cross-cutting is here, once:
//!
//! * [`problem`] — every error is an RFC 9457 `application/problem+json` document with a
//!   human `detail`, a stable `code`, and `errors[]` for invalid fields;
//! * [`middleware`] — correlation ids and request logs, and the one rewrite that serves the
//!   web front end's unprefixed paths;
//! * [`routes`] — the routes, collected into the OpenAPI document by `utoipa-actix-web`;
//! * [`metrics`] — Prometheus metrics at `/metrics`, behind `METRICS_TOKEN` (not in the
//!   OpenAPI document).

pub mod auth;
pub mod live;
pub mod metrics;
pub mod middleware;
pub mod problem;
pub mod routes;
pub mod sentry;
pub mod server;
pub mod telemetry;

pub use problem::ApiError;
pub use server::{openapi, start};
