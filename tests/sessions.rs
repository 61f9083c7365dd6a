//! Sessions and passwords (issue 15, items 3 to 5): a signed-out, replaced or too long-lived
//! token is refused by every instance; the password typed again at signing is rate-limited per
//! account; reset links are throttled and single-use for the whole account; weak passwords are
//! refused in French. Each test runs on SQLite and PostgreSQL.

mod common;

use chrono::Utc;
use common::TestDb;
use common::harness::{EPCI, Harness, PASSWORD, User, proposal};
use convention_flux::services::accounts;
use convention_flux::services::conventions::demo::DEMO_PASSWORD;
use convention_flux::services::conventions::members::SESSION_SECS;
use convention_flux::store::conventions::{NewOrganisation, OutboxMessage};
use serde_json::{Value, json};

fn demo_email(party: &str) -> String {
    format!("{party}@demo.convention-flux.fr")
}

async fn demo(h: &Harness) -> i64 {
    h.seed_demo().await.in_concertation
}

fn comment() -> Value {
    json!({"anchor_kind": "objective", "anchor_ref": "priority_min", "body": "Une remarque."})
}

fn message(body: &Value) -> String {
    body["erreur"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn logout_revokes_the_token_on_every_instance(db: &TestDb) {
    let a = Harness::start(db).await;
    let id = demo(&a).await;
    let b = a.another_instance().await;
    let user = a.login(&demo_email("etat"), DEMO_PASSWORD).await;
    let other = a.login(&demo_email("etat"), DEMO_PASSWORD).await;
    let comments = format!("/api/conventions/{id}/comments");
    // Before: the token works on both instances.
    a.ok(&user, "POST", &comments, Some(comment())).await;
    b.ok(&user, "GET", "/api/me", None).await;

    let (status, body) = b.call(Some(&user), "DELETE", "/api/session", None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("session fermée"))
    );
    for h in [&a, &b] {
        let (status, body) = h.call(Some(&user), "GET", "/api/me", None).await;
        assert_eq!(status, 401, "{body}");
        assert!(message(&body).contains("Session fermée"), "{body}");
        let (status, _) = h
            .call(Some(&user), "POST", &comments, Some(comment()))
            .await;
        assert_eq!(status, 401);
    }
    // Only that session ended: the same account's other session goes on.
    a.ok(&other, "GET", "/api/me", None).await;
    // Signing out twice, or with a token that no longer works, is not an error.
    let (status, _) = a.call(Some(&user), "DELETE", "/api/session", None).await;
    assert_eq!(status, 200);
}

async fn page_logout_revokes_the_cookie(db: &TestDb) {
    let h = Harness::start(db).await;
    demo(&h).await;
    let user = h.login(&demo_email("etat"), DEMO_PASSWORD).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = format!("cf_session={}", user.token);
    let get = |path: &str| {
        client
            .get(format!("{}{path}", h.base))
            .header("cookie", &cookie)
            .send()
    };
    let home = get("/").await.unwrap().text().await.unwrap();
    let start = home.find("name=\"_csrf\" value=\"").expect("a form") + 20;
    let csrf = home[start..start + 32].to_owned();
    let response = client
        .post(format!("{}/deconnexion", h.base))
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    // A copy of the cookie kept by an attacker (or an old tab) no longer opens anything.
    let response = get("/api/me").await.unwrap();
    assert_eq!(response.status(), 401);
    let response = get("/conventions/1").await.unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/connexion"), "{location}");
}

async fn new_password_revokes_every_session(db: &TestDb) {
    let h = Harness::start(db).await;
    demo(&h).await;
    let email = demo_email("etat");
    let first = h.login(&email, DEMO_PASSWORD).await;
    let second = h.login(&email, DEMO_PASSWORD).await;
    let bailleur = h.login(&demo_email("bailleur"), DEMO_PASSWORD).await;

    // Changing it: the current password is required, every old token dies, a new one is given.
    let (status, body) = h
        .call(
            Some(&first),
            "PUT",
            "/api/me/password",
            Some(json!({"current_password": "pas le bon", "new_password": "lune cactus fanfare ruisseau"})),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(message(&body).contains("current_password"), "{body}");
    let (status, body) = h
        .call(
            Some(&first),
            "PUT",
            "/api/me/password",
            Some(json!({"current_password": DEMO_PASSWORD, "new_password": "password1234"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("trop facile à deviner"), "{body}");
    let (status, body) = h
        .call(
            Some(&first),
            "PUT",
            "/api/me/password",
            Some(json!({"current_password": DEMO_PASSWORD, "new_password": "lune cactus fanfare ruisseau"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let renewed = User {
        email: email.clone(),
        token: body["token"].as_str().unwrap().to_owned(),
    };
    for old in [&first, &second] {
        let (status, _) = h.call(Some(old), "GET", "/api/me", None).await;
        assert_eq!(status, 401);
    }
    h.ok(&renewed, "GET", "/api/me", None).await;
    h.ok(&bailleur, "GET", "/api/me", None).await;
    h.login(&email, "lune cactus fanfare ruisseau").await;

    // Resetting it through a link: the same.
    let (status, _) = h
        .call(
            None,
            "POST",
            "/api/session",
            Some(json!({"email": email, "password": DEMO_PASSWORD})),
        )
        .await;
    assert_eq!(status, 401, "the old password no longer works");
    accounts::request_reset(&h.platform, &email).await.unwrap();
    let link = reset_token(&h, &email).await;
    accounts::reset(&h.platform, &link, "girafe boussole tempête violon")
        .await
        .unwrap();
    let (status, _) = h.call(Some(&renewed), "GET", "/api/me", None).await;
    assert_eq!(status, 401);
    h.ok(&bailleur, "GET", "/api/me", None).await;
}

async fn tokens_outliving_a_session_are_refused(db: &TestDb) {
    let h = Harness::start(db).await;
    demo(&h).await;
    let user = h
        .platform
        .store
        .user_by_email(&demo_email("etat"))
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now().timestamp();
    // Signed with the platform's own key, for 30 days: a key that leaked, an issuer
    // misconfigured. Neither the lifetime rule nor the session record lets it in.
    let long = User {
        email: user.email.clone(),
        token: h.platform.tokens.issue(user.id, now, 30 * 86_400).unwrap(),
    };
    let (status, body) = h.call(Some(&long), "GET", "/api/me", None).await;
    assert_eq!(status, 401, "{body}");
    // Of the right lifetime but never recorded as a session: refused too.
    let unrecorded = User {
        email: user.email.clone(),
        token: h.platform.tokens.issue(user.id, now, SESSION_SECS).unwrap(),
    };
    let (status, _) = h.call(Some(&unrecorded), "GET", "/api/me", None).await;
    assert_eq!(status, 401);
    // The record itself expires with the session (times given explicitly).
    let store = &h.platform.store;
    store
        .create_session("jti-a", user.id, now, now + 60)
        .await
        .unwrap();
    assert!(
        store
            .session_user("jti-a", user.id, now + 59)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .session_user("jti-a", user.id, now + 60)
            .await
            .unwrap()
            .is_none()
    );
    // The record names its account: another user id with the same jti is refused.
    assert!(
        store
            .session_user("jti-a", user.id + 1, now)
            .await
            .unwrap()
            .is_none()
    );
    // Expired records are cleared when a session opens.
    store
        .create_session("jti-b", user.id, now + 61, now + 120)
        .await
        .unwrap();
    store
        .create_session("jti-a", user.id, now + 61, now + 120)
        .await
        .unwrap();
    store.revoke_session("jti-b").await.unwrap();
    assert!(
        store
            .session_user("jti-b", user.id, now + 62)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session_user("jti-a", user.id, now + 62)
            .await
            .unwrap()
            .is_some()
    );
}

/// The demo's convention in concertation brought to a signing round where only `etat` signs.
async fn signing_round(h: &Harness) -> (i64, String) {
    let id = demo(h).await;
    let sec = h.login(&demo_email("secretariat"), DEMO_PASSWORD).await;
    for (party, share) in [
        ("commune-69802", "15"),
        ("action-logement", "20"),
        ("departement-69", "5"),
    ] {
        let user = h.login(&demo_email(party), DEMO_PASSWORD).await;
        h.ok(
            &user,
            "POST",
            &format!("/api/conventions/{id}/proposals/{party}/publish"),
            Some(proposal(share)),
        )
        .await;
    }
    let bailleur = h.login(&demo_email("bailleur"), DEMO_PASSWORD).await;
    h.ok(
        &bailleur,
        "POST",
        &format!("/api/conventions/{id}/proposals/bailleur/publish"),
        Some(json!({"commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}})),
    )
    .await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/consolidate"),
        Some(json!({"based_on": "proposals"})),
    )
    .await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/signing"),
        Some(json!({"required": ["etat"]})),
    )
    .await;
    let version = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/version"), None)
        .await;
    (id, version["hash"].as_str().unwrap().to_owned())
}

async fn sign(h: &Harness, user: &User, path: &str, hash: &str, password: &str) -> (u16, Value) {
    let body = json!({"password": password, "version_hash": hash});
    h.call(Some(user), "POST", path, Some(body)).await
}

async fn signing_password_failures_are_rate_limited(db: &TestDb) {
    let h = Harness::start(db).await;
    let (id, hash) = signing_round(&h).await;
    let etat = h.login(&demo_email("etat"), DEMO_PASSWORD).await;
    let signatures = format!("/api/conventions/{id}/signatures");
    for attempt in 0..5 {
        let (status, body) = sign(&h, &etat, &signatures, &hash, &format!("faux {attempt}")).await;
        assert_eq!(status, 401, "attempt {attempt}: {body}");
    }
    // The sixth try is refused before the password is looked at, even the right one, and
    // from a fresh session of the same account: the count is per account.
    let fresh = h.login(&demo_email("etat"), DEMO_PASSWORD).await;
    for user in [&etat, &fresh] {
        let (status, body) = sign(&h, user, &signatures, &hash, DEMO_PASSWORD).await;
        assert_eq!(status, 429, "{body}");
        assert!(
            message(&body).contains("Trop de mots de passe incorrects"),
            "{body}"
        );
    }
    let view = h
        .ok(&etat, "GET", &format!("/api/conventions/{id}"), None)
        .await;
    assert_eq!(view["convention"]["state"], "signature", "{view}");
}

/// The token of the last reset link sent to `email`.
async fn reset_token(h: &Harness, email: &str) -> String {
    let outbox = h.platform.store.outbox().await.unwrap();
    let mail = outbox
        .iter()
        .rev()
        .find(|m| m.to == email)
        .expect("a reset e-mail");
    let start = mail.body_text.find("/reinitialisation/").unwrap() + "/reinitialisation/".len();
    mail.body_text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

async fn reset_links_are_throttled_and_single_use_per_account(db: &TestDb) {
    let h = Harness::start(db).await;
    demo(&h).await;
    let email = demo_email("etat");
    let sent = || async {
        h.platform
            .store
            .outbox()
            .await
            .unwrap()
            .iter()
            .filter(|m| m.to == email)
            .count()
    };
    let before = sent().await;
    accounts::request_reset(&h.platform, &email).await.unwrap();
    let first = reset_token(&h, &email).await;
    accounts::request_reset(&h.platform, &email).await.unwrap();
    let second = reset_token(&h, &email).await;
    accounts::request_reset(&h.platform, &email).await.unwrap();
    let third = reset_token(&h, &email).await;
    assert_eq!(sent().await, before + 3);
    // A fourth request within the hour gets the same answer but sends nothing.
    let answer = accounts::request_reset(&h.platform, &email).await.unwrap();
    assert_eq!(answer, accounts::RESET_REQUESTED);
    assert_eq!(sent().await, before + 3);
    // A newer link voided the older ones.
    for old in [&first, &second] {
        let refused = accounts::reset(&h.platform, old, "girafe boussole tempête violon").await;
        assert!(refused.is_err(), "an older link still works");
    }
    // A weak password does not spend the link.
    let weak = accounts::reset(&h.platform, &third, "etat-2027-demo!")
        .await
        .unwrap_err();
    assert!(weak.to_string().contains("adresse électronique"), "{weak}");
    accounts::reset(&h.platform, &third, "girafe boussole tempête violon")
        .await
        .unwrap();
    let spent = accounts::reset(&h.platform, &third, "encore une autre phrase de passe").await;
    assert!(spent.is_err());
    h.login(&email, "girafe boussole tempête violon").await;
}

async fn simultaneous_reset_requests_stay_within_the_limit(db: &TestDb) {
    let h = Harness::start(db).await;
    demo(&h).await;
    let email = demo_email("bailleur");
    // Eight requests on the runtime's two threads at once, as from eight browser tabs.
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (platform, email) = (h.platform.clone(), email.clone());
            tokio::spawn(async move { accounts::request_reset(&platform, &email).await })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.await.unwrap().unwrap(), accounts::RESET_REQUESTED);
    }
    let outbox = h.platform.store.outbox().await.unwrap();
    let sent = outbox
        .iter()
        .filter(|m| m.to == email && m.body_text.contains("/reinitialisation/"))
        .count();
    assert_eq!(sent, 3, "{sent} links sent at once");
}

async fn using_one_reset_link_voids_the_others(db: &TestDb) {
    let h = Harness::start(db).await;
    let user = h.secretariat().await;
    // The store's rules with explicit times: a newer link voids the older, the limit counts
    // the links made after `since`, using a link voids the others and revokes the sessions.
    let store = &h.platform.store;
    let account = store.user_by_email(&user.email).await.unwrap().unwrap();
    let mail = |at: &str| OutboxMessage {
        to: user.email.clone(),
        subject: "réinitialisation".into(),
        body_text: "lien".into(),
        body_html: String::new(),
        created_at: at.into(),
        attachments: Vec::new(),
    };
    let expires = "2999-01-01T00:00:00.000Z";
    let since = "2000-01-01T00:00:00.000Z";
    assert!(
        store
            .create_password_reset(
                account.id,
                "digest-1",
                expires,
                &mail("2026-01-01T00:00:00.000Z"),
                since,
                10
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .password_reset_user("digest-1", "2026-01-01T00:00:01.000Z")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .create_password_reset(
                account.id,
                "digest-2",
                expires,
                &mail("2026-01-01T00:00:02.000Z"),
                since,
                10
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .password_reset_user("digest-1", "2026-01-01T00:00:03.000Z")
            .await
            .unwrap()
            .is_none(),
        "the newer link voids the older"
    );
    // The limit counts the links made after `since`.
    assert!(
        !store
            .create_password_reset(
                account.id,
                "digest-3",
                expires,
                &mail("2026-01-01T00:00:04.000Z"),
                since,
                2
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .create_password_reset(
                account.id,
                "digest-3",
                expires,
                &mail("2026-01-01T00:00:04.000Z"),
                "2026-01-01T00:00:01.000Z",
                2
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .reset_password("digest-3", "2026-01-01T00:00:05.000Z", "$argon2id$autre")
            .await
            .unwrap()
    );
    assert!(
        !store
            .reset_password("digest-2", "2026-01-01T00:00:06.000Z", "$argon2id$encore")
            .await
            .unwrap()
    );
    // The reset revoked the secretariat's session.
    let (status, _) = h.call(Some(&user), "GET", "/api/me", None).await;
    assert_eq!(status, 401);
}

async fn weak_passwords_are_refused_in_french(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/invitations"),
        Some(json!({
            "email": "jeanne.martin@mairie.test", "name": "Jeanne Martin",
            "organisation": "Mairie", "role": "observer",
        })),
    )
    .await;
    let token = h.invitation_token("jeanne.martin@mairie.test").await;
    for (password, expected) in [
        ("aaaaaaaaaaaa", "répète"),
        ("123456789012", "suite de lettres ou de chiffres"),
        ("password1234", "les plus répandus"),
        ("jeanne.martin-2027", "adresse électronique"),
    ] {
        let (status, body) = h
            .call(
                None,
                "POST",
                "/api/invitations/accept",
                Some(json!({"token": token, "password": password})),
            )
            .await;
        assert_eq!(status, 400, "{password}: {body}");
        let text = message(&body);
        assert!(text.starts_with("Mot de passe refusé : "), "{text}");
        assert!(text.contains(expected), "{password}: {text}");
    }
    // The invitation was not spent by the refusals.
    let (status, body) = h
        .call(
            None,
            "POST",
            "/api/invitations/accept",
            Some(json!({"token": token, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Accounts created directly follow the same rule.
    let refused = h
        .platform
        .store
        .user_by_email("personne@cil.test")
        .await
        .unwrap();
    assert!(refused.is_none());
    let err = convention_flux::services::conventions::members::create_account(
        &h.platform,
        "personne@cil.test",
        "Personne",
        NewOrganisation {
            kind: "epci".into(),
            name: "CIL".into(),
            reference: EPCI.into(),
        },
        "password1234",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("trop facile à deviner"), "{err}");
}

/// The hidden `_csrf` field of a page and the cookie it came with.
async fn form_token(client: &reqwest::Client, url: &str) -> (String, String) {
    let response = client.get(url).send().await.unwrap();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|pair| pair.starts_with("cf_formulaire="))
        .expect("the form cookie");
    let html = response.text().await.unwrap();
    let start = html.find("name=\"_csrf\" value=\"").expect("a form") + 20;
    (html[start..start + 43].to_owned(), cookie)
}

async fn sign_in_and_forgotten_password_forms_need_their_token(db: &TestDb) {
    let h = Harness::start(db).await;
    demo(&h).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let email = demo_email("etat");
    let (token, cookie) = form_token(&client, &format!("{}/connexion", h.base)).await;
    let (other_token, _) = form_token(&client, &format!("{}/connexion", h.base)).await;
    assert_ne!(token, other_token, "each browser gets its own token");
    let post = |path: &str, cookie: Option<&str>, fields: Vec<(&str, &str)>| {
        let mut request = client.post(format!("{}{path}", h.base)).form(&fields);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    // A page of another site: no cookie (SameSite=Strict), or a token that is not this
    // browser's. Refused with the form shown again, and no session.
    for (cookie, csrf) in [
        (None, token.as_str()),
        (Some(cookie.as_str()), ""),
        (Some(cookie.as_str()), other_token.as_str()),
    ] {
        let fields = vec![
            ("email", email.as_str()),
            ("password", DEMO_PASSWORD),
            ("_csrf", csrf),
        ];
        let response = post("/connexion", cookie, fields).await.unwrap();
        assert_eq!(response.status(), 403);
        let sets_session = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("cf_session="));
        assert!(!sets_session);
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Formulaire expiré ou envoyé depuis un autre site"),
            "{html}"
        );
        assert!(html.contains("name=\"_csrf\""), "the form is shown again");
    }
    let fields = vec![
        ("email", email.as_str()),
        ("password", DEMO_PASSWORD),
        ("_csrf", token.as_str()),
    ];
    let response = post("/connexion", Some(&cookie), fields).await.unwrap();
    assert_eq!(response.status(), 303);

    let mails = || async { h.platform.store.outbox().await.unwrap().len() };
    let before = mails().await;
    let (token, cookie) = form_token(&client, &format!("{}/mot-de-passe-oublie", h.base)).await;
    let forged = post(
        "/mot-de-passe-oublie",
        None,
        vec![("email", email.as_str()), ("_csrf", token.as_str())],
    )
    .await
    .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.text().await.unwrap().contains("Formulaire expiré"));
    assert_eq!(mails().await, before, "a forged request sends nothing");
    let fields = vec![("email", email.as_str()), ("_csrf", token.as_str())];
    let response = post("/mot-de-passe-oublie", Some(&cookie), fields)
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(mails().await, before + 1);
}

on_both_engines!(
    sign_in_and_forgotten_password_forms_need_their_token,
    logout_revokes_the_token_on_every_instance,
    page_logout_revokes_the_cookie,
    new_password_revokes_every_session,
    tokens_outliving_a_session_are_refused,
    signing_password_failures_are_rate_limited,
    reset_links_are_throttled_and_single_use_per_account,
    using_one_reset_link_voids_the_others,
    simultaneous_reset_requests_stay_within_the_limit,
    weak_passwords_are_refused_in_french,
);
