//! The game master's console, read side, end to end: after the three players' combat
//! (`mmo_tests::scenario`), an admin finds a player by login and by character name, reads
//! its character's timeline page by page (its own events and the system's reactions, linked
//! by correlation and causation), and travels back in its inventory's history; a player's
//! token is refused.

use std::collections::HashSet;

use mmo_tests::{Banc, code, scenario};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

async fn mj(banc: &Banc, jeton: &str, methode: &str, params: Value) -> Value {
    banc.appel(jeton, methode, params)
        .await
        .unwrap_or_else(|e| panic!("{methode} : {e}"))
}

async fn refuse(banc: &Banc, jeton: &str, methode: &str, params: Value) -> String {
    let e = banc
        .appel(jeton, methode, params.clone())
        .await
        .expect_err(&format!("{methode} {params} refusé"));
    code(&e).to_owned()
}

/// Every page of a timeline, `limite` events at a time.
async fn toutes_les_pages(banc: &Banc, jeton: &str, sujet: Value, limite: u32) -> Vec<Value> {
    let mut evenements = Vec::new();
    let mut curseur: Option<String> = None;
    for _ in 0..1_000 {
        let mut params = sujet.clone();
        params["limite"] = json!(limite);
        if let Some(c) = &curseur {
            params["curseur"] = json!(c);
        }
        let page = mj(banc, jeton, "mj.chronologie", params).await;
        let lot = page["evenements"].as_array().expect("evenements").clone();
        assert!(lot.len() <= limite as usize, "page bornée");
        evenements.extend(lot);
        curseur = page["curseur"].as_str().map(str::to_owned);
        if page["fin"] == true {
            return evenements;
        }
    }
    panic!("la chronologie ne finit pas");
}

fn position(curseur: &Value) -> (i64, i64) {
    let (t, p) = curseur
        .as_str()
        .and_then(|c| c.split_once('.'))
        .expect("curseur");
    (
        t.parse().expect("transaction"),
        p.parse().expect("position"),
    )
}

#[sqlx::test(migrations = "../migrations")]
async fn le_maitre_du_jeu_retrouve_un_joueur_sa_chronologie_et_ses_etats_passes(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let bilan = scenario::jouer(&banc, &pool, async || {}).await;
    bilan.verifier_les_recompenses(&banc, &pool).await;
    let admin = banc.administrateur("maitre").await.jeton;
    let tania = &bilan.joueurs[0];
    let brennos = tania.id.as_str();

    // Find: by the start of a login, and of a character name, whatever the case.
    let par_login = mj(&banc, &admin, "mj.chercher", json!({"texte": "TAN"})).await;
    let comptes = par_login["comptes"].as_array().expect("comptes");
    assert_eq!(comptes.len(), 1, "{par_login}");
    assert_eq!(comptes[0]["login"], "tania");
    assert_eq!(comptes[0]["compte_id"], tania.compte.compte_id.to_string());
    assert_eq!(comptes[0]["personnages"][0]["nom"], "Brennos");
    assert_eq!(comptes[0]["personnages"][0]["classe"], "Tank");
    assert!(comptes[0]["personnages"][0]["niveau"].as_i64() >= Some(1));
    let par_nom = mj(&banc, &admin, "mj.chercher", json!({"texte": "sylv"})).await;
    assert_eq!(par_nom["comptes"][0]["login"], "damien", "{par_nom}");
    let rien = mj(&banc, &admin, "mj.chercher", json!({"texte": "t%"})).await;
    assert_eq!(rien["comptes"], json!([]), "un joker est pris à la lettre");
    let mut vus = Vec::new();
    let mut apres: Option<Value> = None;
    loop {
        let mut p = json!({"texte": "ondi", "limite": 1});
        if let Some(a) = &apres {
            p["apres"] = a.clone();
        }
        let page = mj(&banc, &admin, "mj.chercher", p).await;
        vus.extend(page["comptes"].as_array().expect("comptes").clone());
        if page["suite"].is_null() {
            break;
        }
        apres = Some(page["suite"].clone());
    }
    assert_eq!(vus.len(), 1, "Ondine, une fois : {vus:?}");

    // The timeline, whole and page by page: the same events, in global order, no gap, no
    // duplicate.
    let sujet = json!({"joueur_id": brennos});
    let entiere = toutes_les_pages(&banc, &admin, sujet.clone(), 200).await;
    let paginee = toutes_les_pages(&banc, &admin, sujet, 7).await;
    let ids = |l: &[Value]| l.iter().map(|e| e["event_id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&paginee), ids(&entiere));
    let uniques: HashSet<String> = entiere.iter().map(|e| e["event_id"].to_string()).collect();
    assert_eq!(uniques.len(), entiere.len(), "aucun doublon");
    for paire in entiere.windows(2) {
        assert!(position(&paire[0]["curseur"]) < position(&paire[1]["curseur"]));
    }

    // Its own events: the character, its inventory, its quest, the combat.
    let de = |t: &'static str| entiere.iter().filter(move |e| e["aggregate_type"] == t);
    assert!(
        de("Joueur")
            .any(|e| e["event_type"] == "JoueurCree" && !e["reaction"].as_bool().unwrap_or(true))
    );
    assert!(de("Combat").any(|e| e["event_type"] == "CombatTermine"));
    assert!(de("Quete").any(|e| {
        e["aggregate_id"]
            .as_str()
            .is_some_and(|i| i.starts_with(brennos))
    }));
    // The system's reactions: the XP the victory paid, caused by the combat's end and in its
    // correlation; the other players' shares are there as reactions.
    let fin = de("Combat")
        .find(|e| e["event_type"] == "CombatTermine")
        .expect("fin du combat");
    let xp = de("Joueur")
        .find(|e| e["event_type"] == "XpGagnee" && e["aggregate_id"] == brennos)
        .expect("XP de Brennos");
    assert_eq!(xp["correlation_id"], fin["correlation_id"]);
    assert!(xp["compte_id"].is_null(), "payée par le système : {xp}");
    let causes: HashSet<&Value> = entiere.iter().map(|e| &e["event_id"]).collect();
    assert!(
        causes.contains(&xp["causation_id"]),
        "sa cause est dans la chronologie : {xp}"
    );
    assert!(
        entiere.iter().any(|e| e["reaction"] == true
            && e["aggregate_id"] != brennos
            && e["correlation_id"] == fin["correlation_id"]),
        "les parts des autres, en réactions"
    );
    assert!(
        de("Inventaire").any(|e| e["event_type"] == "OrCredite" && e["compte_id"].is_null()),
        "le butin payé par le système"
    );
    // The account's timeline holds the character's.
    let du_compte = toutes_les_pages(
        &banc,
        &admin,
        json!({"compte_id": tania.compte.compte_id}),
        50,
    )
    .await;
    assert_eq!(ids(&du_compte), ids(&entiere), "un seul personnage");

    // Time travel in the inventory: opened empty, then paid.
    let inventaire = json!({"aggregate_type": "Inventaire", "aggregate_id": brennos});
    let avec = |mut v: Value, k: &str, n: Value| {
        v[k] = n;
        v
    };
    let premier = mj(
        &banc,
        &admin,
        "mj.etat_a",
        avec(inventaire.clone(), "sequence", json!(1)),
    )
    .await;
    let longueur = premier["longueur"].as_i64().expect("longueur");
    assert!(longueur > 1, "{premier}");
    let maintenant = mj(
        &banc,
        &admin,
        "mj.etat_a",
        avec(inventaire.clone(), "sequence", json!(longueur)),
    )
    .await;
    assert_ne!(premier["etat"], maintenant["etat"]);
    let resume = mj(
        &banc,
        &tania.compte.jeton,
        "inventaire.consulter",
        json!({"joueur_id": brennos}),
    )
    .await;
    assert_eq!(
        maintenant["etat"]["contenu"]["or"], resume["or_total"],
        "{resume}"
    );
    let diff = mj(
        &banc,
        &admin,
        "mj.difference",
        avec(
            avec(inventaire.clone(), "de", json!(1)),
            "a",
            json!(longueur),
        ),
    )
    .await;
    let or = diff["changements"]
        .as_array()
        .expect("changements")
        .iter()
        .find(|c| c["chemin"] == "/contenu/or")
        .unwrap_or_else(|| panic!("l'or a changé : {diff}"));
    assert_eq!(or["genre"], "modifie");
    assert_eq!(or["avant"], premier["etat"]["contenu"]["or"]);
    assert_eq!(or["apres"], maintenant["etat"]["contenu"]["or"]);
    let rien = mj(
        &banc,
        &admin,
        "mj.difference",
        avec(avec(inventaire.clone(), "de", json!(2)), "a", json!(2)),
    )
    .await;
    assert_eq!(rien["changements"], json!([]));

    // Bad input: clear errors.
    let p = |v: Value| v;
    for (methode, params, attendu) in [
        (
            "mj.etat_a",
            avec(inventaire.clone(), "sequence", json!(longueur + 1)),
            "INTROUVABLE",
        ),
        (
            "mj.etat_a",
            p(json!({"aggregate_type": "Dragon", "aggregate_id": brennos, "sequence": 1})),
            "PARAMETRES_INVALIDES",
        ),
        (
            "mj.etat_a",
            p(
                json!({"aggregate_type": "Inventaire", "aggregate_id": Uuid::new_v4(), "sequence": 1}),
            ),
            "INTROUVABLE",
        ),
        (
            "mj.difference",
            avec(avec(inventaire.clone(), "de", json!(3)), "a", json!(2)),
            "PARAMETRES_INVALIDES",
        ),
        (
            "mj.chronologie",
            p(json!({"joueur_id": brennos, "compte_id": tania.compte.compte_id})),
            "PARAMETRES_INVALIDES",
        ),
        (
            "mj.chronologie",
            p(json!({"compte_id": Uuid::new_v4()})),
            "INTROUVABLE",
        ),
        (
            "mj.chronologie",
            p(json!({"joueur_id": brennos, "curseur": "demain"})),
            "PARAMETRES_INVALIDES",
        ),
        (
            "mj.chercher",
            p(json!({"texte": "t"})),
            "PARAMETRES_INVALIDES",
        ),
    ] {
        assert_eq!(
            refuse(&banc, &admin, methode, params.clone()).await,
            attendu,
            "{methode} {params}"
        );
    }

    // A player is refused, whatever it asks.
    for (methode, params) in [
        ("mj.chercher", json!({"texte": "tan"})),
        ("mj.chronologie", json!({"joueur_id": brennos})),
        ("mj.etat_a", avec(inventaire.clone(), "sequence", json!(1))),
    ] {
        assert_eq!(
            refuse(&banc, &tania.compte.jeton, methode, params).await,
            "INTERDIT"
        );
    }
    banc.arreter().await;
}
