//! Interest management through two gateway instances sharing one database, one Redis prefix
//! and one bus (doc/monde_chat.md, « Intérêt »): far apart, two characters hear nothing of
//! each other; one that walks into the other's area appears to it (name, class, position)
//! and sees it; one that walks out disappears; a portal takes a character out of one zone's
//! picture and into the other's; after a reconnect, on the other instance, the neighbours'
//! moves reach the new socket. Characters are placed through Service Monde and then walk
//! short steps at a legal pace: nothing here relies on moving faster than the speed rule.

use std::collections::VecDeque;
use std::time::Duration;

use commands::services::monde::Emplacement;
use domain::ids::JoueurId;
use domain::valeurs::{CodeZone, Position};
use mmo_tests::{Banc, ClientWs, de_methode};
use serde_json::{Value, json};
use sqlx::PgPool;

/// A character of this account, placed at `(x, y)` in `zone`.
async fn personnage(banc: &Banc, jeton: &str, nom: &str, zone: &str, x: f64, y: f64) -> JoueurId {
    let id: JoueurId =
        serde_json::from_value(banc.personnage(jeton, nom, "DPS").await).expect("id");
    placer(banc, id, zone, x, y).await;
    id
}

async fn placer(banc: &Banc, id: JoueurId, zone: &str, x: f64, y: f64) {
    let ici = Emplacement {
        zone: CodeZone::parse(zone).expect("zone"),
        position: Position::parse(x, y).expect("position"),
    };
    banc.serveur
        .passerelle
        .monde
        .placer(id, ici)
        .await
        .expect("placement");
}

/// Whether `ws` heard `de` move.
fn a_vu_bouger(notifications: &VecDeque<Value>, de: JoueurId) -> bool {
    de_methode(notifications, "monde.deplacements")
        .iter()
        .flat_map(|n| n["params"]["deplacements"].as_array().into_iter().flatten())
        .any(|d| d["joueur_id"] == json!(de))
}

/// The `monde.apparitions` entries for `pour` naming `qui`.
fn apparitions(notifications: &VecDeque<Value>, pour: JoueurId, qui: JoueurId) -> Vec<&Value> {
    de_methode(notifications, "monde.apparitions")
        .into_iter()
        .filter(|n| n["params"]["joueur_id"] == json!(pour))
        .flat_map(|n| n["params"]["apparitions"].as_array().into_iter().flatten())
        .filter(|a| a["joueur_id"] == json!(qui))
        .collect()
}

/// Whether `pour` was told `qui` left its area.
fn a_vu_disparaitre(notifications: &VecDeque<Value>, pour: JoueurId, qui: JoueurId) -> bool {
    de_methode(notifications, "monde.disparitions")
        .iter()
        .filter(|n| n["params"]["joueur_id"] == json!(pour))
        .flat_map(|n| n["params"]["disparitions"].as_array().into_iter().flatten())
        .any(|d| d == &json!(qui))
}

/// One legal step: 1 m, after 200 ms (5 m/s, under the maximum speed).
async fn pas(ws: &mut ClientWs, j: JoueurId, x: f64, y: f64) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    ws.appel("monde.deplacer", json!({ "joueur_id": j, "x": x, "y": y }))
        .await
        .expect("pas");
}

/// Says `texte` aloud, on the `dire` channel.
async fn dire(ws: &mut ClientWs, j: JoueurId, texte: &str) {
    ws.appel(
        "chat.envoyer",
        json!({ "joueur_id": j, "canal": { "type": "dire" }, "texte": texte }),
    )
    .await
    .expect("dire");
}

#[sqlx::test(migrations = "../migrations")]
async fn on_voit_ses_voisins_arriver_et_partir_a_travers_les_instances(pool: PgPool) {
    let a = Banc::demarrer(&pool).await;
    let b = a.jumeau(&pool).await;
    let (alice, bruno, dora) = (
        a.compte("alice").await,
        a.compte("bruno").await,
        a.compte("dora").await,
    );
    // Cells of 50 m: Alice stands in column 3, Bruno in column 1 (two apart), Dora in the
    // forest by the portal's arrival.
    let ja = personnage(&a, &alice.jeton, "Alicia", "plaine_verte", 160.0, 100.0).await;
    let jb = personnage(&a, &bruno.jeton, "Brunor", "plaine_verte", 99.0, 100.0).await;
    let jd = personnage(&a, &dora.jeton, "Dorane", "foret_sombre", 30.0, 150.0).await;
    a.projections_a_jour(&pool).await;

    let mut ws_a = a.ws(Some(&alice.jeton)).await;
    let mut ws_b = b.ws(Some(&bruno.jeton)).await;
    let mut ws_d = a.ws(Some(&dora.jeton)).await;
    let vue_a = ws_a
        .appel("monde.zone", json!({ "joueur_id": ja }))
        .await
        .expect("vue");
    let vue_b = ws_b
        .appel("monde.zone", json!({ "joueur_id": jb }))
        .await
        .expect("vue");
    ws_d.appel("monde.zone", json!({ "joueur_id": jd }))
        .await
        .expect("vue");
    // Far apart: each sees only itself, and the zone holds both.
    for (vue, j) in [(&vue_a, ja), (&vue_b, jb)] {
        let presents: Vec<&Value> = vue["presents"].as_array().into_iter().flatten().collect();
        assert_eq!(presents.len(), 1, "{vue}");
        assert_eq!(presents[0]["joueur_id"], json!(j));
        assert_eq!(vue["effectif"], 2, "{vue}");
    }

    // Far apart: Bruno's steps and what he says aloud do not reach Alice (five ticks of
    // silence).
    dire(&mut ws_b, jb, "loin").await;
    pas(&mut ws_b, jb, 98.5, 100.0).await;
    pas(&mut ws_b, jb, 99.0, 100.0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    ws_a.appel("classement.consulter", json!({}))
        .await
        .expect("un aller-retour");
    assert!(
        !a_vu_bouger(&ws_a.notifications, jb),
        "{:?}",
        ws_a.notifications
    );
    assert!(apparitions(&ws_a.notifications, ja, jb).is_empty());

    // Approaching: Bruno steps into column 2, which Alice sees. Each appears to the other.
    pas(&mut ws_b, jb, 100.5, 100.0).await;
    ws_a.attendre_evenements("Brunor apparaît à Alicia", |n| {
        !apparitions(n, ja, jb).is_empty()
    })
    .await;
    let vu = apparitions(&ws_a.notifications, ja, jb)[0].clone();
    assert_eq!(vu["nom"], "Brunor");
    assert_eq!(vu["classe"], "DPS");
    assert_eq!(vu["position"], json!({ "x": 100.5, "y": 100.0 }));
    ws_b.attendre_evenements("Alicia apparaît à Brunor", |n| {
        apparitions(n, jb, ja)
            .iter()
            .any(|a| a["nom"] == "Alicia" && a["position"]["x"] == 160.0)
    })
    .await;
    pas(&mut ws_b, jb, 101.5, 100.0).await;
    ws_a.attendre_evenements("le pas de Brunor", |n| {
        de_methode(n, "monde.deplacements").iter().any(|d| {
            d["params"]["deplacements"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["joueur_id"] == json!(jb) && e["position"]["x"] == 101.5)
        })
    })
    .await;
    // Near: what he says aloud reaches her, and only that (one publisher: in order).
    dire(&mut ws_b, jb, "près").await;
    ws_a.attendre_evenements("Brunor dit près", |n| {
        !de_methode(n, "chat.message").is_empty()
    })
    .await;
    let textes: Vec<&Value> = de_methode(&ws_a.notifications, "chat.message")
        .iter()
        .map(|m| &m["params"]["texte"])
        .collect();
    assert_eq!(textes, vec!["près"]);
    let historique = ws_a
        .appel(
            "chat.historique",
            json!({ "joueur_id": ja, "canal": { "type": "dire" } }),
        )
        .await
        .expect("historique");
    assert_eq!(
        historique["messages"],
        json!([]),
        "`dire` n'a pas d'historique"
    );
    let proche = ws_a
        .appel("monde.zone", json!({ "joueur_id": ja }))
        .await
        .expect("vue");
    assert_eq!(
        proche["presents"].as_array().map(Vec::len),
        Some(2),
        "{proche}"
    );

    // Leaving: back to column 1. Each disappears from the other's picture.
    pas(&mut ws_b, jb, 100.5, 100.0).await;
    pas(&mut ws_b, jb, 99.5, 100.0).await;
    ws_a.attendre_evenements("Brunor disparaît pour Alicia", |n| {
        a_vu_disparaitre(n, ja, jb)
    })
    .await;
    ws_b.attendre_evenements("Alicia disparaît pour Brunor", |n| {
        a_vu_disparaitre(n, jb, ja)
    })
    .await;

    // Through a portal: Bruno (level 2) is placed at the plain's portal, looks at his zone
    // (Alice sees him arrive), then takes it: gone for Alice, there for Dora.
    // 100 XP: level 2, the portal's level.
    a.gagner_xp(bruno.compte_id, jb, 100).await;
    placer(&b, jb, "plaine_verte", 194.0, 100.0).await;
    ws_a.notifications.clear();
    ws_b.appel("monde.zone", json!({ "joueur_id": jb }))
        .await
        .expect("vue");
    ws_a.attendre_evenements("Brunor apparaît près du portail", |n| {
        !apparitions(n, ja, jb).is_empty()
    })
    .await;
    let arrivee = ws_b
        .appel(
            "monde.changer_zone",
            json!({ "joueur_id": jb, "vers": "foret_sombre" }),
        )
        .await
        .expect("portail");
    assert_eq!(arrivee["zone"], "foret_sombre");
    ws_a.attendre_evenements("Brunor disparaît par le portail", |n| {
        a_vu_disparaitre(n, ja, jb)
    })
    .await;
    ws_d.attendre_evenements("Brunor apparaît à Dorane", |n| {
        apparitions(n, jd, jb)
            .iter()
            .any(|a| a["zone"] == "foret_sombre" && a["nom"] == "Brunor")
    })
    .await;
    ws_b.attendre_evenements("Dorane apparaît à Brunor", |n| {
        !apparitions(n, jb, jd).is_empty()
    })
    .await;

    // After a reconnect, on the other instance: Dora's new socket sees Bruno and his moves.
    drop(ws_d);
    let mut ws_d = b.ws(Some(&dora.jeton)).await;
    let vue_d = ws_d
        .appel("monde.zone", json!({ "joueur_id": jd }))
        .await
        .expect("vue");
    assert!(
        vue_d["presents"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["joueur_id"] == json!(jb)),
        "{vue_d}"
    );
    pas(&mut ws_b, jb, 11.0, 150.0).await;
    ws_d.attendre_evenements("le pas de Brunor après la reconnexion", |n| {
        a_vu_bouger(n, jb)
    })
    .await;
    // And Alice, in the plain, heard nothing of the forest.
    assert!(
        !a_vu_bouger(&ws_a.notifications, jb) || {
            de_methode(&ws_a.notifications, "monde.deplacements")
                .iter()
                .all(|d| d["params"]["zone"] == "plaine_verte")
        }
    );

    b.arreter().await;
    a.arreter().await;
}
