//! Every bad input gets its documented error (doc/protocole.md), never a 500, and changes
//! nothing: malformed JSON, bad requests, unknown methods, wrong params, another account's
//! character, an admin method, missing, expired or forged tokens, oversized messages.

use mmo_tests::{Banc, Fermeture, code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_tungstenite::tungstenite::Message;

fn erreur(reponse: &Value) -> (i64, &str) {
    let e = &reponse["error"];
    (e["code"].as_i64().unwrap_or(0), code(e))
}

#[sqlx::test(migrations = "../migrations")]
async fn chaque_mauvaise_requete_recoit_son_erreur_documentee(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let alice = banc.compte("alice").await;
    let bob = banc.compte("bob").await;
    let a = |m: &str, p: Value| json!({ "jsonrpc": "2.0", "id": 9, "method": m, "params": p });
    let jeton = Some(alice.jeton.as_str());

    let cas: Vec<(&str, String, (i64, &str))> = vec![
        (
            "JSON illisible",
            "{\"jsonrpc\": ".into(),
            (-32700, "JSON_INVALIDE"),
        ),
        ("pas un objet", "42".into(), (-32600, "REQUETE_INVALIDE")),
        ("lot vide", "[]".into(), (-32600, "REQUETE_INVALIDE")),
        (
            "mauvaise version",
            json!({"jsonrpc": "1.0", "id": 1, "method": "joueur.lister"}).to_string(),
            (-32600, "REQUETE_INVALIDE"),
        ),
        (
            "méthode inconnue",
            a("joueur.supprimer", json!({})).to_string(),
            (-32601, "METHODE_INCONNUE"),
        ),
        (
            "paramètre manquant",
            a("joueur.creer", json!({"nom": "Sansclasse"})).to_string(),
            (-32602, "PARAMETRES_INVALIDES"),
        ),
        (
            "classe inconnue",
            a("joueur.creer", json!({"nom": "Mage", "classe": "Mage"})).to_string(),
            (-32602, "PARAMETRES_INVALIDES"),
        ),
        (
            "nom trop court",
            a("joueur.creer", json!({"nom": "X", "classe": "Tank"})).to_string(),
            (-32602, "PARAMETRES_INVALIDES"),
        ),
        (
            "champ en trop",
            a("joueur.lister", json!({"pirate": true})).to_string(),
            (-32602, "PARAMETRES_INVALIDES"),
        ),
        (
            "paramètres positionnels",
            a("joueur.profil", json!(["x"])).to_string(),
            (-32602, "PARAMETRES_INVALIDES"),
        ),
        (
            "identifiant malformé",
            a("joueur.profil", json!({"joueur_id": "pas-un-uuid"})).to_string(),
            (-32602, "PARAMETRES_INVALIDES"),
        ),
        (
            "personnage inconnu",
            a(
                "joueur.profil",
                json!({"joueur_id": "00000000-0000-4000-8000-000000000000"}),
            )
            .to_string(),
            (-32004, "INTROUVABLE"),
        ),
        (
            "méthode d'admin",
            a("economie.totaux", json!({})).to_string(),
            (-32003, "INTERDIT"),
        ),
        (
            "limite hors bornes",
            a("classement.consulter", json!({"limite": 100_000})).to_string(),
            (-32602, "PARAMETRES_INVALIDES"),
        ),
        (
            "curseur illisible",
            a("evenements.depuis", json!({"curseur": "hier"})).to_string(),
            (-32602, "PARAMETRES_INVALIDES"),
        ),
        (
            // JSON-RPC 2.0 §4.2: params, if present, is a structured value; null is not.
            "params null",
            json!({"jsonrpc": "2.0", "id": 9, "method": "joueur.lister", "params": null})
                .to_string(),
            (-32600, "REQUETE_INVALIDE"),
        ),
        (
            "sequence négative du grand livre",
            a(
                "economie.grand_livre",
                json!({"joueur_id": "00000000-0000-4000-8000-000000000000", "apres": -1}),
            )
            .to_string(),
            (-32602, "PARAMETRES_INVALIDES"),
        ),
        (
            "authentifier hors WebSocket",
            a("session.authentifier", json!({"jeton": "x"})).to_string(),
            (-32601, "METHODE_INCONNUE"),
        ),
    ];
    for (quoi, corps, attendu) in cas {
        let (statut, reponse) = banc.rpc_brut(jeton, corps).await;
        assert_eq!(statut, StatusCode::OK, "{quoi} : {reponse}");
        assert_eq!(erreur(&reponse), attendu, "{quoi} : {reponse}");
        if quoi == "params null" {
            // The id is readable: the answer carries it, and says what to do instead.
            assert_eq!(reponse["id"], 9, "{reponse}");
            let message = reponse["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("omettez"), "{reponse}");
        }
    }

    // Another account's character: every command and private read refuses, nothing changes.
    let perso = banc
        .appel(
            &bob.jeton,
            "joueur.creer",
            json!({"nom": "Bobinette", "classe": "Heal"}),
        )
        .await
        .expect("personnage de Bob")["joueur_id"]
        .clone();
    // The starting kit reaches the ledger through the process manager: wait for it, so that
    // the check below reads a ledger that had time to show anything.
    banc.lire_quand(
        &bob.jeton,
        "economie.grand_livre",
        json!({"joueur_id": perso}),
        |l| l["mouvements"].as_array().is_some_and(|m| !m.is_empty()),
    )
    .await;
    let chez_bob = [
        (
            "combat.demarrer",
            json!({"joueur_id": perso, "rencontre": "meute_de_loups"}),
        ),
        ("inventaire.consulter", json!({"joueur_id": perso})),
        (
            "inventaire.jeter",
            json!({"joueur_id": perso, "item": "pain", "quantite": 1}),
        ),
        (
            "inventaire.vendre",
            json!({"joueur_id": perso, "marchand": "apothicaire_mirabelle", "item": "potion_de_soin", "quantite": 3}),
        ),
        ("quete.journal", json!({"joueur_id": perso})),
        (
            "quete.accepter",
            json!({"joueur_id": perso, "quete": "chasse_aux_loups"}),
        ),
        ("economie.grand_livre", json!({"joueur_id": perso})),
    ];
    for (methode, params) in chez_bob {
        let e = banc
            .appel(&alice.jeton, methode, params)
            .await
            .expect_err(methode);
        assert_eq!(
            (e["code"].as_i64(), code(&e)),
            (Some(-32003), "INTERDIT"),
            "{methode} : {e}"
        );
    }
    // Nothing was written on Alice's behalf, and the ledger, read once every projection has
    // applied the whole store, still holds the kit and nothing else.
    let (ecrits,): (i64,) = sqlx::query_as("SELECT count(*) FROM events WHERE compte_id = $1")
        .bind(alice.compte_id)
        .fetch_one(&pool)
        .await
        .expect("lecture du magasin");
    assert_eq!(ecrits, 0, "un refus n'écrit rien");
    banc.projections_a_jour(&pool).await;
    let livre = banc
        .appel(
            &bob.jeton,
            "economie.grand_livre",
            json!({"joueur_id": perso}),
        )
        .await
        .expect("Bob lit son grand livre");
    assert!(
        livre["mouvements"]
            .as_array()
            .is_some_and(|m| !m.is_empty() && m.iter().all(|m| m["cause"] == "kit_de_depart")),
        "rien n'a bougé : {livre}"
    );

    // A batch: each call answered in order, the notification (no id) not at all.
    let lot = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "joueur.lister"},
        {"jsonrpc": "2.0", "method": "joueur.lister"},
        {"jsonrpc": "2.0", "id": 3, "method": "nulle.part"},
    ]);
    let (_, reponses) = banc.rpc_brut(jeton, lot.to_string()).await;
    let reponses = reponses.as_array().expect("un tableau");
    assert_eq!(reponses.len(), 2);
    assert_eq!(reponses[0]["id"], 1);
    assert_eq!(erreur(&reponses[1]), (-32601, "METHODE_INCONNUE"));
    let seulement_notifications = json!([{"jsonrpc": "2.0", "method": "joueur.lister"}]);
    let (statut, _) = banc
        .rpc_brut(jeton, seulement_notifications.to_string())
        .await;
    assert_eq!(statut, StatusCode::NO_CONTENT);
    let trop: Vec<Value> = (0..51)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "joueur.lister"}))
        .collect();
    let (_, reponse) = banc.rpc_brut(jeton, Value::from(trop).to_string()).await;
    assert_eq!(erreur(&reponse), (-32600, "LOT_TROP_GRAND"));

    // Tokens: none, forged, expired, of another issuer's secret, not a JWT.
    let lister = a("joueur.lister", json!({})).to_string();
    let (_, r) = banc.rpc_brut(None, lister.clone()).await;
    assert_eq!(erreur(&r), (-32001, "NON_AUTHENTIFIE"));
    let (_, r) = banc
        .rpc_brut(Some(&alice.jeton_forge()), lister.clone())
        .await;
    assert_eq!(erreur(&r), (-32001, "JETON_INVALIDE"));
    let (_, r) = banc
        .rpc_brut(Some(&alice.jeton_perime()), lister.clone())
        .await;
    assert_eq!(erreur(&r), (-32001, "JETON_EXPIRE"));
    let (_, r) = banc.rpc_brut(Some("pas.un.jwt"), lister.clone()).await;
    assert_eq!(erreur(&r), (-32001, "JETON_INVALIDE"));

    // Oversized: HTTP answers 413 with a JSON-RPC error; the WebSocket closes with 1009.
    let enorme = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"joueur.lister","params":{{"x":"{}"}}}}"#,
        "a".repeat(70_000)
    );
    let (statut, r) = banc.rpc_brut(jeton, enorme.clone()).await;
    assert_eq!(statut, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(erreur(&r), (-32600, "MESSAGE_TROP_GRAND"));
    let mut ws = banc.ws(jeton).await;
    ws.envoyer(Message::Text(enorme.into())).await;
    assert_eq!(
        ws.attendre_fermeture(mmo_tests::PATIENCE).await,
        Fermeture::Code(1009)
    );

    // Over WebSocket, the same dispatcher: a binary frame and bad JSON get errors, and the
    // socket goes on serving.
    let mut ws = banc.ws(jeton).await;
    ws.envoyer(Message::Binary(vec![1, 2, 3].into())).await;
    let r = ws.reponse().await;
    assert_eq!(
        (erreur(&r), &r["id"]),
        ((-32600, "REQUETE_INVALIDE"), &Value::Null)
    );
    let r = ws.brut("{oups").await;
    assert_eq!(erreur(&r), (-32700, "JSON_INVALIDE"));
    assert!(
        ws.appel("joueur.lister", json!({})).await.is_ok(),
        "la socket sert encore"
    );

    // Bad REST bodies get a status and a code, never a 500.
    let rest = [
        (
            "/api/comptes",
            json!({"login": "x"}),
            StatusCode::BAD_REQUEST,
            "PARAMETRES_INVALIDES",
        ),
        (
            "/api/comptes",
            json!({"login": "a b c", "mot_de_passe": "assez long pour passer"}),
            StatusCode::BAD_REQUEST,
            "PARAMETRES_INVALIDES",
        ),
        (
            "/api/comptes",
            json!({"login": "ALICE", "mot_de_passe": "une autre phrase"}),
            StatusCode::CONFLICT,
            "LOGIN_DEJA_PRIS",
        ),
        (
            "/api/sessions",
            json!({"login": "alice", "mot_de_passe": "mauvais mot de passe"}),
            StatusCode::UNAUTHORIZED,
            "IDENTIFIANTS_INVALIDES",
        ),
        (
            "/api/sessions",
            json!({"login": "personne", "mot_de_passe": "mauvais mot de passe"}),
            StatusCode::UNAUTHORIZED,
            "IDENTIFIANTS_INVALIDES",
        ),
        (
            "/api/sessions/rafraichir",
            json!({"jeton": "mauvais champ"}),
            StatusCode::BAD_REQUEST,
            "PARAMETRES_INVALIDES",
        ),
    ];
    for (chemin, corps, statut, code) in rest {
        assert_eq!(
            banc.post_refuse(chemin, &corps).await,
            (statut, code.to_owned()),
            "{chemin} {corps}"
        );
    }

    banc.arreter().await;
}

/// Every event of the account from the start of the store, once the read reaches the head.
async fn tous_les_evenements(banc: &Banc, jeton: &str) -> Vec<Value> {
    let mut curseur = Value::from("0.0");
    let mut tous = Vec::new();
    loop {
        let page = banc
            .appel(
                jeton,
                "evenements.depuis",
                json!({"curseur": curseur, "limite": 500}),
            )
            .await
            .expect("rattrapage");
        tous.extend(page["evenements"].as_array().cloned().unwrap_or_default());
        if page["a_jour"] == true {
            return tous;
        }
        curseur = page["curseur"].clone();
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn un_refus_du_jeu_n_ecrit_rien_ne_pousse_rien_et_ne_change_pas_la_version(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let alice = banc.compte("alice").await;
    let jeton = alice.jeton.as_str();
    let perso = banc.personnage(jeton, "Alinea", "Tank").await;
    let profil = banc
        .lire_quand(jeton, "joueur.profil", json!({"joueur_id": perso}), |p| {
            p["version"].is_u64()
        })
        .await;
    let version = profil["version"].as_u64().expect("version");

    let refus = [
        (
            "combat.demarrer",
            json!({"joueur_id": perso, "rencontre": "dragon_rouge"}),
            "RENCONTRE_INCONNUE",
        ),
        (
            "combat.demarrer",
            json!({"joueur_id": perso, "rencontre": "troll_des_cimes"}),
            "RENCONTRE_HORS_ZONE",
        ),
        (
            "combat.rejoindre",
            json!({"joueur_id": perso, "combat_id": "00000000-0000-4000-8000-000000000000"}),
            "COMBAT_INEXISTANT",
        ),
        (
            "echange.proposer",
            json!({"joueur_id": perso, "destinataire": perso, "offre": {"or": 5}}),
            "AVEC_SOI_MEME",
        ),
        (
            "echange.modifier",
            json!({"joueur_id": perso, "echange_id": "00000000-0000-4000-8000-000000000000", "offre": {"or": 5}}),
            "ECHANGE_INEXISTANT",
        ),
    ];
    for (methode, params, attendu) in refus {
        let e = banc.appel(jeton, methode, params).await.expect_err(methode);
        assert_eq!(
            (e["code"].as_i64(), code(&e)),
            (Some(-32010), attendu),
            "{methode} : {e}"
        );
    }

    // A command that writes, after the refusals: once its events are read, anything the
    // refusals had written would be read too (they committed before it).
    let combat = banc
        .appel(
            jeton,
            "combat.demarrer",
            json!({"joueur_id": perso, "rencontre": "meute_de_loups"}),
        )
        .await
        .expect("démarrer")["combat_id"]
        .clone();
    let evenements = banc
        .attendre("le combat dans le rattrapage", || async {
            let tous = tous_les_evenements(&banc, jeton).await;
            tous.iter()
                .any(|e| e["type"] == "CombatPrepare")
                .then_some(tous)
        })
        .await;
    let du_personnage: Vec<&str> = evenements
        .iter()
        .filter(|e| e["agregat"] == "Joueur")
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        du_personnage,
        ["JoueurCree", "EntreEnCombat"],
        "aucun combat fantôme"
    );
    assert!(
        !evenements
            .iter()
            .any(|e| e["type"] == "OffreReservee" || e["type"] == "ReservationLiberee"),
        "aucune réservation : {evenements:?}"
    );
    let profil = banc
        .lire_quand(jeton, "joueur.profil", json!({"joueur_id": perso}), |p| {
            p["combat_id"] == combat
        })
        .await;
    assert_eq!(
        profil["version"].as_u64(),
        Some(version + 1),
        "seul l'engagement dans le vrai combat : {profil}"
    );
}
