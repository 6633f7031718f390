//! `fautes`: the fault harness. It starts `mmo serve` as a process of its own on a fresh
//! database, drives a steady load of commands with known ids (`activite`), and strikes in
//! turn: none (concurrency alone), `kill -9` of the server then a restart, a PostgreSQL
//! restart, a NATS restart, a flush of the server's Redis database. After each it measures
//! how long the system took to serve again and to catch up, by itself, and checks
//! (`controles`) that every acknowledged command is in the store exactly once, no command
//! was applied twice, every read model equals a rebuild, the economy is conserved, and the
//! caches equal the rows.
//!
//! It stops and restarts the machine's PostgreSQL and NATS: run it alone
//! (`scripts/fautes.sh`, which builds it and `mmo` first). Exit code 0 when every check
//! held; the report goes to standard output.
//!
//! `fautes grappe` strikes the cluster of `scripts/grappe.sh` instead (`grappe`): the
//! PostgreSQL primary killed and its standby promoted, a NATS node, a gateway instance, Redis
//! lost, under the same load spread over the instances, with the same checks.
//!
//! `fautes restauration` is the restore drill instead (`restauration`, run by
//! `scripts/exercice_restauration.sh`): the same load and checks on a cluster of its own, whose
//! backups are restored to a point in time.

mod activite;
mod controles;
mod grappe;
mod restauration;
mod serveur;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use clap::Parser;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

use crate::activite::{Acteur, Issue, Joueur, Journal, Passerelles, envoyer};
use crate::serveur::{BASE_REDIS, Outil, ServeurMmo, executer, journal_neuf, script};

/// The faults, in the order they strike. The first five strike the machine's engines and one
/// `mmo serve`; with `fautes grappe`, `aucune`, `nats`, `redis` and the last three strike the
/// cluster of `scripts/grappe.sh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Panne {
    /// No fault: the load alone (concurrent trades, crafts, twin sends).
    Aucune,
    /// SIGKILL the server, then start it again.
    Kill9,
    /// Restart PostgreSQL (fast shutdown: open transactions are cut).
    Postgres,
    /// Restart the NATS server; on the cluster, SIGKILL the node leading the stream (started
    /// again after the phase).
    Nats,
    /// FLUSHDB the server's Redis database; on the cluster, SIGKILL the redis-server, started
    /// again empty a second later.
    Redis,
    /// The cluster: SIGKILL the PostgreSQL primary (every process of it), promote the standby
    /// (the lost node is rebuilt as the new standby after the phase).
    Primaire,
    /// The cluster: SIGKILL the `mmo serve` instance leading the relay; clients go to the
    /// others (started again after the phase).
    Passerelle,
    /// The cluster: SIGKILL the PostgreSQL standby; commits wait for it (synchronous
    /// replication) until the primary is let commit alone (`grappe.sh degrader`); rebuilt as
    /// the standby after the phase.
    Reserve,
}

/// What the faults strike: the machine's engines and one server, or the cluster.
pub(crate) trait Cible: Outil {
    /// The gateway instances the load goes through.
    fn passerelles(&self) -> &Arc<Passerelles>;
    /// Strikes; returns when the fault is over (the service is back), or, on the cluster,
    /// once it has struck (what was lost stays lost: the others serve).
    async fn frapper(&mut self, panne: Panne, http: &reqwest::Client) -> anyhow::Result<()>;
    /// After a phase's checks, brings back what the fault left down, so that the next phase
    /// strikes a whole system; how long that took, when there was something to do.
    async fn reparer(
        &mut self,
        panne: Panne,
        http: &reqwest::Client,
    ) -> anyhow::Result<Option<Duration>>;
}

/// The fault harness (loopback only; stops and restarts the machine's PostgreSQL and NATS).
#[derive(Debug, Parser)]
#[command(name = "fautes")]
struct Options {
    /// Another test than the faults.
    #[command(subcommand)]
    mode: Option<Mode>,
    /// The `mmo` binary (default: beside this one).
    #[arg(long)]
    mmo: Option<PathBuf>,
    /// PostgreSQL server, without a database name (the faults).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    /// Virtual players (one account and character each).
    #[arg(long, default_value_t = 8)]
    joueurs: usize,
    /// Commands per second per player.
    #[arg(long, default_value_t = 10)]
    debit: u32,
    /// Seconds of load before each fault, and again after it (the restore drill: before the
    /// base backup, between it and the moment restored, and after that moment).
    #[arg(long, default_value_t = 4)]
    duree: u64,
    /// Longest accepted time, in seconds, from a fault's end to a new character fully
    /// served: the bound of "recovers by itself" (the faults).
    #[arg(long, default_value_t = 30)]
    reprise_max: u64,
    /// The faults, in order (default: aucune,kill9,postgres,nats,redis; with `grappe`:
    /// aucune,primaire,reserve,nats,passerelle,redis).
    #[arg(long, value_delimiter = ',')]
    pannes: Vec<Panne>,
}

#[derive(Debug, clap::Subcommand)]
enum Mode {
    /// The restore drill (`scripts/exercice_restauration.sh` makes the clusters): under the
    /// load, a base backup, a moment T; then the primary's server is lost, the archive
    /// restored to T into another cluster, `mmo` started on it, and what was acknowledged
    /// before T must be there, nothing sent after T, the economy conserved, the read models
    /// equal to a rebuild.
    Restauration(restauration::Reglages),
    /// The failovers (`scripts/grappe.sh fautes` runs it on its cluster): the same load,
    /// spread over the cluster's instances, and the same checks, while the PostgreSQL primary,
    /// a NATS node, a gateway instance and Redis are lost in turn.
    Grappe(grappe::Reglages),
}

impl std::fmt::Display for Panne {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Aucune => "aucune",
            Self::Kill9 => "kill9",
            Self::Postgres => "postgres",
            Self::Nats => "nats",
            Self::Redis => "redis",
            Self::Primaire => "primaire",
            Self::Passerelle => "passerelle",
            Self::Reserve => "reserve",
        })
    }
}

/// What one phase measured.
struct Mesure {
    panne: Panne,
    /// How long the fault itself lasted (stopping and starting the service again).
    duree_panne: Duration,
    /// The longest time without any acknowledged command, around the fault: the outage as
    /// the players saw it.
    interruption: Duration,
    /// From the service's return to a new character fully served: created, its inventory
    /// opened by the process manager over NATS, projected and readable.
    chaine_complete: Duration,
    /// Projections caught up, after the load stopped.
    projections: Duration,
    /// What the fault left down brought back, after the checks (the cluster).
    reparation: Option<Duration>,
    /// Commands answered per second over the phase's load, twins counted once.
    debit: f64,
}

#[tokio::main]
async fn main() {
    let o = Options::parse();
    let resultat = match &o.mode {
        Some(Mode::Restauration(r)) => restauration::executer(&o, r).await,
        Some(Mode::Grappe(g)) => grappe::executer(&o, g).await,
        None => executer_tout(&o).await,
    };
    if let Err(e) = resultat {
        eprintln!("fautes : ÉCHEC : {e:#}");
        std::process::exit(1);
    }
}

/// The repository's root.
fn racine() -> anyhow::Result<PathBuf> {
    Ok(Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("racine")?
        .to_path_buf())
}

/// The `mmo` binary to run.
fn binaire(o: &Options) -> anyhow::Result<PathBuf> {
    let binaire = match o.mmo.clone() {
        Some(b) => b,
        None => std::env::current_exe()?.with_file_name("mmo"),
    };
    if !binaire.exists() {
        bail!(
            "{} introuvable : `cargo build -p gateway --bin mmo` d'abord",
            binaire.display()
        );
    }
    Ok(binaire)
}

/// The faults of the machine: its PostgreSQL, NATS and Redis, and one `mmo serve`.
struct Machine {
    racine: PathBuf,
    serveur: ServeurMmo,
    passerelles: Arc<Passerelles>,
}

impl Outil for Machine {
    fn outil(&self, args: &[&str]) -> anyhow::Result<()> {
        self.serveur.outil(args)
    }
}

impl Cible for Machine {
    fn passerelles(&self) -> &Arc<Passerelles> {
        &self.passerelles
    }

    async fn frapper(&mut self, panne: Panne, http: &reqwest::Client) -> anyhow::Result<()> {
        match panne {
            Panne::Aucune => {}
            Panne::Kill9 => {
                self.serveur.tuer()?;
                self.serveur.demarrer(http).await?;
            }
            Panne::Postgres => arreter_puis_relancer(&self.racine, "postgres", 5432).await?,
            Panne::Nats => arreter_puis_relancer(&self.racine, "nats", 4222).await?,
            Panne::Redis => executer("redis-cli", &["-n", &BASE_REDIS.to_string(), "FLUSHDB"])?,
            Panne::Primaire | Panne::Passerelle | Panne::Reserve => {
                bail!("la panne {panne} frappe la grappe : scripts/grappe.sh fautes")
            }
        }
        Ok(())
    }

    async fn reparer(&mut self, _: Panne, _: &reqwest::Client) -> anyhow::Result<Option<Duration>> {
        Ok(None)
    }
}

async fn executer_tout(o: &Options) -> anyhow::Result<()> {
    let racine = racine()?;
    let binaire = binaire(o)?;
    script(&racine, "services.sh", &[])?;
    let nom_base = "mmo_fautes";
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&format!("{}/postgres", o.postgres))
        .await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {nom_base} WITH (FORCE)"))
        .execute(&admin)
        .await?;
    admin.close().await;
    executer("redis-cli", &["-n", &BASE_REDIS.to_string(), "FLUSHDB"])?;
    let prefixe_bus = format!("fautes_{}_", Uuid::new_v4().simple());
    let journal_serveur = journal_neuf(&racine.join("target").join("fautes"), "serveur.log")?;
    let mut serveur = ServeurMmo::new(
        binaire,
        format!("{}/{nom_base}", o.postgres),
        prefixe_bus.clone(),
        journal_serveur,
    )?;
    let http = reqwest::Client::new();
    let demarrage = serveur.demarrer(&http).await?;
    println!(
        "fautes : mmo serve prêt en {demarrage:.2?} sur {}",
        serveur.base
    );
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&serveur.database_url)
        .await?;
    let pannes = if o.pannes.is_empty() {
        vec![
            Panne::Aucune,
            Panne::Kill9,
            Panne::Postgres,
            Panne::Nats,
            Panne::Redis,
        ]
    } else {
        o.pannes.clone()
    };
    let mut machine = Machine {
        racine,
        passerelles: Passerelles::new(vec![serveur.base.clone()]),
        serveur,
    };
    let resultat = campagne(o, &pannes, &mut machine, &http, &pool).await;
    if resultat.is_err() {
        eprintln!(
            "--- fin du journal de mmo serve\n{}",
            machine.serveur.fin_du_journal()
        );
    }
    machine.serveur.tuer()?;
    pool.close().await;
    nettoyer(&prefixe_bus).await;
    resultat
}

/// Each fault in turn under the load, then the checks; the measures as a table.
#[expect(
    clippy::too_many_lines,
    reason = "one phase reads in order: load, strike, probe, load, checks"
)]
pub(crate) async fn campagne(
    o: &Options,
    pannes: &[Panne],
    cible: &mut impl Cible,
    http: &reqwest::Client,
    pool: &PgPool,
) -> anyhow::Result<()> {
    let passerelles = Arc::clone(cible.passerelles());
    println!(
        "fautes : {} joueurs, {} commandes/s chacun ({} commandes/s), sur {} instance(s)",
        o.joueurs,
        o.debit,
        o.joueurs * o.debit as usize,
        passerelles.toutes().len()
    );
    let journal = Arc::new(Mutex::new(Journal::default()));
    let mut mesures = Vec::new();
    let mut tous = Vec::new();
    for (rang, &panne) in pannes.iter().enumerate() {
        // New characters each phase: their starting gold keeps the economy moving.
        let acteurs = inscrire(http, &passerelles, rang, o.joueurs).await?;
        controles::reactions_a_jour(pool).await?;
        tous.extend(acteurs.iter().cloned());
        let (arret, ecoute) = watch::channel(false);
        let joueurs = lancer_la_charge(
            http,
            &passerelles,
            &acteurs,
            rang,
            o.debit,
            &journal,
            &ecoute,
        );
        let depart = Instant::now();
        tokio::time::sleep(Duration::from_secs(o.duree)).await;
        let debut = Instant::now();
        cible.frapper(panne, http).await?;
        let retour = Instant::now();
        // A new character through the whole chain: command, relay, NATS, process manager,
        // projection, read.
        sonder(http, &passerelles, rang).await?;
        let chaine_complete = retour.elapsed();
        if chaine_complete > Duration::from_secs(o.reprise_max) {
            bail!(
                "panne {panne} : {chaine_complete:.2?} pour servir un nouveau personnage, plus que {} s",
                o.reprise_max
            );
        }
        tokio::time::sleep(Duration::from_secs(o.duree)).await;
        let _ = arret.send(true);
        for j in joueurs {
            j.await.context("un joueur de la charge a paniqué")?;
        }
        let charge = depart.elapsed();
        let (interruption, debit) = {
            let j = journal.lock().expect("journal");
            (
                plus_longue_interruption(&j, debut),
                debit_repondu(&j, depart, charge),
            )
        };
        let projections = controles::projections_a_jour(pool).await?;
        controles::reactions_a_jour(pool).await?;
        let instantane = std::mem::take(&mut *journal.lock().expect("journal"));
        let bilan = match controles::exactement_une_fois(pool, &instantane).await {
            Ok(b) => controles::livres_conformes(pool, &instantane)
                .await
                .map(|()| b),
            Err(e) => Err(e),
        };
        *journal.lock().expect("journal") = instantane;
        let bilan = bilan?;
        // A load that wrote nothing, or never sent twins, would prove nothing.
        if bilan.acquittees == 0 || bilan.jumeaux == 0 {
            bail!("la charge n'a rien fait d'utile : {bilan:?}");
        }
        controles::modeles_egaux_a_la_reconstruction(pool, &*cible).await?;
        controles::caches_egaux_aux_lignes(pool, http, &passerelles, &tous).await?;
        let reparation = cible.reparer(panne, http).await?;
        println!(
            "fautes : panne {panne:<10} durée {:>9.2?}, interruption {interruption:>9.2?}, chaîne complète {chaine_complete:>9.2?}, \
             projections à jour {projections:>8.2?}, {debit:.0} commandes répondues/s pendant la phase{}\n  depuis le début : {} acquittées, refusées {:?}, {} abandonnées, \
             renvois {:?}, {} paires jumelles ({} succès et refus, {} refus différents)\n  une fois chacune, modèles = reconstruction, économie conservée et conforme aux réponses, caches = lignes",
            retour - debut,
            reparation.map_or_else(String::new, |d| format!(", remis en état en {d:.2?}")),
            bilan.acquittees,
            bilan.refusees,
            bilan.abandonnees,
            bilan.renvois,
            bilan.jumeaux,
            bilan.jumeaux_succes_et_refus,
            bilan.jumeaux_refus_differents
        );
        mesures.push(Mesure {
            panne,
            duree_panne: retour - debut,
            interruption,
            chaine_complete,
            projections,
            reparation,
            debit,
        });
    }
    println!(
        "\n| panne | durée de la panne | plus longue interruption | chaîne complète après le retour | projections à jour | commandes répondues/s | remise en état |\n|---|---|---|---|---|---|---|"
    );
    for m in &mesures {
        println!(
            "| {} | {:.2?} | {:.2?} | {:.2?} | {:.2?} | {:.0} | {} |",
            m.panne,
            m.duree_panne,
            m.interruption,
            m.chaine_complete,
            m.projections,
            m.debit,
            m.reparation
                .map_or_else(|| "—".to_owned(), |d| format!("{d:.2?}"))
        );
    }
    Ok(())
}

/// Starts the load: each actor trades with the next one, at `debit` commands per second,
/// until `arret` turns true.
fn lancer_la_charge(
    http: &reqwest::Client,
    passerelles: &Arc<Passerelles>,
    acteurs: &[Acteur],
    rang: usize,
    debit: u32,
    journal: &Arc<Mutex<Journal>>,
    arret: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..acteurs.len())
        .map(|i| {
            tokio::spawn(activite::jouer(
                http.clone(),
                Arc::clone(passerelles),
                Joueur::new(
                    acteurs[i].clone(),
                    acteurs[(i + 1) % acteurs.len()].clone(),
                    (rang * 1_000 + i) as u64 + 1,
                ),
                debit,
                Arc::clone(journal),
                arret.clone(),
            ))
        })
        .collect()
}

/// The longest time without an acknowledged command, from one second before `debut` on.
fn plus_longue_interruption(journal: &Journal, debut: Instant) -> Duration {
    let depuis = debut.checked_sub(Duration::from_secs(1)).unwrap_or(debut);
    let mut instants: Vec<Instant> = journal
        .entrees
        .iter()
        .filter(|e| e.fin >= depuis && matches!(e.issue, Issue::Acquittee(_)))
        .map(|e| e.fin)
        .collect();
    instants.sort();
    instants
        .windows(2)
        .map(|p| p[1] - p[0])
        .max()
        .unwrap_or_default()
}

/// Commands answered (a result or a refusal of the game) per second from `depart` over
/// `duree`; a twin pair counts once.
fn debit_repondu(journal: &Journal, depart: Instant, duree: Duration) -> f64 {
    let n = journal
        .entrees
        .iter()
        .filter(|e| e.fin >= depart && matches!(e.issue, Issue::Acquittee(_) | Issue::Refusee(_)))
        .count();
    n as f64 / duree.as_secs_f64().max(0.001)
}

/// Stops a service of the machine, checks that its port really went silent (the stop
/// command succeeds doing nothing when no such process runs), waits a second, starts it again
/// and checks that it answers.
async fn arreter_puis_relancer(racine: &Path, service: &str, port: u16) -> anyhow::Result<()> {
    script(racine, "services.sh", &["arreter", service])?;
    ensure!(
        !mmo_tests::ecoute(port),
        "{service} répond encore sur {port} après son arrêt : la panne n'a pas eu lieu"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    script(racine, "services.sh", &[])?;
    ensure!(
        mmo_tests::ecoute(port),
        "{service} ne répond pas sur {port} après son redémarrage"
    );
    Ok(())
}

/// Accounts and characters for the load, placed and with their inventory open.
async fn inscrire(
    http: &reqwest::Client,
    passerelles: &Passerelles,
    rang: usize,
    n: usize,
) -> anyhow::Result<Vec<Acteur>> {
    let mut acteurs = Vec::with_capacity(n);
    for i in 0..n {
        let jeton = compte(http, passerelles, &format!("fautes{rang}_{i}")).await?;
        let classe = ["Tank", "DPS", "Heal"][i % 3];
        let (issue, _) = envoyer(
            http,
            passerelles,
            &jeton,
            "joueur.creer",
            json!({"nom": format!("Faute{rang}_{i}"), "classe": classe, "id_commande": Uuid::new_v4()}),
        )
        .await;
        let Issue::Acquittee(r) = issue else {
            bail!("joueur.creer : {issue:?}");
        };
        let joueur_id = r["joueur_id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("joueur_id dans {r}"))?;
        acteurs.push(Acteur { jeton, joueur_id });
    }
    Ok(acteurs)
}

/// A new account: its access token.
async fn compte(
    http: &reqwest::Client,
    passerelles: &Passerelles,
    login: &str,
) -> anyhow::Result<String> {
    let corps = json!({"login": login, "mot_de_passe": "une phrase de passe solide"});
    let fin = Instant::now() + Duration::from_mins(1);
    // Registration is not idempotent by id: an account already made by a lost answer is
    // fine, the session below proves it exists.
    loop {
        let _ = http
            .post(format!("{}/api/comptes", passerelles.prochaine()))
            .json(&corps)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(r) = http
            .post(format!("{}/api/sessions", passerelles.prochaine()))
            .json(&corps)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            && r.status().is_success()
        {
            let v: Value = r.json().await?;
            return v["jeton_acces"]
                .as_str()
                .map(str::to_owned)
                .context("jeton_acces");
        }
        if Instant::now() > fin {
            bail!("pas de session pour {login}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Returns when a new character is fully served: created, its inventory opened by the
/// process manager (over NATS) and readable through the read model.
async fn sonder(
    http: &reqwest::Client,
    passerelles: &Passerelles,
    rang: usize,
) -> anyhow::Result<()> {
    let debut = Instant::now();
    let jeton = compte(http, passerelles, &format!("sonde{rang}")).await?;
    let (issue, _) = envoyer(
        http,
        passerelles,
        &jeton,
        "joueur.creer",
        json!({"nom": format!("Sonde{rang}"), "classe": "Heal", "id_commande": Uuid::new_v4()}),
    )
    .await;
    let Issue::Acquittee(r) = issue else {
        bail!("joueur.creer de la sonde : {issue:?}");
    };
    let joueur_id = r["joueur_id"].clone();
    loop {
        let (issue, _) = envoyer(
            http,
            passerelles,
            &jeton,
            "inventaire.consulter",
            json!({"joueur_id": joueur_id}),
        )
        .await;
        if matches!(issue, Issue::Acquittee(_)) {
            return Ok(());
        }
        if debut.elapsed() > Duration::from_mins(2) {
            bail!("la sonde {joueur_id} n'a pas d'inventaire lisible après 120 s : {issue:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Deletes the run's NATS stream and its consumers.
async fn nettoyer(prefixe_bus: &str) {
    if let Ok(client) = async_nats::connect("nats://127.0.0.1:4222").await {
        let _ = commands::bus::Bus::new(client, prefixe_bus)
            .supprimer_flux()
            .await;
    }
}
