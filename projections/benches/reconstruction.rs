//! Rebuild speed on a large store, beside the raw ordered read of the same events.
//!
//! Fills a fresh database with `BENCH_EVENEMENTS` (default 1,000,000) events: characters with
//! their XP and levels, inventories with gold and item movements, quests accepted, advanced and
//! completed. The payloads are the domain's own events serialized as the command side writes
//! them, bulk-inserted (writing a million events through the command side would measure the
//! command side). Then, in the same run:
//! - the raw ordered read: every event through the tailing reader (`lire_apres`, batches of
//!   5,000), which is the floor of any rebuild's cost;
//! - the rebuild of each projection (`reconstruire`, batches of `TAILLE_LOT` as for `mmo
//!   projections rebuild`): every projection goes through every event and folds those of its
//!   aggregates (only their payloads leave the database).
//!
//! `cargo bench -p projections --bench reconstruction` (env: `DATABASE_URL`,
//! `BENCH_EVENEMENTS`). It creates and drops its own database.

use std::time::Instant;

use cqrs_es::{Aggregate, DomainEvent};
use domain::Catalogue;
use domain::ids::{CombatId, CompteId, JoueurId};
use domain::inventaire::{Cause, EvenementInventaire, Inventaire};
use domain::joueur::{EvenementJoueur, Joueur, SourceXp};
use domain::quete::{CleFait, EvenementQuete, Quete, QueteId};
use domain::valeurs::{Classe, Niveau, NomJoueur, Or, Quantite};
use magasin::MIGRATIONS;
use magasin::lecteur::{PositionGlobale, lire_apres};
use projections::Projection;
use projections::reconstruction::{TAILLE_LOT, reconstruire};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

/// One row of the `events` table to insert.
struct Ligne {
    type_agregat: &'static str,
    id: String,
    sequence: i64,
    type_evenement: String,
    version: String,
    payload: serde_json::Value,
}

/// One aggregate's stream as rows, its sequences numbered from 1.
fn flux<A: Aggregate>(id: &str, evenements: &[A::Event]) -> impl Iterator<Item = Ligne> {
    (1i64..).zip(evenements).map(move |(sequence, e)| Ligne {
        type_agregat: A::TYPE,
        id: id.to_owned(),
        sequence,
        type_evenement: e.event_type(),
        version: e.event_version(),
        payload: serde_json::to_value(e).expect("événement sérialisable"),
    })
}

/// 53 events of one character's life: its sheet (21), its inventory (26), a quest (6).
fn vie(n: u64, catalogue: &Catalogue) -> Vec<Ligne> {
    let joueur_id = JoueurId::from_uuid(Uuid::from_u64_pair(1, n));
    let id = joueur_id.to_string();
    let classe = [Classe::Tank, Classe::Dps, Classe::Heal][(n % 3) as usize];
    let mut lignes = Vec::with_capacity(56);
    let mut j = vec![EvenementJoueur::JoueurCree {
        joueur_id,
        compte_id: CompteId::from_uuid(Uuid::from_u64_pair(2, n / 5)),
        nom: NomJoueur::parse(&format!("Banc{}", n % 100_000)).expect("nom"),
        classe,
        niveau: Niveau::UN,
        stats: catalogue.stats(classe, Niveau::UN),
    }];
    let mut xp = 0u64;
    let mut niveau = Niveau::UN;
    for k in 0..16 {
        xp += 60;
        j.push(EvenementJoueur::XpGagnee {
            source: SourceXp::Combat(CombatId::from_uuid(Uuid::from_u64_pair(n, k))),
            xp: 60,
            xp_totale: xp,
        });
        let atteint = catalogue.niveau_pour_xp(xp);
        if atteint > niveau {
            niveau = atteint;
            j.push(EvenementJoueur::NiveauAtteint {
                niveau,
                stats: catalogue.stats(classe, niveau),
            });
        }
    }
    lignes.extend(flux::<Joueur>(&id, &j));

    lignes.extend(inventaire(joueur_id));
    lignes.extend(quete(joueur_id, catalogue));
    lignes
}

/// An inventory's loot and throwaways.
fn inventaire(joueur_id: JoueurId) -> Vec<Ligne> {
    let n = joueur_id.uuid().as_u64_pair().1;
    let id = joueur_id.to_string();
    let pain: domain::valeurs::CodeItem = "pain".parse().expect("code");
    let mut inv = vec![EvenementInventaire::InventaireOuvert { joueur_id }];
    let (mut or, mut pains) = (0u64, 0u32);
    for k in 0..10u64 {
        let cause = Cause::Butin {
            combat_id: CombatId::from_uuid(Uuid::from_u64_pair(n, k)),
        };
        or += 7;
        inv.push(EvenementInventaire::OrCredite {
            montant: Or::new(7),
            solde: Or::new(or),
            cause: cause.clone(),
        });
        pains += 2;
        inv.push(EvenementInventaire::ItemAjoute {
            item: pain.clone(),
            quantite: Quantite::parse(2).expect("q"),
            total: pains,
            cause,
        });
    }
    for _ in 0..5 {
        pains -= 1;
        inv.push(EvenementInventaire::ItemRetire {
            item: pain.clone(),
            quantite: Quantite::UN,
            total: pains,
            cause: Cause::Destruction,
        });
    }
    flux::<Inventaire>(&id, &inv).collect()
}

/// A quest accepted, advanced and completed.
fn quete(joueur_id: JoueurId, catalogue: &Catalogue) -> Vec<Ligne> {
    let n = joueur_id.uuid().as_u64_pair().1;

    let code = "chasse_aux_loups".parse().expect("code");
    let def = catalogue.quete(&code).expect("quête");
    let quete = QueteId {
        joueur_id,
        quete: code.clone(),
    }
    .to_string();
    let requis = def.objectif.requis();
    let mut q = vec![EvenementQuete::QueteAcceptee {
        joueur_id,
        quete: code.clone(),
        objectif: def.objectif.clone(),
        requis,
    }];
    for k in 1..=requis {
        q.push(EvenementQuete::QueteProgressee {
            source: CleFait::Combat(CombatId::from_uuid(Uuid::from_u64_pair(n, u64::from(k)))),
            progression: k,
            requis,
        });
    }
    q.push(EvenementQuete::QueteTerminee {
        joueur_id,
        quete: code,
        recompense: def.recompense.clone(),
    });
    flux::<Quete>(&quete, &q).collect()
}

async fn remplir(pool: &PgPool, cible: u64) -> u64 {
    let catalogue = Catalogue::officiel().expect("catalogue");
    let (mut ecrits, mut n) = (0u64, 0u64);
    while ecrits < cible {
        let mut lot: Vec<Ligne> = Vec::with_capacity(10_000);
        while lot.len() < 10_000 {
            lot.extend(vie(n, &catalogue));
            n += 1;
        }
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             SELECT t, i, s, e, v, p, '{}'::json FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::json[]) AS u(t, i, s, e, v, p)",
        )
        .bind(lot.iter().map(|l| l.type_agregat).collect::<Vec<_>>())
        .bind(lot.iter().map(|l| l.id.as_str()).collect::<Vec<_>>())
        .bind(lot.iter().map(|l| l.sequence).collect::<Vec<_>>())
        .bind(lot.iter().map(|l| l.type_evenement.as_str()).collect::<Vec<_>>())
        .bind(lot.iter().map(|l| l.version.as_str()).collect::<Vec<_>>())
        .bind(lot.iter().map(|l| l.payload.clone()).collect::<Vec<_>>())
        .execute(pool)
        .await
        .expect("insertion");
        ecrits += lot.len() as u64;
    }
    ecrits
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(banc());
}

async fn banc() {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let cible: u64 = std::env::var("BENCH_EVENEMENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let base = format!("mmo_bench_reconstruction_{}", std::process::id());
    let mut admin = PgConnection::connect(&url)
        .await
        .expect("connexion à PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {base}"))
        .execute(&mut admin)
        .await
        .expect("base");
    let url_base = format!("{}/{base}", url.rsplit_once('/').expect("url avec base").0);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&url_base)
        .await
        .expect("pool");
    MIGRATIONS.run(&pool).await.expect("migrations");

    let debut = Instant::now();
    let total = remplir(&pool, cible).await;
    sqlx::query("VACUUM ANALYZE events")
        .execute(&pool)
        .await
        .expect("vacuum");
    println!(
        "{total} événements écrits en {:.1} s\n",
        debut.elapsed().as_secs_f64()
    );

    println!("| mesure | événements | durée | événements/s | rapport à la lecture brute |");
    println!("|---|---:|---:|---:|---:|");
    let debut = Instant::now();
    let (mut lus, mut position) = (0u64, PositionGlobale::DEBUT);
    loop {
        let lot = lire_apres(&pool, position, 5_000).await.expect("lecture");
        let Some(dernier) = lot.last() else { break };
        position = dernier.position();
        lus += lot.len() as u64;
    }
    let brute = lus as f64 / debut.elapsed().as_secs_f64();
    println!(
        "| lecture brute ordonnée (lire_apres, lots de 5 000) | {lus} | {:.1} s | {brute:.0} | 100 % |",
        debut.elapsed().as_secs_f64()
    );
    for projection in Projection::TOUTES {
        let debut = Instant::now();
        let rejoues = reconstruire(&pool, projection, TAILLE_LOT, |_| {})
            .await
            .expect("reconstruction");
        let duree = debut.elapsed().as_secs_f64();
        let debit = rejoues as f64 / duree;
        println!(
            "| reconstruction `{}` | {rejoues} | {duree:.1} s | {debit:.0} | {:.0} % |",
            projection.nom(),
            debit / brute * 100.0
        );
    }
    pool.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {base} WITH (FORCE)"))
        .execute(&mut admin)
        .await;
}
