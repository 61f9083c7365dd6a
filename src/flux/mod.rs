//! The flux computation, pure: the assiette (annual flux base per segment), the apportionment
//! methods (Sainte-Laguë, biproportional), and the solver that checks the caps and the coherence
//! with the CIA and produces the integer flux table (DESIGN §4.1–4.4).

pub mod apportion;
pub mod assiette;
pub mod cancel;
pub mod conversion;
pub mod row;
pub mod scenario;
pub mod segment;
pub mod solver;
