//! The engine API over real HTTP against a started station: who may call what, logins,
//! sessions, audit of reads, study actions and the live event stream.

mod auth;
mod browser_safety;
mod clinic_day;
mod invalid;
mod live;
mod roles;
mod shutdown;
mod slow_clients;
mod studies;
mod tokens;
