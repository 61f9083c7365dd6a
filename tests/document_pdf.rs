//! The convention document as a PDF/A (DESIGN §4.6, issue 17): read back with poppler's tools
//! (`pdftotext`, `pdfinfo`, `pdfdetach`, `pdffonts`, `pdftoppm`, installed by `.ci/run`), on the
//! demo's signed convention; deterministic; verifiable offline; the API and the command line.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestDb;
use common::harness::{Harness, User};
use convention_flux::render::document::Scope;
use convention_flux::render::pages::convention::french_decimal;
use convention_flux::render::pdf::verify_pdf;
use convention_flux::services::conventions::Caller;
use convention_flux::services::conventions::convention_document::{DocumentRequest, pdf, pdf_file};
use convention_flux::services::conventions::demo::DEMO_PASSWORD;
use convention_flux::services::conventions::document::VersionDocument;
use convention_flux::signing::sha256_hex;

/// Where the PDFs and their pages are left for a person to look at.
fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/document-pdf");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} (poppler-utils) introuvable : {e}"));
    assert!(
        out.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The text of `file`, spaces of every kind (line ends, no-break spaces) made one space.
fn text_of(file: &Path) -> String {
    let raw = tool("pdftotext", &[file.to_str().unwrap(), "-"]);
    normalize(&raw)
}

fn normalize(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn save(name: &str, engine: &str, bytes: &[u8]) -> PathBuf {
    let path = out_dir().join(format!("{engine}-{name}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

async fn demo_member(h: &Harness, party: &str) -> User {
    h.login(&format!("{party}@demo.convention-flux.fr"), DEMO_PASSWORD)
        .await
}

/// The pages of `file` listed, as PNG under `target/document-pdf/`, for a person to look at.
fn pages_to_png(file: &Path, prefix: &str, pages: &[usize]) {
    for p in pages {
        let page = p.to_string();
        let out = out_dir().join(format!("{prefix}-page"));
        tool(
            "pdftoppm",
            &[
                "-r",
                "70",
                "-png",
                "-f",
                &page,
                "-l",
                &page,
                file.to_str().unwrap(),
                out.to_str().unwrap(),
            ],
        );
    }
}

/// The number of the first page whose text contains `words`.
fn page_with(file: &Path, count: usize, words: &str) -> usize {
    (1..=count)
        .find(|p| {
            let page = p.to_string();
            let text = tool(
                "pdftotext",
                &["-f", &page, "-l", &page, file.to_str().unwrap(), "-"],
            );
            normalize(&text).contains(words)
        })
        .unwrap_or_else(|| panic!("aucune page ne contient « {words} »"))
}

fn page_count(file: &Path) -> usize {
    let info = tool("pdfinfo", &[file.to_str().unwrap()]);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("pdfinfo donne le nombre de pages")
}

async fn the_signed_convention_as_a_pdf(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.signed;
    let row = h.platform.store.current_version(id).await.unwrap().unwrap();
    let doc: VersionDocument = serde_json::from_str(&row.document).unwrap();
    let bytes = pdf(&h.platform, id, None, &Scope::Whole).await.unwrap();
    let file = save("convention.pdf", db.engine, &bytes);
    let text = text_of(&file);
    assert!(text.contains(&row.hash), "l'empreinte");
    assert!(text.contains(&normalize(&doc.bailleur.name)));
    for (n, r) in doc.scenario.reservataires.iter().enumerate() {
        assert!(text.contains(&normalize(&r.name)), "{}", r.name);
        let rate = format!("{} % du flux", french_decimal(&r.share));
        assert!(text.contains(&rate), "{rate} de {}", r.name);
        for c in [
            &r.commitments.priority,
            &r.commitments.q1_hors_qpv,
            &r.commitments.non_q1_qpv,
        ] {
            assert!(text.contains(&format!("{} %", french_decimal(c))));
        }
        assert!(text.contains(&format!("Annexe 4.{} — Convention de réservation", n + 1)));
    }
    for annex in [
        "Annexe 1 — État des lieux",
        "Annexe 2 — Assiette du flux par segment",
        "Annexe 3 — Tableau des flux et son certificat",
        "Certificat de signature",
    ] {
        assert!(text.contains(annex), "{annex}");
    }
    // Every seal of the version, in the certificate.
    let signatures = h.platform.store.signatures(id).await.unwrap();
    let sealed: Vec<_> = signatures
        .iter()
        .filter(|s| s.record.version_hash == row.hash)
        .collect();
    assert!(!sealed.is_empty());
    // The certificate prints the seal of each signature's public extract, not the record's.
    for s in &sealed {
        let extract = s.record.public_extract().canonical();
        assert!(!extract.contains(&s.record.ip) && !extract.contains(&s.record.signer_email));
        let extract_seal = h.platform.key.seal(&extract);
        assert!(text.contains(&extract_seal), "sceau de {}", s.record.party);
        assert!(
            !text.contains(&s.seal),
            "sceau complet de {}",
            s.record.party
        );
    }
    // Every page: the convention, the version, the hash and « page x / N ».
    let count = page_count(&file);
    assert!(count > 10, "{count} pages");
    for p in [1, count / 2, count] {
        let page = p.to_string();
        let t = normalize(&tool(
            "pdftotext",
            &["-f", &page, "-l", &page, file.to_str().unwrap(), "-"],
        ));
        let header = format!(
            "Convention n° {id} · version n° {} · SHA-256 {}",
            row.number, row.hash
        );
        assert!(t.contains(&header), "page {p} : {t}");
        assert!(t.contains(&format!("page {p} / {count}")), "page {p}");
    }

    // PDF/A-3a, tagged, in French, fonts embedded.
    let meta = tool("pdfinfo", &["-meta", file.to_str().unwrap()]);
    assert!(meta.contains("<pdfaid:part>3</pdfaid:part>"), "{meta}");
    assert!(
        meta.contains("<pdfaid:conformance>A</pdfaid:conformance>"),
        "{meta}"
    );
    let info = tool("pdfinfo", &[file.to_str().unwrap()]);
    assert!(info.contains("Tagged:          yes"), "{info}");
    assert!(
        info.contains("Page size:       595.28 x 841.89 pts (A4)"),
        "{info}"
    );
    let fonts = tool("pdffonts", &[file.to_str().unwrap()]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{fonts}");
    for r in rows {
        assert!(r.contains("DejaVuSans"), "{r}");
        let cols: Vec<&str> = r.split_whitespace().collect();
        // emb, sub, uni: the three columns before the object id.
        assert_eq!(
            &cols[cols.len() - 5..cols.len() - 2],
            ["yes", "yes", "yes"],
            "{r}"
        );
    }

    // The canonical version text is attached, byte for byte.
    let list = tool("pdfdetach", &["-list", file.to_str().unwrap()]);
    assert!(list.contains("version-canonique.json"), "{list}");
    assert!(list.contains("entrees-du-rendu.json"), "{list}");
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("v.json");
    tool(
        "pdfdetach",
        &[
            "-savefile",
            "version-canonique.json",
            "-o",
            saved.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
    );
    let attached = std::fs::read(&saved).unwrap();
    assert_eq!(attached, row.document.as_bytes());
    assert_eq!(sha256_hex(&attached), row.hash);
    // The inputs attached publish no signer's e-mail, IP address or browser, nor the seals of
    // the whole records (the demo signs from 127.0.0.1 with « convention-flux demo »).
    let inputs_file = dir.path().join("entrees.json");
    tool(
        "pdfdetach",
        &[
            "-savefile",
            "entrees-du-rendu.json",
            "-o",
            inputs_file.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
    );
    let inputs = std::fs::read_to_string(&inputs_file).unwrap();
    assert!(
        inputs.contains("\"convention-flux-pdf/2\""),
        "{inputs:.200}"
    );
    assert_eq!(
        inputs.matches("\"extrait-public/1\"").count(),
        sealed.len(),
        "one extract per signature"
    );
    for personal in [
        "127.0.0.1",
        "convention-flux demo",
        "@demo.convention-flux.fr",
        "\"ip\"",
        "user_agent",
        "signer_email",
    ] {
        assert!(!inputs.contains(personal), "{personal} publié");
    }
    for s in &sealed {
        assert_eq!(s.record.ip, "127.0.0.1");
        assert!(!inputs.contains(&s.seal));
    }

    // Deterministic: the same version gives the same bytes.
    let again = pdf(&h.platform, id, None, &Scope::Whole).await.unwrap();
    assert!(again == bytes, "deux rendus identiques");
    // Verifiable offline against the platform key; not against another key.
    let check = verify_pdf(&bytes, Some(&h.platform.key.public_key_hex()));
    assert!(check.is_ok(), "{}", check.to_french_text());
    assert_eq!(check.checked_signatures, sealed.len());
    let other = "11".repeat(32);
    let refused = verify_pdf(&bytes, Some(&other));
    assert!(!refused.is_ok());
    assert!(
        refused
            .to_french_text()
            .contains("n'est pas celle de la plateforme"),
        "{}",
        refused.to_french_text()
    );

    // Pages to look at: the title page, a table, an annex, the certificate.
    let first_annex = page_with(&file, count, "Annexe 4.1 — Convention de réservation");
    let table = page_with(&file, count, "Totaux et diviseurs des colonnes");
    pages_to_png(&file, db.engine, &[1, 2, table, first_annex, count]);
}

async fn an_annex_alone_names_its_reservataire_only(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.signed;
    let row = h.platform.store.current_version(id).await.unwrap().unwrap();
    let doc: VersionDocument = serde_json::from_str(&row.document).unwrap();
    let own = doc
        .scenario
        .reservataires
        .iter()
        .find(|r| r.id == "commune-69801")
        .unwrap();
    let scope = Scope::Annex(own.id.clone());
    let bytes = pdf(&h.platform, id, Some(row.number), &scope)
        .await
        .unwrap();
    let file = save("annexe-commune-69801.pdf", db.engine, &bytes);
    let text = text_of(&file);
    assert!(text.contains(&normalize(&format!(
        "Convention de réservation entre {} et {}",
        doc.bailleur.name, own.name
    ))));
    assert!(text.contains(&format!("{} % du flux", french_decimal(&own.share))));
    assert!(text.contains(&row.hash));
    for other in doc.scenario.reservataires.iter().filter(|r| r.id != own.id) {
        assert!(
            !text.contains(&normalize(&other.name)),
            "{} est cité",
            other.name
        );
        // With the space before it: « 5 % du flux » is in « 15 % du flux ».
        let rate = format!(" {} % du flux", french_decimal(&other.share));
        if other.share != own.share {
            assert!(!text.contains(&rate), "le taux de {} est cité", other.name);
        }
    }
    assert!(!text.contains("Annexe 3"));
    assert!(text.contains("Signatures"));
    let check = verify_pdf(&bytes, Some(&h.platform.key.public_key_hex()));
    assert!(check.is_ok(), "{}", check.to_french_text());
    // Only the bailleur's and the réservataire's signatures are carried.
    assert_eq!(check.checked_signatures, 2);
    pages_to_png(&file, &format!("{}-annexe", db.engine), &[1, 2]);
    // A party that is not a réservataire has no annex.
    let e = pdf(&h.platform, id, None, &Scope::Annex("bailleur".into()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("n'est pas un réservataire"), "{e}");
}

async fn the_api_serves_the_pdf_to_members_only(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.signed;
    let row = h.platform.store.current_version(id).await.unwrap().unwrap();
    let user = demo_member(&h, "etat").await;
    let get = |path: String, token: Option<String>| {
        let mut request = h.client.get(format!("{}{path}", h.base));
        if let Some(t) = token {
            request = request.header("cookie", format!("cf_session={t}"));
        }
        request.send()
    };
    let path = format!("/api/conventions/{id}/document.pdf");
    let response = get(path.clone(), Some(user.token.clone())).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(
        response.headers()["content-disposition"],
        format!(
            "attachment; filename=\"convention-{id}-version-{}.pdf\"",
            row.number
        )
        .as_str()
    );
    let body = response.bytes().await.unwrap();
    let direct = pdf(&h.platform, id, None, &Scope::Whole).await.unwrap();
    assert!(body.as_ref() == direct.as_slice(), "les mêmes octets");
    let response = get(
        format!("{path}?version={}&annexe=etat", row.number),
        Some(user.token.clone()),
    )
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-disposition"],
        format!(
            "attachment; filename=\"convention-{id}-version-{}-annexe-etat.pdf\"",
            row.number
        )
        .as_str()
    );
    // The service for a member gives the same bytes and name.
    let record = h
        .platform
        .store
        .user_by_email("etat@demo.convention-flux.fr")
        .await
        .unwrap()
        .unwrap();
    let file = pdf_file(
        &h.platform,
        &Caller { user: record },
        id,
        &DocumentRequest {
            version: Some(row.number),
            annexe: Some("etat".into()),
        },
    )
    .await
    .unwrap();
    assert!(file.bytes.as_slice() == response.bytes().await.unwrap().as_ref());

    for (query, status, words) in [
        ("?version=99", 404, "n° 99 introuvable"),
        (
            "?annexe=inconnu",
            404,
            "« inconnu » n'est pas un réservataire",
        ),
        (
            "?annexe=bailleur",
            404,
            "« bailleur » n'est pas un réservataire",
        ),
        ("?version=abc", 400, "version"),
    ] {
        let response = get(format!("{path}{query}"), Some(user.token.clone()))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        let message = body["erreur"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{query}: {body}");
    }
    // The document page links to the PDF of what it shows.
    let page = get(
        format!("/conventions/{id}/document?annexe=etat"),
        Some(user.token.clone()),
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap()
    .replace("&#x3D;", "=")
    .replace("&amp;", "&");
    assert!(
        page.contains(&format!(
            "/api/conventions/{id}/document.pdf?version={}&annexe=etat",
            row.number
        )),
        "lien « Télécharger le PDF »"
    );
    assert!(page.contains("Télécharger le PDF"));
    // Signed out: 401; not a member: 404, as for any page of the convention.
    let response = get(path.clone(), None).await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let outsider = h.secretariat().await;
    let response = get(path, Some(outsider.token)).await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

/// A process that stops between the lock and the signed PDFs: the next start sends them,
/// once, even when two instances start together.
async fn signed_pdfs_lost_at_the_lock_are_sent_at_start_up(db: &TestDb) {
    use convention_flux::domain::convention::{Role, Transition};
    use convention_flux::services::conventions::RequestMeta;
    use convention_flux::services::conventions::drafting::{self, TransitionRequest};
    use convention_flux::services::conventions::signing::{
        OpenSigning, SIGNED_DOCUMENTS_EVENT, SignRequest, open_signing, record_signature,
        send_pending_signed_documents, spawn_pending_signed_documents,
    };
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.signed;
    let p = &h.platform;
    let caller = |email: String| async move {
        Caller {
            user: p.store.user_by_email(&email).await.unwrap().unwrap(),
        }
    };
    let members = p.store.snapshot(id).await.unwrap().unwrap().members;
    let secretariat = members
        .iter()
        .find(|m| m.role == Role::Secretariat)
        .unwrap();
    let secretariat = caller(secretariat.email.clone()).await;
    let first = p.store.current_version(id).await.unwrap().unwrap();
    assert!(first.locked, "the demo's signed version");
    // An avenant of the signed convention, signed by every party, through the lock's own
    // transaction only: what a process that stopped right after it leaves.
    drafting::transition(
        p,
        &secretariat,
        id,
        Transition::Avenant,
        TransitionRequest {
            reason: Some("essai de la relance".into()),
        },
    )
    .await
    .unwrap();
    drafting::transition(
        p,
        &secretariat,
        id,
        Transition::Open,
        TransitionRequest { reason: None },
    )
    .await
    .unwrap();
    drafting::consolidate(
        p,
        &secretariat,
        id,
        drafting::Consolidation {
            based_on: "proposals".into(),
            reason: None,
        },
    )
    .await
    .unwrap();
    open_signing(p, &secretariat, id, OpenSigning::default())
        .await
        .unwrap();
    let version = p.store.current_version(id).await.unwrap().unwrap();
    assert!(version.number > first.number, "the avenant's version");
    // The demo's six parties and the EPCI, which signs through its secretariat.
    let signatories: Vec<_> = members
        .iter()
        .filter(|m| m.role.signs_for(&m.party))
        .collect();
    assert_eq!(signatories.len(), 7, "the demo's six parties and the EPCI");
    let mut locked = false;
    for m in &signatories {
        let signed = record_signature(
            p,
            &caller(m.email.clone()).await,
            id,
            SignRequest {
                password: DEMO_PASSWORD.into(),
                version_hash: version.hash.clone(),
                mandate: None,
                document_sha256: None,
            },
            RequestMeta::default(),
        )
        .await
        .unwrap();
        locked = signed.locked;
    }
    assert!(locked, "the last signature locks the version");
    let subject = "Vos documents signés en PDF";
    let mails_of_avenant = || async {
        p.store
            .outbox()
            .await
            .unwrap()
            .into_iter()
            .filter(|m| {
                m.convention_id == Some(id)
                    && m.subject.starts_with(subject)
                    && m.body_text.contains(&version.hash)
            })
            .collect::<Vec<_>>()
    };
    let events = || async {
        p.store
            .audit_events(id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| {
                e.kind == SIGNED_DOCUMENTS_EVENT && e.payload["empreinte"] == version.hash.as_str()
            })
            .count()
    };
    assert!(mails_of_avenant().await.is_empty());
    assert_eq!(events().await, 0);

    // A lock older than the window is left alone (31 days later, nothing is sent).
    let later = chrono::Utc::now() + chrono::Duration::days(31);
    assert_eq!(send_pending_signed_documents(p, later).await.unwrap(), 0);
    assert!(mails_of_avenant().await.is_empty());

    // Two instances start together: one sends, one mail per member, one event.
    let other = convention_flux::services::conventions::Platform {
        versions: Default::default(),
        signing_digests: Default::default(),
        ..p.clone()
    };
    let (a, b) = tokio::join!(
        spawn_pending_signed_documents(p.clone()),
        spawn_pending_signed_documents(other)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    // The secretariat and the six signatories.
    assert_eq!(members.len(), 7);
    assert_eq!(a + b, 7, "{a} + {b}");
    let mails = mails_of_avenant().await;
    assert_eq!(mails.len(), 7);
    let mut to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    to.sort_unstable();
    to.dedup();
    assert_eq!(to.len(), 7, "each member once");
    assert_eq!(events().await, 1);
    // The PDF sent is the signed avenant's.
    let whole = pdf(p, id, Some(version.number), &Scope::Whole)
        .await
        .unwrap();
    use base64::Engine;
    let attached = base64::engine::general_purpose::STANDARD
        .decode(&mails[0].attachments[0].content_base64)
        .unwrap();
    assert!(attached == whole);
    assert!(attached != pdf(p, id, Some(first.number), &Scope::Whole).await.unwrap());

    // Started again: nothing more.
    assert_eq!(spawn_pending_signed_documents(p.clone()).await.unwrap(), 0);
    assert_eq!(mails_of_avenant().await.len(), 7);
    assert_eq!(events().await, 1);
    // The first signed version, sent at its own lock by the demo, is not sent again either.
    let sent_for_first = p
        .store
        .outbox()
        .await
        .unwrap()
        .iter()
        .filter(|m| m.subject.starts_with(subject) && m.body_text.contains(&first.hash))
        .count();
    assert_eq!(sent_for_first, 7);
}

/// The evidence bundle carries the signed PDFs of the locked version, and its verification
/// renders them again: one byte changed, or one PDF missing, is a finding.
async fn the_bundle_carries_and_checks_the_signed_pdfs(db: &TestDb) {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use convention_flux::render::pdf::verify_bundle_with_documents;
    use convention_flux::services::conventions::verification::bundle;
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.signed;
    let key = h.platform.key.public_key_hex();
    let exported = bundle(&h.platform, id).await.unwrap();
    // One locked version, five réservataires: the whole convention and five annexes.
    let scopes: Vec<Option<&str>> = exported
        .documents
        .iter()
        .map(|d| d.annexe.as_deref())
        .collect();
    // The demo's réservataires, in the order the convention lists them.
    assert_eq!(
        scopes,
        [
            None,
            Some("etat"),
            Some("commune-69801"),
            Some("commune-69802"),
            Some("action-logement"),
            Some("departement-69"),
        ]
    );
    assert_eq!(exported.documents.len(), 6, "{scopes:?}");
    let signed = h.platform.store.current_version(id).await.unwrap().unwrap();
    assert!(signed.locked);
    let whole = pdf(&h.platform, id, Some(signed.number), &Scope::Whole)
        .await
        .unwrap();
    let first = &exported.documents[0];
    assert_eq!(first.version, signed.number);
    assert_eq!(first.version_hash, signed.hash);
    assert_eq!(
        first.file_name,
        format!("convention-{id}-version-{}.pdf", signed.number)
    );
    assert!(BASE64.decode(&first.pdf_base64).unwrap() == whole);
    assert_eq!(first.sha256, sha256_hex(&whole));
    // The bundle as written and read back verifies, PDFs included.
    let text = serde_json::to_string_pretty(&exported).unwrap();
    let read = convention_flux::signing::parse_bundle(&text).unwrap();
    let check = verify_bundle_with_documents(&read, Some(&key));
    assert!(check.is_ok(), "{}", check.to_french_text());
    assert_eq!(check.checked_documents, 6);
    assert!(
        check
            .to_french_text()
            .contains("6 documents PDF signés vérifiés"),
        "{}",
        check.to_french_text()
    );

    // One byte changed in an annex, its declared digest updated too: still a finding.
    let mut changed = read.clone();
    let mut bytes = BASE64.decode(&changed.documents[2].pdf_base64).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    changed.documents[2].sha256 = sha256_hex(&bytes);
    changed.documents[2].pdf_base64 = BASE64.encode(&bytes);
    let check = verify_bundle_with_documents(&changed, Some(&key));
    assert!(!check.is_ok());
    let name = &changed.documents[2].file_name;
    assert!(
        check
            .findings
            .iter()
            .all(|f| f.location == format!("document « {name} » du paquet")),
        "{}",
        check.to_french_text()
    );
    // Without updating the digest: the digest is named too.
    let mut changed = read.clone();
    changed.documents[0].pdf_base64 = BASE64.encode(&bytes);
    let check = verify_bundle_with_documents(&changed, Some(&key));
    assert!(
        check
            .findings
            .iter()
            .any(|f| f.problem.contains("que le paquet déclare")),
        "{}",
        check.to_french_text()
    );
    // An annex taken out of the bundle.
    let mut missing = read.clone();
    let gone = missing.documents.remove(1);
    let check = verify_bundle_with_documents(&missing, Some(&key));
    assert_eq!(check.findings.len(), 1, "{}", check.to_french_text());
    assert!(
        check.findings[0]
            .problem
            .contains(&format!("l'annexe de « {} »", gone.annexe.unwrap())),
        "{}",
        check.to_french_text()
    );
    // Two PDFs swapped: each is the other's scope.
    let mut swapped = read.clone();
    let (a, b) = (swapped.documents[1].clone(), swapped.documents[2].clone());
    swapped.documents[1].pdf_base64 = b.pdf_base64.clone();
    swapped.documents[1].sha256 = b.sha256.clone();
    swapped.documents[2].pdf_base64 = a.pdf_base64;
    swapped.documents[2].sha256 = a.sha256;
    let check = verify_bundle_with_documents(&swapped, Some(&key));
    assert_eq!(check.findings.len(), 2, "{}", check.to_french_text());
    // A bundle written before the PDFs (none in it) verifies as it did.
    let mut older = serde_json::to_value(&read).unwrap();
    older.as_object_mut().unwrap().remove("documents");
    let older = convention_flux::signing::parse_bundle(&older.to_string()).unwrap();
    let check = verify_bundle_with_documents(&older, Some(&key));
    assert!(check.is_ok(), "{}", check.to_french_text());
    assert_eq!(check.checked_documents, 0);
}

on_both_engines!(
    the_bundle_carries_and_checks_the_signed_pdfs,
    the_signed_convention_as_a_pdf,
    an_annex_alone_names_its_reservataire_only,
    the_api_serves_the_pdf_to_members_only,
    signed_pdfs_lost_at_the_lock_are_sent_at_start_up
);

const BIN: &str = env!("CARGO_BIN_EXE_convention-flux");

fn command(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("CONVENTION_FLUX_CONFIG")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("cf.db").display()),
        )
        .env("CONVENTION_FLUX_LOG", "warn")
        .env(
            "CONVENTION_FLUX_PLATFORM_KEY_PATH",
            dir.join("cle-plateforme.txt"),
        )
        .env(
            "CONVENTION_FLUX_SESSION_KEY_PATH",
            dir.join("cle-sessions.txt"),
        );
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let out = command.output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_command_line_writes_and_verifies_the_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(command(dir.path())
        .args(["demo", "--no-serve", "--dir"])
        .arg(dir.path().join("demo")));
    assert_eq!(code, 0, "{err}");
    let c = dir.path().join("c.pdf");
    let (code, _, err) = run(command(dir.path())
        .args(["document", "1", "--output"])
        .arg(&c));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("c.pdf"), "{err}");
    let bytes = std::fs::read(&c).unwrap();
    assert!(bytes.starts_with(b"%PDF-1.7"));
    let (code, out, err) = run(command(dir.path()).arg("verify").arg(&c));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Aucune anomalie"), "{out}");

    // One byte changed in the document's title (XMP metadata, stored uncompressed): the PDF
    // still reads, its attachments too, but it is no longer the rendering of the version.
    let at = bytes
        .windows(b"version n\xc2\xb0".len())
        .position(|w| w == b"version n\xc2\xb0")
        .expect("the title in the metadata");
    let mut changed = bytes.clone();
    changed[at] = b'V';
    let d = dir.path().join("d.pdf");
    std::fs::write(&d, &changed).unwrap();
    let (code, out, err) = run(command(dir.path()).arg("verify").arg(&d));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains(&format!("il en diffère à partir de l'octet n° {}", at + 1)),
        "{out}"
    );
    assert!(err.contains("n'est pas exactement le document"), "{err}");
    // One byte changed in the middle of the file: refused too, whatever it hits.
    let mut changed = bytes.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 0x20;
    std::fs::write(&d, &changed).unwrap();
    let (code, out, err) = run(command(dir.path()).arg("verify").arg(&d));
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("anomalie"), "{out}");

    // The evidence bundle carries the signed PDFs; `verify` checks them; one byte changed in
    // one of them is named.
    let b = dir.path().join("dossier.json");
    let (code, _, err) = run(command(dir.path())
        .args(["export-bundle", "1", "--output"])
        .arg(&b));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(command(dir.path()).arg("verify").arg(&b));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("6 documents PDF signés vérifiés"), "{out}");
    let mut value: serde_json::Value = serde_json::from_slice(&std::fs::read(&b).unwrap()).unwrap();
    {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD as BASE64;
        let d = &mut value["documents"][0];
        assert!(BASE64.decode(d["pdf_base64"].as_str().unwrap()).unwrap() == bytes);
        let mut pdf = bytes.clone();
        pdf[at] = b'V';
        d["pdf_base64"] = BASE64.encode(&pdf).into();
    }
    std::fs::write(&b, value.to_string()).unwrap();
    let (code, out, err) = run(command(dir.path()).arg("verify").arg(&b));
    assert_eq!(code, 2, "{out}{err}");
    let name = value["documents"][0]["file_name"].as_str().unwrap();
    assert!(name.starts_with("convention-1-version-"), "{name}");
    assert!(
        out.contains(&format!("document « {name} » du paquet")),
        "{out}"
    );
    assert!(out.contains("que le paquet déclare"), "{out}");

    // An annex alone, and the errors a person can make.
    let a = dir.path().join("a.pdf");
    let (code, _, err) = run(command(dir.path())
        .args([
            "document",
            "1",
            "--annexe",
            "etat",
            "--version",
            "1",
            "--output",
        ])
        .arg(&a));
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&a).unwrap().starts_with(b"%PDF"));
    let (code, _, err) = run(command(dir.path())
        .args(["document", "1", "--annexe", "inconnu", "--output"])
        .arg(&a));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("« inconnu » n'est pas un réservataire"),
        "{err}"
    );
    let (code, _, err) = run(command(dir.path())
        .args(["document", "99", "--output"])
        .arg(&a));
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("erreur : "), "{err}");
}
