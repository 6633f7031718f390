//! Services Monde and Chat through two gateway instances sharing one database, one Redis
//! prefix and one bus: a move and a zone message sent through instance A reach a player
//! connected to instance B, a player in another zone receives neither, a whisper reaches only
//! its recipient, a non-member cannot read a party's history, and bad params get their
//! JSON-RPC error. The speed rule against real clients: one that steps as fast as it can
//! ends no farther than the speed and the burst allow, one that walks just under the speed
//! is never refused.

use std::collections::VecDeque;

use domain::ids::JoueurId;
use mmo_tests::{Banc, ClientWs, code, de_methode};
use serde_json::{Value, json};
use sqlx::PgPool;

async fn personnage(banc: &Banc, jeton: &str, nom: &str) -> JoueurId {
    let id: JoueurId =
        serde_json::from_value(banc.personnage(jeton, nom, "DPS").await).expect("id");
    // Until the process manager reacting to `JoueurCree` lands, the test places it.
    banc.serveur
        .passerelle
        .monde
        .placer_au_depart(id)
        .await
        .expect("placement");
    id
}

/// The moves in the `monde.deplacements` batches received.
fn deplacements(notifications: &VecDeque<Value>) -> Vec<&Value> {
    de_methode(notifications, "monde.deplacements")
        .into_iter()
        .flat_map(|n| n["params"]["deplacements"].as_array().into_iter().flatten())
        .collect()
}

/// Waits for a `chat.message` with this text.
async fn attendre_message(ws: &mut ClientWs, texte: &str) {
    ws.attendre_evenements(texte, |n| {
        de_methode(n, "chat.message")
            .iter()
            .any(|m| m["params"]["texte"] == texte)
    })
    .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn deplacements_et_messages_traversent_les_instances_et_restent_entre_membres(pool: PgPool) {
    let a = Banc::demarrer(&pool).await;
    let b = a.jumeau(&pool).await;
    let (alice, bruno, carla, dora) = (
        a.compte("alice").await,
        a.compte("bruno").await,
        a.compte("carla").await,
        a.compte("dora").await,
    );
    let ja = personnage(&a, &alice.jeton, "Alicia").await;
    let jb = personnage(&a, &bruno.jeton, "Brunor").await;
    let jc = personnage(&a, &carla.jeton, "Carlita").await;
    let jd = personnage(&a, &dora.jeton, "Dorane").await;

    // Carla goes to the forest first, over HTTP: level 2, placed at the portal, the portal.
    // 100 XP: level 2, the portal's level.
    a.gagner_xp(carla.compte_id, jc, 100).await;
    b.placer(json!(jc), "plaine_verte", 194.0, 100.0).await;
    let arrivee = b
        .appel(
            &carla.jeton,
            "monde.changer_zone",
            json!({ "joueur_id": jc, "vers": "foret_sombre" }),
        )
        .await
        .expect("portail");
    assert_eq!(arrivee["zone"], "foret_sombre");

    // Bruno and Carla on instance B, Alice and Dora on instance A, each looking at its zone.
    let mut ws_b = b.ws(Some(&bruno.jeton)).await;
    let mut ws_c = b.ws(Some(&carla.jeton)).await;
    let mut ws_a = a.ws(Some(&alice.jeton)).await;
    let mut ws_d = a.ws(Some(&dora.jeton)).await;
    for (ws, j) in [
        (&mut ws_b, jb),
        (&mut ws_c, jc),
        (&mut ws_a, ja),
        (&mut ws_d, jd),
    ] {
        ws.appel("monde.zone", json!({ "joueur_id": j }))
            .await
            .expect("vue de la zone");
    }
    let vue = ws_a
        .appel("monde.zone", json!({ "joueur_id": ja }))
        .await
        .expect("vue");
    assert_eq!(vue["zone"]["code"], "plaine_verte");
    assert_eq!(
        (&vue["zone"]["largeur"], &vue["zone"]["hauteur"]),
        (&json!(1000.0), &json!(1000.0))
    );
    assert_eq!(vue["zone"]["portails"][0]["vers"], "foret_sombre");
    let plaine = domain::valeurs::CodeZone::parse("plaine_verte").expect("code");
    let depart = a
        .serveur
        .passerelle
        .monde
        .catalogue()
        .zone(&plaine)
        .map(|z| z.depart);
    assert_eq!(
        vue["zone"]["depart"],
        json!(depart.expect("zone au catalogue"))
    );
    assert_eq!(vue["presents"].as_array().map(Vec::len), Some(3), "{vue}");

    // Alice moves and speaks in her zone, through A.
    ws_a.appel(
        "monde.deplacer",
        json!({ "joueur_id": ja, "x": 101.0, "y": 100.0 }),
    )
    .await
    .expect("pas");
    ws_a.appel(
        "chat.envoyer",
        json!({ "joueur_id": ja, "canal": { "type": "zone" }, "texte": "bonjour la plaine" }),
    )
    .await
    .expect("message de zone");
    ws_a.appel(
        "chat.envoyer",
        json!({ "joueur_id": ja, "canal": { "type": "prive", "destinataire": jb }, "texte": "psst" }),
    )
    .await
    .expect("message privé");
    ws_a.appel(
        "chat.envoyer",
        json!({ "joueur_id": ja, "canal": { "type": "monde" }, "texte": "à tous" }),
    )
    .await
    .expect("message à tous");

    // Bruno, on B, gets all of it.
    ws_b.attendre_evenements("le pas d'Alicia", |n| {
        deplacements(n)
            .iter()
            .any(|d| d["joueur_id"] == json!(ja) && d["position"]["x"] == 101.0)
    })
    .await;
    for texte in ["bonjour la plaine", "psst", "à tous"] {
        attendre_message(&mut ws_b, texte).await;
    }
    // Dora, on A, in the plain: the move and the zone message, not the whisper.
    attendre_message(&mut ws_d, "à tous").await;
    let textes_d: Vec<&Value> = de_methode(&ws_d.notifications, "chat.message")
        .iter()
        .map(|m| &m["params"]["texte"])
        .collect();
    assert_eq!(textes_d, vec!["bonjour la plaine", "à tous"]);
    ws_d.attendre_evenements("le pas d'Alicia, vu de A", |n| !deplacements(n).is_empty())
        .await;
    // Carla, on B, in the forest: only the message to everyone. Pushes from one instance
    // arrive in order: once "à tous" is in, no message published before it can still come.
    // The moves go out at the next tick, after the messages: B pushed them to its sockets
    // before Bruno saw them, so an answer Carla gets after that comes after them too.
    attendre_message(&mut ws_c, "à tous").await;
    ws_c.appel("classement.consulter", json!({}))
        .await
        .expect("un aller-retour après le tick");
    let textes_c: Vec<&Value> = de_methode(&ws_c.notifications, "chat.message")
        .iter()
        .map(|m| &m["params"]["texte"])
        .collect();
    assert_eq!(textes_c, vec!["à tous"]);
    assert!(
        !deplacements(&ws_c.notifications)
            .iter()
            .any(|d| d["joueur_id"] == json!(ja)),
        "{:?}",
        ws_c.notifications
    );

    // The history, through B: the zone's for Bruno, the whisper for its pair only.
    let zone = ws_b
        .appel(
            "chat.historique",
            json!({ "joueur_id": jb, "canal": { "type": "zone" } }),
        )
        .await
        .expect("historique");
    assert_eq!(zone["messages"][0]["texte"], "bonjour la plaine");
    let foret = ws_c
        .appel(
            "chat.historique",
            json!({ "joueur_id": jc, "canal": { "type": "zone" } }),
        )
        .await
        .expect("historique");
    assert_eq!(foret["messages"], json!([]));

    // A party's history is for its participants.
    let combat = ws_a
        .appel(
            "combat.demarrer",
            json!({ "joueur_id": ja, "rencontre": "meute_de_loups" }),
        )
        .await
        .expect("combat");
    let groupe = json!({ "type": "groupe", "combat_id": combat["combat_id"] });
    ws_a.appel(
        "chat.envoyer",
        json!({ "joueur_id": ja, "canal": groupe, "texte": "en position" }),
    )
    .await
    .expect("message de groupe");
    let e = ws_c
        .appel(
            "chat.historique",
            json!({ "joueur_id": jc, "canal": groupe }),
        )
        .await
        .expect_err("pas membre");
    assert_eq!(code(&e), "PAS_MEMBRE");
    assert_eq!(e["code"], -32010);

    // Bad input: the JSON-RPC errors, never a failure of the server.
    for (methode, params, attendu) in [
        (
            "monde.deplacer",
            json!({ "joueur_id": ja, "x": "loin", "y": 1 }),
            "PARAMETRES_INVALIDES",
        ),
        (
            "monde.deplacer",
            json!({ "joueur_id": ja, "x": 1, "y": 1, "z": 0 }),
            "PARAMETRES_INVALIDES",
        ),
        (
            "monde.deplacer",
            json!({ "joueur_id": ja, "x": 190.0, "y": 190.0 }),
            "TROP_RAPIDE",
        ),
        (
            "monde.deplacer",
            json!({ "joueur_id": jb, "x": 100.0, "y": 100.0 }),
            "INTERDIT",
        ),
        (
            "monde.changer_zone",
            json!({ "joueur_id": ja, "vers": "foret_sombre" }),
            "LOIN_DU_PORTAIL",
        ),
        (
            "monde.changer_zone",
            json!({ "joueur_id": ja, "vers": "Nulle Part" }),
            "PARAMETRES_INVALIDES",
        ),
        (
            "monde.proches",
            json!({ "joueur_id": ja, "rayon": -1 }),
            "PARAMETRES_INVALIDES",
        ),
        (
            "chat.envoyer",
            json!({ "joueur_id": ja, "canal": { "type": "guilde" }, "texte": "x" }),
            "PARAMETRES_INVALIDES",
        ),
        (
            "chat.envoyer",
            json!({ "joueur_id": ja, "canal": { "type": "monde" }, "texte": "\u{7}" }),
            "MESSAGE_VIDE",
        ),
        (
            "chat.historique",
            json!({ "joueur_id": ja, "canal": { "type": "monde" }, "avant": "x" }),
            "CURSEUR_INVALIDE",
        ),
        (
            "chat.historique",
            json!({ "joueur_id": ja, "canal": { "type": "monde" }, "limite": 0 }),
            "PARAMETRES_INVALIDES",
        ),
        (
            "chat.museler",
            json!({ "joueur_id": jb, "duree_s": 60, "raison": "spam" }),
            "INTERDIT",
        ),
        (
            "monde.placer",
            json!({ "joueur_id": ja, "zone": "plaine_verte", "x": 190.0, "y": 190.0 }),
            "INTERDIT",
        ),
    ] {
        let e = ws_a
            .appel(methode, params.clone())
            .await
            .expect_err(methode);
        assert_eq!(code(&e), attendu, "{methode} {params} : {e}");
    }
    // A cursor that is no message id is a bad parameter (-32602), not a refusal of the game;
    // the party channel of a combat that does not exist names nothing (-32004, genre combat).
    let e = ws_a
        .appel(
            "chat.historique",
            json!({ "joueur_id": ja, "canal": { "type": "monde" }, "avant": "x" }),
        )
        .await
        .expect_err("curseur");
    assert_eq!(
        (e["code"].clone(), code(&e)),
        (json!(-32602), "CURSEUR_INVALIDE"),
        "{e}"
    );
    let inconnu = json!({ "type": "groupe", "combat_id": "00000000-0000-4000-8000-000000000000" });
    let e = ws_a
        .appel(
            "chat.envoyer",
            json!({ "joueur_id": ja, "canal": inconnu, "texte": "allo" }),
        )
        .await
        .expect_err("groupe inconnu");
    assert_eq!(
        (e["code"].clone(), code(&e)),
        (json!(-32004), "INTROUVABLE"),
        "{e}"
    );
    assert_eq!(e["data"]["genre"], "combat", "{e}");

    // A refused step says where the character stands: the client snaps back to it.
    let e = ws_a
        .appel(
            "monde.deplacer",
            json!({ "joueur_id": ja, "x": 190.0, "y": 190.0 }),
        )
        .await
        .expect_err("trop loin");
    assert_eq!(
        (&e["data"]["zone"], &e["data"]["position"]),
        (&json!("plaine_verte"), &json!({ "x": 101.0, "y": 100.0 })),
        "{e}"
    );

    // Near: Dora stands where Alice started, 1 m away.
    let proches = ws_a
        .appel("monde.proches", json!({ "joueur_id": ja }))
        .await
        .expect("proches");
    let ids: Vec<&Value> = proches["proches"]
        .as_array()
        .expect("liste")
        .iter()
        .map(|p| &p["joueur_id"])
        .collect();
    assert!(
        ids.contains(&&json!(jd)) && ids.contains(&&json!(jb)),
        "{proches}"
    );

    // Muting by an admin, by name, through B.
    b.promouvoir("dora", true).await;
    let jeton_admin = b.connecter("dora", &dora.mot_de_passe).await.jeton;
    let r = b
        .appel(
            &jeton_admin,
            "chat.museler",
            json!({ "nom": "brunor", "duree_s": 60, "raison": "insultes répétées" }),
        )
        .await
        .expect("muselé");
    assert_eq!(r["joueur_id"], json!(jb));
    let e = ws_b
        .appel(
            "chat.envoyer",
            json!({ "joueur_id": jb, "canal": { "type": "monde" }, "texte": "hé" }),
        )
        .await
        .expect_err("muet");
    assert_eq!(code(&e), "MUET");

    // Bruno leaves: his last step reaches PostgreSQL (on the socket's close; the periodic
    // write would too, within 2 s: `commands/tests/monde.rs` tests `quitter` alone).
    ws_b.appel(
        "monde.deplacer",
        json!({ "joueur_id": jb, "x": 99.0, "y": 100.0 }),
    )
    .await
    .expect("pas");
    drop(ws_b);
    b.attendre("la position de Brunor en base", || async {
        let x: Option<(f64,)> = sqlx::query_as("SELECT x FROM positions WHERE joueur_id = $1")
            .bind(jb.uuid())
            .fetch_optional(&pool)
            .await
            .expect("lecture");
        (x == Some((99.0,))).then_some(())
    })
    .await;

    b.arreter().await;
    a.arreter().await;
}

/// The catalog's rules of moving.
fn regle() -> domain::catalogue::RegleDeplacement {
    *domain::Catalogue::officiel()
        .expect("catalogue")
        .deplacement()
}

/// `(x, y)` of a `{"x", "y"}`.
fn xy(position: &Value) -> (f64, f64) {
    (
        position["x"].as_f64().expect("x"),
        position["y"].as_f64().expect("y"),
    )
}

#[sqlx::test(migrations = "../migrations")]
async fn un_client_qui_court_sans_arret_ne_va_pas_plus_loin_que_la_vitesse_et_la_rafale(
    pool: PgPool,
) {
    let banc = Banc::demarrer(&pool).await;
    let eve = banc.compte("eve").await;
    let je = personnage(&banc, &eve.jeton, "Evasion").await;
    let mut ws = banc.ws(Some(&eve.jeton)).await;
    ws.appel("monde.zone", json!({ "joueur_id": je }))
        .await
        .expect("zone");
    let debut = std::time::Instant::now();
    banc.placer(json!(je), "plaine_verte", 20.0, 50.0).await;

    // Steps of 1.9 m east, as fast as the answers come, for 5 s, each from where the server
    // says the character stands (the result, or the refusal's data). The rate limit (1,000
    // calls a second on test servers) may answer some: they are no step.
    let (mut x, mut y) = (20.0, 50.0);
    let (mut acceptes, mut refuses, mut limites) = (0_u32, 0_u32, 0_u32);
    while debut.elapsed() < std::time::Duration::from_secs(5) {
        match ws
            .appel(
                "monde.deplacer",
                json!({ "joueur_id": je, "x": x + 1.9, "y": y }),
            )
            .await
        {
            Ok(r) => {
                (x, y) = xy(&r["position"]);
                acceptes += 1;
            }
            Err(e) if code(&e) == "TROP_DE_REQUETES" => limites += 1,
            Err(e) => {
                assert_eq!(code(&e), "TROP_RAPIDE", "{e}");
                assert_eq!(e["data"]["zone"], "plaine_verte", "{e}");
                (x, y) = xy(&e["data"]["position"]);
                refuses += 1;
            }
        }
    }
    let duree = debut.elapsed().as_secs_f64();
    let borne = regle().vitesse_max * duree + regle().plafond();
    eprintln!(
        "{acceptes} pas acceptés, {refuses} refusés, {limites} limités, {:.1} m en {duree:.2} s (borne {borne:.1} m)",
        x - 20.0
    );
    assert!(refuses > 0, "jamais refusé");
    assert!(
        x - 20.0 <= borne,
        "{} m en {duree:.2} s : plus que {borne:.1} m",
        x - 20.0
    );
    assert!(
        x - 20.0 <= regle().vitesse_max * 5.0 + regle().plafond() + regle().vitesse_max * 0.5,
        "{} m",
        x - 20.0
    );
    // The client's picture is the server's (once the sprint's calls leave the rate limit).
    let vue = loop {
        match ws.appel("monde.zone", json!({ "joueur_id": je })).await {
            Err(e) if code(&e) == "TROP_DE_REQUETES" => {
                let attente = e["data"]["reessayer_dans_ms"].as_u64().unwrap_or(10);
                tokio::time::sleep(std::time::Duration::from_millis(attente.max(1))).await;
            }
            r => break r.expect("zone"),
        }
    };
    assert_eq!(xy(&vue["position"]), (x, y));

    // Counted by reason, and the account logged as a security event once per window.
    let metriques = banc.metriques().await;
    assert!(
        metriques.contains(&format!(
            r#"mmo_deplacements_refuses_total{{raison="TROP_RAPIDE"}} {refuses}"#
        )),
        "{metriques}"
    );
    assert!(
        metriques.contains("mmo_deplacements_refus_soutenus_total 1"),
        "{metriques}"
    );
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn un_client_qui_marche_a_95_pour_cent_de_la_vitesse_n_est_jamais_refuse(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let fred = banc.compte("fred").await;
    let jf = personnage(&banc, &fred.jeton, "Flaneur").await;
    let mut ws = banc.ws(Some(&fred.jeton)).await;
    banc.placer(json!(jf), "plaine_verte", 20.0, 100.0).await;

    // For 30 s, a step every 200 ms at 95 % of the speed, back and forth across the plain.
    // Each step is sent at its time or, if the client fell behind, at once.
    let periode = std::time::Duration::from_millis(200);
    let longueur = 0.95 * regle().vitesse_max * periode.as_secs_f64();
    let (mut x, mut sens) = (20.0, 1.0);
    let debut = tokio::time::Instant::now();
    for n in 1..=150_u32 {
        tokio::time::sleep_until(debut + periode * n).await;
        if !(20.0..=180.0).contains(&(x + sens * longueur)) {
            sens = -sens;
        }
        x += sens * longueur;
        let r = ws
            .appel(
                "monde.deplacer",
                json!({ "joueur_id": jf, "x": x, "y": 100.0 }),
            )
            .await;
        assert!(r.is_ok(), "pas {n} refusé : {r:?}");
    }
    banc.arreter().await;
}
