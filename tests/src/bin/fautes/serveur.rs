//! The server under test as a separate process — `mmo serve`, so that it can be killed with
//! SIGKILL and started again — and the engines it runs on, which the faults stop, restart
//! or flush.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::time::Instant;

/// The Redis logical database the server runs on: flushing it is the Redis fault, and it
/// touches nobody else's keys on a shared machine.
pub(crate) const BASE_REDIS: u8 = 7;
/// The secret the server signs tokens with: fixed, so tokens survive a restart.
const SECRET: &str = "secret du banc de pannes, trente-deux caractères et plus";

/// How to start `mmo serve`, and the running process.
pub(crate) struct ServeurMmo {
    binaire: PathBuf,
    journal: PathBuf,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    adresse: String,
    /// The game database.
    pub(crate) database_url: String,
    prefixe_bus: String,
    /// Empty for the faults (they own Redis database `BASE_REDIS` and flush it whole).
    prefixe_redis: String,
    enfant: Option<Child>,
}

impl ServeurMmo {
    /// A server on a free loopback port, on `database_url`, logging to `journal`.
    pub(crate) fn new(
        binaire: PathBuf,
        database_url: String,
        prefixe_bus: String,
        journal: PathBuf,
    ) -> anyhow::Result<Self> {
        // The port must stay the same across restarts: clients come back to it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        Ok(Self {
            binaire,
            journal,
            base: format!("http://127.0.0.1:{port}"),
            adresse: format!("127.0.0.1:{port}"),
            database_url,
            prefixe_bus,
            prefixe_redis: String::new(),
            enfant: None,
        })
    }

    /// The same, its Redis keys under `prefixe` (`MMO_PREFIXE_REDIS`).
    pub(crate) fn avec_prefixe_redis(mut self, prefixe: String) -> Self {
        self.prefixe_redis = prefixe;
        self
    }

    fn commande(&self, args: &[&str]) -> anyhow::Result<Command> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.journal)
            .with_context(|| format!("journal {}", self.journal.display()))?;
        let mut c = Command::new(&self.binaire);
        c.args(args)
            .env("MMO_DATABASE_URL", &self.database_url)
            .env(
                "MMO_REDIS_URL",
                format!("redis://127.0.0.1:6379/{BASE_REDIS}"),
            )
            .env("MMO_NATS_URL", "nats://127.0.0.1:4222")
            .env("MMO_PREFIXE_BUS", &self.prefixe_bus)
            .env("MMO_PREFIXE_REDIS", &self.prefixe_redis)
            .env("MMO_ADRESSE", &self.adresse)
            .env("MMO_JWT_SECRET", SECRET)
            .env("MMO_DUREE_ACCES", "7200")
            .env("MMO_APPELS_PAR_SECONDE", "100000")
            .env("MMO_CONNEXIONS_PAR_MINUTE", "100000")
            .env("MMO_HACHAGES_SIMULTANES", "2")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        Ok(c)
    }

    /// Starts `mmo serve` and waits until `/readyz` answers 200. Returns how long that took.
    pub(crate) async fn demarrer(&mut self, http: &reqwest::Client) -> anyhow::Result<Duration> {
        let debut = Instant::now();
        let enfant = self
            .commande(&["serve"])?
            .spawn()
            .with_context(|| format!("lancer {}", self.binaire.display()))?;
        self.enfant = Some(enfant);
        self.attendre_pret(http, Duration::from_secs(90)).await?;
        Ok(debut.elapsed())
    }

    /// Waits until `/readyz` answers 200 (database, Redis and bus reachable).
    pub(crate) async fn attendre_pret(
        &mut self,
        http: &reqwest::Client,
        patience: Duration,
    ) -> anyhow::Result<()> {
        let fin = Instant::now() + patience;
        loop {
            if let Some(enfant) = self.enfant.as_mut()
                && let Some(statut) = enfant.try_wait()?
            {
                bail!(
                    "mmo serve s'est arrêté ({statut}) ; voir {}",
                    self.journal.display()
                );
            }
            let pret = http
                .get(format!("{}/readyz", self.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if pret {
                return Ok(());
            }
            if Instant::now() > fin {
                bail!(
                    "mmo serve n'est pas prêt après {patience:?} ; voir {}",
                    self.journal.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no shutdown, no flush, whatever was in flight is cut.
    pub(crate) fn tuer(&mut self) -> anyhow::Result<()> {
        if let Some(mut enfant) = self.enfant.take() {
            enfant.kill().context("kill -9")?;
            enfant.wait()?;
        }
        Ok(())
    }

    /// The end of the server's log, for a failure report.
    pub(crate) fn fin_du_journal(&self) -> String {
        let texte = std::fs::read_to_string(&self.journal).unwrap_or_default();
        let lignes: Vec<&str> = texte.lines().collect();
        lignes[lignes.len().saturating_sub(40)..].join("\n")
    }
}

/// Whatever runs the game's tools (`mmo projections rebuild all`...) on the database under
/// test: the faults' server, or the cluster's.
pub(crate) trait Outil {
    /// Runs `mmo <args>` on the game's database, failing if it fails.
    fn outil(&self, args: &[&str]) -> anyhow::Result<()>;
}

impl Outil for ServeurMmo {
    fn outil(&self, args: &[&str]) -> anyhow::Result<()> {
        let statut = self.commande(args)?.status()?;
        if !statut.success() {
            bail!(
                "mmo {} : {statut} ; voir {}",
                args.join(" "),
                self.journal.display()
            );
        }
        Ok(())
    }
}

impl Drop for ServeurMmo {
    fn drop(&mut self) {
        let _ = self.tuer();
    }
}

/// A script of the repository (`scripts/services.sh`), run from the repository's root.
pub(crate) fn script(racine: &Path, nom: &str, args: &[&str]) -> anyhow::Result<()> {
    let statut = Command::new(racine.join("scripts").join(nom))
        .args(args)
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("scripts/{nom}"))?;
    if !statut.success() {
        bail!("scripts/{nom} {} : {statut}", args.join(" "));
    }
    Ok(())
}

/// Runs a command of the machine, failing with its name.
pub(crate) fn executer(programme: &str, args: &[&str]) -> anyhow::Result<()> {
    let sortie = Command::new(programme)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("{programme} introuvable"))?;
    if !sortie.status.success() {
        bail!(
            "{programme} {} : {} {}",
            args.join(" "),
            sortie.status,
            String::from_utf8_lossy(&sortie.stderr)
        );
    }
    Ok(())
}

/// A log file under `dossier`, emptied.
pub(crate) fn journal_neuf(dossier: &Path, nom: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dossier)?;
    let chemin = dossier.join(nom);
    File::create(&chemin)?;
    Ok(chemin)
}
