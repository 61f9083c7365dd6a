use super::*;
use ConventionState as S;
use Transition as T;

fn actor(role: Role, party: &str, kind: Option<PartyKind>) -> Actor {
    Actor {
        role,
        party: party.into(),
        kind,
    }
}

fn secretariat() -> Actor {
    actor(
        Role::Secretariat,
        "secretariat",
        Some(PartyKind::Secretariat),
    )
}

fn reservataire(role: Role, party: &str, kind: ReservataireKind) -> Actor {
    actor(role, party, Some(PartyKind::Reservataire(kind)))
}

fn prefet() -> Actor {
    reservataire(Role::Signatory, "etat", ReservataireKind::Etat)
}

fn forbidden(r: Result<(), Refusal>) -> String {
    match r {
        Err(Refusal::Forbidden(m)) => m,
        other => panic!("403 attendu, reçu {other:?}"),
    }
}

fn conflict(r: Result<(), Refusal>) -> String {
    match r {
        Err(Refusal::Conflict(m)) => m,
        other => panic!("409 attendu, reçu {other:?}"),
    }
}

#[test]
fn the_state_is_recognised_by_its_kind_not_its_id() {
    let facts = GuardFacts {
        approval_required: true,
        ..GuardFacts::default()
    };
    let approve = Action::Transition(T::Approve);
    // A réservataire named "etat" that is not the State may not approve…
    let impostor = reservataire(Role::Signatory, "etat", ReservataireKind::Commune);
    let m = forbidden(permission(&impostor, approve, S::Signee, &facts));
    assert!(m.contains("représentant l'État"), "{m}");
    // …the State's fonctionnaires contingent may, whatever its id.
    let fonctionnaires = reservataire(
        Role::Signatory,
        "prefecture-69",
        ReservataireKind::EtatFonctionnaires,
    );
    assert_eq!(
        permission(&fonctionnaires, approve, S::Signee, &facts),
        Ok(())
    );
    assert_eq!(permission(&prefet(), approve, S::Signee, &facts), Ok(()));
    // Allowed to the préfet, in the right state only, and when the policy asks for it.
    let m = conflict(permission(&prefet(), approve, S::Signature, &facts));
    assert!(m.contains("en signature"), "{m}");
    let m = conflict(permission(
        &prefet(),
        approve,
        S::Signee,
        &GuardFacts::default(),
    ));
    assert!(m.contains("n'exige pas"), "{m}");
}

#[test]
fn who_is_asked_before_when() {
    // A contributor may never sign: 403 even where nobody could sign now.
    let contributor = reservataire(
        Role::Contributor,
        "commune-69801",
        ReservataireKind::Commune,
    );
    let m = forbidden(permission(
        &contributor,
        Action::Sign,
        S::Brouillon,
        &GuardFacts::default(),
    ));
    assert!(m.contains("contributeur") && m.contains("de signer"), "{m}");
    // A signatory may, but no round is open: 409.
    let m = conflict(permission(
        &prefet(),
        Action::Sign,
        S::Brouillon,
        &GuardFacts::default(),
    ));
    assert!(m.contains("aucun tour"), "{m}");
    // The secretariat may abandon, but not a signed convention.
    let abandon = Action::Transition(T::Abandon);
    let m = conflict(permission(
        &secretariat(),
        abandon,
        S::Signee,
        &GuardFacts::default(),
    ));
    assert!(m.contains("signée"), "{m}");
}

#[test]
fn signing_needs_an_open_round_that_requires_the_party_once() {
    let open = GuardFacts {
        round_open: true,
        round_requires_party: true,
        ..GuardFacts::default()
    };
    assert_eq!(
        permission(&prefet(), Action::Sign, S::Signature, &open),
        Ok(())
    );
    let not_required = GuardFacts {
        round_requires_party: false,
        ..open.clone()
    };
    let m = forbidden(permission(
        &prefet(),
        Action::Sign,
        S::Signature,
        &not_required,
    ));
    assert!(m.contains("« etat » n'est pas requise"), "{m}");
    let signed = GuardFacts {
        party_signed: true,
        ..open.clone()
    };
    let m = conflict(permission(&prefet(), Action::Sign, S::Signature, &signed));
    assert!(m.contains("déjà signé"), "{m}");
    let no_round = GuardFacts {
        round_open: false,
        ..open
    };
    conflict(permission(&prefet(), Action::Sign, S::Signature, &no_round));
}

#[test]
fn the_known_gaps_are_closed() {
    // Inviting into an abandoned convention (only the page used to hide the button).
    let m = conflict(permission(
        &secretariat(),
        Action::InviteMember,
        S::Abandonnee,
        &GuardFacts::default(),
    ));
    assert!(m.contains("abandonnée") && m.contains("d'inviter"), "{m}");
    assert_eq!(
        permission(
            &secretariat(),
            Action::InviteMember,
            S::EnVigueur,
            &GuardFacts::default()
        ),
        Ok(())
    );
    // Closing or overruling a thread once the exchanges are closed.
    let thread = GuardFacts {
        thread: Some(ThreadFacts {
            id: 7,
            objection: true,
            party: "etat".into(),
            by_actor: false,
            open: true,
        }),
        ..GuardFacts::default()
    };
    for state in [S::Signee, S::EnVigueur, S::Abandonnee] {
        for action in [Action::OverruleObjection, Action::Comment] {
            let m = conflict(permission(&secretariat(), action, state, &thread));
            assert!(m.contains("échanges sont clos"), "{m}");
        }
        conflict(permission(&prefet(), Action::Resolve, state, &thread));
    }
    // Proposing outside the concertation.
    for state in S::ALL {
        let r = permission(
            &prefet(),
            Action::EditProposal,
            state,
            &GuardFacts::default(),
        );
        assert_eq!(r.is_ok(), state == S::Concertation, "{state:?}: {r:?}");
    }
}

#[test]
fn threads_are_closed_by_their_owners() {
    let contributor = reservataire(
        Role::Contributor,
        "commune-69801",
        ReservataireKind::Commune,
    );
    let thread = |objection, party: &str, by_actor, open| GuardFacts {
        thread: Some(ThreadFacts {
            id: 3,
            objection,
            party: party.into(),
            by_actor,
            open,
        }),
        ..GuardFacts::default()
    };
    let c = S::Concertation;
    // An objection: its party lifts it; the secretariat may only overrule it.
    assert_eq!(
        permission(
            &contributor,
            Action::Resolve,
            c,
            &thread(true, "commune-69801", false, true)
        ),
        Ok(())
    );
    let m = forbidden(permission(
        &secretariat(),
        Action::Resolve,
        c,
        &thread(true, "commune-69801", false, true),
    ));
    assert!(m.contains("passer outre"), "{m}");
    assert_eq!(
        permission(
            &secretariat(),
            Action::OverruleObjection,
            c,
            &thread(true, "commune-69801", false, true)
        ),
        Ok(())
    );
    // A plain comment: its author or the secretariat.
    forbidden(permission(
        &contributor,
        Action::Resolve,
        c,
        &thread(false, "etat", false, true),
    ));
    assert_eq!(
        permission(
            &contributor,
            Action::Resolve,
            c,
            &thread(false, "commune-69801", true, true)
        ),
        Ok(())
    );
    assert_eq!(
        permission(
            &secretariat(),
            Action::Resolve,
            c,
            &thread(false, "etat", false, true)
        ),
        Ok(())
    );
    // Who before whether it is still open.
    forbidden(permission(
        &contributor,
        Action::Resolve,
        c,
        &thread(false, "etat", false, false),
    ));
    let m = conflict(permission(
        &secretariat(),
        Action::Resolve,
        c,
        &thread(false, "etat", false, false),
    ));
    assert!(m.contains("n° 3 est déjà clos"), "{m}");
}

#[test]
fn proposals_and_files_belong_to_their_party() {
    let contributor = reservataire(
        Role::Contributor,
        "commune-69801",
        ReservataireKind::Commune,
    );
    let other = GuardFacts {
        proposal_party: Some("etat".into()),
        ..GuardFacts::default()
    };
    let m = forbidden(permission(
        &contributor,
        Action::EditProposal,
        S::Concertation,
        &other,
    ));
    assert!(m.contains("« commune-69801 », pas « etat »"), "{m}");
    let bailleur = actor(Role::Contributor, "bailleur", Some(PartyKind::Bailleur));
    let none = GuardFacts::default();
    assert_eq!(
        permission(&bailleur, Action::ImportPatrimoine, S::Signee, &none),
        Ok(())
    );
    for who in [secretariat(), contributor, actor(Role::Observer, "", None)] {
        forbidden(permission(
            &who,
            Action::ImportPatrimoine,
            S::Brouillon,
            &none,
        ));
    }
}

#[test]
fn opening_the_signature_needs_a_clean_report_and_no_open_objection() {
    let open_signing = Action::Transition(T::OpenSigning);
    let clean = GuardFacts {
        has_version: true,
        ..GuardFacts::default()
    };
    assert_eq!(
        permission(&secretariat(), open_signing, S::Arbitrage, &clean),
        Ok(())
    );
    let breach = GuardFacts {
        blocking_violations: 3,
        ..clean.clone()
    };
    let m = conflict(permission(
        &secretariat(),
        open_signing,
        S::Arbitrage,
        &breach,
    ));
    assert!(m.contains("3 manquement(s)"), "{m}");
    let objection = GuardFacts {
        open_objections: 2,
        ..clean
    };
    let m = conflict(permission(
        &secretariat(),
        open_signing,
        S::Arbitrage,
        &objection,
    ));
    assert!(m.contains("2 objection(s)"), "{m}");
}

/// Every refusal of every action, role and state is French: elided, long enough, no code.
#[test]
fn every_answer_is_given_in_french() {
    let actors = [
        secretariat(),
        reservataire(
            Role::Contributor,
            "commune-69801",
            ReservataireKind::Commune,
        ),
        prefet(),
        actor(Role::Observer, "", None),
    ];
    let mut refusals = 0;
    for a in &actors {
        for state in S::ALL {
            for action in ACTIONS {
                if let Err(r) = permission(a, action, state, &GuardFacts::default()) {
                    refusals += 1;
                    let m = r.message();
                    assert!(m.chars().count() > 20, "{m}");
                    for vowel in ["a", "e", "i", "o", "u", "é"] {
                        assert!(!m.contains(&format!(" de {vowel}")), "{m}");
                    }
                    assert!(!m.contains("Transition") && !m.contains("Action"), "{m}");
                }
            }
        }
    }
    assert!(refusals > 300, "{refusals}");
}

#[test]
fn allowed_actions_are_those_permission_allows() {
    let facts = GuardFacts {
        has_version: true,
        ..GuardFacts::default()
    };
    let now = allowed_actions(&secretariat(), S::Brouillon, &facts);
    assert_eq!(
        now,
        vec![
            Action::Read,
            Action::EditDraft,
            Action::InviteMember,
            Action::Transition(T::Open),
            Action::Comment,
            Action::Resolve,
            Action::OverruleObjection,
            Action::Transition(T::Abandon),
        ]
    );
    let now = allowed_actions(&prefet(), S::Concertation, &facts);
    assert_eq!(
        now,
        vec![
            Action::Read,
            Action::EditProposal,
            Action::Comment,
            Action::Object,
            Action::Resolve,
        ]
    );
    assert_eq!(
        allowed_actions(&secretariat(), S::Abandonnee, &facts),
        vec![Action::Read]
    );
}

#[test]
fn party_kinds_come_from_the_stored_columns() {
    assert_eq!(
        PartyKind::from_columns("reservataire", "etat_fonctionnaires"),
        Some(PartyKind::Reservataire(
            ReservataireKind::EtatFonctionnaires
        ))
    );
    assert_eq!(
        PartyKind::from_columns("bailleur", ""),
        Some(PartyKind::Bailleur)
    );
    assert_eq!(PartyKind::from_columns("reservataire", "banque"), None);
    assert_eq!(PartyKind::from_columns("", ""), None);
}

/// What the favourable facts refuse, every set of facts refuses: the services' early guard
/// never refuses what their final one would allow.
#[test]
fn the_favourable_facts_refuse_only_what_every_fact_refuses() {
    let actors = [
        secretariat(),
        reservataire(
            Role::Contributor,
            "commune-69801",
            ReservataireKind::Commune,
        ),
        prefet(),
        reservataire(
            Role::Signatory,
            "action-logement",
            ReservataireKind::ActionLogement,
        ),
        actor(Role::Contributor, "bailleur", Some(PartyKind::Bailleur)),
        actor(Role::Observer, "", None),
    ];
    let mut combos = Vec::new();
    for bits in 0..512u32 {
        let on = |i: u32| bits & (1 << i) != 0;
        combos.push(GuardFacts {
            has_version: on(0),
            blocking_violations: usize::from(on(1)),
            open_objections: usize::from(on(2)),
            all_signed: on(3),
            approval_required: on(4),
            round_open: on(5),
            round_requires_party: on(6),
            party_signed: on(7),
            proposal_party: None,
            thread: on(8).then(|| ThreadFacts {
                id: 1,
                objection: false,
                party: "etat".into(),
                by_actor: true,
                open: true,
            }),
        });
    }
    for a in &actors {
        for state in S::ALL {
            for action in ACTIONS {
                if permission(a, action, state, &GuardFacts::most_favourable()).is_err() {
                    for facts in &combos {
                        assert!(
                            permission(a, action, state, facts).is_err(),
                            "{a:?} {action:?} {state:?} {facts:?}"
                        );
                    }
                }
            }
        }
    }
}

/// The table of `docs/conventions.md`: who may do what in each state, the guards' other facts
/// being met. Rewritten by `METTRE_A_JOUR_DOCS=1 cargo test --lib domain::permission`.
fn permission_table() -> String {
    let commune = ReservataireKind::Commune;
    let variants = |role| {
        vec![
            ("", reservataire(role, "commune-69801", commune)),
            ("État", reservataire(role, "etat", ReservataireKind::Etat)),
            (
                "bailleur",
                actor(role, "bailleur", Some(PartyKind::Bailleur)),
            ),
        ]
    };
    let facts = GuardFacts::most_favourable();
    let mut out = String::from("| action |");
    for state in S::ALL {
        out.push_str(&format!(" {} |", state.label()));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(S::ALL.len()));
    out.push('\n');
    for action in ACTIONS {
        out.push_str(&format!("| {} |", action.label()));
        for state in S::ALL {
            let mut who = Vec::new();
            for role in Role::ALL {
                let actors = match role {
                    Role::Secretariat => vec![("", secretariat())],
                    Role::Observer => vec![("", actor(Role::Observer, "", None))],
                    _ => variants(role),
                };
                let allowed: Vec<&str> = actors
                    .iter()
                    .filter(|(_, a)| permission(a, action, state, &facts).is_ok())
                    .map(|(qualifier, _)| *qualifier)
                    .collect();
                let label = role.label().trim_end_matches(" de la CIL");
                if allowed.len() == actors.len() {
                    who.push(label.to_owned());
                } else if !allowed.is_empty() {
                    who.push(format!("{label} ({})", allowed.join(", ")));
                }
            }
            let cell = match who.len() {
                0 => "—".to_owned(),
                4 => "tous".to_owned(),
                _ => who.join(", "),
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_documented_table_is_the_functions_answer() {
    const START: &str = "<!-- tableau des permissions : début -->\n";
    const END: &str = "<!-- tableau des permissions : fin -->";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/conventions.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (before, rest) = doc.split_once(START).expect("the start marker");
    let (shown, after) = rest.split_once(END).expect("the end marker");
    let table = permission_table();
    if std::env::var_os("METTRE_A_JOUR_DOCS").is_some() {
        std::fs::write(&path, format!("{before}{START}{table}{END}{after}")).unwrap();
    } else {
        assert_eq!(
            shown, table,
            "docs/conventions.md : relancez avec METTRE_A_JOUR_DOCS=1"
        );
    }
    // Checked independently of the function: a few cells everybody knows.
    let line = |label: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap()
            .to_owned()
    };
    assert!(line("consulter la convention").ends_with("| tous | tous |"));
    assert!(
        line("signer").contains("| secrétariat, signataire |"),
        "{}",
        line("signer")
    );
    assert!(
        line("approuver la convention signée (préfet)").contains("signataire (État)"),
        "{}",
        line("approuver la convention signée (préfet)")
    );
    assert!(line("inviter un membre").ends_with("| secrétariat | — |"));
}

#[test]
fn reminders_and_the_deadline_are_the_secretariats_in_their_states() {
    let none = GuardFacts::default();
    let round = GuardFacts {
        round_open: true,
        ..GuardFacts::default()
    };
    let sec = secretariat();
    // Reminding: for a proposal in concertation, for a signature while a round is open.
    assert_eq!(
        permission(&sec, Action::Remind, S::Concertation, &none),
        Ok(())
    );
    assert_eq!(
        permission(&sec, Action::Remind, S::Signature, &round),
        Ok(())
    );
    let m = conflict(permission(&sec, Action::Remind, S::Signature, &none));
    assert!(m.contains("aucun tour de signature"), "{m}");
    for state in [
        S::Brouillon,
        S::Arbitrage,
        S::Signee,
        S::EnVigueur,
        S::Abandonnee,
    ] {
        let m = conflict(permission(&sec, Action::Remind, state, &round));
        assert!(m.contains(state.label()), "{m}");
    }
    // The deadline: only while a signing round is open.
    assert_eq!(
        permission(&sec, Action::SetDeadline, S::Signature, &round),
        Ok(())
    );
    let m = conflict(permission(&sec, Action::SetDeadline, S::Signature, &none));
    assert!(m.contains("l'échéance se fixe pendant la signature"), "{m}");
    for state in [S::Brouillon, S::Concertation, S::Arbitrage, S::Signee] {
        conflict(permission(&sec, Action::SetDeadline, state, &round));
    }
    // Nobody else, whatever the state: a party is not the secretariat, even the préfet.
    for who in [
        prefet(),
        actor(Role::Contributor, "bailleur", Some(PartyKind::Bailleur)),
        actor(Role::Observer, "", None),
    ] {
        let m = forbidden(permission(&who, Action::Remind, S::Concertation, &round));
        assert!(m.contains("relancer une partie"), "{m}");
        let m = forbidden(permission(&who, Action::SetDeadline, S::Signature, &round));
        assert!(m.contains("fixer l'échéance de la signature"), "{m}");
    }
}

#[test]
fn the_secretariat_signs_for_the_epci_and_no_one_else_does() {
    // RULES.md §5: the EPCI signs the single convention; its secretariat speaks for it.
    let open = GuardFacts {
        round_open: true,
        round_requires_party: true,
        ..GuardFacts::default()
    };
    assert_eq!(
        permission(&secretariat(), Action::Sign, S::Signature, &open),
        Ok(())
    );
    let contributor = reservataire(Role::Contributor, "commune-1", ReservataireKind::Commune);
    forbidden(permission(&contributor, Action::Sign, S::Signature, &open));
    let observer = actor(Role::Observer, "", None);
    forbidden(permission(&observer, Action::Sign, S::Signature, &open));
    // Who may sign for which party, as the round's opening checks it.
    assert!(Role::Secretariat.signs_for("secretariat"));
    assert!(!Role::Secretariat.signs_for("etat"));
    assert!(Role::Signatory.signs_for("etat"));
    assert!(!Role::Signatory.signs_for("secretariat"));
    assert!(!Role::Contributor.signs_for("bailleur"));
    assert!(!Role::Observer.signs_for("secretariat"));
}
