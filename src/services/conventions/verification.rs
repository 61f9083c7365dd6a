//! `convention-flux verify` and `export-bundle`: the chain, every version hash and every seal,
//! checked from the database or from an exported bundle, offline.

use super::{Caller, Platform, ServiceError, allowed, now};
use crate::domain::convention::Action;
use crate::signing::{BUNDLE_FORMAT, Bundle, Verification, verify_convention};
use crate::store::Repository;

/// Checks every convention of the database against the platform's public key.
pub async fn verify_database(
    store: &dyn Repository,
    public_key_hex: &str,
) -> Result<Verification, ServiceError> {
    let mut all = Verification::default();
    for id in store.convention_ids().await? {
        all.merge(verify_one(store, public_key_hex, id).await?);
    }
    Ok(all)
}

async fn verify_one(
    store: &dyn Repository,
    public_key_hex: &str,
    id: i64,
) -> Result<Verification, ServiceError> {
    let versions: Vec<_> = store
        .versions(id)
        .await?
        .iter()
        .map(|v| v.stored())
        .collect();
    let signatures = store.signatures(id).await?;
    let events = store.audit_events(id).await?;
    Ok(verify_convention(
        public_key_hex,
        &versions,
        &signatures,
        &events,
    ))
}

/// A self-contained bundle of one convention (versions, signatures, audit chain, public key).
pub async fn bundle(
    store: &dyn Repository,
    public_key_hex: &str,
    id: i64,
) -> Result<Bundle, ServiceError> {
    let snap = store
        .snapshot(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("convention n° {id} introuvable")))?;
    let c = &snap.convention;
    Ok(Bundle {
        format: BUNDLE_FORMAT.into(),
        exported_at: now(),
        public_key: public_key_hex.to_owned(),
        convention: serde_json::json!({
            "id": c.id, "titre": c.title, "etat": c.state, "annee": c.year,
            "epci": c.epci_siren, "bailleur": c.bailleur_siren, "parties": snap.parties,
        }),
        versions: store
            .versions(id)
            .await?
            .iter()
            .map(|v| v.stored())
            .collect(),
        signatures: store.signatures(id).await?,
        audit: store.audit_events(id).await?,
    })
}

/// The bundle of a convention for one of its members (API).
pub async fn bundle_for(p: &Platform, caller: &Caller, id: i64) -> Result<Bundle, ServiceError> {
    allowed(p, caller, id, Action::Read).await?;
    bundle(p.store.as_ref(), &p.key.public_key_hex(), id).await
}
