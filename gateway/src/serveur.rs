//! Starting and stopping the whole backend in one process (`mmo serve`): connections to the
//! three engines (each named, with how to start it, when it cannot be reached), migrations,
//! the process's one reader of the store (`magasin::partage`), the projection workers, the bus's relay and process managers, the store's feed to the
//! sockets, the diffusion of moves and chat messages, the writing of positions behind Redis,
//! and the HTTP/WebSocket server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use commands::Depot;
use commands::bus::Bus;
use commands::bus::reactions::Reactions;
use commands::bus::relais::Relais;
use commands::services::chat::Chat;
use commands::services::moderation::Moderation;
use commands::services::monde::{self, Monde};
use domain::Catalogue;
use magasin::MIGRATIONS;
use magasin::partage::LecteurPartage;
use projections::Projection;
use projections::cache::Cache;
use projections::travailleur::{RapportTravailleur, Travailleur};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;
use uuid::Uuid;

use crate::auth::Jetons;
use crate::auth::limites::{LimiteConnexions, Limiteur};
use crate::auth::mots_de_passe::Hacheur;
use crate::config::limites::{TAILLE_CORPS_REST, TAILLE_MESSAGE};
use crate::config::{Connexions, Reglages};
use crate::diffusion::{self, Deplacements, Livraisons, Presences};
use crate::metriques::{self, Metriques};
use crate::moderation::Revocations;
use crate::passerelle::Passerelle;
use crate::primaire::{self, Serveurs};
use crate::protocole::{ErreurRpc, reponse_erreur};
use crate::rest::{comptes, sessions};
use crate::rpc::{self, Contexte, Transport};
use crate::sockets::Sockets;
use crate::{fil, openapi, sante, ws};

const COMMENT_DEMARRER: &str = "lancez scripts/services.sh, qui démarre PostgreSQL, Redis et NATS";

/// Connects to PostgreSQL (following its primary when the URL names several servers:
/// [`primaire`]), naming it and how to start it if it cannot be reached.
pub async fn connecter_postgresql(serveurs: &Serveurs, connexions: u32) -> anyhow::Result<PgPool> {
    let ou = format!(
        "{}/{}",
        serveurs.ou(),
        serveurs.options[0].get_database().unwrap_or("")
    );
    primaire::connecter(serveurs, connexions)
        .await
        .with_context(|| {
            format!("PostgreSQL injoignable ({ou}) : {COMMENT_DEMARRER}, puis `mmo migrate`")
        })
}

/// Connects to Redis, naming it and how to start it if it cannot be reached. A lost
/// connection is made again at most a second after Redis answers again: redis-rs's default
/// backoff multiplies its one-second delay by 100 (capped at a minute), so a Redis that was
/// away at the first attempt was only reached again a minute later (measured by the
/// cluster's `redis` fault, doc/fiabilite.md §6). A call waits 2 s at most for its answer,
/// then fails (`INDISPONIBLE`).
pub async fn connecter_redis(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url).with_context(|| format!("URL Redis invalide : {url}"))?;
    let config = ConnectionManagerConfig::new()
        .set_factor(2)
        .set_max_delay(1_000)
        .set_number_of_retries(10)
        .set_connection_timeout(Duration::from_secs(1))
        .set_response_timeout(Duration::from_secs(2));
    let connexion = tokio::time::timeout(
        Duration::from_secs(5),
        ConnectionManager::new_with_config(client, config),
    )
    .await
    .map_err(|_| anyhow::anyhow!("pas de réponse en 5 s"))
    .and_then(|r| r.map_err(anyhow::Error::from))
    .with_context(|| format!("Redis injoignable ({url}) : {COMMENT_DEMARRER}"))?;
    Ok(connexion)
}

/// Connects to NATS, naming it and how to start it if it cannot be reached. `url` may name
/// the nodes of a cluster, separated by commas: the client connects to one and, when it is
/// lost, to another (those named and those the cluster announces), without end.
pub async fn connecter_nats(url: &str) -> anyhow::Result<async_nats::Client> {
    let noeuds = url
        .split(',')
        .map(|n| n.trim().parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("URL NATS invalide : {url}"))?;
    let options = async_nats::ConnectOptions::new()
        .name("mmo")
        .connection_timeout(Duration::from_secs(5))
        .max_reconnects(None);
    async_nats::connect_with_options(noeuds, options)
        .await
        .with_context(|| format!("NATS injoignable ({url}) : {COMMENT_DEMARRER}"))
}

/// Each projection worker's state, for `/metrics`.
pub type RapportsProjections = Vec<(Projection, Arc<RapportTravailleur>)>;

/// The projection workers of this process, with their states; they take their events from
/// the process's shared reader.
pub fn lancer_projections(
    pool: &PgPool,
    cache: &Cache,
    lecteur: &LecteurPartage,
    arret: &watch::Receiver<bool>,
) -> (RapportsProjections, Vec<JoinHandle<()>>) {
    let mut rapports = Vec::new();
    let mut taches = Vec::new();
    for projection in Projection::TOUTES {
        let travailleur = Travailleur::new(pool.clone(), projection)
            .avec_cache(cache.clone())
            .avec_lecteur(lecteur.clone());
        rapports.push((projection, travailleur.rapport()));
        taches.push(tokio::spawn(travailleur.executer(arret.clone())));
    }
    (rapports, taches)
}

/// The bus's relay and process managers of this process (each relay instance leads only if
/// no other does; consumers share their messages across instances). The relay takes its
/// events from the process's shared reader.
pub fn lancer_bus(
    depot: &Arc<Depot>,
    monde: &Monde,
    bus: &Bus,
    lecteur: &LecteurPartage,
    arret: &watch::Receiver<bool>,
) -> (metriques::CompteursBus, Vec<JoinHandle<()>>) {
    let relais = Relais::new(depot.pool().clone(), bus.clone()).avec_lecteur(lecteur.clone());
    let reactions = Reactions::new(Arc::clone(depot), monde.clone(), bus.clone());
    let etat = metriques::CompteursBus {
        relais: relais.rapport(),
        reactions: reactions.rapport(),
    };
    let taches = vec![
        tokio::spawn(relais.executer(arret.clone())),
        tokio::spawn(reactions.executer(arret.clone())),
    ];
    (etat, taches)
}

/// The diffusion of moves and chat messages (subscribed before this returns), the delivery
/// of the moves received, and the writing of positions behind Redis.
async fn lancer_diffusion(
    bus: &Bus,
    monde: &Monde,
    sockets: &Arc<Sockets>,
    presences: &Arc<Presences>,
    arret: &watch::Receiver<bool>,
) -> anyhow::Result<[JoinHandle<()>; 3]> {
    let abonne = diffusion::abonner(bus)
        .await
        .context("abonnement aux diffusions (NATS)")?;
    let livraisons = Arc::new(Livraisons::default());
    Ok([
        tokio::spawn(diffusion::suivre(
            bus.clone(),
            abonne,
            Arc::clone(sockets),
            Arc::clone(presences),
            Arc::clone(&livraisons),
            arret.clone(),
        )),
        tokio::spawn(livraisons.livrer_periodiquement(
            Arc::clone(sockets),
            Arc::clone(presences),
            arret.clone(),
        )),
        tokio::spawn(
            monde
                .clone()
                .ecrire_periodiquement(monde::PERIODE_ECRITURE, arret.clone()),
        ),
    ])
}

/// A running backend.
pub struct Serveur {
    /// Where it listens (the real port when asked for port 0).
    pub adresse: SocketAddr,
    /// Its gateway (tests read the token machinery and the pool from it).
    pub passerelle: Arc<Passerelle>,
    arret: watch::Sender<bool>,
    taches: Vec<JoinHandle<()>>,
}

impl Serveur {
    /// Starts everything from the configuration.
    pub async fn demarrer(connexions: &Connexions, reglages: &Reglages) -> anyhow::Result<Self> {
        let serveurs =
            Serveurs::parse(&connexions.database_url).context("MMO_DATABASE_URL invalide")?;
        Self::demarrer_sur(serveurs, connexions, reglages).await
    }

    /// Starts everything on the given database (tests give a fresh one's options).
    // One sequence, read top to bottom: the order of the starts is the point.
    #[allow(clippy::too_many_lines)]
    pub async fn demarrer_sur(
        serveurs: impl Into<Serveurs>,
        connexions: &Connexions,
        reglages: &Reglages,
    ) -> anyhow::Result<Self> {
        let pool = connecter_postgresql(&serveurs.into(), connexions.pg_connexions).await?;
        MIGRATIONS
            .run(&pool)
            .await
            .context("migrations de la base du jeu")?;
        let redis = connecter_redis(&connexions.redis_url).await?;
        let nats = connecter_nats(&connexions.nats_url).await?;
        let catalogue = Catalogue::officiel().context("catalogue livré")?;
        let depot = Arc::new(
            Depot::new(pool.clone(), catalogue.clone())
                .avec_instantanes(connexions.instantane_tous_les)
                .avec_ecriture(connexions.reglages_ecriture()),
        );
        let monde = Monde::new(
            pool.clone(),
            redis.clone(),
            &connexions.prefixe_redis,
            catalogue,
        );
        let cache = Cache::new(redis.clone()).avec_prefixe(connexions.prefixe_redis.clone());
        let (arret, arret_rx) = watch::channel(false);

        // One reading of the store for the whole process: projections, relay and pushes.
        let lecteur = LecteurPartage::new(pool.clone(), connexions.tampon_lecture);
        let mut taches = vec![lecteur.lancer(arret_rx.clone())];
        let (rapports, taches_projections) = lancer_projections(&pool, &cache, &lecteur, &arret_rx);
        taches.extend(taches_projections);
        let bus = Bus::new(nats, &connexions.prefixe_bus)
            .avec_repliques(usize::from(connexions.nats_repliques));
        let (rapports_bus, taches_bus) = lancer_bus(&depot, &monde, &bus, &lecteur, &arret_rx);
        taches.extend(taches_bus);
        let sockets = Arc::new(Sockets::default());
        taches.push(tokio::spawn(fil::suivre(
            Arc::clone(&depot),
            Arc::clone(&sockets),
            lecteur.clone(),
            arret_rx.clone(),
        )));
        let presences = Arc::new(Presences::default());
        taches.extend(lancer_diffusion(&bus, &monde, &sockets, &presences, &arret_rx).await?);
        let moderation = Moderation::new(pool.clone(), monde.clone());
        let revocations = Arc::new(Revocations::default());
        revocations.remplacer(
            moderation
                .revocations()
                .await
                .context("lecture des bannissements en vigueur")?,
        );
        let abonne = crate::moderation::abonner(&bus)
            .await
            .context("abonnement aux annonces de modération (NATS)")?;
        taches.push(tokio::spawn(crate::moderation::suivre(
            bus.clone(),
            abonne,
            moderation.clone(),
            Arc::clone(&revocations),
            Arc::clone(&sockets),
            arret_rx.clone(),
        )));
        let deplacements = Arc::new(Deplacements::default());
        taches.push(tokio::spawn(
            Arc::clone(&deplacements).publier_periodiquement(bus.clone(), arret_rx.clone()),
        ));
        let metriques = Arc::new(Metriques::new(
            Arc::clone(depot.compteurs()),
            Arc::clone(lecteur.compteurs()),
            rapports,
            Arc::clone(&sockets),
            rapports_bus,
        ));
        let secret = if let Some(s) = &reglages.jwt_secret {
            s.exposer().as_bytes().to_vec()
        } else {
            tracing::warn!(
                "MMO_JWT_SECRET absent : secret tiré au hasard, les jetons ne survivront pas au redémarrage"
            );
            [Uuid::new_v4(), Uuid::new_v4()]
                .iter()
                .flat_map(|u| *u.as_bytes())
                .collect()
        };
        let origines = reglages
            .origines
            .iter()
            .map(|o| HeaderValue::from_str(o.trim()))
            .collect::<Result<Vec<_>, _>>()
            .context("MMO_ORIGINES : une origine n'est pas un en-tête valide")?;
        let passerelle = Arc::new(Passerelle {
            pool: pool.clone(),
            depot,
            chat: Chat::new(monde.clone()),
            moderation,
            revocations,
            monde,
            presences,
            deplacements,
            cache,
            redis: redis.clone(),
            bus,
            jetons: Jetons::new(
                &secret,
                &reglages.jwt_emetteur,
                &reglages.jwt_audience,
                reglages.duree_acces(),
            ),
            duree_rafraichissement: reglages.duree_rafraichissement(),
            duree_echange: reglages.duree_echange(),
            hacheur: Hacheur::new(reglages.hachages_simultanes)?,
            limite_connexions: LimiteConnexions::new(
                redis,
                &connexions.prefixe_redis,
                reglages.connexions_par_minute,
            ),
            limite_appels: Limiteur::new(
                reglages.appels_par_seconde,
                reglages.appels_par_seconde.saturating_mul(2),
            ),
            origines,
            sockets,
            metriques,
            arret: arret_rx.clone(),
        });

        let ecoute = tokio::net::TcpListener::bind(reglages.adresse)
            .await
            .with_context(|| format!("écoute impossible sur {}", reglages.adresse))?;
        let adresse = ecoute.local_addr()?;
        let app = routeur(Arc::clone(&passerelle), reglages);
        taches.push(tokio::spawn(servir_http(ecoute, app, arret_rx.clone())));
        taches.push(tokio::spawn(sante::veiller(
            Arc::clone(&passerelle),
            arret_rx.clone(),
        )));
        tracing::info!(%adresse, "passerelle à l'écoute");
        Ok(Self {
            adresse,
            passerelle,
            arret,
            taches,
        })
    }

    /// Stops every task and closes the pool.
    pub async fn arreter(self) {
        let _ = self.arret.send(true);
        for t in self.taches {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        // Snapshots being written are a cache: waited for briefly, never for long.
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            self.passerelle.depot.attendre_instantanes(),
        )
        .await;
        self.passerelle.pool.close().await;
    }
}

/// How long a client may take to send a request's headers (the first request's, and each next
/// one's on a kept-alive connection): a connection that opens and says nothing, or drips its
/// headers, is closed after that instead of being held for ever.
pub const ENTETES_MAX: Duration = Duration::from_secs(10);

/// Accepts HTTP/1 connections until the stop signal, each served by the router with the
/// peer's address ([`ConnectInfo`]) and upgrades (WebSocket). What `axum::serve` does, plus a
/// timer: hyper then enforces [`ENTETES_MAX`]. On stop, no new connection is taken and each
/// open one finishes its request in flight (the sockets close themselves, with 1001).
async fn servir_http(
    ecoute: tokio::net::TcpListener,
    app: Router,
    mut arret: watch::Receiver<bool>,
) {
    use tower::ServiceExt as _;

    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(ENTETES_MAX);
    loop {
        let (flux, pair) = tokio::select! {
            () = async { drop(arret.wait_for(|a| *a).await) } => break,
            accepte = ecoute.accept() => match accepte {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, mostly: wait a little rather than spin.
                    tracing::warn!(erreur = %e, "connexion non acceptée");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut requete: hyper::Request<hyper::body::Incoming>| {
                requete.extensions_mut().insert(ConnectInfo(pair));
                app.clone().oneshot(requete)
            },
        );
        let connexion = http1
            .serve_connection(hyper_util::rt::TokioIo::new(flux), service)
            .with_upgrades();
        let mut arret = arret.clone();
        tokio::spawn(async move {
            tokio::pin!(connexion);
            let resultat = tokio::select! {
                r = connexion.as_mut() => r,
                () = async { drop(arret.wait_for(|a| *a).await) } => {
                    connexion.as_mut().graceful_shutdown();
                    connexion.await
                }
            };
            if let Err(e) = resultat {
                tracing::debug!(erreur = %e, %pair, "connexion HTTP close sur une erreur");
            }
        });
    }
}

/// Every route of the gateway.
fn routeur(passerelle: Arc<Passerelle>, reglages: &Reglages) -> Router {
    let rest = Router::new()
        .route("/api/comptes", post(comptes::inscrire))
        .route(
            "/api/sessions",
            post(sessions::connecter).delete(sessions::deconnecter),
        )
        .route("/api/sessions/rafraichir", post(sessions::rafraichir))
        .layer(DefaultBodyLimit::max(TAILLE_CORPS_REST));
    let mut app = Router::new()
        .route("/healthz", get(sante::vivant))
        .route("/readyz", get(sante::pret))
        .route("/metrics", get(sante::metriques))
        .route("/api/openapi.json", get(document_openapi))
        .route("/api/openrpc.json", get(document_openrpc))
        .route("/rpc", post(rpc_http))
        .route("/ws", get(ws::ouvrir))
        .merge(rest);
    if let Some(dossier) = &reglages.client {
        let index = dossier.join("index.html");
        app = app.fallback_service(ServeDir::new(dossier).fallback(ServeFile::new(index)));
    }
    app.layer(TraceLayer::new_for_http()).with_state(passerelle)
}

async fn document_openapi() -> impl IntoResponse {
    axum::Json(openapi::document_openapi())
}

/// The OpenRPC document of the JSON-RPC half, generated from the method table.
async fn document_openrpc(State(passerelle): State<Arc<Passerelle>>) -> impl IntoResponse {
    axum::Json(rpc::openrpc::document(passerelle.depot.catalogue()))
}

/// The request id: the client's `X-Request-Id` if it is a UUID, else a new one. It becomes the
/// correlation id of the commands the request sends.
fn id_requete(entetes: &HeaderMap) -> Uuid {
    entetes
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .unwrap_or_else(Uuid::new_v4)
}

/// `POST /rpc`: one call or a batch, the token in `Authorization: Bearer`. JSON-RPC errors
/// travel in a 200 (the protocol's own convention), but for a body over the limit (413).
async fn rpc_http(
    State(passerelle): State<Arc<Passerelle>>,
    ConnectInfo(pair): ConnectInfo<SocketAddr>,
    entetes: HeaderMap,
    corps: Body,
) -> Response {
    let id = id_requete(&entetes);
    let Ok(octets) = axum::body::to_bytes(corps, TAILLE_MESSAGE).await else {
        let e = ErreurRpc::message_trop_grand(TAILLE_MESSAGE);
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(reponse_erreur(serde_json::Value::Null, &e)),
        )
            .into_response();
    };
    let jeton = entetes
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let (auth, refus) = match jeton.map(|j| passerelle.jetons.verifier(j.trim())) {
        None => (None, None),
        Some(Ok(a)) => (Some(a), None),
        Some(Err(r)) => (None, Some(r)),
    };
    let mut ctx = Contexte {
        auth,
        refus,
        ip: pair.ip(),
        id_requete: id,
        transport: Transport::Http,
        joueur: None,
    };
    let mut r = match rpc::traiter(&passerelle, &mut ctx, &octets).await {
        Some(v) => axum::Json(v).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
        r.headers_mut().insert("x-request-id", v);
    }
    r
}
