//! Tracing spans of the use cases and the repository (issue 16, item 9): each names its
//! operation and the convention, and none records a password, a token or a document.

mod common;

use std::sync::{Arc, Mutex};

use common::TestDb;
use common::harness::{Harness, PASSWORD};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// One span as opened: its name, its target (module) and its fields as text.
#[derive(Debug, Clone)]
struct Opened {
    name: String,
    target: String,
    fields: Vec<(String, String)>,
}

impl Opened {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Opened>>>);

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Opened {
            name: attrs.metadata().name().to_owned(),
            target: attrs.metadata().target().to_owned(),
            fields,
        });
    }

    fn on_record(&self, _: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut fields = Vec::new();
        values.record(&mut Fields(&mut fields));
        if let Some(last) = self.0.lock().unwrap().last_mut() {
            last.fields.extend(fields);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_and_repository_calls_are_spans_naming_the_convention() {
    let recorder = Recorder::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(recorder.clone()))
        .unwrap();

    let db = TestDb::sqlite().await;
    let h = Harness::start(&db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    h.ok(&sec, "GET", &format!("/api/conventions/{id}"), None)
        .await;
    let spans = recorder.0.lock().unwrap().clone();

    let id_text = id.to_string();
    let find = |name: &str, module: &str| {
        spans
            .iter()
            .find(|s| {
                s.name == name
                    && s.target.contains(module)
                    && s.field("convention") == Some(id_text.as_str())
            })
            .unwrap_or_else(|| panic!("pas de span {name} ({module}) pour la convention {id}"))
    };
    let view = find("view", "services::conventions");
    assert!(view.field("user").is_some(), "{view:?}");
    // The page and API reads take the convention without the version's text.
    find("snapshot_for_reading", "store::");
    assert!(
        spans
            .iter()
            .any(|s| s.name == "create" && s.target.contains("services::conventions::drafting")),
        "ouverture de convention absente"
    );
    assert!(
        spans
            .iter()
            .any(|s| s.name == "login" && s.target.contains("services::conventions::members")),
        "connexion absente"
    );

    // Nothing secret in any span: not the password typed, not the session token.
    for span in &spans {
        for (name, value) in &span.fields {
            assert!(
                !value.contains(PASSWORD) && !value.contains(&sec.token),
                "{} : champ {name} = {value}",
                span.name
            );
        }
    }
    drop(h);
    db.finish().await;
}
