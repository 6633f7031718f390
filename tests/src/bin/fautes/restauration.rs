//! The restore drill: the backups restore the game to a point in time. On a primary cluster
//! that archives its WAL (`scripts/exercice_restauration.sh` makes it, with
//! `scripts/sauvegarde.sh configurer`), `mmo serve` under the load of the faults; during the
//! load a base backup (`sauvegarde.sh base`), then a moment T, then more load. The primary's
//! server is then lost; the archive is restored to T into a second cluster
//! (`scripts/restauration.sh`), `mmo` started on it with the steps doc/exploitation.md §4
//! prescribes, and the checks of the faults run against what T should hold: every command
//! acknowledged before T is there, applied once, with its answer's events; none sent after T
//! is; the economy is conserved and its books match the answers; every read model equals its
//! rebuild; the caches equal the rows; and a new character is fully served.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

use crate::activite::{ECRITURES, Issue, Journal, Passerelles};
use crate::serveur::{Outil as _, ServeurMmo, journal_neuf};
use crate::{Options, binaire, controles, inscrire, lancer_la_charge, nettoyer, racine, sonder};

/// The band around T where a command may or may not have been restored. PostgreSQL stamps a
/// commit with the machine's clock after the command's request arrived and before its answer
/// left, and the load reads that same clock when it sends and when it gets the answer: a
/// command answered before T committed before T, one sent after T committed after T, exactly.
/// The margin only covers the resolution of the stamps (a microsecond in PostgreSQL, T being
/// truncated to it) with room to spare; the commands inside it, and those in flight at T, are
/// counted as "may be there", like a command without an answer.
const MARGE: TimeDelta = TimeDelta::milliseconds(1);

/// The drill's settings (the load's are the faults': `--joueurs`, `--debit`, `--duree`).
#[derive(Debug, clap::Args)]
pub(crate) struct Reglages {
    /// The primary cluster, archiving its WAL (`sauvegarde.sh configurer`), without a database
    /// name; the game's database `mmo` is created on it.
    #[arg(long)]
    primaire: String,
    /// The cluster to restore into, without a database name: its port is where
    /// `restauration.sh` starts it.
    #[arg(long)]
    restaure: String,
    /// The archive `sauvegarde.sh` writes (base backups and WAL).
    #[arg(long)]
    archive: PathBuf,
    /// The restored cluster's data directory (must not exist yet).
    #[arg(long)]
    donnees: PathBuf,
    /// This run's prefix for its Redis keys and NATS streams (letters, digits and `_`).
    #[arg(long)]
    espace: String,
    /// Where the servers' logs go.
    #[arg(long)]
    journaux: PathBuf,
}

/// What the drill measured.
struct Temps {
    demarrage_primaire: Duration,
    base: Duration,
    bascule: Duration,
    restauration: Duration,
    demarrage_restaure: Duration,
    projections: Duration,
    reconstruction: Duration,
}

pub(crate) async fn executer(o: &Options, r: &Reglages) -> anyhow::Result<()> {
    let racine = racine()?;
    let binaire = binaire(o)?;
    let port_restaure = reqwest::Url::parse(&r.restaure)
        .ok()
        .and_then(|u| u.port())
        .with_context(|| format!("--restaure {} : pas de port", r.restaure))?;
    let http = reqwest::Client::new();
    let mut primaire = ServeurMmo::new(
        binaire.clone(),
        format!("{}/mmo", r.primaire),
        format!("{}_primaire_", r.espace),
        journal_neuf(&r.journaux, "mmo-primaire.log")?,
    )?
    .avec_prefixe_redis(format!("{}_primaire:", r.espace));
    let mut restaure = ServeurMmo::new(
        binaire,
        format!("{}/mmo", r.restaure),
        format!("{}_restaure_", r.espace),
        journal_neuf(&r.journaux, "mmo-restaure.log")?,
    )?
    .avec_prefixe_redis(format!("{}_restaure:", r.espace));
    let resultat = exercice(
        o,
        r,
        &racine,
        port_restaure,
        &http,
        &mut primaire,
        &mut restaure,
    )
    .await;
    if resultat.is_err() {
        for (nom, serveur) in [("primaire", &primaire), ("restauré", &restaure)] {
            eprintln!(
                "--- fin du journal de mmo serve ({nom})\n{}",
                serveur.fin_du_journal()
            );
        }
    }
    primaire.tuer()?;
    restaure.tuer()?;
    nettoyer(&format!("{}_primaire_", r.espace)).await;
    nettoyer(&format!("{}_restaure_", r.espace)).await;
    resultat
}

#[expect(
    clippy::too_many_lines,
    reason = "the drill reads in order, step by step"
)]
async fn exercice(
    o: &Options,
    r: &Reglages,
    racine: &Path,
    port_restaure: u16,
    http: &reqwest::Client,
    primaire: &mut ServeurMmo,
    restaure: &mut ServeurMmo,
) -> anyhow::Result<()> {
    let debut = Instant::now();
    let archive = r.archive.to_str().context("archive : chemin non UTF-8")?;
    let url_primaire = format!("{}/postgres", r.primaire);

    // 1. The game on the primary, under load.
    primaire.outil(&["migrate"])?;
    let demarrage_primaire = primaire.demarrer(http).await?;
    println!(
        "restauration : mmo serve prêt sur le primaire en {demarrage_primaire:.2?} ({} joueurs, {} commandes/s chacun)",
        o.joueurs, o.debit
    );
    let pool = connecter(&primaire.database_url).await?;
    let vers_primaire = Passerelles::new(vec![primaire.base.clone()]);
    let acteurs = inscrire(http, &vers_primaire, 0, o.joueurs).await?;
    controles::reactions_a_jour(&pool).await?;
    pool.close().await;
    let journal = Arc::new(Mutex::new(Journal::default()));
    let (arret, ecoute) = watch::channel(false);
    let joueurs = lancer_la_charge(
        http,
        &vers_primaire,
        &acteurs,
        0,
        o.debit,
        &journal,
        &ecoute,
    );
    let duree = Duration::from_secs(o.duree);

    // 2. A base backup under the load, a moment T after it, more load after T.
    tokio::time::sleep(duree).await;
    let base = lancer(racine, "sauvegarde.sh", &["base", &url_primaire, archive])?;
    let fin_base = Utc::now();
    tokio::time::sleep(duree).await;
    let t = Utc::now().trunc_subsecs(6);
    let t_texte = t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
    println!("restauration : T = {t_texte}");
    tokio::time::sleep(duree).await;
    let _ = arret.send(true);
    for j in joueurs {
        j.await.context("un joueur de la charge a paniqué")?;
    }
    // The segment holding T's commits, and those after, in the archive; archive_timeout
    // (a minute) would do it on its own.
    let bascule = lancer(
        racine,
        "sauvegarde.sh",
        &["basculer", &url_primaire, archive],
    )?;
    lancer(racine, "sauvegarde.sh", &["lister", archive])?;

    // 3. The primary's server is lost; restored to T into another cluster.
    primaire.tuer()?;
    let donnees = r.donnees.to_str().context("données : chemin non UTF-8")?;
    let restauration = lancer(
        racine,
        "restauration.sh",
        &[archive, donnees, &port_restaure.to_string(), &t_texte],
    )?;
    let pool = connecter(&restaure.database_url).await?;
    // What the cluster holds before any server touches it: nothing begun after T.
    let (evenements, dernier): (i64, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT count(*), max(recorded_at) FROM events")
            .fetch_one(&pool)
            .await?;
    ensure!(
        dernier.is_some_and(|d| d <= t),
        "le magasin restauré a un événement écrit après T : {dernier:?}"
    );
    // doc/exploitation.md §4: the relay republishes the whole store into the new bus (the
    // reactions, idempotent, do again only what T lost), Redis starts empty (a new prefix).
    sqlx::query("DELETE FROM points_de_reprise WHERE lecteur = 'relais'")
        .execute(&pool)
        .await?;

    // 4. The game on the restored cluster.
    restaure.outil(&["migrate"])?;
    let demarrage_restaure = restaure.demarrer(http).await?;
    let projections = controles::projections_a_jour(&pool).await?;
    controles::reactions_a_jour(&pool).await?;

    // 5. What T must hold.
    let journal = std::mem::take(&mut *journal.lock().expect("journal"));
    let coupe = couper(&journal, t, fin_base);
    ensure!(
        coupe.rejouees > 0 && coupe.acquittees_apres > 0,
        "la charge n'a rien écrit entre la sauvegarde de base et T, ou rien après T : rien n'est prouvé ({} rejouées, {} acquittées après T)",
        coupe.rejouees,
        coupe.acquittees_apres
    );
    let bilan = controles::exactement_une_fois(&pool, &coupe.avant).await?;
    controles::livres_conformes(&pool, &coupe.avant).await?;
    controles::sans_ecriture(&pool, &coupe.apres, "commandes envoyées après T").await?;
    let debut_reconstruction = Instant::now();
    controles::modeles_egaux_a_la_reconstruction(&pool, restaure).await?;
    let reconstruction = debut_reconstruction.elapsed();
    let vers_restaure = Passerelles::new(vec![restaure.base.clone()]);
    controles::caches_egaux_aux_lignes(&pool, http, &vers_restaure, &acteurs).await?;
    sonder(http, &vers_restaure, 1).await?;
    pool.close().await;

    println!(
        "restauration : {evenements} événements restaurés, le dernier écrit à {}\n  avant T : {} acquittées (dont {} après la fin de la sauvegarde de base : rejouées depuis les WAL archivés), refusées {:?} ; \
         {} à cheval sur T (± {} ms) ; {} écritures envoyées après T, dont {} acquittées par le primaire : aucune dans le magasin restauré\n  \
         chaque commande acquittée avant T une fois, avec les événements de sa réponse ; économie conservée et conforme aux réponses ; modèles = reconstruction ; caches = lignes ; un nouveau personnage servi",
        dernier.map_or_else(String::new, |d| d.to_rfc3339()),
        bilan.acquittees,
        coupe.rejouees,
        bilan.refusees,
        coupe.a_cheval,
        MARGE.num_milliseconds(),
        coupe.apres.len(),
        coupe.acquittees_apres
    );
    afficher(&Temps {
        demarrage_primaire,
        base,
        bascule,
        restauration,
        demarrage_restaure,
        projections,
        reconstruction,
    });
    println!("restauration : tout tient, en {:.1?}", debut.elapsed());
    Ok(())
}

/// The journal as the store restored to `t` must hold it.
struct Coupe {
    /// The commands sent before T + margin: those answered before T − margin as they were
    /// answered, the others as without an answer (applied or not, once at most).
    avant: Journal,
    /// The writes sent after T + margin: none may be in the store.
    apres: Vec<Uuid>,
    /// Answered writes sent after the base backup ended and answered before T − margin: they
    /// are in no base backup, only in the archived WAL.
    rejouees: usize,
    /// Commands in flight at T (or within the margin of it).
    a_cheval: usize,
    /// Writes sent after T + margin that the primary acknowledged.
    acquittees_apres: usize,
}

fn couper(journal: &Journal, t: DateTime<Utc>, fin_base: DateTime<Utc>) -> Coupe {
    let mut coupe = Coupe {
        avant: Journal {
            entrees: Vec::new(),
            jumeaux: journal.jumeaux.clone(),
        },
        apres: Vec::new(),
        rejouees: 0,
        a_cheval: 0,
        acquittees_apres: 0,
    };
    for e in &journal.entrees {
        let ecriture = ECRITURES.contains(&e.methode);
        let acquittee = matches!(e.issue, Issue::Acquittee(_));
        if e.parti_le > t + MARGE {
            if ecriture {
                coupe.apres.push(e.id_commande);
                coupe.acquittees_apres += usize::from(acquittee);
            }
            continue;
        }
        let mut e = e.clone();
        if e.repondu_le < t - MARGE {
            coupe.rejouees += usize::from(ecriture && acquittee && e.parti_le > fin_base);
        } else {
            e.issue = Issue::Abandonnee;
            coupe.a_cheval += 1;
        }
        coupe.avant.entrees.push(e);
    }
    coupe
}

fn afficher(t: &Temps) {
    println!(
        "\n| étape | durée |\n|---|---|\n\
         | mmo serve prêt sur le primaire (base neuve) | {:.2?} |\n\
         | sauvegarde de base sous la charge (`sauvegarde.sh base` : pg_basebackup et pg_verifybackup) | {:.2?} |\n\
         | segment courant archivé (`sauvegarde.sh basculer`) | {:.2?} |\n\
         | restauration jusqu'à T et promotion (`restauration.sh`) | {:.2?} |\n\
         | mmo serve prêt sur le cluster restauré | {:.2?} |\n\
         | projections à jour après son démarrage | {:.2?} |\n\
         | `mmo projections rebuild all` et comparaison | {:.2?} |",
        t.demarrage_primaire,
        t.base,
        t.bascule,
        t.restauration,
        t.demarrage_restaure,
        t.projections,
        t.reconstruction
    );
}

async fn connecter(url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(4)
        .connect(url)
        .await
        .with_context(|| format!("connexion à {url}"))
}

/// Runs a script of the repository, its output shown; returns how long it took.
fn lancer(racine: &Path, nom: &str, args: &[&str]) -> anyhow::Result<Duration> {
    let debut = Instant::now();
    let statut = Command::new(racine.join("scripts").join(nom))
        .args(args)
        .status()
        .with_context(|| format!("scripts/{nom}"))?;
    if !statut.success() {
        bail!("scripts/{nom} {} : {statut}", args.join(" "));
    }
    Ok(debut.elapsed())
}
