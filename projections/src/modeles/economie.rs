//! `grand_livre` (every gold and item movement with its cause and the balance after it) and
//! `economie_totaux` (created and destroyed, by resource and cause), so that conservation is
//! one query: for each resource, Σ created − Σ destroyed = Σ held.

use commands::lecteur::EvenementStocke;
use cqrs_es::Aggregate as _;
use domain::inventaire::{Cause, EvenementInventaire, Inventaire};
use sqlx::PgConnection;

use super::{evenement, uuid};
use crate::ErreurProjection;

/// The resource name of gold in the ledger (items use their code).
pub const OR: &str = "or";

pub(crate) async fn appliquer(
    c: &mut PgConnection,
    e: &EvenementStocke,
) -> Result<(), ErreurProjection> {
    let Some(ev) = evenement::<EvenementInventaire>(e, Inventaire::TYPE)? else {
        return Ok(());
    };
    let (ressource, delta, solde, cause) = match ev {
        EvenementInventaire::OrCredite {
            montant,
            solde,
            cause,
        } => (
            OR.to_owned(),
            signe(montant.pieces()),
            signe(solde.pieces()),
            cause,
        ),
        EvenementInventaire::OrDebite {
            montant,
            solde,
            cause,
        } => (
            OR.to_owned(),
            -signe(montant.pieces()),
            signe(solde.pieces()),
            cause,
        ),
        EvenementInventaire::ItemAjoute {
            item,
            quantite,
            total,
            cause,
        } => (
            item.as_str().to_owned(),
            i64::from(quantite.valeur()),
            i64::from(total),
            cause,
        ),
        EvenementInventaire::ItemRetire {
            item,
            quantite,
            total,
            cause,
        } => (
            item.as_str().to_owned(),
            -i64::from(quantite.valeur()),
            i64::from(total),
            cause,
        ),
        _ => return Ok(()),
    };
    let nom_cause = nom_de_cause(&cause);
    let detail = serde_json::to_value(&cause).map_err(|source| ErreurProjection::Evenement {
        event_id: e.event_id,
        source,
    })?;
    let inseree = sqlx::query(
        "INSERT INTO grand_livre (joueur_id, sequence, ressource, delta, solde_apres, cause, detail, \
         correlation_id, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (joueur_id, sequence) DO NOTHING",
    )
    .bind(uuid(e)?)
    .bind(e.sequence)
    .bind(&ressource)
    .bind(delta)
    .bind(solde)
    .bind(nom_cause)
    .bind(detail)
    .bind(e.correlation_id)
    .bind(e.recorded_at)
    .execute(&mut *c)
    .await?;
    // The totals move only with a new ledger line: replaying an event adds nothing.
    if inseree.rows_affected() == 1 {
        let (cree, detruit) = if delta >= 0 { (delta, 0) } else { (0, -delta) };
        sqlx::query(
            "INSERT INTO economie_totaux (ressource, cause, cree, detruit) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (ressource, cause) DO UPDATE \
             SET cree = economie_totaux.cree + EXCLUDED.cree, \
                 detruit = economie_totaux.detruit + EXCLUDED.detruit",
        )
        .bind(&ressource)
        .bind(nom_cause)
        .bind(cree)
        .bind(detruit)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

fn signe(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The cause's type, as the ledger and the totals name it.
pub fn nom_de_cause(cause: &Cause) -> &'static str {
    match cause {
        Cause::KitDeDepart => "kit_de_depart",
        Cause::Butin { .. } => "butin",
        Cause::RecompenseQuete { .. } => "recompense_quete",
        Cause::Fabrication { .. } => "fabrication",
        Cause::Achat { .. } => "achat",
        Cause::Vente { .. } => "vente",
        Cause::Destruction => "destruction",
        Cause::Echange { .. } => "echange",
    }
}
