//! The routes. Each module registers its handlers with [`utoipa_actix_web`], which collects
//! them into the OpenAPI document.

pub mod health;

use utoipa_actix_web::service_config::ServiceConfig;

/// Routes outside the API prefix (probes).
pub fn root(cfg: &mut ServiceConfig) {
    cfg.service(health::health).service(health::ready);
}

/// Routes under `API_V1_PREFIX`. Capability issues add their modules here.
pub fn v1(_cfg: &mut ServiceConfig) {}
