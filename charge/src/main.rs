//! `charge`: a load run against a running `mmo serve` on loopback.
//!
//! N virtual players connect over WebSocket; the first P of them drive a character each
//! (parties of three: Tank, DPS, Heal), the others hold an idle socket. Then, for a bounded
//! time, calls go out on an open-loop schedule at a fixed total rate, drawn from a mix of
//! moves, zone chat, combat steps, buying/crafting/selling, trades and reads; every latency
//! counts from the call's intended time. The report gives per method the count, the
//! outcomes by `data.code` and p50/p99/p99.9/max; the commands/s achieved; the readers' lag
//! (projections and bus relay) sampled in the store and on `/metrics` during the run; the
//! server's resident memory before and after the sockets opened, per socket; CPU time of
//! the server and of this tool. That is the default profile, `--profil melange`.
//!
//! `--profil foule` plays like a real game instead ([`foule`]): one character per account and
//! per socket, spread over the zones by an admin's `monde.placer` (a hotspot near each
//! zone's start), each walking at a legal pace five steps a second and now and then
//! fighting, trading, chatting and reading; the report adds what each socket receives and
//! whether its picture of its neighbours matches the server's.
//!
//! `cargo run --release -p charge -- --help`; `doc/performance.md` shows the runs.

mod foule;
mod hasard;
mod joueur;
mod lecture;
mod partie;
mod preparation;
mod serie;
mod serveur;
mod stats;

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use futures_util::StreamExt as _;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::joueur::{Calendrier, Flux, Melange};
use crate::preparation::PERSONNAGES_PAR_COMPTE;
use crate::stats::Stats;

/// Most sockets one run may open.
const MAX_JOUEURS: usize = 20_000;
/// Highest total rate, calls per second.
const MAX_DEBIT: u32 = 50_000;
/// Longest schedule, seconds.
const MAX_DUREE: u64 = 600;

/// How the players play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Profil {
    /// A fixed total rate drawn from `--melange`, 5 characters per account, all in the start
    /// zone.
    Melange,
    /// A crowd: one character per account and socket, spread over the zones, walking five
    /// steps a second, an action every ~5 s, chat every ~30 s, a read every ~10 s.
    Foule,
}

/// Load run against a running `mmo serve` (loopback only).
#[derive(Debug, Parser)]
#[command(name = "charge", version)]
struct Options {
    /// How the players play.
    #[arg(long, value_enum, default_value_t = Profil::Melange)]
    profil: Profil,
    /// The server (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    cible: String,
    /// Its game database, to sample the readers' lag (projections, bus relay); `-` for none.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/mmo")]
    base: String,
    /// Virtual players: one WebSocket each (at most 20,000; raise `ulimit -n` first). With
    /// `--profil foule`, one character and one account each.
    #[arg(long, default_value_t = 100)]
    joueurs: usize,
    /// Of those, how many drive a character (the others hold an idle socket). Default: all,
    /// up to 1,500. Not with `--profil foule`.
    #[arg(long)]
    personnages: Option<usize>,
    /// Total calls per second, shared evenly among the characters (0: idle sockets only).
    /// Ignored by `--profil foule`.
    #[arg(long, default_value_t = 500)]
    debit: u32,
    /// Seconds of schedule (at most 600).
    #[arg(long, default_value_t = 30)]
    duree: u64,
    /// Mix of actions, as weights. Ignored by `--profil foule`.
    #[arg(
        long,
        default_value = "deplacer=40,chat=5,combat=20,economie=15,echange=5,lecture=15"
    )]
    melange: Melange,
    /// Logins are `<prefixe>-<n>`, characters `<prefixe><n>`: the same prefix reuses an
    /// earlier run's accounts and characters.
    #[arg(long, default_value = "charge")]
    prefixe: String,
    /// Registrations and logins sent at once (each costs the server an argon2 hash).
    #[arg(long, default_value_t = 2)]
    hachages: usize,
    /// The server's pid, for its memory and CPU (default: the one process named `mmo`).
    #[arg(long)]
    pid: Option<u32>,
    #[command(flatten)]
    foule: foule::ReglagesFoule,
}

impl Options {
    fn valider(&self) -> anyhow::Result<()> {
        if self.joueurs == 0 || self.joueurs > MAX_JOUEURS {
            bail!("--joueurs va de 1 à {MAX_JOUEURS}");
        }
        if self.debit > MAX_DEBIT {
            bail!("--debit va de 0 à {MAX_DEBIT}");
        }
        if self.duree == 0 || self.duree > MAX_DUREE {
            bail!("--duree va de 1 à {MAX_DUREE} s");
        }
        if self.personnages().is_some_and(|p| p > self.joueurs) {
            bail!("--personnages ne dépasse pas --joueurs");
        }
        if self.profil == Profil::Foule {
            if self.personnages.is_some() {
                bail!("--profil foule : un personnage par socket, sans --personnages");
            }
            self.foule.valider()?;
        }
        let valide = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if self.prefixe.is_empty()
            || self.prefixe.len() > 10
            || !self.prefixe.starts_with(|c: char| c.is_ascii_alphabetic())
            || !self.prefixe.chars().all(valide)
        {
            bail!("--prefixe : 1 à 10 lettres, chiffres ou _, commençant par une lettre");
        }
        Ok(())
    }

    fn personnages(&self) -> Option<usize> {
        self.personnages
    }

    fn nombre_de_personnages(&self) -> usize {
        self.personnages.unwrap_or(self.joueurs.min(1_500))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    options.valider()?;
    let hote_port = serveur::boucle_locale(&options.cible)?;
    let cible = tokio::net::lookup_host(&hote_port)
        .await?
        .find(|a| a.ip().is_loopback())
        .context("la cible ne se résout pas en une adresse de boucle locale")?;
    let base = options.cible.trim_end_matches('/').to_owned();
    let http = reqwest::Client::new();
    let pid = options.pid.or_else(serveur::trouver_mmo);
    let pool = if options.base == "-" {
        None
    } else {
        serveur::boucle_locale(&options.base.replace("postgres://postgres@", "http://"))
            .context("--base doit être en boucle locale")?;
        // No JIT for the lag samples: their plan's cost made PostgreSQL compile the query
        // every 250 ms, a sixth of this machine's two cores taken from the server measured.
        PgPoolOptions::new()
            .max_connections(1)
            .after_connect(|connexion, _| {
                Box::pin(async move {
                    sqlx::Executor::execute(connexion, "SET jit = off").await?;
                    Ok(())
                })
            })
            .connect(&options.base)
            .await
            .ok()
    };

    let contexte = Contexte {
        cible,
        hote_port,
        base,
        http,
        pid,
    };
    if options.profil == Profil::Foule {
        let rapport = foule::courir(&options, &contexte, pool).await?;
        println!("{rapport}{}", serie::tableau());
        return Ok(());
    }
    let Contexte {
        cible,
        hote_port,
        base,
        http,
        pid,
    } = contexte;

    let n_perso = options.nombre_de_personnages();
    let n_comptes = n_perso.div_ceil(PERSONNAGES_PAR_COMPTE).max(1);
    let t = Instant::now();
    let comptes =
        preparation::comptes(&http, &base, &options.prefixe, n_comptes, options.hachages).await?;
    eprintln!("{n_comptes} comptes connectés en {:.1?}", t.elapsed());

    let rss_avant = pid.and_then(serveur::rss_kio);
    let t = Instant::now();
    let sockets = futures_util::stream::iter(0..options.joueurs)
        .map(|i| {
            let compte = if i < n_perso {
                i / PERSONNAGES_PAR_COMPTE
            } else {
                i % n_comptes
            };
            let jeton = comptes[compte].jeton.clone();
            let hote_port = hote_port.clone();
            async move {
                preparation::ouvrir(cible, &hote_port, &jeton, preparation::source(i))
                    .await
                    .map(|f| (i, f))
            }
        })
        .buffer_unordered(128)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<(usize, Flux)>>>()?;
    eprintln!("{} sockets ouvertes en {:.1?}", sockets.len(), t.elapsed());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_apres = pid.and_then(serveur::rss_kio);

    let (joueurs, inactifs) = preparer_personnages(&options, sockets, n_perso).await?;
    eprintln!("{} personnages prêts", joueurs.len());
    tokio::time::sleep(Duration::from_secs(2)).await;

    let bilan = courir(&options, &http, &base, pool, pid, joueurs, inactifs).await;
    let titre = format!(
        "{} sockets ({} personnages, {} inactives), débit visé {}/s pendant {} s ; \
         **{:.0} appels répondus/s** ({:.0} réussis/s).",
        bilan.personnages + bilan.inactifs,
        bilan.personnages,
        bilan.inactifs,
        options.debit,
        options.duree,
        bilan.stats.repondus() as f64 / bilan.duree.as_secs_f64(),
        bilan.stats.reussis() as f64 / bilan.duree.as_secs_f64(),
    );
    let rapport = rapport(&bilan, &titre, rss_avant, rss_apres, pid, &http, &base).await;
    println!("{rapport}{}", serie::tableau());
    Ok(())
}

/// Where the server is and how to reach it.
struct Contexte {
    /// Its address (loopback).
    cible: std::net::SocketAddr,
    /// `host:port`, for the WebSocket URL.
    hote_port: String,
    /// `http://host:port`.
    base: String,
    /// For its REST routes and `/metrics`.
    http: reqwest::Client,
    /// Its pid, for its memory and CPU.
    pid: Option<u32>,
}

type Actifs = Vec<(usize, Flux, joueur::Personnage)>;

async fn preparer_personnages(
    options: &Options,
    sockets: Vec<(usize, Flux)>,
    n_perso: usize,
) -> anyhow::Result<(Actifs, Vec<(usize, Flux)>)> {
    let t = Instant::now();
    let (actifs, inactifs): (Vec<_>, Vec<_>) = sockets.into_iter().partition(|(i, _)| *i < n_perso);
    let mut par_compte: Vec<Vec<(usize, Flux)>> = Vec::new();
    for (i, f) in actifs {
        let a = i / PERSONNAGES_PAR_COMPTE;
        if par_compte.len() <= a {
            par_compte.resize_with(a + 1, Vec::new);
        }
        par_compte[a].push((i, f));
    }
    let prefixe = options.prefixe.clone();
    let faits = futures_util::stream::iter(par_compte)
        .map(|s| preparation::personnages(&prefixe, s))
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    eprintln!("personnages créés ou retrouvés en {:.1?}", t.elapsed());
    Ok((preparation::en_parties(faits), inactifs))
}

struct Bilan {
    stats: Stats,
    duree: Duration,
    retards: serveur::Retards,
    cpu: Cpu,
    personnages: usize,
    inactifs: usize,
    abandons: (f64, f64),
}

/// CPU time, in clock ticks: over the schedule alone (from its first to its last intended
/// call), and what the server still did after it until it came to rest (answers in flight,
/// projections and the relay catching up).
#[derive(Debug, Default)]
struct Cpu {
    /// The server's, over the schedule.
    serveur: Option<u64>,
    /// This tool's, over the schedule.
    client: Option<u64>,
    /// The server's after the schedule until it rested, and how long that took.
    rattrapage: Option<(u64, Duration)>,
}

/// A second using less than this many ticks (5 % of a core) is the server at rest.
const TICKS_AU_REPOS: u64 = 5;
/// Longest wait for the server to rest after a schedule.
const ATTENTE_DU_REPOS: Duration = Duration::from_mins(1);

/// The CPU ticks of the server (`pid`) and of this tool at `debut` and at `fin`, each taken
/// at that instant: the schedule's CPU, whatever runs before or after it. Also the server's
/// ticks at `fin`, where the catch-up starts.
async fn cpu_du_calendrier(
    pid: Option<u32>,
    debut: Instant,
    fin: Instant,
) -> (Option<u64>, Option<u64>, Option<u64>) {
    let lire = || {
        (
            pid.and_then(serveur::cpu_ticks),
            serveur::cpu_ticks(std::process::id()),
        )
    };
    tokio::time::sleep_until(debut).await;
    let (s0, c0) = lire();
    tokio::time::sleep_until(fin).await;
    let (s1, c1) = lire();
    let ecart = |a: Option<u64>, b: Option<u64>| b.zip(a).map(|(b, a)| b.saturating_sub(a));
    (ecart(s0, s1), ecart(c0, c1), s1)
}

/// The server's ticks from `depuis` (taken at the schedule's end) until a second in which it
/// used under [`TICKS_AU_REPOS`], at most [`ATTENTE_DU_REPOS`]; and how long since `fin`.
async fn rattrapage(pid: u32, depuis: u64, fin: Instant) -> Option<(u64, Duration)> {
    let mut avant = serveur::cpu_ticks(pid)?;
    let limite = Instant::now() + ATTENTE_DU_REPOS;
    while Instant::now() < limite {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let maintenant = serveur::cpu_ticks(pid)?;
        if maintenant.saturating_sub(avant) < TICKS_AU_REPOS {
            return Some((maintenant.saturating_sub(depuis), fin.elapsed()));
        }
        avant = maintenant;
    }
    Some((avant.saturating_sub(depuis), fin.elapsed()))
}

async fn abandons(http: &reqwest::Client, base: &str) -> f64 {
    serveur::metriques(http, base).await.map_or(0.0, |t| {
        serveur::valeurs(&t, "mmo_pousses_abandonnees_total")
            .iter()
            .sum()
    })
}

/// The server's figures sampled while a schedule runs: the readers' lag, CPU time of both
/// processes, pushes the server dropped; and the run's series ([`serie`]).
struct Mesure {
    arret: watch::Sender<bool>,
    echantillons: tokio::task::JoinHandle<serveur::Retards>,
    cpu: tokio::task::JoinHandle<(Option<u64>, Option<u64>, Option<u64>)>,
    fin: Instant,
    abandons_avant: f64,
}

impl Mesure {
    /// Starts measuring a schedule that runs from `debut` to `fin`.
    async fn commencer(
        http: &reqwest::Client,
        base: &str,
        pool: Option<sqlx::PgPool>,
        pid: Option<u32>,
        (debut, fin): (Instant, Instant),
    ) -> Self {
        serie::commencer(debut);
        let (arret, ecoute) = watch::channel(false);
        let echantillons = tokio::spawn(serveur::echantillonner(
            pool,
            http.clone(),
            base.to_owned(),
            (Duration::from_millis(250), pid),
            ecoute,
        ));
        Self {
            arret,
            echantillons,
            abandons_avant: abandons(http, base).await,
            cpu: tokio::spawn(cpu_du_calendrier(pid, debut, fin)),
            fin,
        }
    }

    /// Stops measuring once every call is answered or given up: the run's figures, with the
    /// players' `stats` over `duree`; waits for the server to rest, for its catch-up.
    async fn terminer(
        self,
        http: &reqwest::Client,
        base: &str,
        pid: Option<u32>,
        stats: Stats,
        duree: Duration,
        (personnages, inactifs): (usize, usize),
    ) -> Bilan {
        let _ = self.arret.send(true);
        let retards = self.echantillons.await.expect("échantillonneur");
        let (serveur, client, a_la_fin) = self.cpu.await.unwrap_or_default();
        let rattrapage = match (pid, a_la_fin) {
            (Some(pid), Some(depuis)) => rattrapage(pid, depuis, self.fin).await,
            _ => None,
        };
        Bilan {
            stats,
            duree,
            retards,
            cpu: Cpu {
                serveur,
                client,
                rattrapage,
            },
            personnages,
            inactifs,
            abandons: (self.abandons_avant, abandons(http, base).await),
        }
    }
}

async fn courir(
    options: &Options,
    http: &reqwest::Client,
    base: &str,
    pool: Option<sqlx::PgPool>,
    pid: Option<u32>,
    joueurs: Actifs,
    inactifs: Vec<(usize, Flux)>,
) -> Bilan {
    let personnages = joueurs.len();
    let n_inactifs = inactifs.len();
    let debut = Instant::now() + Duration::from_millis(500);
    let fin = debut + Duration::from_secs(options.duree);
    let debit = f64::from(options.debit.max(1));
    let intervalle = Duration::from_secs_f64(personnages.max(1) as f64 / debit);
    let mesure = Mesure::commencer(http, base, pool, pid, (debut, fin)).await;
    let mut taches = Vec::new();
    for (rang, (i, flux, perso)) in joueurs.into_iter().enumerate() {
        let calendrier = Calendrier {
            // Spread the players' first ticks over one interval: the total rate is even.
            debut: debut + Duration::from_secs_f64(rang as f64 / debit),
            fin,
            intervalle,
            melange: options.melange,
        };
        let perso = (options.debit > 0).then_some(perso);
        taches.push(tokio::spawn(joueur::jouer(
            flux,
            perso,
            calendrier,
            i as u64 * 7919 + 1,
        )));
    }
    for (i, flux) in inactifs {
        let calendrier = Calendrier {
            debut,
            fin,
            intervalle,
            melange: options.melange,
        };
        taches.push(tokio::spawn(joueur::jouer(
            flux, None, calendrier, i as u64,
        )));
    }
    let mut stats = Stats::default();
    for t in taches {
        if let Ok(s) = t.await {
            stats.fusionner(&s);
        }
    }
    let duree = fin.saturating_duration_since(debut);
    mesure
        .terminer(http, base, pid, stats, duree, (personnages, n_inactifs))
        .await
}

fn centiles(h: &hdrhistogram::Histogram<u64>, unite: f64) -> String {
    if h.is_empty() {
        return "pas d'échantillon".to_owned();
    }
    format!(
        "p50 {:.0}, p99 {:.0}, max {:.0} ({} relevés)",
        h.value_at_quantile(0.5) as f64 / unite,
        h.value_at_quantile(0.99) as f64 / unite,
        h.max() as f64 / unite,
        h.len()
    )
}

/// The report of a run: the command, `titre` (what ran, how fast), then the figures.
async fn rapport(
    bilan: &Bilan,
    titre: &str,
    rss_avant: Option<u64>,
    rss_apres: Option<u64>,
    pid: Option<u32>,
    http: &reqwest::Client,
    base: &str,
) -> String {
    let mut texte = String::new();
    let commande: Vec<String> = std::env::args().collect();
    let _ = writeln!(texte, "\n## charge — `{}`\n", commande.join(" "));
    let secondes = bilan.duree.as_secs_f64();
    let _ = writeln!(texte, "{titre}\n");
    texte.push_str(&bilan.stats.tableau(bilan.duree));
    let _ = writeln!(
        texte,
        "\n- retard d'envoi du client (au-delà de l'instant prévu, µs) : {}",
        bilan
            .stats
            .retard_envoi
            .as_ref()
            .map_or_else(|| "aucun envoi".to_owned(), |h| centiles(h, 1.0))
    );
    let _ = writeln!(
        texte,
        "- retard des projections en base (pire projection, ms) : {}",
        centiles(&bilan.retards.projections, 1.0)
    );
    let _ = writeln!(
        texte,
        "- retard du relais vers le bus en base (ms) : {}",
        centiles(&bilan.retards.relais, 1.0)
    );
    let _ = writeln!(
        texte,
        "- jauge `mmo_projection_retard_millisecondes` (pire projection, ms) : {}",
        centiles(&bilan.retards.jauge, 1.0)
    );
    let pousses: Vec<String> = bilan
        .stats
        .pousses
        .iter()
        .map(|(m, nombre)| format!("{m} {nombre} ({:.0}/s)", *nombre as f64 / secondes))
        .collect();
    let _ = writeln!(texte, "- poussées reçues : {}", pousses.join(", "));
    let _ = writeln!(
        texte,
        "- poussées abandonnées par le serveur pendant la course : {:.0}",
        bilan.abandons.1 - bilan.abandons.0
    );
    let _ = writeln!(
        texte,
        "- tirages remplacés par une lecture : {:?}",
        bilan.stats.substitutions
    );
    let _ = writeln!(
        texte,
        "- sockets fermées par le serveur (code : nombre) : {:?}",
        bilan.stats.fermetures
    );
    let hz = serie::TICKS_PAR_SECONDE;
    if let Some(ticks) = bilan.cpu.serveur {
        let _ = writeln!(
            texte,
            "- CPU du serveur pendant le calendrier : {:.0} % d'un cœur",
            ticks as f64 / hz / secondes * 100.0
        );
    }
    if let Some((ticks, duree)) = bilan.cpu.rattrapage {
        let _ = writeln!(
            texte,
            "- CPU du serveur après le calendrier, jusqu'au repos (une seconde sous {} % d'un cœur) : \
             {:.1} s de CPU en {:.1} s",
            TICKS_AU_REPOS,
            ticks as f64 / hz,
            duree.as_secs_f64()
        );
    }
    if let Some(ticks) = bilan.cpu.client {
        let _ = writeln!(
            texte,
            "- CPU de l'outil pendant le calendrier : {:.0} % d'un cœur",
            ticks as f64 / hz / secondes * 100.0
        );
    }
    texte.push_str(&memoire(bilan, pid, rss_avant, rss_apres));
    if let Ok(metriques) = serveur::metriques(http, base).await {
        let ouvertes: f64 = serveur::valeurs(&metriques, "mmo_websockets_ouvertes")
            .iter()
            .sum();
        let _ = writeln!(
            texte,
            "- `mmo_websockets_ouvertes` à la fin : {ouvertes:.0}"
        );
    }
    texte
}

fn memoire(
    bilan: &Bilan,
    pid: Option<u32>,
    rss_avant: Option<u64>,
    rss_apres: Option<u64>,
) -> String {
    match (pid, rss_avant, rss_apres) {
        (Some(pid), Some(avant), Some(apres)) => {
            let sockets = (bilan.personnages + bilan.inactifs).max(1);
            let mut texte = String::new();
            let _ = writeln!(
                texte,
                "- mémoire résidente du serveur (pid {pid}) : {avant} Kio avant les sockets, {apres} Kio \
                 après ({} sockets) : **{:.1} Kio par connexion** ; {} Kio à la fin",
                sockets,
                apres.saturating_sub(avant) as f64 / sockets as f64,
                serveur::rss_kio(pid).unwrap_or(0)
            );
            texte
        }
        _ => "- mémoire du serveur : processus `mmo` introuvable (--pid)\n".to_owned(),
    }
}
