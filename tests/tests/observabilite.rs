//! What a studio watches, checked against a real Prometheus (Debian's `prometheus`, installed
//! with `promtool` by `scripts/test.sh`): the repository's configuration and alerting rules pass
//! `promtool check` and their unit tests (`promtool test rules`); then a Prometheus scrapes a
//! real server under a short load, and every query of the Grafana dashboard and every alert's
//! measure, sent to its HTTP API, returns series. A panel or an alert on a metric that does not
//! exist (renamed, never exposed before its first event) fails here, not on the night it was
//! needed. `exploitation/`, doc/exploitation.md.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mmo_tests::{Banc, PATIENCE};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::watch;

/// The repository's `exploitation/` folder.
fn exploitation() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../exploitation")
}

/// Runs `promtool` with `args` in `dossier`: its output, or a panic naming what failed.
fn promtool(dossier: &Path, args: &[&str]) -> String {
    let sortie = Command::new("promtool")
        .args(args)
        .current_dir(dossier)
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool introuvable ({e}) : scripts/test.sh installe le paquet prometheus")
        });
    let texte = format!(
        "{}{}",
        String::from_utf8_lossy(&sortie.stdout),
        String::from_utf8_lossy(&sortie.stderr)
    );
    assert!(sortie.status.success(), "promtool {args:?} :\n{texte}");
    texte
}

/// A Prometheus process, killed when dropped (a failing test leaves none behind).
struct Prometheus {
    processus: Child,
    dossier: PathBuf,
    base: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.processus.kill();
        let _ = self.processus.wait();
        let _ = std::fs::remove_dir_all(&self.dossier);
    }
}

impl Prometheus {
    /// Starts one that scrapes `cible` (`host:port`) every second under the job `mmo`, with
    /// the repository's alerting rules evaluated every second.
    fn demarrer(cible: &str) -> Self {
        let dossier = std::env::temp_dir().join(format!("mmo-prometheus-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dossier).expect("dossier de Prometheus");
        let regles = exploitation().join("prometheus/alertes.yml");
        let configuration = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: mmo\n    static_configs:\n      - targets: [\"{cible}\"]\n        labels:\n          role: passerelle\n",
            regles.canonicalize().expect("alertes.yml").display()
        );
        let fichier = dossier.join("prometheus.yml");
        std::fs::write(&fichier, configuration).expect("configuration écrite");
        promtool(&dossier, &["check", "config", "prometheus.yml"]);
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port libre")
            .port();
        let processus = Command::new("prometheus")
            .arg(format!("--config.file={}", fichier.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dossier.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "prometheus introuvable ({e}) : scripts/test.sh installe le paquet prometheus"
                )
            });
        Self {
            processus,
            dossier,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// `/api/v1/<chemin>` with `params`: its `data`, once the call succeeds.
    async fn api(&self, http: &reqwest::Client, chemin: &str, params: &[(&str, &str)]) -> Value {
        let url =
            reqwest::Url::parse_with_params(&format!("{}/api/v1/{chemin}", self.base), params)
                .expect("adresse de l'API");
        let r: Value = http
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{chemin} : {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{chemin} : {e}"));
        assert_eq!(r["status"], "success", "{chemin} {params:?} : {r}");
        r["data"].clone()
    }

    /// The series an instant query returns.
    async fn series(&self, http: &reqwest::Client, requete: &str) -> Vec<Value> {
        let data = self.api(http, "query", &[("query", requete)]).await;
        data["result"].as_array().cloned().unwrap_or_default()
    }
}

/// An alert's measure: its expression without the final `<op> <number>` (the convention
/// alertes.yml states). Panics if the expression does not end that way.
fn mesure(alerte: &str, expr: &str) -> String {
    let mut morceaux: Vec<&str> = expr.split_whitespace().collect();
    let seuil = morceaux.pop().unwrap_or_default();
    let operateur = morceaux.pop().unwrap_or_default();
    assert!(
        seuil.parse::<f64>().is_ok()
            && ["<", ">", "==", "!=", "<=", ">="].contains(&operateur)
            && !morceaux.is_empty(),
        "{alerte} : l'expression doit finir par « <op> <nombre> » : {expr}"
    );
    morceaux.join(" ")
}

#[sqlx::test(migrations = "../migrations")]
async fn prometheus_trouve_des_series_pour_chaque_panneau_et_chaque_alerte(pool: PgPool) {
    let dossier = exploitation().join("prometheus");
    promtool(&dossier, &["check", "config", "prometheus.yml"]);
    promtool(&dossier, &["check", "rules", "alertes.yml"]);
    let tests = promtool(&dossier, &["test", "rules", "alertes.test.yml"]);
    assert!(tests.contains("SUCCESS"), "{tests}");

    let banc = Banc::demarrer(&pool).await;
    let compte = banc.compte("olga").await;
    let joueur_id = banc.personnage(&compte.jeton, "Olga", "Heal").await;
    // A steady little load while Prometheus scrapes: reads, a step, and a refused call (so
    // that the panel of refusals by code has a series).
    let (arret, mut fin) = watch::channel(false);
    let charge = {
        let http = banc.http.clone();
        let base = banc.base.clone();
        let jeton = compte.jeton.clone();
        tokio::spawn(async move {
            let appels = [
                json!({"jsonrpc": "2.0", "id": 1, "method": "joueur.lister", "params": {}}),
                json!({"jsonrpc": "2.0", "id": 2, "method": "joueur.profil", "params": {"joueur_id": joueur_id}}),
                json!({"jsonrpc": "2.0", "id": 3, "method": "monde.zone", "params": {"joueur_id": joueur_id}}),
                json!({"jsonrpc": "2.0", "id": 4, "method": "joueur.profil", "params": {"joueur_id": uuid::Uuid::nil()}}),
            ];
            let mut tour = 0_usize;
            while !*fin.borrow_and_update() {
                let _ = http
                    .post(format!("{base}/rpc"))
                    .bearer_auth(&jeton)
                    .json(&appels[tour % appels.len()])
                    .send()
                    .await;
                tour += 1;
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(25)) => {}
                    _ = fin.changed() => {}
                }
            }
        })
    };

    let cible = banc.base.trim_start_matches("http://").to_owned();
    let prometheus = Prometheus::demarrer(&cible);
    let http = reqwest::Client::new();
    // Ready, then enough scrapes for every `rate` (two samples in its window, with calls
    // between them) and every rule evaluated.
    let debut = Instant::now();
    loop {
        let pret = http
            .get(format!("{}/-/ready", prometheus.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        let releves = if pret {
            prometheus
                .series(&http, "count_over_time(up{job=\"mmo\"}[1m])")
                .await
                .first()
                .and_then(|s| s["value"][1].as_str()?.parse::<f64>().ok())
                .unwrap_or(0.0)
        } else {
            0.0
        };
        if releves >= 6.0 {
            break;
        }
        assert!(
            debut.elapsed() < PATIENCE * 2,
            "Prometheus n'a pas relevé le serveur 6 fois (prêt : {pret}, relevés : {releves})"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let up = prometheus.series(&http, "up{job=\"mmo\"}").await;
    assert_eq!(up.len(), 1, "{up:?}");
    assert_eq!(up[0]["value"][1], "1", "le serveur est relevé : {up:?}");

    // Every panel's query returns series.
    let tableau: Value = serde_json::from_str(
        &std::fs::read_to_string(exploitation().join("grafana/mmo.json")).expect("mmo.json"),
    )
    .expect("le tableau de bord est du JSON");
    let panneaux = tableau["panels"].as_array().expect("panels");
    assert!(panneaux.len() >= 10, "{} panneaux", panneaux.len());
    let mut vides = Vec::new();
    let mut requetes = 0;
    for panneau in panneaux {
        for cible in panneau["targets"].as_array().expect("targets") {
            let expr = cible["expr"].as_str().expect("expr");
            requetes += 1;
            if prometheus.series(&http, expr).await.is_empty() {
                vides.push(format!("{} : {expr}", panneau["title"]));
            }
        }
    }
    assert!(
        vides.is_empty(),
        "panneaux sans série :\n{}",
        vides.join("\n")
    );

    // Every alert is loaded, evaluates without error, and its measure returns series.
    let regles = prometheus.api(&http, "rules", &[("type", "alert")]).await;
    let alertes: Vec<&Value> = regles["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules"))
        .collect();
    assert_eq!(
        alertes.len(),
        7,
        "toutes les alertes d'alertes.yml sont chargées"
    );
    for alerte in &alertes {
        let nom = alerte["name"].as_str().expect("name");
        assert_eq!(alerte["health"], "ok", "{nom} : {alerte}");
        let m = mesure(nom, alerte["query"].as_str().expect("query"));
        let series = prometheus.series(&http, &m).await;
        assert!(
            !series.is_empty(),
            "{nom} : la mesure « {m} » ne rend aucune série"
        );
        // Nothing is wrong with this server: no alert fires (a slow debug build may make one
        // pending, never firing within these seconds).
        assert_ne!(alerte["state"], "firing", "{nom} : {alerte}");
    }
    eprintln!(
        "{requetes} requêtes de panneaux et {} alertes vérifiées en {:.1?}",
        alertes.len(),
        debut.elapsed()
    );

    let _ = arret.send(true);
    let _ = charge.await;
    drop(prometheus);
    banc.arreter().await;
}

#[test]
fn la_mesure_d_une_alerte_est_son_expression_sans_le_seuil() {
    assert_eq!(
        mesure(
            "A",
            "max by (projection) (mmo_projection_retard_millisecondes) > 5000"
        ),
        "max by (projection) (mmo_projection_retard_millisecondes)"
    );
    assert_eq!(mesure("B", "up{job=\"mmo\"} == 0"), "up{job=\"mmo\"}");
}

#[test]
#[should_panic(expected = "doit finir par")]
fn une_alerte_sans_seuil_final_est_refusee() {
    let _ = mesure("C", "absent(up{job=\"mmo\"})");
}
