//! `joueurs`: a character's profile (class, level, XP, stats, combat), and through its index the
//! leaderboard.

use commands::lecteur::EvenementStocke;
use cqrs_es::Aggregate as _;
use domain::joueur::{EvenementJoueur, Joueur};
use sqlx::PgConnection;

use super::{entier, evenement, prendre_version, uuid};
use crate::ErreurProjection;

pub(crate) async fn appliquer(
    c: &mut PgConnection,
    e: &EvenementStocke,
) -> Result<(), ErreurProjection> {
    let Some(ev) = evenement::<EvenementJoueur>(e, Joueur::TYPE)? else {
        return Ok(());
    };
    let id = uuid(e)?;
    if let EvenementJoueur::JoueurCree {
        compte_id,
        nom,
        classe,
        niveau,
        stats,
        ..
    } = &ev
    {
        sqlx::query(
            "INSERT INTO joueurs (joueur_id, compte_id, nom, classe, niveau, xp, pv_max, attaque, \
             defense, soin, version, maj) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (joueur_id) DO NOTHING",
        )
        .bind(id)
        .bind(compte_id.uuid())
        .bind(nom.as_str())
        .bind(classe.nom())
        .bind(entier(niveau.valeur()))
        .bind(entier(stats.pv_max))
        .bind(entier(stats.attaque))
        .bind(entier(stats.defense))
        .bind(entier(stats.soin))
        .bind(e.sequence)
        .bind(e.recorded_at)
        .execute(&mut *c)
        .await?;
        return Ok(());
    }
    if !prendre_version(c, "joueurs", "joueur_id", id, e).await? {
        return Ok(());
    }
    let requete = match ev {
        EvenementJoueur::JoueurCree { .. } => return Ok(()),
        EvenementJoueur::XpGagnee { xp_totale, .. } => {
            sqlx::query("UPDATE joueurs SET xp = $2 WHERE joueur_id = $1")
                .bind(id)
                .bind(i64::try_from(xp_totale).unwrap_or(i64::MAX))
        }
        EvenementJoueur::NiveauAtteint { niveau, stats } => sqlx::query(
            "UPDATE joueurs SET niveau = $2, pv_max = $3, attaque = $4, defense = $5, soin = $6 \
             WHERE joueur_id = $1",
        )
        .bind(id)
        .bind(entier(niveau.valeur()))
        .bind(entier(stats.pv_max))
        .bind(entier(stats.attaque))
        .bind(entier(stats.defense))
        .bind(entier(stats.soin)),
        EvenementJoueur::EntreEnCombat { combat_id } => {
            sqlx::query("UPDATE joueurs SET combat_id = $2 WHERE joueur_id = $1")
                .bind(id)
                .bind(combat_id.uuid())
        }
        EvenementJoueur::SortiDuCombat { .. } => {
            sqlx::query("UPDATE joueurs SET combat_id = NULL WHERE joueur_id = $1").bind(id)
        }
    };
    requete.execute(&mut *c).await?;
    Ok(())
}
