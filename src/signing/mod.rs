//! Signing: canonical JSON, SHA-256 identities, signature records sealed by the platform's
//! Ed25519 key, the audit hash chain, and their offline verification (DESIGN §3 and §5,
//! issue 4 items 3, 6 and 7).
//!
//! Pure: no database, no HTTP. The only I/O is reading or creating the key file. The services
//! load rows, call these functions, and store what they return; `convention-flux verify` feeds
//! rows or a bundle back to [`verify_convention`] or [`verify_bundle`].

mod audit;
mod bundle;
mod canonical;
mod record;
mod rows;
mod seal;
mod verify;

#[cfg(test)]
mod fixtures;

pub use audit::{AuditEvent, GENESIS_HASH};
pub use bundle::{
    BUNDLE_FORMAT, Bundle, BundleDocument, BundleError, parse_bundle, verify_bundle,
    verify_bundle_against,
};
pub use canonical::{CanonicalError, canonical_json, sha256_hex, to_canonical};
pub use record::{PUBLIC_FORM, PublicRecord, PublicSignature, SignatureRecord, timestamp};
pub use rows::{RowState, RowValues, check_rows, value_digest};
pub use seal::{KeyError, PlatformKey, SealError, verify_seal};
pub use verify::{Finding, StoredSignature, StoredVersion, Verification, verify_convention};
