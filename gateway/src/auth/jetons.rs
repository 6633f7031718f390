//! Access tokens (JWT, HS256 only: the algorithm is fixed here, never read from the token)
//! and refresh tokens (random, stored as their SHA-256, rotated at each use; a rotated token
//! presented again revokes its whole family).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use domain::ids::CompteId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// Who a valid access token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authentifie {
    /// The account.
    pub compte_id: CompteId,
    /// Was an admin when the token was issued (`adm`): a call confirms it in the accounts
    /// table ([`super::roles`]).
    pub admin: bool,
    /// When the token stops being valid.
    pub expire_a: DateTime<Utc>,
}

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JetonRefuse {
    /// It was valid, and is no more: refresh it.
    #[error("jeton expiré")]
    Expire,
    /// Not a token of ours: bad signature, algorithm, audience, issuer or shape.
    #[error("jeton invalide")]
    Invalide,
}

#[derive(Debug, Serialize, Deserialize)]
struct Revendications {
    sub: Uuid,
    adm: bool,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// Issues and checks access tokens.
#[derive(Clone)]
pub struct Jetons {
    signature: EncodingKey,
    verification: DecodingKey,
    validation: Validation,
    emetteur: String,
    audience: String,
    duree: Duration,
}

impl std::fmt::Debug for Jetons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jetons")
            .field("emetteur", &self.emetteur)
            .field("audience", &self.audience)
            .field("duree", &self.duree)
            .finish_non_exhaustive()
    }
}

impl Jetons {
    /// Tokens signed with `secret`, for `audience`, from `emetteur`, living `duree`.
    pub fn new(secret: &[u8], emetteur: &str, audience: &str, duree: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[emetteur]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        Self {
            signature: EncodingKey::from_secret(secret),
            verification: DecodingKey::from_secret(secret),
            validation,
            emetteur: emetteur.to_owned(),
            audience: audience.to_owned(),
            duree,
        }
    }

    /// How long a new token lives.
    pub fn duree(&self) -> Duration {
        self.duree
    }

    /// A token for `compte_id`, issued at `maintenant` (tests backdate it to get an expired
    /// one).
    pub fn emettre_a(
        &self,
        compte_id: CompteId,
        admin: bool,
        maintenant: DateTime<Utc>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let duree = i64::try_from(self.duree.as_secs()).unwrap_or(i64::MAX);
        let revendications = Revendications {
            sub: compte_id.uuid(),
            adm: admin,
            iat: maintenant.timestamp(),
            exp: maintenant.timestamp().saturating_add(duree),
            iss: self.emetteur.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &revendications,
            &self.signature,
        )
    }

    /// A token for `compte_id`, valid from now.
    pub fn emettre(
        &self,
        compte_id: CompteId,
        admin: bool,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.emettre_a(compte_id, admin, Utc::now())
    }

    /// Who the token speaks for, if it is ours and still valid.
    pub fn verifier(&self, jeton: &str) -> Result<Authentifie, JetonRefuse> {
        let donnees =
            jsonwebtoken::decode::<Revendications>(jeton, &self.verification, &self.validation)
                .map_err(|e| match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => JetonRefuse::Expire,
                    _ => JetonRefuse::Invalide,
                })?;
        let r = donnees.claims;
        Ok(Authentifie {
            compte_id: CompteId::from_uuid(r.sub),
            admin: r.adm,
            expire_a: DateTime::from_timestamp(r.exp, 0).ok_or(JetonRefuse::Invalide)?,
        })
    }
}

/// What became of a refresh token presented for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Rotated: the new token, for this account.
    Nouveau {
        /// The account.
        compte_id: CompteId,
        /// The new refresh token (the old one is spent).
        jeton: String,
    },
    /// Unknown, revoked or expired.
    Invalide,
    /// Already rotated once: the family is now revoked.
    Reutilise,
}

fn empreinte(jeton: &str) -> Vec<u8> {
    Sha256::digest(jeton.as_bytes()).to_vec()
}

/// 256 random bits (two v4 UUIDs' randomness, from the OS), URL-safe.
fn jeton_aleatoire() -> String {
    let mut octets = [0_u8; 32];
    octets[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    octets[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    URL_SAFE_NO_PAD.encode(octets)
}

/// A new refresh token, in a new family, for a login.
pub async fn ouvrir_famille(
    pool: &PgPool,
    compte_id: CompteId,
    duree: Duration,
) -> Result<String, sqlx::Error> {
    let jeton = jeton_aleatoire();
    inserer(pool, &jeton, Uuid::new_v4(), compte_id, duree).await?;
    Ok(jeton)
}

async fn inserer<'e>(
    executeur: impl sqlx::PgExecutor<'e>,
    jeton: &str,
    famille: Uuid,
    compte_id: CompteId,
    duree: Duration,
) -> Result<(), sqlx::Error> {
    let secondes = i64::try_from(duree.as_secs()).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO jetons_rafraichissement (empreinte, famille, compte_id, expire_le) \
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
    )
    .bind(empreinte(jeton))
    .bind(famille)
    .bind(compte_id.uuid())
    .bind(secondes as f64)
    .execute(executeur)
    .await?;
    Ok(())
}

/// How long a rotated refresh token may be presented again while its successor is unused:
/// the client that sent it lost the answer (a page reloaded, a connection cut mid-refresh).
/// Past it, or once the successor was used, presenting it is a reuse and revokes the family.
pub const GRACE_ROTATION: Duration = Duration::from_secs(10);

/// A stored refresh token, as a rotation reads it.
#[derive(sqlx::FromRow)]
struct EtatJeton {
    famille: Uuid,
    compte_id: Uuid,
    /// When it was rotated, if it was.
    remplace_le: Option<DateTime<Utc>>,
    /// Rotated less than [`GRACE_ROTATION`] ago.
    recent: bool,
    revoque: bool,
    expire: bool,
}

/// Spends a refresh token and issues its successor in the same family.
pub async fn rotation(
    pool: &PgPool,
    jeton: &str,
    duree: Duration,
) -> Result<Rotation, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // FOR UPDATE: two concurrent refreshes with one token are serialized, and the second
    // sees the first's rotation, which is exactly a reuse.
    let ligne: Option<EtatJeton> = sqlx::query_as(
        "SELECT famille, compte_id, remplace_le, \
                coalesce(remplace_le > now() - make_interval(secs => $2), false) AS recent, \
                revoque_le IS NOT NULL AS revoque, expire_le <= now() AS expire \
         FROM jetons_rafraichissement WHERE empreinte = $1 FOR UPDATE",
    )
    .bind(empreinte(jeton))
    .bind(GRACE_ROTATION.as_secs_f64())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(EtatJeton {
        famille,
        compte_id: compte,
        remplace_le: remplace,
        recent,
        revoque,
        expire,
    }) = ligne
    else {
        return Ok(Rotation::Invalide);
    };
    if revoque || expire {
        return Ok(Rotation::Invalide);
    }
    if let Some(remplace_le) = remplace {
        // Within the grace, a token whose successor was never used is the same client that
        // lost the answer (a page reloaded mid-refresh): the unused successor is revoked and
        // a new one issued, so one live token remains. Otherwise it is a reuse.
        if recent {
            let successeur_revoque = sqlx::query(
                "UPDATE jetons_rafraichissement SET revoque_le = now() \
                 WHERE famille = $1 AND emis_le = $2 \
                   AND remplace_le IS NULL AND revoque_le IS NULL",
            )
            .bind(famille)
            .bind(remplace_le)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if successeur_revoque == 1 {
                return succeder(tx, jeton, famille, compte, duree).await;
            }
        }
        sqlx::query(
            "UPDATE jetons_rafraichissement SET revoque_le = now() \
             WHERE famille = $1 AND revoque_le IS NULL",
        )
        .bind(famille)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::warn!(%famille, compte = %compte, "jeton de rafraîchissement réutilisé : famille révoquée");
        return Ok(Rotation::Reutilise);
    }
    succeder(tx, jeton, famille, compte, duree).await
}

/// Marks `jeton` replaced now and issues its successor, emitted at that same instant (the
/// transaction's `now()`): the grace of [`rotation`] finds the successor by it.
async fn succeder(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    jeton: &str,
    famille: Uuid,
    compte: Uuid,
    duree: Duration,
) -> Result<Rotation, sqlx::Error> {
    sqlx::query("UPDATE jetons_rafraichissement SET remplace_le = now() WHERE empreinte = $1")
        .bind(empreinte(jeton))
        .execute(&mut *tx)
        .await?;
    let compte_id = CompteId::from_uuid(compte);
    let nouveau = jeton_aleatoire();
    inserer(&mut *tx, &nouveau, famille, compte_id, duree).await?;
    tx.commit().await?;
    Ok(Rotation::Nouveau {
        compte_id,
        jeton: nouveau,
    })
}

/// The account of a refresh token, whatever its state (a refresh checks the account's ban
/// before it rotates anything).
pub async fn compte_du_jeton(pool: &PgPool, jeton: &str) -> Result<Option<CompteId>, sqlx::Error> {
    let ligne: Option<(Uuid,)> =
        sqlx::query_as("SELECT compte_id FROM jetons_rafraichissement WHERE empreinte = $1")
            .bind(empreinte(jeton))
            .fetch_optional(pool)
            .await?;
    Ok(ligne.map(|(c,)| CompteId::from_uuid(c)))
}

/// Revokes the family of a refresh token (logout). Returns whether the token was known.
pub async fn revoquer(pool: &PgPool, jeton: &str) -> Result<bool, sqlx::Error> {
    let lignes = sqlx::query(
        "UPDATE jetons_rafraichissement SET revoque_le = now() \
         WHERE famille = (SELECT famille FROM jetons_rafraichissement WHERE empreinte = $1) \
           AND revoque_le IS NULL",
    )
    .bind(empreinte(jeton))
    .execute(pool)
    .await?
    .rows_affected();
    Ok(lignes > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"un secret de test assez long pour HS256";

    fn jetons() -> Jetons {
        Jetons::new(SECRET, "mmo", "mmo-client", Duration::from_mins(1))
    }

    fn compte() -> CompteId {
        CompteId::from_uuid(Uuid::from_u64_pair(1, 2))
    }

    #[test]
    fn un_jeton_emis_se_verifie() {
        let j = jetons();
        let a = j
            .verifier(&j.emettre(compte(), true).expect("jeton"))
            .expect("valide");
        assert_eq!(a.compte_id, compte());
        assert!(a.admin);
    }

    #[test]
    fn un_jeton_perime_est_expire() {
        let j = jetons();
        let vieux = j
            .emettre_a(compte(), false, Utc::now() - chrono::Duration::seconds(120))
            .expect("jeton");
        assert_eq!(j.verifier(&vieux), Err(JetonRefuse::Expire));
    }

    #[test]
    fn un_jeton_d_un_autre_secret_d_une_autre_audience_ou_sans_signature_est_invalide() {
        let autre = Jetons::new(
            b"un autre secret, tout aussi long!!",
            "mmo",
            "mmo-client",
            Duration::from_mins(1),
        );
        let j = jetons();
        let forge = autre.emettre(compte(), true).expect("jeton");
        assert_eq!(j.verifier(&forge), Err(JetonRefuse::Invalide));
        let ailleurs = Jetons::new(SECRET, "mmo", "autre-client", Duration::from_mins(1));
        let mauvaise_audience = ailleurs.emettre(compte(), false).expect("jeton");
        assert_eq!(j.verifier(&mauvaise_audience), Err(JetonRefuse::Invalide));
        // alg "none", payload of an admin: the algorithm is fixed, this is refused.
        let en_tete = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let corps = URL_SAFE_NO_PAD.encode(
            format!(
                r#"{{"sub":"{}","adm":true,"iat":0,"exp":9999999999,"iss":"mmo","aud":"mmo-client"}}"#,
                compte().uuid()
            )
            .as_bytes(),
        );
        assert_eq!(
            j.verifier(&format!("{en_tete}.{corps}.")),
            Err(JetonRefuse::Invalide)
        );
        assert_eq!(j.verifier("pas un jeton"), Err(JetonRefuse::Invalide));
    }

    #[test]
    fn deux_jetons_de_rafraichissement_ne_se_ressemblent_pas() {
        let (a, b) = (jeton_aleatoire(), jeton_aleatoire());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }
}
