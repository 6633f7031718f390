//! The admin role, read from the accounts table when it is used. An access token carries the
//! role its account had when it was issued (`adm`); a demotion (`mmo admin promouvoir
//! --retirer`) must count from the next call, on every gateway instance, not when the token
//! expires. So a token that claims the role has it confirmed by `comptes`, the one truth every
//! instance reads, on each call; a token without the claim is a player's, without a query
//! (a promotion counts from the next login or refresh, which read the row too).

use domain::ids::CompteId;
use sqlx::PgPool;

/// Whether the account is an admin now (an account that does not exist is not).
pub async fn est_admin(pool: &PgPool, compte_id: CompteId) -> Result<bool, sqlx::Error> {
    let ligne: Option<(bool,)> = sqlx::query_as("SELECT admin FROM comptes WHERE compte_id = $1")
        .bind(compte_id.uuid())
        .fetch_optional(pool)
        .await?;
    Ok(ligne.is_some_and(|(admin,)| admin))
}

/// The role a call acts with: the token's claim, confirmed by the row.
pub async fn role_actuel(
    pool: &PgPool,
    compte_id: CompteId,
    revendique: bool,
) -> Result<bool, sqlx::Error> {
    if !revendique {
        return Ok(false);
    }
    est_admin(pool, compte_id).await
}
