//! The routes. Each module registers its handlers with [`utoipa_actix_web`], which collects
//! them into the OpenAPI document.

pub mod announcements;
pub mod auth;
pub mod availability;
pub mod exports;
pub mod google;
pub mod health;
pub mod invitations;
pub mod notifications;
pub mod plannings;
pub mod services;
pub mod teams;
pub mod users;
pub mod ws;

use utoipa_actix_web::service_config::ServiceConfig;

/// Routes outside the API prefix (probes).
pub fn root(cfg: &mut ServiceConfig) {
    cfg.service(health::health).service(health::ready);
}

/// Routes under `API_V1_PREFIX`. Capability issues add their modules here.
pub fn v1(cfg: &mut ServiceConfig) {
    cfg.service(auth::register)
        .service(auth::login)
        .service(auth::refresh)
        .service(auth::verify_email)
        .service(auth::resend_verification)
        .service(auth::forgot_password)
        .service(auth::reset_password)
        .service(auth::logout)
        .service(auth::logout_all)
        .service(google::google_token)
        .service(google::google_authorize)
        .service(google::google_callback)
        .service(ws::create_ticket)
        .service(ws::connect)
        .service(users::me)
        .service(users::update_me)
        .service(users::change_password)
        .service(users::upload_avatar)
        .service(users::delete_avatar)
        .service(users::avatar_file)
        .service(users::data_export)
        .service(users::delete_me)
        .service(teams::person)
        .service(teams::create_organization)
        .service(teams::current_organization)
        .service(teams::update_organization)
        .service(teams::people)
        .service(teams::set_admin)
        .service(teams::departments)
        .service(teams::create_department)
        .service(teams::department)
        .service(teams::update_department)
        .service(teams::archive_department)
        .service(teams::restore_department)
        .service(teams::delete_department)
        .service(availability::my_month)
        .service(availability::put_my_month)
        .service(availability::put_member_month)
        // `…/members/me/…` before `…/members/{userId}/…`: the first match wins.
        .service(availability::my_ranges)
        .service(availability::add_my_range)
        .service(availability::delete_my_range)
        .service(availability::my_weekly)
        .service(availability::add_my_weekly)
        .service(availability::delete_my_weekly)
        .service(availability::member_ranges)
        .service(availability::add_member_range)
        .service(availability::delete_member_range)
        .service(availability::member_weekly)
        .service(availability::add_member_weekly)
        .service(availability::delete_member_weekly)
        .service(availability::deadline)
        .service(availability::missing)
        .service(availability::remind_missing)
        .service(availability::overview)
        .service(services::list)
        .service(services::create)
        .service(services::get_one)
        .service(services::update)
        .service(services::remove)
        .service(teams::members)
        .service(teams::change_member)
        .service(teams::remove_member)
        .service(invitations::invite)
        .service(invitations::pending)
        .service(invitations::resend)
        .service(invitations::cancel)
        .service(invitations::preview)
        .service(invitations::accept)
        .service(plannings::list_plannings)
        .service(plannings::create)
        .service(plannings::get_one)
        .service(plannings::generate)
        .service(plannings::job_status)
        .service(plannings::publish)
        .service(plannings::unpublish)
        .service(plannings::archive)
        .service(plannings::add_assignment)
        .service(plannings::update_assignment)
        .service(plannings::remove_assignment)
        .service(plannings::suggestions)
        .service(plannings::my_assignments)
        .service(plannings::confirm)
        .service(plannings::decline)
        .service(exports::export_ics)
        .service(exports::export_pdf)
        .service(exports::create_feed)
        .service(exports::feed_status)
        .service(exports::revoke_feed)
        .service(exports::feed)
        .service(notifications::list)
        .service(notifications::unread_count)
        .service(notifications::mark_read)
        .service(notifications::read_all)
        .service(announcements::post_announcement)
        .service(announcements::list_announcements)
        .service(announcements::delete_announcement);
}
