//! Following PostgreSQL's primary across a failover. The game's connection string may name
//! several servers, libpq's way: `postgres://u@h1:5432,h2:5432/mmo?target_session_attrs=read-write`.
//! sqlx 0.8 reads neither (one host per URL; it ignores `target_session_attrs` with a warning),
//! so this module does what libpq would, with what sqlx offers:
//!
//! - [`Serveurs::parse`] splits such a URL into one set of connect options per server;
//! - [`connecter`] opens the pool on the first server that accepts writes (`SHOW
//!   transaction_read_only` is `off`, libpq's test for `read-write`); every new connection of
//!   the pool is checked the same way (`after_connect`), so none lands on a standby;
//! - a task ([`suivre`]) checks every [`PERIODE`] that the pool still reaches a server that
//!   writes; when it does not, it asks each server in turn and points the pool at the first
//!   that does (`Pool::set_connect_options`: the pool's connects, and those waiting for a
//!   connection, use the new server at once); connections opened before the switch are
//!   dropped when next taken (`before_acquire`), should the former primary still answer,
//!   read-only.
//!
//! With one server, or without `target_session_attrs`, the pool is a plain pool on it.
//! Promoting the standby is not this module's job: `scripts/grappe.sh` (or a failover
//! manager) does it; this one follows.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sqlx::ConnectOptions as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, PgPool};

/// How often the pool checks that it still writes to the primary.
pub const PERIODE: Duration = Duration::from_millis(500);
/// How long a request waits for a connection before it answers `INDISPONIBLE`: longer than a
/// promotion (a second or two), short enough for a client to retry.
pub const ATTENTE_CONNEXION: Duration = Duration::from_secs(5);
/// How long asking one server may take.
const SONDAGE_MAX: Duration = Duration::from_secs(1);

/// Which servers a session may land on (`target_session_attrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// Any server (libpq's default).
    Quelconque,
    /// One that accepts writes: the primary (`read-write`, `primary`).
    Ecriture,
}

/// The servers a connection string names, in its order.
#[derive(Debug, Clone)]
pub struct Serveurs {
    /// One single-host URL per server (for the tools that take a URL).
    pub urls: Vec<String>,
    /// The same, as sqlx's options.
    pub options: Vec<PgConnectOptions>,
    /// `target_session_attrs`.
    pub session: Session,
}

impl Serveurs {
    /// Reads a PostgreSQL URL with one host or several (`h1:p1,h2:p2`), and
    /// `target_session_attrs` (`any`, `read-write` or `primary`) among its parameters.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let (schema, reste) = url
            .split_once("://")
            .context("URL PostgreSQL sans « :// »")?;
        let fin_autorite = reste.find(['/', '?']).unwrap_or(reste.len());
        let (autorite, chemin) = reste.split_at(fin_autorite);
        let (utilisateur, hotes) = match autorite.rsplit_once('@') {
            Some((u, h)) => (format!("{u}@"), h),
            None => (String::new(), autorite),
        };
        let (chemin, requete) = chemin.split_once('?').unwrap_or((chemin, ""));
        let mut session = Session::Quelconque;
        let mut parametres = Vec::new();
        for p in requete.split('&').filter(|p| !p.is_empty()) {
            match p.split_once('=') {
                Some(("target_session_attrs", v)) => {
                    session = match v {
                        "any" => Session::Quelconque,
                        "read-write" | "primary" => Session::Ecriture,
                        autre => bail!(
                            "target_session_attrs={autre} : seuls any, read-write et primary sont pris en charge"
                        ),
                    };
                }
                _ => parametres.push(p),
            }
        }
        let requete = if parametres.is_empty() {
            String::new()
        } else {
            format!("?{}", parametres.join("&"))
        };
        let mut urls = Vec::new();
        let mut options = Vec::new();
        for hote in hotes.split(',') {
            if hote.is_empty() {
                bail!("URL PostgreSQL : un hôte vide dans « {hotes} »");
            }
            let u = format!("{schema}://{utilisateur}{hote}{chemin}{requete}");
            options.push(
                PgConnectOptions::from_str(&u)
                    .with_context(|| format!("URL PostgreSQL invalide pour l'hôte {hote}"))?,
            );
            urls.push(u);
        }
        Ok(Self {
            urls,
            options,
            session,
        })
    }

    /// Whether the pool must follow a primary among several servers.
    fn a_suivre(&self) -> bool {
        self.session == Session::Ecriture && self.options.len() > 1
    }

    /// Where each server is, for messages (`h1:p1, h2:p2`).
    pub fn ou(&self) -> String {
        self.options
            .iter()
            .map(|o| format!("{}:{}", o.get_host(), o.get_port()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The first server, in the URL's order, a session may land on; `None` if none answers
    /// as it should.
    pub async fn trouver(&self) -> Option<usize> {
        for (i, o) in self.options.iter().enumerate() {
            if convient(o, self.session).await {
                return Some(i);
            }
        }
        None
    }

    /// [`Self::trouver`], retried until `patience` runs out (a failover under way).
    pub async fn attendre(&self, patience: Duration) -> anyhow::Result<usize> {
        let fin = Instant::now() + patience;
        loop {
            if let Some(i) = self.trouver().await {
                return Ok(i);
            }
            if Instant::now() >= fin {
                bail!(
                    "aucun serveur PostgreSQL {} parmi {} après {patience:?}",
                    match self.session {
                        Session::Ecriture => "n'accepte les écritures",
                        Session::Quelconque => "ne répond",
                    },
                    self.ou()
                );
            }
            tokio::time::sleep(PERIODE).await;
        }
    }
}

/// One server, as tests give it (a fresh database's options).
impl From<PgConnectOptions> for Serveurs {
    fn from(options: PgConnectOptions) -> Self {
        Self {
            urls: vec![options.to_url_lossy().to_string()],
            options: vec![options],
            session: Session::Quelconque,
        }
    }
}

/// Whether `session` may land on the server of `options`: it answers within
/// [`SONDAGE_MAX`] and, for [`Session::Ecriture`], accepts writes.
async fn convient(options: &PgConnectOptions, session: Session) -> bool {
    let essai = async {
        let mut c = match PgConnection::connect_with(options).await {
            // The server answers, the game's database is not made yet (`mmo migrate` is
            // about to): ask through the maintenance database.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
                PgConnection::connect_with(&options.clone().database("postgres")).await?
            }
            autre => autre?,
        };
        let ok = match session {
            Session::Quelconque => true,
            Session::Ecriture => ecrit(&mut c).await?,
        };
        let _ = c.close().await;
        Ok::<_, sqlx::Error>(ok)
    };
    matches!(tokio::time::timeout(SONDAGE_MAX, essai).await, Ok(Ok(true)))
}

/// libpq's test for `read-write`.
async fn ecrit(c: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let (lecture_seule,): (String,) = sqlx::query_as("SHOW transaction_read_only")
        .fetch_one(c)
        .await?;
    Ok(lecture_seule == "off")
}

/// When the pool last changed servers: the connections opened before are dropped when next
/// taken.
#[derive(Debug, Default)]
struct Bascule(Mutex<Option<Instant>>);

impl Bascule {
    fn noter(&self) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
    }

    /// Whether a connection `age` old was opened after the last switch.
    fn depuis(&self, age: Duration) -> bool {
        match *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some(instant) => age < instant.elapsed(),
            None => true,
        }
    }
}

/// A pool of `connexions` on the servers of `serveurs`: on the first that accepts writes
/// when the URL asks for it, and followed from then on, until the pool is closed (see the
/// module). A request waits [`ATTENTE_CONNEXION`] for a connection.
pub async fn connecter(serveurs: &Serveurs, connexions: u32) -> Result<PgPool, sqlx::Error> {
    let options = PgPoolOptions::new()
        .max_connections(connexions)
        .acquire_timeout(ATTENTE_CONNEXION);
    if !serveurs.a_suivre() {
        return options.connect_with(serveurs.options[0].clone()).await;
    }
    // None writes yet (a failover under way, or all down): the first one, whose connect
    // fails as the caller expects; the follower moves the pool once one writes.
    let premier = serveurs.trouver().await.unwrap_or(0);
    let bascule = Arc::new(Bascule::default());
    let b = Arc::clone(&bascule);
    let pool = options
        .after_connect(|c, _| {
            Box::pin(async move {
                if ecrit(c).await? {
                    Ok(())
                } else {
                    // The pool retries, and the follower points it elsewhere meanwhile.
                    Err(sqlx::Error::Protocol(
                        "serveur en lecture seule : pas le primaire".into(),
                    ))
                }
            })
        })
        .before_acquire(move |_, meta| {
            let recente = b.depuis(meta.age);
            Box::pin(async move { Ok(recente) })
        })
        .connect_with(serveurs.options[premier].clone())
        .await?;
    tracing::info!(primaire = %serveurs.urls[premier], "PostgreSQL : pool sur le primaire");
    tokio::spawn(suivre(pool.clone(), serveurs.clone(), premier, bascule));
    Ok(pool)
}

/// Keeps `pool` on a server that writes, until the pool is closed.
async fn suivre(pool: PgPool, serveurs: Serveurs, mut courant: usize, bascule: Arc<Bascule>) {
    while !pool.is_closed() {
        tokio::time::sleep(PERIODE).await;
        let sain = async {
            let mut c = pool.acquire().await?;
            ecrit(&mut c).await
        };
        if matches!(tokio::time::timeout(SONDAGE_MAX, sain).await, Ok(Ok(true))) {
            continue;
        }
        let Some(nouveau) = serveurs.trouver().await else {
            tracing::warn!(serveurs = %serveurs.ou(), "PostgreSQL : aucun serveur n'accepte les écritures");
            continue;
        };
        if nouveau != courant {
            tracing::warn!(
                ancien = %serveurs.urls[courant],
                nouveau = %serveurs.urls[nouveau],
                "PostgreSQL : le primaire a changé, le pool le suit"
            );
            pool.set_connect_options(serveurs.options[nouveau].clone());
            bascule.noter();
            courant = nouveau;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn une_url_a_plusieurs_hotes_donne_un_serveur_par_hote_dans_l_ordre() {
        let s = Serveurs::parse(
            "postgres://postgres:secret@127.0.0.1:56432,127.0.0.1:56433/mmo?target_session_attrs=read-write&application_name=mmo",
        )
        .expect("URL");
        assert_eq!(s.session, Session::Ecriture);
        assert_eq!(
            s.urls,
            [
                "postgres://postgres:secret@127.0.0.1:56432/mmo?application_name=mmo",
                "postgres://postgres:secret@127.0.0.1:56433/mmo?application_name=mmo",
            ]
        );
        assert_eq!(s.options[1].get_port(), 56433);
        assert_eq!(s.options[0].get_database(), Some("mmo"));
        assert_eq!(s.ou(), "127.0.0.1:56432, 127.0.0.1:56433");
        assert!(s.a_suivre());
    }

    #[test]
    fn une_url_ordinaire_reste_un_seul_serveur_sans_suivi() {
        let s = Serveurs::parse("postgres://postgres@127.0.0.1:5432/mmo").expect("URL");
        assert_eq!(s.urls, ["postgres://postgres@127.0.0.1:5432/mmo"]);
        assert_eq!(s.session, Session::Quelconque);
        assert!(!s.a_suivre());
        let s = Serveurs::parse("postgres://h1,h2/mmo").expect("URL");
        assert_eq!(s.options[0].get_port(), 5432);
        assert!(!s.a_suivre(), "any : pas de primaire à suivre");
    }

    #[test]
    fn un_attribut_de_session_inconnu_ou_un_hote_vide_sont_refuses() {
        let e = Serveurs::parse("postgres://h1,h2/mmo?target_session_attrs=standby")
            .expect_err("standby");
        assert!(e.to_string().contains("standby"), "{e}");
        assert!(Serveurs::parse("postgres://h1,,h2/mmo").is_err());
        assert!(Serveurs::parse("h1:5432/mmo").is_err());
    }
}
