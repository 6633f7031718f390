//! Command throughput on the real event store, beside the machine's ceiling.
//!
//! For each concurrency N, N clients send `GagnerXp` commands through `Depot::executer` for a
//! fixed time, each on its own character (a client moves to a fresh character every
//! `BENCH_HISTORIQUE` commands, 100 by default, so histories stay the length of a play session:
//! every command replays its aggregate's history, so this length weighs on the result). The
//! same run measures `pgbench` inserting one row per transaction at the same concurrency on the
//! same server: the ratio says how close the store is to what PostgreSQL can commit.
//!
//! Commands decided at the same moment are written together (group commit,
//! `commands::ecriture_groupee`), with the server's settings and variables
//! (`MMO_ECRITURE_ATTENTE_US`, `MMO_ECRITURE_COMMANDES`, `MMO_ECRITURE_LOTS_EN_VOL`,
//! doc/passerelle.md §1.1); the table says how many commands a statement carried on average.
//!
//! `cargo bench -p commands --bench debit_commandes` (env: `DATABASE_URL`, `BENCH_SECONDES`,
//! `BENCH_CONCURRENCES` e.g. `1,4,8,16,32`, `BENCH_HISTORIQUE`, and the settings above). It
//! creates and drops its own database.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use commands::Depot;
use commands::ecriture_groupee::ReglagesEcriture;
use domain::Catalogue;
use domain::ids::{CombatId, CompteId, JoueurId};
use domain::joueur::{CommandeJoueur, Joueur, SourceXp};
use domain::valeurs::{Classe, NomJoueur};
use magasin::Metadonnees;
use uuid::Uuid;

use crate::commun::{BaseDeBanc, reglage};

mod commun;

struct Mesure {
    commandes: usize,
    duree: Duration,
    latences: Vec<Duration>,
}

impl Mesure {
    fn par_seconde(&self) -> f64 {
        self.commandes as f64 / self.duree.as_secs_f64()
    }

    fn centile(&self, c: f64) -> Duration {
        if self.latences.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latences.len() - 1) as f64 * c).round() as usize;
        self.latences[i]
    }
}

fn meta() -> Metadonnees {
    let compte = CompteId::from_uuid(Uuid::from_u64_pair(2, 1));
    Metadonnees::pour_compte(compte, Uuid::new_v4(), Uuid::new_v4(), Utc::now())
}

async fn nouveau_personnage(depot: &Depot) -> JoueurId {
    let joueur_id = JoueurId::generer();
    let creer = CommandeJoueur::Creer {
        joueur_id,
        compte_id: CompteId::from_uuid(Uuid::from_u64_pair(2, 1)),
        nom: NomJoueur::parse("Banc").expect("nom valide"),
        classe: Classe::Dps,
    };
    depot
        .executer::<Joueur>(&joueur_id.to_string(), creer, &meta())
        .await
        .expect("création");
    joueur_id
}

async fn mesurer(depot: Arc<Depot>, clients: usize, duree: Duration, historique: u32) -> Mesure {
    let debut = Instant::now();
    let taches: Vec<_> = (0..clients)
        .map(|_| {
            let depot = depot.clone();
            tokio::spawn(async move {
                let mut latences = Vec::new();
                let mut joueur = nouveau_personnage(&depot).await;
                let mut n = 0u32;
                while debut.elapsed() < duree {
                    if n == historique {
                        joueur = nouveau_personnage(&depot).await;
                        n = 0;
                    }
                    let commande = CommandeJoueur::GagnerXp {
                        source: SourceXp::Combat(CombatId::generer()),
                        xp: 1,
                    };
                    let t = Instant::now();
                    depot
                        .executer::<Joueur>(&joueur.to_string(), commande, &meta())
                        .await
                        .expect("commande");
                    latences.push(t.elapsed());
                    n += 1;
                }
                latences
            })
        })
        .collect();
    let mut latences = Vec::new();
    for t in taches {
        latences.extend(t.await.expect("client"));
    }
    let duree = debut.elapsed();
    latences.sort_unstable();
    Mesure {
        commandes: latences.len(),
        duree,
        latences,
    }
}

/// pgbench, one single-row insert per transaction, at the same concurrency: transactions/s.
fn pgbench(url_base: &str, clients: usize, secondes: u64) -> Option<f64> {
    let script = std::env::temp_dir().join("mmo_bench_insertion.sql");
    std::fs::write(
        &script,
        "INSERT INTO bench_insertion (donnees) VALUES ('{}');\n",
    )
    .ok()?;
    let sortie = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
        ])
        .args(["-T", &secondes.to_string(), "-f"])
        .arg(&script)
        .arg(url_base)
        .output()
        .ok()?;
    let texte = String::from_utf8_lossy(&sortie.stdout);
    texte
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|v| v.parse().ok())
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
    let secondes: u64 = reglage("BENCH_SECONDES", 5);
    let concurrences: Vec<usize> = std::env::var("BENCH_CONCURRENCES")
        .unwrap_or_else(|_| "1,4,8,16,32".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let historique: u32 = reglage("BENCH_HISTORIQUE", 100);
    let base = format!("mmo_bench_{}", std::process::id());
    let max = concurrences.iter().copied().max().unwrap_or(1);
    let base_de_banc = BaseDeBanc::creer(&url, &base, u32::try_from(max).unwrap_or(32) + 2).await;
    let pool = base_de_banc.pool.clone();
    sqlx::query("CREATE TABLE bench_insertion (id bigserial PRIMARY KEY, donnees json NOT NULL)")
        .execute(&pool)
        .await
        .expect("table pgbench");
    let defaut = ReglagesEcriture::default();
    let ecriture = ReglagesEcriture {
        attente: Duration::from_micros(reglage(
            "MMO_ECRITURE_ATTENTE_US",
            u64::try_from(defaut.attente.as_micros()).unwrap_or(0),
        )),
        commandes_par_lot: reglage("MMO_ECRITURE_COMMANDES", defaut.commandes_par_lot),
        lots_en_vol: reglage("MMO_ECRITURE_LOTS_EN_VOL", defaut.lots_en_vol),
    };
    let depot = Arc::new(
        Depot::new(pool.clone(), Catalogue::officiel().expect("catalogue")).avec_ecriture(ecriture),
    );
    let ecriture = depot.reglages_ecriture();

    println!("historique par personnage : {historique} commandes");
    println!(
        "écriture groupée : attente {} µs, {} commandes par lot au plus, {} lots en vol\n",
        ecriture.attente.as_micros(),
        ecriture.commandes_par_lot,
        ecriture.lots_en_vol
    );
    println!(
        "| clients | commandes/s | p50 | p99 | commandes par instruction | pgbench insertions/s | rapport |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let compteurs = depot.compteurs().ecriture.clone();
    for clients in concurrences {
        let (lots, commandes) = (
            compteurs.lots.load(Ordering::Relaxed),
            compteurs.commandes.load(Ordering::Relaxed),
        );
        let m = mesurer(
            depot.clone(),
            clients,
            Duration::from_secs(secondes),
            historique,
        )
        .await;
        let par_lot = (compteurs.commandes.load(Ordering::Relaxed) - commandes) as f64
            / (compteurs.lots.load(Ordering::Relaxed) - lots).max(1) as f64;
        let plafond = pgbench(&base_de_banc.url, clients, secondes);
        let (plafond_txt, rapport) = match plafond {
            Some(tps) => (
                format!("{tps:.0}"),
                format!("{:.0} %", m.par_seconde() / tps * 100.0),
            ),
            None => ("pgbench absent".to_owned(), "—".to_owned()),
        };
        println!(
            "| {clients} | {:.0} | {:.2} ms | {:.2} ms | {par_lot:.1} | {plafond_txt} | {rapport} |",
            m.par_seconde(),
            m.centile(0.50).as_secs_f64() * 1e3,
            m.centile(0.99).as_secs_f64() * 1e3,
        );
    }
    base_de_banc.supprimer().await;
}
