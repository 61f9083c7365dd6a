//! A whole convention driven through the API, on both engines (issue 4, "Done means").

mod common;

use common::TestDb;
use common::harness::{Harness, PASSWORD, RESERVATAIRES, User, proposal};
use convention_flux::signing::{parse_bundle, verify_bundle};
use serde_json::{Value, json};

/// Every party's signatory: the EPCI (its secretariat signs for it, RULES.md §5), the five
/// réservataires and the bailleur.
async fn signatories(h: &Harness, sec: &User, id: i64) -> Vec<(String, User)> {
    let mut out = vec![("secretariat".to_owned(), sec.clone())];
    for party in RESERVATAIRES.iter().copied().chain(["bailleur"]) {
        let user = h
            .invite(sec, id, &format!("{party}@partie.test"), "signatory", party)
            .await;
        out.push((party.to_owned(), user));
    }
    out
}

fn blocking_rules(version: &Value) -> Vec<String> {
    version["document"]["report"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["severity"] == "bloquant")
        .map(|v| v["rule"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_whole_convention_from_opening_to_avenant(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    assert_eq!(h.state(&sec, id).await, "brouillon");
    let parties = signatories(&h, &sec, id).await;
    let user = |party: &str| &parties.iter().find(|(p, _)| p == party).unwrap().1;

    // Objectives, then the concertation opens.
    h.ok(
        &sec,
        "PUT",
        &format!("/api/conventions/{id}/objectives"),
        Some(json!({"objectives": {"q1_hors_qpv_min": "25", "non_q1_qpv_min": "50", "priority_min": "25"},
                    "reason": "objectifs de la CIA du 12 mars 2026"})),
    )
    .await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/transitions/open"),
        Some(json!({})),
    )
    .await;
    assert_eq!(h.state(&sec, id).await, "concertation");

    // Five proposals; the State first asks for 35 %, above the 30 % cap.
    let shares = [
        ("etat", "35"),
        ("commune-69801", "15"),
        ("commune-69802", "15"),
        ("action-logement", "20"),
        ("departement-69", "5"),
    ];
    for (party, share) in shares {
        let path = format!("/api/conventions/{id}/proposals/{party}/publish");
        h.ok(user(party), "POST", &path, Some(proposal(share)))
            .await;
    }
    let bailleur_commitments =
        json!({"commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}});
    h.ok(
        user("bailleur"),
        "POST",
        &format!("/api/conventions/{id}/proposals/bailleur/publish"),
        Some(bailleur_commitments),
    )
    .await;
    let current = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/version"), None)
        .await;
    assert_eq!(
        blocking_rules(&current),
        vec!["etat.plafond".to_owned()],
        "{}",
        current["document"]["report"]["violations"]
    );
    let breach = &current["document"]["report"]["violations"][0];
    assert_eq!(breach["reservataires"], json!(["etat"]));
    assert!(
        breach["reference"].as_str().unwrap().contains("R.441-5-2"),
        "{breach}"
    );

    // Signing cannot open on a version with a blocking breach.
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/consolidate"),
        Some(json!({"based_on": "proposals"})),
    )
    .await;
    let (status, body) = h
        .call(
            Some(&sec),
            "POST",
            &format!("/api/conventions/{id}/signing"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["erreur"]["message"]
            .as_str()
            .unwrap()
            .contains("manquement"),
        "{body}"
    );

    // The State corrects its proposal during a reopened concertation.
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/transitions/reopen"),
        Some(json!({})),
    )
    .await;
    h.ok(
        user("etat"),
        "POST",
        &format!("/api/conventions/{id}/proposals/etat/publish"),
        Some(proposal("25")),
    )
    .await;
    let corrected = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/version"), None)
        .await;
    assert!(
        blocking_rules(&corrected).is_empty(),
        "{}",
        corrected["document"]["report"]["violations"]
    );
    let n = corrected["number"].as_i64().unwrap();
    let diff = h
        .ok(
            user("etat"),
            "GET",
            &format!("/api/conventions/{id}/diff?from={}&to={n}", n - 1),
            None,
        )
        .await;
    assert!(
        diff["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "Part : 35 % → 25 %"),
        "{diff}"
    );
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/consolidate"),
        Some(json!({"based_on": "proposals"})),
    )
    .await;
    assert_eq!(h.state(&sec, id).await, "arbitrage");

    // An objection blocks the round until its party lifts it.
    let objection = h
        .ok(
            user("commune-69801"),
            "POST",
            &format!("/api/conventions/{id}/comments"),
            Some(
                json!({"anchor_kind": "clause", "anchor_ref": "bilan", "objection": true,
                        "body": "Le bilan doit détailler les refus par typologie."}),
            ),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let (status, body) = h
        .call(
            Some(&sec),
            "POST",
            &format!("/api/conventions/{id}/signing"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["erreur"]["message"]
            .as_str()
            .unwrap()
            .contains("objection"),
        "{body}"
    );
    let (status, _) = h
        .call(
            Some(user("etat")),
            "POST",
            &format!("/api/conventions/{id}/comments/{objection}/resolve"),
            Some(json!({"text": "je lève l'objection d'autrui"})),
        )
        .await;
    assert_eq!(status, 403, "only the objecting party lifts its objection");
    h.ok(
        user("commune-69801"),
        "POST",
        &format!("/api/conventions/{id}/comments/{objection}/resolve"),
        Some(json!({"text": "Précision apportée en séance : objection levée."})),
    )
    .await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/signing"),
        Some(json!({})),
    )
    .await;
    assert_eq!(h.state(&sec, id).await, "signature");

    // Every party signs the version it read.
    let version = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/version"), None)
        .await;
    let hash = version["hash"].as_str().unwrap().to_owned();
    let (status, body) = h
        .call(
            Some(user("etat")),
            "POST",
            &format!("/api/conventions/{id}/signatures"),
            Some(json!({"password": "pas le bon mot de passe", "version_hash": hash})),
        )
        .await;
    assert_eq!(status, 401, "re-authentication is required: {body}");
    // The PDF every signatory is shown before signing: the same bytes for all of them.
    let shown = pdf_digest(&h, &sec, id).await;
    let (status, body) = h
        .call(
            Some(user("etat")),
            "POST",
            &format!("/api/conventions/{id}/signatures"),
            Some(json!({"password": PASSWORD, "version_hash": hash,
                        "document_sha256": "0".repeat(64)})),
        )
        .await;
    assert_eq!(status, 409, "a document read before it changed: {body}");
    assert!(body.to_string().contains("relisez-le"), "{body}");
    for (i, (party, signer)) in parties.iter().enumerate() {
        let signed = h
            .ok(
                signer,
                "POST",
                &format!("/api/conventions/{id}/signatures"),
                Some(json!({"password": PASSWORD, "version_hash": hash})),
            )
            .await;
        assert_eq!(signed["record"]["party"], json!(party));
        assert_eq!(signed["locked"], json!(i + 1 == parties.len()), "{signed}");
        assert_eq!(
            signed["record"]["document_sha256"],
            json!(shown),
            "the signature records the PDF shown"
        );
    }
    assert_eq!(h.state(&sec, id).await, "signee");
    let locked = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/version"), None)
        .await;
    assert_eq!(locked["locked"], json!(true));
    assert_eq!(locked["hash"], json!(hash));

    // Every member receives the signed PDF, a réservataire also its own annex: exactly the
    // bytes the platform serves for the signed version.
    let signed_pdf = h
        .bytes(&sec, &format!("/api/conventions/{id}/document.pdf"))
        .await;
    assert_ne!(
        convention_flux::signing::sha256_hex(&signed_pdf),
        shown,
        "the signed document has its certificate"
    );
    let etat_annex = h
        .bytes(
            &sec,
            &format!("/api/conventions/{id}/document.pdf?annexe=etat"),
        )
        .await;
    let outbox = h.platform.store.outbox().await.unwrap();
    let mails: Vec<_> = outbox
        .iter()
        .filter(|m| {
            m.convention_id == Some(id) && m.subject.starts_with("Vos documents signés en PDF")
        })
        .collect();
    let members = h
        .platform
        .store
        .snapshot(id)
        .await
        .unwrap()
        .unwrap()
        .members;
    assert_eq!(mails.len(), members.len(), "one per member");
    let decode = |b64: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    };
    for m in &mails {
        assert!(
            decode(&m.attachments[0].content_base64) == signed_pdf,
            "{}",
            m.to
        );
        assert_eq!(m.attachments[0].content_type, "application/pdf");
    }
    let etat_mail = mails
        .iter()
        .find(|m| m.to == user("etat").email)
        .expect("the State's signatory");
    assert_eq!(
        etat_mail.attachments.len(),
        2,
        "the convention and its annex"
    );
    assert!(decode(&etat_mail.attachments[1].content_base64) == etat_annex);
    assert!(etat_mail.attachments[1].name.ends_with("-annexe-etat.pdf"));
    assert!(
        etat_mail
            .body_text
            .contains(&convention_flux::signing::sha256_hex(&etat_annex))
    );

    // The bundle verifies offline, and the database itself refuses to change the locked version.
    let bundle = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/bundle"), None)
        .await;
    let bundle = parse_bundle(&bundle.to_string()).unwrap();
    let check = verify_bundle(&bundle);
    assert!(check.is_ok(), "{}", check.to_french_text());
    assert_eq!(check.checked_signatures, parties.len());

    // An avenant starts a new draft from the signed version.
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/transitions/avenant"),
        Some(json!({"reason": "intégration d'une nouvelle commune"})),
    )
    .await;
    assert_eq!(h.state(&sec, id).await, "brouillon");
    let draft = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/version"), None)
        .await;
    assert_eq!(draft["parent_hash"], json!(hash));
    assert_eq!(draft["locked"], json!(false));
    let view = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}"), None)
        .await;
    assert_eq!(view["convention"]["signed_version"], locked["id"]);
    let audit = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/audit"), None)
        .await;
    let kinds: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for expected in [
        "convention_creee",
        "invitation",
        "membre_ajoute",
        "version_creee",
        "objection",
        "commentaire_resolu",
        "signature_ouverte",
        "signature",
        "version_verrouillee",
        "transition",
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected} missing from {kinds:?}"
        );
    }
}

on_both_engines!(a_whole_convention_from_opening_to_avenant);

/// The SHA-256 of the current version's PDF, as the API serves it.
async fn pdf_digest(h: &Harness, user: &User, id: i64) -> String {
    let pdf = h
        .bytes(user, &format!("/api/conventions/{id}/document.pdf"))
        .await;
    assert!(pdf.starts_with(b"%PDF-"));
    convention_flux::signing::sha256_hex(&pdf)
}
