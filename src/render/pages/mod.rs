//! View models of the pages: what each template shows, computed from the services' views, so
//! that the handlers only extract, call a service and render.

pub mod convention;
pub mod dates;
pub mod forms;
pub mod heat;
