//! The one error type of REST answers, its body, and the JSON body extractor whose rejections
//! answer in that format.

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::mots_de_passe::ErreurHachage;
use crate::indisponibilite::{REESSAYER_DANS, moteur_indisponible};

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
    /// `JETON_INVALIDE`, `JETON_REUTILISE`, `COMPTE_BANNI`, `TROP_DE_REQUETES`, `SERVICE_SATURE`,
    /// `INDISPONIBLE`, `ERREUR_INTERNE`.
    code: String,
    /// For people.
    message: String,
}

/// REST handlers' result.
pub type Resultat<T, E = ErreurApi> = Result<T, E>;

impl ErreurApi {
    pub(super) fn new(statut: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
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

    /// A failure: 503 `INDISPONIBLE` with `Retry-After` when its cause is an engine away
    /// ([`moteur_indisponible`]: retry the same request), else [`Self::interne`].
    pub fn panne(cause: &(dyn std::error::Error + 'static)) -> Self {
        if !moteur_indisponible(cause) {
            return Self::interne(cause);
        }
        tracing::warn!(erreur = %cause, "moteur indisponible (REST)");
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "INDISPONIBLE",
            "service momentanément indisponible, réessayez",
        );
        e.reessayer_dans_s = Some(REESSAYER_DANS.as_secs().max(1));
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
        Self::panne(&e)
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
