//! Registering an account (Service Compte).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::erreur::{Corps, CorpsErreur, ErreurApi, Resultat};
use crate::passerelle::Passerelle;

/// Login and password, to register or to log in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identifiants {
    /// 3 to 32 characters: letters, digits, `.`, `_`, `-`; unique case-insensitively. (To
    /// log in, anything else is simply an unknown login.)
    #[schema(
        example = "aragorn",
        min_length = 3,
        max_length = 32,
        pattern = "^[A-Za-z0-9._-]+$"
    )]
    pub(super) login: String,
    /// 10 to 128 characters.
    #[schema(
        example = "une phrase de passe assez longue",
        min_length = 10,
        max_length = 128
    )]
    pub(super) mot_de_passe: String,
}

impl Identifiants {
    pub(super) fn valider(&self) -> Resultat<()> {
        let n = self.login.chars().count();
        if !(3..=32).contains(&n)
            || !self
                .login
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(ErreurApi::parametres(
                "login : 3 à 32 caractères parmi lettres, chiffres, « . », « _ » et « - »",
            ));
        }
        let m = self.mot_de_passe.chars().count();
        if !(10..=128).contains(&m) {
            return Err(ErreurApi::parametres("mot_de_passe : 10 à 128 caractères"));
        }
        Ok(())
    }
}

/// A created account.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompteCree {
    /// Its id.
    compte_id: Uuid,
    /// Its login.
    login: String,
}

/// Registers an account.
#[utoipa::path(
    post, path = "/api/comptes", tag = "comptes",
    request_body = Identifiants,
    responses(
        (status = 201, description = "Compte créé", body = CompteCree, links(
            ("connexion" = (
                operation_id = "connecter",
                request_body = json!({"login": "$request.body#/login", "mot_de_passe": "$request.body#/mot_de_passe"})
            ))
        )),
        (status = 400, description = "PARAMETRES_INVALIDES", body = CorpsErreur),
        (status = 409, description = "LOGIN_DEJA_PRIS", body = CorpsErreur),
        (status = 413, description = "MESSAGE_TROP_GRAND (plus de 4 Kio)", body = CorpsErreur),
        (status = 429, description = "TROP_DE_REQUETES", body = CorpsErreur),
        (status = 503, description = "SERVICE_SATURE, ou INDISPONIBLE (PostgreSQL absent : en-tête Retry-After, réessayer)", body = CorpsErreur),
    )
)]
pub async fn inscrire(
    State(passerelle): State<Arc<Passerelle>>,
    ConnectInfo(pair): ConnectInfo<SocketAddr>,
    Corps(id): Corps<Identifiants>,
) -> Resultat<(StatusCode, Json<CompteCree>)> {
    id.valider()?;
    passerelle
        .limite_connexions
        .compter(pair.ip(), &id.login)
        .await
        .map_err(ErreurApi::trop_de_requetes)?;
    let empreinte = passerelle.hacheur.hacher(id.mot_de_passe).await?;
    let compte_id = Uuid::new_v4();
    let insertion =
        sqlx::query("INSERT INTO comptes (compte_id, login, mot_de_passe) VALUES ($1, $2, $3)")
            .bind(compte_id)
            .bind(&id.login)
            .bind(empreinte)
            .execute(&passerelle.pool)
            .await;
    match insertion {
        Ok(_) => Ok((
            StatusCode::CREATED,
            Json(CompteCree {
                compte_id,
                login: id.login,
            }),
        )),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(ErreurApi::new(
            StatusCode::CONFLICT,
            "LOGIN_DEJA_PRIS",
            format!("le login « {} » est déjà pris", id.login),
        )),
        Err(e) => Err(e.into()),
    }
}
