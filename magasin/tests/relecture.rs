//! The guard of every future change to an event: the fixture store
//! (`tests/fixtures/evenements.jsonl`, one stored row per line) holds every version of every
//! event type the code knows, and the current code reads each of its rows; a row it cannot
//! read is named (doc/magasin.md §6). Each database test gets its own database.

use std::collections::BTreeSet;

use magasin::lecteur;
use magasin::relecture;
use serde_json::{Value, json};
use sqlx::PgPool;

const JEU_D_ESSAI: &str = include_str!("fixtures/evenements.jsonl");

fn lignes() -> Vec<Value> {
    JEU_D_ESSAI
        .lines()
        .map(|l| serde_json::from_str(l).expect("une ligne JSON par événement"))
        .collect()
}

/// Inserts rows as the store holds them, in the order given.
async fn inserer(pool: &PgPool, lignes: &[Value]) {
    sqlx::query(
        "INSERT INTO events \
           (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, \
            id_commande, correlation_id, causation_id, compte_id) \
         SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, \
                (metadata ->> 'id_commande')::uuid, (metadata ->> 'correlation_id')::uuid, \
                (metadata ->> 'causation_id')::uuid, (metadata ->> 'compte_id')::uuid \
         FROM json_populate_recordset(NULL::events, $1::json)",
    )
    .bind(Value::from(lignes.to_vec()))
    .execute(pool)
    .await
    .expect("jeu d'essai inséré");
}

#[test]
fn le_jeu_d_essai_tient_chaque_version_de_chaque_type_d_evenement_connu() {
    let tenus: BTreeSet<(String, String, String)> = lignes()
        .iter()
        .map(|l| {
            let champ = |c: &str| l[c].as_str().expect("champ texte").to_owned();
            (
                champ("aggregate_type"),
                champ("event_type"),
                champ("event_version"),
            )
        })
        .collect();
    let connus: BTreeSet<(String, String, String)> = domain::versions::connus()
        .into_iter()
        .map(|(a, e, v)| (a.to_owned(), e.to_owned(), v.to_owned()))
        .collect();
    let manquants: Vec<_> = connus.difference(&tenus).collect();
    assert!(
        manquants.is_empty(),
        "magasin/tests/fixtures/evenements.jsonl ne tient pas {manquants:?} : ajoutez-y \
         l'ancienne forme avant de changer un événement (doc/magasin.md §6)"
    );
    let inconnus: Vec<_> = tenus.difference(&connus).collect();
    assert!(
        inconnus.is_empty(),
        "versions inconnues du code : {inconnus:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn chaque_evenement_du_jeu_d_essai_se_relit_avec_le_code_courant(pool: PgPool) {
    let lignes = lignes();
    inserer(&pool, &lignes).await;
    let rapport = relecture::verifier(&pool).await.expect("relecture");
    assert_eq!(rapport.echecs, []);
    assert_eq!(rapport.total(), lignes.len() as u64);
    let anciennes = rapport
        .comptes
        .get(&(
            "Quete".to_owned(),
            "QueteAcceptee".to_owned(),
            "1.0".to_owned(),
        ))
        .copied();
    assert_eq!(anciennes, Some(3));
}

#[sqlx::test(migrations = "../migrations")]
async fn le_lecteur_rend_chaque_evenement_a_sa_version_courante(pool: PgPool) {
    inserer(&pool, &lignes()).await;
    let quete = lignes()
        .into_iter()
        .find(|l| l["event_type"] == "QueteAcceptee" && l["event_version"] == "1.0")
        .expect("une QueteAcceptee 1.0");
    let flux = lecteur::flux_agregat(&pool, "Quete", quete["aggregate_id"].as_str().expect("id"))
        .await
        .expect("flux");
    assert_eq!(flux[0].event_version, "2.0");
    assert_eq!(flux[0].payload["QueteAcceptee"]["requis"], json!(1));
    let tous = lecteur::lire_apres(&pool, lecteur::PositionGlobale::DEBUT, 1_000)
        .await
        .expect("lecture");
    for e in &tous {
        assert_eq!(
            e.event_version,
            domain::versions::version_courante(&e.aggregate_type, &e.event_type),
            "{e:?}"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn un_evenement_illisible_est_nomme_sans_arreter_la_relecture(pool: PgPool) {
    let mut lignes = lignes();
    let mut casse = lignes
        .iter()
        .find(|l| l["event_type"] == "QueteAcceptee" && l["event_version"] == "1.0")
        .expect("une QueteAcceptee 1.0")
        .clone();
    // An objective without its count: no upcaster can say what the quest required.
    casse["aggregate_id"] = json!("00000000-0000-0000-0000-000000000001:rempart");
    casse["sequence"] = json!(1);
    casse["payload"]["QueteAcceptee"]["objectif"]
        .as_object_mut()
        .expect("objectif")
        .remove("nombre");
    casse["metadata"] = json!({});
    lignes.push(casse);
    inserer(&pool, &lignes).await;

    let rapport = relecture::verifier(&pool).await.expect("relecture");
    assert_eq!(rapport.total(), lignes.len() as u64);
    let [echec] = rapport.echecs.as_slice() else {
        panic!("un seul échec attendu : {:?}", rapport.echecs);
    };
    assert_eq!(
        echec.aggregate_id,
        "00000000-0000-0000-0000-000000000001:rempart"
    );
    assert_eq!(echec.event_type, "QueteAcceptee");
    assert!(echec.erreur.contains("nombre"), "{}", echec.erreur);

    // The reader hands it out as stored, for whoever decodes it to name it.
    let flux = lecteur::flux_agregat(&pool, "Quete", &echec.aggregate_id)
        .await
        .expect("flux");
    assert_eq!(flux[0].event_version, "1.0");
    let erreur = flux[0]
        .decoder::<domain::quete::EvenementQuete>()
        .expect_err("illisible");
    assert!(erreur.to_string().contains("QueteAcceptee"), "{erreur}");
}
