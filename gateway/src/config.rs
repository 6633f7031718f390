//! The configuration of every `mmo` process, in one typed place: flags, each with its
//! environment variable, and defaults that work on a developer machine (the services that
//! `scripts/services.sh` starts on loopback).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the three engines are.
#[derive(Debug, Clone, clap::Args)]
pub struct Connexions {
    /// Base PostgreSQL du jeu.
    #[arg(
        long,
        env = "MMO_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/mmo"
    )]
    pub database_url: String,
    /// Serveur Redis (caches, limites de débit).
    #[arg(long, env = "MMO_REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Serveur NATS JetStream (bus d'événements) ; les nœuds d'une grappe séparés par des
    /// virgules.
    #[arg(long, env = "MMO_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Répliques du flux d'événements quand il est créé (3 sur une grappe NATS de trois
    /// nœuds).
    #[arg(long, env = "MMO_NATS_REPLIQUES", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub nats_repliques: u8,
    /// Connexions PostgreSQL du pool partagé (commandes, requêtes, projections).
    #[arg(long, env = "MMO_PG_CONNEXIONS", default_value_t = 16)]
    pub pg_connexions: u32,
    /// Un instantané de l'état d'un agrégat tous les N événements, pour qu'un chargement à
    /// froid ne rejoue que les événements qui le suivent (0 : aucun instantané lu ni écrit).
    #[arg(long, env = "MMO_INSTANTANE_TOUS_LES", default_value_t = commands::instantanes::INTERVALLE_PAR_DEFAUT)]
    pub instantane_tous_les: u32,
    /// Attente d'un lot d'écriture, en microsecondes (1 000 au plus) : pendant que d'autres
    /// lots s'écrivent, les commandes décidées au même moment attendent au plus ceci pour
    /// partager une instruction, une transaction et un fsync (0 : chacun part avec ce qui
    /// attend déjà).
    #[arg(long, env = "MMO_ECRITURE_ATTENTE_US", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=1_000))]
    pub ecriture_attente_us: u64,
    /// Commandes écrites au plus par instruction (écriture groupée).
    #[arg(long, env = "MMO_ECRITURE_COMMANDES", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub ecriture_commandes: u64,
    /// Lots d'écriture en vol en même temps, chacun sur une connexion du pool.
    #[arg(long, env = "MMO_ECRITURE_LOTS_EN_VOL", default_value_t = 2,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub ecriture_lots_en_vol: u64,
    /// Événements que garde en mémoire le lecteur partagé du processus (la seule lecture du
    /// magasin que font ensemble projections, relais et poussées) ; un lecteur plus en retard
    /// que cela lit le magasin lui-même jusqu'à revenir dans le tampon.
    #[arg(long, env = "MMO_TAMPON_LECTURE", default_value_t = magasin::partage::CAPACITE_PAR_DEFAUT,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub tampon_lecture: usize,
    /// Préfixe des clés Redis (plusieurs jeux sur un même Redis) : le même pour la passerelle
    /// et les travailleurs d'un jeu.
    #[arg(long, env = "MMO_PREFIXE_REDIS", default_value = "")]
    pub prefixe_redis: String,
    /// Préfixe des sujets NATS et du nom du flux JetStream (plusieurs jeux sur un même NATS ;
    /// lettres, chiffres et `_` seulement).
    #[arg(long, env = "MMO_PREFIXE_BUS", default_value = "", value_parser = prefixe_bus)]
    pub prefixe_bus: String,
}

impl Connexions {
    /// How the write side groups its commands.
    pub fn reglages_ecriture(&self) -> commands::ecriture_groupee::ReglagesEcriture {
        commands::ecriture_groupee::ReglagesEcriture {
            attente: Duration::from_micros(self.ecriture_attente_us),
            commandes_par_lot: usize::try_from(self.ecriture_commandes).unwrap_or(usize::MAX),
            lots_en_vol: usize::try_from(self.ecriture_lots_en_vol).unwrap_or(usize::MAX),
        }
    }
}

/// A bus prefix: it starts NATS subjects (where `.`, `*`, `>` and spaces mean something) and
/// the JetStream stream's name (where only letters, digits, `_` and `-` are safe), so it is
/// refused at start rather than failing the first publication.
fn prefixe_bus(s: &str) -> Result<String, String> {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "préfixe de bus « {s} » : lettres ASCII, chiffres et `_` seulement"
        ))
    }
}

/// A secret that never shows in logs or `Debug`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub fn exposer(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() < 32 {
            return Err("le secret JWT doit faire au moins 32 caractères".to_owned());
        }
        Ok(Self(s.to_owned()))
    }
}

/// The gateway's own settings.
#[derive(Debug, Clone, clap::Args)]
pub struct Reglages {
    /// Adresse d'écoute HTTP et WebSocket (port 0 : un port libre).
    #[arg(long, env = "MMO_ADRESSE", default_value = "127.0.0.1:8080")]
    pub adresse: SocketAddr,
    /// Secret HMAC des jetons d'accès (32 caractères au moins). Sans lui, un secret aléatoire
    /// est tiré au démarrage : les jetons ne survivent pas au redémarrage et ne valent que pour
    /// cette instance.
    #[arg(long, env = "MMO_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// Émetteur (`iss`) des jetons.
    #[arg(long, env = "MMO_JWT_EMETTEUR", default_value = "mmo")]
    pub jwt_emetteur: String,
    /// Audience (`aud`) des jetons.
    #[arg(long, env = "MMO_JWT_AUDIENCE", default_value = "mmo-client")]
    pub jwt_audience: String,
    /// Durée de vie d'un jeton d'accès, en secondes.
    #[arg(long, env = "MMO_DUREE_ACCES", default_value_t = 900)]
    pub duree_acces_s: u64,
    /// Durée de vie d'un jeton de rafraîchissement, en secondes.
    #[arg(long, env = "MMO_DUREE_RAFRAICHISSEMENT", default_value_t = 30 * 24 * 3600)]
    pub duree_rafraichissement_s: u64,
    /// Origines admises pour les WebSocket de navigateur (séparées par des virgules). Un
    /// client sans en-tête Origin (script, outil) est admis.
    #[arg(
        long,
        env = "MMO_ORIGINES",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8080,http://localhost:8080,http://127.0.0.1:4200,http://localhost:4200"
    )]
    pub origines: Vec<String>,
    /// Hachages argon2id menés en même temps (chacun prend 19 Mio et un cœur).
    #[arg(long, env = "MMO_HACHAGES_SIMULTANES", default_value_t = 1)]
    pub hachages_simultanes: usize,
    /// Appels JSON-RPC admis par compte et par seconde (en régime soutenu).
    #[arg(long, env = "MMO_APPELS_PAR_SECONDE", default_value_t = 50)]
    pub appels_par_seconde: u32,
    /// Tentatives de connexion admises par minute, par adresse IP et par identifiant.
    #[arg(long, env = "MMO_CONNEXIONS_PAR_MINUTE", default_value_t = 10)]
    pub connexions_par_minute: u32,
    /// Durée d'un échange entre joueurs, en secondes : qui n'est pas conclu à son échéance
    /// expire, et ce qu'il réservait est libéré.
    #[arg(long, env = "MMO_DUREE_ECHANGE", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duree_echange_s: u64,
    /// Dossier des fichiers du client web servis à `/` (absent : pas de client).
    #[arg(long, env = "MMO_CLIENT")]
    pub client: Option<PathBuf>,
}

impl Reglages {
    /// How long an access token lives.
    pub fn duree_acces(&self) -> Duration {
        Duration::from_secs(self.duree_acces_s)
    }

    /// How long a refresh token lives.
    pub fn duree_rafraichissement(&self) -> Duration {
        Duration::from_secs(self.duree_rafraichissement_s)
    }

    /// How long a trade between players stays open.
    pub fn duree_echange(&self) -> Duration {
        Duration::from_secs(self.duree_echange_s)
    }
}

/// Limits on what one message may cost the server.
pub mod limites {
    /// Largest JSON-RPC body over HTTP, and largest WebSocket message.
    pub const TAILLE_MESSAGE: usize = 64 * 1024;
    /// Largest batch.
    pub const TAILLE_LOT: usize = 50;
    /// Largest REST body (accounts and sessions).
    pub const TAILLE_CORPS_REST: usize = 4 * 1024;
    /// Messages waiting to be written to one socket; a socket that falls this far behind is
    /// closed (a slow consumer is never buffered without end).
    pub const FILE_SORTANTE: usize = 256;
    /// The most pushes written in one WebSocket frame, as a JSON array (doc/protocole.md,
    /// « Notifications groupées »), and the most bytes such a frame gathers.
    pub const POUSSEES_PAR_TRAME: usize = 64;
    /// See [`POUSSEES_PAR_TRAME`].
    pub const TAILLE_TRAME_GROUPEE: usize = 64 * 1024;
    /// How long a push waits for others to share its frame: the socket's network tick. A
    /// push goes out at most this much later; a socket gets at most 1 / this frames of
    /// pushes per second, whatever the pushes' rate (answers are not held).
    pub const FENETRE_POUSSEES: std::time::Duration = std::time::Duration::from_millis(100);
    /// A WebSocket's read buffer, allocated whole when the socket opens: tungstenite's
    /// default of 128 KiB made an idle socket cost 135 KiB (doc/performance.md). Client
    /// messages are small; a larger one is read in several passes, up to `TAILLE_MESSAGE`.
    pub const TAMPON_LECTURE_WS: usize = 4 * 1024;
    /// How long a read with `a_jour_de` waits for the projections it reads to pass that
    /// cursor before it answers `LECTURE_EN_RETARD` (doc/protocole.md §3.8): a worker folds a
    /// command's events within milliseconds, so this is a projection down or far behind.
    pub const ATTENTE_LECTURE: std::time::Duration = std::time::Duration::from_secs(2);
}
