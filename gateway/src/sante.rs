//! `/healthz` (the process answers), `/readyz` (PostgreSQL, Redis and NATS answer within a
//! second each), the same probe every 5 s into `/metrics` ([`veiller`]), and `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::metriques::{Format, Metriques};
use crate::passerelle::Passerelle;
use crate::rest::erreur::ErreurApi;

const DELAI: Duration = Duration::from_secs(1);

/// Liveness: the process serves requests.
#[utoipa::path(get, path = "/healthz", tag = "exploitation",
    responses((status = 200, description = "Le processus répond")))]
pub async fn vivant() -> &'static str {
    "ok"
}

/// Each engine's state: `"ok"` or what failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preparation {
    /// PostgreSQL.
    postgresql: String,
    /// Redis.
    redis: String,
    /// NATS.
    nats: String,
}

async fn sonder<E: std::fmt::Display>(
    f: impl Future<Output = Result<(), E>>,
) -> Result<(), String> {
    match tokio::time::timeout(DELAI, f).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("pas de réponse en 1 s".to_owned()),
    }
}

fn texte(r: &Result<(), String>) -> String {
    r.as_ref().map_or_else(Clone::clone, |()| "ok".to_owned())
}

/// What one probe of the engines found: `Ok` or what failed, for each.
struct Sondage {
    postgresql: Result<(), String>,
    redis: Result<(), String>,
    nats: Result<(), String>,
}

impl Sondage {
    fn tout_va(&self) -> bool {
        self.postgresql.is_ok() && self.redis.is_ok() && self.nats.is_ok()
    }
}

/// Probes PostgreSQL, Redis and NATS at once, a second at most each.
async fn sonder_moteurs(passerelle: &Passerelle) -> Sondage {
    let pg = sonder(async {
        sqlx::query("SELECT 1")
            .execute(&passerelle.pool)
            .await
            .map(drop)
    });
    let redis = sonder(async {
        let mut c = passerelle.redis.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut c)
            .await
            .map(drop)
    });
    let nats = sonder(async {
        match passerelle.bus.client().connection_state() {
            async_nats::connection::State::Connected => passerelle
                .bus
                .client()
                .flush()
                .await
                .map_err(|e| e.to_string()),
            autre => Err(format!("état {autre}")),
        }
    });
    let (postgresql, redis, nats) = tokio::join!(pg, redis, nats);
    Sondage {
        postgresql,
        redis,
        nats,
    }
}

/// How often [`veiller`] probes the engines.
pub const PERIODE_VEILLE: Duration = Duration::from_secs(5);

/// Probes the engines every [`PERIODE_VEILLE`] until `arret`, into `/metrics`
/// (`mmo_moteur_joignable`): what the alert on an unreachable engine reads.
pub async fn veiller(passerelle: Arc<Passerelle>, mut arret: tokio::sync::watch::Receiver<bool>) {
    let mut tic = tokio::time::interval(PERIODE_VEILLE);
    loop {
        tokio::select! {
            _ = tic.tick() => {}
            _ = arret.changed() => return,
        }
        let s = sonder_moteurs(&passerelle).await;
        let m = &passerelle.metriques;
        m.moteur_joignable("postgresql", s.postgresql.is_ok());
        m.moteur_joignable("redis", s.redis.is_ok());
        m.moteur_joignable("nats", s.nats.is_ok());
    }
}

/// Readiness: every engine the gateway needs answers.
#[utoipa::path(get, path = "/readyz", tag = "exploitation",
    responses(
        (status = 200, description = "Prêt", body = Preparation),
        (status = 503, description = "Un moteur ne répond pas", body = Preparation),
    ))]
pub async fn pret(State(passerelle): State<Arc<Passerelle>>) -> (StatusCode, Json<Preparation>) {
    let s = sonder_moteurs(&passerelle).await;
    let statut = if s.tout_va() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        statut,
        Json(Preparation {
            postgresql: texte(&s.postgresql),
            redis: texte(&s.redis),
            nats: texte(&s.nats),
        }),
    )
}

/// The metrics of the gateway, in the format the scraper asks for.
pub async fn metriques(State(passerelle): State<Arc<Passerelle>>, entetes: HeaderMap) -> Response {
    exposer(&passerelle.metriques, &entetes)
}

/// The exposition of a registry, OpenMetrics or the classic text by the `Accept` header.
pub fn exposer(metriques: &Metriques, entetes: &HeaderMap) -> Response {
    let accept = entetes.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negocier(accept);
    match metriques.encoder_en(format) {
        Ok(texte) => ([(header::CONTENT_TYPE, format.type_de_contenu())], texte).into_response(),
        Err(e) => ErreurApi::interne(&e).into_response(),
    }
}
