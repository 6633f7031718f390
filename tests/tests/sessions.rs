//! Sessions and sockets: refresh tokens rotate and a replayed one revokes its family, logins
//! and calls are rate limited, sockets authenticate, expire, refuse foreign origins, receive
//! their pushes and catch up after a reconnect; health, metrics and OpenAPI answer.

use std::time::Duration;

use mmo_tests::{Banc, ClientWs, Fermeture, ORIGINE, PATIENCE, code, passerelle_de_test};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn les_jetons_de_rafraichissement_tournent_et_un_rejeu_revoque_la_famille(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let compte = banc.compte("carole").await;
    let ancien = json!({ "jeton_rafraichissement": compte.rafraichissement });
    let (statut, session) = banc.post("/api/sessions/rafraichir", &ancien).await;
    assert_eq!(statut, StatusCode::OK, "{session}");
    let nouveau = json!({ "jeton_rafraichissement": session["jeton_rafraichissement"] });
    assert_ne!(ancien, nouveau);
    let jeton = session["jeton_acces"].as_str().expect("jeton");
    assert!(banc.appel(jeton, "joueur.lister", json!({})).await.is_ok());

    // The client goes on with its new token...
    let (statut, session) = banc.post("/api/sessions/rafraichir", &nouveau).await;
    assert_eq!(statut, StatusCode::OK, "{session}");
    let dernier = json!({ "jeton_rafraichissement": session["jeton_rafraichissement"] });

    // ...and the spent token comes again, its successor already used: a theft, even within
    // the grace. The family dies, the latest token with it.
    assert_eq!(
        banc.post_refuse("/api/sessions/rafraichir", &ancien).await,
        (StatusCode::UNAUTHORIZED, "JETON_REUTILISE".to_owned())
    );
    assert_eq!(
        banc.post_refuse("/api/sessions/rafraichir", &dernier).await,
        (StatusCode::UNAUTHORIZED, "JETON_INVALIDE".to_owned())
    );

    // A new login, then a logout: its refresh token is dead.
    let identifiants = json!({ "login": "carole", "mot_de_passe": compte.mot_de_passe });
    let (_, session) = banc.post("/api/sessions", &identifiants).await;
    let corps = json!({ "jeton_rafraichissement": session["jeton_rafraichissement"] });
    let r = banc
        .http
        .delete(format!("{}/api/sessions", banc.base))
        .json(&corps)
        .send()
        .await
        .expect("déconnexion");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (statut, _) = banc.post("/api/sessions/rafraichir", &corps).await;
    assert_eq!(statut, StatusCode::UNAUTHORIZED);
    let invente = json!({ "jeton_rafraichissement": "inventé" });
    assert_eq!(
        banc.post_refuse("/api/sessions/rafraichir", &invente).await,
        (StatusCode::UNAUTHORIZED, "JETON_INVALIDE".to_owned())
    );
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn un_rafraichissement_dont_la_reponse_s_est_perdue_se_refait_une_fois(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let compte = banc.compte("denis").await;
    let ancien = json!({ "jeton_rafraichissement": compte.rafraichissement });
    // A refresh whose answer never reached the client (the page reloaded meanwhile)...
    let (statut, perdue) = banc.post("/api/sessions/rafraichir", &ancien).await;
    assert_eq!(statut, StatusCode::OK, "{perdue}");
    let perdu = json!({ "jeton_rafraichissement": perdue["jeton_rafraichissement"] });
    // ...so the client sends the same token again, within the grace: a new pair, not a
    // revoked family,
    let (statut, session) = banc.post("/api/sessions/rafraichir", &ancien).await;
    assert_eq!(statut, StatusCode::OK, "{session}");
    let jeton = session["jeton_acces"].as_str().expect("jeton");
    assert!(banc.appel(jeton, "joueur.lister", json!({})).await.is_ok());
    // and the successor it never saw is dead, so one live token remains.
    assert_eq!(
        banc.post_refuse("/api/sessions/rafraichir", &perdu).await,
        (StatusCode::UNAUTHORIZED, "JETON_INVALIDE".to_owned())
    );
    let actuel = json!({ "jeton_rafraichissement": session["jeton_rafraichissement"] });
    let (statut, session) = banc.post("/api/sessions/rafraichir", &actuel).await;
    assert_eq!(statut, StatusCode::OK, "{session}");
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn les_connexions_et_les_appels_sont_limites(pool: PgPool) {
    let mut reglages = passerelle_de_test();
    reglages.connexions_par_minute = 3;
    reglages.appels_par_seconde = 1;
    let banc = Banc::demarrer_avec(&pool, reglages).await;
    let compte = banc.compte("denis").await; // 2 attempts: the registration and the login
    let faux = json!({ "login": "denis", "mot_de_passe": "pas le bon mot de passe" });
    let (statut, _) = banc.post("/api/sessions", &faux).await;
    assert_eq!(statut, StatusCode::UNAUTHORIZED);
    let r = banc
        .http
        .post(format!("{}/api/sessions", banc.base))
        .json(&faux)
        .send()
        .await
        .expect("requête");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());

    // A burst of two calls, then the bucket is empty.
    let mut refus = None;
    for _ in 0..4 {
        if let Err(e) = banc.appel(&compte.jeton, "joueur.lister", json!({})).await {
            refus = Some(e);
            break;
        }
    }
    let refus = refus.expect("une rafale finit refusée");
    assert_eq!(
        (refus["code"].as_i64(), code(&refus)),
        (Some(-32029), "TROP_DE_REQUETES")
    );
    assert!(
        refus["data"]["reessayer_dans_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 0)
    );
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn une_socket_s_authentifie_recoit_ses_evenements_et_rattrape_ce_qu_elle_a_manque(
    pool: PgPool,
) {
    let banc = Banc::demarrer(&pool).await;
    let compte = banc.compte("emile").await;
    let url = format!("ws://{}/ws", banc.serveur.adresse);

    // A foreign origin, a bad token: the upgrade is refused.
    let refus = ClientWs::connecter(&url, Some("http://pirate.exemple"))
        .await
        .err();
    assert_eq!(refus.map(|(s, _)| s), Some(403));
    let refus = ClientWs::connecter(&format!("{url}?jeton=faux"), Some(ORIGINE))
        .await
        .err();
    assert_eq!(refus.map(|(s, _)| s), Some(401));

    // No token yet: only `session.authentifier` works.
    let mut ws = ClientWs::connecter(&url, None)
        .await
        .expect("socket sans Origin (un script)");
    let e = ws
        .appel("joueur.lister", json!({}))
        .await
        .expect_err("pas encore authentifiée");
    assert_eq!(code(&e), "NON_AUTHENTIFIE");
    let e = ws
        .appel("session.authentifier", json!({ "jeton": "faux" }))
        .await
        .expect_err("faux jeton");
    assert_eq!(code(&e), "JETON_INVALIDE");
    let qui = ws
        .appel("session.authentifier", json!({ "jeton": compte.jeton }))
        .await
        .expect("authentifiée");
    assert_eq!(qui["compte_id"], json!(compte.compte_id));
    let depart = ws
        .appel("evenements.depuis", json!({}))
        .await
        .expect("curseur")["curseur"]
        .clone();

    // A command sent over HTTP is pushed to the socket.
    let joueur = banc
        .appel(
            &compte.jeton,
            "joueur.creer",
            json!({ "nom": "Emilien", "classe": "DPS" }),
        )
        .await
        .expect("créé")["joueur_id"]
        .clone();
    ws.attendre_evenements("JoueurCree poussé", |n| {
        n.iter()
            .any(|n| n["params"]["type"] == "JoueurCree" && n["params"]["id"] == joueur)
    })
    .await;
    drop(ws);

    // Away: a purchase. Back: what was missed, in order, from the cursor.
    let achat = json!({
        "joueur_id": joueur, "marchand": "apothicaire_mirabelle", "item": "pain", "quantite": 2
    });
    banc.appel(&compte.jeton, "inventaire.acheter", achat)
        .await
        .expect("achat");
    // On the new socket, as a client catches up (doc/protocole.md §6.3): the missed events
    // come through the socket itself, not from another channel.
    let mut ws = banc.ws(Some(&compte.jeton)).await;
    let fin = tokio::time::Instant::now() + PATIENCE;
    let rattrapage = loop {
        let r = ws
            .appel("evenements.depuis", json!({ "curseur": depart }))
            .await
            .expect("rattrapage sur la socket");
        let types: Vec<String> = r["evenements"]
            .as_array()
            .expect("liste")
            .iter()
            .filter_map(|e| e["type"].as_str().map(str::to_owned))
            .collect();
        if types.iter().any(|t| t == "OrDebite") {
            break (r, types);
        }
        assert!(
            tokio::time::Instant::now() < fin,
            "les événements manqués ne viennent pas : {types:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (r, types) = rattrapage;
    assert_eq!(
        types.first().map(String::as_str),
        Some("JoueurCree"),
        "{types:?}"
    );
    assert!(types.contains(&"InventaireOuvert".to_owned()), "{types:?}");
    assert_eq!(r["a_jour"], true);
    // Another account sees none of it.
    let autre = banc.compte("intrus").await;
    let rien = banc
        .appel(
            &autre.jeton,
            "evenements.depuis",
            json!({ "curseur": depart }),
        )
        .await
        .expect("rattrapage d'un autre");
    assert_eq!(rien["evenements"], json!([]));
    assert!(ws.appel("joueur.lister", json!({})).await.is_ok());
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn une_socket_se_ferme_quand_son_jeton_expire(pool: PgPool) {
    let mut reglages = passerelle_de_test();
    reglages.duree_acces_s = 2;
    let banc = Banc::demarrer_avec(&pool, reglages).await;
    let compte = banc.compte("fanny").await;
    let mut ws = banc.ws(Some(&compte.jeton)).await;
    assert!(ws.appel("joueur.lister", json!({})).await.is_ok());
    assert_eq!(
        ws.attendre_fermeture(Duration::from_secs(10)).await,
        Fermeture::Code(4401)
    );
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn sante_metriques_et_openapi_repondent(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let compte = banc.compte("gaston").await;
    let _ = banc.appel(&compte.jeton, "joueur.lister", json!({})).await;
    let get = |chemin: &str| banc.http.get(format!("{}{chemin}", banc.base)).send();
    assert_eq!(
        get("/healthz").await.expect("healthz").status(),
        StatusCode::OK
    );
    let pret: Value = get("/readyz")
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    assert_eq!(
        pret,
        json!({ "postgresql": "ok", "redis": "ok", "nats": "ok" })
    );
    let texte = get("/metrics")
        .await
        .expect("metrics")
        .text()
        .await
        .expect("texte");
    assert!(
        texte.contains(r#"mmo_rpc_appels_total{methode="joueur.lister",issue="ok"} 1"#),
        "{texte}"
    );
    assert!(texte.contains("mmo_projection_retard_evenements{projection=\"joueurs\"}"));
    let doc: Value = get("/api/openapi.json")
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    for chemin in [
        "/api/comptes",
        "/api/sessions",
        "/api/sessions/rafraichir",
        "/readyz",
    ] {
        assert!(doc["paths"][chemin].is_object(), "{chemin} documenté");
    }
    // The JSON-RPC half: every method of the dispatcher's table, with its result and errors
    // (scripts/contrat.sh validates the document and drives a contract test from it).
    let openrpc: Value = get("/api/openrpc.json")
        .await
        .expect("openrpc")
        .json()
        .await
        .expect("json");
    assert_eq!(openrpc["openrpc"], "1.3.2");
    let noms: Vec<&str> = openrpc["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    for m in gateway::rpc::Methode::TOUTES {
        assert!(noms.contains(&m.nom()), "{} documentée", m.nom());
    }
    banc.arreter().await;
}

/// `promtool check metrics` on an exposition: its complaints, or why it could not run.
fn promtool(texte: &str) -> Result<String, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut outil = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    outil
        .stdin
        .take()
        .expect("stdin")
        .write_all(texte.as_bytes())
        .map_err(|e| e.to_string())?;
    let sortie = outil.wait_with_output().map_err(|e| e.to_string())?;
    let plaintes = format!(
        "{}{}",
        String::from_utf8_lossy(&sortie.stdout),
        String::from_utf8_lossy(&sortie.stderr)
    );
    Ok(if sortie.status.success() {
        String::new()
    } else {
        plaintes
    })
}

#[sqlx::test(migrations = "../migrations")]
async fn les_metriques_parlent_openmetrics_et_le_texte_classique_sans_plainte_de_promtool(
    pool: PgPool,
) {
    let banc = Banc::demarrer(&pool).await;
    let compte = banc.compte("hector").await;
    let _ = banc.appel(&compte.jeton, "joueur.lister", json!({})).await;
    let _ = banc.appel(&compte.jeton, "joueur.profil", json!({})).await;
    let lire = |accept: Option<&'static str>| {
        let mut requete = banc.http.get(format!("{}/metrics", banc.base));
        if let Some(a) = accept {
            requete = requete.header("accept", a);
        }
        async move {
            let r = requete.send().await.expect("metrics");
            let genre = r.headers()["content-type"]
                .to_str()
                .expect("content-type")
                .to_owned();
            (genre, r.text().await.expect("texte"))
        }
    };
    let (genre, openmetrics) = lire(None).await;
    assert!(genre.starts_with("application/openmetrics-text"), "{genre}");
    assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
    let (genre, _) = lire(Some("application/openmetrics-text; version=1.0.0")).await;
    assert!(genre.starts_with("application/openmetrics-text"), "{genre}");
    let (genre, texte) = lire(Some("text/plain; version=0.0.4")).await;
    assert_eq!(genre, "text/plain; version=0.0.4; charset=utf-8");
    assert!(
        texte.contains("# TYPE mmo_rpc_appels_total counter")
            && texte.contains(r#"mmo_rpc_appels_total{methode="joueur.lister",issue="ok"} 1"#),
        "{texte}"
    );
    match promtool(&texte) {
        Ok(plaintes) => assert!(plaintes.is_empty(), "promtool check metrics :\n{plaintes}"),
        // scripts/test.sh installs Debian's `prometheus` (promtool) first, so CI never skips.
        Err(e) => eprintln!(
            "\n!!! promtool introuvable ({e}) : le format texte n'est PAS vérifié par promtool ; \
             installez-le (apt-get install prometheus) ou lancez scripts/test.sh\n"
        ),
    }
    banc.arreter().await;
}
