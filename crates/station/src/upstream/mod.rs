//! The diagnostic center ("hub") over standard DICOMweb (PS3.18): STOW-RS to send, QIDO-RS to
//! verify what the hub holds, and the sync workers built on them. The client is reqwest used
//! directly rather than the young `dicom-web` crate, so that timeouts, TLS and the bodies of
//! error responses stay under our control.
//!
//! - [`hub`]: one hub's endpoint, credentials and TLS trust ([`Hub`], [`HubOptions`], [`Auth`]).
//! - [`certificate`]: when the client certificate the station presents expires.
//! - [`error`]: failures classified as transient (retry later) or permanent (a person looks).
//! - [`stow`]: sending instances and reading the per-instance outcome.
//! - [`qido`]: which instances the hub holds, and which report instances it has for studies.
//! - [`wado`]: fetching one instance (a report) with WADO-RS.
//! - [`retry`]: when to try again after a transient failure.
//! - [`threads`]: a thread and runtime per destination (sync workers, report pollers).
//! - `multipart`: the streamed multipart/related body.
//! - [`oauth2`]: access tokens from a token server (client credentials).
//! - [`probe`]: the connection test of a destination, step by step.
//! - [`ratelimit`]: upload bandwidth limits with time-of-day windows.
//!
//! Must never: log a credential, hold a whole study in memory, or take an HTTP status as proof
//! of storage (only the per-instance lists in the response body, or QIDO-RS, count).

pub mod certificate;
mod dicom_json;
pub mod error;
pub mod hub;
mod multipart;
pub mod oauth2;
pub mod probe;
pub mod qido;
pub mod ratelimit;
pub mod retry;
pub mod stow;
pub mod sync;
pub mod threads;
pub mod wado;

pub use error::UpstreamError;
pub use hub::{Auth, Hub, HubOptions};
