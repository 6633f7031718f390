//! The cold load of a long-lived inventory, on the real event store: the whole stream replayed
//! (snapshots off) against a stored snapshot plus the tail (doc/magasin.md §2, « Les
//! instantanés »); and what snapshots cost where they are not needed: the cold load of a short
//! stream (one more round trip), and commands on a hot aggregate, without snapshots, with the
//! default interval, and snapshotted at every command.
//!
//! The inventory's history is played through the domain (loot with an item, the item sold,
//! bread bought and thrown away) and inserted in bulk; its snapshot is taken by a cold load
//! `BENCH_INTERVALLE - 1` events before the end (the longest tail the default interval leaves).
//!
//! `cargo bench -p commands --bench chargement_froid` (env: `DATABASE_URL`, `BENCH_EVENEMENTS`
//! 10000, `BENCH_TOURS` 30). It creates and drops its own database.

use std::time::{Duration, Instant};

use chrono::Utc;
use commands::Depot;
use commands::instantanes::INTERVALLE_PAR_DEFAUT;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use domain::catalogue::LigneItem;
use domain::ids::{CombatId, CompteId, JoueurId};
use domain::inventaire::{CommandeInventaire, EvenementInventaire, Inventaire};
use domain::valeurs::{Or, Quantite};
use domain::{Catalogue, Services};
use magasin::Metadonnees;
use sqlx::PgPool;
use uuid::Uuid;

use crate::commun::{BaseDeBanc, reglage};

mod commun;

fn meta() -> Metadonnees {
    let compte = CompteId::from_uuid(Uuid::from_u64_pair(2, 1));
    Metadonnees::pour_compte(compte, Uuid::new_v4(), Uuid::new_v4(), Utc::now())
}

fn code<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("code du catalogue")
}

/// An inventory's history of at least `n` events, as its commands produce them.
async fn histoire(catalogue: &Services, joueur_id: JoueurId, n: usize) -> Vec<EvenementInventaire> {
    let mut inventaire = Inventaire::default();
    let mut flux = Vec::with_capacity(n + 8);
    let mut combat = 0;
    while flux.len() < n {
        let commandes = if flux.is_empty() {
            vec![CommandeInventaire::Ouvrir { joueur_id }]
        } else {
            combat += 1;
            vec![
                CommandeInventaire::RecevoirButin {
                    combat_id: CombatId::from_uuid(Uuid::from_u64_pair(3, combat)),
                    or: Or::new(20),
                    items: vec![LigneItem {
                        item: code("peau_de_loup"),
                        quantite: Quantite::UN,
                    }],
                },
                CommandeInventaire::Vendre {
                    marchand: code("trappeur_gaspard"),
                    item: code("peau_de_loup"),
                    quantite: Quantite::UN,
                },
                CommandeInventaire::Acheter {
                    marchand: code("apothicaire_mirabelle"),
                    item: code("pain"),
                    quantite: Quantite::UN,
                },
                CommandeInventaire::Jeter {
                    item: code("pain"),
                    quantite: Quantite::UN,
                },
            ]
        };
        for commande in commandes {
            let sink = EventSink::default();
            inventaire
                .handle(commande, catalogue, &sink)
                .await
                .expect("commande de l'histoire");
            flux.extend(sink.collect().await);
        }
    }
    flux
}

/// Appends events to a stream from `apres + 1`, a thousand per statement.
async fn inserer(pool: &PgPool, id: &str, apres: i64, evenements: &[EvenementInventaire]) {
    for (lot, morceau) in evenements.chunks(1_000).enumerate() {
        let debut = apres + i64::try_from(lot * 1_000).expect("petit");
        let genres: Vec<String> = morceau.iter().map(DomainEvent::event_type).collect();
        let versions: Vec<String> = morceau.iter().map(DomainEvent::event_version).collect();
        let payloads: Vec<String> = morceau
            .iter()
            .map(|e| serde_json::to_string(e).expect("événement"))
            .collect();
        sqlx::query(
            "INSERT INTO events \
             (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             SELECT 'Inventaire', $1, $2 + e.rang, e.genre, e.version, e.payload::json, '{}'::json \
             FROM UNNEST($3::text[], $4::text[], $5::text[]) WITH ORDINALITY \
                  AS e (genre, version, payload, rang)",
        )
        .bind(id)
        .bind(debut)
        .bind(genres)
        .bind(versions)
        .bind(payloads)
        .execute(pool)
        .await
        .expect("insertion de l'histoire");
    }
}

struct Mesure {
    durees: Vec<Duration>,
}

impl Mesure {
    fn centile(&self, c: f64) -> Duration {
        let i = ((self.durees.len() - 1) as f64 * c).round() as usize;
        self.durees[i]
    }

    fn ligne(&self, quoi: &str) -> String {
        format!(
            "| {quoi} | {:.2} ms | {:.2} ms | {:.2} ms |",
            self.centile(0.0).as_secs_f64() * 1e3,
            self.centile(0.5).as_secs_f64() * 1e3,
            self.centile(0.9).as_secs_f64() * 1e3,
        )
    }
}

/// `tours` cold loads, each by a fresh store (nothing in memory), with this interval.
async fn charger_a_froid(
    pool: &PgPool,
    catalogue: &Services,
    id: &str,
    intervalle: u32,
    tours: usize,
) -> (Mesure, Inventaire) {
    let mut durees = Vec::with_capacity(tours);
    let mut dernier = None;
    for _ in 0..tours {
        let depot = Depot::new(pool.clone(), catalogue.clone()).avec_instantanes(intervalle);
        let t = Instant::now();
        let etat = depot
            .charger::<Inventaire>(id)
            .await
            .expect("chargement")
            .expect("inventaire ouvert");
        durees.push(t.elapsed());
        depot.attendre_instantanes().await;
        dernier = Some(etat);
    }
    durees.sort_unstable();
    (Mesure { durees }, dernier.expect("au moins un tour"))
}

/// `n` commands (buy bread, throw it away) on a hot inventory, snapshotted every `intervalle`.
async fn commander(depot: &Depot, id: &str, n: usize) -> Mesure {
    let mut durees = Vec::with_capacity(n);
    for i in 0..n {
        let commande = if i % 2 == 0 {
            CommandeInventaire::Acheter {
                marchand: code("apothicaire_mirabelle"),
                item: code("pain"),
                quantite: Quantite::UN,
            }
        } else {
            CommandeInventaire::Jeter {
                item: code("pain"),
                quantite: Quantite::UN,
            }
        };
        let t = Instant::now();
        depot
            .executer::<Inventaire>(id, commande, &meta())
            .await
            .expect("commande");
        durees.push(t.elapsed());
    }
    depot.attendre_instantanes().await;
    durees.sort_unstable();
    Mesure { durees }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(banc());
}

async fn banc() {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let n: usize = reglage("BENCH_EVENEMENTS", 10_000);
    let tours: usize = reglage("BENCH_TOURS", 30);
    let intervalle = INTERVALLE_PAR_DEFAUT;
    let base = format!("mmo_bench_instantanes_{}", std::process::id());
    let base_de_banc = BaseDeBanc::creer(&url, &base, 8).await;
    let pool = base_de_banc.pool.clone();
    let catalogue = Catalogue::officiel().expect("catalogue");

    // The long-lived inventory: its snapshot at n - (interval - 1), then the tail.
    let joueur_id = JoueurId::from_uuid(Uuid::from_u64_pair(1, 1));
    let id = joueur_id.to_string();
    let mut flux = histoire(&catalogue, joueur_id, n).await;
    flux.truncate(n);
    let coupe = n - (intervalle as usize - 1);
    inserer(&pool, &id, 0, &flux[..coupe]).await;
    charger_a_froid(&pool, &catalogue, &id, intervalle, 1).await;
    inserer(
        &pool,
        &id,
        i64::try_from(coupe).expect("petit"),
        &flux[coupe..],
    )
    .await;
    let (version, taille): (i64, i32) = sqlx::query_as(
        "SELECT version, octet_length(etat::text) FROM instantanes WHERE aggregate_id = $1",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .expect("l'instantané du chargement à froid");

    // A short stream: a fresh inventory, opened (the starting kit).
    let court = JoueurId::from_uuid(Uuid::from_u64_pair(1, 2));
    let court_id = court.to_string();
    let ouverture = histoire(&catalogue, court, 1).await;
    inserer(&pool, &court_id, 0, &ouverture).await;

    let (avant, complet) = charger_a_froid(&pool, &catalogue, &id, 0, tours).await;
    let (apres, partiel) = charger_a_froid(&pool, &catalogue, &id, intervalle, tours).await;
    assert_eq!(complet, partiel, "instantané + suite ≠ rejeu complet");
    let (court_sans, _) = charger_a_froid(&pool, &catalogue, &court_id, 0, tours).await;
    let (court_avec, _) = charger_a_froid(&pool, &catalogue, &court_id, intervalle, tours).await;

    let commandes = 200;
    let sans = Depot::new(pool.clone(), catalogue.clone()).avec_instantanes(0);
    let cmd_sans = commander(&sans, &id, commandes).await;
    let defaut = Depot::new(pool.clone(), catalogue.clone()).avec_instantanes(intervalle);
    let cmd_defaut = commander(&defaut, &id, commandes).await;
    let chaque = Depot::new(pool.clone(), catalogue.clone()).avec_instantanes(1);
    let cmd_chaque = commander(&chaque, &id, commandes).await;
    let ecrits = chaque
        .compteurs()
        .instantanes
        .ecrits
        .load(std::sync::atomic::Ordering::Relaxed);
    let omis = chaque
        .compteurs()
        .instantanes
        .omis
        .load(std::sync::atomic::Ordering::Relaxed);

    println!(
        "inventaire de {n} événements ; instantané à la version {version} ({taille} octets de \
         JSON), suite de {} événements ; {tours} chargements à froid par ligne\n",
        n - coupe
    );
    println!("| chargement à froid | min | p50 | p90 |");
    println!("|---|---:|---:|---:|");
    println!("{}", avant.ligne(&format!("{n} événements, rejeu complet")));
    println!(
        "{}",
        apres.ligne(&format!("{n} événements, instantané + {}", n - coupe))
    );
    println!(
        "{}",
        court_sans.ligne(&format!(
            "{} événements (ouverture), sans instantanés",
            ouverture.len()
        ))
    );
    println!(
        "{}",
        court_avec.ligne(&format!(
            "{} événements (ouverture), instantanés actifs (un aller-retour de plus)",
            ouverture.len()
        ))
    );
    println!("\n| {commandes} commandes sur l'inventaire chaud | min | p50 | p90 |");
    println!("|---|---:|---:|---:|");
    println!("{}", cmd_sans.ligne("sans instantanés"));
    println!(
        "{}",
        cmd_defaut.ligne(&format!("un instantané tous les {intervalle} événements"))
    );
    println!(
        "{}",
        cmd_chaque.ligne(&format!(
            "un instantané à chaque commande ({ecrits} écrits, {omis} omis)"
        ))
    );

    base_de_banc.supprimer().await;
}
