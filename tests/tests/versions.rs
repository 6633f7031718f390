//! An event log that lives for years: a store holding `QueteAcceptee` at its old shape (1.0,
//! without `requis`) reads exactly as one holding the new (2.0). The store is written by real
//! commands, read by every reader (aggregate load, a command's replayed answer, projection
//! rebuild, audit stream, catch-up), then its `QueteAcceptee` rows are put back to their 1.0
//! shape and every reader must give the same answers (doc/magasin.md §6).

use std::collections::BTreeSet;

use chrono::Utc;
use commands::Depot;
use cqrs_es::DomainEvent as _;
use domain::Catalogue;
use domain::ids::{CompteId, JoueurId};
use domain::quete::{CommandeQuete, EvenementQuete, Quete, QueteId};
use domain::valeurs::Niveau;
use gateway::protocole::evenement_pousse;
use magasin::Metadonnees;
use magasin::lecteur::{self, PositionGlobale};
use projections::Projection;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const QUETES: [&str; 3] = ["rempart", "chasse_aux_loups", "aguerri"];

fn joueur() -> JoueurId {
    JoueurId::from_uuid(Uuid::from_u64_pair(16, 1))
}

fn id(quete: &str) -> String {
    QueteId {
        joueur_id: joueur(),
        quete: quete.parse().expect("code de quête"),
    }
    .to_string()
}

fn meta(n: u64) -> Metadonnees {
    let commande = Uuid::from_u64_pair(16, n);
    Metadonnees::pour_compte(
        CompteId::from_uuid(Uuid::from_u64_pair(16, 2)),
        commande,
        commande,
        Utc::now(),
    )
}

fn accepter(quete: &str) -> CommandeQuete {
    CommandeQuete::Accepter {
        joueur_id: joueur(),
        quete: quete.parse().expect("code de quête"),
        niveau_joueur: Niveau::UN,
        quetes_terminees: BTreeSet::new(),
    }
}

/// Everything a reader of the store answers about the quests.
#[derive(Debug, PartialEq)]
struct Lectures {
    /// Each quest's state, loaded from its stream by a process that never saw it.
    etats: Vec<Option<Quete>>,
    /// The first `Accepter`'s answer, replayed under the same command id.
    reponse_rejouee: Vec<EvenementQuete>,
    /// The quest log after a rebuild from the start.
    journal: Vec<projections::requetes::quetes::EntreeJournal>,
    /// The audit stream of each quest: type, version and payload of each event.
    audit: Vec<(String, String, Value)>,
    /// What `evenements.depuis` sends from the start (cursor aside, it names the row).
    rattrapage: Vec<Value>,
}

async fn lire_tout(pool: &PgPool) -> Lectures {
    let depot = Depot::new(pool.clone(), Catalogue::officiel().expect("catalogue"));
    let mut etats = Vec::new();
    let mut audit = Vec::new();
    for quete in QUETES {
        etats.push(
            depot
                .charger::<Quete>(&id(quete))
                .await
                .expect("chargement"),
        );
        for e in lecteur::flux_agregat(pool, "Quete", &id(quete))
            .await
            .expect("audit")
        {
            audit.push((e.event_type, e.event_version, e.payload));
        }
    }
    let reponse_rejouee = depot
        .executer::<Quete>(&id("rempart"), accepter("rempart"), &meta(1))
        .await
        .expect("rejeu");
    projections::reconstruction::reconstruire(pool, Projection::Quetes, 100, |_| {})
        .await
        .expect("reconstruction");
    let journal = projections::requetes::quetes::journal(pool, joueur())
        .await
        .expect("journal");
    let rattrapage = lecteur::lire_apres(pool, PositionGlobale::DEBUT, 1_000)
        .await
        .expect("rattrapage")
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(evenement_pousse(e)).expect("json");
            v["curseur"] = Value::Null;
            v
        })
        .collect();
    Lectures {
        etats,
        reponse_rejouee,
        journal,
        audit,
        rattrapage,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn un_magasin_aux_quetes_acceptees_en_1_0_se_lit_comme_en_2_0(pool: PgPool) {
    let depot = Depot::new(pool.clone(), Catalogue::officiel().expect("catalogue"));
    for (n, quete) in (1..).zip(QUETES) {
        let evenements = depot
            .executer::<Quete>(&id(quete), accepter(quete), &meta(n))
            .await
            .expect("acceptée");
        assert_eq!(evenements[0].event_version(), "2.0");
    }
    depot
        .executer::<Quete>(&id("chasse_aux_loups"), CommandeQuete::Abandonner, &meta(9))
        .await
        .expect("abandonnée");

    let avec_la_nouvelle_forme = lire_tout(&pool).await;
    let requis: Vec<&Value> = avec_la_nouvelle_forme
        .audit
        .iter()
        .filter(|(genre, ..)| genre == "QueteAcceptee")
        .map(|(_, _, p)| &p["QueteAcceptee"]["requis"])
        .collect();
    assert_eq!(requis, [&json!(1), &json!(4), &json!(3)]);

    // What a store written before the change holds: 1.0, without `requis`.
    let changees = sqlx::query(
        "UPDATE events SET event_version = '1.0', \
           payload = json_build_object('QueteAcceptee', (payload::jsonb -> 'QueteAcceptee') - 'requis') \
         WHERE event_type = 'QueteAcceptee'",
    )
    .execute(&pool)
    .await
    .expect("anciennes formes")
    .rows_affected();
    assert_eq!(changees, 3);
    let (sans_requis,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM events WHERE event_type = 'QueteAcceptee' \
         AND event_version = '1.0' AND payload -> 'QueteAcceptee' -> 'requis' IS NULL",
    )
    .fetch_one(&pool)
    .await
    .expect("lecture");
    assert_eq!(sans_requis, 3);

    let avec_l_ancienne_forme = lire_tout(&pool).await;
    assert_eq!(avec_l_ancienne_forme, avec_la_nouvelle_forme);

    // A command decided on a stream of old shapes writes at today's version after them.
    let suite = depot_neuf(&pool)
        .executer::<Quete>(&id("rempart"), CommandeQuete::Abandonner, &meta(10))
        .await
        .expect("abandon après rejeu");
    assert!(matches!(
        suite.as_slice(),
        [EvenementQuete::QueteAbandonnee { .. }]
    ));
}

fn depot_neuf(pool: &PgPool) -> Depot {
    Depot::new(pool.clone(), Catalogue::officiel().expect("catalogue"))
}
