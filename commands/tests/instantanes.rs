//! Stored snapshots against the real PostgreSQL: a cold load starts from the snapshot and folds
//! the events after it; a snapshot holds exactly the stream's events up to its version; a
//! snapshot of another fingerprint, with a state that does not decode, or ahead of the stream
//! is ignored and replaced; a failing snapshot table breaks no command (doc/magasin.md §2,
//! « Les instantanés »). Each test gets its own database (`#[sqlx::test]`). That a snapshot
//! plus the tail is the full replay for every aggregate, over generated histories, is
//! `domain/tests/proprietes.rs`.

use std::sync::atomic::Ordering;

use chrono::Utc;
use commands::Depot;
use commands::depot::AgregatStocke;
use cqrs_es::Aggregate;
use domain::Catalogue;
use domain::combat::Combat;
use domain::echange::Echange;
use domain::ids::{CombatId, CompteId, JoueurId};
use domain::inventaire::{CommandeInventaire, Inventaire};
use domain::joueur::{CommandeJoueur, Joueur, SourceXp};
use domain::quete::Quete;
use domain::valeurs::{Classe, NomJoueur, Or, Quantite};
use magasin::Metadonnees;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

/// The interval the tests snapshot at: small, so that a few commands cross it.
const INTERVALLE: u32 = 10;

fn depot(pool: &PgPool, intervalle: u32) -> Depot {
    Depot::new(pool.clone(), Catalogue::officiel().expect("catalogue")).avec_instantanes(intervalle)
}

fn meta() -> Metadonnees {
    let compte = CompteId::from_uuid(Uuid::from_u64_pair(2, 1));
    Metadonnees::pour_compte(compte, Uuid::new_v4(), Uuid::new_v4(), Utc::now())
}

fn joueur() -> JoueurId {
    JoueurId::from_uuid(Uuid::from_u64_pair(1, 1))
}

fn inventaire() -> String {
    joueur().to_string()
}

fn pain() -> CommandeInventaire {
    CommandeInventaire::Acheter {
        marchand: "apothicaire_mirabelle".parse().expect("code"),
        item: "pain".parse().expect("code"),
        quantite: Quantite::UN,
    }
}

fn butin(n: u64) -> CommandeInventaire {
    CommandeInventaire::RecevoirButin {
        combat_id: CombatId::from_uuid(Uuid::from_u64_pair(3, n)),
        or: Or::new(7),
        items: Vec::new(),
    }
}

async fn executer(m: &Depot, commande: CommandeInventaire) {
    m.executer::<Inventaire>(&inventaire(), commande, &meta())
        .await
        .expect("commande d'inventaire");
}

/// Opens the inventory, then plays `tours` rounds of loot and a purchase.
async fn ouvrir_et_jouer(m: &Depot, tours: u64) {
    executer(
        m,
        CommandeInventaire::Ouvrir {
            joueur_id: joueur(),
        },
    )
    .await;
    for n in 0..tours {
        executer(m, butin(n)).await;
        executer(m, pain()).await;
    }
}

/// An inventory whose latest snapshot is followed by a tail: opened, then loot and purchases
/// (1 or 2 events each) past a few intervals, then one more purchase (2 events, under one
/// interval) if the last snapshot is at the stream's end. Returns the stream's length.
async fn inventaire_avec_instantane_et_suite(pool: &PgPool) -> i64 {
    let m = depot(pool, INTERVALLE);
    ouvrir_et_jouer(&m, 12).await;
    m.attendre_instantanes().await;
    let (avant, _, _) = instantane(pool, "Inventaire", &inventaire())
        .await
        .expect("un instantané après plusieurs intervalles");
    if longueur(pool, "Inventaire", &inventaire()).await == avant {
        executer(&m, pain()).await;
        m.attendre_instantanes().await;
    }
    let total = longueur(pool, "Inventaire", &inventaire()).await;
    let (version, _, _) = instantane(pool, "Inventaire", &inventaire())
        .await
        .expect("instantané");
    assert_eq!(version, avant, "deux événements ne font pas un intervalle");
    assert!(version < total, "une suite après l'instantané");
    assert_eq!(m.compteurs().instantanes.echecs.load(Ordering::Relaxed), 0);
    total
}

/// The stored snapshot of an aggregate: version, fingerprint, state.
async fn instantane(pool: &PgPool, genre: &str, id: &str) -> Option<(i64, String, Value)> {
    sqlx::query_as::<_, (i64, String, Json<Value>)>(
        "SELECT version, empreinte, etat FROM instantanes \
         WHERE aggregate_type = $1 AND aggregate_id = $2",
    )
    .bind(genre)
    .bind(id)
    .fetch_optional(pool)
    .await
    .expect("lecture des instantanés")
    .map(|(v, e, Json(etat))| (v, e, etat))
}

async fn longueur(pool: &PgPool, genre: &str, id: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = $1 AND aggregate_id = $2",
    )
    .bind(genre)
    .bind(id)
    .fetch_one(pool)
    .await
    .expect("longueur du flux")
}

/// The fold of a stream's events `1..=version`, straight from the table.
async fn pli<A>(pool: &PgPool, id: &str, version: i64) -> A
where
    A: Aggregate,
    A::Event: DeserializeOwned + Unpin + Send + 'static,
{
    let evenements: Vec<Json<A::Event>> = sqlx::query_scalar(
        "SELECT payload FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 \
         AND sequence <= $3 ORDER BY sequence",
    )
    .bind(A::TYPE)
    .bind(id)
    .bind(version)
    .fetch_all(pool)
    .await
    .expect("flux");
    let mut etat = A::default();
    for Json(e) in evenements {
        etat.apply(e);
    }
    etat
}

/// Rewrites the stored snapshot of the inventory.
async fn remplacer(pool: &PgPool, version: i64, empreinte: &str, etat: &str) {
    let n = sqlx::query(
        "UPDATE instantanes SET version = $3, empreinte = $4, etat = $5::json \
         WHERE aggregate_type = $1 AND aggregate_id = $2",
    )
    .bind("Inventaire")
    .bind(inventaire())
    .bind(version)
    .bind(empreinte)
    .bind(etat)
    .execute(pool)
    .await
    .expect("instantané réécrit")
    .rows_affected();
    assert_eq!(n, 1);
}

/// A snapshot's state with an item no event of the tail touches: a load that shows it started
/// from the snapshot.
fn marque(mut etat: Value) -> Value {
    etat["contenu"]["items"]["corne_de_troll"] = json!(7);
    etat
}

/// The inventory as a full replay gives it.
async fn rejeu_complet(pool: &PgPool) -> Value {
    let etat = depot(pool, 0)
        .charger::<Inventaire>(&inventaire())
        .await
        .expect("rejeu")
        .expect("inventaire ouvert");
    serde_json::to_value(etat).expect("état")
}

#[sqlx::test(migrations = "../migrations")]
async fn un_instantane_tient_exactement_les_evenements_jusqu_a_sa_version(pool: PgPool) {
    inventaire_avec_instantane_et_suite(&pool).await;
    let (version, empreinte, etat) = instantane(&pool, "Inventaire", &inventaire())
        .await
        .expect("instantané");
    assert_eq!(empreinte, <Inventaire as AgregatStocke>::empreinte());
    let attendu = pli::<Inventaire>(&pool, &inventaire(), version).await;
    assert_eq!(
        serde_json::from_value::<Inventaire>(etat).expect("état lisible"),
        attendu
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn un_chargement_a_froid_part_de_l_instantane_et_plie_la_suite(pool: PgPool) {
    let total = inventaire_avec_instantane_et_suite(&pool).await;
    let (version, empreinte, etat) = instantane(&pool, "Inventaire", &inventaire())
        .await
        .expect("instantané");
    let attendu = rejeu_complet(&pool).await;
    remplacer(&pool, version, &empreinte, &marque(etat).to_string()).await;

    let froid = depot(&pool, INTERVALLE);
    let charge = froid
        .charger::<Inventaire>(&inventaire())
        .await
        .expect("chargement")
        .expect("inventaire ouvert");
    // The mark comes from the snapshot, the rest from the snapshot and the tail.
    assert_eq!(
        serde_json::to_value(&charge).expect("état"),
        marque(attendu)
    );
    assert_eq!(
        froid
            .compteurs()
            .instantanes
            .ignores
            .load(Ordering::Relaxed),
        0
    );
    // The loaded version is the stream's: the next command writes where the stream ends.
    froid
        .executer::<Inventaire>(&inventaire(), pain(), &meta())
        .await
        .expect("commande après le chargement");
    assert_eq!(
        froid.compteurs().conflits.load(Ordering::Relaxed),
        0,
        "la version chargée n'était pas la bonne"
    );
    assert_eq!(
        longueur(&pool, "Inventaire", &inventaire()).await,
        total + 2
    );
}

/// A cold load that cannot use the stored snapshot: the state is the full replay, the
/// snapshot is counted as ignored and replaced by one of the code's fingerprint at the
/// stream's end.
async fn ignore_puis_remplace(pool: &PgPool, total: i64) {
    let attendu = rejeu_complet(pool).await;
    let froid = depot(pool, INTERVALLE);
    let charge = froid
        .charger::<Inventaire>(&inventaire())
        .await
        .expect("chargement")
        .expect("inventaire ouvert");
    assert_eq!(serde_json::to_value(&charge).expect("état"), attendu);
    assert_eq!(
        froid
            .compteurs()
            .instantanes
            .ignores
            .load(Ordering::Relaxed),
        1
    );
    froid.attendre_instantanes().await;
    assert_eq!(
        froid.compteurs().instantanes.ecrits.load(Ordering::Relaxed),
        1
    );
    let (version, empreinte, etat) = instantane(pool, "Inventaire", &inventaire())
        .await
        .expect("instantané remplacé");
    assert_eq!(version, total);
    assert_eq!(empreinte, <Inventaire as AgregatStocke>::empreinte());
    assert_eq!(etat, attendu);
}

#[sqlx::test(migrations = "../migrations")]
async fn un_instantane_d_une_autre_empreinte_est_ignore_et_remplace(pool: PgPool) {
    let total = inventaire_avec_instantane_et_suite(&pool).await;
    let (version, _, etat) = instantane(&pool, "Inventaire", &inventaire())
        .await
        .expect("instantané");
    remplacer(&pool, version, "forme-d-avant", &marque(etat).to_string()).await;
    ignore_puis_remplace(&pool, total).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn un_instantane_illisible_est_ignore_et_remplace(pool: PgPool) {
    let total = inventaire_avec_instantane_et_suite(&pool).await;
    let (version, empreinte, _) = instantane(&pool, "Inventaire", &inventaire())
        .await
        .expect("instantané");
    remplacer(&pool, version, &empreinte, r#"{"contenu": 42}"#).await;
    ignore_puis_remplace(&pool, total).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn un_instantane_en_avance_sur_le_flux_est_ignore_et_remplace(pool: PgPool) {
    // A snapshot of events the stream does not hold (a store restored without its snapshots,
    // events deleted by hand): trusting it would write the next event past a gap.
    let total = inventaire_avec_instantane_et_suite(&pool).await;
    let (_, empreinte, etat) = instantane(&pool, "Inventaire", &inventaire())
        .await
        .expect("instantané");
    remplacer(&pool, total + 50, &empreinte, &marque(etat).to_string()).await;
    ignore_puis_remplace(&pool, total).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn une_table_d_instantanes_en_panne_ne_casse_aucune_commande(pool: PgPool) {
    sqlx::query("ALTER TABLE instantanes RENAME TO instantanes_ailleurs")
        .execute(&pool)
        .await
        .expect("table déplacée");
    let m = depot(&pool, 3);
    ouvrir_et_jouer(&m, 6).await;
    m.attendre_instantanes().await;
    let compteurs = &m.compteurs().instantanes;
    assert!(compteurs.echecs.load(Ordering::Relaxed) >= 2);
    assert_eq!(compteurs.ecrits.load(Ordering::Relaxed), 0);

    let froid = depot(&pool, 3);
    let charge = froid
        .charger::<Inventaire>(&inventaire())
        .await
        .expect("un chargement sans instantanés rejoue le flux")
        .expect("inventaire ouvert");
    let attendu = rejeu_complet(&pool).await;
    assert_eq!(serde_json::to_value(&charge).expect("état"), attendu);
    assert_eq!(
        froid
            .compteurs()
            .instantanes
            .ignores
            .load(Ordering::Relaxed),
        1
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn un_personnage_se_recharge_de_son_instantane(pool: PgPool) {
    // Another aggregate type than the inventory: snapshots are keyed by type and id.
    let m = depot(&pool, 4);
    let id = joueur().to_string();
    let creer = CommandeJoueur::Creer {
        joueur_id: joueur(),
        compte_id: CompteId::from_uuid(Uuid::from_u64_pair(2, 1)),
        nom: NomJoueur::parse("Instantane").expect("nom"),
        classe: Classe::Heal,
    };
    m.executer::<Joueur>(&id, creer, &meta())
        .await
        .expect("création");
    for n in 0..9 {
        let gain = CommandeJoueur::GagnerXp {
            source: SourceXp::Combat(CombatId::from_uuid(Uuid::from_u64_pair(3, n))),
            xp: 40,
        };
        m.executer::<Joueur>(&id, gain, &meta()).await.expect("xp");
    }
    m.attendre_instantanes().await;
    let (version, empreinte, etat) = instantane(&pool, "Joueur", &id)
        .await
        .expect("instantané du personnage");
    assert_eq!(empreinte, <Joueur as AgregatStocke>::empreinte());
    assert_ne!(empreinte, <Inventaire as AgregatStocke>::empreinte());
    assert_eq!(
        serde_json::from_value::<Joueur>(etat).expect("état lisible"),
        pli::<Joueur>(&pool, &id, version).await
    );
    let froid = depot(&pool, 4);
    let charge = froid
        .charger::<Joueur>(&id)
        .await
        .expect("chargement")
        .expect("personnage");
    let complet = depot(&pool, 0)
        .charger::<Joueur>(&id)
        .await
        .expect("rejeu")
        .expect("personnage");
    assert_eq!(charge, complet);
    assert_eq!(charge.fiche().expect("créé").xp, 9 * 40);
}

#[test]
fn chaque_agregat_a_l_empreinte_de_sa_propre_forme() {
    let empreintes = [
        <Joueur as AgregatStocke>::empreinte(),
        <Combat as AgregatStocke>::empreinte(),
        <Quete as AgregatStocke>::empreinte(),
        <Inventaire as AgregatStocke>::empreinte(),
        <Echange as AgregatStocke>::empreinte(),
    ];
    for (i, e) in empreintes.iter().enumerate() {
        assert_eq!(e.len(), 64, "SHA-256 en hexadécimal : {e}");
        assert!(e.bytes().all(|o| o.is_ascii_hexdigit()), "{e}");
        assert!(
            !empreintes[..i].contains(e),
            "deux formes, une empreinte : {e}"
        );
    }
}
