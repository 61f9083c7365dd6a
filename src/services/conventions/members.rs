//! Accounts and members: sign-in (rate-limited), session tokens, invitations (single use,
//! hashed, expiring, sent through the outbox) and their acceptance.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Caller, Platform, ServiceError, allowed, decide_and_apply, guard_facts, now, permit};
use crate::auth::{
    check_password_policy, dummy_hash, hash_password_async, new_secret_token, token_digest,
    verify_password_async,
};
use crate::domain::convention::{Action, Role};
use crate::domain::permission::{Actor, GuardFacts, PartyKind, permission};
use crate::store::conventions::{
    AuditDraft, ConventionChange, MemberUser, NewInvitation, NewMember, NewOrganisation, NewUser,
    Snapshot, UserRecord,
};

/// How long a session lives, at most: a token older than this is refused whatever its own
/// `exp` says, and its server-side record expires at the same time.
pub const SESSION_SECS: i64 = 8 * 3600;
/// How long an invitation link stays valid.
pub const INVITATION_DAYS: i64 = 14;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Session {
    pub token: String,
    pub expires_at: i64,
    pub user: UserRecord,
}

/// Issues a token and records it, so that it can be revoked before it expires.
pub(crate) async fn session(p: &Platform, user: UserRecord) -> Result<Session, ServiceError> {
    let now = Utc::now().timestamp();
    let (token, claims) = p
        .tokens
        .issue_with_claims(user.id, now, SESSION_SECS)
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    p.store
        .create_session(&claims.jti, user.id, now, claims.exp)
        .await?;
    Ok(Session {
        token,
        expires_at: now + SESSION_SECS,
        user,
    })
}

/// Signs in with e-mail and password. After 5 failures in 15 minutes for the same address from
/// the same origin, attempts are refused for the rest of the window.
#[tracing::instrument(skip_all)]
pub async fn login(
    p: &Platform,
    email: &str,
    password: &str,
    origin: &str,
) -> Result<Session, ServiceError> {
    let key = format!("{}|{origin}", email.trim().to_lowercase());
    let now = Utc::now().timestamp();
    if let Err(wait) = p.limiter.check(&key, now) {
        return Err(ServiceError::TooManyAttempts(
            format!(
                "trop de tentatives de connexion échouées : réessayez dans {} minute(s)",
                (wait + 59) / 60
            ),
            wait,
        ));
    }
    let user = p.store.user_by_email(email.trim()).await?;
    // An unknown address costs the same hashing time as a known one.
    let stored = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    let ok = verify_password_async(password.to_owned(), stored).await;
    match user {
        Some(user) if ok && user.password_hash.is_some() => {
            p.limiter.record_success(&key);
            session(p, user).await
        }
        _ => {
            p.limiter.record_failure(&key, now);
            Err(ServiceError::Unauthenticated(
                "adresse électronique ou mot de passe incorrect".into(),
            ))
        }
    }
}

/// Checks the password a signed-in user types again (at signing, to change it). Failures are
/// counted per account in the sign-in limiter: a stolen session must not become a way to guess
/// the password at leisure. `refusal` says what was wrong, in the words of the form.
pub async fn check_reauthentication(
    p: &Platform,
    caller: &Caller,
    password: &str,
    hash: &str,
    refusal: &str,
) -> Result<(), ServiceError> {
    let key = format!("compte:{}", caller.user.id);
    let now = Utc::now().timestamp();
    if let Err(wait) = p.limiter.check(&key, now) {
        return Err(ServiceError::TooManyAttempts(
            format!(
                "trop de mots de passe incorrects pour ce compte : réessayez dans {} minute(s)",
                (wait + 59) / 60
            ),
            wait,
        ));
    }
    if verify_password_async(password.to_owned(), hash.to_owned()).await {
        p.limiter.record_success(&key);
        Ok(())
    } else {
        p.limiter.record_failure(&key, now);
        Err(ServiceError::Unauthenticated(refusal.to_owned()))
    }
}

/// The caller behind a session token: a valid signature and lifetime, then the token's
/// server-side record (one indexed read), so that a revoked token is refused by every
/// instance sharing the database.
#[tracing::instrument(skip_all)]
pub async fn authenticate(p: &Platform, token: &str) -> Result<Caller, ServiceError> {
    Ok(authenticate_session(p, token).await?.0)
}

/// [`authenticate`], with the token's `jti` (to revoke it).
pub async fn authenticate_session(
    p: &Platform,
    token: &str,
) -> Result<(Caller, String), ServiceError> {
    let now = Utc::now().timestamp();
    let (user_id, claims) = p
        .tokens
        .verify_session(token, now, SESSION_SECS)
        .map_err(|e| ServiceError::Unauthenticated(e.to_string()))?;
    let user = p
        .store
        .session_user(&claims.jti, user_id, now)
        .await?
        .ok_or_else(|| {
            ServiceError::Unauthenticated(
                "session fermée (déconnexion, changement de mot de passe) ou expirée : reconnectez-vous"
                    .into(),
            )
        })?;
    Ok((Caller { user }, claims.jti))
}

/// Signs out: the token is revoked for every instance. A token that is already invalid has
/// nothing left to revoke, which is not an error.
#[tracing::instrument(skip_all)]
pub async fn logout(p: &Platform, token: &str) -> Result<(), ServiceError> {
    match authenticate_session(p, token).await {
        Ok((_, jti)) => Ok(p.store.revoke_session(&jti).await?),
        Err(ServiceError::Unauthenticated(_)) => Ok(()),
        Err(other) => Err(other),
    }
}

/// Creates an account directly (demo, operator bootstrap of a CIL secretariat).
#[tracing::instrument(skip_all)]
pub async fn create_account(
    p: &Platform,
    email: &str,
    name: &str,
    organisation: NewOrganisation,
    password: &str,
) -> Result<i64, ServiceError> {
    check_email(email)?;
    check_field(name, "nom", crate::domain::text::limits::NAME, true)?;
    check_password_policy(password, email, name)
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let hash = hash_password_async(password.to_owned())
        .await
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    p.store
        .create_user(&NewUser {
            email: email.trim().to_owned(),
            name: name.trim().to_owned(),
            organisation,
            password_hash: Some(hash),
            created_at: now(),
        })
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Constraint { .. } => {
                ServiceError::Conflict(format!("un compte existe déjà pour l'adresse {email}"))
            }
            other => other.into(),
        })
}

fn check_email(email: &str) -> Result<(), ServiceError> {
    crate::domain::text::check_email(email, "adresse électronique").map_err(ServiceError::Invalid)
}

/// A name, an organisation or a mandate: trimmed, required when `required`, within its limit.
fn check_field(value: &str, label: &str, max: usize, required: bool) -> Result<(), ServiceError> {
    if required && value.trim().is_empty() {
        return Err(ServiceError::Invalid(format!("{label} : obligatoire")));
    }
    crate::domain::text::check_text(value.trim(), label, max, false).map_err(ServiceError::Invalid)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub role: Role,
    /// The party the member will speak for (required for contributors and signatories).
    #[serde(default)]
    pub party: String,
    #[serde(default)]
    pub mandate: String,
}

/// The secretariat invites someone; the link goes out by e-mail through the outbox, in the same
/// transaction. Only the link's digest is stored.
#[tracing::instrument(skip_all, fields(convention = id, role = ?request.role, party = %request.party))]
pub async fn invite(
    p: &Platform,
    caller: &Caller,
    id: i64,
    request: InvitationRequest,
) -> Result<(), ServiceError> {
    let access = allowed(p, caller, id, Action::InviteMember).await?;
    use crate::domain::text::limits;
    check_email(&request.email)?;
    check_field(
        &request.name,
        "nom de la personne invitée",
        limits::NAME,
        true,
    )?;
    check_field(&request.organisation, "organisme", limits::NAME, true)?;
    check_field(&request.mandate, "mandat", limits::MANDATE, false)?;
    decide_and_apply(p, id, |snap: Snapshot| {
        let (request, access) = (request.clone(), access.clone());
        async move {
            permit(&access, Action::InviteMember, &snap, &guard_facts(&snap, &access))?;
            let party = match request.role {
                Role::Contributor | Role::Signatory => {
                    if request.party.trim().is_empty() {
                        return Err(ServiceError::Invalid(
                            "partie représentée : choisissez la partie que représentera ce signataire ou ce contributeur".into(),
                        ));
                    }
                    if !snap
                        .parties
                        .iter()
                        .any(|x| x.party == request.party && x.kind != "secretariat")
                    {
                        return Err(ServiceError::Invalid(format!(
                            "partie représentée : « {} » n'est pas une partie de la convention (réservataire ou bailleur)",
                            request.party
                        )));
                    }
                    request.party.clone()
                }
                Role::Secretariat => "secretariat".to_owned(),
                Role::Observer => String::new(),
            };
            let token = new_secret_token();
            let at = now();
            let expires = crate::signing::timestamp(Utc::now() + Duration::days(INVITATION_DAYS));
            let link = format!("{}/invitation/{}", p.base_url.trim_end_matches('/'), token.plain);
            let email = super::notify::message(
                crate::mail::emails::EmailKind::Invitation,
                request.email.trim(),
                request.name.trim(),
                serde_json::json!({
                    "by": caller.user.name, "title": snap.convention.title,
                    "role": request.role.label(), "link": link, "days": INVITATION_DAYS,
                    "party": if party == "secretariat" { "" } else { party.as_str() },
                }),
                &at,
            )?;
            let change = ConventionChange {
                invitation: Some(NewInvitation {
                    email: request.email.trim().to_owned(),
                    name: request.name.trim().to_owned(),
                    organisation: request.organisation.trim().to_owned(),
                    role: request.role,
                    party: party.clone(),
                    mandate: request.mandate.clone(),
                    token_digest: token.digest.clone(),
                    expires_at: expires,
                    invited_by: caller.user.id,
                }),
                outbox: vec![email],
                audit: vec![AuditDraft {
                    at,
                    actor: caller.actor(),
                    kind: "invitation".into(),
                    payload: serde_json::json!({
                        "courriel": request.email, "role": request.role, "partie": party,
                    }),
                }],
                ..ConventionChange::default()
            };
            Ok((change, ()))
        }
    })
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    pub token: String,
    /// Required when the address has no account yet (the account is created).
    pub password: Option<String>,
}

/// Accepts an invitation: the account is created if needed, the membership recorded and the
/// link spent, in one transaction. Returns a session.
#[tracing::instrument(skip_all)]
pub async fn accept(p: &Platform, request: Acceptance) -> Result<Session, ServiceError> {
    let invalid = || {
        ServiceError::Unauthenticated(
            "lien d'invitation invalide, expiré ou déjà utilisé : demandez une nouvelle invitation au secrétariat".into(),
        )
    };
    let invitation = p
        .store
        .invitation_by_digest(&token_digest(request.token.trim()))
        .await?
        .ok_or_else(invalid)?;
    if invitation.used_at.is_some() || invitation.expires_at < Utc::now() {
        return Err(invalid());
    }
    let existing = p.store.user_by_email(&invitation.email).await?;
    let user = match &existing {
        Some(user) => MemberUser::Existing(user.id),
        None => {
            let password = request.password.clone().ok_or_else(|| {
                ServiceError::Invalid(
                    "champ password : choisissez un mot de passe pour créer votre compte".into(),
                )
            })?;
            check_password_policy(&password, &invitation.email, &invitation.name)
                .map_err(|e| ServiceError::Invalid(e.to_string()))?;
            let hash = hash_password_async(password)
                .await
                .map_err(|e| ServiceError::Invalid(e.to_string()))?;
            MemberUser::New(NewUser {
                email: invitation.email.clone(),
                name: invitation.name.clone(),
                organisation: NewOrganisation {
                    kind: if invitation.party == "bailleur" {
                        "bailleur".into()
                    } else if invitation.party.is_empty() || invitation.party == "secretariat" {
                        "autre".into()
                    } else {
                        "reservataire".into()
                    },
                    name: invitation.organisation.clone(),
                    reference: invitation.party.clone(),
                },
                password_hash: Some(hash),
                created_at: now(),
            })
        }
    };
    let (_, applied) = decide_and_apply(p, invitation.convention_id, |snap: Snapshot| {
        let (invitation, user) = (invitation.clone(), user.clone());
        async move {
            // An invitation is the secretariat's act: it holds only while the secretariat could
            // still invite (not into a convention abandoned since).
            let secretariat = Actor {
                role: Role::Secretariat,
                party: "secretariat".into(),
                kind: Some(PartyKind::Secretariat),
            };
            permission(
                &secretariat,
                Action::InviteMember,
                snap.convention.state,
                &GuardFacts::default(),
            )?;
            let at = now();
            let change = ConventionChange {
                use_invitation: Some((invitation.id, at.clone())),
                member: Some(NewMember {
                    user,
                    role: invitation.role,
                    party: invitation.party.clone(),
                    mandate: invitation.mandate.clone(),
                }),
                audit: vec![AuditDraft {
                    at,
                    actor: Some(format!("{} ({})", invitation.name, invitation.email)),
                    kind: "membre_ajoute".into(),
                    payload: serde_json::json!({
                        "courriel": invitation.email.to_lowercase(), "role": invitation.role,
                        "partie": invitation.party,
                    }),
                }],
                ..ConventionChange::default()
            };
            Ok((change, ()))
        }
    })
    .await
    .map_err(|e| match e {
        ServiceError::Conflict(_) => invalid(),
        other => other,
    })?;
    let user_id = applied.user_id.unwrap_or_default();
    let user = p.store.user_by_id(user_id).await?.ok_or_else(invalid)?;
    session(p, user).await
}

/// The secretariat adds an existing account directly (demo data, tests of roles).
#[tracing::instrument(skip_all, fields(convention = id, member = user_id, ?role, %party))]
pub async fn add_member(
    p: &Platform,
    caller: &Caller,
    id: i64,
    user_id: i64,
    role: Role,
    party: &str,
    mandate: &str,
) -> Result<(), ServiceError> {
    let access = allowed(p, caller, id, Action::InviteMember).await?;
    check_field(
        mandate,
        "mandat",
        crate::domain::text::limits::MANDATE,
        false,
    )?;
    let email = p
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("compte n° {user_id} introuvable")))?
        .email
        .to_lowercase();
    decide_and_apply(p, id, |snap: Snapshot| {
        let (email, access) = (email.clone(), access.clone());
        async move {
        permit(&access, Action::InviteMember, &snap, &guard_facts(&snap, &access))?;
        if role.represents_party() && !snap.parties.iter().any(|x| x.party == party) {
            return Err(ServiceError::Invalid(format!(
                "partie représentée : « {party} » n'est pas une partie de la convention"
            )));
        }
        let at = now();
        Ok((
            ConventionChange {
                member: Some(NewMember {
                    user: MemberUser::Existing(user_id),
                    role,
                    party: party.into(),
                    mandate: mandate.into(),
                }),
                audit: vec![AuditDraft {
                    at,
                    actor: caller.actor(),
                    kind: "membre_ajoute".into(),
                    payload: serde_json::json!({"courriel": email, "role": role, "partie": party}),
                }],
                ..ConventionChange::default()
            },
            (),
        ))
        }
    })
    .await?;
    Ok(())
}
