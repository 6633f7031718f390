//! Services Monde and Chat through two gateway instances sharing one database, one Redis
//! prefix and one bus: a move and a zone message sent through instance A reach a player
//! connected to instance B, a player in another zone receives neither, a whisper reaches only
//! its recipient, a non-member cannot read a party's history, and bad params get their
//! JSON-RPC error.

use std::collections::VecDeque;

use chrono::Utc;
use domain::ids::{CompteId, JoueurId};
use domain::joueur::{CommandeJoueur, Joueur, SourceXp};
use domain::valeurs::CodeQuete;
use magasin::Metadonnees;
use mmo_tests::{Banc, ClientWs, code};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

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

fn de_methode<'n>(notifications: &'n VecDeque<Value>, methode: &str) -> Vec<&'n Value> {
    notifications
        .iter()
        .filter(|n| n["method"] == methode)
        .collect()
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

    // Carla goes to the forest first, over HTTP: level 2, a walk to the portal, the portal.
    let meta = Metadonnees::pour_compte(
        CompteId::from_uuid(carla.compte_id),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Utc::now(),
    );
    let xp = CommandeJoueur::GagnerXp {
        source: SourceXp::Quete(CodeQuete::parse("essai").expect("code")),
        xp: 100,
    };
    a.serveur
        .passerelle
        .depot
        .executer::<Joueur>(&jc.to_string(), xp, &meta)
        .await
        .expect("niveau 2");
    let mut x = 100.0;
    while x < 194.0 {
        x = f64::min(x + 1.5, 194.0);
        b.appel(
            &carla.jeton,
            "monde.deplacer",
            json!({ "joueur_id": jc, "x": x, "y": 100.0 }),
        )
        .await
        .expect("pas");
    }
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
    assert_eq!(vue["zone"]["portails"][0]["vers"], "foret_sombre");
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
            json!({ "joueur_id": jb, "duree_s": 60 }),
            "INTERDIT",
        ),
    ] {
        let e = ws_a
            .appel(methode, params.clone())
            .await
            .expect_err(methode);
        assert_eq!(code(&e), attendu, "{methode} {params} : {e}");
    }

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
    let jeton_admin = b
        .serveur
        .passerelle
        .jetons
        .emettre(CompteId::from_uuid(dora.compte_id), true)
        .expect("jeton admin");
    let r = b
        .appel(
            &jeton_admin,
            "chat.museler",
            json!({ "nom": "brunor", "duree_s": 60 }),
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
