//! Sessions: logging in, trading a refresh token for a new session, logging out.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use domain::ids::CompteId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::comptes::Identifiants;
use super::erreur::{Corps, CorpsErreur, ErreurApi, Resultat};
use crate::auth::jetons::{self, Rotation};
use crate::auth::roles;
use crate::passerelle::Passerelle;

/// A session: the tokens to use.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// The access token (JWT HS256), for `Authorization: Bearer` and the WebSocket.
    jeton_acces: String,
    /// Its lifetime in seconds.
    expire_dans: u64,
    /// The refresh token: single use, rotated at each refresh.
    jeton_rafraichissement: String,
    /// The account.
    compte_id: Uuid,
    /// May call admin methods.
    admin: bool,
}

fn session(
    passerelle: &Passerelle,
    compte_id: CompteId,
    admin: bool,
    rafraichissement: String,
) -> Resultat<Json<Session>> {
    let jeton_acces = passerelle
        .jetons
        .emettre(compte_id, admin)
        .map_err(|e| ErreurApi::interne(&e))?;
    Ok(Json(Session {
        jeton_acces,
        expire_dans: passerelle.jetons.duree().as_secs(),
        jeton_rafraichissement: rafraichissement,
        compte_id: compte_id.uuid(),
        admin,
    }))
}

/// Logs in.
#[utoipa::path(
    post, path = "/api/sessions", tag = "sessions",
    request_body = Identifiants,
    responses(
        (status = 200, description = "Connecté", body = Session, links(
            ("rafraichissement" = (
                operation_id = "rafraichir",
                request_body = json!({"jeton_rafraichissement": "$response.body#/jeton_rafraichissement"})
            )),
            ("deconnexion" = (
                operation_id = "deconnecter",
                request_body = json!({"jeton_rafraichissement": "$response.body#/jeton_rafraichissement"})
            ))
        )),
        (status = 400, description = "PARAMETRES_INVALIDES", body = CorpsErreur),
        (status = 401, description = "IDENTIFIANTS_INVALIDES", body = CorpsErreur),
        (status = 403, description = "COMPTE_BANNI", body = CorpsErreur),
        (status = 413, description = "MESSAGE_TROP_GRAND (plus de 4 Kio)", body = CorpsErreur),
        (status = 429, description = "TROP_DE_REQUETES (en-tête Retry-After)", body = CorpsErreur),
        (status = 503, description = "SERVICE_SATURE, ou INDISPONIBLE (PostgreSQL absent : en-tête Retry-After, réessayer)", body = CorpsErreur),
    )
)]
pub async fn connecter(
    State(passerelle): State<Arc<Passerelle>>,
    ConnectInfo(pair): ConnectInfo<SocketAddr>,
    Corps(id): Corps<Identifiants>,
) -> Resultat<Json<Session>> {
    if id.login.len() > 64 || id.mot_de_passe.len() > 512 {
        return Err(ErreurApi::parametres("identifiants trop longs"));
    }
    passerelle
        .limite_connexions
        .compter(pair.ip(), &id.login)
        .await
        .map_err(ErreurApi::trop_de_requetes)?;
    let compte: Option<(Uuid, String, bool)> = sqlx::query_as(
        "SELECT compte_id, mot_de_passe, admin FROM comptes WHERE lower(login) = lower($1)",
    )
    .bind(&id.login)
    .fetch_optional(&passerelle.pool)
    .await?;
    let (compte_id, empreinte, admin) = match compte {
        Some((c, e, a)) => (Some(c), Some(e), a),
        None => (None, None, false),
    };
    let correct = passerelle
        .hacheur
        .verifier(id.mot_de_passe, empreinte)
        .await?;
    let Some(compte_id) = compte_id.filter(|_| correct) else {
        return Err(ErreurApi::new(
            StatusCode::UNAUTHORIZED,
            "IDENTIFIANTS_INVALIDES",
            "login ou mot de passe incorrect",
        ));
    };
    let compte_id = CompteId::from_uuid(compte_id);
    refuser_si_banni(&passerelle, compte_id).await?;
    let rafraichissement = jetons::ouvrir_famille(
        &passerelle.pool,
        compte_id,
        passerelle.duree_rafraichissement,
    )
    .await?;
    session(&passerelle, compte_id, admin, rafraichissement)
}

/// A banned account gets no new token (`COMPTE_BANNI`, 403), whatever it presents.
async fn refuser_si_banni(passerelle: &Passerelle, compte_id: CompteId) -> Resultat<()> {
    match passerelle.moderation.revocation(compte_id).await {
        Ok(None) => Ok(()),
        Ok(Some(r)) => Err(ErreurApi::new(
            StatusCode::FORBIDDEN,
            "COMPTE_BANNI",
            format!("compte banni : {}", r.raison),
        )),
        Err(e) => Err(ErreurApi::panne(&e)),
    }
}

/// A refresh token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rafraichissement {
    /// The refresh token of the session.
    jeton_rafraichissement: String,
}

/// Trades a refresh token for a new session (the old refresh token is spent).
#[utoipa::path(
    post, path = "/api/sessions/rafraichir", tag = "sessions",
    request_body = Rafraichissement,
    responses(
        (status = 200, description = "Nouvelle session", body = Session, links(
            ("rafraichissement" = (
                operation_id = "rafraichir",
                request_body = json!({"jeton_rafraichissement": "$response.body#/jeton_rafraichissement"})
            )),
            ("deconnexion" = (
                operation_id = "deconnecter",
                request_body = json!({"jeton_rafraichissement": "$response.body#/jeton_rafraichissement"})
            ))
        )),
        (status = 400, description = "PARAMETRES_INVALIDES", body = CorpsErreur),
        (status = 401, description = "JETON_INVALIDE, ou JETON_REUTILISE (la famille est révoquée)", body = CorpsErreur),
        (status = 403, description = "COMPTE_BANNI", body = CorpsErreur),
        (status = 413, description = "MESSAGE_TROP_GRAND (plus de 4 Kio)", body = CorpsErreur),
        (status = 503, description = "INDISPONIBLE (PostgreSQL absent : en-tête Retry-After, réessayer)", body = CorpsErreur),
    )
)]
pub async fn rafraichir(
    State(passerelle): State<Arc<Passerelle>>,
    Corps(r): Corps<Rafraichissement>,
) -> Resultat<Json<Session>> {
    // Before the rotation: a banned account's token stays as it was, and works again once
    // the ban is lifted.
    if let Some(compte_id) =
        jetons::compte_du_jeton(&passerelle.pool, &r.jeton_rafraichissement).await?
    {
        refuser_si_banni(&passerelle, compte_id).await?;
    }
    match jetons::rotation(
        &passerelle.pool,
        &r.jeton_rafraichissement,
        passerelle.duree_rafraichissement,
    )
    .await?
    {
        Rotation::Nouveau { compte_id, jeton } => {
            let admin = roles::est_admin(&passerelle.pool, compte_id).await?;
            session(&passerelle, compte_id, admin, jeton)
        }
        Rotation::Invalide => Err(ErreurApi::new(
            StatusCode::UNAUTHORIZED,
            "JETON_INVALIDE",
            "jeton de rafraîchissement inconnu, expiré ou révoqué",
        )),
        Rotation::Reutilise => Err(ErreurApi::new(
            StatusCode::UNAUTHORIZED,
            "JETON_REUTILISE",
            "jeton de rafraîchissement déjà utilisé : la session est révoquée, reconnectez-vous",
        )),
    }
}

/// Logs out: the session's refresh tokens are revoked (access tokens already issued live
/// until their short expiry).
#[utoipa::path(
    delete, path = "/api/sessions", tag = "sessions",
    request_body = Rafraichissement,
    responses(
        (status = 204, description = "Déconnecté"),
        (status = 400, description = "PARAMETRES_INVALIDES", body = CorpsErreur),
        (status = 401, description = "JETON_INVALIDE", body = CorpsErreur),
        (status = 413, description = "MESSAGE_TROP_GRAND (plus de 4 Kio)", body = CorpsErreur),
        (status = 503, description = "INDISPONIBLE (PostgreSQL absent : en-tête Retry-After, réessayer)", body = CorpsErreur),
    )
)]
pub async fn deconnecter(
    State(passerelle): State<Arc<Passerelle>>,
    Corps(r): Corps<Rafraichissement>,
) -> Resultat<StatusCode> {
    if jetons::revoquer(&passerelle.pool, &r.jeton_rafraichissement).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ErreurApi::new(
            StatusCode::UNAUTHORIZED,
            "JETON_INVALIDE",
            "jeton de rafraîchissement inconnu ou déjà révoqué",
        ))
    }
}
