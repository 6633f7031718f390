//! A trade nobody concludes, end to end (doc/agregats.md §5.4, doc/bus.md §3): it expires at
//! its deadline (`MMO_DUREE_ECHANGE`, 3 s here), the round scheduler's consumer expires it,
//! both traders are told by a push, and what the proposer had reserved can be spent again;
//! nothing moved, and the economy's books still balance.

use mmo_tests::{Banc, code, de_methode, passerelle_de_test};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The `evenement` pushes of one type a socket kept.
fn pousses(notifications: &std::collections::VecDeque<Value>, genre: &str) -> usize {
    de_methode(notifications, "evenement")
        .iter()
        .filter(|n| n["params"]["type"] == genre)
        .count()
}

#[sqlx::test(migrations = "../migrations")]
async fn un_echange_que_personne_ne_conclut_expire_et_rend_ce_qu_il_reservait(pool: PgPool) {
    const DUREE_S: u64 = 3;
    let mut reglages = passerelle_de_test();
    reglages.duree_echange_s = DUREE_S;
    let banc = Banc::demarrer_avec(&pool, reglages).await;
    let alice = banc.compte("alice").await;
    let bob = banc.compte("bob").await;
    let a = banc.personnage(&alice.jeton, "Marchande", "Heal").await;
    let b = banc.personnage(&bob.jeton, "Acheteur", "Tank").await;
    let mut ws_a = banc.ws(Some(&alice.jeton)).await;
    let mut ws_b = banc.ws(Some(&bob.jeton)).await;
    let kit = banc
        .lire_quand(
            &alice.jeton,
            "inventaire.consulter",
            json!({"joueur_id": a}),
            |i| i["items"]["pain"] == 5,
        )
        .await;
    assert_eq!(kit["or_total"], 30);

    // All of Alice's gold and bread on the table.
    let propose = banc
        .appel(
            &alice.jeton,
            "echange.proposer",
            json!({"joueur_id": a, "destinataire": b, "offre": {"or": 30, "items": {"pain": 5}}}),
        )
        .await
        .expect("proposé");
    let echange = propose["echange_id"].clone();
    ws_b.attendre_evenements("la proposition chez Bob", |n| {
        pousses(n, "EchangePropose") == 1
    })
    .await;
    let echeance = de_methode(&ws_b.notifications, "evenement")
        .iter()
        .find(|n| n["params"]["type"] == "EchangePropose")
        .map(|n| n["params"]["donnees"]["echeance"].clone())
        .expect("échéance poussée");
    assert!(echeance.is_string(), "{echeance}");
    let potion = json!({"joueur_id": a, "marchand": "apothicaire_mirabelle", "item": "potion_de_soin", "quantite": 1});
    let refus = banc
        .appel(&alice.jeton, "inventaire.acheter", potion.clone())
        .await
        .expect_err("l'or réservé ne paie rien");
    assert_eq!(code(&refus), "OR_INSUFFISANT", "{refus}");

    // Nobody accepts: the deadline passes, the scheduler expires the trade and releases it.
    ws_a.attendre_evenements("l'expiration et la libération chez Alice", |n| {
        pousses(n, "EchangeExpire") == 1 && pousses(n, "ReservationLiberee") == 1
    })
    .await;
    ws_b.attendre_evenements("l'expiration chez Bob", |n| {
        pousses(n, "EchangeExpire") == 1
    })
    .await;
    let tardive = banc
        .appel(
            &bob.jeton,
            "echange.accepter",
            json!({"joueur_id": b, "echange_id": echange}),
        )
        .await
        .expect_err("trop tard");
    assert_eq!(code(&tardive), "ECHANGE_CLOS", "{tardive}");

    // The gold is Alice's to spend again; the bread too (offered in a new trade).
    let achat = banc
        .appel(&alice.jeton, "inventaire.acheter", potion)
        .await
        .expect("l'or libéré paie");
    banc.appel(
        &alice.jeton,
        "echange.proposer",
        json!({"joueur_id": a, "destinataire": b, "offre": {"items": {"pain": 5}}}),
    )
    .await
    .expect("le pain libéré s'offre de nouveau");
    let inventaire = banc
        .appel(
            &alice.jeton,
            "inventaire.consulter",
            json!({"joueur_id": a, "a_jour_de": achat["curseur"]}),
        )
        .await
        .expect("inventaire");
    assert_eq!(inventaire["or_total"], 15, "{inventaire}");
    assert_eq!(inventaire["items"]["pain"], 5, "{inventaire}");
    let chez_bob = banc
        .appel(&bob.jeton, "inventaire.consulter", json!({"joueur_id": b}))
        .await
        .expect("inventaire de Bob");
    assert_eq!(
        chez_bob["or_total"], 30,
        "rien n'a bougé chez Bob : {chez_bob}"
    );

    // Nothing in the ledger under the cause `echange`, and the books balance.
    banc.projections_a_jour(&pool).await;
    let livre = banc
        .appel(
            &alice.jeton,
            "economie.grand_livre",
            json!({"joueur_id": a}),
        )
        .await
        .expect("grand livre");
    assert!(
        !livre.to_string().contains("\"echange\""),
        "aucun mouvement d'échange : {livre}"
    );
    let desequilibres = projections::verification::desequilibres(&pool)
        .await
        .expect("bilan");
    assert!(desequilibres.is_empty(), "{desequilibres:?}");
    let metriques = banc.metriques().await;
    assert!(
        metriques
            .lines()
            .any(|l| l.starts_with("mmo_echanges_echus_total ") && !l.ends_with(" 0")),
        "l'expiration comptée"
    );
    drop((ws_a, ws_b));
    banc.arreter().await;
}
