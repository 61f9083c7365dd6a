//! A small W3C WebDriver client for the browser tests: chromedriver started as a child process
//! on a free port, headless Chromium, and axe-core run in the page. Built on reqwest alone, so
//! the browser tests add no crate to the project.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// `TEST_NAVIGATEUR=obligatoire`: a missing browser fails the test instead of
/// skipping it (set by `.ci/run`). Not `CONVENTION_FLUX_*`: the platform refuses any unknown
/// setting with that prefix, and the tests start the real binary with this environment.
pub const REQUIRED_VAR: &str = "TEST_NAVIGATEUR";

/// WebDriver key codes (W3C WebDriver, « Keyboard actions »).
pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";
pub const SPACE: &str = "\u{E00D}";

/// The reference of an element in WebDriver answers.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The accessibility rules checked on every page: WCAG 2.0 and 2.1, levels A and AA.
const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether the browser tests must run (CI) or may be skipped (a developer's machine).
pub fn browser_required() -> bool {
    std::env::var(REQUIRED_VAR).is_ok_and(|v| v == "obligatoire")
}

/// Chromium and chromedriver, or the French reason they cannot be used.
pub fn browser_available() -> Result<(), String> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "navigateur absent ({} introuvable) : installez les paquets Debian `chromium` et \
             `chromium-driver` (apt-get install chromium chromium-driver)",
            missing.join(", ")
        ))
    }
}

/// Installs the npm packages (DSFR, axe-core) with `npm ci` when they are missing.
pub fn ensure_web_packages() {
    let dir = project_dir();
    let present = |p: &str| dir.join("node_modules").join(p).exists();
    if present("@gouvfr/dsfr/dist/dsfr.min.css") && present("axe-core/axe.min.js") {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "node_modules/@gouvfr/dsfr ou node_modules/axe-core manquent et `npm ci` ne peut \
                 pas être lancé ({e}) : installez Node.js et npm, puis lancez `npm ci`"
            )
        });
    assert!(
        status.success()
            && present("@gouvfr/dsfr/dist/dsfr.min.css")
            && present("axe-core/axe.min.js"),
        "`npm ci` a échoué ({status}) : le DSFR et axe-core sont nécessaires aux tests navigateur"
    );
}

/// chromedriver, stopped when dropped.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Chromedriver {
    async fn start(http: &reqwest::Client) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("un port libre pour chromedriver")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("impossible de lancer {CHROMEDRIVER} : {e}"));
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http
                .get(format!("{}/status", driver.url))
                .send()
                .await
                .ok()
                .map(|r| r.json::<Value>());
            if let Some(answer) = ready
                && answer.await.is_ok_and(|v| v["value"]["ready"] == true)
            {
                return driver;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver ne répond pas sur le port {port} après 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// An element found in the page.
#[derive(Clone, Debug)]
pub struct Element(String);

/// A serious or critical accessibility violation found by axe-core.
#[derive(Debug)]
pub struct Violation {
    pub id: String,
    pub impact: String,
    pub help: String,
    pub targets: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "règle « {} » ({}) : {} — éléments : {}",
            self.id,
            self.impact,
            self.help,
            self.targets.join(" ; ")
        )
    }
}

/// One headless Chromium driven through WebDriver.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    captures: PathBuf,
    step: u32,
    // Dropped last: the session is deleted before chromedriver stops.
    driver: Chromedriver,
}

impl Drop for Browser {
    /// Ends the session, so that chromedriver closes its Chromium before it is stopped. Plain
    /// blocking HTTP: a drop may run while the test's runtime unwinds.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let Some((host, path)) = self
            .session
            .strip_prefix("http://")
            .and_then(|rest| rest.split_once('/'))
        else {
            return;
        };
        if let Ok(mut stream) = std::net::TcpStream::connect(host) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request =
                format!("DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; screenshots go to
    /// `target/captures-navigateur/` (emptied first).
    pub async fn launch() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("client HTTP");
        let driver = Chromedriver::start(&http).await;
        let answer: Value = http
            .post(format!("{}/session", driver.url))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--window-size=1280,2000"],
                },
            }}}))
            .send()
            .await
            .expect("chromedriver joignable")
            .json()
            .await
            .expect("réponse JSON de chromedriver");
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("Chromium n'a pas démarré sous chromedriver : {answer}"));
        let captures = project_dir().join("target/captures-navigateur");
        let _ = std::fs::remove_dir_all(&captures);
        std::fs::create_dir_all(&captures).expect("dossier des captures d'écran");
        Self {
            http,
            session: format!("{}/session/{id}", driver.url),
            captures,
            step: 0,
            driver,
        }
    }

    /// One WebDriver command; a WebDriver error fails the test with its message.
    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("commande WebDriver {method} {path} impossible : {e}"));
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let value = answer["value"].clone();
        if let Some(error) = value.get("error").and_then(Value::as_str) {
            panic!(
                "erreur WebDriver sur {method} {path} : {error} — {}",
                value["message"].as_str().unwrap_or("")
            );
        }
        value
    }

    async fn get(&self, path: &str) -> Value {
        self.command(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    pub async fn title(&self) -> String {
        self.get("/title").await.as_str().unwrap_or("").to_owned()
    }

    pub async fn current_url(&self) -> String {
        self.get("/url").await.as_str().unwrap_or("").to_owned()
    }

    /// The elements matching a CSS selector (possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.post("/elements", json!({"using": "css selector", "value": css}))
            .await
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned())))
            .collect()
    }

    /// The elements inside `parent` matching a CSS selector.
    pub async fn find_all_in(&self, parent: &Element, css: &str) -> Vec<Element> {
        self.post(
            &format!("/element/{}/elements", parent.0),
            json!({"using": "css selector", "value": css}),
        )
        .await
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned())))
        .collect()
    }

    /// The first element matching a CSS selector; fails the test when there is none.
    pub async fn find(&self, css: &str) -> Element {
        match self.find_all(css).await.into_iter().next() {
            Some(e) => e,
            None => panic!(
                "aucun élément « {css} » sur la page {} ({})",
                self.current_url().await,
                self.title().await
            ),
        }
    }

    pub async fn click(&self, e: &Element) {
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await;
    }

    /// Clears a field, then types `text` into it.
    pub async fn fill(&self, e: &Element, text: &str) {
        self.post(&format!("/element/{}/clear", e.0), json!({}))
            .await;
        self.post(&format!("/element/{}/value", e.0), json!({"text": text}))
            .await;
    }

    pub async fn text(&self, e: &Element) -> String {
        self.get(&format!("/element/{}/text", e.0))
            .await
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    pub async fn attribute(&self, e: &Element, name: &str) -> Option<String> {
        self.get(&format!("/element/{}/attribute/{name}", e.0))
            .await
            .as_str()
            .map(str::to_owned)
    }

    /// The visible text of the whole page.
    pub async fn page_text(&self) -> String {
        let body = self.find("body").await;
        self.text(&body).await
    }

    /// Keys typed on the keyboard into whatever has the focus (no element is targeted, nothing
    /// is clicked): each character, or WebDriver key code, is pressed then released.
    pub async fn press(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({"type": "keyDown", "value": c.to_string()}),
                    json!({"type": "keyUp", "value": c.to_string()}),
                ]
            })
            .collect();
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "clavier", "actions": actions}]}),
        )
        .await;
        self.command(reqwest::Method::DELETE, "/actions", None)
            .await;
    }

    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// A script that ends by calling its last argument with its result.
    pub async fn execute_async(&self, script: &str, args: Value) -> Value {
        self.post("/execute/async", json!({"script": script, "args": args}))
            .await
    }

    /// The `id` of the element that has the keyboard focus (empty when none has one).
    pub async fn focused_id(&self) -> String {
        self.execute(
            "const e = document.activeElement; return e ? (e.id || e.tagName) : '';",
            json!([]),
        )
        .await
        .as_str()
        .unwrap_or("")
        .to_owned()
    }

    /// Marks the current document, so that `wait_for_new_page` can tell when it is replaced.
    pub async fn mark_page(&self) {
        self.execute("window.__cf_ancienne_page = true;", json!([]))
            .await;
    }

    /// Waits until the marked document is replaced by a new one, fully loaded.
    pub async fn wait_for_new_page(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let loaded = self
                .execute(
                    "return !window.__cf_ancienne_page && document.readyState === 'complete';",
                    json!([]),
                )
                .await;
            if loaded == true {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "aucune nouvelle page après 30 s (toujours sur {})",
                self.current_url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page (after a form submission) shows `text`.
    pub async fn wait_for_text(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let shown = self
                .execute(
                    "return document.body ? document.body.innerText : '';",
                    json!([]),
                )
                .await;
            if shown.as_str().is_some_and(|s| s.contains(text)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "la page {} n'affiche pas « {text} » après 20 s ; elle affiche :\n{}",
                self.current_url().await,
                shown.as_str().unwrap_or("")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Writes a screenshot of the viewport to `target/captures-navigateur/NN-step.png`.
    pub async fn screenshot(&mut self, step: &str) -> PathBuf {
        self.step += 1;
        let png = self.get("/screenshot").await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or(""))
            .expect("capture d'écran en base64");
        assert!(
            bytes.starts_with(b"\x89PNG"),
            "la capture « {step} » n'est pas une image PNG"
        );
        let path = self.captures.join(format!("{:02}-{step}.png", self.step));
        std::fs::write(&path, bytes).expect("écriture de la capture d'écran");
        path
    }

    /// Runs axe-core in the page (WCAG 2.0 and 2.1, A and AA) and returns the serious and
    /// critical violations.
    pub async fn accessibility_violations(&self) -> Vec<Violation> {
        let source =
            std::fs::read_to_string(project_dir().join("node_modules/axe-core/axe.min.js"))
                .expect("node_modules/axe-core/axe.min.js (lancez `npm ci`)");
        self.execute(&source, json!([])).await;
        let answer = self
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})
                   .then(r => done({violations: r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => ({id: v.id, impact: v.impact, help: v.help,
                                 targets: v.nodes.map(n => n.target.join(' '))}))}))
                   .catch(e => done({erreur: String(e)}));",
                json!([AXE_TAGS]),
            )
            .await;
        if let Some(error) = answer.get("erreur") {
            panic!("axe-core a échoué dans la page : {error}");
        }
        answer["violations"]
            .as_array()
            .expect("la liste des violations d'axe-core")
            .iter()
            .map(|v| Violation {
                id: v["id"].as_str().unwrap_or("").into(),
                impact: v["impact"].as_str().unwrap_or("").into(),
                help: v["help"].as_str().unwrap_or("").into(),
                targets: v["targets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect(),
            })
            .collect()
    }
}
