//! Read-your-writes through the gateway (doc/protocole.md §3.8): a command answers the cursor
//! of its last event, and a read given it as `a_jour_de` shows the command, or answers
//! `LECTURE_EN_RETARD` within the bound when the read models cannot get there.

use std::time::{Duration, Instant};

use mmo_tests::{Banc, code};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// The cursor a command answered.
fn curseur(reponse: &Value) -> String {
    reponse["curseur"]
        .as_str()
        .unwrap_or_else(|| panic!("pas de curseur dans {reponse}"))
        .to_owned()
}

#[sqlx::test(migrations = "../migrations")]
async fn un_personnage_cree_se_lit_aussitot_avec_le_curseur_de_sa_creation(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let alice = banc.compte("alice").await;
    let j = &alice.jeton;

    let cree = banc
        .appel(
            j,
            "joueur.creer",
            json!({ "nom": "Brennos", "classe": "Tank" }),
        )
        .await
        .expect("personnage créé");
    let a_jour_de = curseur(&cree);
    let joueur_id = cree["joueur_id"].clone();

    // No polling: the first read with the cursor shows the character projected.
    let liste = banc
        .appel(j, "joueur.lister", json!({ "a_jour_de": a_jour_de }))
        .await
        .expect("liste");
    assert_eq!(
        liste["personnages"],
        json!([{ "joueur_id": joueur_id, "nom": "Brennos", "classe": "Tank", "niveau": 1, "xp": 0, "combat_id": null }])
    );
    let profil = banc
        .appel(
            j,
            "joueur.profil",
            json!({ "joueur_id": joueur_id, "a_jour_de": a_jour_de }),
        )
        .await
        .expect("profil");
    assert_eq!(
        (&profil["classe"], &profil["niveau"]),
        (&json!("Tank"), &json!(1))
    );

    // A command on a cached read model: the inventory read with its cursor shows it, though the
    // cache in front of the model is written after the projection's commit.
    let jete = banc
        .appel(
            j,
            "inventaire.jeter",
            json!({ "joueur_id": joueur_id, "item": "pain", "quantite": 2 }),
        )
        .await
        .expect("pain jeté");
    let inventaire = banc
        .appel(
            j,
            "inventaire.consulter",
            json!({ "joueur_id": joueur_id, "a_jour_de": curseur(&jete) }),
        )
        .await
        .expect("inventaire");
    assert_eq!(inventaire["items"]["pain"], json!(3), "{inventaire}");
    let grand_livre = banc
        .appel(
            j,
            "economie.grand_livre",
            json!({ "joueur_id": joueur_id, "a_jour_de": curseur(&jete) }),
        )
        .await
        .expect("grand livre");
    let dernier = grand_livre["mouvements"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (
            &dernier["cause"],
            &dernier["delta"],
            &dernier["solde_apres"]
        ),
        (&json!("destruction"), &json!(-2), &json!(3)),
        "{grand_livre}"
    );
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn une_lecture_a_jour_d_un_curseur_a_venir_repond_lecture_en_retard_dans_le_delai(
    pool: PgPool,
) {
    let banc = Banc::demarrer(&pool).await;
    let alice = banc.compte("alice").await;

    let debut = Instant::now();
    let e = banc
        .appel(
            &alice.jeton,
            "joueur.lister",
            json!({ "a_jour_de": "900000000000000000.1" }),
        )
        .await
        .expect_err("aucune projection n'y sera jamais");
    let duree = debut.elapsed();
    assert_eq!(
        (e["code"].as_i64(), code(&e)),
        (Some(-32008), "LECTURE_EN_RETARD"),
        "{e}"
    );
    assert_eq!(e["data"]["attente_ms"], json!(2000), "{e}");
    assert!(
        duree >= Duration::from_secs(2) && duree < Duration::from_secs(4),
        "répondu en {duree:?}"
    );

    for mauvais in [json!("12"), json!("a.b"), json!("-1.2"), json!(12)] {
        let e = banc
            .appel(
                &alice.jeton,
                "joueur.lister",
                json!({ "a_jour_de": mauvais }),
            )
            .await
            .expect_err("curseur illisible");
        assert_eq!(
            (e["code"].as_i64(), code(&e)),
            (Some(-32602), "PARAMETRES_INVALIDES"),
            "{mauvais} : {e}"
        );
    }
    // The beginning of the store is passed by every projection at once.
    banc.appel(
        &alice.jeton,
        "classement.consulter",
        json!({ "a_jour_de": "0.0" }),
    )
    .await
    .expect("classement");
    banc.arreter().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn une_commande_rejouee_rend_le_curseur_de_sa_premiere_application(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let alice = banc.compte("alice").await;
    let j = &alice.jeton;

    let id_creation = Uuid::new_v4();
    let creer = json!({ "nom": "Sylvaine", "classe": "DPS", "id_commande": id_creation });
    let premiere = banc
        .appel(j, "joueur.creer", creer.clone())
        .await
        .expect("créé");
    let joueur_id = premiere["joueur_id"].clone();

    let id_jet = Uuid::new_v4();
    let jeter =
        json!({ "joueur_id": joueur_id, "item": "pain", "quantite": 1, "id_commande": id_jet });
    let jet = banc
        .appel(j, "inventaire.jeter", jeter.clone())
        .await
        .expect("jeté");
    // Other writes move the store's head past both commands before they are replayed.
    banc.appel(
        j,
        "inventaire.jeter",
        json!({ "joueur_id": joueur_id, "item": "potion_de_soin", "quantite": 1 }),
    )
    .await
    .expect("autre jet");

    let rejeu = banc
        .appel(j, "inventaire.jeter", jeter)
        .await
        .expect("rejoué");
    assert_eq!(rejeu, jet, "même réponse, même curseur");
    let rejeu = banc.appel(j, "joueur.creer", creer).await.expect("rejouée");
    assert_eq!(rejeu, premiere, "même réponse, même curseur");

    // The cursor is the place of the command's last event in the global order: the one the
    // push and the catch-up give that event.
    // (The catch-up reads below the horizon of transactions still running in the cluster:
    // polled until it shows the command's event.)
    let du_jet = banc
        .attendre("le jet dans le rattrapage", || async {
            let r = banc
                .appel(
                    j,
                    "evenements.depuis",
                    json!({ "curseur": "0.0", "limite": 500 }),
                )
                .await
                .expect("rattrapage");
            let du_jet: Vec<Value> = r["evenements"]
                .as_array()
                .expect("événements")
                .iter()
                .filter(|e| e["type"] == "ItemRetire" && e["donnees"]["item"] == "pain")
                .cloned()
                .collect();
            (!du_jet.is_empty()).then_some(du_jet)
        })
        .await;
    assert_eq!(du_jet.len(), 1, "{du_jet:?}");
    assert_eq!(du_jet[0]["curseur"], jet["curseur"]);
    banc.arreter().await;
}
