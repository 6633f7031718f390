//! The failovers: the faults' load and checks against the cluster of `scripts/grappe.sh` (a
//! PostgreSQL primary and its synchronous standby, three NATS nodes, a Redis, several `mmo
//! serve`), which `scripts/grappe.sh fautes` starts. The load is spread over the instances,
//! as a load balancer would spread it, and a send the transport failed goes to the next
//! instance. The faults (`Panne`): the primary killed with kill -9 and the standby promoted
//! (`grappe.sh basculer`), the standby killed and the primary let commit alone (`degrader`),
//! the NATS node leading the stream killed, the instance leading the
//! relay killed, Redis killed and started again empty. What a fault took down is brought back
//! after its phase's checks (`grappe.sh rattacher`, `lancer`), and that time is measured too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use tokio::time::Instant;

use crate::activite::Passerelles;
use crate::serveur::Outil;
use crate::{Cible, Options, Panne, campagne};

/// How long the lost standby goes unnoticed before the primary is let commit alone: the
/// detection of a failover manager (Patroni's loop is 10 s; a second here keeps the run short,
/// and what it costs shows as the longest interruption).
const DETECTION: Duration = Duration::from_secs(1);

/// Where the cluster is.
#[derive(Debug, clap::Args)]
pub(crate) struct Reglages {
    /// The cluster's directory (`grappe.env` holds its settings).
    #[arg(long)]
    dossier: PathBuf,
    /// `scripts/grappe.sh`, which strikes and repairs.
    #[arg(long)]
    script: PathBuf,
}

/// The cluster under test.
struct Grappe {
    script: PathBuf,
    env: BTreeMap<String, String>,
    passerelles: Arc<Passerelles>,
    /// What a strike took down, to bring back after the phase (`grappe.sh lancer X`).
    a_relancer: Option<String>,
}

impl Grappe {
    /// Reads the settings `grappe.sh up` wrote (`export NAME='value'` lines).
    fn lire(r: &Reglages) -> anyhow::Result<Self> {
        let chemin = r.dossier.join("grappe.env");
        let texte = std::fs::read_to_string(&chemin)
            .with_context(|| format!("{} : la grappe est-elle en marche ?", chemin.display()))?;
        let env: BTreeMap<String, String> = texte
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
            .collect();
        let bases: Vec<String> = env
            .get("GRAPPE_PASSERELLES")
            .context("GRAPPE_PASSERELLES")?
            .split(',')
            .map(str::to_owned)
            .collect();
        Ok(Self {
            script: r.script.clone(),
            env,
            passerelles: Passerelles::new(bases),
            a_relancer: None,
        })
    }

    fn reglage(&self, nom: &str) -> anyhow::Result<&str> {
        self.env
            .get(nom)
            .map(String::as_str)
            .with_context(|| format!("{nom} manque à grappe.env"))
    }

    /// Runs `grappe.sh <args>`, its output shown; how long it took.
    fn script(&self, args: &[&str]) -> anyhow::Result<Duration> {
        lancer(&self.script, args)
    }

    /// The NATS node leading the game's stream (`n2` → `nats-2`), checking on the way that
    /// the stream has its three replicas.
    async fn meneur_nats(&self) -> anyhow::Result<String> {
        let client = gateway::serveur::connecter_nats(self.reglage("MMO_NATS_URL")?).await?;
        let bus = commands::bus::Bus::new(client, self.reglage("MMO_PREFIXE_BUS")?);
        let mut flux = bus.flux().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let info = flux.info().await?;
        ensure!(
            info.config.num_replicas == 3,
            "le flux {} a {} réplique(s), pas 3 (MMO_NATS_REPLIQUES)",
            bus.nom_flux(),
            info.config.num_replicas
        );
        let meneur = info
            .cluster
            .as_ref()
            .and_then(|c| c.leader.clone())
            .context("le flux n'a pas de meneur")?;
        let n = meneur
            .strip_prefix('n')
            .with_context(|| format!("meneur NATS inattendu : {meneur}"))?;
        Ok(format!("nats-{n}"))
    }

    /// The instance leading the relay (`mmo_relais_meneur 1` on its `/metrics`), `mmo-<k>`.
    async fn meneur_relais(&self, http: &reqwest::Client) -> anyhow::Result<String> {
        let fin = Instant::now() + Duration::from_secs(30);
        loop {
            for (k, base) in self.passerelles.toutes().iter().enumerate() {
                let texte = http
                    .get(format!("{base}/metrics"))
                    .header("accept", "text/plain")
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await?
                    .text()
                    .await?;
                if texte
                    .lines()
                    .any(|l| l.starts_with("mmo_relais_meneur ") && l.ends_with(" 1"))
                {
                    return Ok(format!("mmo-{}", k + 1));
                }
            }
            ensure!(
                Instant::now() < fin,
                "aucune instance ne mène le relais depuis 30 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Outil for Grappe {
    fn outil(&self, args: &[&str]) -> anyhow::Result<()> {
        let args: Vec<&str> = std::iter::once("mmo").chain(args.iter().copied()).collect();
        self.script(&args).map(drop)
    }
}

impl Cible for Grappe {
    fn passerelles(&self) -> &Arc<Passerelles> {
        &self.passerelles
    }

    async fn frapper(&mut self, panne: Panne, http: &reqwest::Client) -> anyhow::Result<()> {
        match panne {
            Panne::Aucune => {}
            Panne::Primaire => {
                self.script(&["basculer"])?;
            }
            Panne::Reserve => {
                self.script(&["tuer", "reserve"])?;
                // Writes wait for the lost standby meanwhile: what a failover manager's
                // detection costs.
                tokio::time::sleep(DETECTION).await;
                self.script(&["degrader"])?;
            }
            Panne::Nats => {
                let noeud = self.meneur_nats().await?;
                println!("grappe : {noeud} mène le flux, tué");
                self.script(&["tuer", &noeud])?;
                self.a_relancer = Some(noeud);
            }
            Panne::Passerelle => {
                let instance = self.meneur_relais(http).await?;
                println!("grappe : {instance} mène le relais, tuée");
                self.script(&["tuer", &instance])?;
                self.a_relancer = Some(instance);
            }
            Panne::Redis => {
                self.script(&["tuer", "redis"])?;
                tokio::time::sleep(Duration::from_secs(1)).await;
                self.script(&["lancer", "redis"])?;
            }
            Panne::Kill9 | Panne::Postgres => {
                bail!("la panne {panne} frappe la machine : sur la grappe, passerelle et primaire")
            }
        }
        Ok(())
    }

    async fn reparer(
        &mut self,
        panne: Panne,
        _: &reqwest::Client,
    ) -> anyhow::Result<Option<Duration>> {
        if matches!(panne, Panne::Primaire | Panne::Reserve) {
            return self.script(&["rattacher"]).map(Some);
        }
        match self.a_relancer.take() {
            Some(x) => self.script(&["lancer", &x]).map(Some),
            None => Ok(None),
        }
    }
}

pub(crate) async fn executer(o: &Options, r: &Reglages) -> anyhow::Result<()> {
    let mut grappe = Grappe::lire(r)?;
    let serveurs = gateway::primaire::Serveurs::parse(grappe.reglage("MMO_DATABASE_URL")?)?;
    // The checks' own pool follows the primary too.
    let pool = gateway::primaire::connecter(&serveurs, 4).await?;
    let pannes = if o.pannes.is_empty() {
        vec![
            Panne::Aucune,
            Panne::Primaire,
            Panne::Reserve,
            Panne::Nats,
            Panne::Passerelle,
            Panne::Redis,
        ]
    } else {
        o.pannes.clone()
    };
    let http = reqwest::Client::new();
    let debut = Instant::now();
    let resultat = campagne(o, &pannes, &mut grappe, &http, &pool).await;
    pool.close().await;
    if resultat.is_ok() {
        println!("grappe : tout tient, en {:.1?}", debut.elapsed());
    } else {
        eprintln!(
            "grappe : les journaux des processus sont dans {}",
            r.dossier.join("journaux").display()
        );
    }
    resultat
}

/// Runs a script, its output shown; how long it took.
fn lancer(script: &Path, args: &[&str]) -> anyhow::Result<Duration> {
    let debut = Instant::now();
    let statut = Command::new(script)
        .args(args)
        .status()
        .with_context(|| script.display().to_string())?;
    if !statut.success() {
        bail!("{} {} : {statut}", script.display(), args.join(" "));
    }
    Ok(debut.elapsed())
}
