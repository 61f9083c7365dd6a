//! convention-flux: the single convention de gestion en flux of social-housing reservations.
//!
//! Functional core (`domain`, `import`, `policy`, `demo`: pure, no I/O) and imperative shell
//! (`store`, `services`, `http`, `render`, `cli`). See `../shared/DESIGN.md` §5.

pub mod auth;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod flux;
pub mod http;
pub mod import;
pub mod mail;
pub mod policy;
pub mod render;
pub mod services;
pub mod signing;
pub mod store;
