//! The REST part (Service Compte, plain CRUD): register, login, refresh, logout; and the one
//! error type of REST answers. Documented by `/api/openapi.json`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::ids::CompteId;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::jetons::{self, Rotation};
use crate::auth::mots_de_passe::ErreurHachage;
use crate::etat::EtatPartage;

/// An error of the REST part: its status, a stable code and a message for people.
#[derive(Debug)]
pub struct ErreurApi {
    statut: StatusCode,
    code: &'static str,
    message: String,
    reessayer_dans_s: Option<u64>,
}

/// The body of every REST error.
#[derive(Debug, Serialize, ToSchema)]
pub struct CorpsErreur {
    /// The error.
    erreur: DetailErreur,
}

/// A REST error.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetailErreur {
    /// Stable code: `PARAMETRES_INVALIDES`, `LOGIN_DEJA_PRIS`, `IDENTIFIANTS_INVALIDES`,
    /// `JETON_INVALIDE`, `JETON_REUTILISE`, `TROP_DE_REQUETES`, `SERVICE_SATURE`,
    /// `ERREUR_INTERNE`.
    code: String,
    /// For people.
    message: String,
}

/// REST handlers' result.
pub type Resultat<T, E = ErreurApi> = Result<T, E>;

impl ErreurApi {
    fn new(statut: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            statut,
            code,
            message: message.into(),
            reessayer_dans_s: None,
        }
    }

    /// Bad input, named.
    pub fn parametres(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "PARAMETRES_INVALIDES", message)
    }

    /// Too many attempts.
    pub fn trop_de_requetes(attente: std::time::Duration) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TROP_DE_REQUETES",
            "trop de tentatives, réessayez plus tard",
        );
        e.reessayer_dans_s = Some(attente.as_secs().max(1));
        e
    }

    /// A failure of ours: logged with its cause, shown as an incident id.
    pub fn interne(cause: &(dyn std::error::Error + 'static)) -> Self {
        let incident = Uuid::new_v4();
        tracing::error!(%incident, erreur = %cause, "erreur interne (REST)");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERREUR_INTERNE",
            format!("erreur interne du serveur (incident {incident})"),
        )
    }
}

impl From<sqlx::Error> for ErreurApi {
    fn from(e: sqlx::Error) -> Self {
        Self::interne(&e)
    }
}

impl From<ErreurHachage> for ErreurApi {
    fn from(e: ErreurHachage) -> Self {
        match e {
            ErreurHachage::Sature => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_SATURE",
                e.to_string(),
            ),
            ErreurHachage::Empreinte(_) => Self::interne(&e),
        }
    }
}

impl IntoResponse for ErreurApi {
    fn into_response(self) -> Response {
        let corps = json!({ "erreur": { "code": self.code, "message": self.message } });
        let mut reponse = (self.statut, Json(corps)).into_response();
        if let Some(s) = self.reessayer_dans_s
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            reponse.headers_mut().insert(header::RETRY_AFTER, v);
        }
        reponse
    }
}

/// A JSON body whose rejection (not JSON, wrong fields, wrong type) is a
/// `PARAMETRES_INVALIDES` in our format rather than axum's plain text.
#[derive(Debug)]
pub struct Corps<T>(pub T);

impl<T, S> FromRequest<S> for Corps<T>
where
    Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ErreurApi;

    async fn from_request(req: Request, etat: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, etat).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ErreurApi::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "MESSAGE_TROP_GRAND",
                "corps de requête trop grand",
            )),
            Err(e) => Err(ErreurApi::parametres(e.body_text())),
        }
    }
}

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
    login: String,
    /// 10 to 128 characters.
    #[schema(
        example = "une phrase de passe assez longue",
        min_length = 10,
        max_length = 128
    )]
    mot_de_passe: String,
}

impl Identifiants {
    fn valider(&self) -> Resultat<()> {
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
        (status = 503, description = "SERVICE_SATURE", body = CorpsErreur),
    )
)]
pub async fn inscrire(
    State(etat): State<EtatPartage>,
    ConnectInfo(pair): ConnectInfo<SocketAddr>,
    Corps(id): Corps<Identifiants>,
) -> Resultat<(StatusCode, Json<CompteCree>)> {
    id.valider()?;
    etat.limite_connexions
        .compter(pair.ip(), &id.login)
        .await
        .map_err(ErreurApi::trop_de_requetes)?;
    let empreinte = etat.hacheur.hacher(id.mot_de_passe).await?;
    let compte_id = Uuid::new_v4();
    let insertion =
        sqlx::query("INSERT INTO comptes (compte_id, login, mot_de_passe) VALUES ($1, $2, $3)")
            .bind(compte_id)
            .bind(&id.login)
            .bind(empreinte)
            .execute(&etat.pool)
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
    etat: &EtatPartage,
    compte_id: CompteId,
    admin: bool,
    rafraichissement: String,
) -> Resultat<Json<Session>> {
    let jeton_acces = etat
        .jetons
        .emettre(compte_id, admin)
        .map_err(|e| ErreurApi::interne(&e))?;
    Ok(Json(Session {
        jeton_acces,
        expire_dans: etat.jetons.duree().as_secs(),
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
        (status = 413, description = "MESSAGE_TROP_GRAND (plus de 4 Kio)", body = CorpsErreur),
        (status = 429, description = "TROP_DE_REQUETES (en-tête Retry-After)", body = CorpsErreur),
        (status = 503, description = "SERVICE_SATURE", body = CorpsErreur),
    )
)]
pub async fn connecter(
    State(etat): State<EtatPartage>,
    ConnectInfo(pair): ConnectInfo<SocketAddr>,
    Corps(id): Corps<Identifiants>,
) -> Resultat<Json<Session>> {
    if id.login.len() > 64 || id.mot_de_passe.len() > 512 {
        return Err(ErreurApi::parametres("identifiants trop longs"));
    }
    etat.limite_connexions
        .compter(pair.ip(), &id.login)
        .await
        .map_err(ErreurApi::trop_de_requetes)?;
    let compte: Option<(Uuid, String, bool)> = sqlx::query_as(
        "SELECT compte_id, mot_de_passe, admin FROM comptes WHERE lower(login) = lower($1)",
    )
    .bind(&id.login)
    .fetch_optional(&etat.pool)
    .await?;
    let (compte_id, empreinte, admin) = match compte {
        Some((c, e, a)) => (Some(c), Some(e), a),
        None => (None, None, false),
    };
    let correct = etat.hacheur.verifier(id.mot_de_passe, empreinte).await?;
    let Some(compte_id) = compte_id.filter(|_| correct) else {
        return Err(ErreurApi::new(
            StatusCode::UNAUTHORIZED,
            "IDENTIFIANTS_INVALIDES",
            "login ou mot de passe incorrect",
        ));
    };
    let compte_id = CompteId::from_uuid(compte_id);
    let rafraichissement =
        jetons::ouvrir_famille(&etat.pool, compte_id, etat.duree_rafraichissement).await?;
    session(&etat, compte_id, admin, rafraichissement)
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
        (status = 413, description = "MESSAGE_TROP_GRAND (plus de 4 Kio)", body = CorpsErreur),
    )
)]
pub async fn rafraichir(
    State(etat): State<EtatPartage>,
    Corps(r): Corps<Rafraichissement>,
) -> Resultat<Json<Session>> {
    match jetons::rotation(
        &etat.pool,
        &r.jeton_rafraichissement,
        etat.duree_rafraichissement,
    )
    .await?
    {
        Rotation::Nouveau { compte_id, jeton } => {
            let (admin,): (bool,) =
                sqlx::query_as("SELECT admin FROM comptes WHERE compte_id = $1")
                    .bind(compte_id.uuid())
                    .fetch_one(&etat.pool)
                    .await?;
            session(&etat, compte_id, admin, jeton)
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
    )
)]
pub async fn deconnecter(
    State(etat): State<EtatPartage>,
    Corps(r): Corps<Rafraichissement>,
) -> Resultat<StatusCode> {
    if jetons::revoquer(&etat.pool, &r.jeton_rafraichissement).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ErreurApi::new(
            StatusCode::UNAUTHORIZED,
            "JETON_INVALIDE",
            "jeton de rafraîchissement inconnu ou déjà révoqué",
        ))
    }
}

/// The OpenAPI description of the REST part.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "MMO : passerelle",
        description = "Comptes et sessions. Le jeu lui-même passe par JSON-RPC 2.0 (POST /rpc, /ws) : voir doc/protocole.md."
    ),
    paths(
        inscrire,
        connecter,
        rafraichir,
        deconnecter,
        crate::sante::vivant,
        crate::sante::pret
    ),
    components(schemas(
        Identifiants,
        CompteCree,
        Session,
        Rafraichissement,
        CorpsErreur,
        DetailErreur,
        crate::sante::Preparation
    ))
)]
pub struct DocApi;

/// The OpenAPI document as served. utoipa 5 writes a link's fields in snake case
/// (`operation_id`, `request_body`) where OpenAPI says `operationId`, `requestBody`: without
/// this, tools ignore the links (schemathesis's stateful phase among them).
pub fn document_openapi() -> serde_json::Value {
    use utoipa::OpenApi as _;

    let mut document = serde_json::to_value(DocApi::openapi()).unwrap_or_default();
    let operations = document
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
        .into_iter()
        .flat_map(|chemins| chemins.values_mut())
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|verbes| verbes.values_mut());
    for operation in operations {
        let liens = operation
            .get_mut("responses")
            .and_then(serde_json::Value::as_object_mut)
            .into_iter()
            .flat_map(|reponses| reponses.values_mut())
            .filter_map(|r| {
                r.get_mut("links")
                    .and_then(serde_json::Value::as_object_mut)
            })
            .flat_map(|liens| liens.values_mut())
            .filter_map(serde_json::Value::as_object_mut);
        for lien in liens {
            for (serpent, chameau) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(v) = lien.remove(serpent) {
                    lien.insert(chameau.to_owned(), v);
                }
            }
        }
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn les_liens_de_l_openapi_s_ecrivent_comme_openapi_le_veut() {
        let document = document_openapi();
        let lien = &document["paths"]["/api/sessions"]["post"]["responses"]["200"]["links"]["rafraichissement"];
        assert_eq!(lien["operationId"], "rafraichir", "{lien}");
        assert!(lien["requestBody"].is_object(), "{lien}");
        assert!(!document.to_string().contains("operation_id"));
    }
}
